//! Attainment reads: one unit, a unit's children in one call, and actuals
//! of many units. Targets and expectations come from the target service in
//! one batch call; actuals are sums over daily roll-ups.

use std::collections::HashMap;

use attain_kit::context::Ctx;
use attain_kit::{
    ServiceError, ServiceResult, auth::Identity, id::Id, metric::Metric, period::Period, upstream::Forwarded,
};
use attain_proto::attain::tracking::v1 as pb;
use attain_target_client::{Expected, PlanInfo, Slice, UnitInfo, plan_for_metric};
use chrono::{Duration, NaiveDate, Utc};

use super::{TrackingApi, convert};
use crate::{
    domain::{
        attainment::{Inputs, Thresholds, figures},
        deal::Dimensions,
    },
    storage::{
        counts,
        rollups::{self, Sum},
    },
};

/// One unit's measured figures, before they go on the wire.
pub(crate) struct Measured {
    pub unit: UnitInfo,
    pub expected: Expected,
    pub actual: Sum,
    pub status: crate::domain::attainment::Status,
    pub wire: pb::Attainment,
}

/// What a unit-and-period read asks for, as it came off the wire.
struct Ask<'a> {
    unit: &'a str,
    period: &'a str,
    as_of_date: &'a str,
    dimensions: Option<&'a attain_proto::attain::common::v1::Dimensions>,
    metric: i32,
}

impl<'a> Ask<'a> {
    fn of(
        unit: &'a str,
        period: &'a str,
        as_of_date: &'a str,
        dimensions: Option<&'a attain_proto::attain::common::v1::Dimensions>,
        metric: i32,
    ) -> Self {
        Self { unit, period, as_of_date, dimensions, metric }
    }
}

/// See [`TrackingApi::scope`].
struct Scope {
    unit: UnitInfo,
    day: NaiveDate,
    plan: PlanInfo,
    period: Period,
    dims: Dimensions,
}

/// [`TrackingApi::plan_and_period`] among plans already read (a pass over
/// several metrics reads them once).
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

impl TrackingApi {
    /// The plan of `metric` covering `period` for `path`, and the period as
    /// that plan reads it (fiscal years and quarters follow its start month).
    pub(crate) async fn plan_and_period(
        &self,
        fwd: &Forwarded,
        path: &[Id],
        expr: &str,
        metric: Metric,
    ) -> ServiceResult<(PlanInfo, Period)> {
        plan_and_period_in(&self.target.plans(fwd).await?, path, expr, metric)
    }

