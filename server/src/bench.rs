//! `emotion-server bench`: a load tool. N WebSocket streams at F fps and M REST clients against
//! a running server for T seconds; prints counts, latency percentiles, throughput, peak RSS.

use std::fmt;

use emotion_core::FaceBox;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Base URL of the server.
    #[arg(long, default_value = "http://127.0.0.1:8000")]
    url: String,
    /// JPEG, PNG or WebP frames to send, in turn (real face images).
    #[arg(long = "image", required = true)]
    images: Vec<PathBuf>,
    /// The face box of each image, in order, as `x,y,width,height` (default: the whole image).
    #[arg(long = "face", value_parser = parse_box)]
    faces: Vec<FaceBox>,
    /// WebSocket streams.
    #[arg(long, default_value_t = 20)]
    streams: usize,
    /// Frames per second on each stream.
    #[arg(long, default_value_t = 30)]
    fps: u32,
    /// Concurrent REST clients, each sending `/api/detect` requests back to back.
    #[arg(long, default_value_t = 0)]
    rest_clients: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// API key, when the server requires one.
    #[arg(long)]
    api_key: Option<String>,
}

#[derive(Debug, Default)]
struct Stats {
    frames_sent: u64,
    results: u64,
    dropped: u64,
    ws_errors: u64,
    ws_latency_ms: Vec<f64>,
    rest_ok: u64,
    rest_errors: u64,
    rest_latency_ms: Vec<f64>,
    rss_idle_mb: Option<f64>,
    rss_peak_mb: f64,
}

/// The figures of one run.
#[derive(Debug)]
pub struct Report {
    args: String,
    seconds: f64,
    stats: Stats,
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        writeln!(f, "load: {} for {:.1} s", self.args, self.seconds)?;
        if s.frames_sent > 0 {
            let unanswered = s
                .frames_sent
                .saturating_sub(s.results + s.dropped + s.ws_errors);
            let l = &s.ws_latency_ms;
            writeln!(
                f,
                "websocket: {} frames sent, {} results, {} dropped (latest wins), {} errors, {} unanswered",
                s.frames_sent, s.results, s.dropped, s.ws_errors, unanswered
            )?;
            writeln!(
                f,
                "websocket: {:.1} results/s; result latency ms p50 {:.2} p95 {:.2} p99 {:.2} max {:.2}",
                s.results as f64 / self.seconds,
                percentile(l, 0.5),
                percentile(l, 0.95),
                percentile(l, 0.99),
                l.last().copied().unwrap_or(f64::NAN)
            )?;
        }
        if s.rest_ok + s.rest_errors > 0 {
            let l = &s.rest_latency_ms;
            writeln!(
                f,
                "rest: {} ok, {} errors; {:.1} detections/s; latency ms p50 {:.2} p95 {:.2} p99 {:.2}",
                s.rest_ok,
                s.rest_errors,
                s.rest_ok as f64 / self.seconds,
                percentile(l, 0.5),
                percentile(l, 0.95),
                percentile(l, 0.99)
            )?;
        }
        writeln!(
            f,
            "server rss: idle {:.1} MB, peak {:.1} MB",
            s.rss_idle_mb.unwrap_or(f64::NAN),
            s.rss_peak_mb
        )
    }
}

