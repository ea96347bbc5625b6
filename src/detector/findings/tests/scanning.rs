//! Scanning as a whole: capability gating, same-span resolution, ordering,
//! determinism, redaction, the findings cap and non-ASCII content.

use super::super::MAX_FINDINGS;
use super::super::scan::redact;
use super::super::table::RULES;
use super::{ALL, PII, SECURITY, SENTIMENT, TOXICITY, raw, rule_reports_span, scan_with};

#[test]
fn capabilities_gate_rule_groups() {
    let content =
        "mail a.b@example.com, ssn 123-45-6789, key AKIAIOSFODNN7EXAMPLE, I hate it, kill";
    let categories = |names: &[&str]| -> Vec<&'static str> {
        let mut cats: Vec<_> = scan_with(content, names)
            .iter()
            .map(|f| f.category)
            .collect();
        cats.sort_unstable();
        cats.dedup();
        cats
    };
    assert_eq!(categories(TOXICITY), vec!["toxicity", "violence"]);
    assert_eq!(categories(PII), vec!["pii"]);
    assert_eq!(categories(&["code_analysis"]), vec!["secret"]);
    assert_eq!(categories(SENTIMENT), vec!["sentiment"]);
    assert_eq!(
        categories(ALL),
        vec!["pii", "secret", "toxicity", "violence"]
    );
    assert_eq!(categories(&["batch_processing"]), categories(ALL));
    assert!(scan_with(content, &["telepathy", "PII_DETECTION", ""]).is_empty());
    assert!(scan_with(content, &[]).is_empty());
}

#[test]
fn same_span_keeps_the_more_severe_rule() {
    // "hate" is both hate_speech (Medium) and negative sentiment (Low).
    let findings = scan_with(
        "I hate mondays",
        &["toxicity_detection", "sentiment_analysis"],
    );
    assert_eq!(findings.len(), 1);
    assert_eq!(
        (findings[0].category, findings[0].subcategory),
        ("toxicity", "hate_speech")
    );
    // The AWS key is also the value of a `secret=` assignment: Critical wins.
    let findings = scan_with("aws_secret=AKIAIOSFODNN7EXAMPLE", SECURITY);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].subcategory, "aws_access_key");
}

#[test]
fn findings_are_sorted_and_offsets_map_back_to_matches() {
    let content = "Bomb! pay 4111 1111 1111 1111, mail jo@ex.io, ' OR 1=1 -- \
                   api_key=Ab12Cd34Ef56Gh78Ij90 awful";
    let findings = scan_with(content, ALL);
    assert_eq!(findings.len(), 6, "{findings:?}");
    assert!(
        findings
            .windows(2)
            .all(|w| (w[0].start, w[0].end) < (w[1].start, w[1].end))
    );
    for finding in &findings {
        let matched = &content[finding.start..finding.end];
        assert!(
            RULES.iter().any(|rule| {
                rule.subcategory == finding.subcategory && rule_reports_span(rule, content, finding)
            }),
            "{matched:?} is not a span of a {} rule",
            finding.subcategory
        );
        assert_eq!(finding.text.chars().count(), matched.chars().count());
    }
}

#[test]
fn scan_is_deterministic() {
    let content = "x@y.io 415-555-0132 AKIAIOSFODNN7EXAMPLE ' or 1=1 kill hate terrible ".repeat(5);
    let first = scan_with(&content, ALL);
    for _ in 0..10 {
        assert_eq!(scan_with(&content, ALL), first);
    }
    assert_eq!(
        serde_json::to_string(&first).expect("findings serialise"),
        serde_json::to_string(&scan_with(&content, ALL)).expect("findings serialise"),
    );
}

#[test]
fn redaction_masks_pii_and_secrets_only() {
    assert_eq!(redact("hunter2"), "h*****2");
    assert_eq!(redact("ab"), "**");
    assert_eq!(redact("a"), "*");
    assert_eq!(redact(""), "");
    assert_eq!(redact("élan→"), "é***→");
    let findings = scan_with("jane@example.com 123-45-6789 kill", ALL);
    let texts: Vec<&str> = findings.iter().map(|f| f.text.as_str()).collect();
    assert_eq!(texts, vec!["j**************m", "1*********9", "kill"]);
}

#[test]
fn findings_are_capped_on_big_input() {
    let unit = "kill jo@ex.io 123-45-6789 ' OR 1=1 terrible ";
    let content = unit.repeat((1 << 20) / unit.len());
    let findings = scan_with(&content, ALL);
    assert_eq!(findings.len(), MAX_FINDINGS);
    assert!(findings.windows(2).all(|w| w[0].start < w[1].start));
    // The earliest findings overall: exactly the first ten units, each
    // reporting the same five findings shifted by the unit's offset.
    let per_unit = scan_with(unit, ALL);
    assert_eq!(per_unit.len(), 5);
    for (i, finding) in findings.iter().enumerate() {
        let expected = &per_unit[i % per_unit.len()];
        let shift = (i / per_unit.len()) * unit.len();
        assert_eq!(finding.subcategory, expected.subcategory);
        assert_eq!(
            (finding.start, finding.end),
            (expected.start + shift, expected.end + shift)
        );
    }
}

#[test]
fn cap_counts_only_enabled_keyword_lists() {
    // Many threat words first: with only sentiment enabled they must not use up the cap.
    let content = format!("{}awful", "kill ".repeat(2 * MAX_FINDINGS));
    let findings = scan_with(&content, SENTIMENT);
    assert_eq!(raw(&content, &findings, "negative"), vec!["awful"]);
}

#[test]
fn non_ascii_content_does_not_panic() {
    let content = "Ünïcødé 🚀 kill — 日本語 jöe@exämple.com ñ@example.org 415-555-0132 \
                   \u{301}hate\u{301} пароль=\"секрет\" password=\"мой пароль\"";
    let findings = scan_with(content, ALL);
    assert!(!findings.is_empty());
    for f in &findings {
        assert!(
            content.is_char_boundary(f.start) && content.is_char_boundary(f.end),
            "{f:?}"
        );
    }
    assert_eq!(raw(content, &findings, "password"), vec!["мой пароль"]);
    for len in 0..content.len() {
        if content.is_char_boundary(len) {
            scan_with(&content[..len], ALL);
        }
    }
}
