//! The `mockdet` binary: ready line, profiles, healthcheck, bad files and
//! graceful shutdown on SIGTERM.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

#[path = "../../tests/common/mod.rs"]
mod common;

use common::wait::{eventually, exit_within};
use common::{Running, temp_file};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mockdet");

/// Every built-in moved to an ephemeral port, so tests never collide.
const EPHEMERAL: [(&str, &str); 5] = [
    ("MOCKDET_SUCCESS_PORT", "0"),
    ("MOCKDET_VARIABLE_PORT", "0"),
    ("MOCKDET_FAILING_PORT", "0"),
    ("MOCKDET_TIMEOUT_PORT", "0"),
    ("MOCKDET_BATCH_PORT", "0"),
];

impl Running {
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for exit, failing the test after `limit`.
    fn exit_code(&mut self, limit: Duration) -> i32 {
        exit_within(&mut self.child, limit)
            .unwrap_or_else(|| panic!("mockdet did not exit within {limit:?}"))
            .code()
            .unwrap_or(-1)
    }

    /// Waits (5 s at most) until detector `name` counts a request in flight.
    fn wait_in_flight(&self, name: &str) {
        let metrics_url = format!("{}/metrics", self.url(name));
        let client = blocking_client();
        let mut now = f64::NAN;
        let busy = eventually(Duration::from_secs(5), || {
            let text = client.get(&metrics_url).send().ok()?.text().ok()?;
            now = common::in_flight(&text);
            (now >= 1.0).then_some(())
        });
        assert!(
            busy.is_some(),
            "{name} had no request in flight after 5 s (gauge: {now})"
        );
    }
}

fn start(args: &[&str]) -> Running {
    common::spawn_ready(Command::new(BIN).args(args).envs(EPHEMERAL))
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .envs(EPHEMERAL)
        .output()
        .unwrap()
}

fn blocking_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[test]
fn no_arguments_boot_five_detectors_and_print_one_ready_line() {
    let fleet = start(&["--seed", "5"]);
    let ready = fleet.ready["ready"].as_object().unwrap();
    let names: Vec<&String> = ready.keys().collect();
    assert_eq!(
        names,
        ["success", "variable", "failing", "timeout", "batch"]
    );
    assert_eq!(fleet.ready["seed"], 5);
    let health: Value = blocking_client()
        .get(format!("{}/health", fleet.url("timeout")))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(health["detector_id"], "mock-timeout-detector");
}

#[test]
fn one_profile_on_port_zero_reports_its_port_and_sigterm_exits_zero() {
    let mut fleet = start(&["--profile", "failing", "--port", "0"]);
    let url = fleet.url("failing");
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":8003"),
        "{url}"
    );
    assert_eq!(fleet.ready["ready"].as_object().unwrap().len(), 1);
    fleet.terminate();
    assert_eq!(fleet.exit_code(Duration::from_secs(10)), 0);
}

#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    let file = temp_file(
        "slow.toml",
        "name = \"slow\"\ndetector_id = \"slow\"\nport = 0\n[latency]\nmodel = \"fixed\"\nms = 600.0\n",
    );
    let mut fleet = start(&["--profile-file", file.to_str().unwrap()]);
    let url = format!("{}/detect", fleet.url("slow"));
    let request = std::thread::spawn(move || {
        blocking_client()
            .post(url)
            .json(&serde_json::json!({"content": "x"}))
            .send()
            .map(|r| r.status().as_u16())
    });
    fleet.wait_in_flight("slow");
    fleet.terminate();
    assert_eq!(request.join().unwrap().unwrap(), 200);
    assert_eq!(fleet.exit_code(Duration::from_secs(10)), 0);
}

#[test]
fn the_drain_deadline_cuts_a_hung_request() {
    let file = temp_file(
        "hang.toml",
        "name = \"hang\"\ndetector_id = \"hang\"\nport = 0\n\
         faults = [{ kind = \"hang\", probability = 1.0, duration_ms = 30000.0 }]\n\
         [latency]\nmodel = \"fixed\"\nms = 0.0\n",
    );
    let mut fleet = start(&[
        "--profile-file",
        file.to_str().unwrap(),
        "--drain-timeout",
        "300ms",
    ]);
    let url = format!("{}/detect", fleet.url("hang"));
    let request = std::thread::spawn(move || {
        blocking_client()
            .post(url)
            .json(&serde_json::json!({"content": "x"}))
            .send()
            .map(|r| r.status().as_u16())
    });
    fleet.wait_in_flight("hang");
    let stopping = Instant::now();
    fleet.terminate();
    assert_eq!(fleet.exit_code(Duration::from_secs(5)), 0);
    assert!(
        stopping.elapsed() < Duration::from_secs(3),
        "{:?}",
        stopping.elapsed()
    );
    assert!(request.join().unwrap().is_err(), "the hung request was cut");
}

#[test]
fn profiles_list_and_show_print_the_effective_profiles() {
    let list = run(&["profiles", "list"]);
    assert!(list.status.success());
    let text = String::from_utf8(list.stdout).unwrap();
    assert_eq!(text.lines().count(), 5, "{text}");
    assert!(
        text.contains("mock-failing-detector") && text.contains("70.0%"),
        "{text}"
    );

    let show = Command::new(BIN)
        .args(["profiles", "show", "variable"])
        .env("MOCKDET_VARIABLE_LATENCY__MAX_MS", "2500")
        .output()
        .unwrap();
    assert!(show.status.success());
    let toml_text = String::from_utf8(show.stdout).unwrap();
    let parsed: mockdet::DetectorProfile = toml::from_str(&toml_text).unwrap();
    assert_eq!(parsed.detector_id, "mock-variable-detector");
    assert_eq!(parsed.latency.max_ms, Some(2500.0));

    let unknown = run(&["profiles", "show", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("success, variable"));
}

#[test]
fn a_bad_profile_file_names_the_file_and_the_field() {
    let file = temp_file(
        "bad.toml",
        "name = \"bad\"\ndetector_id = \"bad\"\nport = 0\n[latency]\nmodel = \"lognormal\"\nmedian = 500.0\np99 = 100.0\n",
    );
    let output = run(&["--profile-file", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.toml") && stderr.contains("latency.p99"),
        "{stderr}"
    );
}

#[test]
fn port_needs_a_single_detector_and_a_taken_port_is_named() {
    let output = run(&["--port", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--port"));

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = run(&["--profile", "success", "--port", &port]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&port) && stderr.contains("success"),
        "{stderr}"
    );
}

#[test]
fn healthcheck_exits_zero_for_a_live_detector_and_one_otherwise() {
    let fleet = start(&["--profile", "success", "--port", "0"]);
    let ok = run(&["healthcheck", &fleet.url("success")]);
    assert_eq!(ok.status.code(), Some(0));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let failed = run(&["healthcheck", &dead, "--timeout", "500ms"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).contains(&dead));
}
