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
use chrono::{Datelike, NaiveDate, Utc};
use prost::Message;
use rust_decimal::Decimal;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::scope::{visible_plan, visible_unit};
use crate::{
    domain::{
        allocation::{AbsorbError, Coverage, absorb},
        org::Id,
        plan::{Plan, PlanState},
        rollup::Phaser,
        target::{Adjustment, AdjustmentReason, AdjustmentState, Change, Redistribution, Requested, Target},
    },
    storage::{adjustments, targets, targets::Why, units},
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
}

/// The change asked for.
#[derive(Debug, Clone)]
pub enum AskedChange {
    NewAmount(Amount, String),
    Percent(Decimal),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Decision {
    Approve,
    Reject,
    Withdraw,
}

/// The first day a change applies to: as asked, else `today`. A month
/// that has ended is closed for targets (its figures were shown, reviewed
/// and closed on), so the earliest day is the first of today's month; the
/// day lies in the plan's year and on or after the target's start. Says
/// why not, if not.
fn effective_day(
    plan: &Plan,
    target: &Target,
    asked: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<NaiveDate, String> {
    let year = plan.fiscal_year_period().map_err(|e| e.to_string())?;
    let day = asked.unwrap_or(today);
    let open_from = today.with_day(1).unwrap_or(today);
    if day < year.start || day > year.end {
        return Err(format!(
            "{day} is outside {}'s year ({} to {}){}",
            plan.resource_name(),
            year.start,
            year.end,
            if asked.is_none() { ": the year is over, its targets are final" } else { "" }
        ));
    }
    if day < open_from {
        return Err(format!(
            "{day} is in a month that has ended (targets before {open_from} are closed); the earliest effective date is {open_from}"
        ));
    }
    if let Some(start) = target.start
        && day < start
    {
        return Err(format!("{day} is before {} starts ({start})", target.unit.resource_name()));
    }
    Ok(day)
}

/// Every target a change moves must have curve weight left from its
/// effective day to carry it.
fn require_spreadable(plan: &Plan, moved: &[(Target, Amount)], day: NaiveDate) -> ServiceResult<()> {
    let mut phaser = Phaser::new(plan)?;
    for (t, delta) in moved {
        if !delta.is_zero() && phaser.weight_left(t, day)?.is_zero() {
            return Err(ServiceError::invalid(
                "adjustment.effective_date",
                format!("{} has no working day left from {day} to carry the change", t.resource_name()),
            ));
        }
    }
    Ok(())
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
    let target = targets::get(db, plan_id, &adj.target)
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
        let found = targets::get(&txn, &plan.id, &r.target).await?;
        let target = reveal(who, "target", &r.target_name, found, |_| true)?;
        visible_unit(&txn, who, &target.unit).await.map_err(|_| hidden(&r.target_name))?;
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
            Some(AskedChange::Percent(p)) => Requested::Percent(*p),
            None => return Err(ServiceError::invalid("adjustment.change", "give new_amount or change_percent")),
        };
        let after = requested_amount(&plan, target.amount, requested)?;
        if let Some(asked) = r.effective_date {
            effective_day(&plan, &target, Some(asked), today)
                .map_err(|why| ServiceError::invalid("adjustment.effective_date", why))?;
        }
        check_redistribution(&txn, &plan, &target, after, r.redistribution).await?;
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
            effective_date: r.effective_date,
        };
        adjustments::insert(&txn, &adj).await?;
        render(&adj, &plan)
    })
}

