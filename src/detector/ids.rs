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
/// when none came (the common case costs the journal one pointer). A
/// detector keeps them through its [`LastKept`]; this is what that must
/// equal.
#[cfg(test)]
pub(crate) fn kept_headers(headers: &HeaderMap) -> Option<Arc<StoredHeaders>> {
    Sent::of(headers).kept()
}

/// The kept headers as sent.
struct Sent<'h>([Option<&'h HeaderValue>; 3]);

impl<'h> Sent<'h> {
    fn of(headers: &'h HeaderMap) -> Self {
        Self([DETECTOR_ID, X_MODEL_NAME, TRACEPARENT].map(|name| header(headers, &name)))
    }

    fn kept(&self) -> Option<Arc<StoredHeaders>> {
        let text = |value: Option<&HeaderValue>| {
            value.map(|v| Box::from(String::from_utf8_lossy(v.as_bytes()).as_ref()))
        };
        let [detector_id, model_name, traceparent] = self.0;
        let kept = StoredHeaders {
            detector_id: text(detector_id),
            model_name: text(model_name),
            traceparent: text(traceparent),
        };
        (kept != StoredHeaders::default()).then(|| Arc::new(kept))
    }

    /// Whether `kept` holds exactly these values.
    fn are(&self, kept: &StoredHeaders) -> bool {
        let fields = [&kept.detector_id, &kept.model_name, &kept.traceparent];
        self.0.iter().zip(fields).all(|(sent, kept)| {
            sent.map(HeaderValue::as_bytes) == kept.as_deref().map(str::as_bytes)
        })
    }
}

/// One detector's last kept headers, shared by the requests that send the
/// same ones: an FMS orchestrator sends a detector the same `detector-id`
/// (and model name) on every request, which would otherwise cost two
/// allocations each time. A `traceparent`, new on every call, is kept anew.
#[derive(Debug, Default)]
pub(crate) struct LastKept(std::sync::Mutex<Option<Arc<StoredHeaders>>>);

impl LastKept {
    /// The headers the journal keeps besides the ids — the FMS
    /// orchestrator's `detector-id` and `x-model-name`, and a W3C
    /// `traceparent` — or `None` when none came (the common case costs the
    /// journal one pointer); the last ones again when they are the same.
    pub(crate) fn of(&self, headers: &HeaderMap) -> Option<Arc<StoredHeaders>> {
        let sent = Sent::of(headers);
        if sent.0.iter().all(Option::is_none) {
            return None;
        }
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(kept) = last.as_ref().filter(|kept| sent.are(kept)) {
            return Some(kept.clone());
        }
        let kept = sent.kept();
        last.clone_from(&kept);
        kept
    }
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
    fn the_same_kept_headers_are_shared_and_others_kept_anew() {
        let last = LastKept::default();
        let fms = headers(&[("detector-id", "pii-v1"), ("x-model-name", "m")]);
        let first = last.of(&fms).unwrap();
        let again = last.of(&fms).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(Some(first.clone()), kept_headers(&fms));

        for other in [
            headers(&[("detector-id", "pii-v2"), ("x-model-name", "m")]),
            headers(&[("detector-id", "pii-v1")]),
            headers(&[
                ("detector-id", "pii-v1"),
                ("x-model-name", "m"),
                ("traceparent", "t"),
            ]),
        ] {
            let kept = last.of(&other).unwrap();
            assert!(!Arc::ptr_eq(&first, &kept));
            assert_eq!(Some(kept), kept_headers(&other));
        }
        assert_eq!(last.of(&HeaderMap::new()), None);
        // Bytes that are not UTF-8 are kept lossily; whatever is reused
        // is what would have been kept.
        let odd =
            HeaderMap::from_iter([(DETECTOR_ID, HeaderValue::from_bytes(b"id-\xff").unwrap())]);
        let lossy = last.of(&odd).unwrap();
        assert_eq!(lossy.detector_id.as_deref(), Some("id-\u{fffd}"));
        let replaced =
            HeaderMap::from_iter([(DETECTOR_ID, HeaderValue::from_str("id-\u{fffd}").unwrap())]);
        assert_eq!(last.of(&replaced), kept_headers(&replaced));
        assert_eq!(last.of(&odd), Some(lossy));
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
