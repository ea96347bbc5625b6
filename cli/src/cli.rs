//! The `mockdet` command line: argument types (clap) and what each command
//! does. `main.rs` only parses, calls [`run`] and exits with its code.

use crate::error::CliError;
use crate::{fleet_cmd, logging};

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// Mock detectors that misbehave on purpose, reproducibly, at load.
#[derive(Debug, Parser)]
#[command(name = "mockdet", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    fleet: FleetArgs,
    /// Log format on stderr (level from RUST_LOG, default info).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
}

/// Options of the default command: run detectors.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct FleetArgs {
    /// Run this profile (repeatable); default: all five built-ins, or every
    /// --profile-file when files are given.
    #[arg(long = "profile", value_name = "NAME")]
    pub(crate) profiles: Vec<String>,
    /// Load a profile file, TOML or YAML (repeatable; global).
    #[arg(long = "profile-file", value_name = "PATH", global = true)]
    pub(crate) profile_files: Vec<PathBuf>,
    /// Listen on this port (only with a single detector; 0 = any free port).
    #[arg(long)]
    pub(crate) port: Option<u16>,
    /// Address to listen on.
    #[arg(long, env = "MOCKDET_BIND", default_value = "127.0.0.1")]
    pub(crate) bind: std::net::IpAddr,
    /// Seed for every latency and fault draw (default: random, logged).
    #[arg(long, env = "MOCKDET_SEED")]
    pub(crate) seed: Option<u64>,
    /// Time in-flight requests get on SIGINT/SIGTERM, e.g. 5s or 500ms.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub(crate) drain_timeout: Duration,
    /// Time a client gets to send a request's headers or its body, and an
    /// idle keep-alive connection stays open, e.g. 120s.
    #[arg(long, default_value = "120s", value_parser = humantime::parse_duration)]
    pub(crate) read_timeout: Duration,
    /// Bearer token for /admin/* (required to enable it off loopback).
    #[arg(long, env = "MOCKDET_ADMIN_TOKEN", hide_env_values = true)]
    pub(crate) admin_token: Option<String>,
    /// Honour X-Mock-Delay-Ms, X-Mock-Fault and X-Mock-Status request headers.
    #[arg(long, env = "MOCKDET_ALLOW_OVERRIDES")]
    pub(crate) allow_overrides: bool,
    /// Key every detector's draws by `request` (key and attempt: the same
    /// request gets the same fate at any concurrency) or `sequence` (arrival
    /// order); default: each profile's `replay`, itself `request` by default.
    #[arg(long, env = "MOCKDET_REPLAY", value_name = "MODE", value_parser = parse_replay)]
    pub(crate) replay: Option<mockdet::Replay>,
}

fn parse_replay(text: &str) -> Result<mockdet::Replay, String> {
    text.parse()
}

