//! [`Latency`], the validated model: per-request sampling (base model, slow
//! tail, clamp), its exact CDF and mean, and its human description; plus the
//! final [`Clamp`] and the number formatting shared by the descriptions.

use std::fmt;

use rand::Rng;

use super::base::Base;
use super::numerics::integrate;
use super::tail::SlowTail;

/// Tolerance of the mean integral, relative to the integration range.
const MEAN_TOLERANCE: f64 = 1e-8;

/// A validated latency model, ready to sample without any per-request
/// parsing. Build it with
/// [`LatencySpec::validate`](crate::profile::LatencySpec::validate).
#[derive(Debug, Clone)]
pub struct Latency {
    pub(super) base: Base,
    pub(super) clamp: Clamp,
    pub(super) tail: Option<SlowTail>,
    /// Points where the base CDF jumps or has a kink (for exact integration).
    pub(super) breaks: Vec<f64>,
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

/// The final clamp.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clamp {
    pub(super) min: Option<f64>,
    pub(super) max: Option<f64>,
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
pub(super) fn num(x: f64) -> String {
    if x.abs() >= 1e12 {
        return format!("{x:e}");
    }
    let rounded = (x * 1e4).round() / 1e4;
    format!("{}", rounded + 0.0)
}
