//! Who may read and change what: units by their place in the tree, plans
//! by their organisation, targets by their unit.

use attain_kit::{
    ServiceError, ServiceResult,
    auth::Identity,
    period::Period,
    scope::{hidden, reveal},
};
use sea_orm::ConnectionTrait;

use crate::{
    domain::{
        org::{Id, Unit, UnitId},
        plan::Plan,
        target::{Target, Window},
    },
    storage::{plans, targets, units},
};

/// The scope rule for one looked-up unit: readable, or hidden; missing
/// only to an ADMIN (others cannot tell missing from out of scope).
fn readable(who: &Identity, id: &UnitId, found: Option<Unit>) -> ServiceResult<Unit> {
    reveal(who, "unit", &id.resource_name(), found, |u| who.can_read(&u.path()))
}

/// Loads a unit the caller may read.
pub async fn visible_unit(db: &impl ConnectionTrait, who: &Identity, id: &UnitId) -> ServiceResult<Unit> {
    readable(who, id, units::get(db, id).await?)
}

/// A unit as the caller may see it: whole where it sits in their scope;
/// where it sat in their scope before a move only, as a former member
/// (`Unit::redact`: when it left, not where it went) — what a reading of
/// its days there needs.
pub async fn visible_unit_or_former(db: &impl ConnectionTrait, who: &Identity, id: &UnitId) -> ServiceResult<Unit> {
    let found = units::get(db, id).await?;
    let mut unit =
        reveal(who, "unit", &id.resource_name(), found, |u| u.stretches().iter().any(|(_, path)| who.can_read(path)))?;
    unit.redact(|path| who.can_read(path));
    Ok(unit)
}

/// Many units in the order asked (one query), each checked as
/// `visible_unit` checks one.
pub async fn visible_units(db: &impl ConnectionTrait, who: &Identity, ids: &[UnitId]) -> ServiceResult<Vec<Unit>> {
    let found: std::collections::HashMap<UnitId, Unit> =
        units::get_many(db, ids).await?.into_iter().map(|u| (u.id.clone(), u)).collect();
    ids.iter().map(|id| readable(who, id, found.get(id).cloned())).collect()
}

/// Many units, each readable on every day of `period` (where it sat on
/// each is in the caller's scope). One readable on some of the days only —
/// it moved into or out of the caller's scope — is FAILED_PRECONDITION
/// naming it (`units[i]`) and the days to ask for; one readable on none is
/// hidden.
pub async fn visible_units_over(
    db: &impl ConnectionTrait,
    who: &Identity,
    ids: &[UnitId],
    period: &Period,
) -> ServiceResult<Vec<Unit>> {
    let (start, end) = (period.start, period.end);
    let found: std::collections::HashMap<UnitId, Unit> =
        units::get_many(db, ids).await?.into_iter().map(|u| (u.id.clone(), u)).collect();
    let mut out = Vec::with_capacity(ids.len());
    // Readable on some of the days only (it moved in or out of the
    // caller's scope): the days to ask for, every such unit at once.
    let mut split: Vec<String> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let unit = reveal(who, "unit", &id.resource_name(), found.get(id).cloned(), |u| {
            !readable_days(who, u, start, end).is_empty()
        })?;
        match readable_days(who, &unit, start, end).as_slice() {
            [one] if one.covers(start, end) => out.push(unit),
            some => split.push(split_message(&format!("units[{i}]: {}", id.resource_name()), period, some)),
        }
    }
    if split.is_empty() { Ok(out) } else { Err(ServiceError::precondition("PERIOD_SPLIT_BY_MOVES", split.join("; "))) }
}

/// The stretches of days, within `start..=end`, on which the caller may
/// read `unit` (where it sat then is in their scope), merged.
fn readable_days(who: &Identity, unit: &Unit, start: chrono::NaiveDate, end: chrono::NaiveDate) -> Vec<Window> {
    Window::merged(unit.stretches().into_iter().filter(|(_, path)| who.can_read(path)).map(|(w, _)| w).collect())
        .into_iter()
        .filter(|w| w.clip(start, end).is_some())
        .collect()
}

/// A unit readable on some days of a period only: the period's shape, not
/// a permission — FAILED_PRECONDITION naming the days to ask for.
fn split_by_moves(what: &str, period: &Period, days: &[Window]) -> ServiceError {
    ServiceError::precondition("PERIOD_SPLIT_BY_MOVES", split_message(what, period, days))
}

/// What a unit readable on some days of a period says: the days to ask for.
fn split_message(what: &str, period: &Period, days: &[Window]) -> String {
    let days: Vec<String> =
        days.iter().filter_map(|w| w.clip(period.start, period.end)).map(|(a, b)| format!("{a}..{b}")).collect();
    format!("{what} was in your scope for part of {} only: ask for {}", period.expression, days.join(" or "))
}

