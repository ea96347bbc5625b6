//! Each built-in profile's failure rate, measured over real HTTP: 2,000
//! requests per profile, with latency set to zero (and hangs shortened) so
//! the run is quick, and a binomial tolerance derived from the count.

mod common;

use std::time::Duration;

use common::binomial_tolerance;
use futures_util::{StreamExt, stream};
use mockdet::profile::LatencySpec;
use mockdet::profile::MsRange;
use mockdet::{DetectorProfile, Fleet};

const REQUESTS: usize = 2_000;

/// The profile with its timing shrunk; its fault menu untouched.
fn quick(name: &str) -> DetectorProfile {
    let mut profile = DetectorProfile::builtin(name).unwrap();
    profile.latency = LatencySpec::fixed(0.0);
    for fault in &mut profile.faults {
        if fault.duration_ms.is_some() {
            fault.duration_ms = Some(MsRange::Fixed(1.0));
        }
    }
    profile
}

/// Sends `REQUESTS` requests, 32 at a time; returns how many failed in any
/// way an orchestrator would count (non-2xx, transport error, bad body).
async fn failures(url: &str) -> usize {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    stream::iter(0..REQUESTS)
        .map(|_| {
            let client = client.clone();
            async move {
                let Ok(response) = common::detect(&client, url).await else {
                    return true;
                };
                if !response.status().is_success() {
                    return true;
                }
                match response.json::<serde_json::Value>().await {
                    Ok(body) => body["confidence"].as_f64().unwrap_or(0.0) <= 0.0,
                    Err(_) => true,
                }
            }
        })
        .buffer_unordered(32)
        .filter(|failed| std::future::ready(*failed))
        .count()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_builtin_fails_within_binomial_tolerance_of_its_profile() {
    let expected = [
        ("success", 0.0),
        ("variable", 0.02),
        ("failing", 0.30),
        ("timeout", 0.05),
        ("batch", 0.05),
    ];
    let mut builder = Fleet::builder().seed(2024);
    for (name, _) in expected {
        builder = builder.profile(quick(name));
    }
    let fleet = builder.start().await.unwrap();
    for (name, p) in expected {
        let failed = failures(&fleet.url(name)).await;
        let rate = failed as f64 / REQUESTS as f64;
        let tolerance = binomial_tolerance(p, REQUESTS).max(1.0 / REQUESTS as f64);
        eprintln!("{name}: {failed}/{REQUESTS} failed ({rate:.4}); profile {p} ± {tolerance:.4}");
        assert!(
            (rate - p).abs() <= tolerance,
            "{name}: {failed}/{REQUESTS} failed ({rate:.4}), expected {p} ± {tolerance:.4}"
        );
    }
    fleet.shutdown().await;
}
