//! Builds the tracking service from settings.

use std::{future::Future, net::SocketAddr, time::Duration};

use attain_kit::{configuration::Settings, server::GrpcServer, service::ServiceBase};
use attain_proto::attain::tracking::v1::tracking_service_server::TrackingServiceServer;
use tonic::service::interceptor::InterceptedService;

use crate::{api::TrackingApi, domain::alert::Policy, migration::Migrator, upstream::TargetClient};

/// Evaluates alert rules for every published plan on a timer, as the
/// service account. Failures are logged and retried on the next tick.
fn spawn_alert_schedule(api: TrackingApi, token: &secrecy::SecretString, every: Duration) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let mut metadata = tonic::metadata::MetadataMap::new();
    let header = format!("Bearer {}", token.expose_secret())
        .parse()
        .map_err(|_| anyhow::anyhow!("jobs.service_token is not a valid header value"))?;
    metadata.insert("authorization", header);
    let fwd = attain_kit::upstream::Forwarded::from_metadata(&metadata);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            match api.evaluate_all(&fwd).await {
                Ok(n) => tracing::info!(changed = n, "scheduled alert evaluation"),
                Err(e) => tracing::warn!(error = %e, "scheduled alert evaluation failed"),
            }
        }
    });
    Ok(())
}

/// Default gRPC port of the tracking service.
pub const DEFAULT_PORT: u16 = 50052;

#[derive(Debug)]
pub struct Application {
    server: GrpcServer,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
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
        let tracking = TrackingApi::new(db, target, settings.clock).with_alert_policy(Policy {
            hysteresis: a.hysteresis_percent.into(),
            escalate_after: a.escalate_after_working_days,
            stale_after: a.stale_after_working_days,
        });
        if settings.jobs.alert_evaluation_seconds > 0 {
            let token = settings.jobs.service_token.as_ref().ok_or_else(|| {
                anyhow::anyhow!("jobs.service_token is required when jobs.alert_evaluation_seconds is set")
            })?;
            spawn_alert_schedule(tracking.clone(), token, Duration::from_secs(settings.jobs.alert_evaluation_seconds))?;
        }
        let api = TrackingServiceServer::new(tracking).max_decoding_message_size(max).max_encoding_message_size(max);
        Ok(Self { server: server.add_service(InterceptedService::new(api, auth)) })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Where `/metrics` is served (the admin listener).
    pub fn admin_addr(&self) -> SocketAddr {
        self.server.admin_addr()
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        self.server.serve(shutdown).await
    }
}
