//! OpenAI moderations: `POST /v1/moderations` `{input, model?}` →
//! `{id, model, results: [{flagged, categories, category_scores,
//! category_applied_input_types}]}` with all thirteen categories in each map.
//!
//! `input` is a string (one result), a list of strings (one result each,
//! in order) or a list of content parts `{"type": "text", "text"}` /
//! `{"type": "image_url", "image_url": {"url"}}` (one result for the
//! whole). Images are not looked at: the categories that accept images list
//! `"image"` among their applied input types and score as clean. A category
//! scores the highest confidence of the findings mapped to it (see
//! `mapping`), else [`CLEAN_SCORE`]; it is flagged at or above the
//! profile's `protocol_options.flag_threshold`.

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde_json::Value;

use super::super::Snapshot;
use super::super::error::ApiError;
use super::super::numbers::write_f64;
use super::super::pipeline::{Wire, Work};
use super::super::request::object_from_slice;
use super::super::response::{AnswerContext, Identity};
use super::Endpoint;
use super::mapping;
use crate::profile::Protocol;
use crate::sampling::Plan;

/// Every moderation category, as OpenAI names them.
pub(crate) const CATEGORIES: [&str; 13] = [
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
];

/// The categories that also apply to images.
const IMAGE_CATEGORIES: [&str; 6] = [
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "violence",
    "violence/graphic",
];

/// The score of a category nothing raised.
pub(crate) const CLEAN_SCORE: f64 = 1e-6;

/// The model reported when the request names none.
const DEFAULT_MODEL: &str = "omni-moderation-latest";

/// One input to moderate: its text and whether images came with it.
#[derive(Debug)]
pub(crate) struct Input {
    text: String,
    has_text: bool,
    has_image: bool,
}

/// A parsed moderation request.
#[derive(Debug)]
pub(crate) struct ModerationRequest {
    inputs: Vec<Input>,
    model: String,
    threshold: f64,
}

fn invalid(message: impl Into<String>, id: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message, id)
        .in_protocol(Protocol::Openai)
}

/// A moderation request's fields, as sent (others are ignored).
#[derive(serde::Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "ModerationRequest")
)]
pub(super) struct RawRequest {
    /// A string, a list of strings, or a list of content parts.
    #[cfg_attr(feature = "openapi", schemars(required, schema_with = "input_schema"))]
    input: Option<Value>,
    /// Reported back; `omni-moderation-latest` when left out.
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    model: Option<Value>,
}

/// What [`inputs`] accepts.
#[cfg(feature = "openapi")]
fn input_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let text = serde_json::json!({
        "type": "object",
        "properties": {"type": {"const": "text"}, "text": {"type": "string"}},
        "required": ["type", "text"],
    });
    let image = serde_json::json!({
        "type": "object",
        "properties": {
            "type": {"const": "image_url"},
            "image_url": {
                "type": "object",
                "properties": {"url": {"type": "string"}},
                "required": ["url"],
            },
        },
        "required": ["type", "image_url"],
    });
    schemars::json_schema!({
        "anyOf": [
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}, "minItems": 1},
            {"type": "array", "items": {"oneOf": [text, image]}, "minItems": 1},
        ]
    })
}

/// `POST /v1/moderations`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moderations;

impl Wire for Moderations {
    type Parsed = ModerationRequest;

    fn endpoint(&self) -> Endpoint {
        Endpoint::OpenaiModerations
    }

    fn parse(
        &self,
        snapshot: &Snapshot,
        _: &Parts,
        body: &[u8],
    ) -> Result<ModerationRequest, ApiError> {
        let id = snapshot.identity.detector_id.as_str();
        let body: RawRequest = object_from_slice(body).map_err(|e| {
            invalid(
                format!("We could not parse the JSON body of your request: {e}"),
                id,
            )
        })?;
        let model = match body.model {
            None | Some(Value::Null) => DEFAULT_MODEL.to_owned(),
            Some(Value::String(model)) => model,
            Some(_) => return Err(invalid("'model' must be a string", id)),
        };
        let inputs = match body.input {
            Some(input) => inputs(input, id)?,
            None => return Err(invalid("'input' is a required property", id)),
        };
        Ok(ModerationRequest {
            inputs,
            model,
            threshold: snapshot.profile.protocol_options.flag_threshold,
        })
    }

    fn work<'a>(&self, parsed: &'a ModerationRequest) -> Work<'a> {
        Work {
            items: None,
            content_bytes: parsed.inputs.iter().map(|i| i.text.len()).sum(),
            correlation_id: None,
        }
    }

    fn render(
        &self,
        id: &Identity,
        parsed: &ModerationRequest,
        _: &Plan,
        ctx: &AnswerContext<'_>,
    ) -> Bytes {
        let results: Vec<Moderated> = parsed
            .inputs
            .iter()
            .map(|input| moderate(id, input, parsed.threshold))
            .collect();
        let mut seq = itoa::Buffer::new();
        let answer_id = ["modr-", &id.detector_id, "-", seq.format(ctx.seq)].concat();
        Bytes::from(answer(&answer_id, &parsed.model, &results))
    }
}

