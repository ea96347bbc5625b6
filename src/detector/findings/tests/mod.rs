//! Tests of the findings rules, with the helpers they share: `table` checks
//! the rule table itself, `pii`, `secrets`, `injection` and `keywords` each
//! rule's positive and negative cases, `scanning` gating, de-duplication,
//! ordering, capping and redaction, `verdict` the verdict and serialisation.

use regex::Regex;

use super::rules::{Matcher, Rule};
use super::scan::Haystack;
use super::{EnabledRules, Finding, scan};

mod injection;
mod keywords;
mod pii;
mod scanning;
mod secrets;
mod skipping;
mod table;
mod verdict;

const ALL: &[&str] = &["deep_analysis"];
const PII: &[&str] = &["pii_detection"];
const SECURITY: &[&str] = &["security_scan"];
const TOXICITY: &[&str] = &["toxicity_detection"];
const SENTIMENT: &[&str] = &["sentiment_analysis"];

fn caps(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

fn scan_with(content: &str, names: &[&str]) -> Vec<Finding> {
    scan(content, EnabledRules::for_capabilities(&caps(names)))
}

/// Raw (unredacted) matched text of each finding with the given subcategory.
fn raw<'c>(content: &'c str, findings: &[Finding], subcategory: &str) -> Vec<&'c str> {
    findings
        .iter()
        .filter(|f| f.subcategory == subcategory)
        .map(|f| &content[f.start..f.end])
        .collect()
}

/// Assert each `(content, expected raw span)` yields exactly that span for the subcategory.
fn assert_detects(names: &[&str], subcategory: &str, cases: &[(&str, &str)]) {
    for (content, expected) in cases {
        let findings = scan_with(content, names);
        assert_eq!(
            raw(content, &findings, subcategory),
            vec![*expected],
            "content: {content:?}"
        );
    }
}

fn assert_ignores(names: &[&str], subcategory: &str, contents: &[&str]) {
    for content in contents {
        let findings = scan_with(content, names);
        assert!(
            raw(content, &findings, subcategory).is_empty(),
            "content: {content:?} -> {findings:?}"
        );
    }
}

/// A standalone regex for one rule (a keyword rule gets its own list only).
fn rule_regex(rule: &Rule) -> Regex {
    let pattern = match rule.matcher {
        Matcher::Pattern(pattern) | Matcher::Scanned { pattern, .. } | Matcher::Folded(pattern) => {
            pattern.to_owned()
        }
        Matcher::Words(words) => {
            let escaped: Vec<String> = words.iter().map(|w| regex::escape(w)).collect();
            format!(r"(?-u)\b(?:{})\b", escaped.join("|"))
        }
    };
    Regex::new(&pattern).expect("rule pattern compiles")
}

/// Whether the rule's regex, run alone on the whole content, reports exactly this span.
fn rule_reports_span(rule: &Rule, content: &str, finding: &Finding) -> bool {
    let regex = rule_regex(rule);
    let mut haystack = Haystack {
        content,
        folded: None,
    };
    let searched = haystack.for_matcher(&rule.matcher);
    let first = usize::from(regex.captures_len() > 1);
    regex.captures_iter(searched).any(|caps| {
        caps.iter()
            .skip(first)
            .flatten()
            .any(|m| (m.start(), m.end()) == (finding.start, finding.end))
    })
}
