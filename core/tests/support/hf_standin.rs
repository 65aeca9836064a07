//! A stand-in for the Hugging Face Inference API on 127.0.0.1 (DESIGN §5), for the backend's tests.
//!
//! `POST /models/{model_id}` (the id contains a slash) with `Authorization: Bearer <token>` and
//! either the JSON form `{"inputs": "<base64 JPEG>", "parameters": {"top_k": 8}}` or the raw JPEG
//! (`Content-Type: image/jpeg`). Each model id answers from a [`Script`]: a sequence of
//! [`Behaviour`]s, the last of which repeats forever. A model with no script answers 404 with the
//! plain-text body `Not Found`, as the real router does for a model that no provider serves.
//! Like the real API, a list answer holds only the `top_k` best labels (`parameters.top_k`,
//! default 5), so a client must ask for every label of a model with more than five.
//! Everything received is recorded per model: the number of requests, the last `Authorization`
//! header, the last JSON body and the last decoded JPEG.

// Test support: not every test uses every helper, and a broken lock should fail the test at once.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use serde_json::{Value, json};

/// The token the stand-in accepts unless told otherwise.
pub const GOOD_TOKEN: &str = "good";

/// The known label sets of DESIGN §5, in the order the model cards list them.
pub const TRPAKOV: &str = "trpakov/vit-face-expression";
pub const TRPAKOV_LABELS: [&str; 7] = [
    "angry", "disgust", "fear", "happy", "neutral", "sad", "surprise",
];
pub const DIMA806: &str = "dima806/facial_emotions_image_detection";
pub const DIMA806_LABELS: [&str; 7] = [
    "sad", "disgust", "angry", "neutral", "fear", "surprise", "happy",
];
pub const RICKYIG: &str = "RickyIG/emotion_face_image_classification_v2";
pub const RICKYIG_LABELS: [&str; 8] = [
    "anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise",
];

/// An answer of trpakov's model, mostly happy, in its label names.
pub const TRPAKOV_ANSWER: [(&str, f32); 7] = [
    ("angry", 0.05),
    ("disgust", 0.01),
    ("fear", 0.07),
    ("happy", 0.55),
    ("neutral", 0.20),
    ("sad", 0.09),
    ("surprise", 0.03),
];
/// An answer of dima806's model, mostly sad, in its label names.
pub const DIMA806_ANSWER: [(&str, f32); 7] = [
    ("sad", 0.40),
    ("disgust", 0.02),
    ("angry", 0.08),
    ("neutral", 0.25),
    ("fear", 0.11),
    ("surprise", 0.05),
    ("happy", 0.09),
];
/// One answer of the stand-in.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// 200 with `[{"label", "score"}]`, sorted by score, highest first, the `top_k` best, as the
    /// API sends them.
    Labels(Vec<(String, f32)>),
    /// 503 `{"error": "Model X is currently loading", "estimated_time": s}`.
    Loading { estimated_time: f64 },
    /// 429, with `Retry-After: s` when given.
    RateLimited { retry_after: Option<u64> },
    /// 401 whatever the token.
    Unauthorized,
    /// 403: the token lacks the permission.
    Forbidden,
    /// 402: the account's credits are used up.
    PaymentRequired,
    /// 404 with the plain-text body `Not Found`.
    NotFound,
    /// 410: the endpoint is retired.
    Gone,
    /// That status (5xx) with `{"error": ...}`.
    ServerError(u16),
    /// 200 with broken JSON: `{"not": "a list"`.
    Malformed,
    /// 200 with well-formed JSON that is not the expected list: `{"not": "a list"}`.
    NotAList,
    /// Any status, content type and body.
    Raw {
        status: u16,
        content_type: &'static str,
        body: String,
    },
    /// Takes the request and never answers.
    Hang,
    /// 200 with headers, then a body that trickles a byte at a time and never ends.
    EndlessBody,
    /// The inner answer after a delay.
    Delayed(Duration, Box<Behaviour>),
}

impl Behaviour {
    /// Scores for a list of labels: the first gets `top`, the rest share what is left equally.
    pub fn labels(labels: &[&str], top: f32) -> Behaviour {
        let rest = (1.0 - top) / (labels.len() - 1) as f32;
        Behaviour::Labels(
            labels
                .iter()
                .enumerate()
                .map(|(i, l)| ((*l).to_owned(), if i == 0 { top } else { rest }))
                .collect(),
        )
    }

    /// Labels with the given scores.
    pub fn scores(pairs: &[(&str, f32)]) -> Behaviour {
        Behaviour::Labels(pairs.iter().map(|(l, s)| ((*l).to_owned(), *s)).collect())
    }

    pub fn delayed(self, delay: Duration) -> Behaviour {
        Behaviour::Delayed(delay, Box::new(self))
    }
}

/// The answers of one model: `steps` in turn, each a number of times; the last step repeats forever.
#[derive(Clone, Debug)]
pub struct Script {
    steps: Vec<(usize, Behaviour)>,
}

impl Script {
    /// The same answer to every request.
    pub fn always(behaviour: Behaviour) -> Script {
        Script {
            steps: vec![(1, behaviour)],
        }
    }