/// Reads `input`: a string, a list of strings or a list of content parts.
fn inputs(input: Value, id: &str) -> Result<Vec<Input>, ApiError> {
    let text = |text: String| Input {
        text,
        has_text: true,
        has_image: false,
    };
    match input {
        Value::String(s) => Ok(vec![text(s)]),
        Value::Array(items) if items.is_empty() => Err(invalid("'input' must not be empty", id)),
        Value::Array(items) if items.iter().all(Value::is_string) => Ok(items
            .into_iter()
            .map(|item| text(item.as_str().unwrap_or_default().to_owned()))
            .collect()),
        Value::Array(items) if items.iter().all(Value::is_object) => parts(&items, id),
        _ => Err(invalid(
            "'input' must be a string, a list of strings or a list of content parts",
            id,
        )),
    }
}

/// A list of content parts: one input.
fn parts(items: &[Value], id: &str) -> Result<Vec<Input>, ApiError> {
    let mut input = Input {
        text: String::new(),
        has_text: false,
        has_image: false,
    };
    for (i, part) in items.iter().enumerate() {
        let kind = part.get("type").and_then(Value::as_str);
        match kind {
            Some("text") => {
                let Some(text) = part.get("text").and_then(Value::as_str) else {
                    return Err(invalid(format!("'input[{i}].text' must be a string"), id));
                };
                if input.has_text {
                    input.text.push('\n');
                }
                input.text.push_str(text);
                input.has_text = true;
            }
            Some("image_url") => {
                let url = part.get("image_url").and_then(|u| u.get("url"));
                if !url.is_some_and(Value::is_string) {
                    return Err(invalid(
                        format!("'input[{i}].image_url.url' must be a string"),
                        id,
                    ));
                }
                input.has_image = true;
            }
            _ => {
                return Err(invalid(
                    format!("'input[{i}].type' must be \"text\" or \"image_url\""),
                    id,
                ));
            }
        }
    }
    Ok(vec![input])
}

/// The whole answer: `{"id", "model", "results": [...]}`.
fn answer(id: &str, model: &str, results: &[Moderated]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + 1536 * results.len());
    out.extend_from_slice(b"{\"id\":");
    let _ = serde_json::to_writer(&mut out, id);
    out.extend_from_slice(b",\"model\":");
    let _ = serde_json::to_writer(&mut out, model);
    out.extend_from_slice(b",\"results\":[");
    for (i, result) in results.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        result.write(&mut out);
    }
    out.extend_from_slice(b"]}");
    out
}

/// One input's scores, and what kinds of input it had.
#[derive(Debug)]
struct Moderated {
    scores: [f64; CATEGORIES.len()],
    threshold: f64,
    has_text: bool,
    has_image: bool,
}

/// The result of a text input in which nothing was found, below its
/// threshold: the same bytes for every such input (most of them), written
/// once by [`Moderated::write_each`].
static CLEAN_TEXT_RESULT: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let clean = Moderated {
        scores: [CLEAN_SCORE; CATEGORIES.len()],
        threshold: 1.0,
        has_text: true,
        has_image: false,
    };
    let mut out = Vec::new();
    clean.write_each(&mut out);
    out
});

impl Moderated {
    /// `{"flagged", "categories", "category_scores",
    /// "category_applied_input_types"}`: a clean text input's is
    /// [`CLEAN_TEXT_RESULT`], any other's is written field by field.
    fn write(&self, out: &mut Vec<u8>) {
        let clean = self.scores.iter().all(|&score| score == CLEAN_SCORE);
        if clean && CLEAN_SCORE < self.threshold && self.has_text && !self.has_image {
            out.extend_from_slice(&CLEAN_TEXT_RESULT);
        } else {
            self.write_each(out);
        }
    }

    /// [`write`](Self::write), field by field. The category names need no
    /// escaping, so they are copied as they are; numbers go through
    /// [`write_score`].
    fn write_each(&self, out: &mut Vec<u8>) {
        let flags = self.scores.map(|score| score >= self.threshold);
        out.extend_from_slice(b"{\"flagged\":");
        out.extend_from_slice(if flags.contains(&true) {
            b"true"
        } else {
            b"false"
        });
        out.extend_from_slice(b",\"categories\":");
        per_category(out, |out, i| {
            out.extend_from_slice(if flags[i] { b"true" } else { b"false" });
        });
        out.extend_from_slice(b",\"category_scores\":");
        per_category(out, |out, i| write_score(out, self.scores[i]));
        out.extend_from_slice(b",\"category_applied_input_types\":");
        per_category(out, |out, i| {
            let image = self.has_image && IMAGE_CATEGORIES.contains(&CATEGORIES[i]);
            out.extend_from_slice(match (self.has_text, image) {
                (true, true) => b"[\"text\",\"image\"]",
                (true, false) => b"[\"text\"]",
                (false, true) => b"[\"image\"]",
                (false, false) => b"[]",
            });
        });
        out.push(b'}');
    }
}

