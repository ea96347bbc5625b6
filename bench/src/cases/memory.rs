//! Memory under a third-party client: the timer case's server (fixed
//! 200 ms), driven by `wrk -t1 -c1000 -d20s` instead of our own client, and
//! each side's peak RSS (`VmHWM`). wrk keeps every connection busy the whole
//! time, so every in-flight request's state is resident at once — the
//! figure users see when they load mockdet with their own tools.
//!
//! Needs Debian's `wrk`; without it the case is reported as not measured.

use std::time::Duration;

use super::{Bench, detect_body, fixed_profile};
use crate::error::BenchError;
use crate::process::Server;
use crate::report::{On, Target};
use crate::wrk;

/// The server's latency, as in the timer case.
const LATENCY_MS: u64 = 200;

/// Runs the case and adds its figure.
pub(crate) async fn run(bench: &mut Bench) -> Result<(), BenchError> {
    if !wrk::available().await {
        tracing::warn!("wrk is not installed: the wrk-driven memory figure is not measured");
        bench.report.note("wrk_memory.not_measured", 1.0);
        return Ok(());
    }
    let script = bench
        .scratch
        .write("memory.lua", &wrk::script(&detect_body()))?;
    let baseline = bench.baseline(LATENCY_MS, 1).await?;
    let base = drive(bench, baseline, "baseline0", &script).await?;
    let profile = fixed_profile("fixed200", LATENCY_MS as f64)?;
    let mockdet = bench.mockdet(&profile).await?;
    let mock = drive(bench, mockdet, "fixed200", &script).await?;
    let s = &bench.settings;
    let (connections, seconds) = (s.memory_connections, s.memory_duration.as_secs_f64());
    bench.report.figure(
        "rss.peak_wrk",
        format!(
            "fixed {LATENCY_MS} ms under wrk, {connections} conns for {seconds:.0} s: peak RSS"
        ),
        "MiB",
        (mock.0, base.0),
        Some(Target::AtMost(On::Ratio, 1.3)),
    );
    bench
        .report
        .note("wrk_memory.mockdet.requests_per_s", mock.1);
    bench
        .report
        .note("wrk_memory.baseline.requests_per_s", base.1);
    Ok(())
}

/// Drives one server with wrk; its peak RSS (MiB) and wrk's request rate.
async fn drive(
    bench: &Bench,
    server: Server,
    listener: &str,
    script: &std::path::Path,
) -> Result<(f64, f64), BenchError> {
    let s = &bench.settings;
    let addr = server.addr(listener)?;
    let run = wrk::run(
        addr,
        "/detect",
        script,
        s.memory_connections,
        s.memory_duration,
        bench.client_cpu,
    )
    .await;
    let memory = server.memory();
    server.stop().await;
    tokio::time::sleep(s.cooldown.min(Duration::from_secs(2))).await;
    Ok((memory?.peak_mib, run?.requests_per_s))
}
