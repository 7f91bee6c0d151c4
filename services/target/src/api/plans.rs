//! Plans: create, read, update (draft), publish, close.

use attain_kit::context::Ctx;
use attain_kit::idempotent;
use attain_kit::scope::reveal;
use attain_kit::{
    ServiceError, ServiceResult,
    auth::Identity,
    idempotency::IdempotencyKey,
    metric::Metric,
    money::{Amount, CurrencyCode},
    paging::PageRequest,
};
use attain_proto::attain::target::v1 as pb;
use chrono::Utc;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::{check_etag, convert, hidden, require_admin, visible_unit};
use crate::{
    domain::{
        allocation::RoundingUnit,
        org::{DisplayName, Id, UnitId},
        phasing::Curve,
        plan::{Plan, PlanConfig, PlanState},
        target::{Change, Target, parse_plan_name},
    },
    storage::{plans, targets, targets::Why, units},
};

/// Loads a plan the caller may see: admins, and anyone whose unit lies in
/// the plan's organisation.
pub(crate) async fn visible_plan(db: &impl ConnectionTrait, who: &Identity, id: &Id) -> ServiceResult<Plan> {
    let name = format!("plans/{}", id.as_str());
    let plan = reveal(who, "plan", &name, plans::get(db, id).await?, |_| true)?;
    if who.is_admin() {
        return Ok(plan);
    }
    let home = units::get(db, &UnitId::parse("token unit", &who.unit).map_err(|_| hidden(&name))?).await?;
    match home {
        Some(u) if u.path().iter().any(|p| p == plan.top_unit.as_str()) => Ok(plan),
        _ => Err(hidden(&name)),
    }
}

fn growth(field: &str, s: &str) -> ServiceResult<Decimal> {
    let g = convert::opt_decimal(field, s)?.unwrap_or(Decimal::ZERO);
    if g <= -Decimal::ONE || g > Decimal::from(100) {
        return Err(ServiceError::invalid(field, "must be above -1 and at most 100 (a fraction: 0.25 is +25%)"));
    }
    Ok(g)
}

fn base(field: &str, m: Option<&attain_proto::attain::common::v1::Money>, cur: CurrencyCode) -> ServiceResult<Amount> {
    let a = convert::money_in(field, m, cur)?;
    if a.is_negative() {
        return Err(ServiceError::invalid(field, "must not be negative"));
    }
    Ok(a)
}

/// A count plan's amounts are whole numbers.
fn count_checked(metric: Metric, field: &str, a: Amount) -> ServiceResult<Amount> {
    if !metric.admits(a) {
        return Err(ServiceError::invalid(
            field,
            format!("{a} is fractional; a {} target is a whole number", metric.as_str()),
        ));
    }
    Ok(a)
}

