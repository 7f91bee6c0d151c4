//! Plans.

use attain_kit::{
    ServiceError,
    money::{Amount, CurrencyCode},
};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};

use super::{corrupt, from_json, to_json};
use crate::domain::{
    org::Id,
    plan::{Plan, PlanState},
};

pub mod plan {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "plans")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub display_name: String,
        pub top_unit: String,
        pub fiscal_year: i32,
        pub fiscal_start_month: i32,
        pub currency_code: String,
        pub base_minor: i64,
        pub growth_rate: String,
        pub config: String,
        pub state: String,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub published_at: Option<DateTimeUtc>,
        /// Bumped by every write of one of the plan's targets (`targets`).
        pub targets_seq: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn to_domain(m: plan::Model) -> Result<Plan, ServiceError> {
    Ok(Plan {
        id: Id::stored("plan id", &m.id)?,
        display_name: m.display_name,
        top_unit: Id::stored("top unit", &m.top_unit)?,
        fiscal_year: m.fiscal_year,
        fiscal_start_month: u32::try_from(m.fiscal_start_month).map_err(|_| corrupt("fiscal start month", &m.id))?,
        currency: CurrencyCode::parse(&m.currency_code).map_err(|_| corrupt("currency", &m.currency_code))?,
        base_amount: Amount::from_minor_units(m.base_minor),
        growth_rate: m.growth_rate.parse().map_err(|_| corrupt("growth rate", &m.growth_rate))?,
        config: from_json("plan config", &m.config)?,
        state: PlanState::from_db(&m.state).ok_or_else(|| corrupt("plan state", &m.state))?,
        version: m.version,
        create_time: m.created_at,
        update_time: m.updated_at,
        publish_time: m.published_at,
    })
}

fn to_active(p: &Plan) -> Result<plan::ActiveModel, ServiceError> {
    Ok(plan::ActiveModel {
        id: Set(p.id.as_str().to_owned()),
        display_name: Set(p.display_name.clone()),
        top_unit: Set(p.top_unit.as_str().to_owned()),
        fiscal_year: Set(p.fiscal_year),
        fiscal_start_month: Set(i32::try_from(p.fiscal_start_month).unwrap_or(1)),
        currency_code: Set(p.currency.to_string()),
        base_minor: Set(p.base_amount.to_minor_units()),
        growth_rate: Set(p.growth_rate.to_string()),
        config: Set(to_json(&p.config)?),
        state: Set(p.state.as_str().to_owned()),
        version: Set(p.version),
        created_at: Set(p.create_time),
        updated_at: Set(p.update_time),
        published_at: Set(p.publish_time),
        // Only target writes move it (`bump_targets`), never a plan write.
        targets_seq: NotSet,
    })
}

pub async fn insert(db: &impl ConnectionTrait, p: &Plan) -> Result<(), ServiceError> {
    plan::Entity::insert(to_active(p)?).exec_without_returning(db).await?;
    Ok(())
}

pub async fn get(db: &impl ConnectionTrait, id: &Id) -> Result<Option<Plan>, ServiceError> {
    plan::Entity::find_by_id(id.as_str().to_owned()).one(db).await?.map(to_domain).transpose()
}

pub async fn list(
    db: &impl ConnectionTrait,
    fiscal_year: Option<i32>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Plan>, ServiceError> {
    let mut q = plan::Entity::find();
    if let Some(y) = fiscal_year {
        q = q.filter(plan::Column::FiscalYear.eq(y));
    }
    if let Some(a) = after {
        q = q.filter(plan::Column::Id.gt(a));
    }
    q.order_by_asc(plan::Column::Id).limit(limit).all(db).await?.into_iter().map(to_domain).collect()
}

/// Writes `p` if the stored version is still `expected_version`.
pub async fn update(db: &impl ConnectionTrait, p: &Plan, expected_version: i64) -> Result<bool, ServiceError> {
    let res = plan::Entity::update_many()
        .set(to_active(p)?)
        .filter(plan::Column::Id.eq(p.id.as_str()))
        .filter(plan::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Counts a write of one of the plan's targets. Called before the write,
/// so every transaction that writes targets locks the plan's row first and
/// two of them never wait on each other's target rows in opposite orders.
pub async fn bump_targets(db: &impl ConnectionTrait, plan: &Id) -> Result<(), ServiceError> {
    plan::Entity::update_many()
        .col_expr(plan::Column::TargetsSeq, Expr::col(plan::Column::TargetsSeq).add(1))
        .filter(plan::Column::Id.eq(plan.as_str()))
        .exec(db)
        .await?;
    Ok(())
}

/// The state of a plan's targets: its plan version and target writes. Any
/// committed change moves it, whichever replica wrote it and in whatever
/// order commits land. `None`: no such plan.
pub async fn targets_state(db: &impl ConnectionTrait, plan: &Id) -> Result<Option<(i64, i64)>, ServiceError> {
    Ok(plan::Entity::find_by_id(plan.as_str().to_owned())
        .select_only()
        .column(plan::Column::Version)
        .column(plan::Column::TargetsSeq)
        .into_tuple::<(i64, i64)>()
        .one(db)
        .await?)
}
