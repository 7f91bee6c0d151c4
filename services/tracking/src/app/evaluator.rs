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

use super::App;
use crate::storage::{leases, rollups};

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

pub struct Evaluator {
    app: App,
    account: ServiceAccount,
    schedule: Option<Duration>,
    replica: String,
}

impl Evaluator {
    /// Starts evaluating (when leading) on the current runtime; `schedule`
    /// is the interval of full passes (none: only what moved).
    pub fn spawn(app: App, account: ServiceAccount, schedule: Option<Duration>) -> tokio::task::JoinHandle<()> {
        let replica = attain_kit::id::Id::generate().as_str().to_owned();
        tokio::spawn(Self { app, account, schedule, replica }.run())
    }

    async fn run(self) {
        let mut leading = false;
        let mut checked: Option<Instant> = None;
        // Where this leader is in the feed (read when it starts leading).
        let mut position: Option<i64> = None;
        let mut last_full = Instant::now();
        let mut wake = self.app.feeds.subscribe();
        let mut again = false;
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
            match self.follow(&fwd, &mut position).await {
                Ok(Some(true)) => again = true,
                Ok(Some(false)) => {}
                Ok(None) => {
                    // The lease moved elsewhere mid-pass.
                    leading = false;
                    position = None;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "alert evaluation of moved units failed; retrying");
                    position = None;
                    tokio::time::sleep(RENEW).await;
                }
            }
            if let Some(every) = self.schedule
                && last_full.elapsed() >= every
            {
                last_full = Instant::now();
                match self.app.evaluate_all(&fwd).await {
                    Ok(n) => tracing::info!(changed = n, "scheduled alert evaluation"),
                    Err(e) => tracing::warn!(error = %e, "scheduled alert evaluation failed"),
                }
            }
        }
    }

    /// Evaluates the next batch of roll-up changes and stores the position
    /// after it: whether more may be waiting, or None when the lease was
    /// lost (the position is then the new leader's).
    async fn follow(&self, fwd: &Forwarded, position: &mut Option<i64>) -> ServiceResult<Option<bool>> {
        let db = &self.app.db;
        let from = match *position {
            Some(p) => p,
            // Set by the migration that made it (the feed's end then).
            None => leases::position(db, LEASE).await?.unwrap_or(0),
        };
        *position = Some(from);
        let changes = rollups::changes_after(db, None, from, BATCH).await?;
        let Some(last) = changes.last().map(|c| c.id) else { return Ok(Some(false)) };
        let more = changes.len() as u64 == BATCH;
        tracing::debug!(from, to = last, changes = changes.len(), "evaluating moved units");
        let paths: BTreeSet<Vec<attain_kit::id::Id>> = changes.into_iter().flat_map(|c| c.paths).collect();
        if let Err(e) = self.app.evaluate_moved(fwd, paths.into_iter().collect()).await {
            if retry_later(&e) {
                return Err(e);
            }
            // The data's fault (no plan, a unit gone): retrying would not
            // help and would hold every later change back.
            tracing::warn!(error = %e, from, to = last, "alert evaluation of moved units skipped");
        }
        if !leases::advance(db, LEASE, &self.replica, last).await? {
            return Ok(None);
        }
        *position = Some(last);
        Ok(Some(more))
    }
}

/// Whether an evaluation failure is passing (an upstream or the database
/// away, an expired token) rather than about the data.
fn retry_later(e: &ServiceError) -> bool {
    use tonic::Code;
    match e {
        ServiceError::Unavailable(_)
        | ServiceError::DeadlineExceeded(_)
        | ServiceError::Aborted(_)
        | ServiceError::ResourceExhausted(_)
        | ServiceError::Unauthenticated(_)
        | ServiceError::Internal(_) => true,
        ServiceError::Upstream(s) => {
            matches!(s.code(), Code::Unauthenticated | Code::ResourceExhausted | Code::Internal | Code::Unknown)
        }
        _ => false,
    }
}
