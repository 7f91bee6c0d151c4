//! Adjustments: the only way a published target changes. Requested by
//! anyone who can see the target (not viewers), decided by an admin or a
//! manager above the target's unit, never by the requester; approval applies
//! the change and its redistribution in one transaction.

use attain_kit::context::Ctx;
use attain_kit::idempotent;
use attain_kit::scope::reveal;
use attain_kit::{
    ServiceError, ServiceResult,
    auth::{Identity, Role},
    idempotency::IdempotencyKey,
    money::Amount,
    paging::PageRequest,
};
use attain_proto::attain::target::v1 as pb;
use chrono::Utc;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::{check_etag, convert, hidden, plans::visible_plan, visible_unit};
use crate::{
    domain::{
        allocation::{AbsorbError, Coverage, absorb},
        org::Id,
        plan::{Plan, PlanState},
        target::{
            Adjustment, AdjustmentState, Change, Redistribution, Requested, Target, parse_plan_name, parse_target_name,
        },
    },
    storage::{adjustments, targets, targets::Why, units},
};

fn parse_adjustment_name(field: &str, name: &str) -> ServiceResult<(Id, Id)> {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["plans", p, "adjustments", a] => Ok((Id::parse(field, p)?, Id::parse(field, a)?)),
        _ => Err(ServiceError::invalid(
            field,
            format!("{name:?} is not an adjustment name (plans/{{plan_id}}/adjustments/{{adjustment_id}})"),
        )),
    }
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

async fn load(db: &impl ConnectionTrait, who: &Identity, name: &str) -> ServiceResult<(Plan, Adjustment, Target)> {
    let (plan_id, adj_id) = parse_adjustment_name("name", name)?;
    let plan = visible_plan(db, who, &plan_id).await?;
    let adj = reveal(who, "adjustment", name, adjustments::get(db, &plan_id, &adj_id).await?, |_| true)?;
    let target = targets::get(db, &plan_id, &adj.target)
        .await?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("adjustment {name} lost its target")))?;
    visible_unit(db, who, &target.unit).await.map_err(|_| hidden(name))?;
    Ok((plan, adj, target))
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

pub async fn create(
    db: &DatabaseConnection,
    ctx: Ctx,
    mut r: pb::CreateAdjustmentRequest,
) -> ServiceResult<pb::Adjustment> {
    let who = ctx.who;
    if who.role == Role::Viewer {
        return Err(ServiceError::PermissionDenied("CreateAdjustment: viewers are read-only".to_owned()));
    }
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&who.person, "CreateAdjustment", &request_id, &r)?;
    let plan_id = parse_plan_name("parent", &r.parent)?;
    let input = r.adjustment.ok_or_else(|| ServiceError::invalid("adjustment", "is required"))?;
    let (target_plan, target_id) = parse_target_name("adjustment.target", &input.target)?;
    if target_plan != plan_id {
        return Err(ServiceError::invalid("adjustment.target", "belongs to another plan"));
    }
    let reason = convert::adjustment_reason("adjustment.reason", input.reason)?;
    let redistribution = convert::redistribution("adjustment.redistribution", input.redistribution)?;
    let justification = input.justification.trim().to_owned();
    if justification.is_empty() || justification.chars().count() > 4000 {
        return Err(ServiceError::invalid("adjustment.justification", "give the evidence in 1–4000 characters"));
    }
    idempotent!(db, key, |txn| {
        let plan = visible_plan(&txn, &who, &plan_id).await?;
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
        let target = reveal(&who, "target", &input.target, targets::get(&txn, &plan.id, &target_id).await?, |_| true)?;
        visible_unit(&txn, &who, &target.unit).await.map_err(|_| hidden(&input.target))?;
        let requested = match &input.change {
            Some(pb::adjustment::Change::NewAmount(m)) => {
                Requested::Amount(convert::money_in("adjustment.new_amount", Some(m), plan.currency)?)
            }
            Some(pb::adjustment::Change::ChangePercent(p)) => {
                Requested::Percent(convert::decimal("adjustment.change_percent", p)?)
            }
            None => {
                return Err(ServiceError::invalid("adjustment.change", "give new_amount or change_percent"));
            }
        };
        let after = requested_amount(&plan, target.amount, requested)?;
        match redistribution {
            Redistribution::ParentAbsorbs if target.parent.is_none() => {
                return Err(ServiceError::invalid(
                    "adjustment.redistribution",
                    "the top target has no parent to absorb the change",
                ));
            }
            // Refused now, not only at approval: the change as the family
            // stands must leave every target it moves at zero or above.
            Redistribution::SiblingsAbsorb => {
                let siblings: Vec<Target> = match &target.parent {
                    Some(p) => {
                        targets::children(&txn, &plan.id, p).await?.into_iter().filter(|s| s.id != target.id).collect()
                    }
                    None => Vec::new(),
                };
                let amounts: Vec<Amount> = siblings.iter().map(|s| s.amount).collect();
                let delta = after.checked_sub(target.amount).map_err(ServiceError::from)?;
                match absorb(&amounts, delta, plan.config.rounding_unit) {
                    Ok(_) => {}
                    Err(AbsorbError::NoSiblings) => {
                        return Err(ServiceError::invalid(
                            "adjustment.redistribution",
                            "the target has no siblings to absorb the change",
                        ));
                    }
                    Err(AbsorbError::Negative(i)) => {
                        return Err(ServiceError::invalid("adjustment.change", goes_negative(&siblings, i)));
                    }
                    Err(e) => return Err(absorb_error(e, &siblings)),
                }
            }
            Redistribution::ParentAbsorbs => {
                if let Some(p) = &target.parent
                    && let Some(parent) = targets::get(&txn, &plan.id, p).await?
                {
                    let delta = after.checked_sub(target.amount).map_err(ServiceError::from)?;
                    if parent.amount.checked_add(delta).map_err(ServiceError::from)?.is_negative() {
                        return Err(ServiceError::invalid(
                            "adjustment.change",
                            format!("{} would become negative", parent.resource_name()),
                        ));
                    }
                    if let Some(why) = room_above(&txn, &plan, &parent, delta).await? {
                        return Err(ServiceError::invalid("adjustment.change", why));
                    }
                }
            }
        }
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
        };
        adjustments::insert(&txn, &adj).await?;
        convert::adjustment(&adj, plan.currency)
    })
}

