//! Importing a sheet: rows checked a chunk at a time and kept until
//! committed (won deals as deals, lost ones as lost opportunities with
//! their reason), people written by name resolved within the caller's
//! scope, and alerts evaluated once, at the end.

use std::collections::HashMap;

use attain_kit::{
    ServiceError, ServiceResult, auth::Identity, id::Id, idempotency::IdempotencyKey, upstream::Forwarded,
};
use attain_target_client::{UnitInfo, plan_for};
use chrono::Utc;
use prost::Message;

use super::{
    App,
    ingest::{Lookups, Prepared, Row, still_there},
};
use crate::{
    domain::{activity::Opportunity, deal::Deal},
    storage::opportunities,
};

/// A lost deal of the sheet: the opportunity as read (its rep, customer,
/// close date, reason and detail) and its idempotency key.
#[derive(Debug, Clone)]
pub struct LostRow {
    pub key: IdempotencyKey,
    pub opportunity: Opportunity,
    /// The row it came from (set when checked).
    pub row: usize,
}

/// An ingestion in steps (a file import).
pub struct Session {
    app: App,
    who: Identity,
    fwd: Forwarded,
    cache: Lookups,
    pending: Vec<Prepared>,
    pending_lost: Vec<LostRow>,
    _running: super::metrics::ImportRunning,
}

/// How stored rows become the replies kept for replays.
pub type Renders<D, O> = (fn(&Deal) -> D, fn(&Opportunity) -> O);

/// Pending rows found already stored, and rows whose request id was used
/// for another row.
#[derive(Debug, Default)]
pub struct Sifted {
    pub stored: usize,
    pub conflicts: Vec<(usize, ServiceError)>,
}

/// What one commit stored.
#[derive(Debug, Clone, Copy, Default)]
pub struct Committed {
    pub deals: usize,
    pub lost: usize,
}

impl App {
    /// Counts a finished import's rows (good ones: stored, or not when the
    /// import stored nothing).
    pub fn import_finished(&self, good: u64, refused: u64, duplicate: u64, stored: bool) {
        self.metrics.import_finished(good, refused, duplicate, stored);
    }

    pub fn session(&self, who: Identity, fwd: Forwarded) -> Session {
        Session {
            app: self.clone(),
            who,
            fwd,
            cache: Lookups::default(),
            pending: Vec::new(),
            pending_lost: Vec::new(),
            _running: self.metrics.import_started(),
        }
    }

    /// Every unit the caller may see, to resolve people written by name.
    pub async fn directory(&self, who: &Identity, fwd: &Forwarded) -> ServiceResult<Directory> {
        let units = if who.unit.is_empty() {
            let mut all = Vec::new();
            for root in self.target.roots(fwd).await? {
                all.extend(self.target.subtree(fwd, &root.id).await?);
            }
            all
        } else {
            self.target.subtree(fwd, &Id::parse("unit", &who.unit)?).await?
        };
        Ok(Directory::new(units))
    }
}

impl Session {
    /// Checks a chunk of parsed rows (`field` names a row's errors): good
    /// rows wait for `commit`; the refused ones come back with their
    /// error. Anything but a row's own fault ends the session.
    pub async fn check(
        &mut self,
        rows: Vec<(usize, ServiceResult<Row>)>,
        field: impl Fn(usize) -> String,
    ) -> ServiceResult<Vec<(usize, ServiceError)>> {
        let ok_rows = rows.iter().filter_map(|(_, r)| r.as_ref().ok()).map(|r| &r.new);
        self.app.prefetch_reps(&self.fwd, &mut self.cache, ok_rows).await;
        let mut refused = Vec::new();
        for (n, r) in rows {
            let prepared = match r {
                Ok(r) => self.app.prepare(&self.who, &self.fwd, &mut self.cache, &field(n), n, r).await,
                Err(e) => Err(e),
            };
            match prepared {
                Ok(p) => self.pending.push(p),
                Err(e) => refused.push((n, row_fault(e)?)),
            }
        }
        Ok(refused)
    }

