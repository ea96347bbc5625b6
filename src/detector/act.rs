//! Acting out a [`Plan`]: wait until arrival + sampled latency, then answer,
//! fail, hang, reset or dribble — and record what happened.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::DetectorState;
use super::clock::sleep_until;
use super::conn::{Abort, Busy, ConnControl, HoldPlan};
use super::error::ApiError;
use super::ids::RequestIds;
use super::protocols::{Endpoint, errors};
use super::response::{self, Identity};
use crate::control::journal::{Drawn, Stored, StoredHeaders};
use crate::profile::HangEnd;
use crate::profile::Protocol;
use crate::sampling::{Plan, PlannedFault, RequestKey};

/// What is known about a detection request before its body is read.
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) seq: u64,
    pub(crate) arrival: Instant,
    /// Wall-clock arrival, for the journal.
    pub(crate) received: std::time::SystemTime,
    pub(crate) control: Option<Arc<ConnControl>>,
    /// Over HTTP/1.x (a hang can be handed to the connection's holder).
    pub(crate) http1: bool,
    /// Its ids, resolved once (see [`ids`](super::ids)).
    pub(crate) ids: RequestIds,
    /// Other headers the journal keeps (shared with its entry, not copied).
    pub(crate) headers: Option<Arc<StoredHeaders>>,
    /// Its request key and attempt (request mode, or a keyed replay).
    pub(crate) key: Option<(RequestKey, u32)>,
}

impl Incoming {
    /// A copy without the connection, for recording after the handler is gone.
    fn detached(&self) -> Incoming {
        Incoming {
            seq: self.seq,
            arrival: self.arrival,
            received: self.received,
            control: None,
            http1: self.http1,
            ids: self.ids.clone(),
            headers: self.headers.clone(),
            key: self.key,
        }
    }
}

/// What the journal and metrics need to know about a parsed request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Note {
    pub(crate) endpoint: Endpoint,
    pub(crate) content_bytes: usize,
    pub(crate) imposed_by: Option<&'static str>,
}

/// Keeps `mockdet_in_flight_requests` right even when a request's future is
/// dropped mid-way (a reset tears the connection down) or its hang is handed
/// over to the connection's holder (which keeps one of these).
pub(crate) struct InFlight(prometheus::IntGauge);

