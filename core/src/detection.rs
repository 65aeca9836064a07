//! What the engine answers: the emotion of each face in a frame, largest face first.

use serde::Serialize;
use serde::ser::Serializer;

use crate::emotion::{Emotion, Scores};
use crate::face::PixelBox;

/// The emotion of one face.
#[derive(Clone, Debug, PartialEq)]
pub struct FaceResult {
    /// The face region used, in source-image pixels.
    pub face_bounds: PixelBox,
    pub emotion: Emotion,
    pub confidence: f32,
    pub scores: Scores,
    /// Whether the scores were reused from the cache (or from an identical request in flight).
    pub cached: bool,
    /// The face detector's confidence, for a face it found (none for a box the caller gave).
    pub detection_confidence: Option<f32>,
    /// The face's track, in a stream (none outside streams).
    pub track_id: Option<u64>,
}

impl FaceResult {
    pub fn new(face_bounds: PixelBox, scores: Scores, cached: bool) -> FaceResult {
        let (emotion, confidence) = scores.dominant();
        FaceResult {
            face_bounds,
            emotion,
            confidence,
            scores,
            cached,
            detection_confidence: None,
            track_id: None,
        }
    }
}

/// The answer for one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    /// Every face classified, largest first; never empty (with no face given or found, the
    /// whole image is the one "face").
    pub faces: Vec<FaceResult>,
    /// Whether the faces came from boxes (given or detected) rather than the whole image.
    pub face_detected: bool,
    /// The id of the model that answered (for the largest face).
    pub model_used: String,
    /// Whether that model is a fallback: the chain's first model could not answer.
    pub fallback: bool,
    pub processing_ms: f64,
    /// Unix time in seconds when the answer was made.
    pub timestamp: f64,
}

impl Detection {
    /// The largest face, which the top-level fields describe.
    pub fn primary(&self) -> &FaceResult {
        &self.faces[0]
    }

    /// A serialisable view in the API's shape: the largest face's fields at the top level,
    /// `faces` when there are several, and `all_scores` only when asked for.
    pub fn view(&self, all_scores: bool) -> DetectionView<'_> {
        DetectionView {
            detection: self,
            all_scores,
        }
    }
}

/// See [`Detection::view`].
#[derive(Clone, Copy, Debug)]
pub struct DetectionView<'a> {
    detection: &'a Detection,
    all_scores: bool,
}

#[derive(Serialize)]
struct FaceView<'a> {
    face_bounds: PixelBox,
    emotion: Emotion,
    confidence: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    all_scores: Option<&'a Scores>,
    cached: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    detection_confidence: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    track_id: Option<u64>,
}

impl FaceResult {
    fn view(&self, all_scores: bool) -> FaceView<'_> {
        FaceView {
            face_bounds: self.face_bounds,
            emotion: self.emotion,
            confidence: self.confidence,
            all_scores: all_scores.then_some(&self.scores),
            cached: self.cached,
            detection_confidence: self.detection_confidence,
            track_id: self.track_id,
        }
    }
}

impl Serialize for DetectionView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Flat<'a> {
            #[serde(flatten)]
            primary: FaceView<'a>,
            face_detected: bool,
            model_used: &'a str,
            fallback: bool,
            processing_ms: f64,
            timestamp: f64,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            faces: Vec<FaceView<'a>>,
        }
        let d = self.detection;
        let faces = if d.faces.len() > 1 {
            d.faces.iter().map(|f| f.view(self.all_scores)).collect()
        } else {
            Vec::new()
        };
        Flat {
            primary: d.primary().view(self.all_scores),
            face_detected: d.face_detected,
            model_used: &d.model_used,
            fallback: d.fallback,
            processing_ms: d.processing_ms,
            timestamp: d.timestamp,
            faces,
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(faces: usize) -> Detection {
        let scores = Scores::from_weights([0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 1.0]).unwrap();
        Detection {
            faces: (0..faces)
                .map(|i| FaceResult::new(PixelBox::full(10 - i as u32, 10), scores, false))
                .collect(),
            face_detected: true,
            model_used: "local/test".into(),
            fallback: false,
            processing_ms: 1.5,
            timestamp: 1.0,
        }
    }

    #[test]
    fn one_face_is_flat_and_scores_only_when_asked() {
        let d = detection(1);
        let json = serde_json::to_value(d.view(false)).unwrap();
        assert_eq!(json["emotion"], "happy");
        assert_eq!(json["confidence"], 0.75);
        assert_eq!(json["face_bounds"]["width"], 10);
        assert!(json.get("all_scores").is_none());
        assert!(json.get("faces").is_none());
        let json = serde_json::to_value(d.view(true)).unwrap();
        assert_eq!(json["all_scores"]["neutral"], 0.25);
    }

    #[test]
    fn several_faces_are_listed_with_the_largest_on_top() {
        let json = serde_json::to_value(detection(2).view(true)).unwrap();
        assert_eq!(json["faces"].as_array().unwrap().len(), 2);
        assert_eq!(json["faces"][0]["face_bounds"], json["face_bounds"]);
        assert_eq!(json["faces"][1]["all_scores"]["happy"], 0.75);
    }
}
