//! Deterministic, realistic content findings.
//!
//! This module owns what a mock detector *finds* in a piece of content: the
//! rule table (PII, secrets, SQL injection, toxicity/violence keywords and
//! negative sentiment), which detector capabilities enable which rule groups,
//! the redaction of matched text, the de-duplication and capping of findings,
//! and the single [`Verdict`] a detector reports for the content.
//!
//! Everything is a pure function of `(content, capabilities)`: no randomness,
//! no clock, no global mutable state, so the same request always yields the
//! same findings.
//!
//! Cost: [`scan()`] runs on every request of a load-tested server. Which
//! rules a detector runs is worked out once per profile ([`EnabledRules`]);
//! a census of the content records its needed bytes and digits, and rules whose
//! necessary bytes are absent are skipped (`census`). Regexes are
//! compiled once ([`LazyLock`](std::sync::LazyLock)); the `regex` crate guarantees linear-time
//! matching and each rule stops after [`MAX_FINDINGS`] matches. Patterns use
//! ASCII word boundaries (`(?-u)`), so non-ASCII content stays on the fast DFA
//! engines; case-insensitive rules search an ASCII-lowercased copy of the
//! content (same byte offsets) instead of using `(?i)`, which keeps the regex
//! crate's literal prefilters; the keyword lists a profile enables share
//! one regex. The email rule runs a hand-written scanner that finds
//! exactly its regex's matches (tested against it): most real content
//! holds an address, and the regex's automata, cold in cache between
//! requests, cost more than the rest of the scan. Rules whose needed bytes
//! every prose holds (`union … select`) also name words their matches
//! contain, looked for before the regex runs.
//!
//! Layout: `census` decides which rules can be skipped; `rules` defines
//! what a rule is and which capabilities enable which rule groups; `table`
//! is the rule table itself (patterns and keyword lists); `validators` the
//! extra checks some rules apply (Luhn, SSN ranges); `compiled` the regexes
//! built once from the table; `email` the email rule's scanner; `scan` the
//! scanning, de-duplication, capping and redaction; `verdict` the choice of
//! the single [`Verdict`]. The public vocabulary ([`Finding`],
//! [`Severity`], [`Verdict`] and the limits) is defined here.

mod census;
mod compiled;
mod email;
mod rules;
mod scan;
mod table;
mod validators;
mod verdict;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub use scan::{EnabledRules, scan};
pub use verdict::verdict;

/// Upper bound on the number of findings [`scan()`] returns (the earliest ones
/// by start offset), so a 1 MiB adversarial content stays cheap to answer.
pub const MAX_FINDINGS: usize = 50;

/// Confidence reported by [`verdict()`] for content without findings.
pub const CLEAN_CONFIDENCE: f64 = 0.95;

/// How severe a finding is; ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth noting (e.g. negative sentiment).
    Low,
    /// Personal data or abusive language.
    Medium,
    /// Sensitive identifiers, credentials, attacks, threats.
    High,
    /// Credentials that grant access on their own (cloud keys, private keys).
    Critical,
}

impl Severity {
    /// The lowercase name it is serialised as.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One rule match in the content.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(deny_unknown_fields)
)]
pub struct Finding {
    /// Broad class: `pii`, `secret`, `injection`, `toxicity`, `violence`, `sentiment`.
    pub category: &'static str,
    /// Precise kind, e.g. `email`, `credit_card`, `aws_access_key`, `sql_injection`, `threat`.
    pub subcategory: &'static str,
    /// In `(0, 1]`, fixed per rule.
    pub confidence: f64,
    /// Fixed per rule.
    pub severity: Severity,
    /// Byte offset of the first matched byte in the content (a char boundary).
    pub start: usize,
    /// Byte offset one past the last matched byte (a char boundary).
    pub end: usize,
    /// The matched text; PII and secrets are masked (first and last char kept,
    /// the rest `*`), keywords and injection payloads are reported as-is.
    pub text: String,
}

/// The top-level verdict a detector reports for a piece of content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Category of the deciding finding, or `clean`.
    pub category: &'static str,
    /// Subcategory of the deciding finding; `None` when clean.
    pub subcategory: Option<&'static str>,
    /// Confidence of the deciding finding, or [`CLEAN_CONFIDENCE`].
    pub confidence: f64,
    /// Severity of the deciding finding, or `Low` when clean.
    pub severity: Severity,
}
