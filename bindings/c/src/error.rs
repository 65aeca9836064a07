//! Result codes, the calling thread's last error message, and the boundary that turns Rust
//! errors and panics into both.

use std::cell::RefCell;
use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

use emotion_core::{Error as CoreError, ErrorKind};

/// What a call did. `EMOTION_OK` is 0; every other value is a failure, except `EMOTION_NOT_READY`,
/// which `emotion_poll` returns when no new result has arrived (not a failure: try again next
/// frame). After a failure, `emotion_last_error` gives its message.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum emotion_result {
    EMOTION_OK = 0,
    /// `emotion_poll`: no result since the last poll.
    EMOTION_NOT_READY = 1,
    /// A pointer argument that may not be NULL was NULL.
    EMOTION_NULL_PARAMETER = 2,
    /// An argument is out of range or malformed: a pixel format, a URL, a model name, text that
    /// is not UTF-8, a setting.
    EMOTION_INVALID_ARGUMENT = 3,
    /// The encoded image is empty or cannot be decoded.
    EMOTION_INVALID_IMAGE = 4,
    /// The encoded image is of a type the engine does not read (JPEG, PNG and WebP are read).
    EMOTION_UNSUPPORTED_FORMAT = 5,
    /// The image is over a size limit (bytes, pixels per side, pixels in all).
    EMOTION_IMAGE_TOO_LARGE = 6,
    /// The pixel buffer does not match its width, height, stride and format.
    EMOTION_INVALID_PIXELS = 7,
    /// The face bounds are not finite, have no area, or lie outside the image.
    EMOTION_INVALID_FACE_BOUNDS = 8,
    /// The model failed or answered nonsense (a remote model's error, a server that cannot be
    /// reached).
    EMOTION_BACKEND_ERROR = 9,
    /// A remote service refused the API key or token.
    EMOTION_UNAUTHORIZED = 10,
    /// No model of the chain could answer now.
    EMOTION_UNAVAILABLE = 11,
    /// The caller's buffer is too small for the text asked for.
    EMOTION_BUFFER_TOO_SMALL = 12,
    /// A bug inside the engine: a broken invariant.
    EMOTION_INTERNAL = 13,
    /// A bug inside the engine: a Rust panic, caught at the boundary.
    EMOTION_PANIC = 14,
}

/// Everything that can fail in a C call.
#[derive(Debug, thiserror::Error)]
pub enum FfiError {
    #[error("argument `{0}` is NULL")]
    NullParameter(&'static str),
    #[error("{0}")]
    InvalidArgument(String),
    #[error("a buffer of {given} bytes cannot hold {needed} bytes")]
    BufferTooSmall { given: usize, needed: usize },
    #[error(transparent)]
    Engine(#[from] CoreError),
    #[error("panic in the engine: {0}")]
    Panic(String),
}

impl FfiError {
    pub fn code(&self) -> emotion_result {
        use emotion_result::*;
        match self {
            FfiError::NullParameter(_) => EMOTION_NULL_PARAMETER,
            FfiError::InvalidArgument(_) => EMOTION_INVALID_ARGUMENT,
            FfiError::BufferTooSmall { .. } => EMOTION_BUFFER_TOO_SMALL,
            FfiError::Panic(_) => EMOTION_PANIC,
            FfiError::Engine(e) => match (e, e.kind()) {
                (CoreError::InvalidPixels(_), _) => EMOTION_INVALID_PIXELS,
                (CoreError::BackendUnauthorized { .. }, _) => EMOTION_UNAUTHORIZED,
                (CoreError::UnknownModel { .. } | CoreError::InvalidSettings(_), _) => {
                    EMOTION_INVALID_ARGUMENT
                }
                (_, ErrorKind::InvalidInput) => EMOTION_INVALID_IMAGE,
                (_, ErrorKind::TooLarge) => EMOTION_IMAGE_TOO_LARGE,
                (_, ErrorKind::UnsupportedFormat) => EMOTION_UNSUPPORTED_FORMAT,
                (_, ErrorKind::Unprocessable) => EMOTION_INVALID_FACE_BOUNDS,
                (_, ErrorKind::Backend) => EMOTION_BACKEND_ERROR,
                (_, ErrorKind::Unavailable) => EMOTION_UNAVAILABLE,
                _ => EMOTION_INTERNAL,
            },
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Records `error` as the calling thread's last error and returns its code.
pub fn fail(error: &FfiError) -> emotion_result {
    LAST_ERROR.with(|last| {
        let mut last = last.borrow_mut();
        last.clear();
        use std::fmt::Write as _;
        let _ = write!(last, "{error}");
    });
    error.code()
}

/// Runs the body of an exported function: its error, or a panic, becomes a result code and the
/// thread's last error. Nothing unwinds into C.
pub fn boundary(body: impl FnOnce() -> Result<emotion_result, FfiError>) -> emotion_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(code)) => code,
        Ok(Err(error)) => fail(&error),
        Err(payload) => fail(&FfiError::Panic(panic_message(payload.as_ref()))),
    }
}

pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Copies the message of the last failed call on the calling thread into `buf`, NUL-terminated,
/// and its length (without the NUL) into `*written`. An empty message when no call has failed.
///
/// Returns `EMOTION_BUFFER_TOO_SMALL`, writing nothing, when `len` cannot hold the message and
/// its NUL; `emotion_last_error_length` tells the size needed.
///
/// # Safety
/// `buf` must point to `len` writable bytes, and `written` to a `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emotion_last_error(
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> emotion_result {
    boundary(|| {
        let message = LAST_ERROR.with(|last| last.borrow().clone());
        // SAFETY: the caller's promise.
        unsafe { crate::copy_text(&message, buf, len, written) }
    })
}

/// The size of buffer `emotion_last_error` needs now: the message's length plus its NUL.
#[unsafe(no_mangle)]
pub extern "C" fn emotion_last_error_length() -> usize {
    LAST_ERROR.with(|last| last.borrow().len() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_code_and_a_message() {
        let code = boundary(|| panic!("boom at {}", 42));
        assert_eq!(code, emotion_result::EMOTION_PANIC);
        let mut buf = [0 as c_char; 128];
        let mut written = 0;
        // SAFETY: a local buffer of the length given.
        let r = unsafe { emotion_last_error(buf.as_mut_ptr(), buf.len(), &mut written) };
        assert_eq!(r, emotion_result::EMOTION_OK);
        let text: Vec<u8> = buf[..written].iter().map(|&c| c as u8).collect();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "panic in the engine: boom at 42"
        );
    }

    #[test]
    fn every_core_error_kind_has_its_own_code() {
        use emotion_result::*;
        let cases = [
            (CoreError::EmptyImage, EMOTION_INVALID_IMAGE),
            (CoreError::InvalidPixels("x".into()), EMOTION_INVALID_PIXELS),
            (
                CoreError::UnsupportedFormat("gif".into()),
                EMOTION_UNSUPPORTED_FORMAT,
            ),
            (
                CoreError::ImageTooLarge { size: 2, limit: 1 },
                EMOTION_IMAGE_TOO_LARGE,
            ),
            (
                CoreError::InvalidFaceBounds("x".into()),
                EMOTION_INVALID_FACE_BOUNDS,
            ),
            (CoreError::Internal("x".into()), EMOTION_INTERNAL),
            (
                CoreError::BackendUnavailable { failures: vec![] },
                EMOTION_UNAVAILABLE,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(FfiError::Engine(error).code(), code);
        }
    }
}
