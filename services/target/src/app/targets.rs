//! Reading targets: one, a page of a plan's (below a unit), and a target's
//! revisions — each as it stands or as it stood at an instant.

use std::collections::HashMap;

use attain_kit::{ServiceError, ServiceResult, auth::Identity, money::Amount, paging::PageRequest};
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;

use super::scope::{readable_former, readable_subtree, visible_plan, visible_target, visible_unit_or_former};
use crate::{
    domain::{
        org::{Id, UnitId},
        plan::Plan,
        target::{Revision, Target},
    },
    storage::targets,
};

/// Targets as they stood at an instant: their amount then; those created
/// later are dropped.
fn apply_as_of(list: &mut Vec<Target>, as_of: &HashMap<String, Amount>, at: DateTime<Utc>) {
    list.retain_mut(|t| match as_of.get(t.id.as_str()) {
        Some(a) => {
            t.rewind(*a, at);
            true
        }
        None => false,
    });
}

pub async fn get(
    db: &impl ConnectionTrait,
    who: &Identity,
    (plan_id, target_id, name): (&Id, &Id, &str),
    as_of: Option<DateTime<Utc>>,
) -> ServiceResult<(Plan, Target)> {
    let (plan, target, _) = visible_target(db, who, (plan_id, target_id), name).await?;
    let mut list = vec![target];
    if let Some(at) = as_of {
        apply_as_of(&mut list, &targets::amounts_as_of(db, &plan.id, at).await?, at);
    }
    let t = list.pop().ok_or_else(|| ServiceError::not_found("target (at that instant)", name))?;
    Ok((plan, t))
}

/// A page of a plan's targets: all (an ADMIN), or those at and below a unit
/// the caller may read (its own unit when none is named).
pub async fn list(
    db: &impl ConnectionTrait,
    who: &Identity,
    plan_id: &Id,
    unit: Option<UnitId>,
    page: &PageRequest,
    as_of: Option<DateTime<Utc>>,
) -> ServiceResult<(Plan, Vec<Target>, String)> {
    let plan = visible_plan(db, who, plan_id).await?;
    let root = match (unit, who.is_admin()) {
        (None, true) => None,
        (None, false) => Some(UnitId::parse("unit", &who.unit)?),
        (Some(u), _) => Some(u),
    };
    let mut former = Vec::new();
    let ids = match root {
        Some(id) => {
            // With the units that sat below it before a move: the unit's
            // figures count them for their days there.
            let root = visible_unit_or_former(db, who, &id).await?;
            if who.can_read(&root.path()) {
                let mut below = readable_subtree(db, who, &root).await?;
                former = readable_former(db, who, &root).await?;
                below.extend(former.iter().cloned());
                Some(below.into_iter().map(|u| u.id).collect::<Vec<_>>())
            } else {
                // A unit that left the caller's scope: its own target, as
                // it stood when it left.
                former = vec![root.clone()];
                Some(vec![root.id])
            }
        }
        None => None,
    };
    let mut rows = targets::list(db, &plan.id, ids.as_deref(), page.after.as_deref(), page.fetch_limit()).await?;
    // The page ends where the stored rows do; as-of drops come after.
    let next_page_token = page.finish(&mut rows, |t| t.id.as_str().to_owned());
    // A former member is shown as it stood when it left the caller's scope.
    for t in &mut rows {
        if let Some(u) = former.iter().find(|u| u.id == t.unit && !who.can_read(&u.path())) {
            let left = u
                .former
                .iter()
                .rev()
                .find(|p| {
                    let path: Vec<&str> = p.ancestors.iter().map(UnitId::as_str).chain([u.id.as_str()]).collect();
                    who.can_read(&path)
                })
                .and_then(|p| p.until.succ_opt());
            if let Some(left) = left {
                t.as_it_left(left)?;
            }
        }
    }
    if let Some(at) = as_of {
        apply_as_of(&mut rows, &targets::amounts_as_of(db, &plan.id, at).await?, at);
    }
    Ok((plan, rows, next_page_token))
}

pub async fn revisions(
    db: &impl ConnectionTrait,
    who: &Identity,
    (plan_id, target_id, name): (&Id, &Id, &str),
    (after, limit): (Option<i64>, u64),
) -> ServiceResult<(Plan, Vec<Revision>)> {
    let (plan, target, _) = visible_target(db, who, (plan_id, target_id), name).await?;
    let rows = targets::revisions(db, &plan.id, &target.id, after, limit).await?;
    Ok((plan, rows))
}
