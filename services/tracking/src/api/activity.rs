//! Opportunity, daily-log, period-summary and loss-reason handlers; the
//! use cases are `app::activity`.

use attain_kit::{
    ServiceError, ServiceResult,
    context::Ctx,
    id::Id,
    idempotency::IdempotencyKey,
    money::{Amount, CurrencyCode},
    paging::PageRequest,
    period::Period,
};
use attain_proto::attain::{common::v1 as common, tracking::v1 as pb};
use chrono::{NaiveDate, Utc};

use super::{
    TrackingApi,
    convert::{self, log_wire, loss_reason, opportunity_wire, summary_wire},
    unit_id,
};
use crate::{
    app::activity::OpportunityChange,
    domain::activity::{DailyLog, DailyLogBody, FollowUp, LostDeal, Opportunity, Outcome},
};

fn text(field: &str, s: &str, max: usize) -> ServiceResult<String> {
    let t = s.trim();
    if t.chars().count() > max {
        return Err(ServiceError::invalid(field, format!("at most {max} characters")));
    }
    // Zero-width, bidi or private-use text would read otherwise than it
    // is (and an invisible one would meet a weekly summary).
    if let Some(why) = attain_kit::text::suspicious(t) {
        return Err(ServiceError::invalid(field, why));
    }
    Ok(t.to_owned())
}

fn money_in(field: &str, m: Option<&common::Money>) -> ServiceResult<(Amount, Option<CurrencyCode>)> {
    match m {
        None => Ok((Amount::ZERO, None)),
        Some(m) => {
            let a = Amount::parse_cents(m.amount.trim())
                .map_err(|e| ServiceError::invalid(format!("{field}.amount"), e.to_string()))?;
            if a.is_negative() {
                return Err(ServiceError::invalid(format!("{field}.amount"), "must not be negative"));
            }
            let c = CurrencyCode::parse(&m.currency_code)
                .map_err(|e| ServiceError::invalid(format!("{field}.currency_code"), e.to_string()))?;
            Ok((a, Some(c)))
        }
    }
}

/// The outcome an opportunity message asks for.
fn outcome(o: &pb::Opportunity) -> ServiceResult<Outcome> {
    match pb::OpportunityOutcome::try_from(o.outcome) {
        Ok(pb::OpportunityOutcome::Unspecified | pb::OpportunityOutcome::Open) => Ok(Outcome::Open),
        Ok(pb::OpportunityOutcome::Won) => Ok(Outcome::Won),
        Ok(pb::OpportunityOutcome::Lost) => Ok(Outcome::Lost(loss_reason("opportunity.loss_reason", o.loss_reason)?)),
        Err(_) => {
            Err(ServiceError::invalid("opportunity.outcome", format!("{} is not an OpportunityOutcome", o.outcome)))
        }
    }
}

fn require_request_id(r: &str) -> ServiceResult<()> {
    if r.is_empty() {
        return Err(ServiceError::invalid("request_id", "is required: every write carries a client request id"));
    }
    Ok(())
}

/// Calendar dates of an optional period filter.
fn dates(period: &str) -> ServiceResult<Option<(NaiveDate, NaiveDate)>> {
    if period.is_empty() {
        return Ok(None);
    }
    let p = Period::parse("period", period, 1)?;
    Ok(Some((p.start, p.end)))
}

fn opportunity_id(name: &str) -> ServiceResult<Id> {
    match name.strip_prefix("opportunities/") {
        Some(x) => Ok(Id::parse("opportunity.name", x)?),
        None => Err(ServiceError::invalid("opportunity.name", "is not an opportunity name (opportunities/{id})")),
    }
}

/// A new opportunity from the wire; the service sets its id, path, times.
fn new_opportunity(o: &pb::Opportunity) -> ServiceResult<Opportunity> {
    let rep = unit_id("opportunity.rep", &o.rep)?;
    let (expected, currency) = money_in("opportunity.expected_amount", o.expected_amount.as_ref())?;
    let now = Utc::now();
    Ok(Opportunity {
        id: Id::generate(),
        rep,
        booked_path: Vec::new(),
        customer: text("opportunity.customer", &o.customer, 200)?,
        dimensions: convert::dimensions("opportunity.dimensions", o.dimensions.as_ref())?,
        stage: text("opportunity.stage", &o.stage, 100)?,
        outcome: outcome(o)?,
        expected_amount: expected,
        currency: currency.unwrap_or(CurrencyCode::XXX),
        close_date: (!o.close_date.is_empty())
            .then(|| convert::date("opportunity.close_date", &o.close_date))
            .transpose()?,
        loss_detail: text("opportunity.loss_detail", &o.loss_detail, 2000)?,
        version: 1,
        create_time: now,
        update_time: now,
    })
}

