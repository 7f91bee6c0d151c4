//! The whole suite in-process for end-to-end tests: the four services and
//! the gateway on port 0, each with its own fresh database, the guide's
//! example loaded, clock at 2024-01-16.

#![allow(dead_code)]

pub mod process;
pub mod webdriver;

use std::net::SocketAddr;

use attain_kit::{
    auth::Role,
    configuration::Settings,
    testing::{Backend, test_settings, token},
};
use tokio::{sync::oneshot, task::JoinHandle};

/// A running service: its address, and what stops it.
pub struct Running {
    pub addr: SocketAddr,
    /// The admin listener (`/metrics`).
    pub admin: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// Stops the service and waits until it has.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

macro_rules! start {
    ($app:path, $settings:expr) => {{
        let app = <$app>::build($settings).await.unwrap();
        let addr = app.local_addr();
        let admin = app.admin_addr();
        let (stop, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until_stopped(async {
            let _ = rx.await;
        }));
        Running { addr, admin, stop: Some(stop), task: Some(task) }
    }};
}

/// Asserts that RELIABILITY.md states `line` word for word: the figures
/// there are the ones the test just measured.
pub fn reliability_claim(line: &str) {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/RELIABILITY.md")).unwrap();
    assert!(text.lines().any(|l| l == line), "RELIABILITY.md should state:\n{line}");
}

pub struct Suite {
    pub target: Running,
    pub tracking: Running,
    pub review: Running,
    pub notify: Running,
    pub gateway: Running,
}

fn url(a: SocketAddr) -> Option<String> {
    Some(format!("http://{a}"))
}

impl Suite {
    /// Starts everything; `gateway` may adjust the gateway's settings.
    pub async fn start(backend: Backend, gateway: impl FnOnce(&mut Settings)) -> Self {
        Self::start_with(backend, |_| {}, gateway).await
    }

    /// Starts everything; `every` adjusts each service's settings (the
    /// gateway's too), then `gateway` the gateway's.
    pub async fn start_with(
        backend: Backend,
        every: impl Fn(&mut Settings),
        gateway: impl FnOnce(&mut Settings),
    ) -> Self {
        let settings = || async {
            let mut s = test_settings(backend).await;
            every(&mut s);
            s
        };
        let target = start!(attain_target::startup::Application, settings().await);
        let mut s = settings().await;
        s.upstream.target_url = url(target.addr);
        let tracking = start!(attain_tracking::startup::Application, s);
        let mut s = settings().await;
        s.upstream.target_url = url(target.addr);
        s.upstream.tracking_url = url(tracking.addr);
        let review = start!(attain_review::startup::Application, s);
        let mut s = settings().await;
        s.upstream.target_url = url(target.addr);
        s.upstream.tracking_url = url(tracking.addr);
        s.upstream.review_url = url(review.addr);
        // Receivers in tests are local: http and loopback allowed.
        s.notify.secrets_key_file = Some(attain_kit::testing::notify_key_file());
        s.notify.allow_insecure_webhooks = true;
        s.notify.retry_base_ms = 100;
        s.notify.retry_max_ms = 1_000;
        let notify = start!(attain_notify::startup::Application, s);
        let mut s = settings().await;
        s.upstream.target_url = url(target.addr);
        s.upstream.tracking_url = url(tracking.addr);
        s.upstream.review_url = url(review.addr);
        s.upstream.notify_url = url(notify.addr);
        // The service account the gateway watches roll-up changes with.
        s.jobs.service_token = Some(secrecy::SecretString::from(token("svc-gateway", Role::Admin, "")));
        gateway(&mut s);
        let gateway = start!(attain_gateway::startup::Application, s);
        Self { target, tracking, review, notify, gateway }
    }

    /// Starts everything and loads the guide's example.
    pub async fn with_demo(backend: Backend) -> Self {
        let suite = Self::start(backend, |_| {}).await;
        suite.seed().await;
        suite
    }

    pub async fn seed(&self) {
        attain::demo::seed(self.target.addr, self.tracking.addr, self.review.addr, token("ops", Role::Admin, ""))
            .await
            .unwrap();
    }
}
