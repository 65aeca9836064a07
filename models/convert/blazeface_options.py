#!/usr/bin/env python3
"""Read MediaPipe's face-detection graph options out of the npm package.

`face_detection_short.binarypb` / `face_detection_full.binarypb` in
`@mediapipe/face_detection@0.4.1646425229` hold only the top-level graph
(GlScalerCalculator -> subgraph `FaceDetectionShortRangeGpu` / `FaceDetectionFullRangeGpu`).
Those subgraphs and the `...Common` subgraphs they call (SsdAnchorsCalculator,
TensorsToDetectionsCalculator, NonMaxSuppressionCalculator, DetectionProjectionCalculator)
are compiled into the solution's WebAssembly binary as serialized `CalculatorGraphConfig`
protobufs in its data segments. This module parses the wasm data section into a memory image,
finds each subgraph config by its `type` name, and decodes it with a small protobuf wire-format
reader and the field numbers of MediaPipe's .proto files (quoted in SCHEMAS below):

  mediapipe/framework/calculator.proto            CalculatorGraphConfig, Node
  mediapipe/calculators/tflite/ssd_anchors_calculator.proto            ext 247258239
  mediapipe/calculators/tensor/tensors_to_detections_calculator.proto  ext 335742639
  mediapipe/calculators/util/non_max_suppression_calculator.proto      ext 55383100
  mediapipe/calculators/tensor/image_to_tensor_calculator.proto        ext 334361939
  mediapipe/calculators/tensor/inference_calculator.proto              ext 336783863

Only the standard library is needed.

    python3 models/convert/blazeface_options.py [NPM_PACKAGE_DIR] [--json OUT.json]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PKG = os.path.normpath(os.path.join(HERE, "..", "..", "web", "node_modules", "@mediapipe",
                                            "face_detection"))
WASM_NAMES = ["face_detection_solution_simd_wasm_bin.wasm", "face_detection_solution_wasm_bin.wasm"]

# --- protobuf wire format ---------------------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def fields(buf: bytes):
    """Yield (field_number, wire_type, raw value) for each field of a message."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            val, pos = _varint(buf, pos)
        elif wt == 1:
            val, pos = buf[pos:pos + 8], pos + 8
        elif wt == 2:
            n, pos = _varint(buf, pos)
            val, pos = buf[pos:pos + n], pos + n
        elif wt == 5:
            val, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wt} at {pos}")
        if pos > len(buf):
            raise ValueError("truncated message")
        yield num, wt, val


