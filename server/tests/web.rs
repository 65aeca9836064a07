//! The web app end to end: the real server on loopback serves the page, and Debian's headless
//! Chromium (driven by `tests/e2e/webcam.mjs` with playwright-core) opens it with a fake camera
//! that plays a video made here from a committed face photo. It also uploads a single-face photo
//! and a group photo (every face must be shown), and the photo again to a second server without
//! a face detector, where the page must send the face that MediaPipe found.
//!
//! Ignored by a plain `cargo test`, as it needs Chromium and the npm packages;
//! `./tests/run-all.sh` installs them and runs it with `--ignored`.

// Tests: a failed step should fail the test at once.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// The camera the page sees: 640x480, as fake capture devices are.
const WIDTH: u32 = 640;
const HEIGHT: u32 = 480;
/// One second of video; Chromium loops the file.
const FRAMES: usize = 30;

/// The repository root, canonical: Chromium finds no fake camera behind a path with `..` in it.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the repository root exists")
}

/// A Y4M video (a header, then raw YUV 4:2:0 frames, BT.601 full range as `C420jpeg` says) of
/// `image` fitted into the camera frame (its drift included), drifting a few pixels a frame as a person in front
/// of a camera does, so that consecutive frames are not identical.
fn y4m_from_image(image: &image::RgbImage, out: &Path) {
    let scale = (f64::from(HEIGHT) / f64::from(image.height()))
        .min(f64::from(WIDTH - 12) / f64::from(image.width()));
    let (w, h) = (
        (f64::from(image.width()) * scale).round() as u32,
        (f64::from(image.height()) * scale).round() as u32,
    );
    let top = (HEIGHT - h) / 2;
    let scaled = image::imageops::resize(image, w, h, image::imageops::FilterType::Triangle);
    let mut file = std::io::BufWriter::new(std::fs::File::create(out).expect("create the video"));
    writeln!(file, "YUV4MPEG2 W{WIDTH} H{HEIGHT} F30:1 Ip A1:1 C420jpeg").unwrap();
    let (cw, ch) = (WIDTH / 2, HEIGHT / 2);
    for frame in 0..FRAMES {
        // A slow back-and-forth of up to 6 pixels.
        let phase = frame as f64 / FRAMES as f64 * std::f64::consts::TAU;
        let left = (WIDTH - w) as f64 / 2.0 + 6.0 * phase.sin();
        let pixel = |x: u32, y: u32| -> [f64; 3] {
            let sx = x as f64 - left;
            if sx < 0.0 || sx >= f64::from(w) || y < top || y >= top + h {
                return [24.0, 24.0, 28.0];
            }
            let p = scaled.get_pixel(sx as u32, y - top);
            [f64::from(p[0]), f64::from(p[1]), f64::from(p[2])]
        };
        let mut planes = Vec::with_capacity((WIDTH * HEIGHT + 2 * cw * ch) as usize);
        for y in 0..HEIGHT {
            for x in 0..WIDTH {
                let [r, g, b] = pixel(x, y);
                planes.push(
                    (0.299 * r + 0.587 * g + 0.114 * b)
                        .round()
                        .clamp(0.0, 255.0) as u8,
                );
            }
        }
        let mut u = Vec::with_capacity((cw * ch) as usize);
        let mut v = Vec::with_capacity((cw * ch) as usize);
        for y in 0..ch {
            for x in 0..cw {
                let mut sum = [0.0; 3];
                for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                    let p = pixel(2 * x + dx, 2 * y + dy);
                    for c in 0..3 {
                        sum[c] += p[c] / 4.0;
                    }
                }
                let [r, g, b] = sum;
                u.push(
                    (128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b)
                        .round()
                        .clamp(0.0, 255.0) as u8,
                );
                v.push(
                    (128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b)
                        .round()
                        .clamp(0.0, 255.0) as u8,
                );
            }
        }
        planes.extend_from_slice(&u);
        planes.extend_from_slice(&v);
        file.write_all(b"FRAME\n").unwrap();
        file.write_all(&planes).unwrap();
    }
    file.flush().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and the npm packages of web/ and tests/e2e/ (./tests/run-all.sh installs them)"]
async fn the_page_streams_a_webcam_face_and_uploads_a_photo() {
    let repo = repo();
    for needed in [
        repo.join("web/node_modules/@mediapipe/face_detection/face_detection.js"),
        repo.join("tests/e2e/node_modules/playwright-core"),
    ] {
        assert!(
            needed.exists(),
            "{} is missing: run `npm ci` in its folder",
            needed.display()
        );
    }
    let out = repo.join("target/e2e");
    std::fs::create_dir_all(&out).unwrap();
    let photo = repo.join("tests/fixtures/faces/astronaut.jpg");
    let picture = image::open(&photo).expect("the photo decodes").into_rgb8();
    let video = out.join("astronaut.y4m");
    y4m_from_image(&picture, &video);
    // The same scene below the chin: a camera that sees a person but no face.
    let (width, height) = picture.dimensions();
    let body = image::imageops::crop_imm(&picture, 0, 240, width, height - 240).to_image();
    let no_face_video = out.join("no_face.y4m");
    y4m_from_image(&body, &no_face_video);

    let group = repo.join("tests/fixtures/faces/group_of_four.jpg");

    let server = TestServer::with_env(&[("RATE_LIMIT_REQUESTS", "100000")]).await;
    let no_detector =
        TestServer::with_env(&[("RATE_LIMIT_REQUESTS", "100000"), ("FACE_DETECTOR", "off")]).await;
    let url = server.url("/");
    let no_detector_url = no_detector.url("/");
    let [video_arg, photo_arg, out_arg, no_face_arg, group_arg] =
        [&video, &photo, &out, &no_face_video, &group].map(|p| p.display().to_string());
    let script = repo.join("tests/e2e/webcam.mjs");
    let run = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .args([
                url.as_str(),
                &video_arg,
                &photo_arg,
                "happy",
                &out_arg,
                &no_face_arg,
                &group_arg,
                "4",
                no_detector_url.as_str(),
            ])
            .output()
            .expect("node runs")
    });
    let output = tokio::time::timeout(std::time::Duration::from_secs(240), run)
        .await
        .expect("the browser run finished within 4 minutes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("figures: {stdout}");
    assert!(
        output.status.success(),
        "the browser run failed ({}):\n{stderr}\n{stdout}",
        output.status
    );
    server.shutdown().await.expect("clean shutdown");
    no_detector.shutdown().await.expect("clean shutdown");
}
