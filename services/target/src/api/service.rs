//! attain.target.v1.TargetService and OrgService: each RPC authenticates
//! the caller, hands over to the handler that owns it, and turns its answer
//! into a reply in one place (`reply`).

use attain_kit::{Rpc, reply};
use attain_kit::{configuration::ClockSettings, context::Ctx};
use attain_proto::attain::target::v1::{
    self as pb, org_service_server::OrgService, target_service_server::TargetService,
};
use sea_orm::DatabaseConnection;
use tonic::Request;

use super::{adjustments, org::OrgApi, plans, targets};
use crate::app::figures_cache::FiguresCache;

#[derive(Debug, Clone)]
pub struct TargetApi {
    db: DatabaseConnection,
    /// Today's date (fixed in the demo and tests): the approval day an
    /// adjustment takes effect from by default.
    clock: ClockSettings,
    /// Expectations computed per state of a plan's targets.
    figures: FiguresCache,
}

impl TargetApi {
    pub fn new(db: DatabaseConnection, clock: ClockSettings) -> Self {
        Self { db, clock, figures: FiguresCache::default() }
    }

    fn dated(&self) -> (&DatabaseConnection, chrono::NaiveDate) {
        (&self.db, self.clock.today())
    }
}

#[tonic::async_trait]
impl TargetService for TargetApi {
    async fn create_plan(&self, r: Request<pb::CreatePlanRequest>) -> Rpc<pb::Plan> {
        reply(plans::create(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_plan(&self, r: Request<pb::GetPlanRequest>) -> Rpc<pb::Plan> {
        reply(plans::get(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_plans(&self, r: Request<pb::ListPlansRequest>) -> Rpc<pb::ListPlansResponse> {
        reply(plans::list(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn update_plan(&self, r: Request<pb::UpdatePlanRequest>) -> Rpc<pb::Plan> {
        reply(plans::update(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn publish_plan(&self, r: Request<pb::PublishPlanRequest>) -> Rpc<pb::Plan> {
        reply(plans::publish(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn close_plan(&self, r: Request<pb::ClosePlanRequest>) -> Rpc<pb::Plan> {
        reply(plans::close(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_target(&self, r: Request<pb::GetTargetRequest>) -> Rpc<pb::Target> {
        reply(targets::get(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_targets(&self, r: Request<pb::ListTargetsRequest>) -> Rpc<pb::ListTargetsResponse> {
        reply(targets::list(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn decompose_target(&self, r: Request<pb::DecomposeTargetRequest>) -> Rpc<pb::DecomposeTargetResponse> {
        reply(targets::decompose(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn phase_target(&self, r: Request<pb::PhaseTargetRequest>) -> Rpc<pb::PhaseTargetResponse> {
        reply(targets::phase(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn set_milestones(&self, r: Request<pb::SetMilestonesRequest>) -> Rpc<pb::SetMilestonesResponse> {
        reply(targets::set_milestones(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn query_period_targets(
        &self,
        r: Request<pb::QueryPeriodTargetsRequest>,
    ) -> Rpc<pb::QueryPeriodTargetsResponse> {
        reply(targets::query_period_targets(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn batch_get_expected_amounts(
        &self,
        r: Request<pb::BatchGetExpectedAmountsRequest>,
    ) -> Rpc<pb::BatchGetExpectedAmountsResponse> {
        reply(targets::batch_get_expected_amounts((&self.db, &self.figures), Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_data_version(&self, r: Request<pb::GetDataVersionRequest>) -> Rpc<pb::DataVersion> {
        reply(targets::data_version(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_target_revisions(
        &self,
        r: Request<pb::ListTargetRevisionsRequest>,
    ) -> Rpc<pb::ListTargetRevisionsResponse> {
        reply(targets::list_revisions(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn create_adjustment(&self, r: Request<pb::CreateAdjustmentRequest>) -> Rpc<pb::Adjustment> {
        reply(adjustments::create(self.dated(), Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_adjustment(&self, r: Request<pb::GetAdjustmentRequest>) -> Rpc<pb::Adjustment> {
        reply(adjustments::get(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_adjustments(&self, r: Request<pb::ListAdjustmentsRequest>) -> Rpc<pb::ListAdjustmentsResponse> {
        reply(adjustments::list(&self.db, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn approve_adjustment(&self, r: Request<pb::ApproveAdjustmentRequest>) -> Rpc<pb::Adjustment> {
        reply(adjustments::approve(self.dated(), Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn reject_adjustment(&self, r: Request<pb::RejectAdjustmentRequest>) -> Rpc<pb::Adjustment> {
        reply(adjustments::reject(self.dated(), Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn withdraw_adjustment(&self, r: Request<pb::WithdrawAdjustmentRequest>) -> Rpc<pb::Adjustment> {
        reply(adjustments::withdraw(self.dated(), Ctx::of(&r)?, r.into_inner()).await)
    }
}

#[tonic::async_trait]
impl OrgService for OrgApi {
    async fn create_unit(&self, r: Request<pb::CreateUnitRequest>) -> Rpc<pb::Unit> {
        reply(OrgApi::create_unit(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_unit(&self, r: Request<pb::GetUnitRequest>) -> Rpc<pb::Unit> {
        reply(OrgApi::get_unit(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn batch_get_units(&self, r: Request<pb::BatchGetUnitsRequest>) -> Rpc<pb::BatchGetUnitsResponse> {
        reply(OrgApi::batch_get_units(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_units(&self, r: Request<pb::ListUnitsRequest>) -> Rpc<pb::ListUnitsResponse> {
        reply(OrgApi::list_units(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_subtree(&self, r: Request<pb::GetSubtreeRequest>) -> Rpc<pb::GetSubtreeResponse> {
        reply(OrgApi::get_subtree(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn update_unit(&self, r: Request<pb::UpdateUnitRequest>) -> Rpc<pb::Unit> {
        reply(OrgApi::update_unit(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn move_unit(&self, r: Request<pb::MoveUnitRequest>) -> Rpc<pb::Unit> {
        reply(OrgApi::move_unit(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_unit_revisions(
        &self,
        r: Request<pb::ListUnitRevisionsRequest>,
    ) -> Rpc<pb::ListUnitRevisionsResponse> {
        reply(OrgApi::list_unit_revisions(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_unit_moves(&self, r: Request<pb::ListUnitMovesRequest>) -> Rpc<pb::ListUnitMovesResponse> {
        reply(OrgApi::list_unit_moves(self, Ctx::of(&r)?, r.into_inner()).await)
    }
}
