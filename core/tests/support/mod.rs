//! Shared fixtures for the engine's tests: the committed face photos and their boxes.

// Fixture helpers of tests: a missing or malformed fixture should fail the test at once.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use emotion_core::{Emotion, FaceBox};
use serde_json::Value;

pub mod scene;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn faces_dir() -> PathBuf {
    repo().join("tests/fixtures/faces")
}

pub fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = path.as_ref();
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn manifest() -> Value {
    serde_json::from_slice(&read(faces_dir().join("faces.json"))).expect("faces.json is JSON")
}

/// A committed photo with one face and a human judgement of its expression.
pub struct Photo {
    pub file: String,
    pub bytes: Vec<u8>,
    pub face: FaceBox,
    pub expression: Emotion,
}

fn face_box(v: &Value) -> FaceBox {
    FaceBox {
        x: v["x"].as_f64().unwrap(),
        y: v["y"].as_f64().unwrap(),
        width: v["width"].as_f64().unwrap(),
        height: v["height"].as_f64().unwrap(),
    }
}

/// The single-face photos whose expression is clear.
pub fn single_face_photos() -> Vec<Photo> {
    manifest()["photos"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["faces"].as_array().unwrap().len() == 1)
        .filter_map(|p| {
            let expression = p["expression"].as_str()?.parse().ok()?;
            let file = p["file"].as_str().unwrap().to_owned();
            Some(Photo {
                bytes: read(faces_dir().join(&file)),
                face: face_box(&p["faces"][0]),
                file,
                expression,
            })
        })
        .collect()
}

/// A photo with several faces, and its boxes.
pub fn group_photo(file: &str) -> (Vec<u8>, Vec<FaceBox>) {
    let manifest = manifest();
    let photo = manifest["photos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["file"] == file)
        .unwrap_or_else(|| panic!("{file} is not in faces.json"));
    let faces = photo["faces"]
        .as_array()
        .unwrap()
        .iter()
        .map(face_box)
        .collect();
    (read(faces_dir().join(file)), faces)
}

/// The 48x48 FER-style crops and their expressions.
pub fn crops() -> Vec<(String, Vec<u8>, Emotion)> {
    manifest()["crops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let file = c["file"].as_str().unwrap().to_owned();
            let expression = c["expression"].as_str().unwrap().parse().unwrap();
            (file.clone(), read(faces_dir().join(&file)), expression)
        })
        .collect()
}

/// The single-face photo of this file.
pub fn photo(file: &str) -> Photo {
    single_face_photos()
        .into_iter()
        .find(|p| p.file == file)
        .unwrap_or_else(|| panic!("{file} is not a single-face photo of faces.json"))
}

/// A photo's face with `margin` of its side around it, cut out as RGB.
pub fn face_cut(photo: &Photo, margin: f64) -> image::RgbImage {
    let f = &photo.face;
    scene::face_cut(&photo.bytes, [f.x, f.y, f.width, f.height], margin)
}

/// A frame of a synthetic scene (see [`scene::compose`]), as raw RGB.
pub fn scene(
    width: u32,
    height: u32,
    placed: &[(&image::RgbImage, i64, i64)],
) -> emotion_core::Frame {
    let canvas = scene::compose(width, height, placed);
    emotion_core::Frame::Pixels {
        data: canvas.into_raw(),
        width,
        height,
        stride: width as usize * 3,
        format: emotion_core::PixelFormat::Rgb8,
    }
}
