//! How each protocol writes an error, for refusals (bad input) and for
//! injected HTTP faults alike, so a client's own error handling sees the
//! shape it was written for:
//!
//! | protocol | body |
//! |---|---|
//! | native | `{"error": {"code", "message"}, "detector"}` |
//! | fms | `{"code": <HTTP status>, "message"}` |
//! | openai | `{"error": {"message", "type", "param", "code"}}` |
//! | azure | `{"error": {"code", "message", "details": [], "innererror": {"code"}}}` |
//! | presidio | `{"error": "<message>"}` |
//! | litellm | `{"error": {"code", "message"}, "detector"}` (any non-2xx is a guardrail error) |
//!
//! OpenAI's 429 and 5xx also carry the headers its clients act on:
//! `retry-after`, `retry-after-ms` and `x-ratelimit-*`.

use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::response::Identity;
use crate::profile::Protocol;

/// What one error says, whatever its shape.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorText<'a> {
    pub(crate) status: StatusCode,
    /// mockdet's stable code (`invalid_json`, `injected_fault`, …).
    pub(crate) code: &'a str,
    pub(crate) message: &'a str,
    pub(crate) detector: &'a str,
}

/// The body of an error in `protocol`'s shape.
pub(crate) fn body(protocol: Protocol, e: ErrorText<'_>) -> Bytes {
    let value = match protocol {
        Protocol::Native | Protocol::Litellm => json!({
            "error": {"code": e.code, "message": e.message},
            "detector": e.detector,
        }),
        Protocol::Fms => json!({"code": e.status.as_u16(), "message": e.message}),
        Protocol::Openai => json!({
            "error": {
                "message": e.message,
                "type": openai_type(e.status),
                "param": Value::Null,
                "code": openai_code(e.status, e.code),
            }
        }),
        Protocol::Azure => json!({
            "error": {
                "code": azure_code(e.status),
                "message": e.message,
                "details": [],
                "innererror": {"code": e.code},
            }
        }),
        Protocol::Presidio => json!({"error": e.message}),
    };
    Bytes::from(serde_json::to_vec(&value).unwrap_or_default())
}

/// A refusal as a response in `protocol`'s shape.
pub(crate) fn refusal(protocol: Protocol, e: &ApiError) -> Response {
    let text = ErrorText {
        status: e.status,
        code: e.code,
        message: &e.message,
        detector: &e.detector,
    };
    json(e.status, body(protocol, text))
}

/// The body of an injected HTTP error.
pub(crate) fn injected(protocol: Protocol, id: &Identity, status: u16) -> Bytes {
    let message = format!("mockdet injected HTTP {status} (profile `{}`)", id.name);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = ErrorText {
        status,
        code: "injected_fault",
        message: &message,
        detector: &id.detector_id,
    };
    body(protocol, text)
}

/// The headers an injected error carries besides `content-type`:
/// `retry-after` when the fault sets one; for OpenAI's 429 always (1 s by
/// default), with `retry-after-ms` and the `x-ratelimit-*` set its clients
/// read.
pub(crate) fn injected_headers(
    protocol: Protocol,
    status: u16,
    retry_after_s: Option<u32>,
) -> Vec<(HeaderName, HeaderValue)> {
    let rate_limited = protocol == Protocol::Openai && status == 429;
    let retry_after = retry_after_s.or(rate_limited.then_some(1));
    let mut headers = Vec::new();
    if let Some(seconds) = retry_after {
        headers.push((header::RETRY_AFTER, HeaderValue::from(seconds)));
    }
    if protocol == Protocol::Openai && (rate_limited || status >= 500) {
        if let Some(seconds) = retry_after {
            let ms = u64::from(seconds) * 1000;
            headers.push((
                HeaderName::from_static("retry-after-ms"),
                HeaderValue::from(ms),
            ));
        }
        let reset = HeaderValue::from_str(&format!("{}s", retry_after.unwrap_or(1)))
            .unwrap_or(HeaderValue::from_static("1s"));
        let remaining = if rate_limited { 0 } else { 59 };
        for (name, value) in [
            ("x-ratelimit-limit-requests", HeaderValue::from(60)),
            (
                "x-ratelimit-remaining-requests",
                HeaderValue::from(remaining),
            ),
            ("x-ratelimit-reset-requests", reset.clone()),
            ("x-ratelimit-limit-tokens", HeaderValue::from(150_000)),
            ("x-ratelimit-remaining-tokens", HeaderValue::from(150_000)),
            ("x-ratelimit-reset-tokens", HeaderValue::from_static("0s")),
        ] {
            headers.push((HeaderName::from_static(name), value));
        }
    }
    headers
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn openai_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        429 => "requests",
        500.. => "server_error",
        _ => "invalid_request_error",
    }
}

