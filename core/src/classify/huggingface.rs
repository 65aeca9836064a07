//! The Hugging Face Inference API backend: one shared HTTPS client, a model per id, and the
//! failure handling the service needs (cold starts, rate limits, refused tokens, spent credits,
//! models not deployed, timeouts), with a circuit breaker per model.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use futures::FutureExt;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use reqwest::StatusCode;
use serde::Deserialize;

use super::{Classifier, ModelKind, ModelState, ModelStatus};
use crate::emotion::Scores;
use crate::error::{Error, Result};
use crate::labels;
use crate::preprocess::{InputSpec, ModelInput};
use crate::secret::Secret;

/// The public Inference API, as routed today.
pub const DEFAULT_BASE_URL: &str = "https://router.huggingface.co/hf-inference/models";

/// Settings of the remote backend.
#[derive(Clone, Debug)]
pub struct HuggingFaceOptions {
    pub api_key: Secret,
    /// `{base_url}/{model_id}` is called.
    pub base_url: String,
    /// For one call, from connecting to the end of the body.
    pub request_timeout: Duration,
    /// How long a cold start is waited for before the next model is tried.
    pub max_loading_wait: Duration,
    /// Retries after a 429, a 5xx or a timeout.
    pub max_retries: u32,
    /// Consecutive failed requests that open a model's circuit.
    pub breaker_threshold: u32,
    /// How long an open circuit skips the model before it is probed again.
    pub breaker_cooldown: Duration,
    /// How long a model found not deployed, retired, or refused for the token or credits is
    /// skipped before it is tried again.
    pub blocked_cooldown: Duration,
}

impl Default for HuggingFaceOptions {
    fn default() -> Self {
        HuggingFaceOptions {
            api_key: Secret::default(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            request_timeout: Duration::from_secs(10),
            max_loading_wait: Duration::from_secs(20),
            max_retries: 2,
            breaker_threshold: 3,
            breaker_cooldown: Duration::from_secs(30),
            blocked_cooldown: Duration::from_secs(600),
        }
    }
}

/// `top_k` for a model whose label count is unknown: the API answers at most as many labels as
/// the model has, so asking for more loses none.
const UNKNOWN_MODEL_TOP_K: usize = 32;

/// The label order (`id2label`) of models whose answers may use `LABEL_n`.
fn known_id2label(model: &str) -> Option<&'static [&'static str]> {
    match model {
        "trpakov/vit-face-expression" => Some(&[
            "angry", "disgust", "fear", "happy", "neutral", "sad", "surprise",
        ]),
        "dima806/facial_emotions_image_detection" => Some(&[
            "sad", "disgust", "angry", "neutral", "fear", "surprise", "happy",
        ]),
        "RickyIG/emotion_face_image_classification_v2" => Some(&[
            "anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise",
        ]),
        _ => None,
    }
}

/// The client shared by every remote model: one connection pool, one token, and what the
/// service said about that token (a refused token or spent credits concern every model).
#[derive(Clone, Debug)]
pub struct HuggingFace {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    client: reqwest::Client,
    options: HuggingFaceOptions,
    account: Mutex<Option<(ModelState, Instant)>>,
    /// Weak: each model holds this `Shared`, so strong references here would be a cycle that
    /// outlives every engine using them.
    models: Mutex<Vec<Weak<HuggingFaceModel>>>,
}

