//! Conversions between attain.target.v1 messages and domain types.

use attain_kit::ServiceError;
use attain_proto::attain::target::v1 as pb;
use chrono::{Datelike, NaiveDate};

use crate::domain::org::{RegionMaturity, Revision, Seniority, Unit, UnitChange as Change, UnitKind};

pub fn date(field: &str, s: &str) -> Result<Option<NaiveDate>, ServiceError> {
    if s.is_empty() {
        return Ok(None);
    }
    // Exactly YYYY-MM-DD: chrono alone also takes "2024-7-1" and years of
    // fewer digits, which are typos more often than dates.
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    shaped
        .then(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .flatten()
        .map(Some)
        .ok_or_else(|| ServiceError::invalid(field, format!("{s:?} is not a date (YYYY-MM-DD)")))
}

pub fn unit_kind(field: &str, v: i32) -> Result<UnitKind, ServiceError> {
    match pb::UnitKind::try_from(v) {
        Ok(pb::UnitKind::Company) => Ok(UnitKind::Company),
        Ok(pb::UnitKind::Region) => Ok(UnitKind::Region),
        Ok(pb::UnitKind::Team) => Ok(UnitKind::Team),
        Ok(pb::UnitKind::Rep) => Ok(UnitKind::Rep),
        Ok(pb::UnitKind::Unspecified) => {
            Err(ServiceError::invalid(field, "is required (COMPANY, REGION, TEAM or REP)"))
        }
        Err(_) => Err(ServiceError::invalid(field, format!("{v} is not a UnitKind"))),
    }
}

pub fn seniority(field: &str, v: i32) -> Result<Option<Seniority>, ServiceError> {
    match pb::Seniority::try_from(v) {
        Ok(pb::Seniority::Unspecified) => Ok(None),
        Ok(pb::Seniority::Senior) => Ok(Some(Seniority::Senior)),
        Ok(pb::Seniority::Regular) => Ok(Some(Seniority::Regular)),
        Ok(pb::Seniority::NewHire) => Ok(Some(Seniority::NewHire)),
        Err(_) => Err(ServiceError::invalid(field, format!("{v} is not a Seniority"))),
    }
}

pub fn region_maturity(field: &str, v: i32) -> Result<Option<RegionMaturity>, ServiceError> {
    match pb::RegionMaturity::try_from(v) {
        Ok(pb::RegionMaturity::Unspecified) => Ok(None),
        Ok(pb::RegionMaturity::Established) => Ok(Some(RegionMaturity::Established)),
        Ok(pb::RegionMaturity::New) => Ok(Some(RegionMaturity::New)),
        Err(_) => Err(ServiceError::invalid(field, format!("{v} is not a RegionMaturity"))),
    }
}

pub fn unit(u: &Unit) -> pb::Unit {
    let a = &u.attributes;
    pb::Unit {
        name: u.id.resource_name(),
        parent: u.parent.as_ref().map(|p| p.resource_name()).unwrap_or_default(),
        kind: match u.kind {
            UnitKind::Company => pb::UnitKind::Company,
            UnitKind::Region => pb::UnitKind::Region,
            UnitKind::Team => pb::UnitKind::Team,
            UnitKind::Rep => pb::UnitKind::Rep,
        } as i32,
        display_name: a.display_name.as_str().to_owned(),
        manager: a.manager.clone(),
        seniority: match a.seniority {
            None => pb::Seniority::Unspecified,
            Some(Seniority::Senior) => pb::Seniority::Senior,
            Some(Seniority::Regular) => pb::Seniority::Regular,
            Some(Seniority::NewHire) => pb::Seniority::NewHire,
        } as i32,
        start_date: a.start_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        end_date: a.end_date.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        employee_code: a.employee_code.clone().unwrap_or_default(),
        region_maturity: match a.region_maturity {
            None => pb::RegionMaturity::Unspecified,
            Some(RegionMaturity::Established) => pb::RegionMaturity::Established,
            Some(RegionMaturity::New) => pb::RegionMaturity::New,
        } as i32,
        ancestors: u.ancestors.iter().map(|a| a.resource_name()).collect(),
        former_places: u
            .former
            .iter()
            .map(|p| pb::Placement {
                ancestors: p.ancestors.iter().map(|a| a.resource_name()).collect(),
                until: p.until.format("%Y-%m-%d").to_string(),
            })
            .collect(),
        etag: u.etag(),
        create_time: Some(timestamp(u.create_time)),
        update_time: Some(timestamp(u.update_time)),
    }
}

pub fn unit_move(m: &crate::domain::org::UnitMove) -> pb::UnitMove {
    let names = |p: &[crate::domain::org::UnitId]| p.iter().map(|u| u.resource_name()).collect();
    pb::UnitMove {
        sequence: m.sequence,
        unit: m.unit.resource_name(),
        effective_date: m.from.format("%Y-%m-%d").to_string(),
        old_path: names(&m.old_path),
        new_path: names(&m.new_path),
        record_time: Some(timestamp(m.recorded)),
    }
}

pub fn revision(r: &Revision) -> pb::UnitRevision {
    pb::UnitRevision {
        name: format!("{}/revisions/{}", r.unit.id.resource_name(), r.id),
        change: match r.change {
            Change::Created => pb::UnitChange::Created,
            Change::Updated => pb::UnitChange::Updated,
            Change::Moved => pb::UnitChange::Moved,
        } as i32,
        unit: Some(unit(&r.unit)),
        actor: r.actor.clone(),
        change_time: Some(timestamp(r.changed_at)),
    }
}

// ---- plans, targets, adjustments ----

use attain_kit::money::{Amount, CurrencyCode, parse_plain_decimal};
pub use attain_kit::wire::{money, period, timestamp};
use attain_proto::attain::common::v1 as common;
use rust_decimal::Decimal;

use crate::domain::{
    allocation::{Coverage, CoveragePolicy},
    milestones::{Milestone, Milestones},
    phasing::{Curve, WorkingCalendar},
    plan::{Plan, PlanState, Thresholds},
    target::{
        Adjustment, AdjustmentReason, AdjustmentState, Change as TargetChange, Redistribution, Requested,
        Revision as TargetRevision, Target,
    },
};

/// A decimal with up to 12 fractional digits (rates, percentages, weights).
pub fn decimal(field: &str, s: &str) -> Result<Decimal, ServiceError> {
    parse_plain_decimal(s.trim(), 12, 15).map_err(|e| ServiceError::invalid(field, e.to_string()))
}

/// Empty means "not given".
pub fn opt_decimal(field: &str, s: &str) -> Result<Option<Decimal>, ServiceError> {
    if s.trim().is_empty() { Ok(None) } else { decimal(field, s).map(Some) }
}

pub fn amount(field: &str, s: &str) -> Result<Amount, ServiceError> {
    Amount::parse(s.trim()).map_err(|e| ServiceError::invalid(field, e.to_string()))
}

pub fn opt_amount(field: &str, s: &str) -> Result<Option<Amount>, ServiceError> {
    if s.trim().is_empty() { Ok(None) } else { amount(field, s).map(Some) }
}

/// A Money in the plan's currency (an empty currency code means the plan's).
pub fn money_in(field: &str, m: Option<&common::Money>, currency: CurrencyCode) -> Result<Amount, ServiceError> {
    let m = m.ok_or_else(|| ServiceError::invalid(field, "is required"))?;
    if !m.currency_code.is_empty() && m.currency_code != currency.as_str() {
        return Err(ServiceError::invalid(
            format!("{field}.currency_code"),
            format!("{} is not the plan's currency {currency}", m.currency_code),
        ));
    }
    amount(&format!("{field}.amount"), &m.amount)
}

pub fn coverage_policy(field: &str, c: Option<&pb::CoveragePolicy>) -> Result<CoveragePolicy, ServiceError> {
    let Some(c) = c else {
        return Ok(CoveragePolicy::Strict);
    };
    let pct = |name: &str, s: &str| -> Result<Decimal, ServiceError> {
        let f = format!("{field}.{name}");
        let v = decimal(&f, s)?;
        if v.is_sign_negative() || v > Decimal::ONE_HUNDRED {
            return Err(ServiceError::invalid(f, "must be between 0 and 100"));
        }
        Ok(v)
    };
    match pb::CoverageMode::try_from(c.mode) {
        Ok(pb::CoverageMode::Unspecified | pb::CoverageMode::Strict) => Ok(CoveragePolicy::Strict),
        Ok(pb::CoverageMode::Reserve) => {
            Ok(CoveragePolicy::Reserve(pct("max_reserve_percent", &c.max_reserve_percent)?))
        }
        Ok(pb::CoverageMode::OverAssign) => {
            Ok(CoveragePolicy::OverAssign(pct("max_over_assign_percent", &c.max_over_assign_percent)?))
        }
        Err(_) => Err(ServiceError::invalid(format!("{field}.mode"), format!("{} is not a CoverageMode", c.mode))),
    }
}

pub fn thresholds(field: &str, t: Option<&pb::AlertThresholds>) -> Result<Thresholds, ServiceError> {
    let d = Thresholds::default();
    let Some(t) = t else { return Ok(d) };
    let th = Thresholds {
        red_below: opt_decimal(&format!("{field}.red_below_percent"), &t.red_below_percent)?.unwrap_or(d.red_below),
        yellow_below: opt_decimal(&format!("{field}.yellow_below_percent"), &t.yellow_below_percent)?
            .unwrap_or(d.yellow_below),
    };
    th.check(field)?;
    Ok(th)
}

pub fn calendar(field: &str, c: Option<&pb::WorkingCalendar>) -> Result<WorkingCalendar, ServiceError> {
    let mut cal = WorkingCalendar::default();
    let Some(c) = c else { return Ok(cal) };
    if !c.weekend_days.is_empty() {
        cal.weekend_days.clear();
        for (i, d) in c.weekend_days.iter().enumerate() {
            let day = u32::try_from(*d).ok().filter(|d| (1..=7).contains(d));
            cal.weekend_days.insert(day.ok_or_else(|| {
                ServiceError::invalid(format!("{field}.weekend_days[{i}]"), "must be 1 (Monday) to 7 (Sunday)")
            })?);
        }
    }
    for (i, h) in c.holidays.iter().enumerate() {
        let d = date(&format!("{field}.holidays[{i}]"), h)?
            .ok_or_else(|| ServiceError::invalid(format!("{field}.holidays[{i}]"), "is empty"))?;
        cal.holidays.insert(d);
    }
    for (i, h) in c.working_weekends.iter().enumerate() {
        let d = date(&format!("{field}.working_weekends[{i}]"), h)?
            .ok_or_else(|| ServiceError::invalid(format!("{field}.working_weekends[{i}]"), "is empty"))?;
        cal.working_weekends.insert(d);
    }
    Ok(cal)
}

pub fn to_calendar(c: &WorkingCalendar) -> pb::WorkingCalendar {
    let fmt = |d: &NaiveDate| d.format("%Y-%m-%d").to_string();
    pb::WorkingCalendar {
        weekend_days: c.weekend_days.iter().map(|d| i32::try_from(*d).unwrap_or(0)).collect(),
        holidays: c.holidays.iter().map(fmt).collect(),
        working_weekends: c.working_weekends.iter().map(fmt).collect(),
    }
}

/// None when the method is unspecified (use the default).
pub fn curve(field: &str, c: Option<&pb::PhasingCurve>) -> Result<Option<Curve>, ServiceError> {
    let Some(c) = c else { return Ok(None) };
    let decimals = |name: &str, v: &[String]| -> Result<Vec<Decimal>, ServiceError> {
        v.iter().enumerate().map(|(i, s)| decimal(&format!("{field}.{name}[{i}]"), s)).collect()
    };
    match pb::PhasingMethod::try_from(c.method) {
        Ok(pb::PhasingMethod::Unspecified) => Ok(None),
        Ok(pb::PhasingMethod::Even) => Ok(Some(Curve::Even)),
        Ok(pb::PhasingMethod::WorkingDays) => Ok(Some(Curve::WorkingDays)),
        Ok(pb::PhasingMethod::Profile) => Ok(Some(Curve::profile(
            &format!("{field}.profile_percents"),
            decimals("profile_percents", &c.profile_percents)?,
        )?)),
        Ok(pb::PhasingMethod::LastYear) => Ok(Some(Curve::last_year(
            &format!("{field}.last_year_monthly"),
            decimals("last_year_monthly", &c.last_year_monthly)?,
        )?)),
        Err(_) => Err(ServiceError::invalid(format!("{field}.method"), format!("{} is not a PhasingMethod", c.method))),
    }
}

pub fn to_curve(c: &Curve) -> pb::PhasingCurve {
    let strings = |v: &[Decimal]| v.iter().map(ToString::to_string).collect();
    match c {
        Curve::Even => pb::PhasingCurve { method: pb::PhasingMethod::Even as i32, ..Default::default() },
        Curve::WorkingDays => pb::PhasingCurve { method: pb::PhasingMethod::WorkingDays as i32, ..Default::default() },
        Curve::Profile(p) => pb::PhasingCurve {
            method: pb::PhasingMethod::Profile as i32,
            profile_percents: strings(p),
            ..Default::default()
        },
        Curve::LastYear(m) => pb::PhasingCurve {
            method: pb::PhasingMethod::LastYear as i32,
            last_year_monthly: strings(m),
            ..Default::default()
        },
        Curve::Ramp { base, from, percents } => pb::PhasingCurve {
            ramp_percents: strings(percents),
            ramp_from: from.with_day(1).unwrap_or(*from).format("%Y-%m-%d").to_string(),
            ..to_curve(base)
        },
    }
}

/// A ramp's percentages as asked (empty: none).
pub fn ramp(field: &str, c: Option<&pb::PhasingCurve>) -> Result<Vec<Decimal>, ServiceError> {
    c.map(|c| &c.ramp_percents)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(i, p)| decimal(&format!("{field}.ramp_percents[{i}]"), p))
        .collect()
}

