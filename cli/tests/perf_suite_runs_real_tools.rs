//! The load suite end to end: real k6 and real Locust, installed through
//! `mockdet perf setup`, against the demo (five detectors and the reference
//! orchestrator) started in-process on ephemeral ports. Runs are serialised:
//! two load tools at once on a small machine would measure each other.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use mockdet_orchestrator::Demo;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mockdet");

static SETUP: OnceLock<()> = OnceLock::new();
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Installs k6 and Locust the way a user would (a no-op when present).
fn ensure_tools() {
    SETUP.get_or_init(|| {
        let output = std::process::Command::new(BIN)
            .args(["perf", "setup"])
            .output()
            .expect("mockdet runs");
        assert!(
            output.status.success(),
            "mockdet perf setup failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    });
}

/// The demo (its SLA budget sits under the 2 s p95 target).
async fn demo() -> Demo {
    Demo::builder().seed(11).start().await.expect("demo starts")
}

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mockdet-perf-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config_file(dir: &Path, yaml: &str) -> PathBuf {
    let path = dir.join("test-config.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

/// Runs `mockdet perf ARGS` against `demo`; returns the exit code, stderr
/// and the results file.
async fn perf(demo: &Demo, out: &Path, args: &[&str]) -> (i32, String, Value) {
    let mut command = tokio::process::Command::new(BIN);
    command
        .arg("perf")
        .args(["--target", &demo.url(), "--out", out.to_str().unwrap()])
        .args(args)
        .kill_on_drop(true);
    for (_, url) in demo.fleet().urls() {
        command.args(["--fleet", &url]);
    }
    let output = tokio::time::timeout(Duration::from_secs(300), command.output())
        .await
        .expect("perf finishes within 5 minutes")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let results = std::fs::read_dir(out)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("performance_test_results_") && n.ends_with(".json"))
        })
        .unwrap_or_else(|| panic!("no results file; stderr:\n{stderr}"));
    let report = serde_json::from_str(&std::fs::read_to_string(results).unwrap()).unwrap();
    (output.status.code().unwrap_or(-1), stderr, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smoke_run_passes_with_figures_from_k6_and_locust() {
    ensure_tools();
    let _serial = SERIAL.lock().await;
    let demo = demo().await;
    let out = out_dir("smoke");
    let config = config_file(&out, "perf:\n  smoke: {vus: 3, users: 3, duration: 6s}\n");
    let (code, stderr, report) = perf(&demo, &out, &["--config", config.to_str().unwrap()]).await;
    let smoke = &report["results"]["smoke"];
    assert_eq!(code, 0, "{stderr}\n{smoke:#}");
    assert_eq!(smoke["status"], "success");
    for tool in ["k6_result", "locust_result"] {
        let figures = &smoke[tool]["figures"];
        let requests = figures["requests"].as_u64().unwrap();
        assert!(requests > 0, "{tool}: {figures}");
        assert!(
            figures["p95_ms"].as_f64().unwrap() > 0.0,
            "{tool}: {figures}"
        );
        // Per-endpoint figures account for every request.
        let per_endpoint: u64 = smoke[tool]["per_endpoint"]
            .as_object()
            .unwrap()
            .values()
            .map(|f| f["requests"].as_u64().unwrap())
            .sum();
        assert_eq!(per_endpoint, requests, "{tool}: {:#}", smoke[tool]);
    }
    assert_eq!(report["summary"]["total_tests"], 1);
    assert!(
        smoke["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["passed"] == true)
    );
    let server = smoke["server_side"].as_object().unwrap();
    assert_eq!(server.len(), 5);
    assert!(
        server
            .values()
            .all(|s| s["requests"].as_f64().unwrap() > 0.0),
        "{server:?}"
    );
    let html = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("performance_test_results_") && n.ends_with(".html"))
        })
        .expect("an HTML report beside the JSON");
    assert!(std::fs::read_to_string(html).unwrap().contains("<svg"));
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_tolerance_run_records_its_fault_windows_and_partial_answers() {
    ensure_tools();
    let _serial = SERIAL.lock().await;
    let demo = demo().await;
    let out = out_dir("faults");
    let config = config_file(
        &out,
        "perf:\n  fault_tolerance:\n    users: 6\n    duration: 10s\n    max_server_error_rate: 0.5\n    faults:\n\
         \x20     - {detector: failing, at: 2s, outage: {mode: unavailable, duration_ms: 5000}}\n\
         \x20     - {detector: timeout, at: 3s, outage: {mode: hang, duration_ms: 4000}}\n",
    );
    let (_, stderr, report) = perf(
        &demo,
        &out,
        &[
            "--test-type",
            "fault-tolerance",
            "--config",
            config.to_str().unwrap(),
        ],
    )
    .await;
    let result = &report["results"]["fault-tolerance"];
    let windows = result["fault_windows"].as_array().unwrap();
    assert_eq!(windows.len(), 2, "{stderr}\n{result:#}");
    assert!(windows.iter().all(|w| w["applied"] == true));
    assert_eq!(windows[0]["detector"], "failing");
    assert_eq!(windows[0]["action"], "outage:unavailable");
    let start = windows[0]["start_s"].as_f64().unwrap();
    assert!((1.9..3.0).contains(&start), "{start}");
    let partial = result["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["target"] == "partial_coverage_answers")
        .expect("a partial-coverage check");
    assert!(partial["measured"].as_f64().unwrap() >= 1.0, "{partial}");
    // The outage really hit the detector: its journal shows the imposed 503s.
    let journal = demo.fleet().detector("failing").journal();
    assert!(
        journal
            .iter()
            .any(|e| e.imposed_by.as_deref() == Some("outage:unavailable"))
    );
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scalability_run_sends_each_batch_size_to_the_orchestrator() {
    ensure_tools();
    let _serial = SERIAL.lock().await;
    let demo = demo().await;
    let out = out_dir("scale");
    let config = config_file(
        &out,
        "perf:\n  scalability: {batch_sizes: [1, 8], users: [4], duration: 6s}\n",
    );
    let (_, stderr, report) = perf(
        &demo,
        &out,
        &[
            "--test-type",
            "scalability",
            "--config",
            config.to_str().unwrap(),
        ],
    )
    .await;
    let cells = report["results"]["scalability"]["cells"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(cells.len(), 2, "{stderr}");
    let per_request = |cell: &Value| {
        cell["detector_calls"].as_f64().unwrap() / cell["figures"]["requests"].as_f64().unwrap()
    };
    assert!(
        cells
            .iter()
            .all(|c| c["batch_requests"].as_u64().unwrap() > 0),
        "{cells:?}"
    );
    // A batch of 8 fans out to 8× the detector calls of a batch of 1.
    assert!(
        per_request(&cells[1]) > per_request(&cells[0]) * 1.5,
        "{cells:?}"
    );
    // And the fleet's journal saw those calls.
    let journaled: usize = ["success", "variable", "failing", "timeout", "batch"]
        .iter()
        .map(|n| demo.fleet().detector(n).journal().len())
        .sum();
    let counted: u64 = cells
        .iter()
        .map(|c| c["detector_calls"].as_u64().unwrap())
        .sum();
    assert!(
        journaled as u64 >= counted,
        "{journaled} journaled, {counted} counted"
    );
    demo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_tool_is_an_error_with_its_stderr_and_the_run_goes_on() {
    ensure_tools();
    let _serial = SERIAL.lock().await;
    let demo = demo().await;
    let out = out_dir("killed");
    let fake = out.join("k6");
    std::fs::write(
        &fake,
        "#!/bin/sh\nif [ \"$1\" = \"--version\" ]; then echo k6 v0; exit 0; fi\n\
         echo 'k6 is about to be killed' >&2\nkill -9 $$\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = config_file(&out, "perf:\n  smoke: {vus: 2, users: 2, duration: 4s}\n");
    let (code, _, report) = perf(
        &demo,
        &out,
        &[
            "--k6",
            fake.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
    )
    .await;
    let smoke = &report["results"]["smoke"];
    assert_eq!(code, 1);
    assert_eq!(smoke["k6_result"]["status"], "error");
    assert!(
        smoke["k6_result"]["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("about to be killed")
    );
    assert!(
        smoke["locust_result"]["figures"]["requests"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert_eq!(smoke["status"], "failed");
    demo.shutdown().await;
}

#[test]
fn report_renders_a_saved_results_file_and_exits_by_its_verdicts() {
    let out = out_dir("report");
    let results = out.join("performance_test_results_20260101T000000Z.json");
    let saved = serde_json::json!({
        "test_suite": "detector_orchestration_performance",
        "timestamp": "2026-01-01T00:00:00Z",
        "target": "http://127.0.0.1:8000",
        "performance_targets": {"p95_response_time_ms": 2000.0, "success_rate": 0.95, "throughput_rps": 100.0},
        "duration_scale": 1.0,
        "summary": {"total_tests": 1, "passed": 1, "failed": 0, "success_rate": 1.0, "duration_seconds": 60.0},
        "results": {"smoke": {"status": "success", "started_at": "", "duration_seconds": 60.0, "load_model": "closed",
            "intended_rps": 6.0, "verdicts": [{"target": "p95_response_time_ms", "expected": 2000.0, "measured": 850.0, "passed": true, "source": "k6"}],
            "server_side": {}, "fault_windows": [], "cells": [], "notes": []}}
    });
    std::fs::write(&results, saved.to_string()).unwrap();
    let output = std::process::Command::new(BIN)
        .args(["perf", "report", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("p95_response_time_ms") && stdout.contains("850.000"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(results.with_extension("html")).unwrap();
    assert!(html.contains("p95_response_time_ms") && html.contains("pass"));
}

#[test]
fn a_missing_tool_or_bad_usage_exits_two_with_a_clear_message() {
    let empty = out_dir("notools");
    let output = std::process::Command::new(BIN)
        .args([
            "perf",
            "--k6",
            "/nonexistent/k6",
            "--target",
            "http://127.0.0.1:9",
        ])
        .env("PATH", "/nonexistent")
        .env("XDG_CACHE_HOME", &empty)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("mockdet perf setup") && stderr.contains("/nonexistent/k6"),
        "{stderr}"
    );

    let output = std::process::Command::new(BIN)
        .args(["perf", "--test-type", "soak"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("smoke, load, stress"));
}

/// Every value of `metric` in a k6 `--out json` file.
fn k6_points(path: &Path, metric: &str) -> Vec<f64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|p| p["type"] == "Point" && p["metric"] == metric)
        .filter_map(|p| p["data"]["value"].as_f64())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_k6_segments_merge_into_exact_figures() {
    ensure_tools();
    let _serial = SERIAL.lock().await;
    let demo = demo().await;
    let out = out_dir("segments");
    let config = config_file(&out, "perf:\n  smoke: {vus: 6, users: 2, duration: 6s}\n");
    let args = ["--config", config.to_str().unwrap(), "--k6-instances", "3"];
    let (code, stderr, report) = perf(&demo, &out, &args).await;
    let k6 = &report["results"]["smoke"]["k6_result"];
    assert!(code <= 1, "{stderr}\n{k6:#}");
    assert_eq!(k6["status"], "success", "{k6:#}");
    assert!(
        k6["command"]
            .as_str()
            .unwrap()
            .contains("--execution-segment=2/3:1")
    );
    let mut union = Vec::new();
    let mut counted = 0;
    for i in 0..3 {
        let samples = out.join(format!("smoke-k6-{i}.samples.json"));
        let durations = k6_points(&samples, "http_req_duration");
        assert!(!durations.is_empty(), "instance {i} ran its segment");
        union.extend(durations);
        let summary: Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(format!("smoke-k6-{i}.summary.json"))).unwrap(),
        )
        .unwrap();
        counted += summary["metrics"]["http_reqs"]["values"]["count"]
            .as_f64()
            .unwrap() as u64;
    }
    let figures = &k6["figures"];
    assert_eq!(
        figures["requests"].as_u64().unwrap(),
        counted,
        "the sum of the instances' counts"
    );
    assert_eq!(union.len() as u64, counted);
    union.sort_by(f64::total_cmp);
    let p95 = mockdet_stats::sorted_quantile(&union, 0.95).unwrap();
    assert_eq!(
        figures["p95_ms"].as_f64().unwrap(),
        p95,
        "the p95 of the union of samples"
    );
    demo.shutdown().await;
}
