//! Azure AI Content Safety: `POST /contentsafety/text:analyze?api-version=…`
//! `{text, categories?, blocklistNames?, haltOnBlocklistHit?, outputType?}`
//! → `{blocklistsMatch: [], categoriesAnalysis: [{category, severity}]}`.
//!
//! Each category's severity is the highest of the findings mapped to it
//! (see `mapping`), on the four-level scale (0/2/4/6) or, with
//! `outputType: EightSeverityLevels`, the eight-level one (0–7). Blocklists
//! are accepted by name and never match (mockdet keeps none). The
//! `Ocp-Apim-Subscription-Key` header is checked only when the profile sets
//! `protocol_options.azure_key`. Errors are Azure's
//! `{"error": {"code", "message"}}` (`InvalidRequestBody` for bad input).

use axum::body::Bytes;
use axum::http::request::Parts;
use axum::http::{HeaderName, StatusCode};
use serde::{Deserialize, Serialize};

use super::super::Snapshot;
use super::super::error::ApiError;
use super::super::pipeline::{Wire, Work};
use super::super::request::object_from_slice;
use super::super::response::{self, AnswerContext, Identity};
use super::Endpoint;
use super::mapping::{self, AzureCategory};
use crate::profile::Protocol;
use crate::sampling::Plan;

/// The longest text Azure analyses in one request, in characters.
const MAX_CHARS: usize = 10_000;

const SUBSCRIPTION_KEY: HeaderName = HeaderName::from_static("ocp-apim-subscription-key");

fn refused(
    status: StatusCode,
    code: &'static str,
    message: impl Into<String>,
    id: &str,
) -> ApiError {
    ApiError::new(status, code, message, id).in_protocol(Protocol::Azure)
}

fn invalid(message: impl Into<String>, id: &str) -> ApiError {
    refused(StatusCode::BAD_REQUEST, "invalid_request", message, id)
}

/// An analyze-text request, as sent.
#[derive(Deserialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "AzureAnalyzeTextRequest")
)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawRequest {
    /// At most 10,000 characters.
    #[cfg_attr(feature = "openapi", schemars(length(min = 1, max = MAX_CHARS)))]
    text: String,
    /// The categories to analyse (default: all four).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(schema_with = "categories_schema"))]
    categories: Option<Vec<String>>,
    #[serde(default)]
    #[allow(dead_code)]
    blocklist_names: Option<Vec<String>>,
    #[serde(default)]
    #[allow(dead_code)]
    halt_on_blocklist_hit: Option<bool>,
    /// `FourSeverityLevels` (0, 2, 4, 6; the default) or `EightSeverityLevels` (0–7).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schemars(schema_with = "output_type_schema"))]
    output_type: Option<String>,
}

#[cfg(feature = "openapi")]
fn categories_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = AzureCategory::ALL.iter().map(|c| c.as_str()).collect();
    schemars::json_schema!({"type": ["array", "null"], "items": {"enum": names}})
}

#[cfg(feature = "openapi")]
fn output_type_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"enum": ["FourSeverityLevels", "EightSeverityLevels", null]})
}

/// A parsed analyze-text request.
#[derive(Debug)]
pub(crate) struct AnalyzeTextRequest {
    text: String,
    categories: Vec<AzureCategory>,
    eight_levels: bool,
}

/// `POST /contentsafety/text:analyze`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AnalyzeText;

impl Wire for AnalyzeText {
    type Parsed = AnalyzeTextRequest;

    fn endpoint(&self) -> Endpoint {
        Endpoint::AzureAnalyzeText
    }

    fn admit(&self, snapshot: &Snapshot, parts: &Parts) -> Result<(), ApiError> {
        let id = &snapshot.identity.detector_id;
        let versioned = parts
            .uri
            .query()
            .is_some_and(|q| q.split('&').any(|pair| pair.starts_with("api-version=")));
        if !versioned {
            return Err(refused(
                StatusCode::NOT_FOUND,
                "missing_api_version",
                "Resource not found: the request needs an `api-version` query parameter",
                id,
            ));
        }
        let Some(key) = &snapshot.profile.protocol_options.azure_key else {
            return Ok(());
        };
        let sent = parts.headers.get(SUBSCRIPTION_KEY);
        if sent.is_some_and(|v| v.as_bytes() == key.as_bytes()) {
            return Ok(());
        }
        Err(refused(
            StatusCode::UNAUTHORIZED,
            "invalid_subscription_key",
            "Access denied due to invalid subscription key or wrong API endpoint. \
             Make sure to provide a valid key for an active subscription.",
            id,
        ))
    }

