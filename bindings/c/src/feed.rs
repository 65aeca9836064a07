//! The non-blocking way to call, for game loops: `emotion_submit*` hands a frame to the
//! client's worker and returns at once, `emotion_poll` takes the newest result if there is one.
//! The latest frame wins: a frame still waiting when a newer one comes is dropped, and counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use emotion_core::Engine;
use emotion_core::track::LatestSlot;
use futures::FutureExt;
use parking_lot::Mutex;

use crate::client::{Pixels, checked_pixels, client_ref, write};
use crate::error::{FfiError, boundary, emotion_result, fail, panic_message};
use crate::types::{emotion_detection, emotion_pixel_format, emotion_rect};

/// A client's worker and the mailboxes on either side of it.
#[derive(Debug)]
pub struct Feed {
    frames: Arc<LatestSlot<Submitted>>,
    shared: Arc<Shared>,
    submitted: AtomicU64,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Buffers of frames done with, shared by the submitting threads and the worker.
#[derive(Debug, Default)]
struct Spare(Mutex<Vec<Vec<u8>>>);

impl Spare {
    fn take(&self) -> Vec<u8> {
        self.0.lock().pop().unwrap_or_default()
    }

    fn give(&self, buffer: Vec<u8>) {
        let mut spare = self.0.lock();
        if spare.len() < SPARE_BUFFERS {
            spare.push(buffer);
        }
    }
}

#[derive(Debug)]
struct Submitted {
    id: u64,
    frame: Pixels<Vec<u8>>,
}

/// Frame buffers kept for reuse: a render thread copies into memory already mapped instead of
/// allocating (and page-faulting) a fresh megabyte each frame.
const SPARE_BUFFERS: usize = 2;

#[derive(Debug)]
struct Shared {
    /// The newest result not yet polled, with the frames it stands for that nobody saw.
    result: Mutex<Option<Result<emotion_detection, FfiError>>>,
    /// The smoothing the worker applies, as `f32` bits (set from any thread).
    smoothing: AtomicU32,
    track_timeout: u32,
    spare: Spare,
}

impl Feed {
    pub fn new(smoothing: f32, track_timeout: u32) -> Feed {
        Feed {
            frames: LatestSlot::new(),
            shared: Arc::new(Shared {
                result: Mutex::new(None),
                smoothing: AtomicU32::new(smoothing.to_bits()),
                track_timeout,
                spare: Spare::default(),
            }),
            submitted: AtomicU64::new(0),
            worker: Mutex::new(None),
        }
    }

    /// Starts the worker of `engine` on the shared runtime, with the first submitted frame (a
    /// client only called blocking has none); it ends when the feed closes.
    fn start_once(&self, engine: &Engine) -> Result<(), FfiError> {
        let mut worker = self.worker.lock();
        if worker.is_some() {
            return Ok(());
        }
        let runtime = crate::client::runtime()?;
        let engine = engine.clone();
        let frames = self.frames.clone();
        let shared = self.shared.clone();
        *worker = Some(runtime.spawn(async move {
            let mut stream = engine.stream();
            stream.tracker_mut().set_timeout(shared.track_timeout);
            while let Some((frame, replaced)) = frames.next().await {
                let smoothing = f32::from_bits(shared.smoothing.load(Ordering::Relaxed));
                stream.tracker_mut().set_smoothing(smoothing);
                // The engine keeps the pixels it is given: it gets a copy made here, on the
                // worker's time, and the submitted buffer goes back for reuse.
                let request = frame.frame.request(frame.frame.bytes.clone());
                shared.spare.give(frame.frame.bytes);
                let outcome = std::panic::AssertUnwindSafe(stream.detect(request))
                    .catch_unwind()
                    .await;
                let mut result = match outcome {
                    Ok(Ok((detection, events))) => {
                        let mut r = emotion_detection::new(&detection, &events);
                        r.frame_id = frame.id;
                        r.dropped_frames = replaced;
                        Ok(r)
                    }
                    Ok(Err(e)) => Err(FfiError::from(e)),
                    Err(payload) => Err(FfiError::Panic(panic_message(payload.as_ref()))),
                };
                let mut slot = shared.result.lock();
                // A result the game did not poll in time: its frame is dropped, like those
                // replaced before the worker reached them, and its events go on with the newer.
                if let (Some(Ok(unseen)), Ok(newer)) = (slot.as_ref(), result.as_mut()) {
                    newer.absorb(unseen);
                }
                *slot = Some(result);
            }
        }));
        Ok(())
    }

    /// Copies `frame` into a spare buffer and hands it to the worker; the frame it replaces,
    /// if the worker had not taken it yet, gives its buffer back.
    fn submit(&self, engine: &Engine, frame: &Pixels<&[u8]>) -> Result<u64, FfiError> {
        self.start_once(engine)?;
        let mut buffer = self.shared.spare.take();
        buffer.clear();
        buffer.extend_from_slice(frame.bytes);
        let id = self.submitted.fetch_add(1, Ordering::Relaxed) + 1;
        let replaced = self.frames.put(Submitted {
            id,
            frame: frame.with_bytes(buffer),
        });
        if let Some(replaced) = replaced {
            self.shared.spare.give(replaced.frame.bytes);
        }
        Ok(id)
    }

