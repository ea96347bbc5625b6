//! Every wire protocol runs on the one engine: the profile's latency, the
//! next-N faults (answered in each protocol's own error shape, or a cut
//! connection), the journal and `x-mock-seq` apply the same way to all
//! six; and a profile that narrows `protocols` serves only those.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{client, fleet_of};
use mockdet::DetectorProfile;
use mockdet::profile::{FaultKind, FaultSpec};
use serde_json::{Value, json};

/// One valid request of one protocol.
struct Call {
    protocol: &'static str,
    /// The path as sent (Azure's carries its `api-version`).
    path: &'static str,
    /// The path the journal records.
    journal_path: &'static str,
    body: Value,
}

fn calls() -> Vec<Call> {
    vec![
        Call {
            protocol: "native",
            path: "/detect",
            journal_path: "/detect",
            body: json!({"content": "hi"}),
        },
        Call {
            protocol: "fms",
            path: "/api/v1/text/contents",
            journal_path: "/api/v1/text/contents",
            body: json!({"contents": ["hi"], "detector_params": {}}),
        },
        Call {
            protocol: "openai",
            path: "/v1/moderations",
            journal_path: "/v1/moderations",
            body: json!({"input": "hi"}),
        },
        Call {
            protocol: "azure",
            path: "/contentsafety/text:analyze?api-version=2024-09-01",
            journal_path: "/contentsafety/text:analyze",
            body: json!({"text": "hi"}),
        },
        Call {
            protocol: "presidio",
            path: "/analyze",
            journal_path: "/analyze",
            body: json!({"text": "hi", "language": "en"}),
        },
        Call {
            protocol: "litellm",
            path: "/beta/litellm_basic_guardrail_api",
            journal_path: "/beta/litellm_basic_guardrail_api",
            body: json!({"input_type": "request", "texts": ["hi"]}),
        },
    ]
}

/// A profile named `name` with a fixed latency and `extra` TOML.
fn profile(name: &str, latency_ms: f64, extra: &str) -> DetectorProfile {
    let text = format!(
        "name = \"{name}\"\ndetector_id = \"test-{name}\"\nport = 0\n\
         capabilities = [\"pii_detection\"]\n{extra}\n\
         [latency]\nmodel = \"fixed\"\nms = {latency_ms:?}\n"
    );
    DetectorProfile::from_toml_str(&text).expect("test profile is valid")
}

/// Sends `call` to `url` (with the `detector-id` header FMS requires).
async fn send(
    client: &reqwest::Client,
    url: &str,
    call: &Call,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{url}{}", call.path))
        .header("detector-id", "test-engine")
        .json(&call.body)
        .send()
        .await
}

