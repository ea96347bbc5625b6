//! Answer bodies: the success body (written by `success`), batch
//! envelopes and items, injected errors and the deliberately broken bodies.

use std::cell::Cell;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::memo::FindingsMemo;
use super::request::{DetectRequest, ItemError};
use super::success;

/// Who is answering: the fixed part of every body.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) name: String,
    pub(crate) detector_id: String,
    pub(crate) detector_type: String,
    pub(crate) version: String,
    pub(crate) capabilities: Vec<String>,
    /// The findings of the rules `capabilities` enable, remembered per content.
    pub(crate) findings: Arc<FindingsMemo>,
    pub(crate) content_types: Vec<String>,
    /// The success body's parts fixed by the above, escaped once.
    pub(crate) fragments: success::BodyFragments,
}

/// What varies per answered item.
#[derive(Debug, Clone)]
pub(crate) struct AnswerContext<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) seq: u64,
    pub(crate) correlation_id: Option<&'a str>,
    pub(crate) delay_ms: f64,
}

/// An RFC 3339 UTC timestamp with milliseconds.
pub(crate) fn timestamp() -> String {
    timestamp_of(SystemTime::now())
}

/// [`timestamp()`] as a JSON string, written straight into `out`.
pub(crate) fn write_timestamp(out: &mut Vec<u8>) {
    write_timestamp_of(out, SystemTime::now());
}

/// The last second of RFC 3339 text (up to the end of `9999-12-31`).
const LAST_SECOND: u64 = 253_402_300_799;

/// `at` as [`timestamp_of`] writes it, as a JSON string (digits, `-`, `:`,
/// `.`, `T` and `Z`: nothing to escape). Each thread keeps the text of the
/// last second it wrote, so the calendar is worked out once a second, not
/// once an answer. A clock before 1970 or after 9999 writes the nearest
/// time RFC 3339 can say.
fn write_timestamp_of(out: &mut Vec<u8>, at: SystemTime) {
    thread_local! {
        /// A second since the epoch and its `YYYY-MM-DDTHH:MM:SS`.
        static SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
    }
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (secs, millis) = match since.as_secs() {
        secs @ 0..=LAST_SECOND => (secs, since.subsec_millis()),
        _ => (LAST_SECOND, 999),
    };
    let (cached, mut text) = SECOND.get();
    if cached != secs {
        let second = UNIX_EPOCH + Duration::from_secs(secs);
        let mut full = Vec::with_capacity(20);
        let _ = write!(full, "{}", humantime::format_rfc3339_seconds(second));
        text.copy_from_slice(&full[..19]);
        SECOND.set((secs, text));
    }
    out.push(b'"');
    out.extend_from_slice(&text);
    // Below 1000, so each digit fits a `u8`.
    let digit = |n: u32| b'0' + (n % 10) as u8;
    out.push(b'.');
    out.extend_from_slice(&[digit(millis / 100), digit(millis / 10), digit(millis)]);
    out.extend_from_slice(b"Z\"");
}

/// `at` as an RFC 3339 UTC timestamp with milliseconds.
pub(crate) fn timestamp_of(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// The success body for one request: findings from the profile's rules,
/// written by [`success::write`].
pub(crate) fn success_bytes(id: &Identity, req: &DetectRequest, ctx: &AnswerContext<'_>) -> Bytes {
    Bytes::from(success_body(id, req, ctx, ctx.request_id, None))
}

/// Writes the success body of `req` (its findings remembered or scanned
/// now) under
/// `request_id`, with `"status"` when given (batch items).
fn success_body(
    id: &Identity,
    req: &DetectRequest,
    ctx: &AnswerContext<'_>,
    request_id: &str,
    status: Option<&'static str>,
) -> Vec<u8> {
    let rendered = id.findings.rendered(&req.content);
    // A success body is about 700 bytes: one allocation, no regrowth.
    let mut out = Vec::with_capacity(1024);
    let answer = success::Answer {
        findings: &rendered,
        req,
        ctx,
        request_id,
        status,
    };
    success::write(&mut out, &id.fragments, &answer);
    out
}

/// Serialises a body (typed bodies and `Value`s cannot fail: string keys),
/// starting from serde_json's own 128-byte buffer.
pub(crate) fn to_bytes<T: Serialize>(body: &T) -> Bytes {
    to_bytes_within(body, 128)
}

/// [`to_bytes`] into a buffer of `capacity` bytes to start with: a body
/// about that long is written without growing it (the buffer doubles when
/// it is full).
pub(crate) fn to_bytes_within<T: Serialize>(body: &T, capacity: usize) -> Bytes {
    let mut out = Vec::with_capacity(capacity);
    match serde_json::to_writer(&mut out, body) {
        Ok(()) => Bytes::from(out),
        Err(_) => Bytes::new(),
    }
}

/// A 200 body that is valid JSON but lacks every required result field.
pub(crate) fn schema_invalid_body(id: &Identity, request_id: &str) -> Value {
    json!({
        "detector": id.detector_id,
        "request_id": request_id,
        "status": "ok",
        "result": null,
    })
}

/// A 200 body that is not JSON: a result cut off mid-way.
pub(crate) fn malformed_body(id: &Identity) -> String {
    format!(
        "{{\"detector_id\": \"{}\", \"confidence\": 0.93, \"findings\": [{{\"category\": ",
        id.detector_id
    )
}

/// One item of a batch answer, in request order.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub(crate) enum BatchItem {
    /// A success body plus `"status": "success"`, already written.
    Success(
        #[cfg_attr(
            feature = "openapi",
            schemars(with = "super::openapi::models::BatchItemSuccess")
        )]
        Box<RawValue>,
    ),
    /// The seed's error shape.
    Error(
        #[cfg_attr(
            feature = "openapi",
            schemars(with = "super::openapi::models::BatchItemError")
        )]
        Value,
    ),
}