    /// Checks lost deals as `check` does won ones: the rep is one the
    /// caller may record activity for, working on the day, under a plan
    /// (whose currency the opportunity takes).
    pub async fn check_lost(
        &mut self,
        rows: Vec<(usize, ServiceResult<LostRow>)>,
        field: impl Fn(usize) -> String,
    ) -> ServiceResult<Vec<(usize, ServiceError)>> {
        let mut refused = Vec::new();
        for (n, r) in rows {
            let checked = match r {
                Ok(r) => self.lost(&field(n), LostRow { row: n, ..r }).await,
                Err(e) => Err(e),
            };
            match checked {
                Ok(lost) => self.pending_lost.push(lost),
                Err(e) => refused.push((n, row_fault(e)?)),
            }
        }
        Ok(refused)
    }

    async fn lost(&mut self, field: &str, mut r: LostRow) -> ServiceResult<LostRow> {
        let o = &mut r.opportunity;
        let rep_field = format!("{field}.rep");
        let rep = self
            .app
            .writable_rep(
                &self.who,
                &self.fwd,
                &mut self.cache,
                (&rep_field, &rep_field),
                &o.rep,
                "record activity for",
            )
            .await?;
        let close_field = format!("{field}.close_date");
        let day = o.close_date.ok_or_else(|| ServiceError::invalid(&close_field, "is required"))?;
        // As for won deals: nothing is lost on a day still to come.
        let today = self.app.today();
        if day > today {
            return Err(ServiceError::invalid(&close_field, format!("{day} is in the future (today is {today})")));
        }
        still_there(&rep, day, &close_field)?;
        let plans = self.app.plans(&self.fwd, &mut self.cache).await?;
        let path = rep.path_on(day).to_vec();
        let plan = plan_for(&plans, &path, day).ok_or_else(|| {
            ServiceError::invalid(&close_field, format!("no plan covers {day} for {}", rep.id.resource_name()))
        })?;
        let now = Utc::now();
        o.currency = plan.currency;
        o.id = Id::generate();
        o.booked_path = path;
        o.version = 1;
        o.create_time = now;
        o.update_time = now;
        o.check(field)?;
        Ok(r)
    }

    /// Takes out of the pending rows those an earlier call stored (they
    /// would store nothing) and those whose request id an earlier call
    /// used for something else (each that row's error).
    pub async fn sift_stored(&mut self) -> ServiceResult<Sifted> {
        let mut sifted = Sifted::default();
        let db = &self.app.db;
        self.pending = sift(db, std::mem::take(&mut self.pending), |p| (&p.key, p.row), &mut sifted).await?;
        self.pending_lost = sift(db, std::mem::take(&mut self.pending_lost), |l| (&l.key, l.row), &mut sifted).await?;
        Ok(sifted)
    }

    /// Rows checked and not yet committed (won and lost).
    pub fn pending(&self) -> usize {
        self.pending.len() + self.pending_lost.len()
    }

    /// The won deals checked and not yet committed, as they would be stored.
    pub fn pending_deals(&self) -> impl Iterator<Item = &Deal> {
        self.pending.iter().map(|p| &p.deal)
    }

    /// The lost deals checked and not yet committed.
    pub fn pending_lost(&self) -> impl Iterator<Item = &Opportunity> {
        self.pending_lost.iter().map(|l| &l.opportunity)
    }

    /// Stores the pending rows (or, validating only, drops them).
    pub async fn commit<D: Message + Default, O: Message + Default>(
        &mut self,
        store: bool,
        (render_deal, render_lost): Renders<D, O>,
    ) -> ServiceResult<Committed> {
        let rows = std::mem::take(&mut self.pending);
        let lost = std::mem::take(&mut self.pending_lost);
        let done = Committed { deals: rows.len(), lost: lost.len() };
        if store && !rows.is_empty() {
            self.app.commit(rows, render_deal).await?;
        }
        if store && !lost.is_empty() {
            self.app.commit_lost(lost, render_lost).await?;
        }
        Ok(done)
    }

    /// Ends a stored session: wakes the alert evaluator.
    pub fn finish(self) {
        self.app.after_ingestion();
    }
}

