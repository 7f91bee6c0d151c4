//! What the review service reads from target and tracking, with the
//! caller's token: units, the covering plan, attainment and loss reasons.

use std::collections::HashMap;

use attain_kit::{
    ServiceError, ServiceResult, id::Id, metric::Metric, money::Amount, period::Period, upstream::Forwarded,
};
use attain_proto::attain::{
    common::v1 as common,
    target::v1 as tpb,
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
pub use attain_target_client::{PlanInfo, UnitTree};
use attain_target_client::{TargetClient, plan_for_period};
use chrono::NaiveDate;
use tonic::transport::Channel;

use crate::domain::{
    report::{DealLine, Deals, PlanFacts},
    review::{Figures, GapEffects, Reason},
};

/// The target service (through its client crate) and the tracking service.
#[derive(Debug, Clone)]
pub struct Upstreams {
    target: TargetClient,
    tracking: TrackingServiceClient<Channel>,
}

fn bad(what: &str) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("an upstream service sent a bad {what}"))
}

/// A row's figures; `whole` is the days of the unit's own row (a member's
/// other days are its days in the unit).
fn figures(a: &kpb::Attainment, names: &HashMap<String, String>, whole: Option<(&str, &str)>) -> Figures {
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
        expected_to_date: money(&a.expected_to_date),
        forecast: money(&a.forecast),
        yoy_growth: a.yoy_growth.clone(),
        average_order_value: money(&a.average_order_value),
        conversion_rate: a.conversion_rate.clone(),
        status: common::Status::try_from(a.status)
            .map(|s| s.as_str_name().trim_start_matches("STATUS_").to_owned())
            .unwrap_or_default(),
        // Other days than the unit's own: a member for part of the period.
        days: a
            .period
            .as_ref()
            .filter(|p| whole.is_some_and(|w| w != (p.start_date.as_str(), p.end_date.as_str())))
            .map(|p| (p.start_date.clone(), p.end_date.clone())),
    }
}

impl Upstreams {
    pub fn new(target: Channel, tracking: Channel) -> Self {
        Self {
            target: TargetClient::new(target),
            // A region's period close lists every member's figures.
            tracking: TrackingServiceClient::new(tracking)
                .max_decoding_message_size(attain_target_client::ANSWER_LIMIT),
        }
    }

