//! What is built once from the rule table on first use: one regex per
//! pattern rule, or its scanner ([`COMPILED`]), each rule's needs as a bit
//! mask and word searchers ([`SCREENS`]), and, per set of enabled rule
//! groups, one regex for all their keyword lists ([`keywords_for`]).

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use regex::Regex;

use super::census::Screen;
use super::rules::{GroupSet, Matcher, Rule, Scanner};
use super::table::RULES;

/// A rule's own compiled regex, or its hand-written scanner.
pub(super) enum Compiled {
    Regex {
        regex: Regex,
        /// Report the first participating capture group rather than the whole match.
        reports_group: bool,
    },
    /// A [`Matcher::Scanned`] rule's scanner.
    Scanner(Scanner),
}

/// Per rule, same index as [`RULES`]: its compiled regex, or `None` for
/// [`Matcher::Words`] rules, which share their groups' [`keywords_for`] index.
pub(super) static COMPILED: LazyLock<Vec<Option<Compiled>>> =
    LazyLock::new(|| RULES.iter().map(compile).collect());

/// Per rule, same index as [`RULES`]: its needs as a [`Screen`].
pub(super) static SCREENS: LazyLock<Vec<Screen>> =
    LazyLock::new(|| RULES.iter().map(|rule| Screen::of(&rule.needs)).collect());

fn compile(rule: &Rule) -> Option<Compiled> {
    let pattern = match rule.matcher {
        Matcher::Pattern(pattern) | Matcher::Folded(pattern) => pattern,
        Matcher::Scanned { scanner, .. } => return Some(Compiled::Scanner(scanner)),
        Matcher::Words(_) => return None,
    };
    let regex = Regex::new(pattern).expect("built-in finding rules are valid regexes (tested)");
    let reports_group = regex.captures_len() > 1;
    Some(Compiled::Regex {
        regex,
        reports_group,
    })
}

/// The [`Matcher::Words`] lists of some rule groups compiled into one
/// regex, so all their keyword rules cost a single pass; a matched word is
/// attributed to each list containing it.
///
/// A scan uses the index of exactly the groups its profile enables
/// ([`keywords_for`]): words of lists no enabled rule reads would only
/// cost the prefilter false starts (`worst` in "work", `shoot` in
/// "shows"). Leaving them out changes no match of the others, as no two
/// listed words' whole-word matches overlap (tested).
pub(super) struct KeywordIndex {
    /// `(?-u)\b(?:...)\b` over the distinct lowercased words, longest
    /// first; `None` when the groups list no words.
    pub(super) regex: Option<Regex>,
    /// Lowercased word → indices of the rules listing it, in table order.
    pub(super) rules_by_word: HashMap<String, Vec<usize>>,
}

/// Every keyword list's words in one index (what the tests compare each
/// group set's own index with).
#[cfg(test)]
pub(super) static KEYWORDS: LazyLock<KeywordIndex> =
    LazyLock::new(|| KeywordIndex::of(GroupSet::everything()));

/// The index of the lists of the rules in `groups`, built on first use.
pub(super) fn keywords_for(groups: GroupSet) -> &'static KeywordIndex {
    static BY_GROUPS: [OnceLock<KeywordIndex>; GroupSet::COUNT] =
        [const { OnceLock::new() }; GroupSet::COUNT];
    BY_GROUPS[groups.index()].get_or_init(|| KeywordIndex::of(groups))
}

impl KeywordIndex {
    fn of(groups: GroupSet) -> Self {
        let mut rules_by_word: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, rule) in RULES.iter().enumerate() {
            if let Matcher::Words(words) = rule.matcher {
                if !groups.contains(rule.group) {
                    continue;
                }
                for word in words {
                    let rules = rules_by_word.entry(word.to_ascii_lowercase()).or_default();
                    rules.push(index);
                }
            }
        }
        let mut words: Vec<&str> = rules_by_word.keys().map(String::as_str).collect();
        words.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        let alternatives: Vec<String> = words.iter().map(|word| regex::escape(word)).collect();
        let pattern = format!(r"(?-u)\b(?:{})\b", alternatives.join("|"));
        let regex = (!words.is_empty())
            .then(|| Regex::new(&pattern).expect("escaped keyword alternation is a valid regex"));
        KeywordIndex {
            regex,
            rules_by_word,
        }
    }
}
