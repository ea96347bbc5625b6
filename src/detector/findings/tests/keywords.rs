//! Keyword rules: toxicity, violence and negative sentiment.

use super::super::Severity;
use super::{SENTIMENT, TOXICITY, scan_with};

#[test]
fn toxicity_and_violence_keywords() {
    let content = "I will KILL you, you idiot; they are hateful bigots with a bomb";
    let findings = scan_with(content, TOXICITY);
    let spans: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.subcategory, f.text.as_str()))
        .collect();
    assert_eq!(
        spans,
        vec![
            ("threat", "KILL"),
            ("insult", "idiot"),
            ("hate_speech", "hateful"),
            ("hate_speech", "bigots"),
            ("threat", "bomb"),
        ]
    );
    assert_eq!(findings[0].category, "violence");
    assert_eq!(findings[1].category, "toxicity");
    assert!(
        scan_with(
            "skillful bombastic attacker; a whatever-hatewords",
            TOXICITY
        )
        .is_empty()
    );
}

#[test]
fn negative_sentiment_is_low_severity() {
    let findings = scan_with("Worst service ever, truly awful.", SENTIMENT);
    assert_eq!(findings.len(), 2);
    assert!(
        findings
            .iter()
            .all(|f| f.category == "sentiment" && f.severity == Severity::Low)
    );
    assert_eq!(findings[0].text, "Worst");
    assert!(scan_with("great service, lovely staff", SENTIMENT).is_empty());
}
