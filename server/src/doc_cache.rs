//! Loaded documents kept in memory (文档缓存) between syncs, so that a merge need not
//! load the stored bytes again: loading is half of a merge's work (`BENCHMARKS.md`),
//! and a phone's upload usually follows its download of the same households.
//!
//! An entry is the document as Automerge holds it, under the digest of the stored
//! bytes it stands for (bytes it was loaded from, or that the merge which made it
//! stored). A merge takes the entry only when that is the digest of the bytes it just
//! read from the database under the household's lock, in its own transaction: the
//! stored bytes are then exactly bytes known to load as this document (heads and all), so appending the merge's
//! new changes to them loads as the merged one (ARCHITECTURE.md, invariant 10).
//! Anything else (a merge through another server process, a transaction that rolled
//! back, a restore, an administrator's rewrite, bytes damaged on disk) leaves the entry
//! behind, and the merge loads the stored bytes as it would without a cache. Nothing
//! here is ever written back.
//!
//! A merge takes its entry out while it works and puts the merged document back, so a
//! refused upload leaves nothing behind it. The cache holds at most a budget of
//! memory, estimated from each document's stored size; the entry used longest ago
//! goes first.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use shared::HouseholdDoc;

/// A loaded document takes about this many times its stored (compressed) size in
/// memory (measured on the benchmark county, `BENCHMARKS.md`).
pub const MEMORY_PER_STORED_BYTE: usize = 16;

/// The default budget, in MiB (`serve --doc-cache-mb`).
pub const DEFAULT_MB: usize = 256;

/// Loaded documents by household, within a memory budget.
#[derive(Debug)]
pub struct DocCache {
    budget: usize,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Household ids by when they were last put, oldest first.
    order: BTreeMap<u64, String>,
    tick: u64,
    held: usize,
}

#[derive(Debug)]
struct Entry {
    /// SHA-256 of the stored bytes the document stands for.
    stored: [u8; 32],
    doc: HouseholdDoc,
    cost: usize,
    tick: u64,
}

/// What a cache holds and how it has served (for tests and the logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Documents held.
    pub documents: usize,
    /// Their estimated memory, in bytes.
    pub bytes: usize,
    /// Takes that found the document of the stored bytes.
    pub hits: u64,
    /// Takes that did not.
    pub misses: u64,
}

impl DocCache {
    /// A cache of at most `mb` MiB (0: holds nothing).
    pub fn with_mb(mb: usize) -> Self {
        Self::with_budget(mb.saturating_mul(1 << 20))
    }

    /// A cache of at most `budget` bytes, estimated.
    pub fn with_budget(budget: usize) -> Self {
        Self { budget, inner: Mutex::default(), hits: AtomicU64::new(0), misses: AtomicU64::new(0) }
    }

    /// Takes out household `id`'s document if it is held for exactly the bytes
    /// `stored` (as the database holds them now); an entry for anything else is
    /// dropped.
    pub fn take(&self, id: &str, stored: &[u8]) -> Option<HouseholdDoc> {
        if self.budget == 0 {
            return None;
        }
        let entry = self.lock().remove(id);
        let found = entry.filter(|e| e.stored == digest(stored));
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        crate::metrics::doc_cache(found.is_some());
        // An entry left behind is dropped here, outside the lock.
        found.map(|e| e.doc)
    }

    /// Keeps `doc`, household `id`'s document, whose stored bytes are (or are about
    /// to be) `stored`; the entries used longest ago go to make room. A
    /// document larger than the whole budget is not kept.
    pub fn put(&self, id: &str, doc: HouseholdDoc, stored: &[u8]) {
        let cost = stored.len().saturating_mul(MEMORY_PER_STORED_BYTE);
        if cost > self.budget {
            return;
        }
        let stored = digest(stored);
        let mut dropped = Vec::new();
        {
            let mut inner = self.lock();
            dropped.extend(inner.remove(id));
            while inner.held + cost > self.budget {
                match inner.oldest() {
                    Some(old) => dropped.extend(inner.remove(&old)),
                    None => break,
                }
            }
            inner.tick += 1;
            let tick = inner.tick;
            inner.order.insert(tick, id.to_owned());
            inner.held += cost;
            inner.entries.insert(id.to_owned(), Entry { stored, doc, cost, tick });
        }
        drop(dropped);
    }

