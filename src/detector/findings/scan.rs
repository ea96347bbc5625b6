//! Scanning content with the enabled rules: collecting each rule's earliest
//! valid matches, resolving rules that report the same span, capping at
//! [`MAX_FINDINGS`], and redacting the reported text.

use std::cmp::Ordering;

use regex::Match;

use super::census::Census;
use super::compiled::{COMPILED, Compiled, KeywordIndex, SCREENS, keywords_for};
use super::rules::{GroupSet, Matcher, Redaction};
use super::table::RULES;
use super::{Finding, MAX_FINDINGS};

/// A rule match before redaction: rule index and byte span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hit {
    rule: usize,
    start: usize,
    end: usize,
}

/// Which rules a set of capabilities enables, worked out once (per profile)
/// rather than on every scan.
#[derive(Debug, Clone, Copy)]
pub struct EnabledRules(GroupSet);

impl EnabledRules {
    /// The rules `capabilities` enable (exact names; unknown ones enable nothing).
    pub fn for_capabilities(capabilities: &[String]) -> Self {
        Self(GroupSet::from_capabilities(capabilities))
    }
}

/// Scan content with the enabled rules.
///
/// Returns at most [`MAX_FINDINGS`] findings, sorted by `(start, end)`; when
/// several rules report the same span only the most severe is kept (then the
/// most confident, then the earliest rule in the table).
pub fn scan(content: &str, rules: EnabledRules) -> Vec<Finding> {
    scan_rules(content, rules.0, Some(&Census::of(content)))
}

/// [`scan()`] running every enabled rule, the needs of none checked: what
/// skipping rules must never change.
#[cfg(test)]
pub(super) fn scan_every_rule(content: &str, capabilities: &[String]) -> Vec<Finding> {
    scan_rules(content, GroupSet::from_capabilities(capabilities), None)
}

/// Scans with the rules of `groups`, skipping those whose needs `census`
/// shows unmet (with a census).
fn scan_rules(content: &str, groups: GroupSet, census: Option<&Census>) -> Vec<Finding> {
    let mut haystack = Haystack {
        content,
        folded: None,
    };
    let mut hits = Vec::with_capacity(8);
    let mut keywords_enabled = false;
    let rules = RULES.iter().zip(COMPILED.iter()).zip(SCREENS.iter());
    for (index, ((rule, compiled), screen)) in rules.enumerate() {
        if !groups.contains(rule.group) || census.is_some_and(|c| !c.admits(screen)) {
            continue;
        }
        if census.is_some() && screen.has_words() && !screen.admits_words(haystack.folded()) {
            continue;
        }
        match compiled {
            Some(compiled) => {
                let searched = haystack.for_matcher(&rule.matcher);
                collect_hits(index, compiled, searched, content, &mut hits);
            }
            None => keywords_enabled = true,
        }
    }
    if keywords_enabled {
        collect_keyword_hits(keywords_for(groups), groups, haystack.folded(), &mut hits);
    }
    resolve(&mut hits);
    hits.iter().map(|hit| to_finding(*hit, content)).collect()
}

/// The content and, built on first use, its ASCII-lowercased copy (same length
/// and char boundaries, so offsets found in one are valid in the other).
pub(super) struct Haystack<'c> {
    pub(super) content: &'c str,
    pub(super) folded: Option<String>,
}

impl Haystack<'_> {
    pub(super) fn for_matcher(&mut self, matcher: &Matcher) -> &str {
        match matcher {
            Matcher::Pattern(_) | Matcher::Scanned { .. } => self.content,
            Matcher::Folded(_) | Matcher::Words(_) => self.folded(),
        }
    }

    fn folded(&mut self) -> &str {
        let content = self.content;
        self.folded
            .get_or_insert_with(|| content.to_ascii_lowercase())
    }
}

/// Append the first [`MAX_FINDINGS`] valid matches of one rule, searching
/// `searched` (the content or its folded copy) and validating on `content`.
///
/// Keeping only each rule's earliest matches is enough: a later match of a
/// rule is preceded by `MAX_FINDINGS` distinct spans, each of which survives
/// de-duplication in some form, so it could never make the final cut.
fn collect_hits(
    index: usize,
    compiled: &Compiled,
    searched: &str,
    content: &str,
    hits: &mut Vec<Hit>,
) {
    let range = |m: Match<'_>| (m.start(), m.end());
    match compiled {
        Compiled::Regex {
            regex,
            reports_group: true,
        } => {
            let spans = regex
                .captures_iter(searched)
                .filter_map(|caps| caps.iter().skip(1).flatten().next());
            push_valid(index, spans.map(range), content, hits);
        }
        Compiled::Regex { regex, .. } => {
            push_valid(index, regex.find_iter(searched).map(range), content, hits);
        }
        Compiled::Scanner(scanner) => {
            let bytes = searched.as_bytes();
            let spans = std::iter::successors(scanner(bytes, 0), |&(_, end)| scanner(bytes, end));
            push_valid(index, spans, content, hits);
        }
    }
}

