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

use std::f64::consts::{PI, SQRT_2};
use std::fmt;

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal, Pareto};
use serde::{Deserialize, Serialize};

/// The standard normal quantile at 0.99: Φ(Z_99) = 0.99.
const Z_99: f64 = 2.326_347_874_040_840_8;

/// A truncated normal is only accepted when `mean >= -MAX_TRUNCATION_SDS * sd`,
/// so each rejection-sampling attempt succeeds with probability >= 2.2 %.
const MAX_TRUNCATION_SDS: f64 = 2.0;

/// Rejection-sampling attempts for the truncated normal before giving up
/// (all failing has probability < 1e-40 given [`MAX_TRUNCATION_SDS`]).
const MAX_NORMAL_ATTEMPTS: usize = 4096;

/// Probabilities of the `percentiles` knots `p0, p50, p90, p99, p999, p100`.
const KNOT_PROBS: [f64; 6] = [0.0, 0.5, 0.9, 0.99, 0.999, 1.0];

/// Field names of the `percentiles` knots, aligned with [`KNOT_PROBS`].
const KNOT_NAMES: [&str; 6] = ["p0", "p50", "p90", "p99", "p999", "p100"];

/// Fields every model accepts (the clamp).
const CLAMP_FIELDS: [&str; 2] = ["min_ms", "max_ms"];

/// Fields that may legitimately be negative (`normal` mean, `lognormal` mu).
const SIGNED_FIELDS: [&str; 2] = ["mean", "mu"];

/// Absolute tolerance of the slow-tail integral (the integrand is a CDF in [0, 1]).
const TAIL_TOLERANCE: f64 = 1e-9;

/// Tolerance of the mean integral, relative to the integration range.
const MEAN_TOLERANCE: f64 = 1e-8;

/// Equal panels each integration piece starts with before adaptive refinement.
const PANELS: usize = 16;

/// Maximum bisection depth of adaptive Simpson refinement.
const MAX_DEPTH: u32 = 40;

