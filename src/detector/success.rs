//! Writing a success body. The body has some twenty keys and five strings
//! fixed by the profile; serde escapes every one of them again on every
//! answer, which the throughput benchmark's profile showed as a large share
//! of building the answer. [`BodyFragments`] escapes the fixed parts once per
//! profile and [`write`] puts the per-answer values between them, through
//! serde_json (so escaping and number formatting are serde_json's own).
//!
//! The body carries two field sets at once — the contract's
//! `DetectorResult` and the seed mock's shape — so either kind of client
//! parses it (see CONTRACT.md §2). The tests pin the exact bytes against
//! the same object built with `serde_json::json!`.

use serde::Serialize;

use super::findings::{self, Finding, Severity};
use super::request::DetectRequest;
use super::response::{AnswerContext, timestamp};

/// The profile-fixed parts of a success body, escaped once.
#[derive(Debug, Clone)]
pub(crate) struct BodyFragments {
    /// `{"detector_id":…,"detector_type":…,"confidence":`
    open: Box<str>,
    /// `,"metadata":{"mock":true,"profile":…,"seq":`
    metadata: Box<str>,
    /// `,"detector":…,"version":…,"request_id":`
    identity: Box<str>,
}

impl BodyFragments {
    pub(crate) fn new(detector_id: &str, detector_type: &str, name: &str, version: &str) -> Self {
        let json = |s: &str| serde_json::Value::from(s).to_string();
        Self {
            open: format!(
                "{{\"detector_id\":{},\"detector_type\":{},\"confidence\":",
                json(detector_id),
                json(detector_type)
            )
            .into(),
            metadata: format!(
                ",\"metadata\":{{\"mock\":true,\"profile\":{},\"seq\":",
                json(name)
            )
            .into(),
            identity: format!(
                ",\"detector\":{},\"version\":{},\"request_id\":",
                json(detector_id),
                json(version)
            )
            .into(),
        }
    }
}

/// The seed mock's per-finding entry.
#[derive(Debug, Serialize)]
struct Detection {
    category: &'static str,
    subcategory: &'static str,
    confidence: f64,
    severity: Severity,
}

/// What varies between the success bodies of one profile.
#[derive(Debug)]
pub(crate) struct Answer<'a> {
    pub(crate) findings: &'a [Finding],
    pub(crate) req: &'a DetectRequest,
    pub(crate) ctx: &'a AnswerContext<'a>,
    /// The request id reported (a batch item's own, else the request's).
    pub(crate) request_id: &'a str,
    /// `"status": "success"` on batch items only.
    pub(crate) status: Option<&'static str>,
}

/// Appends the success body of `answer` to `out`.
pub(crate) fn write(out: &mut Vec<u8>, fragments: &BodyFragments, answer: &Answer<'_>) {
    let found = answer.findings;
    let verdict = findings::verdict(found);
    out.extend_from_slice(fragments.open.as_bytes());
    value(out, &verdict.confidence);
    key(out, "category");
    value(out, verdict.category);
    key(out, "subcategory");
    value(out, &verdict.subcategory);
    key(out, "severity");
    value(out, &verdict.severity);
    key(out, "findings");
    value(out, found);
    out.extend_from_slice(fragments.metadata.as_bytes());
    value(out, &answer.ctx.seq);
    key(out, "correlation_id");
    value(out, &answer.ctx.correlation_id);
    key(out, "content_length");
    value(out, &answer.req.content.len());
    key(out, "injected_delay_ms");
    value(out, &answer.ctx.delay_ms);
    out.push(b'}');
    key(out, "processing_time_ms");
    value(out, &answer.ctx.delay_ms);
    out.extend_from_slice(fragments.identity.as_bytes());
    value(out, answer.request_id);
    key(out, "timestamp");
    value(out, &timestamp());
    key(out, "content_type");
    value(out, &answer.req.content_type);
    key(out, "detections");
    out.push(b'[');
    for (i, f) in found.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let detection = Detection {
            category: f.category,
            subcategory: f.subcategory,
            confidence: f.confidence,
            severity: f.severity,
        };
        value(out, &detection);
    }
    out.push(b']');
    key(out, "overall_confidence");
    value(out, &verdict.confidence);
    key(out, "total_findings");
    value(out, &found.len());
    if let Some(status) = answer.status {
        key(out, "status");
        value(out, status);
    }
    out.push(b'}');
}

