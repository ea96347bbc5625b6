//! Summarising findings into the single [`Verdict`] a detector reports for a
//! piece of content: its most severe finding decides.

use std::cmp::Ordering;

use super::{CLEAN_CONFIDENCE, Finding, Severity, Verdict};

/// Summarise findings into the detector's top-level verdict.
///
/// The most severe finding decides (ties: highest confidence, then earliest
/// start); no findings gives `clean` with [`CLEAN_CONFIDENCE`] and `Low`.
pub fn verdict(findings: &[Finding]) -> Verdict {
    let top = findings.iter().reduce(|best, candidate| {
        let better = candidate
            .severity
            .cmp(&best.severity)
            .then_with(|| candidate.confidence.total_cmp(&best.confidence))
            .then_with(|| best.start.cmp(&candidate.start));
        if better == Ordering::Greater {
            candidate
        } else {
            best
        }
    });
    match top {
        Some(finding) => Verdict {
            category: finding.category,
            subcategory: Some(finding.subcategory),
            confidence: finding.confidence,
            severity: finding.severity,
        },
        None => Verdict {
            category: "clean",
            subcategory: None,
            confidence: CLEAN_CONFIDENCE,
            severity: Severity::Low,
        },
    }
}
