//! Targets: reads (as of any instant), splits, phasing, milestones and the
//! bulk period reads other services use.

use attain_kit::context::Ctx;
use attain_kit::idempotent;
use std::collections::{HashMap, HashSet};

use attain_kit::{
    ServiceError, ServiceResult,
    auth::{Identity, Role},
    idempotency::IdempotencyKey,
    money::Amount,
    paging::PageRequest,
    period::Period,
};
use attain_proto::attain::target::v1 as pb;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::{check_etag, convert, deny_manage, hidden, plans::visible_plan, visible_unit, visible_units};
use crate::{
    domain::{
        allocation::{ChildInput, Modifiers, Split, SplitStrategy},
        org::{Id, RegionMaturity, Seniority, Unit, UnitId},
        plan::Plan,
        rollup::{Phaser, TargetTree},
        target::{Change, Dimensions, Target, parse_plan_name, parse_target_name},
    },
    storage::{targets, targets::Why, units},
};

/// Loads a target whose unit the caller may read, with its plan and unit.
async fn visible_target(
    db: &impl ConnectionTrait,
    who: &Identity,
    field: &str,
    name: &str,
) -> ServiceResult<(Plan, Target, Unit)> {
    let (plan_id, target_id) = parse_target_name(field, name)?;
    let plan = visible_plan(db, who, &plan_id).await?;
    let target = match targets::get(db, &plan_id, &target_id).await? {
        Some(t) => t,
        None if who.is_admin() => {
            if units::get(db, &target_id).await?.is_some() {
                return Err(ServiceError::precondition(
                    "NO_TARGET_YET",
                    format!(
                        "units/{} has no target in {} yet: split its parent's target first",
                        target_id.as_str(),
                        plan.resource_name()
                    ),
                ));
            }
            return Err(ServiceError::not_found("target", name));
        }
        None => return Err(hidden(name)),
    };
    let unit = visible_unit(db, who, &target.unit).await.map_err(|_| hidden(name))?;
    Ok((plan, target, unit))
}

fn apply_as_of(list: &mut Vec<Target>, as_of: &HashMap<String, Amount>) {
    list.retain_mut(|t| match as_of.get(t.id.as_str()) {
        Some(a) => {
            t.amount = *a;
            true
        }
        None => false,
    });
}

fn as_of(ts: Option<&prost_types::Timestamp>) -> ServiceResult<Option<DateTime<Utc>>> {
    ts.map(|t| {
        let nanos = u32::try_from(t.nanos).map_err(|_| ServiceError::invalid("as_of", "nanos out of range"))?;
        DateTime::from_timestamp(t.seconds, nanos).ok_or_else(|| ServiceError::invalid("as_of", "is out of range"))
    })
    .transpose()
}

pub async fn get(db: &DatabaseConnection, ctx: Ctx, r: pb::GetTargetRequest) -> ServiceResult<pb::Target> {
    let who = ctx.who;
    let (plan, target, _) = visible_target(db, &who, "name", &r.name).await?;
    let mut list = vec![target];
    if let Some(at) = as_of(r.as_of.as_ref())? {
        apply_as_of(&mut list, &targets::amounts_as_of(db, &plan.id, at).await?);
    }
    let t = list.pop().ok_or_else(|| ServiceError::not_found("target (at that instant)", r.name.clone()))?;
    Ok(convert::target(&t, plan.currency))
}

/// Ids of the units under `root` that the caller may read.
async fn readable_subtree(db: &impl ConnectionTrait, who: &Identity, root: &Unit) -> ServiceResult<Vec<Unit>> {
    Ok(units::subtree(db, root).await?.into_iter().filter(|u| who.can_read(&u.path())).collect())
}

