//! A detector's answers, through real HTTP: the superset body, headers,
//! health, capabilities, metrics and batches.

mod common;

use common::{client, detect, fleet_of, get_json, profile};
use mockdet::Fleet;
use serde_json::{Value, json};

/// The contract's `DetectorResult` rules (CONTRACT.md §2).
fn assert_detector_result(body: &Value) {
    let id = body["detector_id"]
        .as_str()
        .expect("detector_id is a string");
    assert!(!id.is_empty());
    assert!(body["detector_type"].is_string());
    let confidence = body["confidence"].as_f64().expect("confidence is a number");
    assert!(confidence > 0.0 && confidence <= 1.0, "{confidence}");
    let category = body["category"].as_str().expect("category is a string");
    assert!(!category.is_empty() && category != "error");
    assert!(["low", "medium", "high", "critical"].contains(&body["severity"].as_str().unwrap()));
    assert!(body["findings"].is_array());
    assert!(body["processing_time_ms"].as_f64().unwrap() >= 0.0);
}

/// The seed mock's fields, which older clients read.
fn assert_seed_shape(body: &Value) {
    for field in [
        "detector",
        "version",
        "request_id",
        "timestamp",
        "content_type",
    ] {
        assert!(body[field].is_string(), "{field} missing in {body}");
    }
    assert!(body["detections"].is_array());
    assert!(body["overall_confidence"].is_number());
    assert!(body["total_findings"].is_u64());
}

#[tokio::test]
async fn every_builtin_answers_both_body_shapes_on_detect_and_analyze() {
    let fleet = Fleet::builder().builtins().seed(3).start().await.unwrap();
    let client = client();
    // success never fails; its answer must satisfy both field sets.
    for path in ["detect", "analyze"] {
        let response = client
            .post(format!("{}/{path}", fleet.url("success")))
            .json(&json!({
                "content": "reach me at jane@example.org",
                "metadata": {"content_features": {"content_type": "document"}, "tenant_id": "t1"}
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_detector_result(&body);
        assert_seed_shape(&body);
        assert_eq!(body["content_type"], "document");
        assert_eq!(body["category"], "pii");
    }
    let names: Vec<&str> = fleet.names().collect();
    assert_eq!(
        names,
        ["success", "variable", "failing", "timeout", "batch"]
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn ids_are_echoed_and_every_answer_carries_its_sequence_number() {
    let fleet = fleet_of(profile("echo", 0.0, "")).await;
    let client = client();
    for expected_seq in 1..=3 {
        let response = client
            .post(format!("{}/analyze", fleet.url("echo")))
            .header("X-Correlation-ID", "corr-7")
            .header("X-Request-ID", "req-9")
            .json(&json!({"content": "x"}))
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-correlation-id"], "corr-7");
        assert_eq!(headers["x-request-id"], "req-9");
        assert_eq!(headers["x-mock-seq"], expected_seq.to_string().as_str());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["request_id"], "req-9");
        assert_eq!(body["metadata"]["correlation_id"], "corr-7");
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn health_counts_requests_and_capabilities_describe_the_detector() {
    let fleet = fleet_of(profile("h", 0.0, "")).await;
    let client = client();
    for _ in 0..4 {
        assert_eq!(
            detect(&client, &fleet.url("h")).await.unwrap().status(),
            200
        );
    }
    let health: Value = get_json(&client, &format!("{}/health", fleet.url("h"))).await;
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["detector_id"], "test-h");
    assert_eq!(health["requests_processed"], 4);
    assert_eq!(health["errors"], 0);
    assert_eq!(health["success_rate"], 1.0);
    assert!(health["uptime_seconds"].as_f64().unwrap() >= 0.0);
    for path in ["", "/capabilities"] {
        let caps: Value = get_json(&client, &format!("{}{path}", fleet.url("h"))).await;
        assert_eq!(caps["detector_id"], "test-h");
        assert_eq!(caps["capabilities"], json!(["pii_detection"]));
        assert!(caps["version"].is_string());
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn metrics_expose_the_documented_families_for_this_detector_only() {
    let fleet = Fleet::builder()
        .profile(profile("m1", 0.0, ""))
        .profile(profile("m2", 0.0, ""))
        .start()
        .await
        .unwrap();
    let client = client();
    detect(&client, &fleet.url("m1")).await.unwrap();
    let text = client
        .get(format!("{}/metrics", fleet.url("m1")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for family in [
        "mockdet_requests_total{detector=\"m1\",endpoint=\"detect\",outcome=\"success\"} 1",
        "mockdet_request_duration_seconds_bucket",
        "mockdet_injected_delay_seconds_bucket",
        "mockdet_in_flight_requests{detector=\"m1\"}",
    ] {
        assert!(text.contains(family), "{family} not in:\n{text}");
    }
    assert!(!text.contains("detector=\"m2\""));
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_batch_answers_per_item_results_in_request_order() {
    let fleet = Fleet::builder()
        .builtin("batch")
        .seed(9)
        .start()
        .await
        .unwrap();
    let client = client();
    let items: Vec<Value> = (0..8)
        .map(|i| json!({"content": format!("item {i}"), "content_type": "text", "metadata": {}}))
        .chain([json!({"content_type": "text"})])
        .collect();
    // Both accepted shapes; retry a few times past the profile's 5 % faults.
    for body in [json!(items.clone()), json!({"items": items})] {
        let mut answer = None;
        for _ in 0..10 {
            let response = client
                .post(format!("{}/detect/batch", fleet.url("batch")))
                .json(&body)
                .send()
                .await
                .unwrap();
            if response.status() == 200 {
                answer = Some(response.json::<Value>().await.unwrap());
                break;
            }
        }
        let answer = answer.expect("a batch succeeds within ten tries");
        assert_eq!(answer["batch_size"], 9);
        assert_eq!(answer["batch_mode"], true);
        let results = answer["results"].as_array().unwrap();
        assert_eq!(results.len(), 9);
        for (i, result) in results.iter().enumerate().take(8) {
            assert!(
                result["request_id"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("-{i}"))
            );
            if result["status"] == "success" {
                assert_detector_result(result);
            } else {
                assert_eq!(result["status"], "error");
                assert_eq!(result["code"], "injected_item_failure");
            }
        }
        assert_eq!(results[8]["status"], "error");
        assert_eq!(results[8]["code"], "missing_content");
    }
    let scraped = fleet.render_metrics();
    assert!(scraped.contains("mockdet_batch_items_count{detector=\"batch\"}"));
    fleet.shutdown().await;
}

#[tokio::test]
async fn batches_are_refused_with_json_where_batch_mode_is_off() {
    let fleet = fleet_of(profile("nobatch", 0.0, "")).await;
    let response = client()
        .post(format!("{}/detect/batch", fleet.url("nobatch")))
        .json(&json!([{"content": "x"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "batch_disabled");
    fleet.shutdown().await;
}