    /// A metric's actual per unit over an inclusive date range; a count is
    /// carried as a whole `amount`, beside the deals won.
    pub(crate) async fn actuals(
        &self,
        metric: Metric,
        ids: &[Id],
        from: NaiveDate,
        to: NaiveDate,
        dims: &Dimensions,
    ) -> ServiceResult<HashMap<Id, Sum>> {
        let count = |n: i64| attain_kit::money::Amount::from_minor_units(n.saturating_mul(10_000));
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
                Ok(counts::totals(&self.db, metric, ids, from, to)
                    .await?
                    .into_iter()
                    .map(|(id, n)| (id, Sum { amount: count(n), deals_won: 0 }))
                    .collect())
            }
        }
    }

    /// Figures of several units (one plan) for a period, measured at the
    /// end of `day`: a handful of queries (expectations, roll-ups now and a
    /// year earlier, losses, close lines), whatever the number of units and
    /// deals.
    pub(crate) async fn measure(
        &self,
        fwd: &Forwarded,
        units: Vec<UnitInfo>,
        plan: &PlanInfo,
        period: &Period,
        day: NaiveDate,
        dims: &Dimensions,
    ) -> ServiceResult<(Vec<Measured>, Thresholds)> {
        let ids: Vec<Id> = units.iter().map(|u| u.id.clone()).collect();
        let (expected, set) = self.target.expected(fwd, plan, &ids, &period.expression, day, slice(dims)).await?;
        let thresholds = Thresholds::with_overrides(set.red_below, set.yellow_below);
        let through = day.min(period.end);
        let now = self.actuals(plan.metric, &ids, period.start, through, dims).await?;
        let last_year: HashMap<Id, Sum> = match (period.a_year_earlier(), shift_year(through)) {
            (Some(ly), Some(ly_through)) => self.actuals(plan.metric, &ids, ly.start, ly_through, dims).await?,
            _ => HashMap::new(),
        };
        // Order value and conversion describe the deals behind any metric.
        let deals = if plan.metric == Metric::Amount {
            now.clone()
        } else {
            rollups::sums(&self.db, &ids, period.start, through, dims).await?
        };
        let losses = crate::storage::activity::losses(&self.db, &ids, period.start, through).await?;
        let frozen = crate::storage::closes::lines(&self.db, &period.expression, &ids).await?;
        let progress = |e: &Expected| e.time_progress;
        let out = units
            .into_iter()
            .map(|unit| {
                // No target for what was asked: no colour, never GREEN.
                let has_target = expected.contains_key(&unit.id);
                let e = expected.get(&unit.id).copied().unwrap_or_default();
                let actual = now.get(&unit.id).copied().unwrap_or_default();
                let ly = last_year.get(&unit.id).filter(|s| !s.amount.is_zero()).map(|s| s.amount);
                let f = figures(&Inputs {
                    target: e.period_target,
                    actual: actual.amount,
                    expected: e.by_curve,
                    time_progress: progress(&e),
                    deals_won: actual.deals_won,
                    last_year: ly,
                    thresholds,
                });
                let money = |a| Some(convert::money(a, plan.currency));
                // Conversion: deals won over deals closed (won + lost, from
                // opportunities and daily logs).
                let won = deals.get(&unit.id).copied().unwrap_or_default();
                let lost: i64 = losses.get(&unit.id).map_or(0, |v| v.iter().map(|x| x.1).sum());
                let closed = won.deals_won + lost;
                let conversion = (closed > 0).then(|| {
                    (rust_decimal::Decimal::from(won.deals_won) / rust_decimal::Decimal::from(closed)).round_dp(4)
                });
                let mut wire = pb::Attainment {
                    unit: unit.id.resource_name(),
                    period: Some(convert::period(period)),
                    target: money(e.period_target),
                    original_target: money(e.original_target),
                    actual: money(actual.amount),
                    attainment_rate: convert::ratio(f.attainment_rate),
                    gap: attain_kit::money::Amount::from_decimal(f.gap).ok().and_then(money),
                    time_progress: e.time_progress.round_dp(6).normalize().to_string(),
                    pace: convert::ratio(f.pace),
                    expected_to_date: money(e.by_curve),
                    forecast: attain_kit::money::Amount::from_decimal(f.forecast).ok().and_then(money),
                    yoy_growth: convert::ratio(f.yoy_growth),
                    // Order value is money: amount plans only.
                    average_order_value: if plan.metric.is_count() {
                        None
                    } else {
                        f.average_order_value
                            .and_then(|a| attain_kit::money::Amount::from_decimal(a).ok())
                            .and_then(money)
                    },
                    conversion_rate: convert::ratio(conversion),
                    deals_won: won.deals_won,
                    status: if has_target {
                        convert::status(f.status)
                    } else {
                        attain_proto::attain::common::v1::Status::NoTarget
                    } as i32,
                    data_time: Some(convert::timestamp(Utc::now())),
                    closed_actual: None,
                    post_close_adjustment: None,
                    metric: attain_kit::wire::metric(plan.metric) as i32,
                };
                // A closed period shows its frozen actual and what later
                // corrections added, so nothing changes silently.
                if let Some(line) = frozen.get(&unit.id) {
                    wire.closed_actual = money(line.actual);
                    wire.post_close_adjustment = line.post_close_adjustment(actual.amount).ok().and_then(money);
                }
                Measured { unit, expected: e, actual, status: f.status, wire }
            })
            .collect();
        Ok((out, thresholds))
    }

    /// What a unit-and-period read starts from: the unit (the caller may
    /// read it), the day measured at, the plan and period, the slice.
    async fn scope(&self, who: &Identity, fwd: &Forwarded, ask: Ask<'_>) -> ServiceResult<Scope> {
        let Ask { unit, period, as_of_date, dimensions, metric } = ask;
        let metric = attain_kit::wire::parse_metric("metric", metric)?;
        let unit = self.visible(who, fwd, "unit", unit).await?;
        let day = self.measuring_day("as_of_date", as_of_date)?;
        let (plan, period) = self.plan_and_period(fwd, &unit.path, period, metric).await?;
        Ok(Scope { unit, day, plan, period, dims: convert::dimensions(dimensions) })
    }

    fn measuring_day(&self, field: &str, s: &str) -> ServiceResult<NaiveDate> {
        if s.is_empty() { Ok(self.clock.today()) } else { convert::date(field, s) }
    }

    pub(crate) async fn get_attainment(&self, ctx: Ctx, r: pb::GetAttainmentRequest) -> ServiceResult<pb::Attainment> {
        let Ctx { who, fwd } = ctx;
        let Scope { unit, day, plan, period, dims } =
            self.scope(&who, &fwd, Ask::of(&r.unit, &r.period, &r.as_of_date, r.dimensions.as_ref(), r.metric)).await?;
        let (mut measured, _) = self.measure(&fwd, vec![unit], &plan, &period, day, &dims).await?;
        let m = measured.pop().ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("no figures")))?;
        Ok(m.wire)
    }

    pub(crate) async fn list_child_attainments(
        &self,
        ctx: Ctx,
        r: pb::ListChildAttainmentsRequest,
    ) -> ServiceResult<pb::ListChildAttainmentsResponse> {
        let Ctx { who, fwd } = ctx;
        let Scope { unit: parent, day, plan, period, dims } =
            self.scope(&who, &fwd, Ask::of(&r.unit, &r.period, &r.as_of_date, r.dimensions.as_ref(), r.metric)).await?;
        let mut units: Vec<UnitInfo> = self.target.children(&fwd, &parent.id).await?;
        units.insert(0, parent);
        let (measured, _) = self.measure(&fwd, units, &plan, &period, day, &dims).await?;
        let mut wires = measured.into_iter().map(|m| m.wire);
        let parent = wires.next();
        Ok(pb::ListChildAttainmentsResponse { parent, children: wires.collect() })
    }

    pub(crate) async fn get_burn_up(&self, ctx: Ctx, r: pb::GetBurnUpRequest) -> ServiceResult<pb::BurnUp> {
        let Ctx { who, fwd } = ctx;
        let Scope { unit, day, plan, period, dims } =
            self.scope(&who, &fwd, Ask::of(&r.unit, &r.period, &r.as_of_date, r.dimensions.as_ref(), r.metric)).await?;
        let expected = self.target.daily_expected(&fwd, &plan, &unit.id, &period.expression, day, slice(&dims)).await?;
        let through = day.min(period.end);
        let count = |n: i64| attain_kit::money::Amount::from_minor_units(n.saturating_mul(10_000));
        let sold: Vec<(NaiveDate, attain_kit::money::Amount)> = match plan.metric {
            Metric::Amount | Metric::DealsWon => rollups::daily(&self.db, &unit.id, period.start, through, &dims)
                .await?
                .into_iter()
                .map(|(d, s)| (d, if plan.metric == Metric::Amount { s.amount } else { count(s.deals_won) }))
                .collect(),
            m => counts::daily(&self.db, m, &unit.path, period.start, through)
                .await?
                .into_iter()
                .map(|(d, n)| (d, count(n)))
                .collect(),
        };
        let money = |a| Some(convert::money(a, plan.currency));
        let mut sold = sold.into_iter().peekable();
        let mut actual = attain_kit::money::Amount::ZERO;
        let mut days = Vec::with_capacity(expected.days.len());
        for (d, by_curve, by_milestone) in expected.days {
            while let Some((_, a)) = sold.next_if(|(sd, _)| *sd <= d) {
                actual = actual.checked_add(a).map_err(ServiceError::from)?;
            }
            days.push(pb::BurnUpDay {
                date: d.format("%Y-%m-%d").to_string(),
                target_to_date: money(by_curve),
                milestone_to_date: money(by_milestone),
                actual_to_date: if d <= day { money(actual) } else { None },
            });
        }
        Ok(pb::BurnUp {
            unit: unit.id.resource_name(),
            period: Some(convert::period(&period)),
            period_target: money(expected.period_target),
            days,
            milestones: expected
                .milestones
                .into_iter()
                .map(|(day_of_period, percent)| attain_proto::attain::target::v1::Milestone { day_of_period, percent })
                .collect(),
        })
    }

    pub(crate) async fn batch_get_actuals(
        &self,
        ctx: Ctx,
        r: pb::BatchGetActualsRequest,
    ) -> ServiceResult<pb::BatchGetActualsResponse> {
        let Ctx { who, fwd } = ctx;
        if r.units.is_empty() || r.units.len() > 10_000 {
            return Err(ServiceError::invalid("units", "name 1–10000 units"));
        }
        let mut ids = Vec::with_capacity(r.units.len());
        for (i, u) in r.units.iter().enumerate() {
            ids.push(self.visible(&who, &fwd, &format!("units[{i}]"), u).await?.id);
        }
        // Reference periods are calendar-based: a caller reading last year's
        // actuals for a split names the dates it means.
        let period = Period::parse("period", &r.period, 1)?;
        let dims = convert::dimensions(r.dimensions.as_ref());
        let sums = rollups::sums(&self.db, &ids, period.start, period.end, &dims).await?;
        let actuals = ids
            .iter()
            .map(|id| {
                let s = sums.get(id).copied().unwrap_or_default();
                pb::UnitActual {
                    unit: id.resource_name(),
                    actual: Some(attain_proto::attain::common::v1::Money {
                        currency_code: String::new(),
                        amount: s.amount.to_string(),
                    }),
                    deals_won: s.deals_won,
                }
            })
            .collect();
        Ok(pb::BatchGetActualsResponse { period: Some(convert::period(&period)), actuals })
    }

    /// A unit the caller may read (the target service checks too).
    pub(crate) async fn visible(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        field: &str,
        name: &str,
    ) -> ServiceResult<UnitInfo> {
        let unit = self.target.unit(fwd, &Id::from_name(field, name)?).await?;
        if !who.can_read(&unit.path_strings()) {
            return Err(ServiceError::PermissionDenied(format!("{name} is outside your scope or does not exist")));
        }
        Ok(unit)
    }
}

pub(crate) fn shift_year(d: NaiveDate) -> Option<NaiveDate> {
    use chrono::Datelike;
    d.with_year(d.year() - 1).or_else(|| (d - Duration::days(1)).with_year(d.year() - 1))
}

/// The target slice a sales slice reads.
pub(crate) fn slice(d: &Dimensions) -> Slice<'_> {
    Slice { product_line: &d.product_line, customer_type: &d.customer_type }
}
