//! A small reproducible benchmark of the reference orchestrator: an
//! open-loop client sends a fixed rate of the seed's mixed payloads for a
//! bounded time (loopback only) and reports latency percentiles measured
//! from each request's *scheduled* send time (so a stall cannot hide its
//! own queueing), statuses, and per-detector outcomes.
//!
//! Without a URL it starts [`Demo`] in-process, seeded, on
//! ephemeral ports — detectors, orchestrator and client sharing the
//! machine, the setting in which the orchestrator must not be the
//! bottleneck.

use std::collections::BTreeMap;
use std::time::Duration;

use mockdet_stats::{Histogram, Summary};
use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::demo::Demo;
use super::server::OrchestratorError;

/// Why the benchmark could not run. Failed or slow requests are not errors
/// but figures of the report.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The in-process demo (detectors and orchestrator) could not start.
    #[error("cannot start the in-process demo: {0}")]
    Demo(#[from] OrchestratorError),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// A request task panicked or was cancelled.
    #[error("a request task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The seed suite's mix: text with PII, code with secrets and injection,
/// a document, short and long, in all three content types.
const PAYLOADS: &[(&str, &str)] = &[
    (
        "text",
        "Contact john.doe@example.com or call 555-123-4567 about the invoice.",
    ),
    (
        "code",
        "API_KEY = \"sk-live-1234567890abcdef\"\nquery = \"SELECT * FROM users WHERE id = '\" + user_id + \"' OR '1'='1'\"",
    ),
    (
        "document",
        "Quarterly report. Revenue grew 12% on strong demand. The board thanks every team for a steady year of work and growth across all regions.",
    ),
    ("text", "I will hurt you if you do that again, you idiot."),
    (
        "text",
        "SSN 123-45-6789, card 4111 1111 1111 1111, expiry 12/29.",
    ),
    ("code", "def add(a, b):\n    return a + b\n"),
];

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// An orchestrator to target; `None` starts the demo in-process.
    pub url: Option<String>,
    /// Requests per second, sent open-loop.
    pub rate: f64,
    /// How long to send.
    pub duration: Duration,
    /// The SLA budget the p95 is judged against (+ 50 ms).
    pub sla_budget_ms: f64,
    /// Seed of the in-process demo fleet.
    pub seed: u64,
    /// Sent as `X-API-Key` when set.
    pub api_key: Option<String>,
}

/// One request's fate.
#[derive(Debug, Clone)]
struct Sample {
    latency_ms: f64,
    lag_ms: f64,
    status: Option<u16>,
    detectors: Vec<(String, String)>,
    coverage: Option<f64>,
}

/// Runs the benchmark and returns its JSON report.
pub async fn run(options: &BenchOptions) -> Result<Value, BenchError> {
    let (url, demo) = match &options.url {
        Some(url) => (url.trim_end_matches('/').to_owned(), None),
        None => {
            let demo = Demo::builder().seed(options.seed).start().await?;
            (demo.url(), Some(demo))
        }
    };
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let samples = drive(&url, options).await?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    if let Some(demo) = demo {
        demo.shutdown().await;
    }
    Ok(report(&url, options, &samples, wall, cpu))
}

async fn drive(url: &str, options: &BenchOptions) -> Result<Vec<Sample>, BenchError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(4096)
        .build()
        .map_err(BenchError::Client)?;
    let endpoint = format!("{url}/orchestrate");
    let total = (options.rate * options.duration.as_secs_f64()).round() as u64;
    let period = Duration::from_secs_f64(1.0 / options.rate);
    let start = Instant::now() + Duration::from_millis(50);
    let mut tasks = JoinSet::new();
    for i in 0..total {
        let scheduled = start + period.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled).await;
        let request = request_for(&client, &endpoint, i, options.api_key.as_deref());
        tasks.spawn(async move { send(request, scheduled).await });
    }
    let mut samples = Vec::with_capacity(total as usize);
    while let Some(joined) = tasks.join_next().await {
        samples.push(joined?);
    }
    Ok(samples)
}

fn request_for(
    client: &reqwest::Client,
    endpoint: &str,
    i: u64,
    api_key: Option<&str>,
) -> reqwest::RequestBuilder {
    let (content_type, content) = PAYLOADS[(i as usize) % PAYLOADS.len()];
    let mut request = client
        .post(endpoint)
        .header("X-Tenant-ID", "perf-tenant")
        .header("X-Correlation-ID", format!("bench-{i}"))
        .json(&json!({
            "content": content, "content_type": content_type, "tenant_id": "perf-tenant",
            "policy_bundle": "default", "environment": "perf", "processing_mode": "sync",
            "priority": "normal", "metadata": {"bench_seq": i},
        }));
    if let Some(key) = api_key {
        request = request.header("X-API-Key", key);
    }
    request
}

