//! The runtime-control tables of a profile and the admin API's bodies, as
//! written: outage windows, "the next N requests", phased scripts,
//! scheduled windows and burst models. `control` turns them into ready
//! forms; the checks that need nothing but the values themselves live here.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{FaultSpec, FieldError, LatencySpec};

/// How a detector misbehaves during an outage window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OutageMode {
    /// Answer `status` (default 503) at once, and `/health` answers 503.
    Unavailable,
    /// Hold requests until the window ends, then close without answering.
    Hang,
    /// Reset connections at once.
    Reset,
    /// Answer `status` (default 500) after the usual latency.
    Errors,
    /// Add `extra_ms` (default 2000) to the usual latency.
    Slow,
    /// Only `/health` fails (503); requests are served as usual. Tests
    /// whether a caller's health poll takes the detector out of rotation.
    Unhealthy,
}

impl OutageMode {
    /// Every mode, for metrics.
    pub const ALL: [OutageMode; 6] = [
        OutageMode::Unavailable,
        OutageMode::Hang,
        OutageMode::Reset,
        OutageMode::Errors,
        OutageMode::Slow,
        OutageMode::Unhealthy,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutageMode::Unavailable => "unavailable",
            OutageMode::Hang => "hang",
            OutageMode::Reset => "reset",
            OutageMode::Errors => "errors",
            OutageMode::Slow => "slow",
            OutageMode::Unhealthy => "unhealthy",
        }
    }
}

/// An outage window starting now (`POST /admin/outage`, [`DetectorHandle::outage`](crate::DetectorHandle::outage)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Outage {
    /// How the detector misbehaves.
    pub mode: OutageMode,
    /// How long the window lasts, in milliseconds.
    pub duration_ms: u64,
    /// Status for `unavailable` (default 503) and `errors` (default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Chance that a request inside the window is affected (default 1).
    #[serde(default = "one")]
    pub probability: f64,
    /// Added latency for `slow`, in milliseconds (default 2000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_ms: Option<f64>,
}

fn one() -> f64 {
    1.0
}

impl Outage {
    fn new(mode: OutageMode, duration: Duration) -> Self {
        Self {
            mode,
            duration_ms: duration.as_millis() as u64,
            status: None,
            probability: 1.0,
            extra_ms: None,
        }
    }

    /// `/health` answers 503 for `duration`; requests are served as usual.
    pub fn unhealthy(duration: Duration) -> Self {
        Self::new(OutageMode::Unhealthy, duration)
    }

    /// 503s (and an unhealthy `/health`) for `duration`.
    pub fn unavailable(duration: Duration) -> Self {
        Self::new(OutageMode::Unavailable, duration)
    }

    /// Requests hang until the window ends, then the connection closes.
    pub fn hang(duration: Duration) -> Self {
        Self::new(OutageMode::Hang, duration)
    }

    /// Connections are reset for `duration`.
    pub fn reset(duration: Duration) -> Self {
        Self::new(OutageMode::Reset, duration)
    }

    /// `status` answers, after the usual latency, for `duration`.
    pub fn errors(status: u16, duration: Duration) -> Self {
        Self {
            status: Some(status),
            ..Self::new(OutageMode::Errors, duration)
        }
    }

    /// `extra` added to every latency for `duration`.
    pub fn slow(extra: Duration, duration: Duration) -> Self {
        Self {
            extra_ms: Some(extra.as_secs_f64() * 1000.0),
            ..Self::new(OutageMode::Slow, duration)
        }
    }

    /// Only this share of requests is affected.
    pub fn with_probability(mut self, probability: f64) -> Self {
        self.probability = probability;
        self
    }

