//! `mockdet bench --quick` runs end to end and reports every figure of the
//! benchmark as finite numbers. Targets are not asserted: a smoke run's
//! counts are far too small to measure anything, and CI machines are noisy.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

#[path = "../../tests/common/wait.rs"]
mod wait;

const BIN: &str = env!("CARGO_BIN_EXE_mockdet");

/// Every figure the benchmark must report.
const FIGURES: [&str; 31] = [
    "spawn.ready",
    "throughput.rps",
    "protocols.native.ratio",
    "protocols.fms.ratio",
    "protocols.openai.ratio",
    "protocols.azure.ratio",
    "protocols.presidio.ratio",
    "protocols.litellm.ratio",
    "replay.request.ratio",
    "timer.achieved_over_ideal",
    "timer.overshoot_p50",
    "timer.overshoot_p99",
    "timer.overshoot_max",
    "rss.peak_1000_conns",
    "rss.peak_wrk",
    "ks.request.success",
    "ks.request.variable",
    "ks.request.failing",
    "ks.request.timeout",
    "ks.request.batch",
    "ks.sequence.success",
    "ks.sequence.variable",
    "ks.sequence.failing",
    "ks.sequence.timeout",
    "ks.sequence.batch",
    "record.direct.p99_ms",
    "record.proxied.p99_ms",
    "record.overhead.p99_ms",
    "record.overhead.p50_ms",
    "hold.rss",
    "hold.errors",
];

/// Generous: the quick run takes a few seconds, a debug build on a busy
/// machine several times that.
const LIMIT: Duration = Duration::from_secs(180);

#[test]
fn a_quick_benchmark_reports_every_figure_as_a_finite_number() {
    let out = std::env::temp_dir().join(format!("mockdet-bench-smoke-{}.json", std::process::id()));
    let mut child = Command::new(BIN)
        .args(["bench", "--quick", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("mockdet starts");
    let Some(status) = wait::exit_within(&mut child, LIMIT) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("mockdet bench --quick did not finish within {LIMIT:?}");
    };
    assert!(status.success(), "mockdet bench --quick failed: {status}");
    let text = std::fs::read_to_string(&out).expect("the JSON report was written");
    let _ = std::fs::remove_file(&out);
    let report: Value = serde_json::from_str(&text).expect("the report is JSON");
    let figures = report["figures"].as_array().expect("a list of figures");
    for id in FIGURES {
        let figure = figures
            .iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("figure {id} is missing from {text}"));
        for side in ["mockdet", "baseline"] {
            let value = figure[side].as_f64();
            assert!(
                value.is_some_and(f64::is_finite),
                "{id}: {side} is {:?}",
                figure[side]
            );
        }
        // A ratio is only undefined when the baseline is zero (error counts).
        if figure["baseline"].as_f64() != Some(0.0) {
            assert!(
                figure["ratio"].as_f64().is_some_and(f64::is_finite),
                "{id}: ratio"
            );
        }
    }
    assert_eq!(report["about"]["mode"], "quick");
}
