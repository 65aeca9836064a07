"""Real face inputs shared by the verification scripts.

- fer2013-dev: <root>/<label>/*.png, 48x48 gray FER2013 images (read by path only;
  never copied into the repo).
- The repo's fixture photos: tests/fixtures/faces/faces.json (photos with face
  boxes) and tests/fixtures/faces/crops/*_48.png (48x48 gray crops).

Each input is returned as (name, source, uint8 64x64 model input, label or None).
"""

import json
import os

import numpy as np

import fer_preprocess as fp

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
FACES_DIR = os.path.join(REPO, "tests", "fixtures", "faces")
DEV_DIR = os.path.abspath(os.path.join(REPO, "..", "shared", "data", "fer2013-dev"))


def _box(v):
    if isinstance(v, dict):
        if all(k in v for k in ("x", "y", "w", "h")):
            return [int(v[k]) for k in ("x", "y", "w", "h")]
        if all(k in v for k in ("x", "y", "width", "height")):
            return [int(v[k]) for k in ("x", "y", "width", "height")]
        raise ValueError(f"unknown box format {v!r}")
    return [int(t) for t in v]


def load_faces_json(faces_dir=FACES_DIR):
    """Return [(name, photo_path, [x, y, w, h]), ...] from faces.json."""
    path = os.path.join(faces_dir, "faces.json")
    with open(path) as f:
        doc = json.load(f)
    entries = doc
    if isinstance(doc, dict):
        for key in ("photos", "faces", "images", "cases"):
            if key in doc:
                entries = doc[key]
                break
    out = []
    for e in entries:
        fname = next(e[k] for k in ("file", "path", "image", "photo", "filename") if k in e)
        boxes = None
        for k in ("box", "bbox", "face", "face_box", "boxes", "faces"):
            if k in e:
                boxes = e[k]
                break
        if boxes is None:
            continue
        if isinstance(boxes, dict) or (boxes and not isinstance(boxes[0], (list, dict))):
            boxes = [boxes]
        stem = os.path.splitext(os.path.basename(fname))[0]
        for i, b in enumerate(boxes):
            if isinstance(b, dict) and "box" in b:
                b = b["box"]
            name = stem if len(boxes) == 1 else f"{stem}_{i}"
            out.append((name, os.path.join(faces_dir, fname), _box(b)))
    return out


def fixture_photo_inputs(faces_dir=FACES_DIR):
    """fer's crop rule (tosquare, +10 px, 40 px pad) on the fixture photos."""
    res = []
    for name, path, box in load_faces_json(faces_dir):
        gray = fp.read_gray(path)
        res.append((name, "fixture-photo", fp.fer_face_u8(gray, box), None, path, box))
    return res


def fixture_crop_inputs(faces_dir=FACES_DIR):
    """The committed 48x48 gray crops, resized to 64x64 with fer's resize."""
    d = os.path.join(faces_dir, "crops")
    res = []
    if not os.path.isdir(d):
        return res
    for n in sorted(os.listdir(d)):
        if n.endswith("_48.png"):
            gray = fp.read_gray(os.path.join(d, n))
            res.append((n[:-len(".png")], "fixture-crop", fp.resize_u8(gray), None,
                        os.path.join(d, n), None))
    return res


def synthetic_inputs():
    const = np.full((64, 64), 128, np.uint8)
    yy, xx = np.mgrid[0:64, 0:64]
    grad = ((3 * xx + yy) * 255 // 252).astype(np.uint8)  # diagonal ramp 0..255
    return [("synthetic_const128", "synthetic", const, None, None, None),
            ("synthetic_gradient", "synthetic", grad, None, None, None)]


def dev_inputs(root=DEV_DIR, per_class=None, mode="resize"):
    """fer2013-dev images. mode 'resize': the 48x48 image is the face crop, resized to
    64x64 (fer's cv2.resize). mode 'fer-box': fer's full path with the box (0, 0, 48, 48)
    (40 px pad of the bottom-rows mean, +10 px offsets, resize)."""
    res = []
    for path, label in fp.fer2013_dev(root, per_class):
        gray = fp.read_gray(path)
        if mode == "resize":
            u8 = fp.resize_u8(gray)
        elif mode == "fer-box":
            u8 = fp.fer_face_u8(gray, (0, 0, gray.shape[1], gray.shape[0]))
        else:
            raise ValueError(mode)
        rel = os.path.relpath(path, root)
        res.append((rel, "fer2013-dev", u8, label, path, None))
    return res
