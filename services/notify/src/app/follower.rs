//! Reading tracking's alert feed into the outbox: for each alert change,
//! one delivery per subscription that wants it (and whose owner may still
//! see the unit), written in the same transaction that moves the stored
//! feed position past the change. A crash before the commit reads the
//! change again; after it, never — and the dedupe key makes a change read
//! twice (a reopened watch sending the open alerts) one delivery.

use attain_kit::{ServiceError, ServiceResult, id::Id};
use chrono::Utc;

use super::{App, identity_of};
use crate::{
    clients::FeedItem,
    domain::{
        alert::AlertEvent,
        delivery::{Delivery, State},
        event::Event,
        message::render,
        subscription::Subscription,
    },
    storage::{deliveries, leases, live_alerts, subscriptions},
};

/// The lease of the replica that follows and sends, and its feed position.
pub const LEASE: &str = "notify-worker";

/// What consuming a feed message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    /// Stored (with so many new deliveries).
    Stored(u64),
    /// The feed asks for a fresh start (reopen with the open alerts).
    Refresh,
    /// The lease went elsewhere: nothing was stored.
    LostLease,
}

/// Identifies an endpoint without naming it: what rate limits count by.
pub(crate) fn endpoint_key(address: &str) -> String {
    hex::encode(&ring::digest::digest(&ring::digest::SHA256, address.as_bytes()).as_ref()[..12])
}

impl App {
    /// The deliveries one change owes, as of now.
    pub(crate) fn deliveries_for(&self, e: &AlertEvent, subs: &[subscriptions::Stored]) -> Vec<Delivery> {
        let Some(change) = e.change() else { return Vec::new() };
        let (real, business) = (Utc::now(), self.now());
        subs.iter()
            .filter(|s| s.subscription.wants(e))
            .filter(|s| identity_of(&s.subscription.owner).is_some_and(|who| who.can_read(&e.unit_path)))
            .map(|stored| {
                let s: &Subscription = &stored.subscription;
                // The business clock says how long to wait (quiet hours,
                // the digest hour); stored times are real.
                let wait = s.schedule.next_send(business) - business;
                let voice = self.voice(s);
                let address = self.sealer.open(s.id.as_str(), &stored.sealed).map(|c| c.url).unwrap_or_default();
                Delivery {
                    id: Id::generate(),
                    subscription: s.id.clone(),
                    owner: s.owner.person.clone(),
                    event: Event::Alert(e.clone()),
                    dedupe_key: e.dedupe_key(),
                    severity: e.severity,
                    text: render(e, change, voice).text,
                    digest: s.schedule.digest_hour.is_some(),
                    state: State::Pending,
                    attempts: 0,
                    last_error: String::new(),
                    create_time: real,
                    next_attempt: real + wait.max(chrono::Duration::zero()),
                    sent_time: None,
                    endpoint_key: endpoint_key(if address.is_empty() { s.id.as_str() } else { &address }),
                }
            })
            .collect()
    }

    /// Stores what one feed message owes and the position after it, if
    /// this replica still holds the lease.
    pub async fn consume(&self, item: &FeedItem, replica: &str) -> ServiceResult<Consumed> {
        let (event, token) = match item {
            FeedItem::Change(e, t) => (Some(e.as_ref()), t),
            FeedItem::Skip(t) => (None, t),
            FeedItem::Refresh(t) => {
                return if leases::advance(&self.db, LEASE, replica, t).await? {
                    Ok(Consumed::Refresh)
                } else {
                    Ok(Consumed::LostLease)
                };
            }
        };
        let rows = match event {
            Some(e) => self.deliveries_for(e, &subscriptions::active(&self.db).await?),
            None => Vec::new(),
        };
        let txn = attain_kit::db::begin_write(&self.db).await.map_err(ServiceError::from)?;
        let added = deliveries::insert_new(&txn, &rows).await?;
        if let Some(e) = event {
            live_alerts::record(&txn, e).await?;
        }
        if !leases::advance(&txn, LEASE, replica, token).await? {
            return Ok(Consumed::LostLease);
        }
        txn.commit().await?;
        self.metrics.read_changes(u64::from(event.is_some()));
        Ok(Consumed::Stored(added))
    }
}
