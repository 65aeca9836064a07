// window.__emotion: the page's live state, read by the end-to-end test and the views.
export const state = {
  cameraStarted: false,
  cameraError: null,
  faceFound: false,
  detections: 0,
  results: 0,
  errors: [],
  lastResult: null,
  resultsPerSecond: 0,
  rttMs: 0,
  droppedFrames: 0,
  socketState: "connecting",
  timelinePoints: 0,
  uploadResult: null, // the server's answer to the last upload; null while one is in work
  uploadBoxes: [], // the face boxes drawn on the uploaded photo (its pixels), with their emotion
};

window.__emotion = state;

const MAX_ERRORS = 200;

/** Records an error message (a server error message or a page error). */
export function recordError(message) {
  state.errors.push(String(message));
  if (state.errors.length > MAX_ERRORS) {
    state.errors.splice(0, state.errors.length - MAX_ERRORS);
  }
}

window.addEventListener("error", (event) => {
  recordError(event.message || String(event.error));
});
window.addEventListener("unhandledrejection", (event) => {
  const reason = event.reason;
  recordError(reason instanceof Error ? reason.message : String(reason));
});
