//! Running k6 for one test type and reading its summary JSON.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::figures::Figures;

/// Endpoints the k6 script tags its custom metrics with.
pub(crate) const ENDPOINTS: [&str; 5] = ["orchestrate", "batch", "async", "status", "health"];

/// Overall and per-endpoint figures from a `handleSummary` JSON file.
pub(crate) fn read_summary(path: &Path) -> Option<(Figures, BTreeMap<String, Figures>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let summary: Value = serde_json::from_str(&text).ok()?;
    let metrics = summary.get("metrics")?;
    let duration_s = summary
        .pointer("/state/testRunDurationMs")
        .and_then(Value::as_f64)
        .map(|ms| ms / 1000.0);
    let overall = trend(
        metrics.get("http_req_duration")?,
        Figures {
            requests: count(metrics.get("http_reqs")),
            failures: passes(metrics.get("http_req_failed")),
            rps: metrics
                .pointer("/http_reqs/values/rate")
                .and_then(Value::as_f64)
                .unwrap_or(0.0),
            ..Figures::default()
        },
    );
    let per_endpoint = ENDPOINTS
        .iter()
        .filter_map(|endpoint| {
            let requests = count(metrics.get(format!("requests_{endpoint}").as_str()));
            if requests == 0 {
                return None;
            }
            let base = Figures {
                requests,
                failures: count(metrics.get(format!("failures_{endpoint}").as_str())),
                rps: duration_s.map_or(0.0, |d| requests as f64 / d.max(1e-9)),
                ..Figures::default()
            };
            let figures = metrics
                .get(format!("latency_{endpoint}").as_str())
                .map_or(base.clone(), |t| trend(t, base));
            Some(((*endpoint).to_owned(), figures))
        })
        .collect();
    Some((overall, per_endpoint))
}

fn values(metric: Option<&Value>) -> Option<&Value> {
    metric?.get("values")
}

fn count(metric: Option<&Value>) -> u64 {
    values(metric)
        .and_then(|v| v.get("count"))
        .and_then(Value::as_f64)
        .unwrap_or(0.0) as u64
}

/// For a Rate metric like `http_req_failed`, the number of true samples.
fn passes(metric: Option<&Value>) -> u64 {
    values(metric)
        .and_then(|v| v.get("passes"))
        .and_then(Value::as_f64)
        .unwrap_or(0.0) as u64
}

