//! The `subscriptions` table. A channel's address and secret are stored
//! only sealed (`sealed`), by the application's key.

use attain_kit::{ServiceError, id::Id};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::corrupt;
use crate::domain::{
    alert::{Rule, Severity},
    channel::Kind,
    schedule::{QuietHours, Schedule, zone},
    subscription::{Language, MoneyUnit, Owner, State, Subscription},
};

pub mod subscription {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "subscriptions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub owner: String,
        pub owner_role: String,
        pub owner_unit: String,
        pub unit_id: String,
        pub channel_kind: String,
        pub endpoint: String,
        pub sealed: String,
        pub has_secret: bool,
        pub secret_env: Option<String>,
        pub rules: String,
        pub least_severity: String,
        pub time_zone: String,
        pub quiet_start: Option<String>,
        pub quiet_end: Option<String>,
        pub digest_hour: Option<i32>,
        pub language: String,
        pub money_unit: String,
        pub remind_minutes: i32,
        pub state: String,
        pub state_reason: String,
        pub created_at: DateTimeUtc,
        pub deleted_at: Option<DateTimeUtc>,
        pub version: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A stored subscription: the domain row, and its sealed channel secret
/// (with the environment variable that holds its signing key, if any).
#[derive(Debug, Clone)]
pub struct Stored {
    pub subscription: Subscription,
    pub sealed: String,
    pub secret_env: Option<String>,
}

fn to_domain(m: subscription::Model) -> Result<Stored, ServiceError> {
    let rules: Vec<String> = serde_json::from_str(&m.rules).map_err(|_| corrupt("subscription rules", &m.rules))?;
    let rules = rules
        .iter()
        .map(|r| Rule::parse(r).ok_or_else(|| corrupt("subscription rule", r)))
        .collect::<Result<_, _>>()?;
    let quiet = match (&m.quiet_start, &m.quiet_end) {
        (Some(a), Some(b)) => QuietHours::parse("quiet_hours", a, b).map_err(|_| corrupt("quiet hours", a))?,
        _ => None,
    };
    let zone = zone("time_zone", &m.time_zone).map_err(|_| corrupt("time zone", &m.time_zone))?;
    let digest_hour =
        m.digest_hour.map(|h| u32::try_from(h).map_err(|_| corrupt("digest hour", &h.to_string()))).transpose()?;
    Ok(Stored {
        subscription: Subscription {
            id: Id::stored("subscription id", &m.id)?,
            owner: Owner { person: m.owner, role: m.owner_role, unit: m.owner_unit },
            unit: Id::stored("unit id", &m.unit_id)?,
            channel: Kind::parse(&m.channel_kind).ok_or_else(|| corrupt("channel kind", &m.channel_kind))?,
            endpoint: m.endpoint,
            secret_set: m.has_secret,
            rules,
            least_severity: Severity::parse(&m.least_severity).ok_or_else(|| corrupt("severity", &m.least_severity))?,
            time_zone: m.time_zone,
            schedule: Schedule { zone, quiet, digest_hour },
            language: Language::parse("language", &m.language).map_err(|_| corrupt("language", &m.language))?,
            money_unit: MoneyUnit::parse("money_unit", &m.money_unit)
                .map_err(|_| corrupt("money unit", &m.money_unit))?,
            remind_minutes: u32::try_from(m.remind_minutes).map_err(|_| corrupt("remind minutes", &m.id))?,
            state: State::parse(&m.state).ok_or_else(|| corrupt("subscription state", &m.state))?,
            state_reason: m.state_reason,
            create_time: m.created_at,
            delete_time: m.deleted_at,
            version: m.version,
        },
        sealed: m.sealed,
        secret_env: m.secret_env,
    })
}

pub async fn insert(db: &impl ConnectionTrait, s: &Stored) -> Result<(), ServiceError> {
    let sub = &s.subscription;
    let rules: Vec<&str> = sub.rules.iter().map(|r| r.as_str()).collect();
    subscription::Entity::insert(subscription::ActiveModel {
        id: Set(sub.id.as_str().to_owned()),
        owner: Set(sub.owner.person.clone()),
        owner_role: Set(sub.owner.role.clone()),
        owner_unit: Set(sub.owner.unit.clone()),
        unit_id: Set(sub.unit.as_str().to_owned()),
        channel_kind: Set(sub.channel.as_str().to_owned()),
        endpoint: Set(sub.endpoint.clone()),
        sealed: Set(s.sealed.clone()),
        has_secret: Set(sub.secret_set),
        secret_env: Set(s.secret_env.clone()),
        rules: Set(serde_json::to_string(&rules).map_err(|e| ServiceError::Internal(e.into()))?),
        least_severity: Set(sub.least_severity.as_str().to_owned()),
        time_zone: Set(sub.time_zone.clone()),
        quiet_start: Set(sub.schedule.quiet.map(|q| q.start_text())),
        quiet_end: Set(sub.schedule.quiet.map(|q| q.end_text())),
        digest_hour: Set(sub.schedule.digest_hour.and_then(|h| i32::try_from(h).ok())),
        language: Set(sub.language.as_str().to_owned()),
        money_unit: Set(sub.money_unit.as_str().to_owned()),
        remind_minutes: Set(i32::try_from(sub.remind_minutes).unwrap_or(0)),
        state: Set(sub.state.as_str().to_owned()),
        state_reason: Set(sub.state_reason.clone()),
        created_at: Set(sub.create_time),
        deleted_at: Set(sub.delete_time),
        version: Set(sub.version),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn get(db: &impl ConnectionTrait, id: &str) -> Result<Option<Stored>, ServiceError> {
    subscription::Entity::find_by_id(id.to_owned()).one(db).await?.map(to_domain).transpose()
}

/// Subscriptions by id after `after`: one owner's, or everyone's (None).
pub async fn list(
    db: &impl ConnectionTrait,
    owner: Option<&str>,
    show_deleted: bool,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Stored>, ServiceError> {
    let mut q = subscription::Entity::find();
    if let Some(o) = owner {
        q = q.filter(subscription::Column::Owner.eq(o));
    }
    if !show_deleted {
        q = q.filter(subscription::Column::State.ne(State::Deleted.as_str()));
    }
    if let Some(a) = after {
        q = q.filter(subscription::Column::Id.gt(a));
    }
    q.order_by_asc(subscription::Column::Id).limit(limit).all(db).await?.into_iter().map(to_domain).collect()
}

/// Every active subscription (what each alert change is matched against).
pub async fn active(db: &impl ConnectionTrait) -> Result<Vec<Stored>, ServiceError> {
    subscription::Entity::find()
        .filter(subscription::Column::State.eq(State::Active.as_str()))
        .order_by_asc(subscription::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// Which of `ids` are still ACTIVE, their rows share-locked until the
/// transaction ends (PostgreSQL; SQLite's one writer serialises anyway):
/// a delete committed meanwhile is seen, and one that comes after waits
/// for this transaction, then cancels what it wrote.
pub async fn lock_active(
    db: &impl ConnectionTrait,
    ids: &[&str],
) -> Result<std::collections::HashSet<String>, ServiceError> {
    let mut out = std::collections::HashSet::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<String> = subscription::Entity::find()
            .select_only()
            .column(subscription::Column::Id)
            .filter(subscription::Column::Id.is_in(chunk.iter().copied()))
            .filter(subscription::Column::State.eq(State::Active.as_str()))
            .lock_shared()
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Marks it DELETED if still at `version`; whether it was.
pub async fn delete(
    db: &impl ConnectionTrait,
    id: &str,
    version: i64,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<bool, ServiceError> {
    let r = subscription::Entity::update_many()
        .col_expr(subscription::Column::State, State::Deleted.as_str().into())
        .col_expr(subscription::Column::DeletedAt, Some(at).into())
        .col_expr(subscription::Column::Version, (version + 1).into())
        .filter(subscription::Column::Id.eq(id))
        .filter(subscription::Column::Version.eq(version))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// A person's active subscriptions made under another scope than `now`
/// (another role or unit).
pub async fn active_of_other_scope(db: &impl ConnectionTrait, now: &Owner) -> Result<Vec<Stored>, ServiceError> {
    use subscription::Column as C;
    let other =
        sea_orm::Condition::any().add(C::OwnerRole.ne(now.role.as_str())).add(C::OwnerUnit.ne(now.unit.as_str()));
    subscription::Entity::find()
        .filter(C::Owner.eq(now.person.as_str()))
        .filter(C::State.eq(State::Active.as_str()))
        .filter(other)
        .all(db)
        .await?
        .into_iter()
        .map(to_domain)
        .collect()
}

/// The ids of a person's suspended subscriptions (their deliveries are
/// not the person's to read under the scope they have now).
pub async fn suspended_of(db: &impl ConnectionTrait, person: &str) -> Result<Vec<String>, ServiceError> {
    use subscription::Column as C;
    Ok(subscription::Entity::find()
        .select_only()
        .column(C::Id)
        .filter(C::Owner.eq(person))
        .filter(C::State.eq(State::Suspended.as_str()))
        .into_tuple::<String>()
        .all(db)
        .await?)
}

/// Marks an active subscription SUSPENDED with why; whether it was active.
pub async fn suspend(db: &impl ConnectionTrait, id: &str, reason: &str) -> Result<bool, ServiceError> {
    use subscription::Column as C;
    let r = subscription::Entity::update_many()
        .col_expr(C::State, State::Suspended.as_str().into())
        .col_expr(C::StateReason, reason.into())
        .col_expr(C::Version, sea_orm::sea_query::ExprTrait::add(sea_orm::sea_query::Expr::col(C::Version), 1))
        .filter(C::Id.eq(id))
        .filter(C::State.eq(State::Active.as_str()))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// How many active subscriptions a person holds.
pub async fn count_active(db: &impl ConnectionTrait, person: &str) -> Result<u64, ServiceError> {
    use sea_orm::PaginatorTrait;
    use subscription::Column as C;
    Ok(subscription::Entity::find()
        .filter(C::Owner.eq(person))
        .filter(C::State.eq(State::Active.as_str()))
        .count(db)
        .await?)
}
