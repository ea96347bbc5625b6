//! The state every handler shares: settings, one slot per detector (target,
//! breaker, health), the HTTP client, metrics, jobs and the shutdown signal.

use std::time::Duration;

use tokio::sync::watch;

use super::breaker::SharedBreaker;
use super::health::HealthCell;
use super::jobs::JobStore;
use super::limiter::TenantLimiter;
use super::metrics::Metrics;
use super::settings::{Settings, Target};

/// One configured detector and what the orchestrator knows about it.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) target: Target,
    pub(crate) breaker: SharedBreaker,
    pub(crate) health: HealthCell,
}

/// Shared by every handler through an `Arc`.
#[derive(Debug)]
pub(crate) struct AppState {
    pub(crate) settings: Settings,
    pub(crate) slots: Vec<Slot>,
    pub(crate) client: reqwest::Client,
    pub(crate) metrics: Metrics,
    pub(crate) jobs: JobStore,
    pub(crate) limiter: TenantLimiter,
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl AppState {
    /// Builds the state (and its HTTP client) from validated settings.
    pub(crate) fn new(
        settings: Settings,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, reqwest::Error> {
        let slots = settings
            .targets
            .iter()
            .map(|target| Slot {
                target: target.clone(),
                breaker: SharedBreaker::new(settings.failure_threshold, settings.recovery_timeout)
                    .never_half_opening(settings.defects.breaker_never_half_opens),
                health: HealthCell::default(),
            })
            .collect();
        Ok(Self {
            jobs: JobStore::new(settings.job_capacity),
            limiter: TenantLimiter::new(settings.v1_rate, settings.v1_burst),
            client: client()?,
            metrics: Metrics::new(),
            slots,
            settings,
            shutdown,
        })
    }

    /// Copies every breaker's state into the `circuit_breaker_state` gauge.
    pub(crate) fn refresh_breaker_gauges(&self) {
        for slot in &self.slots {
            self.metrics
                .breaker_state
                .with_label_values(&[slot.target.name.as_str()])
                .set(slot.breaker.state().gauge());
        }
    }
}

/// The client for detector calls. hyper's pool has no cap on connections
/// per host, which matters: at 200 rps, five detectors answering in up to
/// two seconds keep around a thousand calls in flight. Idle connections are
/// kept (up to a bound) so steady load reuses them instead of reconnecting.
fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .pool_idle_timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(2))
        .build()
}

/// Resolves once `stop` turns true (or its sender is gone).
pub(crate) async fn stopped(mut stop: watch::Receiver<bool>) {
    // The guard `wait_for` yields is not `Send`; it is dropped right here.
    let _ = stop.wait_for(|stop| *stop).await;
}

/// A fresh random id in the UUID v4 text form.
pub(crate) fn new_id() -> String {
    let bits: u128 = rand::random();
    // Set the version (4) and variant (10xx) bits.
    let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_uuid_v4_and_differ() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4", "{a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }
}