/// A unit the caller may read on some days of `period`, and the one
/// stretch of them it may: every day (`Window::ALL`) when it sat in the
/// caller's scope throughout; else its days there — a manager reads a rep
/// that left for its days before, its new manager from the day it joined
/// (as tracking's figures are scoped). Several stretches (it left and came
/// back) are FAILED_PRECONDITION, naming each to ask for. With `as_of`,
/// where it sat then.
pub async fn visible_unit_during(
    db: &impl ConnectionTrait,
    who: &Identity,
    id: &UnitId,
    (period, as_of): (&Period, Option<chrono::DateTime<chrono::Utc>>),
) -> ServiceResult<(Unit, Window)> {
    let (start, end) = (period.start, period.end);
    let mut found = units::get(db, id).await?;
    // As of an instant: where it sat then (moves recorded since undone),
    // as the figures read as of then count it.
    if let (Some(u), Some(at)) = (found.as_mut(), as_of) {
        let mut ids: Vec<&UnitId> = std::iter::once(&u.id).chain(&u.ancestors).collect();
        ids.extend(u.former.iter().flat_map(|p| &p.ancestors));
        let undone = units::moves_recorded_after(db, &ids, at).await?;
        u.before_moves(&undone);
    }
    let unit = reveal(who, "unit", &id.resource_name(), found, |u| !readable_days(who, u, start, end).is_empty())?;
    match readable_days(who, &unit, start, end).as_slice() {
        [one] if one.covers(start, end) => Ok((unit, Window::ALL)),
        [one] => Ok((unit, *one)),
        // Readable, in pieces: the period's shape, not a permission.
        many => Err(split_by_moves(&id.resource_name(), period, many)),
    }
}

/// Units as the caller is shown them (`Unit::redact`): where each sat
/// outside their scope stays unsaid. For answers only: a write needs the
/// unit whole.
pub fn shown(who: &Identity, mut units: Vec<Unit>) -> Vec<Unit> {
    for u in &mut units {
        u.redact(|path| who.can_read(path));
    }
    units
}

/// The units under `root` that the caller may read.
pub async fn readable_subtree(db: &impl ConnectionTrait, who: &Identity, root: &Unit) -> ServiceResult<Vec<Unit>> {
    Ok(units::subtree(db, root).await?.into_iter().filter(|u| who.can_read(&u.path())).collect())
}

/// The units that sat under `root` (which the caller may read) before a
/// move and are elsewhere now: their units and targets are readable from
/// `root`, as `root`'s figures count them for their days there; their
/// records after they left are not (tracking scopes those by where each was
/// booked).
pub async fn readable_former(db: &impl ConnectionTrait, who: &Identity, root: &Unit) -> ServiceResult<Vec<Unit>> {
    if !who.can_read(&root.path()) {
        return Ok(Vec::new());
    }
    Ok(shown(who, units::former_members(db, root).await?))
}

/// Loads a plan the caller may see: admins, and anyone whose unit lies in
/// the plan's organisation.
pub async fn visible_plan(db: &impl ConnectionTrait, who: &Identity, id: &Id) -> ServiceResult<Plan> {
    let name = format!("plans/{}", id.as_str());
    let plan = reveal(who, "plan", &name, plans::get(db, id).await?, |_| true)?;
    if who.is_admin() {
        return Ok(plan);
    }
    let home = units::get(db, &UnitId::parse("token unit", &who.unit).map_err(|_| hidden(&name))?).await?;
    match home {
        Some(u) if u.path().iter().any(|p| p == plan.top_unit.as_str()) => Ok(plan),
        _ => Err(hidden(&name)),
    }
}

/// Loads a target whose unit the caller may read, with its plan and unit.
/// An ADMIN asking for a unit that has no target yet is told so.
pub async fn visible_target(
    db: &impl ConnectionTrait,
    who: &Identity,
    (plan_id, target_id): (&Id, &Id),
    name: &str,
) -> ServiceResult<(Plan, Target, Unit)> {
    let plan = visible_plan(db, who, plan_id).await?;
    let target = match targets::get(db, plan_id, target_id).await? {
        Some(t) => t,
        None if who.is_admin() => {
            if units::get(db, target_id).await?.is_some() {
                return Err(ServiceError::precondition(
                    "NO_TARGET_YET",
                    format!(
                        "units/{} has no target in {} yet: split its parent's target first",
                        target_id.as_str(),
                        plan.resource_name()
                    ),
                ));
            }
            return Err(ServiceError::not_found("target", name));
        }
        None => return Err(hidden(name)),
    };
    let unit = visible_unit(db, who, &target.unit).await.map_err(|_| hidden(name))?;
    Ok((plan, target, unit))
}

pub fn deny_manage(what: &str) -> ServiceError {
    ServiceError::PermissionDenied(format!("{what}: only an ADMIN, or a MANAGER of a unit above it, may change this"))
}

pub fn require_admin(who: &Identity, what: &str) -> ServiceResult<()> {
    if who.is_admin() {
        Ok(())
    } else {
        Err(ServiceError::PermissionDenied(format!("{what} is for ADMIN (sales operations) only")))
    }
}
