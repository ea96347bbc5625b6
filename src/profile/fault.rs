//! The fault menu: which failures a detector injects and how often.
//!
//! Each entry has a probability; the probabilities must sum to at most 1 and
//! one uniform draw picks at most one fault per request. Faults are data — a
//! sampled outcome the handler acts out — never Rust errors.

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::FieldError;

/// The kinds of fault a detector can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// Answer an HTTP error status (after the sampled latency).
    HttpError,
    /// Hold the request, then close the connection or answer 504.
    Hang,
    /// Abort the connection with a TCP reset and no response.
    Reset,
    /// Answer 200 with a body that is not JSON.
    MalformedJson,
    /// Answer 200 with JSON that lacks the required result fields.
    SchemaInvalid,
    /// Answer 200 with an empty body.
    EmptyBody,
    /// Answer 200 but dribble the body out over a duration.
    SlowBody,
}

impl FaultKind {
    /// Every kind, in menu order.
    pub const ALL: [FaultKind; 7] = [
        FaultKind::HttpError,
        FaultKind::Hang,
        FaultKind::Reset,
        FaultKind::MalformedJson,
        FaultKind::SchemaInvalid,
        FaultKind::EmptyBody,
        FaultKind::SlowBody,
    ];

    /// The snake_case name used in files, metrics and the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::HttpError => "http_error",
            FaultKind::Hang => "hang",
            FaultKind::Reset => "reset",
            FaultKind::MalformedJson => "malformed_json",
            FaultKind::SchemaInvalid => "schema_invalid",
            FaultKind::EmptyBody => "empty_body",
            FaultKind::SlowBody => "slow_body",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a hang ends once its hold time is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum HangEnd {
    /// Close the connection without any response (a client sees EOF).
    #[default]
    Close,
    /// Answer 504 Gateway Timeout.
    GatewayTimeout,
}

/// A duration in milliseconds: one value, or `[lo, hi]` drawn uniformly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(untagged)]
pub enum MsRange {
    /// Exactly this many milliseconds.
    Fixed(f64),
    /// Uniformly between the two bounds.
    Between([f64; 2]),
}

impl MsRange {
    pub(crate) fn check(&self, field: &str) -> Result<(), FieldError> {
        let (lo, hi) = self.bounds();
        if !(lo.is_finite() && hi.is_finite()) || lo < 0.0 {
            return Err(FieldError::new(field, "must be finite and >= 0"));
        }
        if hi > super::MAX_MS {
            return Err(FieldError::new(
                field,
                format!("{hi} ms is more than the 24 h (86400000 ms) mockdet acts out"),
            ));
        }
        if lo > hi {
            return Err(FieldError::new(
                field,
                format!("lower bound {lo} > upper bound {hi}"),
            ));
        }
        Ok(())
    }

    fn bounds(&self) -> (f64, f64) {
        match *self {
            MsRange::Fixed(ms) => (ms, ms),
            MsRange::Between([lo, hi]) => (lo, hi),
        }
    }

    /// Draws a value in milliseconds.
    pub(crate) fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        let (lo, hi) = self.bounds();
        if hi > lo {
            rng.random_range(lo..=hi)
        } else {
            lo
        }
    }
}

/// One entry of a profile's fault menu, as written in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Which fault.
    pub kind: FaultKind,
    /// Chance per request, 0..=1.
    pub probability: f64,
    /// `http_error`: the status to answer (400–599).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// `http_error` with 429 or 503: the `Retry-After` seconds (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u32>,
    /// `hang`: how long to hold; `slow_body`: how long the body takes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<MsRange>,
    /// `hang`: what happens when the hold is over (default `close`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<HangEnd>,
}

impl FaultSpec {
    /// `kind` at `probability`, every optional field left to its default.
    pub fn new(kind: FaultKind, probability: f64) -> Self {
        Self {
            kind,
            probability,
            status: None,
            retry_after_s: None,
            duration_ms: None,
            then: None,
        }
    }
}

/// A validated fault, ready to be acted out.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fault {
    HttpError {
        status: u16,
        retry_after_s: Option<u32>,
    },
    Hang {
        hold: MsRange,
        end: HangEnd,
    },
    Reset,
    MalformedJson,
    SchemaInvalid,
    EmptyBody,
    SlowBody {
        over: MsRange,
    },
}

impl Fault {
    /// Builds a fault from a spec; `field` prefixes error field names.
    pub(crate) fn from_spec(spec: &FaultSpec, field: &str) -> Result<Fault, FieldError> {
        let not_for = |name: &str| {
            FieldError::new(
                format!("{field}.{name}"),
                format!("does not apply to kind `{}`", spec.kind),
            )
        };
        if spec.status.is_some() && spec.kind != FaultKind::HttpError {
            return Err(not_for("status"));
        }
        if spec.retry_after_s.is_some() && spec.kind != FaultKind::HttpError {
            return Err(not_for("retry_after_s"));
        }
        if spec.then.is_some() && spec.kind != FaultKind::Hang {
            return Err(not_for("then"));
        }
        let timed = matches!(spec.kind, FaultKind::Hang | FaultKind::SlowBody);
        if spec.duration_ms.is_some() && !timed {
            return Err(not_for("duration_ms"));
        }
        let duration = || -> Result<MsRange, FieldError> {
            let range = spec.duration_ms.ok_or_else(|| {
                FieldError::new(
                    format!("{field}.duration_ms"),
                    format!("kind `{}` needs `duration_ms`", spec.kind),
                )
            })?;
            range.check(&format!("{field}.duration_ms"))?;
            Ok(range)
        };
        Ok(match spec.kind {
            FaultKind::HttpError => http_error(spec, field)?,
            FaultKind::Hang => Fault::Hang {
                hold: duration()?,
                end: spec.then.unwrap_or_default(),
            },
            FaultKind::Reset => Fault::Reset,
            FaultKind::MalformedJson => Fault::MalformedJson,
            FaultKind::SchemaInvalid => Fault::SchemaInvalid,
            FaultKind::EmptyBody => Fault::EmptyBody,
            FaultKind::SlowBody => Fault::SlowBody { over: duration()? },
        })
    }
}

