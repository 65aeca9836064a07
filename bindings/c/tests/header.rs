//! The committed `include/emotion.h` is what cbindgen makes of the crate now: a change to the
//! Rust API that is not regenerated fails here. `EMOTION_UPDATE_HEADER=1` rewrites the header.

use std::path::Path;

#[test]
fn the_committed_header_matches_the_rust_api() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen reads the crate")
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    let path = crate_dir.join("include/emotion.h");
    if std::env::var_os("EMOTION_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/emotion.h is out of date: regenerate it with \
         `EMOTION_UPDATE_HEADER=1 cargo test -p emotion-ffi --test header`"
    );
}
