// The streaming worker: owns the /ws socket and sends face crops, off the page's busy main thread.
//
// The page runs MediaPipe, which holds its thread for tens of milliseconds a detection on slow
// machines; here the camera's frames (a transferred MediaStreamTrackProcessor stream) are cropped
// around the last face box, encoded and sent with the face's box inside the crop (so the server
// need not look for the face again), and results are read the moment they arrive.
// One frame is in flight at a time: the next goes after its result or error, or after a timeout.
import { CROP_FACE_BOUNDS, WorkerCropEncoder } from "./crop.js";
import { EmotionSocket } from "./socket.js";

const RESULT_TIMEOUT_MS = 1000;
const FACE_STALE_MS = 1500; // a box older than this is not used for crops

let minInterval = 1000 / 30;
let smoothing = 0.5;
let box = null; // the last face box (relative), from the page
let boxAt = 0;
let latest = null; // the newest unsent frame: {frame: VideoFrame} or {image: base64}
let reader = null;
let inFlight = null; // {id, sentAt}
let encoding = false;
let lastSendAt = 0;
let retryTimer = 0;
let nextFrameId = 1;
const sentAt = new Map(); // frame_id -> send time, for round trips
const encoder = new WorkerCropEncoder();

const post = (message) => postMessage(message);

let socketUrl = "";
const socket = new EmotionSocket(() => socketUrl, {
  onState: (state, s) => post({ type: "state", state, retryInMs: state === "reconnecting" ? s.msToRetry() : 0 }),
  onOpen: () => {
    sendConfig();
    trySend();
  },
  onClose: () => {
    // A frame in flight on a closed socket is simply gone; the next connection starts afresh.
    inFlight = null;
    sentAt.clear();
  },
  onMessage: (message) => onServerMessage(message),
});

function sendConfig() {
  socket.send({ type: "config", data: { smoothing, return_all_scores: true } });
}

function onServerMessage(message) {
  let rtt = null;
  if (message.type === "result" || message.type === "error") {
    const id = message.frame_id;
    const started = sentAt.get(id);
    if (started !== undefined) {
      sentAt.delete(id);
      rtt = performance.now() - started;
    }
    if (inFlight && inFlight.id === id) inFlight = null;
  }
  post({ type: "message", message, rtt });
  if (!inFlight) trySend();
}

function dropLatest() {
  latest?.frame?.close();
  latest = null;
}

/** Sends the newest frame when the socket is free, a face is known and the pace allows. */
async function trySend() {
  if (!latest || inFlight || encoding || !socket.isOpen) return;
  const now = performance.now();
  if (!box || now - boxAt > FACE_STALE_MS) {
    dropLatest();
    return;
  }
  const wait = lastSendAt + minInterval - 4 - now;
  if (wait > 0) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(trySend, wait);
    return;
  }
  const pending = latest;
  latest = null;
  lastSendAt = now;
  let image = pending.image;
  if (pending.frame) {
    encoding = true;
    const frame = pending.frame;
    try {
      image = await encoder.encode(frame, box);
    } catch (error) {
      post({ type: "problem", message: `crop: ${error?.message || error}` });
      image = null;
    } finally {
      frame.close();
      encoding = false;
    }
  }
  if (!image || inFlight || !socket.isOpen) return;
  const id = nextFrameId++;
  const sent = performance.now();
  if (socket.send({ type: "frame", data: { image, face_bounds: CROP_FACE_BOUNDS, frame_id: id } })) {
    inFlight = { id, sentAt: sent };
    sentAt.set(id, sent);
    if (sentAt.size > 64) sentAt.delete(sentAt.keys().next().value);
  }
}

/** Reads camera frames, keeping only the newest (older ones are closed at once). */
async function readFrames(readable) {
  stopFrames();
  const own = readable.getReader();
  reader = own;
  try {
    for (;;) {
      const { value, done } = await own.read();
      if (done) break;
      if (reader !== own) {
        value.close();
        break;
      }
      dropLatest();
      latest = { frame: value };
      trySend();
    }
  } catch {
    // The track ended or the reader was cancelled.
  }
}

function stopFrames() {
  if (reader) {
    reader.cancel().catch(() => {});
    reader = null;
  }
  dropLatest();
}

// A result that never comes back frees the slot after a second and counts as dropped.
setInterval(() => {
  if (inFlight && performance.now() - inFlight.sentAt > RESULT_TIMEOUT_MS) {
    sentAt.delete(inFlight.id);
    inFlight = null;
    post({ type: "timeout" });
    trySend();
  }
}, 100);

onmessage = (event) => {
  const message = event.data;
  switch (message.type) {
    case "connect":
      socketUrl = message.url;
      minInterval = 1000 / message.fps;
      smoothing = message.smoothing;
      socket.connect();
      break;
    case "reconnect":
      socket.connectNow();
      break;
    case "config":
      smoothing = message.smoothing;
      sendConfig();
      break;
    case "box":
      box = message.box;
      boxAt = performance.now();
      if (!box) dropLatest();
      else trySend();
      break;
    case "frames":
      readFrames(message.readable);
      break;
    case "crop":
      dropLatest();
      latest = { image: message.image };
      trySend();
      break;
    case "stop":
      stopFrames();
      box = null;
      break;
    default:
      break;
  }
};
