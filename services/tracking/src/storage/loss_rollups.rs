//! The `loss_rollups` table: lost deals by unit, day and reason, for every
//! unit on the path of the opportunity or log that lost them.

use std::collections::HashMap;

use attain_kit::{ServiceError, id::Id, money::Amount};
use chrono::NaiveDate;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use super::corrupt;
use crate::domain::activity::{Loss, LossReason};

pub mod loss_rollup {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "loss_rollups")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub unit_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub day: Date,
        #[sea_orm(primary_key, auto_increment = false)]
        pub reason: String,
        pub lost_count: i64,
        pub lost_minor: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Adds loss contributions to every unit on the path.
pub async fn add_losses(db: &impl ConnectionTrait, path: &[Id], mut losses: Vec<Loss>) -> Result<(), ServiceError> {
    if losses.is_empty() {
        return Ok(());
    }
    // One lock order for every writer (root first, then day and reason).
    losses.sort_by(|a, b| (a.day, a.reason.as_str()).cmp(&(b.day, b.reason.as_str())));
    let mut rows = Vec::new();
    for unit in path {
        for l in &losses {
            rows.push(loss_rollup::ActiveModel {
                unit_id: Set(unit.as_str().to_owned()),
                day: Set(l.day),
                reason: Set(l.reason.as_str().to_owned()),
                lost_count: Set(l.count),
                lost_minor: Set(l.amount.to_minor_units()),
            });
        }
    }
    for row in rows {
        let on_conflict =
            OnConflict::columns([loss_rollup::Column::UnitId, loss_rollup::Column::Day, loss_rollup::Column::Reason])
                .value(
                    loss_rollup::Column::LostCount,
                    Expr::col((loss_rollup::Entity, loss_rollup::Column::LostCount))
                        .add(Expr::cust("excluded.lost_count")),
                )
                .value(
                    loss_rollup::Column::LostMinor,
                    Expr::col((loss_rollup::Entity, loss_rollup::Column::LostMinor))
                        .add(Expr::cust("excluded.lost_minor")),
                )
                .to_owned();
        loss_rollup::Entity::insert(row).on_conflict(on_conflict).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Lost deals by reason for units over a date range.
pub async fn losses(
    db: &impl ConnectionTrait,
    units: &[Id],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<Id, Vec<(LossReason, i64, Amount)>>, ServiceError> {
    let mut out: HashMap<Id, Vec<(LossReason, i64, Amount)>> = HashMap::new();
    if from > to || units.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(String, String, Option<i64>, Option<i64>)> = loss_rollup::Entity::find()
        .select_only()
        .column(loss_rollup::Column::UnitId)
        .column(loss_rollup::Column::Reason)
        .column_as(Expr::cust("CAST(SUM(lost_count) AS BIGINT)"), "n")
        .column_as(Expr::cust("CAST(SUM(lost_minor) AS BIGINT)"), "amount")
        .filter(loss_rollup::Column::UnitId.is_in(units.iter().map(Id::as_str)))
        .filter(loss_rollup::Column::Day.between(from, to))
        .group_by(loss_rollup::Column::UnitId)
        .group_by(loss_rollup::Column::Reason)
        .into_tuple()
        .all(db)
        .await?;
    for (unit, reason, n, amount) in rows {
        let n = n.unwrap_or(0);
        if n > 0 {
            let r = LossReason::from_db(&reason).ok_or_else(|| corrupt("loss reason", &reason))?;
            out.entry(Id::stored("unit", &unit)?).or_default().push((
                r,
                n,
                Amount::from_minor_units(amount.unwrap_or(0)),
            ));
        }
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    }
    Ok(out)
}
