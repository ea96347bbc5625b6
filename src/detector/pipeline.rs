//! The one detection pipeline. Every detection request, whatever its
//! endpoint or wire protocol, goes through [`run`]:
//!
//! 1. **arrive** — take a sequence number, note the arrival time, read the
//!    id headers ([`ids`](super::ids)), enter the in-flight gauge;
//! 2. **parse** — read the body within the profile's limit, take its key
//!    in request mode ([`replay`](super::replay)) and let the [`Wire`]
//!    parse it (a bad request is answered and journaled here);
//! 3. **impose** — count its attempt (when it has a key), take a replayed
//!    journal's outcome for this request, if any; else ask the `X-Mock-*`
//!    headers (when allowed) or runtime control what overrides it;
//! 4. **plan** — draw latency, fault and per-item failures from the
//!    request's own seeded generator ([`sampling::plan`]), keyed by its key
//!    and attempt in request mode, by its arrival number in sequence mode;
//! 5. **act** — render the success body, wait until arrival + latency, then
//!    answer or act the fault out, and **record** it (journal, metrics,
//!    health counters) — see [`act`](super::act);
//! 6. **answer** — stamp `x-mock-seq` (and, in request mode,
//!    `x-mock-attempt`) and echo the ids.
//!
//! What a request *gets* (steps 1–5) is the engine; how it is *written on the
//! wire* is a [`Wire`]: a request parser and a renderer. A new wire protocol
//! is a new `Wire`, nothing more.

use std::sync::Arc;
use std::time::Duration;

use axum::BoxError;
use axum::body::{Bytes, HttpBody};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Collected};
use tokio::time::Instant;

use super::act::{InFlight, Incoming, Note, act};
use super::conn::Arrival;
use super::error::ApiError;
use super::ids::RequestIds;
use super::overrides::{self, Requested};
use super::protocols::Endpoint;
use super::response::{AnswerContext, Identity};
use super::{DetectorState, Snapshot};
use crate::control::journal::Drawn;
use crate::profile::{Protocol, ProtocolSet};
use crate::sampling::{self, Imposed, Plan, RequestKey};

/// The error code of a body that did not arrive within the read timeout.
const BODY_TIMEOUT: &str = "body_timeout";

/// The journal's `imposed_by` of an outcome served from a replayed journal.
const REPLAYED: &str = "journal";

/// `x-mock-seq`: the request's sequence number on its detector.
const X_MOCK_SEQ: HeaderName = HeaderName::from_static("x-mock-seq");
/// `x-mock-attempt`: which send of its key the request was, in request mode.
const X_MOCK_ATTEMPT: HeaderName = HeaderName::from_static("x-mock-attempt");

/// What a parsed request asks of the engine.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Work<'a> {
    /// Items in a batch (`None` for a single request): each may fail on its
    /// own, and a per-item latency model sums one draw per item.
    pub(crate) items: Option<usize>,
    /// Content bytes, for the journal.
    pub(crate) content_bytes: usize,
    /// A correlation id carried in the body, if the protocol has one.
    pub(crate) correlation_id: Option<&'a str>,
}

/// A wire protocol's part of a detection request: how its body is parsed
/// and how a success answer is written. Faults, latency, ids and recording
/// are the engine's and the same for every protocol.
pub(crate) trait Wire {
    /// The request as this protocol parsed it.
    type Parsed: Send + Sync;

    /// The endpoint (metric label, journal path, and the protocol whose
    /// error shape a refusal takes) before the body is parsed.
    fn endpoint(&self) -> Endpoint;

    /// The endpoint once the body is parsed (`/analyze` serves two
    /// protocols and only its body tells which).
    fn label(&self, _parsed: &Self::Parsed) -> Endpoint {
        self.endpoint()
    }

    /// Whether a detector serving `protocols` serves this endpoint (its
    /// endpoint's protocol, unless the wire serves several).
    fn served(&self, protocols: ProtocolSet) -> bool {
        protocols.serves(self.endpoint().protocol())
    }

    /// Refuses a request before its body is read (batching disabled, a
    /// required header missing, a wrong key).
    fn admit(&self, _snapshot: &Snapshot, _parts: &Parts) -> Result<(), ApiError> {
        Ok(())
    }

