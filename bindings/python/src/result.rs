//! The answer as Python sees it: `Detection` (the largest face's fields at the top level, every
//! face in `faces`), `FaceResult` and `FaceBounds`.

use emotion_core::{Emotion, PixelBox};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde::Deserialize;
use serde_json::Value;

use crate::errors::{Failure, Outcome};

/// A face box in the caller's frame, in pixels.
#[pyclass(frozen, eq, module = "emotion_client")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaceBounds {
    #[pyo3(get)]
    pub x: u32,
    #[pyo3(get)]
    pub y: u32,
    #[pyo3(get)]
    pub width: u32,
    #[pyo3(get)]
    pub height: u32,
}

#[pymethods]
impl FaceBounds {
    #[new]
    fn new(x: u32, y: u32, width: u32, height: u32) -> FaceBounds {
        FaceBounds {
            x,
            y,
            width,
            height,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "FaceBounds(x={}, y={}, width={}, height={})",
            self.x, self.y, self.width, self.height
        )
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyList::new(py, [self.x, self.y, self.width, self.height])?
            .as_any()
            .try_iter()
            .map(Bound::into_any)
    }

    fn __len__(&self) -> usize {
        4
    }

    fn __hash__(&self) -> u64 {
        (u64::from(self.x) << 48)
            ^ (u64::from(self.y) << 32)
            ^ (u64::from(self.width) << 16)
            ^ u64::from(self.height)
    }

    /// `{"x", "y", "width", "height"}`, as the server's API writes it.
    // A Python method: pyo3 hands it `&self`, small and `Copy` as the box is.
    #[allow(clippy::wrong_self_convention)]
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("x", self.x)?;
        d.set_item("y", self.y)?;
        d.set_item("width", self.width)?;
        d.set_item("height", self.height)?;
        Ok(d)
    }
}

/// One face's emotion.
#[derive(Clone, Debug)]
pub struct Face {
    pub bounds: Option<FaceBounds>,
    pub emotion: String,
    pub confidence: f64,
    /// In the canonical order; empty when scores were not asked for.
    pub scores: Vec<(String, f64)>,
    pub cached: bool,
    /// The face detector's confidence, for a face it found.
    pub detection_confidence: Option<f64>,
    /// Streams: the face's track, and the emotion shown before this frame's change of it.
    pub track_id: Option<u64>,
    pub changed_from: Option<String>,
}

/// The emotion of one face of a frame.
#[pyclass(frozen, module = "emotion_client")]
#[derive(Clone, Debug)]
pub struct FaceResult {
    face: Face,
}

fn scores_dict<'py>(py: Python<'py>, scores: &[(String, f64)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, score) in scores {
        d.set_item(name, score)?;
    }
    Ok(d)
}

fn face_dict<'py>(py: Python<'py>, face: &Face) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("emotion", &face.emotion)?;
    d.set_item("confidence", face.confidence)?;
    if !face.scores.is_empty() {
        d.set_item("all_scores", scores_dict(py, &face.scores)?)?;
    }
    match face.bounds {
        Some(b) => d.set_item("face_bounds", b.to_dict(py)?)?,
        None => d.set_item("face_bounds", py.None())?,
    }
    d.set_item("cached", face.cached)?;
    // Only when known, as the server's JSON has them.
    if let Some(c) = face.detection_confidence {
        d.set_item("detection_confidence", c)?;
    }
    if let Some(id) = face.track_id {
        d.set_item("track_id", id)?;
    }
    if let Some(from) = &face.changed_from {
        d.set_item("changed_from", from)?;
    }
    Ok(d)
}

/// `, detection_confidence=..., track_id=..., changed_from=...` for the fields a face has.
fn face_extras_repr(face: &Face) -> String {
    let mut s = String::new();
    if let Some(c) = face.detection_confidence {
        s.push_str(&format!(", detection_confidence={c:.3}"));
    }
    if let Some(id) = face.track_id {
        s.push_str(&format!(", track_id={id}"));
    }
    if let Some(from) = &face.changed_from {
        s.push_str(&format!(", changed_from={from:?}"));
    }
    s
}

#[pymethods]
impl FaceResult {
    #[getter]
    fn emotion(&self) -> &str {
        &self.face.emotion
    }
    #[getter]
    fn confidence(&self) -> f64 {
        self.face.confidence
    }
    #[getter]
    fn scores<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        scores_dict(py, &self.face.scores)
    }
    #[getter]
    fn face_bounds(&self) -> Option<FaceBounds> {
        self.face.bounds
    }
    #[getter]
    fn cached(&self) -> bool {
        self.face.cached
    }
    /// The face detector's confidence (none for a box the caller gave, or the whole frame).
    #[getter]
    fn detection_confidence(&self) -> Option<f64> {
        self.face.detection_confidence
    }
    /// Streams: the id of the face's track, kept while the face stays in view.
    #[getter]
    fn track_id(&self) -> Option<u64> {
        self.face.track_id
    }
    /// Streams: the emotion shown for this track before this frame, when it changed with it.
    #[getter]
    fn changed_from(&self) -> Option<&str> {
        self.face.changed_from.as_deref()
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        face_dict(py, &self.face)
    }
    fn __repr__(&self) -> String {
        format!(
            "FaceResult(emotion={:?}, confidence={:.3}, face_bounds={}{})",
            self.face.emotion,
            self.face.confidence,
            bounds_repr(self.face.bounds),
            face_extras_repr(&self.face)
        )
    }
}

