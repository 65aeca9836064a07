//! `emotion_client`: an engine (embedded model, an emotion-server, or Hugging Face), its
//! constructors, and the blocking calls.

use std::ffi::{CStr, c_char};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use emotion_core::classify::huggingface::{HuggingFace, HuggingFaceOptions};
use emotion_core::classify::server::ServerModel;
use emotion_core::{
    DetectRequest, Engine, EngineBuilder, FaceBox, Frame, PixelFormat, Secret, TrackEvents,
};

use crate::error::{FfiError, boundary, emotion_result};
use crate::feed::Feed;
use crate::types::{
    EMOTION_MAX_FACES, emotion_config, emotion_detection, emotion_pixel_format, emotion_rect,
    face_detector, pixel_format,
};

/// A client of the engine. Opaque; made by an `emotion_client_new_*` function, released by
/// `emotion_client_free`.
///
/// Thread safety: every function taking a client may be called from any thread, concurrently
/// with the others, except `emotion_client_free`, which must be the last call on it.
#[derive(Debug)]
#[allow(non_camel_case_types)]
pub struct emotion_client {
    pub(crate) engine: Engine,
    pub(crate) feed: Feed,
}

/// The runtime the network backends and the frame workers run on: one thread, shared by every
/// client, started with the first client.
pub(crate) fn runtime() -> Result<&'static tokio::runtime::Runtime, FfiError> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("emotion-io")
        .enable_all()
        .build()
        .map_err(|e| FfiError::InvalidArgument(format!("cannot start the engine's thread: {e}")))?;
    Ok(RUNTIME.get_or_init(|| rt))
}

/// The settings, or the defaults for NULL.
///
/// # Safety
/// `config` is NULL or points to an `emotion_config`.
unsafe fn settings(config: *const emotion_config) -> emotion_config {
    // SAFETY: the caller's promise.
    unsafe { config.as_ref() }.copied().unwrap_or_default()
}

fn builder(config: &emotion_config) -> Result<EngineBuilder, FfiError> {
    if !(0.0..=1.0).contains(&config.smoothing) || !(0.0..=1.0).contains(&config.crop_margin) {
        return Err(FfiError::InvalidArgument(format!(
            "smoothing ({}) and crop_margin ({}) must lie in [0, 1]",
            config.smoothing, config.crop_margin
        )));
    }
    let max_faces = config.max_faces as usize;
    if !(1..=EMOTION_MAX_FACES).contains(&max_faces) {
        return Err(FfiError::InvalidArgument(format!(
            "max_faces must lie in [1, {EMOTION_MAX_FACES}], got {max_faces}"
        )));
    }
    let mut builder = Engine::builder()
        .cache(
            u64::from(config.cache_entries),
            Duration::from_millis(u64::from(config.cache_ttl_ms)),
        )
        .crop_margin(config.crop_margin)
        .face_detector(face_detector(config.face_detector)?)
        .max_faces(max_faces)
        .min_face_size(config.min_face_size);
    if config.workers > 0 {
        builder = builder.workers(config.workers as usize);
    }
    Ok(builder)
}

/// Text from C: `Ok(None)` for NULL where NULL is allowed.
///
/// # Safety
/// `text` is NULL or a NUL-terminated string.
unsafe fn text<'a>(text: *const c_char, name: &'static str) -> Result<Option<&'a str>, FfiError> {
    if text.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller's promise.
    let text = unsafe { CStr::from_ptr(text) };
    text.to_str()
        .map(Some)
        .map_err(|_| FfiError::InvalidArgument(format!("`{name}` is not UTF-8")))
}

/// Builds the engine on the runtime (remote models keep a handle to it) and hands the client
/// to `*out`.
///
/// # Safety
/// `out` is NULL or points to writable storage for a pointer.
unsafe fn make(
    out: *mut *mut emotion_client,
    config: &emotion_config,
    build: impl FnOnce(EngineBuilder) -> Result<Engine, FfiError>,
) -> Result<emotion_result, FfiError> {
    if out.is_null() {
        return Err(FfiError::NullParameter("out"));
    }
    let rt = runtime()?;
    let engine = {
        let _guard = rt.enter();
        build(builder(config)?)?
    };
    let client = Box::new(emotion_client {
        engine,
        feed: Feed::new(config.smoothing, config.track_timeout),
    });
    // SAFETY: checked non-null; the caller gives writable storage.
    unsafe { *out = Box::into_raw(client) };
    Ok(emotion_result::EMOTION_OK)
}

