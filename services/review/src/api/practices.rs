//! Best-practice handlers; the use cases are `app::practices`.

use attain_kit::{
    ServiceError, ServiceResult, context::Ctx, id::Id, idempotency::IdempotencyKey, paging::PageRequest,
    wire::timestamp,
};
use attain_proto::attain::review::v1 as pb;

use super::{ReviewApi, review_id};
use crate::{app::practices::NewPractice, domain::practice::BestPractice};

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

fn new_practice(p: &pb::BestPractice) -> ServiceResult<NewPractice> {
    let title = attain_kit::text::plain("best_practice.title", &p.title, 200)?;
    let text = attain_kit::text::plain("best_practice.text", &p.text, 8000)?;
    if p.tags.len() > 20 || p.tags.iter().any(|t| t.trim().is_empty() || t.chars().count() > 40) {
        return Err(ServiceError::invalid("best_practice.tags", "at most 20 tags of 1–40 characters"));
    }
    Ok(NewPractice {
        author: p.author.trim().to_owned(),
        title,
        text,
        tags: p.tags.iter().map(|t| t.trim().to_owned()).collect(),
    })
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
        let review = review_id("parent", &r.parent)?;
        let p = r.best_practice.as_ref().ok_or_else(|| ServiceError::invalid("best_practice", "is required"))?;
        let practice = new_practice(p)?;
        self.app.create_best_practice((&who, &fwd), key, (&review, &r.parent), practice, practice_wire).await
    }

    pub(crate) async fn search_best_practices(
        &self,
        ctx: Ctx,
        r: pb::SearchBestPracticesRequest,
    ) -> ServiceResult<pb::SearchBestPracticesResponse> {
        let Ctx { who, fwd } = ctx;
        let query = format!("SearchBestPractices {} {}", r.unit, r.query);
        let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
        if r.query.chars().count() > 200 {
            return Err(ServiceError::invalid("query", "at most 200 characters"));
        }
        let unit = Id::from_name("unit", &r.unit)?;
        let (rows, next_page_token) = self.app.search_best_practices(&fwd, &unit, &r.query, &page).await?;
        Ok(pb::SearchBestPracticesResponse {
            best_practices: rows.iter().map(practice_wire).collect(),
            next_page_token,
        })
    }
}
