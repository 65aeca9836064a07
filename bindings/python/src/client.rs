//! The client behind `emotion_client.EmotionClient`: the engine in-process (embedded model, or
//! Hugging Face with the same chain as the server), or a server over HTTP.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use emotion_core::classify::huggingface::{HuggingFace, HuggingFaceOptions};
use emotion_core::detector::DetectorRange;
use emotion_core::{DetectRequest, Engine, FaceBox, Limits, Secret};
use futures::future::join_all;
use pyo3::prelude::*;
use pyo3::types::PyList;
use serde_json::{Value, json};

use crate::errors::{Class, Failure, Outcome};
use crate::frame::{self, Job, Packing, Prepared};
use crate::result::Detection;
use crate::runtime;
use crate::stream::{self, NativeStream};

/// Where frames go.
#[derive(Debug)]
pub enum Backend {
    Local(Engine),
    Server(Server),
}

/// A server of the HTTP API.
#[derive(Debug)]
pub struct Server {
    pub base: String,
    pub http: reqwest::Client,
    pub api_key: Option<Secret>,
    pub timeout: Duration,
}

/// Images per `/api/detect/batch` call (the server's default `MAX_BATCH_SIZE`).
const SERVER_BATCH: usize = 10;

impl Server {
    fn request(&self, path: &str) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .timeout(self.timeout);
        if let Some(key) = &self.api_key {
            req = req.header("X-API-Key", key.expose());
        }
        req
    }

    /// POSTs `body` and returns the JSON answer, or the server's error as a [`Failure`].
    async fn post(&self, path: &str, body: &Value) -> Outcome<Value> {
        let response = self
            .request(path)
            .json(body)
            .send()
            .await
            .map_err(|e| network_failure(&self.base, &e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| network_failure(&self.base, &e))?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(value);
        }
        Err(error_from_value(status.as_u16(), &value, retry_after))
    }

    async fn detect(&self, job: Job, all_scores: bool) -> Outcome<Detection> {
        let (bytes, faces, origin) = blocking(move || job.into_encoded()).await?;
        let mut body = json!({
            "image": BASE64.encode(&bytes),
            "return_all_scores": all_scores,
        });
        match faces.as_slice() {
            [] => {}
            [one] => body["face_bounds"] = json!(one),
            many => body["faces_bounds"] = json!(many),
        }
        let answer = self.post("/api/detect", &body).await?;
        Detection::from_json(answer, origin)
    }

    async fn detect_batch(&self, jobs: Vec<Job>, all_scores: bool) -> Vec<Outcome<Detection>> {
        if jobs.iter().any(|j| !j.faces.is_empty()) {
            // The batch route takes no boxes: one request per frame, concurrently.
            return join_all(jobs.into_iter().map(|j| self.detect(j, all_scores))).await;
        }
        let encoded = blocking(move || {
            Ok(jobs
                .into_iter()
                .map(|j| j.into_encoded().map(|(bytes, _, origin)| (bytes, origin)))
                .collect::<Vec<_>>())
        })
        .await;
        let encoded = match encoded {
            Ok(e) => e,
            Err(f) => return vec![Err(f)],
        };
        let mut results: Vec<Option<Outcome<Detection>>> = Vec::new();
        let mut pending: Vec<(usize, String, (u32, u32))> = Vec::new();
        for (index, item) in encoded.into_iter().enumerate() {
            match item {
                Ok((bytes, origin)) => {
                    results.push(None);
                    pending.push((index, BASE64.encode(&bytes), origin));
                }
                Err(f) => results.push(Some(Err(f))),
            }
        }
        let calls = pending.chunks(SERVER_BATCH).map(|chunk| async move {
            let images: Vec<&str> = chunk.iter().map(|(_, b, _)| b.as_str()).collect();
            let body = json!({"images": images, "return_all_scores": all_scores});
            (chunk, self.post("/api/detect/batch", &body).await)
        });
        for (chunk, answer) in join_all(calls).await {
            let slots: Vec<Value> = match answer {
                Ok(mut v) => match v.get_mut("results").map(Value::take) {
                    Some(Value::Array(a)) => a,
                    _ => Vec::new(),
                },
                Err(f) => {
                    for (index, _, _) in chunk {
                        results[*index] = Some(Err(f.clone()));
                    }
                    continue;
                }
            };
            let mut slots = slots.into_iter();
            for (index, _, origin) in chunk {
                let outcome = match slots.next() {
                    Some(slot) if slot.get("success") == Some(&Value::Bool(false)) => {
                        Err(error_from_value(400, &slot, None))
                    }
                    Some(slot) => Detection::from_json(slot, *origin),
                    None => Err(Failure::protocol("the batch answer has too few results")),
                };
                results[*index] = Some(outcome);
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Failure::protocol("no answer for this image"))))
            .collect()
    }
}

