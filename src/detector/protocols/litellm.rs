//! LiteLLM's generic guardrail API: `POST /beta/litellm_basic_guardrail_api`
//! `{input_type, texts, …}` → `{action, blocked_reason?, texts?}`.
//!
//! - `BLOCKED`, with a reason, when a finding that blocks (see `mapping`:
//!   threats, hate, insults, injection) scores at least the threshold —
//!   `additional_provider_specific_params.threshold` when the request
//!   carries one, else the profile's `protocol_options.flag_threshold`;
//! - else `GUARDRAIL_INTERVENED` with every text, PII and secrets masked,
//!   when any was found;
//! - else `NONE`.
//!
//! LiteLLM sends every field of its request, `null` when unset, and more
//! with each release; unknown fields are ignored.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::Snapshot;
use super::super::error::ApiError;
use super::super::findings::Finding;
use super::super::pipeline::{Wire, Work};
use super::super::request::object_from_slice;
use super::super::response::{self, AnswerContext, Identity};
use super::Endpoint;
use super::mapping::{self, GuardrailAction};
use crate::profile::Protocol;
use crate::sampling::Plan;

fn invalid(message: impl Into<String>, id: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_request",
        message,
        id,
    )
    .in_protocol(Protocol::Litellm)
}

/// A guardrail request's fields, as sent (others are ignored).
#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "GuardrailRequest")
)]
pub(super) struct RawRequest {
    #[cfg_attr(
        feature = "openapi",
        schemars(required, extend("enum" = ["request", "response"]), with = "String")
    )]
    input_type: Option<String>,
    /// The texts to check (none: nothing to do).
    #[serde(default)]
    texts: Option<Vec<String>>,
    /// `threshold` (a number) overrides the profile's `flag_threshold`.
    #[serde(default)]
    additional_provider_specific_params: Option<serde_json::Map<String, Value>>,
}

/// A parsed guardrail request.
#[derive(Debug)]
pub(crate) struct GuardrailRequest {
    texts: Vec<String>,
    threshold: f64,
}

/// `POST /beta/litellm_basic_guardrail_api`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Guardrail;

impl Wire for Guardrail {
    type Parsed = GuardrailRequest;

    fn endpoint(&self) -> Endpoint {
        Endpoint::LitellmGuardrail
    }

    fn parse(
        &self,
        snapshot: &Snapshot,
        _: &Parts,
        body: &[u8],
    ) -> Result<GuardrailRequest, ApiError> {
        let id = snapshot.identity.detector_id.as_str();
        let raw: RawRequest = object_from_slice(body)
            .map_err(|e| invalid(format!("the body is not a guardrail request: {e}"), id))?;
        match raw.input_type.as_deref() {
            Some("request" | "response") => {}
            Some(other) => {
                return Err(invalid(
                    format!("`input_type` must be \"request\" or \"response\", not {other:?}"),
                    id,
                ));
            }
            None => return Err(invalid("`input_type` is required", id)),
        }
        let params = raw.additional_provider_specific_params.unwrap_or_default();
        let threshold = match params.get("threshold") {
            None | Some(Value::Null) => snapshot.profile.protocol_options.flag_threshold,
            Some(Value::Number(n)) => n.as_f64().unwrap_or(0.5),
            Some(_) => {
                return Err(invalid(
                    "`additional_provider_specific_params.threshold` must be a number",
                    id,
                ));
            }
        };
        Ok(GuardrailRequest {
            texts: raw.texts.unwrap_or_default(),
            threshold,
        })
    }

    fn work<'a>(&self, parsed: &'a GuardrailRequest) -> Work<'a> {
        Work {
            items: None,
            content_bytes: parsed.texts.iter().map(String::len).sum(),
            correlation_id: None,
        }
    }

    fn render(
        &self,
        id: &Identity,
        parsed: &GuardrailRequest,
        _: &Plan,
        _: &AnswerContext<'_>,
    ) -> Bytes {
        let found: Vec<Vec<Finding>> = parsed.texts.iter().map(|t| id.findings.scan(t)).collect();
        let body = decide(&parsed.texts, &found, parsed.threshold);
        // Room for the texts, masked, and a little escaping.
        let texts: usize = parsed.texts.iter().map(|text| text.len() + 8).sum();
        response::to_bytes_within(&body, 64 + texts + texts / 8)
    }
}

