//! Splitting a target: over the units below its unit, or over a dimension
//! (product line, customer type) of its own unit. The amounts come from
//! `domain::allocation`; a re-split must name every child that already has
//! a target, so nothing is orphaned.

use std::collections::HashSet;

use attain_kit::{ServiceError, ServiceResult, auth::Identity, auth::Role, idempotency::IdempotencyKey, idempotent};
use chrono::Utc;
use prost::Message;
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;

use super::scope::{deny_manage, visible_target};
use crate::{
    domain::{
        allocation::{ChildInput, Coverage, Modifiers, Split, SplitStrategy},
        org::{Id, RegionMaturity, Seniority, Unit, UnitId},
        plan::Plan,
        target::{Change, Dimensions, Target},
    },
    storage::{targets, targets::Why, units},
};

/// What a split divides by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitBy {
    Org,
    ProductLine,
    CustomerType,
}

/// One row of a split as asked: a child unit (org splits; none asks for
/// every child equally) or a slice name, and its inputs.
#[derive(Debug, Clone)]
pub struct SplitRow {
    pub unit: Option<UnitId>,
    pub slice: String,
    pub input: ChildInput,
}

#[derive(Debug, Clone)]
pub struct SplitRequest {
    /// (plan, target) of the parent, and its name as asked.
    pub parent: (Id, Id),
    pub parent_name: String,
    pub strategy: SplitStrategy,
    pub modifiers: Modifiers,
    pub allocate_percent: Decimal,
    pub by: SplitBy,
    pub rows: Vec<SplitRow>,
    pub validate_only: bool,
}

/// The children's targets as stored (or, validating only, as they would be).
#[derive(Debug, Clone)]
pub struct SplitOutcome {
    pub plan: Plan,
    pub targets: Vec<Target>,
    pub coverage: Coverage,
    pub validate_only: bool,
}

/// One child of a split: which unit and slice it is, and its inputs.
struct Child {
    unit: UnitId,
    dimensions: Dimensions,
    input: ChildInput,
    /// The unit's first day when it starts inside the plan's year.
    start: Option<chrono::NaiveDate>,
}

pub async fn split<R: Message + Default>(
    db: &sea_orm::DatabaseConnection,
    who: &Identity,
    key: Option<IdempotencyKey>,
    r: SplitRequest,
    render: impl Fn(&SplitOutcome) -> R,
) -> ServiceResult<R> {
    idempotent!(db, key, |txn| {
        let (plan_id, target_id) = (&r.parent.0, &r.parent.1);
        let (plan, parent, parent_unit) = visible_target(&txn, who, (plan_id, target_id), &r.parent_name).await?;
        // Splitting sets the targets below: admins and managers only, asked
        // before the plan's state so others learn nothing of it. (Each child
        // is checked against the manager's reach below.)
        if !matches!(who.role, Role::Admin | Role::Manager) {
            return Err(deny_manage("DecomposeTarget"));
        }
        plan.require_draft("DecomposeTarget")?;
        let children = match r.by {
            SplitBy::Org => org_children(&txn, who, &parent, &parent_unit, &r).await?,
            by => slice_children(who, &parent, &parent_unit, by, &r.rows)?,
        };
        let existing = targets::children(&txn, &plan.id, &parent.id).await?;
        require_covered(&existing, &children)?;
        let split = Split {
            parent: parent.amount,
            unit: plan.config.rounding_unit,
            strategy: r.strategy,
            children: children.iter().map(|c| c.input.clone()).collect(),
            modifiers: r.modifiers.clone(),
            allocate_percent: r.allocate_percent,
        };
        let (amounts, coverage) = split.compute()?;
        let policy_field = if r.strategy == SplitStrategy::Manual { "inputs" } else { "allocate_percent" };
        coverage.check(plan.config.coverage, policy_field)?;
        let reason = format!("split of {} by {:?}", parent.resource_name(), r.strategy);
        let why = Why { change: Change::Split, actor: &who.person, reason: &reason, adjustment: None };
        let saved = save_children(&txn, &plan, &parent, (&children, amounts), &existing, &why, r.validate_only).await?;
        if !r.validate_only {
            let mut next = parent.clone();
            next.coverage = Some(coverage);
            next.version = parent.version + 1;
            next.update_time = Utc::now();
            if !targets::update(&txn, &parent, &next, &why).await? {
                return Err(ServiceError::stale_etag(&parent.resource_name()));
            }
        }
        render(&SplitOutcome { plan, targets: saved, coverage, validate_only: r.validate_only })
    })
}