    /// Parses the body; the error is the answer the client gets.
    fn parse(
        &self,
        snapshot: &Snapshot,
        parts: &Parts,
        body: &[u8],
    ) -> Result<Self::Parsed, ApiError>;

    /// What the parsed request asks of the engine.
    fn work<'a>(&self, parsed: &'a Self::Parsed) -> Work<'a>;

    /// The 200 body for `parsed` under `plan`.
    fn render(
        &self,
        id: &Identity,
        parsed: &Self::Parsed,
        plan: &Plan,
        ctx: &AnswerContext<'_>,
    ) -> Bytes;
}

/// Runs one detection request through the pipeline.
pub(crate) async fn run<W, B>(
    state: &Arc<DetectorState>,
    wire: &W,
    request: axum::http::Request<B>,
    arrival: Option<&Arrival>,
) -> Response
where
    W: Wire,
    B: HttpBody<Data = Bytes> + Send,
    B::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    let snapshot = state.current();
    let mut incoming = arrive(state, &parts, arrival, &snapshot.identity.detector_id);
    let _in_flight = InFlight::enter(&state.in_flight);
    let (parsed, body, key) = match parse(
        state,
        wire,
        &snapshot,
        &parts,
        (body, (state.read_timeout_of(&snapshot), incoming.arrival)),
    )
    .await
    {
        Ok(parsed) => parsed,
        Err(error) => {
            if error.code == BODY_TIMEOUT {
                state.client_timed_out("body");
            }
            let response = reject(state, wire.endpoint(), &incoming, error);
            return answer(response, &incoming);
        }
    };
    let work = wire.work(&parsed);
    incoming.ids.adopt_body_correlation(work.correlation_id);
    let decided = decide(state, &snapshot, &parts, &mut incoming, key);
    // Looked up now, while the body is at hand; used if the fate is a success.
    let recorded = snapshot.answers.as_ref().map(|answers| {
        let key = key.unwrap_or_else(|| snapshot.behaviour.replay.keys.key(&parts.headers, &body));
        answers.get(parts.uri.path(), key)
    });
    drop(body);
    let response = match decided {
        Err(error) => reject(state, wire.endpoint(), &incoming, error),
        Ok((imposed, replayed)) => {
            let request = Planned {
                wire,
                parsed: &parsed,
                work,
                imposed: &imposed,
                replayed,
                recorded,
            };
            plan_and_act(state, &snapshot, &incoming, request).await
        }
    };
    answer(response, &incoming)
}

/// A parsed request with what the engine needs to plan it.
struct Planned<'a, W: Wire> {
    wire: &'a W,
    parsed: &'a W::Parsed,
    work: Work<'a>,
    imposed: &'a Imposed,
    /// The outcome a replayed journal recorded for this request.
    replayed: Option<&'a Drawn>,
    /// With recorded answers in the profile: this request's, if recorded.
    recorded: Option<Option<Bytes>>,
}

/// Steps 4 and 5: draw the plan (or take a replayed journal's), then act
/// it out and record it.
async fn plan_and_act<W: Wire>(
    state: &Arc<DetectorState>,
    snapshot: &Snapshot,
    incoming: &Incoming,
    request: Planned<'_, W>,
) -> Response {
    let Planned {
        wire,
        parsed,
        work,
        imposed,
        replayed,
        recorded,
    } = request;
    if let Some(n) = work.items {
        let items = state.metrics.batch_items.with_label_values(&[&state.name]);
        items.observe(n as f64);
    }
    let (plan, imposed_by) = match replayed {
        Some(drawn) => (drawn.plan(work.items), Some(REPLAYED)),
        None => {
            let stream = DetectorState::stream(snapshot, incoming.seq, incoming.key);
            let mut rng = state.key.rng(stream);
            let plan = sampling::plan(&snapshot.behaviour, &mut rng, work.items, imposed);
            (plan, imposed.source)
        }
    };
    let ctx = AnswerContext {
        request_id: &incoming.ids.request_id,
        seq: incoming.seq,
        correlation_id: incoming.ids.correlation_id.as_deref(),
        delay_ms: plan.delay.as_secs_f64() * 1000.0,
    };
    let note = Note {
        endpoint: wire.label(parsed),
        content_bytes: work.content_bytes,
        imposed_by,
    };
    let id = &snapshot.identity;
    let recorded = recorded.filter(|_| plan.fault.is_none()).inspect(|body| {
        let event = if body.is_some() {
            "replayed"
        } else {
            "synthesized"
        };
        let counter = &state.metrics.recorded_answers;
        counter
            .with_label_values(&[state.name.as_str(), event])
            .inc();
    });
    act(state, id, incoming, &plan, note, || {
        match recorded.flatten() {
            Some(body) => body,
            None => wire.render(id, parsed, &plan, &ctx),
        }
    })
    .await
}