pub fn milestones(field: &str, items: &[pb::Milestone]) -> Result<Milestones, ServiceError> {
    let parsed = items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            Ok(Milestone {
                day: u32::try_from(m.day_of_period)
                    .map_err(|_| ServiceError::invalid(format!("{field}[{i}].day_of_period"), "must be positive"))?,
                percent: decimal(&format!("{field}[{i}].percent"), &m.percent)?,
            })
        })
        .collect::<Result<Vec<_>, ServiceError>>()?;
    Ok(Milestones::parse(field, parsed)?)
}

pub fn to_milestone(m: &Milestone) -> pb::Milestone {
    pb::Milestone { day_of_period: i32::try_from(m.day).unwrap_or(0), percent: m.percent.to_string() }
}

pub fn to_milestones(m: &Milestones) -> Vec<pb::Milestone> {
    m.items().iter().map(to_milestone).collect()
}

pub fn to_coverage(c: &Coverage, cur: CurrencyCode) -> pb::Coverage {
    pb::Coverage {
        parent_amount: Some(money(c.parent, cur)),
        allocated: Some(money(c.allocated, cur)),
        reserve: Some(money(c.reserve, cur)),
        over_assignment: Some(money(c.over_assignment, cur)),
    }
}

pub fn plan(p: &Plan) -> Result<pb::Plan, ServiceError> {
    let cur = p.currency;
    let c = &p.config;
    let (mode, reserve, over) = match c.coverage {
        CoveragePolicy::Strict => (pb::CoverageMode::Strict, String::new(), String::new()),
        CoveragePolicy::Reserve(x) => (pb::CoverageMode::Reserve, x.to_string(), String::new()),
        CoveragePolicy::OverAssign(y) => (pb::CoverageMode::OverAssign, String::new(), y.to_string()),
    };
    Ok(pb::Plan {
        name: p.resource_name(),
        display_name: p.display_name.clone(),
        top_unit: p.top_unit.resource_name(),
        fiscal_year: p.fiscal_year,
        fiscal_start_month: i32::try_from(p.fiscal_start_month).unwrap_or(1),
        currency_code: cur.to_string(),
        base_amount: Some(money(p.base_amount, cur)),
        growth_rate: p.growth_rate.to_string(),
        top_target: Some(money(p.top_target()?, cur)),
        rounding_unit: c.rounding_unit.decimal().normalize().to_string(),
        coverage_policy: Some(pb::CoveragePolicy {
            mode: mode as i32,
            max_reserve_percent: reserve,
            max_over_assign_percent: over,
        }),
        alert_thresholds: Some(to_thresholds(&c.thresholds)),
        calendar: Some(to_calendar(&c.calendar)),
        default_phasing: Some(to_curve(&c.default_phasing)),
        milestone_template: to_milestones(&c.milestone_template),
        state: match p.state {
            PlanState::Draft => pb::PlanState::Draft,
            PlanState::Published => pb::PlanState::Published,
            PlanState::Closed => pb::PlanState::Closed,
        } as i32,
        etag: p.etag(),
        create_time: Some(timestamp(p.create_time)),
        update_time: Some(timestamp(p.update_time)),
        publish_time: p.publish_time.map(timestamp),
        metric: attain_kit::wire::metric(c.metric) as i32,
    })
}

