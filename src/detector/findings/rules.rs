//! What a finding rule is ([`Rule`]: group, labels, severity, confidence,
//! [`Matcher`], optional check, [`Redaction`]) and which advertised
//! capabilities enable which rule [`Group`]s ([`GroupSet`]).

use super::Severity;
use super::census::Needs;

/// A set of rules enabled together by a capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Group {
    Pii,
    Secrets,
    Injection,
    Toxicity,
    Sentiment,
}

pub(super) const ALL_GROUPS: &[Group] = &[
    Group::Pii,
    Group::Secrets,
    Group::Injection,
    Group::Toxicity,
    Group::Sentiment,
];

/// Which rule groups each advertised capability enables (exact names).
pub(super) const CAPABILITY_GROUPS: &[(&str, &[Group])] = &[
    ("pii_detection", &[Group::Pii]),
    ("security_scan", &[Group::Secrets, Group::Injection]),
    ("vulnerability_scan", &[Group::Secrets, Group::Injection]),
    ("code_analysis", &[Group::Secrets, Group::Injection]),
    ("toxicity_detection", &[Group::Toxicity]),
    ("content_moderation", &[Group::Toxicity]),
    ("sentiment_analysis", &[Group::Sentiment]),
    ("deep_analysis", ALL_GROUPS),
    ("pattern_recognition", ALL_GROUPS),
    ("bulk_analysis", ALL_GROUPS),
    ("batch_processing", ALL_GROUPS),
];

/// Bit set of enabled [`Group`]s.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct GroupSet(u8);

impl GroupSet {
    /// How many distinct sets there are.
    pub(super) const COUNT: usize = 1 << ALL_GROUPS.len();

    /// Every group.
    #[cfg(test)]
    pub(super) fn everything() -> Self {
        Self((Self::COUNT - 1) as u8)
    }

    /// A number below [`COUNT`](Self::COUNT) naming this set.
    pub(super) fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The set [`index`](Self::index) names.
    #[cfg(test)]
    pub(super) fn from_index(index: usize) -> Self {
        Self(u8::try_from(index % Self::COUNT).unwrap_or(0))
    }

    pub(super) fn from_capabilities(capabilities: &[String]) -> Self {
        let mut set = Self::default();
        for capability in capabilities {
            let enabled = CAPABILITY_GROUPS
                .iter()
                .filter(|(name, _)| *name == capability.as_str())
                .flat_map(|(_, groups)| groups.iter());
            for group in enabled {
                set.0 |= Self::bit(*group);
            }
        }
        set
    }

    fn bit(group: Group) -> u8 {
        1 << (group as u8)
    }

    pub(super) fn contains(self, group: Group) -> bool {
        self.0 & Self::bit(group) != 0
    }
}

/// How a rule matches. If the regex has capture groups, the first
/// participating group is the reported span (e.g. the value of
/// `api_key=...`), else the whole match.
pub(super) enum Matcher {
    /// A case-sensitive regex matched against the content.
    Pattern(&'static str),
    /// A case-sensitive regex whose matches a hand-written `scanner` finds
    /// instead (the first match at or after an offset, as a byte range) —
    /// the same matches, tested against the regex, for a rule common
    /// enough in real content that a regex engine's cold automata cost
    /// more than the rest of its scan.
    Scanned {
        /// The regex the scanner stands for: what the rule documents, and
        /// what the tests compare the scanner with.
        #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests"))]
        pattern: &'static str,
        scanner: Scanner,
    },
    /// A lowercase regex matched against the ASCII-lowercased content: ASCII
    /// case-insensitive with identical byte offsets, and much faster than
    /// `(?i)` because the regex crate keeps its literal prefilters.
    Folded(&'static str),
    /// Whole words / phrases, ASCII case-insensitive with ASCII word
    /// boundaries. The word lists of the enabled groups share one regex
    /// ([`keywords_for`](super::compiled::keywords_for)); a phrase
    /// takes precedence over a listed word it contains.
    Words(&'static [&'static str]),
}

/// A hand-written matcher: the first match at or after an offset of the
/// haystack, as a byte range.
pub(super) type Scanner = fn(&[u8], usize) -> Option<(usize, usize)>;

/// How the matched text is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Redaction {
    /// Keep first and last char, mask the rest with `*`.
    Mask,
    /// Report the text as matched.
    Verbatim,
}

/// One detection rule: everything that varies between rules is data here.
pub(super) struct Rule {
    pub(super) group: Group,
    pub(super) category: &'static str,
    pub(super) subcategory: &'static str,
    pub(super) severity: Severity,
    pub(super) confidence: f64,
    pub(super) matcher: Matcher,
    /// What any match must contain; the rule is skipped otherwise.
    pub(super) needs: Needs,
    /// Extra validation of the reported span (Luhn, SSN ranges...).
    pub(super) check: Option<fn(&str) -> bool>,
    pub(super) redaction: Redaction,
}
