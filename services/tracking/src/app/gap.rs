//! Gap attribution: a unit's difference against last year and its gap to
//! target, each split into volume, conversion and order-value effects.

use attain_kit::{
    ServiceError, ServiceResult, auth::Identity, id::Id, metric::Metric, money::Amount, period::Period,
    upstream::Forwarded,
};
use attain_target_client::{PlanInfo, Slice, UnitInfo};
use chrono::NaiveDate;
use sea_orm::ConnectionTrait;

use super::{
    App,
    measure::{plan_and_period_in, shift_year},
};
use crate::{
    domain::{
        deal::Dimensions,
        gap::{Attribution, Drivers, Reference, attribute},
    },
    storage::{loss_rollups, rollups},
};

/// A unit's gap, both ways.
#[derive(Debug, Clone)]
pub struct GapReport {
    pub unit: Id,
    pub plan: PlanInfo,
    pub period: Period,
    pub current: Drivers,
    pub against_last_year: Attribution,
    pub against_target: Attribution,
}

/// A unit's drivers over an inclusive date range: won deals and amount
/// from the roll-ups, lost ones from the loss roll-ups.
async fn drivers(db: &impl ConnectionTrait, unit: &Id, from: NaiveDate, to: NaiveDate) -> ServiceResult<Drivers> {
    let (units, all) = (std::slice::from_ref(unit), Dimensions::default());
    let (mut won, mut lost) =
        tokio::try_join!(rollups::sums(db, units, from, to, &all), loss_rollups::losses(db, units, from, to),)?;
    let won = won.remove(unit).unwrap_or_default();
    let lost: i64 = lost.remove(unit).map_or(0, |v| v.iter().map(|x| x.1).sum());
    Ok(Drivers { opportunities: won.deals_won + lost, won: won.deals_won, amount: won.amount })
}

impl App {
    pub async fn gap_attribution(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        unit: &Id,
        period: &str,
        as_of: Option<NaiveDate>,
    ) -> ServiceResult<GapReport> {
        // Over the days of the period the caller may read the unit, as
        // every reading of it.
        let (unit, plans) = tokio::try_join!(self.target.unit(fwd, unit), self.target.plans(fwd))?;
        let ask = super::measure::Ask {
            unit: unit.id.clone(),
            period: period.to_owned(),
            as_of,
            dims: Dimensions::default(),
            metric: Metric::Amount,
        };
        let r = self.reading_in(who, unit, &plans, ask)?;
        self.gap_in(fwd, (&r.unit, &plans), &r.period.expression, as_of, None).await
    }

    /// The gap of a unit already read, among plans already read; `target`
    /// is the unit's expected-to-date on the amount plan when the caller
    /// has it (else the target service is asked).
    pub async fn gap_in(
        &self,
        fwd: &Forwarded,
        (unit, plans): (&UnitInfo, &[PlanInfo]),
        period: &str,
        as_of: Option<NaiveDate>,
        target: Option<Amount>,
    ) -> ServiceResult<GapReport> {
        let day = self.day_asked(as_of)?;
        let (plan, period) = plan_and_period_in(plans, &unit.path, period, Metric::Amount)?;
        let through = day.min(period.end);
        if through < period.start {
            // Asked as of a day before it, the day asked is what to change.
            let message = match as_of {
                Some(d) => format!("as_of_date {d} is before {}, which starts on {}", period.expression, period.start),
                None => format!("{} starts on {}", period.expression, period.start),
            };
            return Err(ServiceError::precondition("PERIOD_NOT_STARTED", message));
        }
        // Like for like: last year's period up to the same day.
        let last_year = async {
            match (period.a_year_earlier(), shift_year(through)) {
                (Some(ly), Some(ly_through)) => drivers(&self.db, &unit.id, ly.start, ly_through).await,
                _ => Ok(Drivers::default()),
            }
        };
        let (current, last_year) = tokio::try_join!(drivers(&self.db, &unit.id, period.start, through), last_year)?;
        let target = match target {
            Some(t) => t,
            None => {
                let ids = std::slice::from_ref(&unit.id);
                let (expected, _, _) =
                    self.target.expected(fwd, &plan, ids, &period.expression, day, Slice::default()).await?;
                expected.get(&unit.id).map(|e| e.by_curve).unwrap_or(Amount::ZERO)
            }
        };
        let against_last_year = attribute(current, Reference::Drivers(last_year))?;
        let against_target = attribute(
            current,
            Reference::Target {
                amount: target,
                conversion: last_year.conversion(),
                average_order_value: last_year.average_order_value(),
            },
        )?;
        Ok(GapReport { unit: unit.id.clone(), plan, period, current, against_last_year, against_target })
    }
}
