//! A replayed journal: the outcome each (request key, attempt) — or, for a
//! journal recorded in sequence mode, each arrival number — got, served
//! again to the same requests.

use std::collections::HashMap;
use std::time::Duration;

use super::journal::{Drawn, JournalEntry};
use crate::profile::{FaultKind, HangEnd, MAX_MS};
use crate::sampling::{PlannedFault, RequestKey};

/// The outcomes of one detector's journal, ready to serve again.
#[derive(Debug, Default)]
pub(crate) struct ReplayBook {
    by_key: HashMap<(RequestKey, u32), Drawn>,
    by_seq: HashMap<u64, Drawn>,
}

impl ReplayBook {
    /// Reads `entries` (one detector's). Refused requests (nothing drawn)
    /// are skipped; an entry that cannot be replayed is an error naming its
    /// sequence number and field.
    pub(crate) fn new<'a>(
        entries: impl IntoIterator<Item = &'a JournalEntry>,
    ) -> Result<Self, String> {
        let mut book = Self::default();
        for entry in entries {
            let Some(drawn) = drawn(entry).map_err(|e| format!("entry seq {}: {e}", entry.seq))?
            else {
                continue;
            };
            match (&entry.key, entry.attempt) {
                (Some(key), Some(attempt)) => {
                    let key = key
                        .parse::<RequestKey>()
                        .map_err(|e| format!("entry seq {}: `key`: {e}", entry.seq))?;
                    book.by_key.insert((key, attempt), drawn);
                }
                (None, None) => {
                    book.by_seq.insert(entry.seq, drawn);
                }
                _ => {
                    return Err(format!(
                        "entry seq {}: `key` and `attempt` come together or not at all",
                        entry.seq
                    ));
                }
            }
        }
        Ok(book)
    }

    /// Whether any outcome is keyed by request (so requests need their key
    /// even in sequence mode).
    pub(crate) fn keyed(&self) -> bool {
        !self.by_key.is_empty()
    }

    /// How many outcomes it holds.
    pub(crate) fn len(&self) -> usize {
        self.by_key.len() + self.by_seq.len()
    }

    /// The outcome recorded for this request: by key and attempt when it
    /// has them, else by arrival number.
    pub(crate) fn outcome(&self, key: Option<(RequestKey, u32)>, seq: u64) -> Option<&Drawn> {
        match key {
            Some(key) if self.keyed() => self.by_key.get(&key),
            _ => self.by_seq.get(&seq),
        }
    }
}

/// What `entry` drew; `None` for a request refused before any draw (no
/// fault and not a 200).
fn drawn(entry: &JournalEntry) -> Result<Option<Drawn>, String> {
    let fault = match entry.fault.as_deref() {
        None if entry.status == Some(200) => None,
        None => return Ok(None),
        Some(kind) => Some(fault(entry, kind)?),
    };
    let failed_items =
        (!entry.failed_items.is_empty()).then(|| entry.failed_items.clone().into_boxed_slice());
    Ok(Some(Drawn {
        delay: duration("injected_delay_ms", entry.injected_delay_ms)?,
        fault,
        failed_items,
    }))
}

fn fault(entry: &JournalEntry, name: &str) -> Result<PlannedFault, String> {
    let Some(kind) = FaultKind::ALL.into_iter().find(|k| k.as_str() == name) else {
        let known: Vec<&str> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
        return Err(format!(
            "`fault`: `{name}` is not a fault kind ({})",
            known.join(", ")
        ));
    };
    let fault_ms = || {
        let ms = entry
            .fault_ms
            .ok_or_else(|| format!("a `{name}` needs `fault_ms`"))?;
        duration("fault_ms", ms)
    };
    Ok(match kind {
        FaultKind::HttpError => PlannedFault::HttpError {
            status: entry
                .status
                .filter(|s| (400..=599).contains(s))
                .ok_or("an `http_error` needs its `status` (400..=599)")?,
            retry_after_s: entry.retry_after_s,
        },
        FaultKind::Hang => PlannedFault::Hang {
            hold: fault_ms()?,
            end: entry.hang_end.unwrap_or(HangEnd::Close),
        },
        FaultKind::SlowBody => PlannedFault::SlowBody { over: fault_ms()? },
        FaultKind::Reset => PlannedFault::Reset,
        FaultKind::MalformedJson => PlannedFault::MalformedJson,
        FaultKind::SchemaInvalid => PlannedFault::SchemaInvalid,
        FaultKind::EmptyBody => PlannedFault::EmptyBody,
    })
}