async fn send(request: reqwest::RequestBuilder, scheduled: Instant) -> Sample {
    let lag_ms = scheduled.elapsed().as_secs_f64() * 1000.0;
    let answer = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            Some((
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            ))
        }
        Err(_) => None,
    };
    let latency_ms = scheduled.elapsed().as_secs_f64() * 1000.0;
    let (status, body) = match answer {
        Some((status, body)) => (Some(status), body),
        None => (None, Value::Null),
    };
    let detectors = body["detector_results"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .map(|r| (text(&r["detector"]), text(&r["status"])))
                .collect()
        })
        .unwrap_or_default();
    Sample {
        latency_ms,
        lag_ms,
        status,
        detectors,
        coverage: body["coverage_achieved"].as_f64(),
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or("?").to_owned()
}

fn report(
    url: &str,
    options: &BenchOptions,
    samples: &[Sample],
    wall_s: f64,
    cpu_s: Option<f64>,
) -> Value {
    // The one percentile rule of every mockdet tool (mockdet-stats: nearest
    // rank over an HDR histogram); all zero when nothing was sent.
    let latency = samples
        .iter()
        .map(|s| s.latency_ms)
        .collect::<Histogram>()
        .summary();
    let figure = |read: fn(&Summary) -> f64| latency.as_ref().map_or(0.0, read);
    let (statuses, detectors) = tally(samples);
    let ok = samples
        .iter()
        .filter(|s| matches!(s.status, Some(200 | 206)))
        .count();
    let coverages: Vec<f64> = samples.iter().filter_map(|s| s.coverage).collect();
    let p95 = figure(|s| s.p95);
    let limit = options.sla_budget_ms + 50.0;
    let max_lag = samples.iter().map(|s| s.lag_ms).fold(0.0, f64::max);
    json!({
        "target": url,
        "rate_rps": options.rate,
        "duration_s": options.duration.as_secs_f64(),
        "seed": options.seed,
        "sent": samples.len(),
        "achieved_rps": samples.len() as f64 / options.duration.as_secs_f64(),
        "wall_s": wall_s,
        "statuses": statuses,
        "answered_200_or_206": ok,
        "latency_ms": {
            "p50": figure(|s| s.p50), "p90": figure(|s| s.p90),
            "p95": p95, "p99": figure(|s| s.p99),
            "max": figure(|s| s.max), "mean": figure(|s| s.mean),
        },
        "max_send_lag_ms": max_lag,
        "coverage_mean": mean(&coverages),
        "detectors": detectors,
        "process_cpu_s": cpu_s,
        "p95_limit_ms": limit,
        "pass": ok == samples.len() && p95 <= limit,
    })
}

/// Counts of each HTTP status (`transport_error` when none came back), and
/// of each detector's outcome per detector.
fn tally(
    samples: &[Sample],
) -> (
    BTreeMap<String, u64>,
    BTreeMap<String, BTreeMap<String, u64>>,
) {
    let mut statuses: BTreeMap<String, u64> = BTreeMap::new();
    let mut detectors: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for sample in samples {
        let key = sample
            .status
            .map_or("transport_error".to_owned(), |s| s.to_string());
        *statuses.entry(key).or_default() += 1;
        for (detector, status) in &sample.detectors {
            *detectors
                .entry(detector.clone())
                .or_default()
                .entry(status.clone())
                .or_default() += 1;
        }
    }
    (statuses, detectors)
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// CPU time (user + system) this process has used, from /proc (Linux).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields overall, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(latency_ms: f64) -> Sample {
        Sample {
            latency_ms,
            lag_ms: 0.0,
            status: Some(200),
            detectors: Vec::new(),
            coverage: None,
        }
    }

    fn options() -> BenchOptions {
        BenchOptions {
            url: None,
            rate: 4.0,
            duration: Duration::from_secs(1),
            sla_budget_ms: 1.0,
            seed: 1,
            api_key: None,
        }
    }

    #[test]
    fn latency_percentiles_follow_the_nearest_rank() {
        // The rule of mockdet-stats, as before: the median of four is the
        // 2nd value, p95 the 4th (values under 2 ms are exact to 1 µs).
        let samples: Vec<Sample> = [0.4, 0.1, 0.3, 0.2].into_iter().map(sample).collect();
        let figures = report("http://x", &options(), &samples, 1.0, None);
        let latency = &figures["latency_ms"];
        assert_eq!(latency["p50"], 0.2);
        assert_eq!(latency["p95"], 0.4);
        assert_eq!(latency["max"], 0.4);
        assert!((latency["mean"].as_f64().unwrap() - 0.25).abs() < 1e-12);
        let empty = report("http://x", &options(), &[], 1.0, None);
        assert_eq!(empty["latency_ms"]["p95"], 0.0);
    }

    #[test]
    fn the_payload_mix_covers_every_content_type() {
        for t in ["text", "code", "document"] {
            assert!(PAYLOADS.iter().any(|(ct, _)| *ct == t), "{t} missing");
        }
    }

    #[test]
    fn this_process_has_used_some_cpu() {
        if cfg!(target_os = "linux") {
            assert!(cpu_seconds().is_some_and(|s| s >= 0.0));
        }
    }
}
