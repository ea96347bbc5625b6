//! `mockdet fit`: read the inputs, fit, print the ranking, write the
//! profile and its report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::fit::{DEFAULT_MAX_D, Fit, fit};
use crate::input::{self, Data, Latencies};
use crate::profile::{self, Naming};
use crate::report;

/// `mockdet fit`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct FitArgs {
    /// Latency files: a plain list (one ms per line, CSV or NDJSON), k6
    /// `--out json` or `--summary-export`, Locust `_stats.csv` or
    /// `_stats_history.csv`, a Prometheus histogram (text or query JSON),
    /// a mockdet journal. Several files of samples (or histograms with the
    /// same buckets) are combined.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Where the profile goes [default: NAME.toml].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The profile's name (its id is NAME-detector).
    #[arg(long, default_value = "fitted")]
    pub name: String,
    /// The profile's port.
    #[arg(long, default_value_t = 8101)]
    pub port: u16,
    /// Where the HTML report goes [default: the profile's path with .html].
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// The largest distance at which the closest closed-form model is
    /// written; above it, the closer of that model and the quantile table.
    #[arg(long, default_value_t = DEFAULT_MAX_D)]
    pub max_d: f64,
    /// For a Prometheus scrape holding several histograms: the one to fit
    /// (e.g. mockdet_request_duration_seconds).
    #[arg(long)]
    pub metric: Option<String>,
}

/// What a successful fit wrote.
#[derive(Debug)]
pub struct Written {
    /// The profile file.
    pub profile: PathBuf,
    /// The report file.
    pub report: PathBuf,
    /// The fit itself.
    pub fit: Fit,
    /// The inputs as read.
    pub inputs: Vec<Data>,
}

/// Runs `mockdet fit`: 0 when the profile was written, 2 on bad input.
pub fn main(args: &FitArgs) -> ExitCode {
    match run(args) {
        Ok(written) => {
            say(&summary(&written));
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("mockdet fit: {message}");
            ExitCode::from(2)
        }
    }
}

