//! A small, honest *reference* orchestrator — a stand-in target for the
//! load suite and for our own tests, not a product. It speaks the contract
//! the seed's suite expects (CONTRACT §5: `/orchestrate`, batch, async jobs,
//! `/health`, `/metrics`, and the `/api/v1` shape) and calls detectors the
//! way real orchestrators do (CONTRACT §1 and §3: `POST /analyze`,
//! `X-Correlation-ID`, per-detector timeout, retries with backoff on 5xx
//! and transport errors only, a circuit breaker per detector, an SLA
//! budget per request).
//!
//! # Layout
//!
//! - `config`: [`OrchestratorConfig`], the seed's `test-config.yaml` shape,
//!   and `--detectors name=url,...`; `settings` validates it once.
//! - `api`, `handlers`, `v1`, `request`, `error`: the axum router, request
//!   validation, and JSON errors with a stable `error.code`.
//! - `fanout` and `call`: detector selection, parallel calls, retries,
//!   aggregation into 200 / 206 / 502.
//! - `breaker`: the circuit breaker as pure logic over an injected clock.
//! - `jobs`, `health`, `limiter`, `metrics`: the async job store, the
//!   background health poll, the per-tenant rate limit, Prometheus.
//! - `server` and `demo`: [`Orchestrator`] and [`Demo`], the in-process
//!   entry points; [`bench`](mod@bench): fixed-rate load against an orchestrator.
//!
//! The public surface is what tests and the command line use: the two
//! entry points with their builders and errors, the configuration types
//! (reachable through [`OrchestratorConfig`]'s fields), [`BreakerState`],
//! and [`bench`](mod@bench)'s options, runner and error.
//!
//! # In a test
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fleet = mockdet::Fleet::builder().builtin("success").seed(1).start().await?;
//! let orchestrator = mockdet_orchestrator::Orchestrator::builder()
//!     .detector("success", fleet.url("success"))
//!     .start()
//!     .await?; // bound on 127.0.0.1:0 before this returns
//! assert!(orchestrator.url().starts_with("http://127.0.0.1:"));
//! orchestrator.shutdown().await;
//! fleet.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod api;
pub mod bench;
mod breaker;
mod call;
mod config;
mod defects;
mod demo;
mod error;
mod fanout;
mod handlers;
mod health;
mod jobs;
mod limiter;
mod metrics;
mod openapi;
mod request;
mod result;
mod server;
mod settings;
mod state;
mod v1;

pub use breaker::BreakerState;
pub use config::{
    ApiV1Config, BreakerConfig, ConfigError, ContentType, DetectorConfig, HealthConfig,
    OrchestrationConfig, OrchestratorConfig, PerformanceTargets, ServiceConfig,
};
pub use defects::Defect;
pub use demo::{DEMO_SLA_BUDGET_MS, Demo, DemoBuilder, DemoPorts, demo_config};
pub use server::{Orchestrator, OrchestratorBuilder, OrchestratorError};
