"""EmotionClient(url): the real emotion-server on a free port, over HTTP and the WebSocket."""

from __future__ import annotations

import asyncio

import numpy as np
from PIL import Image

from conftest import FACES, Server, photo
from emotion_client import EMOTIONS, EmotionClient


def test_detect_over_http(server: Server) -> None:
    client = EmotionClient(server.url)
    astronaut = photo("astronaut.jpg")
    result = client.detect_sync(astronaut["path"], face_bounds=astronaut["faces"][0])
    assert result.emotion == "happy"
    assert list(result.scores) == EMOTIONS
    assert result.model_used.startswith("local/")
    assert result.face_detected
    assert client.mode == "server"


def test_a_numpy_frame_with_a_box_comes_back_in_its_own_coordinates(server: Server) -> None:
    client = EmotionClient(server.url)
    rgb = np.asarray(Image.open(FACES / "astronaut.jpg").convert("RGB"))
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    face = photo("astronaut.jpg")["faces"][0]

    async def main() -> None:
        result = await client.detect(bgr, face_bounds=face, channel_order="bgr")
        assert result.emotion == "happy"
        assert result.face_bounds is not None
        assert (result.face_bounds.x, result.face_bounds.y) == (face["x"], face["y"])

    asyncio.run(main())


def test_batch_over_http_keeps_order_and_isolates_a_bad_image(server: Server) -> None:
    client = EmotionClient(server.url)
    good = (FACES / "smiling_woman.jpg").read_bytes()
    results = client.detect_batch_sync([good, b"garbage", good])
    assert len(results) == 3
    assert not isinstance(results[0], Exception) and results[0].emotion == "happy"
    assert isinstance(results[1], Exception)
    assert not isinstance(results[2], Exception) and results[2].emotion == "happy"


def test_a_websocket_stream_answers_or_counts_every_frame(server: Server) -> None:
    client = EmotionClient(server.url)
    astronaut = photo("astronaut.jpg")
    data = astronaut["path"].read_bytes()

    async def main() -> None:
        async with client.stream(smoothing=0.3) as stream:
            await stream.configure(smoothing=0.6)
            sent = [await stream.send(data, face_bounds=astronaut["faces"][0]) for _ in range(30)]
            accounted = 0
            last = None
            while accounted < len(sent):
                last = await asyncio.wait_for(stream.recv(), 10)
                assert last is not None
                assert last.emotion == "happy"
                accounted += 1 + last.dropped_frames
            assert accounted == len(sent)
            assert last is not None and last.frame_id == sent[-1]

    asyncio.run(main())