/// Whether the change (to `after`) can be redistributed as asked, the
/// family as it stands.
async fn check_redistribution(
    db: &impl ConnectionTrait,
    plan: &Plan,
    target: &Target,
    after: Amount,
    redistribution: Redistribution,
) -> ServiceResult<()> {
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
                    targets::children(db, &plan.id, p).await?.into_iter().filter(|s| s.id != target.id).collect()
                }
                None => Vec::new(),
            };
            let amounts: Vec<Amount> = siblings.iter().map(|s| s.amount).collect();
            let delta = after.checked_sub(target.amount).map_err(ServiceError::from)?;
            match absorb(&amounts, delta, plan.config.rounding_unit) {
                Ok(new) => {
                    let moved: Vec<(Target, Amount)> = siblings.into_iter().zip(new).collect();
                    if let Some(why) = split_overflow(db, plan, target, after, &moved).await? {
                        return Err(ServiceError::invalid("adjustment.change", why));
                    }
                }
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
                && let Some(parent) = targets::get(db, &plan.id, p).await?
            {
                let delta = after.checked_sub(target.amount).map_err(ServiceError::from)?;
                if parent.amount.checked_add(delta).map_err(ServiceError::from)?.is_negative() {
                    return Err(ServiceError::invalid(
                        "adjustment.change",
                        format!("{} would become negative", parent.resource_name()),
                    ));
                }
                if let Some(why) = room_above(db, plan, &parent, delta).await? {
                    return Err(ServiceError::invalid("adjustment.change", why));
                }
            }
            if let Some(why) = split_overflow(db, plan, target, after, &[]).await? {
                return Err(ServiceError::invalid("adjustment.change", why));
            }
        }
    }
    Ok(())
}

/// An adjustment the caller may see.
pub async fn get(
    db: &impl ConnectionTrait,
    who: &Identity,
    name: (&Id, &Id, &str),
) -> ServiceResult<(Plan, Adjustment)> {
    let (plan, adj, _) = load(db, who, name).await?;
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
        if let Some(t) = targets::get(db, &plan.id, &a.target).await?
            && visible_unit(db, who, &t.unit).await.is_ok()
        {
            visible.push(a);
        }
    }
    Ok((plan, visible, next_page_token))
}

/// Applies an approved adjustment and its redistribution.
async fn apply(
    db: &impl ConnectionTrait,
    who: &Identity,
    plan: &Plan,
    (adj, day): (&Adjustment, NaiveDate),
    target: &Target,
) -> ServiceResult<()> {
    if let Some(why) = room_below(db, plan, target, adj.after_amount).await? {
        return Err(ServiceError::precondition("OVER_ASSIGNED", why));
    }
    let now = Utc::now();
    let reason = format!("{}: {}", adj.reason.as_str(), adj.justification);
    let delta = adj.after_amount.checked_sub(target.amount)?;
    let mut next = target.clone();
    next.change_from(adj.after_amount, day, Some(&adj.id), now)?;
    next.version = target.version + 1;
    next.update_time = now;
    let adjusted = Why { change: Change::Adjusted, actor: &who.person, reason: &reason, adjustment: Some(&adj.id) };
    if !targets::update(db, target, &next, &adjusted).await? {
        return Err(ServiceError::stale_etag(&target.resource_name()));
    }
    // Its own split now covers a different amount.
    refresh_coverage(db, plan, &target.id, who).await?;
    let Some(parent_id) = &target.parent else {
        return Ok(());
    };
    let parent = targets::get(db, &plan.id, parent_id)
        .await?
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("missing parent target")))?;
    let redistributed =
        Why { change: Change::Redistributed, actor: &who.person, reason: &reason, adjustment: Some(&adj.id) };
    let mut parent_next = parent.clone();
    let mut moved = vec![(target.clone(), delta)];
    match adj.redistribution {
        Redistribution::ParentAbsorbs => {
            if let Some(why) = room_above(db, plan, &parent, delta).await? {
                return Err(ServiceError::precondition("OVER_ASSIGNED", why));
            }
            parent_next.change_from(parent.amount.checked_add(delta)?, day, Some(&adj.id), now)?;
            moved.push((parent.clone(), delta));
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
                if let Some(why) = room_below(db, plan, s, amount).await? {
                    return Err(ServiceError::precondition("OVER_ASSIGNED", why));
                }
                let mut n = s.clone();
                n.change_from(amount, day, Some(&adj.id), now)?;
                moved.push((s.clone(), amount.checked_sub(s.amount)?));
                n.version = s.version + 1;
                n.update_time = now;
                if !targets::update(db, s, &n, &redistributed).await? {
                    return Err(ServiceError::stale_etag(&s.resource_name()));
                }
                refresh_coverage(db, plan, &s.id, who).await?;
            }
        }
    }
    require_spreadable(plan, &moved, day)?;
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

