//! attain.target.v1.TargetService: each RPC authenticates the caller and
//! hands over to the module that owns it.

use attain_kit::auth::caller;
use attain_proto::attain::target::v1::{self as pb, target_service_server::TargetService};
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use super::{adjustments, plans, targets};

#[derive(Debug, Clone)]
pub struct TargetApi {
    db: DatabaseConnection,
}

impl TargetApi {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

type Rpc<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl TargetService for TargetApi {
    async fn create_plan(&self, r: Request<pb::CreatePlanRequest>) -> Rpc<pb::Plan> {
        plans::create(&self.db, caller(&r)?, r).await
    }
    async fn get_plan(&self, r: Request<pb::GetPlanRequest>) -> Rpc<pb::Plan> {
        plans::get(&self.db, caller(&r)?, r).await
    }
    async fn list_plans(&self, r: Request<pb::ListPlansRequest>) -> Rpc<pb::ListPlansResponse> {
        plans::list(&self.db, caller(&r)?, r).await
    }
    async fn update_plan(&self, r: Request<pb::UpdatePlanRequest>) -> Rpc<pb::Plan> {
        plans::update(&self.db, caller(&r)?, r).await
    }
    async fn publish_plan(&self, r: Request<pb::PublishPlanRequest>) -> Rpc<pb::Plan> {
        plans::publish(&self.db, caller(&r)?, r).await
    }
    async fn close_plan(&self, r: Request<pb::ClosePlanRequest>) -> Rpc<pb::Plan> {
        plans::close(&self.db, caller(&r)?, r).await
    }
    async fn get_target(&self, r: Request<pb::GetTargetRequest>) -> Rpc<pb::Target> {
        targets::get(&self.db, caller(&r)?, r).await
    }
    async fn list_targets(&self, r: Request<pb::ListTargetsRequest>) -> Rpc<pb::ListTargetsResponse> {
        targets::list(&self.db, caller(&r)?, r).await
    }
    async fn decompose_target(&self, r: Request<pb::DecomposeTargetRequest>) -> Rpc<pb::DecomposeTargetResponse> {
        targets::decompose(&self.db, caller(&r)?, r).await
    }
    async fn phase_target(&self, r: Request<pb::PhaseTargetRequest>) -> Rpc<pb::PhaseTargetResponse> {
        targets::phase(&self.db, caller(&r)?, r).await
    }
    async fn set_milestones(&self, r: Request<pb::SetMilestonesRequest>) -> Rpc<pb::SetMilestonesResponse> {
        targets::set_milestones(&self.db, caller(&r)?, r).await
    }
    async fn query_period_targets(
        &self,
        r: Request<pb::QueryPeriodTargetsRequest>,
    ) -> Rpc<pb::QueryPeriodTargetsResponse> {
        targets::query_period_targets(&self.db, caller(&r)?, r).await
    }
    async fn batch_get_expected_amounts(
        &self,
        r: Request<pb::BatchGetExpectedAmountsRequest>,
    ) -> Rpc<pb::BatchGetExpectedAmountsResponse> {
        targets::batch_get_expected_amounts(&self.db, caller(&r)?, r).await
    }
    async fn list_target_revisions(
        &self,
        r: Request<pb::ListTargetRevisionsRequest>,
    ) -> Rpc<pb::ListTargetRevisionsResponse> {
        targets::list_revisions(&self.db, caller(&r)?, r).await
    }
    async fn create_adjustment(&self, r: Request<pb::CreateAdjustmentRequest>) -> Rpc<pb::Adjustment> {
        adjustments::create(&self.db, caller(&r)?, r).await
    }
    async fn get_adjustment(&self, r: Request<pb::GetAdjustmentRequest>) -> Rpc<pb::Adjustment> {
        adjustments::get(&self.db, caller(&r)?, r).await
    }
    async fn list_adjustments(&self, r: Request<pb::ListAdjustmentsRequest>) -> Rpc<pb::ListAdjustmentsResponse> {
        adjustments::list(&self.db, caller(&r)?, r).await
    }
    async fn approve_adjustment(&self, r: Request<pb::ApproveAdjustmentRequest>) -> Rpc<pb::Adjustment> {
        adjustments::approve(&self.db, caller(&r)?, r).await
    }
    async fn reject_adjustment(&self, r: Request<pb::RejectAdjustmentRequest>) -> Rpc<pb::Adjustment> {
        adjustments::reject(&self.db, caller(&r)?, r).await
    }
    async fn withdraw_adjustment(&self, r: Request<pb::WithdrawAdjustmentRequest>) -> Rpc<pb::Adjustment> {
        adjustments::withdraw(&self.db, caller(&r)?, r).await
    }
}
