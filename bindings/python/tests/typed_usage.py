"""Checked with `mypy --strict`: the public API as a typed caller uses it."""

from __future__ import annotations

import asyncio
from typing import Dict, List, Optional

from emotion_client import (
    BadRequestError,
    Detection,
    EmotionClient,
    EmotionError,
    FaceBounds,
    FaceResult,
    RateLimitedError,
)


def show(result: Detection) -> str:
    scores: Dict[str, float] = result.scores
    bounds: Optional[FaceBounds] = result.face_bounds
    where = "?" if bounds is None else f"{bounds.x},{bounds.y}"
    return f"{result.emotion} {result.confidence:.2f} at {where} ({len(scores)} scores)"


def show_faces(result: Detection) -> List[str]:
    faces: List[FaceResult] = result.faces
    lines = []
    for face in faces:
        track: Optional[int] = face.track_id
        found: Optional[float] = face.detection_confidence
        before: Optional[str] = face.changed_from
        lines.append(f"track {track}: {face.emotion} (detector {found}, was {before})")
    ended: List[int] = result.tracks_ended
    lines.append(f"ended: {ended}, largest was {result.changed_from}")
    return lines


async def loop(client: EmotionClient, frames: List[bytes]) -> None:
    try:
        print(show(await client.detect(frames[0], face_bounds={"x": 1, "y": 2, "width": 3, "height": 4})))
    except RateLimitedError as e:
        retry: Optional[float] = e.retry_after
        print(retry)
    except EmotionError as e:
        code: str = e.code
        print(code)
    async with client.stream(smoothing=0.5, track_timeout=10) as stream:
        frame_id: int = await stream.send(frames[0])
        print(frame_id)
        async for result in stream:
            print(show(result), result.dropped_frames, show_faces(result))
            break


def make_clients() -> List[EmotionClient]:
    try:
        return [
            EmotionClient.local(face_detector="short", max_faces=3, min_face_size=40),
            EmotionClient.local(face_detector=None),
        ]
    except BadRequestError as e:
        print(e.message)
        return []


if __name__ == "__main__":
    asyncio.run(loop(make_clients()[0], []))
