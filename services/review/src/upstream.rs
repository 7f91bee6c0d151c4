//! What the review service reads from target and tracking, with the
//! caller's token: units, the covering plan, attainment and loss reasons.

use std::collections::HashMap;

use attain_kit::{ServiceError, ServiceResult, id::Id, period::Period, upstream::Forwarded};
use attain_proto::attain::{
    common::v1 as common,
    target::v1::{self as tpb, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use chrono::NaiveDate;
use tonic::transport::Channel;

use crate::domain::review::{Figures, GapEffects, Reason};

#[derive(Debug, Clone)]
pub struct Upstreams {
    org: OrgServiceClient<Channel>,
    targets: TargetServiceClient<Channel>,
    tracking: TrackingServiceClient<Channel>,
}

/// A unit with its path and the names of the units below it.
#[derive(Debug, Clone)]
pub struct UnitTree {
    pub id: Id,
    pub path: Vec<Id>,
    /// Display names of the unit and every unit below it.
    pub names: HashMap<String, String>,
    /// Unit ids below (not including) the unit.
    pub below: Vec<Id>,
}

fn bad(what: &str) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("an upstream service sent a bad {what}"))
}

fn path_of(unit: &tpb::Unit, id: &Id) -> ServiceResult<Vec<Id>> {
    let mut path = unit
        .ancestors
        .iter()
        .map(|a| Id::from_name("ancestor", a).map_err(|_| bad("ancestor")))
        .collect::<ServiceResult<Vec<_>>>()?;
    path.push(id.clone());
    Ok(path)
}

fn figures(a: &kpb::Attainment, names: &HashMap<String, String>) -> Figures {
    let money = |m: &Option<common::Money>| m.as_ref().map(|m| m.amount.clone()).unwrap_or_default();
    Figures {
        unit: a.unit.clone(),
        display_name: names.get(&a.unit).cloned().unwrap_or_default(),
        currency: a.actual.as_ref().map(|m| m.currency_code.clone()).unwrap_or_default(),
        target: money(&a.target),
        original_target: money(&a.original_target),
        actual: money(&a.actual),
        attainment_rate: a.attainment_rate.clone(),
        gap: money(&a.gap),
        yoy_growth: a.yoy_growth.clone(),
        average_order_value: money(&a.average_order_value),
        conversion_rate: a.conversion_rate.clone(),
        status: common::Status::try_from(a.status)
            .map(|s| s.as_str_name().trim_start_matches("STATUS_").to_owned())
            .unwrap_or_default(),
    }
}

impl Upstreams {
    pub fn new(target: Channel, tracking: Channel) -> Self {
        Self {
            org: OrgServiceClient::new(target.clone()),
            targets: TargetServiceClient::new(target),
            tracking: TrackingServiceClient::new(tracking),
        }
    }

