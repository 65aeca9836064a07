//! Face tracks: each frame's faces matched to the faces of the frames before, so that a face
//! keeps its id, and its own smoothing, while it moves; a track ends when its face stays away.

use serde::Serialize;

use super::smooth::Smoother;
use crate::detection::FaceResult;
use crate::emotion::Emotion;
use crate::face::PixelBox;

/// The smoothed dominant emotion of a tracked face changed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EmotionChange {
    pub track_id: u64,
    pub from: Emotion,
    pub to: Emotion,
    pub confidence: f32,
}

/// What one frame did to the tracks, besides smoothing its faces.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrackEvents {
    /// Faces whose smoothed emotion changed with this frame.
    pub changes: Vec<EmotionChange>,
    /// Tracks that ended with this frame: their faces were missing for the timeout.
    pub ended: Vec<u64>,
}

/// Overlap from which a face is taken to be the track's face moved on.
const MIN_IOU: f32 = 0.3;
/// A face that overlaps less (fast motion, a small face) still continues a track when its
/// centre moved by at most this fraction of the track's larger side, at a similar size.
const MAX_CENTRE_SHIFT: f32 = 0.5;
const MAX_SIZE_RATIO: f32 = 2.0;

#[derive(Clone, Debug)]
struct Track {
    id: u64,
    bounds: PixelBox,
    smoother: Smoother,
    missed: u32,
}

/// The faces followed by one stream.
#[derive(Clone, Debug)]
pub struct Tracker {
    tracks: Vec<Track>,
    next_id: u64,
    smoothing: f32,
    timeout: u32,
    /// Scratch space for the candidate pairs, kept so that a frame allocates nothing here.
    pairs: Vec<(f32, usize, usize)>,
    matched: Vec<Option<usize>>,
    seen: Vec<bool>,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker::new(0.5)
    }
}

impl Tracker {
    /// Frames a face may be missing before its track ends: half a second at 30 FPS, enough to
    /// ride out a blink of the detector or a hand passing in front.
    pub const DEFAULT_TIMEOUT: u32 = 15;

    /// Tracks smoothed with `smoothing` (see [`Smoother::new`]).
    pub fn new(smoothing: f32) -> Tracker {
        Tracker {
            tracks: Vec::new(),
            next_id: 1,
            smoothing,
            timeout: Tracker::DEFAULT_TIMEOUT,
            pairs: Vec::new(),
            matched: Vec::new(),
            seen: Vec::new(),
        }
    }

    pub fn smoothing(&self) -> f32 {
        self.smoothing
    }

    /// Changes the smoothing of every track, the live ones too. Streams call it with every
    /// frame, so the same value again costs nothing.
    pub fn set_smoothing(&mut self, smoothing: f32) {
        if smoothing.to_bits() == self.smoothing.to_bits() {
            return;
        }
        self.smoothing = smoothing;
        for track in &mut self.tracks {
            track.smoother.set_smoothing(smoothing);
        }
    }

    /// A track ends once its face has been missing from this many frames in a row (at least 1).
    pub fn set_timeout(&mut self, frames: u32) {
        self.timeout = frames.max(1);
    }

    /// The ids of the live tracks, oldest first.
    pub fn live(&self) -> impl Iterator<Item = u64> + '_ {
        self.tracks.iter().map(|t| t.id)
    }

    /// Matches one frame's faces to the tracks (the closest pairs first), gives each face its
    /// track's id and smoothed emotion, starts a track for each new face and ages the tracks
    /// whose face is missing.
    pub fn update(&mut self, faces: &mut [FaceResult]) -> TrackEvents {
        self.pairs.clear();
        for (t, track) in self.tracks.iter().enumerate() {
            for (f, face) in faces.iter().enumerate() {
                if let Some(score) = similarity(&track.bounds, &face.face_bounds) {
                    self.pairs.push((score, t, f));
                }
            }
        }
        self.pairs.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
        self.matched.clear();
        self.matched.resize(faces.len(), None);
        self.seen.clear();
        self.seen.resize(self.tracks.len(), false);
        for &(_, t, f) in &self.pairs {
            if !self.seen[t] && self.matched[f].is_none() {
                self.seen[t] = true;
                self.matched[f] = Some(t);
            }
        }

        let mut events = TrackEvents::default();
        for (f, face) in faces.iter_mut().enumerate() {
            let t = match self.matched[f] {
                Some(t) => t,
                None => {
                    self.tracks.push(Track {
                        id: self.next_id,
                        bounds: face.face_bounds,
                        smoother: Smoother::new(self.smoothing),
                        missed: 0,
                    });
                    self.next_id += 1;
                    self.seen.push(true);
                    self.tracks.len() - 1
                }
            };
            let track = &mut self.tracks[t];
            track.bounds = face.face_bounds;
            track.missed = 0;
            let (smoothed, shown, change) = track.smoother.update(&face.scores);
            face.scores = smoothed;
            face.emotion = shown;
            face.confidence = smoothed.get(shown);
            face.track_id = Some(track.id);
            if let Some((from, to)) = change {
                events.changes.push(EmotionChange {
                    track_id: track.id,
                    from,
                    to,
                    confidence: face.confidence,
                });
            }
        }

        let timeout = self.timeout;
        let mut seen = self.seen.iter();
        self.tracks.retain_mut(|track| {
            if seen.next().copied().unwrap_or(true) {
                return true;
            }
            track.missed += 1;
            let live = track.missed < timeout;
            if !live {
                events.ended.push(track.id);
            }
            live
        });
        events
    }
}

