//! The commands this module adds to `mockdet`: `orchestrator` (serve the
//! reference orchestrator), `demo` (five detectors and an orchestrator in
//! one process) and the hidden `orchestrator-bench`. Each parses its
//! arguments, calls the library, prints one JSON line on stdout, and leaves
//! logs to stderr.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Map, Value, json};

use mockdet::DetectorProfile;
use mockdet_orchestrator::bench::{self, BenchOptions};
use mockdet_orchestrator::{Demo, DemoPorts, DetectorConfig, Orchestrator, OrchestratorConfig};

use crate::error::{CliError, runtime};

/// `mockdet orchestrator`: the reference orchestrator.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct OrchestratorArgs {
    /// A YAML configuration in the seed's test-config.yaml shape.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Detectors as name=url,name=url (replaces the file's detectors).
    #[arg(long, value_name = "LIST")]
    detectors: Option<String>,
    /// Address to listen on [default: the file's service.host, else 127.0.0.1].
    #[arg(long)]
    bind: Option<IpAddr>,
    /// Port to listen on [default: the file's service.port, else 8000; 0 = any].
    #[arg(long)]
    port: Option<u16>,
    #[command(flatten)]
    common: CommonArgs,
}

/// Options `orchestrator` and `demo` share.
#[derive(Debug, Clone, clap::Args)]
struct CommonArgs {
    /// Require this key on every request but /health and /metrics (401 otherwise).
    #[arg(long, env = "ORCHESTRATION_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// The header carrying the API key [default: X-API-Key].
    #[arg(long, value_name = "NAME")]
    api_key_header: Option<String>,
    /// Budget of a sync request, e.g. 2s [default: the file's, else 2s; `demo`: 1.8s].
    #[arg(long, value_parser = humantime::parse_duration)]
    sla_budget: Option<Duration>,
    /// Time in-flight requests get on SIGINT/SIGTERM.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    drain_timeout: Duration,
}

/// `mockdet demo`: the five detectors and the orchestrator, wired together.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DemoArgs {
    /// Seed for the detectors' draws [default: random, printed].
    #[arg(long, env = "MOCKDET_SEED")]
    seed: Option<u64>,
    /// Orchestrator on this port, detectors on the next five
    /// [default: 8000, detectors on their profile ports 8001–8005].
    #[arg(long, conflicts_with = "ephemeral")]
    port_base: Option<u16>,
    /// Every listener on a free port (see the ready line).
    #[arg(long)]
    ephemeral: bool,
    /// Orchestrator settings (YAML); its detectors are replaced by the demo's.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

/// `mockdet orchestrator-bench`: a fixed-rate load against an orchestrator.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct BenchArgs {
    /// Orchestrator to load [default: start the demo in-process].
    #[arg(long)]
    url: Option<String>,
    /// Requests per second (open loop).
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// How long to send.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// The SLA budget the p95 is judged against (p95 must be <= it + 50 ms)
    /// [default: the in-process demo's 1800, or 2000 with --url].
    #[arg(long)]
    sla_budget_ms: Option<f64>,
    /// Seed of the in-process demo's detectors.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// API key to send in X-API-Key.
    #[arg(long, env = "ORCHESTRATION_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

/// Applies the shared overrides to a configuration.
fn apply(common: &CommonArgs, config: &mut OrchestratorConfig) {
    if let Some(key) = &common.api_key {
        config.service.api_key = Some(key.clone());
    }
    if let Some(header) = &common.api_key_header {
        config.service.api_key_header = header.clone();
    }
    if let Some(budget) = common.sla_budget {
        config.orchestration.sla_budget_ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX);
    }
}

fn load(path: Option<&PathBuf>) -> Result<OrchestratorConfig, CliError> {
    match path {
        Some(path) => Ok(OrchestratorConfig::from_path(path)?),
        None => Ok(OrchestratorConfig::default()),
    }
}

