//! Streams: per-connection smoothing of the dominant emotion (EMA + hysteresis), change events,
//! and the latest-frame-wins slot that keeps a live feed real-time.

use std::sync::Arc;
use std::task::Poll;

use futures::task::AtomicWaker;
use parking_lot::Mutex;
use serde::Serialize;

use crate::detection::Detection;
use crate::emotion::{Emotion, Scores};
use crate::engine::{DetectRequest, Engine};
use crate::error::Result;

/// The smoothed dominant emotion changed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EmotionChange {
    pub from: Emotion,
    pub to: Emotion,
    pub confidence: f32,
}

/// Exponential moving average of the scores, with hysteresis on the dominant emotion so that
/// an avatar does not flicker between two close emotions.
#[derive(Clone, Debug)]
pub struct Smoother {
    smoothing: f32,
    hysteresis: f32,
    state: Option<Scores>,
    current: Option<Emotion>,
}

impl Default for Smoother {
    fn default() -> Self {
        Smoother::new(0.5)
    }
}

impl Smoother {
    /// Margin by which a new emotion must lead the current one, when smoothing is on.
    const HYSTERESIS: f32 = 0.1;

    /// `smoothing` in `[0, 1]`: 0 reports raw scores, values near 1 follow changes slowly.
    pub fn new(smoothing: f32) -> Smoother {
        let mut s = Smoother {
            smoothing: 0.0,
            hysteresis: 0.0,
            state: None,
            current: None,
        };
        s.set_smoothing(smoothing);
        s
    }

    pub fn smoothing(&self) -> f32 {
        self.smoothing
    }

    /// Changes the strength; the values outside `[0, 1]` are clamped (NaN means off).
    pub fn set_smoothing(&mut self, smoothing: f32) {
        let smoothing = if smoothing.is_nan() {
            0.0
        } else {
            smoothing.clamp(0.0, 0.99)
        };
        self.smoothing = smoothing;
        self.hysteresis = if smoothing > 0.0 {
            Smoother::HYSTERESIS
        } else {
            0.0
        };
    }

    /// Folds in one frame's scores; returns the smoothed scores, the emotion to show, and
    /// the change event when the shown emotion changed.
    pub fn update(&mut self, raw: &Scores) -> (Scores, Emotion, Option<EmotionChange>) {
        let smoothed = match &self.state {
            Some(previous) => raw.blend(previous, 1.0 - self.smoothing),
            None => *raw,
        };
        self.state = Some(smoothed);
        let (top, top_score) = smoothed.dominant();
        let change = match self.current {
            Some(current)
                if top != current && top_score >= smoothed.get(current) + self.hysteresis =>
            {
                Some(EmotionChange {
                    from: current,
                    to: top,
                    confidence: top_score,
                })
            }
            Some(_) => None,
            None => None,
        };
        let shown = match (self.current, change) {
            (Some(current), None) => current,
            _ => top,
        };
        self.current = Some(shown);
        (smoothed, shown, change)
    }
}

/// A stream of frames from one source (a WebSocket, a game loop): the engine plus that source's
/// smoothing state.
#[derive(Debug)]
pub struct Stream {
    engine: Engine,
    smoother: Smoother,
}

impl Stream {
    pub(crate) fn new(engine: Engine) -> Stream {
        Stream {
            engine,
            smoother: Smoother::default(),
        }
    }

    pub fn smoother_mut(&mut self) -> &mut Smoother {
        &mut self.smoother
    }

    /// Detects, then smooths the largest face: its reported emotion, confidence and scores are
    /// the smoothed ones.
    pub async fn detect(
        &mut self,
        request: DetectRequest,
    ) -> Result<(Detection, Option<EmotionChange>)> {
        let mut detection = self.engine.detect(request).await?;
        let face = &mut detection.faces[0];
        let (smoothed, shown, change) = self.smoother.update(&face.scores);
        face.scores = smoothed;
        face.emotion = shown;
        face.confidence = smoothed.get(shown);
        Ok((detection, change))
    }
}

/// A one-place mailbox where a newer item replaces the waiting one (latest wins), counting
/// what it replaced so that no item disappears unaccounted for. One consumer.
#[derive(Debug)]
pub struct LatestSlot<T> {
    state: Mutex<SlotState<T>>,
    waker: AtomicWaker,
}

#[derive(Debug)]
struct SlotState<T> {
    item: Option<T>,
    replaced: u64,
    closed: bool,
}

