//! Plan handlers: create, read, update (draft), publish, close. The use
//! cases are `app::plans`.

use attain_kit::{
    ServiceError, ServiceResult,
    context::Ctx,
    idempotency::IdempotencyKey,
    money::{Amount, CurrencyCode},
    paging::PageRequest,
};
use attain_proto::attain::target::v1 as pb;
use chrono::Utc;
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;

use super::convert;
use crate::{
    app::{
        plans::{self, PlanField},
        scope::visible_plan,
    },
    domain::{
        allocation::RoundingUnit,
        org::{DisplayName, Id, UnitId},
        phasing::Curve,
        plan::{Plan, PlanConfig, PlanState},
        target::parse_plan_name,
    },
};

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

/// A new DRAFT plan from the wire.
fn new_plan(plan_id: &str, p: pb::Plan) -> ServiceResult<Plan> {
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
    let id = if plan_id.is_empty() { Id::generate() } else { Id::parse("plan_id", plan_id)? };
    let now = Utc::now();
    let plan = Plan {
        id,
        display_name: display_name.as_str().to_owned(),
        top_unit,
        fiscal_year: p.fiscal_year,
        fiscal_start_month,
        currency,
        base_amount: base("plan.base_amount", p.base_amount.as_ref(), currency)?,
        growth_rate: growth("plan.growth_rate", &p.growth_rate)?,
        config,
        state: PlanState::Draft,
        version: 1,
        create_time: now,
        update_time: now,
        publish_time: None,
    };
    Ok(plan)
}

fn render(p: &Plan) -> ServiceResult<pb::Plan> {
    convert::plan(p)
}

pub async fn create(db: &DatabaseConnection, ctx: Ctx, mut r: pb::CreatePlanRequest) -> ServiceResult<pb::Plan> {
    let who = ctx.who;
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&who.person, "CreatePlan", &request_id, &r)?;
    let p = r.plan.ok_or_else(|| ServiceError::invalid("plan", "is required"))?;
    plans::create(db, &who, key, new_plan(&r.plan_id, p)?, render).await
}

pub async fn get(db: &DatabaseConnection, ctx: Ctx, r: pb::GetPlanRequest) -> ServiceResult<pb::Plan> {
    let id = parse_plan_name("name", &r.name)?;
    convert::plan(&visible_plan(db, &ctx.who, &id).await?)
}

pub async fn list(db: &DatabaseConnection, ctx: Ctx, r: pb::ListPlansRequest) -> ServiceResult<pb::ListPlansResponse> {
    let who = ctx.who;
    let page = PageRequest::parse(r.page_size, &r.page_token, &format!("ListPlans year={}", r.fiscal_year), &who)?;
    let year = (r.fiscal_year != 0).then_some(r.fiscal_year);
    let (rows, next_page_token) = plans::list(db, &who, year, &page).await?;
    let plans = rows.iter().map(convert::plan).collect::<ServiceResult<Vec<_>>>()?;
    Ok(pb::ListPlansResponse { plans, next_page_token })
}

/// The fields an update mask names, parsed from the plan sent.
fn plan_fields(paths: &[String], input: &pb::Plan) -> ServiceResult<Vec<PlanField>> {
    paths
        .iter()
        .map(|path| {
            Ok(match path.as_str() {
                "display_name" => PlanField::DisplayName(DisplayName::parse("plan.display_name", &input.display_name)?),
                "base_amount" => {
                    let m = input
                        .base_amount
                        .as_ref()
                        .ok_or_else(|| ServiceError::invalid("plan.base_amount", "is required"))?;
                    let a = convert::amount("plan.base_amount.amount", &m.amount)?;
                    if a.is_negative() {
                        return Err(ServiceError::invalid("plan.base_amount", "must not be negative"));
                    }
                    PlanField::BaseAmount(a, Some(m.currency_code.clone()))
                }
                "growth_rate" => PlanField::GrowthRate(growth("plan.growth_rate", &input.growth_rate)?),
                "coverage_policy" => PlanField::Coverage(convert::coverage_policy(
                    "plan.coverage_policy",
                    input.coverage_policy.as_ref(),
                )?),
                "alert_thresholds" => PlanField::Thresholds(convert::thresholds(
                    "plan.alert_thresholds",
                    input.alert_thresholds.as_ref(),
                )?),
                "calendar" => PlanField::Calendar(convert::calendar("plan.calendar", input.calendar.as_ref())?),
                "default_phasing" => PlanField::DefaultPhasing(
                    convert::curve("plan.default_phasing", input.default_phasing.as_ref())?
                        .unwrap_or(Curve::WorkingDays),
                ),
                "milestone_template" => PlanField::MilestoneTemplate(convert::milestones(
                    "plan.milestone_template",
                    &input.milestone_template,
                )?),
                other => {
                    return Err(ServiceError::invalid(
                        "update_mask",
                        format!("{other:?} is not an updatable plan field"),
                    ));
                }
            })
        })
        .collect()
}

pub async fn update(db: &DatabaseConnection, ctx: Ctx, mut r: pb::UpdatePlanRequest) -> ServiceResult<pb::Plan> {
    let who = ctx.who;
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&who.person, "UpdatePlan", &request_id, &r)?;
    let input = r.plan.ok_or_else(|| ServiceError::invalid("plan", "is required"))?;
    let id = parse_plan_name("plan.name", &input.name)?;
    let paths = r.update_mask.map(|m| m.paths).unwrap_or_default();
    if paths.is_empty() {
        return Err(ServiceError::invalid("update_mask", "list the fields to change"));
    }
    let fields = plan_fields(&paths, &input)?;
    plans::update(db, &who, key, (&id, &input.etag), fields, render).await
}

pub async fn publish(db: &DatabaseConnection, ctx: Ctx, mut r: pb::PublishPlanRequest) -> ServiceResult<pb::Plan> {
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&ctx.who.person, "PublishPlan", &request_id, &r)?;
    let id = parse_plan_name("name", &r.name)?;
    plans::transition(db, &ctx.who, key, plans::PUBLISH, (&id, &r.etag), render).await
}

pub async fn close(db: &DatabaseConnection, ctx: Ctx, mut r: pb::ClosePlanRequest) -> ServiceResult<pb::Plan> {
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&ctx.who.person, "ClosePlan", &request_id, &r)?;
    let id = parse_plan_name("name", &r.name)?;
    plans::transition(db, &ctx.who, key, plans::CLOSE, (&id, &r.etag), render).await
}
