//! Findings remembered per content.
//!
//! What a detector finds is a pure function of the content and the
//! profile's capabilities, and a load test sends the same few payloads over
//! and over: scanning them again on every request (regexes over the content,
//! then writing the findings as JSON) was the largest share of a detector's
//! own CPU time in the throughput benchmark. A [`FindingsMemo`] keeps the
//! rendered findings of recently seen contents, so a repeated content costs
//! a hash and a comparison instead.
//!
//! Bounded: only contents up to [`MEMO_MAX_CONTENT`] bytes are kept, within
//! a budget of [`MEMO_BUDGET`] bytes (contents plus rendered findings).
//! Eviction is quick_cache's S3-FIFO, so a stream of one-off contents does
//! not push out the payloads a test repeats. A new profile (a live change
//! of capabilities included) starts with an empty memo.
//!
//! A content is kept the second time it is seen, not the first: a table of
//! [`DOORKEEPER_SLOTS`] hashes remembers what was seen once. Traffic that
//! never repeats a content (the protocols benchmark sends a new one on every
//! request) then costs a hash instead of a copy, an insertion and an
//! eviction per request, and repeated payloads are kept from their second
//! request on.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use foldhash::fast::FixedState;

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use super::findings::{self, EnabledRules};
use super::success::RenderedFindings;

/// Longest content whose findings are remembered (the load suite's large
/// payload is 40 KiB); longer ones are scanned on every request.
pub(crate) const MEMO_MAX_CONTENT: usize = 64 * 1024;

/// Bytes of contents and rendered findings one detector remembers.
pub(crate) const MEMO_BUDGET: u64 = 4 << 20;

/// Rough entries the budget holds (sizes the cache's tables): payloads of
/// about a kilobyte.
const MEMO_ESTIMATED_ENTRIES: usize = 4096;

/// How many contents seen once are remembered (by hash) before the memo
/// keeps them.
const DOORKEEPER_SLOTS: usize = 4096;

/// The rendered findings of recently seen contents, for one profile's rules.
pub(crate) struct FindingsMemo {
    rules: EnabledRules,
    cache: Cache<String, Arc<RenderedFindings>, ByteWeight>,
    /// Hashes of contents seen once, each in the slot its hash picks.
    seen_once: Box<[AtomicU64]>,
    hasher: FixedState,
}

impl std::fmt::Debug for FindingsMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FindingsMemo")
            .field("rules", &self.rules)
            .field("entries", &self.cache.len())
            .field("bytes", &self.cache.weight())
            .finish()
    }
}

/// An entry weighs the bytes it holds.
#[derive(Debug, Clone, Copy)]
struct ByteWeight;

impl Weighter<String, Arc<RenderedFindings>> for ByteWeight {
    fn weight(&self, content: &String, rendered: &Arc<RenderedFindings>) -> u64 {
        // Never zero: zero-weight entries are never evicted.
        (content.len() + rendered.len()).max(1) as u64
    }
}

