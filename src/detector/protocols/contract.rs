//! The detection endpoints' HTTP contract as data, for the OpenAPI document
//! (`openapi` feature): for each [`Endpoint`] of the table, the request
//! body its parser reads, the answer its renderer writes, the refusals it
//! can send and the protocol error shape they take. The schemas come from
//! the parsers' and renderers' own types, or for the few answers written by
//! hand from their models (`detector/openapi/models.rs`).

use serde_json::{Map, Value, json};

use super::super::openapi::models::{SuccessBody, error_schema, moderation_answer};
use super::super::openapi::{Schemas, header, response, with_headers};
use super::super::request::RawRequest;
use super::super::response::BatchBody;
use super::{Endpoint, azure, fms, litellm, presidio};
use crate::profile::{FaultKind, Protocol};

/// Refusals every detection endpoint can send, from the shared pipeline.
const PIPELINE: [(u16, &str); 4] = [
    (
        400,
        "the body broke off (`unreadable_body`); an `X-Mock-*` header is malformed \
         (`invalid_override`, only where overrides are allowed)",
    ),
    (
        404,
        "the profile leaves this protocol out of `protocols` (`protocol_not_served`)",
    ),
    (
        408,
        "the body did not arrive within the read timeout (`body_timeout`)",
    ),
    (
        413,
        "the body is over the profile's `limits.body_bytes` (`body_too_large`)",
    ),
];

/// What one detection endpoint reads, writes and refuses.
struct Row {
    summary: &'static str,
    request: Value,
    answer: Value,
    /// The shape of its refusals and injected errors.
    errors: Value,
    /// Refusals beyond [`PIPELINE`]'s.
    refusals: &'static [(u16, &'static str)],
    parameters: Vec<Value>,
}

const NOT_JSON: (u16, &str) = (400, "the body is not JSON (`invalid_json`)");
const FMS: &[(u16, &str)] = &[
    NOT_JSON,
    (
        422,
        "the `detector-id` header is missing (not on chat), the body is no JSON object, \
         or a field is missing or wrong",
    ),
];

