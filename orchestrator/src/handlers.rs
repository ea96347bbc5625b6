//! CONTRACT §5's orchestration endpoints: `POST /orchestrate` (sync: 200 /
//! 206 / 502 by coverage; async: 202 and a job) and `POST
//! /orchestrate/batch` (one result per request, same order).

use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::error::ApiError;
use super::fanout::{self, RequestIds, Selection};
use super::request::{self, JsonBody, Mode, OrchestrateRequest};
use super::state::{AppState, new_id, stopped};

/// `POST /orchestrate`.
pub(crate) async fn orchestrate(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<JsonBody, ApiError>,
) -> Response {
    let arrived = Instant::now();
    let ids = ids_from(&headers);
    let (status, body) = match body {
        Ok(JsonBody(value)) => {
            orchestrate_value(&state, &value, tenant_header(&headers), &ids, arrived).await
        }
        Err(error) => (error.status.as_u16(), error.body()),
    };
    state.metrics.count_request(status);
    reply(status, body, &ids)
}

/// `POST /orchestrate/batch` with `{"requests": [...]}`.
pub(crate) async fn batch(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<JsonBody, ApiError>,
) -> Response {
    let arrived = Instant::now();
    let ids = ids_from(&headers);
    let items =
        match body.and_then(|JsonBody(value)| batch_items(value, state.settings.max_batch_size)) {
            Ok(items) => items,
            Err(error) => return error.into_response(),
        };
    let tenant = tenant_header(&headers);
    let runs = items.iter().enumerate().map(|(index, item)| {
        let item_ids = RequestIds {
            request_id: new_id(),
            correlation_id: format!("{}-{index}", ids.correlation_id),
        };
        let state = &state;
        async move {
            let (status, body) = orchestrate_value(state, item, tenant, &item_ids, arrived).await;
            state.metrics.count_request(status);
            numbered(index, status, body)
        }
    });
    let results = futures_util::future::join_all(runs).await;
    let body = json!({
        "batch_id": ids.request_id,
        "total": results.len(),
        "results": results,
    });
    reply(200, body, &ids)
}

fn batch_items(value: Value, max: usize) -> Result<Vec<Value>, ApiError> {
    let Value::Object(mut body) = value else {
        return Err(ApiError::field(
            "invalid_body",
            "",
            "the body must be a JSON object",
        ));
    };
    let Some(Value::Array(items)) = body.remove("requests") else {
        return Err(ApiError::field(
            "missing_field",
            "requests",
            "`requests` must be a list",
        ));
    };
    if items.is_empty() {
        return Err(ApiError::field(
            "empty_batch",
            "requests",
            "`requests` is empty",
        ));
    }
    if items.len() > max {
        return Err(ApiError::field(
            "batch_too_large",
            "requests",
            format!("{} requests; the limit is {max}", items.len()),
        ));
    }
    Ok(items)
}

/// A batch result: the request's own body with its index and status.
fn numbered(index: usize, status: u16, body: Value) -> Value {
    let mut out = json!({"index": index, "status_code": status});
    if let (Some(out), Value::Object(body)) = (out.as_object_mut(), body) {
        out.extend(body);
    }
    out
}

/// Validates and runs one request: `(HTTP status, body)`.
pub(crate) async fn orchestrate_value(
    state: &Arc<AppState>,
    value: &Value,
    header_tenant: Option<&str>,
    ids: &RequestIds,
    arrived: Instant,
) -> (u16, Value) {
    let settings = &state.settings;
    let req = match request::parse(value, header_tenant, settings.max_content_length) {
        Ok(req) => req,
        Err(error) => return (error.status.as_u16(), error.body()),
    };
    let required = req.required_detectors.as_deref();
    let selection = fanout::select(&settings.targets, Some(req.content_type), required);
    if selection.chosen.is_empty() {
        let error = no_detectors(&selection);
        return (error.status.as_u16(), error.body());
    }
    match req.processing_mode {
        Mode::Sync => {
            let deadline = arrived + settings.sla_budget;
            let outcome = fanout::run(state, &req, ids, selection, deadline).await;
            state.metrics.coverage.observe(outcome.coverage());
            (outcome.http_status(), outcome.to_json(&req, ids, "sync"))
        }
        Mode::Async => (202, start_job(state, req, ids.clone(), selection)),
    }
}

/// 422 when no configured detector can take the request.
pub(crate) fn no_detectors(selection: &Selection) -> ApiError {
    ApiError::field(
        "no_detectors",
        "required_detectors",
        "no configured detector can take this request",
    )
    .with_details(json!({
        "unknown_detectors": selection.unknown,
        "unsupported_detectors": selection.unsupported,
    }))
}

/// Registers a job and runs it in the background (until done, its budget
/// runs out, or the orchestrator shuts down).
fn start_job(
    state: &Arc<AppState>,
    req: OrchestrateRequest,
    ids: RequestIds,
    selection: Selection,
) -> Value {
    let job_id = new_id();
    state.jobs.insert(&job_id);
    let task_state = state.clone();
    let task_id = job_id.clone();
    let shutdown = state.shutdown.clone();
    let request_id = ids.request_id.clone();
    tokio::spawn(async move {
        let deadline = Instant::now() + task_state.settings.async_budget;
        let work = fanout::run(&task_state, &req, &ids, selection, deadline);
        tokio::select! {
            outcome = work => {
                task_state.metrics.coverage.observe(outcome.coverage());
                let body = outcome.to_json(&req, &ids, "async");
                task_state.jobs.complete(&task_id, outcome.http_status(), body);
            }
            () = stopped(shutdown) => {}
        }
    });
    json!({
        "job_id": job_id,
        "status": "accepted",
        "processing_mode": "async",
        "request_id": request_id,
        "status_url": format!("/orchestrate/status/{job_id}"),
    })
}

/// Request id (fresh) and correlation id (the client's, or the request id).
pub(crate) fn ids_from(headers: &HeaderMap) -> RequestIds {
    let request_id = new_id();
    let correlation_id = headers
        .get("x-correlation-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map_or_else(|| request_id.clone(), str::to_owned);
    RequestIds {
        request_id,
        correlation_id,
    }
}

/// `X-Tenant-ID`, when present and text.
pub(crate) fn tenant_header(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-tenant-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
}

/// A JSON answer carrying `X-Correlation-ID` and `X-Request-ID`.
pub(crate) fn reply(status: u16, body: Value, ids: &RequestIds) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-correlation-id", &ids.correlation_id),
        ("x-request-id", &ids.request_id),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    response
}
