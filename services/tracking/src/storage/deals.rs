//! Deal records (append-only; a reversal marks the deal it reverses).

use attain_kit::{
    ServiceError,
    id::Id,
    money::{Amount, CurrencyCode},
};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};

use super::{corrupt, decode_path, encode_path};
use crate::domain::deal::{Deal, DealKind, Dimensions};

pub mod deal {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "deals")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub rep_id: String,
        pub amount_minor: i64,
        pub currency_code: String,
        pub close_date: Date,
        pub customer: String,
        pub product_line: String,
        pub customer_type: String,
        pub opportunity: String,
        pub kind: String,
        pub reverses: Option<String>,
        pub reversed_by: Option<String>,
        pub booked_path: String,
        pub request_id: String,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn to_domain(m: deal::Model) -> Result<Deal, ServiceError> {
    let id = |f: &str, s: &str| Id::parse(f, s).map_err(|_| corrupt(f, s));
    Ok(Deal {
        id: id("deal id", &m.id)?,
        rep: id("rep id", &m.rep_id)?,
        amount: Amount::from_minor_units(m.amount_minor),
        currency: CurrencyCode::parse(&m.currency_code).map_err(|_| corrupt("currency", &m.currency_code))?,
        close_date: m.close_date,
        customer: m.customer,
        dimensions: Dimensions { product_line: m.product_line, customer_type: m.customer_type },
        opportunity: m.opportunity,
        kind: DealKind::from_db(&m.kind).ok_or_else(|| corrupt("deal kind", &m.kind))?,
        reverses: m.reverses.as_deref().map(|r| id("reversed deal", r)).transpose()?,
        reversed_by: m.reversed_by.as_deref().map(|r| id("reversal", r)).transpose()?,
        booked_path: decode_path(&m.booked_path)?,
        request_id: m.request_id,
        created_by: m.created_by,
        create_time: m.created_at,
    })
}

fn to_active(d: &Deal) -> deal::ActiveModel {
    deal::ActiveModel {
        id: Set(d.id.as_str().to_owned()),
        rep_id: Set(d.rep.as_str().to_owned()),
        amount_minor: Set(d.amount.to_minor_units()),
        currency_code: Set(d.currency.to_string()),
        close_date: Set(d.close_date),
        customer: Set(d.customer.clone()),
        product_line: Set(d.dimensions.product_line.clone()),
        customer_type: Set(d.dimensions.customer_type.clone()),
        opportunity: Set(d.opportunity.clone()),
        kind: Set(d.kind.as_str().to_owned()),
        reverses: Set(d.reverses.as_ref().map(|r| r.as_str().to_owned())),
        reversed_by: Set(d.reversed_by.as_ref().map(|r| r.as_str().to_owned())),
        booked_path: Set(encode_path(&d.booked_path)),
        request_id: Set(d.request_id.clone()),
        created_by: Set(d.created_by.clone()),
        created_at: Set(d.create_time),
    }
}

/// Inserts deals in chunks (multi-row INSERT).
pub async fn insert_many(db: &impl ConnectionTrait, deals: &[Deal]) -> Result<(), ServiceError> {
    for chunk in deals.chunks(500) {
        deal::Entity::insert_many(chunk.iter().map(to_active)).exec_without_returning(db).await?;
    }
    Ok(())
}

pub async fn get(db: &impl ConnectionTrait, id: &Id) -> Result<Option<Deal>, ServiceError> {
    deal::Entity::find_by_id(id.as_str().to_owned()).one(db).await?.map(to_domain).transpose()
}

/// Marks `original` as reversed by `reversal`; false if someone reversed
/// it first.
pub async fn mark_reversed(db: &impl ConnectionTrait, original: &Id, reversal: &Id) -> Result<bool, ServiceError> {
    let res = deal::Entity::update_many()
        .col_expr(deal::Column::ReversedBy, Expr::value(reversal.as_str()))
        .filter(deal::Column::Id.eq(original.as_str()))
        .filter(deal::Column::ReversedBy.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Deals of a subtree (by booked path), optionally in a date range and as
/// they stood at an instant, by id.
pub async fn list(
    db: &impl ConnectionTrait,
    path: &[Id],
    dates: Option<(NaiveDate, NaiveDate)>,
    as_of: Option<DateTime<Utc>>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Deal>, ServiceError> {
    let mut q = deal::Entity::find().filter(deal::Column::BookedPath.starts_with(encode_path(path)));
    if let Some((from, to)) = dates {
        q = q.filter(deal::Column::CloseDate.between(from, to));
    }
    if let Some(t) = as_of {
        q = q.filter(deal::Column::CreatedAt.lte(t));
    }
    if let Some(a) = after {
        q = q.filter(deal::Column::Id.gt(a));
    }
    let mut rows: Vec<Deal> = q
        .order_by_asc(deal::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect::<Result<_, _>>()?;
    if as_of.is_some() {
        // A reversal made after the instant had not happened yet.
        for d in &mut rows {
            d.reversed_by = None;
        }
    }
    Ok(rows)
}
