//! A subtree's reporting counts, kept briefly. Counting a company's
//! quarter reads a row per rep and working day (some hundred thousand at
//! 2,000 reps) and an uncached dashboard asks it on every call; the counts
//! only change when a report is written or a deadline (or a new day)
//! passes. An entry is kept until the earliest of: the next deadline or
//! local midnight after it was counted, a minute, or a report written
//! through this replica; a report written through another replica shows
//! within that minute.

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
}
