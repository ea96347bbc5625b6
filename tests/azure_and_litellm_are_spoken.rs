//! Azure AI Content Safety on `POST /contentsafety/text:analyze` and
//! LiteLLM's generic guardrail API on `POST /beta/litellm_basic_guardrail_api`,
//! as their clients send and read them: Azure's four categories and severity
//! scales, its limits, key check and OData errors; LiteLLM's full request
//! body, its three actions, masking in place and its threshold.

mod common;

use common::{client, fleet_of, get_text};
use mockdet::DetectorProfile;
use mockdet::profile::{FaultKind, FaultSpec};
use serde_json::{Value, json};

const THREAT: &str = "I will kill you";
const AZURE_PATH: &str = "/contentsafety/text:analyze?api-version=2024-09-01";
const LITELLM_PATH: &str = "/beta/litellm_basic_guardrail_api";

/// A detector with every rule group on, no latency, and `extra` TOML.
fn detector(name: &str, extra: &str) -> DetectorProfile {
    let text = format!(
        "name = \"{name}\"\ndetector_id = \"test-{name}\"\nport = 0\n\
         capabilities = [\"deep_analysis\"]\n\
         [latency]\nmodel = \"fixed\"\nms = 0.0\n{extra}"
    );
    DetectorProfile::from_toml_str(&text).expect("test profile is valid")
}

/// POSTs raw `body` to `base` + `path` with `headers`; status and JSON.
async fn post(base: &str, path: &str, headers: &[(&str, &str)], body: String) -> (u16, Value) {
    let mut request = client()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the request is answered");
    let status = response.status().as_u16();
    (status, response.json().await.expect("the answer is JSON"))
}

async fn analyze(base: &str, body: Value) -> (u16, Value) {
    post(base, AZURE_PATH, &[], body.to_string()).await
}

/// `(category, severity)` pairs of a successful analysis.
fn severities(answer: &Value) -> Vec<(String, u64)> {
    assert_eq!(answer["blocklistsMatch"], json!([]), "{answer}");
    answer["categoriesAnalysis"]
        .as_array()
        .expect("categoriesAnalysis")
        .iter()
        .map(|c| {
            let name = c["category"].as_str().unwrap().to_owned();
            (name, c["severity"].as_u64().expect("an integer severity"))
        })
        .collect()
}

fn pairs(expected: [(&str, u64); 4]) -> Vec<(String, u64)> {
    expected.map(|(c, s)| (c.to_owned(), s)).to_vec()
}

/// Whether `/metrics` counts a request on `endpoint`.
async fn counted(base: &str, endpoint: &str) -> bool {
    let metrics = get_text(&client(), &format!("{base}/metrics")).await;
    common::requests_counted(&metrics, endpoint, None) > 0
}

#[tokio::test]
async fn azure_analyzes_text_in_four_categories_on_either_scale() {
    let fleet = fleet_of(detector("az", "")).await;
    let base = fleet.url("az");
    let (status, clean) = analyze(&base, json!({"text": "a calm sunny day"})).await;
    assert_eq!(status, 200, "{clean}");
    let names = ["Hate", "SelfHarm", "Sexual", "Violence"];
    assert_eq!(severities(&clean), pairs(names.map(|n| (n, 0))));

    for (text, expected) in [
        (
            THREAT,
            [("Hate", 0), ("SelfHarm", 0), ("Sexual", 0), ("Violence", 6)],
        ),
        (
            "I hate them",
            [("Hate", 4), ("SelfHarm", 0), ("Sexual", 0), ("Violence", 0)],
        ),
    ] {
        let (status, four) = analyze(&base, json!({"text": text})).await;
        assert_eq!(status, 200, "{four}");
        let found = severities(&four);
        assert!(
            found.iter().all(|(_, s)| [0, 2, 4, 6].contains(s)),
            "{four}"
        );
        assert_eq!(found, pairs(expected), "{text}");
        let body = json!({"text": text, "outputType": "EightSeverityLevels"});
        let (status, eight) = analyze(&base, body).await;
        assert_eq!(status, 200, "{eight}");
        assert!(severities(&eight).iter().all(|(_, s)| *s <= 7), "{eight}");
        assert_eq!(severities(&eight), pairs(expected), "{text}, eight levels");
    }

    let narrowed = json!({"text": THREAT, "categories": ["Violence"], "blocklistNames": ["bl"]});
    let (status, only) = analyze(&base, narrowed).await;
    assert_eq!(status, 200, "{only}");
    assert_eq!(severities(&only), [("Violence".to_owned(), 6)]);

    let journal = fleet.detector("az").journal();
    assert!(journal.iter().all(|e| e.protocol == "azure"), "{journal:?}");
    assert!(counted(&base, "azure_text_analyze").await);
    fleet.shutdown().await;
}

