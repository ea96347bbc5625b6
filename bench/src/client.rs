//! Our load generator: plain HTTP/1.1 keep-alive connections (hyper's
//! client connection, no pool, no retries) driven either
//!
//! - **closed-loop** ([`closed_loop`]): N connections, each sending its next
//!   request as soon as the last answer is in — throughput at a fixed
//!   concurrency, and the achieved/ideal rate of a fixed-latency server; or
//! - **open-loop** ([`open_loop`]): requests start on a fixed schedule
//!   whatever the answers do, each on an idle connection or a new one, so a
//!   slow answer never delays the next request (no coordinated omission).
//!   Requests start on tokio's 1 ms timer ticks, or — with
//!   [`OpenLoop::spread`] — at sub-millisecond instants kept by a timer
//!   thread, so their arrival is not locked to any server-side grid.
//!
//! Latency is measured from just before the request is written to the end
//! of the response body, on the client's monotonic clock.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep_until, timeout};

use super::error::BenchError;
use super::sys;
use mockdet::RequestKey;

/// How long establishing one connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections opened at once when many are needed up front.
const CONNECT_CONCURRENCY: usize = 256;

/// One request to send again and again.
#[derive(Debug, Clone)]
pub(crate) struct Shot {
    pub(crate) addr: SocketAddr,
    pub(crate) path: &'static str,
    pub(crate) body: Bytes,
    /// Headers besides `host` and `content-type`.
    pub(crate) headers: &'static [(&'static str, &'static str)],
    /// Give every request an `X-Correlation-ID` of its own (`bench-N`), so
    /// a detector in request mode sees a new key each time.
    pub(crate) fresh_ids: bool,
}

/// The number of the next `bench-N` correlation id.
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Shot {
    /// The request, and the correlation id it carries if it got a fresh one.
    fn request(&self) -> Result<(hyper::Request<Full<Bytes>>, Option<String>), BenchError> {
        let mut request = hyper::Request::post(self.path)
            .header(hyper::header::HOST, self.addr.to_string())
            .header(hyper::header::CONTENT_TYPE, "application/json");
        for (name, value) in self.headers {
            request = request.header(*name, *value);
        }
        let id = self.fresh_ids.then(|| {
            let n = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!("bench-{n}")
        });
        if let Some(id) = &id {
            request = request.header("x-correlation-id", id.as_str());
        }
        let request = request
            .body(Full::new(self.body.clone()))
            .map_err(BenchError::Request)?;
        Ok((request, id))
    }
}

/// What came back for one request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    /// mockdet's `x-mock-seq` header: the request's sequence number.
    pub(crate) seq: Option<u64>,
    /// The request's key and attempt in request mode: the key from the
    /// correlation id this client gave it, the attempt from mockdet's
    /// `x-mock-attempt`.
    pub(crate) key: Option<(RequestKey, u32)>,
    pub(crate) latency_ms: f64,
    /// When the body was complete.
    pub(crate) done: Instant,
}

/// A client connection; dropping it closes the socket.
#[derive(Debug)]
pub(crate) struct Conn {
    sender: SendRequest<Full<Bytes>>,
    task: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Conn {
    /// Connects to `addr` (bounded by [`CONNECT_TIMEOUT`]).
    pub(crate) async fn open(addr: SocketAddr) -> Result<Self, BenchError> {
        let stream = timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| BenchError::ConnectTimeout { addr })?
            .map_err(|source| BenchError::Connect { addr, source })?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|source| BenchError::Http { addr, source })?;
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Self { sender, task })
    }

    fn usable(&self) -> bool {
        !self.sender.is_closed() && self.sender.is_ready()
    }

    /// Sends `shot` and reads the whole answer.
    pub(crate) async fn exchange(&mut self, shot: &Shot) -> Result<Answer, BenchError> {
        let (request, id) = shot.request()?;
        let http = |source| BenchError::Http {
            addr: shot.addr,
            source,
        };
        self.sender.ready().await.map_err(http)?;
        let start = Instant::now();
        let response = self.sender.send_request(request).await.map_err(http)?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            let value = response.headers().get(name)?;
            value.to_str().ok().map(str::to_owned)
        };
        let seq = header("x-mock-seq").and_then(|v| v.parse().ok());
        let attempt = header("x-mock-attempt").and_then(|v| v.parse().ok());
        // With `key_body = false` (the default) the id alone is the key.
        let key = id.map(|id| RequestKey::new(Some(("x-correlation-id", &id)), None));
        response.into_body().collect().await.map_err(http)?;
        let done = Instant::now();
        Ok(Answer {
            status,
            seq,
            key: key.zip(attempt),
            latency_ms: (done - start).as_secs_f64() * 1000.0,
            done,
        })
    }
}

/// Opens `n` connections to `addr`, a bounded number at a time.
pub(crate) async fn open_many(addr: SocketAddr, n: usize) -> Result<Vec<Conn>, BenchError> {
    let mut conns = Vec::with_capacity(n);
    while conns.len() < n {
        let batch = CONNECT_CONCURRENCY.min(n - conns.len());
        let mut set = JoinSet::new();
        for _ in 0..batch {
            set.spawn(Conn::open(addr));
        }
        while let Some(joined) = set.join_next().await {
            conns.push(joined??);
        }
    }
    Ok(conns)
}

