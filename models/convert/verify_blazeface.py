#!/usr/bin/env python3
"""TFLite (tf.lite.Interpreter) vs onnxruntime (and tract, if installed) on BlazeFace.

    python models/convert/verify_blazeface.py [NPM_PACKAGE_DIR] [--report OUT.json]

Environment: models/convert/requirements-blazeface.txt. For both models (short range 128x128,
full range 192x192) and the five fixture photos of tests/fixtures/faces/ (letterboxed to the
model input, RGB, x = p/127.5 - 1), plus two synthetic inputs:
  - max abs diff of the raw outputs (regressors, classificator logits), of sigmoid(scores),
    and of the decoded boxes and keypoints (normalised to the input, over the anchors with
    score >= 0.1 in TFLite);
  - MediaPipe's decoding (SSD anchors, TensorsToDetections, weighted NMS) on both outputs:
    faces found after NMS at score 0.5 (and at MediaPipe's own threshold, 0.5 short / 0.6
    full), and the IoU of each faces.json box with its best detection (pass: >= 0.5);
  - the full-range model MediaPipe's web solution really loads
    (`face_detection_full_range_sparse.tflite`) vs the dense one converted here;
  - onnxruntime (and tract) time per inference on one thread.
It also checks that blazeface_common.OPTIONS equals what the package's wasm holds.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import tensorflow as tf  # noqa: E402

import blazeface_common as bc  # noqa: E402

try:
    import tract
except ImportError:  # optional
    tract = None

TOL = 1e-3


class TFLite:
    def __init__(self, path: str):
        self.it = tf.lite.Interpreter(model_path=path, num_threads=1)
        self.it.allocate_tensors()
        self.inp = self.it.get_input_details()[0]["index"]
        # regressors (last dim 16) first, then classificators (last dim 1)
        det = sorted(self.it.get_output_details(), key=lambda d: -int(d["shape"][-1]))
        self.outs = [d["index"] for d in det]
        self.names = [d["name"] for d in det]

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        self.it.set_tensor(self.inp, x)
        self.it.invoke()
        return [self.it.get_tensor(i).copy() for i in self.outs]


class Onnx:
    def __init__(self, path: str, threads: int = 1):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        return self.sess.run(["regressors", "classificators"], {"input": x})


class Tract:
    def __init__(self, path: str):
        self.plan = tract.onnx().load(path).into_model().into_runnable()

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        r = self.plan.run([x])
        return [r[0].to_numpy(), r[1].to_numpy()]


def diffs(model: str, a: list[np.ndarray], b: list[np.ndarray]) -> dict:
    anchors = bc.ssd_anchors(model)
    sa, sb = bc.sigmoid_scores(a[1], model), bc.sigmoid_scores(b[1], model)
    keep = sa.reshape(-1) >= 0.1
    da = bc.decode_boxes(a[0], anchors, model)[keep]
    db = bc.decode_boxes(b[0], anchors, model)[keep]
    return {
        "regressors": float(np.abs(a[0] - b[0]).max()),
        "logits": float(np.abs(a[1] - b[1]).max()),
        "sigmoid_scores": float(np.abs(sa - sb).max()),
        "decoded_boxes_norm": float(np.abs(da[:, :4] - db[:, :4]).max()) if keep.any() else 0.0,
        "decoded_keypoints_norm": float(np.abs(da[:, 4:] - db[:, 4:]).max()) if keep.any()
        else 0.0,
        "anchors_score_ge_0.1": int(keep.sum()),
    }


def match(dets_px: list[dict], faces: list[list[float]]) -> list[float]:
    return [max([bc.iou_xywh(f, d["box"]) for d in dets_px], default=0.0) for f in faces]


def inside(dets_px: list[dict], faces: list[list[float]]) -> list[float]:
    """For each fixture face, the share of its best-IoU detection's area inside the face box."""
    out = []
    for f in faces:
        best = max(dets_px, key=lambda d: bc.iou_xywh(f, d["box"]), default=None)
        if best is None or bc.iou_xywh(f, best["box"]) == 0:
            out.append(0.0)
            continue
        b = best["box"]
        iw = max(0.0, min(f[0] + f[2], b[0] + b[2]) - max(f[0], b[0]))
        ih = max(0.0, min(f[1] + f[3], b[1] + b[3]) - max(f[1], b[1]))
        out.append(iw * ih / (b[2] * b[3]))
    return out


