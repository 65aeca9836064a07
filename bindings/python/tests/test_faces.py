"""Several faces and face tracks: the face detector in-process and in the real server, and the
tracks of streams over synthetic scenes made of the committed photos."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import pytest

from conftest import FACES, Server, photo
from emotion_client import BadRequestError, Detection, EmotionClient, FaceBounds
from scenes import PLACE, TILE, WALK_BOTH, WALK_FRAMES, expressions_in_one_place, walking_faces

GROUP = "group_of_four.jpg"


@pytest.fixture(scope="module")
def local() -> EmotionClient:
    return EmotionClient.local(cache_entries=0)


def iou(a: FaceBounds, b: Dict[str, Any]) -> float:
    ax1, ay1 = a.x + a.width, a.y + a.height
    bx1, by1 = b["x"] + b["width"], b["y"] + b["height"]
    w = max(0, min(ax1, bx1) - max(a.x, b["x"]))
    h = max(0, min(ay1, by1) - max(a.y, b["y"]))
    inter = w * h
    return inter / (a.width * a.height + b["width"] * b["height"] - inter)


def assert_the_group_is_found(result: Detection) -> None:
    """The four faces of the group photo, largest first, each on its hand-checked box."""
    assert result.face_detected, result
    faces = result.faces
    assert len(faces) == 4, faces
    areas = [f.face_bounds.width * f.face_bounds.height for f in faces if f.face_bounds]
    assert len(areas) == 4 and areas == sorted(areas, reverse=True), areas
    expected = photo(GROUP)["faces"]
    matched = set()
    for want in expected:
        best = max(range(4), key=lambda i: iou(faces[i].face_bounds, want))  # type: ignore[arg-type]
        assert iou(faces[best].face_bounds, want) >= 0.5, (want, faces)  # type: ignore[arg-type]
        matched.add(best)
    assert matched == {0, 1, 2, 3}, "each found face is a different one of the photo"
    for face in faces:
        assert face.detection_confidence is not None and face.detection_confidence > 0.5, face
        assert face.track_id is None and face.changed_from is None, face
    # The top level describes the largest face.
    assert result.face_bounds == faces[0].face_bounds
    assert result.emotion == faces[0].emotion
    assert result.detection_confidence == faces[0].detection_confidence
    assert result.tracks_ended == []
    as_dict = result.to_dict()
    assert len(as_dict["faces"]) == 4
    assert as_dict["faces"][0]["detection_confidence"] == faces[0].detection_confidence
    assert "track_id" not in as_dict["faces"][0]
    assert "detection_confidence=" in repr(result) and "faces=4" in repr(result)


def test_the_local_detector_finds_every_face_of_a_group(local: EmotionClient) -> None:
    assert_the_group_is_found(local.detect_sync(FACES / GROUP))


def test_the_server_finds_every_face_of_a_group(server: Server) -> None:
    client = EmotionClient(server.url)
    assert_the_group_is_found(client.detect_sync(FACES / GROUP))
    # The batch route answers with every face too.
    [batched] = client.detect_batch_sync([(FACES / GROUP).read_bytes()])
    assert not isinstance(batched, Exception)
    assert_the_group_is_found(batched)


def test_the_short_range_detector_and_max_faces(local: EmotionClient) -> None:
    everyone = local.detect_sync(FACES / GROUP)
    two = EmotionClient.local(cache_entries=0, max_faces=2).detect_sync(FACES / GROUP)
    assert [f.face_bounds for f in two.faces] == [f.face_bounds for f in everyone.faces[:2]]
    short = EmotionClient.local(cache_entries=0, face_detector="short")
    astronaut = photo("astronaut.jpg")
    result = short.detect_sync(astronaut["path"])
    assert result.face_detected and len(result.faces) == 1
    assert result.face_bounds is not None and iou(result.face_bounds, astronaut["faces"][0]) >= 0.5
    assert result.emotion == "happy"


def test_without_a_detector_the_whole_frame_is_the_face() -> None:
    off = EmotionClient.local(cache_entries=0, face_detector=None)
    result = off.detect_sync(FACES / GROUP)
    assert not result.face_detected
    assert len(result.faces) == 1
    assert result.face_bounds == FaceBounds(0, 0, 640, 512)
    assert result.detection_confidence is None


def test_a_frame_without_a_face_is_classified_whole(local: EmotionClient) -> None:
    blank = np.full((480, 640, 3), 128, np.uint8)
    result = local.detect_sync(blank)
    assert not result.face_detected
    assert len(result.faces) == 1
    assert result.face_bounds == FaceBounds(0, 0, 640, 480)
    assert result.detection_confidence is None


def test_faces_smaller_than_min_face_size_are_ignored() -> None:
    # The group's faces are 81 to 101 px.
    big_only = EmotionClient.local(cache_entries=0, min_face_size=120)
    result = big_only.detect_sync(FACES / GROUP)
    assert not result.face_detected
    assert len(result.faces) == 1 and result.detection_confidence is None


@pytest.mark.parametrize(
    "arguments, named",
    [
        ({"face_detector": "medium"}, "face_detector"),
        ({"face_detector": ""}, "face_detector"),
        ({"max_faces": 0}, "max_faces"),
        ({"max_faces": -3}, "max_faces"),
        ({"min_face_size": -1}, "min_face_size"),
    ],
)
def test_bad_detector_settings_are_refused_by_name(arguments: Dict[str, Any], named: str) -> None:
    with pytest.raises(BadRequestError, match=named) as caught:
        EmotionClient.local(**arguments)
    assert caught.value.code == "invalid_argument"
    with pytest.raises(BadRequestError, match=named):
        EmotionClient.huggingface(api_key="hf_unused", fallback_models=[], **arguments)


def test_track_timeout_is_checked_and_belongs_to_the_server_in_server_mode(
    local: EmotionClient, server: Server
) -> None:
    async def main() -> None:
        with pytest.raises(BadRequestError, match="track_timeout"):
            async with local.stream(track_timeout=0):
                pass
        with pytest.raises(BadRequestError, match="TRACK_TIMEOUT"):
            async with EmotionClient(server.url).stream(track_timeout=5):
                pass

    asyncio.run(main())


Seen = List[Tuple[int, List[int]]]


async def walk(client: EmotionClient, track_timeout: Optional[int]) -> Tuple[List[int], List[int], Seen]:
    """Sends the walking sequence one frame at a time (each result awaited, so none is dropped);
    returns the track ids of the happy and of the neutral face, and the tracks ended by frame."""
    happy_ids: List[int] = []
    neutral_ids: List[int] = []
    ended: Seen = []
    async with client.stream(smoothing=0.0, track_timeout=track_timeout) as stream:
        for i, (frame, happy_x, count) in enumerate(walking_faces()):
            sent = await stream.send(frame)
            result = await asyncio.wait_for(stream.recv(), 30)
            assert result is not None and result.frame_id == sent, (i, result)
            assert result.dropped_frames == 0
            assert result.face_detected, (i, result)
            assert len(result.faces) == count, (i, result.faces)
            for face in result.faces:
                assert face.face_bounds is not None and face.track_id is not None, (i, face)
                assert face.detection_confidence is not None
                # Nothing changes expression here: no face reports a change.
                assert face.changed_from is None, (i, face)
                centre = face.face_bounds.x + face.face_bounds.width // 2
                # The faces never cross: the walking face stays left of the other.
                if centre < happy_x + TILE:
                    assert face.emotion == "happy", (i, face)
                    happy_ids.append(face.track_id)
                else:
                    assert face.emotion == "neutral", (i, face)
                    neutral_ids.append(face.track_id)
            assert result.track_id == result.faces[0].track_id
            if result.tracks_ended:
                ended.append((i, result.tracks_ended))
                assert result.to_dict()["tracks_ended"] == result.tracks_ended
                assert "tracks_ended=" in repr(result)
    return happy_ids, neutral_ids, ended


def assert_tracks(happy: List[int], neutral: List[int], ended: Seen, timeout: int) -> None:
    assert len(happy) == WALK_FRAMES and set(happy) == {happy[0]}, happy
    assert len(neutral) == WALK_BOTH and set(neutral) == {neutral[0]}, neutral
    assert happy[0] != neutral[0]
    # Missing from frame 12 on, the timeout-th frame without it ends its track, once.
    assert ended == [(WALK_BOTH - 1 + timeout, [neutral[0]])], ended


def test_a_local_stream_follows_each_face_until_it_leaves(local: EmotionClient) -> None:
    happy, neutral, ended = asyncio.run(walk(local, track_timeout=5))
    assert_tracks(happy, neutral, ended, timeout=5)


def test_a_server_stream_follows_each_face_until_it_leaves(server: Server) -> None:
    # The server's TRACK_TIMEOUT is its default, 15 frames.
    happy, neutral, ended = asyncio.run(walk(EmotionClient(server.url), track_timeout=None))
    assert_tracks(happy, neutral, ended, timeout=15)


async def change_expression(client: EmotionClient) -> List[Detection]:
    happy, neutral = expressions_in_one_place()
    results = []
    async with client.stream(smoothing=0.0) as stream:
        for frame in [happy] * 3 + [neutral] * 3:
            await stream.send(frame, face_bounds=PLACE)
            result = await asyncio.wait_for(stream.recv(), 30)
            assert result is not None
            results.append(result)
    return results


def assert_one_change_on_the_first_neutral_frame(results: List[Detection]) -> None:
    assert [r.emotion for r in results] == ["happy"] * 3 + ["neutral"] * 3, results
    tracks = {f.track_id for r in results for f in r.faces}
    assert len(tracks) == 1 and None not in tracks, tracks
    changes = [(i, f.changed_from) for i, r in enumerate(results) for f in r.faces if f.changed_from]
    assert changes == [(3, "happy")], changes
    assert [r.changed_from for r in results] == [None] * 3 + ["happy", None, None]
    first_neutral = results[3]
    assert first_neutral.to_dict()["changed_from"] == "happy"
    assert first_neutral.faces[0].to_dict()["changed_from"] == "happy"
    assert 'changed_from="happy"' in repr(first_neutral.faces[0])
    assert "changed_from" not in results[4].to_dict()


def test_a_local_track_reports_its_change_of_expression(local: EmotionClient) -> None:
    assert_one_change_on_the_first_neutral_frame(asyncio.run(change_expression(local)))


def test_a_server_track_reports_its_change_of_expression(server: Server) -> None:
    results = asyncio.run(change_expression(EmotionClient(server.url)))
    assert_one_change_on_the_first_neutral_frame(results)
