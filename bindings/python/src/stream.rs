//! Streams for live feeds: the server's WebSocket `/ws`, or in-process the engine's `Stream`
//! (smoothing) behind a latest-wins slot, as the server runs it. Either way `send` never waits
//! for a result and `recv` yields results in order, each with its frame id, the frames replaced
//! before it (`dropped_frames`), each face's track and the emotion its track showed before it
//! when it changed (`changed_from`), and the tracks that ended with it (`tracks_ended`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use emotion_core::DetectRequest;
use emotion_core::track::LatestSlot;
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use parking_lot::Mutex;
use pyo3::prelude::*;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client::{Backend, bounds_json, encode_for_server, error_from_value};
use crate::errors::{Class, Failure, Outcome};
use crate::frame::Job;
use crate::result::Detection;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Results = tokio::sync::Mutex<mpsc::UnboundedReceiver<Outcome<Detection>>>;

/// A frame waiting in the in-process stream: the request, its id and its copy's corner.
type Pending = (DetectRequest, u64, (u32, u32));

#[derive(Debug)]
enum Kind {
    Server {
        sink: tokio::sync::Mutex<SplitSink<Socket, Message>>,
        /// Frame id → corner of the region sent, to move the answer's boxes back.
        origins: Arc<Mutex<HashMap<u64, (u32, u32)>>>,
        reader: tokio::task::JoinHandle<()>,
    },
    Local {
        slot: Arc<LatestSlot<Pending>>,
        settings: Arc<Mutex<(f32, bool)>>,
    },
}

#[derive(Debug)]
struct Inner {
    kind: Kind,
    backend: Arc<Backend>,
    results: Results,
    next_id: AtomicU64,
    closed: AtomicBool,
}

impl Drop for Inner {
    fn drop(&mut self) {
        match &self.kind {
            Kind::Server { reader, .. } => reader.abort(),
            Kind::Local { slot, .. } => slot.close(),
        }
    }
}

/// An open stream; `emotion_client.Stream` wraps it.
#[pyclass(frozen, module = "emotion_client._native")]
#[derive(Debug)]
pub struct NativeStream {
    inner: Arc<Inner>,
}

fn ws_url(base: &str) -> Outcome<String> {
    if let Some(rest) = base.strip_prefix("http://") {
        Ok(format!("ws://{rest}/ws"))
    } else if let Some(rest) = base.strip_prefix("https://") {
        Ok(format!("wss://{rest}/ws"))
    } else {
        Err(Failure::connection(format!("no WebSocket URL for {base}")))
    }
}