    /// Where the unit sits: its ancestors, then itself. One GetUnit, for
    /// reads that need no names of what is below it.
    pub async fn path(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<Vec<Id>> {
        let u = self
            .org
            .clone()
            .get_unit(fwd.request(tpb::GetUnitRequest { name: id.resource_name() }))
            .await?
            .into_inner();
        path_of(&u, id)
    }

    pub async fn tree(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<UnitTree> {
        let r = self
            .org
            .clone()
            .get_subtree(fwd.request(tpb::GetSubtreeRequest { name: id.resource_name() }))
            .await?
            .into_inner();
        let root = r.units.first().ok_or_else(|| bad("subtree"))?;
        let path = path_of(root, id)?;
        let names = r.units.iter().map(|u| (u.name.clone(), u.display_name.clone())).collect();
        let below = r
            .units
            .iter()
            .skip(1)
            .map(|u| Id::from_name("unit", &u.name).map_err(|_| bad("unit")))
            .collect::<ServiceResult<Vec<_>>>()?;
        Ok(UnitTree { id: id.clone(), path, names, below })
    }

    /// The plan covering `period_expr` for the unit: its name and fiscal
    /// start month (published plans first).
    pub async fn plan(&self, fwd: &Forwarded, path: &[Id], period_expr: &str) -> ServiceResult<(String, u32)> {
        let calendar = Period::parse("review.period.expression", period_expr, 1)?;
        let plans = self
            .targets
            .clone()
            .list_plans(fwd.request(tpb::ListPlansRequest { page_size: 1000, ..Default::default() }))
            .await?
            .into_inner()
            .plans;
        let covering: Vec<&tpb::Plan> = plans
            .iter()
            .filter(|p| {
                let fsm = u32::try_from(p.fiscal_start_month).unwrap_or(1);
                let year = Period::parse("plan", &format!("{:04}", p.fiscal_year), fsm);
                year.is_ok_and(|y| y.overlaps(&calendar)) && path.iter().any(|u| u.resource_name() == p.top_unit)
            })
            .collect();
        let plan = covering
            .iter()
            .find(|p| p.state == tpb::PlanState::Published as i32 || p.state == tpb::PlanState::Closed as i32)
            .or(covering.first())
            .ok_or_else(|| {
                ServiceError::precondition("NO_PLAN", format!("no plan covers {period_expr} for this unit"))
            })?;
        // A period straddling the plan's fiscal year is refused as the
        // target and tracking services refuse it.
        let fsm = u32::try_from(plan.fiscal_start_month).unwrap_or(1);
        let year = Period::parse("plan", &format!("{:04}", plan.fiscal_year), fsm)?;
        Period::parse("review.period.expression", period_expr, fsm)?
            .require_within("review.period.expression", &year)?;
        Ok((plan.name.clone(), fsm))
    }

    /// The unit's and its members' figures for the period, measured at `day`.
    pub async fn figures(
        &self,
        fwd: &Forwarded,
        tree: &UnitTree,
        period: &str,
        day: NaiveDate,
    ) -> ServiceResult<(Figures, Vec<Figures>)> {
        let r = self
            .tracking
            .clone()
            .list_child_attainments(fwd.request(kpb::ListChildAttainmentsRequest {
                unit: tree.id.resource_name(),
                period: period.to_owned(),
                as_of_date: day.format("%Y-%m-%d").to_string(),
                ..Default::default()
            }))
            .await?
            .into_inner();
        let unit = r.parent.as_ref().map(|p| figures(p, &tree.names)).ok_or_else(|| bad("attainment"))?;
        Ok((unit, r.children.iter().map(|c| figures(c, &tree.names)).collect()))
    }

    /// The unit's gap by sales driver, against last year and against target.
    pub async fn gap_attribution(
        &self,
        fwd: &Forwarded,
        unit: &Id,
        period: &str,
        day: NaiveDate,
    ) -> ServiceResult<Vec<GapEffects>> {
        let g = self
            .tracking
            .clone()
            .get_gap_attribution(fwd.request(kpb::GetGapAttributionRequest {
                unit: unit.resource_name(),
                period: period.to_owned(),
                as_of_date: day.format("%Y-%m-%d").to_string(),
            }))
            .await?
            .into_inner();
        let amount = |m: &Option<common::Money>| m.as_ref().map(|m| m.amount.clone()).unwrap_or_default();
        let effects = |basis: &str, b: &kpb::GapBreakdown| GapEffects {
            basis: basis.to_owned(),
            currency: b.difference.as_ref().map(|m| m.currency_code.clone()).unwrap_or_default(),
            difference: amount(&b.difference),
            volume: amount(&b.volume_effect),
            conversion: amount(&b.conversion_effect),
            aov: amount(&b.average_order_value_effect),
        };
        Ok([("LAST_YEAR", &g.against_last_year), ("TARGET", &g.against_target)]
            .into_iter()
            .filter_map(|(basis, b)| b.as_ref().map(|b| effects(basis, b)))
            .collect())
    }

    /// Lost-deal reasons of the unit in the period, most frequent first.
    pub async fn losses(&self, fwd: &Forwarded, unit: &Id, period: &Period) -> ServiceResult<Vec<Reason>> {
        let range = format!("{}..{}", period.start.format("%Y-%m-%d"), period.end.format("%Y-%m-%d"));
        let r = self
            .tracking
            .clone()
            .list_loss_reasons(fwd.request(kpb::ListLossReasonsRequest {
                unit: unit.resource_name(),
                period: range,
                limit: 10,
            }))
            .await?
            .into_inner();
        Ok(r.reasons
            .iter()
            .map(|l| {
                let name = kpb::LossReason::try_from(l.reason)
                    .map(|x| x.as_str_name().trim_start_matches("LOSS_REASON_").to_owned())
                    .unwrap_or_default();
                Reason {
                    key: format!("LOSS/{name}"),
                    label: format!("lost: {}", name.to_lowercase().replace('_', " ")),
                    count: l.count,
                    amount: l.amount.as_ref().map(|m| m.amount.clone()).unwrap_or_default(),
                }
            })
            .collect())
    }
}

/// What the report needs of the plan.
#[derive(Debug, Clone, Default)]
pub struct PlanFacts {
    pub display_name: String,
    pub fiscal_year: i32,
    pub currency: String,
    pub base: String,
    pub growth: String,
    pub top_target: String,
    pub milestones: Vec<(i32, String)>,
}

impl Upstreams {
    pub async fn plan_facts(&self, fwd: &Forwarded, plan: &str) -> ServiceResult<PlanFacts> {
        let p = self
            .targets
            .clone()
            .get_plan(fwd.request(tpb::GetPlanRequest { name: plan.to_owned() }))
            .await?
            .into_inner();
        let amount = |m: &Option<common::Money>| m.as_ref().map(|m| m.amount.clone()).unwrap_or_default();
        Ok(PlanFacts {
            display_name: p.display_name.clone(),
            fiscal_year: p.fiscal_year,
            currency: p.currency_code.clone(),
            base: amount(&p.base_amount),
            growth: p.growth_rate.clone(),
            top_target: amount(&p.top_target),
            milestones: p.milestone_template.iter().map(|m| (m.day_of_period, m.percent.clone())).collect(),
        })
    }

    /// The deals of a unit in a date range (first 5000), for the weekly
    /// progress sheet.
    pub async fn deals(&self, fwd: &Forwarded, unit: &Id, period: &Period) -> ServiceResult<Vec<kpb::Deal>> {
        let range = format!("{}..{}", period.start.format("%Y-%m-%d"), period.end.format("%Y-%m-%d"));
        let mut out = Vec::new();
        let mut token = String::new();
        while out.len() < 5000 {
            let r = self
                .tracking
                .clone()
                .list_deals(fwd.request(kpb::ListDealsRequest {
                    unit: unit.resource_name(),
                    period: range.clone(),
                    page_size: 1000,
                    page_token: token,
                    as_of: None,
                }))
                .await?
                .into_inner();
            out.extend(r.deals);
            if r.next_page_token.is_empty() {
                break;
            }
            token = r.next_page_token;
        }
        Ok(out)
    }

    /// Creates a DRAFT plan (idempotent by request id at the target service).
    pub async fn create_draft_plan(
        &self,
        fwd: &Forwarded,
        plan_id: &str,
        plan: tpb::Plan,
        request_id: &str,
    ) -> ServiceResult<String> {
        let created = self
            .targets
            .clone()
            .create_plan(fwd.request(tpb::CreatePlanRequest {
                plan: Some(plan),
                plan_id: plan_id.to_owned(),
                request_id: request_id.to_owned(),
            }))
            .await?
            .into_inner();
        Ok(created.name)
    }
}
