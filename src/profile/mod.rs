//! Detector profiles: what a mock detector is (id, port, capabilities) and how
//! it misbehaves (latency model, fault menu, batch policy, limits).
//!
//! A [`DetectorProfile`] is the plain data a profile file holds. Loading goes
//! through figment — serde defaults < the file (or the embedded built-in) <
//! `MOCKDET_<NAME>_*` environment variables — and ends in
//! [`DetectorProfile::validate`], which turns the data into ready-to-sample
//! types once, so no request ever re-parses or re-checks configuration.

mod batch;
mod error;
mod fault;
mod load;

pub use batch::{BatchLatency, BatchSpec};
pub use error::ProfileError;
pub use fault::{FaultKind, FaultSpec, HangEnd, MsRange};
pub use load::BUILTIN_NAMES;

pub use crate::sampling::latency::{LatencyKind, LatencySpec, SlowTailSpec};
pub(crate) use batch::BatchPolicy;
pub(crate) use fault::{Fault, FaultMenu};

use serde::{Deserialize, Serialize};

use crate::control::spec::{BurstSpec, Outage, ReadyBursts, ScheduledOutage};
use crate::sampling::latency::Latency;

/// Everything that defines one mock detector, as written in a profile file.
///
/// The five built-in profiles live in `profiles/*.toml` and are embedded in
/// the binary; [`DetectorProfile::builtin`] loads one, and
/// [`DetectorProfile::from_path`] loads a TOML or YAML file of your own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Honour the `X-Mock-Delay-Ms`, `X-Mock-Fault` and `X-Mock-Status`
    /// request headers (off by default; `--allow-overrides` turns it on).
    #[serde(default)]
    pub allow_overrides: bool,
}

/// Input limits of one detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSpec {
    /// Largest accepted request body in bytes; larger bodies get 413.
    pub body_bytes: usize,
    /// How many requests the journal keeps (`GET /admin/requests`).
    pub journal_size: usize,
}

impl Default for LimitsSpec {
    fn default() -> Self {
        Self {
            body_bytes: 1024 * 1024,
            journal_size: 10_000,
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

/// A profile checked and turned into ready-to-sample parts.
#[derive(Debug, Clone)]
pub(crate) struct Behaviour {
    pub(crate) latency: Latency,
    pub(crate) faults: FaultMenu,
    pub(crate) batch: BatchPolicy,
    pub(crate) body_limit: usize,
    pub(crate) journal_size: usize,
    pub(crate) schedule: Vec<(std::time::Duration, Outage)>,
    pub(crate) bursts: Option<ReadyBursts>,
    pub(crate) allow_overrides: bool,
}

impl DetectorProfile {
    /// Checks every field and builds the sampling types. `origin` names where
    /// the profile came from (a file path or `builtin:NAME`) for the error.
    pub(crate) fn behaviour(&self, origin: &str) -> Result<Behaviour, ProfileError> {
        let invalid = |field: String, reason: String| ProfileError::Invalid {
            origin: origin.to_owned(),
            field,
            reason,
        };
        if self.name.trim().is_empty() {
            return Err(invalid("name".into(), "must not be empty".into()));
        }
        if self.detector_id.trim().is_empty() {
            return Err(invalid("detector_id".into(), "must not be empty".into()));
        }
        if self.limits.body_bytes == 0 {
            return Err(invalid("limits.body_bytes".into(), "must be > 0".into()));
        }
        let latency = self
            .latency
            .validate()
            .map_err(|e| invalid(format!("latency.{}", e.field), e.reason))?;
        let faults = FaultMenu::new(&self.faults).map_err(|e| invalid(e.field, e.reason))?;
        let batch = self
            .batch
            .policy()
            .map_err(|e| invalid(e.field, e.reason))?;
        let schedule = self
            .schedule
            .iter()
            .enumerate()
            .map(|(i, window)| window.ready(&format!("schedule[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(e.field, e.reason))?;
        let bursts = match &self.bursts {
            Some(spec) => Some(spec.ready().map_err(|e| invalid(e.field, e.reason))?),
            None => None,
        };
        Ok(Behaviour {
            latency,
            faults,
            batch,
            body_limit: self.limits.body_bytes,
            journal_size: self.limits.journal_size,
            schedule,
            bursts,
            allow_overrides: self.allow_overrides,
        })
    }

    /// Checks the profile without keeping the result.
    ///
    /// ```
    /// let profile = mockdet::DetectorProfile::builtin("variable").unwrap();
    /// assert!(profile.validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<(), ProfileError> {
        self.behaviour(&format!("profile `{}`", self.name))
            .map(|_| ())
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
    fn toml_rendering_round_trips() {
        let profile = DetectorProfile::builtin("timeout").unwrap();
        let back: DetectorProfile = toml::from_str(&profile.to_toml()).unwrap();
        assert_eq!(back, profile);
    }
}
