//! The benchmark's statistics, as pure functions: summaries and medians of
//! raw samples, ratios, achieved/ideal rates, and the Kolmogorov–Smirnov
//! distance of a (possibly truncated) sample from a latency model's CDF.
//!
//! Percentiles follow the one rule of `mockdet-stats` (nearest rank), like
//! every other tool's: summaries of many samples come from its HDR
//! histogram (0.1 % resolution, exact below 2.048 ms at 1 µs), medians of a
//! few rounds from its exact reading. The samples themselves stay raw, for
//! the KS statistic.

use mockdet::ks_statistic;
use mockdet_stats::{Histogram, sorted_quantile};

pub(crate) use mockdet_stats::Summary;

/// Count, mean and percentiles of `samples` (ms), by `mockdet-stats`'s
/// histogram. Count 0 and the rest NaN when empty.
pub(crate) fn summarise(samples: &[f64]) -> Summary {
    let histogram: Histogram = samples.iter().copied().collect();
    histogram.summary().unwrap_or(Summary {
        count: 0,
        mean: f64::NAN,
        p50: f64::NAN,
        p90: f64::NAN,
        p95: f64::NAN,
        p99: f64::NAN,
        p999: f64::NAN,
        max: f64::NAN,
    })
}

/// The exact nearest-rank median of a few values (sorted in place): the
/// lower middle one for an even count. NaN when empty.
pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    sorted_quantile(values, 0.5).unwrap_or(f64::NAN)
}

/// `num / den`, or NaN when the quotient is not a finite number.
pub(crate) fn ratio(num: f64, den: f64) -> f64 {
    let r = num / den;
    if r.is_finite() { r } else { f64::NAN }
}

/// Completed requests per second over what `connections` closed-loop
/// connections could do if each answer took exactly `latency_s`.
pub(crate) fn achieved_over_ideal(
    completed: u64,
    window_s: f64,
    connections: usize,
    latency_s: f64,
) -> f64 {
    let ideal = connections as f64 / latency_s;
    ratio(completed as f64 / window_s, ideal)
}

/// KS distance of `samples` from `cdf` conditioned on `x <= cap`, i.e. from
/// `G(x) = F(x) / F(cap)` (the right comparison when every value above
/// `cap` was cut off). With `cap` at or past the support, `G = F`.
pub(crate) fn ks_truncated(samples: &mut [f64], cdf: impl Fn(f64) -> f64, cap: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mass = cdf(cap);
    if mass <= 0.0 {
        return f64::NAN;
    }
    ks_statistic(samples, |x| {
        if x >= cap {
            1.0
        } else {
            (cdf(x) / mass).min(1.0)
        }
    })
}

/// The asymptotic 95 % critical value of the one-sample KS statistic for
/// `n` draws (1.358 / √n): a correct server stays under it 19 times in 20.
pub(crate) fn ks_critical_95(n: usize) -> f64 {
    1.358 / (n as f64).sqrt()
}