/// Opens a stream; `track_timeout` is for the in-process tracker (a server has its own).
pub async fn open(
    backend: Arc<Backend>,
    smoothing: f32,
    all_scores: bool,
    track_timeout: Option<u32>,
) -> Outcome<NativeStream> {
    let (tx, rx) = mpsc::unbounded_channel();
    let kind = match &*backend {
        Backend::Local(engine) => {
            let slot: Arc<LatestSlot<Pending>> = LatestSlot::new();
            let settings = Arc::new(Mutex::new((smoothing, all_scores)));
            let mut stream = engine.stream();
            if let Some(frames) = track_timeout {
                stream.tracker_mut().set_timeout(frames);
            }
            let (worker_slot, worker_settings) = (slot.clone(), settings.clone());
            tokio::spawn(async move {
                while let Some(((request, id, origin), dropped)) = worker_slot.next().await {
                    let (smoothing, all) = *worker_settings.lock();
                    stream.tracker_mut().set_smoothing(smoothing);
                    let outcome = match stream.detect(request).await {
                        Ok((d, events)) => {
                            let mut d = Detection::from_core(d, all, origin);
                            for face in &mut d.faces {
                                let change = events
                                    .changes
                                    .iter()
                                    .find(|c| face.track_id == Some(c.track_id));
                                face.changed_from = change.map(|c| c.from.as_str().to_owned());
                            }
                            d.frame_id = Some(id);
                            d.dropped_frames = dropped;
                            d.tracks_ended = events.ended;
                            Ok(d)
                        }
                        Err(e) => Err(Failure::from(e)),
                    };
                    if tx.send(outcome).is_err() {
                        break;
                    }
                }
            });
            Kind::Local { slot, settings }
        }
        Backend::Server(server) => {
            let mut request = ws_url(&server.base)?
                .into_client_request()
                .map_err(|e| Failure::connection(e.to_string()))?;
            if let Some(key) = &server.api_key {
                let value = key.expose().parse().map_err(|_| {
                    Failure::new(
                        Class::BadRequest,
                        "invalid_api_key",
                        "the API key is not a valid header value",
                    )
                })?;
                request.headers_mut().insert("X-API-Key", value);
            }
            let connect = tokio_tungstenite::connect_async(request);
            let (socket, _) = match tokio::time::timeout(server.timeout, connect).await {
                Err(_) => {
                    return Err(Failure::new(
                        Class::Timeout,
                        "timeout",
                        format!("no WebSocket handshake from {} in time", server.base),
                    ));
                }
                Ok(Err(e)) => return Err(handshake_failure(&server.base, e)),
                Ok(Ok(s)) => s,
            };
            let (mut sink, source) = socket.split();
            if (smoothing - 0.5).abs() > f32::EPSILON || !all_scores {
                let config = json!({"type": "config", "data": {"smoothing": smoothing, "return_all_scores": all_scores}});
                sink.send(Message::text(config.to_string()))
                    .await
                    .map_err(|e| Failure::connection(format!("WebSocket send: {e}")))?;
            }
            let origins = Arc::new(Mutex::new(HashMap::new()));
            let reader = tokio::spawn(read(source, tx, origins.clone()));
            Kind::Server {
                sink: tokio::sync::Mutex::new(sink),
                origins,
                reader,
            }
        }
    };
    Ok(NativeStream {
        inner: Arc::new(Inner {
            kind,
            backend,
            results: tokio::sync::Mutex::new(rx),
            next_id: AtomicU64::new(1),
            closed: AtomicBool::new(false),
        }),
    })
}

fn handshake_failure(base: &str, e: tokio_tungstenite::tungstenite::Error) -> Failure {
    use tokio_tungstenite::tungstenite::Error as WsError;
    match e {
        WsError::Http(response) => {
            let status = response.status().as_u16();
            let body: Value = response
                .body()
                .as_ref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            error_from_value(status, &body, retry_after)
        }
        other => Failure::connection(format!("cannot open the WebSocket of {base}: {other}")),
    }
}

/// Each live track's shown emotion, as the server's results showed it: a change is known from
/// the result itself, without waiting for the `emotion_changed` event that follows it.
#[derive(Debug, Default)]
struct Shown(HashMap<u64, String>);

impl Shown {
    /// Fills in each tracked face's `changed_from`, and forgets the tracks that ended.
    fn update(&mut self, detection: &mut Detection) {
        for face in &mut detection.faces {
            let Some(id) = face.track_id else { continue };
            let before = self.0.insert(id, face.emotion.clone());
            face.changed_from = before.filter(|b| *b != face.emotion);
        }
        for id in &detection.tracks_ended {
            self.0.remove(id);
        }
    }
}

/// Reads the server's messages: results and errors go to `recv`, the rest is bookkeeping.
async fn read(
    mut source: futures::stream::SplitStream<Socket>,
    tx: mpsc::UnboundedSender<Outcome<Detection>>,
    origins: Arc<Mutex<HashMap<u64, (u32, u32)>>>,
) {
    let mut shown = Shown::default();
    while let Some(message) = source.next().await {
        let text = match message {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(frame)) => {
                if let Some(f) = frame {
                    let code = u16::from(f.code);
                    if code != 1000 && code != 1001 {
                        let _ = tx.send(Err(Failure::connection(format!(
                            "the server closed the stream ({code}): {}",
                            f.reason
                        ))));
                    }
                }
                break;
            }
            Ok(_) => continue,
            Err(e) => {
                let _ = tx.send(Err(Failure::connection(format!("WebSocket: {e}"))));
                break;
            }
        };
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let id = value.get("frame_id").and_then(Value::as_u64);
        let origin = id.map_or((0, 0), |id| {
            let mut map = origins.lock();
            let origin = map.remove(&id).unwrap_or((0, 0));
            // Frames before this one were answered or replaced.
            map.retain(|&k, _| k > id);
            origin
        });
        let outcome = match value.get("type").and_then(Value::as_str) {
            Some("result") => Detection::from_json(value, origin).map(|mut d| {
                shown.update(&mut d);
                d
            }),
            Some("error") => Err(error_from_value(400, &value, None)),
            _ => continue,
        };
        if tx.send(outcome).is_err() {
            break;
        }
    }
}

