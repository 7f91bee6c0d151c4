//! The `deliveries` table: the outbox. A row is written in the same
//! transaction that moves the feed position past its alert change, claimed
//! by the sender for a while before each attempt, and kept once sent.

use std::collections::HashMap;

use attain_kit::{ServiceError, id::Id};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::OnConflict,
};

use super::corrupt;
use crate::domain::{
    alert::Severity,
    delivery::{Delivery, State},
    event::Event,
    subscription::Told,
};

pub mod delivery {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub subscription_id: String,
        pub owner: String,
        pub event: String,
        pub dedupe_key: String,
        pub unit_id: String,
        pub severity: String,
        pub payload: String,
        pub body: String,
        pub digest: bool,
        pub state: String,
        pub attempts: i32,
        pub last_error: String,
        pub created_at: DateTimeUtc,
        pub next_attempt_at: i64,
        pub claimed_until: i64,
        pub sent_at: Option<DateTimeUtc>,
        pub endpoint_key: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

use delivery::Column as C;

fn to_domain(m: delivery::Model) -> Result<Delivery, ServiceError> {
    let event: Event = serde_json::from_str(&m.payload).map_err(|_| corrupt("delivery payload", &m.id))?;
    Ok(Delivery {
        id: Id::stored("delivery id", &m.id)?,
        subscription: Id::stored("subscription id", &m.subscription_id)?,
        owner: m.owner,
        event,
        dedupe_key: m.dedupe_key,
        severity: Severity::parse(&m.severity).ok_or_else(|| corrupt("severity", &m.severity))?,
        text: m.body,
        digest: m.digest,
        state: State::parse(&m.state).ok_or_else(|| corrupt("delivery state", &m.state))?,
        attempts: u32::try_from(m.attempts).unwrap_or(0),
        last_error: m.last_error,
        create_time: m.created_at,
        next_attempt: DateTime::from_timestamp_millis(m.next_attempt_at).unwrap_or_default(),
        sent_time: m.sent_at,
        endpoint_key: m.endpoint_key,
    })
}

/// Writes the rows; one whose (subscription, dedupe key) is already there
/// is skipped: the same change twice is one delivery. How many were new.
pub async fn insert_new(db: &impl ConnectionTrait, rows: &[Delivery]) -> Result<u64, ServiceError> {
    let mut added = 0;
    for d in rows {
        let payload = serde_json::to_string(&d.event).map_err(|e| ServiceError::Internal(e.into()))?;
        let r = delivery::Entity::insert(delivery::ActiveModel {
            id: Set(d.id.as_str().to_owned()),
            subscription_id: Set(d.subscription.as_str().to_owned()),
            owner: Set(d.owner.clone()),
            event: Set(d.event.name()),
            dedupe_key: Set(d.dedupe_key.clone()),
            unit_id: Set(d.event.unit().to_owned()),
            severity: Set(d.severity.as_str().to_owned()),
            payload: Set(payload),
            body: Set(d.text.clone()),
            digest: Set(d.digest),
            state: Set(d.state.as_str().to_owned()),
            attempts: Set(i32::try_from(d.attempts).unwrap_or(i32::MAX)),
            last_error: Set(d.last_error.clone()),
            created_at: Set(d.create_time),
            next_attempt_at: Set(d.next_attempt.timestamp_millis()),
            claimed_until: Set(0),
            sent_at: Set(d.sent_time),
            endpoint_key: Set(d.endpoint_key.clone()),
        })
        .on_conflict(OnConflict::columns([C::SubscriptionId, C::DedupeKey]).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
        added += r;
    }
    Ok(added)
}

fn waiting() -> [&'static str; 2] {
    [State::Pending.as_str(), State::Failed.as_str()]
}

/// Rows whose time has come and that no sender holds, the oldest due
/// first, but for the endpoints in `skip`.
pub async fn due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
    skip: &std::collections::HashSet<String>,
) -> Result<Vec<Delivery>, ServiceError> {
    let now = now.timestamp_millis();
    let mut q = delivery::Entity::find();
    if !skip.is_empty() {
        q = q.filter(C::EndpointKey.is_not_in(skip.iter().map(String::as_str)));
    }
    q.filter(C::State.is_in(waiting()))
        .filter(C::NextAttemptAt.lte(now))
        .filter(C::ClaimedUntil.lte(now))
        .order_by_asc(C::NextAttemptAt)
        .order_by_asc(C::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// A digest's rows of one subscription due by `by` (a few seconds past
/// now: rows of one digest hour written moments apart go together).
pub async fn due_digest(
    db: &impl ConnectionTrait,
    subscription: &Id,
    now: DateTime<Utc>,
    by: DateTime<Utc>,
) -> Result<Vec<Delivery>, ServiceError> {
    let (now, by) = (now.timestamp_millis(), by.timestamp_millis());
    delivery::Entity::find()
        .filter(C::SubscriptionId.eq(subscription.as_str()))
        .filter(C::Digest.eq(true))
        .filter(C::State.is_in(waiting()))
        .filter(C::NextAttemptAt.lte(by))
        .filter(C::ClaimedUntil.lte(now))
        .order_by_asc(C::Id)
        .limit(500)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// Holds the rows for one attempt until `until`, if still waiting and
/// unheld; whether all were (a sender that lost any sends none).
pub async fn claim(
    db: &impl ConnectionTrait,
    ids: &[&str],
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, ServiceError> {
    let r = delivery::Entity::update_many()
        .col_expr(C::ClaimedUntil, until.timestamp_millis().into())
        .filter(C::Id.is_in(ids.iter().copied()))
        .filter(C::State.is_in(waiting()))
        .filter(C::ClaimedUntil.lte(now.timestamp_millis()))
        .exec(db)
        .await?;
    Ok(r.rows_affected == ids.len() as u64)
}

/// What an attempt left: the new state, attempts, error and next time.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub state: State,
    pub attempts: u32,
    pub last_error: String,
    pub next_attempt: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Records an attempt. A failed attempt of a row superseded meanwhile
/// leaves it CANCELLED (it is not tried again).
pub async fn finish(db: &impl ConnectionTrait, ids: &[&str], o: &Outcome) -> Result<(), ServiceError> {
    let mut q = delivery::Entity::update_many();
    if o.state != State::Sent {
        q = q.filter(C::State.ne(State::Cancelled.as_str()));
    }
    q.col_expr(C::State, o.state.as_str().into())
        .col_expr(C::Attempts, i32::try_from(o.attempts).unwrap_or(i32::MAX).into())
        .col_expr(C::LastError, o.last_error.clone().into())
        .col_expr(C::NextAttemptAt, o.next_attempt.timestamp_millis().into())
        .col_expr(C::ClaimedUntil, 0i64.into())
        .col_expr(C::SentAt, o.sent_at.into())
        .filter(C::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// A later change of an event (an alert resolved while its opening still
/// waited for a retry) supersedes the rows of one subscription still
/// waiting to tell an earlier one: the subscriber hears the alert as it
/// is now, never an older state after a newer one. How many were.
pub async fn supersede(
    db: &impl ConnectionTrait,
    subscription: &str,
    event: &str,
    newer_key: &str,
) -> Result<u64, ServiceError> {
    let r = delivery::Entity::update_many()
        .col_expr(C::State, State::Cancelled.as_str().into())
        .col_expr(C::LastError, "superseded by a later change, told instead".into())
        .filter(C::SubscriptionId.eq(subscription))
        .filter(C::Event.eq(event))
        .filter(C::State.is_in(waiting()))
        .filter(C::DedupeKey.ne(newer_key))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// An alert resolved: whatever of it still waits to be told (an opening
/// retrying) is moot for every subscription. How many rows were.
pub async fn supersede_unresolved(db: &impl ConnectionTrait, event: &str) -> Result<u64, ServiceError> {
    let r = delivery::Entity::update_many()
        .col_expr(C::State, State::Cancelled.as_str().into())
        .col_expr(C::LastError, "superseded: the alert resolved before this was told".into())
        .filter(C::Event.eq(event))
        .filter(C::State.is_in(waiting()))
        .filter(C::DedupeKey.not_like("%:RESOLVED:%"))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Moves waiting rows to a later time without an attempt (a rate limit).
pub async fn postpone(db: &impl ConnectionTrait, ids: &[&str], to: DateTime<Utc>) -> Result<(), ServiceError> {
    delivery::Entity::update_many()
        .col_expr(C::NextAttemptAt, to.timestamp_millis().into())
        .col_expr(C::ClaimedUntil, 0i64.into())
        .filter(C::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// When an endpoint took each row since `since`, oldest first (its rate
/// limit's window; a digest's rows count each, which errs on the side of
/// the limit).
pub async fn sent_times_since(
    db: &impl ConnectionTrait,
    endpoint: &str,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, ServiceError> {
    let times: Vec<Option<DateTime<Utc>>> = delivery::Entity::find()
        .select_only()
        .column(C::SentAt)
        .filter(C::EndpointKey.eq(endpoint))
        .filter(C::SentAt.gte(since))
        .order_by_asc(C::SentAt)
        .into_tuple()
        .all(db)
        .await?;
    Ok(times.into_iter().flatten().collect())
}

/// Cancels a subscription's rows not yet sent.
pub async fn cancel_waiting(db: &impl ConnectionTrait, subscription: &str) -> Result<(), ServiceError> {
    delivery::Entity::update_many()
        .col_expr(C::State, State::Cancelled.as_str().into())
        .filter(C::SubscriptionId.eq(subscription))
        .filter(C::State.is_in(waiting()))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn get(db: &impl ConnectionTrait, id: &str) -> Result<Option<Delivery>, ServiceError> {
    delivery::Entity::find_by_id(id.to_owned()).one(db).await?.map(to_domain).transpose()
}

/// Which rows a listing reads.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    pub owner: Option<&'a str>,
    pub subscription: Option<&'a str>,
    pub states: Vec<State>,
    /// Rows of these subscriptions are left out.
    pub not_of: Vec<String>,
}

/// Rows newest first (ids are time-ordered), before `before`.
pub async fn list(
    db: &impl ConnectionTrait,
    f: &Filter<'_>,
    before: Option<&str>,
    limit: u64,
) -> Result<Vec<Delivery>, ServiceError> {
    let mut q = delivery::Entity::find();
    if let Some(o) = f.owner {
        q = q.filter(C::Owner.eq(o));
    }
    if let Some(s) = f.subscription {
        q = q.filter(C::SubscriptionId.eq(s));
    }
    if !f.states.is_empty() {
        q = q.filter(C::State.is_in(f.states.iter().map(|s| s.as_str())));
    }
    if !f.not_of.is_empty() {
        q = q.filter(C::SubscriptionId.is_not_in(f.not_of.iter().map(String::as_str)));
    }
    if let Some(b) = before {
        q = q.filter(C::Id.lt(b));
    }
    q.order_by_desc(C::Id).limit(limit).all(db).await?.into_iter().map(to_domain).collect()
}

/// Back to its first attempt, due now.
pub async fn redrive(db: &impl ConnectionTrait, id: &str, now: DateTime<Utc>) -> Result<bool, ServiceError> {
    let r = delivery::Entity::update_many()
        .col_expr(C::State, State::Pending.as_str().into())
        .col_expr(C::Attempts, 0i32.into())
        .col_expr(C::NextAttemptAt, now.timestamp_millis().into())
        .col_expr(C::ClaimedUntil, 0i64.into())
        .filter(C::Id.eq(id))
        .filter(C::State.is_in([State::Dead.as_str(), State::Failed.as_str()]))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Rows by state, for the gauges.
pub async fn count_in(db: &impl ConnectionTrait, state: State) -> Result<u64, ServiceError> {
    Ok(delivery::Entity::find().filter(C::State.eq(state.as_str())).count(db).await?)
}

/// Frees every claim: a new leader's predecessor is gone, and what it held
/// mid-attempt is due again at once.
pub async fn release_claims(db: &impl ConnectionTrait) -> Result<u64, ServiceError> {
    let r = delivery::Entity::update_many()
        .col_expr(C::ClaimedUntil, 0i64.into())
        .filter(C::ClaimedUntil.gt(0i64))
        .filter(C::State.is_in(waiting()))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// What each subscription was told of one alert (`event` "alerts/{id}"):
/// rows not cancelled, the latest last (ids are time-ordered).
pub async fn told(db: &impl ConnectionTrait, event: &str) -> Result<HashMap<String, Told>, ServiceError> {
    let rows: Vec<(String, String, String, String)> = delivery::Entity::find()
        .select_only()
        .columns([C::SubscriptionId, C::DedupeKey, C::Severity, C::State])
        .filter(C::Event.eq(event))
        .order_by_asc(C::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: HashMap<String, Told> = HashMap::new();
    for (sub, key, severity, state) in rows {
        let entry = out.entry(sub).or_default();
        entry.rows += 1;
        entry.sent |= state == State::Sent.as_str();
        if state != State::Cancelled.as_str() {
            // A change told again carries "#n" after its key.
            let key = key.split_once('#').map_or(key.as_str(), |(k, _)| k).to_owned();
            entry.last = Some((key, Severity::parse(&severity).ok_or_else(|| corrupt("severity", &severity))?));
        }
    }
    Ok(out)
}