/// A client running the embedded model in this process: offline, no key.
///
/// `config` may be NULL (the defaults). On success `*out` holds the new client.
///
/// # Safety
/// `config` is NULL or points to an `emotion_config`; `out` points to writable storage.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emotion_client_new_local(
    config: *const emotion_config,
    out: *mut *mut emotion_client,
) -> emotion_result {
    boundary(|| {
        // SAFETY: the caller's promise.
        let config = unsafe { settings(config) };
        // SAFETY: the caller's promise.
        unsafe { make(out, &config, |b| Ok(b.build()?)) }
    })
}

/// A client of an emotion-server at `url` (`http://host:port`): faces are cropped here and
/// only the crop is sent. `api_key` may be NULL (a server without `API_KEY`).
///
/// # Safety
/// `url` is a NUL-terminated string; `api_key` is NULL or one; `config` is NULL or points to an
/// `emotion_config`; `out` points to writable storage.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emotion_client_new_server(
    url: *const c_char,
    api_key: *const c_char,
    config: *const emotion_config,
    out: *mut *mut emotion_client,
) -> emotion_result {
    boundary(|| {
        // SAFETY: the caller's promise, for each argument.
        let (url, api_key, config) = unsafe {
            (
                text(url, "url")?.ok_or(FfiError::NullParameter("url"))?,
                text(api_key, "api_key")?,
                settings(config),
            )
        };
        let model = ServerModel::new(
            url,
            api_key.map(Secret::new),
            Duration::from_millis(u64::from(config.timeout_ms.max(1))),
            config.crop_margin,
        )?;
        // SAFETY: the caller's promise.
        unsafe { make(out, &config, |b| Ok(b.model(Arc::new(model)).build()?)) }
    })
}

/// A client of the Hugging Face Inference API with `api_key`. `models` is NULL (the default
/// model) or a comma-separated chain of model ids tried in order; `base_url` is NULL (the
/// public API) or another endpoint. With `fallback_local`, the embedded model answers when
/// every remote model fails.
///
/// # Safety
/// `api_key` is a NUL-terminated string; `models` and `base_url` are NULL or such strings;
/// `config` is NULL or points to an `emotion_config`; `out` points to writable storage.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emotion_client_new_huggingface(
    api_key: *const c_char,
    models: *const c_char,
    base_url: *const c_char,
    fallback_local: bool,
    config: *const emotion_config,
    out: *mut *mut emotion_client,
) -> emotion_result {
    boundary(|| {
        // SAFETY: the caller's promise, for each argument.
        let (api_key, models, base_url, config) = unsafe {
            (
                text(api_key, "api_key")?.ok_or(FfiError::NullParameter("api_key"))?,
                text(models, "models")?.unwrap_or(DEFAULT_HF_MODEL),
                text(base_url, "base_url")?,
                settings(config),
            )
        };
        let ids: Vec<&str> = models.split(',').map(str::trim).collect();
        if ids.iter().any(|id| id.is_empty()) {
            return Err(FfiError::InvalidArgument(format!(
                "`models` must be model ids separated by commas, got {models:?}"
            )));
        }
        // SAFETY: the caller's promise.
        unsafe {
            make(out, &config, |mut b| {
                let hf = HuggingFace::new(HuggingFaceOptions {
                    api_key: Secret::new(api_key),
                    base_url: base_url
                        .map_or_else(|| HuggingFaceOptions::default().base_url, str::to_owned),
                    request_timeout: Duration::from_millis(u64::from(config.timeout_ms.max(1))),
                    ..HuggingFaceOptions::default()
                })?;
                for id in ids {
                    b = b.model(hf.model(id));
                }
                Ok(b.fallback_local(fallback_local).build()?)
            })
        }
    })
}

/// The model Hugging Face clients use when none is named.
const DEFAULT_HF_MODEL: &str = "trpakov/vit-face-expression";

