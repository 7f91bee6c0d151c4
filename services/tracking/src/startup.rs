//! Builds the tracking service from settings.

use std::{future::Future, net::SocketAddr};

use attain_kit::{configuration::Settings, server::GrpcServer, service::ServiceBase};
use attain_proto::attain::tracking::v1::tracking_service_server::TrackingServiceServer;
use tonic::service::interceptor::InterceptedService;

use crate::{api::TrackingApi, migration::Migrator, upstream::TargetClient};

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
        let target = TargetClient::new(attain_kit::upstream::channel("target", target_url)?);
        let ServiceBase { db, auth, server } = ServiceBase::start::<Migrator>(&settings).await?;
        let max = settings.server.max_message_bytes;
        let api = TrackingServiceServer::new(TrackingApi::new(db, target, settings.clock))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        Ok(Self { server: server.add_service(InterceptedService::new(api, auth)) })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        self.server.serve(shutdown).await
    }
}