pub async fn get(
    db: &DatabaseConnection,
    ctx: Ctx,
    request: pb::GetAdjustmentRequest,
) -> ServiceResult<pb::Adjustment> {
    let who = ctx.who;
    let (plan, adj, _) = load(db, &who, &request.name).await?;
    Ok(convert::adjustment(&adj, plan.currency))
}

pub async fn list(
    db: &DatabaseConnection,
    ctx: Ctx,
    r: pb::ListAdjustmentsRequest,
) -> ServiceResult<pb::ListAdjustmentsResponse> {
    let who = ctx.who;
    let plan_id = parse_plan_name("parent", &r.parent)?;
    let page =
        PageRequest::parse(r.page_size, &r.page_token, &format!("ListAdjustments {} {}", r.parent, r.state), &who)?;
    let state = match pb::AdjustmentState::try_from(r.state) {
        Ok(pb::AdjustmentState::Unspecified) => None,
        Ok(pb::AdjustmentState::Pending) => Some(AdjustmentState::Pending),
        Ok(pb::AdjustmentState::Approved) => Some(AdjustmentState::Approved),
        Ok(pb::AdjustmentState::Rejected) => Some(AdjustmentState::Rejected),
        Ok(pb::AdjustmentState::Withdrawn) => Some(AdjustmentState::Withdrawn),
        Err(_) => {
            return Err(ServiceError::invalid("state", format!("{} is not an AdjustmentState", r.state)));
        }
    };
    let plan = visible_plan(db, &who, &plan_id).await?;
    let mut rows = adjustments::list(db, &plan.id, state, page.after.as_deref(), page.fetch_limit()).await?;
    let next_page_token = page.finish(&mut rows, |a| a.id.as_str().to_owned());
    let mut visible = Vec::with_capacity(rows.len());
    for a in rows {
        if let Some(t) = targets::get(db, &plan.id, &a.target).await?
            && visible_unit(db, &who, &t.unit).await.is_ok()
        {
            visible.push(convert::adjustment(&a, plan.currency));
        }
    }
    Ok(pb::ListAdjustmentsResponse { adjustments: visible, next_page_token })
}