pub async fn list(
    db: &DatabaseConnection,
    ctx: Ctx,
    r: pb::ListTargetsRequest,
) -> ServiceResult<pb::ListTargetsResponse> {
    let who = ctx.who;
    let plan_id = parse_plan_name("parent", &r.parent)?;
    let page = PageRequest::parse(
        r.page_size,
        &r.page_token,
        &format!("ListTargets {} unit={} as_of={:?}", r.parent, r.unit, r.as_of),
        &who,
    )?;
    let plan = visible_plan(db, &who, &plan_id).await?;
    let root = match (r.unit.as_str(), who.is_admin()) {
        ("", true) => None,
        ("", false) => Some(UnitId::parse("unit", &who.unit)?),
        (u, _) => Some(UnitId::from_name("unit", u)?),
    };
    let ids = match root {
        Some(id) => {
            let root = visible_unit(db, &who, &id).await?;
            Some(readable_subtree(db, &who, &root).await?.into_iter().map(|u| u.id).collect::<Vec<_>>())
        }
        None => None,
    };
    let mut rows = targets::list(db, &plan.id, ids.as_deref(), page.after.as_deref(), page.fetch_limit()).await?;
    let next_page_token = page.finish(&mut rows, |t| t.id.as_str().to_owned());
    if let Some(at) = as_of(r.as_of.as_ref())? {
        apply_as_of(&mut rows, &targets::amounts_as_of(db, &plan.id, at).await?);
    }
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

/// One child of a split: which unit and slice it is, and its inputs.
struct Child {
    unit: UnitId,
    dimensions: Dimensions,
    input: ChildInput,
}

pub async fn decompose(
    db: &DatabaseConnection,
    ctx: Ctx,
    mut r: pb::DecomposeTargetRequest,
) -> ServiceResult<pb::DecomposeTargetResponse> {
    let who = ctx.who;
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&who.person, "DecomposeTarget", &request_id, &r)?;
    let strategy = strategy(r.strategy)?;
    let mods = modifiers(r.modifiers.as_ref())?;
    let allocate_percent =
        convert::opt_decimal("allocate_percent", &r.allocate_percent)?.unwrap_or(Decimal::ONE_HUNDRED);
    let dimension = pb::SplitDimension::try_from(r.dimension)
        .map_err(|_| ServiceError::invalid("dimension", format!("{} is not a SplitDimension", r.dimension)))?;
    idempotent!(db, key, |txn| {
        let (plan, parent, parent_unit) = visible_target(&txn, &who, "parent_target", &r.parent_target).await?;
        // Splitting sets the targets below: admins and managers only, asked
        // before the plan's state so others learn nothing of it. (Each child
        // is checked against the manager's reach below.)
        if !matches!(who.role, Role::Admin | Role::Manager) {
            return Err(deny_manage("DecomposeTarget"));
        }
        plan.require_draft("DecomposeTarget")?;
        let mut children = Vec::with_capacity(r.inputs.len());
        let mut seen = HashSet::new();
        match dimension {
            pb::SplitDimension::Unspecified | pb::SplitDimension::Org => {
                if !parent.dimensions.is_all() {
                    return Err(ServiceError::invalid(
                        "parent_target",
                        "an org split starts from a unit's whole target, not a dimension slice",
                    ));
                }
                let listed: Vec<(usize, UnitId)> = if r.inputs.is_empty() && strategy == SplitStrategy::Equal {
                    units::subtree(&txn, &parent_unit)
                        .await?
                        .into_iter()
                        .filter(|u| u.parent.as_ref() == Some(&parent_unit.id))
                        .map(|u| u.id)
                        .enumerate()
                        .collect()
                } else {
                    r.inputs
                        .iter()
                        .enumerate()
                        .map(|(i, s)| Ok((i, UnitId::from_name(&format!("inputs[{i}].unit"), &s.unit)?)))
                        .collect::<ServiceResult<_>>()?
                };
                for (i, id) in listed {
                    let field = format!("inputs[{i}].unit");
                    let unit = units::get(&txn, &id)
                        .await?
                        .filter(|u| u.parent.as_ref() == Some(&parent_unit.id))
                        .ok_or_else(|| {
                            ServiceError::invalid(
                                &field,
                                format!("{} is not a child of {}", id.resource_name(), parent_unit.id.resource_name()),
                            )
                        })?;
                    if !seen.insert(id.as_str().to_owned()) {
                        return Err(ServiceError::invalid(&field, format!("{} is listed twice", id.resource_name())));
                    }
                    if !who.can_manage(&unit.path()) {
                        return Err(deny_manage("DecomposeTarget"));
                    }
                    let mut input = match r.inputs.get(i) {
                        Some(s) => child_input(i, s)?,
                        None => ChildInput::default(),
                    };
                    input.new_hire = unit.attributes.seniority == Some(Seniority::NewHire);
                    input.new_region = unit.attributes.region_maturity == Some(RegionMaturity::New);
                    children.push(Child { unit: unit.id, dimensions: Dimensions::default(), input });
                }
            }
            pb::SplitDimension::ProductLine | pb::SplitDimension::CustomerType => {
                if !who.can_manage(&parent_unit.path()) {
                    return Err(deny_manage("DecomposeTarget"));
                }
                let by_product = dimension == pb::SplitDimension::ProductLine;
                if (by_product && !parent.dimensions.product_line.is_empty())
                    || (!by_product && !parent.dimensions.customer_type.is_empty())
                {
                    return Err(ServiceError::invalid(
                        "dimension",
                        "the parent target is already a slice of this dimension",
                    ));
                }
                for (i, s) in r.inputs.iter().enumerate() {
                    let field = format!("inputs[{i}].dimension_value");
                    let value = s.dimension_value.trim();
                    if value.is_empty() || value.chars().count() > 100 {
                        return Err(ServiceError::invalid(&field, "name the slice in 1–100 characters"));
                    }
                    if !seen.insert(value.to_owned()) {
                        return Err(ServiceError::invalid(&field, format!("{value:?} is listed twice")));
                    }
                    let mut dimensions = parent.dimensions.clone();
                    if by_product {
                        dimensions.product_line = value.to_owned();
                    } else {
                        dimensions.customer_type = value.to_owned();
                    }
                    children.push(Child { unit: parent_unit.id.clone(), dimensions, input: child_input(i, s)? });
                }
            }
        }
        // A re-split must cover every child that already has a target.
        let existing = targets::children(&txn, &plan.id, &parent.id).await?;
        for e in &existing {
            if !children.iter().any(|c| c.unit == e.unit && c.dimensions == e.dimensions) {
                return Err(ServiceError::invalid(
                    "inputs",
                    format!("{} already has a target from this parent; include it in the split", e.resource_name()),
                ));
            }
        }
        let split = Split {
            parent: parent.amount,
            unit: plan.config.rounding_unit,
            strategy,
            children: children.iter().map(|c| c.input.clone()).collect(),
            modifiers: mods.clone(),
            allocate_percent,
        };
        let (amounts, coverage) = split.compute()?;
        coverage.check(
            plan.config.coverage,
            if strategy == SplitStrategy::Manual { "inputs" } else { "allocate_percent" },
        )?;

        let now = Utc::now();
        let reason = format!("split of {} by {:?}", parent.resource_name(), strategy);
        let why = Why { change: Change::Split, actor: &who.person, reason: &reason, adjustment: None };
        let mut out = Vec::with_capacity(children.len());
        for (c, amount) in children.iter().zip(amounts) {
            let current = existing.iter().find(|e| e.unit == c.unit && e.dimensions == c.dimensions).cloned();
            let saved = match current {
                Some(cur) => {
                    let mut next = cur.clone();
                    next.amount = amount;
                    next.original_amount = amount;
                    next.version = cur.version + 1;
                    next.update_time = now;
                    if !r.validate_only && !targets::update(&txn, &cur, &next, &why).await? {
                        return Err(ServiceError::stale_etag(&cur.resource_name()));
                    }
                    next
                }
                None => {
                    let id = if c.dimensions.is_all() { c.unit.clone() } else { Id::generate() };
                    let t = Target {
                        plan: plan.id.clone(),
                        id,
                        unit: c.unit.clone(),
                        dimensions: c.dimensions.clone(),
                        amount,
                        original_amount: amount,
                        parent: Some(parent.id.clone()),
                        phasing: None,
                        milestones: None,
                        coverage: None,
                        version: 1,
                        create_time: now,
                        update_time: now,
                    };
                    if !r.validate_only {
                        if targets::find(&txn, &plan.id, &t.unit, &t.dimensions).await?.is_some() {
                            return Err(ServiceError::invalid(
                                "inputs",
                                format!("{} already has a target from another parent", t.unit.resource_name()),
                            ));
                        }
                        targets::insert(&txn, &t, &why).await?;
                    }
                    t
                }
            };
            out.push(saved);
        }
        if !r.validate_only {
            let mut next = parent.clone();
            next.coverage = Some(coverage);
            next.version = parent.version + 1;
            next.update_time = now;
            if !targets::update(&txn, &parent, &next, &why).await? {
                return Err(ServiceError::stale_etag(&parent.resource_name()));
            }
        }
        pb::DecomposeTargetResponse {
            targets: out.iter().map(|t| convert::target(t, plan.currency)).collect(),
            coverage: Some(convert::to_coverage(&coverage, plan.currency)),
            validate_only: r.validate_only,
        }
    })
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

pub async fn phase(
    db: &DatabaseConnection,
    ctx: Ctx,
    mut r: pb::PhaseTargetRequest,
) -> ServiceResult<pb::PhaseTargetResponse> {
    let who = ctx.who;
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&who.person, "PhaseTarget", &request_id, &r)?;
    let curve = convert::curve("phasing", r.phasing.as_ref())?
        .ok_or_else(|| ServiceError::invalid("phasing.method", "is required"))?;
    idempotent!(db, key, |txn| {
        let (plan, target, unit) = visible_target(&txn, &who, "target", &r.target).await?;
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
        next.phasing = Some(curve.clone());
        next.version = target.version + 1;
        next.update_time = Utc::now();
        // The periods shown are the target's rolled-up figures as they will
        // stand: its children's plus its own remainder on the new curve.
        let mut family = targets::with_descendants(&txn, &plan.id, std::slice::from_ref(&unit.id)).await?;
        for t in &mut family {
            if t.id == next.id {
                *t = next.clone();
            } else if r.include_descendants && t.unit != unit.id {
                t.phasing = Some(curve.clone());
            }
        }
        let tree = TargetTree::new(family);
        let set = tree.for_target(&next.id);
        let mut phaser = Phaser::new(&plan)?;
        let amounts = periods
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let a = tree.period(&mut phaser, &set, p, &format!("periods[{i}]"))?.target;
                Ok(pb::PeriodAmount {
                    period: Some(convert::period(p)),
                    amount: Some(convert::money(a, plan.currency)),
                })
            })
            .collect::<ServiceResult<Vec<_>>>()?;
        if !r.validate_only {
            let reason = format!("phased {:?}", curve);
            let why = Why { change: Change::Phased, actor: &who.person, reason: &reason, adjustment: None };
            if !targets::update(&txn, &target, &next, &why).await? {
                return Err(ServiceError::stale_etag(&target.resource_name()));
            }
            if r.include_descendants {
                let below: Vec<UnitId> =
                    units::subtree(&txn, &unit).await?.into_iter().filter(|u| u.id != unit.id).map(|u| u.id).collect();
                for t in targets::of_units(&txn, &plan.id, &below).await? {
                    let mut n = t.clone();
                    n.phasing = Some(curve.clone());
                    n.version = t.version + 1;
                    n.update_time = next.update_time;
                    if !targets::update(&txn, &t, &n, &why).await? {
                        return Err(ServiceError::stale_etag(&t.resource_name()));
                    }
                }
            }
        }
        pb::PhaseTargetResponse { target: Some(convert::target(&next, plan.currency)), periods: amounts }
    })
}

