//! The engine: one frame's path from input to [`Detection`], in order.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::future::try_join_all;

use crate::cache::{CacheStats, ResultCache};
use crate::classify::Classifier;
use crate::classify::local::LocalModel;
use crate::compute::ComputePool;
use crate::detection::{Detection, FaceResult};
use crate::detector::{DetectorRange, FaceDetector};
use crate::error::{Error, Result};
use crate::face::{CropRegion, FaceBox, PixelBox};
use crate::frame::{Channels, Frame, Image, Limits};
use crate::preprocess::{self, InputSpec, ModelInput};
use crate::track::Stream;

/// One frame to classify.
#[derive(Clone, Debug)]
pub struct DetectRequest {
    pub frame: Frame,
    /// Face boxes from the caller; none means the whole image.
    pub faces: Vec<FaceBox>,
    /// A model of the chain by id; none means the first.
    pub model: Option<String>,
}

impl DetectRequest {
    pub fn new(frame: Frame) -> DetectRequest {
        DetectRequest {
            frame,
            faces: Vec::new(),
            model: None,
        }
    }

    pub fn with_face(mut self, face: FaceBox) -> DetectRequest {
        self.faces.push(face);
        self
    }

    pub fn with_model(mut self, model: impl Into<String>) -> DetectRequest {
        self.model = Some(model.into());
        self
    }
}

/// The facial emotion engine. Cheap to clone; clones share models, cache and workers.
#[derive(Clone, Debug)]
pub struct Engine {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    models: Vec<Arc<dyn Classifier>>,
    cache: ResultCache,
    limits: Limits,
    crop_margin: f32,
    pool: ComputePool,
    faces: FaceSearch,
}

/// How faces are found in a frame that comes without boxes.
#[derive(Clone, Debug)]
struct FaceSearch {
    detector: Option<FaceDetector>,
    max_faces: usize,
    min_face_size: u32,
}

/// Configures an [`Engine`]; every setting has a default that suits a small server.
#[derive(Debug)]
pub struct EngineBuilder {
    models: Vec<Arc<dyn Classifier>>,
    workers: Option<usize>,
    limits: Limits,
    cache_entries: u64,
    cache_ttl: Duration,
    crop_margin: f32,
    fallback_local: bool,
    detector: Option<DetectorRange>,
    max_faces: usize,
    min_face_size: u32,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder {
            models: Vec::new(),
            workers: None,
            limits: Limits::default(),
            cache_entries: 1024,
            cache_ttl: Duration::from_secs(300),
            crop_margin: 0.1,
            fallback_local: false,
            detector: None,
            max_faces: 5,
            min_face_size: 0,
        }
    }
}

impl EngineBuilder {
    /// Adds a model to the chain; the first added answers requests that name none.
    /// With no model added, the engine uses the embedded one.
    pub fn model(mut self, model: Arc<dyn Classifier>) -> Self {
        self.models.push(model);
        self
    }

    /// Whether the embedded model ends the chain of added models, answering when all of them
    /// fail (it is the whole chain when no model is added).
    pub fn fallback_local(mut self, on: bool) -> Self {
        self.fallback_local = on;
        self
    }

    /// Threads for decoding and local inference (default: one per core).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers);
        self
    }

    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Result cache size and time to live; 0 entries turns it off.
    pub fn cache(mut self, max_entries: u64, ttl: Duration) -> Self {
        self.cache_entries = max_entries;
        self.cache_ttl = ttl;
        self
    }

    /// Margin added around a face box on each side, as a fraction of its side (fer's crop).
    pub fn crop_margin(mut self, margin: f32) -> Self {
        self.crop_margin = margin.clamp(0.0, 1.0);
        self
    }

    /// Finds the faces of frames that come without boxes with this BlazeFace (none: the whole
    /// frame is classified, as a face crop).
    pub fn face_detector(mut self, range: Option<DetectorRange>) -> Self {
        self.detector = range;
        self
    }

    /// At most this many detected faces are classified, the largest first (at least 1).
    pub fn max_faces(mut self, max_faces: usize) -> Self {
        self.max_faces = max_faces.max(1);
        self
    }

    /// Detected faces narrower or shorter than this many pixels are ignored.
    pub fn min_face_size(mut self, pixels: u32) -> Self {
        self.min_face_size = pixels;
        self
    }

    pub fn build(self) -> Result<Engine> {
        let workers = self
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        let pool = ComputePool::new(workers)?;
        let mut models = self.models;
        if models.is_empty() || self.fallback_local {
            let local = LocalModel::embedded()?;
            local.use_pool(&pool);
            models.push(Arc::new(local));
        }
        Ok(Engine {
            inner: Arc::new(Inner {
                models,
                cache: ResultCache::new(self.cache_entries, self.cache_ttl),
                limits: self.limits,
                crop_margin: self.crop_margin,
                pool,
                faces: FaceSearch {
                    detector: self.detector.map(FaceDetector::embedded).transpose()?,
                    max_faces: self.max_faces,
                    min_face_size: self.min_face_size,
                },
            }),
        })
    }
}

