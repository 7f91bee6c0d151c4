//! Targets and their revisions.

use std::collections::HashMap;

use attain_kit::{ServiceError, money::Amount};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};

use super::{corrupt, from_json, plans, to_json};
use crate::domain::{
    org::Id,
    target::{Change, Dimensions, Revision, Target},
};

pub mod target {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "targets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub plan_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub unit_id: String,
        pub product_line: String,
        pub customer_type: String,
        pub amount_minor: i64,
        pub original_minor: i64,
        pub parent_id: Option<String>,
        pub phasing: Option<String>,
        pub milestones: Option<String>,
        pub coverage: Option<String>,
        pub start_date: Option<Date>,
        /// The dated changes after publication, as JSON (NULL: none).
        pub schedule: Option<String>,
        /// The dated moves to other parents, as JSON (NULL: none).
        pub moves: Option<String>,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Every parent a target had before its last move (its current one is on
/// the target's row): found from each, as it counts there for its days.
pub mod link {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "target_links")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub plan_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub parent_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub child_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Records that `child` was under `parent` (before a move).
pub async fn link(db: &impl ConnectionTrait, plan: &Id, parent: &Id, child: &Id) -> Result<(), ServiceError> {
    plans::bump_targets(db, plan).await?;
    let row = link::ActiveModel {
        plan_id: Set(plan.as_str().to_owned()),
        parent_id: Set(parent.as_str().to_owned()),
        child_id: Set(child.as_str().to_owned()),
    };
    link::Entity::insert(row)
        .on_conflict_do_nothing_on([link::Column::PlanId, link::Column::ParentId, link::Column::ChildId])
        .exec(db)
        .await?;
    Ok(())
}

pub mod revision {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "target_revisions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub plan_id: String,
        pub target_id: String,
        pub change: String,
        pub before_minor: Option<i64>,
        pub after_minor: i64,
        pub actor: String,
        pub reason: String,
        pub adjustment_id: Option<String>,
        pub changed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn to_domain(m: target::Model) -> Result<Target, ServiceError> {
    Ok(Target {
        plan: Id::stored("plan id", &m.plan_id)?,
        id: Id::stored("target id", &m.id)?,
        unit: Id::stored("unit id", &m.unit_id)?,
        dimensions: Dimensions { product_line: m.product_line, customer_type: m.customer_type },
        amount: Amount::from_minor_units(m.amount_minor),
        original_amount: Amount::from_minor_units(m.original_minor),
        parent: m.parent_id.as_deref().map(|p| Id::stored("parent target", p)).transpose()?,
        phasing: m.phasing.as_deref().map(|s| from_json("phasing", s)).transpose()?,
        milestones: m.milestones.as_deref().map(|s| from_json("milestones", s)).transpose()?,
        coverage: m.coverage.as_deref().map(|s| from_json("coverage", s)).transpose()?,
        start: m.start_date,
        steps: m.schedule.as_deref().map(|s| from_json("schedule", s)).transpose()?.unwrap_or_default(),
        moves: m.moves.as_deref().map(|s| from_json("moves", s)).transpose()?.unwrap_or_default(),
        version: m.version,
        create_time: m.created_at,
        update_time: m.updated_at,
    })
}

fn to_active(t: &Target) -> Result<target::ActiveModel, ServiceError> {
    Ok(target::ActiveModel {
        plan_id: Set(t.plan.as_str().to_owned()),
        id: Set(t.id.as_str().to_owned()),
        unit_id: Set(t.unit.as_str().to_owned()),
        product_line: Set(t.dimensions.product_line.clone()),
        customer_type: Set(t.dimensions.customer_type.clone()),
        amount_minor: Set(t.amount.to_minor_units()),
        original_minor: Set(t.original_amount.to_minor_units()),
        parent_id: Set(t.parent.as_ref().map(|p| p.as_str().to_owned())),
        phasing: Set(t.phasing.as_ref().map(to_json).transpose()?),
        milestones: Set(t.milestones.as_ref().map(to_json).transpose()?),
        coverage: Set(t.coverage.as_ref().map(to_json).transpose()?),
        start_date: Set(t.start),
        schedule: Set(if t.steps.is_empty() { None } else { Some(to_json(&t.steps)?) }),
        moves: Set(if t.moves.is_empty() { None } else { Some(to_json(&t.moves)?) }),
        version: Set(t.version),
        created_at: Set(t.create_time),
        updated_at: Set(t.update_time),
    })
}

/// Why a target changed, for its revision.
#[derive(Debug, Clone)]
pub struct Why<'a> {
    pub change: Change,
    pub actor: &'a str,
    pub reason: &'a str,
    pub adjustment: Option<&'a Id>,
}

pub async fn insert(db: &impl ConnectionTrait, t: &Target, why: &Why<'_>) -> Result<(), ServiceError> {
    plans::bump_targets(db, &t.plan).await?;
    target::Entity::insert(to_active(t)?).exec_without_returning(db).await?;
    record(db, t, None, why).await
}

pub async fn get(db: &impl ConnectionTrait, plan: &Id, target_id: &Id) -> Result<Option<Target>, ServiceError> {
    target::Entity::find_by_id((plan.as_str().to_owned(), target_id.as_str().to_owned()))
        .one(db)
        .await?
        .map(to_domain)
        .transpose()
}

/// The target of a unit's slice in a plan.
pub async fn find(
    db: &impl ConnectionTrait,
    plan: &Id,
    unit: &Id,
    dims: &Dimensions,
) -> Result<Option<Target>, ServiceError> {
    target::Entity::find()
        .filter(target::Column::PlanId.eq(plan.as_str()))
        .filter(target::Column::UnitId.eq(unit.as_str()))
        .filter(target::Column::ProductLine.eq(dims.product_line.as_str()))
        .filter(target::Column::CustomerType.eq(dims.customer_type.as_str()))
        .one(db)
        .await?
        .map(to_domain)
        .transpose()
}

/// Targets of a plan, by id, optionally only of the given units.
pub async fn list(
    db: &impl ConnectionTrait,
    plan: &Id,
    units: Option<&[Id]>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Target>, ServiceError> {
    let mut q = target::Entity::find().filter(target::Column::PlanId.eq(plan.as_str()));
    if let Some(units) = units {
        if units.is_empty() {
            return Ok(Vec::new());
        }
        q = q.filter(target::Column::UnitId.is_in(units.iter().map(Id::as_str)));
    }
    if let Some(a) = after {
        q = q.filter(target::Column::Id.gt(a));
    }
    q.order_by_asc(target::Column::Id).limit(limit).all(db).await?.into_iter().map(to_domain).collect()
}

/// Every target of the given units (chunked so huge subtrees stay under
/// the backends' bind-parameter limits).
pub async fn of_units(db: &impl ConnectionTrait, plan: &Id, units: &[Id]) -> Result<Vec<Target>, ServiceError> {
    let mut out = Vec::new();
    for chunk in units.chunks(5000) {
        let rows = target::Entity::find()
            .filter(target::Column::PlanId.eq(plan.as_str()))
            .filter(target::Column::UnitId.is_in(chunk.iter().map(Id::as_str)))
            .all(db)
            .await?;
        for r in rows {
            out.push(to_domain(r)?);
        }
    }
    Ok(out)
}

/// The targets of `units` and every target split from them, down to the
/// leaves: what a roll-up of their period figures needs. One query per
/// level of the split tree (a handful), not per target.
pub async fn with_descendants(db: &impl ConnectionTrait, plan: &Id, units: &[Id]) -> Result<Vec<Target>, ServiceError> {
    let mut out = of_units(db, plan, units).await?;
    let mut seen: std::collections::HashSet<String> = out.iter().map(|t| t.id.as_str().to_owned()).collect();
    let mut frontier: Vec<String> = seen.iter().cloned().collect();
    // Rows not met yet join the result and the next level.
    let mut take = |rows: Vec<target::Model>, next: &mut Vec<String>, out: &mut Vec<Target>| {
        for r in rows {
            if seen.insert(r.id.clone()) {
                next.push(r.id.clone());
                out.push(to_domain(r)?);
            }
        }
        Ok::<_, ServiceError>(())
    };
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for chunk in frontier.chunks(5000) {
            let rows = target::Entity::find()
                .filter(target::Column::PlanId.eq(plan.as_str()))
                .filter(target::Column::ParentId.is_in(chunk.iter().map(String::as_str)))
                .all(db)
                .await?;
            take(rows, &mut next, &mut out)?;
            // Children that moved away still count here for their days.
            let former: Vec<String> = link::Entity::find()
                .select_only()
                .column(link::Column::ChildId)
                .filter(link::Column::PlanId.eq(plan.as_str()))
                .filter(link::Column::ParentId.is_in(chunk.iter().map(String::as_str)))
                .into_tuple()
                .all(db)
                .await?;
            for c in former.chunks(5000) {
                let rows = target::Entity::find()
                    .filter(target::Column::PlanId.eq(plan.as_str()))
                    .filter(target::Column::Id.is_in(c.iter().map(String::as_str)))
                    .all(db)
                    .await?;
                take(rows, &mut next, &mut out)?;
            }
        }
        frontier = next;
    }
    Ok(out)
}

pub async fn children(db: &impl ConnectionTrait, plan: &Id, parent: &Id) -> Result<Vec<Target>, ServiceError> {
    target::Entity::find()
        .filter(target::Column::PlanId.eq(plan.as_str()))
        .filter(target::Column::ParentId.eq(parent.as_str()))
        .order_by_asc(target::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// Saves a changed target if its version is still `expected_version`,
/// recording a revision when the amount or shape changed.
pub async fn update(
    db: &impl ConnectionTrait,
    before: &Target,
    after: &Target,
    why: &Why<'_>,
) -> Result<bool, ServiceError> {
    plans::bump_targets(db, &after.plan).await?;
    let res = target::Entity::update_many()
        .set(to_active(after)?)
        .filter(target::Column::PlanId.eq(after.plan.as_str()))
        .filter(target::Column::Id.eq(after.id.as_str()))
        .filter(target::Column::Version.eq(before.version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Ok(false);
    }
    record(db, after, Some(before.amount), why).await?;
    Ok(true)
}

/// At publication every target's original amount is fixed.
pub async fn freeze_originals(db: &impl ConnectionTrait, plan: &Id) -> Result<(), ServiceError> {
    plans::bump_targets(db, plan).await?;
    target::Entity::update_many()
        .col_expr(target::Column::OriginalMinor, Expr::col(target::Column::AmountMinor))
        .filter(target::Column::PlanId.eq(plan.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

async fn record(
    db: &impl ConnectionTrait,
    t: &Target,
    before: Option<Amount>,
    why: &Why<'_>,
) -> Result<(), ServiceError> {
    revision::Entity::insert(revision::ActiveModel {
        plan_id: Set(t.plan.as_str().to_owned()),
        target_id: Set(t.id.as_str().to_owned()),
        change: Set(why.change.as_str().to_owned()),
        before_minor: Set(before.map(Amount::to_minor_units)),
        after_minor: Set(t.amount.to_minor_units()),
        actor: Set(why.actor.to_owned()),
        reason: Set(why.reason.to_owned()),
        adjustment_id: Set(why.adjustment.map(|a| a.as_str().to_owned())),
        changed_at: Set(t.update_time),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn revision_to_domain(m: revision::Model) -> Result<Revision, ServiceError> {
    Ok(Revision {
        id: m.id,
        plan: Id::stored("plan id", &m.plan_id)?,
        target: Id::stored("target id", &m.target_id)?,
        change: Change::from_db(&m.change).ok_or_else(|| corrupt("revision change", &m.change))?,
        before: m.before_minor.map(Amount::from_minor_units),
        after: Amount::from_minor_units(m.after_minor),
        actor: m.actor,
        reason: m.reason,
        adjustment: m.adjustment_id.as_deref().map(|a| Id::stored("adjustment id", a)).transpose()?,
        time: m.changed_at,
    })
}

pub async fn revisions(
    db: &impl ConnectionTrait,
    plan: &Id,
    target_id: &Id,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<Revision>, ServiceError> {
    let mut q = revision::Entity::find()
        .filter(revision::Column::PlanId.eq(plan.as_str()))
        .filter(revision::Column::TargetId.eq(target_id.as_str()));
    if let Some(a) = after {
        q = q.filter(revision::Column::Id.gt(a));
    }
    q.order_by_asc(revision::Column::Id).limit(limit).all(db).await?.into_iter().map(revision_to_domain).collect()
}

/// Each target's amount as it stood at `at` (targets created later are
/// absent).
pub async fn amounts_as_of(
    db: &impl ConnectionTrait,
    plan: &Id,
    at: DateTime<Utc>,
) -> Result<HashMap<String, Amount>, ServiceError> {
    let rows = revision::Entity::find()
        .filter(revision::Column::PlanId.eq(plan.as_str()))
        .filter(revision::Column::ChangedAt.lte(at))
        .order_by_asc(revision::Column::Id)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.target_id, Amount::from_minor_units(r.after_minor))).collect())
}