/// Reads, fits and writes; the error is a message naming the file, line
/// or option at fault.
pub fn run(args: &FitArgs) -> Result<Written, String> {
    if !(args.max_d.is_finite() && (0.0..=1.0).contains(&args.max_d)) {
        return Err(format!("--max-d {} must be within 0..=1", args.max_d));
    }
    let inputs = args
        .inputs
        .iter()
        .map(|path| read(path, args.metric.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    let latencies = merge(&inputs)?;
    let fitted = fit(&latencies, args.max_d).ok_or_else(|| {
        "the inputs hold no latency to fit (no sample, or a histogram whose requests all \
             lie above its last finite bound)"
            .to_owned()
    })?;
    let naming = Naming {
        name: args.name.clone(),
        port: args.port,
        recorded_answers: None,
    };
    let text = profile::render(&fitted, &inputs, &naming)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.toml", args.name)));
    let report_path = args
        .report
        .clone()
        .unwrap_or_else(|| out.with_extension("html"));
    write(&out, &text)?;
    write(&report_path, &report::render(&fitted, &inputs, &args.name))?;
    Ok(Written {
        profile: out,
        report: report_path,
        fit: fitted,
        inputs,
    })
}

fn read(path: &Path, metric: Option<&str>) -> Result<Data, String> {
    let Some(metric) = metric else {
        return input::read_path(path).map_err(|e| e.to_string());
    };
    let source = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("{source}: cannot read it: {e}"))?;
    if !text.contains("_bucket") {
        return input::read_str(&text, &source).map_err(|e| e.to_string());
    }
    let only = input::only_histogram(&text, metric)
        .ok_or_else(|| format!("{source}: no `{metric}_bucket` series (--metric)"))?;
    input::read_str(&only, &source).map_err(|e| e.to_string())
}

/// One data set out of several inputs: samples are pooled; histograms
/// with the same bounds are summed; quantile points stand alone.
fn merge(inputs: &[Data]) -> Result<Latencies, String> {
    let [first, rest @ ..] = inputs else {
        return Err("no input".to_owned());
    };
    let mut merged = first.latencies.clone();
    for data in rest {
        merged = match (merged, &data.latencies) {
            (Latencies::Samples(mut a), Latencies::Samples(b)) => {
                a.extend_from_slice(b);
                Latencies::Samples(a)
            }
            (Latencies::Histogram(a), Latencies::Histogram(b)) => {
                let same = a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0);
                if !same {
                    return Err(format!(
                        "{}: its buckets differ from {}'s: fit them separately",
                        data.source, first.source
                    ));
                }
                Latencies::Histogram(a.iter().zip(b).map(|(x, y)| (x.0, x.1 + y.1)).collect())
            }
            _ => {
                return Err(format!(
                    "{} ({}) cannot be combined with {} ({}): fit them separately",
                    data.source, data.format, first.source, first.format
                ));
            }
        };
    }
    Ok(merged)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Prints a line on stdout; a closed stdout (`| head -1`) is no error.
fn say(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

/// The terminal summary: the written model, the ranking, the faults.
pub fn summary(written: &Written) -> String {
    let fit = &written.fit;
    let best = fit.best();
    let n = fit.n.map_or("?".to_owned(), |n| n.to_string());
    let mut out = format!(
        "{}: {}\n  {} = {:.4} (n = {n})\n\n  {:<34} distance\n",
        written.profile.display(),
        best.describe(),
        fit.statistic.describe(),
        best.d,
        "model"
    );
    for line in fit.ranking_lines() {
        let _ = writeln!(out, "  {line}");
    }
    let (faults, total) = profile::fault_menu(&written.inputs);
    if !faults.is_empty() {
        let menu: Vec<String> = faults
            .iter()
            .map(|f| {
                let what = f.status.map_or(f.kind.to_string(), |s| s.to_string());
                format!("{:.2} % {what}", f.probability * 100.0)
            })
            .collect();
        let _ = writeln!(out, "\n  faults (of {total} requests): {}", menu.join(", "));
    }
    let _ = write!(out, "\n  report: {}", written.report.display());
    out
}

/// `mockdet record`'s options.
#[derive(Debug, Clone, clap::Args)]
pub struct RecordArgs {
    /// The real detector, e.g. http://127.0.0.1:9001 (a path prefix is kept).
    #[arg(long)]
    pub upstream: String,
    /// Where the proxy listens (point the orchestrator or client here).
    #[arg(long, default_value = "127.0.0.1:8100")]
    pub listen: std::net::SocketAddr,
    /// Where journal.ndjson, answers.ndjson, profile.toml and fit.html go.
    #[arg(long)]
    pub out: PathBuf,
    /// Stop after this long (default: at Ctrl-C).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// The fitted profile's name.
    #[arg(long, default_value = "recorded")]
    pub name: String,
    /// The fitted profile's port.
    #[arg(long, default_value_t = 8101)]
    pub port: u16,
    /// As for `mockdet fit`.
    #[arg(long, default_value_t = DEFAULT_MAX_D)]
    pub max_d: f64,
}

/// Runs `mockdet record`: 0 when the profile was written, 2 on bad input
/// or when nothing was recorded.
pub fn record_main(args: &RecordArgs) -> ExitCode {
    let outcome = tokio::runtime::Runtime::new()
        .map_err(|e| format!("could not start the runtime: {e}"))
        .and_then(|rt| rt.block_on(record(args)));
    match outcome {
        Ok(written) => {
            say(&summary(&written));
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("mockdet record: {message}");
            ExitCode::from(2)
        }
    }
}

/// Records until Ctrl-C or `--duration`, then writes the outputs.
pub async fn record(args: &RecordArgs) -> Result<Written, String> {
    if !(args.max_d.is_finite() && (0.0..=1.0).contains(&args.max_d)) {
        return Err(format!("--max-d {} must be within 0..=1", args.max_d));
    }
    let proxy = crate::record::Proxy::start(args.listen, &args.upstream).await?;
    let ready = serde_json::json!({"ready": {"record": proxy.url()}, "upstream": args.upstream});
    say(&ready.to_string());
    let until = async {
        match args.duration {
            Some(duration) => tokio::time::sleep(duration).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = until => {}
        _ = tokio::signal::ctrl_c() => eprintln!("mockdet record: stopping"),
    }
    let recording = proxy.stop(std::time::Duration::from_secs(30)).await;
    let recording = std::mem::take(
        &mut *recording
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    if recording.is_empty() {
        return Err(format!(
            "nothing was recorded: no request reached the proxy (point the client at --listen {})",
            args.listen
        ));
    }
    let journal = crate::record::write_recording(&recording, &args.out)?;
    let data = input::read_path(&journal).map_err(|e| e.to_string())?;
    let fitted = fit(&data.latencies, args.max_d)
        .ok_or_else(|| "every recorded exchange failed: no latency to fit".to_owned())?;
    let inputs = vec![data];
    let naming = Naming {
        name: args.name.clone(),
        port: args.port,
        recorded_answers: Some("answers.ndjson".to_owned()),
    };
    let text = profile::render(&fitted, &inputs, &naming)?;
    let out = args.out.join("profile.toml");
    let report_path = args.out.join("fit.html");
    write(&out, &text)?;
    write(&report_path, &report::render(&fitted, &inputs, &args.name))?;
    if recording.unrecorded() > 0 {
        eprintln!(
            "mockdet record: {} 2xx answers were passed on but not kept for replay (over 1 MiB, not UTF-8, or past 1,000,000 answers or 512 MiB in all)",
            recording.unrecorded()
        );
    }
    Ok(Written {
        profile: out,
        report: report_path,
        fit: fitted,
        inputs,
    })
}