/// Which latency model a [`LatencySpec`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
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
    /// Empirical: quantile function linear between `p0, p50, p90, p99, p999, p100`.
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
    fn takes(self) -> &'static str {
        match self {
            Self::Fixed => "ms",
            Self::Uniform => "min, max",
            Self::Normal => "mean, sd",
            Self::Lognormal => "median, p99 or mu, sigma",
            Self::Exponential => "mean",
            Self::Pareto => "scale, shape",
            Self::Percentiles => "p50, p90, p99, p999, optional p0, p100",
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

    /// Check the spec and precompute everything sampling needs.
    ///
    /// Rejects fields that do not apply to the model, missing fields,
    /// non-finite or negative values, inconsistent bounds and malformed slow
    /// tails, naming the offending field.
    pub fn validate(&self) -> Result<Latency, SpecError> {
        self.check_applicable()?;
        self.check_numbers()?;
        let base = self.base()?;
        let clamp = self.clamp()?;
        let tail = self.slow_tail.as_ref().map(SlowTail::new).transpose()?;
        let breaks = base.breaks();
        Ok(Latency {
            base,
            clamp,
            tail,
            breaks,
        })
    }

    /// Every numeric field with its name, in declaration order.
    fn numeric_fields(&self) -> [(&'static str, Option<f64>); 18] {
        [
            ("ms", self.ms),
            ("min", self.min),
            ("max", self.max),
            ("mean", self.mean),
            ("sd", self.sd),
            ("median", self.median),
            ("p99", self.p99),
            ("mu", self.mu),
            ("sigma", self.sigma),
            ("scale", self.scale),
            ("shape", self.shape),
            ("p0", self.p0),
            ("p50", self.p50),
            ("p90", self.p90),
            ("p999", self.p999),
            ("p100", self.p100),
            ("min_ms", self.min_ms),
            ("max_ms", self.max_ms),
        ]
    }

    /// Reject model-specific fields given for a model that does not take them.
    fn check_applicable(&self) -> Result<(), SpecError> {
        let takes = self.model.fields();
        let stray = self.numeric_fields().into_iter().find(|(field, value)| {
            value.is_some() && !takes.contains(field) && !CLAMP_FIELDS.contains(field)
        });
        match stray {
            Some((field, _)) => Err(SpecError::new(
                field,
                format!(
                    "does not apply to model `{}` (it takes: {})",
                    self.model,
                    self.model.takes()
                ),
            )),
            None => Ok(()),
        }
    }

    /// Reject non-finite values, and negative ones where a sign is meaningless.
    fn check_numbers(&self) -> Result<(), SpecError> {
        for (field, value) in self.numeric_fields() {
            let Some(v) = value else { continue };
            if !v.is_finite() {
                return Err(SpecError::new(
                    field,
                    format!("must be a finite number, got {v}"),
                ));
            }
            if v < 0.0 && !SIGNED_FIELDS.contains(&field) {
                return Err(SpecError::new(field, format!("must be >= 0, got {v}")));
            }
        }
        Ok(())
    }

    /// The value of a field the model requires.
    fn need(&self, field: &'static str, value: Option<f64>) -> Result<f64, SpecError> {
        value.ok_or_else(|| SpecError::new(field, format!("{} needs `{field}`", self.model)))
    }

    /// Build the base model's precomputed form.
    fn base(&self) -> Result<Base, SpecError> {
        match self.model {
            LatencyKind::Fixed => Ok(Base::Fixed(self.need("ms", self.ms)?)),
            LatencyKind::Uniform => self.uniform_base(),
            LatencyKind::Normal => self.normal_base(),
            LatencyKind::Lognormal => self.lognormal_base(),
            LatencyKind::Exponential => {
                let mean = positive("mean", self.need("mean", self.mean)?)?;
                let dist =
                    Exp::new(1.0 / mean).map_err(|e| SpecError::new("mean", e.to_string()))?;
                Ok(Base::Exponential { mean, dist })
            }
            LatencyKind::Pareto => {
                let scale = positive("scale", self.need("scale", self.scale)?)?;
                let shape = positive("shape", self.need("shape", self.shape)?)?;
                let dist = Pareto::new(scale, shape)
                    .map_err(|e| SpecError::new("shape", e.to_string()))?;
                Ok(Base::Pareto { scale, shape, dist })
            }
            LatencyKind::Percentiles => self.percentiles_base(),
        }
    }

    fn uniform_base(&self) -> Result<Base, SpecError> {
        let min = self.need("min", self.min)?;
        let max = self.need("max", self.max)?;
        if min > max {
            return Err(SpecError::new(
                "min",
                format!("must be <= max ({max} ms), got {min}"),
            ));
        }
        Ok(Base::Uniform { min, max })
    }

    fn normal_base(&self) -> Result<Base, SpecError> {
        let mean = self.need("mean", self.mean)?;
        let sd = positive("sd", self.need("sd", self.sd)?)?;
        if mean < -MAX_TRUNCATION_SDS * sd {
            return Err(SpecError::new(
                "mean",
                format!(
                    "must be >= -{MAX_TRUNCATION_SDS} × sd ({} ms), got {mean}: below that \
                     most of the bell is cut off at 0; use `exponential` or `lognormal` \
                     for latencies near 0",
                    -MAX_TRUNCATION_SDS * sd
                ),
            ));
        }
        let dist = Normal::new(mean, sd).map_err(|e| SpecError::new("sd", e.to_string()))?;
        Ok(Base::Normal { mean, sd, dist })
    }

    fn lognormal_base(&self) -> Result<Base, SpecError> {
        let by_quantiles = self.median.is_some() || self.p99.is_some();
        let by_params = self.mu.is_some() || self.sigma.is_some();
        let (mu, sigma, given) = match (by_quantiles, by_params) {
            (true, true) => {
                let field = if self.mu.is_some() { "mu" } else { "sigma" };
                return Err(SpecError::new(
                    field,
                    "lognormal takes either `median` + `p99` or `mu` + `sigma`, not both",
                ));
            }
            (true, false) => self.lognormal_from_quantiles()?,
            (false, true) => self.lognormal_from_params()?,
            (false, false) => {
                return Err(SpecError::new(
                    "median",
                    "lognormal needs either `median` and `p99`, or `mu` and `sigma`",
                ));
            }
        };
        let dist = LogNormal::new(mu, sigma).map_err(|e| SpecError::new("sigma", e.to_string()))?;
        Ok(Base::LogNormal {
            mu,
            sigma,
            given,
            dist,
        })
    }

    fn lognormal_from_quantiles(&self) -> Result<(f64, f64, LogGiven), SpecError> {
        let (median, p99) = both(("median", self.median), ("p99", self.p99))?;
        let median = positive("median", median)?;
        if p99 <= median {
            return Err(SpecError::new(
                "p99",
                format!("must be > median ({median} ms), got {p99}"),
            ));
        }
        let mu = median.ln();
        let sigma = (p99.ln() - mu) / Z_99;
        Ok((mu, sigma, LogGiven::Quantiles { median, p99 }))
    }

    fn lognormal_from_params(&self) -> Result<(f64, f64, LogGiven), SpecError> {
        let (mu, sigma) = both(("mu", self.mu), ("sigma", self.sigma))?;
        Ok((mu, positive("sigma", sigma)?, LogGiven::Params))
    }

    fn percentiles_base(&self) -> Result<Base, SpecError> {
        let p50 = self.need("p50", self.p50)?;
        let p90 = self.need("p90", self.p90)?;
        let p99 = self.need("p99", self.p99)?;
        let p999 = self.need("p999", self.p999)?;
        let p0 = self.p0.unwrap_or(0.0);
        let p100 = self.p100.unwrap_or(p999 + (p999 - p99));
        let values = [p0, p50, p90, p99, p999, p100];
        for (i, pair) in values.windows(2).enumerate() {
            if pair[1] < pair[0] {
                return Err(SpecError::new(
                    KNOT_NAMES[i + 1],
                    format!(
                        "must be >= {} ({} ms), got {}: percentile points must be non-decreasing",
                        KNOT_NAMES[i], pair[0], pair[1]
                    ),
                ));
            }
        }
        Ok(Base::Percentiles(Knots { values }))
    }

    fn clamp(&self) -> Result<Clamp, SpecError> {
        if let (Some(lo), Some(hi)) = (self.min_ms, self.max_ms) {
            if lo > hi {
                return Err(SpecError::new(
                    "min_ms",
                    format!("must be <= max_ms ({hi} ms), got {lo}"),
                ));
            }
        }
        Ok(Clamp {
            min: self.min_ms,
            max: self.max_ms,
        })
    }
}

/// Both halves of a two-field form, or an error naming the missing half.
fn both(a: (&str, Option<f64>), b: (&str, Option<f64>)) -> Result<(f64, f64), SpecError> {
    match (a.1, b.1) {
        (Some(x), Some(y)) => Ok((x, y)),
        (Some(_), None) => Err(SpecError::new(
            b.0,
            format!("lognormal with `{}` also needs `{}`", a.0, b.0),
        )),
        (None, _) => Err(SpecError::new(
            a.0,
            format!("lognormal with `{}` also needs `{}`", b.0, a.0),
        )),
    }
}

/// `value` if it is strictly positive, else an error about `field`.
fn positive(field: &str, value: f64) -> Result<f64, SpecError> {
    if value > 0.0 {
        Ok(value)
    } else {
        Err(SpecError::new(field, format!("must be > 0, got {value}")))
    }
}

/// A validated latency model, ready to sample without any per-request
/// parsing. Build it with [`LatencySpec::validate`].
#[derive(Debug, Clone)]
pub struct Latency {
    base: Base,
    clamp: Clamp,
    tail: Option<SlowTail>,
    /// Points where the base CDF jumps or has a kink (for exact integration).
    breaks: Vec<f64>,
}

impl Latency {
    /// Draw one latency in milliseconds (>= 0, finite, clamps applied).
    pub fn sample_ms<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let mut ms = self.base.sample(rng);
        if let Some(tail) = &self.tail {
            ms = tail.apply(ms, rng);
        }
        let ms = self.clamp.apply(ms);
        // Only reachable with absurd parameters (e.g. lognormal mu = 700).
        if ms.is_finite() { ms } else { f64::MAX }
    }

    /// Exact CDF, P(sample_ms() <= ms), of what [`Latency::sample_ms`]
    /// produces: truncation, slow-tail mixture (integrated numerically over
    /// the uniform multiplier, error < 1e-8) and clamps as point masses.
    pub fn cdf(&self, ms: f64) -> f64 {
        if ms.is_nan() {
            return f64::NAN;
        }
        if self.clamp.min.is_some_and(|lo| ms < lo) {
            return 0.0;
        }
        if self.clamp.max.is_some_and(|hi| ms >= hi) {
            return 1.0;
        }
        self.unclamped_cdf(ms)
    }

    /// Mean in milliseconds, if finite (`None` e.g. for an unclamped pareto
    /// with shape <= 1). Closed form where possible, numerical integration of
    /// the CDF when an upper clamp or a lower clamp is involved.
    pub fn mean_ms(&self) -> Option<f64> {
        let lo = self.clamp.min.unwrap_or(0.0);
        let breaks = self.unclamped_breaks();
        let mean = match self.clamp.max {
            // E[Y] = lo + ∫_lo^hi P(Z > y) dy.
            Some(hi) => {
                let tol = MEAN_TOLERANCE * (hi - lo);
                lo + integrate(&|y| 1.0 - self.unclamped_cdf(y), lo, hi, &breaks, tol)
            }
            // E[max(Z, lo)] = E[Z] + ∫_0^lo P(Z <= y) dy.
            None => {
                let factor = self.tail.as_ref().map_or(1.0, SlowTail::mean_factor);
                let tol = MEAN_TOLERANCE * lo;
                self.base.mean()? * factor
                    + integrate(&|y| self.unclamped_cdf(y), 0.0, lo, &breaks, tol)
            }
        };
        Some(mean).filter(|m| m.is_finite())
    }

    /// A short human description, e.g. `lognormal(median 300 ms, p99 1800
    /// ms), clamped [100, 2000] ms, 10 % slow tail ×[2, 4]`.
    pub fn describe(&self) -> String {
        let mut out = self.base.describe();
        if let Some(clamp) = self.clamp.describe() {
            out.push_str(", ");
            out.push_str(&clamp);
        }
        if let Some(tail) = &self.tail {
            out.push_str(&format!(
                ", {} % slow tail ×[{}, {}]",
                num(tail.probability * 100.0),
                num(tail.lo),
                num(tail.hi)
            ));
        }
        out
    }

    /// CDF before the clamp: base model mixed with the slow tail.
    fn unclamped_cdf(&self, z: f64) -> f64 {
        match &self.tail {
            None => self.base.cdf(z),
            Some(t) => {
                let slow = t.mixed_cdf(z, &|x| self.base.cdf(x), &self.breaks);
                (1.0 - t.probability) * self.base.cdf(z) + t.probability * slow
            }
        }
    }

    /// Points where the unclamped CDF may jump or kink.
    fn unclamped_breaks(&self) -> Vec<f64> {
        let mut out = self.breaks.clone();
        if let Some(t) = &self.tail {
            out.extend(self.breaks.iter().flat_map(|b| [b * t.lo, b * t.hi]));
        }
        out
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// How a lognormal was specified, kept for [`Latency::describe`].
#[derive(Debug, Clone, Copy)]
enum LogGiven {
    Quantiles { median: f64, p99: f64 },
    Params,
}

/// A base model with precomputed parameters.
#[derive(Debug, Clone)]
enum Base {
    Fixed(f64),
    Uniform {
        min: f64,
        max: f64,
    },
    /// Normal truncated at 0.
    Normal {
        mean: f64,
        sd: f64,
        dist: Normal<f64>,
    },
    LogNormal {
        mu: f64,
        sigma: f64,
        given: LogGiven,
        dist: LogNormal<f64>,
    },
    Exponential {
        mean: f64,
        dist: Exp<f64>,
    },
    Pareto {
        scale: f64,
        shape: f64,
        dist: Pareto<f64>,
    },
    Percentiles(Knots),
}

impl Base {
    fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Self::Fixed(ms) => *ms,
            Self::Uniform { min, max } => min + (max - min) * rng.random::<f64>(),
            Self::Normal { dist, .. } => sample_truncated(dist, rng),
            Self::LogNormal { dist, .. } => dist.sample(rng),
            Self::Exponential { dist, .. } => dist.sample(rng),
            Self::Pareto { dist, .. } => dist.sample(rng),
            Self::Percentiles(knots) => knots.quantile(rng.random::<f64>()),
        }
    }

    fn cdf(&self, x: f64) -> f64 {
        match *self {
            Self::Fixed(ms) => f64::from(u8::from(x >= ms)),
            Self::Uniform { min, .. } if x < min => 0.0,
            Self::Uniform { max, .. } if x >= max => 1.0,
            Self::Uniform { min, max } => (x - min) / (max - min),
            Self::Normal { .. } if x < 0.0 => 0.0,
            Self::Normal { mean, sd, .. } => 1.0 - phi((mean - x) / sd) / phi(mean / sd),
            Self::LogNormal { .. } if x <= 0.0 => 0.0,
            Self::LogNormal { mu, sigma, .. } => phi((x.ln() - mu) / sigma),
            Self::Exponential { .. } if x < 0.0 => 0.0,
            Self::Exponential { mean, .. } => -(-x / mean).exp_m1(),
            Self::Pareto { scale, .. } if x < scale => 0.0,
            Self::Pareto { scale, shape, .. } => 1.0 - (scale / x).powf(shape),
            Self::Percentiles(ref knots) => knots.cdf(x),
        }
    }

    /// Mean, if finite.
    fn mean(&self) -> Option<f64> {
        let mean = match *self {
            Self::Fixed(ms) => ms,
            Self::Uniform { min, max } => 0.5 * (min + max),
            Self::Normal { mean, sd, .. } => {
                let alpha = -mean / sd;
                let pdf = (-0.5 * alpha * alpha).exp() / (2.0 * PI).sqrt();
                mean + sd * pdf / phi(mean / sd)
            }
            Self::LogNormal { mu, sigma, .. } => (mu + 0.5 * sigma * sigma).exp(),
            Self::Exponential { mean, .. } => mean,
            Self::Pareto { shape, .. } if shape <= 1.0 => return None,
            Self::Pareto { scale, shape, .. } => shape * scale / (shape - 1.0),
            Self::Percentiles(ref knots) => knots.mean(),
        };
        Some(mean).filter(|m| m.is_finite())
    }

    /// Points where the CDF jumps or has a kink.
    fn breaks(&self) -> Vec<f64> {
        match self {
            Self::Fixed(ms) => vec![*ms],
            Self::Uniform { min, max } => vec![*min, *max],
            Self::Pareto { scale, .. } => vec![*scale],
            Self::Percentiles(knots) => knots.values.to_vec(),
            Self::Normal { .. } | Self::LogNormal { .. } | Self::Exponential { .. } => Vec::new(),
        }
    }

    fn describe(&self) -> String {
        match *self {
            Self::Fixed(ms) => format!("fixed {} ms", num(ms)),
            Self::Uniform { min, max } => format!("uniform [{}, {}] ms", num(min), num(max)),
            Self::Normal { mean, sd, .. } => format!(
                "normal(mean {} ms, sd {} ms) truncated at 0",
                num(mean),
                num(sd)
            ),
            Self::LogNormal {
                given: LogGiven::Quantiles { median, p99 },
                ..
            } => format!("lognormal(median {} ms, p99 {} ms)", num(median), num(p99)),
            Self::LogNormal { mu, sigma, .. } => {
                format!("lognormal(mu {}, sigma {} of ln ms)", num(mu), num(sigma))
            }
            Self::Exponential { mean, .. } => format!("exponential(mean {} ms)", num(mean)),
            Self::Pareto { scale, shape, .. } => {
                format!("pareto(scale {} ms, shape {})", num(scale), num(shape))
            }
            Self::Percentiles(ref knots) => knots.describe(),
        }
    }
}

