//! The plain C structs and enums that cross the boundary, and their conversions.

use emotion_core::detector::DetectorRange;
use emotion_core::{
    Detection, Emotion, EmotionChange, FaceBox, FaceResult, PixelBox, PixelFormat, TrackEvents,
};

use crate::error::FfiError;

/// The seven emotions, in the engine's canonical order (FER2013's); `emotion_label` names them.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum emotion_kind {
    EMOTION_ANGRY = 0,
    EMOTION_DISGUST = 1,
    EMOTION_FEAR = 2,
    EMOTION_HAPPY = 3,
    EMOTION_SAD = 4,
    EMOTION_SURPRISE = 5,
    EMOTION_NEUTRAL = 6,
}

/// Number of emotions: the length of `emotion_detection.scores`.
pub const EMOTION_COUNT: usize = 7;

/// The most faces one result holds: the length of `emotion_detection.faces`, and the largest
/// `emotion_config.max_faces`.
pub const EMOTION_MAX_FACES: usize = 8;

impl From<Emotion> for emotion_kind {
    fn from(e: Emotion) -> emotion_kind {
        use emotion_kind::*;
        match e {
            Emotion::Angry => EMOTION_ANGRY,
            Emotion::Disgust => EMOTION_DISGUST,
            Emotion::Fear => EMOTION_FEAR,
            Emotion::Happy => EMOTION_HAPPY,
            Emotion::Sad => EMOTION_SAD,
            Emotion::Surprise => EMOTION_SURPRISE,
            Emotion::Neutral => EMOTION_NEUTRAL,
        }
    }
}

/// Layouts of raw pixels, 8 bits a channel, rows top to bottom. Functions take them as a
/// `uint32_t`; any other value gives `EMOTION_INVALID_ARGUMENT`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum emotion_pixel_format {
    EMOTION_PIXEL_FORMAT_RGBA = 0,
    EMOTION_PIXEL_FORMAT_RGB = 1,
    EMOTION_PIXEL_FORMAT_BGRA = 2,
    EMOTION_PIXEL_FORMAT_BGR = 3,
    EMOTION_PIXEL_FORMAT_GRAY = 4,
}

/// The core's layout for a `uint32_t` from C (never trusted to be a valid enum value).
pub fn pixel_format(value: u32) -> Result<PixelFormat, FfiError> {
    use emotion_pixel_format::*;
    Ok(match value {
        v if v == EMOTION_PIXEL_FORMAT_RGBA as u32 => PixelFormat::Rgba8,
        v if v == EMOTION_PIXEL_FORMAT_RGB as u32 => PixelFormat::Rgb8,
        v if v == EMOTION_PIXEL_FORMAT_BGRA as u32 => PixelFormat::Bgra8,
        v if v == EMOTION_PIXEL_FORMAT_BGR as u32 => PixelFormat::Bgr8,
        v if v == EMOTION_PIXEL_FORMAT_GRAY as u32 => PixelFormat::Gray8,
        other => {
            return Err(FfiError::InvalidArgument(format!(
                "unknown pixel format {other}: use one of EMOTION_PIXEL_FORMAT_*"
            )));
        }
    })
}

/// How a client finds the faces of frames that come without a face box. Set in
/// `emotion_config.face_detector` as a `uint32_t`; any other value gives
/// `EMOTION_INVALID_ARGUMENT`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum emotion_face_detector {
    /// No detector: a frame without a box is classified whole, as one face crop.
    EMOTION_FACE_DETECTOR_OFF = 0,
    /// BlazeFace short range: faces within about 2 m of the camera, ~5 ms a frame.
    EMOTION_FACE_DETECTOR_SHORT = 1,
    /// BlazeFace full range: faces at any distance, ~17 ms a frame.
    EMOTION_FACE_DETECTOR_FULL = 2,
}

/// The core's detector for a `uint32_t` from C.
pub fn face_detector(value: u32) -> Result<Option<DetectorRange>, FfiError> {
    use emotion_face_detector::*;
    Ok(match value {
        v if v == EMOTION_FACE_DETECTOR_OFF as u32 => None,
        v if v == EMOTION_FACE_DETECTOR_SHORT as u32 => Some(DetectorRange::Short),
        v if v == EMOTION_FACE_DETECTOR_FULL as u32 => Some(DetectorRange::Full),
        other => {
            return Err(FfiError::InvalidArgument(format!(
                "face_detector must be one of EMOTION_FACE_DETECTOR_* (0 off, 1 short, 2 full), \
                 got {other}"
            )));
        }
    })
}

