//! The orchestrator's HTTP contract as an OpenAPI 3.1 document, served at
//! `GET /openapi.json`: every route of `api::router`, with request and
//! answer schemas derived by schemars from the types that read and write
//! them (`v1::V1Body`, `call::CallReport`, `result::DetectorResult`, …) or,
//! for bodies written with `json!`, from their models (`models`). The tests
//! below validate real answers against it.

mod models;
#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use super::settings::Settings;
use super::state::AppState;
use super::v1::V1Body;
use models::{
    BatchAnswer, BatchBody, ErrorBody, Health, JobAccepted, JobView, OrchestrateBody, OutcomeBody,
    V1Answer,
};

/// `GET /openapi.json`.
pub(crate) async fn serve(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(document(&state.settings)).into_response()
}

/// The document for an orchestrator with `settings` (its API key, if any).
pub(crate) fn document(settings: &Settings) -> Value {
    static BASE: OnceLock<Value> = OnceLock::new();
    let mut document = BASE.get_or_init(base).clone();
    if settings.api_key.is_some() {
        require_key(&mut document, settings.api_key_header.as_str());
    }
    document
}

/// One generator per serde side; their schemas never share a name (see
/// the tests), so both go into `components/schemas`.
struct Schemas {
    requests: SchemaGenerator,
    answers: SchemaGenerator,
}

impl Schemas {
    fn request<T: JsonSchema>(&mut self) -> Value {
        self.requests.subschema_for::<T>().to_value()
    }

    fn answer<T: JsonSchema>(&mut self) -> Value {
        self.answers.subschema_for::<T>().to_value()
    }
}

fn generator(settings: SchemaSettings) -> SchemaGenerator {
    settings
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator()
}

fn response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn header(name: &str, required: bool, description: &str) -> Value {
    json!({"name": name, "in": "header", "required": required,
           "schema": {"type": "string"}, "description": description})
}

/// The document with no API key configured.
fn base() -> Value {
    let mut s = Schemas {
        requests: generator(SchemaSettings::draft2020_12().for_deserialize()),
        answers: generator(SchemaSettings::draft2020_12().for_serialize()),
    };
    let paths = base_paths(&mut s);
    let mut schemas = s.requests.take_definitions(true);
    schemas.extend(s.answers.take_definitions(true));
    json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "mockdet reference orchestrator",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Fans a request out to its detectors with retries, circuit breakers \
                and an SLA budget. Every refusal is JSON with a stable `error.code`.",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    })
}

