//! The two scenario test types: fault tolerance (Locust's
//! FaultToleranceUser while the runner injects faults through the fleet's
//! admin API) and scalability (a batch size × users matrix).

use std::time::{Duration, Instant};

use super::config::parse_offset;
use super::figures::Verdict;
use super::fleet::{orchestrate_count, scrape_url};
use super::progress;
use super::report::{Cell, FaultWindow, TestResult};
use super::runner::{Runner, begin, finish, server_side, since};

impl Runner {
    /// Fault tolerance: inject the configured faults on schedule, then check
    /// the orchestrator degraded gracefully.
    pub(crate) async fn fault_tolerance(&self) -> TestResult {
        let scenario = &self.config.perf.fault_tolerance;
        let duration = self.scaled(&scenario.duration);
        let mut result = begin(duration);
        let client = reqwest::Client::new();
        let target_before = scrape_url(&client, &self.target).await;
        let fleet_before = self.fleet.scrape().await;
        let start = Instant::now();
        let watch = progress::watch(&self.fleet, "fault-tolerance: locust".into(), duration);
        let (locust, windows) = tokio::join!(
            self.locust(
                "fault-tolerance",
                "FaultToleranceUser",
                scenario.users,
                duration,
                self.config.perf.batch_size,
                None,
            ),
            self.inject(start, duration),
        );
        watch.finish().await;
        self.fleet.clear().await;
        let ended = since(start);
        result.fault_windows = windows
            .into_iter()
            .map(|w| FaultWindow {
                end_s: w.end_s.min(ended),
                ..w
            })
            .collect();
        result.server_side = server_side(&fleet_before, &self.fleet.scrape().await);
        let target_after = scrape_url(&client, &self.target).await;
        result.intended_rps = f64::from(scenario.users);
        result.verdicts = self.judge(&[("locust", &locust)], false);
        let counts = status_counts(&locust.status_codes)
            .or_else(|| metric_counts(&target_before, &target_after));
        add_degradation_checks(&mut result, counts, scenario.max_server_error_rate);
        result.locust_result = Some(locust);
        finish(result)
    }

    /// Applies each fault step at its offset; returns the windows.
    async fn inject(&self, start: Instant, total: Duration) -> Vec<FaultWindow> {
        let mut steps: Vec<(Duration, &super::config::FaultStep)> = Vec::new();
        for step in &self.config.perf.fault_tolerance.faults {
            match parse_offset(&step.at, total) {
                Ok(at) => steps.push((
                    at.mul_f64(if step.at.ends_with('%') {
                        1.0
                    } else {
                        self.scale
                    }),
                    step,
                )),
                Err(e) => {
                    tracing::warn!(detector = %step.detector, error = %e, "fault step skipped")
                }
            }
        }
        steps.sort_by_key(|(at, _)| *at);
        let mut windows = Vec::new();
        for (at, step) in steps {
            tokio::time::sleep_until(tokio::time::Instant::from_std(start + at)).await;
            let start_s = since(start);
            let (action, applied, lasts) = match self.fleet.apply(step).await {
                Ok((action, lasts)) => (action, true, lasts),
                Err(e) => {
                    tracing::warn!(error = %e, "fault step failed");
                    ("error".to_owned(), false, Some(Duration::ZERO))
                }
            };
            tracing::info!(detector = %step.detector, %action, at_s = start_s, "fault injected");
            windows.push(FaultWindow {
                detector: step.detector.clone(),
                action,
                start_s,
                end_s: start_s + lasts.map_or(f64::INFINITY, |d| d.as_secs_f64()),
                applied,
            });
        }
        windows
    }

    /// Scalability: every batch size × user count cell, recording what the
    /// fleet received, so the report shows batch size really reached it.
    pub(crate) async fn scalability(&self) -> TestResult {
        let matrix = &self.config.perf.scalability;
        let cell_time = self.scaled(&matrix.duration);
        let cells = (matrix.batch_sizes.len() * matrix.users.len()) as u32;
        let mut result = begin(cell_time * cells.max(1));
        // Only batches, so the batch size is the one thing that varies; a
        // target without a batch endpoint gets single requests instead.
        let tag = self.config.contract().batch_path.map(|_| "batch");
        if tag.is_none() {
            result
                .notes
                .push("the contract has no batch endpoint: cells send single requests".into());
        }
        let fleet_before = self.fleet.scrape().await;
        for &batch_size in &matrix.batch_sizes {
            for &users in &matrix.users {
                self.scalability_cell(&mut result, batch_size, users, cell_time, tag)
                    .await;
            }
        }
        result.server_side = server_side(&fleet_before, &self.fleet.scrape().await);
        if result.cells.iter().all(|c| c.figures.is_none()) {
            result.status = "error".into();
            return result;
        }
        let missed = result.verdicts.iter().any(|v| !v.passed);
        result.status = if missed { "failed" } else { "success" }.into();
        result
    }

