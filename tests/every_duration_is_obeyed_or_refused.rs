//! A property, checked over random values from a fixed seed: a duration that
//! comes in anywhere — an `X-Mock-Delay-Ms` header, the admin API's latency,
//! next-N hang, slow outage and script phase, a profile file — is either
//! refused with a message naming what was wrong, or obeyed: a short delay is
//! served as asked (never less, within the timer's tolerance above), and a
//! long one really holds the answer back (never a silent zero). Nothing
//! panics: the detector keeps answering after every value.

mod common;

use std::time::{Duration, Instant};

use common::{fleet_of, profile};
use mockdet::{DetectorProfile, Fleet};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// Longest delay mockdet acts out, in milliseconds.
const MAX_MS: f64 = mockdet::profile::MAX_MS;
/// Values per entry point.
const CASES: usize = 24;
/// Short delays are served in full, and at most this much later.
const TOLERANCE: Duration = Duration::from_millis(400);
/// A long delay must still be holding the answer after this.
const HELD_FOR: Duration = Duration::from_millis(300);

/// One drawn duration, in milliseconds, and what it should get.
#[derive(Debug, Clone, Copy)]
enum Drawn {
    /// Served, and short enough to wait for.
    Short(f64),
    /// Accepted, and long enough that the answer is held back.
    Long(f64),
    /// Refused: negative, or past 24 h.
    Absurd(f64),
}

impl Drawn {
    fn ms(self) -> f64 {
        match self {
            Drawn::Short(ms) | Drawn::Long(ms) | Drawn::Absurd(ms) => ms,
        }
    }
}

fn draw(rng: &mut ChaCha8Rng) -> Drawn {
    match rng.random_range(0..4) {
        0 => Drawn::Short(rng.random_range(0.0..=150.0_f64).round()),
        1 => Drawn::Long(10f64.powf(rng.random_range(3.7..MAX_MS.log10())).round()),
        2 => Drawn::Absurd(10f64.powf(rng.random_range(MAX_MS.log10() + 0.001..308.0))),
        _ => Drawn::Absurd(-10f64.powf(rng.random_range(-3.0..20.0))),
    }
}

/// The values one entry point gets: every kind among them.
fn values(seed: u64) -> Vec<Drawn> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let drawn: Vec<Drawn> = (0..CASES).map(|_| draw(&mut rng)).collect();
    let has = |kind: fn(&Drawn) -> bool| drawn.iter().any(kind);
    assert!(
        has(|d| matches!(d, Drawn::Short(_))),
        "seed {seed}: {drawn:?}"
    );
    assert!(
        has(|d| matches!(d, Drawn::Long(_))),
        "seed {seed}: {drawn:?}"
    );
    assert!(
        has(|d| matches!(d, Drawn::Absurd(ms) if *ms < 0.0)),
        "seed {seed}"
    );
    assert!(
        has(|d| matches!(d, Drawn::Absurd(ms) if *ms > MAX_MS)),
        "seed {seed}"
    );
    drawn
}

/// A client whose timeout tells a held answer from a served one.
fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("client builds")
}

/// Sends one detection request (with `headers`) and checks it against
/// `drawn`: refused with a JSON 400, served after the delay, or held.
async fn check_request(url: &str, drawn: Drawn, headers: &[(&str, String)], expect: u16) {
    let timeout = match drawn {
        Drawn::Long(_) => HELD_FOR,
        _ => Duration::from_secs(10),
    };
    let mut request = client(timeout)
        .post(format!("{url}/detect"))
        .json(&json!({"content": "hello"}));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let started = Instant::now();
    let answer = request.send().await;
    let elapsed = started.elapsed();
    match drawn {
        Drawn::Long(ms) => {
            let error = answer.expect_err("a long delay holds the answer back");
            assert!(error.is_timeout(), "{ms} ms: {error}");
        }
        Drawn::Short(ms) => {
            let answer = answer.expect("a short delay is served");
            assert_eq!(answer.status(), expect, "{ms} ms");
            let asked = Duration::from_secs_f64(ms / 1000.0);
            assert!(elapsed >= asked, "{ms} ms served in {elapsed:?}");
            assert!(
                elapsed <= asked + TOLERANCE,
                "{ms} ms served in {elapsed:?}"
            );
        }
        Drawn::Absurd(ms) => {
            let answer = answer.expect("a refusal is an answer");
            assert_eq!(answer.status(), 400, "{ms} ms");
            let body: Value = answer.json().await.expect("a JSON refusal");
            assert!(body["error"]["message"].is_string(), "{ms} ms: {body}");
        }
    }
}

