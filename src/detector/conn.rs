//! Per-connection plumbing shared by the server and the handlers: when a
//! request arrived, and a way for a handler to end its connection — a clean
//! close with no answer, a TCP reset, or a hand-over of a hanging request
//! to a lightweight holder.
//!
//! Holding: a request that hangs for seconds would otherwise keep its whole
//! HTTP/1 connection alive — hyper's read and write buffers (8 KiB each),
//! the handler's future and the request — about 20 KiB per connection, or
//! 200 MiB for 10,000 hanging clients. [`ConnControl::hold`] instead
//! duplicates the socket, lets the connection task drop hyper's connection
//! (freeing all of it) and keeps only the socket, a deadline and what to do
//! then: close, or write a pre-rendered answer. The holder notices a client
//! that goes away and stops early.
//!
//! Quiet: the control also knows whether any request is open on its
//! connection, and since when none has been ([`ConnControl::quiet_for`]).
//! The connection task cuts a connection that stays quiet for the read
//! timeout — a half-sent head (slowloris), an idle keep-alive connection —
//! with one timer per connection, re-armed only when it fires. (hyper's own
//! header read timeout makes, arms and cancels a timer for every request:
//! about 3 % of a zero-latency detector's CPU.)

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use super::clock::sleep_until;

/// What the server attaches to each request (one request extension, one
/// allocation): when its head was handed to the service — the moment every
/// sampled latency counts from, so parsing and queueing do not add to it —
/// and the control of the connection it came in on.
#[derive(Debug, Clone)]
pub(crate) struct Arrival {
    pub(crate) at: Instant,
    /// The wall-clock time at `at`, for the journal.
    pub(crate) wall: std::time::SystemTime,
    pub(crate) control: Arc<ConnControl>,
}

/// How a handler wants its connection to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abort {
    /// Close without answering: the client reads EOF.
    Close,
    /// Close with SO_LINGER 0: the client gets a TCP RST.
    Reset,
    /// Drop the HTTP connection and hand the socket to the holder waiting
    /// in [`ConnControl`]'s slot.
    Hold,
}

/// A hanging request to be held without its HTTP connection.
pub(crate) struct HoldPlan {
    /// When the hold ends.
    pub(crate) until: Instant,
    /// Raw bytes written when the hold ends (a complete HTTP/1.1 response
    /// that closes the connection), or `None` to close without an answer.
    pub(crate) answer: Option<Bytes>,
    /// Called once the hold is over (deadline reached, or the client left).
    pub(crate) done: Box<dyn FnOnce() + Send>,
}

impl std::fmt::Debug for HoldPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HoldPlan")
            .field("until", &self.until)
            .field("answer_bytes", &self.answer.as_ref().map(Bytes::len))
            .finish_non_exhaustive()
    }
}

/// A [`HoldPlan`] with its own descriptor of the socket.
#[derive(Debug)]
pub(crate) struct Held {
    socket: std::net::TcpStream,
    plan: HoldPlan,
}

/// Lets a handler end the connection its request came in on.
#[derive(Debug)]
pub(crate) struct ConnControl {
    abort: watch::Sender<Option<Abort>>,
    socket: SocketHandle,
    held: Mutex<Option<Held>>,
    quiet: Quiet,
}

/// Whether a connection is waiting on its client: how many requests are
/// open on it (answers still being written count), and when the last one
/// finished.
#[derive(Debug)]
struct Quiet {
    opened: Instant,
    open: AtomicU32,
    /// When the last request finished, in nanoseconds after `opened`.
    since_ns: AtomicU64,
    /// Set by an HTTP/2 request: from then on the connection is never cut
    /// for quiet. An idle HTTP/2 connection is not a stalled client, and
    /// hyper's header read timeout never applied to HTTP/2 either; one that
    /// sends no request at all is cut like any other.
    multiplexed: AtomicBool,
}

