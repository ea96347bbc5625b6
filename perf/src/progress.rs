//! The live progress line while a tool runs: elapsed / remaining, and the
//! fleet's request rate and injected faults, read from its metrics each second.
//! Hidden when stderr is not a terminal (CI logs stay clean).

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinHandle;

use super::fleet::FleetView;

/// A running progress line; `finish` stops it.
pub(crate) struct Watch {
    bar: ProgressBar,
    task: JoinHandle<()>,
}

/// Starts a progress line for a phase of `planned` length.
pub(crate) fn watch(fleet: &FleetView, label: String, planned: Duration) -> Watch {
    let bar = ProgressBar::new(planned.as_secs().max(1));
    bar.set_style(
        ProgressStyle::with_template("{prefix:>24} [{bar:30}] {elapsed}/{duration} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(label);
    let task = tokio::spawn(tick(fleet.clone(), bar.clone()));
    Watch { bar, task }
}

async fn tick(fleet: FleetView, bar: ProgressBar) {
    let started = Instant::now();
    let mut last = (started, fleet.detection_requests().await, 0.0_f64);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = Instant::now();
        let seen = fleet.detection_requests().await;
        let faults: f64 = fleet
            .scrape()
            .await
            .values()
            .flatten()
            .filter(|s| s.name == "mockdet_faults_injected_total")
            .map(|s| s.value)
            .sum();
        let rate = seen.saturating_sub(last.1) as f64 / now.duration_since(last.0).as_secs_f64();
        bar.set_position(started.elapsed().as_secs());
        bar.set_message(format!(
            "fleet {rate:.0} req/s, {faults:.0} faults injected"
        ));
        last = (now, seen, faults);
    }
}

impl Watch {
    /// Stops the line.
    pub(crate) async fn finish(self) {
        self.task.abort();
        let _ = self.task.await;
        self.bar.finish_and_clear();
    }
}
