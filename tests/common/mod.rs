//! Helpers shared by the black-box tests.
#![allow(dead_code)]

pub mod clients;
pub mod wait;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mockdet::{DetectorProfile, Fleet};

/// A profile named `name` with a fixed latency and the given `[[faults]]`
/// TOML appended.
pub fn profile(name: &str, latency_ms: f64, faults_toml: &str) -> DetectorProfile {
    let text = format!(
        "name = \"{name}\"\ndetector_id = \"test-{name}\"\nport = 0\n\
         capabilities = [\"pii_detection\"]\n{faults_toml}\n\
         [latency]\nmodel = \"fixed\"\nms = {latency_ms:?}\n"
    );
    DetectorProfile::from_toml_str(&text).expect("test profile is valid")
}

/// `flaky`: a detector that fails 40 % of requests in four ways (503, 500,
/// reset, broken body) after 0–6 ms — the replay tests' subject.
pub const FLAKY_PROFILE: &str = r#"
name = "flaky"
detector_id = "flaky-detector"
port = 0
capabilities = ["pii_detection"]
faults = [
  { kind = "http_error", status = 503, probability = 0.20 },
  { kind = "http_error", status = 500, probability = 0.10 },
  { kind = "reset", probability = 0.05 },
  { kind = "malformed_json", probability = 0.05 },
]
[latency]
model = "uniform"
min = 0.0
max = 6.0
"#;

/// Writes `text` to `name` in a directory of this test process's own, and
/// returns its path.
pub fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mockdet-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("the file is written");
    path
}

/// A one-detector fleet serving `profile`, seeded.
pub async fn fleet_of(profile: DetectorProfile) -> Fleet {
    Fleet::builder()
        .profile(profile)
        .seed(42)
        .start()
        .await
        .expect("fleet starts")
}

/// A client with a timeout that fails a stuck test instead of hanging it.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client builds")
}

/// POSTs a small detection request to `{url}/detect`.
pub async fn detect(client: &reqwest::Client, url: &str) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{url}/detect"))
        .json(&serde_json::json!({"content": "hello from a test", "content_type": "text"}))
        .send()
        .await
}

/// GETs `url` and returns the answer's text.
pub async fn get_text(client: &reqwest::Client, url: &str) -> String {
    client
        .get(url)
        .send()
        .await
        .expect("the request is answered")
        .text()
        .await
        .expect("the answer is text")
}

/// GETs `url` and decodes the JSON answer.
pub async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client
        .get(url)
        .send()
        .await
        .expect("the request is answered")
        .json()
        .await
        .expect("the answer is JSON")
}

/// The value of `mockdet_in_flight_requests` in a detector's `/metrics`
/// text (0 before the detector has served a request).
pub fn in_flight(metrics: &str) -> f64 {
    metrics
        .lines()
        .find(|line| line.starts_with("mockdet_in_flight_requests{"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse::<f64>().ok())
        .unwrap_or(0.0)
}

/// Five standard deviations of a binomial proportion over `n` trials: a
/// tolerance a correct implementation misses about once in 1.7 million runs.
pub fn binomial_tolerance(p: f64, n: usize) -> f64 {
    5.0 * (p * (1.0 - p) / n as f64).sqrt()
}

/// A running `mockdet` command and its ready line; killed when dropped, so a
/// test that fails half-way leaves no process behind.
pub struct Running {
    pub child: Child,
    pub ready: serde_json::Value,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// The URL the ready line gives for `name`.
    pub fn url(&self, name: &str) -> String {
        self.ready["ready"][name]
            .as_str()
            .expect("a URL in the ready line")
            .to_owned()
    }
}

/// Spawns `command` with stdout piped and waits (10 s at most) for the one
/// JSON ready line a serving `mockdet` command prints once it is bound.
pub fn spawn_ready(command: &mut Command) -> Running {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mockdet starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a ready line within 10 s");
    let ready = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    Running { child, ready }
}

/// The requests `/metrics` text counts on `endpoint` (with `outcome`, or
/// any), summed over its `mockdet_requests_total` series.
pub fn requests_counted(metrics: &str, endpoint: &str, outcome: Option<&str>) -> u64 {
    let endpoint = format!("endpoint=\"{endpoint}\"");
    let outcome = outcome.map(|o| format!("outcome=\"{o}\""));
    metrics
        .lines()
        .filter(|l| l.starts_with("mockdet_requests_total{") && l.contains(&endpoint))
        .filter(|l| outcome.as_ref().is_none_or(|o| l.contains(o)))
        .map(|l| {
            let value = l.rsplit(' ').next().unwrap_or_default();
            value.parse::<u64>().expect("a counter value")
        })
        .sum()
}
