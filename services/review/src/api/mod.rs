//! attain.review.v1.ReviewService: each RPC authenticates the caller and
//! hands over to the module that owns it.

mod convert;
mod items;
mod obligations;
mod practices;
mod reallocations;
mod report;
mod reviews;

use attain_kit::{Rpc, ServiceError, ServiceResult, context::Ctx, id::Id, reply};
use attain_proto::attain::review::v1::{self as pb, review_service_server::ReviewService};
use tonic::Request;

use crate::app::App;

/// The gRPC face of the service: handlers parse, call `App`, convert.
#[derive(Debug, Clone)]
pub struct ReviewApi {
    app: App,
}

impl ReviewApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

/// A review named in a request ("reviews/{id}", or a name below one such as
/// "reviews/{id}/actionItems/{item}"): the review's id.
fn review_id(field: &str, name: &str) -> ServiceResult<Id> {
    match name.strip_prefix("reviews/") {
        Some(x) => Ok(Id::parse(field, x.split('/').next().unwrap_or(""))?),
        None => Err(ServiceError::invalid(field, format!("{name:?} is not a review name (reviews/{{review_id}})"))),
    }
}

#[tonic::async_trait]
impl ReviewService for ReviewApi {
    async fn create_review(&self, r: Request<pb::CreateReviewRequest>) -> Rpc<pb::Review> {
        reply(ReviewApi::create_review(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_review(&self, r: Request<pb::GetReviewRequest>) -> Rpc<pb::Review> {
        reply(ReviewApi::get_review(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_obligations(&self, r: Request<pb::ListObligationsRequest>) -> Rpc<pb::ListObligationsResponse> {
        reply(ReviewApi::list_obligations(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_reviews(&self, r: Request<pb::ListReviewsRequest>) -> Rpc<pb::ListReviewsResponse> {
        reply(ReviewApi::list_reviews(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn refresh_brief(&self, r: Request<pb::RefreshBriefRequest>) -> Rpc<pb::Review> {
        reply(ReviewApi::refresh_brief(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn close_review(&self, r: Request<pb::CloseReviewRequest>) -> Rpc<pb::Review> {
        reply(ReviewApi::close_review(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn create_cause(&self, r: Request<pb::CreateCauseRequest>) -> Rpc<pb::Cause> {
        reply(ReviewApi::create_cause(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_causes(&self, r: Request<pb::ListCausesRequest>) -> Rpc<pb::ListCausesResponse> {
        reply(ReviewApi::list_causes(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn create_action_item(&self, r: Request<pb::CreateActionItemRequest>) -> Rpc<pb::ActionItem> {
        reply(ReviewApi::create_action_item(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn update_action_item(&self, r: Request<pb::UpdateActionItemRequest>) -> Rpc<pb::ActionItem> {
        reply(ReviewApi::update_action_item(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn create_best_practice(&self, r: Request<pb::CreateBestPracticeRequest>) -> Rpc<pb::BestPractice> {
        reply(ReviewApi::create_best_practice(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn search_best_practices(
        &self,
        r: Request<pb::SearchBestPracticesRequest>,
    ) -> Rpc<pb::SearchBestPracticesResponse> {
        reply(ReviewApi::search_best_practices(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn create_reallocation(&self, r: Request<pb::CreateReallocationRequest>) -> Rpc<pb::Reallocation> {
        reply(ReviewApi::create_reallocation(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_reallocations(&self, r: Request<pb::ListReallocationsRequest>) -> Rpc<pb::ListReallocationsResponse> {
        reply(ReviewApi::list_reallocations(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn generate_report(&self, r: Request<pb::GenerateReportRequest>) -> Rpc<pb::GenerateReportResponse> {
        reply(ReviewApi::generate_report(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_suggestion(&self, r: Request<pb::GetSuggestionRequest>) -> Rpc<pb::Suggestion> {
        reply(ReviewApi::get_suggestion(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn accept_suggestion(&self, r: Request<pb::AcceptSuggestionRequest>) -> Rpc<pb::AcceptSuggestionResponse> {
        reply(ReviewApi::accept_suggestion(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_action_items(&self, r: Request<pb::ListActionItemsRequest>) -> Rpc<pb::ListActionItemsResponse> {
        reply(ReviewApi::list_action_items(self, Ctx::of(&r)?, r.into_inner()).await)
    }
}
