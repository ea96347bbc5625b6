//! The background health poll: every interval, `GET /health` on each
//! detector; an answer below 500 is healthy, anything else (5xx, refused,
//! timed out) is not (CONTRACT §1). A detector known to be unhealthy is
//! skipped by orchestration; one not polled yet is assumed healthy.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::state::{AppState, Slot, stopped};

// 0 (the default) means not polled yet.
const HEALTHY: u8 = 1;
const UNHEALTHY: u8 = 2;

/// One detector's last poll result.
#[derive(Debug, Default)]
pub(crate) struct HealthCell(AtomicU8);

impl HealthCell {
    /// Whether the last poll failed (unknown counts as healthy).
    pub(crate) fn is_unhealthy(&self) -> bool {
        self.0.load(Ordering::Relaxed) == UNHEALTHY
    }

    /// `healthy`, `unhealthy` or `unknown` (not polled yet).
    pub(crate) fn label(&self) -> &'static str {
        match self.0.load(Ordering::Relaxed) {
            HEALTHY => "healthy",
            UNHEALTHY => "unhealthy",
            _ => "unknown",
        }
    }

    fn set(&self, healthy: bool) {
        let value = if healthy { HEALTHY } else { UNHEALTHY };
        self.0.store(value, Ordering::Relaxed);
    }
}

/// Polls every detector now and then every `interval` until `shutdown`.
pub(crate) async fn poll_loop(state: Arc<AppState>, shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(state.settings.health_interval);
    // After a stall, poll once, not a burst of catch-up polls.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let stop = stopped(shutdown);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticks.tick() => {}
        }
        let polls = state
            .slots
            .iter()
            .map(|slot| poll_one(&state.client, slot, state.settings.health_timeout));
        futures_util::future::join_all(polls).await;
    }
}

async fn poll_one(client: &reqwest::Client, slot: &Slot, timeout: Duration) {
    let answer = client
        .get(slot.target.health_url.clone())
        .timeout(timeout)
        .send()
        .await;
    let healthy = match answer {
        Ok(response) => response.status().as_u16() < 500,
        Err(_) => false,
    };
    // Log changes only (and the first poll).
    if healthy == slot.health.is_unhealthy() || slot.health.label() == "unknown" {
        tracing::info!(detector = %slot.target.name, healthy, "detector health");
    }
    slot.health.set(healthy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unpolled_detector_is_assumed_healthy() {
        let cell = HealthCell::default();
        assert!(!cell.is_unhealthy());
        assert_eq!(cell.label(), "unknown");
        cell.set(false);
        assert!(cell.is_unhealthy());
        cell.set(true);
        assert_eq!(cell.label(), "healthy");
    }
}
