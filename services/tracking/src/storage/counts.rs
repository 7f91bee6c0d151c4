//! Figures of count metrics other than deals won (which the roll-ups
//! carry): new customers (first won deal per customer) and visits
//! (follow-ups in daily logs). Both are read grouped by booked path, so a
//! read costs reps × days, not deals.

use std::collections::HashMap;

use attain_kit::{ServiceError, id::Id, metric::Metric};
use chrono::NaiveDate;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use super::{activity::daily_log, decode_path, encode_path};
use crate::domain::deal::{Deal, DealKind};

pub mod customer {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "customer_firsts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub customer: String,
        pub first_date: Date,
        pub booked_path: String,
        pub deal_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Records each named customer's first standing won deal: the earliest
/// close date wins, also when an older deal arrives later; a reversal makes
/// the customer's next standing sale its first (or none). Called after the
/// deals (and any `reversed_by` marks) are stored, in their transaction.
pub async fn note_customers(db: &impl ConnectionTrait, deals: &[Deal]) -> Result<(), ServiceError> {
    let mut first: HashMap<&str, &Deal> = HashMap::new();
    for d in deals.iter().filter(|d| d.kind == DealKind::Sale && !d.customer.is_empty()) {
        let e = first.entry(d.customer.as_str()).or_insert(d);
        if d.close_date < e.close_date {
            *e = d;
        }
    }
    // Key order, so concurrent batches lock rows in one order (no deadlock).
    let mut first: Vec<(&str, &Deal)> = first.into_iter().collect();
    first.sort_unstable_by_key(|(name, _)| *name);
    let rows: Vec<customer::ActiveModel> = first
        .into_iter()
        .map(|(_, d)| d)
        .map(|d| customer::ActiveModel {
            customer: Set(d.customer.clone()),
            first_date: Set(d.close_date),
            booked_path: Set(encode_path(&d.booked_path)),
            deal_id: Set(d.id.as_str().to_owned()),
        })
        .collect();
    for chunk in rows.chunks(500) {
        let on_conflict = OnConflict::column(customer::Column::Customer)
            .update_columns([customer::Column::FirstDate, customer::Column::BookedPath, customer::Column::DealId])
            .action_and_where(
                Expr::col((customer::Entity, customer::Column::FirstDate)).gt(Expr::cust("excluded.first_date")),
            )
            .to_owned();
        customer::Entity::insert_many(chunk.to_vec()).on_conflict(on_conflict).exec_without_returning(db).await?;
    }
    let mut reversed: Vec<&str> = deals
        .iter()
        .filter(|d| d.kind == DealKind::Reversal && !d.customer.is_empty())
        .map(|d| d.customer.as_str())
        .collect();
    reversed.sort_unstable();
    reversed.dedup();
    for name in reversed {
        recompute_customer(db, name).await?;
    }
    Ok(())
}

/// Derives a customer's first standing sale again from the deal records.
async fn recompute_customer(db: &impl ConnectionTrait, name: &str) -> Result<(), ServiceError> {
    use super::deals::deal;
    let first = deal::Entity::find()
        .filter(deal::Column::Customer.eq(name))
        .filter(deal::Column::Kind.eq(DealKind::Sale.as_str()))
        .filter(deal::Column::ReversedBy.is_null())
        .order_by_asc(deal::Column::CloseDate)
        .order_by_asc(deal::Column::Id)
        .one(db)
        .await?;
    // The table is derived from the deals: its row follows them.
    customer::Entity::delete_by_id(name.to_owned()).exec(db).await?;
    if let Some(d) = first {
        customer::Entity::insert(customer::ActiveModel {
            customer: Set(name.to_owned()),
            first_date: Set(d.close_date),
            booked_path: Set(d.booked_path),
            deal_id: Set(d.id),
        })
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// A count metric's figure per unit over an inclusive date range, for
/// units and everything below them. Deals won come from the roll-ups, not
/// from here.
pub async fn totals(
    db: &impl ConnectionTrait,
    metric: Metric,
    units: &[Id],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<Id, i64>, ServiceError> {
    let mut out: HashMap<Id, i64> = HashMap::new();
    for (path, _, n) in grouped(db, metric, None, from, to).await? {
        for unit in decode_path(&path)? {
            if units.contains(&unit) {
                *out.entry(unit).or_default() += n;
            }
        }
    }
    Ok(out)
}

/// One unit's count per day over an inclusive date range, oldest first.
pub async fn daily(
    db: &impl ConnectionTrait,
    metric: Metric,
    unit_path: &[Id],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, i64)>, ServiceError> {
    let mut by_day: std::collections::BTreeMap<NaiveDate, i64> = Default::default();
    for (_, day, n) in grouped(db, metric, Some(&encode_path(unit_path)), from, to).await? {
        *by_day.entry(day).or_default() += n;
    }
    Ok(by_day.into_iter().collect())
}

/// The metric per booked path and day (one row per rep and day that had
/// any), optionally only below a path prefix.
async fn grouped(
    db: &impl ConnectionTrait,
    metric: Metric,
    below: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, NaiveDate, i64)>, ServiceError> {
    let rows: Vec<(String, NaiveDate, Option<i64>)> = match metric {
        Metric::NewCustomers => {
            let mut q = customer::Entity::find()
                .select_only()
                .column(customer::Column::BookedPath)
                .column(customer::Column::FirstDate)
                .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
                .filter(customer::Column::FirstDate.between(from, to))
                .group_by(customer::Column::BookedPath)
                .group_by(customer::Column::FirstDate);
            if let Some(p) = below {
                q = q.filter(customer::Column::BookedPath.starts_with(p));
            }
            q.into_tuple().all(db).await?
        }
        Metric::Visits => {
            let mut q = daily_log::Entity::find()
                .select_only()
                .column(daily_log::Column::BookedPath)
                .column(daily_log::Column::LogDate)
                .column_as(Expr::cust("CAST(SUM(follow_ups) AS BIGINT)"), "n")
                .filter(daily_log::Column::LogDate.between(from, to))
                .group_by(daily_log::Column::BookedPath)
                .group_by(daily_log::Column::LogDate);
            if let Some(p) = below {
                q = q.filter(daily_log::Column::BookedPath.starts_with(p));
            }
            q.into_tuple().all(db).await?
        }
        Metric::Amount | Metric::DealsWon => Vec::new(),
    };
    Ok(rows.into_iter().map(|(p, d, n)| (p, d, n.unwrap_or(0))).collect())
}