    /// What the cache holds and how it has served.
    pub fn stats(&self) -> Stats {
        let inner = self.lock();
        Stats {
            documents: inner.entries.len(),
            bytes: inner.held,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent entries: every
        // change to them is made before the guard drops.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl Default for DocCache {
    fn default() -> Self {
        Self::with_mb(DEFAULT_MB)
    }
}

impl Inner {
    fn remove(&mut self, id: &str) -> Option<Entry> {
        let entry = self.entries.remove(id)?;
        self.order.remove(&entry.tick);
        self.held -= entry.cost;
        Some(entry)
    }

    fn oldest(&self) -> Option<String> {
        self.order.values().next().cloned()
    }
}

#[cfg(test)]
mod tests {
    use shared::automerge::ActorId;
    use shared::doc::Stamp;

    use super::*;

    fn doc(id: &str) -> HouseholdDoc {
        let stamp = Stamp::new("admin", "系统管理员", 100);
        HouseholdDoc::create(id, ActorId::random(), &stamp).expect("create")
    }

    #[test]
    fn a_document_comes_back_only_for_its_stored_bytes_and_only_once() {
        let cache = DocCache::with_mb(1);
        cache.put("5323250101001", doc("5323250101001"), &[1; 100]);
        assert!(cache.take("5323250101001", &[2; 100]).is_none(), "other bytes");
        assert_eq!(cache.stats().documents, 0, "the entry for other bytes is gone");
        let d = doc("5323250101001");
        let heads = d.heads();
        cache.put("5323250101001", d, &[1; 100]);
        let back = cache.take("5323250101001", &[1; 100]).expect("held for these bytes");
        assert_eq!(back.heads(), heads);
        assert!(cache.take("5323250101001", &[1; 100]).is_none(), "taken out while a merge works on it");
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.documents, stats.bytes), (1, 2, 0, 0));
    }

    #[test]
    fn a_document_does_not_stand_for_other_stored_bytes_at_the_same_heads() {
        // A byte damaged on disk, or the same changes stored whole by another process.
        let cache = DocCache::with_mb(1);
        let d = doc("5323250101001");
        let mut stored = d.save();
        cache.put("5323250101001", d, &stored);
        stored[20] ^= 1;
        assert!(cache.take("5323250101001", &stored).is_none());
        assert_eq!(cache.stats().documents, 0, "and it is dropped");
    }

    #[test]
    fn the_document_used_longest_ago_goes_first() {
        // Room for two documents of 1,000 stored bytes.
        let cache = DocCache::with_budget(2 * 1_000 * MEMORY_PER_STORED_BYTE);
        let ids = ["5323250101001", "5323250101002", "5323250101003"];
        for id in ids {
            cache.put(id, doc(id), &[0; 1_000]);
        }
        assert!(cache.take(ids[0], &[0; 1_000]).is_none(), "the first went for the third");
        let second = cache.take(ids[1], &[0; 1_000]).expect("the second stays");
        // Put back, the second is now the newest: a fourth pushes out the third.
        cache.put(ids[1], second, &[0; 1_000]);
        cache.put("5323250101004", doc("5323250101004"), &[0; 1_000]);
        assert!(cache.take(ids[2], &[0; 1_000]).is_none());
        assert!(cache.take(ids[1], &[0; 1_000]).is_some());
        assert_eq!(cache.stats().bytes, 1_000 * MEMORY_PER_STORED_BYTE, "the fourth alone");
    }

    #[test]
    fn a_cache_of_no_memory_or_a_document_over_the_budget_holds_nothing() {
        let none = DocCache::with_mb(0);
        none.put("5323250101001", doc("5323250101001"), &[0; 10]);
        assert!(none.take("5323250101001", &[0; 10]).is_none());
        let small = DocCache::with_budget(100 * MEMORY_PER_STORED_BYTE);
        small.put("5323250101001", doc("5323250101001"), &[0; 101]);
        assert_eq!(small.stats().documents, 0);
    }
}