fn http_error(spec: &FaultSpec, field: &str) -> Result<Fault, FieldError> {
    let status = spec.status.ok_or_else(|| {
        FieldError::new(
            format!("{field}.status"),
            "kind `http_error` needs `status`",
        )
    })?;
    if !(400..=599).contains(&status) {
        return Err(FieldError::new(
            format!("{field}.status"),
            format!("{status} is not an error status (400–599)"),
        ));
    }
    let retry_after_s = match (status, spec.retry_after_s) {
        (_, Some(s)) => Some(s),
        (429 | 503, None) => Some(1),
        _ => None,
    };
    Ok(Fault::HttpError {
        status,
        retry_after_s,
    })
}

/// The validated menu: cumulative probabilities, one draw picks one fault.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FaultMenu {
    entries: Vec<(f64, Fault)>,
}

impl FaultMenu {
    /// Validates the specs; probabilities must each be in 0..=1 and sum <= 1.
    pub(crate) fn new(specs: &[FaultSpec]) -> Result<Self, FieldError> {
        let mut cumulative = 0.0;
        let mut entries = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let field = format!("faults[{i}]");
            let p = spec.probability;
            if !(0.0..=1.0).contains(&p) {
                return Err(FieldError::new(
                    format!("{field}.probability"),
                    format!("{p} is not a probability (0..=1)"),
                ));
            }
            cumulative += p;
            entries.push((cumulative, Fault::from_spec(spec, &field)?));
        }
        // Allow for rounding in hand-written decimals such as 0.1 + 0.2 + 0.7.
        if cumulative > 1.0 + 1e-9 {
            return Err(FieldError::new(
                "faults",
                format!("probabilities sum to {cumulative:.4}, more than 1"),
            ));
        }
        Ok(Self { entries })
    }

    /// Picks the fault for a uniform draw `u` in [0, 1), if any.
    pub(crate) fn pick(&self, u: f64) -> Option<&Fault> {
        self.entries
            .iter()
            .find(|(cumulative, _)| u < *cumulative)
            .map(|(_, fault)| fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_that_sum_past_one_are_rejected() {
        let specs = [
            FaultSpec::new(FaultKind::Reset, 0.6),
            FaultSpec::new(FaultKind::EmptyBody, 0.5),
        ];
        let err = FaultMenu::new(&specs).unwrap_err();
        assert_eq!(err.field, "faults");
        assert!(err.reason.contains("1.1000"), "{}", err.reason);
    }

    #[test]
    fn http_error_needs_an_error_status() {
        let mut s = FaultSpec::new(FaultKind::HttpError, 0.1);
        assert_eq!(
            FaultMenu::new(&[s.clone()]).unwrap_err().field,
            "faults[0].status"
        );
        s.status = Some(200);
        assert!(
            FaultMenu::new(&[s.clone()])
                .unwrap_err()
                .reason
                .contains("200")
        );
        s.status = Some(429);
        let menu = FaultMenu::new(&[s]).unwrap();
        assert_eq!(
            menu.pick(0.0),
            Some(&Fault::HttpError {
                status: 429,
                retry_after_s: Some(1)
            })
        );
    }

    #[test]
    fn fields_of_another_kind_are_rejected() {
        let mut s = FaultSpec::new(FaultKind::Reset, 0.1);
        s.duration_ms = Some(MsRange::Fixed(5.0));
        assert_eq!(
            FaultMenu::new(&[s]).unwrap_err().field,
            "faults[0].duration_ms"
        );
    }

    #[test]
    fn hang_needs_a_sane_duration() {
        let mut s = FaultSpec::new(FaultKind::Hang, 0.1);
        assert_eq!(
            FaultMenu::new(&[s.clone()]).unwrap_err().field,
            "faults[0].duration_ms"
        );
        s.duration_ms = Some(MsRange::Between([10.0, 5.0]));
        assert!(
            FaultMenu::new(&[s])
                .unwrap_err()
                .reason
                .contains("lower bound")
        );
    }

    #[test]
    fn pick_follows_cumulative_probabilities() {
        let menu = FaultMenu::new(&[
            FaultSpec::new(FaultKind::Reset, 0.2),
            FaultSpec::new(FaultKind::EmptyBody, 0.3),
        ])
        .unwrap();
        assert_eq!(menu.pick(0.1), Some(&Fault::Reset));
        assert_eq!(menu.pick(0.2), Some(&Fault::EmptyBody));
        assert_eq!(menu.pick(0.5), None);
    }
}
