//! The exact CDF, mean and description of validated models, checked
//! against closed forms and hand-computed values.

use std::f64::consts::PI;

use super::super::numerics::next_down;
use super::{lognormal_300_1800, percentiles, spec, with_tail};
use crate::profile::{LatencyKind, LatencySpec};

#[test]
fn lognormal_hits_its_median_and_p99() {
    let lat = lognormal_300_1800().validate().expect("valid");
    assert!((lat.cdf(300.0) - 0.5).abs() < 1e-12);
    assert!((lat.cdf(1800.0) - 0.99).abs() < 1e-12);
}

#[test]
fn percentile_cdf_passes_through_the_points() {
    let lat = percentiles().validate().expect("valid");
    // p0 defaults to 0, p100 to p999 + (p999 - p99) = 4800.
    for (x, p) in [
        (0.0, 0.0),
        (300.0, 0.5),
        (600.0, 0.9),
        (1200.0, 0.99),
        (3000.0, 0.999),
    ] {
        assert!((lat.cdf(x) - p).abs() < 1e-12, "cdf({x})");
    }
    assert!(lat.cdf(4799.0) < 1.0);
    assert_eq!(lat.cdf(4800.0), 1.0);
    assert!((lat.cdf(450.0) - 0.7).abs() < 1e-12);
}

#[test]
fn truncated_normal_has_no_mass_below_zero() {
    let lat = spec(LatencyKind::Normal, &[("mean", 0.0), ("sd", 10.0)])
        .validate()
        .expect("valid");
    assert_eq!(lat.cdf(0.0), 0.0);
    assert_eq!(lat.cdf(-1.0), 0.0);
    // Half-normal: mean = sd * sqrt(2 / pi).
    let mean = lat.mean_ms().expect("finite");
    assert!((mean - 10.0 * (2.0 / PI).sqrt()).abs() < 1e-9);
}

#[test]
fn clamps_are_point_masses() {
    let mut s = lognormal_300_1800();
    s.min_ms = Some(150.0);
    s.max_ms = Some(2000.0);
    let lat = s.validate().expect("valid");
    let unclamped = lognormal_300_1800().validate().expect("valid");
    assert_eq!(lat.cdf(next_down(150.0)), 0.0);
    assert!((lat.cdf(150.0) - unclamped.cdf(150.0)).abs() < 1e-15);
    assert!(lat.cdf(next_down(2000.0)) < 1.0);
    assert_eq!(lat.cdf(2000.0), 1.0);
}

#[test]
fn mean_ms_closed_forms() {
    let mean = |s: LatencySpec| s.validate().expect("valid").mean_ms();
    assert_eq!(mean(LatencySpec::uniform(200.0, 500.0)), Some(350.0));
    assert_eq!(
        mean(spec(LatencyKind::Exponential, &[("mean", 200.0)])),
        Some(200.0)
    );
    let pareto = |shape| spec(LatencyKind::Pareto, &[("scale", 100.0), ("shape", shape)]);
    assert_eq!(mean(pareto(3.0)), Some(150.0));
    assert_eq!(mean(pareto(1.0)), None);
    let ln = mean(spec(LatencyKind::Lognormal, &[("mu", 5.0), ("sigma", 0.5)]));
    assert!((ln.expect("finite") - (5.125f64).exp()).abs() < 1e-9);
    // Percentiles: trapezoids between the knots.
    let expected = 0.5 * 150.0 + 0.4 * 450.0 + 0.09 * 900.0 + 0.009 * 2100.0 + 0.001 * 3900.0;
    assert!((mean(percentiles()).expect("finite") - expected).abs() < 1e-9);
}

#[test]
fn mean_ms_through_clamps_and_tail_is_exact() {
    let close = |s: LatencySpec, want: f64| {
        let got = s.validate().expect("valid").mean_ms().expect("finite");
        assert!((got - want).abs() < 1e-6, "{s:?}: {got} vs {want}");
    };
    close(
        spec(LatencyKind::Fixed, &[("ms", 100.0), ("min_ms", 150.0)]),
        150.0,
    );
    close(
        spec(
            LatencyKind::Uniform,
            &[("min", 0.0), ("max", 100.0), ("max_ms", 50.0)],
        ),
        37.5,
    );
    let tailed = with_tail(LatencySpec::fixed(100.0), 0.5, [2.0, 4.0]);
    close(tailed.clone(), 200.0);
    // 100 w.p. 1/2, else U(200, 400) capped at 250: 50 + 0.5 (0.25·225 + 0.75·250).
    close(
        LatencySpec {
            max_ms: Some(250.0),
            ..tailed
        },
        171.875,
    );
}

#[test]
fn describe_mentions_everything() {
    let mut s = with_tail(lognormal_300_1800(), 0.1, [2.0, 4.0]);
    s.min_ms = Some(100.0);
    s.max_ms = Some(2000.0);
    let lat = s.validate().expect("valid");
    assert_eq!(
        lat.to_string(),
        "lognormal(median 300 ms, p99 1800 ms), clamped [100, 2000] ms, 10 % slow tail ×[2, 4]"
    );
    assert_eq!(lat.describe(), lat.to_string());
    let p = percentiles().validate().expect("valid").describe();
    assert_eq!(
        p,
        "percentiles(p0 0, p50 300, p90 600, p99 1200, p999 3000, p100 4800) ms"
    );
}
