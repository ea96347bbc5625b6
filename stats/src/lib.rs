//! The one percentile rule of mockdet's tools — `mockdet bench`,
//! `mockdet orchestrator bench` and `mockdet perf` — so that a p99 from one
//! of them means what a p99 from another means.
//!
//! # The rule: nearest rank
//!
//! The q-quantile of n recorded values is the value of rank ⌈q·n⌉ in
//! ascending order (rank 1 when q·n < 1): the smallest recorded value v
//! such that at least q·n of the values are ≤ v. It is always a recorded
//! value — there is no interpolation between ranks — and it is the
//! definition of HdrHistogram's `value_at_quantile`, whose `f64` arithmetic
//! for ⌈q·n⌉ [`rank`] repeats. The median of an even count is the lower
//! middle value; p99 of 100 values is the 99th.
//!
//! # Three readings of it
//!
//! - **Exact** ([`sorted_quantile`], [`counted_quantile`]): a sorted
//!   sample, or `(value, count)` pairs; for few values (a handful of spawn
//!   timings, the medians of a few rounds) and for counts a tool already
//!   keeps (Locust's response times, rounded by Locust).
//! - **HDR histogram** ([`Histogram`], [`Summary`]): for many samples.
//!   Milliseconds are rounded to whole microseconds and recorded in an HDR
//!   histogram (the `hdrhistogram` crate) with 3 significant digits; a
//!   quantile is the top of the bucket holding rank ⌈q·n⌉ — never below the
//!   exact answer, above it by at most 0.1 % (1 µs under 2.048 ms). Count,
//!   mean and maximum are exact, and so are the lowest and highest ranks.
//! - **Prometheus buckets** ([`bucket_quantile`]): a scrape keeps only
//!   cumulative counts per bound, so the value itself is gone. The reading
//!   is PromQL's `histogram_quantile` (linear interpolation inside the
//!   bucket that holds rank ⌈q·n⌉): an estimate that lies in the same
//!   bucket as the nearest-rank value, so it is off by less than that
//!   bucket's width, and is only a lower bound in the `+Inf` bucket.
//!
//! Figures the load tools compute themselves are not ours to define: k6's
//! `p(95)` interpolates between ranks, and Locust's CSV and history columns
//! are Locust's own. With the thousands of samples of a load run the two
//! rules differ by at most the gap between two neighbouring samples.
//!
//! # Layout
//!
//! - `rank`: the rule ([`rank`]) and the exact readings.
//! - `histogram`: [`Histogram`] and [`Summary`].
//! - `buckets`: [`bucket_quantile`].

mod buckets;
mod histogram;
mod rank;

pub use buckets::bucket_quantile;
pub use histogram::{Histogram, SIGNIFICANT_DIGITS, Summary};
pub use rank::{counted_quantile, rank, sorted_quantile};
