#!/usr/bin/env python3
"""Check the committed ONNX without TensorFlow (conversion environment, requirements.txt).

    python evaluate_onnx.py ../emotion_mini_xception.onnx [--dev-root DIR] [--reference ../reference]

1. Accuracy of the ONNX through onnxruntime on every fer2013-dev image with fer's
   preprocessing, two ways:
     resize:  the 48x48 image is the face crop -> cv2.resize to 64x64 -> normalise
     fer box: fer's whole crop path with the box (0,0,48,48): 40 px pad of the bottom
              2 rows' mean, +10 px each side, cv2.resize, normalise
2. The reference fixture: models/reference/keras_outputs.json's model_sha256 matches the
   file, and onnxruntime (and tract, if the `tract` Python package is installed) reproduce
   each Keras output within its tolerance.
3. tract (the Rust runtime's Python bindings, PyPI `tract`) vs onnxruntime on the
   fer2013-dev inputs, batch 1 as the engine runs it.
Exits 1 on any failure.
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fer_preprocess as fp  # noqa: E402
import fixtures as fx  # noqa: E402

try:
    import tract
except ImportError:  # optional
    tract = None


class Tract:
    def __init__(self, path):
        m = tract.onnx().load(path)
        m.set_input_fact(0, "1,1,64,64,f32")  # batch 1, as the engine runs it
        self.plan = m.into_model().into_runnable()
        self.version = tract.version()

    def run(self, x1):
        return self.plan.run([x1])[0].to_numpy()


def ort_run(sess, u8):
    return np.concatenate([sess.run(["scores"], {"input": fp.to_nchw(u8[i:i + 100])})[0]
                           for i in range(0, len(u8), 100)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("onnx")
    ap.add_argument("--dev-root", default=fx.DEV_DIR)
    ap.add_argument("--reference", default=os.path.join(fx.REPO, "models", "reference"))
    ap.add_argument("--report", default=None)
    ap.add_argument("--framing", action="store_true",
                    help="also: fer2013-dev accuracy with a margin padded around each 48x48 crop")
    args = ap.parse_args()

    sess = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
    i, o = sess.get_inputs()[0], sess.get_outputs()[0]
    print(f"onnxruntime {ort.__version__}: {i.name} {i.shape} {i.type} -> {o.name} {o.shape} {o.type}")
    tr = Tract(args.onnx) if tract is not None else None
    print(f"tract: {'python bindings ' + tr.version if tr else 'not installed, skipped'}")
    report = {"onnxruntime": ort.__version__, "tract": tr.version if tr else None}
    ok = True

    if os.path.isdir(args.dev_root):
        report["fer2013_dev"] = {}
        for mode in ("resize", "fer-box"):
            items = fx.dev_inputs(args.dev_root, None, mode)
            u8 = np.stack([it[2] for it in items])
            lab = np.array([it[3] for it in items])
            s = ort_run(sess, u8)
            pred = s.argmax(1)
            acc = float((pred == lab).mean())
            per = {c: float((pred[lab == k] == k).mean()) for k, c in enumerate(fp.CLASS_ORDER)}
            r = {"images": int(len(u8)), "accuracy": acc, "per_class": per}
            print(f"fer2013-dev ({mode}): onnxruntime accuracy {acc:.4f} on {len(u8)} images; "
                  + " ".join(f"{c} {v:.2f}" for c, v in per.items()))
            if tr and mode == "resize":
                t = np.stack([tr.run(fp.to_nchw(u8[k:k + 1]))[0] for k in range(len(u8))])
                d = float(np.abs(t.astype(np.float64) - s).max())
                agree = int((t.argmax(1) == pred).sum())
                print(f"  tract vs onnxruntime: max abs diff {d:.3e}, argmax agree {agree}/{len(u8)}")
                r["tract_vs_onnxruntime_max_abs_diff"] = d
                r["tract_argmax_agree"] = agree
                ok &= d <= 1e-4
            report["fer2013_dev"][mode] = r
    else:
        print(f"(no fer2013-dev at {args.dev_root})")

    if args.framing and os.path.isdir(args.dev_root):
        import cv2
        items = fp.fer2013_dev(args.dev_root)
        grays = [fp.read_gray(p) for p, _ in items]
        lab = np.array([l for _, l in items])

        def acc(u8s):
            return float((ort_run(sess, np.stack(u8s)).argmax(1) == lab).mean())

        report["framing"] = {}
        for m in (1, 2, 3, 5, 10):
            const = [cv2.resize(cv2.copyMakeBorder(g, m, m, m, m, cv2.BORDER_CONSTANT,
                                                   value=[float(np.rint(g[-2:].mean()))] * 3), fp.TARGET)
                     for g in grays]
            edge = [cv2.resize(cv2.copyMakeBorder(g, m, m, m, m, cv2.BORDER_REPLICATE), fp.TARGET)
                    for g in grays]
            a_c, a_e = acc(const), acc(edge)
            report["framing"][f"pad{m}"] = {"const_mean": a_c, "edge": a_e}
            print(f"framing: {m:2d} px margin: constant bottom-rows-mean pad {a_c:.3f}, edge-replicate {a_e:.3f}")
        for m in (2, 4):
            a = acc([cv2.resize(g[m:-m, m:-m], fp.TARGET) for g in grays])
            report["framing"][f"inset{m}"] = a
            print(f"framing: cropped {m} px inside: {a:.3f}")

    # The integer re-implementations of fer's OpenCV steps (for porting) vs OpenCV itself.
    n_same = n_all = 0
    cases = []
    if os.path.isdir(args.dev_root):
        for path, _ in fp.fer2013_dev(args.dev_root):
            g = fp.read_gray(path)
            cases.append((g, (0, 0, g.shape[1], g.shape[0])))
    if os.path.exists(os.path.join(fx.FACES_DIR, "faces.json")):
        for _n, path, box, _e in fx.load_faces_json():
            cases.append((fp.read_gray(path), box))
            bgr = __import__("cv2").imread(path)
            n_all += 1
            n_same += np.array_equal(fp.gray_u8_exact(bgr), fp.to_gray(bgr))
    for g, box in cases:
        n_all += 2
        n_same += np.array_equal(fp.resize_linear_u8_exact(g), fp.resize_u8(g))
        n_same += np.array_equal(fp.fer_face_u8_exact(g, box), fp.fer_face_u8(g, box))
    print(f"integer re-implementation of fer's OpenCV steps == OpenCV: {n_same}/{n_all}")
    report["exact_preprocess"] = {"checks": n_all, "identical": int(n_same)}
    ok &= n_same == n_all

    ref_json = os.path.join(args.reference, "keras_outputs.json")
    if os.path.exists(ref_json):
        with open(ref_json) as f:
            ref = json.load(f)
        with open(args.onnx, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        sha_ok = sha == ref["model_sha256"]
        ok &= sha_ok
        worst_o = worst_t = 0.0
        for case in ref["cases"]:
            u8 = np.array(Image.open(os.path.join(args.reference, case["input"])))
            assert u8.dtype == np.uint8 and u8.shape == (64, 64), (case["input"], u8.dtype, u8.shape)
            k = np.array(case["keras"], dtype=np.float64)
            so = sess.run(["scores"], {"input": fp.to_nchw(u8[None])})[0][0]
            worst_o = max(worst_o, float(np.abs(so - k).max()))
            if tr:
                st = tr.run(fp.to_nchw(u8[None]))[0]
                worst_t = max(worst_t, float(np.abs(st - k).max()))
        tol = ref["tolerance"]
        print(f"reference ({len(ref['cases'])} cases): model_sha256 {'matches' if sha_ok else 'DIFFERS'}; "
              f"max |onnxruntime - keras| {worst_o:.3e}"
              + (f", max |tract - keras| {worst_t:.3e}" if tr else "") + f" (tolerance {tol})")
        report["reference"] = {"cases": len(ref["cases"]), "sha_ok": sha_ok,
                               "onnxruntime_max_abs_diff": worst_o,
                               "tract_max_abs_diff": worst_t if tr else None}
        ok &= worst_o <= tol and (worst_t <= tol if tr else True)
    else:
        print(f"(no {ref_json})")

    report["pass"] = bool(ok)
    print("PASS" if ok else "FAIL")
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
