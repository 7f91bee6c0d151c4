//! The organisation tree: units are created under a parent the caller
//! manages, renamed and re-attributed, moved (never under themselves), and
//! read by subtree; every change is a revision.

use attain_kit::{
    ServiceError, ServiceResult, auth::Identity, idempotency::IdempotencyKey, idempotent, paging::PageRequest,
    scope::check_etag,
};
use chrono::{Datelike, NaiveDate, Utc};
use prost::Message;
use sea_orm::{ConnectionTrait, DatabaseConnection};

use super::scope::{deny_manage, readable_former, readable_subtree, shown, visible_unit, visible_unit_or_former};
use crate::{
    domain::org::{self, DisplayName, Placement, RegionMaturity, Seniority, Unit, UnitAttributes, UnitId, UnitKind},
    storage::units::{self, MoveRecord, Revision},
};

/// A unit to create.
#[derive(Debug, Clone)]
pub struct NewUnit {
    pub id: UnitId,
    pub parent: Option<UnitId>,
    pub kind: UnitKind,
    pub attributes: UnitAttributes,
}

/// A field an update sets.
#[derive(Debug, Clone)]
pub enum UnitField {
    DisplayName(DisplayName),
    Manager(String),
    Seniority(Option<Seniority>),
    StartDate(Option<NaiveDate>),
    EndDate(Option<NaiveDate>),
    RegionMaturity(Option<RegionMaturity>),
    EmployeeCode(Option<String>),
}

/// An employee code names one person: taken by another unit, it is refused.
async fn code_free(db: &impl sea_orm::ConnectionTrait, code: Option<&String>, except: &UnitId) -> ServiceResult<()> {
    let Some(code) = code else { return Ok(()) };
    match units::by_employee_code(db, code).await? {
        Some(holder) if holder != *except => Err(ServiceError::AlreadyExists(format!(
            "unit.employee_code: {code} is already {}'s",
            holder.resource_name()
        ))),
        _ => Ok(()),
    }
}

