//! attain.review.v1.ReviewService. Its RPCs arrive with the review issue; until
//! then each answers UNIMPLEMENTED (the generated default), never invented
//! data.

use attain_proto::attain::review::v1::review_service_server::ReviewService;

#[derive(Debug, Clone, Default)]
pub struct ReviewApi;

#[tonic::async_trait]
impl ReviewService for ReviewApi {}
