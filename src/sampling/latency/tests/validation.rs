//! Which specs validation accepts, which it rejects (naming the field), and
//! how its messages read.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{spec, with_tail};
use crate::profile::{LatencyKind, LatencySpec};

#[test]
fn default_and_constructors_are_valid() {
    let lat = LatencySpec::default().validate().expect("default is valid");
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    assert_eq!(lat.sample_ms(&mut rng), 0.0);
    assert!(LatencySpec::uniform(1.0, 1.0).validate().is_ok());
    assert!(
        spec(LatencyKind::Normal, &[("mean", -100.0), ("sd", 50.0)])
            .validate()
            .is_ok()
    );
}

#[test]
fn validation_rejects_with_field() {
    use LatencyKind::*;
    let tail = |p, m| with_tail(LatencySpec::fixed(1.0), p, m);
    let cases: Vec<(&str, LatencySpec, &str)> = vec![
        ("missing ms", LatencySpec::bare(Fixed), "ms"),
        ("uniform missing max", spec(Uniform, &[("min", 1.0)]), "max"),
        (
            "sd on uniform",
            spec(Uniform, &[("min", 1.0), ("max", 2.0), ("sd", 3.0)]),
            "sd",
        ),
        (
            "ms on normal",
            spec(Normal, &[("ms", 1.0), ("mean", 1.0), ("sd", 1.0)]),
            "ms",
        ),
        (
            "p50 on lognormal",
            spec(Lognormal, &[("median", 1.0), ("p50", 2.0)]),
            "p50",
        ),
        ("negative ms", LatencySpec::fixed(-1.0), "ms"),
        ("nan ms", LatencySpec::fixed(f64::NAN), "ms"),
        (
            "infinite max",
            LatencySpec::uniform(1.0, f64::INFINITY),
            "max",
        ),
        ("min > max", LatencySpec::uniform(5.0, 2.0), "min"),
        ("normal missing sd", spec(Normal, &[("mean", 1.0)]), "sd"),
        ("sd zero", spec(Normal, &[("mean", 1.0), ("sd", 0.0)]), "sd"),
        (
            "mean < -2 sd",
            spec(Normal, &[("mean", -101.0), ("sd", 50.0)]),
            "mean",
        ),
        (
            "both forms",
            spec(
                Lognormal,
                &[("median", 1.0), ("p99", 2.0), ("mu", 0.0), ("sigma", 1.0)],
            ),
            "mu",
        ),
        ("median only", spec(Lognormal, &[("median", 300.0)]), "p99"),
        ("p99 only", spec(Lognormal, &[("p99", 300.0)]), "median"),
        ("mu only", spec(Lognormal, &[("mu", 5.0)]), "sigma"),
        ("sigma only", spec(Lognormal, &[("sigma", 1.0)]), "mu"),
        ("no lognormal form", LatencySpec::bare(Lognormal), "median"),
        (
            "p99 < median",
            spec(Lognormal, &[("median", 300.0), ("p99", 200.0)]),
            "p99",
        ),
        (
            "p99 == median",
            spec(Lognormal, &[("median", 300.0), ("p99", 300.0)]),
            "p99",
        ),
        (
            "median zero",
            spec(Lognormal, &[("median", 0.0), ("p99", 300.0)]),
            "median",
        ),
        (
            "sigma zero",
            spec(Lognormal, &[("mu", 5.0), ("sigma", 0.0)]),
            "sigma",
        ),
        (
            "negative sigma",
            spec(Lognormal, &[("mu", 5.0), ("sigma", -1.0)]),
            "sigma",
        ),
        ("exp mean zero", spec(Exponential, &[("mean", 0.0)]), "mean"),
        (
            "exp mean negative",
            spec(Exponential, &[("mean", -5.0)]),
            "mean",
        ),
        (
            "pareto scale zero",
            spec(Pareto, &[("scale", 0.0), ("shape", 2.0)]),
            "scale",
        ),
        (
            "pareto shape zero",
            spec(Pareto, &[("scale", 1.0), ("shape", 0.0)]),
            "shape",
        ),
        (
            "missing p999",
            spec(Percentiles, &[("p50", 1.0), ("p90", 2.0), ("p99", 3.0)]),
            "p999",
        ),
        (
            "p90 < p50",
            spec(
                Percentiles,
                &[("p50", 5.0), ("p90", 2.0), ("p99", 6.0), ("p999", 7.0)],
            ),
            "p90",
        ),
        (
            "p0 > p50",
            spec(
                Percentiles,
                &[
                    ("p0", 9.0),
                    ("p50", 5.0),
                    ("p90", 6.0),
                    ("p99", 7.0),
                    ("p999", 8.0),
                ],
            ),
            "p50",
        ),
        (
            "p100 < p999",
            spec(
                Percentiles,
                &[
                    ("p50", 5.0),
                    ("p90", 6.0),
                    ("p99", 7.0),
                    ("p999", 8.0),
                    ("p100", 7.5),
                ],
            ),
            "p100",
        ),
        (
            "min_ms > max_ms",
            spec(Fixed, &[("ms", 1.0), ("min_ms", 10.0), ("max_ms", 5.0)]),
            "min_ms",
        ),
        (
            "negative max_ms",
            spec(Fixed, &[("ms", 1.0), ("max_ms", -5.0)]),
            "max_ms",
        ),
        (
            "probability > 1",
            tail(1.5, [2.0, 4.0]),
            "slow_tail.probability",
        ),
        (
            "probability < 0",
            tail(-0.1, [2.0, 4.0]),
            "slow_tail.probability",
        ),
        (
            "probability nan",
            tail(f64::NAN, [2.0, 4.0]),
            "slow_tail.probability",
        ),
        (
            "multiplier lo > hi",
            tail(0.1, [4.0, 2.0]),
            "slow_tail.multiplier",
        ),
        (
            "multiplier lo < 0",
            tail(0.1, [-1.0, 2.0]),
            "slow_tail.multiplier",
        ),
        (
            "multiplier inf",
            tail(0.1, [1.0, f64::INFINITY]),
            "slow_tail.multiplier",
        ),
    ];
    for (name, s, field) in cases {
        let err = s.validate().expect_err(name);
        assert_eq!(err.field, field, "{name}: {err}");
        assert!(!err.reason.is_empty(), "{name}");
    }
}

