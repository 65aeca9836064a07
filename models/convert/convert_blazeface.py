#!/usr/bin/env python3
"""Convert MediaPipe BlazeFace (face_detection_short_range / full_range .tflite) to ONNX.

    python models/convert/convert_blazeface.py [NPM_PACKAGE_DIR] [--out-dir DIR]

NPM_PACKAGE_DIR defaults to web/node_modules/@mediapipe/face_detection (npm package
`@mediapipe/face_detection@0.4.1646425229`, Apache-2.0); --out-dir defaults to models/.
Environment: models/convert/requirements-blazeface.txt (tensorflow-cpu 2.15.1, tf2onnx 1.16.1,
onnx 1.17.0, numpy < 2).

Steps, per model:
 1. `python -m tf2onnx.convert --tflite X --output TMP --opset 13` (tf2onnx folds the tflite's
    fp16 weights + DEQUANTIZE into float32 constants itself).
 2. A post-pass with `onnx` + numpy, which leaves the computation untouched:
    - folds any Cast / DequantizeLinear whose input is a constant into a float32 initializer
      (tf2onnx 1.16.1 leaves none; the pass checks and would fold them),
    - fails unless every initializer is float32 or int64 and every op is in OPS_ALLOWED,
    - checks the input is static `[1, S, S, 3]` float32 (NHWC, as in the tflite),
    - names the outputs `regressors` [1, N, 16] and `classificators` [1, N, 1] for both models
      (full range's tflite names them `reshaped_regressor_face_4` / `reshaped_classifier_face_4`),
    - drops the unused `ai.onnx.ml` opset import and unused initializers, and names each
      initializer after its first consumer (tf2onnx numbers folded constants differently on
      each run; with this the .onnx is byte-identical across runs),
    - records the source in metadata_props, runs the ONNX checker and shape inference.
 3. Writes models/face_detection_short_range.onnx and models/face_detection_full_range.onnx and
    prints their sha256. The output is deterministic (same tflite -> byte-identical onnx).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.normpath(os.path.join(HERE, ".."))
DEFAULT_PKG = os.path.normpath(os.path.join(MODELS, "..", "web", "node_modules", "@mediapipe",
                                            "face_detection"))
PACKAGE = "@mediapipe/face_detection@0.4.1646425229"

# name -> (tflite file, input side, number of anchors)
SPECS = {
    "face_detection_short_range": ("face_detection_short_range.tflite", 128, 896),
    "face_detection_full_range": ("face_detection_full_range.tflite", 192, 2304),
}
OPS_ALLOWED = {"Conv", "Add", "Relu", "PRelu", "MaxPool", "Pad", "Reshape", "Concat",
               "Transpose", "Resize"}


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run_tf2onnx(tflite: str, out: str) -> None:
    cmd = [sys.executable, "-m", "tf2onnx.convert", "--tflite", tflite, "--output", out,
           "--opset", "13"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
        raise SystemExit(f"tf2onnx failed on {tflite}")
    for line in (r.stdout + r.stderr).splitlines():
        if "After optimization" in line or "Model outputs" in line or "Model inputs" in line:
            print("   tf2onnx:", line.split(" - ")[-1])


def fold_constant_casts(model: onnx.ModelProto) -> int:
    """Replace Cast / DequantizeLinear nodes fed only by initializers with float32 initializers."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    folded = 0
    keep = []
    for n in g.node:
        if n.op_type == "Cast" and n.input[0] in inits:
            to = helper.get_attribute_value(next(a for a in n.attribute if a.name == "to"))
            arr = numpy_helper.to_array(inits[n.input[0]]).astype(
                helper.tensor_dtype_to_np_dtype(to))
        elif n.op_type == "DequantizeLinear" and all(i in inits for i in n.input if i):
            x = numpy_helper.to_array(inits[n.input[0]]).astype(np.float32)
            scale = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)
            zp = (numpy_helper.to_array(inits[n.input[2]]).astype(np.float32)
                  if len(n.input) > 2 and n.input[2] else np.float32(0))
            arr = ((x - zp) * scale).astype(np.float32)
        else:
            keep.append(n)
            continue
        t = numpy_helper.from_array(arr, n.output[0])
        g.initializer.append(t)
        inits[t.name] = t
        folded += 1
    del g.node[:]
    g.node.extend(keep)
    return folded


def drop_unused_initializers(model: onnx.ModelProto) -> int:
    g = model.graph
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    keep = [t for t in g.initializer if t.name in used]
    dropped = len(g.initializer) - len(keep)
    del g.initializer[:]
    g.initializer.extend(keep)
    return dropped


