//! Target handlers: reads (as of any instant), splits, phasing,
//! milestones, and the bulk period reads other services use. The use cases
//! are `app::{targets, split, phasing, figures}`.

use crate::app::figures_cache::FiguresCache;
use attain_kit::{
    ServiceError, ServiceResult, context::Ctx, idempotency::IdempotencyKey, money::Amount, paging::PageRequest,
};
use attain_proto::attain::{common::v1 as common, target::v1 as pb};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;

use super::convert;
use crate::{
    app::{
        figures::{self, PeriodQuery},
        phasing::{self, MilestonesOf, PhaseRequest, Phased},
        split::{self, SplitBy, SplitOutcome, SplitRequest, SplitRow},
        targets,
    },
    domain::{
        allocation::{ChildInput, Modifiers, SplitStrategy},
        milestones::Milestones,
        org::UnitId,
        target::{Dimensions, parse_plan_name, parse_target_name},
    },
};

fn as_of(ts: Option<&prost_types::Timestamp>) -> ServiceResult<Option<DateTime<Utc>>> {
    ts.map(|t| {
        let nanos = u32::try_from(t.nanos).map_err(|_| ServiceError::invalid("as_of", "nanos out of range"))?;
        DateTime::from_timestamp(t.seconds, nanos).ok_or_else(|| ServiceError::invalid("as_of", "is out of range"))
    })
    .transpose()
}

fn dimensions(d: Option<&common::Dimensions>) -> Dimensions {
    d.map(|d| Dimensions {
        product_line: d.product_line.trim().to_owned(),
        customer_type: d.customer_type.trim().to_owned(),
    })
    .unwrap_or_default()
}

pub async fn get(db: &DatabaseConnection, ctx: Ctx, r: pb::GetTargetRequest) -> ServiceResult<pb::Target> {
    let (plan_id, target_id) = parse_target_name("name", &r.name)?;
    let (plan, t) = targets::get(db, &ctx.who, (&plan_id, &target_id, &r.name), as_of(r.as_of.as_ref())?).await?;
    Ok(convert::target(&t, plan.currency))
}

pub async fn list(
    db: &DatabaseConnection,
    ctx: Ctx,
    r: pb::ListTargetsRequest,
) -> ServiceResult<pb::ListTargetsResponse> {
    let who = ctx.who;
    let plan_id = parse_plan_name("parent", &r.parent)?;
    let query = format!("ListTargets {} unit={} as_of={:?}", r.parent, r.unit, r.as_of);
    let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
    let unit = (!r.unit.is_empty()).then(|| UnitId::from_name("unit", &r.unit)).transpose()?;
    let as_of = as_of(r.as_of.as_ref())?;
    let (plan, rows, next_page_token) = targets::list(db, &who, &plan_id, unit, &page, as_of).await?;
    Ok(pb::ListTargetsResponse {
        targets: rows.iter().map(|t| convert::target(t, plan.currency)).collect(),
        next_page_token,
    })
}

fn strategy(v: i32) -> ServiceResult<SplitStrategy> {
    match pb::SplitStrategy::try_from(v) {
        Ok(pb::SplitStrategy::Equal) => Ok(SplitStrategy::Equal),
        Ok(pb::SplitStrategy::Weights) => Ok(SplitStrategy::Weights),
        Ok(pb::SplitStrategy::HistoricalShare) => Ok(SplitStrategy::HistoricalShare),
        Ok(pb::SplitStrategy::Manual) => Ok(SplitStrategy::Manual),
        Ok(pb::SplitStrategy::Unspecified) => {
            Err(ServiceError::invalid("strategy", "is required (EQUAL, WEIGHTS, HISTORICAL_SHARE or MANUAL)"))
        }
        Err(_) => Err(ServiceError::invalid("strategy", format!("{v} is not a SplitStrategy"))),
    }
}

fn modifiers(m: Option<&pb::SplitModifiers>) -> ServiceResult<Modifiers> {
    let Some(m) = m else {
        return Ok(Modifiers::default());
    };
    let factor = |name: &str, s: &str| -> ServiceResult<Option<Decimal>> {
        let f = format!("modifiers.{name}");
        let v = convert::opt_decimal(&f, s)?;
        if v.is_some_and(|v| v.is_sign_negative()) {
            return Err(ServiceError::invalid(f, "must not be negative"));
        }
        Ok(v)
    };
    let base = |name: &str, s: &str| -> ServiceResult<Option<Amount>> {
        let f = format!("modifiers.{name}");
        let v = convert::opt_amount(&f, s)?;
        if v.is_some_and(Amount::is_negative) {
            return Err(ServiceError::invalid(f, "must not be negative"));
        }
        Ok(v)
    };
    Ok(Modifiers {
        new_hire_factor: factor("new_hire_factor", &m.new_hire_factor)?,
        new_hire_base: base("new_hire_base_amount", &m.new_hire_base_amount)?,
        new_region_factor: factor("new_region_factor", &m.new_region_factor)?,
        new_region_base: base("new_region_base_amount", &m.new_region_base_amount)?,
        blend_history_percent: convert::opt_decimal("modifiers.blend_history_percent", &m.blend_history_percent)?,
    })
}

