//! Delivery handlers; the use cases are `app::deliveries`.

use attain_kit::{ServiceError, ServiceResult, context::Ctx, id::Id, paging::PageRequest};
use attain_proto::attain::notify::v1 as pb;

use super::{
    NotifyApi,
    convert::{delivery_wire, parse_delivery_state},
    subscription_id,
};

impl NotifyApi {
    pub(crate) async fn list_deliveries(
        &self,
        ctx: Ctx,
        r: pb::ListDeliveriesRequest,
    ) -> ServiceResult<pb::ListDeliveriesResponse> {
        let who = ctx.who;
        let subscription = subscription_id("parent", &r.parent, true)?;
        let states = r
            .states
            .iter()
            .enumerate()
            .map(|(i, v)| parse_delivery_state(&format!("states[{i}]"), *v))
            .collect::<ServiceResult<Vec<_>>>()?;
        let query = format!("deliveries:{}:{:?}", r.parent, r.states);
        let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
        let mut rows =
            self.app.deliveries(&who, subscription.as_ref(), states, page.after.as_deref(), page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |d| d.id.as_str().to_owned());
        Ok(pb::ListDeliveriesResponse { deliveries: rows.iter().map(delivery_wire).collect(), next_page_token })
    }

    pub(crate) async fn redrive_delivery(
        &self,
        ctx: Ctx,
        r: pb::RedriveDeliveryRequest,
    ) -> ServiceResult<pb::Delivery> {
        let bad = || {
            ServiceError::invalid(
                "name",
                format!("{:?} is not a delivery name (subscriptions/{{id}}/deliveries/{{id}})", r.name),
            )
        };
        let rest = r.name.strip_prefix("subscriptions/").ok_or_else(bad)?;
        let (sub, d) = rest.split_once("/deliveries/").ok_or_else(bad)?;
        let (sub, d) = (Id::parse("name", sub).map_err(|_| bad())?, Id::parse("name", d).map_err(|_| bad())?);
        let d = self.app.redrive(&ctx.who, &sub, &d).await?;
        Ok(delivery_wire(&d))
    }
}