/// The failure for a JSON error answer; a batch slot's status is not sent, so its code decides.
pub fn error_from_value(status: u16, value: &Value, retry_after: Option<f64>) -> Failure {
    let error = value.get("error");
    let field = |k: &str| error.and_then(|e| e.get(k)).and_then(Value::as_str);
    Failure::from_server(status, field("code"), field("message"), retry_after)
}

fn network_failure(base: &str, e: &reqwest::Error) -> Failure {
    if e.is_timeout() {
        Failure::new(
            Class::Timeout,
            "timeout",
            format!("no answer from {base} in time: {e}"),
        )
    } else {
        let mut message = format!("cannot reach {base}: {e}");
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message.push_str(&format!(": {s}"));
            source = s.source();
        }
        Failure::connection(message)
    }
}

/// Runs blocking work (file reads, JPEG encoding) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Outcome<T> + Send + 'static,
) -> Outcome<T> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(Failure::protocol(format!("worker failed: {e}"))))
}

impl Backend {
    /// Takes a frame from Python in the layout this backend reads: the engine's own pixel
    /// layouts in-process, RGB for the JPEG a server is sent.
    pub fn take(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        face_bounds: Option<&Bound<'_, PyAny>>,
        channel_order: &str,
    ) -> PyResult<Job> {
        let packing = match self {
            Backend::Local(_) => Packing::Native,
            Backend::Server(_) => Packing::Rgb,
        };
        frame::take(py, frame, face_bounds, channel_order, packing)
    }

    pub async fn detect(&self, job: Job, all_scores: bool) -> Outcome<Detection> {
        match self {
            Backend::Local(engine) => {
                let (frame, faces, origin) = match job.input {
                    frame::Input::Path(_) => blocking(move || job.into_frame()).await?,
                    _ => job.into_frame()?,
                };
                let mut request = DetectRequest::new(frame);
                request.faces = faces;
                let detection = engine.detect(request).await?;
                Ok(Detection::from_core(detection, all_scores, origin))
            }
            Backend::Server(server) => server.detect(job, all_scores).await,
        }
    }

    pub async fn detect_batch(&self, jobs: Vec<Job>, all_scores: bool) -> Vec<Outcome<Detection>> {
        match self {
            Backend::Local(_) => {
                join_all(jobs.into_iter().map(|j| self.detect(j, all_scores))).await
            }
            Backend::Server(server) => server.detect_batch(jobs, all_scores).await,
        }
    }
}

/// The native client; `emotion_client.EmotionClient` wraps it. Safe to share between threads
/// and asyncio tasks: it holds no Python state and locks nothing while it waits.
#[pyclass(frozen, module = "emotion_client._native")]
#[derive(Debug)]
pub struct NativeClient {
    backend: Arc<Backend>,
}

/// How an in-process engine finds faces: `local()` and `huggingface()` take these from Python.
#[derive(Clone, Copy, Debug)]
struct FaceSettings {
    detector: Option<DetectorRange>,
    max_faces: usize,
    min_face_size: u32,
}

fn bad_argument(message: String) -> PyErr {
    Failure::new(Class::BadRequest, "invalid_argument", message).into()
}

