//! The FMS Detector API (the detector side of fms-guardrails-orchestrator):
//!
//! - `POST /api/v1/text/contents` `{contents: [str], detector_params?}` →
//!   one list per content, in order, of `{start, end, text, detection,
//!   detection_type, score}` (`[]` where nothing is found). Offsets count
//!   characters (Unicode scalar values) within each content, as the
//!   orchestrator slices text and shifts chunk offsets; `text` is the
//!   content between them.
//! - `POST /api/v1/text/generation` `{prompt, generated_text, detector_params?}`,
//!   `/chat` `{messages, tools?, detector_params?}` and `/context/doc`
//!   `{content, context_type, context, detector_params?}` →
//!   `[{detection, detection_type, score}]` for the generated text, the
//!   messages' text, the content.
//!
//! `detector-id` is required on every endpoint but chat (as the spec says);
//! `detector_params.threshold`, when sent, keeps detections scoring at
//! least that. Errors are the spec's `{"code": <status>, "message"}`: 400
//! for bytes that are not JSON, 422 for anything else wrong.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::super::Snapshot;
use super::super::error::ApiError;
use super::super::findings::Finding;
use super::super::ids::DETECTOR_ID;
use super::super::numbers::write_f64;
use super::super::pipeline::{Wire, Work};
use super::super::request::{NOT_AN_OBJECT, is_array};
use super::super::response::{AnswerContext, Identity};
use super::Endpoint;
use super::spans::CharOffsets;
use crate::profile::Protocol;
use crate::sampling::{Plan, header};

/// An FMS refusal.
fn refused(status: StatusCode, code: &'static str, message: String, id: &str) -> ApiError {
    ApiError::new(status, code, message, id).in_protocol(Protocol::Fms)
}

fn invalid(message: impl Into<String>, id: &str) -> ApiError {
    refused(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
        message.into(),
        id,
    )
}

/// Decodes a body into `T`: 400 for bytes that are not JSON, 422 for JSON
/// of another shape (naming the field). A body that decodes is read once,
/// without tracking the path; only a refused one is read again to name the
/// field.
fn decode<'a, T: Deserialize<'a>>(body: &'a [u8], id: &str) -> Result<T, ApiError> {
    if !is_array(body) {
        if let Ok(value) = serde_json::from_slice(body) {
            return Ok(value);
        }
    }
    decode_naming_the_field(body, id)
}

/// [`decode`] tracking the path, for the error of a refused body.
fn decode_naming_the_field<'a, T: Deserialize<'a>>(
    body: &'a [u8],
    id: &str,
) -> Result<T, ApiError> {
    let not_json = |e: serde_json::Error| {
        refused(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {e}"),
            id,
        )
    };
    if is_array(body) {
        return Err(invalid(NOT_AN_OBJECT, id));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path == "." => invalid(inner.to_string(), id),
            serde_json::error::Category::Data => invalid(format!("`{path}`: {inner}"), id),
            _ => not_json(inner),
        }
    })?;
    de.end().map_err(not_json)?;
    Ok(value)
}

/// The `threshold` in `detector_params`, checked.
fn threshold(params: &Map<String, Value>, id: &str) -> Result<f64, ApiError> {
    match params.get("threshold") {
        None | Some(Value::Null) => Ok(f64::NEG_INFINITY),
        Some(Value::Number(n)) => Ok(n.as_f64().unwrap_or(f64::NEG_INFINITY)),
        Some(_) => Err(invalid(
            "`detector_params.threshold` must be a number".to_owned(),
            id,
        )),
    }
}

/// Requires the `detector-id` header.
fn require_detector_id(snapshot: &Snapshot, parts: &Parts) -> Result<(), ApiError> {
    if header(&parts.headers, &DETECTOR_ID).is_some() {
        return Ok(());
    }
    Err(invalid(
        "the `detector-id` header is required",
        &snapshot.identity.detector_id,
    ))
}

/// One detection with its span (`/api/v1/text/contents`).
#[derive(Debug, Serialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "FmsSpanDetection")
)]
pub(super) struct SpanDetection<'a> {
    start: usize,
    end: usize,
    text: &'a str,
    detection: &'static str,
    detection_type: &'static str,
    score: f64,
}

