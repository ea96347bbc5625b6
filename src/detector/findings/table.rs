//! The rule table: every PII, secret, injection, toxicity/violence and
//! sentiment rule as data, and the keyword lists the keyword rules use.

use super::Severity;
use super::census::Needs;
use super::email::next_email;
use super::rules::{Group, Matcher, Redaction, Rule};
use super::validators::{has_letter_and_digit, is_luhn_valid, is_valid_ssn};

// Keyword lists: lowercase, matched as whole words / phrases, ASCII case-insensitively.
const VIOLENCE_WORDS: &[&str] = &[
    "kill", "kills", "killed", "killing", "murder", "murdered", "bomb", "bombs", "bombing",
    "shoot", "shooting", "stab", "stabbing", "attack", "attacks", "attacked", "blow up", "explode",
];
// Slurs are represented by neutral placeholders to keep the fixtures professional.
const HATE_WORDS: &[&str] = &["hate", "hateful", "hateword", "slurword", "bigot", "bigots"];
const INSULT_WORDS: &[&str] = &[
    "idiot", "idiots", "stupid", "moron", "loser", "pathetic", "shut up",
];
const NEGATIVE_WORDS: &[&str] = &[
    "terrible",
    "awful",
    "hate",
    "worst",
    "horrible",
    "disappointed",
    "disappointing",
    "useless",
    "angry",
    "frustrated",
    "sucks",
];

