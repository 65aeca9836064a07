//! Bad inputs get the error kind that names the problem, never a panic or a silent answer.

mod support;

use emotion_core::{DetectRequest, Engine, Error, ErrorKind, FaceBox, Frame, Limits};
use support::*;

fn png_header_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 6, 0, 0, 0]); // 8-bit RGBA, no interlace
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32fast::hash(&ihdr).to_be_bytes());
    // A few bytes of an IDAT that would inflate to 40 GB if anyone tried.
    png.extend(8u32.to_be_bytes());
    png.extend(b"IDAT\x78\x9c\x63\x00\x00\x00\x01\x00");
    png
}

fn check(engine: &Engine, request: DetectRequest, kind: ErrorKind, code: &str) {
    match engine.detect_blocking(request) {
        Err(e) => {
            assert_eq!((e.kind(), e.code()), (kind, code), "{e}");
            assert!(e.to_string().len() > 10, "message too short: {e}");
        }
        Ok(d) => panic!("expected {code}, got a detection {:?}", d.primary()),
    }
}

#[test]
fn each_bad_input_gets_its_own_error() {
    let engine = Engine::builder().build().unwrap();
    let astronaut = read(faces_dir().join("astronaut.jpg"));
    let frame = |bytes: Vec<u8>| DetectRequest::new(Frame::Encoded(bytes));
    let with_box = |x, y, width, height| {
        frame(astronaut.clone()).with_face(FaceBox {
            x,
            y,
            width,
            height,
        })
    };
    let cases: Vec<(&str, DetectRequest, ErrorKind, &str)> = vec![
        (
            "empty",
            frame(Vec::new()),
            ErrorKind::InvalidInput,
            "empty_image",
        ),
        (
            "truncated JPEG",
            frame(astronaut[..astronaut.len() / 2].to_vec()),
            ErrorKind::InvalidInput,
            "invalid_image",
        ),
        (
            "not an image",
            frame(b"hello, I am text".to_vec()),
            ErrorKind::InvalidInput,
            "invalid_image",
        ),
        (
            "GIF",
            frame(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec()),
            ErrorKind::UnsupportedFormat,
            "unsupported_image_type",
        ),
        (
            "huge declared dimensions",
            frame(png_header_claiming(100_000, 100_000)),
            ErrorKind::TooLarge,
            "image_dimensions_too_large",
        ),
        (
            "bad base64",
            DetectRequest::new(Frame::Base64("@@@@".into())),
            ErrorKind::InvalidInput,
            "invalid_base64",
        ),
        (
            "box outside the image",
            with_box(600.0, 600.0, 50.0, 50.0),
            ErrorKind::Unprocessable,
            "invalid_face_bounds",
        ),
        (
            "zero-size box",
            with_box(100.0, 100.0, 0.0, 50.0),
            ErrorKind::Unprocessable,
            "invalid_face_bounds",
        ),
        (
            "negative box",
            with_box(-80.0, -80.0, 40.0, 40.0),
            ErrorKind::Unprocessable,
            "invalid_face_bounds",
        ),
        (
            "unknown model",
            frame(astronaut.clone()).with_model("nope"),
            ErrorKind::InvalidInput,
            "unknown_model",
        ),
    ];
    for (name, request, kind, code) in cases {
        println!("case: {name}");
        check(&engine, request, kind, code);
    }
}

#[test]
fn an_image_over_the_byte_limit_is_refused_before_decoding() {
    let engine = Engine::builder()
        .limits(Limits {
            max_bytes: 10_000,
            ..Limits::default()
        })
        .build()
        .unwrap();
    let astronaut = read(faces_dir().join("astronaut.jpg"));
    assert!(astronaut.len() > 10_000);
    let err = engine
        .detect_blocking(DetectRequest::new(Frame::Encoded(astronaut)))
        .unwrap_err();
    assert!(
        matches!(err, Error::ImageTooLarge { limit: 10_000, .. }),
        "{err}"
    );
}
