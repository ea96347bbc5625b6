//! Deterministic, realistic content findings.
//!
//! This module owns what a mock detector *finds* in a piece of content: the
//! rule table (PII, secrets, SQL injection, toxicity/violence keywords and
//! negative sentiment), which detector capabilities enable which rule groups,
//! the redaction of matched text, the de-duplication and capping of findings,
//! and the single [`Verdict`] a detector reports for the content.
//!
//! Everything is a pure function of `(content, capabilities)`: no randomness,
//! no clock, no global mutable state, so the same request always yields the
//! same findings.
//!
//! Cost: [`scan`] runs on every request of a load-tested server. Regexes are
//! compiled once ([`LazyLock`]); the `regex` crate guarantees linear-time
//! matching and each rule stops after [`MAX_FINDINGS`] matches. Patterns use
//! ASCII word boundaries (`(?-u)`), so non-ASCII content stays on the fast DFA
//! engines; case-insensitive rules search an ASCII-lowercased copy of the
//! content (same byte offsets) instead of using `(?i)`, which keeps the regex
//! crate's literal prefilters; all keyword lists share one regex.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::LazyLock;

use regex::{Match, Regex};
use serde::{Deserialize, Serialize};

/// Upper bound on the number of findings [`scan`] returns (the earliest ones
/// by start offset), so a 1 MiB adversarial content stays cheap to answer.
pub const MAX_FINDINGS: usize = 50;

/// Confidence reported by [`verdict`] for content without findings.
pub const CLEAN_CONFIDENCE: f64 = 0.95;

/// How severe a finding is; ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth noting (e.g. negative sentiment).
    Low,
    /// Personal data or abusive language.
    Medium,
    /// Sensitive identifiers, credentials, attacks, threats.
    High,
    /// Credentials that grant access on their own (cloud keys, private keys).
    Critical,
}

/// One rule match in the content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Broad class: `pii`, `secret`, `injection`, `toxicity`, `violence`, `sentiment`.
    pub category: &'static str,
    /// Precise kind, e.g. `email`, `credit_card`, `aws_access_key`, `sql_injection`, `threat`.
    pub subcategory: &'static str,
    /// In `(0, 1]`, fixed per rule.
    pub confidence: f64,
    /// Fixed per rule.
    pub severity: Severity,
    /// Byte offset of the first matched byte in the content (a char boundary).
    pub start: usize,
    /// Byte offset one past the last matched byte (a char boundary).
    pub end: usize,
    /// The matched text; PII and secrets are masked (first and last char kept,
    /// the rest `*`), keywords and injection payloads are reported as-is.
    pub text: String,
}

/// The top-level verdict a detector reports for a piece of content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// Category of the deciding finding, or `clean`.
    pub category: &'static str,
    /// Subcategory of the deciding finding; `None` when clean.
    pub subcategory: Option<&'static str>,
    /// Confidence of the deciding finding, or [`CLEAN_CONFIDENCE`].
    pub confidence: f64,
    /// Severity of the deciding finding, or `Low` when clean.
    pub severity: Severity,
}

/// A set of rules enabled together by a capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Pii,
    Secrets,
    Injection,
    Toxicity,
    Sentiment,
}

const ALL_GROUPS: &[Group] = &[
    Group::Pii,
    Group::Secrets,
    Group::Injection,
    Group::Toxicity,
    Group::Sentiment,
];