/// Releases a client: stops its worker (a frame waiting or in progress is dropped) and waits
/// until it has stopped, which takes at most one local inference. NULL is a no-op.
///
/// # Safety
/// `client` is NULL or a client from `emotion_client_new_*` not yet freed, with no call on it
/// running in another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emotion_client_free(client: *mut emotion_client) {
    if client.is_null() {
        return;
    }
    // SAFETY: the caller gives up the client made by `make`.
    let client = unsafe { Box::from_raw(client) };
    if let Ok(runtime) = runtime() {
        client.feed.close(runtime);
    }
}

/// The client behind a pointer from C.
///
/// # Safety
/// `client` is NULL or a live client.
pub(crate) unsafe fn client_ref<'a>(
    client: *const emotion_client,
) -> Result<&'a emotion_client, FfiError> {
    // SAFETY: the caller's promise.
    unsafe { client.as_ref() }.ok_or(FfiError::NullParameter("client"))
}

/// A frame of raw pixels, checked: the caller's, borrowed for the length of a call
/// (`B = &[u8]`), or a copy waiting for the worker (`B = Vec<u8>`).
#[derive(Debug)]
pub(crate) struct Pixels<B> {
    pub bytes: B,
    width: u32,
    height: u32,
    stride: usize,
    format: PixelFormat,
    face: Option<FaceBox>,
}

impl<B> Pixels<B> {
    /// The same frame with its pixels in `bytes`.
    pub fn with_bytes<C>(&self, bytes: C) -> Pixels<C> {
        Pixels {
            bytes,
            width: self.width,
            height: self.height,
            stride: self.stride,
            format: self.format,
            face: self.face,
        }
    }

    /// The request for this frame, its pixels in `data` (a copy of `bytes`).
    pub fn request(&self, data: Vec<u8>) -> DetectRequest {
        let mut request = DetectRequest::new(Frame::Pixels {
            data,
            width: self.width,
            height: self.height,
            stride: self.stride,
            format: self.format,
        });
        request.faces.extend(self.face);
        request
    }
}

/// Checks a caller's frame and borrows its pixels.
///
/// # Safety
/// `pixels` is NULL or points to `stride * (height - 1) + width * channels` readable bytes, left
/// unchanged for `'a`; `bounds` is NULL or points to an `emotion_rect`.
pub(crate) unsafe fn checked_pixels<'a>(
    client: &emotion_client,
    pixels: *const u8,
    width: u32,
    height: u32,
    stride: usize,
    format: u32,
    bounds: *const emotion_rect,
) -> Result<Pixels<&'a [u8]>, FfiError> {
    if pixels.is_null() {
        return Err(FfiError::NullParameter("pixels"));
    }
    let format = pixel_format(format)?;
    // Checked before the slice is made, which spans as many bytes as the dimensions promise.
    emotion_core::frame::check_dimensions(width, height, client.engine.limits())?;
    let row = width as usize * format.channels();
    if stride < row {
        return Err(emotion_core::Error::InvalidPixels(format!(
            "stride {stride} is shorter than a row of {width} {format:?} pixels ({row} bytes)"
        ))
        .into());
    }
    let len = stride
        .checked_mul(height as usize - 1)
        .and_then(|n| n.checked_add(row))
        .ok_or_else(|| {
            FfiError::InvalidArgument(format!(
                "a {width}x{height} frame with stride {stride} overflows"
            ))
        })?;
    Ok(Pixels {
        // SAFETY: the caller gives `len` readable bytes at `pixels` (the header says so).
        bytes: unsafe { std::slice::from_raw_parts(pixels, len) },
        width,
        height,
        stride,
        format,
        // SAFETY: `bounds` is NULL or points to a rect, the caller's promise.
        face: unsafe { bounds.as_ref() }.map(|b| b.to_face()),
    })
}

/// Writes `detection` to `*out`.
///
/// # Safety
/// `out` points to a writable `emotion_detection` (checked non-null before the work).
pub(crate) unsafe fn write(
    out: *mut emotion_detection,
    detection: emotion_detection,
) -> emotion_result {
    // SAFETY: the caller's promise.
    unsafe { *out = detection };
    emotion_result::EMOTION_OK
}

