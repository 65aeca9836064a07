//! Graceful shutdown of the in-process server: WebSockets close with 1001, the serve future
//! completes, the port is released.
//!
//! (The real binary is tested in `binary.rs`, apart: a child process being spawned holds a copy
//! of every socket of the test process until its exec, which would keep a just-closed port open.)

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_websockets_with_1001_and_releases_the_port() {
    let server = TestServer::start().await;
    let addr = server.addr();
    let (mut ws, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .expect("the WebSocket opens");
    // The stream is up and served before the signal.
    ws.send(Message::text(r#"{"type":"ping"}"#))
        .await
        .expect("send");
    let pong = tokio::time::timeout(WAIT, ws.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("readable");
    assert_eq!(pong.to_text().ok(), Some(r#"{"type":"pong"}"#));

    let stopping = tokio::spawn(server.shutdown());
    let close = loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("the close frame arrives in time")
        {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("the connection failed before a close frame: {e}"),
            None => panic!("the connection ended without a close frame"),
        }
    };
    let close = close.expect("the close frame has a code");
    assert_eq!(close.code, CloseCode::Away, "{close:?}");
    assert_eq!(u16::from(close.code), 1001);
    assert!(!close.reason.is_empty());

    stopping
        .await
        .expect("the shutdown task does not panic")
        .expect("serve returns Ok");
    assert_refused(&addr.to_string()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_no_client_completes_at_once() {
    let server = TestServer::start().await;
    let addr = server.addr();
    expect_ok(
        client()
            .get(server.url("/health"))
            .send()
            .await
            .expect("GET"),
    )
    .await;
    let started = Instant::now();
    server.shutdown().await.expect("serve returns Ok");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert_refused(&addr.to_string()).await;
}
