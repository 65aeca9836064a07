//! The detection routes: `/api/detect` (JSON), `/api/detect/upload` (multipart) and
//! `/api/detect/batch`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Multipart, State, multipart::MultipartRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use emotion_core::detection::DetectionView;
use emotion_core::{DetectRequest, Detection, FaceBox, Frame};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::{AppState, SharedState};
use crate::error::ApiError;

/// Body bytes allowed for `images` base64 images of `max_image_size` bytes, plus the JSON around them.
pub fn json_body_limit(max_image_size: usize, images: usize) -> usize {
    images * (max_image_size.div_ceil(3) * 4 + 64) + 64 * 1024
}

/// A successful answer: `success: true` and the body's fields beside it.
#[derive(Debug, Serialize)]
pub struct Success<T: Serialize> {
    pub success: bool,
    #[serde(flatten)]
    pub body: T,
}

/// A Detection in the API's shape, serialised straight from the engine's value.
pub fn detection_json(detection: &Detection, all_scores: bool) -> Response {
    Json(Success {
        success: true,
        body: detection.view(all_scores),
    })
    .into_response()
}

#[derive(Serialize)]
struct BatchAnswer<'a> {
    success: bool,
    count: usize,
    results: Vec<Slot<'a>>,
}

/// One slot of a batch answer: a Detection, or the error of that image alone.
#[derive(Serialize)]
#[serde(untagged)]
enum Slot<'a> {
    Detected(Success<DetectionView<'a>>),
    Failed { success: bool, error: Value },
}

/// The options every detection route shares.
#[derive(Debug, Default, Deserialize)]
pub struct Options {
    pub face_bounds: Option<FaceBox>,
    /// Several faces at once (in pixels or relative, like `face_bounds`).
    pub faces_bounds: Option<Vec<FaceBox>>,
    pub return_all_scores: Option<bool>,
    pub model: Option<String>,
}

impl Options {
    pub fn all_scores(&self) -> bool {
        self.return_all_scores.unwrap_or(true)
    }

    pub fn request(&self, frame: Frame) -> DetectRequest {
        let mut request = DetectRequest::new(frame);
        request.faces.extend(self.face_bounds);
        request
            .faces
            .extend(self.faces_bounds.iter().flatten().copied());
        request.model.clone_from(&self.model);
        request
    }
}

#[derive(Debug, Deserialize)]
pub struct DetectBody {
    pub image: String,
    #[serde(flatten)]
    pub options: Options,
}

async fn run(state: &AppState, request: DetectRequest) -> Result<Detection, ApiError> {
    let detection = state.engine.detect(request).await?;
    state.metrics.record_detection(detection.processing_ms);
    Ok(detection)
}

pub async fn detect(
    State(state): State<SharedState>,
    body: Result<Json<DetectBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let request = body.options.request(Frame::Base64(body.image));
    let detection = run(&state, request).await?;
    Ok(detection_json(&detection, body.options.all_scores()))
}

pub async fn upload(
    State(state): State<SharedState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let mut multipart = multipart.map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_content_type",
            format!(
                "send multipart/form-data with a `file` field: {}",
                e.body_text()
            ),
        )
    })?;
    let mut file = None;
    let mut options = Options::default();
    while let Some(field) = multipart.next_field().await? {
        match field.name().unwrap_or_default() {
            "file" => file = Some(field.bytes().await?.to_vec()),
            "face_bounds" => {
                let text = field.text().await?;
                options.face_bounds = Some(serde_json::from_str(&text).map_err(|e| {
                    ApiError::bad_request(
                        "invalid_face_bounds",
                        format!(
                            "face_bounds must be JSON {{\"x\",\"y\",\"width\",\"height\"}}: {e}"
                        ),
                    )
                })?);
            }
            "return_all_scores" => {
                let text = field.text().await?;
                options.return_all_scores =
                    Some(matches!(text.trim(), "true" | "1" | "yes" | "on"));
            }
            "model" => options.model = Some(field.text().await?),
            _ => {}
        }
    }
    let file = file.ok_or_else(|| {
        ApiError::bad_request(
            "missing_file",
            "the form has no `file` field with the image",
        )
    })?;
    let detection = run(&state, options.request(Frame::Encoded(file))).await?;
    Ok(detection_json(&detection, options.all_scores()))
}

#[derive(Debug, Deserialize)]
pub struct BatchBody {
    pub images: Vec<String>,
    pub return_all_scores: Option<bool>,
    pub model: Option<String>,
}

pub async fn batch(
    State(state): State<SharedState>,
    body: Result<Json<BatchBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let max = state.config.max_batch_size;
    if body.images.is_empty() {
        return Err(ApiError::bad_request("empty_batch", "`images` is empty"));
    }
    if body.images.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("{} images sent, at most {max} per batch", body.images.len()),
        ));
    }
    let options = Options {
        return_all_scores: body.return_all_scores,
        model: body.model,
        ..Options::default()
    };
    let requests = body
        .images
        .into_iter()
        .map(|image| options.request(Frame::Base64(image)))
        .collect();
    let outcomes = state.engine.detect_batch(requests).await;
    let results: Vec<Slot<'_>> = outcomes
        .iter()
        .map(|outcome| match outcome {
            Ok(detection) => {
                state.metrics.record_detection(detection.processing_ms);
                Slot::Detected(Success {
                    success: true,
                    body: detection.view(options.all_scores()),
                })
            }
            Err(e) => Slot::Failed {
                success: false,
                error: ApiError::from(e.clone()).body(),
            },
        })
        .collect();
    Ok(Json(BatchAnswer {
        success: true,
        count: results.len(),
        results,
    })
    .into_response())
}
