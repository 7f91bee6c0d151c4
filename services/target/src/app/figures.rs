//! The period figures other services read: a subtree's targets for a
//! period, and many units' expected-to-date at a day. Both roll up split
//! trees (`domain::rollup`), read in one query per tree level; cost grows
//! with units and days, never with deals.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use attain_kit::{ServiceResult, auth::Identity, money::Amount, period::Period};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;

use super::{
    figures_cache::{FiguresCache, RolledKey, RolledPeriod},
    scope::{readable_subtree, visible_plan, visible_unit, visible_units_over},
};
use crate::{
    domain::{
        milestones::{Milestone, Milestones},
        org::{Id, UnitId},
        plan::Plan,
        rollup::{Phaser, TargetTree},
        target::Dimensions,
    },
    storage::targets,
};

/// One unit's target for a period.
#[derive(Debug, Clone)]
pub struct UnitFigure {
    pub unit: UnitId,
    /// The one target behind the figure; empty for a sum of slices.
    pub target: String,
    pub amount: Amount,
    pub original_amount: Amount,
}

/// A subtree's targets for one period.
#[derive(Debug, Clone)]
pub struct PeriodTargets {
    pub plan: Plan,
    pub period: Period,
    pub figures: Vec<UnitFigure>,
    pub working_days: i64,
}

/// One unit's expectation for a period at a day.
#[derive(Debug, Clone)]
pub struct UnitExpected {
    pub unit: UnitId,
    pub period_target: Amount,
    pub original_period_target: Amount,
    pub by_curve: Amount,
    pub by_milestone: Amount,
    pub milestone: Option<Milestone>,
    /// (day, by curve, by milestone) when asked for.
    pub daily: Vec<(NaiveDate, Amount, Amount)>,
    pub milestones: Option<Milestones>,
}

#[derive(Debug, Clone)]
pub struct Expectations {
    pub plan: Plan,
    pub period: Period,
    pub time_progress: rust_decimal::Decimal,
    pub units: Vec<UnitExpected>,
}

/// What a subtree read asks.
#[derive(Debug, Clone)]
pub struct PeriodQuery {
    pub plan: Id,
    pub period: String,
    pub unit: UnitId,
    pub children_only: bool,
    pub dims: Dimensions,
    pub as_of: Option<DateTime<Utc>>,
}

/// The targets of `units` and all split from them, as they stood at `as_of`
/// when given: what their rolled-up figures are made of.
async fn rolled_tree(
    db: &impl ConnectionTrait,
    plan: &Plan,
    units: &[UnitId],
    as_of: Option<DateTime<Utc>>,
) -> ServiceResult<TargetTree> {
    let tree = TargetTree::new(targets::with_descendants(db, &plan.id, units).await?);
    Ok(match as_of {
        Some(at) => tree.as_of(&targets::amounts_as_of(db, &plan.id, at).await?, at),
        None => tree,
    })
}

/// The target behind a figure when it is one target; a sum of slices (a
/// region's product line over its reps) names none.
fn single_target(tree: &TargetTree, set: &[usize]) -> String {
    match set {
        [one] => tree.target(*one).resource_name(),
        _ => String::new(),
    }
}

pub async fn period_targets(db: &impl ConnectionTrait, who: &Identity, q: PeriodQuery) -> ServiceResult<PeriodTargets> {
    let plan = visible_plan(db, who, &q.plan).await?;
    let period = plan.period("period", &q.period)?;
    let root = visible_unit(db, who, &q.unit).await?;
    let mut members = readable_subtree(db, who, &root).await?;
    if q.children_only {
        members.retain(|u| u.id == root.id || u.parent.as_ref() == Some(&root.id));
    }
    let ids: Vec<UnitId> = members.iter().map(|u| u.id.clone()).collect();
    let tree = rolled_tree(db, &plan, &ids, q.as_of).await?;
    let mut phaser = Phaser::new(&plan)?;
    let mut figures = Vec::with_capacity(members.len());
    for u in &members {
        // A unit's figure rolls up its children's; a unit without a target
        // for what was asked has no row.
        let set = tree.for_unit(&u.id, &q.dims);
        if set.is_empty() {
            continue;
        }
        let f = tree.period(&mut phaser, &set, &period, "period")?;
        figures.push(UnitFigure {
            unit: u.id.clone(),
            target: single_target(&tree, &set),
            amount: f.target,
            original_amount: f.original_target,
        });
    }
    let working_days = plan.config.calendar.working_days(period.start, period.end);
    Ok(PeriodTargets { plan, period, figures, working_days })
}

