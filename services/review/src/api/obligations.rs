//! ListObligations (monthly reviews): parse, ask the use case, convert.

use attain_kit::{
    ServiceError, ServiceResult,
    cadence::{Compliance, Obligation},
    context::Ctx,
    id::Id,
    paging::PageRequest,
    wire::{self, parse_obligation_statuses},
};
use attain_proto::attain::review::v1 as pb;

use super::ReviewApi;

impl ReviewApi {
    pub(crate) async fn list_obligations(
        &self,
        ctx: Ctx,
        r: pb::ListObligationsRequest,
    ) -> ServiceResult<pb::ListObligationsResponse> {
        let Ctx { who, fwd } = ctx;
        let query = format!("ListObligations {} {} {:?}", r.unit, r.period, r.statuses);
        let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
        let statuses = parse_obligation_statuses("statuses", &r.statuses)?;
        if r.period.is_empty() {
            return Err(ServiceError::invalid("period", "is required (e.g. \"2024-Q1\")"));
        }
        let unit = Id::from_name("unit", &r.unit)?;
        let all = self.app.obligations((&who, &fwd), &unit, &r.period).await?;
        let wanted = all.rows.iter().filter(|o| statuses.is_empty() || statuses.contains(&o.status));
        let (rows, next_page_token) = page.page_of(wanted, Obligation::key);
        Ok(pb::ListObligationsResponse {
            obligations: wire::obligations(rows, &all.names),
            next_page_token,
            compliance: Some(wire::compliance(&Compliance::of(&all.rows))),
        })
    }
}
