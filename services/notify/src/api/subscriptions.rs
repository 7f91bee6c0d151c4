//! Subscription handlers; the use cases are `app::subscriptions`.

use attain_kit::{ServiceError, ServiceResult, context::Ctx, id::Id, idempotency::IdempotencyKey, paging::PageRequest};
use attain_proto::attain::notify::v1 as pb;

use super::{
    NotifyApi,
    convert::{new_channel, parse_least_severity, parse_rule, subscription_wire},
    subscription_id,
};
use crate::app::subscriptions::NewSubscription;

fn required(field: &str, name: &str) -> ServiceResult<Id> {
    subscription_id(field, name, false)?.ok_or_else(|| ServiceError::invalid(field, "names one subscription"))
}

impl NotifyApi {
    pub(crate) async fn create_subscription(
        &self,
        ctx: Ctx,
        mut r: pb::CreateSubscriptionRequest,
    ) -> ServiceResult<pb::Subscription> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "CreateSubscription", &request_id, &r)?;
        let s = r.subscription.as_ref().ok_or_else(|| ServiceError::invalid("subscription", "is required"))?;
        let unit = (!s.unit.is_empty()).then(|| Id::from_name("subscription.unit", &s.unit)).transpose()?;
        let rules = s
            .rules
            .iter()
            .enumerate()
            .map(|(i, v)| parse_rule(&format!("subscription.rules[{i}]"), *v))
            .collect::<ServiceResult<Vec<_>>>()?;
        let new = NewSubscription {
            unit,
            channel: new_channel(s.channel.as_ref())?,
            rules,
            least_severity: parse_least_severity("subscription.least_severity", s.least_severity)?,
            time_zone: s.time_zone.clone(),
            quiet_hours: s.quiet_hours.as_ref().map(|q| (q.start.clone(), q.end.clone())),
            digest_hour: s.digest_hour,
            language: s.language.clone(),
            money_unit: s.money_unit.clone(),
            remind_minutes: s.remind_minutes_before,
        };
        self.app.create_subscription((&who, &fwd), key, (new, r.send_open_alerts), subscription_wire).await
    }

    pub(crate) async fn get_subscription(
        &self,
        ctx: Ctx,
        r: pb::GetSubscriptionRequest,
    ) -> ServiceResult<pb::Subscription> {
        let s = self.app.subscription(&ctx.who, &required("name", &r.name)?).await?;
        Ok(subscription_wire(&s))
    }

    pub(crate) async fn list_subscriptions(
        &self,
        ctx: Ctx,
        r: pb::ListSubscriptionsRequest,
    ) -> ServiceResult<pb::ListSubscriptionsResponse> {
        let who = ctx.who;
        let page = PageRequest::parse(r.page_size, &r.page_token, &format!("subs:{}", r.show_deleted), &who)?;
        let mut rows = self.app.subscriptions(&who, r.show_deleted, page.after.as_deref(), page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |s| s.id.as_str().to_owned());
        Ok(pb::ListSubscriptionsResponse {
            subscriptions: rows.iter().map(subscription_wire).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn delete_subscription(
        &self,
        ctx: Ctx,
        r: pb::DeleteSubscriptionRequest,
    ) -> ServiceResult<pb::Subscription> {
        let s = self.app.delete_subscription(&ctx.who, &required("name", &r.name)?, &r.etag).await?;
        Ok(subscription_wire(&s))
    }
}
