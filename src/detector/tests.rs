//! Socket-free tests of one detector's router, in the manner of axum's
//! `testing` example: build the app, drive it with `oneshot`, read the
//! answer. Time-dependent ones run on paused tokio time, so a 30-second
//! latency takes no wall-clock time and its timing is exact.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{AdminAccess, DetectorState, router};
use crate::metrics::Metrics;
use crate::profile::DetectorProfile;

fn profile(latency_ms: f64, extra: &str) -> DetectorProfile {
    DetectorProfile::from_toml_str(&format!(
        "name = \"unit\"\ndetector_id = \"unit-detector\"\nport = 0\n\
         capabilities = [\"pii_detection\"]\n{extra}\n\
         [latency]\nmodel = \"fixed\"\nms = {latency_ms:?}\n"
    ))
    .expect("test profile parses")
}

fn state(profile: DetectorProfile) -> Arc<DetectorState> {
    let state = DetectorState::new(profile, 42, Metrics::new(), AdminAccess::Open);
    Arc::new(state.expect("test profile is valid"))
}

fn post(path: &str, body: Value) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request builds")
}

async fn send(state: &Arc<DetectorState>, request: Request<Body>) -> Response {
    let answered = router(state.clone()).oneshot(request).await;
    answered.unwrap_or_else(|never| match never {})
}

async fn json_of(response: Response) -> Value {
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    serde_json::from_slice(&bytes).expect("a JSON answer")
}

#[tokio::test]
async fn detect_answers_a_detector_result_and_journals_it() {
    let state = state(profile(0.0, ""));
    let response = send(&state, post("/detect", json!({"content": "hi"}))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-mock-seq"], "1");
    let body = json_of(response).await;
    assert_eq!(body["detector_id"], "unit-detector");
    assert!(body["detections"].is_array(), "{body}");
    assert_eq!(body["request_id"], "unit-detector-1");
    let journal = state.journal.read(0, 10);
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].status, Some(200));
}

#[tokio::test(start_paused = true)]
async fn the_answer_waits_exactly_the_sampled_latency() {
    let state = state(profile(30_000.0, ""));
    let start = tokio::time::Instant::now();
    let response = send(&state, post("/analyze", json!({"content": "x"}))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(30) && waited < Duration::from_millis(30_010),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_request_in_flight_shows_in_the_gauge_until_it_is_answered() {
    let state = state(profile(10_000.0, ""));
    let call = tokio::spawn({
        let state = state.clone();
        async move { send(&state, post("/detect", json!({"content": "x"}))).await }
    });
    // Paused time only moves when every task waits: once it has moved, the
    // request is parked in its latency and counted.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(state.in_flight.get(), 1);
    let response = call.await.expect("the call ends");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(state.in_flight.get(), 0);
}

#[tokio::test]
async fn an_injected_fault_is_the_answer_and_the_journal_says_so() {
    let faults = "[[faults]]\nkind = \"http_error\"\nstatus = 503\nprobability = 1.0\n";
    let state = state(profile(0.0, faults));
    let response = send(&state, post("/detect", json!({"content": "x"}))).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "1");
    let journal = state.journal.read(0, 10);
    assert_eq!(journal[0].fault.as_deref(), Some("http_error"));
}

#[tokio::test]
async fn a_correlation_id_sent_only_in_the_body_is_echoed_and_journaled() {
    let state = state(profile(0.0, ""));
    let body = json!({"content": "x", "metadata": {"correlation_id": "body-only-7"}});
    let response = send(&state, post("/detect", body)).await;
    assert_eq!(response.headers()["x-correlation-id"], "body-only-7");
    let journal = state.journal.read(0, 10);
    assert_eq!(journal[0].correlation_id.as_deref(), Some("body-only-7"));
}

#[tokio::test]
async fn the_header_correlation_id_wins_over_the_body() {
    let state = state(profile(0.0, ""));
    let mut request = post(
        "/detect",
        json!({"content": "x", "metadata": {"correlation_id": "from-body"}}),
    );
    request
        .headers_mut()
        .insert("x-correlation-id", "from-header".parse().expect("a header"));
    let response = send(&state, request).await;
    assert_eq!(response.headers()["x-correlation-id"], "from-header");
    let body = json_of(response).await;
    assert_eq!(body["metadata"]["correlation_id"], "from-header");
}

#[tokio::test]
async fn single_and_batch_requests_share_one_sequence_and_one_journal() {
    let state = state(profile(0.0, "[batch]\nenabled = true\nmax_items = 5\n"));
    send(&state, post("/detect", json!({"content": "a"}))).await;
    let items = json!([{"content": "b"}, {"content": "c"}]);
    let response = send(&state, post("/detect/batch", items)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-mock-seq"], "2");
    let body = json_of(response).await;
    assert_eq!(body["results"].as_array().map(Vec::len), Some(2));
    let paths: Vec<_> = state
        .journal
        .read(0, 10)
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(paths, ["/detect", "/detect/batch"]);
}

#[tokio::test]
async fn bad_requests_get_json_errors_and_are_journaled() {
    let state = state(profile(0.0, ""));
    let response = send(&state, post("/detect", json!({"no_content": 1}))).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(response).await["error"]["code"], "missing_content");
    let disabled = send(&state, post("/detect/batch", json!([{"content": "x"}]))).await;
    assert_eq!(disabled.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(disabled).await["error"]["code"], "batch_disabled");
    let outcomes: Vec<_> = state
        .journal
        .read(0, 10)
        .into_iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(outcomes, [Some(422), Some(400)]);
}

#[tokio::test]
async fn unknown_paths_and_methods_get_json_errors() {
    let state = state(profile(0.0, ""));
    let missing = Request::get("/nope").body(Body::empty()).expect("request");
    let response = send(&state, missing).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(response).await["error"]["code"], "not_found");
    let wrong = Request::get("/detect")
        .body(Body::empty())
        .expect("request");
    let response = send(&state, wrong).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn health_reports_what_was_served() {
    let state = state(profile(0.0, ""));
    send(&state, post("/detect", json!({"content": "x"}))).await;
    let request = Request::get("/health")
        .body(Body::empty())
        .expect("request");
    let body = json_of(send(&state, request).await).await;
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["requests_processed"], 1);
    assert_eq!(body["seed"], 42);
}

#[tokio::test]
async fn the_journal_limit_alone_gives_the_newest_and_since_seq_pages_forward() {
    let state = state(profile(0.0, ""));
    for _ in 0..5 {
        send(&state, post("/detect", json!({"content": "x"}))).await;
    }
    let seqs = |body: Value| -> Vec<u64> {
        let requests = body["requests"].as_array().cloned().unwrap_or_default();
        requests.iter().filter_map(|e| e["seq"].as_u64()).collect()
    };
    let get = |uri: &str| Request::get(uri).body(Body::empty()).expect("request");
    let tail = json_of(send(&state, get("/admin/requests?limit=2")).await).await;
    assert_eq!(seqs(tail), [4, 5]);
    let page = json_of(send(&state, get("/admin/requests?since_seq=1&limit=2")).await).await;
    assert_eq!(seqs(page), [2, 3]);
    let all = json_of(send(&state, get("/admin/requests")).await).await;
    assert_eq!(seqs(all), [1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn an_admin_body_over_the_limit_is_a_413() {
    let state = state(profile(0.0, ""));
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let request = Request::post("/admin/outage")
        .header("content-type", "application/json")
        .body(Body::from(huge))
        .expect("request");
    let response = send(&state, request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json_of(response).await["error"]["code"], "body_too_large");
}
