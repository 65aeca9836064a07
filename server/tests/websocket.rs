//! `/ws` with a real WebSocket client (DESIGN §3): results with the Detection fields at the top
//! level, ping, config, errors that keep the connection, close codes, latest-frame-wins flow
//! control with every frame accounted for, face tracks with their `emotion_changed` and
//! `track_ended` events.

mod common;
#[path = "../../core/tests/support/scene.rs"]
mod scene;

use std::time::Duration;

use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn connect(server: &TestServer) -> Ws {
    let (ws, response) =
        tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(server.ws_url()))
            .await
            .expect("the upgrade answers in time")
            .expect("the WebSocket opens");
    assert_eq!(response.status().as_u16(), 101);
    ws
}

async fn send(ws: &mut Ws, message: Value) {
    ws.send(Message::text(message.to_string()))
        .await
        .expect("the message is sent");
}

/// The next message other than ping/pong control frames, within `WAIT`.
async fn next_message(ws: &mut Ws) -> Message {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message arrives in time")
            .expect("the connection is still open")
            .expect("the message is readable");
        if !matches!(message, Message::Ping(_) | Message::Pong(_)) {
            return message;
        }
    }
}

/// The next JSON text message.
async fn recv(ws: &mut Ws) -> Value {
    match next_message(ws).await {
        Message::Text(text) => serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the server sent text that is not JSON ({e}): {text}")),
        other => panic!("expected a JSON text message, got {other:?}"),
    }
}

/// Waits for the server's close frame (reading past any other message) and returns it.
async fn recv_close(ws: &mut Ws) -> Option<(CloseCode, String)> {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("the close arrives in time");
        match message {
            Some(Ok(Message::Close(frame))) => {
                return frame.map(|f| (f.code, f.reason.to_string()));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("the connection failed before a close frame: {e}"),
            None => panic!("the connection ended without a close frame"),
        }
    }
}

fn frame(image: &[u8], face_bounds: Option<Value>, frame_id: Value) -> Value {
    let mut data = json!({"image": b64(image), "frame_id": frame_id});
    if let Some(face_bounds) = face_bounds {
        data["face_bounds"] = face_bounds;
    }
    json!({"type": "frame", "data": data})
}

/// The face `b` (in the API's shape) of a fixture photo with `margin` around it, scaled to a
/// `side`-pixel square.
fn tile(name: &str, b: Value, margin: f64, side: u32) -> image::RgbImage {
    let face = [&b["x"], &b["y"], &b["width"], &b["height"]].map(|v| v.as_f64().expect("px"));
    scene::scaled(&scene::face_cut(&fixture(name), face, margin), side, side)
}

/// One face's place in a scene, in the API's shape.
const AT: (i64, i64, u32) = (120, 80, 200);

/// Two frames of one place in a scene, as a camera sees someone change expression: the
/// astronaut's happy face, then Grace Hopper's neutral one, each scaled into the box `AT`.
fn expressions_in_one_place() -> (Vec<u8>, Vec<u8>, Value) {
    let (x, y, side) = AT;
    let frame = |name: &str, b: Value| {
        let tile = tile(name, b, 0.0, side);
        scene::jpeg(&scene::compose(480, 360, &[(&tile, x, y)]))
    };
    (
        frame("astronaut.jpg", astronaut_box()),
        frame("grace_hopper.webp", grace_hopper_box()),
        json!({"x": x, "y": y, "width": side, "height": side}),
    )
}

