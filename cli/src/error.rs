//! Why a `mockdet` command could not run: [`CliError`]. The command line
//! prints it as `mockdet: {error}` and exits 2; most variants pass the
//! library's own error (which names the file, field or port) through.

use mockdet::{FleetError, ProfileError};
use mockdet_orchestrator::bench::BenchError as OrchestratorBenchError;
use mockdet_orchestrator::{ConfigError, OrchestratorError};

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The async runtime could not start.
    #[error("cannot start tokio: {0}")]
    Runtime(#[source] std::io::Error),
    /// A profile file or built-in could not be loaded.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// `--profile NAME` is neither a built-in nor in a `--profile-file`.
    #[error("{source}{}", from_files(.loaded))]
    UnknownProfile {
        /// The built-in lookup's error (it lists the built-ins).
        source: ProfileError,
        /// Names of the profiles loaded from files.
        loaded: Vec<String>,
    },
    /// Two `--profile-file`s define the same profile name.
    #[error("{first} and {second} both define a profile named `{name}`; names must be unique")]
    DuplicateProfile {
        name: String,
        first: String,
        second: String,
    },
    /// `mockdet profiles show NAME` names no profile.
    #[error("no profile `{name}` (known: {})", .known.join(", "))]
    NoSuchProfile { name: String, known: Vec<String> },
    /// `--port` with more than one detector.
    #[error(
        "--port applies to a single detector, but {selected} are selected; pick one with --profile"
    )]
    PortNeedsOneDetector { selected: usize },
    /// The detectors could not start.
    #[error(transparent)]
    Fleet(#[from] FleetError),
    /// A `--journal` file could not be read or parsed.
    #[error("--journal {path}: {reason}")]
    Journal { path: String, reason: String },
    /// `mockdet orchestrator` without detectors.
    #[error("give --config FILE or --detectors name=url,... (or run `mockdet demo`)")]
    NoDetectors,
    /// The orchestrator's configuration is not acceptable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The orchestrator (or the demo) could not start.
    #[error(transparent)]
    Orchestrator(#[from] OrchestratorError),
    /// `mockdet orchestrator-bench` could not run.
    #[error(transparent)]
    OrchestratorBench(#[from] OrchestratorBenchError),
    /// `mockdet bench` (or its baseline server) could not run.
    #[error(transparent)]
    Bench(#[from] mockdet_bench::BenchError),
    /// The health check's HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// The health check got no answer.
    #[error(transparent)]
    Unreachable(reqwest::Error),
    /// The health check got an answer other than 2xx.
    #[error("answered {status}")]
    Unhealthy { status: reqwest::StatusCode },
}

/// `; from files: a, b` when profiles were loaded from files, else nothing.
fn from_files(loaded: &[String]) -> String {
    if loaded.is_empty() {
        String::new()
    } else {
        format!("; from files: {}", loaded.join(", "))
    }
}

/// A multi-threaded tokio runtime for a serving command.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Runtime::new().map_err(CliError::Runtime)
}
