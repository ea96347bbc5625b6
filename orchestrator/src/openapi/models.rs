//! Models of the orchestrator's answers written with `json!`, and of the
//! `/orchestrate` body `request::parse` reads field by field: for their
//! schemas only (never built). The writers are held to them by the tests
//! in `openapi/mod.rs`, which validate real answers against the document;
//! `deny_unknown_fields` makes a field added to a writer and not here fail.
#![allow(dead_code)]

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde_json::{Map, Value};

use crate::call::CallReport;
use crate::config::ContentType;
use crate::request::Mode;
use crate::result::Severity;

/// `POST /orchestrate`, and each of a batch's `requests`, as `request::parse` reads it.
#[derive(JsonSchema)]
#[schemars(rename = "OrchestrateRequest")]
pub(crate) struct OrchestrateBody {
    /// Not blank; at most `orchestration.max_content_length` bytes.
    #[schemars(extend("pattern" = "\\S"))]
    content: String,
    content_type: ContentType,
    /// Else `X-Tenant-ID`, else `default`.
    tenant_id: Option<String>,
    policy_bundle: Option<String>,
    environment: Option<String>,
    /// `sync` (the default) or `async` (202 and a job).
    processing_mode: Option<Mode>,
    #[schemars(extend("enum" = crate::request::PRIORITIES))]
    priority: Option<String>,
    /// Passed to the detectors as `metadata.client_metadata`.
    metadata: Option<Map<String, Value>>,
    /// Call only these (by name or id); unknown ones are reported.
    required_detectors: Option<Vec<String>>,
}

/// `POST /orchestrate/batch`.
#[derive(JsonSchema)]
#[schemars(rename = "OrchestrateBatchRequest")]
pub(crate) struct BatchBody {
    /// At most `orchestration.max_batch_size`.
    #[schemars(length(min = 1))]
    requests: Vec<OrchestrateBody>,
}

/// One orchestration's result (`fanout::Outcome::to_json`).
#[derive(JsonSchema)]
#[schemars(rename = "OrchestrateResult", deny_unknown_fields)]
pub(crate) struct OutcomeBody {
    request_id: String,
    correlation_id: String,
    tenant_id: String,
    #[schemars(extend("enum" = ["sync", "async"]))]
    processing_mode: String,
    /// `completed` (200: every detector answered), `partial` (206), `failed` (502).
    #[schemars(extend("enum" = ["completed", "partial", "failed"]))]
    status: String,
    detector_results: Vec<CallReport>,
    #[schemars(range(min = 0.0, max = 1.0))]
    coverage_achieved: f64,
    aggregation_summary: Summary,
    errors: Vec<OutcomeError>,
    processing_time_ms: f64,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Summary {
    total: usize,
    successful: usize,
    failed: usize,
    total_findings: usize,
    highest_severity: Option<Severity>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct OutcomeError {
    /// `detector_<status>`, `unknown_detector` or `unsupported_content_type`.
    code: String,
    detector: String,
    message: String,
}

/// `202`: an async request's job.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct JobAccepted {
    job_id: String,
    #[schemars(extend("const" = "accepted"))]
    status: String,
    #[schemars(extend("const" = "async"))]
    processing_mode: String,
    request_id: String,
    status_url: String,
}

/// `GET /orchestrate/status/{job_id}`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct JobView {
    job_id: String,
    #[schemars(extend("enum" = ["running", "completed"]))]
    status: String,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    completed_at: Option<String>,
    /// The status the request would have got synchronously.
    #[serde(skip_serializing_if = "Option::is_none")]
    status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<OutcomeBody>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ErrorDetail {
    /// Stable: `invalid_json`, `missing_field`, `no_detectors`, …
    code: String,
    message: String,
    /// The body field at fault (`""`: the body itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Value>,
}

/// Every refusal: `{"error": {"code", "message", "field"?, "details"?}}`.
#[derive(JsonSchema)]
#[schemars(rename = "Error", deny_unknown_fields)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

/// One result of a batch: its request's answer, numbered.
#[derive(JsonSchema)]
#[serde(untagged)]
enum Numbered {
    Outcome(NumberedOutcome),
    Accepted(NumberedAccepted),
    Refused(NumberedError),
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct NumberedOutcome {
    index: usize,
    status_code: u16,
    #[serde(flatten)]
    body: OutcomeBody,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct NumberedAccepted {
    index: usize,
    #[schemars(extend("const" = 202))]
    status_code: u16,
    #[serde(flatten)]
    body: JobAccepted,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct NumberedError {
    index: usize,
    status_code: u16,
    #[serde(flatten)]
    body: ErrorBody,
}

/// `POST /orchestrate/batch`: one result per request, in order.
#[derive(JsonSchema)]
#[schemars(rename = "OrchestrateBatchResult", deny_unknown_fields)]
pub(crate) struct BatchAnswer {
    batch_id: String,
    total: usize,
    results: Vec<Numbered>,
}

/// `POST /api/v1/orchestrate`: the result wrapped.
#[derive(JsonSchema)]
#[schemars(rename = "V1OrchestrateResult", deny_unknown_fields)]
pub(crate) struct V1Answer {
    data: OutcomeBody,
    metadata: V1Metadata,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct V1Metadata {
    #[schemars(extend("const" = "v1"))]
    api_version: String,
    request_id: String,
    correlation_id: String,
    tenant_id: String,
    #[schemars(extend("enum" = ["standard", "fast", "thorough", "comprehensive"]))]
    processing_mode: String,
    timestamp: String,
}

/// `GET /health`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct Health {
    /// `healthy` when every detector is, else `degraded`.
    #[schemars(extend("enum" = ["healthy", "degraded"]))]
    status: String,
    detectors_healthy: usize,
    detectors_total: usize,
    detectors: BTreeMap<String, DetectorHealth>,
    /// Async jobs held.
    jobs: usize,
    service: String,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct DetectorHealth {
    /// `unknown` until the first poll.
    #[schemars(extend("enum" = ["healthy", "unhealthy", "unknown"]))]
    health: String,
    #[schemars(extend("enum" = ["closed", "half_open", "open"]))]
    circuit_breaker: String,
    endpoint: String,
    capabilities: Vec<String>,
}
