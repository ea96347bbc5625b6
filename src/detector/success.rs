//! Writing a success body. The body has some twenty keys and five strings
//! fixed by the profile; serde escapes every one of them again on every
//! answer, which the throughput benchmark's profile showed as a large share
//! of building the answer. [`BodyFragments`] escapes the fixed parts once per
//! profile, [`RenderedFindings`] the parts that depend on the content alone
//! (kept per content by the findings memo), and [`write`] puts the
//! per-answer values between them. Strings that need escaping and
//! integers go through serde_json, floats through
//! [`write_f64`](super::numbers::write_f64) (tested to write serde_json's
//! own bytes).
//!
//! The body carries two field sets at once — the contract's
//! `DetectorResult` and the seed mock's shape — so either kind of client
//! parses it (see CONTRACT.md §2). The tests pin the exact bytes against
//! the same object built with `serde_json::json!`.

use serde::Serialize;

use super::findings::{self, Finding};
use super::numbers::write_f64;
use super::request::DetectRequest;
use super::response::{AnswerContext, write_timestamp};

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

/// The parts of a success body that depend on the content alone (its
/// findings), rendered once per content and kept by
/// [`FindingsMemo`](super::memo::FindingsMemo).
#[derive(Debug)]
pub(crate) struct RenderedFindings {
    /// Both parts, one after the other:
    /// `<confidence>,"category":…,"subcategory":…,"severity":…,"findings":[…]`
    /// then `,"detections":[…],"overall_confidence":…,"total_findings":N`.
    bytes: Vec<u8>,
    /// Where the second part starts.
    split: usize,
}

impl RenderedFindings {
    /// Renders the findings of one content.
    pub(crate) fn new(found: &[Finding]) -> Self {
        let verdict = findings::verdict(found);
        let mut out = Vec::with_capacity(224 + 256 * found.len());
        write_f64(&mut out, verdict.confidence);
        key(&mut out, "category");
        string(&mut out, verdict.category);
        key(&mut out, "subcategory");
        match verdict.subcategory {
            Some(subcategory) => string(&mut out, subcategory),
            None => out.extend_from_slice(b"null"),
        }
        key(&mut out, "severity");
        string(&mut out, verdict.severity.as_str());
        key(&mut out, "findings");
        list(&mut out, found, |out, f| {
            labels(out, f);
            key(out, "start");
            value(out, &f.start);
            key(out, "end");
            value(out, &f.end);
            key(out, "text");
            string(out, &f.text);
        });
        let split = out.len();
        key(&mut out, "detections");
        list(&mut out, found, labels);
        key(&mut out, "overall_confidence");
        write_f64(&mut out, verdict.confidence);
        key(&mut out, "total_findings");
        value(&mut out, &found.len());
        Self { bytes: out, split }
    }

    /// `<confidence>,"category":…,"findings":[…]`
    fn verdict(&self) -> &[u8] {
        &self.bytes[..self.split]
    }

    /// `,"detections":[…],"overall_confidence":…,"total_findings":N`
    fn detections(&self) -> &[u8] {
        &self.bytes[self.split..]
    }

    /// Bytes held, for the memo's budget.
    pub(crate) fn len(&self) -> usize {
        self.bytes.capacity()
    }

    /// Both parts as text, for tests.
    #[cfg(test)]
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.bytes.clone()).expect("JSON is UTF-8")
    }
}

/// What varies between the success bodies of one profile.
#[derive(Debug)]
pub(crate) struct Answer<'a> {
    pub(crate) findings: &'a RenderedFindings,
    pub(crate) req: &'a DetectRequest,
    pub(crate) ctx: &'a AnswerContext<'a>,
    /// The request id reported (a batch item's own, else the request's).
    pub(crate) request_id: &'a str,
    /// `"status": "success"` on batch items only.
    pub(crate) status: Option<&'static str>,
}

/// Appends the success body of `answer` to `out`.
pub(crate) fn write(out: &mut Vec<u8>, fragments: &BodyFragments, answer: &Answer<'_>) {
    out.extend_from_slice(fragments.open.as_bytes());
    out.extend_from_slice(answer.findings.verdict());
    out.extend_from_slice(fragments.metadata.as_bytes());
    value(out, &answer.ctx.seq);
    key(out, "correlation_id");
    value(out, &answer.ctx.correlation_id);
    key(out, "content_length");
    value(out, &answer.req.content.len());
    key(out, "injected_delay_ms");
    write_f64(out, answer.ctx.delay_ms);
    out.push(b'}');
    key(out, "processing_time_ms");
    write_f64(out, answer.ctx.delay_ms);
    out.extend_from_slice(fragments.identity.as_bytes());
    value(out, answer.request_id);
    key(out, "timestamp");
    write_timestamp(out);
    key(out, "content_type");
    value(out, &answer.req.content_type);
    out.extend_from_slice(answer.findings.detections());
    if let Some(status) = answer.status {
        key(out, "status");
        value(out, status);
    }
    out.push(b'}');
}

/// `[{…},{…}]`, each object opened by `entry` and closed here.
fn list(out: &mut Vec<u8>, found: &[Finding], entry: impl Fn(&mut Vec<u8>, &Finding)) {
    out.push(b'[');
    for (i, f) in found.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        entry(out, f);
        out.push(b'}');
    }
    out.push(b']');
}

/// `{"category":…,"subcategory":…,"confidence":…,"severity":…` — a
/// detection (closed by the caller), and the start of a finding.
fn labels(out: &mut Vec<u8>, f: &Finding) {
    out.extend_from_slice(b"{\"category\":");
    string(out, f.category);
    key(out, "subcategory");
    string(out, f.subcategory);
    key(out, "confidence");
    write_f64(out, f.confidence);
    key(out, "severity");
    string(out, f.severity.as_str());
}

/// A JSON string: copied between quotes when nothing in it needs escaping
/// (rule labels, masked text), else written by serde_json.
fn string(out: &mut Vec<u8>, text: &str) {
    let plain = text
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    if plain {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        value(out, text);
    }
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
                let rendered = RenderedFindings::new(&found);
                for (correlation_id, delay_ms, seq) in contexts {
                    for status in [None, Some("success")] {
                        let ctx = AnswerContext {
                            request_id: "req-\"7\"",
                            seq,
                            correlation_id,
                            delay_ms,
                        };
                        let answer = Answer {
                            findings: &rendered,
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
