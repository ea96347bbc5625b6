//! The Kolmogorov–Smirnov statistic of samples against a CDF, correct for
//! CDFs with point masses; used to check the sampler against [`Latency::cdf`]
//! (in tests and in the KS benchmark).
//!
//! [`Latency::cdf`]: super::Latency::cdf

use super::numerics::next_down;

/// Kolmogorov–Smirnov statistic D = sup_x |F_n(x) - F(x)| of `samples`
/// (sorted in place) against `cdf`.
///
/// Correct for CDFs with jumps (clamps, fixed latencies): at each distinct
/// sample value v it compares both F_n(v-) with F(v-) and F_n(v) with F(v),
/// taking F(v-) as `cdf` at the float just below v. Between sample values
/// F_n is constant and F monotone, so these endpoints attain the supremum.
pub fn ks_statistic(samples: &mut [f64], cdf: impl Fn(f64) -> f64) -> f64 {
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
}
