"""Checked with `mypy --strict`: the public API as a typed caller uses it."""

from __future__ import annotations

import asyncio
from typing import Dict, List, Optional

from emotion_client import Detection, EmotionClient, EmotionError, FaceBounds, RateLimitedError


def show(result: Detection) -> str:
    scores: Dict[str, float] = result.scores
    bounds: Optional[FaceBounds] = result.face_bounds
    where = "?" if bounds is None else f"{bounds.x},{bounds.y}"
    return f"{result.emotion} {result.confidence:.2f} at {where} ({len(scores)} scores)"


async def loop(client: EmotionClient, frames: List[bytes]) -> None:
    try:
        print(show(await client.detect(frames[0], face_bounds={"x": 1, "y": 2, "width": 3, "height": 4})))
    except RateLimitedError as e:
        retry: Optional[float] = e.retry_after
        print(retry)
    except EmotionError as e:
        code: str = e.code
        print(code)
    async with client.stream(smoothing=0.5) as stream:
        frame_id: int = await stream.send(frames[0])
        print(frame_id)
        async for result in stream:
            print(show(result), result.dropped_frames)
            break


if __name__ == "__main__":
    asyncio.run(loop(EmotionClient.local(), []))
