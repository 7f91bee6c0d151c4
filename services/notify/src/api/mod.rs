//! attain.notify.v1.NotifyService: each RPC authenticates the caller and
//! hands over to the module that owns it.

mod convert;
mod deliveries;
mod subscriptions;

use attain_kit::{Rpc, ServiceError, ServiceResult, context::Ctx, id::Id, reply};
use attain_proto::attain::notify::v1::{self as pb, notify_service_server::NotifyService};
use tonic::Request;

use crate::app::App;

/// The gRPC face of the service: handlers parse, call `App`, convert.
#[derive(Debug, Clone)]
pub struct NotifyApi {
    app: App,
}

impl NotifyApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

/// "subscriptions/{id}" (or a name below one): the subscription's id;
/// "-" where `any` allows it (None).
fn subscription_id(field: &str, name: &str, any: bool) -> ServiceResult<Option<Id>> {
    let bad = || {
        ServiceError::invalid(field, format!("{name:?} is not a subscription name (subscriptions/{{subscription_id}})"))
    };
    match name.strip_prefix("subscriptions/").map(|x| x.split('/').next().unwrap_or("")) {
        Some("-") if any => Ok(None),
        Some(x) => Id::parse(field, x).map(Some).map_err(|_| bad()),
        None => Err(bad()),
    }
}

#[tonic::async_trait]
impl NotifyService for NotifyApi {
    async fn create_subscription(&self, r: Request<pb::CreateSubscriptionRequest>) -> Rpc<pb::Subscription> {
        reply(NotifyApi::create_subscription(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_subscription(&self, r: Request<pb::GetSubscriptionRequest>) -> Rpc<pb::Subscription> {
        reply(NotifyApi::get_subscription(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_subscriptions(&self, r: Request<pb::ListSubscriptionsRequest>) -> Rpc<pb::ListSubscriptionsResponse> {
        reply(NotifyApi::list_subscriptions(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn delete_subscription(&self, r: Request<pb::DeleteSubscriptionRequest>) -> Rpc<pb::Subscription> {
        reply(NotifyApi::delete_subscription(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_deliveries(&self, r: Request<pb::ListDeliveriesRequest>) -> Rpc<pb::ListDeliveriesResponse> {
        reply(NotifyApi::list_deliveries(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn redrive_delivery(&self, r: Request<pb::RedriveDeliveryRequest>) -> Rpc<pb::Delivery> {
        reply(NotifyApi::redrive_delivery(self, Ctx::of(&r)?, r.into_inner()).await)
    }
}