/// Step 1: the request's number, arrival and ids.
fn arrive(
    state: &DetectorState,
    parts: &Parts,
    connection: Option<&Arrival>,
    detector_id: &str,
) -> Incoming {
    let seq = state.next_seq();
    // Without a connection (a router driven by `oneshot`), it arrived now.
    let (arrival, received) = connection.map_or_else(
        || (tokio::time::Instant::now(), std::time::SystemTime::now()),
        |a| (a.at, a.wall),
    );
    Incoming {
        seq,
        received,
        arrival,
        control: connection.map(|a| a.control.clone()),
        http1: parts.version <= axum::http::Version::HTTP_11,
        ids: RequestIds::from_headers(&parts.headers, || made_up_request_id(detector_id, seq)),
        headers: state.kept_headers.of(&parts.headers),
        key: None,
    }
}

/// `{detector_id}-{seq}`, the request id of a request that brought none
/// (built without the formatting machinery: it runs on every such request).
fn made_up_request_id(detector_id: &str, seq: u64) -> String {
    let mut digits = itoa::Buffer::new();
    let seq = digits.format(seq);
    let mut id = String::with_capacity(detector_id.len() + 1 + seq.len());
    id.push_str(detector_id);
    id.push('-');
    id.push_str(seq);
    id
}

/// Step 2: admit, read within the limit, take the request key (in request
/// mode), parse. The body's bytes come back with the parsed request and the
/// key: recorded answers are looked up by them.
async fn parse<W, B>(
    state: &DetectorState,
    wire: &W,
    snapshot: &Snapshot,
    parts: &Parts,
    (body, read_by): (B, (Duration, Instant)),
) -> Result<(W::Parsed, Bytes, Option<RequestKey>), ApiError>
where
    W: Wire,
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    if !wire.served(snapshot.behaviour.protocols) {
        return Err(not_served(snapshot, wire.endpoint().protocol()));
    }
    wire.admit(snapshot, parts)?;
    let id = &snapshot.identity.detector_id;
    let limit = snapshot.behaviour.body_limit;
    let bytes = read_body(parts, body, limit, read_by, id).await?;
    // Keyed before parsing, so the key's attempt count loads meanwhile.
    let key = state.request_key(snapshot, &parts.headers, &bytes);
    let parsed = wire.parse(snapshot, parts, &bytes)?;
    Ok((parsed, bytes, key))
}

/// The 404 of a protocol the profile leaves out of `protocols`.
pub(crate) fn not_served(snapshot: &Snapshot, protocol: Protocol) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "protocol_not_served",
        format!(
            "detector `{}` does not serve the {protocol} protocol (its profile's `protocols` leaves it out)",
            snapshot.identity.name
        ),
        &snapshot.identity.detector_id,
    )
    .in_protocol(protocol)
}

/// Step 3: the request's attempt (when it has a key), then what decides
/// its fate: the replayed journal's outcome, else what overrides the
/// profile.
fn decide<'s>(
    state: &'s DetectorState,
    snapshot: &Snapshot,
    parts: &Parts,
    incoming: &mut Incoming,
    key: Option<RequestKey>,
) -> Result<(Imposed, Option<&'s Drawn>), ApiError> {
    incoming.key = state.key_of(snapshot, &parts.headers, key)?;
    match state.replayed(incoming.key, incoming.seq) {
        Some(drawn) => Ok((Imposed::default(), Some(drawn))),
        None => Ok((imposition(state, snapshot, parts, incoming)?, None)),
    }
}

