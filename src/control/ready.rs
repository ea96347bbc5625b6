//! Runtime-control specs validated into the forms `Control` runs: script
//! phases with ready fault menus and latency models, a ready "next N"
//! fault.

use std::sync::Arc;
use std::time::Duration;

use crate::profile::{Fault, FaultMenu, FieldError, MAX_MS, NextFaults, Script};
use crate::sampling::latency::Latency;

/// A phase, validated.
#[derive(Debug, Clone)]
pub(crate) struct ReadyPhase {
    pub(crate) duration: Duration,
    pub(crate) menu: Option<Arc<FaultMenu>>,
    pub(crate) latency: Option<Arc<Latency>>,
}

impl Script {
    /// Validates every phase.
    pub(crate) fn ready(&self) -> Result<Vec<ReadyPhase>, FieldError> {
        if self.phases.is_empty() {
            return Err(FieldError::new(
                "phases",
                "a script needs at least one phase",
            ));
        }
        self.phases
            .iter()
            .enumerate()
            .map(|(i, phase)| {
                let at =
                    |e: FieldError| FieldError::new(format!("phases[{i}].{}", e.field), e.reason);
                if phase.duration_ms == 0 || phase.duration_ms as f64 > MAX_MS {
                    return Err(FieldError::new(
                        format!("phases[{i}].duration_ms"),
                        "must be > 0 and at most 86400000 (24 h)",
                    ));
                }
                let menu = match &phase.overrides.faults {
                    Some(specs) => Some(Arc::new(
                        FaultMenu::new(specs).map_err(|e| at(prefixed("overrides.", e)))?,
                    )),
                    None => None,
                };
                let latency = match &phase.overrides.latency {
                    Some(spec) => Some(Arc::new(spec.validate().map_err(|e| {
                        at(FieldError::new(
                            format!("overrides.latency.{}", e.field),
                            e.reason,
                        ))
                    })?)),
                    None => None,
                };
                Ok(ReadyPhase {
                    duration: Duration::from_millis(phase.duration_ms),
                    menu,
                    latency,
                })
            })
            .collect()
    }
}

fn prefixed(prefix: &str, e: FieldError) -> FieldError {
    FieldError::new(format!("{prefix}{}", e.field), e.reason)
}

impl NextFaults {
    /// Validates the fault (its probability is not used).
    pub(crate) fn ready(&self) -> Result<Fault, FieldError> {
        Fault::from_spec(&self.fault, "fault")
    }
}
