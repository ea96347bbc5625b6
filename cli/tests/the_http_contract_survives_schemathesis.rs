//! The HTTP contract, fuzzed: schemathesis (pinned in
//! `tests/clients/requirements.txt`, installed by `scripts/clients-setup.sh`)
//! reads each `GET /openapi.json` of a fleet started by the `mockdet`
//! binary, and of the reference orchestrator in front of it, generates
//! requests from it — valid ones and broken ones — and checks every answer
//! against the document: no 5xx, a documented status, its media type, its
//! schema, its headers; and, where a token or key guards an operation, that
//! a request without it is refused.
//!
//! Nothing is injected: both detectors answer at once and fault-free. The
//! admin operations that change behaviour (profile, outage, next-N, script,
//! clear, reset) run against a detector of their own, `control`, so the
//! faults they open never reach the detector the protocols are fuzzed on,
//! `contract`, nor the orchestrator that calls it. Each run is bounded (25
//! examples per operation, 5 minutes at most) and seeded. Without
//! schemathesis this test fails, saying so: it is never skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "../../tests/common/mod.rs"]
mod common;

use common::Running;
use common::clients::{clients_python, loopback_only};
use common::wait::exit_within;

const BIN: &str = env!("CARGO_BIN_EXE_mockdet");
const ADMIN_TOKEN: &str = "contract-admin-token";
const API_KEY: &str = "contract-api-key";
/// The checks of every run; `ignored_auth` only bites where a document
/// declares security (the admin API, the orchestrator's guarded routes).
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,response_headers_conformance,ignored_auth";
const EXAMPLES: &str = "25";
const SEED: &str = "20261130";
/// The most one run may take.
const RUN_LIMIT: Duration = Duration::from_secs(300);

/// The schemathesis of the clients venv (beside the Python the official
/// clients test uses; `MOCKDET_CLIENTS_PYTHON` names another).
fn schemathesis() -> PathBuf {
    let found = clients_python().with_file_name("schemathesis");
    assert!(
        found.is_file(),
        "no schemathesis at {}: run scripts/test.sh, which installs tests/clients/requirements.txt \
         into ~/.cache/mockdet/clients (scripts/clients-setup.sh does just that step), or set \
         MOCKDET_CLIENTS_PYTHON to a Python of a venv that has it",
        found.display()
    );
    found
}

/// A directory of its own under the system's temporary one, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("mockdet-contract-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("the scratch directory is writable");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A detector serving every protocol, batches on, at once and fault-free.
fn profile(name: &str) -> String {
    format!(
        "name = \"{name}\"\ndetector_id = \"{name}\"\nport = 0\n\
         capabilities = [\"deep_analysis\"]\n\
         [latency]\nmodel = \"fixed\"\nms = 0.0\n[batch]\nenabled = true\n"
    )
}

/// What one run found, from its JSON report.
#[derive(Debug)]
struct Totals {
    operations: u64,
    examples: u64,
    failures: u64,
    errors: usize,
}

impl Totals {
    fn of(report: &Value) -> Self {
        let count = |pointer: &str| report.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
        Self {
            operations: count("/operations/tested"),
            examples: count("/test_cases/generated"),
            failures: count("/test_cases/unique_failures"),
            errors: report["errors"].as_array().map_or(0, Vec::len),
        }
    }
}

/// Runs schemathesis on `url`'s document with `config` (its credentials)
/// and `filters`; fails the test, printing the report, on any failure.
fn fuzz(scratch: &Scratch, name: &str, url: &str, config: &Path, filters: &[&str]) -> Totals {
    let report = scratch.0.join(format!("{name}.json"));
    let mut command = Command::new(schemathesis());
    command
        .current_dir(&scratch.0)
        .arg("--config-file")
        .arg(config)
        .args(["run", &format!("{url}/openapi.json")])
        .args([
            "--checks",
            CHECKS,
            "--max-examples",
            EXAMPLES,
            "--seed",
            SEED,
        ])
        .args(["--request-timeout", "10", "--generation-database", "none"])
        // Hypothesis' speed check depends on the machine, not the API.
        .args(["--suppress-health-check", "too_slow"])
        .args(["--no-color", "--report", "json", "--report-json-path"])
        .arg(&report)
        .args(filters)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Loopback only, straight to the servers.
    loopback_only(&mut command);
    let started = Instant::now();
    let mut child = command.spawn().expect("schemathesis starts");
    let output = output_within(&mut child, RUN_LIMIT);
    let took = started.elapsed();
    let Some((status, stdout, stderr)) = output else {
        panic!("{name}: schemathesis did not finish within {RUN_LIMIT:?} and was killed");
    };
    let parsed = std::fs::read_to_string(&report)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok());
    let Some(parsed) = parsed else {
        panic!(
            "{name}: no JSON report ({status})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        );
    };
    let totals = Totals::of(&parsed);
    eprintln!(
        "schemathesis {name}: {} operations, {} examples, {} failures, {} errors in {:.1} s",
        totals.operations,
        totals.examples,
        totals.failures,
        totals.errors,
        took.as_secs_f64()
    );
    let clean = status.success() && totals.failures == 0 && totals.errors == 0;
    assert!(
        clean,
        "{name}: schemathesis found what breaks the contract ({status})\n{stdout}\n--- stderr ---\n{stderr}"
    );
    assert!(
        totals.operations > 0 && totals.examples > 0,
        "{name}: nothing was tested\n{stdout}"
    );
    totals
}