impl HuggingFace {
    pub fn new(options: HuggingFaceOptions) -> Result<HuggingFace> {
        let client = crate::http::client_builder()?
            .connect_timeout(options.request_timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| Error::Internal(format!("HTTP client setup: {e}")))?;
        Ok(HuggingFace {
            inner: Arc::new(Shared {
                client,
                options,
                account: Mutex::new(None),
                models: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The remote model `model_id` (for example `trpakov/vit-face-expression`).
    pub fn model(&self, model_id: &str) -> Arc<HuggingFaceModel> {
        let base = self.inner.options.base_url.trim_end_matches('/');
        let model = Arc::new(HuggingFaceModel {
            id: model_id.to_owned(),
            url: format!("{base}/{model_id}"),
            id2label: known_id2label(model_id),
            shared: self.inner.clone(),
            health: Mutex::new(Health {
                state: ModelState::Unknown,
                last_error: None,
                failures: 0,
                blocked_until: None,
            }),
            calls: AtomicU64::new(0),
        });
        self.inner.models.lock().push(Arc::downgrade(&model));
        model
    }

    /// One tiny request per model, concurrently, so that `/api/status` shows each model's state
    /// and cold models start loading. Never fails: what it learns goes into the states.
    pub async fn warm_up(&self) {
        let models: Vec<_> = self
            .inner
            .models
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        let probe: Arc<[u8]> = probe_jpeg().into();
        futures::future::join_all(models.iter().map(|m| {
            let probe = probe.clone();
            async move {
                // The outcome lands in the model's state; the warm-up itself answers no one.
                let _ = match m.call_once(&probe).await {
                    Ok(answer) => m.succeeded(&answer),
                    Err(failure) => Err(m.failed(failure)),
                };
            }
        }))
        .await;
    }
}

/// A 32x32 gray JPEG: the smallest useful warm-up input.
fn probe_jpeg() -> Vec<u8> {
    let mut jpeg = Vec::new();
    let pixels = vec![128u8; 32 * 32];
    // Encoding a fixed 32x32 gray image cannot fail; an empty probe would only be refused.
    let _ = image::codecs::jpeg::JpegEncoder::new(&mut jpeg).encode(
        &pixels,
        32,
        32,
        image::ExtendedColorType::L8,
    );
    jpeg
}

/// One model served by the Inference API.
#[derive(Debug)]
pub struct HuggingFaceModel {
    id: String,
    url: String,
    id2label: Option<&'static [&'static str]>,
    shared: Arc<Shared>,
    health: Mutex<Health>,
    calls: AtomicU64,
}

#[derive(Debug)]
struct Health {
    state: ModelState,
    last_error: Option<(String, SystemTime)>,
    /// Consecutive failed requests (after their retries).
    failures: u32,
    /// Skipped until then.
    blocked_until: Option<Instant>,
}

/// Why one call failed.
#[derive(Debug)]
enum Failure {
    Loading(Duration),
    RateLimited(Option<Duration>),
    Unauthorized(String),
    Credits(String),
    NotDeployed,
    Retired(String),
    /// 5xx, timeouts, connection errors: worth a retry.
    Transient(String),
    /// An answer that cannot be read, or a request the service refused: not worth a retry.
    Final(String),
}

#[derive(Deserialize)]
struct Label {
    label: String,
    score: f32,
}

/// An answer is `[{label, score}, ...]`; some deployments wrap it in one more list.
#[derive(Deserialize)]
#[serde(untagged)]
enum Answer {
    Flat(Vec<Label>),
    Nested(Vec<Vec<Label>>),
}

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<serde_json::Value>,
    estimated_time: Option<f64>,
}

impl HuggingFaceModel {
    fn options(&self) -> &HuggingFaceOptions {
        &self.shared.options
    }

    /// One POST of `jpeg`, its answer read and checked.
    async fn call_once(&self, jpeg: &[u8]) -> Result<Vec<(String, f32)>, Failure> {
        // The API answers only the `top_k` best labels; a model with extra labels (RickyIG's
        // `contempt`) would otherwise push one of the seven out of the answer.
        let top_k = self.id2label.map_or(UNKNOWN_MODEL_TOP_K, <[_]>::len);
        let body = serde_json::json!({
            "inputs": base64::engine::general_purpose::STANDARD.encode(jpeg),
            "parameters": {"top_k": top_k},
        });
        self.calls.fetch_add(1, Ordering::Relaxed);
        let response = self
            .shared
            .client
            .post(&self.url)
            .bearer_auth(self.options().api_key.expose())
            .json(&body)
            .timeout(self.options().request_timeout)
            .send()
            .await
            .map_err(|e| Failure::Transient(crate::http::describe(&e)))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Failure::Transient(crate::http::describe(&e)))?;
        let text = || String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
        let message = || {
            serde_json::from_slice::<ErrorBody>(&bytes)
                .ok()
                .and_then(|b| b.error)
                .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned))
                .unwrap_or_else(text)
        };
        match status {
            StatusCode::OK => match serde_json::from_slice::<Answer>(&bytes) {
                Ok(Answer::Flat(labels)) => {
                    Ok(labels.into_iter().map(|l| (l.label, l.score)).collect())
                }
                Ok(Answer::Nested(mut lists)) if lists.len() == 1 => Ok(lists
                    .remove(0)
                    .into_iter()
                    .map(|l| (l.label, l.score))
                    .collect()),
                _ => Err(Failure::Final(format!(
                    "the answer is not a list of {{label, score}}: {}",
                    text()
                ))),
            },
            StatusCode::SERVICE_UNAVAILABLE => {
                let estimate = serde_json::from_slice::<ErrorBody>(&bytes)
                    .ok()
                    .and_then(|b| b.estimated_time);
                match estimate {
                    Some(seconds) if seconds.is_finite() && seconds >= 0.0 => {
                        Err(Failure::Loading(Duration::from_secs_f64(seconds)))
                    }
                    _ => Err(Failure::Transient(format!("503: {}", message()))),
                }
            }
            StatusCode::TOO_MANY_REQUESTS => Err(Failure::RateLimited(retry_after)),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(Failure::Unauthorized(
                format!("{}: {}", status.as_u16(), message()),
            )),
            StatusCode::PAYMENT_REQUIRED => Err(Failure::Credits(message())),
            StatusCode::NOT_FOUND => Err(Failure::NotDeployed),
            StatusCode::GONE => Err(Failure::Retired(message())),
            s if s.is_server_error() => {
                Err(Failure::Transient(format!("{}: {}", s.as_u16(), message())))
            }
            s => Err(Failure::Final(format!("{}: {}", s.as_u16(), message()))),
        }
    }

