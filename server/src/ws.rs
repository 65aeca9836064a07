//! `/ws`: live streams. One frame in work per connection; a frame that arrives meanwhile
//! replaces the waiting one (latest wins) and every result says how many were replaced.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use emotion_core::detection::DetectionView;
use emotion_core::track::LatestSlot;
use emotion_core::{DetectRequest, FaceBox, Frame};
use futures::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::api::json_body_limit;
use crate::app::{AppState, SharedState};
use crate::error::ApiError;

/// Invalid messages in a row after which the server closes the connection.
const MAX_ERRORS_IN_A_ROW: u32 = 20;

/// One frame waiting for the worker.
struct Job {
    request: DetectRequest,
    frame_id: Value,
}

/// Per-connection settings the client may change with a `config` message.
#[derive(Clone, Copy, Debug, Serialize)]
struct Settings {
    smoothing: f32,
    return_all_scores: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            smoothing: 0.5,
            return_all_scores: true,
        }
    }
}

pub async fn upgrade(
    State(state): State<SharedState>,
    headers: HeaderMap,
    uri: Uri,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if !state.authorised(&headers, uri.query()) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid API key is required: a header, or `?api_key=` on the WebSocket URL",
        )
        .into_response();
    }
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => {
            return ApiError::bad_request("websocket_required", e.body_text()).into_response();
        }
    };
    let open = usize::try_from(state.metrics.ws_open.get()).unwrap_or(0);
    if open >= state.config.ws_max_connections {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            format!("{open} streams are open, the most this server takes"),
        )
        .into_response();
    }
    let limit = json_body_limit(state.config.max_image_size, 1);
    let tracker = state.streams.clone();
    ws.max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| tracker.track_future(serve(socket, state)))
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }))
}

fn error_message(frame_id: &Value, error: &ApiError) -> Message {
    let body = json!({"type": "error", "frame_id": frame_id, "error": error.body()});
    Message::Text(body.to_string().into())
}

async fn serve(socket: WebSocket, state: SharedState) {
    state.metrics.ws_open.inc();
    let (mut sink, mut source) = socket.split();
    let (out, mut outbox) = mpsc::channel::<Message>(64);
    let writer = tokio::spawn(async move {
        while let Some(message) = outbox.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
    });
    let slot = LatestSlot::<Job>::new();
    let settings = Arc::new(Mutex::new(Settings::default()));
    let worker = tokio::spawn(work(
        state.clone(),
        slot.clone(),
        settings.clone(),
        out.clone(),
    ));

    let mut errors_in_a_row = 0u32;
    let ending = loop {
        let message = tokio::select! {
            () = state.shutdown.cancelled() => break Some(close(close_code::AWAY, "server shutting down")),
            message = source.next() => message,
        };
        let reply = match message {
            None | Some(Ok(Message::Close(_))) => break None,
            Some(Err(e)) => {
                // No read error leaves the socket usable: a message over the size limit or
                // broken framing ends the connection, with a reason.
                tracing::debug!(error = %e, "websocket read failed");
                break Some(close(close_code::SIZE, "message too big or malformed"));
            }
            Some(Ok(Message::Binary(bytes))) => {
                accept(
                    &state,
                    &slot,
                    Job {
                        request: DetectRequest::new(Frame::Encoded(bytes.to_vec())),
                        frame_id: Value::Null,
                    },
                );
                Ok(None)
            }
            Some(Ok(Message::Text(text))) => handle_text(&state, &slot, &settings, &text),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(None),
        };
        match reply {
            Ok(reply) => {
                errors_in_a_row = 0;
                if let Some(reply) = reply
                    && out
                        .send(Message::Text(reply.to_string().into()))
                        .await
                        .is_err()
                {
                    break None;
                }
            }
            Err((frame_id, error)) => {
                errors_in_a_row += 1;
                let _ = out.send(error_message(&frame_id, &error)).await;
                if errors_in_a_row >= MAX_ERRORS_IN_A_ROW {
                    break Some(close(
                        close_code::POLICY,
                        "too many invalid messages in a row",
                    ));
                }
            }
        }
    };
    // Frames already accepted are still answered before the connection goes.
    slot.close();
    let _ = worker.await;
    if let Some(close) = ending {
        let _ = out.send(close).await;
    }
    drop(out);
    let _ = writer.await;
    state.metrics.ws_open.dec();
}

fn accept(state: &AppState, slot: &LatestSlot<Job>, job: Job) {
    state.metrics.ws_frames.inc();
    slot.put(job);
}

#[derive(Deserialize)]
struct FrameData {
    image: String,
    face_bounds: Option<FaceBox>,
    faces_bounds: Option<Vec<FaceBox>>,
    #[serde(default)]
    frame_id: Value,
    model: Option<String>,
}

#[derive(Deserialize)]
struct ConfigData {
    smoothing: Option<f32>,
    return_all_scores: Option<bool>,
}

type Reply = Result<Option<Value>, (Value, ApiError)>;

