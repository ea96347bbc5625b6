//! One findings engine, one table of how each protocol reports a finding.
//!
//! A detector finds the same things in a text whatever protocol asks (see
//! [`findings`](super::super::findings)); this table says what each
//! protocol calls them. The README's "Point your gateway at mockdet"
//! section prints the same table.
//!
//! | finding (category/subcategory) | FMS `detection_type`/`detection` | OpenAI categories | Azure category | Presidio entity | LiteLLM |
//! |---|---|---|---|---|---|
//! | pii/email | pii/email | – | – | EMAIL_ADDRESS | mask |
//! | pii/phone_number | pii/phone_number | – | – | PHONE_NUMBER | mask |
//! | pii/ssn | pii/ssn | – | – | US_SSN | mask |
//! | pii/credit_card | pii/credit_card | – | – | CREDIT_CARD | mask |
//! | secret/* (keys, tokens, passwords) | secret/* | – | – | – | mask |
//! | injection/sql_injection | injection/sql_injection | illicit | – | – | block |
//! | violence/threat | violence/threat | violence, harassment/threatening | Violence | – | block |
//! | toxicity/hate_speech | toxicity/hate_speech | hate, harassment | Hate | – | block |
//! | toxicity/insult | toxicity/insult | harassment | Hate | – | block |
//! | sentiment/negative | sentiment/negative | – | – | – | – |
//!
//! Scores are the finding's confidence everywhere. Azure severities come
//! from the finding's severity (low 2, medium 4, high 6, critical 7 on the
//! eight-level scale; the four-level scale rounds down to 0/2/4/6).

use super::super::findings::{Finding, Severity};

/// An Azure AI Content Safety harm category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AzureCategory {
    Hate,
    SelfHarm,
    Sexual,
    Violence,
}

impl AzureCategory {
    /// All four, in the order Azure answers them.
    pub(crate) const ALL: [AzureCategory; 4] = [
        AzureCategory::Hate,
        AzureCategory::SelfHarm,
        AzureCategory::Sexual,
        AzureCategory::Violence,
    ];

    /// The name on the wire.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AzureCategory::Hate => "Hate",
            AzureCategory::SelfHarm => "SelfHarm",
            AzureCategory::Sexual => "Sexual",
            AzureCategory::Violence => "Violence",
        }
    }

    /// The category named `name` (as Azure spells it).
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// What a LiteLLM guardrail does about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum GuardrailAction {
    /// Let it through.
    Allow,
    /// Mask the matched text (`GUARDRAIL_INTERVENED`).
    Mask,
    /// Refuse the whole request (`BLOCKED`).
    Block,
}

/// How every protocol reports one kind of finding.
#[derive(Debug)]
pub(crate) struct View {
    /// OpenAI moderation categories it raises.
    pub(crate) openai: &'static [&'static str],
    pub(crate) azure: Option<AzureCategory>,
    /// The Presidio entity type, and the recognizer that finds it.
    pub(crate) presidio: Option<PresidioEntity>,
    pub(crate) litellm: GuardrailAction,
}

/// A Presidio entity type and the Presidio recognizer that reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PresidioEntity {
    pub(crate) entity: &'static str,
    pub(crate) recognizer: &'static str,
}

/// `(category, subcategory or "*", view)`.
const TABLE: &[(&str, &str, View)] = &[
    (
        "pii",
        "email",
        pii(Some(("EMAIL_ADDRESS", "EmailRecognizer"))),
    ),
    (
        "pii",
        "phone_number",
        pii(Some(("PHONE_NUMBER", "PhoneRecognizer"))),
    ),
    ("pii", "ssn", pii(Some(("US_SSN", "UsSsnRecognizer")))),
    (
        "pii",
        "credit_card",
        pii(Some(("CREDIT_CARD", "CreditCardRecognizer"))),
    ),
    ("secret", "*", pii(None)),
    ("injection", "sql_injection", harm(&["illicit"], None)),
    (
        "violence",
        "threat",
        harm(
            &["violence", "harassment/threatening"],
            Some(AzureCategory::Violence),
        ),
    ),
    (
        "toxicity",
        "hate_speech",
        harm(&["hate", "harassment"], Some(AzureCategory::Hate)),
    ),
    (
        "toxicity",
        "insult",
        harm(&["harassment"], Some(AzureCategory::Hate)),
    ),
];

const fn pii(presidio: Option<(&'static str, &'static str)>) -> View {
    let presidio = match presidio {
        Some((entity, recognizer)) => Some(PresidioEntity { entity, recognizer }),
        None => None,
    };
    View {
        openai: &[],
        azure: None,
        presidio,
        litellm: GuardrailAction::Mask,
    }
}

