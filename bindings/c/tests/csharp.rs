//! The Unity C# wrapper (examples/unity/EmotionDetector.cs) against the real libemotion, under Mono:
//! its struct layouts against a C compiler's (tests/csharp/layout.c), then real calls
//! (tests/csharp/ConsoleTest.cs). Needs `mcs` (apt `mono-mcs`), `mono` (`mono-runtime`) and `cc`.

mod common;

use std::process::Command;

#[test]
fn csharp_wrapper_matches_the_header_and_drives_the_library() {
    common::require_tool("mcs", "mono-mcs");
    common::require_tool("mono", "mono-runtime");
    common::require_tool("cc", "gcc");
    let repo = common::repo();
    let lib = common::lib_dir();
    let dir = common::scratch("csharp");
    let (rgba, width, height) = common::rgba_fixture(&dir, "astronaut.jpg");
    let [x, y, w, h] = common::face_box("astronaut.jpg");

    // What a C compiler makes of the header: sizes, offsets and constants.
    let layout_exe = dir.join("layout");
    common::run_ok(
        Command::new("cc")
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
            .arg(repo.join("bindings/c/include"))
            .arg(repo.join("tests/csharp/layout.c"))
            .arg("-o")
            .arg(&layout_exe),
    );
    let layout = common::run_ok(&mut Command::new(&layout_exe)).stdout;
    let layout_txt = dir.join("layout.txt");
    std::fs::write(&layout_txt, &layout).expect("write the layout");

    // Warnings are errors: the wrapper is meant to build clean in a Unity project too.
    let exe = dir.join("ConsoleTest.exe");
    common::run_ok(
        Command::new("mcs")
            .arg("-warnaserror+")
            .arg(format!("-out:{}", exe.display()))
            .arg("-r:System.dll")
            .arg(repo.join("examples/unity/EmotionDetector.cs"))
            .arg(repo.join("tests/csharp/ConsoleTest.cs")),
    );

    // The Rust defaults, to compare with what `emotion_config_default` hands to C#.
    let d = emotion::emotion_config::default();
    let config = format!(
        "{},{},{},{},{},{},{},{},{},{}",
        d.workers,
        d.cache_entries,
        d.cache_ttl_ms,
        d.smoothing,
        d.timeout_ms,
        d.crop_margin,
        d.face_detector,
        d.max_faces,
        d.min_face_size,
        d.track_timeout
    );
    let (group_rgba, group_width, group_height) = common::rgba_fixture(&dir, "group_of_four.jpg");
    let group_faces: Vec<String> = common::face_boxes("group_of_four.jpg")
        .iter()
        .map(|[x, y, w, h]| format!("{x},{y},{w},{h}"))
        .collect();

    // Mono resolves [DllImport("emotion")] to libemotion.so through dlopen's search path.
    let output = common::run_ok(
        Command::new("mono")
            .arg("--debug")
            .arg(&exe)
            .arg(format!("layout={}", layout_txt.display()))
            .arg(format!(
                "jpeg={}",
                repo.join("tests/fixtures/faces/astronaut.jpg").display()
            ))
            .arg(format!("rgba={}", rgba.display()))
            .arg(format!("width={width}"))
            .arg(format!("height={height}"))
            .arg(format!("face={x},{y},{w},{h}"))
            .arg(format!("version={}", env!("CARGO_PKG_VERSION")))
            .arg(format!("config={config}"))
            .arg(format!(
                "group_jpeg={}",
                repo.join("tests/fixtures/faces/group_of_four.jpg")
                    .display()
            ))
            .arg(format!("group_rgba={}", group_rgba.display()))
            .arg(format!("group_width={group_width}"))
            .arg(format!("group_height={group_height}"))
            .arg(format!("group_faces={}", group_faces.join(";")))
            .env("LD_LIBRARY_PATH", &lib),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        stdout.contains(" checks passed, 0 failed"),
        "the console test did not report its checks:\n{stdout}"
    );
}
