//! Every refusal is JSON with a stable `error.code`: malformed input (400 /
//! 422), unknown paths and methods, the API key (401), and the `/api/v1`
//! shape's tenant header, strict body and per-tenant rate limit (429).

mod support;

use mockdet_orchestrator::OrchestratorConfig;
use serde_json::{Value, json};
use support::{client, fleet, get, profile, request, wired};

/// Sends a raw body and returns status, content type and JSON body.
async fn send_raw(
    url: &str,
    method: reqwest::Method,
    path: &str,
    body: &str,
) -> (u16, String, Value) {
    let response = client()
        .request(method, format!("{url}{path}"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (
        status,
        content_type,
        response.json().await.expect("a JSON body"),
    )
}

#[tokio::test]
async fn malformed_input_gets_json_errors_with_stable_codes() {
    let fleet = fleet(vec![profile("a", 0.0, "")]).await;
    let mut config = OrchestratorConfig::default();
    config.orchestration.max_content_length = 100;
    let orchestrator = wired(&fleet)
        .config(config)
        .detector("a", fleet.url("a"))
        .start()
        .await
        .unwrap();
    let url = orchestrator.url();
    let long = json!({"content": "x".repeat(101), "content_type": "text"}).to_string();
    let post = reqwest::Method::POST;
    let table: Vec<(reqwest::Method, &str, String, u16, &str)> = vec![
        (
            post.clone(),
            "/orchestrate",
            "{not json".into(),
            400,
            "invalid_json",
        ),
        (post.clone(), "/orchestrate", "".into(), 400, "invalid_json"),
        (
            post.clone(),
            "/orchestrate",
            "[1, 2]".into(),
            422,
            "invalid_body",
        ),
        (
            post.clone(),
            "/orchestrate",
            r#"{"content_type": "text"}"#.into(),
            422,
            "missing_field",
        ),
        (
            post.clone(),
            "/orchestrate",
            r#"{"content": "hi"}"#.into(),
            422,
            "missing_field",
        ),
        (
            post.clone(),
            "/orchestrate",
            r#"{"content": "", "content_type": "text"}"#.into(),
            422,
            "empty_content",
        ),
        (
            post.clone(),
            "/orchestrate",
            r#"{"content": "hi", "content_type": "video"}"#.into(),
            422,
            "invalid_content_type",
        ),
        (
            post.clone(),
            "/orchestrate",
            r#"{"content": "hi", "content_type": "text", "processing_mode": "x"}"#.into(),
            422,
            "invalid_field",
        ),
        (post.clone(), "/orchestrate", long, 422, "content_too_large"),
        (post.clone(), "/nope", "{}".into(), 404, "not_found"),
        (
            reqwest::Method::GET,
            "/orchestrate",
            "".into(),
            405,
            "method_not_allowed",
        ),
        (
            reqwest::Method::DELETE,
            "/health",
            "".into(),
            405,
            "method_not_allowed",
        ),
    ];
    for (method, path, body, status, code) in table {
        let (got, content_type, reply) = send_raw(&url, method.clone(), path, &body).await;
        assert_eq!(
            (got, reply["error"]["code"].as_str()),
            (status, Some(code)),
            "{method} {path} {body}"
        );
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        assert!(reply["error"]["message"].is_string());
    }
    let metrics = client()
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("orchestrate_requests_total{status=\"422\"} 7"),
        "{metrics}"
    );
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_api_key_guards_everything_but_health_and_metrics() {
    let fleet = fleet(vec![profile("a", 0.0, "")]).await;
    let orchestrator = wired(&fleet).api_key("s3cret").start().await.unwrap();
    let url = orchestrator.url();
    let client = client();
    let table = [
        (None, 401),
        (Some("wrong"), 401),
        (Some(""), 401),
        (Some("s3cret"), 200),
    ];
    for (key, status) in table {
        let mut call = client
            .post(format!("{url}/orchestrate"))
            .json(&request("text"));
        if let Some(key) = key {
            call = call.header("X-API-Key", key);
        }
        let response = call.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "key {key:?}");
        if status == 401 {
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"]["code"], "unauthorized");
        }
    }
    let (status, _) = get(&client, &url, "/orchestrate/status/x").await;
    assert_eq!(status, 401);
    assert_eq!(get(&client, &url, "/health").await.0, 200);
    let metrics = client.get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_custom_api_key_header_is_honoured() {
    let fleet = fleet(vec![profile("a", 0.0, "")]).await;
    let mut config = OrchestratorConfig::default();
    config.service.api_key = Some("k".into());
    config.service.api_key_header = "Authorization-Token".into();
    let orchestrator = wired(&fleet)
        .config(config)
        .detector("a", fleet.url("a"))
        .start()
        .await
        .unwrap();
    let call = |header: &'static str| {
        client()
            .post(format!("{}/orchestrate", orchestrator.url()))
            .header(header, "k")
            .json(&request("text"))
            .send()
    };
    assert_eq!(call("X-API-Key").await.unwrap().status(), 401);
    assert_eq!(call("Authorization-Token").await.unwrap().status(), 200);
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn the_v1_shape_needs_a_tenant_rejects_unknown_fields_and_wraps_the_reply() {
    let fleet = fleet(vec![profile("a", 0.0, ""), profile("b", 0.0, "")]).await;
    let orchestrator = wired(&fleet).start().await.unwrap();
    let url = format!("{}/api/v1/orchestrate", orchestrator.url());
    let client = client();
    let good = json!({"content": "hi jane@example.com", "detector_types": ["a", "ghost"], "processing_mode": "fast"});
    let no_tenant = client.post(&url).json(&good).send().await.unwrap();
    assert_eq!(no_tenant.status(), 400);
    let body: Value = no_tenant.json().await.unwrap();
    assert_eq!(body["error"]["code"], "missing_tenant");

    let send = |body: Value| {
        client
            .post(&url)
            .header("X-Tenant-ID", "t1")
            .json(&body)
            .send()
    };
    let strict = send(json!({"content": "hi", "detector_types": ["a"], "content_type": "text"}))
        .await
        .unwrap();
    assert_eq!(strict.status(), 422);
    let body: Value = strict.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_field");

    let reply = send(good).await.unwrap();
    assert_eq!(reply.status(), 200, "partial coverage is still 200 in v1");
    let body: Value = reply.json().await.unwrap();
    assert_eq!(body["data"]["coverage_achieved"], 1.0);
    assert_eq!(body["data"]["errors"][0]["code"], "unknown_detector");
    assert_eq!(body["metadata"]["tenant_id"], "t1");
    assert_eq!(body["metadata"]["processing_mode"], "fast");
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_tenant_past_its_v1_rate_limit_gets_429_with_retry_after() {
    let fleet = fleet(vec![profile("a", 0.0, "")]).await;
    let mut config = OrchestratorConfig::default();
    config.api_v1.rate_limit_rps = 0.5;
    config.api_v1.rate_limit_burst = 2.0;
    let orchestrator = wired(&fleet)
        .config(config)
        .detector("a", fleet.url("a"))
        .start()
        .await
        .unwrap();
    let url = format!("{}/api/v1/orchestrate", orchestrator.url());
    let client = client();
    let body = json!({"content": "hi", "detector_types": ["a"]});
    let send = |tenant: &'static str| {
        client
            .post(&url)
            .header("X-Tenant-ID", tenant)
            .json(&body)
            .send()
    };
    assert_eq!(send("t1").await.unwrap().status(), 200);
    assert_eq!(send("t1").await.unwrap().status(), 200);
    let limited = send("t1").await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["retry-after"], "2");
    let error: Value = limited.json().await.unwrap();
    assert_eq!(error["error"]["code"], "rate_limited");
    assert_eq!(
        send("t2").await.unwrap().status(),
        200,
        "tenants have their own buckets"
    );
    orchestrator.shutdown().await;
    fleet.shutdown().await;
}

#[tokio::test]
async fn a_bad_configuration_is_refused_naming_the_field() {
    let mut config = OrchestratorConfig::default();
    config.detectors.insert(
        "x".into(),
        mockdet_orchestrator::DetectorConfig::new("ftp://127.0.0.1:1"),
    );
    let err = mockdet_orchestrator::Orchestrator::builder()
        .config(config)
        .origin("mine.yaml")
        .start()
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("mine.yaml: field `detectors.x.endpoint`"),
        "{err}"
    );
}