/// Expected amounts of many units for a period at a day (and each day of
/// the period, when `daily`); units without a target for the slice are left
/// out. A unit's period is rolled up once per state of the plan's targets
/// (`figures_cache`); a day inside it is then a lookup.
pub async fn expected(
    (db, cache): (&impl ConnectionTrait, &FiguresCache),
    who: &Identity,
    (plan_id, period): (&Id, &str),
    ids: &[UnitId],
    (day, dims): (NaiveDate, &Dimensions),
    daily: bool,
) -> ServiceResult<Expectations> {
    let plan = visible_plan(db, who, plan_id).await?;
    let period = plan.period("period", period)?;
    visible_units_over(db, who, ids, (period.start, period.end)).await?;
    let time_progress = plan.config.calendar.time_progress(&period, day).round_dp(12);
    let mut seen = HashSet::new();
    let unique: Vec<UnitId> = ids.iter().filter(|id| seen.insert(id.as_str())).cloned().collect();
    if !period.contains(day) {
        // A day outside the period (rare: dashboards ask the current one)
        // is computed as asked, not kept.
        let tree = rolled_tree(db, &plan, &unique, None).await?;
        let units = outside(&plan, &tree, &unique, (&period, day, dims), daily)?;
        return Ok(Expectations { plan, period, time_progress, units });
    }
    let (count, versions) = targets::state(db, &plan.id).await?;
    let state = (plan.version, count, versions);
    let key = |id: &UnitId| RolledKey { period: (period.start, period.end), unit: id.clone(), dims: dims.clone() };
    let mut rolled: HashMap<UnitId, Option<Arc<RolledPeriod>>> = HashMap::new();
    let mut missing = Vec::new();
    for id in &unique {
        match cache.rolled(plan.id.as_str(), state, &key(id)) {
            Some(hit) => {
                rolled.insert(id.clone(), hit);
            }
            None => missing.push(id.clone()),
        }
    }
    if !missing.is_empty() {
        let tree = rolled_tree(db, &plan, &missing, None).await?;
        for (id, r) in roll_periods(&plan, &tree, &missing, (&period, dims))? {
            cache.remember(plan.id.as_str(), state, key(&id), r.clone());
            rolled.insert(id, r);
        }
    }
    let index = usize::try_from((day - period.start).num_days()).unwrap_or(0);
    let all_days: Vec<NaiveDate> = period.start.iter_days().take_while(|d| *d <= period.end).collect();
    let units = unique
        .iter()
        .filter_map(|id| {
            let r = rolled.remove(id).flatten()?;
            let today = r.days.get(index)?.clone();
            Some(UnitExpected {
                unit: id.clone(),
                period_target: r.period_target,
                original_period_target: r.original_period_target,
                by_curve: today.by_curve,
                by_milestone: today.by_milestone,
                milestone: today.milestone,
                daily: if daily {
                    all_days.iter().zip(&r.days).map(|(d, e)| (*d, e.by_curve, e.by_milestone)).collect()
                } else {
                    Vec::new()
                },
                milestones: if daily { r.milestones.clone() } else { None },
            })
        })
        .collect();
    Ok(Expectations { plan, period, time_progress, units })
}

/// Each unit's period rolled up from `tree`: its targets and every day's
/// expectation (`None`: no target for the slice). Cost grows with targets
/// and days, never with deals.
fn roll_periods(
    plan: &Plan,
    tree: &TargetTree,
    ids: &[UnitId],
    (period, dims): (&Period, &Dimensions),
) -> ServiceResult<Vec<(UnitId, Option<Arc<RolledPeriod>>)>> {
    let mut phaser = Phaser::new(plan)?;
    let all_days: Vec<NaiveDate> = period.start.iter_days().take_while(|d| *d <= period.end).collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let set = tree.for_unit(id, dims);
        if set.is_empty() {
            out.push((id.clone(), None));
            continue;
        }
        let f = tree.period(&mut phaser, &set, period, "period")?;
        let days = tree.expected(&mut phaser, &set, period, &all_days)?;
        let milestones = tree.shown_template(&phaser, &set, period);
        let r = RolledPeriod { period_target: f.target, original_period_target: f.original_target, days, milestones };
        out.push((id.clone(), Some(Arc::new(r))));
    }
    Ok(out)
}

/// Expectations at a day outside the period, computed as asked.
fn outside(
    plan: &Plan,
    tree: &TargetTree,
    ids: &[UnitId],
    (period, day, dims): (&Period, NaiveDate, &Dimensions),
    daily: bool,
) -> ServiceResult<Vec<UnitExpected>> {
    let mut phaser = Phaser::new(plan)?;
    let all_days: Vec<NaiveDate> =
        if daily { period.start.iter_days().take_while(|d| *d <= period.end).collect() } else { Vec::new() };
    let mut units = Vec::with_capacity(ids.len());
    for id in ids {
        let set = tree.for_unit(id, dims);
        if set.is_empty() {
            continue;
        }
        let f = tree.period(&mut phaser, &set, period, "period")?;
        let Some(today) = tree.expected(&mut phaser, &set, period, &[day])?.into_iter().next() else { continue };
        let days = tree
            .expected(&mut phaser, &set, period, &all_days)?
            .into_iter()
            .zip(&all_days)
            .map(|(e, d)| (*d, e.by_curve, e.by_milestone))
            .collect();
        units.push(UnitExpected {
            unit: id.clone(),
            period_target: f.target,
            original_period_target: f.original_target,
            by_curve: today.by_curve,
            by_milestone: today.by_milestone,
            milestone: today.milestone,
            daily: days,
            milestones: if daily { tree.shown_template(&phaser, &set, period) } else { None },
        });
    }
    Ok(units)
}