pub async fn set_milestones(
    db: &DatabaseConnection,
    ctx: Ctx,
    mut r: pb::SetMilestonesRequest,
) -> ServiceResult<pb::SetMilestonesResponse> {
    let who = ctx.who;
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&who.person, "SetMilestones", &request_id, &r)?;
    let ms = convert::milestones("milestones", &r.milestones)?;
    idempotent!(db, key, |txn| {
        if r.parent.contains("/targets/") {
            let (plan, target, unit) = visible_target(&txn, &who, "parent", &r.parent).await?;
            if !who.can_manage(&unit.path()) {
                return Err(deny_manage("SetMilestones"));
            }
            check_etag(&r.etag, &target.etag(), &target.resource_name())?;
            if plan.state == crate::domain::plan::PlanState::Closed {
                return Err(ServiceError::precondition("PLAN_CLOSED", format!("{} is CLOSED", plan.resource_name())));
            }
            let mut next = target.clone();
            next.milestones = (!ms.is_empty()).then(|| ms.clone());
            next.version = target.version + 1;
            next.update_time = Utc::now();
            let why = Why { change: Change::Phased, actor: &who.person, reason: "milestones set", adjustment: None };
            if !targets::update(&txn, &target, &next, &why).await? {
                return Err(ServiceError::stale_etag(&target.resource_name()));
            }
            pb::SetMilestonesResponse { milestones: convert::to_milestones(&ms), etag: next.etag() }
        } else {
            super::require_admin(&who, "SetMilestones on a plan")?;
            let plan_id = parse_plan_name("parent", &r.parent)?;
            let plan = visible_plan(&txn, &who, &plan_id).await?;
            check_etag(&r.etag, &plan.etag(), &plan.resource_name())?;
            if plan.state == crate::domain::plan::PlanState::Closed {
                return Err(ServiceError::precondition("PLAN_CLOSED", format!("{} is CLOSED", plan.resource_name())));
            }
            let mut next = plan.clone();
            next.config.milestone_template = ms.clone();
            next.version = plan.version + 1;
            next.update_time = Utc::now();
            if !crate::storage::plans::update(&txn, &next, plan.version).await? {
                return Err(ServiceError::stale_etag(&plan.resource_name()));
            }
            pb::SetMilestonesResponse { milestones: convert::to_milestones(&ms), etag: next.etag() }
        }
    })
}

