//! Case — record proxy overhead: what `mockdet record` adds to a request's
//! latency. One detector with a fixed 5 ms latency, and `mockdet record`
//! (the real command, a separate process pinned with the detector) in
//! front of it. Our open-loop client sends `POST /analyze` at 1,000 req/s,
//! each request with a correlation id of its own, started at a spread
//! sub-millisecond instant ([`OpenLoop::spread`]: on tokio's 1 ms ticks
//! every request would reach the detector at the same phase of its 500 µs
//! deadline grid, which then absorbs most of the proxy's delay — the p50
//! overhead read 0.01 ms that way), in back-to-back round pairs: straight
//! to the detector, then through the proxy (which goes first alternates),
//! so a shared machine's drift hits both sides of a pair alike. The overhead figures are the median over the pairs of
//! proxied − direct at the same percentile; the direct and proxied p99
//! themselves come from all rounds of their side, pooled.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;

use super::{Bench, detect_body, fixed_profile};
use crate::client::{OpenLoop, OpenRun, Outcome, Shot, open_loop};
use crate::error::BenchError;
use crate::report::{On, Target};
use crate::stats::{median, summarise};
use crate::sys::CpuMeter;

/// The detector's profile name (and so its listener's).
const PROFILE: &str = "fixed5";

/// The detector's fixed latency.
const LATENCY_MS: f64 = 5.0;

/// Requests per second of every round.
const RATE: f64 = 1000.0;

/// The budget for the proxy at p99.
const TARGET_MS: f64 = 1.0;

/// Longest one request may take before it counts as an error (a 5 ms
/// answer that takes this long is broken, not slow).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// What one side (direct or through the proxy) saw over its rounds.
#[derive(Debug, Default)]
struct Side {
    /// Latency (ms) of every 2xx answer, all rounds pooled.
    latencies: Vec<f64>,
    /// Each round's p50 (ms), in round order.
    p50s: Vec<f64>,
    /// Each round's p99 (ms), in round order.
    p99s: Vec<f64>,
    /// How late each request started against its schedule (ms), pooled.
    lag_ms: Vec<f64>,
    /// Non-2xx answers, failed, timed-out and abandoned requests.
    errors: u64,
    /// Each round's CPU use of the detector, the proxy and this process.
    detector_cpu: Vec<f64>,
    proxy_cpu: Vec<f64>,
    client_cpu: Vec<f64>,
}

impl Side {
    /// Adds one round of `planned` requests, and the CPU use over it
    /// (detector, proxy, client).
    fn add(&mut self, run: &OpenRun, planned: usize, busy: &[f64]) {
        let mut latencies = Vec::with_capacity(run.outcomes.len());
        for outcome in &run.outcomes {
            match outcome {
                Outcome::Answered(answer) if (200..300).contains(&answer.status) => {
                    latencies.push(answer.latency_ms);
                }
                _ => self.errors += 1,
            }
        }
        // Requests still out when the run gave up never reported at all.
        self.errors += planned.saturating_sub(run.outcomes.len()) as u64;
        let round = summarise(&latencies);
        self.p50s.push(round.p50);
        self.p99s.push(round.p99);
        self.latencies.extend(latencies);
        self.lag_ms.extend(&run.lag_ms);
        let cpu = |i: usize| busy.get(i).copied().unwrap_or(f64::NAN);
        self.detector_cpu.push(cpu(0));
        self.proxy_cpu.push(cpu(1));
        self.client_cpu.push(cpu(2));
    }
}

/// Runs the case and adds its figures.
pub(crate) async fn run(bench: &mut Bench) -> Result<(), BenchError> {
    let detector = bench.mockdet(&fixed_profile(PROFILE, LATENCY_MS)?).await?;
    let upstream = detector.addr(PROFILE)?;
    let proxy = bench.record_proxy(upstream).await?;
    // Index 0 is direct, 1 through the proxy.
    let addrs = [upstream, proxy.addr("record")?];
    let pids = [detector.pid(), proxy.pid(), std::process::id()];
    let s = &bench.settings;
    let (pairs, per_round) = (s.record_pairs, requests_in(s.record_round));
    let body = Bytes::from(detect_body());
    // Unmeasured: both paths' connections opened (the proxy's to the
    // detector too) and every code path warm before the first round.
    for addr in addrs {
        let warmup = requests_in(s.record_warmup);
        open_loop(plan(warmup), shot(addr, &body)).await?;
    }
    let mut sides: [Side; 2] = Default::default();
    for i in 0..pairs {
        // Which side goes first alternates, so neither always follows the
        // other.
        let order = if i % 2 == 0 { [0, 1] } else { [1, 0] };
        for which in order {
            let meter = CpuMeter::start(&pids);
            let run = open_loop(plan(per_round), shot(addrs[which], &body)).await?;
            sides[which].add(&run, per_round, &meter.utilisation());
        }
    }
    proxy.stop().await;
    detector.stop().await;
    report(bench, sides);
    Ok(())
}

/// Requests in `window` at [`RATE`] (at least one).
fn requests_in(window: Duration) -> usize {
    ((window.as_secs_f64() * RATE).round() as usize).max(1)
}

/// An open-loop run of `count` requests at [`RATE`].
fn plan(count: usize) -> OpenLoop {
    OpenLoop {
        rate: RATE,
        count,
        request_timeout: REQUEST_TIMEOUT,
        spread: true,
    }
}

/// `POST /analyze` to `addr`, each request with its own correlation id
/// (as an orchestrator sends them; the proxy keys its recording by it).
fn shot(addr: SocketAddr, body: &Bytes) -> Shot {
    Shot {
        addr,
        path: "/analyze",
        body: body.clone(),
        headers: &[],
        fresh_ids: true,
    }
}

