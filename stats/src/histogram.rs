//! Many samples: [`Histogram`], an HDR histogram (the `hdrhistogram` crate)
//! of milliseconds kept as whole microseconds with 3 significant digits,
//! read by the nearest-rank rule, and [`Summary`], the figures every tool
//! reports from it.

use hdrhistogram::Histogram as Hdr;

use crate::rank::rank;

/// Significant decimal digits the histogram keeps: a bucket is at most
/// 0.1 % wide (1 µs wide below 2.048 ms).
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// Latencies (or any signed durations) in milliseconds, recorded in an HDR
/// histogram and read by the nearest-rank rule.
///
/// A value is rounded to the nearest microsecond and counted in its HDR
/// bucket. The q-quantile is the bucket holding rank ⌈q·n⌉, reported as
/// the top of that bucket (as HdrHistogram's `value_at_quantile` does):
/// never below the exact nearest-rank value, and above it by at most
/// 0.1 % (1 µs below 2.048 ms). Ranks 1 and n give the exact minimum and
/// maximum, and no quantile lies outside them. Count, mean and maximum are
/// exact. Values below zero (a timing error can be early) are kept in a
/// mirror histogram, so the rule holds for them too. NaN and infinite
/// values are not recorded.
///
/// ```
/// use mockdet_stats::Histogram;
///
/// let latencies: Histogram = (1..=1000).map(|us| f64::from(us) / 1000.0).collect();
/// assert_eq!(latencies.quantile_ms(0.99), Some(0.99));
/// let summary = latencies.summary().expect("1,000 values");
/// assert_eq!((summary.count, summary.p50, summary.max), (1000, 0.5, 1.0));
/// ```
#[derive(Debug, Clone)]
pub struct Histogram {
    /// Values at or above zero, in µs.
    at_or_above_zero: Hdr<u64>,
    /// Magnitudes of values below zero, in µs.
    below_zero: Hdr<u64>,
    sum_ms: f64,
    min_ms: f64,
    max_ms: f64,
}

/// Count, mean and the percentiles every tool reports, in milliseconds.
/// Percentiles follow the nearest-rank rule; `mean` and `max` are exact.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Values recorded.
    pub count: u64,
    /// Arithmetic mean.
    pub mean: f64,
    /// Median (q = 0.5).
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest value.
    pub max: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    /// An empty histogram (auto-resizing: any magnitude can be recorded).
    pub fn new() -> Self {
        let hdr = || Hdr::new(SIGNIFICANT_DIGITS).expect("3 significant digits is within 0..=5");
        Self {
            at_or_above_zero: hdr(),
            below_zero: hdr(),
            sum_ms: 0.0,
            min_ms: f64::INFINITY,
            max_ms: f64::NEG_INFINITY,
        }
    }

    /// Records one value, in milliseconds (ignored unless finite).
    pub fn record_ms(&mut self, ms: f64) {
        if !ms.is_finite() {
            return;
        }
        let us = (ms * 1000.0).round();
        let (hdr, magnitude) = if us < 0.0 {
            (&mut self.below_zero, -us)
        } else {
            (&mut self.at_or_above_zero, us)
        };
        // `as` saturates; the histogram grows to fit, and only a value too
        // large to grow to (past u64's range) is clamped to its top.
        let magnitude = magnitude as u64;
        if hdr.record(magnitude).is_err() {
            hdr.saturating_record(magnitude);
        }
        self.sum_ms += ms;
        self.min_ms = self.min_ms.min(ms);
        self.max_ms = self.max_ms.max(ms);
    }

    /// How many values were recorded.
    pub fn len(&self) -> u64 {
        self.at_or_above_zero.len() + self.below_zero.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The q-quantile in milliseconds (see the type's documentation);
    /// `None` when empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let n = self.len();
        let r = rank(q, n);
        if r == 0 {
            return None;
        }
        if r == 1 {
            return Some(self.min_ms);
        }
        if r == n {
            return Some(self.max_ms);
        }
        let negatives = self.below_zero.len();
        let us = if r <= negatives {
            // Ascending order runs through the negatives from the largest
            // magnitude down; the top of a mirrored bucket is its low edge.
            let magnitude = top_at_rank(&self.below_zero, negatives - r + 1);
            -(self.below_zero.lowest_equivalent(magnitude) as f64)
        } else {
            top_at_rank(&self.at_or_above_zero, r - negatives) as f64
        };
        Some((us / 1000.0).clamp(self.min_ms, self.max_ms))
    }

    /// Count, exact mean and maximum, and p50 … p99.9; `None` when empty.
    pub fn summary(&self) -> Option<Summary> {
        let q = |q| self.quantile_ms(q);
        Some(Summary {
            count: self.len(),
            mean: self.sum_ms / self.len() as f64,
            p50: q(0.5)?,
            p90: q(0.9)?,
            p95: q(0.95)?,
            p99: q(0.99)?,
            p999: q(0.999)?,
            max: self.max_ms,
        })
    }
}

