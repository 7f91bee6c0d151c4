//! Ingestion: one deal, an atomic batch, a stream; reversals; reads.
//! Every write carries a request id: a retry with the same payload returns
//! the first result, another payload under the same id is ALREADY_EXISTS.

use std::collections::{HashMap, HashSet};

use attain_kit::context::Ctx;
use attain_kit::scope::{hidden, reveal};
use attain_kit::{
    FieldViolation, ServiceError, ServiceResult,
    auth::{Identity, Role},
    id::Id,
    idempotency::IdempotencyKey,
    money::CurrencyCode,
    paging::PageRequest,
    period::Period,
    upstream::Forwarded,
};
use attain_proto::attain::tracking::v1 as pb;
use attain_target_client::{PlanInfo, UnitInfo, plan_for};
use chrono::Utc;
use futures::StreamExt;
use tonic::Streaming;
use tracing::Instrument;

use super::{TrackingApi, convert};
use crate::{
    domain::{
        credit::{Credit, check_shares, split_amount},
        deal::{Deal, DealKind, NewDeal},
    },
    storage::{deals, rollups},
};

/// A row ready to store (or replay).
pub(crate) struct Prepared {
    row: usize,
    key: IdempotencyKey,
    deal: Deal,
}

impl Prepared {
    /// The booked paths whose figures this row moves.
    pub(crate) fn credited_paths(&self) -> Vec<Vec<Id>> {
        self.deal.credited_paths()
    }
}

/// Why a deal's rep could not be looked up.
#[derive(Debug, Clone)]
struct LookupError {
    /// The target service hid it from the caller (out of scope).
    hidden: bool,
    why: String,
}

/// Who may record deals for a rep: an admin, a manager above it, the rep.
pub(crate) fn may_write(who: &Identity, rep: &UnitInfo) -> bool {
    match who.role {
        Role::Rep => who.unit == rep.id.as_str(),
        Role::Viewer => false,
        Role::Admin | Role::Manager => who.can_manage(&rep.path_strings()),
    }
}

/// Per-call caches of what the target service told us.
#[derive(Default)]
pub(crate) struct Lookups {
    units: HashMap<Id, Result<UnitInfo, LookupError>>,
    plans: Option<Vec<PlanInfo>>,
}

impl TrackingApi {
    async fn lookup_unit(&self, fwd: &Forwarded, cache: &mut Lookups, id: &Id) -> Result<UnitInfo, LookupError> {
        if let Some(hit) = cache.units.get(id) {
            return hit.clone();
        }
        let got = self.target.unit(fwd, id).await.map_err(|e| match e {
            ServiceError::Upstream(s) if s.code() == tonic::Code::PermissionDenied => {
                LookupError { hidden: true, why: s.message().to_owned() }
            }
            ServiceError::Upstream(s) => {
                LookupError { hidden: false, why: format!("{}: {}", id.resource_name(), s.message()) }
            }
            other => LookupError { hidden: false, why: other.to_string() },
        });
        cache.units.insert(id.clone(), got.clone());
        got
    }