/// A rectangle in source-image pixels, top-left origin. As an input (a face box from the
/// caller's own detector) it may also be relative to the image size: all four values in
/// `[0, 1]` with at least one fraction, as MediaPipe reports boxes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct emotion_rect {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

impl emotion_rect {
    pub fn to_face(self) -> FaceBox {
        FaceBox {
            x: f64::from(self.x),
            y: f64::from(self.y),
            width: f64::from(self.width),
            height: f64::from(self.height),
        }
    }

    #[allow(clippy::cast_precision_loss)]
    fn from_pixels(b: PixelBox) -> emotion_rect {
        emotion_rect {
            x: b.x as f32,
            y: b.y as f32,
            width: b.width as f32,
            height: b.height as f32,
        }
    }
}

/// One face of a frame.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct emotion_face {
    /// The face region, in pixels of the frame (the whole frame when no face was given or found).
    pub face_bounds: emotion_rect,
    /// The dominant emotion (smoothed along its track, for `emotion_poll`).
    pub emotion: emotion_kind,
    /// Its score, in `[0, 1]`.
    pub confidence: f32,
    /// All seven scores in `emotion_kind` order, summing to 1.
    pub scores: [f32; EMOTION_COUNT],
    /// The face detector's confidence in `(0, 1]` for a face it found; 0 for a box the caller
    /// gave (or the whole frame).
    pub detection_confidence: f32,
    /// `emotion_poll` only: the face's smoothed emotion changed with this frame, from
    /// `previous_emotion`.
    pub emotion_changed: bool,
    /// The emotion before the change; equal to `emotion` when `emotion_changed` is false.
    pub previous_emotion: emotion_kind,
    /// `emotion_poll` only: the face's track, the same number while the face stays in view
    /// (from 1 up, never reused by a client); 0 for blocking calls.
    pub track_id: u64,
}

impl emotion_face {
    const EMPTY: emotion_face = emotion_face {
        face_bounds: emotion_rect {
            x: 0.0,
            y: 0.0,
            width: 0.0,
            height: 0.0,
        },
        emotion: emotion_kind::EMOTION_ANGRY,
        confidence: 0.0,
        scores: [0.0; EMOTION_COUNT],
        detection_confidence: 0.0,
        emotion_changed: false,
        previous_emotion: emotion_kind::EMOTION_ANGRY,
        track_id: 0,
    };

    fn new(face: &FaceResult, change: Option<&EmotionChange>) -> emotion_face {
        let emotion = emotion_kind::from(face.emotion);
        emotion_face {
            face_bounds: emotion_rect::from_pixels(face.face_bounds),
            emotion,
            confidence: face.confidence,
            scores: *face.scores.as_array(),
            detection_confidence: face.detection_confidence.unwrap_or(0.0),
            emotion_changed: change.is_some(),
            previous_emotion: change.map_or(emotion, |c| c.from.into()),
            track_id: face.track_id.unwrap_or(0),
        }
    }
}

/// The answer for one frame: every face, largest first, and the largest face's fields at the
/// top level (so that one-face callers read `emotion` and need not look further).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct emotion_detection {
    /// The largest face's dominant emotion (smoothed, for `emotion_poll`).
    pub emotion: emotion_kind,
    /// Its score, in `[0, 1]`.
    pub confidence: f32,
    /// All seven scores in `emotion_kind` order, summing to 1.
    pub scores: [f32; EMOTION_COUNT],
    /// The largest face's region, in pixels of the frame (the whole frame when no face was
    /// given or found).
    pub face_bounds: emotion_rect,
    /// Whether the faces came from a face box (given or found) rather than the whole frame.
    pub face_detected: bool,
    /// `emotion_poll` only: the largest face's smoothed emotion changed with this frame, from
    /// `previous_emotion`.
    pub emotion_changed: bool,
    /// The emotion before the change; equal to `emotion` when `emotion_changed` is false.
    pub previous_emotion: emotion_kind,
    /// Faces in `faces`.
    pub face_count: u32,
    /// Time the engine spent on the frame, in milliseconds.
    pub processing_ms: f32,
    /// `emotion_poll` only: the number `emotion_submit` returned for this frame (0 otherwise).
    pub frame_id: u64,
    /// `emotion_poll` only: frames submitted since the previous result that were replaced by a
    /// newer one before the worker reached them (latest frame wins).
    pub dropped_frames: u64,
    /// Every face, largest first; entries from `face_count` on are zeroed.
    pub faces: [emotion_face; EMOTION_MAX_FACES],
    /// `emotion_poll` only: tracks that ended since the previous result (their face was
    /// missing for `emotion_config.track_timeout` frames); the first `EMOTION_MAX_FACES` ids.
    pub ended_tracks: [u64; EMOTION_MAX_FACES],
    /// How many tracks ended: may exceed `EMOTION_MAX_FACES`, whose ids were not all listed.
    pub ended_track_count: u32,
}

