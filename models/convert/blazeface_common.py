"""BlazeFace pre- and post-processing as MediaPipe's face-detection graphs do it (numpy + Pillow).

The options are those that `blazeface_options.py` reads from the npm package
`@mediapipe/face_detection@0.4.1646425229` (FaceDetectionShortRangeCommon /
FaceDetectionFullRangeCommon subgraphs); OPTIONS below is a copy, and `check_options()` compares
it to what the package holds.

Pipeline (per model, S = 128 short / 192 full):
  photo (RGB) -> letterbox to SxS, keep aspect ratio, centred, black border
  -> x = p / 127.5 - 1 (float32, [-1, 1]) -> NHWC [1, S, S, 3]
  -> model -> regressors [1, N, 16], classificators [1, N, 1]
  -> decode against SSD anchors -> score >= min_score_thresh -> weighted NMS (IoU > 0.3)
  -> boxes in input pixels -> undo the letterbox -> photo pixels.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
MODELS = os.path.join(REPO, "models")
FACES = os.path.join(REPO, "tests", "fixtures", "faces")
DEFAULT_PKG = os.path.join(REPO, "web", "node_modules", "@mediapipe", "face_detection")
PHOTOS = ["astronaut.jpg", "grace_hopper.webp", "group_of_three.jpg", "group_of_four.jpg",
          "laughing_woman.jpg"]

# The options that matter for pre/post-processing, as decoded from the package's wasm.
OPTIONS = {
    "short": {
        "onnx": "face_detection_short_range.onnx",
        "tflite": "face_detection_short_range.tflite",
        "input_size": 128,
        "anchors": {"num_layers": 4, "strides": [8, 16, 16, 16], "min_scale": 0.1484375,
                    "max_scale": 0.75, "anchor_offset_x": 0.5, "anchor_offset_y": 0.5,
                    "aspect_ratios": [1.0], "interpolated_scale_aspect_ratio": 1.0,
                    "reduce_boxes_in_lowest_layer": False, "fixed_anchor_size": True},
        "decoder": {"num_boxes": 896, "num_coords": 16, "box_coord_offset": 0,
                    "keypoint_coord_offset": 4, "num_keypoints": 6,
                    "num_values_per_keypoint": 2, "reverse_output_order": True,
                    "x_scale": 128.0, "y_scale": 128.0, "w_scale": 128.0, "h_scale": 128.0,
                    "apply_exponential_on_box_size": False, "sigmoid_score": True,
                    "score_clipping_thresh": 100.0, "min_score_thresh": 0.5},
        "nms": {"algorithm": "WEIGHTED", "overlap_type": "INTERSECTION_OVER_UNION",
                "min_suppression_threshold": 0.3, "max_num_detections": -1,
                "min_score_threshold": -1.0},
    },
    "full": {
        "onnx": "face_detection_full_range.onnx",
        "tflite": "face_detection_full_range.tflite",
        "input_size": 192,
        "anchors": {"num_layers": 1, "strides": [4], "min_scale": 0.1484375,
                    "max_scale": 0.75, "anchor_offset_x": 0.5, "anchor_offset_y": 0.5,
                    "aspect_ratios": [1.0], "interpolated_scale_aspect_ratio": 0.0,
                    "reduce_boxes_in_lowest_layer": False, "fixed_anchor_size": True},
        "decoder": {"num_boxes": 2304, "num_coords": 16, "box_coord_offset": 0,
                    "keypoint_coord_offset": 4, "num_keypoints": 6,
                    "num_values_per_keypoint": 2, "reverse_output_order": True,
                    "x_scale": 192.0, "y_scale": 192.0, "w_scale": 192.0, "h_scale": 192.0,
                    "apply_exponential_on_box_size": False, "sigmoid_score": True,
                    "score_clipping_thresh": 100.0, "min_score_thresh": 0.6},
        "nms": {"algorithm": "WEIGHTED", "overlap_type": "INTERSECTION_OVER_UNION",
                "min_suppression_threshold": 0.3, "max_num_detections": -1,
                "min_score_threshold": -1.0},
    },
}
KEYPOINTS = ["right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion",
             "left_ear_tragion"]  # MediaPipe's FaceKeyType order (the subject's right/left)


def check_options(pkg: str = DEFAULT_PKG) -> dict:
    """Compare OPTIONS with what the npm package's wasm holds; return the decoded options."""
    import blazeface_options as bo

    decoded = bo.read_options(pkg)["options"]
    for model, o in OPTIONS.items():
        d = decoded[model]
        anc, dec = d["SsdAnchorsCalculatorOptions"], d["TensorsToDetectionsCalculatorOptions"]
        nms = d["NonMaxSuppressionCalculatorOptions"]
        itt = d["ImageToTensorCalculatorOptions"]
        assert anc["input_size_width"] == anc["input_size_height"] == o["input_size"]
        assert itt["output_tensor_width"] == itt["output_tensor_height"] == o["input_size"]
        assert itt["keep_aspect_ratio"] and itt["border_mode"] == "BORDER_ZERO"
        assert itt["output_tensor_float_range"] == {"min": -1.0, "max": 1.0}
        for k, v in o["anchors"].items():
            assert _close(anc[k], v), (model, k, anc[k], v)
        for k, v in o["decoder"].items():
            assert _close(dec[k], v), (model, k, dec[k], v)
        assert dec["num_classes"] == 1 and dec["box_format"] == "UNSPECIFIED"
        for k, v in o["nms"].items():
            assert _close(nms[k], v), (model, k, nms[k], v)
    return decoded


