// The photo panel: send a chosen photo to /api/detect/upload and show its emotion and scores.
import { apiHeaders, apiUrl } from "./config.js";
import { createBars } from "./bars.js";
import { detectFace } from "./detector.js";
import { COLOR } from "./emotions.js";
import { faceSvg, setFace } from "./faces.js";
import { state } from "./state.js";

const DETECT_TIMEOUT_MS = 8000;
const DETECT_MAX_SIDE = 1024;
// Photos over these are re-encoded smaller: the server takes 1 MiB an image by default.
const MAX_UPLOAD_BYTES = 900_000;
const MAX_UPLOAD_SIDE = 2048;
const UPLOAD_QUALITY = 0.92;

export function setUpUpload() {
  const form = document.getElementById("upload-form");
  const input = document.getElementById("upload-file");
  const submit = document.getElementById("upload-submit");
  const drop = document.getElementById("upload-drop");
  const fileName = document.getElementById("upload-file-name");
  const figure = document.getElementById("upload-figure");
  const empty = document.getElementById("upload-empty");
  empty.querySelector(".upload-empty-faces").innerHTML = ["happy", "surprise", "neutral", "sad", "angry"]
    .map((name) => `<span style="color:${COLOR[name]}">${faceSvg(name)}</span>`)
    .join("");
  const preview = document.getElementById("upload-preview");
  const overlay = document.getElementById("upload-overlay");
  const result = document.getElementById("upload-result");
  const emotion = document.getElementById("upload-emotion");
  const face = document.getElementById("upload-face");
  const confidence = document.getElementById("upload-confidence");
  const note = document.getElementById("upload-note");
  const error = document.getElementById("upload-error");
  const bars = createBars(document.getElementById("upload-bars"));
  let previewUrl = null;
  let shownBox = null;

  function showFile(file) {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = file ? URL.createObjectURL(file) : null;
    fileName.textContent = file ? file.name : "No photo chosen";
    drop.classList.toggle("has-file", Boolean(file));
    result.hidden = true;
    shownBox = null;
    drawBox();
    empty.hidden = Boolean(file);
    if (file) {
      preview.src = previewUrl;
      figure.hidden = false;
    } else {
      preview.removeAttribute("src");
      figure.hidden = true;
    }
  }

  function drawBox() {
    const ctx = overlay.getContext("2d");
    const dpr = window.devicePixelRatio || 1;
    const w = preview.clientWidth;
    const h = preview.clientHeight;
    overlay.width = Math.round(w * dpr);
    overlay.height = Math.round(h * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (!shownBox || !shownBox.imageWidth) return;
    const k = w / shownBox.imageWidth;
    ctx.lineWidth = 3;
    ctx.strokeStyle = shownBox.color;
    ctx.shadowColor = "rgba(0,0,0,.5)";
    ctx.shadowBlur = 6;
    ctx.beginPath();
    ctx.roundRect?.(shownBox.x * k, shownBox.y * k, shownBox.width * k, shownBox.height * k, 8);
    ctx.stroke();
  }
  new ResizeObserver(drawBox).observe(preview);

  input.addEventListener("change", () => {
    error.textContent = "";
    showFile(input.files[0] ?? null);
  });

  // Drag and drop onto the drop zone.
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    drop.addEventListener(type, () => drop.classList.remove("dragging"));
  }
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    const file = event.dataTransfer?.files?.[0];
    if (!file) return;
    const list = new DataTransfer();
    list.items.add(file);
    input.files = list.files;
    input.dispatchEvent(new Event("change"));
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files[0];
    error.textContent = "";
    if (!file) {
      error.textContent = "Choose a photo first (JPEG, PNG or WebP).";
      input.focus();
      return;
    }
    submit.disabled = true;
    submit.classList.add("busy");
    form.setAttribute("aria-busy", "true");
    try {
      const photo = await preparePhoto(file);
      const body = new FormData();
      body.append("file", photo.upload, photo.name);
      body.append("return_all_scores", "true");
      if (photo.box) body.append("face_bounds", JSON.stringify(photo.box));

      let answer;
      let response;
      try {
        response = await fetch(apiUrl("api/detect/upload"), {
          method: "POST",
          body,
          headers: apiHeaders(),
        });
      } catch {
        throw new Error("The server could not be reached. Check the connection and try again.");
      }
      try {
        answer = await response.json();
      } catch {
        throw new Error(`The server answered HTTP ${response.status} without a JSON body.`);
      }
      state.uploadResult = answer;
      if (!answer.success) {
        throw new Error(answer.error?.message || `The server answered HTTP ${response.status}.`);
      }
      result.hidden = false;
      result.style.setProperty("--accent", COLOR[answer.emotion] ?? "var(--brand)");
      emotion.textContent = answer.emotion;
      setFace(face, answer.emotion);
      confidence.textContent = `${Math.round(answer.confidence * 100)}%`;
      bars.update(answer.all_scores ?? { [answer.emotion]: answer.confidence });
      const ms = Number(answer.processing_ms);
      const parts = [];
      parts.push(answer.face_detected ? "Face found in your browser" : "No face found: the whole photo was classified");
      if (Number.isFinite(ms)) parts.push(`${ms.toFixed(1)} ms on the server`);
      if (answer.model_used) parts.push(answer.model_used);
      note.textContent = parts.join(" · ");
      shownBox =
        answer.face_detected && answer.face_bounds
          ? { ...answer.face_bounds, imageWidth: photo.width, color: COLOR[answer.emotion] ?? "#fff" }
          : null;
      drawBox();
    } catch (e) {
      error.textContent = e.message;
    } finally {
      submit.disabled = false;
      submit.classList.remove("busy");
      form.removeAttribute("aria-busy");
    }
  });
}

