//! The newer orchestrator shape of CONTRACT §5, so a suite can target it by
//! configuration: `POST /api/v1/orchestrate` with the tenant in
//! `X-Tenant-ID` (required, 400 without), a strict body (`content`,
//! `detector_types` required; unknown fields 422), a per-tenant rate limit
//! (429 with `Retry-After`), and the reply wrapped as `{data, metadata}`,
//! 200 even for partial coverage (502 only when no detector succeeded).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::config::ContentType;
use super::error::ApiError;
use super::fanout::{self, Outcome, RequestIds};
use super::handlers::{ids_from, no_detectors, reply, tenant_header};
use super::request::{JsonBody, Mode, OrchestrateRequest};
use super::state::AppState;

/// Longest `timeout_seconds` a client may ask for.
const MAX_TIMEOUT_S: f64 = 300.0;

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum V1Mode {
    #[default]
    Standard,
    Fast,
    Thorough,
    Comprehensive,
}

/// `POST /api/v1/orchestrate`: a strict body (unknown fields are refused).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "V1OrchestrateRequest")]
#[serde(deny_unknown_fields)]
pub(crate) struct V1Body {
    /// Not blank; at most `orchestration.max_content_length` bytes.
    #[schemars(extend("pattern" = "\\S"))]
    content: String,
    /// The detectors to call, by name or id.
    #[schemars(length(min = 1))]
    detector_types: Vec<String>,
    #[serde(default)]
    processing_mode: V1Mode,
    #[serde(default)]
    policy_bundle: Option<String>,
    /// Call at most this many of them.
    #[serde(default)]
    #[schemars(range(min = 1))]
    max_detectors: Option<usize>,
    /// The budget of this request, in seconds (default: the SLA budget).
    #[serde(default)]
    #[schemars(extend("exclusiveMinimum" = 0), range(max = MAX_TIMEOUT_S))]
    timeout_seconds: Option<f64>,
}

/// `POST /api/v1/orchestrate`.
pub(crate) async fn orchestrate(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<JsonBody, ApiError>,
) -> Response {
    let arrived = Instant::now();
    let ids = ids_from(&headers);
    let response = match run(&state, &headers, body, &ids, arrived).await {
        Ok((status, body)) => reply(status, body, &ids),
        Err(rejection) => rejection.into_response(),
    };
    state.metrics.count_request(response.status().as_u16());
    response
}

/// A refusal, possibly with a `Retry-After`.
struct Rejection(ApiError, Option<Duration>);

impl From<ApiError> for Rejection {
    fn from(error: ApiError) -> Self {
        Self(error, None)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let mut response = self.0.into_response();
        if let Some(wait) = self.1 {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The tenant of `X-Tenant-ID` (400 without), when under its rate limit
/// (429 with the wait otherwise).
fn admit<'h>(
    state: &AppState,
    headers: &'h HeaderMap,
    arrived: Instant,
) -> Result<&'h str, Rejection> {
    let tenant = tenant_header(headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_tenant",
            "the `X-Tenant-ID` header is required",
        )
    })?;
    if let Err(wait) = state.limiter.check(tenant, arrived) {
        let error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("tenant `{tenant}` is over its rate limit"),
        );
        return Err(Rejection(error, Some(wait)));
    }
    Ok(tenant)
}

/// The v1 reply: 200 unless no detector succeeded (502), the outcome
/// wrapped as `{data, metadata}`.
fn wrap(outcome: &Outcome, req: &OrchestrateRequest, ids: &RequestIds, mode: &str) -> (u16, Value) {
    let status = if outcome.http_status() == 502 {
        502
    } else {
        200
    };
    let body = json!({
        "data": outcome.to_json(req, ids, "sync"),
        "metadata": {
            "api_version": "v1",
            "request_id": ids.request_id,
            "correlation_id": ids.correlation_id,
            "tenant_id": req.tenant_id,
            "processing_mode": mode,
            "timestamp": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        },
    });
    (status, body)
}