/// `proxied − direct` for each round pair, in pair order.
fn pair_differences(proxied: &[f64], direct: &[f64]) -> Vec<f64> {
    proxied.iter().zip(direct).map(|(p, d)| p - d).collect()
}

/// Adds the figures and notes from the sides: direct, through the proxy.
fn report(bench: &mut Bench, sides: [Side; 2]) {
    let [mut direct, mut proxied] = sides;
    let d = summarise(&direct.latencies);
    let p = summarise(&proxied.latencies);
    let mut p99_overheads = pair_differences(&proxied.p99s, &direct.p99s);
    let mut p50_overheads = pair_differences(&proxied.p50s, &direct.p50s);
    let pairs = p99_overheads.len();
    for (i, overhead) in p99_overheads.iter().enumerate() {
        let key = format!("record.pair_{}.overhead_p99_ms", i + 1);
        bench.report.note(key, *overhead);
    }
    let case = format!("fixed {LATENCY_MS} ms detector, POST /analyze open loop at {RATE} req/s");
    let overhead = format!(
        "{case}: `mockdet record` overhead, proxied − direct, median of {pairs} round pairs"
    );
    let r = &mut bench.report;
    r.figure(
        "record.direct.p99_ms",
        format!("{case}, direct: p99 (baseline column: the configured latency)"),
        "ms",
        (d.p99, LATENCY_MS),
        None,
    );
    r.figure(
        "record.proxied.p99_ms",
        format!("{case}, through `mockdet record`: p99 (baseline column: direct)"),
        "ms",
        (p.p99, d.p99),
        None,
    );
    r.figure(
        "record.overhead.p99_ms",
        format!("{overhead}, p99 (baseline column: direct p99)"),
        "ms",
        (median(&mut p99_overheads), d.p99),
        Some(Target::AtMost(On::Mockdet, TARGET_MS)),
    );
    r.figure(
        "record.overhead.p50_ms",
        format!("{overhead}, p50 (baseline column: direct p50)"),
        "ms",
        (median(&mut p50_overheads), d.p50),
        None,
    );
    // `median` sorted the differences: the first and last are the extremes.
    let extreme = |v: &[f64], last: bool| {
        let pick = if last { v.last() } else { v.first() };
        pick.copied().unwrap_or(f64::NAN)
    };
    r.note("record.pairs", pairs as f64);
    r.note("record.overhead.p99_min_ms", extreme(&p99_overheads, false));
    r.note("record.overhead.p99_max_ms", extreme(&p99_overheads, true));
    r.note("record.overhead.pooled_p99_ms", p.p99 - d.p99);
    r.note("record.overhead.pooled_p50_ms", p.p50 - d.p50);
    r.note("record.proxied.proxy_cpu", median(&mut proxied.proxy_cpu));
    r.note("record.direct.proxy_cpu", median(&mut direct.proxy_cpu));
    for (key, side, summary) in [("direct", &mut direct, d), ("proxied", &mut proxied, p)] {
        r.note(format!("record.{key}.answers"), summary.count as f64);
        r.note(format!("record.{key}.p50_ms"), summary.p50);
        r.note(format!("record.{key}.p999_ms"), summary.p999);
        r.note(format!("record.{key}.max_ms"), summary.max);
        r.note(format!("record.{key}.errors"), side.errors as f64);
        r.note(
            format!("record.{key}.client_lag_p99_ms"),
            summarise(&side.lag_ms).p99,
        );
        r.note(
            format!("record.{key}.detector_cpu"),
            median(&mut side.detector_cpu),
        );
        r.note(
            format!("record.{key}.client_cpu"),
            median(&mut side.client_cpu),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Answer;
    use tokio::time::Instant;

    fn answered(status: u16, latency_ms: f64) -> Outcome {
        Outcome::Answered(Answer {
            status,
            seq: None,
            key: None,
            latency_ms,
            done: Instant::now(),
        })
    }

    #[test]
    fn a_round_keeps_2xx_latencies_and_counts_everything_else_as_errors() {
        let mut outcomes: Vec<Outcome> = (1..=100)
            .map(|i| answered(200, f64::from(i) / 100.0))
            .collect();
        outcomes.extend([answered(502, 0.5), Outcome::Failed, Outcome::TimedOut]);
        let run = OpenRun {
            lag_ms: vec![0.1; outcomes.len()],
            outcomes,
        };
        let mut side = Side::default();
        // Two more were planned than reported: abandoned, so errors too.
        side.add(&run, 105, &[0.1, 0.2, 0.3]);
        assert_eq!(side.latencies.len(), 100);
        assert_eq!(side.errors, 5);
        // Exact in the histogram below 2.048 ms: the 50th and 99th values.
        assert_eq!((side.p50s[0], side.p99s[0]), (0.5, 0.99));
        assert_eq!(side.lag_ms.len(), 103);
        assert_eq!(
            (side.detector_cpu[0], side.proxy_cpu[0], side.client_cpu[0]),
            (0.1, 0.2, 0.3)
        );
    }

    #[test]
    fn overheads_pair_rounds_in_order() {
        let direct = [5.5, 5.7, 5.6];
        let proxied = [5.8, 6.2, 5.6];
        let mut diffs = pair_differences(&proxied, &direct);
        assert_eq!(diffs.len(), 3);
        assert!((median(&mut diffs) - 0.3).abs() < 1e-9, "{diffs:?}");
    }

    #[test]
    fn rounds_are_sized_by_the_rate() {
        assert_eq!(requests_in(Duration::from_millis(2500)), 2500);
        assert_eq!(requests_in(Duration::ZERO), 1);
    }
}
