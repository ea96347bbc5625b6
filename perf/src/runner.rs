//! The perf runner: runs the selected test types against a target with real
//! k6 and Locust, drives the fleet while it runs, and judges the figures.

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::config::{PerfConfig, Size};
use super::figures::{ToolResult, Verdict, verdicts};
use super::fleet::FleetView;
use super::report::TestResult;
use super::{k6, locust, progress, scripts};

/// The test types, in the order `all` runs them.
pub(crate) const TEST_TYPES: [&str; 5] =
    ["smoke", "load", "stress", "fault-tolerance", "scalability"];

/// Mean think time of the scripts' users (k6 0.5–1 s, Locust 0.5–1.5 s):
/// the rate a closed-loop user would send if answers were instant.
const K6_THINK_S: f64 = 0.75;
const LOCUST_THINK_S: f64 = 1.0;

/// Everything a run needs, resolved.
#[derive(Debug)]
pub(crate) struct Runner {
    pub(crate) config: PerfConfig,
    pub(crate) target: String,
    pub(crate) fleet: FleetView,
    pub(crate) scale: f64,
    pub(crate) out: PathBuf,
    pub(crate) workers: u32,
    pub(crate) k6: PathBuf,
    pub(crate) locust: PathBuf,
    pub(crate) scripts: scripts::Exported,
    /// `--samples`: keep every request's client-observed latency.
    pub(crate) samples: bool,
    /// `--k6-instances`: k6 processes splitting the load by segment.
    pub(crate) k6_instances: u32,
}

impl Runner {
    /// Parses a configured duration and applies `--duration-scale` (at least 1 s).
    pub(crate) fn scaled(&self, text: &str) -> Duration {
        let base = humantime::parse_duration(text).unwrap_or(Duration::from_secs(60));
        base.mul_f64(self.scale).max(Duration::from_secs(1))
    }

