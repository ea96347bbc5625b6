//! [`Forecast`]: what a seeded detector will do to its k-th request, computed
//! without a server — the same draws the engine makes. Benchmarks and tests
//! use it to pair every answer with its planned fate (`x-mock-seq` names
//! `k`), and to compare observed latencies with the model's CDF.

use std::time::Duration;

use super::RequestKey;
use super::rng::SeedKey;
use super::{Behaviour, Imposed, PlannedFault, plan};
use crate::profile::{DetectorProfile, FaultKind, ProfileError};

/// The seeded fate of requests to one detector, request by request.
///
/// ```
/// use mockdet::{DetectorProfile, Forecast};
///
/// let profile = DetectorProfile::builtin("failing")?;
/// let forecast = Forecast::new(&profile, 42)?;
/// // The same seed and sequence number always give the same fate.
/// assert_eq!(forecast.fate(7), forecast.fate(7));
/// assert!(forecast.latency_cdf(f64::INFINITY) > 0.999);
/// # Ok::<(), mockdet::ProfileError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Forecast {
    behaviour: Behaviour,
    key: SeedKey,
}

/// What one request gets when no runtime control (outage, next-N, script,
/// burst, header override) intervenes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fate {
    /// Time from arrival to the answer, or to the fault being acted out.
    pub delay: Duration,
    /// The injected fault, if any.
    pub fault: Option<FaultKind>,
}

impl Forecast {
    /// Validates `profile` and keys the draws by `seed` and its detector id,
    /// exactly as a fleet started with `.seed(seed)` does.
    pub fn new(profile: &DetectorProfile, seed: u64) -> Result<Self, ProfileError> {
        Ok(Self {
            behaviour: profile.behaviour(&profile.origin())?,
            key: SeedKey::new(seed, &profile.detector_id),
        })
    }

    /// The fate of the single (non-batch) request with sequence number
    /// `seq` on a detector replaying by [`Sequence`](crate::Replay::Sequence).
    pub fn fate(&self, seq: u64) -> Fate {
        self.fate_of_stream(seq)
    }

    /// The fate of the `attempt`-th send (1 for the first) of the single
    /// request `key` on a detector replaying by
    /// [`Request`](crate::Replay::Request), the default.
    ///
    /// ```
    /// use mockdet::{DetectorProfile, Forecast, RequestKey};
    ///
    /// let forecast = Forecast::new(&DetectorProfile::builtin("failing")?, 42)?;
    /// // What a request with `X-Correlation-ID: order-17` gets on its first
    /// // send, and on its retry.
    /// // (The id alone is the key unless the profile sets `key_body = true`.)
    /// let key = RequestKey::new(Some(("x-correlation-id", "order-17")), None);
    /// let (first, retry) = (forecast.fate_of(key, 1), forecast.fate_of(key, 2));
    /// assert_eq!(first, forecast.fate_of(key, 1));
    /// # let _ = retry;
    /// # Ok::<(), mockdet::ProfileError>(())
    /// ```
    pub fn fate_of(&self, key: RequestKey, attempt: u32) -> Fate {
        self.fate_of_stream(key.stream(attempt))
    }

    fn fate_of_stream(&self, stream: u64) -> Fate {
        let planned = plan(
            &self.behaviour,
            &mut self.key.rng(stream),
            None,
            &Imposed::default(),
        );
        Fate {
            delay: planned.delay,
            fault: planned.fault.as_ref().map(PlannedFault::kind),
        }
    }

    /// The latency model's distribution function: P(latency ≤ `ms`).
    pub fn latency_cdf(&self, ms: f64) -> f64 {
        self.behaviour.latency.cdf(ms)
    }
}
