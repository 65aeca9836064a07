//! Classifiers: the models that turn a prepared face into [`Scores`]. The engine sees them only
//! through the [`Classifier`] trait, so local and remote models sit side by side in one chain.

pub mod local;

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
}
