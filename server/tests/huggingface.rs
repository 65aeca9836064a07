//! The server on the Hugging Face backend (issue 4), against the core's stand-in of the
//! Inference API on 127.0.0.1: the chain seen through `/api/detect`, `/api/models` and
//! `/api/status`, a request naming its model, a refused token, the cache in front of the remote
//! calls as `/metrics` counts them, and the key absent from every answer.

mod common;
#[path = "../../core/tests/support/hf_standin.rs"]
mod hf_standin;

use common::*;
use hf_standin::*;
use serde_json::{Value, json};

const LOCAL: &str = "local/mini-xception-fer2013";
const KEY: &str = "hf_ServerKeyThatMustNotShow42";

/// A server whose chain is trpakov, then dima806, then (when `local`) the embedded model, on
/// `standin`, with the cache as `cache_entries` says.
async fn server(standin: &StandIn, local: bool, cache_entries: &str) -> TestServer {
    let url = standin.base_url();
    TestServer::with_env(&[
        ("HF_API_KEY", KEY),
        ("HF_API_URL", &url),
        ("HF_MODEL_ID", TRPAKOV),
        ("HF_FALLBACK_MODELS", DIMA806),
        ("HF_FALLBACK_LOCAL", if local { "true" } else { "false" }),
        ("CACHE_MAX_ENTRIES", cache_entries),
    ])
    .await
}

fn astronaut() -> Value {
    json!({"image": b64(&fixture("astronaut.jpg")), "face_bounds": astronaut_box()})
}

async fn get(server: &TestServer, path: &str) -> Value {
    expect_ok(client().get(server.url(path)).send().await.expect("GET")).await
}

async fn detect(server: &TestServer, body: &Value) -> reqwest::Response {
    client()
        .post(server.url("/api/detect"))
        .json(body)
        .send()
        .await
        .expect("POST /api/detect")
}

