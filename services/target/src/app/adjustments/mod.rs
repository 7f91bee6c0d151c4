//! Adjustments: the only way a published target changes. Requested by
//! anyone who can see the target (not viewers), decided by an admin or a
//! manager above the target's unit and the requester, never by the
//! requester; approval applies the change and its redistribution in one
//! transaction.

use attain_kit::{
    ServiceError, ServiceResult,
    auth::{Identity, Role},
    idempotency::IdempotencyKey,
    idempotent,
    money::Amount,
    paging::PageRequest,
    scope::{check_etag, hidden, reveal},
};
use chrono::{NaiveDate, Utc};
use prost::Message;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection};

mod apply;
mod rules;

use self::rules::{Check, effective_day, moves};
use super::scope::{visible_plan, visible_unit};
use crate::{
    domain::{
        org::{Id, Unit},
        plan::{Plan, PlanState},
        rollup::{Phaser, TargetTree},
        target::{Adjustment, AdjustmentReason, AdjustmentState, Dimensions, Redistribution, Requested, Target},
    },
    storage::{adjustments, targets, units},
};

/// An adjustment as asked. A new amount comes with the currency it was
/// given in (checked against the plan's).
#[derive(Debug, Clone)]
pub struct AdjustmentRequest {
    pub plan: Id,
    pub target: Id,
    pub target_name: String,
    pub change: Option<AskedChange>,
    pub reason: AdjustmentReason,
    pub justification: String,
    pub redistribution: Redistribution,
    /// The first day the change applies to (None: the approval day).
    pub effective_date: Option<NaiveDate>,
    /// With `Redistribution::Successor`: the target taking the change.
    pub successor: Option<(Id, String)>,
    /// A new hire's ramp for its first target (empty: none).
    pub ramp: Vec<rust_decimal::Decimal>,
}

