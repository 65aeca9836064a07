"""Type aliases of the public API."""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence, Tuple, Union

#: A frame: a NumPy uint8 array (HxW, HxWx3 or HxWx4), encoded image bytes, a path, or a PIL image.
Frame = Union[Any, bytes, bytearray, str, "os.PathLike[str]"]

#: A face box: ``{"x", "y", "width", "height"}`` or ``(x, y, width, height)`` in pixels (or all in
#: [0, 1], relative to the image), a FaceBounds, or a sequence of them for several faces.
Box = Union[Mapping[str, float], Tuple[float, float, float, float], Any]
FaceBoundsLike = Union[Box, Sequence[Box]]
