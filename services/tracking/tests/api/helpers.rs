use std::net::SocketAddr;

use attain_kit::{
    auth::Role,
    seed::{PlanSpec, Seed, Split, Unit},
    testing::{Backend, test_settings, token},
};
use attain_proto::attain::{target::v1 as tpb, tracking::v1::tracking_service_client::TrackingServiceClient};
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

pub type Tracking = TrackingServiceClient<InterceptedService<Channel, Bearer>>;

pub struct Suite {
    tracking: Channel,
    target: Channel,
    settings: attain_kit::configuration::Settings,
    _stops: Vec<oneshot::Sender<()>>,
    /// Tracking replicas, first the suite's own: aborting one is a crash.
    replicas: Vec<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub fn bearer(person: &str, role: Role, unit: &str) -> Bearer {
    Bearer(format!("Bearer {}", token(person, role, unit)).parse().unwrap())
}

impl Suite {
    pub fn tracking(&self, person: &str, role: Role, unit: &str) -> Tracking {
        TrackingServiceClient::with_interceptor(self.tracking.clone(), bearer(person, role, unit))
    }

    pub fn admin(&self) -> Tracking {
        self.tracking("ops", Role::Admin, "")
    }

    pub fn target_channel(&self) -> Channel {
        self.target.clone()
    }

    pub fn tracking_channel(&self) -> Channel {
        self.tracking.clone()
    }

    /// Another tracking replica on the same database (and target service).
    pub async fn replica(&mut self, person: &str, role: Role, unit: &str) -> Tracking {
        self.replica_with(person, role, unit, |_| {}).await
    }

    /// Another replica, configured differently.
    pub async fn replica_with(
        &mut self,
        person: &str,
        role: Role,
        unit: &str,
        tweak: impl FnOnce(&mut attain_kit::configuration::Settings),
    ) -> Tracking {
        let mut settings = self.settings.clone();
        tweak(&mut settings);
        let app = attain_tracking::startup::Application::build(settings).await.unwrap();
        let addr = app.local_addr();
        let (stop, rx) = oneshot::channel::<()>();
        self.replicas.push(tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        })));
        self._stops.push(stop);
        TrackingServiceClient::with_interceptor(connect(addr).await, bearer(person, role, unit))
    }

    /// Replica `i` (0: the suite's own) dies at once, as with kill -9:
    /// nothing drains, no lease is handed back.
    pub fn kill(&self, i: usize) {
        self.replicas[i].abort();
    }

    pub fn settings(&self) -> &attain_kit::configuration::Settings {
        &self.settings
    }
}

async fn connect(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
}

/// Target and tracking services, tracking's clock on 2024-01-16.
pub async fn spawn_suite(backend: Backend) -> Suite {
    spawn_suite_with(backend, |_| {}).await
}

pub async fn spawn_suite_with(backend: Backend, tweak: impl FnOnce(&mut attain_kit::configuration::Settings)) -> Suite {
    let target_app = attain_target::startup::Application::build(test_settings(backend).await).await.unwrap();
    let target_addr = target_app.local_addr();
    let (t_stop, t_rx) = oneshot::channel::<()>();
    tokio::spawn(target_app.run_until_stopped(async {
        let _ = t_rx.await;
    }));
    let mut settings = test_settings(backend).await;
    settings.upstream.target_url = Some(format!("http://{target_addr}"));
    settings.clock.today = chrono::NaiveDate::from_ymd_opt(2024, 1, 16);
    tweak(&mut settings);
    let app = attain_tracking::startup::Application::build(settings.clone()).await.unwrap();
    let tracking_addr = app.local_addr();
    let (k_stop, k_rx) = oneshot::channel::<()>();
    let own = tokio::spawn(app.run_until_stopped(async {
        let _ = k_rx.await;
    }));
    let suite = Suite {
        tracking: connect(tracking_addr).await,
        target: connect(target_addr).await,
        settings,
        _stops: vec![t_stop, k_stop],
        replicas: vec![own],
    };
    seed(&suite).await;
    suite
}

/// A plain sale of `amount` CNY for `rep` on `date`.
pub fn sale(
    rep: &str,
    amount: &str,
    date: &str,
    request_id: &str,
) -> attain_proto::attain::tracking::v1::CreateDealRequest {
    use attain_proto::attain::tracking::v1 as pb;
    pb::CreateDealRequest {
        deal: Some(pb::Deal {
            rep: format!("units/{rep}"),
            amount: cny(amount),
            close_date: date.into(),
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

pub use attain_kit::seed::cny;

/// The guide's org and plan: acme → region-a → rep-1, rep-2, rep-3;
/// region-b → rep-9. FY2024 published; rep 1's January target 100,000
/// with milestones 20% by the 5th and 50% by the 15th.
async fn seed(s: &Suite) {
    use tpb::UnitKind::*;
    let seed = Seed::new(s.target.clone(), token("ops", Role::Admin, ""));
    seed.units(&[
        Unit::new("acme", "", Company, "acme"),
        Unit::new("region-a", "acme", Region, "region-a"),
        Unit::new("region-b", "acme", Region, "region-b"),
        Unit::new("rep-1", "region-a", Rep, "rep-1"),
        Unit::new("rep-2", "region-a", Rep, "rep-2"),
        Unit::new("rep-3", "region-a", Rep, "rep-3"),
        Unit::new("rep-9", "region-b", Rep, "rep-9"),
    ])
    .await
    .unwrap();
    let plan = PlanSpec::new("fy2024", "FY2024", "acme", 2024)
        .base("8000000.00")
        .growth("0.25")
        .reserve("50")
        .milestones(&[(5, "20"), (15, "50")]);
    seed.plan(plan).await.unwrap();
    seed.split("fy2024", "acme", Split::manual(&[("region-a", "3000000"), ("region-b", "2500000")])).await.unwrap();
    let reps = [("rep-1", "1200000"), ("rep-2", "1000000"), ("rep-3", "800000")];
    seed.split("fy2024", "region-a", Split::manual(&reps)).await.unwrap();
    seed.split("fy2024", "region-b", Split::manual(&[("rep-9", "2500000")])).await.unwrap();
    seed.phase_by_quarter("fy2024", "rep-1", &["25", "29.1666666667", "20.8333333333", "25"]).await.unwrap();
    seed.publish("fy2024").await.unwrap();
}
