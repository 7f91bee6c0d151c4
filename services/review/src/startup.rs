//! Builds the review service from settings.

use std::{future::Future, net::SocketAddr};

use attain_kit::{configuration::Settings, server::GrpcServer, service::ServiceBase};
use attain_proto::attain::review::v1::review_service_server::ReviewServiceServer;
use tonic::service::interceptor::InterceptedService;

use crate::{api::ReviewApi, migration::Migrator};

/// Default gRPC port of the review service.
pub const DEFAULT_PORT: u16 = 50053;

#[derive(Debug)]
pub struct Application {
    server: GrpcServer,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let ServiceBase { db: _, auth, server } = ServiceBase::start::<Migrator>(&settings).await?;
        let max = settings.server.max_message_bytes;
        let api = ReviewServiceServer::new(ReviewApi).max_decoding_message_size(max).max_encoding_message_size(max);
        Ok(Self { server: server.add_service(InterceptedService::new(api, auth)) })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        self.server.serve(shutdown).await
    }
}
