//! Classifiers: the models that turn a prepared face into [`Scores`]. The engine sees them only
//! through the [`Classifier`] trait, so local and remote models sit side by side in one chain.

#[cfg(feature = "remote")]
pub mod huggingface;
pub mod local;
#[cfg(feature = "remote")]
pub mod server;

use futures::future::BoxFuture;
use serde::Serialize;

use crate::emotion::Scores;
use crate::error::Result;
use crate::preprocess::{InputSpec, ModelInput};

/// Where a model runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// In this process, on the compute pool.
    Local,
    /// Behind a network API.
    Remote,
}

/// What a model can do right now, for `/api/models` and `/api/status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ModelState {
    /// Not asked yet.
    Unknown,
    Ready,
    /// A remote model is starting (a cold start); it answers after a while.
    Loading,
    /// The remote service does not serve this model.
    NotDeployed,
    /// The remote endpoint was retired.
    Retired,
    /// The token was refused: no call will succeed until it is fixed.
    Unauthorized,
    /// The account's credits are spent.
    CreditsExhausted,
    /// It failed recently (5xx, timeouts, bad answers) and may recover.
    Failing,
    /// It failed too often: it is skipped until a cool-down ends, then probed again.
    CircuitOpen,
}

/// A model's state with the last error and when it happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelStatus {
    pub state: ModelState,
    pub last_error: Option<String>,
    /// Unix time in seconds of `last_error`.
    pub last_error_at: Option<f64>,
    /// Work sent to the model since start: inferences of a local model, HTTP calls (retries
    /// included) of a remote one. Cache hits cost none.
    pub calls: u64,
}

impl ModelStatus {
    /// A model that is always ready, having done `calls`.
    pub fn ready(calls: u64) -> ModelStatus {
        ModelStatus {
            state: ModelState::Ready,
            last_error: None,
            last_error_at: None,
            calls,
        }
    }
}

/// A model that classifies one prepared face into the seven emotions.
///
/// `classify` returns a future so that remote models wait on the network without holding a
/// thread; local models do their CPU work on the engine's compute pool, never in the caller's.
pub trait Classifier: Send + Sync + std::fmt::Debug {
    /// A stable identifier, reported as `model_used` and part of every cache key.
    fn id(&self) -> &str;

    fn kind(&self) -> ModelKind;

    /// The input this model takes; the engine prepares exactly that.
    fn input_spec(&self) -> InputSpec;

    /// Scores for one face, in canonical order, summing to 1.
    fn classify(&self, input: ModelInput) -> BoxFuture<'_, Result<Scores>>;

    /// The model's state now.
    fn status(&self) -> ModelStatus;

    /// Whether a chain should try this model now; `false` skips it (not deployed, refused
    /// token, open circuit) without a call.
    fn available(&self) -> bool {
        true
    }
}
