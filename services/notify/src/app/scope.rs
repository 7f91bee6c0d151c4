//! Scope kept after subscribing. A subscription stores its owner's role
//! and unit as their token said; it stops (SUSPENDED, with why, its unsent
//! rows cancelled) when
//! - the owner comes back with another role or unit (checked on each of
//!   their calls), or
//! - target's tree says the owner no longer stands where they did: their
//!   unit ended or is gone, or the subscribed unit moved out of their
//!   subtree (checked by the worker every minute). A unit's `manager` field
//!   is not consulted: a unit may have two managers and it names one.
//!
//! Each delivery is also checked against the alert's own path when it is
//! written (`follower`).

use std::collections::BTreeMap;

use attain_kit::{ServiceError, ServiceResult, auth::Identity, id::Id, upstream::Forwarded};
use attain_target_client::UnitInfo;

use super::{App, identity_of, owner_of};
use crate::{
    domain::subscription::Subscription,
    storage::{deliveries, subscriptions as store},
};

impl App {
    /// Stops the caller's subscriptions made under another scope than the
    /// one they sign in with now.
    pub(crate) async fn reconcile(&self, who: &Identity) -> ServiceResult<()> {
        let now = owner_of(who);
        for s in store::active_of_other_scope(&self.db, &now).await? {
            let reason = s.subscription.owner.changed_to(&now);
            self.suspend(&s.subscription, &reason).await?;
        }
        Ok(())
    }

    async fn suspend(&self, s: &Subscription, reason: &str) -> ServiceResult<()> {
        let txn = attain_kit::db::begin_write(&self.db).await?;
        if store::suspend(&txn, s.id.as_str(), reason).await? {
            deliveries::cancel_waiting(&txn, s.id.as_str()).await?;
        }
        txn.commit().await?;
        tracing::info!(subscription = s.id.as_str(), reason, "subscription suspended");
        Ok(())
    }

    /// One pass over the active subscriptions against target's tree as
    /// it is now: how many were suspended.
    pub async fn sweep_scope(&self, fwd: &Forwarded) -> ServiceResult<u64> {
        let subs = store::active(&self.db).await?;
        let mut units: BTreeMap<String, Option<UnitInfo>> = BTreeMap::new();
        for s in &subs {
            let s = &s.subscription;
            let owner_unit = (!s.owner.unit.is_empty()).then_some(s.owner.unit.as_str());
            for id in owner_unit.into_iter().chain([s.unit.as_str()]) {
                if units.contains_key(id) {
                    continue;
                }
                let found = match self.up.unit_info(fwd, &Id::stored("unit id", id)?).await {
                    Ok(u) => Some(u),
                    Err(ServiceError::NotFound { .. }) => None,
                    // Target unreachable: nothing is judged this time.
                    Err(e) => return Err(e),
                };
                units.insert(id.to_owned(), found);
            }
        }
        let today = self.now().with_timezone(&self.delivering.org_zone).date_naive();
        let mut n = 0;
        for stored in &subs {
            let s = &stored.subscription;
            if let Some(reason) = out_of_scope(s, &units, today) {
                self.suspend(s, &reason).await?;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Why a subscription's owner no longer reads its unit, by target's tree
/// (None: they still do, or target could not say).
fn out_of_scope(
    s: &Subscription,
    units: &BTreeMap<String, Option<UnitInfo>>,
    today: chrono::NaiveDate,
) -> Option<String> {
    let o = &s.owner;
    let Some(who) = identity_of(o) else {
        return Some(format!("its owner's role {:?} is not one this service knows", o.role));
    };
    if who.is_admin() {
        return None;
    }
    if !o.unit.is_empty() {
        match units.get(&o.unit) {
            Some(None) => return Some(format!("units/{} no longer exists", o.unit)),
            Some(Some(u)) if u.end_date.is_some_and(|e| e < today) => {
                return Some(format!("units/{} ended on {}", o.unit, u.end_date.unwrap_or(today)));
            }
            _ => {}
        }
    }
    match units.get(s.unit.as_str()) {
        Some(None) => Some(format!("units/{} no longer exists", s.unit.as_str())),
        Some(Some(u)) if !who.can_read(&u.path_strings()) => Some(format!(
            "units/{} is no longer within what {} may read as {} of units/{}",
            s.unit.as_str(),
            o.person,
            o.role,
            o.unit
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use attain_target_client::UnitKind;

    use super::*;
    use crate::domain::subscription::Owner;

    fn id(s: &str) -> Id {
        Id::parse("id", s).unwrap()
    }

    fn unit(path: &[&str], end: Option<&str>) -> Option<UnitInfo> {
        let path: Vec<Id> = path.iter().map(|p| id(p)).collect();
        Some(UnitInfo {
            id: path.last().cloned().unwrap(),
            parent: None,
            is_rep: false,
            kind: UnitKind::Region,
            display_name: String::new(),
            path,
            start_date: None,
            end_date: end.map(|e| e.parse().unwrap()),
            employee_code: None,
            former: Vec::new(),
        })
    }

    fn sub(role: &str, owner_unit: &str, unit: &str) -> Subscription {
        let owner = Owner { person: "wang".into(), role: role.into(), unit: owner_unit.into() };
        Subscription { owner, unit: id(unit), ..crate::domain::subscription::example() }
    }

    #[test]
    fn target_s_tree_as_it_is_now_decides() {
        let today: chrono::NaiveDate = "2024-01-16".parse().unwrap();
        let mut units = BTreeMap::new();
        units.insert("region-a".to_owned(), unit(&["acme", "region-a"], None));
        units.insert("rep-1".to_owned(), unit(&["acme", "region-a", "rep-1"], None));
        let s = sub("MANAGER", "region-a", "rep-1");
        assert_eq!(out_of_scope(&s, &units, today), None, "still below the manager's unit");
        // The rep moved to region B.
        units.insert("rep-1".to_owned(), unit(&["acme", "region-b", "rep-1"], None));
        let why = out_of_scope(&s, &units, today).unwrap();
        assert!(why.contains("units/rep-1 is no longer within"), "{why}");
        // The manager's own unit closed, or is gone.
        units.insert("rep-1".to_owned(), unit(&["acme", "region-a", "rep-1"], None));
        units.insert("region-a".to_owned(), unit(&["acme", "region-a"], Some("2024-01-10")));
        assert!(out_of_scope(&s, &units, today).unwrap().contains("ended on 2024-01-10"));
        units.insert("region-a".to_owned(), None);
        assert!(out_of_scope(&s, &units, today).unwrap().contains("no longer exists"));
        // An admin reads everything; a role this build does not know, nothing.
        assert_eq!(out_of_scope(&sub("ADMIN", "", "rep-1"), &units, today), None);
        assert!(out_of_scope(&sub("AUDITOR", "region-a", "rep-1"), &units, today).is_some());
    }
}
