//! Skipping rules that cannot match: a census of the content records which
//! of the bytes rules need it holds and how many ASCII digits ([`Census`]); each rule names
//! what any match of it must contain ([`Needs`]). A rule whose needs are not
//! met is not run at all, so prose without digits never pays for the phone,
//! SSN and card regexes, and content without `:` or `=` never for the
//! secret rules. Where a rule's bytes are common in prose, it also names
//! words any match contains (`union` and `select`), looked for in the
//! lowercased content once its bytes are all there ([`Screen::admits_words`]).
//!
//! Needs are necessary conditions only — meeting them does not mean the rule
//! matches — so skipping never changes what a scan finds (the equivalence is
//! tested against scanning with every rule).

use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::table::RULES;

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
    /// Lowercase words that must all occur (in the lowercased content).
    words: &'static [&'static str],
    /// Lowercase words of which at least one must come right after the
    /// byte `after`, whitespace between (empty: no condition).
    any_word: &'static [&'static str],
    /// The byte `any_word` must follow.
    after: u8,
}

impl Needs {
    /// No condition: the rule always runs.
    pub(super) const NOTHING: Needs = Needs {
        all: b"",
        any: b"",
        digits: 0,
        words: &[],
        any_word: &[],
        after: 0,
    };

    /// Every byte of `all` must occur.
    pub(super) const fn all(all: &'static [u8]) -> Needs {
        Needs {
            all,
            ..Needs::NOTHING
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

    /// Every one of these lowercase words must occur, too (ASCII
    /// case-insensitively: they are looked for in the lowercased content).
    pub(super) const fn and_words(self, words: &'static [&'static str]) -> Needs {
        Needs { words, ..self }
    }

    /// At least one of these lowercase words must come right after the
    /// byte `after`, with nothing but whitespace (as a regex's `\s`)
    /// between, too. One `memchr` for the byte, where searching the content
    /// for each word would take a pass per word.
    pub(super) const fn and_any_word_after(
        self,
        after: u8,
        any_word: &'static [&'static str],
    ) -> Needs {
        Needs {
            any_word,
            after,
            ..self
        }
    }
}

/// The bytes some rule's needs mention, each given one bit of a `u64`; built
/// once from the rule table.
struct Tracked {
    /// Byte → the bits it stands for: its own, and for an uppercase letter
    /// also its lowercase form's.
    held_by: [u64; 256],
    /// Byte → its own bit (0 for an untracked byte).
    own: [u64; 256],
}

static TRACKED: LazyLock<Tracked> =
    LazyLock::new(|| Tracked::new(RULES.iter().map(|rule| &rule.needs)));

impl Tracked {
    fn new<'a>(needs: impl Iterator<Item = &'a Needs>) -> Self {
        let mut own = [0u64; 256];
        let mut next = 0u32;
        for byte in needs.flat_map(|n| n.all.iter().chain(n.any)) {
            let slot = &mut own[usize::from(*byte)];
            if *slot == 0 {
                assert!(
                    next < u64::BITS,
                    "rule needs mention over 64 distinct bytes"
                );
                *slot = 1 << next;
                next += 1;
            }
        }
        let mut held_by = own;
        for upper in b'A'..=b'Z' {
            held_by[usize::from(upper)] |= own[usize::from(upper.to_ascii_lowercase())];
        }
        Self { held_by, own }
    }

    /// The bits of `bytes`; `None` when one of them is untracked.
    fn mask(&self, bytes: &[u8]) -> Option<u64> {
        bytes.iter().try_fold(0, |mask, byte| {
            let bit = self.own[usize::from(*byte)];
            (bit != 0).then_some(mask | bit)
        })
    }
}

/// [`Needs`] as bit masks over the tracked bytes and word searchers,
/// worked out once per rule.
#[derive(Debug, Clone)]
pub(super) struct Screen {
    all: u64,
    any: u64,
    digits: usize,
    words: Box<[Finder<'static>]>,
    any_word: &'static [&'static str],
    after: u8,
}

impl Screen {
    /// The screen of a rule's needs.
    ///
    /// # Panics
    /// If the needs mention a byte no rule of the table does (they are the
    /// table's own needs; a test checks every rule).
    pub(super) fn of(needs: &Needs) -> Self {
        let tracked = &*TRACKED;
        let mask = |bytes| tracked.mask(bytes).expect("rule needs are tracked");
        let finders = |words: &'static [&'static str]| -> Box<[Finder<'static>]> {
            words
                .iter()
                .map(|word| Finder::new(word.as_bytes()))
                .collect()
        };
        Self {
            all: mask(needs.all),
            any: mask(needs.any),
            digits: needs.digits,
            words: finders(needs.words),
            any_word: needs.any_word,
            after: needs.after,
        }
    }

    /// Whether the rule names words a match must contain (checked by
    /// [`admits_words`](Self::admits_words) on the lowercased content).
    pub(super) fn has_words(&self) -> bool {
        !(self.words.is_empty() && self.any_word.is_empty())
    }

    /// Whether the lowercased content holds the words the rule needs.
    pub(super) fn admits_words(&self, folded: &str) -> bool {
        let found = |finder: &Finder<'_>| finder.find(folded.as_bytes()).is_some();
        self.words.iter().all(found) && (self.any_word.is_empty() || self.word_after(folded))
    }

    /// Whether one of `any_word` comes right after an `after` byte.
    fn word_after(&self, folded: &str) -> bool {
        let bytes = folded.as_bytes();
        memchr::memchr_iter(self.after, bytes).any(|at| {
            let rest = &bytes[at + 1..];
            let start = rest.iter().position(|b| !is_regex_space(*b));
            let rest = &rest[start.unwrap_or(rest.len())..];
            self.any_word
                .iter()
                .any(|word| rest.starts_with(word.as_bytes()))
        })
    }
}

