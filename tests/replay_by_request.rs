//! Replay by request: the same logical request gets the same fate whatever
//! the order and concurrency of the rest, retries included — and a journal
//! recorded at concurrency 32 serves the same outcomes again at
//! concurrency 1, from a fleet with another seed.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{StreamExt, stream};
use mockdet::{DetectorProfile, Fleet, Forecast, JournalEntry, Replay, RequestKey};
use rand::SeedableRng;
use rand::seq::SliceRandom;

/// Logical requests per run.
const LOGICAL: usize = 500;
/// Sends of one logical request at most: the first and three retries.
const MAX_SENDS: u32 = 4;

fn flaky_profile() -> DetectorProfile {
    DetectorProfile::from_toml_str(common::FLAKY_PROFILE).unwrap()
}

/// (key, attempt) → (status, fault, injected delay in ms).
type Fates = BTreeMap<(String, u32), (Option<u16>, Option<String>, String)>;

fn fates(journal: &[JournalEntry]) -> Fates {
    journal
        .iter()
        .map(|e| {
            let key = e.key.clone().expect("request mode journals the key");
            let attempt = e.attempt.expect("request mode journals the attempt");
            // Formatted, so the maps compare exactly but print readably.
            let delay = format!("{:.6}", e.injected_delay_ms);
            ((key, attempt), (e.status, e.fault.clone(), delay))
        })
        .collect()
}

/// Sends `order`'s logical requests, `concurrency` at a time, each retried
/// on a 5xx or a cut connection up to `MAX_SENDS` sends. Returns, per
/// logical request, the status of each send (0 for a cut connection).
async fn drive(url: &str, order: &[usize], concurrency: usize) -> BTreeMap<usize, Vec<u16>> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    stream::iter(order.iter().copied())
        .map(|i| {
            let (client, url) = (client.clone(), url.to_owned());
            async move {
                let mut statuses = Vec::new();
                for _ in 0..MAX_SENDS {
                    let sent = client
                        .post(format!("{url}/detect"))
                        .header("x-correlation-id", format!("order-{i}"))
                        .json(&serde_json::json!({"content": "the same text", "content_type": "text"}))
                        .send()
                        .await;
                    let status = match sent {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            let _ = response.bytes().await;
                            status
                        }
                        Err(_) => 0,
                    };
                    statuses.push(status);
                    if status != 0 && status < 500 {
                        break;
                    }
                }
                (i, statuses)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await
}

fn shuffled(seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..LOGICAL).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    order
}

