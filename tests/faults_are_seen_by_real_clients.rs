//! Each fault kind, observed the way an orchestrator's HTTP client sees it.

mod common;

use std::time::{Duration, Instant};

use common::{client, detect, fleet_of, profile};
use serde_json::Value;

fn only(fault: &str) -> String {
    format!("[[faults]]\nprobability = 1.0\n{fault}\n")
}

#[tokio::test]
async fn an_http_error_arrives_after_the_latency_with_retry_after() {
    let fleet = fleet_of(profile(
        "e",
        150.0,
        &only("kind = \"http_error\"\nstatus = 429"),
    ))
    .await;
    let started = Instant::now();
    let response = detect(&client(), &fleet.url("e")).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "failed too early"
    );
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "injected_fault");
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_reset_is_a_connection_error_without_a_response() {
    let fleet = fleet_of(profile("r", 20.0, &only("kind = \"reset\""))).await;
    let error = detect(&client(), &fleet.url("r")).await.unwrap_err();
    assert!(!error.is_timeout(), "{error:?}");
    assert!(error.status().is_none(), "{error:?}");
    let text = format!("{error:?}").to_lowercase();
    assert!(text.contains("reset") || text.contains("closed"), "{text}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_hang_outlasts_a_client_timeout() {
    let hang = "kind = \"hang\"\nduration_ms = 3000.0\nthen = \"close\"";
    let fleet = fleet_of(profile("h", 0.0, &only(hang))).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = detect(&client, &fleet.url("h")).await.unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_hang_then_close_ends_with_no_response_after_the_hold() {
    let hang = "kind = \"hang\"\nduration_ms = 200.0\nthen = \"close\"";
    let fleet = fleet_of(profile("hc", 0.0, &only(hang))).await;
    let started = Instant::now();
    let error = detect(&client(), &fleet.url("hc")).await.unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(!error.is_timeout() && error.status().is_none(), "{error:?}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_hang_then_gateway_timeout_answers_504_after_the_hold() {
    let hang = "kind = \"hang\"\nduration_ms = [150.0, 250.0]\nthen = \"gateway_timeout\"";
    let fleet = fleet_of(profile("h504", 0.0, &only(hang))).await;
    let started = Instant::now();
    let response = detect(&client(), &fleet.url("h504")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(response.status(), 504);
    fleet.shutdown().await;
}

#[tokio::test]
async fn malformed_json_is_a_200_that_does_not_parse() {
    let fleet = fleet_of(profile("mj", 0.0, &only("kind = \"malformed_json\""))).await;
    let response = detect(&client(), &fleet.url("mj")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn schema_invalid_json_parses_but_lacks_the_required_fields() {
    let fleet = fleet_of(profile("si", 0.0, &only("kind = \"schema_invalid\""))).await;
    let response = detect(&client(), &fleet.url("si")).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    for required in ["detector_id", "confidence", "category", "severity"] {
        assert!(body.get(required).is_none(), "{required} present in {body}");
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn an_empty_body_is_a_200_with_nothing_in_it() {
    let fleet = fleet_of(profile("eb", 0.0, &only("kind = \"empty_body\""))).await;
    let response = detect(&client(), &fleet.url("eb")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().is_empty());
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_slow_body_takes_its_duration_to_arrive_and_is_complete() {
    let slow = "kind = \"slow_body\"\nduration_ms = 400.0";
    let fleet = fleet_of(profile("sb", 0.0, &only(slow))).await;
    let started = Instant::now();
    let response = detect(&client(), &fleet.url("sb")).await.unwrap();
    let headers_after = started.elapsed();
    let body: Value = response.json().await.unwrap();
    assert!(
        headers_after < Duration::from_millis(300),
        "{headers_after:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(body["detector_id"], "test-sb");
    fleet.shutdown().await;
}

#[tokio::test]
async fn injected_faults_are_counted_by_kind() {
    let fleet = fleet_of(profile("c", 0.0, &only("kind = \"empty_body\""))).await;
    let client = client();
    for _ in 0..3 {
        detect(&client, &fleet.url("c")).await.unwrap();
    }
    let text = fleet.render_metrics();
    assert!(
        text.contains("mockdet_faults_injected_total{detector=\"c\",kind=\"empty_body\"} 3"),
        "{text}"
    );
    assert!(text.contains("outcome=\"empty_body\"} 3"), "{text}");
    fleet.shutdown().await;
}