/// Every route of `api::router`.
fn base_paths(s: &mut Schemas) -> Map<String, Value> {
    let error = s.answer::<ErrorBody>();
    let refused = |why: &str| response(&format!("Refused: {why}."), error.clone());
    let outcome = s.answer::<OutcomeBody>();
    let job = s.answer::<JobView>();
    let health = s.answer::<Health>();
    let correlation = header("X-Correlation-ID", false, "passed to the detectors; echoed");
    let tenant = |required| {
        header(
            "X-Tenant-ID",
            required,
            "the tenant, when the body names none",
        )
    };
    let ids = json!({
        "X-Correlation-ID": {"schema": {"type": "string"}, "description": "the correlation id"},
        "X-Request-ID": {"schema": {"type": "string"}, "description": "this request's id"},
    });
    let with_ids = |mut r: Value| {
        r["headers"] = ids.clone();
        r
    };
    let not_json = refused("the body is not JSON (`invalid_json`)");
    let too_large = refused("the body is over 64 MiB (`body_too_large`)");
    let orchestrate = json!({"post": {
        "operationId": "orchestrate",
        "summary": "Call the detectors for one content",
        "parameters": [correlation, tenant(false)],
        "requestBody": {"required": true, "content": {"application/json": {"schema": s.request::<OrchestrateBody>()}}},
        "responses": {
            "200": with_ids(response("Every selected detector answered.", outcome.clone())),
            "202": with_ids(response("Accepted as a job (`processing_mode: async`).", s.answer::<JobAccepted>())),
            "206": with_ids(response("Some answered, within the SLA budget.", outcome.clone())),
            "400": not_json.clone(),
            "413": too_large.clone(),
            "422": with_ids(refused("a field is missing or wrong, or no detector can take it (`no_detectors`)")),
            "502": with_ids(response("No selected detector answered.", outcome.clone())),
        },
    }});
    let batch = json!({"post": {
        "operationId": "orchestrate_batch",
        "summary": "Orchestrate several requests at once",
        "parameters": [correlation, tenant(false)],
        "requestBody": {"required": true, "content": {"application/json": {"schema": s.request::<BatchBody>()}}},
        "responses": {
            "200": with_ids(response("One result per request, in order, each with its own status.", s.answer::<BatchAnswer>())),
            "400": not_json.clone(),
            "413": too_large.clone(),
            "422": refused("no `requests` list, an empty one, or more than `max_batch_size`"),
        },
    }});
    let status = |id: &str| {
        json!({"get": {
            "operationId": id,
            "summary": "An async job's status and, once done, its result",
            "parameters": [{"name": "job_id", "in": "path", "required": true, "schema": {"type": "string"}}],
            "responses": {
                "200": response("The job.", job.clone()),
                "404": refused("no such job, or evicted (`job_not_found`)"),
            },
        }})
    };
    let v1 = json!({"post": {
        "operationId": "v1_orchestrate",
        "summary": "The /api/v1 shape: strict body, tenant header, rate limit, wrapped reply",
        "parameters": [correlation, tenant(true)],
        "requestBody": {"required": true, "content": {"application/json": {"schema": s.request::<V1Body>()}}},
        "responses": {
            "200": with_ids(response("Every or some detectors answered.", s.answer::<V1Answer>())),
            "400": refused("no `X-Tenant-ID` (`missing_tenant`), or the body is not JSON"),
            "413": too_large,
            "422": refused("an unknown field, or a field missing or wrong"),
            "429": {
                "description": "Refused: the tenant is over its rate limit (`rate_limited`).",
                "headers": {"Retry-After": {"required": true, "schema": {"type": "integer"}}},
                "content": {"application/json": {"schema": error.clone()}},
            },
            "502": with_ids(response("No selected detector answered.", s.answer::<V1Answer>())),
        },
    }});
    let get = |id: &str, summary: &str, ok: Value| json!({"get": {"operationId": id, "summary": summary, "responses": {"200": ok}}});
    let metrics = json!({
        "description": "The Prometheus text format 0.0.4.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    });
    let mut paths = Map::new();
    for (path, item) in [
        ("/orchestrate", orchestrate),
        ("/orchestrate/batch", batch),
        ("/orchestrate/status/{job_id}", status("job_status")),
        ("/api/v1/orchestrate", v1),
        (
            "/api/v1/orchestrate/status/{job_id}",
            status("v1_job_status"),
        ),
        (
            "/health",
            get(
                "health",
                "The detectors' health, from the background poll",
                response("Health.", health.clone()),
            ),
        ),
        (
            "/api/v1/health",
            get("v1_health", "As `/health`", response("Health.", health)),
        ),
        ("/metrics", get("metrics", "Prometheus metrics", metrics)),
        (
            "/openapi.json",
            get(
                "openapi",
                "This document",
                response("OpenAPI 3.1.", json!({"type": "object"})),
            ),
        ),
    ] {
        paths.insert(path.to_owned(), item);
    }
    paths
}

/// Every route but health, metrics and this document needs the key.
fn require_key(document: &mut Value, header: &str) {
    document["components"]["securitySchemes"] =
        json!({"apiKey": {"type": "apiKey", "in": "header", "name": header}});
    let error = json!({"$ref": "#/components/schemas/Error"});
    let Some(paths) = document["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        if path.ends_with("/health") || path == "/metrics" || path == "/openapi.json" {
            continue;
        }
        for operation in item
            .as_object_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            operation["security"] = json!([{"apiKey": []}]);
            operation["responses"]["401"] =
                response("No or a wrong API key (`unauthorized`).", error.clone());
        }
    }
}
