//! Bad input: a JSON error with a stable code, counted as `bad_request`, and
//! the detector keeps serving.

mod common;

use common::{client, detect, fleet_of};
use mockdet::DetectorProfile;
use serde_json::Value;

fn small_limits() -> DetectorProfile {
    DetectorProfile::from_toml_str(
        "name = \"strict\"\ndetector_id = \"strict\"\nport = 0\n\
         [latency]\nmodel = \"fixed\"\nms = 0.0\n\
         [batch]\nenabled = true\nmax_items = 3\n\
         [limits]\nbody_bytes = 2048\n",
    )
    .unwrap()
}

#[tokio::test]
async fn every_kind_of_bad_input_gets_its_status_and_code() {
    let fleet = fleet_of(small_limits()).await;
    let url = fleet.url("strict");
    let client = client();
    let big = format!("{{\"content\": \"{}\"}}", "a".repeat(4096));
    let cases: Vec<(&str, &str, String, u16, &str)> = vec![
        ("POST", "/detect", "{not json".into(), 400, "invalid_json"),
        ("POST", "/detect", "{}".into(), 422, "missing_content"),
        (
            "POST",
            "/analyze",
            "{\"content\": \"\"}".into(),
            422,
            "empty_content",
        ),
        (
            "POST",
            "/detect",
            "{\"content\": 5}".into(),
            422,
            "invalid_content",
        ),
        ("POST", "/detect", "[1, 2]".into(), 422, "invalid_request"),
        ("POST", "/detect", big, 413, "body_too_large"),
        (
            "POST",
            "/detect/batch",
            "[{\"content\":\"a\"},{\"content\":\"b\"},{\"content\":\"c\"},{\"content\":\"d\"}]"
                .into(),
            413,
            "too_many_items",
        ),
        ("POST", "/detect/batch", "[]".into(), 422, "empty_batch"),
        (
            "POST",
            "/detect/batch",
            "{\"x\": 1}".into(),
            422,
            "invalid_batch",
        ),
        ("GET", "/nowhere", String::new(), 404, "not_found"),
        ("GET", "/detect", String::new(), 405, "method_not_allowed"),
        (
            "DELETE",
            "/health",
            String::new(),
            405,
            "method_not_allowed",
        ),
    ];
    let total = cases.len();
    for (method, path, body, status, code) in cases {
        let response = client
            .request(method.parse().unwrap(), format!("{url}{path}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        let json: Value = response.json().await.unwrap();
        assert_eq!(json["error"]["code"], code, "{method} {path}: {json}");
        assert!(
            json["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert_eq!(json["detector"], "strict");
    }
    let metrics = fleet.render_metrics();
    let counted: u64 = metrics
        .lines()
        .filter(|l| {
            l.starts_with("mockdet_requests_total") && l.contains("outcome=\"bad_request\"")
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(counted, total as u64, "{metrics}");
    assert_eq!(detect(&client, &url).await.unwrap().status(), 200);
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_body_over_the_limit_without_content_length_is_refused_too() {
    let fleet = fleet_of(small_limits()).await;
    let chunks = (0..3).map(|_| Ok::<_, std::io::Error>(vec![b' '; 1500]));
    let response = client()
        .post(format!("{}/detect", fleet.url("strict")))
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["error"]["code"], "body_too_large");
    fleet.shutdown().await;
}