# Schemas: field number -> (name, kind, repeated). kind: int32, bool, float, string, enum:<Name>,
# or a nested schema name. Copied from MediaPipe's .proto files (numbers only matter).
ENUMS = {
    "OverlapType": {0: "UNSPECIFIED_OVERLAP_TYPE", 1: "JACCARD", 2: "MODIFIED_JACCARD",
                    3: "INTERSECTION_OVER_UNION"},
    "NmsAlgorithm": {0: "DEFAULT", 1: "WEIGHTED"},
    "BorderMode": {0: "BORDER_UNSPECIFIED", 1: "BORDER_ZERO", 2: "BORDER_REPLICATE"},
    "GpuOrigin": {0: "DEFAULT", 1: "CONVENTIONAL", 2: "TOP_LEFT"},
    "BoxFormat": {0: "UNSPECIFIED", 1: "YXHW", 2: "XYWH", 3: "XYXY"},
    "Delegate": {},
}
SCHEMAS = {
    "CalculatorGraphConfig": {
        1: ("node", "Node", True), 10: ("input_stream", "string", True),
        15: ("output_stream", "string", True), 16: ("input_side_packet", "string", True),
        17: ("output_side_packet", "string", True), 20: ("type", "string", False),
        14: ("executor", "Executor", True), 8: ("num_threads", "int32", False),
        11: ("max_queue_size", "int32", False),
    },
    "Executor": {1: ("name", "string", False), 2: ("type", "string", False),
                 3: ("options", "bytes", False)},
    "Node": {
        1: ("name", "string", False), 2: ("calculator", "string", False),
        3: ("input_stream", "string", True), 4: ("output_stream", "string", True),
        5: ("input_side_packet", "string", True), 6: ("output_side_packet", "string", True),
        7: ("options", "CalculatorOptions", False), 8: ("node_options", "bytes", True),
        10: ("source_layer", "int32", False), 11: ("buffer_size_hint", "int32", False),
        12: ("input_stream_handler", "bytes", False), 13: ("output_stream_handler", "bytes", False),
        14: ("input_stream_info", "bytes", True), 15: ("executor", "string", False),
    },
    # CalculatorOptions carries proto2 extensions; the extension field number names the type.
    "CalculatorOptions": {
        247258239: ("SsdAnchorsCalculatorOptions", "SsdAnchorsCalculatorOptions", False),
        335742639: ("TensorsToDetectionsCalculatorOptions", "TensorsToDetectionsCalculatorOptions",
                    False),
        55383100: ("NonMaxSuppressionCalculatorOptions", "NonMaxSuppressionCalculatorOptions",
                   False),
        334361939: ("ImageToTensorCalculatorOptions", "ImageToTensorCalculatorOptions", False),
        336783863: ("InferenceCalculatorOptions", "InferenceCalculatorOptions", False),
    },
    "SsdAnchorsCalculatorOptions": {
        1: ("input_size_width", "int32", False), 2: ("input_size_height", "int32", False),
        3: ("min_scale", "float", False), 4: ("max_scale", "float", False),
        5: ("anchor_offset_x", "float", False), 6: ("anchor_offset_y", "float", False),
        7: ("num_layers", "int32", False), 8: ("feature_map_width", "int32", True),
        9: ("feature_map_height", "int32", True), 10: ("strides", "int32", True),
        11: ("aspect_ratios", "float", True), 12: ("reduce_boxes_in_lowest_layer", "bool", False),
        13: ("interpolated_scale_aspect_ratio", "float", False),
        14: ("fixed_anchor_size", "bool", False),
    },
    "TensorsToDetectionsCalculatorOptions": {
        1: ("num_classes", "int32", False), 2: ("num_boxes", "int32", False),
        3: ("num_coords", "int32", False), 9: ("keypoint_coord_offset", "int32", False),
        10: ("num_keypoints", "int32", False), 11: ("num_values_per_keypoint", "int32", False),
        12: ("box_coord_offset", "int32", False), 4: ("x_scale", "float", False),
        5: ("y_scale", "float", False), 6: ("w_scale", "float", False),
        7: ("h_scale", "float", False), 13: ("apply_exponential_on_box_size", "bool", False),
        14: ("reverse_output_order", "bool", False), 8: ("ignore_classes", "int32", True),
        21: ("allow_classes", "int32", True), 15: ("sigmoid_score", "bool", False),
        16: ("score_clipping_thresh", "float", False), 18: ("flip_vertically", "bool", False),
        19: ("min_score_thresh", "float", False), 20: ("max_results", "int32", False),
        22: ("tensor_mapping", "bytes", False), 23: ("box_boundaries_indices", "bytes", False),
        24: ("box_format", "enum:BoxFormat", False),
    },
    "NonMaxSuppressionCalculatorOptions": {
        1: ("num_detection_streams", "int32", False), 2: ("max_num_detections", "int32", False),
        6: ("min_score_threshold", "float", False),
        3: ("min_suppression_threshold", "float", False),
        4: ("overlap_type", "enum:OverlapType", False),
        5: ("return_empty_detections", "bool", False),
        7: ("algorithm", "enum:NmsAlgorithm", False),
    },
    "ImageToTensorCalculatorOptions": {
        1: ("output_tensor_width", "int32", False), 2: ("output_tensor_height", "int32", False),
        3: ("keep_aspect_ratio", "bool", False),
        4: ("output_tensor_float_range", "FloatRange", False),
        7: ("output_tensor_int_range", "bytes", False),
        8: ("output_tensor_uint_range", "bytes", False),
        5: ("gpu_origin", "enum:GpuOrigin", False), 6: ("border_mode", "enum:BorderMode", False),
    },
    "FloatRange": {1: ("min", "float", False), 2: ("max", "float", False)},
    "InferenceCalculatorOptions": {
        1: ("model_path", "string", False), 2: ("use_gpu", "bool", False),
        3: ("use_nnapi", "bool", False), 4: ("cpu_num_thread", "int32", False),
        5: ("delegate", "bytes", False),
    },
}

