//! One mock detector as an axum app: its shared state and its router.
//!
//! Handlers live in [`handlers`]; request parsing in [`request`]; bodies in
//! [`response`]; deterministic content findings in [`findings`].

mod act;
mod error;
pub(crate) mod findings;
mod handlers;
mod request;
mod response;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::routing::{get, post};
use prometheus::IntGauge;
use tokio::time::Instant;

use crate::metrics::Metrics;
use crate::profile::{Behaviour, DetectorProfile, ProfileError};
use crate::sampling::rng::SeedKey;

pub(crate) use response::Identity;

/// Everything one detector's handlers share.
#[derive(Debug)]
pub(crate) struct DetectorState {
    pub(crate) identity: Identity,
    /// The profile as loaded; kept so it can be shown and changed live.
    profile: RwLock<Arc<(DetectorProfile, Behaviour)>>,
    key: SeedKey,
    seed: u64,
    seq: AtomicU64,
    processed: AtomicU64,
    errors: AtomicU64,
    started: Instant,
    pub(crate) metrics: Metrics,
    in_flight: IntGauge,
}

impl DetectorState {
    /// Builds the state of one detector from a profile.
    pub(crate) fn new(
        profile: DetectorProfile,
        seed: u64,
        metrics: Metrics,
    ) -> Result<Self, ProfileError> {
        let behaviour = profile.behaviour(&format!("profile `{}`", profile.name))?;
        let identity = Identity {
            name: profile.name.clone(),
            detector_id: profile.detector_id.clone(),
            detector_type: profile.detector_type.clone(),
            version: profile.version.clone(),
            capabilities: profile.capabilities.clone(),
            content_types: profile.content_types.clone(),
        };
        let in_flight = metrics.in_flight.with_label_values(&[&identity.name]);
        Ok(Self {
            key: SeedKey::new(seed, &identity.detector_id),
            seed,
            identity,
            profile: RwLock::new(Arc::new((profile, behaviour))),
            seq: AtomicU64::new(0),
            processed: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            started: Instant::now(),
            metrics,
            in_flight,
        })
    }

    /// The profile and its validated behaviour, as of now.
    pub(crate) fn current(&self) -> Arc<(DetectorProfile, Behaviour)> {
        // The lock is only held to clone an Arc, never across an await, so a
        // poisoned lock can only come from a panic in that clone: keep going.
        self.profile
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The seed this detector draws from.
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// Hands out the next request sequence number (starting at 1).
    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Builds the router of one detector.
pub(crate) fn router(state: Arc<DetectorState>) -> Router {
    Router::new()
        .route("/detect", post(handlers::detect))
        .route("/analyze", post(handlers::analyze))
        .route("/detect/batch", post(handlers::batch))
        .route("/health", get(handlers::health))
        .route("/metrics", get(handlers::metrics))
        .route("/", get(handlers::capabilities))
        .route("/capabilities", get(handlers::capabilities))
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(axum::middleware::from_fn(handlers::echo_ids))
        .with_state(state)
}
