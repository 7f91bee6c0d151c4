//! Builds the tracking service from settings.

use std::time::Duration;

use attain_kit::{configuration::Settings, server::GrpcServer, service::ServiceBase, service_account::ServiceAccount};
use attain_proto::attain::tracking::v1::tracking_service_server::TrackingServiceServer;
use tonic::service::interceptor::InterceptedService;

use attain_target_client::TargetClient;

use crate::{
    api::TrackingApi,
    app::{
        App,
        evaluator::{Evaluator, Retention},
        moves::MoveFollower,
    },
    domain::alert::Policy,
    migration::Migrator,
};

/// Default gRPC port of the tracking service.
pub const DEFAULT_PORT: u16 = 50052;

/// `Application::build` starts the service and returns its server, bound
/// and ready to `run_until_stopped` (the kit's `GrpcServer`).
#[derive(Debug)]
pub struct Application;

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<GrpcServer> {
        let target_url = settings
            .upstream
            .target_url
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("upstream.target_url is required (the target service's address)"))?;
        let tls = attain_kit::tls::client_config(&settings.upstream, None)?;
        let target = TargetClient::new(attain_kit::upstream::channel("target", target_url, tls.as_ref())?);
        let ServiceBase { db, auth, server } = ServiceBase::start::<Migrator>(&settings).await?;
        let max = settings.server.max_message_bytes;
        let a = settings.alerts;
        let app = App::new(db, target, settings.clock).with_metrics(&server.metrics()).with_alert_policy(Policy {
            hysteresis: a.hysteresis_percent.into(),
            escalate_after: a.escalate_after_working_days,
            stale_after: a.stale_after_working_days,
        });
        let app = app.with_cadence(settings.cadence.rules()?);
        let schedule = (settings.jobs.alert_evaluation_seconds > 0)
            .then(|| Duration::from_secs(settings.jobs.alert_evaluation_seconds));
        // Alerts are evaluated in the background as the service account:
        // without one, only on demand (EvaluateAlerts).
        let (evaluator, follower) = match ServiceAccount::from_settings(&settings.jobs, &settings.auth)? {
            Some(account) => (
                Some(Evaluator::spawn(
                    app.clone(),
                    account.clone(),
                    schedule,
                    Retention::from_settings(&settings.jobs),
                )),
                Some(MoveFollower::spawn(app.clone(), account)),
            ),
            None => {
                tracing::warn!(
                    "no service account (jobs.service_account + signing_key_file, or jobs.service_token): \
                     alerts are evaluated only when EvaluateAlerts asks, nothing is pruned, and records \
                     entered before a back-dated move stay where they were booked"
                );
                (None, None)
            }
        };
        let listener = app.listen_for_commits();
        let api = TrackingServiceServer::new(TrackingApi::new(app))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        let server = server.add_service(InterceptedService::new(api, auth));
        Ok([evaluator, follower, listener].into_iter().flatten().fold(server, GrpcServer::with_background))
    }
}