/// The top of the bucket holding the `rank`-th smallest value of `hdr`
/// (1-based; `rank` is at most `hdr.len()`).
fn top_at_rank(hdr: &Hdr<u64>, rank: u64) -> u64 {
    let mut seen = 0;
    for bucket in hdr.iter_recorded() {
        seen += bucket.count_at_value();
        if seen >= rank {
            return bucket.value_iterated_to();
        }
    }
    hdr.max()
}

impl Extend<f64> for Histogram {
    fn extend<I: IntoIterator<Item = f64>>(&mut self, values: I) {
        for ms in values {
            self.record_ms(ms);
        }
    }
}

impl FromIterator<f64> for Histogram {
    fn from_iter<I: IntoIterator<Item = f64>>(values: I) -> Self {
        let mut histogram = Self::new();
        histogram.extend(values);
        histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::sorted_quantile;

    #[test]
    fn below_two_milliseconds_every_microsecond_is_exact() {
        let h: Histogram = (1..=1000).rev().map(|us| f64::from(us) / 1000.0).collect();
        let s = h.summary().unwrap();
        assert_eq!(s.count, 1000);
        assert!((s.mean - 0.5005).abs() < 1e-12, "{}", s.mean);
        assert_eq!(
            (s.p50, s.p90, s.p95, s.p99, s.p999, s.max),
            (0.5, 0.9, 0.95, 0.99, 0.999, 1.0)
        );
    }

    #[test]
    fn above_two_milliseconds_a_quantile_is_the_top_of_its_bucket() {
        // 50 ms = 50,000 µs sits in a 32 µs-wide bucket, [49,984, 50,016).
        let h: Histogram = [10.0, 50.0, 50.0, 90.0].into_iter().collect();
        assert_eq!(h.quantile_ms(0.5), Some(50.015));
        assert_eq!(h.quantile_ms(0.75), Some(50.015));
        // The extreme ranks are the exact extremes.
        assert_eq!(h.quantile_ms(0.0), Some(10.0));
        assert_eq!(h.quantile_ms(1.0), Some(90.0));
    }

    #[test]
    fn a_tiny_sample_agrees_with_its_exact_reading_to_a_tenth_of_a_percent() {
        let mut spawn_ms = [14.0, 11.0, 50.0, 12.0, 13.0];
        let h: Histogram = spawn_ms.iter().copied().collect();
        spawn_ms.sort_by(f64::total_cmp);
        for q in [0.1, 0.3, 0.5, 0.7, 0.9, 0.99] {
            let exact = sorted_quantile(&spawn_ms, q).unwrap();
            let read = h.quantile_ms(q).unwrap();
            assert!(
                read >= exact && read <= exact * 1.001,
                "q = {q}: {read} vs {exact}"
            );
        }
        // 13 ms = 13,000 µs, in the 8 µs-wide bucket [13,000, 13,008).
        assert_eq!(h.quantile_ms(0.5), Some(13.007));
    }

    #[test]
    fn the_rank_is_the_one_hdrhistogram_picks() {
        let values: Vec<u64> = (0..5000u64).map(|i| (i * 7919) % 250_000).collect();
        let mut hdr = Hdr::<u64>::new(SIGNIFICANT_DIGITS).unwrap();
        let mut h = Histogram::new();
        for &us in &values {
            hdr.record(us).unwrap();
            h.record_ms(us as f64 / 1000.0);
        }
        for q in [0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999] {
            let expected = hdr.value_at_quantile(q) as f64 / 1000.0;
            assert_eq!(h.quantile_ms(q), Some(expected), "q = {q}");
        }
    }

    #[test]
    fn values_below_zero_keep_their_order() {
        let h: Histogram = [2.0, -1.0, 0.0, -3.0, 1.0, -2.0].into_iter().collect();
        assert_eq!(h.quantile_ms(0.2), Some(-2.0));
        assert_eq!(h.quantile_ms(0.5), Some(-1.0));
        assert_eq!(h.quantile_ms(0.6), Some(0.0));
        assert_eq!(h.quantile_ms(0.8), Some(1.0));
        let s = h.summary().unwrap();
        assert_eq!((s.count, s.mean, s.max), (6, -0.5, 2.0));
        // 1,500 µs, mirrored: the top of its bucket is its own value.
        let early: Histogram = [-4.0, -1.5, -1.0].into_iter().collect();
        assert_eq!(early.quantile_ms(0.5), Some(-1.5));
    }

    #[test]
    fn nothing_recorded_gives_nothing() {
        let mut h = Histogram::new();
        h.record_ms(f64::NAN);
        h.record_ms(f64::INFINITY);
        assert!(h.is_empty());
        assert_eq!(h.quantile_ms(0.5), None);
        assert_eq!(h.summary(), None);
    }
}
