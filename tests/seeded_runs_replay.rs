//! In sequence mode a seed replays by arrival: the k-th request gets the
//! same latency and fault on every run, whatever the concurrency. (Request
//! mode, the default, is proven in `replay_by_request.rs`.)

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{StreamExt, stream};
use mockdet::{DetectorProfile, Fleet, Replay};

const REQUESTS: usize = 300;

fn replay_profile() -> DetectorProfile {
    DetectorProfile::from_toml_str(
        r#"
name = "replay"
detector_id = "replay-detector"
port = 0
faults = [
  { kind = "http_error", status = 500, probability = 0.15 },
  { kind = "http_error", status = 503, probability = 0.10 },
  { kind = "malformed_json", probability = 0.05 },
  { kind = "schema_invalid", probability = 0.05 },
]
[latency]
model = "uniform"
min = 0.0
max = 4.0
"#,
    )
    .unwrap()
}

/// seq → (status, sampled delay of a success) for one run.
async fn run(seed: u64, concurrency: usize) -> BTreeMap<u64, (u16, Option<String>)> {
    let fleet = Fleet::builder()
        .profile(replay_profile())
        .seed(seed)
        .replay(Replay::Sequence)
        .start()
        .await
        .unwrap();
    let url = fleet.url("replay");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let observed = stream::iter(0..REQUESTS)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let response = common::detect(&client, &url).await.unwrap();
                let seq: u64 = response.headers()["x-mock-seq"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                let status = response.status().as_u16();
                let text = response.text().await.unwrap();
                let delay = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|body| body.pointer("/metadata/injected_delay_ms").cloned())
                    .map(|d| d.to_string());
                (seq, (status, delay))
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    fleet.shutdown().await;
    observed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_replays_across_concurrency_levels() {
    let sequential = run(77, 1).await;
    let concurrent = run(77, 24).await;
    assert_eq!(sequential.len(), REQUESTS);
    assert_eq!(sequential, concurrent);
    let statuses: std::collections::BTreeSet<u16> = sequential.values().map(|v| v.0).collect();
    assert!(statuses.contains(&500) && statuses.contains(&503) && statuses.contains(&200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_seed_gives_a_different_run() {
    assert_ne!(run(77, 8).await, run(78, 8).await);
}
