//! Server processes under test: started from this same binary (the baseline
//! through a hidden subcommand, mockdet through its normal command line),
//! pinned to the server CPU, their ready line read under a deadline, and
//! killed on every exit path (drop, error, or the benchmark dying).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::time::Instant;

use super::error::BenchError;
use super::sys::{self, Memory};

/// How long a server may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a killed server may take to be reaped.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);

/// What to start.
#[derive(Debug, Clone)]
pub(crate) struct Launch {
    /// Arguments after the binary.
    pub(crate) args: Vec<String>,
    /// Extra environment variables.
    pub(crate) env: Vec<(String, String)>,
    /// The CPU to pin the server to, if pinning is available.
    pub(crate) cpu: Option<usize>,
    /// Where the server's stderr (its logs) goes.
    pub(crate) log: PathBuf,
}

/// A running server; dropping it kills the process.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    pid: u32,
    /// `(name, address)` of every listener, in ready-line order.
    pub(crate) listeners: Vec<(String, SocketAddr)>,
    /// From spawning the process to reading its ready line.
    pub(crate) ready_after: Duration,
    /// Held so the server never writes into a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Spawns the server and waits for its ready line.
    pub(crate) async fn start(launch: &Launch) -> Result<Self, BenchError> {
        let mut command = command(launch)?;
        let started = Instant::now();
        let mut child = command.spawn().map_err(|source| BenchError::Spawn {
            args: launch.args.clone(),
            source,
        })?;
        let pid = child.id().ok_or(BenchError::ExitedAtOnce)?;
        let stdout = child
            .stdout
            .take()
            .expect("command() pipes the server's stdout");
        let mut stdout = BufReader::new(stdout);
        let line = read_ready_line(&mut stdout).await;
        let ready_after = started.elapsed();
        let not_ready = |why| BenchError::NotReady {
            log: launch.log.clone(),
            source: Box::new(why),
        };
        let listeners = parse_ready(&line.map_err(not_ready)?).map_err(not_ready)?;
        Ok(Self {
            child,
            pid,
            listeners,
            ready_after,
            _stdout: stdout,
        })
    }

    /// The address of the listener called `name`.
    pub(crate) fn addr(&self, name: &str) -> Result<SocketAddr, BenchError> {
        self.listeners
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, addr)| *addr)
            .ok_or_else(|| BenchError::NoListener {
                listener: name.to_owned(),
            })
    }

    /// The server's resident memory now and at its peak.
    pub(crate) fn memory(&self) -> Result<Memory, BenchError> {
        sys::memory(self.pid).map_err(|source| BenchError::Memory {
            pid: self.pid,
            source,
        })
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Kills the server and reaps it (bounded in time).
    pub(crate) async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(REAP_TIMEOUT, self.child.wait()).await;
    }
}

/// The command for `launch`: this binary, pinned, dying with its parent,
/// stdout piped for the ready line, stderr to the log file.
fn command(launch: &Launch) -> Result<Command, BenchError> {
    let exe = std::env::current_exe().map_err(BenchError::OwnBinary)?;
    let log = std::fs::File::create(&launch.log).map_err(|source| BenchError::Create {
        path: launch.log.clone(),
        source,
    })?;
    let mut command = Command::new(exe);
    command
        .args(&launch.args)
        .envs(launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true);
    pin_child(&mut command, launch.cpu);
    Ok(command)
}

/// Makes a child run on `cpu` (if given) and die with this process.
pub(crate) fn pin_child(command: &mut Command, cpu: Option<usize>) {
    // SAFETY: the closure runs between fork and exec and only makes two
    // async-signal-safe syscalls (sched_setaffinity, prctl).
    unsafe {
        command.pre_exec(move || {
            if let Some(cpu) = cpu {
                sys::pin_to(cpu)?;
            }
            sys::die_with_parent()
        });
    }
}

/// Reads the first stdout line, within [`READY_TIMEOUT`].
async fn read_ready_line(stdout: &mut BufReader<ChildStdout>) -> Result<String, BenchError> {
    let mut line = String::new();
    match tokio::time::timeout(READY_TIMEOUT, stdout.read_line(&mut line)).await {
        Err(_) => Err(BenchError::NoReadyLine {
            timeout: READY_TIMEOUT,
        }),
        Ok(Err(e)) => Err(BenchError::ReadReadyLine(e)),
        Ok(Ok(0)) => Err(BenchError::ExitedBeforeReady),
        Ok(Ok(_)) => Ok(line),
    }
}

/// Parses `{"ready": {"name": "http://ip:port", ...}, ...}`.
pub(crate) fn parse_ready(line: &str) -> Result<Vec<(String, SocketAddr)>, BenchError> {
    let value: Value =
        serde_json::from_str(line.trim()).map_err(|source| BenchError::BadReadyLine {
            line: line.to_owned(),
            source,
        })?;
    let ready = value
        .get("ready")
        .and_then(Value::as_object)
        .ok_or_else(|| BenchError::NoReadyObject {
            line: line.to_owned(),
        })?;
    ready
        .iter()
        .map(|(name, url)| {
            let addr = url
                .as_str()
                .and_then(|u| u.strip_prefix("http://"))
                .and_then(|hostport| hostport.trim_end_matches('/').parse().ok())
                .ok_or_else(|| BenchError::BadListenerUrl {
                    listener: name.clone(),
                    line: line.to_owned(),
                })?;
            Ok((name.clone(), addr))
        })
        .collect()
}

/// A scratch directory for profile files and server logs, removed on drop.
#[derive(Debug)]
pub(crate) struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates a fresh directory under the system temp dir.
    pub(crate) fn new() -> Result<Self, BenchError> {
        let path = std::env::temp_dir().join(format!("mockdet-bench-{}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|source| BenchError::Create {
            path: path.clone(),
            source,
        })?;
        Ok(Self { path })
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `text` to `name` inside the directory and returns its path.
    pub(crate) fn write(&self, name: &str, text: &str) -> Result<PathBuf, BenchError> {
        let path = self.path.join(name);
        std::fs::write(&path, text).map_err(|source| BenchError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ready_line_gives_named_addresses_in_order() {
        let line = r#"{"ready":{"b":"http://127.0.0.1:41000","a":"http://[::1]:41001"},"seed":1}"#;
        let listeners = parse_ready(line).unwrap();
        assert_eq!(listeners[0].0, "b");
        assert_eq!(listeners[0].1, "127.0.0.1:41000".parse().unwrap());
        assert_eq!(listeners[1].1, "[::1]:41001".parse().unwrap());
    }

    #[test]
    fn a_bad_ready_line_is_an_error_naming_it() {
        let err = parse_ready("listening").unwrap_err().to_string();
        assert!(err.contains("listening"), "{err}");
        assert!(parse_ready(r#"{"ready":{"a":"nope"}}"#).is_err());
    }
}
