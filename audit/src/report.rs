//! The report card: one verdict per property with its evidence and the
//! parameters it was judged by; rendered as a terminal table, JSON and HTML.

use std::fmt::Write;
use std::time::{Duration, SystemTime};

use serde::{Serialize, Serializer};

use super::contract::{Answer, Shape};
use super::fleet::Seen;

/// A property's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The orchestrator did what the property asks.
    Pass,
    /// It did not; the evidence says how.
    Fail,
    /// The property does not apply (the summary says why).
    NotApplicable,
}

impl Verdict {
    /// `pass`, `FAIL` or `n/a`, for the terminal.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "FAIL",
            Verdict::NotApplicable => "n/a",
        }
    }
}

/// What the audit checks, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PropertyId {
    /// Correlation ids reach the detectors.
    IdsPropagate,
    /// 5xx answers and resets are retried, within the budget.
    #[serde(rename = "retries_on_5xx")]
    RetriesOn5xx,
    /// 4xx answers are not retried.
    #[serde(rename = "no_retry_on_4xx")]
    NoRetryOn4xx,
    /// No request gets more attempts than the stated budget allows.
    RetryAmplification,
    /// Retries wait, and wait longer each time.
    Backoff,
    /// A 429's Retry-After is waited out.
    RetryAfterHonoured,
    /// A hanging detector does not hold the answer past the SLA budget.
    TimeoutBudget,
    /// A failing detector stops being called.
    BreakerOpens,
    /// A recovered detector is probed and called again.
    BreakerRecovers,
    /// A detector whose `/health` fails is skipped, and used again after.
    UnhealthySkipped,
    /// Malformed and schema-invalid 200s count as failures.
    #[serde(rename = "bad_200s_are_failures")]
    Bad200sAreFailures,
    /// An answer says when a detector failed.
    PartialCoverageReported,
}

impl PropertyId {
    /// Every property, in report order.
    pub const ALL: [PropertyId; 12] = [
        PropertyId::IdsPropagate,
        PropertyId::RetriesOn5xx,
        PropertyId::NoRetryOn4xx,
        PropertyId::RetryAmplification,
        PropertyId::Backoff,
        PropertyId::RetryAfterHonoured,
        PropertyId::TimeoutBudget,
        PropertyId::BreakerOpens,
        PropertyId::BreakerRecovers,
        PropertyId::UnhealthySkipped,
        PropertyId::Bad200sAreFailures,
        PropertyId::PartialCoverageReported,
    ];

    /// The snake_case id (JSON, tests).
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyId::IdsPropagate => "ids_propagate",
            PropertyId::RetriesOn5xx => "retries_on_5xx",
            PropertyId::NoRetryOn4xx => "no_retry_on_4xx",
            PropertyId::RetryAmplification => "retry_amplification",
            PropertyId::Backoff => "backoff",
            PropertyId::RetryAfterHonoured => "retry_after_honoured",
            PropertyId::TimeoutBudget => "timeout_budget",
            PropertyId::BreakerOpens => "breaker_opens",
            PropertyId::BreakerRecovers => "breaker_recovers",
            PropertyId::UnhealthySkipped => "unhealthy_skipped",
            PropertyId::Bad200sAreFailures => "bad_200s_are_failures",
            PropertyId::PartialCoverageReported => "partial_coverage_reported",
        }
    }

    /// The human title.
    pub fn title(self) -> &'static str {
        match self {
            PropertyId::IdsPropagate => "ids propagate",
            PropertyId::RetriesOn5xx => "retries on 5xx / reset",
            PropertyId::NoRetryOn4xx => "no retry on 4xx",
            PropertyId::RetryAmplification => "retry amplification",
            PropertyId::Backoff => "backoff",
            PropertyId::RetryAfterHonoured => "429 Retry-After honoured",
            PropertyId::TimeoutBudget => "timeout budget",
            PropertyId::BreakerOpens => "breaker opens",
            PropertyId::BreakerRecovers => "breaker recovers",
            PropertyId::UnhealthySkipped => "unhealthy skipped",
            PropertyId::Bad200sAreFailures => "bad 200s are failures",
            PropertyId::PartialCoverageReported => "partial coverage reported",
        }
    }
}

/// One property's verdict with what it rests on.
#[derive(Debug, Clone, Serialize)]
pub struct Property {
    /// Which property.
    pub id: PropertyId,
    /// Its title.
    pub title: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// One sentence: what was seen.
    pub summary: String,
    /// Values it was judged by or measured, e.g. `retry budget: 3 (config)`.
    pub parameters: Vec<String>,
    /// The requests it rests on.
    pub evidence: Vec<Evidence>,
}