/// How far `t`'s split would exceed `t` — at `amount`, its children's sum
/// moved by `children_delta` — beyond what the plan's coverage policy
/// allows (over-assignment only under OVER_ASSIGN, up to its percentage):
/// `(over, allowed)`, or None when within.
async fn overflow(
    db: &impl ConnectionTrait,
    plan: &Plan,
    t: &Target,
    amount: Amount,
    children_delta: Amount,
) -> ServiceResult<Option<(Decimal, Decimal)>> {
    let children = targets::children(db, &plan.id, &t.id).await?;
    if children.is_empty() {
        return Ok(None);
    }
    let allocated =
        children.iter().try_fold(Amount::ZERO, |acc, c| acc.checked_add(c.amount))?.checked_add(children_delta)?;
    let over = allocated.decimal() - amount.decimal();
    let allowed = match plan.config.coverage {
        crate::domain::allocation::CoveragePolicy::OverAssign(max) => amount.decimal() * max / Decimal::ONE_HUNDRED,
        _ => Decimal::ZERO,
    };
    Ok((over > allowed).then_some((over, allowed)))
}

/// When the parent absorbs an increase, its own parent must have room for
/// it (a cut only frees budget into the reserve). Returns why not, if not.
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
    let Some((over, allowed)) = overflow(db, plan, &grandparent, grandparent.amount, delta).await? else {
        return Ok(None);
    };
    Ok(Some(format!(
        "{} absorbing {} would put its split {} above {} ({} allowed by the plan's coverage policy); raise {} first or let siblings absorb",
        parent.resource_name(),
        delta,
        over.round_dp(2),
        grandparent.resource_name(),
        allowed.round_dp(2),
        grandparent.resource_name()
    )))
}

/// A target never falls below what it has split to its children (beyond
/// what the coverage policy allows): its unit's figure would no longer be
/// its children's plus a reserve. Returns why not, if it would.
async fn room_below(
    db: &impl ConnectionTrait,
    plan: &Plan,
    t: &Target,
    amount: Amount,
) -> ServiceResult<Option<String>> {
    let Some((over, allowed)) = overflow(db, plan, t, amount, Amount::ZERO).await? else { return Ok(None) };
    Ok(Some(format!(
        "{} at {amount} would be {} below what it has split to its children ({} allowed by the plan's coverage policy); lower its children's targets first",
        t.resource_name(),
        over.round_dp(2),
        allowed.round_dp(2),
    )))
}

/// The first target the change would push below its own split, in words.
async fn split_overflow(
    db: &impl ConnectionTrait,
    plan: &Plan,
    target: &Target,
    after: Amount,
    siblings: &[(Target, Amount)],
) -> ServiceResult<Option<String>> {
    if let Some(why) = room_below(db, plan, target, after).await? {
        return Ok(Some(why));
    }
    for (s, amount) in siblings {
        if let Some(why) = room_below(db, plan, s, *amount).await? {
            return Ok(Some(why));
        }
    }
    Ok(None)
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
    // A target not split has no coverage to keep.
    if children.is_empty() {
        return Ok(());
    }
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
            let day = effective_day(&plan, &target, adj.effective_date, today)
                .map_err(|why| ServiceError::precondition("EFFECTIVE_DATE_CLOSED", why))?;
            apply(&txn, who, &plan, (&adj, day), &target).await?;
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
