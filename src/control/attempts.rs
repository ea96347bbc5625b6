//! Attempt counting for request-mode replay: how many times one detector
//! has seen each request key, within a bounded memory.
//!
//! Keys live in a fixed table of 8-key groups — one 64-byte cache line
//! each, the group chosen by the key's hash — so counting a send touches
//! one line and allocates nothing. A group keeps its keys newest first; a
//! new key in a full group pushes out the one first seen longest ago. A key
//! is so kept until eight newer keys have landed in its group — on average
//! `capacity` new keys later; the chance it goes within a tenth of that is
//! about two in a million. Retries follow their first attempt within
//! seconds, so they find their key. A forgotten key that does come back
//! starts again at attempt 1 and gets attempt 1's fate; each forgetting is
//! counted (`mockdet_replay_events_total{event="key_evicted"}`).
//!
//! A slot holds 32 bits of the key beside the ones that chose its shard and
//! group (about 50 bits in all) and a 32-bit count. Two live keys alike in
//! all of those — odds of about one in 10⁹ per new key at full capacity —
//! would share a count: the newcomer's attempt number would be off, its
//! draws still its own key's.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::sampling::RequestKey;

/// Shards, so concurrent requests rarely wait on one lock.
const SHARDS: usize = 16;
/// Keys per group: one 64-byte cache line of 8-byte slots.
const WAYS: usize = 8;

/// One remembered key: its upper 32 bits, then its count; zero is empty.
type Slot = u64;

fn slot(key: u64, count: u32) -> Slot {
    (key & 0xffff_ffff_0000_0000) | u64::from(count)
}

fn count(slot: Slot) -> u32 {
    slot as u32
}

fn holds(slot: Slot, key: u64) -> bool {
    count(slot) > 0 && (slot ^ key) >> 32 == 0
}

#[derive(Debug, Default)]
struct Shard {
    /// The groups, as plain words: a new table is zeroed memory the OS maps
    /// lazily (an idle detector's table costs no resident memory), one
    /// group more than needed so the first can start on a cache line.
    words: Vec<Slot>,
    /// Where the first group starts in `words`.
    base: usize,
    groups: usize,
}

impl Shard {
    fn new(groups: usize) -> Self {
        let words = vec![0u64; (groups + 1) * WAYS];
        let line = WAYS * 8;
        let base = (line - words.as_ptr() as usize % line) % line / 8;
        Self {
            words,
            base,
            groups,
        }
    }

    /// The slots of `key`'s group, newest first.
    fn group(&mut self, key: u64) -> &mut [Slot] {
        let start = self.base + group_of(key, self.groups) * WAYS;
        &mut self.words[start..start + WAYS]
    }

    /// Where its groups start in memory, and how many there are: what
    /// [`Attempts::prefetch`] reads without the lock.
    fn layout(&self) -> (usize, usize) {
        let first = self.words[self.base..].as_ptr() as usize;
        (first, self.groups)
    }

    /// Counts one more send of `key`: its attempt number, and whether a
    /// remembered key was forgotten to make room.
    fn next(&mut self, key: u64) -> (u32, bool) {
        let slots = self.group(key);
        if let Some(found) = slots.iter_mut().find(|s| holds(**s, key)) {
            let attempt = count(*found).saturating_add(1);
            *found = slot(key, attempt);
            return (attempt, false);
        }
        let evicted = count(slots[WAYS - 1]) > 0;
        slots.copy_within(..WAYS - 1, 1);
        slots[0] = slot(key, 1);
        (1, evicted)
    }

    /// How many keys it remembers.
    fn remembered(&self) -> usize {
        let groups = &self.words[self.base..self.base + self.groups * WAYS];
        groups.iter().filter(|s| count(**s) > 0).count()
    }
}

/// Per-key attempt counts of one detector.
#[derive(Debug)]
pub(crate) struct Attempts {
    shards: [Mutex<Shard>; SHARDS],
    /// Per shard, where its groups start in memory and how many there are
    /// (see [`Shard::layout`]), kept beside the lock for
    /// [`prefetch`](Self::prefetch). Only ever used as a hint: a stale
    /// value (a table being replaced) prefetches memory nobody reads.
    layouts: [(AtomicUsize, AtomicUsize); SHARDS],
    capacity: AtomicU32,
}

