//! Why a benchmark run (or the baseline server) stopped: [`BenchError`],
//! one variant per cause, each naming the CPU, address, file, server
//! listener or tool involved. Failed requests during a case are not errors
//! but figures (they are counted and reported).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use mockdet::ProfileError;

/// Why `mockdet bench` or `mockdet bench-baseline-server` failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The async runtime could not start.
    #[error("cannot start tokio: {0}")]
    Runtime(#[source] std::io::Error),
    /// The client could not be pinned to its CPU.
    #[error("cannot pin the client to CPU {cpu}: {source}")]
    Pin {
        /// The CPU asked for.
        cpu: usize,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The whole run took longer than its limit.
    #[error("the benchmark did not finish within {limit:?}")]
    Overtime {
        /// The limit (15 minutes, 1 with `--quick`).
        limit: Duration,
    },
    /// `--client wrk` was asked for but wrk cannot be run.
    #[error("--client wrk, but wrk is not installed")]
    NoWrk,
    /// A profile for a case could not be built.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The report could not be encoded as JSON.
    #[error("cannot encode the report: {0}")]
    Encode(#[source] serde_json::Error),
    /// A file or directory could not be created.
    #[error("cannot create {}: {source}", .path.display())]
    Create {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The baseline server could not listen.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address asked for (port 0).
        addr: IpAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// This process's own binary (which runs the servers) is not found.
    #[error("cannot find own binary: {0}")]
    OwnBinary(#[source] std::io::Error),
    /// A server process could not be spawned.
    #[error("cannot start {args:?}: {source}")]
    Spawn {
        /// Its arguments.
        args: Vec<String>,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A server process exited as soon as it was spawned.
    #[error("the server exited at once")]
    ExitedAtOnce,
    /// A server did not become ready; its log may say why.
    #[error("{source}; see {}", .log.display())]
    NotReady {
        /// The server's stderr.
        log: PathBuf,
        /// What went wrong with the ready line.
        source: Box<BenchError>,
    },
    /// A server printed no ready line in time.
    #[error("no ready line within {timeout:?}")]
    NoReadyLine {
        /// How long it had.
        timeout: Duration,
    },
    /// A server's stdout could not be read.
    #[error("cannot read the ready line: {0}")]
    ReadReadyLine(#[source] std::io::Error),
    /// A server closed its stdout before printing a ready line.
    #[error("the server exited before it was ready")]
    ExitedBeforeReady,
    /// A ready line is not JSON.
    #[error("bad ready line {line:?}: {source}")]
    BadReadyLine {
        /// The line.
        line: String,
        /// What the parser said.
        source: serde_json::Error,
    },
    /// A ready line has no `ready` object.
    #[error("ready line without a `ready` object: {line:?}")]
    NoReadyObject {
        /// The line.
        line: String,
    },
    /// A ready line's listener URL is not `http://ip:port`.
    #[error("bad URL for `{listener}` in {line:?}")]
    BadListenerUrl {
        /// The listener's name.
        listener: String,
        /// The line.
        line: String,
    },
    /// A server has no listener of that name.
    #[error("the server has no listener `{listener}`")]
    NoListener {
        /// The name asked for.
        listener: String,
    },
    /// A server's memory could not be read from `/proc`.
    #[error("cannot read memory of {pid}: {source}")]
    Memory {
        /// The server's process id.
        pid: u32,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Connecting to a server took too long.
    #[error("connecting to {addr} timed out")]
    ConnectTimeout {
        /// The server.
        addr: SocketAddr,
    },
    /// A server refused or dropped a connection.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// The server.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
    },
    /// An HTTP/1.1 exchange with a server failed.
    #[error("HTTP with {addr}: {source}")]
    Http {
        /// The server.
        addr: SocketAddr,
        /// What hyper said.
        source: hyper::Error,
    },
    /// A request could not be built.
    #[error("cannot build a request: {0}")]
    Request(#[source] hyper::http::Error),
    /// The open-loop client's timer thread could not be started.
    #[error("cannot start the client's timer thread: {0}")]
    Ticker(#[source] std::io::Error),
    /// A load task panicked or was cancelled.
    #[error("a load task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A built-in profile's open-loop run never reported.
    #[error("the open-loop run of `{profile}` went missing")]
    LostRun {
        /// The built-in profile.
        profile: &'static str,
    },
    /// wrk could not be started.
    #[error("cannot run wrk: {0}")]
    WrkStart(#[source] std::io::Error),
    /// wrk ran past its time.
    #[error("wrk did not finish within {limit:?}")]
    WrkOvertime {
        /// Its time.
        limit: Duration,
    },
    /// wrk exited unsuccessfully.
    #[error("wrk failed ({status}): {output}")]
    WrkFailed {
        /// Its exit status.
        status: ExitStatus,
        /// Its stdout.
        output: String,
    },
    /// wrk's summary has no `Requests/sec:` line.
    #[error("cannot read wrk's output: {output}")]
    WrkOutput {
        /// Its stdout.
        output: String,
    },
}
