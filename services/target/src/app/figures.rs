//! The period figures other services read: a subtree's targets for a
//! period, and many units' expected-to-date at a day. Both roll up split
//! trees (`domain::rollup`), read in one query per tree level; cost grows
//! with units and days, never with deals.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use attain_kit::{ServiceError, ServiceResult, auth::Identity, money::Amount, period::Period};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;

use super::{
    figures_cache::{FiguresCache, RolledKey, RolledPeriod},
    scope::{visible_plan, visible_unit_during, visible_units_over},
};
use crate::{
    domain::{
        milestones::{Milestone, Milestones},
        org::{Id, UnitId},
        plan::Plan,
        rollup::{Expected, Phaser, TargetTree},
        target::{Dimensions, Window},
    },
    storage::{plans, targets},
};

/// One unit's target for a period, or for its days of the period in the
/// asked subtree.
#[derive(Debug, Clone)]
pub struct UnitFigure {
    pub unit: UnitId,
    /// The days counted: the period, or the part of it the unit sat in the
    /// subtree (or, for the asked unit, in the caller's scope).
    pub days: Period,
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

/// A subtree's rows for a period: the asked unit, then each unit whose
/// target counts in its figure, for the days it counts there — a member
/// that joined or left during the period is a row for its days in the
/// subtree (one per stay), so the rows are what the unit's figure is made
/// of, as of `as_of` too. A caller who may read the unit for part of the
/// period only reads that part of everything.
pub async fn period_targets(db: &impl ConnectionTrait, who: &Identity, q: PeriodQuery) -> ServiceResult<PeriodTargets> {
    let plan = visible_plan(db, who, &q.plan).await?;
    let period = plan.period("period", &q.period)?;
    let (root, readable) = visible_unit_during(db, who, &q.unit, (&period, q.as_of)).await?;
    let tree = rolled_tree(db, &plan, std::slice::from_ref(&root.id), q.as_of).await?;
    let mut rows: Vec<(UnitId, Window)> = vec![(root.id.clone(), readable)];
    for (unit, windows) in tree.members(&root.id, q.children_only) {
        rows.extend(windows.into_iter().map(|w| (unit.clone(), w.and(readable))));
    }
    // A unit without a target for what was asked has no row; nor has a
    // stay outside the period.
    let mut asked = Vec::with_capacity(rows.len());
    for (unit, w) in rows {
        let set = tree.for_unit(&unit, &q.dims);
        let Some((a, b)) = w.clip(period.start, period.end) else { continue };
        if set.is_empty() {
            continue;
        }
        let days = if (a, b) == (period.start, period.end) {
            period.clone()
        } else {
            Period::parse("period", &format!("{a}..{b}"), plan.fiscal_start_month)?
        };
        // Rolled over its days only when it counts for part of the period.
        let w = if (a, b) == (period.start, period.end) { Window::ALL } else { w };
        asked.push((unit, days, set, w));
    }
    let sets: Vec<(Vec<usize>, Window)> = asked.iter().map(|(_, _, set, w)| (set.clone(), *w)).collect();
    let mut phaser = Phaser::new(&plan)?;
    let figures = asked
        .into_iter()
        .zip(tree.periods_within(&mut phaser, &sets, &period, "period")?)
        .map(|((unit, days, set, _), f)| UnitFigure {
            unit,
            days,
            target: single_target(&tree, &set),
            amount: f.target,
            original_amount: f.original_target,
        })
        .collect();
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
    visible_units_over(db, who, ids, &period).await?;
    let time_progress = plan.config.calendar.time_progress(&period, day).round_dp(12);
    let mut seen = HashSet::new();
    let unique: Vec<UnitId> = ids.iter().filter(|id| seen.insert(id.as_str())).cloned().collect();
    let state = plans::targets_state(db, &plan.id)
        .await?
        .ok_or_else(|| ServiceError::not_found("plan", plan.resource_name()))?;
    let key = |id: &UnitId| RolledKey { period: (period.start, period.end), unit: id.clone(), dims: dims.clone() };
    let mut rolled: HashMap<UnitId, Option<Arc<RolledPeriod>>> = HashMap::new();
    let look = |ids: &[UnitId], rolled: &mut HashMap<_, _>| {
        let mut missing = Vec::new();
        for id in ids {
            match cache.rolled(plan.id.as_str(), state, &key(id)) {
                Some(hit) => {
                    rolled.insert(id.clone(), hit);
                }
                None => missing.push(id.clone()),
            }
        }
        missing
    };
    let mut missing = look(&unique, &mut rolled);
    let _rolling = if missing.is_empty() { None } else { Some(cache.rolling().await) };
    // Another call may have rolled them while this one waited.
    missing = look(&missing, &mut rolled);
    if !missing.is_empty() {
        let tree = rolled_tree(db, &plan, &missing, None).await?;
        // Their child units are rolled on the way (kept too: a drill-down
        // or a child's dashboard follows, and would roll them again).
        let mut asked = missing.clone();
        let mut seen: HashSet<UnitId> = missing.iter().cloned().collect();
        for id in &missing {
            for c in tree.child_units(id) {
                if cache.rolled(plan.id.as_str(), state, &key(&c)).is_none() && seen.insert(c.clone()) {
                    asked.push(c);
                }
            }
        }
        let (p, (pe, d)) = (plan.clone(), (period.clone(), dims.clone()));
        for (id, r) in off_the_runtime(move || roll_periods(&p, &tree, &asked, (&pe, &d))).await? {
            cache.remember(plan.id.as_str(), state, key(&id), r.clone());
            rolled.insert(id, r);
        }
    }
    // A day after the period reads as its last day (everything due), a day
    // before it as nothing due yet: a past period's review and a future
    // period's plan come from the same kept figures.
    let index = usize::try_from((day.min(period.end) - period.start).num_days()).ok();
    let nothing_yet = Expected { by_curve: Amount::ZERO, by_milestone: Amount::ZERO, milestone: None };
    let all_days: Vec<NaiveDate> = period.start.iter_days().take_while(|d| *d <= period.end).collect();
    let units = unique
        .iter()
        .filter_map(|id| {
            let r = rolled.remove(id).flatten()?;
            let today = match index {
                Some(i) => r.days.get(i)?.clone(),
                None => nothing_yet.clone(),
            };
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

/// CPU-bound roll-up work (a second or more for a large organisation's
/// first read after a target change) on the blocking pool, so the
/// runtime's workers keep answering other calls and health checks.
async fn off_the_runtime<T: Send + 'static>(
    work: impl FnOnce() -> ServiceResult<T> + Send + 'static,
) -> ServiceResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| ServiceError::Internal(anyhow::anyhow!("roll-up task: {e}")))?
}

/// What a period is rolled over: a custom range inside one month reads as
/// that month over its days (so its milestones are the month's: a rep's
/// stay in a team, read by its manager, is expected what fell due then);
/// any other period as itself.
fn rolled_over(plan: &Plan, period: &Period) -> ServiceResult<(Period, Window)> {
    use chrono::Datelike;
    let (a, b) = (period.start, period.end);
    if period.granularity != attain_kit::period::Granularity::Custom || (a.year(), a.month()) != (b.year(), b.month()) {
        return Ok((period.clone(), Window::ALL));
    }
    let month = plan.period("period", &format!("{:04}-{:02}", a.year(), a.month()))?;
    Ok((month, Window { from: Some(a), until: Some(b) }))
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
    let (over, window) = rolled_over(plan, period)?;
    // The units with a target for the slice, rolled up together: a unit
    // under another asked with it is phased once.
    let sets: Vec<Vec<usize>> = ids.iter().map(|id| tree.for_unit(id, dims)).collect();
    let asked: Vec<(Vec<usize>, Window)> = sets.iter().filter(|s| !s.is_empty()).map(|s| (s.clone(), window)).collect();
    let mut figures = tree.periods_within(&mut phaser, &asked, &over, "period")?.into_iter();
    let mut days = tree.expected_many_within(&mut phaser, &asked, &over, &all_days)?.into_iter();
    let mut out = Vec::with_capacity(ids.len());
    for (id, set) in ids.iter().zip(&sets) {
        if set.is_empty() {
            out.push((id.clone(), None));
            continue;
        }
        let (Some(f), Some(days)) = (figures.next(), days.next()) else {
            return Err(ServiceError::Internal(anyhow::anyhow!("a roll-up answered fewer units than asked")));
        };
        let milestones = tree.shown_template(&phaser, set, &over);
        let r = RolledPeriod { period_target: f.target, original_period_target: f.original_target, days, milestones };
        out.push((id.clone(), Some(Arc::new(r))));
    }
    Ok(out)
}
