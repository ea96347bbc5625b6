//! The `[latency]` table of a profile as written: [`LatencySpec`] (serde, with
//! unknown fields rejected), its model [`LatencyKind`], the optional
//! [`SlowTailSpec`], convenience constructors, and [`SpecError`], the reason a
//! spec is rejected. Validation itself lives in `validate`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Field names of the `percentiles` knots, aligned with
/// [`KNOT_PROBS`](super::base::KNOT_PROBS).
pub(crate) const KNOT_NAMES: [&str; 6] = ["p0", "p50", "p90", "p99", "p999", "p100"];

/// The most points a `percentiles` quantile table may have.
pub const MAX_POINTS: usize = 1001;

/// Which latency model a [`LatencySpec`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum LatencyKind {
    /// Always the same latency: `ms`.
    #[default]
    Fixed,
    /// Uniform between `min` and `max`.
    Uniform,
    /// Normal(`mean`, `sd`) truncated at 0 (negative draws are resampled).
    Normal,
    /// Lognormal from `median` + `p99`, or from `mu` + `sigma` of ln(ms).
    Lognormal,
    /// Exponential with the given `mean`.
    Exponential,
    /// Pareto with minimum `scale` and tail index `shape`.
    Pareto,
    /// Empirical: quantile function linear between `p0, p50, p90, p99,
    /// p999, p100`, or between the `points` of a quantile table.
    Percentiles,
}

impl LatencyKind {
    /// The model's name as written in a profile (`model = "..."`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::Uniform => "uniform",
            Self::Normal => "normal",
            Self::Lognormal => "lognormal",
            Self::Exponential => "exponential",
            Self::Pareto => "pareto",
            Self::Percentiles => "percentiles",
        }
    }

    /// The model-specific fields this model accepts (the clamp and the slow
    /// tail apply to every model and are not listed).
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Fixed => &["ms"],
            Self::Uniform => &["min", "max"],
            Self::Normal => &["mean", "sd"],
            Self::Lognormal => &["median", "p99", "mu", "sigma"],
            Self::Exponential => &["mean"],
            Self::Pareto => &["scale", "shape"],
            Self::Percentiles => &KNOT_NAMES,
        }
    }

    /// Human description of the accepted fields, for error messages.
    pub(crate) fn takes(self) -> &'static str {
        match self {
            Self::Fixed => "ms",
            Self::Uniform => "min, max",
            Self::Normal => "mean, sd",
            Self::Lognormal => "median, p99 or mu, sigma",
            Self::Exponential => "mean",
            Self::Pareto => "scale, shape",
            Self::Percentiles => "p50, p90, p99, p999, optional p0, p100; or points",
        }
    }
}

impl fmt::Display for LatencyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The optional slow tail of a [`LatencySpec`]: with `probability` the draw is
/// multiplied by a factor uniform in `multiplier = [lo, hi]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SlowTailSpec {
    /// Probability in `[0, 1]` that a request falls in the slow tail.
    pub probability: f64,
    /// `[lo, hi]` bounds of the uniform multiplier, `0 <= lo <= hi`.
    pub multiplier: [f64; 2],
}

/// The raw `[latency]` table of a profile, exactly as written (all values in
/// milliseconds unless noted). Turn it into a sampler with
/// [`LatencySpec::validate`].
///
/// [`Default`] is a valid `fixed` 0 ms spec. To build other specs with struct
/// update syntax start from [`LatencySpec::bare`], not from `Default` (whose
/// `ms = 0` does not apply to other models).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    /// The model; decides which of the fields below apply.
    pub model: LatencyKind,
    /// `fixed`: the latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms: Option<f64>,
    /// `uniform`: lower bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// `uniform`: upper bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// `normal` (before truncation, may be negative down to -2 sd) or `exponential`: mean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// `normal`: standard deviation (before truncation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sd: Option<f64>,
    /// `lognormal`: median (with `p99`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median: Option<f64>,
    /// `lognormal` (with `median`) or `percentiles`: 99th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
    /// `lognormal`: mean of ln(ms) (with `sigma`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mu: Option<f64>,
    /// `lognormal`: standard deviation of ln(ms) (with `mu`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
    /// `pareto`: minimum value x_m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// `pareto`: tail index α (dimensionless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<f64>,
    /// `percentiles`: minimum (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p0: Option<f64>,
    /// `percentiles`: median.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    /// `percentiles`: 90th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90: Option<f64>,
    /// `percentiles`: 99.9th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p999: Option<f64>,
    /// `percentiles`: maximum (default `p999 + (p999 - p99)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p100: Option<f64>,
    /// `percentiles`: a quantile table `[[q, ms], …]` instead of the
    /// `p0`…`p100` fields: q from 0 to 1, strictly increasing; ms
    /// non-decreasing; 2 to [`MAX_POINTS`] points. What `mockdet fit` writes
    /// when no closed-form model fits the data closely enough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<Vec<[f64; 2]>>,
    /// Any model: lower clamp, applied last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_ms: Option<f64>,
    /// Any model: upper clamp, applied last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_ms: Option<f64>,
    /// Any model: optional slow tail, applied before the clamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_tail: Option<SlowTailSpec>,
}

impl Default for LatencySpec {
    /// A valid `fixed` spec of 0 ms.
    fn default() -> Self {
        Self::fixed(0.0)
    }
}

/// Why a [`LatencySpec`] was rejected. `field` is relative to the latency
/// table, e.g. `"p99"` or `"slow_tail.probability"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct SpecError {
    /// The offending field, relative to the latency table.
    pub field: String,
    /// A human explanation of what is wrong.
    pub reason: String,
}

impl SpecError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The same error with `field` prefixed by the enclosing table, e.g.
    /// `within("latency")` turns `p99` into `latency.p99`.
    pub fn within(self, table: &str) -> Self {
        Self {
            field: format!("{table}.{}", self.field),
            reason: self.reason,
        }
    }
}

impl LatencySpec {
    /// A spec of `model` with no field set (not valid until the model's
    /// fields are filled in); the starting point for struct update syntax.
    pub fn bare(model: LatencyKind) -> Self {
        Self {
            model,
            ms: None,
            min: None,
            max: None,
            mean: None,
            sd: None,
            median: None,
            p99: None,
            mu: None,
            sigma: None,
            scale: None,
            shape: None,
            p0: None,
            p50: None,
            p90: None,
            p999: None,
            p100: None,
            points: None,
            min_ms: None,
            max_ms: None,
            slow_tail: None,
        }
    }

    /// A `fixed` spec of `ms` milliseconds.
    pub fn fixed(ms: f64) -> Self {
        Self {
            ms: Some(ms),
            ..Self::bare(LatencyKind::Fixed)
        }
    }

    /// A `uniform` spec between `min` and `max` milliseconds.
    pub fn uniform(min: f64, max: f64) -> Self {
        Self {
            min: Some(min),
            max: Some(max),
            ..Self::bare(LatencyKind::Uniform)
        }
    }
}