/// Draw from a normal truncated at 0 by rejecting negative draws.
fn sample_truncated<R: Rng + ?Sized>(dist: &Normal<f64>, rng: &mut R) -> f64 {
    for _ in 0..MAX_NORMAL_ATTEMPTS {
        let x = dist.sample(rng);
        if x >= 0.0 {
            return x;
        }
    }
    // Probability < 1e-40 per draw given the validation bound on mean / sd.
    0.0
}

/// Standard normal CDF Φ(t), accurate in both tails.
fn phi(t: f64) -> f64 {
    0.5 * libm::erfc(-t / SQRT_2)
}

/// The `percentiles` model: a quantile function linear between the knots.
#[derive(Debug, Clone, Copy)]
struct Knots {
    /// Values at [`KNOT_PROBS`], non-decreasing.
    values: [f64; 6],
}

impl Knots {
    /// Inverse CDF at `u` in [0, 1].
    fn quantile(&self, u: f64) -> f64 {
        let seg = KNOT_PROBS[1..5].iter().position(|&p| u < p).unwrap_or(4);
        let (p0, p1) = (KNOT_PROBS[seg], KNOT_PROBS[seg + 1]);
        let (v0, v1) = (self.values[seg], self.values[seg + 1]);
        v0 + (u - p0) / (p1 - p0) * (v1 - v0)
    }

