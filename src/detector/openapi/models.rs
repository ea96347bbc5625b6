//! Models of the answers written by hand (byte writers and `json!`
//! bodies), for their schemas only: never built, only described. The
//! writers are held to them by `tests.rs`, which validates real answers
//! against the document; `deny_unknown_fields` makes a field added to a
//! writer and not here fail those tests.
#![allow(dead_code)]

use schemars::JsonSchema;
use serde_json::{Map, Value, json};

use super::Schemas;
use crate::detector::findings::{Finding, Severity};
use crate::detector::protocols::openai::CATEGORIES;
use crate::profile::{DetectorProfile, NextFaults, Outage, Protocol};
use crate::{JournalEntry, ScriptStatus};

/// mockdet's own answer (`/detect`, `/analyze` with `content`), as
/// `success::write` writes it: the orchestrator contract's `DetectorResult`
/// fields and the older mock shape's, in one body.
#[derive(JsonSchema)]
#[schemars(rename = "DetectionAnswer", deny_unknown_fields)]
pub(crate) struct SuccessBody {
    detector_id: String,
    detector_type: String,
    /// The deciding finding's confidence, or 0.95 when nothing was found.
    #[schemars(extend("exclusiveMinimum" = 0), range(max = 1.0))]
    confidence: f64,
    /// The deciding finding's category, or `clean`.
    category: String,
    subcategory: Option<String>,
    severity: Severity,
    /// Offsets count bytes.
    findings: Vec<Finding>,
    metadata: AnswerMetadata,
    processing_time_ms: f64,
    detector: String,
    version: String,
    request_id: String,
    #[schemars(extend("format" = "date-time"))]
    timestamp: String,
    content_type: String,
    detections: Vec<DetectionLabel>,
    overall_confidence: f64,
    total_findings: usize,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct AnswerMetadata {
    #[schemars(extend("const" = true))]
    mock: bool,
    /// The profile's name.
    profile: String,
    seq: u64,
    correlation_id: Option<String>,
    /// Bytes of `content`.
    content_length: usize,
    injected_delay_ms: f64,
}

/// A finding without its span.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct DetectionLabel {
    category: String,
    subcategory: String,
    confidence: f64,
    severity: Severity,
}

/// A batch item that succeeded: the single answer plus its status.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct BatchItemSuccess {
    #[serde(flatten)]
    answer: SuccessBody,
    #[schemars(extend("const" = "success"))]
    status: String,
}

/// A batch item that failed (bad item, or an injected item failure).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct BatchItemError {
    #[schemars(extend("const" = "error"))]
    status: String,
    /// The message.
    error: String,
    code: String,
    detector: String,
    request_id: String,
    content_type: Option<String>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct CodeMessage {
    /// Stable: `invalid_json`, `missing_content`, `injected_fault`, …
    code: String,
    message: String,
}

/// mockdet's error shape (also LiteLLM's and the admin API's).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct NativeError {
    error: CodeMessage,
    /// The detector's id.
    detector: String,
}

/// The FMS Detector API's error shape.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct FmsError {
    /// The HTTP status.
    #[schemars(range(min = 400, max = 599))]
    code: u16,
    message: String,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct OpenaiErrorBody {
    message: String,
    #[schemars(rename = "type")]
    kind: String,
    param: (),
    code: String,
}

/// OpenAI's error shape.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct OpenaiError {
    error: OpenaiErrorBody,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct AzureInnerError {
    /// mockdet's own code.
    code: String,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct AzureErrorBody {
    /// `InvalidRequestBody`, `401`, `ResourceNotFound`, `TooManyRequests`, …
    code: String,
    message: String,
    #[schemars(length(max = 0))]
    details: Vec<Value>,
    innererror: AzureInnerError,
}

/// Azure AI Content Safety's error shape.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct AzureError {
    error: AzureErrorBody,
}

/// The Presidio analyzer's error shape.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct PresidioError {
    error: String,
}

