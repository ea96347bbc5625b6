//! Rejections a client can see: always JSON with a stable `code`, never
//! axum's plain-text defaults — in mockdet's own shape
//! `{"error": {"code", "message"}, "detector"}` unless the request belongs to
//! another protocol, whose clients get that protocol's error shape (see
//! [`errors`](super::protocols::errors)).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::protocols::errors;
use crate::profile::Protocol;

/// A request the detector refuses (bad input, not an injected fault).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) detector: String,
    /// The protocol whose error shape the client expects; `None` until the
    /// pipeline knows (then the endpoint's protocol), native by default.
    pub(crate) protocol: Option<Protocol>,
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
            protocol: None,
        }
    }

    /// The same error, written in `protocol`'s shape.
    pub(crate) fn in_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Writes it in `protocol`'s shape unless a shape was already chosen.
    pub(crate) fn or_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol.get_or_insert(protocol);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let protocol = self.protocol.unwrap_or(Protocol::Native);
        errors::refusal(protocol, &self)
    }
}
