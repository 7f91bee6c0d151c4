//! Builds the gateway from settings. It owns no database.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use attain_kit::{
    auth::{AuthInterceptor, JwtVerifier},
    configuration::Settings,
    limit::Limits,
    server::{Fallback, GrpcServer},
};
use attain_proto::attain::gateway::v1::gateway_service_server::GatewayServiceServer;
use axum::routing::{any, get};
use tonic::service::interceptor::InterceptedService;

use crate::{
    api::GatewayApi,
    cache::DashboardCache,
    dashboard::Fanout,
    encoded::SendEncoded,
    forward::Forwarder,
    rest::{self, Rest},
};

/// Default gRPC port of the gateway.
pub const DEFAULT_PORT: u16 = 50050;

#[derive(Debug)]
pub struct Application {
    server: GrpcServer,
    /// The cache's watches: tracking's change feed, target's data version.
    watcher: Option<(tokio::task::JoinHandle<()>, tokio::task::JoinHandle<()>)>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let verifier = Arc::new(JwtVerifier::from_settings(&settings.auth)?);
        let mut server = GrpcServer::bind(&settings.server).await?;
        if let Some(jwks) = verifier.oidc() {
            jwks.spawn_keeper();
            server = server.require(jwks.ready());
        }
        // Where people arrive: each person's rate, and each address's for
        // calls without a valid token.
        let limits = Arc::new(Limits::at_the_edge(&settings.server, server.metrics()));
        let auth = AuthInterceptor::new(verifier.clone(), limits.clone());
        let max = settings.server.max_message_bytes;
        let url = |name: &str, v: &Option<String>| {
            v.clone().ok_or_else(|| anyhow::anyhow!("upstream.{name}_url is required (the {name} service's address)"))
        };
        let tls = attain_kit::tls::client_config(&settings.upstream, None)?;
        let channel =
            |name: &str, v: &Option<String>| attain_kit::upstream::channel(name, &url(name, v)?, tls.as_ref());
        let (target, tracking, review) = (
            channel("target", &settings.upstream.target_url)?,
            channel("tracking", &settings.upstream.tracking_url)?,
            channel("review", &settings.upstream.review_url)?,
        );
        let notify = match &settings.upstream.notify_url {
            Some(u) => Some(attain_kit::upstream::channel("notify", u, tls.as_ref())?),
            None => None,
        };
        let forwarder =
            Forwarder::new(target.clone(), tracking.clone(), review.clone(), notify, (verifier.clone(), limits));
        let cache = DashboardCache::new(
            Duration::from_millis(settings.cache.dashboard_ttl_ms),
            settings.cache.dashboard_entries,
        )
        .measured(&server.metrics());
        let account = attain_kit::service_account::ServiceAccount::from_settings(&settings.jobs, &settings.auth)?;
        let watcher = match (account, settings.cache.dashboard_ttl_ms) {
            (_, 0) => None,
            (Some(account), _) => Some((
                crate::invalidation::spawn(tracking.clone(), account.clone(), cache.clone()),
                crate::invalidation::follow_target(target.clone(), account, cache.clone()),
            )),
            (None, ttl) => {
                tracing::info!(ttl_ms = ttl, "no service account: cached dashboards live for their TTL only");
                None
            }
        };
        let api = GatewayApi::new(Fanout::new(target, tracking, review, server.metrics()), cache, settings.clock);
        let api = GatewayServiceServer::new(api).max_decoding_message_size(max).max_encoding_message_size(max);
        let api = InterceptedService::new(SendEncoded(api), auth);
        // REST calls the same gRPC side in process: its API, then the
        // forwarding of the backends' methods.
        let grpc_side = tonic::service::Routes::new(api.clone()).into_axum_router().fallback_service(forwarder.clone());
        let rest = Rest::new(rest::GrpcSide::new(grpc_side), max)?;
        // gRPC services first; then REST, the OpenAPI document and the web
        // page; anything else is a backend's gRPC method to forward.
        let http = axum::Router::new()
            .route("/openapi.json", get(rest::openapi_document))
            .route("/v1/{*path}", any(rest::handle))
            .merge(crate::web::routes())
            .fallback_service(forwarder)
            .with_state(rest);
        let server = server.add_service(api).with_fallback(Fallback::new(http));
        Ok(Self { server, watcher })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Where `/metrics` is served (the admin listener).
    pub fn admin_addr(&self) -> SocketAddr {
        self.server.admin_addr()
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let served = self.server.run_until_stopped(shutdown).await;
        if let Some((feed, target)) = self.watcher {
            feed.abort();
            target.abort();
        }
        served
    }
}
