//! attain.tracking.v1.TrackingService. Its RPCs arrive with the tracking issue; until
//! then each answers UNIMPLEMENTED (the generated default), never invented
//! data.

use attain_proto::attain::tracking::v1::tracking_service_server::TrackingService;

#[derive(Debug, Clone, Default)]
pub struct TrackingApi;

#[tonic::async_trait]
impl TrackingService for TrackingApi {}