    /// Environment every tool gets: the seed's variables and the contract.
    fn env(&self, batch_size: u32) -> Vec<(String, String)> {
        let perf = &self.config.perf;
        let targets = &self.config.performance_targets;
        [
            ("PERF_BASE_URL", self.target.clone()),
            ("LOCUST_HOST", self.target.clone()),
            ("ORCHESTRATION_PERF_TENANT_ID", perf.tenant_id.clone()),
            ("ORCHESTRATION_PERF_API_KEY", perf.api_key.clone()),
            (
                "ORCHESTRATION_PERF_API_KEY_HEADER",
                perf.api_key_header.clone(),
            ),
            ("ORCHESTRATION_POLICY_BUNDLE", perf.policy_bundle.clone()),
            ("ORCHESTRATION_PERF_BATCH_SIZE", batch_size.to_string()),
            (
                "MOCKDET_PERF_CONTRACT",
                self.scripts.contract.display().to_string(),
            ),
            ("K6_P95_MS", targets.p95_response_time_ms.to_string()),
            ("K6_SUCCESS_RATE", targets.success_rate.to_string()),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .to_vec()
    }

    async fn k6(&self, test: &str, size: &Size) -> ToolResult {
        let env = self.env(self.config.perf.batch_size);
        let stem = self.out.join(format!("{test}-k6"));
        k6::run(k6::K6Run {
            binary: &self.k6,
            script: &self.scripts.k6,
            test_type: test,
            vus: size.vus,
            duration: self.scaled(&size.duration),
            env: &env,
            log_stem: &stem,
            samples: self.samples.then(|| stem.with_extension("samples.json")),
            instances: self.k6_instances,
        })
        .await
    }

    pub(crate) async fn locust(
        &self,
        name: &str,
        class: &str,
        users: u32,
        duration: Duration,
        batch: u32,
        tag: Option<&str>,
    ) -> ToolResult {
        let mut env = self.env(batch);
        let stem = self.out.join(format!("{name}-locust"));
        if self.samples {
            let path = stem.with_extension("samples.csv");
            // The header first; Locust's processes append `ms,status` lines.
            if std::fs::write(&path, "ms,status\n").is_ok() {
                env.push((
                    "MOCKDET_LOCUST_SAMPLES".to_owned(),
                    path.display().to_string(),
                ));
            }
        }
        locust::run(locust::LocustRun {
            binary: &self.locust,
            locustfile: &self.scripts.locust,
            user_class: class,
            users,
            duration,
            host: &self.target,
            env: &env,
            log_stem: &stem,
            workers: self.workers,
            tag,
        })
        .await
    }

    /// smoke, load or stress: k6 then Locust, each closed-loop.
    pub(crate) async fn closed(&self, test: &str) -> TestResult {
        let size = match test {
            "smoke" => &self.config.perf.smoke,
            "load" => &self.config.perf.load,
            _ => &self.config.perf.stress,
        };
        let duration = self.scaled(&size.duration);
        let mut result = begin(duration);
        let before = self.fleet.scrape().await;
        let watch = progress::watch(&self.fleet, format!("{test}: k6"), duration);
        let k6 = self.k6(test, size).await;
        watch.finish().await;
        let watch = progress::watch(&self.fleet, format!("{test}: locust"), duration);
        let locust = self
            .locust(
                test,
                "OrchestrationUser",
                size.users,
                duration,
                self.config.perf.batch_size,
                None,
            )
            .await;
        watch.finish().await;
        result.server_side = server_side(&before, &self.fleet.scrape().await);
        result.intended_rps = f64::from(size.vus) / K6_THINK_S;
        // Throughput is judged where the run is sized to reach it.
        let judge_rps = f64::from(size.users) / LOCUST_THINK_S
            >= self.config.performance_targets.throughput_rps;
        result.verdicts = self.judge(&[("k6", &k6), ("locust", &locust)], judge_rps);
        result.k6_result = Some(k6);
        result.locust_result = Some(locust);
        finish(result)
    }

    /// Verdicts of every tool that produced figures.
    pub(crate) fn judge(&self, tools: &[(&str, &ToolResult)], judge_rps: bool) -> Vec<Verdict> {
        tools
            .iter()
            .filter_map(|(name, tool)| tool.figures.as_ref().map(|f| (name, f)))
            .flat_map(|(name, f)| verdicts(f, &self.config.performance_targets, name, judge_rps))
            .collect()
    }
}

/// A result with its start recorded and the closed-loop caveat stated.
pub(crate) fn begin(planned: Duration) -> TestResult {
    TestResult {
        started_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        duration_seconds: planned.as_secs_f64(),
        load_model: "closed: users wait for each answer, so slow answers lower the rate \
                     sent (coordinated omission); compare intended and achieved rates"
            .into(),
        ..TestResult::default()
    }
}

/// Sets the status from the tools and verdicts.
pub(crate) fn finish(mut result: TestResult) -> TestResult {
    let statuses: Vec<String> = [&result.k6_result, &result.locust_result]
        .into_iter()
        .flatten()
        .map(|t| t.status.clone())
        .collect();
    let errored = statuses.iter().filter(|s| *s == "error").count();
    let missed = result.verdicts.iter().any(|v| !v.passed);
    for tool in [&mut result.k6_result, &mut result.locust_result]
        .into_iter()
        .flatten()
    {
        if tool.status != "error" {
            let name = if tool.load_model.contains("k6") {
                "k6"
            } else {
                "locust"
            };
            let own_miss = result
                .verdicts
                .iter()
                .any(|v| v.source == name && !v.passed);
            tool.status = if own_miss { "failed" } else { "success" }.into();
        }
    }
    result.status = if !statuses.is_empty() && errored == statuses.len() {
        "error"
    } else if errored > 0 || missed || result.verdicts.is_empty() {
        "failed"
    } else {
        "success"
    }
    .into();
    result
}

/// Per-detector server-side figures between two scrapes.
pub(crate) fn server_side(
    before: &std::collections::BTreeMap<String, Vec<super::prom::Sample>>,
    after: &std::collections::BTreeMap<String, Vec<super::prom::Sample>>,
) -> std::collections::BTreeMap<String, super::prom::ServerSide> {
    after
        .iter()
        .map(|(name, samples)| {
            let empty = Vec::new();
            let earlier = before.get(name).unwrap_or(&empty);
            (name.clone(), super::prom::server_side(earlier, samples))
        })
        .collect()
}

/// Seconds since `start`.
pub(crate) fn since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}
