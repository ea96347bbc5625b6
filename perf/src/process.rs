//! Running a load tool as a child process with a deadline: output to files,
//! killed when late or when the run is interrupted.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use super::tools::tail;

/// How a child process ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Exit {
    /// Exit code; `None` when killed or when it never started.
    pub(crate) code: Option<i32>,
    /// Killed at the deadline.
    pub(crate) timed_out: bool,
    /// The last lines of its stderr.
    pub(crate) stderr_tail: String,
}

impl Exit {
    /// What went wrong, for a report: the stderr tail, prefixed when the
    /// child had to be killed at its deadline.
    pub(crate) fn explain(self) -> String {
        if self.timed_out {
            format!("killed after the deadline\n{}", self.stderr_tail)
        } else {
            self.stderr_tail
        }
    }
}

/// A started child with its log files.
pub(crate) struct Running {
    child: Option<Child>,
    stderr_path: PathBuf,
    /// The command line, for the report.
    pub(crate) command: String,
}

/// Starts `program args…` with `envs`, stdout and stderr into `log_stem.{out,err}`.
pub(crate) fn start(
    program: &Path,
    args: &[String],
    envs: &[(String, String)],
    log_stem: &Path,
) -> Running {
    let command = std::iter::once(program.display().to_string())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let stderr_path = log_stem.with_extension("err");
    let files = std::fs::File::create(log_stem.with_extension("out"))
        .and_then(|out| Ok((out, std::fs::File::create(&stderr_path)?)));
    let child = files.ok().and_then(|(out, err)| {
        Command::new(program)
            .args(args)
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| tracing::warn!(%command, error = %e, "cannot start"))
            .ok()
    });
    Running {
        child,
        stderr_path,
        command,
    }
}

impl Running {
    /// Waits up to `limit`, killing the child if it is still running then.
    pub(crate) async fn wait(mut self, limit: Duration) -> Exit {
        let Some(child) = self.child.as_mut() else {
            return Exit {
                code: None,
                timed_out: false,
                stderr_tail: format!("could not start: {}", self.command),
            };
        };
        let (code, timed_out) = match tokio::time::timeout(limit, child.wait()).await {
            Ok(Ok(status)) => (status.code(), false),
            Ok(Err(_)) => (None, false),
            Err(_) => {
                let _ = child.kill().await;
                (None, true)
            }
        };
        let stderr = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        Exit {
            code,
            timed_out,
            stderr_tail: tail(&stderr, 15),
        }
    }

    /// Kills the child now.
    pub(crate) async fn kill(mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill().await;
        }
    }
}
