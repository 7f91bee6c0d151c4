//! The calls, one method each.

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use attain_core::id::Id;
use attain_kit::{ServiceResult, data_version::Fetches, upstream::Forwarded};
use attain_proto::attain::{
    common::v1 as common,
    target::v1::{self as pb, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient},
};
use chrono::NaiveDate;
use futures::FutureExt;
use prost::Message as _;
use rust_decimal::Decimal;
use tonic::transport::Channel;

use crate::{
    cache::{AnswerCache, Key},
    expected::{AlertThresholds, DailyExpected, Expected, Slice, amount_of, day_of},
    plans::PlanInfo,
    units::{UnitInfo, UnitMove, UnitTree, id_of, unit_info, unit_move, unit_tree},
};

/// Units per BatchGetUnits / BatchGetExpectedAmounts call.
const BATCH: usize = 1000;

#[derive(Debug, Clone)]
pub struct TargetClient {
    org: OrgServiceClient<Channel>,
    targets: TargetServiceClient<Channel>,
    /// Answers kept per data version (`cache`).
    cache: Arc<AnswerCache>,
    /// This process's fetches of the version, shared by its requests.
    versions: Arc<Fetches>,
}

/// What the kept answers may weigh, encoded (in memory, decoded, about
/// three times as much): a dashboard's answers weigh 10–40 KB.
pub const CACHE_BUDGET: usize = 2 * 1024 * 1024;
/// How long a request (or a background job's context) reads at the
/// version it fetched before it fetches again.
const VERSION_AGE: Duration = Duration::from_secs(1);

/// The largest answer taken from the target service. A whole
/// organisation's subtree is 6.2 MB at 51,000 units, past tonic's 4 MB
/// default: the alert evaluator's pass, a period close and an import of a
/// 50,000-rep company failed on it. What the target service sends is capped
/// on its side (`server.max_message_bytes`).
pub const ANSWER_LIMIT: usize = 256 * 1024 * 1024;

impl TargetClient {
    pub fn new(channel: Channel) -> Self {
        Self {
            org: OrgServiceClient::new(channel.clone()).max_decoding_message_size(ANSWER_LIMIT),
            targets: TargetServiceClient::new(channel).max_decoding_message_size(ANSWER_LIMIT),
            cache: Arc::new(AnswerCache::new(CACHE_BUDGET)),
            versions: Arc::new(Fetches::default()),
        }
    }

    /// (hits, misses) of the kept answers so far.
    pub fn cache_counts(&self) -> (u64, u64) {
        self.cache.counts()
    }

    /// The target service's data version this request reads at (None: the
    /// caller is anonymous, or the service did not say; then every read asks).
    async fn version(&self, fwd: &Forwarded) -> Option<i64> {
        // Any authenticated caller may read the version, so one caller's
        // fetch serves others; what each reads at it goes with its own token.
        let start = || {
            let (mut c, request) = (self.targets.clone(), fwd.request(pb::GetDataVersionRequest {}));
            async move { c.get_data_version(request).await.ok().map(|r| r.into_inner().version) }.boxed()
        };
        fwd.reads_at().get_or_fetch(VERSION_AGE, &self.versions, start).await
    }

