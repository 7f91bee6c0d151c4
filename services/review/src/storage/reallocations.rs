//! The `reallocations` table: leads, promotion budget or coaching moved
//! to help a unit.

use attain_kit::{
    ServiceError,
    id::Id,
    money::{Amount, CurrencyCode},
};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use super::corrupt;
pub use crate::domain::practice::Reallocation;

pub mod reallocation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "reallocations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub review_id: String,
        pub kind: String,
        pub unit_id: String,
        pub lead_count: i64,
        pub budget_minor: i64,
        pub currency_code: String,
        pub description: String,
        pub approved_by: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub async fn insert_reallocation(db: &impl ConnectionTrait, r: &Reallocation) -> Result<(), ServiceError> {
    reallocation::Entity::insert(reallocation::ActiveModel {
        id: Set(r.id.as_str().to_owned()),
        review_id: Set(r.review.as_str().to_owned()),
        kind: Set(r.kind.clone()),
        unit_id: Set(r.unit.as_str().to_owned()),
        lead_count: Set(r.lead_count),
        budget_minor: Set(r.budget.map_or(0, |(a, _)| a.to_minor_units())),
        currency_code: Set(r.budget.map_or_else(String::new, |(_, c)| c.to_string())),
        description: Set(r.description.clone()),
        approved_by: Set(r.approved_by.clone()),
        created_at: Set(r.create_time),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn reallocations_of(db: &impl ConnectionTrait, review: &Id) -> Result<Vec<Reallocation>, ServiceError> {
    reallocation::Entity::find()
        .filter(reallocation::Column::ReviewId.eq(review.as_str()))
        .order_by_asc(reallocation::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| {
            let budget = if m.currency_code.is_empty() {
                None
            } else {
                Some((
                    Amount::from_minor_units(m.budget_minor),
                    CurrencyCode::parse(&m.currency_code).map_err(|_| corrupt("currency", &m.currency_code))?,
                ))
            };
            Ok(Reallocation {
                id: Id::stored("reallocation id", &m.id)?,
                review: Id::stored("review id", &m.review_id)?,
                kind: m.kind,
                unit: Id::stored("unit", &m.unit_id)?,
                lead_count: m.lead_count,
                budget,
                description: m.description,
                approved_by: m.approved_by,
                create_time: m.created_at,
            })
        })
        .collect()
}
