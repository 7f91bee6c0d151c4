//! The alert evaluator: one per deployment — the replica holding its lease
//! — following the roll-up feed from the position stored with the lease
//! and evaluating the units that moved (as the service account, so every
//! unit is seen), and running the scheduled pass over everything. Writes
//! only wake it: they return once their deals are durable. A replica that
//! dies stops renewing; within `HOLD` another takes the lease and resumes
//! from the stored position, so nothing committed is skipped (a batch
//! evaluated twice writes nothing the second time: passes are idempotent).

use std::{collections::BTreeSet, time::Duration};

use attain_kit::{ServiceError, ServiceResult, service_account::ServiceAccount, upstream::Forwarded};
use tokio::time::Instant;
use tracing::Instrument;

use super::App;
use crate::storage::{
    feeds::{self, Feed},
    leases, rollups,
};

/// The lease's name (and its feed position's).
pub const LEASE: &str = "alert-evaluator";
/// How long a lease lasts unrenewed: a dead leader's successor takes over
/// within it.
const HOLD: Duration = Duration::from_secs(5);
/// How often the lease is renewed, or asked for by the others.
const RENEW: Duration = Duration::from_secs(1);
/// How often the leader looks at the feed when no commit woke it (a
/// notification lost in a reconnect; SQLite writers in another process).
const POLL: Duration = Duration::from_millis(200);
/// Roll-up changes evaluated per pass.
const BATCH: u64 = 500;
/// How long a pass waits for a unit move the target service recorded to
/// be re-booked here (the move follower's second) before it evaluates
/// anyway — a follower that cannot re-book must not stop alerts.
const MOVE_WAIT: Duration = Duration::from_secs(30);
/// How long a replica whose service account is refused stays out of the
/// running (another, rightly configured, leads meanwhile).
const STEP_DOWN: Duration = Duration::from_secs(30);

/// How often the leader prunes, and how much at most each time.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
const PRUNE_BATCH: u64 = 1_000;
const PRUNE_BATCHES: usize = 20;

/// How long what is pruned is kept (None: forever).
#[derive(Debug, Clone, Copy, Default)]
pub struct Retention {
    pub feeds: Option<chrono::Duration>,
    pub request_ids: Option<chrono::Duration>,
}

impl Retention {
    pub fn from_settings(jobs: &attain_kit::configuration::JobSettings) -> Self {
        let hours = |h: u32| (h > 0).then(|| chrono::Duration::hours(i64::from(h)));
        Self {
            feeds: hours(jobs.feed_retention_hours),
            request_ids: hours(jobs.request_id_retention_days.saturating_mul(24)),
        }
    }
}

pub struct Evaluator {
    app: App,
    account: ServiceAccount,
    schedule: Option<Duration>,
    retention: Retention,
    replica: String,
}

impl Evaluator {
    /// Starts evaluating (when leading) on the current runtime; `schedule`
    /// is the interval of full passes (none: only what moved).
    pub fn spawn(
        app: App,
        account: ServiceAccount,
        schedule: Option<Duration>,
        retention: Retention,
    ) -> tokio::task::JoinHandle<()> {
        let replica = attain_kit::id::Id::generate().as_str().to_owned();
        tokio::spawn(Self { app, account, schedule, retention, replica }.run())
    }

