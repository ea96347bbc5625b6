//! What counts as a detector's successful answer: a 200 whose body parses
//! as CONTRACT §2's `DetectorResult` — required fields present, confidence
//! in (0, 1], category not `error`. Extra fields are ignored.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A detector's severity; ordered, so the worst one can be reported.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// The validated part of a detector's answer, as the orchestrator reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub(crate) struct DetectorResult {
    pub(crate) detector_id: String,
    pub(crate) detector_type: String,
    pub(crate) confidence: f64,
    pub(crate) category: String,
    #[serde(default)]
    pub(crate) subcategory: Option<String>,
    pub(crate) severity: Severity,
    #[serde(default)]
    pub(crate) findings: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) processing_time_ms: Option<f64>,
}

/// Why a detector's 200 does not count as an answer. Not a failure of the
/// orchestrator: the call is reported as failed with this as its `error`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InvalidResult {
    /// The body is not JSON of the right shape.
    #[error("not a DetectorResult: {0}")]
    Shape(#[source] serde_json::Error),
    /// `detector_id` is the empty string.
    #[error("`detector_id` is empty")]
    EmptyDetectorId,
    /// `confidence` is outside (0, 1].
    #[error("`confidence` {0} is not in (0, 1] (0 counts as failed)")]
    Confidence(f64),
    /// `category` is empty or `error`.
    #[error("`category` {0:?} counts as failed")]
    Category(String),
    /// `processing_time_ms` is below zero.
    #[error("`processing_time_ms` is negative")]
    NegativeProcessingTime,
}

impl DetectorResult {
    /// A result with nothing found (what the `MalformedCountsAsSuccess`
    /// defect makes of a bad body).
    pub(crate) fn empty() -> Self {
        Self {
            detector_id: "unknown".to_owned(),
            detector_type: "unknown".to_owned(),
            confidence: 1.0,
            category: "safe".to_owned(),
            subcategory: None,
            severity: Severity::Low,
            findings: Vec::new(),
            processing_time_ms: None,
        }
    }
}

/// Parses and checks a 200 body; the error says what is wrong.
pub(crate) fn parse(body: &[u8]) -> Result<DetectorResult, InvalidResult> {
    let result: DetectorResult = serde_json::from_slice(body).map_err(InvalidResult::Shape)?;
    if result.detector_id.is_empty() {
        return Err(InvalidResult::EmptyDetectorId);
    }
    if !(result.confidence > 0.0 && result.confidence <= 1.0) {
        return Err(InvalidResult::Confidence(result.confidence));
    }
    if result.category.is_empty() || result.category == "error" {
        return Err(InvalidResult::Category(result.category));
    }
    if result.processing_time_ms.is_some_and(|ms| ms < 0.0) {
        return Err(InvalidResult::NegativeProcessingTime);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(overrides: Value) -> Vec<u8> {
        let mut base = json!({
            "detector_id": "d", "detector_type": "pii", "confidence": 0.9,
            "category": "pii", "severity": "high", "findings": [], "extra": 1,
        });
        if let (Some(base), Some(over)) = (base.as_object_mut(), overrides.as_object()) {
            for (k, v) in over {
                base.insert(k.clone(), v.clone());
            }
        }
        serde_json::to_vec(&base).expect("serializes")
    }

    #[test]
    fn a_complete_body_parses_and_extra_fields_are_ignored() {
        let result = parse(&body(json!({}))).expect("valid");
        assert_eq!(result.severity, Severity::High);
        assert_eq!(result.subcategory, None);
    }

    #[test]
    fn the_contract_failures_are_rejected() {
        for bad in [
            json!({"confidence": 0.0}),
            json!({"confidence": 1.5}),
            json!({"category": "error"}),
            json!({"category": ""}),
            json!({"detector_id": ""}),
            json!({"severity": "extreme"}),
            json!({"processing_time_ms": -1.0}),
            json!({"detector_id": null}),
        ] {
            assert!(parse(&body(bad.clone())).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn malformed_json_is_rejected() {
        assert!(parse(b"{\"detector_id\": \"d\", \"conf").is_err());
        assert!(parse(b"").is_err());
    }

    #[test]
    fn severities_are_ordered() {
        assert!(Severity::Critical > Severity::High && Severity::Medium > Severity::Low);
    }
}
