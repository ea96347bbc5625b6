//! A profile checked once and turned into ready-to-sample parts
//! ([`Behaviour`]): the latency model, the fault menu, the batch policy, the
//! scheduled outages and the burst model. Nothing past this point re-parses
//! or re-checks configuration.

use std::sync::Arc;
use std::time::Duration;

use crate::profile::{
    BatchPolicy, BurstSpec, DetectorProfile, FaultMenu, FieldError, Outage, ProfileError,
    ProtocolSet,
};
use crate::sampling::key::ReplayPolicy;
use crate::sampling::latency::Latency;

/// A profile checked and turned into ready-to-sample parts.
#[derive(Debug, Clone)]
pub(crate) struct Behaviour {
    pub(crate) latency: Latency,
    pub(crate) faults: FaultMenu,
    pub(crate) batch: BatchPolicy,
    pub(crate) body_limit: usize,
    pub(crate) journal_size: usize,
    pub(crate) schedule: Vec<(Duration, Outage)>,
    pub(crate) bursts: Option<ReadyBursts>,
    pub(crate) allow_overrides: bool,
    pub(crate) protocols: ProtocolSet,
    /// The profile's `limits.read_timeout_ms`, if set.
    pub(crate) read_timeout: Option<Duration>,
    /// How draws are keyed (`replay`, `replay_options`).
    pub(crate) replay: ReplayPolicy,
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
        let read_timeout = self
            .limits
            .read_timeout()
            .map_err(|e| invalid(e.field, e.reason))?;
        let protocols =
            ProtocolSet::new(&self.protocols).map_err(|e| invalid(e.field, e.reason))?;
        self.protocol_options
            .check()
            .map_err(|e| invalid(e.field, e.reason))?;
        let replay = ReplayPolicy::new(self.replay, &self.replay_options)
            .map_err(|e| invalid(e.field, e.reason))?;
        Ok(Behaviour {
            latency,
            faults,
            batch,
            body_limit: self.limits.body_bytes,
            journal_size: self.limits.journal_size,
            schedule,
            bursts,
            allow_overrides: self.allow_overrides,
            protocols,
            read_timeout,
            replay,
        })
    }

    /// Checks the profile without keeping the result.
    ///
    /// ```
    /// let profile = mockdet::DetectorProfile::builtin("variable").unwrap();
    /// assert!(profile.validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<(), ProfileError> {
        self.behaviour(&self.origin()).map(|_| ())
    }
}

/// A burst model, validated.
#[derive(Debug, Clone)]
pub(crate) struct ReadyBursts {
    pub(crate) enter: f64,
    pub(crate) exit: f64,
    pub(crate) menu: Arc<FaultMenu>,
}

impl BurstSpec {
    pub(crate) fn ready(&self) -> Result<ReadyBursts, FieldError> {
        for (name, p) in [
            ("bursts.enter_probability", self.enter_probability),
            ("bursts.exit_probability", self.exit_probability),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(FieldError::new(
                    name,
                    format!("{p} is not a probability (0..=1)"),
                ));
            }
        }
        if self.exit_probability == 0.0 {
            return Err(FieldError::new(
                "bursts.exit_probability",
                "must be > 0, or a burst would never end",
            ));
        }
        let menu = FaultMenu::new(&self.faults)
            .map_err(|e| FieldError::new(format!("bursts.{}", e.field), e.reason))?;
        Ok(ReadyBursts {
            enter: self.enter_probability,
            exit: self.exit_probability,
            menu: Arc::new(menu),
        })
    }
}
