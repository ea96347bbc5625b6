//! The orchestrator's HTTP surface: the router, the API-key check, and the
//! small endpoints (`/health`, `/metrics`, job status). Orchestration
//! itself is in `handlers` (CONTRACT §5) and `v1` (the `/api/v1` shape).

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::error::{self, ApiError};
use super::handlers;
use super::openapi;
use super::state::AppState;
use super::v1;

/// The whole app. Every route but `/health`, `/metrics` and
/// `/api/v1/health` sits behind the API key when one is configured.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let guarded = Router::new()
        .route("/orchestrate", post(handlers::orchestrate))
        .route("/orchestrate/batch", post(handlers::batch))
        .route("/orchestrate/status/{job_id}", get(status))
        .route("/api/v1/orchestrate", post(v1::orchestrate))
        .route("/api/v1/orchestrate/status/{job_id}", get(status))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ));
    Router::new()
        .route("/health", get(health))
        .route("/api/v1/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi::serve))
        .merge(guarded)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
}

/// 401 unless the configured key is in the configured header.
async fn require_api_key(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(expected) = &state.settings.api_key {
        let header = &state.settings.api_key_header;
        let given = request.headers().get(header).map(HeaderValue::as_bytes);
        if given != Some(expected.as_bytes()) {
            let what = if given.is_some() {
                "is not valid"
            } else {
                "is missing"
            };
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                format!("the API key in `{header}` {what}"),
            )
            .into_response();
        }
    }
    next.run(request).await
}

/// `{"status": "healthy"|"degraded", "detectors_healthy", "detectors_total"}`
/// from the background poll, plus each detector's health and breaker.
async fn health(State(state): State<Arc<AppState>>) -> Response {
    let mut detectors = Map::new();
    let mut healthy = 0;
    for slot in &state.slots {
        if !slot.health.is_unhealthy() {
            healthy += 1;
        }
        detectors.insert(
            slot.target.name.clone(),
            json!({
                "health": slot.health.label(),
                "circuit_breaker": slot.breaker.state().as_str(),
                "endpoint": slot.target.analyze_url.as_str(),
                "capabilities": slot.target.capabilities,
            }),
        );
    }
    let total = state.slots.len();
    let body = json!({
        "status": if healthy == total { "healthy" } else { "degraded" },
        "detectors_healthy": healthy,
        "detectors_total": total,
        "detectors": Value::Object(detectors),
        "jobs": state.jobs.len(),
        "service": "mockdet reference orchestrator",
    });
    axum::Json(body).into_response()
}

/// Prometheus text, breaker gauges refreshed first.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    state.refresh_breaker_gauges();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// `GET /orchestrate/status/{job_id}`: 200 with the job, 404 if unknown.
async fn status(
    State(state): State<Arc<AppState>>,
    job_id: Result<Path<String>, PathRejection>,
) -> Response {
    let view = job_id.ok().and_then(|Path(id)| state.jobs.view(&id));
    match view {
        Some(view) => axum::Json(view).into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "job_not_found",
            "no such job (it may have been evicted)",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DetectorConfig, OrchestratorConfig};
    use crate::settings::Settings;
    use axum::body::Body;
    use tower::ServiceExt;

    fn app(api_key: Option<&str>) -> Router {
        let mut config = OrchestratorConfig::default();
        config.service.api_key = api_key.map(str::to_owned);
        config
            .detectors
            .insert("a".to_owned(), DetectorConfig::new("http://127.0.0.1:9"));
        let settings = Settings::from_config(&config, "test").expect("valid");
        let (_stop, stopped) = tokio::sync::watch::channel(false);
        router(Arc::new(
            AppState::new(settings, stopped).expect("client builds"),
        ))
    }

    async fn call(app: Router, method: &str, uri: &str, body: &str) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body.to_owned()))
            .expect("valid request");
        let response = app.oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).expect("JSON"))
    }

    #[tokio::test]
    async fn rejections_are_json_without_a_socket() {
        let table = [
            ("GET", "/nope", "", StatusCode::NOT_FOUND, "not_found"),
            (
                "PUT",
                "/orchestrate",
                "",
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
            ),
            (
                "POST",
                "/orchestrate",
                "{",
                StatusCode::BAD_REQUEST,
                "invalid_json",
            ),
            (
                "GET",
                "/orchestrate/status/x",
                "",
                StatusCode::NOT_FOUND,
                "job_not_found",
            ),
        ];
        for (method, uri, body, status, code) in table {
            let (got, reply) = call(app(None), method, uri, body).await;
            assert_eq!(
                (got, reply["error"]["code"].as_str()),
                (status, Some(code)),
                "{method} {uri}"
            );
        }
    }

    #[tokio::test]
    async fn health_stays_open_when_a_key_is_required() {
        let (status, health) = call(app(Some("k")), "GET", "/health", "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(health["detectors_total"], 1);
        assert_eq!(
            health["status"], "healthy",
            "not polled yet counts as healthy"
        );
        let (status, reply) = call(app(Some("k")), "POST", "/orchestrate", "{}").await;
        assert_eq!(
            (status, reply["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized"))
        );
    }
}
