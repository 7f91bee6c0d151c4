//! The `best_practices` table: practices shared by those who hit target,
//! searchable across the reviews of a subtree.

use attain_kit::{ServiceError, id::Id};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{corrupt, encode_path};
pub use crate::domain::practice::BestPractice;

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

fn practice_to_domain(m: best_practice::Model) -> Result<BestPractice, ServiceError> {
    Ok(BestPractice {
        id: Id::stored("practice id", &m.id)?,
        review: Id::stored("review id", &m.review_id)?,
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