impl Property {
    pub(crate) fn new(id: PropertyId, verdict: Verdict, summary: impl Into<String>) -> Self {
        Self {
            id,
            title: id.title(),
            verdict,
            summary: summary.into(),
            parameters: Vec::new(),
            evidence: Vec::new(),
        }
    }

    pub(crate) fn parameter(mut self, line: impl Into<String>) -> Self {
        self.parameters.push(line.into());
        self
    }

    pub(crate) fn evidence(mut self, evidence: impl IntoIterator<Item = Evidence>) -> Self {
        self.evidence.extend(evidence);
        self
    }
}

/// One logical request (or a stretch of load) and what it caused.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// What was done, e.g. `next 1 × 503`.
    pub setup: String,
    /// The correlation id sent (also the request key, when it propagates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// The orchestrator's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// The faulted detector's calls for it, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<Seen>,
    /// Requests and calls over time, for load-driven scenarios.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Timeline>,
}

/// Requests sent and calls seen per bucket, with marked moments.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    /// Bucket width, in seconds.
    pub bucket_s: f64,
    /// Requests sent to the orchestrator per bucket.
    pub requests: Vec<usize>,
    /// Calls the faulted detector saw per bucket.
    pub calls: Vec<usize>,
    /// Moments, in seconds from the timeline's start: `(label, t)`.
    pub marks: Vec<(String, f64)>,
}

/// A parameter the audit judged by, and where its value came from.
#[derive(Debug, Clone, Serialize)]
pub struct ParameterRow {
    /// e.g. `retry budget`.
    pub name: String,
    /// e.g. `3 retries`.
    pub value: String,
    /// `config`, `option`, `default` or `unknown` (then measured).
    pub source: String,
}

/// The whole report card.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The orchestrator's URL.
    pub target: String,
    /// Its API shape.
    pub shape: Shape,
    /// The fleet's detectors, as `name (url)`.
    pub fleet: Vec<String>,
    /// The detector that took the faults.
    pub faulted_detector: String,
    /// When the audit started.
    #[serde(serialize_with = "as_rfc3339")]
    pub started: SystemTime,
    /// How long it took, in seconds.
    pub duration_s: f64,
    /// `--quick`.
    pub quick: bool,
    /// Stopped early by Ctrl-C (the properties judged so far are kept).
    pub interrupted: bool,
    /// The parameters judged by.
    pub parameters: Vec<ParameterRow>,
    /// One entry per property, in order.
    pub properties: Vec<Property>,
    /// How many passed, failed, did not apply.
    pub passed: usize,
    /// See `passed`.
    pub failed: usize,
    /// See `passed`.
    pub not_applicable: usize,
}

impl Report {
    /// Whether every applicable property passed (and the audit ran to the end).
    pub fn passed(&self) -> bool {
        self.failed == 0 && !self.interrupted
    }

    /// The property `id`, if judged.
    pub fn property(&self, id: PropertyId) -> Option<&Property> {
        self.properties.iter().find(|p| p.id == id)
    }

    /// The ids of the failed properties.
    pub fn failures(&self) -> Vec<PropertyId> {
        self.properties
            .iter()
            .filter(|p| p.verdict == Verdict::Fail)
            .map(|p| p.id)
            .collect()
    }

    pub(crate) fn count(&mut self) {
        let count = |v| self.properties.iter().filter(|p| p.verdict == v).count();
        (self.passed, self.failed, self.not_applicable) = (
            count(Verdict::Pass),
            count(Verdict::Fail),
            count(Verdict::NotApplicable),
        );
    }

    /// The terminal table: one line per property, then parameters.
    pub fn table(&self) -> String {
        let mut out = format!(
            "mockdet audit of {} ({}), faults on {}\n\n",
            self.target, self.shape, self.faulted_detector
        );
        let width = PropertyId::ALL
            .iter()
            .map(|p| p.title().len())
            .max()
            .unwrap_or(0);
        for property in &self.properties {
            let _ = writeln!(
                out,
                "  {:<width$}  {:<4}  {}",
                property.title,
                property.verdict.label(),
                property.summary
            );
        }
        let _ = writeln!(out, "\nJudged by:");
        for row in &self.parameters {
            let _ = writeln!(out, "  {}: {} ({})", row.name, row.value, row.source);
        }
        let _ = write!(
            out,
            "\n{} passed, {} failed, {} not applicable in {:.1} s{}",
            self.passed,
            self.failed,
            self.not_applicable,
            self.duration_s,
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        );
        out
    }
}

/// Serializes a duration as fractional milliseconds.
pub(crate) fn as_ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0)
}

/// Serializes a time as RFC 3339 with milliseconds.
pub(crate) fn as_rfc3339<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*t))
}

/// `1.234 s` or `87 ms`.
pub(crate) fn human(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{} ms", d.as_millis())
    }
}
