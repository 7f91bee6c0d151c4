//! Opportunities, daily logs, loss roll-ups and gap analyses.

use std::collections::HashMap;

use attain_kit::{
    ServiceError,
    id::Id,
    money::{Amount, CurrencyCode},
};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use super::{corrupt, decode_path, encode_path};
use crate::domain::{
    activity::{DailyLog, Loss, LossReason, Opportunity, Outcome},
    deal::Dimensions,
};

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

pub mod loss_rollup {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "loss_rollups")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub unit_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub day: Date,
        #[sea_orm(primary_key, auto_increment = false)]
        pub reason: String,
        pub lost_count: i64,
        pub lost_minor: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

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

fn id(field: &str, s: &str) -> Result<Id, ServiceError> {
    Id::parse(field, s).map_err(|_| corrupt(field, s))
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
        id: id("opportunity id", &m.id)?,
        rep: id("rep id", &m.rep_id)?,
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
    add_losses(db, &o.booked_path, o.loss().into_iter().collect()).await
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
    add_losses(db, &new.booked_path, deltas).await?;
    Ok(true)
}

pub async fn list_opportunities(
    db: &impl ConnectionTrait,
    path: &[Id],
    created: Option<(NaiveDate, NaiveDate)>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Opportunity>, ServiceError> {
    let mut q = opportunity::Entity::find().filter(opportunity::Column::BookedPath.starts_with(encode_path(path)));
    if let Some((from, to)) = created {
        q = q.filter(opportunity::Column::CloseDate.between(from, to));
    }
    if let Some(a) = after {
        q = q.filter(opportunity::Column::Id.gt(a));
    }
    q.order_by_asc(opportunity::Column::Id).limit(limit).all(db).await?.into_iter().map(opportunity_to_domain).collect()
}

fn log_to_domain(m: daily_log::Model) -> Result<DailyLog, ServiceError> {
    Ok(DailyLog {
        id: id("log id", &m.id)?,
        rep: id("rep id", &m.rep_id)?,
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
    add_losses(db, &l.booked_path, l.losses()).await
}

pub async fn list_logs(
    db: &impl ConnectionTrait,
    path: &[Id],
    dates: Option<(NaiveDate, NaiveDate)>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<DailyLog>, ServiceError> {
    let mut q = daily_log::Entity::find().filter(daily_log::Column::BookedPath.starts_with(encode_path(path)));
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
    rows.into_iter().map(|(r, n)| Ok((id("rep id", &r)?, n.unwrap_or(0)))).collect()
}

/// Adds loss contributions to every unit on the path.
async fn add_losses(db: &impl ConnectionTrait, path: &[Id], mut losses: Vec<Loss>) -> Result<(), ServiceError> {
    if losses.is_empty() {
        return Ok(());
    }
    // One lock order for every writer (root first, then day and reason).
    losses.sort_by(|a, b| (a.day, a.reason.as_str()).cmp(&(b.day, b.reason.as_str())));
    let mut rows = Vec::new();
    for unit in path {
        for l in &losses {
            rows.push(loss_rollup::ActiveModel {
                unit_id: Set(unit.as_str().to_owned()),
                day: Set(l.day),
                reason: Set(l.reason.as_str().to_owned()),
                lost_count: Set(l.count),
                lost_minor: Set(l.amount.to_minor_units()),
            });
        }
    }
    for row in rows {
        let on_conflict =
            OnConflict::columns([loss_rollup::Column::UnitId, loss_rollup::Column::Day, loss_rollup::Column::Reason])
                .value(
                    loss_rollup::Column::LostCount,
                    Expr::col((loss_rollup::Entity, loss_rollup::Column::LostCount))
                        .add(Expr::cust("excluded.lost_count")),
                )
                .value(
                    loss_rollup::Column::LostMinor,
                    Expr::col((loss_rollup::Entity, loss_rollup::Column::LostMinor))
                        .add(Expr::cust("excluded.lost_minor")),
                )
                .to_owned();
        loss_rollup::Entity::insert(row).on_conflict(on_conflict).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Lost deals by reason for units over a date range.
pub async fn losses(
    db: &impl ConnectionTrait,
    units: &[Id],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<HashMap<Id, Vec<(LossReason, i64, Amount)>>, ServiceError> {
    let mut out: HashMap<Id, Vec<(LossReason, i64, Amount)>> = HashMap::new();
    if from > to || units.is_empty() {
        return Ok(out);
    }
    let rows: Vec<(String, String, Option<i64>, Option<i64>)> = loss_rollup::Entity::find()
        .select_only()
        .column(loss_rollup::Column::UnitId)
        .column(loss_rollup::Column::Reason)
        .column_as(Expr::cust("CAST(SUM(lost_count) AS BIGINT)"), "n")
        .column_as(Expr::cust("CAST(SUM(lost_minor) AS BIGINT)"), "amount")
        .filter(loss_rollup::Column::UnitId.is_in(units.iter().map(Id::as_str)))
        .filter(loss_rollup::Column::Day.between(from, to))
        .group_by(loss_rollup::Column::UnitId)
        .group_by(loss_rollup::Column::Reason)
        .into_tuple()
        .all(db)
        .await?;
    for (unit, reason, n, amount) in rows {
        let n = n.unwrap_or(0);
        if n > 0 {
            let r = LossReason::from_db(&reason).ok_or_else(|| corrupt("loss reason", &reason))?;
            out.entry(id("unit", &unit)?).or_default().push((r, n, Amount::from_minor_units(amount.unwrap_or(0))));
        }
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    }
    Ok(out)
}

/// A unit's gap analysis for a period, if written.
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

/// Each rep's latest day with a deal (from the roll-ups) or a daily log,
/// up to `up_to`; reps with neither are absent. Two grouped queries.
pub async fn last_activity(
    db: &impl ConnectionTrait,
    reps: &[Id],
    up_to: NaiveDate,
) -> Result<HashMap<Id, NaiveDate>, ServiceError> {
    use super::rollups::rollup;
    let mut out: HashMap<Id, NaiveDate> = HashMap::new();
    let mut note = |unit: String, day: Option<NaiveDate>| -> Result<(), ServiceError> {
        let id = Id::parse("unit", &unit).map_err(|_| corrupt("activity unit", &unit))?;
        if let Some(d) = day {
            let e = out.entry(id).or_insert(d);
            *e = Ord::max(*e, d);
        }
        Ok(())
    };
    for chunk in reps.chunks(2000) {
        let deals: Vec<(String, Option<NaiveDate>)> = rollup::Entity::find()
            .select_only()
            .column(rollup::Column::UnitId)
            .column_as(rollup::Column::Day.max(), "last")
            .filter(rollup::Column::UnitId.is_in(chunk.iter().map(Id::as_str)))
            .filter(rollup::Column::Day.lte(up_to))
            .group_by(rollup::Column::UnitId)
            .into_tuple()
            .all(db)
            .await?;
        for (unit, day) in deals {
            note(unit, day)?;
        }
        let logs: Vec<(String, Option<NaiveDate>)> = daily_log::Entity::find()
            .select_only()
            .column(daily_log::Column::RepId)
            .column_as(daily_log::Column::LogDate.max(), "last")
            .filter(daily_log::Column::RepId.is_in(chunk.iter().map(Id::as_str)))
            .filter(daily_log::Column::LogDate.lte(up_to))
            .group_by(daily_log::Column::RepId)
            .into_tuple()
            .all(db)
            .await?;
        for (unit, day) in logs {
            note(unit, day)?;
        }
    }
    Ok(out)
}