pub fn to_thresholds(t: &Thresholds) -> pb::AlertThresholds {
    pb::AlertThresholds { red_below_percent: t.red_below.to_string(), yellow_below_percent: t.yellow_below.to_string() }
}

pub fn target(t: &Target, cur: CurrencyCode) -> pb::Target {
    pb::Target {
        name: t.resource_name(),
        unit: t.unit.resource_name(),
        dimensions: Some(common::Dimensions {
            product_line: t.dimensions.product_line.clone(),
            customer_type: t.dimensions.customer_type.clone(),
        }),
        amount: Some(money(t.amount, cur)),
        original_amount: Some(money(t.original_amount, cur)),
        parent_target: t.parent.as_ref().map(|p| crate::domain::target::target_name(&t.plan, p)).unwrap_or_default(),
        phasing: t.phasing.as_ref().map(to_curve),
        milestones: t.milestones.as_ref().map(to_milestones).unwrap_or_default(),
        coverage: t.coverage.as_ref().map(|c| to_coverage(c, cur)),
        etag: t.etag(),
        create_time: Some(timestamp(t.create_time)),
        update_time: Some(timestamp(t.update_time)),
        start_date: t.start.map(|d| d.to_string()).unwrap_or_default(),
        steps: t
            .steps
            .iter()
            .map(|s| pb::TargetStep {
                effective_date: s.from.to_string(),
                change: Some(money(s.delta, cur)),
                adjustment: s
                    .adjustment
                    .as_deref()
                    .map(|a| format!("plans/{}/adjustments/{a}", t.plan.as_str()))
                    .unwrap_or_default(),
                record_time: Some(timestamp(s.recorded)),
            })
            .collect(),
        moves: t
            .moves
            .iter()
            .map(|m| pb::TargetMove {
                effective_date: m.from.to_string(),
                parent_before: m
                    .parent_before
                    .as_ref()
                    .map(|p| crate::domain::target::target_name(&t.plan, p))
                    .unwrap_or_default(),
                carried: Some(money(m.carried, cur)),
                record_time: Some(timestamp(m.recorded)),
            })
            .collect(),
    }
}

