//! One mock detector: its shared state, its router, and the detection engine.
//!
//! Every detection request goes through one [`pipeline`]: arrive (sequence
//! number, ids from [`ids`]), parse, impose runtime control, plan its draws,
//! act it out ([`act`]: wait, answer or fault) and record it. A wire
//! protocol plugs into the pipeline as a [`Wire`](pipeline::Wire) — a
//! request parser and a renderer; the protocols, their endpoints and their
//! error shapes are a table in [`protocols`] (mockdet's own bodies are
//! written by `response` and `success`; findings come from `findings`,
//! remembered per content in `memo`).
//!
//! Around it: `handlers` (health, capabilities, metrics, 404/405) and
//! `admin` (runtime control), with the operations behind the admin API and
//! [`DetectorHandle`](crate::DetectorHandle) in `ops`; `service` dispatches
//! each request (detection straight to the pipeline, the rest through the
//! router); `overrides` reads the `X-Mock-*` headers; `series` caches the
//! per-request metric series; `conn` is per-connection plumbing (arrival
//! time, close, reset, handing a hang to a light holder) and `clock` the
//! sub-millisecond deadline timer.

mod act;
mod admin;
mod clock;
pub(crate) mod conn;
mod error;
pub(crate) mod findings;
mod handlers;
mod ids;
mod memo;
mod numbers;
#[cfg(feature = "openapi")]
mod openapi;
pub(crate) mod ops;
mod overrides;
mod pipeline;
pub(crate) mod protocols;
mod recorded;
mod replay;
mod request;
mod response;
mod series;
mod service;
mod success;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::routing::{get, post};
use prometheus::IntGauge;
use tokio::time::Instant;

use crate::control::Control;
use crate::control::attempts::Attempts;
use crate::control::book::ReplayBook;
use crate::control::journal::Journal;
use crate::metrics::Metrics;
use crate::profile::{DetectorProfile, ProfileError};
use crate::sampling::Behaviour;
use crate::sampling::rng::SeedKey;

pub(crate) use admin::AdminAccess;
pub(crate) use admin::merge_patch;
pub(crate) use overrides::read as read_overrides;
pub(crate) use response::Identity;
pub(crate) use service::DetectorService;

/// How long a client may take over a request's headers or its body, and how
/// long an idle keep-alive connection is kept (see
/// [`FleetBuilder::read_timeout`](crate::FleetBuilder::read_timeout)): 120 s, longer than the idle timeout of
/// common client pools (90 s in reqwest and Go's `http.Transport`), so a
/// client closes an idle connection before mockdet does and never sends a
/// request into one being closed.
pub(crate) const DEFAULT_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// A profile with everything derived from it, swapped as one on a live change.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) profile: DetectorProfile,
    pub(crate) behaviour: Behaviour,
    pub(crate) identity: Identity,
    /// The profile's recorded answers, loaded.
    pub(crate) answers: Option<Arc<recorded::RecordedAnswers>>,
}

impl Snapshot {
    pub(crate) fn new(profile: DetectorProfile) -> Result<Self, ProfileError> {
        let behaviour = profile.behaviour(&profile.origin())?;
        let answers = match &profile.recorded_answers {
            Some(path) => {
                let answers = recorded::RecordedAnswers::load(std::path::Path::new(path))?;
                tracing::info!(detector = %profile.name, answers = answers.len(), %path, "recorded answers loaded");
                Some(Arc::new(answers))
            }
            None => None,
        };
        let identity = Identity {
            name: profile.name.clone(),
            detector_id: profile.detector_id.clone(),
            detector_type: profile.detector_type.clone(),
            version: profile.version.clone(),
            capabilities: profile.capabilities.clone(),
            findings: Arc::new(memo::FindingsMemo::new(&profile.capabilities)),
            content_types: profile.content_types.clone(),
            fragments: success::BodyFragments::new(
                &profile.detector_id,
                &profile.detector_type,
                &profile.name,
                &profile.version,
            ),
        };
        Ok(Self {
            profile,
            behaviour,
            identity,
            answers,
        })
    }
}

