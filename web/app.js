// The live page: camera -> MediaPipe face box (here) -> face crops over /ws (in a worker) -> emotion, bars, timeline, stats.
import { startCamera, stopStream } from "./js/camera.js";
import { remoteServer, socketUrl, targetFps } from "./js/config.js";
import { PageCropEncoder } from "./js/crop.js";
import { detectFace, loadDetector } from "./js/detector.js";
import { COLOR } from "./js/emotions.js";
import { faceSvg, setFace } from "./js/faces.js";
import { createBars } from "./js/bars.js";
import { FaceOverlay } from "./js/overlay.js";
import { MedianWindow, RateWindow } from "./js/stats.js";
import { recordError, state } from "./js/state.js";
import { Timeline, createLegend } from "./js/timeline.js";
import { setUpUpload } from "./js/upload.js";

const FACE_STALE_MS = 1500; // a box older than this is not used for crops

const $ = (id) => document.getElementById(id);
const ui = {
  video: $("video"),
  stage: $("stage"),
  faceStatus: $("face-status"),
  cameraError: $("camera-error"),
  cameraErrorTitle: $("camera-error-title"),
  cameraErrorText: $("camera-error-text"),
  cameraRetry: $("camera-retry"),
  cameraToggle: $("camera-toggle"),
  cameraToggleLabel: $("camera-toggle-label"),
  smoothing: $("smoothing"),
  smoothingValue: $("smoothing-value"),
  smoothingNote: $("smoothing-note"),
  hero: $("hero"),
  emotionName: $("emotion-name"),
  emotionFace: $("emotion-face"),
  confidence: $("confidence"),
  ring: $("ring-value"),
  changes: $("changes"),
  liveError: $("live-error"),
  conn: $("conn"),
  connBox: $("conn-box"),
  reconnect: $("reconnect"),
  connAnnounce: $("conn-announce"),
  server: $("server-host"),
  fps: $("fps"),
  rtt: $("rtt"),
  proc: $("proc"),
  dropped: $("dropped"),
  detFps: $("det-fps"),
  model: $("model"),
  procStat: $("proc-stat"),
};

setFace(ui.emotionFace, "unknown");
const bars = createBars($("bars"));
const timeline = new Timeline($("timeline"));
createLegend($("legend"), timeline);
const overlay = new FaceOverlay($("overlay"), ui.video);
const encoder = new PageCropEncoder();
setUpUpload();

if (remoteServer) {
  ui.server.hidden = false;
  ui.server.textContent = `server ${remoteServer}`;
}

// ---- figures ---------------------------------------------------------------------------------

const resultRate = new RateWindow(2000);
const detectionRate = new RateWindow(2000);
const rtts = new MedianWindow(30);
const procs = new MedianWindow(30);
let serverDropped = 0;
let clientTimeouts = 0;

function updateDropped() {
  state.droppedFrames = serverDropped + clientTimeouts;
  ui.dropped.textContent = String(state.droppedFrames);
}

function tickStats() {
  const now = performance.now();
  state.resultsPerSecond = resultRate.rate(now);
  ui.fps.textContent = state.resultsPerSecond.toFixed(1);
  ui.detFps.textContent = detectionRate.rate(now).toFixed(1);
  state.timelinePoints = timeline.count;
  if (connState === "reconnecting") showConnState();
}
setInterval(tickStats, 250);

// ---- connection (the socket lives in a worker) ----------------------------------------------

let connState = "connecting";
let retryDeadline = 0;
const worker = new Worker(new URL("./js/stream-worker.js", import.meta.url), { type: "module" });

worker.onmessage = (event) => {
  const message = event.data;
  switch (message.type) {
    case "state":
      connState = message.state;
      retryDeadline = performance.now() + message.retryInMs;
      showConnState();
      break;
    case "message":
      handleMessage(message.message, message.rtt);
      break;
    case "timeout":
      clientTimeouts += 1;
      updateDropped();
      break;
    case "problem":
      recordError(message.message);
      break;
    default:
      break;
  }
};
worker.onerror = (event) => {
  event.preventDefault();
  recordError(`stream worker: ${event.message || "failed to start"}`);
  connState = "closed";
  showConnState();
};

