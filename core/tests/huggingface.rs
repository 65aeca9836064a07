//! The Hugging Face backend against a stand-in of the Inference API on 127.0.0.1 (DESIGN §5,
//! issue 4): the three known label sets, every failure answer the API gives, the model chain
//! with its fallbacks, the circuit breaker, the cache in front of the remote calls and warm-up.
//! No test needs the internet; every await has a time limit, so nothing hangs.

// Tests: a failed expectation should fail the test at once.
#![allow(clippy::unwrap_used)]

#[path = "support/hf_standin.rs"]
mod hf_standin;
mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use emotion_core::classify::huggingface::{HuggingFace, HuggingFaceModel, HuggingFaceOptions};
use emotion_core::classify::{Classifier, ModelKind, ModelState};
use emotion_core::face::CropRegion;
use emotion_core::preprocess::ModelInput;
use emotion_core::{DetectRequest, Detection, Emotion, Engine, Error, ErrorKind, Frame};
use hf_standin::*;
use support::{Photo, single_face_photos};

/// Every await of a test is bounded by this unless it says otherwise.
const LIMIT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_millis(500);
const MAX_LOADING_WAIT: Duration = Duration::from_secs(2);
const MAX_RETRIES: u32 = 2;
const BREAKER_COOLDOWN: Duration = Duration::from_millis(300);

async fn within<F: Future>(limit: Duration, what: &str, future: F) -> F::Output {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
}

fn options(standin: &StandIn) -> HuggingFaceOptions {
    HuggingFaceOptions {
        api_key: GOOD_TOKEN.into(),
        base_url: standin.base_url(),
        request_timeout: REQUEST_TIMEOUT,
        max_loading_wait: MAX_LOADING_WAIT,
        max_retries: MAX_RETRIES,
        breaker_threshold: 3,
        breaker_cooldown: BREAKER_COOLDOWN,
        ..HuggingFaceOptions::default()
    }
}

fn with_key(standin: &StandIn, key: &str) -> HuggingFaceOptions {
    HuggingFaceOptions {
        api_key: key.into(),
        ..options(standin)
    }
}

/// A chain of remote models, then the embedded model when `local`; no cache unless asked, so
/// that every request reaches the backend.
fn engine(models: &[&Arc<HuggingFaceModel>], local: bool) -> Engine {
    models
        .iter()
        .fold(Engine::builder(), |b, m| {
            b.model(Arc::clone(m) as Arc<dyn Classifier>)
        })
        .fallback_local(local)
        .cache(0, Duration::ZERO)
        .workers(1)
        .build()
        .unwrap()
}

fn photo() -> Photo {
    single_face_photos().swap_remove(0)
}

fn request(photo: &Photo) -> DetectRequest {
    DetectRequest::new(Frame::Encoded(photo.bytes.clone())).with_face(photo.face)
}

