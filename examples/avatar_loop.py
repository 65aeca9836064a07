"""An avatar that mirrors the emotion of the person in front of the camera.

    pip install ./bindings/python numpy            # opencv-python too, for a real camera
    python examples/avatar_loop.py                        # the embedded model, in-process
    python examples/avatar_loop.py --server http://localhost:8000
    python examples/avatar_loop.py --images tests/fixtures/faces --frames 20

Frames come from an OpenCV camera when OpenCV and a camera are present, else from a folder of
images played in a loop. The avatar here prints; a real one would set a blend shape.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from pathlib import Path
from typing import AsyncIterator, Optional

from emotion_client import EmotionClient, EmotionError, RateLimitedError

REPO = Path(__file__).resolve().parent.parent


class Avatar:
    """A stand-in avatar: shows the emotion it is told, and says when it changes."""

    def __init__(self) -> None:
        self.emotion: Optional[str] = None

    def set_emotion(self, emotion: str, confidence: float) -> None:
        if emotion != self.emotion:
            print(f"avatar: now {emotion} ({confidence:.0%})")
            self.emotion = emotion


async def camera_frames(index: int, fps: float) -> AsyncIterator[object]:
    import cv2  # optional: only when a camera is used

    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise RuntimeError(f"camera {index} did not open")
    try:
        while True:
            ok, frame = await asyncio.to_thread(capture.read)
            if not ok:
                return
            yield frame  # BGR, as OpenCV gives it
            await asyncio.sleep(1 / fps)
    finally:
        capture.release()


async def folder_frames(folder: Path, fps: float) -> AsyncIterator[object]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"})
    if not files:
        raise RuntimeError(f"no images in {folder}")
    for path in itertools.cycle(files):
        yield path
        await asyncio.sleep(1 / fps)


def open_camera(index: int) -> bool:
    try:
        import cv2
    except ImportError:
        return False
    capture = cv2.VideoCapture(index)
    opened = bool(capture.isOpened())
    capture.release()
    return opened


async def avatar_update_loop(client: EmotionClient, frames: AsyncIterator[object], bgr: bool, limit: int) -> None:
    avatar = Avatar()
    started = time.perf_counter()
    done = 0
    async for frame in frames:
        try:
            emotion = await client.detect(frame, channel_order="bgr" if bgr else "rgb")
        except RateLimitedError as e:
            await asyncio.sleep(e.retry_after or 1.0)
            continue
        except EmotionError as e:
            print(f"skipped a frame: {e.code}: {e}")
            continue
        avatar.set_emotion(emotion.emotion, emotion.confidence)
        done += 1
        if done >= limit:
            break
    elapsed = time.perf_counter() - started
    print(f"{done} frames in {elapsed:.2f} s ({done / elapsed:.1f} frames/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", help="an emotion-server URL (default: the embedded model in-process)")
    parser.add_argument("--camera", type=int, default=0, help="OpenCV camera index")
    parser.add_argument("--images", type=Path, default=REPO / "tests" / "fixtures" / "faces")
    parser.add_argument("--fps", type=float, default=15.0)
    parser.add_argument("--frames", type=int, default=100, help="stop after this many results")
    args = parser.parse_args()

    client = EmotionClient(args.server) if args.server else EmotionClient.local()
    use_camera = open_camera(args.camera)
    frames = camera_frames(args.camera, args.fps) if use_camera else folder_frames(args.images, args.fps)
    print(f"{client!r}, frames from {'camera ' + str(args.camera) if use_camera else args.images}")
    asyncio.run(avatar_update_loop(client, frames, bgr=use_camera, limit=args.frames))


if __name__ == "__main__":
    main()
