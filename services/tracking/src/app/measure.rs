//! Measuring units: the covering plan and period, actuals from the daily
//! roll-ups, and each unit's figures against what the target service
//! expects — a handful of queries whatever the number of units and deals.

use std::collections::HashMap;

use attain_kit::{
    ServiceError, ServiceResult,
    auth::Identity,
    id::Id,
    metric::Metric,
    money::{Amount, CurrencyCode},
    period::Period,
    upstream::Forwarded,
};
use attain_target_client::{Expected, PlanInfo, Slice, UnitInfo, booking_currencies, plan_for_metric};
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

use super::App;
use crate::{
    domain::{
        attainment::{Figures, Inputs, Thresholds, figures},
        close::ClosedLine,
        deal::Dimensions,
    },
    storage::{
        customer_firsts, daily_logs, loss_rollups,
        rollups::{self, Sum},
    },
};

/// One unit's figures for a period, measured at the end of a day.
#[derive(Debug, Clone)]
pub struct Measured {
    pub unit: UnitInfo,
    pub expected: Expected,
    pub actual: Sum,
    /// Whether the unit has a target for what was asked (no target: no colour).
    pub has_target: bool,
    pub figures: Figures,
    /// Deals won over deals closed (won + lost), whatever the metric.
    pub conversion: Option<Decimal>,
    /// Won deals behind the figures, whatever the metric.
    pub deals_won: i64,
    /// The line frozen when the period was closed, if it was.
    pub closed: Option<ClosedLine>,
}

/// What a unit-and-period read asks, parsed.
#[derive(Debug, Clone)]
pub struct Ask {
    pub unit: Id,
    pub period: String,
    /// None: today.
    pub as_of: Option<NaiveDate>,
    pub dims: Dimensions,
    pub metric: Metric,
}

/// What a unit-and-period read starts from: the unit (the caller may read
/// it), the day measured at, the plan and the period as that plan reads it.
#[derive(Debug, Clone)]
pub struct Reading {
    pub unit: UnitInfo,
    pub day: NaiveDate,
    pub plan: PlanInfo,
    pub period: Period,
    pub dims: Dimensions,
}

/// A unit's burn-up: expected and actual to date, day by day.
#[derive(Debug, Clone)]
pub struct BurnUp {
    pub unit: Id,
    pub period: Period,
    pub currency: CurrencyCode,
    pub period_target: Amount,
    /// (day, by the curve, by the milestones, actual to date up to the measuring day)
    pub days: Vec<(NaiveDate, Amount, Amount, Option<Amount>)>,
    /// (day of period, cumulative percent)
    pub milestones: Vec<(i32, String)>,
}

/// The plan of `metric` covering the period `expr` for `path` among plans
/// already read, and the period as that plan reads it.
pub(crate) fn plan_and_period_in(
    plans: &[PlanInfo],
    path: &[Id],
    expr: &str,
    metric: Metric,
) -> ServiceResult<(PlanInfo, Period)> {
    let calendar = Period::parse("period", expr, 1)?;
    // A plan covering the period's first day, else one covering its last:
    // a period straddling a fiscal year's edge then gets the same
    // INVALID_ARGUMENT as from the target service (require_within below).
    let plan = plan_for_metric(plans, path, calendar.start, metric)
        .or_else(|| plan_for_metric(plans, path, calendar.end, metric))
        .ok_or_else(|| {
            let what = if metric.is_count() { format!("no {} plan", metric.as_str()) } else { "no plan".into() };
            ServiceError::precondition("NO_PLAN", format!("{what} covers {expr} for this unit"))
        })?
        .clone();
    let period = plan.period("period", expr)?;
    period.require_within("period", &plan.year)?;
    Ok((plan, period))
}

/// The plans as a caller who named one reads them: that plan, and none
/// other of its metric whose year overlaps it, so every section that picks
/// a plan of that metric picks it. It must cover the unit and measure the
/// metric asked.
pub(crate) fn with_named_plan(
    plans: Vec<PlanInfo>,
    name: &str,
    unit: &UnitInfo,
    metric: Metric,
) -> ServiceResult<Vec<PlanInfo>> {
    let named = plans.iter().find(|p| p.name == name).ok_or_else(|| ServiceError::not_found("plan", name))?.clone();
    // Any place it has had (a former member comes without where it sits).
    if !unit.places().iter().any(|p| p.contains(&named.top_unit)) {
        return Err(ServiceError::invalid(
            "plan",
            format!(
                "{name} is {}'s plan; it does not cover {}",
                named.top_unit.resource_name(),
                unit.id.resource_name()
            ),
        ));
    }
    if named.metric != metric {
        return Err(ServiceError::invalid(
            "plan",
            format!("{name} measures {}; ask with metric {}", named.metric.as_str(), named.metric.as_str()),
        ));
    }
    let overlaps = |p: &PlanInfo| p.year.start <= named.year.end && named.year.start <= p.year.end;
    Ok(plans.into_iter().filter(|p| p.name == named.name || p.metric != named.metric || !overlaps(p)).collect())
}

