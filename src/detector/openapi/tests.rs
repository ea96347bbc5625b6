//! The document against the code: real answers from the router (no
//! socket), each validated against the schema the document gives for its
//! operation and status; and every documented operation routed.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::super::{AdminAccess, DetectorState, router};
use super::document;
use crate::metrics::Metrics;
use crate::profile::DetectorProfile;

fn state(extra: &str, access: AdminAccess) -> Arc<DetectorState> {
    let profile = DetectorProfile::from_toml_str(&format!(
        "name = \"doc\"\ndetector_id = \"doc-detector\"\nport = 0\n\
         capabilities = [\"deep_analysis\"]\nallow_overrides = true\n{extra}\n\
         [latency]\nmodel = \"fixed\"\nms = 0.0\n[batch]\nenabled = true\n"
    ))
    .expect("test profile parses");
    let state = DetectorState::new(profile, 7, Metrics::new(), access);
    Arc::new(state.expect("test profile is valid"))
}

/// One request: method, path and query, headers, body.
type Call<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], Option<Value>);

async fn send(
    state: &Arc<DetectorState>,
    (method, uri, headers, body): Call<'_>,
) -> (u16, String, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = match body {
        Some(Value::String(raw)) => Body::from(raw),
        Some(value) => Body::from(value.to_string()),
        None => Body::empty(),
    };
    let request = request.body(body).expect("request builds");
    let answered = router(state.clone()).oneshot(request).await;
    let response = answered.unwrap_or_else(|never| match never {});
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map_or("", |v| v.to_str().unwrap_or(""));
    let content_type = content_type.to_owned();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, content_type, body)
}

/// The documented response of `method path` for `status`: the exact code,
/// else its range (`4XX`, `5XX`); `$ref`s to `components/responses` followed.
fn documented<'d>(doc: &'d Value, method: &str, path: &str, status: u16) -> &'d Value {
    let responses = &doc["paths"][path][method]["responses"];
    let range = format!("{}XX", status / 100);
    let found = [status.to_string(), range]
        .iter()
        .find_map(|key| responses.get(key))
        .unwrap_or_else(|| panic!("{method} {path}: {status} is not documented"));
    match found["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/responses/"))
    {
        Some(name) => &doc["components"]["responses"][name],
        None => found,
    }
}

/// Where `body` (answered with `status` to `method path`) breaks the
/// document's schema; `media` is the documented media type.
fn violations(
    doc: &Value,
    (method, path): (&str, &str),
    status: u16,
    body: &Value,
) -> (String, Vec<String>) {
    let response = documented(doc, method, path, status);
    let (media, object) = response["content"]
        .as_object()
        .and_then(|content| content.iter().next())
        .unwrap_or_else(|| panic!("{method} {path} {status}: no documented body"));
    // The schema's `$ref`s point into `components/schemas`: carry them
    // along (those alone: the rest is no schema).
    let mut root = object["schema"].clone();
    root["components"] = json!({"schemas": doc["components"]["schemas"].clone()});
    let validator = jsonschema::validator_for(&root).expect("the schema compiles");
    let errors = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    (media.clone(), errors)
}

/// Fails unless the answer matches the document.
fn conforms(
    doc: &Value,
    (method, path): (&str, &str),
    status: u16,
    content_type: &str,
    body: &Value,
) {
    let (media, errors) = violations(doc, (method, path), status, body);
    assert!(
        content_type.starts_with(&media),
        "{method} {path} {status}: {content_type} is not {media}"
    );
    assert!(
        errors.is_empty(),
        "{method} {path} {status}: {errors:#?}\n{body:#}"
    );
}

