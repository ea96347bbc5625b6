//! Case 6 — start-up: time from spawning `mockdet` with the five built-ins
//! to reading its ready line, against the baseline opening five listeners.
//! Repeats alternate the two; each side's median is reported.

use std::time::Duration;

use super::Bench;
use crate::error::BenchError;
use crate::report::{On, Target};
use crate::stats::{median, ratio};

/// Runs the case and adds its figure.
pub(crate) async fn run(bench: &mut Bench) -> Result<(), BenchError> {
    let mut mock = Vec::new();
    let mut base = Vec::new();
    for _ in 0..bench.settings.spawn_repeats.max(1) {
        let server = bench.baseline(0, 5).await?;
        base.push(ms(server.ready_after));
        server.stop().await;
        let server = bench.mockdet_builtins(mockdet::Replay::Request).await?;
        mock.push(ms(server.ready_after));
        server.stop().await;
    }
    let (mock_median, base_median) = (median(&mut mock), median(&mut base));
    bench.report.figure(
        "spawn.ready",
        "five detectors, spawn to ready line (median)",
        "ms",
        (mock_median, base_median),
        Some(Target::AtMost(On::Mockdet, 20.0)),
    );
    let worst = mock.last().copied().unwrap_or(f64::NAN);
    bench.report.note("spawn.mockdet.max_ms", worst);
    bench.report.note("spawn.repeats", mock.len() as f64);
    bench
        .report
        .note("spawn.max_over_median", ratio(worst, mock_median));
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