def _close(a, b) -> bool:
    if isinstance(b, float):
        return abs(a - b) < 1e-6
    if isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    return a == b


# --- preprocessing ----------------------------------------------------------------------------


def load_rgb(path: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def letterbox(rgb: np.ndarray, side: int) -> tuple[np.ndarray, dict]:
    """Resize keeping the aspect ratio (Pillow BILINEAR), centre on a black side x side canvas.

    Returns the uint8 image and the transform: photo pixel = (input pixel - pad) * (w / nw).
    """
    from PIL import Image

    h, w = rgb.shape[:2]
    s = side / max(w, h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    small = Image.fromarray(rgb).resize((nw, nh), Image.BILINEAR)
    canvas = np.zeros((side, side, 3), np.uint8)
    px, py = (side - nw) // 2, (side - nh) // 2
    canvas[py:py + nh, px:px + nw] = np.asarray(small)
    return canvas, {"photo_width": w, "photo_height": h, "resized_width": nw,
                    "resized_height": nh, "pad_x": px, "pad_y": py, "side": side}


def normalise(u8: np.ndarray) -> np.ndarray:
    """uint8 HWC -> float32 [1, H, W, 3], x = p / 127.5 - 1."""
    return (u8.astype(np.float32) / np.float32(127.5) - np.float32(1.0))[None]


def input_for(photo: str, model: str) -> tuple[np.ndarray, dict]:
    u8, tr = letterbox(load_rgb(os.path.join(FACES, photo)), OPTIONS[model]["input_size"])
    return normalise(u8), tr


# --- anchors, decoding, NMS (MediaPipe's algorithms) ------------------------------------------


def _scale(min_s, max_s, i, n):
    return (min_s + max_s) * 0.5 if n == 1 else min_s + (max_s - min_s) * i / (n - 1.0)


def ssd_anchors(model: str) -> np.ndarray:
    """SsdAnchorsCalculator: [N, 4] float32 of (x_center, y_center, w, h), normalised."""
    o = OPTIONS[model]["anchors"]
    size = OPTIONS[model]["input_size"]
    strides, n = o["strides"], o["num_layers"]
    out = []
    layer = 0
    while layer < n:
        ars, scales = [], []
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            scale = _scale(o["min_scale"], o["max_scale"], last, len(strides))
            if last == 0 and o["reduce_boxes_in_lowest_layer"]:
                ars += [1.0, 2.0, 0.5]
                scales += [0.1, scale, scale]
            else:
                for ar in o["aspect_ratios"]:
                    ars.append(ar)
                    scales.append(scale)
                if o["interpolated_scale_aspect_ratio"] > 0.0:
                    nxt = 1.0 if last == len(strides) - 1 else _scale(
                        o["min_scale"], o["max_scale"], last + 1, len(strides))
                    scales.append(math.sqrt(scale * nxt))
                    ars.append(o["interpolated_scale_aspect_ratio"])
            last += 1
        sizes = [(s * math.sqrt(a), s / math.sqrt(a)) for a, s in zip(ars, scales)]  # (w, h)
        stride = strides[layer]
        fh = fw = math.ceil(size / stride)
        for y in range(fh):
            for x in range(fw):
                for aw, ah in sizes:
                    xc = (x + o["anchor_offset_x"]) / fw
                    yc = (y + o["anchor_offset_y"]) / fh
                    w, h = (1.0, 1.0) if o["fixed_anchor_size"] else (aw, ah)
                    out.append((xc, yc, w, h))
        layer = last
    a = np.array(out, np.float32)
    assert len(a) == OPTIONS[model]["decoder"]["num_boxes"], len(a)
    return a


def sigmoid_scores(logits: np.ndarray, model: str) -> np.ndarray:
    c = OPTIONS[model]["decoder"]["score_clipping_thresh"]
    x = np.clip(logits.astype(np.float32), -c, c)
    with np.errstate(over="ignore"):  # exp(100) is inf in float32, as in MediaPipe: score 0
        return (np.float32(1.0) / (np.float32(1.0) + np.exp(-x))).astype(np.float32)


def decode_boxes(raw: np.ndarray, anchors: np.ndarray, model: str) -> np.ndarray:
    """TensorsToDetectionsCalculator::DecodeBoxes, XYWH order (reverse_output_order).

    raw: [N, 16]. Returns [N, 16] float32: ymin, xmin, ymax, xmax, then 6 x (x, y), normalised
    to the input tensor (0..1).
    """
    d = OPTIONS[model]["decoder"]
    raw = raw.reshape(-1, 16).astype(np.float32)
    axc, ayc, aw, ah = (anchors[:, i] for i in range(4))
    xc = raw[:, 0] / np.float32(d["x_scale"]) * aw + axc
    yc = raw[:, 1] / np.float32(d["y_scale"]) * ah + ayc
    w = raw[:, 2] / np.float32(d["w_scale"]) * aw
    h = raw[:, 3] / np.float32(d["h_scale"]) * ah
    out = np.empty_like(raw)
    out[:, 0] = yc - h / 2
    out[:, 1] = xc - w / 2
    out[:, 2] = yc + h / 2
    out[:, 3] = xc + w / 2
    for k in range(d["num_keypoints"]):
        o = d["keypoint_coord_offset"] + 2 * k
        out[:, o] = raw[:, o] / np.float32(d["x_scale"]) * aw + axc
        out[:, o + 1] = raw[:, o + 1] / np.float32(d["y_scale"]) * ah + ayc
    return out


def _iou(a, b) -> float:
    """OverlapSimilarity INTERSECTION_OVER_UNION on (xmin, ymin, w, h)."""
    ax0, ay0, aw, ah = a
    bx0, by0, bw, bh = b
    ix0, iy0 = max(ax0, bx0), max(ay0, by0)
    ix1, iy1 = min(ax0 + aw, bx0 + bw), min(ay0 + ah, by0 + bh)
    if ix1 < ix0 or iy1 < iy0:  # Rectangle::Intersects is inclusive of touching edges
        return 0.0
    inter = (ix1 - ix0) * (iy1 - iy0)
    norm = aw * ah + bw * bh - inter
    return inter / norm if norm > 0 else 0.0


def detections(regressors: np.ndarray, logits: np.ndarray, model: str,
               min_score: float | None = None) -> list[dict]:
    """Decode + score filter + weighted NMS, as FaceDetection*Common does.

    Returns detections sorted as NMS emits them (by the top candidate's score), each with
    `score` (the top candidate's), `anchor` (its index), `box` (xmin, ymin, w, h) and
    `keypoints` ([6][x, y]), normalised to the input tensor.
    """
    anchors = ssd_anchors(model)
    boxes = decode_boxes(regressors, anchors, model)
    scores = sigmoid_scores(logits.reshape(-1), model)
    thr = OPTIONS[model]["decoder"]["min_score_thresh"] if min_score is None else min_score
    dets = []
    for i in range(len(scores)):
        if scores[i] < thr:
            continue
        ymin, xmin, ymax, xmax = (float(v) for v in boxes[i, :4])
        w, h = xmax - xmin, ymax - ymin
        if w < 0 or h < 0 or math.isnan(w) or math.isnan(h):
            continue
        kp = [[float(boxes[i, 4 + 2 * k]), float(boxes[i, 5 + 2 * k])] for k in range(6)]
        dets.append({"anchor": i, "score": float(scores[i]), "box": [xmin, ymin, w, h],
                     "keypoints": kp})
    return weighted_nms(dets, OPTIONS[model]["nms"]["min_suppression_threshold"])


def weighted_nms(dets: list[dict], thr: float) -> list[dict]:
    """NonMaxSuppressionCalculator WeightedNonMaxSuppression (IoU, > thr joins the cluster).

    Sorting is stable on score, descending (std::sort is not stable; ties are rare).
    """
    remained = sorted(dets, key=lambda d: -d["score"])
    out = []
    while remained:
        top = remained[0]
        cands, rest = [], []
        for d in remained:
            (cands if _iou(d["box"], top["box"]) > thr else rest).append(d)
        total = sum(d["score"] for d in cands)
        x0 = sum(d["box"][0] * d["score"] for d in cands) / total
        y0 = sum(d["box"][1] * d["score"] for d in cands) / total
        x1 = sum((d["box"][0] + d["box"][2]) * d["score"] for d in cands) / total
        y1 = sum((d["box"][1] + d["box"][3]) * d["score"] for d in cands) / total
        kps = [[sum(d["keypoints"][k][j] * d["score"] for d in cands) / total for j in (0, 1)]
               for k in range(6)]
        out.append({"anchor": top["anchor"], "score": top["score"],
                    "box": [x0, y0, x1 - x0, y1 - y0], "keypoints": kps,
                    "cluster_size": len(cands)})
        if len(rest) == len(remained):
            break
        remained = rest
    return out


def to_input_pixels(det: dict, side: int) -> dict:
    x, y, w, h = det["box"]
    return {"box": [x * side, y * side, w * side, h * side],
            "keypoints": [[kx * side, ky * side] for kx, ky in det["keypoints"]]}


def to_photo_pixels(det: dict, tr: dict) -> dict:
    side = tr["side"]
    sx = tr["photo_width"] / tr["resized_width"]
    sy = tr["photo_height"] / tr["resized_height"]
    x, y, w, h = det["box"]
    box = [(x * side - tr["pad_x"]) * sx, (y * side - tr["pad_y"]) * sy, w * side * sx,
           h * side * sy]
    kps = [[(kx * side - tr["pad_x"]) * sx, (ky * side - tr["pad_y"]) * sy]
           for kx, ky in det["keypoints"]]
    return {"box": box, "keypoints": kps}


def iou_xywh(a, b) -> float:
    ix0, iy0 = max(a[0], b[0]), max(a[1], b[1])
    ix1, iy1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    if ix1 <= ix0 or iy1 <= iy0:
        return 0.0
    inter = (ix1 - ix0) * (iy1 - iy0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def fixture_faces() -> dict[str, list[list[float]]]:
    with open(os.path.join(FACES, "faces.json")) as f:
        meta = json.load(f)
    return {p["file"]: [[b["x"], b["y"], b["width"], b["height"]] for b in p["faces"]]
            for p in meta["photos"]}
