//! `POST /analyze` serves two protocols: mockdet's own (the path real
//! orchestrators call, `{content, …}`) and the Presidio analyzer
//! (`{text, language, …}`). One rule tells them apart, from the body:
//!
//! - it has `content` → mockdet's protocol;
//! - else it has `text` or `language` (Presidio's required fields, even
//!   `null`) → Presidio;
//! - else 422 `unknown_body`, naming both.
//!
//! A profile that serves only one of the two reads every `/analyze` body as
//! that one (so its own error says what is missing).

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::super::Snapshot;
use super::super::error::ApiError;
use super::super::pipeline::{Wire, Work};
use super::super::request::{DetectRequest, RawRequest, object_from_slice, unprocessable};
use super::super::response::{self, AnswerContext, Identity};
use super::Endpoint;
use super::presidio::{PresidioRequest, RawPresidio};
use crate::profile::{Protocol, ProtocolSet};
use crate::sampling::Plan;

/// An `/analyze` body, once the rule has said which protocol it is.
#[derive(Debug)]
pub(crate) enum AnalyzeBody {
    Native(DetectRequest),
    Presidio(PresidioRequest),
}

/// Both protocols' fields, read in one pass.
#[derive(Deserialize)]
struct RawAnalyze {
    content: Option<Value>,
    content_type: Option<String>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "present")]
    text: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    language: Option<Value>,
    entities: Option<Value>,
    score_threshold: Option<Value>,
    correlation_id: Option<Value>,
    return_decision_process: Option<Value>,
    allow_list: Option<Value>,
}

/// `/analyze`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Analyze;

impl Wire for Analyze {
    type Parsed = AnalyzeBody;

    fn endpoint(&self) -> Endpoint {
        Endpoint::Analyze
    }

    fn label(&self, parsed: &AnalyzeBody) -> Endpoint {
        match parsed {
            AnalyzeBody::Native(_) => Endpoint::Analyze,
            AnalyzeBody::Presidio(_) => Endpoint::PresidioAnalyze,
        }
    }

    fn served(&self, protocols: ProtocolSet) -> bool {
        protocols.serves(Protocol::Native) || protocols.serves(Protocol::Presidio)
    }

    fn parse(&self, snapshot: &Snapshot, _: &Parts, body: &[u8]) -> Result<AnalyzeBody, ApiError> {
        let id = snapshot.identity.detector_id.as_str();
        let protocols = snapshot.behaviour.protocols;
        let (native, presidio) = (
            protocols.serves(Protocol::Native),
            protocols.serves(Protocol::Presidio),
        );
        let shape = if native {
            Protocol::Native
        } else {
            Protocol::Presidio
        };
        let raw: RawAnalyze =
            object_from_slice(body).map_err(|e| bad_json(&e, id).in_protocol(shape))?;
        let is_native = if native && presidio {
            match (&raw.content, &raw.text, &raw.language) {
                (Some(_), ..) => true,
                (None, Some(_), _) | (None, _, Some(_)) => false,
                (None, None, None) => return Err(neither(id)),
            }
        } else {
            native
        };
        if is_native {
            let request = RawRequest {
                content: raw.content,
                content_type: raw.content_type,
                metadata: raw.metadata,
            };
            let parsed = DetectRequest::from_raw(request).map_err(|e| unprocessable(e, id))?;
            return Ok(AnalyzeBody::Native(parsed));
        }
        let request = RawPresidio {
            text: raw.text,
            language: raw.language,
            entities: raw.entities,
            score_threshold: raw.score_threshold,
            correlation_id: raw.correlation_id,
            return_decision_process: raw.return_decision_process,
            allow_list: raw.allow_list,
        };
        PresidioRequest::from_raw(request, snapshot).map(AnalyzeBody::Presidio)
    }

    fn work<'a>(&self, parsed: &'a AnalyzeBody) -> Work<'a> {
        match parsed {
            AnalyzeBody::Native(req) => Work {
                items: None,
                content_bytes: req.content.len(),
                correlation_id: req.body_correlation_id(),
            },
            AnalyzeBody::Presidio(req) => Work {
                items: None,
                content_bytes: req.content_bytes(),
                correlation_id: req.correlation_id.as_deref(),
            },
        }
    }

    fn render(
        &self,
        id: &Identity,
        parsed: &AnalyzeBody,
        _plan: &Plan,
        ctx: &AnswerContext<'_>,
    ) -> Bytes {
        match parsed {
            AnalyzeBody::Native(req) => response::success_bytes(id, req, ctx),
            AnalyzeBody::Presidio(req) => req.render(id),
        }
    }
}

/// A field that is present, `null` included (an absent one stays `None`).
fn present<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(de).map(Some)
}

/// 400 for bytes that are not JSON, 422 for JSON of another shape (as the
/// native protocol answers).
fn bad_json(e: &serde_json::Error, id: &str) -> ApiError {
    if e.classify() == serde_json::error::Category::Data {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("the body is not a request object: {e}"),
            id,
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {e}"),
            id,
        )
    }
}

fn neither(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_body",
        "an /analyze body carries `content` (mockdet's detection request) or `text` \
         (a Presidio analyzer request); this one has neither",
        id,
    )
}
