//! emotion-core: the facial emotion engine, from encoded frame to [`Detection`].
//!
//! The path a frame travels reads top to bottom in the modules below:
//! [`frame`] (decode, limits) → [`face`] (which region) → [`preprocess`] (model input) →
//! [`cache`] (shared results) → [`classify`] (the models) → [`labels`] (canonical names) →
//! [`track`] (face tracks and smoothing for streams). [`engine`] ties them together.

pub mod cache;
pub mod classify;
mod compute;
pub mod detection;
pub mod detector;
pub mod emotion;
pub mod engine;
pub mod error;
pub mod eval;
pub mod face;
pub mod frame;
#[cfg(feature = "remote")]
pub mod http;
pub mod labels;
pub mod preprocess;
pub mod ratelimit;
pub mod secret;
pub mod track;

pub use classify::{Classifier, ModelKind, ModelState, ModelStatus, local::LocalModel};
pub use detection::{Detection, FaceResult};
pub use emotion::{Emotion, Scores};
pub use engine::{DetectRequest, Engine, EngineBuilder};
pub use error::{Error, ErrorKind, Result};
pub use face::{FaceBox, PixelBox};
pub use frame::{Frame, Limits, PixelFormat};
pub use secret::Secret;
pub use track::{EmotionChange, Smoother, Stream, TrackEvents, Tracker};
