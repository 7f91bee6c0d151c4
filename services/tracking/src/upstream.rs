//! What tracking asks the target service: units and their paths, plans,
//! and expected amounts. Calls carry the caller's token, so the target
//! service applies the caller's scope as well.

use std::collections::HashMap;

use attain_kit::{
    ServiceError, ServiceResult,
    id::Id,
    metric::Metric,
    money::{Amount, CurrencyCode},
    period::Period,
    upstream::Forwarded,
};
use attain_proto::attain::target::v1::{
    self as pb, UnitKind, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient,
};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use tonic::transport::Channel;

use crate::domain::{attainment::Thresholds, deal::Dimensions};

/// A unit as tracking needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitInfo {
    pub id: Id,
    pub parent: Option<Id>,
    pub is_rep: bool,
    pub display_name: String,
    /// From the root down to the unit itself.
    pub path: Vec<Id>,
}

impl UnitInfo {
    pub fn path_strings(&self) -> Vec<String> {
        self.path.iter().map(|p| p.as_str().to_owned()).collect()
    }
}

#[derive(Debug, Clone)]
pub struct PlanInfo {
    pub name: String,
    pub top_unit: Id,
    pub fiscal_start_month: u32,
    pub year: Period,
    pub currency: CurrencyCode,
    pub published: bool,
    pub metric: Metric,
}

impl PlanInfo {
    pub fn period(&self, field: &str, expr: &str) -> ServiceResult<Period> {
        Period::parse(field, expr, self.fiscal_start_month)
    }
}

/// A unit's expectation for a period at a date.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expected {
    pub period_target: Amount,
    /// Before adjustments, so a lowered target never hides a miss.
    pub original_target: Amount,
    pub by_curve: Amount,
    pub by_milestone: Amount,
    pub milestone_in_force: bool,
    pub time_progress: Decimal,
}

fn id_of(field: &str, name: &str) -> ServiceResult<Id> {
    Id::from_name(field, name)
        .map_err(|_| ServiceError::Internal(anyhow::anyhow!("target service sent a bad {field}: {name:?}")))
}

fn amount_of(m: Option<&attain_proto::attain::common::v1::Money>) -> ServiceResult<Amount> {
    match m {
        Some(m) => Amount::parse(&m.amount)
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("target service sent a bad amount: {e}"))),
        None => Ok(Amount::ZERO),
    }
}

fn unit_info(u: &pb::Unit) -> ServiceResult<UnitInfo> {
    let id = id_of("unit", &u.name)?;
    let mut path = u.ancestors.iter().map(|a| id_of("ancestor", a)).collect::<ServiceResult<Vec<_>>>()?;
    path.push(id.clone());
    Ok(UnitInfo {
        id,
        parent: (!u.parent.is_empty()).then(|| id_of("parent", &u.parent)).transpose()?,
        is_rep: u.kind == UnitKind::Rep as i32,
        display_name: u.display_name.clone(),
        path,
    })
}

#[derive(Debug, Clone)]
pub struct TargetClient {
    org: OrgServiceClient<Channel>,
    targets: TargetServiceClient<Channel>,
}

impl TargetClient {
    pub fn new(channel: Channel) -> Self {
        Self { org: OrgServiceClient::new(channel.clone()), targets: TargetServiceClient::new(channel) }
    }

