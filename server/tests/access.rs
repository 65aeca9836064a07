//! Who may call the API and how often: per-client rate limits with `Retry-After` (DESIGN §3, §4
//! `RATE_LIMIT_REQUESTS`) and server API keys (`API_KEYS`).

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use tokio_tungstenite::tungstenite;

/// `Retry-After` of a 429: whole seconds, at least 1.
fn retry_after(response: &reqwest::Response) -> u64 {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .expect("a 429 carries Retry-After")
        .to_str()
        .expect("Retry-After is text");
    let seconds: u64 = value
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After `{value}` is not whole seconds"));
    assert!(seconds >= 1, "Retry-After {seconds}");
    seconds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_over_the_limit_gets_429_with_retry_after() {
    let server = TestServer::with_env(&[("RATE_LIMIT_REQUESTS", "5")]).await;
    let http = client();
    let detect = json!({"image": b64(&fixture("crops/astronaut_48.png"))});
    for i in 0..5 {
        let response = http
            .post(server.url("/api/detect"))
            .json(&detect)
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status().as_u16(), 200, "request {} of 5", i + 1);
    }
    let response = http
        .post(server.url("/api/detect"))
        .json(&detect)
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status().as_u16(), 429);
    // 5 a minute: the next one is about 12 s away.
    let wait = retry_after(&response);
    assert!((1..=13).contains(&wait), "Retry-After {wait}");
    expect_error(response, 429, "rate_limited").await;
    // Every API route shares the budget.
    for path in ["/api/status", "/api/models"] {
        let response = http.get(server.url(path)).send().await.expect("GET");
        retry_after(&response);
        expect_error(response, 429, "rate_limited").await;
    }
    // The health check is not limited.
    for _ in 0..10 {
        let body = expect_ok(http.get(server.url("/health")).send().await.expect("GET")).await;
        assert_eq!(body["status"], "ok");
    }
    // Nor is opening a WebSocket.
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .expect("the WebSocket opens while REST is limited");
    ws.close(None).await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_retry_after_a_request_succeeds_again() {
    // 60 a minute: one more each second once the burst of 60 is spent.
    let server = TestServer::with_env(&[("RATE_LIMIT_REQUESTS", "60")]).await;
    let http = client();
    let mut allowed = 0;
    let limited = loop {
        let response = http
            .get(server.url("/api/models"))
            .send()
            .await
            .expect("GET");
        match response.status().as_u16() {
            200 => allowed += 1,
            429 => break response,
            other => panic!("unexpected status {other}"),
        }
        assert!(allowed <= 70, "no 429 after {allowed} requests");
    };
    assert!(allowed >= 60, "only {allowed} requests of the burst of 60");
    let wait = retry_after(&limited);
    assert_eq!(wait, 1, "one request a second refills");
    expect_error(limited, 429, "rate_limited").await;
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let response = http
        .get(server.url("/api/models"))
        .send()
        .await
        .expect("GET");
    expect_ok(response).await;
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_forwarded_for_counts_only_behind_a_trusted_proxy() {
    // Not trusted (the default): a client cannot escape its limit by inventing addresses.
    let server = TestServer::with_env(&[("RATE_LIMIT_REQUESTS", "1")]).await;
    let http = client();
    let get = |ip: &str| {
        http.get(server.url("/api/models"))
            .header("x-forwarded-for", ip)
            .send()
    };
    expect_ok(get("10.0.0.1").await.expect("GET")).await;
    expect_error(get("10.0.0.2").await.expect("GET"), 429, "rate_limited").await;
    drop(server);

    // Trusted: each forwarded client has its own budget.
    let server =
        TestServer::with_env(&[("RATE_LIMIT_REQUESTS", "1"), ("TRUST_PROXY", "true")]).await;
    let get = |ip: &str| {
        http.get(server.url("/api/models"))
            .header("x-forwarded-for", format!("{ip}, 192.168.1.1"))
            .send()
    };
    expect_ok(get("10.0.0.1").await.expect("GET")).await;
    expect_error(get("10.0.0.1").await.expect("GET"), 429, "rate_limited").await;
    expect_ok(get("10.0.0.2").await.expect("GET")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_guard_the_api_but_not_health() {
    let server = TestServer::with_env(&[("API_KEYS", "k1,k2")]).await;
    let http = client();
    let detect = json!({"image": b64(&fixture("crops/astronaut_48.png"))});
    let post = || http.post(server.url("/api/detect")).json(&detect);

    expect_error(post().send().await.expect("POST"), 401, "unauthorized").await;
    let ok = expect_ok(post().bearer_auth("k2").send().await.expect("POST")).await;
    assert_eq!(ok["success"], true);
    let ok = expect_ok(post().header("x-api-key", "k1").send().await.expect("POST")).await;
    assert_eq!(ok["success"], true);
    for (name, request) in [
        ("wrong bearer key", post().bearer_auth("k3")),
        ("wrong X-API-Key", post().header("x-api-key", "k1x")),
        ("a prefix of a key", post().header("x-api-key", "k")),
        ("empty X-API-Key", post().header("x-api-key", "")),
        (
            "not a bearer scheme",
            post().header("authorization", "Basic azE6"),
        ),
    ] {
        let response = request.send().await.expect("POST");
        assert_eq!(response.status().as_u16(), 401, "{name}");
        expect_error(response, 401, "unauthorized").await;
    }
    // Every API route needs the key...
    for path in ["/api/status", "/api/models"] {
        expect_error(
            http.get(server.url(path)).send().await.expect("GET"),
            401,
            "unauthorized",
        )
        .await;
        expect_ok(
            http.get(server.url(path))
                .bearer_auth("k1")
                .send()
                .await
                .expect("GET"),
        )
        .await;
    }
    // ...but the health check stays open.
    let health = expect_ok(http.get(server.url("/health")).send().await.expect("GET")).await;
    assert_eq!(health["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrade_needs_a_key_when_keys_are_set() {
    let server = TestServer::with_env(&[("API_KEYS", "k1,k2")]).await;
    match tokio_tungstenite::connect_async(server.ws_url()).await {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 401);
            let body: serde_json::Value =
                serde_json::from_slice(response.body().as_deref().unwrap_or_default())
                    .expect("a JSON error body");
            check_error_body(&body, "unauthorized");
        }
        Err(other) => panic!("expected a 401 answer, got {other}"),
        Ok(_) => panic!("the upgrade without a key was accepted"),
    }
    match tokio_tungstenite::connect_async(format!("{}?api_key=nope", server.ws_url())).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status().as_u16(), 401),
        Err(other) => panic!("expected a 401 answer, got {other}"),
        Ok(_) => panic!("the upgrade with a wrong key was accepted"),
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}?api_key=k1", server.ws_url()))
        .await
        .expect("the upgrade with ?api_key=k1 succeeds");
    use futures::{SinkExt, StreamExt};
    ws.send(tungstenite::Message::text(r#"{"type":"ping"}"#))
        .await
        .expect("send");
    let reply = tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("a reply in time")
        .expect("the stream is open")
        .expect("a message");
    let reply: serde_json::Value =
        serde_json::from_str(reply.to_text().expect("text")).expect("JSON");
    assert_eq!(reply["type"], "pong");
    ws.close(None).await.expect("close");
}

/// A browser's CORS preflight for `origin` on `/api/detect`: the allowed origin, if any.
async fn preflight(server: &TestServer, origin: &str) -> (u16, Option<String>) {
    let response = client()
        .request(reqwest::Method::OPTIONS, server.url("/api/detect"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-api-key")
        .send()
        .await
        .expect("OPTIONS");
    let allowed = response
        .headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (response.status().as_u16(), allowed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_any_origin_by_default_and_only_the_listed_ones_when_set() {
    // Keys set: a preflight carries none, and must still pass.
    let server = TestServer::with_env(&[("API_KEYS", "k1")]).await;
    let (status, allowed) = preflight(&server, "https://avatar.example").await;
    assert_eq!(status, 200);
    assert_eq!(allowed.as_deref(), Some("*"));
    drop(server);

    let server = TestServer::with_env(&[(
        "CORS_ORIGINS",
        "https://avatar.example, http://localhost:3000",
    )])
    .await;
    let (status, allowed) = preflight(&server, "http://localhost:3000").await;
    assert_eq!(status, 200);
    assert_eq!(allowed.as_deref(), Some("http://localhost:3000"));
    let (_, allowed) = preflight(&server, "https://evil.example").await;
    assert_eq!(allowed, None, "an unlisted origin is not allowed");
    // A plain request from a listed origin carries the header too.
    let response = client()
        .get(server.url("/health"))
        .header("origin", "https://avatar.example")
        .send()
        .await
        .expect("GET");
    assert_eq!(
        response
            .headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some("https://avatar.example")
    );
}

/// A refusal before the body is read (no key, over the rate) closes that connection and says
/// so, so that a keep-alive client's next request goes out on a fresh one and succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_after_a_refused_large_body_on_the_same_client_succeeds() {
    let server = TestServer::with_env(&[("API_KEYS", "k1"), ("RATE_LIMIT_REQUESTS", "1000")]).await;
    let http = client();
    let large = json!({"image": b64(&fixture("astronaut.jpg")).repeat(8)});
    let small = json!({"image": b64(&fixture("crops/astronaut_48.png"))});
    for round in 0..20 {
        let refused = http
            .post(server.url("/api/detect"))
            .json(&large)
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: the refused request failed: {e}"));
        assert_eq!(
            refused
                .headers()
                .get(reqwest::header::CONNECTION)
                .and_then(|v| v.to_str().ok()),
            Some("close"),
            "round {round}"
        );
        expect_error(refused, 401, "unauthorized").await;
        let next = http
            .post(server.url("/api/detect"))
            .bearer_auth("k1")
            .json(&small)
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: the next request failed: {e}"));
        expect_ok(next).await;
    }
}