    fn poll(&self) -> Option<Result<emotion_detection, FfiError>> {
        self.shared.result.lock().take()
    }

    /// Stops the worker, abandoning the frame it works on, and waits until it has let go of
    /// the engine: once the client is freed, nothing of it runs on.
    pub fn close(&self, runtime: &tokio::runtime::Runtime) {
        self.frames.close();
        if let Some(worker) = self.worker.lock().take() {
            worker.abort();
            // Cancelled, or ended on its own: either way it is gone.
            let _ = runtime.block_on(worker);
        }
    }
}

/// Hands a frame to the client's worker and returns without waiting: the pixels are copied, so
/// the buffer may be reused at once. A frame the worker has not started yet is replaced (latest
/// frame wins). Arguments as for `emotion_detect`; `frame_id` is NULL or receives the number of
/// this frame, which its result carries. Bad arguments fail here; a frame that fails in the
/// engine (a remote error) fails at `emotion_poll`.
///
/// # Safety
/// As for `emotion_detect`; `frame_id` is NULL or points to a writable `uint64_t`.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn emotion_submit(
    client: *const crate::client::emotion_client,
    pixels: *const u8,
    width: u32,
    height: u32,
    stride: usize,
    format: u32,
    bounds: *const emotion_rect,
    frame_id: *mut u64,
) -> emotion_result {
    boundary(|| {
        // SAFETY: the caller's promise.
        let client = unsafe { client_ref(client)? };
        // SAFETY: the caller's promise.
        let frame =
            unsafe { checked_pixels(client, pixels, width, height, stride, format, bounds)? };
        let id = client.feed.submit(&client.engine, &frame)?;
        // SAFETY: NULL or writable, the caller's promise.
        if let Some(out) = unsafe { frame_id.as_mut() } {
            *out = id;
        }
        Ok(emotion_result::EMOTION_OK)
    })
}

/// `emotion_submit` for RGBA pixels.
///
/// # Safety
/// As for `emotion_submit`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emotion_submit_rgba(
    client: *const crate::client::emotion_client,
    pixels: *const u8,
    width: u32,
    height: u32,
    stride: usize,
    bounds: *const emotion_rect,
    frame_id: *mut u64,
) -> emotion_result {
    let rgba = emotion_pixel_format::EMOTION_PIXEL_FORMAT_RGBA as u32;
    // SAFETY: the caller's promise, passed on.
    unsafe {
        emotion_submit(
            client, pixels, width, height, stride, rgba, bounds, frame_id,
        )
    }
}

/// Takes the newest result of submitted frames, never waiting. `EMOTION_OK` writes it to
/// `*out`; `EMOTION_NOT_READY` means none arrived since the last poll (nothing written); any
/// other code is the failure of the newest frame, whose message `emotion_last_error` gives.
/// Each result is given once. Meant for one polling thread (the game's).
///
/// # Safety
/// `client` is a live client; `out` points to a writable `emotion_detection`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emotion_poll(
    client: *const crate::client::emotion_client,
    out: *mut emotion_detection,
) -> emotion_result {
    boundary(|| {
        // SAFETY: the caller's promise.
        let client = unsafe { client_ref(client)? };
        if out.is_null() {
            return Err(FfiError::NullParameter("out"));
        }
        match client.feed.poll() {
            None => Ok(emotion_result::EMOTION_NOT_READY),
            // SAFETY: checked non-null.
            Some(Ok(detection)) => Ok(unsafe { write(out, detection) }),
            Some(Err(error)) => Ok(fail(&error)),
        }
    })
}

/// Changes the smoothing of submitted frames' results, from the next frame on: 0 reports raw
/// scores, values near 1 follow changes slowly (the default is the config's, 0.5).
///
/// # Safety
/// `client` is a live client.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn emotion_set_smoothing(
    client: *const crate::client::emotion_client,
    smoothing: f32,
) -> emotion_result {
    boundary(|| {
        // SAFETY: the caller's promise.
        let client = unsafe { client_ref(client)? };
        if !(0.0..=1.0).contains(&smoothing) {
            return Err(FfiError::InvalidArgument(format!(
                "smoothing must lie in [0, 1], got {smoothing}"
            )));
        }
        client
            .feed
            .shared
            .smoothing
            .store(smoothing.to_bits(), Ordering::Relaxed);
        Ok(emotion_result::EMOTION_OK)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_runtime_starts_once() {
        let a = crate::client::runtime().unwrap() as *const _;
        let b = crate::client::runtime().unwrap() as *const _;
        assert_eq!(a, b);
    }
}
