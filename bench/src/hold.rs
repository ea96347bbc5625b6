//! Many idle-but-waiting clients: open N connections, send one request on
//! each, and hold them until told to let go — the shape of a fleet of
//! callers stuck on a hanging detector. Raw sockets, not hyper, so ten
//! thousand of them cost the client little.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout};

/// How long connecting and writing the request may take per connection.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections being set up at once (the server's accept queue is finite).
const SETUP_CONCURRENCY: usize = 512;

/// Counters shared by the holding tasks.
#[derive(Debug, Default)]
struct Counters {
    /// Connected and request written.
    waiting: AtomicU64,
    /// Could not connect or write (refused, reset, timed out).
    refused: AtomicU64,
    /// Got an answer or EOF while it should still have been waiting.
    early: AtomicU64,
}

/// Connections held open against a server.
#[derive(Debug)]
pub(crate) struct Held {
    counters: Arc<Counters>,
    release: watch::Sender<bool>,
    tasks: JoinSet<()>,
    total: u64,
}

/// What holding saw.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct HoldCounts {
    pub(crate) waiting: u64,
    pub(crate) refused: u64,
    pub(crate) early: u64,
}

impl HoldCounts {
    /// Every way a held connection can go wrong.
    pub(crate) fn errors(&self) -> u64 {
        self.refused + self.early
    }
}

/// Opens `n` connections to `addr`, each sending `request` and then waiting.
pub(crate) fn hold(addr: SocketAddr, n: usize, request: Bytes) -> Held {
    let counters = Arc::new(Counters::default());
    let (release, released) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let counters = counters.clone();
        let gate = gate.clone();
        let mut released = released.clone();
        let request = request.clone();
        tasks.spawn(async move {
            let Ok(permit) = gate.acquire_owned().await else {
                return;
            };
            let Ok(Ok(mut stream)) = timeout(SETUP_TIMEOUT, setup(addr, &request)).await else {
                counters.refused.fetch_add(1, Ordering::Relaxed);
                return;
            };
            drop(permit);
            counters.waiting.fetch_add(1, Ordering::Relaxed);
            let mut byte = [0u8; 1];
            tokio::select! {
                _ = stream.read(&mut byte) => {
                    counters.early.fetch_add(1, Ordering::Relaxed);
                }
                _ = released.wait_for(|r| *r) => {}
            }
        });
    }
    Held {
        counters,
        release,
        tasks,
        total: n as u64,
    }
}

async fn setup(addr: SocketAddr, request: &[u8]) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request).await?;
    Ok(stream)
}

impl Held {
    /// The counters now.
    pub(crate) fn counts(&self) -> HoldCounts {
        HoldCounts {
            waiting: self.counters.waiting.load(Ordering::Relaxed),
            refused: self.counters.refused.load(Ordering::Relaxed),
            early: self.counters.early.load(Ordering::Relaxed),
        }
    }

    /// Waits until every connection is waiting or has failed, up to `limit`.
    pub(crate) async fn settle(&self, limit: Duration) -> HoldCounts {
        let deadline = Instant::now() + limit;
        loop {
            let counts = self.counts();
            if counts.waiting + counts.refused >= self.total || Instant::now() >= deadline {
                return counts;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Lets every connection go (closing them) and returns the final counts.
    pub(crate) async fn release(mut self) -> HoldCounts {
        let _ = self.release.send(true);
        let drained = timeout(Duration::from_secs(10), async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            self.tasks.abort_all();
        }
        self.counts()
    }
}