pub fn target_revision(r: &TargetRevision, cur: CurrencyCode) -> pb::TargetRevision {
    let target = crate::domain::target::target_name(&r.plan, &r.target);
    pb::TargetRevision {
        name: format!("{target}/revisions/{}", r.id),
        change: match r.change {
            TargetChange::Created => pb::TargetChange::Created,
            TargetChange::Split => pb::TargetChange::Split,
            TargetChange::Phased => pb::TargetChange::Phased,
            TargetChange::Adjusted => pb::TargetChange::Adjusted,
            TargetChange::Redistributed => pb::TargetChange::Redistributed,
            TargetChange::Moved => pb::TargetChange::Moved,
        } as i32,
        before: r.before.map(|b| money(b, cur)),
        after: Some(money(r.after, cur)),
        actor: r.actor.clone(),
        reason: r.reason.clone(),
        adjustment: r
            .adjustment
            .as_ref()
            .map(|a| format!("plans/{}/adjustments/{}", r.plan.as_str(), a.as_str()))
            .unwrap_or_default(),
        change_time: Some(timestamp(r.time)),
    }
}

pub fn adjustment_reason(field: &str, v: i32) -> Result<AdjustmentReason, ServiceError> {
    match pb::AdjustmentReason::try_from(v) {
        Ok(pb::AdjustmentReason::Policy) => Ok(AdjustmentReason::Policy),
        Ok(pb::AdjustmentReason::Market) => Ok(AdjustmentReason::Market),
        Ok(pb::AdjustmentReason::CustomerLoss) => Ok(AdjustmentReason::CustomerLoss),
        Ok(pb::AdjustmentReason::Staffing) => Ok(AdjustmentReason::Staffing),
        Ok(pb::AdjustmentReason::Other) => Ok(AdjustmentReason::Other),
        Ok(pb::AdjustmentReason::Unspecified) => {
            Err(ServiceError::invalid(field, "is required (POLICY, MARKET, CUSTOMER_LOSS, STAFFING or OTHER)"))
        }
        Err(_) => Err(ServiceError::invalid(field, format!("{v} is not an AdjustmentReason"))),
    }
}