pub async fn create(db: &DatabaseConnection, ctx: Ctx, mut r: pb::CreatePlanRequest) -> ServiceResult<pb::Plan> {
    let who = ctx.who;
    require_admin(&who, "CreatePlan")?;
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&who.person, "CreatePlan", &request_id, &r)?;
    let p = r.plan.ok_or_else(|| ServiceError::invalid("plan", "is required"))?;
    let display_name = DisplayName::parse("plan.display_name", &p.display_name)?;
    let top_unit = UnitId::from_name("plan.top_unit", &p.top_unit)?;
    if !(1900..=9999).contains(&p.fiscal_year) {
        return Err(ServiceError::invalid("plan.fiscal_year", "must be a four-digit year"));
    }
    let fiscal_start_month = match p.fiscal_start_month {
        0 => 1,
        m @ 1..=12 => u32::try_from(m).unwrap_or(1),
        _ => return Err(ServiceError::invalid("plan.fiscal_start_month", "must be 1–12")),
    };
    let metric = attain_kit::wire::parse_metric("plan.metric", p.metric)?;
    let currency = if metric.is_count() {
        // Counts carry ISO 4217's "no currency".
        if !p.currency_code.is_empty() && p.currency_code != CurrencyCode::XXX.as_str() {
            return Err(ServiceError::invalid(
                "plan.currency_code",
                format!("a {} plan counts, it has no currency (leave it empty or XXX)", metric.as_str()),
            ));
        }
        CurrencyCode::XXX
    } else {
        CurrencyCode::parse(&p.currency_code).map_err(|e| ServiceError::invalid("plan.currency_code", e.to_string()))?
    };
    let unit = match (p.rounding_unit.is_empty(), metric.is_count()) {
        (true, true) => RoundingUnit::parse("plan.rounding_unit", "1")?,
        (true, false) => RoundingUnit::parse("plan.rounding_unit", "0.01")?,
        (false, _) => RoundingUnit::parse("plan.rounding_unit", &p.rounding_unit)?,
    };
    if metric.is_count() && !unit.decimal().fract().is_zero() {
        return Err(ServiceError::invalid(
            "plan.rounding_unit",
            format!("{} is fractional; a count target splits into whole numbers", unit.decimal()),
        ));
    }
    let config = PlanConfig {
        metric,
        rounding_unit: unit,
        coverage: convert::coverage_policy("plan.coverage_policy", p.coverage_policy.as_ref())?,
        thresholds: convert::thresholds("plan.alert_thresholds", p.alert_thresholds.as_ref())?,
        calendar: convert::calendar("plan.calendar", p.calendar.as_ref())?,
        default_phasing: convert::curve("plan.default_phasing", p.default_phasing.as_ref())?
            .unwrap_or(Curve::WorkingDays),
        milestone_template: convert::milestones("plan.milestone_template", &p.milestone_template)?,
    };
    let id = if r.plan_id.is_empty() { Id::generate() } else { Id::parse("plan_id", &r.plan_id)? };
    let now = Utc::now();
    let plan = Plan {
        id,
        display_name: display_name.as_str().to_owned(),
        top_unit,
        fiscal_year: p.fiscal_year,
        fiscal_start_month,
        currency,
        base_amount: count_checked(
            metric,
            "plan.base_amount",
            base("plan.base_amount", p.base_amount.as_ref(), currency)?,
        )?,
        growth_rate: growth("plan.growth_rate", &p.growth_rate)?,
        config,
        state: PlanState::Draft,
        version: 1,
        create_time: now,
        update_time: now,
        publish_time: None,
    };
    let top = plan.top_target()?;
    if unit.exact_units(top).is_none() {
        return Err(ServiceError::invalid("plan.rounding_unit", "the top target is not a multiple of it"));
    }
    idempotent!(db, key, |txn| {
        visible_unit(&txn, &who, &plan.top_unit).await?;
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
            version: 1,
            create_time: now,
            update_time: now,
        };
        let reason = format!("top target: base {} × (1 + {})", plan.base_amount, plan.growth_rate);
        targets::insert(
            &txn,
            &target,
            &Why { change: Change::Created, actor: &who.person, reason: &reason, adjustment: None },
        )
        .await?;
        convert::plan(&plan)?
    })
}

pub async fn get(db: &DatabaseConnection, ctx: Ctx, request: pb::GetPlanRequest) -> ServiceResult<pb::Plan> {
    let who = ctx.who;
    let id = parse_plan_name("name", &request.name)?;
    let plan = visible_plan(db, &who, &id).await?;
    convert::plan(&plan)
}

pub async fn list(db: &DatabaseConnection, ctx: Ctx, r: pb::ListPlansRequest) -> ServiceResult<pb::ListPlansResponse> {
    let who = ctx.who;
    let page = PageRequest::parse(r.page_size, &r.page_token, &format!("ListPlans year={}", r.fiscal_year), &who)?;
    let year = (r.fiscal_year != 0).then_some(r.fiscal_year);
    let home = if who.is_admin() { None } else { units::get(db, &UnitId::parse("token unit", &who.unit)?).await? };
    let mut rows = plans::list(db, year, page.after.as_deref(), page.fetch_limit()).await?;
    let next_page_token = page.finish(&mut rows, |p| p.id.as_str().to_owned());
    let mine =
        |p: &Plan| who.is_admin() || home.as_ref().is_some_and(|u| u.path().iter().any(|x| x == p.top_unit.as_str()));
    let plans = rows.iter().filter(|p| mine(p)).map(convert::plan).collect::<ServiceResult<Vec<_>>>()?;
    Ok(pb::ListPlansResponse { plans, next_page_token })
}

