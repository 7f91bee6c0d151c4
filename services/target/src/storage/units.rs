//! Units and unit revisions.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};

use attain_kit::ServiceError;

use super::corrupt;
use crate::domain::org::{DisplayName, RegionMaturity, Seniority, Unit, UnitAttributes, UnitId, UnitKind};

pub mod unit {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "units")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub parent_id: Option<String>,
        pub parent_key: String,
        pub kind: String,
        pub display_name: String,
        pub name_key: String,
        pub manager: String,
        pub seniority: Option<String>,
        pub start_date: Option<Date>,
        pub end_date: Option<Date>,
        pub region_maturity: Option<String>,
        pub employee_code: Option<String>,
        /// Former places (JSON), NULL for none.
        pub former: Option<String>,
        pub path: String,
        pub depth: i32,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod unit_revision {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "unit_revisions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub unit_id: String,
        pub change: String,
        pub snapshot: String,
        pub actor: String,
        pub changed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A unit's former places, one row each: found by path prefix.
pub mod place {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "unit_places")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub unit_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub until: Date,
        pub path: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Every move, in commit order.
pub mod moves {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "unit_moves")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub unit_id: String,
        pub effective_date: Date,
        pub old_path: String,
        pub new_path: String,
        pub recorded_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use crate::domain::org::UnitMove as MoveRecord;

/// Logs a move. Moves take one lock first (PostgreSQL: held to commit), so
/// their sequence numbers are in commit order and a follower reading
/// "after N" never skips one that commits late.
pub async fn log_move(db: &impl ConnectionTrait, m: &MoveRecord) -> Result<(), ServiceError> {
    if !attain_kit::db::is_sqlite(db) {
        db.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({MOVES_LOCK})")).await?;
    }
    moves::Entity::insert(moves::ActiveModel {
        unit_id: Set(m.unit.as_str().to_owned()),
        effective_date: Set(m.from),
        old_path: Set(attain_kit::id::encode_path(&m.old_path)),
        new_path: Set(attain_kit::id::encode_path(&m.new_path)),
        recorded_at: Set(m.recorded),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// The advisory lock moves serialize on ("moves" in ASCII).
const MOVES_LOCK: i64 = 0x006d_6f76_6573;

/// The first days of the moves of `units` recorded after instant `at`.
pub async fn moves_recorded_after(
    db: &impl ConnectionTrait,
    units: &[&UnitId],
    at: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<(UnitId, chrono::NaiveDate)>, ServiceError> {
    let rows: Vec<(String, chrono::NaiveDate)> = moves::Entity::find()
        .select_only()
        .column(moves::Column::UnitId)
        .column(moves::Column::EffectiveDate)
        .filter(moves::Column::RecordedAt.gt(at))
        .filter(moves::Column::UnitId.is_in(units.iter().map(|u| u.as_str())))
        .into_tuple()
        .all(db)
        .await?;
    rows.into_iter().map(|(u, d)| Ok((UnitId::stored("moved unit", &u)?, d))).collect()
}

/// Moves after sequence `after`, oldest first.
pub async fn moves_after(db: &impl ConnectionTrait, after: i64, limit: u64) -> Result<Vec<MoveRecord>, ServiceError> {
    moves::Entity::find()
        .filter(moves::Column::Id.gt(after))
        .order_by_asc(moves::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|m| {
            let path = |p: &str| -> Result<Vec<UnitId>, ServiceError> {
                p.split('/')
                    .filter(|s| !s.is_empty())
                    .map(|s| UnitId::stored("move path", s).map_err(ServiceError::from))
                    .collect()
            };
            Ok(MoveRecord {
                sequence: m.id,
                unit: UnitId::stored("moved unit", &m.unit_id)?,
                from: m.effective_date,
                old_path: path(&m.old_path)?,
                new_path: path(&m.new_path)?,
                recorded: m.recorded_at,
            })
        })
        .collect()
}

pub use crate::domain::org::{Revision, UnitChange as Change};

fn path_of(ancestors: &[UnitId], id: &UnitId) -> String {
    let mut path = ancestors.to_vec();
    path.push(id.clone());
    attain_kit::id::encode_path(&path)
}

fn to_domain(m: unit::Model) -> Result<Unit, ServiceError> {
    let mut segments: Vec<UnitId> = m
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| UnitId::parse("path", s))
        .collect::<Result<_, _>>()
        .map_err(|_| corrupt("unit path", &m.path))?;
    segments.pop();
    Ok(Unit {
        id: UnitId::stored("unit id", &m.id)?,
        parent: m
            .parent_id
            .as_deref()
            .map(|p| UnitId::parse("parent", p))
            .transpose()
            .map_err(|_| corrupt("parent id", &m.id))?,
        kind: UnitKind::from_db(&m.kind).ok_or_else(|| corrupt("unit kind", &m.kind))?,
        attributes: UnitAttributes {
            display_name: DisplayName::parse("display_name", &m.display_name)
                .map_err(|_| corrupt("display name", &m.display_name))?,
            manager: m.manager,
            seniority: m
                .seniority
                .as_deref()
                .map(|s| Seniority::from_db(s).ok_or_else(|| corrupt("seniority", s)))
                .transpose()?,
            start_date: m.start_date,
            end_date: m.end_date,
            region_maturity: m
                .region_maturity
                .as_deref()
                .map(|s| RegionMaturity::from_db(s).ok_or_else(|| corrupt("region maturity", s)))
                .transpose()?,
            employee_code: m.employee_code,
        },
        ancestors: segments,
        former: m.former.as_deref().map(|f| super::from_json("former places", f)).transpose()?.unwrap_or_default(),
        version: m.version,
        create_time: m.created_at,
        update_time: m.updated_at,
    })
}

fn to_active(u: &Unit) -> Result<unit::ActiveModel, ServiceError> {
    let a = &u.attributes;
    Ok(unit::ActiveModel {
        id: Set(u.id.as_str().to_owned()),
        parent_id: Set(u.parent.as_ref().map(|p| p.as_str().to_owned())),
        parent_key: Set(u.parent.as_ref().map_or_else(String::new, |p| p.as_str().to_owned())),
        kind: Set(u.kind.as_str().to_owned()),
        display_name: Set(a.display_name.as_str().to_owned()),
        name_key: Set(a.display_name.key()),
        manager: Set(a.manager.clone()),
        seniority: Set(a.seniority.map(|s| s.as_str().to_owned())),
        start_date: Set(a.start_date),
        end_date: Set(a.end_date),
        region_maturity: Set(a.region_maturity.map(|s| s.as_str().to_owned())),
        employee_code: Set(a.employee_code.clone()),
        former: Set(if u.former.is_empty() { None } else { Some(super::to_json(&u.former)?) }),
        path: Set(path_of(&u.ancestors, &u.id)),
        depth: Set(i32::try_from(u.ancestors.len()).unwrap_or(i32::MAX)),
        version: Set(u.version),
        created_at: Set(u.create_time),
        updated_at: Set(u.update_time),
    })
}

pub async fn get(db: &impl ConnectionTrait, id: &UnitId) -> Result<Option<Unit>, ServiceError> {
    unit::Entity::find_by_id(id.as_str().to_owned()).one(db).await?.map(to_domain).transpose()
}

/// Many units in one query (chunked), in no particular order.
pub async fn get_many(db: &impl ConnectionTrait, ids: &[UnitId]) -> Result<Vec<Unit>, ServiceError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(5000) {
        let rows =
            unit::Entity::find().filter(unit::Column::Id.is_in(chunk.iter().map(UnitId::as_str))).all(db).await?;
        for r in rows {
            out.push(to_domain(r)?);
        }
    }
    Ok(out)
}

/// Whether a sibling under `parent` already uses this name (ignoring `except`).
pub async fn sibling_name_taken(
    db: &impl ConnectionTrait,
    parent: Option<&UnitId>,
    name: &DisplayName,
    except: Option<&UnitId>,
) -> Result<bool, ServiceError> {
    let mut q = unit::Entity::find()
        .filter(unit::Column::ParentKey.eq(parent.map_or("", UnitId::as_str)))
        .filter(unit::Column::NameKey.eq(name.key()));
    if let Some(e) = except {
        q = q.filter(unit::Column::Id.ne(e.as_str()));
    }
    Ok(q.count(db).await? > 0)
}

/// The unit holding an employee code, if any.
pub async fn by_employee_code(db: &impl ConnectionTrait, code: &str) -> Result<Option<UnitId>, ServiceError> {
    let found = unit::Entity::find().filter(unit::Column::EmployeeCode.eq(code)).one(db).await?;
    found.map(|m| UnitId::stored("unit id", &m.id).map_err(ServiceError::from)).transpose()
}

/// Inserts a new unit (with the places it inherits) and its first revision.
pub async fn insert(db: &impl ConnectionTrait, unit: &Unit, actor: &str) -> Result<(), ServiceError> {
    unit::Entity::insert(to_active(unit)?).exec_without_returning(db).await?;
    for p in &unit.former {
        record_place(db, unit, p).await?;
    }
    record(db, unit, Change::Created, actor).await
}

/// Children of `parent` (roots when None), by id, after a key.
pub async fn children(
    db: &impl ConnectionTrait,
    parent: Option<&UnitId>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Unit>, ServiceError> {
    let mut q = unit::Entity::find().filter(unit::Column::ParentKey.eq(parent.map_or("", UnitId::as_str)));
    if let Some(after) = after {
        q = q.filter(unit::Column::Id.gt(after));
    }
    q.order_by_asc(unit::Column::Id).limit(limit).all(db).await?.into_iter().map(to_domain).collect()
}

/// The unit and everything below it, root first, depth-first.
pub async fn subtree(db: &impl ConnectionTrait, root: &Unit) -> Result<Vec<Unit>, ServiceError> {
    let prefix = path_of(&root.ancestors, &root.id);
    unit::Entity::find()
        .filter(unit::Column::Path.starts_with(&prefix))
        .order_by_asc(unit::Column::Path)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

async fn record_place(
    db: &impl ConnectionTrait,
    u: &Unit,
    p: &crate::domain::org::Placement,
) -> Result<(), ServiceError> {
    let row = place::ActiveModel {
        unit_id: Set(u.id.as_str().to_owned()),
        until: Set(p.until),
        path: Set(path_of(&p.ancestors, &u.id)),
    };
    place::Entity::insert(row)
        .on_conflict_do_nothing_on([place::Column::UnitId, place::Column::Until])
        .exec(db)
        .await?;
    Ok(())
}

/// Units that sat below `root` in a former place and are not below it now.
pub async fn former_members(db: &impl ConnectionTrait, root: &Unit) -> Result<Vec<Unit>, ServiceError> {
    let prefix = path_of(&root.ancestors, &root.id);
    let ids: Vec<String> = place::Entity::find()
        .select_only()
        .column(place::Column::UnitId)
        .distinct()
        .filter(place::Column::Path.starts_with(&prefix))
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<UnitId> = ids.iter().map(|i| UnitId::stored("unit id", i)).collect::<Result<_, _>>()?;
    let mut out: Vec<Unit> = get_many(db, &ids).await?.into_iter().filter(|u| !root.contains(u)).collect();
    out.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    Ok(out)
}

/// Writes a changed unit if its version is still `expected_version`;
/// false when someone else changed it first.
pub async fn update(
    db: &impl ConnectionTrait,
    unit: &Unit,
    expected_version: i64,
    actor: &str,
) -> Result<bool, ServiceError> {
    let a = &unit.attributes;
    let res = unit::Entity::update_many()
        .col_expr(unit::Column::DisplayName, Expr::value(a.display_name.as_str()))
        .col_expr(unit::Column::NameKey, Expr::value(a.display_name.key()))
        .col_expr(unit::Column::Manager, Expr::value(a.manager.as_str()))
        .col_expr(unit::Column::Seniority, Expr::value(a.seniority.map(|s| s.as_str().to_owned())))
        .col_expr(unit::Column::StartDate, Expr::value(a.start_date))
        .col_expr(unit::Column::EndDate, Expr::value(a.end_date))
        .col_expr(unit::Column::RegionMaturity, Expr::value(a.region_maturity.map(|s| s.as_str().to_owned())))
        .col_expr(unit::Column::EmployeeCode, Expr::value(a.employee_code.clone()))
        .col_expr(unit::Column::Version, Expr::value(unit.version))
        .col_expr(unit::Column::UpdatedAt, Expr::value(unit.update_time))
        .filter(unit::Column::Id.eq(unit.id.as_str()))
        .filter(unit::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Ok(false);
    }
    record(db, unit, Change::Updated, actor).await?;
    Ok(true)
}

/// Moves `unit` (already carrying its new parent, ancestors and former
/// places) if its version is still `old`'s, then writes its descendants as
/// given (their new ancestors and former places; each version moves on, as
/// their representation changed); false on a version conflict.
pub async fn relocate(
    db: &impl ConnectionTrait,
    (old, moved): (&Unit, &Unit),
    descendants: &[Unit],
    actor: &str,
) -> Result<bool, ServiceError> {
    let res = unit::Entity::update_many()
        .set(to_active(moved)?)
        .filter(unit::Column::Id.eq(moved.id.as_str()))
        .filter(unit::Column::Version.eq(old.version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Ok(false);
    }
    for d in descendants {
        unit::Entity::update_many()
            .set(to_active(d)?)
            .filter(unit::Column::Id.eq(d.id.as_str()))
            .filter(unit::Column::Version.eq(d.version - 1))
            .exec(db)
            .await?;
    }
    for u in std::iter::once(moved).chain(descendants) {
        if let Some(p) = u.former.last() {
            record_place(db, u, p).await?;
        }
    }
    record(db, moved, Change::Moved, actor).await?;
    Ok(true)
}

async fn record(db: &impl ConnectionTrait, unit: &Unit, change: Change, actor: &str) -> Result<(), ServiceError> {
    let snapshot = super::to_json(unit)?;
    unit_revision::Entity::insert(unit_revision::ActiveModel {
        unit_id: Set(unit.id.as_str().to_owned()),
        change: Set(change.as_str().to_owned()),
        snapshot: Set(snapshot),
        actor: Set(actor.to_owned()),
        changed_at: Set(unit.update_time),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Revisions of a unit, oldest first, after a revision id.
pub async fn revisions(
    db: &impl ConnectionTrait,
    id: &UnitId,
    after: Option<i64>,
    limit: u64,
) -> Result<Vec<Revision>, ServiceError> {
    let mut q = unit_revision::Entity::find().filter(unit_revision::Column::UnitId.eq(id.as_str()));
    if let Some(after) = after {
        q = q.filter(unit_revision::Column::Id.gt(after));
    }
    q.order_by_asc(unit_revision::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|m| {
            Ok(Revision {
                id: m.id,
                change: Change::from_db(&m.change).ok_or_else(|| corrupt("revision change", &m.change))?,
                unit: serde_json::from_str(&m.snapshot).map_err(|_| corrupt("revision snapshot", &m.unit_id))?,
                actor: m.actor,
                changed_at: m.changed_at,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_list_ancestors_then_self() {
        let ids: Vec<UnitId> = ["acme", "ra"].iter().map(|s| UnitId::parse("f", s).unwrap()).collect();
        assert_eq!(path_of(&ids, &UnitId::parse("f", "r1").unwrap()), "/acme/ra/r1/");
        assert_eq!(path_of(&[], &UnitId::parse("f", "acme").unwrap()), "/acme/");
    }
}
