//! Shared by the tests that drive libemotion from other languages: where the built libraries
//! are, the face photos as raw pixel files, compilers, and a program's run checked.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// The directory holding `libemotion.so` and `libemotion.a` of this build: `deps/`, beside the
/// test binary. (`cargo test` builds them there; only `cargo build` copies them up to the
/// profile directory, so a copy there may be stale or missing.)
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary has a path");
    let dir = exe
        .parent()
        .expect("the test binary lies in <target>/<profile>/deps")
        .to_path_buf();
    for lib in ["libemotion.so", "libemotion.a"] {
        assert!(
            dir.join(lib).exists(),
            "{lib} is not in {}: `cargo test -p emotion-ffi` builds it",
            dir.display()
        );
    }
    dir
}

/// A scratch directory for this test under the profile directory, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let profile = lib_dir()
        .parent()
        .expect("deps/ lies in the profile directory")
        .to_path_buf();
    let dir = profile.join("c-abi-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// A committed face photo decoded to raw RGBA (rows top to bottom, no padding), written to
/// `dir/<stem>.rgba`: the path, width and height.
pub fn rgba_fixture(dir: &Path, photo: &str) -> (PathBuf, u32, u32) {
    let source = repo().join("tests/fixtures/faces").join(photo);
    let image = image::open(&source)
        .unwrap_or_else(|e| panic!("decode {}: {e}", source.display()))
        .into_rgba8();
    let (width, height) = image.dimensions();
    let stem = Path::new(photo)
        .file_stem()
        .expect("a photo has a file name")
        .to_string_lossy();
    let path = dir.join(format!("{stem}.rgba"));
    std::fs::write(&path, image.as_raw()).expect("write the pixels");
    (path, width, height)
}

/// The first face box of a committed photo, from `faces.json`: x, y, width, height.
pub fn face_box(photo: &str) -> [u32; 4] {
    face_boxes(photo)[0]
}

/// Every face box of a committed photo, from `faces.json`, in its order there: x, y, width,
/// height.
pub fn face_boxes(photo: &str) -> Vec<[u32; 4]> {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/faces/faces.json"))
        .expect("faces.json is committed");
    let index: serde_json::Value = serde_json::from_str(&text).expect("faces.json is JSON");
    let entry = index["photos"]
        .as_array()
        .expect("faces.json lists photos")
        .iter()
        .find(|p| p["file"] == photo)
        .unwrap_or_else(|| panic!("{photo} is not in faces.json"));
    entry["faces"]
        .as_array()
        .expect("a photo lists its faces")
        .iter()
        .map(|face| {
            ["x", "y", "width", "height"].map(|k| {
                face[k]
                    .as_u64()
                    .and_then(|v| u32::try_from(v).ok())
                    .expect("a face box holds pixel counts")
            })
        })
        .collect()
}

/// Fails the test with the package to install when a tool is missing (the README's test
/// command installs them).
pub fn require_tool(tool: &str, apt_package: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is not installed: `apt-get install {apt_package}` (tests/run-all.sh does)"
    );
}

/// Runs `command`, failing the test with its output unless it exits 0.
pub fn run_ok(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