    /// Fills the cache with every rep the requests name in one batch read
    /// instead of one call per rep. If any is missing or hidden the read
    /// fails and caches nothing: each row's own lookup then finds its own
    /// error, as without the prefetch.
    pub(crate) async fn prefetch_reps<'a>(
        &self,
        fwd: &Forwarded,
        cache: &mut Lookups,
        requests: impl IntoIterator<Item = &'a pb::CreateDealRequest>,
    ) {
        let ids: HashSet<Id> = requests
            .into_iter()
            .filter_map(|r| r.deal.as_ref())
            .flat_map(|d| std::iter::once(d.rep.as_str()).chain(d.credits.iter().map(|c| c.rep.as_str())))
            .filter_map(|name| Id::from_name("rep", name).ok())
            .filter(|id| !cache.units.contains_key(id))
            .collect();
        let ids: Vec<Id> = ids.into_iter().collect();
        if let Ok(units) = self.target.units(fwd, &ids).await {
            for u in units {
                cache.units.insert(u.id.clone(), Ok(u));
            }
        }
    }

    async fn plans(&self, fwd: &Forwarded, cache: &mut Lookups) -> ServiceResult<Vec<PlanInfo>> {
        if cache.plans.is_none() {
            cache.plans = Some(self.target.plans(fwd).await?);
        }
        Ok(cache.plans.clone().unwrap_or_default())
    }

    /// Validates one request: the deal itself, its rep, the caller's right
    /// to write for it, and the plan that covers its date.
    pub(crate) async fn prepare_one(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        cache: &mut Lookups,
        field: &str,
        row: usize,
        mut r: pb::CreateDealRequest,
    ) -> ServiceResult<Prepared> {
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::required(&who.person, "CreateDeal", &format!("{field}.request_id"), &request_id, &r)?;
        let new = convert::new_deal(&format!("{field}.deal"), r.deal.as_ref())?;
        new.check(&format!("{field}.deal"), self.clock.today())?;
        let rep = self.lookup_unit(fwd, cache, &new.rep).await.map_err(|e| match e.hidden {
            // Out of scope (or missing, which non-admins cannot tell apart).
            true => ServiceError::PermissionDenied(format!("{field}.deal.rep: {}", e.why)),
            false => ServiceError::invalid(format!("{field}.deal.rep"), e.why),
        })?;
        if !rep.is_rep {
            return Err(ServiceError::invalid(
                format!("{field}.deal.rep"),
                format!("{} is not a REP unit", rep.id.resource_name()),
            ));
        }
        if !may_write(who, &rep) {
            return Err(ServiceError::PermissionDenied(format!(
                "{field}: you may not record deals for {}",
                rep.id.resource_name()
            )));
        }
        let plans = self.plans(fwd, cache).await?;
        let plan = plan_for(&plans, &rep.path, new.close_date).ok_or_else(|| {
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
        let mut deal = sale(new, currency, rep.path, &request_id, &who.person);
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
                self.lookup_unit(fwd, cache, &share.rep).await.map_err(|e| match e.hidden {
                    true => ServiceError::PermissionDenied(format!("{f}: {}", e.why)),
                    false => ServiceError::invalid(&f, e.why),
                })?
            };
            if !rep.is_rep {
                return Err(ServiceError::invalid(f, format!("{} is not a REP unit", rep.id.resource_name())));
            }
            if !may_write(who, &rep) {
                return Err(ServiceError::PermissionDenied(format!(
                    "{f}: you may not credit deals to {}",
                    rep.id.resource_name()
                )));
            }
            let plans = self.plans(fwd, cache).await?;
            if plan_for(&plans, &rep.path, new.close_date).map(|p| p.name.as_str()) != Some(plan) {
                return Err(ServiceError::invalid(
                    f,
                    format!("{} is outside the deal's scope: {plan} does not cover it", rep.id.resource_name()),
                ));
            }
            out.push(Credit { rep: rep.id, percent: share.percent, amount, booked_path: rep.path });
        }
        Ok(out)
    }

    /// Stores prepared rows in one transaction: replays come back as they
    /// were first stored, new rows are inserted with their roll-ups.
    /// Returns each row's deal and whether it was a replay.
    pub(crate) async fn commit(&self, rows: Vec<Prepared>) -> ServiceResult<Vec<(usize, pb::Deal, bool)>> {
        let txn = attain_kit::db::begin_write(&self.db).await?;
        let mut out = Vec::with_capacity(rows.len());
        let keys: Vec<&IdempotencyKey> = rows.iter().map(|p| &p.key).collect();
        let previous = IdempotencyKey::replay_many::<pb::Deal>(&txn, &keys).await?;
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
        let wires: Vec<pb::Deal> = fresh.iter().map(|p| convert::deal(&p.deal)).collect();
        let entries: Vec<(&IdempotencyKey, Vec<u8>)> =
            fresh.iter().zip(&wires).map(|(p, w)| (&p.key, prost::Message::encode_to_vec(w))).collect();
        IdempotencyKey::record_many(&txn, &entries).await?;
        for (p, wire) in fresh.iter().zip(wires) {
            out.push((p.row, wire, false));
        }
        txn.commit().await?;
        out.sort_by_key(|(row, _, _)| *row);
        Ok(out)
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

/// Validates a whole batch, naming every bad row; nothing is stored unless
/// every row is good.
async fn prepare_all(
    api: &TrackingApi,
    who: &Identity,
    fwd: &Forwarded,
    requests: Vec<pb::CreateDealRequest>,
) -> ServiceResult<Vec<Prepared>> {
    if requests.is_empty() {
        return Err(ServiceError::invalid("requests", "is empty"));
    }
    if requests.len() > api.max_batch_rows {
        return Err(ServiceError::invalid(
            "requests",
            format!("{} rows is over the limit of {} per batch", requests.len(), api.max_batch_rows),
        ));
    }
    let mut cache = Lookups::default();
    let mut seen = HashSet::new();
    let mut ok = Vec::with_capacity(requests.len());
    api.prefetch_reps(fwd, &mut cache, &requests).await;
    let mut bad = Vec::new();
    // Rows refused only for scope make the batch PERMISSION_DENIED (as a
    // single deal would be); any malformed row makes it INVALID_ARGUMENT.
    let mut malformed = false;
    for (i, r) in requests.into_iter().enumerate() {
        let field = format!("requests[{i}]");
        if !r.request_id.is_empty() && !seen.insert(r.request_id.clone()) {
            malformed = true;
            bad.push(FieldViolation::new(
                format!("{field}.request_id"),
                format!("{:?} appears twice in the batch", r.request_id),
            ));
            continue;
        }
        match api.prepare_one(who, fwd, &mut cache, &field, i, r).await {
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
    Ok(ok)
}

impl TrackingApi {
    pub(crate) async fn create_deal(&self, ctx: Ctx, r: pb::CreateDealRequest) -> ServiceResult<pb::Deal> {
        let Ctx { who, fwd } = ctx;
        let mut cache = Lookups::default();
        let p = self
            .prepare_one(&who, &fwd, &mut cache, "request", 0, r)
            .await
            .map_err(|e| rename_fields(e, "request.", ""))?;
        let affected = p.credited_paths();
        let (_, deal, _) =
            self.commit(vec![p]).await?.pop().ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("no row")))?;
        self.after_ingestion(&who, &fwd, affected).await;
        Ok(deal)
    }

    pub(crate) async fn batch_create_deals(
        &self,
        ctx: Ctx,
        request: pb::BatchCreateDealsRequest,
    ) -> ServiceResult<pb::BatchCreateDealsResponse> {
        let Ctx { who, fwd } = ctx;
        let prepared = prepare_all(self, &who, &fwd, request.requests).await?;
        let affected = prepared.iter().flat_map(Prepared::credited_paths).collect();
        let stored = self.commit(prepared).await?;
        self.after_ingestion(&who, &fwd, affected).await;
        Ok(pb::BatchCreateDealsResponse { deals: stored.into_iter().map(|(_, d, _)| d).collect() })
    }

    /// Commits every `STREAM_CHUNK` rows; bad rows are reported and skipped,
    /// good ones are kept.
    pub(crate) async fn stream_deals(
        &self,
        ctx: Ctx,
        mut stream: Streaming<pb::StreamDealsRequest>,
    ) -> ServiceResult<pb::StreamDealsResponse> {
        let Ctx { who, fwd } = ctx;
        const STREAM_CHUNK: usize = 500;
        let mut cache = Lookups::default();
        let mut report = pb::StreamDealsResponse::default();
        let mut incoming: Vec<(usize, pb::CreateDealRequest)> = Vec::with_capacity(STREAM_CHUNK);
        let mut affected = Vec::new();
        let mut seen = HashSet::new();
        let mut row = 0usize;
        // The previous chunk commits while this one is read and checked:
        // the database's time and the service's own overlap.
        let mut committing: Option<Committing> = None;
        loop {
            let next = stream.next().await;
            let end = next.is_none();
            if let Some(item) = next {
                match item?.request {
                    None => report.errors.push(row_error(row, "request", "is required")),
                    Some(r) if !r.request_id.is_empty() && !seen.insert(r.request_id.clone()) => {
                        report.errors.push(row_error(row, "request_id", "appears twice in the stream"));
                    }
                    Some(r) => incoming.push((row, r)),
                }
                row += 1;
            }
            if incoming.len() >= STREAM_CHUNK || (end && !incoming.is_empty()) {
                self.prefetch_reps(&fwd, &mut cache, incoming.iter().map(|(_, r)| r)).await;
                let mut pending = Vec::with_capacity(incoming.len());
                for (row, r) in incoming.drain(..) {
                    let field = format!("row {row}");
                    match self.prepare_one(&who, &fwd, &mut cache, &field, row, r).await {
                        Ok(p) => {
                            affected.extend(p.credited_paths());
                            pending.push(p);
                        }
                        Err(ServiceError::InvalidArgument(v)) => {
                            report.errors.extend(v.into_iter().map(|f| {
                                row_error(row, f.field.trim_start_matches(&format!("{field}.")), &f.description)
                            }));
                        }
                        Err(ServiceError::PermissionDenied(m)) => report.errors.push(row_error(row, "deal.rep", &m)),
                        Err(e) => return Err(e),
                    }
                }
                if !pending.is_empty() {
                    settle(&mut report, committing.take()).await?;
                    let api = self.clone();
                    let commit = async move { api.commit(pending).await };
                    committing = Some(tokio::spawn(commit.instrument(tracing::Span::current())));
                }
            }
            if end {
                break;
            }
        }
        settle(&mut report, committing.take()).await?;
        // Rows are checked a chunk at a time: report them in stream order.
        report.errors.sort_by_key(|e| e.row);
        self.after_ingestion(&who, &fwd, affected).await;
        Ok(report)
    }

    pub(crate) async fn reverse_deal(
        &self,
        ctx: Ctx,
        mut r: pb::ReverseDealRequest,
    ) -> ServiceResult<pb::ReverseDealResponse> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::required(&who.person, "ReverseDeal", "request_id", &request_id, &r)?;
        let id = deal_id("name", &r.name)?;
        let mut cache = Lookups::default();
        let replacement = match r.replacement.take() {
            Some(d) => {
                let req = pb::CreateDealRequest { deal: Some(d), request_id: format!("{request_id}/replacement") };
                Some(
                    self.prepare_one(&who, &fwd, &mut cache, "replacement", 0, req)
                        .await
                        .map_err(|e| rename_fields(e, "replacement.deal.", "replacement."))?,
                )
            }
            None => None,
        };
        let txn = attain_kit::db::begin_write(&self.db).await.map_err(ServiceError::from)?;
        if let Some(previous) = key.replay::<pb::ReverseDealResponse>(&txn).await? {
            return Ok(previous);
        }
        let original = reveal(&who, "deal", &r.name, deals::get(&txn, &id).await?, |d| readable(&who, d))?;
        let rep = self.lookup_unit(&fwd, &mut cache, &original.rep).await;
        let allowed = match &rep {
            // A split deal moves every credited rep's figures: the caller
            // must be allowed to write for each where it was booked.
            Ok(u) => {
                may_write(&who, u)
                    && original.credits.iter().all(|c| {
                        c.rep == original.rep
                            || (who.role != Role::Rep && who.can_manage(&path_strings(&c.booked_path)))
                    })
            }
            // The rep may have left the org: judge by where it was booked.
            Err(_) => who.is_admin(),
        };
        if !allowed {
            return Err(ServiceError::PermissionDenied(format!("you may not correct {}", r.name)));
        }
        let reversal = original.reversal(&who.person, &request_id, Utc::now())?;
        if !deals::mark_reversed(&txn, &original.id, &reversal.id).await? {
            return Err(ServiceError::precondition("ALREADY_REVERSED", format!("{} was already reversed", r.name)));
        }
        let mut stored = vec![reversal.clone()];
        if let Some(p) = &replacement {
            stored.push(p.deal.clone());
        }
        deals::insert_many(&txn, &stored).await?;
        rollups::add(&txn, &stored).await?;
        let response = pb::ReverseDealResponse {
            reversal: Some(convert::deal(&reversal)),
            replacement: replacement.as_ref().map(|p| convert::deal(&p.deal)),
        };
        key.record(&txn, &response).await?;
        txn.commit().await.map_err(ServiceError::from)?;
        self.after_ingestion(&who, &fwd, stored.iter().flat_map(Deal::credited_paths).collect()).await;
        Ok(response)
    }

    pub(crate) async fn get_deal(&self, ctx: Ctx, request: pb::GetDealRequest) -> ServiceResult<pb::Deal> {
        let who = ctx.who;
        let name = &request.name;
        let id = deal_id("name", name)?;
        let deal = reveal(&who, "deal", name, deals::get(&self.db, &id).await?, |d| readable(&who, d))?;
        Ok(convert::deal(&deal))
    }

    pub(crate) async fn list_deals(&self, ctx: Ctx, r: pb::ListDealsRequest) -> ServiceResult<pb::ListDealsResponse> {
        let Ctx { who, fwd } = ctx;
        let page = PageRequest::parse(
            r.page_size,
            &r.page_token,
            &format!("ListDeals {} {} {:?}", r.unit, r.period, r.as_of),
            &who,
        )?;
        let unit = self.target.unit(&fwd, &Id::from_name("unit", &r.unit)?).await?;
        if !who.can_read(&unit.path_strings()) {
            return Err(hidden(&r.unit));
        }
        // Periods here are calendar-based (a fiscal year starting in January).
        let dates = if r.period.is_empty() {
            None
        } else {
            Some(Period::parse("period", &r.period, 1)?).map(|p| (p.start, p.end))
        };
        let as_of = r
            .as_of
            .as_ref()
            .map(|t| chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
            .map(|t| t.ok_or_else(|| ServiceError::invalid("as_of", "is out of range")))
            .transpose()?;
        let mut rows = deals::list(
            &self.db,
            &unit.path,
            deals::Window { dates, as_of, recorded_after: None },
            page.after.as_deref(),
            page.fetch_limit(),
        )
        .await?;
        let next_page_token = page.finish(&mut rows, |d| d.id.as_str().to_owned());
        Ok(pb::ListDealsResponse { deals: rows.iter().map(convert::deal).collect(), next_page_token })
    }
}

/// A stream chunk's commit under way.
type Committing = tokio::task::JoinHandle<ServiceResult<Vec<(usize, pb::Deal, bool)>>>;

/// Waits for a chunk's commit and counts its rows.
async fn settle(report: &mut pb::StreamDealsResponse, commit: Option<Committing>) -> ServiceResult<()> {
    let Some(commit) = commit else { return Ok(()) };
    let stored = commit.await.map_err(|e| ServiceError::Internal(anyhow::anyhow!("a commit task ended: {e}")))??;
    for (_, _, replay) in stored {
        if replay {
            report.duplicates += 1;
        } else {
            report.accepted += 1;
        }
    }
    Ok(())
}

fn row_error(row: usize, field: &str, description: &str) -> pb::RowError {
    pb::RowError {
        row: i64::try_from(row).unwrap_or(i64::MAX),
        field: field.to_owned(),
        description: description.to_owned(),
    }
}

/// A deal is visible to whoever may read its rep or any credited rep.
fn readable(who: &Identity, d: &Deal) -> bool {
    who.can_read(&path_strings(&d.booked_path)) || d.credits.iter().any(|c| who.can_read(&path_strings(&c.booked_path)))
}

fn path_strings(path: &[Id]) -> Vec<String> {
    path.iter().map(|p| p.as_str().to_owned()).collect()
}

fn deal_id(field: &str, name: &str) -> ServiceResult<Id> {
    match name.strip_prefix("deals/") {
        Some(id) => Ok(Id::parse(field, id)?),
        None => Err(ServiceError::invalid(field, format!("{name:?} is not a deal name (deals/{{deal_id}})"))),
    }
}

/// Renames violated fields from the row form ("request.deal.amount") to
/// the request's own ("deal.amount").
fn rename_fields(e: ServiceError, from: &str, to: &str) -> ServiceError {
    match e {
        ServiceError::InvalidArgument(v) => ServiceError::InvalidArgument(
            v.into_iter()
                .map(|f| {
                    let field = match f.field.strip_prefix(from) {
                        Some(rest) => format!("{to}{rest}"),
                        None => f.field,
                    };
                    FieldViolation::new(field, f.description)
                })
                .collect(),
        ),
        other => other,
    }
}
