//! Attainment handlers: one unit, a unit's children in one call, a burn-up,
//! actuals of many units. The measuring is `app::measure`.

use attain_kit::{ServiceError, ServiceResult, context::Ctx, period::Period};
use attain_proto::attain::{common::v1 as common, tracking::v1 as pb};

use super::{TrackingApi, convert, unit_id};
use crate::app::measure::{Ask, Reading};

/// A unit-and-period read as it came off the wire.
fn ask(
    unit: &str,
    period: &str,
    as_of_date: &str,
    dimensions: Option<&common::Dimensions>,
    metric: i32,
) -> ServiceResult<Ask> {
    Ok(Ask {
        metric: attain_kit::wire::parse_metric("metric", metric)?,
        unit: unit_id("unit", unit)?,
        period: period.to_owned(),
        as_of: (!as_of_date.is_empty()).then(|| convert::date("as_of_date", as_of_date)).transpose()?,
        dims: convert::dimensions("dimensions", dimensions)?,
    })
}

impl TrackingApi {
    pub(crate) async fn get_attainment(&self, ctx: Ctx, r: pb::GetAttainmentRequest) -> ServiceResult<pb::Attainment> {
        let Ctx { who, fwd } = ctx;
        let ask = ask(&r.unit, &r.period, &r.as_of_date, r.dimensions.as_ref(), r.metric)?;
        let Reading { unit, day, plan, period, dims } = self.app.reading(&who, &fwd, ask).await?;
        let (mut measured, _) = self.app.measure(&fwd, vec![unit], &plan, &period, day, &dims).await?;
        let m = measured.pop().ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("no figures")))?;
        Ok(convert::attainment(&m, &plan, &period))
    }

    pub(crate) async fn list_child_attainments(
        &self,
        ctx: Ctx,
        r: pb::ListChildAttainmentsRequest,
    ) -> ServiceResult<pb::ListChildAttainmentsResponse> {
        let Ctx { who, fwd } = ctx;
        let ask = ask(&r.unit, &r.period, &r.as_of_date, r.dimensions.as_ref(), r.metric)?;
        let reading = self.app.reading(&who, &fwd, ask).await?;
        let (parent, rows) = self.app.drill_down(&fwd, &reading).await?;
        let (plan, period) = (&reading.plan, &reading.period);
        Ok(pb::ListChildAttainmentsResponse {
            parent: Some(convert::attainment(&parent, plan, period)),
            // Each row over its own days (its period says which).
            children: rows.iter().map(|(days, m)| convert::attainment(m, plan, days)).collect(),
        })
    }

    pub(crate) async fn get_burn_up(&self, ctx: Ctx, r: pb::GetBurnUpRequest) -> ServiceResult<pb::BurnUp> {
        let Ctx { who, fwd } = ctx;
        let ask = ask(&r.unit, &r.period, &r.as_of_date, r.dimensions.as_ref(), r.metric)?;
        let reading = self.app.reading(&who, &fwd, ask).await?;
        Ok(convert::burn_up(&self.app.burn_up(&fwd, reading).await?))
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
            let field = format!("units[{i}]");
            let id = unit_id(&field, u)?;
            ids.push((field, id));
        }
        // Reference periods are calendar-based: a caller reading last year's
        // actuals for a split names the dates it means.
        let period = Period::parse("period", &r.period, 1)?;
        let dims = convert::dimensions("dimensions", r.dimensions.as_ref())?;
        let read = self.app.actuals_in_scope((&who, &fwd), &ids, &period, &dims).await?;
        let actuals = read
            .into_iter()
            .map(|(id, s, currency)| pb::UnitActual {
                unit: id.resource_name(),
                actual: currency.map(|c| convert::money(s.amount, c)),
                deals_won: s.deals_won,
            })
            .collect();
        Ok(pb::BatchGetActualsResponse { period: Some(convert::period(&period)), actuals })
    }
}
