//! Every REST endpoint's success shape (DESIGN §3), against the real server on loopback with
//! real face photos.

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_status_version_uptime_backend_and_memory() {
    let server = TestServer::start().await;
    let body = expect_ok(
        client()
            .get(server.url("/health"))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"), "{body}");
    assert!(
        body["uptime_s"].as_f64().is_some_and(|s| s >= 0.0),
        "{body}"
    );
    assert_eq!(body["backend"], "local", "{body}");
    assert!(
        body["memory_rss_mb"].as_f64().is_some_and(|mb| mb > 1.0),
        "{body}"
    );
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_lists_the_backend_chain() {
    let server = TestServer::start().await;
    let body = expect_ok(
        client()
            .get(server.url("/api/models"))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    let models = body["models"].as_array().expect("models is a list");
    assert!(!models.is_empty(), "{body}");
    let first = &models[0];
    assert!(
        first["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("local")),
        "{body}"
    );
    assert_eq!(first["kind"], "local", "{body}");
    assert_eq!(first["state"], "ready", "{body}");
    assert!(first.get("last_error").is_some(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_cache_limits_requests_latency_and_streams() {
    let server = TestServer::start().await;
    let http = client();
    let detect = json!({"image": b64(&fixture("astronaut.jpg")), "face_bounds": astronaut_box()});
    for _ in 0..2 {
        expect_ok(
            http.post(server.url("/api/detect"))
                .json(&detect)
                .send()
                .await
                .expect("POST"),
        )
        .await;
    }
    // One stream open while the status is read.
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .expect("the WebSocket opens");
    let mut streams = 0;
    for _ in 0..50 {
        let body = expect_ok(
            http.get(server.url("/api/status"))
                .send()
                .await
                .expect("GET"),
        )
        .await;
        streams = body["websocket_streams"].as_i64().expect("a number");
        if streams == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(streams, 1, "the open WebSocket is counted");
    let body = expect_ok(
        http.get(server.url("/api/status"))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    let cache = &body["cache"];
    assert!(cache["entries"].is_u64(), "{body}");
    assert_eq!(cache["misses"], 1, "one computation: {body}");
    assert_eq!(cache["hits"], 1, "the repeat came from the cache: {body}");
    assert_eq!(body["rate_limit"]["requests_per_minute"], 100, "{body}");
    assert_eq!(body["requests_served"], 2, "{body}");
    let latency = &body["latency_ms"];
    for p in ["p50", "p95", "p99"] {
        assert!(
            latency[p].as_f64().is_some_and(|ms| ms >= 0.0),
            "latency_ms.{p}: {body}"
        );
    }
    assert_eq!(latency["samples"], 2, "{body}");
    assert_eq!(body["backend"]["name"], "local", "{body}");
    assert!(
        body["backend"]["models"]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    ws.close(None).await.expect("the WebSocket closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detect_base64_with_a_pixel_box_is_happy_and_repeats_come_from_the_cache() {
    let server = TestServer::start().await;
    let http = client();
    let request = json!({"image": b64(&fixture("astronaut.jpg")), "face_bounds": astronaut_box()});
    let first = expect_ok(
        http.post(server.url("/api/detect"))
            .json(&request)
            .send()
            .await
            .expect("POST"),
    )
    .await;
    assert_eq!(first["success"], true, "{first}");
    check_detection(&first);
    check_emotion_is_top(&first);
    assert_eq!(first["emotion"], "happy", "{first}");
    assert_eq!(first["face_detected"], true, "{first}");
    assert_eq!(
        first["face_bounds"],
        astronaut_box(),
        "the box used: {first}"
    );
    assert_eq!(first["cached"], false, "{first}");
    assert!(first.get("faces").is_none(), "one face: {first}");

    let second = expect_ok(
        http.post(server.url("/api/detect"))
            .json(&request)
            .send()
            .await
            .expect("POST"),
    )
    .await;
    check_detection(&second);
    assert_eq!(second["cached"], true, "{second}");
    assert_eq!(second["emotion"], first["emotion"]);
    assert_eq!(second["all_scores"], first["all_scores"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detect_takes_a_data_url_and_a_relative_box() {
    let server = TestServer::start().await;
    let http = client();
    // The astronaut's box relative to its 512x512 photo, as MediaPipe gives it.
    let relative = json!({"x": 178.0 / 512.0, "y": 66.0 / 512.0, "width": 94.0 / 512.0, "height": 102.0 / 512.0});
    let request = json!({
        "image": format!("data:image/jpeg;base64,{}", b64(&fixture("astronaut.jpg"))),
        "face_bounds": relative,
    });
    let body = expect_ok(
        http.post(server.url("/api/detect"))
            .json(&request)
            .send()
            .await
            .expect("POST"),
    )
    .await;
    check_detection(&body);
    assert_eq!(body["emotion"], "happy", "{body}");
    assert_eq!(
        body["face_bounds"],
        astronaut_box(),
        "the relative box in pixels: {body}"
    );

    // Another happy face, with its box in pixels.
    let request = json!({
        "image": format!("data:image/jpeg;base64,{}", b64(&fixture("smiling_woman.jpg"))),
        "face_bounds": smiling_woman_box(),
    });
    let body = expect_ok(
        http.post(server.url("/api/detect"))
            .json(&request)
            .send()
            .await
            .expect("POST"),
    )
    .await;
    check_detection(&body);
    assert_eq!(body["emotion"], "happy", "{body}");
}

/// The overlap of a `{x, y, width, height}` answer with a box.
fn iou(bounds: &Value, [x, y, w, h]: [f64; 4]) -> f64 {
    let v = |k: &str| bounds[k].as_f64().expect("a number");
    let (bx, by, bw, bh) = (v("x"), v("y"), v("width"), v("height"));
    let inter =
        ((bx + bw).min(x + w) - bx.max(x)).max(0.0) * ((by + bh).min(y + h) - by.max(y)).max(0.0);
    inter / (bw * bh + w * h - inter)
}

/// A successful `POST /api/detect` of `body`: the answer.
async fn detect_ok(server: &TestServer, body: Value) -> Value {
    expect_ok(
        client()
            .post(server.url("/api/detect"))
            .json(&body)
            .send()
            .await
            .expect("POST"),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detect_without_a_box_finds_the_face() {
    let server = TestServer::start().await;
    let body = detect_ok(&server, json!({"image": b64(&fixture("astronaut.jpg"))})).await;
    check_detection(&body);
    assert_eq!(body["face_detected"], true, "{body}");
    assert_eq!(body["emotion"], "happy", "{body}");
    // faces.json: the astronaut's face is at 178,66 94x102.
    let overlap = iou(&body["face_bounds"], [178.0, 66.0, 94.0, 102.0]);
    assert!(overlap >= 0.5, "IoU {overlap}: {body}");
    assert!(
        body["detection_confidence"].as_f64().expect("a score") >= 0.6,
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_group_photo_gives_every_face() {
    let server = TestServer::start().await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(fixture("group_of_four.jpg"))
            .file_name("group_of_four.jpg")
            .mime_str("image/jpeg")
            .expect("mime"),
    );
    let body = expect_ok(
        client()
            .post(server.url("/api/detect/upload"))
            .multipart(form)
            .send()
            .await
            .expect("POST"),
    )
    .await;
    let faces = body["faces"].as_array().expect("several faces");
    assert_eq!(faces.len(), 4, "{body}");
    let known = [
        [81.0, 171.0, 84.0, 94.0],
        [209.0, 119.0, 81.0, 91.0],
        [383.0, 110.0, 85.0, 95.0],
        [482.0, 94.0, 90.0, 101.0],
    ];
    for b in known {
        let best = faces
            .iter()
            .map(|f| iou(&f["face_bounds"], b))
            .fold(0.0, f64::max);
        assert!(best >= 0.5, "{b:?}: best IoU {best}: {body}");
    }
    assert_eq!(body["face_bounds"], faces[0]["face_bounds"], "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_detector_off_a_frame_without_a_box_is_classified_whole() {
    let server = TestServer::with_env(&[("FACE_DETECTOR", "off")]).await;
    let body = detect_ok(&server, json!({"image": b64(&fixture("astronaut.jpg"))})).await;
    check_detection(&body);
    assert_eq!(body["face_detected"], false, "{body}");
    assert_eq!(
        body["face_bounds"],
        json!({"x": 0, "y": 0, "width": 512, "height": 512}),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_faces_come_back_largest_first() {
    let server = TestServer::start().await;
    // group_of_three.jpg, from faces.json: the middle face is the largest.
    let boxes = json!([
        {"x": 184, "y": 112, "width": 83, "height": 93},
        {"x": 336, "y": 70, "width": 103, "height": 115},
        {"x": 494, "y": 103, "width": 84, "height": 94},
    ]);
    let body = detect_ok(
        &server,
        json!({"image": b64(&fixture("group_of_three.jpg")), "faces_bounds": boxes}),
    )
    .await;
    check_detection(&body);
    let faces = body["faces"].as_array().expect("faces is a list");
    assert_eq!(faces.len(), 3, "{body}");
    assert_eq!(faces[0]["face_bounds"], boxes[1], "largest first: {body}");
    let area = |f: &Value| {
        f["face_bounds"]["width"].as_u64().unwrap_or_default()
            * f["face_bounds"]["height"].as_u64().unwrap_or_default()
    };
    assert!(
        faces.windows(2).all(|w| area(&w[0]) >= area(&w[1])),
        "{body}"
    );
    for face in faces {
        check_detection(&json!({
            "emotion": face["emotion"], "confidence": face["confidence"],
            "all_scores": face["all_scores"], "face_bounds": face["face_bounds"],
            "face_detected": true, "cached": face["cached"], "model_used": "m",
            "processing_ms": 0.0, "timestamp": 1.7e9,
        }));
    }
    // The top level describes the largest face.
    assert_eq!(body["face_bounds"], faces[0]["face_bounds"], "{body}");
    assert_eq!(body["emotion"], faces[0]["emotion"], "{body}");
    assert_eq!(body["all_scores"], faces[0]["all_scores"], "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_all_scores_false_leaves_the_scores_out() {
    let server = TestServer::start().await;
    let body = detect_ok(
        &server,
        json!({
            "image": b64(&fixture("astronaut.jpg")),
            "face_bounds": astronaut_box(),
            "return_all_scores": false,
        }),
    )
    .await;
    check_detection(&body);
    assert_eq!(body["emotion"], "happy", "{body}");
    assert!(body.get("all_scores").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_may_name_a_model_of_the_chain() {
    let server = TestServer::start().await;
    let http = client();
    let models = expect_ok(
        http.get(server.url("/api/models"))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    let id = models["models"][0]["id"]
        .as_str()
        .expect("a model id")
        .to_owned();
    let body = expect_ok(
        http.post(server.url("/api/detect"))
            .json(&json!({
                "image": b64(&fixture("astronaut.jpg")),
                "face_bounds": astronaut_box(),
                "model": id,
            }))
            .send()
            .await
            .expect("POST"),
    )
    .await;
    check_detection(&body);
    assert_eq!(body["model_used"], json!(id), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_takes_a_multipart_file_with_a_json_face_box() {
    let server = TestServer::start().await;
    let http = client();
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(fixture("grace_hopper.webp"))
                .file_name("grace_hopper.webp")
                .mime_str("image/webp")
                .expect("a valid mime type"),
        )
        .text("face_bounds", grace_hopper_box().to_string());
    let body = expect_ok(
        http.post(server.url("/api/detect/upload"))
            .multipart(form)
            .send()
            .await
            .expect("POST"),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    check_detection(&body);
    check_emotion_is_top(&body);
    assert_eq!(body["emotion"], "neutral", "{body}");
    assert_eq!(body["face_detected"], true, "{body}");
    assert_eq!(body["face_bounds"], grace_hopper_box(), "{body}");

    // A PNG, with the scores left out.
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(fixture("luis_pedro.png")).file_name("luis_pedro.png"),
        )
        .text("face_bounds", luis_pedro_box().to_string())
        .text("return_all_scores", "false");
    let body = expect_ok(
        http.post(server.url("/api/detect/upload"))
            .multipart(form)
            .send()
            .await
            .expect("POST"),
    )
    .await;
    check_detection(&body);
    assert_eq!(body["emotion"], "neutral", "{body}");
    assert!(body.get("all_scores").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_answers_every_image_in_input_order() {
    let server = TestServer::start().await;
    // Sizes and expressions that tell the slots apart.
    let images = [
        "crops/astronaut_48.png",
        "grace_hopper.webp",
        "crops/grace_hopper_48.png",
        "luis_pedro.png",
        "crops/smiling_woman_48.png",
    ];
    let body = expect_ok(
        client()
            .post(server.url("/api/detect/batch"))
            .json(&json!({"images": images.map(|f| b64(&fixture(f)))}))
            .send()
            .await
            .expect("POST"),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(body["count"], 5, "{body}");
    let results = body["results"].as_array().expect("results is a list");
    assert_eq!(results.len(), 5, "{body}");
    for result in results {
        assert_eq!(result["success"], true, "{result}");
        check_detection(result);
        assert!(result.get("all_scores").is_some(), "scores by default");
    }
    // A 48x48 crop is classified whole, or in the face the detector finds inside it.
    let within_crop = |r: &Value| {
        let side = |k: &str| r["face_bounds"][k].as_u64().expect("a size");
        side("width") <= 48 && side("height") <= 48
    };
    assert!(within_crop(&results[0]), "{}", results[0]);
    assert_eq!(results[0]["emotion"], "happy", "{}", results[0]);
    // The whole photos' faces are found where faces.json says (so in input order too).
    let overlap = iou(&results[1]["face_bounds"], [160.0, 128.0, 210.0, 196.0]);
    assert!(
        overlap >= 0.5,
        "grace_hopper: IoU {overlap}: {}",
        results[1]
    );
    assert!(within_crop(&results[2]), "{}", results[2]);
    assert_eq!(results[2]["emotion"], "neutral", "{}", results[2]);
    let overlap = iou(&results[3]["face_bounds"], [30.0, 68.0, 176.0, 200.0]);
    assert!(overlap >= 0.5, "luis_pedro: IoU {overlap}: {}", results[3]);
    assert!(within_crop(&results[4]), "{}", results[4]);
    assert_eq!(results[4]["emotion"], "happy", "{}", results[4]);

    let body = expect_ok(
        client()
            .post(server.url("/api/detect/batch"))
            .json(&json!({"images": [b64(&fixture("crops/astronaut_48.png"))], "return_all_scores": false}))
            .send()
            .await
            .expect("POST"),
    )
    .await;
    assert_eq!(body["count"], 1, "{body}");
    assert!(body["results"][0].get("all_scores").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_is_served_at_the_root() {
    let server = TestServer::start().await;
    let response = client().get(server.url("/")).send().await.expect("GET");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let text = response.text().await.expect("the page");
    assert!(
        text.to_ascii_lowercase().contains("<html")
            || text.to_ascii_lowercase().contains("<!doctype html"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_with_request_counts() {
    let server = TestServer::start().await;
    let http = client();
    expect_ok(http.get(server.url("/health")).send().await.expect("GET")).await;
    let response = http.get(server.url("/metrics")).send().await.expect("GET");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain")
            || content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.expect("the metrics");
    assert!(text.contains("# TYPE emotion_http_requests"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("emotion_http_requests_total{")
                && l.contains(r#"route="/health""#)
                && l.contains(r#"status="200""#)),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_be_turned_off() {
    let server = TestServer::with_env(&[("ENABLE_METRICS", "false")]).await;
    let response = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET");
    expect_error(response, 404, "not_found").await;
}
