//! Test support (feature `testing`): a fresh database per test on SQLite or
//! PostgreSQL, a throwaway PostgreSQL when none answers, and tokens.
//!
//! PostgreSQL: `ATTAIN_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) names an admin connection;
//! if nothing answers there, one throwaway cluster is started (initdb as the
//! `postgres` user when running as root) in the system temp dir on a free
//! port and shared by every test process through a file lock.

// Test support fails loudly: a panic here is a failed test, never a request path.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

pub mod receivers;

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;
use tokio::sync::OnceCell;

use crate::{
    auth::{Role, TokenMinter},
    configuration::{AuthSettings, ClockSettings, DatabaseSettings, JobSettings, ServerSettings, Settings},
};

/// The storage a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Shared secret of test tokens.
pub const TEST_SECRET: &str = "attain-test-secret-0123456789";

/// Settings for a service under test: port 0, a fresh database, HS256.
pub async fn test_settings(backend: Backend) -> Settings {
    Settings {
        // Tests of other things call far faster than a person: the rate
        // limits (on by default) have tests of their own.
        server: ServerSettings {
            port: 0,
            rate_limit_per_caller: 0,
            rate_limit_unauthenticated_per_address: 0,
            ..ServerSettings::default()
        },
        database: DatabaseSettings {
            url: SecretString::from(fresh_database_url(backend).await),
            ..DatabaseSettings::default()
        },
        auth: AuthSettings { hs256_secret: Some(SecretString::from(TEST_SECRET)), ..AuthSettings::default() },
        // The fixtures' plans are fiscal 2024: tests live in its January
        // unless they say otherwise, at noon (deadlines are wall-clock).
        clock: ClockSettings {
            today: chrono::NaiveDate::from_ymd_opt(2024, 1, 16),
            time_of_day: chrono::NaiveTime::from_hms_opt(12, 0, 0),
        },
        // Background work (tracking's alert evaluator, the gateway's cache
        // watcher) runs as a service account, as in production.
        // Scheduled full passes only where a test asks for them.
        jobs: JobSettings {
            service_token: Some(SecretString::from(token("svc-test", Role::Admin, ""))),
            alert_evaluation_seconds: 0,
            ..JobSettings::default()
        },
        ..Settings::default()
    }
}

/// A token for `person` with `role` on `unit` (bare id or "units/…").
pub fn token(person: &str, role: Role, unit: &str) -> String {
    let defaults = AuthSettings::default();
    TokenMinter::hs256(&SecretString::from(TEST_SECRET), &defaults.issuer, &defaults.audience)
        .mint(person, role, unit, 3600)
        .unwrap_or_default()
}

/// A URL to a database nobody else uses.
pub async fn fresh_database_url(backend: Backend) -> String {
    let name = format!("attain_test_{}", uuid::Uuid::new_v4().simple());
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join("attain-tests");
            let _ = std::fs::create_dir_all(&dir);
            format!("sqlite://{}", dir.join(format!("{name}.db")).display())
        }
        Backend::Postgres => {
            let admin = postgres_admin_url().await;
            let db = Database::connect(admin.as_str()).await.unwrap_or_else(|e| panic!("connect {admin}: {e}")); // ok: test support
            db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .unwrap_or_else(|e| panic!("create database: {e}")); // ok: test support
            let _ = db.close().await;
            with_database(&admin, &name)
        }
    }
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |j| j + 2) => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

static ADMIN_URL: OnceCell<String> = OnceCell::const_new();