    /// Where the unit sits: its ancestors, then itself. One GetUnit, for
    /// reads that need no names of what is below it.
    pub async fn path(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<Vec<Id>> {
        Ok(self.target.unit(fwd, id).await?.path)
    }

    /// Every place the unit has had as the caller may see it: where it
    /// sits, then where it sat (a unit that left the caller's scope comes
    /// without where it went).
    pub async fn places(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<Vec<Vec<Id>>> {
        Ok(self.target.unit(fwd, id).await?.places())
    }

    pub async fn tree(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<UnitTree> {
        self.target.tree(fwd, id).await
    }

    /// The amount plan covering `period_expr` for the unit: its name and
    /// fiscal start month.
    pub async fn plan(&self, fwd: &Forwarded, path: &[Id], period_expr: &str) -> ServiceResult<(String, u32)> {
        let plans = self.target.plans(fwd).await?;
        let (plan, _) = plan_for_period(&plans, path, Metric::Amount, "review.period.expression", period_expr)?;
        Ok((plan.name.clone(), plan.fiscal_start_month))
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
        let parent = r.parent.as_ref().ok_or_else(|| bad("attainment"))?;
        let whole = parent.period.as_ref().map(|p| (p.start_date.as_str(), p.end_date.as_str()));
        let unit = figures(parent, &tree.names, None);
        Ok((unit, r.children.iter().map(|c| figures(c, &tree.names, whole)).collect()))
    }

    /// The unit's path and the regions in its subtree as the caller sees them (with
    /// those that sat in it before a move), and the plans. Kinds nest
    /// COMPANY → REGION → TEAM → REP, so a region is the unit itself or a
    /// company's member: a company's dashboard reads ten units, not its
    /// whole organisation.
    pub async fn regions_and_plans(
        &self,
        fwd: &Forwarded,
        id: &Id,
    ) -> ServiceResult<(Vec<Id>, Vec<attain_target_client::UnitInfo>, Vec<attain_target_client::PlanInfo>)> {
        use attain_target_client::UnitKind;
        let (root, plans) = tokio::try_join!(self.target.unit(fwd, id), self.target.plans(fwd))?;
        let path = root.path.clone();
        let regions = match root.kind {
            UnitKind::Region => vec![root],
            UnitKind::Company => {
                let mut members = self.target.members(fwd, id).await?;
                members.retain(|u| u.kind == UnitKind::Region);
                members
            }
            _ => Vec::new(),
        };
        Ok((path, regions, plans))
    }

    /// The subtree's daily logs and weekly summaries in the period, counted
    /// (tracking owns them).
    pub async fn reporting(
        &self,
        fwd: &Forwarded,
        unit: &Id,
        period: &str,
    ) -> ServiceResult<attain_kit::cadence::Compliance> {
        let r = self
            .tracking
            .clone()
            .list_obligations(fwd.request(kpb::ListObligationsRequest {
                unit: unit.resource_name(),
                period: period.to_owned(),
                page_size: 1,
                ..Default::default()
            }))
            .await?
            .into_inner();
        let c = r.compliance.ok_or_else(|| bad("compliance"))?;
        Ok(attain_kit::wire::compliance_from(&c))
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

/// A DRAFT plan to propose.
#[derive(Debug, Clone)]
pub struct DraftPlan {
    pub display_name: String,
    pub top_unit: Id,
    pub fiscal_year: i32,
    pub currency: String,
    pub base: Amount,
    pub growth: rust_decimal::Decimal,
}

impl Upstreams {
    /// Tells tracking a monthly review was closed (its overdue-report
    /// alerts judge regions from these); whether tracking had not known.
    pub async fn record_review_close(
        &self,
        fwd: &Forwarded,
        unit: &Id,
        month: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> ServiceResult<bool> {
        let req = kpb::RecordReviewCloseRequest {
            unit: unit.resource_name(),
            month: month.to_owned(),
            close_time: Some(attain_kit::wire::timestamp(at)),
        };
        Ok(self.tracking.clone().record_review_close(fwd.request(req)).await?.into_inner().recorded)
    }

    pub async fn plan_facts(&self, fwd: &Forwarded, plan: &str) -> ServiceResult<PlanFacts> {
        let p = self.target.plan(fwd, plan).await?;
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

    /// The deals of a unit in a date range (the first `Deals::LIMIT`), for
    /// the weekly progress sheet.
    pub async fn deals(&self, fwd: &Forwarded, unit: &Id, period: &Period) -> ServiceResult<Deals> {
        let range = format!("{}..{}", period.start.format("%Y-%m-%d"), period.end.format("%Y-%m-%d"));
        let mut out = Vec::new();
        let mut token = String::new();
        let mut more = false;
        loop {
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
            out.extend(r.deals.into_iter().map(|d| DealLine {
                amount: d.amount.as_ref().map(|m| m.amount.clone()).unwrap_or_default(),
                reversal: d.kind == kpb::DealKind::Reversal as i32,
                close_date: d.close_date,
                rep: d.rep,
                customer: d.customer,
            }));
            if r.next_page_token.is_empty() {
                break;
            }
            if out.len() >= Deals::LIMIT {
                more = true;
                break;
            }
            token = r.next_page_token;
        }
        if out.len() > Deals::LIMIT {
            more = true;
            out.truncate(Deals::LIMIT);
        }
        Ok(Deals { lines: out, more })
    }

    /// Of these units (resource names), those that have left by `day`.
    pub async fn left_by(&self, fwd: &Forwarded, units: &[String], day: NaiveDate) -> ServiceResult<Vec<String>> {
        let ids: Vec<Id> = units.iter().filter_map(|u| Id::from_name("unit", u).ok()).collect();
        Ok(self
            .target
            .units(fwd, &ids)
            .await?
            .into_iter()
            .filter(|u| u.end_date.is_some_and(|end| end < day))
            .map(|u| u.id.resource_name())
            .collect())
    }

    /// Every plan the caller may see.
    pub async fn plans(&self, fwd: &Forwarded) -> ServiceResult<Vec<PlanInfo>> {
        self.target.plans(fwd).await
    }

    /// Requests, as the caller, that `unit`'s target for `period` in `plan`
    /// become `amount` (its parent absorbing the change; the target service
    /// sizes the yearly change on the unit's curve).
    pub async fn request_adjustment(
        &self,
        fwd: &Forwarded,
        (plan, unit): (&PlanInfo, &Id),
        (period, amount): (&Period, Amount),
        (justification, request_id): (&str, &str),
    ) -> ServiceResult<String> {
        let request = tpb::CreateAdjustmentRequest {
            parent: plan.name.clone(),
            adjustment: Some(tpb::Adjustment {
                target: format!("{}/targets/{}", plan.name, unit.as_str()),
                change: Some(tpb::adjustment::Change::PeriodAmount(tpb::PeriodTargetChange {
                    period: period.expression.clone(),
                    amount: Some(common::Money {
                        currency_code: plan.currency.to_string(),
                        amount: amount.to_string(),
                    }),
                })),
                reason: tpb::AdjustmentReason::Other as i32,
                justification: justification.to_owned(),
                redistribution: tpb::Redistribution::ParentAbsorbs as i32,
                ..Default::default()
            }),
            request_id: request_id.to_owned(),
        };
        Ok(self.target.create_adjustment(fwd, request).await?.name)
    }

    /// Splits `unit`'s target in the DRAFT `plan` among its members in
    /// proportion to their suggested amounts; the targets made.
    pub async fn propose_split(
        &self,
        fwd: &Forwarded,
        (plan, unit): (&str, &Id),
        members: &[(String, Amount)],
        request_id: &str,
    ) -> ServiceResult<Vec<String>> {
        let request = tpb::DecomposeTargetRequest {
            parent_target: format!("{plan}/targets/{}", unit.as_str()),
            strategy: tpb::SplitStrategy::Weights as i32,
            inputs: members
                .iter()
                .map(|(u, a)| tpb::SplitInput { unit: u.clone(), weight: a.to_string(), ..Default::default() })
                .collect(),
            allocate_percent: "100".into(),
            request_id: request_id.to_owned(),
            ..Default::default()
        };
        Ok(self.target.decompose(fwd, request).await?.targets.into_iter().map(|t| t.name).collect())
    }

    /// Creates a DRAFT plan (idempotent by request id at the target service).
    pub async fn create_draft_plan(
        &self,
        fwd: &Forwarded,
        (plan_id, request_id): (&str, &str),
        d: DraftPlan,
    ) -> ServiceResult<String> {
        let money = |a: &Amount| common::Money { currency_code: d.currency.clone(), amount: a.to_string() };
        let plan = tpb::Plan {
            display_name: d.display_name.clone(),
            top_unit: d.top_unit.resource_name(),
            fiscal_year: d.fiscal_year,
            currency_code: d.currency.clone(),
            base_amount: Some(money(&d.base)),
            growth_rate: d.growth.to_string(),
            ..Default::default()
        };
        self.target.create_plan(fwd, plan_id, plan, request_id).await
    }
}