    /// Checks the values; `field` prefixes error field names.
    pub(crate) fn check(&self, field: &str) -> Result<(), FieldError> {
        let at = |name: &str| format!("{field}{name}");
        if self.duration_ms as f64 > super::MAX_MS {
            return Err(FieldError::new(
                at("duration_ms"),
                "must be at most 86400000 (24 h)",
            ));
        }
        if !(0.0..=1.0).contains(&self.probability) {
            return Err(FieldError::new(at("probability"), "must be within 0..=1"));
        }
        if self.mode == OutageMode::Unhealthy && self.probability < 1.0 {
            return Err(FieldError::new(
                at("probability"),
                "applies to request-affecting modes only: an unhealthy window fails every /health",
            ));
        }
        if let Some(status) = self.status {
            if !(400..=599).contains(&status) {
                return Err(FieldError::new(
                    at("status"),
                    "must be an error status (400–599)",
                ));
            }
            if !matches!(self.mode, OutageMode::Unavailable | OutageMode::Errors) {
                return Err(FieldError::new(
                    at("status"),
                    "applies to unavailable and errors only",
                ));
            }
        }
        match self.extra_ms {
            Some(_) if self.mode != OutageMode::Slow => {
                Err(FieldError::new(at("extra_ms"), "applies to mode slow only"))
            }
            Some(ms) if !(ms.is_finite() && ms >= 0.0) => {
                Err(FieldError::new(at("extra_ms"), "must be finite and >= 0"))
            }
            Some(ms) if ms > super::MAX_MS => Err(FieldError::new(
                at("extra_ms"),
                "must be at most 86400000 (24 h)",
            )),
            _ => Ok(()),
        }
    }

    /// The status this outage answers with, where it answers.
    pub(crate) fn status_or_default(&self) -> u16 {
        self.status.unwrap_or(match self.mode {
            OutageMode::Unavailable => 503,
            _ => 500,
        })
    }
}

/// A fault forced on the next `count` requests (`POST /admin/next`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NextFaults {
    /// How many requests.
    pub count: u32,
    /// The fault; its `probability` may be left out (it is ignored).
    pub fault: FaultSpec,
}

/// What one script phase changes, as long as it runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PhaseOverrides {
    /// A fault menu replacing the profile's (e.g. 100 % 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<Vec<FaultSpec>>,
    /// A latency model replacing the profile's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<LatencySpec>,
}

/// One phase of a fault script.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// How long the phase lasts, in milliseconds.
    pub duration_ms: u64,
    /// What changes during it; empty means "behave as the profile says".
    #[serde(default)]
    pub overrides: PhaseOverrides,
}

/// A phased fault script (`POST /admin/script`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// The phases, in order.
    pub phases: Vec<Phase>,
    /// Start again after the last phase (default: run once).
    #[serde(default, rename = "loop")]
    pub looped: bool,
}

/// A scheduled outage window in a profile, relative to when the detector
/// started: `{ at = "30s", for = "90s", mode = "unavailable" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ScheduledOutage {
    /// When the window opens after boot, e.g. `"30s"` or `"1500ms"`.
    pub at: String,
    /// How long it stays open, e.g. `"90s"`.
    #[serde(rename = "for")]
    pub lasts: String,
    /// How the detector misbehaves.
    pub mode: OutageMode,
    /// As in [`Outage::status`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// As in [`Outage::probability`].
    #[serde(default = "one")]
    pub probability: f64,
    /// As in [`Outage::extra_ms`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_ms: Option<f64>,
}

/// A two-state (Gilbert–Elliott) burst model: requests move between a good
/// state (the profile's faults) and a bad one (this menu), so failures come
/// in runs the way real incidents do. The mean bad run is `1 / exit` requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct BurstSpec {
    /// Chance per request of going from good to bad.
    pub enter_probability: f64,
    /// Chance per request of going from bad back to good.
    pub exit_probability: f64,
    /// The fault menu used while bad.
    pub faults: Vec<FaultSpec>,
}

impl ScheduledOutage {
    /// The window's start offset and the outage it opens.
    pub(crate) fn ready(&self, field: &str) -> Result<(Duration, Outage), FieldError> {
        let parse = |name: &str, text: &str| {
            humantime::parse_duration(text).map_err(|e| {
                FieldError::new(
                    format!("{field}.{name}"),
                    format!("`{text}` is not a duration: {e}"),
                )
            })
        };
        let at = parse("at", &self.at)?;
        let lasts = parse("for", &self.lasts)?;
        let ceiling = Duration::from_millis(super::MAX_MS as u64);
        for (name, value) in [("at", at), ("for", lasts)] {
            if value > ceiling {
                return Err(FieldError::new(
                    format!("{field}.{name}"),
                    "must be at most 24h",
                ));
            }
        }
        let outage = Outage {
            mode: self.mode,
            duration_ms: lasts.as_millis() as u64,
            status: self.status,
            probability: self.probability,
            extra_ms: self.extra_ms,
        };
        outage.check(&format!("{field}."))?;
        Ok((at, outage))
    }
}
