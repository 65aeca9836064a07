// The photo panel: send a chosen photo to /api/detect/upload and show every face's emotion,
// the largest face's scores.
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
  const eyebrow = document.getElementById("upload-eyebrow");
  const emotion = document.getElementById("upload-emotion");
  const face = document.getElementById("upload-face");
  const confidence = document.getElementById("upload-confidence");
  const note = document.getElementById("upload-note");
  const error = document.getElementById("upload-error");
  const faceListBox = document.getElementById("upload-faces");
  const faceList = faceListBox.querySelector("ol");
  const bars = createBars(document.getElementById("upload-bars"));
  let previewUrl = null;
  let shownBoxes = null; // {imageWidth, faces}: the faces drawn on the photo

  function showFile(file) {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = file ? URL.createObjectURL(file) : null;
    fileName.textContent = file ? file.name : "No photo chosen";
    drop.classList.toggle("has-file", Boolean(file));
    result.hidden = true;
    shownBoxes = null;
    drawBoxes();
    empty.hidden = Boolean(file);
    if (file) {
      preview.src = previewUrl;
      figure.hidden = false;
    } else {
      preview.removeAttribute("src");
      figure.hidden = true;
    }
  }

  /** A box and a label (number when several, emotion, confidence) on the photo for each face. */
  function drawBoxes() {
    const ctx = overlay.getContext("2d");
    const dpr = window.devicePixelRatio || 1;
    const w = preview.clientWidth;
    const h = preview.clientHeight;
    overlay.width = Math.round(w * dpr);
    overlay.height = Math.round(h * dpr);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const faces = shownBoxes?.imageWidth ? shownBoxes.faces.filter((f) => f.face_bounds) : [];
    state.uploadBoxes = faces.map((f) => ({ ...f.face_bounds, emotion: f.emotion }));
    if (!faces.length || !w || !h) return;
    const k = w / shownBoxes.imageWidth;
    const several = faces.length > 1;
    const rects = faces.map((f) => {
      const b = f.face_bounds;
      return { x: b.x * k, y: b.y * k, w: b.width * k, h: b.height * k, color: COLOR[f.emotion] ?? "#fff" };
    });
    ctx.lineWidth = several ? 2.5 : 3;
    ctx.shadowColor = "rgba(0,0,0,.5)";
    ctx.shadowBlur = 6;
    for (const r of rects) {
      ctx.strokeStyle = r.color;
      ctx.beginPath();
      if (typeof ctx.roundRect === "function") ctx.roundRect(r.x, r.y, r.w, r.h, several ? 6 : 8);
      else ctx.rect(r.x, r.y, r.w, r.h);
      ctx.stroke();
    }
    ctx.shadowBlur = 0;

    // Labels above their box, else below, else inside its top, wherever they overlap no other.
    ctx.font = `600 ${several ? 12 : 13}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
    ctx.textBaseline = "middle";
    const placed = [];
    faces.forEach((f, i) => {
      const r = rects[i];
      const text = `${several ? `${i + 1}  ` : ""}${f.emotion} ${Math.round(f.confidence * 100)}%`;
      const pw = ctx.measureText(text).width + 26;
      const ph = several ? 20 : 24;
      const px = Math.min(Math.max(2, r.x + r.w / 2 - pw / 2), w - pw - 2);
      const spots = [r.y - ph - 4, r.y + r.h + 4, r.y + 4]
        .map((y) => Math.min(Math.max(2, y), h - ph - 2))
        .map((y) => ({ x: px, y, w: pw, h: ph }));
      const spot = spots.find((s) => !placed.some((p) => overlaps(s, p))) ?? spots[0];
      placed.push(spot);
      ctx.fillStyle = "rgba(10,12,18,.78)";
      ctx.beginPath();
      if (typeof ctx.roundRect === "function") ctx.roundRect(spot.x, spot.y, pw, ph, ph / 2);
      else ctx.rect(spot.x, spot.y, pw, ph);
      ctx.fill();
      ctx.fillStyle = r.color;
      ctx.beginPath();
      ctx.arc(spot.x + 11, spot.y + ph / 2, 4, 0, Math.PI * 2);
      ctx.fill();
      ctx.fillStyle = "#fff";
      ctx.fillText(text, spot.x + 20, spot.y + ph / 2 + 1);
    });
  }
  new ResizeObserver(drawBoxes).observe(preview);

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
    state.uploadResult = null;
    try {
      const photo = await preparePhoto(file);
      // No box first: the server finds every face itself. A server without a face detector
      // (FACE_DETECTOR=off) classifies the whole photo; then the face MediaPipe finds here is sent.
      let { answer, status } = await detect(photo, null);
      let foundHere = false;
      if (answer.success && !answer.face_detected) {
        const box = await photo.findFace();
        if (box) {
          ({ answer, status } = await detect(photo, box));
          foundHere = true;
        }
      }
      state.uploadResult = answer;
      if (!answer.success) {
        throw new Error(answer.error?.message || `The server answered HTTP ${status}.`);
      }
      const faces = facesOf(answer);
      result.hidden = false;
      result.style.setProperty("--accent", COLOR[answer.emotion] ?? "var(--brand)");
      eyebrow.textContent = faces.length > 1 ? `Largest of ${faces.length} faces` : "Photo emotion";
      emotion.textContent = answer.emotion;
      setFace(face, answer.emotion);
      confidence.textContent = `${Math.round(answer.confidence * 100)}%`;
      bars.update(answer.all_scores ?? { [answer.emotion]: answer.confidence });
      showFaceList(faces);
      const ms = Number(answer.processing_ms);
      const parts = [];
      if (!answer.face_detected) parts.push("No face found: the whole photo was classified");
      else if (foundHere) parts.push("Face found in your browser");
      else parts.push(faces.length > 1 ? `${faces.length} faces found by the server` : "Face found by the server");
      if (Number.isFinite(ms)) parts.push(`${ms.toFixed(1)} ms on the server`);
      if (answer.model_used) parts.push(answer.model_used);
      note.textContent = parts.join(" · ");
      shownBoxes = { imageWidth: photo.width, faces: answer.face_detected ? faces : [] };
      drawBoxes();
    } catch (e) {
      error.textContent = e.message;
    } finally {
      submit.disabled = false;
      submit.classList.remove("busy");
      form.removeAttribute("aria-busy");
    }
  });

  /** The numbered list of faces, largest first; shown only when there are several. */
  function showFaceList(faces) {
    faceList.replaceChildren(
      ...faces.map((f, i) => {
        const item = document.createElement("li");
        item.style.setProperty("--c", COLOR[f.emotion] ?? "currentColor");
        const number = document.createElement("span");
        number.className = "upload-face-number";
        number.textContent = String(i + 1);
        const icon = document.createElement("span");
        icon.className = "upload-face-icon";
        icon.setAttribute("aria-hidden", "true");
        icon.innerHTML = faceSvg(f.emotion);
        const name = document.createElement("span");
        name.className = "upload-face-name";
        name.textContent = f.emotion;
        const value = document.createElement("span");
        value.className = "upload-face-confidence";
        value.textContent = `${Math.round(f.confidence * 100)}%`;
        item.append(number, icon, name, value);
        return item;
      }),
    );
    faceListBox.hidden = faces.length < 2;
  }
}

function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** POSTs the photo (with `box`, in its pixels, or none); {answer: the server's JSON, status}. */
async function detect(photo, box) {
  const body = new FormData();
  body.append("file", photo.upload, photo.name);
  body.append("return_all_scores", "true");
  if (box) body.append("face_bounds", JSON.stringify(box));
  let response;
  try {
    response = await fetch(apiUrl("api/detect/upload"), { method: "POST", body, headers: apiHeaders() });
  } catch {
    throw new Error("The server could not be reached. Check the connection and try again.");
  }
  try {
    return { answer: await response.json(), status: response.status };
  } catch {
    throw new Error(`The server answered HTTP ${response.status} without a JSON body.`);
  }
}

/** Every face of an answer, largest first: its `faces`, or the one face of its top level. */
function facesOf(answer) {
  if (Array.isArray(answer.faces) && answer.faces.length) return answer.faces;
  return [{ face_bounds: answer.face_bounds, emotion: answer.emotion, confidence: answer.confidence }];
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
 * Checks the photo and re-encodes photos too big for the server (phone photos often are) as a
 * smaller JPEG. Returns {upload, name, width, findFace}: findFace() resolves to the largest face
 * MediaPipe finds (in the pixels of what is uploaded), or null when none is found or none runs;
 * it runs only when asked, for a server that found no face itself.
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
    return { upload: file, name: file.name, width: 0, findFace: async () => null };
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
    const small = detectionCanvas(bitmap);
    const findFace = async () => {
      const box = await findFaceIn(small).catch(() => null);
      if (!box) return null;
      const x0 = Math.max(0, Math.round(box.x * width));
      const y0 = Math.max(0, Math.round(box.y * height));
      const x1 = Math.min(width, Math.round((box.x + box.width) * width));
      const y1 = Math.min(height, Math.round((box.y + box.height) * height));
      if (x1 - x0 < 8 || y1 - y0 < 8) return null;
      return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
    };
    return { upload, name, width, findFace };
  } finally {
    bitmap.close();
  }
}

/** The photo at most DETECT_MAX_SIDE a side, for MediaPipe. */
function detectionCanvas(bitmap) {
  const scale = Math.min(1, DETECT_MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return canvas;
}

/** The largest face in `canvas` (relative box), or null; gives up after a few seconds. */
function findFaceIn(canvas) {
  return Promise.race([
    detectFace(canvas),
    new Promise((resolve) => setTimeout(() => resolve(null), DETECT_TIMEOUT_MS)),
  ]);
}
