//! ListObligations: parse, ask the use case, convert.

use attain_kit::{
    ServiceError, ServiceResult,
    context::Ctx,
    paging::PageRequest,
    wire::{self, parse_obligation_kinds, parse_obligation_statuses},
};
use attain_proto::attain::tracking::v1 as pb;

use super::{TrackingApi, unit_id};
use crate::domain::cadence::Obligation;

impl TrackingApi {
    pub(crate) async fn list_obligations(
        &self,
        ctx: Ctx,
        r: pb::ListObligationsRequest,
    ) -> ServiceResult<pb::ListObligationsResponse> {
        let Ctx { who, fwd } = ctx;
        let query = format!("ListObligations {} {} {:?} {:?}", r.unit, r.period, r.statuses, r.kinds);
        let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
        let kinds = parse_obligation_kinds("kinds", &r.kinds)?;
        let statuses = parse_obligation_statuses("statuses", &r.statuses)?;
        if r.period.is_empty() {
            return Err(ServiceError::invalid("period", "is required (e.g. \"2024-01\")"));
        }
        let unit = self.app.visible(&who, &fwd, &unit_id("unit", &r.unit)?).await?;
        let mut all = self.app.obligations((&who, &fwd), &unit, &r.period).await?;
        all.rows.retain(|o| kinds.is_empty() || kinds.contains(&o.kind));
        let compliance = wire::compliance(&all.compliance());
        let wanted = all.rows.iter().filter(|o| statuses.is_empty() || statuses.contains(&o.status));
        let (rows, next_page_token) = page.page_of(wanted, Obligation::key);
        Ok(pb::ListObligationsResponse {
            obligations: wire::obligations(rows, &all.names),
            next_page_token,
            compliance: Some(compliance),
        })
    }
}
