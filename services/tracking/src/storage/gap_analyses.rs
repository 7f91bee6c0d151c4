//! The `gap_analyses` table: a manager's written analysis of a unit's gap
//! for a period, versioned.

use attain_kit::{ServiceError, id::Id};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

pub mod gap_analysis {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "gap_analyses")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub unit_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub period: String,
        pub body: String,
        pub author: String,
        pub version: i64,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A unit's gap analysis for a period, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapAnalysis {
    pub text: String,
    pub author: String,
    pub version: i64,
    pub time: DateTime<Utc>,
}

pub async fn gap_analysis(
    db: &impl ConnectionTrait,
    unit: &Id,
    period: &str,
) -> Result<Option<GapAnalysis>, ServiceError> {
    Ok(gap_analysis::Entity::find_by_id((unit.as_str().to_owned(), period.to_owned()))
        .one(db)
        .await?
        .map(|m| GapAnalysis { text: m.body, author: m.author, version: m.version, time: m.updated_at }))
}

/// Writes the gap analysis if nobody else changed it since `expected`
/// (None: it must not exist yet).
pub async fn put_gap_analysis(
    db: &impl ConnectionTrait,
    unit: &Id,
    period: &str,
    g: &GapAnalysis,
    expected: Option<i64>,
) -> Result<bool, ServiceError> {
    let model = gap_analysis::ActiveModel {
        unit_id: Set(unit.as_str().to_owned()),
        period: Set(period.to_owned()),
        body: Set(g.text.clone()),
        author: Set(g.author.clone()),
        version: Set(g.version),
        updated_at: Set(g.time),
    };
    match expected {
        None => {
            gap_analysis::Entity::insert(model).exec_without_returning(db).await?;
            Ok(true)
        }
        Some(v) => {
            let res = gap_analysis::Entity::update_many()
                .set(model)
                .filter(gap_analysis::Column::UnitId.eq(unit.as_str()))
                .filter(gap_analysis::Column::Period.eq(period))
                .filter(gap_analysis::Column::Version.eq(v))
                .exec(db)
                .await?;
            Ok(res.rows_affected > 0)
        }
    }
}
