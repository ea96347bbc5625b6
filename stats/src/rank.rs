//! The nearest-rank rule itself, and its exact readings: a sorted sample
//! (a handful of spawn timings) and counted values (Locust's histogram of
//! rounded response times).

/// The 1-based rank that the q-quantile of `n` values takes: ⌈q·n⌉, at
/// least 1 and at most `n` (`q` is clamped to `[0, 1]`). Computed in `f64`
/// exactly as HdrHistogram's `value_at_quantile` does, so an exact sample
/// and a histogram of it pick the same rank. 0 only when `n` is 0.
///
/// ```
/// assert_eq!(mockdet_stats::rank(0.5, 5), 3);
/// assert_eq!(mockdet_stats::rank(0.99, 100), 99);
/// assert_eq!(mockdet_stats::rank(0.0, 100), 1);
/// ```
pub fn rank(q: f64, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    // `as` saturates, and maps a NaN `q` to rank 0, raised to 1 below.
    let r = (q.clamp(0.0, 1.0) * n as f64).ceil() as u64;
    r.clamp(1, n)
}

/// The q-quantile of an ascending sample, exactly: `sorted[rank(q, n) - 1]`.
/// `None` for an empty sample.
///
/// ```
/// let spawn_ms = [11.0, 12.0, 13.0, 14.0, 50.0];
/// assert_eq!(mockdet_stats::sorted_quantile(&spawn_ms, 0.5), Some(13.0));
/// assert_eq!(mockdet_stats::sorted_quantile(&spawn_ms, 0.99), Some(50.0));
/// ```
pub fn sorted_quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let r = rank(q, sorted.len() as u64);
    sorted
        .get(usize::try_from(r).ok()?.checked_sub(1)?)
        .copied()
}

/// The q-quantile of counted values — `(value, how many times)` pairs in
/// ascending order of value — exactly: the value holding rank ⌈q·n⌉ where
/// n is the total count. `None` when nothing was counted.
///
/// ```
/// // Locust's response times: 100 requests took 20 ms, 5 took 300 ms.
/// let counted = [(20.0, 100), (300.0, 5)];
/// assert_eq!(mockdet_stats::counted_quantile(&counted, 0.95), Some(20.0));
/// assert_eq!(mockdet_stats::counted_quantile(&counted, 0.99), Some(300.0));
/// ```
pub fn counted_quantile(counted: &[(f64, u64)], q: f64) -> Option<f64> {
    let total = counted.iter().map(|&(_, n)| n).sum();
    let r = rank(q, total);
    let mut seen = 0;
    counted
        .iter()
        .find(|&&(_, n)| {
            seen += n;
            seen >= r && r > 0
        })
        .map(|&(value, _)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rank_is_the_ceiling_of_q_n_within_one_and_n() {
        assert_eq!(rank(0.5, 100), 50);
        assert_eq!(rank(0.95, 100), 95);
        assert_eq!(rank(0.999, 1000), 999);
        assert_eq!(rank(0.999, 100), 100);
        assert_eq!(rank(0.5, 5), 3);
        assert_eq!(rank(0.0, 7), 1);
        assert_eq!(rank(1.0, 7), 7);
        assert_eq!(rank(2.0, 7), 7);
        assert_eq!(rank(-1.0, 7), 1);
        assert_eq!(rank(f64::NAN, 7), 1);
        assert_eq!(rank(0.5, 0), 0);
    }

    #[test]
    fn a_sorted_sample_gives_a_recorded_value_never_an_interpolated_one() {
        let sorted = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(sorted_quantile(&sorted, 0.0), Some(1.0));
        assert_eq!(sorted_quantile(&sorted, 0.125), Some(1.0));
        assert_eq!(sorted_quantile(&sorted, 0.2), Some(1.0));
        assert_eq!(sorted_quantile(&sorted, 0.21), Some(2.0));
        assert_eq!(sorted_quantile(&sorted, 0.5), Some(3.0));
        assert_eq!(sorted_quantile(&sorted, 0.9), Some(5.0));
        assert_eq!(sorted_quantile(&sorted, 1.0), Some(5.0));
        assert_eq!(sorted_quantile(&[7.0], 0.99), Some(7.0));
        assert_eq!(sorted_quantile(&[], 0.5), None);
    }

    #[test]
    fn an_even_sample_takes_the_lower_middle_as_its_median() {
        assert_eq!(sorted_quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.0));
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(sorted_quantile(&hundred, 0.5), Some(50.0));
        assert_eq!(sorted_quantile(&hundred, 0.99), Some(99.0));
    }

    #[test]
    fn counted_values_agree_with_the_sample_they_stand_for() {
        let counted = [(10.0, 2), (20.0, 3), (40.0, 5)];
        let expanded = [10.0, 10.0, 20.0, 20.0, 20.0, 40.0, 40.0, 40.0, 40.0, 40.0];
        for q in [0.0, 0.1, 0.2, 0.21, 0.5, 0.51, 0.95, 1.0] {
            assert_eq!(
                counted_quantile(&counted, q),
                sorted_quantile(&expanded, q),
                "q = {q}"
            );
        }
        assert_eq!(counted_quantile(&counted, 0.5), Some(20.0));
        assert_eq!(counted_quantile(&[], 0.5), None);
        assert_eq!(counted_quantile(&[(5.0, 0)], 0.5), None);
    }
}
