//! Parsing what orchestrators send: `{content, content_type?, metadata?}` with
//! the content type either at the top level (the seed's suite) or under
//! `metadata.content_features.content_type` (real orchestrators). Unknown
//! fields are ignored, as the contract asks.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::ApiError;

/// One detection request, as parsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DetectRequest {
    pub(crate) content: String,
    pub(crate) content_type: String,
    pub(crate) metadata: Value,
}

/// A native request's fields as sent, before they are checked.
#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "DetectRequest")
)]
pub(crate) struct RawRequest {
    /// The text to examine (not empty).
    #[cfg_attr(
        feature = "openapi",
        schemars(required, with = "String", length(min = 1))
    )]
    pub(crate) content: Option<Value>,
    /// `text` (the default), `code`, `document`, …; also read from
    /// `metadata.content_features.content_type`.
    pub(crate) content_type: Option<String>,
    /// Anything; `correlation_id` and `content_features.content_type` are read.
    #[serde(default)]
    pub(crate) metadata: Option<Map<String, Value>>,
}

fn invalid(code: &'static str, message: &str) -> ItemError {
    ItemError {
        code,
        message: message.to_owned(),
        content_type: None,
    }
}

/// Why one item could not be used.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ItemError {
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) content_type: Option<String>,
}

impl DetectRequest {
    /// Parses one request from an already-decoded JSON value (a batch item).
    pub(crate) fn from_value(value: Value) -> Result<Self, ItemError> {
        if !value.is_object() {
            return Err(invalid("invalid_request", "the body must be a JSON object"));
        }
        let raw: RawRequest = serde_json::from_value(value)
            .map_err(|e| invalid("invalid_request", &e.to_string()))?;
        Self::from_raw(raw)
    }

    /// Parses one request straight from its body: 400 for bytes that are
    /// not JSON, 422 for JSON of the wrong shape or content.
    pub(crate) fn from_body(bytes: &[u8], detector: &str) -> Result<Self, ApiError> {
        let raw: RawRequest = object_from_slice(bytes).map_err(|e| {
            if e.classify() == serde_json::error::Category::Data {
                unprocessable(invalid("invalid_request", &e.to_string()), detector)
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    format!("the body is not valid JSON: {e}"),
                    detector,
                )
            }
        })?;
        Self::from_raw(raw).map_err(|e| unprocessable(e, detector))
    }

    /// Checks the fields of one request.
    pub(crate) fn from_raw(raw: RawRequest) -> Result<Self, ItemError> {
        let metadata = Value::Object(raw.metadata.unwrap_or_default());
        let nested = metadata
            .get("content_features")
            .and_then(|features| features.get("content_type"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let content_type = raw.content_type.or(nested).unwrap_or_else(|| "text".into());
        let content = match raw.content {
            Some(Value::String(s)) if !s.is_empty() => s,
            Some(Value::String(_)) => {
                return Err(ItemError {
                    content_type: Some(content_type),
                    ..invalid("empty_content", "`content` must not be empty")
                });
            }
            Some(_) => {
                return Err(ItemError {
                    content_type: Some(content_type),
                    ..invalid("invalid_content", "`content` must be a string")
                });
            }
            None => {
                return Err(ItemError {
                    content_type: Some(content_type),
                    ..invalid("missing_content", "`content` is required")
                });
            }
        };
        Ok(Self {
            content,
            content_type,
            metadata,
        })
    }

    /// The correlation id carried in the body, if any.
    pub(crate) fn body_correlation_id(&self) -> Option<&str> {
        self.metadata.get("correlation_id").and_then(Value::as_str)
    }
}

/// Why an array is refused where a request object is expected.
pub(crate) const NOT_AN_OBJECT: &str = "the body must be a JSON object, not an array";

/// Whether `body` is a JSON array. serde's derived `Deserialize` also reads
/// a struct from an array, field by field in order (`["hi", "text", null]`
/// would pass for a request); every body mockdet reads is an object, as the
/// real services require, so the parsers refuse an array first.
pub(crate) fn is_array(body: &[u8]) -> bool {
    body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// Deserializes a request object from `body`, refusing an array as a data
/// error (a 4xx saying [`NOT_AN_OBJECT`]) before serde could read a struct
/// from it (see [`is_array`]). Every wire and the admin API read their
/// bodies through this.
pub(crate) fn object_from_slice<'a, T: Deserialize<'a>>(
    body: &'a [u8],
) -> Result<T, serde_json::Error> {
    if is_array(body) {
        return Err(serde::de::Error::custom(NOT_AN_OBJECT));
    }
    serde_json::from_slice(body)
}

/// Decodes a body as JSON, or the 400 a client sees.
pub(crate) fn decode_json(bytes: &[u8], detector: &str) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {e}"),
            detector,
        )
    })
}

/// Turns an item error into the 422 of a single request.
pub(crate) fn unprocessable(error: ItemError, detector: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        error.code,
        error.message,
        detector,
    )
}

/// The items of a batch body: the seed's bare array or `{"items": [...]}`.
pub(crate) fn batch_items(value: Value, detector: &str) -> Result<Vec<Value>, ApiError> {
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut map) => match map.remove("items") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_batch",
                    "a batch is a JSON array of requests or {\"items\": [...]}",
                    detector,
                ));
            }
        },
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_batch",
                "a batch is a JSON array of requests or {\"items\": [...]}",
                detector,
            ));
        }
    };
    if items.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty_batch",
            "a batch needs at least one item",
            detector,
        ));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn content_type_comes_from_the_top_or_from_content_features() {
        let top = DetectRequest::from_value(json!({"content": "x", "content_type": "code"}));
        assert_eq!(top.unwrap().content_type, "code");
        let nested = DetectRequest::from_value(json!({
            "content": "x",
            "metadata": {"content_features": {"content_type": "document"}, "tenant_id": "t"},
            "unknown": 1
        }));
        assert_eq!(nested.unwrap().content_type, "document");
        let default = DetectRequest::from_value(json!({"content": "x"}));
        assert_eq!(default.unwrap().content_type, "text");
    }

    #[test]
    fn missing_empty_and_non_string_content_have_their_codes() {
        let code = |v| DetectRequest::from_value(v).unwrap_err().code;
        assert_eq!(code(json!({})), "missing_content");
        assert_eq!(code(json!({"content": ""})), "empty_content");
        assert_eq!(code(json!({"content": 3})), "invalid_content");
        assert_eq!(code(json!([1])), "invalid_request");
        assert_eq!(
            code(json!({"content": "x", "metadata": 5})),
            "invalid_request"
        );
    }

    #[test]
    fn an_array_is_no_request_even_of_the_right_length() {
        assert!(is_array(b" \n[\"x\", \"text\", null]"));
        assert!(!is_array(b"{\"content\": \"x\"}") && !is_array(b"") && !is_array(b"\"[\""));
        let refused = DetectRequest::from_body(br#"["x", "text", null]"#, "d").unwrap_err();
        assert_eq!(
            (refused.status.as_u16(), refused.code),
            (422, "invalid_request")
        );
    }

    #[test]
    fn batches_come_as_arrays_or_items() {
        assert_eq!(
            batch_items(json!([{"content": "a"}]), "d").unwrap().len(),
            1
        );
        assert_eq!(
            batch_items(json!({"items": [{}, {}]}), "d").unwrap().len(),
            2
        );
        assert_eq!(batch_items(json!([]), "d").unwrap_err().code, "empty_batch");
        assert_eq!(
            batch_items(json!({"x": 1}), "d").unwrap_err().code,
            "invalid_batch"
        );
    }
}
