//! The application: shared state, the router with its layers, and the small read-only routes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use emotion_core::Engine;
use emotion_core::ratelimit::RateLimiter;
use futures::StreamExt as _;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use crate::config::{Config, Origins};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::{api, web, ws};

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    pub engine: Engine,
    pub config: Config,
    pub limiter: RateLimiter<IpAddr>,
    pub metrics: Metrics,
    pub started: Instant,
    /// Cancelled at shutdown: WebSockets close with 1001.
    pub shutdown: CancellationToken,
    /// The WebSocket tasks, awaited at shutdown.
    pub streams: TaskTracker,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    pub fn new(engine: Engine, config: Config) -> SharedState {
        Arc::new(AppState {
            limiter: RateLimiter::per_minute(config.rate_limit_per_minute),
            metrics: Metrics::new(engine.clone()),
            engine,
            config,
            started: Instant::now(),
            shutdown: CancellationToken::new(),
            streams: TaskTracker::new(),
        })
    }

    /// The client a request counts against: the peer, or the first `X-Forwarded-For` hop when
    /// the server sits behind a trusted proxy.
    pub fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        if self.config.trust_proxy {
            let forwarded = headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok());
            if let Some(ip) = forwarded {
                return ip;
            }
        }
        peer.ip()
    }

    /// Whether the request carries one of `API_KEYS` (always true when none is configured).
    /// Keys come as `Authorization: Bearer`, `X-API-Key`, or (for browsers' WebSockets, which
    /// cannot set headers) an `api_key` query parameter.
    pub fn authorised(&self, headers: &HeaderMap, query: Option<&str>) -> bool {
        if self.config.api_keys.is_empty() {
            return true;
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let header_key = headers.get("x-api-key").and_then(|v| v.to_str().ok());
        let query_key =
            query.and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("api_key=")));
        let Some(given) = bearer.or(header_key).or(query_key) else {
            return false;
        };
        // Compare against every key, each in constant time, without stopping at a match, so
        // timing tells nothing.
        let given = given.trim();
        self.config
            .api_keys
            .iter()
            .fold(false, |found, key| key.matches(given) | found)
    }
}

/// The whole router, with its layers.
pub fn router(state: SharedState) -> Router {
    let detect_limit = api::json_body_limit(state.config.max_image_size, 1);
    let batch_limit =
        api::json_body_limit(state.config.max_image_size, state.config.max_batch_size);
    let api = Router::new()
        .route("/api/status", get(status))
        .route("/api/models", get(models))
        .route(
            "/api/detect",
            post(api::detect).layer(axum::extract::DefaultBodyLimit::max(detect_limit)),
        )
        .route(
            "/api/detect/upload",
            post(api::upload).layer(axum::extract::DefaultBodyLimit::max(detect_limit)),
        )
        .route(
            "/api/detect/batch",
            post(api::batch).layer(axum::extract::DefaultBodyLimit::max(batch_limit)),
        )
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn_with_state(state.clone(), require_key))
        .layer(middleware::from_fn_with_state(state.clone(), time_limit));
    let mut app = Router::new()
        .merge(api)
        .route("/health", get(health))
        .route("/ws", get(ws::upgrade));
    if state.config.enable_metrics {
        app = app.route("/metrics", get(metrics));
    }
    app.route("/", get(web::index))
        .fallback(web::asset)
        .method_not_allowed_fallback(|method: Method| async move {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{method} is not allowed on this route"),
            )
        })
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(CompressionLayer::new())
        .layer(cors(&state.config.cors_origins))
        .with_state(state)
}

fn cors(origins: &Origins) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::HeaderName::from_static("x-api-key"),
        ]);
    match origins {
        Origins::Any => layer.allow_origin(Any),
        Origins::List(list) => layer.allow_origin(AllowOrigin::list(
            list.iter().filter_map(|o| HeaderValue::from_str(o).ok()),
        )),
    }
}

