//! `mockdet bench`: the benchmark of issue 3 — mockdet against a bare axum
//! baseline, in the same run, on the same machine, driven by the same load
//! generator, server and client pinned to different CPUs. Every figure is
//! reported as mockdet / baseline; see `BENCHMARKS.md`.
//!
//! Layout: `cases/` holds one file per case; `client` (our open- and
//! closed-loop HTTP client), `hold` (many waiting connections) and `wrk`
//! generate load; `process` starts and kills the servers (the baseline
//! lives in `baseline`); `stats` and `report` are pure; `sys` wraps the
//! Linux calls (affinity, limits, `/proc`); `error` says why a run stopped.
//! The public surface is what the command line needs: [`run`] with
//! [`BenchArgs`], [`serve_baseline`] with [`BaselineArgs`], and
//! [`BenchError`].

mod baseline;
mod cases;
mod client;
mod error;
mod hold;
mod process;
mod report;
mod stats;
mod sys;
mod wrk;

use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;

pub use baseline::{BaselineArgs, serve_baseline};
pub use error::BenchError;

use cases::{Bench, Settings};
use process::Scratch;
use report::Report;

/// The longest a full run may take before it is abandoned (servers killed).
const FULL_LIMIT: Duration = Duration::from_secs(15 * 60);

/// The longest a quick run may take.
const QUICK_LIMIT: Duration = Duration::from_secs(60);

/// Options of `mockdet bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Tiny counts: every figure in a few seconds (a smoke test, not a
    /// measurement).
    #[arg(long)]
    quick: bool,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// Run only these cases (comma-separated; default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    cases: Vec<Case>,
    /// Load generator for the throughput case (auto: wrk when installed,
    /// except in --quick runs, which always use ours).
    #[arg(long, value_enum, default_value_t = ClientChoice::Auto)]
    client: ClientChoice,
    /// Seed of every mockdet server.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// A case of the benchmark, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Case {
    /// Five detectors: spawn to ready line (first, on a quiet machine).
    Spawn,
    /// Zero-latency /detect at 64 connections: req/s.
    Throughput,
    /// Each wire protocol at zero latency, 64 connections, a different
    /// content on every request: req/s against the baseline.
    Protocols,
    /// Zero-latency /detect, a new request key each time: request-mode
    /// replay's req/s against sequence mode's.
    Replay,
    /// Fixed 200 ms at 1,000 connections: rate, overshoot, peak RSS.
    Timer,
    /// Each built-in profile, open loop: KS distance.
    Ks,
    /// A fixed 5 ms detector at 1,000 req/s open loop, direct and through
    /// `mockdet record`'s proxy in alternating rounds: the proxy's p99
    /// overhead.
    Record,
    /// 10,000 hanging requests: RSS and errors.
    Hold,
    /// The timer case's server under wrk (1,000 connections, 20 s): peak
    /// RSS. Last: wrk's 2,000 closed connections linger in the kernel and
    /// would disturb the timing of a case run after it.
    Memory,
}

/// Which load generator drives the throughput case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClientChoice {
    Auto,
    Wrk,
    Native,
}

/// Runs the benchmark, prints the table on stdout, writes JSON if asked.
pub fn run(args: &BenchArgs) -> Result<(), BenchError> {
    let (server_cpu, client_cpu) = choose_cpus();
    if let Some(cpu) = client_cpu {
        // Before the runtime exists, so every thread of ours inherits it.
        sys::pin_to(cpu).map_err(|source| BenchError::Pin { cpu, source })?;
    }
    let nofile = sys::nofile_limit();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(BenchError::Runtime)?;
    let limit = if args.quick { QUICK_LIMIT } else { FULL_LIMIT };
    let report = runtime.block_on(async {
        let mut bench = Bench {
            settings: if args.quick {
                Settings::quick()
            } else {
                Settings::full()
            },
            scratch: Scratch::new()?,
            server_cpu,
            client_cpu,
            seed: args.seed,
            use_wrk: use_wrk(args).await?,
            report: Report::default(),
        };
        describe(&mut bench, nofile.ok());
        tokio::time::timeout(limit, run_cases(&mut bench, &selected(args)))
            .await
            .map_err(|_| BenchError::Overtime { limit })??;
        let load = sys::load_average().map_or("unknown".into(), |l| format!("{l:.2}"));
        bench.report.about("load average (1 min) at the end", load);
        Ok::<_, BenchError>(bench.report)
    })?;
    print!("{}", report.table());
    if let Some(path) = &args.out {
        let text = serde_json::to_string_pretty(&report.to_json()).map_err(BenchError::Encode)?;
        std::fs::write(path, text + "\n").map_err(|source| BenchError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

fn selected(args: &BenchArgs) -> Vec<Case> {
    if args.cases.is_empty() {
        Case::value_variants().to_vec()
    } else {
        args.cases.clone()
    }
}

async fn run_cases(bench: &mut Bench, cases: &[Case]) -> Result<(), BenchError> {
    for (i, case) in cases.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(bench.settings.cooldown).await;
        }
        tracing::info!(?case, "running");
        match case {
            Case::Throughput => cases::throughput::run(bench).await?,
            Case::Protocols => cases::protocols::run(bench).await?,
            Case::Replay => cases::replay::run(bench).await?,
            Case::Timer => cases::timer::run(bench).await?,
            Case::Memory => cases::memory::run(bench).await?,
            Case::Ks => cases::ks::run(bench).await?,
            Case::Record => cases::record::run(bench).await?,
            Case::Hold => cases::hold::run(bench).await?,
            Case::Spawn => cases::spawn::run(bench).await?,
        }
    }
    Ok(())
}

/// Servers on the first allowed CPU, the client on the second; no pinning
/// with a single CPU (or off Linux).
fn choose_cpus() -> (Option<usize>, Option<usize>) {
    match sys::allowed_cpus() {
        Ok(cpus) if cpus.len() >= 2 => (Some(cpus[0]), Some(cpus[1])),
        _ => {
            tracing::warn!("fewer than two CPUs to pin to: server and client share the machine");
            (None, None)
        }
    }
}

async fn use_wrk(args: &BenchArgs) -> Result<bool, BenchError> {
    match (args.client, args.quick) {
        (ClientChoice::Native, _) | (ClientChoice::Auto, true) => Ok(false),
        (ClientChoice::Auto, false) => Ok(wrk::available().await),
        (ClientChoice::Wrk, _) if wrk::available().await => Ok(true),
        (ClientChoice::Wrk, _) => Err(BenchError::NoWrk),
    }
}

fn describe(bench: &mut Bench, nofile: Option<u64>) {
    let cpu = |c: Option<usize>| c.map_or("unpinned".to_owned(), |c| format!("CPU {c}"));
    let about = [
        ("machine", sys::machine()),
        (
            "mode",
            if bench.settings.quick {
                "quick"
            } else {
                "full"
            }
            .to_owned(),
        ),
        (
            "build",
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_owned(),
        ),
        ("servers", cpu(bench.server_cpu)),
        ("client", cpu(bench.client_cpu)),
        (
            "throughput client",
            if bench.use_wrk { "wrk" } else { "native" }.to_owned(),
        ),
        (
            "other cases' client",
            "native (tokio + hyper, one thread)".to_owned(),
        ),
        ("seed", bench.seed.to_string()),
        (
            "RLIMIT_NOFILE",
            nofile.map_or("unchanged".into(), |n| n.to_string()),
        ),
        (
            "somaxconn",
            sys::somaxconn().map_or("unknown".into(), |n| n.to_string()),
        ),
    ];
    for (key, value) in about {
        bench.report.about(key, value);
    }
}
