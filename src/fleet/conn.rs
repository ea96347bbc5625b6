//! Per-connection plumbing shared by the server and the handlers: when a
//! request arrived, and a way for a handler to tear its connection down
//! (a clean close with no answer, or a TCP reset).

use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::Instant;

/// When the request's head was handed to the service — the moment every
/// sampled latency counts from, so parsing and queueing do not add to it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival(pub(crate) Instant);

/// How a handler wants its connection to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abort {
    /// Close without answering: the client reads EOF.
    Close,
    /// Close with SO_LINGER 0: the client gets a TCP RST.
    Reset,
}

/// Lets a handler end the connection its request came in on.
#[derive(Debug)]
pub(crate) struct ConnControl {
    abort: watch::Sender<Option<Abort>>,
}

impl ConnControl {
    /// A control and the receiver the connection task watches.
    pub(crate) fn new() -> (Arc<Self>, watch::Receiver<Option<Abort>>) {
        let (abort, rx) = watch::channel(None);
        (Arc::new(Self { abort }), rx)
    }

    /// Asks the connection task to end the connection, then waits until it
    /// has. Over HTTP/1 the caller is dropped with the connection and never
    /// resumes; over HTTP/2 it resumes once the connection is gone.
    pub(crate) async fn abort(&self, how: Abort) {
        // An error means the connection task is already gone.
        let _ = self.abort.send(Some(how));
        self.abort.closed().await;
    }
}