pub fn redistribution(field: &str, v: i32) -> Result<Redistribution, ServiceError> {
    match pb::Redistribution::try_from(v) {
        Ok(pb::Redistribution::ParentAbsorbs) => Ok(Redistribution::ParentAbsorbs),
        Ok(pb::Redistribution::SiblingsAbsorb) => Ok(Redistribution::SiblingsAbsorb),
        Ok(pb::Redistribution::ReserveAbsorbs) => Ok(Redistribution::ReserveAbsorbs),
        Ok(pb::Redistribution::Successor) => Ok(Redistribution::Successor),
        Ok(pb::Redistribution::Unspecified) => Err(ServiceError::invalid(
            field,
            "is required (PARENT_ABSORBS, SIBLINGS_ABSORB, RESERVE_ABSORBS or SUCCESSOR)",
        )),
        Err(_) => Err(ServiceError::invalid(field, format!("{v} is not a Redistribution"))),
    }
}

pub fn adjustment_state(a: AdjustmentState) -> pb::AdjustmentState {
    match a {
        AdjustmentState::Pending => pb::AdjustmentState::Pending,
        AdjustmentState::Approved => pb::AdjustmentState::Approved,
        AdjustmentState::Rejected => pb::AdjustmentState::Rejected,
        AdjustmentState::Withdrawn => pb::AdjustmentState::Withdrawn,
    }
}

