//! The `opportunities` table; an opportunity lost (or reopened) moves its
//! contribution to the loss roll-ups in the same transaction.

use attain_kit::{
    ServiceError,
    id::Id,
    money::{Amount, CurrencyCode},
};
use chrono::NaiveDate;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{corrupt, decode_path, encode_path};
use crate::domain::{
    activity::{LossReason, Opportunity, Outcome},
    deal::Dimensions,
};

use super::loss_rollups;

pub mod opportunity {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "opportunities")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub rep_id: String,
        pub booked_path: String,
        pub customer: String,
        pub product_line: String,
        pub customer_type: String,
        pub stage: String,
        pub outcome: String,
        pub expected_minor: i64,
        pub currency_code: String,
        pub close_date: Option<Date>,
        pub loss_reason: String,
        pub loss_detail: String,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn opportunity_to_domain(m: opportunity::Model) -> Result<Opportunity, ServiceError> {
    let outcome = match m.outcome.as_str() {
        "OPEN" => Outcome::Open,
        "WON" => Outcome::Won,
        "LOST" => {
            Outcome::Lost(LossReason::from_db(&m.loss_reason).ok_or_else(|| corrupt("loss reason", &m.loss_reason))?)
        }
        other => return Err(corrupt("outcome", other)),
    };
    Ok(Opportunity {
        id: Id::stored("opportunity id", &m.id)?,
        rep: Id::stored("rep id", &m.rep_id)?,
        booked_path: decode_path(&m.booked_path)?,
        customer: m.customer,
        dimensions: Dimensions { product_line: m.product_line, customer_type: m.customer_type },
        stage: m.stage,
        outcome,
        expected_amount: Amount::from_minor_units(m.expected_minor),
        currency: CurrencyCode::parse(&m.currency_code).map_err(|_| corrupt("currency", &m.currency_code))?,
        close_date: m.close_date,
        loss_detail: m.loss_detail,
        version: m.version,
        create_time: m.created_at,
        update_time: m.updated_at,
    })
}

fn opportunity_to_active(o: &Opportunity) -> opportunity::ActiveModel {
    let (outcome, reason) = match o.outcome {
        Outcome::Open => ("OPEN", ""),
        Outcome::Won => ("WON", ""),
        Outcome::Lost(r) => ("LOST", r.as_str()),
    };
    opportunity::ActiveModel {
        id: Set(o.id.as_str().to_owned()),
        rep_id: Set(o.rep.as_str().to_owned()),
        booked_path: Set(encode_path(&o.booked_path)),
        customer: Set(o.customer.clone()),
        product_line: Set(o.dimensions.product_line.clone()),
        customer_type: Set(o.dimensions.customer_type.clone()),
        stage: Set(o.stage.clone()),
        outcome: Set(outcome.to_owned()),
        expected_minor: Set(o.expected_amount.to_minor_units()),
        currency_code: Set(o.currency.to_string()),
        close_date: Set(o.close_date),
        loss_reason: Set(reason.to_owned()),
        loss_detail: Set(o.loss_detail.clone()),
        version: Set(o.version),
        created_at: Set(o.create_time),
        updated_at: Set(o.update_time),
    }
}

pub async fn insert_opportunity(db: &impl ConnectionTrait, o: &Opportunity) -> Result<(), ServiceError> {
    opportunity::Entity::insert(opportunity_to_active(o)).exec_without_returning(db).await?;
    loss_rollups::add_losses(db, &o.booked_path, o.loss().into_iter().collect()).await
}

pub async fn get_opportunity(db: &impl ConnectionTrait, oid: &Id) -> Result<Option<Opportunity>, ServiceError> {
    opportunity::Entity::find_by_id(oid.as_str().to_owned()).one(db).await?.map(opportunity_to_domain).transpose()
}

/// Saves a changed opportunity (version check) and moves its loss
/// contribution from the old state to the new one.
pub async fn update_opportunity(
    db: &impl ConnectionTrait,
    old: &Opportunity,
    new: &Opportunity,
) -> Result<bool, ServiceError> {
    let res = opportunity::Entity::update_many()
        .set(opportunity_to_active(new))
        .filter(opportunity::Column::Id.eq(new.id.as_str()))
        .filter(opportunity::Column::Version.eq(old.version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Ok(false);
    }
    let mut deltas = Vec::new();
    if let Some(l) = old.loss() {
        deltas.push(l.undo()?);
    }
    deltas.extend(new.loss());
    loss_rollups::add_losses(db, &new.booked_path, deltas).await?;
    Ok(true)
}

pub async fn list_opportunities(
    db: &impl ConnectionTrait,
    paths: &[Vec<Id>],
    created: Option<(NaiveDate, NaiveDate)>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Opportunity>, ServiceError> {
    let mut q = opportunity::Entity::find().filter(super::under_any(opportunity::Column::BookedPath, paths));
    if let Some((from, to)) = created {
        q = q.filter(opportunity::Column::CloseDate.between(from, to));
    }
    if let Some(a) = after {
        q = q.filter(opportunity::Column::Id.gt(a));
    }
    q.order_by_asc(opportunity::Column::Id).limit(limit).all(db).await?.into_iter().map(opportunity_to_domain).collect()
}

/// An opportunity counts where its rep sat on its close day; an open one where it sits now.
pub const PLACED: super::Placed =
    super::Placed { table: "opportunities", path: "booked_path", date: "close_date", undated: true };
