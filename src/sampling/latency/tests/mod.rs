//! Tests of the latency models, with the spec builders they share:
//! `distribution` checks seeded draws against the exact CDF and mean, `model`
//! the CDF, mean and description themselves, `validation` what specs are
//! rejected and why, `spec_serde` the TOML form.

use crate::profile::{LatencyKind, LatencySpec, SlowTailSpec};

mod distribution;
mod model;
mod spec_serde;
mod validation;

fn spec(model: LatencyKind, fields: &[(&str, f64)]) -> LatencySpec {
    let mut s = LatencySpec::bare(model);
    for &(name, v) in fields {
        let slot = match name {
            "ms" => &mut s.ms,
            "min" => &mut s.min,
            "max" => &mut s.max,
            "mean" => &mut s.mean,
            "sd" => &mut s.sd,
            "median" => &mut s.median,
            "p99" => &mut s.p99,
            "mu" => &mut s.mu,
            "sigma" => &mut s.sigma,
            "scale" => &mut s.scale,
            "shape" => &mut s.shape,
            "p0" => &mut s.p0,
            "p50" => &mut s.p50,
            "p90" => &mut s.p90,
            "p999" => &mut s.p999,
            "p100" => &mut s.p100,
            "min_ms" => &mut s.min_ms,
            "max_ms" => &mut s.max_ms,
            other => panic!("unknown test field {other}"),
        };
        *slot = Some(v);
    }
    s
}

fn with_tail(mut s: LatencySpec, probability: f64, multiplier: [f64; 2]) -> LatencySpec {
    s.slow_tail = Some(SlowTailSpec {
        probability,
        multiplier,
    });
    s
}

fn lognormal_300_1800() -> LatencySpec {
    spec(
        LatencyKind::Lognormal,
        &[("median", 300.0), ("p99", 1800.0)],
    )
}

fn percentiles() -> LatencySpec {
    let knots = [
        ("p50", 300.0),
        ("p90", 600.0),
        ("p99", 1200.0),
        ("p999", 3000.0),
    ];
    spec(LatencyKind::Percentiles, &knots)
}