/// One log line and one metric sample per request.
async fn observe(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let path = request.uri().path().to_owned();
    let has_body = request.headers().contains_key(header::TRANSFER_ENCODING)
        || request
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v != "0");
    let mut response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status();
    // A refusal (401, 413, 429, ...) may come before the body was read; the connection cannot
    // carry another request then, so say so rather than let the client's next request fail.
    if has_body && status.is_client_error() {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    state.metrics.record_request(
        method.as_str(),
        &route,
        status.as_u16(),
        elapsed.as_secs_f64(),
    );
    tracing::info!(
        method = %method,
        path = %path,
        status = status.as_u16(),
        latency_ms = elapsed.as_secs_f64() * 1e3,
        "request"
    );
    response
}

/// `REQUEST_TIMEOUT` for an API request, answered in the API's error shape (tower-http's
/// timeout layer answers with an empty body).
async fn time_limit(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    let limit = state.config.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the request was not complete within {} s", limit.as_secs()),
        )
        .into_response(),
    }
}

async fn require_key(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    if state.authorised(request.headers(), request.uri().query()) {
        return next.run(request).await;
    }
    discard_body(&state, request).await;
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a valid API key is required: send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
    )
    .into_response()
}

/// Reads and throws away the body of a request refused before its handler ran, up to the
/// largest body any route accepts (`time_limit` bounds how long). Closing a socket with unread
/// bytes in it resets the connection, and the client would see a broken pipe instead of the
/// 401 or 429 it was sent.
async fn discard_body(state: &AppState, request: Request) {
    let limit = api::json_body_limit(state.config.max_image_size, state.config.max_batch_size);
    let mut data = request.into_body().into_data_stream();
    let mut read = 0;
    while let Some(Ok(chunk)) = data.next().await {
        read += chunk.len();
        if read > limit {
            break;
        }
    }
}

async fn rate_limit(
    State(state): State<SharedState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let client = state.client_ip(peer, request.headers());
    match state.limiter.check(&client) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            discard_body(&state, request).await;
            ApiError::rate_limited(wait).into_response()
        }
    }
}

/// Resident memory of this process in MB, from `/proc` (Linux); `None` elsewhere.
pub fn rss_mb() -> Option<f64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096.0 / (1024.0 * 1024.0))
}

async fn health(State(state): State<SharedState>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": state.started.elapsed().as_secs_f64().round(),
        "backend": state.config.backend_name(),
        "memory_rss_mb": rss_mb(),
    }))
}

fn model_list(state: &AppState) -> Vec<serde_json::Value> {
    state
        .engine
        .models()
        .enumerate()
        .map(|(i, m)| {
            let status = m.status();
            json!({
                "id": m.id(),
                "kind": m.kind(),
                "state": status.state,
                "default": i == 0,
                "last_error": status.last_error,
                "last_error_at": status.last_error_at,
                "calls": status.calls,
            })
        })
        .collect()
}

async fn models(State(state): State<SharedState>) -> Json<serde_json::Value> {
    Json(json!({"success": true, "models": model_list(&state)}))
}

async fn status(State(state): State<SharedState>) -> Json<serde_json::Value> {
    let config = &state.config;
    Json(json!({
        "success": true,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_s": state.started.elapsed().as_secs_f64().round(),
        "backend": {"name": config.backend_name(), "models": model_list(&state)},
        "workers": state.engine.workers(),
        "cache": state.engine.cache_stats(),
        "rate_limit": {
            "requests_per_minute": config.rate_limit_per_minute.get(),
            "ws_max_fps": config.ws_max_fps.get(),
            "clients_tracked": state.limiter.tracked_keys(),
        },
        "limits": {"max_image_size": config.max_image_size, "max_batch_size": config.max_batch_size},
        "requests_served": state.metrics.detections_served(),
        "latency_ms": state.metrics.percentiles(),
        "websocket_streams": state.metrics.ws_open.get(),
        "memory_rss_mb": rss_mb(),
    }))
}

async fn metrics(State(state): State<SharedState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(_) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the metrics could not be encoded",
        )
        .into_response(),
    }
}
