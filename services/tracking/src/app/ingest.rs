//! Ingestion: a deal, an atomic batch, a stream committed in chunks, and
//! reversals. Rows arrive parsed (`Row`); each is checked against its rep,
//! the caller's right to write for it and the plan covering its date, then
//! stored with its roll-ups in one transaction per batch or chunk. Replays
//! come back as first stored: the caller's `render` makes the stored
//! response, so this module never names a wire message.

use std::collections::{HashMap, HashSet};

use attain_kit::{
    FieldViolation, ServiceError, ServiceResult,
    auth::{Identity, Role},
    id::Id,
    idempotency::IdempotencyKey,
    money::CurrencyCode,
    scope::reveal,
    upstream::Forwarded,
};
use attain_target_client::{PlanInfo, UnitInfo, plan_for};
use chrono::Utc;
use futures::{Stream, StreamExt};
use prost::Message;
use tracing::Instrument;

use super::App;
use crate::{
    domain::{
        credit::{Credit, check_shares, split_amount},
        deal::{Deal, DealKind, NewDeal},
    },
    storage::{customer_firsts, deals, rollups},
};

/// A request row parsed: its idempotency key, its request id and the deal.
#[derive(Debug, Clone)]
pub struct Row {
    pub key: IdempotencyKey,
    pub request_id: String,
    pub new: NewDeal,
}

/// A row ready to store (or replay).
pub struct Prepared {
    pub(super) row: usize,
    pub(super) key: IdempotencyKey,
    pub(super) deal: Deal,
}

/// Rows of a stream, counted as committed, and the rows refused.
#[derive(Debug, Default)]
pub struct StreamReport {
    pub accepted: i64,
    pub duplicates: i64,
    /// (row, field within the row, why)
    pub errors: Vec<(usize, String, String)>,
}

/// Why a deal's rep could not be looked up.
#[derive(Debug, Clone)]
enum LookupError {
    /// The target service hid it from the caller (out of scope).
    Hidden(String),
    /// It is no rep the caller may name (missing, malformed).
    Invalid(String),
    /// The target service did not answer: the request may be retried, and
    /// no row is at fault (never cached).
    Passing(String),
}

/// Who may record deals for a rep: an admin, a manager above it, the rep.
pub fn may_write(who: &Identity, rep: &UnitInfo) -> bool {
    match who.role {
        Role::Rep => who.unit == rep.id.as_str(),
        Role::Viewer => false,
        Role::Admin | Role::Manager => who.can_manage(&rep.path),
    }
}

/// A record dated `day` books where the rep sat then: a manager records it
/// only if that place is its to manage (a rep that moved in from another
/// team keeps its earlier days in that team's books).
pub(super) fn may_book(who: &Identity, rep: &UnitInfo, day: chrono::NaiveDate, field: &str) -> ServiceResult<()> {
    let path = rep.path_on(day);
    let ok = match who.role {
        Role::Rep => who.unit == rep.id.as_str(),
        Role::Viewer => false,
        Role::Admin | Role::Manager => who.can_manage(path),
    };
    if ok {
        return Ok(());
    }
    let place = path.len().checked_sub(2).and_then(|i| path.get(i)).map_or_else(String::new, Id::resource_name);
    Err(ServiceError::PermissionDenied(format!(
        "{field}: {} sat in {place} on {day}, outside your scope; that day is its manager's to record",
        rep.id.resource_name()
    )))
}

/// A rep logs only the days of its working life: no obligation falls
/// outside them, and a log there would count as activity it never had.
pub(super) fn worked_then(rep: &UnitInfo, day: chrono::NaiveDate, field: &str) -> ServiceResult<()> {
    match rep.start_date {
        Some(start) if day < start => Err(ServiceError::invalid(
            field,
            format!("{} started on {start}: a log of {day} is not theirs", rep.id.resource_name()),
        )),
        Some(_) | None => match rep.end_date {
            Some(end) if day > end => Err(ServiceError::invalid(
                field,
                format!("{} left on {end}: a log of {day} is not theirs", rep.id.resource_name()),
            )),
            _ => Ok(()),
        },
    }
}

