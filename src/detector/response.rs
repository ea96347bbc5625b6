//! Answer bodies. The success body carries two field sets at once — the
//! contract's `DetectorResult` and the seed mock's shape — so either kind of
//! client parses it (see CONTRACT.md §2).

use std::time::SystemTime;

use serde_json::{Value, json};

use super::findings::{self, Finding};
use super::request::{DetectRequest, ItemError};

/// Who is answering: the fixed part of every body.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub(crate) name: String,
    pub(crate) detector_id: String,
    pub(crate) detector_type: String,
    pub(crate) version: String,
    pub(crate) capabilities: Vec<String>,
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

/// The success body for one request.
pub(crate) fn success_body(id: &Identity, req: &DetectRequest, ctx: &AnswerContext<'_>) -> Value {
    let found = findings::scan(&req.content, &id.capabilities);
    let verdict = findings::verdict(&found);
    let detections: Vec<Value> = found.iter().map(detection).collect();
    json!({
        "detector_id": id.detector_id,
        "detector_type": id.detector_type,
        "confidence": verdict.confidence,
        "category": verdict.category,
        "subcategory": verdict.subcategory,
        "severity": verdict.severity,
        "findings": found,
        "metadata": {
            "mock": true,
            "profile": id.name,
            "seq": ctx.seq,
            "correlation_id": ctx.correlation_id,
            "content_length": req.content.len(),
            "injected_delay_ms": ctx.delay_ms,
        },
        "processing_time_ms": ctx.delay_ms,
        "detector": id.detector_id,
        "version": id.version,
        "request_id": ctx.request_id,
        "timestamp": timestamp(),
        "content_type": req.content_type,
        "detections": detections,
        "overall_confidence": verdict.confidence,
        "total_findings": found.len(),
    })
}

fn detection(f: &Finding) -> Value {
    json!({
        "category": f.category,
        "subcategory": f.subcategory,
        "confidence": f.confidence,
        "severity": f.severity,
    })
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

/// One successful batch item: the success body plus `"status": "success"`.
pub(crate) fn batch_item_success(
    id: &Identity,
    req: &DetectRequest,
    ctx: &AnswerContext<'_>,
) -> Value {
    let mut body = success_body(id, req, ctx);
    body["status"] = json!("success");
    body
}

/// One failed batch item, in the seed's error shape.
pub(crate) fn batch_item_error(id: &Identity, request_id: &str, error: &ItemError) -> Value {
    json!({
        "status": "error",
        "error": error.message,
        "code": error.code,
        "detector": id.detector_id,
        "request_id": request_id,
        "content_type": error.content_type,
    })
}

/// The batch envelope, in the seed's shape.
pub(crate) fn batch_body(id: &Identity, results: Vec<Value>) -> Value {
    json!({
        "detector": id.detector_id,
        "batch_size": results.len(),
        "results": results,
        "timestamp": timestamp(),
        "batch_mode": true,
    })
}