/** The kind of image from its first bytes: "jpeg", "png", "webp", or null. */
async function sniff(file) {
  const b = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "png";
  const ascii = (from, to) => String.fromCharCode(...b.slice(from, to));
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "webp";
  return null;
}

function toJpeg(canvas) {
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("could not encode the photo"))), "image/jpeg", UPLOAD_QUALITY),
  );
}

/**
 * Checks the photo, finds its largest face with MediaPipe (in the pixels of what is uploaded)
 * and re-encodes photos too big for the server (phone photos often are) as a smaller JPEG.
 * Returns {upload, name, width, box}; box is null when no face was found or no detector runs.
 */
async function preparePhoto(file) {
  if (!(await sniff(file))) {
    throw new Error(`${file.name || "This file"} is not a JPEG, PNG or WebP image.`);
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    // The browser cannot read it; the server has the last word.
    return { upload: file, name: file.name, width: 0, box: null };
  }
  try {
    let upload = file;
    let name = file.name;
    let width = bitmap.width;
    let height = bitmap.height;
    if (file.size > MAX_UPLOAD_BYTES || Math.max(width, height) > MAX_UPLOAD_SIDE) {
      const scale = Math.min(1, MAX_UPLOAD_SIDE / Math.max(width, height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      upload = await toJpeg(canvas);
      name = `${(file.name || "photo").replace(/\.[^.]*$/, "")}.jpg`;
      width = canvas.width;
      height = canvas.height;
    }
    const box = await findFace(bitmap).catch(() => null);
    if (!box) return { upload, name, width, box: null };
    const x0 = Math.max(0, Math.round(box.x * width));
    const y0 = Math.max(0, Math.round(box.y * height));
    const x1 = Math.min(width, Math.round((box.x + box.width) * width));
    const y1 = Math.min(height, Math.round((box.y + box.height) * height));
    if (x1 - x0 < 8 || y1 - y0 < 8) return { upload, name, width, box: null };
    return { upload, name, width, box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } };
  } finally {
    bitmap.close();
  }
}

/** The largest face in `bitmap` (relative box), or null; gives up after a few seconds. */
async function findFace(bitmap) {
  const scale = Math.min(1, DETECT_MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return Promise.race([
    detectFace(canvas),
    new Promise((resolve) => setTimeout(() => resolve(null), DETECT_TIMEOUT_MS)),
  ]);
}
