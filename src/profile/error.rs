//! Why a profile could not be loaded: always naming the file (or built-in),
//! the field and the reason.

use std::path::PathBuf;

/// A profile that could not be found, parsed or validated.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No built-in profile has this name.
    #[error("unknown built-in profile `{name}` (built-ins: {})", super::BUILTIN_NAMES.join(", "))]
    UnknownBuiltin {
        /// The name asked for.
        name: String,
    },
    /// The file's extension is neither TOML nor YAML.
    #[error("{}: unsupported profile format (use .toml, .yaml or .yml)", path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The data did not parse into a profile (syntax, type or unknown field).
    /// figment's message names the key and the source it came from.
    #[error("{origin}: {message}")]
    Parse {
        /// The file or built-in.
        origin: String,
        /// What figment reported.
        message: String,
    },
    /// The profile parsed but a value is not acceptable.
    #[error("{origin}: field `{field}`: {reason}")]
    Invalid {
        /// The file or built-in.
        origin: String,
        /// Dotted path of the field, e.g. `latency.p99`.
        field: String,
        /// Why it was rejected.
        reason: String,
    },
}
