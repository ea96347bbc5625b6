//! Which wire protocols a detector speaks, and the few settings some of
//! them need (`protocols = [...]` and `[protocol_options]` in a profile).

use serde::{Deserialize, Serialize};

use super::FieldError;

/// A detector wire protocol. Every detector serves all of them on its own
/// port unless its profile narrows `protocols`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// mockdet's own: `POST /detect`, `/analyze` (with `content`), `/detect/batch`.
    Native,
    /// The FMS Detector API of fms-guardrails-orchestrator: `POST /api/v1/text/contents`,
    /// `/generation`, `/chat`, `/context/doc`.
    Fms,
    /// OpenAI moderations: `POST /v1/moderations`.
    Openai,
    /// Azure AI Content Safety: `POST /contentsafety/text:analyze`.
    Azure,
    /// The Presidio analyzer: `POST /analyze` (with `text`),
    /// `GET /supportedentities`, `GET /recognizers`.
    Presidio,
    /// LiteLLM's generic guardrail API: `POST /beta/litellm_basic_guardrail_api`.
    Litellm,
}

impl Protocol {
    /// Every protocol, in the order they are documented.
    pub const ALL: [Protocol; 6] = [
        Protocol::Native,
        Protocol::Fms,
        Protocol::Openai,
        Protocol::Azure,
        Protocol::Presidio,
        Protocol::Litellm,
    ];

    /// The name used in profiles, the journal and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Native => "native",
            Protocol::Fms => "fms",
            Protocol::Openai => "openai",
            Protocol::Azure => "azure",
            Protocol::Presidio => "presidio",
            Protocol::Litellm => "litellm",
        }
    }

    /// Every protocol (the default of `protocols`).
    pub fn all() -> Vec<Protocol> {
        Self::ALL.to_vec()
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Settings that only some protocols read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ProtocolOptions {
    /// A score at or above this flags: OpenAI's `flagged` and per-category
    /// booleans, and LiteLLM's `BLOCKED`. Default 0.5.
    pub flag_threshold: f64,
    /// When set, Azure Content Safety requests must carry this value in
    /// `Ocp-Apim-Subscription-Key` (401 otherwise); unset, any key or none
    /// is accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azure_key: Option<String>,
    /// The languages the Presidio analyzer accepts (`language` of a request);
    /// another language gets Presidio's 400. Default `["en"]`.
    pub languages: Vec<String>,
}

impl Default for ProtocolOptions {
    fn default() -> Self {
        Self {
            flag_threshold: 0.5,
            azure_key: None,
            languages: vec!["en".to_owned()],
        }
    }
}

/// The protocols one detector serves, as a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProtocolSet(u8);

impl ProtocolSet {
    /// Whether `protocol` is served.
    pub(crate) fn serves(self, protocol: Protocol) -> bool {
        self.0 & protocol.bit() != 0
    }

    /// Checks `protocols` (not empty, no repeats) into a set.
    pub(crate) fn new(protocols: &[Protocol]) -> Result<Self, FieldError> {
        if protocols.is_empty() {
            return Err(FieldError::new(
                "protocols",
                "must name at least one protocol (native, fms, openai, azure, presidio, litellm)",
            ));
        }
        let mut set = 0u8;
        for protocol in protocols {
            if set & protocol.bit() != 0 {
                return Err(FieldError::new(
                    "protocols",
                    format!("`{protocol}` is listed twice"),
                ));
            }
            set |= protocol.bit();
        }
        Ok(Self(set))
    }
}

impl ProtocolOptions {
    /// Checks the options.
    pub(crate) fn check(&self) -> Result<(), FieldError> {
        let t = self.flag_threshold;
        if !(0.0..=1.0).contains(&t) {
            return Err(FieldError::new(
                "protocol_options.flag_threshold",
                format!("{t} is not a score (0..=1)"),
            ));
        }
        if self.languages.is_empty() || self.languages.iter().any(|l| l.trim().is_empty()) {
            return Err(FieldError::new(
                "protocol_options.languages",
                "must list at least one non-empty language code",
            ));
        }
        if self.azure_key.as_deref().is_some_and(str::is_empty) {
            return Err(FieldError::new(
                "protocol_options.azure_key",
                "must not be empty (leave it out to accept any key)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_serves_what_it_lists_and_refuses_repeats_and_nothing() {
        let set = ProtocolSet::new(&[Protocol::Fms, Protocol::Openai]).unwrap();
        assert!(set.serves(Protocol::Fms) && set.serves(Protocol::Openai));
        assert!(!set.serves(Protocol::Native) && !set.serves(Protocol::Litellm));
        let all = ProtocolSet::new(&Protocol::all()).unwrap();
        assert!(Protocol::ALL.iter().all(|p| all.serves(*p)));
        let twice = ProtocolSet::new(&[Protocol::Fms, Protocol::Fms]).unwrap_err();
        assert!(twice.reason.contains("`fms` is listed twice"), "{twice:?}");
        assert!(ProtocolSet::new(&[]).is_err());
    }

    #[test]
    fn options_are_checked() {
        let ok = ProtocolOptions::default();
        assert!(ok.check().is_ok());
        let mut bad = ok.clone();
        bad.flag_threshold = 1.5;
        assert_eq!(
            bad.check().unwrap_err().field,
            "protocol_options.flag_threshold"
        );
        let mut bad = ok.clone();
        bad.flag_threshold = f64::NAN;
        assert!(bad.check().is_err());
        let mut bad = ok.clone();
        bad.languages.clear();
        assert!(bad.check().is_err());
        let mut bad = ok;
        bad.azure_key = Some(String::new());
        assert!(bad.check().is_err());
    }

    #[test]
    fn names_round_trip_through_serde() {
        for protocol in Protocol::ALL {
            let json = serde_json::to_string(&protocol).unwrap();
            assert_eq!(json, format!("\"{}\"", protocol.as_str()));
            assert_eq!(serde_json::from_str::<Protocol>(&json).unwrap(), protocol);
        }
    }
}
