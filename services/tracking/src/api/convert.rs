//! Conversions between attain.tracking.v1 messages and domain types.

pub use attain_kit::wire::{money, period, timestamp};
use attain_kit::{
    ServiceError, ServiceResult,
    id::Id,
    money::{Amount, CurrencyCode, parse_plain_decimal},
};
use attain_proto::attain::{common::v1 as common, tracking::v1 as pb};
use chrono::NaiveDate;
use rust_decimal::Decimal;

use attain_kit::period::Period;
use attain_target_client::PlanInfo;

use crate::app::{
    activity::{MemberSummary, PeriodSummary},
    close::CloseView,
    measure::{BurnUp, Measured},
};
use crate::domain::{
    activity::{DailyLog, LossReason, Opportunity, Outcome},
    alert::{Alert, AlertSummary, Rule, State},
    attainment::Status,
    credit::Share,
    deal::{Deal, DealKind, Dimensions, NewDeal},
};

pub fn date(field: &str, s: &str) -> ServiceResult<NaiveDate> {
    attain_kit::wire::parse_date(field, s)
}

pub use crate::domain::attainment::ratio_text as ratio;

/// A slice named on the wire, checked (`field`: "dimensions").
pub fn dimensions(field: &str, d: Option<&common::Dimensions>) -> ServiceResult<Dimensions> {
    let d = slice(d);
    d.check(field)?;
    Ok(d)
}

/// A slice as given, trimmed (a new deal's is checked with the deal).
fn slice(d: Option<&common::Dimensions>) -> Dimensions {
    d.map(|d| Dimensions {
        product_line: d.product_line.trim().to_owned(),
        customer_type: d.customer_type.trim().to_owned(),
    })
    .unwrap_or_default()
}

pub fn dimensions_wire(d: &Dimensions) -> common::Dimensions {
    common::Dimensions { product_line: d.product_line.clone(), customer_type: d.customer_type.clone() }
}

pub fn status(s: Status) -> common::Status {
    match s {
        Status::Green => common::Status::Green,
        Status::Yellow => common::Status::Yellow,
        Status::Red => common::Status::Red,
    }
}

/// A new sale from the wire; `field` prefixes error paths ("requests[3].deal").
pub fn new_deal(field: &str, d: Option<&pb::Deal>) -> ServiceResult<NewDeal> {
    let d = d.ok_or_else(|| ServiceError::invalid(field, "is required"))?;
    let m = d.amount.as_ref().ok_or_else(|| ServiceError::invalid(format!("{field}.amount"), "is required"))?;
    let currency = if m.currency_code.is_empty() {
        None
    } else {
        Some(
            CurrencyCode::parse(&m.currency_code)
                .map_err(|e| ServiceError::invalid(format!("{field}.amount.currency_code"), e.to_string()))?,
        )
    };
    let amount = Amount::parse_cents(m.amount.trim())
        .map_err(|e| ServiceError::invalid(format!("{field}.amount.amount"), e.to_string()))?;
    Ok(NewDeal {
        rep: Id::from_name(&format!("{field}.rep"), &d.rep)?,
        amount,
        currency,
        close_date: date(&format!("{field}.close_date"), &d.close_date)?,
        customer: d.customer.trim().to_owned(),
        dimensions: slice(d.dimensions.as_ref()),
        opportunity: d.opportunity.trim().to_owned(),
        shares: shares(&format!("{field}.credits"), &d.credits)?,
    })
}

fn shares(field: &str, credits: &[pb::CreditShare]) -> ServiceResult<Vec<Share>> {
    credits
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(Share {
                rep: Id::from_name(&format!("{field}[{i}].rep"), &c.rep)?,
                percent: parse_plain_decimal(c.percent.trim(), 10, 3).map_err(|e| {
                    ServiceError::invalid(format!("{field}[{i}].percent"), format!("{:?}: {e}", c.percent))
                })?,
            })
        })
        .collect()
}

