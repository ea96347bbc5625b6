//! The rule table compiles and its metadata and keyword lists are consistent.

use super::super::compiled::{COMPILED, KEYWORDS};
use super::super::rules::Matcher;
use super::super::table::RULES;
use super::rule_regex;

#[test]
fn every_rule_compiles_and_has_sane_metadata() {
    assert_eq!(COMPILED.len(), RULES.len());
    for (rule, compiled) in RULES.iter().zip(COMPILED.iter()) {
        let name = rule.subcategory;
        assert!(rule.confidence > 0.0 && rule.confidence <= 1.0, "{name}");
        let is_words = matches!(rule.matcher, Matcher::Words(_));
        assert_eq!(compiled.is_none(), is_words, "{name}");
        assert!(!rule_regex(rule).is_match(""), "{name} matches empty");
    }
    assert!(!KEYWORDS.regex.as_ref().unwrap().is_match(""));
}

#[test]
fn shared_keyword_index_matches_each_list_alone() {
    // Equivalent to one regex per list as long as no listed phrase
    // contains another listed word.
    let words: Vec<&str> = KEYWORDS.rules_by_word.keys().map(String::as_str).collect();
    for phrase in words.iter().filter(|w| w.contains(' ')) {
        for part in phrase.split(' ') {
            assert!(
                !words.contains(&part),
                "{part:?} is listed and part of {phrase:?}"
            );
        }
    }
    assert_eq!(KEYWORDS.rules_by_word["hate"].len(), 2);
}