fn push_valid(
    index: usize,
    spans: impl Iterator<Item = (usize, usize)>,
    content: &str,
    hits: &mut Vec<Hit>,
) {
    let check = RULES[index].check;
    let valid = spans.filter(|&(start, end)| check.is_none_or(|check| check(&content[start..end])));
    hits.extend(valid.take(MAX_FINDINGS).map(|(start, end)| Hit {
        rule: index,
        start,
        end,
    }));
}

/// Append a hit for every enabled keyword rule listing each matched word, for
/// the first [`MAX_FINDINGS`] words that have one (same argument as [`collect_hits`]).
fn collect_keyword_hits(index: &KeywordIndex, groups: GroupSet, folded: &str, hits: &mut Vec<Hit>) {
    let Some(regex) = &index.regex else {
        return;
    };
    let enabled = |rule: &usize| groups.contains(RULES[*rule].group);
    let words = regex.find_iter(folded).filter_map(|m| {
        let rules = index.rules_by_word.get(m.as_str())?;
        rules.iter().any(enabled).then_some((m, rules))
    });
    for (m, rules) in words.take(MAX_FINDINGS) {
        hits.extend(rules.iter().filter(|rule| enabled(rule)).map(|&rule| Hit {
            rule,
            start: m.start(),
            end: m.end(),
        }));
    }
}

/// Sort by span, keep the winning rule per identical span, cap the count.
fn resolve(hits: &mut Vec<Hit>) {
    hits.sort_by(|a, b| {
        (a.start, a.end)
            .cmp(&(b.start, b.end))
            .then_with(|| precedence(a, b))
    });
    hits.dedup_by_key(|hit| (hit.start, hit.end));
    hits.truncate(MAX_FINDINGS);
}

/// `Less` when `a` should win over `b` on the same span.
fn precedence(a: &Hit, b: &Hit) -> Ordering {
    let (ra, rb) = (&RULES[a.rule], &RULES[b.rule]);
    rb.severity
        .cmp(&ra.severity)
        .then_with(|| rb.confidence.total_cmp(&ra.confidence))
        .then_with(|| a.rule.cmp(&b.rule))
}

fn to_finding(hit: Hit, content: &str) -> Finding {
    let rule = &RULES[hit.rule];
    let matched = &content[hit.start..hit.end];
    let text = match rule.redaction {
        Redaction::Mask => redact(matched),
        Redaction::Verbatim => matched.to_owned(),
    };
    Finding {
        category: rule.category,
        subcategory: rule.subcategory,
        confidence: rule.confidence,
        severity: rule.severity,
        start: hit.start,
        end: hit.end,
        text,
    }
}

/// Mask all but the first and last char with `*` (one `*` per char);
/// text of one or two chars is masked entirely.
pub(super) fn redact(text: &str) -> String {
    let count = text.chars().count();
    if count <= 2 {
        return "*".repeat(count);
    }
    let mut masked = String::with_capacity(text.len());
    masked.extend(
        text.chars()
            .enumerate()
            .map(|(i, c)| if i == 0 || i == count - 1 { c } else { '*' }),
    );
    masked
}

#[cfg(test)]
mod tests {
    use rand::seq::IndexedRandom;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::super::compiled::KEYWORDS;
    use super::*;

    #[test]
    fn each_group_sets_own_keywords_find_what_all_keywords_do() {
        let mut pieces: Vec<&str> = KEYWORDS.rules_by_word.keys().map(String::as_str).collect();
        pieces.extend([
            "up", "blow", "shut", " ", ", ", "_", "9", "work", "shows", "staging",
        ]);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..2_000 {
            let mut content = String::new();
            for _ in 0..rng.random_range(0..12) {
                content.push_str(pieces.choose(&mut rng).unwrap());
            }
            for set in 0..GroupSet::COUNT {
                let groups = GroupSet::from_index(set);
                let (mut all, mut own) = (Vec::new(), Vec::new());
                collect_keyword_hits(&KEYWORDS, groups, &content, &mut all);
                collect_keyword_hits(keywords_for(groups), groups, &content, &mut own);
                assert_eq!(own, all, "{content:?} with groups {set:#b}");
            }
        }
    }
}
