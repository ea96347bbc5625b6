//! `mockdet audit`: a resilience report card for a detector orchestrator.
//!
//! Point it at a running orchestrator and the mockdet fleet it calls. It
//! makes the fleet calm, then injects one fault at a time into the first
//! fleet detector through its admin API — a 503, a reset, a 400, a 429
//! with `Retry-After`, a persistent 500, malformed 200s, a hang, a failing
//! `/health`, an outage — while sending requests to the orchestrator's own
//! API. From the detector's journal (every call with its arrival time,
//! duration, status and correlation id) and the orchestrator's answers it
//! judges twelve properties: ids propagate, retries on 5xx, no retry on
//! 4xx, retry amplification, backoff, Retry-After, the timeout budget, the
//! breaker opening and recovering, unhealthy detectors skipped, bad 200s
//! counted as failures, partial coverage reported. Each gets pass, fail or
//! not applicable with its evidence. The fleet's profiles are put back and
//! every fault cleared at the end, also when interrupted.
//!
//! # Layout
//!
//! - `options`: [`AuditOptions`] and where each parameter comes from.
//! - `contract`: the orchestrator's API ([`Shape`]) and [`Answer`]s.
//! - `fleet`: the detectors' admin API and journals.
//! - `engine`: sending requests, one under a fault, or as steady load.
//! - `judge`: the rules, as pure functions over what was seen.
//! - `scenarios`: the scenarios and the verdicts.
//! - `report` and `html`: [`Report`] as a table, JSON and HTML.
//!
//! # From Rust
//!
//! ```no_run
//! # async fn demo() -> Result<(), mockdet_audit::AuditError> {
//! use mockdet_audit::{AuditOptions, audit};
//! let options = AuditOptions::new("http://127.0.0.1:8000", vec!["http://127.0.0.1:8001".into()]);
//! let report = audit(options, std::future::pending()).await?;
//! assert!(report.passed(), "{}", report.table());
//! # Ok(()) }
//! ```

use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

mod contract;
mod engine;
mod error;
mod fleet;
mod html;
mod judge;
mod options;
mod report;
mod scenarios;

pub use contract::{Answer, Shape};
pub use error::AuditError;
pub use fleet::Seen;
pub use options::{
    AuditOptions, DEFAULT_BACKOFF_FLOOR, DEFAULT_RATE, DEFAULT_RETRY_BUDGET, Known, Source,
};
pub use report::{Evidence, ParameterRow, Property, PropertyId, Report, Timeline, Verdict};

/// Runs an audit until it is done or `interrupt` completes; either way the
/// fleet's profiles are put back and its faults cleared before it returns.
/// An interrupted audit returns the properties judged so far.
pub async fn audit(
    options: AuditOptions,
    interrupt: impl Future<Output = ()>,
) -> Result<Report, AuditError> {
    options.check()?;
    let started = SystemTime::now();
    let clock = Instant::now();
    let driver = fleet::FleetDriver::connect(&options.fleet, options.admin_token.clone()).await?;
    let auditor = engine::Auditor::new(options, driver)?;
    let mut properties = Vec::new();
    let outcome = {
        let run = async {
            auditor.fleet.calm().await?;
            scenarios::run_all(&auditor, &mut properties).await
        };
        tokio::select! {
            outcome = run => Some(outcome),
            () = interrupt => None,
        }
    };
    let restored = auditor.fleet.restore().await;
    let interrupted = outcome.is_none();
    if let Some(Err(error)) = outcome {
        return Err(error);
    }
    restored?;
    let order = |p: &Property| PropertyId::ALL.iter().position(|id| *id == p.id);
    properties.sort_by_key(order);
    let victim = auditor.fleet.victim();
    let mut report = Report {
        target: auditor.options.target.clone(),
        shape: auditor.options.shape,
        fleet: auditor
            .fleet
            .detectors
            .iter()
            .map(|d| format!("{} ({})", d.name, d.url))
            .collect(),
        faulted_detector: format!("{} ({})", victim.name, victim.url),
        started,
        duration_s: clock.elapsed().as_secs_f64(),
        quick: auditor.options.quick,
        interrupted,
        parameters: auditor.options.rows(&victim.url),
        properties,
        passed: 0,
        failed: 0,
        not_applicable: 0,
    };
    report.count();
    Ok(report)
}

/// Writes `audit.json` and `audit.html` into `dir` (created if missing).
pub fn write_report(report: &Report, dir: &Path) -> Result<(PathBuf, PathBuf), AuditError> {
    let write = |path: PathBuf, text: String| {
        std::fs::write(&path, text)
            .map(|()| path.clone())
            .map_err(|source| AuditError::Write { path, source })
    };
    std::fs::create_dir_all(dir).map_err(|source| AuditError::Write {
        path: dir.to_owned(),
        source,
    })?;
    let json = serde_json::to_string_pretty(report).map_err(AuditError::Json)?;
    let json = write(dir.join("audit.json"), json + "\n")?;
    let html = write(dir.join("audit.html"), html::render(report))?;
    Ok((json, html))
}

