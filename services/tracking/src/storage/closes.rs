//! Frozen figures of closed periods.

use std::collections::HashMap;

use attain_kit::{ServiceError, id::Id, money::Amount};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{corrupt, decode_path, encode_path};
use crate::domain::{attainment::Status, close::ClosedLine};

pub mod line {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "period_close_lines")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub period: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub unit_id: String,
        pub unit_path: String,
        pub closed_under: String,
        pub closed_by: String,
        pub closed_at: DateTimeUtc,
        pub target_minor: i64,
        pub original_target_minor: i64,
        pub actual_minor: i64,
        pub deals_won: i64,
        pub attainment_rate: String,
        pub status: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn to_domain(m: line::Model) -> Result<ClosedLine, ServiceError> {
    Ok(ClosedLine {
        unit: Id::stored("closed unit", &m.unit_id)?,
        unit_path: decode_path(&m.unit_path)?,
        closed_under: Id::stored("closing unit", &m.closed_under)?,
        closed_by: m.closed_by,
        closed_at: m.closed_at,
        target: Amount::from_minor_units(m.target_minor),
        original_target: Amount::from_minor_units(m.original_target_minor),
        actual: Amount::from_minor_units(m.actual_minor),
        deals_won: m.deals_won,
        status: Status::from_db(&m.status).ok_or_else(|| corrupt("closed status", &m.status))?,
        attainment_rate: m.attainment_rate,
        period: m.period,
    })
}

/// The frozen lines of `units` for a period (units not closed are absent).
pub async fn lines(
    db: &impl ConnectionTrait,
    period: &str,
    units: &[Id],
) -> Result<HashMap<Id, ClosedLine>, ServiceError> {
    let mut out = HashMap::new();
    for chunk in units.chunks(2000) {
        let rows = line::Entity::find()
            .filter(line::Column::Period.eq(period))
            .filter(line::Column::UnitId.is_in(chunk.iter().map(Id::as_str)))
            .all(db)
            .await?;
        for m in rows {
            let l = to_domain(m)?;
            out.insert(l.unit.clone(), l);
        }
    }
    Ok(out)
}

/// Every frozen line of a subtree for a period.
pub async fn subtree_lines(
    db: &impl ConnectionTrait,
    period: &str,
    path: &[Id],
) -> Result<Vec<ClosedLine>, ServiceError> {
    line::Entity::find()
        .filter(line::Column::Period.eq(period))
        .filter(line::Column::UnitPath.starts_with(encode_path(path)))
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// Stores frozen lines; a unit closed meanwhile by someone else makes the
/// insert fail (primary key), so the caller's transaction rolls back.
pub async fn insert(db: &impl ConnectionTrait, lines: &[ClosedLine]) -> Result<(), ServiceError> {
    let rows: Vec<line::ActiveModel> = lines
        .iter()
        .map(|l| line::ActiveModel {
            period: Set(l.period.clone()),
            unit_id: Set(l.unit.as_str().to_owned()),
            unit_path: Set(encode_path(&l.unit_path)),
            closed_under: Set(l.closed_under.as_str().to_owned()),
            closed_by: Set(l.closed_by.clone()),
            closed_at: Set(l.closed_at),
            target_minor: Set(l.target.to_minor_units()),
            original_target_minor: Set(l.original_target.to_minor_units()),
            actual_minor: Set(l.actual.to_minor_units()),
            deals_won: Set(l.deals_won),
            attainment_rate: Set(l.attainment_rate.clone()),
            status: Set(l.status.as_str().to_owned()),
        })
        .collect();
    for chunk in rows.chunks(500) {
        line::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    Ok(())
}
