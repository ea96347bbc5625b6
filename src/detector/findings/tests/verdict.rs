//! The verdict picked from findings, and the JSON form of severities and
//! verdicts.

use super::super::{CLEAN_CONFIDENCE, Finding, Severity, verdict};
use super::{ALL, scan_with};

fn finding(
    severity: Severity,
    confidence: f64,
    start: usize,
    subcategory: &'static str,
) -> Finding {
    Finding {
        category: "test",
        subcategory,
        confidence,
        severity,
        start,
        end: start + 1,
        text: String::new(),
    }
}

#[test]
fn verdict_picks_most_severe_then_confident_then_earliest() {
    let clean = verdict(&[]);
    assert_eq!(
        (clean.category, clean.subcategory, clean.severity),
        ("clean", None, Severity::Low)
    );
    assert_eq!(clean.confidence, CLEAN_CONFIDENCE);
    let findings = [
        finding(Severity::Medium, 0.99, 0, "medium"),
        finding(Severity::High, 0.7, 1, "high_low_conf"),
        finding(Severity::High, 0.9, 2, "high_first"),
        finding(Severity::High, 0.9, 3, "high_later"),
        finding(Severity::Low, 1.0, 4, "low"),
    ];
    let top = verdict(&findings);
    assert_eq!(top.subcategory, Some("high_first"));
    assert_eq!(
        (top.severity, top.confidence, top.category),
        (Severity::High, 0.9, "test")
    );
    let real = verdict(&scan_with("ssn 123-45-6789 key AKIAIOSFODNN7EXAMPLE", ALL));
    assert_eq!(
        (real.category, real.subcategory, real.severity),
        ("secret", Some("aws_access_key"), Severity::Critical)
    );
}

#[test]
fn severity_serialises_lowercase() {
    assert_eq!(
        serde_json::to_string(&Severity::Critical).expect("serialise"),
        "\"critical\""
    );
    let parsed: Severity = serde_json::from_str("\"medium\"").expect("deserialise");
    assert_eq!(parsed, Severity::Medium);
    let json = serde_json::to_value(verdict(&[])).expect("serialise");
    assert_eq!(
        json,
        serde_json::json!({"category": "clean", "subcategory": null, "confidence": 0.95, "severity": "low"})
    );
}

#[test]
fn severity_names_are_their_serialised_form() {
    for severity in [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ] {
        assert_eq!(
            serde_json::to_string(&severity).unwrap(),
            format!("\"{}\"", severity.as_str())
        );
    }
}