fn dimensions(d: Option<&attain_proto::attain::common::v1::Dimensions>) -> Dimensions {
    d.map(|d| Dimensions {
        product_line: d.product_line.trim().to_owned(),
        customer_type: d.customer_type.trim().to_owned(),
    })
    .unwrap_or_default()
}

/// The targets of `units` and all split from them, as they stood at `as_of`
/// when given: what their rolled-up figures are made of.
async fn rolled_tree(
    db: &DatabaseConnection,
    plan: &Plan,
    units: &[UnitId],
    at: Option<&prost_types::Timestamp>,
) -> ServiceResult<TargetTree> {
    let tree = TargetTree::new(targets::with_descendants(db, &plan.id, units).await?);
    Ok(match as_of(at)? {
        Some(at) => tree.as_of(&targets::amounts_as_of(db, &plan.id, at).await?),
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

pub async fn query_period_targets(
    db: &DatabaseConnection,
    ctx: Ctx,
    r: pb::QueryPeriodTargetsRequest,
) -> ServiceResult<pb::QueryPeriodTargetsResponse> {
    let who = ctx.who;
    let plan_id = parse_plan_name("plan", &r.plan)?;
    let plan = visible_plan(db, &who, &plan_id).await?;
    let period = plan.period("period", &r.period)?;
    let root = visible_unit(db, &who, &UnitId::from_name("unit", &r.unit)?).await?;
    let mut members = readable_subtree(db, &who, &root).await?;
    if r.children_only {
        members.retain(|u| u.id == root.id || u.parent.as_ref() == Some(&root.id));
    }
    let dims = dimensions(r.dimensions.as_ref());
    let ids: Vec<UnitId> = members.iter().map(|u| u.id.clone()).collect();
    let tree = rolled_tree(db, &plan, &ids, r.as_of.as_ref()).await?;
    let mut phaser = Phaser::new(&plan)?;
    let mut out = Vec::with_capacity(members.len());
    for u in &members {
        // A unit's figure rolls up its children's; a unit without a target
        // for what was asked has no row.
        let set = tree.for_unit(&u.id, &dims);
        if set.is_empty() {
            continue;
        }
        let f = tree.period(&mut phaser, &set, &period, "period")?;
        out.push(pb::UnitPeriodTarget {
            unit: u.id.resource_name(),
            target: single_target(&tree, &set),
            amount: Some(convert::money(f.target, plan.currency)),
            original_amount: Some(convert::money(f.original_target, plan.currency)),
        });
    }
    let working_days = plan.config.calendar.working_days(period.start, period.end);
    Ok(pb::QueryPeriodTargetsResponse {
        period: Some(convert::period(&period)),
        targets: out,
        working_days: i32::try_from(working_days).unwrap_or(i32::MAX),
    })
}

pub const MAX_BATCH_UNITS: usize = 10_000;

pub async fn batch_get_expected_amounts(
    db: &DatabaseConnection,
    ctx: Ctx,
    r: pb::BatchGetExpectedAmountsRequest,
) -> ServiceResult<pb::BatchGetExpectedAmountsResponse> {
    let who = ctx.who;
    if r.units.len() > MAX_BATCH_UNITS {
        return Err(ServiceError::invalid("units", format!("at most {MAX_BATCH_UNITS} units per call")));
    }
    let plan_id = parse_plan_name("plan", &r.plan)?;
    let plan = visible_plan(db, &who, &plan_id).await?;
    let period = plan.period("period", &r.period)?;
    let day =
        convert::date("date", &r.date)?.ok_or_else(|| ServiceError::invalid("date", "is required (YYYY-MM-DD)"))?;
    let ids: Vec<UnitId> = r
        .units
        .iter()
        .enumerate()
        .map(|(i, u)| UnitId::from_name(&format!("units[{i}]"), u))
        .collect::<attain_kit::DomainResult<_>>()?;
    visible_units(db, &who, &ids).await?;
    let dims = dimensions(r.dimensions.as_ref());
    let tree = rolled_tree(db, &plan, &ids, None).await?;
    let mut phaser = Phaser::new(&plan)?;
    let progress = plan.config.calendar.time_progress(&period, day).round_dp(12);
    // One pass over the period's days when asked: cost grows with days and
    // targets, never with deals.
    let all_days: Vec<NaiveDate> =
        if r.include_daily { period.start.iter_days().take_while(|d| *d <= period.end).collect() } else { Vec::new() };
    let mut done = HashSet::new();
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        let set = tree.for_unit(id, &dims);
        if set.is_empty() || !done.insert(id.as_str()) {
            continue;
        }
        let f = tree.period(&mut phaser, &set, &period, "period")?;
        let today = tree.expected(&mut phaser, &set, &period, &[day])?;
        let Some(today) = today.into_iter().next() else { continue };
        let daily = tree
            .expected(&mut phaser, &set, &period, &all_days)?
            .into_iter()
            .zip(&all_days)
            .map(|(e, d)| pb::ExpectedDay {
                date: d.format("%Y-%m-%d").to_string(),
                expected_by_curve: Some(convert::money(e.by_curve, plan.currency)),
                expected_by_milestone: Some(convert::money(e.by_milestone, plan.currency)),
            })
            .collect();
        let milestones = match tree.shown_template(&phaser, &set, &period) {
            Some(t) if r.include_daily => convert::to_milestones(&t),
            _ => Vec::new(),
        };
        out.push(pb::ExpectedAmount {
            daily,
            milestones,
            unit: id.resource_name(),
            period_target: Some(convert::money(f.target, plan.currency)),
            expected_by_curve: Some(convert::money(today.by_curve, plan.currency)),
            expected_by_milestone: Some(convert::money(today.by_milestone, plan.currency)),
            milestone: today.milestone.as_ref().map(convert::to_milestone),
            time_progress: progress.normalize().to_string(),
            original_period_target: Some(convert::money(f.original_target, plan.currency)),
        });
    }
    Ok(pb::BatchGetExpectedAmountsResponse {
        period: Some(convert::period(&period)),
        amounts: out,
        alert_thresholds: Some(convert::to_thresholds(&plan.config.thresholds)),
    })
}

pub async fn list_revisions(
    db: &DatabaseConnection,
    ctx: Ctx,
    r: pb::ListTargetRevisionsRequest,
) -> ServiceResult<pb::ListTargetRevisionsResponse> {
    let who = ctx.who;
    let page = PageRequest::parse(r.page_size, &r.page_token, &format!("ListTargetRevisions {}", r.parent), &who)?;
    let (plan, target, _) = visible_target(db, &who, "parent", &r.parent).await?;
    let after = page
        .after
        .as_deref()
        .map(|a| a.parse::<i64>().map_err(|_| ServiceError::invalid("page_token", "is not a token of this listing")))
        .transpose()?;
    let mut rows = targets::revisions(db, &plan.id, &target.id, after, page.fetch_limit()).await?;
    let next_page_token = page.finish(&mut rows, |r| r.id.to_string());
    Ok(pb::ListTargetRevisionsResponse {
        revisions: rows.iter().map(|x| convert::target_revision(x, plan.currency)).collect(),
        next_page_token,
    })
}