# The defaults that matter when a field is absent (from the same .proto files).
DEFAULTS = {
    "SsdAnchorsCalculatorOptions": {"anchor_offset_x": 0.5, "anchor_offset_y": 0.5,
                                    "reduce_boxes_in_lowest_layer": False,
                                    "interpolated_scale_aspect_ratio": 1.0,
                                    "fixed_anchor_size": False},
    "TensorsToDetectionsCalculatorOptions": {"num_keypoints": 0, "num_values_per_keypoint": 2,
                                             "box_coord_offset": 0,
                                             "apply_exponential_on_box_size": False,
                                             "reverse_output_order": False,
                                             "sigmoid_score": False, "flip_vertically": False,
                                             "max_results": -1, "box_format": "UNSPECIFIED"},
    "NonMaxSuppressionCalculatorOptions": {"num_detection_streams": 1, "max_num_detections": -1,
                                           "min_score_threshold": -1.0,
                                           "min_suppression_threshold": 1.0,
                                           "overlap_type": "JACCARD",
                                           "return_empty_detections": False,
                                           "algorithm": "DEFAULT"},
}


def _scalar(kind: str, wt: int, val):
    if kind == "float":
        return struct.unpack("<f", val)[0]
    if kind == "int32":
        return val - (1 << 64) if val >= 1 << 63 else val
    if kind == "bool":
        return bool(val)
    if kind == "string":
        return val.decode("utf-8")
    if kind == "bytes":
        return val.hex()
    if kind.startswith("enum:"):
        return ENUMS[kind[5:]].get(val, val)
    raise ValueError(kind)


def decode(buf: bytes, schema: str, with_defaults: bool = False) -> dict:
    sch = SCHEMAS[schema]
    out: dict = {}
    for num, wt, val in fields(buf):
        if num not in sch:
            raw = val.hex() if isinstance(val, bytes) else val
            out.setdefault("unknown_fields", []).append({"field": num, "wire_type": wt,
                                                         "value": raw})
            continue
        name, kind, repeated = sch[num]
        if kind in SCHEMAS:
            v = decode(val, kind, with_defaults)
            vals = [v]
        elif wt == 2 and kind not in ("string", "bytes"):
            # packed repeated scalars
            vals, pos = [], 0
            while pos < len(val):
                if kind == "float":
                    vals.append(struct.unpack("<f", val[pos:pos + 4])[0])
                    pos += 4
                else:
                    x, pos = _varint(val, pos)
                    vals.append(_scalar(kind, 0, x))
        else:
            vals = [_scalar(kind, wt, val)]
        if repeated:
            out.setdefault(name, []).extend(vals)
        else:
            out[name] = vals[-1]
    if with_defaults and schema in DEFAULTS:
        absent = sorted(k for k in DEFAULTS[schema] if k not in out)
        for k in absent:
            out[k] = DEFAULTS[schema][k]
        if absent:
            out["_defaults_filled_in"] = absent
    return out


# --- wasm data segments -----------------------------------------------------------------------


