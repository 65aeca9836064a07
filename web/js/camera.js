// The webcam: start and stop getUserMedia, and say plainly why it could not start.
export class CameraError extends Error {
  constructor(kind, title, message) {
    super(message);
    this.kind = kind;
    this.title = title;
  }
}

/** Starts the camera into `video`; resolves with the stream once frames play. */
export async function startCamera(video) {
  if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== "function") {
    throw new CameraError(
      "unsupported",
      "No camera access here",
      window.isSecureContext
        ? "This browser offers no camera API. You can still upload a photo below."
        : "Browsers only allow the camera on HTTPS or localhost, and this page is neither. You can still upload a photo below.",
    );
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: {
        facingMode: "user",
        width: { ideal: 640 },
        height: { ideal: 480 },
        frameRate: { ideal: 30 },
      },
    });
  } catch (error) {
    throw describe(error);
  }
  video.srcObject = stream;
  try {
    await video.play();
  } catch (error) {
    // A play() interrupted by a stop is not a camera problem.
    if (error?.name !== "AbortError") {
      stopStream(stream);
      video.srcObject = null;
      throw new CameraError("play", "The camera would not play", error?.message || String(error));
    }
  }
  return stream;
}

/** Stops every track of `stream`. */
export function stopStream(stream) {
  for (const track of stream?.getTracks() ?? []) track.stop();
}

function describe(error) {
  switch (error?.name) {
    case "NotAllowedError":
    case "SecurityError":
      return new CameraError(
        "denied",
        "Camera access was denied",
        "The browser (or you) refused the camera. Allow it in the site settings and press Try again, or upload a photo below.",
      );
    case "NotFoundError":
    case "OverconstrainedError":
      return new CameraError(
        "missing",
        "No camera found",
        "This device has no camera that the browser can use. Plug one in and press Try again, or upload a photo below.",
      );
    case "NotReadableError":
    case "AbortError":
      return new CameraError(
        "busy",
        "The camera is busy",
        "Another app or tab is using the camera. Close it and press Try again, or upload a photo below.",
      );
    default:
      return new CameraError(
        "failed",
        "The camera could not start",
        `${error?.message || error}. You can still upload a photo below.`,
      );
  }
}
