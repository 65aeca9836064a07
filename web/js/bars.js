// The seven score bars; the live view and the photo view each have a set.
import { COLOR, EMOTIONS, topEmotion } from "./emotions.js";
import { faceSvg } from "./faces.js";

/** Fills `container` with one bar per emotion; returns {update(scores), clear()}. */
export function createBars(container) {
  const rows = new Map();
  container.replaceChildren(
    ...EMOTIONS.map((name) => {
      const row = document.createElement("div");
      row.className = "bar";
      row.dataset.emotion = name;
      row.style.setProperty("--color", COLOR[name]);

      const label = document.createElement("span");
      label.className = "bar-label";
      const icon = document.createElement("span");
      icon.className = "bar-icon";
      icon.innerHTML = faceSvg(name);
      label.append(icon, name);

      const track = document.createElement("span");
      track.className = "bar-track";
      track.setAttribute("role", "meter");
      track.setAttribute("aria-label", name);
      track.setAttribute("aria-valuemin", "0");
      track.setAttribute("aria-valuemax", "100");
      track.setAttribute("aria-valuenow", "0");
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.width = "0%";
      track.append(fill);

      const value = document.createElement("span");
      value.className = "bar-value";
      value.textContent = "–";

      row.append(label, track, value);
      rows.set(name, { row, track, fill, value });
      return row;
    }),
  );

  return {
    update(scores) {
      const top = topEmotion(scores);
      for (const [name, { row, track, fill, value }] of rows) {
        const score = Math.min(1, Math.max(0, Number(scores?.[name]) || 0));
        const percent = score * 100;
        fill.style.width = `${percent.toFixed(1)}%`;
        value.textContent = `${percent < 10 ? percent.toFixed(1) : Math.round(percent)}%`;
        track.setAttribute("aria-valuenow", percent.toFixed(0));
        row.classList.toggle("top", name === top);
      }
    },
    clear() {
      for (const { row, track, fill, value } of rows.values()) {
        fill.style.width = "0%";
        value.textContent = "–";
        track.setAttribute("aria-valuenow", "0");
        row.classList.remove("top");
      }
    },
  };
}