def _sleb(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            if b & 0x40:
                result -= 1 << shift
            return result, pos


def wasm_memory_image(wasm: bytes) -> bytes:
    """Linear memory as laid out by the active data segments (zeros elsewhere)."""
    assert wasm[:4] == b"\0asm", "not a wasm module"
    pos = 8
    segments = []
    while pos < len(wasm):
        sid = wasm[pos]
        size, pos = _varint(wasm, pos + 1)
        end = pos + size
        if sid == 11:
            count, p = _varint(wasm, pos)
            for _ in range(count):
                flags, p = _varint(wasm, p)
                if flags == 1:
                    n, p = _varint(wasm, p)
                    p += n  # passive: not placed
                    continue
                if flags == 2:
                    _, p = _varint(wasm, p)
                if wasm[p] != 0x41:
                    raise ValueError("data segment offset is not i32.const")
                off, p = _sleb(wasm, p + 1)
                if wasm[p] != 0x0B:
                    raise ValueError("data segment offset expression not closed")
                n, p = _varint(wasm, p + 1)
                segments.append((off, wasm[p:p + n]))
                p += n
        pos = end
    mem = bytearray(max(o + len(d) for o, d in segments))
    for off, data in segments:
        mem[off:off + len(data)] = data
    return bytes(mem)


_TYPE_TAIL = re.compile(rb"\xa2\x01([\x01-\x7f])(FaceDetection[A-Za-z]+)")
_CLASS_NAME = re.compile(rb"N7drishti\d+(FaceDetection[A-Za-z]+)E\x00")


def find_graphs(mem: bytes) -> dict[str, dict]:
    """Every serialized face-detection CalculatorGraphConfig in the memory image.

    A config ends with its `type` field (tag 0xa2 0x01, length, name). From each such ending,
    walk back and keep the earliest start (a `node` tag 0x0a) from which the bytes parse cleanly
    as graph fields only and end exactly there. Each config is keyed by the subgraph class it is
    registered under: the C++ type-info name `N7drishti<n><Class>E` that emscripten placed just
    before it. (The declared `type` field is not reliable: the full-range Common graph declares
    `type: "FaceDetectionShortRangeCommon"`, a copy-paste slip in MediaPipe's .pbtxt.)
    """
    graph_fields = SCHEMAS["CalculatorGraphConfig"]
    found: dict[str, dict] = {}
    for m in _TYPE_TAIL.finditer(mem):
        if m.group(1)[0] != len(m.group(2)):
            continue
        end, stop = m.start(), m.end()
        best = None
        for start in range(end - 1, max(0, end - 20000), -1):
            if mem[start] != 0x0A:
                continue
            try:
                parsed = list(fields(mem[start:stop]))
            except (ValueError, IndexError):
                continue
            if parsed and parsed[-1][0] == 20 and all(f[0] in graph_fields for f in parsed):
                best = start
        if best is None:
            continue
        names = list(_CLASS_NAME.finditer(mem, max(0, best - 256), best))
        if not names:
            raise LookupError(f"no registered class name before the config at {best}")
        cls = names[-1].group(1).decode()
        raw = mem[best:stop]
        if cls in found and found[cls]["raw"] != raw:
            raise LookupError(f"{cls}: two different configs")
        found[cls] = {"raw": raw, "declared_type": m.group(2).decode(), "offset": best}
    return found


SUBGRAPHS = {
    "short": ["FaceDetectionShortRangeGpu", "FaceDetectionShortRangeCommon"],
    "full": ["FaceDetectionFullRangeGpu", "FaceDetectionFullRangeCommon"],
}


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def read_options(pkg: str) -> dict:
    """Everything decoded: top-level graphs, subgraphs, and the per-model option summary."""
    result: dict = {"package_dir_files": {}, "top_level_graphs": {}, "subgraphs": {}}
    for model in ("short", "full"):
        p = os.path.join(pkg, f"face_detection_{model}.binarypb")
        with open(p, "rb") as f:
            result["top_level_graphs"][os.path.basename(p)] = decode(f.read(),
                                                                     "CalculatorGraphConfig")
        result["package_dir_files"][os.path.basename(p)] = sha256(p)
    per_wasm = {}
    for wname in WASM_NAMES:
        wpath = os.path.join(pkg, wname)
        with open(wpath, "rb") as f:
            mem = wasm_memory_image(f.read())
        result["package_dir_files"][wname] = sha256(wpath)
        graphs = find_graphs(mem)
        per_wasm[wname] = {name: graphs[name]
                           for names in SUBGRAPHS.values() for name in names}
    first = per_wasm[WASM_NAMES[0]]
    for wname in WASM_NAMES[1:]:
        if {k: v["raw"] for k, v in per_wasm[wname].items()} != {k: v["raw"]
                                                                  for k, v in first.items()}:
            raise AssertionError(f"{wname} holds different subgraph configs")
    for name, g in first.items():
        result["subgraphs"][name] = {
            "registered_as": name,
            "declared_type": g["declared_type"],
            "serialized_sha256": hashlib.sha256(g["raw"]).hexdigest(),
            "serialized_bytes": len(g["raw"]),
            "config": decode(g["raw"], "CalculatorGraphConfig", with_defaults=True),
        }
    summary = {}
    for model, (gpu, common) in SUBGRAPHS.items():
        s: dict = {}
        for sub in (gpu, common):
            for node in result["subgraphs"][sub]["config"]["node"]:
                for k, v in node.get("options", {}).items():
                    s[k] = v
        summary[model] = s
    result["options"] = summary
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("pkg", nargs="?", default=DEFAULT_PKG, help="@mediapipe/face_detection dir")
    ap.add_argument("--json", help="write the decoded configs to this file")
    args = ap.parse_args()
    res = read_options(args.pkg)
    text = json.dumps(res, indent=1, sort_keys=True) + "\n"
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)
    print(json.dumps(res["options"], indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
