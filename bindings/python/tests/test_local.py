"""EmotionClient.local(): the embedded model in-process, on the committed face photos."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import FACES, photo
from emotion_client import EMOTIONS, Detection, EmotionClient, FaceBounds

HAPPY = ["astronaut.jpg", "smiling_woman.jpg"]


@pytest.fixture(scope="module")
def client() -> EmotionClient:
    return EmotionClient.local(cache_entries=0)


def box(name: str) -> dict:
    return photo(name)["faces"][0]


def assert_valid(result: Detection) -> None:
    assert list(result.scores) == EMOTIONS
    assert math.isclose(sum(result.scores.values()), 1.0, abs_tol=1e-4)
    assert result.emotion == max(result.scores, key=result.scores.__getitem__)
    assert result.confidence == pytest.approx(result.scores[result.emotion])


@pytest.mark.parametrize("name", HAPPY)
def test_a_smiling_face_is_happy(client: EmotionClient, name: str) -> None:
    result = client.detect_sync(FACES / name, face_bounds=box(name))
    assert_valid(result)
    assert result.emotion == "happy", result
    assert result.confidence > 0.5
    assert result.face_detected
    assert result.model_used.startswith("local/")
    assert result.face_bounds is not None
    assert tuple(result.face_bounds)[2] > 0


def test_every_input_type_gives_the_same_answer(client: EmotionClient) -> None:
    path = FACES / "astronaut.jpg"
    face = box("astronaut.jpg")
    image = Image.open(path).convert("RGB")
    rgb = np.asarray(image)
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    frames = {
        "path": (path, "rgb"),
        "str path": (str(path), "rgb"),
        "bytes": (path.read_bytes(), "rgb"),
        "numpy rgb": (rgb, "rgb"),
        "numpy bgr": (bgr, "bgr"),
        "numpy rgba": (rgba, "rgb"),
        "numpy rgb view (not contiguous)": (np.dstack([rgb, rgb])[:, :, :3], "rgb"),
        "PIL": (image, "rgb"),
    }
    results = {
        kind: client.detect_sync(frame, face_bounds=face, channel_order=order)
        for kind, (frame, order) in frames.items()
    }
    for kind, result in results.items():
        assert_valid(result)
        assert result.emotion == "happy", (kind, result)
    # Pixels of the same picture score alike, whatever the layout they come in.
    reference = results["numpy rgb"].scores
    for kind in ["numpy bgr", "numpy rgba", "PIL", "numpy rgb view (not contiguous)"]:
        for emotion in EMOTIONS:
            assert results[kind].scores[emotion] == pytest.approx(reference[emotion], abs=1e-5), kind


def test_a_box_in_a_big_frame_is_reported_in_that_frame(client: EmotionClient) -> None:
    rgb = np.asarray(Image.open(FACES / "astronaut.jpg").convert("RGB"))
    big = np.zeros((1080, 1920, 3), np.uint8)
    big[300:812, 700:1212] = rgb
    face = box("astronaut.jpg")
    moved = {**face, "x": face["x"] + 700, "y": face["y"] + 300}
    result = client.detect_sync(big, face_bounds=moved)
    assert result.emotion == "happy"
    bounds = result.face_bounds
    assert isinstance(bounds, FaceBounds)
    assert (bounds.x, bounds.y) == (moved["x"], moved["y"])


def test_async_detect_and_batch(client: EmotionClient) -> None:
    async def main() -> None:
        one = await client.detect(FACES / "smiling_woman.jpg", face_bounds=box("smiling_woman.jpg"))
        assert one.emotion == "happy"
        frames = [FACES / n for n in HAPPY] + [b"not an image"]
        results = await client.detect_batch(frames, face_bounds=[box(n) for n in HAPPY] + [None])
        assert [r.emotion for r in results[:2]] == ["happy", "happy"]  # type: ignore[union-attr]
        assert isinstance(results[2], Exception)

    asyncio.run(main())


def test_results_read_well(client: EmotionClient) -> None:
    result = client.detect_sync(FACES / "astronaut.jpg", face_bounds=box("astronaut.jpg"))
    text = repr(result)
    assert "happy" in text and "Detection" in text
    as_dict = result.to_dict()
    assert as_dict["emotion"] == "happy"
    assert set(as_dict["all_scores"]) == set(EMOTIONS)
    assert as_dict["face_bounds"] == result.face_bounds.to_dict()  # type: ignore[union-attr]


def test_a_local_stream_smooths_and_accounts_for_every_frame(client: EmotionClient) -> None:
    path = Path(FACES / "astronaut.jpg")
    data = path.read_bytes()
    face = box("astronaut.jpg")

    async def main() -> None:
        async with client.stream(smoothing=0.5) as stream:
            ids = [await stream.send(data, face_bounds=face) for _ in range(20)]
            assert ids == sorted(ids) and len(set(ids)) == 20
            accounted = 0
            results = []
            while accounted < 20:
                result = await asyncio.wait_for(stream.recv(), 10)
                assert result is not None
                results.append(result)
                accounted += 1 + result.dropped_frames
            assert accounted == 20
            assert results[-1].frame_id == ids[-1]
            assert all(r.emotion == "happy" for r in results)

    asyncio.run(main())
