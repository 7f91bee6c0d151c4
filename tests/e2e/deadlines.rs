//! Deadlines through the gateway: a caller's 1 s budget reaches the
//! backends as what remains of it (grpc-timeout), and a backend that does
//! not answer in time (or at all: UNIMPLEMENTED mid-rollout) costs the
//! dashboard its sections, not the call or the caller's deadline.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::support::Suite;
use attain_kit::{
    auth::Role,
    testing::{Backend, token},
};
use attain_proto::attain::{
    gateway::v1::{GetDashboardRequest, SectionState, gateway_service_client::GatewayServiceClient},
    target::v1::{self as tpb, UnitKind},
    tracking::v1::{self as kpb, tracking_service_server::TrackingServiceServer},
};
use tonic::{Request, Response, Status, transport::Channel};

/// A tracking service that notes the deadline it was given and then takes
/// far too long (every other method: UNIMPLEMENTED).
#[derive(Clone, Default)]
struct Slow {
    seen: Arc<Mutex<Vec<String>>>,
}

#[tonic::async_trait]
impl kpb::tracking_service_server::TrackingService for Slow {
    async fn get_dashboard_figures(
        &self,
        r: Request<kpb::GetDashboardFiguresRequest>,
    ) -> Result<Response<kpb::DashboardFigures>, Status> {
        let timeout = r.metadata().get("grpc-timeout").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        self.seen.lock().unwrap().push(timeout);
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(Response::new(kpb::DashboardFigures::default()))
    }
}

/// "899m" → 899 ms (tonic sends milliseconds or smaller units).
fn millis(grpc_timeout: &str) -> u128 {
    let (n, unit) = grpc_timeout.split_at(grpc_timeout.len() - 1);
    let n: u128 = n.parse().unwrap();
    match unit {
        "m" => n,
        "u" => n / 1_000,
        "n" => n / 1_000_000,
        "S" => n * 1_000,
        other => panic!("unit {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callers_deadline_reaches_the_backends() {
    let slow = Slow::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow_addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TrackingServiceServer::new(slow.clone()))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let suite = Suite::start(Backend::Sqlite, |s| s.upstream.tracking_url = Some(format!("http://{slow_addr}"))).await;
    // The units exist (target is real); only tracking is slow.
    let mut org = attain_proto::attain::target::v1::org_service_client::OrgServiceClient::new(
        Channel::from_shared(format!("http://{}", suite.target.addr)).unwrap().connect().await.unwrap(),
    );
    for (id, parent, kind) in [("acme", "", UnitKind::Company), ("region-a", "units/acme", UnitKind::Region)] {
        let mut r = Request::new(tpb::CreateUnitRequest {
            unit: Some(tpb::Unit {
                parent: parent.into(),
                kind: kind as i32,
                display_name: id.into(),
                ..Default::default()
            }),
            unit_id: id.into(),
            request_id: String::new(),
        });
        r.metadata_mut().insert("authorization", format!("Bearer {}", token("ops", Role::Admin, "")).parse().unwrap());
        org.create_unit(r).await.unwrap();
    }
    let channel = Channel::from_shared(format!("http://{}", suite.gateway.addr)).unwrap().connect().await.unwrap();
    let mut request = Request::new(GetDashboardRequest {
        unit: "units/region-a".into(),
        period: "2024-01".into(),
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {}", token("wang", Role::Manager, "region-a")).parse().unwrap());
    request.set_timeout(Duration::from_millis(1000));
    let started = Instant::now();
    let result = GatewayServiceClient::new(channel).get_dashboard(request).await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1500), "answered near the caller's deadline, took {took:?}");
    let seen = slow.seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the slow backend was called");
    for t in &seen {
        let ms = millis(t);
        // The gateway keeps a tenth back to assemble the answer.
        assert!(ms > 0 && ms <= 900, "the backend got what remained of 1 s less the margin, not more: {t}");
    }
    // The slow sections are marked unavailable; the unit's section is whole.
    let d = result.unwrap().into_inner();
    let state = |name: &str| d.sections.iter().find(|s| s.section == name).unwrap().state;
    assert_eq!(state("attainment"), SectionState::Unavailable as i32, "{:?}", d.sections);
    assert_eq!(state("unit"), SectionState::Ok as i32, "{:?}", d.sections);
    assert_eq!(d.display_name, "region-a");
}

/// A 50 ms deadline on a write that needs longer: DEADLINE_EXCEEDED in
/// about 50 ms, and the server stops the work — the batch's transaction is
/// dropped with the handler, so nothing of it is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_deadline_stops_the_work_on_the_server() {
    let s = Suite::with_demo(Backend::Postgres).await;
    let tracking = Channel::from_shared(format!("http://{}", s.tracking.addr)).unwrap().connect().await.unwrap();
    let mut client = kpb::tracking_service_client::TrackingServiceClient::new(tracking);
    let rows = |tag: &str| kpb::BatchCreateDealsRequest {
        requests: (0..10_000)
            .map(|i| kpb::CreateDealRequest {
                deal: Some(kpb::Deal {
                    rep: "units/rep-1".into(),
                    amount: Some(attain_proto::attain::common::v1::Money {
                        currency_code: "CNY".into(),
                        amount: "1.00".into(),
                    }),
                    close_date: "2024-01-16".into(),
                    ..Default::default()
                }),
                request_id: format!("{tag}-{i}"),
            })
            .collect(),
    };
    let before = deals_won(&mut client).await;
    let mut slow = authed(rows("late"));
    slow.set_timeout(Duration::from_millis(50));
    let started = Instant::now();
    let err = client.batch_create_deals(slow).await.unwrap_err();
    let took = started.elapsed();
    // tonic's client keeps the same timer and reports its own expiry as
    // CANCELLED "Timeout expired"; other clients see the server's
    // DEADLINE_EXCEEDED. Either way, on time:
    assert!(
        err.code() == tonic::Code::DeadlineExceeded
            || (err.code() == tonic::Code::Cancelled && err.message() == "Timeout expired"),
        "{err:?}"
    );
    assert!(took < Duration::from_millis(250), "answered after {took:?}");
    // Give a server that kept going every chance to commit; it must not.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(deals_won(&mut client).await, before, "nothing of the cancelled batch was stored");
    // The same batch with time to spare goes through (the work is real).
    client.batch_create_deals(authed(rows("in-time"))).await.unwrap();
    assert_eq!(deals_won(&mut client).await, before + 10_000);
}

fn authed<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token("ops", Role::Admin, "")).parse().unwrap());
    r
}

async fn deals_won(client: &mut kpb::tracking_service_client::TrackingServiceClient<Channel>) -> i64 {
    client
        .get_attainment(authed(kpb::GetAttainmentRequest {
            unit: "units/rep-1".into(),
            period: "2024-01".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .deals_won
}
