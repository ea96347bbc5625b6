//! Detector profiles: what a mock detector is (id, port, capabilities) and how
//! it misbehaves (latency model, fault menu, batch policy, limits).
//!
//! A [`DetectorProfile`] is the plain data a profile file holds; every type
//! of the file (latency, faults, batch, limits, schedule, bursts) and of the
//! admin API's bodies lives here. Loading layers serde defaults < the file
//! (or the embedded built-in) < `MOCKDET_<NAME>_*` environment variables and
//! refuses unknown fields. Values are checked once — when a detector is
//! built from the profile, or by [`DetectorProfile::validate`] — into
//! ready-to-sample types, so no request ever re-parses or re-checks
//! configuration.

mod batch;
mod control;
mod env;
mod error;
mod fault;
mod latency;
mod load;
mod protocol;
mod replay;

pub use batch::{BatchLatency, BatchSpec};
pub use control::{
    BurstSpec, NextFaults, Outage, OutageMode, Phase, PhaseOverrides, ScheduledOutage, Script,
};
pub use error::ProfileError;
pub use fault::{FaultKind, FaultSpec, HangEnd, MsRange};
pub(crate) use latency::KNOT_NAMES;
pub use latency::{LatencyKind, LatencySpec, MAX_POINTS, SlowTailSpec, SpecError};
pub use load::BUILTIN_NAMES;
pub(crate) use protocol::ProtocolSet;
pub use protocol::{Protocol, ProtocolOptions};
pub use replay::{MAX_REPLAY_CAPACITY, Replay, ReplayOptions};

/// The longest delay mockdet acts out, in milliseconds: 24 hours. Every
/// duration a profile, the admin API or a header sets — latency bounds,
/// hangs, slow bodies, outage windows and their extra latency, script
/// phases, scheduled windows — must be at most this, and is rejected with
/// the field named otherwise. A latency model may put at most 1 % of its
/// draws beyond it; such draws are cut to 24 h.
pub const MAX_MS: f64 = 86_400_000.0;

pub(crate) use batch::BatchPolicy;
pub(crate) use fault::{Fault, FaultMenu};

use serde::{Deserialize, Serialize};

/// Everything that defines one mock detector, as written in a profile file.
///
/// The five built-in profiles live in `profiles/*.toml` and are embedded in
/// the binary; [`DetectorProfile::builtin`] loads one, and
/// [`DetectorProfile::from_path`] loads a TOML or YAML file of your own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DetectorProfile {
    /// Short name used on the command line, in URLs maps and metric labels.
    pub name: String,
    /// The id orchestrators are configured with (`detector_id` in answers).
    pub detector_id: String,
    /// The `detector_type` reported in every answer.
    #[serde(default = "default_detector_type")]
    pub detector_type: String,
    /// Version string reported in answers and on `/capabilities`.
    #[serde(default = "default_version")]
    pub version: String,
    /// Port the detector listens on when the fleet uses profile ports.
    pub port: u16,
    /// Capabilities advertised; they also select which findings rules run.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Content types the detector claims to support.
    #[serde(default = "default_content_types")]
    pub content_types: Vec<String>,
    /// How long a successful answer takes.
    pub latency: LatencySpec,
    /// Faults, each with a probability; at most one is injected per request.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// `/detect/batch` behaviour.
    #[serde(default)]
    pub batch: BatchSpec,
    /// Input limits.
    #[serde(default)]
    pub limits: LimitsSpec,
    /// Outage windows relative to boot: `{ at = "30s", for = "90s", mode = "unavailable" }`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<ScheduledOutage>,
    /// Correlated failures: a two-state (Gilbert–Elliott) burst model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bursts: Option<BurstSpec>,
    /// The wire protocols served (default: all of them); a request to one
    /// left out gets a 404.
    #[serde(default = "Protocol::all")]
    pub protocols: Vec<Protocol>,
    /// Settings some protocols read: OpenAI's and LiteLLM's flag threshold,
    /// Azure's subscription key, Presidio's languages.
    #[serde(default)]
    pub protocol_options: ProtocolOptions,
    /// How each request's draws are keyed: `request` (default) by the
    /// request's key and attempt, so the same logical request gets the same
    /// fate at any concurrency; `sequence` by arrival order.
    #[serde(default)]
    pub replay: Replay,
    /// How request mode finds a request's key and attempt.
    #[serde(default)]
    pub replay_options: ReplayOptions,
    /// Honour the `X-Mock-Delay-Ms`, `X-Mock-Fault` and `X-Mock-Status`
    /// request headers (off by default; `--allow-overrides` turns it on).
    #[serde(default)]
    pub allow_overrides: bool,
    /// Answers recorded by `mockdet record` (`answers.ndjson`): a request
    /// whose path and key were recorded gets the recorded body when its
    /// fate is a success; the rest are synthesized. A relative path is
    /// taken from the profile file's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_answers: Option<String>,
    /// Where the profile came from, for error messages (not part of the file).
    #[serde(skip)]
    pub(crate) origin: Origin,
}