/// A rep who has left books nothing that closed after its last day.
pub(super) fn still_there(rep: &UnitInfo, close: chrono::NaiveDate, field: &str) -> ServiceResult<()> {
    match rep.end_date {
        Some(end) if close > end => Err(ServiceError::invalid(
            field,
            format!("{} left on {end}: a deal closing on {close} is not theirs", rep.id.resource_name()),
        )),
        _ => Ok(()),
    }
}

/// A deal is visible to whoever may read its rep or any credited rep.
pub fn readable(who: &Identity, d: &Deal) -> bool {
    who.can_read(&d.booked_path) || d.credits.iter().any(|c| who.can_read(&c.booked_path))
}

/// Per-call caches of what the target service told us.
#[derive(Default)]
pub(super) struct Lookups {
    units: HashMap<Id, Result<UnitInfo, LookupError>>,
    plans: Option<Vec<PlanInfo>>,
}

/// A stream chunk's commit under way.
type Committing = tokio::task::JoinHandle<ServiceResult<Vec<(usize, bool)>>>;

/// Rows a stream commits at a time.
const STREAM_CHUNK: usize = 500;

impl App {
    async fn lookup_unit(&self, fwd: &Forwarded, cache: &mut Lookups, id: &Id) -> Result<UnitInfo, LookupError> {
        if let Some(hit) = cache.units.get(id) {
            return hit.clone();
        }
        use tonic::Code;
        let got = self.target.unit(fwd, id).await.map_err(|e| match e {
            ServiceError::Upstream(s) if s.code() == Code::PermissionDenied => {
                LookupError::Hidden(s.message().to_owned())
            }
            ServiceError::Upstream(s) if matches!(s.code(), Code::NotFound | Code::InvalidArgument) => {
                LookupError::Invalid(format!("{}: {}", id.resource_name(), s.message()))
            }
            other => LookupError::Passing(other.to_string()),
        });
        if !matches!(got, Err(LookupError::Passing(_))) {
            cache.units.insert(id.clone(), got.clone());
        }
        got
    }

