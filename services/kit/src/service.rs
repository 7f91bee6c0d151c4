//! The common start of a database-backed service: authentication, the
//! database with the service's migrations, and a bound gRPC server that
//! watches the database for health.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use sea_orm_migration::MigratorTrait;

use crate::{
    auth::{AuthInterceptor, JwtVerifier},
    configuration::Settings,
    db,
    limit::Limits,
    server::GrpcServer,
};

/// What a service builds its API on.
pub struct ServiceBase {
    pub db: DatabaseConnection,
    /// Wrap every business service in this (health and reflection stay open).
    pub auth: AuthInterceptor,
    pub server: GrpcServer,
}

impl std::fmt::Debug for ServiceBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceBase").field("server", &self.server).finish_non_exhaustive()
    }
}

impl ServiceBase {
    /// Checks the auth keys first (cheap, and a misconfiguration should not
    /// touch the database), then migrates, then binds.
    pub async fn start<M: MigratorTrait>(settings: &Settings) -> anyhow::Result<Self> {
        let verifier = Arc::new(JwtVerifier::from_settings(&settings.auth)?);
        crate::paging::install_key(&settings.auth);
        let mut db = db::connect_and_migrate::<M>(&settings.database).await?;
        let mut server = GrpcServer::bind(&settings.server).await?;
        db::instrument(&mut db, &server.metrics());
        server = server.watch_database(db.clone());
        // Tokens from an identity provider: NOT_SERVING until its keys are in.
        if let Some(jwks) = verifier.oidc() {
            jwks.spawn_keeper();
            server = server.require(jwks.ready());
        }
        // People are rate-limited at the gateway; here, calls without a
        // valid token by source address.
        let limits = Arc::new(Limits::per_address(&settings.server, server.metrics()));
        let auth = AuthInterceptor::new(verifier, limits);
        Ok(Self { db, auth, server })
    }
}