/// The same day a year earlier (28 February for a 29th).
pub(crate) fn shift_year(d: NaiveDate) -> Option<NaiveDate> {
    use chrono::Datelike;
    d.with_year(d.year() - 1).or_else(|| (d - Duration::days(1)).with_year(d.year() - 1))
}

/// The target slice a sales slice reads.
pub(crate) fn slice(d: &Dimensions) -> Slice<'_> {
    Slice { product_line: &d.product_line, customer_type: &d.customer_type }
}

/// A count carried as a whole amount.
fn count(n: i64) -> Amount {
    Amount::from_minor_units(n.saturating_mul(10_000))
}

impl App {
    /// The plan of `metric` covering `period` for `path`, and the period as
    /// that plan reads it (fiscal years and quarters follow its start month).
    pub async fn plan_and_period(
        &self,
        fwd: &Forwarded,
        path: &[Id],
        expr: &str,
        metric: Metric,
    ) -> ServiceResult<(PlanInfo, Period)> {
        plan_and_period_in(&self.target.plans(fwd).await?, path, expr, metric)
    }

    pub async fn reading(&self, who: &Identity, fwd: &Forwarded, ask: Ask) -> ServiceResult<Reading> {
        // Readable for some days of the period (`reading_in` keeps those):
        // a rep's former manager reads its days with them.
        let unit = self.target.unit(fwd, &ask.unit).await?;
        let plans = self.target.plans(fwd).await?;
        self.reading_in(who, unit, &plans, ask)
    }

    /// A reading of a unit already read (the caller may read it) among
    /// plans already read.
    pub fn reading_in(
        &self,
        who: &Identity,
        mut unit: UnitInfo,
        plans: &[PlanInfo],
        ask: Ask,
    ) -> ServiceResult<Reading> {
        let day = self.day_asked(ask.as_of)?;
        // A unit that left the caller's scope is read where it sat in it
        // last (its plan, its alerts there): they are not told where it went.
        let seen_at = match super::drill_down::last_readable_path(who, &unit) {
            Some(path) if !who.can_read(&unit.path) => Some(path.to_vec()),
            _ => None,
        };
        let (plan, period) =
            plan_and_period_in(plans, seen_at.as_deref().unwrap_or(&unit.path), &ask.period, ask.metric)?;
        // A unit that sat elsewhere in part of the period is read over its
        // days in the caller's scope.
        let period = super::drill_down::readable_days(who, &unit, &period)?;
        if let Some(path) = seen_at {
            unit.path = path;
        }
        Ok(Reading { unit, day, plan, period, dims: ask.dims })
    }

    /// A metric's actual per unit over an inclusive date range; a count is
    /// carried as a whole `amount`, beside the deals won.
    pub async fn actuals(
        &self,
        metric: Metric,
        ids: &[Id],
        from: NaiveDate,
        to: NaiveDate,
        dims: &Dimensions,
    ) -> ServiceResult<HashMap<Id, Sum>> {
        match metric {
            Metric::Amount => rollups::sums(&self.db, ids, from, to, dims).await,
            Metric::DealsWon => Ok(rollups::sums(&self.db, ids, from, to, dims)
                .await?
                .into_iter()
                .map(|(id, s)| (id, Sum { amount: count(s.deals_won), deals_won: s.deals_won }))
                .collect()),
            Metric::NewCustomers | Metric::Visits => {
                if *dims != Dimensions::default() {
                    return Err(ServiceError::invalid(
                        "dimensions",
                        format!("{} has no product or customer-type slices", metric.as_str()),
                    ));
                }
                let mut totals: HashMap<Id, i64> = HashMap::new();
                for (path, _, n) in self.count_rows(metric, None, from, to).await? {
                    for unit in path.into_iter().filter(|u| ids.contains(u)) {
                        *totals.entry(unit).or_default() += n;
                    }
                }
                Ok(totals.into_iter().map(|(id, n)| (id, Sum { amount: count(n), deals_won: 0 })).collect())
            }
        }
    }

