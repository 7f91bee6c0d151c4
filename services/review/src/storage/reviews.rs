//! Reviews, causes and action items.

use std::collections::HashMap;

use attain_kit::{ServiceError, id::Id, period::Period};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{corrupt, decode_path, encode_path};
use crate::domain::review::{ActionItem, ActionStatus, Cadence, Cause, CauseKind, Review, State};

pub mod review {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "reviews")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub unit_id: String,
        pub unit_path: String,
        pub plan: String,
        pub period: String,
        pub fiscal_start_month: i32,
        pub period_start: Date,
        pub cadence: String,
        pub state: String,
        pub brief: String,
        pub top_reasons: String,
        pub open_key: Option<String>,
        pub created_by: String,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub closed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod cause {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "causes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub review_id: String,
        pub unit_id: String,
        pub subjective: bool,
        pub kind: String,
        pub body: String,
        pub author: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod action_item {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "action_items")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub review_id: String,
        pub owner: String,
        pub body: String,
        pub due_date: Date,
        pub status: String,
        pub cause_id: Option<String>,
        pub carried_from: Option<String>,
        pub carried_from_review: Option<String>,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T, ServiceError> {
    serde_json::from_str(s).map_err(|_| corrupt(what, s))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, ServiceError> {
    serde_json::to_string(v).map_err(|e| ServiceError::Internal(e.into()))
}

fn review_to_domain(m: review::Model) -> Result<Review, ServiceError> {
    let fsm = u32::try_from(m.fiscal_start_month).map_err(|_| corrupt("fiscal start month", &m.id))?;
    Ok(Review {
        id: Id::stored("review id", &m.id)?,
        unit: Id::stored("unit id", &m.unit_id)?,
        unit_path: decode_path(&m.unit_path)?,
        plan: m.plan,
        period: Period::parse("period", &m.period, fsm).map_err(|_| corrupt("period", &m.period))?,
        cadence: Cadence::from_db(&m.cadence).ok_or_else(|| corrupt("cadence", &m.cadence))?,
        state: if m.state == "CLOSED" { State::Closed } else { State::Open },
        brief: json("brief", &m.brief)?,
        top_reasons: json("top reasons", &m.top_reasons)?,
        created_by: m.created_by,
        version: m.version,
        create_time: m.created_at,
        close_time: m.closed_at,
    })
}

fn review_to_active(r: &Review, fiscal_start_month: u32) -> Result<review::ActiveModel, ServiceError> {
    Ok(review::ActiveModel {
        id: Set(r.id.as_str().to_owned()),
        unit_id: Set(r.unit.as_str().to_owned()),
        unit_path: Set(encode_path(&r.unit_path)),
        plan: Set(r.plan.clone()),
        period: Set(r.period.expression.clone()),
        fiscal_start_month: Set(i32::try_from(fiscal_start_month).unwrap_or(1)),
        period_start: Set(r.period.start),
        cadence: Set(r.cadence.as_str().to_owned()),
        state: Set(match r.state {
            State::Open => "OPEN",
            State::Closed => "CLOSED",
        }
        .to_owned()),
        brief: Set(to_json(&r.brief)?),
        top_reasons: Set(to_json(&r.top_reasons)?),
        open_key: Set((r.state == State::Open).then(|| format!("{}|{}", r.unit.as_str(), r.period.expression))),
        created_by: Set(r.created_by.clone()),
        version: Set(r.version),
        created_at: Set(r.create_time),
        closed_at: Set(r.close_time),
    })
}

pub async fn insert_review(db: &impl ConnectionTrait, r: &Review, fiscal_start_month: u32) -> Result<(), ServiceError> {
    review::Entity::insert(review_to_active(r, fiscal_start_month)?).exec_without_returning(db).await?;
    Ok(())
}

pub async fn get_review(db: &impl ConnectionTrait, rid: &Id) -> Result<Option<(Review, u32)>, ServiceError> {
    match review::Entity::find_by_id(rid.as_str().to_owned()).one(db).await? {
        Some(m) => {
            let fsm = u32::try_from(m.fiscal_start_month).unwrap_or(1);
            Ok(Some((review_to_domain(m)?, fsm)))
        }
        None => Ok(None),
    }
}

/// The open review of a unit and period, if any.
pub async fn open_review(db: &impl ConnectionTrait, unit: &Id, period: &str) -> Result<Option<Review>, ServiceError> {
    review::Entity::find()
        .filter(review::Column::OpenKey.eq(format!("{}|{period}", unit.as_str())))
        .one(db)
        .await?
        .map(review_to_domain)
        .transpose()
}

/// The unit's latest review before this one (by period start, then id).
/// The unit's reviews of periods that ended before `before` starts, latest
/// first: their open actions carry into `before`. An overlapping review (a
/// week of the month under review, the quarter holding it) is not earlier.
pub async fn earlier_reviews(
    db: &impl ConnectionTrait,
    unit: &Id,
    before: &Review,
) -> Result<Vec<Review>, ServiceError> {
    let candidates = review::Entity::find()
        .filter(review::Column::UnitId.eq(unit.as_str()))
        .filter(review::Column::Id.ne(before.id.as_str()))
        .filter(review::Column::PeriodStart.lt(before.period.start))
        .order_by_desc(review::Column::PeriodStart)
        .order_by_desc(review::Column::Id)
        .limit(PREVIOUS_CANDIDATES)
        .all(db)
        .await?;
    let mut earlier = Vec::new();
    for row in candidates {
        let r = review_to_domain(row)?;
        if r.period.end < before.period.start {
            earlier.push(r);
        }
    }
    Ok(earlier)
}

/// Reviews starting before a new one that are looked at: an item still
/// open is in one of the latest (older ones' were carried on).
const PREVIOUS_CANDIDATES: u64 = 64;

pub async fn update_review(
    db: &impl ConnectionTrait,
    r: &Review,
    fiscal_start_month: u32,
    expected_version: i64,
) -> Result<bool, ServiceError> {
    let res = review::Entity::update_many()
        .set(review_to_active(r, fiscal_start_month)?)
        .filter(review::Column::Id.eq(r.id.as_str()))
        .filter(review::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Reviews filed below `path`, or of any of `units` wherever they were
/// filed (a unit that moved keeps its reviews); with no `path`, only those
/// of `units`. Newest first when `newest`, paging before `after`.
pub async fn list_reviews(
    db: &impl ConnectionTrait,
    (path, units): (Option<&[Id]>, &[Id]),
    (after, newest): (Option<&str>, bool),
    limit: u64,
) -> Result<Vec<Review>, ServiceError> {
    let mut which =
        sea_orm::Condition::any().add(review::Column::UnitId.is_in(units.iter().take(1000).map(Id::as_str)));
    if let Some(path) = path {
        which = which.add(review::Column::UnitPath.starts_with(encode_path(path)));
    }
    let mut q = review::Entity::find().filter(which);
    // Ids sort by creation (UUIDv7), so id order is creation order.
    q = match (after, newest) {
        (Some(a), false) => q.filter(review::Column::Id.gt(a)),
        (Some(a), true) => q.filter(review::Column::Id.lt(a)),
        (None, _) => q,
    };
    let q = if newest { q.order_by_desc(review::Column::Id) } else { q.order_by_asc(review::Column::Id) };
    q.limit(limit).all(db).await?.into_iter().map(review_to_domain).collect()
}

/// When each unit's review of each month asked was first closed (a
/// monthly review is submitted once it is closed): what the monthly
/// obligations are met by. Units and months without one are absent.
pub async fn closed_monthly(
    db: &impl ConnectionTrait,
    units: &[Id],
    months: &[String],
) -> Result<HashMap<(Id, String), DateTime<Utc>>, ServiceError> {
    let mut out: HashMap<(Id, String), DateTime<Utc>> = HashMap::new();
    if months.is_empty() {
        return Ok(out);
    }
    for chunk in units.chunks(1000) {
        let rows: Vec<(String, String, Option<DateTime<Utc>>)> = review::Entity::find()
            .select_only()
            .column(review::Column::UnitId)
            .column(review::Column::Period)
            .column(review::Column::ClosedAt)
            .filter(review::Column::UnitId.is_in(chunk.iter().map(Id::as_str)))
            .filter(review::Column::Period.is_in(months.iter().map(String::as_str)))
            .filter(review::Column::Cadence.eq(Cadence::Monthly.as_str()))
            .filter(review::Column::ClosedAt.is_not_null())
            .into_tuple()
            .all(db)
            .await?;
        for (unit, period, closed) in rows {
            let Some(t) = closed else { continue };
            let e = out.entry((Id::stored("unit id", &unit)?, period)).or_insert(t);
            *e = (*e).min(t);
        }
    }
    Ok(out)
}

fn cause_to_domain(m: cause::Model) -> Result<Cause, ServiceError> {
    Ok(Cause {
        id: Id::stored("cause id", &m.id)?,
        review: Id::stored("review id", &m.review_id)?,
        unit: Id::stored("unit id", &m.unit_id)?,
        subjective: m.subjective,
        kind: CauseKind::from_db(&m.kind).ok_or_else(|| corrupt("cause kind", &m.kind))?,
        text: m.body,
        author: m.author,
        create_time: m.created_at,
    })
}

pub async fn insert_cause(db: &impl ConnectionTrait, c: &Cause) -> Result<(), ServiceError> {
    cause::Entity::insert(cause::ActiveModel {
        id: Set(c.id.as_str().to_owned()),
        review_id: Set(c.review.as_str().to_owned()),
        unit_id: Set(c.unit.as_str().to_owned()),
        subjective: Set(c.subjective),
        kind: Set(c.kind.as_str().to_owned()),
        body: Set(c.text.clone()),
        author: Set(c.author.clone()),
        created_at: Set(c.create_time),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn causes(db: &impl ConnectionTrait, review: &Id) -> Result<Vec<Cause>, ServiceError> {
    cause::Entity::find()
        .filter(cause::Column::ReviewId.eq(review.as_str()))
        .order_by_asc(cause::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(cause_to_domain)
        .collect()
}

fn item_to_domain(m: action_item::Model) -> Result<ActionItem, ServiceError> {
    Ok(ActionItem {
        id: Id::stored("action item id", &m.id)?,
        review: Id::stored("review id", &m.review_id)?,
        owner: m.owner,
        text: m.body,
        due_date: m.due_date,
        status: ActionStatus::from_db(&m.status).ok_or_else(|| corrupt("status", &m.status))?,
        cause: m.cause_id.as_deref().map(|c| Id::stored("cause id", c)).transpose()?,
        carried_from: match (m.carried_from.as_deref(), m.carried_from_review.as_deref()) {
            (Some(item), Some(review)) => {
                Some((Id::stored("carried from review", review)?, Id::stored("carried from", item)?))
            }
            (None, _) => None,
            (Some(item), None) => return Err(corrupt("carried from (no review)", item)),
        },
        version: m.version,
        create_time: m.created_at,
        update_time: m.updated_at,
    })
}

fn item_to_active(a: &ActionItem) -> action_item::ActiveModel {
    action_item::ActiveModel {
        id: Set(a.id.as_str().to_owned()),
        review_id: Set(a.review.as_str().to_owned()),
        owner: Set(a.owner.clone()),
        body: Set(a.text.clone()),
        due_date: Set(a.due_date),
        status: Set(a.status.as_str().to_owned()),
        cause_id: Set(a.cause.as_ref().map(|c| c.as_str().to_owned())),
        carried_from: Set(a.carried_from.as_ref().map(|(_, item)| item.as_str().to_owned())),
        carried_from_review: Set(a.carried_from.as_ref().map(|(review, _)| review.as_str().to_owned())),
        version: Set(a.version),
        created_at: Set(a.create_time),
        updated_at: Set(a.update_time),
    }
}

pub async fn insert_items(db: &impl ConnectionTrait, items: &[ActionItem]) -> Result<(), ServiceError> {
    if items.is_empty() {
        return Ok(());
    }
    action_item::Entity::insert_many(items.iter().map(item_to_active)).exec_without_returning(db).await?;
    Ok(())
}

pub async fn get_item(db: &impl ConnectionTrait, item: &Id) -> Result<Option<ActionItem>, ServiceError> {
    action_item::Entity::find_by_id(item.as_str().to_owned()).one(db).await?.map(item_to_domain).transpose()
}

pub async fn update_item(
    db: &impl ConnectionTrait,
    a: &ActionItem,
    expected_version: i64,
) -> Result<bool, ServiceError> {
    let res = action_item::Entity::update_many()
        .set(item_to_active(a))
        .filter(action_item::Column::Id.eq(a.id.as_str()))
        .filter(action_item::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

pub async fn items(db: &impl ConnectionTrait, review: &Id) -> Result<Vec<ActionItem>, ServiceError> {
    action_item::Entity::find()
        .filter(action_item::Column::ReviewId.eq(review.as_str()))
        .order_by_asc(action_item::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(item_to_domain)
        .collect()
}

/// Monthly reviews closed at or after `since`: (unit, month, close time),
/// oldest first.
pub async fn closed_monthly_since(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<(Id, String, DateTime<Utc>)>, ServiceError> {
    let rows: Vec<(String, String, Option<DateTime<Utc>>)> = review::Entity::find()
        .select_only()
        .column(review::Column::UnitId)
        .column(review::Column::Period)
        .column(review::Column::ClosedAt)
        .filter(review::Column::Cadence.eq(Cadence::Monthly.as_str()))
        .filter(review::Column::ClosedAt.gte(since))
        .order_by_asc(review::Column::ClosedAt)
        .into_tuple()
        .all(db)
        .await?;
    rows.into_iter()
        .filter_map(|(u, p, t)| t.map(|t| (u, p, t)))
        .map(|(u, p, t)| Ok((Id::stored("unit id", &u)?, p, t)))
        .collect()
}
