//! What a model is measured against: the data reduced to check points
//! where its cumulative share is known, and an empirical quantile function
//! for starting values.
//!
//! - **Samples**: the Kolmogorov–Smirnov statistic D = sup |F_n − F| over
//!   every sample value (both sides of each jump), exactly; while a model
//!   is being tuned, over at most [`TUNING_POINTS`] evenly spaced order
//!   statistics (off from the exact D by at most 1/[`TUNING_POINTS`]);
//!   past [`REPORTED_POINTS`] distinct values, the reported D too is taken
//!   over that many (off by at most 1/20,000).
//! - **A histogram**: the same gap, at each bucket bound — the only places
//!   the cumulative share is known. The true D (between bounds) can be
//!   larger by at most the share of requests in one bucket.
//! - **Quantile points** (Locust, k6's summary): the gap at each given
//!   quantile.

use mockdet::Latency;

use crate::input::Latencies;

/// Check points used while tuning a model on samples.
pub(crate) const TUNING_POINTS: usize = 1000;

/// Check points of the reported distance on samples: beyond this many
/// distinct values, evenly spaced ones (off by at most 1/20,000).
pub(crate) const REPORTED_POINTS: usize = 20_000;

/// Which statistic ranks the models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// KS D over every sample.
    Samples,
    /// KS D at the histogram's bucket bounds.
    BucketBounds,
    /// KS D at the given quantile points.
    QuantilePoints,
}

impl Statistic {
    /// How the report names it.
    pub fn describe(self) -> &'static str {
        match self {
            Statistic::Samples => "KS D over every sample",
            Statistic::BucketBounds => {
                "KS D at the bucket bounds (where a histogram's cumulative share is known; \
                 the true D can exceed it by at most one bucket's share)"
            }
            Statistic::QuantilePoints => "KS D at the given quantile points",
        }
    }
}

/// A point where the data's cumulative share is known: `below` just under
/// `x`, `at` at `x` (equal except at a sample value's jump).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Check {
    pub(crate) x: f64,
    pub(crate) below: f64,
    pub(crate) at: f64,
}

/// The data, ready to measure models against.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) statistic: Statistic,
    /// All check points (exact D).
    pub(crate) checks: Vec<Check>,
    /// At most [`TUNING_POINTS`] of them (for tuning).
    pub(crate) tuning: Vec<Check>,
    /// (probability, ms) pairs of an empirical quantile function,
    /// increasing in both.
    quantiles: Vec<(f64, f64)>,
    /// How many requests the data describes, when known.
    pub(crate) n: Option<u64>,
}

impl Target {
    /// Builds the target; `None` when the data holds no observation.
    pub(crate) fn new(latencies: &Latencies) -> Option<Self> {
        match latencies {
            Latencies::Samples(samples) => Self::of_samples(samples),
            Latencies::Histogram(buckets) => Self::of_histogram(buckets),
            Latencies::Quantiles { points, count } => Self::of_quantiles(points, *count),
        }
    }

    fn of_samples(samples: &[f64]) -> Option<Self> {
        // The readers refuse anything else; a caller of the library might not.
        let mut sorted: Vec<f64> = samples
            .iter()
            .copied()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .collect();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        if n == 0 {
            return None;
        }
        let nf = n as f64;
        let mut checks = Vec::new();
        let mut i = 0;
        while i < n {
            let v = sorted[i];
            let j = i + sorted[i..].partition_point(|&s| s <= v);
            checks.push(Check {
                x: v,
                below: i as f64 / nf,
                at: j as f64 / nf,
            });
            i = j;
        }
        let quantiles = (0..=200)
            .map(|k| {
                let q = f64::from(k) / 200.0;
                (q, sorted[((q * (nf - 1.0)).round() as usize).min(n - 1)])
            })
            .collect();
        Some(Self {
            statistic: Statistic::Samples,
            tuning: thin(&checks, TUNING_POINTS),
            checks: thin(&checks, REPORTED_POINTS),
            quantiles,
            n: Some(n as u64),
        })
    }

    fn of_histogram(buckets: &[(f64, u64)]) -> Option<Self> {
        let total = buckets.last()?.1;
        // Nothing at or below a finite bound says nothing about latency.
        let known = buckets
            .iter()
            .filter(|(le, _)| le.is_finite())
            .map(|b| b.1)
            .max();
        if total == 0 || known.unwrap_or(0) == 0 {
            return None;
        }
        let share = |count: u64| count as f64 / total as f64;
        let checks: Vec<Check> = buckets
            .iter()
            .filter(|(le, _)| le.is_finite())
            .map(|&(x, count)| Check {
                x,
                below: share(count),
                at: share(count),
            })
            .collect();
        // The quantile function, linear inside each bucket that holds
        // requests: from (share below it, its lower bound) to (share up to
        // it, its upper bound); flat stretches of the CDF are jumps here.
        let mut quantiles = vec![(0.0, 0.0)];
        let mut previous = (0.0, 0.0);
        for check in &checks {
            if check.at > previous.0 {
                if quantiles.last().is_some_and(|q| q.1 < previous.1) {
                    quantiles.push(previous);
                }
                quantiles.push((check.at, check.x));
            }
            previous = (check.at, check.x);
        }
        Some(Self {
            statistic: Statistic::BucketBounds,
            tuning: checks.clone(),
            checks,
            quantiles,
            n: Some(total),
        })
    }