function showConnState() {
  const s = connState;
  if (state.socketState !== s && (s === "open" || s === "closed" || s === "reconnecting")) {
    ui.connAnnounce.textContent = s === "open" ? "Connected to the server" : `Connection ${s}`;
  }
  state.socketState = s;
  ui.connBox.dataset.state = s;
  ui.conn.textContent =
    s === "reconnecting"
      ? `reconnecting in ${Math.max(0, Math.ceil((retryDeadline - performance.now()) / 1000))}s`
      : s;
  ui.reconnect.hidden = !(s === "reconnecting" || s === "closed");
}

ui.reconnect.addEventListener("click", () => worker.postMessage({ type: "reconnect" }));

function sendConfig() {
  worker.postMessage({ type: "config", smoothing: Number(ui.smoothing.value) });
}

let noteTimer = 0;
function handleMessage(message, rtt) {
  switch (message.type) {
    case "result":
      onResult(message, rtt);
      break;
    case "error":
      onServerError(message, rtt);
      break;
    case "emotion_changed":
      onEmotionChanged(message);
      break;
    case "config_ok":
      ui.smoothingNote.textContent = "applied";
      clearTimeout(noteTimer);
      noteTimer = setTimeout(() => {
        ui.smoothingNote.textContent = "";
      }, 1500);
      break;
    default:
      break; // pong and anything newer
  }
}

function addRoundTrip(rtt) {
  if (typeof rtt !== "number") return;
  rtts.add(rtt);
  state.rttMs = Math.round(rtts.median() * 10) / 10;
  ui.rtt.textContent = String(Math.round(state.rttMs));
}

function onResult(message, rtt) {
  const now = performance.now();
  state.results += 1;
  state.lastResult = message;
  resultRate.add(now);
  addRoundTrip(rtt);
  serverDropped += Number(message.dropped_frames) || 0;
  updateDropped();

  const ms = Number(message.processing_ms);
  if (Number.isFinite(ms)) {
    procs.add(ms);
    ui.proc.textContent = procs.median().toFixed(1);
  }
  if (message.model_used && ui.model.textContent !== message.model_used) {
    ui.model.textContent = message.model_used;
    ui.model.title = message.model_used;
  }
  ui.procStat.title = message.cached ? "Server time (this answer came from its cache)" : "Server time";

  const scores = message.all_scores ?? { [message.emotion]: message.confidence };
  showEmotion(message.emotion, Number(message.confidence) || 0);
  bars.update(scores);
  timeline.add(scores, now);
  state.timelinePoints = timeline.count;
  ui.liveError.textContent = "";
}

function onServerError(message, rtt) {
  const error = message.error ?? {};
  const text = error.message || error.code || "unknown error";
  recordError(error.code ? `${error.code}: ${text}` : text);
  ui.liveError.textContent = `The server said: ${text}`;
  addRoundTrip(rtt);
}

function onEmotionChanged(message) {
  if (!message.from || !message.to) return;
  const item = document.createElement("li");
  const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  item.innerHTML = `<span class="from"></span><span class="arrow" aria-hidden="true">→</span><span class="to"></span><time></time>`;
  const from = item.querySelector(".from");
  const to = item.querySelector(".to");
  from.innerHTML = faceSvg(message.from);
  from.append(String(message.from));
  from.style.setProperty("--c", COLOR[message.from] ?? "currentColor");
  to.innerHTML = faceSvg(message.to);
  to.append(String(message.to));
  to.style.setProperty("--c", COLOR[message.to] ?? "currentColor");
  item.querySelector("time").textContent = time;
  ui.changes.prepend(item);
  while (ui.changes.children.length > 3) ui.changes.lastElementChild.remove();
}

