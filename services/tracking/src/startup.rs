//! Builds the tracking service from settings.

use std::time::Duration;

use attain_kit::{configuration::Settings, server::GrpcServer, service::ServiceBase, service_account::ServiceAccount};
use attain_proto::attain::tracking::v1::tracking_service_server::TrackingServiceServer;
use tonic::service::interceptor::InterceptedService;

use attain_target_client::TargetClient;

use crate::{api::TrackingApi, app::App, domain::alert::Policy, migration::Migrator};

/// Evaluates alert rules for every published plan on a timer, as the
/// service account (a fresh short-lived token each pass when it signs its
/// own), on the one replica holding the schedule's lease: the pass runs
/// once per interval whatever the replica count, and within an interval
/// and a few seconds of its holder dying, elsewhere. Failures are logged
/// and retried on the next tick.
fn spawn_alert_schedule(app: App, account: ServiceAccount, every: Duration) {
    let replica = attain_kit::id::Id::generate().as_str().to_owned();
    let hold = every + Duration::from_secs(5);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            if !app.lead("alert-schedule", &replica, hold).await {
                continue;
            }
            let header = match account.bearer().map(|b| b.parse()) {
                Ok(Ok(h)) => h,
                _ => {
                    tracing::error!("the service account's token could not be made; alert pass skipped");
                    continue;
                }
            };
            let mut metadata = tonic::metadata::MetadataMap::new();
            metadata.insert("authorization", header);
            let fwd = attain_kit::upstream::Forwarded::from_metadata(&metadata);
            match app.evaluate_all(&fwd).await {
                Ok(n) => tracing::info!(changed = n, "scheduled alert evaluation"),
                Err(e) => tracing::warn!(error = %e, "scheduled alert evaluation failed"),
            }
        }
    });
}

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
        let app = App::new(db, target, settings.clock)
            .with_alert_policy(Policy {
                hysteresis: a.hysteresis_percent.into(),
                escalate_after: a.escalate_after_working_days,
                stale_after: a.stale_after_working_days,
            })
            .with_alert_queue();
        if settings.jobs.alert_evaluation_seconds > 0 {
            let account = ServiceAccount::from_settings(&settings.jobs, &settings.auth)?.ok_or_else(|| {
                anyhow::anyhow!(
                    "jobs.alert_evaluation_seconds needs a service account: jobs.service_account and \
                     jobs.signing_key_file (or, in development, jobs.service_token)"
                )
            })?;
            spawn_alert_schedule(app.clone(), account, Duration::from_secs(settings.jobs.alert_evaluation_seconds));
        }
        let api = TrackingServiceServer::new(TrackingApi::new(app))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        Ok(server.add_service(InterceptedService::new(api, auth)))
    }
}
