//! The committed model against its independent reference, and the whole engine on real faces.

mod support;

use emotion_core::preprocess::GrayFace;
use emotion_core::{DetectRequest, Emotion, Engine, Frame, LocalModel, PixelFormat};
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::*;

/// The ONNX in the repo is the one the reference outputs were made for, and tract reproduces
/// TensorFlow/Keras on every reference input (CI has no TensorFlow: these numbers are its stand-in).
#[test]
fn embedded_model_matches_the_keras_reference() {
    let reference: Value =
        serde_json::from_slice(&read(repo().join("models/reference/keras_outputs.json"))).unwrap();
    let digest = Sha256::digest(emotion_core::classify::local::EMBEDDED_ONNX);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, reference["model_sha256"].as_str().unwrap());
    let order: Vec<&str> = reference["class_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(order, Emotion::ALL.map(Emotion::as_str));

    let tolerance = reference["tolerance"].as_f64().unwrap() as f32;
    let model = LocalModel::embedded().unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 10, "the reference set is too small");
    let mut worst = 0.0f32;
    for case in cases {
        let path = repo()
            .join("models/reference")
            .join(case["input"].as_str().unwrap());
        let gray = image::load_from_memory(&read(&path)).unwrap().into_luma8();
        assert_eq!(gray.dimensions(), (64, 64), "{}", path.display());
        let scores = model
            .infer(&GrayFace::from_pixels(gray.as_raw()).unwrap())
            .unwrap();
        for (ours, keras) in scores
            .as_array()
            .iter()
            .zip(case["keras"].as_array().unwrap())
        {
            worst = worst.max((ours - keras.as_f64().unwrap() as f32).abs());
        }
    }
    assert!(
        worst <= tolerance,
        "max abs difference {worst} > {tolerance}"
    );
}

#[test]
fn photos_with_a_clear_expression_are_classified_as_people_judged_them() {
    let engine = Engine::builder().build().unwrap();
    let photos = single_face_photos();
    assert!(photos.len() >= 4);
    for photo in photos {
        let request = DetectRequest::new(Frame::Encoded(photo.bytes)).with_face(photo.face);
        let detection = engine.detect_blocking(request).unwrap();
        let face = detection.primary();
        assert_eq!(
            face.emotion, photo.expression,
            "{}: {:?}",
            photo.file, face.scores
        );
        assert!(face.confidence > 0.5, "{}: {:?}", photo.file, face.scores);
        let sum: f32 = face.scores.as_array().iter().sum();
        assert!(
            (sum - 1.0).abs() < 1e-4,
            "{}: scores sum to {sum}",
            photo.file
        );
        assert!(detection.face_detected);
    }
}

#[test]
fn fer_style_crops_are_classified_as_whole_images() {
    let engine = Engine::builder().build().unwrap();
    for (file, bytes, expression) in crops() {
        let detection = engine
            .detect_blocking(DetectRequest::new(Frame::Encoded(bytes)))
            .unwrap();
        assert_eq!(detection.primary().emotion, expression, "{file}");
        assert!(!detection.face_detected);
        assert_eq!(detection.primary().face_bounds.width, 48);
    }
}

#[test]
fn raw_pixels_in_any_channel_order_give_the_same_answer_as_the_file() {
    let engine = Engine::builder()
        .cache(0, std::time::Duration::ZERO)
        .build()
        .unwrap();
    let photo = single_face_photos()
        .into_iter()
        .find(|p| p.file == "astronaut.jpg")
        .unwrap();
    let rgb = image::load_from_memory(&photo.bytes).unwrap().into_rgb8();
    let (w, h) = rgb.dimensions();
    let from_file = engine
        .detect_blocking(
            DetectRequest::new(Frame::Encoded(photo.bytes.clone())).with_face(photo.face),
        )
        .unwrap();
    let rgba: Vec<u8> = rgb.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    let bgr: Vec<u8> = rgb.pixels().flat_map(|p| [p[2], p[1], p[0]]).collect();
    let mut answers = Vec::new();
    for (data, format, stride) in [
        (rgba, PixelFormat::Rgba8, w as usize * 4),
        (bgr, PixelFormat::Bgr8, w as usize * 3),
    ] {
        let frame = Frame::Pixels {
            data,
            width: w,
            height: h,
            stride,
            format,
        };
        let d = engine
            .detect_blocking(DetectRequest::new(frame).with_face(photo.face))
            .unwrap();
        answers.push(d.primary().scores);
    }
    // The same pixels in another channel order are the same input.
    assert_eq!(answers[0], answers[1]);
    // The file path reads the JPEG's own luma plane; luma recomputed from decoded RGB differs
    // from it by rounding only.
    for (ours, file) in answers[0]
        .as_array()
        .iter()
        .zip(from_file.primary().scores.as_array())
    {
        assert!(
            (ours - file).abs() < 0.01,
            "{:?} vs {:?}",
            answers[0],
            from_file.primary().scores
        );
    }
}

#[test]
fn several_faces_come_back_largest_first() {
    let engine = Engine::builder().build().unwrap();
    let (bytes, faces) = group_photo("group_of_three.jpg");
    let mut request = DetectRequest::new(Frame::Encoded(bytes));
    request.faces = faces.clone();
    let detection = engine.detect_blocking(request).unwrap();
    assert_eq!(detection.faces.len(), faces.len());
    let areas: Vec<u64> = detection
        .faces
        .iter()
        .map(|f| f.face_bounds.area())
        .collect();
    assert!(areas.windows(2).all(|w| w[0] >= w[1]), "{areas:?}");
    // The largest face in that photo (the middle one) smiles.
    assert_eq!(detection.primary().emotion, Emotion::Happy);
}

#[test]
fn a_repeated_frame_is_answered_from_the_cache() {
    let engine = Engine::builder().build().unwrap();
    let photo = single_face_photos().remove(0);
    let request = DetectRequest::new(Frame::Encoded(photo.bytes)).with_face(photo.face);
    let first = engine.detect_blocking(request.clone()).unwrap();
    let second = engine.detect_blocking(request).unwrap();
    assert!(!first.primary().cached);
    assert!(second.primary().cached);
    assert_eq!(first.primary().scores, second.primary().scores);
    let stats = engine.cache_stats();
    assert_eq!((stats.hits, stats.misses), (1, 1));
}

#[test]
fn a_batch_answers_in_input_order_and_one_bad_image_fails_alone() {
    let engine = Engine::builder().build().unwrap();
    let crops = crops();
    let mut requests: Vec<DetectRequest> = crops
        .iter()
        .map(|(_, bytes, _)| DetectRequest::new(Frame::Encoded(bytes.clone())))
        .collect();
    requests.insert(
        1,
        DetectRequest::new(Frame::Encoded(b"not an image".to_vec())),
    );
    let results = futures::executor::block_on(engine.detect_batch(requests));
    assert_eq!(results.len(), crops.len() + 1);
    assert!(results[1].is_err());
    let answered: Vec<Emotion> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|d| d.primary().emotion)
        .collect();
    let expected: Vec<Emotion> = crops.iter().map(|(_, _, e)| *e).collect();
    assert_eq!(answered, expected);
}
