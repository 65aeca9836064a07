//! What the server adds to a Hugging Face call: a stand-in Inference API on loopback answers
//! at once, and we time (a) the raw call a client would make to it and (b) the same face through
//! `POST /api/detect` of a server whose chain is that stand-in (cache off). (b) - (a) is the cost
//! of the server: HTTP, decoding, cropping, the JPEG crop, the label mapping.

// A bench that cannot set up should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::routing::post;
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use emotion_core::face::CropRegion;
use emotion_core::frame::Channels;
use emotion_core::preprocess::rgb_jpeg;
use emotion_core::{Frame, Limits, PixelBox};
use serde_json::{Value, json};

/// Answers every model like trpakov/vit-face-expression does.
async fn stand_in() -> String {
    let answer = || async {
        Json(json!([
            {"label": "happy", "score": 0.91}, {"label": "neutral", "score": 0.04},
            {"label": "surprise", "score": 0.02}, {"label": "sad", "score": 0.01},
            {"label": "angry", "score": 0.01}, {"label": "fear", "score": 0.005},
            {"label": "disgust", "score": 0.005}
        ]))
    };
    let app = axum::Router::new().route("/models/{*model}", post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/models", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn server(hf_url: &str) -> String {
    let vars: HashMap<&str, String> = HashMap::from([
        ("HF_API_KEY", "bench".to_owned()),
        ("HF_API_URL", hf_url.to_owned()),
        ("CACHE_MAX_ENTRIES", "0".to_owned()),
        ("RATE_LIMIT_REQUESTS", "100000000".to_owned()),
    ]);
    let config = emotion_server::config::Config::from_lookup(|k| vars.get(k).cloned()).unwrap();
    let (engine, _) = emotion_server::serve::engine(&config).unwrap();
    let state = emotion_server::app::AppState::new(engine, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(emotion_server::serve::serve(
        listener,
        state,
        std::future::pending(),
    ));
    url
}

fn overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (hf, ours) = runtime.block_on(async {
        let hf = stand_in().await;
        let ours = server(&hf).await;
        (hf, ours)
    });
    let client = emotion_core::http::client_builder()
        .unwrap()
        .build()
        .unwrap();
    let photo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/faces/astronaut.jpg"
    ))
    .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&photo);
    let face = json!({"x": 178, "y": 66, "width": 94, "height": 102});
    // The raw call carries exactly what our client sends: the face crop as a JPEG.
    let image = Frame::Encoded(photo.clone())
        .decode(&Limits::default(), Channels::Color)
        .unwrap();
    let face_box = PixelBox {
        x: 178,
        y: 66,
        width: 94,
        height: 102,
    };
    let crop = rgb_jpeg(&image, &CropRegion::around_face(&face_box, 0.1)).unwrap();
    let answer: Value = runtime.block_on(async {
        client
            .post(format!("{ours}/api/detect"))
            .json(&json!({"image": b64, "face_bounds": face}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(
        answer["model_used"], "trpakov/vit-face-expression",
        "{answer}"
    );
    let raw_body = json!({
        "inputs": base64::engine::general_purpose::STANDARD.encode(&crop),
        "parameters": {"top_k": 7}
    })
    .to_string();
    let detect_body = json!({"image": b64, "face_bounds": face}).to_string();

    let mut group = c.benchmark_group("remote");
    group
        .sample_size(200)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("raw_call_to_stand_in", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let r = client
                    .post(format!("{hf}/trpakov/vit-face-expression"))
                    .bearer_auth("bench")
                    .header("content-type", "application/json")
                    .body(raw_body.clone())
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap()
            })
        })
    });
    group.bench_function("server_api_detect_through_stand_in", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let r = client
                    .post(format!("{ours}/api/detect"))
                    .header("content-type", "application/json")
                    .body(detect_body.clone())
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap()
            })
        })
    });
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