/// The rows whose keys nothing stored yet; the others counted in `sifted`
/// (stored already) or named there (their id used for another row).
async fn sift<T>(
    db: &sea_orm::DatabaseConnection,
    rows: Vec<T>,
    key: impl Fn(&T) -> (&IdempotencyKey, usize),
    sifted: &mut Sifted,
) -> ServiceResult<Vec<T>> {
    let keys: Vec<&IdempotencyKey> = rows.iter().map(|r| key(r).0).collect();
    let seen = IdempotencyKey::seen_many(db, &keys).await?;
    let mut kept = Vec::with_capacity(rows.len());
    for (r, s) in rows.into_iter().zip(seen) {
        match s {
            Ok(false) => kept.push(r),
            Ok(true) => sifted.stored += 1,
            Err(e) => sifted.conflicts.push((key(&r).1, request_id_fault(e))),
        }
    }
    Ok(kept)
}

/// A request id taken by another row, as that row's error.
fn request_id_fault(e: ServiceError) -> ServiceError {
    ServiceError::invalid("request_id", e.to_string())
}

/// A row's own fault (bad input, out of scope) is reported with the row;
/// anything else ends the import.
fn row_fault(e: ServiceError) -> ServiceResult<ServiceError> {
    match e {
        e @ (ServiceError::InvalidArgument(_) | ServiceError::PermissionDenied(_)) => Ok(e),
        other => Err(other),
    }
}

impl App {
    /// Stores lost deals in one transaction, each once: a replayed key
    /// stores nothing again.
    async fn commit_lost<O: Message + Default>(
        &self,
        rows: Vec<LostRow>,
        render: fn(&Opportunity) -> O,
    ) -> ServiceResult<()> {
        let txn = attain_kit::db::begin_write(&self.db).await?;
        let keys: Vec<&IdempotencyKey> = rows.iter().map(|r| &r.key).collect();
        let previous = IdempotencyKey::replay_many::<O>(&txn, &keys).await?;
        let mut entries = Vec::new();
        for (r, prev) in rows.iter().zip(previous) {
            if prev.is_none() {
                opportunities::insert_opportunity(&txn, &r.opportunity).await?;
                entries.push((&r.key, render(&r.opportunity).encode_to_vec()));
            }
        }
        IdempotencyKey::record_many(&txn, &entries).await?;
        txn.commit().await?;
        Ok(())
    }
}

/// The units a caller may see, to read a rep cell written as a unit id or
/// a person's name.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    units: HashMap<String, UnitInfo>,
    /// Reps by normalised display name.
    by_name: HashMap<String, Vec<Id>>,
    /// Reps by employee code (unique across the org).
    by_code: HashMap<String, Id>,
}

