//! Opportunities, daily logs, period summaries with the lead's gap
//! analysis, and loss reasons.

use attain_kit::context::Ctx;
use attain_kit::idempotent;
use attain_kit::scope::{hidden, reveal};
use attain_kit::{
    ServiceError, ServiceResult,
    auth::{Identity, Role},
    id::Id,
    idempotency::IdempotencyKey,
    money::{Amount, CurrencyCode},
    paging::PageRequest,
    period::Period,
    upstream::Forwarded,
};
use attain_proto::attain::{common::v1 as common, tracking::v1 as pb};
use attain_target_client::UnitInfo;
use chrono::Utc;

use super::{TrackingApi, convert, deals::may_write};
use crate::{
    domain::activity::{DailyLog, DailyLogBody, FollowUp, LossReason, LostDeal, Opportunity, Outcome},
    storage::{activity, rollups},
};

fn loss_reason(field: &str, v: i32) -> ServiceResult<LossReason> {
    use pb::LossReason as P;
    match P::try_from(v) {
        Ok(P::Price) => Ok(LossReason::Price),
        Ok(P::Competitor) => Ok(LossReason::Competitor),
        Ok(P::NoBudget) => Ok(LossReason::NoBudget),
        Ok(P::NoDecision) => Ok(LossReason::NoDecision),
        Ok(P::ProductFit) => Ok(LossReason::ProductFit),
        Ok(P::Timing) => Ok(LossReason::Timing),
        Ok(P::Relationship) => Ok(LossReason::Relationship),
        Ok(P::Other) => Ok(LossReason::Other),
        Ok(P::Unspecified) => Err(ServiceError::invalid(field, "is required for a lost deal")),
        Err(_) => Err(ServiceError::invalid(field, format!("{v} is not a LossReason"))),
    }
}

pub(crate) fn to_loss_reason(r: LossReason) -> pb::LossReason {
    use pb::LossReason as P;
    match r {
        LossReason::Price => P::Price,
        LossReason::Competitor => P::Competitor,
        LossReason::NoBudget => P::NoBudget,
        LossReason::NoDecision => P::NoDecision,
        LossReason::ProductFit => P::ProductFit,
        LossReason::Timing => P::Timing,
        LossReason::Relationship => P::Relationship,
        LossReason::Other => P::Other,
    }
}

fn text(field: &str, s: &str, max: usize) -> ServiceResult<String> {
    let t = s.trim();
    if t.chars().count() > max || t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(ServiceError::invalid(field, format!("at most {max} printable characters")));
    }
    Ok(t.to_owned())
}

