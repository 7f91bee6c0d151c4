//! Gap attribution reads: a unit's difference against last year and its
//! gap to target, each split into volume, conversion and AOV effects.

use attain_kit::{ServiceError, ServiceResult, id::Id, metric::Metric, money::Amount};
use attain_proto::attain::tracking::v1 as pb;
use attain_target_client::{PlanInfo, Slice};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;

use super::{TrackingApi, convert};
use crate::{
    domain::{
        deal::Dimensions,
        gap::{Attribution, Drivers, Reference, attribute},
    },
    storage::{activity, rollups},
};

/// A unit's drivers over an inclusive date range: won deals and amount
/// from the roll-ups, lost ones from the loss roll-ups.
async fn drivers(db: &impl ConnectionTrait, unit: &Id, from: NaiveDate, to: NaiveDate) -> ServiceResult<Drivers> {
    let units = std::slice::from_ref(unit);
    let won = rollups::sums(db, units, from, to, &Dimensions::default()).await?.remove(unit).unwrap_or_default();
    let lost: i64 =
        activity::losses(db, units, from, to).await?.remove(unit).map_or(0, |v| v.iter().map(|x| x.1).sum());
    Ok(Drivers { opportunities: won.deals_won + lost, won: won.deals_won, amount: won.amount })
}

fn ratio(d: Decimal) -> String {
    d.round_dp(4).normalize().to_string()
}

fn breakdown(a: &Attribution, current: &Drivers, plan: &PlanInfo) -> ServiceResult<pb::GapBreakdown> {
    let money = |x: Amount| Some(convert::money(x, plan.currency));
    let aov = |d: Decimal| Amount::from_decimal(d.round_dp(2)).map(|x| convert::money(x, plan.currency));
    let reference_amount = current.amount.checked_sub(a.difference)?;
    Ok(pb::GapBreakdown {
        difference: money(a.difference),
        volume_effect: money(a.volume),
        conversion_effect: money(a.conversion),
        average_order_value_effect: money(a.aov),
        current: Some(pb::SalesDrivers {
            opportunities: current.opportunities.to_string(),
            conversion_rate: current.conversion().map(ratio).unwrap_or_default(),
            average_order_value: current.average_order_value().map(aov).transpose()?,
            amount: money(current.amount),
        }),
        reference: Some(pb::SalesDrivers {
            opportunities: ratio(a.reference_opportunities),
            conversion_rate: ratio(a.reference_conversion),
            average_order_value: Some(aov(a.reference_aov)?),
            amount: money(reference_amount),
        }),
    })
}

impl TrackingApi {
    pub(crate) async fn get_gap_attribution(
        &self,
        ctx: attain_kit::context::Ctx,
        r: pb::GetGapAttributionRequest,
    ) -> ServiceResult<pb::GapAttribution> {
        let attain_kit::context::Ctx { who, fwd } = ctx;
        let unit = self.visible(&who, &fwd, "unit", &r.unit).await?;
        let day =
            if r.as_of_date.is_empty() { self.clock.today() } else { convert::date("as_of_date", &r.as_of_date)? };
        let (plan, period) = self.plan_and_period(&fwd, &unit.path, &r.period, Metric::Amount).await?;
        let through = day.min(period.end);
        if through < period.start {
            return Err(ServiceError::precondition(
                "PERIOD_NOT_STARTED",
                format!("{} starts on {}", period.expression, period.start),
            ));
        }
        let current = drivers(&self.db, &unit.id, period.start, through).await?;
        // Like for like: last year's period up to the same day.
        let last_year = match (period.a_year_earlier(), super::attainment::shift_year(through)) {
            (Some(ly), Some(ly_through)) => drivers(&self.db, &unit.id, ly.start, ly_through).await?,
            _ => Drivers::default(),
        };
        let (expected, _) = self
            .target
            .expected(&fwd, &plan, std::slice::from_ref(&unit.id), &period.expression, day, Slice::default())
            .await?;
        let target = expected.get(&unit.id).map(|e| e.by_curve).unwrap_or(Amount::ZERO);
        let against_last_year = attribute(current, Reference::Drivers(last_year))?;
        let against_target = attribute(
            current,
            Reference::Target {
                amount: target,
                conversion: last_year.conversion(),
                average_order_value: last_year.average_order_value(),
            },
        )?;
        Ok(pb::GapAttribution {
            unit: unit.id.resource_name(),
            period: Some(convert::period(&period)),
            against_last_year: Some(breakdown(&against_last_year, &current, &plan)?),
            against_target: Some(breakdown(&against_target, &current, &plan)?),
        })
    }
}
