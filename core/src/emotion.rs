//! The seven canonical emotions (FER2013 index order) and a score for each.

use std::fmt;
use std::str::FromStr;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

/// One of the seven canonical emotions. The discriminant is the FER2013 class index,
/// which is also the output order of the embedded model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Emotion {
    Angry = 0,
    Disgust = 1,
    Fear = 2,
    Happy = 3,
    Sad = 4,
    Surprise = 5,
    Neutral = 6,
}

impl Emotion {
    /// All emotions in canonical order.
    pub const ALL: [Emotion; 7] = [
        Emotion::Angry,
        Emotion::Disgust,
        Emotion::Fear,
        Emotion::Happy,
        Emotion::Sad,
        Emotion::Surprise,
        Emotion::Neutral,
    ];

    /// The lowercase name used across every boundary (JSON, Python, C).
    pub const fn as_str(self) -> &'static str {
        match self {
            Emotion::Angry => "angry",
            Emotion::Disgust => "disgust",
            Emotion::Fear => "fear",
            Emotion::Happy => "happy",
            Emotion::Sad => "sad",
            Emotion::Surprise => "surprise",
            Emotion::Neutral => "neutral",
        }
    }

    /// Position in the canonical order.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The emotion at a canonical index.
    pub fn from_index(index: usize) -> Option<Emotion> {
        Emotion::ALL.get(index).copied()
    }
}

impl fmt::Display for Emotion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Emotion {
    type Err = UnknownEmotion;

    /// Parses a canonical name exactly (lowercase). Remote label sets go through
    /// [`crate::labels`], which knows their synonyms.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Emotion::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownEmotion(s.to_owned()))
    }
}

/// A name that is not one of the seven canonical emotions.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not one of angry, disgust, fear, happy, sad, surprise, neutral")]
pub struct UnknownEmotion(pub String);

/// A probability for each emotion, in canonical order, summing to 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores([f32; 7]);

impl Scores {
    /// Scores from non-negative weights, normalised to sum to 1. `None` when the weights
    /// are not finite and non-negative, or all zero: there is nothing to normalise.
    pub fn from_weights(weights: [f32; 7]) -> Option<Scores> {
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return None;
        }
        let sum: f32 = weights.iter().sum();
        if sum <= 0.0 || !sum.is_finite() {
            return None;
        }
        Some(Scores(weights.map(|w| w / sum)))
    }

    /// The score of one emotion.
    pub fn get(&self, emotion: Emotion) -> f32 {
        self.0[emotion.index()]
    }

    /// The scores in canonical order.
    pub fn as_array(&self) -> &[f32; 7] {
        &self.0
    }

    /// `(emotion, score)` pairs in canonical order.
    pub fn iter(&self) -> impl Iterator<Item = (Emotion, f32)> + '_ {
        Emotion::ALL.into_iter().zip(self.0)
    }

    /// The emotion with the highest score and that score (the first one on a tie).
    pub fn dominant(&self) -> (Emotion, f32) {
        let mut best = (Emotion::Angry, self.0[0]);
        for (emotion, score) in self.iter().skip(1) {
            if score > best.1 {
                best = (emotion, score);
            }
        }
        best
    }

    /// Exponential moving average step: `alpha` of `self`, the rest of `previous`.
    pub fn blend(&self, previous: &Scores, alpha: f32) -> Scores {
        let mut out = [0.0; 7];
        for (o, (new, old)) in out.iter_mut().zip(self.0.iter().zip(previous.0)) {
            *o = alpha * new + (1.0 - alpha) * old;
        }
        Scores(out)
    }
}

impl Serialize for Scores {
    /// A JSON object from each canonical name to its score, in canonical order.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(7))?;
        for (emotion, score) in self.iter() {
            map.serialize_entry(emotion.as_str(), &score)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_canonical_order() {
        let names: Vec<&str> = Emotion::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(
            names,
            [
                "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"
            ]
        );
        for (i, e) in Emotion::ALL.into_iter().enumerate() {
            assert_eq!(e.index(), i);
            assert_eq!(Emotion::from_index(i), Some(e));
            assert_eq!(e.as_str().parse::<Emotion>(), Ok(e));
        }
        assert!("Happy".parse::<Emotion>().is_err());
    }

    #[test]
    fn weights_are_normalised_and_bad_weights_refused() {
        let s = Scores::from_weights([1.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0]).unwrap();
        assert_eq!(s.get(Emotion::Happy), 0.75);
        assert_eq!(s.dominant(), (Emotion::Happy, 0.75));
        assert!(Scores::from_weights([0.0; 7]).is_none());
        assert!(Scores::from_weights([f32::NAN, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]).is_none());
        assert!(Scores::from_weights([-1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0]).is_none());
    }

    #[test]
    fn serialises_as_a_name_map() {
        let s = Scores::from_weights([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0]).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(
            json,
            r#"{"angry":0.0,"disgust":0.0,"fear":0.0,"happy":0.5,"sad":0.0,"surprise":0.0,"neutral":0.5}"#
        );
    }
}
