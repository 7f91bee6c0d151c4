//! Phasing a target over its year's periods, and milestones on a target or
//! on a plan's template.

use attain_kit::{
    ServiceError, ServiceResult, auth::Identity, idempotency::IdempotencyKey, idempotent, money::Amount,
    period::Period, scope::check_etag,
};
use chrono::Utc;
use prost::Message;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::scope::{deny_manage, require_admin, visible_plan, visible_target};
use crate::{
    domain::{
        milestones::Milestones,
        org::{Id, UnitId},
        phasing::Curve,
        plan::{Plan, PlanState},
        rollup::{Phaser, TargetTree},
        target::{Change, Target},
    },
    storage::{plans, targets, targets::Why, units},
};

#[derive(Debug, Clone)]
pub struct PhaseRequest {
    pub target: (Id, Id),
    pub target_name: String,
    pub curve: Curve,
    /// Period expressions; none: the year's quarters and months.
    pub periods: Vec<String>,
    pub include_descendants: bool,
    pub etag: String,
    pub validate_only: bool,
    /// A new hire's ramp on the curve from the target's first day (empty:
    /// none); the target's own only, never its descendants'.
    pub ramp: Vec<rust_decimal::Decimal>,
}

/// The phased target and its rolled-up figure for each period.
#[derive(Debug, Clone)]
pub struct Phased {
    pub plan: Plan,
    pub target: Target,
    pub periods: Vec<(Period, Amount)>,
}

/// Where milestones go: a target, or a plan's template.
#[derive(Debug, Clone)]
pub enum MilestonesOf {
    Target(Id, Id, String),
    Plan(Id),
}

/// The quarters and months of the plan's fiscal year.
fn default_periods(plan: &Plan) -> ServiceResult<Vec<Period>> {
    let year = plan.fiscal_year_period()?;
    let mut out: Vec<Period> = (1..=4)
        .map(|q| plan.period("periods", &format!("{:04}-Q{q}", plan.fiscal_year)))
        .collect::<attain_kit::DomainResult<_>>()?;
    let mut month = year.start;
    while month <= year.end {
        out.push(Period::month_of(month));
        month = month
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(|| ServiceError::invalid("periods", "out of range"))?;
    }
    Ok(out)
}

pub async fn phase<R: Message + Default>(
    db: &DatabaseConnection,
    who: &Identity,
    key: Option<IdempotencyKey>,
    r: PhaseRequest,
    render: impl Fn(&Phased) -> R,
) -> ServiceResult<R> {
    idempotent!(db, key, |txn| {
        let (plan, target, unit) = visible_target(&txn, who, (&r.target.0, &r.target.1), &r.target_name).await?;
        if !who.can_manage(&unit.path()) {
            return Err(deny_manage("PhaseTarget"));
        }
        check_etag(&r.etag, &target.etag(), &target.resource_name())?;
        plan.require_draft("PhaseTarget")?;
        let periods = if r.periods.is_empty() {
            default_periods(&plan)?
        } else {
            r.periods
                .iter()
                .enumerate()
                .map(|(i, p)| plan.period(&format!("periods[{i}]"), p))
                .collect::<attain_kit::DomainResult<_>>()?
        };
        let mut next = target.clone();
        next.phasing = Some(if r.ramp.is_empty() {
            r.curve.clone()
        } else {
            let from = target.start.unwrap_or(plan.fiscal_year_period()?.start);
            Curve::ramp("phasing.ramp_percents", r.curve.clone(), from, r.ramp.clone())?
        });
        next.version = target.version + 1;
        next.update_time = Utc::now();
        let amounts = preview(&txn, &plan, &next, &unit.id, &r, &periods).await?;
        if !r.validate_only {
            let reason = format!("phased {:?}", r.curve);
            let why = Why { change: Change::Phased, actor: &who.person, reason: &reason, adjustment: None };
            if !targets::update(&txn, &target, &next, &why).await? {
                return Err(ServiceError::stale_etag(&target.resource_name()));
            }
            if r.include_descendants {
                phase_below(&txn, &plan, &unit, &r.curve, next.update_time, &why).await?;
            }
        }
        render(&Phased { plan, target: next, periods: periods.into_iter().zip(amounts).collect() })
    })
}