let shownEmotion = null;
function showEmotion(emotion, confidence) {
  if (emotion !== shownEmotion) {
    shownEmotion = emotion;
    ui.emotionName.textContent = emotion;
    setFace(ui.emotionFace, emotion);
    ui.hero.style.setProperty("--accent", COLOR[emotion] ?? "var(--brand)");
    ui.hero.dataset.emotion = emotion;
    ui.emotionFace.classList.remove("pop");
    void ui.emotionFace.offsetWidth; // restart the animation
    ui.emotionFace.classList.add("pop");
  }
  const percent = Math.round(confidence * 100);
  ui.confidence.textContent = `${percent}%`;
  ui.ring.style.strokeDashoffset = String(100 - Math.min(100, Math.max(0, confidence * 100)));
  ui.hero.classList.remove("idle");
  overlay.setLabel(emotion, confidence);
}

let smoothingTimer = 0;
function onSmoothing(immediate) {
  ui.smoothingValue.textContent = Number(ui.smoothing.value).toFixed(2);
  clearTimeout(smoothingTimer);
  smoothingTimer = setTimeout(sendConfig, immediate ? 0 : 150);
}
ui.smoothing.addEventListener("input", () => onSmoothing(false));
ui.smoothing.addEventListener("change", () => onSmoothing(true));
ui.smoothingValue.textContent = Number(ui.smoothing.value).toFixed(2);

// ---- camera and detection -------------------------------------------------------------------

let stream = null;
let workerTrack = null; // the copy of the camera track whose frames the worker reads
let cameraGeneration = 0;
let face = null; // {box, at}: the last face MediaPipe found
let detectorReady = false;
let detectorFailed = false;
const minInterval = 1000 / targetFps;

function setFaceStatus(text) {
  ui.faceStatus.textContent = text;
  ui.faceStatus.hidden = !text;
}

function refreshFaceStatus() {
  if (!state.cameraStarted) setFaceStatus(stream ? "" : "Camera off");
  else if (detectorFailed) setFaceStatus("Face detection could not start");
  else if (!detectorReady) setFaceStatus("Loading face detector…");
  else setFaceStatus(state.faceFound ? "" : "No face in view");
  ui.stage.classList.toggle("no-face", state.cameraStarted && detectorReady && !state.faceFound);
  ui.hero.classList.toggle("stale", !state.faceFound);
}

/** Resolves at the next video frame (or after a short wait where frames cannot be watched). */
function nextFrame(video) {
  return new Promise((resolve) => {
    if (typeof video.requestVideoFrameCallback === "function" && !video.paused) {
      const timer = setTimeout(() => resolve(video.currentTime), 250);
      video.requestVideoFrameCallback((_now, meta) => {
        clearTimeout(timer);
        resolve(meta.mediaTime);
      });
    } else {
      setTimeout(() => resolve(video.currentTime), 1000 / 30);
    }
  });
}

/** Detects as fast as the machine allows (at most once a video frame); keeps the last box. */
async function detectionLoop(generation) {
  const video = ui.video;
  while (generation === cameraGeneration) {
    if (video.readyState < 2 || !video.videoWidth) {
      await nextFrame(video);
      continue;
    }
    let box = null;
    try {
      box = await detectFace(video);
    } catch (error) {
      if (generation !== cameraGeneration) return;
      if (!detectorFailed) recordError(`face detection: ${error?.message || error}`);
      detectorFailed = true;
      refreshFaceStatus();
      return;
    }
    if (generation !== cameraGeneration) return;
    if (!detectorReady) {
      detectorReady = true;
      ui.stage.classList.add("ready");
    }
    state.detections += 1;
    detectionRate.add();
    state.faceFound = Boolean(box);
    face = box ? { box, at: performance.now() } : null;
    worker.postMessage({ type: "box", box });
    overlay.setBox(box);
    refreshFaceStatus();
    await nextFrame(video);
  }
}

/**
 * Where the browser cannot hand camera frames to a worker (no MediaStreamTrackProcessor), the
 * page crops each video frame itself and the worker sends the newest crop when it is free.
 */