impl FaceSettings {
    /// Checks the Python arguments; a bad one raises `BadRequestError` naming it.
    fn parse(
        face_detector: Option<&str>,
        max_faces: i64,
        min_face_size: i64,
    ) -> PyResult<FaceSettings> {
        let detector = match face_detector.map(str::to_ascii_lowercase).as_deref() {
            None | Some("off") => None,
            Some("short") => Some(DetectorRange::Short),
            Some("full") => Some(DetectorRange::Full),
            Some(_) => {
                return Err(bad_argument(format!(
                    "face_detector must be \"short\", \"full\" or None, got {:?}",
                    face_detector.unwrap_or_default()
                )));
            }
        };
        let max_faces = usize::try_from(max_faces)
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| {
                bad_argument(format!(
                    "max_faces must be a whole number from 1, got {max_faces}"
                ))
            })?;
        let min_face_size = u32::try_from(min_face_size).map_err(|_| {
            bad_argument(format!(
                "min_face_size must be a whole number of pixels from 0, got {min_face_size}"
            ))
        })?;
        Ok(FaceSettings {
            detector,
            max_faces,
            min_face_size,
        })
    }
}

fn engine_builder(
    workers: Option<usize>,
    cache_entries: u64,
    cache_ttl: f64,
    max_image_bytes: usize,
    faces: FaceSettings,
) -> emotion_core::EngineBuilder {
    let mut builder = Engine::builder()
        .cache(cache_entries, Duration::from_secs_f64(cache_ttl.max(0.0)))
        .limits(Limits {
            max_bytes: max_image_bytes,
            ..Limits::default()
        })
        .face_detector(faces.detector)
        .max_faces(faces.max_faces)
        .min_face_size(faces.min_face_size);
    if let Some(w) = workers {
        builder = builder.workers(w.max(1));
    }
    builder
}

fn take_jobs(
    py: Python<'_>,
    backend: &Backend,
    frames: &Bound<'_, PyAny>,
    face_bounds: Option<&Bound<'_, PyAny>>,
    channel_order: &str,
) -> PyResult<Vec<Job>> {
    let frames: Vec<Bound<'_, PyAny>> = frames.try_iter()?.collect::<PyResult<_>>()?;
    let bounds: Vec<Option<Bound<'_, PyAny>>> = match face_bounds {
        Some(b) if !b.is_none() => {
            let list: Vec<Bound<'_, PyAny>> = b.try_iter()?.collect::<PyResult<_>>()?;
            if list.len() != frames.len() {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "face_bounds has {} entries for {} frames",
                    list.len(),
                    frames.len()
                )));
            }
            list.into_iter().map(Some).collect()
        }
        _ => frames.iter().map(|_| None).collect(),
    };
    frames
        .iter()
        .zip(&bounds)
        .map(|(f, b)| backend.take(py, f, b.as_ref(), channel_order))
        .collect()
}

/// Detections and exceptions, in input order.
fn batch_list(py: Python<'_>, results: Vec<Outcome<Detection>>) -> PyResult<Py<PyList>> {
    let list = PyList::empty(py);
    for r in results {
        match r {
            Ok(d) => list.append(Py::new(py, d)?)?,
            Err(f) => list.append(f.to_pyerr(py).into_value(py))?,
        }
    }
    Ok(list.unbind())
}

#[pymethods]
impl NativeClient {
    /// The embedded model, in-process; frames without boxes go through `face_detector`.
    #[staticmethod]
    #[pyo3(signature = (workers=None, cache_entries=1024, cache_ttl=300.0, max_image_bytes=16 * 1024 * 1024, face_detector=Some("full"), max_faces=5, min_face_size=0))]
    #[allow(clippy::too_many_arguments)]
    fn local(
        py: Python<'_>,
        workers: Option<usize>,
        cache_entries: u64,
        cache_ttl: f64,
        max_image_bytes: usize,
        face_detector: Option<&str>,
        max_faces: i64,
        min_face_size: i64,
    ) -> PyResult<NativeClient> {
        let faces = FaceSettings::parse(face_detector, max_faces, min_face_size)?;
        let engine = py
            .detach(|| {
                engine_builder(workers, cache_entries, cache_ttl, max_image_bytes, faces).build()
            })
            .map_err(Failure::from)?;
        Ok(NativeClient {
            backend: Arc::new(Backend::Local(engine)),
        })
    }

