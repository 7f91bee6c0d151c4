//! Builds the target service from settings: database, migrations, auth,
//! gRPC server with its business services.

use attain_kit::{configuration::Settings, server::GrpcServer, service::ServiceBase};
use attain_proto::attain::target::v1::{
    org_service_server::OrgServiceServer, target_service_server::TargetServiceServer,
};
use tonic::service::interceptor::InterceptedService;

use crate::{
    api::{org::OrgApi, service::TargetApi},
    migration::Migrator,
};

/// Default gRPC port of the target service.
pub const DEFAULT_PORT: u16 = 50051;

/// `Application::build` starts the service and returns its server, bound
/// and ready to `run_until_stopped` (the kit's `GrpcServer`).
#[derive(Debug)]
pub struct Application;

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<GrpcServer> {
        let ServiceBase { db, auth, server } = ServiceBase::start::<Migrator>(&settings).await?;
        let max = settings.server.max_message_bytes;
        let org = OrgServiceServer::new(OrgApi::new(db.clone(), settings.clock))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        let target = TargetServiceServer::new(TargetApi::new(db.clone(), settings.clock))
            .max_decoding_message_size(max)
            .max_encoding_message_size(max);
        let server = server
            .add_service(InterceptedService::new(org, auth.clone()))
            .add_service(InterceptedService::new(target, auth));
        Ok(server)
    }
}
