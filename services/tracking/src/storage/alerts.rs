//! Alerts and their change feed.

use std::collections::{HashMap, HashSet};

use attain_kit::{ServiceError, id::Id, metric::Metric, money::Amount};
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select,
    sea_query::{Expr, ExprTrait, OnConflict},
};

use super::{corrupt, decode_path, encode_path};
use crate::domain::{
    alert::{Alert, Rule, State},
    attainment::Status,
};

/// Rows per multi-row statement: 21 columns a row stays well under
/// SQLite's and PostgreSQL's bind-parameter limits.
const WRITE_CHUNK: usize = 500;

pub mod alert {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "alerts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub unit_id: String,
        pub unit_path: String,
        pub period: String,
        pub rule: String,
        pub state: String,
        pub severity: String,
        pub message: String,
        pub actual_minor: i64,
        pub expected_minor: i64,
        pub acknowledged_by: String,
        pub open_key: Option<String>,
        pub opened_at: DateTimeUtc,
        pub acknowledged_at: Option<DateTimeUtc>,
        pub resolved_at: Option<DateTimeUtc>,
        pub version: i64,
        pub opened_on: Option<Date>,
        pub escalation_level: i64,
        pub escalated_to: Option<String>,
        pub escalated_at: Option<DateTimeUtc>,
        pub metric: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "alert_events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub alert_id: String,
        pub unit_path: String,
        pub snapshot: String,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One live alert per unit, period, rule and metric (amount keys keep
/// their original form).
fn key(unit: &Id, period: &str, rule: Rule, metric: Metric) -> String {
    match metric {
        Metric::Amount => format!("{}|{period}|{}", unit.as_str(), rule.as_str()),
        m => format!("{}|{period}|{}|{}", unit.as_str(), rule.as_str(), m.as_str()),
    }
}

fn open_key(a: &Alert) -> Option<String> {
    a.is_live().then(|| key(&a.unit, &a.period, a.rule, a.metric))
}

fn to_domain(m: alert::Model) -> Result<Alert, ServiceError> {
    Ok(Alert {
        id: Id::stored("alert id", &m.id)?,
        unit: Id::stored("alert unit", &m.unit_id)?,
        unit_path: decode_path(&m.unit_path)?,
        period: m.period,
        rule: Rule::from_db(&m.rule).ok_or_else(|| corrupt("rule", &m.rule))?,
        state: State::from_db(&m.state).ok_or_else(|| corrupt("state", &m.state))?,
        severity: Status::from_db(&m.severity).ok_or_else(|| corrupt("severity", &m.severity))?,
        message: m.message,
        actual: Amount::from_minor_units(m.actual_minor),
        expected: Amount::from_minor_units(m.expected_minor),
        acknowledged_by: m.acknowledged_by,
        open_time: m.opened_at,
        acknowledge_time: m.acknowledged_at,
        resolve_time: m.resolved_at,
        opened_on: m.opened_on,
        escalation_level: u32::try_from(m.escalation_level).map_err(|_| corrupt("escalation level", &m.id))?,
        escalated_to: m.escalated_to.as_deref().map(|u| Id::stored("escalated_to", u)).transpose()?,
        escalate_time: m.escalated_at,
        metric: Metric::from_db(&m.metric).ok_or_else(|| corrupt("alert metric", &m.metric))?,
        version: m.version,
    })
}

fn to_active(a: &Alert) -> alert::ActiveModel {
    alert::ActiveModel {
        id: Set(a.id.as_str().to_owned()),
        unit_id: Set(a.unit.as_str().to_owned()),
        unit_path: Set(encode_path(&a.unit_path)),
        period: Set(a.period.clone()),
        rule: Set(a.rule.as_str().to_owned()),
        state: Set(a.state.as_str().to_owned()),
        severity: Set(a.severity.as_str().to_owned()),
        message: Set(a.message.clone()),
        actual_minor: Set(a.actual.to_minor_units()),
        expected_minor: Set(a.expected.to_minor_units()),
        acknowledged_by: Set(a.acknowledged_by.clone()),
        open_key: Set(open_key(a)),
        opened_at: Set(a.open_time),
        acknowledged_at: Set(a.acknowledge_time),
        resolved_at: Set(a.resolve_time),
        version: Set(a.version),
        opened_on: Set(a.opened_on),
        escalation_level: Set(i64::from(a.escalation_level)),
        escalated_to: Set(a.escalated_to.as_ref().map(|u| u.as_str().to_owned())),
        escalated_at: Set(a.escalate_time),
        metric: Set(a.metric.as_str().to_owned()),
    }
}

/// Stores new alerts and announces them; returns those stored. One whose
/// key is live already (another replica opened it first) is skipped: DO
/// NOTHING rather than a unique violation, which would abort the pass.
pub async fn insert_many(db: &impl ConnectionTrait, alerts: &[Alert]) -> Result<Vec<Alert>, ServiceError> {
    let on_conflict = OnConflict::column(alert::Column::OpenKey).do_nothing().to_owned();
    let stored = write_many(db, alerts, on_conflict).await?;
    publish_many(db, &stored).await?;
    Ok(stored)
}

/// Saves the next version of stored alerts (each `version` one above the
/// stored row's) and announces them; returns those saved. One whose stored
/// version moved meanwhile is skipped.
pub async fn update_many(db: &impl ConnectionTrait, alerts: &[Alert]) -> Result<Vec<Alert>, ServiceError> {
    use alert::Column as C;
    // An upsert on the primary key whose WHERE is the version check: one
    // statement for many rows on PostgreSQL and SQLite alike. The rows
    // exist (alerts are never deleted), so nothing is ever inserted.
    let on_conflict = OnConflict::column(C::Id)
        .update_columns([
            C::UnitId,
            C::UnitPath,
            C::Period,
            C::Rule,
            C::State,
            C::Severity,
            C::Message,
            C::ActualMinor,
            C::ExpectedMinor,
            C::AcknowledgedBy,
            C::OpenKey,
            C::OpenedAt,
            C::AcknowledgedAt,
            C::ResolvedAt,
            C::Version,
            C::OpenedOn,
            C::EscalationLevel,
            C::EscalatedTo,
            C::EscalatedAt,
            C::Metric,
        ])
        .action_and_where(Expr::col((alert::Entity, C::Version)).eq(Expr::cust("excluded.version - 1")))
        .to_owned();
    let stored = write_many(db, alerts, on_conflict).await?;
    publish_many(db, &stored).await?;
    Ok(stored)
}

/// Multi-row INSERT … ON CONFLICT … RETURNING id, in chunks; the alerts
/// whose rows were written, in the given order.
async fn write_many(
    db: &impl ConnectionTrait,
    alerts: &[Alert],
    on_conflict: OnConflict,
) -> Result<Vec<Alert>, ServiceError> {
    let mut written = HashSet::new();
    for chunk in alerts.chunks(WRITE_CHUNK) {
        let mut q =
            alert::Entity::insert_many(chunk.iter().map(to_active)).on_conflict(on_conflict.clone()).into_query();
        q.returning_col(alert::Column::Id);
        for row in db.query_all(&q).await? {
            written.insert(row.try_get::<String>("", "id")?);
        }
    }
    Ok(alerts.iter().filter(|a| written.contains(a.id.as_str())).cloned().collect())
}

/// Announces changed alerts: one `alert_events` row each, in order.
/// Their ids come in commit order (`feeds::claim`).
async fn publish_many(db: &impl ConnectionTrait, alerts: &[Alert]) -> Result<(), ServiceError> {
    if alerts.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let first = super::feeds::claim(db, super::feeds::Feed::AlertEvents, alerts.len()).await?;
    for (c, chunk) in alerts.chunks(WRITE_CHUNK).enumerate() {
        let events = chunk
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let id = first + i64::try_from(c * WRITE_CHUNK + i).map_err(|e| ServiceError::Internal(e.into()))?;
                Ok(event::ActiveModel {
                    id: Set(id),
                    alert_id: Set(a.id.as_str().to_owned()),
                    unit_path: Set(encode_path(&a.unit_path)),
                    snapshot: Set(serde_json::to_string(a).map_err(|e| ServiceError::Internal(e.into()))?),
                    created_at: Set(now),
                })
            })
            .collect::<Result<Vec<_>, ServiceError>>()?;
        event::Entity::insert_many(events).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Saves a changed alert if its version is still `expected_version`, and
/// announces it. Call it in a write transaction: the announcement's feed
/// id is only in commit order if it commits with the row.
pub async fn update(db: &impl ConnectionTrait, a: &Alert, expected_version: i64) -> Result<bool, ServiceError> {
    let res = alert::Entity::update_many()
        .set(to_active(a))
        .filter(alert::Column::Id.eq(a.id.as_str()))
        .filter(alert::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Ok(false);
    }
    publish_many(db, std::slice::from_ref(a)).await?;
    Ok(true)
}

pub async fn get(db: &impl ConnectionTrait, id: &Id) -> Result<Option<Alert>, ServiceError> {
    alert::Entity::find_by_id(id.as_str().to_owned()).one(db).await?.map(to_domain).transpose()
}

/// The live (open or acknowledged) alert of a unit, period, rule and metric.
pub async fn live(
    db: &impl ConnectionTrait,
    unit: &Id,
    period: &str,
    rule: Rule,
    metric: Metric,
) -> Result<Option<Alert>, ServiceError> {
    let key = key(unit, period, rule, metric);
    alert::Entity::find().filter(alert::Column::OpenKey.eq(key)).one(db).await?.map(to_domain).transpose()
}

/// The live alerts of many units for one period and metric, by unit and
/// rule: one query per thousand keys instead of one per unit and rule.
pub async fn live_many(
    db: &impl ConnectionTrait,
    units: &[Id],
    period: &str,
    rules: &[Rule],
    metric: Metric,
) -> Result<HashMap<(Id, Rule), Alert>, ServiceError> {
    let keys: Vec<String> = units.iter().flat_map(|u| rules.iter().map(move |r| key(u, period, *r, metric))).collect();
    let mut out = HashMap::new();
    for chunk in keys.chunks(1000) {
        for row in alert::Entity::find().filter(alert::Column::OpenKey.is_in(chunk.iter().cloned())).all(db).await? {
            let a = to_domain(row)?;
            out.insert((a.unit.clone(), a.rule), a);
        }
    }
    Ok(out)
}

/// Alerts of a subtree, by id, optionally in one state or escalated to
/// one unit's manager.
pub async fn list(
    db: &impl ConnectionTrait,
    path: &[Id],
    state: Option<State>,
    escalated_to: Option<&Id>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Alert>, ServiceError> {
    list_query(path, state, escalated_to, after, limit).all(db).await?.into_iter().map(to_domain).collect()
}

/// The query `list` runs (its plan is tested: it must not read resolved
/// alerts to list open ones).
pub fn list_query(
    path: &[Id],
    state: Option<State>,
    escalated_to: Option<&Id>,
    after: Option<&str>,
    limit: u64,
) -> Select<alert::Entity> {
    let mut q = alert::Entity::find().filter(alert::Column::UnitPath.starts_with(encode_path(path)));
    if let Some(s) = state {
        q = q.filter(alert::Column::State.eq(s.as_str()));
    }
    if let Some(u) = escalated_to {
        q = q.filter(alert::Column::EscalatedTo.eq(u.as_str()));
    }
    if let Some(a) = after {
        q = q.filter(alert::Column::Id.gt(a));
    }
    q.order_by_asc(alert::Column::Id).limit(limit)
}

/// How many alerts of a subtree there are per severity and rule.
pub async fn counts(
    db: &impl ConnectionTrait,
    path: &[Id],
    state: Option<State>,
) -> Result<Vec<(Status, Rule, i64)>, ServiceError> {
    let mut q = alert::Entity::find()
        .select_only()
        .column(alert::Column::Severity)
        .column(alert::Column::Rule)
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .filter(alert::Column::UnitPath.starts_with(encode_path(path)));
    if let Some(s) = state {
        q = q.filter(alert::Column::State.eq(s.as_str()));
    }
    let rows: Vec<(String, String, i64)> =
        q.group_by(alert::Column::Severity).group_by(alert::Column::Rule).into_tuple().all(db).await?;
    rows.into_iter()
        .map(|(severity, rule, n)| {
            Ok((
                Status::from_db(&severity).ok_or_else(|| corrupt("severity", &severity))?,
                Rule::from_db(&rule).ok_or_else(|| corrupt("rule", &rule))?,
                n,
            ))
        })
        .collect()
}

/// The first `limit` alerts of a subtree, most severe and then oldest first.
/// One query per severity, worst first, each in the order of the
/// (state, severity, opened_at, id) index: a company's first five come from
/// the index's head instead of sorting every alert of the organisation.
pub async fn most_severe(
    db: &impl ConnectionTrait,
    path: &[Id],
    state: Option<State>,
    limit: u64,
) -> Result<Vec<Alert>, ServiceError> {
    let mut out = Vec::new();
    for severity in [Status::Red, Status::Yellow, Status::Green] {
        let Some(left) = limit.checked_sub(out.len() as u64).filter(|n| *n > 0) else { break };
        let mut q = alert::Entity::find()
            .filter(alert::Column::UnitPath.starts_with(encode_path(path)))
            .filter(alert::Column::Severity.eq(severity.as_str()));
        if let Some(s) = state {
            q = q.filter(alert::Column::State.eq(s.as_str()));
        }
        let rows = q.order_by_asc(alert::Column::OpenedAt).order_by_asc(alert::Column::Id).limit(left).all(db).await?;
        for r in rows {
            out.push(to_domain(r)?);
        }
    }
    Ok(out)
}

/// Events of a subtree after `after`, oldest first: of the units below the
/// last unit of `path` wherever it sits when they happen (a watch opened
/// before the unit moved keeps receiving them).
pub async fn events_after(
    db: &impl ConnectionTrait,
    path: &[Id],
    after: i64,
    limit: u64,
) -> Result<Vec<(i64, Alert)>, ServiceError> {
    let below = match path.last() {
        Some(unit) => event::Column::UnitPath.contains(format!("/{}/", unit.as_str())),
        None => event::Column::UnitPath.starts_with("/"),
    };
    event::Entity::find()
        .filter(event::Column::Id.gt(after))
        .filter(below)
        .order_by_asc(event::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|e| Ok((e.id, serde_json::from_str(&e.snapshot).map_err(|_| corrupt("alert event", &e.alert_id))?)))
        .collect()
}

/// A moved unit's live alerts are filed where it sits now (unresolved:
/// `resolved_at` unset); what was settled stays with the place it was
/// settled in.
pub const PLACED: super::Placed =
    super::Placed { table: "alerts", path: "unit_path", date: "resolved_at", undated: true };