/// One successful batch item: the success body plus `"status": "success"`,
/// under the item's own request id.
pub(crate) fn batch_item_success(
    id: &Identity,
    req: &DetectRequest,
    ctx: &AnswerContext<'_>,
    request_id: &str,
) -> BatchItem {
    let out = success_body(id, req, ctx, request_id, Some("success"));
    // The writer produces JSON (tested), so this only fails on a bug; an
    // item error is still a valid answer then.
    match String::from_utf8(out)
        .map_err(|e| e.to_string())
        .and_then(|text| RawValue::from_string(text).map_err(|e| e.to_string()))
    {
        Ok(raw) => BatchItem::Success(raw),
        Err(message) => BatchItem::Error(json!({
            "status": "error",
            "error": format!("could not write this item's answer: {message}"),
            "code": "internal",
            "detector": id.detector_id,
            "request_id": request_id,
        })),
    }
}

/// One failed batch item, in the seed's error shape.
pub(crate) fn batch_item_error(id: &Identity, request_id: &str, error: &ItemError) -> BatchItem {
    BatchItem::Error(json!({
        "status": "error",
        "error": error.message,
        "code": error.code,
        "detector": id.detector_id,
        "request_id": request_id,
        "content_type": error.content_type,
    }))
}

/// The batch envelope, in the seed's shape.
#[derive(Debug, Serialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "BatchAnswer", deny_unknown_fields)
)]
pub(crate) struct BatchBody<'a> {
    detector: &'a str,
    batch_size: usize,
    results: Vec<BatchItem>,
    timestamp: String,
    batch_mode: bool,
}

/// The batch envelope around `results`.
pub(crate) fn batch_body(id: &Identity, results: Vec<BatchItem>) -> BatchBody<'_> {
    BatchBody {
        detector: &id.detector_id,
        batch_size: results.len(),
        results,
        timestamp: timestamp(),
        batch_mode: true,
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    fn written(at: SystemTime) -> String {
        let mut out = Vec::new();
        write_timestamp_of(&mut out, at);
        String::from_utf8(out).unwrap()
    }

    fn humantime_json(at: SystemTime) -> String {
        format!("\"{}\"", humantime::format_rfc3339_millis(at))
    }

    #[test]
    fn timestamps_match_humantime_across_the_calendar() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let at = |secs: u64, nanos: u32| UNIX_EPOCH + Duration::new(secs, nanos);
        let edges = [
            (0, 0),
            (0, 999_999_999),
            (951_782_400, 1_000_000), // 2000-02-29
            (1_767_225_599, 999_000_000),
            (1_767_225_600, 0),
            (4_107_542_399, 5),
            (LAST_SECOND, 999_999_999),
        ];
        for (secs, nanos) in edges {
            assert_eq!(written(at(secs, nanos)), humantime_json(at(secs, nanos)));
        }
        for _ in 0..20_000 {
            let secs = rng.random_range(0..=LAST_SECOND);
            let nanos = rng.random_range(0..1_000_000_000);
            let t = at(secs, nanos);
            assert_eq!(written(t), humantime_json(t), "{secs}.{nanos:09}");
            // The same second again, from this thread's kept text.
            let later = at(secs, rng.random_range(0..1_000_000_000));
            assert_eq!(written(later), humantime_json(later));
        }
    }

    #[test]
    fn clocks_outside_rfc_3339_write_its_nearest_time() {
        let before = UNIX_EPOCH - Duration::from_secs(86_400);
        assert_eq!(written(before), "\"1970-01-01T00:00:00.000Z\"");
        let after = UNIX_EPOCH + Duration::from_secs(LAST_SECOND + 3_600);
        assert_eq!(written(after), "\"9999-12-31T23:59:59.999Z\"");
    }

    #[test]
    fn an_answer_timestamp_is_now() {
        let before = SystemTime::now();
        let mut out = Vec::new();
        write_timestamp(&mut out);
        let text: String = serde_json::from_slice(&out).unwrap();
        let stamped = humantime::parse_rfc3339(&text).unwrap();
        let floor = before - Duration::from_millis(1);
        assert!(stamped >= floor && stamped <= SystemTime::now(), "{text}");
    }
}
