//! Case 3 — distribution fidelity: every built-in profile at a steady
//! open-loop rate (all five in one `mockdet`, concurrently), and the
//! Kolmogorov–Smirnov distance between the latencies the client saw and the
//! profile's configured CDF — once in each replay mode.
//!
//! In request mode each request's key follows from the correlation id the
//! benchmark gave it (and `x-mock-attempt` names its attempt); in sequence
//! mode `x-mock-seq` names its arrival number. Either way a
//! seeded run is replayable, so the benchmark recomputes every request's
//! planned delay and fault. That gives
//!
//! - exact exclusions: hangs (their timing is the hang, not the latency
//!   model) and resets never enter the sample; the fault draw is independent
//!   of the latency draw, so dropping them leaves the latency law intact;
//! - the baseline: the KS distance of the *planned* delays of the very same
//!   requests — what a server with a perfect clock would score, i.e. the
//!   sampling noise floor for this n;
//! - the timing error of each answer (observed − planned).

use std::time::Duration;

use bytes::Bytes;

use super::{Bench, detect_body};
use crate::client::{OpenLoop, OpenRun, Outcome, Shot, open_loop};
use crate::error::BenchError;
use crate::report::{On, Target};
use crate::stats::{ks_critical_95, ks_truncated, summarise, upper_quantile};
use crate::sys::CpuMeter;
use mockdet::profile::{BUILTIN_NAMES, FaultKind};
use mockdet::{DetectorProfile, Forecast, Replay};

/// Latencies are compared up to the point where the CDF reaches this (the
/// rest of the tail would only make the run wait).
const TAIL_QUANTILE: f64 = 1.0 - 1e-6;

/// Extra time a request gets past the largest latency that is compared.
const TIMEOUT_MARGIN: Duration = Duration::from_millis(300);

/// One built-in profile's part of the case.
struct Subject {
    name: &'static str,
    forecast: Forecast,
    /// Latencies above this (ms) are cut off; the CDF is conditioned on it.
    cap_ms: f64,
    plan: OpenLoop,
}

/// What one profile's run gave.
struct Sample {
    observed: Vec<f64>,
    planned: Vec<f64>,
    error: Vec<f64>,
    failed: usize,
    timed_out: usize,
}

/// Runs the case and adds one figure per built-in profile and replay mode:
/// request mode (the default) with a fresh correlation id on every request,
/// so every request draws from a different key's stream — the figure that
/// shows the key hash does not bias the draws — then sequence mode.
pub(crate) async fn run(bench: &mut Bench) -> Result<(), BenchError> {
    for mode in [Replay::Request, Replay::Sequence] {
        run_mode(bench, mode).await?;
    }
    Ok(())
}

async fn run_mode(bench: &mut Bench, mode: Replay) -> Result<(), BenchError> {
    let subjects = BUILTIN_NAMES
        .iter()
        .map(|name| subject(bench, name))
        .collect::<Result<Vec<_>, _>>()?;
    let server = bench.mockdet_builtins(mode).await?;
    let body = Bytes::from(detect_body());
    let mut runs = tokio::task::JoinSet::new();
    for (i, s) in subjects.iter().enumerate() {
        let shot = Shot {
            addr: server.addr(s.name)?,
            path: "/detect",
            body: body.clone(),
            headers: &[],
            fresh_ids: mode == Replay::Request,
        };
        let plan = s.plan;
        runs.spawn(async move { (i, open_loop(plan, shot).await) });
    }
    let meter = CpuMeter::start(&[server.pid(), std::process::id()]);
    let mut results: Vec<Option<OpenRun>> = subjects.iter().map(|_| None).collect();
    while let Some(joined) = runs.join_next().await {
        let (i, run) = joined?;
        results[i] = Some(run?);
    }
    let busy = meter.utilisation();
    server.stop().await;
    let busy_of = |i: usize| busy.get(i).copied().unwrap_or(f64::NAN);
    bench
        .report
        .note(format!("ks.{mode}.server_cpu"), busy_of(0));
    bench
        .report
        .note(format!("ks.{mode}.client_cpu"), busy_of(1));
    for (subject, run) in subjects.iter().zip(results) {
        let run = run.ok_or(BenchError::LostRun {
            profile: subject.name,
        })?;
        report(bench, mode, subject, &run);
    }
    Ok(())
}