    async fn run(self) {
        let mut leading = false;
        let mut checked: Option<Instant> = None;
        // Where this leader is in the feed (read when it starts leading).
        let mut position: Option<i64> = None;
        let mut last_full = Instant::now();
        let mut last_prune: Option<Instant> = None;
        let mut wake = self.app.feeds.subscribe();
        let mut again = false;
        // Since when passes have waited for a move's re-booking.
        let mut waiting: Option<Instant> = None;
        loop {
            if !again {
                tokio::select! {
                    _ = wake.changed() => {}
                    () = tokio::time::sleep(POLL) => {}
                }
            }
            again = false;
            if checked.is_none_or(|t| t.elapsed() >= RENEW) {
                let was = leading;
                leading = self.app.lead(LEASE, &self.replica, HOLD).await;
                checked = Some(Instant::now());
                if leading != was {
                    tracing::info!(replica = %self.replica, leading, "alert evaluator leadership changed");
                    position = None;
                }
            }
            if !leading {
                // A replica not leading reads no feed: its last lag would
                // otherwise stand (and page) however it stopped leading.
                self.app.metrics.feed_lag(Feed::RollupChanges.key(), LEASE, 0);
                continue;
            }
            let fwd = match self.account.forwarded() {
                Ok(f) => f,
                Err(e) => {
                    tracing::error!(error = %e, "the service account's token could not be made; evaluation waits");
                    tokio::time::sleep(RENEW).await;
                    continue;
                }
            };
            match self.follow(&fwd, &mut position, &mut waiting).await {
                Ok(Some(true)) => again = true,
                Ok(Some(false)) => {}
                Ok(None) => {
                    // The lease moved elsewhere mid-pass: the rest is the
                    // new leader's.
                    leading = false;
                    position = None;
                    continue;
                }
                Err(e) if refused(&e) => {
                    self.step_down(&e).await;
                    leading = false;
                    position = None;
                    checked = None;
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "alert evaluation of moved units failed; retrying");
                    position = None;
                    tokio::time::sleep(RENEW).await;
                }
            }
            if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(Instant::now());
                match self.prune(position).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "pruned feeds and request ids past their retention"),
                    Err(e) => tracing::warn!(error = %e, "pruning failed; next time"),
                }
            }
            if let Some(every) = self.schedule
                && last_full.elapsed() >= every
                && !self.waits_for_moves(&fwd, &mut waiting).await
            {
                last_full = Instant::now();
                match self
                    .app
                    .evaluate_all(&fwd)
                    .instrument(tracing::info_span!("scheduled alert evaluation", attain.service = "tracking"))
                    .await
                {
                    Ok(n) => tracing::info!(changed = n, "scheduled alert evaluation"),
                    Err(e) if refused(&e) => {
                        self.step_down(&e).await;
                        leading = false;
                        position = None;
                        checked = None;
                    }
                    Err(e) => tracing::warn!(error = %e, "scheduled alert evaluation failed"),
                }
            }
        }
    }

    /// Evaluates the next batch of roll-up changes and stores the position
    /// after it: whether more may be waiting, or None when the lease was
    /// lost (the position is then the new leader's).
    async fn follow(
        &self,
        fwd: &Forwarded,
        position: &mut Option<i64>,
        waiting: &mut Option<Instant>,
    ) -> ServiceResult<Option<bool>> {
        let db = &self.app.db;
        let from = match *position {
            Some(p) => p,
            // Set by the migration that made it (the feed's end then).
            None => leases::position(db, LEASE).await?.unwrap_or(0),
        };
        *position = Some(from);
        let changes = rollups::changes_after(db, None, from, BATCH).await?;
        let metrics = &self.app.metrics;
        let Some(last) = changes.last().map(|c| c.id) else {
            metrics.feed_lag(Feed::RollupChanges.key(), LEASE, 0);
            return Ok(Some(false));
        };
        if self.waits_for_moves(fwd, waiting).await {
            // Evaluated once the move is re-booked (its feed row wakes us).
            return Ok(Some(false));
        }
        let more = changes.len() as u64 == BATCH;
        tracing::debug!(from, to = last, changes = changes.len(), "evaluating moved units");
        let committed: Vec<_> = changes.iter().map(|c| c.at).collect();
        // One trace per pass that found work: its statements and calls.
        let span = tracing::info_span!(
            "alert evaluation",
            attain.service = "tracking",
            from,
            to = last,
            changes = changes.len()
        );
        let paths: BTreeSet<Vec<attain_kit::id::Id>> = changes.into_iter().flat_map(|c| c.paths).collect();
        let started = Instant::now();
        // Errors about the data are logged and passed inside; what comes
        // back is passing (retried) or a refused account (step down).
        let advanced = async {
            self.app.evaluate_moved(fwd, paths.into_iter().collect()).await?;
            leases::advance(db, LEASE, &self.replica, last).await
        }
        .instrument(span)
        .await?;
        if !advanced {
            return Ok(None);
        }
        *position = Some(last);
        metrics.alert_pass(started.elapsed());
        committed.into_iter().for_each(|at| metrics.evaluated(at));
        let behind = if more { feeds::extent(db, Feed::RollupChanges).await?.last - last } else { 0 };
        metrics.feed_lag(Feed::RollupChanges.key(), LEASE, behind);
        Ok(Some(more))
    }
}