/// The admin URL of a PostgreSQL that answers, starting one if needed.
pub async fn postgres_admin_url() -> String {
    ADMIN_URL
        .get_or_init(|| async {
            let configured = std::env::var("ATTAIN_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
            if answers(&configured).await {
                return configured;
            }
            let url = tokio::task::spawn_blocking(throwaway_cluster)
                .await
                .unwrap_or_else(|e| panic!("throwaway PostgreSQL: {e}")); // ok: test support
            for _ in 0..50 {
                if answers(&url).await {
                    return url;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            panic!("no PostgreSQL answers at {configured}, and the throwaway one at {url} did not come up"); // ok: test support
        })
        .await
        .clone()
}

async fn answers(url: &str) -> bool {
    let mut opts = sea_orm::ConnectOptions::new(url.to_owned());
    opts.connect_timeout(Duration::from_secs(2)).max_connections(1).sqlx_logging(false);
    match Database::connect(opts).await {
        Ok(db) => {
            let ok = db.ping().await.is_ok();
            let _ = db.close().await;
            ok
        }
        Err(_) => false,
    }
}

/// Starts (or reuses) one cluster under the temp dir; returns its admin URL.
fn throwaway_cluster() -> String {
    let root = std::env::temp_dir().join("attain-test-pg");
    std::fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())); // ok: test support
    let lock_file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(root.join("lock"))
        .unwrap_or_else(|e| panic!("lock: {e}")); // ok: test support
    let mut lock = fd_lock::RwLock::new(lock_file);
    let _guard = lock.write().unwrap_or_else(|e| panic!("lock: {e}")); // ok: test support

    let port_file = root.join("port");
    let data = root.join("data");
    if let Ok(port) = std::fs::read_to_string(&port_file) {
        let status = pg_command("pg_ctl").args(["status", "-D"]).arg(&data).status();
        if status.is_ok_and(|s| s.success()) {
            return admin_url(port.trim());
        }
    }
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{}: {e}", data.display())); // ok: test support
    let as_root = running_as_root();
    if as_root {
        chown_postgres(&root);
    }
    let port = free_port();
    init_cluster(&data, as_root);
    start_cluster(&root, &data, port, as_root);
    std::fs::write(&port_file, port.to_string()).unwrap_or_else(|e| panic!("port file: {e}")); // ok: test support
    admin_url(&port.to_string())
}

fn init_cluster(data: &Path, as_root: bool) {
    run(pg_command_as("initdb", as_root).args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "-D"]).arg(data));
}

/// Starts a cluster on 127.0.0.1:`port` (socket and log under `root`),
/// waiting until it accepts connections.
fn start_cluster(root: &Path, data: &Path, port: u16, as_root: bool) {
    let options = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=300 -k {}",
        root.display()
    );
    run(pg_command_as("pg_ctl", as_root)
        .args(["start", "-w", "-D"])
        .arg(data)
        .args(["-l"])
        .arg(root.join("log"))
        .args(["-o", &options]));
}

/// A PostgreSQL cluster of one test's own, which the test may stop and
/// start (fault injection) without disturbing others; removed on drop.
#[derive(Debug)]
pub struct PgCluster {
    root: PathBuf,
    port: u16,
    as_root: bool,
}

impl PgCluster {
    pub fn start_new() -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let root = std::env::temp_dir().join(format!("attain-pg-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("data")).unwrap_or_else(|e| panic!("{}: {e}", root.display())); // ok: test support
        let as_root = running_as_root();
        if as_root {
            chown_postgres(&root);
        }
        init_cluster(&root.join("data"), as_root);
        let cluster = Self { root, port: free_port(), as_root };
        cluster.start();
        cluster
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `db` (created with [`PgCluster::create_database`]).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    pub async fn create_database(&self, db: &str) {
        let admin = Database::connect(self.url("postgres")).await.unwrap_or_else(|e| panic!("{e}")); // ok: test support
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{db}\""))
            .await
            .unwrap_or_else(|e| panic!("create {db}: {e}")); // ok: test support
        let _ = admin.close().await;
    }

    /// Stops at once, like a crash: open connections are cut.
    pub fn stop(&self) {
        run(pg_command_as("pg_ctl", self.as_root).args(["stop", "-m", "immediate", "-D"]).arg(self.root.join("data")));
    }

    pub fn start(&self) {
        start_cluster(&self.root, &self.root.join("data"), self.port, self.as_root);
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = pg_command_as("pg_ctl", self.as_root)
            .args(["stop", "-m", "immediate", "-D"])
            .arg(self.root.join("data"))
            .output();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn admin_url(port: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/postgres")
}

fn pg_bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("ATTAIN_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(Result::ok).map(|e| e.path().join("bin")).filter(|p| p.join("initdb").exists()).collect())
        .unwrap_or_default();
    versions.sort();
    versions.pop().unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"))
}

fn pg_command(tool: &str) -> Command {
    pg_command_as(tool, running_as_root())
}

fn pg_command_as(tool: &str, as_root: bool) -> Command {
    let bin = pg_bin_dir().join(tool);
    if as_root {
        // initdb and postgres refuse to run as root.
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn chown_postgres(path: &Path) {
    run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(path));
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}")); // ok: test support
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(55432)
}

/// Runs a test body once per backend: `both_backends!(name);` expects an
/// `async fn name(backend: Backend)` in scope and generates `name::sqlite`
/// and `name::postgres` tests.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::testing::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::testing::Backend::Postgres).await
                }
            }
        )+
    };
}

/// Role shortcut for tests.
pub use crate::auth::Role as TestRole;

