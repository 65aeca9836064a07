"""Real face inputs shared by the verification scripts.

- fer2013-dev: <root>/<label>/*.png, 48x48 gray FER2013 images (read by path only;
  never copied into the repo).
- The repo's fixture photos: tests/fixtures/faces/faces.json (photos with face
  boxes) and tests/fixtures/faces/crops/*_48.png (48x48 gray crops).

Each input is returned as (name, source, uint8 64x64 model input, label, path, box):
label is a class index for fer2013-dev, the human "expression" judgement (a class
name or None) for the fixtures, None for synthetic inputs.
"""

import json
import os

import numpy as np

import fer_preprocess as fp

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
FACES_DIR = os.path.join(REPO, "tests", "fixtures", "faces")
DEV_DIR = os.path.abspath(os.path.join(REPO, "..", "shared", "data", "fer2013-dev"))


def _faces_doc(faces_dir=FACES_DIR):
    with open(os.path.join(faces_dir, "faces.json")) as f:
        return json.load(f)


def load_faces_json(faces_dir=FACES_DIR):
    """[(name, photo_path, [x, y, w, h], expression or None), ...] from faces.json's
    "photos": one entry per face; a photo with several faces gives <stem>_<i>."""
    out = []
    for photo in _faces_doc(faces_dir)["photos"]:
        stem = os.path.splitext(os.path.basename(photo["file"]))[0]
        faces = photo["faces"]
        for i, face in enumerate(faces):
            box = [int(face[k]) for k in ("x", "y", "width", "height")]
            expr = face.get("expression", photo.get("expression") if len(faces) == 1 else None)
            name = stem if len(faces) == 1 else f"{stem}_{i}"
            out.append((name, os.path.join(faces_dir, photo["file"]), box, expr))
    return out


def fixture_photo_inputs(faces_dir=FACES_DIR):
    """fer's crop rule (tosquare, +10 px, 40 px pad) on the fixture photos' boxes."""
    res = []
    for name, path, box, expr in load_faces_json(faces_dir):
        gray = fp.read_gray(path)
        res.append((name, "fixture-photo", fp.fer_face_u8(gray, box), expr, path, box))
    return res


def fixture_crop_inputs(faces_dir=FACES_DIR):
    """faces.json's "crops" (48x48 gray PNGs), resized to 64x64 with fer's resize."""
    res = []
    for crop in _faces_doc(faces_dir).get("crops", []):
        path = os.path.join(faces_dir, crop["file"])
        name = os.path.splitext(os.path.basename(crop["file"]))[0]
        gray = fp.read_gray(path)
        res.append((name, "fixture-crop", fp.resize_u8(gray), crop.get("expression"), path, None))
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