pub async fn create<R: Message + Default>(
    db: &DatabaseConnection,
    who: &Identity,
    key: Option<IdempotencyKey>,
    new: NewUnit,
    render: fn(&Unit) -> R,
) -> ServiceResult<R> {
    let NewUnit { id, parent: parent_id, kind, attributes } = new;
    idempotent!(db, key, |txn| {
        let parent = match &parent_id {
            Some(p) => Some(visible_unit(&txn, who, p).await?),
            None => None,
        };
        let mut path = parent.as_ref().map(Unit::path).unwrap_or_default();
        path.push(id.as_str().to_owned());
        if !who.can_manage(&path) {
            return Err(deny_manage("CreateUnit"));
        }
        org::check_placement(parent.as_ref(), kind, "unit.parent")?;
        if units::get(&txn, &id).await?.is_some() {
            return Err(ServiceError::AlreadyExists(format!("{} already exists", id.resource_name())));
        }
        code_free(&txn, attributes.employee_code.as_ref(), &id).await?;
        if units::sibling_name_taken(&txn, parent_id.as_ref(), &attributes.display_name, None).await? {
            return Err(ServiceError::invalid(
                "unit.display_name",
                format!("a sibling is already named {:?}", attributes.display_name.as_str()),
            ));
        }
        let now = Utc::now();
        // It sits where its parent sits, and sat where its parent sat: a
        // record dated before a move of the parent counts where it was.
        let former = parent
            .as_ref()
            .map(|p| {
                p.former
                    .iter()
                    .map(|f| Placement {
                        ancestors: f.ancestors.iter().cloned().chain(std::iter::once(p.id.clone())).collect(),
                        until: f.until,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let unit = Unit {
            id,
            parent: parent_id,
            kind,
            attributes,
            ancestors: parent
                .map(|p| p.ancestors.into_iter().chain(std::iter::once(p.id)).collect())
                .unwrap_or_default(),
            former,
            version: 1,
            create_time: now,
            update_time: now,
        };
        units::insert(&txn, &unit, &who.person).await?;
        render(&unit)
    })
}

/// The roots (an ADMIN), or the children of a unit the caller may read;
/// with `former`, then (on the last page) its children before a move.
pub async fn children(
    db: &impl ConnectionTrait,
    who: &Identity,
    (parent, former): (Option<&UnitId>, bool),
    page: &PageRequest,
) -> ServiceResult<(Vec<Unit>, String)> {
    match parent {
        None if !who.is_admin() => {
            return Err(ServiceError::PermissionDenied(format!(
                "only an ADMIN lists the roots; list the children of units/{} instead",
                who.unit
            )));
        }
        None => {}
        // A unit that left the caller's scope: what sits below it now is
        // its new managers'.
        Some(id) if !who.can_read(&visible_unit_or_former(db, who, id).await?.path()) => {
            return Ok((Vec::new(), String::new()));
        }
        Some(_) => {}
    }
    let mut rows = units::children(db, parent, page.after.as_deref(), page.fetch_limit()).await?;
    let next_page_token = page.finish(&mut rows, |u| u.id.as_str().to_owned());
    if let (Some(p), true, true) = (parent, former, next_page_token.is_empty()) {
        let parent = units::get(db, p).await?.ok_or_else(|| ServiceError::not_found("unit", p.resource_name()))?;
        rows.extend(readable_former(db, who, &parent).await?.into_iter().filter(|u| u.was_child_of(&parent.id)));
    }
    Ok((shown(who, rows), next_page_token))
}

/// A unit and what the caller may read below it, the unit first; with
/// `former`, then the units that sat below it before a move.
pub async fn subtree(db: &impl ConnectionTrait, who: &Identity, id: &UnitId, former: bool) -> ServiceResult<Vec<Unit>> {
    let root = visible_unit_or_former(db, who, id).await?;
    if !who.can_read(&root.path()) {
        // Read by a manager of a place it left: itself, as they may see it.
        return Ok(vec![root]);
    }
    // A rep's scope is itself even if (wrongly) something sat below it.
    let mut out = shown(who, readable_subtree(db, who, &root).await?);
    if former {
        out.extend(readable_former(db, who, &root).await?);
    }
    Ok(out)
}

pub async fn update<R: Message + Default>(
    db: &DatabaseConnection,
    who: &Identity,
    key: Option<IdempotencyKey>,
    (id, etag): (&UnitId, &str),
    fields: Vec<UnitField>,
    render: fn(&Unit) -> R,
) -> ServiceResult<R> {
    idempotent!(db, key, |txn| {
        let current = visible_unit(&txn, who, id).await?;
        if !who.can_manage(&current.path()) {
            return Err(deny_manage("UpdateUnit"));
        }
        check_etag(etag, &current.etag(), &id.resource_name())?;
        let mut next = current.clone();
        let a = &mut next.attributes;
        for f in &fields {
            match f.clone() {
                UnitField::DisplayName(n) => a.display_name = n,
                UnitField::Manager(m) => a.manager = m,
                UnitField::Seniority(s) => a.seniority = s,
                UnitField::StartDate(d) => a.start_date = d,
                UnitField::EndDate(d) => a.end_date = d,
                UnitField::RegionMaturity(m) => a.region_maturity = m,
                UnitField::EmployeeCode(c) => a.employee_code = c,
            }
        }
        next.attributes.check_for(next.kind, "unit.")?;
        if let (Some(end), Some(since)) = (next.attributes.end_date, next.placed_since())
            && end < since
        {
            return Err(ServiceError::invalid(
                "unit.end_date",
                format!("{end} is before {} moved to its place ({since})", id.resource_name()),
            ));
        }
        code_free(&txn, next.attributes.employee_code.as_ref(), id).await?;
        let renamed = next.attributes.display_name.key() != current.attributes.display_name.key();
        let name = &next.attributes.display_name;
        if renamed && units::sibling_name_taken(&txn, current.parent.as_ref(), name, Some(id)).await? {
            return Err(ServiceError::invalid(
                "unit.display_name",
                format!("a sibling is already named {:?}", name.as_str()),
            ));
        }
        if next.attributes == current.attributes {
            render(&current)
        } else {
            next.version = current.version + 1;
            next.update_time = Utc::now();
            if !units::update(&txn, &next, current.version, &who.person).await? {
                return Err(ServiceError::stale_etag(&id.resource_name()));
            }
            render(&next)
        }
    })
}

/// A move: where to, from which day (`None`: today).
#[derive(Debug, Clone)]
pub struct Relocation {
    pub new_parent: UnitId,
    pub effective: Option<NaiveDate>,
}

pub async fn relocate<R: Message + Default>(
    (db, today): (&DatabaseConnection, NaiveDate),
    who: &Identity,
    key: Option<IdempotencyKey>,
    (id, etag): (&UnitId, &str),
    to: Relocation,
    render: fn(&Unit) -> R,
) -> ServiceResult<R> {
    idempotent!(db, key, |txn| {
        let current = visible_unit(&txn, who, id).await?;
        if !who.can_manage(&current.path()) {
            return Err(deny_manage("MoveUnit"));
        }
        check_etag(etag, &current.etag(), &id.resource_name())?;
        let new_parent = visible_unit(&txn, who, &to.new_parent).await?;
        org::check_no_cycle(&current, &new_parent, "new_parent")?;
        let mut destination = new_parent.path();
        destination.push(id.as_str().to_owned());
        if !who.can_manage(&destination) {
            return Err(deny_manage("MoveUnit to new_parent"));
        }
        org::check_placement(Some(&new_parent), current.kind, "new_parent")?;
        let below: Vec<Unit> = units::subtree(&txn, &current).await?.into_iter().filter(|u| u.id != *id).collect();
        let day = move_day(&current, &below, (to.effective, today))?;
        // Its new place on each day from `day` is the new parent's then: a
        // parent that moved later than `day` had another place meanwhile.
        if let Some(since) = new_parent.placed_since().filter(|s| *s > day) {
            return Err(ServiceError::invalid(
                "effective_date",
                format!(
                    "{} has been in its place since {since}; a move into it takes effect on or after that day",
                    new_parent.id.resource_name()
                ),
            ));
        }
        if current.parent.as_ref() == Some(&new_parent.id) {
            render(&current)
        } else {
            let name = &current.attributes.display_name;
            if units::sibling_name_taken(&txn, Some(&new_parent.id), name, Some(id)).await? {
                return Err(ServiceError::invalid(
                    "new_parent",
                    format!("{} already has a child named {:?}", new_parent.id.resource_name(), name.as_str()),
                ));
            }
            let new_ancestors: Vec<UnitId> =
                new_parent.ancestors.iter().cloned().chain(std::iter::once(new_parent.id.clone())).collect();
            let mut moved = current.clone();
            moved.parent = Some(new_parent.id.clone());
            moved.move_from(day, new_ancestors.clone());
            moved.version = current.version + 1;
            moved.update_time = Utc::now();
            let mut descendants = Vec::with_capacity(below.len());
            for mut d in below {
                // Each keeps its place under the moved unit.
                let under = d.ancestors.iter().position(|a| a == id).unwrap_or(d.ancestors.len());
                let ancestors = new_ancestors.iter().chain(d.ancestors[under..].iter()).cloned().collect();
                d.move_from(day, ancestors);
                d.version += 1;
                d.update_time = moved.update_time;
                descendants.push(d);
            }
            if !units::relocate(&txn, (&current, &moved), &descendants, &who.person).await? {
                return Err(ServiceError::stale_etag(&id.resource_name()));
            }
            let old_path: Vec<UnitId> = current.ancestors.iter().cloned().chain(std::iter::once(id.clone())).collect();
            super::relocation::targets_follow(&txn, who, (&current, &old_path), &new_parent, day).await?;
            let new_path = new_ancestors.iter().cloned().chain(std::iter::once(id.clone())).collect();
            let record = MoveRecord {
                sequence: 0,
                unit: id.clone(),
                from: day,
                old_path,
                new_path,
                recorded: moved.update_time,
            };
            units::log_move(&txn, &record).await?;
            render(&moved)
        }
    })
}

/// The day a move takes effect: as asked, else today. Not after today
/// (the tree as it stands is today's), not in a month that has ended (its
/// figures were shown and closed on), not before the unit starts or after
/// it ends, and not before a later move of the unit or of any unit below
/// it (places follow each other in time).
fn move_day(unit: &Unit, below: &[Unit], (asked, today): (Option<NaiveDate>, NaiveDate)) -> ServiceResult<NaiveDate> {
    let field = "effective_date";
    let day = asked.unwrap_or(today);
    let open_from = today.with_day(1).unwrap_or(today);
    let refuse = |why: String| Err(ServiceError::invalid(field, why));
    if day > today {
        return refuse(format!("{day} is after today ({today}); record the move on or after the day it takes effect"));
    }
    if day < open_from {
        return refuse(format!(
            "{day} is in a month that has ended (its figures are closed); the earliest effective date is {open_from}"
        ));
    }
    let a = &unit.attributes;
    if let Some(start) = a.start_date.filter(|s| *s > day) {
        return refuse(format!("{day} is before {} starts ({start})", unit.id.resource_name()));
    }
    if let Some(end) = a.end_date.filter(|e| *e < day) {
        return refuse(format!("{day} is after {} ends ({end})", unit.id.resource_name()));
    }
    for u in std::iter::once(unit).chain(below) {
        if let Some(since) = u.placed_since().filter(|s| *s > day) {
            return refuse(format!(
                "{} has been in its place since {since}; a move must not take effect before that",
                u.id.resource_name()
            ));
        }
    }
    Ok(day)
}

pub async fn revisions(
    db: &impl ConnectionTrait,
    who: &Identity,
    id: &UnitId,
    (after, limit): (Option<i64>, u64),
) -> ServiceResult<Vec<Revision>> {
    visible_unit_or_former(db, who, id).await?;
    // Each as it then stood, as the caller may see it: where it sat
    // outside their scope stays unsaid (a manager learns when it left or
    // came back, not where it was).
    let mut out = units::revisions(db, id, after, limit).await?;
    for r in &mut out {
        r.unit.redact(|path| who.can_read(path));
    }
    Ok(out)
}

/// Moves after a sequence number, for followers (ADMIN only).
pub async fn moves_after(
    db: &impl ConnectionTrait,
    who: &Identity,
    (after, limit): (i64, u64),
) -> ServiceResult<Vec<MoveRecord>> {
    super::scope::require_admin(who, "ListUnitMoves")?;
    units::moves_after(db, after, limit).await
}
