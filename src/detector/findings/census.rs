//! Skipping rules that cannot match: one pass over the content records which
//! bytes it holds and how many ASCII digits ([`Census`]); each rule names
//! what any match of it must contain ([`Needs`]). A rule whose needs are not
//! met is not run at all, so prose without digits never pays for the phone,
//! SSN and card regexes, and content without `:` or `=` never for the
//! secret rules.
//!
//! Needs are necessary conditions only — meeting them does not mean the rule
//! matches — so skipping never changes what a scan finds (the equivalence is
//! tested against scanning with every rule).

/// What any match of a rule must contain.
#[derive(Debug, Clone, Copy)]
pub(super) struct Needs {
    /// Bytes that must all occur. Lowercase letters also accept their
    /// uppercase form (folded rules search the lowercased content).
    all: &'static [u8],
    /// Bytes of which at least one must occur (empty: no condition).
    any: &'static [u8],
    /// The least number of ASCII digits.
    digits: usize,
}

impl Needs {
    /// No condition: the rule always runs.
    pub(super) const NOTHING: Needs = Needs {
        all: b"",
        any: b"",
        digits: 0,
    };

    /// Every byte of `all` must occur.
    pub(super) const fn all(all: &'static [u8]) -> Needs {
        Needs {
            all,
            any: b"",
            digits: 0,
        }
    }

    /// At least one byte of `any` must occur, too.
    pub(super) const fn and_any(self, any: &'static [u8]) -> Needs {
        Needs { any, ..self }
    }

    /// At least `digits` ASCII digits must occur, too.
    pub(super) const fn and_digits(self, digits: usize) -> Needs {
        Needs { digits, ..self }
    }
}

/// Which bytes a content holds (each letter also under its lowercase form)
/// and how many of them are ASCII digits.
pub(super) struct Census {
    present: [bool; 256],
    digits: usize,
}

impl Census {
    /// One pass over `content`.
    pub(super) fn of(content: &str) -> Self {
        let mut present = [false; 256];
        let mut digits = 0;
        for &byte in content.as_bytes() {
            present[usize::from(byte)] = true;
            digits += usize::from(byte.is_ascii_digit());
        }
        for upper in b'A'..=b'Z' {
            if present[usize::from(upper)] {
                present[usize::from(upper.to_ascii_lowercase())] = true;
            }
        }
        Self { present, digits }
    }

    /// Whether a match with these needs could exist in the content.
    pub(super) fn admits(&self, needs: &Needs) -> bool {
        let has = |byte: &u8| self.present[usize::from(*byte)];
        self.digits >= needs.digits
            && needs.all.iter().all(has)
            && (needs.any.is_empty() || needs.any.iter().any(has))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_digits_and_folds_letters() {
        let census = Census::of("Call 415 or MAIL");
        assert_eq!(census.digits, 3);
        assert!(census.admits(&Needs::all(b"mail")));
        assert!(census.admits(&Needs::all(b"MAIL")));
        assert!(!census.admits(&Needs::all(b"c@")));
        assert!(census.admits(&Needs::all(b"4").and_digits(3)));
        assert!(!census.admits(&Needs::NOTHING.and_digits(4)));
    }

    #[test]
    fn uppercase_needs_stay_case_sensitive() {
        let census = Census::of("akia");
        assert!(!census.admits(&Needs::all(b"AKI")));
        assert!(census.admits(&Needs::all(b"aki")));
    }

    #[test]
    fn any_needs_one_of_its_bytes() {
        let needs = Needs::all(b"a").and_any(b":=");
        assert!(Census::of("a=b").admits(&needs));
        assert!(Census::of("a: b").admits(&needs));
        assert!(!Census::of("a b").admits(&needs));
        assert!(Census::of("").admits(&Needs::NOTHING));
    }
}
