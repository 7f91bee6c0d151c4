//! Plans: created by an admin with their top target, edited while DRAFT
//! (a new base or growth moves the top target), published (originals
//! frozen), closed.

use attain_kit::{
    ServiceError, ServiceResult, auth::Identity, idempotency::IdempotencyKey, idempotent, money::Amount,
    paging::PageRequest, scope::check_etag,
};
use chrono::Utc;
use prost::Message;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::scope::{require_admin, visible_plan, visible_unit};
use crate::{
    domain::{
        allocation::CoveragePolicy,
        milestones::Milestones,
        org::{DisplayName, Id, UnitId},
        phasing::{Curve, WorkingCalendar},
        plan::{Plan, PlanState, Thresholds},
        target::{Change, Target},
    },
    storage::{plans, targets, targets::Why, units},
};

/// A field an update of a DRAFT plan sets. A base amount comes with the
/// currency it was given in (checked against the plan's).
#[derive(Debug, Clone)]
pub enum PlanField {
    DisplayName(DisplayName),
    BaseAmount(Amount, Option<String>),
    GrowthRate(Decimal),
    Coverage(CoveragePolicy),
    Thresholds(Thresholds),
    Calendar(WorkingCalendar),
    DefaultPhasing(Curve),
    MilestoneTemplate(Milestones),
}

/// A lifecycle step of a plan.
#[derive(Debug, Clone, Copy)]
pub struct Transition {
    pub method: &'static str,
    pub from: PlanState,
    pub to: PlanState,
}

pub const PUBLISH: Transition = Transition { method: "PublishPlan", from: PlanState::Draft, to: PlanState::Published };
pub const CLOSE: Transition = Transition { method: "ClosePlan", from: PlanState::Published, to: PlanState::Closed };

/// A count plan's amounts are whole numbers.
pub fn count_checked(plan: &Plan, field: &str, a: Amount) -> ServiceResult<Amount> {
    let metric = plan.config.metric;
    if !metric.admits(a) {
        return Err(ServiceError::invalid(
            field,
            format!("{a} is fractional; a {} target is a whole number", metric.as_str()),
        ));
    }
    Ok(a)
}

/// Creates a DRAFT plan and its top target (base × (1 + growth)).
pub async fn create<R: Message + Default>(
    db: &DatabaseConnection,
    who: &Identity,
    key: Option<IdempotencyKey>,
    plan: Plan,
    render: fn(&Plan) -> ServiceResult<R>,
) -> ServiceResult<R> {
    require_admin(who, "CreatePlan")?;
    count_checked(&plan, "plan.base_amount", plan.base_amount)?;
    let top = plan.top_target()?;
    if plan.config.rounding_unit.exact_units(top).is_none() {
        return Err(ServiceError::invalid("plan.rounding_unit", "the top target is not a multiple of it"));
    }
    idempotent!(db, key, |txn| {
        visible_unit(&txn, who, &plan.top_unit).await?;
        if plans::get(&txn, &plan.id).await?.is_some() {
            return Err(ServiceError::AlreadyExists(format!("{} already exists", plan.resource_name())));
        }
        plans::insert(&txn, &plan).await?;
        let target = Target {
            plan: plan.id.clone(),
            id: plan.top_unit.clone(),
            unit: plan.top_unit.clone(),
            dimensions: Default::default(),
            amount: top,
            original_amount: top,
            parent: None,
            phasing: None,
            milestones: None,
            coverage: None,
            start: None,
            steps: Vec::new(),
            moves: Vec::new(),
            version: 1,
            create_time: plan.create_time,
            update_time: plan.create_time,
        };
        let reason = format!("top target: base {} × (1 + {})", plan.base_amount, plan.growth_rate);
        let why = Why { change: Change::Created, actor: &who.person, reason: &reason, adjustment: None };
        targets::insert(&txn, &target, &why).await?;
        render(&plan)?
    })
}

/// A page of the plans the caller may see (those over its own unit).
pub async fn list(
    db: &impl ConnectionTrait,
    who: &Identity,
    year: Option<i32>,
    page: &PageRequest,
) -> ServiceResult<(Vec<Plan>, String)> {
    let home = if who.is_admin() { None } else { units::get(db, &UnitId::parse("token unit", &who.unit)?).await? };
    let mut rows = plans::list(db, year, page.after.as_deref(), page.fetch_limit()).await?;
    let next_page_token = page.finish(&mut rows, |p| p.id.as_str().to_owned());
    let mine =
        |p: &Plan| who.is_admin() || home.as_ref().is_some_and(|u| u.path().iter().any(|x| x == p.top_unit.as_str()));
    rows.retain(mine);
    Ok((rows, next_page_token))
}