/// Where a profile came from — a file path, `builtin:NAME` or `inline
/// profile` — named by every validation error. It never makes two profiles
/// unequal: the same values loaded from two places are the same profile.
#[derive(Debug, Clone, Default)]
pub(crate) struct Origin(Option<String>);

impl PartialEq for Origin {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Input limits of one detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSpec {
    /// Largest accepted request body in bytes; larger bodies get 413.
    pub body_bytes: usize,
    /// How many requests the journal keeps (`GET /admin/requests`).
    pub journal_size: usize,
    /// How long a client may take to send a request's headers or its body,
    /// and an idle keep-alive connection stays open, in milliseconds. Unset,
    /// the fleet's setting applies (`--read-timeout`,
    /// [`FleetBuilder::read_timeout`](crate::FleetBuilder::read_timeout);
    /// 120 s by default). Deliberate hangs and slow bodies are the
    /// detector's, not the client's, and are not cut by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_timeout_ms: Option<f64>,
}

impl Default for LimitsSpec {
    fn default() -> Self {
        Self {
            body_bytes: 1024 * 1024,
            journal_size: 10_000,
            read_timeout_ms: None,
        }
    }
}

impl LimitsSpec {
    /// `read_timeout_ms` checked: finite, positive, at most [`MAX_MS`].
    pub(crate) fn read_timeout(&self) -> Result<Option<std::time::Duration>, FieldError> {
        match self.read_timeout_ms {
            None => Ok(None),
            Some(ms) if ms.is_finite() && ms > 0.0 && ms <= MAX_MS => {
                Ok(Some(std::time::Duration::from_secs_f64(ms / 1000.0)))
            }
            Some(ms) => Err(FieldError::new(
                "limits.read_timeout_ms",
                format!("{ms} is not a duration in (0, {MAX_MS}] ms"),
            )),
        }
    }
}

fn default_detector_type() -> String {
    "mock".to_owned()
}

fn default_version() -> String {
    "1.0.0".to_owned()
}

fn default_content_types() -> Vec<String> {
    vec!["text".to_owned()]
}

impl DetectorProfile {
    /// Where the profile was loaded from (a path, `builtin:NAME`, `inline
    /// profile`), or `profile `NAME`` for one built in code.
    pub fn origin(&self) -> String {
        match &self.origin.0 {
            Some(origin) => origin.clone(),
            None => format!("profile `{}`", self.name),
        }
    }

    /// The profile rendered as commented-free TOML, as `profiles show` prints it.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

/// Field-level rejection produced while validating one part of a profile.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) reason: String,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_profile_is_valid() {
        for name in BUILTIN_NAMES {
            let profile = DetectorProfile::builtin(name).expect("builtin loads");
            assert_eq!(&profile.name, name);
            profile.validate().expect("builtin validates");
        }
    }

    #[test]
    fn an_empty_detector_id_is_rejected_with_its_field() {
        let mut profile = DetectorProfile::builtin("success").unwrap();
        profile.detector_id = " ".into();
        let err = profile.validate().unwrap_err().to_string();
        assert!(err.contains("detector_id"), "{err}");
    }

    #[test]
    fn a_read_timeout_must_be_a_positive_duration_within_a_day() {
        let mut limits = LimitsSpec::default();
        assert_eq!(limits.read_timeout(), Ok(None));
        limits.read_timeout_ms = Some(250.0);
        let want = Some(std::time::Duration::from_millis(250));
        assert_eq!(limits.read_timeout(), Ok(want));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, MAX_MS * 2.0] {
            limits.read_timeout_ms = Some(bad);
            let error = limits.read_timeout().unwrap_err();
            assert_eq!(error.field, "limits.read_timeout_ms", "{bad}");
        }
    }

    #[test]
    fn toml_rendering_round_trips() {
        let profile = DetectorProfile::builtin("timeout").unwrap();
        let back: DetectorProfile = toml::from_str(&profile.to_toml()).unwrap();
        assert_eq!(back, profile);
    }
}
