//! The Presidio analyzer: `POST /analyze` with `{text, language, entities?,
//! score_threshold?, correlation_id?, return_decision_process?, allow_list?}`
//! → `[{analysis_explanation, end, entity_type, score, start}]` (keys sorted,
//! as Presidio writes them; offsets in characters), a list of such lists
//! when `text` is a list; `GET /supportedentities` and `GET /recognizers`.
//!
//! Errors are Presidio's `{"error": "..."}` with its messages. One
//! deliberate difference: Presidio answers a missing text or language, or
//! an unsupported language, with 500; mockdet answers 400, because a mock
//! never sends a 5xx it was not told to.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::super::error::ApiError;
use super::super::findings::Finding;
use super::super::response::Identity;
use super::super::{DetectorState, Snapshot};
use super::mapping::{self, PresidioEntity};
use super::spans::CharOffsets;
use crate::profile::Protocol;

/// A text holding one instance of every entity mockdet can find, to learn
/// which of them a detector's rules (its capabilities) find.
const PROBE: &str = "mail jo@example.com, call 415-555-0132, ssn 123-45-6789, \
                     card 4111 1111 1111 1111";

/// A Presidio `/analyze` request, checked.
#[derive(Debug)]
pub(crate) struct PresidioRequest {
    texts: Vec<String>,
    /// `text` came as a list (answered with a list of lists).
    batch: bool,
    entities: Option<Vec<String>>,
    score_threshold: f64,
    pub(crate) correlation_id: Option<String>,
    explain: bool,
    allow_list: Vec<String>,
}

/// The Presidio fields of an `/analyze` body, as sent.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "PresidioAnalyzeRequest")
)]
pub(crate) struct RawPresidio {
    /// A text, or a list of texts (answered with a list of lists).
    #[cfg_attr(feature = "openapi", schemars(required, schema_with = "text_schema"))]
    pub(crate) text: Option<Value>,
    /// One of the profile's `protocol_options.languages` (default `en`).
    #[cfg_attr(
        feature = "openapi",
        schemars(required, with = "String", length(min = 1))
    )]
    pub(crate) language: Option<Value>,
    /// The entity types wanted (default, or empty: all).
    #[cfg_attr(feature = "openapi", schemars(with = "Option<Vec<String>>"))]
    pub(crate) entities: Option<Value>,
    #[cfg_attr(feature = "openapi", schemars(with = "Option<f64>"))]
    pub(crate) score_threshold: Option<Value>,
    #[cfg_attr(feature = "openapi", schemars(with = "Option<String>"))]
    pub(crate) correlation_id: Option<Value>,
    /// Fill in `analysis_explanation`.
    #[cfg_attr(feature = "openapi", schemars(with = "Option<bool>"))]
    pub(crate) return_decision_process: Option<Value>,
    /// Matched texts to leave out.
    #[cfg_attr(feature = "openapi", schemars(with = "Option<Vec<String>>"))]
    pub(crate) allow_list: Option<Value>,
}

#[cfg(feature = "openapi")]
fn text_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string"}, "minItems": 1},
    ]})
}

/// A Presidio refusal: always 400 (see the module docs).
fn refused(message: impl Into<String>, detector: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        message,
        detector,
    )
    .in_protocol(Protocol::Presidio)
}

/// "Failed to parse …": Presidio's message for a field of the wrong type.
fn wrong_type(field: &str, want: &str, detector: &str) -> ApiError {
    refused(
        format!(
            "Failed to parse /analyze request for AnalyzerEngine.analyze(). `{field}` must be {want}"
        ),
        detector,
    )
}

fn strings(value: Value, field: &str, detector: &str) -> Result<Vec<String>, ApiError> {
    let want = "a list of strings";
    let Value::Array(items) = value else {
        return Err(wrong_type(field, want, detector));
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(s) => Ok(s),
            _ => Err(wrong_type(field, want, detector)),
        })
        .collect()
}

impl PresidioRequest {
    /// Checks the fields Presidio reads.
    pub(crate) fn from_raw(raw: RawPresidio, snapshot: &Snapshot) -> Result<Self, ApiError> {
        let id = snapshot.identity.detector_id.as_str();
        let (texts, batch) = match raw.text {
            Some(Value::String(text)) if !text.is_empty() => (vec![text], false),
            Some(Value::Array(items)) if !items.is_empty() => {
                (strings(Value::Array(items), "text", id)?, true)
            }
            Some(Value::String(_) | Value::Array(_) | Value::Null) | None => {
                return Err(refused("No text provided", id));
            }
            Some(_) => return Err(wrong_type("text", "a string or a list of strings", id)),
        };
        match raw.language {
            Some(Value::String(language)) if !language.is_empty() => {
                check_language(snapshot, Some(&language))?;
            }
            Some(Value::String(_) | Value::Null) | None => {
                return Err(refused("No language provided", id));
            }
            Some(_) => return Err(wrong_type("language", "a string", id)),
        }
        let entities = match raw.entities {
            None | Some(Value::Null) => None,
            // Presidio looks for every entity when the list is empty
            // (`all_fields = not entities`).
            Some(value) => Some(strings(value, "entities", id)?).filter(|list| !list.is_empty()),
        };
        let score_threshold = match raw.score_threshold {
            None | Some(Value::Null) => 0.0,
            Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
            Some(_) => return Err(wrong_type("score_threshold", "a number", id)),
        };
        let correlation_id = match raw.correlation_id {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => return Err(wrong_type("correlation_id", "a string", id)),
        };
        let explain = match raw.return_decision_process {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(_) => return Err(wrong_type("return_decision_process", "a boolean", id)),
        };
        let allow_list = match raw.allow_list {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => strings(value, "allow_list", id)?,
        };
        Ok(Self {
            texts,
            batch,
            entities,
            score_threshold,
            correlation_id,
            explain,
            allow_list,
        })
    }

