"""PIL images as raw pixels for the native layer, without importing PIL unless one is given."""

from __future__ import annotations

import sys
from typing import Any, Tuple

_MODES = {"L", "RGB", "RGBA"}


def is_pil_image(frame: Any) -> bool:
    pil = sys.modules.get("PIL.Image")
    return pil is not None and isinstance(frame, pil.Image)


def pil_pixels(image: Any) -> Tuple[bytes, int, int, str]:
    """``(data, width, height, mode)`` of a PIL image, converted to L, RGB or RGBA if needed."""
    if image.mode not in _MODES:
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    width, height = image.size
    return image.tobytes(), width, height, image.mode
