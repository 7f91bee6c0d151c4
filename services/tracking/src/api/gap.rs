//! The gap-attribution handler; the attribution is `app::gap`.

use attain_kit::{ServiceResult, context::Ctx, money::Amount};
use attain_proto::attain::tracking::v1 as pb;
use attain_target_client::PlanInfo;
use rust_decimal::Decimal;

use super::{TrackingApi, convert, unit_id};
use crate::{
    app::gap::GapReport,
    domain::gap::{Attribution, Drivers},
};

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

/// A unit's gap, both ways, on the wire.
pub(crate) fn gap_attribution(g: &GapReport) -> ServiceResult<pb::GapAttribution> {
    Ok(pb::GapAttribution {
        unit: g.unit.resource_name(),
        period: Some(convert::period(&g.period)),
        against_last_year: Some(breakdown(&g.against_last_year, &g.current, &g.plan)?),
        against_target: Some(breakdown(&g.against_target, &g.current, &g.plan)?),
    })
}

impl TrackingApi {
    pub(crate) async fn get_gap_attribution(
        &self,
        ctx: Ctx,
        r: pb::GetGapAttributionRequest,
    ) -> ServiceResult<pb::GapAttribution> {
        let Ctx { who, fwd } = ctx;
        let unit = unit_id("unit", &r.unit)?;
        let as_of = (!r.as_of_date.is_empty()).then(|| convert::date("as_of_date", &r.as_of_date)).transpose()?;
        let g = self.app.gap_attribution((&who, &fwd), &unit, &r.period, as_of).await?;
        gap_attribution(&g)
    }
}
