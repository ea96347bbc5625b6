//! Validation of a [`LatencySpec`] into a ready-to-sample [`Latency`]: which
//! fields apply to which model, finite and non-negative numbers, consistent
//! bounds, and the precomputation of each base model's parameters. Every
//! rejection names the offending field.

use rand_distr::{Exp, LogNormal, Normal, Pareto};

use super::base::{Base, Knots, LogGiven};
use super::model::{Clamp, Latency};
use super::tail::SlowTail;
use crate::profile::{KNOT_NAMES, LatencyKind, LatencySpec, MAX_MS, MAX_POINTS, SpecError};

/// The standard normal quantile at 0.99: Φ(Z_99) = 0.99.
const Z_99: f64 = 2.326_347_874_040_840_8;

/// A truncated normal is only accepted when `mean >= -MAX_TRUNCATION_SDS * sd`,
/// so each rejection-sampling attempt succeeds with probability >= 2.2 %.
pub(super) const MAX_TRUNCATION_SDS: f64 = 2.0;

/// Fields every model accepts (the clamp).
const CLAMP_FIELDS: [&str; 2] = ["min_ms", "max_ms"];

/// Fields that are milliseconds, so at most [`MAX_MS`].
const MS_FIELDS: [&str; 15] = [
    "ms", "min", "max", "mean", "sd", "median", "p99", "scale", "p0", "p50", "p90", "p999", "p100",
    "min_ms", "max_ms",
];

/// The share of a model's draws allowed beyond [`MAX_MS`] (they are cut there).
const MAX_SHARE_BEYOND_CEILING: f64 = 0.01;

/// Fields that may legitimately be negative (`normal` mean, `lognormal` mu).
const SIGNED_FIELDS: [&str; 2] = ["mean", "mu"];

impl LatencySpec {
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
        let latency = Latency {
            base,
            clamp,
            tail,
            breaks,
        };
        let beyond = 1.0 - latency.cdf(MAX_MS);
        if beyond > MAX_SHARE_BEYOND_CEILING {
            return Err(SpecError::new(
                "model",
                format!(
                    "{:.1} % of draws would exceed 24 h (86400000 ms); at most 1 % may",
                    beyond * 100.0
                ),
            ));
        }
        Ok(latency)
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
        if self.points.is_some() && self.model != LatencyKind::Percentiles {
            return Err(SpecError::new(
                "points",
                format!(
                    "does not apply to model `{}` (it takes: {})",
                    self.model,
                    self.model.takes()
                ),
            ));
        }
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
            if v > MAX_MS && MS_FIELDS.contains(&field) {
                return Err(SpecError::new(
                    field,
                    format!("{v} ms is more than the 24 h (86400000 ms) mockdet acts out"),
                ));
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
        if let Some(points) = &self.points {
            return table_base(points, self.numeric_fields());
        }
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
        Ok(Base::Percentiles(Knots::named(values)))
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

/// The `percentiles` model from a quantile table; `fields` are the spec's
/// numeric fields (the named percentiles may not be given beside it).
fn table_base(points: &[[f64; 2]], fields: [(&str, Option<f64>); 18]) -> Result<Base, SpecError> {
    if let Some((name, _)) = fields
        .iter()
        .find(|(name, v)| v.is_some() && KNOT_NAMES.contains(name))
    {
        return Err(SpecError::new(
            *name,
            "give either `points` or the named percentiles, not both",
        ));
    }
    if !(2..=MAX_POINTS).contains(&points.len()) {
        return Err(SpecError::new(
            "points",
            format!("needs 2 to {MAX_POINTS} points, got {}", points.len()),
        ));
    }
    for (i, [q, ms]) in points.iter().copied().enumerate() {
        let at = format!("points[{i}]");
        if !(q.is_finite() && (0.0..=1.0).contains(&q)) {
            return Err(SpecError::new(
                at,
                format!("q must be within 0..=1, got {q}"),
            ));
        }
        if !(ms.is_finite() && (0.0..=MAX_MS).contains(&ms)) {
            return Err(SpecError::new(
                at,
                format!("ms must be within 0..=86400000 (24 h), got {ms}"),
            ));
        }
        if let Some([prev_q, prev_ms]) = i.checked_sub(1).map(|j| points[j]) {
            if q <= prev_q {
                return Err(SpecError::new(
                    at,
                    format!("q {q} must be above the previous point's {prev_q}"),
                ));
            }
            if ms < prev_ms {
                return Err(SpecError::new(
                    at,
                    format!(
                        "{ms} ms is below the previous point's {prev_ms} ms: values must be non-decreasing"
                    ),
                ));
            }
        }
    }
    let (first, last) = (points[0][0], points[points.len() - 1][0]);
    if first != 0.0 || last != 1.0 {
        return Err(SpecError::new(
            "points",
            format!("must run from q = 0 to q = 1, got {first} to {last}"),
        ));
    }
    Ok(Base::Percentiles(Knots {
        probs: points.iter().map(|p| p[0]).collect(),
        values: points.iter().map(|p| p[1]).collect(),
        table: true,
    }))
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
