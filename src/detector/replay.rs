//! Replay by request: a request's key and attempt, the generator stream its
//! draws come from, and the outcome a replayed journal recorded for it.
//!
//! In request mode (`replay = "request"`, the default) a request draws from
//! the stream of (seed, detector id, key, attempt), so the same logical
//! request gets the same fate whatever arrives before it. In sequence mode
//! it draws from the stream of its arrival number. A replayed journal's
//! outcome comes before either, and before runtime control.

use std::sync::OnceLock;

use axum::http::{HeaderMap, HeaderName, StatusCode};
use prometheus::IntCounter;

use super::error::ApiError;
use super::{DetectorState, Snapshot};
use crate::control::book::ReplayBook;
use crate::control::journal::Drawn;
use crate::profile::Replay;
use crate::sampling::{self, RequestKey};

impl DetectorState {
    /// The request's key, when its draws or a replayed journal need it.
    /// The CPU is asked to start loading the key's attempt count at once:
    /// [`key_of`](Self::key_of) reads it after the body is parsed.
    pub(crate) fn request_key(
        &self,
        snapshot: &Snapshot,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<RequestKey> {
        let policy = &snapshot.behaviour.replay;
        let book_keyed = self.book.as_ref().is_some_and(ReplayBook::keyed);
        if policy.mode != Replay::Request && !book_keyed {
            return None;
        }
        let key = policy.keys.key(headers, body);
        self.attempts.prefetch(key);
        Some(key)
    }

    /// The attempt of the request keyed `key` (from
    /// [`request_key`](Self::request_key)): its attempt header's when the
    /// profile names one, else the next send of its key; a 400
    /// `invalid_attempt` when the attempt header is not a positive number.
    pub(crate) fn key_of(
        &self,
        snapshot: &Snapshot,
        headers: &HeaderMap,
        key: Option<RequestKey>,
    ) -> Result<Option<(RequestKey, u32)>, ApiError> {
        let Some(key) = key else {
            return Ok(None);
        };
        let policy = &snapshot.behaviour.replay;
        let stated = match &policy.attempt_header {
            Some(name) => stated_attempt(name, headers)
                .map_err(|message| self.invalid_attempt(snapshot, message))?,
            None => None,
        };
        let attempt = stated.unwrap_or_else(|| {
            let (attempt, evicted) = self.attempts.next(key);
            if evicted {
                self.replay_event(ReplayEvent::KeyEvicted).inc();
            }
            attempt
        });
        Ok(Some((key, attempt)))
    }

    /// The generator stream of a request: its key and attempt's in request
    /// mode, its arrival number's in sequence mode.
    pub(crate) fn stream(snapshot: &Snapshot, seq: u64, key: Option<(RequestKey, u32)>) -> u64 {
        match (snapshot.behaviour.replay.mode, key) {
            (Replay::Request, Some((key, attempt))) => key.stream(attempt),
            _ => seq,
        }
    }

    /// The outcome a replayed journal recorded for this request, counting
    /// hits and misses; `None` without a journal.
    pub(crate) fn replayed(&self, key: Option<(RequestKey, u32)>, seq: u64) -> Option<&Drawn> {
        let book = self.book.as_ref()?;
        let found = book.outcome(key, seq);
        let event = match found {
            Some(_) => ReplayEvent::JournalHit,
            None => ReplayEvent::JournalMiss,
        };
        self.replay_event(event).inc();
        found
    }

    /// Counts keys a live change of `replay_options.capacity` forgot.
    pub(crate) fn keys_forgotten(&self, forgotten: usize) {
        if forgotten > 0 {
            self.replay_event(ReplayEvent::KeyEvicted)
                .inc_by(forgotten as u64);
            tracing::info!(detector = %self.name, forgotten, "a new key capacity: attempts count afresh");
        }
    }

    /// The counter of `event`, its series made on first use (so a detector
    /// that never replays shows none) and kept: under a stream of new keys
    /// an eviction happens on nearly every request.
    fn replay_event(&self, event: ReplayEvent) -> &IntCounter {
        self.replay_events[event as usize].get_or_init(|| {
            let events = &self.metrics.replay_events;
            events.with_label_values(&[self.name.as_str(), event.label()])
        })
    }

    fn invalid_attempt(&self, snapshot: &Snapshot, message: String) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_attempt",
            message,
            &snapshot.identity.detector_id,
        )
    }
}

/// What `mockdet_replay_events_total` counts, by its `event` label.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ReplayEvent {
    KeyEvicted,
    JournalHit,
    JournalMiss,
}

/// A detector's `mockdet_replay_events_total` series, one per event.
pub(crate) type ReplayCounters = [OnceLock<IntCounter>; 3];

impl ReplayEvent {
    fn label(self) -> &'static str {
        match self {
            ReplayEvent::KeyEvicted => "key_evicted",
            ReplayEvent::JournalHit => "journal_hit",
            ReplayEvent::JournalMiss => "journal_miss",
        }
    }
}

/// The attempt a client states in `header` (1 for the first send), if it
/// sent the header.
fn stated_attempt(header: &HeaderName, headers: &HeaderMap) -> Result<Option<u32>, String> {
    let Some(value) = sampling::header(headers, header) else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    let trimmed = text.trim();
    match trimmed.parse::<u32>() {
        Ok(n) if n >= 1 && trimmed.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(n)),
        _ => Err(format!(
            "`{header}: {text}` is not an attempt number (1 for the first send, then 2, 3 …)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stated_attempt_must_be_a_positive_number() {
        let name = HeaderName::from_static("x-attempt");
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(name.clone(), value.parse().unwrap());
            stated_attempt(&name, &headers)
        };
        assert_eq!(stated_attempt(&name, &HeaderMap::new()), Ok(None));
        assert_eq!(with("1"), Ok(Some(1)));
        assert_eq!(with(" 3 "), Ok(Some(3)));
        for bad in ["0", "-1", "+2", "two", "", "4294967296"] {
            let err = with(bad).unwrap_err();
            assert!(
                err.contains("x-attempt") && err.contains("not an attempt number"),
                "{err}"
            );
        }
    }
}
