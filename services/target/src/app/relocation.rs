//! What a dated move does to targets: in each published plan whose year
//! holds the day, the moved unit's topmost targets leave their parents
//! from that day and join the new parent's matching targets, taking along
//! what they have left (`TargetTree::leaving`). Every target on the old
//! branch up to the common ancestor gives that up from the day, every one
//! on the new branch takes it on, so each parent's remainder and the
//! common ancestor's figures stay exactly as they were, the days before
//! the move keep their figures, and both parents' totals change.

use std::collections::HashSet;

use attain_kit::{ServiceError, ServiceResult, auth::Identity, money::Amount};
use chrono::{Datelike, NaiveDate, Utc};
use sea_orm::ConnectionTrait;

use crate::{
    domain::{
        org::{Unit, UnitId},
        plan::{Plan, PlanState},
        rollup::{Phaser, TargetTree},
        target::{Change, Move, Target},
    },
    storage::{plans, targets, targets::Why},
};

/// Moves the targets of `unit` (placed as `old_path`, root first, the unit
/// last) under `new_parent` from `day`.
pub(super) async fn targets_follow(
    db: &impl ConnectionTrait,
    who: &Identity,
    (unit, old_path): (&Unit, &[UnitId]),
    new_parent: &Unit,
    day: NaiveDate,
) -> ServiceResult<()> {
    let new_path: Vec<&UnitId> = new_parent.ancestors.iter().chain(std::iter::once(&new_parent.id)).collect();
    // Units on both branches: their targets keep their figures.
    let common: HashSet<&UnitId> = old_path.iter().filter(|u| new_path.contains(u)).collect();
    for plan in plans_holding(db, day).await? {
        let mut phaser = Phaser::new(&plan)?;
        let tree = TargetTree::new(targets::with_descendants(db, &plan.id, std::slice::from_ref(&unit.id)).await?);
        let tops: Vec<Target> = targets::of_units(db, &plan.id, std::slice::from_ref(&unit.id))
            .await?
            .into_iter()
            .filter(|t| t.parent.is_some())
            .collect();
        for top in tops {
            let Some(old_parent) = top.parent.clone() else { continue };
            let Some(parent) = targets::get(db, &plan.id, &old_parent).await? else { continue };
            if parent.unit == top.unit {
                continue; // a slice of the unit's own target: it moves with it
            }
            let joined = targets::find(db, &plan.id, &new_parent.id, &parent.dimensions).await?.ok_or_else(|| {
                ServiceError::precondition(
                    "NEW_PARENT_HAS_NO_TARGET",
                    format!(
                        "{} has no target{} in {} to take {}'s; give it one first",
                        new_parent.id.resource_name(),
                        slice_words(&parent),
                        plan.resource_name(),
                        top.resource_name()
                    ),
                )
            })?;
            let Some(i) = tree.for_target(&top.id).first().copied() else { continue };
            let pieces = tree.leaving(&mut phaser, i, day)?;
            let reason =
                format!("{} moved under {} from {day}", unit.id.resource_name(), new_parent.id.resource_name());
            for (target, sign) in [(parent, -1), (joined.clone(), 1)] {
                for t in branch(db, &plan, target, &common).await? {
                    let mut n = t.clone();
                    for (from, amount) in &pieces {
                        let change = if sign < 0 { Amount::ZERO.checked_sub(*amount)? } else { *amount };
                        n.change_from(n.amount.checked_add(change)?, *from, None, Utc::now())?;
                    }
                    save(db, who, (&t, n), &reason).await?;
                }
            }
            let mut n = top.clone();
            let carried = pieces.first().map(|(_, a)| *a).unwrap_or_default();
            n.moves.push(Move { from: day, parent_before: Some(old_parent.clone()), carried, recorded: Utc::now() });
            n.parent = Some(joined.id.clone());
            save(db, who, (&top, n), &reason).await?;
            targets::link(db, &plan.id, &old_parent, &top.id).await?;
        }
    }
    Ok(())
}

/// Published plans whose year holds `day`.
async fn plans_holding(db: &impl ConnectionTrait, day: NaiveDate) -> ServiceResult<Vec<Plan>> {
    let mut out = Vec::new();
    for year in [day.year() - 1, day.year()] {
        for p in plans::list(db, Some(year), None, 1000).await? {
            if p.state == PlanState::Published && p.fiscal_year_period()?.contains(day) {
                out.push(p);
            }
        }
    }
    Ok(out)
}

/// `from` and its parents up to (not including) the first whose unit is
/// on both branches.
async fn branch(
    db: &impl ConnectionTrait,
    plan: &Plan,
    from: Target,
    common: &HashSet<&UnitId>,
) -> ServiceResult<Vec<Target>> {
    let mut out = Vec::new();
    let mut next = Some(from);
    while let Some(t) = next.take() {
        if common.contains(&t.unit) {
            break;
        }
        next = match &t.parent {
            Some(p) => targets::get(db, &plan.id, p).await?,
            None => None,
        };
        out.push(t);
    }
    Ok(out)
}

async fn save(
    db: &impl ConnectionTrait,
    who: &Identity,
    (before, mut after): (&Target, Target),
    reason: &str,
) -> ServiceResult<()> {
    after.version = before.version + 1;
    after.update_time = Utc::now();
    let why = Why { change: Change::Moved, actor: &who.person, reason, adjustment: None };
    if !targets::update(db, before, &after, &why).await? {
        return Err(ServiceError::stale_etag(&before.resource_name()));
    }
    Ok(())
}

fn slice_words(t: &Target) -> String {
    if t.dimensions.is_all() {
        String::new()
    } else {
        format!(" for product line {:?} / customer type {:?}", t.dimensions.product_line, t.dimensions.customer_type)
    }
}
