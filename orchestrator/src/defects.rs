//! Deliberate defects, for testing tools that judge orchestrators (such as
//! `mockdet audit`): each switch breaks one resilience behaviour the way
//! real gateways have been found broken, and nothing else. All are off
//! unless set through [`OrchestratorBuilder::defect`](crate::OrchestratorBuilder::defect),
//! which exists only with the `defects` cargo feature.

/// One deliberate defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Defect {
    /// An open circuit breaker never lets a probe through, so a detector
    /// stays cut off long after it recovers.
    BreakerNeverHalfOpens,
    /// 4xx answers other than 429 are retried like 5xx (a 429's
    /// Retry-After is a separate matter).
    RetriesOn4xx,
    /// A second retry layer around the first (a client and a coordinator
    /// both retrying), each with its own backoff: up to (retries + 1)²
    /// attempts per request.
    TwoRetryLayers,
    /// No per-attempt timeout and no SLA budget: a request waits for its
    /// slowest detector however long that takes.
    NoTimeout,
    /// A 200 whose body is not a valid result counts as a successful,
    /// empty result.
    MalformedCountsAsSuccess,
}

/// The defects in force (all off by default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Defects {
    pub(crate) breaker_never_half_opens: bool,
    pub(crate) retries_on_4xx: bool,
    pub(crate) two_retry_layers: bool,
    pub(crate) no_timeout: bool,
    pub(crate) malformed_counts_as_success: bool,
}

impl Defects {
    /// Switches `defect` on.
    #[cfg_attr(not(feature = "defects"), allow(dead_code))]
    pub(crate) fn with(mut self, defect: Defect) -> Self {
        match defect {
            Defect::BreakerNeverHalfOpens => self.breaker_never_half_opens = true,
            Defect::RetriesOn4xx => self.retries_on_4xx = true,
            Defect::TwoRetryLayers => self.two_retry_layers = true,
            Defect::NoTimeout => self.no_timeout = true,
            Defect::MalformedCountsAsSuccess => self.malformed_counts_as_success = true,
        }
        self
    }
}
