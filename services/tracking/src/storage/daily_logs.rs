//! The `daily_logs` table: a rep's day (follow-ups, what closed, deals
//! lost); its losses go to the loss roll-ups with it; follow-ups are the
//! visits metric.

use std::collections::HashMap;

use attain_kit::{ServiceError, id::Id};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::Expr,
};

use super::{corrupt, decode_path, encode_path};
use crate::domain::activity::DailyLog;

use super::loss_rollups;

pub mod daily_log {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "daily_logs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub rep_id: String,
        pub booked_path: String,
        pub log_date: Date,
        pub body: String,
        pub follow_ups: i64,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn log_to_domain(m: daily_log::Model) -> Result<DailyLog, ServiceError> {
    Ok(DailyLog {
        id: Id::stored("log id", &m.id)?,
        rep: Id::stored("rep id", &m.rep_id)?,
        booked_path: decode_path(&m.booked_path)?,
        date: m.log_date,
        body: serde_json::from_str(&m.body).map_err(|_| corrupt("daily log", &m.id))?,
        create_time: m.created_at,
    })
}

pub async fn insert_log(db: &impl ConnectionTrait, l: &DailyLog) -> Result<(), ServiceError> {
    daily_log::Entity::insert(daily_log::ActiveModel {
        id: Set(l.id.as_str().to_owned()),
        rep_id: Set(l.rep.as_str().to_owned()),
        booked_path: Set(encode_path(&l.booked_path)),
        log_date: Set(l.date),
        body: Set(serde_json::to_string(&l.body).map_err(|e| ServiceError::Internal(e.into()))?),
        follow_ups: Set(i64::try_from(l.body.follow_ups.len()).unwrap_or(i64::MAX)),
        created_at: Set(l.create_time),
    })
    .exec_without_returning(db)
    .await?;
    loss_rollups::add_losses(db, &l.booked_path, l.losses()).await
}

pub async fn list_logs(
    db: &impl ConnectionTrait,
    paths: &[Vec<Id>],
    dates: Option<(NaiveDate, NaiveDate)>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<DailyLog>, ServiceError> {
    let mut q = daily_log::Entity::find().filter(super::under_any(daily_log::Column::BookedPath, paths));
    if let Some((from, to)) = dates {
        q = q.filter(daily_log::Column::LogDate.between(from, to));
    }
    if let Some(a) = after {
        q = q.filter(daily_log::Column::Id.gt(a));
    }
    q.order_by_asc(daily_log::Column::Id).limit(limit).all(db).await?.into_iter().map(log_to_domain).collect()
}

/// Follow-ups logged per rep in a date range, for a subtree.
pub async fn follow_ups_by_rep(
    db: &impl ConnectionTrait,
    path: &[Id],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<Id, i64>, ServiceError> {
    let rows: Vec<(String, Option<i64>)> = daily_log::Entity::find()
        .select_only()
        .column(daily_log::Column::RepId)
        .column_as(Expr::cust("CAST(SUM(follow_ups) AS BIGINT)"), "n")
        .filter(daily_log::Column::BookedPath.starts_with(encode_path(path)))
        .filter(daily_log::Column::LogDate.between(from, to))
        .group_by(daily_log::Column::RepId)
        .into_tuple()
        .all(db)
        .await?;
    rows.into_iter().map(|(r, n)| Ok((Id::stored("rep id", &r)?, n.unwrap_or(0)))).collect()
}

/// Each rep's latest daily-log day up to `up_to`; reps without are absent.
pub async fn last_log_days(
    db: &impl ConnectionTrait,
    reps: &[Id],
    up_to: NaiveDate,
) -> Result<HashMap<Id, NaiveDate>, ServiceError> {
    let mut out = HashMap::new();
    let ids: Vec<&str> = reps.iter().map(Id::as_str).collect();
    for (rep, day) in super::latest_days(db, ("daily_logs", "rep_id", "log_date", "true"), &ids, up_to).await? {
        out.insert(Id::stored("rep id", &rep)?, day);
    }
    Ok(out)
}

/// When each rep first logged each day in `days` (inclusive): what the
/// cadence's daily obligations are met by. Reps without a log are absent.
pub async fn first_log_times(
    db: &impl ConnectionTrait,
    reps: &[Id],
    days: (NaiveDate, NaiveDate),
) -> Result<HashMap<Id, HashMap<NaiveDate, DateTime<Utc>>>, ServiceError> {
    let mut out: HashMap<Id, HashMap<NaiveDate, DateTime<Utc>>> = HashMap::new();
    for chunk in reps.chunks(2000) {
        let rows: Vec<(String, NaiveDate, Option<DateTime<Utc>>)> = daily_log::Entity::find()
            .select_only()
            .column(daily_log::Column::RepId)
            .column(daily_log::Column::LogDate)
            .column_as(daily_log::Column::CreatedAt.min(), "first")
            .filter(daily_log::Column::RepId.is_in(chunk.iter().map(Id::as_str)))
            .filter(daily_log::Column::LogDate.between(days.0, days.1))
            .group_by(daily_log::Column::RepId)
            .group_by(daily_log::Column::LogDate)
            .into_tuple()
            .all(db)
            .await?;
        for (rep, day, first) in rows {
            if let Some(t) = first {
                out.entry(Id::stored("rep id", &rep)?).or_default().insert(day, t);
            }
        }
    }
    Ok(out)
}

/// Follow-ups (visits) per booked path and day over an inclusive date
/// range, optionally only below a path prefix.
pub async fn visits(
    db: &impl ConnectionTrait,
    below: Option<&[Id]>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(Vec<Id>, NaiveDate, i64)>, ServiceError> {
    let mut q = daily_log::Entity::find()
        .select_only()
        .column(daily_log::Column::BookedPath)
        .column(daily_log::Column::LogDate)
        .column_as(Expr::cust("CAST(SUM(follow_ups) AS BIGINT)"), "n")
        .filter(daily_log::Column::LogDate.between(from, to))
        .group_by(daily_log::Column::BookedPath)
        .group_by(daily_log::Column::LogDate);
    if let Some(p) = below {
        q = q.filter(daily_log::Column::BookedPath.starts_with(encode_path(p)));
    }
    let rows: Vec<(String, NaiveDate, Option<i64>)> = q.into_tuple().all(db).await?;
    rows.into_iter().map(|(p, d, n)| Ok((decode_path(&p)?, d, n.unwrap_or(0)))).collect()
}

/// A log counts where its rep sat on its day.
pub const PLACED: super::Placed =
    super::Placed { table: "daily_logs", path: "booked_path", date: "log_date", undated: false };
