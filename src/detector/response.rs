//! Answer bodies. The success body carries two field sets at once — the
//! contract's `DetectorResult` and the seed mock's shape — so either kind of
//! client parses it (see CONTRACT.md §2).

use std::borrow::Cow;
use std::time::SystemTime;

use axum::body::Bytes;
use serde::Serialize;
use serde_json::{Value, json};

use super::findings::{self, Finding, Severity};
use super::request::{DetectRequest, ItemError};

/// Who is answering: the fixed part of every body.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) name: String,
    pub(crate) detector_id: String,
    pub(crate) detector_type: String,
    pub(crate) version: String,
    pub(crate) capabilities: Vec<String>,
    /// The finding rules `capabilities` enable.
    pub(crate) rules: findings::EnabledRules,
    pub(crate) content_types: Vec<String>,
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

/// `at` as an RFC 3339 UTC timestamp with milliseconds.
pub(crate) fn timestamp_of(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// The seed mock's per-finding entry.
#[derive(Debug, Serialize)]
struct Detection {
    category: &'static str,
    subcategory: &'static str,
    confidence: f64,
    severity: Severity,
}

/// The `metadata` object of a success body.
#[derive(Debug, Serialize)]
struct Metadata<'a> {
    mock: bool,
    profile: &'a str,
    seq: u64,
    correlation_id: Option<&'a str>,
    content_length: usize,
    injected_delay_ms: f64,
}

/// A 200 body: the contract's fields first, then the seed mock's. Typed and
/// borrowed, so an answer is serialised straight into one buffer.
#[derive(Debug, Serialize)]
pub(crate) struct SuccessBody<'a> {
    detector_id: &'a str,
    detector_type: &'a str,
    confidence: f64,
    category: &'static str,
    subcategory: Option<&'static str>,
    severity: Severity,
    findings: Vec<Finding>,
    metadata: Metadata<'a>,
    processing_time_ms: f64,
    detector: &'a str,
    version: &'a str,
    request_id: Cow<'a, str>,
    timestamp: String,
    content_type: &'a str,
    detections: Vec<Detection>,
    overall_confidence: f64,
    total_findings: usize,
    /// `"success"` on batch items only.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

/// The success body for one request.
pub(crate) fn success_body<'a>(
    id: &'a Identity,
    req: &'a DetectRequest,
    ctx: &AnswerContext<'a>,
) -> SuccessBody<'a> {
    let found = findings::scan(&req.content, id.rules);
    let verdict = findings::verdict(&found);
    let detections = found
        .iter()
        .map(|f| Detection {
            category: f.category,
            subcategory: f.subcategory,
            confidence: f.confidence,
            severity: f.severity,
        })
        .collect();
    SuccessBody {
        detector_id: &id.detector_id,
        detector_type: &id.detector_type,
        confidence: verdict.confidence,
        category: verdict.category,
        subcategory: verdict.subcategory,
        severity: verdict.severity,
        total_findings: found.len(),
        findings: found,
        metadata: Metadata {
            mock: true,
            profile: &id.name,
            seq: ctx.seq,
            correlation_id: ctx.correlation_id,
            content_length: req.content.len(),
            injected_delay_ms: ctx.delay_ms,
        },
        processing_time_ms: ctx.delay_ms,
        detector: &id.detector_id,
        version: &id.version,
        request_id: Cow::Borrowed(ctx.request_id),
        timestamp: timestamp(),
        content_type: &req.content_type,
        detections,
        overall_confidence: verdict.confidence,
        status: None,
    }
}

/// Serialises a body (typed bodies and `Value`s cannot fail: string keys).
pub(crate) fn to_bytes<T: Serialize>(body: &T) -> Bytes {
    // A success body is about 700 bytes: one allocation instead of four
    // doublings from serde_json's default 128.
    let mut buffer = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut buffer, body) {
        Ok(()) => Bytes::from(buffer),
        Err(_) => Bytes::new(),
    }
}

/// The body of an injected HTTP error.
pub(crate) fn injected_error_body(id: &Identity, status: u16) -> Value {
    json!({
        "error": {
            "code": "injected_fault",
            "message": format!("mockdet injected HTTP {status} (profile `{}`)", id.name),
        },
        "detector": id.detector_id,
    })
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
#[serde(untagged)]
pub(crate) enum BatchItem<'a> {
    /// A success body plus `"status": "success"`.
    Success(Box<SuccessBody<'a>>),
    /// The seed's error shape.
    Error(Value),
}

/// One successful batch item: the success body plus `"status": "success"`,
/// under the item's own request id.
pub(crate) fn batch_item_success<'a>(
    id: &'a Identity,
    req: &'a DetectRequest,
    ctx: &AnswerContext<'a>,
    request_id: String,
) -> BatchItem<'a> {
    let mut body = success_body(id, req, ctx);
    body.status = Some("success");
    body.request_id = Cow::Owned(request_id);
    BatchItem::Success(Box::new(body))
}

/// One failed batch item, in the seed's error shape.
pub(crate) fn batch_item_error<'a>(
    id: &Identity,
    request_id: &str,
    error: &ItemError,
) -> BatchItem<'a> {
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
pub(crate) struct BatchBody<'a> {
    detector: &'a str,
    batch_size: usize,
    results: Vec<BatchItem<'a>>,
    timestamp: String,
    batch_mode: bool,
}

/// The batch envelope around `results`.
pub(crate) fn batch_body<'a>(id: &'a Identity, results: Vec<BatchItem<'a>>) -> BatchBody<'a> {
    BatchBody {
        detector: &id.detector_id,
        batch_size: results.len(),
        results,
        timestamp: timestamp(),
        batch_mode: true,
    }
}