/// A closed-loop run.
#[derive(Debug, Clone)]
pub(crate) struct ClosedLoop {
    pub(crate) connections: usize,
    /// Time before the measured window (ramp-up, not counted).
    pub(crate) warmup: Duration,
    /// The measured window.
    pub(crate) measure: Duration,
    /// First requests are spread evenly over this, so a fixed-latency
    /// server does not see every connection in lock-step.
    pub(crate) stagger: Duration,
    /// Longest one request may take before it counts as an error.
    pub(crate) request_timeout: Duration,
}

/// What a closed-loop run saw inside its measured window.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClosedRun {
    /// Latency (ms) of every answer completed inside the window.
    pub(crate) latencies_ms: Vec<f64>,
    /// Non-2xx answers, transport errors and timeouts (whole run).
    pub(crate) errors: u64,
    pub(crate) window_s: f64,
}

impl ClosedRun {
    /// Answers per second inside the window.
    pub(crate) fn rate(&self) -> f64 {
        self.latencies_ms.len() as f64 / self.window_s
    }
}

/// Runs `plan` against `shot.addr`.
pub(crate) async fn closed_loop(plan: &ClosedLoop, shot: &Shot) -> Result<ClosedRun, BenchError> {
    let conns = open_many(shot.addr, plan.connections).await?;
    let start = Instant::now();
    let from = start + plan.warmup;
    let to = from + plan.measure;
    let mut lanes = JoinSet::new();
    let n = conns.len().max(1) as u32;
    for (i, conn) in conns.into_iter().enumerate() {
        let first = start + plan.stagger * i as u32 / n;
        let lane = Lane {
            first,
            from,
            to,
            request_timeout: plan.request_timeout,
        };
        lanes.spawn(lane.drive(conn, shot.clone()));
    }
    let mut run = ClosedRun {
        window_s: plan.measure.as_secs_f64(),
        ..ClosedRun::default()
    };
    let deadline = to + plan.request_timeout + Duration::from_secs(1);
    while let Ok(Some(joined)) = tokio::time::timeout_at(deadline, lanes.join_next()).await {
        let (latencies, errors) = joined?;
        run.latencies_ms.extend(latencies);
        run.errors += errors;
    }
    lanes.abort_all();
    Ok(run)
}

/// One connection's closed loop.
#[derive(Debug, Clone, Copy)]
struct Lane {
    first: Instant,
    from: Instant,
    to: Instant,
    request_timeout: Duration,
}

impl Lane {
    /// Returns the latencies inside the window and the error count.
    async fn drive(self, mut conn: Conn, shot: Shot) -> (Vec<f64>, u64) {
        let mut latencies = Vec::new();
        let mut errors = 0;
        sleep_until(self.first).await;
        while Instant::now() < self.to {
            match timeout(self.request_timeout, conn.exchange(&shot)).await {
                Ok(Ok(answer)) if (200..300).contains(&answer.status) => {
                    if answer.done >= self.from && answer.done <= self.to {
                        latencies.push(answer.latency_ms);
                    }
                    continue;
                }
                Ok(Ok(_)) => errors += 1,
                _ => {
                    errors += 1;
                    match Conn::open(shot.addr).await {
                        Ok(fresh) => conn = fresh,
                        Err(_) => break,
                    }
                }
            }
        }
        (latencies, errors)
    }
}

/// An open-loop run: `count` requests at `rate` per second.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenLoop {
    pub(crate) rate: f64,
    pub(crate) count: usize,
    /// Requests still unanswered after this are abandoned (their
    /// connection is closed) and counted as timed out.
    pub(crate) request_timeout: Duration,
    /// Start request `i` at `(i + frac(i·φ)) / rate` (φ the golden ratio:
    /// gaps of 0.618 and 1.618 periods, the same rate, every phase within a
    /// period equally often), kept by a timer thread with microsecond
    /// precision. Off: at `i / rate`, which tokio's timer rounds up to its
    /// 1 ms tick, so at 1,000 req/s every request starts at the same phase
    /// of the millisecond — and a server that rounds its deadlines to a
    /// sub-millisecond grid (mockdet's 500 µs) answers them all at the same
    /// phase too, hiding up to a grid step of any delay added in front of
    /// it.
    pub(crate) spread: bool,
}

/// The fractional part of the golden ratio.
const GOLDEN_FRACTION: f64 = 0.618_033_988_749_894_9;

impl OpenLoop {
    /// When request `i` is due, counted from the start of the run.
    pub(crate) fn due(&self, i: usize) -> Duration {
        let slot = i as f64;
        let offset = if self.spread {
            (slot * GOLDEN_FRACTION).fract()
        } else {
            0.0
        };
        Duration::from_secs_f64((slot + offset) / self.rate)
    }
}

/// How one open-loop request ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Outcome {
    Answered(Answer),
    /// Connection refused, reset or closed without an answer.
    Failed,
    TimedOut,
}

