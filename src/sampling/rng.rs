//! Seeded, portable randomness per request.
//!
//! Each request's draws come from ChaCha8 — a named generator whose output is
//! fixed by its specification, unlike `StdRng` — keyed by (seed, detector id)
//! and positioned on stream `seq`, the request's sequence number on that
//! detector. So the k-th request gets the same draws whatever the
//! concurrency, and detectors sharing a seed still draw independently.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The per-detector key from which every request's generator is derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeedKey([u8; 32]);

impl SeedKey {
    /// Derives the key of one detector from the fleet seed and its id.
    pub(crate) fn new(seed: u64, detector_id: &str) -> Self {
        let mut state = seed ^ fnv1a(detector_id.as_bytes());
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        Self(key)
    }

    /// The generator for request number `seq`.
    pub(crate) fn rng(&self, seq: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::from_seed(self.0);
        rng.set_stream(seq);
        rng
    }
}

/// FNV-1a, 64-bit: a fixed, documented hash (std's hasher is not stable).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// SplitMix64 step: spreads a 64-bit state into well-mixed words.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A fresh seed from the operating system, for runs without `--seed`.
pub(crate) fn entropy_seed() -> u64 {
    rand::random()
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    #[test]
    fn same_inputs_give_the_same_stream() {
        let a: Vec<u64> = SeedKey::new(7, "d").rng(3).random_iter().take(4).collect();
        let b: Vec<u64> = SeedKey::new(7, "d").rng(3).random_iter().take(4).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn seq_detector_and_seed_each_change_the_stream() {
        let first = |seed, id: &str, seq| SeedKey::new(seed, id).rng(seq).random::<u64>();
        let base = first(7, "d", 3);
        assert_ne!(base, first(7, "d", 4));
        assert_ne!(base, first(7, "e", 3));
        assert_ne!(base, first(8, "d", 3));
    }

    #[test]
    fn the_generator_is_pinned() {
        // ChaCha8 keyed by our derivation must never change output: a seed
        // written in a CI config has to replay the same run next year.
        let value: u64 = SeedKey::new(42, "mock-failing-detector").rng(1).random();
        assert_eq!(value, PINNED);
    }

    const PINNED: u64 = 7_838_811_282_761_599_283;
}