fn child_input(i: usize, s: &pb::SplitInput) -> ServiceResult<ChildInput> {
    let f = |name: &str| format!("inputs[{i}].{name}");
    Ok(ChildInput {
        weight: convert::opt_decimal(&f("weight"), &s.weight)?,
        historical_actual: convert::opt_amount(&f("historical_actual"), &s.historical_actual)?,
        manual_amount: convert::opt_amount(&f("manual_amount"), &s.manual_amount)?,
        potential_weight: convert::opt_decimal(&f("potential_weight"), &s.potential_weight)?,
        new_hire: false,
        new_region: false,
    })
}

fn split_request(r: pb::DecomposeTargetRequest) -> ServiceResult<SplitRequest> {
    let (plan, target) = parse_target_name("parent_target", &r.parent_target)?;
    let by = match pb::SplitDimension::try_from(r.dimension) {
        Ok(pb::SplitDimension::Unspecified | pb::SplitDimension::Org) => SplitBy::Org,
        Ok(pb::SplitDimension::ProductLine) => SplitBy::ProductLine,
        Ok(pb::SplitDimension::CustomerType) => SplitBy::CustomerType,
        Err(_) => return Err(ServiceError::invalid("dimension", format!("{} is not a SplitDimension", r.dimension))),
    };
    let rows = r
        .inputs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let unit = match by {
                SplitBy::Org => Some(UnitId::from_name(&format!("inputs[{i}].unit"), &s.unit)?),
                _ => None,
            };
            Ok(SplitRow { unit, slice: s.dimension_value.clone(), input: child_input(i, s)? })
        })
        .collect::<ServiceResult<_>>()?;
    Ok(SplitRequest {
        parent: (plan, target),
        parent_name: r.parent_target,
        strategy: strategy(r.strategy)?,
        modifiers: modifiers(r.modifiers.as_ref())?,
        allocate_percent: convert::opt_decimal("allocate_percent", &r.allocate_percent)?
            .unwrap_or(Decimal::ONE_HUNDRED),
        by,
        rows,
        validate_only: r.validate_only,
    })
}

fn split_response(o: &SplitOutcome) -> pb::DecomposeTargetResponse {
    pb::DecomposeTargetResponse {
        targets: o.targets.iter().map(|t| convert::target(t, o.plan.currency)).collect(),
        coverage: Some(convert::to_coverage(&o.coverage, o.plan.currency)),
        validate_only: o.validate_only,
    }
}

pub async fn decompose(
    db: &DatabaseConnection,
    ctx: Ctx,
    mut r: pb::DecomposeTargetRequest,
) -> ServiceResult<pb::DecomposeTargetResponse> {
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&ctx.who.person, "DecomposeTarget", &request_id, &r)?;
    split::split(db, &ctx.who, key, split_request(r)?, split_response).await
}

fn phase_response(p: &Phased) -> pb::PhaseTargetResponse {
    let money = |a: Amount| Some(convert::money(a, p.plan.currency));
    pb::PhaseTargetResponse {
        target: Some(convert::target(&p.target, p.plan.currency)),
        periods: p
            .periods
            .iter()
            .map(|(period, a)| pb::PeriodAmount { period: Some(convert::period(period)), amount: money(*a) })
            .collect(),
    }
}

pub async fn phase(
    db: &DatabaseConnection,
    ctx: Ctx,
    mut r: pb::PhaseTargetRequest,
) -> ServiceResult<pb::PhaseTargetResponse> {
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&ctx.who.person, "PhaseTarget", &request_id, &r)?;
    let curve = convert::curve("phasing", r.phasing.as_ref())?
        .ok_or_else(|| ServiceError::invalid("phasing.method", "is required"))?;
    let ask = PhaseRequest {
        target: parse_target_name("target", &r.target)?,
        target_name: r.target,
        curve,
        periods: r.periods,
        include_descendants: r.include_descendants,
        etag: r.etag,
        validate_only: r.validate_only,
        ramp: convert::ramp("phasing", r.phasing.as_ref())?,
    };
    phasing::phase(db, &ctx.who, key, ask, phase_response).await
}

pub async fn set_milestones(
    db: &DatabaseConnection,
    ctx: Ctx,
    mut r: pb::SetMilestonesRequest,
) -> ServiceResult<pb::SetMilestonesResponse> {
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&ctx.who.person, "SetMilestones", &request_id, &r)?;
    let ms = convert::milestones("milestones", &r.milestones)?;
    let of = if r.parent.contains("/targets/") {
        let (plan, target) = parse_target_name("parent", &r.parent)?;
        MilestonesOf::Target(plan, target, r.parent.clone())
    } else {
        MilestonesOf::Plan(parse_plan_name("parent", &r.parent)?)
    };
    let render =
        |ms: &Milestones, etag: String| pb::SetMilestonesResponse { milestones: convert::to_milestones(ms), etag };
    phasing::set_milestones(db, &ctx.who, key, (of, &r.etag), ms, render).await
}

