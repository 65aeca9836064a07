//! The web app's files, embedded in the binary so that it needs nothing beside it.

use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::error::ApiError;

/// The page's own files, and the MediaPipe face detector installed from npm (`npm ci` in
/// `web/`): its script, the short-range model and its WebAssembly, served from our origin so
/// the page works with no internet.
#[derive(RustEmbed)]
#[folder = "../web/"]
#[include = "*.html"]
#[include = "*.css"]
#[include = "*.svg"]
#[include = "*.js"]
#[include = "node_modules/@mediapipe/face_detection/*"]
#[exclude = "node_modules/@mediapipe/face_detection/*full*"]
#[exclude = "node_modules/@mediapipe/face_detection/*.d.ts"]
#[exclude = "node_modules/@mediapipe/face_detection/*.md"]
#[exclude = "node_modules/@mediapipe/face_detection/package.json"]
#[exclude = "package*.json"]
struct Assets;

fn serve(path: &str) -> Response {
    match Assets::get(path) {
        Some(file) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, file.metadata.mimetype().to_owned()),
                (header::CACHE_CONTROL, "no-cache".to_owned()),
            ],
            file.data,
        )
            .into_response(),
        None => ApiError::not_found().into_response(),
    }
}

pub async fn index() -> Response {
    serve("index.html")
}

/// Any other path: a file of the web app for GET, else the API's 404.
pub async fn asset(method: Method, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    if method != Method::GET || path.starts_with("api/") {
        return ApiError::not_found().into_response();
    }
    serve(path)
}