/// The answer's status, `x-mock-seq` and JSON body.
async fn answered(response: reqwest::Response) -> (u16, u64, Value) {
    let status = response.status().as_u16();
    let seq = response
        .headers()
        .get("x-mock-seq")
        .expect("every answer carries x-mock-seq")
        .to_str()
        .unwrap()
        .parse()
        .expect("x-mock-seq is a number");
    let body = response.json().await.expect("a JSON body");
    (status, seq, body)
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// Checks a 200 body is the protocol's success shape.
fn assert_success_shape(protocol: &str, body: &Value) {
    match protocol {
        "native" => assert_eq!(body["detector_id"], "test-engine", "{body}"),
        "fms" => assert_eq!(*body, json!([[]])),
        "openai" => {
            let results = body["results"].as_array().expect("results");
            assert_eq!(results.len(), 1, "{body}");
            assert_eq!(results[0]["flagged"], false, "{body}");
        }
        "azure" => {
            assert_eq!(body["blocklistsMatch"], json!([]), "{body}");
            assert_eq!(body["categoriesAnalysis"].as_array().unwrap().len(), 4);
        }
        "presidio" => assert_eq!(*body, json!([])),
        "litellm" => assert_eq!(body["action"], "NONE", "{body}"),
        other => unreachable!("{other}"),
    }
}

/// Checks a 500 body is the protocol's own error shape.
fn assert_server_error_shape(protocol: &str, body: &Value) {
    match protocol {
        "native" | "litellm" => {
            assert_eq!(keys(body), BTreeSet::from(["error", "detector"]), "{body}");
            assert_eq!(keys(&body["error"]), BTreeSet::from(["code", "message"]));
            assert_eq!(body["error"]["code"], "injected_fault", "{body}");
            assert!(body["error"]["message"].is_string());
            assert_eq!(body["detector"], "test-engine");
        }
        "fms" => {
            assert_eq!(keys(body), BTreeSet::from(["code", "message"]), "{body}");
            assert_eq!(body["code"], 500);
            assert!(body["message"].is_string());
        }
        "openai" => {
            assert_eq!(keys(body), BTreeSet::from(["error"]), "{body}");
            let error = &body["error"];
            assert_eq!(
                keys(error),
                BTreeSet::from(["message", "type", "param", "code"])
            );
            assert_eq!(error["type"], "server_error", "{body}");
            assert!(error["message"].is_string());
            assert!(error["param"].is_null());
        }
        "azure" => {
            assert_eq!(keys(body), BTreeSet::from(["error"]), "{body}");
            assert_eq!(body["error"]["code"], "InternalError", "{body}");
            assert!(body["error"]["message"].is_string());
        }
        "presidio" => {
            assert_eq!(keys(body), BTreeSet::from(["error"]), "{body}");
            assert!(body["error"].is_string(), "{body}");
        }
        other => unreachable!("{other}"),
    }
}

fn fault(kind: FaultKind, status: Option<u16>) -> FaultSpec {
    let mut fault = FaultSpec::new(kind, 1.0);
    fault.status = status;
    fault
}

#[tokio::test]
async fn every_protocol_waits_out_the_profile_latency_and_is_journaled() {
    let fleet = fleet_of(profile("engine", 150.0, "")).await;
    let handle = fleet.detector("engine");
    let client = client();
    let calls = calls();
    let mut seqs = Vec::new();
    for call in &calls {
        let started = Instant::now();
        let response = send(&client, handle.url(), call).await.unwrap();
        let (status, seq, body) = answered(response).await;
        let took = started.elapsed();
        assert_eq!(status, 200, "{}: {body}", call.protocol);
        assert!(
            took >= Duration::from_millis(150),
            "{} answered in {took:?}",
            call.protocol
        );
        assert!(took < Duration::from_secs(5), "{}: {took:?}", call.protocol);
        assert_success_shape(call.protocol, &body);
        seqs.push(seq);
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");

    let journal = handle.journal();
    assert_eq!(journal.len(), calls.len(), "{journal:?}");
    for ((entry, call), seq) in journal.iter().zip(&calls).zip(&seqs) {
        assert_eq!(entry.protocol, call.protocol);
        assert_eq!(entry.path, call.journal_path, "{}", call.protocol);
        assert_eq!(entry.seq, *seq, "{}", call.protocol);
        assert_eq!(entry.status, Some(200));
        assert_eq!(entry.injected_delay_ms, 150.0, "{}", call.protocol);
        assert!(entry.duration_ms >= 150.0, "{entry:?}");
        assert_eq!(entry.fault, None);
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn next_n_faults_answer_in_each_protocols_error_shape_or_cut_the_connection() {
    let fleet = fleet_of(profile("engine", 0.0, "")).await;
    let handle = fleet.detector("engine");
    let client = client();
    let calls = calls();
    for call in &calls {
        handle
            .fail_next(1, fault(FaultKind::HttpError, Some(500)))
            .unwrap();
        let response = send(&client, handle.url(), call).await.unwrap();
        let (status, _, body) = answered(response).await;
        assert_eq!(status, 500, "{}: {body}", call.protocol);
        assert_server_error_shape(call.protocol, &body);
        // Only the next one.
        let (status, _, body) = answered(send(&client, handle.url(), call).await.unwrap()).await;
        assert_eq!(status, 200, "{}: {body}", call.protocol);
        assert_success_shape(call.protocol, &body);
    }
    for call in &calls {
        handle.fail_next(1, fault(FaultKind::Reset, None)).unwrap();
        let error = send(&client, handle.url(), call)
            .await
            .expect_err("a reset connection has no answer");
        assert!(!error.is_status(), "{}: {error}", call.protocol);
        let (status, ..) = answered(send(&client, handle.url(), call).await.unwrap()).await;
        assert_eq!(status, 200, "{} after a reset", call.protocol);
    }

    let journal = handle.journal();
    assert_eq!(journal.len(), 4 * calls.len(), "{journal:?}");
    let (errors, resets) = journal.split_at(2 * calls.len());
    for (pair, call) in errors.chunks(2).zip(&calls) {
        assert_eq!(pair[0].protocol, call.protocol);
        assert_eq!(pair[0].status, Some(500));
        assert_eq!(pair[0].fault.as_deref(), Some("http_error"));
        assert_eq!(pair[0].imposed_by.as_deref(), Some("next"));
        assert_eq!(pair[1].protocol, call.protocol);
        assert_eq!(pair[1].status, Some(200));
        assert_eq!(pair[1].fault, None);
    }
    for (pair, call) in resets.chunks(2).zip(&calls) {
        assert_eq!(pair[0].protocol, call.protocol);
        assert_eq!(pair[0].status, None, "{}: {:?}", call.protocol, pair[0]);
        assert_eq!(pair[0].fault.as_deref(), Some("reset"));
        assert_eq!(pair[1].protocol, call.protocol);
        assert_eq!(pair[1].status, Some(200));
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_profile_narrowed_to_fms_serves_only_fms() {
    let fleet = fleet_of(profile("narrow", 0.0, "protocols = [\"fms\"]")).await;
    let url = fleet.url("narrow");
    let client = client();
    for call in calls() {
        let response = send(&client, &url, &call).await.unwrap();
        let (status, _, body) = answered(response).await;
        if call.protocol == "fms" {
            assert_eq!(status, 200, "{body}");
            assert_success_shape("fms", &body);
            continue;
        }
        assert_eq!(status, 404, "{}: {body}", call.protocol);
        match call.protocol {
            "openai" => {
                assert_eq!(body["error"]["code"], "protocol_not_served", "{body}");
                assert_eq!(body["error"]["type"], "invalid_request_error");
                assert!(body["error"]["param"].is_null());
                assert!(
                    body["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("openai")
                );
            }
            "native" | "litellm" => {
                assert_eq!(body["error"]["code"], "protocol_not_served", "{body}");
                assert_eq!(body["detector"], "test-narrow");
            }
            "azure" => {
                assert_eq!(body["error"]["code"], "ResourceNotFound", "{body}");
                assert_eq!(body["error"]["innererror"]["code"], "protocol_not_served");
            }
            // `/analyze` belongs to native and Presidio, neither served.
            "presidio" => assert_eq!(body["error"]["code"], "protocol_not_served", "{body}"),
            other => unreachable!("{other}"),
        }
    }
    let journal = fleet.detector("narrow").journal();
    assert_eq!(journal.len(), 6);
    let served: Vec<_> = journal.iter().filter(|e| e.status == Some(200)).collect();
    assert_eq!(served.len(), 1);
    assert_eq!(served[0].protocol, "fms");
    assert!(
        journal
            .iter()
            .filter(|e| e.protocol != "fms")
            .all(|e| e.status == Some(404)),
        "{journal:?}"
    );
    fleet.shutdown().await;
}