fn opportunity_change(o: &pb::Opportunity) -> ServiceResult<OpportunityChange> {
    Ok(OpportunityChange {
        stage: text("opportunity.stage", &o.stage, 100)?,
        outcome: outcome(o)?,
        close_date: (!o.close_date.is_empty())
            .then(|| convert::date("opportunity.close_date", &o.close_date))
            .transpose()?,
        expected_amount: match o.expected_amount.as_ref() {
            Some(m) => Some(money_in("opportunity.expected_amount", Some(m))?.0),
            None => None,
        },
        loss_detail: text("opportunity.loss_detail", &o.loss_detail, 2000)?,
        etag: o.etag.clone(),
    })
}

/// A new daily log from the wire; the service sets its id, path, time.
fn new_daily_log(l: &pb::DailyLog) -> ServiceResult<DailyLog> {
    let rep = unit_id("daily_log.rep", &l.rep)?;
    let date = convert::date("daily_log.log_date", &l.log_date)?;
    let (closed, closed_currency) = money_in("daily_log.amount_closed", l.amount_closed.as_ref())?;
    let follow_ups = l
        .follow_ups
        .iter()
        .enumerate()
        .map(|(i, f)| {
            Ok(FollowUp {
                customer: text(&format!("daily_log.follow_ups[{i}].customer"), &f.customer, 200)?,
                stage: text(&format!("daily_log.follow_ups[{i}].stage"), &f.stage, 100)?,
                next_step: text(&format!("daily_log.follow_ups[{i}].next_step"), &f.next_step, 500)?,
            })
        })
        .collect::<ServiceResult<Vec<_>>>()?;
    let mut currency = closed_currency;
    let lost_deals = l
        .lost_deals
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let (amount, c) = money_in(&format!("daily_log.lost_deals[{i}].amount"), d.amount.as_ref())?;
            currency = currency.or(c);
            Ok(LostDeal {
                customer: text(&format!("daily_log.lost_deals[{i}].customer"), &d.customer, 200)?,
                reason: loss_reason(&format!("daily_log.lost_deals[{i}].reason"), d.reason)?,
                detail: text(&format!("daily_log.lost_deals[{i}].detail"), &d.detail, 2000)?,
                amount,
            })
        })
        .collect::<ServiceResult<Vec<_>>>()?;
    if follow_ups.len() > 500 || lost_deals.len() > 500 {
        return Err(ServiceError::invalid("daily_log", "at most 500 follow-ups and 500 lost deals a day"));
    }
    Ok(DailyLog {
        id: Id::generate(),
        rep,
        booked_path: Vec::new(),
        date,
        body: DailyLogBody {
            currency: currency.map(|c| c.to_string()).unwrap_or_default(),
            follow_ups,
            amount_closed: closed,
            lost_deals,
            notes: text("daily_log.notes", &l.notes, 4000)?,
        },
        create_time: Utc::now(),
    })
}

