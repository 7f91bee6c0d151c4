use std::{net::SocketAddr, time::Duration};

use attain_kit::{
    auth::Role,
    configuration::Settings,
    testing::{Backend, notify_key_file, seed_flat_region, test_settings, token},
};
use attain_proto::attain::{
    notify::v1::{self as pb, notify_service_client::NotifyServiceClient},
    target::v1::org_service_client::OrgServiceClient,
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

pub type Notify = NotifyServiceClient<InterceptedService<Channel, Bearer>>;
pub type Tracking = TrackingServiceClient<InterceptedService<Channel, Bearer>>;

pub fn bearer(person: &str, role: Role, unit: &str) -> Bearer {
    Bearer(format!("Bearer {}", token(person, role, unit)).parse().unwrap())
}

pub struct Suite {
    /// Notify's database, for checking what is stored at rest.
    pub notify_db: String,
    pub notify_admin: SocketAddr,
    notify: Channel,
    tracking: Channel,
    target: Channel,
    _stops: Vec<oneshot::Sender<()>>,
}

impl Suite {
    pub fn notify(&self, person: &str, role: Role, unit: &str) -> Notify {
        NotifyServiceClient::with_interceptor(self.notify.clone(), bearer(person, role, unit))
    }

    pub fn manager(&self) -> Notify {
        self.notify("wang", Role::Manager, "region-a")
    }

    pub fn tracking_as(&self, person: &str, role: Role, unit: &str) -> Tracking {
        TrackingServiceClient::with_interceptor(self.tracking.clone(), bearer(person, role, unit))
    }

    pub fn tracking(&self) -> Tracking {
        TrackingServiceClient::with_interceptor(self.tracking.clone(), bearer("ops", Role::Admin, ""))
    }

    /// The org service, as an admin.
    pub fn org(&self) -> OrgServiceClient<InterceptedService<Channel, Bearer>> {
        OrgServiceClient::with_interceptor(self.target.clone(), bearer("ops", Role::Admin, ""))
    }

    /// Evaluates the company's alerts now: the changes tracking made.
    pub async fn evaluate(&self) -> Vec<kpb::Alert> {
        let r = kpb::EvaluateAlertsRequest { unit: "units/acme".into(), ..Default::default() };
        self.tracking().evaluate_alerts(r).await.unwrap().into_inner().changed
    }
}

async fn connect(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
}

macro_rules! start {
    ($app:path, $settings:expr) => {{
        let app = <$app>::build($settings).await.unwrap();
        let (addr, admin) = (app.local_addr(), app.admin_addr());
        let (stop, rx) = oneshot::channel::<()>();
        tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        (addr, admin, stop)
    }};
}

/// Target, tracking and notify; company "acme", region "region-a" with
/// `reps` reps ("rep-0", …) and no deals (every rep behind pace on 2024-01-16 at noon, the
/// test clock). Notify may send to loopback over http (its receivers are
/// local) and retries fast; `tweak` adjusts its settings.
pub async fn spawn(backend: Backend, reps: usize, tweak: impl FnOnce(&mut Settings)) -> Suite {
    spawn_with(backend, reps, |_| {}, tweak).await
}

/// [`spawn`], with `every` adjusting each service's settings first.
pub async fn spawn_with(
    backend: Backend,
    reps: usize,
    every: impl Fn(&mut Settings),
    tweak: impl FnOnce(&mut Settings),
) -> Suite {
    let settings = || async {
        let mut s = test_settings(backend).await;
        every(&mut s);
        s
    };
    let (target_addr, _, t_stop) = start!(attain_target::startup::Application, settings().await);
    let mut ts = settings().await;
    ts.upstream.target_url = Some(format!("http://{target_addr}"));
    let (tracking_addr, _, k_stop) = start!(attain_tracking::startup::Application, ts);
    let mut ns = settings().await;
    ns.upstream.target_url = Some(format!("http://{target_addr}"));
    ns.upstream.tracking_url = Some(format!("http://{tracking_addr}"));
    ns.cadence.time_zone = "Asia/Shanghai".into();
    ns.notify.secrets_key_file = Some(notify_key_file());
    ns.notify.allow_insecure_webhooks = true;
    ns.notify.retry_base_ms = 100;
    ns.notify.retry_max_ms = 400;
    ns.notify.max_attempts = 4;
    ns.notify.dashboard_url = "https://attain.example.com".into();
    tweak(&mut ns);
    let notify_db = secrecy::ExposeSecret::expose_secret(&ns.database.url).to_owned();
    let (notify_addr, notify_admin, n_stop) = start!(attain_notify::startup::Application, ns);
    let target = connect(target_addr).await;
    seed_flat_region(target.clone(), reps, "1200000").await;
    Suite {
        notify_db,
        notify_admin,
        notify: connect(notify_addr).await,
        tracking: connect(tracking_addr).await,
        target,
        _stops: vec![t_stop, k_stop, n_stop],
    }
}

/// A DingTalk robot subscription to region A's BEHIND_PACE alerts.
pub fn dingtalk(url: &str, secret: &str) -> pb::Subscription {
    pb::Subscription {
        unit: "units/region-a".into(),
        channel: Some(pb::Channel {
            kind: Some(pb::channel::Kind::Dingtalk(pb::RobotChannel {
                url: url.into(),
                secret: secret.into(),
                secret_env: String::new(),
            })),
            ..Default::default()
        }),
        rules: vec![kpb::AlertRule::BehindPace as i32],
        ..Default::default()
    }
}

pub fn with_channel(kind: pb::channel::Kind) -> pb::Subscription {
    let mut s = dingtalk("", "");
    s.channel = Some(pb::Channel { kind: Some(kind), ..Default::default() });
    s
}

pub async fn subscribe(n: &mut Notify, s: pb::Subscription) -> pb::Subscription {
    n.create_subscription(pb::CreateSubscriptionRequest { subscription: Some(s), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
}

/// Deliveries of a subscription in `states` (all if empty).
pub async fn deliveries(n: &mut Notify, sub: &str, states: &[pb::DeliveryState]) -> Vec<pb::Delivery> {
    let r = pb::ListDeliveriesRequest {
        parent: sub.into(),
        states: states.iter().map(|s| *s as i32).collect(),
        page_size: 1000,
        page_token: String::new(),
    };
    n.list_deliveries(r).await.unwrap().into_inner().deliveries
}

/// Waits until `sub` has `n` deliveries in `state`.
pub async fn wait_state(n: &mut Notify, sub: &str, state: pb::DeliveryState, count: usize) -> Vec<pb::Delivery> {
    let start = std::time::Instant::now();
    loop {
        let d = deliveries(n, sub, &[state]).await;
        if d.len() >= count {
            return d;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} of {count} {state:?}: {:?}",
            d.len(),
            deliveries(n, sub, &[]).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The BEHIND_PACE alerts a change list opened under region A.
pub fn behind_in_region(changed: &[kpb::Alert]) -> Vec<&kpb::Alert> {
    changed
        .iter()
        .filter(|a| a.rule == kpb::AlertRule::BehindPace as i32)
        .filter(|a| a.unit_path.iter().any(|u| u == "units/region-a"))
        .collect()
}