impl SpanDetection<'_> {
    /// Writes the detection as its `Serialize` does (tested to match),
    /// without the serializer's per-field machinery: every contents answer
    /// writes one per finding.
    fn write(&self, out: &mut Vec<u8>) {
        let mut number = itoa::Buffer::new();
        out.extend_from_slice(b"{\"start\":");
        out.extend_from_slice(number.format(self.start).as_bytes());
        out.extend_from_slice(b",\"end\":");
        out.extend_from_slice(number.format(self.end).as_bytes());
        // Strings still go through serde_json (escaping stays exactly its
        // own), the score through `write_f64` (tested to match it).
        out.extend_from_slice(b",\"text\":");
        let _ = serde_json::to_writer(&mut *out, self.text);
        out.extend_from_slice(b",\"detection\":");
        let _ = serde_json::to_writer(&mut *out, self.detection);
        out.extend_from_slice(b",\"detection_type\":");
        let _ = serde_json::to_writer(&mut *out, self.detection_type);
        out.extend_from_slice(b",\"score\":");
        write_f64(out, self.score);
        out.push(b'}');
    }
}

/// One detection of a whole text (generation, chat, context).
#[derive(Debug, Serialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "FmsDetection")
)]
pub(super) struct Detection {
    detection: &'static str,
    detection_type: &'static str,
    score: f64,
}

/// `POST /api/v1/text/contents`.
#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "FmsContentsRequest")
)]
pub(super) struct ContentsRequest {
    contents: Vec<String>,
    #[serde(default)]
    detector_params: Map<String, Value>,
}

/// A parsed contents request.
#[derive(Debug)]
pub(crate) struct ContentList {
    contents: Vec<String>,
    threshold: f64,
}

/// `POST /api/v1/text/contents`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Contents;

impl Wire for Contents {
    type Parsed = ContentList;

    fn endpoint(&self) -> Endpoint {
        Endpoint::FmsContents
    }

    fn admit(&self, snapshot: &Snapshot, parts: &Parts) -> Result<(), ApiError> {
        require_detector_id(snapshot, parts)
    }

    fn parse(&self, snapshot: &Snapshot, _: &Parts, body: &[u8]) -> Result<ContentList, ApiError> {
        let id = &snapshot.identity.detector_id;
        let request: ContentsRequest = decode(body, id)?;
        Ok(ContentList {
            threshold: threshold(&request.detector_params, id)?,
            contents: request.contents,
        })
    }

    fn work<'a>(&self, parsed: &'a ContentList) -> Work<'a> {
        Work {
            items: None,
            content_bytes: parsed.contents.iter().map(String::len).sum(),
            correlation_id: None,
        }
    }

    fn render(
        &self,
        id: &Identity,
        parsed: &ContentList,
        _: &Plan,
        _: &AnswerContext<'_>,
    ) -> Bytes {
        let mut out = Vec::with_capacity(64 + 160 * parsed.contents.len());
        out.push(b'[');
        for (i, content) in parsed.contents.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let found = id.findings.scan(content);
            let mut offsets = CharOffsets::new(content);
            out.push(b'[');
            for (j, f) in kept(&found, parsed.threshold).enumerate() {
                if j > 0 {
                    out.push(b',');
                }
                let span = SpanDetection {
                    start: offsets.at(f.start),
                    end: offsets.at(f.end),
                    text: &content[f.start..f.end],
                    detection: f.subcategory,
                    detection_type: f.category,
                    score: f.confidence,
                };
                span.write(&mut out);
            }
            out.push(b']');
        }
        out.push(b']');
        Bytes::from(out)
    }
}

/// The findings scoring at least `threshold`, by start offset.
fn kept(found: &[Finding], threshold: f64) -> impl Iterator<Item = &Finding> {
    found.iter().filter(move |f| f.confidence >= threshold)
}

/// `POST /api/v1/text/generation`: the generated text is analysed.
#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "FmsGenerationRequest")
)]
pub(super) struct GenerationRequest {
    #[allow(dead_code)]
    prompt: String,
    generated_text: String,
    #[serde(default)]
    detector_params: Map<String, Value>,
}

/// `POST /api/v1/text/chat`: the messages' text is analysed.
#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "FmsChatRequest")
)]
pub(super) struct ChatRequest {
    /// Chat messages; a `content` string, or content parts with `text`, is read.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1)))]
    messages: Vec<Map<String, Value>>,
    #[allow(dead_code)]
    #[serde(default)]
    tools: Option<Vec<Value>>,
    #[serde(default)]
    detector_params: Map<String, Value>,
}