/// `mockdet replay`: serve a saved journal's outcomes again.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ReplayArgs {
    /// A journal saved from a run: NDJSON (`GET /admin/requests?format=ndjson`,
    /// `JournalEntry::to_ndjson`) or the JSON of `GET /admin/requests`
    /// (repeatable). Without --profile, the detectors it names are run.
    #[arg(long, value_name = "FILE", required = true)]
    pub(crate) journal: Vec<PathBuf>,
    #[command(flatten)]
    pub(crate) fleet: FleetArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Benchmark mockdet against a bare axum baseline (see BENCHMARKS.md).
    Bench(mockdet_bench::BenchArgs),
    /// The benchmark's baseline server (started by `mockdet bench`).
    #[command(hide = true)]
    BenchBaselineServer(mockdet_bench::BaselineArgs),
    /// Serve the reference orchestrator in front of detectors
    /// (--detectors name=url,... or --config test-config.yaml).
    Orchestrator(crate::orchestrator_cmd::OrchestratorArgs),
    /// The five detectors and the reference orchestrator wired to them, in
    /// one process: the one command to run before a load test.
    Demo(crate::orchestrator_cmd::DemoArgs),
    /// Fixed-rate load against the reference orchestrator (a benchmark).
    #[command(hide = true)]
    OrchestratorBench(crate::orchestrator_cmd::BenchArgs),
    /// Serve a saved journal's outcomes again: each request whose key and
    /// attempt it recorded gets exactly that latency and fault, the rest
    /// draw from the profile (see README, "Reproducing a failure").
    Replay(ReplayArgs),
    /// Load-test an orchestrator with k6 and Locust and judge it (see README).
    Perf(mockdet_perf::PerfArgs),
    /// Judge an orchestrator's retries, backoff, timeouts, breakers and
    /// health checks by injecting faults into the fleet it calls: a report
    /// card (see README, "Audit your orchestrator"). Exit 0 when every
    /// applicable property passes, 1 when one fails, 2 on bad input.
    Audit(mockdet_audit::AuditArgs),
    /// Fit every latency model (and a fault menu) to measured latencies and
    /// write the best as a profile, with an HTML report of the fit (see
    /// README, "Profiles from reality").
    Fit(mockdet_fit::cli::FitArgs),
    /// Proxy a real detector, journal every exchange, and write a fitted
    /// profile that replays the recorded answers (see README, "Profiles
    /// from reality").
    Record(mockdet_fit::cli::RecordArgs),
    /// Inspect profiles (after file and environment overrides).
    Profiles {
        #[command(subcommand)]
        action: ProfilesAction,
    },
    /// Exit 0 if URL answers 2xx within the timeout, else 1 (for Docker's
    /// HEALTHCHECK: no curl needed). A URL without a path gets /health.
    Healthcheck {
        /// e.g. http://127.0.0.1:8001 or http://127.0.0.1:8001/health
        url: String,
        /// Give up after this long.
        #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProfilesAction {
    /// One line per profile: name, id, port, latency, fault rate.
    List,
    /// The effective profile as TOML.
    Show {
        /// Profile name.
        name: String,
    },
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Exit code for bad usage or configuration.
const USAGE_ERROR: u8 = 2;

/// Runs a parsed command line and returns the process exit code.
pub(crate) fn run(cli: Cli) -> ExitCode {
    logging::init(cli.log_format);
    match crate::limits::raise_nofile_limit() {
        Ok(limit) => tracing::debug!(limit, "open-file limit raised to the hard limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open-file limit"),
    }
    let result: Result<(), CliError> = match cli.command {
        None => fleet_cmd::run_fleet(&cli.fleet, Vec::new()),
        Some(Command::Replay(args)) => fleet_cmd::replay(&args),
        Some(Command::Bench(args)) => mockdet_bench::run(&args).map_err(CliError::from),
        Some(Command::BenchBaselineServer(args)) => {
            mockdet_bench::serve_baseline(&args).map_err(CliError::from)
        }
        Some(Command::Orchestrator(args)) => crate::orchestrator_cmd::orchestrator(&args),
        Some(Command::Demo(args)) => crate::orchestrator_cmd::demo(&args, &cli.fleet.profile_files),
        Some(Command::OrchestratorBench(args)) => return crate::orchestrator_cmd::bench(&args),
        Some(Command::Perf(args)) => return ExitCode::from(mockdet_perf::main(&args)),
        Some(Command::Audit(args)) => return mockdet_audit::main(&args),
        Some(Command::Fit(args)) => return mockdet_fit::cli::main(&args),
        Some(Command::Record(args)) => return mockdet_fit::cli::record_main(&args),
        Some(Command::Profiles { action }) => fleet_cmd::profiles(&cli.fleet, &action),
        Some(Command::Healthcheck { url, timeout }) => {
            return fleet_cmd::healthcheck(&url, timeout);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mockdet: {error}");
            ExitCode::from(USAGE_ERROR)
        }
    }
}

/// Prints one JSON line on stdout — the deliberate output of the serving
/// commands (the ready line) — and flushes it.
pub(crate) fn print_json_line(value: &serde_json::Value) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    // If stdout is closed there is no one to tell; keep serving.
    let _ = writeln!(stdout, "{value}");
    let _ = stdout.flush();
}

/// SIGINT and SIGTERM, listened for from the moment [`StopSignal::listen`]
/// returns. Make it before printing the ready line: a process without a
/// handler yet dies of a SIGTERM sent right after that line instead of
/// draining (a supervisor, or a test, may well send one that early).
pub(crate) struct StopSignal {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignal {
    /// Installs the handlers (inside a tokio runtime).
    pub(crate) fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let both = signal(SignalKind::interrupt())
                .and_then(|int| Ok((int, signal(SignalKind::terminate())?)));
            match both {
                Ok(signals) => Self {
                    signals: Some(signals),
                },
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops");
                    Self { signals: None }
                }
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves once either signal has arrived (since `listen`).
    pub(crate) async fn received(self) {
        #[cfg(unix)]
        if let Some((mut int, mut term)) = self.signals {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
