//! `mockdet audit` through the binary: it passes the demo's reference
//! orchestrator and writes its report card; bad input exits 2 naming what
//! is wrong; Ctrl-C stops it and leaves the fleet as it found it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

#[path = "../../tests/common/mod.rs"]
mod common;

use common::Running;
use common::wait::{eventually, exit_within};

const BIN: &str = env!("CARGO_BIN_EXE_mockdet");
const DETECTORS: [&str; 5] = ["success", "variable", "failing", "timeout", "batch"];

/// Short breaker, health and SLA settings, so an audit takes seconds.
const CONFIG: &str = "\
orchestration:
  max_retries: 3
  sla_budget_ms: 1000
circuit_breaker:
  failure_threshold: 3
  recovery_timeout_ms: 2000
health:
  interval_ms: 500
  timeout_ms: 500
";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mockdet-audit-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn demo(config: &Path) -> Running {
    let mut command = Command::new(BIN);
    command
        .args(["demo", "--ephemeral", "--seed", "5", "--config"])
        .arg(config)
        .env_remove("ORCHESTRATION_API_KEY");
    common::spawn_ready(&mut command)
}

fn audit_command(demo: &Running, config: &Path, out: &Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["audit", "--quick", "--target", &demo.url("orchestrator")])
        .arg("--config")
        .arg(config)
        .arg("--out")
        .arg(out)
        .env_remove("ORCHESTRATION_API_KEY")
        .env_remove("MOCKDET_ADMIN_TOKEN");
    for name in DETECTORS {
        command.args(["--fleet", &demo.url(name)]);
    }
    command
}

fn profile_of(url: &str) -> Value {
    reqwest::blocking::get(format!("{url}/admin/profile"))
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn the_demo_passes_and_gets_a_report_card() {
    let dir = scratch("pass");
    let config = dir.join("config.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    let demo = demo(&config);
    let before = profile_of(&demo.url("success"));
    let out = dir.join("out");
    let output = audit_command(&demo, &config, &out).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("12 passed, 0 failed, 0 not applicable"),
        "{stdout}"
    );
    assert!(
        stdout.contains("breaker recovery: 2.00 s (config)"),
        "{stdout}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("audit.json")).unwrap()).unwrap();
    assert_eq!(report["passed"], 12);
    let ids: Vec<&str> = report["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        mockdet_audit::PropertyId::ALL.map(mockdet_audit::PropertyId::as_str),
        "the JSON ids are the documented ones, in order"
    );
    let html = std::fs::read_to_string(out.join("audit.html")).unwrap();
    assert!(html.contains("Orchestrator resilience report card"));
    assert_eq!(
        profile_of(&demo.url("success")),
        before,
        "the profile is put back"
    );
    std::fs::remove_dir_all(dir).ok();
}

fn usage_error(args: &[&str]) -> String {
    let output: Output = Command::new(BIN)
        .arg("audit")
        .args(args)
        .env_remove("ORCHESTRATION_API_KEY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{args:?}");
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn bad_input_exits_2_naming_what_is_wrong() {
    let missing = usage_error(&["--target", "http://127.0.0.1:1"]);
    assert!(missing.contains("--fleet"), "{missing}");
    let not_a_url = usage_error(&[
        "--target",
        "http://127.0.0.1:1",
        "--fleet",
        "127.0.0.1:8001",
    ]);
    assert!(
        not_a_url.contains("\"127.0.0.1:8001\" is not an http"),
        "{not_a_url}"
    );
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let unreachable = usage_error(&[
        "--target",
        "http://127.0.0.1:1",
        "--fleet",
        "http://127.0.0.1:9",
    ]);
    assert!(
        unreachable.contains("fleet detector http://127.0.0.1:9: GET /capabilities"),
        "{unreachable}"
    );
    let no_file = usage_error(&[
        "--target",
        "http://127.0.0.1:1",
        "--fleet",
        "http://127.0.0.1:9",
        "--config",
        "/nonexistent/config.yaml",
    ]);
    assert!(no_file.contains("/nonexistent/config.yaml"), "{no_file}");
    let shape = usage_error(&[
        "--target", "http://t", "--fleet", "http://d", "--shape", "graphql",
    ]);
    assert!(shape.contains("expected seed, api_v1 or fms_v2"), "{shape}");
}

#[test]
fn ctrl_c_stops_the_audit_and_clears_the_fleet() {
    let dir = scratch("interrupt");
    let config = dir.join("config.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    let demo = demo(&config);
    let victim = demo.url("success");
    let before = profile_of(&victim);
    let mut audit = audit_command(&demo, &config, &dir.join("out"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt while the faulted detector's /health is failing on purpose.
    let unhealthy = "mockdet_fault_windows_active{detector=\"success\",mode=\"unhealthy\"} 1";
    let during = eventually(Duration::from_secs(60), || {
        let metrics = reqwest::blocking::get(format!("{victim}/metrics"))
            .ok()?
            .text()
            .ok()?;
        metrics.contains(unhealthy).then_some(())
    });
    assert!(during.is_some(), "the health scenario never started");
    let pid = audit.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = exit_within(&mut audit, Duration::from_secs(15)).expect("exits after Ctrl-C");
    assert_eq!(
        status.code(),
        Some(1),
        "an interrupted audit has not passed"
    );
    let metrics = reqwest::blocking::get(format!("{victim}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    assert!(!metrics.contains(unhealthy), "the window is cleared");
    let health = reqwest::blocking::get(format!("{victim}/health")).unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(profile_of(&victim), before, "the profile is put back");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out").join("audit.json")).unwrap())
            .unwrap();
    assert_eq!(report["interrupted"], true);
    assert!(
        report["properties"].as_array().unwrap().len() >= 7,
        "kept what was judged"
    );
    std::fs::remove_dir_all(dir).ok();
}