/// Classifies a frame of raw pixels and waits for the answer (a few milliseconds with the
/// embedded model; a network round trip with a remote one). `format` is an
/// `EMOTION_PIXEL_FORMAT_*`; `stride` is the bytes from one row's start to the next; `bounds`
/// is NULL (the whole frame) or the face box. On success `*out` holds the detection.
///
/// # Safety
/// `client` is a live client; `pixels` points to `stride * (height - 1) + width * channels`
/// readable bytes; `bounds` is NULL or points to an `emotion_rect`; `out` points to a writable
/// `emotion_detection`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn emotion_detect(
    client: *const emotion_client,
    pixels: *const u8,
    width: u32,
    height: u32,
    stride: usize,
    format: u32,
    bounds: *const emotion_rect,
    out: *mut emotion_detection,
) -> emotion_result {
    boundary(|| {
        // SAFETY: the caller's promise.
        let client = unsafe { client_ref(client)? };
        if out.is_null() {
            return Err(FfiError::NullParameter("out"));
        }
        // SAFETY: the caller's promise.
        let frame =
            unsafe { checked_pixels(client, pixels, width, height, stride, format, bounds)? };
        let detection = client.detect(frame.request(frame.bytes.to_vec()))?;
        // SAFETY: checked non-null.
        Ok(unsafe { write(out, detection) })
    })
}

/// `emotion_detect` for RGBA pixels (`EMOTION_PIXEL_FORMAT_RGBA`).
///
/// # Safety
/// As for `emotion_detect`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emotion_detect_rgba(
    client: *const emotion_client,
    pixels: *const u8,
    width: u32,
    height: u32,
    stride: usize,
    bounds: *const emotion_rect,
    out: *mut emotion_detection,
) -> emotion_result {
    let rgba = emotion_pixel_format::EMOTION_PIXEL_FORMAT_RGBA as u32;
    // SAFETY: the caller's promise, passed on.
    unsafe { emotion_detect(client, pixels, width, height, stride, rgba, bounds, out) }
}

/// Classifies an encoded JPEG, PNG or WebP image of `len` bytes and waits for the answer.
///
/// # Safety
/// `client` is a live client; `data` points to `len` readable bytes; `bounds` is NULL or points
/// to an `emotion_rect`; `out` points to a writable `emotion_detection`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emotion_detect_encoded(
    client: *const emotion_client,
    data: *const u8,
    len: usize,
    bounds: *const emotion_rect,
    out: *mut emotion_detection,
) -> emotion_result {
    boundary(|| {
        // SAFETY: the caller's promise.
        let client = unsafe { client_ref(client)? };
        if data.is_null() {
            return Err(FfiError::NullParameter("data"));
        }
        if out.is_null() {
            return Err(FfiError::NullParameter("out"));
        }
        // SAFETY: the caller gives `len` readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
        let mut request = DetectRequest::new(Frame::Encoded(bytes));
        // SAFETY: the caller's promise.
        request
            .faces
            .extend(unsafe { bounds.as_ref() }.map(|b| b.to_face()));
        let detection = client.detect(request)?;
        // SAFETY: checked non-null.
        Ok(unsafe { write(out, detection) })
    })
}

/// Copies the id of the client's first model (`local/mini-xception-fer2013`, a Hugging Face
/// model id, `server:<url>`) into `buf`, NUL-terminated, and its length into `*written`.
///
/// # Safety
/// `client` is a live client; `buf` points to `len` writable bytes; `written` to a `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emotion_client_model(
    client: *const emotion_client,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
) -> emotion_result {
    boundary(|| {
        // SAFETY: the caller's promise.
        let client = unsafe { client_ref(client)? };
        let id = client.engine.models().next().map_or("", |m| m.id());
        // SAFETY: the caller's promise.
        unsafe { crate::copy_text(id, buf, len, written) }
    })
}

impl emotion_client {
    /// One detection on the calling thread's time, the work on the engine's threads.
    fn detect(&self, request: DetectRequest) -> Result<emotion_detection, FfiError> {
        let detection = runtime()?.block_on(self.engine.detect(request))?;
        Ok(emotion_detection::new(&detection, &TrackEvents::default()))
    }
}
