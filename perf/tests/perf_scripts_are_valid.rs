//! The load suite's scripts, checked statically: the Locust file compiles
//! under `python3`, and `k6 inspect` accepts the k6 script, builds exactly
//! the scenario `K6_TEST_TYPE` selects, and refuses bad settings. Real runs
//! of both tools are tested elsewhere.
//!
//! k6 is required: where it is missing these tests fail, saying how to
//! install it (`mockdet perf setup`, which `scripts/test.sh` runs first).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const K6_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/k6/orchestration_load.js");
const LOCUSTFILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/locustfile_orchestration.py");

/// k6 where `mockdet perf` would find it: on `PATH`, else in the venv
/// `mockdet perf setup` fills. Fails the test, saying how to install it,
/// when it is in neither.
fn k6() -> PathBuf {
    mockdet_perf::k6_path().unwrap_or_else(|why| panic!("{why}"))
}

/// `k6 inspect --execution-requirements` with only `env` as `__ENV`.
fn inspect(k6: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(k6);
    command.args(["inspect", "--execution-requirements"]);
    for (name, value) in env {
        command.arg("-e").arg(format!("{name}={value}"));
    }
    command
        .arg(K6_SCRIPT)
        .env("K6_NO_USAGE_REPORT", "true")
        .output()
        .expect("k6 runs")
}

fn inspected(k6: &Path, env: &[(&str, &str)]) -> Value {
    let output = inspect(k6, env);
    assert!(
        output.status.success(),
        "k6 inspect failed with {env:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("k6 inspect prints JSON")
}

#[test]
fn the_locustfile_compiles_under_python3() {
    // Byte code goes to a temporary prefix, not to perf/__pycache__.
    let prefix = std::env::temp_dir().join(format!("mockdet-pycache-{}", std::process::id()));
    let output = Command::new("python3")
        .args(["-m", "py_compile", LOCUSTFILE])
        .env("PYTHONPYCACHEPREFIX", &prefix)
        .output()
        .expect("python3 runs");
    let _ = std::fs::remove_dir_all(&prefix);
    assert!(
        output.status.success(),
        "py_compile failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_locustfile_never_fires_request_events_by_hand() {
    // The seed fired `events.request` inside `catch_response` blocks and
    // counted every request twice.
    let text = std::fs::read_to_string(LOCUSTFILE).expect("the locustfile is readable");
    assert!(
        !text.contains("request.fire"),
        "the locustfile fires request events"
    );
    assert!(
        text.contains("class OrchestrationUser(") && text.contains("class FaultToleranceUser(")
    );
}

#[test]
fn k6_inspect_builds_only_the_selected_scenario() {
    let k6 = k6();
    for test_type in ["smoke", "load", "stress"] {
        let env = [
            ("K6_TEST_TYPE", test_type),
            ("K6_SMOKE_DURATION", "5s"),
            ("K6_LOAD_DURATION", "5s"),
            ("K6_STRESS_DURATION", "5s"),
            ("K6_P95_MS", "1500"),
            ("K6_SUCCESS_RATE", "0.9"),
        ];
        let inspected = inspected(&k6, &env);
        let scenarios = inspected["scenarios"].as_object().expect("scenarios");
        let names: Vec<&String> = scenarios.keys().collect();
        assert_eq!(names, [test_type], "{test_type}: {inspected}");
        let thresholds = &inspected["thresholds"];
        assert_eq!(
            thresholds[format!("http_req_duration{{scenario:{test_type}}}")][0],
            "p(95)<1500"
        );
        assert_eq!(thresholds["orchestration_success"][0], "rate>=0.9");
        let total = inspected["totalDuration"].as_str().unwrap_or_default();
        assert!(
            total.ends_with('s') && !total.contains('m'),
            "{test_type} lasts {total}"
        );
    }
}

#[test]
fn k6_inspect_sizes_scenarios_from_the_environment() {
    let k6 = k6();
    let smoke = inspected(&k6, &[("K6_SMOKE_VUS", "3"), ("K6_SMOKE_DURATION", "7s")]);
    assert_eq!(smoke["scenarios"]["smoke"]["vus"], 3);
    assert_eq!(smoke["scenarios"]["smoke"]["duration"], "7s");
    let stress = inspected(
        &k6,
        &[
            ("K6_TEST_TYPE", "stress"),
            ("K6_STRESS_TARGET_VUS", "12"),
            ("K6_STRESS_DURATION", "10s"),
        ],
    );
    assert_eq!(stress["maxVUs"], 12);
    let targets: Vec<u64> = stress["scenarios"]["stress"]["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["target"].as_u64().expect("target"))
        .collect();
    assert_eq!(targets, [6, 12, 12, 0]);
}

#[test]
fn k6_refuses_an_unknown_test_type_a_zero_batch_and_a_bad_contract() {
    let k6 = k6();
    let contract =
        std::env::temp_dir().join(format!("mockdet-contract-{}.json", std::process::id()));
    std::fs::write(&contract, r#"{"shape": "graphql"}"#).expect("temp file");
    let contract = contract.display().to_string();
    for (env, expected) in [
        (("K6_TEST_TYPE", "soak"), "K6_TEST_TYPE"),
        (
            ("ORCHESTRATION_PERF_BATCH_SIZE", "0"),
            "ORCHESTRATION_PERF_BATCH_SIZE",
        ),
        (("K6_SMOKE_DURATION", "soon"), "K6_SMOKE_DURATION"),
        (("MOCKDET_PERF_CONTRACT", contract.as_str()), "shape"),
    ] {
        let output = inspect(&k6, &[env]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{env:?} was accepted");
        assert!(stderr.contains(expected), "{env:?}: {stderr}");
    }
    let _ = std::fs::remove_file(&contract);
}

#[test]
fn k6_reads_an_api_v1_contract_file() {
    let k6 = k6();
    let contract =
        std::env::temp_dir().join(format!("mockdet-contract-v1-{}.json", std::process::id()));
    std::fs::write(&contract, r#"{"shape": "api_v1", "batch_path": null}"#).expect("temp file");
    let inspected = inspected(
        &k6,
        &[("MOCKDET_PERF_CONTRACT", &contract.display().to_string())],
    );
    let _ = std::fs::remove_file(&contract);
    assert!(inspected["scenarios"]["smoke"].is_object(), "{inspected}");
}
