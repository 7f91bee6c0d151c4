//! The dashboard cache: identical concurrent calls share one fan-out, and
//! a whole (no section missing) dashboard is served again for a short
//! time — until tracking reports new figures or alerts for its unit.
//!
//! Keys include the caller's scope (role and scope root), so a cached
//! dashboard only ever goes to callers who may see exactly what its first
//! caller could. The answer says whether it came from the cache and when
//! its figures were read (`from_cache`, `data_time`).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};

use attain_kit::metrics::{Counters, Metrics};
use attain_proto::attain::gateway::v1 as pb;
use futures::future::{BoxFuture, FutureExt, Shared};
use tonic::Status;

use crate::{encoded::Encoded, mask::Wanted};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// Role and scope root of the caller, e.g. "Manager:region-a".
    pub scope: String,
    /// "units/{unit_id}"
    pub unit: String,
    pub period: String,
    pub plan: String,
    pub as_of: String,
    pub metric: i32,
    /// The fields asked for: a masked answer serves only the same mask.
    pub wanted: Wanted,
}

type Fetch = Shared<BoxFuture<'static, Result<pb::Dashboard, Status>>>;

struct Inner {
    /// Stored encoded, `from_cache` set: a hit sends these bytes as they are.
    entries: HashMap<Key, (Encoded, Instant)>,
    inflight: HashMap<Key, Fetch>,
    /// Bumped by every invalidation; a fetch that began before its unit
    /// was last invalidated may carry old figures and is not stored.
    generation: u64,
    invalidated: HashMap<String, u64>,
    cleared: u64,
}

pub struct DashboardCache {
    ttl: Duration,
    max: usize,
    inner: Mutex<Inner>,
    /// Lookups by result: hit (served stored bytes), shared (joined an
    /// identical call under way), miss (fetched).
    lookups: Counters,
}

impl std::fmt::Debug for DashboardCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DashboardCache").field("ttl", &self.ttl).field("max", &self.max).finish()
    }
}

/// Removes the leader's in-flight entry however its call ends (also when
/// the caller goes away mid-call), so nobody joins a finished fetch.
struct Leader<'a> {
    cache: &'a DashboardCache,
    key: &'a Key,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        self.cache.lock().inflight.remove(self.key);
    }
}

/// A dashboard just fetched (or shared with an identical call under way),
/// or one served from the cache as the bytes stored.
#[derive(Debug, Clone)]
pub enum Answer {
    // Boxed: a Dashboard is ~3 KB inline, the bytes a pointer.
    Fetched(Box<pb::Dashboard>),
    Cached(Encoded),
}

fn whole(d: &pb::Dashboard) -> bool {
    d.sections.iter().all(|s| s.state == pb::SectionState::Ok as i32)
}