const fn harm(openai: &'static [&'static str], azure: Option<AzureCategory>) -> View {
    View {
        openai,
        azure,
        presidio: None,
        litellm: GuardrailAction::Block,
    }
}

/// What nothing maps to (negative sentiment).
const UNMAPPED: View = View {
    openai: &[],
    azure: None,
    presidio: None,
    litellm: GuardrailAction::Allow,
};

/// How the protocols report `finding`.
pub(crate) fn view(finding: &Finding) -> &'static View {
    TABLE
        .iter()
        .find(|(category, subcategory, _)| {
            *category == finding.category
                && (*subcategory == "*" || *subcategory == finding.subcategory)
        })
        .map_or(&UNMAPPED, |(.., view)| view)
}

/// The Presidio entity types a detector can report, in table order.
pub(crate) fn presidio_entities() -> impl Iterator<Item = PresidioEntity> {
    TABLE.iter().filter_map(|(.., view)| view.presidio)
}

/// A severity on Azure's eight-level scale (0–7).
pub(crate) fn azure_severity(severity: Severity) -> u8 {
    match severity {
        Severity::Low => 2,
        Severity::Medium => 4,
        Severity::High => 6,
        Severity::Critical => 7,
    }
}

/// An eight-level severity on the four-level scale (0, 2, 4, 6).
pub(crate) fn four_levels(eight: u8) -> u8 {
    (eight.min(7) / 2) * 2
}

#[cfg(test)]
mod tests {
    use super::super::super::findings::{EnabledRules, scan};
    use super::*;

    fn found(text: &str) -> Vec<Finding> {
        let all = ["deep_analysis".to_owned()];
        scan(text, EnabledRules::for_capabilities(&all))
    }

    #[test]
    fn every_finding_the_rules_can_make_has_a_row() {
        let text = "mail jo@ex.io, call 415-555-0132, ssn 123-45-6789, card 4111 1111 1111 1111, \
                    key AKIAIOSFODNN7EXAMPLE; ' OR 1=1 --; I will kill you; you idiot; I hate them";
        let kinds: Vec<_> = found(text)
            .iter()
            .map(|f| (f.category, f.subcategory, view(f)))
            .collect();
        assert!(kinds.len() >= 7, "{kinds:?}");
        for (category, subcategory, view) in kinds {
            let mapped = view.presidio.is_some()
                || !view.openai.is_empty()
                || view.litellm != GuardrailAction::Allow;
            assert!(mapped, "{category}/{subcategory} maps to nothing");
        }
    }

    #[test]
    fn openai_categories_in_the_table_are_real_ones() {
        for (.., view) in TABLE {
            for category in view.openai {
                assert!(
                    super::super::openai::CATEGORIES.contains(category),
                    "{category}"
                );
            }
        }
    }

    #[test]
    fn azure_scales() {
        let eight: Vec<u8> = [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ]
        .into_iter()
        .map(azure_severity)
        .collect();
        assert_eq!(eight, [2, 4, 6, 7]);
        assert_eq!(
            (0..=7).map(four_levels).collect::<Vec<_>>(),
            [0, 0, 2, 2, 4, 4, 6, 6]
        );
        assert_eq!(
            AzureCategory::parse("SelfHarm"),
            Some(AzureCategory::SelfHarm)
        );
        assert_eq!(AzureCategory::parse("selfharm"), None);
    }

    /// The README's mapping table, row by row, is this table.
    #[test]
    fn the_readme_prints_this_table() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("README.md beside Cargo.toml");
        let code = |s: &str| format!("`{s}`");
        for (category, subcategory, view) in TABLE {
            let key = format!("{category}/{subcategory}");
            let row = readme
                .lines()
                .find(|line| line.starts_with(&format!("| {key} ")))
                .unwrap_or_else(|| panic!("README has no mapping row for {key}"));
            let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
            let openai = if view.openai.is_empty() {
                "–".to_owned()
            } else {
                view.openai
                    .iter()
                    .map(|c| code(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let azure = view.azure.map_or("–".to_owned(), |a| code(a.as_str()));
            let presidio = view.presidio.map_or("–".to_owned(), |p| code(p.entity));
            let litellm = match view.litellm {
                GuardrailAction::Allow => "–",
                GuardrailAction::Mask => "mask",
                GuardrailAction::Block => "block",
            };
            assert_eq!(
                cells[1..],
                [key.as_str(), &openai, &azure, &presidio, litellm],
                "README row for {key}"
            );
        }
    }

    #[test]
    fn presidio_lists_its_four_entities() {
        assert_eq!(
            presidio_entities().map(|p| p.entity).collect::<Vec<_>>(),
            ["EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN", "CREDIT_CARD"]
        );
    }
}