pub fn deal_kind(k: DealKind) -> pb::DealKind {
    match k {
        DealKind::Sale => pb::DealKind::Sale,
        DealKind::Reversal => pb::DealKind::Reversal,
    }
}

pub fn deal(d: &Deal) -> pb::Deal {
    pb::Deal {
        name: d.resource_name(),
        rep: d.rep.resource_name(),
        amount: Some(money(d.amount, d.currency)),
        close_date: d.close_date.format("%Y-%m-%d").to_string(),
        customer: d.customer.clone(),
        dimensions: Some(dimensions_wire(&d.dimensions)),
        opportunity: d.opportunity.clone(),
        kind: deal_kind(d.kind) as i32,
        reverses: d.reverses.as_ref().map(|r| format!("deals/{}", r.as_str())).unwrap_or_default(),
        reversed_by: d.reversed_by.as_ref().map(|r| format!("deals/{}", r.as_str())).unwrap_or_default(),
        booked_path: d.booked_path.iter().map(Id::resource_name).collect(),
        credits: d
            .credits
            .iter()
            .map(|c| pb::CreditShare {
                rep: c.rep.resource_name(),
                percent: c.percent.normalize().to_string(),
                amount: Some(money(c.amount, d.currency)),
                booked_path: c.booked_path.iter().map(Id::resource_name).collect(),
            })
            .collect(),
        request_id: d.request_id.clone(),
        create_time: Some(timestamp(d.create_time)),
    }
}

/// Money in a plan's currency; without a covering plan (none any more)
/// the amount alone.
pub fn money_in(x: Amount, currency: Option<CurrencyCode>) -> common::Money {
    currency.map_or_else(|| common::Money { currency_code: String::new(), amount: x.to_string() }, |c| money(x, c))
}

/// An alert on the wire, with what its plan measures it in and its
/// period's days (none known: its period's expression alone).
pub fn alert(a: &Alert, measured: Option<(CurrencyCode, Period)>) -> pb::Alert {
    let (currency, days) = measured.unzip();
    let m = |x: Amount| Some(money_in(x, currency));
    pb::Alert {
        name: a.resource_name(),
        unit: a.unit.resource_name(),
        unit_path: a.unit_path.iter().map(Id::resource_name).collect(),
        period: Some(
            days.map_or_else(|| common::Period { expression: a.period.clone(), ..Default::default() }, |p| period(&p)),
        ),
        rule: rule(a.rule) as i32,
        state: match a.state {
            State::Open => pb::AlertState::Open,
            State::Acknowledged => pb::AlertState::Acknowledged,
            State::Resolved => pb::AlertState::Resolved,
        } as i32,
        severity: status(a.severity) as i32,
        message: a.message.clone(),
        // A report alert is not about the figures.
        actual: (a.rule != Rule::ReportOverdue).then(|| m(a.actual)).flatten(),
        expected: (a.rule != Rule::ReportOverdue).then(|| m(a.expected)).flatten(),
        acknowledged_by: a.acknowledged_by.clone(),
        open_time: Some(timestamp(a.open_time)),
        acknowledge_time: a.acknowledge_time.map(timestamp),
        resolve_time: a.resolve_time.map(timestamp),
        etag: a.version.to_string(),
        escalation_level: i32::try_from(a.escalation_level).unwrap_or(i32::MAX),
        escalated_to: a.escalated_to.as_ref().map(Id::resource_name).unwrap_or_default(),
        escalate_time: a.escalate_time.map(timestamp),
        metric: attain_kit::wire::metric(a.metric) as i32,
    }
}

fn rule(r: Rule) -> pb::AlertRule {
    match r {
        Rule::BehindPace => pb::AlertRule::BehindPace,
        Rule::MissedMilestone => pb::AlertRule::MissedMilestone,
        Rule::StaleData => pb::AlertRule::StaleData,
        Rule::ReportOverdue => pb::AlertRule::ReportOverdue,
    }
}

