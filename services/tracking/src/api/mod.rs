//! attain.tracking.v1.TrackingService: each RPC authenticates the caller
//! and hands over to the module that owns it.

mod activity;
mod alerts;
mod attainment;
mod cadence;
mod close;
mod convert;
mod dashboard;
mod deals;
mod gap;
mod import;

use std::pin::Pin;

use attain_kit::context::Ctx;
use attain_kit::{Rpc, ServiceResult, id::Id, reply};
use attain_proto::attain::tracking::v1::{self as pb, tracking_service_server::TrackingService};
use futures::Stream;
use tonic::{Request, Status, Streaming};

use crate::app::App;

pub use crate::app::DEFAULT_MAX_BATCH_ROWS;

/// The gRPC face of the service: handlers parse, call `App`, convert.
#[derive(Debug, Clone)]
pub struct TrackingApi {
    app: App,
}

impl TrackingApi {
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

/// A unit named in a request.
fn unit_id(field: &str, name: &str) -> ServiceResult<Id> {
    Ok(Id::from_name(field, name)?)
}

#[tonic::async_trait]
impl TrackingService for TrackingApi {
    async fn create_deal(&self, r: Request<pb::CreateDealRequest>) -> Rpc<pb::Deal> {
        reply(TrackingApi::create_deal(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn batch_create_deals(&self, r: Request<pb::BatchCreateDealsRequest>) -> Rpc<pb::BatchCreateDealsResponse> {
        reply(TrackingApi::batch_create_deals(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn stream_deals(&self, r: Request<Streaming<pb::StreamDealsRequest>>) -> Rpc<pb::StreamDealsResponse> {
        reply(TrackingApi::stream_deals(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn import_deals(
        &self,
        r: Request<Streaming<pb::ImportDealsRequest>>,
    ) -> Rpc<Pin<Box<dyn Stream<Item = Result<pb::ImportDealsResponse, Status>> + Send>>> {
        reply(TrackingApi::import_deals(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn reverse_deal(&self, r: Request<pb::ReverseDealRequest>) -> Rpc<pb::ReverseDealResponse> {
        reply(TrackingApi::reverse_deal(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_deal(&self, r: Request<pb::GetDealRequest>) -> Rpc<pb::Deal> {
        reply(TrackingApi::get_deal(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_deals(&self, r: Request<pb::ListDealsRequest>) -> Rpc<pb::ListDealsResponse> {
        reply(TrackingApi::list_deals(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_attainment(&self, r: Request<pb::GetAttainmentRequest>) -> Rpc<pb::Attainment> {
        reply(TrackingApi::get_attainment(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_child_attainments(
        &self,
        r: Request<pb::ListChildAttainmentsRequest>,
    ) -> Rpc<pb::ListChildAttainmentsResponse> {
        reply(TrackingApi::list_child_attainments(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn batch_get_actuals(&self, r: Request<pb::BatchGetActualsRequest>) -> Rpc<pb::BatchGetActualsResponse> {
        reply(TrackingApi::batch_get_actuals(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_obligations(&self, r: Request<pb::ListObligationsRequest>) -> Rpc<pb::ListObligationsResponse> {
        reply(TrackingApi::list_obligations(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_alerts(&self, r: Request<pb::ListAlertsRequest>) -> Rpc<pb::ListAlertsResponse> {
        reply(TrackingApi::list_alerts(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_dashboard_figures(&self, r: Request<pb::GetDashboardFiguresRequest>) -> Rpc<pb::DashboardFigures> {
        reply(TrackingApi::get_dashboard_figures(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn summarize_alerts(&self, r: Request<pb::SummarizeAlertsRequest>) -> Rpc<pb::AlertSummary> {
        reply(TrackingApi::summarize_alerts(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn acknowledge_alert(&self, r: Request<pb::AcknowledgeAlertRequest>) -> Rpc<pb::Alert> {
        reply(TrackingApi::acknowledge_alert(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn resolve_alert(&self, r: Request<pb::ResolveAlertRequest>) -> Rpc<pb::Alert> {
        reply(TrackingApi::resolve_alert(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn watch_alerts(
        &self,
        r: Request<pb::WatchAlertsRequest>,
    ) -> Rpc<Pin<Box<dyn Stream<Item = Result<pb::WatchAlertsResponse, Status>> + Send>>> {
        reply(TrackingApi::watch_alerts(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn watch_rollup_changes(
        &self,
        r: Request<pb::WatchRollupChangesRequest>,
    ) -> Rpc<Pin<Box<dyn Stream<Item = Result<pb::WatchRollupChangesResponse, Status>> + Send>>> {
        reply(TrackingApi::watch_rollup_changes(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn create_opportunity(&self, r: Request<pb::CreateOpportunityRequest>) -> Rpc<pb::Opportunity> {
        reply(TrackingApi::create_opportunity(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn update_opportunity(&self, r: Request<pb::UpdateOpportunityRequest>) -> Rpc<pb::Opportunity> {
        reply(TrackingApi::update_opportunity(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_opportunities(&self, r: Request<pb::ListOpportunitiesRequest>) -> Rpc<pb::ListOpportunitiesResponse> {
        reply(TrackingApi::list_opportunities(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn create_daily_log(&self, r: Request<pb::CreateDailyLogRequest>) -> Rpc<pb::DailyLog> {
        reply(TrackingApi::create_daily_log(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_daily_logs(&self, r: Request<pb::ListDailyLogsRequest>) -> Rpc<pb::ListDailyLogsResponse> {
        reply(TrackingApi::list_daily_logs(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_period_summary(&self, r: Request<pb::GetPeriodSummaryRequest>) -> Rpc<pb::PeriodSummary> {
        reply(TrackingApi::get_period_summary(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn set_gap_analysis(&self, r: Request<pb::SetGapAnalysisRequest>) -> Rpc<pb::PeriodSummary> {
        reply(TrackingApi::set_gap_analysis(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_burn_up(&self, r: Request<pb::GetBurnUpRequest>) -> Rpc<pb::BurnUp> {
        reply(TrackingApi::get_burn_up(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_gap_attribution(&self, r: Request<pb::GetGapAttributionRequest>) -> Rpc<pb::GapAttribution> {
        reply(TrackingApi::get_gap_attribution(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn close_period(&self, r: Request<pb::ClosePeriodRequest>) -> Rpc<pb::PeriodClose> {
        reply(TrackingApi::close_period(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn get_period_close(&self, r: Request<pb::GetPeriodCloseRequest>) -> Rpc<pb::PeriodClose> {
        reply(TrackingApi::get_period_close(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn list_loss_reasons(&self, r: Request<pb::ListLossReasonsRequest>) -> Rpc<pb::ListLossReasonsResponse> {
        reply(TrackingApi::list_loss_reasons(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn record_review_close(
        &self,
        r: Request<pb::RecordReviewCloseRequest>,
    ) -> Rpc<pb::RecordReviewCloseResponse> {
        reply(TrackingApi::record_review_close(self, Ctx::of(&r)?, r.into_inner()).await)
    }
    async fn evaluate_alerts(&self, r: Request<pb::EvaluateAlertsRequest>) -> Rpc<pb::EvaluateAlertsResponse> {
        reply(TrackingApi::evaluate_alerts(self, Ctx::of(&r)?, r.into_inner()).await)
    }
}