/// The periods shown are the target's rolled-up figures as they will
/// stand: its children's plus its own remainder on the new curve.
async fn preview(
    db: &impl ConnectionTrait,
    plan: &Plan,
    next: &Target,
    unit: &UnitId,
    r: &PhaseRequest,
    periods: &[Period],
) -> ServiceResult<Vec<Amount>> {
    let mut family = targets::with_descendants(db, &plan.id, std::slice::from_ref(unit)).await?;
    for t in &mut family {
        if t.id == next.id {
            *t = next.clone();
        } else if r.include_descendants && &t.unit != unit {
            t.phasing = Some(r.curve.clone());
        }
    }
    let tree = TargetTree::new(family);
    let set = tree.for_target(&next.id);
    let mut phaser = Phaser::new(plan)?;
    periods
        .iter()
        .enumerate()
        .map(|(i, p)| Ok(tree.period(&mut phaser, &set, p, &format!("periods[{i}]"))?.target))
        .collect()
}

/// Puts every target below `unit` on the same curve.
async fn phase_below(
    db: &impl ConnectionTrait,
    plan: &Plan,
    unit: &crate::domain::org::Unit,
    curve: &Curve,
    at: chrono::DateTime<Utc>,
    why: &Why<'_>,
) -> ServiceResult<()> {
    let below: Vec<UnitId> =
        units::subtree(db, unit).await?.into_iter().filter(|u| u.id != unit.id).map(|u| u.id).collect();
    for t in targets::of_units(db, &plan.id, &below).await? {
        let mut n = t.clone();
        n.phasing = Some(curve.clone());
        n.version = t.version + 1;
        n.update_time = at;
        if !targets::update(db, &t, &n, why).await? {
            return Err(ServiceError::stale_etag(&t.resource_name()));
        }
    }
    Ok(())
}

/// Sets milestones; returns them with the new etag of what holds them.
pub async fn set_milestones<R: Message + Default>(
    db: &DatabaseConnection,
    who: &Identity,
    key: Option<IdempotencyKey>,
    (of, etag): (MilestonesOf, &str),
    ms: Milestones,
    render: impl Fn(&Milestones, String) -> R,
) -> ServiceResult<R> {
    idempotent!(db, key, |txn| {
        let new_etag = match &of {
            MilestonesOf::Target(plan_id, target_id, name) => {
                let (plan, target, unit) = visible_target(&txn, who, (plan_id, target_id), name).await?;
                if !who.can_manage(&unit.path()) {
                    return Err(deny_manage("SetMilestones"));
                }
                check_etag(etag, &target.etag(), &target.resource_name())?;
                require_open(&plan)?;
                let mut next = target.clone();
                next.milestones = (!ms.is_empty()).then(|| ms.clone());
                next.version = target.version + 1;
                next.update_time = Utc::now();
                let why =
                    Why { change: Change::Phased, actor: &who.person, reason: "milestones set", adjustment: None };
                if !targets::update(&txn, &target, &next, &why).await? {
                    return Err(ServiceError::stale_etag(&target.resource_name()));
                }
                next.etag()
            }
            MilestonesOf::Plan(plan_id) => {
                require_admin(who, "SetMilestones on a plan")?;
                let plan = visible_plan(&txn, who, plan_id).await?;
                check_etag(etag, &plan.etag(), &plan.resource_name())?;
                require_open(&plan)?;
                let mut next = plan.clone();
                next.config.milestone_template = ms.clone();
                next.version = plan.version + 1;
                next.update_time = Utc::now();
                if !plans::update(&txn, &next, plan.version).await? {
                    return Err(ServiceError::stale_etag(&plan.resource_name()));
                }
                next.etag()
            }
        };
        render(&ms, new_etag)
    })
}

fn require_open(plan: &Plan) -> ServiceResult<()> {
    if plan.state == PlanState::Closed {
        return Err(ServiceError::precondition("PLAN_CLOSED", format!("{} is CLOSED", plan.resource_name())));
    }
    Ok(())
}
