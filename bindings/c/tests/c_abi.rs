//! libemotion from C and C++: the test program and the example compiled against the committed
//! header with every warning an error, linked to the shared and to the static library, run on
//! a real face photo against a real server and a Hugging Face stand-in on loopback, and under
//! valgrind (no leak, no invalid access).

mod common;
#[path = "../../../core/tests/support/scene.rs"]
mod scene;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use axum::Json;
use axum::extract::Path as UrlPath;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::json;

const SERVER_KEY: &str = "c-test-key";
const PHOTO: &str = "astronaut.jpg";
const GROUP: &str = "group_of_four.jpg";

/// The moving scene: frames of this size, faces of this side, for a client with this track
/// timeout.
const SCENE: (u32, u32) = (640, 480);
const SIDE: u32 = 150;
const TRACK_TIMEOUT: u32 = 4;
/// Frames 0..12 show both faces; in `AWAY` the neutral face is gone (one frame longer than the
/// timeout, so that an end reported twice would show); then it is back until `FRAMES`.
const AWAY: std::ops::Range<i64> = 12..12 + TRACK_TIMEOUT as i64 + 1;
const FRAMES: i64 = AWAY.end + 3;

#[derive(Clone, Copy, Debug)]
enum Language {
    C,
    Cxx,
}

#[derive(Clone, Copy, Debug)]
enum Linking {
    Shared,
    Static,
}

/// Compiles `source` to `out` against the header and the library.
fn compile(source: &Path, out: &Path, language: Language, linking: Linking) {
    let lib = common::lib_dir();
    let include = common::repo().join("bindings/c/include");
    let mut cc = match language {
        Language::C => {
            let mut c = Command::new("cc");
            c.args(["-std=c11", "-D_POSIX_C_SOURCE=200809L"]);
            c
        }
        Language::Cxx => {
            let mut c = Command::new("c++");
            c.args(["-x", "c++", "-std=c++17"]);
            c
        }
    };
    cc.args(["-Wall", "-Wextra", "-Werror", "-pedantic", "-g", "-O1"])
        .arg("-I")
        .arg(&include)
        .arg(source);
    if let Language::Cxx = language {
        // What follows is object code and libraries, not C++ sources.
        cc.args(["-x", "none"]);
    }
    cc.arg("-o").arg(out);
    match linking {
        Linking::Shared => {
            cc.arg(format!("-L{}", lib.display()))
                .arg("-lemotion")
                .arg(format!("-Wl,-rpath,{}", lib.display()));
        }
        Linking::Static => {
            cc.arg(lib.join("libemotion.a"));
        }
    }
    cc.args(["-lpthread", "-ldl", "-lm"]);
    common::run_ok(&mut cc);
}

