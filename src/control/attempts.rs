//! Attempt counting for request-mode replay: how many times one detector
//! has seen each request key, within a bounded memory.
//!
//! At most `capacity` keys are remembered. Past that, the key seen first
//! longest ago is forgotten — for retries, which follow their first attempt
//! within seconds, that is the key least likely to come back. A forgotten
//! key that does come back starts again at attempt 1 and gets attempt 1's
//! fate; each forgetting is counted (`mockdet_replay_keys_evicted_total`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::sampling::RequestKey;

/// Shards, so concurrent requests rarely wait on one lock.
const SHARDS: usize = 16;

#[derive(Debug, Default)]
struct Shard {
    counts: HashMap<u64, u32, foldhash::fast::FixedState>,
    /// Keys in the order first seen, oldest in front.
    order: VecDeque<u64>,
}

/// Per-key attempt counts of one detector.
#[derive(Debug)]
pub(crate) struct Attempts {
    shards: [Mutex<Shard>; SHARDS],
    /// Keys each shard remembers.
    per_shard: AtomicUsize,
}

impl Attempts {
    /// Remembers about `capacity` keys (rounded up to a multiple of 16).
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            shards: std::array::from_fn(|_| Mutex::default()),
            per_shard: AtomicUsize::new(per_shard(capacity)),
        }
    }

    fn shard(&self, key: RequestKey) -> std::sync::MutexGuard<'_, Shard> {
        // Keys are well-mixed hashes: their low bits pick a shard evenly.
        let index = (key.0 % SHARDS as u64) as usize;
        self.shards[index]
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one more send of `key`: returns its attempt number (1 for the
    /// first) and whether a remembered key was forgotten to make room.
    pub(crate) fn next(&self, key: RequestKey) -> (u32, bool) {
        let limit = self.per_shard.load(Ordering::Relaxed);
        let mut shard = self.shard(key);
        if let Some(count) = shard.counts.get_mut(&key.0) {
            *count = count.saturating_add(1);
            return (*count, false);
        }
        let mut evicted = false;
        while shard.counts.len() >= limit {
            let Some(oldest) = shard.order.pop_front() else {
                break;
            };
            shard.counts.remove(&oldest);
            evicted = true;
        }
        shard.counts.insert(key.0, 1);
        shard.order.push_back(key.0);
        (1, evicted)
    }

    /// Changes the capacity (a live profile change), forgetting the oldest
    /// keys as needed.
    pub(crate) fn resize(&self, capacity: usize) {
        let limit = per_shard(capacity);
        self.per_shard.store(limit, Ordering::Relaxed);
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
            while shard.counts.len() > limit {
                let Some(oldest) = shard.order.pop_front() else {
                    break;
                };
                shard.counts.remove(&oldest);
            }
        }
    }

    /// Forgets every key.
    pub(crate) fn clear(&self) {
        for shard in &self.shards {
            *shard.lock().unwrap_or_else(|p| p.into_inner()) = Shard::default();
        }
    }
}

fn per_shard(capacity: usize) -> usize {
    capacity.div_ceil(SHARDS).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_send_of_a_key_is_the_next_attempt() {
        let attempts = Attempts::new(100);
        let (a, b) = (RequestKey(1), RequestKey(2));
        assert_eq!(attempts.next(a), (1, false));
        assert_eq!(attempts.next(a), (2, false));
        assert_eq!(attempts.next(b), (1, false));
        assert_eq!(attempts.next(a), (3, false));
        attempts.clear();
        assert_eq!(attempts.next(a), (1, false));
    }

    #[test]
    fn past_capacity_the_key_first_seen_longest_ago_is_forgotten() {
        // 16 keys per shard: keys k * 16 all land in shard 0.
        let attempts = Attempts::new(16 * 16);
        let key = |i: u64| RequestKey(i * SHARDS as u64);
        for i in 0..16 {
            assert_eq!(attempts.next(key(i)).0, 1);
        }
        // Seen again: still remembered, and seeing it does not make it newer.
        assert_eq!(attempts.next(key(0)), (2, false));
        assert_eq!(attempts.next(key(16)), (1, true));
        // Key 0 was first seen longest ago: forgotten, it starts over.
        assert_eq!(attempts.next(key(0)), (1, true));
        assert_eq!(attempts.next(key(2)), (2, false));
    }

    #[test]
    fn shrinking_forgets_the_oldest() {
        let attempts = Attempts::new(16 * 4);
        let key = |i: u64| RequestKey(i * SHARDS as u64);
        for i in 0..4 {
            attempts.next(key(i));
        }
        attempts.resize(16);
        assert_eq!(attempts.next(key(3)), (2, false));
        assert_eq!(attempts.next(key(0)), (1, true));
    }
}
