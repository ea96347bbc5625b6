//! Time-bound behaviour against real detectors: a hang longer than the SLA
//! budget is cut at the budget, and a detector outage opens its breaker
//! (no calls reach it), which half-opens after the recovery time and
//! closes once the detector is back.

mod support;

use std::time::{Duration, Instant};

use mockdet::Outage;
use mockdet_orchestrator::BreakerState;
use support::wait::eventually_async;
use support::{
    calls, client, fleet, hanging, post, profile, request, statuses, wait_polled, wired,
};

/// Lateness allowed past the SLA budget (the bound).
const SLACK: Duration = Duration::from_millis(50);

/// How long past its due time a breaker transition may take to be seen
/// before the test fails (generous: only a stuck breaker takes this long).
const PATIENCE: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_hang_longer_than_the_sla_gives_206_within_budget_plus_50_ms() {
    let budget = Duration::from_millis(400);
    let fleet = fleet(vec![profile("quick", 20.0, ""), hanging("stuck")]).await;
    let orchestrator = wired(&fleet).sla_budget(budget).start().await.unwrap();
    let client = client();
    for _ in 0..3 {
        let started = Instant::now();
        let (status, body) = post(
            &client,
            &orchestrator.url(),
            "/orchestrate",
            &request("text"),
        )
        .await;
        let elapsed = started.elapsed();
        assert_eq!(status, 206, "{body}");
        assert!(elapsed >= budget, "answered before the budget: {elapsed:?}");
        assert!(elapsed <= budget + SLACK, "answered after {elapsed:?}");
        assert_eq!(
            statuses(&body),
            [
                ("quick".into(), "success".into()),
                ("stuck".into(), "timeout".into())
            ]
        );
        assert_eq!(body["errors"][0]["code"], "detector_timeout");
    }
    // The SLA cut says nothing about the detector: its breaker stays closed.
    assert_eq!(
        orchestrator.breaker_state("stuck"),
        Some(BreakerState::Closed)
    );
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

fn gauge(metrics: &str, detector: &str) -> Option<i64> {
    let prefix = format!("circuit_breaker_state{{detector=\"{detector}\"}} ");
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test]
async fn an_outage_opens_the_breaker_which_half_opens_and_closes_after_recovery() {
    let recovery = Duration::from_millis(800);
    let fleet = fleet(vec![profile("steady", 0.0, ""), profile("flaky", 0.0, "")]).await;
    let orchestrator = wired(&fleet)
        .max_retries(0)
        .breaker(3, recovery)
        .start()
        .await
        .unwrap();
    let (client, url) = (client(), orchestrator.url());
    let metrics = || async {
        let text = client
            .get(format!("{url}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        gauge(&text, "flaky")
    };
    wait_polled(&client, &url).await;
    let flaky = fleet.detector("flaky");
    flaky
        .outage(Outage::unavailable(Duration::from_secs(60)))
        .unwrap();

    // Three consecutive 503s open it.
    let mut last_failure_sent = Instant::now();
    for _ in 0..3 {
        last_failure_sent = Instant::now();
        let (status, body) = post(&client, &url, "/orchestrate", &request("text")).await;
        assert_eq!(body["detector_results"][0]["status"], "failed", "{body}");
        assert_eq!(status, 206);
    }
    let opened = Instant::now();
    assert_eq!(metrics().await, Some(2));
    let reached = calls(&fleet, "flaky");
    assert_eq!(reached, 3);

    // While open, requests skip it: nothing reaches the detector.
    for _ in 0..5 {
        let (_, body) = post(&client, &url, "/orchestrate", &request("text")).await;
        assert_eq!(
            body["detector_results"][0]["status"], "circuit_open",
            "{body}"
        );
    }
    assert!(
        opened.elapsed() < recovery,
        "the test ran too slowly to check the open state"
    );
    assert_eq!(
        calls(&fleet, "flaky"),
        reached,
        "calls reached an open breaker's detector"
    );

    // After the recovery time (and not before) it reads half-open; a probe
    // into the ongoing outage fails and reopens it.
    let half_open = eventually_async(recovery + PATIENCE, async || {
        (metrics().await == Some(1)).then_some(())
    })
    .await;
    assert!(
        half_open.is_some(),
        "the gauge did not read half-open (1) within {:?}: {:?}",
        recovery + PATIENCE,
        metrics().await
    );
    // It opened after the last failing request was sent, so half-open may
    // not be seen sooner than the recovery time after that.
    assert!(
        last_failure_sent.elapsed() >= recovery,
        "half-open before the recovery time"
    );
    let probe_sent = Instant::now();
    post(&client, &url, "/orchestrate", &request("text")).await;
    assert_eq!(calls(&fleet, "flaky"), reached + 1, "exactly one probe");
    assert_eq!(
        orchestrator.breaker_state("flaky"),
        Some(BreakerState::Open)
    );

    // The detector recovers; after the recovery time one probe closes it.
    flaky.clear_faults();
    let half_open = eventually_async(recovery + PATIENCE, async || {
        (orchestrator.breaker_state("flaky") == Some(BreakerState::HalfOpen)).then_some(())
    })
    .await;
    assert!(
        half_open.is_some(),
        "not half-open within {:?} of the failed probe: {:?}",
        recovery + PATIENCE,
        orchestrator.breaker_state("flaky")
    );
    assert!(
        probe_sent.elapsed() >= recovery,
        "half-open again before the recovery time"
    );
    let (status, body) = post(&client, &url, "/orchestrate", &request("text")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(metrics().await, Some(0));
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}
