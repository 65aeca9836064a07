//! Shared by the integration tests: the real server in-process on a free loopback port, the
//! committed face photos, and checks of the API's error shape.
//!
//! Each test file uses part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any single wait in a test may take before the test fails instead of hanging.
pub const WAIT: Duration = Duration::from_secs(20);

/// The server, started in this process on `127.0.0.1:0` with its own configuration.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// A server with the default configuration.
    pub async fn start() -> TestServer {
        TestServer::with_env(&[]).await
    }

    /// A server configured by these environment variables (and the defaults for the rest).
    pub async fn with_env(vars: &[(&str, &str)]) -> TestServer {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let config = emotion_server::config::Config::from_lookup(|name| vars.get(name).cloned())
            .expect("the test configuration is valid");
        let (engine, _remote) = emotion_server::serve::engine(&config).expect("the engine builds");
        let state = emotion_server::app::AppState::new(engine, config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("the listener has an address");
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(emotion_server::serve::serve(listener, state, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `ws://127.0.0.1:PORT/ws`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Sends the shutdown signal without waiting for the server to finish.
    pub fn signal_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Sends the shutdown signal and waits for the serve future to complete.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        self.signal_shutdown();
        let handle = self.handle.take().expect("the server runs");
        tokio::time::timeout(WAIT, handle)
            .await
            .expect("the server stops in time after the shutdown signal")
            .expect("the serve task does not panic")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.signal_shutdown();
    }
}

/// Panics unless a new connection to `addr` is refused (nothing listens there any more).
pub async fn assert_refused(addr: &str) {
    if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
        panic!(
            "a new connection to {addr} was accepted after shutdown: local {:?}, peer {:?}",
            stream.local_addr(),
            stream.peer_addr()
        );
    }
}

/// A client with a timeout, so that a hung request fails the test.
pub fn client() -> reqwest::Client {
    emotion_core::http::client_builder()
        .expect("TLS is set up")
        .timeout(WAIT)
        .build()
        .expect("the HTTP client builds")
}

/// A committed face photo from `tests/fixtures/faces/`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../tests/fixtures/faces/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

pub fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The face boxes of `tests/fixtures/faces/faces.json`, in pixels.
pub fn astronaut_box() -> Value {
    json!({"x": 178, "y": 66, "width": 94, "height": 102})
}

pub fn grace_hopper_box() -> Value {
    json!({"x": 160, "y": 128, "width": 210, "height": 196})
}

pub fn smiling_woman_box() -> Value {
    json!({"x": 150, "y": 178, "width": 160, "height": 230})
}

pub fn luis_pedro_box() -> Value {
    json!({"x": 30, "y": 68, "width": 176, "height": 200})
}

/// The canonical emotions, in their fixed order.
pub const EMOTIONS: [&str; 7] = [
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
];

/// Checks the shape of a successful Detection (REST or a WebSocket result): the emotion is one
/// of the 7, the confidence a probability, and `all_scores` (when present) holds exactly the 7
/// names with scores summing to 1 and the emotion as its largest.
pub fn check_detection(d: &Value) {
    let emotion = d["emotion"].as_str().expect("emotion is a string");
    assert!(EMOTIONS.contains(&emotion), "unknown emotion in {d}");
    let confidence = d["confidence"].as_f64().expect("confidence is a number");
    assert!((0.0..=1.0).contains(&confidence), "confidence in {d}");
    assert!(d["face_detected"].is_boolean(), "face_detected in {d}");
    assert!(d["cached"].is_boolean(), "cached in {d}");
    for side in ["x", "y", "width", "height"] {
        assert!(d["face_bounds"][side].is_u64(), "face_bounds.{side} in {d}");
    }
    assert!(
        d["model_used"].as_str().is_some_and(|m| !m.is_empty()),
        "model_used in {d}"
    );
    assert!(
        d["processing_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "processing_ms in {d}"
    );
    assert!(
        d["timestamp"].as_f64().is_some_and(|t| t > 1.6e9),
        "timestamp in {d}"
    );
    if let Some(scores) = d.get("all_scores") {
        let scores = scores.as_object().expect("all_scores is an object");
        let mut names: Vec<&str> = scores.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut expected = EMOTIONS;
        expected.sort_unstable();
        assert_eq!(names, expected, "all_scores names in {d}");
        let sum: f64 = scores.values().filter_map(Value::as_f64).sum();
        assert!((sum - 1.0).abs() < 1e-3, "all_scores sum to {sum} in {d}");
        let own = scores[emotion].as_f64().expect("the emotion has a score");
        assert!(
            (own - confidence).abs() < 1e-6,
            "confidence != its score in {d}"
        );
    }
}

/// Without smoothing (REST), the emotion is the top score of `all_scores`.
pub fn check_emotion_is_top(d: &Value) {
    let emotion = d["emotion"].as_str().expect("emotion is a string");
    let scores = d["all_scores"]
        .as_object()
        .expect("all_scores is an object");
    let top = scores[emotion].as_f64().expect("the emotion has a score");
    assert!(
        scores.values().filter_map(Value::as_f64).all(|s| s <= top),
        "the emotion is not the top score in {d}"
    );
}

/// What is wrong with an error body, if anything: it must be exactly
/// `{"success": false, "error": {"code", "message"}}` with this code and a message that is a
/// sentence, not empty.
pub fn error_body_problem(body: &Value, code: &str) -> Option<String> {
    if body["success"] != json!(false) {
        return Some(format!("success is not false: {body}"));
    }
    if body["error"]["code"] != json!(code) {
        return Some(format!("error.code is not {code:?}: {body}"));
    }
    let message = body["error"]["message"].as_str().unwrap_or_default();
    if message.trim().len() < 8 || !message.contains(' ') {
        return Some(format!("error.message is not a sentence: {body}"));
    }
    None
}

/// Panics unless `body` is the API's error shape with this code.
pub fn check_error_body(body: &Value, code: &str) {
    if let Some(problem) = error_body_problem(body, code) {
        panic!("{problem}");
    }
}

/// Reads a response that must be an API error with this status and code.
pub async fn expect_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    let got = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.expect("the error body is readable");
    assert_eq!(got, status, "status for {code}: {text}");
    assert!(
        content_type.starts_with("application/json"),
        "error content type `{content_type}`: {text}"
    );
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the error body is not JSON ({e}): {text}"));
    check_error_body(&body, code);
    body
}

/// Reads a response that must be 200 with a JSON body.
pub async fn expect_ok(response: reqwest::Response) -> Value {
    let status = response.status().as_u16();
    let text = response.text().await.expect("the body is readable");
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("the body is not JSON ({e}): {text}"))
}
