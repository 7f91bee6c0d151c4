use std::net::SocketAddr;

use attain_kit::{
    auth::Role,
    testing::{Backend, test_settings, token},
};
use attain_proto::attain::{
    common::v1::Money,
    review::v1::review_service_client::ReviewServiceClient,
    target::v1::{self as tpb, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use tokio::sync::oneshot;
use tonic::{
    Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};

#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request.metadata_mut().insert("authorization", self.0.clone());
        Ok(request)
    }
}

pub type Reviews = ReviewServiceClient<InterceptedService<Channel, Bearer>>;
pub type Tracking = TrackingServiceClient<InterceptedService<Channel, Bearer>>;

pub fn bearer(person: &str, role: Role, unit: &str) -> Bearer {
    Bearer(format!("Bearer {}", token(person, role, unit)).parse().unwrap())
}

pub struct Suite {
    review: Channel,
    tracking: Channel,
    _stops: Vec<oneshot::Sender<()>>,
}

impl Suite {
    pub fn reviews(&self, person: &str, role: Role, unit: &str) -> Reviews {
        ReviewServiceClient::with_interceptor(self.review.clone(), bearer(person, role, unit))
    }

    pub fn tracking(&self) -> Tracking {
        TrackingServiceClient::with_interceptor(self.tracking.clone(), bearer("ops", Role::Admin, ""))
    }
}

async fn connect(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
}

/// Builds and runs one service on port 0; returns its address and the
/// sender that stops it.
macro_rules! start {
    ($app:path, $settings:expr) => {{
        let app = <$app>::build($settings).await.unwrap();
        let addr = app.local_addr();
        let (stop, rx) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        (addr, stop)
    }};
}

pub fn cny(a: &str) -> Option<Money> {
    Some(Money { currency_code: "CNY".into(), amount: a.into() })
}

/// All three services, clocks on 2024-02-02 (January is over), with the
/// guide's region A and a January of deals, logs and losses.
pub async fn spawn_suite(backend: Backend) -> Suite {
    let today = chrono::NaiveDate::from_ymd_opt(2024, 2, 2);
    let (target_addr, t_stop) = start!(attain_target::startup::Application, test_settings(backend).await);
    let mut ts = test_settings(backend).await;
    ts.upstream.target_url = Some(format!("http://{target_addr}"));
    ts.clock.today = today;
    let (tracking_addr, k_stop) = start!(attain_tracking::startup::Application, ts);
    let mut rs = test_settings(backend).await;
    rs.upstream.target_url = Some(format!("http://{target_addr}"));
    rs.upstream.tracking_url = Some(format!("http://{tracking_addr}"));
    rs.clock.today = today;
    let (review_addr, r_stop) = start!(attain_review::startup::Application, rs);
    let stops = vec![t_stop, k_stop, r_stop];
    let suite = Suite { review: connect(review_addr).await, tracking: connect(tracking_addr).await, _stops: stops };
    seed(connect(target_addr).await, &suite).await;
    suite
}

async fn seed(target: Channel, s: &Suite) {
    let admin = bearer("ops", Role::Admin, "");
    let mut org = OrgServiceClient::with_interceptor(target.clone(), admin.clone());
    for (id, parent, kind) in [
        ("acme", "", tpb::UnitKind::Company),
        ("region-a", "units/acme", tpb::UnitKind::Region),
        ("rep-1", "units/region-a", tpb::UnitKind::Rep),
        ("rep-2", "units/region-a", tpb::UnitKind::Rep),
        ("region-b", "units/acme", tpb::UnitKind::Region),
    ] {
        let unit = tpb::Unit {
            parent: parent.into(),
            kind: kind as i32,
            display_name: id.to_uppercase(),
            ..Default::default()
        };
        org.create_unit(tpb::CreateUnitRequest { unit: Some(unit), unit_id: id.into(), request_id: String::new() })
            .await
            .unwrap();
    }
    let mut t = TargetServiceClient::with_interceptor(target, admin);
    t.create_plan(tpb::CreatePlanRequest {
        plan: Some(tpb::Plan {
            display_name: "FY2024".into(),
            top_unit: "units/acme".into(),
            fiscal_year: 2024,
            currency_code: "CNY".into(),
            base_amount: cny("8000000"),
            growth_rate: "0.25".into(),
            coverage_policy: Some(tpb::CoveragePolicy {
                mode: tpb::CoverageMode::Reserve as i32,
                max_reserve_percent: "80".into(),
                ..Default::default()
            }),
            default_phasing: Some(tpb::PhasingCurve { method: tpb::PhasingMethod::Even as i32, ..Default::default() }),
            ..Default::default()
        }),
        plan_id: "fy2024".into(),
        request_id: String::new(),
    })
    .await
    .unwrap();
    let manual = |u: &str, a: &str| tpb::SplitInput {
        unit: format!("units/{u}"),
        manual_amount: a.into(),
        ..Default::default()
    };
    let split = |parent: &str, inputs| tpb::DecomposeTargetRequest {
        parent_target: format!("plans/fy2024/targets/{parent}"),
        strategy: tpb::SplitStrategy::Manual as i32,
        inputs,
        ..Default::default()
    };
    t.decompose_target(split("acme", vec![manual("region-a", "2400000"), manual("region-b", "1200000")]))
        .await
        .unwrap();
    t.decompose_target(split("region-a", vec![manual("rep-1", "1200000"), manual("rep-2", "1200000")])).await.unwrap();
    t.publish_plan(tpb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() }).await.unwrap();

    // January: rep 1 sells 120,000 (above its 100,000), rep 2 sells 40,000
    // and loses three deals on price and one to a competitor.
    let mut k = s.tracking();
    let sale = |rep: &str, a: &str, d: &str, id: &str| kpb::CreateDealRequest {
        deal: Some(kpb::Deal {
            rep: format!("units/{rep}"),
            amount: cny(a),
            close_date: d.into(),
            ..Default::default()
        }),
        request_id: id.into(),
    };
    let requests = vec![
        sale("rep-1", "70000", "2024-01-10", "a"),
        sale("rep-1", "50000", "2024-01-20", "b"),
        sale("rep-2", "40000", "2024-01-15", "c"),
    ];
    k.batch_create_deals(kpb::BatchCreateDealsRequest { requests }).await.unwrap();
    let lost = |r: kpb::LossReason, a: &str| kpb::LostDeal {
        customer: "x".into(),
        reason: r as i32,
        detail: String::new(),
        amount: cny(a),
    };
    k.create_daily_log(kpb::CreateDailyLogRequest {
        daily_log: Some(kpb::DailyLog {
            rep: "units/rep-2".into(),
            log_date: "2024-01-22".into(),
            lost_deals: vec![
                lost(kpb::LossReason::Price, "20000"),
                lost(kpb::LossReason::Price, "15000"),
                lost(kpb::LossReason::Price, "5000"),
                lost(kpb::LossReason::Competitor, "30000"),
            ],
            ..Default::default()
        }),
        request_id: "log".into(),
    })
    .await
    .unwrap();
}
