//! Due reminders: on the worker, every minute, the reports of each
//! reminding subscription's subtree that are still due and whose deadline
//! is within its lead time become one delivery each (once per report: the
//! dedupe key). Read from tracking's and review's obligations — computed
//! where the reports live — for the current and the previous month (a
//! review of last month is due on the 5th).

use std::collections::BTreeMap;

use attain_core::period::Period;
use attain_kit::{ServiceResult, upstream::Forwarded};
use chrono::{Datelike, Utc};

use super::App;
use crate::clients::ObligationStatus;
use crate::{
    domain::{delivery::Delivery, event::Event, message::remind, reminder::Reminder},
    storage::{deliveries, subscriptions},
};

impl App {
    /// One pass: how many reminders were written.
    pub async fn remind_due(&self, fwd: &Forwarded) -> ServiceResult<u64> {
        let subs: Vec<_> =
            subscriptions::active(&self.db).await?.into_iter().filter(|s| s.subscription.remind_minutes > 0).collect();
        if subs.is_empty() {
            return Ok(0);
        }
        let now = self.now();
        let today = now.with_timezone(&self.delivering.org_zone).date_naive();
        let this = Period::month_of(today);
        let last = Period::month_of(today.with_day(1).and_then(|d| d.pred_opt()).unwrap_or(today));
        // One read per subtree, however many subscribe to it.
        let mut by_unit: BTreeMap<&str, Vec<Reminder>> = BTreeMap::new();
        for s in &subs {
            let unit = s.subscription.unit.as_str();
            if by_unit.contains_key(unit) {
                continue;
            }
            let mut due = Vec::new();
            for period in [&last, &this] {
                match self.up.reports(fwd, &s.subscription.unit, &period.expression, ObligationStatus::Due).await {
                    Ok(d) => due.extend(d),
                    // One subtree target or tracking will not answer for
                    // (a unit gone: the scope sweep suspends it) must not
                    // stop everyone else's reminders.
                    Err(e) => tracing::warn!(unit, error = %e, "reports coming due could not be read"),
                }
            }
            by_unit.insert(unit, due);
        }
        let real = Utc::now();
        let mut rows = Vec::new();
        for stored in &subs {
            let s = &stored.subscription;
            let wait = s.schedule.next_send(now) - now;
            for r in by_unit.get(s.unit.as_str()).into_iter().flatten().filter(|r| s.reminds(r.due, now)) {
                let (event, text) = (Event::Reminder(r.clone()), remind(r, self.voice(s)).markdown());
                let key = event.dedupe_key();
                rows.push(Delivery::owed(s, (event, key, text), (real, real + wait), self.endpoint_key(stored)));
            }
        }
        deliveries::insert_new(&self.db, &rows).await
    }
}