/// Runs `mockdet orchestrator` until SIGINT/SIGTERM.
pub(crate) fn orchestrator(args: &OrchestratorArgs) -> Result<(), CliError> {
    if args.config.is_none() && args.detectors.is_none() {
        return Err(CliError::NoDetectors);
    }
    let mut config = load(args.config.as_ref())?;
    if let Some(list) = &args.detectors {
        config = config.with_detector_list(list)?;
    }
    apply(&args.common, &mut config);
    let origin = args
        .config
        .as_ref()
        .map_or("--detectors".to_owned(), |p| p.display().to_string());
    let addr = SocketAddr::new(
        args.bind.unwrap_or(config.service.host),
        args.port.unwrap_or(config.service.port),
    );
    runtime()?.block_on(async {
        let orchestrator = Orchestrator::builder()
            .config(config)
            .origin(origin)
            .bind(addr)
            .drain_timeout(args.common.drain_timeout)
            .start()
            .await?;
        let stop = crate::cli::StopSignal::listen();
        crate::cli::print_json_line(&json!({"ready": {"orchestrator": orchestrator.url()}}));
        stop.received().await;
        tracing::info!("stopping the orchestrator");
        orchestrator.shutdown().await;
        Ok::<_, CliError>(())
    })
}

/// Runs `mockdet demo` until SIGINT/SIGTERM; `profile_files` (the global
/// `--profile-file`), when given, replace the five built-ins.
pub(crate) fn demo(args: &DemoArgs, profile_files: &[PathBuf]) -> Result<(), CliError> {
    let profiles = profile_files
        .iter()
        .map(DetectorProfile::from_path)
        .collect::<Result<Vec<_>, _>>()?;
    // The demo's detectors replace the file's, so a file of settings alone
    // is fine; its other values are checked here, naming the file, with a
    // stand-in detector.
    let mut config = match &args.config {
        Some(path) => {
            let config = OrchestratorConfig::parse_path(path)?;
            let mut check = config.clone();
            check.detectors =
                [("demo".to_owned(), DetectorConfig::new("http://127.0.0.1:1"))].into();
            check.validate(&path.display().to_string())?;
            config
        }
        None => mockdet_orchestrator::demo_config(),
    };
    apply(&args.common, &mut config);
    let ports = match (args.ephemeral, args.port_base) {
        (true, _) => DemoPorts::Ephemeral,
        (false, Some(base)) => DemoPorts::Base(base),
        (false, None) => DemoPorts::Profile(8000),
    };
    runtime()?.block_on(async {
        let mut builder = Demo::builder().ports(ports).config(config);
        if !profiles.is_empty() {
            builder = builder.profiles(profiles);
        }
        if let Some(seed) = args.seed {
            builder = builder.seed(seed);
        }
        let demo = builder.start().await?;
        let urls: Map<String, Value> = demo
            .urls()
            .into_iter()
            .map(|(name, url)| (name, Value::String(url)))
            .collect();
        let stop = crate::cli::StopSignal::listen();
        crate::cli::print_json_line(&json!({"ready": urls, "seed": demo.seed()}));
        stop.received().await;
        tracing::info!("stopping the demo");
        demo.shutdown().await;
        Ok::<_, CliError>(())
    })
}

/// Runs `mockdet orchestrator-bench`: 0 when it passes, 1 when not, 2 on
/// bad usage.
pub(crate) fn bench(args: &BenchArgs) -> ExitCode {
    let usage = |message: &dyn std::fmt::Display| {
        eprintln!("mockdet orchestrator-bench: {message}");
        ExitCode::from(2)
    };
    if !(args.rate > 0.0 && args.rate <= 5000.0) {
        return usage(&format_args!(
            "--rate must be in (0, 5000], got {}",
            args.rate
        ));
    }
    if args.duration.is_zero() || args.duration > Duration::from_secs(600) {
        return usage(&"--duration must be in (0, 10m]");
    }
    let options = BenchOptions {
        url: args.url.clone(),
        rate: args.rate,
        duration: args.duration,
        sla_budget_ms: args.sla_budget_ms.unwrap_or(match args.url {
            Some(_) => 2000.0,
            None => mockdet_orchestrator::DEMO_SLA_BUDGET_MS as f64,
        }),
        seed: args.seed,
        api_key: args.api_key.clone(),
    };
    let report = runtime().and_then(|rt| Ok(rt.block_on(bench::run(&options))?));
    let report = match report {
        Ok(report) => report,
        Err(error) => return usage(&error),
    };
    crate::cli::print_json_line(&report);
    if report["pass"].as_bool() == Some(true) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
