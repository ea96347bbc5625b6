//! The results file: the seed's format (`test_suite`, `timestamp`,
//! `summary`, `results{<type>: {status, k6_result, locust_result}}`)
//! enriched with figures, server-side data, fault windows and verdicts.
//! Written atomically and never over an earlier file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::config::{Contract, Targets};
use super::figures::{Figures, ToolResult, Verdict};
use super::prom::ServerSide;

/// A fault the runner injected, and when (seconds from the test's start).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FaultWindow {
    /// Fleet detector name.
    pub(crate) detector: String,
    /// `outage:<mode>`, `next` or `script`.
    pub(crate) action: String,
    /// When it started.
    pub(crate) start_s: f64,
    /// When it ended (or the test ended).
    pub(crate) end_s: f64,
    /// Whether the admin API accepted it.
    pub(crate) applied: bool,
}

/// One cell of the scalability matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Cell {
    /// Batch size sent.
    pub(crate) batch_size: u32,
    /// Locust users.
    pub(crate) users: u32,
    /// Locust's figures.
    pub(crate) figures: Option<Figures>,
    /// Requests the fleet's detectors received during the cell (journal).
    pub(crate) detector_calls: u64,
    /// Batch requests Locust sent.
    pub(crate) batch_requests: u64,
}

/// Everything one test type produced.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TestResult {
    /// `success`, `failed` or `error`.
    pub(crate) status: String,
    /// RFC 3339 start.
    pub(crate) started_at: String,
    /// Wall time.
    pub(crate) duration_seconds: f64,
    /// Closed loop: users wait for answers, so latency lowers the rate sent
    /// (coordinated omission) — compare intended and achieved rates.
    pub(crate) load_model: String,
    /// The rate the users would send if answers were instant.
    pub(crate) intended_rps: f64,
    /// k6's result.
    pub(crate) k6_result: Option<ToolResult>,
    /// Locust's result.
    pub(crate) locust_result: Option<ToolResult>,
    /// Each target, measured.
    pub(crate) verdicts: Vec<Verdict>,
    /// Per fleet detector, between the start and the end of the test.
    pub(crate) server_side: BTreeMap<String, ServerSide>,
    /// Injected faults (fault-tolerance).
    pub(crate) fault_windows: Vec<FaultWindow>,
    /// Scalability cells.
    pub(crate) cells: Vec<Cell>,
    /// Things worth knowing (a check that could not be made, a tool note).
    pub(crate) notes: Vec<String>,
}

/// The whole results file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Report {
    /// Always `detector_orchestration_performance`.
    pub(crate) test_suite: String,
    /// RFC 3339 start of the run.
    pub(crate) timestamp: String,
    /// The orchestrator under test.
    pub(crate) target: String,
    /// The contract the scripts spoke.
    pub(crate) contract: Option<Contract>,
    /// The targets judged against.
    pub(crate) performance_targets: Targets,
    /// Factor applied to every configured duration.
    pub(crate) duration_scale: f64,
    /// Totals.
    pub(crate) summary: Summary,
    /// Per test type, in run order.
    pub(crate) results: IndexMap<String, TestResult>,
    /// Whether the run was interrupted (Ctrl-C) before the end.
    #[serde(default)]
    pub(crate) interrupted: bool,
}

/// Totals over the test types run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Summary {
    /// Test types run.
    pub(crate) total_tests: usize,
    /// With status `success`.
    pub(crate) passed: usize,
    /// Otherwise.
    pub(crate) failed: usize,
    /// passed / total.
    pub(crate) success_rate: f64,
    /// Wall time of the whole run.
    pub(crate) duration_seconds: f64,
}

impl Report {
    /// Recomputes the summary from the results.
    pub(crate) fn summarize(&mut self, duration_seconds: f64) {
        let total = self.results.len();
        let passed = self
            .results
            .values()
            .filter(|r| r.status == "success")
            .count();
        self.summary = Summary {
            total_tests: total,
            passed,
            failed: total - passed,
            success_rate: if total == 0 {
                0.0
            } else {
                passed as f64 / total as f64
            },
            duration_seconds,
        };
    }

    /// Whether every test met every target.
    pub(crate) fn all_passed(&self) -> bool {
        !self.results.is_empty() && self.summary.failed == 0
    }
}

/// A fresh `performance_test_results_<UTC timestamp>.json` path in `dir`
/// that does not exist yet.
pub(crate) fn fresh_path(dir: &Path, stamp: &str) -> PathBuf {
    let base = format!("performance_test_results_{stamp}");
    let mut candidate = dir.join(format!("{base}.json"));
    let mut n = 1;
    while candidate.exists() {
        candidate = dir.join(format!("{base}-{n}.json"));
        n += 1;
    }
    candidate
}

/// Writes `bytes` to `path` atomically (a temporary file, then a rename).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// The newest results file in `dir`, by file name (timestamps sort).
pub(crate) fn newest(dir: &Path) -> Option<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("performance_test_results_") && n.ends_with(".json"))
        })
        .collect();
    files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    files.pop()
}

/// A file-name-safe UTC timestamp, e.g. `20261127T133405Z`.
pub(crate) fn stamp(now: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(now)
        .to_string()
        .replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_never_overwrite_and_newest_finds_the_latest() {
        let dir = std::env::temp_dir().join(format!("mockdet-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = fresh_path(&dir, "20260101T000000Z");
        write_atomic(&first, b"{}").unwrap();
        let second = fresh_path(&dir, "20260101T000000Z");
        assert_ne!(first, second);
        std::thread::sleep(std::time::Duration::from_millis(20));
        write_atomic(&second, b"{}").unwrap();
        assert_eq!(newest(&dir), Some(second));
    }

    #[test]
    fn the_summary_counts_passed_tests() {
        let mut report = Report::default();
        for (name, status) in [("smoke", "success"), ("load", "failed")] {
            report.results.insert(
                name.into(),
                TestResult {
                    status: status.into(),
                    ..TestResult::default()
                },
            );
        }
        report.summarize(12.0);
        assert_eq!(report.summary.passed, 1);
        assert_eq!(report.summary.success_rate, 0.5);
        assert!(!report.all_passed());
    }

    #[test]
    fn stamps_are_file_name_safe() {
        let s = stamp(std::time::UNIX_EPOCH);
        assert_eq!(s, "19700101T000000Z");
    }
}