/// How well `face` continues the track last seen at `track`: its overlap, or (ranked below
/// any overlap) minus its centre's shift; `None` when it is another face.
#[allow(clippy::cast_precision_loss)]
fn similarity(track: &PixelBox, face: &PixelBox) -> Option<f32> {
    let iou = track.iou(face);
    if iou >= MIN_IOU {
        return Some(iou);
    }
    let side = track.width.max(track.height).max(1) as f32;
    let (tx, ty) = track.centre();
    let (fx, fy) = face.centre();
    let shift = (tx - fx).hypot(ty - fy) / side;
    let ratio = (face.area() as f32 / track.area().max(1) as f32).sqrt();
    let similar_size = (1.0 / MAX_SIZE_RATIO..=MAX_SIZE_RATIO).contains(&ratio);
    (shift <= MAX_CENTRE_SHIFT && similar_size).then_some(-shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emotion::Scores;

    fn face(x: u32, y: u32, side: u32, happy: f32) -> FaceResult {
        let scores = Scores::from_weights([0.0, 0.0, 0.0, happy, 1.0 - happy, 0.0, 0.0])
            .expect("valid weights");
        let bounds = PixelBox {
            x,
            y,
            width: side,
            height: side,
        };
        FaceResult::new(bounds, scores, false)
    }

    fn ids(faces: &[FaceResult]) -> Vec<Option<u64>> {
        faces.iter().map(|f| f.track_id).collect()
    }

    #[test]
    fn moving_faces_keep_their_ids_and_a_new_face_gets_a_new_one() {
        let mut tracker = Tracker::new(0.0);
        let mut frame = vec![face(0, 0, 100, 0.9), face(300, 0, 80, 0.9)];
        tracker.update(&mut frame);
        assert_eq!(ids(&frame), [Some(1), Some(2)]);
        // Both move 20 px right; the listing order changes too.
        let mut frame = vec![face(320, 10, 80, 0.9), face(20, 0, 100, 0.9)];
        tracker.update(&mut frame);
        assert_eq!(ids(&frame), [Some(2), Some(1)]);
        let mut frame = vec![
            face(40, 0, 100, 0.9),
            face(340, 0, 80, 0.9),
            face(600, 0, 50, 0.9),
        ];
        tracker.update(&mut frame);
        assert_eq!(ids(&frame), [Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn a_fast_move_with_little_overlap_continues_the_track() {
        let mut tracker = Tracker::new(0.0);
        let mut frame = vec![face(0, 0, 100, 0.9)];
        tracker.update(&mut frame);
        // 45 px to the right: IoU 0.38, matched by overlap.
        let mut frame = vec![face(45, 0, 100, 0.9)];
        tracker.update(&mut frame);
        assert_eq!(ids(&frame), [Some(1)]);
        // 35 px down and right: IoU 0.27, but the centre moved 0.49 of the side.
        let mut frame = vec![face(80, 35, 100, 0.9)];
        tracker.update(&mut frame);
        assert_eq!(ids(&frame), [Some(1)]);
        // Twice the side away, it is someone else.
        let mut frame = vec![face(280, 35, 100, 0.9)];
        let events = tracker.update(&mut frame);
        assert_eq!(ids(&frame), [Some(2)]);
        assert!(events.ended.is_empty());
    }

    #[test]
    fn a_track_ends_after_the_timeout_and_a_returning_face_starts_a_new_one() {
        let mut tracker = Tracker::new(0.0);
        tracker.set_timeout(3);
        tracker.update(&mut [face(0, 0, 100, 0.9), face(300, 0, 100, 0.9)]);
        for _ in 0..2 {
            let events = tracker.update(&mut [face(0, 0, 100, 0.9)]);
            assert!(events.ended.is_empty());
        }
        let events = tracker.update(&mut [face(0, 0, 100, 0.9)]);
        assert_eq!(events.ended, [2]);
        assert_eq!(tracker.live().collect::<Vec<_>>(), [1]);
        let mut frame = vec![face(0, 0, 100, 0.9), face(300, 0, 100, 0.9)];
        tracker.update(&mut frame);
        assert_eq!(ids(&frame), [Some(1), Some(3)]);
    }

    #[test]
    fn a_face_missing_for_less_than_the_timeout_keeps_its_track() {
        let mut tracker = Tracker::new(0.0);
        tracker.set_timeout(3);
        tracker.update(&mut [face(0, 0, 100, 0.9)]);
        tracker.update(&mut []);
        tracker.update(&mut []);
        let mut frame = vec![face(5, 0, 100, 0.9)];
        let events = tracker.update(&mut frame);
        assert_eq!((ids(&frame), events.ended), (vec![Some(1)], vec![]));
    }

    #[test]
    fn each_track_smooths_on_its_own_and_reports_its_changes() {
        let mut tracker = Tracker::new(0.5);
        tracker.update(&mut [face(0, 0, 100, 0.9), face(300, 0, 100, 0.9)]);
        // The right face turns sad; the left one stays happy.
        let mut changes = Vec::new();
        for _ in 0..3 {
            let mut frame = [face(0, 0, 100, 0.9), face(300, 0, 100, 0.1)];
            changes.extend(tracker.update(&mut frame).changes);
            assert_eq!(frame[0].emotion, Emotion::Happy);
        }
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(
            (changes[0].track_id, changes[0].from, changes[0].to),
            (2, Emotion::Happy, Emotion::Sad)
        );
    }
}
