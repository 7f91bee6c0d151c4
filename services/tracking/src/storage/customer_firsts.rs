//! The `customer_firsts` table: each customer's first standing sale, kept
//! with the deals (the new-customers metric). Read grouped by booked path
//! and day, so a read costs reps × days, not deals.

use std::collections::HashMap;

use attain_kit::{ServiceError, id::Id};
use chrono::NaiveDate;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use super::{decode_path, encode_path};
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

/// New customers per booked path and day over an inclusive date range,
/// optionally only below a path prefix.
pub async fn firsts(
    db: &impl ConnectionTrait,
    below: Option<&[Id]>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(Vec<Id>, NaiveDate, i64)>, ServiceError> {
    let mut q = customer::Entity::find()
        .select_only()
        .column(customer::Column::BookedPath)
        .column(customer::Column::FirstDate)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .filter(customer::Column::FirstDate.between(from, to))
        .group_by(customer::Column::BookedPath)
        .group_by(customer::Column::FirstDate);
    if let Some(p) = below {
        q = q.filter(customer::Column::BookedPath.starts_with(encode_path(p)));
    }
    let rows: Vec<(String, NaiveDate, Option<i64>)> = q.into_tuple().all(db).await?;
    rows.into_iter().map(|(p, d, n)| Ok((decode_path(&p)?, d, n.unwrap_or(0)))).collect()
}

/// A first customer counts where its deal was booked on its day.
pub const PLACED: super::Placed =
    super::Placed { table: "customer_firsts", path: "booked_path", date: "first_date", undated: false };