/// Asserts that a server answers grpc.health.v1 with SERVING overall and
/// for each named service, and that reflection (v1) lists them all.
pub async fn assert_health_and_reflection(channel: tonic::transport::Channel, services: &[&str]) {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };

    let mut health = HealthClient::new(channel.clone());
    for service in std::iter::once(&"").chain(services) {
        let status = health
            .check(HealthCheckRequest { service: (*service).to_owned() })
            .await
            .unwrap_or_else(|e| panic!("health of {service:?}: {e}")) // ok: test support
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "health of {service:?}");
    }

    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap_or_else(|e| panic!("reflection: {e}")) // ok: test support
        .into_inner();
    let response = stream.message().await.ok().flatten().unwrap_or_else(|| panic!("reflection sent nothing")); // ok: test support
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer {response:?}") // ok: test support
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    for expected in services.iter().chain(&["grpc.health.v1.Health"]) {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from reflection's {names:?}");
    }
}

/// A file holding a fresh notify secrets key (32 bytes, base64), made once
/// per test process.
pub fn notify_key_file() -> String {
    static FILE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        use base64::Engine;
        let key: Vec<u8> =
            uuid::Uuid::new_v4().as_bytes().iter().chain(uuid::Uuid::new_v4().as_bytes()).copied().collect();
        let path = std::env::temp_dir().join(format!("attain-notify-{}.key", uuid::Uuid::new_v4().simple()));
        std::fs::write(&path, base64::engine::general_purpose::STANDARD.encode(key)).unwrap(); // ok: test support
        path.display().to_string()
    })
    .clone()
}

/// The organisation the benchmarks measure: company "acme", one region
/// "region-a" with `reps` reps ("rep-0", …), and plan "fy2024" (CNY,
/// `base_amount`) split evenly down both levels and published.
pub async fn seed_flat_region(target: tonic::transport::Channel, reps: usize, base_amount: &str) {
    use attain_proto::attain::{
        common::v1::Money,
        target::v1::{self as tpb, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient},
    };
    fn authed<T>(msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        let bearer = format!("Bearer {}", token("bench", Role::Admin, ""));
        r.metadata_mut().insert("authorization", bearer.parse().unwrap()); // ok: test support
        r
    }
    let mut org = OrgServiceClient::new(target.clone());
    let unit = |id: &str, parent: &str, kind: tpb::UnitKind| tpb::CreateUnitRequest {
        unit: Some(tpb::Unit {
            parent: parent.into(),
            kind: kind as i32,
            display_name: id.into(),
            ..Default::default()
        }),
        unit_id: id.into(),
        request_id: String::new(),
    };
    org.create_unit(authed(unit("acme", "", tpb::UnitKind::Company))).await.unwrap(); // ok: test support
    org.create_unit(authed(unit("region-a", "units/acme", tpb::UnitKind::Region))).await.unwrap(); // ok: test support
    for r in 0..reps {
        org.create_unit(authed(unit(&format!("rep-{r}"), "units/region-a", tpb::UnitKind::Rep))).await.unwrap(); // ok: test support
    }
    let mut t = TargetServiceClient::new(target);
    let plan = tpb::CreatePlanRequest {
        plan: Some(tpb::Plan {
            display_name: "FY2024".into(),
            top_unit: "units/acme".into(),
            fiscal_year: 2024,
            currency_code: "CNY".into(),
            base_amount: Some(Money { currency_code: "CNY".into(), amount: base_amount.into() }),
            ..Default::default()
        }),
        plan_id: "fy2024".into(),
        request_id: String::new(),
    };
    t.create_plan(authed(plan)).await.unwrap(); // ok: test support
    for parent in ["acme", "region-a"] {
        let split = tpb::DecomposeTargetRequest {
            parent_target: format!("plans/fy2024/targets/{parent}"),
            strategy: tpb::SplitStrategy::Equal as i32,
            ..Default::default()
        };
        t.decompose_target(authed(split)).await.unwrap(); // ok: test support
    }
    let publish = tpb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() };
    t.publish_plan(authed(publish)).await.unwrap(); // ok: test support
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_replaces_the_path() {
        assert_eq!(super::with_database("postgres://p@h:5/postgres", "x"), "postgres://p@h:5/x");
        assert_eq!(
            super::with_database("postgres://p@h:5/postgres?sslmode=disable", "x"),
            "postgres://p@h:5/x?sslmode=disable"
        );
        assert_eq!(super::with_database("postgres://p@h:5", "x"), "postgres://p@h:5/x");
    }
}
