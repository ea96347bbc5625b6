//! Reading and validating what clients send to `/orchestrate`: a JSON body
//! extractor whose rejections are JSON (400 `invalid_json`, 413
//! `body_too_large`), and field-by-field validation into an
//! [`OrchestrateRequest`] with a 422 naming the field otherwise.

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};

use super::config::ContentType;
use super::error::ApiError;

/// Largest request body read, whatever the route (a full batch of
/// maximum-size contents fits many times over).
pub(crate) const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// A request body parsed as JSON (any value; validation comes after).
#[derive(Debug)]
pub(crate) struct JsonBody(pub(crate) Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        // The Content-Type header is not checked: clients of the seed's
        // orchestrator do not all send it, and the body says what it is.
        let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("the body is larger than {BODY_LIMIT} bytes"),
                )
            })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("the body is not JSON: {e}"),
            )
        })
    }
}

/// `sync` (answer when done or at the SLA budget) or `async` (202 + job).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Mode {
    Sync,
    Async,
}

/// A validated orchestration request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrchestrateRequest {
    pub(crate) content: String,
    pub(crate) content_type: ContentType,
    pub(crate) tenant_id: String,
    pub(crate) policy_bundle: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) processing_mode: Mode,
    pub(crate) priority: String,
    pub(crate) metadata: Value,
    pub(crate) required_detectors: Option<Vec<String>>,
}

pub(crate) const PRIORITIES: [&str; 3] = ["normal", "high", "critical"];

/// Validates one request body; `header_tenant` is `X-Tenant-ID`, used when
/// the body has no `tenant_id`.
pub(crate) fn parse(
    value: &Value,
    header_tenant: Option<&str>,
    max_len: usize,
) -> Result<OrchestrateRequest, ApiError> {
    let Value::Object(body) = value else {
        return Err(ApiError::field(
            "invalid_body",
            "",
            "the body must be a JSON object",
        ));
    };
    let content = content(body, max_len)?;
    let content_type = content_type(body)?;
    let tenant_id = optional_str(body, "tenant_id")?
        .or(header_tenant)
        .unwrap_or("default")
        .to_owned();
    let processing_mode = processing_mode(body)?;
    let priority = priority(body)?;
    Ok(OrchestrateRequest {
        content: content.to_owned(),
        content_type,
        tenant_id,
        policy_bundle: optional_str(body, "policy_bundle")?.map(str::to_owned),
        environment: optional_str(body, "environment")?.map(str::to_owned),
        processing_mode,
        priority: priority.to_owned(),
        metadata: metadata(body)?,
        required_detectors: required_detectors(body)?,
    })
}

/// `content`: present, not blank, at most `max_len` bytes.
fn content(body: &Map<String, Value>, max_len: usize) -> Result<&str, ApiError> {
    let content = required_str(body, "content")?;
    if content.trim().is_empty() {
        return Err(ApiError::field(
            "empty_content",
            "content",
            "`content` must not be empty",
        ));
    }
    if content.len() > max_len {
        return Err(ApiError::field(
            "content_too_large",
            "content",
            format!(
                "`content` is {} bytes; the limit is {max_len}",
                content.len()
            ),
        ));
    }
    Ok(content)
}

/// `content_type`: required, one of text, code or document.
fn content_type(body: &Map<String, Value>) -> Result<ContentType, ApiError> {
    let type_name = required_str(body, "content_type")?;
    ContentType::parse(type_name).ok_or_else(|| {
        ApiError::field(
            "invalid_content_type",
            "content_type",
            format!("`content_type` must be text, code or document, not {type_name:?}"),
        )
    })
}

/// `processing_mode`: `sync` (the default) or `async`.
fn processing_mode(body: &Map<String, Value>) -> Result<Mode, ApiError> {
    match optional_str(body, "processing_mode")? {
        None | Some("sync") => Ok(Mode::Sync),
        Some("async") => Ok(Mode::Async),
        Some(other) => Err(one_of("processing_mode", other, &["sync", "async"])),
    }
}

/// `priority`: one of [`PRIORITIES`], `normal` by default.
fn priority(body: &Map<String, Value>) -> Result<&str, ApiError> {
    let priority = optional_str(body, "priority")?.unwrap_or("normal");
    if !PRIORITIES.contains(&priority) {
        return Err(one_of("priority", priority, &PRIORITIES));
    }
    Ok(priority)
}

