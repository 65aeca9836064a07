"""Synthetic scenes for the stream tests: real faces cut from the committed photos, placed at
known places on a grey background, frame after frame (as core/tests/support/scene.rs does)."""

from __future__ import annotations

import io
from typing import List, Sequence, Tuple

from PIL import Image

from conftest import FACES, photo


def face_cut(name: str, margin: float) -> Image.Image:
    """The photo's face with ``margin`` of its width and height around it, as RGB."""
    image = Image.open(FACES / name).convert("RGB")
    face = photo(name)["faces"][0]
    fx, fy, fw, fh = (float(face[k]) for k in ("x", "y", "width", "height"))
    dx, dy = fw * margin, fh * margin
    x, y = int(max(fx - dx, 0.0)), int(max(fy - dy, 0.0))
    width = min(int(fw + 2 * dx), image.width - x)
    height = min(int(fh + 2 * dy), image.height - y)
    return image.crop((x, y, x + width, y + height))


def tile(name: str, margin: float, side: int) -> Image.Image:
    """The face cut scaled to ``side`` x ``side``."""
    return face_cut(name, margin).resize((side, side), Image.BILINEAR)


def compose(width: int, height: int, placed: Sequence[Tuple[Image.Image, int, int]]) -> bytes:
    """A grey (128) scene with each tile at its top-left corner, as a JPEG (quality 90)."""
    canvas = Image.new("RGB", (width, height), (128, 128, 128))
    for image, x, y in placed:
        canvas.paste(image, (x, y))
    out = io.BytesIO()
    canvas.save(out, format="JPEG", quality=90)
    return out.getvalue()


#: The walking sequence: frames of 640x480 with the astronaut's happy face walking right, 8 px a
#: frame from x=20 at y=100, and Grace Hopper's neutral one walking left from x=460 at y=140 for
#: the first 12 frames, then gone. Each frame: (JPEG, the x of the happy face, faces in it).
WALK_FRAMES = 28
WALK_BOTH = 12
TILE = 150


def walking_faces() -> List[Tuple[bytes, int, int]]:
    happy = tile("astronaut.jpg", 0.3, TILE)
    neutral = tile("grace_hopper.webp", 0.1, TILE)
    frames = []
    for i in range(WALK_FRAMES):
        placed = [(happy, 20 + 8 * i, 100)]
        if i < WALK_BOTH:
            placed.append((neutral, 460 - 8 * i, 140))
        frames.append((compose(640, 480, placed), 20 + 8 * i, len(placed)))
    return frames


#: One place in a 480x360 scene, as a camera sees someone change expression.
PLACE = {"x": 120, "y": 80, "width": 200, "height": 200}


def expressions_in_one_place() -> Tuple[bytes, bytes]:
    """The astronaut's happy face, then Grace Hopper's neutral one, each scaled into PLACE."""

    def frame(name: str) -> bytes:
        face = tile(name, 0.0, PLACE["width"])
        return compose(480, 360, [(face, PLACE["x"], PLACE["y"])])

    return frame("astronaut.jpg"), frame("grace_hopper.webp")