/// Which rule groups each advertised capability enables (exact names).
const CAPABILITY_GROUPS: &[(&str, &[Group])] = &[
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
struct GroupSet(u8);

impl GroupSet {
    fn from_capabilities(capabilities: &[String]) -> Self {
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

    fn contains(self, group: Group) -> bool {
        self.0 & Self::bit(group) != 0
    }
}

/// How a rule matches. If the regex has capture groups, the first
/// participating group is the reported span (e.g. the value of
/// `api_key=...`), else the whole match.
enum Matcher {
    /// A case-sensitive regex matched against the content.
    Pattern(&'static str),
    /// A lowercase regex matched against the ASCII-lowercased content: ASCII
    /// case-insensitive with identical byte offsets, and much faster than
    /// `(?i)` because the regex crate keeps its literal prefilters.
    Folded(&'static str),
    /// Whole words / phrases, ASCII case-insensitive with ASCII word
    /// boundaries. All word lists share one regex ([`KEYWORDS`]); a phrase
    /// takes precedence over a listed word it contains.
    Words(&'static [&'static str]),
}

/// How the matched text is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Redaction {
    /// Keep first and last char, mask the rest with `*`.
    Mask,
    /// Report the text as matched.
    Verbatim,
}

/// One detection rule: everything that varies between rules is data here.
struct Rule {
    group: Group,
    category: &'static str,
    subcategory: &'static str,
    severity: Severity,
    confidence: f64,
    matcher: Matcher,
    /// Extra validation of the reported span (Luhn, SSN ranges...).
    check: Option<fn(&str) -> bool>,
    redaction: Redaction,
}

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
static RULES: &[Rule] = &[
    Rule {
        group: Group::Pii,
        category: "pii",
        subcategory: "email",
        severity: Severity::Medium,
        confidence: 0.95,
        matcher: Matcher::Pattern(
            r"(?-u)\b[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b",
        ),
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
        check: None,
        redaction: Redaction::Verbatim,
    },
];

/// A rule's own compiled regex.
struct Compiled {
    regex: Regex,
    /// Report the first participating capture group rather than the whole match.
    reports_group: bool,
}

/// Per rule, same index as [`RULES`]: its compiled regex, or `None` for
/// [`Matcher::Words`] rules, which share [`KEYWORDS`].
static COMPILED: LazyLock<Vec<Option<Compiled>>> =
    LazyLock::new(|| RULES.iter().map(compile).collect());

fn compile(rule: &Rule) -> Option<Compiled> {
    let (Matcher::Pattern(pattern) | Matcher::Folded(pattern)) = rule.matcher else {
        return None;
    };
    let regex = Regex::new(pattern).expect("built-in finding rules are valid regexes (tested)");
    let reports_group = regex.captures_len() > 1;
    Some(Compiled {
        regex,
        reports_group,
    })
}

/// Every [`Matcher::Words`] list compiled into one regex, so all keyword rules
/// cost a single pass; a matched word is attributed to each list containing it.
struct KeywordIndex {
    /// `(?-u)\b(?:...)\b` over the distinct lowercased words, longest first.
    regex: Regex,
    /// Lowercased word → indices of the rules listing it, in table order.
    rules_by_word: HashMap<String, Vec<usize>>,
}

static KEYWORDS: LazyLock<KeywordIndex> = LazyLock::new(|| {
    let mut rules_by_word: HashMap<String, Vec<usize>> = HashMap::new();
    for (index, rule) in RULES.iter().enumerate() {
        if let Matcher::Words(words) = rule.matcher {
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
    let regex = Regex::new(&pattern).expect("escaped keyword alternation is a valid regex");
    KeywordIndex {
        regex,
        rules_by_word,
    }
});

/// A rule match before redaction: rule index and byte span.
#[derive(Debug, Clone, Copy)]
struct Hit {
    rule: usize,
    start: usize,
    end: usize,
}

/// Scan content with the rules enabled by the detector's capabilities.
///
/// Returns at most [`MAX_FINDINGS`] findings, sorted by `(start, end)`; when
/// several rules report the same span only the most severe is kept (then the
/// most confident, then the earliest rule in the table). Unknown capabilities
/// enable nothing.
pub fn scan(content: &str, capabilities: &[String]) -> Vec<Finding> {
    let groups = GroupSet::from_capabilities(capabilities);
    let mut haystack = Haystack {
        content,
        folded: None,
    };
    let mut hits = Vec::new();
    let mut keywords_enabled = false;
    for (index, (rule, compiled)) in RULES.iter().zip(COMPILED.iter()).enumerate() {
        if !groups.contains(rule.group) {
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
        collect_keyword_hits(groups, haystack.folded(), &mut hits);
    }
    resolve(&mut hits);
    hits.iter().map(|hit| to_finding(*hit, content)).collect()
}

/// The content and, built on first use, its ASCII-lowercased copy (same length
/// and char boundaries, so offsets found in one are valid in the other).
struct Haystack<'c> {
    content: &'c str,
    folded: Option<String>,
}

impl Haystack<'_> {
    fn for_matcher(&mut self, matcher: &Matcher) -> &str {
        match matcher {
            Matcher::Pattern(_) => self.content,
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
    if compiled.reports_group {
        let spans = compiled
            .regex
            .captures_iter(searched)
            .filter_map(|caps| caps.iter().skip(1).flatten().next());
        push_valid(index, spans, content, hits);
    } else {
        push_valid(index, compiled.regex.find_iter(searched), content, hits);
    }
}

fn push_valid<'s>(
    index: usize,
    spans: impl Iterator<Item = Match<'s>>,
    content: &str,
    hits: &mut Vec<Hit>,
) {
    let check = RULES[index].check;
    let valid = spans.filter(|m| check.is_none_or(|check| check(&content[m.range()])));
    hits.extend(valid.take(MAX_FINDINGS).map(|m| Hit {
        rule: index,
        start: m.start(),
        end: m.end(),
    }));
}

/// Append a hit for every enabled keyword rule listing each matched word, for
/// the first [`MAX_FINDINGS`] words that have one (same argument as [`collect_hits`]).
fn collect_keyword_hits(groups: GroupSet, folded: &str, hits: &mut Vec<Hit>) {
    let index = &*KEYWORDS;
    let enabled = |rule: &usize| groups.contains(RULES[*rule].group);
    let words = index.regex.find_iter(folded).filter_map(|m| {
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
fn redact(text: &str) -> String {
    let count = text.chars().count();
    if count <= 2 {
        return "*".repeat(count);
    }
    text.chars()
        .enumerate()
        .map(|(i, c)| if i == 0 || i == count - 1 { c } else { '*' })
        .collect()
}

/// Summarise findings into the detector's top-level verdict.
///
/// The most severe finding decides (ties: highest confidence, then earliest
/// start); no findings gives `clean` with [`CLEAN_CONFIDENCE`] and `Low`.
pub fn verdict(findings: &[Finding]) -> Verdict {
    let top = findings.iter().reduce(|best, candidate| {
        let better = candidate
            .severity
            .cmp(&best.severity)
            .then_with(|| candidate.confidence.total_cmp(&best.confidence))
            .then_with(|| best.start.cmp(&candidate.start));
        if better == Ordering::Greater {
            candidate
        } else {
            best
        }
    });
    match top {
        Some(finding) => Verdict {
            category: finding.category,
            subcategory: Some(finding.subcategory),
            confidence: finding.confidence,
            severity: finding.severity,
        },
        None => Verdict {
            category: "clean",
            subcategory: None,
            confidence: CLEAN_CONFIDENCE,
            severity: Severity::Low,
        },
    }
}

/// SSN `AAA-GG-SSSS`: area not 000, 666 or 900–999; group not 00; serial not 0000.
fn is_valid_ssn(text: &str) -> bool {
    let mut parts = text.split('-');
    let (Some(area), Some(group), Some(serial)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// Luhn checksum over the ASCII digits of `text` (separators ignored; the
/// credit-card pattern guarantees 13–19 digits).
fn is_luhn_valid(text: &str) -> bool {
    let digits = text
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'));
    let sum: u32 = digits
        .rev()
        .enumerate()
        .map(|(i, d)| match (i % 2 == 1, d * 2) {
            (true, doubled) if doubled > 9 => doubled - 9,
            (true, doubled) => doubled,
            (false, _) => d,
        })
        .sum();
    sum % 10 == 0
}

/// Secret values look random: at least one ASCII letter and one digit.
fn has_letter_and_digit(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_alphabetic()) && text.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[&str] = &["deep_analysis"];
    const PII: &[&str] = &["pii_detection"];
    const SECURITY: &[&str] = &["security_scan"];
    const TOXICITY: &[&str] = &["toxicity_detection"];
    const SENTIMENT: &[&str] = &["sentiment_analysis"];

    fn caps(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    fn scan_with(content: &str, names: &[&str]) -> Vec<Finding> {
        scan(content, &caps(names))
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
        assert!(!KEYWORDS.regex.is_match(""));
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

    #[test]
    fn email_positive_and_negative() {
        assert_detects(
            PII,
            "email",
            &[
                (
                    "mail jane.doe+ops@example.co.uk today",
                    "jane.doe+ops@example.co.uk",
                ),
                ("<bob@corp-mail.example.com>", "bob@corp-mail.example.com"),
            ],
        );
        assert_ignores(
            PII,
            "email",
            &["user at example dot com", "@handle", "a@b", "x@y.z"],
        );
    }

    #[test]
    fn phone_positive_and_negative() {
        assert_detects(
            PII,
            "phone_number",
            &[
                ("call 415-555-0132 now", "415-555-0132"),
                ("call (415) 555-0132", "(415) 555-0132"),
                ("call +1 415.555.0132.", "415.555.0132"),
                ("call +1 (415) 555 0132", "+1 (415) 555 0132"),
                ("fax 212 555 0199", "212 555 0199"),
                ("whatsapp +447911123456", "+447911123456"),
            ],
        );
        assert_ignores(
            PII,
            "phone_number",
            &[
                "build 123-456-7890",
                "v4155550132",
                "+12345",
                "id 1415-555-0132",
                "(123) 555-0132",
            ],
        );
    }

    #[test]
    fn ssn_positive_and_negative() {
        assert_detects(PII, "ssn", &[("ssn: 123-45-6789.", "123-45-6789")]);
        assert_ignores(
            PII,
            "ssn",
            &[
                "000-12-3456",
                "666-12-3456",
                "900-12-3456",
                "123-00-6789",
                "123-45-0000",
                "1123-45-6789",
            ],
        );
    }

    #[test]
    fn credit_card_requires_luhn() {
        assert_detects(
            PII,
            "credit_card",
            &[
                ("card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111"),
                ("card 4111-1111-1111-1111", "4111-1111-1111-1111"),
                ("card 4012888888881881", "4012888888881881"),
                ("amex 3782 822463 10005", "3782 822463 10005"),
            ],
        );
        assert_ignores(
            PII,
            "credit_card",
            &[
                "card 4111 1111 1111 1112",
                "card 4111111111111112",
                "zeros 0000 0000 0000 0000",
                "issuer 8111 1111 1111 1112 (Luhn-valid)",
                "short 411111111111",
                "long 41111111111111111111111",
            ],
        );
    }

    #[test]
    fn aws_and_github_tokens() {
        let ghp = format!("ghp_{}", "a1B2c3D4e5".repeat(3) + "F6g7H8");
        assert_detects(
            SECURITY,
            "aws_access_key",
            &[("key AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE")],
        );
        assert_detects(
            SECURITY,
            "github_token",
            &[(&format!("GH_TOKEN {ghp} x"), &ghp)],
        );
        assert_ignores(
            SECURITY,
            "aws_access_key",
            &["akiaiosfodnn7example", "AKIA1234", "XAKIAIOSFODNN7EXAMPLE"],
        );
        assert_ignores(
            SECURITY,
            "github_token",
            &["ghp_short", "ghx_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
        );
    }

    #[test]
    fn private_key_block_and_header() {
        let block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7x+/=\nabc\n\
                     -----END RSA PRIVATE KEY-----";
        assert_detects(
            SECURITY,
            "private_key",
            &[
                (&format!("key:\n{block}\ntrailer"), block),
                (
                    "-----BEGIN OPENSSH PRIVATE KEY----- (truncated",
                    "-----BEGIN OPENSSH PRIVATE KEY-----",
                ),
                ("-----BEGIN PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----"),
            ],
        );
        assert_ignores(
            SECURITY,
            "private_key",
            &["-----BEGIN PUBLIC KEY-----", "BEGIN PRIVATE KEY"],
        );
    }

    #[test]
    fn secret_assignments_report_the_value() {
        assert_detects(
            SECURITY,
            "api_key",
            &[
                ("api_key=sk4f8a9b7c6d5e4f3a2b1", "sk4f8a9b7c6d5e4f3a2b1"),
                (r#"{"apiKey": "Zx9Yw8Vu7Ts6Rq5Po4"}"#, "Zx9Yw8Vu7Ts6Rq5Po4"),
                ("X-Api-Key: 0123456789abcdef0123", "0123456789abcdef0123"),
            ],
        );
        assert_detects(
            SECURITY,
            "generic_secret",
            &[
                (
                    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                ),
                (
                    "token: 9f8e7d6c5b4a39281706f5e4",
                    "9f8e7d6c5b4a39281706f5e4",
                ),
            ],
        );
        assert_ignores(
            SECURITY,
            "api_key",
            &[
                "api_key=short1",
                "api_key=abcdefghijklmnopqrst",
                "the api key is long",
            ],
        );
        assert_ignores(
            SECURITY,
            "generic_secret",
            &["tokens: 1234567890123456", "secret=tooshort1"],
        );
    }

    #[test]
    fn password_assignments() {
        assert_detects(
            SECURITY,
            "password",
            &[
                (r#"password = "hunter2""#, "hunter2"),
                ("db_passwd: 'c0rrect horse'", "c0rrect horse"),
                ("PWD=S3cr3t!x;", "S3cr3t!x"),
                (r#"{"password": "pässwörd"}"#, "pässwörd"),
            ],
        );
        assert_ignores(
            SECURITY,
            "password",
            &[r#"password = """#, "forgot my password again", "pwd=abc"],
        );
    }

    #[test]
    fn sql_injection_variants() {
        assert_detects(
            SECURITY,
            "sql_injection",
            &[
                ("user=' OR 1=1", "' OR 1=1"),
                ("x' or 'a'='a", "' or 'a'='a"),
                (
                    "id=1 UNION ALL SELECT password FROM users",
                    "UNION ALL SELECT",
                ),
                ("name=x'; DROP TABLE users", "; DROP TABLE"),
                ("1; delete from accounts", "; delete from"),
                ("admin'--", "'--"),
            ],
        );
        assert_ignores(
            SECURITY,
            "sql_injection",
            &[
                "the union selected a new leader",
                "it's orange = fruit",
                "we'll drop the table later",
                "a -- b",
            ],
        );
    }

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
                    rule.subcategory == finding.subcategory
                        && rule_reports_span(rule, content, finding)
                }),
                "{matched:?} is not a span of a {} rule",
                finding.subcategory
            );
            assert_eq!(finding.text.chars().count(), matched.chars().count());
        }
    }

    /// A standalone regex for one rule (a keyword rule gets its own list only).
    fn rule_regex(rule: &Rule) -> Regex {
        let pattern = match rule.matcher {
            Matcher::Pattern(pattern) | Matcher::Folded(pattern) => pattern.to_owned(),
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

    #[test]
    fn scan_is_deterministic() {
        let content =
            "x@y.io 415-555-0132 AKIAIOSFODNN7EXAMPLE ' or 1=1 kill hate terrible ".repeat(5);
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

    fn finding(
        severity: Severity,
        confidence: f64,
        start: usize,
        subcategory: &'static str,
    ) -> Finding {
        Finding {
            category: "test",
            subcategory,
            confidence,
            severity,
            start,
            end: start + 1,
            text: String::new(),
        }
    }

    #[test]
    fn verdict_picks_most_severe_then_confident_then_earliest() {
        let clean = verdict(&[]);
        assert_eq!(
            (clean.category, clean.subcategory, clean.severity),
            ("clean", None, Severity::Low)
        );
        assert_eq!(clean.confidence, CLEAN_CONFIDENCE);
        let findings = [
            finding(Severity::Medium, 0.99, 0, "medium"),
            finding(Severity::High, 0.7, 1, "high_low_conf"),
            finding(Severity::High, 0.9, 2, "high_first"),
            finding(Severity::High, 0.9, 3, "high_later"),
            finding(Severity::Low, 1.0, 4, "low"),
        ];
        let top = verdict(&findings);
        assert_eq!(top.subcategory, Some("high_first"));
        assert_eq!(
            (top.severity, top.confidence, top.category),
            (Severity::High, 0.9, "test")
        );
        let real = verdict(&scan_with("ssn 123-45-6789 key AKIAIOSFODNN7EXAMPLE", ALL));
        assert_eq!(
            (real.category, real.subcategory, real.severity),
            ("secret", Some("aws_access_key"), Severity::Critical)
        );
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

    #[test]
    fn severity_serialises_lowercase() {
        assert_eq!(
            serde_json::to_string(&Severity::Critical).expect("serialise"),
            "\"critical\""
        );
        let parsed: Severity = serde_json::from_str("\"medium\"").expect("deserialise");
        assert_eq!(parsed, Severity::Medium);
        let json = serde_json::to_value(verdict(&[])).expect("serialise");
        assert_eq!(
            json,
            serde_json::json!({"category": "clean", "subcategory": null, "confidence": 0.95, "severity": "low"})
        );
    }
}
