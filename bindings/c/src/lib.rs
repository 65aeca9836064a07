//! libemotion: the facial emotion engine behind a C ABI, for game engines (Unity, Unreal) and
//! any program that speaks C. `include/emotion.h` is generated from this crate by cbindgen.
//!
//! Conventions (after rustls-ffi): opaque handles made by `emotion_*_new*` and released by
//! `emotion_*_free` (NULL is a no-op); every fallible function returns an [`emotion_result`];
//! outputs go through out-parameters written only on success; the message of the last failure
//! is copied into a caller's buffer by `emotion_last_error`; no panic crosses the boundary.

// The C boundary is raw pointers by nature; every `unsafe` block states what it relies on.
#![allow(unsafe_code)]

mod client;
mod error;
mod feed;
mod types;

use std::ffi::c_char;

pub use client::emotion_client;
pub use error::{FfiError, emotion_result};
pub use types::{
    EMOTION_COUNT, EMOTION_MAX_FACES, emotion_config, emotion_detection, emotion_face,
    emotion_face_detector, emotion_kind, emotion_pixel_format, emotion_rect,
};

use error::FfiError as E;

/// The library's version, as a static NUL-terminated string (`"0.1.0"`).
#[unsafe(no_mangle)]
pub extern "C" fn emotion_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The lowercase name of an `emotion_kind` (`"happy"`), as a static NUL-terminated string;
/// NULL for a value that is no emotion.
#[unsafe(no_mangle)]
pub extern "C" fn emotion_label(emotion: u32) -> *const c_char {
    const LABELS: [&str; EMOTION_COUNT] = [
        "angry\0",
        "disgust\0",
        "fear\0",
        "happy\0",
        "sad\0",
        "surprise\0",
        "neutral\0",
    ];
    LABELS
        .get(emotion as usize)
        .map_or(std::ptr::null(), |l| l.as_ptr().cast())
}

/// Copies `text` with a NUL into the caller's `buf` of `len` bytes and its length into
/// `*written`; nothing is written when it does not fit.
///
/// # Safety
/// `buf` is NULL or points to `len` writable bytes; `written` is NULL or points to a `size_t`.
unsafe fn copy_text(
    text: &str,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> Result<emotion_result, E> {
    if buf.is_null() {
        return Err(E::NullParameter("buf"));
    }
    if written.is_null() {
        return Err(E::NullParameter("written"));
    }
    let needed = text.len() + 1;
    if needed > len {
        return Err(E::BufferTooSmall { given: len, needed });
    }
    // SAFETY: `buf` holds `len >= needed` writable bytes and `written` a `size_t` (checked
    // non-null; the rest is the caller's promise).
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
        *buf.add(text.len()) = 0;
        *written = text.len();
    }
    Ok(emotion_result::EMOTION_OK)
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    #[test]
    fn labels_follow_the_canonical_order() {
        for (i, e) in emotion_core::Emotion::ALL.iter().enumerate() {
            // SAFETY: a static NUL-terminated string.
            let label = unsafe { CStr::from_ptr(super::emotion_label(i as u32)) };
            assert_eq!(label.to_str().unwrap(), e.as_str());
        }
        assert!(super::emotion_label(7).is_null());
    }
}
