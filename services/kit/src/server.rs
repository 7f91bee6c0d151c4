//! The one gRPC server bootstrap every service uses: health (grpc.health.v1),
//! reflection (v1 and v1alpha), grpc-web, request ids, a tracing span per
//! RPC, a request timeout, a message size cap, a global concurrency limit,
//! and graceful shutdown (health flips to NOT_SERVING first, in-flight calls
//! finish).

use std::{
    future::Future,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use http::{HeaderName, Request};
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{server::NamedService, service::RoutesBuilder, transport::Server};
use tonic_health::{ServingStatus, server::HealthReporter};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{MakeSpan, TraceLayer},
};

use crate::{
    configuration::ServerSettings,
    metrics::{Metrics, MetricsLayer},
    shed::ShedLayer,
};

/// HTTP/2 flow-control windows of servers and upstream channels.
pub const STREAM_WINDOW: u32 = 2 << 20;
pub const CONNECTION_WINDOW: u32 = 8 << 20;

/// Header carrying the request id across services (set if the client did not).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// A bound, not yet serving, gRPC server.
/// A service answering calls no registered service claims (the gateway's
/// forwarding of the backends' APIs).
pub type Fallback = tower::util::BoxCloneSyncService<
    http::Request<axum::body::Body>,
    axum::response::Response,
    std::convert::Infallible,
>;

pub struct GrpcServer {
    fallback: Option<Fallback>,
    listener: TcpListener,
    addr: SocketAddr,
    /// `/metrics`, off the public port.
    admin: TcpListener,
    admin_addr: SocketAddr,
    tls: Option<crate::tls::ServerTls>,
    routes: RoutesBuilder,
    names: Vec<&'static str>,
    health: Health,
    settings: ServerSettings,
    database: Option<DatabaseConnection>,
    /// More conditions of SERVING (the identity provider's keys in hand).
    readiness: Vec<Arc<AtomicBool>>,
    metrics: Metrics,
    /// Work the service does on its own (an evaluator, a watcher): it lives
    /// as long as the server and stops with it, however it stops.
    background: Background,
}

/// Tasks aborted when dropped: a server that stops, or whose future is
/// dropped mid-flight (a crash in tests), takes its background work along.
#[derive(Default)]
struct Background(Vec<tokio::task::AbortHandle>);

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer").field("addr", &self.addr).field("services", &self.names).finish()
    }
}