/// Everything one detector's handlers share.
#[derive(Debug)]
pub(crate) struct DetectorState {
    /// The detector's name; fixed for its lifetime (it labels metrics).
    pub(crate) name: String,
    snapshot: RwLock<Arc<Snapshot>>,
    key: SeedKey,
    seed: u64,
    seq: AtomicU64,
    processed: AtomicU64,
    errors: AtomicU64,
    started: Instant,
    pub(crate) control: Control,
    pub(crate) journal: Journal,
    /// How many times each request key has been seen (request mode).
    attempts: Attempts,
    /// A journal being replayed, if any.
    book: Option<ReplayBook>,
    /// `mockdet_replay_events_total`'s series, made on first use.
    replay_events: replay::ReplayCounters,
    pub(crate) metrics: Metrics,
    series: series::Series,
    /// The last headers kept for the journal, reused while they repeat.
    kept_headers: ids::LastKept,
    in_flight: IntGauge,
    pub(crate) admin: AdminAccess,
    /// The read timeout of a profile that sets none (the fleet's).
    default_read_timeout: std::time::Duration,
}

impl DetectorState {
    /// Builds the state of one detector from a profile.
    pub(crate) fn new(
        profile: DetectorProfile,
        seed: u64,
        metrics: Metrics,
        admin: AdminAccess,
    ) -> Result<Self, ProfileError> {
        let snapshot = Snapshot::new(profile)?;
        let name = snapshot.identity.name.clone();
        let detector_id = snapshot.identity.detector_id.clone();
        Ok(Self {
            in_flight: metrics.in_flight.with_label_values(&[&name]),
            key: SeedKey::new(seed, &detector_id),
            control: Control::new(seed, &detector_id),
            journal: Journal::new(&name, snapshot.behaviour.journal_size),
            attempts: Attempts::new(snapshot.behaviour.replay.capacity),
            book: None,
            replay_events: Default::default(),
            name,
            seed,
            snapshot: RwLock::new(Arc::new(snapshot)),
            seq: AtomicU64::new(0),
            processed: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            started: Instant::now(),
            metrics,
            series: series::Series::default(),
            kept_headers: ids::LastKept::default(),
            admin,
            default_read_timeout: DEFAULT_READ_TIMEOUT,
        })
    }

    /// Sets the read timeout of a profile that sets none (default 120 s).
    pub(crate) fn with_read_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.default_read_timeout = timeout;
        self
    }

    /// Serves the outcomes of a recorded journal again (see
    /// [`FleetBuilder::replay_journal`](crate::FleetBuilder::replay_journal)).
    pub(crate) fn with_book(mut self, book: ReplayBook) -> Self {
        let outcomes = book.len();
        tracing::info!(detector = %self.name, outcomes, "replaying a journal");
        self.book = Some(book);
        self
    }

    /// How long a client may take over a request's headers or its body, as
    /// the current profile says: its `limits.read_timeout_ms`, else the
    /// fleet's setting.
    pub(crate) fn read_timeout(&self) -> std::time::Duration {
        self.read_timeout_of(&self.current())
    }

    /// [`read_timeout`](Self::read_timeout) under `snapshot`.
    pub(crate) fn read_timeout_of(&self, snapshot: &Snapshot) -> std::time::Duration {
        snapshot
            .behaviour
            .read_timeout
            .unwrap_or(self.default_read_timeout)
    }

    /// Counts a client cut off for stalling in `phase` (`headers`, which
    /// includes idle keep-alive connections, or `body`).
    pub(crate) fn client_timed_out(&self, phase: &'static str) {
        let counter = &self.metrics.client_timeouts;
        counter
            .with_label_values(&[self.name.as_str(), phase])
            .inc();
        tracing::debug!(detector = %self.name, phase, "client cut off by the read timeout");
    }

    /// The profile and what derives from it, as of now.
    pub(crate) fn current(&self) -> Arc<Snapshot> {
        // The lock is only held to clone or swap an Arc, never across an
        // await; a poisoned lock still holds a valid Arc.
        self.snapshot
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Swaps in a new snapshot.
    fn replace(&self, snapshot: Snapshot) {
        *self
            .snapshot
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(snapshot);
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

/// Builds the router of one detector. Its server calls it through
/// [`DetectorService`], which also echoes the caller's ids on every answer.
pub(crate) fn router(state: Arc<DetectorState>) -> Router {
    let mut router = Router::new();
    for (endpoint, path) in protocols::Endpoint::routed() {
        router = router.route(
            path,
            post(move |state, request| handlers::detection(endpoint, state, request)),
        );
    }
    #[cfg(feature = "openapi")]
    let router = router.route("/openapi.json", get(openapi::serve));
    router
        .route(
            "/supportedentities",
            get(protocols::presidio::supported_entities),
        )
        .route("/recognizers", get(protocols::presidio::recognizers))
        .route("/health", get(handlers::health))
        .route("/metrics", get(handlers::metrics))
        .route("/", get(handlers::capabilities))
        .route("/capabilities", get(handlers::capabilities))
        .nest("/admin", admin::router(state.clone()))
        .fallback(handlers::not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .with_state(state)
}
