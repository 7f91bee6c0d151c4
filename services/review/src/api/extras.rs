//! Best practices shared by those who hit target, and resources moved to
//! help a unit.

use attain_kit::ServiceResult;
use attain_kit::context::Ctx;
use attain_kit::{
    ServiceError,
    id::Id,
    idempotency::IdempotencyKey,
    idempotent,
    money::{Amount, CurrencyCode},
    paging::PageRequest,
    wire::{money, timestamp},
};
use attain_proto::attain::review::v1 as pb;
use chrono::Utc;

use super::{ReviewApi, require_manager, reviews::own_line};
use crate::storage::extras::{self, BestPractice, Reallocation};

fn practice_wire(p: &BestPractice) -> pb::BestPractice {
    pb::BestPractice {
        name: format!("reviews/{}/bestPractices/{}", p.review.as_str(), p.id.as_str()),
        author: p.author.clone(),
        title: p.title.clone(),
        text: p.text.clone(),
        tags: p.tags.clone(),
        create_time: Some(timestamp(p.create_time)),
    }
}

pub(super) fn reallocation_wire(r: &Reallocation) -> pb::Reallocation {
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

impl ReviewApi {
    pub(crate) async fn create_best_practice(
        &self,
        ctx: Ctx,
        mut r: pb::CreateBestPracticeRequest,
    ) -> ServiceResult<pb::BestPractice> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "CreateBestPractice", &request_id, &r)?;
        let (review, _) = self.visible(&who, &fwd, "parent", &r.parent).await?;
        if who.role == attain_kit::auth::Role::Viewer {
            return Err(ServiceError::PermissionDenied("viewers are read-only".to_owned()));
        }
        let p = r.best_practice.ok_or_else(|| ServiceError::invalid("best_practice", "is required"))?;
        let title = p.title.trim().to_owned();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(ServiceError::invalid("best_practice.title", "give 1–200 characters"));
        }
        if p.text.trim().is_empty() || p.text.chars().count() > 8000 {
            return Err(ServiceError::invalid("best_practice.text", "give 1–8000 characters"));
        }
        if p.tags.len() > 20 || p.tags.iter().any(|t| t.trim().is_empty() || t.chars().count() > 40) {
            return Err(ServiceError::invalid("best_practice.tags", "at most 20 tags of 1–40 characters"));
        }
        let practice = BestPractice {
            id: Id::generate(),
            review: review.id.clone(),
            author: if p.author.trim().is_empty() { who.person.clone() } else { p.author.trim().to_owned() },
            title,
            text: p.text.trim().to_owned(),
            tags: p.tags.iter().map(|t| t.trim().to_owned()).collect(),
            create_time: Utc::now(),
        };
        idempotent!(self.db, key, |txn| {
            extras::insert_practice(&txn, &practice, &review.unit_path).await?;
            practice_wire(&practice)
        })
    }

    /// Scope: the target service answers GetSubtree only for units the
    /// caller may see (the request carries the caller's token).
    pub(crate) async fn search_best_practices(
        &self,
        ctx: Ctx,
        r: pb::SearchBestPracticesRequest,
    ) -> ServiceResult<pb::SearchBestPracticesResponse> {
        let Ctx { who, fwd } = ctx;
        let page = PageRequest::parse(
            r.page_size,
            &r.page_token,
            &format!("SearchBestPractices {} {}", r.unit, r.query),
            &who,
        )?;
        if r.query.chars().count() > 200 {
            return Err(ServiceError::invalid("query", "at most 200 characters"));
        }
        let tree = self.up.tree(&fwd, &Id::from_name("unit", &r.unit)?).await?;
        let mut rows =
            extras::search_practices(&self.db, &tree.path, &r.query, page.after.as_deref(), page.fetch_limit()).await?;
        let next_page_token = page.finish(&mut rows, |p| p.id.as_str().to_owned());
        Ok(pb::SearchBestPracticesResponse {
            best_practices: rows.iter().map(practice_wire).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn create_reallocation(
        &self,
        ctx: Ctx,
        mut r: pb::CreateReallocationRequest,
    ) -> ServiceResult<pb::Reallocation> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "CreateReallocation", &request_id, &r)?;
        let (review, _) = self.visible(&who, &fwd, "parent", &r.parent).await?;
        require_manager(&who, &review.unit_path, "CreateReallocation")?;
        let x = r.reallocation.ok_or_else(|| ServiceError::invalid("reallocation", "is required"))?;
        let unit = Id::from_name("reallocation.unit", &x.unit)?;
        let tree = self.up.tree(&fwd, &review.unit).await?;
        if unit != review.unit && !tree.below.contains(&unit) {
            return Err(ServiceError::invalid("reallocation.unit", format!("{} is not in the review", x.unit)));
        }
        let (kind, leads, budget) = match pb::ReallocationKind::try_from(x.kind) {
            Ok(pb::ReallocationKind::Leads) if x.lead_count > 0 => ("LEADS", x.lead_count, None),
            Ok(pb::ReallocationKind::Leads) => {
                return Err(ServiceError::invalid("reallocation.lead_count", "give how many leads (> 0)"));
            }
            Ok(pb::ReallocationKind::PromotionBudget) => {
                let m = x.budget.as_ref().ok_or_else(|| {
                    ServiceError::invalid("reallocation.budget", "is required for a promotion budget")
                })?;
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
        let realloc = Reallocation {
            id: Id::generate(),
            review: review.id.clone(),
            kind: kind.to_owned(),
            unit,
            lead_count: leads,
            budget,
            description: x.description.trim().to_owned(),
            approved_by: who.person.clone(),
            create_time: Utc::now(),
        };
        idempotent!(self.db, key, |txn| {
            extras::insert_reallocation(&txn, &realloc).await?;
            reallocation_wire(&realloc)
        })
    }

    pub(crate) async fn list_reallocations(
        &self,
        ctx: Ctx,
        r: pb::ListReallocationsRequest,
    ) -> ServiceResult<pb::ListReallocationsResponse> {
        let Ctx { who, fwd } = ctx;
        let (review, _) = self.visible(&who, &fwd, "parent", &r.parent).await?;
        // Scope is per row: a rep sees the lines for itself, never a
        // colleague's leads or budget.
        let own = own_line(&who);
        let rows = extras::reallocations_of(&self.db, &review.id).await?;
        Ok(pb::ListReallocationsResponse {
            reallocations: rows
                .iter()
                .filter(|x| own.as_ref().is_none_or(|u| x.unit.resource_name() == *u))
                .map(reallocation_wire)
                .collect(),
            next_page_token: String::new(),
        })
    }
}
