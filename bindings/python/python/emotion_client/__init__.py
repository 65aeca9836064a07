"""Facial emotion detection for AI avatars, backed by the Rust engine.

    from emotion_client import EmotionClient
    client = EmotionClient.local()            # or EmotionClient("http://host:8000")
    result = client.detect_sync(frame)        # or: await client.detect(frame)
    result.emotion, result.confidence, result.scores
    for face in result.faces: ...             # every face found, the largest first
"""

from ._client import EmotionClient, Stream
from ._errors import (
    BackendError,
    BackendUnavailableError,
    BadRequestError,
    EmotionConnectionError,
    EmotionError,
    EmotionTimeoutError,
    InvalidImageError,
    RateLimitedError,
    UnauthorizedError,
)
from ._native import EMOTIONS, Detection, FaceBounds, FaceResult, __version__

__all__ = [
    "EMOTIONS",
    "BackendError",
    "BackendUnavailableError",
    "BadRequestError",
    "Detection",
    "EmotionClient",
    "EmotionConnectionError",
    "EmotionError",
    "EmotionTimeoutError",
    "FaceBounds",
    "FaceResult",
    "InvalidImageError",
    "RateLimitedError",
    "Stream",
    "UnauthorizedError",
    "__version__",
]