impl GrpcServer {
    /// Binds the listener (port 0 picks a free one) and registers health;
    /// reflection is added when serving starts, listing what was added.
    pub async fn bind(settings: &ServerSettings) -> anyhow::Result<Self> {
        // Certificates first: a misconfigured server does not start.
        let tls = crate::tls::ServerTls::from_settings(settings)?;
        let addr = SocketAddr::new(settings.host, settings.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e} (is the port already in use?)"))?;
        let addr = listener.local_addr()?;
        let admin_addr = SocketAddr::new(settings.admin_host, settings.admin_port);
        let admin = TcpListener::bind(admin_addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {admin_addr} (server.admin_port, for /metrics): {e}"))?;
        let admin_addr = admin.local_addr()?;

        let (reporter, health_service) = tonic_health::server::health_reporter();
        let health = Health { reporter, serving: Arc::new(AtomicBool::new(false)) };
        let mut routes = RoutesBuilder::default();
        routes.add_service(health_service);
        Ok(Self {
            fallback: None,
            listener,
            addr,
            admin,
            admin_addr,
            tls,
            routes,
            names: Vec::new(),
            health,
            settings: settings.clone(),
            database: None,
            readiness: Vec::new(),
            metrics: Metrics::new(),
            background: Background::default(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where `/metrics` is served.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin_addr
    }

    /// The server's metrics, for counters of the service's own.
    pub fn metrics(&self) -> Metrics {
        self.metrics.clone()
    }

    /// Adds a business service; health reports it by name.
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: tower::Service<Request<tonic::body::Body>, Error = std::convert::Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self.names.push(S::NAME);
        self
    }

    /// Sends calls to unknown methods to `fallback` instead of answering
    /// UNIMPLEMENTED.
    pub fn with_fallback(mut self, fallback: Fallback) -> Self {
        self.fallback = Some(fallback);
        self
    }

    /// Ties a background task to the server: aborted when it stops.
    pub fn with_background(mut self, task: tokio::task::JoinHandle<()>) -> Self {
        self.background.0.push(task.abort_handle());
        self
    }

    /// Reports NOT_SERVING while `ready` is false (checked every 2 s).
    pub fn require(mut self, ready: Arc<AtomicBool>) -> Self {
        self.readiness.push(ready);
        self
    }

    /// Reports NOT_SERVING while the database does not answer.
    pub fn watch_database(mut self, db: DatabaseConnection) -> Self {
        self.database = Some(db);
        self
    }

    /// Serves until `shutdown` completes, then drains.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
        let Self {
            fallback,
            listener,
            addr,
            admin,
            admin_addr,
            tls,
            routes,
            names,
            health,
            settings,
            database,
            readiness,
            metrics,
            background: _background,
        } = self;
        let mut routes = routes;
        if settings.reflection {
            add_reflection(&mut routes, &names)?;
        }
        // "attain.target.v1.OrgService" → "target".
        let service =
            names.iter().find_map(|n| n.strip_prefix("attain.").and_then(|n| n.split('.').next())).unwrap_or("unknown");
        let names: Arc<[&'static str]> = names.into();
        let ready_now = readiness.iter().all(|r| r.load(Ordering::SeqCst));
        set_all(&health, &names, if ready_now { ServingStatus::Serving } else { ServingStatus::NotServing }).await;

        let stopping = Arc::new(AtomicBool::new(false));
        if database.is_some() || !readiness.is_empty() {
            tokio::spawn(watch(database, readiness, ready_now, health.clone(), names.clone(), stopping.clone()));
        }
        let drain = Duration::from_millis(settings.drain_delay_ms);
        let grace = Duration::from_millis(settings.shutdown_grace_ms);
        let signalled = Arc::new(tokio::sync::Notify::new());
        let signal = {
            let health = health.clone();
            let names = names.clone();
            let signalled = signalled.clone();
            async move {
                shutdown.await;
                signalled.notify_one();
                stopping.store(true, Ordering::SeqCst);
                tracing::info!(%addr, "shutting down: health NOT_SERVING, draining");
                set_all(&health, &names, ServingStatus::NotServing).await;
                tokio::time::sleep(drain).await;
            }
        };

        let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
        let layers = tower::ServiceBuilder::new()
            .layer(tower::util::MapRequestLayer::new(crate::request_id::sanitize))
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(TraceLayer::new_for_grpc().make_span_with(RpcSpan { service }).on_failure(FailureLog))
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(crate::request_info::REQUEST_INFO)
            .layer(crate::header_limit::HeaderLimitLayer)
            .layer(MetricsLayer(metrics.clone()))
            .layer(crate::bad_message::BAD_MESSAGE)
            .layer(GrpcWebOnly)
            .layer(ShedLayer::new(
                settings.concurrency_limit,
                Duration::from_millis(settings.queue_timeout_ms),
                metrics.clone(),
            ))
            .into_inner();
        tracing::info!(%addr, services = ?names, "serving gRPC");
        let router = Server::builder()
            .accept_http1(true)
            // HTTP/2's default 64 KiB windows stall a few concurrent
            // dashboard-sized replies on flow control.
            .initial_stream_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            // Large header lists reach HeaderLimitLayer and get a clear
            // RESOURCE_EXHAUSTED instead of a reset stream.
            .http2_max_header_list_size(crate::header_limit::HTTP2_MAX_HEADER_LIST)
            .timeout(settings.request_timeout())
            .layer(layers)
            .add_routes({
                let router = routes.routes().into_axum_router();
                tonic::service::Routes::from(match fallback {
                    Some(f) => router.fallback_service(f),
                    None => router,
                })
            });
        use futures::future::Either;
        let (serving, reloader) = match tls {
            Some(tls) => {
                tracing::info!(%addr, mutual = settings.client_ca_file.is_some(), "serving TLS");
                let reloader = spawn_reloader(tls.cert.clone());
                (Either::Left(router.serve_with_incoming_shutdown(tls.incoming(listener), signal)), Some(reloader))
            }
            None => (Either::Right(router.serve_with_incoming_shutdown(incoming(listener), signal)), None),
        };
        let admin_router = admin_router(metrics, health.serving.clone());
        tracing::info!(%admin_addr, "serving /metrics");
        let admin_task = tokio::spawn(async move {
            if let Err(e) = axum::serve(admin, admin_router).await {
                tracing::error!(%admin_addr, error = %e, "the admin listener stopped");
            }
        });
        // Graceful shutdown waits for every connection to close; a client
        // that keeps one open (a live watch) must not hold the process.
        tokio::select! {
            served = serving => served?,
            () = async {
                signalled.notified().await;
                tokio::time::sleep(drain + grace).await;
            } => tracing::warn!(%addr, "grace period over; closing the connections still open"),
        }
        admin_task.abort();
        if let Some(r) = reloader {
            r.abort();
        }
        tracing::info!(%addr, "stopped");
        Ok(())
    }
}

/// Reflection lists what this server serves, not every Attain proto.
fn add_reflection(routes: &mut RoutesBuilder, names: &[&'static str]) -> anyhow::Result<()> {
    let reflection = || {
        names.iter().fold(
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(attain_proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .with_service_name("grpc.health.v1.Health"),
            |builder, name| builder.with_service_name(*name),
        )
    };
    routes.add_service(reflection().build_v1()?).add_service(reflection().build_v1alpha()?);
    Ok(())
}

/// The admin listener's routes: `/metrics`, scraped from inside the
/// cluster and never routed by the ingress with the public port;
/// `/livez` (the process answers: restart it if not — never the database,
/// whose outage a restart does not fix) and `/readyz` (= `/healthz`:
/// serving, its database reachable) for HTTP probes.
fn admin_router(metrics: Metrics, serving: Arc<AtomicBool>) -> axum::Router {
    let exposition = move || {
        let metrics = metrics.clone();
        async move {
            (
                [(http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                metrics.render(),
            )
        }
    };
    let healthz = move || {
        let up = serving.load(Ordering::SeqCst);
        async move {
            if up { (http::StatusCode::OK, "SERVING") } else { (http::StatusCode::SERVICE_UNAVAILABLE, "NOT_SERVING") }
        }
    };
    axum::Router::new()
        .route("/metrics", axum::routing::get(exposition))
        .route("/healthz", axum::routing::get(healthz.clone()))
        .route("/readyz", axum::routing::get(healthz))
        .route("/livez", axum::routing::get(|| async { (http::StatusCode::OK, "ALIVE") }))
}

/// Re-reads the certificate files on a schedule (cert-manager renews them).
fn spawn_reloader(cert: Arc<crate::tls::ReloadingCert>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(crate::tls::RELOAD_EVERY);
        loop {
            every.tick().await;
            cert.refresh();
        }
    })
}

/// Accepted connections with Nagle off: tonic only sets TCP_NODELAY on
/// listeners it binds itself, and small gRPC replies otherwise wait on the
/// peer's delayed ACK (~40 ms a hop).
fn incoming(listener: TcpListener) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    TcpListenerStream::new(listener).map(|conn| {
        let conn = conn?;
        conn.set_nodelay(true)?;
        Ok(conn)
    })
}

/// grpc.health.v1 for clients, and the same answer as a flag for the
/// admin listener's `/healthz` (Kubernetes' gRPC probes speak no TLS).
#[derive(Clone)]
struct Health {
    reporter: HealthReporter,
    serving: Arc<AtomicBool>,
}

async fn set_all(health: &Health, names: &[&'static str], status: ServingStatus) {
    health.serving.store(status == ServingStatus::Serving, Ordering::SeqCst);
    health.reporter.set_service_status("", status).await;
    for name in names {
        health.reporter.set_service_status(*name, status).await;
    }
}

/// SERVING while the database answers and every readiness flag is up.
async fn watch(
    db: Option<DatabaseConnection>,
    readiness: Vec<Arc<AtomicBool>>,
    mut healthy: bool,
    health: Health,
    names: Arc<[&'static str]>,
    stopping: Arc<AtomicBool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let db_up = match &db {
            Some(db) => crate::db::ping(db).await,
            None => true,
        };
        let up = db_up && readiness.iter().all(|r| r.load(Ordering::SeqCst));
        if up != healthy && !stopping.load(Ordering::SeqCst) {
            healthy = up;
            tracing::warn!(database_up = db_up, serving = up, "health changed");
            let status = if up { ServingStatus::Serving } else { ServingStatus::NotServing };
            set_all(&health, &names, status).await;
        }
    }
}

/// One span per RPC, named by its method and carrying the request id.
/// Names are bounded: a method of the suite (or `unknown`), an HTTP call
/// `HTTP GET` until the gateway's REST handler names it by its route
/// (`GET /v1/{unit=units/*}/deals`; the path is the `method` attribute). Health checks get no
/// span: probes every few seconds are no one's trace.
#[derive(Clone, Copy, Debug)]
struct RpcSpan {
    /// The service answering ("target"): spans of a process serving the
    /// whole suite are exported under it.
    service: &'static str,
}

impl<B> MakeSpan<B> for RpcSpan {
    fn make_span(&mut self, request: &Request<B>) -> tracing::Span {
        let path = request.uri().path();
        if path.starts_with("/grpc.health.v1.") {
            return tracing::Span::none();
        }
        let grpc = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc"));
        let name =
            if grpc { crate::metrics::method_label(path).to_owned() } else { format!("HTTP {}", request.method()) };
        let request_id = request.headers().get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
        let span = tracing::info_span!(
            "rpc",
            otel.name = %name,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            rpc.system = if grpc { "grpc" } else { "http" },
            rpc.grpc.status_code = tracing::field::Empty,
            method = %path,
            attain.service = self.service,
            request_id = %request_id,
            trace_id = tracing::field::Empty,
        );
        crate::telemetry::parent_of(&span, request.headers());
        span
    }
}

/// A failed call's log line. The caller's mistakes (NOT_FOUND,
/// INVALID_ARGUMENT, PERMISSION_DENIED, a refused or shed call, …) are
/// DEBUG: counted in the metrics, and at WARN a flood of them would flood
/// the logs too. What may be the server's (UNKNOWN, DEADLINE_EXCEEDED,
/// INTERNAL, UNAVAILABLE, DATA_LOSS, a broken connection) is WARN; real
/// bugs log at ERROR where they happen.
#[derive(Clone, Copy, Debug)]
struct FailureLog;

impl tower_http::trace::OnFailure<tower_http::classify::GrpcFailureClass> for FailureLog {
    fn on_failure(&mut self, class: tower_http::classify::GrpcFailureClass, latency: Duration, _span: &tracing::Span) {
        use tower_http::classify::GrpcFailureClass;
        let ms = latency.as_millis();
        match class {
            GrpcFailureClass::Status(s) if matches!(s.code_raw(), 2 | 4 | 13 | 14 | 15) => {
                tracing::warn!(
                    grpc_code = s.code_raw(),
                    message = s.message().unwrap_or(""),
                    latency_ms = ms,
                    "call failed"
                );
            }
            GrpcFailureClass::Status(s) => tracing::debug!(grpc_code = s.code_raw(), latency_ms = ms, "call refused"),
            other => tracing::warn!(error = %other, latency_ms = ms, "call failed"),
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// The whole `main` of a service binary: load settings, set up tracing,
/// run until Ctrl-C or SIGTERM; errors print plainly and exit non-zero.
pub fn run_main<F, Fut>(service: &str, default_port: u16, serve: F) -> std::process::ExitCode
where
    F: FnOnce(crate::configuration::Settings) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let outcome = (|| {
        let settings = crate::configuration::Settings::load(service, default_port)?;
        // TOKIO_WORKER_THREADS (set from the CPU limit in Kubernetes) sizes the pool.
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        {
            let _in_runtime = runtime.enter();
            crate::telemetry::init(&settings.telemetry, service);
        }
        let served = runtime.block_on(serve(settings));
        crate::telemetry::shutdown();
        served
    })();
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "{service} failed");
            eprintln!("attain-{service}: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// grpc-web translation for grpc-web requests only: tonic-web answers 400
/// to any other HTTP/1.1 request, and the gateway serves REST and a page
/// on the same port.
#[derive(Clone, Copy, Debug)]
struct GrpcWebOnly;

impl<S: Clone> tower::Layer<S> for GrpcWebOnly {
    type Service = WebOrPlain<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WebOrPlain { web: tower::Layer::layer(&tonic_web::GrpcWebLayer::new(), inner.clone()), plain: inner }
    }
}

#[derive(Clone, Debug)]
struct WebOrPlain<S> {
    web: tonic_web::GrpcWebService<S>,
    plain: S,
}

type Body = tonic::body::Body;

impl<S> tower::Service<Request<Body>> for WebOrPlain<S>
where
    S: tower::Service<Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display + Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        // Readiness is awaited per call on a clone (oneshot).
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        use tower::ServiceExt;
        let web = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/grpc-web"));
        if web { Box::pin(self.web.clone().oneshot(request)) } else { Box::pin(self.plain.clone().oneshot(request)) }
    }
}