    /// Fills the cache with every rep the rows name in one batch read
    /// instead of one call per rep. If any is missing or hidden the read
    /// fails and caches nothing: each row's own lookup then finds its own
    /// error, as without the prefetch.
    pub(super) async fn prefetch_reps<'a>(
        &self,
        fwd: &Forwarded,
        cache: &mut Lookups,
        rows: impl Iterator<Item = &'a NewDeal>,
    ) {
        let ids: HashSet<Id> = rows
            .flat_map(|d| std::iter::once(&d.rep).chain(d.shares.iter().map(|s| &s.rep)))
            .filter(|id| !cache.units.contains_key(*id))
            .cloned()
            .collect();
        let ids: Vec<Id> = ids.into_iter().collect();
        if let Ok(units) = self.target.units(fwd, &ids).await {
            for u in units {
                cache.units.insert(u.id.clone(), Ok(u));
            }
        }
    }

    pub(super) async fn plans(&self, fwd: &Forwarded, cache: &mut Lookups) -> ServiceResult<Vec<PlanInfo>> {
        if cache.plans.is_none() {
            cache.plans = Some(self.target.plans(fwd).await?);
        }
        Ok(cache.plans.clone().unwrap_or_default())
    }

    /// A rep the caller may `verb`: a lookup or kind error names `field`,
    /// a refusal names `deny_field`.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn writable_rep(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        cache: &mut Lookups,
        (field, deny_field): (&str, &str),
        id: &Id,
        verb: &str,
    ) -> ServiceResult<UnitInfo> {
        let rep = self.lookup_unit(fwd, cache, id).await.map_err(|e| match e {
            // Out of scope (or missing, which non-admins cannot tell apart).
            LookupError::Hidden(why) => ServiceError::PermissionDenied(format!("{field}: {why}")),
            LookupError::Invalid(why) => ServiceError::invalid(field, why),
            LookupError::Passing(why) => ServiceError::Unavailable(format!("checking {field}: {why}")),
        })?;
        if !rep.is_rep {
            return Err(ServiceError::invalid(field, format!("{} is not a REP unit", rep.id.resource_name())));
        }
        if !may_write(who, &rep) {
            return Err(ServiceError::PermissionDenied(format!(
                "{deny_field}: you may not {verb} {}",
                rep.id.resource_name()
            )));
        }
        Ok(rep)
    }

    /// Checks one row: the deal itself, its rep, the caller's right to
    /// write for it, and the plan that covers its date. `field` prefixes
    /// the errors ("requests[3]").
    pub(super) async fn prepare(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        cache: &mut Lookups,
        field: &str,
        row: usize,
        r: Row,
    ) -> ServiceResult<Prepared> {
        let Row { key, request_id, new } = r;
        new.check(&format!("{field}.deal"), self.today())?;
        let fields = (format!("{field}.deal.rep"), field);
        let rep = self.writable_rep(who, fwd, cache, (&fields.0, fields.1), &new.rep, "record deals for").await?;
        still_there(&rep, new.close_date, &format!("{field}.deal.close_date"))?;
        may_book(who, &rep, new.close_date, &format!("{field}.deal.close_date"))?;
        let plans = self.plans(fwd, cache).await?;
        // Booked where the rep sat on the close date, whenever entered.
        let path = rep.path_on(new.close_date).to_vec();
        let plan = plan_for(&plans, &path, new.close_date).ok_or_else(|| {
            ServiceError::invalid(
                format!("{field}.deal.close_date"),
                format!("no plan covers {} for {}", new.close_date, rep.id.resource_name()),
            )
        })?;
        let currency = new.currency.unwrap_or(plan.currency);
        if plan.currency != currency {
            return Err(ServiceError::invalid(
                format!("{field}.deal.amount.currency_code"),
                format!("{currency} is not the currency of {} ({})", plan.name, plan.currency),
            ));
        }
        let plan_name = plan.name.clone();
        let credits = self.credits(who, fwd, cache, &format!("{field}.deal"), &new, &rep, &plan_name).await?;
        let mut deal = sale(new, currency, path, &request_id, &who.person);
        deal.credits = credits;
        Ok(Prepared { row, key, deal })
    }

    /// Checks a deal's split credit and prices each share: every credited
    /// rep is a REP the caller may record deals for, under the same plan
    /// as the deal (the deal's scope); the shares sum to 100%.
    #[allow(clippy::too_many_arguments)]
    async fn credits(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        cache: &mut Lookups,
        field: &str,
        new: &NewDeal,
        owner: &UnitInfo,
        plan: &str,
    ) -> ServiceResult<Vec<Credit>> {
        if new.shares.is_empty() {
            return Ok(Vec::new());
        }
        let credits_field = format!("{field}.credits");
        check_shares(&credits_field, &new.rep, &new.shares)?;
        let amounts = split_amount(new.amount, &new.shares.iter().map(|s| s.percent).collect::<Vec<_>>())?;
        let mut out = Vec::with_capacity(new.shares.len());
        for (i, (share, amount)) in new.shares.iter().zip(amounts).enumerate() {
            let f = format!("{credits_field}[{i}].rep");
            let rep = if share.rep == owner.id {
                owner.clone()
            } else {
                self.writable_rep(who, fwd, cache, (&f, &f), &share.rep, "credit deals to").await?
            };
            still_there(&rep, new.close_date, &f)?;
            may_book(who, &rep, new.close_date, &f)?;
            let plans = self.plans(fwd, cache).await?;
            let path = rep.path_on(new.close_date).to_vec();
            if plan_for(&plans, &path, new.close_date).map(|p| p.name.as_str()) != Some(plan) {
                return Err(ServiceError::invalid(
                    f,
                    format!("{} is outside the deal's scope: {plan} does not cover it", rep.id.resource_name()),
                ));
            }
            out.push(Credit { rep: rep.id, percent: share.percent, amount, booked_path: path });
        }
        Ok(out)
    }

    /// Stores prepared rows in one transaction: replays come back as they
    /// were first stored, new rows are inserted with their roll-ups and
    /// `render`ed for replays to come. Each row's response and whether it
    /// was a replay, in row order.
    pub(super) async fn commit<R: Message + Default>(
        &self,
        rows: Vec<Prepared>,
        render: fn(&Deal) -> R,
    ) -> ServiceResult<Vec<(usize, R, bool)>> {
        let txn = attain_kit::db::begin_write(&self.db).await?;
        let mut out = Vec::with_capacity(rows.len());
        let keys: Vec<&IdempotencyKey> = rows.iter().map(|p| &p.key).collect();
        let previous = IdempotencyKey::replay_many::<R>(&txn, &keys).await?;
        let mut fresh = Vec::new();
        for (p, prev) in rows.into_iter().zip(previous) {
            match prev {
                Some(previous) => out.push((p.row, previous, true)),
                None => fresh.push(p),
            }
        }
        let new_deals: Vec<Deal> = fresh.iter().map(|p| p.deal.clone()).collect();
        deals::insert_many(&txn, &new_deals).await?;
        rollups::add(&txn, &new_deals).await?;
        customer_firsts::note_customers(&txn, &new_deals).await?;
        let responses: Vec<R> = new_deals.iter().map(render).collect();
        let entries: Vec<(&IdempotencyKey, Vec<u8>)> =
            fresh.iter().zip(&responses).map(|(p, w)| (&p.key, w.encode_to_vec())).collect();
        IdempotencyKey::record_many(&txn, &entries).await?;
        for (p, response) in fresh.iter().zip(responses) {
            out.push((p.row, response, false));
        }
        txn.commit().await?;
        self.metrics.deals_committed(fresh.len(), out.len() - fresh.len());
        out.sort_by_key(|(row, _, _)| *row);
        Ok(out)
    }

    /// One deal; `field` prefixes its errors.
    pub async fn create_deal<R: Message + Default>(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        field: &str,
        row: Row,
        render: fn(&Deal) -> R,
    ) -> ServiceResult<R> {
        let p = self.prepare(who, fwd, &mut Lookups::default(), field, 0, row).await?;
        let (_, deal, _) = self
            .commit(vec![p], render)
            .await?
            .pop()
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("no row")))?;
        self.after_ingestion();
        Ok(deal)
    }

    /// Every row or none: each bad row is named (`requests[i]…`); rows
    /// refused only for scope make the batch PERMISSION_DENIED (as a single
    /// deal would be), any malformed row INVALID_ARGUMENT.
    pub async fn create_deals<R: Message + Default>(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        rows: Vec<ServiceResult<Row>>,
        render: fn(&Deal) -> R,
    ) -> ServiceResult<Vec<R>> {
        if rows.is_empty() {
            return Err(ServiceError::invalid("requests", "is empty"));
        }
        if rows.len() > self.max_batch_rows {
            return Err(ServiceError::invalid(
                "requests",
                format!("{} rows is over the limit of {} per batch", rows.len(), self.max_batch_rows),
            ));
        }
        let mut cache = Lookups::default();
        self.prefetch_reps(fwd, &mut cache, rows.iter().filter_map(|r| r.as_ref().ok()).map(|r| &r.new)).await;
        let mut ok = Vec::with_capacity(rows.len());
        let mut bad = Vec::new();
        let mut malformed = false;
        for (i, r) in rows.into_iter().enumerate() {
            // Checked in slices, so a deadline can cut into a large batch.
            if i % 1000 == 999 {
                tokio::task::yield_now().await;
            }
            let field = format!("requests[{i}]");
            let prepared = match r {
                Ok(r) => self.prepare(who, fwd, &mut cache, &field, i, r).await,
                Err(e) => Err(e),
            };
            match prepared {
                Ok(p) => ok.push(p),
                Err(ServiceError::InvalidArgument(v)) => {
                    malformed = true;
                    bad.extend(v);
                }
                Err(ServiceError::PermissionDenied(m)) => bad.push(FieldViolation::new(field, m)),
                Err(e) => return Err(e),
            }
        }
        if !bad.is_empty() && !malformed {
            let rows: Vec<String> = bad.iter().map(|v| format!("{}: {}", v.field, v.description)).collect();
            return Err(ServiceError::PermissionDenied(rows.join("; ")));
        }
        if !bad.is_empty() {
            return Err(ServiceError::InvalidArgument(bad));
        }
        let stored = self.commit(ok, render).await?;
        self.after_ingestion();
        Ok(stored.into_iter().map(|(_, r, _)| r).collect())
    }

    /// Commits every `STREAM_CHUNK` rows; bad rows are reported (named
    /// `row {n}` by the parser) and skipped, good ones are kept. The
    /// previous chunk commits while the next is read and checked.
    pub async fn stream_deals<R: Message + Default + Send + 'static>(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        mut rows: impl Stream<Item = ServiceResult<(usize, ServiceResult<Row>)>> + Unpin,
        render: fn(&Deal) -> R,
    ) -> ServiceResult<StreamReport> {
        let mut cache = Lookups::default();
        let mut report = StreamReport::default();
        let mut incoming: Vec<(usize, Row)> = Vec::with_capacity(STREAM_CHUNK);
        let mut committing: Option<Committing> = None;
        loop {
            let next = rows.next().await.transpose()?;
            let end = next.is_none();
            match next {
                Some((row, Ok(r))) => incoming.push((row, r)),
                Some((row, Err(e))) => report_row(&mut report, row, e)?,
                None => {}
            }
            if incoming.len() >= STREAM_CHUNK || (end && !incoming.is_empty()) {
                self.prefetch_reps(fwd, &mut cache, incoming.iter().map(|(_, r)| &r.new)).await;
                let mut pending = Vec::with_capacity(incoming.len());
                for (row, r) in incoming.drain(..) {
                    match self.prepare(who, fwd, &mut cache, &format!("row {row}"), row, r).await {
                        Ok(p) => pending.push(p),
                        Err(e) => report_row(&mut report, row, e)?,
                    }
                }
                if !pending.is_empty() {
                    settle(&mut report, committing.take()).await?;
                    let app = self.clone();
                    let commit = async move {
                        let stored = app.commit(pending, render).await?;
                        Ok(stored.into_iter().map(|(row, _, replay)| (row, replay)).collect())
                    };
                    committing = Some(tokio::spawn(commit.instrument(tracing::Span::current())));
                }
            }
            if end {
                break;
            }
        }
        settle(&mut report, committing.take()).await?;
        // Rows are checked a chunk at a time: report them in stream order.
        report.errors.sort_by_key(|e| e.0);
        self.after_ingestion();
        Ok(report)
    }

    /// Reverses a stored deal (and books its replacement, if any) once per
    /// request id; `render` makes the response stored for replays.
    pub async fn reverse_deal<R: Message + Default>(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        key: IdempotencyKey,
        (id, name): (&Id, &str),
        replacement: Option<Row>,
        render: impl Fn(&Deal, Option<&Deal>) -> R,
    ) -> ServiceResult<R> {
        let mut cache = Lookups::default();
        let request_id = key.request_id().to_owned();
        let replacement = match replacement {
            Some(r) => Some(self.prepare(who, fwd, &mut cache, "replacement", 0, r).await?),
            None => None,
        };
        if let Some(previous) = key.replay::<R>(&self.db).await? {
            return Ok(previous);
        }
        // Who may correct it is asked of the target service before the
        // write transaction opens: no network call holds the write lock. A
        // deal's rep and credits never change, so the answer stays true.
        let original = reveal(who, "deal", name, deals::get(&self.db, id).await?, |d| readable(who, d))?;
        let allowed = match self.lookup_unit(fwd, &mut cache, &original.rep).await {
            // A split deal moves every credited rep's figures: the caller
            // must be allowed to write for each where it was booked.
            Ok(u) => {
                may_write(who, &u)
                    && original
                        .credits
                        .iter()
                        .all(|c| c.rep == original.rep || (who.role != Role::Rep && who.can_manage(&c.booked_path)))
            }
            Err(LookupError::Passing(why)) => return Err(ServiceError::Unavailable(why)),
            // The rep may have left the org: judge by where it was booked.
            Err(_) => who.is_admin(),
        };
        if !allowed {
            return Err(ServiceError::PermissionDenied(format!("you may not correct {name}")));
        }
        let txn = attain_kit::db::begin_write(&self.db).await?;
        if let Some(previous) = key.replay::<R>(&txn).await? {
            return Ok(previous);
        }
        let reversal = original.reversal(&who.person, &request_id, Utc::now())?;
        if !deals::mark_reversed(&txn, &original.id, &reversal.id).await? {
            return Err(ServiceError::precondition("ALREADY_REVERSED", format!("{name} was already reversed")));
        }
        let mut stored = vec![reversal.clone()];
        if let Some(p) = &replacement {
            stored.push(p.deal.clone());
        }
        deals::insert_many(&txn, &stored).await?;
        rollups::add(&txn, &stored).await?;
        customer_firsts::note_customers(&txn, &stored).await?;
        let response = render(&reversal, replacement.as_ref().map(|p| &p.deal));
        key.record(&txn, &response).await?;
        txn.commit().await?;
        self.after_ingestion();
        Ok(response)
    }

    /// A deal the caller may read.
    pub async fn deal(&self, who: &Identity, id: &Id, name: &str) -> ServiceResult<Deal> {
        reveal(who, "deal", name, deals::get(&self.db, id).await?, |d| readable(who, d))
    }

    /// Deals booked below `unit` (in any of its places `who` may read), a
    /// page at a time.
    pub async fn list_deals(
        &self,
        (who, unit): (&Identity, &UnitInfo),
        window: deals::Window,
        after: Option<&str>,
        limit: u64,
    ) -> ServiceResult<Vec<Deal>> {
        deals::list(&self.db, &App::places_for(who, unit), window, after, limit).await
    }
}