/// `mockdet audit`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct AuditArgs {
    /// The orchestrator's base URL.
    #[arg(long)]
    pub target: String,
    /// A fleet detector's base URL (repeatable); the first takes the faults.
    #[arg(long = "fleet", required = true)]
    pub fleet: Vec<String>,
    /// The orchestrator's configuration (test-config.yaml shape): retry
    /// budget, SLA budget, breaker and health settings, API key, shape.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where audit.json and audit.html go.
    #[arg(long, default_value = "audit-results")]
    pub out: PathBuf,
    /// The orchestrator's API: seed (/orchestrate), api_v1 or fms_v2.
    #[arg(long)]
    pub shape: Option<Shape>,
    /// Fewer repetitions and shorter waits for unknown parameters (for CI).
    #[arg(long)]
    pub quick: bool,
    /// Retries the orchestrator allows per detector call.
    #[arg(long)]
    pub retry_budget: Option<u32>,
    /// The orchestrator's time budget per request, e.g. 2s.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub sla_budget: Option<Duration>,
    /// Failed calls that open its circuit breaker.
    #[arg(long)]
    pub breaker_threshold: Option<u32>,
    /// How long its breaker stays open before probing, e.g. 60s.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub recovery: Option<Duration>,
    /// Time between its health polls (plus their timeout), e.g. 30s.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub health_interval: Option<Duration>,
    /// The shortest acceptable pause before a retry.
    #[arg(long, default_value = "50ms", value_parser = humantime::parse_duration)]
    pub backoff_floor: Duration,
    /// Requests per second while breaker and health behaviour is measured.
    #[arg(long, default_value_t = DEFAULT_RATE)]
    pub rate: f64,
    /// What the orchestrator calls each --fleet detector, in the same
    /// order (repeatable), where its API names detectors (api_v1, fms_v2)
    /// [default: the --config entry at that address, else its detector_id].
    #[arg(long = "detector-name")]
    pub detector_names: Vec<String>,
    /// The tenant sent with each request.
    #[arg(long)]
    pub tenant: Option<String>,
    /// The orchestrator's API key, sent in --api-key-header.
    #[arg(long, env = "ORCHESTRATION_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// The header the API key goes in.
    #[arg(long, default_value = "X-API-Key")]
    pub api_key_header: String,
    /// Bearer token for the fleet's admin API (needed beyond loopback).
    #[arg(long, env = "MOCKDET_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

impl AuditArgs {
    /// The options these arguments give: the config first, options over it.
    pub fn options(&self) -> Result<AuditOptions, AuditError> {
        let mut options = AuditOptions::new(&self.target, self.fleet.clone());
        if let Some(path) = &self.config {
            options = options.with_config(path)?;
        }
        if let Some(shape) = self.shape {
            options.shape = shape;
        }
        options.quick = self.quick;
        options.retry_budget = self
            .retry_budget
            .map(Known::option)
            .or(options.retry_budget);
        options.sla_budget = self.sla_budget.map(Known::option).or(options.sla_budget);
        options.breaker_threshold = self
            .breaker_threshold
            .map(Known::option)
            .or(options.breaker_threshold);
        options.recovery = self.recovery.map(Known::option).or(options.recovery);
        options.health_interval = self
            .health_interval
            .map(Known::option)
            .or(options.health_interval);
        options.backoff_floor = self.backoff_floor;
        options.rate = self.rate;
        if !self.detector_names.is_empty() {
            options.detector_names = Some(self.detector_names.clone());
        }
        if let Some(tenant) = &self.tenant {
            options.tenant = tenant.clone();
        }
        if let Some(key) = &self.api_key {
            options.api_key = Some((self.api_key_header.clone(), key.clone()));
        }
        options.admin_token = self.admin_token.clone();
        Ok(options)
    }
}

/// Exit code: every applicable property passed.
pub const EXIT_PASSED: u8 = 0;
/// Exit code: a property failed (or the audit was interrupted).
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the audit could not run.
pub const EXIT_ERROR: u8 = 2;

/// Runs `mockdet audit …`: prints the table, writes the reports, returns
/// the exit code. Ctrl-C stops it and still cleans the fleet up.
pub fn main(args: &AuditArgs) -> ExitCode {
    let code = match run_cli(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("mockdet audit: {error}");
            EXIT_ERROR
        }
    };
    ExitCode::from(code)
}

fn run_cli(args: &AuditArgs) -> Result<u8, AuditError> {
    let options = args.options()?;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| AuditError::Invalid(format!("could not start the runtime: {e}")))?;
    let report = runtime.block_on(async {
        let interrupt = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            eprintln!("mockdet audit: interrupted; clearing the fleet's faults");
        };
        audit(options, interrupt).await
    })?;
    let (json, html) = write_report(&report, &args.out)?;
    // A closed stdout (`| head`) is no reason to fail the audit.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "{}\n\n{}\n{}",
        report.table(),
        json.display(),
        html.display()
    );
    Ok(if report.passed() {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    })
}