/// A Hugging Face stand-in: the model `refused` answers 401 as the real API does for a bad
/// token; every other model 400, a final failure (no retries).
async fn huggingface_stand_in() -> SocketAddr {
    let app = axum::Router::new().route(
        "/{*model}",
        post(|UrlPath(model): UrlPath<String>| async move {
            if model == "refused" {
                (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"error": "Invalid credentials in Authorization header"})),
                )
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": format!("{model} cannot read this input")})),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("the listener has an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// The emotion-server in this process on a free port, with an API key.
async fn server() -> SocketAddr {
    let vars: HashMap<&str, &str> = [("API_KEYS", SERVER_KEY)].into();
    let config =
        emotion_server::config::Config::from_lookup(|k| vars.get(k).map(|v| (*v).to_owned()))
            .expect("the test configuration is valid");
    let (engine, _) = emotion_server::serve::engine(&config).expect("the engine builds");
    let state = emotion_server::app::AppState::new(engine, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("the listener has an address");
    tokio::spawn(emotion_server::serve::serve(
        listener,
        state,
        std::future::pending(),
    ));
    addr
}

/// Where each face of the moving scene is in frame `i`: the happy face walking right, the
/// neutral one walking left, away for `AWAY`, then back where it left.
fn scene_places(i: i64) -> ((i64, i64), Option<(i64, i64)>) {
    let happy = (20 + 8 * i, 100);
    let neutral = (!AWAY.contains(&i)).then(|| (460 - 8 * i.min(AWAY.start - 1), 140));
    (happy, neutral)
}

/// The several-faces inputs of the test program, written to `dir`: the group photo as raw
/// RGBA with its known boxes, and the moving scene's frames as raw RGBA one after another (a
/// synthetic scene from the shared helper: two real faces on grey, as core/tests/tracks.rs
/// and the WebSocket test make them). Returns the path of the list that names them.
fn faces_inputs(dir: &Path) -> PathBuf {
    use std::fmt::Write as _;
    let (group, width, height) = common::rgba_fixture(dir, GROUP);
    let faces = common::repo().join("tests/fixtures/faces");
    let mut list = format!(
        "group {} {width} {height} {}\n",
        group.display(),
        faces.join(GROUP).display()
    );
    for [x, y, w, h] in common::face_boxes(GROUP) {
        writeln!(list, "face {x} {y} {w} {h}").expect("write to a string");
    }

    let tile = |photo: &str, margin: f64| {
        let bytes = std::fs::read(faces.join(photo)).expect("a committed photo");
        let face = common::face_box(photo).map(f64::from);
        scene::scaled(&scene::face_cut(&bytes, face, margin), SIDE, SIDE)
    };
    let happy = tile(PHOTO, 0.3);
    let neutral = tile("grace_hopper.webp", 0.1);
    let scene_path = dir.join("scene.rgba");
    let mut pixels = Vec::new();
    writeln!(
        list,
        "scene {} {} {} {FRAMES} {SIDE} {TRACK_TIMEOUT}",
        scene_path.display(),
        SCENE.0,
        SCENE.1
    )
    .expect("write to a string");
    for i in 0..FRAMES {
        let ((hx, hy), neutral_at) = scene_places(i);
        let mut placed = vec![(&happy, hx, hy)];
        placed.extend(neutral_at.map(|(x, y)| (&neutral, x, y)));
        let frame = scene::compose(SCENE.0, SCENE.1, &placed);
        pixels.extend_from_slice(image::DynamicImage::ImageRgb8(frame).to_rgba8().as_raw());
        let (nx, ny) = neutral_at.unwrap_or((-1, -1));
        writeln!(list, "frame {i} {hx} {hy} {nx} {ny}").expect("write to a string");
    }
    std::fs::write(&scene_path, pixels).expect("write the scene's frames");
    let path = dir.join("faces.txt");
    std::fs::write(&path, list).expect("write the list of inputs");
    path
}

/// The test program's arguments: the photo's pixels and box, the photo, the peers, the
/// several-faces inputs.
async fn arguments(dir: &Path) -> Vec<String> {
    let (pixels, width, height) = common::rgba_fixture(dir, PHOTO);
    let [x, y, w, h] = common::face_box(PHOTO);
    let photo = common::repo().join("tests/fixtures/faces").join(PHOTO);
    let server = server().await;
    let hf = huggingface_stand_in().await;
    let mut args = vec![pixels.display().to_string()];
    args.extend([width, height, x, y, w, h].map(|v| v.to_string()));
    args.extend([
        photo.display().to_string(),
        format!("http://{server}"),
        SERVER_KEY.to_owned(),
        format!("http://{hf}"),
        faces_inputs(dir).display().to_string(),
    ]);
    args
}

/// Runs a built program off the async threads (the peers it calls run on them).
async fn run(program: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || {
        let output = common::run_ok(Command::new(&program[0]).args(&program[1..]));
        String::from_utf8_lossy(&output.stdout).into_owned()
    })
    .await
    .expect("the program's run ends")
}

fn test_program() -> PathBuf {
    common::repo().join("tests/c/emotion_test.c")
}

/// One test, so that the runs do not compete for the cores: the game loop's timing is measured
/// in the plain runs, and valgrind alone would slow everything else down many times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_program_passes_in_c_and_cpp_against_both_libraries_and_under_valgrind() {
    let dir = common::scratch("programs");
    let args = arguments(&dir).await;
    for language in [Language::C, Language::Cxx] {
        for linking in [Linking::Shared, Linking::Static] {
            let exe = dir.join(format!("emotion_test_{language:?}_{linking:?}"));
            compile(&test_program(), &exe, language, linking);
            let mut program = vec![exe.display().to_string()];
            program.extend(args.iter().cloned());
            let stdout = run(program).await;
            assert!(
                stdout.contains("PASS: 0 failed") && !stdout.contains("FAIL "),
                "{language:?}/{linking:?}:\n{stdout}"
            );
            println!("{language:?}, {linking:?}:\n{stdout}");
        }
    }

    common::require_tool("valgrind", "valgrind");
    let mut program: Vec<String> = [
        "valgrind",
        "--error-exitcode=99",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite,indirect",
        "--show-leak-kinds=definite,indirect",
    ]
    .map(str::to_owned)
    .into();
    program.push(dir.join("emotion_test_C_Static").display().to_string());
    program.extend(args);
    program.push("--no-timing".to_owned());
    let stdout = run(program).await;
    assert!(stdout.contains("PASS: 0 failed"), "{stdout}");
}

/// The boxes of the example's `  face N: EMOTION SCORE at X,Y WxH` lines.
fn printed_faces(stdout: &str) -> Vec<[f64; 4]> {
    let parse = |line: &str| -> Option<[f64; 4]> {
        let mut words = line.split_whitespace().skip_while(|w| *w != "at").skip(1);
        let (x, y) = words.next()?.split_once(',')?;
        let (w, h) = words.next()?.split_once('x')?;
        let mut values = [0.0; 4];
        for (value, text) in values.iter_mut().zip([x, y, w, h]) {
            *value = text.parse().ok()?;
        }
        Some(values)
    };
    stdout
        .lines()
        .filter(|l| l.starts_with("  face "))
        .map(|line| parse(line).unwrap_or_else(|| panic!("a face line with a box: {line}")))
        .collect()
}

/// Intersection over union of two `[x, y, width, height]` boxes.
fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let w = (a[0] + a[2]).min(b[0] + b[2]) - a[0].max(b[0]);
    let h = (a[1] + a[3]).min(b[1] + b[3]) - a[1].max(b[1]);
    let inter = w.max(0.0) * h.max(0.0);
    inter / (a[2] * a[3] + b[2] * b[3] - inter)
}

