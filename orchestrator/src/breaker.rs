//! The circuit breaker of one detector, as pure logic: every method takes
//! the current time, so tests drive it with made-up instants.
//!
//! Closed → open after `threshold` consecutive failed calls → half-open once
//! `recovery` has passed (one probe call is let through; the rest are
//! rejected) → closed when the probe succeeds, open again when it fails.
//!
//! A *failure* is a call whose last attempt ended in a 5xx, a transport
//! error or the per-attempt timeout (CONTRACT §3). Any other answer — 2xx,
//! 4xx, even a malformed body — proves the detector is up and counts as a
//! success. A call cut short by the request's SLA budget says nothing about
//! the detector and is *abandoned*: it counts neither way.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// What the breaker reports (and `circuit_breaker_state` exports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through (gauge 0).
    Closed,
    /// One probe call may go through (gauge 1).
    HalfOpen,
    /// Calls are rejected (gauge 2).
    Open,
}

impl BreakerState {
    /// The `circuit_breaker_state` gauge value: 0 closed, 1 half-open, 2 open.
    pub fn gauge(self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen => 1,
            Self::Open => 2,
        }
    }

    /// `closed`, `half_open` or `open`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::HalfOpen => "half_open",
            Self::Open => "open",
        }
    }
}

/// How a call ended, as far as the breaker cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The detector answered (anything below 500).
    Success,
    /// 5xx, transport error or per-attempt timeout.
    Failure,
    /// Cut short by the caller; says nothing about the detector.
    Abandoned,
}

/// Whether a call may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Closed: go ahead.
    Call,
    /// Half-open: go ahead as the one probe.
    Probe,
    /// Open, or half-open with a probe already out: do not call.
    Reject,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Closed { failures: u32 },
    Open { since: Instant },
    HalfOpen { probing: bool },
}

/// The state machine.
#[derive(Debug, Clone)]
pub(crate) struct Breaker {
    threshold: u32,
    recovery: Duration,
    phase: Phase,
    /// The `BreakerNeverHalfOpens` defect: open stays open.
    never_half_open: bool,
}

impl Breaker {
    /// A closed breaker.
    pub(crate) fn new(threshold: u32, recovery: Duration) -> Self {
        Self {
            threshold: threshold.max(1),
            recovery,
            phase: Phase::Closed { failures: 0 },
            never_half_open: false,
        }
    }

