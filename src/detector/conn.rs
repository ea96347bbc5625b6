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

use std::io;
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