/// The answer.
#[derive(Debug, Serialize, PartialEq)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "GuardrailDecision", deny_unknown_fields)
)]
pub(super) struct Decision {
    #[cfg_attr(
        feature = "openapi",
        schemars(extend("enum" = ["BLOCKED", "GUARDRAIL_INTERVENED", "NONE"]))
    )]
    action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    blocked_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    texts: Option<Vec<String>>,
}

/// The guardrail's answer for `texts` with their findings.
fn decide(texts: &[String], found: &[Vec<Finding>], threshold: f64) -> Decision {
    let blocking = found.iter().enumerate().find_map(|(i, findings)| {
        findings
            .iter()
            .find(|f| {
                mapping::view(f).litellm == GuardrailAction::Block && f.confidence >= threshold
            })
            .map(|f| (i, f))
    });
    if let Some((i, f)) = blocking {
        return Decision {
            action: "BLOCKED",
            blocked_reason: Some(format!(
                "mockdet found {}/{} (score {}) in texts[{i}]",
                f.category, f.subcategory, f.confidence
            )),
            texts: None,
        };
    }
    let masks = |f: &&Finding| mapping::view(f).litellm == GuardrailAction::Mask;
    if !found.iter().flatten().any(|f| masks(&f)) {
        return Decision {
            action: "NONE",
            blocked_reason: None,
            texts: None,
        };
    }
    let masked = texts
        .iter()
        .zip(found)
        .map(|(text, findings)| {
            let mut spans: Vec<&Finding> = findings.iter().filter(masks).collect();
            spans.sort_by_key(|f| f.start);
            let mut out = String::with_capacity(text.len());
            let mut copied = 0;
            for f in spans {
                // A span overlapping one already masked is masked with it.
                if f.start < copied {
                    continue;
                }
                out.push_str(&text[copied..f.start]);
                out.push_str(&f.text);
                copied = f.end;
            }
            out.push_str(&text[copied..]);
            out
        })
        .collect();
    Decision {
        action: "GUARDRAIL_INTERVENED",
        blocked_reason: None,
        texts: Some(masked),
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::findings::{EnabledRules, scan};
    use super::*;

    fn decision(texts: &[&str], threshold: f64) -> Decision {
        let rules = EnabledRules::for_capabilities(&["deep_analysis".to_owned()]);
        let texts: Vec<String> = texts.iter().map(|t| (*t).to_owned()).collect();
        let found: Vec<_> = texts.iter().map(|t| scan(t, rules)).collect();
        decide(&texts, &found, threshold)
    }

    #[test]
    fn harm_blocks_pii_is_masked_and_clean_text_passes() {
        let blocked = decision(&["hello", "I will kill you"], 0.5);
        assert_eq!(blocked.action, "BLOCKED");
        let reason = blocked.blocked_reason.unwrap();
        assert!(
            reason.contains("violence/threat") && reason.contains("texts[1]"),
            "{reason}"
        );

        let masked = decision(&["mail jo@example.com now", "ok"], 0.5);
        assert_eq!(masked.action, "GUARDRAIL_INTERVENED");
        let texts = masked.texts.unwrap();
        assert!(!texts[0].contains("jo@example.com"), "{texts:?}");
        assert!(texts[0].starts_with("mail ") && texts[0].ends_with(" now"));
        assert_eq!(texts[1], "ok");

        assert_eq!(decision(&["nothing here"], 0.5).action, "NONE");
        assert_eq!(decision(&[], 0.5).action, "NONE");
    }

    #[test]
    fn a_high_threshold_lets_harm_through() {
        assert_eq!(decision(&["I will kill you"], 0.99).action, "NONE");
    }

    #[test]
    fn masking_keeps_multibyte_text_intact() {
        let masked = decision(&["é✓ jo@example.com 😀"], 0.5);
        let text = &masked.texts.unwrap()[0];
        assert!(text.starts_with("é✓ ") && text.ends_with(" 😀"), "{text}");
    }
}