#[test]
fn validation_messages_are_human() {
    let err = |s: LatencySpec| s.validate().expect_err("invalid").to_string();
    assert_eq!(
        err(spec(LatencyKind::Uniform, &[("min", 1.0)])),
        "max: uniform needs `max`"
    );
    assert_eq!(
        err(spec(
            LatencyKind::Uniform,
            &[("min", 1.0), ("max", 2.0), ("sd", 3.0)]
        )),
        "sd: does not apply to model `uniform` (it takes: min, max)"
    );
    let e = LatencySpec::bare(LatencyKind::Fixed)
        .validate()
        .expect_err("invalid");
    assert_eq!(e.within("latency").field, "latency.ms");
}

#[test]
fn models_that_mostly_draw_past_a_day_are_refused() {
    use LatencyKind::*;
    let refused = |s: LatencySpec| {
        let e = s.validate().expect_err("refused");
        assert!(e.to_string().contains("24 h"), "{e}");
    };
    refused(spec(Pareto, &[("scale", 10.0), ("shape", 1e-300)]));
    refused(spec(Lognormal, &[("mu", 17.73), ("sigma", 2.0)]));
    refused(with_tail(LatencySpec::fixed(100.0), 0.5, [1e308, 1e308]));
    refused(LatencySpec::fixed(1e22));
    // A rare tail past a day is kept; those draws are cut to 24 h.
    let rare = with_tail(LatencySpec::fixed(100.0), 0.001, [1e308, 1e308]);
    let latency = rare.validate().expect("a 0.1 % tail is accepted");
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let longest = (0..20_000)
        .map(|_| crate::sampling::ms(latency.sample_ms(&mut rng)))
        .max()
        .expect("draws");
    assert_eq!(longest, std::time::Duration::from_secs(86_400));
}

#[test]
fn quantile_tables_are_checked_point_by_point() {
    let table = |points: Vec<[f64; 2]>| {
        let mut s = LatencySpec::bare(LatencyKind::Percentiles);
        s.points = Some(points);
        s
    };
    let good = table(vec![[0.0, 1.0], [0.5, 2.0], [1.0, 3.0]]);
    assert!(good.validate().is_ok());
    let cases = [
        (table(vec![[0.0, 1.0]]), "points", "needs 2 to 1001 points"),
        (
            table(vec![[0.0, 1.0], [0.9, 2.0]]),
            "points",
            "from q = 0 to q = 1",
        ),
        (
            table(vec![[0.0, 1.0], [0.5, 0.5], [1.0, 3.0]]),
            "points[1]",
            "non-decreasing",
        ),
        (
            table(vec![[0.0, 1.0], [0.5, 2.0], [0.5, 3.0], [1.0, 4.0]]),
            "points[2]",
            "above the previous",
        ),
        (
            table(vec![[0.0, -1.0], [1.0, 3.0]]),
            "points[0]",
            "within 0..=86400000",
        ),
        (
            table(vec![[0.0, 1.0], [1.5, 3.0]]),
            "points[1]",
            "within 0..=1",
        ),
    ];
    for (spec, field, reason) in cases {
        let error = spec.validate().unwrap_err();
        assert_eq!(error.field, field, "{error}");
        assert!(error.reason.contains(reason), "{error}");
    }
    let mut both = good.clone();
    both.p50 = Some(2.0);
    assert_eq!(both.validate().unwrap_err().field, "p50");
    let mut elsewhere = LatencySpec::fixed(1.0);
    elsewhere.points = Some(vec![[0.0, 1.0], [1.0, 2.0]]);
    assert_eq!(elsewhere.validate().unwrap_err().field, "points");
}
