//! Plans, and the one rule that picks the plan covering a unit: the plan of
//! the metric asked, whose top unit is on the unit's path, whose fiscal
//! year holds the date (or the period); a published (or closed) plan
//! before a draft.

use attain_core::{calendar::WorkingCalendar, id::Id, metric::Metric, money::CurrencyCode, period::Period};
use attain_kit::{ServiceError, ServiceResult};
use attain_proto::attain::target::v1 as pb;
use chrono::NaiveDate;

use crate::{bad, units::id_of};

#[derive(Debug, Clone)]
pub struct PlanInfo {
    pub name: String,
    pub top_unit: Id,
    pub fiscal_start_month: u32,
    pub year: Period,
    pub currency: CurrencyCode,
    /// Published or closed: its targets are in force.
    pub published: bool,
    pub metric: Metric,
    /// Which days its units work: staleness, escalation and the daily
    /// log's obligations count these.
    pub calendar: WorkingCalendar,
}

impl PlanInfo {
    /// A period expression in this plan's fiscal calendar.
    pub fn period(&self, field: &str, expr: &str) -> ServiceResult<Period> {
        Ok(Period::parse(field, expr, self.fiscal_start_month)?)
    }

    pub(crate) fn from_wire(p: pb::Plan) -> ServiceResult<Self> {
        let fiscal_start_month = u32::try_from(p.fiscal_start_month).map_err(|_| bad("fiscal_start_month", ""))?;
        Ok(PlanInfo {
            top_unit: id_of("top_unit", &p.top_unit)?,
            year: Period::parse("plan", &format!("{:04}", p.fiscal_year), fiscal_start_month)
                .map_err(|_| bad("fiscal_year", &p.fiscal_year.to_string()))?,
            currency: CurrencyCode::parse(&p.currency_code).map_err(|_| bad("currency_code", &p.currency_code))?,
            published: p.state == pb::PlanState::Published as i32 || p.state == pb::PlanState::Closed as i32,
            metric: attain_kit::wire::parse_metric("plan.metric", p.metric)
                .map_err(|_| bad("metric", &p.metric.to_string()))?,
            fiscal_start_month,
            calendar: calendar(p.calendar.as_ref())?,
            name: p.name,
        })
    }
}

fn calendar(c: Option<&pb::WorkingCalendar>) -> ServiceResult<WorkingCalendar> {
    let mut cal = WorkingCalendar::default();
    let Some(c) = c else { return Ok(cal) };
    if !c.weekend_days.is_empty() {
        cal.weekend_days = c
            .weekend_days
            .iter()
            .map(|d| {
                u32::try_from(*d).ok().filter(|d| (1..=7).contains(d)).ok_or_else(|| bad("weekend day", &d.to_string()))
            })
            .collect::<ServiceResult<_>>()?;
    }
    let day = |s: &String| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad("calendar date", s));
    cal.holidays = c.holidays.iter().map(day).collect::<ServiceResult<_>>()?;
    cal.working_weekends = c.working_weekends.iter().map(day).collect::<ServiceResult<_>>()?;
    Ok(cal)
}

/// The plan `covers` accepts for a unit on `path`: a published one first.
fn select<'a>(
    plans: &'a [PlanInfo],
    path: &[Id],
    metric: Metric,
    covers: impl Fn(&PlanInfo) -> bool,
) -> Option<&'a PlanInfo> {
    let covering = |p: &&PlanInfo| p.metric == metric && path.contains(&p.top_unit) && covers(p);
    plans.iter().filter(covering).find(|p| p.published).or_else(|| plans.iter().find(covering))
}

/// The amount plan covering `path` on `date` (the one deals book into).
pub fn plan_for<'a>(plans: &'a [PlanInfo], path: &[Id], date: NaiveDate) -> Option<&'a PlanInfo> {
    plan_for_metric(plans, path, date, Metric::Amount)
}

/// The currencies a unit's deals book in over `start..=end`: each day's
/// amount plan where the unit sat that day. A day's plan changes only
/// where a plan's year begins or ends or the unit moved, so those days
/// are the ones asked.
pub fn booking_currencies(
    plans: &[PlanInfo],
    unit: &crate::UnitInfo,
    start: NaiveDate,
    end: NaiveDate,
) -> Vec<CurrencyCode> {
    let changes = plans
        .iter()
        .flat_map(|p| [Some(p.year.start), p.year.end.succ_opt()])
        .chain(unit.former.iter().map(|(until, _)| until.succ_opt()))
        .flatten();
    let mut out: Vec<CurrencyCode> = std::iter::once(start)
        .chain(changes.filter(|d| (start..=end).contains(d)))
        .filter_map(|d| plan_for(plans, unit.path_on(d), d).map(|p| p.currency))
        .collect();
    out.sort_unstable_by_key(|c| c.to_string());
    out.dedup();
    out
}

