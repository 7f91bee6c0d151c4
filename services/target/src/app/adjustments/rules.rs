//! What an adjustment may do: the day it takes effect, and the targets it
//! moves with their new amounts. Checked when it is filed (a refusal is
//! INVALID_ARGUMENT naming the field) and again when it is approved (the
//! family may have changed: FAILED_PRECONDITION with a reason code).

use attain_kit::{ServiceError, ServiceResult, money::Amount};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;

use crate::{
    domain::{
        allocation::{AbsorbError, absorb},
        org::Id,
        plan::Plan,
        rollup::Phaser,
        target::{Redistribution, Target},
    },
    storage::targets,
};

/// Why a change cannot go ahead: the field a request would name, a reason
/// code for approval, and the words.
#[derive(Debug)]
pub(super) struct Refusal {
    pub field: &'static str,
    pub code: &'static str,
    pub why: String,
}

impl Refusal {
    fn new(field: &'static str, code: &'static str, why: impl Into<String>) -> Self {
        Self { field, code, why: why.into() }
    }

    /// As a request's answer.
    pub fn invalid(self) -> ServiceError {
        ServiceError::invalid(self.field, self.why)
    }

    /// As an approval's answer.
    pub fn precondition(self) -> ServiceError {
        ServiceError::precondition(self.code, self.why)
    }
}

/// A refusal, or a storage error on the way.
pub(super) enum Check<T> {
    Ok(T),
    Refused(Refusal),
}

type Checked<T> = ServiceResult<Check<T>>;

macro_rules! refuse {
    ($field:expr, $code:expr, $($why:tt)+) => {
        return Ok(Check::Refused(Refusal::new($field, $code, format!($($why)+))))
    };
}

/// What a change does to the family: every target it moves with its new
/// yearly amount (the adjusted one first), and the targets whose split
/// coverage must be recomputed afterwards.
#[derive(Debug, Default)]
pub(super) struct Moves {
    pub changes: Vec<(Target, Amount)>,
    pub refresh: Vec<Id>,
}

/// The first day a change applies to: as asked, else `today`. A month
/// that has ended is closed for targets (its figures were shown, reviewed
/// and closed on), so the earliest day is the first of today's month; the
/// day lies in the plan's year, on or after the target's start and, unless
/// the change releases what a leaver has left (`release`), on or before
/// its unit's last day. Says why not, if not.
pub(super) fn effective_day(
    plan: &Plan,
    (target, unit_end): (&Target, Option<NaiveDate>),
    (asked, today): (Option<NaiveDate>, NaiveDate),
    release: bool,
) -> Result<NaiveDate, String> {
    let year = plan.fiscal_year_period().map_err(|e| e.to_string())?;
    // Unasked: the approval day, or the unit's first day if later (a hire
    // requested before it starts).
    let day = asked.unwrap_or_else(|| target.start.map_or(today, |s| s.max(today)));
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
    if let Some(moved) = target.last_move().filter(|m| *m > day) {
        return Err(format!(
            "{day} is before {} moved to its place ({moved}); a change takes effect from then or later",
            target.unit.resource_name()
        ));
    }
    if let Some(end) = unit_end
        && day > end
        && !release
    {
        return Err(format!(
            "{day} is after {} ends ({end}); release what it has left instead (release_remaining)",
            target.unit.resource_name()
        ));
    }
    Ok(day)
}

/// Every target a change moves must have curve weight left from its
/// effective day to carry it.
pub(super) fn require_spreadable(plan: &Plan, moves: &Moves, day: NaiveDate) -> ServiceResult<()> {
    let mut phaser = Phaser::new(plan)?;
    for (t, after) in &moves.changes {
        if after != &t.amount && phaser.weight_left(t, day)?.is_zero() {
            return Err(ServiceError::invalid(
                "adjustment.effective_date",
                format!("{} has no working day left from {day} to carry the change", t.resource_name()),
            ));
        }
    }
    Ok(())
}

/// Whether `t`'s unit works on `day` (started, not yet left); why not.
async fn working_on(db: &impl ConnectionTrait, t: &Target, day: NaiveDate) -> ServiceResult<Result<(), String>> {
    let Some(unit) = crate::storage::units::get(db, &t.unit).await? else { return Ok(Ok(())) };
    let a = &unit.attributes;
    Ok(match (a.start_date, a.end_date) {
        (_, Some(end)) if end < day => Err(format!("{} left on {end}, before {day}", t.unit.resource_name())),
        (Some(start), _) if start > day => Err(format!("{} starts on {start}, after {day}", t.unit.resource_name())),
        _ => Ok(()),
    })
}

/// The targets from `t`'s parent up to the top, nearest first.
async fn ancestors(db: &impl ConnectionTrait, plan: &Plan, t: &Target) -> ServiceResult<Vec<Target>> {
    let mut out: Vec<Target> = Vec::new();
    let mut next = t.parent.clone();
    while let Some(id) = next {
        let Some(p) = targets::get(db, &plan.id, &id).await? else { break };
        if out.iter().any(|a| a.id == p.id) {
            break; // a cycle would be a bug elsewhere; never loop on it
        }
        next = p.parent.clone();
        out.push(p);
    }
    Ok(out)
}

