//! Case 2 — timer fidelity: a fixed 200 ms latency under 1,000 closed-loop
//! connections. A perfect server answers each connection every 200 ms
//! (ideal rate = connections / 0.2 s); the achieved rate over that, and how
//! far each answer overshoots 200 ms, show what scheduling costs. The
//! server's peak resident memory after the run is case 5.

use std::time::Duration;

use bytes::Bytes;

use super::{Bench, detect_body, fixed_profile};
use crate::client::{ClosedLoop, ClosedRun, Shot, closed_loop};
use crate::error::BenchError;
use crate::process::Server;
use crate::report::{On, Report, Target};
use crate::stats::{Summary, achieved_over_ideal, summarise};
use crate::sys::CpuMeter;

/// The configured latency of both servers.
const LATENCY_MS: u64 = 200;

/// What one side of the case measured.
struct Side {
    achieved_over_ideal: f64,
    overshoot: Summary,
    peak_rss_mib: f64,
    errors: u64,
    server_cpu: f64,
    client_cpu: f64,
}

/// Runs the case and adds its figures.
pub(crate) async fn run(bench: &mut Bench) -> Result<(), BenchError> {
    let baseline = bench.baseline(LATENCY_MS, 1).await?;
    let base = measure(bench, baseline, "baseline0").await?;
    let profile = fixed_profile("fixed200", LATENCY_MS as f64)?;
    let mockdet = bench.mockdet(&profile).await?;
    let mock = measure(bench, mockdet, "fixed200").await?;
    let n = bench.settings.timer_connections;
    figures(&mut bench.report, n, &mock, &base);
    notes(&mut bench.report, &mock, &base);
    Ok(())
}

fn figures(r: &mut Report, connections: usize, mock: &Side, base: &Side) {
    let case = format!("fixed {LATENCY_MS} ms, {connections} conns");
    r.figure(
        "timer.achieved_over_ideal",
        format!("{case}: achieved/ideal rate"),
        "",
        (mock.achieved_over_ideal, base.achieved_over_ideal),
        Some(Target::AtLeast(On::Mockdet, 0.98)),
    );
    let overshoot = format!("{case}: overshoot over {LATENCY_MS} ms");
    let (m, b) = (&mock.overshoot, &base.overshoot);
    let tails = [
        ("p50", m.p50, b.p50, 1.0),
        ("p99", m.p99, b.p99, 5.0),
        ("max", m.max, b.max, 15.0),
    ];
    for (which, mockdet, baseline, at_most) in tails {
        r.figure(
            &format!("timer.overshoot_{which}"),
            format!("{overshoot}, {which}"),
            "ms",
            (mockdet, baseline),
            Some(Target::AtMost(On::Mockdet, at_most)),
        );
    }
    r.figure(
        "rss.peak_1000_conns",
        format!("single detector under the {connections}-conn case: peak RSS"),
        "MiB",
        (mock.peak_rss_mib, base.peak_rss_mib),
        Some(Target::AtMost(On::Ratio, 1.3)),
    );
}

fn notes(r: &mut Report, mock: &Side, base: &Side) {
    for (who, side) in [("mockdet", mock), ("baseline", base)] {
        r.note(format!("timer.{who}.answers"), side.overshoot.count as f64);
        r.note(
            format!("timer.{who}.overshoot_mean_ms"),
            side.overshoot.mean,
        );
        r.note(format!("timer.{who}.errors"), side.errors as f64);
        r.note(format!("timer.{who}.server_cpu"), side.server_cpu);
        r.note(format!("timer.{who}.client_cpu"), side.client_cpu);
    }
}

/// Drives one server, reads its peak memory, and stops it.
async fn measure(bench: &Bench, server: Server, listener: &str) -> Result<Side, BenchError> {
    let s = &bench.settings;
    let plan = ClosedLoop {
        connections: s.timer_connections,
        warmup: s.timer_warmup,
        measure: s.timer_measure,
        stagger: Duration::from_millis(LATENCY_MS),
        request_timeout: Duration::from_secs(5),
    };
    let shot = Shot {
        addr: server.addr(listener)?,
        path: "/detect",
        body: Bytes::from(detect_body()),
        headers: &[],
        fresh_ids: false,
    };
    let meter = CpuMeter::start(&[server.pid(), std::process::id()]);
    let run = closed_loop(&plan, &shot).await;
    let busy = meter.utilisation();
    let memory = server.memory();
    server.stop().await;
    let mut run: ClosedRun = run?;
    let achieved = achieved_over_ideal(
        run.latencies_ms.len() as u64,
        run.window_s,
        s.timer_connections,
        LATENCY_MS as f64 / 1000.0,
    );
    for latency in &mut run.latencies_ms {
        *latency -= LATENCY_MS as f64;
    }
    Ok(Side {
        achieved_over_ideal: achieved,
        overshoot: summarise(&run.latencies_ms),
        peak_rss_mib: memory?.peak_mib,
        errors: run.errors,
        server_cpu: busy.first().copied().unwrap_or(f64::NAN),
        client_cpu: busy.get(1).copied().unwrap_or(f64::NAN),
    })
}