/// The row of `endpoint`; `None` for those that are not routes of their own.
fn row(endpoint: Endpoint, s: &mut Schemas) -> Option<Row> {
    let native = error_schema(Protocol::Native, s);
    let fms_errors = error_schema(Protocol::Fms, s);
    let detector_id = |required| {
        let why = "the detector's id, as the FMS orchestrator sends it (journaled)";
        header("detector-id", required, json!({"type": "string"}), why)
    };
    let row = match endpoint {
        Endpoint::Detect => Row {
            summary: "Detect: one content, one result (mockdet's own protocol)",
            request: s.request::<RawRequest>(),
            answer: s.answer::<SuccessBody>(),
            errors: native,
            refusals: &[
                NOT_JSON,
                (
                    422,
                    "the body is no JSON object (`invalid_request`); `content` is missing, \
                     empty or not a string",
                ),
            ],
            parameters: Vec::new(),
        },
        Endpoint::Analyze => Row {
            summary: "Analyze: mockdet's request (with `content`) or a Presidio analyzer request \
                      (with `text` and `language`)",
            request: json!({"oneOf": [
                s.request::<RawRequest>(),
                {"allOf": [s.request::<presidio::RawPresidio>()], "not": {"required": ["content"]}},
            ]}),
            answer: json!({"anyOf": [
                s.answer::<SuccessBody>(),
                s.answer::<Vec<presidio::PresidioResult>>(),
                {"type": "array", "items": s.answer::<Vec<presidio::PresidioResult>>(), "minItems": 1},
            ]}),
            errors: json!({"anyOf": [native, error_schema(Protocol::Presidio, s)]}),
            refusals: &[
                (
                    400,
                    "not JSON (`invalid_json`), or a Presidio request Presidio refuses \
                     (no text, no or an unsupported language, a field of the wrong type)",
                ),
                (
                    422,
                    "no JSON object (`invalid_request`); neither `content` nor \
                     `text`/`language` (`unknown_body`); `content` empty or not a string",
                ),
            ],
            parameters: Vec::new(),
        },
        Endpoint::Batch => Row {
            summary: "Detect in a batch: each item succeeds or fails on its own",
            request: json!({"anyOf": [
                {"type": "array", "items": s.request::<RawRequest>(), "minItems": 1},
                {
                    "type": "object",
                    "properties": {"items": {"type": "array", "items": s.request::<RawRequest>(), "minItems": 1}},
                    "required": ["items"],
                },
            ]}),
            answer: s.answer::<BatchBody<'static>>(),
            errors: native,
            refusals: &[
                (
                    400,
                    "not JSON (`invalid_json`); batching is off (`batch_disabled`)",
                ),
                (413, "more items than `batch.max_items` (`too_many_items`)"),
                (
                    422,
                    "not an array or `{\"items\": [...]}` (`invalid_batch`), or empty (`empty_batch`)",
                ),
            ],
            parameters: Vec::new(),
        },
        Endpoint::FmsContents => Row {
            summary: "FMS: one list of detections (with spans, in characters) per content",
            request: s.request::<fms::ContentsRequest>(),
            answer: s.answer::<Vec<Vec<fms::SpanDetection<'static>>>>(),
            errors: fms_errors,
            refusals: FMS,
            parameters: vec![detector_id(true)],
        },
        Endpoint::FmsGeneration | Endpoint::FmsChat | Endpoint::FmsContextDoc => {
            let (summary, request) = match endpoint {
                Endpoint::FmsGeneration => (
                    "FMS: detections in a generated text",
                    s.request::<fms::GenerationRequest>(),
                ),
                Endpoint::FmsChat => (
                    "FMS: detections in a conversation",
                    s.request::<fms::ChatRequest>(),
                ),
                _ => (
                    "FMS: detections in a content with its context",
                    s.request::<fms::ContextRequest>(),
                ),
            };
            Row {
                summary,
                request,
                answer: s.answer::<Vec<fms::Detection>>(),
                errors: fms_errors,
                refusals: FMS,
                parameters: vec![detector_id(endpoint != Endpoint::FmsChat)],
            }
        }
        Endpoint::OpenaiModerations => Row {
            summary: "OpenAI moderations",
            request: s.request::<super::openai::RawRequest>(),
            answer: s.answer_with(moderation_answer),
            errors: error_schema(Protocol::Openai, s),
            refusals: &[(
                400,
                "no JSON object, or `input` or `model` missing or wrong",
            )],
            parameters: Vec::new(),
        },
        Endpoint::AzureAnalyzeText => Row {
            summary: "Azure AI Content Safety: analyze text",
            request: s.request::<azure::RawRequest>(),
            answer: s.answer::<azure::AnalyzeTextResult>(),
            errors: error_schema(Protocol::Azure, s),
            refusals: &[
                (
                    400,
                    "no JSON object, or a field missing or wrong (`InvalidRequestBody`)",
                ),
                (
                    401,
                    "the profile sets `protocol_options.azure_key` and \
                     `Ocp-Apim-Subscription-Key` does not match",
                ),
                (404, "no `api-version` query parameter"),
            ],
            parameters: vec![
                json!({
                    "name": "api-version", "in": "query", "required": true,
                    "schema": {"type": "string", "examples": ["2024-09-01"]},
                    "description": "Required, any value.",
                }),
                header(
                    "Ocp-Apim-Subscription-Key",
                    false,
                    json!({"type": "string"}),
                    "checked only when the profile sets `protocol_options.azure_key`",
                ),
            ],
        },
        Endpoint::LitellmGuardrail => Row {
            summary: "LiteLLM generic guardrail API",
            request: s.request::<litellm::RawRequest>(),
            answer: s.answer::<litellm::Decision>(),
            errors: native,
            refusals: &[(
                422,
                "no JSON object, or `input_type` missing or wrong, or a field of the wrong type",
            )],
            parameters: Vec::new(),
        },
        // Served by `/analyze`'s row; not a route.
        Endpoint::PresidioAnalyze | Endpoint::Other => return None,
    };
    Some(row)
}

/// The headers every detection request may carry.
fn common_parameters() -> Vec<Value> {
    let string = json!({"type": "string"});
    let mut faults = vec!["none"];
    faults.extend(FaultKind::ALL.iter().map(|k| k.as_str()));
    let overrides = "honoured only where the profile allows overrides (`--allow-overrides`)";
    vec![
        header(
            "X-Correlation-ID",
            false,
            string.clone(),
            "echoed; journaled",
        ),
        header(
            "X-Request-ID",
            false,
            string,
            "echoed; names the request in its answer",
        ),
        header(
            "X-Mock-Delay-Ms",
            false,
            json!({"type": "number", "minimum": 0, "maximum": crate::profile::MAX_MS}),
            overrides,
        ),
        header("X-Mock-Fault", false, json!({"enum": faults}), overrides),
        header(
            "X-Mock-Status",
            false,
            json!({"type": "integer"}),
            overrides,
        ),
    ]
}

