//! Review-session handlers; the use cases are `app::reviews`.

use attain_kit::{ServiceError, ServiceResult, context::Ctx, id::Id, idempotency::IdempotencyKey, paging::PageRequest};
use attain_proto::attain::review::v1 as pb;

use super::{ReviewApi, convert, review_id};
use crate::app::{own_line, reviews::Listing};

impl ReviewApi {
    pub(crate) async fn create_review(&self, ctx: Ctx, mut r: pb::CreateReviewRequest) -> ServiceResult<pb::Review> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "CreateReview", &request_id, &r)?;
        let input = r.review.ok_or_else(|| ServiceError::invalid("review", "is required"))?;
        let unit = Id::from_name("review.unit", &input.unit)?;
        let cadence = convert::cadence(input.cadence).ok_or_else(|| {
            ServiceError::invalid("review.cadence", "is required (WEEKLY, MONTHLY, QUARTERLY or ANNUAL)")
        })?;
        let expr = input.period.as_ref().map(|p| p.expression.clone()).unwrap_or_default();
        let render = |review: &_| convert::review(review, None);
        self.app.create_review((&who, &fwd), key, (unit, cadence, &expr), render).await
    }

    pub(crate) async fn get_review(&self, ctx: Ctx, r: pb::GetReviewRequest) -> ServiceResult<pb::Review> {
        let Ctx { who, fwd } = ctx;
        let (review, _) = self.app.visible(&who, &fwd, &review_id("name", &r.name)?, &r.name).await?;
        let review = self.app.current(&who, &fwd, review).await?;
        Ok(convert::review(&review, own_line(&who).as_deref()))
    }

    pub(crate) async fn list_reviews(
        &self,
        ctx: Ctx,
        r: pb::ListReviewsRequest,
    ) -> ServiceResult<pb::ListReviewsResponse> {
        let Ctx { who, fwd } = ctx;
        let newest = match r.order_by.trim() {
            "" | "create_time" | "create_time asc" => false,
            "create_time desc" => true,
            other => {
                return Err(ServiceError::invalid(
                    "order_by",
                    format!("{other:?}: reviews are ordered by \"create_time\" or \"create_time desc\""),
                ));
            }
        };
        let query = format!("ListReviews {} {} {newest}", r.unit, r.unit_only);
        let page = PageRequest::parse(r.page_size, &r.page_token, &query, &who)?;
        let unit = Id::from_name("unit", &r.unit)?;
        let listing = Listing { unit_only: r.unit_only, newest };
        let (rows, next_page_token) = self.app.list_reviews(&who, &fwd, (&unit, listing), &page).await?;
        let own = own_line(&who);
        Ok(pb::ListReviewsResponse {
            reviews: rows.iter().map(|x| convert::review(x, own.as_deref())).collect(),
            next_page_token,
        })
    }

    pub(crate) async fn refresh_brief(&self, ctx: Ctx, r: pb::RefreshBriefRequest) -> ServiceResult<pb::Review> {
        let Ctx { who, fwd } = ctx;
        let id = review_id("name", &r.name)?;
        let review = self.app.refresh_brief((&who, &fwd), (&id, &r.name, &r.etag)).await?;
        Ok(convert::review(&review, None))
    }

    pub(crate) async fn close_review(&self, ctx: Ctx, mut r: pb::CloseReviewRequest) -> ServiceResult<pb::Review> {
        let Ctx { who, fwd } = ctx;
        let request_id = std::mem::take(&mut r.request_id);
        let key = IdempotencyKey::new(&who.person, "CloseReview", &request_id, &r)?;
        let id = review_id("name", &r.name)?;
        let render = |review: &_| convert::review(review, None);
        self.app.close_review((&who, &fwd), key, (&id, &r.name, &r.etag), render).await
    }
}
