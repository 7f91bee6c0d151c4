use std::net::SocketAddr;

use attain_kit::{
    auth::Role,
    testing::{Backend, test_settings, token},
};
use attain_proto::attain::{
    common::v1::Money,
    target::v1::{self as tpb, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient},
    tracking::v1::tracking_service_client::TrackingServiceClient,
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

pub type Tracking = TrackingServiceClient<InterceptedService<Channel, Bearer>>;

pub struct Suite {
    tracking: Channel,
    target: Channel,
    settings: attain_kit::configuration::Settings,
    _stops: Vec<oneshot::Sender<()>>,
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
        let app = attain_tracking::startup::Application::build(self.settings.clone()).await.unwrap();
        let addr = app.local_addr();
        let (stop, rx) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        self._stops.push(stop);
        TrackingServiceClient::with_interceptor(connect(addr).await, bearer(person, role, unit))
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
    tokio::spawn(app.run_until_stopped(async {
        let _ = k_rx.await;
    }));
    let suite = Suite {
        tracking: connect(tracking_addr).await,
        target: connect(target_addr).await,
        settings,
        _stops: vec![t_stop, k_stop],
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

pub fn cny(amount: &str) -> Option<Money> {
    Some(Money { currency_code: "CNY".into(), amount: amount.into() })
}

/// The guide's org and plan: acme → region-a → rep-1, rep-2, rep-3;
/// region-b → rep-9. FY2024 published; rep 1's January target 100,000
/// with milestones 20% by the 5th and 50% by the 15th.
async fn seed(s: &Suite) {
    let mut org = OrgServiceClient::with_interceptor(s.target.clone(), bearer("ops", Role::Admin, ""));
    let units = [
        ("acme", "", tpb::UnitKind::Company),
        ("region-a", "units/acme", tpb::UnitKind::Region),
        ("region-b", "units/acme", tpb::UnitKind::Region),
        ("rep-1", "units/region-a", tpb::UnitKind::Rep),
        ("rep-2", "units/region-a", tpb::UnitKind::Rep),
        ("rep-3", "units/region-a", tpb::UnitKind::Rep),
        ("rep-9", "units/region-b", tpb::UnitKind::Rep),
    ];
    for (id, parent, kind) in units {
        let unit =
            tpb::Unit { parent: parent.into(), kind: kind as i32, display_name: id.into(), ..Default::default() };
        org.create_unit(tpb::CreateUnitRequest { unit: Some(unit), unit_id: id.into(), request_id: String::new() })
            .await
            .unwrap();
    }
    let mut t = TargetServiceClient::with_interceptor(s.target.clone(), bearer("ops", Role::Admin, ""));
    t.create_plan(tpb::CreatePlanRequest {
        plan: Some(tpb::Plan {
            display_name: "FY2024".into(),
            top_unit: "units/acme".into(),
            fiscal_year: 2024,
            currency_code: "CNY".into(),
            base_amount: cny("8000000.00"),
            growth_rate: "0.25".into(),
            coverage_policy: Some(tpb::CoveragePolicy {
                mode: tpb::CoverageMode::Reserve as i32,
                max_reserve_percent: "50".into(),
                ..Default::default()
            }),
            milestone_template: vec![
                tpb::Milestone { day_of_period: 5, percent: "20".into() },
                tpb::Milestone { day_of_period: 15, percent: "50".into() },
            ],
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
    t.decompose_target(split("acme", vec![manual("region-a", "3000000"), manual("region-b", "2500000")]))
        .await
        .unwrap();
    t.decompose_target(split(
        "region-a",
        vec![manual("rep-1", "1200000"), manual("rep-2", "1000000"), manual("rep-3", "800000")],
    ))
    .await
    .unwrap();
    t.decompose_target(split("region-b", vec![manual("rep-9", "2500000")])).await.unwrap();
    t.phase_target(tpb::PhaseTargetRequest {
        target: "plans/fy2024/targets/rep-1".into(),
        phasing: Some(tpb::PhasingCurve {
            method: tpb::PhasingMethod::Profile as i32,
            profile_percents: vec!["25".into(), "29.1666666667".into(), "20.8333333333".into(), "25".into()],
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .unwrap();
    t.publish_plan(tpb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() }).await.unwrap();
}