impl Attempts {
    /// Remembers `capacity` keys (rounded up to a whole number of groups).
    pub(crate) fn new(capacity: usize) -> Self {
        let groups = groups_per_shard(capacity);
        let attempts = Self {
            shards: std::array::from_fn(|_| Mutex::new(Shard::new(groups))),
            layouts: std::array::from_fn(|_| (AtomicUsize::new(0), AtomicUsize::new(0))),
            capacity: AtomicU32::new(u32::try_from(capacity).unwrap_or(u32::MAX)),
        };
        for (shard, layout) in attempts.shards.iter().zip(&attempts.layouts) {
            Self::publish(&Self::lock(shard), layout);
        }
        attempts
    }

    /// Replaces a shard's table with an empty one of `groups` groups, and
    /// publishes where it is.
    fn renew(shard: &mut Shard, layout: &(AtomicUsize, AtomicUsize), groups: usize) {
        *shard = Shard::new(groups);
        Self::publish(shard, layout);
    }

    /// Publishes where a shard's groups now are.
    fn publish(shard: &Shard, (first, groups): &(AtomicUsize, AtomicUsize)) {
        let (at, count) = shard.layout();
        first.store(at, Ordering::Relaxed);
        groups.store(count, Ordering::Relaxed);
    }

    /// Asks the CPU to start loading `key`'s group, so that its
    /// [`next`](Self::next) a little later finds it in cache: with keys
    /// that never repeat, each is a cache miss in a table of up to 800 KB,
    /// and the parsing done in between hides it.
    pub(crate) fn prefetch(&self, key: RequestKey) {
        let (first, groups) = &self.layouts[(key.0 % SHARDS as u64) as usize];
        let groups = groups.load(Ordering::Relaxed);
        if groups == 0 {
            return;
        }
        let group = group_of(key.0, groups);
        let at = first.load(Ordering::Relaxed) + group * WAYS * std::mem::size_of::<Slot>();
        prefetch_line(at);
    }