/// Sends an admin request; for an absurd value checks the refusal (and
/// returns false), else checks it was taken.
async fn admin(url: &str, method: reqwest::Method, path: &str, body: Value, drawn: Drawn) -> bool {
    let answer = client(Duration::from_secs(10))
        .request(method, format!("{url}{path}"))
        .json(&body)
        .send()
        .await
        .expect("the admin API answers");
    let status = answer.status().as_u16();
    let reply: Value = answer.json().await.expect("a JSON answer");
    if let Drawn::Absurd(ms) = drawn {
        assert_eq!(status, 400, "{path} {ms}: {reply}");
        let message = reply["error"]["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{path} {ms}: {reply}");
        return false;
    }
    assert_eq!(status, 200, "{path} {body}: {reply}");
    true
}

/// Checks the detector still answers at once (nothing left imposed, no panic).
async fn still_serving(fleet: &Fleet, name: &str) {
    fleet.detector(name).clear_faults();
    let answer = common::detect(&common::client(), &fleet.url(name))
        .await
        .expect("the detector still answers");
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn delay_headers_are_obeyed_or_refused() {
    let mut p = profile("hdr", 0.0, "");
    p.allow_overrides = true;
    let fleet = fleet_of(p).await;
    for drawn in values(1) {
        let header = [("X-Mock-Delay-Ms", format!("{}", drawn.ms()))];
        check_request(&fleet.url("hdr"), drawn, &header, 200).await;
        still_serving(&fleet, "hdr").await;
    }
}

#[tokio::test]
async fn latency_set_through_the_admin_api_is_obeyed_or_refused() {
    let fleet = fleet_of(profile("lat", 0.0, "")).await;
    let (url, original) = (fleet.url("lat"), fleet.detector("lat").profile());
    for drawn in values(2) {
        let patch = json!({"latency": {"model": "fixed", "ms": drawn.ms()}});
        let patch_method = reqwest::Method::PATCH;
        if admin(&url, patch_method, "/admin/profile", patch, drawn).await {
            check_request(&url, drawn, &[], 200).await;
        }
        fleet.detector("lat").set_profile(original.clone()).unwrap();
        still_serving(&fleet, "lat").await;
    }
}

#[tokio::test]
async fn next_n_hangs_are_obeyed_or_refused() {
    let fleet = fleet_of(profile("next", 0.0, "")).await;
    let url = fleet.url("next");
    for drawn in values(3) {
        let fault = json!({"kind": "hang", "duration_ms": drawn.ms(), "then": "gateway_timeout"});
        let body = json!({"count": 1, "fault": fault});
        if admin(&url, reqwest::Method::POST, "/admin/next", body, drawn).await {
            check_request(&url, drawn, &[], 504).await;
        }
        still_serving(&fleet, "next").await;
    }
}

#[tokio::test]
async fn slow_outages_are_obeyed_or_refused() {
    let fleet = fleet_of(profile("slow", 0.0, "")).await;
    let url = fleet.url("slow");
    for drawn in values(4) {
        let body = json!({"mode": "slow", "duration_ms": 60_000, "extra_ms": drawn.ms()});
        if admin(&url, reqwest::Method::POST, "/admin/outage", body, drawn).await {
            check_request(&url, drawn, &[], 200).await;
        }
        still_serving(&fleet, "slow").await;
    }
}

#[tokio::test]
async fn script_phase_latencies_are_obeyed_or_refused() {
    let fleet = fleet_of(profile("script", 0.0, "")).await;
    let url = fleet.url("script");
    for drawn in values(5) {
        let latency = json!({"model": "fixed", "ms": drawn.ms()});
        let phase = json!({"duration_ms": 60_000, "overrides": {"latency": latency}});
        let body = json!({"phases": [phase]});
        if admin(&url, reqwest::Method::POST, "/admin/script", body, drawn).await {
            check_request(&url, drawn, &[], 200).await;
        }
        still_serving(&fleet, "script").await;
    }
}

#[tokio::test]
async fn profile_files_are_obeyed_or_refused() {
    for (i, drawn) in values(6).into_iter().enumerate() {
        let name = format!("file{i}");
        let text = format!(
            "name = \"{name}\"\ndetector_id = \"{name}\"\nport = 0\n\
             [latency]\nmodel = \"fixed\"\nms = {:?}\n",
            drawn.ms()
        );
        let checked = DetectorProfile::from_toml_str(&text).and_then(|p| p.validate().map(|()| p));
        match (drawn, checked) {
            (Drawn::Absurd(ms), Err(error)) => {
                let message = error.to_string();
                assert!(message.contains("latency.ms"), "{ms}: {message}");
            }
            (Drawn::Absurd(ms), Ok(_)) => panic!("{ms} ms was accepted"),
            (drawn, Err(error)) => panic!("{drawn:?} was refused: {error}"),
            (drawn, Ok(profile)) => {
                let fleet = fleet_of(profile).await;
                check_request(&fleet.url(&name), drawn, &[], 200).await;
            }
        }
    }
}
