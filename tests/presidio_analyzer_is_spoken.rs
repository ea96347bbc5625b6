//! The Presidio analyzer: `POST /analyze` with `{text, language}` answers
//! Presidio's lean results (sorted keys, character offsets), honours its
//! filters and answers its errors; the body decides between Presidio and
//! mockdet's own `/analyze`; `/supportedentities` and `/recognizers` list
//! what the detector's capabilities find.

mod common;

use std::collections::BTreeSet;

use common::{client, fleet_of, get_text, profile};
use mockdet::DetectorProfile;
use serde_json::{Value, json};

const NAME: &str = "pres";

/// One instance of each entity, after multi-byte text.
const TEXT: &str = "héllo ✓ 😀 mail jo@example.com, call 415-555-0132, \
                    ssn 123-45-6789, card 4111 1111 1111 1111 — 谢谢";

/// The four entities in `TEXT`, in order, with the text each covers.
const ENTITIES: [(&str, &str); 4] = [
    ("EMAIL_ADDRESS", "jo@example.com"),
    ("PHONE_NUMBER", "415-555-0132"),
    ("US_SSN", "123-45-6789"),
    ("CREDIT_CARD", "4111 1111 1111 1111"),
];

/// A profile named `name` with `extra` TOML (capabilities, protocols).
fn profile_with(name: &str, extra: &str) -> DetectorProfile {
    let text = format!(
        "name = \"{name}\"\ndetector_id = \"test-{name}\"\nport = 0\n{extra}\n\
         [latency]\nmodel = \"fixed\"\nms = 0.0\n"
    );
    DetectorProfile::from_toml_str(&text).expect("test profile is valid")
}

