//! Seeded draws of every model match its exact CDF (KS), mean and quantiles,
//! and the same seed gives the same draws.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::super::ks_statistic;
use super::super::numerics::next_down;
use super::{lognormal_300_1800, percentiles, spec, with_tail};
use crate::profile::{LatencyKind, LatencySpec};

const N: usize = 20_000;
/// DKW confidence level for the quantile checks.
const ALPHA: f64 = 1e-3;

/// KS, mean and quantile checks of `n` seeded draws against the model.
fn check_distribution(s: &LatencySpec, seed: u64) {
    let lat = s.validate().expect("test spec is valid");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut xs: Vec<f64> = (0..N).map(|_| lat.sample_ms(&mut rng)).collect();
    assert!(xs.iter().all(|x| x.is_finite() && *x >= 0.0), "{lat}");
    if let Some(lo) = s.min_ms {
        assert!(xs.iter().all(|&x| x >= lo), "{lat}: below min_ms");
    }
    if let Some(hi) = s.max_ms {
        assert!(xs.iter().all(|&x| x <= hi), "{lat}: above max_ms");
    }
    let n = N as f64;

    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let truth = lat.mean_ms().expect("finite mean");
    let tol = 5.0 * var.sqrt() / n.sqrt() + 1e-9 * truth.abs();
    assert!(
        (mean - truth).abs() <= tol,
        "{lat}: mean {mean} vs {truth} ± {tol}"
    );

    let d = ks_statistic(&mut xs, |x| lat.cdf(x));
    let critical = 1.628 / n.sqrt();
    assert!(d < critical, "{lat}: KS D = {d} >= {critical}");

    // xs is sorted now. DKW: |F_n - F| <= eps everywhere w.p. 1 - ALPHA.
    let eps = ((2.0 / ALPHA).ln() / (2.0 * n)).sqrt();
    for p in [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99] {
        let q = xs[((p * n).ceil() as usize).saturating_sub(1)];
        let (below, at) = (lat.cdf(next_down(q)), lat.cdf(q));
        assert!(
            below <= p + eps && at >= p - eps,
            "{lat}: empirical q{p} = {q} has F(q-) = {below}, F(q) = {at} (eps {eps})"
        );
    }
}

#[test]
fn fixed_matches_model() {
    check_distribution(&LatencySpec::fixed(250.0), 1);
}

#[test]
fn uniform_matches_model() {
    check_distribution(&LatencySpec::uniform(200.0, 500.0), 2);
}

#[test]
fn normal_matches_model() {
    check_distribution(
        &spec(LatencyKind::Normal, &[("mean", 300.0), ("sd", 80.0)]),
        3,
    );
}

#[test]
fn heavily_truncated_normal_matches_model() {
    // 79 % of the untruncated bell is below 0 and must be resampled.
    check_distribution(
        &spec(LatencyKind::Normal, &[("mean", -40.0), ("sd", 50.0)]),
        4,
    );
}

#[test]
fn lognormal_from_median_p99_matches_model() {
    check_distribution(&lognormal_300_1800(), 5);
}

#[test]
fn lognormal_from_mu_sigma_matches_model() {
    check_distribution(
        &spec(LatencyKind::Lognormal, &[("mu", 5.0), ("sigma", 0.5)]),
        6,
    );
}

#[test]
fn exponential_matches_model() {
    check_distribution(&spec(LatencyKind::Exponential, &[("mean", 200.0)]), 7);
}

#[test]
fn pareto_matches_model() {
    check_distribution(
        &spec(LatencyKind::Pareto, &[("scale", 100.0), ("shape", 3.0)]),
        8,
    );
}

#[test]
fn infinite_mean_pareto_clamped_matches_model() {
    let s = spec(
        LatencyKind::Pareto,
        &[("scale", 100.0), ("shape", 0.8), ("max_ms", 5000.0)],
    );
    check_distribution(&s, 9);
}

#[test]
fn percentiles_matches_model() {
    check_distribution(&percentiles(), 10);
}

#[test]
fn percentiles_with_tied_points_matches_model() {
    // p50 == p90: a 40 % point mass at 300 ms.
    let knots = [
        ("p50", 300.0),
        ("p90", 300.0),
        ("p99", 900.0),
        ("p999", 1000.0),
    ];
    check_distribution(&spec(LatencyKind::Percentiles, &knots), 11);
}

#[test]
fn a_quantile_table_matches_model_ties_included() {
    let mut s = LatencySpec::bare(LatencyKind::Percentiles);
    s.points = Some(vec![
        [0.0, 10.0],
        [0.2, 40.0],
        [0.35, 40.0],
        [0.6, 120.0],
        [0.95, 400.0],
        [1.0, 2000.0],
    ]);
    check_distribution(&s, 15);
    let lat = s.validate().unwrap();
    assert_eq!(
        lat.cdf(40.0),
        0.35,
        "a point mass from 0.2 to 0.35 at 40 ms"
    );
    assert!((lat.cdf(80.0) - 0.475).abs() < 1e-12);
    assert_eq!(lat.cdf(9.9), 0.0);
    assert_eq!(lat.cdf(2000.0), 1.0);
}

#[test]
fn clamped_lognormal_with_slow_tail_matches_model() {
    let mut s = with_tail(lognormal_300_1800(), 0.1, [2.0, 4.0]);
    s.min_ms = Some(150.0);
    s.max_ms = Some(2000.0);
    check_distribution(&s, 12);
}

#[test]
fn fixed_with_slow_tail_matches_model() {
    check_distribution(&with_tail(LatencySpec::fixed(100.0), 0.3, [2.0, 4.0]), 13);
}

#[test]
fn percentiles_with_slow_tail_matches_model() {
    check_distribution(&with_tail(percentiles(), 0.2, [1.5, 3.0]), 14);
}

#[test]
fn sampling_is_reproducible_per_seed() {
    let lat = with_tail(lognormal_300_1800(), 0.1, [2.0, 4.0])
        .validate()
        .expect("valid");
    let draw = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..100)
            .map(|_| lat.sample_ms(&mut rng))
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(42), draw(42));
}