fn duration(field: &str, ms: f64) -> Result<Duration, String> {
    if !(0.0..=MAX_MS).contains(&ms) {
        return Err(format!(
            "`{field}`: {ms} is not a duration between 0 and {MAX_MS} ms"
        ));
    }
    Ok(Duration::from_secs_f64(ms / 1000.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64) -> JournalEntry {
        serde_json::from_value(serde_json::json!({
            "seq": seq, "at": "2026-01-01T00:00:00.000Z", "method": "POST",
            "path": "/detect", "correlation_id": null, "content_bytes": 5,
            "injected_delay_ms": 12.5, "fault": null, "imposed_by": null,
            "status": 200, "duration_ms": 13.0
        }))
        .unwrap()
    }

    #[test]
    fn outcomes_are_found_by_key_and_attempt_or_by_arrival() {
        let key = RequestKey(7);
        let mut keyed = entry(1);
        keyed.key = Some(key.to_string());
        keyed.attempt = Some(2);
        keyed.fault = Some("hang".into());
        keyed.fault_ms = Some(250.0);
        keyed.hang_end = Some(HangEnd::GatewayTimeout);
        keyed.status = Some(504);
        let book = ReplayBook::new([&keyed]).unwrap();
        let drawn = book.outcome(Some((key, 2)), 99).unwrap();
        assert_eq!(drawn.delay, Duration::from_micros(12_500));
        assert_eq!(
            drawn.fault,
            Some(PlannedFault::Hang {
                hold: Duration::from_millis(250),
                end: HangEnd::GatewayTimeout
            })
        );
        assert!(book.outcome(Some((key, 1)), 1).is_none());

        let mut failed = entry(3);
        failed.fault = Some("http_error".into());
        failed.status = Some(503);
        failed.retry_after_s = Some(2);
        let book = ReplayBook::new([&failed, &entry(4)]).unwrap();
        assert!(!book.keyed());
        assert_eq!(
            book.outcome(None, 3).unwrap().fault,
            Some(PlannedFault::HttpError {
                status: 503,
                retry_after_s: Some(2)
            })
        );
        assert_eq!(book.outcome(None, 4).unwrap().fault, None);
        assert_eq!(book.len(), 2);
    }

    #[test]
    fn refused_requests_are_skipped() {
        let mut refused = entry(1);
        refused.status = Some(422);
        refused.injected_delay_ms = 0.0;
        assert_eq!(ReplayBook::new([&refused]).unwrap().len(), 0);
    }

    #[test]
    fn entries_that_cannot_be_replayed_are_named() {
        type Spoil = fn(&mut JournalEntry);
        let cases: [(Spoil, &str); 5] = [
            (
                |e| e.fault = Some("gremlins".into()),
                "`gremlins` is not a fault kind",
            ),
            (
                |e| e.injected_delay_ms = f64::INFINITY,
                "`injected_delay_ms`",
            ),
            (|e| e.fault = Some("slow_body".into()), "needs `fault_ms`"),
            (|e| e.key = Some("zz".into()), "`key`"),
            (|e| e.attempt = Some(1), "come together"),
        ];
        for (spoil, expected) in cases {
            let mut bad = entry(9);
            spoil(&mut bad);
            if bad.key.is_some() {
                bad.attempt = Some(1);
            }
            let err = ReplayBook::new([&bad]).unwrap_err();
            assert!(err.contains("seq 9") && err.contains(expected), "{err}");
        }
    }
}
