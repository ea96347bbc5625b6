//! The request journal: a bounded ring of what each detection request got,
//! so a test can check how many calls, retries and which correlation ids its
//! orchestrator sent.

use std::collections::VecDeque;
use std::sync::Mutex;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::profile::HangEnd;
use crate::sampling::{Plan, PlannedFault, RequestKey};

/// One journaled request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct JournalEntry {
    /// The detector that served it (its profile's `name`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detector: String,
    /// The request's sequence number on this detector.
    pub seq: u64,
    /// When it arrived (RFC 3339, UTC).
    pub at: String,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// `X-Correlation-ID` (or the body's `metadata.correlation_id`).
    pub correlation_id: Option<String>,
    /// Size of the `content` field (0 when the body did not parse).
    pub content_bytes: usize,
    /// The latency drawn for it, in milliseconds.
    pub injected_delay_ms: f64,
    /// The fault acted out (`http_error`, `hang`, …), if any.
    pub fault: Option<String>,
    /// What imposed it (`next`, `outage:unavailable`, `script`, `burst`,
    /// `header`, `journal`), if not the profile.
    pub imposed_by: Option<String>,
    /// The status answered; `None` when the connection was cut instead.
    pub status: Option<u16>,
    /// Server-side time from arrival to answer, in milliseconds.
    pub duration_ms: f64,
    /// The wire protocol it came in on (`native`, `fms`, `openai`, `azure`,
    /// `presidio`, `litellm`).
    #[serde(default = "native")]
    pub protocol: String,
    /// The `detector-id` header (sent by the FMS orchestrator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detector_id_header: Option<String>,
    /// The `x-model-name` header (sent by the FMS orchestrator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_name: Option<String>,
    /// The W3C `traceparent` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// The request key (16 hex digits) in request-mode replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Which send of `key` this was (1 for the first), in request mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// An `http_error`'s `Retry-After`, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u32>,
    /// How long a `hang` held the connection, or a `slow_body` took to
    /// dribble, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_ms: Option<f64>,
    /// How a `hang` ended: `close` or `gateway_timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hang_end: Option<HangEnd>,
    /// The batch items (0-based) that failed on their own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_items: Vec<u32>,
}

impl JournalEntry {
    /// Writes `entries` as NDJSON: one JSON object per line, the format of
    /// `GET /admin/requests?format=ndjson`.
    pub fn to_ndjson(entries: &[JournalEntry]) -> String {
        let mut out = String::new();
        for entry in entries {
            // A JournalEntry always serializes: plain fields, string keys.
            if let Ok(line) = serde_json::to_string(entry) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }

    /// Reads NDJSON written by [`to_ndjson`](Self::to_ndjson) or the admin
    /// API (blank lines are skipped); an error names the line.
    pub fn parse_ndjson(text: &str) -> Result<Vec<JournalEntry>, String> {
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1)))
            .collect()
    }
}

fn native() -> String {
    "native".to_owned()
}

/// Headers kept with an entry (see [`JournalEntry`]'s last fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct StoredHeaders {
    pub(crate) detector_id: Option<Box<str>>,
    pub(crate) model_name: Option<Box<str>>,
    pub(crate) traceparent: Option<Box<str>>,
}

/// What a request drew (or was served from a replayed journal): its
/// latency, fault and failed batch items.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Drawn {
    pub(crate) delay: Duration,
    pub(crate) fault: Option<PlannedFault>,
    /// Failed batch items, when any failed.
    pub(crate) failed_items: Option<Box<[u32]>>,
}

impl Drawn {
    /// What `plan` drew.
    pub(crate) fn of(plan: &Plan) -> Self {
        let failed = plan.failed_items.iter().enumerate();
        let failed: Box<[u32]> = failed
            .filter(|(_, failed)| **failed)
            .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX))
            .collect();
        Self {
            delay: plan.delay,
            fault: plan.fault.clone(),
            failed_items: (!failed.is_empty()).then_some(failed),
        }
    }

    /// The plan that serves this outcome again to a request of `items`
    /// batch items (`None` for a single request).
    pub(crate) fn plan(&self, items: Option<usize>) -> Plan {
        let mut failed_items = vec![false; items.unwrap_or(0)];
        for &i in self.failed_items.as_deref().unwrap_or_default() {
            if let Some(item) = failed_items.get_mut(i as usize) {
                *item = true;
            }
        }
        Plan {
            delay: self.delay,
            fault: self.fault.clone(),
            failed_items,
        }
    }
}