    fn parse(
        &self,
        snapshot: &Snapshot,
        _: &Parts,
        body: &[u8],
    ) -> Result<AnalyzeTextRequest, ApiError> {
        let id = snapshot.identity.detector_id.as_str();
        let raw: RawRequest = object_from_slice(body)
            .map_err(|e| invalid(format!("The request body is invalid: {e}"), id))?;
        if raw.text.is_empty() {
            return Err(invalid("The text must not be empty.", id));
        }
        let chars = raw.text.chars().count();
        if chars > MAX_CHARS {
            return Err(invalid(
                format!("The text is {chars} characters long; at most {MAX_CHARS} are analysed."),
                id,
            ));
        }
        let categories = match raw.categories {
            None => AzureCategory::ALL.to_vec(),
            Some(names) => names
                .iter()
                .map(|name| {
                    AzureCategory::parse(name).ok_or_else(|| {
                        invalid(
                            format!(
                                "`{name}` is not a category (Hate, SelfHarm, Sexual, Violence)."
                            ),
                            id,
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let eight_levels = match raw.output_type.as_deref() {
            None | Some("FourSeverityLevels") => false,
            Some("EightSeverityLevels") => true,
            Some(other) => {
                return Err(invalid(
                    format!(
                        "`{other}` is not an outputType (FourSeverityLevels, EightSeverityLevels)."
                    ),
                    id,
                ));
            }
        };
        Ok(AnalyzeTextRequest {
            text: raw.text,
            categories,
            eight_levels,
        })
    }

    fn work<'a>(&self, parsed: &'a AnalyzeTextRequest) -> Work<'a> {
        Work {
            items: None,
            content_bytes: parsed.text.len(),
            correlation_id: None,
        }
    }

    fn render(
        &self,
        id: &Identity,
        parsed: &AnalyzeTextRequest,
        _: &Plan,
        _: &AnswerContext<'_>,
    ) -> Bytes {
        let found = id.findings.scan(&parsed.text);
        let severity = |category: AzureCategory| {
            let eight = found
                .iter()
                .filter(|f| mapping::view(f).azure == Some(category))
                .map(|f| mapping::azure_severity(f.severity))
                .max()
                .unwrap_or(0);
            if parsed.eight_levels {
                eight
            } else {
                mapping::four_levels(eight)
            }
        };
        let analysis = AzureCategory::ALL
            .into_iter()
            .filter(|c| parsed.categories.contains(c))
            .map(|category| CategoryAnalysis {
                category: category.as_str(),
                severity: severity(category),
            })
            .collect();
        let body = AnalyzeTextResult {
            blocklists_match: Vec::new(),
            categories_analysis: analysis,
        };
        // Four categories take some 200 bytes, eight some 400.
        response::to_bytes_within(&body, 64 + 48 * body.categories_analysis.len())
    }
}

/// The answer: one analysis per category asked for, in Azure's order.
#[derive(Serialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "AzureAnalyzeTextResult", deny_unknown_fields)
)]
#[serde(rename_all = "camelCase")]
pub(super) struct AnalyzeTextResult {
    /// Always empty: mockdet keeps no blocklists.
    #[cfg_attr(feature = "openapi", schemars(length(max = 0)))]
    blocklists_match: Vec<serde_json::Value>,
    categories_analysis: Vec<CategoryAnalysis>,
}

#[derive(Serialize)]
#[cfg_attr(
    feature = "openapi",
    derive(schemars::JsonSchema),
    schemars(rename = "AzureCategoryAnalysis", deny_unknown_fields)
)]
struct CategoryAnalysis {
    #[cfg_attr(feature = "openapi", schemars(schema_with = "category_schema"))]
    category: &'static str,
    /// 0, 2, 4 or 6; 0–7 with `EightSeverityLevels`.
    #[cfg_attr(feature = "openapi", schemars(range(max = 7)))]
    severity: u8,
}

#[cfg(feature = "openapi")]
fn category_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = AzureCategory::ALL.iter().map(|c| c.as_str()).collect();
    schemars::json_schema!({"enum": names})
}
