//! A subtree's reporting counts, kept briefly. Counting a company's
//! quarter reads a row per rep and working day (some hundred thousand at
//! 2,000 reps) and an uncached dashboard asks it on every call; the counts
//! only change when a report is written or a deadline (or a new day)
//! passes. An entry is kept until the earliest of: the next deadline or
//! local midnight after it was counted, a minute, or a report written
//! through this replica; a report written through another replica shows
//! within that minute. Callers missing the same entry at once count it
//! once (`turn`): sixteen dashboards opened together each read the
//! hundred thousand rows otherwise, and held them all in memory at once.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use attain_kit::cadence::Compliance;

/// How long counts are kept at most (reports written elsewhere).
const AT_MOST: Duration = Duration::from_secs(60);
/// Entries kept; past it they are dropped whole.
const MAX_ENTRIES: usize = 10_000;

/// Counts, good until an instant and while the writes seen are the same.
type Entry = (Instant, u64, Compliance);

#[derive(Clone, Default)]
pub struct ComplianceMemo {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    /// One count at a time per key.
    turns: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    /// Reports written through this replica: each makes every entry old.
    writes: Arc<AtomicU64>,
}

impl std::fmt::Debug for ComplianceMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComplianceMemo").finish_non_exhaustive()
    }
}

impl ComplianceMemo {
    /// The counts under `key`, if still good.
    pub fn get(&self, key: &str) -> Option<Compliance> {
        let entries = self.entries.lock().ok()?;
        let (until, writes, c) = entries.get(key)?;
        (Instant::now() < *until && *writes == self.writes.load(Ordering::SeqCst)).then_some(*c)
    }

    /// The number of writes seen before counting: an entry counted across
    /// a write is stored as already old.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// Keeps counts made when `writes` had been seen, for `good_for` at
    /// most (until the next deadline or day).
    pub fn put(&self, key: String, writes: u64, good_for: Duration, c: Compliance) {
        let Ok(mut entries) = self.entries.lock() else { return };
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now() + good_for.min(AT_MOST), writes, c));
    }

    /// Waits for the key's turn to count: whoever held it before may have
    /// stored the counts meanwhile (ask `get` again).
    pub async fn turn(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let Ok(mut turns) = self.turns.lock() else {
                // A poisoned map: count without waiting.
                return Arc::new(tokio::sync::Mutex::new(())).lock_owned().await;
            };
            // Nobody waiting on them: forget the finished turns.
            if turns.len() >= MAX_ENTRIES {
                turns.retain(|_, l| Arc::strong_count(l) > 1);
            }
            turns.entry(key.to_owned()).or_default().clone()
        };
        lock.lock_owned().await
    }

    /// A report was written: every count may have moved.
    pub fn written(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_or_the_next_deadline_ends_an_entry() {
        let m = ComplianceMemo::default();
        let c = Compliance { due: 1, submitted: 2, late: 3, missed: 4 };
        m.put("k".into(), m.writes(), Duration::from_secs(30), c);
        assert_eq!(m.get("k"), Some(c));
        m.written();
        assert_eq!(m.get("k"), None, "a report written here");
        // Counted while a write landed: stored old.
        let before = m.writes();
        m.written();
        m.put("k".into(), before, Duration::from_secs(30), c);
        assert_eq!(m.get("k"), None);
        // A deadline already passing.
        m.put("k".into(), m.writes(), Duration::ZERO, c);
        assert_eq!(m.get("k"), None);
    }

    #[tokio::test]
    async fn callers_of_one_key_count_in_turn() {
        let m = ComplianceMemo::default();
        let first = m.turn("k").await;
        let other = m.turn("other").await;
        // The same key waits for the first; another key does not.
        let m2 = m.clone();
        let second = tokio::spawn(async move { m2.turn("k").await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "a second count of the same key ran alongside the first");
        drop(other);
        drop(first);
        let _second = tokio::time::timeout(Duration::from_secs(5), second).await.unwrap().unwrap();
    }
}
