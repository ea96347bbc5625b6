//! The accept loop behind every listener: a large listen backlog, one task
//! per connection, graceful drain with a deadline, and the per-connection
//! control that lets handlers close or reset their connection.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};

use super::shed::Spare;
use crate::detector::DetectorService;
use crate::detector::conn::{Abort, Arrival, ConnControl};

/// Pending-connection queue length. tokio's default (1024 via std, 128 on
/// some kernels' somaxconn) overflows when a thousand clients connect at
/// once; the kernel caps this at `net.core.somaxconn`.
pub(crate) const LISTEN_BACKLOG: u32 = 4096;

/// How long the accept loop backs off after an accept error (such as running
/// out of file descriptors) instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(20);

/// Binds a listener with [`LISTEN_BACKLOG`].
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // Lets a restarted detector rebind a port whose old connections linger.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `service` on `listener` until `shutdown` turns true, then stops
/// accepting, lets in-flight requests finish for up to `drain`, and cuts
/// whatever is still running at the deadline.
pub(crate) async fn serve(
    listener: TcpListener,
    service: DetectorService,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
) {
    // No hyper header read timeout: it makes and cancels a timer for every
    // request. Each connection cuts itself when quiet instead (below).
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut spare = Spare::reserve();
    // The guard `wait_for` yields is not `Send`; keep it inside this future.
    let stop = async move {
        let _ = shutdown.wait_for(|stop| *stop).await;
    };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let task = connection(stream, service.clone(), &builder, &graceful);
                    connections.spawn(task);
                }
                Err(error) if Spare::out_of_descriptors(&error) => {
                    if spare.shed(&listener).await {
                        service.shed();
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed; backing off");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    drain_connections(connections, graceful, drain).await;
}

/// Lets the open connections finish for up to `drain`, then cuts the rest.
async fn drain_connections(
    mut connections: JoinSet<()>,
    graceful: GracefulShutdown,
    drain: Duration,
) {
    let in_flight = connections.len();
    let drained = tokio::time::timeout(drain, async {
        graceful.shutdown().await;
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            of = in_flight,
            drain_ms = drain.as_millis() as u64,
            "drain deadline reached; cutting the remaining connections"
        );
        connections.shutdown().await;
    }
}

/// The task serving one connection. It cuts the connection once no request
/// has been open on it for the detector's read timeout — since it opened,
/// or since its last answer — which bounds a half-sent head (slowloris) and
/// an idle keep-alive connection alike, with one timer re-armed only when
/// it fires (see [`ConnControl::quiet_for`]).
fn connection(
    stream: TcpStream,
    app: DetectorService,
    builder: &auto::Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
) -> impl Future<Output = ()> + Send + 'static {
    // Answers are small and latency is the product: never wait for Nagle.
    let _ = stream.set_nodelay(true);
    let (control, mut abort) = ConnControl::new(&stream);
    let task_control = control.clone();
    let watcher = app.clone();
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        if request.version() == hyper::Version::HTTP_2 {
            control.multiplexed();
        }
        let busy = control.busy();
        let arrival = Arrival {
            at: Instant::now(),
            wall: std::time::SystemTime::now(),
            control: control.clone(),
        };
        app.call(request, arrival, busy)
    });
    let conn = builder
        .serve_connection(TokioIo::new(stream), service)
        .into_owned();
    // Boxed so that dropping it frees hyper's buffers while this task lives
    // on (a held request keeps only its socket).
    let mut conn = Box::pin(graceful.watch(conn));
    async move {
        let check = tokio::time::sleep(watcher.read_timeout());
        tokio::pin!(check);
        let how = loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                    return;
                }
                how = abort.wait_for(Option::is_some) => match how {
                    Ok(how) => break *how,
                    Err(_) => return,
                },
                () = &mut check => {
                    // The current profile's timeout: a live change reaches
                    // open connections at their next check.
                    if quiet_too_long(&task_control, watcher.read_timeout(), check.as_mut()) {
                        watcher.headers_timed_out();
                        return; // dropping the connection closes it
                    }
                }
            }
        };
        drop(abort);
        end_aborted(how, conn, &task_control).await;
    }
}

/// At a check of a connection: whether it has been quiet for `timeout`;
/// if not, `check` is re-armed for when it would have been.
fn quiet_too_long(control: &ConnControl, timeout: Duration, check: Pin<&mut Sleep>) -> bool {
    let now = Instant::now();
    match control.quiet_for(now) {
        Some(quiet) if quiet >= timeout => true,
        Some(quiet) => {
            check.reset(now + (timeout - quiet));
            false
        }
        // A request is open: look again a whole timeout later (it can
        // only go quiet after it finishes).
        None => {
            check.reset(now + timeout);
            false
        }
    }
}

/// Ends a connection its handler aborted: a close, a reset, or a hand-over
/// of a hanging request to the holder, which then runs here.
async fn end_aborted<C>(how: Option<Abort>, conn: C, control: &Arc<ConnControl>) {
    if how == Some(Abort::Reset) {
        // `conn` still owns the stream here, so the socket is open.
        control.linger_zero();
    }
    // Dropping the connection closes hyper's descriptor: FIN, or RST when
    // linger was set to zero. A held request has its own.
    drop(conn);
    if how == Some(Abort::Hold) {
        if let Some(held) = control.take_held() {
            held.run().await;
        }
    }
}
