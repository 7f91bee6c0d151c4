//! The one worker per deployment — on the replica holding the lease —
//! that follows tracking's alert feed into the outbox, writes due
//! reminders, and sends what is due. A replica that dies stops renewing; within `HOLD` another takes
//! over, frees its predecessor's claims and resumes from the stored feed
//! position: nothing read is lost, nothing is read twice.

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use attain_kit::{ServiceResult, service_account::ServiceAccount};
use futures::StreamExt;
use tokio::task::JoinSet;

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
/// Endpoints sent to at once.
const PARALLEL: usize = 32;

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

    /// Sends what is due, each endpoint in a task of its own (at most
    /// `PARALLEL` at once): a receiver taking its time holds up its own
    /// rows only. Never returns; dropping it (the lease lost) stops the
    /// tasks, whose claims the next leader frees.
    async fn send(&self) {
        let mut running: JoinSet<ServiceResult<usize>> = JoinSet::new();
        let mut busy: HashMap<tokio::task::Id, String> = HashMap::new();
        let mut measured = tokio::time::Instant::now() - MEASURE;
        loop {
            while let Some(done) = running.try_join_next_with_id() {
                finished(&mut busy, done);
            }
            let mut started = 0;
            if busy.len() < PARALLEL {
                let skip: HashSet<String> = busy.values().cloned().collect();
                match self.app.due_by_endpoint(&skip).await {
                    Ok(groups) => {
                        for rows in groups.into_iter().take(PARALLEL - busy.len()) {
                            let Some(key) = rows.first().map(|d| d.endpoint_key.clone()) else { continue };
                            let app = self.app.clone();
                            let task = running.spawn(async move { app.send_endpoint(rows).await });
                            busy.insert(task.id(), key);
                            started += 1;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "reading due deliveries failed; trying again");
                        tokio::time::sleep(RENEW).await;
                    }
                }
            }
            if started == 0 {
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    Some(done) = running.join_next_with_id() => finished(&mut busy, done),
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

/// An endpoint's task ended: it is free again.
fn finished(
    busy: &mut HashMap<tokio::task::Id, String>,
    done: Result<(tokio::task::Id, ServiceResult<usize>), tokio::task::JoinError>,
) {
    match done {
        Ok((id, result)) => {
            busy.remove(&id);
            if let Err(e) = result {
                tracing::warn!(error = %e, "sending failed; its rows are tried again");
            }
        }
        Err(e) => {
            busy.remove(&e.id());
            tracing::warn!(error = %e, "a sending task stopped");
        }
    }
}
