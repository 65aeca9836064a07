//! Another emotion-server as a model: the face crop is prepared here and sent to its
//! `/api/detect`, so a client far from the server (a game, a kiosk) ships a small JPEG of the
//! face instead of the whole frame.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use futures::FutureExt;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use serde::Deserialize;

use super::{Classifier, ModelKind, ModelState, ModelStatus};
use crate::emotion::{Emotion, Scores};
use crate::error::{Error, Result};
use crate::preprocess::{InputSpec, ModelInput};
use crate::secret::Secret;

/// An emotion-server reached over HTTP.
#[derive(Debug)]
pub struct ServerModel {
    id: String,
    url: String,
    api_key: Option<Secret>,
    timeout: Duration,
    /// Where the face sits inside the crop sent, relative to its side: the crop already carries
    /// this engine's margin, and the server adds its own around the box it is given.
    face_in_crop: [f64; 4],
    client: reqwest::Client,
    health: Mutex<(ModelState, Option<(String, SystemTime)>)>,
    calls: AtomicU64,
}

#[derive(Deserialize)]
struct Answer {
    all_scores: Option<std::collections::HashMap<String, f32>>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: Option<ErrorBody>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<String>,
    message: Option<String>,
}

impl ServerModel {
    /// The server at `base_url` (`http://host:port`), called with `api_key` as `X-API-Key` if
    /// set. `crop_margin` is the engine's own (see [`crate::EngineBuilder::crop_margin`]).
    pub fn new(
        base_url: &str,
        api_key: Option<Secret>,
        timeout: Duration,
        crop_margin: f32,
    ) -> Result<ServerModel> {
        let base = base_url.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::InvalidSettings(format!(
                "the server URL must start with http:// or https://, got {base_url:?}"
            )));
        }
        let client = crate::http::client_builder()?
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| Error::Internal(format!("HTTP client setup: {e}")))?;
        let m = f64::from(crop_margin.clamp(0.0, 1.0));
        let side = 1.0 / (1.0 + 2.0 * m);
        Ok(ServerModel {
            id: format!("server:{base}"),
            url: format!("{base}/api/detect"),
            api_key,
            timeout,
            face_in_crop: [m * side, m * side, side, side],
            client,
            health: Mutex::new((ModelState::Unknown, None)),
            calls: AtomicU64::new(0),
        })
    }

    async fn call(&self, jpeg: &[u8]) -> Result<Scores> {
        let [x, y, width, height] = self.face_in_crop;
        let body = serde_json::json!({
            "image": base64::engine::general_purpose::STANDARD.encode(jpeg),
            "face_bounds": {"x": x, "y": y, "width": width, "height": height},
            "return_all_scores": true,
        });
        let mut request = self
            .client
            .post(&self.url)
            .json(&body)
            .timeout(self.timeout);
        if let Some(key) = &self.api_key {
            request = request.header("X-API-Key", key.expose());
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let failed = |message: String| Error::Backend {
            model: self.id.clone(),
            message,
        };
        let response = request
            .send()
            .await
            .map_err(|e| failed(crate::http::describe(&e)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| failed(crate::http::describe(&e)))?;
        if !status.is_success() {
            let error = serde_json::from_slice::<ErrorAnswer>(&bytes)
                .ok()
                .and_then(|a| a.error);
            let code = error
                .as_ref()
                .and_then(|e| e.code.clone())
                .unwrap_or_default();
            let message = error.and_then(|e| e.message).unwrap_or_else(|| {
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned()
            });
            let message = format!("{} {code}: {message}", status.as_u16());
            return Err(match status.as_u16() {
                401 | 403 => Error::BackendUnauthorized {
                    model: self.id.clone(),
                    message,
                },
                _ => failed(message),
            });
        }
        let scores = serde_json::from_slice::<Answer>(&bytes)
            .ok()
            .and_then(|a| a.all_scores)
            .ok_or_else(|| failed("the answer has no all_scores".into()))?;
        let mut weights = [0.0; 7];
        for (emotion, weight) in Emotion::ALL.iter().zip(&mut weights) {
            *weight = *scores
                .get(emotion.as_str())
                .ok_or_else(|| failed(format!("the answer has no score for {emotion}")))?;
        }
        Scores::from_weights(weights)
            .ok_or_else(|| failed("the scores are not a distribution".into()))
    }
}

impl Classifier for ServerModel {
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
                return Err(Error::Internal("the server model takes a JPEG".into()));
            };
            let result = self.call(&jpeg).await;
            let mut health = self.health.lock();
            match &result {
                Ok(_) => health.0 = ModelState::Ready,
                Err(e) => {
                    *health = (
                        ModelState::Failing,
                        Some((e.to_string(), SystemTime::now())),
                    )
                }
            }
            result
        }
        .boxed()
    }

    fn status(&self) -> ModelStatus {
        let health = self.health.lock();
        ModelStatus {
            state: health.0,
            last_error: health.1.as_ref().map(|(m, _)| m.clone()),
            last_error_at: health
                .1
                .as_ref()
                .and_then(|(_, at)| at.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs_f64())),
            calls: self.calls.load(Ordering::Relaxed),
        }
    }
}