impl TrackingApi {
    pub(crate) async fn create_opportunity(
        &self,
        ctx: Ctx,
        mut r: pb::CreateOpportunityRequest,
    ) -> ServiceResult<pb::Opportunity> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        require_request_id(&request_id)?;
        let key = IdempotencyKey::new(&who.person, "CreateOpportunity", &request_id, &r)?;
        let o = r.opportunity.ok_or_else(|| ServiceError::invalid("opportunity", "is required"))?;
        let opp = new_opportunity(&o)?;
        self.app.create_opportunity((&who, &fwd), key, opp, opportunity_wire).await
    }

    pub(crate) async fn update_opportunity(
        &self,
        ctx: Ctx,
        mut r: pb::UpdateOpportunityRequest,
    ) -> ServiceResult<pb::Opportunity> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "UpdateOpportunity", &request_id, &r)?;
        let o = r.opportunity.ok_or_else(|| ServiceError::invalid("opportunity", "is required"))?;
        let id = opportunity_id(&o.name)?;
        let change = opportunity_change(&o)?;
        self.app.update_opportunity((&who, &fwd), key, (&id, &o.name), change, opportunity_wire).await
    }

    pub(crate) async fn list_opportunities(
        &self,
        ctx: Ctx,
        r: pb::ListOpportunitiesRequest,
    ) -> ServiceResult<pb::ListOpportunitiesResponse> {
        let Ctx { who, fwd } = ctx;
        let query = format!("ListOpportunities {} {}", r.unit, r.period);
        let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
        let unit = self.app.visible_somewhere(&who, &fwd, &unit_id("unit", &r.unit)?).await?;
        let dates = dates(&r.period)?;
        let mut rows =
            self.app.list_opportunities((&who, &unit), dates, page.after.as_deref(), page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |o| o.id.as_str().to_owned());
        Ok(pb::ListOpportunitiesResponse {
            opportunities: rows.iter().map(opportunity_wire).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn create_daily_log(
        &self,
        ctx: Ctx,
        mut r: pb::CreateDailyLogRequest,
    ) -> ServiceResult<pb::DailyLog> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        require_request_id(&request_id)?;
        let key = IdempotencyKey::new(&who.person, "CreateDailyLog", &request_id, &r)?;
        let l = r.daily_log.ok_or_else(|| ServiceError::invalid("daily_log", "is required"))?;
        let log = new_daily_log(&l)?;
        self.app.create_daily_log((&who, &fwd), key, log, log_wire).await
    }

    pub(crate) async fn list_daily_logs(
        &self,
        ctx: Ctx,
        r: pb::ListDailyLogsRequest,
    ) -> ServiceResult<pb::ListDailyLogsResponse> {
        let Ctx { who, fwd } = ctx;
        let query = format!("ListDailyLogs {} {}", r.unit, r.period);
        let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
        let unit = self.app.visible_somewhere(&who, &fwd, &unit_id("unit", &r.unit)?).await?;
        let dates = dates(&r.period)?;
        let mut rows =
            self.app.list_daily_logs((&who, &unit), dates, page.after.as_deref(), page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |l| l.id.as_str().to_owned());
        Ok(pb::ListDailyLogsResponse { daily_logs: rows.iter().map(log_wire).collect(), next_page_token })
    }

    pub(crate) async fn get_period_summary(
        &self,
        ctx: Ctx,
        r: pb::GetPeriodSummaryRequest,
    ) -> ServiceResult<pb::PeriodSummary> {
        let Ctx { who, fwd } = ctx;
        let unit = unit_id("unit", &r.unit)?;
        let period = Period::parse("period", &r.period, 1)?;
        Ok(summary_wire(&self.app.period_summary(&who, &fwd, &unit, &period).await?))
    }

    pub(crate) async fn set_gap_analysis(
        &self,
        ctx: Ctx,
        mut r: pb::SetGapAnalysisRequest,
    ) -> ServiceResult<pb::PeriodSummary> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "SetGapAnalysis", &request_id, &r)?;
        let unit = unit_id("unit", &r.unit)?;
        let period = Period::parse("period", &r.period, 1)?;
        let body = text("text", &r.text, 20_000)?;
        if body.is_empty() {
            // A blank analysis would meet a team's weekly summary.
            return Err(ServiceError::invalid("text", "is required: the analysis itself"));
        }
        Ok(summary_wire(&self.app.set_gap_analysis((&who, &fwd), key, (&unit, &period), body, &r.etag).await?))
    }

    pub(crate) async fn list_loss_reasons(
        &self,
        ctx: Ctx,
        r: pb::ListLossReasonsRequest,
    ) -> ServiceResult<pb::ListLossReasonsResponse> {
        let Ctx { who, fwd } = ctx;
        let unit = unit_id("unit", &r.unit)?;
        let period = Period::parse("period", &r.period, 1)?;
        if r.limit < 0 {
            return Err(ServiceError::invalid("limit", "must not be negative"));
        }
        let limit = if r.limit == 0 { 8 } else { usize::try_from(r.limit).unwrap_or(8) };
        let (reasons, currency) = self.app.loss_reasons(&who, &fwd, &unit, &period, limit).await?;
        Ok(convert::loss_reasons(&reasons, currency))
    }
}
