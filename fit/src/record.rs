//! `mockdet record`: a transparent reverse proxy in front of a real
//! detector. Requests and answers pass through untouched (headers kept,
//! answers streamed back as they arrive); each exchange is journaled with
//! its latency (arrival to the answer's last byte), status or transport
//! error, request key and correlation id. On Ctrl-C or after `--duration`
//! it writes, into `--out`:
//!
//! - `journal.ndjson`: every exchange, as mockdet journal entries;
//! - `answers.ndjson`: the 200 answers by request path and key (the key a
//!   mockdet detector finds for the request: its `x-correlation-id`,
//!   `x-request-id` or `traceparent`, else its body);
//! - `profile.toml`: the fitted profile, with `recorded_answers =
//!   "answers.ndjson"`, so `mockdet --profile-file DIR/profile.toml` serves
//!   the recorded bodies to the requests it has seen and synthesizes the
//!   rest;
//! - `fit.html`: the picture of the fit.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use mockdet::profile::ReplayOptions;
use mockdet::{JournalEntry, RequestKey};

/// The largest request body the proxy takes (it must read it whole to key it).
pub const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;
/// The largest answer kept for replay (larger ones pass through, unrecorded).
pub const MAX_RECORDED_BYTES: usize = 1024 * 1024;
/// The most answers kept for replay (as many as a detector loads).
pub const MAX_ANSWERS: usize = 1_000_000;
/// The most bytes of answers kept for replay, in all.
pub const MAX_ANSWER_BYTES: usize = 512 * 1024 * 1024;

/// Hop-by-hop headers (RFC 9110 §7.6.1): not forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

type ProxyBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// One exchange, as recorded.
#[derive(Debug, Clone)]
struct Exchange {
    at: SystemTime,
    method: String,
    path: String,
    correlation_id: Option<String>,
    content_bytes: usize,
    key: RequestKey,
    /// `None`: no answer (the upstream refused, reset or broke off).
    status: Option<u16>,
    error: Option<String>,
    took: Duration,
}

/// What the proxy has seen so far.
#[derive(Debug, Default)]
pub struct Recording {
    /// Exchanges begun and not yet recorded.
    in_flight: usize,
    exchanges: Vec<Exchange>,
    answers: HashMap<(String, RequestKey), (u16, String)>,
    /// Bytes of `answers`' bodies.
    answer_bytes: usize,
    /// 2xx answers not kept for replay (too large, not UTF-8, or past
    /// [`MAX_ANSWERS`] / [`MAX_ANSWER_BYTES`]).
    unrecorded: u64,
}

impl Recording {
    /// How many exchanges were recorded.
    pub fn len(&self) -> usize {
        self.exchanges.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.exchanges.is_empty()
    }

    /// The exchanges as mockdet journal entries, in arrival order.
    pub fn journal(&self) -> Vec<JournalEntry> {
        let mut exchanges = self.exchanges.clone();
        exchanges.sort_by_key(|e| e.at);
        exchanges
            .iter()
            .enumerate()
            .map(|(i, e)| JournalEntry {
                detector: "recorded".into(),
                seq: i as u64 + 1,
                at: humantime::format_rfc3339_millis(e.at).to_string(),
                method: e.method.clone(),
                path: e.path.clone(),
                correlation_id: e.correlation_id.clone(),
                content_bytes: e.content_bytes,
                injected_delay_ms: 0.0,
                fault: e.error.as_ref().map(|_| "upstream_error".to_owned()),
                imposed_by: None,
                status: e.status,
                duration_ms: e.took.as_secs_f64() * 1000.0,
                protocol: "recorded".into(),
                detector_id_header: None,
                model_name: None,
                traceparent: None,
                key: Some(e.key.to_string()),
                attempt: None,
                retry_after_s: None,
                fault_ms: None,
                hang_end: None,
                failed_items: Vec::new(),
            })
            .collect()
    }