pub async fn query_period_targets(
    db: &DatabaseConnection,
    ctx: Ctx,
    r: pb::QueryPeriodTargetsRequest,
) -> ServiceResult<pb::QueryPeriodTargetsResponse> {
    let q = PeriodQuery {
        plan: parse_plan_name("plan", &r.plan)?,
        period: r.period.clone(),
        unit: UnitId::from_name("unit", &r.unit)?,
        children_only: r.children_only,
        dims: dimensions(r.dimensions.as_ref()),
        as_of: as_of(r.as_of.as_ref())?,
    };
    let t = figures::period_targets(db, &ctx.who, q).await?;
    let currency = t.plan.currency;
    Ok(pb::QueryPeriodTargetsResponse {
        period: Some(convert::period(&t.period)),
        targets: t
            .figures
            .iter()
            .map(|f| pb::UnitPeriodTarget {
                unit: f.unit.resource_name(),
                target: f.target.clone(),
                amount: Some(convert::money(f.amount, currency)),
                original_amount: Some(convert::money(f.original_amount, currency)),
                period: Some(convert::period(&f.days)),
            })
            .collect(),
        working_days: i32::try_from(t.working_days).unwrap_or(i32::MAX),
    })
}

pub const MAX_BATCH_UNITS: usize = 10_000;

/// The data version callers keep answers under.
pub async fn data_version(
    db: &DatabaseConnection,
    ctx: Ctx,
    _r: pb::GetDataVersionRequest,
) -> ServiceResult<pb::DataVersion> {
    Ok(pb::DataVersion { version: crate::app::data_version(db, &ctx.who).await? })
}

pub async fn batch_get_expected_amounts(
    (db, cache): (&DatabaseConnection, &FiguresCache),
    ctx: Ctx,
    r: pb::BatchGetExpectedAmountsRequest,
) -> ServiceResult<pb::BatchGetExpectedAmountsResponse> {
    if r.units.len() > MAX_BATCH_UNITS {
        return Err(ServiceError::invalid("units", format!("at most {MAX_BATCH_UNITS} units per call")));
    }
    let plan = parse_plan_name("plan", &r.plan)?;
    let day =
        convert::date("date", &r.date)?.ok_or_else(|| ServiceError::invalid("date", "is required (YYYY-MM-DD)"))?;
    let ids: Vec<UnitId> = r
        .units
        .iter()
        .enumerate()
        .map(|(i, u)| UnitId::from_name(&format!("units[{i}]"), u))
        .collect::<attain_kit::DomainResult<_>>()?;
    let dims = dimensions(r.dimensions.as_ref());
    let e = figures::expected((db, cache), &ctx.who, (&plan, &r.period), &ids, (day, &dims), r.include_daily).await?;
    let money = |a: Amount| Some(convert::money(a, e.plan.currency));
    let amounts = e
        .units
        .iter()
        .map(|u| pb::ExpectedAmount {
            daily: u
                .daily
                .iter()
                .map(|(d, by_curve, by_milestone)| pb::ExpectedDay {
                    date: d.format("%Y-%m-%d").to_string(),
                    expected_by_curve: money(*by_curve),
                    expected_by_milestone: money(*by_milestone),
                })
                .collect(),
            milestones: u.milestones.as_ref().map(convert::to_milestones).unwrap_or_default(),
            unit: u.unit.resource_name(),
            period_target: money(u.period_target),
            expected_by_curve: money(u.by_curve),
            expected_by_milestone: money(u.by_milestone),
            milestone: u.milestone.as_ref().map(convert::to_milestone),
            time_progress: e.time_progress.normalize().to_string(),
            original_period_target: money(u.original_period_target),
        })
        .collect();
    Ok(pb::BatchGetExpectedAmountsResponse {
        period: Some(convert::period(&e.period)),
        amounts,
        alert_thresholds: Some(convert::to_thresholds(&e.plan.config.thresholds)),
        time_progress: e.time_progress.normalize().to_string(),
    })
}

pub async fn list_revisions(
    db: &DatabaseConnection,
    ctx: Ctx,
    r: pb::ListTargetRevisionsRequest,
) -> ServiceResult<pb::ListTargetRevisionsResponse> {
    let who = ctx.who;
    let query = format!("ListTargetRevisions {}", r.parent);
    let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
    let (plan_id, target_id) = parse_target_name("parent", &r.parent)?;
    let after = page
        .after
        .as_deref()
        .map(|a| a.parse::<i64>().map_err(|_| ServiceError::invalid("page_token", "is not a token of this listing")))
        .transpose()?;
    let span = (after, page.fetch_limit());
    let (plan, mut rows) = targets::revisions(db, &who, (&plan_id, &target_id, &r.parent), span).await?;
    let next_page_token = page.finish(&mut rows, |r| r.id.to_string());
    Ok(pb::ListTargetRevisionsResponse {
        revisions: rows.iter().map(|x| convert::target_revision(x, plan.currency)).collect(),
        next_page_token,
    })
}