/// The children of an org split: the units listed (or, for an equal split
/// listing none, every child unit), each a child of the parent's unit the
/// caller may manage, listed once; new hires and new regions marked. A
/// slice splits into the same slice of each child.
async fn org_children(
    db: &impl ConnectionTrait,
    who: &Identity,
    parent: &Target,
    parent_unit: &Unit,
    r: &SplitRequest,
) -> ServiceResult<Vec<Child>> {
    let listed: Vec<(usize, UnitId)> = if r.rows.is_empty() && r.strategy == SplitStrategy::Equal {
        units::subtree(db, parent_unit)
            .await?
            .into_iter()
            .filter(|u| u.parent.as_ref() == Some(&parent_unit.id))
            .map(|u| u.id)
            .enumerate()
            .collect()
    } else {
        r.rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                row.unit
                    .clone()
                    .map(|u| (i, u))
                    .ok_or_else(|| ServiceError::invalid(format!("inputs[{i}].unit"), "is required"))
            })
            .collect::<ServiceResult<_>>()?
    };
    let mut seen = HashSet::new();
    let mut children = Vec::with_capacity(listed.len());
    for (i, id) in listed {
        let field = format!("inputs[{i}].unit");
        let unit =
            units::get(db, &id).await?.filter(|u| u.parent.as_ref() == Some(&parent_unit.id)).ok_or_else(|| {
                ServiceError::invalid(
                    &field,
                    format!("{} is not a child of {}", id.resource_name(), parent_unit.id.resource_name()),
                )
            })?;
        if !seen.insert(id.clone()) {
            return Err(ServiceError::invalid(&field, format!("{} is listed twice", id.resource_name())));
        }
        if !who.can_manage(&unit.path()) {
            return Err(deny_manage("DecomposeTarget"));
        }
        let mut input = r.rows.get(i).map(|row| row.input.clone()).unwrap_or_default();
        input.new_hire = unit.attributes.seniority == Some(Seniority::NewHire);
        input.new_region = unit.attributes.region_maturity == Some(RegionMaturity::New);
        let start = unit.attributes.start_date;
        // A slice split by org (product line → customer type → rep) gives
        // each child that slice of its own.
        children.push(Child { unit: unit.id, dimensions: parent.dimensions.clone(), input, start });
    }
    Ok(children)
}

/// The children of a dimension split: slices of the parent's own unit, each
/// named once in 1–100 characters, of a dimension the parent is not yet
/// sliced by.
fn slice_children(
    who: &Identity,
    parent: &Target,
    parent_unit: &Unit,
    by: SplitBy,
    rows: &[SplitRow],
) -> ServiceResult<Vec<Child>> {
    if !who.can_manage(&parent_unit.path()) {
        return Err(deny_manage("DecomposeTarget"));
    }
    let by_product = by == SplitBy::ProductLine;
    let already = if by_product { &parent.dimensions.product_line } else { &parent.dimensions.customer_type };
    if !already.is_empty() {
        return Err(ServiceError::invalid("dimension", "the parent target is already a slice of this dimension"));
    }
    let mut seen = HashSet::new();
    let mut children = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let field = format!("inputs[{i}].dimension_value");
        let value = row.slice.trim();
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
        children.push(Child {
            unit: parent_unit.id.clone(),
            dimensions,
            input: row.input.clone(),
            start: parent.start,
        });
    }
    Ok(children)
}

/// A re-split must cover every child that already has a target.
fn require_covered(existing: &[Target], children: &[Child]) -> ServiceResult<()> {
    for e in existing {
        if !children.iter().any(|c| c.unit == e.unit && c.dimensions == e.dimensions) {
            return Err(ServiceError::invalid(
                "inputs",
                format!("{} already has a target from this parent; include it in the split", e.resource_name()),
            ));
        }
    }
    Ok(())
}

/// Writes each child's amount: the next version of its existing target, or
/// a new target (a unit's whole target is named after its unit).
async fn save_children(
    db: &impl ConnectionTrait,
    plan: &Plan,
    parent: &Target,
    (children, amounts): (&[Child], Vec<attain_kit::money::Amount>),
    existing: &[Target],
    why: &Why<'_>,
    validate_only: bool,
) -> ServiceResult<Vec<Target>> {
    let now = Utc::now();
    let year = plan.fiscal_year_period()?;
    let mut phaser = crate::domain::rollup::Phaser::new(plan)?;
    let mut out = Vec::with_capacity(children.len());
    for (i, (c, amount)) in children.iter().zip(amounts).enumerate() {
        // A unit that starts inside the year carries its target from then.
        let start = c.start.filter(|s| *s > year.start);
        if let Some(s) = start {
            let field = format!("inputs[{i}].unit");
            if s > year.end {
                return Err(ServiceError::invalid(
                    field,
                    format!("{} starts on {s}, after the plan's year ends ({})", c.unit.resource_name(), year.end),
                ));
            }
            if phaser.weight_left(parent, s)?.is_zero() && !amount.is_zero() {
                return Err(ServiceError::invalid(
                    field,
                    format!(
                        "{} starts on {s}: no working day is left in the year to carry a target",
                        c.unit.resource_name()
                    ),
                ));
            }
        }
        let current = existing.iter().find(|e| e.unit == c.unit && e.dimensions == c.dimensions);
        let saved = match current {
            Some(cur) => {
                let mut next = cur.clone();
                next.amount = amount;
                next.original_amount = amount;
                next.start = start;
                next.version = cur.version + 1;
                next.update_time = now;
                if !validate_only && !targets::update(db, cur, &next, why).await? {
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
                    start,
                    steps: Vec::new(),
                    moves: Vec::new(),
                    version: 1,
                    create_time: now,
                    update_time: now,
                };
                if !validate_only {
                    if targets::find(db, &plan.id, &t.unit, &t.dimensions).await?.is_some() {
                        return Err(ServiceError::invalid(
                            "inputs",
                            format!("{} already has a target from another parent", t.unit.resource_name()),
                        ));
                    }
                    targets::insert(db, &t, why).await?;
                }
                t
            }
        };
        out.push(saved);
    }
    Ok(out)
}