    /// The Hugging Face Inference API, model then fallbacks, then (optionally) the embedded model.
    #[staticmethod]
    #[pyo3(signature = (api_key, model, fallback_models, base_url, fallback_local=true, timeout=10.0, workers=None, cache_entries=1024, cache_ttl=300.0, max_image_bytes=16 * 1024 * 1024, face_detector=Some("full"), max_faces=5, min_face_size=0))]
    #[allow(clippy::too_many_arguments)]
    fn huggingface(
        py: Python<'_>,
        api_key: String,
        model: String,
        fallback_models: Vec<String>,
        base_url: String,
        fallback_local: bool,
        timeout: f64,
        workers: Option<usize>,
        cache_entries: u64,
        cache_ttl: f64,
        max_image_bytes: usize,
        face_detector: Option<&str>,
        max_faces: i64,
        min_face_size: i64,
    ) -> PyResult<NativeClient> {
        let faces = FaceSettings::parse(face_detector, max_faces, min_face_size)?;
        let engine = py
            .detach(|| {
                let _guard = runtime().enter();
                let hf = HuggingFace::new(HuggingFaceOptions {
                    api_key: Secret::new(api_key),
                    base_url,
                    request_timeout: Duration::from_secs_f64(timeout.max(0.1)),
                    ..HuggingFaceOptions::default()
                })?;
                let mut builder =
                    engine_builder(workers, cache_entries, cache_ttl, max_image_bytes, faces);
                for id in std::iter::once(&model).chain(&fallback_models) {
                    builder = builder.model(hf.model(id));
                }
                builder.fallback_local(fallback_local).build()
            })
            .map_err(Failure::from)?;
        Ok(NativeClient {
            backend: Arc::new(Backend::Local(engine)),
        })
    }

