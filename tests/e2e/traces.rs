//! One dashboard call is one trace: an OTLP collector started here (a
//! tonic server of opentelemetry-proto's TraceService) receives, for a
//! GetDashboard that arrives with a W3C `traceparent`, spans from the
//! gateway and from every service it reached (tracking calling target
//! too), all with the caller's trace id and every parent link intact; the
//! same over REST. The spans carry the trace id as a field, so JSON log
//! lines do too. Database statements are child spans (kind and table, no
//! values); the latency histogram carries the trace id as an exemplar; an
//! error names its request id and trace in `google.rpc.RequestInfo`.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use attain_kit::{
    auth::Role,
    configuration::TelemetrySettings,
    http_client::request,
    testing::{Backend, token},
};
use attain_proto::attain::gateway::v1::{self as pb, gateway_service_client::GatewayServiceClient};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value::Value as AnyValue,
};
use tonic::{Request, Response, Status, transport::Channel};

use crate::support::Suite;

/// A span as the collector received it.
#[derive(Debug, Clone)]
struct Received {
    trace: Vec<u8>,
    id: Vec<u8>,
    parent: Vec<u8>,
    name: String,
    service: String,
    attributes: HashMap<String, String>,
}

#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Received>>>);

impl Collector {
    /// An OTLP collector on a free loopback port: what it receives, and where.
    async fn start() -> (Self, std::net::SocketAddr) {
        let collected = Collector::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(collected.clone()))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        (collected, addr)
    }
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let text = |v: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>| match v
            .as_ref()
            .and_then(|v| v.value.clone())
        {
            Some(AnyValue::StringValue(s)) => s,
            Some(other) => format!("{other:?}"),
            None => String::new(),
        };
        let mut got = self.0.lock().unwrap();
        for rs in request.into_inner().resource_spans {
            let service = rs
                .resource
                .as_ref()
                .and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
                .map(|a| text(&a.value))
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for s in ss.spans {
                    got.push(Received {
                        trace: s.trace_id,
                        id: s.span_id,
                        parent: s.parent_span_id,
                        name: s.name,
                        service: service.clone(),
                        attributes: s.attributes.iter().map(|a| (a.key.clone(), text(&a.value))).collect(),
                    });
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse::default()))
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Waits until the trace holds a span of each RPC prefix, then checks its
/// parent links: the gateway's span is the caller's child, every other
/// span a child of a span of the same trace.
async fn one_trace(collected: &Collector, trace: &str, caller_span: &str, wanted: &[&str]) -> Vec<Received> {
    let started = Instant::now();
    loop {
        attain_kit::telemetry::flush();
        let spans: Vec<Received> =
            collected.0.lock().unwrap().iter().filter(|s| hex(&s.trace) == trace).cloned().collect();
        let has = |prefix: &str| spans.iter().any(|s| s.name.starts_with(prefix));
        if wanted.iter().all(|w| has(w)) {
            let ids: HashSet<String> = spans.iter().map(|s| hex(&s.id)).collect();
            for s in &spans {
                let parent = hex(&s.parent);
                assert!(
                    parent == caller_span || ids.contains(&parent),
                    "{} has parent {parent}, not in the trace: {spans:#?}",
                    s.name
                );
            }
            let gateway = spans.iter().find(|s| s.name.starts_with(wanted[0])).unwrap();
            assert_eq!(hex(&gateway.parent), caller_span, "the gateway's span is the caller's child");
            assert_eq!(gateway.attributes.get("trace_id").map(String::as_str), Some(trace), "the trace id as a field");
            return spans;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "trace {trace} lacks one of {wanted:?}: {:#?}",
            spans.iter().map(|s| &s.name).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_call_is_one_trace_across_every_service() {
    let (collected, addr) = Collector::start().await;
    let settings = TelemetrySettings { otlp_endpoint: Some(format!("http://{addr}")), ..Default::default() };
    attain_kit::telemetry::init(&settings, "e2e");

    let suite = Suite::with_demo(Backend::Sqlite).await;
    let channel = Channel::from_shared(format!("http://{}", suite.gateway.addr)).unwrap().connect().await.unwrap();
    let (trace, caller) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let mut call = Request::new(pb::GetDashboardRequest {
        unit: "units/region-a".into(),
        period: "2024-01".into(),
        ..Default::default()
    });
    let md = call.metadata_mut();
    md.insert("authorization", format!("Bearer {}", token("wang", Role::Manager, "region-a")).parse().unwrap());
    md.insert("traceparent", format!("00-{trace}-{caller}-01").parse().unwrap());
    GatewayServiceClient::new(channel).get_dashboard(call).await.unwrap();
    let spans = one_trace(
        &collected,
        trace,
        caller,
        &[
            "/attain.gateway.v1.GatewayService/GetDashboard",
            "/attain.tracking.v1.TrackingService/",
            "/attain.target.v1.",
            "/attain.review.v1.ReviewService/",
            "SELECT rollups",
        ],
    )
    .await;
    // One process serves the whole suite here, yet each span is exported
    // under the service it belongs to, its statements with it.
    let service_of = |prefix: &str| {
        spans.iter().filter(|s| s.name.starts_with(prefix)).map(|s| s.service.as_str()).collect::<HashSet<_>>()
    };
    assert_eq!(service_of("/attain.gateway.v1."), HashSet::from(["attain-gateway"]));
    assert_eq!(service_of("/attain.tracking.v1."), HashSet::from(["attain-tracking"]));
    assert_eq!(service_of("/attain.target.v1."), HashSet::from(["attain-target"]));
    assert_eq!(service_of("/attain.review.v1."), HashSet::from(["attain-review"]));
    // Tracking's own call to target (a hop below the gateway) continues
    // the trace under tracking's span.
    let tracking: HashSet<String> =
        spans.iter().filter(|s| s.name.starts_with("/attain.tracking.v1.")).map(|s| hex(&s.id)).collect();
    assert!(
        spans.iter().any(|s| s.name.starts_with("/attain.target.v1.") && tracking.contains(&hex(&s.parent))),
        "a target span under a tracking span: {spans:#?}"
    );

    // Statements are spans under the RPC that ran them, named by kind and
    // table; no SQL text, no values.
    let by_id: HashMap<String, &Received> = spans.iter().map(|s| (hex(&s.id), s)).collect();
    let under = |s: &Received, prefix: &str| {
        let mut at = by_id.get(&hex(&s.parent));
        while let Some(p) = at {
            if p.name.starts_with(prefix) {
                return true;
            }
            at = by_id.get(&hex(&p.parent));
        }
        false
    };
    let statements: Vec<&Received> =
        spans.iter().filter(|s| s.attributes.contains_key("db.system") || s.name.starts_with("sea_orm.")).collect();
    assert!(
        statements.iter().all(|s| s.attributes.get("db.query.summary").is_none_or(|q| *q == s.name)),
        "a statement is named by its summary (OpenTelemetry's database conventions): {statements:#?}"
    );
    assert!(
        statements.iter().any(|s| s.attributes.get("db.operation").map(String::as_str) == Some("SELECT")
            && s.attributes.get("db.collection.name").map(String::as_str) == Some("rollups")
            && s.attributes.get("db.query.summary").map(String::as_str) == Some("SELECT rollups")
            && under(s, "/attain.tracking.v1.")),
        "a SELECT on rollups under tracking's span: {statements:#?}"
    );
    assert!(statements.iter().any(|s| under(s, "/attain.target.v1.")), "target's statements too");
    let mut checked = 0;
    for s in &statements {
        if let Some(rpc) = by_id.get(&hex(&s.parent)).filter(|p| p.name.starts_with("/attain.")) {
            assert_eq!(s.service, rpc.service, "a statement is its RPC's service's: {s:#?}");
            checked += 1;
        }
    }
    assert!(checked > 0, "statements directly under an RPC: {statements:#?}");
    for s in &statements {
        assert!(!s.attributes.contains_key("db.statement"), "no SQL text: {s:#?}");
        assert!(s.attributes.values().all(|v| !v.contains("region-a")), "no values: {s:#?}");
    }

    // The latency bucket of the call holds its trace as an exemplar.
    let metrics = request(suite.gateway.admin, "GET", "/metrics", &[], b"").await.unwrap().text();
    assert!(
        metrics.lines().any(|l| l.starts_with("attain_rpc_duration_seconds_bucket{")
            && l.contains("GetDashboard")
            && l.contains(&format!("# {{trace_id=\"{trace}\"}}"))),
        "an exemplar with the trace id: {}",
        metrics.lines().filter(|l| l.contains("GetDashboard")).collect::<Vec<_>>().join("\n")
    );

    // An error names the request and the trace it ran in.
    let mut call = Request::new(pb::GetDashboardRequest {
        unit: "units/no-such-unit".into(),
        period: "2024-01".into(),
        ..Default::default()
    });
    let md = call.metadata_mut();
    md.insert("authorization", format!("Bearer {}", token("ops", Role::Admin, "")).parse().unwrap());
    md.insert("traceparent", format!("00-{trace}-{caller}-01").parse().unwrap());
    md.insert("x-request-id", "req-traces-1".parse().unwrap());
    let channel = Channel::from_shared(format!("http://{}", suite.gateway.addr)).unwrap().connect().await.unwrap();
    let status = GatewayServiceClient::new(channel).get_dashboard(call).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    let details = tonic_types::StatusExt::get_error_details(&status);
    let info = details.request_info().expect("a RequestInfo detail");
    assert_eq!(info.request_id, "req-traces-1");
    assert_eq!(info.serving_data, format!("trace_id={trace}"));
    assert!(details.resource_info().is_some(), "the other details stay: {details:?}");

    // REST: the same, from the traceparent header.
    let (trace, caller) = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331");
    let headers = [
        ("authorization", format!("Bearer {}", token("ops", Role::Admin, ""))),
        ("traceparent", format!("00-{trace}-{caller}-01")),
    ];
    let reply =
        request(suite.gateway.addr, "GET", "/v1/units/region-b/dashboard?period=2024-01", &headers, b"").await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    // The server span is named by the route, not "HTTP GET".
    one_trace(&collected, trace, caller, &["GET /v1/{unit=units/*}/dashboard", "/attain.tracking.v1.TrackingService/"])
        .await;
}

/// Found from outside: a process stopped (SIGTERM, as Kubernetes stops a
/// pod) dropped the spans it had not sent yet — the last seconds' traces,
/// the ones a rollout's trouble is in. They are sent before it exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_sent_before_a_stopped_process_exits() {
    use crate::support::process::{channel, free_port, serve, wait_healthy};
    let (collected, collector) = Collector::start().await;
    let dir = std::env::temp_dir().join(format!("attain-traces-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let env = [
        ("APP__DATABASE__URL", attain_kit::testing::fresh_database_url(Backend::Sqlite).await),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}")),
        // RPC spans are INFO (the suite's processes log at WARN).
        ("RUST_LOG", "info".to_owned()),
    ];
    let mut target = serve("target", port, &dir, &env);
    wait_healthy(port).await;
    let trace = "5ce0e9a56015fec5aadfa328ae398115";
    let mut call = Request::new(attain_proto::attain::target::v1::GetUnitRequest { name: "units/nobody".into() });
    let md = call.metadata_mut();
    md.insert("authorization", format!("Bearer {}", token("ops", Role::Admin, "")).parse().unwrap());
    md.insert("traceparent", format!("00-{trace}-00f067aa0ba902b7-01").parse().unwrap());
    let mut org = attain_proto::attain::target::v1::org_service_client::OrgServiceClient::new(channel(port).await);
    org.get_unit(call).await.unwrap_err();
    // At once: the batch exporter would send only after its 5 s delay.
    target.terminate();
    assert!(target.wait_exit(Duration::from_secs(20)).is_some(), "target stopped");
    let traced = collected.0.lock().unwrap().iter().any(|s| hex(&s.trace) == trace);
    assert!(traced, "the call's span reached the collector before the process exited");
}