impl Inner {
    async fn send(&self, job: Job) -> Outcome<u64> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Failure::connection("the stream is closed"));
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        match &self.kind {
            Kind::Local { slot, .. } => {
                let (frame, faces, origin) = job.into_frame()?;
                let mut request = DetectRequest::new(frame);
                request.faces = faces;
                slot.put((request, id, origin));
            }
            Kind::Server { sink, origins, .. } => {
                let (image, faces, origin) = encode_for_server(job).await?;
                let mut data = json!({"image": image, "frame_id": id});
                if let Some((key, value)) = bounds_json(&faces) {
                    data[key] = value;
                }
                origins.lock().insert(id, origin);
                let message = json!({"type": "frame", "data": data}).to_string();
                sink.lock()
                    .await
                    .send(Message::text(message))
                    .await
                    .map_err(|e| Failure::connection(format!("WebSocket send: {e}")))?;
            }
        }
        Ok(id)
    }

    async fn configure(&self, smoothing: Option<f32>, all_scores: Option<bool>) -> Outcome<()> {
        match &self.kind {
            Kind::Local { settings, .. } => {
                let mut s = settings.lock();
                if let Some(v) = smoothing {
                    s.0 = v;
                }
                if let Some(v) = all_scores {
                    s.1 = v;
                }
            }
            Kind::Server { sink, .. } => {
                let mut data = json!({});
                if let Some(v) = smoothing {
                    data["smoothing"] = json!(v);
                }
                if let Some(v) = all_scores {
                    data["return_all_scores"] = json!(v);
                }
                let message = json!({"type": "config", "data": data}).to_string();
                sink.lock()
                    .await
                    .send(Message::text(message))
                    .await
                    .map_err(|e| Failure::connection(format!("WebSocket send: {e}")))?;
            }
        }
        Ok(())
    }

    async fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        match &self.kind {
            Kind::Local { slot, .. } => slot.close(),
            Kind::Server { sink, .. } => {
                let mut sink = sink.lock().await;
                let _ = sink.send(Message::Close(None)).await;
                let _ = sink.close().await;
            }
        }
    }
}

#[pymethods]
impl NativeStream {
    /// Queues a frame; returns its id. Never waits for the result.
    #[pyo3(signature = (frame, face_bounds=None, channel_order="rgb"))]
    fn send<'py>(
        &self,
        py: Python<'py>,
        frame: &Bound<'py, PyAny>,
        face_bounds: Option<&Bound<'py, PyAny>>,
        channel_order: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let job = self
            .inner
            .backend
            .take(py, frame, face_bounds, channel_order)?;
        let inner = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move { Ok(inner.send(job).await?) })
    }

    /// The next result, or `None` once the stream is closed and drained.
    fn recv<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let next = inner.results.lock().await.recv().await;
            match next {
                None => Ok(None),
                Some(Ok(d)) => Ok(Some(d)),
                Some(Err(f)) => Err(f.into()),
            }
        })
    }

    #[pyo3(signature = (smoothing=None, return_all_scores=None))]
    fn configure<'py>(
        &self,
        py: Python<'py>,
        smoothing: Option<f32>,
        return_all_scores: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Some(s) = smoothing
            && !(0.0..=1.0).contains(&s)
        {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "smoothing must be from 0 to 1, got {s}"
            )));
        }
        let inner = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            Ok(inner.configure(smoothing, return_all_scores).await?)
        })
    }

    /// Stops sending; results already on their way can still be received.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = self.inner.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            inner.close().await;
            Ok(())
        })
    }
}
