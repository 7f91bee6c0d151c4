//! Reading tracking's alert feed into the outbox: for each alert change,
//! one delivery per subscription that wants it (and whose owner may still
//! see the unit), written in the same transaction that moves the stored
//! feed position past the change. A crash before the commit reads the
//! change again; after it, never — and the dedupe key makes a change read
//! twice (a reopened watch sending the open alerts) one delivery.

use std::collections::HashMap;

use attain_kit::{ServiceError, ServiceResult};
use chrono::Utc;

use super::{App, identity_of};
use crate::{
    clients::FeedItem,
    domain::{
        alert::AlertEvent,
        delivery::Delivery,
        event::Event,
        message::render,
        subscription::{Subscription, Told},
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

impl App {
    /// The deliveries one change owes, as of now, given what each
    /// subscription was told of the alert before.
    pub(crate) fn deliveries_for(
        &self,
        e: &AlertEvent,
        subs: &[subscriptions::Stored],
        told: &HashMap<String, Told>,
    ) -> Vec<Delivery> {
        let (real, business) = (Utc::now(), self.now());
        subs.iter()
            .filter(|s| identity_of(&s.subscription.owner).is_some_and(|who| who.can_read(&e.unit_path)))
            .filter_map(|stored| {
                let s: &Subscription = &stored.subscription;
                let (change, key) = s.tell(e, told.get(s.id.as_str()))?;
                let mut e = e.clone();
                e.told_as = Some(change);
                // The business clock says how long to wait (quiet hours,
                // the digest hour); stored times are real.
                let wait = s.schedule.next_send(business) - business;
                let text = render(&e, change, self.voice(s)).markdown();
                Some(Delivery::owed(s, (Event::Alert(e), key, text), (real, real + wait), self.endpoint_key(stored)))
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
            Some(e) => {
                let told = deliveries::told(&self.db, &e.alert).await?;
                self.deliveries_for(e, &subscriptions::active(&self.db).await?, &told)
            }
            None => Vec::new(),
        };
        let txn = attain_kit::db::begin_write(&self.db).await.map_err(ServiceError::from)?;
        // Read before the transaction: a subscription deleted since owes
        // nothing (its delete cancelled what was waiting, and would miss
        // rows written after it: a pending delivery of a deleted one).
        let ids: Vec<&str> = rows.iter().map(|d| d.subscription.as_str()).collect();
        let active = subscriptions::lock_active(&txn, &ids).await?;
        let rows: Vec<_> = rows.into_iter().filter(|d| active.contains(d.subscription.as_str())).collect();
        let added = deliveries::insert_new(&txn, &rows).await?;
        for d in &rows {
            deliveries::supersede(&txn, d.subscription.as_str(), &d.event.name(), &d.dedupe_key).await?;
        }
        if let Some(e) = event.filter(|e| e.state == crate::domain::alert::State::Resolved) {
            deliveries::supersede_unresolved(&txn, &e.alert).await?;
        }
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
