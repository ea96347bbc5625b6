//! The reference orchestrator does what every property asks: the audit
//! passes it, puts the fleet back as it found it, and writes its reports.

mod common;

use common::{DETECTORS, assert_only, setup};
use mockdet_audit::{Verdict, audit, write_report};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_property_passes_and_the_fleet_is_restored() {
    let (fleet, orchestrator, options) = setup(&[]).await;
    let before: Vec<_> = DETECTORS
        .iter()
        .map(|n| fleet.detector(n).profile())
        .collect();
    let report = audit(options, std::future::pending()).await.unwrap();
    println!("{}", report.table());
    assert_only(&report, &[]);
    assert!(report.passed());
    assert!(!report.interrupted);
    let after: Vec<_> = DETECTORS
        .iter()
        .map(|n| fleet.detector(n).profile())
        .collect();
    assert_eq!(before, after, "profiles are put back");
    // Evidence names real attempts: the retried 503 shows two calls, the
    // first a 503 from the injected fault, the second a 200.
    let retries = report
        .property(mockdet_audit::PropertyId::RetriesOn5xx)
        .unwrap();
    let first = &retries.evidence[0];
    assert_eq!(first.calls.len(), 2, "{first:?}");
    assert_eq!(first.calls[0].status, Some(503));
    assert_eq!(first.calls[1].status, Some(200));
    assert_eq!(
        first.calls[0].correlation_id.as_deref(),
        first.request.as_deref()
    );
    let dir = std::env::temp_dir().join(format!("mockdet-audit-{}", std::process::id()));
    let (json, html) = write_report(&report, &dir).unwrap();
    let parsed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(parsed["failed"], 0);
    assert_eq!(parsed["properties"].as_array().unwrap().len(), 12);
    let page = std::fs::read_to_string(html).unwrap();
    assert!(page.contains("breaker recovers") && page.contains("<svg"));
    assert_eq!(
        report
            .properties
            .iter()
            .filter(|p| p.verdict == Verdict::Pass)
            .count(),
        12
    );
    std::fs::remove_dir_all(dir).ok();
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn its_api_v1_shape_passes_too() {
    let (fleet, orchestrator, mut options) = setup(&[]).await;
    options.shape = mockdet_audit::Shape::ApiV1;
    // The orchestrator knows the detectors by name only (no detector_id).
    options.detector_names = Some(DETECTORS.map(str::to_owned).to_vec());
    let report = audit(options, std::future::pending()).await.unwrap();
    println!("{}", report.table());
    assert_only(&report, &[]);
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}
