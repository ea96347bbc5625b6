//! mockdet: mock detectors that misbehave on purpose, reproducibly, at load —
//! the test double detector orchestration services are tested against.
//!
//! This crate is the core: what a fixture user compiles, and nothing more.
//! The tools are sibling crates of its workspace, above it, using only its
//! public API: the reference orchestrator (`mockdet-orchestrator`), the load
//! suite (`mockdet-perf`), the benchmark (`mockdet-bench`) and the `mockdet`
//! command line (`mockdet-cli`).
//!
//! # Layout
//!
//! Layers only point down — a module never uses one above it
//! (`tests/layers_only_point_down.rs` checks every path):
//!
//! ```text
//! 4  fleet/      bind, serve, drain; the builder, handles, the fixture
//! 3  detector/   one engine (arrive, plan, wait, answer or fault, record),
//!                the wire protocol, handlers, bodies, findings, /admin
//! 2  control/    outages, next-N, scripts, bursts; the request journal
//! 1  sampling/   validation into ready-to-sample types (once), latency
//!                models, fault selection, seeded draws, Forecast
//! 0  profile/    every profile-file type, loading (file < environment)
//! 0  metrics.rs  one Prometheus registry per fleet (uses nothing above)
//! ```
//!
//! | concern | where (under `src/`) |
//! |---|---|
//! | profiles: types, loading | [`profile`]: [`DetectorProfile`]; `profile/env.rs` for `MOCKDET_<NAME>_*` |
//! | validation, once | `sampling/behaviour.rs` ([`DetectorProfile::validate`]) |
//! | latency models | `profile/latency.rs` (as written), `sampling/latency/` (sampler, CDF) |
//! | fault menu | `profile/fault.rs` (as written), drawn in `sampling/` |
//! | seeded draws | `sampling/rng.rs`: ChaCha8 keyed by seed, detector and sequence number |
//! | the k-th request's fate, without a server | [`Forecast`] (`sampling/forecast.rs`) |
//! | runtime control, journal | `control/`; from Rust via [`DetectorHandle`], over HTTP via `detector/admin.rs` |
//! | detector engine, handlers | `detector/pipeline.rs` (the pipeline, the `Wire` trait), `ids.rs` (request ids), `act.rs`, `handlers.rs`, `service.rs`, `conn.rs` |
//! | renderers, bodies | `detector/native.rs`, `response.rs`, `success.rs`, `error.rs` |
//! | findings | `detector/findings/`, remembered per content in `detector/memo.rs` |
//! | fleet, fixture | [`Fleet`], [`FleetBuilder`] (`fleet/`) |
//! | metrics | `metrics.rs`; per-request series in `detector/series.rs` |
//! | the HTTP contract as OpenAPI 3.1 (`openapi` feature) | `detector/openapi/`; the detection endpoints' rows in `detector/protocols/contract.rs` |
//!
//! # A fixture in your tests
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), mockdet::FleetError> {
//! let fleet = mockdet::Fleet::builder().builtin("success").seed(1).start().await?;
//! let health = format!("{}/health", fleet.url("success"));
//! # let _ = health;
//! fleet.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod control;
mod detector;
mod fleet;
// Entry points for the cargo-fuzz targets in fuzz/; not a stable API.
#[doc(hidden)]
pub mod fuzzing;
mod metrics;
pub mod profile;
mod sampling;

pub use control::journal::JournalEntry;
pub use control::{ControlError, ScriptStatus};
pub use fleet::{DetectorHandle, Fleet, FleetBuilder, FleetError};
pub use profile::{
    BurstSpec, NextFaults, Outage, OutageMode, Phase, PhaseOverrides, ScheduledOutage, Script,
};
pub use profile::{DetectorProfile, ProfileError, Replay};
pub use sampling::latency::{Latency, ks_statistic};
pub use sampling::{Fate, Forecast, RequestKey};
