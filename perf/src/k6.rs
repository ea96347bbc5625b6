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
}

/// Runs k6 and reads its summary. k6 exits 99 when a threshold fails:
/// that is a result, not a crash; no summary at all is a crash.
pub(crate) async fn run(spec: K6Run<'_>) -> super::figures::ToolResult {
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
