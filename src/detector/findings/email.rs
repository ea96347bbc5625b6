//! The email rule's matcher, by hand. Its pattern (in the rule table) is
//!
//! ```text
//! \b[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b
//! ```
//!
//! with ASCII word boundaries. [`next_email`] finds exactly the matches the
//! regex finds, leftmost first (a test compares the two on many generated
//! contents), from a `memchr` for `@` and a few byte-class loops around
//! it: on a content that holds an address it is the rule every request
//! runs, and a regex engine's automata, cold in cache between requests,
//! cost several times more.
//!
//! Why the loops suffice: the local part's class has no `@`, so a start
//! belongs to the one `@` its run of local bytes ends at, and the leftmost
//! start of that run that is alphanumeric after a non-word byte is the
//! match's start if the domain matches. The domain's first label must be
//! a whole run of label bytes (nothing but a `.` may follow it) that ends
//! alphanumeric; each further label is a whole run after a `.`; the
//! greedy repetition prefers the last label that can serve as the final
//! `\.[A-Za-z]{2,24}\b`: one that starts with 2 to 24 letters followed by a
//! non-word byte (or the end).

/// The first match of the email pattern starting at or after `from`, as a
/// byte range of `haystack`.
pub(super) fn next_email(haystack: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut search = from;
    while search < haystack.len() {
        let at = search + memchr::memchr(b'@', &haystack[search..])?;
        let mut run = at;
        while run > from && is_local(haystack[run - 1]) {
            run -= 1;
        }
        let start = (run..at).find(|&p| {
            haystack[p].is_ascii_alphanumeric() && (p == 0 || !is_word(haystack[p - 1]))
        });
        if let Some(start) = start {
            if let Some(end) = domain_end(haystack, at + 1) {
                return Some((start, end));
            }
        }
        search = at + 1;
    }
    None
}

/// Where the domain that starts at `from` ends, if one does.
fn domain_end(haystack: &[u8], from: usize) -> Option<usize> {
    let label_end = |start: usize| {
        let run = haystack[start..]
            .iter()
            .take_while(|b| is_label(**b))
            .count();
        start + run
    };
    if !haystack.get(from)?.is_ascii_alphanumeric() {
        return None;
    }
    let mut at = label_end(from);
    if !haystack[at - 1].is_ascii_alphanumeric() {
        return None;
    }
    let mut end = None;
    while haystack.get(at) == Some(&b'.') {
        let start = at + 1;
        let next = label_end(start);
        if next == start {
            break;
        }
        let letters = haystack[start..next]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let after = haystack.get(start + letters).copied();
        if (2..=24).contains(&letters) && !after.is_some_and(is_word) {
            end = Some(start + letters);
        }
        at = next;
    }
    end
}

/// `[A-Za-z0-9._%+-]`
fn is_local(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'%' | b'+' | b'-')
}

/// `[A-Za-z0-9-]`
fn is_label(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-'
}

/// An ASCII word byte, as `(?-u)\b` sees it: `[0-9A-Za-z_]`.
fn is_word(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

#[cfg(test)]
mod tests {
    use rand::seq::IndexedRandom;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use regex::Regex;

    use super::*;
    use crate::detector::findings::rules::Matcher;
    use crate::detector::findings::table::RULES;

    fn the_pattern() -> Regex {
        let pattern = RULES
            .iter()
            .find_map(|rule| match rule.matcher {
                Matcher::Scanned { pattern, .. } if rule.subcategory == "email" => Some(pattern),
                _ => None,
            })
            .expect("the email rule is scanned");
        Regex::new(pattern).unwrap()
    }

    fn by_hand(haystack: &str) -> Vec<(usize, usize)> {
        let mut found = Vec::new();
        let mut from = 0;
        while let Some((start, end)) = next_email(haystack.as_bytes(), from) {
            found.push((start, end));
            from = end;
        }
        found
    }

    fn by_regex(regex: &Regex, haystack: &str) -> Vec<(usize, usize)> {
        regex
            .find_iter(haystack)
            .map(|m| (m.start(), m.end()))
            .collect()
    }

    #[test]
    fn finds_what_the_pattern_finds_on_chosen_contents() {
        let regex = the_pattern();
        let cases = [
            "alice@example.com",
            "Contact me at alice@example.com if anything looks off.",
            "Jo.Doe+x@mail.example.org, bob@b.co-x and c@d.com_x e@f.comx1",
            "a@b.com.x@y.org",
            "_a@b.com x_y@b.com .a@b.com -a@b.com",
            "a@b.c a@b.cc a@-b.com a@b-.com a@b..com a@b.com.",
            "a@b.abcdefghijklmnopqrstuvwxyz a@b.abcdefghijklmnopqrstuvwx",
            "é@b.com aé@b.com a@bé.com a@b.comé ü.alice@example.com",
            "@@a@@b.com@c.de @",
            "a@b.1com.de a@b.c1.de a@b.de-1",
            "",
        ];
        for case in cases {
            assert_eq!(by_hand(case), by_regex(&regex, case), "{case:?}");
        }
        assert_eq!(by_hand("at alice@example.com."), vec![(3, 20)]);
    }

    #[test]
    fn finds_what_the_pattern_finds_on_generated_contents() {
        let regex = the_pattern();
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let pieces: &[&str] = &[
            "a", "Z", "9", "_", ".", "-", "+", "%", "@", " ", "é", "com", "co", "x1", "..", "ab",
            "q@r.st",
        ];
        let mut matched = 0;
        for _ in 0..200_000 {
            let mut content = String::new();
            for _ in 0..rng.random_range(0..16) {
                content.push_str(pieces.choose(&mut rng).unwrap());
            }
            let expected = by_regex(&regex, &content);
            matched += usize::from(!expected.is_empty());
            assert_eq!(by_hand(&content), expected, "{content:?}");
        }
        // The generator reaches matches often, not only misses.
        assert!(matched > 20_000, "{matched}");
    }
}
