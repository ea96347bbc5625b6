//! A fleet and a reference orchestrator with short breaker, health and SLA
//! settings, and audit options that state them, so an audit takes seconds.

#![allow(dead_code)]

use std::time::Duration;

use mockdet::Fleet;
use mockdet_audit::{AuditOptions, Known, Report, Verdict};
use mockdet_orchestrator::{Defect, Orchestrator};

pub const DETECTORS: [&str; 5] = ["success", "variable", "failing", "timeout", "batch"];
pub const SLA: Duration = Duration::from_millis(1000);
pub const THRESHOLD: u32 = 3;
pub const RECOVERY: Duration = Duration::from_millis(2000);
pub const HEALTH_INTERVAL: Duration = Duration::from_millis(500);

/// The five built-in detectors and a reference orchestrator in front of
/// them, with `defects` switched on.
pub async fn setup(defects: &[Defect]) -> (Fleet, Orchestrator, AuditOptions) {
    let mut builder = Fleet::builder().seed(7);
    for name in DETECTORS {
        builder = builder.builtin(name);
    }
    let fleet = builder.start().await.expect("fleet starts");
    let mut orchestrator = Orchestrator::builder()
        .sla_budget(SLA)
        .max_retries(3)
        .breaker(THRESHOLD, RECOVERY)
        .health_interval(HEALTH_INTERVAL);
    for name in DETECTORS {
        orchestrator = orchestrator.detector(name, fleet.url(name));
    }
    for defect in defects {
        orchestrator = orchestrator.defect(*defect);
    }
    let orchestrator = orchestrator.start().await.expect("orchestrator starts");
    let mut options = AuditOptions::new(
        orchestrator.url(),
        DETECTORS.iter().map(|n| fleet.url(n)).collect(),
    );
    options.quick = true;
    options.retry_budget = Some(Known::option(3));
    options.sla_budget = Some(Known::option(SLA));
    options.breaker_threshold = Some(Known::option(THRESHOLD));
    options.recovery = Some(Known::option(RECOVERY));
    options.health_interval = Some(Known::option(HEALTH_INTERVAL));
    (fleet, orchestrator, options)
}

/// Asserts that exactly `failing` failed, with evidence, and that every
/// other property passed (none is left out as not applicable).
pub fn assert_only(report: &Report, failing: &[mockdet_audit::PropertyId]) {
    let table = report.table();
    assert_eq!(report.properties.len(), 12, "{table}");
    for property in &report.properties {
        if failing.contains(&property.id) {
            assert_eq!(property.verdict, Verdict::Fail, "{table}");
            assert!(!property.evidence.is_empty(), "no evidence: {table}");
        } else {
            assert_eq!(property.verdict, Verdict::Pass, "{table}");
        }
    }
}
