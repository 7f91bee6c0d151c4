//! The target service's answers, kept under its data version
//! (`GetDataVersion`): a request reads the version once, after it arrived,
//! and every read it makes at that version is answered from what an earlier
//! request read at the same version — the same call with the same request,
//! for the same caller (the bearer token: what the target service's scope
//! rules read). A write anywhere in the target service grows the version,
//! so nothing kept outlives the data it was read from, on any replica; a
//! write committed before a request arrived is always seen by it.
//!
//! Why: a dashboard made six calls to the target service (the unit, the
//! plans, the members, the expectations twice, the subtree) whose answers
//! change only when targets, plans or units are written — days apart —
//! while dashboards are read many times a second.

use std::{
    any::Any,
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

/// What an answer is kept under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub method: &'static str,
    /// The request message, encoded.
    pub request: Vec<u8>,
    /// The caller's bearer token.
    pub caller: String,
}

/// Answers of one data version, within a budget of encoded bytes.
#[derive(Debug)]
pub struct AnswerCache {
    inner: Mutex<Inner>,
    budget: usize,
}

#[derive(Default)]
struct Inner {
    version: i64,
    bytes: usize,
    answers: HashMap<Key, (Arc<dyn Any + Send + Sync>, usize)>,
    hits: u64,
    misses: u64,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").field("version", &self.version).field("answers", &self.answers.len()).finish()
    }
}

impl AnswerCache {
    /// Keeps at most `budget` encoded bytes of answers (0: keeps none).
    pub fn new(budget: usize) -> Self {
        Self { inner: Mutex::new(Inner::default()), budget }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves a map that is still whole.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The answer kept for `key` at `version`. A newer version than the one
    /// kept drops every answer (none can be asked for again).
    pub(crate) fn get<T: Clone + 'static>(&self, version: i64, key: &Key) -> Option<T> {
        let mut g = self.lock();
        if version > g.version {
            g.version = version;
            g.answers.clear();
            g.bytes = 0;
        }
        let hit = (version == g.version)
            .then(|| g.answers.get(key))
            .flatten()
            .and_then(|(a, _)| a.downcast_ref::<T>().cloned());
        if hit.is_some() {
            g.hits += 1;
        } else {
            g.misses += 1;
        }
        hit
    }

    /// Keeps an answer read at `version` of `size` encoded bytes, unless the
    /// version moved on meanwhile or it does not fit.
    pub(crate) fn put<T: Send + Sync + 'static>(&self, version: i64, key: Key, answer: T, size: usize) {
        let size = size + key.request.len() + key.caller.len();
        if size > self.budget / 8 {
            return;
        }
        let mut g = self.lock();
        if version != g.version {
            return;
        }
        if g.bytes + size > self.budget {
            // Full: start over rather than track recency (a version lives
            // for days, its working set is what the next minutes ask).
            g.answers.clear();
            g.bytes = 0;
        }
        if let Some((_, old)) = g.answers.insert(key, (Arc::new(answer), size)) {
            g.bytes -= old;
        }
        g.bytes += size;
    }

    /// (hits, misses) so far.
    pub fn counts(&self) -> (u64, u64) {
        let g = self.lock();
        (g.hits, g.misses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(method: &'static str, caller: &str) -> Key {
        Key { method, request: vec![1, 2, 3], caller: caller.into() }
    }

    #[test]
    fn an_answer_serves_its_version_and_caller_only() {
        let c = AnswerCache::new(1 << 20);
        assert_eq!(c.get::<String>(7, &key("GetUnit", "alice")), None);
        c.put(7, key("GetUnit", "alice"), "acme".to_owned(), 10);
        assert_eq!(c.get::<String>(7, &key("GetUnit", "alice")).as_deref(), Some("acme"));
        // Another caller, another call: not theirs.
        assert_eq!(c.get::<String>(7, &key("GetUnit", "bob")), None);
        assert_eq!(c.get::<String>(7, &key("ListUnits", "alice")), None);
        // A write upstream (version 8): gone, and a late answer read at 7
        // is not kept.
        assert_eq!(c.get::<String>(8, &key("GetUnit", "alice")), None);
        c.put(7, key("GetUnit", "alice"), "stale".to_owned(), 10);
        assert_eq!(c.get::<String>(8, &key("GetUnit", "alice")), None);
        // A request still reading at 7 finds nothing either.
        assert_eq!(c.get::<String>(7, &key("GetUnit", "alice")), None);
        assert_eq!(c.counts(), (1, 6));
    }

    #[test]
    fn the_budget_bounds_what_is_kept() {
        let c = AnswerCache::new(800);
        // Larger than an eighth of the budget: never kept.
        c.get::<String>(1, &key("GetSubtree", "a"));
        c.put(1, key("GetSubtree", "a"), "whole org".to_owned(), 200);
        assert_eq!(c.get::<String>(1, &key("GetSubtree", "a")), None);
        for i in 0..20 {
            c.put(1, key("GetUnit", &format!("caller {i}")), i, 50);
        }
        assert!(c.lock().bytes <= 800);
        assert_eq!(c.get::<i32>(1, &key("GetUnit", "caller 19")), Some(19));
    }
}