    pub async fn unit(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<UnitInfo> {
        let u =
            self.org.clone().get_unit(fwd.request(pb::GetUnitRequest { name: id.resource_name() })).await?.into_inner();
        unit_info(&u)
    }

    /// The unit and everything below it that the caller may see.
    pub async fn subtree(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<Vec<UnitInfo>> {
        let r = self
            .org
            .clone()
            .get_subtree(fwd.request(pb::GetSubtreeRequest { name: id.resource_name() }))
            .await?
            .into_inner();
        r.units.iter().map(unit_info).collect()
    }

    /// Many units in one call per thousand, in the order asked; fails as a
    /// lookup of the first missing or hidden one would.
    pub async fn units(&self, fwd: &Forwarded, ids: &[Id]) -> ServiceResult<Vec<UnitInfo>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(1000) {
            let r = self
                .org
                .clone()
                .batch_get_units(
                    fwd.request(pb::BatchGetUnitsRequest { names: chunk.iter().map(Id::resource_name).collect() }),
                )
                .await?
                .into_inner();
            for u in &r.units {
                out.push(unit_info(u)?);
            }
        }
        Ok(out)
    }

    /// The unit's direct children: one page per thousand, so a company's
    /// dashboard does not carry its whole org (GetSubtree) to find ten regions.
    pub async fn children(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<Vec<UnitInfo>> {
        let mut out = Vec::new();
        let mut page_token = String::new();
        loop {
            let r = self
                .org
                .clone()
                .list_units(fwd.request(pb::ListUnitsRequest {
                    parent: id.resource_name(),
                    page_size: 1000,
                    page_token,
                }))
                .await?
                .into_inner();
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
        let mut token = String::new();
        loop {
            let r = self
                .targets
                .clone()
                .list_plans(fwd.request(pb::ListPlansRequest { page_size: 1000, page_token: token, fiscal_year: 0 }))
                .await?
                .into_inner();
            for p in r.plans {
                let fiscal_start_month = u32::try_from(p.fiscal_start_month).unwrap_or(1);
                out.push(PlanInfo {
                    top_unit: id_of("top_unit", &p.top_unit)?,
                    year: Period::parse("plan", &format!("{:04}", p.fiscal_year), fiscal_start_month)?,
                    currency: CurrencyCode::parse(&p.currency_code).map_err(|e| ServiceError::Internal(e.into()))?,
                    published: p.state == pb::PlanState::Published as i32 || p.state == pb::PlanState::Closed as i32,
                    metric: attain_kit::wire::parse_metric("plan.metric", p.metric)
                        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("target service sent {e}")))?,
                    fiscal_start_month,
                    name: p.name,
                });
            }
            if r.next_page_token.is_empty() {
                return Ok(out);
            }
            token = r.next_page_token;
        }
    }

    /// Expected amounts of many units for one period at one date, with the
    /// plan's thresholds; units without a target are absent.
    pub async fn expected(
        &self,
        fwd: &Forwarded,
        plan: &PlanInfo,
        units: &[Id],
        period: &str,
        date: NaiveDate,
        dims: &Dimensions,
    ) -> ServiceResult<(HashMap<Id, Expected>, Thresholds)> {
        let r = self
            .targets
            .clone()
            .batch_get_expected_amounts(fwd.request(pb::BatchGetExpectedAmountsRequest {
                plan: plan.name.clone(),
                units: units.iter().map(Id::resource_name).collect(),
                period: period.to_owned(),
                date: date.format("%Y-%m-%d").to_string(),
                dimensions: Some(attain_proto::attain::common::v1::Dimensions {
                    product_line: dims.product_line.clone(),
                    customer_type: dims.customer_type.clone(),
                }),
                include_daily: false,
            }))
            .await?
            .into_inner();
        let t = r.alert_thresholds.unwrap_or_default();
        let defaults = Thresholds::default();
        let thresholds = Thresholds {
            red_below: t.red_below_percent.parse().unwrap_or(defaults.red_below),
            yellow_below: t.yellow_below_percent.parse().unwrap_or(defaults.yellow_below),
        };
        let mut out = HashMap::new();
        for e in r.amounts {
            out.insert(
                id_of("unit", &e.unit)?,
                Expected {
                    period_target: amount_of(e.period_target.as_ref())?,
                    original_target: amount_of(e.original_period_target.as_ref().or(e.period_target.as_ref()))?,
                    by_curve: amount_of(e.expected_by_curve.as_ref())?,
                    by_milestone: amount_of(e.expected_by_milestone.as_ref())?,
                    milestone_in_force: e.milestone.is_some(),
                    time_progress: e.time_progress.parse().unwrap_or(Decimal::ZERO),
                },
            );
        }
        Ok((out, thresholds))
    }
}

/// A unit's expected-to-date for each day of a period (burn-up charts).
#[derive(Debug, Clone, Default)]
pub struct DailyExpected {
    pub period_target: Amount,
    /// (day, by the curve, by the milestones)
    pub days: Vec<(NaiveDate, Amount, Amount)>,
    /// (day of period, cumulative percent)
    pub milestones: Vec<(i32, String)>,
}

impl TargetClient {
    pub async fn daily_expected(
        &self,
        fwd: &Forwarded,
        plan: &PlanInfo,
        unit: &Id,
        period: &str,
        date: NaiveDate,
        dims: &Dimensions,
    ) -> ServiceResult<DailyExpected> {
        let r = self
            .targets
            .clone()
            .batch_get_expected_amounts(fwd.request(pb::BatchGetExpectedAmountsRequest {
                plan: plan.name.clone(),
                units: vec![unit.resource_name()],
                period: period.to_owned(),
                date: date.format("%Y-%m-%d").to_string(),
                dimensions: Some(attain_proto::attain::common::v1::Dimensions {
                    product_line: dims.product_line.clone(),
                    customer_type: dims.customer_type.clone(),
                }),
                include_daily: true,
            }))
            .await?
            .into_inner();
        let Some(e) = r.amounts.into_iter().next() else { return Ok(DailyExpected::default()) };
        let mut days = Vec::with_capacity(e.daily.len());
        for d in &e.daily {
            let day = NaiveDate::parse_from_str(&d.date, "%Y-%m-%d")
                .map_err(|_| ServiceError::Upstream(tonic::Status::internal(format!("bad day {:?}", d.date))))?;
            days.push((day, amount_of(d.expected_by_curve.as_ref())?, amount_of(d.expected_by_milestone.as_ref())?));
        }
        Ok(DailyExpected {
            period_target: amount_of(e.period_target.as_ref())?,
            days,
            milestones: e.milestones.into_iter().map(|m| (m.day_of_period, m.percent)).collect(),
        })
    }
}

/// The plan that covers `date` for a unit on `path`: published plans first.
/// The amount plan covering `path` on `date` (the one deals book into).
pub fn plan_for<'a>(plans: &'a [PlanInfo], path: &[Id], date: NaiveDate) -> Option<&'a PlanInfo> {
    plan_for_metric(plans, path, date, Metric::Amount)
}

/// The plan of a metric covering `path` on `date`: a published one first.
pub fn plan_for_metric<'a>(
    plans: &'a [PlanInfo],
    path: &[Id],
    date: NaiveDate,
    metric: Metric,
) -> Option<&'a PlanInfo> {
    let covering = |p: &&PlanInfo| p.metric == metric && p.year.contains(date) && path.contains(&p.top_unit);
    plans.iter().filter(covering).find(|p| p.published).or_else(|| plans.iter().find(covering))
}
