//! Acting out a [`Plan`]: wait until arrival + sampled latency, then answer,
//! fail, hang, reset or dribble — and record what happened.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::time::{Instant, sleep_until};

use super::DetectorState;
use super::error::ApiError;
use super::response;
use crate::fleet::conn::{Abort, ConnControl};
use crate::profile::HangEnd;
use crate::sampling::{Plan, PlannedFault};

/// Which endpoint a request came in on (a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Detect,
    Analyze,
    Batch,
    Other,
}

impl Endpoint {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Endpoint::Detect => "detect",
            Endpoint::Analyze => "analyze",
            Endpoint::Batch => "batch",
            Endpoint::Other => "other",
        }
    }
}

/// What is known about a detection request before its body is read.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) seq: u64,
    pub(crate) arrival: Instant,
    pub(crate) control: Option<Arc<ConnControl>>,
    pub(crate) request_id: String,
    pub(crate) correlation_id: Option<String>,
}

/// How many chunks a slow body is dribbled out in.
const SLOW_BODY_CHUNKS: usize = 10;

/// Acts out `plan`. `success` builds the 200 body; it runs before the wait
/// so the work does not add to the sampled latency.
pub(crate) async fn act(
    state: &DetectorState,
    endpoint: Endpoint,
    incoming: &Incoming,
    plan: &Plan,
    success: impl FnOnce() -> Value,
) -> Response {
    let arrival = incoming.arrival;
    let deadline = arrival + plan.delay;
    let outcome = plan
        .fault
        .as_ref()
        .map_or("success", PlannedFault::kind_name);
    let record = || state.record(endpoint, outcome, arrival, Some(plan.delay));
    let Some(fault) = &plan.fault else {
        let body = json_bytes(&success());
        sleep_until(deadline).await;
        record();
        return json_response(StatusCode::OK, body);
    };
    match fault {
        PlannedFault::Hang { hold, end } => {
            sleep_until(arrival + *hold).await;
            record();
            match end {
                HangEnd::Close => abort(state, incoming, Abort::Close).await,
                HangEnd::GatewayTimeout => {
                    json_response(StatusCode::GATEWAY_TIMEOUT, injected(state, 504))
                }
            }
        }
        PlannedFault::SlowBody { over } => {
            let body = json_bytes(&success());
            sleep_until(deadline).await;
            record();
            dribble(body, *over)
        }
        _ => {
            sleep_until(deadline).await;
            record();
            answer_fault(state, incoming, fault).await
        }
    }
}

async fn answer_fault(
    state: &DetectorState,
    incoming: &Incoming,
    fault: &PlannedFault,
) -> Response {
    let id = &state.identity;
    match fault {
        PlannedFault::HttpError {
            status,
            retry_after_s,
        } => {
            let code = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = json_response(code, injected(state, *status));
            if let Some(seconds) = retry_after_s {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*seconds));
            }
            response
        }
        PlannedFault::Reset => abort(state, incoming, Abort::Reset).await,
        PlannedFault::MalformedJson => {
            json_response(StatusCode::OK, Bytes::from(response::malformed_body(id)))
        }
        PlannedFault::SchemaInvalid => json_response(
            StatusCode::OK,
            json_bytes(&response::schema_invalid_body(id, &incoming.request_id)),
        ),
        PlannedFault::EmptyBody => json_response(StatusCode::OK, Bytes::new()),
        // Acted out by `act` itself.
        PlannedFault::Hang { .. } | PlannedFault::SlowBody { .. } => {
            json_response(StatusCode::OK, Bytes::new())
        }
    }
}

/// Ends the connection without an answer. Without a real connection (a
/// router driven by `oneshot` in a test) there is nothing to cut: say so.
async fn abort(state: &DetectorState, incoming: &Incoming, how: Abort) -> Response {
    match &incoming.control {
        Some(control) => {
            control.abort(how).await;
            // Reached only over HTTP/2, where the stream outlives the cut.
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        None => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no_connection",
            format!("cannot act out {how:?}: the request has no connection"),
            &state.identity.detector_id,
        )
        .into_response(),
    }
}

fn injected(state: &DetectorState, status: u16) -> Bytes {
    json_bytes(&response::injected_error_body(&state.identity, status))
}

fn json_bytes(value: &Value) -> Bytes {
    // Serialising a `Value` cannot fail: its keys are strings.
    Bytes::from(serde_json::to_vec(value).unwrap_or_default())
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body),
    )
        .into_response()
}

/// A 200 whose body arrives in pieces spread evenly over `over`.
fn dribble(body: Bytes, over: Duration) -> Response {
    let chunk_len = body.len().div_ceil(SLOW_BODY_CHUNKS).max(1);
    let pause = over / SLOW_BODY_CHUNKS as u32;
    let chunks: Vec<Bytes> = (0..body.len())
        .step_by(chunk_len)
        .map(|start| body.slice(start..(start + chunk_len).min(body.len())))
        .collect();
    let stream = futures_util::stream::unfold(chunks.into_iter(), move |mut rest| async move {
        let chunk = rest.next()?;
        tokio::time::sleep(pause).await;
        Some((Ok::<_, std::convert::Infallible>(chunk), rest))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}

impl DetectorState {
    /// Records one answered request in the metrics and health counters.
    pub(crate) fn record(
        &self,
        endpoint: Endpoint,
        outcome: &str,
        arrival: Instant,
        injected_delay: Option<Duration>,
    ) {
        let name = self.identity.name.as_str();
        let labels = [name, endpoint.as_str(), outcome];
        self.metrics.requests.with_label_values(&labels).inc();
        self.metrics
            .duration
            .with_label_values(&labels)
            .observe(arrival.elapsed().as_secs_f64());
        if let Some(delay) = injected_delay {
            self.metrics
                .injected_delay
                .with_label_values(&[name])
                .observe(delay.as_secs_f64());
        }
        self.processed.fetch_add(1, Ordering::Relaxed);
        if outcome != "success" {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        if outcome != "success" && outcome != "bad_request" {
            self.metrics
                .faults
                .with_label_values(&[name, outcome])
                .inc();
        }
    }

    /// (requests processed, errors) for `/health`.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.processed.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}
