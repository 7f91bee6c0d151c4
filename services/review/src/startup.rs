//! Builds the review service from settings.

use std::{future::Future, net::SocketAddr};

use attain_kit::{configuration::Settings, server::GrpcServer, service::ServiceBase};
use attain_proto::attain::review::v1::review_service_server::ReviewServiceServer;
use tonic::service::interceptor::InterceptedService;

use crate::{api::ReviewApi, app::App, clients::Upstreams, migration::Migrator};

/// Default gRPC port of the review service.
pub const DEFAULT_PORT: u16 = 50053;

#[derive(Debug)]
pub struct Application {
    server: GrpcServer,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
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
        let api =
            ReviewServiceServer::new(ReviewApi::new(App::new(db, Upstreams::new(target, tracking), settings.clock)))
                .max_decoding_message_size(max)
                .max_encoding_message_size(max);
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