/// What overrides this request — its `X-Mock-*` headers when allowed, else
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
                let ignored = &state.metrics.overrides_ignored;
                ignored.with_label_values(&[&state.name]).inc();
            }
            let control = &state.control;
            let stream = DetectorState::stream(snapshot, incoming.seq, incoming.key);
            let behaviour = &snapshot.behaviour;
            Ok(control.impose(behaviour, (incoming.seq, stream), incoming.arrival))
        }
        Err(message) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_override",
            message,
            &snapshot.identity.detector_id,
        )),
    }
}

/// A refused request: answered with its JSON error and journaled as
/// `bad_request`.
fn reject(state: &DetectorState, endpoint: Endpoint, incoming: &Incoming, e: ApiError) -> Response {
    let note = Note {
        endpoint,
        content_bytes: 0,
        imposed_by: None,
    };
    let status = Some(e.status.as_u16());
    state.record(incoming, &note, "bad_request", None, status);
    e.or_protocol(endpoint.protocol()).into_response()
}

/// Step 6: `x-mock-seq`, the attempt (when the request has a key; the key
/// itself is in the journal) and the echoed ids.
fn answer(mut response: Response, incoming: &Incoming) -> Response {
    let headers = response.headers_mut();
    headers.insert(X_MOCK_SEQ, HeaderValue::from(incoming.seq));
    if let Some((_, attempt)) = incoming.key {
        headers.insert(X_MOCK_ATTEMPT, attempt_value(attempt));
    }
    incoming.ids.echo(headers);
    response
}

/// The `x-mock-attempt` value of `attempt`: the first few, nearly every
/// request's, are static (a header value made at run time is an allocation).
fn attempt_value(attempt: u32) -> HeaderValue {
    static FIRST: [HeaderValue; 8] = [
        HeaderValue::from_static("1"),
        HeaderValue::from_static("2"),
        HeaderValue::from_static("3"),
        HeaderValue::from_static("4"),
        HeaderValue::from_static("5"),
        HeaderValue::from_static("6"),
        HeaderValue::from_static("7"),
        HeaderValue::from_static("8"),
    ];
    let index = usize::try_from(attempt).ok().and_then(|a| a.checked_sub(1));
    match index.and_then(|i| FIRST.get(i)) {
        Some(value) => value.clone(),
        None => HeaderValue::from(attempt),
    }
}

/// Reads the body within `limit` bytes and `timeout` of `since` (the head's
/// arrival: the deadline costs no clock read): 413 `body_too_large` past
/// the limit, 408 `body_timeout` past the time, 400 `unreadable_body` if
/// the body breaks off.
pub(crate) async fn read_body<B>(
    parts: &Parts,
    body: B,
    limit: usize,
    (timeout, since): (Duration, Instant),
    id: &str,
) -> Result<Bytes, ApiError>
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
    let declared = sampling::header(&parts.headers, &header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let collecting = http_body_util::Limited::new(body, limit).collect();
    // A deadline past what an `Instant` holds is no deadline.
    let collected = match since.checked_add(timeout) {
        Some(deadline) => tokio::time::timeout_at(deadline, collecting).await,
        None => Ok(collecting.await),
    };
    let Ok(collected) = collected else {
        return Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            BODY_TIMEOUT,
            format!("the body did not arrive within {} ms", timeout.as_millis()),
            id,
        ));
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_attempt_header_value_is_its_number() {
        for attempt in [0, 1, 2, 7, 8, 9, 10, 1_000, u32::MAX] {
            assert_eq!(attempt_value(attempt), attempt.to_string().as_str());
        }
    }

    #[test]
    fn a_made_up_request_id_is_the_detector_id_and_the_sequence_number() {
        for seq in [0, 1, 9, 10, 99, 1_000_007, u64::MAX] {
            assert_eq!(made_up_request_id("det", seq), format!("det-{seq}"));
        }
        assert_eq!(made_up_request_id("", 42), "-42");
    }
}