pub fn adjustment(a: &Adjustment, cur: CurrencyCode) -> pb::Adjustment {
    pb::Adjustment {
        name: a.resource_name(),
        target: crate::domain::target::target_name(&a.plan, &a.target),
        change: Some(match a.requested {
            Requested::Amount(x) => pb::adjustment::Change::NewAmount(money(x, cur)),
            Requested::Percent(p) => pb::adjustment::Change::ChangePercent(p.to_string()),
        }),
        reason: match a.reason {
            AdjustmentReason::Policy => pb::AdjustmentReason::Policy,
            AdjustmentReason::Market => pb::AdjustmentReason::Market,
            AdjustmentReason::CustomerLoss => pb::AdjustmentReason::CustomerLoss,
            AdjustmentReason::Staffing => pb::AdjustmentReason::Staffing,
            AdjustmentReason::Other => pb::AdjustmentReason::Other,
        } as i32,
        justification: a.justification.clone(),
        redistribution: match a.redistribution {
            Redistribution::ParentAbsorbs => pb::Redistribution::ParentAbsorbs,
            Redistribution::SiblingsAbsorb => pb::Redistribution::SiblingsAbsorb,
            Redistribution::ReserveAbsorbs => pb::Redistribution::ReserveAbsorbs,
            Redistribution::Successor => pb::Redistribution::Successor,
        } as i32,
        state: adjustment_state(a.state) as i32,
        requester: a.requester.clone(),
        decided_by: a.decided_by.clone(),
        decision_note: a.decision_note.clone(),
        before_amount: Some(money(a.before_amount, cur)),
        after_amount: Some(money(a.after_amount, cur)),
        etag: a.version.to_string(),
        create_time: Some(timestamp(a.create_time)),
        decide_time: a.decide_time.map(timestamp),
        effective_date: a.effective_date.map(|d| d.to_string()).unwrap_or_default(),
        successor: a.successor.as_ref().map(|s| crate::domain::target::target_name(&a.plan, s)).unwrap_or_default(),
        ramp_percents: a.ramp.iter().map(ToString::to_string).collect(),
    }
}
