//! Server-side face detection: MediaPipe's BlazeFace (short and full range, converted to ONNX in
//! `models/`), with MediaPipe's own pre- and post-processing — letterbox, SSD anchors, weighted
//! non-maximum suppression — giving face boxes and six key points in source-image pixels.

use std::io::Cursor;
use std::sync::Arc;

use parking_lot::Mutex;
use tract_onnx::prelude::*;

use crate::error::{Error, Result};
use crate::frame::Image;

/// Which BlazeFace: faces near the camera (a webcam, a selfie), or at any distance (a group photo).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DetectorRange {
    /// 128x128 input, 896 anchors; MediaPipe's default for selfies.
    Short,
    /// 192x192 input, 2304 anchors; finds small faces too, at about four times the cost.
    Full,
}

/// What MediaPipe's graphs configure for each model (read from the npm package's graph configs;
/// see `models/PROVENANCE.md`).
#[derive(Debug)]
struct Options {
    onnx: &'static [u8],
    side: usize,
    strides: &'static [usize],
    /// Each layer adds an anchor of the interpolated scale (MediaPipe's
    /// `interpolated_scale_aspect_ratio` > 0).
    interpolated: bool,
    min_score: f32,
}

const SHORT: Options = Options {
    onnx: include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/face_detection_short_range.onnx"
    )),
    side: 128,
    strides: &[8, 16, 16, 16],
    interpolated: true,
    min_score: 0.5,
};

const FULL: Options = Options {
    onnx: include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/face_detection_full_range.onnx"
    )),
    side: 192,
    strides: &[4],
    interpolated: false,
    min_score: 0.6,
};

/// Values per anchor in the regressor output: box centre and size, then six key points.
const COORDS: usize = 16;
/// Key points per face: right eye, left eye, nose tip, mouth centre, right ear, left ear
/// (the subject's right and left).
pub const KEYPOINTS: usize = 6;
/// Boxes overlapping the best one by more than this IoU are merged into it.
const SUPPRESSION_IOU: f32 = 0.3;
/// MediaPipe clips logits to this before the sigmoid.
const LOGIT_CLIP: f32 = 100.0;

/// A face found in an image, in its pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectedFace {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
    /// The detector's confidence, in `[0, 1]`.
    pub score: f32,
    pub keypoints: [[f32; 2]; KEYPOINTS],
}

/// The letterbox that maps an image into the model's square input: scale, then offset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Letterbox {
    pub scale: f32,
    pub pad_x: f32,
    pub pad_y: f32,
}

/// One BlazeFace model, ready to run: its plan is built once; each concurrent run borrows a
/// reusable state.
#[derive(Clone)]
pub struct FaceDetector {
    inner: Arc<Inner>,
}

struct Inner {
    range: DetectorRange,
    options: &'static Options,
    plan: Arc<TypedSimplePlan>,
    states: Mutex<Vec<TypedSimpleState>>,
    /// Anchor centres, normalised, in the model's output order.
    anchors: Vec<[f32; 2]>,
}

impl std::fmt::Debug for FaceDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceDetector")
            .field("range", &self.inner.range)
            .finish_non_exhaustive()
    }
}

