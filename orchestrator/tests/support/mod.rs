//! Helpers shared by the `orchestrator_*` tests: detectors with fixed
//! behaviour, and a client that cannot hang a test.
#![allow(dead_code)]

use std::time::Duration;

#[path = "../../../tests/common/wait.rs"]
pub mod wait;

use mockdet::{DetectorProfile, Fleet};
use mockdet_orchestrator::Orchestrator;
use serde_json::{Value, json};

/// A detector named `name` for every content type, answering after
/// `latency_ms`, with the given `faults = [...]` TOML line (or "").
pub fn profile(name: &str, latency_ms: f64, faults: &str) -> DetectorProfile {
    let text = format!(
        "name = \"{name}\"\ndetector_id = \"{name}-detector\"\nport = 0\n\
         capabilities = [\"pii_detection\"]\ncontent_types = [\"text\", \"code\", \"document\"]\n\
         {faults}\n[latency]\nmodel = \"fixed\"\nms = {latency_ms:?}\n"
    );
    DetectorProfile::from_toml_str(&text).expect("test profile is valid")
}

/// A detector that always answers 503.
pub fn down(name: &str) -> DetectorProfile {
    profile(
        name,
        0.0,
        "faults = [{ kind = \"http_error\", status = 503, probability = 1.0 }]",
    )
}

/// A detector that holds every request for 30 s, then closes.
pub fn hanging(name: &str) -> DetectorProfile {
    profile(
        name,
        0.0,
        "faults = [{ kind = \"hang\", probability = 1.0, duration_ms = 30000.0, then = \"close\" }]",
    )
}

/// A seeded fleet of `profiles` that drains quickly (hung requests are cut).
pub async fn fleet(profiles: Vec<DetectorProfile>) -> Fleet {
    profiles
        .into_iter()
        .fold(Fleet::builder(), |b, p| b.profile(p))
        .seed(7)
        .drain_timeout(Duration::from_millis(200))
        .start()
        .await
        .expect("fleet starts")
}

/// An orchestrator builder wired to every detector of `fleet`, with a
/// long health interval so only the first poll happens.
pub fn wired(fleet: &Fleet) -> mockdet_orchestrator::OrchestratorBuilder {
    fleet
        .urls()
        .into_iter()
        .fold(Orchestrator::builder(), |b, (name, url)| {
            b.detector(&name, url)
        })
        .health_interval(Duration::from_secs(60))
        .drain_timeout(Duration::from_millis(200))
}

/// A client with a timeout that fails a stuck test instead of hanging it.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client builds")
}

/// A valid sync request for `content_type`.
pub fn request(content_type: &str) -> Value {
    json!({
        "content": "mail me at jane@example.com",
        "content_type": content_type,
        "tenant_id": "t1",
        "processing_mode": "sync",
    })
}

/// POSTs `body` to `{url}{path}`; returns the status and the JSON body.
pub async fn post(client: &reqwest::Client, url: &str, path: &str, body: &Value) -> (u16, Value) {
    let response = client
        .post(format!("{url}{path}"))
        .json(body)
        .send()
        .await
        .expect("orchestrator answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// GETs `{url}{path}`; returns the status and the JSON body.
pub async fn get(client: &reqwest::Client, url: &str, path: &str) -> (u16, Value) {
    let response = client
        .get(format!("{url}{path}"))
        .send()
        .await
        .expect("orchestrator answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// `detector -> status` from a reply's `detector_results`.
pub fn statuses(body: &Value) -> Vec<(String, String)> {
    body["detector_results"]
        .as_array()
        .expect("detector_results is a list")
        .iter()
        .map(|r| {
            (
                r["detector"].as_str().unwrap_or("?").to_owned(),
                r["status"].as_str().unwrap_or("?").to_owned(),
            )
        })
        .collect()
}

/// Analyze calls a detector received, from its journal.
pub fn calls(fleet: &Fleet, name: &str) -> usize {
    fleet
        .detector(name)
        .journal()
        .iter()
        .filter(|e| e.path == "/analyze")
        .count()
}

/// Waits (bounded) until the orchestrator's first health poll has seen
/// every detector, so a fault started after this is not seen by it.
pub async fn wait_polled(client: &reqwest::Client, url: &str) {
    let mut health = Value::Null;
    let polled = wait::eventually_async(Duration::from_secs(5), async || {
        health = get(client, url, "/health").await.1;
        health["detectors"]
            .as_object()
            .is_some_and(|d| d.values().all(|v| v["health"] != "unknown"))
            .then_some(())
    })
    .await;
    assert!(
        polled.is_some(),
        "the first health poll did not finish within 5 s: {health}"
    );
}