fn bounds_repr(b: Option<FaceBounds>) -> String {
    b.map_or_else(|| "None".to_owned(), |b| b.__repr__())
}

/// The answer for one frame.
#[pyclass(frozen, module = "emotion_client")]
#[derive(Clone, Debug)]
pub struct Detection {
    /// Largest first; never empty.
    pub faces: Vec<Face>,
    pub face_detected: bool,
    pub model_used: String,
    pub fallback: bool,
    pub processing_ms: f64,
    pub timestamp: f64,
    /// Streams: the id `send` returned for the frame, frames replaced before it was taken,
    /// and the tracks that ended with it.
    pub frame_id: Option<u64>,
    pub dropped_frames: u64,
    pub tracks_ended: Vec<u64>,
}

impl Detection {
    pub fn primary(&self) -> &Face {
        &self.faces[0]
    }

    /// From the engine's answer; boxes moved back by `origin` (the copied region's corner).
    pub fn from_core(d: emotion_core::Detection, all_scores: bool, origin: (u32, u32)) -> Self {
        let faces = d
            .faces
            .iter()
            .map(|f| Face {
                bounds: Some(shift(f.face_bounds, origin)),
                emotion: f.emotion.as_str().to_owned(),
                confidence: f64::from(f.confidence),
                scores: if all_scores {
                    f.scores
                        .iter()
                        .map(|(e, s)| (e.as_str().to_owned(), f64::from(s)))
                        .collect()
                } else {
                    Vec::new()
                },
                cached: f.cached,
                detection_confidence: f.detection_confidence.map(f64::from),
                track_id: f.track_id,
                changed_from: None,
            })
            .collect();
        Detection {
            faces,
            face_detected: d.face_detected,
            model_used: d.model_used,
            fallback: d.fallback,
            processing_ms: d.processing_ms,
            timestamp: d.timestamp,
            frame_id: None,
            dropped_frames: 0,
            tracks_ended: Vec::new(),
        }
    }

    /// From the server's JSON (a Detection, or a WebSocket result message).
    pub fn from_json(value: Value, origin: (u32, u32)) -> Outcome<Self> {
        let wire: WireDetection = serde_json::from_value(value)
            .map_err(|e| Failure::protocol(format!("unexpected answer from the server: {e}")))?;
        let mut faces = Vec::with_capacity(wire.faces.len().max(1));
        if wire.faces.is_empty() {
            faces.push(wire.primary.into_face(origin));
        } else {
            faces.extend(wire.faces.into_iter().map(|f| f.into_face(origin)));
        }
        Ok(Detection {
            faces,
            face_detected: wire.face_detected.unwrap_or(false),
            model_used: wire.model_used.unwrap_or_default(),
            fallback: wire.fallback.unwrap_or(false),
            processing_ms: wire.processing_ms.unwrap_or(0.0),
            timestamp: wire.timestamp.unwrap_or(0.0),
            frame_id: wire.frame_id.as_ref().and_then(Value::as_u64),
            dropped_frames: wire.dropped_frames.unwrap_or(0),
            tracks_ended: wire.tracks_ended,
        })
    }
}

fn shift(b: PixelBox, origin: (u32, u32)) -> FaceBounds {
    FaceBounds {
        x: b.x + origin.0,
        y: b.y + origin.1,
        width: b.width,
        height: b.height,
    }
}

#[derive(Deserialize)]
struct WireFace {
    emotion: String,
    confidence: f64,
    face_bounds: Option<PixelBox>,
    all_scores: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    cached: bool,
    detection_confidence: Option<f64>,
    track_id: Option<u64>,
}

impl WireFace {
    fn into_face(self, origin: (u32, u32)) -> Face {
        let mut scores = Vec::new();
        if let Some(mut all) = self.all_scores {
            // The canonical order first, then anything else the server sent.
            for e in Emotion::ALL {
                if let Some(v) = all.remove(e.as_str()).and_then(|v| v.as_f64()) {
                    scores.push((e.as_str().to_owned(), v));
                }
            }
            scores.extend(all.into_iter().filter_map(|(k, v)| Some((k, v.as_f64()?))));
        }
        Face {
            bounds: self.face_bounds.map(|b| shift(b, origin)),
            emotion: self.emotion,
            confidence: self.confidence,
            scores,
            cached: self.cached,
            detection_confidence: self.detection_confidence,
            track_id: self.track_id,
            changed_from: None,
        }
    }
}