/// A name as compared: trimmed, full-width folded, spaces collapsed,
/// case ignored.
fn name_key(name: &str) -> String {
    let folded: String = name
        .chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

impl Directory {
    pub fn new(units: Vec<UnitInfo>) -> Self {
        let mut by_name: HashMap<String, Vec<Id>> = HashMap::new();
        for u in units.iter().filter(|u| u.is_rep && !u.display_name.trim().is_empty()) {
            by_name.entry(name_key(&u.display_name)).or_default().push(u.id.clone());
        }
        let by_code =
            units.iter().filter_map(|u| u.employee_code.as_ref().map(|c| (name_key(c), u.id.clone()))).collect();
        let units = units.into_iter().map(|u| (u.id.as_str().to_owned(), u)).collect();
        Self { units, by_name, by_code }
    }

    /// The unit a rep cell names: a unit id ("rep-1" or "units/rep-1"), an
    /// employee code, or a rep's display name, unique in the caller's
    /// scope. An id outside the scope passes through, for the deal's own
    /// check to refuse.
    pub fn resolve(&self, cell: &str) -> Result<Id, String> {
        let text = cell.trim();
        let bare = text.strip_prefix("units/").unwrap_or(text);
        if let Some(u) = self.units.get(bare) {
            return Ok(u.id.clone());
        }
        if let Some(id) = self.by_code.get(&name_key(text)) {
            // A code that is also someone's name is not taken on trust.
            match self.by_name.get(&name_key(text)) {
                Some(named) if named.iter().any(|n| n != id) => {
                    let mut list: Vec<String> = named.iter().map(|n| self.described(n)).collect();
                    list.push(format!("{} (employee code {text})", id.resource_name()));
                    return Err(format!("{text} could be {}: write the unit id instead", list.join(" or ")));
                }
                _ => return Ok(id.clone()),
            }
        }
        match self.by_name.get(&name_key(text)).map(Vec::as_slice) {
            Some([one]) => return Ok(one.clone()),
            Some(many) if many.len() > 1 => {
                let list: Vec<String> = many.iter().map(|id| self.described(id)).collect();
                return Err(format!("{text} could be {}: write the unit id instead", list.join(" or ")));
            }
            _ => {}
        }
        if let Ok(id) = Id::parse("rep", bare) {
            return Ok(id);
        }
        let key = name_key(text);
        let mut near: Vec<String> = self
            .by_name
            .iter()
            .filter(|(name, _)| !key.is_empty() && (name.contains(&key) || key.contains(name.as_str())))
            .flat_map(|(_, ids)| ids.iter().map(|id| self.described(id)))
            .collect();
        near.sort();
        near.truncate(5);
        let hint = if near.is_empty() { String::new() } else { format!(" (did you mean {}?)", near.join(", ")) };
        Err(format!("no rep named {text} in your scope{hint}"))
    }

    /// A rep's display name, if known.
    pub fn display_name(&self, id: &Id) -> String {
        self.units.get(id.as_str()).map(|u| u.display_name.clone()).unwrap_or_default()
    }

    /// "units/rep-1 (张伟, 华东 A 队)": the rep and where it sits.
    fn described(&self, id: &Id) -> String {
        let unit = self.units.get(id.as_str());
        let name = unit.map(|u| u.display_name.as_str()).unwrap_or_default();
        let parent = unit
            .and_then(|u| u.parent.as_ref())
            .and_then(|p| self.units.get(p.as_str()))
            .map(|p| format!(", {}", p.display_name))
            .unwrap_or_default();
        format!("{} ({name}{parent})", id.resource_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: &str, parent: Option<&str>, rep: bool, name: &str) -> UnitInfo {
        let employee_code = (id == "rep-4").then(|| "E1024".to_owned());
        let id = Id::parse("id", id).unwrap();
        UnitInfo {
            parent: parent.map(|p| Id::parse("p", p).unwrap()),
            path: vec![id.clone()],
            id,
            is_rep: rep,
            kind: if rep { attain_target_client::UnitKind::Rep } else { attain_target_client::UnitKind::Team },
            display_name: name.into(),
            start_date: None,
            end_date: None,
            employee_code,
            former: Vec::new(),
        }
    }

    #[test]
    fn people_by_id_or_by_name() {
        let d = Directory::new(vec![
            unit("team-a", None, false, "华东 A 队"),
            unit("team-b", None, false, "华南 B 队"),
            unit("rep-1", Some("team-a"), true, "张伟"),
            unit("rep-2", Some("team-a"), true, "王芳"),
            unit("rep-3", Some("team-b"), true, "王芳"),
            unit("rep-4", Some("team-b"), true, "Liu Yang"),
        ]);
        let id = |s: &str| Id::parse("id", s).unwrap();
        assert_eq!(d.resolve("张伟").unwrap(), id("rep-1"));
        assert_eq!(d.resolve(" units/rep-1 ").unwrap(), id("rep-1"));
        assert_eq!(d.resolve("liu  yang").unwrap(), id("rep-4"));
        assert_eq!(d.resolve("e1024").unwrap(), id("rep-4"), "by employee code");
        let both = d.resolve("王芳").unwrap_err();
        assert!(both.contains("units/rep-2 (王芳, 华东 A 队)") && both.contains("units/rep-3"), "{both}");
        // An id not in scope passes through (the deal check refuses it).
        assert_eq!(d.resolve("rep-9").unwrap(), id("rep-9"));
        let unknown = d.resolve("张").unwrap_err();
        assert!(unknown.contains("no rep named 张") && unknown.contains("units/rep-1"), "{unknown}");
    }
}