#[tokio::test]
async fn azure_refuses_bad_bodies_with_invalid_request_body() {
    let fleet = fleet_of(detector("az", "")).await;
    let base = fleet.url("az");
    let (status, answer) = analyze(&base, json!({"text": "✓".repeat(10_000)})).await;
    assert_eq!(
        status, 200,
        "10,000 characters (30,000 bytes) are allowed: {answer}"
    );
    let cases = [
        (
            "an unknown category",
            json!({"text": "hi", "categories": ["Spam"]}),
        ),
        (
            "a bad outputType",
            json!({"text": "hi", "outputType": "TenLevels"}),
        ),
        ("empty text", json!({"text": ""})),
        ("missing text", json!({"categories": ["Hate"]})),
        (
            "text over 10,000 characters",
            json!({"text": "✓".repeat(10_001)}),
        ),
    ];
    for (what, body) in cases {
        let (status, answer) = analyze(&base, body).await;
        assert_eq!(status, 400, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], "InvalidRequestBody", "{what}");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let unversioned = "/contentsafety/text:analyze";
    let (status, answer) = post(&base, unversioned, &[], json!({"text": "hi"}).to_string()).await;
    assert_eq!(status, 404, "no api-version: {answer}");
    assert!(answer["error"]["code"].is_string(), "{answer}");
    fleet.shutdown().await;
}

