//! The reference orchestrator fans out to the fleet and aggregates: 200
//! when every selected detector succeeds, 206 with the failures listed, 502
//! when none succeeds; calls carry the contract's body and correlation id;
//! 5xx is retried and 4xx is not.

mod support;

use futures_util::{StreamExt, stream};
use mockdet::Fleet;
use mockdet_orchestrator::{DetectorConfig, Orchestrator};
use serde_json::json;
use support::{calls, client, down, fleet, post, profile, request, statuses, wired};

#[tokio::test]
async fn all_detectors_succeeding_gives_200_and_full_coverage() {
    let fleet = fleet(vec![profile("a", 5.0, ""), profile("b", 5.0, "")]).await;
    let orchestrator = wired(&fleet).start().await.unwrap();
    let (status, body) = post(
        &client(),
        &orchestrator.url(),
        "/orchestrate",
        &request("text"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["coverage_achieved"], 1.0);
    assert_eq!(body["processing_mode"], "sync");
    assert_eq!(body["aggregation_summary"]["total"], 2);
    assert_eq!(body["aggregation_summary"]["successful"], 2);
    assert_eq!(body["aggregation_summary"]["failed"], 0);
    assert_eq!(body["errors"], json!([]));
    let result = &body["detector_results"][0];
    assert_eq!(result["status"], "success");
    assert_eq!(result["result"]["detector_id"], "a-detector");
    assert!(result["result"]["confidence"].as_f64().unwrap() > 0.0);
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_failing_detector_gives_206_with_the_failure_listed() {
    let fleet = fleet(vec![profile("ok", 0.0, ""), down("down")]).await;
    let orchestrator = wired(&fleet).max_retries(1).start().await.unwrap();
    let (status, body) = post(
        &client(),
        &orchestrator.url(),
        "/orchestrate",
        &request("text"),
    )
    .await;
    assert_eq!(status, 206, "{body}");
    assert_eq!(body["coverage_achieved"], 0.5);
    assert_eq!(body["aggregation_summary"]["failed"], 1);
    let down = &body["detector_results"][0];
    assert_eq!(down["detector"], "down");
    assert_eq!(down["status"], "failed");
    assert_eq!(down["http_status"], 503);
    assert_eq!(down["attempts"], 2, "one retry after the 503");
    assert_eq!(body["errors"][0]["code"], "detector_failed");
    assert_eq!(body["errors"][0]["detector"], "down");
    assert_eq!(calls(&fleet, "down"), 2);
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn no_detector_succeeding_gives_502() {
    let fleet = fleet(vec![down("x"), down("y")]).await;
    let orchestrator = wired(&fleet).max_retries(0).start().await.unwrap();
    let (status, body) = post(
        &client(),
        &orchestrator.url(),
        "/orchestrate",
        &request("code"),
    )
    .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["coverage_achieved"], 0.0);
    assert_eq!(body["status"], "failed");
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_4xx_is_not_retried_and_a_bad_body_counts_as_failed() {
    let fleet = fleet(vec![
        profile(
            "limited",
            0.0,
            "faults = [{ kind = \"http_error\", status = 429, probability = 1.0 }]",
        ),
        profile(
            "broken",
            0.0,
            "faults = [{ kind = \"schema_invalid\", probability = 1.0 }]",
        ),
    ])
    .await;
    let orchestrator = wired(&fleet).max_retries(3).start().await.unwrap();
    let (status, body) = post(
        &client(),
        &orchestrator.url(),
        "/orchestrate",
        &request("text"),
    )
    .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(
        statuses(&body),
        [
            ("broken".into(), "failed".into()),
            ("limited".into(), "failed".into())
        ]
    );
    assert_eq!(body["detector_results"][1]["attempts"], 1);
    assert_eq!(body["detector_results"][1]["http_status"], 429);
    assert_eq!(calls(&fleet, "limited"), 1);
    assert_eq!(calls(&fleet, "broken"), 1);
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn detectors_are_picked_by_content_type_then_required_detectors() {
    let fleet = fleet(vec![profile("text-only", 0.0, ""), profile("all", 0.0, "")]).await;
    let mut text_only = DetectorConfig::new(fleet.url("text-only"));
    text_only.supported_content_types = vec![mockdet_orchestrator::ContentType::Text];
    let orchestrator = Orchestrator::builder()
        .detector_config("text-only", text_only)
        .detector("all", fleet.url("all"))
        .start()
        .await
        .unwrap();
    let url = orchestrator.url();
    let client = client();
    let (_, body) = post(&client, &url, "/orchestrate", &request("code")).await;
    assert_eq!(statuses(&body), [("all".into(), "success".into())]);

    let mut narrowed = request("text");
    narrowed["required_detectors"] = json!(["all", "ghost"]);
    let (status, body) = post(&client, &url, "/orchestrate", &narrowed).await;
    assert_eq!(status, 200, "unknown ids are reported, not fatal: {body}");
    assert_eq!(statuses(&body), [("all".into(), "success".into())]);
    assert_eq!(body["errors"][0]["code"], "unknown_detector");
    assert_eq!(body["errors"][0]["detector"], "ghost");

    let mut impossible = request("code");
    impossible["required_detectors"] = json!(["text-only", "ghost"]);
    let (status, body) = post(&client, &url, "/orchestrate", &impossible).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "no_detectors");
    assert_eq!(
        body["error"]["details"]["unknown_detectors"],
        json!(["ghost"])
    );
    assert_eq!(
        body["error"]["details"]["unsupported_detectors"],
        json!(["text-only"])
    );
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn calls_carry_the_contract_body_and_the_correlation_id() {
    let fleet = fleet(vec![profile("seen", 0.0, "")]).await;
    let orchestrator = wired(&fleet).start().await.unwrap();
    let response = client()
        .post(format!("{}/orchestrate", orchestrator.url()))
        .header("X-Correlation-ID", "corr-42")
        .json(&request("document"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-correlation-id"], "corr-42");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["correlation_id"], "corr-42");
    let journal = fleet.detector("seen").journal();
    let call = journal
        .iter()
        .find(|e| e.path == "/analyze")
        .expect("a call to /analyze");
    assert_eq!(call.method, "POST");
    assert_eq!(call.correlation_id.as_deref(), Some("corr-42"));
    assert_eq!(call.content_bytes, "mail me at jane@example.com".len());
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn retries_recover_transient_failures_at_the_expected_rate() {
    // Each attempt fails with p = 0.5; one retry makes a call fail with
    // p^2 = 0.25. The breaker is set out of reach so it cannot interfere.
    let p = 0.5;
    let n = 200;
    let flaky = profile(
        "flaky",
        0.0,
        "faults = [{ kind = \"http_error\", status = 500, probability = 0.5 }]",
    );
    let fleet: Fleet = fleet(vec![flaky]).await;
    let orchestrator = wired(&fleet)
        .max_retries(1)
        .breaker(10_000, std::time::Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let (client, url) = (client(), orchestrator.url());
    // Concurrent, to keep the backoffs from adding up; attempts are
    // independent draws, so the order they pair up in does not matter.
    let succeeded: usize = stream::iter(0..n)
        .map(|_| async {
            let (status, _) = post(&client, &url, "/orchestrate", &request("text")).await;
            usize::from(status == 200)
        })
        .buffer_unordered(25)
        .collect::<Vec<_>>()
        .await
        .iter()
        .sum();
    let expected = 1.0 - p * p;
    let rate = succeeded as f64 / n as f64;
    let tolerance = 5.0 * (expected * (1.0 - expected) / n as f64).sqrt();
    assert!(
        (rate - expected).abs() <= tolerance,
        "success rate {rate} not within {tolerance} of {expected}"
    );
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}