/// The plan of a metric covering `path` on `date`.
pub fn plan_for_metric<'a>(
    plans: &'a [PlanInfo],
    path: &[Id],
    date: NaiveDate,
    metric: Metric,
) -> Option<&'a PlanInfo> {
    select(plans, path, metric, |p| p.year.contains(date))
}

/// The plan of a metric covering the period `expr` for `path`, with the
/// period read in that plan's fiscal calendar. A period that starts in a
/// plan's year but straddles its end is refused as the target and
/// tracking services refuse it; no covering plan is FAILED_PRECONDITION.
pub fn plan_for_period<'a>(
    plans: &'a [PlanInfo],
    path: &[Id],
    metric: Metric,
    field: &str,
    expr: &str,
) -> ServiceResult<(&'a PlanInfo, Period)> {
    // Bad syntax is the caller's error whatever the plans are.
    Period::parse(field, expr, 1)?;
    let starts_in =
        |p: &PlanInfo| Period::parse(field, expr, p.fiscal_start_month).is_ok_and(|x| p.year.contains(x.start));
    let plan = select(plans, path, metric, starts_in)
        .ok_or_else(|| ServiceError::precondition("NO_PLAN", format!("no plan covers {expr} for this unit")))?;
    let period = plan.period(field, expr)?;
    period.require_within(field, &plan.year)?;
    Ok((plan, period))
}

/// The period `expr` for a unit on `path`, read in the fiscal calendar of
/// the amount plan covering it: reporting obligations exist where a plan
/// does (no plan: FAILED_PRECONDITION, as every figure answers).
pub fn period_for(plans: &[PlanInfo], path: &[Id], field: &str, expr: &str) -> ServiceResult<Period> {
    plan_for_period(plans, path, Metric::Amount, field, expr).map(|(_, p)| p)
}

/// The working calendar of the amount plan covering `path` on `day` (the
/// default, Monday to Friday, without one).
pub fn calendar_for<'a>(plans: &'a [PlanInfo], path: &[Id], day: NaiveDate) -> std::borrow::Cow<'a, WorkingCalendar> {
    plan_for(plans, path, day).map_or_else(
        || std::borrow::Cow::Owned(WorkingCalendar::default()),
        |p| std::borrow::Cow::Borrowed(&p.calendar),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(name: &str, top: &str, year: i32, fsm: u32, published: bool, metric: Metric) -> PlanInfo {
        PlanInfo {
            name: name.to_owned(),
            top_unit: Id::parse("t", top).unwrap(),
            fiscal_start_month: fsm,
            year: Period::parse("p", &format!("{year:04}"), fsm).unwrap(),
            currency: CurrencyCode::parse("CNY").unwrap(),
            published,
            metric,
            calendar: Default::default(),
        }
    }

    fn path(ids: &[&str]) -> Vec<Id> {
        ids.iter().map(|i| Id::parse("p", i).unwrap()).collect()
    }

    #[test]
    fn published_beats_draft_and_metric_must_match() {
        let plans = vec![
            plan("plans/draft", "co", 2026, 1, false, Metric::Amount),
            plan("plans/visits", "co", 2026, 1, true, Metric::Visits),
            plan("plans/live", "co", 2026, 1, true, Metric::Amount),
        ];
        let p = path(&["co", "r1"]);
        let d = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        assert_eq!(plan_for(&plans, &p, d).unwrap().name, "plans/live");
        assert_eq!(plan_for_metric(&plans, &p, d, Metric::Visits).unwrap().name, "plans/visits");
        assert_eq!(plan_for_period(&plans, &p, Metric::Amount, "period", "2026-Q2").unwrap().0.name, "plans/live");
        assert_eq!(plan_for_period(&plans, &p, Metric::Visits, "period", "2026-05").unwrap().0.name, "plans/visits");
        assert!(plan_for(&plans, &path(&["other"]), d).is_none());
    }

    #[test]
    fn a_period_is_read_in_the_plans_fiscal_calendar() {
        // FY2026 from April: its Q1 is April–June 2026.
        let plans = vec![plan("plans/fy", "co", 2026, 4, true, Metric::Amount)];
        let (p, period) = plan_for_period(&plans, &path(&["co"]), Metric::Amount, "period", "2026-Q1").unwrap();
        assert_eq!(p.name, "plans/fy");
        assert_eq!(period.start, NaiveDate::from_ymd_opt(2026, 4, 1).unwrap());
        let none = plan_for_period(&plans, &path(&["co"]), Metric::Amount, "period", "2031-Q1").unwrap_err();
        assert!(matches!(none, ServiceError::FailedPrecondition { reason: "NO_PLAN", .. }));
        let bad = plan_for_period(&plans, &path(&["co"]), Metric::Amount, "period", "2026-Q9").unwrap_err();
        assert!(matches!(bad, ServiceError::InvalidArgument(_)));
    }
}