impl FaceDetector {
    /// The embedded BlazeFace of this range.
    pub fn embedded(range: DetectorRange) -> Result<FaceDetector> {
        let options = match range {
            DetectorRange::Short => &SHORT,
            DetectorRange::Full => &FULL,
        };
        let side = options.side;
        let plan = onnx()
            .model_for_read(&mut Cursor::new(options.onnx))
            .and_then(|m| m.with_input_fact(0, f32::fact([1, side, side, 3]).into()))
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| Error::Internal(format!("cannot load the face detector: {e:#}")))?;
        Ok(FaceDetector {
            inner: Arc::new(Inner {
                range,
                options,
                plan,
                states: Mutex::new(Vec::new()),
                anchors: anchors(side, options.strides, options.interpolated),
            }),
        })
    }

    pub fn range(&self) -> DetectorRange {
        self.inner.range
    }

    /// The side of the model's square input, in pixels.
    pub fn input_side(&self) -> usize {
        self.inner.options.side
    }

    /// The faces in `image`, best first (CPU work: call it on a compute thread).
    pub fn detect(&self, image: &Image) -> Result<Vec<DetectedFace>> {
        let (input, letterbox) = self.input(image);
        let (regressors, logits) = self.infer(input)?;
        let mut faces = self.decode(&regressors, &logits);
        for face in &mut faces {
            letterbox.undo(face);
        }
        Ok(faces)
    }

    /// The model input for `image`: letterboxed into the square, bilinear (as MediaPipe warps
    /// it), RGB in `[-1, 1]`, black borders; with the letterbox that maps it back.
    pub fn input(&self, image: &Image) -> (Vec<f32>, Letterbox) {
        let side = self.inner.options.side;
        let (w, h) = (image.width() as f32, image.height() as f32);
        let scale = side as f32 / w.max(h);
        let (nw, nh) = ((w * scale).round().max(1.0), (h * scale).round().max(1.0));
        let letterbox = Letterbox {
            scale,
            pad_x: ((side as f32 - nw) / 2.0).floor(),
            pad_y: ((side as f32 - nh) / 2.0).floor(),
        };
        let mut input = vec![-1.0f32; side * side * 3];
        let [max_x, max_y] = [image.width() - 1, image.height() - 1].map(|v| v as f32);
        for oy in 0..nh as usize {
            let sy = ((oy as f32 + 0.5) / scale - 0.5).clamp(0.0, max_y);
            let (y0, fy) = (sy.floor(), sy.fract());
            let y1 = (y0 + 1.0).min(max_y);
            let rows = [image.row(y0 as u32), image.row(y1 as u32)];
            let out_row = (oy + letterbox.pad_y as usize) * side;
            for ox in 0..nw as usize {
                let sx = ((ox as f32 + 0.5) / scale - 0.5).clamp(0.0, max_x);
                let (x0, fx) = (sx.floor(), sx.fract());
                let x1 = (x0 + 1.0).min(max_x);
                let out = (out_row + ox + letterbox.pad_x as usize) * 3;
                for (c, value) in input[out..out + 3].iter_mut().enumerate() {
                    let at = |row: &[u8], x: f32| f32::from(image.channel(row, x as u32, c));
                    let top = at(rows[0], x0) * (1.0 - fx) + at(rows[0], x1) * fx;
                    let bottom = at(rows[1], x0) * (1.0 - fx) + at(rows[1], x1) * fx;
                    *value = (top * (1.0 - fy) + bottom * fy) / 127.5 - 1.0;
                }
            }
        }
        (input, letterbox)
    }

    /// Runs the model: the regressors (16 per anchor) and the score logits (1 per anchor).
    pub fn infer(&self, input: Vec<f32>) -> Result<(Vec<f32>, Vec<f32>)> {
        let side = self.inner.options.side;
        let fail = |e: TractError| Error::Internal(format!("face detector: {e:#}"));
        let tensor = tract_ndarray::Array4::from_shape_vec((1, side, side, 3), input)
            .map_err(|e| Error::Internal(format!("face detector input: {e}")))?
            .into_tensor();
        let reused = self.inner.states.lock().pop();
        let mut state = match reused {
            Some(state) => state,
            None => self.inner.plan.spawn().map_err(fail)?,
        };
        let outputs = state.run(tvec!(tensor.into()));
        self.inner.states.lock().push(state);
        let outputs = outputs.map_err(fail)?;
        let values = |i: usize| -> Result<Vec<f32>> {
            let view = outputs[i].to_plain_array_view::<f32>().map_err(fail)?;
            Ok(view.iter().copied().collect())
        };
        let (regressors, logits) = (values(0)?, values(1)?);
        let anchors = self.inner.anchors.len();
        if regressors.len() != anchors * COORDS || logits.len() != anchors {
            return Err(Error::Internal(format!(
                "face detector: {} regressors and {} scores for {anchors} anchors",
                regressors.len(),
                logits.len()
            )));
        }
        Ok((regressors, logits))
    }

    /// The faces the outputs hold, in the model input's pixels, best first: scores over the
    /// threshold, boxes decoded against the anchors, overlapping boxes merged (MediaPipe's
    /// weighted non-maximum suppression).
    pub fn decode(&self, regressors: &[f32], logits: &[f32]) -> Vec<DetectedFace> {
        let options = self.inner.options;
        let side = options.side as f32;
        let mut candidates: Vec<DetectedFace> = logits
            .iter()
            .zip(regressors.chunks_exact(COORDS))
            .zip(&self.inner.anchors)
            .filter_map(|((&logit, r), &[ax, ay])| {
                let score = 1.0 / (1.0 + (-logit.clamp(-LOGIT_CLIP, LOGIT_CLIP)).exp());
                let (w, h) = (r[2] / side, r[3] / side);
                if score < options.min_score || w < 0.0 || h < 0.0 {
                    return None;
                }
                let (xc, yc) = (r[0] / side + ax, r[1] / side + ay);
                let mut keypoints = [[0.0; 2]; KEYPOINTS];
                for (k, point) in keypoints.iter_mut().enumerate() {
                    *point = [
                        (r[4 + 2 * k] / side + ax) * side,
                        (r[5 + 2 * k] / side + ay) * side,
                    ];
                }
                Some(DetectedFace {
                    x: (xc - w / 2.0) * side,
                    y: (yc - h / 2.0) * side,
                    width: w * side,
                    height: h * side,
                    score,
                    keypoints,
                })
            })
            .collect();
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        weighted_nms(candidates)
    }
}

