//! Keeps the dashboard cache honest: watches tracking's roll-up change
//! feed with alert changes included (as the gateway's service account) and
//! drops the dashboards of every unit whose figures or open alerts moved,
//! as each change commits. If the feed breaks, the whole cache goes
//! (changes may have been missed) and the watch reconnects. And follows
//! the target service's data version: a write there (a target adjusted, a
//! unit moved or renamed, a plan published) drops every dashboard within
//! `TARGET_POLL` — a move changes who may read what, so neither figures nor
//! scope outlive it by more than that.

use std::{sync::Arc, time::Duration};

use attain_kit::service_account::ServiceAccount;
use attain_proto::attain::{
    target::v1::{GetDataVersionRequest, target_service_client::TargetServiceClient},
    tracking::v1::{WatchRollupChangesRequest, tracking_service_client::TrackingServiceClient},
};
use tonic::transport::Channel;

use crate::cache::DashboardCache;

const RECONNECT: Duration = Duration::from_secs(1);
/// How often the target service's data version is read.
pub const TARGET_POLL: Duration = Duration::from_millis(100);

/// Drops every cached dashboard when the target service's data version
/// moves (or cannot be read: a write may have gone unseen).
pub fn follow_target(
    target: Channel,
    account: ServiceAccount,
    cache: Arc<DashboardCache>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut client = TargetServiceClient::new(target);
        let mut known: Option<i64> = None;
        let mut failing = false;
        let mut tick = tokio::time::interval(TARGET_POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let mut req = tonic::Request::new(GetDataVersionRequest {});
            req.set_timeout(Duration::from_secs(1));
            if let Ok(Ok(v)) = account.bearer().map(|b| b.parse()) {
                req.metadata_mut().insert("authorization", v);
            }
            match client.get_data_version(req).await {
                Ok(r) => {
                    let v = r.into_inner().version;
                    if known.is_some_and(|k| k != v) {
                        cache.clear();
                    }
                    known = Some(v);
                    failing = false;
                }
                Err(e) => {
                    // Said once per outage (a target without the method
                    // mid-rollout, a refused service account): meanwhile
                    // no dashboard outlives the next poll.
                    if !failing {
                        tracing::warn!(
                            error = %e,
                            "cannot read the target service's data version; cached dashboards last {} ms until it answers",
                            TARGET_POLL.as_millis()
                        );
                    }
                    failing = true;
                    known = None;
                    cache.clear();
                }
            }
        }
    })
}

pub fn spawn(tracking: Channel, account: ServiceAccount, cache: Arc<DashboardCache>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut client = TrackingServiceClient::new(tracking);
        loop {
            let mut req = tonic::Request::new(WatchRollupChangesRequest {
                unit: String::new(),
                include_alerts: true,
                // From now: the cache is cleared whenever the watch opens.
                resume_token: String::new(),
            });
            // A fresh token each time the watch (re)opens: a minted one is
            // short-lived, and only the opening call is checked.
            if let Ok(Ok(v)) = account.bearer().map(|b| b.parse()) {
                req.metadata_mut().insert("authorization", v);
            }
            match client.watch_rollup_changes(req).await {
                Ok(stream) => {
                    // Whatever changed while we were not watching is unknown.
                    cache.clear();
                    let mut stream = stream.into_inner();
                    loop {
                        match stream.message().await {
                            Ok(Some(change)) if change.refresh => cache.clear(),
                            Ok(Some(change)) => cache.invalidate(&change.units),
                            Ok(None) => break,
                            Err(e) => {
                                tracing::warn!(error = %e, "roll-up change feed broke; reconnecting");
                                break;
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch roll-up changes; dashboards live only for their TTL")
                }
            }
            cache.clear();
            tokio::time::sleep(RECONNECT).await;
        }
    })
}
