//! Smoothing of one face's emotion over a stream's frames: an exponential moving average of
//! the scores, with hysteresis on the dominant emotion.

use crate::emotion::{Emotion, Scores};

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
    /// the change (from, to) when the shown emotion changed.
    pub fn update(&mut self, raw: &Scores) -> (Scores, Emotion, Option<(Emotion, Emotion)>) {
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
                Some((current, top))
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
        assert_eq!(change, Some((Emotion::Happy, Emotion::Sad)));
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
        assert_eq!(change.map(|(_, to)| to), Some(Emotion::Sad));
        // A near tie does not flip it back.
        let (_, shown, change) = s.update(&scores(0.56, 0.44));
        assert_eq!((shown, change), (Emotion::Sad, None));
    }
}
