//! OpenAI moderations on `POST /v1/moderations`, as the `openai` SDK sends
//! and reads them: every result carries all thirteen categories in all three
//! maps, harm is flagged in the categories OpenAI files it under, and
//! refusals and injected faults come back in OpenAI's error shape with the
//! headers its retry logic reads.

mod common;

use common::{client, fleet_of, get_text};
use mockdet::DetectorProfile;
use mockdet::profile::{FaultKind, FaultSpec};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// OpenAI's thirteen moderation categories, in the SDK's order.
const CATEGORIES: [&str; 13] = [
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
];

/// The categories the SDK allows `"image"` for.
const IMAGE_CATEGORIES: [&str; 6] = [
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "violence",
    "violence/graphic",
];

const THREAT: &str = "I will kill you";
const HATE: &str = "I hate them";
const SQL_INJECTION: &str = "login as admin' OR 1=1";

/// A detector with every rule group on, no latency, and `extra` TOML.
fn moderator(name: &str, extra: &str) -> DetectorProfile {
    let text = format!(
        "name = \"{name}\"\ndetector_id = \"test-{name}\"\nport = 0\n\
         capabilities = [\"deep_analysis\"]\n\
         [latency]\nmodel = \"fixed\"\nms = 0.0\n{extra}"
    );
    DetectorProfile::from_toml_str(&text).expect("test profile is valid")
}

fn http_error(status: u16) -> FaultSpec {
    FaultSpec {
        status: Some(status),
        ..FaultSpec::new(FaultKind::HttpError, 1.0)
    }
}

/// POSTs `body` (raw bytes, so broken JSON can be sent) to `/v1/moderations`.
async fn moderate_raw(base: &str, body: impl Into<String>) -> (u16, HeaderMap, Value) {
    let response = client()
        .post(format!("{base}/v1/moderations"))
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-test")
        .body(body.into())
        .send()
        .await
        .expect("the request is answered");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let json = response.json().await.expect("the answer is JSON");
    (status, headers, json)
}

async fn moderate(base: &str, body: Value) -> Value {
    let (status, _, json) = moderate_raw(base, body.to_string()).await;
    assert_eq!(status, 200, "{json}");
    json
}

/// The one result of a single-input request.
async fn only_result(base: &str, input: Value) -> Value {
    let answer = moderate(base, json!({ "input": input })).await;
    let results = answer["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{answer}");
    results[0].clone()
}

/// The categories a result flags, in the SDK's order.
fn flagged(result: &Value) -> Vec<&'static str> {
    CATEGORIES
        .into_iter()
        .filter(|c| result["categories"][*c] == true)
        .collect()
}

/// Checks the shape a strict client requires of one result.
fn assert_complete(result: &Value) {
    let mut expected: Vec<&str> = CATEGORIES.to_vec();
    expected.sort_unstable();
    for map in [
        "categories",
        "category_scores",
        "category_applied_input_types",
    ] {
        let mut keys: Vec<&str> = result[map]
            .as_object()
            .unwrap_or_else(|| panic!("{map} is an object: {result}"))
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, expected, "{map}");
    }
    for category in CATEGORIES {
        assert!(result["categories"][category].is_boolean(), "{category}");
        let score = result["category_scores"][category].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score), "{category}: {score}");
        assert!(result["category_applied_input_types"][category].is_array());
    }
    let any = CATEGORIES.iter().any(|c| result["categories"][*c] == true);
    assert_eq!(result["flagged"], any, "flagged is any category: {result}");
}

#[tokio::test]
async fn a_string_gets_one_complete_result_and_clean_text_is_not_flagged() {
    let fleet = fleet_of(moderator("mod", "")).await;
    let base = fleet.url("mod");
    let answer = moderate(&base, json!({"input": "hello, how are you today?"})).await;
    assert!(
        answer["id"].as_str().unwrap().starts_with("modr-"),
        "{answer}"
    );
    assert_eq!(answer["model"], "omni-moderation-latest");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_complete(&results[0]);
    assert_eq!(results[0]["flagged"], false);
    for category in CATEGORIES {
        let types = &results[0]["category_applied_input_types"][category];
        assert_eq!(*types, json!(["text"]), "{category}");
    }

    let journal = fleet.detector("mod").journal();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].protocol, "openai");
    assert_eq!(journal[0].path, "/v1/moderations");
    assert_eq!(journal[0].status, Some(200));
    let metrics = get_text(&client(), &format!("{base}/metrics")).await;
    let counted = common::requests_counted(&metrics, "openai_moderations", None);
    assert_eq!(counted, 1, "{metrics}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn harm_is_flagged_in_the_categories_openai_files_it_under() {
    let fleet = fleet_of(moderator("mod", "")).await;
    let base = fleet.url("mod");

    let threat = only_result(&base, json!(THREAT)).await;
    assert_complete(&threat);
    assert_eq!(threat["flagged"], true);
    assert_eq!(flagged(&threat), ["harassment/threatening", "violence"]);
    assert_eq!(threat["category_scores"]["violence"], 0.75);
    let clean = threat["category_scores"]["sexual"].as_f64().unwrap();
    assert!(
        clean < 0.01,
        "an unraised category scores as clean: {clean}"
    );

    let hate = only_result(&base, json!(HATE)).await;
    assert_complete(&hate);
    assert!(flagged(&hate).contains(&"hate"), "{hate}");
    assert!(!flagged(&hate).contains(&"violence"), "{hate}");

    let injection = only_result(&base, json!(SQL_INJECTION)).await;
    assert_complete(&injection);
    assert_eq!(flagged(&injection), ["illicit"]);
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_list_of_strings_gets_one_result_each_in_order_and_the_model_is_echoed() {
    let fleet = fleet_of(moderator("mod", "")).await;
    let body = json!({
        "input": ["hello there", THREAT, HATE, SQL_INJECTION],
        "model": "text-moderation-stable",
    });
    let answer = moderate(&fleet.url("mod"), body).await;
    assert_eq!(answer["model"], "text-moderation-stable");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "{answer}");
    results.iter().for_each(assert_complete);
    let flags: Vec<bool> = results.iter().map(|r| r["flagged"] == true).collect();
    assert_eq!(flags, [false, true, true, true]);
    let violent: Vec<bool> = results
        .iter()
        .map(|r| r["categories"]["violence"] == true)
        .collect();
    assert_eq!(violent, [false, true, false, false]);
    assert_eq!(results[2]["categories"]["hate"], true);
    assert_eq!(results[3]["categories"]["illicit"], true);
    fleet.shutdown().await;
}

