//! The `live_alerts` table: each alert open now, as the feed last carried
//! it (a resolved one leaves). Kept in the transaction that consumes the
//! change, so it is exactly as current as the feed position.

use attain_kit::ServiceError;
use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, QueryOrder, sea_query::OnConflict};

use super::corrupt;
use crate::domain::alert::{AlertEvent, State};

pub mod live_alert {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "live_alerts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub alert_id: String,
        pub payload: String,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use live_alert::Column as C;

/// Records the change: the alert's latest form, or its leaving.
pub async fn record(db: &impl ConnectionTrait, e: &AlertEvent) -> Result<(), ServiceError> {
    if e.state == State::Resolved {
        live_alert::Entity::delete_by_id(e.alert.clone()).exec(db).await?;
        return Ok(());
    }
    let payload = serde_json::to_string(e).map_err(|x| ServiceError::Internal(x.into()))?;
    live_alert::Entity::insert(live_alert::ActiveModel {
        alert_id: Set(e.alert.clone()),
        payload: Set(payload),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(OnConflict::column(C::AlertId).update_columns([C::Payload, C::UpdatedAt]).to_owned())
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<AlertEvent>, ServiceError> {
    live_alert::Entity::find()
        .order_by_asc(C::AlertId)
        .all(db)
        .await?
        .into_iter()
        .map(|m| serde_json::from_str(&m.payload).map_err(|_| corrupt("live alert", &m.alert_id)))
        .collect()
}

/// An alert as the feed last carried it, if it is still open.
pub async fn get(db: &impl ConnectionTrait, alert: &str) -> Result<Option<AlertEvent>, ServiceError> {
    live_alert::Entity::find_by_id(alert.to_owned())
        .one(db)
        .await?
        .map(|m| serde_json::from_str(&m.payload).map_err(|_| corrupt("live alert", &m.alert_id)))
        .transpose()
}