impl FindingsMemo {
    /// An empty memo for the rules `capabilities` enable.
    pub(crate) fn new(capabilities: &[String]) -> Self {
        Self {
            rules: EnabledRules::for_capabilities(capabilities),
            cache: Cache::with_weighter(MEMO_ESTIMATED_ENTRIES, MEMO_BUDGET, ByteWeight),
            seen_once: (0..DOORKEEPER_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            hasher: FixedState::with_seed(0x6d6f_636b_6465_7421),
        }
    }

    /// The rendered findings of `content`: remembered, or scanned now (and
    /// remembered when short enough).
    pub(crate) fn rendered(&self, content: &str) -> Arc<RenderedFindings> {
        if content.len() > MEMO_MAX_CONTENT {
            return Arc::new(self.render(content));
        }
        if let Some(rendered) = self.cache.get(content) {
            return rendered;
        }
        let rendered = Arc::new(self.render(content));
        if self.seen_before(content) {
            self.cache.insert(content.to_owned(), rendered.clone());
        }
        rendered
    }

    /// Whether `content` was seen once already; notes it as seen.
    fn seen_before(&self, content: &str) -> bool {
        let hash = self.hasher.hash_one(content);
        let slot = &self.seen_once[hash as usize % DOORKEEPER_SLOTS];
        slot.swap(hash, Ordering::Relaxed) == hash
    }

    /// What the rules find in `text`, scanned now (the other protocols'
    /// renderers use the findings themselves, not the native rendering).
    pub(crate) fn scan(&self, text: &str) -> Vec<findings::Finding> {
        findings::scan(text, self.rules)
    }

    fn render(&self, content: &str) -> RenderedFindings {
        RenderedFindings::new(&findings::scan(content, self.rules))
    }

    #[cfg(test)]
    fn remembered(&self) -> (usize, u64) {
        (self.cache.len(), self.cache.weight())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memo() -> FindingsMemo {
        FindingsMemo::new(&["deep_analysis".to_owned()])
    }

    fn bytes(rendered: &RenderedFindings) -> String {
        rendered.text()
    }

    #[test]
    fn a_remembered_content_renders_as_a_fresh_scan_does() {
        let memo = memo();
        let contents = [
            "mail jo@ex.io or call 415-555-0132; I hate it",
            "nothing to see",
            "api_key=Ab12Cd34Ef56Gh78Ij90 ' OR 1=1 -- kill",
        ];
        for round in 0..3 {
            for content in contents {
                let fresh = RenderedFindings::new(&findings::scan(content, memo.rules));
                assert_eq!(bytes(&memo.rendered(content)), bytes(&fresh), "{round}");
            }
        }
        assert_eq!(memo.remembered().0, contents.len());
    }

    #[test]
    fn a_repeated_content_is_served_from_the_memo_from_its_second_sight() {
        let memo = memo();
        let first = memo.rendered("call 415-555-0132");
        assert_eq!(memo.remembered().0, 0, "a content seen once is not kept");
        let second = memo.rendered("call 415-555-0132");
        let third = memo.rendered("call 415-555-0132");
        assert!(!Arc::ptr_eq(&first, &second));
        assert!(Arc::ptr_eq(&second, &third));
        assert_eq!(bytes(&first), bytes(&third));
    }

    #[test]
    fn contents_seen_once_are_never_kept() {
        let memo = memo();
        for i in 0..10_000 {
            memo.rendered(&format!("ticket {i}: mail jo@ex.io"));
        }
        assert_eq!(memo.remembered(), (0, 0));
    }

    #[test]
    fn long_contents_are_scanned_every_time_and_never_kept() {
        let memo = memo();
        let long = "a@b.io ".repeat(MEMO_MAX_CONTENT / 7 + 1);
        assert!(long.len() > MEMO_MAX_CONTENT);
        let first = memo.rendered(&long);
        let again = memo.rendered(&long);
        assert!(!Arc::ptr_eq(&first, &again));
        assert_eq!(bytes(&first), bytes(&again));
        assert_eq!(memo.remembered(), (0, 0));
    }

    #[test]
    fn the_memo_stays_within_its_budget() {
        let memo = memo();
        // 16 MiB of contents through a 4 MiB budget.
        for i in 0..2_000 {
            let content = format!("{i:08192}");
            memo.rendered(&content);
            memo.rendered(&content);
        }
        let (entries, weight) = memo.remembered();
        assert!(weight <= MEMO_BUDGET, "{weight} bytes in {entries} entries");
        assert!(entries > 0);
    }

    #[test]
    fn capabilities_decide_what_is_found() {
        let pii = FindingsMemo::new(&["pii_detection".to_owned()]);
        let none = FindingsMemo::new(&[]);
        let content = "mail jo@ex.io";
        assert!(bytes(&pii.rendered(content)).contains("email"));
        assert!(!bytes(&none.rendered(content)).contains("email"));
    }
}
