//! The slow tail: validated from a [`SlowTailSpec`], applied to a draw
//! (multiply by `U(lo, hi)` with probability `p`), its effect on the mean, and
//! the CDF of the multiplied draw (integrated over the multiplier).

use rand::Rng;

use super::numerics::integrate;
use crate::profile::{SlowTailSpec, SpecError};

/// Absolute tolerance of the slow-tail integral (the integrand is a CDF in [0, 1]).
const TAIL_TOLERANCE: f64 = 1e-9;

/// Validated slow tail.
#[derive(Debug, Clone, Copy)]
pub(super) struct SlowTail {
    pub(super) probability: f64,
    pub(super) lo: f64,
    pub(super) hi: f64,
}

impl SlowTail {
    pub(super) fn new(spec: &SlowTailSpec) -> Result<Self, SpecError> {
        let p = spec.probability;
        if !(0.0..=1.0).contains(&p) {
            return Err(SpecError::new(
                "slow_tail.probability",
                format!("must be within [0, 1], got {p}"),
            ));
        }
        let [lo, hi] = spec.multiplier;
        let problem = if !lo.is_finite() || !hi.is_finite() {
            Some(format!("bounds must be finite numbers, got [{lo}, {hi}]"))
        } else if lo < 0.0 {
            Some(format!("lower bound must be >= 0, got {lo}"))
        } else if lo > hi {
            Some(format!("lower bound {lo} must be <= upper bound {hi}"))
        } else {
            None
        };
        match problem {
            Some(reason) => Err(SpecError::new("slow_tail.multiplier", reason)),
            None => Ok(Self {
                probability: p,
                lo,
                hi,
            }),
        }
    }

    pub(super) fn apply<R: Rng + ?Sized>(&self, ms: f64, rng: &mut R) -> f64 {
        if rng.random::<f64>() < self.probability {
            ms * (self.lo + (self.hi - self.lo) * rng.random::<f64>())
        } else {
            ms
        }
    }

    /// E\[factor\] applied to the mean by the tail.
    pub(super) fn mean_factor(&self) -> f64 {
        1.0 - self.probability + self.probability * 0.5 * (self.lo + self.hi)
    }

    /// P(M·X <= z) for M ~ U(lo, hi), given X's CDF and its breakpoints.
    pub(super) fn mixed_cdf(
        &self,
        z: f64,
        base_cdf: &dyn Fn(f64) -> f64,
        base_breaks: &[f64],
    ) -> f64 {
        let given_m = |m: f64| {
            if m > 0.0 {
                base_cdf(z / m)
            } else {
                f64::from(u8::from(z >= 0.0))
            }
        };
        if self.hi <= self.lo {
            return given_m(self.lo);
        }
        // The integrand jumps or kinks where z / m crosses a base breakpoint.
        let breaks: Vec<f64> = base_breaks
            .iter()
            .filter(|&&b| b > 0.0)
            .map(|b| z / b)
            .collect();
        let width = self.hi - self.lo;
        integrate(&given_m, self.lo, self.hi, &breaks, TAIL_TOLERANCE * width) / width
    }
}
