//! A client that stalls — half-sent headers, an idle keep-alive connection,
//! a body that stops arriving — is cut off after the read timeout instead of
//! holding a connection forever.

use std::time::Duration;

mod common;

use mockdet::{DetectorProfile, Fleet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const READ_TIMEOUT: Duration = Duration::from_millis(300);
/// How long a test waits for the server to act before failing.
const PATIENCE: Duration = Duration::from_secs(10);

async fn fleet() -> Fleet {
    let mut profile = DetectorProfile::builtin("success").expect("builtin");
    profile.latency = mockdet::profile::LatencySpec::fixed(0.0);
    Fleet::builder()
        .profile(profile)
        .seed(1)
        .read_timeout(READ_TIMEOUT)
        .start()
        .await
        .expect("fleet starts")
}

async fn connect(fleet: &Fleet) -> TcpStream {
    let addr = fleet
        .url("success")
        .trim_start_matches("http://")
        .to_owned();
    TcpStream::connect(addr).await.expect("connects")
}

/// `mockdet_client_timeouts_total` for `phase`, from the detector's metrics.
async fn timeouts(fleet: &Fleet, phase: &str) -> f64 {
    let url = format!("{}/metrics", fleet.url("success"));
    let text = common::get_text(&common::client(), &url).await;
    let series =
        format!("mockdet_client_timeouts_total{{detector=\"success\",phase=\"{phase}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

/// Reads until the server closes the connection; what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server kept the stalled connection open");
    String::from_utf8_lossy(&seen).into_owned()
}

#[tokio::test]
async fn half_sent_headers_are_cut_off() {
    let fleet = fleet().await;
    let mut stream = connect(&fleet).await;
    stream
        .write_all(b"POST /detect HTTP/1.1\r\nhost: x\r\n")
        .await
        .expect("writes");
    let answer = read_until_closed(&mut stream).await;
    assert!(!answer.contains("200 OK"), "{answer}");
    assert_eq!(timeouts(&fleet, "headers").await, 1.0);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let fleet = fleet().await;
    let mut stream = connect(&fleet).await;
    let body = r#"{"content":"hi"}"#;
    let request = format!(
        "POST /detect HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("writes");
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_body_that_stops_arriving_gets_a_json_408() {
    let fleet = fleet().await;
    let mut stream = connect(&fleet).await;
    stream
        .write_all(
            b"POST /detect HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
              content-length: 100\r\n\r\n{\"content\":",
        )
        .await
        .expect("writes");
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"body_timeout\""), "{answer}");
    let journal = fleet.detector("success").journal();
    assert_eq!(journal.last().and_then(|e| e.status), Some(408));
    assert_eq!(timeouts(&fleet, "body").await, 1.0);
}

#[tokio::test]
async fn a_profile_sets_its_own_read_timeout() {
    // The fleet's default stays 120 s; the profile's 300 ms wins.
    let mut profile = DetectorProfile::builtin("success").expect("builtin");
    profile.latency = mockdet::profile::LatencySpec::fixed(0.0);
    profile.limits.read_timeout_ms = Some(READ_TIMEOUT.as_secs_f64() * 1000.0);
    let fleet = common::fleet_of(profile).await;
    let mut stream = connect(&fleet).await;
    stream
        .write_all(
            b"POST /v1/moderations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
              content-length: 100\r\n\r\n{\"input\":",
        )
        .await
        .expect("writes");
    let answer = read_until_closed(&mut stream).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // Refused in the protocol's own error shape.
    assert!(answer.contains("\"invalid_request_error\""), "{answer}");
    let mut idle = connect(&fleet).await;
    idle.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n")
        .await
        .expect("writes");
    let answer = read_until_closed(&mut idle).await;
    assert!(answer.is_empty(), "{answer}");
    assert_eq!(timeouts(&fleet, "headers").await, 1.0);

    // After a live change of the profile, new connections get its timeout.
    let handle = fleet.detector("success");
    let mut changed = handle.profile();
    changed.limits.read_timeout_ms = Some(150.0);
    handle.set_profile(changed).expect("valid profile");
    let mut stalled = connect(&fleet).await;
    stalled
        .write_all(b"GET /health HTTP/1.1\r\n")
        .await
        .expect("writes");
    read_until_closed(&mut stalled).await;
    assert_eq!(timeouts(&fleet, "headers").await, 2.0);
}