impl FaceSearch {
    /// The faces the detector finds, as boxes clamped to the image with their detection
    /// scores; none without a detector.
    fn find(&self, image: &Image) -> Result<Vec<(PixelBox, Option<f32>)>> {
        let Some(detector) = &self.detector else {
            return Ok(Vec::new());
        };
        let (width, height) = (image.width(), image.height());
        let mut found: Vec<(PixelBox, Option<f32>)> = detector
            .detect(image)?
            .into_iter()
            .filter_map(|f| {
                let face = FaceBox {
                    x: f64::from(f.x),
                    y: f64::from(f.y),
                    width: f64::from(f.width),
                    height: f64::from(f.height),
                };
                let bounds = face.resolve(width, height).ok()?;
                let big_enough = bounds.width.min(bounds.height) >= self.min_face_size;
                big_enough.then_some((bounds, Some(f.score)))
            })
            .collect();
        found.sort_by_key(|(b, _)| std::cmp::Reverse(b.area()));
        found.truncate(self.max_faces);
        Ok(found)
    }
}

impl Engine {
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The models of the chain, the default first.
    pub fn models(&self) -> impl Iterator<Item = &Arc<dyn Classifier>> {
        self.inner.models.iter()
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub fn workers(&self) -> usize {
        self.inner.pool.threads()
    }

    pub fn cache_stats(&self) -> CacheStats {
        self.inner.cache.stats()
    }

    /// Whether frames without boxes go through the face detector.
    pub fn detects_faces(&self) -> bool {
        self.inner.faces.detector.is_some()
    }

    /// A stream with its own face tracks, for a live feed.
    pub fn stream(&self) -> Stream {
        Stream::new(self.clone())
    }

    fn model(&self, id: Option<&str>) -> Result<&Arc<dyn Classifier>> {
        let models = &self.inner.models;
        match id {
            None => Ok(&models[0]),
            Some(id) => models
                .iter()
                .find(|m| m.id() == id)
                .ok_or_else(|| Error::UnknownModel {
                    requested: id.to_owned(),
                    available: models.iter().map(|m| m.id().to_owned()).collect(),
                }),
        }
    }

    /// Classifies the faces of one frame.
    ///
    /// Decoding and cropping run on the compute pool in one step, preparing the input of every
    /// model that may be asked; then each face goes through the chain (the cache first), the
    /// faces of a frame concurrently.
    pub async fn detect(&self, request: DetectRequest) -> Result<Detection> {
        let started = Instant::now();
        let chain: Vec<&Arc<dyn Classifier>> = match request.model.as_deref() {
            Some(id) => vec![self.model(Some(id))?],
            None => self.inner.models.iter().collect(),
        };
        let mut specs: Vec<InputSpec> = Vec::with_capacity(2);
        for spec in chain.iter().map(|m| m.input_spec()) {
            if !specs.contains(&spec) {
                specs.push(spec);
            }
        }
        let search = self.inner.faces.clone();
        let detecting = request.faces.is_empty() && search.detector.is_some();
        // The detector reads colour, as MediaPipe trained it.
        let channels = if detecting || specs.iter().any(|s| s.channels() == Channels::Color) {
            Channels::Color
        } else {
            Channels::Gray
        };
        let limits = self.inner.limits;
        let margin = self.inner.crop_margin;
        let DetectRequest { frame, faces, .. } = request;
        let prepared = self
            .inner
            .pool
            .run(move || {
                let image = frame.decode(&limits, channels)?;
                let (width, height) = (image.width(), image.height());
                let mut boxes: Vec<(PixelBox, Option<f32>)> = if faces.is_empty() {
                    search.find(&image)?
                } else {
                    faces
                        .iter()
                        .map(|f| Ok((f.resolve(width, height)?, None)))
                        .collect::<Result<Vec<_>>>()?
                };
                boxes.sort_by_key(|(b, _)| std::cmp::Reverse(b.area()));
                let face_detected = !boxes.is_empty();
                let regions: Vec<_> = if boxes.is_empty() {
                    let whole = PixelBox::full(width, height);
                    vec![(whole, None, CropRegion::whole(width, height))]
                } else {
                    boxes
                        .into_iter()
                        .map(|(b, score)| (b, score, CropRegion::around_face(&b, margin)))
                        .collect()
                };
                let prepared = regions
                    .into_iter()
                    .map(|(bounds, score, region)| {
                        let inputs = specs
                            .iter()
                            .map(|&spec| Ok((spec, preprocess::prepare(&image, &region, spec)?)))
                            .collect::<Result<Vec<_>>>()?;
                        Ok((bounds, score, inputs))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok((face_detected, prepared))
            })
            .await?;
        let (face_detected, prepared) = prepared;
        let chain = &chain;
        let answers = try_join_all(prepared.into_iter().map(
            |(bounds, score, inputs)| async move {
                let (index, mut face) = self.classify_face(chain, bounds, inputs).await?;
                face.detection_confidence = score;
                Ok::<_, Error>((index, face))
            },
        ))
        .await?;
        let (model_index, _) = answers[0];
        let faces = answers.into_iter().map(|(_, face)| face).collect();
        Ok(Detection {
            faces,
            face_detected,
            model_used: chain[model_index].id().to_owned(),
            fallback: model_index > 0,
            processing_ms: started.elapsed().as_secs_f64() * 1e3,
            timestamp: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        })
    }

    /// One face through the chain: the first available model that answers wins. With several
    /// models, one that is known to be down (not deployed, refused token, open circuit) is
    /// skipped without a call.
    async fn classify_face(
        &self,
        chain: &[&Arc<dyn Classifier>],
        bounds: PixelBox,
        inputs: Vec<(InputSpec, ModelInput)>,
    ) -> Result<(usize, FaceResult)> {
        let mut errors = Vec::new();
        for (index, model) in chain.iter().enumerate() {
            if chain.len() > 1 && !model.available() {
                errors.push(Error::Backend {
                    model: model.id().to_owned(),
                    message: format!("skipped while {:?}", model.status().state),
                });
                continue;
            }
            let Some((_, input)) = inputs.iter().find(|(spec, _)| *spec == model.input_spec())
            else {
                return Err(Error::Internal(format!(
                    "no input prepared for {}",
                    model.id()
                )));
            };
            let computed = self
                .inner
                .cache
                .get_or_compute(
                    model.id(),
                    input.fingerprint(),
                    model.classify(input.clone()),
                )
                .await;
            match computed {
                Ok((scores, cached)) => {
                    return Ok((index, FaceResult::new(bounds, scores, cached)));
                }
                Err(e) => errors.push(e),
            }
        }
        if let Some(refused) = errors
            .iter()
            .find(|e| matches!(e, Error::BackendUnauthorized { .. }))
        {
            return Err(refused.clone());
        }
        match errors.len() {
            1 => Err(errors.remove(0)),
            _ => Err(Error::BackendUnavailable {
                failures: errors.iter().map(ToString::to_string).collect(),
            }),
        }
    }

    /// Classifies several frames concurrently; each result stands alone, in input order.
    pub async fn detect_batch(&self, requests: Vec<DetectRequest>) -> Vec<Result<Detection>> {
        futures::future::join_all(requests.into_iter().map(|r| self.detect(r))).await
    }

    /// [`Engine::detect`] for callers without an async runtime (command line, C, Python's sync API).
    /// Do not call it from a compute-pool thread.
    pub fn detect_blocking(&self, request: DetectRequest) -> Result<Detection> {
        futures::executor::block_on(self.detect(request))
    }
}
