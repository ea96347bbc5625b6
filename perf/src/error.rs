//! Everything that stops `mockdet perf` before or between its test types:
//! [`PerfError`], one variant per cause, each naming the file, flag, URL,
//! tool or detector involved. A tool that crashes *during* a test is not an
//! error here but a result (its status and stderr go into the report).

use std::path::PathBuf;
use std::process::ExitStatus;

use super::runner::TEST_TYPES;

/// Why `mockdet perf` could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PerfError {
    /// The async runtime could not start.
    #[error("cannot start tokio: {0}")]
    Runtime(#[source] std::io::Error),
    /// `--config` names a file that does not exist.
    #[error("{}: no such config file", .path.display())]
    ConfigMissing { path: PathBuf },
    /// The config file did not parse, or a field of it is wrong.
    #[error("{origin}: {source}")]
    Config {
        /// The file, or `defaults`.
        origin: String,
        /// Boxed: figment's error is large, and `Result`s stay small.
        source: Box<figment::Error>,
    },
    /// A fault step's `at` ends in `%` but is not a number.
    #[error("`{text}` is not a percentage")]
    NotAPercentage { text: String },
    /// A fault step's `at` is neither a duration nor a percentage.
    #[error("`{text}`: {source}")]
    BadDuration {
        text: String,
        source: humantime::DurationError,
    },
    /// `--test-type` names no test type.
    #[error("--test-type `{given}`: use one of {}, all", TEST_TYPES.join(", "))]
    UnknownTestType { given: String },
    /// `--duration-scale` is zero, negative or not finite.
    #[error("--duration-scale must be a positive number, got {scale}")]
    DurationScale { scale: f64 },
    /// k6 or Locust is neither where it was asked for, on `PATH`, nor in
    /// the setup venv.
    #[error("{tool} not found (looked at {}); install it with `mockdet perf setup`", .looked.join(", "))]
    ToolNotFound {
        tool: &'static str,
        looked: Vec<String>,
    },
    /// A step of `mockdet perf setup` could not be started.
    #[error("{step}: cannot start: {source}")]
    SetupStart {
        step: &'static str,
        source: std::io::Error,
    },
    /// A step of `mockdet perf setup` exited unsuccessfully.
    #[error("{step} failed ({status}): {stderr_tail}")]
    SetupFailed {
        step: &'static str,
        status: ExitStatus,
        stderr_tail: String,
    },
    /// The orchestrator under test does not answer its health path.
    #[error("target {url} is not reachable: {source}")]
    Unreachable { url: String, source: reqwest::Error },
    /// The HTTP client for the fleet could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// A `--fleet` URL does not answer `/capabilities`.
    #[error("--fleet {url}: not a mockdet detector: {source}")]
    NotADetector { url: String, source: reqwest::Error },
    /// A `--fleet` URL's `/capabilities` is not JSON.
    #[error("--fleet {url}: {source}")]
    Capabilities { url: String, source: reqwest::Error },
    /// A `--fleet` URL's `/capabilities` has no `name`.
    #[error("--fleet {url}: /capabilities has no name")]
    Nameless { url: String },
    /// A fault step names a detector the fleet does not have.
    #[error("fault step names detector `{detector}`; the fleet has {known:?}")]
    UnknownDetector {
        detector: String,
        known: Vec<String>,
    },
    /// A fault step says neither what to inject nor how.
    #[error("fault step for `{detector}` has no outage, next or script")]
    EmptyFaultStep { detector: String },
    /// A fleet admin call failed on the way.
    #[error("{url}: {source}")]
    Admin { url: String, source: reqwest::Error },
    /// A fleet admin call was refused.
    #[error("{url}: answered {status}: {body}")]
    AdminRefused {
        url: String,
        status: reqwest::StatusCode,
        body: String,
    },
    /// `mockdet perf report` found no results file.
    #[error("no performance_test_results_*.json in {}", .dir.display())]
    NoResults { dir: PathBuf },
    /// A results file is not a report.
    #[error("{}: {source}", .path.display())]
    BadResults {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// Something could not be encoded as JSON.
    #[error("cannot encode {what}: {source}")]
    Encode {
        what: &'static str,
        source: serde_json::Error,
    },
    /// A file or directory could not be read, written or created.
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl PerfError {
    /// An I/O error about `path`, for `map_err`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
