//! The one worker per deployment — on the replica holding the lease —
//! that follows tracking's alert feed into the outbox, writes due
//! reminders, and sends what is due. A replica that dies stops renewing; within `HOLD` another takes
//! over, frees its predecessor's claims and resumes from the stored feed
//! position: nothing read is lost, nothing is read twice.

use std::time::Duration;

use attain_kit::{ServiceResult, service_account::ServiceAccount};
use futures::StreamExt;

use super::{
    App,
    follower::{Consumed, LEASE},
};
use crate::{
    clients::FeedItem,
    storage::{deliveries, leases},
};

const HOLD: Duration = Duration::from_secs(5);
const RENEW: Duration = Duration::from_secs(1);
/// How often the sender looks for due rows.
const POLL: Duration = Duration::from_millis(200);
const RECONNECT: Duration = Duration::from_secs(1);
const MEASURE: Duration = Duration::from_secs(5);

pub struct Worker {
    app: App,
    account: ServiceAccount,
    replica: String,
}

impl Worker {
    pub fn spawn(app: App, account: ServiceAccount) -> tokio::task::JoinHandle<()> {
        let replica = attain_kit::id::Id::generate().as_str().to_owned();
        tokio::spawn(Self { app, account, replica }.run())
    }

    async fn run(self) {
        loop {
            if !self.app.lead(LEASE, &self.replica, HOLD).await {
                self.app.metrics.backlog(0, 0, 0);
                tokio::time::sleep(RENEW).await;
                continue;
            }
            tracing::info!(replica = %self.replica, "leading notify: following alerts and sending");
            match deliveries::release_claims(&self.app.db).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(rows = n, "freed the claims of the previous leader"),
                Err(e) => tracing::warn!(error = %e, "could not free old claims; they run out on their own"),
            }
            tokio::select! {
                () = self.keep_lease() => {}
                () = self.follow() => {}
                () = self.send() => {}
                () = self.remind() => {}
            }
            tracing::info!(replica = %self.replica, "no longer leading notify");
        }
    }

    /// Returns when the lease is lost.
    async fn keep_lease(&self) {
        loop {
            tokio::time::sleep(RENEW).await;
            if !self.app.lead(LEASE, &self.replica, HOLD).await {
                return;
            }
        }
    }

    /// Returns only when the lease is lost; reconnects otherwise.
    async fn follow(&self) {
        let mut fresh = false;
        loop {
            match self.follow_once(&mut fresh).await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "the alert feed broke; reconnecting"),
            }
            tokio::time::sleep(RECONNECT).await;
        }
    }

    /// Follows until the stream ends (Ok(false)) or the lease is lost
    /// (Ok(true)).
    async fn follow_once(&self, fresh: &mut bool) -> ServiceResult<bool> {
        let fwd = self.account.forwarded().map_err(attain_kit::ServiceError::Internal)?;
        let position = if *fresh { None } else { leases::position(&self.app.db, LEASE).await? };
        *fresh = false;
        let mut feed = Box::pin(self.app.up.alert_feed(&fwd, position.as_deref()).await?);
        // Whatever ends this pass (the stream, an error, the lease) ends
        // the following.
        struct Following<'a>(&'a crate::app::metrics::NotifyMetrics);
        impl Drop for Following<'_> {
            fn drop(&mut self) {
                self.0.following(false);
            }
        }
        self.app.metrics.following(true);
        let _following = Following(&self.app.metrics);
        while let Some(item) = feed.next().await {
            let mut item = item?;
            if let FeedItem::Change(e, _) = &mut item {
                self.app.enrich(&fwd, e).await;
            }
            match self.app.consume(&item, &self.replica).await? {
                Consumed::Stored(_) => {}
                Consumed::Refresh => {
                    *fresh = true;
                    return Ok(false);
                }
                Consumed::LostLease => return Ok(true),
            }
        }
        Ok(false)
    }

    /// Every pass interval, subscriptions checked against target's tree, then
    /// the reports coming due (never returns).
    async fn remind(&self) {
        loop {
            match self.account.forwarded() {
                Ok(fwd) => {
                    match self.app.sweep_scope(&fwd).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(suspended = n, "subscriptions out of their owners' scope"),
                        Err(e) => tracing::warn!(error = %e, "scope sweep failed; next time"),
                    }
                    match self.app.remind_due(&fwd).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(reminders = n, "reports coming due"),
                        Err(e) => tracing::warn!(error = %e, "reminders failed; next time"),
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the service account's token could not be made"),
            }
            tokio::select! {
                () = tokio::time::sleep(self.app.delivering.pass_interval) => {}
                () = self.app.remind_now.notified() => {}
            }
        }
    }

    async fn send(&self) {
        let mut measured = tokio::time::Instant::now() - MEASURE;
        loop {
            match self.app.send_due().await {
                Ok(0) => tokio::time::sleep(POLL).await,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "sending failed; trying again");
                    tokio::time::sleep(RENEW).await;
                }
            }
            if measured.elapsed() >= MEASURE {
                measured = tokio::time::Instant::now();
                if let Err(e) = self.app.measure_backlog(chrono::Utc::now()).await {
                    tracing::warn!(error = %e, "could not measure the backlog");
                }
            }
        }
    }
}
