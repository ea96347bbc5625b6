//! `mockdet record` in front of a detector whose profile is known —
//! lognormal, median 300 ms, p99 1,800 ms, 5 % 503 — over 10,000
//! open-loop requests: the fitted profile's CDF is within KS D 0.02 of the
//! known one, the 503 share within 5σ of 5 %, and a detector started from
//! the written profile answers the recorded requests with the recorded
//! bodies, byte for byte.

use std::collections::HashMap;
use std::time::Duration;

use mockdet::profile::LatencySpec;
use mockdet::{DetectorProfile, Fleet};
use mockdet_fit::fit::{DEFAULT_MAX_D, fit};
use mockdet_fit::input;
use mockdet_fit::profile::{Naming, render};
use mockdet_fit::record::{Proxy, write_recording};
use tokio::task::JoinSet;

const N: usize = 10_000;
const RATE: f64 = 1000.0;

const KNOWN: &str = r#"
name = "known"
detector_id = "known-detector"
port = 0
capabilities = ["pii_detection"]
faults = [{ kind = "http_error", status = 503, probability = 0.05 }]
[latency]
model = "lognormal"
median = 300.0
p99 = 1800.0
"#;

/// What the client saw: status and body per correlation id.
type Seen = HashMap<String, (u16, Vec<u8>)>;

fn body(i: usize) -> String {
    format!("{{\"content\": \"request {i}: reach me at jane{i}@example.com\"}}")
}

async fn send(client: &reqwest::Client, url: &str, i: usize) -> Option<(String, u16, Vec<u8>)> {
    let id = format!("rec-{i}");
    let response = client
        .post(format!("{url}/analyze"))
        .header("content-type", "application/json")
        .header("x-correlation-id", &id)
        .body(body(i))
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.ok()?;
    Some((id, status, bytes.to_vec()))
}

/// Open loop: one request every 1/RATE s, whatever the answers do.
async fn load(url: &str, n: usize) -> Seen {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(2000)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / RATE));
    let mut tasks = JoinSet::new();
    for i in 0..n {
        ticks.tick().await;
        let (client, url) = (client.clone(), url.to_owned());
        tasks.spawn(async move { send(&client, &url, i).await });
    }
    let mut seen = Seen::new();
    while let Some(done) = tasks.join_next().await {
        if let Some((id, status, body)) = done.unwrap() {
            seen.insert(id, (status, body));
        }
    }
    seen
}

/// sup |F − G| over a fine log grid from 1 ms to 100 s.
fn cdf_distance(f: &dyn Fn(f64) -> f64, g: &dyn Fn(f64) -> f64) -> f64 {
    (0..=5000)
        .map(|i| 10f64.powf(5.0 * f64::from(i) / 5000.0))
        .map(|ms| (f(ms) - g(ms)).abs())
        .fold(0.0, f64::max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fitted_profile_matches_the_known_one_and_replays_its_bodies() {
    let known = DetectorProfile::from_toml_str(KNOWN).unwrap();
    let truth: LatencySpec = known.latency.clone();
    let fleet = Fleet::builder()
        .profile(known)
        .seed(11)
        .start()
        .await
        .unwrap();
    let proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), &fleet.url("known"))
        .await
        .unwrap();
    let seen = load(&proxy.url(), N).await;
    assert_eq!(
        seen.len(),
        N,
        "every request got an answer through the proxy"
    );
    let recording = proxy.stop(Duration::from_secs(10)).await;
    let recording = std::mem::take(&mut *recording.lock().unwrap());
    assert_eq!(recording.len(), N);

    let dir = std::env::temp_dir().join(format!("mockdet-record-{}", std::process::id()));
    let journal = write_recording(&recording, &dir).unwrap();
    let data = input::read_path(&journal).unwrap();
    let fitted = fit(&data.latencies, DEFAULT_MAX_D).unwrap();
    let truth = truth.validate().unwrap();
    let d = cdf_distance(&|ms| fitted.best().cdf(ms), &|ms| truth.cdf(ms));
    println!(
        "fitted {} ({}), D against the known CDF = {d:.4}",
        fitted.best().name,
        fitted.best().describe()
    );
    assert!(
        d <= 0.02,
        "{}: D against the known CDF = {d}",
        fitted.best().name
    );

    // The 503 share: 5 % ± 5σ of a binomial over N.
    let naming = Naming {
        name: "recorded".into(),
        port: 0,
        recorded_answers: Some("answers.ndjson".into()),
    };
    let text = render(&fitted, &[data], &naming).unwrap();
    std::fs::write(dir.join("profile.toml"), &text).unwrap();
    let profile = DetectorProfile::from_path(dir.join("profile.toml")).unwrap();
    let share = profile
        .faults
        .iter()
        .find(|f| f.status == Some(503))
        .unwrap()
        .probability;
    let sigma = (0.05 * 0.95 / N as f64).sqrt();
    println!("503 share {share} (5 % ± {:.4} at 5σ)", 5.0 * sigma);
    assert!((share - 0.05).abs() <= 5.0 * sigma, "503 share {share}");
    assert_eq!(profile.faults.len(), 1, "{:?}", profile.faults);

    // Replay: recorded requests get the recorded bodies, byte for byte.
    let replica = Fleet::builder()
        .profile(profile)
        .seed(3)
        .start()
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let mut tasks = JoinSet::new();
    for i in 0..300 {
        let (client, url) = (client.clone(), replica.url("recorded"));
        tasks.spawn(async move { send(&client, &url, i).await });
    }
    let (mut same, mut compared) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (id, status, replayed) = done.unwrap().unwrap();
        let (recorded_status, recorded) = &seen[&id];
        if status == 200 && *recorded_status == 200 {
            compared += 1;
            if replayed == *recorded {
                same += 1;
            }
        }
    }
    assert!(
        compared >= 250,
        "only {compared} of 300 were 200 both times"
    );
    assert_eq!(same, compared, "replayed bodies are the recorded ones");
    println!("{same} of {compared} replayed bodies identical");
    // A request never recorded is synthesized, and counted as such.
    let (_, status, _) = send(&client, &replica.url("recorded"), N + 1)
        .await
        .unwrap();
    let metrics = replica.render_metrics();
    let replayed = format!(
        "mockdet_recorded_answers_total{{detector=\"recorded\",event=\"replayed\"}} {same}"
    );
    assert!(metrics.contains(&replayed), "{metrics}");
    if status == 200 {
        assert!(metrics.contains(
            "mockdet_recorded_answers_total{detector=\"recorded\",event=\"synthesized\"} 1"
        ));
    }
    replica.shutdown().await;
    fleet.shutdown().await;
    std::fs::remove_dir_all(dir).ok();
}
