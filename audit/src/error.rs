//! Why an audit could not run (as opposed to a property that failed).

use std::path::PathBuf;

/// An audit that could not run or could not write its report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    /// A fleet detector did not answer as a mockdet detector does.
    #[error("fleet detector {url}: {reason}")]
    Fleet {
        /// The detector's URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The orchestrator does not answer healthy traffic, so nothing it does
    /// under faults can be judged.
    #[error("the orchestrator at {target} {reason}")]
    Baseline {
        /// The orchestrator's URL.
        target: String,
        /// What it did.
        reason: String,
    },
    /// A bad option or configuration value.
    #[error("{0}")]
    Invalid(String),
    /// The orchestrator configuration could not be read.
    #[error(transparent)]
    Config(#[from] mockdet_orchestrator::ConfigError),
    /// The configuration file's `perf` section could not be read.
    #[error("{path}: {reason}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A report file could not be written.
    #[error("could not write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// JSON encoding failed (a bug: every value is encodable).
    #[error("could not encode JSON: {0}")]
    Json(#[source] serde_json::Error),
}

impl AuditError {
    pub(crate) fn fleet(url: &str, reason: impl Into<String>) -> Self {
        Self::Fleet {
            url: url.to_owned(),
            reason: reason.into(),
        }
    }
}
