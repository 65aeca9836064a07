// The placeholder page: send the chosen photo to /api/detect/upload and show the answer.
const form = document.getElementById("form");
const file = document.getElementById("file");
const preview = document.getElementById("preview");
const emotion = document.getElementById("emotion");
const scores = document.getElementById("scores");
const error = document.getElementById("error");

file.addEventListener("change", () => {
  if (file.files[0]) {
    preview.src = URL.createObjectURL(file.files[0]);
    preview.hidden = false;
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const body = new FormData();
  body.append("file", file.files[0]);
  try {
    const response = await fetch("api/detect/upload", { method: "POST", body });
    const answer = await response.json();
    if (!answer.success) {
      throw new Error(answer.error.message);
    }
    emotion.textContent =
      `${answer.emotion} (${Math.round(answer.confidence * 100)}%) in ${answer.processing_ms.toFixed(1)} ms`;
    scores.replaceChildren(...Object.entries(answer.all_scores).map(([name, score]) => {
      const row = document.createElement("div");
      row.className = "row";
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.width = `${score * 100}%`;
      row.append(name, bar, `${(score * 100).toFixed(1)}%`);
      return row;
    }));
  } catch (e) {
    error.textContent = `Could not classify the photo: ${e.message}`;
  }
});
