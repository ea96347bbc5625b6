//! The benchmark's statistics, as pure functions: percentiles and summaries
//! of raw samples, ratios, achieved/ideal rates, and the Kolmogorov–Smirnov
//! distance of a (possibly truncated) sample from a latency model's CDF.
//!
//! Samples are kept raw (a few hundred thousand `f64` at most), so every
//! percentile is exact rather than bucketed.

use mockdet::ks_statistic;

/// Linear-interpolated percentile (`q` in `[0, 1]`) of a sorted sample;
/// NaN for an empty one.
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let rank = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = rank.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
        }
    }
}

/// Count, mean and the percentiles the benchmark reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Summary {
    pub(crate) n: usize,
    pub(crate) mean: f64,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
}

impl Summary {
    /// Summarises `samples` (sorted in place). All NaN when empty.
    pub(crate) fn of(samples: &mut [f64]) -> Self {
        samples.sort_by(f64::total_cmp);
        let n = samples.len();
        let mean = if n == 0 {
            f64::NAN
        } else {
            samples.iter().sum::<f64>() / n as f64
        };
        Self {
            n,
            mean,
            p50: percentile(samples, 0.50),
            p99: percentile(samples, 0.99),
            max: samples.last().copied().unwrap_or(f64::NAN),
        }
    }
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
    fn percentiles_interpolate_between_ranks() {
        let sorted = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&sorted, 0.0), 1.0);
        assert_eq!(percentile(&sorted, 0.5), 3.0);
        assert_eq!(percentile(&sorted, 1.0), 5.0);
        assert_eq!(percentile(&sorted, 0.125), 1.5);
        assert!(percentile(&[], 0.5).is_nan());
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
    }

    #[test]
    fn a_summary_sorts_and_reports_the_tail() {
        let mut samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = Summary::of(&mut samples);
        assert_eq!((s.n, s.mean, s.p50, s.max), (100, 50.5, 50.5, 100.0));
        assert!((s.p99 - 99.01).abs() < 1e-9, "{}", s.p99);
        assert!(Summary::of(&mut []).p50.is_nan());
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
