"""Each exception class, from a real failing call."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator, Tuple

import pytest

from conftest import FACES, Server, photo
import emotion_client as ec
from emotion_client import EmotionClient


@pytest.fixture(scope="module")
def local() -> EmotionClient:
    return EmotionClient.local()


def test_not_an_image_is_invalid_image(local: EmotionClient) -> None:
    with pytest.raises(ec.InvalidImageError) as caught:
        local.detect_sync(b"this is not an image")
    assert caught.value.code == "invalid_image"
    assert isinstance(caught.value, ec.EmotionError)


def test_a_truncated_jpeg_is_invalid_image(local: EmotionClient) -> None:
    data = (FACES / "astronaut.jpg").read_bytes()
    with pytest.raises(ec.InvalidImageError):
        local.detect_sync(data[: len(data) // 2])


def test_a_box_outside_the_image_is_a_bad_request(local: EmotionClient) -> None:
    with pytest.raises(ec.BadRequestError) as caught:
        local.detect_sync(FACES / "astronaut.jpg", face_bounds={"x": 900, "y": 900, "width": 50, "height": 50})
    assert caught.value.code == "invalid_face_bounds"


def test_a_missing_file_says_which(local: EmotionClient) -> None:
    with pytest.raises(ec.EmotionError, match="no_such_face.jpg"):
        local.detect_sync(FACES / "no_such_face.jpg")


def test_a_wrong_array_shape_is_a_value_error(local: EmotionClient) -> None:
    np = pytest.importorskip("numpy")
    with pytest.raises(ValueError, match="channels"):
        local.detect_sync(np.zeros((64, 64, 5), np.uint8))
    with pytest.raises(TypeError):
        local.detect_sync(12345)  # type: ignore[arg-type]


def test_the_server_reports_its_errors_with_status_and_code(server: Server) -> None:
    client = EmotionClient(server.url)
    with pytest.raises(ec.InvalidImageError) as caught:
        client.detect_sync(b"not an image at all")
    assert caught.value.status == 400 and caught.value.code == "invalid_image"
    with pytest.raises(ec.BadRequestError) as outside:
        client.detect_sync(FACES / "astronaut.jpg", face_bounds={"x": 5000, "y": 5000, "width": 10, "height": 10})
    assert outside.value.status == 422


def test_a_server_with_api_keys_refuses_a_client_without_one() -> None:
    server = Server(API_KEYS="sesame")
    try:
        with pytest.raises(ec.UnauthorizedError) as caught:
            EmotionClient(server.url).detect_sync(FACES / "astronaut.jpg")
        assert caught.value.status == 401
        good = EmotionClient(server.url, api_key="sesame").detect_sync(
            FACES / "astronaut.jpg", face_bounds=photo("astronaut.jpg")["faces"][0]
        )
        assert good.emotion == "happy"
    finally:
        server.stop()


def test_rate_limited_says_when_to_retry() -> None:
    server = Server(RATE_LIMIT_REQUESTS="2")
    try:
        client = EmotionClient(server.url)
        data = (FACES / "astronaut.jpg").read_bytes()
        with pytest.raises(ec.RateLimitedError) as caught:
            for _ in range(10):
                client.detect_sync(data)
        assert caught.value.status == 429
        assert caught.value.retry_after is not None and caught.value.retry_after > 0
    finally:
        server.stop()


def test_nobody_listening_is_a_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ec.EmotionConnectionError) as caught:
        EmotionClient(f"http://127.0.0.1:{port}").detect_sync(FACES / "astronaut.jpg")
    assert isinstance(caught.value, ConnectionError)


def test_a_server_that_never_answers_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        port = listener.getsockname()[1]
        client = EmotionClient(f"http://127.0.0.1:{port}", timeout=0.5)
        with pytest.raises(ec.EmotionTimeoutError) as caught:
            client.detect_sync(FACES / "astronaut.jpg")
        assert isinstance(caught.value, TimeoutError)
    finally:
        listener.close()


@pytest.fixture()
def hugging_face() -> Iterator[Tuple[str, dict]]:
    """A stand-in of the Inference API on loopback; `answers[model] = (status, body)`."""
    answers: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server API)
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            model = self.path.split("/models/", 1)[1]
            status, body = answers.get(model, (404, "Not Found"))
            payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/models", answers
    httpd.shutdown()


def hf(base: str, fallback_models: Tuple[str, ...] = (), timeout: float = 10.0) -> EmotionClient:
    return EmotionClient.huggingface(
        api_key="hf_test",
        model="a/model",
        fallback_models=fallback_models,
        base_url=base,
        fallback_local=False,
        timeout=timeout,
    )


def test_hugging_face_answers_through_the_label_map(hugging_face: Tuple[str, dict]) -> None:
    base, answers = hugging_face
    answers["a/model"] = (200, [{"label": "anger", "score": 0.1}, {"label": "happiness", "score": 0.9}])
    result = hf(base).detect_sync(FACES / "astronaut.jpg", face_bounds=photo("astronaut.jpg")["faces"][0])
    assert result.emotion == "happy"
    assert result.model_used == "a/model"
    assert result.scores["angry"] == pytest.approx(0.1, abs=1e-4)


def test_a_refused_token_is_unauthorized(hugging_face: Tuple[str, dict]) -> None:
    base, answers = hugging_face
    answers["a/model"] = (401, {"error": "Invalid credentials in Authorization header"})
    with pytest.raises(ec.UnauthorizedError):
        hf(base).detect_sync(FACES / "astronaut.jpg")


def test_one_model_failing_is_a_backend_error(hugging_face: Tuple[str, dict]) -> None:
    base, answers = hugging_face
    answers["a/model"] = (500, {"error": "internal"})
    with pytest.raises(ec.BackendError, match="a/model"):
        hf(base, timeout=2.0).detect_sync(FACES / "astronaut.jpg")


def test_every_model_of_a_chain_failing_is_backend_unavailable(hugging_face: Tuple[str, dict]) -> None:
    base, answers = hugging_face
    answers["a/model"] = (500, {"error": "internal"})
    answers["b/model"] = (410, {"error": "gone"})
    with pytest.raises(ec.BackendUnavailableError) as caught:
        hf(base, fallback_models=("b/model",), timeout=2.0).detect_sync(FACES / "astronaut.jpg")
    assert isinstance(caught.value, ec.BackendError)
    assert caught.value.code == "backend_unavailable"


def test_an_unknown_label_set_is_a_backend_error(hugging_face: Tuple[str, dict]) -> None:
    base, answers = hugging_face
    answers["a/model"] = (200, [{"label": "cat", "score": 0.7}, {"label": "dog", "score": 0.3}])
    with pytest.raises(ec.BackendError, match="cat"):
        hf(base).detect_sync(FACES / "astronaut.jpg")


def test_hugging_face_without_a_token_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_API_KEY", raising=False)
    with pytest.raises(ec.UnauthorizedError, match="HF_API_KEY"):
        EmotionClient.huggingface()