async fn fleet(seed: u64, replay: Replay) -> Fleet {
    Fleet::builder()
        .profile(flaky_profile())
        .seed(seed)
        .replay(replay)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_logical_requests_get_the_same_fates_in_any_order_at_concurrency_32() {
    let mut runs = Vec::new();
    for order_seed in [1, 2] {
        let fleet = fleet(42, Replay::Request).await;
        let sends = drive(&fleet.url("flaky"), &shuffled(order_seed), 32).await;
        runs.push((fates(&fleet.detector("flaky").journal()), sends));
    }
    let (first, first_sends) = &runs[0];
    let (second, second_sends) = &runs[1];
    assert_eq!(
        first, second,
        "(key, attempt) → fate differs between orders"
    );
    assert_eq!(first_sends, second_sends, "clients saw different statuses");
    // The test means something: retries happened, and so did every kind of fate.
    let retried = first.keys().filter(|(_, attempt)| *attempt >= 2).count();
    assert!(retried > 100, "{retried} retries");
    assert!(first.keys().any(|(_, attempt)| *attempt == MAX_SENDS));
    for fault in ["http_error", "reset", "malformed_json"] {
        assert!(
            first.values().any(|(_, f, _)| f.as_deref() == Some(fault)),
            "{fault}"
        );
    }
    assert_eq!(
        first
            .keys()
            .map(|(key, _)| key)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        LOGICAL
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_sequence_mode_the_order_decides_the_fate_which_is_why_request_mode_exists() {
    let mut seen = Vec::new();
    for order_seed in [1, 2] {
        let fleet = fleet(42, Replay::Sequence).await;
        seen.push(drive(&fleet.url("flaky"), &shuffled(order_seed), 32).await);
    }
    assert_ne!(seen[0], seen[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_journal_recorded_at_concurrency_32_replays_at_concurrency_1_without_the_seed() {
    let recorded = fleet(42, Replay::Request).await;
    let sends = drive(&recorded.url("flaky"), &shuffled(3), 32).await;
    let journal = recorded.journal();
    let expected = fates(&journal);
    // What a CI job saves on failure, and reads back.
    let saved = JournalEntry::to_ndjson(&journal);
    let entries = JournalEntry::parse_ndjson(&saved).unwrap();
    assert_eq!(entries, journal);

    // Another seed: every outcome comes from the journal.
    let replay = Fleet::builder()
        .profile(flaky_profile())
        .seed(7)
        .replay_journal(entries)
        .start()
        .await
        .unwrap();
    let order: Vec<usize> = (0..LOGICAL).collect();
    let replayed_sends = drive(&replay.url("flaky"), &order, 1).await;
    let journal = replay.detector("flaky").journal();
    assert_eq!(fates(&journal), expected);
    assert_eq!(replayed_sends, sends);
    assert!(
        journal
            .iter()
            .all(|e| e.imposed_by.as_deref() == Some("journal"))
    );
    let metrics = replay.render_metrics();
    let hits = format!(
        "mockdet_replay_events_total{{detector=\"flaky\",event=\"journal_hit\"}} {}",
        expected.len()
    );
    assert!(metrics.contains(&hits), "{metrics}");
    assert!(!metrics.contains("journal_miss"), "{metrics}");

    // A request the journal never saw draws from the profile, and is counted.
    let client = common::client();
    let _ = client
        .post(format!("{}/detect", replay.url("flaky")))
        .header("x-correlation-id", "never-seen")
        .json(&serde_json::json!({"content": "new", "content_type": "text"}))
        .send()
        .await;
    let metrics = replay.render_metrics();
    assert!(
        metrics
            .contains("mockdet_replay_events_total{detector=\"flaky\",event=\"journal_miss\"} 1"),
        "{metrics}"
    );
}

/// The built-in `failing` detector seeded `seed`, and its forecast.
async fn failing(seed: u64) -> (Fleet, Forecast) {
    let profile = DetectorProfile::builtin("failing").unwrap();
    let forecast = Forecast::new(&profile, seed).unwrap();
    let fleet = Fleet::builder()
        .profile(profile)
        .seed(seed)
        .start()
        .await
        .unwrap();
    (fleet, forecast)
}

/// POSTs one small content to `failing`'s `/detect` with `headers`.
async fn detect_with(
    client: &reqwest::Client,
    fleet: &Fleet,
    headers: &[(&str, &str)],
) -> reqwest::Result<reqwest::Response> {
    let mut request = client
        .post(format!("{}/detect", fleet.url("failing")))
        .header("content-type", "application/json")
        .body(r#"{"content":"hello","content_type":"text"}"#);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await
}

#[tokio::test]
async fn an_answer_names_its_key_and_attempt_and_the_forecast_agrees() {
    let (fleet, forecast) = failing(9).await;
    let client = common::client();
    let key = RequestKey::new(Some(("x-correlation-id", "c-1")), None);
    for attempt in 1..=3u32 {
        let sent = detect_with(&client, &fleet, &[("x-correlation-id", "c-1")]).await;
        let expected = forecast.fate_of(key, attempt);
        let entry = fleet.detector("failing").journal_tail(1).remove(0);
        assert_eq!(entry.key, Some(key.to_string()));
        assert_eq!(entry.attempt, Some(attempt));
        assert_eq!(entry.fault.as_deref(), expected.fault.map(|f| f.as_str()));
        let delay = expected.delay.as_secs_f64() * 1000.0;
        assert!(
            (entry.injected_delay_ms - delay).abs() < 1e-6,
            "{entry:?} vs {expected:?}"
        );
        if let Ok(response) = sent {
            assert_eq!(
                response.headers()["x-mock-attempt"],
                attempt.to_string().as_str()
            );
        }
    }
}

#[tokio::test]
async fn a_client_may_state_the_attempt_and_a_bad_statement_is_refused() {
    let (fleet, forecast) = failing(5).await;
    let client = common::client();
    let key = RequestKey::new(Some(("x-request-id", "r-9")), None);
    // The third attempt, as a retry landing on a fresh replica would state it.
    let stated = [("x-request-id", "r-9"), ("x-attempt", "3")];
    let _ = detect_with(&client, &fleet, &stated).await;
    let entry = fleet.detector("failing").journal_tail(1).remove(0);
    assert_eq!(entry.attempt, Some(3));
    let expected = forecast.fate_of(key, 3);
    assert_eq!(entry.fault.as_deref(), expected.fault.map(|f| f.as_str()));

    for bad in ["0", "three", "-1"] {
        let response = detect_with(&client, &fleet, &[("x-attempt", bad)])
            .await
            .unwrap();
        assert_eq!(response.status(), 400);
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "invalid_attempt", "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("x-attempt: {bad}")), "{message}");
    }
}

#[tokio::test]
async fn a_journal_for_a_detector_not_in_the_fleet_is_refused_by_name() {
    let mut entry = JournalEntry::parse_ndjson(
        r#"{"detector":"ghost","seq":1,"at":"2026-01-01T00:00:00.000Z","method":"POST","path":"/detect","correlation_id":null,"content_bytes":1,"injected_delay_ms":1.0,"fault":null,"imposed_by":null,"status":200,"duration_ms":1.0}"#,
    )
    .unwrap();
    let err = Fleet::builder()
        .builtin("success")
        .builtin("failing")
        .replay_journal(entry.clone())
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`ghost`") && err.contains("success, failing"),
        "{err}"
    );
    entry[0].detector.clear();
    let err = Fleet::builder()
        .builtin("success")
        .builtin("failing")
        .replay_journal(entry)
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("names no detector"), "{err}");
}
