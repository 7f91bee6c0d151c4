//! attain.target.v1.TargetService: plans, splits, phasing, milestones and
//! adjustments arrive with the target issue. Until then every RPC answers
//! UNIMPLEMENTED (the generated default), never invented data.

use attain_proto::attain::target::v1::target_service_server::TargetService;

#[derive(Debug, Clone, Default)]
pub struct TargetApi;

#[tonic::async_trait]
impl TargetService for TargetApi {}