/// The targets a change of `target` to `after` moves, redistributed as
/// asked (`successor` for `Redistribution::Successor`), the family as it
/// stands; or why it cannot be done.
pub(super) async fn moves(
    db: &impl ConnectionTrait,
    plan: &Plan,
    (target, after): (&Target, Amount),
    (how, day): (Redistribution, NaiveDate),
    successor: Option<&Target>,
) -> Checked<Moves> {
    let delta = after.checked_sub(target.amount)?;
    let parent = match &target.parent {
        Some(p) => targets::get(db, &plan.id, p).await?,
        None => None,
    };
    if parent.is_none() && how != Redistribution::Successor {
        refuse!("adjustment.redistribution", "NO_PARENT", "the top target has no parent to absorb the change");
    }
    if let Some(why) = room_below(db, plan, target, after).await? {
        refuse!("adjustment.change", "OVER_ASSIGNED", "{why}");
    }
    let mut m = Moves { changes: vec![(target.clone(), after)], refresh: vec![target.id.clone()] };
    match (how, parent) {
        (Redistribution::ParentAbsorbs | Redistribution::ReserveAbsorbs | Redistribution::SiblingsAbsorb, None) => {
            refuse!("adjustment.redistribution", "NO_PARENT", "the top target has no parent to absorb the change");
        }
        (Redistribution::ParentAbsorbs, Some(parent)) => {
            let parent_after = parent.amount.checked_add(delta)?;
            if parent_after.is_negative() {
                refuse!("adjustment.change", "NEGATIVE_TARGET", "{} would become negative", parent.resource_name());
            }
            if let Some(why) = room_above(db, plan, &parent, delta).await? {
                refuse!("adjustment.change", "OVER_ASSIGNED", "{why}");
            }
            m.refresh.push(parent.id.clone());
            m.refresh.extend(parent.parent.clone());
            m.changes.push((parent, parent_after));
        }
        (Redistribution::ReserveAbsorbs, Some(parent)) => {
            if delta.decimal().is_sign_positive()
                && let Some((over, allowed)) = overflow(db, plan, &parent, parent.amount, delta).await?
            {
                refuse!(
                    "adjustment.change",
                    "OVER_ASSIGNED",
                    "{}'s reserve cannot give {delta}: its split would be {} above it ({} allowed by the plan's coverage policy); let siblings absorb it or raise {} first",
                    parent.resource_name(),
                    over.round_dp(2),
                    allowed.round_dp(2),
                    parent.resource_name()
                );
            }
            m.refresh.push(parent.id.clone());
        }
        (Redistribution::SiblingsAbsorb, Some(parent)) => {
            // Siblings who have left by the effective day take no part.
            let mut siblings: Vec<Target> = Vec::new();
            for s in targets::children(db, &plan.id, &parent.id).await? {
                if s.id != target.id && working_on(db, &s, day).await?.is_ok() {
                    siblings.push(s);
                }
            }
            let amounts: Vec<Amount> = siblings.iter().map(|s| s.amount).collect();
            let new = match absorb(&amounts, delta, plan.config.rounding_unit) {
                Ok(new) => new,
                Err(AbsorbError::NoSiblings) => refuse!(
                    "adjustment.redistribution",
                    "NO_SIBLINGS",
                    "the target has no siblings to absorb the change"
                ),
                Err(AbsorbError::Negative(i)) => {
                    let who = siblings.get(i).map_or_else(|| "a sibling".to_owned(), Target::resource_name);
                    refuse!("adjustment.change", "NEGATIVE_TARGET", "{who} would become negative absorbing the change");
                }
                Err(AbsorbError::OffTheUnit) => {
                    return Err(ServiceError::Internal(anyhow::anyhow!("delta off the rounding unit")));
                }
            };
            for (s, amount) in siblings.into_iter().zip(new) {
                if let Some(why) = room_below(db, plan, &s, amount).await? {
                    refuse!("adjustment.change", "OVER_ASSIGNED", "{why}");
                }
                m.refresh.push(s.id.clone());
                m.changes.push((s, amount));
            }
            m.refresh.push(parent.id.clone());
        }
        (Redistribution::Successor, _) => {
            let Some(s) = successor else {
                refuse!("adjustment.successor", "NO_SUCCESSOR", "is required with REDISTRIBUTION_SUCCESSOR");
            };
            if let Err(why) = working_on(db, s, day).await? {
                refuse!("adjustment.successor", "SUCCESSOR_NOT_WORKING", "{why}");
            }
            let (up_t, up_s) = (ancestors(db, plan, target).await?, ancestors(db, plan, s).await?);
            if s.id == target.id || up_t.iter().any(|a| a.id == s.id) || up_s.iter().any(|a| a.id == target.id) {
                refuse!(
                    "adjustment.successor",
                    "SUCCESSOR_IN_BRANCH",
                    "{} is the target itself, above it or below it: name a target beside it",
                    s.resource_name()
                );
            }
            let s_after = s.amount.checked_sub(delta)?;
            if s_after.is_negative() {
                refuse!("adjustment.change", "NEGATIVE_TARGET", "{} would become negative", s.resource_name());
            }
            if let Some(why) = room_below(db, plan, s, s_after).await? {
                refuse!("adjustment.change", "OVER_ASSIGNED", "{why}");
            }
            m.refresh.push(s.id.clone());
            m.changes.push((s.clone(), s_after));
            // Each branch up to the common ancestor moves with its leaf, so
            // every split on the way keeps its coverage; the common one stays.
            let common = up_t.iter().position(|a| up_s.iter().any(|b| b.id == a.id));
            let shared = common.and_then(|i| up_t.get(i)).map(|c| c.id.clone());
            for (branch, change) in [(up_t, delta), (up_s, Amount::ZERO.checked_sub(delta)?)] {
                for a in branch.into_iter().take_while(|a| Some(&a.id) != shared.as_ref()) {
                    let a_after = a.amount.checked_add(change)?;
                    if a_after.is_negative() {
                        refuse!("adjustment.change", "NEGATIVE_TARGET", "{} would become negative", a.resource_name());
                    }
                    m.refresh.push(a.id.clone());
                    m.changes.push((a, a_after));
                }
            }
            m.refresh.extend(shared);
        }
    }
    Ok(Check::Ok(m))
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