    /// `behaviour` for the first `times` requests; add what follows with [`Script::then`].
    pub fn first(times: usize, behaviour: Behaviour) -> Script {
        Script {
            steps: vec![(times, behaviour)],
        }
    }

    /// `behaviour` for the next `times` requests.
    pub fn next(mut self, times: usize, behaviour: Behaviour) -> Script {
        self.steps.push((times, behaviour));
        self
    }

    /// `behaviour` for every request after the steps so far.
    pub fn then(mut self, behaviour: Behaviour) -> Script {
        self.steps.push((1, behaviour));
        self
    }

    /// The answer to the request with this 0-based index.
    fn at(&self, mut index: usize) -> &Behaviour {
        for (times, behaviour) in &self.steps {
            if index < *times {
                return behaviour;
            }
            index -= times;
        }
        &self.steps.last().expect("a script has a step").1
    }
}

impl From<Behaviour> for Script {
    fn from(behaviour: Behaviour) -> Script {
        Script::always(behaviour)
    }
}

/// What the stand-in received for one model.
#[derive(Clone, Debug, Default)]
struct Record {
    hits: usize,
    /// Requests that reached the script (past the token and body checks).
    answered: usize,
    last_auth: Option<String>,
    last_body: Option<Value>,
    last_content_type: Option<String>,
    last_jpeg: Option<Vec<u8>>,
}

#[derive(Debug)]
struct Shared {
    token: String,
    scripts: Mutex<HashMap<String, Script>>,
    records: Mutex<HashMap<String, Record>>,
}

/// A running stand-in; the server stops when this is dropped (or with the test's runtime).
#[derive(Debug)]
pub struct StandIn {
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Starts a stand-in that accepts [`GOOD_TOKEN`], with a script per model id.
    pub async fn start<I, M, S>(scripts: I) -> StandIn
    where
        I: IntoIterator<Item = (M, S)>,
        M: Into<String>,
        S: Into<Script>,
    {
        StandIn::start_with_token(GOOD_TOKEN, scripts).await
    }