/// The rule table. Order matters only as the last tie-break between rules
/// reporting the same span with equal severity and confidence.
pub(super) static RULES: &[Rule] = &[
    Rule {
        group: Group::Pii,
        category: "pii",
        subcategory: "email",
        severity: Severity::Medium,
        confidence: 0.95,
        matcher: Matcher::Scanned {
            pattern: r"(?-u)\b[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b",
            scanner: next_email,
        },
        needs: Needs::all(b"@."),
        check: None,
        redaction: Redaction::Mask,
    },
    Rule {
        group: Group::Pii,
        category: "pii",
        subcategory: "phone_number",
        severity: Severity::Medium,
        confidence: 0.85,
        // North American: 415-555-0132, 415.555.0132, 415 555 0132 (the
        // national number; a leading `+1 ` is not part of the span).
        matcher: Matcher::Pattern(r"(?-u)\b[2-9][0-9]{2}[-. ][2-9][0-9]{2}[-. ][0-9]{4}\b"),
        needs: Needs::NOTHING.and_digits(10),
        check: None,
        redaction: Redaction::Mask,
    },
    Rule {
        group: Group::Pii,
        category: "pii",
        subcategory: "phone_number",
        severity: Severity::Medium,
        confidence: 0.85,
        // North American with area code in parentheses: (415) 555-0132, +1 (415) 555-0132.
        matcher: Matcher::Pattern(
            r"(?-u)(?:\+1[-. ]?)?\([2-9][0-9]{2}\) ?[2-9][0-9]{2}[-. ][0-9]{4}\b",
        ),
        needs: Needs::all(b"()").and_digits(10),
        check: None,
        redaction: Redaction::Mask,
    },
    Rule {
        group: Group::Pii,
        category: "pii",
        subcategory: "phone_number",
        severity: Severity::Medium,
        confidence: 0.8,
        // E.164: +, country code, up to 15 digits in total.
        matcher: Matcher::Pattern(r"(?-u)\+[1-9][0-9]{7,14}\b"),
        needs: Needs::all(b"+").and_digits(8),
        check: None,
        redaction: Redaction::Mask,
    },
    Rule {
        group: Group::Pii,
        category: "pii",
        subcategory: "ssn",
        severity: Severity::High,
        confidence: 0.9,
        matcher: Matcher::Pattern(r"(?-u)\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b"),
        needs: Needs::all(b"-").and_digits(9),
        check: Some(is_valid_ssn),
        redaction: Redaction::Mask,
    },
    Rule {
        group: Group::Pii,
        category: "pii",
        subcategory: "credit_card",
        severity: Severity::High,
        confidence: 0.97,
        // 13–19 digits, optionally separated by single spaces or dashes, with a
        // major-industry digit of 2–6 (Mastercard, Amex/Diners, Visa, Discover).
        matcher: Matcher::Pattern(r"(?-u)\b[2-6](?:[ -]?[0-9]){12,18}\b"),
        needs: Needs::NOTHING.and_digits(13),
        check: Some(is_luhn_valid),
        redaction: Redaction::Mask,
    },
    Rule {
        group: Group::Secrets,
        category: "secret",
        subcategory: "aws_access_key",
        severity: Severity::Critical,
        confidence: 0.95,
        matcher: Matcher::Pattern(r"(?-u)\bAKIA[0-9A-Z]{16}\b"),
        needs: Needs::all(b"AKI"),
        check: None,
        redaction: Redaction::Mask,
    },
    Rule {
        group: Group::Secrets,
        category: "secret",
        subcategory: "github_token",
        severity: Severity::Critical,
        confidence: 0.95,
        matcher: Matcher::Pattern(
            r"(?-u)\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,255})\b",
        ),
        needs: Needs::all(b"gh_"),
        check: None,
        redaction: Redaction::Mask,
    },
    Rule {
        group: Group::Secrets,
        category: "secret",
        subcategory: "private_key",
        severity: Severity::Critical,
        confidence: 0.99,
        // The header, plus the base64 body and footer when present.
        matcher: Matcher::Pattern(
            r"(?-u)-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:[A-Za-z0-9+/=\s]*-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----)?",
        ),
        needs: Needs::all(b"-BEGINPRVATKY "),
        check: None,
        redaction: Redaction::Mask,
    },
    Rule {
        group: Group::Secrets,
        category: "secret",
        subcategory: "api_key",
        severity: Severity::High,
        confidence: 0.8,
        // `api_key=...`, `X-Api-Key: ...`, `"apiKey": "..."`; reports the value.
        matcher: Matcher::Folded(
            r#"(?-u)api[_-]?key[a-z0-9_-]*["']?\s*[:=]\s*["']?([a-z0-9_\-./+=]{16,})"#,
        ),
        needs: Needs::all(b"apiky").and_any(b":="),
        check: Some(has_letter_and_digit),
        redaction: Redaction::Mask,
    },
    Rule {
        group: Group::Secrets,
        category: "secret",
        subcategory: "generic_secret",
        severity: Severity::High,
        confidence: 0.7,
        // `secret=...`, `token: ...`, `AWS_SECRET_ACCESS_KEY=...`; reports the value.
        matcher: Matcher::Folded(
            r#"(?-u)(?:secret|token)[a-z0-9_-]*["']?\s*[:=]\s*["']?([a-z0-9_\-./+=]{16,})"#,
        ),
        needs: Needs::all(b"et").and_any(b":="),
        check: Some(has_letter_and_digit),
        redaction: Redaction::Mask,
    },
    Rule {
        group: Group::Secrets,
        category: "secret",
        subcategory: "password",
        severity: Severity::High,
        confidence: 0.8,
        // `password = "..."`, `db_passwd: '...'`, `pwd=...`; reports the value.
        matcher: Matcher::Folded(
            r#"(?-u)(?:password|passwd|pwd)[a-z0-9_-]*["']?\s*[:=]\s*(?:"((?u:[^"\r\n])+)"|'((?u:[^'\r\n])+)'|((?u:[^\s"',;]){4,}))"#,
        ),
        needs: Needs::all(b"pwd").and_any(b":="),
        check: None,
        redaction: Redaction::Mask,
    },
    Rule {
        group: Group::Injection,
        category: "injection",
        subcategory: "sql_injection",
        severity: Severity::High,
        confidence: 0.9,
        // Tautologies: `' OR 1=1`, `' or 'a'='a`, `' OR true`.
        matcher: Matcher::Folded(r"(?-u)'\s*or\s+(?:'?[0-9a-z]+'?\s*=\s*'?[0-9a-z]+'?|true\b)"),
        needs: Needs::all(b"'or"),
        check: None,
        redaction: Redaction::Verbatim,
    },
    Rule {
        group: Group::Injection,
        category: "injection",
        subcategory: "sql_injection",
        severity: Severity::High,
        confidence: 0.9,
        matcher: Matcher::Folded(r"(?-u)\bunion(?:\s+all)?\s+select\b"),
        needs: Needs::all(b"unioselct").and_words(&["union", "select"]),
        check: None,
        redaction: Redaction::Verbatim,
    },
    Rule {
        group: Group::Injection,
        category: "injection",
        subcategory: "sql_injection",
        severity: Severity::High,
        confidence: 0.9,
        // Stacked destructive queries: `; DROP TABLE`, `; DELETE FROM`...
        matcher: Matcher::Folded(
            r"(?-u);\s*(?:drop\s+(?:table|database)|delete\s+from|truncate\s+table|shutdown)\b",
        ),
        needs: Needs::all(b";t")
            .and_any_word_after(b';', &["drop", "delete", "truncate", "shutdown"]),
        check: None,
        redaction: Redaction::Verbatim,
    },
    Rule {
        group: Group::Injection,
        category: "injection",
        subcategory: "sql_injection",
        severity: Severity::High,
        confidence: 0.75,
        // Closing a string then commenting out the rest: `admin'--`, `x'; /*`.
        matcher: Matcher::Pattern(r"(?-u)'\s*(?:;\s*)?(?:--|/\*)"),
        needs: Needs::all(b"'").and_any(b"-/"),
        check: None,
        redaction: Redaction::Verbatim,
    },
    Rule {
        group: Group::Toxicity,
        category: "violence",
        subcategory: "threat",
        severity: Severity::High,
        confidence: 0.75,
        matcher: Matcher::Words(VIOLENCE_WORDS),
        needs: Needs::NOTHING,
        check: None,
        redaction: Redaction::Verbatim,
    },
    Rule {
        group: Group::Toxicity,
        category: "toxicity",
        subcategory: "hate_speech",
        severity: Severity::Medium,
        confidence: 0.8,
        matcher: Matcher::Words(HATE_WORDS),
        needs: Needs::NOTHING,
        check: None,
        redaction: Redaction::Verbatim,
    },
    Rule {
        group: Group::Toxicity,
        category: "toxicity",
        subcategory: "insult",
        severity: Severity::Medium,
        confidence: 0.7,
        matcher: Matcher::Words(INSULT_WORDS),
        needs: Needs::NOTHING,
        check: None,
        redaction: Redaction::Verbatim,
    },
    Rule {
        group: Group::Sentiment,
        category: "sentiment",
        subcategory: "negative",
        severity: Severity::Low,
        confidence: 0.65,
        matcher: Matcher::Words(NEGATIVE_WORDS),
        needs: Needs::NOTHING,
        check: None,
        redaction: Redaction::Verbatim,
    },
];