def bench(fn, x, n: int) -> float:
    for _ in range(10):
        fn(x)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("pkg", nargs="?", default=bc.DEFAULT_PKG)
    ap.add_argument("--models", default=bc.MODELS, help="dir holding the .onnx")
    ap.add_argument("--report", help="write the figures as JSON")
    ap.add_argument("--bench-runs", type=int, default=200)
    args = ap.parse_args()

    bc.check_options(args.pkg)
    print("options: blazeface_common.OPTIONS match the package's wasm graphs")
    faces = bc.fixture_faces()
    rng = np.random.default_rng(0)
    report: dict = {"tensorflow": tf.__version__, "onnxruntime": ort.__version__,
                    "tract": tract.version() if tract else None, "models": {}}
    ok = True
    for model in ("short", "full"):
        o = bc.OPTIONS[model]
        side = o["input_size"]
        tfl = TFLite(os.path.join(args.pkg, o["tflite"]))
        onx = Onnx(os.path.join(args.models, o["onnx"]))
        trc = Tract(os.path.join(args.models, o["onnx"])) if tract else None
        print(f"\n== {model} range: {o['onnx']} vs {o['tflite']} (TFLite outputs {tfl.names})")
        rep: dict = {"cases": {}}
        worst: dict = {}
        worst_t: dict = {}
        inputs = [(p, *bc.input_for(p, model)) for p in bc.PHOTOS]
        inputs.append(("synthetic_uniform", rng.uniform(-1, 1, (1, side, side, 3))
                       .astype(np.float32), None))
        inputs.append(("synthetic_zero", np.zeros((1, side, side, 3), np.float32), None))
        for name, x, tr in inputs:
            a, b = tfl.run(x), onx.run(x)
            assert a[0].shape == b[0].shape == (1, o["decoder"]["num_boxes"], 16)
            assert a[1].shape == b[1].shape == (1, o["decoder"]["num_boxes"], 1)
            d = diffs(model, a, b)
            for k, v in d.items():
                worst[k] = max(worst.get(k, 0), v)
            case = {"onnxruntime_vs_tflite": d}
            if trc:
                dt = diffs(model, a, trc.run(x))
                case["tract_vs_tflite"] = dt
                for k, v in dt.items():
                    worst_t[k] = max(worst_t.get(k, 0), v)
            line = (f"{name:20s} max|diff| regressors {d['regressors']:.2e} logits "
                    f"{d['logits']:.2e} sigmoid {d['sigmoid_scores']:.2e} boxes "
                    f"{d['decoded_boxes_norm']:.2e} kps {d['decoded_keypoints_norm']:.2e}")
            if tr is not None:
                res = {}
                for who, out in (("tflite", a), ("onnx", b)):
                    r = {}
                    for thr in sorted({0.5, o["decoder"]["min_score_thresh"]}):
                        dets = bc.detections(out[0], out[1], model, min_score=thr)
                        px = [bc.to_photo_pixels(dd, tr) for dd in dets]
                        r[f"faces_at_{thr}"] = len(dets)
                        r[f"iou_per_face_at_{thr}"] = [round(v, 3) for v in match(px, faces[name])]
                        r[f"share_inside_face_box_at_{thr}"] = [round(v, 3) for v in
                                                                inside(px, faces[name])]
                        r[f"scores_at_{thr}"] = [round(dd["score"], 4) for dd in dets]
                        if thr == 0.5:
                            r["boxes_px_at_0.5"] = [[round(v, 1) for v in p["box"]] for p in px]
                    res[who] = r
                case["detections"] = res
                ious = res["onnx"]["iou_per_face_at_0.5"]
                line += (f" | faces@0.5 tflite {res['tflite']['faces_at_0.5']} onnx "
                         f"{res['onnx']['faces_at_0.5']} (fixture {len(faces[name])}), IoU "
                         f"{ious}")
                if model == "full":
                    t6 = res["onnx"]["faces_at_0.6"]
                    line += f", faces@0.6 {t6}"
            print(line)
            rep["cases"][name] = case
        rep["max_abs_diff_onnxruntime_vs_tflite"] = worst
        if trc:
            rep["max_abs_diff_tract_vs_tflite"] = worst_t
        good = worst["decoded_boxes_norm"] * side <= TOL and worst["sigmoid_scores"] <= TOL
        ok &= good
        print("worst onnxruntime vs TFLite: " + ", ".join(f"{k} {v:.2e}" for k, v in worst.items()
                                                          if "anchors" not in k)
              + f" -> {'OK' if good else 'FAIL'} (target {TOL}: boxes in input px, sigmoid scores)")
        if trc:
            print("worst tract vs TFLite:       " + ", ".join(
                f"{k} {v:.2e}" for k, v in worst_t.items() if "anchors" not in k))

        if model == "full":
            # The web solution loads face_detection_full_range_sparse.tflite: another network
            # (DENSIFY + DEPTH_TO_SPACE ops), not the same weights stored sparsely.
            sp = TFLite(os.path.join(args.pkg, "face_detection_full_range_sparse.tflite"))
            dsp, sp_faces = {}, {}
            for name, x, tr in inputs:
                out = sp.run(x)
                dd = diffs(model, tfl.run(x), out)
                for k, v in dd.items():
                    dsp[k] = max(dsp.get(k, 0), v)
                if tr is not None:
                    dets = bc.detections(out[0], out[1], model, min_score=0.5)
                    px = [bc.to_photo_pixels(d, tr) for d in dets]
                    sp_faces[name] = {"faces_at_0.5": len(dets), "iou_per_face_at_0.5": [
                        round(v, 3) for v in match(px, faces[name])]}
            rep["sparse_tflite"] = {"max_abs_diff_vs_dense_tflite": dsp, "photos": sp_faces}
            print("sparse vs dense TFLite (the web solution loads the sparse one; another "
                  "network): " + ", ".join(f"{k} {v:.2e}" for k, v in dsp.items()
                                           if "anchors" not in k))
            print("  sparse TFLite, faces@0.5 / IoU: " + "; ".join(
                f"{k} {v['faces_at_0.5']} {v['iou_per_face_at_0.5']}" for k, v in sp_faces.items()))

        x = inputs[0][1]
        t_ort = bench(onx.run, x, args.bench_runs)
        t_tfl = bench(tfl.run, x, args.bench_runs)
        rep["ms_per_inference_1_thread"] = {"onnxruntime": round(t_ort, 3),
                                            "tflite_xnnpack": round(t_tfl, 3)}
        msg = f"time per inference, 1 thread (median of {args.bench_runs}): onnxruntime " \
              f"{t_ort:.2f} ms, TFLite {t_tfl:.2f} ms"
        if trc:
            t_tr = bench(trc.run, x, args.bench_runs)
            rep["ms_per_inference_1_thread"]["tract_python"] = round(t_tr, 3)
            msg += f", tract (Python bindings) {t_tr:.2f} ms"
        print(msg)
        report["models"][model] = rep
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1, sort_keys=True)
    print("\nALL OK" if ok else "\nFAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
