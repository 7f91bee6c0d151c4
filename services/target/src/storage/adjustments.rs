//! Adjustment requests.

use attain_kit::{ServiceError, money::Amount};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::corrupt;
use crate::domain::{
    org::Id,
    target::{Adjustment, AdjustmentReason, AdjustmentState, Redistribution, Requested},
};

pub mod adjustment {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "adjustments")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub plan_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub target_id: String,
        pub new_amount_minor: Option<i64>,
        pub change_percent: Option<String>,
        pub reason: String,
        pub justification: String,
        pub redistribution: String,
        pub state: String,
        pub requester: String,
        pub requester_unit: String,
        pub decided_by: String,
        pub decision_note: String,
        pub before_minor: i64,
        pub after_minor: i64,
        pub target_version: i64,
        pub version: i64,
        pub created_at: DateTimeUtc,
        pub decided_at: Option<DateTimeUtc>,
        pub effective_date: Option<Date>,
        pub successor_id: Option<String>,
        pub release_remaining: bool,
        /// A new hire's ramp (JSON percentages), NULL for none.
        pub ramp: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

fn to_domain(m: adjustment::Model) -> Result<Adjustment, ServiceError> {
    let requested = match (m.new_amount_minor, m.change_percent.as_deref()) {
        (Some(a), _) => Requested::Amount(Amount::from_minor_units(a)),
        (None, Some(p)) => Requested::Percent(p.parse().map_err(|_| corrupt("change percent", p))?),
        (None, None) => return Err(corrupt("adjustment", &m.id)),
    };
    Ok(Adjustment {
        plan: Id::stored("plan id", &m.plan_id)?,
        id: Id::stored("adjustment id", &m.id)?,
        target: Id::stored("target id", &m.target_id)?,
        requested,
        reason: AdjustmentReason::from_db(&m.reason).ok_or_else(|| corrupt("reason", &m.reason))?,
        justification: m.justification,
        redistribution: Redistribution::from_db(&m.redistribution)
            .ok_or_else(|| corrupt("redistribution", &m.redistribution))?,
        state: AdjustmentState::from_db(&m.state).ok_or_else(|| corrupt("state", &m.state))?,
        requester: m.requester,
        requester_unit: m.requester_unit,
        decided_by: m.decided_by,
        decision_note: m.decision_note,
        before_amount: Amount::from_minor_units(m.before_minor),
        after_amount: Amount::from_minor_units(m.after_minor),
        target_version: m.target_version,
        version: m.version,
        create_time: m.created_at,
        decide_time: m.decided_at,
        effective_date: m.effective_date,
        successor: m.successor_id.as_deref().map(|s| Id::stored("successor", s)).transpose()?,
        release: m.release_remaining,
        ramp: m.ramp.as_deref().map(|r| super::from_json("adjustment ramp", r)).transpose()?.unwrap_or_default(),
    })
}

fn to_active(a: &Adjustment) -> adjustment::ActiveModel {
    let (amount, percent) = match a.requested {
        Requested::Amount(x) => (Some(x.to_minor_units()), None),
        Requested::Percent(p) => (None, Some(p.to_string())),
    };
    adjustment::ActiveModel {
        plan_id: Set(a.plan.as_str().to_owned()),
        id: Set(a.id.as_str().to_owned()),
        target_id: Set(a.target.as_str().to_owned()),
        new_amount_minor: Set(amount),
        change_percent: Set(percent),
        reason: Set(a.reason.as_str().to_owned()),
        justification: Set(a.justification.clone()),
        redistribution: Set(a.redistribution.as_str().to_owned()),
        state: Set(a.state.as_str().to_owned()),
        requester: Set(a.requester.clone()),
        requester_unit: Set(a.requester_unit.clone()),
        decided_by: Set(a.decided_by.clone()),
        decision_note: Set(a.decision_note.clone()),
        before_minor: Set(a.before_amount.to_minor_units()),
        after_minor: Set(a.after_amount.to_minor_units()),
        target_version: Set(a.target_version),
        version: Set(a.version),
        created_at: Set(a.create_time),
        decided_at: Set(a.decide_time),
        effective_date: Set(a.effective_date),
        successor_id: Set(a.successor.as_ref().map(|s| s.as_str().to_owned())),
        release_remaining: Set(a.release),
        ramp: Set(if a.ramp.is_empty() { None } else { serde_json::to_string(&a.ramp).ok() }),
    }
}

pub async fn insert(db: &impl ConnectionTrait, a: &Adjustment) -> Result<(), ServiceError> {
    adjustment::Entity::insert(to_active(a)).exec_without_returning(db).await?;
    Ok(())
}

pub async fn get(db: &impl ConnectionTrait, plan: &Id, id: &Id) -> Result<Option<Adjustment>, ServiceError> {
    adjustment::Entity::find_by_id((plan.as_str().to_owned(), id.as_str().to_owned()))
        .one(db)
        .await?
        .map(to_domain)
        .transpose()
}

pub async fn list(
    db: &impl ConnectionTrait,
    plan: &Id,
    state: Option<AdjustmentState>,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<Adjustment>, ServiceError> {
    let mut q = adjustment::Entity::find().filter(adjustment::Column::PlanId.eq(plan.as_str()));
    if let Some(s) = state {
        q = q.filter(adjustment::Column::State.eq(s.as_str()));
    }
    if let Some(a) = after {
        q = q.filter(adjustment::Column::Id.gt(a));
    }
    q.order_by_asc(adjustment::Column::Id).limit(limit).all(db).await?.into_iter().map(to_domain).collect()
}

/// Saves a decided adjustment if nobody decided it first.
pub async fn update(db: &impl ConnectionTrait, a: &Adjustment, expected_version: i64) -> Result<bool, ServiceError> {
    let res = adjustment::Entity::update_many()
        .set(to_active(a))
        .filter(adjustment::Column::PlanId.eq(a.plan.as_str()))
        .filter(adjustment::Column::Id.eq(a.id.as_str()))
        .filter(adjustment::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}
