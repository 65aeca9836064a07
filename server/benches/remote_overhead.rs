//! What the server adds to a Hugging Face call: a stand-in Inference API on loopback answers
//! at once, and we time (a) the raw call a client would make to it and (b) the same face through
//! `POST /api/detect` of a server whose chain is that stand-in (cache off). (b) - (a) is the cost
//! of the server: HTTP, decoding, cropping, the JPEG crop, the label mapping. After criterion's
//! medians, the same two under load ([`CLIENTS`] concurrent clients for [`LOAD`]): the server
//! side through the load tool of `emotion-server bench`, the raw side by a plain loop, each with
//! its percentiles and throughput.

// A bench that cannot set up should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Json;
use axum::routing::post;
use base64::Engine as _;
use clap::Parser as _;
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
    let detect_body: String = json!({"image": b64, "face_bounds": face}).to_string();

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
    // A whole 512x512 photo with its face box, and the face crop alone as the web page sends it.
    let crop_body = json!({"image": base64::engine::general_purpose::STANDARD.encode(&crop)});
    for (name, body) in [
        ("server_photo_with_box_through_stand_in", detect_body),
        ("server_face_crop_through_stand_in", crop_body.to_string()),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let r = client
                        .post(format!("{ours}/api/detect"))
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    assert!(r.status().is_success());
                    r.bytes().await.unwrap()
                })
            })
        });
    }
    group.finish();

    runtime.block_on(async {
        let raw = raw_load(
            &client,
            &format!("{hf}/trpakov/vit-face-expression"),
            &raw_body,
        )
        .await;
        println!("raw call under load: {raw}");
        let photo_path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/faces/astronaut.jpg"
        );
        let args = LoadTool::parse_from([
            "bench",
            "--url",
            &ours,
            "--image",
            photo_path,
            "--face",
            "178,66,94,102",
            "--streams",
            "0",
            "--rest-clients",
            &CLIENTS.to_string(),
            "--duration",
            &LOAD.as_secs_f64().to_string(),
        ]);
        let report = emotion_server::bench::run(args.args).await.unwrap();
        println!("server under load, through the load tool:\n{report}");
    });
}

/// Concurrent clients of the load phase.
const CLIENTS: usize = 4;
/// How long each load phase lasts.
const LOAD: Duration = Duration::from_secs(5);

/// The load tool's own arguments, as `emotion-server bench` reads them.
#[derive(clap::Parser)]
struct LoadTool {
    #[command(flatten)]
    args: emotion_server::bench::BenchArgs,
}

/// [`CLIENTS`] clients posting `body` to `url` back to back for [`LOAD`]: p50 and p99 latency in
/// milliseconds and calls per second.
async fn raw_load(client: &reqwest::Client, url: &str, body: &str) -> String {
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.to_owned(), body.to_owned());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while started.elapsed() < LOAD {
                    let sent = Instant::now();
                    let r = client
                        .post(&url)
                        .bearer_auth("bench")
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                        .unwrap();
                    assert!(r.status().is_success());
                    r.bytes().await.unwrap();
                    latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_by(f64::total_cmp);
    let at = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize];
    format!(
        "{} calls, {:.0} calls/s; latency ms p50 {:.3} p99 {:.3}",
        all.len(),
        all.len() as f64 / started.elapsed().as_secs_f64(),
        at(0.5),
        at(0.99)
    )
}

criterion_group!(benches, overhead);
criterion_main!(benches);