impl emotion_detection {
    #[allow(clippy::cast_possible_truncation)]
    pub fn new(d: &Detection, events: &TrackEvents) -> emotion_detection {
        let mut faces = [emotion_face::EMPTY; EMOTION_MAX_FACES];
        for (slot, face) in faces.iter_mut().zip(&d.faces) {
            let change = face
                .track_id
                .and_then(|id| events.changes.iter().find(|c| c.track_id == id));
            *slot = emotion_face::new(face, change);
        }
        let mut ended_tracks = [0; EMOTION_MAX_FACES];
        for (slot, id) in ended_tracks.iter_mut().zip(&events.ended) {
            *slot = *id;
        }
        let mut detection = emotion_detection {
            emotion: emotion_kind::EMOTION_ANGRY,
            confidence: 0.0,
            scores: [0.0; EMOTION_COUNT],
            face_bounds: emotion_rect::default(),
            face_detected: d.face_detected,
            emotion_changed: false,
            previous_emotion: emotion_kind::EMOTION_ANGRY,
            face_count: u32::try_from(d.faces.len().min(EMOTION_MAX_FACES)).unwrap_or(0),
            processing_ms: d.processing_ms as f32,
            frame_id: 0,
            dropped_frames: 0,
            faces,
            ended_tracks,
            ended_track_count: u32::try_from(events.ended.len()).unwrap_or(u32::MAX),
        };
        detection.show_largest();
        detection
    }

    /// Copies the largest face to the top-level fields.
    fn show_largest(&mut self) {
        let face = self.faces[0];
        self.emotion = face.emotion;
        self.confidence = face.confidence;
        self.scores = face.scores;
        self.face_bounds = face.face_bounds;
        self.emotion_changed = face.emotion_changed;
        self.previous_emotion = face.previous_emotion;
    }

    /// Takes in the events of an `older` result that nobody polled, so that this one reports
    /// them: its frame and those it stood for as dropped, its ended tracks first, and for each
    /// face still in view the change over both frames (none if it changed back).
    pub fn absorb(&mut self, older: &emotion_detection) {
        self.dropped_frames += older.dropped_frames + 1;
        let count = self.face_count as usize;
        for face in self.faces[..count].iter_mut().filter(|f| f.track_id != 0) {
            let Some(before) = older.faces[..older.face_count as usize]
                .iter()
                .find(|f| f.track_id == face.track_id && f.emotion_changed)
            else {
                continue;
            };
            face.previous_emotion = before.previous_emotion;
            face.emotion_changed = face.previous_emotion != face.emotion;
        }
        let older_listed = (older.ended_track_count as usize).min(EMOTION_MAX_FACES);
        let listed = (self.ended_track_count as usize).min(EMOTION_MAX_FACES);
        let mut ended = [0; EMOTION_MAX_FACES];
        let ids = older.ended_tracks[..older_listed]
            .iter()
            .chain(&self.ended_tracks[..listed]);
        for (slot, id) in ended.iter_mut().zip(ids) {
            *slot = *id;
        }
        self.ended_tracks = ended;
        self.ended_track_count = self
            .ended_track_count
            .saturating_add(older.ended_track_count);
        self.show_largest();
    }
}