/// Applies an approved adjustment and its redistribution.
async fn apply(
    db: &impl ConnectionTrait,
    who: &Identity,
    plan: &Plan,
    adj: &Adjustment,
    target: &Target,
) -> ServiceResult<()> {
    let now = Utc::now();
    let reason = format!("{}: {}", adj.reason.as_str(), adj.justification);
    let delta = adj.after_amount.checked_sub(target.amount)?;
    let mut next = target.clone();
    next.amount = adj.after_amount;
    next.version = target.version + 1;
    next.update_time = now;
    let adjusted = Why { change: Change::Adjusted, actor: &who.person, reason: &reason, adjustment: Some(&adj.id) };
    if !targets::update(db, target, &next, &adjusted).await? {
        return Err(ServiceError::stale_etag(&target.resource_name()));
    }
    let Some(parent_id) = &target.parent else {
        return Ok(());
    };
    let parent = targets::get(db, &plan.id, parent_id)
        .await?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("missing parent target")))?;
    let redistributed =
        Why { change: Change::Redistributed, actor: &who.person, reason: &reason, adjustment: Some(&adj.id) };
    let mut parent_next = parent.clone();
    match adj.redistribution {
        Redistribution::ParentAbsorbs => {
            if let Some(why) = room_above(db, plan, &parent, delta).await? {
                return Err(ServiceError::precondition("OVER_ASSIGNED", why));
            }
            parent_next.amount = parent.amount.checked_add(delta)?;
            if parent_next.amount.is_negative() {
                return Err(ServiceError::precondition(
                    "NEGATIVE_TARGET",
                    format!("{} would become negative", parent.resource_name()),
                ));
            }
        }
        Redistribution::SiblingsAbsorb => {
            let siblings: Vec<Target> =
                targets::children(db, &plan.id, parent_id).await?.into_iter().filter(|s| s.id != target.id).collect();
            let amounts: Vec<Amount> = siblings.iter().map(|s| s.amount).collect();
            let after = absorb(&amounts, delta, plan.config.rounding_unit).map_err(|e| absorb_error(e, &siblings))?;
            for (s, amount) in siblings.iter().zip(after) {
                let mut n = s.clone();
                n.amount = amount;
                n.version = s.version + 1;
                n.update_time = now;
                if !targets::update(db, s, &n, &redistributed).await? {
                    return Err(ServiceError::stale_etag(&s.resource_name()));
                }
            }
        }
    }
    parent_next.version = parent.version + 1;
    parent_next.update_time = now;
    if !targets::update(db, &parent, &parent_next, &redistributed).await? {
        return Err(ServiceError::stale_etag(&parent.resource_name()));
    }
    // Splits now cover different amounts: the parent's, and the grandparent's
    // when the parent itself changed.
    refresh_coverage(db, plan, parent_id, who).await?;
    if let Some(grandparent) = &parent.parent
        && adj.redistribution == Redistribution::ParentAbsorbs
    {
        refresh_coverage(db, plan, grandparent, who).await?;
    }
    Ok(())
}

/// When the parent absorbs an increase, its own parent must have room for
/// it: the plan's policy allows over-assignment only under OVER_ASSIGN, up
/// to its percentage (a cut only frees budget into the reserve). Returns
/// why not, if not.
async fn room_above(
    db: &impl ConnectionTrait,
    plan: &Plan,
    parent: &Target,
    delta: Amount,
) -> ServiceResult<Option<String>> {
    let Some(grandparent_id) = &parent.parent else { return Ok(None) };
    let Some(grandparent) = targets::get(db, &plan.id, grandparent_id).await? else { return Ok(None) };
    if !delta.decimal().is_sign_positive() || delta.is_zero() {
        return Ok(None);
    }
    let allocated = targets::children(db, &plan.id, grandparent_id)
        .await?
        .iter()
        .try_fold(Amount::ZERO, |acc, c| acc.checked_add(c.amount))?
        .checked_add(delta)?;
    let over = allocated.decimal() - grandparent.amount.decimal();
    let allowed = match plan.config.coverage {
        crate::domain::allocation::CoveragePolicy::OverAssign(max) => {
            grandparent.amount.decimal() * max / Decimal::ONE_HUNDRED
        }
        _ => Decimal::ZERO,
    };
    Ok((over > allowed).then(|| {
        format!(
            "{} absorbing {} would put its split {} above {} ({} allowed by the plan's coverage policy); raise {} first or let siblings absorb",
            parent.resource_name(),
            delta,
            over.round_dp(2),
            grandparent.resource_name(),
            allowed.round_dp(2),
            grandparent.resource_name()
        )
    }))
}

/// The sibling a change would push below zero, in words.
fn goes_negative(siblings: &[Target], i: usize) -> String {
    let who = siblings.get(i).map_or_else(|| "a sibling".to_owned(), Target::resource_name);
    format!("{who} would become negative absorbing the change")
}