/// An entry as kept: fixed-size fields and static strings, so the ring
/// costs little per request; formatted into a [`JournalEntry`] on read.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub(crate) seq: u64,
    pub(crate) at: std::time::SystemTime,
    pub(crate) path: &'static str,
    pub(crate) correlation_id: Option<Box<str>>,
    pub(crate) content_bytes: usize,
    /// `None` for a request refused before anything was drawn.
    pub(crate) drawn: Option<Drawn>,
    pub(crate) imposed_by: Option<&'static str>,
    pub(crate) status: Option<u16>,
    pub(crate) duration_ms: f64,
    pub(crate) protocol: &'static str,
    pub(crate) headers: Option<std::sync::Arc<StoredHeaders>>,
    /// The request key and attempt, in request mode.
    pub(crate) key: Option<(RequestKey, u32)>,
}

impl Stored {
    fn entry(&self, detector: &str) -> JournalEntry {
        let fault = self.drawn.as_ref().and_then(|d| d.fault.as_ref());
        let (retry_after_s, fault_ms, hang_end) = match fault {
            Some(PlannedFault::HttpError { retry_after_s, .. }) => (*retry_after_s, None, None),
            Some(PlannedFault::Hang { hold, end }) => (None, Some(millis(*hold)), Some(*end)),
            Some(PlannedFault::SlowBody { over }) => (None, Some(millis(*over)), None),
            _ => (None, None, None),
        };
        JournalEntry {
            detector: detector.to_owned(),
            seq: self.seq,
            at: humantime::format_rfc3339_millis(self.at).to_string(),
            // Only detection requests are journaled, and they are all POSTs.
            method: "POST".to_owned(),
            path: self.path.to_owned(),
            correlation_id: self.correlation_id.as_deref().map(str::to_owned),
            content_bytes: self.content_bytes,
            injected_delay_ms: self.drawn.as_ref().map_or(0.0, |d| millis(d.delay)),
            fault: fault.map(|f| f.kind_name().to_owned()),
            imposed_by: self.imposed_by.map(str::to_owned),
            status: self.status,
            duration_ms: self.duration_ms,
            protocol: self.protocol.to_owned(),
            detector_id_header: self.header(|h| &h.detector_id),
            model_name: self.header(|h| &h.model_name),
            traceparent: self.header(|h| &h.traceparent),
            key: self.key.map(|(key, _)| key.to_string()),
            attempt: self.key.map(|(_, attempt)| attempt),
            retry_after_s,
            fault_ms,
            hang_end,
            failed_items: self
                .drawn
                .as_ref()
                .and_then(|d| d.failed_items.as_deref())
                .map(<[u32]>::to_vec)
                .unwrap_or_default(),
        }
    }

