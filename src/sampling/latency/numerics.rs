//! Numerics behind the exact CDF and mean: the standard normal CDF Φ,
//! piecewise adaptive Simpson integration split at breakpoints, and
//! `next_down` (the float just below a value).

use std::f64::consts::SQRT_2;

/// Equal panels each integration piece starts with before adaptive refinement.
const PANELS: usize = 16;

/// Maximum bisection depth of adaptive Simpson refinement.
const MAX_DEPTH: u32 = 40;

/// Standard normal CDF Φ(t), accurate in both tails.
pub(super) fn phi(t: f64) -> f64 {
    0.5 * libm::erfc(-t / SQRT_2)
}

/// ∫_a^b f, split at `breaks` (where `f` may jump or kink), each piece by
/// adaptive Simpson. Piece ends are evaluated just inside the piece so a jump
/// exactly at a break is attributed to the correct side. `tol` is absolute.
pub(super) fn integrate(f: &dyn Fn(f64) -> f64, a: f64, b: f64, breaks: &[f64], tol: f64) -> f64 {
    if b <= a {
        return 0.0;
    }
    let mut points: Vec<f64> = breaks.iter().copied().filter(|&x| x > a && x < b).collect();
    points.extend([a, b]);
    points.sort_by(f64::total_cmp);
    points.dedup();
    points
        .windows(2)
        .map(|w| integrate_piece(f, w[0], w[1], tol * (w[1] - w[0]) / (b - a)))
        .sum()
}

/// ∫_a^b f for an `f` smooth inside (a, b), from [`PANELS`] adaptive panels.
fn integrate_piece(f: &dyn Fn(f64) -> f64, a: f64, b: f64, tol: f64) -> f64 {
    let nudge = (b - a) * 1e-12;
    let h = (b - a) / PANELS as f64;
    let at = |i: usize| if i == PANELS { b } else { a + h * i as f64 };
    let value = |i: usize| match i {
        0 => f(a + nudge),
        _ if i == PANELS => f(b - nudge),
        _ => f(at(i)),
    };
    let mut left = value(0);
    let mut total = 0.0;
    for i in 0..PANELS {
        let right = value(i + 1);
        let panel = Panel::new(f, at(i), at(i + 1), left, right);
        total += adaptive_simpson(f, &panel, tol / PANELS as f64, MAX_DEPTH);
        left = right;
    }
    total
}

/// One Simpson panel: ends, midpoint value and its Simpson estimate.
struct Panel {
    a: f64,
    b: f64,
    fa: f64,
    fm: f64,
    fb: f64,
    whole: f64,
}

impl Panel {
    fn new(f: &dyn Fn(f64) -> f64, a: f64, b: f64, fa: f64, fb: f64) -> Self {
        let fm = f(0.5 * (a + b));
        let whole = (b - a) / 6.0 * (fa + 4.0 * fm + fb);
        Self {
            a,
            b,
            fa,
            fm,
            fb,
            whole,
        }
    }
}

/// Adaptive Simpson with Richardson correction.
fn adaptive_simpson(f: &dyn Fn(f64) -> f64, p: &Panel, tol: f64, depth: u32) -> f64 {
    let m = 0.5 * (p.a + p.b);
    let left = Panel::new(f, p.a, m, p.fa, p.fm);
    let right = Panel::new(f, m, p.b, p.fm, p.fb);
    let delta = left.whole + right.whole - p.whole;
    if depth == 0 || delta.abs() <= 15.0 * tol {
        return left.whole + right.whole + delta / 15.0;
    }
    adaptive_simpson(f, &left, 0.5 * tol, depth - 1)
        + adaptive_simpson(f, &right, 0.5 * tol, depth - 1)
}

/// The largest float below `x` (`f64::next_down`, which needs Rust 1.86).
pub(super) fn next_down(x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY {
        return x;
    }
    if x == 0.0 {
        return -f64::from_bits(1);
    }
    let bits = x.to_bits();
    f64::from_bits(if x > 0.0 { bits - 1 } else { bits + 1 })
}