async fn detect(engine: &Engine, request: DetectRequest) -> emotion_core::Result<Detection> {
    within(LIMIT, "detect", engine.detect(request)).await
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The model's state, with its last error for the failure message.
fn state(model: &HuggingFaceModel) -> ModelState {
    model.status().state
}

fn assert_state(model: &HuggingFaceModel, expected: ModelState) {
    let status = model.status();
    assert_eq!(
        status.state,
        expected,
        "{}: last error {:?}",
        model.id(),
        status.last_error
    );
}

/// The canonical name of a label of the known sets; `None` for labels outside the seven.
fn canonical(label: &str) -> Option<Emotion> {
    match label {
        "anger" => Some(Emotion::Angry),
        other => other.parse().ok(),
    }
}

/// What a remote answer should become: the seven in canonical order, others dropped, renormalised.
fn expected_scores(answer: &[(&str, f32)]) -> [f32; 7] {
    let mut scores = [0.0f32; 7];
    for (label, score) in answer {
        if let Some(emotion) = canonical(label) {
            scores[emotion.index()] += score;
        }
    }
    let sum: f32 = scores.iter().sum();
    scores.map(|s| s / sum)
}

fn assert_scores(detection: &Detection, answer: &[(&str, f32)]) {
    let scores = detection.primary().scores.as_array();
    let expected = expected_scores(answer);
    for (i, (got, want)) in scores.iter().zip(expected).enumerate() {
        assert!(
            (got - want).abs() < 1e-4,
            "{}: {:?} is {got}, expected {want}; all: {scores:?}",
            detection.model_used,
            Emotion::from_index(i)
        );
    }
    let sum: f32 = scores.iter().sum();
    assert!((sum - 1.0).abs() < 1e-4, "scores sum to {sum}");
}

/// Mean absolute difference per channel between the JPEG sent and the face region of the photo,
/// cropped as the engine crops it and scaled to the JPEG's size.
fn difference_from_face_crop(photo: &Photo, sent: &image::RgbImage) -> f64 {
    let source = image::load_from_memory(&photo.bytes).unwrap().into_rgb8();
    let face = photo.face.resolve(source.width(), source.height()).unwrap();
    let region = CropRegion::around_face(&face, 0.1);
    let crop = image::RgbImage::from_fn(region.width, region.height, |x, y| {
        let sx = (region.x + i64::from(x)).clamp(0, i64::from(source.width()) - 1) as u32;
        let sy = (region.y + i64::from(y)).clamp(0, i64::from(source.height()) - 1) as u32;
        *source.get_pixel(sx, sy)
    });
    let scaled = image::imageops::resize(
        &crop,
        sent.width(),
        sent.height(),
        image::imageops::FilterType::Triangle,
    );
    let total: u64 = scaled
        .as_raw()
        .iter()
        .zip(sent.as_raw())
        .map(|(a, b)| u64::from(a.abs_diff(*b)))
        .sum();
    total as f64 / scaled.as_raw().len() as f64
}

// ---------------------------------------------------------------------------------------------
// 1. The happy path, for each known label set.

/// `contempt` is not one of the seven; `fear` is the lowest, so a client that asks for fewer
/// than all eight labels (`top_k` 7) loses it.
const RICKYIG_ANSWER: [(&str, f32); 8] = [
    ("anger", 0.04),
    ("contempt", 0.30),
    ("disgust", 0.06),
    ("fear", 0.02),
    ("happy", 0.08),
    ("neutral", 0.35),
    ("sad", 0.10),
    ("surprise", 0.05),
];

/// RickyIG's labels with `contempt` the lowest: the same scores whatever `top_k` the client sends.
const RICKYIG_CONTEMPT_LOW: [(&str, f32); 8] = [
    ("anger", 0.04),
    ("contempt", 0.01),
    ("disgust", 0.06),
    ("fear", 0.02),
    ("happy", 0.37),
    ("neutral", 0.35),
    ("sad", 0.10),
    ("surprise", 0.05),
];

async fn happy_path(model_id: &str, answer: &[(&str, f32)], dominant: Emotion) {
    let standin = StandIn::start([(model_id, Behaviour::scores(answer))]).await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let model = hf.model(model_id);
    assert_eq!(model.id(), model_id);
    assert_eq!(model.kind(), ModelKind::Remote);
    assert_state(&model, ModelState::Unknown);
    let engine = engine(&[&model], false);
    let photo = photo();

    let detection = detect(&engine, request(&photo)).await.unwrap();
    assert_eq!(detection.model_used, model_id);
    assert!(!detection.fallback);
    assert_scores(&detection, answer);
    assert_eq!(detection.primary().emotion, dominant);
    assert!(detection.face_detected);
    assert_eq!(standin.hits(model_id), 1);
    assert_state(&model, ModelState::Ready);

    // The request: the token, the JSON form asking for every label, and the face crop as a JPEG.
    assert_eq!(standin.last_auth(model_id).as_deref(), Some("Bearer good"));
    let body = standin
        .last_body(model_id)
        .expect("the request body is JSON");
    let top_k = body["parameters"]["top_k"]
        .as_u64()
        .unwrap_or_else(|| panic!("no parameters.top_k in the body"));
    assert!(
        top_k as usize >= answer.len(),
        "top_k {top_k} asks for fewer labels than {model_id} has ({})",
        answer.len()
    );
    assert!(body["inputs"].is_string());
    let jpeg = standin
        .last_jpeg(model_id)
        .expect("`inputs` is a base64 JPEG");
    let sent = image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg)
        .unwrap()
        .into_rgb8();
    let (w, h) = sent.dimensions();
    assert!(
        (32..=224).contains(&w) && (32..=224).contains(&h),
        "the crop sent is {w}x{h}"
    );
    assert_eq!(w, h, "the face region is square");
    let (photo_w, photo_h) =
        image::image_dimensions(support::faces_dir().join(&photo.file)).unwrap_or((0, 0));
    assert!(
        w < photo_w || h < photo_h,
        "the whole {photo_w}x{photo_h} photo was sent, not the face"
    );
    let difference = difference_from_face_crop(&photo, &sent);
    assert!(
        difference < 12.0,
        "the JPEG sent differs from the face crop by {difference:.1} per channel on average"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trpakov_labels_map_onto_the_canonical_seven() {
    happy_path(TRPAKOV, &TRPAKOV_ANSWER, Emotion::Happy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dima806_labels_map_onto_the_canonical_seven() {
    happy_path(DIMA806, &DIMA806_ANSWER, Emotion::Sad).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rickyig_contempt_is_dropped_and_the_rest_renormalised() {
    happy_path(RICKYIG, &RICKYIG_ANSWER, Emotion::Neutral).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synonyms_of_an_unknown_model_map_onto_the_seven() {
    const MODEL: &str = "someone/emotions";
    // `contempt` is the lowest, so that this test holds whatever `top_k` the client sends.
    let answer = [
        ("Happiness", 0.5),
        ("SADNESS", 0.1),
        ("surprised", 0.1),
        ("fearful", 0.05),
        ("disgusted", 0.05),
        ("calm", 0.14),
        ("anger", 0.05),
        ("contempt", 0.01),
    ];
    let standin = StandIn::start([(MODEL, Behaviour::scores(&answer))]).await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let model = hf.model(MODEL);
    let engine = engine(&[&model], false);
    let detection = detect(&engine, request(&photo())).await.unwrap();
    let scores = detection.primary().scores;
    let expected = [0.05, 0.05, 0.05, 0.5, 0.1, 0.1, 0.14].map(|s| s / 0.99);
    for (emotion, want) in Emotion::ALL.into_iter().zip(expected) {
        let got = scores.get(emotion);
        assert!(
            (got - want).abs() < 1e-4,
            "{emotion}: {got}, expected {want}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Labels that map to no emotion.

/// A small JPEG, as the engine would send, for calling the classifier directly.
fn face_jpeg() -> ModelInput {
    let image = image::RgbImage::from_pixel(48, 48, image::Rgb([120, 100, 90]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut jpeg)
        .encode_image(&image)
        .unwrap();
    ModelInput::Jpeg(jpeg.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_label_set_is_an_error_that_names_it() {
    const MODEL: &str = "someone/sentiment";
    let standin = StandIn::start([(
        MODEL,
        Behaviour::scores(&[("positive", 0.7), ("negative", 0.3)]),
    )])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let model = hf.model(MODEL);

    let error = within(LIMIT, "classify", model.classify(face_jpeg()))
        .await
        .unwrap_err();
    match &error {
        Error::UnknownLabels { model, labels } => {
            assert_eq!(model, MODEL);
            assert!(
                labels.contains("positive") && labels.contains("negative"),
                "{labels}"
            );
        }
        other => panic!("expected UnknownLabels, got {other:?}"),
    }
    assert_eq!(error.code(), "unknown_labels");
    assert_eq!(error.kind(), ErrorKind::Backend);

    // Through the engine, with no other model: the same error, not a silent "neutral".
    let engine = engine(&[&model], false);
    let error = detect(&engine, request(&photo())).await.unwrap_err();
    assert!(
        error.to_string().contains("positive"),
        "the error does not name the labels: {error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_n_of_a_known_model_is_read_through_its_id2label() {
    // trpakov's id2label: angry, disgust, fear, happy, neutral, sad, surprise.
    let answer = [
        ("LABEL_3", 0.6),
        ("LABEL_4", 0.2),
        ("LABEL_0", 0.1),
        ("LABEL_5", 0.05),
        ("LABEL_6", 0.03),
        ("LABEL_1", 0.01),
        ("LABEL_2", 0.01),
    ];
    let standin = StandIn::start([(TRPAKOV, Behaviour::scores(&answer))]).await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let model = hf.model(TRPAKOV);
    let scores = within(LIMIT, "classify", model.classify(face_jpeg()))
        .await
        .unwrap();
    assert_eq!(scores.dominant().0, Emotion::Happy);
    assert!(
        (scores.get(Emotion::Neutral) - 0.2).abs() < 1e-4,
        "{scores:?}"
    );
    assert!(
        (scores.get(Emotion::Angry) - 0.1).abs() < 1e-4,
        "{scores:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_n_without_a_known_id2label_is_an_error() {
    const MODEL: &str = "someone/numbered";
    let standin = StandIn::start([(
        MODEL,
        Behaviour::scores(&[
            ("LABEL_3", 0.6),
            ("LABEL_0", 0.2),
            ("LABEL_6", 0.1),
            ("LABEL_4", 0.1),
        ]),
    )])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let model = hf.model(MODEL);
    let error = within(LIMIT, "classify", model.classify(face_jpeg()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::UnknownLabels { .. }),
        "expected UnknownLabels, got {error:?}"
    );
    assert!(error.to_string().contains("LABEL_3"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// 3. 503: the model is loading.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loading_model_is_waited_for_when_it_is_ready_soon() {
    let standin = StandIn::start([(
        TRPAKOV,
        Script::first(
            1,
            Behaviour::Loading {
                estimated_time: 0.2,
            },
        )
        .then(Behaviour::scores(&TRPAKOV_ANSWER)),
    )])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let model = hf.model(TRPAKOV);
    let engine = engine(&[&model], false);
    let started = Instant::now();
    let detection = detect(&engine, request(&photo())).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(detection.model_used, TRPAKOV);
    assert_scores(&detection, &TRPAKOV_ANSWER);
    assert_eq!(standin.hits(TRPAKOV), 2);
    assert!(
        elapsed >= Duration::from_millis(150),
        "retried after {elapsed:?}, before the estimated 0.2 s"
    );
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_state(&model, ModelState::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_loading_for_long_is_left_for_the_next_within_the_bound() {
    let standin = StandIn::start([
        (
            TRPAKOV,
            Script::always(Behaviour::Loading {
                estimated_time: 20.0,
            }),
        ),
        (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
    ])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let (a, b) = (hf.model(TRPAKOV), hf.model(DIMA806));
    let engine = engine(&[&a, &b], false);
    let started = Instant::now();
    let detection = detect(&engine, request(&photo())).await.unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed < MAX_LOADING_WAIT + Duration::from_millis(1500),
        "gave up on the loading model after {elapsed:?} (bound {MAX_LOADING_WAIT:?})"
    );
    assert_eq!(detection.model_used, DIMA806);
    assert!(detection.fallback);
    assert_scores(&detection, &DIMA806_ANSWER);
    assert!(standin.hits(TRPAKOV) >= 1);
    assert_state(&a, ModelState::Loading);
    assert_state(&b, ModelState::Ready);
    let status = a.status();
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("loading")),
        "{:?}",
        status.last_error
    );
}

// ---------------------------------------------------------------------------------------------
// 4. 429: rate limited.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_is_honoured() {
    let standin = StandIn::start([(
        TRPAKOV,
        Script::first(
            1,
            Behaviour::RateLimited {
                retry_after: Some(1),
            },
        )
        .then(Behaviour::scores(&TRPAKOV_ANSWER)),
    )])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let model = hf.model(TRPAKOV);
    let engine = engine(&[&model], false);
    let started = Instant::now();
    let detection = detect(&engine, request(&photo())).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(detection.model_used, TRPAKOV);
    assert_eq!(standin.hits(TRPAKOV), 2);
    assert!(
        elapsed >= Duration::from_millis(950),
        "retried after {elapsed:?}, before Retry-After: 1"
    );
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_without_retry_after_backs_off_boundedly_then_moves_on() {
    let standin = StandIn::start([
        (
            TRPAKOV,
            Script::always(Behaviour::RateLimited { retry_after: None }),
        ),
        (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
    ])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let (a, b) = (hf.model(TRPAKOV), hf.model(DIMA806));
    let engine = engine(&[&a, &b], false);
    let started = Instant::now();
    let detection = detect(&engine, request(&photo())).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(detection.model_used, DIMA806);
    assert!(detection.fallback);
    let hits = standin.hits(TRPAKOV);
    assert!(
        (1..=MAX_RETRIES as usize + 1).contains(&hits),
        "{hits} requests to a rate-limited model (max_retries {MAX_RETRIES})"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "backed off for {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_of_an_hour_is_not_waited_for() {
    let standin = StandIn::start([
        (
            TRPAKOV,
            Script::always(Behaviour::RateLimited {
                retry_after: Some(3600),
            }),
        ),
        (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
    ])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let (a, b) = (hf.model(TRPAKOV), hf.model(DIMA806));
    let engine = engine(&[&a, &b], false);
    let started = Instant::now();
    let detection = detect(&engine, request(&photo())).await.unwrap();
    assert_eq!(detection.model_used, DIMA806);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// 5. 401 and 403: a bad token stops at once.

const SECRET: &str = "hf_ThisKeyMustNeverBeShown123";

/// Every tracing event and span field of this test binary, at every level, as text. The
/// subscriber is global, so it sees the client's tasks on every runtime thread.
mod logs {
    use std::fmt::Write as _;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Mutex, OnceLock};

    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    static CAPTURED: Mutex<String> = Mutex::new(String::new());

    struct Capture {
        next_id: AtomicU64,
    }

    struct Text<'a>(&'a mut String);

    impl Visit for Text<'_> {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }

    fn capture(name: &str, visit: impl FnOnce(&mut Text<'_>)) {
        let mut line = format!("{name}:");
        visit(&mut Text(&mut line));
        let mut captured = CAPTURED.lock().unwrap();
        captured.push_str(&line);
        captured.push('\n');
    }

    impl Subscriber for Capture {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
            Some(tracing::level_filters::LevelFilter::TRACE)
        }
        fn new_span(&self, span: &Attributes<'_>) -> Id {
            capture(span.metadata().name(), |t| span.record(t));
            Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed))
        }
        fn record(&self, _: &Id, values: &Record<'_>) {
            capture("record", |t| values.record(t));
        }
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            capture(event.metadata().target(), |t| event.record(t));
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    /// Starts capturing (once per test binary).
    pub fn start() {
        static STARTED: OnceLock<()> = OnceLock::new();
        STARTED.get_or_init(|| {
            let _ = tracing::subscriber::set_global_default(Capture {
                next_id: AtomicU64::new(1),
            });
        });
    }

    /// Everything logged so far.
    pub fn captured() -> String {
        CAPTURED.lock().unwrap().clone()
    }
}

fn assert_no_secret(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "the key appears in {what}: {text}");
    assert!(
        !text.contains("ThisKeyMustNever"),
        "part of the key appears in {what}: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_is_not_retried_and_not_tried_on_the_next_model() {
    let standin = StandIn::start([
        (TRPAKOV, Script::always(Behaviour::scores(&TRPAKOV_ANSWER))),
        (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
    ])
    .await;
    logs::start();
    let options = with_key(&standin, SECRET);
    assert_no_secret("the options' Debug", &format!("{options:?}"));
    let hf = HuggingFace::new(options).unwrap();
    assert_no_secret("the client's Debug", &format!("{hf:?}"));
    let (a, b) = (hf.model(TRPAKOV), hf.model(DIMA806));
    assert_no_secret("the model's Debug", &format!("{a:?}"));
    let engine = engine(&[&a, &b], false);

    let error = detect(&engine, request(&photo())).await.unwrap_err();
    assert!(
        matches!(error, Error::BackendUnauthorized { .. }),
        "expected BackendUnauthorized, got {error:?}"
    );
    assert_eq!(error.code(), "backend_unauthorized");
    assert_eq!(error.kind(), ErrorKind::Backend);
    assert_eq!(standin.hits(TRPAKOV), 1, "a 401 was retried");
    assert_eq!(
        standin.hits(DIMA806),
        0,
        "the bad token was tried on the next model"
    );
    assert_eq!(standin.last_auth(TRPAKOV), Some(format!("Bearer {SECRET}")));
    assert_state(&a, ModelState::Unauthorized);
    let status = a.status();
    assert!(status.last_error.is_some());
    let at = status.last_error_at.expect("the time of the last error");
    assert!((unix_now() - at).abs() < 60.0, "last_error_at {at}");
    assert_no_secret("the error", &error.to_string());
    assert_no_secret("the error's Debug", &format!("{error:?}"));
    assert_no_secret("the status", &format!("{status:?}"));
    assert_no_secret("the logs", &logs::captured());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_falls_back_to_the_local_model_only() {
    let standin = StandIn::start([
        (TRPAKOV, Script::always(Behaviour::scores(&TRPAKOV_ANSWER))),
        (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
    ])
    .await;
    let hf = HuggingFace::new(with_key(&standin, "hf_wrong")).unwrap();
    let (a, b) = (hf.model(TRPAKOV), hf.model(DIMA806));
    let engine = engine(&[&a, &b], true);
    for _ in 0..3 {
        let detection = detect(&engine, request(&photo())).await.unwrap();
        assert!(
            detection.model_used.starts_with("local/"),
            "{}",
            detection.model_used
        );
        assert!(detection.fallback);
    }
    assert_eq!(
        standin.hits(DIMA806),
        0,
        "the bad token was tried on the next model"
    );
    assert!(
        standin.hits(TRPAKOV) <= 1,
        "a known-bad token was sent {} times",
        standin.hits(TRPAKOV)
    );
    assert_state(&a, ModelState::Unauthorized);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_is_a_bad_token_too() {
    let standin = StandIn::start([
        (TRPAKOV, Script::always(Behaviour::Forbidden)),
        (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
    ])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let (a, b) = (hf.model(TRPAKOV), hf.model(DIMA806));
    let error = detect(&engine(&[&a, &b], false), request(&photo()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::BackendUnauthorized { .. }),
        "expected BackendUnauthorized, got {error:?}"
    );
    assert_eq!(standin.hits(TRPAKOV), 1, "a 403 was retried");
    assert_eq!(standin.hits(DIMA806), 0);
    assert_state(&a, ModelState::Unauthorized);

    let detection = detect(&engine(&[&a, &b], true), request(&photo()))
        .await
        .unwrap();
    assert!(detection.model_used.starts_with("local/"));
    assert!(detection.fallback);
    assert_eq!(standin.hits(DIMA806), 0);
}

// ---------------------------------------------------------------------------------------------
// 6. 402, 404, 410.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_credits_are_not_retried() {
    let standin = StandIn::start([(TRPAKOV, Script::always(Behaviour::PaymentRequired))]).await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let a = hf.model(TRPAKOV);
    let error = detect(&engine(&[&a], false), request(&photo()))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Backend);
    assert_eq!(standin.hits(TRPAKOV), 1, "a 402 was retried");
    assert_state(&a, ModelState::CreditsExhausted);
    assert!(
        a.status().last_error.is_some_and(|e| e.contains("credits")),
        "{:?}",
        a.status().last_error
    );

    let detection = detect(&engine(&[&a], true), request(&photo()))
        .await
        .unwrap();
    assert!(detection.model_used.starts_with("local/"));
    assert!(detection.fallback);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_not_deployed_is_marked_and_skipped() {
    let standin = StandIn::start([
        (TRPAKOV, Script::always(Behaviour::NotFound)),
        (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
    ])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let (a, b) = (hf.model(TRPAKOV), hf.model(DIMA806));
    let engine = engine(&[&a, &b], false);
    let detection = detect(&engine, request(&photo())).await.unwrap();
    assert_eq!(detection.model_used, DIMA806);
    assert!(detection.fallback);
    assert_scores(&detection, &DIMA806_ANSWER);
    assert_eq!(standin.hits(TRPAKOV), 1, "a 404 was retried");
    assert_state(&a, ModelState::NotDeployed);

    let detection = detect(&engine, request(&photo())).await.unwrap();
    assert_eq!(detection.model_used, DIMA806);
    assert_eq!(
        standin.hits(TRPAKOV),
        1,
        "the model known not to be deployed was asked again"
    );
    assert_eq!(standin.hits(DIMA806), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_endpoint_is_marked_and_the_next_model_answers() {
    let standin = StandIn::start([
        (TRPAKOV, Script::always(Behaviour::Gone)),
        (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
    ])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let (a, b) = (hf.model(TRPAKOV), hf.model(DIMA806));
    let detection = detect(&engine(&[&a, &b], false), request(&photo()))
        .await
        .unwrap();
    assert_eq!(detection.model_used, DIMA806);
    assert!(detection.fallback);
    assert_eq!(standin.hits(TRPAKOV), 1, "a 410 was retried");
    assert_state(&a, ModelState::Retired);
}

// ---------------------------------------------------------------------------------------------
// 7. 5xx.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_with_backoff() {
    let standin = StandIn::start([(
        TRPAKOV,
        Script::first(1, Behaviour::ServerError(500))
            .next(1, Behaviour::ServerError(502))
            .then(Behaviour::scores(&TRPAKOV_ANSWER)),
    )])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let a = hf.model(TRPAKOV);
    let detection = detect(&engine(&[&a], false), request(&photo()))
        .await
        .unwrap();
    assert_eq!(detection.model_used, TRPAKOV);
    assert!(!detection.fallback);
    assert_scores(&detection, &TRPAKOV_ANSWER);
    assert_eq!(standin.hits(TRPAKOV), 3);
    assert_state(&a, ModelState::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_without_estimated_time_is_a_server_error() {
    let standin = StandIn::start([(
        TRPAKOV,
        Script::first(1, Behaviour::ServerError(503)).then(Behaviour::scores(&TRPAKOV_ANSWER)),
    )])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let a = hf.model(TRPAKOV);
    let detection = detect(&engine(&[&a], false), request(&photo()))
        .await
        .unwrap();
    assert_eq!(detection.model_used, TRPAKOV);
    assert_eq!(standin.hits(TRPAKOV), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_keeps_failing_gives_way_to_the_next_after_its_retries() {
    let standin = StandIn::start([
        (TRPAKOV, Script::always(Behaviour::ServerError(500))),
        (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
    ])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let (a, b) = (hf.model(TRPAKOV), hf.model(DIMA806));
    let started = Instant::now();
    let detection = detect(&engine(&[&a, &b], false), request(&photo()))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(detection.model_used, DIMA806);
    assert!(detection.fallback);
    assert_eq!(standin.hits(TRPAKOV), MAX_RETRIES as usize + 1);
    assert_state(&a, ModelState::Failing);
    assert!(a.status().last_error.is_some_and(|e| e.contains("500")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_model_fails_the_error_says_the_backend_is_unavailable() {
    let standin = StandIn::start([
        (TRPAKOV, Script::always(Behaviour::ServerError(500))),
        (DIMA806, Script::always(Behaviour::NotFound)),
    ])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let (a, b) = (hf.model(TRPAKOV), hf.model(DIMA806));
    let error = detect(&engine(&[&a, &b], false), request(&photo()))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::BackendUnavailable { .. }),
        "expected BackendUnavailable, got {error:?}"
    );
    assert_eq!(error.code(), "backend_unavailable");
    assert_eq!(error.kind(), ErrorKind::Unavailable);
    let message = error.to_string();
    assert!(
        message.contains(TRPAKOV) && message.contains(DIMA806),
        "the error does not name the models tried: {message}"
    );

    // With the local model last in the chain, the frame is still answered.
    let detection = detect(&engine(&[&a, &b], true), request(&photo()))
        .await
        .unwrap();
    assert!(detection.model_used.starts_with("local/"));
    assert!(detection.fallback);
}

// ---------------------------------------------------------------------------------------------
// 8. Timeouts and malformed answers.

async fn times_out_then_next_model(behaviour: Behaviour) {
    let standin = StandIn::start([
        (TRPAKOV, Script::always(behaviour)),
        (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
    ])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let (a, b) = (hf.model(TRPAKOV), hf.model(DIMA806));
    let started = Instant::now();
    let detection = detect(&engine(&[&a, &b], false), request(&photo()))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(detection.model_used, DIMA806);
    assert!(detection.fallback);
    let hits = standin.hits(TRPAKOV);
    assert!(
        (1..=MAX_RETRIES as usize + 1).contains(&hits),
        "{hits} tries"
    );
    // Each try is bounded by the request timeout, plus the backoff between tries.
    let bound = REQUEST_TIMEOUT * hits as u32 + Duration::from_millis(2000);
    assert!(
        elapsed < bound,
        "{hits} tries took {elapsed:?} (bound {bound:?})"
    );
    assert!(
        elapsed >= REQUEST_TIMEOUT - Duration::from_millis(50),
        "{elapsed:?}"
    );
    assert_eq!(state(&a), ModelState::Failing);
    assert!(a.status().last_error.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_never_answers_times_out() {
    times_out_then_next_model(Behaviour::Hang).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_ends_times_out() {
    times_out_then_next_model(Behaviour::EndlessBody).await;
}

async fn malformed_then_next_model(behaviour: Behaviour, shown: &str) {
    let standin = StandIn::start([
        (TRPAKOV, Script::always(behaviour)),
        (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
    ])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let (a, b) = (hf.model(TRPAKOV), hf.model(DIMA806));

    let error = within(LIMIT, "classify", a.classify(face_jpeg()))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Backend);
    assert!(
        error.to_string().contains(shown),
        "the error does not say what came ({shown}): {error}"
    );

    let detection = detect(&engine(&[&a, &b], false), request(&photo()))
        .await
        .unwrap();
    assert_eq!(detection.model_used, DIMA806);
    assert!(detection.fallback);
    let last_error = a.status().last_error.unwrap_or_default();
    assert!(last_error.contains(shown), "{last_error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_json_is_an_error_that_says_what_came() {
    malformed_then_next_model(Behaviour::Malformed, r#"{"not": "a list""#).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_that_is_not_the_list_is_an_error_that_says_what_came() {
    malformed_then_next_model(Behaviour::NotAList, r#"{"not":"a list"}"#).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_page_is_an_error_that_says_what_came() {
    malformed_then_next_model(
        Behaviour::Raw {
            status: 200,
            content_type: "text/html",
            body: "<html><body>Bad gateway at the edge</body></html>".into(),
        },
        "Bad gateway at the edge",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scores_that_are_not_numbers_are_an_error() {
    malformed_then_next_model(
        Behaviour::Raw {
            status: 200,
            content_type: "application/json",
            body: r#"[{"label": "happy", "score": "high"}]"#.into(),
        },
        "high",
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// 9. The circuit breaker.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_after_repeated_failures_and_closes_on_recovery() {
    let standin = StandIn::start([
        (TRPAKOV, Script::always(Behaviour::ServerError(500))),
        (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
    ])
    .await;
    let hf = HuggingFace::new(HuggingFaceOptions {
        max_retries: 0,
        ..options(&standin)
    })
    .unwrap();
    let (a, b) = (hf.model(TRPAKOV), hf.model(DIMA806));
    let engine = engine(&[&a, &b], false);

    // breaker_threshold failures in a row, each one try.
    for i in 1..=3 {
        let detection = detect(&engine, request(&photo())).await.unwrap();
        assert_eq!(detection.model_used, DIMA806);
        assert_eq!(standin.hits(TRPAKOV), i);
    }
    // Open: skipped.
    for _ in 0..3 {
        let detection = detect(&engine, request(&photo())).await.unwrap();
        assert_eq!(detection.model_used, DIMA806);
    }
    assert_eq!(
        standin.hits(TRPAKOV),
        3,
        "the open breaker let requests through"
    );
    assert_state(&a, ModelState::CircuitOpen);

    // After the cool-down, one probe; it fails and the breaker opens again.
    tokio::time::sleep(BREAKER_COOLDOWN + Duration::from_millis(100)).await;
    detect(&engine, request(&photo())).await.unwrap();
    assert_eq!(standin.hits(TRPAKOV), 4, "no probe after the cool-down");
    detect(&engine, request(&photo())).await.unwrap();
    assert_eq!(
        standin.hits(TRPAKOV),
        4,
        "the failed probe did not reopen the breaker"
    );

    // The model recovers: the next probe closes the breaker and it answers again.
    standin.set(TRPAKOV, Behaviour::scores(&TRPAKOV_ANSWER));
    tokio::time::sleep(BREAKER_COOLDOWN + Duration::from_millis(100)).await;
    let detection = detect(&engine, request(&photo())).await.unwrap();
    assert_eq!(detection.model_used, TRPAKOV);
    assert!(!detection.fallback);
    assert_state(&a, ModelState::Ready);
    let detection = detect(&engine, request(&photo())).await.unwrap();
    assert_eq!(detection.model_used, TRPAKOV);
    assert_eq!(standin.hits(TRPAKOV), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_cool_down_one_probe_goes_out_not_every_waiting_request() {
    let standin = StandIn::start([
        (TRPAKOV, Script::always(Behaviour::ServerError(500))),
        (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
    ])
    .await;
    let hf = HuggingFace::new(HuggingFaceOptions {
        max_retries: 0,
        ..options(&standin)
    })
    .unwrap();
    let (a, b) = (hf.model(TRPAKOV), hf.model(DIMA806));
    let engine = engine(&[&a, &b], false);
    for _ in 0..3 {
        detect(&engine, request(&photo())).await.unwrap();
    }
    assert_state(&a, ModelState::CircuitOpen);
    // The probe is slow to fail; meanwhile other requests arrive (the cache is off, so they
    // are not coalesced).
    standin.set(
        TRPAKOV,
        Behaviour::ServerError(500).delayed(Duration::from_millis(200)),
    );
    tokio::time::sleep(BREAKER_COOLDOWN + Duration::from_millis(100)).await;
    let photo = photo();
    let detections = within(
        LIMIT,
        "6 concurrent detects",
        futures::future::join_all((0..6).map(|_| engine.detect(request(&photo)))),
    )
    .await;
    for d in detections {
        assert_eq!(d.unwrap().model_used, DIMA806);
    }
    assert_eq!(
        standin.hits(TRPAKOV),
        4,
        "a half-open breaker let every waiting request through instead of one probe"
    );
}

// ---------------------------------------------------------------------------------------------
// 10. The cache and request coalescing in front of the remote calls.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_frames_cost_one_remote_call() {
    let standin = StandIn::start([(
        TRPAKOV,
        Script::always(Behaviour::scores(&TRPAKOV_ANSWER).delayed(Duration::from_millis(300))),
    )])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let a = hf.model(TRPAKOV);
    let engine = Engine::builder()
        .model(Arc::clone(&a) as Arc<dyn Classifier>)
        .fallback_local(false)
        .build()
        .unwrap();
    let photo = photo();

    // Eight at once, while the first is still on its way: one call, shared.
    let detections = within(
        LIMIT,
        "8 concurrent detects",
        futures::future::join_all((0..8).map(|_| engine.detect(request(&photo)))),
    )
    .await;
    let detections: Vec<Detection> = detections.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        standin.hits(TRPAKOV),
        1,
        "identical concurrent frames were not coalesced"
    );
    let shared = detections.iter().filter(|d| d.primary().cached).count();
    assert!(shared >= 7, "only {shared} of 8 say they shared a result");
    for d in &detections {
        assert_scores(d, &TRPAKOV_ANSWER);
        assert_eq!(d.model_used, TRPAKOV);
    }

    // The same frame again: from the cache.
    let detection = detect(&engine, request(&photo)).await.unwrap();
    assert!(detection.primary().cached);
    assert_eq!(standin.hits(TRPAKOV), 1);
    assert_eq!(detection.model_used, TRPAKOV);
}

// ---------------------------------------------------------------------------------------------
// 11. The chain, and choosing a model per request.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_falls_through_and_a_request_may_name_its_model() {
    let standin = StandIn::start([
        (TRPAKOV, Script::always(Behaviour::ServerError(500))),
        (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
        (
            RICKYIG,
            Script::always(Behaviour::scores(&RICKYIG_CONTEMPT_LOW)),
        ),
    ])
    .await;
    let hf = HuggingFace::new(HuggingFaceOptions {
        max_retries: 0,
        breaker_threshold: 100,
        ..options(&standin)
    })
    .unwrap();
    let (a, b, c) = (hf.model(TRPAKOV), hf.model(DIMA806), hf.model(RICKYIG));
    let engine = engine(&[&a, &b, &c], true);
    let ids: Vec<&str> = engine.models().map(|m| m.id()).collect();
    assert_eq!(&ids[..3], [TRPAKOV, DIMA806, RICKYIG]);

    let detection = detect(&engine, request(&photo())).await.unwrap();
    assert_eq!(detection.model_used, DIMA806);
    assert!(detection.fallback);
    assert_scores(&detection, &DIMA806_ANSWER);
    assert_eq!(standin.hits(RICKYIG), 0);

    // A named model answers alone, and is no fallback.
    let (hits_a, hits_b) = (standin.hits(TRPAKOV), standin.hits(DIMA806));
    let detection = detect(&engine, request(&photo()).with_model(RICKYIG))
        .await
        .unwrap();
    assert_eq!(detection.model_used, RICKYIG);
    assert!(!detection.fallback);
    assert_scores(&detection, &RICKYIG_CONTEMPT_LOW);
    assert_eq!(standin.hits(TRPAKOV), hits_a);
    assert_eq!(standin.hits(DIMA806), hits_b);

    // A named model that fails is an error: no other model answers in its name.
    let error = detect(&engine, request(&photo()).with_model(TRPAKOV))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Backend, "{error:?}");
    assert_eq!(standin.hits(DIMA806), hits_b);
    assert_eq!(standin.hits(RICKYIG), 1);

    // An id outside the chain is the caller's mistake.
    let error = detect(&engine, request(&photo()).with_model("nobody/nothing"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::UnknownModel { .. }), "{error:?}");
}

// ---------------------------------------------------------------------------------------------
// 12. Warm-up.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_up_sets_every_state_without_blocking() {
    const HANGS: &str = "someone/hangs";
    let standin = StandIn::start([
        (TRPAKOV, Script::always(Behaviour::scores(&TRPAKOV_ANSWER))),
        (DIMA806, Script::always(Behaviour::NotFound)),
        (HANGS, Script::always(Behaviour::Hang)),
    ])
    .await;
    let hf = HuggingFace::new(options(&standin)).unwrap();
    let (a, b, c) = (hf.model(TRPAKOV), hf.model(DIMA806), hf.model(HANGS));
    for m in [&a, &b, &c] {
        assert_state(m, ModelState::Unknown);
    }
    let started = Instant::now();
    let bound = REQUEST_TIMEOUT * 3 + Duration::from_millis(500);
    within(bound, "warm_up", hf.warm_up()).await;
    assert_state(&a, ModelState::Ready);
    assert_state(&b, ModelState::NotDeployed);
    assert_ne!(state(&c), ModelState::Ready);
    assert!(started.elapsed() < bound);
    for model in [TRPAKOV, DIMA806, HANGS] {
        assert_eq!(
            standin.hits(model),
            1,
            "warm-up sent {model} more than one request"
        );
        assert_eq!(standin.last_auth(model).as_deref(), Some("Bearer good"));
    }

    // A bad token shows at warm-up.
    let bad = HuggingFace::new(with_key(&standin, "hf_wrong")).unwrap();
    let d = bad.model(RICKYIG);
    within(bound, "warm_up", bad.warm_up()).await;
    assert_state(&d, ModelState::Unauthorized);
}

/// Dropping the engine and the client frees the models: nothing of them stays behind (the
/// model list of the client holds them weakly; the C ABI's valgrind run looks for this).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_engine_leaves_no_model_behind() {
    let standin =
        StandIn::start([(TRPAKOV, Script::always(Behaviour::scores(&TRPAKOV_ANSWER)))]).await;
    for key in [GOOD_TOKEN, "hf_wrong", "closed port"] {
        let mut options = with_key(&standin, key);
        if key == "closed port" {
            options.base_url = "http://127.0.0.1:9".into();
        }
        let hf = HuggingFace::new(options).unwrap();
        let model = hf.model(TRPAKOV);
        let watch = Arc::downgrade(&model);
        // With the result cache on, as the bindings build it.
        let engine = Engine::builder()
            .model(Arc::clone(&model) as Arc<dyn Classifier>)
            .workers(1)
            .build()
            .unwrap();
        let answer = detect(&engine, request(&photo())).await;
        assert_eq!(answer.is_ok(), key == GOOD_TOKEN, "{answer:?}");
        drop((engine, model, hf));
        assert!(
            watch.upgrade().is_none(),
            "the model outlived its engine ({key})"
        );
    }
}

/// The same from a thread outside any runtime, as a C or Python caller blocks on one.
#[test]
fn a_dropped_engine_leaves_no_model_behind_when_called_from_outside_the_runtime() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (engine, watch) = {
        let _guard = rt.enter();
        let hf = HuggingFace::new(HuggingFaceOptions {
            api_key: GOOD_TOKEN.into(),
            base_url: "http://127.0.0.1:9".into(),
            ..HuggingFaceOptions::default()
        })
        .unwrap();
        let model = hf.model(TRPAKOV);
        let watch = Arc::downgrade(&model);
        let engine = Engine::builder()
            .model(model as Arc<dyn Classifier>)
            .workers(1)
            .build()
            .unwrap();
        (engine, watch)
    };
    let answer = rt.block_on(engine.detect(request(&photo())));
    assert!(answer.is_err());
    drop(engine);
    assert!(watch.upgrade().is_none(), "the model outlived its engine");
}
