//! The FMS Detector API, as fms-guardrails-orchestrator calls it: one list
//! of span detections per content, in order, with character offsets and the
//! detected text; whole-text detections for generation, chat and context;
//! `{code, message}` errors for refusals and injected faults alike; and
//! the journal and metrics seeing the requests as FMS ones.

mod common;

use std::collections::BTreeSet;

use common::{client, fleet_of, profile};
use mockdet::profile::{FaultKind, FaultSpec};
use serde_json::{Value, json};

const NAME: &str = "fms";
const CONTENTS: &str = "/api/v1/text/contents";

/// POSTs `body` (raw bytes) to `path`, with a `detector-id` header when
/// given, and returns the status and the decoded JSON answer.
async fn post_raw(
    client: &reqwest::Client,
    url: &str,
    path: &str,
    detector_id: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut request = client
        .post(format!("{url}{path}"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(id) = detector_id {
        request = request.header("detector-id", id);
    }
    let response = request.send().await.expect("the request is answered");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{path} answered {status} with non-JSON {text:?}: {e}"));
    (status, json)
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    path: &str,
    detector_id: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    post_raw(
        client,
        url,
        path,
        detector_id,
        body.to_string().into_bytes(),
    )
    .await
}

/// `content` between character offsets `start` and `end`, as the
/// orchestrator slices it.
fn char_slice(content: &str, start: usize, end: usize) -> String {
    content.chars().skip(start).take(end - start).collect()
}

/// The character offset of the first `needle` in `content`.
fn char_offset_of(content: &str, needle: &str) -> usize {
    let byte = content.find(needle).expect("the needle is in the content");
    content[..byte].chars().count()
}

/// Checks one span detection of `content`: exactly the six fields, with
/// their JSON types, and `text` equal to the content between the character
/// offsets. Returns `(detection_type, detection)`.
fn check_span(content: &str, detection: &Value) -> (String, String) {
    let object = detection.as_object().expect("a detection is an object");
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = [
        "start",
        "end",
        "text",
        "detection",
        "detection_type",
        "score",
    ]
    .into();
    assert_eq!(keys, want, "{detection}");
    let start = detection["start"].as_u64().expect("start is an integer") as usize;
    let end = detection["end"].as_u64().expect("end is an integer") as usize;
    assert!(start < end, "{detection}");
    assert!(end <= content.chars().count(), "{detection} in {content:?}");
    let text = detection["text"].as_str().expect("text is a string");
    assert_eq!(text, char_slice(content, start, end), "{detection}");
    let score = detection["score"].as_f64().expect("score is a number");
    assert!(score > 0.0 && score <= 1.0, "{detection}");
    let kind = detection["detection_type"].as_str().expect("a string");
    let name = detection["detection"].as_str().expect("a string");
    assert!(!kind.is_empty() && !name.is_empty(), "{detection}");
    (kind.to_owned(), name.to_owned())
}

/// Checks a whole-text detection: exactly `detection`, `detection_type`
/// and `score`.
fn check_whole(detection: &Value) -> (String, String) {
    let object = detection.as_object().expect("a detection is an object");
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["detection", "detection_type", "score"]),
        "{detection}"
    );
    assert!(detection["score"].is_f64(), "{detection}");
    (
        detection["detection_type"].as_str().unwrap().to_owned(),
        detection["detection"].as_str().unwrap().to_owned(),
    )
}

/// An FMS `{code, message}` error with `code` the number `status`.
fn assert_fms_error(json: &Value, status: u16) {
    let object = json.as_object().expect("the error is an object");
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["code", "message"]), "{json}");
    assert_eq!(json["code"].as_u64(), Some(u64::from(status)), "{json}");
    let message = json["message"].as_str().expect("message is a string");
    assert!(!message.is_empty(), "{json}");
}

