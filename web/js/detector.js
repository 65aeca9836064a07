// MediaPipe face detection, loaded from the npm files the server serves; one detection at a time.
const BASE = "node_modules/@mediapipe/face_detection/";

let loading = null;
let queue = Promise.resolve();
let latest = null;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    if (window.FaceDetection) {
      resolve();
      return;
    }
    const script = document.createElement("script");
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

/** Loads and initialises the detector once; resolves when it is ready. */
export function loadDetector() {
  loading ??= (async () => {
    await loadScript(`${BASE}face_detection.js`);
    if (typeof window.FaceDetection !== "function") {
      throw new Error("face_detection.js did not define FaceDetection");
    }
    const detector = new window.FaceDetection({ locateFile: (file) => `${BASE}${file}` });
    detector.setOptions({ model: "short", minDetectionConfidence: 0.5 });
    detector.onResults((results) => {
      latest = results;
    });
    await detector.initialize();
    return detector;
  })();
  return loading;
}

/**
 * The largest face in `image` (a video, image or canvas) as a box relative to its size,
 * `{x, y, width, height}` with x, y the top-left corner, or null when there is none.
 * Calls are queued, so the live loop and a photo upload never run the graph at once.
 */
export function detectFace(image) {
  const run = queue.then(async () => {
    const detector = await loadDetector();
    latest = null;
    await detector.send({ image });
    return largestFace(latest);
  });
  queue = run.catch(() => {});
  return run;
}

function largestFace(results) {
  let best = null;
  for (const detection of results?.detections ?? []) {
    const box = toBox(detection);
    if (box && (!best || box.width * box.height > best.width * best.height)) best = box;
  }
  return best;
}

function toBox(detection) {
  const b = detection.boundingBox;
  if (b && Number.isFinite(b.xCenter)) {
    return { x: b.xCenter - b.width / 2, y: b.yCenter - b.height / 2, width: b.width, height: b.height };
  }
  const r = detection.locationData?.relativeBoundingBox;
  if (r && Number.isFinite(r.xmin)) {
    return { x: r.xmin, y: r.ymin, width: r.width, height: r.height };
  }
  return null;
}
