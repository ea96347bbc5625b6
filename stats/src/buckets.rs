//! Prometheus histogram buckets: the one reading that cannot be exact,
//! because a scrape keeps only how many values fell at or under each bound.

/// The q-quantile estimated from a Prometheus histogram, given as
/// `(upper_bound, cumulative_count)` pairs in ascending order of bound
/// (the `le` label and the `_bucket` value; the `+Inf` bucket last).
/// `None` when the histogram counted nothing.
///
/// This is PromQL's `histogram_quantile`: find the first bucket whose
/// cumulative count reaches q·n, and interpolate linearly between its
/// lower bound (the previous bound, or 0) and its upper bound, as if the
/// bucket's values were spread evenly. If that bucket is `+Inf`, the answer
/// is the largest finite bound.
///
/// How it relates to the nearest-rank rule: counts are whole numbers, so
/// the first bucket reaching q·n is the first reaching ⌈q·n⌉ — the bucket
/// that holds the nearest-rank value. Both lie in that bucket, so they
/// differ by less than its width; in the `+Inf` bucket the estimate is only
/// a lower bound. (At q = 0 the estimate is the first bucket's lower bound.)
///
/// ```
/// // 50 values at or under 0.25 s, 50 more in (0.25, 0.75].
/// let buckets = [(0.25, 50.0), (0.75, 100.0), (f64::INFINITY, 100.0)];
/// assert_eq!(mockdet_stats::bucket_quantile(&buckets, 0.75), Some(0.5));
/// ```
pub fn bucket_quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let target = q.clamp(0.0, 1.0) * total;
    let mut lower = (0.0, 0.0);
    for &(bound, count) in buckets {
        if count >= target {
            if bound.is_infinite() {
                return Some(lower.0);
            }
            let span = count - lower.1;
            let within = if span > 0.0 {
                (target - lower.1) / span
            } else {
                1.0
            };
            return Some(lower.0 + (bound - lower.0) * within);
        }
        lower = (bound, count);
    }
    Some(lower.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::sorted_quantile;

    #[test]
    fn quantiles_interpolate_within_a_bucket() {
        // 100 values: 50 in (0, 0.25], 50 in (0.25, 0.75] (bounds chosen
        // to be exact in binary, so the answers are too).
        let buckets = [(0.25, 50.0), (0.75, 100.0), (f64::INFINITY, 100.0)];
        assert_eq!(bucket_quantile(&buckets, 0.5), Some(0.25));
        assert_eq!(bucket_quantile(&buckets, 0.75), Some(0.5));
        assert_eq!(bucket_quantile(&buckets, 0.25), Some(0.125));
        assert_eq!(bucket_quantile(&buckets, 0.0), Some(0.0));
        assert_eq!(bucket_quantile(&buckets, 1.0), Some(0.75));
    }

    #[test]
    fn the_inf_bucket_gives_the_largest_finite_bound() {
        let buckets = [(0.1, 10.0), (0.5, 90.0), (f64::INFINITY, 100.0)];
        assert_eq!(bucket_quantile(&buckets, 0.95), Some(0.5));
    }

    #[test]
    fn nothing_counted_gives_nothing() {
        assert_eq!(bucket_quantile(&[], 0.5), None);
        assert_eq!(bucket_quantile(&[(1.0, 0.0)], 0.5), None);
        assert_eq!(
            bucket_quantile(&[(1.0, 0.0), (f64::INFINITY, 0.0)], 0.5),
            None
        );
    }

    #[test]
    fn the_estimate_shares_a_bucket_with_the_nearest_rank_value() {
        // 0.001 ... 0.200 s, bucketed by the bounds mockdet exposes.
        let sorted: Vec<f64> = (1..=200).map(|ms| f64::from(ms) / 1000.0).collect();
        let bounds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, f64::INFINITY];
        let buckets: Vec<(f64, f64)> = bounds
            .iter()
            .map(|&b| (b, sorted.iter().filter(|&&v| v <= b).count() as f64))
            .collect();
        for q in [0.01, 0.1, 0.33, 0.5, 0.9, 0.95, 0.99] {
            let exact = sorted_quantile(&sorted, q).unwrap();
            let estimate = bucket_quantile(&buckets, q).unwrap();
            let upper = bounds.iter().position(|&b| exact <= b).unwrap();
            let lower = if upper == 0 { 0.0 } else { bounds[upper - 1] };
            assert!(
                (lower..=bounds[upper]).contains(&estimate),
                "q = {q}: {estimate} outside ({lower}, {}] holding {exact}",
                bounds[upper]
            );
        }
        // 0.95 · 200 = 190: the 190th value is 0.190 s, in (0.1, 0.25]. The
        // bucket holds 100 values, 90 of them needed: 0.1 + 0.15 · 0.9, an
        // estimate that takes the values as spread over the whole bucket.
        assert!((bucket_quantile(&buckets, 0.95).unwrap() - 0.235).abs() < 1e-12);
    }
}