    fn of_quantiles(points: &[(f64, f64)], count: Option<u64>) -> Option<Self> {
        if points.is_empty() {
            return None;
        }
        let checks: Vec<Check> = points
            .iter()
            .map(|&(q, x)| Check { x, below: q, at: q })
            .collect();
        let mut quantiles = points.to_vec();
        if quantiles[0].0 > 0.0 {
            quantiles.insert(0, (0.0, 0.0));
        }
        Some(Self {
            statistic: Statistic::QuantilePoints,
            tuning: checks.clone(),
            checks,
            quantiles,
            n: count,
        })
    }

    /// The empirical quantile at `q` (linear between known points).
    pub(crate) fn quantile(&self, q: f64) -> f64 {
        let qs = &self.quantiles;
        let i = qs.partition_point(|p| p.0 < q);
        match (i.checked_sub(1).map(|j| qs[j]), qs.get(i)) {
            (Some((q0, v0)), Some(&(q1, v1))) if q1 > q0 => v0 + (q - q0) / (q1 - q0) * (v1 - v0),
            (_, Some(&(_, v))) => v,
            (Some((_, v)), None) => v,
            (None, None) => 0.0,
        }
    }

    /// The smallest and largest value the data shows (for a histogram:
    /// the last bound below every request and the first above them all).
    pub(crate) fn range(&self) -> (f64, f64) {
        let first = self
            .quantiles
            .iter()
            .rev()
            .find(|q| q.0 == 0.0)
            .map_or(0.0, |q| q.1);
        let last = self.quantiles.last().map_or(0.0, |q| q.1);
        match self.statistic {
            Statistic::Samples => (
                self.checks.first().map_or(0.0, |c| c.x),
                self.checks.last().map_or(0.0, |c| c.x),
            ),
            _ => (first, last),
        }
    }

    /// The share of the data at exactly its largest value (a cut-off, such
    /// as a client timeout, shows as a point mass there); samples only.
    pub(crate) fn mass_at_max(&self) -> f64 {
        match (self.statistic, self.checks.last()) {
            (Statistic::Samples, Some(last)) => last.at - last.below,
            _ => 0.0,
        }
    }

    /// The share at exactly its smallest value; samples only.
    pub(crate) fn mass_at_min(&self) -> f64 {
        match (self.statistic, self.checks.first()) {
            (Statistic::Samples, Some(first)) => first.at - first.below,
            _ => 0.0,
        }
    }

    /// The distance of `latency` from the data, over `checks`.
    pub(crate) fn distance(&self, latency: &Latency, checks: &[Check]) -> f64 {
        self.distance_by(&|x| latency.cdf(x), checks)
    }

    /// The distance of a CDF from the data, over `checks`.
    pub(crate) fn distance_by(&self, cdf: &dyn Fn(f64) -> f64, checks: &[Check]) -> f64 {
        checks.iter().fold(0.0, |d: f64, c| {
            let gap = match self.statistic {
                // Both sides of each sample value's jump.
                Statistic::Samples => (cdf(c.x) - c.at)
                    .abs()
                    .max((cdf(next_down(c.x)) - c.below).abs()),
                Statistic::BucketBounds => (cdf(c.x) - c.at).abs(),
                // "A share q of requests took at most x": F(x) >= q and
                // F(x-) <= q. Equal values at several quantiles (a point
                // mass, or a tool's rounding) are met by a jump there.
                Statistic::QuantilePoints => {
                    (c.at - cdf(c.x)).max(cdf(next_down(c.x)) - c.at).max(0.0)
                }
            };
            d.max(gap)
        })
    }

    /// Every `step`th tuning point (a coarser set for costly models).
    pub(crate) fn coarse(&self, step: usize) -> Vec<Check> {
        self.tuning.iter().step_by(step.max(1)).copied().collect()
    }

    /// The reported distance (every sample value, bound or point, up to
    /// [`REPORTED_POINTS`]).
    pub(crate) fn exact(&self, latency: &Latency) -> f64 {
        self.distance(latency, &self.checks)
    }
}

/// At most `most` checks, evenly spread, the first and last kept.
fn thin(checks: &[Check], most: usize) -> Vec<Check> {
    if checks.len() <= most {
        return checks.to_vec();
    }
    let last = checks.len() - 1;
    (0..most).map(|k| checks[k * last / (most - 1)]).collect()
}

/// The float just below `x` (towards −∞), for the left limit of a CDF.
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

#[cfg(test)]
mod tests {
    use super::*;
    use mockdet::profile::LatencySpec;

