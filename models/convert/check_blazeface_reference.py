#!/usr/bin/env python3
"""Check the BlazeFace ONNX models against models/reference/blazeface/ without TensorFlow.

    python models/convert/check_blazeface_reference.py [--ref DIR]

Needs numpy and onnxruntime; tract (PyPI `tract`, the Python bindings of the Rust runtime) is
used too when installed. This is what the Rust test does in tract: read each `.f32` input, run
the ONNX, compare the top-20 anchors (by index), every anchor's logit, and the detections after
decoding + weighted NMS (blazeface_common) with expected.json, within its `tolerance`.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

import blazeface_common as bc  # noqa: E402

try:
    import tract
except ImportError:  # optional
    tract = None


def runners(path: str) -> dict:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    out = {"onnxruntime": lambda x: sess.run(["regressors", "classificators"], {"input": x})}
    if tract is not None:
        plan = tract.onnx().load(path).into_model().into_runnable()

        def run_tract(x):
            r = plan.run([x])
            return [r[0].to_numpy(), r[1].to_numpy()]
        out["tract"] = run_tract
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--ref", default=os.path.join(bc.MODELS, "reference", "blazeface"))
    args = ap.parse_args()
    with open(os.path.join(args.ref, "expected.json")) as fh:
        doc = json.load(fh)
    tol = doc["tolerance"]
    ok = True
    for model, m in doc["models"].items():
        path = os.path.join(bc.REPO, m["onnx"])
        with open(path, "rb") as fh:
            sha = hashlib.sha256(fh.read()).hexdigest()
        if sha != m["onnx_sha256"]:
            print(f"{model}: {m['onnx']} sha256 {sha} != {m['onnx_sha256']} (reference is for "
                  "another conversion)")
            ok = False
        side = m["input"]["shape"][1]
        for who, run in runners(path).items():
            for case in m["cases"]:
                with open(os.path.join(args.ref, case["input_file"]), "rb") as fh:
                    x = np.frombuffer(fh.read(), "<f4").reshape(m["input"]["shape"])
                reg, logit = run(x)
                reg, logit = reg.reshape(-1, 16), logit.reshape(-1)
                d_reg = max(float(np.abs(reg[t["index"]] - np.array(t["regressors"])).max())
                            for t in case["top_anchors"])
                d_logit = float(np.abs(logit - np.array(case["all_logits"])).max())
                dets = bc.detections(reg, logit, model)
                exp = case["detections"]
                same_n = len(dets) == len(exp)
                d_box = d_score = 0.0
                if same_n:
                    for a, e in zip(dets, exp):
                        ip = bc.to_input_pixels(a, side)
                        d_box = max(d_box, float(np.abs(np.array(ip["box"])
                                                        - e["box_input_px"]).max()),
                                    float(np.abs(np.array(ip["keypoints"])
                                                 - e["keypoints_input_px"]).max()))
                        d_score = max(d_score, abs(a["score"] - e["score"]))
                good = (same_n and d_reg <= tol["regressors_abs"] and d_logit <= tol["logit_abs"]
                        and d_box <= tol["box_and_keypoint_input_px_abs"]
                        and d_score <= tol["score_abs"])
                ok &= good
                print(f"{who:11s} {case['name']:22s} top-20 regressors {d_reg:.2e}, logits "
                      f"{d_logit:.2e}, detections {len(dets)}/{len(exp)}, box/kp px {d_box:.2e}, "
                      f"score {d_score:.2e} -> {'OK' if good else 'FAIL'}")
    print("ALL OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
