//! Streams: frames from one source followed over time. Faces are tracked from frame to frame,
//! each track smooths its own emotion and reports its changes, and a latest-frame-wins slot
//! keeps a live feed real-time.

mod faces;
mod latest;
mod smooth;

pub use faces::{EmotionChange, TrackEvents, Tracker};
pub use latest::LatestSlot;
pub use smooth::Smoother;

use crate::detection::Detection;
use crate::engine::{DetectRequest, Engine};
use crate::error::Result;

/// A stream of frames from one source (a WebSocket, a game loop): the engine plus that source's
/// face tracks.
#[derive(Debug)]
pub struct Stream {
    engine: Engine,
    tracker: Tracker,
}

impl Stream {
    pub(crate) fn new(engine: Engine) -> Stream {
        Stream {
            engine,
            tracker: Tracker::default(),
        }
    }

    /// The tracks: their smoothing and timeout.
    pub fn tracker_mut(&mut self) -> &mut Tracker {
        &mut self.tracker
    }

    /// Detects, then tracks the faces: each face gets its track's id, and its reported emotion,
    /// confidence and scores are the track's smoothed ones.
    ///
    /// A frame in which the detector found no face has no face to track (its whole-image answer
    /// is passed on as it is); without a detector, the whole image is the face and is tracked.
    pub async fn detect(&mut self, request: DetectRequest) -> Result<(Detection, TrackEvents)> {
        let mut detection = self.engine.detect(request).await?;
        let faces = if detection.face_detected || !self.engine.detects_faces() {
            &mut detection.faces[..]
        } else {
            &mut []
        };
        let events = self.tracker.update(faces);
        Ok((detection, events))
    }
}
