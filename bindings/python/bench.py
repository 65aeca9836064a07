"""Latency of the Python package: `detect_sync` in-process on a 640x480 frame with a face box,
and frames/s of an asyncio loop against a server (cache off, so every frame is inferred).

    python bindings/python/bench.py                          # in-process only
    python bindings/python/bench.py --server http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from emotion_client import EmotionClient

FACES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "faces"


def frame_640x480() -> tuple:
    """The astronaut photo on a 640x480 canvas, and its face box there."""
    photo = np.asarray(Image.open(FACES / "astronaut.jpg").convert("RGB").resize((480, 480)))
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, 80:560] = photo
    s = 480 / 512
    box = {"x": 80 + 178 * s, "y": 66 * s, "width": 94 * s, "height": 102 * s}
    return frame, box


def percentile(values: list, p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def bench_local(n: int) -> None:
    client = EmotionClient.local(cache_entries=0)
    frame, box = frame_640x480()
    for _ in range(50):
        client.detect_sync(frame, face_bounds=box)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        client.detect_sync(frame, face_bounds=box)
        times.append((time.perf_counter() - t) * 1000)
    print(
        f"local detect_sync, 640x480 RGB array + box: median {statistics.median(times):.3f} ms, "
        f"p99 {percentile(times, 99):.3f} ms over {n} calls"
    )


async def bench_server(url: str, seconds: float, concurrency: int) -> None:
    client = EmotionClient(url)
    frame, box = frame_640x480()
    await client.detect(frame, face_bounds=box)
    done = 0
    deadline = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await client.detect(frame, face_bounds=box)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    print(f"server {url}, {concurrency} async loop(s): {done / elapsed:.0f} frames/s over {elapsed:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    bench_local(args.calls)
    if args.server:
        asyncio.run(bench_server(args.server, args.seconds, 1))
        asyncio.run(bench_server(args.server, args.seconds, 4))


if __name__ == "__main__":
    main()