/// The 50 contents: emails, phone numbers, SSNs, multi-byte text with an
/// email, and clean text, each distinct.
fn fifty_contents() -> Vec<(String, Option<&'static str>)> {
    (0..50)
        .map(|i| match i % 5 {
            0 => (
                format!("item {i}: write to jo{i}@example.com"),
                Some("email"),
            ),
            1 => (
                format!("item {i}: call 415-555-0132 now"),
                Some("phone_number"),
            ),
            2 => (format!("item {i}: my ssn is 123-45-6789"), Some("ssn")),
            3 => (
                format!("élément {i} ✓ 😀 mail jo@example.com"),
                Some("email"),
            ),
            _ => (format!("item {i}: nothing to report here"), None),
        })
        .collect()
}

#[tokio::test]
async fn contents_get_one_list_per_content_in_order_with_character_offsets() {
    let fleet = fleet_of(profile(NAME, 0.0, "")).await;
    let url = fleet.url(NAME);
    let client = client();
    let id = Some("test-fms");

    let (status, empty) = post(&client, &url, CONTENTS, id, &json!({"contents": []})).await;
    assert_eq!(status, 200);
    assert_eq!(empty, json!([]));

    let one = json!({"contents": ["mail jo@example.com please"], "detector_params": {}});
    let (status, answer) = post(&client, &url, CONTENTS, id, &one).await;
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        json!([[{
            "start": 5,
            "end": 19,
            "text": "jo@example.com",
            "detection": "email",
            "detection_type": "pii",
            "score": 0.95,
        }]])
    );

    let contents = fifty_contents();
    let texts: Vec<&str> = contents.iter().map(|(t, _)| t.as_str()).collect();
    let (status, answer) = post(&client, &url, CONTENTS, id, &json!({"contents": texts})).await;
    assert_eq!(status, 200);
    let lists = answer.as_array().expect("an array of arrays");
    assert_eq!(lists.len(), contents.len());
    for (i, ((content, expected), list)) in contents.iter().zip(lists).enumerate() {
        let detections = list.as_array().expect("each item is an array");
        let kinds: Vec<(String, String)> =
            detections.iter().map(|d| check_span(content, d)).collect();
        match expected {
            None => assert!(detections.is_empty(), "clean content {i}: {list}"),
            Some(name) => assert!(
                kinds.contains(&("pii".to_owned(), (*name).to_owned())),
                "content {i} {content:?}: {list}"
            ),
        }
        // The list at position i is the answer for content i alone.
        let alone = json!({"contents": [content]});
        let (status, single) = post(&client, &url, CONTENTS, id, &alone).await;
        assert_eq!(status, 200);
        assert_eq!(single, json!([list]), "content {i}");
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn offsets_count_characters_not_bytes() {
    let fleet = fleet_of(profile(NAME, 0.0, "")).await;
    let url = fleet.url(NAME);
    let contents = [
        "héllo ✓ 😀 mail jo@example.com",
        "你好世界，请发邮件到 jo@example.com 或致电 415-555-0132 谢谢",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ssn 123-45-6789 🎉🎉",
    ];
    let expected = [
        vec![("email", "jo@example.com")],
        vec![
            ("email", "jo@example.com"),
            ("phone_number", "415-555-0132"),
        ],
        vec![("ssn", "123-45-6789")],
    ];
    let (status, answer) = post(
        &client(),
        &url,
        CONTENTS,
        Some("test-fms"),
        &json!({"contents": contents}),
    )
    .await;
    assert_eq!(status, 200);
    for ((content, want), list) in contents
        .iter()
        .zip(&expected)
        .zip(answer.as_array().unwrap())
    {
        let detections = list.as_array().unwrap();
        assert_eq!(detections.len(), want.len(), "{content:?}: {list}");
        for (detection, (name, needle)) in detections.iter().zip(want) {
            check_span(content, detection);
            let start = char_offset_of(content, needle);
            let byte_start = content.find(needle).unwrap();
            assert_ne!(start, byte_start, "the test text must be multi-byte");
            assert_eq!(detection["detection"], *name, "{detection}");
            assert_eq!(
                detection["start"].as_u64(),
                Some(start as u64),
                "{content:?}"
            );
            let end = start + needle.chars().count();
            assert_eq!(detection["end"].as_u64(), Some(end as u64), "{content:?}");
            assert_eq!(detection["text"], *needle);
        }
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_threshold_parameter_keeps_detections_scoring_at_least_it() {
    let fleet = fleet_of(profile(NAME, 0.0, "")).await;
    let url = fleet.url(NAME);
    let client = client();
    let id = Some("test-fms");
    // The email scores 0.95, the phone number 0.85.
    let content = "mail jo@example.com or call 415-555-0132";
    let names = |answer: &Value| -> Vec<String> {
        answer[0]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| check_span(content, d).1)
            .collect()
    };
    let ask = |threshold: Value| json!({"contents": [content], "detector_params": {"threshold": threshold}});

    let (status, all) = post(&client, &url, CONTENTS, id, &ask(json!(0.5))).await;
    assert_eq!(status, 200);
    assert_eq!(names(&all), ["email", "phone_number"]);
    let (status, high) = post(&client, &url, CONTENTS, id, &ask(json!(0.9))).await;
    assert_eq!(status, 200);
    assert_eq!(names(&high), ["email"]);
    let (status, none) = post(&client, &url, CONTENTS, id, &ask(json!(0.99))).await;
    assert_eq!(status, 200);
    assert_eq!(none, json!([[]]));
    // Other keys pass through untouched.
    let other =
        json!({"contents": [content], "detector_params": {"model": "x", "threshold": null}});
    let (status, kept) = post(&client, &url, CONTENTS, id, &other).await;
    assert_eq!(status, 200);
    assert_eq!(names(&kept), ["email", "phone_number"]);

    let (status, error) = post(&client, &url, CONTENTS, id, &ask(json!("high"))).await;
    assert_eq!(status, 422);
    assert_fms_error(&error, 422);
    assert!(
        error["message"].as_str().unwrap().contains("threshold"),
        "{error}"
    );
    // The same rule on the whole-text endpoints.
    let generation = json!({
        "prompt": "p",
        "generated_text": content,
        "detector_params": {"threshold": 0.9},
    });
    let path = "/api/v1/text/generation";
    let (status, answer) = post(&client, &url, path, id, &generation).await;
    assert_eq!(status, 200);
    assert_eq!(answer.as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer[0]["detection"], "email");
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_detector_id_header_is_required_except_on_chat() {
    let fleet = fleet_of(profile(NAME, 0.0, "")).await;
    let url = fleet.url(NAME);
    let client = client();
    let bodies = [
        (CONTENTS, json!({"contents": ["hi"], "detector_params": {}})),
        (
            "/api/v1/text/generation",
            json!({"prompt": "q", "generated_text": "a", "detector_params": {}}),
        ),
        (
            "/api/v1/text/context/doc",
            json!({"content": "c", "context_type": "docs", "context": ["d"], "detector_params": {}}),
        ),
    ];
    for (path, body) in &bodies {
        let (status, error) = post(&client, &url, path, None, body).await;
        assert_eq!(status, 422, "{path}");
        assert_fms_error(&error, 422);
        assert!(
            error["message"].as_str().unwrap().contains("detector-id"),
            "{path}: {error}"
        );
        let (status, _) = post(&client, &url, path, Some("test-fms"), body).await;
        assert_eq!(status, 200, "{path} with the header");
    }
    let chat = json!({
        "messages": [{"role": "user", "content": "hello there"}],
        "tools": [],
        "detector_params": {},
    });
    let (status, answer) = post(&client, &url, "/api/v1/text/chat", None, &chat).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!([]));
    fleet.shutdown().await;
}

#[tokio::test]
async fn generation_chat_and_context_get_whole_text_detections() {
    let fleet = fleet_of(profile(NAME, 0.0, "")).await;
    let url = fleet.url(NAME);
    let client = client();
    let id = Some("test-fms");
    let finding = "reach me at jo@example.com";
    let clean = "the weather is mild today";
    let cases = |text: &str| {
        [
            (
                "/api/v1/text/generation",
                json!({"prompt": "who are you?", "generated_text": text, "detector_params": {}}),
            ),
            (
                "/api/v1/text/chat",
                json!({
                    "messages": [
                        {"role": "system", "content": "be helpful"},
                        {"role": "user", "content": text},
                    ],
                    "tools": [],
                    "detector_params": {},
                }),
            ),
            (
                "/api/v1/text/context/doc",
                json!({
                    "content": text,
                    "context_type": "docs",
                    "context": ["a document about nothing"],
                    "detector_params": {},
                }),
            ),
        ]
    };
    for (path, body) in cases(finding) {
        let (status, answer) = post(&client, &url, path, id, &body).await;
        assert_eq!(status, 200, "{path}: {answer}");
        let detections = answer.as_array().expect("a flat array");
        let kinds: Vec<_> = detections.iter().map(check_whole).collect();
        assert_eq!(
            kinds,
            [("pii".to_owned(), "email".to_owned())],
            "{path}: {answer}"
        );
        assert_eq!(answer[0]["score"].as_f64(), Some(0.95));
    }
    for (path, body) in cases(clean) {
        let (status, answer) = post(&client, &url, path, id, &body).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(answer, json!([]), "{path}");
    }
    // Chat content given as parts is read too.
    let parts = json!({
        "messages": [{"role": "user", "content": [{"type": "text", "text": finding}]}],
        "tools": [],
        "detector_params": {},
    });
    let (status, answer) = post(&client, &url, "/api/v1/text/chat", id, &parts).await;
    assert_eq!(status, 200);
    assert_eq!(answer.as_array().unwrap().len(), 1, "{answer}");
    // Every context type the spec or the orchestrator uses is accepted; others are not.
    for context_type in ["docs", "document", "url", "chunks"] {
        let body = json!({"content": clean, "context_type": context_type, "context": []});
        let (status, _) = post(&client, &url, "/api/v1/text/context/doc", id, &body).await;
        assert_eq!(status, 200, "{context_type}");
    }
    let bad =
        json!({"content": clean, "context_type": "pdf", "context": ["x"], "detector_params": {}});
    let (status, error) = post(&client, &url, "/api/v1/text/context/doc", id, &bad).await;
    assert_eq!(status, 422);
    assert_fms_error(&error, 422);
    assert!(error["message"].as_str().unwrap().contains("context_type"));
    fleet.shutdown().await;
}

#[tokio::test]
async fn bad_requests_and_unknown_paths_get_fms_errors() {
    let fleet = fleet_of(profile(NAME, 0.0, "")).await;
    let url = fleet.url(NAME);
    let client = client();
    let id = Some("test-fms");
    let raw = |body: &str| body.as_bytes().to_vec();
    let cases: [(&str, Vec<u8>, u16); 7] = [
        (CONTENTS, raw("{\"contents\": [\"a\""), 400),
        (CONTENTS, raw("not json at all"), 400),
        (CONTENTS, raw("{\"contents\": \"not a list\"}"), 422),
        (CONTENTS, raw("{\"contents\": [1, 2]}"), 422),
        (CONTENTS, raw("{}"), 422),
        ("/api/v1/text/generation", raw("{\"prompt\": \"p\"}"), 422),
        ("/api/v1/text/chat", raw("{\"messages\": []}"), 422),
    ];
    for (path, body, want) in cases {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let (status, error) = post_raw(&client, &url, path, id, body).await;
        assert_eq!(status, want, "{path} {shown}");
        assert_fms_error(&error, want);
    }
    let (status, error) = post(&client, &url, "/api/v1/text/nope", id, &json!({})).await;
    assert_eq!(status, 404);
    assert_fms_error(&error, 404);
    let response = client
        .get(format!("{url}/api/v1/text/contents/extra"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_fms_error(&response.json().await.unwrap(), 404);

    let health = client.get(format!("{url}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // The detector kept serving.
    let (status, _) = post(&client, &url, CONTENTS, id, &json!({"contents": ["x"]})).await;
    assert_eq!(status, 200);
    fleet.shutdown().await;
}

#[tokio::test]
async fn an_injected_503_is_an_fms_error() {
    let fleet = fleet_of(profile(NAME, 0.0, "")).await;
    let handle = fleet.detector(NAME);
    let client = client();
    let mut fault = FaultSpec::new(FaultKind::HttpError, 1.0);
    fault.status = Some(503);
    handle.fail_next(1, fault).unwrap();
    let body = json!({"contents": ["mail jo@example.com"], "detector_params": {}});
    let (status, error) = post(&client, handle.url(), CONTENTS, Some("test-fms"), &body).await;
    assert_eq!(status, 503);
    assert_fms_error(&error, 503);
    let (status, answer) = post(&client, handle.url(), CONTENTS, Some("test-fms"), &body).await;
    assert_eq!(status, 200);
    assert_eq!(answer[0][0]["detection"], "email");
    let journal = handle.journal();
    assert_eq!(journal.len(), 2);
    assert_eq!(journal[0].status, Some(503));
    assert_eq!(journal[0].fault.as_deref(), Some("http_error"));
    assert_eq!(journal[0].imposed_by.as_deref(), Some("next"));
    assert_eq!(journal[1].status, Some(200));
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_journal_and_metrics_see_fms_requests() {
    let fleet = fleet_of(profile(NAME, 0.0, "")).await;
    let handle = fleet.detector(NAME);
    let url = handle.url().to_owned();
    let client = client();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let body = json!({"contents": ["mail jo@example.com", "héllo"], "detector_params": {}});
    let response = client
        .post(format!("{url}{CONTENTS}"))
        .header("detector-id", "pii-detector")
        .header("x-model-name", "pii-model")
        .header("traceparent", traceparent)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-mock-seq"));
    // Without the optional headers.
    let (status, _) = post(&client, &url, CONTENTS, Some("bare"), &body).await;
    assert_eq!(status, 200);
    let chat = json!({"messages": [{"role": "user", "content": "hi"}], "tools": []});
    let (status, _) = post(&client, &url, "/api/v1/text/chat", None, &chat).await;
    assert_eq!(status, 200);

    let journal = handle.journal();
    assert_eq!(journal.len(), 3, "{journal:?}");
    let first = &journal[0];
    assert_eq!(first.protocol, "fms");
    assert_eq!(first.path, CONTENTS);
    assert_eq!(first.method, "POST");
    assert_eq!(first.status, Some(200));
    assert_eq!(first.detector_id_header.as_deref(), Some("pii-detector"));
    assert_eq!(first.model_name.as_deref(), Some("pii-model"));
    assert_eq!(first.traceparent.as_deref(), Some(traceparent));
    assert_eq!(
        first.content_bytes,
        "mail jo@example.com".len() + "héllo".len()
    );
    let second = &journal[1];
    assert_eq!(second.protocol, "fms");
    assert_eq!(second.detector_id_header.as_deref(), Some("bare"));
    assert_eq!(second.model_name, None);
    assert_eq!(second.traceparent, None);
    assert_eq!(journal[2].protocol, "fms");
    assert_eq!(journal[2].path, "/api/v1/text/chat");
    assert_eq!(journal[2].detector_id_header, None);

    let metrics = common::get_text(&client, &format!("{url}/metrics")).await;
    let count = |endpoint: &str| common::requests_counted(&metrics, endpoint, Some("success"));
    assert_eq!(count("fms_contents"), 2, "{metrics}");
    assert_eq!(count("fms_chat"), 1, "{metrics}");
    assert_eq!(count("detect"), 0, "{metrics}");
    fleet.shutdown().await;
}