impl InFlight {
    pub(crate) fn enter(gauge: &prometheus::IntGauge) -> Self {
        gauge.inc();
        Self(gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// How many chunks a slow body is dribbled out in.
const SLOW_BODY_CHUNKS: usize = 10;

/// Acts out `plan`. `success` renders the 200 body once the wait is over:
/// rendering takes microseconds (findings are remembered per content), and
/// a body rendered before the wait would stay resident for the whole
/// latency — 2.6 MiB more peak RSS at 1,000 requests in flight under wrk.
pub(crate) async fn act(
    state: &Arc<DetectorState>,
    id: &Identity,
    incoming: &Incoming,
    plan: &Plan,
    note: Note,
    success: impl FnOnce() -> Bytes,
) -> Response {
    let arrival = incoming.arrival;
    let deadline = arrival + plan.delay;
    let outcome = plan
        .fault
        .as_ref()
        .map_or("success", PlannedFault::kind_name);
    let record = |status: Option<u16>| {
        state.record(incoming, &note, outcome, Some(Drawn::of(plan)), status);
    };
    let Some(fault) = &plan.fault else {
        // No latency: due already (skips reading the clock).
        if !plan.delay.is_zero() {
            sleep_until(deadline).await;
        }
        let body = success();
        record(Some(200));
        return json_response(StatusCode::OK, body);
    };
    match fault {
        PlannedFault::Hang { hold, end } => {
            let hang = Hang {
                until: arrival + *hold,
                end: *end,
                outcome,
            };
            hand_over_hang(state, id, incoming, plan, &note, hang).await;
            // Held here: HTTP/2, no connection, or the holder was refused.
            sleep_until(hang.until).await;
            end_hang(id, incoming, &note, hang.end, record).await
        }
        PlannedFault::SlowBody { over } => {
            let body = success();
            sleep_until(deadline).await;
            record(Some(200));
            // The connection is not quiet while the answer is written.
            let busy = incoming.control.as_ref().map(|control| control.busy());
            dribble(body, *over, busy)
        }
        _ => {
            sleep_until(deadline).await;
            record(answered_status(fault));
            answer_fault(id, incoming, note.endpoint.protocol(), fault).await
        }
    }
}

/// Ends a hang held here: closes the connection, or answers 504.
async fn end_hang(
    id: &Identity,
    incoming: &Incoming,
    note: &Note,
    end: HangEnd,
    record: impl FnOnce(Option<u16>),
) -> Response {
    match end {
        HangEnd::Close => {
            record(None);
            abort(id, incoming, Abort::Close).await
        }
        HangEnd::GatewayTimeout => {
            record(Some(504));
            let body = errors::injected(note.endpoint.protocol(), id, 504);
            json_response(StatusCode::GATEWAY_TIMEOUT, body)
        }
    }
}

/// A hang being acted out: when it ends, how, and its outcome label.
#[derive(Debug, Clone, Copy)]
struct Hang {
    until: Instant,
    end: HangEnd,
    outcome: &'static str,
}

/// Hands a hang over HTTP/1 to the connection's holder, which keeps only
/// the socket (see [`ConnControl::hold`]) and records the request when the
/// hold ends; on success this never returns. Returns when the hang must be
/// held here instead (HTTP/2, no connection, out of descriptors).
async fn hand_over_hang(
    state: &Arc<DetectorState>,
    id: &Identity,
    incoming: &Incoming,
    plan: &Plan,
    note: &Note,
    hang: Hang,
) {
    let Hang {
        until,
        end,
        outcome,
    } = hang;
    let Some(control) = incoming.control.as_ref().filter(|_| incoming.http1) else {
        return;
    };
    let status = (end == HangEnd::GatewayTimeout).then_some(504);
    let protocol = note.endpoint.protocol();
    let answer = status.map(|status| {
        let body = errors::injected(protocol, id, status);
        raw_answer(status, &body, incoming)
    });
    let state = state.clone();
    let incoming = incoming.detached();
    let (note, drawn) = (*note, Drawn::of(plan));
    // Counts the request as in flight until the hold ends, however it ends.
    let in_flight = InFlight::enter(&state.in_flight);
    let done = move || {
        state.record(&incoming, &note, outcome, Some(drawn), status);
        drop(in_flight);
    };
    let hold = HoldPlan {
        until,
        answer,
        done: Box::new(done),
    };
    // Given back only when the holder could not take it; dropping it drops
    // the recording with it, and the caller holds and records instead.
    drop(control.hold(hold).await);
}

/// A complete HTTP/1.1 answer that closes the connection, with the headers
/// the normal path adds (sequence number, attempt, echoed ids, date).
fn raw_answer(status: u16, body: &[u8], incoming: &Incoming) -> Bytes {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("");
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nx-mock-seq: {}\r\nconnection: close\r\ndate: {}\r\n",
        body.len(),
        incoming.seq,
        httpdate::fmt_http_date(std::time::SystemTime::now()),
    );
    let mut bytes = head.into_bytes();
    if let Some((_, attempt)) = incoming.key {
        let replay = format!("x-mock-attempt: {attempt}\r\n");
        bytes.extend_from_slice(replay.as_bytes());
    }
    for (name, value) in incoming.ids.headers() {
        bytes.extend_from_slice(name.as_str().as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"\r\n");
    bytes.extend_from_slice(body);
    Bytes::from(bytes)
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

async fn answer_fault(
    id: &Identity,
    incoming: &Incoming,
    protocol: Protocol,
    fault: &PlannedFault,
) -> Response {
    match fault {
        PlannedFault::HttpError {
            status,
            retry_after_s,
        } => {
            let code = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = errors::injected(protocol, id, *status);
            let mut response = json_response(code, body);
            let headers = response.headers_mut();
            for (name, value) in errors::injected_headers(protocol, *status, *retry_after_s) {
                headers.insert(name, value);
            }
            response
        }
        PlannedFault::Reset => abort(id, incoming, Abort::Reset).await,
        PlannedFault::MalformedJson => {
            json_response(StatusCode::OK, Bytes::from(response::malformed_body(id)))
        }
        PlannedFault::SchemaInvalid => json_response(
            StatusCode::OK,
            response::to_bytes(&response::schema_invalid_body(id, &incoming.ids.request_id)),
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

fn json_response(status: StatusCode, body: Bytes) -> Response {
    errors::json(status, body)
}

/// A 200 whose body arrives in pieces spread evenly over `over`.
fn dribble(body: Bytes, over: Duration, busy: Option<Busy>) -> Response {
    let chunk_len = body.len().div_ceil(SLOW_BODY_CHUNKS).max(1);
    let pause = over / SLOW_BODY_CHUNKS as u32;
    let chunks: Vec<Bytes> = (0..body.len())
        .step_by(chunk_len)
        .map(|start| body.slice(start..(start + chunk_len).min(body.len())))
        .collect();
    // `busy` lives as long as the stream: until its last chunk, or until
    // hyper drops it.
    let state = (chunks.into_iter(), busy);
    let stream = futures_util::stream::unfold(state, move |(mut rest, busy)| async move {
        let chunk = rest.next()?;
        tokio::time::sleep(pause).await;
        Some((Ok::<_, std::convert::Infallible>(chunk), (rest, busy)))
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
        note: &Note,
        outcome: &str,
        drawn: Option<Drawn>,
        status: Option<u16>,
    ) {
        let elapsed = incoming.arrival.elapsed();
        let (metrics, name) = (&self.metrics, self.name.as_str());
        self.series
            .request(metrics, name, note.endpoint, outcome, elapsed.as_secs_f64());
        if let Some(drawn) = &drawn {
            let delay = drawn.delay.as_secs_f64();
            self.series.injected_delay(metrics, name, delay);
        }
        self.processed.fetch_add(1, Ordering::Relaxed);
        if outcome != "success" {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let fault = drawn.as_ref().and_then(|d| d.fault.as_ref());
        if let Some(fault) = fault {
            self.series.fault(metrics, name, fault.kind_name());
        }
        self.journal.push(Stored {
            seq: incoming.seq,
            at: incoming.received,
            path: note.endpoint.path(),
            correlation_id: incoming.ids.correlation_id.as_deref().map(Box::from),
            content_bytes: note.content_bytes,
            drawn,
            imposed_by: note.imposed_by,
            status,
            duration_ms: elapsed.as_secs_f64() * 1000.0,
            protocol: note.endpoint.protocol().as_str(),
            headers: incoming.headers.clone(),
            key: incoming.key,
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