fn required_str<'a>(body: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    optional_str(body, field)?
        .ok_or_else(|| ApiError::field("missing_field", field, format!("`{field}` is required")))
}

fn optional_str<'a>(
    body: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, ApiError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::field(
            "invalid_field",
            field,
            format!("`{field}` must be a string"),
        )),
    }
}

fn one_of(field: &str, got: &str, allowed: &[&str]) -> ApiError {
    ApiError::field(
        "invalid_field",
        field,
        format!(
            "`{field}` must be one of {}, not {got:?}",
            allowed.join(", ")
        ),
    )
}

fn metadata(body: &Map<String, Value>) -> Result<Value, ApiError> {
    match body.get("metadata") {
        None | Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(object @ Value::Object(_)) => Ok(object.clone()),
        Some(_) => Err(ApiError::field(
            "invalid_field",
            "metadata",
            "`metadata` must be an object",
        )),
    }
}

fn required_detectors(body: &Map<String, Value>) -> Result<Option<Vec<String>>, ApiError> {
    let invalid = || {
        ApiError::field(
            "invalid_field",
            "required_detectors",
            "`required_detectors` must be a list of detector names",
        )
    };
    match body.get("required_detectors") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.is_empty() => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(invalid))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(body: Value) -> OrchestrateRequest {
        parse(&body, Some("hdr"), 10).expect("valid")
    }

    fn code(body: Value) -> (&'static str, Option<String>) {
        let err = parse(&body, None, 10).expect_err("invalid");
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        (err.code, err.field)
    }

    #[test]
    fn a_minimal_request_gets_defaults() {
        let req = ok(json!({"content": "hi", "content_type": "code"}));
        assert_eq!(req.content_type, ContentType::Code);
        assert_eq!(req.tenant_id, "hdr");
        assert_eq!(req.processing_mode, Mode::Sync);
        assert_eq!(req.priority, "normal");
        assert_eq!(req.required_detectors, None);
    }

    #[test]
    fn the_body_tenant_wins_over_the_header() {
        let req = ok(
            json!({"content": "hi", "content_type": "text", "tenant_id": "t1",
            "processing_mode": "async", "required_detectors": ["a"], "unknown": 1}),
        );
        assert_eq!(req.tenant_id, "t1");
        assert_eq!(req.processing_mode, Mode::Async);
        assert_eq!(req.required_detectors, Some(vec!["a".to_owned()]));
    }

    #[test]
    fn malformed_requests_name_the_field() {
        let field = |s: &str| Some(s.to_owned());
        let table = [
            (
                json!({"content_type": "text"}),
                ("missing_field", field("content")),
            ),
            (
                json!({"content": "", "content_type": "text"}),
                ("empty_content", field("content")),
            ),
            (
                json!({"content": "  ", "content_type": "text"}),
                ("empty_content", field("content")),
            ),
            (
                json!({"content": 5, "content_type": "text"}),
                ("invalid_field", field("content")),
            ),
            (
                json!({"content": "x".repeat(11), "content_type": "text"}),
                ("content_too_large", field("content")),
            ),
            (
                json!({"content": "hi"}),
                ("missing_field", field("content_type")),
            ),
            (
                json!({"content": "hi", "content_type": "image"}),
                ("invalid_content_type", field("content_type")),
            ),
            (
                json!({"content": "hi", "content_type": "text", "processing_mode": "later"}),
                ("invalid_field", field("processing_mode")),
            ),
            (
                json!({"content": "hi", "content_type": "text", "priority": "urgent"}),
                ("invalid_field", field("priority")),
            ),
            (
                json!({"content": "hi", "content_type": "text", "metadata": []}),
                ("invalid_field", field("metadata")),
            ),
            (
                json!({"content": "hi", "content_type": "text", "required_detectors": [1]}),
                ("invalid_field", field("required_detectors")),
            ),
            (json!(["not", "an", "object"]), ("invalid_body", field(""))),
        ];
        for (body, expected) in table {
            assert_eq!(code(body.clone()), expected, "{body}");
        }
    }
}