    /// Bytes of text, for the journal.
    pub(crate) fn content_bytes(&self) -> usize {
        self.texts.iter().map(String::len).sum()
    }

    /// The 200 body.
    pub(crate) fn render(&self, id: &Identity) -> Bytes {
        let results: Vec<Vec<PresidioResult>> = self
            .texts
            .iter()
            .map(|text| self.results(id, text))
            .collect();
        let body = if self.batch {
            serde_json::to_vec(&results)
        } else {
            serde_json::to_vec(results.first().map_or(&[][..], Vec::as_slice))
        };
        Bytes::from(body.unwrap_or_default())
    }

    fn results(&self, id: &Identity, text: &str) -> Vec<PresidioResult> {
        let mut offsets = CharOffsets::new(text);
        let mut found: Vec<(&Finding, PresidioEntity)> = Vec::new();
        let scanned = id.findings.scan(text);
        for finding in &scanned {
            let Some(entity) = mapping::view(finding).presidio else {
                continue;
            };
            let wanted = self
                .entities
                .as_ref()
                .is_none_or(|list| list.iter().any(|e| e == entity.entity));
            let matched = &text[finding.start..finding.end];
            let allowed = self.allow_list.iter().any(|a| a == matched);
            if wanted && !allowed && finding.confidence >= self.score_threshold {
                found.push((finding, entity));
            }
        }
        found.sort_by_key(|(f, _)| f.start);
        found
            .into_iter()
            .map(|(f, entity)| {
                let (start, end) = (offsets.at(f.start), offsets.at(f.end));
                let explanation = if self.explain {
                    explanation(f, entity.recognizer)
                } else {
                    Value::Null
                };
                PresidioResult {
                    analysis_explanation: explanation,
                    end,
                    entity_type: entity.entity,
                    score: f.confidence,
                    start,
                }
            })
            .collect()
    }
}

/// One result, its fields in sorted order as Presidio's `sort_keys=True`
/// writes them.
#[derive(Debug, Serialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(deny_unknown_fields)
)]
pub(super) struct PresidioResult {
    /// `null` unless `return_decision_process` asked for it.
    #[cfg_attr(feature = "openapi", schemars(with = "Option<Map<String, Value>>"))]
    analysis_explanation: Value,
    end: usize,
    entity_type: &'static str,
    score: f64,
    start: usize,
}

/// What `return_decision_process` adds (keys sorted).
fn explanation(f: &Finding, recognizer: &str) -> Value {
    let mut map = Map::new();
    for (key, value) in [
        ("original_score", json!(f.confidence)),
        ("pattern", Value::Null),
        ("pattern_name", json!(f.subcategory)),
        ("recognizer", json!(recognizer)),
        ("regex_flags", Value::Null),
        ("score", json!(f.confidence)),
        ("score_context_improvement", json!(0)),
        ("supportive_context_word", json!("")),
        (
            "textual_explanation",
            json!(format!("mockdet rule {}/{}", f.category, f.subcategory)),
        ),
        ("validation_result", Value::Null),
    ] {
        map.insert(key.to_owned(), value);
    }
    Value::Object(map)
}

/// Refuses a language the profile does not list; `None` (a GET without
/// `language`) means all of them.
fn check_language(snapshot: &Snapshot, language: Option<&str>) -> Result<(), ApiError> {
    let languages = &snapshot.profile.protocol_options.languages;
    match language {
        Some(l) if !languages.iter().any(|known| known == l) => Err(refused(
            "No matching recognizers were found to serve the request.",
            &snapshot.identity.detector_id,
        )),
        _ => Ok(()),
    }
}

/// The entity types this detector's rules find, in table order.
fn supported(snapshot: &Snapshot) -> Vec<PresidioEntity> {
    let found = snapshot.identity.findings.scan(PROBE);
    mapping::presidio_entities()
        .filter(|entity| {
            found
                .iter()
                .any(|f| mapping::view(f).presidio == Some(*entity))
        })
        .collect()
}

/// `?language=` of the GET endpoints (language codes need no decoding).
fn language_of(uri: &Uri) -> Option<&str> {
    uri.query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("language="))
        .filter(|language| !language.is_empty())
}

/// `GET /supportedentities`: the entity types this detector finds.
pub(crate) async fn supported_entities(
    State(state): State<std::sync::Arc<DetectorState>>,
    uri: Uri,
) -> Response {
    listing(&state, &uri, |snapshot| {
        supported(snapshot).iter().map(|p| p.entity).collect()
    })
}

/// `GET /recognizers`: the Presidio recognizers behind those entities.
pub(crate) async fn recognizers(
    State(state): State<std::sync::Arc<DetectorState>>,
    uri: Uri,
) -> Response {
    listing(&state, &uri, |snapshot| {
        supported(snapshot).iter().map(|p| p.recognizer).collect()
    })
}

fn listing(
    state: &DetectorState,
    uri: &Uri,
    list: impl Fn(&Snapshot) -> Vec<&'static str>,
) -> Response {
    let snapshot = state.current();
    if !snapshot.behaviour.protocols.serves(Protocol::Presidio) {
        let error = super::super::pipeline::not_served(&snapshot, Protocol::Presidio);
        return error.into_response();
    }
    let language = language_of(uri);
    match check_language(&snapshot, language) {
        Ok(()) => axum::Json(list(&snapshot)).into_response(),
        Err(error) => error.into_response(),
    }
}
