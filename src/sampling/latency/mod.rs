//! Latency models: the `[latency]` table of a profile ([`LatencySpec`]), its
//! validation into a ready-to-sample [`Latency`], per-request sampling, and the
//! exact distribution function of what the sampler produces ([`Latency::cdf`],
//! checked with `ks_statistic`).
//!
//! All values are milliseconds (`f64`). One draw is a fixed pipeline, described
//! as data rather than code paths:
//!
//! 1. a base model (`fixed`, `uniform`, truncated `normal`, `lognormal`,
//!    `exponential`, `pareto` or empirical `percentiles`);
//! 2. an optional slow tail: with probability `p` the draw is multiplied by
//!    `U(lo, hi)`;
//! 3. an optional clamp to `[min_ms, max_ms]` (which puts point masses on the
//!    bounds).
//!
//! Everything that can be wrong with a spec is rejected by
//! [`LatencySpec::validate`], so sampling never parses or fails.
//!
//! Layout: `spec` is the serde `[latency]` table and [`SpecError`];
//! `validate` turns a spec into a [`Latency`]; `model` is that validated
//! sampler with its CDF, mean and description; `base` holds the base models
//! (including the `percentiles` knots); `tail` the slow tail; `numerics` the
//! normal CDF, adaptive Simpson integration and `next_down`; `ks` the
//! Kolmogorov–Smirnov statistic used to check the sampler against the CDF.

mod base;
mod ks;
mod model;
mod numerics;
mod tail;
mod validate;

#[cfg(test)]
mod tests;

pub use ks::ks_statistic;
pub use model::Latency;