#[test]
fn a_body_off_the_schema_is_caught() {
    let doc = document(&AdminAccess::Open);
    let (_, errors) = violations(&doc, ("post", "/detect"), 200, &json!({"detector_id": 5}));
    assert!(errors.len() > 5, "{errors:?}");
    let (_, errors) = violations(
        &doc,
        ("post", "/api/v1/text/chat"),
        422,
        &json!({"code": 422, "message": "m", "x": 1}),
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
}

/// `path` as the document names it (the query left out).
fn documented_path(uri: &str) -> &str {
    uri.split('?').next().unwrap_or(uri)
}

async fn answers_conform(state: &Arc<DetectorState>, doc: &Value, calls: &[(Call<'_>, u16)]) {
    for (call, expected) in calls {
        let (status, content_type, body) = send(state, call.clone()).await;
        let (method, uri) = (call.0.to_lowercase(), call.1);
        assert_eq!(status, *expected, "{method} {uri}: {body}");
        conforms(
            doc,
            (&method, documented_path(uri)),
            status,
            &content_type,
            &body,
        );
    }
}

const FMS: &[(&str, &str)] = &[("detector-id", "doc")];
const AZURE: &str = "/contentsafety/text:analyze?api-version=2024-09-01";

/// A valid request to every detection endpoint.
fn detections() -> Vec<Call<'static>> {
    vec![
        (
            "POST",
            "/detect",
            &[],
            Some(json!({"content": "mail jo@example.com; I will kill you"})),
        ),
        (
            "POST",
            "/analyze",
            &[],
            Some(json!({"content": "x", "metadata": {"correlation_id": "c"}})),
        ),
        (
            "POST",
            "/analyze",
            &[],
            Some(
                json!({"text": "call 415-555-0132", "language": "en", "return_decision_process": true}),
            ),
        ),
        (
            "POST",
            "/analyze",
            &[],
            Some(json!({"text": ["a jo@example.com", "b"], "language": "en"})),
        ),
        (
            "POST",
            "/detect/batch",
            &[],
            Some(json!([{"content": "4111 1111 1111 1111"}, {"content": ""}, 5])),
        ),
        (
            "POST",
            "/api/v1/text/contents",
            FMS,
            Some(json!({"contents": ["mail jo@example.com", "é none"]})),
        ),
        (
            "POST",
            "/api/v1/text/generation",
            FMS,
            Some(json!({"prompt": "p", "generated_text": "I will kill you"})),
        ),
        (
            "POST",
            "/api/v1/text/chat",
            &[],
            Some(json!({"messages": [{"role": "user", "content": "I hate you"}]})),
        ),
        (
            "POST",
            "/api/v1/text/context/doc",
            FMS,
            Some(json!({"content": "x", "context_type": "docs", "context": []})),
        ),
        (
            "POST",
            "/v1/moderations",
            &[],
            Some(json!({"input": ["I will kill you", "hi"]})),
        ),
        (
            "POST",
            "/v1/moderations",
            &[],
            Some(
                json!({"input": [{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": "u"}}]}),
            ),
        ),
        (
            "POST",
            AZURE,
            &[],
            Some(json!({"text": "I will kill you", "outputType": "EightSeverityLevels"})),
        ),
        (
            "POST",
            "/beta/litellm_basic_guardrail_api",
            &[],
            Some(json!({"input_type": "request", "texts": ["mail jo@example.com"]})),
        ),
        (
            "POST",
            "/beta/litellm_basic_guardrail_api",
            &[],
            Some(json!({"input_type": "response", "texts": ["I will kill you"]})),
        ),
    ]
}

#[tokio::test]
async fn every_protocol_answers_and_refuses_as_documented() {
    let state = state("", AdminAccess::Open);
    let doc = document(&AdminAccess::Open);
    let mut calls: Vec<(Call<'_>, u16)> = detections().into_iter().map(|c| (c, 200)).collect();
    let not_json = Some(Value::String("{".into()));
    calls.extend([
        (("POST", "/detect", &[][..], not_json.clone()), 400),
        (("POST", "/detect", &[], Some(json!({}))), 422),
        (
            (
                "POST",
                "/analyze",
                &[],
                Some(json!({"text": "x", "language": "fr"})),
            ),
            400,
        ),
        (("POST", "/analyze", &[], Some(json!({}))), 422),
        (
            ("POST", "/detect/batch", &[], Some(json!({"items": []}))),
            422,
        ),
        (("POST", "/detect/batch", &[], not_json.clone()), 400),
        (
            (
                "POST",
                "/api/v1/text/contents",
                &[],
                Some(json!({"contents": []})),
            ),
            422,
        ),
        (("POST", "/api/v1/text/chat", &[], not_json.clone()), 400),
        (("POST", "/v1/moderations", &[], Some(json!({}))), 400),
        (
            (
                "POST",
                "/contentsafety/text:analyze",
                &[],
                Some(json!({"text": "x"})),
            ),
            404,
        ),
        (("POST", AZURE, &[], Some(json!({"text": ""}))), 400),
        (
            ("POST", "/beta/litellm_basic_guardrail_api", &[], not_json),
            422,
        ),
        (
            (
                "POST",
                "/detect",
                &[("x-mock-status", "nope")],
                Some(json!({"content": "x"})),
            ),
            400,
        ),
        // Arrays are no request objects, even of the right length.
        (
            ("POST", "/detect", &[], Some(json!(["x", "text", null]))),
            422,
        ),
        (
            (
                "POST",
                "/analyze",
                &[],
                Some(json!([
                    "x", null, null, "x", "en", null, null, null, null, null
                ])),
            ),
            422,
        ),
        (
            ("POST", "/api/v1/text/contents", FMS, Some(json!([["x"]]))),
            422,
        ),
        (
            ("POST", "/v1/moderations", &[], Some(json!(["x", null]))),
            400,
        ),
        (("POST", AZURE, &[], Some(json!(["I will kill you"]))), 400),
        (
            (
                "POST",
                "/beta/litellm_basic_guardrail_api",
                &[],
                Some(json!(["request", ["x"], null])),
            ),
            422,
        ),
        (("GET", "/supportedentities", &[], None), 200),
        (("GET", "/recognizers?language=en", &[], None), 200),
        (("GET", "/recognizers?language=fr", &[], None), 400),
        (("GET", "/health", &[], None), 200),
        (("GET", "/", &[], None), 200),
        (("GET", "/capabilities", &[], None), 200),
        (("GET", "/metrics", &[], None), 200),
        (("GET", "/openapi.json", &[], None), 200),
    ]);
    answers_conform(&state, &doc, &calls).await;
}

#[tokio::test]
async fn injected_errors_take_each_protocols_documented_shape() {
    let state = state("", AdminAccess::Open);
    let doc = document(&AdminAccess::Open);
    for status in ["429", "503"] {
        let plain = detections();
        let headers: Vec<Vec<(&str, &str)>> = plain
            .iter()
            .map(|(_, _, headers, _)| [headers, &[("x-mock-status", status)][..]].concat())
            .collect();
        let code = status.parse().expect("a status");
        let calls: Vec<(Call<'_>, u16)> = plain
            .into_iter()
            .zip(&headers)
            .map(|((method, path, _, body), headers)| ((method, path, &headers[..], body), code))
            .collect();
        answers_conform(&state, &doc, &calls).await;
    }
}

#[tokio::test]
async fn a_protocol_left_out_is_a_documented_404() {
    let state = state("protocols = [\"native\"]", AdminAccess::Open);
    let doc = document(&AdminAccess::Open);
    let calls: Vec<(Call<'_>, u16)> = detections()
        .into_iter()
        .filter(|(_, path, ..)| !path.starts_with("/detect") && *path != "/analyze")
        .map(|call| (call, 404))
        .chain([(("GET", "/recognizers", &[][..], None), 404)])
        .collect();
    answers_conform(&state, &doc, &calls).await;
}

#[tokio::test]
async fn admin_answers_as_documented() {
    let state = state("", AdminAccess::Open);
    let doc = document(&AdminAccess::Open);
    let (_, _, profile) = send(&state, ("GET", "/admin/profile", &[], None)).await;
    let calls: Vec<(Call<'_>, u16)> = vec![
        (("POST", "/detect", &[], Some(json!({"content": "x"}))), 200),
        (("GET", "/admin/profile", &[], None), 200),
        (("PUT", "/admin/profile", &[], Some(profile)), 200),
        (
            (
                "PATCH",
                "/admin/profile",
                &[],
                Some(json!({"latency": {"ms": 1.0}})),
            ),
            200,
        ),
        (
            (
                "PATCH",
                "/admin/profile",
                &[],
                Some(json!({"latency": {"ms": -1.0}})),
            ),
            400,
        ),
        (
            (
                "POST",
                "/admin/outage",
                &[],
                Some(json!({"mode": "slow", "duration_ms": 1, "extra_ms": 0.0})),
            ),
            200,
        ),
        (
            (
                "POST",
                "/admin/outage",
                &[],
                Some(json!({"mode": "sideways"})),
            ),
            400,
        ),
        (
            ("POST", "/admin/outage", &[], Some(json!(["slow", 1]))),
            400,
        ),
        (
            (
                "POST",
                "/admin/next",
                &[],
                Some(json!({"count": 1, "fault": {"kind": "http_error", "status": 503}})),
            ),
            200,
        ),
        (
            (
                "POST",
                "/admin/script",
                &[],
                Some(json!({"phases": [{"duration_ms": 60000}]})),
            ),
            200,
        ),
        (("GET", "/admin/script", &[], None), 200),
        (("GET", "/admin/requests?limit=5", &[], None), 200),
        (("GET", "/admin/requests?since_seq=x", &[], None), 400),
        (("DELETE", "/admin/faults", &[], None), 200),
        (("GET", "/admin/script", &[], None), 200),
        (("POST", "/admin/reset", &[], None), 200),
    ];
    answers_conform(&state, &doc, &calls).await;
}

#[tokio::test]
async fn a_token_is_documented_as_needed_and_its_absence_refused() {
    let access = AdminAccess::Token("t0k".into());
    let state = state("", access.clone());
    let doc = document(&access);
    assert_eq!(
        doc["components"]["securitySchemes"]["adminToken"]["scheme"],
        "bearer"
    );
    let calls: Vec<(Call<'_>, u16)> = vec![
        (("GET", "/admin/profile", &[], None), 401),
        (
            (
                "GET",
                "/admin/profile",
                &[("authorization", "Bearer t0k")],
                None,
            ),
            200,
        ),
    ];
    answers_conform(&state, &doc, &calls).await;
    let open = document(&AdminAccess::Open);
    assert!(
        open["paths"]["/admin/profile"]["get"]
            .get("security")
            .is_none()
    );
    let off = document(&AdminAccess::Disabled);
    let only = off["paths"]["/admin/reset"]["post"]["responses"]
        .as_object()
        .map(|r| r.len());
    assert_eq!(only, Some(1), "disabled: 403 only");
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let state = state("", AdminAccess::Open);
    let doc = document(&AdminAccess::Open);
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 20, "{}", paths.len());
    for (path, item) in paths {
        for method in item.as_object().expect("a path item").keys() {
            let uri = if path.starts_with("/contentsafety") {
                AZURE
            } else {
                path.as_str()
            };
            let (status, _, body) = send(&state, (&method.to_uppercase(), uri, &[], None)).await;
            let unrouted = status == StatusCode::METHOD_NOT_ALLOWED.as_u16()
                || body["error"]["code"] == "not_found";
            assert!(
                !unrouted,
                "{method} {path} is documented but not routed: {status} {body}"
            );
        }
    }
}

#[tokio::test]
async fn the_served_document_names_the_profiles_languages() {
    let state = state(
        "[protocol_options]\nlanguages = [\"en\", \"de\"]",
        AdminAccess::Open,
    );
    let (status, _, served) = send(&state, ("GET", "/openapi.json", &[], None)).await;
    assert_eq!(status, 200);
    let language =
        &served["components"]["schemas"]["PresidioAnalyzeRequest"]["properties"]["language"];
    assert_eq!(language["enum"], json!(["en", "de"]));
    let parameter = &served["paths"]["/recognizers"]["get"]["parameters"][0];
    assert_eq!(parameter["schema"]["enum"], json!(["en", "de"]));
}

#[test]
fn every_reference_resolves() {
    fn refs<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match value.as_str() {
                        Some(r) if key == "$ref" => out.push(r),
                        _ => refs(value, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let doc = document(&AdminAccess::Token("t".into()));
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 50, "{}", found.len());
    for reference in found {
        let pointer = reference.strip_prefix('#').expect("a local reference");
        assert!(
            doc.pointer(pointer).is_some(),
            "{reference} does not resolve"
        );
    }
    let names: Vec<&String> = doc["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
        .collect();
    assert!(
        names.iter().any(|n| *n == "DetectorProfile")
            && names.iter().any(|n| *n == "DetectorProfileAnswer")
    );
}
