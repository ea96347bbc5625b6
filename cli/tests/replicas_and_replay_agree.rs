//! Replay by request across processes: three `mockdet` replicas with one
//! seed behind a round-robin balancer give each request key the fate a
//! single process gives it; and `mockdet replay --journal` serves a saved
//! journal's outcomes again, without the seed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

#[path = "../../tests/common/mod.rs"]
mod common;

use common::{FLAKY_PROFILE, Running, temp_file};

const BIN: &str = env!("CARGO_BIN_EXE_mockdet");

/// Logical requests per run.
const LOGICAL: usize = 240;

fn start(args: &[&str]) -> Running {
    common::spawn_ready(Command::new(BIN).args(args))
}

fn replica(profile: &std::path::Path, seed: &str) -> Running {
    start(&[
        "--profile-file",
        profile.to_str().unwrap(),
        "--port",
        "0",
        "--seed",
        seed,
    ])
}

fn addr_of(running: &Running) -> SocketAddr {
    let url = running.url("flaky");
    url.trim_start_matches("http://").parse().unwrap()
}

/// A round-robin TCP balancer in front of `backends`: each new connection
/// goes to the next one.
async fn balancer(backends: Vec<SocketAddr>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut next = 0usize;
        while let Ok((mut inbound, _)) = listener.accept().await {
            let backend = backends[next % backends.len()];
            next += 1;
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    addr
}

/// Sends every logical request once (first attempts only), all at once,
/// each on a connection of its own (so a balancer spreads them).
async fn send_all(base: &str) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..LOGICAL {
        let (client, url) = (client.clone(), format!("{base}/detect"));
        sends.spawn(async move {
            let sent = client
                .post(url)
                .header("x-correlation-id", format!("req-{i}"))
                .json(&serde_json::json!({"content": "same text", "content_type": "text"}))
                .send()
                .await;
            if let Ok(response) = sent {
                let _ = response.bytes().await;
            }
        });
    }
    while sends.join_next().await.is_some() {}
}

/// (key, attempt) → (status, fault, delay) from a detector's NDJSON journal.
type Fates = BTreeMap<(String, u32), (Option<u64>, Option<String>, String)>;

async fn journal(url: &str) -> (String, Fates) {
    let text = reqwest::get(format!("{url}/admin/requests?format=ndjson"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let fates = text
        .lines()
        .map(|line| {
            let e: serde_json::Value = serde_json::from_str(line).unwrap();
            let key = (
                e["key"].as_str().unwrap().to_owned(),
                e["attempt"].as_u64().unwrap() as u32,
            );
            let delay = format!("{:.6}", e["injected_delay_ms"].as_f64().unwrap());
            let fate = (
                e["status"].as_u64(),
                e["fault"].as_str().map(str::to_owned),
                delay,
            );
            (key, fate)
        })
        .collect();
    (text, fates)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_behind_a_balancer_give_each_key_the_fate_of_a_single_process() {
    let profile = temp_file("replicas.toml", FLAKY_PROFILE);
    let single = replica(&profile, "1234");
    let replicas: Vec<Running> = (0..3).map(|_| replica(&profile, "1234")).collect();
    let front = balancer(replicas.iter().map(addr_of).collect()).await;

    send_all(&single.url("flaky")).await;
    send_all(&format!("http://{front}")).await;

    let (_, expected) = journal(&single.url("flaky")).await;
    assert_eq!(expected.len(), LOGICAL);
    let mut union = Fates::new();
    for replica in &replicas {
        let (_, fates) = journal(&replica.url("flaky")).await;
        // Round robin spread the load: every replica served a share.
        assert!(fates.len() >= LOGICAL / 3 - 5, "{} requests", fates.len());
        union.extend(fates);
    }
    assert_eq!(union, expected);
    let failed = expected
        .values()
        .filter(|(status, _, _)| *status != Some(200))
        .count();
    assert!(
        failed > 20,
        "only {failed} failures: the profile did not bite"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mockdet_replay_serves_a_saved_journal_again_under_another_seed() {
    let profile = temp_file("replay.toml", FLAKY_PROFILE);
    let recorded = replica(&profile, "77");
    send_all(&recorded.url("flaky")).await;
    let (ndjson, expected) = journal(&recorded.url("flaky")).await;
    let saved = temp_file("saved.ndjson", &ndjson);

    // No --profile: the journal names its detector, found in the profile file.
    let replay = start(&[
        "replay",
        "--journal",
        saved.to_str().unwrap(),
        "--profile-file",
        profile.to_str().unwrap(),
        "--port",
        "0",
        "--seed",
        "5",
    ]);
    send_all(&replay.url("flaky")).await;
    let (text, fates) = journal(&replay.url("flaky")).await;
    assert_eq!(fates, expected);
    assert!(
        text.lines()
            .all(|l| l.contains(r#""imposed_by":"journal""#)),
        "{text}"
    );
}

#[test]
fn a_journal_that_cannot_be_read_is_named_with_its_line() {
    let missing = Command::new(BIN)
        .args(["replay", "--journal", "/nonexistent/ci.ndjson"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("--journal /nonexistent/ci.ndjson"),
        "{stderr}"
    );

    let broken = temp_file("broken.ndjson", "{\"seq\": 1}\nnot json\n");
    let output = Command::new(BIN)
        .args(["replay", "--journal", broken.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.ndjson") && stderr.contains("line 1"),
        "{stderr}"
    );
}