impl<T> Default for LatestSlot<T> {
    fn default() -> Self {
        LatestSlot {
            state: Mutex::new(SlotState {
                item: None,
                replaced: 0,
                closed: false,
            }),
            waker: AtomicWaker::new(),
        }
    }
}

impl<T> LatestSlot<T> {
    pub fn new() -> Arc<LatestSlot<T>> {
        Arc::new(LatestSlot::default())
    }

    /// Puts `item` in the slot; returns the item it replaced, if one was waiting.
    pub fn put(&self, item: T) -> Option<T> {
        let replaced = {
            let mut state = self.state.lock();
            let replaced = state.item.replace(item);
            if replaced.is_some() {
                state.replaced += 1;
            }
            replaced
        };
        self.waker.wake();
        replaced
    }

    /// Takes the waiting item, with the number of items replaced since the last take.
    pub fn take(&self) -> Option<(T, u64)> {
        let mut state = self.state.lock();
        let item = state.item.take()?;
        Some((item, std::mem::take(&mut state.replaced)))
    }

    /// Waits for an item; `None` once the slot is closed and empty.
    pub async fn next(&self) -> Option<(T, u64)> {
        futures::future::poll_fn(|cx| {
            self.waker.register(cx.waker());
            if let Some(taken) = self.take() {
                return Poll::Ready(Some(taken));
            }
            if self.state.lock().closed {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await
    }

    /// No more items will come; the consumer drains what is waiting, then gets `None`.
    pub fn close(&self) {
        self.state.lock().closed = true;
        self.waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(happy: f32, sad: f32) -> Scores {
        Scores::from_weights([0.0, 0.0, 0.0, happy, sad, 0.0, 0.0]).unwrap()
    }

    #[test]
    fn without_smoothing_the_raw_scores_pass_through() {
        let mut s = Smoother::new(0.0);
        let (out, shown, change) = s.update(&scores(0.9, 0.1));
        assert_eq!(
            (out, shown, change),
            (scores(0.9, 0.1), Emotion::Happy, None)
        );
        let (_, shown, change) = s.update(&scores(0.45, 0.55));
        assert_eq!(shown, Emotion::Sad);
        assert_eq!(
            change.map(|c| (c.from, c.to)),
            Some((Emotion::Happy, Emotion::Sad))
        );
    }

    #[test]
    fn smoothing_delays_a_change_and_hysteresis_ignores_a_near_tie() {
        let mut s = Smoother::new(0.5);
        s.update(&scores(0.9, 0.1));
        // One sad frame: the average is 0.5/0.5, no change yet.
        let (avg, shown, change) = s.update(&scores(0.1, 0.9));
        assert!((avg.get(Emotion::Happy) - 0.5).abs() < 1e-6);
        assert_eq!((shown, change), (Emotion::Happy, None));
        // A second: sad leads by 0.5, past the margin.
        let (_, shown, change) = s.update(&scores(0.1, 0.9));
        assert_eq!(shown, Emotion::Sad);
        assert_eq!(change.map(|c| c.to), Some(Emotion::Sad));
        // A near tie does not flip it back.
        let (_, shown, change) = s.update(&scores(0.56, 0.44));
        assert_eq!((shown, change), (Emotion::Sad, None));
    }

    #[test]
    fn the_latest_item_wins_and_replacements_are_counted() {
        let slot = LatestSlot::new();
        assert_eq!(slot.put(1), None);
        assert_eq!(slot.put(2), Some(1));
        assert_eq!(slot.put(3), Some(2));
        assert_eq!(slot.take(), Some((3, 2)));
        assert_eq!(slot.take(), None);
        slot.put(4);
        assert_eq!(slot.take(), Some((4, 0)));
    }

    #[test]
    fn next_waits_for_an_item_and_ends_after_close() {
        let slot = LatestSlot::new();
        let producer = {
            let slot = slot.clone();
            std::thread::spawn(move || {
                slot.put("frame");
                slot.close();
            })
        };
        let first = futures::executor::block_on(slot.next());
        producer.join().unwrap();
        let mut got = vec![first];
        got.push(futures::executor::block_on(slot.next()));
        // The item arrives (either before or after close) and the end is seen exactly once.
        assert!(got.contains(&Some(("frame", 0))));
        assert_eq!(futures::executor::block_on(slot.next()), None);
    }
}