    /// CDF; equal consecutive knots are point masses.
    fn cdf(&self, x: f64) -> f64 {
        if x < self.values[0] {
            return 0.0;
        }
        if x >= self.values[5] {
            return 1.0;
        }
        // Last knot <= x; it is below index 5 and the next knot is > x.
        let seg = self.values.iter().rposition(|&v| v <= x).unwrap_or(0);
        let (p0, p1) = (KNOT_PROBS[seg], KNOT_PROBS[seg + 1]);
        let (v0, v1) = (self.values[seg], self.values[seg + 1]);
        p0 + (x - v0) / (v1 - v0) * (p1 - p0)
    }

    fn mean(&self) -> f64 {
        KNOT_PROBS
            .windows(2)
            .zip(self.values.windows(2))
            .map(|(p, v)| (p[1] - p[0]) * 0.5 * (v[0] + v[1]))
            .sum()
    }

    fn describe(&self) -> String {
        let points: Vec<String> = KNOT_NAMES
            .iter()
            .zip(self.values)
            .map(|(name, v)| format!("{name} {}", num(v)))
            .collect();
        format!("percentiles({}) ms", points.join(", "))
    }
}

/// Validated slow tail.
#[derive(Debug, Clone, Copy)]
struct SlowTail {
    probability: f64,
    lo: f64,
    hi: f64,
}

impl SlowTail {
    fn new(spec: &SlowTailSpec) -> Result<Self, SpecError> {
        let p = spec.probability;
        if !(0.0..=1.0).contains(&p) {
            return Err(SpecError::new(
                "slow_tail.probability",
                format!("must be within [0, 1], got {p}"),
            ));
        }
        let [lo, hi] = spec.multiplier;
        let problem = if !lo.is_finite() || !hi.is_finite() {
            Some(format!("bounds must be finite numbers, got [{lo}, {hi}]"))
        } else if lo < 0.0 {
            Some(format!("lower bound must be >= 0, got {lo}"))
        } else if lo > hi {
            Some(format!("lower bound {lo} must be <= upper bound {hi}"))
        } else {
            None
        };
        match problem {
            Some(reason) => Err(SpecError::new("slow_tail.multiplier", reason)),
            None => Ok(Self {
                probability: p,
                lo,
                hi,
            }),
        }
    }

    fn apply<R: Rng + ?Sized>(&self, ms: f64, rng: &mut R) -> f64 {
        if rng.random::<f64>() < self.probability {
            ms * (self.lo + (self.hi - self.lo) * rng.random::<f64>())
        } else {
            ms
        }
    }

    /// E[factor] applied to the mean by the tail.
    fn mean_factor(&self) -> f64 {
        1.0 - self.probability + self.probability * 0.5 * (self.lo + self.hi)
    }

    /// P(M·X <= z) for M ~ U(lo, hi), given X's CDF and its breakpoints.
    fn mixed_cdf(&self, z: f64, base_cdf: &dyn Fn(f64) -> f64, base_breaks: &[f64]) -> f64 {
        let given_m = |m: f64| {
            if m > 0.0 {
                base_cdf(z / m)
            } else {
                f64::from(u8::from(z >= 0.0))
            }
        };
        if self.hi <= self.lo {
            return given_m(self.lo);
        }
        // The integrand jumps or kinks where z / m crosses a base breakpoint.
        let breaks: Vec<f64> = base_breaks
            .iter()
            .filter(|&&b| b > 0.0)
            .map(|b| z / b)
            .collect();
        let width = self.hi - self.lo;
        integrate(&given_m, self.lo, self.hi, &breaks, TAIL_TOLERANCE * width) / width
    }
}

/// The final clamp.
#[derive(Debug, Clone, Copy)]
struct Clamp {
    min: Option<f64>,
    max: Option<f64>,
}

impl Clamp {
    fn apply(self, ms: f64) -> f64 {
        let ms = self.min.map_or(ms, |lo| ms.max(lo));
        self.max.map_or(ms, |hi| ms.min(hi))
    }

    fn describe(self) -> Option<String> {
        match (self.min, self.max) {
            (Some(lo), Some(hi)) => Some(format!("clamped [{}, {}] ms", num(lo), num(hi))),
            (Some(lo), None) => Some(format!("clamped >= {} ms", num(lo))),
            (None, Some(hi)) => Some(format!("clamped <= {} ms", num(hi))),
            (None, None) => None,
        }
    }
}

