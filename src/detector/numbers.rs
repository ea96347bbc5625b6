//! Numbers in answer bodies, written exactly as serde_json writes them.
//!
//! Most numbers an answer carries are rule confidences and scores such as
//! `0.95`, and delays such as `0.0`: a native answer carries six of them.
//! serde_json finds the shortest text that reads back as the same `f64`
//! for each, which showed in the throughput benchmark's profile. A value
//! that is a whole number of hundredths has a known shortest text, so
//! [`write_f64`] writes that directly and leaves every other value to
//! serde_json (the tests hold both paths to serde_json's bytes).

/// Largest value the hundredths path writes: far below where serde_json
/// switches to exponent notation, and exact in hundredths as an `f64`.
const HUNDREDTHS_BELOW: f64 = 1e7;

/// Appends `x` as serde_json writes it.
pub(crate) fn write_f64(out: &mut Vec<u8>, x: f64) {
    match hundredths(x) {
        Some(hundredths) => write_hundredths(out, hundredths),
        None => {
            // Writing a number into a `Vec` cannot fail.
            let _ = serde_json::to_writer(&mut *out, &x);
        }
    }
}

/// `Some(k)` when `x` is the `f64` nearest to `k / 100` (non-negative,
/// below [`HUNDREDTHS_BELOW`], not `-0.0`). Then no decimal text with two
/// or fewer fractional digits other than `k / 100` reads back as `x` (such
/// decimals are 0.01 apart, `f64`s here far closer), so its text with
/// trailing zeros dropped is the shortest one.
fn hundredths(x: f64) -> Option<u64> {
    if !(0.0..HUNDREDTHS_BELOW).contains(&x) || x.is_sign_negative() {
        return None;
    }
    // The nearest whole number of hundredths (`round` would be a libm call
    // on baseline x86-64). Should this pick a neighbour, the check below
    // fails and serde_json writes `x`: slower, never wrong.
    let k = (x * 100.0 + 0.5) as u64;
    // IEEE division is correctly rounded: equality means `x` is the `f64`
    // nearest to `k / 100`.
    (k as f64 / 100.0 == x).then_some(k)
}

/// `k / 100` as serde_json writes an `f64`: at least one fractional digit
/// (`1.0`), no trailing zero after it (`0.5`, `0.05`, `12.25`).
fn write_hundredths(out: &mut Vec<u8>, k: u64) {
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(digits.format(k / 100).as_bytes());
    let cents = (k % 100) as u8;
    out.push(b'.');
    out.push(b'0' + cents / 10);
    if cents % 10 != 0 {
        out.push(b'0' + cents % 10);
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    fn ours(x: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, x);
        String::from_utf8(out).unwrap()
    }

    fn serde(x: f64) -> String {
        serde_json::to_string(&x).unwrap()
    }

    #[test]
    fn every_hundredth_up_to_a_thousand_is_written_as_serde_json_writes_it() {
        for k in 0..=100_000u64 {
            let x = k as f64 / 100.0;
            assert_eq!(hundredths(x), Some(k), "{x}");
            assert_eq!(ours(x), serde(x), "{k} hundredths");
        }
    }

    #[test]
    fn the_values_answers_carry_take_the_fast_path() {
        for x in [
            0.0,
            0.5,
            0.95,
            0.9,
            0.85,
            0.05,
            0.01,
            1.0,
            12.25,
            9_999_999.99,
        ] {
            assert!(hundredths(x).is_some(), "{x}");
            assert_eq!(ours(x), serde(x), "{x}");
        }
    }

    #[test]
    fn other_values_are_left_to_serde_json() {
        let others = [
            -0.0,
            -0.95,
            1e-6,
            0.001,
            0.125,
            1.0 / 3.0,
            0.1 + 0.2,
            1e7,
            1e16,
            1e300,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::EPSILON,
            5e-324,
        ];
        for x in others {
            assert_eq!(hundredths(x), None, "{x}");
            assert_eq!(ours(x), serde(x), "{x}");
        }
        // Not numbers in JSON: serde_json writes `null`, and so do we.
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(ours(x), "null");
        }
    }

    #[test]
    fn random_values_of_every_magnitude_match_serde_json() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..200_000 {
            // Random bit patterns cover every exponent; rounded ones the
            // neighbourhood of the fast path.
            let bits = f64::from_bits(rng.random());
            let near = (rng.random_range(0.0..2e7f64) * 100.0).round() / 100.0
                + f64::from(rng.random_range(-2i32..=2)) * f64::EPSILON;
            for x in [bits, near, near.next_up(), near.next_down()] {
                assert_eq!(ours(x), serde(x), "{x:e} ({:#x})", x.to_bits());
            }
        }
    }
}
