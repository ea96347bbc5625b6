//! `/health` from the background poll, `/metrics` under the seed's names,
//! the repository's `test-config.yaml`, and the in-process demo (five
//! detectors and an orchestrator on ephemeral ports).

mod support;

use std::time::Duration;

use mockdet_orchestrator::{Demo, Orchestrator, OrchestratorConfig};
use support::{client, fleet, get, post, profile, request, statuses, wait_polled, wired};

#[tokio::test]
async fn health_reports_degraded_when_a_detector_fails_its_poll() {
    let fleet = fleet(vec![profile("up", 0.0, "")]).await;
    // Nothing listens on port 9 of loopback: connection refused.
    let orchestrator = wired(&fleet)
        .detector("gone", "http://127.0.0.1:9")
        .health_interval(Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let (client, url) = (client(), orchestrator.url());
    wait_polled(&client, &url).await;
    let (status, health) = get(&client, &url, "/health").await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["detectors_healthy"], 1);
    assert_eq!(health["detectors_total"], 2);
    assert_eq!(health["detectors"]["gone"]["health"], "unhealthy");
    // An unhealthy detector is skipped, not called.
    let (status, body) = post(&client, &url, "/orchestrate", &request("text")).await;
    assert_eq!(status, 206);
    assert_eq!(statuses(&body)[0], ("gone".into(), "unhealthy".into()));
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn metrics_use_the_seed_names() {
    let fleet = fleet(vec![profile("a", 0.0, "")]).await;
    let orchestrator = wired(&fleet).start().await.unwrap();
    let (client, url) = (client(), orchestrator.url());
    post(&client, &url, "/orchestrate", &request("text")).await;
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "orchestrate_requests_total{status=\"200\"} 1",
        "detector_latency_ms_count{detector=\"a\"} 1",
        "coverage_achieved_count 1",
        "coverage_achieved_sum 1",
        "circuit_breaker_state{detector=\"a\"} 0",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in\n{text}");
    }
    assert_eq!(text, orchestrator.render_metrics());
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_repository_test_config_loads_and_describes_the_builtin_fleet() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-config.yaml");
    let config = OrchestratorConfig::from_path(path).unwrap();
    let names: Vec<&str> = config.detectors.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["batch", "failing", "success", "timeout", "variable"]
    );
    assert_eq!(config.circuit_breaker.failure_threshold, 5);
    assert_eq!(config.circuit_breaker.recovery_timeout_ms, 60_000);
    assert_eq!(config.orchestration.sla_budget_ms, 2000);
    assert_eq!(config.performance_targets.throughput_rps, 100.0);
    for profile in mockdet::DetectorProfile::builtins().unwrap() {
        let detector = &config.detectors[&profile.name];
        assert_eq!(
            detector.detector_id.as_deref(),
            Some(profile.detector_id.as_str())
        );
        assert!(detector.endpoint.contains(&format!(":{}/", profile.port)));
        let types: Vec<&str> = detector
            .supported_content_types
            .iter()
            .map(|t| t.as_str())
            .collect();
        assert_eq!(types, profile.content_types, "{}", profile.name);
    }
    // It starts (port 0 here: the file's 8000 is for the command line).
    let orchestrator = Orchestrator::builder()
        .config(config)
        .origin(path)
        .start()
        .await
        .unwrap();
    orchestrator.shutdown().await;
}

#[tokio::test]
async fn the_demo_wires_five_detectors_to_an_orchestrator_on_free_ports() {
    let demo = Demo::builder().seed(11).start().await.unwrap();
    let urls = demo.urls();
    let names: Vec<&str> = urls.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "orchestrator",
            "success",
            "variable",
            "failing",
            "timeout",
            "batch"
        ]
    );
    assert!(urls.iter().all(|(_, u)| u.starts_with("http://127.0.0.1:")));
    let (status, body) = post(&client(), &demo.url(), "/orchestrate", &request("code")).await;
    assert!(status == 200 || status == 206, "{status} {body}");
    let mut called: Vec<String> = statuses(&body).into_iter().map(|(d, _)| d).collect();
    called.sort();
    // `failing` does not support code.
    assert_eq!(called, ["batch", "success", "timeout", "variable"]);
    assert_eq!(demo.seed(), 11);
    demo.shutdown().await;
}