def canonical_initializer_names(model: onnx.ModelProto) -> None:
    """Name each initializer after its first consumer (`<node>__in<k>`) and store them in use order.

    tf2onnx's optimizer numbers the constants it folds (`const_fold_opt__NNN`) in an order that
    changes from run to run; this makes the file byte-identical across runs.
    """
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    order, mapping = [], {}
    for n in g.node:
        for k, x in enumerate(n.input):
            if x in inits and x not in mapping:
                mapping[x] = f"{n.name}__in{k}"
                order.append(x)
    assert len(set(mapping.values())) == len(mapping)
    assert not set(mapping.values()) & {v for n in g.node for v in n.output}
    for n in g.node:
        for k, x in enumerate(n.input):
            if x in mapping:
                n.input[k] = mapping[x]
    tensors = [inits[x] for x in order]
    for t in tensors:
        t.name = mapping[t.name]
    del g.initializer[:]
    g.initializer.extend(tensors)


def rename_value(model: onnx.ModelProto, old: str, new: str) -> None:
    if old == new:
        return
    g = model.graph
    for n in g.node:
        for i, x in enumerate(n.input):
            if x == old:
                n.input[i] = new
        for i, x in enumerate(n.output):
            if x == old:
                n.output[i] = new
    for vi in list(g.output) + list(g.value_info):
        if vi.name == old:
            vi.name = new


def dims(vi) -> list:
    return [d.dim_value if d.HasField("dim_value") else d.dim_param
            for d in vi.type.tensor_type.shape.dim]


def post_pass(model: onnx.ModelProto, name: str, side: int, anchors: int,
              tflite_sha: str, tflite_outputs: list[str]) -> onnx.ModelProto:
    g = model.graph
    folded = fold_constant_casts(model)
    dropped = drop_unused_initializers(model)
    canonical_initializer_names(model)

    # input: static NHWC float32
    assert len(g.input) == 1, [i.name for i in g.input]
    inp = g.input[0]
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    shape = inp.type.tensor_type.shape
    for d, v in zip(shape.dim, [1, side, side, 3]):
        d.Clear()
        d.dim_value = v
    assert dims(inp) == [1, side, side, 3], dims(inp)

    # outputs: uniform names
    assert [o.name for o in g.output] == tflite_outputs, [o.name for o in g.output]
    for old, new in zip(tflite_outputs, ["regressors", "classificators"]):
        rename_value(model, old, new)
    assert [dims(o) for o in g.output] == [[1, anchors, 16], [1, anchors, 1]], \
        [dims(o) for o in g.output]

    # only float32 / int64 constants, only common ops, default domain only
    dtypes = {t.data_type for t in g.initializer}
    assert dtypes <= {onnx.TensorProto.FLOAT, onnx.TensorProto.INT64}, dtypes
    ops = {n.op_type for n in g.node}
    assert ops <= OPS_ALLOWED, ops - OPS_ALLOWED
    assert all(n.domain in ("", "ai.onnx") for n in g.node)
    keep_opsets = [o for o in model.opset_import if o.domain in ("", "ai.onnx")]
    del model.opset_import[:]
    model.opset_import.extend(keep_opsets)

    del model.metadata_props[:]
    meta = {
        "source": f"npm {PACKAGE}, {SPECS[name][0]} (sha256 {tflite_sha}), Apache-2.0",
        "converted_with": "tf2onnx 1.16.1 (opset 13) + models/convert/convert_blazeface.py",
        "input_layout": f"NHWC [1,{side},{side},3] float32 RGB, x = p/127.5 - 1 (range [-1,1]), "
                        "letterboxed (keep aspect ratio, zero/black border)",
        "outputs": f"regressors [1,{anchors},16] (x,y,w,h + 6 keypoints x,y; pixels of the "
                   f"{side}x{side} input, relative to the anchor centre); classificators "
                   f"[1,{anchors},1] (logit)",
        "tflite_output_names": ",".join(tflite_outputs),
    }
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    model.doc_string = f"MediaPipe BlazeFace {name} converted from TFLite"

    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    assert [dims(o) for o in inferred.graph.output] == [[1, anchors, 16], [1, anchors, 1]]
    print(f"   post-pass: folded {folded} constant casts, dropped {dropped} unused initializers; "
          f"ops {sorted(ops)}")
    return model


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("pkg", nargs="?", default=DEFAULT_PKG,
                    help="the @mediapipe/face_detection package dir (default: %(default)s)")
    ap.add_argument("--out-dir", default=MODELS, help="where the .onnx go (default: %(default)s)")
    args = ap.parse_args()

    os.makedirs(args.out_dir, exist_ok=True)
    for name, (tfl, side, anchors) in SPECS.items():
        tflite = os.path.join(args.pkg, tfl)
        tsha = sha256(tflite)
        print(f"{tfl}: {os.path.getsize(tflite)} bytes, sha256 {tsha}")
        with tempfile.TemporaryDirectory() as tmp:
            raw = os.path.join(tmp, "raw.onnx")
            run_tf2onnx(tflite, raw)
            model = onnx.load(raw)
        tflite_outputs = [o.name for o in model.graph.output]
        model = post_pass(model, name, side, anchors, tsha, tflite_outputs)
        out = os.path.join(args.out_dir, name + ".onnx")
        onnx.save(model, out)
        print(f"-> {out}: {os.path.getsize(out)} bytes, sha256 {sha256(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
