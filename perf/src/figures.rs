//! Figures a run produces, and verdicts against the targets — pure data and
//! arithmetic, unit-tested.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::config::Targets;

/// Latency and volume figures of one tool's run (or one endpoint of it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Figures {
    /// Requests sent.
    pub(crate) requests: u64,
    /// Requests that failed the contract.
    pub(crate) failures: u64,
    /// Achieved requests per second over the run.
    pub(crate) rps: f64,
    /// Median latency, ms.
    pub(crate) p50_ms: f64,
    /// 95th percentile latency, ms.
    pub(crate) p95_ms: f64,
    /// 99th percentile latency, ms.
    pub(crate) p99_ms: f64,
    /// Slowest request, ms.
    pub(crate) max_ms: f64,
}

impl Figures {
    /// Share of requests that succeeded (1 when nothing was sent).
    pub(crate) fn success_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            1.0 - self.failures as f64 / self.requests as f64
        }
    }
}

/// One point of a run's time series.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct HistoryPoint {
    /// Seconds since the run started.
    pub(crate) t: f64,
    /// Requests per second at that moment.
    pub(crate) rps: f64,
    /// Failures per second.
    pub(crate) failures_per_s: f64,
    /// Median latency, ms.
    pub(crate) p50_ms: f64,
    /// p95 latency, ms.
    pub(crate) p95_ms: f64,
    /// p99 latency, ms.
    pub(crate) p99_ms: f64,
    /// Active users.
    pub(crate) users: u64,
}

/// What one tool reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ToolResult {
    /// `success` (targets met), `failed` (ran, missed a target) or `error`
    /// (crashed or produced no figures).
    pub(crate) status: String,
    /// The command line run.
    pub(crate) command: String,
    /// Exit code, if it exited.
    pub(crate) exit_code: Option<i32>,
    /// `closed (k6 VUs)` or `closed (Locust users)`.
    pub(crate) load_model: String,
    /// Users or VUs asked for.
    pub(crate) users: u32,
    /// Overall figures.
    pub(crate) figures: Option<Figures>,
    /// Figures per endpoint.
    pub(crate) per_endpoint: BTreeMap<String, Figures>,
    /// Time series, where the tool gives one.
    pub(crate) history: Vec<HistoryPoint>,
    /// Status codes per request name (Locust), e.g. `{"orchestrate": {"206": 12}}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) status_codes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Last lines of stderr when something went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stderr_tail: Option<String>,
}

/// A target, what was measured, and whether it was met.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Verdict {
    /// Target name, e.g. `p95_response_time_ms`.
    pub(crate) target: String,
    /// The threshold.
    pub(crate) expected: f64,
    /// What was measured.
    pub(crate) measured: f64,
    /// Whether it was met.
    pub(crate) passed: bool,
    /// Which tool or check measured it.
    pub(crate) source: String,
}

/// Verdicts of one tool's figures against the targets. `throughput`
/// applies only when the run is sized to reach it (`judge_throughput`).
pub(crate) fn verdicts(
    figures: &Figures,
    targets: &Targets,
    source: &str,
    judge_throughput: bool,
) -> Vec<Verdict> {
    let mut out = vec![
        Verdict {
            target: "p95_response_time_ms".into(),
            expected: targets.p95_response_time_ms,
            measured: figures.p95_ms,
            passed: figures.requests > 0 && figures.p95_ms < targets.p95_response_time_ms,
            source: source.into(),
        },
        Verdict {
            target: "success_rate".into(),
            expected: targets.success_rate,
            measured: figures.success_rate(),
            passed: figures.requests > 0 && figures.success_rate() >= targets.success_rate,
            source: source.into(),
        },
    ];
    if judge_throughput {
        out.push(Verdict {
            target: "throughput_rps".into(),
            expected: targets.throughput_rps,
            measured: figures.rps,
            passed: figures.rps >= targets.throughput_rps,
            source: source.into(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(requests: u64, failures: u64, p95: f64, rps: f64) -> Figures {
        Figures {
            requests,
            failures,
            rps,
            p95_ms: p95,
            ..Figures::default()
        }
    }

    #[test]
    fn verdicts_compare_each_target() {
        let targets = Targets::default();
        let good = verdicts(&figures(1000, 10, 800.0, 150.0), &targets, "k6", true);
        assert!(good.iter().all(|v| v.passed), "{good:?}");
        let bad = verdicts(&figures(1000, 100, 2500.0, 20.0), &targets, "k6", true);
        assert!(bad.iter().all(|v| !v.passed), "{bad:?}");
        assert_eq!(
            verdicts(&figures(1, 0, 1.0, 1.0), &targets, "k6", false).len(),
            2
        );
    }

    #[test]
    fn nothing_sent_fails_rather_than_passing_vacuously() {
        let none = verdicts(&Figures::default(), &Targets::default(), "k6", false);
        assert!(none.iter().all(|v| !v.passed));
    }
}
