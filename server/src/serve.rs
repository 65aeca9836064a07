//! Running the server: engine from the configuration, listener, graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use emotion_core::classify::huggingface::{HuggingFace, HuggingFaceOptions};
use emotion_core::{Engine, Limits};
use tokio::net::TcpListener;

use crate::app::{AppState, SharedState, router};
use crate::config::Config;

/// How long WebSocket streams get to finish after the shutdown signal.
const STREAM_GRACE: Duration = Duration::from_secs(5);

/// The engine a configuration asks for, and the Hugging Face client when its chain runs.
pub fn engine(config: &Config) -> emotion_core::Result<(Engine, Option<HuggingFace>)> {
    let mut builder = Engine::builder()
        .workers(config.workers)
        .limits(Limits {
            max_bytes: config.max_image_size,
            ..Limits::default()
        })
        .cache(config.cache_max_entries, config.cache_ttl)
        .face_detector(config.face_detector)
        .max_faces(config.max_faces)
        .min_face_size(config.min_face_size);
    let mut remote = None;
    if let (true, Some(key)) = (config.uses_huggingface(), &config.hf_api_key) {
        let hf = HuggingFace::new(HuggingFaceOptions {
            api_key: key.clone(),
            base_url: config.hf_api_url.clone(),
            ..HuggingFaceOptions::default()
        })?;
        for id in std::iter::once(&config.hf_model_id).chain(&config.hf_fallback_models) {
            builder = builder.model(hf.model(id));
        }
        builder = builder.fallback_local(config.hf_fallback_local);
        remote = Some(hf);
    }
    Ok((builder.build()?, remote))
}

/// Serves `state` on `listener` until `shutdown` completes; then stops accepting, finishes the
/// requests in flight, and closes WebSockets with 1001 (going away).
pub async fn serve(
    listener: TcpListener,
    state: SharedState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    let forget = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                state.limiter.forget_idle();
            }
        })
    };
    let token = state.shutdown.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing requests in flight, closing streams");
        token.cancel();
    };
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(signal)
    .await;
    state.shutdown.cancel();
    state.streams.close();
    if tokio::time::timeout(STREAM_GRACE, state.streams.wait())
        .await
        .is_err()
    {
        tracing::warn!("some WebSocket streams did not close in time");
    }
    forget.abort();
    served
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Starts the server from the environment's configuration (the `serve` command).
pub async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let (engine, remote) = engine(&config)?;
    if let Some(hf) = remote {
        // In the background: start-up never waits on the network.
        tokio::spawn(async move { hf.warm_up().await });
    }
    let address = SocketAddr::new(config.host, config.port);
    let listener = TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}: {e}"))?;
    let local = listener.local_addr()?;
    tracing::info!(
        address = %local,
        workers = config.workers,
        model = engine.models().next().map(|m| m.id()).unwrap_or_default(),
        "emotion-server listening on http://{local}"
    );
    let state = AppState::new(engine, config);
    serve(listener, state, shutdown_signal()).await?;
    Ok(())
}