async fn run(
    state: &Arc<AppState>,
    headers: &HeaderMap,
    body: Result<JsonBody, ApiError>,
    ids: &RequestIds,
    arrived: Instant,
) -> Result<(u16, Value), Rejection> {
    let tenant = admit(state, headers, arrived)?;
    let JsonBody(value) = body?;
    let v1 = parse(value, state.settings.max_content_length)?;
    let mode = v1.processing_mode_name();
    let req = OrchestrateRequest {
        content: v1.content,
        content_type: ContentType::Text,
        tenant_id: tenant.to_owned(),
        policy_bundle: v1.policy_bundle,
        environment: None,
        processing_mode: Mode::Sync,
        priority: "normal".to_owned(),
        metadata: json!({"processing_mode": mode}),
        required_detectors: Some(v1.detector_types),
    };
    let mut selection = fanout::select(
        &state.settings.targets,
        None,
        req.required_detectors.as_deref(),
    );
    if let Some(max) = v1.max_detectors {
        selection.chosen.truncate(max);
    }
    if selection.chosen.is_empty() {
        return Err(no_detectors(&selection).into());
    }
    let budget = v1.timeout.unwrap_or(state.settings.sla_budget);
    let outcome = fanout::run(state, &req, ids, selection, arrived + budget).await;
    state.metrics.coverage.observe(outcome.coverage());
    Ok(wrap(&outcome, &req, ids, mode))
}

/// A validated v1 body.
#[derive(Debug)]
struct V1Request {
    content: String,
    detector_types: Vec<String>,
    processing_mode: V1Mode,
    policy_bundle: Option<String>,
    max_detectors: Option<usize>,
    timeout: Option<Duration>,
}

impl V1Request {
    fn processing_mode_name(&self) -> &'static str {
        match self.processing_mode {
            V1Mode::Standard => "standard",
            V1Mode::Fast => "fast",
            V1Mode::Thorough => "thorough",
            V1Mode::Comprehensive => "comprehensive",
        }
    }
}

fn parse(value: Value, max_len: usize) -> Result<V1Request, ApiError> {
    let body = deserialize(value)?;
    if body.content.trim().is_empty() {
        return Err(ApiError::field(
            "empty_content",
            "content",
            "`content` must not be empty",
        ));
    }
    if body.content.len() > max_len {
        let message = format!(
            "`content` is {} bytes; the limit is {max_len}",
            body.content.len()
        );
        return Err(ApiError::field("content_too_large", "content", message));
    }
    if body.detector_types.is_empty() {
        return Err(ApiError::field(
            "invalid_field",
            "detector_types",
            "`detector_types` must not be empty",
        ));
    }
    if body.max_detectors == Some(0) {
        return Err(ApiError::field(
            "invalid_field",
            "max_detectors",
            "`max_detectors` must be at least 1",
        ));
    }
    let timeout = timeout(body.timeout_seconds)?;
    Ok(V1Request {
        content: body.content,
        detector_types: body.detector_types,
        processing_mode: body.processing_mode,
        policy_bundle: body.policy_bundle,
        max_detectors: body.max_detectors,
        timeout,
    })
}

/// The strict body, or a 422: `unknown_field` for a field it does not
/// have, `invalid_body` for anything else.
fn deserialize(value: Value) -> Result<V1Body, ApiError> {
    serde_json::from_value(value).map_err(|e| {
        let message = e.to_string();
        let code = if message.starts_with("unknown field") {
            "unknown_field"
        } else {
            "invalid_body"
        };
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    })
}

/// `timeout_seconds`, when given, within (0, [`MAX_TIMEOUT_S`]].
fn timeout(seconds: Option<f64>) -> Result<Option<Duration>, ApiError> {
    match seconds {
        None => Ok(None),
        Some(s) if s > 0.0 && s <= MAX_TIMEOUT_S => Ok(Some(Duration::from_secs_f64(s))),
        Some(_) => {
            let message = format!("`timeout_seconds` must be in (0, {MAX_TIMEOUT_S}]");
            Err(ApiError::field("invalid_field", "timeout_seconds", message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: Value) -> &'static str {
        parse(body, 100).expect_err("invalid").code
    }

    #[test]
    fn a_strict_body_parses_with_defaults() {
        let req = parse(json!({"content": "hi", "detector_types": ["a"]}), 100).expect("valid");
        assert_eq!(req.processing_mode, V1Mode::Standard);
        assert_eq!(req.timeout, None);
    }

    #[test]
    fn v1_rejections_have_stable_codes() {
        assert_eq!(
            code(json!({"content": "hi", "detector_types": ["a"], "x": 1})),
            "unknown_field"
        );
        assert_eq!(code(json!({"content": "hi"})), "invalid_body");
        assert_eq!(
            code(json!({"content": "", "detector_types": ["a"]})),
            "empty_content"
        );
        assert_eq!(
            code(json!({"content": "hi", "detector_types": []})),
            "invalid_field"
        );
        assert_eq!(
            code(json!({"content": "hi", "detector_types": ["a"], "processing_mode": "sync"})),
            "invalid_body"
        );
        assert_eq!(
            code(json!({"content": "hi", "detector_types": ["a"], "timeout_seconds": 0})),
            "invalid_field"
        );
    }
}
