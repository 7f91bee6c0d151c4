//! Reading deliveries and sending a failed one again. A person sees the
//! deliveries of their own subscriptions; an admin sees all.

use attain_kit::{ServiceError, ServiceResult, auth::Identity, id::Id, scope::reveal};
use chrono::Utc;

use super::App;
use crate::{
    domain::delivery::{Delivery, State},
    storage::deliveries::{self, Filter},
};

impl App {
    /// Deliveries newest first: of one subscription (None: all the caller's).
    pub async fn deliveries(
        &self,
        who: &Identity,
        subscription: Option<&Id>,
        states: Vec<State>,
        before: Option<&str>,
        limit: u64,
    ) -> ServiceResult<Vec<Delivery>> {
        if let Some(s) = subscription {
            self.subscription(who, s).await?;
        }
        let owner = (!who.is_admin()).then_some(who.person.as_str());
        let f = Filter { owner, subscription: subscription.map(Id::as_str), states };
        deliveries::list(&self.db, &f, before, limit).await
    }

    /// A DEAD or FAILED delivery, back to its first attempt and due now.
    pub async fn redrive(&self, who: &Identity, subscription: &Id, id: &Id) -> ServiceResult<Delivery> {
        let name = format!("subscriptions/{}/deliveries/{}", subscription.as_str(), id.as_str());
        let found = deliveries::get(&self.db, id.as_str()).await?.filter(|d| &d.subscription == subscription);
        let d = reveal(who, "delivery", &name, found, |d| who.is_admin() || d.owner == who.person)?;
        if !matches!(d.state, State::Dead | State::Failed) {
            return Err(ServiceError::precondition(
                "NOT_FAILED",
                format!("{name} is {}: only a DEAD or FAILED delivery is sent again", d.state.as_str()),
            ));
        }
        let sub = self.subscription(who, subscription).await?;
        if sub.state == crate::domain::subscription::State::Deleted {
            return Err(ServiceError::precondition(
                "SUBSCRIPTION_DELETED",
                format!("{} is deleted", sub.resource_name()),
            ));
        }
        deliveries::redrive(&self.db, id.as_str(), Utc::now()).await?;
        deliveries::get(&self.db, id.as_str()).await?.ok_or_else(|| ServiceError::not_found("delivery", name))
    }
}