pub fn alert_summary(s: &AlertSummary, cur: &crate::app::alerts::Currencies) -> pb::AlertSummary {
    pb::AlertSummary {
        total: s.total,
        by_severity: s
            .by_severity
            .iter()
            .map(|(x, n)| pb::SeverityCount { severity: status(*x) as i32, count: *n })
            .collect(),
        by_rule: s.by_rule.iter().map(|(r, n)| pb::RuleCount { rule: rule(*r) as i32, count: *n }).collect(),
        first: s.first.iter().map(|a| alert(a, cur.of(a))).collect(),
    }
}

/// A unit's measured figures on the wire, in the plan's currency.
pub fn attainment(m: &Measured, plan: &PlanInfo, period: &Period) -> pb::Attainment {
    let f = &m.figures;
    let e = &m.expected;
    let money = |a| Some(money(a, plan.currency));
    let decimal_money = |d: Decimal| Amount::from_decimal(d).ok().and_then(money);
    pb::Attainment {
        unit: m.unit.id.resource_name(),
        period: Some(self::period(period)),
        target: money(e.period_target),
        original_target: money(e.original_target),
        actual: money(m.actual.amount),
        attainment_rate: ratio(f.attainment_rate),
        gap: decimal_money(f.gap),
        time_progress: e.time_progress.round_dp(6).normalize().to_string(),
        pace: ratio(f.pace),
        expected_to_date: money(e.by_curve),
        forecast: decimal_money(f.forecast),
        yoy_growth: ratio(f.yoy_growth),
        // Order value is money: amount plans only.
        average_order_value: if plan.metric.is_count() { None } else { f.average_order_value.and_then(decimal_money) },
        conversion_rate: ratio(m.conversion),
        deals_won: m.deals_won,
        // No target for what was asked: no colour, never GREEN.
        status: if m.has_target { status(f.status) } else { common::Status::NoTarget } as i32,
        data_time: Some(timestamp(chrono::Utc::now())),
        // A closed period shows its frozen actual and what later
        // corrections added, so nothing changes silently.
        closed_actual: m.closed.as_ref().and_then(|c| money(c.actual)),
        post_close_adjustment: m
            .closed
            .as_ref()
            .and_then(|c| c.post_close_adjustment(m.actual.amount).ok())
            .and_then(money),
        metric: attain_kit::wire::metric(plan.metric) as i32,
    }
}

pub fn burn_up(b: &BurnUp) -> pb::BurnUp {
    let money = |a| Some(money(a, b.currency));
    pb::BurnUp {
        unit: b.unit.resource_name(),
        period: Some(period(&b.period)),
        period_target: money(b.period_target),
        days: b
            .days
            .iter()
            .map(|(d, by_curve, by_milestone, actual)| pb::BurnUpDay {
                date: d.format("%Y-%m-%d").to_string(),
                target_to_date: money(*by_curve),
                milestone_to_date: money(*by_milestone),
                actual_to_date: actual.and_then(money),
            })
            .collect(),
        milestones: b
            .milestones
            .iter()
            .map(|(day_of_period, percent)| attain_proto::attain::target::v1::Milestone {
                day_of_period: *day_of_period,
                percent: percent.clone(),
            })
            .collect(),
    }
}

