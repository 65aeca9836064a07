//! The real `emotion-server` binary: it serves on the port it logs, exits 0 on SIGTERM, and a
//! bad configuration stops it with a message that names the variable.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

/// The binary, started in an empty directory (no `.env`) with exactly these variables.
fn spawn_binary(vars: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_emotion-server"));
    command
        .env_clear()
        .envs(vars.iter().copied())
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command.spawn().expect("the binary starts")
}

/// Stops the child if a test fails before it does.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// `http://ADDR` from the binary's start-up log line.
fn listening_address(line: &str) -> Option<String> {
    let rest = &line[line.find("listening on http://")? + "listening on http://".len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == ':'))
        .unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_and_exits_cleanly_on_sigterm() {
    let mut child = Reaper(spawn_binary(&[
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("WORKERS", "1"),
        ("RUST_LOG", "info"),
        ("NO_COLOR", "1"),
    ]));
    let stderr = child.0.stderr.take().expect("stderr is piped");
    let (lines, log) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    let addr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match log.recv_timeout(left) {
            Ok(line) => {
                if let Some(addr) = listening_address(&line) {
                    break addr;
                }
                seen.push(line);
            }
            Err(_) => panic!(
                "no `listening on http://` line; stderr so far:\n{}",
                seen.join("\n")
            ),
        }
    };
    let port: u16 = addr
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in `{addr}`"));
    assert_ne!(port, 0, "the log names the port actually bound");

    let health = expect_ok(
        client()
            .get(format!("http://{addr}/health"))
            .send()
            .await
            .expect("GET /health"),
    )
    .await;
    assert_eq!(health["status"], "ok");
    let detection = expect_ok(
        client()
            .post(format!("http://{addr}/api/detect"))
            .json(&json!({"image": b64(&fixture("astronaut.jpg")), "face_bounds": astronaut_box()}))
            .send()
            .await
            .expect("POST /api/detect"),
    )
    .await;
    assert_eq!(detection["emotion"], "happy", "{detection}");

    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.0.id().to_string())
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("the child can be waited on") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the binary did not exit within 5 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    assert_eq!(status.code(), Some(0), "exit status {status}");
    reader.join().expect("the log reader ends with the process");
    let rest: Vec<String> = log.try_iter().collect();
    assert!(
        rest.iter().any(|l| l.contains("shutting down")),
        "the shutdown is logged: {rest:?}"
    );
    assert_refused(&addr).await;
}

/// Waits (at most 20 s) for a binary that must stop on its own; returns its status and stderr.
fn exit_of(vars: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let mut child = Reaper(spawn_binary(vars));
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("the child can be waited on") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the binary with {vars:?} is still running after 20 s"
        );
        std::thread::sleep(Duration::from_millis(25));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.0.stderr.take() {
        std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("stderr is text");
    }
    (status, stderr)
}

#[test]
fn the_binary_refuses_a_bad_port_and_names_it() {
    let (status, stderr) = exit_of(&[("PORT", "abc")]);
    assert!(!status.success(), "a bad PORT must stop start-up: {status}");
    assert!(stderr.contains("PORT"), "{stderr}");
    assert!(stderr.contains("abc"), "the bad value is quoted: {stderr}");
    assert!(stderr.contains("port number"), "what it accepts: {stderr}");
}

#[test]
fn the_binary_refuses_other_bad_values_naming_each() {
    for (var, value) in [
        ("RATE_LIMIT_REQUESTS", "0"),
        ("MAX_IMAGE_SIZE", "lots"),
        ("EMOTION_BACKEND", "cloud"),
        ("ENABLE_METRICS", "maybe"),
    ] {
        let (status, stderr) = exit_of(&[(var, value)]);
        assert!(!status.success(), "{var}={value}: {status}");
        assert!(stderr.contains(var), "{var}={value}: {stderr}");
    }
}
