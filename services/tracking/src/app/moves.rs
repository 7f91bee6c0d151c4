//! Following moves made after the fact. A unit moved from a day books its
//! records from that day on under its new place (DESIGN §3 Org tree: deals
//! count where the rep sat on their close date, whenever entered); records
//! entered before the move was recorded sit under the old place, so one
//! replica — the holder of the `unit-moves` lease — reads the target
//! service's moves in commit order from the position stored with the lease
//! and re-books each in one transaction with the position: the deals,
//! shares, logs, opportunities and first customers dated from the day are
//! rebased, and their roll-ups taken out of the old place and added to the
//! new (every unit both paths share nets to nothing); the unit's live alerts
//! are filed under its new place. Nothing is deleted:
//! the records keep every figure; only where they count moves.

use std::time::Duration;

use attain_kit::{ServiceResult, id::Id, service_account::ServiceAccount, upstream::Forwarded};
use attain_target_client::UnitMove;
use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::{App, evaluator::refused};
use crate::storage::{self, alerts, customer_firsts, daily_logs, deals, leases, loss_rollups, opportunities, rollups};

/// The lease's name (and its position's: the last move re-booked).
pub const LEASE: &str = "unit-moves";
const HOLD: Duration = Duration::from_secs(5);
/// Moves are rare: a look a second is enough.
const POLL: Duration = Duration::from_secs(1);
const BATCH: i32 = 20;
const STEP_DOWN: Duration = Duration::from_secs(30);
/// Records read per page while re-booking.
const PAGE: u64 = 1000;

pub struct MoveFollower {
    app: App,
    account: ServiceAccount,
    replica: String,
}

impl MoveFollower {
    pub fn spawn(app: App, account: ServiceAccount) -> tokio::task::JoinHandle<()> {
        let replica = Id::generate().as_str().to_owned();
        tokio::spawn(Self { app, account, replica }.run())
    }

    async fn run(self) {
        let mut more = false;
        loop {
            if !more {
                tokio::time::sleep(POLL).await;
            }
            more = false;
            if !self.app.lead(LEASE, &self.replica, HOLD).await {
                continue;
            }
            let fwd = match self.account.forwarded() {
                Ok(f) => f,
                Err(e) => {
                    tracing::error!(error = %e, "the service account's token could not be made; moves wait");
                    continue;
                }
            };
            match self.follow(&fwd).await {
                Ok(m) => more = m,
                Err(e) if refused(&e) => {
                    tracing::error!(error = %e, "the service account is refused reading moves; giving up the lease");
                    if let Err(e) = leases::release(&self.app.db, LEASE, &self.replica).await {
                        tracing::warn!(error = %e, "could not give the moves lease up; it runs out in 5 s");
                    }
                    tokio::time::sleep(STEP_DOWN).await;
                }
                Err(e) => tracing::warn!(error = %e, "re-booking after a move failed; retrying"),
            }
        }
    }

    /// Re-books the next moves, each with the position in one transaction:
    /// whether more may be waiting.
    async fn follow(&self, fwd: &Forwarded) -> ServiceResult<bool> {
        let db = &self.app.db;
        let from = leases::position(db, LEASE).await?.unwrap_or(0);
        let moves = self.app.target.moves_after(fwd, from, BATCH).await?;
        for m in &moves {
            let txn = db.begin().await?;
            rebook(&txn, m).await?;
            if !leases::advance(&txn, LEASE, &self.replica, m.sequence).await? {
                // Another replica leads now: the move is its to re-book.
                return Ok(false);
            }
            txn.commit().await?;
            tracing::info!(unit = %m.unit.as_str(), from = %m.from, "records re-booked after a move");
            // Its alerts are of its days where it sits now.
            self.app.evaluate_moved_unit(fwd, &m.unit).await?;
            self.app.after_ingestion();
            // Whose reports are whose moved too.
            self.app.compliance.written();
        }
        Ok(moves.len() == usize::try_from(BATCH).unwrap_or(0))
    }
}

/// The last day records are read up to (any later date is a typo the
/// services refuse anyway).
fn far() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// Books what `m`'s unit recorded from its day on under its new place.
pub async fn rebook(db: &impl ConnectionTrait, m: &UnitMove) -> ServiceResult<()> {
    let (old, new) = (m.old_path.as_slice(), m.new_path.as_slice());
    let dates = (m.from, far());
    // Deals: their roll-ups leave the old place and join the new.
    let mut figures = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let window = deals::Window { dates: Some(dates), ..deals::Window::default() };
        let page = deals::list(db, &[old.to_vec()], window, after.as_deref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.as_str().to_owned());
        for d in &page {
            figures.push(d.undone()?);
            figures.push(d.rebased(old, new));
        }
    }
    if !figures.is_empty() {
        rollups::add(db, &figures).await?;
    }
    for placed in [deals::PLACED, deals::SHARES_PLACED, customer_firsts::PLACED] {
        storage::rebase(db, placed, (old, new), Some(m.from)).await?;
    }
    // Losses in logs and opportunities: taken from every unit on the old
    // path, given to every unit on the new.
    let mut after: Option<String> = None;
    loop {
        let page = daily_logs::list_logs(db, &[old.to_vec()], Some(dates), after.as_deref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.as_str().to_owned());
        for l in &page {
            shift_losses(db, &l.booked_path, (old, new), l.losses()).await?;
        }
    }
    storage::rebase(db, daily_logs::PLACED, (old, new), Some(m.from)).await?;
    let mut after: Option<String> = None;
    loop {
        let page = opportunities::list_opportunities(db, &[old.to_vec()], Some(dates), after.as_deref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.as_str().to_owned());
        for o in &page {
            shift_losses(db, &o.booked_path, (old, new), o.loss().into_iter().collect()).await?;
        }
    }
    storage::rebase(db, opportunities::PLACED, (old, new), Some(m.from)).await?;
    // Live alerts only: one settled before stays with the place it was
    // settled in (its text holds that stay's figures).
    storage::rebase(db, alerts::PLACED, (old, new), None).await?;
    // Both places' figures changed (their targets, if no record moved):
    // the feed says so, so cached dashboards and alerts follow.
    rollups::record_change(db, vec![attain_kit::id::encode_path(old), attain_kit::id::encode_path(new)]).await?;
    Ok(())
}

async fn shift_losses(
    db: &impl ConnectionTrait,
    path: &[Id],
    (old, new): (&[Id], &[Id]),
    losses: Vec<crate::domain::activity::Loss>,
) -> ServiceResult<()> {
    let Some(rest) = path.strip_prefix(old) else { return Ok(()) };
    if losses.is_empty() {
        return Ok(());
    }
    let undone = losses.iter().cloned().map(|l| l.undo()).collect::<Result<Vec<_>, _>>()?;
    loss_rollups::add_losses(db, path, undone).await?;
    let moved: Vec<Id> = new.iter().chain(rest).cloned().collect();
    loss_rollups::add_losses(db, &moved, losses).await
}