/// Everything an open-loop run saw.
#[derive(Debug, Clone, Default)]
pub(crate) struct OpenRun {
    pub(crate) outcomes: Vec<Outcome>,
    /// How late each request started against its schedule (ms).
    pub(crate) lag_ms: Vec<f64>,
}

type Pool = Arc<Mutex<Vec<Conn>>>;

/// Runs `plan` against `shot.addr`.
pub(crate) async fn open_loop(plan: OpenLoop, shot: Shot) -> Result<OpenRun, BenchError> {
    let pool: Pool = Arc::new(Mutex::new(Vec::new()));
    let shot = Arc::new(shot);
    let start = Instant::now();
    let mut ticks = match plan.spread {
        true => Some(ticker(
            (0..plan.count).map(|i| start + plan.due(i)).collect(),
        )?),
        false => None,
    };
    let mut requests = JoinSet::new();
    for i in 0..plan.count {
        let at = start + plan.due(i);
        let ticked = match ticks.as_mut() {
            Some(ticks) => ticks.recv().await.is_some(),
            None => false,
        };
        // Were the thread ever to end early, tokio's timer takes over.
        if !ticked {
            sleep_until(at).await;
        }
        requests.spawn(one_request(
            pool.clone(),
            shot.clone(),
            at,
            plan.request_timeout,
        ));
    }
    let mut run = OpenRun::default();
    let deadline = Instant::now() + plan.request_timeout + CONNECT_TIMEOUT + Duration::from_secs(1);
    while let Ok(Some(joined)) = tokio::time::timeout_at(deadline, requests.join_next()).await {
        let (outcome, lag) = joined?;
        run.outcomes.push(outcome);
        run.lag_ms.push(lag);
    }
    requests.abort_all();
    Ok(run)
}

/// A thread that sends one message at each of `instants` (ascending),
/// sleeping in between with a 1 µs timer slack; it ends after the last one
/// or as soon as the receiver is gone.
fn ticker(instants: Vec<Instant>) -> Result<UnboundedReceiver<()>, BenchError> {
    let (tx, rx) = unbounded_channel();
    let run = move || {
        // Best effort: the default 50 µs slack only blurs the schedule.
        let _ = sys::fine_timer_slack();
        for at in instants {
            let now = std::time::Instant::now();
            let at = at.into_std();
            if at > now {
                std::thread::sleep(at - now);
            }
            if tx.send(()).is_err() {
                return;
            }
        }
    };
    std::thread::Builder::new()
        .name("bench-ticker".into())
        .spawn(run)
        .map_err(BenchError::Ticker)?;
    Ok(rx)
}

async fn one_request(pool: Pool, shot: Arc<Shot>, at: Instant, limit: Duration) -> (Outcome, f64) {
    let lag = (Instant::now() - at).as_secs_f64() * 1000.0;
    let idle = take_idle(&pool);
    let mut conn = match idle {
        Some(conn) => conn,
        None => match Conn::open(shot.addr).await {
            Ok(conn) => conn,
            Err(_) => return (Outcome::Failed, lag),
        },
    };
    let outcome = match timeout(limit, conn.exchange(&shot)).await {
        Ok(Ok(answer)) => {
            // The lock is never held across an await: push and release.
            pool.lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(conn);
            Outcome::Answered(answer)
        }
        Ok(Err(_)) => Outcome::Failed,
        Err(_) => Outcome::TimedOut,
    };
    (outcome, lag)
}

/// Pops an idle connection that can take a request, dropping dead ones.
fn take_idle(pool: &Pool) -> Option<Conn> {
    let mut idle = pool.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    while let Some(conn) = idle.pop() {
        if conn.usable() {
            return Some(conn);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(spread: bool) -> OpenLoop {
        OpenLoop {
            rate: 1000.0,
            count: 10_000,
            request_timeout: Duration::from_secs(1),
            spread,
        }
    }

    #[test]
    fn without_spread_requests_are_due_on_whole_periods() {
        let plan = plan(false);
        assert_eq!(plan.due(0), Duration::ZERO);
        assert_eq!(plan.due(7), Duration::from_millis(7));
    }

    #[test]
    fn spread_requests_stay_in_their_slot_and_cover_every_phase_of_a_grid() {
        let plan = plan(true);
        let mut bins = [0_usize; 10];
        let mut previous = None;
        for i in 0..plan.count {
            let due = plan.due(i);
            assert!(due >= Duration::from_millis(i as u64), "{i}: {due:?}");
            assert!(due < Duration::from_millis(i as u64 + 1), "{i}: {due:?}");
            if let Some(previous) = previous {
                let gap = (due - previous).as_secs_f64() * 1000.0;
                assert!((0.617..1.619).contains(&gap), "{i}: {gap}");
            }
            previous = Some(due);
            // Phase within a 500 µs grid, in 50 µs bins.
            bins[(due.as_micros() % 500 / 50) as usize] += 1;
        }
        for count in bins {
            assert!((990..=1010).contains(&count), "{bins:?}");
        }
    }
}