/// Settings of a client; start from `emotion_config_default()` and change what you need.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct emotion_config {
    /// Threads for decoding and local inference. 0: one per core. The default, 1, leaves the
    /// other cores to the game.
    pub workers: u32,
    /// Results kept for repeated identical faces; 0 turns the cache off.
    pub cache_entries: u32,
    /// How long a cached result is kept, in milliseconds.
    pub cache_ttl_ms: u32,
    /// `emotion_submit`/`emotion_poll` smoothing in `[0, 1]`: 0 reports raw scores, values near 1
    /// follow changes slowly. Changeable later with `emotion_set_smoothing`.
    pub smoothing: f32,
    /// Remote clients: the longest wait for one call, in milliseconds.
    pub timeout_ms: u32,
    /// Margin added around a face box on each side, as a fraction of its side.
    pub crop_margin: f32,
    /// How faces are found in frames that come without a box: an `emotion_face_detector`. The
    /// default, short range, suits a camera in front of the player.
    pub face_detector: u32,
    /// At most this many found faces are classified, the largest first; 1 to
    /// `EMOTION_MAX_FACES` (default 5).
    pub max_faces: u32,
    /// Found faces narrower or shorter than this many pixels are ignored (default 0).
    pub min_face_size: u32,
    /// `emotion_submit`/`emotion_poll`: a face's track ends once the face has been missing from
    /// this many results in a row (at least 1; default 15, half a second at 30 FPS).
    pub track_timeout: u32,
}

impl Default for emotion_config {
    fn default() -> Self {
        emotion_config {
            workers: 1,
            cache_entries: 256,
            cache_ttl_ms: 60_000,
            smoothing: 0.5,
            timeout_ms: 10_000,
            crop_margin: 0.1,
            face_detector: emotion_face_detector::EMOTION_FACE_DETECTOR_SHORT as u32,
            max_faces: 5,
            min_face_size: 0,
            track_timeout: emotion_core::Tracker::DEFAULT_TIMEOUT,
        }
    }
}

/// The default settings.
#[unsafe(no_mangle)]
pub extern "C" fn emotion_config_default() -> emotion_config {
    emotion_config::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(
        track_id: u64,
        emotion: emotion_kind,
        changed_from: Option<emotion_kind>,
    ) -> emotion_face {
        emotion_face {
            emotion,
            emotion_changed: changed_from.is_some(),
            previous_emotion: changed_from.unwrap_or(emotion),
            track_id,
            ..emotion_face::EMPTY
        }
    }

    fn result(faces: &[emotion_face], ended: &[u64], dropped: u64) -> emotion_detection {
        let mut r = emotion_detection {
            emotion: emotion_kind::EMOTION_ANGRY,
            confidence: 0.0,
            scores: [0.0; EMOTION_COUNT],
            face_bounds: emotion_rect::default(),
            face_detected: true,
            emotion_changed: false,
            previous_emotion: emotion_kind::EMOTION_ANGRY,
            face_count: faces.len() as u32,
            processing_ms: 1.0,
            frame_id: 0,
            dropped_frames: dropped,
            faces: [emotion_face::EMPTY; EMOTION_MAX_FACES],
            ended_tracks: [0; EMOTION_MAX_FACES],
            ended_track_count: ended.len() as u32,
        };
        r.faces[..faces.len()].copy_from_slice(faces);
        r.ended_tracks[..ended.len()].copy_from_slice(ended);
        r.show_largest();
        r
    }

    #[test]
    fn an_unpolled_result_passes_its_events_to_the_next() {
        use emotion_kind::*;
        // Track 1 turned happy in the unpolled frame and stays happy; track 2 turned sad and
        // back to neutral; track 3 ended.
        let older = result(
            &[
                face(1, EMOTION_HAPPY, Some(EMOTION_NEUTRAL)),
                face(2, EMOTION_SAD, Some(EMOTION_NEUTRAL)),
            ],
            &[3],
            2,
        );
        let mut newer = result(
            &[
                face(1, EMOTION_HAPPY, None),
                face(2, EMOTION_NEUTRAL, Some(EMOTION_SAD)),
            ],
            &[4],
            0,
        );
        newer.absorb(&older);
        assert_eq!(newer.dropped_frames, 3);
        assert!(newer.faces[0].emotion_changed && newer.emotion_changed);
        assert_eq!(newer.previous_emotion, EMOTION_NEUTRAL);
        assert!(!newer.faces[1].emotion_changed, "changed and changed back");
        assert_eq!(
            (newer.ended_track_count, &newer.ended_tracks[..2]),
            (2, &[3, 4][..])
        );
    }
}