/// `(?-u)\s`: space, `\t`, `\n`, `\v`, `\f`, `\r` (`u8::is_ascii_whitespace`
/// leaves out `\v`).
fn is_regex_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r')
}

/// Which tracked bytes a content holds (a letter need is met by either
/// case) and how many of its bytes are ASCII digits.
pub(super) struct Census {
    held: u64,
    digits: usize,
}

impl Census {
    /// Two passes over `content`: a table lookup and an OR per byte in four
    /// independent lanes, and a digit count the compiler vectorises (byte
    /// counters over chunks short enough not to overflow).
    pub(super) fn of(content: &str) -> Self {
        let held_by = &TRACKED.held_by;
        let bytes = content.as_bytes();
        let mut lanes = [0u64; 4];
        let mut quads = bytes.chunks_exact(4);
        for quad in &mut quads {
            lanes[0] |= held_by[usize::from(quad[0])];
            lanes[1] |= held_by[usize::from(quad[1])];
            lanes[2] |= held_by[usize::from(quad[2])];
            lanes[3] |= held_by[usize::from(quad[3])];
        }
        let mut held = lanes[0] | lanes[1] | lanes[2] | lanes[3];
        for byte in quads.remainder() {
            held |= held_by[usize::from(*byte)];
        }
        let digits = bytes
            .chunks(usize::from(u8::MAX))
            .map(|chunk| {
                let in_chunk: u8 = chunk.iter().map(|b| u8::from(b.is_ascii_digit())).sum();
                usize::from(in_chunk)
            })
            .sum();
        Self { held, digits }
    }

    /// Whether a match screened by `screen` could exist in the content.
    pub(super) fn admits(&self, screen: &Screen) -> bool {
        self.digits >= screen.digits
            && self.held & screen.all == screen.all
            && (screen.any == 0 || self.held & screen.any != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admits(content: &str, needs: Needs) -> bool {
        Census::of(content).admits(&Screen::of(&needs))
    }

    #[test]
    fn counts_digits_and_folds_letters() {
        assert_eq!(Census::of("Call 415 or MAIL 7").digits, 4);
        assert!(admits("Call 415 or APIKEY", Needs::all(b"apiky")));
        assert!(admits("apikey", Needs::all(b"apiky")));
        assert!(!admits("apikey", Needs::all(b"@.")));
        assert!(admits("x-4 1 5", Needs::all(b"-").and_digits(3)));
        assert!(!admits("x-4 1 5", Needs::all(b"-").and_digits(4)));
    }

    #[test]
    fn digits_are_counted_past_a_byte_counter() {
        let content = "1".repeat(1000) + "x" + &"2".repeat(300);
        assert_eq!(Census::of(&content).digits, 1300);
    }

    #[test]
    fn uppercase_needs_stay_case_sensitive() {
        assert!(!admits("akia", Needs::all(b"AKI")));
        assert!(admits("AKIA", Needs::all(b"AKI")));
    }

    #[test]
    fn any_needs_one_of_its_bytes() {
        let needs = Needs::all(b"a").and_any(b":=");
        assert!(admits("a=b", needs));
        assert!(admits("a: b", needs));
        assert!(!admits("a b", needs));
        assert!(admits("", Needs::NOTHING));
    }

    #[test]
    fn every_byte_of_every_lane_counts() {
        // Lengths around the four-byte lanes, the needed byte at each place.
        for len in 1..12 {
            for at in 0..len {
                let mut content = vec![b'x'; len];
                content[at] = b'@';
                let content = String::from_utf8(content).unwrap();
                assert!(admits(&content, Needs::all(b"@")), "{content:?}");
            }
        }
    }

    #[test]
    fn words_are_needed_in_the_lowercased_content() {
        let screen = Screen::of(&Needs::all(b"u").and_words(&["union", "select"]));
        assert!(screen.has_words());
        assert!(screen.admits_words("x union all select y"));
        assert!(!screen.admits_words("x union all y"));
        let screen = Screen::of(&Needs::all(b";").and_any_word_after(b';', &["drop", "delete"]));
        assert!(screen.admits_words("; delete from t"));
        assert!(screen.admits_words("x;drop"));
        assert!(screen.admits_words("a; b;\t\x0B\x0C\r\n drop table"));
        assert!(!screen.admits_words("; truncate table t"));
        assert!(
            !screen.admits_words("drop; it"),
            "the word must follow the byte"
        );
        assert!(
            !screen.admits_words("; x drop"),
            "with only whitespace between"
        );
        assert!(!screen.admits_words("drop delete"));
        assert!(!screen.admits_words(";"));
        assert!(!Screen::of(&Needs::all(b";")).has_words());
        assert!(Screen::of(&Needs::all(b";")).admits_words(""));
    }

    #[test]
    fn rule_words_are_lowercase() {
        for rule in RULES {
            for word in rule.needs.words.iter().chain(rule.needs.any_word) {
                assert_eq!(*word, word.to_ascii_lowercase(), "{}", rule.subcategory);
                assert!(!word.is_empty());
            }
        }
    }

    #[test]
    fn every_rule_screens_each_of_its_bytes() {
        let distinct = |bytes: &[u8]| {
            let mut bytes = bytes.to_vec();
            bytes.sort_unstable();
            bytes.dedup();
            bytes.len() as u32
        };
        for rule in RULES {
            let screen = Screen::of(&rule.needs);
            assert_eq!(screen.all.count_ones(), distinct(rule.needs.all));
            assert_eq!(screen.any.count_ones(), distinct(rule.needs.any));
        }
    }
}
