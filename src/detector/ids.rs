//! The ids a detection request carries, read in one place under one rule:
//!
//! - **correlation id**: the `X-Correlation-ID` header; else, for a single
//!   request, the body's `metadata.correlation_id` (what orchestrators that
//!   put it in the payload send); else none.
//! - **request id**: the `X-Request-ID` header; else `{detector_id}-{seq}`,
//!   made up by the detector.
//!
//! Every answer echoes the correlation id it resolved (header or body) as
//! `X-Correlation-ID`, and `X-Request-ID` when the caller sent one; the
//! journal records the same correlation id, and the answer body carries
//! both. Non-detection answers (`/health`, `/admin/*`, errors from the
//! router) echo the headers the same way.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue};

use crate::control::journal::StoredHeaders;
use crate::sampling::header;

/// `X-Correlation-ID`.
pub(crate) const X_CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
/// `X-Request-ID`.
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A request's resolved ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestIds {
    /// The request id: the caller's, or one made up from the sequence number.
    pub(crate) request_id: String,
    /// Whether `request_id` came from the caller's `X-Request-ID`.
    pub(crate) request_id_sent: bool,
    /// The correlation id, from the header or the body.
    pub(crate) correlation_id: Option<String>,
}

impl RequestIds {
    /// The ids in `headers`; `made_up` names the request when no
    /// `X-Request-ID` came (only called then).
    pub(crate) fn from_headers(headers: &HeaderMap, made_up: impl FnOnce() -> String) -> Self {
        let text = |name: &HeaderName| {
            header(headers, name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let sent = text(&X_REQUEST_ID);
        Self {
            request_id_sent: sent.is_some(),
            request_id: sent.unwrap_or_else(made_up),
            correlation_id: text(&X_CORRELATION_ID),
        }
    }

    /// Takes the body's correlation id where the header carried none.
    pub(crate) fn adopt_body_correlation(&mut self, from_body: Option<&str>) {
        if self.correlation_id.is_none() {
            self.correlation_id = from_body.map(str::to_owned);
        }
    }

    /// The id headers an answer carries: the correlation id, and the
    /// request id when the caller sent one. An id that is not a valid header
    /// value — possible only for one taken from a body — is left out rather
    /// than mangled (or allowed to split a raw answer's head).
    pub(crate) fn headers(&self) -> impl Iterator<Item = (HeaderName, HeaderValue)> {
        let correlation = self
            .correlation_id
            .as_deref()
            .map(|id| (X_CORRELATION_ID, id));
        let request = self
            .request_id_sent
            .then_some((X_REQUEST_ID, self.request_id.as_str()));
        correlation
            .into_iter()
            .chain(request)
            .filter_map(|(name, id)| Some((name, HeaderValue::from_str(id).ok()?)))
    }

    /// Writes [`headers`](Self::headers) onto an answer.
    pub(crate) fn echo(&self, headers: &mut HeaderMap) {
        for (name, value) in self.headers() {
            headers.insert(name, value);
        }
    }
}

/// `detector-id`, sent by the FMS orchestrator.
pub(crate) const DETECTOR_ID: HeaderName = HeaderName::from_static("detector-id");
/// `x-model-name`, sent by the FMS orchestrator.
const X_MODEL_NAME: HeaderName = HeaderName::from_static("x-model-name");
/// `traceparent` (W3C trace context).
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// The headers the journal keeps besides the ids — the FMS orchestrator's
/// `detector-id` and `x-model-name`, and a W3C `traceparent` — or `None`
/// when none came (the common case costs the journal one pointer).
pub(crate) fn kept_headers(headers: &HeaderMap) -> Option<Arc<StoredHeaders>> {
    let text = |name: HeaderName| {
        header(headers, &name).map(|v| Box::from(String::from_utf8_lossy(v.as_bytes()).as_ref()))
    };
    let kept = StoredHeaders {
        detector_id: text(DETECTOR_ID),
        model_name: text(X_MODEL_NAME),
        traceparent: text(TRACEPARENT),
    };
    (kept != StoredHeaders::default()).then(|| Arc::new(kept))
}

/// The id headers a caller sent, kept to copy onto an answer that did not
/// resolve ids itself (everything but detection requests).
#[derive(Debug, Default)]
pub(crate) struct SentIds([Option<HeaderValue>; 2]);

impl SentIds {
    /// The caller's `X-Correlation-ID` and `X-Request-ID`, as sent.
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        Self([X_CORRELATION_ID, X_REQUEST_ID].map(|name| header(headers, &name).cloned()))
    }

    /// Copies them onto `answer`, keeping ids the answer already carries.
    pub(crate) fn echo(self, answer: &mut HeaderMap) {
        let [correlation, request] = self.0;
        for (name, value) in [(X_CORRELATION_ID, correlation), (X_REQUEST_ID, request)] {
            if let Some(value) = value {
                if !answer.contains_key(&name) {
                    answer.insert(name, value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn headers_win_over_the_body_and_the_made_up_id() {
        let mut ids = RequestIds::from_headers(
            &headers(&[("x-correlation-id", "c-1"), ("x-request-id", "r-1")]),
            || unreachable!("a request id was sent"),
        );
        ids.adopt_body_correlation(Some("from-body"));
        assert_eq!(ids.correlation_id.as_deref(), Some("c-1"));
        assert_eq!(ids.request_id, "r-1");
        assert!(ids.request_id_sent);
    }

    #[test]
    fn a_body_only_correlation_id_reaches_the_answer_headers() {
        let mut ids = RequestIds::from_headers(&HeaderMap::new(), || "det-7".into());
        ids.adopt_body_correlation(Some("only-in-body"));
        let mut answer = HeaderMap::new();
        ids.echo(&mut answer);
        assert_eq!(answer[X_CORRELATION_ID], "only-in-body");
        // A made-up request id is in the body, not echoed as if sent.
        assert!(!answer.contains_key(X_REQUEST_ID));
        assert_eq!(ids.request_id, "det-7");
    }

    #[test]
    fn an_id_that_is_no_header_value_is_left_out() {
        let mut ids = RequestIds::from_headers(&HeaderMap::new(), || "d-1".into());
        ids.adopt_body_correlation(Some("line\nbreak"));
        let mut answer = HeaderMap::new();
        ids.echo(&mut answer);
        assert!(answer.is_empty());
    }

    #[test]
    fn fms_and_trace_headers_are_kept_only_when_sent() {
        assert_eq!(kept_headers(&HeaderMap::new()), None);
        let sent = kept_headers(&headers(&[
            ("detector-id", "pii-v1"),
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        ]))
        .unwrap();
        assert_eq!(sent.detector_id.as_deref(), Some("pii-v1"));
        assert_eq!(sent.model_name, None);
        assert!(sent.traceparent.as_deref().unwrap().starts_with("00-4bf9"));
    }

    #[test]
    fn echo_headers_keeps_what_the_answer_already_says() {
        let from = headers(&[("x-correlation-id", "sent"), ("x-request-id", "r")]);
        let mut to = headers(&[("x-correlation-id", "resolved")]);
        SentIds::of(&from).echo(&mut to);
        assert_eq!(to[X_CORRELATION_ID], "resolved");
        assert_eq!(to[X_REQUEST_ID], "r");
    }
}