async fn ping_pong(ws: &mut Ws) {
    send(ws, json!({"type": "ping"})).await;
    let reply = recv(ws).await;
    assert_eq!(reply, json!({"type": "pong"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_gets_a_result_with_the_detection_at_the_top_level() {
    let server = TestServer::start().await;
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        frame(
            &fixture("astronaut.jpg"),
            Some(astronaut_box()),
            json!("f1"),
        ),
    )
    .await;
    let result = recv(&mut ws).await;
    assert_eq!(result["type"], "result", "{result}");
    assert_eq!(result["frame_id"], "f1", "{result}");
    assert_eq!(result["emotion"], "happy", "{result}");
    assert_eq!(result["dropped_frames"], 0, "{result}");
    assert_eq!(result["face_bounds"], astronaut_box(), "{result}");
    assert_eq!(result["face_detected"], true, "{result}");
    assert!(
        result.get("all_scores").is_some(),
        "scores by default: {result}"
    );
    check_detection(&result);

    // Any JSON value is a frame id, returned as it came.
    send(
        &mut ws,
        frame(
            &fixture("crops/astronaut_48.png"),
            None,
            json!({"n": 7, "camera": "left"}),
        ),
    )
    .await;
    let result = recv(&mut ws).await;
    assert_eq!(result["type"], "result", "{result}");
    assert_eq!(result["frame_id"], json!({"n": 7, "camera": "left"}));
    check_detection(&result);
    ws.close(None).await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_message_is_a_raw_frame() {
    let server = TestServer::start().await;
    let mut ws = connect(&server).await;
    ws.send(Message::binary(fixture("astronaut.jpg")))
        .await
        .expect("send");
    let result = recv(&mut ws).await;
    assert_eq!(result["type"], "result", "{result}");
    assert_eq!(result["frame_id"], Value::Null, "{result}");
    // No box: the server's face detector finds the astronaut's face.
    assert_eq!(result["face_detected"], true, "{result}");
    assert_ne!(
        result["face_bounds"],
        json!({"x": 0, "y": 0, "width": 512, "height": 512})
    );
    assert_eq!(result["dropped_frames"], 0, "{result}");
    check_detection(&result);

    // A binary message that is no image gets an error, and the connection stays.
    ws.send(Message::binary(b"not an image at all".to_vec()))
        .await
        .expect("send");
    let error = recv(&mut ws).await;
    assert_eq!(error["type"], "error", "{error}");
    check_error_body(
        &json!({"success": false, "error": error["error"]}),
        "invalid_image",
    );
    ping_pong(&mut ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_gets_pong() {
    let server = TestServer::start().await;
    let mut ws = connect(&server).await;
    for _ in 0..3 {
        ping_pong(&mut ws).await;
    }
    // A WebSocket-level ping is answered by a pong too.
    ws.send(Message::Ping(b"hi".to_vec().into()))
        .await
        .expect("send");
    let pong = tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("readable");
    assert_eq!(pong, Message::Pong(b"hi".to_vec().into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_changes_the_next_results() {
    let server = TestServer::start().await;
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        json!({"type": "config", "data": {"smoothing": 0.2, "return_all_scores": false}}),
    )
    .await;
    let ok = recv(&mut ws).await;
    assert_eq!(ok["type"], "config_ok", "{ok}");
    assert!(
        ok["smoothing"]
            .as_f64()
            .is_some_and(|s| (s - 0.2).abs() < 1e-6),
        "{ok}"
    );
    assert_eq!(ok["return_all_scores"], false, "{ok}");
    send(
        &mut ws,
        frame(&fixture("astronaut.jpg"), Some(astronaut_box()), json!(1)),
    )
    .await;
    let result = recv(&mut ws).await;
    assert_eq!(result["type"], "result", "{result}");
    assert_eq!(result["frame_id"], 1);
    assert!(result.get("all_scores").is_none(), "{result}");
    check_detection(&result);

    // Scores back on; a config may change one setting only.
    send(
        &mut ws,
        json!({"type": "config", "data": {"return_all_scores": true}}),
    )
    .await;
    let ok = recv(&mut ws).await;
    assert_eq!(ok["type"], "config_ok", "{ok}");
    assert_eq!(ok["return_all_scores"], true, "{ok}");
    assert!(
        ok["smoothing"]
            .as_f64()
            .is_some_and(|s| (s - 0.2).abs() < 1e-6),
        "the smoothing stays: {ok}"
    );
    send(
        &mut ws,
        frame(&fixture("astronaut.jpg"), Some(astronaut_box()), json!(2)),
    )
    .await;
    let result = recv(&mut ws).await;
    assert_eq!(result["frame_id"], 2);
    assert!(result.get("all_scores").is_some(), "{result}");
    check_detection(&result);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_get_errors_and_the_connection_stays_open() {
    let server = TestServer::start().await;
    let mut ws = connect(&server).await;
    let expect_error_message = |reply: &Value, code: &str, frame_id: Value| {
        assert_eq!(reply["type"], "error", "{reply}");
        assert_eq!(reply["frame_id"], frame_id, "{reply}");
        check_error_body(&json!({"success": false, "error": reply["error"]}), code);
    };

    ws.send(Message::text("this is not JSON {"))
        .await
        .expect("send");
    expect_error_message(&recv(&mut ws).await, "invalid_json", Value::Null);
    ping_pong(&mut ws).await;

    send(&mut ws, json!({"type": "dance"})).await;
    expect_error_message(&recv(&mut ws).await, "unknown_type", Value::Null);
    ping_pong(&mut ws).await;

    send(&mut ws, json!({"data": {}})).await;
    expect_error_message(&recv(&mut ws).await, "invalid_message", Value::Null);

    // A frame without an image: the error names the frame.
    send(
        &mut ws,
        json!({"type": "frame", "data": {"frame_id": "x1"}}),
    )
    .await;
    expect_error_message(&recv(&mut ws).await, "invalid_frame", json!("x1"));

    // A frame whose image is bad: the error comes from the worker, with the frame's id.
    send(
        &mut ws,
        json!({"type": "frame", "data": {"image": "%%%", "frame_id": "x2"}}),
    )
    .await;
    let reply = recv(&mut ws).await;
    expect_error_message(&reply, "invalid_base64", json!("x2"));
    assert_eq!(reply["dropped_frames"], 0, "{reply}");

    // A face box outside the image.
    send(
        &mut ws,
        frame(
            &fixture("crops/astronaut_48.png"),
            Some(json!({"x": 100, "y": 100, "width": 10, "height": 10})),
            json!("x3"),
        ),
    )
    .await;
    expect_error_message(&recv(&mut ws).await, "invalid_face_bounds", json!("x3"));

    send(&mut ws, json!({"type": "config", "data": {"smoothing": 2}})).await;
    expect_error_message(&recv(&mut ws).await, "invalid_config", Value::Null);
    send(
        &mut ws,
        json!({"type": "config", "data": {"smoothing": "high"}}),
    )
    .await;
    expect_error_message(&recv(&mut ws).await, "invalid_config", Value::Null);

    // Still open and still working.
    ping_pong(&mut ws).await;
    send(
        &mut ws,
        frame(
            &fixture("astronaut.jpg"),
            Some(astronaut_box()),
            json!("ok"),
        ),
    )
    .await;
    let result = recv(&mut ws).await;
    assert_eq!(result["type"], "result", "{result}");
    assert_eq!(result["emotion"], "happy", "{result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_errors_in_a_row_close_the_connection_with_a_policy_code() {
    let server = TestServer::start().await;
    let mut ws = connect(&server).await;
    for _ in 0..30 {
        if ws.send(Message::text("garbage")).await.is_err() {
            break;
        }
    }
    let (code, reason) = recv_close(&mut ws)
        .await
        .expect("a close frame with a code");
    assert_eq!(code, CloseCode::Policy, "{reason}");
    assert!(!reason.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_closes_the_connection_with_1009() {
    let server = TestServer::with_env(&[("MAX_IMAGE_SIZE", "2048")]).await;
    let mut ws = connect(&server).await;
    // An image over MAX_IMAGE_SIZE inside a message of acceptable size: an error, not a close.
    ws.send(Message::binary(vec![0xFF; 10 * 1024]))
        .await
        .expect("send");
    let error = recv(&mut ws).await;
    assert_eq!(error["type"], "error", "{error}");
    check_error_body(
        &json!({"success": false, "error": error["error"]}),
        "image_too_large",
    );
    ping_pong(&mut ws).await;

    // A message far over any frame this server takes: protocol abuse, closed with 1009.
    let text = json!({"type": "frame", "data": {"image": "A".repeat(200 * 1024)}}).to_string();
    ws.send(Message::text(text)).await.expect("send");
    let (code, reason) = recv_close(&mut ws)
        .await
        .expect("a close frame with a code");
    assert_eq!(code, CloseCode::Size, "{reason}");
    assert_eq!(u16::from(code), 1009);
    assert!(!reason.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_frames_is_fully_accounted_for_and_the_latest_is_answered() {
    let server = TestServer::start().await;
    let mut ws = connect(&server).await;
    let image = fixture("astronaut.jpg");
    const SENT: u64 = 100;
    // All at once: queue every message, then flush.
    for i in 0..SENT {
        ws.feed(Message::text(
            frame(&image, Some(astronaut_box()), json!(format!("b{i}"))).to_string(),
        ))
        .await
        .expect("queue");
    }
    ws.flush().await.expect("send the burst");

    let (mut results, mut errors, mut dropped) = (0u64, 0u64, 0u64);
    let mut answered: Vec<u64> = Vec::new();
    while results + errors + dropped < SENT {
        let message = recv(&mut ws).await;
        match message["type"].as_str() {
            Some("result") => {
                results += 1;
                check_detection(&message);
            }
            Some("error") => errors += 1,
            Some("emotion_changed") => continue,
            _ => panic!("unexpected message {message}"),
        }
        dropped += message["dropped_frames"]
            .as_u64()
            .unwrap_or_else(|| panic!("dropped_frames is a count: {message}"));
        let id = message["frame_id"].as_str().expect("a frame id");
        answered.push(id.trim_start_matches('b').parse().expect("b<number>"));
    }
    // Nothing more comes: every frame was counted exactly once.
    let ping = json!({"type": "ping"});
    send(&mut ws, ping).await;
    let after = recv(&mut ws).await;
    assert_eq!(
        after,
        json!({"type": "pong"}),
        "a message after all {SENT} frames were accounted for"
    );
    assert_eq!(results + errors + dropped, SENT);
    assert_eq!(errors, 0, "every frame was valid");
    assert!(
        answered.windows(2).all(|w| w[0] < w[1]),
        "answers come in sending order: {answered:?}"
    );
    assert_eq!(
        answered.last(),
        Some(&(SENT - 1)),
        "the last frame sent is answered: {answered:?}"
    );
    assert!(
        dropped > 0,
        "a burst faster than the worker replaces waiting frames: {answered:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_expression_sends_emotion_changed() {
    let server = TestServer::start().await;
    let mut ws = connect(&server).await;
    send(&mut ws, json!({"type": "config", "data": {"smoothing": 0}})).await;
    assert_eq!(recv(&mut ws).await["type"], "config_ok");

    let (happy, neutral, place) = expressions_in_one_place();
    let mut events = Vec::new();
    let plan = [
        ("h0", &happy),
        ("h1", &happy),
        ("h2", &happy),
        ("n0", &neutral),
        ("n1", &neutral),
        ("n2", &neutral),
    ];
    let mut track = None;
    for (id, image) in plan {
        send(&mut ws, frame(image, Some(place.clone()), json!(id))).await;
        let result = recv(&mut ws).await;
        assert_eq!(result["type"], "result", "{result}");
        assert_eq!(result["frame_id"], id, "{result}");
        // One face in one place: one track throughout.
        assert!(result["track_id"].is_u64(), "{result}");
        assert_eq!(
            *track.get_or_insert(result["track_id"].clone()),
            result["track_id"]
        );
        assert_eq!(result["dropped_frames"], 0, "{result}");
        let expected = if id.starts_with('h') {
            "happy"
        } else {
            "neutral"
        };
        assert_eq!(result["emotion"], expected, "{result}");
        check_emotion_is_top(&result);
        // The event, when there is one, follows its result; a ping marks the end of this frame's messages.
        send(&mut ws, json!({"type": "ping"})).await;
        loop {
            let message = recv(&mut ws).await;
            match message["type"].as_str() {
                Some("pong") => break,
                Some("emotion_changed") => events.push(message),
                _ => panic!("unexpected message {message}"),
            }
        }
    }
    assert_eq!(events.len(), 1, "exactly one change: {events:?}");
    let event = &events[0];
    assert_eq!(event["from"], "happy", "{event}");
    assert_eq!(event["to"], "neutral", "{event}");
    assert_eq!(Some(&event["track_id"]), track.as_ref(), "{event}");
    assert_eq!(
        event["frame_id"], "n0",
        "without smoothing the first neutral frame changes it"
    );
    assert!(
        event["confidence"]
            .as_f64()
            .is_some_and(|c| c > 0.0 && c <= 1.0),
        "{event}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_smoothing_the_change_comes_later() {
    let server = TestServer::start().await;
    let mut ws = connect(&server).await;
    send(
        &mut ws,
        json!({"type": "config", "data": {"smoothing": 0.8}}),
    )
    .await;
    assert_eq!(recv(&mut ws).await["type"], "config_ok");
    let (happy, neutral, place) = expressions_in_one_place();
    for i in 0..3 {
        send(&mut ws, frame(&happy, Some(place.clone()), json!(i))).await;
        let result = recv(&mut ws).await;
        assert_eq!(result["emotion"], "happy", "{result}");
    }
    // The first neutral frame does not flip a smoothed happy at once.
    send(&mut ws, frame(&neutral, Some(place.clone()), json!("n0"))).await;
    let result = recv(&mut ws).await;
    assert_eq!(result["type"], "result", "{result}");
    assert_eq!(result["emotion"], "happy", "smoothed: {result}");
    check_detection(&result);
    // It flips within a few more.
    let mut changed = None;
    for i in 1..20 {
        send(
            &mut ws,
            frame(&neutral, Some(place.clone()), json!(format!("n{i}"))),
        )
        .await;
        let result = recv(&mut ws).await;
        assert_eq!(result["type"], "result", "{result}");
        if result["emotion"] == "neutral" {
            let event = recv(&mut ws).await;
            assert_eq!(event["type"], "emotion_changed", "{event}");
            assert_eq!(event["frame_id"], result["frame_id"], "{event}");
            assert_eq!(event["track_id"], result["track_id"], "{event}");
            changed = Some(i);
            break;
        }
    }
    assert!(
        changed.is_some(),
        "the smoothed emotion never became neutral"
    );
}

/// Whole frames without boxes (as a Python loop or a game sends them): the server's detector
/// finds both faces in every frame, each keeps its `track_id` while it moves, and when one
/// leaves its track ends with a `track_ended` event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faces_moving_through_whole_frames_keep_their_tracks_until_they_leave() {
    let server = TestServer::start().await;
    let mut ws = connect(&server).await;
    send(&mut ws, json!({"type": "config", "data": {"smoothing": 0}})).await;
    assert_eq!(recv(&mut ws).await["type"], "config_ok");
    let happy = tile("astronaut.jpg", astronaut_box(), 0.3, 150);
    let neutral = tile("grace_hopper.webp", grace_hopper_box(), 0.1, 150);
    // 12 frames with both faces walking towards each other, then 16 without the neutral one:
    // longer than the server's track timeout (15 frames).
    let mut left = Vec::new();
    let mut right = Vec::new();
    let mut ended = Vec::new();
    let mut ended_in_results = Vec::new();
    for i in 0..28i64 {
        let mut placed = vec![(&happy, 20 + 8 * i, 100)];
        if i < 12 {
            placed.push((&neutral, 460 - 8 * i, 140));
        }
        let image = scene::jpeg(&scene::compose(640, 480, &placed));
        send(&mut ws, frame(&image, None, json!(i))).await;
        // The result first (a ping sent with the frame could be answered before it), then the
        // events that follow it, up to the pong of a ping sent after it.
        let message = recv(&mut ws).await;
        assert_eq!(message["type"], "result", "frame {i}: {message}");
        assert_eq!(message["frame_id"], i, "{message}");
        assert_eq!(message["face_detected"], true, "{message}");
        if let Some(ids) = message.get("tracks_ended") {
            ended_in_results.push((i, ids.clone()));
        }
        let faces = message["faces"]
            .as_array()
            .cloned()
            .unwrap_or_else(|| vec![message.clone()]);
        assert_eq!(faces.len(), placed.len(), "frame {i}: {message}");
        for face in faces {
            let centre = face["face_bounds"]["x"].as_i64().expect("x")
                + face["face_bounds"]["width"].as_i64().expect("width") / 2;
            let id = face["track_id"].as_u64().expect("a track id");
            // The faces never cross: the walking face stays left of the other.
            if centre < 20 + 8 * i + 150 {
                assert_eq!(face["emotion"], "happy", "frame {i}: {face}");
                left.push(id);
            } else {
                assert_eq!(face["emotion"], "neutral", "frame {i}: {face}");
                right.push(id);
            }
        }
        send(&mut ws, json!({"type": "ping"})).await;
        loop {
            let message = recv(&mut ws).await;
            match message["type"].as_str() {
                Some("pong") => break,
                Some("track_ended") => ended.push((i, message["track_id"].clone())),
                Some("emotion_changed") => {}
                _ => panic!("unexpected message {message}"),
            }
        }
    }
    assert_eq!(left.len(), 28);
    assert!(left.iter().all(|&id| id == left[0]), "{left:?}");
    assert_eq!(right.len(), 12);
    assert!(
        right.iter().all(|&id| id == right[0] && id != left[0]),
        "{right:?}"
    );
    // Missing from frame 12 on, the 15th frame without it ends its track.
    assert_eq!(ended, [(26, json!(right[0]))]);
    assert_eq!(ended_in_results, [(26, json!([right[0]]))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_open_streams_and_they_are_released_on_close() {
    let server = TestServer::start().await;
    let http = client();
    let streams = || async {
        expect_ok(
            http.get(server.url("/api/status"))
                .send()
                .await
                .expect("GET"),
        )
        .await["websocket_streams"]
            .as_i64()
            .expect("a count")
    };
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    ping_pong(&mut a).await;
    ping_pong(&mut b).await;
    assert_eq!(streams().await, 2);
    a.close(None).await.expect("close");
    drop(b); // gone without a close frame
    let mut left = -1;
    for _ in 0..100 {
        left = streams().await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(left, 0, "closed streams are released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_are_paced_at_ws_max_fps() {
    let server = TestServer::with_env(&[("WS_MAX_FPS", "10")]).await;
    let mut ws = connect(&server).await;
    let image = fixture("crops/astronaut_48.png");
    let started = std::time::Instant::now();
    for i in 0..8 {
        send(&mut ws, frame(&image, None, json!(i))).await;
        let result = recv(&mut ws).await;
        assert_eq!(result["type"], "result", "{result}");
        assert_eq!(result["dropped_frames"], 0, "{result}");
    }
    // Eight frames at 10 a second, of which the pace lets 3 through at once (jitter
    // tolerance): at least five intervals of 100 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(480),
        "8 results in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_over_ws_max_connections_are_refused_with_503() {
    let server = TestServer::with_env(&[("WS_MAX_CONNECTIONS", "1")]).await;
    let mut first = connect(&server).await;
    ping_pong(&mut first).await;
    match tokio_tungstenite::connect_async(server.ws_url()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 503);
            let body: Value =
                serde_json::from_slice(response.body().as_deref().unwrap_or_default())
                    .expect("a JSON error body");
            check_error_body(&body, "too_many_streams");
        }
        Err(other) => panic!("expected a 503 answer, got {other}"),
        Ok(_) => panic!("a stream over WS_MAX_CONNECTIONS was accepted"),
    }
    // Once the first goes, a new one is taken.
    first.close(None).await.expect("close");
    let mut reopened = None;
    for _ in 0..100 {
        if let Ok((ws, _)) = tokio_tungstenite::connect_async(server.ws_url()).await {
            reopened = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut second = reopened.expect("a stream is accepted after the first closed");
    ping_pong(&mut second).await;
}