    pub async fn start_with_token<I, M, S>(token: &str, scripts: I) -> StandIn
    where
        I: IntoIterator<Item = (M, S)>,
        M: Into<String>,
        S: Into<Script>,
    {
        let shared = Arc::new(Shared {
            token: token.to_owned(),
            scripts: Mutex::new(
                scripts
                    .into_iter()
                    .map(|(m, s)| (m.into(), s.into()))
                    .collect(),
            ),
            records: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/models/{*model_id}", post(infer))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("stand-in server");
        });
        StandIn { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT/models`, to which the client appends `/{model_id}`.
    pub fn base_url(&self) -> String {
        format!("http://{}/models", self.addr)
    }

    /// Replaces a model's script; its request count for the script starts again from 0.
    pub fn set(&self, model: &str, script: impl Into<Script>) {
        self.shared
            .scripts
            .lock()
            .unwrap()
            .insert(model.to_owned(), script.into());
        if let Some(r) = self.shared.records.lock().unwrap().get_mut(model) {
            r.answered = 0;
        }
    }

    fn record<T>(&self, model: &str, f: impl FnOnce(&Record) -> T) -> Option<T> {
        self.shared.records.lock().unwrap().get(model).map(f)
    }

    /// Requests received for `model`, whatever was answered.
    pub fn hits(&self, model: &str) -> usize {
        self.record(model, |r| r.hits).unwrap_or(0)
    }

    /// Requests received for all models.
    pub fn total_hits(&self) -> usize {
        self.shared
            .records
            .lock()
            .unwrap()
            .values()
            .map(|r| r.hits)
            .sum()
    }

    /// The `Authorization` header of the last request for `model`.
    pub fn last_auth(&self, model: &str) -> Option<String> {
        self.record(model, |r| r.last_auth.clone()).flatten()
    }

    /// The last JSON body for `model` (none when it was sent as raw bytes or was not JSON).
    pub fn last_body(&self, model: &str) -> Option<Value> {
        self.record(model, |r| r.last_body.clone()).flatten()
    }

    pub fn last_content_type(&self, model: &str) -> Option<String> {
        self.record(model, |r| r.last_content_type.clone())
            .flatten()
    }

    /// The JPEG of the last valid request for `model`, decoded from base64 if it came as JSON.
    pub fn last_jpeg(&self, model: &str) -> Option<Vec<u8>> {
        self.record(model, |r| r.last_jpeg.clone()).flatten()
    }
}

fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({"error": message.into()}))).into_response()
}

/// Finds the JPEG in a request body: JSON `{"inputs": base64}` or raw bytes.
fn jpeg_of(content_type: Option<&str>, body: &[u8]) -> Result<(Option<Value>, Vec<u8>), String> {
    let raw_image = content_type.is_some_and(|c| c.starts_with("image/"));
    let (json, bytes) = if raw_image {
        (None, body.to_vec())
    } else {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| format!("the body is neither an image nor JSON: {e}"))?;
        let Some(inputs) = value.get("inputs").and_then(Value::as_str) else {
            return Err("`inputs` is missing or not a string".into());
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(inputs)
            .map_err(|e| format!("`inputs` is not base64: {e}"))?;
        (Some(value), bytes)
    };
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err("cannot identify image file: `inputs` is not a JPEG".into());
    }
    Ok((json, bytes))
}

async fn infer(
    State(shared): State<Arc<Shared>>,
    Path(model): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let parsed = jpeg_of(content_type.as_deref(), &body);
    {
        let mut records = shared.records.lock().unwrap();
        let r = records.entry(model.clone()).or_default();
        r.hits += 1;
        r.last_auth.clone_from(&auth);
        r.last_content_type.clone_from(&content_type);
        r.last_body = serde_json::from_slice(&body).ok();
        r.last_jpeg = parsed.as_ref().ok().map(|(_, jpeg)| jpeg.clone());
    }
    if auth.as_deref() != Some(&format!("Bearer {}", shared.token)) {
        return json_error(
            StatusCode::UNAUTHORIZED,
            "Invalid credentials in Authorization header",
        );
    }
    let (json, _) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => return json_error(StatusCode::BAD_REQUEST, message),
    };
    let behaviour = {
        let scripts = shared.scripts.lock().unwrap();
        let Some(script) = scripts.get(&model) else {
            return not_found();
        };
        let mut records = shared.records.lock().unwrap();
        let r = records.get_mut(&model).expect("recorded above");
        let index = r.answered;
        r.answered += 1;
        script.at(index).clone()
    };
    let top_k = json
        .and_then(|json| json.pointer("/parameters/top_k")?.as_u64())
        .map_or(DEFAULT_TOP_K, |k| k as usize);
    answer(&model, behaviour, top_k).await
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Not Found",
    )
        .into_response()
}

/// The number of labels the API returns when the request does not say.
pub const DEFAULT_TOP_K: usize = 5;

async fn answer(model: &str, mut behaviour: Behaviour, top_k: usize) -> Response {
    while let Behaviour::Delayed(delay, inner) = behaviour {
        tokio::time::sleep(delay).await;
        behaviour = *inner;
    }
    match behaviour {
        Behaviour::Labels(mut labels) => {
            labels.sort_by(|a, b| b.1.total_cmp(&a.1));
            labels.truncate(top_k);
            let list: Vec<Value> = labels
                .into_iter()
                .map(|(label, score)| {
                    // The shortest decimal of the f32, as the API would print it.
                    let score: f64 = score.to_string().parse().unwrap_or(0.0);
                    json!({"label": label, "score": score})
                })
                .collect();
            axum::Json(Value::Array(list)).into_response()
        }
        Behaviour::Loading { estimated_time } => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({
                "error": format!("Model {model} is currently loading"),
                "estimated_time": estimated_time,
            })),
        )
            .into_response(),
        Behaviour::RateLimited { retry_after } => {
            let mut response = json_error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit reached. You reached free usage limit (reset hourly). \
                 Please subscribe to a plan at https://huggingface.co/pricing to use the API at this rate",
            );
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
        Behaviour::Unauthorized => json_error(
            StatusCode::UNAUTHORIZED,
            "Invalid credentials in Authorization header",
        ),
        Behaviour::Forbidden => json_error(
            StatusCode::FORBIDDEN,
            "This authentication method does not have sufficient permissions to call Inference \
             Providers on behalf of user tester",
        ),
        Behaviour::PaymentRequired => json_error(
            StatusCode::PAYMENT_REQUIRED,
            "You have exceeded your monthly included credits for Inference Providers. \
             Subscribe to PRO to get 20x more monthly included credits.",
        ),
        Behaviour::NotFound => not_found(),
        Behaviour::Gone => json_error(
            StatusCode::GONE,
            "https://api-inference.huggingface.co is no longer supported. \
             Please use https://router.huggingface.co/hf-inference instead.",
        ),
        Behaviour::ServerError(status) => json_error(
            StatusCode::from_u16(status).expect("a valid status"),
            format!("Internal error while running {model}"),
        ),
        Behaviour::Malformed => (
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"not": "a list""#,
        )
            .into_response(),
        Behaviour::NotAList => axum::Json(json!({"not": "a list"})).into_response(),
        Behaviour::Raw {
            status,
            content_type,
            body,
        } => (
            StatusCode::from_u16(status).expect("a valid status"),
            [(header::CONTENT_TYPE, content_type)],
            body,
        )
            .into_response(),
        Behaviour::Hang => {
            // Dropped with the connection when the client gives up.
            std::future::pending::<()>().await;
            unreachable!()
        }
        Behaviour::EndlessBody => {
            let chunks = futures::stream::unfold(true, |first| async move {
                if !first {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let chunk = if first { "[" } else { " " };
                Some((
                    Ok::<_, std::io::Error>(Bytes::from_static(chunk.as_bytes())),
                    false,
                ))
            });
            (
                [(header::CONTENT_TYPE, "application/json")],
                Body::from_stream(chunks),
            )
                .into_response()
        }
        Behaviour::Delayed(..) => unreachable!("unwrapped above"),
    }
}
