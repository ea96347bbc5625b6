//! A hanging HTTP/1 request is handed from its HTTP connection to a light
//! holder that keeps only the socket. From outside nothing changes: the
//! hold lasts as long, a 504 carries the usual headers, the journal records
//! the request when the hold ends — and a client that gives up frees it.

mod common;

use std::time::{Duration, Instant};

use common::wait::eventually_async;
use common::{client, fleet_of, get_text, in_flight, profile};
use mockdet::Fleet;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// A raw HTTP/1.1 `POST /detect`, for clients that must be able to walk away.
fn raw_detect() -> String {
    let body = r#"{"content":"hello","content_type":"text"}"#;
    format!(
        "POST /detect HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Polls the detector's in-flight gauge (its `/metrics`) until `done`
/// holds, failing after five seconds with the last value seen.
async fn wait_for_in_flight(client: &reqwest::Client, metrics_url: &str, done: fn(f64) -> bool) {
    let mut now = f64::NAN;
    let reached = eventually_async(Duration::from_secs(5), async || {
        now = in_flight(&get_text(client, metrics_url).await);
        done(now).then_some(())
    })
    .await;
    assert!(reached.is_some(), "in flight after 5 s: {now}");
}

fn hang(ms: f64, then: &str) -> String {
    format!(
        "[[faults]]\nprobability = 1.0\nkind = \"hang\"\nduration_ms = {ms:?}\nthen = \"{then}\"\n"
    )
}

#[tokio::test]
async fn a_held_504_carries_the_usual_headers_and_is_journaled_after_the_hold() {
    let fleet = fleet_of(profile("h", 0.0, &hang(200.0, "gateway_timeout"))).await;
    let started = Instant::now();
    let response = client()
        .post(format!("{}/detect", fleet.url("h")))
        .header("X-Correlation-ID", "corr-7")
        .header("X-Request-ID", "req-7")
        .json(&serde_json::json!({"content": "hello", "content_type": "text"}))
        .send()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert_eq!(response.status(), 504);
    let headers = response.headers().clone();
    assert_eq!(headers["x-mock-seq"], "1");
    assert_eq!(headers["x-correlation-id"], "corr-7");
    assert_eq!(headers["x-request-id"], "req-7");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["connection"], "close");
    assert!(headers.contains_key("date"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "injected_fault");
    assert_eq!(body["detector"], "test-h");

    let journal = fleet.detector("h").journal();
    assert_eq!(journal.len(), 1, "{journal:?}");
    let entry = &journal[0];
    assert_eq!(entry.fault.as_deref(), Some("hang"));
    assert_eq!(entry.status, Some(504));
    assert_eq!(entry.correlation_id.as_deref(), Some("corr-7"));
    assert!(entry.duration_ms >= 200.0, "{entry:?}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_client_that_leaves_ends_its_hold_and_the_request_is_journaled() {
    let fleet = fleet_of(profile("left", 0.0, &hang(30_000.0, "close"))).await;
    let addr = fleet.url("left").trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream.write_all(raw_detect().as_bytes()).await.unwrap();
    // Once the gauge counts it, the request has arrived and is being held.
    let metrics_url = format!("{}/metrics", fleet.url("left"));
    wait_for_in_flight(&client(), &metrics_url, |n| n >= 1.0).await;
    // The client stays a while before leaving: how long it stayed is what
    // the journaled duration must cover, so this sleep is the scenario, not
    // a wait for something to happen.
    let held = Duration::from_millis(150);
    tokio::time::sleep(held).await;
    assert!(
        fleet.detector("left").journal().is_empty(),
        "recorded before the hold ended"
    );
    drop(stream);

    let entry = eventually_async(Duration::from_secs(5), async || {
        fleet.detector("left").journal().pop()
    })
    .await
    .expect("the hold outlived its client: nothing journaled 5 s after it left");
    assert_eq!(entry.fault.as_deref(), Some("hang"));
    assert_eq!(entry.status, None);
    // The hold began before the gauge showed it and ended after the client
    // left, so the journaled duration covers at least the time it stayed.
    assert!(
        entry.duration_ms >= held.as_secs_f64() * 1_000.0 && entry.duration_ms < 5_000.0,
        "{entry:?}, seen held for {held:?}"
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn many_held_requests_leave_the_detector_answering() {
    let fleet = Fleet::builder()
        .profile(profile("held", 0.0, &hang(30_000.0, "close")))
        .profile(profile("fine", 0.0, ""))
        .seed(1)
        .start()
        .await
        .unwrap();
    let addr = fleet.url("held").trim_start_matches("http://").to_owned();
    let request = raw_detect();
    let mut streams = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        streams.push(stream);
    }
    let client = client();
    let metrics_url = format!("{}/metrics", fleet.url("held"));
    // Held requests still count as in flight.
    wait_for_in_flight(&client, &metrics_url, |n| n >= 200.0).await;
    let health = client
        .get(format!("{}/health", fleet.url("held")))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let answered = common::detect(&client, &fleet.url("fine")).await.unwrap();
    assert_eq!(answered.status(), 200);
    drop(streams);
    // Clients that leave end their holds, and the gauge comes back down.
    wait_for_in_flight(&client, &metrics_url, |n| n <= 0.0).await;
    assert_eq!(fleet.detector("held").journal().len(), 200);
    fleet.shutdown().await;
}
