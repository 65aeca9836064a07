//! Label normalisation: the many label sets of remote models mapped onto the canonical seven.

use crate::emotion::{Emotion, Scores};
use crate::error::{Error, Result};

/// The canonical emotion a label names, case-insensitively, through the synonyms that published
/// emotion models use (`anger`, `sadness`, `Happy`, `surprised`, `joy`, `calm`, ...).
pub fn canonical(label: &str) -> Option<Emotion> {
    let label = label.trim().to_ascii_lowercase();
    let emotion = match label.as_str() {
        "angry" | "anger" | "mad" => Emotion::Angry,
        "disgust" | "disgusted" | "disgusting" => Emotion::Disgust,
        "fear" | "fearful" | "scared" | "afraid" => Emotion::Fear,
        "happy" | "happiness" | "joy" | "joyful" => Emotion::Happy,
        "sad" | "sadness" | "sorrow" | "unhappy" => Emotion::Sad,
        "surprise" | "surprised" | "surprising" => Emotion::Surprise,
        "neutral" | "calm" => Emotion::Neutral,
        _ => return None,
    };
    Some(emotion)
}

/// Scores from a model's `(label, score)` answer. `LABEL_n` labels are read through `id2label`
/// when the model's mapping is known; labels outside the seven (such as `contempt`) are dropped
/// and the rest renormalised. An answer with no usable label is an error that names the labels,
/// never a silent "neutral".
pub fn normalise<'a>(
    model: &str,
    answer: impl IntoIterator<Item = (&'a str, f32)>,
    id2label: Option<&[&str]>,
) -> Result<Scores> {
    let mut weights = [0.0f32; 7];
    let mut seen = Vec::new();
    let mut usable = false;
    for (label, score) in answer {
        seen.push(label);
        let named = label
            .strip_prefix("LABEL_")
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| id2label.and_then(|map| map.get(n).copied()))
            .unwrap_or(label);
        if let Some(emotion) = canonical(named)
            && score.is_finite()
            && score >= 0.0
        {
            weights[emotion.index()] += score;
            usable = true;
        }
    }
    let unusable = || Error::UnknownLabels {
        model: model.to_owned(),
        labels: if seen.is_empty() {
            "(none)".to_owned()
        } else {
            seen.join(", ")
        },
    };
    if !usable {
        return Err(unusable());
    }
    Scores::from_weights(weights).ok_or_else(unusable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synonyms_map_case_insensitively() {
        for (label, emotion) in [
            ("anger", Emotion::Angry),
            ("Happy", Emotion::Happy),
            ("sadness", Emotion::Sad),
            ("surprised", Emotion::Surprise),
            ("fearful", Emotion::Fear),
            ("disgusted", Emotion::Disgust),
            ("joy", Emotion::Happy),
            ("calm", Emotion::Neutral),
            (" NEUTRAL ", Emotion::Neutral),
        ] {
            assert_eq!(canonical(label), Some(emotion), "{label}");
        }
        assert_eq!(canonical("contempt"), None);
    }

    #[test]
    fn extras_are_dropped_and_the_rest_renormalised() {
        let s = normalise("m", [("happy", 0.6), ("contempt", 0.2), ("sad", 0.2)], None).unwrap();
        assert!((s.get(Emotion::Happy) - 0.75).abs() < 1e-6);
        assert!((s.get(Emotion::Sad) - 0.25).abs() < 1e-6);
    }

    #[test]
    fn numbered_labels_need_a_known_mapping() {
        let id2label = [
            "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
        ];
        let s = normalise("m", [("LABEL_3", 0.9), ("LABEL_6", 0.1)], Some(&id2label)).unwrap();
        assert_eq!(s.dominant().0, Emotion::Happy);
        let err = normalise("m", [("LABEL_3", 0.9)], None).unwrap_err();
        assert_eq!(
            err,
            Error::UnknownLabels {
                model: "m".into(),
                labels: "LABEL_3".into()
            }
        );
    }

    #[test]
    fn an_answer_without_usable_labels_is_an_error() {
        assert!(matches!(
            normalise("m", [("positive", 0.9), ("negative", 0.1)], None),
            Err(Error::UnknownLabels { labels, .. }) if labels == "positive, negative"
        ));
        assert!(normalise("m", [], None).is_err());
        assert!(normalise("m", [("happy", 0.0)], None).is_err());
    }
}
