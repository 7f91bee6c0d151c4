//! The `gap_analyses` table: a manager's written analysis of a unit's gap
//! for a period, versioned.

use std::collections::HashMap;

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
        /// The first write's time (null: written before it was kept).
        pub submitted_at: Option<DateTimeUtc>,
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
        submitted_at: sea_orm::ActiveValue::NotSet,
    };
    match expected {
        None => {
            let model = gap_analysis::ActiveModel { submitted_at: Set(Some(g.time)), ..model };
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

/// When each unit first submitted its analysis of each period asked:
/// what a team's weekly summary obligations are met by.
pub async fn first_submissions(
    db: &impl ConnectionTrait,
    units: &[Id],
    periods: &[String],
) -> Result<HashMap<(Id, String), DateTime<Utc>>, ServiceError> {
    let mut out = HashMap::new();
    if periods.is_empty() {
        return Ok(out);
    }
    for chunk in units.chunks(1000) {
        let rows = gap_analysis::Entity::find()
            .filter(gap_analysis::Column::UnitId.is_in(chunk.iter().map(Id::as_str)))
            .filter(gap_analysis::Column::Period.is_in(periods.iter().map(String::as_str)))
            .all(db)
            .await?;
        for m in rows {
            out.insert((Id::stored("unit id", &m.unit_id)?, m.period), m.submitted_at.unwrap_or(m.updated_at));
        }
    }
    Ok(out)
}