pub async fn update<R: Message + Default>(
    db: &DatabaseConnection,
    who: &Identity,
    key: Option<IdempotencyKey>,
    (id, etag): (&Id, &str),
    fields: Vec<PlanField>,
    render: fn(&Plan) -> ServiceResult<R>,
) -> ServiceResult<R> {
    require_admin(who, "UpdatePlan")?;
    idempotent!(db, key, |txn| {
        let current = visible_plan(&txn, who, id).await?;
        check_etag(etag, &current.etag(), &current.resource_name())?;
        current.require_draft("UpdatePlan")?;
        let mut next = current.clone();
        for f in fields.iter().cloned() {
            apply(&mut next, f)?;
        }
        next.version = current.version + 1;
        next.update_time = Utc::now();
        if !plans::update(&txn, &next, current.version).await? {
            return Err(ServiceError::stale_etag(&current.resource_name()));
        }
        move_top_target(&txn, who, &current, &next).await?;
        render(&next)?
    })
}

fn apply(plan: &mut Plan, f: PlanField) -> ServiceResult<()> {
    match f {
        PlanField::DisplayName(n) => plan.display_name = n.as_str().to_owned(),
        PlanField::BaseAmount(a, currency) => {
            if let Some(c) = currency.filter(|c| !c.is_empty() && c != plan.currency.as_str()) {
                return Err(ServiceError::invalid(
                    "plan.base_amount.currency_code",
                    format!("{c} is not the plan's currency {}", plan.currency),
                ));
            }
            plan.base_amount = count_checked(plan, "plan.base_amount", a)?;
        }
        PlanField::GrowthRate(g) => plan.growth_rate = g,
        PlanField::Coverage(c) => plan.config.coverage = c,
        PlanField::Thresholds(t) => plan.config.thresholds = t,
        PlanField::Calendar(c) => plan.config.calendar = c,
        PlanField::DefaultPhasing(c) => plan.config.default_phasing = c,
        PlanField::MilestoneTemplate(m) => plan.config.milestone_template = m,
    }
    Ok(())
}

/// A new base or growth moves the top target with it (still a draft).
async fn move_top_target(db: &impl ConnectionTrait, who: &Identity, current: &Plan, next: &Plan) -> ServiceResult<()> {
    let new_top = next.top_target()?;
    if new_top == current.top_target()? {
        return Ok(());
    }
    let Some(top) = targets::get(db, &next.id, &next.top_unit).await? else { return Ok(()) };
    let mut changed = top.clone();
    changed.amount = new_top;
    changed.original_amount = new_top;
    changed.version = top.version + 1;
    changed.update_time = next.update_time;
    let reason = format!("top target: base {} × (1 + {})", next.base_amount, next.growth_rate);
    let why = Why { change: Change::Adjusted, actor: &who.person, reason: &reason, adjustment: None };
    if !targets::update(db, &top, &changed, &why).await? {
        return Err(ServiceError::stale_etag(&top.resource_name()));
    }
    Ok(())
}

pub async fn transition<R: Message + Default>(
    db: &DatabaseConnection,
    who: &Identity,
    key: Option<IdempotencyKey>,
    step: Transition,
    (id, etag): (&Id, &str),
    render: fn(&Plan) -> ServiceResult<R>,
) -> ServiceResult<R> {
    let Transition { method, from, to } = step;
    require_admin(who, method)?;
    idempotent!(db, key, |txn| {
        let current = visible_plan(&txn, who, id).await?;
        check_etag(etag, &current.etag(), &current.resource_name())?;
        if current.state != from {
            return Err(ServiceError::precondition(
                "PLAN_STATE",
                format!("{method}: {} is {}, not {}", current.resource_name(), current.state.as_str(), from.as_str()),
            ));
        }
        let mut next = current.clone();
        next.state = to;
        next.version += 1;
        next.update_time = Utc::now();
        if to == PlanState::Published {
            next.publish_time = Some(next.update_time);
            targets::freeze_originals(&txn, &next.id).await?;
        }
        if !plans::update(&txn, &next, current.version).await? {
            return Err(ServiceError::stale_etag(&current.resource_name()));
        }
        render(&next)?
    })
}
