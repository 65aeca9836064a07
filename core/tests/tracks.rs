//! Face tracks on a stream of real frames: two real faces moving across a synthetic scene, found
//! by the detector frame after frame, one of them leaving and coming back.

mod support;

use emotion_core::detector::DetectorRange;
use emotion_core::{DetectRequest, Emotion, Engine, FaceBox, Frame};
use support::*;

const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;

fn engine() -> Engine {
    Engine::builder()
        .face_detector(Some(DetectorRange::Full))
        .cache(0, std::time::Duration::ZERO)
        .build()
        .expect("engine")
}

/// The centre of a face box, to tell the faces apart by where they were placed.
fn centre_x(face: &emotion_core::FaceResult) -> u32 {
    face.face_bounds.x + face.face_bounds.width / 2
}

#[test]
fn two_moving_faces_keep_their_tracks_and_a_face_that_leaves_ends_its_own() {
    let happy = face_cut(&photo("astronaut.jpg"), 0.3);
    let neutral = face_cut(&photo("grace_hopper.webp"), 0.1);
    let neutral = scene::scaled(&neutral, 150, 140);
    let mut stream = engine().stream();
    stream.tracker_mut().set_smoothing(0.0);
    let timeout = 5;
    stream.tracker_mut().set_timeout(timeout);

    // Frames 0..20: the happy face walks right 6 px a frame, the neutral one left and down.
    // Frames 20..: the neutral face has left; it comes back once its track has ended.
    let away = 20..20 + timeout as i64 + 2;
    let mut left_ids = Vec::new();
    let mut right_ids = Vec::new();
    let mut ended_at = Vec::new();
    for i in 0..away.end + 3 {
        let mut placed = vec![(&happy, 30 + 6 * i, 120)];
        let neutral_at = (440 - 4 * i.min(20), 60 + 3 * i.min(20));
        if !away.contains(&i) {
            placed.push((&neutral, neutral_at.0, neutral_at.1));
        }
        let frame = scene(WIDTH, HEIGHT, &placed);
        let (detection, events) =
            futures::executor::block_on(stream.detect(DetectRequest::new(frame))).expect("detect");
        assert!(detection.face_detected, "frame {i}: no face found");
        assert_eq!(
            detection.faces.len(),
            placed.len(),
            "frame {i}: {:?}",
            detection.faces
        );
        let mut faces = detection.faces.clone();
        faces.sort_by_key(centre_x);
        let happy_face = faces
            .iter()
            .find(|f| centre_x(f) < 360)
            .expect("the walking face");
        assert_eq!(happy_face.emotion, Emotion::Happy, "frame {i}");
        left_ids.push(happy_face.track_id.expect("a track id"));
        if let Some(other) = faces.iter().find(|f| centre_x(f) >= 360) {
            assert_eq!(other.emotion, Emotion::Neutral, "frame {i}");
            right_ids.push((i, other.track_id.expect("a track id")));
        }
        if !events.ended.is_empty() {
            ended_at.push((i, events.ended.clone()));
        }
    }
    let first = left_ids[0];
    assert!(left_ids.iter().all(|&id| id == first), "{left_ids:?}");
    let before: Vec<u64> = right_ids
        .iter()
        .filter(|(i, _)| *i < 20)
        .map(|p| p.1)
        .collect();
    let after: Vec<u64> = right_ids
        .iter()
        .filter(|(i, _)| *i >= 20)
        .map(|p| p.1)
        .collect();
    assert_eq!(before.len(), 20);
    assert!(
        before.iter().all(|&id| id == before[0] && id != first),
        "{before:?}"
    );
    // Unseen from frame 20, its track ends with the frame that makes `timeout` misses.
    assert_eq!(ended_at, [(20 + i64::from(timeout) - 1, vec![before[0]])]);
    assert!(
        !after.is_empty() && after.iter().all(|&id| id == after[0]),
        "{after:?}"
    );
    assert!(
        after[0] > before[0],
        "the face came back under a new track: {after:?}"
    );
}

#[test]
fn a_track_smooths_its_face_and_reports_when_the_expression_changes() {
    // Boxes given by the caller (as the web page sends them): the same place, first a happy
    // face, then a neutral one.
    let side = 200;
    let happy = photo("astronaut.jpg");
    let neutral = photo("grace_hopper.webp");
    let cut = |p: &Photo| scene::scaled(&face_cut(p, 0.0), side, side);
    let (happy, neutral) = (cut(&happy), cut(&neutral));
    let at = FaceBox {
        x: 100.0,
        y: 100.0,
        width: f64::from(side),
        height: f64::from(side),
    };
    let mut stream = engine().stream();
    stream.tracker_mut().set_smoothing(0.5);
    let mut detect = |face: &image::RgbImage| {
        let frame: Frame = scene(WIDTH, HEIGHT, &[(face, 100, 100)]);
        futures::executor::block_on(stream.detect(DetectRequest::new(frame).with_face(at)))
            .expect("detect")
    };
    let (first, events) = detect(&happy);
    assert_eq!(first.primary().emotion, Emotion::Happy);
    assert!(events.changes.is_empty());
    let track = first.primary().track_id.expect("a track id");
    let mut changes = Vec::new();
    for _ in 0..4 {
        let (d, events) = detect(&neutral);
        assert_eq!(d.primary().track_id, Some(track));
        changes.extend(events.changes);
    }
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (changes[0].track_id, changes[0].from, changes[0].to),
        (track, Emotion::Happy, Emotion::Neutral)
    );
}

#[test]
fn a_frame_without_a_face_has_no_track_and_ages_the_others() {
    let happy = face_cut(&photo("astronaut.jpg"), 0.3);
    let mut stream = engine().stream();
    stream.tracker_mut().set_timeout(2);
    let run = |stream: &mut emotion_core::Stream, placed: &[(&image::RgbImage, i64, i64)]| {
        let frame = scene(WIDTH, HEIGHT, placed);
        futures::executor::block_on(stream.detect(DetectRequest::new(frame))).expect("detect")
    };
    let (d, _) = run(&mut stream, &[(&happy, 200, 100)]);
    let id = d.primary().track_id.expect("a track");
    let (d, events) = run(&mut stream, &[]);
    assert!(!d.face_detected);
    assert_eq!((d.primary().track_id, events.ended.len()), (None, 0));
    let (_, events) = run(&mut stream, &[]);
    assert_eq!(events.ended, [id]);
}