#[tokio::test]
async fn azure_checks_the_subscription_key_only_when_one_is_configured() {
    let keyed = detector("keyed", "[protocol_options]\nazure_key = \"k\"\n");
    let fleet = mockdet::Fleet::builder()
        .profile(keyed)
        .profile(detector("open", ""))
        .seed(42)
        .start()
        .await
        .unwrap();
    let body = json!({"text": "hello"}).to_string();
    let key = "Ocp-Apim-Subscription-Key";
    let keyed = fleet.url("keyed");
    for headers in [&[][..], &[(key, "wrong")][..]] {
        let (status, answer) = post(&keyed, AZURE_PATH, headers, body.clone()).await;
        assert_eq!(status, 401, "{headers:?}: {answer}");
        assert_eq!(answer["error"]["code"], "401");
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let (status, answer) = post(&keyed, AZURE_PATH, &[(key, "k")], body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(severities(&answer).len(), 4);
    let open = fleet.url("open");
    for headers in [&[][..], &[(key, "anything")][..]] {
        let (status, answer) = post(&open, AZURE_PATH, headers, body.clone()).await;
        assert_eq!(status, 200, "{headers:?}: {answer}");
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn an_injected_503_reaches_azure_clients_as_server_busy() {
    let fleet = fleet_of(detector("az", "")).await;
    let handle = fleet.detector("az");
    let fault = FaultSpec {
        status: Some(503),
        ..FaultSpec::new(FaultKind::HttpError, 1.0)
    };
    handle.fail_next(1, fault).unwrap();
    let (status, answer) = analyze(&fleet.url("az"), json!({"text": "hello"})).await;
    assert_eq!(status, 503, "{answer}");
    assert_eq!(answer["error"]["code"], "ServerBusy");
    assert!(answer["error"]["message"].is_string());
    let journal = handle.journal();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].protocol, "azure");
    assert_eq!(journal[0].fault.as_deref(), Some("http_error"));
    fleet.shutdown().await;
}

/// The body LiteLLM 1.110.2's generic guardrail sends, every field present.
fn litellm_body(input_type: &str, texts: &[&str], params: Value) -> Value {
    let messages: Vec<Value> = texts
        .iter()
        .map(|t| json!({"role": "user", "content": t}))
        .collect();
    json!({
        "input_type": input_type,
        "litellm_call_id": null,
        "litellm_trace_id": null,
        "structured_messages": messages,
        "images": null,
        "tools": null,
        "texts": texts,
        "request_data": {},
        "request_headers": null,
        "litellm_version": "1.110.2",
        "additional_provider_specific_params": params,
        "tool_calls": null,
        "model": "gpt-4o",
    })
}

async fn guard(base: &str, body: Value) -> Value {
    let (status, answer) = post(base, LITELLM_PATH, &[], body.to_string()).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

#[tokio::test]
async fn litellm_lets_clean_text_through_with_nothing_else_said() {
    let fleet = fleet_of(detector("guard", "")).await;
    let base = fleet.url("guard");
    let answer = guard(&base, litellm_body("request", &["hello"], json!({}))).await;
    assert_eq!(answer, json!({"action": "NONE"}));
    let journal = fleet.detector("guard").journal();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].protocol, "litellm");
    assert!(counted(&base, "litellm_guardrail").await);
    fleet.shutdown().await;
}

#[tokio::test]
async fn litellm_masks_pii_in_place_and_keeps_the_rest() {
    let fleet = fleet_of(detector("guard", "")).await;
    let texts = [
        "mail jo@example.com now",
        "é✓ call 415-555-0132 😀",
        "nothing here",
    ];
    let answer = guard(
        &fleet.url("guard"),
        litellm_body("request", &texts, json!({})),
    )
    .await;
    assert_eq!(answer["action"], "GUARDRAIL_INTERVENED", "{answer}");
    assert!(answer.get("blocked_reason").is_none(), "{answer}");
    let masked: Vec<&str> = answer["texts"]
        .as_array()
        .expect("texts")
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(masked.len(), texts.len(), "{answer}");
    assert!(!masked[0].contains("jo@example.com"), "{masked:?}");
    assert!(masked[0].starts_with("mail ") && masked[0].ends_with(" now"));
    assert!(!masked[1].contains("415-555-0132"), "{masked:?}");
    assert!(masked[1].starts_with("é✓ call ") && masked[1].ends_with(" 😀"));
    assert_eq!(masked[2], "nothing here");
    fleet.shutdown().await;
}

#[tokio::test]
async fn litellm_blocks_harm_unless_the_request_threshold_is_above_its_score() {
    let fleet = fleet_of(detector("guard", "")).await;
    let base = fleet.url("guard");
    let blocked = guard(&base, litellm_body("request", &["hi", THREAT], json!({}))).await;
    assert_eq!(blocked["action"], "BLOCKED", "{blocked}");
    let reason = blocked["blocked_reason"]
        .as_str()
        .expect("a blocked_reason");
    assert!(!reason.is_empty());
    assert!(blocked.get("texts").is_none(), "{blocked}");

    let lenient = litellm_body("request", &[THREAT], json!({"threshold": 0.99}));
    assert_eq!(guard(&base, lenient).await, json!({"action": "NONE"}));

    let response = litellm_body("response", &[THREAT], json!({}));
    assert_eq!(guard(&base, response).await["action"], "BLOCKED");
    fleet.shutdown().await;
}

#[tokio::test]
async fn litellm_refuses_malformed_requests_with_422() {
    let fleet = fleet_of(detector("guard", "")).await;
    let base = fleet.url("guard");
    let mut missing = litellm_body("request", &["hi"], json!({}));
    missing.as_object_mut().unwrap().remove("input_type");
    let cases = [
        (
            "a bad input_type",
            litellm_body("prompt", &["hi"], json!({})).to_string(),
        ),
        ("no input_type", missing.to_string()),
        (
            "invalid JSON",
            r#"{"input_type": "request", "texts": ["#.to_owned(),
        ),
    ];
    for (what, body) in cases {
        let (status, answer) = post(&base, LITELLM_PATH, &[], body).await;
        assert_eq!(status, 422, "{what}: {answer}");
        assert!(
            answer["error"]["code"]
                .as_str()
                .is_some_and(|c| !c.is_empty())
        );
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert_eq!(answer["detector"], "test-guard", "{what}");
    }
    let journal = fleet.detector("guard").journal();
    assert!(
        journal
            .iter()
            .all(|e| e.protocol == "litellm" && e.status == Some(422))
    );
    assert_eq!(journal.len(), 3);
    fleet.shutdown().await;
}