async function pageCropLoop(generation) {
  const video = ui.video;
  let lastCropAt = 0;
  let lastFrameTime = -1;
  while (generation === cameraGeneration) {
    const frameTime = await nextFrame(video);
    if (generation !== cameraGeneration) return;
    const now = performance.now();
    if (connState !== "open" || !face || now - face.at > FACE_STALE_MS) continue;
    if (frameTime === lastFrameTime || now - lastCropAt < minInterval - 5) continue;
    try {
      const image = encoder.encode(video, video.videoWidth, video.videoHeight, face.box);
      worker.postMessage({ type: "crop", image });
      lastCropAt = now;
      lastFrameTime = frameTime;
    } catch (error) {
      recordError(`crop: ${error?.message || error}`);
    }
  }
}

/** Hands the camera's frames to the worker; false where the browser cannot. */
function streamFramesToWorker(track) {
  if (typeof MediaStreamTrackProcessor !== "function") return false;
  try {
    const processor = new MediaStreamTrackProcessor({ track });
    worker.postMessage({ type: "frames", readable: processor.readable }, [processor.readable]);
    return true;
  } catch {
    return false;
  }
}

function showCameraError(error) {
  state.cameraError = `${error.kind || "failed"}: ${error.message || error}`;
  ui.cameraErrorTitle.textContent = error.title || "The camera could not start";
  ui.cameraErrorText.textContent = error.message || String(error);
  ui.cameraError.hidden = false;
  ui.stage.classList.add("failed");
  document.getElementById("photo").classList.add("highlight");
}

async function cameraOn() {
  const generation = ++cameraGeneration;
  ui.cameraError.hidden = true;
  ui.stage.classList.remove("failed");
  ui.cameraToggle.disabled = true;
  setFaceStatus("Starting camera…");
  try {
    const started = await startCamera(ui.video);
    if (generation !== cameraGeneration) {
      stopStream(started);
      return;
    }
    stream = started;
  } catch (error) {
    if (generation !== cameraGeneration) return;
    stream = null;
    state.cameraStarted = false;
    showCameraError(error);
    setFaceStatus("");
    setToggle(false);
    return;
  }
  state.cameraStarted = true;
  state.cameraError = null;
  ui.stage.classList.add("live");
  document.getElementById("photo").classList.remove("highlight");
  setToggle(true);
  const aspect = ui.video.videoWidth && ui.video.videoHeight ? ui.video.videoWidth / ui.video.videoHeight : 4 / 3;
  ui.stage.style.setProperty("--aspect", String(aspect));
  const [track] = stream.getVideoTracks();
  track?.addEventListener("ended", () => {
    if (generation !== cameraGeneration) return;
    cameraOff();
    showCameraError({
      title: "The camera stopped",
      message: "The camera was disconnected or taken by another app. Press Try again, or upload a photo below.",
    });
  });
  refreshFaceStatus();
  detectionLoop(generation);
  // The worker gets its own copy of the track, so it can be stopped on its own.
  const copy = track?.clone();
  if (copy && streamFramesToWorker(copy)) {
    workerTrack = copy;
  } else {
    copy?.stop();
    pageCropLoop(generation);
  }
}

function cameraOff() {
  cameraGeneration += 1;
  worker.postMessage({ type: "stop" });
  workerTrack?.stop();
  workerTrack = null;
  stopStream(stream);
  stream = null;
  ui.video.srcObject = null;
  state.cameraStarted = false;
  state.faceFound = false;
  face = null;
  overlay.setBox(null);
  ui.stage.classList.remove("live");
  setToggle(false);
  refreshFaceStatus();
}

function setToggle(on) {
  ui.cameraToggle.disabled = false;
  ui.cameraToggle.setAttribute("aria-pressed", String(on));
  ui.cameraToggleLabel.textContent = on ? "Stop camera" : "Start camera";
}

ui.cameraToggle.addEventListener("click", () => {
  if (state.cameraStarted) cameraOff();
  else cameraOn();
});
ui.cameraRetry.addEventListener("click", () => cameraOn());

// ---- start -----------------------------------------------------------------------------------

showConnState();
worker.postMessage({ type: "connect", url: socketUrl(), fps: targetFps, smoothing: Number(ui.smoothing.value) });
loadDetector().catch((error) => {
  if (!detectorFailed) recordError(`face detection: ${error?.message || error}`);
  detectorFailed = true;
  refreshFaceStatus();
});
cameraOn();