/// A Trend's figures as k6 computed them: its `p(N)` interpolates between
/// ranks, not the nearest-rank rule of `mockdet-stats`; with the thousands
/// of samples of a run the two differ by at most the gap between two
/// neighbouring samples. Reading k6's raw samples instead would mean
/// writing every request to a CSV output.
fn trend(metric: &Value, base: Figures) -> Figures {
    let stat = |key: &str| {
        metric
            .pointer(&format!("/values/{}", key.replace('/', "~1")))
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    };
    Figures {
        p50_ms: stat("med"),
        p95_ms: stat("p(95)"),
        p99_ms: stat("p(99)"),
        max_ms: stat("max"),
        ..base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_gives_overall_and_per_endpoint_figures() {
        let dir = std::env::temp_dir().join(format!("mockdet-k6-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("summary.json");
        let summary = serde_json::json!({
            "state": {"testRunDurationMs": 10000.0},
            "metrics": {
                "http_reqs": {"values": {"count": 200.0, "rate": 20.0}},
                "http_req_failed": {"values": {"rate": 0.05, "passes": 10.0, "fails": 190.0}},
                "http_req_duration": {"values": {"med": 300.0, "p(95)": 900.0, "p(99)": 1200.0, "max": 1500.0}},
                "requests_orchestrate": {"values": {"count": 150.0}},
                "failures_orchestrate": {"values": {"count": 6.0}},
                "latency_orchestrate": {"values": {"med": 310.0, "p(95)": 950.0, "p(99)": 1250.0, "max": 1500.0}}
            }
        });
        std::fs::write(&path, summary.to_string()).unwrap();
        let (overall, per) = read_summary(&path).unwrap();
        assert_eq!(overall.requests, 200);
        assert_eq!(overall.failures, 10);
        assert_eq!(overall.p95_ms, 900.0);
        assert_eq!(per["orchestrate"].requests, 150);
        assert_eq!(per["orchestrate"].failures, 6);
        assert_eq!(per["orchestrate"].rps, 15.0);
        assert_eq!(per["orchestrate"].p95_ms, 950.0);
        assert!(!per.contains_key("batch"));
    }
}

/// How k6 is asked to run one closed-loop test type.
#[derive(Debug, Clone)]
pub(crate) struct K6Run<'a> {
    pub(crate) binary: &'a Path,
    pub(crate) script: &'a Path,
    pub(crate) test_type: &'a str,
    pub(crate) vus: u32,
    pub(crate) duration: std::time::Duration,
    pub(crate) env: &'a [(String, String)],
    pub(crate) log_stem: &'a Path,
    /// Where k6 writes every metric point (`--out json=`), if anywhere.
    pub(crate) samples: Option<std::path::PathBuf>,
    /// k6 processes, each running its `--execution-segment` of the load.
    pub(crate) instances: u32,
}

/// Runs k6 (one process, or `instances` segments merged) and reads its
/// figures.
pub(crate) async fn run(spec: K6Run<'_>) -> super::figures::ToolResult {
    if spec.instances > 1 {
        return run_segments(spec).await;
    }
    run_one(spec, None).await
}

/// Runs `spec.instances` k6 processes at once, instance `i` on the segment
/// `i/n:(i+1)/n`, each writing its raw points to
/// `<stem>-<i>.samples.json` and its summary to `<stem>-<i>.summary.json`;
/// the figures are merged from the raw points ([`super::k6_merge`]).
async fn run_segments(spec: K6Run<'_>) -> super::figures::ToolResult {
    let n = spec.instances;
    let stems: Vec<std::path::PathBuf> = (0..n)
        .map(|i| {
            let name = spec
                .log_stem
                .file_name()
                .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
            spec.log_stem.with_file_name(format!("{name}-{i}"))
        })
        .collect();
    let runs = stems.iter().enumerate().map(|(i, stem)| {
        let samples = stem.with_extension("samples.json");
        let one = K6Run {
            log_stem: stem,
            samples: Some(samples),
            instances: 1,
            ..spec
        };
        run_one(one, Some(super::k6_merge::segment_args(i as u32, n)))
    });
    // The processes run at once; each future mostly waits on its child.
    let results = futures_util::future::join_all(runs).await;
    let mut merged = super::figures::ToolResult {
        command: results
            .iter()
            .map(|r| r.command.clone())
            .collect::<Vec<_>>()
            .join(" & "),
        exit_code: results.iter().filter_map(|r| r.exit_code).max(),
        load_model: format!("closed (k6 VUs, {n} instances by execution segment)"),
        users: spec.vus,
        ..Default::default()
    };
    if let Some(failed) = results.iter().find(|r| r.status == "error") {
        merged.status = "error".into();
        merged.stderr_tail = failed.stderr_tail.clone();
        return merged;
    }
    let mut points = Vec::new();
    for stem in &stems {
        let path = stem.with_extension("samples.json");
        match super::k6_merge::Points::read(&path) {
            Ok(p) => points.push(p),
            Err(e) => {
                merged.status = "error".into();
                merged.stderr_tail = Some(format!("{}: {e}", path.display()));
                return merged;
            }
        }
    }
    let duration_s = stems
        .iter()
        .filter_map(|stem| run_duration_s(&stem.with_extension("summary.json")))
        .fold(0.0, f64::max);
    let all = super::k6_merge::Points::default().merge(points);
    let (figures, per_endpoint) = all.figures(duration_s);
    merged.figures = Some(figures);
    merged.per_endpoint = per_endpoint;
    merged.status = "success".into();
    merged
}

/// The test run's duration from a summary (`state.testRunDurationMs`), in seconds.
fn run_duration_s(summary: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(summary).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    value
        .pointer("/state/testRunDurationMs")
        .and_then(Value::as_f64)
        .map(|ms| ms / 1000.0)
}

/// Runs k6 and reads its summary. k6 exits 99 when a threshold fails:
/// that is a result, not a crash; no summary at all is a crash.
async fn run_one(spec: K6Run<'_>, segment: Option<[String; 2]>) -> super::figures::ToolResult {
    let upper = spec.test_type.to_ascii_uppercase();
    let seconds = format!("{}s", spec.duration.as_secs().max(1));
    let summary = spec.log_stem.with_extension("summary.json");
    let (vus_key, duration_key) = match spec.test_type {
        "smoke" => ("K6_SMOKE_VUS", "K6_SMOKE_DURATION"),
        _ => (
            if upper == "LOAD" {
                "K6_LOAD_TARGET_VUS"
            } else {
                "K6_STRESS_TARGET_VUS"
            },
            if upper == "LOAD" {
                "K6_LOAD_DURATION"
            } else {
                "K6_STRESS_DURATION"
            },
        ),
    };
    let mut env = spec.env.to_vec();
    env.extend([
        ("K6_TEST_TYPE".to_owned(), spec.test_type.to_owned()),
        (vus_key.to_owned(), spec.vus.to_string()),
        (duration_key.to_owned(), seconds),
        ("K6_SUMMARY_PATH".to_owned(), summary.display().to_string()),
        ("K6_NO_USAGE_REPORT".to_owned(), "true".to_owned()),
    ]);
    let mut args = vec!["run".to_owned(), "--no-color".to_owned()];
    args.extend(segment.into_iter().flatten());
    if let Some(path) = &spec.samples {
        args.push(format!("--out=json={}", path.display()));
    }
    args.push(spec.script.display().to_string());
    let running = super::process::start(spec.binary, &args, &env, spec.log_stem);
    let command = running.command.clone();
    // Ramping scenarios stop gracefully for up to 30 s after their stages.
    let exit = running
        .wait(spec.duration + std::time::Duration::from_secs(90))
        .await;
    let mut result = super::figures::ToolResult {
        command,
        exit_code: exit.code,
        load_model: "closed (k6 VUs)".into(),
        users: spec.vus,
        ..Default::default()
    };
    match read_summary(&summary) {
        Some((figures, per_endpoint)) => {
            result.figures = Some(figures);
            result.per_endpoint = per_endpoint;
            result.status = "success".into();
        }
        None => {
            result.status = "error".into();
            result.stderr_tail = Some(exit.explain());
        }
    }
    result
}