/// A number for humans: at most 4 decimals, no trailing zeros.
fn num(x: f64) -> String {
    if x.abs() >= 1e12 {
        return format!("{x:e}");
    }
    let rounded = (x * 1e4).round() / 1e4;
    format!("{}", rounded + 0.0)
}

/// ∫_a^b f, split at `breaks` (where `f` may jump or kink), each piece by
/// adaptive Simpson. Piece ends are evaluated just inside the piece so a jump
/// exactly at a break is attributed to the correct side. `tol` is absolute.
fn integrate(f: &dyn Fn(f64) -> f64, a: f64, b: f64, breaks: &[f64], tol: f64) -> f64 {
    if b <= a {
        return 0.0;
    }
    let mut points: Vec<f64> = breaks.iter().copied().filter(|&x| x > a && x < b).collect();
    points.extend([a, b]);
    points.sort_by(f64::total_cmp);
    points.dedup();
    points
        .windows(2)
        .map(|w| integrate_piece(f, w[0], w[1], tol * (w[1] - w[0]) / (b - a)))
        .sum()
}

/// ∫_a^b f for an `f` smooth inside (a, b), from [`PANELS`] adaptive panels.
fn integrate_piece(f: &dyn Fn(f64) -> f64, a: f64, b: f64, tol: f64) -> f64 {
    let nudge = (b - a) * 1e-12;
    let h = (b - a) / PANELS as f64;
    let at = |i: usize| if i == PANELS { b } else { a + h * i as f64 };
    let value = |i: usize| match i {
        0 => f(a + nudge),
        _ if i == PANELS => f(b - nudge),
        _ => f(at(i)),
    };
    let mut left = value(0);
    let mut total = 0.0;
    for i in 0..PANELS {
        let right = value(i + 1);
        let panel = Panel::new(f, at(i), at(i + 1), left, right);
        total += adaptive_simpson(f, &panel, tol / PANELS as f64, MAX_DEPTH);
        left = right;
    }
    total
}

/// One Simpson panel: ends, midpoint value and its Simpson estimate.
struct Panel {
    a: f64,
    b: f64,
    fa: f64,
    fm: f64,
    fb: f64,
    whole: f64,
}

impl Panel {
    fn new(f: &dyn Fn(f64) -> f64, a: f64, b: f64, fa: f64, fb: f64) -> Self {
        let fm = f(0.5 * (a + b));
        let whole = (b - a) / 6.0 * (fa + 4.0 * fm + fb);
        Self {
            a,
            b,
            fa,
            fm,
            fb,
            whole,
        }
    }
}

/// Adaptive Simpson with Richardson correction.
fn adaptive_simpson(f: &dyn Fn(f64) -> f64, p: &Panel, tol: f64, depth: u32) -> f64 {
    let m = 0.5 * (p.a + p.b);
    let left = Panel::new(f, p.a, m, p.fa, p.fm);
    let right = Panel::new(f, m, p.b, p.fm, p.fb);
    let delta = left.whole + right.whole - p.whole;
    if depth == 0 || delta.abs() <= 15.0 * tol {
        return left.whole + right.whole + delta / 15.0;
    }
    adaptive_simpson(f, &left, 0.5 * tol, depth - 1)
        + adaptive_simpson(f, &right, 0.5 * tol, depth - 1)
}

/// The largest float below `x` (`f64::next_down`, which needs Rust 1.86).
fn next_down(x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY {
        return x;
    }
    if x == 0.0 {
        return -f64::from_bits(1);
    }
    let bits = x.to_bits();
    f64::from_bits(if x > 0.0 { bits - 1 } else { bits + 1 })
}