    /// A server of the HTTP API at `url`.
    #[staticmethod]
    #[pyo3(signature = (url, api_key=None, timeout=30.0))]
    fn server(url: &str, api_key: Option<String>, timeout: f64) -> PyResult<NativeClient> {
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "the server URL must start with http:// or https://, got {url:?}"
            )));
        }
        let http = emotion_core::http::client_builder()
            .map_err(Failure::from)?
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| Failure::connection(format!("HTTP client setup: {e}")))?;
        Ok(NativeClient {
            backend: Arc::new(Backend::Server(Server {
                base,
                http,
                api_key: api_key.map(Secret::new),
                timeout: Duration::from_secs_f64(timeout.max(0.001)),
            })),
        })
    }

    /// `"local"` or `"server"` (Hugging Face runs in-process: `"local"`).
    #[getter]
    fn mode(&self) -> &'static str {
        match *self.backend {
            Backend::Local(_) => "local",
            Backend::Server(_) => "server",
        }
    }

    /// The models of the in-process chain, the default first (empty in server mode).
    #[getter]
    fn models(&self) -> Vec<String> {
        match &*self.backend {
            Backend::Local(engine) => engine.models().map(|m| m.id().to_owned()).collect(),
            Backend::Server(_) => Vec::new(),
        }
    }

    #[pyo3(signature = (frame, face_bounds=None, return_all_scores=true, channel_order="rgb"))]
    fn detect_sync(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        face_bounds: Option<&Bound<'_, PyAny>>,
        return_all_scores: bool,
        channel_order: &str,
    ) -> PyResult<Detection> {
        let job = self.backend.take(py, frame, face_bounds, channel_order)?;
        let backend = self.backend.clone();
        let outcome = py.detach(move || runtime().block_on(backend.detect(job, return_all_scores)));
        Ok(outcome?)
    }

    #[pyo3(signature = (frame, face_bounds=None, return_all_scores=true, channel_order="rgb"))]
    fn detect<'py>(
        &self,
        py: Python<'py>,
        frame: &Bound<'py, PyAny>,
        face_bounds: Option<&Bound<'py, PyAny>>,
        return_all_scores: bool,
        channel_order: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let job = self.backend.take(py, frame, face_bounds, channel_order)?;
        let backend = self.backend.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            Ok(backend.detect(job, return_all_scores).await?)
        })
    }

    #[pyo3(signature = (frames, face_bounds=None, return_all_scores=true, channel_order="rgb"))]
    fn detect_batch_sync(
        &self,
        py: Python<'_>,
        frames: &Bound<'_, PyAny>,
        face_bounds: Option<&Bound<'_, PyAny>>,
        return_all_scores: bool,
        channel_order: &str,
    ) -> PyResult<Py<PyList>> {
        let jobs = take_jobs(py, &self.backend, frames, face_bounds, channel_order)?;
        let backend = self.backend.clone();
        let results =
            py.detach(move || runtime().block_on(backend.detect_batch(jobs, return_all_scores)));
        batch_list(py, results)
    }

    #[pyo3(signature = (frames, face_bounds=None, return_all_scores=true, channel_order="rgb"))]
    fn detect_batch<'py>(
        &self,
        py: Python<'py>,
        frames: &Bound<'py, PyAny>,
        face_bounds: Option<&Bound<'py, PyAny>>,
        return_all_scores: bool,
        channel_order: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let jobs = take_jobs(py, &self.backend, frames, face_bounds, channel_order)?;
        let backend = self.backend.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let results = backend.detect_batch(jobs, return_all_scores).await;
            Python::attach(|py| batch_list(py, results))
        })
    }

    /// Opens a stream (a WebSocket in server mode, the engine with its own face tracks
    /// locally). `track_timeout` (frames a face may be missing before its track ends) is the
    /// in-process tracker's; a server sets its own (`TRACK_TIMEOUT`).
    #[pyo3(signature = (smoothing=0.5, return_all_scores=true, track_timeout=None))]
    fn open_stream<'py>(
        &self,
        py: Python<'py>,
        smoothing: f32,
        return_all_scores: bool,
        track_timeout: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if !(0.0..=1.0).contains(&smoothing) {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "smoothing must be from 0 to 1, got {smoothing}"
            )));
        }
        let track_timeout = match track_timeout {
            None => None,
            Some(_) if matches!(*self.backend, Backend::Server(_)) => {
                return Err(bad_argument(
                    "track_timeout is set by the server (its TRACK_TIMEOUT) in server mode: \
                     leave it None"
                        .to_owned(),
                ));
            }
            Some(t) => Some(u32::try_from(t).ok().filter(|&t| t >= 1).ok_or_else(|| {
                bad_argument(format!(
                    "track_timeout must be a whole number of frames from 1, got {t}"
                ))
            })?),
        };
        let backend = self.backend.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let stream: NativeStream =
                stream::open(backend, smoothing, return_all_scores, track_timeout).await?;
            Ok(stream)
        })
    }

    fn __repr__(&self) -> String {
        match &*self.backend {
            Backend::Local(engine) => format!(
                "NativeClient(local, models={:?})",
                engine
                    .models()
                    .map(|m| m.id().to_owned())
                    .collect::<Vec<_>>()
            ),
            Backend::Server(s) => format!("NativeClient(server={:?})", s.base),
        }
    }
}

/// `FaceBox` values as JSON, for WebSocket frames.
pub fn bounds_json(faces: &[FaceBox]) -> Option<(&'static str, Value)> {
    match faces {
        [] => None,
        [one] => Some(("face_bounds", json!(one))),
        many => Some(("faces_bounds", json!(many))),
    }
}

/// Encodes a job for the server (off the async threads).
pub async fn encode_for_server(job: Job) -> Outcome<Prepared<String>> {
    let (bytes, faces, origin) = blocking(move || job.into_encoded()).await?;
    Ok((BASE64.encode(&bytes), faces, origin))
}
