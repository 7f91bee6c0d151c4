//! Telling tracking which monthly reviews are closed (`RecordReviewClose`,
//! as the review service's account): tracking's overdue-report alerts judge
//! a region's missed review from these without calling review. Every
//! minute (and right after a close on this replica) the closes of the last
//! two months not yet acknowledged are sent; a report sent twice changes
//! nothing, so every replica may send, and a tracking outage only delays.

use std::{collections::HashSet, time::Duration};

use attain_kit::{id::Id, service_account::ServiceAccount};

use super::App;
use crate::storage::reviews as store;

const EVERY: Duration = Duration::from_secs(60);
/// How far back closes are sent again after a restart.
const WINDOW_DAYS: i64 = 62;

pub fn spawn(app: App, account: ServiceAccount) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut sent: HashSet<(Id, String)> = HashSet::new();
        loop {
            if let Err(e) = report(&app, &account, &mut sent).await {
                tracing::warn!(error = %e, "could not tell tracking of closed monthly reviews; trying again");
            }
            tokio::select! {
                () = tokio::time::sleep(EVERY) => {}
                () = app.closed.notified() => {}
            }
        }
    })
}

async fn report(app: &App, account: &ServiceAccount, sent: &mut HashSet<(Id, String)>) -> anyhow::Result<()> {
    let since = app.now() - chrono::Duration::days(WINDOW_DAYS);
    let closes = store::closed_monthly_since(&app.db, since).await?;
    let fwd = account.forwarded()?;
    for (unit, month, at) in closes {
        let key = (unit.clone(), month.clone());
        if sent.contains(&key) {
            continue;
        }
        match app.up.record_review_close(&fwd, &unit, &month, at).await {
            Ok(_) => {}
            // Tracking refuses this one for good (a unit gone): not again.
            Err(attain_kit::ServiceError::Upstream(s)) if s.code() != tonic::Code::Unauthenticated => {
                tracing::warn!(unit = %unit.as_str(), month, error = %s.message(), "tracking refused a review close");
            }
            Err(e) => return Err(e.into()),
        }
        sent.insert(key);
    }
    Ok(())
}
