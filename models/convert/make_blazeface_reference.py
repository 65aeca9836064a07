#!/usr/bin/env python3
"""Write models/reference/blazeface/: exact BlazeFace inputs and TFLite's outputs, for CI.

    python models/convert/make_blazeface_reference.py [NPM_PACKAGE_DIR] [--out DIR]

Environment: models/convert/requirements-blazeface.txt (TensorFlow). CI has no TensorFlow: a
test runs the committed ONNX models in tract on the committed inputs and compares with
`expected.json`. Written (deterministic, same bytes on every run):

  <model>_<photo>.f32   the model input, float32 little-endian, NHWC [1, S, S, 3], RGB,
                        x = p/127.5 - 1, the fixture photo letterboxed to S x S (Pillow
                        BILINEAR, centred, black border); S = 128 short, 192 full
  expected.json         per input: TFLite's 20 highest-scoring anchors (index, logit, sigmoid
                        score, anchor, the 16 raw regressor values), every anchor's logit, and
                        the detections after MediaPipe's decoding and weighted NMS at
                        MediaPipe's threshold, in input pixels and photo pixels
  mediapipe_graphs.json the face-detection subgraph configs decoded from the npm package
                        (blazeface_options.py), with the options in `options`
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import blazeface_common as bc  # noqa: E402
import blazeface_options as bo  # noqa: E402
from verify_blazeface import TFLite  # noqa: E402

CASES = {"short": ["astronaut.jpg", "group_of_four.jpg"],
         "full": ["grace_hopper.webp", "group_of_three.jpg"]}
TOP = 20
TOLERANCE = {
    "regressors_abs": 2e-3, "logit_abs": 2e-3, "score_abs": 5e-4,
    "box_and_keypoint_input_px_abs": 5e-3,
    "note": "measured tract 0.23.9 (Python bindings) and onnxruntime 1.19.2 vs this file: "
            "top-20 regressors <= 2.1e-5, logits <= 5.5e-4, detection boxes and keypoints "
            "<= 1.2e-5 input px, scores <= 3e-7; the tolerances leave a margin for other CPUs",
}


def f(x) -> float:
    return float(np.float32(x))


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sha256_file(p: str) -> str:
    with open(p, "rb") as fh:
        return sha256_bytes(fh.read())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("pkg", nargs="?", default=bc.DEFAULT_PKG)
    ap.add_argument("--out", default=os.path.join(bc.MODELS, "reference", "blazeface"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    decoded = bo.read_options(args.pkg)
    bc.check_options(args.pkg)
    with open(os.path.join(args.out, "mediapipe_graphs.json"), "w") as fh:
        json.dump(decoded, fh, indent=1, sort_keys=True)
        fh.write("\n")

    faces = bc.fixture_faces()
    doc: dict = {
        "generated_by": "models/convert/make_blazeface_reference.py",
        "reference_runtime": f"tf.lite.Interpreter (tensorflow-cpu {tf.__version__}, default "
                             "XNNPACK delegate, 1 thread) on the original .tflite",
        "source_package": "npm @mediapipe/face_detection@0.4.1646425229",
        "input_encoding": "raw float32 little-endian, NHWC [1,S,S,3] row-major (y, x, rgb), "
                          "x = p/127.5 - 1; no header",
        "coordinates": "box = [xmin, ymin, width, height]; keypoints = 6 x [x, y] in the order "
                       + ", ".join(bc.KEYPOINTS) + " (subject's right/left); `*_input_px` in "
                       "pixels of the S x S model input, `*_photo_px` in pixels of the photo",
        "compare": "match anchors by index; all_logits covers every anchor; detections are "
                   "after decoding + score >= min_score_thresh + weighted NMS, in NMS order",
        "tolerance": TOLERANCE,
        "models": {},
    }
    for model, photos in CASES.items():
        o = bc.OPTIONS[model]
        side = o["input_size"]
        tfl = TFLite(os.path.join(args.pkg, o["tflite"]))
        anchors = bc.ssd_anchors(model)
        onnx_path = os.path.join(bc.MODELS, o["onnx"])
        m: dict = {
            "onnx": "models/" + o["onnx"], "onnx_sha256": sha256_file(onnx_path),
            "tflite": o["tflite"], "tflite_sha256": sha256_file(os.path.join(args.pkg,
                                                                             o["tflite"])),
            "input": {"name": "input", "shape": [1, side, side, 3], "layout": "NHWC",
                      "dtype": "float32"},
            "outputs": [{"name": "regressors", "shape": [1, o["decoder"]["num_boxes"], 16]},
                        {"name": "classificators", "shape": [1, o["decoder"]["num_boxes"], 1]}],
            "options": {k: o[k] for k in ("input_size", "anchors", "decoder", "nms")},
            "cases": [],
        }
        for photo in photos:
            x, tr = bc.input_for(photo, model)
            stem = f"{model}_{os.path.splitext(photo)[0]}"
            raw = x.astype("<f4").tobytes()
            with open(os.path.join(args.out, stem + ".f32"), "wb") as fh:
                fh.write(raw)
            reg, logit = tfl.run(x)
            reg2, logit2 = tfl.run(x)
            assert np.array_equal(reg, reg2) and np.array_equal(logit, logit2), "not repeatable"
            reg, logit = reg.reshape(-1, 16), logit.reshape(-1)
            scores = bc.sigmoid_scores(logit, model)
            order = sorted(range(len(logit)), key=lambda i: (-float(logit[i]), i))[:TOP + 1]
            top = [{"index": i, "logit": f(logit[i]), "score": f(scores[i]),
                    "anchor_xywh": [f(v) for v in anchors[i]],
                    "regressors": [f(v) for v in reg[i]]} for i in order[:TOP]]
            dets = bc.detections(reg, logit, model)
            dd = []
            for d in dets:
                ip, pp = bc.to_input_pixels(d, side), bc.to_photo_pixels(d, tr)
                dd.append({"anchor": d["anchor"], "score": d["score"],
                           "cluster_size": d["cluster_size"],
                           "box_input_px": ip["box"], "keypoints_input_px": ip["keypoints"],
                           "box_photo_px": pp["box"], "keypoints_photo_px": pp["keypoints"],
                           "best_iou_with_fixture_face": max(
                               bc.iou_xywh(fb, pp["box"]) for fb in faces[photo])})
            m["cases"].append({
                "name": stem, "input_file": stem + ".f32", "input_bytes": len(raw),
                "input_sha256": sha256_bytes(raw), "photo": "tests/fixtures/faces/" + photo,
                "letterbox": tr, "fixture_faces_xywh": faces[photo],
                "logit_of_rank_21": f(logit[order[TOP]]),
                "top_anchors": top,
                "all_logits": [f(v) for v in logit],
                "min_score_thresh": o["decoder"]["min_score_thresh"],
                "detections": dd,
            })
            print(f"{stem}: {len(raw)} bytes, {len(dd)} detections, top logit "
                  f"{top[0]['logit']:.3f} at anchor {top[0]['index']}, IoU with the fixture "
                  + ", ".join(f"{d['best_iou_with_fixture_face']:.2f}" for d in dd))
        doc["models"][model] = m
    with open(os.path.join(args.out, "expected.json"), "w") as fh:
        json.dump(doc, fh, indent=1, sort_keys=True)
        fh.write("\n")
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    print(f"{args.out}: {len(os.listdir(args.out))} files, {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
