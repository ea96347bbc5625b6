//! HTTP handlers of one detector: the detection endpoints (each a thin call
//! into the [`pipeline`](super::pipeline) with its [`Wire`](super::pipeline::Wire)),
//! health, capabilities, metrics and the JSON 404/405 fallbacks.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::DetectorState;
use super::conn::Arrival;
use super::error::ApiError;
use super::protocols::{self, Endpoint};

/// A detection endpoint through the router. A detector's server sends
/// these straight to [`protocols::dispatch`] (see
/// [`DetectorService`](super::DetectorService)); the routes stay so that the
/// router alone answers the same.
pub(crate) async fn detection(
    endpoint: Endpoint,
    State(state): State<Arc<DetectorState>>,
    request: Request,
) -> Response {
    let arrival = request.extensions().get::<Arrival>().cloned();
    protocols::dispatch(&state, endpoint, request, arrival.as_ref()).await
}

/// `GET /health`: 200 healthy, or 503 unhealthy during an `unavailable` or
/// `unhealthy` outage.
pub(crate) async fn health(State(state): State<Arc<DetectorState>>) -> Response {
    let (processed, errors) = state.counts();
    let success_rate = if processed == 0 {
        1.0
    } else {
        1.0 - errors as f64 / processed as f64
    };
    let snapshot = state.current();
    let id = &snapshot.identity;
    let down = state.control.unavailable(&snapshot.behaviour);
    let (status, word) = if down {
        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy")
    } else {
        (StatusCode::OK, "healthy")
    };
    // Polls are rare next to detection requests: a label lookup is cheap here.
    state
        .metrics
        .health_checks
        .with_label_values(&[state.name.as_str(), word])
        .inc();
    let body = json!({
        "status": word,
        "detector": id.detector_id,
        "detector_id": id.detector_id,
        "name": id.name,
        "requests_processed": processed,
        "errors": errors,
        "success_rate": success_rate,
        "capabilities": id.capabilities,
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
        "seed": state.seed(),
    });
    (status, axum::Json(body)).into_response()
}

/// `GET /` and `GET /capabilities`.
pub(crate) async fn capabilities(State(state): State<Arc<DetectorState>>) -> Response {
    let snapshot = state.current();
    let id = &snapshot.identity;
    axum::Json(json!({
        "name": id.name,
        "detector_id": id.detector_id,
        "detector_type": id.detector_type,
        "version": id.version,
        "capabilities": id.capabilities,
        "content_types": id.content_types,
        "batch": snapshot.behaviour.batch.enabled,
        "max_batch_items": snapshot.behaviour.batch.max_items,
        "protocols": snapshot.profile.protocols,
        "mockdet_version": env!("CARGO_PKG_VERSION"),
    }))
    .into_response()
}

/// `GET /metrics`: this detector's series in the Prometheus text format.
pub(crate) async fn metrics(State(state): State<Arc<DetectorState>>) -> Response {
    state.refresh_gauges();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(Some(&state.name)),
    )
        .into_response()
}

/// Unknown paths: 404 JSON.
pub(crate) async fn not_found(
    State(state): State<Arc<DetectorState>>,
    request: Request,
) -> Response {
    not_found_for(&state, request.method(), request.uri())
}

/// The 404 of `method uri`, in the error shape of the protocol its path
/// most likely belongs to.
pub(crate) fn not_found_for(state: &DetectorState, method: &Method, uri: &Uri) -> Response {
    let message = format!("no route for {method} {}", uri.path());
    rejected(
        state,
        (StatusCode::NOT_FOUND, "not_found"),
        uri.path(),
        message,
    )
}

/// Known paths with the wrong method: 405 JSON.
pub(crate) async fn method_not_allowed(
    State(state): State<Arc<DetectorState>>,
    request: Request,
) -> Response {
    let path = request.uri().path();
    let message = format!("{} is not allowed on {path}", request.method());
    let refusal = (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    rejected(&state, refusal, path, message)
}

/// A request outside the detection endpoints that is refused: counted as
/// `bad_request`, not journaled (the journal holds detection requests).
fn rejected(
    state: &DetectorState,
    (status, code): (StatusCode, &'static str),
    path: &str,
    msg: String,
) -> Response {
    state
        .metrics
        .requests
        .with_label_values(&[&state.name, Endpoint::Other.as_str(), "bad_request"])
        .inc();
    let id = state.current().identity.detector_id.clone();
    let protocol = protocols::protocol_of_path(path);
    ApiError::new(status, code, msg, &id)
        .in_protocol(protocol)
        .into_response()
}
