//! Period-close handlers; the freezing is `app::close`.

use attain_kit::{ServiceResult, context::Ctx, idempotency::IdempotencyKey};
use attain_proto::attain::tracking::v1 as pb;

use super::{TrackingApi, convert, unit_id};

impl TrackingApi {
    pub(crate) async fn close_period(&self, ctx: Ctx, mut r: pb::ClosePeriodRequest) -> ServiceResult<pb::PeriodClose> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::required(&who.person, "ClosePeriod", "request_id", &request_id, &r)?;
        let unit = unit_id("unit", &r.unit)?;
        self.app.close_period((&who, &fwd), key, &unit, &r.period, convert::period_close).await
    }

    pub(crate) async fn get_period_close(
        &self,
        ctx: Ctx,
        r: pb::GetPeriodCloseRequest,
    ) -> ServiceResult<pb::PeriodClose> {
        let Ctx { who, fwd } = ctx;
        let view = self.app.period_close(&who, &fwd, &unit_id("unit", &r.unit)?, &r.period).await?;
        Ok(convert::period_close(&view))
    }
}