    /// The state at `now` (an open breaker whose recovery time has passed
    /// reads half-open even before the next call arrives).
    pub(crate) fn state(&self, now: Instant) -> BreakerState {
        match self.phase {
            Phase::Closed { .. } => BreakerState::Closed,
            Phase::Open { since } if now >= since + self.recovery && !self.never_half_open => {
                BreakerState::HalfOpen
            }
            Phase::Open { .. } => BreakerState::Open,
            Phase::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Asks to make a call at `now`.
    pub(crate) fn admit(&mut self, now: Instant) -> Admission {
        if let Phase::Open { since } = self.phase {
            if now >= since + self.recovery && !self.never_half_open {
                self.phase = Phase::HalfOpen { probing: false };
            }
        }
        match &mut self.phase {
            Phase::Closed { .. } => Admission::Call,
            Phase::HalfOpen { probing } if !*probing => {
                *probing = true;
                Admission::Probe
            }
            Phase::HalfOpen { .. } | Phase::Open { .. } => Admission::Reject,
        }
    }

    /// Records how an admitted call ended at `now`.
    pub(crate) fn record(&mut self, admission: Admission, verdict: Verdict, now: Instant) {
        self.phase = match (self.phase, admission, verdict) {
            (Phase::Closed { .. }, Admission::Call, Verdict::Success) => {
                Phase::Closed { failures: 0 }
            }
            (Phase::Closed { failures }, Admission::Call, Verdict::Failure) => {
                if failures + 1 >= self.threshold {
                    Phase::Open { since: now }
                } else {
                    Phase::Closed {
                        failures: failures + 1,
                    }
                }
            }
            (Phase::HalfOpen { .. }, Admission::Probe, Verdict::Success) => {
                Phase::Closed { failures: 0 }
            }
            (Phase::HalfOpen { .. }, Admission::Probe, Verdict::Failure) => {
                Phase::Open { since: now }
            }
            (Phase::HalfOpen { .. }, Admission::Probe, Verdict::Abandoned) => {
                Phase::HalfOpen { probing: false }
            }
            // Abandoned calls, and calls admitted in an earlier phase that
            // end late, change nothing.
            (phase, _, _) => phase,
        };
    }
}

/// A breaker shared by concurrent calls. The lock is only ever held for a
/// few instructions and never across an `.await`, so a std mutex is right.
#[derive(Debug)]
pub(crate) struct SharedBreaker(Mutex<Breaker>);

impl SharedBreaker {
    pub(crate) fn new(threshold: u32, recovery: Duration) -> Self {
        Self(Mutex::new(Breaker::new(threshold, recovery)))
    }

    /// With the `BreakerNeverHalfOpens` defect when `defect` is true.
    pub(crate) fn never_half_opening(self, defect: bool) -> Self {
        let mut breaker = self
            .0
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        breaker.never_half_open = defect;
        Self(Mutex::new(breaker))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Breaker> {
        // A panic while holding the lock cannot leave the plain-data state
        // half-updated, so a poisoned lock is still usable.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The state now.
    pub(crate) fn state(&self) -> BreakerState {
        self.lock().state(Instant::now())
    }

    /// A permit to call, or `None` when the breaker rejects the call.
    pub(crate) fn try_acquire(&self) -> Option<Permit<'_>> {
        match self.lock().admit(Instant::now()) {
            Admission::Reject => None,
            admission => Some(Permit {
                breaker: self,
                admission,
                done: false,
            }),
        }
    }
}

/// One admitted call. Dropping it unfinished (the request was cancelled)
/// records [`Verdict::Abandoned`], so a half-open breaker is never left
/// waiting for a probe that will not come back.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    breaker: &'a SharedBreaker,
    admission: Admission,
    done: bool,
}

impl Permit<'_> {
    /// Records how the call ended.
    pub(crate) fn finish(mut self, verdict: Verdict) {
        self.done = true;
        self.breaker
            .lock()
            .record(self.admission, verdict, Instant::now());
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.breaker
                .lock()
                .record(self.admission, Verdict::Abandoned, Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECOVERY: Duration = Duration::from_secs(60);

    fn fail(b: &mut Breaker, now: Instant) {
        let admission = b.admit(now);
        b.record(admission, Verdict::Failure, now);
    }

    #[test]
    fn it_opens_after_the_threshold_of_consecutive_failures() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, RECOVERY);
        fail(&mut b, t0);
        fail(&mut b, t0);
        assert_eq!(b.state(t0), BreakerState::Closed);
        fail(&mut b, t0);
        assert_eq!(b.state(t0), BreakerState::Open);
        assert_eq!(b.admit(t0), Admission::Reject);
    }

    #[test]
    fn a_success_resets_the_failure_count() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, RECOVERY);
        fail(&mut b, t0);
        fail(&mut b, t0);
        let a = b.admit(t0);
        b.record(a, Verdict::Success, t0);
        fail(&mut b, t0);
        fail(&mut b, t0);
        assert_eq!(b.state(t0), BreakerState::Closed);
    }

    #[test]
    fn abandoned_calls_count_neither_way() {
        let t0 = Instant::now();
        let mut b = Breaker::new(2, RECOVERY);
        fail(&mut b, t0);
        let a = b.admit(t0);
        b.record(a, Verdict::Abandoned, t0);
        assert_eq!(b.state(t0), BreakerState::Closed);
        fail(&mut b, t0);
        assert_eq!(b.state(t0), BreakerState::Open);
    }

    #[test]
    fn the_never_half_opens_defect_keeps_it_open() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, RECOVERY);
        b.never_half_open = true;
        fail(&mut b, t0);
        let much_later = t0 + RECOVERY * 10;
        assert_eq!(b.state(much_later), BreakerState::Open);
        assert_eq!(b.admit(much_later), Admission::Reject);
    }

    #[test]
    fn it_half_opens_after_recovery_and_lets_one_probe_through() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, RECOVERY);
        fail(&mut b, t0);
        let before = t0 + RECOVERY - Duration::from_millis(1);
        assert_eq!(b.state(before), BreakerState::Open);
        assert_eq!(b.admit(before), Admission::Reject);
        let after = t0 + RECOVERY;
        assert_eq!(b.state(after), BreakerState::HalfOpen);
        assert_eq!(b.admit(after), Admission::Probe);
        assert_eq!(
            b.admit(after),
            Admission::Reject,
            "only one probe at a time"
        );
    }

    #[test]
    fn a_successful_probe_closes_it() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, RECOVERY);
        fail(&mut b, t0);
        let t1 = t0 + RECOVERY;
        let probe = b.admit(t1);
        b.record(probe, Verdict::Success, t1);
        assert_eq!(b.state(t1), BreakerState::Closed);
        assert_eq!(b.admit(t1), Admission::Call);
    }

    #[test]
    fn a_failed_probe_reopens_it_for_a_full_recovery_period() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, RECOVERY);
        fail(&mut b, t0);
        let t1 = t0 + RECOVERY + Duration::from_secs(5);
        let probe = b.admit(t1);
        b.record(probe, Verdict::Failure, t1);
        assert_eq!(
            b.state(t1 + RECOVERY - Duration::from_millis(1)),
            BreakerState::Open
        );
        assert_eq!(b.state(t1 + RECOVERY), BreakerState::HalfOpen);
    }

    #[test]
    fn an_abandoned_probe_frees_the_probe_slot() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, RECOVERY);
        fail(&mut b, t0);
        let t1 = t0 + RECOVERY;
        let probe = b.admit(t1);
        b.record(probe, Verdict::Abandoned, t1);
        assert_eq!(b.admit(t1), Admission::Probe);
    }

    #[test]
    fn a_late_call_from_the_closed_phase_does_not_close_a_half_open_breaker() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, RECOVERY);
        let early = b.admit(t0);
        fail(&mut b, t0);
        let t1 = t0 + RECOVERY;
        let _probe = b.admit(t1);
        b.record(early, Verdict::Success, t1);
        assert_eq!(b.state(t1), BreakerState::HalfOpen);
    }

    #[test]
    fn a_dropped_permit_counts_as_abandoned() {
        let shared = SharedBreaker::new(1, Duration::ZERO);
        let permit = shared.try_acquire().expect("closed");
        permit.finish(Verdict::Failure);
        let probe = shared.try_acquire().expect("half-open after zero recovery");
        assert!(shared.try_acquire().is_none(), "probe is out");
        drop(probe);
        assert!(shared.try_acquire().is_some(), "slot freed by drop");
    }

    #[tokio::test(start_paused = true)]
    async fn the_shared_breaker_follows_the_runtime_clock() {
        let recovery = Duration::from_secs(60);
        let shared = SharedBreaker::new(2, recovery);
        for _ in 0..2 {
            shared
                .try_acquire()
                .expect("closed")
                .finish(Verdict::Failure);
        }
        assert_eq!(shared.state(), BreakerState::Open);
        tokio::time::advance(recovery - Duration::from_millis(1)).await;
        assert!(shared.try_acquire().is_none(), "still open");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(shared.state(), BreakerState::HalfOpen);
        shared
            .try_acquire()
            .expect("the probe")
            .finish(Verdict::Success);
        assert_eq!(shared.state(), BreakerState::Closed);
    }

    #[test]
    fn gauge_values_follow_the_seed_convention() {
        assert_eq!(BreakerState::Closed.gauge(), 0);
        assert_eq!(BreakerState::HalfOpen.gauge(), 1);
        assert_eq!(BreakerState::Open.gauge(), 2);
    }
}
