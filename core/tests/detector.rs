//! The face detector: the committed BlazeFace models against TFLite's stored outputs (CI has no
//! TensorFlow), then on the fixture photos against their hand-checked face boxes.

mod support;

use emotion_core::detector::{DetectedFace, DetectorRange, FaceDetector};
use emotion_core::frame::Channels;
use emotion_core::{Frame, Limits};
use serde_json::Value;
use support::*;

fn reference() -> Value {
    serde_json::from_slice(&read(
        repo().join("models/reference/blazeface/expected.json"),
    ))
    .expect("the stored reference is JSON")
}

fn floats(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .expect("a list of numbers")
        .iter()
        .map(|v| v.as_f64().expect("a number") as f32)
        .collect()
}

#[test]
fn tract_reproduces_tflite_on_the_stored_inputs() {
    let reference = reference();
    let tolerance = &reference["tolerance"];
    let [logit_tol, regressor_tol, px_tol, score_tol] = [
        "logit_abs",
        "regressors_abs",
        "box_and_keypoint_input_px_abs",
        "score_abs",
    ]
    .map(|k| tolerance[k].as_f64().unwrap() as f32);
    for (name, range) in [
        ("short", DetectorRange::Short),
        ("full", DetectorRange::Full),
    ] {
        let detector = FaceDetector::embedded(range).unwrap();
        for case in reference["models"][name]["cases"].as_array().unwrap() {
            let file = case["input_file"].as_str().unwrap();
            let bytes = read(repo().join("models/reference/blazeface").join(file));
            let input: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let (regressors, logits) = detector.infer(input).unwrap();

            let expected_logits = floats(&case["all_logits"]);
            let worst = logits
                .iter()
                .zip(&expected_logits)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(worst <= logit_tol, "{file}: logits differ by {worst}");
            for top in case["top_anchors"].as_array().unwrap() {
                let index = top["index"].as_u64().unwrap() as usize;
                let got = &regressors[index * 16..index * 16 + 16];
                for (a, b) in got.iter().zip(floats(&top["regressors"])) {
                    assert!(
                        (a - b).abs() <= regressor_tol,
                        "{file} anchor {index}: {a} vs {b}"
                    );
                }
            }

            let faces = detector.decode(&regressors, &logits);
            let expected = case["detections"].as_array().unwrap();
            assert_eq!(faces.len(), expected.len(), "{file}: {faces:?}");
            for (face, want) in faces.iter().zip(expected) {
                let b = floats(&want["box_input_px"]);
                let got = [face.x, face.y, face.width, face.height];
                for (a, b) in got.iter().zip(&b) {
                    assert!((a - b).abs() <= px_tol, "{file}: box {got:?} vs {b:?}");
                }
                let points: Vec<f32> = want["keypoints_input_px"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(floats)
                    .collect();
                let got: Vec<f32> = face.keypoints.iter().flatten().copied().collect();
                for (a, b) in got.iter().zip(&points) {
                    assert!(
                        (a - b).abs() <= px_tol,
                        "{file}: key points {got:?} vs {points:?}"
                    );
                }
                let score = want["score"].as_f64().unwrap() as f32;
                assert!(
                    (face.score - score).abs() <= score_tol,
                    "{file}: score {}",
                    face.score
                );
            }
        }
    }
}

fn iou(face: &DetectedFace, [x, y, w, h]: [f32; 4]) -> f32 {
    let x0 = face.x.max(x);
    let y0 = face.y.max(y);
    let x1 = (face.x + face.width).min(x + w);
    let y1 = (face.y + face.height).min(y + h);
    let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
    inter / (face.width * face.height + w * h - inter)
}

/// The full-range detector finds every face of the fixture photos where the hand-checked boxes
/// say; the boxes of `faces.json` include hair and chin, BlazeFace's are tighter (laughing_woman,
/// tilted 30°, overlaps by just under 0.5, so it is held to 0.4).
#[test]
fn the_full_range_detector_finds_every_fixture_face() {
    let index: Value =
        serde_json::from_slice(&read(repo().join("tests/fixtures/faces/faces.json"))).unwrap();
    let detector = FaceDetector::embedded(DetectorRange::Full).unwrap();
    for photo in index["photos"].as_array().unwrap() {
        let file = photo["file"].as_str().unwrap();
        let image = Frame::Encoded(read(repo().join("tests/fixtures/faces").join(file)))
            .decode(&Limits::default(), Channels::Color)
            .unwrap();
        let faces = detector.detect(&image).unwrap();
        let boxes: Vec<[f32; 4]> = photo["faces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| ["x", "y", "width", "height"].map(|k| f[k].as_f64().unwrap() as f32))
            .collect();
        assert_eq!(faces.len(), boxes.len(), "{file}: {faces:?}");
        let needed = if file == "laughing_woman.jpg" {
            0.4
        } else {
            0.5
        };
        for b in &boxes {
            let best = faces.iter().map(|f| iou(f, *b)).fold(0.0, f32::max);
            assert!(
                best >= needed,
                "{file}: box {b:?} best IoU {best}: {faces:?}"
            );
        }
        for face in &faces {
            let [eye_r, eye_l] = [face.keypoints[0], face.keypoints[1]];
            assert!(
                eye_r[0] < eye_l[0],
                "{file}: the subject's right eye is on the left"
            );
            assert!(face.score >= 0.6);
        }
    }
}

fn engine(min_face_size: u32) -> emotion_core::Engine {
    emotion_core::Engine::builder()
        .face_detector(Some(DetectorRange::Full))
        .min_face_size(min_face_size)
        .build()
        .expect("the engine builds")
}

/// A frame without boxes: the engine finds every face, classifies each, largest first.
#[test]
fn the_engine_finds_and_classifies_every_face_of_a_group_photo() {
    let engine = engine(0);
    let photo = read(repo().join("tests/fixtures/faces/group_of_three.jpg"));
    let detection = engine
        .detect_blocking(emotion_core::DetectRequest::new(Frame::Encoded(photo)))
        .expect("the photo is classified");
    assert!(detection.face_detected);
    assert_eq!(detection.faces.len(), 3, "{detection:?}");
    let areas: Vec<u64> = detection
        .faces
        .iter()
        .map(|f| f.face_bounds.area())
        .collect();
    assert!(
        areas.windows(2).all(|w| w[0] >= w[1]),
        "largest first: {areas:?}"
    );
    for face in &detection.faces {
        let score = face
            .detection_confidence
            .expect("a detected face has a score");
        assert!(score >= 0.6, "{face:?}");
    }
    // The two on the right smile (faces.json): the largest face is the middle one.
    assert_eq!(detection.faces[0].emotion, emotion_core::Emotion::Happy);
}

/// No face in the frame: the whole frame is classified and `face_detected` is false.
#[test]
fn a_frame_without_a_face_is_classified_whole() {
    let engine = engine(0);
    let gray = vec![128u8; 320 * 240];
    let detection = engine
        .detect_blocking(emotion_core::DetectRequest::new(Frame::Pixels {
            data: gray,
            width: 320,
            height: 240,
            stride: 320,
            format: emotion_core::PixelFormat::Gray8,
        }))
        .expect("a blank frame is classified");
    assert!(!detection.face_detected);
    assert_eq!(detection.faces.len(), 1);
    assert_eq!(detection.faces[0].face_bounds.width, 320);
    assert_eq!(detection.faces[0].detection_confidence, None);
}

/// Faces smaller than `min_face_size` are ignored: the group photo's faces are under 120 px.
#[test]
fn faces_under_the_minimum_size_are_ignored() {
    let photo = read(repo().join("tests/fixtures/faces/group_of_three.jpg"));
    let detection = engine(120)
        .detect_blocking(emotion_core::DetectRequest::new(Frame::Encoded(photo)))
        .expect("the photo is classified");
    assert!(!detection.face_detected, "{detection:?}");
}

fn detect_rgb(engine: &emotion_core::Engine, image: image::RgbImage) -> emotion_core::Detection {
    let (width, height) = image.dimensions();
    let frame = Frame::Pixels {
        data: image.into_raw(),
        width,
        height,
        stride: width as usize * 3,
        format: emotion_core::PixelFormat::Rgb8,
    };
    engine
        .detect_blocking(emotion_core::DetectRequest::new(frame))
        .expect("the frame is classified")
}

/// A face turned 25° and a face cut by the frame's edge are still found and read.
#[test]
fn a_rotated_face_and_a_face_cut_by_the_edge_are_found() {
    let engine = engine(0);
    let astronaut = image::load_from_memory(&read(faces_dir().join("astronaut.jpg")))
        .unwrap()
        .into_rgb8();
    let face = [178.0, 66.0, 94.0, 102.0];
    let centre = (face[0] + face[2] / 2.0, face[1] + face[3] / 2.0);

    for degrees in [-25.0f32, 25.0] {
        let d = detect_rgb(&engine, scene::rotated(&astronaut, degrees));
        assert!(d.face_detected, "{degrees}°: {d:?}");
        let found = d.primary();
        let (x, y) = (
            found.face_bounds.x as f32 + found.face_bounds.width as f32 / 2.0,
            found.face_bounds.y as f32 + found.face_bounds.height as f32 / 2.0,
        );
        // The face's centre turns about the image's centre (256, 256).
        let (sin, cos) = (-degrees).to_radians().sin_cos();
        let (dx, dy) = (centre.0 - 256.0, centre.1 - 256.0);
        let want = (cos * dx - sin * dy + 256.0, sin * dx + cos * dy + 256.0);
        assert!(
            (x - want.0).hypot(y - want.1) < 25.0,
            "{degrees}°: found at ({x}, {y}), the face is at {want:?}"
        );
        assert_eq!(
            found.emotion,
            emotion_core::Emotion::Happy,
            "{degrees}°: {found:?}"
        );
    }

    // The frame starts 40% into the face: its left part is outside.
    let cut_at = (face[0] + 0.4 * face[2]) as u32;
    let cut = image::imageops::crop_imm(&astronaut, cut_at, 0, 512 - cut_at, 512).to_image();
    let d = detect_rgb(&engine, cut);
    assert!(d.face_detected, "{d:?}");
    let found = d.primary().face_bounds;
    assert!(found.x <= 5, "the box reaches the edge: {found:?}");
    let right = (face[0] + face[2]) as u32 - cut_at;
    assert!(
        found.x + found.width + 15 >= right,
        "{found:?} ends near {right}"
    );
    assert_eq!(d.primary().emotion, emotion_core::Emotion::Happy, "{d:?}");
}

/// A 4000x3000 photo, as a phone takes it (the group photo scaled up onto a 4:3 canvas): every
/// face is found at its place, scaled, and reads as it does at the photo's own size.
#[test]
fn a_4000x3000_photo_has_every_face_found_at_its_place() {
    let (bytes, boxes) = group_photo("group_of_three.jpg");
    let small = image::load_from_memory(&bytes).unwrap().into_rgb8();
    let scale = 4000.0 / f64::from(small.width());
    let big = scene::scaled(&small, 4000, (f64::from(small.height()) * scale) as u32);
    let top = (3000 - big.height()) / 2;
    let photo = scene::compose(4000, 3000, &[(&big, 0, i64::from(top))]);
    let jpeg = scene::jpeg(&photo);
    let engine = emotion_core::Engine::builder()
        .face_detector(Some(DetectorRange::Full))
        .limits(Limits {
            max_bytes: 16 * 1024 * 1024,
            ..Limits::default()
        })
        .build()
        .unwrap();
    let at_own_size = engine
        .detect_blocking(emotion_core::DetectRequest::new(Frame::Encoded(bytes)))
        .unwrap();
    let detection = engine
        .detect_blocking(emotion_core::DetectRequest::new(Frame::Encoded(jpeg)))
        .unwrap();
    assert_eq!(detection.faces.len(), boxes.len(), "{detection:?}");
    for (b, small_face) in boxes.iter().zip(
        boxes
            .iter()
            .map(|b| nearest(&at_own_size, b.x + b.width / 2.0, b.y + b.height / 2.0)),
    ) {
        let want = [
            (b.x * scale) as f32,
            (b.y * scale + f64::from(top)) as f32,
            (b.width * scale) as f32,
            (b.height * scale) as f32,
        ];
        let face = nearest(
            &detection,
            f64::from(want[0] + want[2] / 2.0),
            f64::from(want[1] + want[3] / 2.0),
        );
        let found = face.face_bounds;
        let as_detected = DetectedFace {
            x: found.x as f32,
            y: found.y as f32,
            width: found.width as f32,
            height: found.height as f32,
            score: 1.0,
            keypoints: [[0.0; 2]; 6],
        };
        assert!(iou(&as_detected, want) >= 0.5, "{found:?} against {want:?}");
        assert_eq!(face.emotion, small_face.emotion, "{found:?}");
    }
}

/// The face of `detection` whose centre is nearest to (x, y).
fn nearest(detection: &emotion_core::Detection, x: f64, y: f64) -> &emotion_core::FaceResult {
    let distance = |f: &&emotion_core::FaceResult| {
        let b = f.face_bounds;
        let cx = f64::from(b.x) + f64::from(b.width) / 2.0;
        let cy = f64::from(b.y) + f64::from(b.height) / 2.0;
        (cx - x).hypot(cy - y)
    };
    detection
        .faces
        .iter()
        .min_by(|a, b| distance(a).total_cmp(&distance(b)))
        .expect("at least one face")
}
