//! Deal records (append-only; a reversal marks the deal it reverses).

use attain_kit::{
    ServiceError,
    id::Id,
    money::{Amount, CurrencyCode},
};
use std::collections::HashMap;

use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, Query},
};

use super::{corrupt, decode_path, encode_path};
use crate::domain::{
    credit::Credit,
    deal::{Deal, DealKind, Dimensions},
};

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

pub mod credit {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "deal_credits")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub deal_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub rep_id: String,
        pub percent: String,
        pub amount_minor: i64,
        pub booked_path: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn credit_to_domain(m: credit::Model) -> Result<Credit, ServiceError> {
    Ok(Credit {
        rep: Id::stored("credited rep", &m.rep_id)?,
        percent: m.percent.parse().map_err(|_| corrupt("credit percent", &m.percent))?,
        amount: Amount::from_minor_units(m.amount_minor),
        booked_path: decode_path(&m.booked_path)?,
    })
}

/// Attaches the stored shares to split deals (one query for all of them).
async fn with_credits(db: &impl ConnectionTrait, mut deals: Vec<Deal>) -> Result<Vec<Deal>, ServiceError> {
    let mut by_deal: HashMap<String, Vec<Credit>> = HashMap::new();
    for chunk in deals.chunks(2000) {
        let rows = credit::Entity::find()
            .filter(credit::Column::DealId.is_in(chunk.iter().map(|d| d.id.as_str())))
            .order_by_asc(credit::Column::DealId)
            .all(db)
            .await?;
        for m in rows {
            by_deal.entry(m.deal_id.clone()).or_default().push(credit_to_domain(m)?);
        }
    }
    for d in &mut deals {
        if let Some(mut credits) = by_deal.remove(d.id.as_str()) {
            // The owner first, then by rep: a stable order for readers.
            credits.sort_by(|a, b| (a.rep != d.rep).cmp(&(b.rep != d.rep)).then(a.rep.as_str().cmp(b.rep.as_str())));
            d.credits = credits;
        }
    }
    Ok(deals)
}

fn to_domain(m: deal::Model) -> Result<Deal, ServiceError> {
    Ok(Deal {
        id: Id::stored("deal id", &m.id)?,
        rep: Id::stored("rep id", &m.rep_id)?,
        amount: Amount::from_minor_units(m.amount_minor),
        currency: CurrencyCode::parse(&m.currency_code).map_err(|_| corrupt("currency", &m.currency_code))?,
        close_date: m.close_date,
        customer: m.customer,
        dimensions: Dimensions { product_line: m.product_line, customer_type: m.customer_type },
        opportunity: m.opportunity,
        kind: DealKind::from_db(&m.kind).ok_or_else(|| corrupt("deal kind", &m.kind))?,
        reverses: m.reverses.as_deref().map(|r| Id::stored("reversed deal", r)).transpose()?,
        reversed_by: m.reversed_by.as_deref().map(|r| Id::stored("reversal", r)).transpose()?,
        booked_path: decode_path(&m.booked_path)?,
        credits: Vec::new(),
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

/// Inserts deals in chunks (multi-row INSERT), with the shares of split ones.
pub async fn insert_many(db: &impl ConnectionTrait, deals: &[Deal]) -> Result<(), ServiceError> {
    for chunk in deals.chunks(500) {
        deal::Entity::insert_many(chunk.iter().map(to_active)).exec_without_returning(db).await?;
    }
    let credits: Vec<credit::ActiveModel> = deals
        .iter()
        .flat_map(|d| {
            d.credits.iter().map(|c| credit::ActiveModel {
                deal_id: Set(d.id.as_str().to_owned()),
                rep_id: Set(c.rep.as_str().to_owned()),
                percent: Set(c.percent.normalize().to_string()),
                amount_minor: Set(c.amount.to_minor_units()),
                booked_path: Set(encode_path(&c.booked_path)),
            })
        })
        .collect();
    for chunk in credits.chunks(500) {
        credit::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    Ok(())
}

pub async fn get(db: &impl ConnectionTrait, id: &Id) -> Result<Option<Deal>, ServiceError> {
    let Some(d) = deal::Entity::find_by_id(id.as_str().to_owned()).one(db).await?.map(to_domain).transpose()? else {
        return Ok(None);
    };
    Ok(with_credits(db, vec![d]).await?.pop())
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

pub use crate::domain::deal::Window;

/// Deals of a subtree (booked there, or split deals crediting someone
/// there) in a window, by id.
pub async fn list(
    db: &impl ConnectionTrait,
    paths: &[Vec<Id>],
    window: Window,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Deal>, ServiceError> {
    // Booked in the subtree (under any of its places), or a split deal
    // crediting someone in it.
    let credited = Query::select()
        .column(credit::Column::DealId)
        .from(credit::Entity)
        .cond_where(super::under_any(credit::Column::BookedPath, paths))
        .to_owned();
    let mut q = deal::Entity::find().filter(
        Condition::any()
            .add(super::under_any(deal::Column::BookedPath, paths))
            .add(deal::Column::Id.in_subquery(credited)),
    );
    if let Some((from, to)) = window.dates {
        q = q.filter(deal::Column::CloseDate.between(from, to));
    }
    if let Some(t) = window.as_of {
        q = q.filter(deal::Column::CreatedAt.lte(t));
    }
    if let Some(t) = window.recorded_after {
        q = q.filter(deal::Column::CreatedAt.gt(t));
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
    rows = with_credits(db, rows).await?;
    if window.as_of.is_some() {
        // A reversal made after the instant had not happened yet.
        for d in &mut rows {
            d.reversed_by = None;
        }
    }
    Ok(rows)
}

/// A deal counts where its rep sat on its close day.
pub const PLACED: super::Placed =
    super::Placed { table: "deals", path: "booked_path", date: "close_date", undated: false };

/// A share counts where its rep sat on its deal's close day.
pub const SHARES_PLACED: super::Placed = super::Placed {
    table: "deal_credits",
    path: "booked_path",
    date: "(SELECT close_date FROM deals WHERE deals.id = deal_credits.deal_id)",
    undated: false,
};
