//! A short, bounded load over loopback against `mockdet demo`, and the
//! metric names its listeners export.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::DemoProcess;

/// What the load got back from the orchestrator.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub statuses: BTreeMap<u16, usize>,
    pub transport_errors: usize,
}

impl LoadReport {
    pub fn total(&self) -> usize {
        self.statuses.values().sum::<usize>() + self.transport_errors
    }

    pub fn successes(&self) -> usize {
        self.statuses
            .iter()
            .filter(|(s, _)| (200..300).contains(*s))
            .map(|(_, n)| n)
            .sum()
    }
}

/// `orchestrations` POST /orchestrate (text: all five detectors are
/// called) with at most `concurrency` in flight, plus what the other
/// dashboard panels need to show something: fault injection through the
/// admin API (before and after), batch requests to the batch detector, and
/// one request with an `X-Mock-Fault` header (ignored: overrides are off).
pub fn drive_load(demo: &DemoProcess, orchestrations: usize, concurrency: usize) -> LoadReport {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let orchestrator = demo.url("orchestrator").to_owned();
    let failing = demo.url("failing").to_owned();
    let batch = demo.url("batch").to_owned();
    let variable = demo.url("variable").to_owned();
    runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .expect("a client");
        let next_faults = json!({"count": 5, "fault": {"kind": "http_error", "status": 503}});
        let admin = |client: reqwest::Client| {
            let url = format!("{failing}/admin/next");
            let body = next_faults.clone();
            async move {
                let response = client.post(&url).json(&body).send().await.expect("admin API");
                assert!(response.status().is_success(), "POST {url}: {}", response.status());
            }
        };
        admin(client.clone()).await;

        let report = Arc::new(Mutex::new(LoadReport::default()));
        let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..orchestrations {
            let permit = permits.clone().acquire_owned().await.expect("semaphore open");
            let (client, report) = (client.clone(), report.clone());
            let url = format!("{orchestrator}/orchestrate");
            tasks.spawn(async move {
                let body = json!({
                    "content": format!("Request {n}: reach me at jane.doe@example.com or 555-123-4567."),
                    "content_type": "text",
                    "tenant_id": "packaging-test",
                });
                let result = client.post(&url).json(&body).send().await;
                let mut report = report.lock().expect("report lock");
                match result {
                    Ok(response) => *report.statuses.entry(response.status().as_u16()).or_default() += 1,
                    Err(_) => report.transport_errors += 1,
                }
                drop(permit);
            });
        }
        for n in 0..10 {
            let client = client.clone();
            let url = format!("{batch}/detect/batch");
            tasks.spawn(async move {
                let items: Vec<Value> =
                    (0..3).map(|i| json!({"content": format!("batch {n} item {i}")})).collect();
                let _ = client.post(&url).json(&json!({"items": items})).send().await;
            });
        }
        let _ = client
            .post(format!("{variable}/detect"))
            .header("X-Mock-Fault", "reset")
            .json(&json!({"content": "an override the detector ignores"}))
            .send()
            .await;
        while tasks.join_next().await.is_some() {}
        admin(client).await;
        Arc::try_unwrap(report)
            .expect("every task has finished")
            .into_inner()
            .expect("report lock")
    })
}

pub fn assert_load_went_through(report: &LoadReport, orchestrations: usize) {
    assert_eq!(report.total(), orchestrations);
    assert!(
        report.transport_errors == 0 && report.successes() * 10 >= orchestrations * 9,
        "the demo should answer at least 90 % 2xx with no transport error: {report:?}"
    );
}

/// The metric names in a Prometheus text exposition.
pub fn exported_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

pub fn scrape(url: &str) -> String {
    let url = format!("{url}/metrics");
    let response = reqwest::blocking::get(&url).unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    response.text().expect("a metrics body")
}
