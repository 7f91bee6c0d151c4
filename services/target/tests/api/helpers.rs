use attain_kit::{
    auth::Role,
    testing::{Backend, test_settings, token},
};
use attain_proto::attain::target::v1::{
    self as pb, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient,
};
use attain_target::startup::Application;
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::{
    Code, Request, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};
use tonic_types::StatusExt;

/// Adds a bearer token (or none) to every call.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            request.metadata_mut().insert("authorization", v.clone());
        }
        Ok(request)
    }
}

pub type Org = OrgServiceClient<InterceptedService<Channel, Bearer>>;
pub type Targets = TargetServiceClient<InterceptedService<Channel, Bearer>>;

pub struct TestApp {
    pub channel: Channel,
    settings: attain_kit::configuration::Settings,
    stop: Option<oneshot::Sender<()>>,
    pub handle: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// A client authenticated with a raw token string (None: no token).
    pub fn org_with(&self, raw_token: Option<&str>) -> Org {
        let header = raw_token.map(|t| format!("Bearer {t}").parse().unwrap());
        OrgServiceClient::with_interceptor(self.channel.clone(), Bearer(header))
    }

    pub fn org(&self, person: &str, role: Role, unit: &str) -> Org {
        self.org_with(Some(&token(person, role, unit)))
    }

    pub fn admin(&self) -> Org {
        self.org("ops", Role::Admin, "")
    }

    pub fn targets(&self, person: &str, role: Role, unit: &str) -> Targets {
        let header = format!("Bearer {}", token(person, role, unit)).parse().unwrap();
        TargetServiceClient::with_interceptor(self.channel.clone(), Bearer(Some(header)))
    }

    pub fn targets_admin(&self) -> Targets {
        self.targets("ops", Role::Admin, "")
    }

    /// The test's database.
    pub fn database_url(&self) -> String {
        use secrecy::ExposeSecret;
        self.settings.database.url.expose_secret().to_owned()
    }

    /// Another replica on the same database.
    pub async fn replica(&self) -> TestApp {
        start(self.settings.clone()).await
    }

    pub fn signal_stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut attain_kit::configuration::Settings)) -> TestApp {
    let mut settings = test_settings(backend).await;
    tweak(&mut settings);
    start(settings).await
}

async fn start(settings: attain_kit::configuration::Settings) -> TestApp {
    let app = Application::build(settings.clone()).await.expect("build app");
    let addr = app.local_addr();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(app.run_until_stopped(async {
        let _ = rx.await;
    }));
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.expect("connect");
    TestApp { channel, settings, stop: Some(tx), handle: Some(handle) }
}

/// A unit message for CreateUnit.
pub fn unit(parent: &str, kind: pb::UnitKind, name: &str) -> pb::Unit {
    pb::Unit { parent: parent.to_owned(), kind: kind as i32, display_name: name.to_owned(), ..Default::default() }
}

pub async fn create(org: &mut Org, id: &str, parent: &str, kind: pb::UnitKind, name: &str) -> pb::Unit {
    org.create_unit(pb::CreateUnitRequest {
        unit: Some(unit(parent, kind, name)),
        unit_id: id.to_owned(),
        request_id: String::new(),
    })
    .await
    .unwrap_or_else(|s| panic!("create {id}: {s:?}"))
    .into_inner()
}

/// The guide's company: acme → region-a (team-a1 → rep-1, rep-2; rep-3
/// directly), region-b → rep-9.
pub async fn seed_org(app: &TestApp) {
    use pb::UnitKind::*;
    let seed = attain_kit::seed::Seed::new(app.channel.clone(), attain_kit::testing::token("ops", Role::Admin, ""));
    let unit = attain_kit::seed::Unit::new;
    seed.units(&[
        unit("acme", "", Company, "Acme"),
        unit("region-a", "acme", Region, "Region A"),
        unit("region-b", "acme", Region, "Region B"),
        unit("team-a1", "region-a", Team, "Team A1"),
        unit("rep-1", "team-a1", Rep, "Rep 1"),
        unit("rep-2", "team-a1", Rep, "Rep 2"),
        unit("rep-3", "region-a", Rep, "Rep 3"),
        unit("rep-9", "region-b", Rep, "Rep 9"),
    ])
    .await
    .unwrap();
}

/// Asserts a status code, and for INVALID_ARGUMENT that `field` is named
/// in the BadRequest details.
#[track_caller]
pub fn assert_status<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, field: Option<&str>) -> Status {
    let status = match result {
        Ok(v) => panic!("expected {code:?}, got {v:?}"),
        Err(s) => s,
    };
    assert_eq!(status.code(), code, "{status:?}");
    if let Some(field) = field {
        let details = status.get_error_details();
        let fields: Vec<String> = details
            .bad_request()
            .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
            .unwrap_or_default();
        assert!(fields.iter().any(|f| f == field), "expected a violation of {field}, got {fields:?} in {status:?}");
    }
    status
}
