//! Builds the review service from settings.

use attain_kit::{configuration::Settings, server::GrpcServer, service::ServiceBase, service_account::ServiceAccount};
use attain_proto::attain::review::v1::review_service_server::ReviewServiceServer;
use tonic::service::interceptor::InterceptedService;

use crate::{api::ReviewApi, app::App, clients::Upstreams, migration::Migrator};

/// Default gRPC port of the review service.
pub const DEFAULT_PORT: u16 = 50053;

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
        let ServiceBase { db, auth, server } = ServiceBase::start::<Migrator>(&settings).await?;
        let max = settings.server.max_message_bytes;
        let app =
            App::new(db, Upstreams::new(target, tracking), settings.clock).with_cadence(settings.cadence.rules()?);
        // Closed monthly reviews are told to tracking as the service account
        // (its overdue-report alerts judge regions by them).
        let reporter = match ServiceAccount::from_settings(&settings.jobs, &settings.auth)? {
            Some(account) => Some(crate::app::close_reports::spawn(app.clone(), account)),
            None => {
                tracing::warn!(
                    "no service account (jobs.service_token, or jobs.service_account with jobs.signing_key_file): \
                     tracking never hears of closed monthly reviews, so a region's review reads as missed"
                );
                None
            }
        };
        let api =
            ReviewServiceServer::new(ReviewApi::new(app)).max_decoding_message_size(max).max_encoding_message_size(max);
        let server = server.add_service(InterceptedService::new(api, auth));
        Ok(reporter.into_iter().fold(server, GrpcServer::with_background))
    }
}