    /// One scalability cell: Locust at `users` sending batches of
    /// `batch_size`; adds its verdicts, cell and any failure note to `result`.
    async fn scalability_cell(
        &self,
        result: &mut TestResult,
        batch_size: u32,
        users: u32,
        cell_time: Duration,
        tag: Option<&str>,
    ) {
        let before = self.fleet.detection_requests().await;
        let name = format!("scalability-b{batch_size}-u{users}");
        let watch = progress::watch(&self.fleet, name.clone(), cell_time);
        let tool = self
            .locust(
                &name,
                "OrchestrationUser",
                users,
                cell_time,
                batch_size,
                tag,
            )
            .await;
        watch.finish().await;
        let detector_calls = self.fleet.detection_requests().await.saturating_sub(before);
        let batch_requests = tool.per_endpoint.get("batch").map_or(0, |f| f.requests);
        if tool.status == "error" {
            result
                .notes
                .push(format!("{name}: Locust failed: {:?}", tool.stderr_tail));
        }
        let cell_verdicts = self.judge(&[("locust", &tool)], false);
        result
            .verdicts
            .extend(cell_verdicts.into_iter().map(|v| Verdict {
                source: format!("locust b{batch_size} u{users}"),
                ..v
            }));
        result.cells.push(Cell {
            batch_size,
            users,
            figures: tool.figures.clone(),
            detector_calls,
            batch_requests,
        });
    }
}

/// Answers by class during a fault-tolerance run.
#[derive(Debug, Clone, Copy, PartialEq)]
struct StatusCounts {
    source: &'static str,
    total: f64,
    partial: f64,
    server_errors: f64,
}

impl StatusCounts {
    /// Graceful degradation: partial answers (206) appear and 5xx stay
    /// under `max_5xx` of all answers.
    fn checks(self, max_5xx: f64) -> Vec<Verdict> {
        let rate = self.server_errors / self.total.max(1.0);
        vec![
            Verdict {
                target: "partial_coverage_answers".into(),
                expected: 1.0,
                measured: self.partial,
                passed: self.partial >= 1.0,
                source: self.source.into(),
            },
            Verdict {
                target: "server_error_rate".into(),
                expected: max_5xx,
                measured: rate,
                passed: rate <= max_5xx,
                source: self.source.into(),
            },
        ]
    }
}

/// Adds the graceful-degradation checks from `counts` (a note when there
/// are none), and a note when some fault step was not applied.
fn add_degradation_checks(result: &mut TestResult, counts: Option<StatusCounts>, max_5xx: f64) {
    match counts {
        Some(counts) => result.verdicts.extend(counts.checks(max_5xx)),
        None => result.notes.push(
            "no status counts (neither the locustfile's status file nor the target's orchestrate_requests_total{status}): 206 and 5xx checks were not made"
                .into(),
        ),
    }
    if result.fault_windows.iter().any(|w| !w.applied) {
        result
            .notes
            .push("some fault steps were not applied; see fault_windows".into());
    }
}

/// Counts from the locustfile's status file (batch items excluded: their
/// batch is counted once).
fn status_counts(
    codes: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, u64>>,
) -> Option<StatusCounts> {
    let answers: Vec<(&String, u64)> = codes
        .iter()
        .filter(|(name, _)| !name.ends_with(":item"))
        .flat_map(|(_, by_code)| by_code.iter().map(|(code, n)| (code, *n)))
        .collect();
    let total: u64 = answers.iter().map(|(_, n)| n).sum();
    (total > 0).then(|| StatusCounts {
        source: "locust status codes",
        total: total as f64,
        partial: answers
            .iter()
            .filter(|(c, _)| *c == "206")
            .map(|(_, n)| *n as f64)
            .sum(),
        server_errors: answers
            .iter()
            .filter(|(c, _)| c.starts_with('5'))
            .map(|(_, n)| *n as f64)
            .sum(),
    })
}

/// Counts from the target's own `orchestrate_requests_total{status}`.
fn metric_counts(
    before: &[super::prom::Sample],
    after: &[super::prom::Sample],
) -> Option<StatusCounts> {
    let delta =
        |f: &dyn Fn(&str) -> bool| orchestrate_count(after, f) - orchestrate_count(before, f);
    let total = delta(&|_| true);
    (total > 0.0).then(|| StatusCounts {
        source: "target /metrics",
        total,
        partial: delta(&|s| s == "206"),
        server_errors: delta(&|s| s.starts_with('5')),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn status_counts_skip_batch_items_and_judge_degradation() {
        let mut codes: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        codes.insert(
            "fault:required_failing".into(),
            [
                ("206".to_owned(), 30),
                ("200".to_owned(), 60),
                ("502".to_owned(), 2),
            ]
            .into(),
        );
        codes.insert("batch:item".into(), [("500".to_owned(), 50)].into());
        let counts = status_counts(&codes).unwrap();
        assert_eq!(counts.total, 92.0);
        let checks = counts.checks(0.05);
        assert!(checks.iter().all(|v| v.passed), "{checks:?}");
        assert!(status_counts(&BTreeMap::new()).is_none());
    }
}