impl Evaluator {
    /// Whether a pass should wait: a unit move the target service recorded
    /// is not re-booked here yet, so a pass would read the new targets and
    /// paths against figures still booked the old way (as tried from
    /// outside: a region's alert was resolved by its pre-move actual
    /// against its post-move milestone). Up to `MOVE_WAIT`; a failed look
    /// does not hold passes up.
    async fn waits_for_moves(&self, fwd: &Forwarded, waiting: &mut Option<Instant>) -> bool {
        let pending = async {
            let rebooked = leases::position(&self.app.db, super::moves::LEASE).await?.unwrap_or(0);
            Ok::<_, ServiceError>(!self.app.target.moves_after(fwd, rebooked, 1).await?.is_empty())
        };
        match pending.await {
            Ok(true) => {
                let since = *waiting.get_or_insert_with(Instant::now);
                if since.elapsed() < MOVE_WAIT {
                    return true;
                }
                tracing::warn!(
                    waited_s = since.elapsed().as_secs(),
                    "a unit move is still not re-booked; alerts are evaluated meanwhile"
                );
                false
            }
            Ok(false) => {
                *waiting = None;
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not tell whether unit moves wait for re-booking");
                false
            }
        }
    }

    /// The service account was refused (a bad token, one scoped below the
    /// whole organisation): gives the lease up and stays out for a while,
    /// so a rightly configured replica leads; nothing is skipped meanwhile.
    async fn step_down(&self, e: &ServiceError) {
        tracing::error!(
            error = %e,
            "the alert evaluator's service account is refused (jobs.*: an ADMIN account for the whole \
             organisation is needed); giving up the lease for {} s",
            STEP_DOWN.as_secs()
        );
        if let Err(e) = leases::release(&self.app.db, LEASE, &self.replica).await {
            tracing::warn!(error = %e, "could not give the alert evaluator's lease up; it runs out in 5 s");
        }
        tokio::time::sleep(STEP_DOWN).await;
    }

    /// Deletes feed rows and request ids past their retention, a batch at
    /// a time and a bounded number of batches per call (what is left waits
    /// for the next); roll-up changes only up to where evaluation has read.
    async fn prune(&self, evaluated: Option<i64>) -> ServiceResult<u64> {
        let db = &self.app.db;
        let now = chrono::Utc::now();
        let mut gone = 0;
        // A retention reaching before the calendar's start keeps everything.
        let before = |keep: chrono::Duration| now.checked_sub_signed(keep);
        if let Some(cutoff) = self.retention.feeds.and_then(before) {
            for feed in Feed::ALL {
                let through = match feed {
                    Feed::RollupChanges => match evaluated {
                        Some(p) => p,
                        None => continue,
                    },
                    Feed::AlertEvents => i64::MAX,
                };
                for _ in 0..PRUNE_BATCHES {
                    let n = feeds::prune(db, feed, (cutoff, through), PRUNE_BATCH).await?;
                    gone += n;
                    if n < PRUNE_BATCH {
                        break;
                    }
                }
            }
        }
        if let Some(cutoff) = self.retention.request_ids.and_then(before) {
            for _ in 0..PRUNE_BATCHES {
                let n = attain_kit::idempotency::prune(db, cutoff, PRUNE_BATCH).await?;
                gone += n;
                if n < PRUNE_BATCH {
                    break;
                }
            }
        }
        Ok(gone)
    }
}

/// Whether the service account itself was refused: not the data's fault,
/// and not this replica's to retry.
pub(super) fn refused(e: &ServiceError) -> bool {
    use tonic::Code;
    match e {
        ServiceError::Unauthenticated(_) | ServiceError::PermissionDenied(_) => true,
        ServiceError::Upstream(s) => matches!(s.code(), Code::Unauthenticated | Code::PermissionDenied),
        _ => false,
    }
}
