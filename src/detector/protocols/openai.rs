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

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Serialize;
use serde_json::Value;

use super::super::Snapshot;
use super::super::error::ApiError;
use super::super::pipeline::{Wire, Work};
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
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            invalid(
                format!("We could not parse the JSON body of your request: {e}"),
                id,
            )
        })?;
        let Value::Object(mut body) = value else {
            return Err(invalid("the body must be a JSON object", id));
        };
        let model = match body.remove("model") {
            None | Some(Value::Null) => DEFAULT_MODEL.to_owned(),
            Some(Value::String(model)) => model,
            Some(_) => return Err(invalid("'model' must be a string", id)),
        };
        let inputs = match body.remove("input") {
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
        let results: Vec<ModerationResult> = parsed
            .inputs
            .iter()
            .map(|input| moderate(id, input, parsed.threshold))
            .collect();
        let body = Moderation {
            id: format!("modr-{}-{}", id.detector_id, ctx.seq),
            model: &parsed.model,
            results,
        };
        Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
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

#[derive(Serialize)]
struct Moderation<'a> {
    id: String,
    model: &'a str,
    results: Vec<ModerationResult>,
}

#[derive(Serialize)]
struct ModerationResult {
    flagged: bool,
    categories: PerCategory<bool>,
    category_scores: PerCategory<f64>,
    category_applied_input_types: PerCategory<&'static [&'static str]>,
}

/// One value per category, written as a JSON object keyed by
/// [`CATEGORIES`] (no map of owned keys built per answer).
struct PerCategory<T>([T; CATEGORIES.len()]);

impl<T: Serialize> Serialize for PerCategory<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(CATEGORIES.len()))?;
        for (category, value) in CATEGORIES.iter().zip(&self.0) {
            map.serialize_entry(category, value)?;
        }
        map.end()
    }
}

/// The result for one input.
fn moderate(id: &Identity, input: &Input, threshold: f64) -> ModerationResult {
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
    let types: &'static [&'static str] = match (input.has_text, input.has_image) {
        (true, true) => &["text", "image"],
        (true, false) => &["text"],
        (false, true) => &["image"],
        (false, false) => &[],
    };
    let flags = scores.map(|score| score >= threshold);
    ModerationResult {
        flagged: flags.contains(&true),
        categories: PerCategory(flags),
        category_scores: PerCategory(scores),
        category_applied_input_types: PerCategory(std::array::from_fn(|i| {
            if IMAGE_CATEGORIES.contains(&CATEGORIES[i]) {
                types
            } else if input.has_text {
                &["text"][..]
            } else {
                &[][..]
            }
        })),
    }
}
