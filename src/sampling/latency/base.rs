//! The base latency models with their parameters precomputed ([`Base`]):
//! sampling (rejection for the truncated normal), closed-form CDFs and means,
//! breakpoints for exact integration, descriptions; and the empirical
//! `percentiles` model ([`Knots`]).

use std::f64::consts::PI;

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Normal, Pareto};

use super::model::num;
use super::numerics::phi;
use crate::profile::KNOT_NAMES;

/// Rejection-sampling attempts for the truncated normal before giving up
/// (all failing has probability < 1e-40 given
/// [`MAX_TRUNCATION_SDS`](super::validate::MAX_TRUNCATION_SDS)).
const MAX_NORMAL_ATTEMPTS: usize = 4096;

/// Probabilities of the `percentiles` knots `p0, p50, p90, p99, p999, p100`.
pub(super) const KNOT_PROBS: [f64; 6] = [0.0, 0.5, 0.9, 0.99, 0.999, 1.0];

/// How a lognormal was specified, kept for
/// [`Latency::describe`](super::Latency::describe).
#[derive(Debug, Clone, Copy)]
pub(super) enum LogGiven {
    Quantiles { median: f64, p99: f64 },
    Params,
}

/// A base model with precomputed parameters.
#[derive(Debug, Clone)]
pub(super) enum Base {
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
    pub(super) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
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

    pub(super) fn cdf(&self, x: f64) -> f64 {
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
    pub(super) fn mean(&self) -> Option<f64> {
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
    pub(super) fn breaks(&self) -> Vec<f64> {
        match self {
            Self::Fixed(ms) => vec![*ms],
            Self::Uniform { min, max } => vec![*min, *max],
            Self::Pareto { scale, .. } => vec![*scale],
            Self::Percentiles(knots) => knots.values.to_vec(),
            Self::Normal { .. } | Self::LogNormal { .. } | Self::Exponential { .. } => Vec::new(),
        }
    }

    pub(super) fn describe(&self) -> String {
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

/// The `percentiles` model: a quantile function linear between the knots
/// (the six named percentiles, or a quantile table's points).
#[derive(Debug, Clone)]
pub(super) struct Knots {
    /// Probabilities, strictly increasing from 0 to 1.
    pub(super) probs: Box<[f64]>,
    /// Values at `probs`, non-decreasing.
    pub(super) values: Box<[f64]>,
    /// Written as a table (`points`), not as the named percentiles.
    pub(super) table: bool,
}

impl Knots {
    /// The six named percentiles at [`KNOT_PROBS`].
    pub(super) fn named(values: [f64; 6]) -> Self {
        Self {
            probs: KNOT_PROBS.into(),
            values: values.into(),
            table: false,
        }
    }

    /// Inverse CDF at `u` in [0, 1].
    fn quantile(&self, u: f64) -> f64 {
        let last = self.probs.len() - 1;
        // The segment [probs[seg], probs[seg + 1]) holding u.
        let seg = self.probs[1..].partition_point(|&p| p <= u).min(last - 1);
        let (p0, p1) = (self.probs[seg], self.probs[seg + 1]);
        let (v0, v1) = (self.values[seg], self.values[seg + 1]);
        v0 + (u - p0) / (p1 - p0) * (v1 - v0)
    }

    /// CDF; equal consecutive knots are point masses.
    fn cdf(&self, x: f64) -> f64 {
        let last = self.values.len() - 1;
        if x < self.values[0] {
            return 0.0;
        }
        if x >= self.values[last] {
            return 1.0;
        }
        // Last knot <= x; it is below `last` and the next knot is > x.
        let seg = self.values.partition_point(|&v| v <= x).saturating_sub(1);
        let (p0, p1) = (self.probs[seg], self.probs[seg + 1]);
        let (v0, v1) = (self.values[seg], self.values[seg + 1]);
        p0 + (x - v0) / (v1 - v0) * (p1 - p0)
    }

    fn mean(&self) -> f64 {
        self.probs
            .windows(2)
            .zip(self.values.windows(2))
            .map(|(p, v)| (p[1] - p[0]) * 0.5 * (v[0] + v[1]))
            .sum()
    }

    fn describe(&self) -> String {
        if self.table {
            let last = self.values.len() - 1;
            return format!(
                "percentiles({} points, {} to {}) ms",
                self.values.len(),
                num(self.values[0]),
                num(self.values[last])
            );
        }
        let points: Vec<String> = KNOT_NAMES
            .iter()
            .zip(self.values.iter())
            .map(|(name, v)| format!("{name} {}", num(*v)))
            .collect();
        format!("percentiles({}) ms", points.join(", "))
    }
}