/// Waits for `child` (at most `limit`), collecting what it printed.
fn output_within(
    child: &mut std::process::Child,
    limit: Duration,
) -> Option<(std::process::ExitStatus, String, String)> {
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let Some(status) = exit_within(child, limit) else {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    };
    let text = |reader: std::thread::JoinHandle<String>| reader.join().unwrap_or_default();
    Some((status, text(stdout), text(stderr)))
}

#[test]
fn the_http_contract_survives_schemathesis() {
    let scratch = Scratch::new();
    let contract = scratch.write("contract.toml", &profile("contract"));
    let control = scratch.write("control.toml", &profile("control"));
    let mut fleet_command = Command::new(BIN);
    fleet_command
        .arg("--profile-file")
        .arg(&contract)
        .arg("--profile-file")
        .arg(&control)
        .args(["--seed", "1", "--admin-token", ADMIN_TOKEN])
        .env_remove("MOCKDET_ALLOW_OVERRIDES");
    let fleet: Running = common::spawn_ready(&mut fleet_command);
    let (contract_url, control_url) = (fleet.url("contract"), fleet.url("control"));
    let mut orchestrator_command = Command::new(BIN);
    orchestrator_command
        .args(["orchestrator", "--port", "0", "--api-key", API_KEY])
        .arg("--detectors")
        .arg(format!("contract={contract_url}"));
    let orchestrator: Running = common::spawn_ready(&mut orchestrator_command);
    let orchestrator_url = orchestrator.url("orchestrator");

    let detector_auth = scratch.write(
        "detector.toml",
        &format!("[auth.openapi.adminToken]\nbearer = \"{ADMIN_TOKEN}\"\n"),
    );
    let orchestrator_auth = scratch.write(
        "orchestrator.toml",
        &format!("[auth.openapi.apiKey]\napi_key = \"{API_KEY}\"\n"),
    );
    let started = Instant::now();
    // Everything but the admin operations that change behaviour.
    let mutating = [
        "--exclude-path-regex",
        "^/admin/",
        "--exclude-method-regex",
        "^(PUT|PATCH|POST|DELETE)$",
    ];
    let protocols = fuzz(
        &scratch,
        "detector",
        &contract_url,
        &detector_auth,
        &mutating,
    );
    let admin = fuzz(
        &scratch,
        "admin",
        &control_url,
        &detector_auth,
        &["--include-path-regex", "^/admin/"],
    );
    let reference = fuzz(
        &scratch,
        "orchestrator",
        &orchestrator_url,
        &orchestrator_auth,
        &[],
    );
    let runs = [protocols, admin, reference];
    eprintln!(
        "schemathesis in all: {} operations, {} examples, {} failures in {:.1} s",
        runs.iter().map(|t| t.operations).sum::<u64>(),
        runs.iter().map(|t| t.examples).sum::<u64>(),
        runs.iter().map(|t| t.failures).sum::<u64>(),
        started.elapsed().as_secs_f64()
    );
    // The contract detector never saw a fault: every journaled answer is a
    // 200 or a refusal.
    let journal: Value = reqwest::blocking::Client::new()
        .get(format!("{contract_url}/admin/requests?limit=100000"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .and_then(|r| r.json())
        .expect("the journal is readable");
    let faulted: Vec<&Value> = journal["requests"]
        .as_array()
        .expect("a journal")
        .iter()
        .filter(|entry| !entry["fault"].is_null())
        .collect();
    assert!(
        faulted.is_empty(),
        "faults reached the contract detector: {faulted:?}"
    );
}