/// One open request, or an answer still being written, on a connection:
/// the connection is not quiet while this lives.
#[derive(Debug)]
pub(crate) struct Busy(Arc<ConnControl>);

impl Drop for Busy {
    fn drop(&mut self) {
        let quiet = &self.0.quiet;
        let since = Instant::now().saturating_duration_since(quiet.opened);
        let since_ns = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX);
        // Stored before the count drops: whoever sees no request open also
        // sees when the last one finished.
        quiet.since_ns.store(since_ns, Ordering::Relaxed);
        quiet.open.fetch_sub(1, Ordering::Release);
    }
}

impl ConnControl {
    /// A control for the connection on `stream`, and the receiver the
    /// connection task watches.
    pub(crate) fn new(stream: &TcpStream) -> (Arc<Self>, watch::Receiver<Option<Abort>>) {
        let (abort, rx) = watch::channel(None);
        let control = Self {
            abort,
            socket: SocketHandle::of(stream),
            held: Mutex::new(None),
            quiet: Quiet {
                opened: Instant::now(),
                open: AtomicU32::new(0),
                since_ns: AtomicU64::new(0),
                multiplexed: AtomicBool::new(false),
            },
        };
        (Arc::new(control), rx)
    }

    /// Asks the connection task to end the connection, then waits until it
    /// has. Over HTTP/1 the caller is dropped with the connection and never
    /// resumes; over HTTP/2 it resumes once the connection is gone.
    pub(crate) async fn abort(&self, how: Abort) {
        // An error means the connection task is already gone.
        let _ = self.abort.send(Some(how));
        self.abort.closed().await;
    }

    /// Hands a hanging HTTP/1 request to the holder. On success the caller
    /// is dropped with the HTTP connection and never resumes. Gives the
    /// plan back when the socket cannot be duplicated (out of descriptors)
    /// or the connection is already gone; the caller then holds the request
    /// itself.
    pub(crate) async fn hold(&self, plan: HoldPlan) -> Option<HoldPlan> {
        let socket = match self.socket.duplicate() {
            Ok(socket) => socket,
            Err(error) => {
                tracing::debug!(%error, "cannot hand a hanging request over; holding it in place");
                return Some(plan);
            }
        };
        *self.held.lock().unwrap_or_else(|p| p.into_inner()) = Some(Held { socket, plan });
        self.abort(Abort::Hold).await;
        self.take_held().map(|held| held.plan)
    }

    /// Marks a request (or an answer still being written) open until the
    /// guard is dropped.
    pub(crate) fn busy(self: &Arc<Self>) -> Busy {
        self.quiet.open.fetch_add(1, Ordering::Relaxed);
        Busy(self.clone())
    }

    /// Exempts the connection from being cut for quiet: it speaks HTTP/2.
    pub(crate) fn multiplexed(&self) {
        self.quiet.multiplexed.store(true, Ordering::Relaxed);
    }

    /// How long the connection has had no request open, as of `now`:
    /// since it opened, or since its last request finished. `None` while a
    /// request is open, and for an HTTP/2 connection.
    pub(crate) fn quiet_for(&self, now: Instant) -> Option<Duration> {
        let quiet = &self.quiet;
        if quiet.multiplexed.load(Ordering::Relaxed) || quiet.open.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since_ns = quiet.since_ns.load(Ordering::Relaxed);
        let since = quiet.opened + Duration::from_nanos(since_ns);
        Some(now.saturating_duration_since(since))
    }

