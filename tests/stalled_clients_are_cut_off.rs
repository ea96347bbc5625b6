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

/// A request that takes longer than the read timeout, then an answer
/// dribbled out over longer than it: the connection is busy, not quiet,
/// the whole time, so both arrive whole; only then does it go idle and
/// get closed.
#[tokio::test]
async fn slow_answers_are_not_cut_off_however_long_they_take() {
    let mut profile = DetectorProfile::builtin("success").expect("builtin");
    profile.latency = mockdet::profile::LatencySpec::fixed(0.0);
    profile.allow_overrides = true;
    let fleet = Fleet::builder()
        .profile(profile)
        .seed(1)
        .read_timeout(READ_TIMEOUT)
        .start()
        .await
        .expect("fleet starts");
    for fault in ["X-Mock-Delay-Ms: 900", "X-Mock-Fault: slow_body"] {
        let mut stream = connect(&fleet).await;
        let body = r#"{"content":"mail jo@ex.io"}"#;
        let request = format!(
            "POST /detect HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
             {fault}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("writes");
        let answer = read_until_closed(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{fault}: {answer}");
        let (head, sent) = answer.split_once("\r\n\r\n").expect("a head and a body");
        let head = head.to_ascii_lowercase();
        let json = if head.contains("transfer-encoding: chunked") {
            dechunk(sent) // through its last, empty chunk
        } else {
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .and_then(|n| n.trim().parse::<usize>().ok());
            assert_eq!(Some(sent.len()), length, "{fault}: {answer}");
            sent.to_owned()
        };
        let value: serde_json::Value = serde_json::from_str(&json).expect("whole JSON");
        assert_eq!(value["total_findings"], 1, "{fault}: {value}");
    }
    assert_eq!(
        timeouts(&fleet, "headers").await,
        2.0,
        "each closed once idle"
    );
}

/// The payload of a chunked body; panics unless it ends with its last,
/// empty chunk.
fn dechunk(mut sent: &str) -> String {
    let mut payload = String::new();
    loop {
        let (size, rest) = sent.split_once("\r\n").expect("a chunk size line");
        let size = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
        if size == 0 {
            return payload;
        }
        payload.push_str(&rest[..size]);
        sent = &rest[size + 2..];
    }
}