/// Kolmogorov–Smirnov statistic D = sup_x |F_n(x) - F(x)| of `samples`
/// (sorted in place) against `cdf`.
///
/// Correct for CDFs with jumps (clamps, fixed latencies): at each distinct
/// sample value v it compares both F_n(v-) with F(v-) and F_n(v) with F(v),
/// taking F(v-) as `cdf` at the float just below v. Between sample values
/// F_n is constant and F monotone, so these endpoints attain the supremum.
#[allow(
    dead_code,
    reason = "reused by the KS benchmark; unused until it lands"
)]
pub(crate) fn ks_statistic(samples: &mut [f64], cdf: impl Fn(f64) -> f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    let n = samples.len() as f64;
    let mut d: f64 = 0.0;
    let mut i = 0;
    while i < samples.len() {
        let v = samples[i];
        let j = samples[i + 1..]
            .iter()
            .position(|&s| s != v)
            .map_or(samples.len(), |k| i + 1 + k);
        let below = (i as f64 / n - cdf(next_down(v))).abs();
        let at = (j as f64 / n - cdf(v)).abs();
        d = d.max(below).max(at);
        i = j;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    const N: usize = 20_000;
    /// DKW confidence level for the quantile checks.
    const ALPHA: f64 = 1e-3;

    fn spec(model: LatencyKind, fields: &[(&str, f64)]) -> LatencySpec {
        let mut s = LatencySpec::bare(model);
        for &(name, v) in fields {
            let slot = match name {
                "ms" => &mut s.ms,
                "min" => &mut s.min,
                "max" => &mut s.max,
                "mean" => &mut s.mean,
                "sd" => &mut s.sd,
                "median" => &mut s.median,
                "p99" => &mut s.p99,
                "mu" => &mut s.mu,
                "sigma" => &mut s.sigma,
                "scale" => &mut s.scale,
                "shape" => &mut s.shape,
                "p0" => &mut s.p0,
                "p50" => &mut s.p50,
                "p90" => &mut s.p90,
                "p999" => &mut s.p999,
                "p100" => &mut s.p100,
                "min_ms" => &mut s.min_ms,
                "max_ms" => &mut s.max_ms,
                other => panic!("unknown test field {other}"),
            };
            *slot = Some(v);
        }
        s
    }

    fn with_tail(mut s: LatencySpec, probability: f64, multiplier: [f64; 2]) -> LatencySpec {
        s.slow_tail = Some(SlowTailSpec {
            probability,
            multiplier,
        });
        s
    }

    fn lognormal_300_1800() -> LatencySpec {
        spec(
            LatencyKind::Lognormal,
            &[("median", 300.0), ("p99", 1800.0)],
        )
    }

    fn percentiles() -> LatencySpec {
        let knots = [
            ("p50", 300.0),
            ("p90", 600.0),
            ("p99", 1200.0),
            ("p999", 3000.0),
        ];
        spec(LatencyKind::Percentiles, &knots)
    }

    /// KS, mean and quantile checks of `n` seeded draws against the model.
    fn check_distribution(s: &LatencySpec, seed: u64) {
        let lat = s.validate().expect("test spec is valid");
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut xs: Vec<f64> = (0..N).map(|_| lat.sample_ms(&mut rng)).collect();
        assert!(xs.iter().all(|x| x.is_finite() && *x >= 0.0), "{lat}");
        if let Some(lo) = s.min_ms {
            assert!(xs.iter().all(|&x| x >= lo), "{lat}: below min_ms");
        }
        if let Some(hi) = s.max_ms {
            assert!(xs.iter().all(|&x| x <= hi), "{lat}: above max_ms");
        }
        let n = N as f64;

        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let truth = lat.mean_ms().expect("finite mean");
        let tol = 5.0 * var.sqrt() / n.sqrt() + 1e-9 * truth.abs();
        assert!(
            (mean - truth).abs() <= tol,
            "{lat}: mean {mean} vs {truth} ± {tol}"
        );

        let d = ks_statistic(&mut xs, |x| lat.cdf(x));
        let critical = 1.628 / n.sqrt();
        assert!(d < critical, "{lat}: KS D = {d} >= {critical}");

        // xs is sorted now. DKW: |F_n - F| <= eps everywhere w.p. 1 - ALPHA.
        let eps = ((2.0 / ALPHA).ln() / (2.0 * n)).sqrt();
        for p in [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99] {
            let q = xs[((p * n).ceil() as usize).saturating_sub(1)];
            let (below, at) = (lat.cdf(next_down(q)), lat.cdf(q));
            assert!(
                below <= p + eps && at >= p - eps,
                "{lat}: empirical q{p} = {q} has F(q-) = {below}, F(q) = {at} (eps {eps})"
            );
        }
    }

    #[test]
    fn fixed_matches_model() {
        check_distribution(&LatencySpec::fixed(250.0), 1);
    }

    #[test]
    fn uniform_matches_model() {
        check_distribution(&LatencySpec::uniform(200.0, 500.0), 2);
    }

    #[test]
    fn normal_matches_model() {
        check_distribution(
            &spec(LatencyKind::Normal, &[("mean", 300.0), ("sd", 80.0)]),
            3,
        );
    }

    #[test]
    fn heavily_truncated_normal_matches_model() {
        // 79 % of the untruncated bell is below 0 and must be resampled.
        check_distribution(
            &spec(LatencyKind::Normal, &[("mean", -40.0), ("sd", 50.0)]),
            4,
        );
    }

    #[test]
    fn lognormal_from_median_p99_matches_model() {
        check_distribution(&lognormal_300_1800(), 5);
    }

    #[test]
    fn lognormal_from_mu_sigma_matches_model() {
        check_distribution(
            &spec(LatencyKind::Lognormal, &[("mu", 5.0), ("sigma", 0.5)]),
            6,
        );
    }

    #[test]
    fn exponential_matches_model() {
        check_distribution(&spec(LatencyKind::Exponential, &[("mean", 200.0)]), 7);
    }

    #[test]
    fn pareto_matches_model() {
        check_distribution(
            &spec(LatencyKind::Pareto, &[("scale", 100.0), ("shape", 3.0)]),
            8,
        );
    }

    #[test]
    fn infinite_mean_pareto_clamped_matches_model() {
        let s = spec(
            LatencyKind::Pareto,
            &[("scale", 100.0), ("shape", 0.8), ("max_ms", 5000.0)],
        );
        check_distribution(&s, 9);
    }

    #[test]
    fn percentiles_matches_model() {
        check_distribution(&percentiles(), 10);
    }

    #[test]
    fn percentiles_with_tied_points_matches_model() {
        // p50 == p90: a 40 % point mass at 300 ms.
        let knots = [
            ("p50", 300.0),
            ("p90", 300.0),
            ("p99", 900.0),
            ("p999", 1000.0),
        ];
        check_distribution(&spec(LatencyKind::Percentiles, &knots), 11);
    }

    #[test]
    fn clamped_lognormal_with_slow_tail_matches_model() {
        let mut s = with_tail(lognormal_300_1800(), 0.1, [2.0, 4.0]);
        s.min_ms = Some(150.0);
        s.max_ms = Some(2000.0);
        check_distribution(&s, 12);
    }

    #[test]
    fn fixed_with_slow_tail_matches_model() {
        check_distribution(&with_tail(LatencySpec::fixed(100.0), 0.3, [2.0, 4.0]), 13);
    }

    #[test]
    fn percentiles_with_slow_tail_matches_model() {
        check_distribution(&with_tail(percentiles(), 0.2, [1.5, 3.0]), 14);
    }

    #[test]
    fn lognormal_hits_its_median_and_p99() {
        let lat = lognormal_300_1800().validate().expect("valid");
        assert!((lat.cdf(300.0) - 0.5).abs() < 1e-12);
        assert!((lat.cdf(1800.0) - 0.99).abs() < 1e-12);
    }

    #[test]
    fn percentile_cdf_passes_through_the_points() {
        let lat = percentiles().validate().expect("valid");
        // p0 defaults to 0, p100 to p999 + (p999 - p99) = 4800.
        for (x, p) in [
            (0.0, 0.0),
            (300.0, 0.5),
            (600.0, 0.9),
            (1200.0, 0.99),
            (3000.0, 0.999),
        ] {
            assert!((lat.cdf(x) - p).abs() < 1e-12, "cdf({x})");
        }
        assert!(lat.cdf(4799.0) < 1.0);
        assert_eq!(lat.cdf(4800.0), 1.0);
        assert!((lat.cdf(450.0) - 0.7).abs() < 1e-12);
    }

    #[test]
    fn truncated_normal_has_no_mass_below_zero() {
        let lat = spec(LatencyKind::Normal, &[("mean", 0.0), ("sd", 10.0)])
            .validate()
            .expect("valid");
        assert_eq!(lat.cdf(0.0), 0.0);
        assert_eq!(lat.cdf(-1.0), 0.0);
        // Half-normal: mean = sd * sqrt(2 / pi).
        let mean = lat.mean_ms().expect("finite");
        assert!((mean - 10.0 * (2.0 / PI).sqrt()).abs() < 1e-9);
    }

    #[test]
    fn clamps_are_point_masses() {
        let mut s = lognormal_300_1800();
        s.min_ms = Some(150.0);
        s.max_ms = Some(2000.0);
        let lat = s.validate().expect("valid");
        let unclamped = lognormal_300_1800().validate().expect("valid");
        assert_eq!(lat.cdf(next_down(150.0)), 0.0);
        assert!((lat.cdf(150.0) - unclamped.cdf(150.0)).abs() < 1e-15);
        assert!(lat.cdf(next_down(2000.0)) < 1.0);
        assert_eq!(lat.cdf(2000.0), 1.0);
    }

    #[test]
    fn mean_ms_closed_forms() {
        let mean = |s: LatencySpec| s.validate().expect("valid").mean_ms();
        assert_eq!(mean(LatencySpec::uniform(200.0, 500.0)), Some(350.0));
        assert_eq!(
            mean(spec(LatencyKind::Exponential, &[("mean", 200.0)])),
            Some(200.0)
        );
        let pareto = |shape| spec(LatencyKind::Pareto, &[("scale", 100.0), ("shape", shape)]);
        assert_eq!(mean(pareto(3.0)), Some(150.0));
        assert_eq!(mean(pareto(1.0)), None);
        let ln = mean(spec(LatencyKind::Lognormal, &[("mu", 5.0), ("sigma", 0.5)]));
        assert!((ln.expect("finite") - (5.125f64).exp()).abs() < 1e-9);
        // Percentiles: trapezoids between the knots.
        let expected = 0.5 * 150.0 + 0.4 * 450.0 + 0.09 * 900.0 + 0.009 * 2100.0 + 0.001 * 3900.0;
        assert!((mean(percentiles()).expect("finite") - expected).abs() < 1e-9);
    }

    #[test]
    fn mean_ms_through_clamps_and_tail_is_exact() {
        let close = |s: LatencySpec, want: f64| {
            let got = s.validate().expect("valid").mean_ms().expect("finite");
            assert!((got - want).abs() < 1e-6, "{s:?}: {got} vs {want}");
        };
        close(
            spec(LatencyKind::Fixed, &[("ms", 100.0), ("min_ms", 150.0)]),
            150.0,
        );
        close(
            spec(
                LatencyKind::Uniform,
                &[("min", 0.0), ("max", 100.0), ("max_ms", 50.0)],
            ),
            37.5,
        );
        let tailed = with_tail(LatencySpec::fixed(100.0), 0.5, [2.0, 4.0]);
        close(tailed.clone(), 200.0);
        // 100 w.p. 1/2, else U(200, 400) capped at 250: 50 + 0.5 (0.25·225 + 0.75·250).
        close(
            LatencySpec {
                max_ms: Some(250.0),
                ..tailed
            },
            171.875,
        );
    }

    #[test]
    fn default_and_constructors_are_valid() {
        let lat = LatencySpec::default().validate().expect("default is valid");
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(lat.sample_ms(&mut rng), 0.0);
        assert!(LatencySpec::uniform(1.0, 1.0).validate().is_ok());
        assert!(
            spec(LatencyKind::Normal, &[("mean", -100.0), ("sd", 50.0)])
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn validation_rejects_with_field() {
        use LatencyKind::*;
        let tail = |p, m| with_tail(LatencySpec::fixed(1.0), p, m);
        let cases: Vec<(&str, LatencySpec, &str)> = vec![
            ("missing ms", LatencySpec::bare(Fixed), "ms"),
            ("uniform missing max", spec(Uniform, &[("min", 1.0)]), "max"),
            (
                "sd on uniform",
                spec(Uniform, &[("min", 1.0), ("max", 2.0), ("sd", 3.0)]),
                "sd",
            ),
            (
                "ms on normal",
                spec(Normal, &[("ms", 1.0), ("mean", 1.0), ("sd", 1.0)]),
                "ms",
            ),
            (
                "p50 on lognormal",
                spec(Lognormal, &[("median", 1.0), ("p50", 2.0)]),
                "p50",
            ),
            ("negative ms", LatencySpec::fixed(-1.0), "ms"),
            ("nan ms", LatencySpec::fixed(f64::NAN), "ms"),
            (
                "infinite max",
                LatencySpec::uniform(1.0, f64::INFINITY),
                "max",
            ),
            ("min > max", LatencySpec::uniform(5.0, 2.0), "min"),
            ("normal missing sd", spec(Normal, &[("mean", 1.0)]), "sd"),
            ("sd zero", spec(Normal, &[("mean", 1.0), ("sd", 0.0)]), "sd"),
            (
                "mean < -2 sd",
                spec(Normal, &[("mean", -101.0), ("sd", 50.0)]),
                "mean",
            ),
            (
                "both forms",
                spec(
                    Lognormal,
                    &[("median", 1.0), ("p99", 2.0), ("mu", 0.0), ("sigma", 1.0)],
                ),
                "mu",
            ),
            ("median only", spec(Lognormal, &[("median", 300.0)]), "p99"),
            ("p99 only", spec(Lognormal, &[("p99", 300.0)]), "median"),
            ("mu only", spec(Lognormal, &[("mu", 5.0)]), "sigma"),
            ("sigma only", spec(Lognormal, &[("sigma", 1.0)]), "mu"),
            ("no lognormal form", LatencySpec::bare(Lognormal), "median"),
            (
                "p99 < median",
                spec(Lognormal, &[("median", 300.0), ("p99", 200.0)]),
                "p99",
            ),
            (
                "p99 == median",
                spec(Lognormal, &[("median", 300.0), ("p99", 300.0)]),
                "p99",
            ),
            (
                "median zero",
                spec(Lognormal, &[("median", 0.0), ("p99", 300.0)]),
                "median",
            ),
            (
                "sigma zero",
                spec(Lognormal, &[("mu", 5.0), ("sigma", 0.0)]),
                "sigma",
            ),
            (
                "negative sigma",
                spec(Lognormal, &[("mu", 5.0), ("sigma", -1.0)]),
                "sigma",
            ),
            ("exp mean zero", spec(Exponential, &[("mean", 0.0)]), "mean"),
            (
                "exp mean negative",
                spec(Exponential, &[("mean", -5.0)]),
                "mean",
            ),
            (
                "pareto scale zero",
                spec(Pareto, &[("scale", 0.0), ("shape", 2.0)]),
                "scale",
            ),
            (
                "pareto shape zero",
                spec(Pareto, &[("scale", 1.0), ("shape", 0.0)]),
                "shape",
            ),
            (
                "missing p999",
                spec(Percentiles, &[("p50", 1.0), ("p90", 2.0), ("p99", 3.0)]),
                "p999",
            ),
            (
                "p90 < p50",
                spec(
                    Percentiles,
                    &[("p50", 5.0), ("p90", 2.0), ("p99", 6.0), ("p999", 7.0)],
                ),
                "p90",
            ),
            (
                "p0 > p50",
                spec(
                    Percentiles,
                    &[
                        ("p0", 9.0),
                        ("p50", 5.0),
                        ("p90", 6.0),
                        ("p99", 7.0),
                        ("p999", 8.0),
                    ],
                ),
                "p50",
            ),
            (
                "p100 < p999",
                spec(
                    Percentiles,
                    &[
                        ("p50", 5.0),
                        ("p90", 6.0),
                        ("p99", 7.0),
                        ("p999", 8.0),
                        ("p100", 7.5),
                    ],
                ),
                "p100",
            ),
            (
                "min_ms > max_ms",
                spec(Fixed, &[("ms", 1.0), ("min_ms", 10.0), ("max_ms", 5.0)]),
                "min_ms",
            ),
            (
                "negative max_ms",
                spec(Fixed, &[("ms", 1.0), ("max_ms", -5.0)]),
                "max_ms",
            ),
            (
                "probability > 1",
                tail(1.5, [2.0, 4.0]),
                "slow_tail.probability",
            ),
            (
                "probability < 0",
                tail(-0.1, [2.0, 4.0]),
                "slow_tail.probability",
            ),
            (
                "probability nan",
                tail(f64::NAN, [2.0, 4.0]),
                "slow_tail.probability",
            ),
            (
                "multiplier lo > hi",
                tail(0.1, [4.0, 2.0]),
                "slow_tail.multiplier",
            ),
            (
                "multiplier lo < 0",
                tail(0.1, [-1.0, 2.0]),
                "slow_tail.multiplier",
            ),
            (
                "multiplier inf",
                tail(0.1, [1.0, f64::INFINITY]),
                "slow_tail.multiplier",
            ),
        ];
        for (name, s, field) in cases {
            let err = s.validate().expect_err(name);
            assert_eq!(err.field, field, "{name}: {err}");
            assert!(!err.reason.is_empty(), "{name}");
        }
    }

    #[test]
    fn validation_messages_are_human() {
        let err = |s: LatencySpec| s.validate().expect_err("invalid").to_string();
        assert_eq!(
            err(spec(LatencyKind::Uniform, &[("min", 1.0)])),
            "max: uniform needs `max`"
        );
        assert_eq!(
            err(spec(
                LatencyKind::Uniform,
                &[("min", 1.0), ("max", 2.0), ("sd", 3.0)]
            )),
            "sd: does not apply to model `uniform` (it takes: min, max)"
        );
        let e = LatencySpec::bare(LatencyKind::Fixed)
            .validate()
            .expect_err("invalid");
        assert_eq!(e.within("latency").field, "latency.ms");
    }

    #[test]
    fn describe_mentions_everything() {
        let mut s = with_tail(lognormal_300_1800(), 0.1, [2.0, 4.0]);
        s.min_ms = Some(100.0);
        s.max_ms = Some(2000.0);
        let lat = s.validate().expect("valid");
        assert_eq!(
            lat.to_string(),
            "lognormal(median 300 ms, p99 1800 ms), clamped [100, 2000] ms, 10 % slow tail ×[2, 4]"
        );
        assert_eq!(lat.describe(), lat.to_string());
        let p = percentiles().validate().expect("valid").describe();
        assert_eq!(
            p,
            "percentiles(p0 0, p50 300, p90 600, p99 1200, p999 3000, p100 4800) ms"
        );
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Profile {
        latency: LatencySpec,
    }

    #[test]
    fn serde_round_trip_via_toml() {
        let text = r#"
            [latency]
            model = "uniform"
            min = 200.0
            max = 500
            min_ms = 150.0
            max_ms = 30000.0
            slow_tail = { probability = 0.1, multiplier = [2.0, 4.0] }
        "#;
        let parsed: Profile = toml::from_str(text).expect("parses");
        let mut expected = with_tail(LatencySpec::uniform(200.0, 500.0), 0.1, [2.0, 4.0]);
        expected.min_ms = Some(150.0);
        expected.max_ms = Some(30000.0);
        assert_eq!(parsed.latency, expected);
        let printed = toml::to_string(&parsed).expect("serialises");
        assert!(
            !printed.contains("sd") && !printed.contains("median"),
            "{printed}"
        );
        let again: Profile = toml::from_str(&printed).expect("re-parses");
        assert_eq!(again, parsed);
        assert!(again.latency.validate().is_ok());
    }

    #[test]
    fn serde_rejects_unknown_fields_and_models() {
        let parse = |t: &str| {
            toml::from_str::<Profile>(t)
                .expect_err("must be rejected")
                .to_string()
        };
        let top = parse("[latency]\nmodel = \"fixed\"\nms = 1.0\njitter = 2.0\n");
        assert!(
            top.contains("unknown field") && top.contains("jitter"),
            "{top}"
        );
        let nested = parse(
            "[latency]\nmodel = \"fixed\"\nms = 1.0\n\
             slow_tail = { probability = 0.1, multiplier = [2.0, 4.0], every = 3 }\n",
        );
        assert!(
            nested.contains("unknown field") && nested.contains("every"),
            "{nested}"
        );
        let model = parse("[latency]\nmodel = \"gamma\"\n");
        assert!(model.contains("gamma"), "{model}");
    }

    #[test]
    fn ks_statistic_handles_point_masses() {
        let step = |x: f64| f64::from(u8::from(x >= 1.0));
        assert_eq!(ks_statistic(&mut [1.0; 10], step), 0.0);
        // Half the samples at the atom, half above it: F_n(1) = 0.5 vs F(1) = 1.
        assert_eq!(ks_statistic(&mut [2.0, 1.0, 2.0, 1.0], step), 0.5);
        let uniform = |x: f64| x.clamp(0.0, 1.0);
        assert!((ks_statistic(&mut [0.5], uniform) - 0.5).abs() < 1e-12);
        assert_eq!(ks_statistic(&mut [], uniform), 0.0);
    }

    #[test]
    fn sampling_is_reproducible_per_seed() {
        let lat = with_tail(lognormal_300_1800(), 0.1, [2.0, 4.0])
            .validate()
            .expect("valid");
        let draw = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..100)
                .map(|_| lat.sample_ms(&mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(42), draw(42));
    }
}
