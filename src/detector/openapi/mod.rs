//! A detector's HTTP contract as an OpenAPI 3.1 document, served at
//! `GET /openapi.json` (the `openapi` feature, which the `mockdet` binary
//! turns on).
//!
//! Generated from the code so it cannot drift: the paths of the detection
//! endpoints come from the endpoint table ([`protocols`](super::protocols)),
//! their request and answer schemas from the parsers' and renderers' own
//! types (schemars, both serde sides: see `schemas`), their refusals and
//! error shapes from `protocols::contract`; the rest — health,
//! capabilities, metrics and `/admin` (`admin`) — is described here, the
//! admin bodies by the profile types themselves. `tests.rs` sends real
//! requests through the router and validates every answer against the
//! document.

mod admin;
pub(crate) mod models;
mod schemas;
#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

pub(crate) use schemas::Schemas;

use super::protocols::contract;
use super::{AdminAccess, DetectorState};
use crate::profile::Protocol;

/// `GET /openapi.json`: the document, fitted to this detector's admin
/// access and its profile's Presidio languages as of now.
pub(crate) async fn serve(State(state): State<Arc<DetectorState>>) -> Response {
    let mut document = document(&state.admin);
    let languages = &state.current().profile.protocol_options.languages;
    fit_languages(&mut document, languages);
    axum::Json(document).into_response()
}

/// Narrows the Presidio `language`s (of `/analyze` and the listings) to
/// those the profile accepts.
fn fit_languages(document: &mut Value, languages: &[String]) {
    let schemas = &mut document["components"]["schemas"];
    if let Some(language) = schemas.pointer_mut("/PresidioAnalyzeRequest/properties/language") {
        language["enum"] = json!(languages);
    }
    for path in ["/supportedentities", "/recognizers"] {
        let parameter = &mut document["paths"][path]["get"]["parameters"][0];
        if parameter["name"] == "language" {
            parameter["schema"]["enum"] = json!(languages);
        }
    }
}

/// The document for a detector whose admin API has `access`.
pub(crate) fn document(access: &AdminAccess) -> Value {
    // Generating the schemas takes a few milliseconds; they never change.
    static BASE: OnceLock<Value> = OnceLock::new();
    let mut document = BASE.get_or_init(base).clone();
    admin::apply_access(&mut document, access);
    document
}

/// The document with the admin API open.
fn base() -> Value {
    let mut s = Schemas::new();
    let mut paths = Map::new();
    contract::detection_paths(&mut s, &mut paths);
    service_paths(&mut s, &mut paths);
    let refusals = admin::paths(&mut s, &mut paths);
    let tags: Vec<Value> = Protocol::ALL
        .iter()
        .map(|p| json!({"name": p.as_str()}))
        .chain([json!({"name": "service"}), json!({"name": "admin"})])
        .collect();
    let mut document = json!({
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "mockdet detector",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "One mock detector: six wire protocols on one engine (latency, \
                faults, outages, scripts, journal), health, metrics and runtime control. \
                Every refusal is JSON in the protocol's own error shape.",
        },
        "tags": tags,
        "paths": paths,
        "components": {"responses": refusals},
    });
    s.finish(&mut document);
    document
}

/// Health, capabilities, metrics and this document.
fn service_paths(s: &mut Schemas, paths: &mut Map<String, Value>) {
    let health = s.answer::<models::HealthBody>();
    let capabilities = s.answer::<models::CapabilitiesBody>();
    let get = |id: &str, summary: &str, responses: Value| json!({"get": {"operationId": id, "tags": ["service"], "summary": summary, "responses": responses}});
    let described = response("Who this detector is and what it serves.", capabilities);
    let items = [
        (
            "/health",
            get(
                "health",
                "Health",
                json!({
                    "200": response("Healthy.", health.clone()),
                    "503": response("Unhealthy: an `unavailable` or `unhealthy` outage is open.", health),
                }),
            ),
        ),
        (
            "/",
            get("root", "Capabilities", json!({"200": described.clone()})),
        ),
        (
            "/capabilities",
            get("capabilities", "Capabilities", json!({"200": described})),
        ),
        (
            "/metrics",
            get(
                "metrics",
                "Prometheus metrics",
                json!({"200": {
                    "description": "This detector's series, in the Prometheus text format 0.0.4.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }}),
            ),
        ),
        (
            "/openapi.json",
            get(
                "openapi",
                "This document",
                json!({"200": response(
                    "The OpenAPI 3.1 document of this detector.",
                    json!({"type": "object"}),
                )}),
            ),
        ),
    ];
    for (path, item) in items {
        paths.insert(path.to_owned(), item);
    }
}

/// A response with a JSON body.
pub(crate) fn response(description: &str, schema: Value) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": schema}},
    })
}

/// A header parameter.
pub(crate) fn header(name: &str, required: bool, schema: Value, description: &str) -> Value {
    json!({
        "name": name,
        "in": "header",
        "required": required,
        "schema": schema,
        "description": description,
    })
}

/// `response` with `headers` (header parameters) as its response headers.
pub(crate) fn with_headers(mut response: Value, headers: &[Value]) -> Value {
    let map: Map<String, Value> = headers
        .iter()
        .map(|h| {
            let mut h = h.clone();
            let name = h["name"].as_str().unwrap_or_default().to_owned();
            if let Some(fields) = h.as_object_mut() {
                fields.remove("name");
                fields.remove("in");
            }
            (name, h)
        })
        .collect();
    response["headers"] = Value::Object(map);
    response
}