fn sale(new: NewDeal, currency: CurrencyCode, path: Vec<Id>, request_id: &str, actor: &str) -> Deal {
    Deal {
        id: Id::generate(),
        rep: new.rep,
        amount: new.amount,
        currency,
        close_date: new.close_date,
        customer: new.customer,
        dimensions: new.dimensions,
        opportunity: new.opportunity,
        kind: DealKind::Sale,
        reverses: None,
        reversed_by: None,
        booked_path: path,
        credits: Vec::new(),
        request_id: request_id.to_owned(),
        created_by: actor.to_owned(),
        create_time: Utc::now(),
    }
}

/// A refused stream row: its violations (fields relative to the row), or
/// a scope refusal on its rep; anything else ends the stream.
fn report_row(report: &mut StreamReport, row: usize, e: ServiceError) -> ServiceResult<()> {
    let prefix = format!("row {row}.");
    match e {
        ServiceError::InvalidArgument(v) => report
            .errors
            .extend(v.into_iter().map(|f| (row, f.field.trim_start_matches(&prefix).to_owned(), f.description))),
        ServiceError::PermissionDenied(m) => report.errors.push((row, "deal.rep".to_owned(), without_row(row, m))),
        e => return Err(e),
    }
    Ok(())
}

/// A refusal's message without the row field it starts with ("row 3: …",
/// "row 8.deal.rep: …"): the report names the row and the column itself
/// (it read "row 3, rep: row 3: you may not …").
pub(crate) fn without_row(row: usize, message: String) -> String {
    let head = format!("row {row}");
    match message.strip_prefix(&head).and_then(|rest| rest.split_once(": ")) {
        Some((field, why)) if field.is_empty() || field.starts_with('.') => why.to_owned(),
        _ => message,
    }
}

/// Waits for a chunk's commit and counts its rows.
async fn settle(report: &mut StreamReport, commit: Option<Committing>) -> ServiceResult<()> {
    let Some(commit) = commit else { return Ok(()) };
    let stored = commit.await.map_err(|e| ServiceError::Internal(anyhow::anyhow!("a commit task ended: {e}")))??;
    for (_, replay) in stored {
        if replay {
            report.duplicates += 1;
        } else {
            report.accepted += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::without_row;

    #[test]
    fn a_refusal_names_its_row_once() {
        let m = |s: &str| s.to_owned();
        assert_eq!(
            without_row(3, m("row 3: you may not record deals for units/x")),
            "you may not record deals for units/x"
        );
        assert_eq!(without_row(8, m("row 8.deal.rep: you may not record deals")), "you may not record deals");
        // Another row's name, or none, is the message itself.
        assert_eq!(without_row(3, m("row 31: other")), "row 31: other");
        assert_eq!(without_row(3, m("outside your scope")), "outside your scope");
    }
}
