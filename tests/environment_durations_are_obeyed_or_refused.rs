//! The same property as `every_duration_is_obeyed_or_refused`, for the one
//! entry point that needs the process environment to itself: a
//! `MOCKDET_<NAME>_LATENCY__MS` variable laid over a profile. Alone in its
//! test binary, so no other test reads the environment while it changes.

use std::time::{Duration, Instant};

mod common;

use mockdet::DetectorProfile;

const MAX_MS: f64 = mockdet::profile::MAX_MS;
const VARIABLE: &str = "MOCKDET_ENVPROP_LATENCY__MS";
const PROFILE: &str = "name = \"envprop\"\ndetector_id = \"envprop\"\nport = 0\n\
                       [latency]\nmodel = \"fixed\"\nms = 0.0\n";

#[tokio::test]
async fn durations_from_the_environment_are_obeyed_or_refused() {
    // Short, long, past 24 h, negative, not a number at all.
    let values = [
        "0", "37.5", "120", "3600000", "86400000", "86400001", "1e22", "1e308", "-5", "inf", "NaN",
        "soon",
    ];
    for value in values {
        // SAFETY: this test binary runs this one test, so no other thread
        // reads or writes the environment meanwhile.
        unsafe { std::env::set_var(VARIABLE, value) };
        let loaded = DetectorProfile::from_toml_str(PROFILE).and_then(|p| p.validate().map(|()| p));
        let ms: Option<f64> = value.parse().ok().filter(|ms: &f64| ms.is_finite());
        match (ms, loaded) {
            (Some(ms), Ok(profile)) if (0.0..=MAX_MS).contains(&ms) => {
                served_as_asked(profile, ms).await;
            }
            (_, Ok(profile)) => panic!("{value} was accepted: {:?}", profile.latency),
            (Some(ms), Err(error)) if (0.0..=MAX_MS).contains(&ms) => {
                panic!("{value} was refused: {error}")
            }
            (_, Err(error)) => {
                let message = error.to_string();
                assert!(message.contains("latency"), "{value}: {message}");
            }
        }
    }
    // SAFETY: as above.
    unsafe { std::env::remove_var(VARIABLE) };
}

/// A short delay is served in full; a long one holds the answer back.
async fn served_as_asked(profile: DetectorProfile, ms: f64) {
    let fleet = common::fleet_of(profile).await;
    let asked = Duration::from_secs_f64(ms / 1000.0);
    let long = ms > 1000.0;
    let client = reqwest::Client::builder()
        .timeout(if long {
            Duration::from_millis(300)
        } else {
            Duration::from_secs(10)
        })
        .build()
        .expect("client builds");
    let started = Instant::now();
    let answer = client
        .post(format!("{}/detect", fleet.url("envprop")))
        .json(&serde_json::json!({"content": "hello"}))
        .send()
        .await;
    let elapsed = started.elapsed();
    if long {
        assert!(answer.expect_err("held back").is_timeout(), "{ms} ms");
    } else {
        assert_eq!(answer.expect("served").status(), 200);
        assert!(elapsed >= asked, "{ms} ms served in {elapsed:?}");
        assert!(
            elapsed <= asked + Duration::from_millis(400),
            "{ms} ms in {elapsed:?}"
        );
    }
}
