//! Durations beyond what mockdet acts out (24 h) are refused with a JSON
//! error naming the field, wherever they come in — the admin API, a header,
//! a profile — and never panic the detector or silently mean "no delay".

mod common;

use common::{client, detect, fleet_of, profile};
use mockdet::DetectorProfile;
use serde_json::{Value, json};

/// Sends `body` to `{url}{path}` with `method`; (status, JSON answer).
async fn admin(method: reqwest::Method, url: &str, path: &str, body: Value) -> (u16, Value) {
    let answer = client()
        .request(method, format!("{url}{path}"))
        .json(&body)
        .send()
        .await
        .expect("the admin API answers");
    let status = answer.status().as_u16();
    (status, answer.json().await.expect("a JSON answer"))
}

#[tokio::test]
async fn the_admin_api_refuses_every_absurd_duration_and_keeps_serving() {
    let fleet = fleet_of(profile("d", 0.0, "")).await;
    let url = fleet.url("d");
    let patch = reqwest::Method::PATCH;
    let post = reqwest::Method::POST;
    let cases = [
        (
            patch.clone(),
            "/admin/profile",
            json!({"latency": {"min": 1e22, "max": 1e22}}),
        ),
        (
            patch.clone(),
            "/admin/profile",
            json!({"latency": {"min": 1e25, "max": 1e308}}),
        ),
        (
            patch.clone(),
            "/admin/profile",
            json!({"latency": {"model": "pareto", "scale": 10.0, "shape": 1e-300, "min": null, "max": null}}),
        ),
        (
            post.clone(),
            "/admin/outage",
            json!({"mode": "hang", "duration_ms": 18446744073709551615u64}),
        ),
        (
            post.clone(),
            "/admin/outage",
            json!({"mode": "slow", "duration_ms": 1000, "extra_ms": 1e22}),
        ),
        (
            post.clone(),
            "/admin/next",
            json!({"count": 1, "fault": {"kind": "hang", "duration_ms": 1e308}}),
        ),
        (
            post.clone(),
            "/admin/next",
            json!({"count": 1, "fault": {"kind": "slow_body", "duration_ms": 1e22}}),
        ),
        (
            post.clone(),
            "/admin/script",
            json!({"phases": [{"duration_ms": 18446744073709551615u64}]}),
        ),
    ];
    for (method, path, body) in cases {
        let (status, answer) = admin(method, &url, path, body.clone()).await;
        assert!(
            (400..500).contains(&status) && answer["error"]["code"].is_string(),
            "{path} {body} -> {status} {answer}"
        );
    }
    // Nothing was taken: requests are answered as before, quickly.
    let answer = detect(&client(), &url).await.expect("answered");
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn an_absurd_delay_header_is_a_json_400() {
    let mut p = profile("h", 0.0, "");
    p.allow_overrides = true;
    let fleet = fleet_of(p).await;
    let answer = client()
        .post(format!("{}/detect", fleet.url("h")))
        .header("X-Mock-Delay-Ms", "1e22")
        .json(&json!({"content": "x"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status(), 400);
    let body: Value = answer.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "invalid_override");
}

#[test]
fn a_profile_file_with_an_absurd_duration_names_the_field() {
    let text = "name = \"x\"\ndetector_id = \"x\"\nport = 0\n\
                [[faults]]\nkind = \"hang\"\nprobability = 0.5\nduration_ms = 1e22\n\
                [latency]\nmodel = \"fixed\"\nms = 1.0\n";
    let err = DetectorProfile::from_toml_str(text)
        .expect("parses")
        .validate()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("faults[0].duration_ms") && err.contains("24 h"),
        "{err}"
    );
    let fixed =
        "name = \"y\"\ndetector_id = \"y\"\nport = 0\n[latency]\nmodel = \"fixed\"\nms = 1e22\n";
    let err = DetectorProfile::from_toml_str(fixed)
        .expect("parses")
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("latency.ms"), "{err}");
}
