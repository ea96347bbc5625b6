//! The judging itself, as pure functions over what was seen: attempts per
//! request, the gaps between them, call rates in time windows. Scenarios
//! gather the data; these decide, so every rule is unit-tested here.

use std::time::{Duration, SystemTime};

use super::fleet::Seen;

/// The pause before each retry: from the end of one attempt (as the
/// detector saw it) to the arrival of the next. A retry that overlaps its
/// predecessor counts as a zero gap.
pub(crate) fn gaps(calls: &[Seen]) -> Vec<Duration> {
    calls
        .windows(2)
        .map(|pair| {
            pair[1]
                .at
                .duration_since(pair[0].ended())
                .unwrap_or(Duration::ZERO)
        })
        .collect()
}

/// How the backoff between retries measures up.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Backoff {
    /// Fewer than two attempts: nothing to time.
    NoRetries,
    /// A gap shorter than the floor.
    BelowFloor { gap: Duration, floor: Duration },
    /// Two or more gaps and the longest is under 1.5× the first.
    NoGrowth { first: Duration, longest: Duration },
    /// Every gap at or above the floor, growing where there are several.
    Fine { gaps: Vec<Duration> },
}

/// Judges the gaps between attempts against `floor`: each must reach it,
/// and with two or more gaps the longest must be at least 1.5× the first
/// (exponential backoff, capped or jittered, passes; a constant pause
/// does not).
pub(crate) fn backoff(gaps: &[Duration], floor: Duration) -> Backoff {
    let Some(&first) = gaps.first() else {
        return Backoff::NoRetries;
    };
    if let Some(&gap) = gaps.iter().find(|g| **g < floor) {
        return Backoff::BelowFloor { gap, floor };
    }
    let longest = gaps.iter().copied().max().unwrap_or(first);
    if gaps.len() >= 2 && longest.as_secs_f64() < first.as_secs_f64() * 1.5 {
        return Backoff::NoGrowth { first, longest };
    }
    Backoff::Fine {
        gaps: gaps.to_vec(),
    }
}

/// The Retry-After check: a retry must not arrive before the first
/// attempt's end plus `retry_after`. Journal times have millisecond
/// resolution, so 2 ms of rounding is allowed.
pub(crate) fn retry_after_kept(calls: &[Seen], retry_after: Duration) -> Result<(), Duration> {
    match gaps(calls).first() {
        Some(&gap) if gap + Duration::from_millis(2) < retry_after => Err(gap),
        _ => Ok(()),
    }
}

/// Calls per request in a time window: requests sent in `[from, to)`
/// against detector calls that arrived in it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rate {
    pub(crate) requests: usize,
    pub(crate) calls: usize,
}

impl Rate {
    /// Counts `sent` and `calls` in `[from, to)`.
    pub(crate) fn in_window(
        sent: &[SystemTime],
        calls: &[Seen],
        from: SystemTime,
        to: SystemTime,
    ) -> Self {
        let inside = |t: &SystemTime| *t >= from && *t < to;
        Self {
            requests: sent.iter().filter(|t| inside(t)).count(),
            calls: calls.iter().filter(|c| inside(&c.at)).count(),
        }
    }

    /// Enough requests in the window to say anything (5).
    fn meaningful(self) -> bool {
        self.requests >= 5
    }

    /// Calls per request.
    pub(crate) fn ratio(self) -> f64 {
        self.calls as f64 / self.requests.max(1) as f64
    }

    /// The detector is (nearly) cut off: at most one call per five requests
    /// (a breaker's lone probe still fits).
    pub(crate) fn stopped(self) -> bool {
        self.meaningful() && self.ratio() <= 0.2
    }

    /// The detector gets (nearly) every request again.
    pub(crate) fn full(self) -> bool {
        self.meaningful() && self.ratio() >= 0.8
    }
}

/// Calls and requests in buckets of `width` from `start` to `end`, for the
/// report's timelines.
pub(crate) fn buckets(
    sent: &[SystemTime],
    calls: &[Seen],
    start: SystemTime,
    end: SystemTime,
    width: Duration,
) -> Vec<Rate> {
    let mut out = Vec::new();
    let mut from = start;
    while from < end {
        let to = from + width;
        out.push(Rate::in_window(sent, calls, from, to));
        from = to;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn call(at_ms: u64, took_ms: u64) -> Seen {
        Seen {
            at: SystemTime::UNIX_EPOCH + ms(at_ms),
            took: ms(took_ms),
            status: Some(503),
            fault: None,
            correlation_id: None,
            key: None,
        }
    }

    #[test]
    fn gaps_run_from_one_attempts_end_to_the_next_arrival() {
        let calls = [call(0, 10), call(110, 10), call(320, 10), call(325, 1)];
        assert_eq!(gaps(&calls), vec![ms(100), ms(200), ms(0)]);
        assert!(gaps(&calls[..1]).is_empty());
    }

    #[test]
    fn backoff_needs_the_floor_and_growth() {
        let floor = ms(50);
        assert_eq!(backoff(&[], floor), Backoff::NoRetries);
        assert_eq!(
            backoff(&[ms(100), ms(20)], floor),
            Backoff::BelowFloor { gap: ms(20), floor }
        );
        assert_eq!(
            backoff(&[ms(100), ms(100), ms(110)], floor),
            Backoff::NoGrowth {
                first: ms(100),
                longest: ms(110)
            }
        );
        assert!(matches!(
            backoff(&[ms(100), ms(200), ms(400)], floor),
            Backoff::Fine { .. }
        ));
        // Capped exponential backoff grows, then stays: still fine.
        assert!(matches!(
            backoff(&[ms(500), ms(1000), ms(1000)], floor),
            Backoff::Fine { .. }
        ));
        // One gap: only the floor applies.
        assert!(matches!(backoff(&[ms(60)], floor), Backoff::Fine { .. }));
    }

    #[test]
    fn a_retry_before_retry_after_is_caught() {
        let second = Duration::from_secs(1);
        assert_eq!(retry_after_kept(&[call(0, 5)], second), Ok(()));
        assert_eq!(
            retry_after_kept(&[call(0, 5), call(1004, 5)], second),
            Ok(())
        );
        assert_eq!(
            retry_after_kept(&[call(0, 5), call(1003, 5)], second),
            Ok(())
        );
        assert_eq!(
            retry_after_kept(&[call(0, 5), call(105, 5)], second),
            Err(ms(100))
        );
    }

    #[test]
    fn rates_need_five_requests_and_tell_stopped_from_full() {
        let at = |v: &[u64]| -> Vec<SystemTime> {
            v.iter().map(|m| SystemTime::UNIX_EPOCH + ms(*m)).collect()
        };
        let sent = at(&[0, 100, 200, 300, 400, 500]);
        let calls: Vec<Seen> = [1, 101, 201, 301, 401, 501].map(|m| call(m, 5)).to_vec();
        let from = SystemTime::UNIX_EPOCH;
        let full = Rate::in_window(&sent, &calls, from, from + ms(600));
        assert!(full.full() && !full.stopped());
        let probe_only = Rate::in_window(&sent, &calls[..1], from, from + ms(600));
        assert!(probe_only.stopped());
        let too_few = Rate::in_window(&sent[..3], &[], from, from + ms(600));
        assert!(!too_few.stopped() && !too_few.full());
        let split = buckets(&sent, &calls, from, from + ms(600), ms(300));
        assert_eq!(split.len(), 2);
        assert_eq!((split[0].requests, split[0].calls), (3, 3));
    }
}
