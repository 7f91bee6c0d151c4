//! `attain up` starts the whole suite from one command: every service and
//! the gateway answer health checks, and SIGTERM stops them all.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

fn free_base_port() -> u16 {
    // Five consecutive free ports, probed, below the kernel's ephemeral
    // range (32768+ by default): other tests bind port 0 in parallel, and a
    // port picked from that range can be taken before `attain` binds it.
    for _ in 0..200 {
        let p = 20_000 + (uuid::Uuid::new_v4().as_u128() % 12_000) as u16;
        if (0..5).all(|i| std::net::TcpListener::bind(("127.0.0.1", p + i)).is_ok()) {
            return p;
        }
    }
    panic!("no five free ports in a row");
}

/// `attain <command>` on a fresh data directory and free ports, its stdout
/// collected line by line; returns once a line contains `ready`.
struct Suite {
    child: std::process::Child,
    data: std::path::PathBuf,
    base: u16,
    /// The gateway's `/metrics` port; the services' follow.
    metrics: u16,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Suite {
    fn start(command: &str, rust_log: &str, ready: &str) -> Self {
        let data =
            std::env::temp_dir().join(format!("attain-{command}-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
        let (base, metrics) = (free_base_port(), free_base_port());
        let mut child = Command::new(env!("CARGO_BIN_EXE_attain"))
            .args(["--data-dir", data.to_str().unwrap(), command, "--base-port", &base.to_string()])
            .args(["--metrics-base-port", &metrics.to_string()])
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (collected, stdout, marker) = (lines.clone(), child.stdout.take().unwrap(), ready.to_owned());
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains(&marker) {
                    let _ = ready_tx.send(());
                }
                collected.lock().unwrap().push(line);
            }
        });
        let started = ready_rx.recv_timeout(Duration::from_secs(60));
        assert!(started.is_ok(), "attain {command} never printed {ready:?}: {:?}", lines.lock().unwrap());
        Self { child, data, base, metrics, lines }
    }

    fn printed(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn sigterm(&self) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
    }
}

impl Drop for Suite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_serves_every_service_and_stops_on_sigterm() {
    let mut suite = Suite::start("up", "warn", "Ctrl-C stops everything");
    let printed = suite.printed();
    assert!(printed.iter().any(|l| l.contains("Admin token")), "{printed:?}");
    let base = suite.base;
    for port in base..base + 4 {
        let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut health = HealthClient::new(channel);
        let status = health.check(HealthCheckRequest { service: String::new() }).await.unwrap().into_inner().status;
        assert_eq!(status, ServingStatus::Serving as i32, "port {port}");
    }
    // `/metrics` where it was asked for, each service at its offset.
    let m = suite.metrics;
    let line = printed.iter().find(|l| l.contains("/metrics (gateway)")).cloned().unwrap_or_default();
    assert!(line.contains(&format!("127.0.0.1:{m}/metrics (gateway)")), "{line}");
    assert!(line.contains(&format!("127.0.0.1:{}/metrics (tracking)", m + 2)), "{line}");
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", m + 2)).unwrap();
    std::io::Write::write_all(&mut conn, b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut body = String::new();
    std::io::Read::read_to_string(&mut conn, &mut body).unwrap();
    assert!(body.starts_with("HTTP/1.0 200") || body.starts_with("HTTP/1.1 200"), "{body}");
    suite.sigterm();
    let started = Instant::now();
    loop {
        if let Some(status) = suite.child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "attain up did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `attain demo` loads the guide's example: rep 1 stands at 40,000 of
/// 100,000 on January 16th, RED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_loads_the_guides_example() {
    use attain_proto::attain::tracking::v1::{GetAttainmentRequest, tracking_service_client::TrackingServiceClient};

    let suite = Suite::start("demo", "warn", "Demo data loaded");
    let (data, base) = (suite.data.clone(), suite.base);
    let token = Command::new(env!("CARGO_BIN_EXE_attain"))
        .args(["--data-dir", data.to_str().unwrap(), "token", "--role", "rep", "--unit", "rep-1", "--person", "rep-1"])
        .output()
        .unwrap();
    let token = String::from_utf8(token.stdout).unwrap();
    let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{}", base + 2))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut request = tonic::Request::new(GetAttainmentRequest {
        unit: "units/rep-1".into(),
        period: "2024-01".into(),
        ..Default::default()
    });
    request.metadata_mut().insert("authorization", format!("Bearer {}", token.trim()).parse().unwrap());
    let a = TrackingServiceClient::new(channel).get_attainment(request).await.unwrap().into_inner();
    assert_eq!((a.actual.unwrap().amount.as_str(), a.target.unwrap().amount.as_str()), ("40000.00", "100000.00"));
    assert_eq!(a.status, attain_proto::attain::common::v1::Status::Red as i32);

