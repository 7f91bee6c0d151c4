//! Reading deliveries and sending a failed one again. A person sees the
//! deliveries of their own subscriptions; an admin sees all.

use attain_kit::{ServiceError, ServiceResult, auth::Identity, id::Id, scope::reveal};
use chrono::Utc;

use super::App;
use crate::{
    domain::{
        delivery::{Delivery, State},
        subscription::State as SubState,
    },
    storage::{
        deliveries::{self, Filter},
        subscriptions,
    },
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
        } else {
            self.reconcile(who).await?;
        }
        let owner = (!who.is_admin()).then_some(who.person.as_str());
        // A suspended subscription's rows told of units the person may no
        // longer read: not theirs to read now.
        let not_of = match owner {
            Some(person) => subscriptions::suspended_of(&self.db, person).await?,
            None => Vec::new(),
        };
        if subscription.is_some_and(|s| not_of.iter().any(|x| x == s.as_str())) {
            return Ok(Vec::new());
        }
        let f = Filter { owner, subscription: subscription.map(Id::as_str), states, not_of };
        deliveries::list(&self.db, &f, before, limit).await
    }

    /// A DEAD or FAILED delivery, back to its first attempt and due now.
    pub async fn redrive(&self, who: &Identity, subscription: &Id, id: &Id) -> ServiceResult<Delivery> {
        self.reconcile(who).await?;
        let name = format!("subscriptions/{}/deliveries/{}", subscription.as_str(), id.as_str());
        let found = deliveries::get(&self.db, id.as_str()).await?.filter(|d| &d.subscription == subscription);
        let d = reveal(who, "delivery", &name, found, |d| who.is_admin() || d.owner == who.person)?;
        let sub = self.subscription(who, subscription).await?;
        match sub.state {
            SubState::Active => {}
            SubState::Deleted => {
                return Err(ServiceError::precondition(
                    "SUBSCRIPTION_DELETED",
                    format!("{} is deleted", sub.resource_name()),
                ));
            }
            SubState::Suspended => {
                return Err(ServiceError::precondition(
                    "SUBSCRIPTION_SUSPENDED",
                    format!("{} is suspended: {}", sub.resource_name(), sub.state_reason),
                ));
            }
        }
        if !matches!(d.state, State::Dead | State::Failed) {
            return Err(ServiceError::precondition(
                "NOT_FAILED",
                format!("{name} is {}: only a DEAD or FAILED delivery is sent again", d.state.as_str()),
            ));
        }
        deliveries::redrive(&self.db, id.as_str(), Utc::now()).await?;
        deliveries::get(&self.db, id.as_str()).await?.ok_or_else(|| ServiceError::not_found("delivery", name))
    }
}
