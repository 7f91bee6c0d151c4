//! `review_closes`: when each region's monthly review was closed, as the
//! review service reports it. The first report of a month stands (a
//! review is closed once; a report sent again changes nothing).

use std::collections::HashMap;

use attain_kit::{ServiceError, id::Id};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::OnConflict};

pub mod review_close {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "review_closes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub unit_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub month: String,
        pub closed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use review_close::Column as C;

/// Records a close; whether it was new.
pub async fn record(
    db: &impl ConnectionTrait,
    unit: &Id,
    month: &str,
    at: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let n = review_close::Entity::insert(review_close::ActiveModel {
        unit_id: Set(unit.as_str().to_owned()),
        month: Set(month.to_owned()),
        closed_at: Set(at),
    })
    .on_conflict(OnConflict::columns([C::UnitId, C::Month]).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    Ok(n == 1)
}

/// When each of `units`' reviews of `months` was closed.
pub async fn closed(
    db: &impl ConnectionTrait,
    units: &[Id],
    months: &[String],
) -> Result<HashMap<(Id, String), DateTime<Utc>>, ServiceError> {
    let mut out = HashMap::new();
    for chunk in units.chunks(1000) {
        let rows = review_close::Entity::find()
            .filter(C::UnitId.is_in(chunk.iter().map(Id::as_str)))
            .filter(C::Month.is_in(months.iter().map(String::as_str)))
            .all(db)
            .await?;
        for r in rows {
            out.insert((Id::stored("unit id", &r.unit_id)?, r.month), r.closed_at);
        }
    }
    Ok(out)
}