    /// The request handed over by [`hold`](Self::hold), if any.
    pub(crate) fn take_held(&self) -> Option<Held> {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Makes the next close send RST. Only while the connection's stream is
    /// alive (the connection task calls it before dropping the connection).
    pub(crate) fn linger_zero(&self) {
        self.socket.linger_zero();
    }
}

impl Held {
    /// Holds the socket until the plan's deadline, then answers or closes;
    /// stops early when the client closes its side. Calls the plan's `done`.
    pub(crate) async fn run(self) {
        let Held { socket, plan } = self;
        if let Ok(mut stream) = socket
            .set_nonblocking(true)
            .and_then(|()| TcpStream::from_std(socket))
        {
            tokio::select! {
                () = sleep_until(plan.until) => {
                    if let Some(answer) = &plan.answer {
                        let _ = stream.write_all(answer).await;
                        let _ = stream.shutdown().await;
                    }
                }
                () = client_leaves(&stream) => {}
            }
        }
        (plan.done)();
    }
}

/// Resolves when the client closes its side or the socket fails; reads and
/// discards anything it sends meanwhile (pipelined requests die with the
/// hang).
async fn client_leaves(stream: &TcpStream) {
    // Small: it lives in every held connection's task, and clients rarely send more.
    let mut sink = [0u8; 64];
    loop {
        if stream.readable().await.is_err() {
            return;
        }
        match stream.try_read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

/// Reaches a socket that hyper owns, without keeping a second descriptor:
/// a second descriptor per connection would halve how many connections fit
/// under RLIMIT_NOFILE.
#[derive(Debug, Clone, Copy)]
struct SocketHandle {
    #[cfg(unix)]
    fd: std::os::fd::RawFd,
    #[cfg(windows)]
    socket: std::os::windows::io::RawSocket,
}

impl SocketHandle {
    fn of(stream: &TcpStream) -> Self {
        Self {
            #[cfg(unix)]
            fd: std::os::fd::AsRawFd::as_raw_fd(stream),
            #[cfg(windows)]
            socket: std::os::windows::io::AsRawSocket::as_raw_socket(stream),
        }
    }

    /// Makes the next close send RST. Only call while the stream this
    /// handle was taken from is alive (its connection not dropped).
    fn linger_zero(self) {
        let _ = socket2::SockRef::from(&self.borrow()).set_linger(Some(Duration::ZERO));
    }

    /// A new descriptor of the same socket, which outlives hyper's. Only
    /// call while the stream this handle was taken from is alive.
    fn duplicate(self) -> io::Result<std::net::TcpStream> {
        Ok(std::net::TcpStream::from(
            self.borrow().try_clone_to_owned()?,
        ))
    }

    #[cfg(unix)]
    fn borrow(&self) -> std::os::fd::BorrowedFd<'_> {
        // SAFETY: callers only use the handle while the owning stream is
        // alive (a handler runs inside its connection, which owns the
        // stream; the connection task drops the connection afterwards), so
        // the descriptor is open and still this connection's socket.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(self.fd) }
    }

    #[cfg(windows)]
    fn borrow(&self) -> std::os::windows::io::BorrowedSocket<'_> {
        // SAFETY: as for unix above.
        unsafe { std::os::windows::io::BorrowedSocket::borrow_raw(self.socket) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A control over one end of a loopback connection (and the other end,
    /// kept open).
    async fn control() -> (Arc<ConnControl>, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let (control, _abort) = ConnControl::new(&accepted.unwrap().0);
        (control, client.unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_is_quiet_only_while_no_request_is_open() {
        let (control, _client) = control().await;
        let second = Duration::from_secs(1);
        tokio::time::advance(second).await;
        assert_eq!(
            control.quiet_for(Instant::now()),
            Some(second),
            "since it opened"
        );

        let first = control.busy();
        let other = control.busy();
        tokio::time::advance(5 * second).await;
        assert_eq!(control.quiet_for(Instant::now()), None);
        drop(first);
        assert_eq!(control.quiet_for(Instant::now()), None, "one is still open");
        drop(other);
        tokio::time::advance(second).await;
        assert_eq!(
            control.quiet_for(Instant::now()),
            Some(second),
            "since the last one finished"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_http2_connection_is_never_quiet() {
        let (control, _client) = control().await;
        control.multiplexed();
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(control.quiet_for(Instant::now()), None);
    }
}