    #[test]
    fn samples_give_both_sides_of_every_jump() {
        let target = Target::new(&Latencies::Samples(vec![3.0, 1.0, 3.0, 2.0])).unwrap();
        assert_eq!(target.checks.len(), 3);
        assert_eq!(
            target.checks[2],
            Check {
                x: 3.0,
                below: 0.5,
                at: 1.0
            }
        );
        assert_eq!(target.mass_at_max(), 0.5);
        assert_eq!(target.range(), (1.0, 3.0));
        let uniform = LatencySpec::uniform(0.0, 4.0).validate().unwrap();
        let exact = target.exact(&uniform);
        assert!((exact - 0.25).abs() < 1e-12, "{exact}");
        let mut samples = vec![3.0, 1.0, 3.0, 2.0];
        let ks = mockdet::ks_statistic(&mut samples, |x| uniform.cdf(x));
        assert!(
            (ks - exact).abs() < 1e-12,
            "the same as mockdet's KS statistic"
        );
    }

    #[test]
    fn histograms_are_judged_at_their_bounds_only() {
        let buckets = vec![(10.0, 5), (20.0, 15), (f64::INFINITY, 20)];
        let target = Target::new(&Latencies::Histogram(buckets)).unwrap();
        assert_eq!(target.statistic, Statistic::BucketBounds);
        assert_eq!(target.checks.len(), 2);
        let uniform = LatencySpec::uniform(0.0, 40.0).validate().unwrap();
        // At 10: 0.25 vs 0.25; at 20: 0.5 vs 0.75.
        assert!((target.exact(&uniform) - 0.25).abs() < 1e-12);
        assert_eq!(target.quantile(0.25), 10.0);
        assert_eq!(target.quantile(0.125), 5.0);
        // Nothing below 20 ms: the quantile function starts there.
        let late = vec![(10.0, 0), (20.0, 0), (40.0, 10), (f64::INFINITY, 10)];
        let target = Target::new(&Latencies::Histogram(late)).unwrap();
        assert_eq!(target.quantile(0.5), 30.0);
        assert_eq!(target.range(), (20.0, 40.0));
        assert!(Target::new(&Latencies::Histogram(vec![(1.0, 0)])).is_none());
        // Every request past the last finite bound: nothing to fit.
        let beyond = vec![(10.0, 0), (20.0, 0), (f64::INFINITY, 10)];
        assert!(Target::new(&Latencies::Histogram(beyond)).is_none());
        // A library caller's NaN is left out, not looped on.
        let odd = Target::new(&Latencies::Samples(vec![1.0, f64::NAN, 2.0])).unwrap();
        assert_eq!(odd.n, Some(2));
    }

    #[test]
    fn quantile_points_are_met_by_a_jump_where_values_repeat() {
        // 50 % at most 10 ms, 90 % and 100 % at most 20 ms: a point mass
        // of 0.5 at 20 ms meets all three.
        let points = vec![(0.0, 0.0), (0.5, 10.0), (0.9, 20.0), (1.0, 20.0)];
        let target = Target::new(&Latencies::Quantiles {
            points,
            count: None,
        })
        .unwrap();
        let mut spec = LatencySpec::bare(mockdet::profile::LatencyKind::Percentiles);
        spec.points = Some(vec![[0.0, 0.0], [0.5, 10.0], [0.5001, 20.0], [1.0, 20.0]]);
        let jump = spec.validate().unwrap();
        assert!(target.exact(&jump) < 1e-3, "{}", target.exact(&jump));
        // Uniform on [0, 20]: its 90th percentile is 18 ms, not 20 — just
        // under 20 ms it already holds almost all requests (off by 0.1).
        let uniform = LatencySpec::uniform(0.0, 20.0).validate().unwrap();
        assert!((target.exact(&uniform) - 0.1).abs() < 1e-9);
        let slow = LatencySpec::uniform(0.0, 40.0).validate().unwrap();
        // F(20) = 0.5, where every request should be done: off by 0.5.
        assert!((target.exact(&slow) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn quantile_points_interpolate() {
        let points = vec![(0.0, 10.0), (0.5, 20.0), (1.0, 60.0)];
        let target = Target::new(&Latencies::Quantiles {
            points,
            count: None,
        })
        .unwrap();
        assert_eq!(target.quantile(0.75), 40.0);
        assert_eq!(target.quantile(1.0), 60.0);
        assert_eq!(target.statistic, Statistic::QuantilePoints);
    }

    #[test]
    fn many_samples_are_thinned_for_tuning() {
        let samples: Vec<f64> = (0..5000).map(f64::from).collect();
        let target = Target::new(&Latencies::Samples(samples)).unwrap();
        assert_eq!(target.tuning.len(), TUNING_POINTS);
        assert_eq!(target.tuning[0].x, 0.0);
        assert_eq!(target.tuning[TUNING_POINTS - 1].x, 4999.0);
    }
}