#[tokio::test]
async fn content_parts_are_one_input_and_images_apply_where_openai_allows_them() {
    let fleet = fleet_of(moderator("mod", "")).await;
    let parts = json!([
        {"type": "text", "text": THREAT},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
    ]);
    let result = only_result(&fleet.url("mod"), parts).await;
    assert_complete(&result);
    assert_eq!(
        result["categories"]["violence"], true,
        "the text part counts"
    );
    let applied = &result["category_applied_input_types"];
    assert!(
        applied["violence"]
            .as_array()
            .unwrap()
            .contains(&json!("image"))
    );
    assert!(
        applied["violence"]
            .as_array()
            .unwrap()
            .contains(&json!("text"))
    );
    assert!(
        !applied["hate"]
            .as_array()
            .unwrap()
            .contains(&json!("image"))
    );
    for category in CATEGORIES {
        let has_image = applied[category]
            .as_array()
            .unwrap()
            .contains(&json!("image"));
        let allowed = IMAGE_CATEGORIES.contains(&category);
        assert_eq!(has_image, allowed, "{category}: {applied}");
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_openai_invalid_request_errors() {
    let fleet = fleet_of(moderator("mod", "")).await;
    let base = fleet.url("mod");
    let cases = [
        ("missing input", r#"{"model": "omni-moderation-latest"}"#),
        ("input of the wrong type", r#"{"input": 42}"#),
        ("an empty list", r#"{"input": []}"#),
        (
            "a bad part type",
            r#"{"input": [{"type": "audio", "audio": {}}]}"#,
        ),
        ("invalid JSON", r#"{"input": "unterminated"#),
    ];
    for (what, body) in cases {
        let (status, _, json) = moderate_raw(&base, body).await;
        assert_eq!(status, 400, "{what}: {json}");
        let error = json["error"].as_object().expect("an error object");
        let mut keys: Vec<&str> = error.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["code", "message", "param", "type"], "{what}");
        assert_eq!(error["type"], "invalid_request_error", "{what}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(error["param"].is_null() || error["param"].is_string());
        assert!(error["code"].is_null() || error["code"].is_string());
    }
    let journal = fleet.detector("mod").journal();
    assert_eq!(journal.len(), cases.len());
    for entry in &journal {
        assert_eq!(
            (entry.protocol.as_str(), entry.status),
            ("openai", Some(400))
        );
    }
    assert_eq!(
        only_result(&base, json!("still serving")).await["flagged"],
        false
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_profile_flag_threshold_above_the_score_does_not_flag() {
    let strict = moderator("lenient", "[protocol_options]\nflag_threshold = 0.9\n");
    let fleet = fleet_of(strict).await;
    let result = only_result(&fleet.url("lenient"), json!(THREAT)).await;
    assert_complete(&result);
    assert_eq!(result["category_scores"]["violence"], 0.75, "still scored");
    assert_eq!(result["flagged"], false, "{result}");
    assert!(flagged(&result).is_empty(), "{result}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn injected_faults_answer_as_openai_rate_limits_and_server_errors() {
    let fleet = fleet_of(moderator("mod", "")).await;
    let base = fleet.url("mod");
    let handle = fleet.detector("mod");
    let body = json!({"input": "hello"}).to_string();

    handle.fail_next(1, http_error(429)).unwrap();
    let (status, headers, json) = moderate_raw(&base, body.clone()).await;
    assert_eq!(status, 429, "{json}");
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    let retry_after: f64 = header("retry-after").expect("retry-after").parse().unwrap();
    let retry_after_ms: f64 = header("retry-after-ms")
        .expect("retry-after-ms")
        .parse()
        .unwrap();
    assert!(
        retry_after > 0.0 && retry_after <= 60.0,
        "the SDK honours it"
    );
    assert_eq!(retry_after_ms, retry_after * 1000.0);
    assert_eq!(
        header("x-ratelimit-remaining-requests").as_deref(),
        Some("0")
    );
    assert_eq!(json["error"]["type"], "requests");
    assert_eq!(json["error"]["code"], "rate_limit_exceeded");
    assert!(json["error"]["message"].is_string());

    handle.fail_next(1, http_error(503)).unwrap();
    let (status, _, json) = moderate_raw(&base, body.clone()).await;
    assert_eq!(status, 503, "{json}");
    assert_eq!(json["error"]["type"], "server_error");
    assert!(json["error"]["message"].is_string());

    let (status, _, json) = moderate_raw(&base, body).await;
    assert_eq!(status, 200, "the faults were for the next one each: {json}");
    let journal = handle.journal();
    let seen: Vec<_> = journal
        .iter()
        .map(|e| (e.protocol.as_str(), e.status, e.fault.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("openai", Some(429), Some("http_error")),
            ("openai", Some(503), Some("http_error")),
            ("openai", Some(200), None),
        ]
    );
    fleet.shutdown().await;
}
