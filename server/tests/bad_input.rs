//! Bad requests of every kind get the API's one error shape with the right status and code
//! (DESIGN §3), and the server keeps answering afterwards.

mod common;

use common::*;
use reqwest::RequestBuilder;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

/// CRC-32 (IEEE, as PNG uses it), bit by bit: small inputs only.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let len = u32::try_from(data.len()).expect("a small chunk");
    let mut chunk = len.to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32(&body).to_be_bytes());
    chunk
}

/// A valid PNG header that declares `width`x`height` RGB pixels (a decompression bomb's start),
/// followed by a tiny IDAT and IEND.
fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8 bits, RGB, deflate, no filter, no interlace
    png.extend(png_chunk(b"IHDR", &ihdr));
    // zlib stream of one empty stored block.
    png.extend(png_chunk(
        b"IDAT",
        &[
            0x78, 0x01, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01,
        ],
    ));
    png.extend(png_chunk(b"IEND", &[]));
    png
}

#[test]
fn the_crc_matches_a_known_png_chunk() {
    // IEND's CRC is fixed: AE 42 60 82.
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
}

fn file_part(bytes: Vec<u8>, name: &str) -> Part {
    Part::bytes(bytes).file_name(name.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_the_right_status_and_code() {
    let server = TestServer::start().await;
    let http = client();
    let detect = server.url("/api/detect");
    let upload = server.url("/api/detect/upload");
    let batch = server.url("/api/detect/batch");
    let astronaut = fixture("astronaut.jpg");
    let crop = b64(&fixture("crops/astronaut_48.png"));
    let json_detect = |body: Value| http.post(&detect).json(&body);
    let with_box = |face_bounds: Value| {
        json_detect(json!({"image": b64(&astronaut), "face_bounds": face_bounds}))
    };
    // 1 MiB is the default MAX_IMAGE_SIZE; this image is just over it, its JSON body still
    // under the body limit, so the image's own check answers.
    let over_max_image = vec![0xA5u8; 1024 * 1024 + 1024];
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec();

    let cases: Vec<(&str, RequestBuilder, u16, &str)> = vec![
        (
            "invalid base64",
            json_detect(json!({"image": "this is not base64!"})),
            400,
            "invalid_base64",
        ),
        (
            "data URL that is not base64",
            json_detect(json!({"image": "data:image/png,rawbytes"})),
            400,
            "invalid_base64",
        ),
        (
            "empty image",
            json_detect(json!({"image": ""})),
            400,
            "empty_image",
        ),
        (
            "not an image",
            json_detect(json!({"image": b64(b"hello, this is plain text and no picture")})),
            400,
            "invalid_image",
        ),
        (
            "truncated JPEG",
            json_detect(json!({"image": b64(&astronaut[..astronaut.len() / 2])})),
            400,
            "invalid_image",
        ),
        (
            "GIF",
            json_detect(json!({"image": b64(&gif)})),
            415,
            "unsupported_image_type",
        ),
        (
            "PNG declaring 100000x100000",
            json_detect(json!({"image": b64(&png_declaring(100_000, 100_000))})),
            413,
            "image_dimensions_too_large",
        ),
        (
            "image over MAX_IMAGE_SIZE",
            json_detect(json!({"image": b64(&over_max_image)})),
            413,
            "image_too_large",
        ),
        (
            "JSON body over the limit",
            json_detect(json!({"image": "A".repeat(3 * 1024 * 1024)})),
            413,
            "request_too_large",
        ),
        (
            "missing field image",
            json_detect(json!({"face_bounds": astronaut_box()})),
            400,
            "invalid_request",
        ),
        (
            "image of the wrong JSON type",
            json_detect(json!({"image": 42})),
            400,
            "invalid_request",
        ),
        (
            "not JSON",
            http.post(&detect)
                .header("content-type", "application/json")
                .body("{\"image\": "),
            400,
            "invalid_json",
        ),
        (
            "text/plain on /api/detect",
            http.post(&detect)
                .header("content-type", "text/plain")
                .body(json!({"image": crop}).to_string()),
            415,
            "unsupported_content_type",
        ),
        (
            "face_bounds with a negative size",
            with_box(json!({"x": 178, "y": 66, "width": -94, "height": 102})),
            422,
            "invalid_face_bounds",
        ),
        (
            "face_bounds of zero size",
            with_box(json!({"x": 178, "y": 66, "width": 0, "height": 0})),
            422,
            "invalid_face_bounds",
        ),
        (
            "face_bounds right of and below the image",
            with_box(json!({"x": 600, "y": 600, "width": 50, "height": 50})),
            422,
            "invalid_face_bounds",
        ),
        (
            "face_bounds at negative coordinates, wholly outside",
            with_box(json!({"x": -300, "y": -300, "width": 100, "height": 100})),
            422,
            "invalid_face_bounds",
        ),
        (
            "unknown model",
            json_detect(json!({"image": crop, "model": "no-such-model"})),
            400,
            "unknown_model",
        ),
        (
            "batch over MAX_BATCH_SIZE",
            http.post(&batch)
                .json(&json!({"images": vec![crop.clone(); 11]})),
            413,
            "batch_too_large",
        ),
        (
            "empty batch",
            http.post(&batch).json(&json!({"images": []})),
            400,
            "empty_batch",
        ),
        (
            "batch without images",
            http.post(&batch).json(&json!({"image": crop})),
            400,
            "invalid_request",
        ),
        (
            "multipart without file",
            http.post(&upload)
                .multipart(Form::new().text("face_bounds", astronaut_box().to_string())),
            400,
            "missing_file",
        ),
        (
            "multipart with a face_bounds that is not JSON",
            http.post(&upload).multipart(
                Form::new()
                    .part("file", file_part(astronaut.clone(), "astronaut.jpg"))
                    .text("face_bounds", "178,66,94,102"),
            ),
            400,
            "invalid_face_bounds",
        ),
        (
            "multipart file that is not an image",
            http.post(&upload).multipart(
                Form::new().part("file", file_part(b"just some text".to_vec(), "notes.txt")),
            ),
            400,
            "invalid_image",
        ),
        (
            "multipart file over MAX_IMAGE_SIZE",
            http.post(&upload)
                .multipart(Form::new().part("file", file_part(over_max_image.clone(), "big.jpg"))),
            413,
            "image_too_large",
        ),
        (
            "multipart face_bounds outside the image",
            http.post(&upload).multipart(
                Form::new()
                    .part("file", file_part(astronaut.clone(), "astronaut.jpg"))
                    .text(
                        "face_bounds",
                        json!({"x": 900, "y": 10, "width": 50, "height": 50}).to_string(),
                    ),
            ),
            422,
            "invalid_face_bounds",
        ),
        (
            "upload with a JSON body",
            http.post(&upload).json(&json!({"image": crop})),
            415,
            "unsupported_content_type",
        ),
        (
            "unknown API route",
            http.get(server.url("/api/nope")),
            404,
            "not_found",
        ),
        (
            "unknown API route, POST",
            http.post(server.url("/api/detect/nope")).json(&json!({})),
            404,
            "not_found",
        ),
        (
            "unknown file",
            http.get(server.url("/no-such-page.html")),
            404,
            "not_found",
        ),
        (
            "GET on /api/detect",
            http.get(&detect),
            405,
            "method_not_allowed",
        ),
        (
            "GET /ws without the WebSocket handshake",
            http.get(server.url("/ws")),
            400,
            "websocket_required",
        ),
        (
            "DELETE on /health",
            http.delete(server.url("/health")),
            405,
            "method_not_allowed",
        ),
        (
            "POST on /api/status",
            http.post(server.url("/api/status")).json(&json!({})),
            405,
            "method_not_allowed",
        ),
    ];

    let mut failures = Vec::new();
    for (name, request, status, code) in cases {
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                failures.push(format!("{name}: the request failed: {e}"));
                continue;
            }
        };
        let got = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if got != status {
            failures.push(format!(
                "{name}: expected {status} {code}, got {got} {text:.300}"
            ));
        } else if let Some(problem) = error_body_problem(&body, code) {
            failures.push(format!("{name}: {problem:.400}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));

    // The unknown-model error says which models there are.
    let models = expect_ok(
        http.get(server.url("/api/models"))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    let id = models["models"][0]["id"].as_str().expect("a model id");
    let body = expect_error(
        json_detect(json!({"image": crop, "model": "no-such-model"}))
            .send()
            .await
            .expect("POST"),
        400,
        "unknown_model",
    )
    .await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(id), "{message}");

    // After all that, the server still answers.
    let health = expect_ok(http.get(server.url("/health")).send().await.expect("GET")).await;
    assert_eq!(health["status"], "ok");
    let detection = expect_ok(with_box(astronaut_box()).send().await.expect("POST")).await;
    assert_eq!(detection["emotion"], "happy", "{detection}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_image_in_a_batch_fails_only_its_own_slot() {
    let server = TestServer::start().await;
    let images = [
        b64(&fixture("crops/astronaut_48.png")),
        "%%% not base64 %%%".to_owned(),
        b64(b"plain text, no image"),
        b64(&fixture("crops/grace_hopper_48.png")),
    ];
    let body = expect_ok(
        client()
            .post(server.url("/api/detect/batch"))
            .json(&json!({"images": images}))
            .send()
            .await
            .expect("POST"),
    )
    .await;
    assert_eq!(body["success"], true, "{body}");
    assert_eq!(body["count"], 4, "{body}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 4, "{body}");
    assert_eq!(results[0]["success"], true, "{body}");
    check_detection(&results[0]);
    assert_eq!(results[0]["emotion"], "happy", "{body}");
    check_error_body(&results[1], "invalid_base64");
    check_error_body(&results[2], "invalid_image");
    assert_eq!(results[3]["success"], true, "{body}");
    check_detection(&results[3]);
    assert_eq!(results[3]["emotion"], "neutral", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_max_image_size_is_enforced_on_every_route() {
    let server = TestServer::with_env(&[("MAX_IMAGE_SIZE", "2048")]).await;
    let http = client();
    let small = fixture("crops/astronaut_48.png");
    assert!(small.len() < 2048);
    let big = fixture("astronaut.jpg");
    // Under the limit: answered.
    expect_ok(
        http.post(server.url("/api/detect"))
            .json(&json!({"image": b64(&small)}))
            .send()
            .await
            .expect("POST"),
    )
    .await;
    // Over it, as JSON (the body itself is then over the route's body limit) and as a file.
    let response = http
        .post(server.url("/api/detect"))
        .json(&json!({"image": b64(&big)}))
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status().as_u16(), 413);
    let body: Value = response.json().await.expect("JSON");
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        code == "image_too_large" || code == "request_too_large",
        "{body}"
    );
    check_error_body(&body, &code);
    let response = http
        .post(server.url("/api/detect/upload"))
        .multipart(Form::new().part(
            "file",
            file_part(fixture("crops/grace_hopper_48.png")[..].to_vec(), "g.png"),
        ))
        .send()
        .await
        .expect("POST");
    expect_ok(response).await;
    let response = http
        .post(server.url("/api/detect/upload"))
        .multipart(Form::new().part("file", file_part(vec![0xFF; 4096], "big.jpg")))
        .send()
        .await
        .expect("POST");
    expect_error(response, 413, "image_too_large").await;
    let response = http
        .post(server.url("/api/detect/batch"))
        .json(&json!({"images": [b64(&small), b64(&vec![0xFF; 4096])]}))
        .send()
        .await
        .expect("POST");
    let body = expect_ok(response).await;
    assert_eq!(body["results"][0]["success"], true, "{body}");
    check_error_body(&body["results"][1], "image_too_large");
}

/// A body over the limit is not read to its end, so the server closes that connection: it must
/// say so (`Connection: close`), or a keep-alive client reuses the connection and its next
/// request fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_after_an_oversized_body_on_the_same_client_succeeds() {
    let server = TestServer::with_env(&[("RATE_LIMIT_REQUESTS", "1000")]).await;
    let http = client();
    let too_big = json!({"image": "A".repeat(2 * 1024 * 1024)});
    let small = json!({"image": b64(&fixture("crops/astronaut_48.png"))});
    for round in 0..8 {
        let response = http
            .post(server.url("/api/detect"))
            .json(&too_big)
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: the oversized request failed: {e}"));
        assert_eq!(
            response
                .headers()
                .get(reqwest::header::CONNECTION)
                .and_then(|v| v.to_str().ok()),
            Some("close"),
            "round {round}"
        );
        expect_error(response, 413, "request_too_large").await;
        let response = http
            .post(server.url("/api/detect"))
            .json(&small)
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: the next request failed: {e}"));
        expect_ok(response).await;
    }
}

/// A client too slow to send its body gets `REQUEST_TIMEOUT`'s answer in the API's error shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_slower_than_the_timeout_gets_408_in_the_error_shape() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let server = TestServer::with_env(&[("REQUEST_TIMEOUT", "1")]).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    // 100 bytes announced, 10 sent, then nothing.
    stream
        .write_all(
            b"POST /api/detect HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"image\":",
        )
        .await
        .expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes in time")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").expect("a whole response");
    assert!(head.starts_with("HTTP/1.1 408"), "{answer}");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: application/json"), "{answer}");
    assert!(head.contains("connection: close"), "{answer}");
    let body: Value = serde_json::from_str(body).expect("a JSON body");
    check_error_body(&body, "request_timeout");

    // Quick requests are not affected.
    expect_ok(
        client()
            .post(server.url("/api/detect"))
            .json(&json!({"image": b64(&fixture("crops/astronaut_48.png"))}))
            .send()
            .await
            .expect("POST"),
    )
    .await;
}
