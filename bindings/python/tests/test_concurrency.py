"""One client shared by threads and asyncio tasks, and the GIL released while it works."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from conftest import FACES, Server, photo
from emotion_client import EmotionClient

FACE = photo("astronaut.jpg")["faces"][0]


def test_eight_threads_share_one_local_client() -> None:
    client = EmotionClient.local(cache_entries=0)
    data = (FACES / "astronaut.jpg").read_bytes()

    def work(_: int) -> list:
        return [client.detect_sync(data, face_bounds=FACE).emotion for _ in range(10)]

    with ThreadPoolExecutor(8) as pool:
        emotions = [e for batch in pool.map(work, range(8)) for e in batch]
    assert emotions == ["happy"] * 80


def test_fifty_tasks_share_one_server_client(server: Server) -> None:
    client = EmotionClient(server.url)
    data = (FACES / "astronaut.jpg").read_bytes()

    async def main() -> list:
        return await asyncio.gather(*(client.detect(data, face_bounds=FACE) for _ in range(50)))

    results = asyncio.run(main())
    assert [r.emotion for r in results] == ["happy"] * 50


def test_the_gil_is_released_during_detection() -> None:
    """A pure-Python thread keeps counting while the engine decodes and infers 40 frames; with
    the GIL held it could not run at all until the call returned."""
    client = EmotionClient.local(cache_entries=0, workers=1)
    data = (FACES / "astronaut.jpg").read_bytes()
    frames = [data] * 40
    client.detect_sync(data)  # warm up
    stop = threading.Event()
    counts = [0]

    def count() -> None:
        while not stop.is_set():
            counts[0] += 1

    counter = threading.Thread(target=count)
    counter.start()
    time.sleep(0.02)
    try:
        before = counts[0]
        started = time.perf_counter()
        for frame in frames:
            client.detect_sync(frame)
        elapsed = time.perf_counter() - started
        during = counts[0] - before
    finally:
        stop.set()
        counter.join()
    # Python counts millions a second; over `elapsed` (tens of ms) a free thread gets far past this.
    assert during > 2000, f"the counting thread advanced {during} times in {elapsed * 1000:.0f} ms"
