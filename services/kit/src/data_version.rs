//! Which version of an upstream's data a request reads at.
//!
//! The rule (ARCHITECTURE.md, Invariants): a request reads at a version
//! fetched after it arrived, so every write committed before it is in what
//! it reads, on any replica. `ReadsAt` holds a request's version; `Fetches`
//! lets the requests of one process share the fetching: one fetch runs at a
//! time, and every request that arrives while it runs waits for the next
//! one, which started after all of them arrived. A process then has at most
//! one fetch in flight whatever its rate of requests (an uncached dashboard
//! asked the target service for its version four times, a call and a
//! statement each; two at 16 in flight with this); alone, a request fetches
//! at once as before.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use futures::future::{BoxFuture, FutureExt, Shared};

/// A fetch of the version: `None` when the upstream did not say.
pub type Fetch = BoxFuture<'static, Option<i64>>;

/// The version of an upstream's data a request reads at: fetched at the
/// request's first read that needs it, by a fetch that started after the
/// request arrived, and shared by the request's clones. A clone kept
/// longer than `max_age` (a background job's) fetches again.
#[derive(Debug, Clone)]
pub struct ReadsAt(Arc<tokio::sync::Mutex<Held>>);

#[derive(Debug)]
struct Held {
    /// The version and when the fetch that read it started.
    version: Option<(i64, Instant)>,
    /// A fetch must start at or after this to serve the request: when it
    /// arrived, or when it last wrote upstream.
    not_before: Instant,
}

impl Default for ReadsAt {
    /// Made when the request arrives (in its handler, a little after the
    /// bytes did: later is stricter).
    fn default() -> Self {
        Self(Arc::new(tokio::sync::Mutex::new(Held { version: None, not_before: Instant::now() })))
    }
}

impl ReadsAt {
    /// The version, from `fetches` unless one younger than `max_age` is
    /// held; concurrent reads of one request wait for one answer.
    pub async fn get_or_fetch(&self, max_age: Duration, fetches: &Fetches, start: impl Fn() -> Fetch) -> Option<i64> {
        let mut held = self.0.lock().await;
        if let Some((v, at)) = held.version
            && at.elapsed() <= max_age
        {
            return Some(v);
        }
        // Held too long: the next version must be newer than the wait.
        let not_before = match held.version {
            Some(_) => Instant::now(),
            None => held.not_before,
        };
        let (v, at) = fetches.after(not_before, start).await?;
        held.version = Some((v, at));
        Some(v)
    }

    /// Forgets the version (the request wrote upstream: its next read must
    /// see the write, so its version is fetched after now).
    pub async fn forget(&self) {
        let mut held = self.0.lock().await;
        held.version = None;
        held.not_before = Instant::now();
    }
}

/// One process's fetches of one upstream's version (see the module's doc).
#[derive(Debug, Default)]
pub struct Fetches {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The newest answer: when its fetch started, and what it said.
    done: Option<(Instant, i64)>,
    /// The fetch under way and when it started.
    running: Option<(Instant, Shared<Fetch>)>,
}

enum Step {
    /// A fetch that started after the request arrived: its answer serves.
    Join(Instant, Shared<Fetch>),
    /// One that started before: wait for it to end, then look again.
    Behind(Instant, Shared<Fetch>),
}

impl Fetches {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A version read by a fetch that started at or after `not_before`,
    /// and when that fetch started. `None` when the fetch serving it got
    /// no answer (the request then reads without a version: every read
    /// asks upstream).
    pub async fn after(&self, not_before: Instant, start: impl Fn() -> Fetch) -> Option<(i64, Instant)> {
        loop {
            let step = {
                let mut s = self.lock();
                if let Some((at, v)) = s.done
                    && at >= not_before
                {
                    return Some((v, at));
                }
                match &s.running {
                    Some((at, f)) if *at >= not_before => Step::Join(*at, f.clone()),
                    Some((at, f)) => Step::Behind(*at, f.clone()),
                    None => {
                        let (at, f) = (Instant::now(), start().shared());
                        s.running = Some((at, f.clone()));
                        Step::Join(at, f)
                    }
                }
            };
            // Whoever sees a fetch end records it (its starter may have
            // gone away), so the next round can begin.
            match step {
                Step::Join(at, f) => {
                    let v = f.await;
                    self.ended(at, v);
                    return v.map(|v| (v, at));
                }
                Step::Behind(at, f) => {
                    let v = f.await;
                    self.ended(at, v);
                }
            }
        }
    }

