//! HTTP handlers of one detector. Each detection request takes a sequence
//! number, is parsed, gets a [`Plan`](crate::sampling::Plan) drawn from its
//! own seeded generator, and is acted out by [`act`](super::act).

use std::sync::Arc;

use axum::BoxError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use http_body_util::Collected;
use serde_json::json;

use super::act::{Endpoint, InFlight, Incoming, Note, act};
use super::conn::Arrival;
use super::error::ApiError;
use super::overrides::{self, Requested};
use super::request::{DetectRequest, ItemError, batch_items, decode_json};
use super::response::{self, AnswerContext, Identity};
use super::{DetectorState, Snapshot};
use crate::sampling;
use crate::sampling::Imposed;

pub(crate) const X_CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_MOCK_SEQ: HeaderName = HeaderName::from_static("x-mock-seq");

/// `POST /detect` through the router. A detector's server sends these
/// straight to [`single`] (see [`DetectorService`](super::DetectorService));
/// the route stays so that the router alone answers the same.
pub(crate) async fn detect(State(state): State<Arc<DetectorState>>, request: Request) -> Response {
    let arrival = request.extensions().get::<Arrival>().cloned();
    single(&state, Endpoint::Detect, request, arrival.as_ref()).await
}

/// `POST /analyze`: the path real orchestrators call; same as `/detect`.
pub(crate) async fn analyze(State(state): State<Arc<DetectorState>>, request: Request) -> Response {
    let arrival = request.extensions().get::<Arrival>().cloned();
    single(&state, Endpoint::Analyze, request, arrival.as_ref()).await
}

/// One detection request (`/detect` or `/analyze`), on any body type.
pub(crate) async fn single<B>(
    state: &Arc<DetectorState>,
    endpoint: Endpoint,
    request: axum::http::Request<B>,
    arrival: Option<&Arrival>,
) -> Response
where
    B: HttpBody<Data = Bytes> + Send,
    B::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    let snapshot = state.current();
    let id = &snapshot.identity;
    let incoming = begin(state, &parts, arrival, &id.detector_id);
    let _in_flight = InFlight::enter(&state.in_flight);
    let parsed = read_body(&parts, body, snapshot.behaviour.body_limit, &id.detector_id)
        .await
        .and_then(|bytes| DetectRequest::from_body(&bytes, &id.detector_id));
    let req = match parsed {
        Ok(req) => req,
        Err(error) => return with_seq(reject(state, endpoint, &incoming, error), incoming.seq),
    };
    let correlation = incoming
        .correlation_id
        .as_deref()
        .or_else(|| req.body_correlation_id());
    let response = match imposition(state, &snapshot, &parts, &incoming) {
        Err(error) => reject(state, endpoint, &incoming, error),
        Ok(imposed) => {
            let plan = sampling::plan(
                &snapshot.behaviour,
                &mut state.key.rng(incoming.seq),
                None,
                &imposed,
            );
            let ctx = answer_context(&incoming, correlation, &plan);
            let note = Note {
                endpoint,
                content_bytes: req.content.len(),
                correlation_id: correlation,
                imposed_by: imposed.source,
            };
            act(state, id, &incoming, &plan, note, || {
                response::success_bytes(id, &req, &ctx)
            })
            .await
        }
    };
    with_seq(response, incoming.seq)
}

/// What overrides this request: its `X-Mock-*` headers when allowed, else
/// runtime control (outages, next-N, scripts, bursts).
fn imposition(
    state: &DetectorState,
    snapshot: &Snapshot,
    parts: &Parts,
    incoming: &Incoming,
) -> Result<Imposed, ApiError> {
    let allowed = snapshot.behaviour.allow_overrides;
    match overrides::read(&parts.headers, allowed) {
        Ok(Requested::Impose(imposed)) => Ok(imposed),
        Ok(requested) => {
            if matches!(requested, Requested::Ignored) {
                state
                    .metrics
                    .overrides_ignored
                    .with_label_values(&[&state.name])
                    .inc();
            }
            Ok(state
                .control
                .impose(&snapshot.behaviour, incoming.seq, incoming.arrival))
        }
        Err(message) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_override",
            message,
            &snapshot.identity.detector_id,
        )),
    }
}

/// `POST /detect/batch`: the seed's array or `{"items": [...]}`.
pub(crate) async fn batch(State(state): State<Arc<DetectorState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let snapshot = state.current();
    let arrival = parts.extensions.get::<Arrival>();
    let incoming = begin(&state, &parts, arrival, &snapshot.identity.detector_id);
    let _in_flight = InFlight::enter(&state.in_flight);
    let items = match batch_requests(&snapshot, &parts, body).await {
        Ok(items) => items,
        Err(error) => {
            return with_seq(
                reject(&state, Endpoint::Batch, &incoming, error),
                incoming.seq,
            );
        }
    };
    let response = match imposition(&state, &snapshot, &parts, &incoming) {
        Err(error) => reject(&state, Endpoint::Batch, &incoming, error),
        Ok(imposed) => {
            let n = items.len();
            state
                .metrics
                .batch_items
                .with_label_values(&[&state.name])
                .observe(n as f64);
            let plan = sampling::plan(
                &snapshot.behaviour,
                &mut state.key.rng(incoming.seq),
                Some(n),
                &imposed,
            );
            let correlation = incoming.correlation_id.as_deref();
            let ctx = answer_context(&incoming, correlation, &plan);
            let note = Note {
                endpoint: Endpoint::Batch,
                content_bytes: items.iter().flatten().map(|r| r.content.len()).sum(),
                correlation_id: correlation,
                imposed_by: imposed.source,
            };
            let id = &snapshot.identity;
            act(&state, id, &incoming, &plan, note, || {
                response::to_bytes(&batch_results(id, &items, &plan.failed_items, &ctx))
            })
            .await
        }
    };
    with_seq(response, incoming.seq)
}