fn handle_text(
    state: &AppState,
    slot: &LatestSlot<Job>,
    settings: &Mutex<Settings>,
    text: &str,
) -> Reply {
    let invalid = |code: &'static str, message: String| {
        Err((Value::Null, ApiError::bad_request(code, message)))
    };
    let message: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return invalid("invalid_json", format!("the message is not JSON: {e}")),
    };
    let kind = message
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let data = message.get("data").cloned().unwrap_or(Value::Null);
    match kind {
        "frame" => {
            let frame_id = data.get("frame_id").cloned().unwrap_or(Value::Null);
            let data: FrameData = serde_json::from_value(data).map_err(|e| {
                (
                    frame_id,
                    ApiError::bad_request(
                        "invalid_frame",
                        format!("a frame needs data.image (base64): {e}"),
                    ),
                )
            })?;
            let mut request = DetectRequest::new(Frame::Base64(data.image));
            request.faces.extend(data.face_bounds);
            request
                .faces
                .extend(data.faces_bounds.into_iter().flatten());
            request.model = data.model;
            accept(
                state,
                slot,
                Job {
                    request,
                    frame_id: data.frame_id,
                },
            );
            Ok(None)
        }
        "ping" => Ok(Some(json!({"type": "pong"}))),
        "config" => {
            let update: ConfigData = serde_json::from_value(data).map_err(|e| {
                (
                    Value::Null,
                    ApiError::bad_request("invalid_config", format!("config data: {e}")),
                )
            })?;
            let mut current = settings.lock();
            if let Some(s) = update.smoothing {
                if !(0.0..=1.0).contains(&s) {
                    return invalid(
                        "invalid_config",
                        format!("smoothing must be from 0 to 1, got {s}"),
                    );
                }
                current.smoothing = s;
            }
            if let Some(all) = update.return_all_scores {
                current.return_all_scores = all;
            }
            Ok(Some(
                json!({"type": "config_ok", "smoothing": current.smoothing, "return_all_scores": current.return_all_scores}),
            ))
        }
        "" => invalid(
            "invalid_message",
            "a message needs a string `type`: frame, ping or config".into(),
        ),
        other => invalid(
            "unknown_type",
            format!("unknown message type `{other}`: use frame, ping or config"),
        ),
    }
}

#[derive(Serialize)]
struct ResultMessage<'a> {
    r#type: &'static str,
    frame_id: &'a Value,
    #[serde(flatten)]
    detection: DetectionView<'a>,
    dropped_frames: u64,
    /// Tracks that ended with this frame (also sent as `track_ended` events).
    #[serde(skip_serializing_if = "<[u64]>::is_empty")]
    tracks_ended: &'a [u64],
}

/// Frames a stream may run ahead of its `WS_MAX_FPS` pace: a client sending at exactly that
/// rate, with network jitter, is then never held back.
const PACE_BURST: u32 = 3;

/// Takes the newest waiting frame, at most `WS_MAX_FPS` a second on average, and answers it.
async fn work(
    state: SharedState,
    slot: Arc<LatestSlot<Job>>,
    settings: Arc<Mutex<Settings>>,
    out: mpsc::Sender<Message>,
) {
    let mut stream = state.engine.stream();
    stream.tracker_mut().set_timeout(state.config.track_timeout);
    let interval = Duration::from_secs_f64(1.0 / f64::from(state.config.ws_max_fps.get()));
    let tolerance = interval * (PACE_BURST - 1);
    // GCRA: `due` is when the stream would be back on pace; it may be `tolerance` ahead of it.
    let mut due = Instant::now();
    loop {
        // Waiting before taking lets frames that arrive meanwhile replace each other: the
        // newest is taken.
        tokio::time::sleep_until(due.checked_sub(tolerance).unwrap_or(due)).await;
        let Some((job, dropped)) = slot.next().await else {
            break;
        };
        due = due.max(Instant::now()) + interval;
        state.metrics.ws_dropped.inc_by(dropped);
        let current = *settings.lock();
        stream.tracker_mut().set_smoothing(current.smoothing);
        let messages = match stream.detect(job.request).await {
            Ok((detection, events)) => {
                state.metrics.record_detection(detection.processing_ms);
                let result = ResultMessage {
                    r#type: "result",
                    frame_id: &job.frame_id,
                    detection: detection.view(current.return_all_scores),
                    dropped_frames: dropped,
                    tracks_ended: &events.ended,
                };
                let mut messages = vec![serde_json::to_string(&result).unwrap_or_default()];
                messages.extend(events.changes.iter().map(|change| {
                    json!({"type": "emotion_changed", "track_id": change.track_id,
                           "from": change.from, "to": change.to,
                           "confidence": change.confidence, "frame_id": job.frame_id})
                    .to_string()
                }));
                messages.extend(events.ended.iter().map(|track_id| {
                    json!({"type": "track_ended", "track_id": track_id, "frame_id": job.frame_id})
                        .to_string()
                }));
                messages
            }
            Err(e) => {
                let error = ApiError::from(e);
                vec![
                    json!({"type": "error", "frame_id": job.frame_id, "error": error.body(),
                            "dropped_frames": dropped})
                    .to_string(),
                ]
            }
        };
        for message in messages {
            if out.send(Message::Text(message.into())).await.is_err() {
                return;
            }
        }
    }
}