/// The change asked for.
#[derive(Debug, Clone)]
pub enum AskedChange {
    NewAmount(Amount, String),
    Percent(Decimal),
    /// A leaver keeps what fell due before the effective day.
    ReleaseRemaining,
    /// This period's target becomes this amount (the rest of the year
    /// after it follows at the same rate).
    PeriodAmount(String, Amount, String),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Decision {
    Approve,
    Reject,
    Withdraw,
}

/// The amount an adjustment asks for, from the target's current amount.
fn requested_amount(plan: &Plan, current: Amount, requested: Requested) -> ServiceResult<Amount> {
    let unit = plan.config.rounding_unit;
    let new = match requested {
        Requested::Amount(a) => {
            if unit.exact_units(a).is_none() {
                return Err(ServiceError::invalid(
                    "adjustment.new_amount",
                    format!("{a} is not a multiple of the plan's rounding unit {}", unit.decimal()),
                ));
            }
            a
        }
        Requested::Percent(p) => unit.round(current.decimal() * (Decimal::ONE_HUNDRED + p) / Decimal::ONE_HUNDRED)?,
    };
    if new.is_negative() {
        return Err(ServiceError::invalid("adjustment", "the adjusted target would be negative"));
    }
    Ok(new)
}

async fn load(
    db: &impl ConnectionTrait,
    who: &Identity,
    (plan_id, adj_id, name): (&Id, &Id, &str),
) -> ServiceResult<(Plan, Adjustment, Target)> {
    let plan = visible_plan(db, who, plan_id).await?;
    let adj = reveal(who, "adjustment", name, adjustments::get(db, plan_id, adj_id).await?, |_| true)?;
    let target = match targets::get(db, plan_id, &adj.target).await? {
        Some(t) => t,
        // A unit's first target, asked for in a published plan.
        None if adj.target_version == 0 => match first_target(db, &plan, &adj.target).await? {
            Some((t, _)) => t,
            None => return Err(ServiceError::Internal(anyhow::anyhow!("adjustment {name} lost its unit"))),
        },
        None => return Err(ServiceError::Internal(anyhow::anyhow!("adjustment {name} lost its target"))),
    };
    visible_unit(db, who, &target.unit).await.map_err(|_| hidden(name))?;
    Ok((plan, adj, target))
}

/// Whether the caller may read an adjustment of a target of `unit`: they
/// may read the unit, or the successor's that takes the change (a rep
/// handed a leaver's target reads why its own changed; deciding it stays
/// with those above the target).
async fn readable(db: &impl ConnectionTrait, who: &Identity, adj: &Adjustment, unit: &Id) -> ServiceResult<bool> {
    if visible_unit(db, who, unit).await.is_ok() {
        return Ok(true);
    }
    let Some(successor) = &adj.successor else { return Ok(false) };
    Ok(match targets::get(db, &adj.plan, successor).await? {
        Some(t) => visible_unit(db, who, &t.unit).await.is_ok(),
        None => false,
    })
}

/// The target a unit without one would get in a published plan (a rep
/// hired after publication): nothing yet, split from its parent unit's
/// whole target, carried from the unit's start. None: no such unit, or its
/// parent has no target to take it from.
async fn first_target(db: &impl ConnectionTrait, plan: &Plan, unit_id: &Id) -> ServiceResult<Option<(Target, Unit)>> {
    let Some(unit) = units::get(db, unit_id).await? else { return Ok(None) };
    let Some(parent_unit) = &unit.parent else { return Ok(None) };
    let Some(parent) = targets::find(db, &plan.id, parent_unit, &Dimensions::default()).await? else {
        return Ok(None);
    };
    let year = plan.fiscal_year_period()?;
    let now = Utc::now();
    let t = Target {
        plan: plan.id.clone(),
        id: unit.id.clone(),
        unit: unit.id.clone(),
        dimensions: Dimensions::default(),
        amount: Amount::ZERO,
        original_amount: Amount::ZERO,
        parent: Some(parent.id),
        phasing: None,
        milestones: None,
        coverage: None,
        start: unit.attributes.start_date.filter(|s| *s > year.start),
        steps: Vec::new(),
        moves: Vec::new(),
        version: 0,
        create_time: now,
        update_time: now,
    };
    Ok(Some((t, unit)))
}

/// The unit's last day, if it has left.
async fn unit_end(db: &impl ConnectionTrait, t: &Target) -> ServiceResult<Option<NaiveDate>> {
    Ok(units::get(db, &t.unit).await?.and_then(|u| u.attributes.end_date))
}

/// The yearly amount that makes `t`'s target for `period` equal `wanted`:
/// the difference spread from the period's first day on `t`'s curve, of
/// which the period carries its share of the weight left.
async fn yearly_for_period(
    db: &impl ConnectionTrait,
    plan: &Plan,
    t: &Target,
    period: &attain_kit::period::Period,
    wanted: Amount,
) -> ServiceResult<Amount> {
    let field = "adjustment.period_amount.period";
    let tree = TargetTree::new(targets::with_descendants(db, &plan.id, std::slice::from_ref(&t.unit)).await?);
    let mut phaser = Phaser::new(plan)?;
    let now = tree.period(&mut phaser, &tree.for_target(&t.id), period, field)?.target;
    let left = phaser.weight_left(t, period.start)?;
    let share = left - phaser.weight_left(t, period.end + chrono::Duration::days(1))?;
    if left.is_zero() || share.is_zero() {
        return Err(ServiceError::invalid(
            field,
            format!("{} carries no weight on the target's curve", period.expression),
        ));
    }
    let yearly = t.amount.decimal() + (wanted.decimal() - now.decimal()) * left / share;
    Ok(plan.config.rounding_unit.round(yearly)?)
}

/// What fell due on `t` (and everything split from it) before `day`.
async fn due_before(db: &impl ConnectionTrait, plan: &Plan, t: &Target, day: NaiveDate) -> ServiceResult<Amount> {
    let year = plan.fiscal_year_period()?;
    if day <= year.start {
        return Ok(Amount::ZERO);
    }
    let tree = TargetTree::new(targets::with_descendants(db, &plan.id, std::slice::from_ref(&t.unit)).await?);
    let span =
        plan.period("adjustment.effective_date", &format!("{}..{}", year.start, day - chrono::Duration::days(1)))?;
    Ok(tree.period(&mut Phaser::new(plan)?, &tree.for_target(&t.id), &span, "adjustment.effective_date")?.target)
}

/// Deciding needs authority from above: an ADMIN, or a MANAGER of a unit
/// strictly above both the target's unit and the requester's (a second
/// manager of the requester's own unit is a peer, not above it); never the
/// requester. An admin's request (no unit) needs another admin.
async fn may_decide(
    db: &impl ConnectionTrait,
    who: &Identity,
    adj: &Adjustment,
    target: &Target,
    what: &str,
) -> ServiceResult<()> {
    if who.person == adj.requester {
        return Err(ServiceError::PermissionDenied(format!(
            "{what}: the requester of {} cannot decide it",
            adj.resource_name()
        )));
    }
    if who.is_admin() {
        return Ok(());
    }
    let unit = units::get(db, &target.unit).await?.ok_or_else(|| hidden(&target.unit.resource_name()))?;
    let requester_unit = match Id::parse("requester unit", &adj.requester_unit) {
        Ok(id) => units::get(db, &id).await?,
        Err(_) => None,
    };
    let above_requester = requester_unit.is_some_and(|u| who.can_manage(&u.path()));
    if !who.can_manage(&unit.path()) || !above_requester {
        return Err(ServiceError::PermissionDenied(format!(
            "{what}: only an ADMIN or a MANAGER above both {} and the requester may decide",
            target.unit.resource_name()
        )));
    }
    Ok(())
}

/// Files a PENDING adjustment of a PUBLISHED plan's target. Refused now,
/// not only at approval, when the change as the family stands would push a
/// target it moves below zero or over its parent's room.
pub async fn create<R: Message + Default>(
    db: &DatabaseConnection,
    (who, today): (&Identity, NaiveDate),
    key: Option<IdempotencyKey>,
    r: AdjustmentRequest,
    render: fn(&Adjustment, &Plan) -> R,
) -> ServiceResult<R> {
    if who.role == Role::Viewer {
        return Err(ServiceError::PermissionDenied("CreateAdjustment: viewers are read-only".to_owned()));
    }
    let justification = r.justification.trim().to_owned();
    if justification.is_empty() || justification.chars().count() > 4000 {
        return Err(ServiceError::invalid("adjustment.justification", "give the evidence in 1–4000 characters"));
    }
    idempotent!(db, key, |txn| {
        let plan = visible_plan(&txn, who, &r.plan).await?;
        if plan.state != PlanState::Published {
            return Err(ServiceError::precondition(
                "PLAN_NOT_PUBLISHED",
                format!(
                    "{} is {}: only a PUBLISHED plan's targets are adjusted (a DRAFT is edited directly, a CLOSED one is final)",
                    plan.resource_name(),
                    plan.state.as_str()
                ),
            ));
        }
        let target = match targets::get(&txn, &plan.id, &r.target).await? {
            Some(t) => Some(t),
            None => first_target(&txn, &plan, &r.target).await?.map(|(t, _)| t),
        };
        let target = reveal(who, "target", &r.target_name, target, |_| true)?;
        visible_unit(&txn, who, &target.unit).await.map_err(|_| hidden(&r.target_name))?;
        let end = unit_end(&txn, &target).await?;
        let release = matches!(r.change, Some(AskedChange::ReleaseRemaining));
        let mut effective = r.effective_date;
        let requested = match &r.change {
            Some(AskedChange::NewAmount(a, currency)) => {
                if !currency.is_empty() && currency != plan.currency.as_str() {
                    return Err(ServiceError::invalid(
                        "adjustment.new_amount.currency_code",
                        format!("{currency} is not the plan's currency {}", plan.currency),
                    ));
                }
                Requested::Amount(*a)
            }
            Some(AskedChange::Percent(_)) if target.version == 0 => {
                return Err(ServiceError::invalid(
                    "adjustment.change_percent",
                    format!("{} has no target yet: give its new_amount", target.unit.resource_name()),
                ));
            }
            Some(AskedChange::Percent(p)) => Requested::Percent(*p),
            Some(AskedChange::ReleaseRemaining) => {
                // The day after the last one worked, unless asked; what
                // fell due before it stays, the rest is released.
                let day = match (effective, end) {
                    (Some(d), _) => d,
                    (None, Some(end)) => end + chrono::Duration::days(1),
                    (None, None) => today,
                };
                effective = Some(day);
                effective_day(&plan, (&target, end), (Some(day), today), true)
                    .map_err(|why| ServiceError::invalid("adjustment.effective_date", why))?;
                Requested::Amount(due_before(&txn, &plan, &target, day).await?)
            }
            Some(AskedChange::PeriodAmount(expr, amount, currency)) => {
                if !currency.is_empty() && currency != plan.currency.as_str() {
                    return Err(ServiceError::invalid(
                        "adjustment.period_amount.amount.currency_code",
                        format!("{currency} is not the plan's currency {}", plan.currency),
                    ));
                }
                let period = plan.period("adjustment.period_amount.period", expr)?;
                if effective.is_some_and(|d| d != period.start) {
                    return Err(ServiceError::invalid(
                        "adjustment.effective_date",
                        format!("a period's new target takes effect on its first day, {}", period.start),
                    ));
                }
                effective = Some(period.start);
                Requested::Amount(yearly_for_period(&txn, &plan, &target, &period, *amount).await?)
            }
            None => {
                return Err(ServiceError::invalid(
                    "adjustment.change",
                    "give new_amount, change_percent, release_remaining or period_amount",
                ));
            }
        };
        let after = requested_amount(&plan, target.amount, requested)?;
        let day = effective_day(&plan, (&target, end), (effective, today), release)
            .map_err(|why| ServiceError::invalid("adjustment.effective_date", why))?;
        if !r.ramp.is_empty() {
            if !matches!(r.change, Some(AskedChange::NewAmount(..))) {
                return Err(ServiceError::invalid(
                    "adjustment.ramp_percents",
                    "a ramp goes with a new hire's first target, asked as new_amount",
                ));
            }
            if target.version != 0 {
                return Err(ServiceError::invalid(
                    "adjustment.ramp_percents",
                    format!("a ramp shapes a new hire's first target; {} has one already", target.resource_name()),
                ));
            }
            ramped(&plan, &target, r.ramp.clone())?;
        }
        let successor = successor_of(&txn, who, &plan, &r).await?;
        let asked = (&target, after);
        if let Check::Refused(no) = moves(&txn, &plan, asked, (r.redistribution, day), successor.as_ref()).await? {
            return Err(no.invalid());
        }
        let (reason, redistribution) = (r.reason, r.redistribution);
        let adj = Adjustment {
            plan: plan.id.clone(),
            id: Id::generate(),
            target: target.id.clone(),
            requested,
            reason,
            justification: justification.clone(),
            redistribution,
            state: AdjustmentState::Pending,
            requester: who.person.clone(),
            requester_unit: if who.is_admin() { String::new() } else { who.unit.clone() },
            decided_by: String::new(),
            decision_note: String::new(),
            before_amount: target.amount,
            after_amount: after,
            target_version: target.version,
            version: 1,
            create_time: Utc::now(),
            decide_time: None,
            effective_date: effective,
            successor: successor.map(|s| s.id),
            release,
            ramp: r.ramp.clone(),
        };
        adjustments::insert(&txn, &adj).await?;
        render(&adj, &plan)
    })
}

/// The successor a SUCCESSOR redistribution names: a target of the plan
/// the caller may manage (it is handed the change).
async fn successor_of(
    db: &impl ConnectionTrait,
    who: &Identity,
    plan: &Plan,
    r: &AdjustmentRequest,
) -> ServiceResult<Option<Target>> {
    let Some((id, name)) = &r.successor else { return Ok(None) };
    if r.redistribution != Redistribution::Successor {
        return Err(ServiceError::invalid("adjustment.successor", "is only for REDISTRIBUTION_SUCCESSOR"));
    }
    let found = targets::get(db, &plan.id, id).await?;
    let s = reveal(who, "adjustment.successor", name, found, |_| true)?;
    let unit = visible_unit(db, who, &s.unit).await.map_err(|_| hidden(name))?;
    if !who.can_manage(&unit.path()) {
        return Err(ServiceError::PermissionDenied(format!(
            "adjustment.successor: you may not hand targets to {}",
            s.unit.resource_name()
        )));
    }
    Ok(Some(s))
}

/// An adjustment the caller may see.
pub async fn get(
    db: &impl ConnectionTrait,
    who: &Identity,
    name: (&Id, &Id, &str),
) -> ServiceResult<(Plan, Adjustment)> {
    let (plan_id, adj_id, shown) = name;
    let plan = visible_plan(db, who, plan_id).await?;
    let adj = reveal(who, "adjustment", shown, adjustments::get(db, plan_id, adj_id).await?, |_| true)?;
    let unit = match targets::get(db, plan_id, &adj.target).await? {
        Some(t) => t.unit,
        // A unit's first target does not exist until approved: its unit
        // has the target's id.
        None => adj.target.clone(),
    };
    if !readable(db, who, &adj, &unit).await? {
        return Err(hidden(shown));
    }
    Ok((plan, adj))
}

/// A page of a plan's adjustments, of targets the caller may see.
pub async fn list(
    db: &impl ConnectionTrait,
    who: &Identity,
    plan_id: &Id,
    state: Option<AdjustmentState>,
    page: &PageRequest,
) -> ServiceResult<(Plan, Vec<Adjustment>, String)> {
    let plan = visible_plan(db, who, plan_id).await?;
    let mut rows = adjustments::list(db, &plan.id, state, page.after.as_deref(), page.fetch_limit()).await?;
    let next_page_token = page.finish(&mut rows, |a| a.id.as_str().to_owned());
    let mut visible = Vec::with_capacity(rows.len());
    for a in rows {
        // A unit's first target does not exist until approved: its unit
        // has the target's id.
        let unit = match targets::get(db, &plan.id, &a.target).await? {
            Some(t) => Some(t.unit),
            None if a.target_version == 0 => Some(a.target.clone()),
            None => None,
        };
        if let Some(u) = unit
            && readable(db, who, &a, &u).await?
        {
            visible.push(a);
        }
    }
    Ok((plan, visible, next_page_token))
}

/// Approves, rejects or withdraws a PENDING adjustment (`etag`, if given,
/// must be current); approval applies it.
#[allow(clippy::too_many_arguments)]
pub async fn decide<R: Message + Default>(
    db: &DatabaseConnection,
    (who, today): (&Identity, NaiveDate),
    key: Option<IdempotencyKey>,
    decision: Decision,
    (plan_id, adj_id, name): (&Id, &Id, &str),
    (etag, note): (&str, &str),
    render: fn(&Adjustment, &Plan) -> R,
) -> ServiceResult<R> {
    let what = match decision {
        Decision::Approve => "ApproveAdjustment",
        Decision::Reject => "RejectAdjustment",
        Decision::Withdraw => "WithdrawAdjustment",
    };
    idempotent!(db, key, |txn| {
        let (plan, adj, target) = load(&txn, who, (plan_id, adj_id, name)).await?;
        // Authority first: a caller who may not decide learns nothing of
        // the adjustment's state.
        match decision {
            Decision::Withdraw if adj.requester != who.person && !who.is_admin() => {
                return Err(ServiceError::PermissionDenied(format!("{what}: only the requester may withdraw {name}")));
            }
            Decision::Withdraw => {}
            Decision::Approve | Decision::Reject => may_decide(&txn, who, &adj, &target, what).await?,
        }
        check_etag(etag, &adj.version.to_string(), name)?;
        adj.require_pending(what)?;
        if plan.state != PlanState::Published {
            return Err(ServiceError::precondition(
                "PLAN_NOT_PUBLISHED",
                format!("{} is {}", plan.resource_name(), plan.state.as_str()),
            ));
        }
        let mut next = adj.clone();
        if decision == Decision::Approve {
            if target.version != adj.target_version {
                return Err(ServiceError::Aborted(format!(
                    "{} changed after {name} was requested (another adjustment won); request again from the current amount",
                    target.resource_name()
                )));
            }
            let end = unit_end(&txn, &target).await?;
            let day = effective_day(&plan, (&target, end), (adj.effective_date, today), adj.release)
                .map_err(|why| ServiceError::precondition("EFFECTIVE_DATE_CLOSED", why))?;
            let successor = match &adj.successor {
                Some(id) => targets::get(&txn, &plan.id, id).await?,
                None => None,
            };
            // The approver changes the successor's target too: it must be
            // the approver's to change.
            if let Some(s) = &successor {
                let unit = crate::storage::units::get(&txn, &s.unit).await?;
                if !unit.is_some_and(|u| who.can_manage(&u.path())) {
                    return Err(ServiceError::PermissionDenied(format!(
                        "{what}: {} (the successor) is outside your scope; someone above both approves",
                        s.resource_name()
                    )));
                }
            }
            let asked = (&target, adj.after_amount);
            let moved = match moves(&txn, &plan, asked, (adj.redistribution, day), successor.as_ref()).await? {
                Check::Ok(m) => m,
                Check::Refused(no) => return Err(no.precondition()),
            };
            apply::apply(&txn, who, &plan, (&adj, day), moved).await?;
            next.effective_date = Some(day);
        }
        next.state = match decision {
            Decision::Approve => AdjustmentState::Approved,
            Decision::Reject => AdjustmentState::Rejected,
            Decision::Withdraw => AdjustmentState::Withdrawn,
        };
        next.decided_by = who.person.clone();
        next.decision_note = note.trim().to_owned();
        next.decide_time = Some(Utc::now());
        next.version = adj.version + 1;
        if !adjustments::update(&txn, &next, adj.version).await? {
            return Err(ServiceError::stale_etag(name));
        }
        render(&next, &plan)
    })
}

/// A new hire's first target's curve: the plan's default ramped from the
/// month of its first day (the adjustment's field names the errors).
pub(super) fn ramped(
    plan: &Plan,
    target: &Target,
    ramp: Vec<rust_decimal::Decimal>,
) -> ServiceResult<crate::domain::phasing::Curve> {
    let from = target.start.unwrap_or(plan.fiscal_year_period()?.start);
    let base = target.phasing.clone().unwrap_or_else(|| plan.config.default_phasing.clone());
    Ok(crate::domain::phasing::Curve::ramp("adjustment.ramp_percents", base, from, ramp)?)
}
