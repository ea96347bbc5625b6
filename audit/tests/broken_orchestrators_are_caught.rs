//! Each deliberate defect of the reference orchestrator is flagged as
//! exactly its own failure, with evidence, and nothing else fails.

mod common;

use common::{assert_only, setup};
use mockdet_audit::{PropertyId, audit};
use mockdet_orchestrator::Defect;

async fn audit_with(defect: Defect) -> mockdet_audit::Report {
    let (fleet, orchestrator, options) = setup(&[defect]).await;
    let report = audit(options, std::future::pending()).await.unwrap();
    println!("{defect:?}\n{}", report.table());
    orchestrator.shutdown().await;
    fleet.shutdown().await;
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breaker_that_never_half_opens_fails_recovery_only() {
    let report = audit_with(Defect::BreakerNeverHalfOpens).await;
    assert_only(&report, &[PropertyId::BreakerRecovers]);
    let summary = &report
        .property(PropertyId::BreakerRecovers)
        .unwrap()
        .summary;
    assert!(summary.contains("never half-opens"), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrying_4xx_fails_no_retry_on_4xx_only() {
    let report = audit_with(Defect::RetriesOn4xx).await;
    assert_only(&report, &[PropertyId::NoRetryOn4xx]);
    let evidence = &report.property(PropertyId::NoRetryOn4xx).unwrap().evidence[0];
    assert_eq!(evidence.calls.len(), 2, "the 4xx and its retry");
    assert_eq!(evidence.calls[0].status, Some(400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_retry_layers_fail_amplification_only() {
    let report = audit_with(Defect::TwoRetryLayers).await;
    assert_only(&report, &[PropertyId::RetryAmplification]);
    let evidence = &report
        .property(PropertyId::RetryAmplification)
        .unwrap()
        .evidence[0];
    assert!(
        evidence.calls.len() > 4,
        "{} attempts",
        evidence.calls.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_timeout_fails_the_timeout_budget_only() {
    let report = audit_with(Defect::NoTimeout).await;
    assert_only(&report, &[PropertyId::TimeoutBudget]);
    let answer = report.property(PropertyId::TimeoutBudget).unwrap().evidence[0]
        .answer
        .clone()
        .unwrap();
    assert!(answer.elapsed > common::SLA * 2, "{answer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_200s_counted_as_success_fail_bad_200s_only() {
    let report = audit_with(Defect::MalformedCountsAsSuccess).await;
    assert_only(&report, &[PropertyId::Bad200sAreFailures]);
    let property = report.property(PropertyId::Bad200sAreFailures).unwrap();
    assert!(
        property.summary.contains("counted as success"),
        "{}",
        property.summary
    );
}
