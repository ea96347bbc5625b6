//! Acting out a [`Plan`]: wait until arrival + sampled latency, then answer,
//! fail, hang, reset or dribble — and record what happened.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::DetectorState;
use super::error::ApiError;
use super::response::{self, Identity};
use crate::control::journal::Stored;
use crate::fleet::clock::sleep_until;
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

    /// The request path of a detection endpoint.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Endpoint::Detect => "/detect",
            Endpoint::Analyze => "/analyze",
            Endpoint::Batch => "/detect/batch",
            Endpoint::Other => "",
        }
    }
}

/// What is known about a detection request before its body is read.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) seq: u64,
    pub(crate) arrival: Instant,
    /// Wall-clock arrival, for the journal.
    pub(crate) received: std::time::SystemTime,
    pub(crate) control: Option<Arc<ConnControl>>,
    pub(crate) request_id: String,
    pub(crate) correlation_id: Option<String>,
}

/// What the journal and metrics need to know about a parsed request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Note<'a> {
    pub(crate) endpoint: Endpoint,
    pub(crate) content_bytes: usize,
    pub(crate) correlation_id: Option<&'a str>,
    pub(crate) imposed_by: Option<&'static str>,
}

/// How many chunks a slow body is dribbled out in.
const SLOW_BODY_CHUNKS: usize = 10;

/// Acts out `plan`. `success` serialises the 200 body; it runs before the wait
/// so the work does not add to the sampled latency.
pub(crate) async fn act(
    state: &DetectorState,
    id: &Identity,
    incoming: &Incoming,
    plan: &Plan,
    note: Note<'_>,
    success: impl FnOnce() -> Bytes,
) -> Response {
    let arrival = incoming.arrival;
    let deadline = arrival + plan.delay;
    let outcome = plan
        .fault
        .as_ref()
        .map_or("success", PlannedFault::kind_name);
    let record = |status: Option<u16>| {
        let fault = plan.fault.as_ref().map(PlannedFault::kind_name);
        state.record(incoming, &note, outcome, fault, status, Some(plan.delay));
    };
    let Some(fault) = &plan.fault else {
        let body = success();
        sleep_until(deadline).await;
        record(Some(200));
        return json_response(StatusCode::OK, body);
    };
    match fault {
        PlannedFault::Hang { hold, end } => {
            sleep_until(arrival + *hold).await;
            match end {
                HangEnd::Close => {
                    record(None);
                    abort(id, incoming, Abort::Close).await
                }
                HangEnd::GatewayTimeout => {
                    record(Some(504));
                    json_response(StatusCode::GATEWAY_TIMEOUT, injected(id, 504))
                }
            }
        }
        PlannedFault::SlowBody { over } => {
            let body = success();
            sleep_until(deadline).await;
            record(Some(200));
            dribble(body, *over)
        }
        _ => {
            sleep_until(deadline).await;
            record(answered_status(fault));
            answer_fault(id, incoming, fault).await
        }
    }
}

/// The status a fault answers with; `None` when it cuts the connection.
fn answered_status(fault: &PlannedFault) -> Option<u16> {
    match fault {
        PlannedFault::HttpError { status, .. } => Some(*status),
        PlannedFault::Reset => None,
        PlannedFault::Hang { end, .. } => (*end == HangEnd::GatewayTimeout).then_some(504),
        _ => Some(200),
    }
}

async fn answer_fault(id: &Identity, incoming: &Incoming, fault: &PlannedFault) -> Response {
    match fault {
        PlannedFault::HttpError {
            status,
            retry_after_s,
        } => {
            let code = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = json_response(code, injected(id, *status));
            if let Some(seconds) = retry_after_s {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*seconds));
            }
            response
        }
        PlannedFault::Reset => abort(id, incoming, Abort::Reset).await,
        PlannedFault::MalformedJson => {
            json_response(StatusCode::OK, Bytes::from(response::malformed_body(id)))
        }
        PlannedFault::SchemaInvalid => json_response(
            StatusCode::OK,
            response::to_bytes(&response::schema_invalid_body(id, &incoming.request_id)),
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
async fn abort(id: &Identity, incoming: &Incoming, how: Abort) -> Response {
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
            &id.detector_id,
        )
        .into_response(),
    }
}

fn injected(id: &Identity, status: u16) -> Bytes {
    response::to_bytes(&response::injected_error_body(id, status))
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
    /// Records one finished request in the metrics, health counters and
    /// journal. `fault` is the injected fault's kind, if any.
    pub(crate) fn record(
        &self,
        incoming: &Incoming,
        note: &Note<'_>,
        outcome: &str,
        fault: Option<&'static str>,
        status: Option<u16>,
        injected_delay: Option<Duration>,
    ) {
        let elapsed = incoming.arrival.elapsed();
        let name = self.name.as_str();
        let labels = [name, note.endpoint.as_str(), outcome];
        self.metrics.requests.with_label_values(&labels).inc();
        self.metrics
            .duration
            .with_label_values(&labels)
            .observe(elapsed.as_secs_f64());
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
        if let Some(kind) = fault {
            self.metrics.faults.with_label_values(&[name, kind]).inc();
        }
        self.journal.push(Stored {
            seq: incoming.seq,
            at: incoming.received,
            path: note.endpoint.path(),
            correlation_id: note.correlation_id.map(Box::from),
            content_bytes: note.content_bytes,
            injected_delay_ms: injected_delay.map_or(0.0, |d| d.as_secs_f64() * 1000.0),
            fault,
            imposed_by: note.imposed_by,
            status,
            duration_ms: elapsed.as_secs_f64() * 1000.0,
        });
    }

    /// (requests processed, errors) for `/health`.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.processed.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}
