//! Rejections a client can see: always JSON
//! `{"error": {"code", "message"}, "detector"}` with a stable `code`, never
//! axum's plain-text defaults.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A request the detector refuses (bad input, not an injected fault).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) detector: String,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        detector: &str,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            detector: detector.to_owned(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {"code": self.code, "message": self.message},
            "detector": self.detector,
        });
        (self.status, Json(body)).into_response()
    }
}