/// The smallest `x` (to within 0.1 % or 1 ms) where `cdf(x) >= p`, searched
/// by doubling then bisection up to `limit`; `limit` if never reached.
pub(crate) fn upper_quantile(cdf: impl Fn(f64) -> f64, p: f64, limit: f64) -> f64 {
    let mut hi = 1.0;
    while cdf(hi) < p {
        if hi >= limit {
            return limit;
        }
        hi = (hi * 2.0).min(limit);
    }
    let mut lo = 0.0;
    while hi - lo > (hi * 1e-3).max(1.0) {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) >= p { hi = mid } else { lo = mid }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uniform(lo: f64, hi: f64) -> impl Fn(f64) -> f64 {
        move |x| ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
    }

    #[test]
    fn medians_take_the_nearest_rank() {
        // Nearest rank since the one rule of mockdet-stats: the lower middle
        // of an even count (interpolation gave 2.5 here).
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.0);
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), 3.0);
        assert!(median(&mut []).is_nan());
    }

    #[test]
    fn a_summary_reports_the_tail_by_nearest_rank() {
        // 0.01 ... 1.00 ms: every value is exact in the histogram. Nearest
        // rank gives the 50th and 99th values (interpolation gave 0.505 and
        // 0.9901 before mockdet-stats).
        let samples: Vec<f64> = (1..=100).rev().map(|i| f64::from(i) / 100.0).collect();
        let s = summarise(&samples);
        assert_eq!((s.count, s.p50, s.p99, s.max), (100, 0.5, 0.99, 1.0));
        assert!((s.mean - 0.505).abs() < 1e-12, "{}", s.mean);
        let none = summarise(&[]);
        assert_eq!(none.count, 0);
        assert!(none.p50.is_nan() && none.mean.is_nan());
    }

    #[test]
    fn ratios_are_nan_rather_than_infinite() {
        assert_eq!(ratio(3.0, 4.0), 0.75);
        assert!(ratio(1.0, 0.0).is_nan());
        assert!(ratio(0.0, 0.0).is_nan());
    }

    #[test]
    fn achieved_over_ideal_is_one_for_a_perfect_server() {
        // 1,000 connections × 10 s at exactly 200 ms each = 50,000 answers.
        assert_eq!(achieved_over_ideal(50_000, 10.0, 1000, 0.2), 1.0);
        assert_eq!(achieved_over_ideal(49_000, 10.0, 1000, 0.2), 0.98);
    }

    #[test]
    fn ks_of_an_evenly_spread_sample_is_one_over_n() {
        // Points at (i + 0.5) / n: the empirical CDF is off by 1/2n each side.
        let n = 1000;
        let mut s: Vec<f64> = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        let d = ks_truncated(&mut s, uniform(0.0, 1.0), 1.0);
        assert!((d - 0.5 / n as f64).abs() < 1e-9, "{d}");
    }

    #[test]
    fn truncation_compares_with_the_conditional_cdf() {
        // Uniform(0, 100) cut at 25 is Uniform(0, 25).
        let n = 1000;
        let mut s: Vec<f64> = (0..n).map(|i| 25.0 * (i as f64 + 0.5) / n as f64).collect();
        let d = ks_truncated(&mut s.clone(), uniform(0.0, 100.0), 25.0);
        assert!(d < 1e-3, "{d}");
        let untruncated = ks_truncated(&mut s, uniform(0.0, 100.0), 100.0);
        assert!(untruncated > 0.7, "{untruncated}");
    }

    #[test]
    fn a_shifted_sample_shows_the_shift() {
        // Every latency 1 ms late on a 300 ms-wide uniform: D = 1/300.
        let n = 3000;
        let mut s: Vec<f64> = (0..n)
            .map(|i| 200.0 + 300.0 * (i as f64 + 0.5) / n as f64 + 1.0)
            .collect();
        let d = ks_truncated(&mut s, uniform(200.0, 500.0), 1e9);
        assert!((d - 1.0 / 300.0).abs() < 2.0 / n as f64, "{d}");
        assert!(ks_truncated(&mut [], uniform(0.0, 1.0), 1.0).is_nan());
    }

    #[test]
    fn the_critical_value_shrinks_with_the_root_of_n() {
        assert!((ks_critical_95(10_000) - 0.01358).abs() < 1e-12);
    }

    #[test]
    fn upper_quantile_finds_the_end_of_the_support() {
        let q = upper_quantile(uniform(500.0, 2500.0), 1.0, 1e6);
        assert!((2500.0..2503.0).contains(&q), "{q}");
        let exp = |x: f64| 1.0 - (-x / 100.0).exp();
        let q = upper_quantile(exp, 0.99, 1e6);
        assert!((q - 460.5).abs() < 1.0, "{q}");
        assert_eq!(upper_quantile(|_| 0.0, 0.5, 64.0), 64.0);
    }
}
