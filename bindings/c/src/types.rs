//! The plain C structs and enums that cross the boundary, and their conversions.

use emotion_core::{Detection, Emotion, EmotionChange, FaceBox, PixelBox, PixelFormat};

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

/// The answer for one frame: the largest face's emotion.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct emotion_detection {
    /// The dominant emotion (smoothed, for `emotion_poll`).
    pub emotion: emotion_kind,
    /// Its score, in `[0, 1]`.
    pub confidence: f32,
    /// All seven scores in `emotion_kind` order, summing to 1.
    pub scores: [f32; EMOTION_COUNT],
    /// The face region used, in pixels of the frame (the whole frame when no box was given).
    pub face_bounds: emotion_rect,
    /// Whether `face_bounds` came from a face box rather than the whole frame.
    pub face_detected: bool,
    /// `emotion_poll` only: the smoothed emotion changed with this frame, from `previous_emotion`.
    pub emotion_changed: bool,
    /// The emotion before the change; equal to `emotion` when `emotion_changed` is false.
    pub previous_emotion: emotion_kind,
    /// Faces classified in the frame.
    pub face_count: u32,
    /// Time the engine spent on the frame, in milliseconds.
    pub processing_ms: f32,
    /// `emotion_poll` only: the number `emotion_submit` returned for this frame (0 otherwise).
    pub frame_id: u64,
    /// `emotion_poll` only: frames submitted since the previous result that were replaced by a
    /// newer one before the worker reached them (latest frame wins).
    pub dropped_frames: u64,
}

impl emotion_detection {
    #[allow(clippy::cast_possible_truncation)]
    pub fn new(d: &Detection, change: Option<&EmotionChange>) -> emotion_detection {
        let face = d.primary();
        let emotion = emotion_kind::from(face.emotion);
        emotion_detection {
            emotion,
            confidence: face.confidence,
            scores: *face.scores.as_array(),
            face_bounds: emotion_rect::from_pixels(face.face_bounds),
            face_detected: d.face_detected,
            emotion_changed: change.is_some(),
            previous_emotion: change.map_or(emotion, |c| c.from.into()),
            face_count: u32::try_from(d.faces.len()).unwrap_or(u32::MAX),
            processing_ms: d.processing_ms as f32,
            frame_id: 0,
            dropped_frames: 0,
        }
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
        }
    }
}

/// The default settings.
#[unsafe(no_mangle)]
pub extern "C" fn emotion_config_default() -> emotion_config {
    emotion_config::default()
}