fn openai_code(status: StatusCode, code: &str) -> &str {
    match status.as_u16() {
        401 => "invalid_api_key",
        429 => "rate_limit_exceeded",
        _ => code,
    }
}

/// The error codes Azure AI Content Safety documents for each status.
fn azure_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 | 422 => "InvalidRequestBody",
        // What Azure's API gateway answers for a bad subscription key.
        401 => "401",
        403 => "Forbidden",
        404 => "ResourceNotFound",
        408 => "RequestTimeout",
        429 => "TooManyRequests",
        503 => "ServerBusy",
        504 => "GatewayTimeout",
        500.. => "InternalError",
        _ => "InvalidRequestBody",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(status: u16) -> ErrorText<'static> {
        ErrorText {
            status: StatusCode::from_u16(status).unwrap(),
            code: "invalid_json",
            message: "bad ✓",
            detector: "d",
        }
    }

    fn parsed(protocol: Protocol, status: u16) -> Value {
        serde_json::from_slice(&body(protocol, text(status))).unwrap()
    }

    #[test]
    fn every_protocol_writes_its_own_shape() {
        assert_eq!(
            parsed(Protocol::Native, 400),
            json!({"error": {"code": "invalid_json", "message": "bad ✓"}, "detector": "d"})
        );
        assert_eq!(
            parsed(Protocol::Fms, 422),
            json!({"code": 422, "message": "bad ✓"})
        );
        assert_eq!(
            parsed(Protocol::Openai, 400),
            json!({"error": {"message": "bad ✓", "type": "invalid_request_error", "param": null, "code": "invalid_json"}})
        );
        assert_eq!(parsed(Protocol::Openai, 429)["error"]["type"], "requests");
        assert_eq!(
            parsed(Protocol::Openai, 429)["error"]["code"],
            "rate_limit_exceeded"
        );
        assert_eq!(
            parsed(Protocol::Openai, 503)["error"]["type"],
            "server_error"
        );
        let azure = parsed(Protocol::Azure, 400);
        assert_eq!(azure["error"]["code"], "InvalidRequestBody");
        assert_eq!(azure["error"]["innererror"]["code"], "invalid_json");
        assert_eq!(parsed(Protocol::Azure, 503)["error"]["code"], "ServerBusy");
        assert_eq!(parsed(Protocol::Presidio, 400), json!({"error": "bad ✓"}));
    }

    #[test]
    fn openai_rate_limits_carry_what_its_clients_read() {
        let headers = injected_headers(Protocol::Openai, 429, None);
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.to_str().unwrap().to_owned())
        };
        assert_eq!(get("retry-after").as_deref(), Some("1"));
        assert_eq!(get("retry-after-ms").as_deref(), Some("1000"));
        assert_eq!(get("x-ratelimit-remaining-requests").as_deref(), Some("0"));
        assert_eq!(get("x-ratelimit-reset-requests").as_deref(), Some("1s"));
        let configured = injected_headers(Protocol::Openai, 429, Some(7));
        assert!(
            configured
                .iter()
                .any(|(n, v)| n == "retry-after" && v == "7")
        );
        // Other protocols: only what the fault sets.
        assert!(injected_headers(Protocol::Fms, 429, None).is_empty());
        assert_eq!(injected_headers(Protocol::Azure, 503, Some(2)).len(), 1);
    }
}
