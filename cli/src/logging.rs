//! Logs to stderr through tracing; stdout stays free for the ready line.
//!
//! Text logs are coloured only when stderr is a terminal and `NO_COLOR` is
//! unset or empty (<https://no-color.org>), so files and CI logs get plain
//! text.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Installs the global subscriber (once; later calls are no-ops).
pub(crate) fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = wants_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Colour for a terminal, unless `NO_COLOR` is set to anything non-empty.
fn wants_colour(terminal: bool, no_colour: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_colour.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        let set = std::ffi::OsStr::new("1");
        let empty = std::ffi::OsStr::new("");
        assert!(wants_colour(true, None));
        assert!(wants_colour(true, Some(empty)));
        assert!(!wants_colour(true, Some(set)));
        assert!(!wants_colour(false, None));
    }
}