#[test]
fn the_example_prints_the_emotion_of_a_photo() {
    let dir = common::scratch("example");
    let exe = dir.join("detect_photo");
    compile(
        &common::repo().join("examples/c/detect_photo.c"),
        &exe,
        Language::C,
        Linking::Shared,
    );
    let [x, y, w, h] = common::face_box(PHOTO);
    let photo = common::repo().join("tests/fixtures/faces").join(PHOTO);
    let output = common::run_ok(
        Command::new(&exe)
            .arg(&photo)
            .args([x, y, w, h].map(|v| v.to_string())),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with("happy "), "{stdout}");
    assert!(
        stdout.contains(&format!("face {x},{y} {w}x{h}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 face\n  face 1: happy 0.")
            && stdout.contains(&format!("at {x},{y} {w}x{h}\n"))
            && !stdout.contains("(detector"),
        "the box given is the one face, with no detector confidence: {stdout}"
    );

    // A group photo without a box: the full-range detector finds every face.
    let group = common::repo().join("tests/fixtures/faces").join(GROUP);
    let output = common::run_ok(Command::new(&exe).arg(&group));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let known = common::face_boxes(GROUP);
    let printed = printed_faces(&stdout);
    assert!(stdout.contains("\n4 faces\n"), "{stdout}");
    assert_eq!(printed.len(), known.len(), "{stdout}");
    for (i, found) in printed.iter().enumerate() {
        let overlap = known
            .iter()
            .map(|k| iou(*found, k.map(f64::from)))
            .fold(0.0, f64::max);
        assert!(
            overlap >= 0.5,
            "face {} overlaps no known box: {stdout}",
            i + 1
        );
    }

    let missing = Command::new(&exe)
        .arg(dir.join("missing.jpg"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let garbage = dir.join("garbage.jpg");
    std::fs::write(&garbage, b"not an image").unwrap();
    let refused = Command::new(&exe).arg(&garbage).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not a JPEG, PNG or WebP"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
