use std::net::SocketAddr;

use attain_kit::{
    auth::Role,
    seed::{PlanSpec, Sale, Seed, Split, Unit},
    testing::{Backend, test_settings, token},
};
use attain_proto::attain::{
    review::v1::review_service_client::ReviewServiceClient,
    target::v1 as tpb,
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
pub type Targets = tpb::target_service_client::TargetServiceClient<InterceptedService<Channel, Bearer>>;

pub fn bearer(person: &str, role: Role, unit: &str) -> Bearer {
    Bearer(format!("Bearer {}", token(person, role, unit)).parse().unwrap())
}

pub struct Suite {
    review: Channel,
    tracking: Channel,
    target: Channel,
    _stops: Vec<oneshot::Sender<()>>,
}

impl Suite {
    pub fn reviews(&self, person: &str, role: Role, unit: &str) -> Reviews {
        ReviewServiceClient::with_interceptor(self.review.clone(), bearer(person, role, unit))
    }

    pub fn targets(&self, person: &str, role: Role, unit: &str) -> Targets {
        tpb::target_service_client::TargetServiceClient::with_interceptor(
            self.target.clone(),
            bearer(person, role, unit),
        )
    }

    pub fn org(&self) -> tpb::org_service_client::OrgServiceClient<InterceptedService<Channel, Bearer>> {
        tpb::org_service_client::OrgServiceClient::with_interceptor(self.target.clone(), bearer("ops", Role::Admin, ""))
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

pub use attain_kit::seed::cny;

/// All three services, clocks on 2024-02-02 (January is over), with the
/// guide's region A and a January of deals, logs and losses.
pub async fn spawn_suite(backend: Backend) -> Suite {
    let today = chrono::NaiveDate::from_ymd_opt(2024, 2, 2);
    let mut target_settings = test_settings(backend).await;
    target_settings.clock.today = today;
    let (target_addr, t_stop) = start!(attain_target::startup::Application, target_settings);
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
    let target = connect(target_addr).await;
    let suite = Suite {
        review: connect(review_addr).await,
        tracking: connect(tracking_addr).await,
        target: target.clone(),
        _stops: stops,
    };
    seed(target, &suite).await;
    suite
}

async fn seed(target: Channel, s: &Suite) {
    use tpb::UnitKind::*;
    let seed = Seed::new(target, token("ops", Role::Admin, "")).with_tracking(s.tracking.clone());
    seed.units(&[
        Unit::new("acme", "", Company, "ACME"),
        Unit::new("region-a", "acme", Region, "REGION-A").manager("mgr-a"),
        Unit::new("rep-1", "region-a", Rep, "REP-1").manager("rep-1"),
        Unit::new("rep-2", "region-a", Rep, "REP-2").manager("rep-2"),
        Unit::new("region-b", "acme", Region, "REGION-B"),
    ])
    .await
    .unwrap();
    let plan = PlanSpec::new("fy2024", "FY2024", "acme", 2024)
        .base("8000000")
        .growth("0.25")
        .reserve("80")
        .phasing(tpb::PhasingMethod::Even);
    seed.plan(plan).await.unwrap();
    seed.split("fy2024", "acme", Split::manual(&[("region-a", "2400000"), ("region-b", "1200000")])).await.unwrap();
    seed.split("fy2024", "region-a", Split::manual(&[("rep-1", "1200000"), ("rep-2", "1200000")])).await.unwrap();
    seed.publish("fy2024").await.unwrap();

    // January: rep 1 sells 120,000 (above its 100,000), rep 2 sells 40,000
    // and loses three deals on price and one to a competitor.
    seed.deals(&[
        Sale::new("rep-1", "70000", "2024-01-10").id("a"),
        Sale::new("rep-1", "50000", "2024-01-20").id("b"),
        Sale::new("rep-2", "40000", "2024-01-15").id("c"),
    ])
    .await
    .unwrap();
    let lost = |r: kpb::LossReason, a: &str| kpb::LostDeal {
        customer: "x".into(),
        reason: r as i32,
        detail: String::new(),
        amount: cny(a),
    };
    seed.daily_log(
        kpb::DailyLog {
            rep: "units/rep-2".into(),
            log_date: "2024-01-22".into(),
            lost_deals: vec![
                lost(kpb::LossReason::Price, "20000"),
                lost(kpb::LossReason::Price, "15000"),
                lost(kpb::LossReason::Price, "5000"),
                lost(kpb::LossReason::Competitor, "30000"),
            ],
            ..Default::default()
        },
        "log",
    )
    .await
    .unwrap();
}