    fn header(&self, which: impl Fn(&StoredHeaders) -> &Option<Box<str>>) -> Option<String> {
        let headers = self.headers.as_deref()?;
        which(headers).as_deref().map(str::to_owned)
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A ring buffer of the most recent entries.
#[derive(Debug)]
pub(crate) struct Journal {
    /// The detector's name, written into every entry read.
    detector: Box<str>,
    // std Mutex: pushes and copies only, never held across an await.
    entries: Mutex<VecDeque<Stored>>,
    capacity: std::sync::atomic::AtomicUsize,
}

impl Journal {
    pub(crate) fn new(detector: &str, capacity: usize) -> Self {
        Self {
            detector: detector.into(),
            // Allocated once (up to 100,000 entries): a ring that grows by
            // doubling would briefly hold two buffers just when load peaks.
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(100_000))),
            capacity: capacity.into(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Stored>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds an entry, evicting the oldest at capacity.
    pub(crate) fn push(&self, entry: Stored) {
        let capacity = self.capacity.load(std::sync::atomic::Ordering::Relaxed);
        if capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        while entries.len() >= capacity {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// Entries with `seq > since_seq`, in sequence order, at most `limit`
    /// of them: the oldest first, so a reader pages forward by passing the
    /// last `seq` it saw.
    pub(crate) fn read(&self, since_seq: u64, limit: usize) -> Vec<JournalEntry> {
        let mut selected: Vec<Stored> = self
            .lock()
            .iter()
            .filter(|e| e.seq > since_seq)
            .cloned()
            .collect();
        selected.sort_by_key(|e| e.seq);
        selected.truncate(limit);
        selected.iter().map(|e| e.entry(&self.detector)).collect()
    }

    /// The newest `limit` entries, in sequence order.
    pub(crate) fn tail(&self, limit: usize) -> Vec<JournalEntry> {
        let mut selected: Vec<Stored> = self.lock().iter().cloned().collect();
        selected.sort_by_key(|e| e.seq);
        let skip = selected.len().saturating_sub(limit);
        selected[skip..]
            .iter()
            .map(|e| e.entry(&self.detector))
            .collect()
    }

    /// Drops every entry.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    /// Changes the capacity (a live profile change), evicting as needed.
    pub(crate) fn resize(&self, capacity: usize) {
        self.capacity
            .store(capacity, std::sync::atomic::Ordering::Relaxed);
        let mut entries = self.lock();
        while entries.len() > capacity {
            entries.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64) -> Stored {
        Stored {
            seq,
            at: std::time::UNIX_EPOCH,
            path: "/detect",
            correlation_id: None,
            content_bytes: 0,
            drawn: None,
            imposed_by: None,
            status: Some(200),
            duration_ms: 0.0,
            protocol: "native",
            headers: None,
            key: None,
        }
    }

    #[test]
    fn a_drawn_outcome_round_trips_through_an_entry_and_back_into_a_plan() {
        let plan = Plan {
            delay: Duration::from_micros(12_345),
            fault: Some(PlannedFault::SlowBody {
                over: Duration::from_millis(250),
            }),
            failed_items: vec![false, true, false, true],
        };
        let drawn = Drawn::of(&plan);
        assert_eq!(drawn.failed_items.as_deref(), Some(&[1, 3][..]));
        let mut stored = entry(7);
        stored.drawn = Some(drawn.clone());
        stored.key = Some((RequestKey(0xabc), 2));
        let written = stored.entry("d");
        assert_eq!(written.detector, "d");
        assert_eq!(written.key.as_deref(), Some("0000000000000abc"));
        assert_eq!(written.attempt, Some(2));
        assert_eq!(written.fault.as_deref(), Some("slow_body"));
        assert_eq!(written.fault_ms, Some(250.0));
        assert_eq!(written.failed_items, [1, 3]);
        // Served again to a batch of the same size, the plan is the same.
        assert_eq!(drawn.plan(Some(4)), plan);
        // A single request has no items; a smaller batch keeps what fits.
        assert!(drawn.plan(None).failed_items.is_empty());
        assert_eq!(drawn.plan(Some(2)).failed_items, [false, true]);
        // And an entry with nothing failed writes no list.
        let quiet = Drawn::of(&Plan {
            failed_items: vec![false; 3],
            ..plan
        });
        assert_eq!(quiet.failed_items, None);
    }

    #[test]
    fn the_oldest_entries_are_evicted_at_capacity() {
        let journal = Journal::new("d", 3);
        for seq in 1..=5 {
            journal.push(entry(seq));
        }
        let seqs: Vec<u64> = journal.read(0, usize::MAX).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
    }

    #[test]
    fn reads_filter_by_sequence_sort_and_limit() {
        let journal = Journal::new("d", 10);
        for seq in [4, 2, 3, 1] {
            journal.push(entry(seq));
        }
        let seqs: Vec<u64> = journal.read(1, 2).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [2, 3]);
        journal.resize(1);
        assert_eq!(journal.read(0, 10).len(), 1);
    }

    #[test]
    fn the_tail_is_the_newest_entries_in_sequence_order() {
        let journal = Journal::new("d", 10);
        for seq in [4, 2, 5, 3, 1] {
            journal.push(entry(seq));
        }
        let seqs = |entries: Vec<JournalEntry>| entries.iter().map(|e| e.seq).collect::<Vec<_>>();
        assert_eq!(seqs(journal.tail(2)), [4, 5]);
        assert_eq!(seqs(journal.tail(99)), [1, 2, 3, 4, 5]);
        assert!(journal.tail(0).is_empty());
    }
}