fn subject(bench: &Bench, name: &'static str) -> Result<Subject, BenchError> {
    let profile = DetectorProfile::builtin(name)?;
    let forecast = Forecast::new(&profile, bench.seed)?;
    let full_cap = upper_quantile(|x| forecast.latency_cdf(x), TAIL_QUANTILE, 600_000.0);
    let cap_ms = bench
        .settings
        .ks_cap_ms
        .map_or(full_cap, |c| c.min(full_cap));
    // Requests needed so that at least min_n are compared.
    let excluded: f64 = profile
        .faults
        .iter()
        .filter(|f| matches!(f.kind, FaultKind::Hang | FaultKind::Reset))
        .map(|f| f.probability)
        .sum();
    let kept = (1.0 - excluded) * forecast.latency_cdf(cap_ms);
    let count = (bench.settings.ks_min_n as f64 / kept.max(0.01) * 1.03).ceil() as usize + 20;
    let plan = OpenLoop {
        rate: bench.settings.ks_rate,
        count,
        request_timeout: Duration::from_secs_f64(cap_ms / 1000.0) + TIMEOUT_MARGIN,
        spread: false,
    };
    Ok(Subject {
        name,
        forecast,
        cap_ms,
        plan,
    })
}

/// Pairs every answer with its replayed plan.
fn sample(subject: &Subject, run: &OpenRun) -> Sample {
    let mut s = Sample {
        observed: Vec::new(),
        planned: Vec::new(),
        error: Vec::new(),
        failed: 0,
        timed_out: 0,
    };
    for outcome in &run.outcomes {
        let answer = match outcome {
            Outcome::Answered(answer) => answer,
            Outcome::Failed => {
                s.failed += 1;
                continue;
            }
            Outcome::TimedOut => {
                s.timed_out += 1;
                continue;
            }
        };
        // In request mode the answer names its key and attempt.
        let fate = match (answer.key, answer.seq) {
            (Some((key, attempt)), _) => subject.forecast.fate_of(key, attempt),
            (None, Some(seq)) => subject.forecast.fate(seq),
            (None, None) => continue,
        };
        let hang_or_reset = matches!(fate.fault, Some(FaultKind::Hang | FaultKind::Reset));
        let planned = fate.delay.as_secs_f64() * 1000.0;
        if hang_or_reset || planned > subject.cap_ms {
            continue;
        }
        s.observed.push(answer.latency_ms);
        s.planned.push(planned);
        s.error.push(answer.latency_ms - planned);
    }
    s
}

fn report(bench: &mut Bench, mode: Replay, subject: &Subject, run: &OpenRun) {
    let mut s = sample(subject, run);
    let cdf = |x: f64| subject.forecast.latency_cdf(x);
    let d_observed = ks_truncated(&mut s.observed, cdf, subject.cap_ms);
    let d_planned = ks_truncated(&mut s.planned, cdf, subject.cap_ms);
    let n = s.observed.len();
    let name = format!("{mode}.{}", subject.name);
    bench.report.figure(
        &format!("ks.{name}"),
        format!(
            "`{}` open loop at {} req/s, {mode} mode: KS D (n = {n})",
            subject.name, bench.settings.ks_rate
        ),
        "",
        (d_observed, d_planned),
        Some(Target::AtMost(On::Mockdet, 0.02)),
    );
    let error = summarise(&s.error);
    let lag = summarise(&run.lag_ms);
    let r = &mut bench.report;
    r.note(format!("ks.{name}.n"), n as f64);
    r.note(format!("ks.{name}.critical_95"), ks_critical_95(n));
    r.note(format!("ks.{name}.cap_ms"), subject.cap_ms);
    r.note(format!("ks.{name}.timing_error_p50_ms"), error.p50);
    r.note(format!("ks.{name}.timing_error_p99_ms"), error.p99);
    r.note(format!("ks.{name}.timing_error_max_ms"), error.max);
    r.note(format!("ks.{name}.client_lag_p99_ms"), lag.p99);
    r.note(format!("ks.{name}.failed"), s.failed as f64);
    r.note(format!("ks.{name}.timed_out"), s.timed_out as f64);
}