pub fn period_close(v: &CloseView) -> pb::PeriodClose {
    let money = |a| Some(money(a, v.plan.currency));
    let units = v
        .lines
        .iter()
        .map(|(l, current)| pb::ClosedFigures {
            unit: l.unit.resource_name(),
            target: money(l.target),
            original_target: money(l.original_target),
            actual: money(l.actual),
            deals_won: l.deals_won,
            attainment_rate: l.attainment_rate.clone(),
            status: status(l.status) as i32,
            closed_by: l.closed_by.clone(),
            close_time: Some(timestamp(l.closed_at)),
            current_actual: money(*current),
            post_close_adjustment: l.post_close_adjustment(*current).ok().and_then(money),
        })
        .collect();
    let adjustments = v
        .adjustments
        .iter()
        .map(|(d, inside)| pb::PostCloseAdjustment {
            deal: d.resource_name(),
            rep: d.rep.resource_name(),
            kind: deal_kind(d.kind) as i32,
            amount: money(*inside),
            close_date: d.close_date.format("%Y-%m-%d").to_string(),
            created_by: d.created_by.clone(),
            create_time: Some(timestamp(d.create_time)),
        })
        .collect();
    pb::PeriodClose {
        name: v.name.clone(),
        unit: v.unit.resource_name(),
        period: Some(period(&v.period)),
        units,
        adjustments,
    }
}

/// Sales activity on the wire: loss reasons both ways, opportunities,
/// daily logs, period summaries.
pub fn loss_reason(field: &str, v: i32) -> ServiceResult<LossReason> {
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

/// Loss reasons with their counts and amounts, most frequent first.
pub fn loss_reasons(
    reasons: &[(LossReason, i64, Amount)],
    currency: Option<CurrencyCode>,
) -> pb::ListLossReasonsResponse {
    let reasons = reasons
        .iter()
        .map(|(reason, count, amount)| pb::LossReasonCount {
            reason: to_loss_reason(*reason) as i32,
            count: *count,
            amount: Some(money_in(*amount, currency)),
        })
        .collect();
    pb::ListLossReasonsResponse { reasons }
}

pub fn to_loss_reason(r: LossReason) -> pb::LossReason {
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

pub fn opportunity_wire(o: &Opportunity) -> pb::Opportunity {
    let (outcome, reason) = match o.outcome {
        Outcome::Open => (pb::OpportunityOutcome::Open, pb::LossReason::Unspecified),
        Outcome::Won => (pb::OpportunityOutcome::Won, pb::LossReason::Unspecified),
        Outcome::Lost(r) => (pb::OpportunityOutcome::Lost, to_loss_reason(r)),
    };
    pb::Opportunity {
        name: o.resource_name(),
        rep: o.rep.resource_name(),
        customer: o.customer.clone(),
        dimensions: Some(dimensions_wire(&o.dimensions)),
        stage: o.stage.clone(),
        outcome: outcome as i32,
        expected_amount: Some(money(o.expected_amount, o.currency)),
        close_date: o.close_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        loss_reason: reason as i32,
        loss_detail: o.loss_detail.clone(),
        etag: o.version.to_string(),
        create_time: Some(timestamp(o.create_time)),
        update_time: Some(timestamp(o.update_time)),
    }
}

pub fn log_wire(l: &DailyLog) -> pb::DailyLog {
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
        create_time: Some(timestamp(l.create_time)),
    }
}

pub fn summary_wire(s: &PeriodSummary) -> pb::PeriodSummary {
    let cny = |a: Amount| Some(money_in(a, s.currency));
    let member = |m: &MemberSummary| pb::MemberSummary {
        unit: m.unit.resource_name(),
        actual: cny(m.sum.amount),
        deals_won: m.sum.deals_won,
        follow_ups: m.follow_ups,
        deals_lost: m.deals_lost,
        period: Some(period(&m.period)),
    };
    let gap = s.gap_analysis.as_ref();
    pb::PeriodSummary {
        unit: s.unit.resource_name(),
        period: Some(period(&s.period)),
        actual: cny(s.own.sum.amount),
        deals_won: s.own.sum.deals_won,
        follow_ups: s.own.follow_ups,
        deals_lost: s.own.deals_lost,
        members: s.members.iter().map(member).collect(),
        gap_analysis: gap.map(|g| g.text.clone()).unwrap_or_default(),
        gap_analysis_author: gap.map(|g| g.author.clone()).unwrap_or_default(),
        etag: gap.map_or_else(|| "0".to_owned(), |g| g.version.to_string()),
    }
}
