//! mockdet: mock detectors that misbehave on purpose, reproducibly, at load —
//! the test double detector orchestration services are tested against.
//!
//! # Layout
//!
//! - [`profile`]: [`DetectorProfile`], loading (figment) and validation.
//! - [`sampling`]: latency models, fault selection, seeded RNG derivation.
//! - `detector`: one detector's axum app — router, handlers, bodies, findings.
//! - [`control`]: runtime faults — outage windows, next-N, scripts, bursts —
//!   and the request journal.
//! - [`fleet`]: [`Fleet`], [`FleetBuilder`] and [`DetectorHandle`] — bind,
//!   serve, control, shut down.
//! - `metrics`: one Prometheus registry per fleet.
//! - [`orchestrator`]: the reference orchestrator and the demo (fleet +
//!   orchestrator in one process).
//! - [`perf`]: the load suite — k6/Locust scripts, runner, report.
//! - [`bench`](mod@bench): the benchmark against a bare axum baseline.
//! - [`cli`]: the `mockdet` command line (the binary is a thin wrapper).
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
mod metrics;
pub mod profile;
mod sampling;

pub use control::journal::JournalEntry;
pub use control::{ControlError, ScriptStatus};
pub use fleet::{DetectorHandle, Fleet, FleetBuilder, FleetError};
pub use profile::{
    BurstSpec, NextFaults, Outage, OutageMode, Phase, PhaseOverrides, ScheduledOutage, Script,
};
pub use profile::{DetectorProfile, ProfileError};
pub use sampling::latency::ks_statistic;
pub use sampling::{Fate, Forecast};