impl Letterbox {
    /// Moves a face from the model input's pixels to the image's.
    pub fn undo(&self, face: &mut DetectedFace) {
        let back = |v: f32, pad: f32| (v - pad) / self.scale;
        face.x = back(face.x, self.pad_x);
        face.y = back(face.y, self.pad_y);
        face.width /= self.scale;
        face.height /= self.scale;
        for point in &mut face.keypoints {
            *point = [back(point[0], self.pad_x), back(point[1], self.pad_y)];
        }
    }
}

/// SSD anchor centres as MediaPipe's `SsdAnchorsCalculator` lays them out: layers of the same
/// stride share a grid; each layer puts one anchor per cell (two with the interpolated scale);
/// cells row by row. With `fixed_anchor_size` every anchor is 1x1, so only centres matter.
fn anchors(side: usize, strides: &[usize], interpolated: bool) -> Vec<[f32; 2]> {
    let mut centres = Vec::new();
    let mut layer = 0;
    while layer < strides.len() {
        let stride = strides[layer];
        let same = strides[layer..]
            .iter()
            .take_while(|&&s| s == stride)
            .count();
        let per_cell = same * if interpolated { 2 } else { 1 };
        let grid = side.div_ceil(stride);
        for y in 0..grid {
            for x in 0..grid {
                let centre = [
                    (x as f32 + 0.5) / grid as f32,
                    (y as f32 + 0.5) / grid as f32,
                ];
                centres.extend(std::iter::repeat_n(centre, per_cell));
            }
        }
        layer += same;
    }
    centres
}

fn iou(a: &DetectedFace, b: &DetectedFace) -> f32 {
    let x0 = a.x.max(b.x);
    let y0 = a.y.max(b.y);
    let x1 = (a.x + a.width).min(b.x + b.width);
    let y1 = (a.y + a.height).min(b.y + b.height);
    let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
    let union = a.width * a.height + b.width * b.height - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// MediaPipe's weighted NMS on candidates sorted best first: the best one and every remaining
/// box overlapping it by more than [`SUPPRESSION_IOU`] become one face, their corners and key
/// points averaged by score, with the best one's score; then the same with what is left.
fn weighted_nms(mut remaining: Vec<DetectedFace>) -> Vec<DetectedFace> {
    let mut faces = Vec::new();
    while let Some(best) = remaining.first().copied() {
        let (cluster, rest): (Vec<DetectedFace>, Vec<DetectedFace>) = remaining
            .into_iter()
            .partition(|c| iou(&best, c) > SUPPRESSION_IOU);
        remaining = rest;
        let total: f32 = cluster.iter().map(|c| c.score).sum();
        let mean = |f: &dyn Fn(&DetectedFace) -> f32| {
            cluster.iter().map(|c| f(c) * c.score).sum::<f32>() / total
        };
        let (x0, y0) = (mean(&|c| c.x), mean(&|c| c.y));
        let (x1, y1) = (mean(&|c| c.x + c.width), mean(&|c| c.y + c.height));
        let mut keypoints = [[0.0; 2]; KEYPOINTS];
        for (k, point) in keypoints.iter_mut().enumerate() {
            *point = [mean(&|c| c.keypoints[k][0]), mean(&|c| c.keypoints[k][1])];
        }
        faces.push(DetectedFace {
            x: x0,
            y: y0,
            width: x1 - x0,
            height: y1 - y0,
            score: best.score,
            keypoints,
        });
    }
    faces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anchor_grids_have_mediapipes_counts() {
        assert_eq!(anchors(128, SHORT.strides, SHORT.interpolated).len(), 896);
        assert_eq!(anchors(192, FULL.strides, FULL.interpolated).len(), 2304);
        let short = anchors(128, SHORT.strides, SHORT.interpolated);
        assert_eq!(short[0], [0.5 / 16.0, 0.5 / 16.0]);
        assert_eq!(short[512], [0.5 / 8.0, 0.5 / 8.0]);
    }

    #[test]
    fn overlapping_boxes_merge_weighted_by_score() {
        let face = |x: f32, score: f32| DetectedFace {
            x,
            y: 0.0,
            width: 10.0,
            height: 10.0,
            score,
            keypoints: [[x, 0.0]; KEYPOINTS],
        };
        let faces = weighted_nms(vec![face(0.0, 0.9), face(1.0, 0.3), face(50.0, 0.2)]);
        assert_eq!(faces.len(), 2);
        assert!((faces[0].x - 0.25).abs() < 1e-6, "{:?}", faces[0]);
        assert_eq!(faces[0].score, 0.9);
        assert_eq!(faces[1].x, 50.0);
    }
}