/// POSTs `body` to `{url}/analyze`; the status and the raw answer.
async fn analyze_raw(client: &reqwest::Client, url: &str, body: &str) -> (u16, String) {
    let response = client
        .post(format!("{url}/analyze"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("the request is answered");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

async fn analyze(client: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    let (status, text) = analyze_raw(client, url, &body.to_string()).await;
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {text:?}: {e}"));
    (status, json)
}

/// The entity types of a result list, in order.
fn types(results: &Value) -> Vec<&str> {
    results
        .as_array()
        .expect("a result list")
        .iter()
        .map(|r| r["entity_type"].as_str().expect("entity_type is a string"))
        .collect()
}

/// Checks one lean result against `text`: exactly Presidio's five keys
/// with their types; returns `(entity_type, the text it covers)`.
fn check_result(text: &str, result: &Value) -> (String, String) {
    let object = result.as_object().expect("a result is an object");
    let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
    let want = BTreeSet::from([
        "analysis_explanation",
        "end",
        "entity_type",
        "score",
        "start",
    ]);
    assert_eq!(keys, want, "{result}");
    assert!(result["analysis_explanation"].is_null(), "{result}");
    let start = result["start"].as_u64().expect("start is an integer") as usize;
    let end = result["end"].as_u64().expect("end is an integer") as usize;
    assert!(start < end, "{result}");
    let score = result["score"].as_f64().expect("score is a number");
    assert!(score > 0.0 && score <= 1.0, "{result}");
    let covered: String = text.chars().skip(start).take(end - start).collect();
    let entity = result["entity_type"].as_str().expect("a string").to_owned();
    (entity, covered)
}

/// A Presidio error: `{"error": <string>}` and nothing else.
fn presidio_error(json: &Value) -> &str {
    let object = json.as_object().expect("the error is an object");
    assert_eq!(object.len(), 1, "{json}");
    json["error"].as_str().expect("error is a string")
}

#[tokio::test]
async fn analyze_answers_lean_results_with_sorted_keys_and_character_offsets() {
    let fleet = fleet_of(profile(NAME, 0.0, "")).await;
    let url = fleet.url(NAME);
    let body = json!({"text": TEXT, "language": "en"}).to_string();
    let (status, raw) = analyze_raw(&client(), &url, &body).await;
    assert_eq!(status, 200, "{raw}");
    let results: Value = serde_json::from_str(&raw).unwrap();
    let found: Vec<(String, String)> = results
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| check_result(TEXT, r))
        .collect();
    let want: Vec<(String, String)> = ENTITIES
        .iter()
        .map(|(e, t)| ((*e).to_owned(), (*t).to_owned()))
        .collect();
    assert_eq!(found, want, "{raw}");
    // Offsets are characters: the email starts past multi-byte characters.
    let byte = TEXT.find("jo@example.com").unwrap();
    let chars = TEXT[..byte].chars().count();
    assert_ne!(byte, chars);
    assert_eq!(results[0]["start"].as_u64(), Some(chars as u64));
    // Keys come in sorted order in the raw text, as `sort_keys=True` writes them.
    let objects: Vec<&str> = raw.split('{').skip(1).collect();
    assert_eq!(objects.len(), ENTITIES.len(), "{raw}");
    for object in objects {
        let positions: Vec<usize> = [
            "\"analysis_explanation\"",
            "\"end\"",
            "\"entity_type\"",
            "\"score\"",
            "\"start\"",
        ]
        .iter()
        .map(|key| {
            object
                .find(key)
                .unwrap_or_else(|| panic!("{key} in {object}"))
        })
        .collect();
        assert!(positions.is_sorted(), "keys out of order in {object}");
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn entities_thresholds_allow_lists_and_batches_shape_the_answer() {
    let fleet = fleet_of(profile(NAME, 0.0, "")).await;
    let url = fleet.url(NAME);
    let client = client();
    let ask = async |extra: Value| {
        let mut body = json!({"text": TEXT, "language": "en"});
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        let (status, answer) = analyze(&client, &url, &body).await;
        assert_eq!(status, 200, "{body}: {answer}");
        answer
    };
    let entities = ask(json!({"entities": ["US_SSN", "CREDIT_CARD"]})).await;
    assert_eq!(types(&entities), ["US_SSN", "CREDIT_CARD"]);
    // An empty list asks for every entity, as in Presidio.
    let every = ask(json!({"entities": []})).await;
    assert_eq!(types(&every).len(), 4, "{every}");
    let unknown = ask(json!({"entities": ["PERSON"]})).await;
    assert_eq!(unknown, json!([]));

    // Email 0.95, phone 0.85, SSN 0.9, card 0.97.
    let high = ask(json!({"score_threshold": 0.93})).await;
    assert_eq!(types(&high), ["EMAIL_ADDRESS", "CREDIT_CARD"]);
    assert!(
        high.as_array()
            .unwrap()
            .iter()
            .all(|r| r["score"].as_f64().unwrap() >= 0.93)
    );
    let at = ask(json!({"score_threshold": 0.9})).await;
    assert_eq!(types(&at), ["EMAIL_ADDRESS", "US_SSN", "CREDIT_CARD"]);
    assert_eq!(ask(json!({"score_threshold": 1.0})).await, json!([]));

    let explained = ask(json!({"return_decision_process": true})).await;
    let explanations: Vec<&Value> = explained
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["analysis_explanation"])
        .collect();
    assert_eq!(explanations.len(), 4);
    for explanation in &explanations {
        assert!(explanation.is_object(), "{explanation}");
        assert!(explanation["score"].is_number(), "{explanation}");
    }
    assert_eq!(explanations[0]["recognizer"], "EmailRecognizer");
    assert_eq!(explanations[3]["recognizer"], "CreditCardRecognizer");
    let lean = ask(json!({"return_decision_process": false})).await;
    assert!(lean[0]["analysis_explanation"].is_null());

    let allowed = ask(json!({"allow_list": ["jo@example.com"]})).await;
    assert_eq!(types(&allowed), ["PHONE_NUMBER", "US_SSN", "CREDIT_CARD"]);
    // Exact matches only.
    let near = ask(json!({"allow_list": ["JO@example.com", "jo@example"]})).await;
    assert_eq!(types(&near).len(), 4);

    let batch = json!({
        "text": ["mail jo@example.com", "nothing here", "ssn 123-45-6789"],
        "language": "en",
    });
    let (status, lists) = analyze(&client, &url, &batch).await;
    assert_eq!(status, 200);
    let lists = lists.as_array().expect("a list of lists");
    assert_eq!(lists.len(), 3);
    assert_eq!(types(&lists[0]), ["EMAIL_ADDRESS"]);
    assert_eq!(lists[1], json!([]));
    assert_eq!(types(&lists[2]), ["US_SSN"]);
    assert_eq!(
        check_result("ssn 123-45-6789", &lists[2][0]),
        ("US_SSN".to_owned(), "123-45-6789".to_owned())
    );
    fleet.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_presidio_errors() {
    let fleet = fleet_of(profile(NAME, 0.0, "")).await;
    let url = fleet.url(NAME);
    let client = client();
    let cases = [
        (json!({"text": "", "language": "en"}), "No text provided"),
        (json!({"text": "hi"}), "No language provided"),
        (
            json!({"text": "hi", "language": ""}),
            "No language provided",
        ),
    ];
    for (body, message) in cases {
        let (status, error) = analyze(&client, &url, &body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error, json!({"error": message}), "{body}");
    }
    let (status, error) = analyze(&client, &url, &json!({"text": "hi", "language": "xx"})).await;
    assert_eq!(status, 400);
    assert!(
        presidio_error(&error).contains("No matching recognizers"),
        "{error}"
    );
    for body in [
        json!({"text": "hi", "language": "en", "score_threshold": "high"}),
        json!({"text": "hi", "language": "en", "entities": "US_SSN"}),
        json!({"text": "hi", "language": "en", "return_decision_process": "yes"}),
        json!({"text": 5, "language": "en"}),
        json!({"text": "hi", "language": 1}),
        json!({"text": "hi", "language": "en", "allow_list": [1]}),
    ] {
        let (status, error) = analyze(&client, &url, &body).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            presidio_error(&error).starts_with("Failed to parse /analyze request"),
            "{body}: {error}"
        );
    }
    // Still serving.
    let (status, _) = analyze(&client, &url, &json!({"text": "hi", "language": "en"})).await;
    assert_eq!(status, 200);
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_body_decides_which_protocol_an_analyze_request_is() {
    let fleet = fleet_of(profile(NAME, 0.0, "")).await;
    let url = fleet.url(NAME);
    let client = client();
    let (status, native) = analyze(&client, &url, &json!({"content": "mail jo@example.com"})).await;
    assert_eq!(status, 200);
    assert_eq!(native["detector_id"], "test-pres", "{native}");
    assert!(native.is_object());
    // `content` wins when both are present.
    let both = json!({"content": "x", "text": "y", "language": "en"});
    let (status, answer) = analyze(&client, &url, &both).await;
    assert_eq!(status, 200);
    assert_eq!(answer["detector_id"], "test-pres");
    let (status, presidio) = analyze(
        &client,
        &url,
        &json!({"text": "mail jo@example.com", "language": "en"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(types(&presidio), ["EMAIL_ADDRESS"]);
    // Presidio's required fields, even null, make it a Presidio request.
    for body in [json!({"language": "en"}), json!({"text": null})] {
        let (status, error) = analyze(&client, &url, &body).await;
        assert_eq!(status, 400, "{body}");
        assert!(error["error"].is_string(), "{body}: {error}");
    }
    let (status, neither) = analyze(&client, &url, &json!({"metadata": {}})).await;
    assert_eq!(status, 422);
    assert_eq!(neither["error"]["code"], "unknown_body", "{neither}");
    assert_eq!(neither["detector"], "test-pres");
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_profile_serving_one_of_the_two_reads_every_analyze_body_as_that_one() {
    let presidio_only = profile_with(
        "ponly",
        "capabilities = [\"pii_detection\"]\nprotocols = [\"presidio\"]",
    );
    let native_only = profile_with(
        "nonly",
        "capabilities = [\"pii_detection\"]\nprotocols = [\"native\"]",
    );
    let fleet = mockdet::Fleet::builder()
        .profile(presidio_only)
        .profile(native_only)
        .seed(7)
        .start()
        .await
        .unwrap();
    let client = client();
    let (p, n) = (fleet.url("ponly"), fleet.url("nonly"));

    let text = json!({"text": "ssn 123-45-6789", "language": "en"});
    let (status, answer) = analyze(&client, &p, &text).await;
    assert_eq!(status, 200);
    assert_eq!(types(&answer), ["US_SSN"]);
    let (status, error) = analyze(&client, &p, &json!({"content": "x"})).await;
    assert_eq!(status, 400);
    assert_eq!(error, json!({"error": "No text provided"}));
    for body in [
        json!({"language": "en"}),
        json!({"text": null, "language": "en"}),
    ] {
        let (status, error) = analyze(&client, &p, &body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(presidio_error(&error), "No text provided", "{body}");
    }

    let (status, error) = analyze(&client, &n, &text).await;
    assert_eq!(status, 422);
    assert_eq!(error["error"]["code"], "missing_content", "{error}");
    let (status, answer) = analyze(&client, &n, &json!({"content": "x"})).await;
    assert_eq!(status, 200);
    assert_eq!(answer["detector_id"], "test-nonly");
    // And it does not list Presidio's entities either.
    let response = client
        .get(format!("{n}/supportedentities?language=en"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    fleet.shutdown().await;
}

#[tokio::test]
async fn supported_entities_and_recognizers_follow_the_capabilities() {
    let pii = profile(NAME, 0.0, "");
    let moods = profile_with("moods", "capabilities = [\"sentiment_analysis\"]");
    let fleet = mockdet::Fleet::builder()
        .profile(pii)
        .profile(moods)
        .seed(7)
        .start()
        .await
        .unwrap();
    let client = client();
    let url = fleet.url(NAME);
    let set = |value: Value| -> BTreeSet<String> {
        value
            .as_array()
            .expect("a list")
            .iter()
            .map(|v| v.as_str().expect("strings").to_owned())
            .collect()
    };
    let get = async |url: String| {
        let response = client.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json::<Value>().await.unwrap())
    };
    let (status, entities) = get(format!("{url}/supportedentities?language=en")).await;
    assert_eq!(status, 200);
    assert_eq!(
        set(entities),
        BTreeSet::from(ENTITIES.map(|(e, _)| e.to_owned()))
    );
    let (status, recognizers) = get(format!("{url}/recognizers?language=en")).await;
    assert_eq!(status, 200);
    let want = [
        "EmailRecognizer",
        "PhoneRecognizer",
        "UsSsnRecognizer",
        "CreditCardRecognizer",
    ];
    assert_eq!(set(recognizers), BTreeSet::from(want.map(str::to_owned)));
    // Without `language`, every language.
    let (status, all) = get(format!("{url}/supportedentities")).await;
    assert_eq!(status, 200);
    assert_eq!(all.as_array().unwrap().len(), 4);

    for path in ["supportedentities", "recognizers"] {
        let (status, error) = get(format!("{url}/{path}?language=xx")).await;
        assert_eq!(status, 400, "{path}");
        assert!(
            presidio_error(&error).contains("No matching recognizers"),
            "{path}: {error}"
        );
        let moods = fleet.url("moods");
        let (status, none) = get(format!("{moods}/{path}?language=en")).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(none, json!([]), "{path}");
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_journal_and_metrics_see_presidio_requests() {
    let fleet = fleet_of(profile(NAME, 0.0, "")).await;
    let handle = fleet.detector(NAME);
    let url = handle.url().to_owned();
    let client = client();
    let body = json!({"text": "mail jo@example.com", "language": "en", "correlation_id": "corr-7"});
    let response = client
        .post(format!("{url}/analyze"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-correlation-id"], "corr-7");
    let (status, _) = analyze(&client, &url, &json!({"content": "native one"})).await;
    assert_eq!(status, 200);

    let journal = handle.journal();
    assert_eq!(journal.len(), 2);
    assert_eq!(journal[0].protocol, "presidio");
    assert_eq!(journal[0].path, "/analyze");
    assert_eq!(journal[0].correlation_id.as_deref(), Some("corr-7"));
    assert_eq!(journal[0].content_bytes, "mail jo@example.com".len());
    assert_eq!(journal[0].status, Some(200));
    assert_eq!(journal[1].protocol, "native");
    assert_eq!(journal[1].correlation_id, None);

    let metrics = get_text(&client, &format!("{url}/metrics")).await;
    let count = |endpoint: &str| common::requests_counted(&metrics, endpoint, Some("success"));
    assert_eq!(count("presidio_analyze"), 1, "{metrics}");
    assert_eq!(count("analyze"), 1, "{metrics}");
    fleet.shutdown().await;
}