    fn lock(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
        shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one more send of `key`: returns its attempt number (1 for the
    /// first) and whether a remembered key was forgotten to make room.
    pub(crate) fn next(&self, key: RequestKey) -> (u32, bool) {
        // Keys are well-mixed hashes: their low bits pick a shard evenly.
        let shard = &self.shards[(key.0 % SHARDS as u64) as usize];
        Self::lock(shard).next(key.0)
    }

    /// Changes the capacity (a live profile change). A key's group
    /// depends on the table's size, so a new size starts counting afresh:
    /// returns how many remembered keys that forgot.
    pub(crate) fn resize(&self, capacity: usize) -> usize {
        let wanted = u32::try_from(capacity).unwrap_or(u32::MAX);
        if self.capacity.swap(wanted, Ordering::Relaxed) == wanted {
            return 0;
        }
        let groups = groups_per_shard(capacity);
        self.shards
            .iter()
            .zip(&self.layouts)
            .map(|(shard, layout)| {
                let mut shard = Self::lock(shard);
                let forgotten = shard.remembered();
                Self::renew(&mut shard, layout, groups);
                forgotten
            })
            .sum()
    }

    /// Forgets every key.
    pub(crate) fn clear(&self) {
        for (shard, layout) in self.shards.iter().zip(&self.layouts) {
            let mut shard = Self::lock(shard);
            let groups = shard.groups;
            Self::renew(&mut shard, layout, groups);
        }
    }
}

/// A hint to load the cache line at address `at`.
#[cfg(target_arch = "x86_64")]
fn prefetch_line(at: usize) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    // SAFETY: a prefetch never faults and reads nothing into the program:
    // any address is allowed, valid or not. SSE is part of x86_64.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(at as *const i8) }
}

/// A hint to load the cache line at address `at` (none on this target).
#[cfg(not(target_arch = "x86_64"))]
fn prefetch_line(_at: usize) {}

/// Which of a shard's `groups` holds `key` (its shard is `key % SHARDS`).
fn group_of(key: u64, groups: usize) -> usize {
    ((key / SHARDS as u64) % groups as u64) as usize
}

fn groups_per_shard(capacity: usize) -> usize {
    capacity.div_ceil(SHARDS * WAYS).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_any_key_changes_no_count() {
        let attempts = Attempts::new(1000);
        for key in [0, 1, u64::MAX, 12_345] {
            attempts.prefetch(RequestKey(key));
        }
        assert_eq!(attempts.next(RequestKey(1)), (1, false));
        attempts.resize(10);
        attempts.prefetch(RequestKey(1));
        assert_eq!(attempts.next(RequestKey(1)), (1, false));
        // The published layout is the shard's own.
        for (shard, (first, groups)) in attempts.shards.iter().zip(&attempts.layouts) {
            let shard = Attempts::lock(shard);
            let layout = (
                first.load(Ordering::Relaxed),
                groups.load(Ordering::Relaxed),
            );
            assert_eq!(layout, shard.layout());
        }
    }

    #[test]
    fn each_send_of_a_key_is_the_next_attempt() {
        let attempts = Attempts::new(1000);
        let (a, b) = (RequestKey(1), RequestKey(2));
        assert_eq!(attempts.next(a), (1, false));
        assert_eq!(attempts.next(a), (2, false));
        assert_eq!(attempts.next(b), (1, false));
        assert_eq!(attempts.next(a), (3, false));
        attempts.clear();
        assert_eq!(attempts.next(a), (1, false));
    }

    /// Keys that all land in shard 0, group 0 of a one-group table, and
    /// differ in the bits a slot keeps.
    fn same_group(i: u64) -> RequestKey {
        RequestKey((i + 1) << 32)
    }

    #[test]
    fn in_a_full_group_the_key_first_seen_longest_ago_is_forgotten() {
        let attempts = Attempts::new(SHARDS * WAYS);
        for i in 0..WAYS as u64 {
            assert_eq!(attempts.next(same_group(i)), (1, false));
        }
        // Seen again: still remembered, and seeing it does not make it newer.
        assert_eq!(attempts.next(same_group(0)), (2, false));
        assert_eq!(attempts.next(same_group(100)), (1, true));
        // Key 0 was first seen longest ago: forgotten, it starts over.
        assert_eq!(attempts.next(same_group(0)), (1, true));
        assert_eq!(attempts.next(same_group(2)), (2, false));
    }

    #[test]
    fn a_new_capacity_starts_counting_afresh_and_says_how_many_it_forgot() {
        let attempts = Attempts::new(SHARDS * WAYS);
        for i in 0..3 {
            attempts.next(same_group(i));
        }
        assert_eq!(attempts.resize(SHARDS * WAYS), 0, "same capacity: a no-op");
        assert_eq!(attempts.next(same_group(0)), (2, false));
        assert_eq!(attempts.resize(SHARDS * WAYS * 4), 3);
        assert_eq!(attempts.next(same_group(0)), (1, false));
    }

    #[test]
    fn keys_alike_in_their_low_bits_are_told_apart() {
        let attempts = Attempts::new(SHARDS * WAYS);
        assert_eq!(attempts.next(RequestKey(0x0000_0001_0000_0005)), (1, false));
        assert_eq!(attempts.next(RequestKey(0x0000_0002_0000_0005)), (1, false));
        assert_eq!(attempts.next(RequestKey(0x0000_0001_0000_0005)), (2, false));
    }

    #[test]
    fn every_group_starts_on_a_group_boundary() {
        for groups in [1, 3, 100] {
            let mut shard = Shard::new(groups);
            for key in 0..groups as u64 * SHARDS as u64 {
                let address = shard.group(key).as_ptr() as usize;
                assert_eq!(address % 64, 0);
            }
        }
    }

    #[test]
    fn a_key_is_kept_for_about_capacity_new_keys() {
        use rand::{Rng, SeedableRng};
        let capacity = 100_000;
        let attempts = Attempts::new(capacity);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let watched: Vec<RequestKey> = (0..1000).map(|_| RequestKey(rng.random())).collect();
        for key in &watched {
            attempts.next(*key);
        }
        // A tenth of the capacity in new keys: every watched key is still there.
        for _ in 0..capacity / 10 {
            attempts.next(RequestKey(rng.random()));
        }
        let kept = watched.iter().filter(|k| attempts.next(**k).0 == 2).count();
        assert_eq!(kept, watched.len());
    }
}