type ParsedItem = Result<DetectRequest, ItemError>;

async fn batch_requests(
    snapshot: &Snapshot,
    parts: &Parts,
    body: Body,
) -> Result<Vec<ParsedItem>, ApiError> {
    let behaviour = &snapshot.behaviour;
    let id = &snapshot.identity.detector_id;
    if !behaviour.batch.enabled {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "batch_disabled",
            format!(
                "detector `{}` does not batch; use /detect",
                snapshot.identity.name
            ),
            id,
        ));
    }
    let bytes = read_body(parts, body, behaviour.body_limit, id).await?;
    let value = decode_json(&bytes, id)?;
    let items = batch_items(value, id)?;
    if items.len() > behaviour.batch.max_items {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_items",
            format!(
                "{} items in one batch; at most {} are accepted",
                items.len(),
                behaviour.batch.max_items
            ),
            id,
        ));
    }
    Ok(items.into_iter().map(DetectRequest::from_value).collect())
}

fn batch_results<'a>(
    id: &'a Identity,
    items: &'a [ParsedItem],
    failed: &[bool],
    ctx: &AnswerContext<'a>,
) -> response::BatchBody<'a> {
    let results = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let request_id = format!("{}-{i}", ctx.request_id);
            match item {
                Err(error) => response::batch_item_error(id, &request_id, error),
                Ok(_) if failed.get(i).copied().unwrap_or(false) => {
                    response::batch_item_error(id, &request_id, &injected_item_failure(item))
                }
                Ok(req) => response::batch_item_success(id, req, ctx, &request_id),
            }
        })
        .collect();
    response::batch_body(id, results)
}

fn injected_item_failure(item: &ParsedItem) -> ItemError {
    ItemError {
        code: "injected_item_failure",
        message: "mockdet injected a failure for this item".into(),
        content_type: item.as_ref().ok().map(|r| r.content_type.clone()),
    }
}

/// What every detection request records first: its number and arrival.
fn begin(
    state: &DetectorState,
    parts: &Parts,
    connection: Option<&Arrival>,
    detector_id: &str,
) -> Incoming {
    let seq = state.next_seq();
    let header = |name: &HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    // Without a connection (a router driven by `oneshot`), it arrived now.
    let arrival = connection.map_or_else(tokio::time::Instant::now, |a| a.at);
    let request_id = header(&X_REQUEST_ID);
    Incoming {
        seq,
        received: std::time::SystemTime::now() - arrival.elapsed(),
        arrival,
        control: connection.map(|a| a.control.clone()),
        http1: parts.version <= axum::http::Version::HTTP_11,
        request_id_sent: request_id.is_some(),
        request_id: request_id.unwrap_or_else(|| format!("{detector_id}-{seq}")),
        correlation_id: header(&X_CORRELATION_ID),
    }
}

fn answer_context<'a>(
    incoming: &'a Incoming,
    correlation_id: Option<&'a str>,
    plan: &sampling::Plan,
) -> AnswerContext<'a> {
    AnswerContext {
        request_id: &incoming.request_id,
        seq: incoming.seq,
        correlation_id,
        delay_ms: plan.delay.as_secs_f64() * 1000.0,
    }
}

fn reject(state: &DetectorState, endpoint: Endpoint, incoming: &Incoming, e: ApiError) -> Response {
    let note = Note {
        endpoint,
        content_bytes: 0,
        correlation_id: incoming.correlation_id.as_deref(),
        imposed_by: None,
    };
    state.record(
        incoming,
        &note,
        "bad_request",
        None,
        Some(e.status.as_u16()),
        None,
    );
    e.into_response()
}

/// Reads the body within `limit` bytes.
async fn read_body<B>(parts: &Parts, body: B, limit: usize, id: &str) -> Result<Bytes, ApiError>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than the {limit}-byte limit"),
            id,
        )
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let collected = http_body_util::Limited::new(body, limit).collect().await;
    collected.map(Collected::to_bytes).map_err(|inner| {
        if inner.is::<http_body_util::LengthLimitError>() {
            too_large()
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                format!("could not read the body: {inner}"),
                id,
            )
        }
    })
}

fn with_seq(mut response: Response, seq: u64) -> Response {
    response
        .headers_mut()
        .insert(X_MOCK_SEQ, HeaderValue::from(seq));
    response
}

/// `GET /health`: 200 healthy, or 503 unhealthy during an `unavailable` outage.
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
    let message = format!("no route for {} {}", request.method(), request.uri().path());
    rejected(&state, StatusCode::NOT_FOUND, "not_found", message)
}

/// Known paths with the wrong method: 405 JSON.
pub(crate) async fn method_not_allowed(
    State(state): State<Arc<DetectorState>>,
    request: Request,
) -> Response {
    let message = format!(
        "{} is not allowed on {}",
        request.method(),
        request.uri().path()
    );
    rejected(
        &state,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        message,
    )
}

/// A request outside the detection endpoints that is refused: counted as
/// `bad_request`, not journaled (the journal holds detection requests).
fn rejected(
    state: &DetectorState,
    status: StatusCode,
    code: &'static str,
    msg: String,
) -> Response {
    state
        .metrics
        .requests
        .with_label_values(&[&state.name, Endpoint::Other.as_str(), "bad_request"])
        .inc();
    let id = state.current().identity.detector_id.clone();
    ApiError::new(status, code, msg, &id).into_response()
}
