//! Under a tight descriptor limit (`prlimit`), a detector closes new
//! connections at once instead of leaving them hanging in the backlog, and
//! keeps serving the connections it already has.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "../../tests/common/mod.rs"]
mod common;

const BIN: &str = env!("CARGO_BIN_EXE_mockdet");
/// Descriptors the detector gets in all: a couple of dozen for connections.
const NOFILE: u32 = 48;
/// More connections than that.
const CLIENTS: usize = 60;

/// One HTTP/1.1 exchange on an open keep-alive connection: the answer's
/// head and body as text.
fn exchange(stream: &mut TcpStream, request: &str) -> String {
    stream.write_all(request.as_bytes()).expect("writes");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let n = stream.read(&mut buf).expect("reads the answer");
        assert!(n > 0, "the server closed a connection it had accepted");
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
    }
    panic!("no complete answer within 10 s");
}

/// Whether the server ended `stream` (EOF or reset) within `limit`.
fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    stream
        .set_read_timeout(Some(limit))
        .expect("sets a timeout");
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    }
}

#[test]
fn new_connections_are_closed_at_once_and_open_ones_still_served() {
    let profile = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("shed.toml");
    std::fs::write(
        &profile,
        "name = \"success\"\ndetector_id = \"shed\"\nport = 0\n[latency]\nmodel = \"fixed\"\nms = 0.0\n",
    )
    .expect("writes the profile");
    let mut command = Command::new("prlimit");
    command
        .arg(format!("--nofile={NOFILE}:{NOFILE}"))
        .arg(BIN)
        .arg("--profile-file")
        .arg(&profile)
        .args(["--port", "0", "--seed", "1"]);
    let running = common::spawn_ready(&mut command);
    let addr = running
        .url("success")
        .trim_start_matches("http://")
        .to_owned();
    let mut clients: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| TcpStream::connect(&addr).expect("the kernel completes the handshake"))
        .collect();
    // The last client arrived when every descriptor was taken: it is shed.
    let last = clients.last_mut().expect("clients");
    assert!(
        closed_within(last, Duration::from_secs(5)),
        "a connection past the descriptor limit was left hanging"
    );
    // The first is still served, keep-alive and all.
    let first = &mut clients[0];
    let body = r#"{"content":"hello"}"#;
    let request = format!(
        "POST /detect HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer = exchange(first, &request);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let metrics = exchange(first, "GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n");
    let shed = metrics
        .lines()
        .find(|l| l.starts_with("mockdet_connections_shed_total{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(shed >= 1.0, "no shed connection counted:\n{metrics}");
}