/// The entry of `models` (a `/api/models` list) for `id`.
fn entry<'a>(models: &'a Value, id: &str) -> &'a Value {
    models
        .as_array()
        .and_then(|list| list.iter().find(|m| m["id"] == id))
        .unwrap_or_else(|| panic!("no {id} in {models}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_falls_through_and_models_shows_why() {
    // trpakov has no script: the stand-in answers 404 `Not Found`, as for a model not deployed.
    let standin = StandIn::start_with_token(
        KEY,
        [(DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER)))],
    )
    .await;
    let server = server(&standin, true, "0").await;

    let body = expect_ok(detect(&server, &astronaut()).await).await;
    check_detection(&body);
    assert_eq!(body["model_used"], DIMA806, "{body}");
    assert_eq!(body["fallback"], true, "{body}");
    assert_eq!(
        body["emotion"], "sad",
        "dima806's answer is mostly sad: {body}"
    );
    assert_eq!(standin.last_auth(DIMA806), Some(format!("Bearer {KEY}")));

    let models = get(&server, "/api/models").await["models"].clone();
    let ids: Vec<&str> = models
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert_eq!(ids, [TRPAKOV, DIMA806, LOCAL], "the chain in order");
    assert_eq!(entry(&models, TRPAKOV)["state"], "not_deployed", "{models}");
    assert_eq!(entry(&models, TRPAKOV)["kind"], "remote", "{models}");
    assert!(
        entry(&models, TRPAKOV)["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("404")),
        "{models}"
    );
    assert_eq!(entry(&models, DIMA806)["state"], "ready", "{models}");
    assert_eq!(entry(&models, DIMA806)["calls"], 1, "{models}");
    assert_eq!(entry(&models, LOCAL)["kind"], "local", "{models}");

    // The model not deployed is skipped now, without a call.
    let before = standin.hits(TRPAKOV);
    let body = expect_ok(detect(&server, &astronaut()).await).await;
    assert_eq!(body["model_used"], DIMA806, "{body}");
    assert_eq!(standin.hits(TRPAKOV), before);
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_may_name_its_model_to_compare_them_on_one_frame() {
    let standin = StandIn::start_with_token(
        KEY,
        [
            (TRPAKOV, Script::always(Behaviour::scores(&TRPAKOV_ANSWER))),
            (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
        ],
    )
    .await;
    let server = server(&standin, true, "1000").await;
    let mut emotions = Vec::new();
    for model in [TRPAKOV, DIMA806, LOCAL] {
        let mut body = astronaut();
        body["model"] = json!(model);
        let answer = expect_ok(detect(&server, &body).await).await;
        check_detection(&answer);
        assert_eq!(answer["model_used"], model, "{answer}");
        emotions.push(answer["emotion"].as_str().unwrap().to_owned());
    }
    // Each model answered with its own scores, not one shared cache entry.
    assert_eq!(emotions[0], "happy");
    assert_eq!(emotions[1], "sad");
    assert_eq!((standin.hits(TRPAKOV), standin.hits(DIMA806)), (1, 1));

    let mut body = astronaut();
    body["model"] = json!("someone/else");
    let error = expect_error(detect(&server, &body).await, 400, "unknown_model").await;
    let message = error["error"]["message"].as_str().unwrap();
    for id in [TRPAKOV, DIMA806, LOCAL] {
        assert!(
            message.contains(id),
            "the valid models are listed: {message}"
        );
    }
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_scene_costs_one_remote_call_and_metrics_count_it() {
    let standin = StandIn::start_with_token(
        KEY,
        [(TRPAKOV, Script::always(Behaviour::scores(&TRPAKOV_ANSWER)))],
    )
    .await;
    let server = server(&standin, true, "1000").await;
    for _ in 0..5 {
        let body = expect_ok(detect(&server, &astronaut()).await).await;
        assert_eq!(body["model_used"], TRPAKOV, "{body}");
    }
    assert_eq!(
        standin.hits(TRPAKOV),
        1,
        "a repeated frame went to the API again"
    );
    let metrics = client()
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("the metrics text");
    for line in [
        format!(r#"emotion_model_calls_total{{model="{TRPAKOV}",kind="remote"}} 1"#),
        format!(r#"emotion_model_calls_total{{model="{DIMA806}",kind="remote"}} 0"#),
        "emotion_cache_hits_total 4".to_owned(),
        "emotion_cache_misses_total 1".to_owned(),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no `{line}` in\n{metrics}"
        );
    }
    server.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_stops_at_once_and_the_key_never_shows() {
    // The stand-in accepts another token: ours is refused with 401 by every model.
    let standin = StandIn::start_with_token(
        "another-token",
        [
            (TRPAKOV, Script::always(Behaviour::scores(&TRPAKOV_ANSWER))),
            (DIMA806, Script::always(Behaviour::scores(&DIMA806_ANSWER))),
        ],
    )
    .await;
    let server = server(&standin, false, "0").await;
    let error = expect_error(
        detect(&server, &astronaut()).await,
        502,
        "backend_unauthorized",
    )
    .await;
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains("HF_API_KEY"), "{message}");
    assert_eq!(standin.hits(TRPAKOV), 1, "a refused token was retried");
    assert_eq!(
        standin.hits(DIMA806),
        0,
        "a refused token was tried on the next model"
    );

    let status = get(&server, "/api/status").await;
    for model in status["backend"]["models"].as_array().unwrap() {
        assert_eq!(model["state"], "unauthorized", "{status}");
    }
    let mut seen = vec![error.to_string(), status.to_string()];
    seen.push(get(&server, "/api/models").await.to_string());
    seen.push(get(&server, "/health").await.to_string());
    let metrics = client().get(server.url("/metrics")).send().await.unwrap();
    seen.push(metrics.text().await.unwrap());
    for text in seen {
        assert!(!text.contains(KEY), "the key shows in {text}");
    }
    server.shutdown().await.expect("clean shutdown");
}