    // `attain import` through the gateway: a good file, then a bad row.
    let attain = |args: &[&str]| {
        let mut all = vec!["--data-dir", data.to_str().unwrap()];
        all.extend_from_slice(args);
        Command::new(env!("CARGO_BIN_EXE_attain")).args(all).env("RUST_LOG", "off").output().unwrap()
    };
    let admin = String::from_utf8(attain(&["token", "--role", "admin", "--person", "ops"]).stdout).unwrap();
    let gateway = format!("http://127.0.0.1:{base}");
    let csv = data.join("january.csv");
    std::fs::write(&csv, "rep,date,amount,customer,request id\nrep-1,2024-01-16,5000.00,命令行客户,cli-1\n").unwrap();
    let out = attain(&["import", csv.to_str().unwrap(), "--gateway", &gateway, "--token", admin.trim()]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("1 deals and 0 lost deals stored"), "{stdout}");
    assert!(stdout.contains("header on row 1") && stdout.contains("→ customer"), "the summary: {stdout}");
    assert!(stderr.contains("100%"), "a progress bar: {stderr}");
    let mut request = tonic::Request::new(GetAttainmentRequest {
        unit: "units/rep-1".into(),
        period: "2024-01".into(),
        ..Default::default()
    });
    request.metadata_mut().insert("authorization", format!("Bearer {}", token.trim()).parse().unwrap());
    let channel = tonic::transport::Channel::from_shared(gateway.clone()).unwrap().connect().await.unwrap();
    let a = TrackingServiceClient::new(channel.clone()).get_attainment(request).await.unwrap().into_inner();
    assert_eq!(a.actual.unwrap().amount, "45000.00");
    std::fs::write(&csv, "rep,date,amount\nrep-1,2024-01-16,lots\n").unwrap();
    let out = attain(&["import", csv.to_str().unwrap(), "--gateway", &gateway, "--token", admin.trim()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("row 2") && stderr.contains("amount"), "{stderr}");

    // `attain report`: region A's January review as XLSX and Markdown.
    use attain_proto::attain::review::v1::{ListReviewsRequest, review_service_client::ReviewServiceClient};
    let mut request = tonic::Request::new(ListReviewsRequest { unit: "units/region-a".into(), ..Default::default() });
    request.metadata_mut().insert("authorization", format!("Bearer {}", admin.trim()).parse().unwrap());
    let reviews = ReviewServiceClient::new(channel).list_reviews(request).await.unwrap().into_inner();
    let review = &reviews.reviews.iter().find(|r| r.unit == "units/region-a").unwrap().name;
    let xlsx = data.join("report.xlsx");
    let out = attain(&[
        "report",
        review,
        "--format",
        "xlsx",
        "--out",
        xlsx.to_str().unwrap(),
        "--gateway",
        &gateway,
        "--token",
        admin.trim(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(&std::fs::read(&xlsx).unwrap()[..2], b"PK", "an XLSX (zip) file");
    let md = data.join("report.md");
    let out = attain(&[
        "report",
        review,
        "--lang",
        "en",
        "--out",
        md.to_str().unwrap(),
        "--gateway",
        &gateway,
        "--token",
        admin.trim(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&md).unwrap().contains("Region A"));

    // A failed command says what failed and what to do, not the status's
    // debug form; --verbose adds the status.
    let out = attain(&["report", "reviews/nope", "--gateway", &gateway, "--token", admin.trim()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.starts_with("attain: writing the report of reviews/nope: "), "{stderr}");
    assert!(stderr.contains("Check the name") || stderr.contains("token whose unit covers it"), "{stderr}");
    assert!(!stderr.contains("Status {") && !stderr.contains("code: "), "{stderr}");
    let out = attain(&["report", "reviews/nope", "--verbose", "--gateway", &gateway, "--token", "not-a-token"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("you are not signed in") && stderr.contains("attain token"), "{stderr}");
    assert!(stderr.contains("gRPC status: Unauthenticated (16)"), "{stderr}");
}

/// Bad starts fail with a clear message and a non-zero exit, leaving
/// nothing running.
#[test]
fn bad_starts_fail_clearly() {
    let base = free_base_port();
    let busy = std::net::TcpListener::bind(("127.0.0.1", base + 1)).unwrap();
    let data = std::env::temp_dir().join(format!("attain-busy-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_attain"))
        .args(["--data-dir", data.to_str().unwrap(), "up", "--base-port", &base.to_string()])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    drop(busy);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("target service") && err.contains("already in use"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_attain"))
        .args(["--data-dir", "/proc/attain-cannot-write-here", "up", "--base-port", &base.to_string()])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("cannot create data directory"), "{err}");
    let _ = std::fs::remove_dir_all(&data);
}

/// One service alone (`attain serve`, `attain migrate`) takes its
/// configuration from APP__… variables; a bad key or an unreachable
/// database fails clearly, without a panic.
#[test]
fn one_service_alone_and_its_migrations() {
    let data = std::env::temp_dir().join(format!("attain-alone-{}", std::process::id()));
    std::fs::create_dir_all(&data).unwrap();
    let db = format!("sqlite://{}/target.db?mode=rwc", data.display());
    let out = Command::new(env!("CARGO_BIN_EXE_attain"))
        .args(["migrate", "target"])
        .env("APP__DATABASE__URL", &db)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("target: migrations applied"));

    let out = Command::new(env!("CARGO_BIN_EXE_attain"))
        .args(["serve", "target"])
        .env("APP__DATABASE__URL", &db)
        .env("APP__SERVER__PORTT", "1")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("portt"), "names the unknown key: {err}");

    let out = Command::new(env!("CARGO_BIN_EXE_attain"))
        .args(["serve", "tracking"])
        .env("APP__DATABASE__URL", "postgres://postgres@127.0.0.1:1/nowhere")
        .env("APP__DATABASE__CONNECT_TIMEOUT_MS", "2000")
        .env("APP__UPSTREAM__TARGET_URL", "http://127.0.0.1:1")
        .env("APP__AUTH__HS256_SECRET", "x-secret-for-this-test-only-0123")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("database") && !err.contains("panicked"), "{err}");
    let _ = std::fs::remove_dir_all(&data);
}

/// One dashboard call is followed through every service by its request id:
/// each service's log lines for it carry the id the caller sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_follows_one_dashboard_call_through_every_service() {
    use attain_proto::attain::gateway::v1::{GetDashboardRequest, gateway_service_client::GatewayServiceClient};

    let suite = Suite::start("demo", "info,tower_http=debug", "Demo data loaded");
    let (data, base) = (suite.data.clone(), suite.base);
    let token = Command::new(env!("CARGO_BIN_EXE_attain"))
        .args(["--data-dir", data.to_str().unwrap(), "token", "--role", "admin", "--person", "ops"])
        .output()
        .unwrap();
    let token = String::from_utf8(token.stdout).unwrap();
    let channel =
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{base}")).unwrap().connect().await.unwrap();
    let mut request = tonic::Request::new(GetDashboardRequest {
        unit: "units/region-a".into(),
        period: "2024-01".into(),
        ..Default::default()
    });
    request.metadata_mut().insert("authorization", format!("Bearer {}", token.trim()).parse().unwrap());
    request.metadata_mut().insert("x-request-id", "trace-e2e-42".parse().unwrap());
    let reply = GatewayServiceClient::new(channel).get_dashboard(request).await.unwrap();
    assert_eq!(reply.metadata().get("x-request-id").unwrap(), "trace-e2e-42");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let lines = suite.printed();
    let traced: Vec<&String> = lines.iter().filter(|l| l.contains("trace-e2e-42")).collect();
    for method in [
        "/attain.gateway.v1.GatewayService/GetDashboard",
        "/attain.target.v1.OrgService/GetUnit",
        "/attain.tracking.v1.TrackingService/GetDashboardFigures",
        "/attain.review.v1.ReviewService/ListReviews",
        // Tracking's own call to target, on the caller's behalf, keeps the id too.
        "/attain.target.v1.TargetService/BatchGetExpectedAmounts",
    ] {
        assert!(
            traced.iter().any(|l| l.contains(method)),
            "no log line of {method} carries the request id:\n{traced:#?}"
        );
    }
}