pub async fn run(args: BenchArgs) -> Result<Report, String> {
    let client = emotion_core::http::client_builder()
        .and_then(|b| {
            b.build()
                .map_err(|e| emotion_core::Error::Internal(e.to_string()))
        })
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let base = args.url.trim_end_matches('/').to_owned();
    let mut frames = Vec::new();
    for path in &args.images {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        frames.push(base64::engine::general_purpose::STANDARD.encode(bytes));
    }
    let auth = |r: reqwest::RequestBuilder| match &args.api_key {
        Some(k) => r.bearer_auth(k),
        None => r,
    };
    // One probe per image checks that the server takes it and gives the box it used.
    let mut boxes = Vec::new();
    for (i, image) in frames.iter().enumerate() {
        let answer: Value = auth(client.post(format!("{base}/api/detect")))
            .json(&json!({"image": image, "face_bounds": args.faces.get(i), "return_all_scores": false}))
            .send()
            .await
            .map_err(|e| format!("cannot reach {base}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("bad answer from {base}: {e}"))?;
        if answer["success"] != true {
            return Err(format!("the server refused the probe frame: {answer}"));
        }
        boxes.push(answer["face_bounds"].clone());
    }
    // Request bodies are made once: the load tool shares the cores with the server, so it
    // should spend as little of them as it can.
    let rest_bodies: Arc<Vec<String>> = Arc::new(
        frames
            .iter()
            .zip(&boxes)
            .map(|(image, face)| json!({"image": image, "face_bounds": face}).to_string())
            .collect(),
    );
    let frames = Arc::new(frames);
    let boxes = Arc::new(boxes);
    let stats = Arc::new(Mutex::new(Stats::default()));
    let deadline = Instant::now() + Duration::from_secs_f64(args.duration);
    let mut tasks = Vec::new();

    let rss = {
        let (client, stats, url) = (client.clone(), stats.clone(), format!("{base}/health"));
        tokio::spawn(async move {
            loop {
                let health = async {
                    client
                        .get(&url)
                        .send()
                        .await
                        .ok()?
                        .json::<Value>()
                        .await
                        .ok()
                };
                if let Some(mb) = health.await.and_then(|v| v["memory_rss_mb"].as_f64()) {
                    let mut s = stats.lock();
                    s.rss_idle_mb.get_or_insert(mb);
                    s.rss_peak_mb = s.rss_peak_mb.max(mb);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();

    for stream in 0..args.streams {
        let ws_url = format!(
            "{}/ws{}",
            base.replacen("http", "ws", 1),
            args.api_key
                .as_ref()
                .map(|k| format!("?api_key={k}"))
                .unwrap_or_default()
        );
        let (frames, boxes, stats) = (frames.clone(), boxes.clone(), stats.clone());
        let fps = args.fps;
        tasks.push(tokio::spawn(async move {
            let (socket, _) = tokio_tungstenite::connect_async(ws_url)
                .await
                .map_err(|e| e.to_string())?;
            let (mut tx, mut rx) = socket.split();
            let sent_at = Arc::new(Mutex::new(Vec::<Instant>::new()));
            let reader = {
                let (sent_at, stats) = (sent_at.clone(), stats.clone());
                tokio::spawn(async move {
                    while let Some(Ok(message)) = rx.next().await {
                        let Message::Text(text) = message else {
                            continue;
                        };
                        let Ok(v) = serde_json::from_str::<Value>(&text) else {
                            continue;
                        };
                        let at = v["frame_id"]
                            .as_u64()
                            .and_then(|i| sent_at.lock().get(i as usize).copied());
                        let mut s = stats.lock();
                        s.dropped += v["dropped_frames"].as_u64().unwrap_or(0);
                        match v["type"].as_str() {
                            Some("result") => {
                                s.results += 1;
                                if let Some(at) = at {
                                    s.ws_latency_ms.push(at.elapsed().as_secs_f64() * 1e3);
                                }
                            }
                            Some("error") => s.ws_errors += 1,
                            _ => {}
                        }
                    }
                })
            };
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(fps)));
            let mut n = 0u64;
            while Instant::now() < deadline {
                tick.tick().await;
                let i = (n as usize + stream) % frames.len();
                let message = format!(
                    r#"{{"type":"frame","data":{{"frame_id":{n},"face_bounds":{},"image":"{}"}}}}"#,
                    boxes[i], frames[i]
                );
                sent_at.lock().push(Instant::now());
                if tx.send(Message::Text(message.into())).await.is_err() {
                    break;
                }
                stats.lock().frames_sent += 1;
                n += 1;
            }
            // Let the last answers arrive, then close.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let _ = tx.close().await;
            reader.abort();
            Ok::<(), String>(())
        }));
    }

    for worker in 0..args.rest_clients {
        let (client, bodies, stats) = (client.clone(), rest_bodies.clone(), stats.clone());
        let url = format!("{base}/api/detect");
        let key = args.api_key.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = worker;
            while Instant::now() < deadline {
                let body = bodies[n % bodies.len()].clone();
                let mut request = client
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body);
                if let Some(k) = &key {
                    request = request.bearer_auth(k);
                }
                let start = Instant::now();
                let ok = matches!(request.send().await, Ok(r) if r.status().is_success());
                let ms = start.elapsed().as_secs_f64() * 1e3;
                let mut s = stats.lock();
                if ok {
                    s.rest_ok += 1;
                    s.rest_latency_ms.push(ms);
                } else {
                    s.rest_errors += 1;
                }
                n += 1;
            }
            Ok(())
        }));
    }

    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("a stream failed: {e}")),
            Err(e) => return Err(format!("a load task failed: {e}")),
        }
    }
    let seconds = started.elapsed().as_secs_f64().min(args.duration).max(1e-3);
    rss.abort();
    let mut stats = std::mem::take(&mut *stats.lock());
    stats.ws_latency_ms.sort_by(f64::total_cmp);
    stats.rest_latency_ms.sort_by(f64::total_cmp);
    Ok(Report {
        args: format!(
            "{} streams x {} fps, {} REST clients, {} image(s)",
            args.streams,
            args.fps,
            args.rest_clients,
            args.images.len()
        ),
        seconds,
        stats,
    })
}

/// A face box on the command line: `x,y,width,height`.
pub fn parse_box(text: &str) -> Result<FaceBox, String> {
    let values: Vec<f64> = text
        .split(',')
        .map(|v| v.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("`{text}`: {e}"))?;
    match values[..] {
        [x, y, width, height] => Ok(FaceBox {
            x,
            y,
            width,
            height,
        }),
        _ => Err(format!("`{text}` is not x,y,width,height")),
    }
}