    /// The version and caller answers are kept under for this request
    /// (None: an anonymous caller, or no version — nothing is kept).
    async fn keeping<'f>(&self, fwd: &'f Forwarded) -> Option<(i64, &'f str)> {
        let caller = fwd.caller()?;
        self.version(fwd).await.map(|v| (v, caller))
    }

    /// A read, answered from what was kept at this request's data version
    /// for the same caller and request when there is one.
    async fn read<Req, Resp, Fut>(
        &self,
        fwd: &Forwarded,
        method: &'static str,
        request: Req,
        call: impl FnOnce(tonic::Request<Req>) -> Fut,
    ) -> ServiceResult<Resp>
    where
        Req: prost::Message,
        Resp: prost::Message + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let mut keyed = None;
        if let Some((version, caller)) = self.keeping(fwd).await {
            let key = Key { method, request: request.encode_to_vec(), caller: caller.to_owned() };
            if let Some(hit) = self.cache.get::<Resp>(version, &key) {
                return Ok(hit);
            }
            keyed = Some((version, key));
        }
        let answer = call(fwd.request(request)).await?.into_inner();
        if let Some((version, key)) = keyed {
            self.cache.put(version, key, answer.clone(), answer.encoded_len());
        }
        Ok(answer)
    }

    /// After a write through this client the request's next read fetches
    /// the version again, so it sees its own write.
    async fn wrote(&self, fwd: &Forwarded) {
        fwd.reads_at().forget().await;
    }

    pub async fn unit(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<UnitInfo> {
        let org = self.org.clone();
        let request = pb::GetUnitRequest { name: id.resource_name() };
        let u = self.read(fwd, "GetUnit", request, |r| async move { org.clone().get_unit(r).await }).await?;
        unit_info(&u)
    }

    /// The unit and everything below it that the caller may see, root first.
    pub async fn subtree(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<Vec<UnitInfo>> {
        let r = self.get_subtree(fwd, id, false).await?;
        r.units.iter().map(unit_info).collect()
    }

    /// The subtree as `subtree`, then the units that sat in it before a
    /// move (their former places say until when): whoever belonged to it
    /// during a period.
    pub async fn subtree_with_former(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<Vec<UnitInfo>> {
        let r = self.get_subtree(fwd, id, true).await?;
        r.units.iter().map(unit_info).collect()
    }

    /// The unit with the names of what is below it and of what was (a
    /// review of a period names whoever was a member during it).
    pub async fn tree(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<UnitTree> {
        let r = self.get_subtree(fwd, id, true).await?;
        unit_tree(id, &r.units)
    }

    async fn get_subtree(
        &self,
        fwd: &Forwarded,
        id: &Id,
        include_former: bool,
    ) -> ServiceResult<pb::GetSubtreeResponse> {
        let org = self.org.clone();
        let request = pb::GetSubtreeRequest { name: id.resource_name(), include_former };
        self.read(fwd, "GetSubtree", request, |r| async move { org.clone().get_subtree(r).await }).await
    }

    /// Many units in one call per thousand, in the order asked; fails as a
    /// lookup of a missing or hidden one would (the first the service meets
    /// among those not kept).
    pub async fn units(&self, fwd: &Forwarded, ids: &[Id]) -> ServiceResult<Vec<UnitInfo>> {
        // Each unit is kept on its own: batch calls, imports and the alert
        // evaluator ask for the reps of each call or pass — rarely the same
        // set twice, but the same reps over and over (a pass read its ~800
        // reps every time).
        let keep = self.keeping(fwd).await;
        let key = |name: &str, caller: &str| Key {
            method: "BatchGetUnits",
            request: name.as_bytes().to_vec(),
            caller: caller.to_owned(),
        };
        let names: Vec<String> = ids.iter().map(Id::resource_name).collect();
        let mut found: HashMap<String, pb::Unit> = HashMap::new();
        if let Some((version, caller)) = keep {
            for name in &names {
                if let Some(u) = self.cache.get::<pb::Unit>(version, &key(name, caller)) {
                    found.insert(name.clone(), u);
                }
            }
        }
        let mut missing: Vec<String> = names.iter().filter(|n| !found.contains_key(*n)).cloned().collect();
        missing.sort_unstable();
        missing.dedup();
        for chunk in missing.chunks(BATCH) {
            let request = pb::BatchGetUnitsRequest { names: chunk.to_vec() };
            let r = self.org.clone().batch_get_units(fwd.request(request)).await?;
            for u in r.into_inner().units {
                if let Some((version, caller)) = keep {
                    self.cache.put(version, key(&u.name, caller), u.clone(), u.encoded_len());
                }
                found.insert(u.name.clone(), u);
            }
        }
        // In the order asked (the service answers each name or fails).
        names
            .iter()
            .map(|n| {
                let u = found.get(n).ok_or_else(|| {
                    attain_kit::ServiceError::Internal(anyhow::anyhow!("BatchGetUnits did not answer {n}"))
                })?;
                unit_info(u)
            })
            .collect()
    }

    /// Moves committed after sequence `after`, oldest first (at most `limit`).
    pub async fn moves_after(&self, fwd: &Forwarded, after: i64, limit: i32) -> ServiceResult<Vec<UnitMove>> {
        let r =
            self.org.clone().list_unit_moves(fwd.request(pb::ListUnitMovesRequest { after, page_size: limit })).await?;
        r.into_inner().moves.iter().map(unit_move).collect()
    }

    /// Its children and those that were before a move: whoever was a
    /// member at some day (`UnitInfo::days_under` says which days).
    pub async fn members(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<Vec<UnitInfo>> {
        self.list_units(fwd, (id.resource_name(), true)).await
    }

    /// The unit's direct children, a page per thousand: a company's
    /// dashboard does not carry its whole org to find ten regions.
    pub async fn children(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<Vec<UnitInfo>> {
        self.list_units(fwd, (id.resource_name(), false)).await
    }

    /// The roots of the org (an ADMIN's call).
    pub async fn roots(&self, fwd: &Forwarded) -> ServiceResult<Vec<UnitInfo>> {
        self.list_units(fwd, (String::new(), false)).await
    }

    async fn list_units(
        &self,
        fwd: &Forwarded,
        (parent, include_former): (String, bool),
    ) -> ServiceResult<Vec<UnitInfo>> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let request =
                pb::ListUnitsRequest { parent: parent.clone(), page_size: BATCH as i32, page_token, include_former };
            let org = self.org.clone();
            let r = self.read(fwd, "ListUnits", request, |r| async move { org.clone().list_units(r).await }).await?;
            for u in &r.units {
                out.push(unit_info(u)?);
            }
            if r.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = r.next_page_token;
        }
    }

    /// Every plan the caller may see.
    pub async fn plans(&self, fwd: &Forwarded) -> ServiceResult<Vec<PlanInfo>> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let request = pb::ListPlansRequest { page_size: BATCH as i32, page_token, fiscal_year: 0 };
            let targets = self.targets.clone();
            let r =
                self.read(fwd, "ListPlans", request, |r| async move { targets.clone().list_plans(r).await }).await?;
            for p in r.plans {
                out.push(PlanInfo::from_wire(p)?);
            }
            if r.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = r.next_page_token;
        }
    }

    /// One plan as stored (reports quote its inputs).
    pub async fn plan(&self, fwd: &Forwarded, name: &str) -> ServiceResult<pb::Plan> {
        let targets = self.targets.clone();
        let request = pb::GetPlanRequest { name: name.to_owned() };
        self.read(fwd, "GetPlan", request, |r| async move { targets.clone().get_plan(r).await }).await
    }

    /// Creates a DRAFT plan (idempotent by request id at the target service).
    pub async fn create_plan(
        &self,
        fwd: &Forwarded,
        plan_id: &str,
        plan: pb::Plan,
        request_id: &str,
    ) -> ServiceResult<String> {
        let request =
            pb::CreatePlanRequest { plan: Some(plan), plan_id: plan_id.to_owned(), request_id: request_id.to_owned() };
        let r = self.targets.clone().create_plan(fwd.request(request)).await;
        self.wrote(fwd).await;
        Ok(r?.into_inner().name)
    }

    /// Splits a target (the caller's own authority applies).
    pub async fn decompose(
        &self,
        fwd: &Forwarded,
        request: pb::DecomposeTargetRequest,
    ) -> ServiceResult<pb::DecomposeTargetResponse> {
        let r = self.targets.clone().decompose_target(fwd.request(request)).await;
        self.wrote(fwd).await;
        Ok(r?.into_inner())
    }

    /// Files an adjustment request as the caller.
    pub async fn create_adjustment(
        &self,
        fwd: &Forwarded,
        request: pb::CreateAdjustmentRequest,
    ) -> ServiceResult<pb::Adjustment> {
        let r = self.targets.clone().create_adjustment(fwd.request(request)).await;
        self.wrote(fwd).await;
        Ok(r?.into_inner())
    }

    /// Expected amounts of many units for one period at one date, with the
    /// plan's thresholds and the period's time progress; units without a
    /// target are absent.
    pub async fn expected(
        &self,
        fwd: &Forwarded,
        plan: &PlanInfo,
        units: &[Id],
        period: &str,
        date: NaiveDate,
        slice: Slice<'_>,
    ) -> ServiceResult<(HashMap<Id, Expected>, AlertThresholds, Decimal)> {
        let r = self.expected_kept(fwd, plan, units, period, date, slice).await?;
        // The calendar's progress, for units without a target too.
        let progress = r.time_progress.parse().unwrap_or(Decimal::ZERO);
        let t = r.alert_thresholds.unwrap_or_default();
        let thresholds = AlertThresholds {
            red_below: t.red_below_percent.parse().ok(),
            yellow_below: t.yellow_below_percent.parse().ok(),
        };
        let mut out = HashMap::with_capacity(r.amounts.len());
        for e in r.amounts {
            let expected = Expected {
                period_target: amount_of(e.period_target.as_ref())?,
                original_target: amount_of(e.original_period_target.as_ref().or(e.period_target.as_ref()))?,
                by_curve: amount_of(e.expected_by_curve.as_ref())?,
                by_milestone: amount_of(e.expected_by_milestone.as_ref())?,
                milestone_in_force: e.milestone.is_some(),
                time_progress: e.time_progress.parse().unwrap_or(Decimal::ZERO),
            };
            out.insert(id_of("unit", &e.unit)?, expected);
        }
        Ok((out, thresholds, progress))
    }

    /// A unit's expected-to-date on each day of the period.
    pub async fn daily_expected(
        &self,
        fwd: &Forwarded,
        plan: &PlanInfo,
        unit: &Id,
        period: &str,
        date: NaiveDate,
        slice: Slice<'_>,
    ) -> ServiceResult<DailyExpected> {
        let units = std::slice::from_ref(unit);
        let r = self.expected_amounts(fwd, plan, units, period, date, slice, true).await?;
        let Some(e) = r.amounts.into_iter().next() else { return Ok(DailyExpected::default()) };
        let mut days = Vec::with_capacity(e.daily.len());
        for d in &e.daily {
            days.push((
                day_of(&d.date)?,
                amount_of(d.expected_by_curve.as_ref())?,
                amount_of(d.expected_by_milestone.as_ref())?,
            ));
        }
        Ok(DailyExpected {
            period_target: amount_of(e.period_target.as_ref())?,
            days,
            milestones: e.milestones.into_iter().map(|m| (m.day_of_period, m.percent)).collect(),
        })
    }

    /// `BatchGetExpectedAmounts` without the daily curves, each unit's
    /// answer kept on its own (as `units` keeps units) and the period's part
    /// (time progress, thresholds) beside them: the alert evaluator asks for
    /// the units each pass's changes named — rarely the same set twice, the
    /// same units over and over — so a pass asks the target service only for
    /// units it has not met at this version. A unit the answer leaves out
    /// (no target) is kept as left out. The same key rules as `read`.
    async fn expected_kept(
        &self,
        fwd: &Forwarded,
        plan: &PlanInfo,
        units: &[Id],
        period: &str,
        date: NaiveDate,
        slice: Slice<'_>,
    ) -> ServiceResult<pb::BatchGetExpectedAmountsResponse> {
        let request = |units: Vec<String>| expected_request(plan, units, (period, date, slice), false);
        let keep = self.keeping(fwd).await;
        let key = |method: &'static str, units: Vec<String>, caller: &str| Key {
            method,
            request: request(units).encode_to_vec(),
            caller: caller.to_owned(),
        };
        let unit_key = |name: &str, caller: &str| key("BatchGetExpectedAmounts/unit", vec![name.to_owned()], caller);
        let names: Vec<String> = units.iter().map(Id::resource_name).collect();
        // By name; an empty `unit`: left out of the answer (no target).
        let mut found: HashMap<String, pb::ExpectedAmount> = HashMap::new();
        let mut whole = None;
        if let Some((version, caller)) = keep {
            whole = self.cache.get::<pb::BatchGetExpectedAmountsResponse>(
                version,
                &key("BatchGetExpectedAmounts/period", Vec::new(), caller),
            );
            for name in names.iter().filter(|_| whole.is_some()) {
                if let Some(e) = self.cache.get::<pb::ExpectedAmount>(version, &unit_key(name, caller)) {
                    found.insert(name.clone(), e);
                }
            }
        }
        let mut missing: Vec<String> = names.iter().filter(|n| !found.contains_key(*n)).cloned().collect();
        missing.sort_unstable();
        missing.dedup();
        let mut whole = match whole {
            Some(w) if missing.is_empty() => w,
            _ => {
                let asked = missing.clone();
                let mut r =
                    self.targets.clone().batch_get_expected_amounts(fwd.request(request(asked))).await?.into_inner();
                for e in std::mem::take(&mut r.amounts) {
                    found.insert(e.unit.clone(), e);
                }
                if let Some((version, caller)) = keep {
                    for name in &missing {
                        let e = found.get(name).cloned().unwrap_or_default();
                        self.cache.put(version, unit_key(name, caller), e.clone(), e.encoded_len().max(16));
                    }
                    let k = key("BatchGetExpectedAmounts/period", Vec::new(), caller);
                    self.cache.put(version, k, r.clone(), r.encoded_len());
                }
                r
            }
        };
        // In the order asked, each unit once, as the service answers.
        let mut seen = std::collections::HashSet::new();
        whole.amounts = names
            .iter()
            .filter(|n| seen.insert(n.as_str()))
            .filter_map(|n| found.get(n).filter(|e| !e.unit.is_empty()).cloned())
            .collect();
        Ok(whole)
    }

    #[allow(clippy::too_many_arguments)]
    async fn expected_amounts(
        &self,
        fwd: &Forwarded,
        plan: &PlanInfo,
        units: &[Id],
        period: &str,
        date: NaiveDate,
        slice: Slice<'_>,
        include_daily: bool,
    ) -> ServiceResult<pb::BatchGetExpectedAmountsResponse> {
        let names = units.iter().map(Id::resource_name).collect();
        let request = expected_request(plan, names, (period, date, slice), include_daily);
        let targets = self.targets.clone();
        let call = |r| async move { targets.clone().batch_get_expected_amounts(r).await };
        self.read(fwd, "BatchGetExpectedAmounts", request, call).await
    }
}

/// A `BatchGetExpectedAmounts` request.
fn expected_request(
    plan: &PlanInfo,
    units: Vec<String>,
    (period, date, slice): (&str, NaiveDate, Slice<'_>),
    include_daily: bool,
) -> pb::BatchGetExpectedAmountsRequest {
    pb::BatchGetExpectedAmountsRequest {
        plan: plan.name.clone(),
        units,
        period: period.to_owned(),
        date: date.format("%Y-%m-%d").to_string(),
        dimensions: Some(common::Dimensions {
            product_line: slice.product_line.to_owned(),
            customer_type: slice.customer_type.to_owned(),
        }),
        include_daily,
    }
}
