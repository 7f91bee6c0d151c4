//! Builds the notify service from settings.

use attain_kit::{configuration::Settings, server::GrpcServer, service::ServiceBase, service_account::ServiceAccount};
use attain_proto::attain::notify::v1::notify_service_server::NotifyServiceServer;
use tonic::service::interceptor::InterceptedService;

use crate::{
    api::NotifyApi,
    app::{App, Delivering, secrets::Sealer, worker::Worker},
    channels::Channels,
    clients::Upstreams,
    migration::Migrator,
};

/// Default gRPC port of the notify service.
pub const DEFAULT_PORT: u16 = 50054;

/// `Application::build` starts the service and returns its server, bound
/// and ready to `run_until_stopped` (the kit's `GrpcServer`).
#[derive(Debug)]
pub struct Application;

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<GrpcServer> {
        let url = |name: &str, v: &Option<String>| {
            v.clone().ok_or_else(|| anyhow::anyhow!("upstream.{name}_url is required (the {name} service's address)"))
        };
        let tls = attain_kit::tls::client_config(&settings.upstream, None)?;
        let target =
            attain_kit::upstream::channel("target", &url("target", &settings.upstream.target_url)?, tls.as_ref())?;
        let tracking = attain_kit::upstream::channel(
            "tracking",
            &url("tracking", &settings.upstream.tracking_url)?,
            tls.as_ref(),
        )?;
        // Optional: without it, no reminders of monthly reviews.
        let review = match &settings.upstream.review_url {
            Some(u) => Some(attain_kit::upstream::channel("review", u, tls.as_ref())?),
            None => None,
        };
        // Checked before anything starts: a bad key or relay names its key.
        let sealer = Sealer::from_file(settings.notify.secrets_key_file.as_deref())?;
        let channels = Channels::from_settings(&settings.notify)?;
        let org_zone = settings.cadence.rules()?.zone;
        let delivering = Delivering::from_settings(&settings.notify, org_zone);
        let account = ServiceAccount::from_settings(&settings.jobs, &settings.auth)?;
        let ServiceBase { db, auth, server } = ServiceBase::start::<Migrator>(&settings).await?;
        let max = settings.server.max_message_bytes;
        let app = App::new(
            db,
            Upstreams::new(target, tracking, review),
            settings.clock,
            (sealer, channels, delivering),
            &server.metrics(),
        );
        let worker = match account {
            Some(account) => Some(Worker::spawn(app.clone(), account)),
            None => {
                tracing::warn!(
                    "no service account (jobs.service_token, or jobs.service_account with jobs.signing_key_file): \
                     notify will not follow alerts or send anything"
                );
                None
            }
        };
        let api =
            NotifyServiceServer::new(NotifyApi::new(app)).max_decoding_message_size(max).max_encoding_message_size(max);
        let server = server.add_service(InterceptedService::new(api, auth));
        Ok(worker.into_iter().fold(server, GrpcServer::with_background))
    }
}