pub async fn update(db: &DatabaseConnection, ctx: Ctx, mut r: pb::UpdatePlanRequest) -> ServiceResult<pb::Plan> {
    let who = ctx.who;
    require_admin(&who, "UpdatePlan")?;
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&who.person, "UpdatePlan", &request_id, &r)?;
    let input = r.plan.ok_or_else(|| ServiceError::invalid("plan", "is required"))?;
    let id = parse_plan_name("plan.name", &input.name)?;
    let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
    if paths.is_empty() {
        return Err(ServiceError::invalid("update_mask", "list the fields to change"));
    }
    idempotent!(db, key, |txn| {
        let current = visible_plan(&txn, &who, &id).await?;
        check_etag(&input.etag, &current.etag(), &current.resource_name())?;
        current.require_draft("UpdatePlan")?;
        let mut next = current.clone();
        for path in &paths {
            match path.as_str() {
                "display_name" => {
                    next.display_name =
                        DisplayName::parse("plan.display_name", &input.display_name)?.as_str().to_owned()
                }
                "base_amount" => {
                    next.base_amount = count_checked(
                        current.config.metric,
                        "plan.base_amount",
                        base("plan.base_amount", input.base_amount.as_ref(), current.currency)?,
                    )?
                }
                "growth_rate" => next.growth_rate = growth("plan.growth_rate", &input.growth_rate)?,
                "coverage_policy" => {
                    next.config.coverage =
                        convert::coverage_policy("plan.coverage_policy", input.coverage_policy.as_ref())?
                }
                "alert_thresholds" => {
                    next.config.thresholds =
                        convert::thresholds("plan.alert_thresholds", input.alert_thresholds.as_ref())?
                }
                "calendar" => next.config.calendar = convert::calendar("plan.calendar", input.calendar.as_ref())?,
                "default_phasing" => {
                    next.config.default_phasing =
                        convert::curve("plan.default_phasing", input.default_phasing.as_ref())?
                            .unwrap_or(Curve::WorkingDays);
                }
                "milestone_template" => {
                    next.config.milestone_template =
                        convert::milestones("plan.milestone_template", &input.milestone_template)?
                }
                other => {
                    return Err(ServiceError::invalid(
                        "update_mask",
                        format!("{other:?} is not an updatable plan field"),
                    ));
                }
            }
        }
        next.version = current.version + 1;
        next.update_time = Utc::now();
        if !plans::update(&txn, &next, current.version).await? {
            return Err(ServiceError::stale_etag(&current.resource_name()));
        }
        // A new base or growth moves the top target with it (still a draft).
        let new_top = next.top_target()?;
        if new_top != current.top_target()?
            && let Some(top) = targets::get(&txn, &next.id, &next.top_unit).await?
        {
            let mut changed = top.clone();
            changed.amount = new_top;
            changed.original_amount = new_top;
            changed.version = top.version + 1;
            changed.update_time = next.update_time;
            let reason = format!("top target: base {} × (1 + {})", next.base_amount, next.growth_rate);
            if !targets::update(
                &txn,
                &top,
                &changed,
                &Why { change: Change::Adjusted, actor: &who.person, reason: &reason, adjustment: None },
            )
            .await?
            {
                return Err(ServiceError::stale_etag(&top.resource_name()));
            }
        }
        convert::plan(&next)?
    })
}

/// A lifecycle step of a plan.
struct Transition {
    method: &'static str,
    from: PlanState,
    to: PlanState,
}

async fn transition(
    db: &DatabaseConnection,
    who: Identity,
    step: Transition,
    name: &str,
    etag: &str,
    key: Option<IdempotencyKey>,
) -> ServiceResult<pb::Plan> {
    let Transition { method, from, to } = step;
    require_admin(&who, method)?;
    let id = parse_plan_name("name", name)?;
    idempotent!(db, key, |txn| {
        let current = visible_plan(&txn, &who, &id).await?;
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
        convert::plan(&next)?
    })
}

pub async fn publish(db: &DatabaseConnection, ctx: Ctx, mut r: pb::PublishPlanRequest) -> ServiceResult<pb::Plan> {
    let who = ctx.who;
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&who.person, "PublishPlan", &request_id, &r)?;
    let step = Transition { method: "PublishPlan", from: PlanState::Draft, to: PlanState::Published };
    transition(db, who, step, &r.name, &r.etag, key).await
}

pub async fn close(db: &DatabaseConnection, ctx: Ctx, mut r: pb::ClosePlanRequest) -> ServiceResult<pb::Plan> {
    let who = ctx.who;
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&who.person, "ClosePlan", &request_id, &r)?;
    let step = Transition { method: "ClosePlan", from: PlanState::Published, to: PlanState::Closed };
    transition(db, who, step, &r.name, &r.etag, key).await
}
