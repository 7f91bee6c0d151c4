//! Reallocation handlers; the use cases are `app::reallocations`.

use attain_kit::{
    ServiceError, ServiceResult,
    context::Ctx,
    id::Id,
    idempotency::IdempotencyKey,
    money::{Amount, CurrencyCode},
    wire::{money, timestamp},
};
use attain_proto::attain::review::v1 as pb;

use super::{ReviewApi, review_id};
use crate::{app::reallocations::NewReallocation, domain::practice::Reallocation};

fn reallocation_wire(r: &Reallocation) -> pb::Reallocation {
    let kind = match r.kind.as_str() {
        "LEADS" => pb::ReallocationKind::Leads,
        "PROMOTION_BUDGET" => pb::ReallocationKind::PromotionBudget,
        _ => pb::ReallocationKind::Coaching,
    };
    pb::Reallocation {
        name: format!("reviews/{}/reallocations/{}", r.review.as_str(), r.id.as_str()),
        kind: kind as i32,
        unit: r.unit.resource_name(),
        lead_count: r.lead_count,
        budget: r.budget.map(|(a, c)| money(a, c)),
        description: r.description.clone(),
        approved_by: r.approved_by.clone(),
        create_time: Some(timestamp(r.create_time)),
    }
}

/// A reallocation from the wire.
fn new_reallocation(x: &pb::Reallocation) -> ServiceResult<NewReallocation> {
    let unit = Id::from_name("reallocation.unit", &x.unit)?;
    let (kind, lead_count, budget) = match pb::ReallocationKind::try_from(x.kind) {
        Ok(pb::ReallocationKind::Leads) if x.lead_count > 0 => ("LEADS", x.lead_count, None),
        Ok(pb::ReallocationKind::Leads) => {
            return Err(ServiceError::invalid("reallocation.lead_count", "give how many leads (> 0)"));
        }
        Ok(pb::ReallocationKind::PromotionBudget) => {
            let m = x
                .budget
                .as_ref()
                .ok_or_else(|| ServiceError::invalid("reallocation.budget", "is required for a promotion budget"))?;
            let a = Amount::parse(m.amount.trim())
                .map_err(|e| ServiceError::invalid("reallocation.budget.amount", e.to_string()))?;
            if a.is_negative() || a.is_zero() {
                return Err(ServiceError::invalid("reallocation.budget.amount", "must be positive"));
            }
            let c = CurrencyCode::parse(&m.currency_code)
                .map_err(|e| ServiceError::invalid("reallocation.budget.currency_code", e.to_string()))?;
            ("PROMOTION_BUDGET", 0, Some((a, c)))
        }
        Ok(pb::ReallocationKind::Coaching) if !x.description.trim().is_empty() => ("COACHING", 0, None),
        Ok(pb::ReallocationKind::Coaching) => {
            return Err(ServiceError::invalid("reallocation.description", "describe the coaching"));
        }
        _ => {
            return Err(ServiceError::invalid(
                "reallocation.kind",
                "is required (LEADS, PROMOTION_BUDGET or COACHING)",
            ));
        }
    };
    Ok(NewReallocation { kind, unit, lead_count, budget, description: x.description.trim().to_owned() })
}

impl ReviewApi {
    pub(crate) async fn create_reallocation(
        &self,
        ctx: Ctx,
        mut r: pb::CreateReallocationRequest,
    ) -> ServiceResult<pb::Reallocation> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "CreateReallocation", &request_id, &r)?;
        let review = review_id("parent", &r.parent)?;
        let x = r.reallocation.as_ref().ok_or_else(|| ServiceError::invalid("reallocation", "is required"))?;
        let realloc = new_reallocation(x)?;
        self.app.create_reallocation((&who, &fwd), key, (&review, &r.parent), realloc, reallocation_wire).await
    }

    pub(crate) async fn list_reallocations(
        &self,
        ctx: Ctx,
        r: pb::ListReallocationsRequest,
    ) -> ServiceResult<pb::ListReallocationsResponse> {
        let Ctx { who, fwd } = ctx;
        let rows = self.app.reallocations(&who, &fwd, (&review_id("parent", &r.parent)?, &r.parent)).await?;
        Ok(pb::ListReallocationsResponse {
            reallocations: rows.iter().map(reallocation_wire).collect(),
            next_page_token: String::new(),
        })
    }
}