/// `POST /api/v1/text/context/doc`: the content is analysed.
#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "FmsContextDocRequest")
)]
pub(super) struct ContextRequest {
    content: String,
    #[cfg_attr(feature = "openapi", schemars(schema_with = "context_type_schema"))]
    context_type: String,
    #[allow(dead_code)]
    context: Vec<String>,
    #[serde(default)]
    detector_params: Map<String, Value>,
}

/// The `context_type`s accepted: the spec's and what the orchestrator sends.
const CONTEXT_TYPES: [&str; 4] = ["docs", "document", "url", "chunks"];

#[cfg(feature = "openapi")]
fn context_type_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "string", "enum": CONTEXT_TYPES})
}

/// A parsed whole-text request: the text analysed and the threshold.
#[derive(Debug)]
pub(crate) struct WholeText {
    text: String,
    threshold: f64,
}

/// `POST /api/v1/text/generation`, `/chat` or `/context/doc`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Whole(pub(crate) Endpoint);

impl Wire for Whole {
    type Parsed = WholeText;

    fn endpoint(&self) -> Endpoint {
        self.0
    }

    fn admit(&self, snapshot: &Snapshot, parts: &Parts) -> Result<(), ApiError> {
        if self.0 == Endpoint::FmsChat {
            return Ok(());
        }
        require_detector_id(snapshot, parts)
    }

    fn parse(&self, snapshot: &Snapshot, _: &Parts, body: &[u8]) -> Result<WholeText, ApiError> {
        let id = &snapshot.identity.detector_id;
        let (text, params) = match self.0 {
            Endpoint::FmsGeneration => {
                let r: GenerationRequest = decode(body, id)?;
                (r.generated_text, r.detector_params)
            }
            Endpoint::FmsChat => {
                let r: ChatRequest = decode(body, id)?;
                if r.messages.is_empty() {
                    return Err(invalid("`messages` must not be empty", id));
                }
                (chat_text(&r.messages), r.detector_params)
            }
            _ => {
                let r: ContextRequest = decode(body, id)?;
                if !CONTEXT_TYPES.contains(&r.context_type.as_str()) {
                    return Err(invalid(
                        format!(
                            "`context_type` must be one of {CONTEXT_TYPES:?}, not {:?}",
                            r.context_type
                        ),
                        id,
                    ));
                }
                (r.content, r.detector_params)
            }
        };
        Ok(WholeText {
            threshold: threshold(&params, id)?,
            text,
        })
    }

    fn work<'a>(&self, parsed: &'a WholeText) -> Work<'a> {
        Work {
            items: None,
            content_bytes: parsed.text.len(),
            correlation_id: None,
        }
    }

    fn render(&self, id: &Identity, parsed: &WholeText, _: &Plan, _: &AnswerContext<'_>) -> Bytes {
        let found = id.findings.scan(&parsed.text);
        let detections: Vec<Detection> = kept(&found, parsed.threshold)
            .map(|f| Detection {
                detection: f.subcategory,
                detection_type: f.category,
                score: f.confidence,
            })
            .collect();
        Bytes::from(serde_json::to_vec(&detections).unwrap_or_default())
    }
}

/// The text of a conversation: every message's string content, or the
/// `text` of its content parts, one message per line.
fn chat_text(messages: &[Map<String, Value>]) -> String {
    let mut text = String::new();
    for message in messages {
        match message.get("content") {
            Some(Value::String(s)) => push_line(&mut text, s),
            Some(Value::Array(parts)) => {
                for part in parts {
                    if let Some(s) = part.get("text").and_then(Value::as_str) {
                        push_line(&mut text, s);
                    }
                }
            }
            _ => {}
        }
    }
    text
}

fn push_line(text: &mut String, line: &str) {
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_span_detection_is_what_serde_writes() {
        let texts = [
            "jo@ex.io",
            "",
            "quote \" and backslash \\ and\nnewline\ttab \u{1}",
            "日本語 🙂 naïve",
        ];
        for (i, text) in texts.into_iter().enumerate() {
            for score in [0.95, 0.7, 1.0, 0.0, 1e-6, 0.333_333_333_333_333_3] {
                let span = SpanDetection {
                    start: i * 1_000_003,
                    end: usize::MAX - i,
                    text,
                    detection: "email",
                    detection_type: "pii",
                    score,
                };
                let mut written = Vec::new();
                span.write(&mut written);
                assert_eq!(
                    String::from_utf8(written).unwrap(),
                    serde_json::to_string(&span).unwrap()
                );
            }
        }
    }
}
