//! Applying an approved adjustment: every target it moves takes its new
//! amount from the effective day (a unit's first target in a published
//! plan is created, starting that day), then each split it touched has its
//! coverage recomputed.

use attain_kit::{ServiceError, ServiceResult, auth::Identity, money::Amount};
use chrono::{NaiveDate, Utc};
use sea_orm::ConnectionTrait;

use super::rules::{Moves, require_spreadable};
use crate::{
    domain::{
        allocation::Coverage,
        org::Id,
        plan::Plan,
        target::{Adjustment, Change},
    },
    storage::{targets, targets::Why},
};

pub(super) async fn apply(
    db: &impl ConnectionTrait,
    who: &Identity,
    plan: &Plan,
    (adj, day): (&Adjustment, NaiveDate),
    moves: Moves,
) -> ServiceResult<()> {
    require_spreadable(plan, &moves, day)?;
    let now = Utc::now();
    let reason = format!("{}: {}", adj.reason.as_str(), adj.justification);
    for (i, (t, after)) in moves.changes.iter().enumerate() {
        let change = if i == 0 { Change::Adjusted } else { Change::Redistributed };
        if t.version == 0 {
            // Not in the plan as published: it carries nothing before today's change.
            let mut n = t.clone();
            n.amount = *after;
            n.original_amount = Amount::ZERO;
            n.start = Some(t.start.map_or(day, |s| s.max(day)));
            if !adj.ramp.is_empty() {
                n.phasing = Some(super::ramped(plan, &n, adj.ramp.clone())?);
            }
            n.version = 1;
            n.create_time = now;
            n.update_time = now;
            let why = Why { change: Change::Created, actor: &who.person, reason: &reason, adjustment: Some(&adj.id) };
            targets::insert(db, &n, &why).await?;
            continue;
        }
        let mut n = t.clone();
        n.change_from(*after, day, Some(&adj.id), now)?;
        n.version = t.version + 1;
        n.update_time = now;
        let why = Why { change, actor: &who.person, reason: &reason, adjustment: Some(&adj.id) };
        if !targets::update(db, t, &n, &why).await? {
            return Err(ServiceError::stale_etag(&t.resource_name()));
        }
    }
    let mut done: Vec<&Id> = Vec::new();
    for id in &moves.refresh {
        if !done.contains(&id) {
            done.push(id);
            refresh_coverage(db, plan, id, who).await?;
        }
    }
    Ok(())
}

/// Recomputes what a target's split covers from its children as they are.
async fn refresh_coverage(db: &impl ConnectionTrait, plan: &Plan, id: &Id, who: &Identity) -> ServiceResult<()> {
    let Some(t) = targets::get(db, &plan.id, id).await? else { return Ok(()) };
    let children = targets::children(db, &plan.id, id).await?;
    // A target not split has no coverage to keep.
    if children.is_empty() {
        return Ok(());
    }
    let allocated = children.iter().try_fold(Amount::ZERO, |acc, c| acc.checked_add(c.amount))?;
    let coverage = Coverage::of(t.amount, allocated)?;
    if t.coverage == Some(coverage) {
        return Ok(());
    }
    let mut next = t.clone();
    next.coverage = Some(coverage);
    next.version = t.version + 1;
    next.update_time = Utc::now();
    let why = Why {
        change: Change::Redistributed,
        actor: &who.person,
        reason: "coverage after an adjustment below",
        adjustment: None,
    };
    if !targets::update(db, &t, &next, &why).await? {
        return Err(ServiceError::stale_etag(&t.resource_name()));
    }
    Ok(())
}