impl DashboardCache {
    pub fn new(ttl: Duration, max: usize) -> Self {
        Self {
            ttl,
            max: max.max(1),
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                inflight: HashMap::new(),
                generation: 0,
                invalidated: HashMap::new(),
                cleared: 0,
            }),
            lookups: Counters::default(),
        }
    }

    /// The cache, counting its lookups into `metrics` and exposing the
    /// entries it holds.
    pub fn measured(mut self, metrics: &Metrics) -> Arc<Self> {
        self.lookups = metrics
            .counter("attain_gateway_dashboard_cache_lookups", "Dashboard cache lookups, by result")
            .starting_at_zero(&[&[("result", "hit")], &[("result", "shared")], &[("result", "miss")]]);
        let this = Arc::new(self);
        let entries = metrics.gauge("attain_gateway_dashboard_cache_entries", "Dashboards held in the cache");
        let cache = Arc::downgrade(&this);
        metrics.on_scrape(move || {
            if let Some(c) = cache.upgrade() {
                entries.set(&[], i64::try_from(c.len()).unwrap_or(i64::MAX));
            }
        });
        this
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A cached dashboard (marked `from_cache`), the result of an identical
    /// call already under way, or a new fetch.
    pub async fn get_or_fetch<F>(&self, key: Key, fetch: F) -> Result<Answer, Status>
    where
        F: FnOnce() -> BoxFuture<'static, Result<pb::Dashboard, Status>>,
    {
        let (shared, generation, leads) = {
            let mut g = self.lock();
            if let Some((e, at)) = g.entries.get(&key)
                && at.elapsed() < self.ttl
            {
                self.lookups.inc(&[("result", "hit")]);
                return Ok(Answer::Cached(e.clone()));
            }
            match g.inflight.get(&key) {
                Some(f) => {
                    self.lookups.inc(&[("result", "shared")]);
                    (f.clone(), g.generation, false)
                }
                None => {
                    self.lookups.inc(&[("result", "miss")]);
                    let f = fetch().shared();
                    g.inflight.insert(key.clone(), f.clone());
                    (f, g.generation, true)
                }
            }
        };
        // Lazily: a Leader built for a follower would remove the entry on drop.
        let _leader = leads.then(|| Leader { cache: self, key: &key });
        let result = shared.await;
        if leads
            && !self.ttl.is_zero()
            && let Ok(d) = &result
            && whole(d)
            && let Some(encoded) = Encoded::new(&pb::Dashboard { from_cache: true, ..d.clone() })
        {
            let mut g = self.lock();
            let since = g.invalidated.get(&key.unit).copied().unwrap_or(0).max(g.cleared);
            if since <= generation {
                if g.entries.len() >= self.max {
                    let ttl = self.ttl;
                    g.entries.retain(|_, (_, at)| at.elapsed() < ttl);
                    if g.entries.len() >= self.max {
                        g.entries.clear();
                    }
                }
                g.entries.insert(key.clone(), (encoded, Instant::now()));
            }
        }
        result.map(|d| Answer::Fetched(Box::new(d)))
    }

    /// Drops what is cached or under way for these units.
    pub fn invalidate(&self, units: &[String]) {
        let mut g = self.lock();
        g.generation += 1;
        let generation = g.generation;
        for u in units {
            g.invalidated.insert(u.clone(), generation);
        }
        g.entries.retain(|k, _| !units.contains(&k.unit));
        g.inflight.retain(|k, _| !units.contains(&k.unit));
    }

    /// Drops everything (the change feed was interrupted: changes may be missed).
    pub fn clear(&self) {
        let mut g = self.lock();
        g.generation += 1;
        g.cleared = g.generation;
        g.invalidated.clear();
        g.entries.clear();
        g.inflight.clear();
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use super::*;

    impl Answer {
        fn is_cached(&self) -> bool {
            matches!(self, Self::Cached(_))
        }

        /// The message itself (decoding a cached one).
        fn into_dashboard(self) -> pb::Dashboard {
            match self {
                Self::Fetched(d) => *d,
                Self::Cached(e) => e.decode().unwrap(),
            }
        }
    }

    fn key(unit: &str) -> Key {
        Key {
            scope: "Manager:region-a".into(),
            unit: unit.into(),
            period: "2024-01".into(),
            plan: String::new(),
            as_of: String::new(),
            metric: 0,
            wanted: Wanted::ALL,
        }
    }

    fn counting(calls: &Arc<AtomicUsize>, sections_ok: bool) -> BoxFuture<'static, Result<pb::Dashboard, Status>> {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            let state = if sections_ok { pb::SectionState::Ok } else { pb::SectionState::Unavailable };
            Ok(pb::Dashboard {
                unit: "units/region-a".into(),
                sections: vec![pb::SectionStatus {
                    section: "review".into(),
                    state: state as i32,
                    detail: String::new(),
                }],
                ..Default::default()
            })
        }
        .boxed()
    }

    #[tokio::test]
    async fn concurrent_identical_calls_share_one_fetch() {
        let cache = Arc::new(DashboardCache::new(Duration::from_secs(5), 100));
        let calls = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (cache, calls) = (cache.clone(), calls.clone());
                tokio::spawn(async move { cache.get_or_fetch(key("units/region-a"), || counting(&calls, true)).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let again = cache.get_or_fetch(key("units/region-a"), || counting(&calls, true)).await.unwrap();
        assert!(again.is_cached());
        let d = again.into_dashboard();
        assert!(d.from_cache, "the stored bytes say so too");
        assert_eq!(d.unit, "units/region-a");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn invalidation_and_partial_answers_are_not_served_again() {
        let cache = DashboardCache::new(Duration::from_secs(5), 100);
        let calls = Arc::new(AtomicUsize::new(0));
        cache.get_or_fetch(key("units/region-a"), || counting(&calls, true)).await.unwrap();
        cache.invalidate(&["units/rep-1".into(), "units/region-a".into()]);
        let fresh = cache.get_or_fetch(key("units/region-a"), || counting(&calls, true)).await.unwrap();
        assert!(!fresh.is_cached());
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        cache.get_or_fetch(key("units/region-b"), || counting(&calls, false)).await.unwrap();
        let again = cache.get_or_fetch(key("units/region-b"), || counting(&calls, false)).await.unwrap();
        assert!(!again.is_cached(), "a dashboard with a section missing is fetched again");

        // Invalidating one unit leaves the others' fetches storable.
        cache.get_or_fetch(key("units/region-c"), || counting(&calls, true)).await.unwrap();
        cache.invalidate(&["units/rep-9".into()]);
        assert!(cache.get_or_fetch(key("units/region-c"), || counting(&calls, true)).await.unwrap().is_cached());
    }

    #[tokio::test]
    async fn a_fetch_overtaken_by_an_invalidation_is_not_stored() {
        let cache = Arc::new(DashboardCache::new(Duration::from_secs(5), 100));
        let calls = Arc::new(AtomicUsize::new(0));
        let task = {
            let (cache, calls) = (cache.clone(), calls.clone());
            tokio::spawn(async move { cache.get_or_fetch(key("units/region-a"), || counting(&calls, true)).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        cache.invalidate(&["units/region-a".into()]);
        task.await.unwrap().unwrap();
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn a_zero_ttl_still_coalesces_but_never_stores() {
        let cache = DashboardCache::new(Duration::ZERO, 100);
        let calls = Arc::new(AtomicUsize::new(0));
        cache.get_or_fetch(key("units/region-a"), || counting(&calls, true)).await.unwrap();
        assert!(cache.is_empty());
    }
}
