//! Best practices (searchable across reviews) and resource reallocations.

use attain_kit::{
    ServiceError,
    id::Id,
    money::{Amount, CurrencyCode},
};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{corrupt, encode_path};

pub mod best_practice {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "best_practices")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub review_id: String,
        pub unit_path: String,
        pub author: String,
        pub title: String,
        pub body: String,
        pub tags: String,
        pub search_text: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BestPractice {
    pub id: Id,
    pub review: Id,
    pub author: String,
    pub title: String,
    pub text: String,
    pub tags: Vec<String>,
    pub create_time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reallocation {
    pub id: Id,
    pub review: Id,
    /// "LEADS", "PROMOTION_BUDGET", "COACHING".
    pub kind: String,
    pub unit: Id,
    pub lead_count: i64,
    pub budget: Option<(Amount, CurrencyCode)>,
    pub description: String,
    pub approved_by: String,
    pub create_time: DateTime<Utc>,
}

fn practice_to_domain(m: best_practice::Model) -> Result<BestPractice, ServiceError> {
    Ok(BestPractice {
        id: Id::parse("id", &m.id).map_err(|_| corrupt("practice id", &m.id))?,
        review: Id::parse("review", &m.review_id).map_err(|_| corrupt("review id", &m.review_id))?,
        author: m.author,
        title: m.title,
        text: m.body,
        tags: serde_json::from_str(&m.tags).map_err(|_| corrupt("tags", &m.tags))?,
        create_time: m.created_at,
    })
}

pub async fn insert_practice(db: &impl ConnectionTrait, p: &BestPractice, path: &[Id]) -> Result<(), ServiceError> {
    let search = format!("{}\n{}\n{}", p.title, p.text, p.tags.join(" ")).to_lowercase();
    best_practice::Entity::insert(best_practice::ActiveModel {
        id: Set(p.id.as_str().to_owned()),
        review_id: Set(p.review.as_str().to_owned()),
        unit_path: Set(encode_path(path)),
        author: Set(p.author.clone()),
        title: Set(p.title.clone()),
        body: Set(p.text.clone()),
        tags: Set(serde_json::to_string(&p.tags).map_err(|e| ServiceError::Internal(e.into()))?),
        search_text: Set(search),
        created_at: Set(p.create_time),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Practices of reviews in a subtree whose title, text or tags contain the
/// query (case-insensitive), by id.
pub async fn search_practices(
    db: &impl ConnectionTrait,
    path: &[Id],
    query: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<BestPractice>, ServiceError> {
    let mut q = best_practice::Entity::find().filter(best_practice::Column::UnitPath.starts_with(encode_path(path)));
    if !query.trim().is_empty() {
        q = q.filter(best_practice::Column::SearchText.contains(query.trim().to_lowercase()));
    }
    if let Some(a) = after {
        q = q.filter(best_practice::Column::Id.gt(a));
    }
    q.order_by_asc(best_practice::Column::Id).limit(limit).all(db).await?.into_iter().map(practice_to_domain).collect()
}

pub async fn practices_of(db: &impl ConnectionTrait, review: &Id) -> Result<Vec<BestPractice>, ServiceError> {
    best_practice::Entity::find()
        .filter(best_practice::Column::ReviewId.eq(review.as_str()))
        .order_by_asc(best_practice::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(practice_to_domain)
        .collect()
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
                id: Id::parse("id", &m.id).map_err(|_| corrupt("reallocation id", &m.id))?,
                review: Id::parse("review", &m.review_id).map_err(|_| corrupt("review id", &m.review_id))?,
                kind: m.kind,
                unit: Id::parse("unit", &m.unit_id).map_err(|_| corrupt("unit", &m.unit_id))?,
                lead_count: m.lead_count,
                budget,
                description: m.description,
                approved_by: m.approved_by,
                create_time: m.created_at,
            })
        })
        .collect()
}