    /// A count metric (new customers, visits) per booked path and day, for
    /// the whole org or below a path: reps × days rows, never deals.
    async fn count_rows(
        &self,
        metric: Metric,
        below: Option<&[Id]>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> ServiceResult<Vec<(Vec<Id>, NaiveDate, i64)>> {
        match metric {
            Metric::NewCustomers => customer_firsts::firsts(&self.db, below, from, to).await,
            Metric::Visits => daily_logs::visits(&self.db, below, from, to).await,
            Metric::Amount | Metric::DealsWon => Ok(Vec::new()),
        }
    }

    /// Amounts and deals won of units over calendar dates, as booked.
    pub async fn sums(&self, ids: &[Id], period: &Period, dims: &Dimensions) -> ServiceResult<HashMap<Id, Sum>> {
        rollups::sums(&self.db, ids, period.start, period.end, dims).await
    }

    /// Actuals of units over one period as `who` may read them, with the
    /// currency its deals were booked in over it (none where no plan
    /// covers it; a period spanning plans of two currencies is refused,
    /// naming `period`). A unit is read only
    /// when the caller may read it on every day of the period: a rep that
    /// moved into or out of the caller's scope during it (its roll-ups hold
    /// its days elsewhere too) is refused with the days to ask for, as its
    /// attainment would be read over them. `ids` are (field, unit).
    pub async fn actuals_in_scope(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        ids: &[(String, Id)],
        period: &Period,
        dims: &Dimensions,
    ) -> ServiceResult<Vec<(Id, Sum, Option<CurrencyCode>)>> {
        let plans = self.target.plans(fwd).await?;
        let mut read = Vec::with_capacity(ids.len());
        // Every unit to ask for in parts, named at once (as tried from
        // outside: a batch named the first, then the next on the retry).
        let mut split = Vec::new();
        for (field, id) in ids {
            let unit = self.target.unit(fwd, id).await?;
            match super::drill_down::readable_days(who, &unit, period) {
                Ok(days) if days == *period => {}
                Ok(days) => split.push(format!(
                    "{field}: {} was in your scope for part of {} only: ask for {}",
                    id.resource_name(),
                    period.expression,
                    days.expression
                )),
                Err(ServiceError::FailedPrecondition { message, .. }) => split.push(format!("{field}: {message}")),
                Err(e) => return Err(e),
            }
            // What its deals were booked in, day by day (a calendar period may
            // span plans): one currency, or none where no plan covers it.
            let currency = match booking_currencies(&plans, &unit, period.start, period.end).as_slice() {
                [] => None,
                [one] => Some(*one),
                many => {
                    let many: Vec<String> = many.iter().map(ToString::to_string).collect();
                    return Err(ServiceError::invalid(
                        "period",
                        format!(
                            "{field}: {} books in {} over {}: ask for each plan's days",
                            id.resource_name(),
                            many.join(" and "),
                            period.expression
                        ),
                    ));
                }
            };
            read.push((unit.id.clone(), currency));
        }
        if !split.is_empty() {
            return Err(ServiceError::precondition("PERIOD_SPLIT_BY_MOVES", split.join("; ")));
        }
        let units: Vec<Id> = read.iter().map(|(id, _)| id.clone()).collect();
        let sums = self.sums(&units, period, dims).await?;
        read.into_iter()
            .map(|(id, currency)| {
                let sum = sums.get(&id).copied().unwrap_or_default();
                // No plan covering it, nothing could be booked there: an
                // amount found anyway would be one without a currency.
                if currency.is_none() && (!sum.amount.is_zero() || sum.deals_won != 0) {
                    return Err(ServiceError::Internal(anyhow::anyhow!(
                        "{} has actuals in {} and no plan covering them",
                        id.resource_name(),
                        period.expression
                    )));
                }
                Ok((id, sum, currency))
            })
            .collect()
    }

    /// Figures of several units (one plan) for a period, measured at the
    /// end of `day`: expectations in one call, roll-ups now and a year
    /// earlier, losses and close lines in a query each.
    pub async fn measure(
        &self,
        fwd: &Forwarded,
        units: Vec<UnitInfo>,
        plan: &PlanInfo,
        period: &Period,
        day: NaiveDate,
        dims: &Dimensions,
    ) -> ServiceResult<(Vec<Measured>, Thresholds)> {
        let ids: Vec<Id> = units.iter().map(|u| u.id.clone()).collect();
        let through = day.min(period.end);
        // The target service's answer and the five reads here, side by side.
        let last_year = async {
            match (period.a_year_earlier(), shift_year(through)) {
                (Some(ly), Some(ly_through)) => self.actuals(plan.metric, &ids, ly.start, ly_through, dims).await,
                _ => Ok(HashMap::new()),
            }
        };
        // Order value and conversion describe the deals behind any metric.
        let deals = async {
            match plan.metric {
                Metric::Amount => Ok(None),
                _ => rollups::sums(&self.db, &ids, period.start, through, dims).await.map(Some),
            }
        };
        let ((expected, set, progress), now, last_year, deals, losses, mut closed) = tokio::try_join!(
            self.target.expected(fwd, plan, &ids, &period.expression, day, slice(dims)),
            self.actuals(plan.metric, &ids, period.start, through, dims),
            last_year,
            deals,
            loss_rollups::losses(&self.db, &ids, period.start, through),
            crate::storage::closes::lines(&self.db, &period.expression, &ids),
        )?;
        let deals = deals.unwrap_or_else(|| now.clone());
        let thresholds = Thresholds::with_overrides(set.red_below, set.yellow_below);
        let out = units
            .into_iter()
            .map(|unit| {
                let has_target = expected.contains_key(&unit.id);
                // Time passes for a unit without a target too.
                let e = expected
                    .get(&unit.id)
                    .copied()
                    .unwrap_or(Expected { time_progress: progress, ..Default::default() });
                let actual = now.get(&unit.id).copied().unwrap_or_default();
                let ly = last_year.get(&unit.id).filter(|s| !s.amount.is_zero()).map(|s| s.amount);
                let figures = figures(&Inputs {
                    target: e.period_target,
                    actual: actual.amount,
                    expected: e.by_curve,
                    time_progress: e.time_progress,
                    deals_won: actual.deals_won,
                    last_year: ly,
                    thresholds,
                });
                let won = deals.get(&unit.id).copied().unwrap_or_default().deals_won;
                let lost: i64 = losses.get(&unit.id).map_or(0, |v| v.iter().map(|x| x.1).sum());
                let conversion = (won + lost > 0).then(|| (Decimal::from(won) / Decimal::from(won + lost)).round_dp(4));
                let closed = closed.remove(&unit.id);
                Measured { unit, expected: e, actual, has_target, figures, conversion, deals_won: won, closed }
            })
            .collect();
        Ok((out, thresholds))
    }

    /// Expected and actual to date on each day of the period.
    pub async fn burn_up(&self, fwd: &Forwarded, r: Reading) -> ServiceResult<BurnUp> {
        let Reading { unit, day, plan, period, dims } = r;
        let through = day.min(period.end);
        let sold = async {
            Ok::<Vec<(NaiveDate, Amount)>, ServiceError>(match plan.metric {
                Metric::Amount | Metric::DealsWon => rollups::daily(&self.db, &unit.id, period.start, through, &dims)
                    .await?
                    .into_iter()
                    .map(|(d, s)| (d, if plan.metric == Metric::Amount { s.amount } else { count(s.deals_won) }))
                    .collect(),
                m => {
                    let mut by_day: std::collections::BTreeMap<NaiveDate, i64> = Default::default();
                    for (_, day, n) in self.count_rows(m, Some(&unit.path), period.start, through).await? {
                        *by_day.entry(day).or_default() += n;
                    }
                    by_day.into_iter().map(|(d, n)| (d, count(n))).collect()
                }
            })
        };
        let (expected, sold) = tokio::try_join!(
            self.target.daily_expected(fwd, &plan, &unit.id, &period.expression, day, slice(&dims)),
            sold
        )?;
        let mut sold = sold.into_iter().peekable();
        let mut actual = Amount::ZERO;
        let mut days = Vec::with_capacity(expected.days.len());
        for (d, by_curve, by_milestone) in expected.days {
            while let Some((_, a)) = sold.next_if(|(sd, _)| *sd <= d) {
                actual = actual.checked_add(a)?;
            }
            days.push((d, by_curve, by_milestone, (d <= day).then_some(actual)));
        }
        Ok(BurnUp {
            unit: unit.id,
            period,
            currency: plan.currency,
            period_target: expected.period_target,
            days,
            milestones: expected.milestones,
        })
    }
}