fn money_in(field: &str, m: Option<&common::Money>) -> ServiceResult<(Amount, Option<CurrencyCode>)> {
    match m {
        None => Ok((Amount::ZERO, None)),
        Some(m) => {
            let a = Amount::parse(m.amount.trim())
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

fn opportunity_wire(o: &Opportunity) -> pb::Opportunity {
    let (outcome, reason) = match o.outcome {
        Outcome::Open => (pb::OpportunityOutcome::Open, pb::LossReason::Unspecified),
        Outcome::Won => (pb::OpportunityOutcome::Won, pb::LossReason::Unspecified),
        Outcome::Lost(r) => (pb::OpportunityOutcome::Lost, to_loss_reason(r)),
    };
    pb::Opportunity {
        name: o.resource_name(),
        rep: o.rep.resource_name(),
        customer: o.customer.clone(),
        dimensions: Some(common::Dimensions {
            product_line: o.dimensions.product_line.clone(),
            customer_type: o.dimensions.customer_type.clone(),
        }),
        stage: o.stage.clone(),
        outcome: outcome as i32,
        expected_amount: Some(convert::money(o.expected_amount, o.currency)),
        close_date: o.close_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        loss_reason: reason as i32,
        loss_detail: o.loss_detail.clone(),
        etag: o.version.to_string(),
        create_time: Some(convert::timestamp(o.create_time)),
        update_time: Some(convert::timestamp(o.update_time)),
    }
}

fn log_wire(l: &DailyLog) -> pb::DailyLog {
    let money = |a: Amount| common::Money { currency_code: l.body.currency.clone(), amount: a.to_string() };
    pb::DailyLog {
        name: l.resource_name(),
        rep: l.rep.resource_name(),
        log_date: l.date.format("%Y-%m-%d").to_string(),
        follow_ups: l
            .body
            .follow_ups
            .iter()
            .map(|f| pb::FollowUp {
                customer: f.customer.clone(),
                stage: f.stage.clone(),
                next_step: f.next_step.clone(),
            })
            .collect(),
        amount_closed: Some(money(l.body.amount_closed)),
        lost_deals: l
            .body
            .lost_deals
            .iter()
            .map(|d| pb::LostDeal {
                customer: d.customer.clone(),
                reason: to_loss_reason(d.reason) as i32,
                detail: d.detail.clone(),
                amount: Some(money(d.amount)),
            })
            .collect(),
        notes: l.body.notes.clone(),
        create_time: Some(convert::timestamp(l.create_time)),
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

impl TrackingApi {
    /// A rep the caller may record activity for.
    async fn writable_rep(&self, who: &Identity, fwd: &Forwarded, field: &str, name: &str) -> ServiceResult<UnitInfo> {
        let rep = self.target.unit(fwd, &Id::from_name(field, name)?).await.map_err(|e| match e {
            // Out of scope (or missing, which non-admins cannot tell apart),
            // as for deals.
            ServiceError::Upstream(s) if s.code() == tonic::Code::PermissionDenied => {
                ServiceError::PermissionDenied(format!("{field}: {}", s.message()))
            }
            ServiceError::Upstream(s) => ServiceError::invalid(field, s.message().to_owned()),
            other => other,
        })?;
        if !rep.is_rep {
            return Err(ServiceError::invalid(field, format!("{name} is not a REP unit")));
        }
        if !may_write(who, &rep) {
            return Err(ServiceError::PermissionDenied(format!("you may not record activity for {name}")));
        }
        Ok(rep)
    }

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
        let rep = self.writable_rep(&who, &fwd, "opportunity.rep", &o.rep).await?;
        let (expected, currency) = money_in("opportunity.expected_amount", o.expected_amount.as_ref())?;
        let now = Utc::now();
        let opp = Opportunity {
            id: Id::generate(),
            rep: rep.id.clone(),
            booked_path: rep.path.clone(),
            customer: text("opportunity.customer", &o.customer, 200)?,
            dimensions: convert::dimensions(o.dimensions.as_ref()),
            stage: text("opportunity.stage", &o.stage, 100)?,
            outcome: outcome(&o)?,
            expected_amount: expected,
            currency: currency.unwrap_or(CurrencyCode::parse("XXX").map_err(|e| ServiceError::Internal(e.into()))?),
            close_date: if o.close_date.is_empty() {
                None
            } else {
                Some(convert::date("opportunity.close_date", &o.close_date)?)
            },
            loss_detail: text("opportunity.loss_detail", &o.loss_detail, 2000)?,
            version: 1,
            create_time: now,
            update_time: now,
        };
        opp.check("opportunity")?;
        idempotent!(self.db, key, |txn| {
            activity::insert_opportunity(&txn, &opp).await?;
            opportunity_wire(&opp)
        })
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
        let oid = match o.name.strip_prefix("opportunities/") {
            Some(x) => Id::parse("opportunity.name", x)?,
            None => {
                return Err(ServiceError::invalid(
                    "opportunity.name",
                    "is not an opportunity name (opportunities/{id})",
                ));
            }
        };
        idempotent!(self.db, key, |txn| {
            let hide = || hidden(&o.name);
            let current = reveal(&who, "opportunity", &o.name, activity::get_opportunity(&txn, &oid).await?, |_| true)?;
            let rep = self.target.unit(&fwd, &current.rep).await.map_err(|_| hide())?;
            if !may_write(&who, &rep) {
                return Err(hide());
            }
            attain_kit::scope::check_etag(&o.etag, &current.version.to_string(), &o.name)?;
            let mut next = current.clone();
            next.stage = text("opportunity.stage", &o.stage, 100)?;
            next.outcome = outcome(&o)?;
            if !o.close_date.is_empty() {
                next.close_date = Some(convert::date("opportunity.close_date", &o.close_date)?);
            }
            if let Some(m) = o.expected_amount.as_ref() {
                next.expected_amount = money_in("opportunity.expected_amount", Some(m))?.0;
            }
            next.loss_detail = text("opportunity.loss_detail", &o.loss_detail, 2000)?;
            next.version = current.version + 1;
            next.update_time = Utc::now();
            next.check("opportunity")?;
            if !activity::update_opportunity(&txn, &current, &next).await? {
                return Err(ServiceError::stale_etag(&o.name));
            }
            opportunity_wire(&next)
        })
    }

    pub(crate) async fn list_opportunities(
        &self,
        ctx: Ctx,
        r: pb::ListOpportunitiesRequest,
    ) -> ServiceResult<pb::ListOpportunitiesResponse> {
        let Ctx { who, fwd } = ctx;
        let page = PageRequest::parse(
            r.page_size,
            &r.page_token,
            &format!("ListOpportunities {} {}", r.unit, r.period),
            &who,
        )?;
        let unit = self.visible(&who, &fwd, "unit", &r.unit).await?;
        let dates = if r.period.is_empty() {
            None
        } else {
            Some(Period::parse("period", &r.period, 1)?).map(|p| (p.start, p.end))
        };
        let mut rows =
            activity::list_opportunities(&self.db, &unit.path, dates, page.after.as_deref(), page.fetch_limit())
                .await?;
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
        let rep = self.writable_rep(&who, &fwd, "daily_log.rep", &l.rep).await?;
        let date = convert::date("daily_log.log_date", &l.log_date)?;
        if date > self.clock.today() {
            return Err(ServiceError::invalid("daily_log.log_date", "is in the future"));
        }
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
        let log = DailyLog {
            id: Id::generate(),
            rep: rep.id.clone(),
            booked_path: rep.path.clone(),
            date,
            body: DailyLogBody {
                currency: currency.map(|c| c.to_string()).unwrap_or_default(),
                follow_ups,
                amount_closed: closed,
                lost_deals,
                notes: text("daily_log.notes", &l.notes, 4000)?,
            },
            create_time: Utc::now(),
        };
        idempotent!(self.db, key, |txn| {
            activity::insert_log(&txn, &log).await?;
            log_wire(&log)
        })
    }

    pub(crate) async fn list_daily_logs(
        &self,
        ctx: Ctx,
        r: pb::ListDailyLogsRequest,
    ) -> ServiceResult<pb::ListDailyLogsResponse> {
        let Ctx { who, fwd } = ctx;
        let page =
            PageRequest::parse(r.page_size, &r.page_token, &format!("ListDailyLogs {} {}", r.unit, r.period), &who)?;
        let unit = self.visible(&who, &fwd, "unit", &r.unit).await?;
        let dates = if r.period.is_empty() {
            None
        } else {
            Some(Period::parse("period", &r.period, 1)?).map(|p| (p.start, p.end))
        };
        let mut rows =
            activity::list_logs(&self.db, &unit.path, dates, page.after.as_deref(), page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |l| l.id.as_str().to_owned());
        Ok(pb::ListDailyLogsResponse { daily_logs: rows.iter().map(log_wire).collect(), next_page_token })
    }

    async fn summary(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        unit_name: &str,
        period_expr: &str,
    ) -> ServiceResult<pb::PeriodSummary> {
        let unit = self.visible(who, fwd, "unit", unit_name).await?;
        let period = Period::parse("period", period_expr, 1)?;
        let subtree = self.target.subtree(fwd, &unit.id).await?;
        let members: Vec<&UnitInfo> = subtree.iter().filter(|u| u.parent.as_ref() == Some(&unit.id)).collect();
        let mut ids: Vec<Id> = members.iter().map(|m| m.id.clone()).collect();
        ids.push(unit.id.clone());
        let sums = rollups::sums(&self.db, &ids, period.start, period.end, &Default::default()).await?;
        let losses = activity::losses(&self.db, &ids, period.start, period.end).await?;
        let follow_by_rep = activity::follow_ups_by_rep(&self.db, &unit.path, period.start, period.end).await?;
        let lost_of = |id: &Id| losses.get(id).map_or(0, |v| v.iter().map(|x| x.1).sum());
        // Follow-ups of a member: its own (a rep) or all reps below it.
        let follow_of =
            |m: &UnitInfo| follow_by_rep.iter().filter(|(rep, _)| **rep == m.id).map(|(_, n)| n).sum::<i64>();
        let follow_below =
            |m: &UnitInfo| -> i64 { subtree.iter().filter(|u| u.path.contains(&m.id)).map(follow_of).sum() };
        let cny = |a: Amount| Some(common::Money { currency_code: String::new(), amount: a.to_string() });
        let own = sums.get(&unit.id).copied().unwrap_or_default();
        let gap = activity::gap_analysis(&self.db, &unit.id, &period.expression).await?;
        Ok(pb::PeriodSummary {
            unit: unit.id.resource_name(),
            period: Some(convert::period(&period)),
            actual: cny(own.amount),
            deals_won: own.deals_won,
            follow_ups: follow_below(&unit),
            deals_lost: lost_of(&unit.id),
            members: members
                .iter()
                .map(|m| {
                    let s = sums.get(&m.id).copied().unwrap_or_default();
                    pb::MemberSummary {
                        unit: m.id.resource_name(),
                        actual: cny(s.amount),
                        deals_won: s.deals_won,
                        follow_ups: follow_below(m),
                        deals_lost: lost_of(&m.id),
                    }
                })
                .collect(),
            gap_analysis: gap.as_ref().map(|g| g.text.clone()).unwrap_or_default(),
            gap_analysis_author: gap.as_ref().map(|g| g.author.clone()).unwrap_or_default(),
            etag: gap.map_or_else(|| "0".to_owned(), |g| g.version.to_string()),
        })
    }

    pub(crate) async fn get_period_summary(
        &self,
        ctx: Ctx,
        r: pb::GetPeriodSummaryRequest,
    ) -> ServiceResult<pb::PeriodSummary> {
        let Ctx { who, fwd } = ctx;
        self.summary(&who, &fwd, &r.unit, &r.period).await
    }

    /// The team lead's / region manager's written analysis of the gap.
    pub(crate) async fn set_gap_analysis(
        &self,
        ctx: Ctx,
        r: pb::SetGapAnalysisRequest,
    ) -> ServiceResult<pb::PeriodSummary> {
        let Ctx { who, fwd } = ctx;
        let unit = self.visible(&who, &fwd, "unit", &r.unit).await?;
        if !matches!(who.role, Role::Admin | Role::Manager) {
            return Err(ServiceError::PermissionDenied("a gap analysis is written by the unit's manager".to_owned()));
        }
        let period = Period::parse("period", &r.period, 1)?;
        let body = text("text", &r.text, 20_000)?;
        let current = activity::gap_analysis(&self.db, &unit.id, &period.expression).await?;
        let current_version = current.as_ref().map_or(0, |g| g.version);
        attain_kit::scope::check_etag(
            &r.etag,
            &current_version.to_string(),
            &format!("the gap analysis of {} for {}", r.unit, period.expression),
        )?;
        let next = activity::GapAnalysis {
            text: body,
            author: who.person.clone(),
            version: current_version + 1,
            time: Utc::now(),
        };
        let written =
            activity::put_gap_analysis(&self.db, &unit.id, &period.expression, &next, current.map(|g| g.version)).await;
        match written {
            Ok(true) => {}
            Ok(false) | Err(ServiceError::Internal(_)) => {
                return Err(ServiceError::stale_etag(&format!(
                    "the gap analysis of {} for {}",
                    r.unit, period.expression
                )));
            }
            Err(e) => return Err(e),
        }
        self.summary(&who, &fwd, &r.unit, &r.period).await
    }

    pub(crate) async fn list_loss_reasons(
        &self,
        ctx: Ctx,
        r: pb::ListLossReasonsRequest,
    ) -> ServiceResult<pb::ListLossReasonsResponse> {
        let Ctx { who, fwd } = ctx;
        let unit = self.visible(&who, &fwd, "unit", &r.unit).await?;
        let period = Period::parse("period", &r.period, 1)?;
        if r.limit < 0 {
            return Err(ServiceError::invalid("limit", "must not be negative"));
        }
        let limit = if r.limit == 0 { 8 } else { usize::try_from(r.limit).unwrap_or(8) };
        let losses = activity::losses(&self.db, std::slice::from_ref(&unit.id), period.start, period.end).await?;
        let reasons = losses
            .get(&unit.id)
            .map(|v| {
                v.iter()
                    .take(limit)
                    .map(|(reason, n, amount)| pb::LossReasonCount {
                        reason: to_loss_reason(*reason) as i32,
                        count: *n,
                        amount: Some(common::Money { currency_code: String::new(), amount: amount.to_string() }),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(pb::ListLossReasonsResponse { reasons })
    }
}