    /// The call with its retries and waits, then the verdict recorded in the model's health.
    async fn classify_jpeg(&self, jpeg: &[u8]) -> Result<Scores> {
        let options = self.options();
        let loading_deadline = Instant::now() + options.max_loading_wait;
        let mut retries = 0u32;
        loop {
            let failure = match self.call_once(jpeg).await {
                Ok(answer) => return self.succeeded(&answer),
                Err(failure) => failure,
            };
            let wait = match &failure {
                Failure::Loading(estimate) => {
                    self.set_state(ModelState::Loading, "the model is loading (a cold start)");
                    let left = loading_deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(self.failed(failure));
                    }
                    Some((*estimate).max(Duration::from_millis(100)).min(left))
                }
                // A `Retry-After` longer than a retry may wait is honoured by leaving the
                // model alone that long (see `failed`), not by holding the caller.
                Failure::RateLimited(Some(after)) if *after > MAX_RETRY_WAIT => None,
                Failure::RateLimited(_) | Failure::Transient(_)
                    if retries < options.max_retries =>
                {
                    retries += 1;
                    Some(match &failure {
                        Failure::RateLimited(Some(after)) => *after,
                        _ => backoff(retries),
                    })
                }
                _ => None,
            };
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return Err(self.failed(failure)),
            }
        }
    }

    /// Long enough for one request with all its retries and waits.
    fn probe_lease(&self) -> Duration {
        let options = self.options();
        options.request_timeout * (options.max_retries + 1)
            + MAX_RETRY_WAIT * options.max_retries
            + options.max_loading_wait
    }

    fn succeeded(&self, answer: &[(String, f32)]) -> Result<Scores> {
        let scores = labels::normalise(
            &self.id,
            answer.iter().map(|(l, s)| (l.as_str(), *s)),
            self.id2label,
        );
        let mut health = self.health.lock();
        match &scores {
            Ok(_) => {
                health.state = ModelState::Ready;
                health.failures = 0;
                health.blocked_until = None;
            }
            Err(e) => {
                health.state = ModelState::Failing;
                health.last_error = Some((e.to_string(), SystemTime::now()));
            }
        }
        scores
    }

    fn set_state(&self, state: ModelState, message: &str) {
        let mut health = self.health.lock();
        health.state = state;
        health.last_error = Some((message.to_owned(), SystemTime::now()));
    }

    /// Records a final failure and turns it into the engine's error.
    fn failed(&self, failure: Failure) -> Error {
        let options = self.options();
        let now = Instant::now();
        let (state, message, blocked) = match failure {
            Failure::Unauthorized(m) => {
                let message = format!("the Hugging Face token was refused ({m}): check HF_API_KEY");
                *self.shared.account.lock() =
                    Some((ModelState::Unauthorized, now + options.blocked_cooldown));
                (
                    ModelState::Unauthorized,
                    message,
                    Some(options.blocked_cooldown),
                )
            }
            Failure::Credits(m) => {
                *self.shared.account.lock() =
                    Some((ModelState::CreditsExhausted, now + options.blocked_cooldown));
                (
                    ModelState::CreditsExhausted,
                    format!("the account's credits are spent: {m}"),
                    Some(options.blocked_cooldown),
                )
            }
            Failure::NotDeployed => (
                ModelState::NotDeployed,
                "the Inference API does not serve this model (404 Not Found)".to_owned(),
                Some(options.blocked_cooldown),
            ),
            Failure::Retired(m) => (
                ModelState::Retired,
                format!("the endpoint was retired (410): {m}"),
                Some(options.blocked_cooldown),
            ),
            Failure::Loading(_) => (
                ModelState::Loading,
                format!(
                    "still loading after {:.1} s",
                    options.max_loading_wait.as_secs_f64()
                ),
                None,
            ),
            Failure::RateLimited(after) => (
                ModelState::Failing,
                match after {
                    Some(after) => format!(
                        "rate limited (429), asked to come back in {:.0} s",
                        after.as_secs_f64()
                    ),
                    None => "rate limited (429), retries spent".to_owned(),
                },
                after,
            ),
            Failure::Transient(m) | Failure::Final(m) => (ModelState::Failing, m, None),
        };
        let mut health = self.health.lock();
        health.last_error = Some((message.clone(), SystemTime::now()));
        health.state = state;
        if let Some(cooldown) = blocked {
            health.blocked_until = Some(now + cooldown);
        } else {
            health.failures += 1;
            if health.failures >= options.breaker_threshold {
                health.state = ModelState::CircuitOpen;
                health.blocked_until = Some(now + options.breaker_cooldown);
            }
        }
        match state {
            ModelState::Unauthorized => Error::BackendUnauthorized {
                model: self.id.clone(),
                message,
            },
            _ => Error::Backend {
                model: self.id.clone(),
                message,
            },
        }
    }
}