/// The schema of `protocol`'s error shape (see
/// [`errors`](crate::detector::protocols::errors)).
pub(crate) fn error_schema(protocol: Protocol, s: &mut Schemas) -> Value {
    match protocol {
        Protocol::Native | Protocol::Litellm => s.answer::<NativeError>(),
        Protocol::Fms => s.answer::<FmsError>(),
        Protocol::Openai => s.answer::<OpenaiError>(),
        Protocol::Azure => s.answer::<AzureError>(),
        Protocol::Presidio => s.answer::<PresidioError>(),
    }
}

/// `GET /health`: what the handler writes.
#[derive(JsonSchema)]
#[schemars(rename = "Health", deny_unknown_fields)]
pub(crate) struct HealthBody {
    /// `unhealthy` (with 503) during an `unavailable` or `unhealthy` outage.
    #[schemars(extend("enum" = ["healthy", "unhealthy"]))]
    status: String,
    /// The detector's id (as `detector_id`).
    detector: String,
    detector_id: String,
    name: String,
    requests_processed: u64,
    errors: u64,
    success_rate: f64,
    capabilities: Vec<String>,
    uptime_seconds: f64,
    seed: u64,
}

/// `GET /` and `GET /capabilities`: what the handler writes.
#[derive(JsonSchema)]
#[schemars(rename = "Capabilities", deny_unknown_fields)]
pub(crate) struct CapabilitiesBody {
    name: String,
    detector_id: String,
    detector_type: String,
    version: String,
    capabilities: Vec<String>,
    content_types: Vec<String>,
    /// Whether `/detect/batch` is served.
    batch: bool,
    max_batch_items: usize,
    protocols: Vec<Protocol>,
    mockdet_version: String,
}

/// `{"ok": true, "profile": …}`: a profile replaced or patched.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct ProfileChanged {
    #[schemars(extend("const" = true))]
    ok: bool,
    /// The profile now in force.
    profile: DetectorProfile,
}

/// `{"ok": true, "outage": …}`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct OutageOpened {
    #[schemars(extend("const" = true))]
    ok: bool,
    outage: Outage,
}

/// `{"ok": true, "next": …}`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct NextSet {
    #[schemars(extend("const" = true))]
    ok: bool,
    next: NextFaults,
}

/// `{"ok": true, "script": …}`: where the script just started is.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct ScriptStarted {
    #[schemars(extend("const" = true))]
    ok: bool,
    script: Option<ScriptStatus>,
}

/// `GET /admin/script`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct ScriptState {
    running: bool,
    status: Option<ScriptStatus>,
}

/// `{"ok": true}`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Done {
    #[schemars(extend("const" = true))]
    ok: bool,
}

/// `GET /admin/requests`: the journal, oldest first.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Journal {
    count: usize,
    requests: Vec<JournalEntry>,
}

/// OpenAI's answer, as `openai::answer` writes it: every category in every map.
pub(crate) fn moderation_answer(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let per_category = |value: Value| {
        let properties: Map<String, Value> = CATEGORIES
            .iter()
            .map(|c| ((*c).to_owned(), value.clone()))
            .collect();
        json!({
            "type": "object",
            "properties": properties,
            "required": CATEGORIES,
            "additionalProperties": false,
        })
    };
    let kinds = json!({"type": "array", "items": {"enum": ["text", "image"]}});
    let score = json!({"type": "number", "minimum": 0, "maximum": 1});
    let result = json!({
        "type": "object",
        "properties": {
            "flagged": {"type": "boolean"},
            "categories": per_category(json!({"type": "boolean"})),
            "category_scores": per_category(score),
            "category_applied_input_types": per_category(kinds),
        },
        "required": ["flagged", "categories", "category_scores", "category_applied_input_types"],
        "additionalProperties": false,
    });
    schemars::json_schema!({
        "type": "object",
        "description": "One result per input string, or one for a list of content parts.",
        "properties": {
            "id": {"type": "string"},
            "model": {"type": "string"},
            "results": {"type": "array", "items": result},
        },
        "required": ["id", "model", "results"],
        "additionalProperties": false,
    })
}