    fn ended(&self, at: Instant, v: Option<i64>) {
        let mut s = self.lock();
        if s.running.as_ref().is_some_and(|(started, _)| *started == at) {
            s.running = None;
        }
        if let Some(v) = v
            && s.done.is_none_or(|(d, _)| d < at)
        {
            s.done = Some((at, v));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};

    use super::*;

    /// Fetches that take `ms` and answer 1, 2, 3, … in the order they start.
    fn counter(ms: u64) -> (Arc<AtomicI64>, impl Fn() -> Fetch + Clone + Send + Sync + 'static) {
        let n = Arc::new(AtomicI64::new(0));
        let started = n.clone();
        (n, move || {
            let v = started.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Some(v)
            }
            .boxed()
        })
    }

    /// A request arriving now, reading in a task of its own.
    fn arrive(
        fetches: &Arc<Fetches>,
        start: &(impl Fn() -> Fetch + Clone + Send + Sync + 'static),
    ) -> tokio::task::JoinHandle<Option<i64>> {
        let (fetches, start, reads) = (fetches.clone(), start.clone(), ReadsAt::default());
        tokio::spawn(async move { reads.get_or_fetch(Duration::from_secs(1), &fetches, start).await })
    }

    #[tokio::test]
    async fn a_request_never_reads_at_a_fetch_that_started_before_it_arrived() {
        let fetches = Arc::new(Fetches::default());
        let (n, start) = counter(50);
        let first = arrive(&fetches, &start);
        tokio::time::sleep(Duration::from_millis(10)).await;
        // Arrives while fetch 1 runs: a write committed just before it may
        // be missing from fetch 1, so it reads at fetch 2.
        let second = ReadsAt::default().get_or_fetch(Duration::from_secs(1), &fetches, start.clone()).await;
        assert_eq!(first.await.unwrap(), Some(1));
        assert_eq!(second, Some(2));
        // Arrives after both ended: a third fetch.
        assert_eq!(ReadsAt::default().get_or_fetch(Duration::from_secs(1), &fetches, start).await, Some(3));
        assert_eq!(n.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn requests_arriving_during_a_fetch_share_the_next_one() {
        let fetches = Arc::new(Fetches::default());
        let (n, start) = counter(30);
        let lead = arrive(&fetches, &start);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let waiting: Vec<_> = (0..20).map(|_| arrive(&fetches, &start)).collect();
        assert_eq!(lead.await.unwrap(), Some(1));
        for w in waiting {
            assert_eq!(w.await.unwrap(), Some(2));
        }
        assert_eq!(n.load(Ordering::SeqCst), 2, "twenty-one requests, two fetches");
    }

    #[tokio::test]
    async fn a_request_that_wrote_reads_at_a_fetch_after_its_write() {
        let fetches = Fetches::default();
        let (_, start) = counter(1);
        let reads = ReadsAt::default();
        assert_eq!(reads.get_or_fetch(Duration::from_secs(1), &fetches, start.clone()).await, Some(1));
        assert_eq!(reads.get_or_fetch(Duration::from_secs(1), &fetches, start.clone()).await, Some(1));
        reads.forget().await;
        assert_eq!(reads.get_or_fetch(Duration::from_secs(1), &fetches, start.clone()).await, Some(2));
        // Held past its age: fetched again, after now.
        assert_eq!(reads.get_or_fetch(Duration::ZERO, &fetches, start).await, Some(3));
    }

    #[tokio::test]
    async fn a_starter_that_goes_away_leaves_the_fetch_to_the_others() {
        let fetches = Arc::new(Fetches::default());
        let (n, start) = counter(30);
        let lead = arrive(&fetches, &start);
        tokio::time::sleep(Duration::from_millis(5)).await;
        lead.abort();
        // Behind the abandoned fetch, then the next one.
        let late = tokio::time::timeout(
            Duration::from_secs(2),
            ReadsAt::default().get_or_fetch(Duration::from_secs(1), &fetches, start),
        )
        .await;
        assert_eq!(late.ok().flatten(), Some(2));
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn no_answer_reads_without_a_version_and_the_next_request_asks_again() {
        let fetches = Fetches::default();
        let failing = || async { None }.boxed();
        assert_eq!(ReadsAt::default().get_or_fetch(Duration::from_secs(1), &fetches, failing).await, None);
        let (_, start) = counter(1);
        assert_eq!(ReadsAt::default().get_or_fetch(Duration::from_secs(1), &fetches, start).await, Some(1));
    }
}
