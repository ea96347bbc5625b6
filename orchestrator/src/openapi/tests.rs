//! The document against the code: real answers from the router, in front
//! of a real detector, validated against the schemas the document gives.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::document;
use crate::api;
use crate::config::{DetectorConfig, OrchestratorConfig};
use crate::settings::Settings;
use crate::state::AppState;

fn settings(detector: &str, api_key: Option<&str>) -> Settings {
    let mut config = OrchestratorConfig::default();
    config.service.api_key = api_key.map(str::to_owned);
    let detector = DetectorConfig::new(detector);
    config.detectors.insert("d".to_owned(), detector);
    Settings::from_config(&config, "test").expect("valid")
}

fn app(settings: Settings) -> Router {
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    api::router(Arc::new(
        AppState::new(settings, stopped).expect("client builds"),
    ))
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: Value,
) -> (u16, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = if body.is_null() {
        Body::empty()
    } else {
        Body::from(body.to_string())
    };
    let response = app
        .clone()
        .oneshot(request.body(body).expect("request builds"))
        .await;
    let response = response.unwrap_or_else(|never| match never {});
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::String(text)),
    )
}

/// The errors of `body` against the schema of `status` of `method path`.
fn violations(doc: &Value, method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
    let response = &doc["paths"][path][method]["responses"][status.to_string()];
    let media = response["content"]
        .as_object()
        .and_then(|c| c.values().next());
    let media = media.unwrap_or_else(|| panic!("{method} {path}: {status} is not documented"));
    let mut root = media["schema"].clone();
    root["components"] = json!({"schemas": doc["components"]["schemas"].clone()});
    let validator = jsonschema::validator_for(&root).expect("the schema compiles");
    validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// `(method, uri, documented path, headers, body, expected status)`.
type Case<'a> = (
    &'a str,
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    Value,
    u16,
);

#[tokio::test]
async fn real_answers_match_the_document() {
    let fleet = mockdet::Fleet::builder()
        .builtin("success")
        .seed(1)
        .start()
        .await
        .expect("fleet");
    let settings = settings(&fleet.url("success"), None);
    let doc = document(&settings);
    let app = app(settings);
    let ok = json!({"content": "mail jo@example.com", "content_type": "text"});
    let tenant = [("x-tenant-id", "t")];
    let (_, accepted) = call(
        &app,
        "POST",
        "/orchestrate",
        &[],
        json!({"content": "x", "content_type": "text", "processing_mode": "async"}),
    )
    .await;
    let job = format!(
        "/orchestrate/status/{}",
        accepted["job_id"].as_str().expect("a job id")
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let table: Vec<Case<'_>> = vec![
        ("POST", "/orchestrate", "/orchestrate", &[], ok.clone(), 200),
        (
            "POST",
            "/orchestrate",
            "/orchestrate",
            &[],
            json!({"content": "x", "content_type": "text", "processing_mode": "async"}),
            202,
        ),
        (
            "POST",
            "/orchestrate",
            "/orchestrate",
            &[],
            json!({"content": "x", "content_type": "text", "required_detectors": ["nope"]}),
            422,
        ),
        ("POST", "/orchestrate", "/orchestrate", &[], json!("{"), 422),
        (
            "POST",
            "/orchestrate/batch",
            "/orchestrate/batch",
            &[],
            json!({"requests": [ok.clone(), {"content": ""}, {"content": "y", "content_type": "code", "processing_mode": "async"}]}),
            200,
        ),
        (
            "POST",
            "/orchestrate/batch",
            "/orchestrate/batch",
            &[],
            json!({"requests": []}),
            422,
        ),
        (
            "GET",
            &job,
            "/orchestrate/status/{job_id}",
            &[],
            Value::Null,
            200,
        ),
        (
            "GET",
            "/api/v1/orchestrate/status/nope",
            "/api/v1/orchestrate/status/{job_id}",
            &[],
            Value::Null,
            404,
        ),
        (
            "POST",
            "/api/v1/orchestrate",
            "/api/v1/orchestrate",
            &tenant,
            json!({"content": "x", "detector_types": ["d"]}),
            200,
        ),
        (
            "POST",
            "/api/v1/orchestrate",
            "/api/v1/orchestrate",
            &[],
            json!({"content": "x", "detector_types": ["d"]}),
            400,
        ),
        (
            "POST",
            "/api/v1/orchestrate",
            "/api/v1/orchestrate",
            &tenant,
            json!({"content": "x", "detector_types": ["d"], "x": 1}),
            422,
        ),
        ("GET", "/health", "/health", &[], Value::Null, 200),
        (
            "GET",
            "/api/v1/health",
            "/api/v1/health",
            &[],
            Value::Null,
            200,
        ),
        ("GET", "/metrics", "/metrics", &[], Value::Null, 200),
        (
            "GET",
            "/openapi.json",
            "/openapi.json",
            &[],
            Value::Null,
            200,
        ),
    ];
    for (method, uri, path, headers, body, expected) in table {
        let (status, answer) = call(&app, method, uri, headers, body).await;
        assert_eq!(status, expected, "{method} {uri}: {answer}");
        let errors = violations(&doc, &method.to_lowercase(), path, status, &answer);
        assert!(
            errors.is_empty(),
            "{method} {uri} {status}: {errors:#?}\n{answer:#}"
        );
    }
    fleet.shutdown().await;
}

#[tokio::test]
async fn an_api_key_is_documented_where_it_is_needed() {
    let settings = settings("http://127.0.0.1:9", Some("k"));
    let doc = document(&settings);
    assert_eq!(
        doc["components"]["securitySchemes"]["apiKey"]["name"],
        "x-api-key"
    );
    assert!(doc["paths"]["/health"]["get"].get("security").is_none());
    let (status, answer) = call(&app(settings), "POST", "/orchestrate", &[], json!({})).await;
    assert_eq!(status, 401);
    assert!(
        violations(&doc, "post", "/orchestrate", 401, &answer).is_empty(),
        "{answer}"
    );
    let open = document(&self::settings("http://127.0.0.1:9", None));
    assert!(
        open["paths"]["/orchestrate"]["post"]["responses"]
            .get("401")
            .is_none()
    );
}

#[test]
fn request_and_answer_schemas_never_share_a_name() {
    let mut s = super::Schemas {
        requests: super::generator(
            schemars::generate::SchemaSettings::draft2020_12().for_deserialize(),
        ),
        answers: super::generator(
            schemars::generate::SchemaSettings::draft2020_12().for_serialize(),
        ),
    };
    let _ = super::base_paths(&mut s);
    let requests = s.requests.take_definitions(true);
    let answers = s.answers.take_definitions(true);
    let shared: Vec<&String> = answers
        .keys()
        .filter(|name| requests.contains_key(*name))
        .collect();
    assert!(
        shared.is_empty(),
        "both sides of serde name {shared:?}: the document would hold one"
    );
}