/// The longest one retry waits, whether the service said how long (`Retry-After`) or not.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// Exponential backoff with jitter: about 0.2 s, 0.4 s, 0.8 s, ... up to [`MAX_RETRY_WAIT`].
fn backoff(retry: u32) -> Duration {
    let base = Duration::from_millis(200) * 2u32.saturating_pow(retry.saturating_sub(1).min(5));
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let jitter = Duration::from_millis(u64::from(nanos % 100));
    (base + jitter).min(MAX_RETRY_WAIT)
}

impl Classifier for HuggingFaceModel {
    fn id(&self) -> &str {
        &self.id
    }

    fn kind(&self) -> ModelKind {
        ModelKind::Remote
    }

    fn input_spec(&self) -> InputSpec {
        InputSpec::RgbJpeg224
    }

    fn classify(&self, input: ModelInput) -> BoxFuture<'_, Result<Scores>> {
        async move {
            let ModelInput::Jpeg(jpeg) = input else {
                return Err(Error::Internal(format!(
                    "{} takes a JPEG face crop",
                    self.id
                )));
            };
            self.classify_jpeg(&jpeg).await
        }
        .boxed()
    }

    fn status(&self) -> ModelStatus {
        let health = self.health.lock();
        let account = *self.shared.account.lock();
        let state = match account {
            Some((state, until)) if until > Instant::now() => state,
            _ => health.state,
        };
        ModelStatus {
            state,
            last_error: health.last_error.as_ref().map(|(m, _)| m.clone()),
            last_error_at: health
                .last_error
                .as_ref()
                .and_then(|(_, at)| at.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_secs_f64()),
            calls: self.calls.load(Ordering::Relaxed),
        }
    }

    fn available(&self) -> bool {
        let now = Instant::now();
        if matches!(*self.shared.account.lock(), Some((_, until)) if until > now) {
            return false;
        }
        // After the cool-down one probe decides: the first caller takes a lease that keeps the
        // model skipped by the others until the probe's verdict replaces it (a lease is not
        // forever, as the probe may be answered by the cache and never reach the model).
        let mut health = self.health.lock();
        match health.blocked_until {
            Some(until) if until > now => false,
            Some(_) => {
                health.blocked_until = Some(now + self.probe_lease());
                true
            }
            None => true,
        }
    }
}