/// How serde_json writes [`CLEAN_SCORE`]: most scores of most answers, so
/// written without formatting the number each time (tested to match).
const CLEAN_SCORE_JSON: &[u8] = b"1e-6";

/// A score as serde_json writes it.
fn write_score(out: &mut Vec<u8>, score: f64) {
    if score == CLEAN_SCORE {
        out.extend_from_slice(CLEAN_SCORE_JSON);
    } else {
        write_f64(out, score);
    }
}

/// `{"harassment":…,"harassment/threatening":…,…}`, each value written by `value`.
fn per_category(out: &mut Vec<u8>, value: impl Fn(&mut Vec<u8>, usize)) {
    out.push(b'{');
    for (i, category) in CATEGORIES.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(category.as_bytes());
        out.extend_from_slice(b"\":");
        value(out, i);
    }
    out.push(b'}');
}

/// The scores of one input.
fn moderate(id: &Identity, input: &Input, threshold: f64) -> Moderated {
    let mut scores = [CLEAN_SCORE; CATEGORIES.len()];
    if input.has_text {
        for finding in id.findings.scan(&input.text) {
            for category in mapping::view(&finding).openai {
                if let Some(i) = CATEGORIES.iter().position(|c| c == category) {
                    scores[i] = scores[i].max(finding.confidence);
                }
            }
        }
    }
    Moderated {
        scores,
        threshold,
        has_text: input.has_text,
        has_image: input.has_image,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_clean_score_is_written_as_serde_json_writes_it() {
        assert_eq!(CLEAN_SCORE_JSON, serde_json::to_vec(&CLEAN_SCORE).unwrap());
        for score in [CLEAN_SCORE, 0.0, 0.75, 0.95, 1.0, 2e-6] {
            let mut out = Vec::new();
            write_score(&mut out, score);
            assert_eq!(out, serde_json::to_vec(&score).unwrap(), "{score}");
        }
    }

    #[test]
    fn a_clean_text_result_is_written_as_field_by_field() {
        let thresholds = [0.0, CLEAN_SCORE, 2e-6, 0.5, 1.0, 2.0, f64::NAN];
        let kinds = [(true, false), (true, true), (false, true), (false, false)];
        for threshold in thresholds {
            for (has_text, has_image) in kinds {
                for violence in [CLEAN_SCORE, 0.75] {
                    let mut scores = [CLEAN_SCORE; CATEGORIES.len()];
                    scores[11] = violence;
                    let result = Moderated {
                        scores,
                        threshold,
                        has_text,
                        has_image,
                    };
                    let (mut fast, mut each) = (Vec::new(), Vec::new());
                    result.write(&mut fast);
                    result.write_each(&mut each);
                    assert_eq!(fast, each, "{threshold} {has_text} {has_image} {violence}");
                }
            }
        }
        let value: serde_json::Value = serde_json::from_slice(&CLEAN_TEXT_RESULT).unwrap();
        assert_eq!(value["flagged"], false);
        assert_eq!(value["category_scores"]["hate"], CLEAN_SCORE);
        assert_eq!(
            value["category_applied_input_types"]["sexual"],
            json!(["text"])
        );
    }

    #[test]
    fn a_result_is_the_json_it_should_be() {
        let mut scores = [CLEAN_SCORE; CATEGORIES.len()];
        scores[11] = 0.75; // violence
        let result = Moderated {
            scores,
            threshold: 0.5,
            has_text: true,
            has_image: true,
        };
        let body = answer("modr-\"1\"", "omni-moderation-latest", &[result]);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["id"], "modr-\"1\"");
        let result = &value["results"][0];
        assert_eq!(result["flagged"], true);
        assert_eq!(result["categories"]["violence"], true);
        assert_eq!(result["categories"]["hate"], false);
        assert_eq!(result["category_scores"]["violence"], 0.75);
        assert_eq!(result["category_scores"]["hate"], CLEAN_SCORE);
        assert_eq!(
            result["category_applied_input_types"]["violence"],
            json!(["text", "image"])
        );
        assert_eq!(
            result["category_applied_input_types"]["hate"],
            json!(["text"])
        );
        for map in [
            "categories",
            "category_scores",
            "category_applied_input_types",
        ] {
            let keys: Vec<&String> = result[map].as_object().unwrap().keys().collect();
            assert_eq!(keys, CATEGORIES, "{map}");
        }
    }
}
