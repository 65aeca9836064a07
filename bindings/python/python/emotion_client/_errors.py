"""The exceptions of emotion_client: one class per kind of failure, all under EmotionError."""

from __future__ import annotations

from typing import Optional

__all__ = [
    "EmotionError",
    "BadRequestError",
    "InvalidImageError",
    "UnauthorizedError",
    "RateLimitedError",
    "BackendError",
    "BackendUnavailableError",
    "EmotionConnectionError",
    "EmotionTimeoutError",
]


class EmotionError(Exception):
    """Any failure of the engine or the server.

    ``code`` is the stable snake_case code of the engine or the server (``invalid_image``,
    ``rate_limited``, ...), ``status`` the HTTP status in server mode, ``retry_after`` the
    seconds to wait when rate limited.
    """

    code: str
    status: Optional[int]
    retry_after: Optional[float]

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        status: Optional[int] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class BadRequestError(EmotionError, ValueError):
    """The request was wrong: a face box outside the image, an unknown model, a batch too large."""


class InvalidImageError(BadRequestError):
    """The frame could not be read: not an image, truncated, too large, an unsupported format."""


class UnauthorizedError(EmotionError):
    """The server's API key, or the Hugging Face token, was missing or refused."""


class RateLimitedError(EmotionError):
    """Too many requests; ``retry_after`` says how long to wait, when known."""


class BackendError(EmotionError):
    """The model failed to answer, or answered with something unusable."""


class BackendUnavailableError(BackendError):
    """Every model of the chain failed."""


class EmotionConnectionError(EmotionError, ConnectionError):
    """The server could not be reached, or the connection broke."""


class EmotionTimeoutError(EmotionError, TimeoutError):
    """The server or the model took too long."""