/// The path items of every detection endpoint, in table order.
pub(crate) fn detection_paths(s: &mut Schemas, paths: &mut Map<String, Value>) {
    for (endpoint, path) in Endpoint::routed() {
        let Some(row) = row(endpoint, s) else {
            continue;
        };
        let protocol = endpoint.protocol();
        paths.insert(
            path.to_owned(),
            json!({"post": operation(endpoint, protocol, row)}),
        );
    }
    presidio_listings(s, paths);
}

fn operation(endpoint: Endpoint, protocol: Protocol, row: Row) -> Value {
    let seq = header(
        "X-Mock-Seq",
        true,
        json!({"type": "integer", "minimum": 1}),
        "the request's sequence number on this detector",
    );
    let echoed = [
        header(
            "X-Correlation-ID",
            false,
            json!({"type": "string"}),
            "the correlation id resolved",
        ),
        header("X-Request-ID", false, json!({"type": "string"}), "as sent"),
    ];
    let mut headers: Vec<Value> = [seq].into_iter().chain(echoed.clone()).collect();
    let ok = "The answer. Under an injected `malformed_json`, `schema_invalid` or `empty_body` \
              fault a 200 deliberately breaks this schema.";
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        with_headers(response(ok, row.answer), &headers),
    );
    let mut refusals: Vec<(u16, Vec<&str>)> = Vec::new();
    for (status, why) in PIPELINE.iter().chain(row.refusals) {
        match refusals.iter_mut().find(|(s, _)| s == status) {
            Some((_, whys)) => whys.push(why),
            None => refusals.push((*status, vec![why])),
        }
    }
    refusals.sort_by_key(|(status, _)| *status);
    for (status, whys) in refusals {
        let text = format!("Refused: {}.", whys.join("; "));
        let refusal = with_headers(response(&text, row.errors.clone()), &headers);
        responses.insert(status.to_string(), refusal);
    }
    // An injected error may also be acted out by a connection's holder,
    // which writes no sequence number.
    headers[0]["required"] = json!(false);
    headers.push(header(
        "Retry-After",
        false,
        json!({"type": "integer"}),
        "seconds",
    ));
    if protocol == Protocol::Openai {
        let more = [
            "retry-after-ms",
            "x-ratelimit-limit-requests",
            "x-ratelimit-remaining-requests",
        ];
        headers.extend(more.map(|h| header(h, false, json!({"type": "string"}), "on 429 and 5xx")));
    }
    let injected = "An injected HTTP error (the profile's fault menu, an outage, next-N, a \
                    script, a burst or `X-Mock-Status`), in this protocol's error shape.";
    for range in ["4XX", "5XX"] {
        let answer = with_headers(response(injected, row.errors.clone()), &headers);
        responses.insert(range.into(), answer);
    }
    let mut parameters = common_parameters();
    parameters.extend(row.parameters);
    json!({
        "operationId": endpoint.as_str(),
        "tags": [protocol.as_str()],
        "summary": row.summary,
        "parameters": parameters,
        "requestBody": {"required": true, "content": {"application/json": {"schema": row.request}}},
        "responses": responses,
    })
}

/// `GET /supportedentities` and `GET /recognizers`.
fn presidio_listings(s: &mut Schemas, paths: &mut Map<String, Value>) {
    let errors = error_schema(Protocol::Presidio, s);
    let language = json!({
        "name": "language", "in": "query", "required": false,
        "schema": {"type": "string", "examples": ["en"]},
        "description": "one of the profile's `protocol_options.languages` (default: any)",
    });
    for (path, id, what) in [
        (
            "/supportedentities",
            "presidio_supported_entities",
            "The entity types this detector finds",
        ),
        (
            "/recognizers",
            "presidio_recognizers",
            "The Presidio recognizers behind them",
        ),
    ] {
        paths.insert(
            path.to_owned(),
            json!({"get": {
                "operationId": id,
                "tags": ["presidio"],
                "summary": what,
                "parameters": [language],
                "responses": {
                    "200": response(what, s.answer::<Vec<String>>()),
                    "400": response("Refused: an unsupported language.", errors.clone()),
                    "404": response("The profile does not serve the Presidio protocol.", errors.clone()),
                },
            }}),
        );
    }
}