#[derive(Deserialize)]
struct WireDetection {
    #[serde(flatten)]
    primary: WireFace,
    face_detected: Option<bool>,
    model_used: Option<String>,
    fallback: Option<bool>,
    processing_ms: Option<f64>,
    timestamp: Option<f64>,
    #[serde(default)]
    faces: Vec<WireFace>,
    frame_id: Option<Value>,
    dropped_frames: Option<u64>,
    #[serde(default)]
    tracks_ended: Vec<u64>,
}

#[pymethods]
impl Detection {
    /// The dominant emotion of the largest face (smoothed in streams).
    #[getter]
    fn emotion(&self) -> &str {
        &self.primary().emotion
    }
    #[getter]
    fn confidence(&self) -> f64 {
        self.primary().confidence
    }
    /// All seven scores of the largest face, in the canonical order (empty when not asked for).
    #[getter]
    fn scores<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        scores_dict(py, &self.primary().scores)
    }
    #[getter]
    fn face_bounds(&self) -> Option<FaceBounds> {
        self.primary().bounds
    }
    #[getter]
    fn cached(&self) -> bool {
        self.primary().cached
    }
    #[getter]
    fn face_detected(&self) -> bool {
        self.face_detected
    }
    #[getter]
    fn model_used(&self) -> &str {
        &self.model_used
    }
    #[getter]
    fn fallback(&self) -> bool {
        self.fallback
    }
    #[getter]
    fn processing_ms(&self) -> f64 {
        self.processing_ms
    }
    #[getter]
    fn timestamp(&self) -> f64 {
        self.timestamp
    }
    #[getter]
    fn frame_id(&self) -> Option<u64> {
        self.frame_id
    }
    #[getter]
    fn dropped_frames(&self) -> u64 {
        self.dropped_frames
    }
    /// Streams: the emotion of the largest face before this frame, when its track's shown
    /// emotion changed with it (each face has its own in `faces`).
    #[getter]
    fn changed_from(&self) -> Option<&str> {
        self.primary().changed_from.as_deref()
    }
    /// Streams: the tracks that ended with this frame (their faces stayed away too long).
    #[getter]
    fn tracks_ended(&self) -> Vec<u64> {
        self.tracks_ended.clone()
    }
    /// The largest face's detector confidence.
    #[getter]
    fn detection_confidence(&self) -> Option<f64> {
        self.primary().detection_confidence
    }
    /// Streams: the largest face's track.
    #[getter]
    fn track_id(&self) -> Option<u64> {
        self.primary().track_id
    }
    /// Every face, largest first; never empty.
    #[getter]
    fn faces(&self) -> Vec<FaceResult> {
        self.faces
            .iter()
            .map(|f| FaceResult { face: f.clone() })
            .collect()
    }

    /// The API's JSON shape: `emotion`, `confidence`, `all_scores`, `face_bounds`, ...
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = face_dict(py, self.primary())?;
        d.set_item("face_detected", self.face_detected)?;
        d.set_item("model_used", &self.model_used)?;
        d.set_item("fallback", self.fallback)?;
        d.set_item("processing_ms", self.processing_ms)?;
        d.set_item("timestamp", self.timestamp)?;
        if self.faces.len() > 1 {
            let faces = PyList::empty(py);
            for f in &self.faces {
                faces.append(face_dict(py, f)?)?;
            }
            d.set_item("faces", faces)?;
        }
        if let Some(id) = self.frame_id {
            d.set_item("frame_id", id)?;
            d.set_item("dropped_frames", self.dropped_frames)?;
            d.set_item("tracks_ended", &self.tracks_ended)?;
        }
        // The largest face's `changed_from`, from `face_dict`, is the detection's too.
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let f = self.primary();
        let mut s = format!(
            "Detection(emotion={:?}, confidence={:.3}, face_bounds={}, model_used={:?}, cached={}, processing_ms={:.2}",
            f.emotion,
            f.confidence,
            bounds_repr(f.bounds),
            self.model_used,
            if f.cached { "True" } else { "False" },
            self.processing_ms
        );
        if self.faces.len() > 1 {
            s.push_str(&format!(", faces={}", self.faces.len()));
        }
        s.push_str(&face_extras_repr(f));
        if let Some(id) = self.frame_id {
            s.push_str(&format!(", frame_id={id}"));
        }
        if !self.tracks_ended.is_empty() {
            s.push_str(&format!(", tracks_ended={:?}", self.tracks_ended));
        }
        s.push(')');
        s
    }
}