/// `,"name":` — for the fixed ASCII key names of this module.
fn key(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// A JSON value, as serde_json writes it. Writing these types into a `Vec`
/// cannot fail (no maps with non-string keys, no I/O).
fn value<T: Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    let _ = serde_json::to_writer(&mut *out, v);
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn request(content: &str, content_type: &str) -> DetectRequest {
        let body = json!({ "content": content, "content_type": content_type }).to_string();
        DetectRequest::from_body(body.as_bytes(), "t").unwrap()
    }

    /// The body as a `json!` object with the keys in the same order.
    fn expected(
        (id, kind, name, version): (&str, &str, &str, &str),
        found: &[Finding],
        req: &DetectRequest,
        ctx: &AnswerContext<'_>,
        status: Option<&str>,
        timestamp: &Value,
    ) -> Value {
        let verdict = findings::verdict(found);
        let detections: Vec<Value> = found
            .iter()
            .map(|f| {
                json!({
                    "category": f.category,
                    "subcategory": f.subcategory,
                    "confidence": f.confidence,
                    "severity": f.severity,
                })
            })
            .collect();
        let mut body = json!({
            "detector_id": id,
            "detector_type": kind,
            "confidence": verdict.confidence,
            "category": verdict.category,
            "subcategory": verdict.subcategory,
            "severity": verdict.severity,
            "findings": found,
            "metadata": {
                "mock": true,
                "profile": name,
                "seq": ctx.seq,
                "correlation_id": ctx.correlation_id,
                "content_length": req.content.len(),
                "injected_delay_ms": ctx.delay_ms,
            },
            "processing_time_ms": ctx.delay_ms,
            "detector": id,
            "version": version,
            "request_id": ctx.request_id,
            "timestamp": timestamp,
            "content_type": req.content_type,
            "detections": detections,
            "overall_confidence": verdict.confidence,
            "total_findings": found.len(),
        });
        if let Some(status) = status {
            body["status"] = json!(status);
        }
        body
    }

    #[test]
    fn the_written_body_is_byte_for_byte_serde_json_of_the_same_object() {
        let rules = findings::EnabledRules::for_capabilities(&["deep_analysis".to_owned()]);
        let identities = [
            ("mock-success", "mock", "success", "1.0.0"),
            ("id \"quoted\" \\ back", "ty\npe", "naïve ✓", "2.0-β"),
        ];
        let contents = [
            ("x", "text"),
            ("mail jo@ex.io or call 415-555-0132; I hate it", "text"),
            ("api_key=Ab12Cd34Ef56Gh78Ij90 ' OR 1=1 -- kill", "code"),
            (
                "Ünïcode \u{1F600} \"quotes\" and \\ and \t tabs",
                "document\"x",
            ),
        ];
        let contexts = [
            (None, 0.0, 1_u64),
            (Some("corr-\"1\"\u{e9}"), 12.345, 987_654_321),
        ];
        for identity in identities {
            let fragments = BodyFragments::new(identity.0, identity.1, identity.2, identity.3);
            for (content, content_type) in contents {
                let req = request(content, content_type);
                let found = findings::scan(&req.content, rules);
                for (correlation_id, delay_ms, seq) in contexts {
                    for status in [None, Some("success")] {
                        let ctx = AnswerContext {
                            request_id: "req-\"7\"",
                            seq,
                            correlation_id,
                            delay_ms,
                        };
                        let answer = Answer {
                            findings: &found,
                            req: &req,
                            ctx: &ctx,
                            request_id: ctx.request_id,
                            status,
                        };
                        let mut out = Vec::new();
                        write(&mut out, &fragments, &answer);
                        let written: Value = serde_json::from_slice(&out).unwrap();
                        let want =
                            expected(identity, &found, &req, &ctx, status, &written["timestamp"]);
                        assert_eq!(
                            String::from_utf8(out).unwrap(),
                            serde_json::to_string(&want).unwrap()
                        );
                    }
                }
            }
        }
    }
}
