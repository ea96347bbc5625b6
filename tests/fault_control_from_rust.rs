//! Runtime fault control through the library: the same operations as
//! `/admin`, bursts, and a minimal circuit breaker that must see a detector
//! outage open it, half-open it and close it again.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{client, detect, fleet_of, profile};
use futures_util::{StreamExt, stream};
use mockdet::profile::{FaultKind, FaultSpec};
use mockdet::{DetectorProfile, Outage, Phase, PhaseOverrides, Script};

fn http_error(status: u16) -> FaultSpec {
    FaultSpec {
        kind: FaultKind::HttpError,
        probability: 1.0,
        status: Some(status),
        retry_after_s: None,
        duration_ms: None,
        then: None,
    }
}

#[tokio::test]
async fn the_handle_does_what_the_admin_api_does() {
    let fleet = fleet_of(profile("lib", 0.0, "")).await;
    let handle = fleet.detector("lib");
    let client = client();
    handle.fail_next(2, http_error(429)).unwrap();
    let mut statuses = Vec::new();
    for i in 0..3 {
        let response = client
            .post(format!("{}/detect", handle.url()))
            .header("X-Correlation-ID", format!("id-{i}"))
            .json(&serde_json::json!({"content": "x"}))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [429, 429, 200]);
    let journal = handle.journal();
    assert_eq!(journal.len(), 3);
    assert_eq!(journal[0].correlation_id.as_deref(), Some("id-0"));
    assert_eq!(journal[0].imposed_by.as_deref(), Some("next"));
    assert_eq!(journal[0].fault.as_deref(), Some("http_error"));
    assert_eq!(journal[2].fault, None);

    let mut invalid = handle.profile();
    invalid.faults = vec![FaultSpec {
        probability: 1.5,
        ..http_error(500)
    }];
    assert!(handle.set_profile(invalid).is_err());
    assert_eq!(detect(&client, handle.url()).await.unwrap().status(), 200);

    let script = Script {
        phases: vec![Phase {
            duration_ms: 60_000,
            overrides: PhaseOverrides {
                faults: Some(vec![http_error(503)]),
                latency: None,
            },
        }],
        looped: false,
    };
    handle.run_script(script).unwrap();
    assert_eq!(handle.script_status().unwrap().phase, 0);
    assert_eq!(detect(&client, handle.url()).await.unwrap().status(), 503);
    handle.clear_faults();
    assert!(handle.script_status().is_none());
    assert!(
        handle
            .outage(Outage::errors(200, Duration::from_secs(1)))
            .is_err()
    );
    handle.reset();
    assert!(handle.journal().is_empty());
    fleet.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_give_failure_runs_of_the_modelled_mean_length() {
    let (enter, exit): (f64, f64) = (0.05, 0.25);
    let text = format!(
        "name = \"burst\"\ndetector_id = \"burst\"\nport = 0\n\
         [latency]\nmodel = \"fixed\"\nms = 0.0\n\
         [bursts]\nenter_probability = {enter}\nexit_probability = {exit}\n\
         faults = [{{ kind = \"http_error\", status = 503, probability = 1.0 }}]\n"
    );
    let fleet = fleet_of(DetectorProfile::from_toml_str(&text).unwrap()).await;
    let url = fleet.url("burst");
    let client = client();
    let n = 6_000;
    // Concurrency does not matter: the chain is a function of the sequence number.
    let by_seq: BTreeMap<u64, bool> = stream::iter(0..n)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let response = detect(&client, &url).await.unwrap();
                let seq = response.headers()["x-mock-seq"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap();
                (seq, response.status() == 503)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let failed: Vec<bool> = by_seq.into_values().collect();
    let runs: Vec<usize> = failed
        .split(|f| !f)
        .map(<[bool]>::len)
        .filter(|l| *l > 0)
        .collect();
    let count = runs.len() as f64;
    let mean = runs.iter().sum::<usize>() as f64 / count;
    // Bad runs are geometric: mean 1/exit, sd sqrt(1-exit)/exit.
    let expected = 1.0 / exit;
    let tolerance = 5.0 * (1.0 - exit).sqrt() / exit / count.sqrt();
    assert!(
        (mean - expected).abs() <= tolerance,
        "mean run {mean:.2} over {count} runs; expected {expected} ± {tolerance:.2}"
    );
    fleet.shutdown().await;
}

/// The breaker an orchestrator would have: open after `threshold`
/// consecutive failures, half-open after `cool_down`, closed on a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Breaker {
    Closed { failures: u32 },
    Open { since: Instant },
    HalfOpen,
}

impl Breaker {
    fn label(self) -> &'static str {
        match self {
            Breaker::Closed { .. } => "closed",
            Breaker::Open { .. } => "open",
            Breaker::HalfOpen => "half-open",
        }
    }
}

#[tokio::test]
async fn an_outage_takes_a_circuit_breaker_through_open_half_open_and_closed() {
    let fleet = fleet_of(profile("cb", 0.0, "")).await;
    let handle = fleet.detector("cb");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let (threshold, cool_down) = (3, Duration::from_millis(250));
    handle
        .outage(Outage::unavailable(Duration::from_millis(600)))
        .unwrap();
    let mut breaker = Breaker::Closed { failures: 0 };
    let mut states = vec!["closed"];
    let began = Instant::now();
    while began.elapsed() < Duration::from_secs(3) {
        if let Breaker::Open { since } = breaker {
            // An open breaker sends nothing until its cool-down is over:
            // waiting it out is the behaviour modelled, and nothing outside
            // the breaker marks its end, so this sleep is no stand-in for a
            // wait on state.
            tokio::time::sleep_until((since + cool_down).into()).await;
            breaker = Breaker::HalfOpen;
            states.push(breaker.label());
        }
        let ok = detect(&client, handle.url())
            .await
            .map(|r| r.status().is_success())
            .unwrap_or(false);
        breaker = match (breaker, ok) {
            (_, true) => Breaker::Closed { failures: 0 },
            (Breaker::Closed { failures }, false) if failures + 1 < threshold => Breaker::Closed {
                failures: failures + 1,
            },
            _ => Breaker::Open {
                since: Instant::now(),
            },
        };
        if states.last() != Some(&breaker.label()) {
            states.push(breaker.label());
        }
        if states.ends_with(&["half-open", "closed"]) {
            break;
        }
    }
    assert_eq!(states.first(), Some(&"closed"));
    assert_eq!(states[1], "open", "{states:?}");
    assert!(
        states.ends_with(&["open", "half-open", "closed"]),
        "{states:?}"
    );
    // While open, no calls reached the detector: the journal has only the
    // calls made while closed or half-open.
    let calls = handle.journal();
    assert!(calls.iter().filter(|c| c.status == Some(503)).count() >= threshold as usize);
    assert_eq!(calls.last().and_then(|c| c.status), Some(200));
    fleet.shutdown().await;
}