/// Why siblings cannot absorb a change, as the service says it.
fn absorb_error(e: AbsorbError, siblings: &[Target]) -> ServiceError {
    match e {
        AbsorbError::NoSiblings => ServiceError::precondition("NO_SIBLINGS", "no sibling can absorb the change"),
        AbsorbError::Negative(i) => ServiceError::precondition("NEGATIVE_TARGET", goes_negative(siblings, i)),
        AbsorbError::OffTheUnit => ServiceError::Internal(anyhow::anyhow!("delta off the rounding unit")),
    }
}

/// Recomputes what a target's split covers from its children as they are.
async fn refresh_coverage(db: &impl ConnectionTrait, plan: &Plan, id: &Id, who: &Identity) -> ServiceResult<()> {
    let Some(t) = targets::get(db, &plan.id, id).await? else { return Ok(()) };
    let children = targets::children(db, &plan.id, id).await?;
    let allocated = children.iter().try_fold(Amount::ZERO, |acc, c| acc.checked_add(c.amount))?;
    let coverage = Coverage::of(t.amount, allocated)?;
    if t.coverage == Some(coverage) {
        return Ok(());
    }
    let mut next = t.clone();
    next.coverage = Some(coverage);
    next.version = t.version + 1;
    next.update_time = Utc::now();
    let why = Why {
        change: Change::Redistributed,
        actor: &who.person,
        reason: "coverage after an adjustment below",
        adjustment: None,
    };
    if !targets::update(db, &t, &next, &why).await? {
        return Err(ServiceError::stale_etag(&t.resource_name()));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Decision {
    Approve,
    Reject,
    Withdraw,
}

async fn decide(
    db: &DatabaseConnection,
    who: Identity,
    decision: Decision,
    name: &str,
    etag: &str,
    note: &str,
    key: Option<IdempotencyKey>,
) -> ServiceResult<pb::Adjustment> {
    let what = match decision {
        Decision::Approve => "ApproveAdjustment",
        Decision::Reject => "RejectAdjustment",
        Decision::Withdraw => "WithdrawAdjustment",
    };
    idempotent!(db, key, |txn| {
        let (plan, adj, target) = load(&txn, &who, name).await?;
        // Authority first: a caller who may not decide learns nothing of
        // the adjustment's state.
        match decision {
            Decision::Withdraw if adj.requester != who.person && !who.is_admin() => {
                return Err(ServiceError::PermissionDenied(format!("{what}: only the requester may withdraw {name}")));
            }
            Decision::Withdraw => {}
            Decision::Approve | Decision::Reject => may_decide(&txn, &who, &adj, &target, what).await?,
        }
        check_etag(etag, &adj.version.to_string(), name)?;
        adj.require_pending(what)?;
        if plan.state != PlanState::Published {
            return Err(ServiceError::precondition(
                "PLAN_NOT_PUBLISHED",
                format!("{} is {}", plan.resource_name(), plan.state.as_str()),
            ));
        }
        if decision == Decision::Approve {
            if target.version != adj.target_version {
                return Err(ServiceError::Aborted(format!(
                    "{} changed after {name} was requested (another adjustment won); request again from the current amount",
                    target.resource_name()
                )));
            }
            apply(&txn, &who, &plan, &adj, &target).await?;
        }
        let mut next = adj.clone();
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
        convert::adjustment(&next, plan.currency)
    })
}

pub async fn approve(
    db: &DatabaseConnection,
    ctx: Ctx,
    mut r: pb::ApproveAdjustmentRequest,
) -> ServiceResult<pb::Adjustment> {
    let who = ctx.who;
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&who.person, "ApproveAdjustment", &request_id, &r)?;
    decide(db, who, Decision::Approve, &r.name, &r.etag, &r.note, key).await
}

pub async fn reject(
    db: &DatabaseConnection,
    ctx: Ctx,
    mut r: pb::RejectAdjustmentRequest,
) -> ServiceResult<pb::Adjustment> {
    let who = ctx.who;
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&who.person, "RejectAdjustment", &request_id, &r)?;
    decide(db, who, Decision::Reject, &r.name, &r.etag, &r.note, key).await
}

pub async fn withdraw(
    db: &DatabaseConnection,
    ctx: Ctx,
    mut r: pb::WithdrawAdjustmentRequest,
) -> ServiceResult<pb::Adjustment> {
    let who = ctx.who;
    let request_id = std::mem::take(&mut r.request_id);
    let key = IdempotencyKey::new(&who.person, "WithdrawAdjustment", &request_id, &r)?;
    decide(db, who, Decision::Withdraw, &r.name, &r.etag, "", key).await
}
