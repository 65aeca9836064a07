// The timeline: the last 30 s of scores on a canvas, one coloured line per emotion, with a legend.
import { COLOR, EMOTIONS, topEmotion } from "./emotions.js";

const GAP_MS = 1200; // no line across a pause longer than this (no face, camera off)
const PAD = { left: 40, right: 12, top: 10, bottom: 22 };

export class Timeline {
  constructor(canvas, { spanMs = 30_000, fps = 20 } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.spanMs = spanMs;
    this.points = [];
    this.hidden = new Set();
    this.theme = null;
    this.lastDraw = 0;
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
      this.theme = null;
    });
    setInterval(() => {
      if (!document.hidden) this.draw();
    }, 1000 / fps);
  }

  /** Adds one set of scores at time `now` (performance.now()). */
  add(scores, now = performance.now()) {
    const point = { t: now };
    for (const name of EMOTIONS) point[name] = Number(scores?.[name]) || 0;
    this.points.push(point);
    this.trim(now);
  }

  trim(now) {
    const since = now - this.spanMs - 1000;
    let drop = 0;
    while (drop < this.points.length && this.points[drop].t < since) drop += 1;
    if (drop) this.points.splice(0, drop);
  }

  /** Points currently within the drawn window. */
  get count() {
    this.trim(performance.now());
    return this.points.length;
  }

  setVisible(name, visible) {
    if (visible) this.hidden.delete(name);
    else this.hidden.add(name);
    this.draw();
  }

  readTheme() {
    const style = getComputedStyle(this.canvas);
    this.theme = {
      grid: style.getPropertyValue("--grid").trim() || "rgba(127,127,127,.18)",
      text: style.getPropertyValue("--muted").trim() || "#888",
      font: `500 11px ${style.fontFamily}`,
    };
  }

  draw() {
    const { canvas, ctx } = this;
    const dpr = window.devicePixelRatio || 1;
    const cssWidth = canvas.clientWidth;
    const cssHeight = canvas.clientHeight;
    if (!cssWidth || !cssHeight) return;
    const width = Math.round(cssWidth * dpr);
    const height = Math.round(cssHeight * dpr);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    if (!this.theme) this.readTheme();
    const theme = this.theme;
    const now = performance.now();
    this.trim(now);

    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssWidth, cssHeight);
    const x0 = PAD.left;
    const x1 = cssWidth - PAD.right;
    const y0 = PAD.top;
    const y1 = cssHeight - PAD.bottom;
    const xOf = (t) => x1 - ((now - t) / this.spanMs) * (x1 - x0);
    const yOf = (v) => y1 - v * (y1 - y0);

    // Grid and labels.
    ctx.font = theme.font;
    ctx.lineWidth = 1;
    ctx.strokeStyle = theme.grid;
    ctx.fillStyle = theme.text;
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    for (const v of [0, 0.25, 0.5, 0.75, 1]) {
      const y = Math.round(yOf(v)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x0, y);
      ctx.lineTo(x1, y);
      ctx.stroke();
      if (v % 0.5 === 0) ctx.fillText(`${v * 100}%`, x0 - 8, y);
    }
    ctx.textBaseline = "alphabetic";
    for (let s = 0; s <= this.spanMs / 1000; s += 10) {
      const x = xOf(now - s * 1000);
      ctx.textAlign = s === 0 ? "right" : "center";
      ctx.fillText(s === 0 ? "now" : `−${s}s`, x, cssHeight - 6);
    }

    const points = this.points;
    if (!points.length) return;

    ctx.save();
    ctx.beginPath();
    ctx.rect(x0, y0 - 2, x1 - x0, y1 - y0 + 4);
    ctx.clip();

    // A soft area under the leading emotion.
    const lead = topEmotion(points[points.length - 1]);
    if (lead && !this.hidden.has(lead)) {
      const gradient = ctx.createLinearGradient(0, y0, 0, y1);
      gradient.addColorStop(0, `${COLOR[lead]}55`);
      gradient.addColorStop(1, `${COLOR[lead]}00`);
      ctx.fillStyle = gradient;
      for (const run of runs(points)) {
        ctx.beginPath();
        ctx.moveTo(xOf(run[0].t), y1);
        for (const p of run) ctx.lineTo(xOf(p.t), yOf(p[lead]));
        ctx.lineTo(xOf(run[run.length - 1].t), y1);
        ctx.closePath();
        ctx.fill();
      }
    }

    ctx.lineJoin = "round";
    ctx.lineCap = "round";
    const order = EMOTIONS.filter((n) => n !== lead).concat(lead ? [lead] : []);
    for (const name of order) {
      if (this.hidden.has(name)) continue;
      ctx.strokeStyle = COLOR[name];
      ctx.lineWidth = name === lead ? 2.5 : 1.5;
      ctx.globalAlpha = name === lead ? 1 : 0.75;
      ctx.beginPath();
      for (const run of runs(points)) {
        ctx.moveTo(xOf(run[0].t), yOf(run[0][name]));
        if (run.length === 1) ctx.lineTo(xOf(run[0].t) + 1, yOf(run[0][name]));
        for (let i = 1; i < run.length; i += 1) ctx.lineTo(xOf(run[i].t), yOf(run[i][name]));
      }
      ctx.stroke();
    }
    ctx.restore();
  }
}

/** Splits points into runs without gaps longer than GAP_MS. */
function* runs(points) {
  let start = 0;
  for (let i = 1; i <= points.length; i += 1) {
    if (i === points.length || points[i].t - points[i - 1].t > GAP_MS) {
      yield points.slice(start, i);
      start = i;
    }
  }
}

/** Fills `container` with one toggle button per emotion that shows or hides its line. */
export function createLegend(container, timeline) {
  container.replaceChildren(
    ...EMOTIONS.map((name) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "legend-item";
      button.style.setProperty("--color", COLOR[name]);
      button.setAttribute("aria-pressed", "true");
      button.title = `Show or hide ${name}`;
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.setAttribute("aria-hidden", "true");
      button.append(swatch, name);
      button.addEventListener("click", () => {
        const visible = button.getAttribute("aria-pressed") !== "true";
        button.setAttribute("aria-pressed", String(visible));
        timeline.setVisible(name, visible);
      });
      return button;
    }),
  );
}