    /// The recorded answers as NDJSON lines (see mockdet's
    /// `recorded_answers`), sorted by path and key.
    pub fn answers_ndjson(&self) -> String {
        let mut lines: Vec<String> = self
            .answers
            .iter()
            .map(|((path, key), (status, body))| {
                serde_json::json!({"path": path, "key": key.to_string(), "status": status, "body": body})
                    .to_string()
            })
            .collect();
        lines.sort();
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// 2xx answers passed through but not kept (too large or not UTF-8).
    pub fn unrecorded(&self) -> u64 {
        self.unrecorded
    }
}

/// The recording, shared by the connections.
pub type Shared = Arc<Mutex<Recording>>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, Recording> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running proxy.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    recording: Shared,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Binds `listen` and forwards every request to `upstream` (an
    /// `http://host:port` base, optionally with a path prefix).
    pub async fn start(listen: SocketAddr, upstream: &str) -> Result<Self, String> {
        let base: Uri = upstream
            .trim_end_matches('/')
            .parse()
            .map_err(|e| format!("--upstream {upstream:?}: {e}"))?;
        if base.scheme_str() != Some("http") || base.authority().is_none() {
            return Err(format!(
                "--upstream {upstream:?}: expected http://host:port (https is not proxied)"
            ));
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("--listen {listen}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let recording: Shared = Arc::default();
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build(connector);
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let context = Arc::new(Forward {
            client,
            base,
            recording: Arc::clone(&recording),
            options: ReplayOptions::default(),
        });
        let task = tokio::spawn(async move {
            let graceful = hyper_util::server::graceful::GracefulShutdown::new();
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = stopped.changed() => break,
                };
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    // Out of descriptors, say: wait instead of spinning.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let context = Arc::clone(&context);
                let service = hyper::service::service_fn(move |request| {
                    let context = Arc::clone(&context);
                    async move { Ok::<_, Infallible>(context.forward(request).await) }
                });
                let connection = builder
                    .serve_connection(TokioIo::new(stream), service)
                    .into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            // Keep-alive connections stop taking requests; the ones running
            // finish (bounded by `stop`'s grace).
            graceful.shutdown().await;
        });
        Ok(Self {
            addr,
            recording,
            stop,
            task,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The recording so far.
    pub fn recording(&self) -> Shared {
        Arc::clone(&self.recording)
    }

    /// Stops accepting and serving, then waits (at most `grace`) for the
    /// exchanges in flight to finish and be recorded.
    pub async fn stop(self, grace: Duration) -> Shared {
        let deadline = Instant::now() + grace;
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(grace, self.task).await;
        while lock(&self.recording).in_flight > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.recording
    }
}

/// What every connection shares.
#[derive(Debug)]
struct Forward {
    client: Client<HttpConnector, Full<Bytes>>,
    base: Uri,
    recording: Shared,
    options: ReplayOptions,
}

impl Forward {
    async fn forward(&self, request: Request<Incoming>) -> Response<ProxyBody> {
        let started = Instant::now();
        let at = SystemTime::now();
        let in_flight = InFlight::enter(&self.recording);
        let (parts, body) = request.into_parts();
        let body = match read_limited(body).await {
            Ok(body) => body,
            Err(status) => {
                let why = "the request body could not be read whole (at most 16 MiB)";
                return error(status, "request_body", why);
            }
        };
        let key = RequestKey::of_request(&parts.headers, &body, &self.options);
        let path = parts.uri.path().to_owned();
        let correlation_id = parts
            .headers
            .get("x-correlation-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let exchange = Exchange {
            at,
            method: parts.method.to_string(),
            path: path.clone(),
            correlation_id,
            content_bytes: body.len(),
            key,
            status: None,
            error: None,
            took: Duration::ZERO,
        };
        let upstream = match self.upstream_request(&parts, body) {
            Ok(request) => request,
            Err(message) => {
                return error(StatusCode::BAD_REQUEST, "bad_request", &message);
            }
        };
        // The answer's head is awaited in a task of its own and the body
        // passed through as it is polled; a client that leaves early hands
        // what is left to a task that reads it to the end, so the exchange
        // is recorded whole — latency to the upstream's last byte — and a
        // client timeout cannot cut the slow tail from the data.
        let mut pending = Pending {
            head: Some(tokio::spawn(self.client.request(upstream))),
            done: Some(Done {
                exchange,
                started,
                recording: Arc::clone(&self.recording),
                _in_flight: in_flight,
            }),
        };
        let answered = match pending.head.as_mut() {
            Some(head) => head.await,
            None => {
                return error(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unreachable",
                    "no exchange",
                );
            }
        };
        pending.head = None;
        let Some(mut done) = pending.done.take() else {
            return error(
                StatusCode::BAD_GATEWAY,
                "upstream_unreachable",
                "no exchange",
            );
        };
        let response = match answered {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => {
                let message = describe(&e);
                done.finish(None, Some(message.clone()));
                return error(StatusCode::BAD_GATEWAY, "upstream_unreachable", &message);
            }
            Err(e) => {
                done.finish(None, Some(e.to_string()));
                return error(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unreachable",
                    &e.to_string(),
                );
            }
        };
        let (mut head, body) = response.into_parts();
        strip_hop_by_hop(&mut head.headers);
        done.exchange.status = Some(head.status.as_u16());
        let tee = Tee {
            inner: Some(body),
            copy: Some(BytesMut::new()),
            done: Some(done),
        };
        Response::from_parts(head, tee.boxed_unsync())
    }

    fn upstream_request(
        &self,
        parts: &hyper::http::request::Parts,
        body: Bytes,
    ) -> Result<Request<Full<Bytes>>, String> {
        let prefix = self.base.path().trim_end_matches('/');
        let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let uri = format!(
            "http://{}{prefix}{path_and_query}",
            self.base.authority().map_or("", |a| a.as_str())
        );
        let mut request = Request::builder()
            .method(parts.method.clone())
            .uri(uri)
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        let headers = request.headers_mut();
        *headers = parts.headers.clone();
        strip_hop_by_hop(headers);
        headers.remove(header::HOST);
        Ok(request)
    }
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Headers named by `Connection` are hop-by-hop too.
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().copied() {
        headers.remove(name);
    }
    for name in named {
        headers.remove(name);
    }
}

async fn read_limited(body: Incoming) -> Result<Bytes, StatusCode> {
    let limited = http_body_util::Limited::new(body, MAX_REQUEST_BYTES);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(StatusCode::PAYLOAD_TOO_LARGE),
        Err(_) => Err(StatusCode::BAD_REQUEST),
    }
}

/// The proxy's own error answer (never the upstream's).
fn error(status: StatusCode, code: &str, message: &str) -> Response<ProxyBody> {
    let body =
        serde_json::json!({"error": {"code": code, "message": message, "from": "mockdet record"}});
    let mut response = Response::new(
        Full::new(Bytes::from(body.to_string()))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Finishes an exchange's record when its answer has been passed on.
#[derive(Debug)]
struct Done {
    exchange: Exchange,
    started: Instant,
    recording: Shared,
    /// Left when the answer has gone (or the client has).
    _in_flight: InFlight,
}

/// One exchange in flight, from arrival until it is recorded or abandoned
/// (a client that leaves before the answer's head drops it too), so a stop
/// waits for exactly the exchanges still running.
#[derive(Debug)]
struct InFlight(Shared);

impl InFlight {
    fn enter(recording: &Shared) -> Self {
        lock(recording).in_flight += 1;
        Self(Arc::clone(recording))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut recording = lock(&self.0);
        recording.in_flight = recording.in_flight.saturating_sub(1);
    }
}

/// An exchange waiting for the upstream's head. Dropped before it came
/// (the client left), it leaves the rest to a task of its own.
struct Pending {
    head: Option<tokio::task::JoinHandle<Result<Response<Incoming>, LegacyError>>>,
    done: Option<Done>,
}

type LegacyError = hyper_util::client::legacy::Error;

impl Drop for Pending {
    fn drop(&mut self) {
        let (Some(head), Some(done)) = (self.head.take(), self.done.take()) else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            match head.await {
                Ok(Ok(response)) => {
                    let mut done = done;
                    done.exchange.status = Some(response.status().as_u16());
                    drain(response.into_body(), Some(BytesMut::new()), done).await;
                }
                Ok(Err(e)) => done.finish(None, Some(describe(&e))),
                Err(e) => done.finish(None, Some(e.to_string())),
            }
        });
    }
}

/// Reads what is left of an answer nobody listens to any more, keeping the
/// copy, then records the exchange.
async fn drain(mut body: Incoming, mut copy: Option<BytesMut>, done: Done) {
    let mut failure = None;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => keep(&mut copy, frame.data_ref()),
            Err(e) => {
                failure = Some(describe(&e));
                break;
            }
        }
    }
    done.finish(copy, failure);
}

/// Adds `data` to the copy, or drops the copy once it would pass
/// [`MAX_RECORDED_BYTES`].
fn keep(copy: &mut Option<BytesMut>, data: Option<&Bytes>) {
    let Some(data) = data else { return };
    let fits = copy
        .as_ref()
        .is_some_and(|c| c.len() + data.len() <= MAX_RECORDED_BYTES);
    match copy.as_mut() {
        Some(c) if fits => c.extend_from_slice(data),
        _ => *copy = None,
    }
}

/// The upstream's answer body, passed through frame by frame as the client
/// polls it, with a copy kept; recorded when the last frame has gone. A
/// client that leaves first hands the rest to [`drain`].
struct Tee {
    inner: Option<Incoming>,
    copy: Option<BytesMut>,
    done: Option<Done>,
}

impl Body for Tee {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(&mut *inner).poll_frame(cx);
        let ended = inner.is_end_stream();
        match &polled {
            Poll::Ready(Some(Ok(frame))) => keep(&mut this.copy, frame.data_ref()),
            Poll::Ready(Some(Err(e))) => {
                let failure = describe(e);
                if let Some(done) = this.done.take() {
                    done.finish(this.copy.take(), Some(failure));
                }
            }
            Poll::Ready(None) | Poll::Pending => {}
        }
        // hyper stops polling once the body says it has ended.
        if ended || matches!(polled, Poll::Ready(None)) {
            if let Some(done) = this.done.take() {
                done.finish(this.copy.take(), None);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Incoming::is_end_stream)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner
            .as_ref()
            .map_or_else(http_body::SizeHint::default, Incoming::size_hint)
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        let (Some(inner), Some(done)) = (self.inner.take(), self.done.take()) else {
            return;
        };
        let copy = self.copy.take();
        if inner.is_end_stream() {
            done.finish(copy, None);
        } else if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(drain(inner, copy, done));
        }
    }
}

impl Done {
    /// Records the exchange: `failure` makes it a transport error; a 200
    /// with its whole body in `copy` is kept for replay.
    fn finish(mut self, copy: Option<BytesMut>, failure: Option<String>) {
        self.exchange.took = self.started.elapsed();
        let mut recording = lock(&self.recording);
        if let Some(failure) = failure {
            self.exchange.status = None;
            self.exchange.error = Some(failure);
        } else if self.exchange.status == Some(200) {
            let room = recording.answers.len() < MAX_ANSWERS;
            match copy.map(|b| String::from_utf8(b.to_vec())) {
                Some(Ok(text))
                    if room && recording.answer_bytes + text.len() <= MAX_ANSWER_BYTES =>
                {
                    recording.answer_bytes += text.len();
                    let key = (self.exchange.path.clone(), self.exchange.key);
                    if let Some((_, old)) = recording.answers.insert(key, (200, text)) {
                        recording.answer_bytes -= old.len();
                    }
                }
                _ => recording.unrecorded += 1,
            }
        }
        recording.exchanges.push(self.exchange);
    }
}

/// Writes the journal and answers of `recording` into `dir`; returns the
/// journal's path.
pub fn write_recording(recording: &Recording, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let journal = dir.join("journal.ndjson");
    std::fs::write(&journal, JournalEntry::to_ndjson(&recording.journal()))
        .map_err(|e| format!("{}: {e}", journal.display()))?;
    let answers = dir.join("answers.ndjson");
    std::fs::write(&answers, recording.answers_ndjson())
        .map_err(|e| format!("{}: {e}", answers.display()))?;
    Ok(journal)
}
