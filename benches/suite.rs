//! The benchmark suite: all of Attain as release-built `attain serve`
//! processes on PostgreSQL, a synthetic organisation (1 company, 10 regions,
//! 100 teams, 2,000 reps), and each figure printed beside a baseline
//! measured in the same run on the same machine:
//!
//! - cold start to SERVING of each service (migrations on an empty
//!   database included) and each process's RSS idle and under load;
//! - ingestion rows/s through BatchCreateDeals and StreamDeals (request ids,
//!   roll-ups, booked paths on; the alert evaluator following the feed) vs
//!   a raw `COPY` of the same rows, and the same stream into a tracking
//!   service on SQLite; deal commit → the alert change it causes, probed
//!   during the stream; tracking's bytes per deal before and after pruning;
//! - the dashboard (through the gateway) at 1, 16 and 64 calls in flight,
//!   calls/s and p50/p99/p999, vs a tonic hello-world server (health Check),
//!   cached (whole, and with the summary read mask) and uncached;
//! - the mixed workload (`support/mixed.rs`): StreamDeals without pause
//!   while 16 readers open dashboards of random units through the caching
//!   gateway, with deal commit → dashboard and → alert probes;
//! - the scale curve: the company dashboard, uncached, at each deal count
//!   (default 100k, 1M, 10M; loaded by SQL), beside a hand-written SQL
//!   aggregate over the raw deals for the same figures; and a region
//!   dashboard asked by its manager vs by an admin.
//!
//! `cargo bench -p attain --bench suite`. Smaller runs:
//! `ATTAIN_BENCH_SMOKE=1` (a 40-rep org, 2,000 deals, scale 10k/20k/40k,
//! 1 s per figure: what CI runs), or `ATTAIN_BENCH_SCALE=100000,1000000`,
//! `ATTAIN_BENCH_DEALS` (ingested through the API), `ATTAIN_BENCH_SECONDS`,
//! `ATTAIN_BENCH_MIXED_SECONDS` (60; 3 in the smoke run), `ATTAIN_BENCH_ORG`
//! ("regions,teams per region,reps per team"; default "10,10,20").
//! `ATTAIN_BENCH_HOLD=1` stops after seeding and loading, prints the ports
//! and an admin token, and keeps the suite up for profiling by hand.
//! Uses the PostgreSQL the tests use (ATTAIN_TEST_POSTGRES_URL, a server on
//! 127.0.0.1:5432, or a throwaway one). Timings are f64 seconds: they are
//! measurements, never money.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_precision_loss)]

#[path = "support/mixed.rs"]
mod mixed;
#[allow(dead_code)]
#[path = "../tests/e2e/support/process.rs"]
mod process;

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use attain_kit::{
    auth::Role,
    testing::{Backend, fresh_database_url, token},
};
use attain_proto::attain::{
    common::v1::Money,
    gateway::v1::{GetDashboardRequest, SectionState, gateway_service_client::GatewayServiceClient},
    target::v1::{self as tpb, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use process::{Proc, free_port, serve};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use tonic::{Request, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

/// What one run covers.
#[derive(Clone)]
struct Sizes {
    regions: usize,
    teams_per_region: usize,
    reps_per_team: usize,
    /// Deals ingested through the API (half batch, half stream).
    api_deals: usize,
    /// Deal counts of the scale curve.
    scale: Vec<usize>,
    /// Rows of the CSV `attain import` sends.
    import_rows: usize,
    seconds: u64,
    /// Length of the mixed workload (readers and a writer at once).
    mixed_seconds: u64,
}

impl Sizes {
    fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let smoke = var("ATTAIN_BENCH_SMOKE").is_some_and(|v| v != "0");
        let mut s = if smoke {
            Sizes {
                regions: 2,
                teams_per_region: 2,
                reps_per_team: 10,
                api_deals: 2_000,
                scale: vec![10_000, 20_000, 40_000],
                import_rows: 2_000,
                seconds: 1,
                mixed_seconds: 3,
            }
        } else {
            Sizes {
                regions: 10,
                teams_per_region: 10,
                reps_per_team: 20,
                api_deals: 100_000,
                scale: vec![100_000, 1_000_000, 10_000_000],
                import_rows: 1_000_000,
                seconds: 5,
                mixed_seconds: 60,
            }
        };
        if let Some(v) = var("ATTAIN_BENCH_SCALE") {
            s.scale = v.split(',').map(|x| x.trim().parse().unwrap()).collect();
        }
        if let Some(v) = var("ATTAIN_BENCH_DEALS") {
            s.api_deals = v.parse().unwrap();
        }
        if let Some(v) = var("ATTAIN_BENCH_IMPORT_ROWS") {
            s.import_rows = v.parse().unwrap();
        }
        if let Some(v) = var("ATTAIN_BENCH_SECONDS") {
            s.seconds = v.parse().unwrap();
        }
        if let Some(v) = var("ATTAIN_BENCH_ORG") {
            // "regions,teams per region,reps per team", e.g. "10,100,50"
            // for the capacity model's 50,000 reps.
            let n: Vec<usize> = v.split(',').map(|x| x.trim().parse().unwrap()).collect();
            assert_eq!(n.len(), 3, "ATTAIN_BENCH_ORG is regions,teams_per_region,reps_per_team");
            (s.regions, s.teams_per_region, s.reps_per_team) = (n[0], n[1], n[2]);
        }
        if let Some(v) = var("ATTAIN_BENCH_MIXED_SECONDS") {
            s.mixed_seconds = v.parse().unwrap();
        }
        s
    }
    fn teams(&self) -> usize {
        self.regions * self.teams_per_region
    }
    fn reps(&self) -> usize {
        self.teams() * self.reps_per_team
    }
}

fn as_admin<T>(msg: T) -> Request<T> {
    authed(&token("bench", Role::Admin, ""), msg)
}

fn authed<T>(bearer: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {bearer}").parse().unwrap());
    r
}

async fn connect(port: u16) -> Channel {
    Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .tcp_nodelay(true)
        .initial_stream_window_size(attain_kit::server::STREAM_WINDOW)
        .initial_connection_window_size(attain_kit::server::CONNECTION_WINDOW)
        .connect()
        .await
        .unwrap()
}

/// Time from spawning a process to its SERVING, polled every 5 ms.
async fn ready(port: u16, since: Instant) -> Duration {
    loop {
        if process::health(port).await == Some(ServingStatus::Serving) {
            return since.elapsed();
        }
        assert!(since.elapsed() < Duration::from_secs(120), "port {port} never became SERVING");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Resident set size of a process, in MiB.
fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

struct Service {
    name: &'static str,
    port: u16,
    proc: Proc,
    cold_start: Duration,
}

async fn start(name: &'static str, dir: &std::path::Path, env: &[(&str, String)]) -> Service {
    let port = free_port();
    let since = Instant::now();
    let proc = serve(name, port, dir, env);
    let cold_start = ready(port, since).await;
    Service { name, port, proc, cold_start }
}

fn cny(cents: u64) -> Option<Money> {
    Some(Money { currency_code: "CNY".into(), amount: format!("{}.{:02}", cents / 100, cents % 100) })
}

/// Deterministic deal `i`: rep, day of the first half of 2024, cents.
fn deal(sizes: &Sizes, i: usize) -> (usize, chrono::NaiveDate, u64) {
    let x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
    let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Duration::days((x % 182) as i64);
    (i % sizes.reps(), day, 10_000 + x % 5_000_000)
}

fn deal_request(sizes: &Sizes, i: usize) -> kpb::CreateDealRequest {
    let (rep, day, cents) = deal(sizes, i);
    kpb::CreateDealRequest {
        deal: Some(kpb::Deal {
            rep: format!("units/rep-{rep}"),
            amount: cny(cents),
            close_date: day.to_string(),
            ..Default::default()
        }),
        request_id: format!("api-{i}"),
    }
}

/// `attain import` of a CSV of `sizes.import_rows` deals (Chinese titles,
/// one rep per row in turn, days of May) through the gateway, as a
/// sales-ops lead runs it: seconds end to end (both passes: the check and
/// the store), and the peak RSS of the importing process and of tracking
/// while it ran, sampled every 20 ms.
async fn import_file(sizes: &Sizes, dir: &std::path::Path, gateway: u16, tracking_pid: u32) -> (f64, f64, f64) {
    use std::io::Write as _;
    let path = dir.join("import.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        writeln!(f, "成交日期,销售代表,客户名称,成交金额").unwrap();
        for i in 0..sizes.import_rows {
            let day = 1 + i % 31;
            writeln!(
                f,
                "2024-05-{day:02},rep-{},客户{},\"{},{:03}.{:02}\"",
                i % sizes.reps(),
                i % 997,
                1 + i % 90,
                i % 1000,
                i % 100
            )
            .unwrap();
        }
    }
    let t = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_attain"))
        .args(["import", path.to_str().unwrap(), "--gateway", &format!("http://127.0.0.1:{gateway}")])
        .args(["--token", &token("bench", Role::Admin, "")])
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (mut client, mut server) = (0.0f64, 0.0f64);
    let status = loop {
        client = client.max(rss_mib(child.id()));
        server = server.max(rss_mib(tracking_pid));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "attain import of {} rows failed", sizes.import_rows);
    (t.elapsed().as_secs_f64(), client, server)
}

/// The synthetic organisation and its published plan, through the API.
async fn seed_org(sizes: &Sizes, target: Channel) {
    let mut org = OrgServiceClient::new(target.clone());
    let mut t = TargetServiceClient::new(target);
    let unit = |id: String, parent: String, kind: tpb::UnitKind| tpb::CreateUnitRequest {
        unit: Some(tpb::Unit { parent, kind: kind as i32, display_name: id.clone(), ..Default::default() }),
        unit_id: id,
        request_id: String::new(),
    };
    org.create_unit(as_admin(unit("acme".into(), String::new(), tpb::UnitKind::Company))).await.unwrap();
    for r in 0..sizes.regions {
        org.create_unit(as_admin(unit(format!("region-{r}"), "units/acme".into(), tpb::UnitKind::Region)))
            .await
            .unwrap();
    }
    for team in 0..sizes.teams() {
        let parent = format!("units/region-{}", team / sizes.teams_per_region);
        org.create_unit(as_admin(unit(format!("team-{team}"), parent, tpb::UnitKind::Team))).await.unwrap();
    }
    for rep in 0..sizes.reps() {
        let parent = format!("units/team-{}", rep / sizes.reps_per_team);
        org.create_unit(as_admin(unit(format!("rep-{rep}"), parent, tpb::UnitKind::Rep))).await.unwrap();
    }
    // The alert-latency probe's rep: the generated deals never go to it.
    for probe in [PROBE, SEEN_PROBE] {
        org.create_unit(as_admin(unit(probe.into(), "units/team-0".into(), tpb::UnitKind::Rep))).await.unwrap();
    }
    t.create_plan(as_admin(tpb::CreatePlanRequest {
        plan: Some(tpb::Plan {
            display_name: "FY2024".into(),
            top_unit: "units/acme".into(),
            fiscal_year: 2024,
            currency_code: "CNY".into(),
            base_amount: cny(100_000_000_000), // 1,000,000,000.00
            ..Default::default()
        }),
        plan_id: "fy2024".into(),
        request_id: String::new(),
    }))
    .await
    .unwrap();
    let parents = std::iter::once("acme".to_owned())
        .chain((0..sizes.regions).map(|r| format!("region-{r}")))
        .chain((0..sizes.teams()).map(|t| format!("team-{t}")));
    for parent in parents {
        t.decompose_target(as_admin(tpb::DecomposeTargetRequest {
            parent_target: format!("plans/fy2024/targets/{parent}"),
            strategy: tpb::SplitStrategy::Equal as i32,
            ..Default::default()
        }))
        .await
        .unwrap();
    }
    t.publish_plan(as_admin(tpb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() }))
        .await
        .unwrap();
}

/// Rows/s of BatchCreateDeals (500 a call) over deals [from, to).
async fn ingest_batch(sizes: &Sizes, tracking: Channel, from: usize, to: usize) -> f64 {
    let mut client = TrackingServiceClient::new(tracking).max_encoding_message_size(64 << 20);
    let bearer = token("bench", Role::Admin, "");
    let started = Instant::now();
    for chunk in (from..to).collect::<Vec<_>>().chunks(500) {
        let requests = chunk.iter().map(|&i| deal_request(sizes, i)).collect();
        client.batch_create_deals(authed(&bearer, kpb::BatchCreateDealsRequest { requests })).await.unwrap();
    }
    (to - from) as f64 / started.elapsed().as_secs_f64()
}

/// The rep whose alert the latency probe watches.
const PROBE: &str = "rep-probe";
/// The rep whose dashboard the mixed workload's visibility probe reads.
const SEEN_PROBE: &str = "rep-seen";

/// Deal commit → the alert change it causes, while `busy` is set: every
/// 100 ms a 1.00 deal for the probe rep (far behind its June pace, so each
/// deal moves its open BEHIND_PACE alert's actual); the latency of deal k
/// is from its CreateDeal reply to the first alert event whose actual
/// covers it. Sorted latencies.
async fn alert_latency(tracking: Channel, busy: Arc<AtomicBool>, tag: &'static str) -> Vec<Duration> {
    let mut client = TrackingServiceClient::new(tracking);
    let bearer = token("bench", Role::Admin, "");
    // What the probe rep has sold this month before this run's deals.
    let month =
        kpb::GetAttainmentRequest { unit: format!("units/{PROBE}"), period: "2024-06".into(), ..Default::default() };
    let base: rust_decimal::Decimal = client
        .get_attainment(authed(&bearer, month))
        .await
        .unwrap()
        .into_inner()
        .actual
        .map(|m| m.amount.parse().unwrap())
        .unwrap_or_default();
    let mut watch = client
        .watch_alerts(authed(
            &bearer,
            kpb::WatchAlertsRequest { unit: format!("units/{PROBE}"), include_open: true, ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner();
    // The probe's actual before: its alert, once it is open.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(rust_decimal::Decimal, Instant)>();
    tokio::spawn(async move {
        while let Ok(Some(m)) = watch.message().await {
            if let Some(a) = m.alert.filter(|a| a.rule == kpb::AlertRule::BehindPace as i32) {
                let actual = a.actual.map(|m| m.amount.parse().unwrap()).unwrap_or_default();
                let _ = tx.send((actual, Instant::now()));
            }
        }
    });
    let mut sent: Vec<(rust_decimal::Decimal, Instant)> = Vec::new();
    let mut seen: Vec<(rust_decimal::Decimal, Instant)> = Vec::new();
    let mut k = 0u64;
    while busy.load(Ordering::Relaxed) {
        k += 1;
        let r = kpb::CreateDealRequest {
            deal: Some(kpb::Deal {
                rep: format!("units/{PROBE}"),
                amount: cny(100),
                close_date: "2024-06-28".into(),
                ..Default::default()
            }),
            request_id: format!("probe-{tag}-{k}"),
        };
        client.create_deal(authed(&bearer, r)).await.unwrap();
        sent.push((base + rust_decimal::Decimal::from(k), Instant::now()));
        tokio::time::sleep(Duration::from_millis(100)).await;
        while let Ok(e) = rx.try_recv() {
            seen.push(e);
        }
    }
    let end = Instant::now() + Duration::from_secs(5);
    while let Ok(Some(e)) = tokio::time::timeout_at(end.into(), rx.recv()).await {
        seen.push(e);
    }
    let mut out: Vec<Duration> = sent
        .iter()
        .filter_map(|(total, at)| {
            seen.iter().find(|(actual, _)| actual >= total).map(|(_, t)| t.saturating_duration_since(*at))
        })
        .collect();
    out.sort();
    out
}

/// Bytes of tracking's tables and indexes per deal stored.
async fn bytes_per_deal(db: &DatabaseConnection) -> f64 {
    let q = |sql: &str| sea_orm::Statement::from_string(sea_orm::DbBackend::Postgres, sql.to_owned());
    let bytes: i64 = db
        .query_one_raw(q("SELECT SUM(pg_total_relation_size(c.oid))::bigint AS b FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "b")
        .unwrap();
    let deals: i64 =
        db.query_one_raw(q("SELECT COUNT(*) AS n FROM deals")).await.unwrap().unwrap().try_get("", "n").unwrap();
    bytes as f64 / deals.max(1) as f64
}

/// Rows/s of one StreamDeals over deals [from, to).
async fn ingest_stream(sizes: &Sizes, tracking: Channel, from: usize, to: usize) -> f64 {
    let requests: Vec<_> =
        (from..to).map(|i| kpb::StreamDealsRequest { request: Some(deal_request(sizes, i)) }).collect();
    let started = Instant::now();
    let report = TrackingServiceClient::new(tracking)
        .max_encoding_message_size(64 << 20)
        .stream_deals(as_admin(tokio_stream::iter(requests)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(usize::try_from(report.accepted).unwrap(), to - from, "{:?}", report.errors.first());
    (to - from) as f64 / started.elapsed().as_secs_f64()
}

/// Rows/s of a raw COPY of the same rows into a scratch table.
async fn copy_baseline(sizes: &Sizes, db: &DatabaseConnection, n: usize) -> f64 {
    use sea_orm::sqlx::postgres::PgPoolCopyExt;
    db.execute_unprepared(
        "CREATE TABLE IF NOT EXISTS copy_baseline (id TEXT, rep TEXT, amount_minor BIGINT, close_date DATE, request_id TEXT)",
    )
    .await
    .unwrap();
    let mut data = String::with_capacity(n * 48);
    for i in 0..n {
        let (rep, day, cents) = deal(sizes, i);
        data.push_str(&format!("d{i}\trep-{rep}\t{}\t{day}\tapi-{i}\n", cents * 100));
    }
    let started = Instant::now();
    let mut copy = db.get_postgres_connection_pool().copy_in_raw("COPY copy_baseline FROM STDIN").await.unwrap();
    copy.send(data.as_bytes()).await.unwrap();
    copy.finish().await.unwrap();
    n as f64 / started.elapsed().as_secs_f64()
}

/// Rows/s of a COPY of the same rows into tables shaped like the ones an
/// idempotent ingestion must write at the least (the deals table and the
/// request-id table, with their keys and indexes; no roll-ups, no service):
/// what keys and indexes alone cost against the raw COPY.
async fn storage_floor(sizes: &Sizes, db: &DatabaseConnection, n: usize) -> f64 {
    use sea_orm::sqlx::postgres::PgPoolCopyExt;
    db.execute_unprepared(
        "CREATE TABLE IF NOT EXISTS floor_deals (LIKE deals INCLUDING ALL); \
         CREATE TABLE IF NOT EXISTS floor_keys (LIKE idempotency_keys INCLUDING ALL)",
    )
    .await
    .unwrap();
    let (per_team, per_region) = (sizes.reps_per_team, sizes.reps_per_team * sizes.teams_per_region);
    let (mut deals, mut keys) = (String::with_capacity(n * 160), String::with_capacity(n * 400));
    // About the size of a stored reply (an encoded Deal).
    let reply = format!("\\\\x{}", "ab".repeat(150));
    for i in 0..n {
        let (rep, day, cents) = deal(sizes, i);
        let path = format!("/acme/region-{}/team-{}/rep-{rep}/", rep / per_region, rep / per_team);
        deals.push_str(&format!(
            "d{i}\trep-{rep}\t{cents}\tCNY\t{day}\t\t\t\t\tSALE\t\\N\t\\N\t{path}\tapi-{i}\tbench\t2024-06-30 00:00:00+00\n"
        ));
        keys.push_str(&format!("CreateDeal/api-{i}\t{i:064x}\t{reply}\t2024-06-30 00:00:00+00\n"));
    }
    let pool = db.get_postgres_connection_pool();
    let started = Instant::now();
    for (table, data) in [("floor_deals", &deals), ("floor_keys", &keys)] {
        let mut copy = pool.copy_in_raw(&format!("COPY {table} FROM STDIN")).await.unwrap();
        copy.send(data.as_bytes()).await.unwrap();
        copy.finish().await.unwrap();
    }
    n as f64 / started.elapsed().as_secs_f64()
}

/// Tops the deals table up to `total` rows with SQL and rebuilds the daily
/// roll-ups from them (what ingestion keeps incrementally).
async fn load_deals(sizes: &Sizes, db: &DatabaseConnection, have: usize, total: usize) {
    if total > have {
        let (reps, per_team, per_region) =
            (sizes.reps(), sizes.reps_per_team, sizes.reps_per_team * sizes.teams_per_region);
        db.execute_unprepared(&format!(
            "INSERT INTO deals (id, rep_id, amount_minor, currency_code, close_date, customer, product_line, \
             customer_type, opportunity, kind, reverses, reversed_by, booked_path, request_id, created_by, created_at) \
             SELECT 'bulk-' || g, 'rep-' || (g % {reps}), (10000 + (g::bigint * 7919) % 5000000) * 100, 'CNY', \
             DATE '2024-01-01' + (g % 182), 'c' || (g % 997), '', '', '', 'SALE', NULL, NULL, \
             '/acme/region-' || (g % {reps}) / {per_region} || '/team-' || (g % {reps}) / {per_team} || '/rep-' || (g % {reps}) || '/', \
             'bulk-' || g, 'bench', now() FROM generate_series({have}, {}) AS g",
            total - 1
        ))
        .await
        .unwrap();
    }
    db.execute_unprepared(
        "DELETE FROM rollups; \
         INSERT INTO rollups (unit_id, day, product_line, customer_type, amount_minor, deals_won) \
         SELECT u, close_date, '', '', SUM(amount_minor), COUNT(*) FROM deals \
         CROSS JOIN LATERAL unnest(string_to_array(trim(both '/' from booked_path), '/')) AS u \
         WHERE kind = 'SALE' GROUP BY u, close_date; \
         ANALYZE deals; ANALYZE rollups",
    )
    .await
    .unwrap();
}

/// A daily log for every rep on every weekday of the first half (two in
/// three at 17:00 their time, on time; the rest the next morning, late):
/// the reporting section reads one row per rep and day, as in a team that
/// keeps the rhythm.
async fn load_logs(sizes: &Sizes, db: &DatabaseConnection) {
    let (reps, per_team, per_region) =
        (sizes.reps(), sizes.reps_per_team, sizes.reps_per_team * sizes.teams_per_region);
    db.execute_unprepared(&format!(
        "INSERT INTO daily_logs (id, rep_id, booked_path, log_date, body, follow_ups, created_at)          SELECT 'log-' || r || '-' || d, 'rep-' || r,          '/acme/region-' || r / {per_region} || '/team-' || r / {per_team} || '/rep-' || r || '/',          DATE '2024-01-01' + d,          '{{\"currency\":\"\",\"follow_ups\":[],\"amount_closed\":\"0\",\"lost_deals\":[],\"notes\":\"\"}}', 0,          (DATE '2024-01-01' + d)::timestamp + CASE WHEN (r + d) % 3 = 0 THEN interval '25 hours' ELSE interval '9 hours' END          FROM generate_series(0, {last_rep}) AS r, generate_series(0, 181) AS d          WHERE extract(isodow FROM DATE '2024-01-01' + d) < 6;          ANALYZE daily_logs",
        last_rep = reps - 1,
    ))
    .await
    .unwrap();
}

/// Dashboards answered with a section missing (a backend past its share of
/// the deadline): counted and printed, never silently averaged in.
static DEGRADED: AtomicU64 = AtomicU64::new(0);

struct Figures {
    calls: usize,
    calls_per_second: f64,
    degraded: u64,
    p50: Duration,
    p99: Duration,
    p999: Duration,
}

/// A service's admin port's `/metrics`, as text.
async fn scrape(admin_port: u16) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", admin_port)).await.unwrap();
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).await.unwrap();
    text
}

/// A histogram's sum and count (one series, no labels) from `/metrics`.
fn histogram(text: &str, name: &str) -> (f64, f64) {
    let value = |suffix: &str| {
        let series = format!("{name}_{suffix} ");
        text.lines().find_map(|l| l.strip_prefix(series.as_str())).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0)
    };
    (value("sum"), value("count"))
}

/// The tracking service's alert evaluator between two scrapes: passes,
/// their mean duration and the mean commit → evaluation lag, in ms.
fn evaluator_between(before: &str, after: &str) -> (f64, f64, f64) {
    let delta = |name: &str| {
        let ((s0, c0), (s1, c1)) = (histogram(before, name), histogram(after, name));
        (s1 - s0, c1 - c0)
    };
    let (pass_s, passes) = delta("attain_tracking_alert_pass_seconds");
    let (lag_s, lags) = delta("attain_tracking_alert_lag_seconds");
    (passes, 1000.0 * pass_s / passes.max(1.0), 1000.0 * lag_s / lags.max(1.0))
}

/// RPCs a service has served, by method (`attain_rpc_requests_total` on
/// its admin port's `/metrics`, summed over codes).
async fn rpc_counts(admin_port: u16) -> std::collections::HashMap<String, u64> {
    let text = scrape(admin_port).await;
    let mut counts = std::collections::HashMap::new();
    for line in text.lines().filter(|l| l.starts_with("attain_rpc_requests_total{")) {
        let method = line.split("method=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or_default();
        let n: f64 = line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        *counts.entry(method.to_owned()).or_insert(0) += n as u64;
    }
    counts
}

/// Marks the start of a phase on stderr, so a profiler can be attached to
/// just that phase (`perf record -p …` when the line appears).
fn phase(name: &str) {
    eprintln!("phase: {name}");
}

/// `in_flight` workers calling `call(worker, i)` for `secs` seconds.
async fn measure<F, Fut>(in_flight: usize, secs: u64, call: F) -> Figures
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let until = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let workers: Vec<_> = (0..in_flight)
        .map(|w| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut times = Vec::new();
                let mut i = 0;
                while Instant::now() < until {
                    let t = Instant::now();
                    call(w, i).await;
                    times.push(t.elapsed());
                    i += 1;
                }
                times
            })
        })
        .collect();
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    let at = |p: f64| all[((all.len() as f64 - 1.0) * p).round() as usize];
    Figures {
        calls: all.len(),
        calls_per_second: all.len() as f64 / elapsed.as_secs_f64(),
        degraded: DEGRADED.swap(0, Ordering::Relaxed),
        p50: at(0.5),
        p99: at(0.99),
        p999: at(0.999),
    }
}

/// Dashboards of `unit` as `bearer`. With `vary`, the calls in flight ask
/// for different as-of days of the quarter (at most 91 in flight), so an
/// uncached gateway fans out on every call instead of sharing one.
fn dashboards(
    ch: Channel,
    bearer: String,
    unit: &'static str,
    vary: Option<usize>,
    mask: Option<&'static [&'static str]>,
) -> impl Fn(usize, usize) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static {
    move |w, i| {
        let mut c = GatewayServiceClient::new(ch.clone());
        let as_of = match vary {
            Some(in_flight) => {
                let day = chrono::NaiveDate::from_ymd_opt(2024, 4, 1).unwrap()
                    + chrono::Duration::days(((w + i * in_flight) % 91) as i64);
                day.to_string()
            }
            None => String::new(),
        };
        let mut q = dashboard_request(unit, as_of);
        q.read_mask = mask.map(|m| prost_types::FieldMask { paths: m.iter().map(|p| (*p).to_owned()).collect() });
        let r = authed(&bearer, q);
        Box::pin(async move {
            let d = c.get_dashboard(r).await.unwrap().into_inner();
            if d.children.is_empty() {
                assert!(
                    d.sections.iter().any(|s| s.state != SectionState::Ok as i32),
                    "no children yet every section whole: {d:?}"
                );
                DEGRADED.fetch_add(1, Ordering::Relaxed);
            }
        })
    }
}

/// Every section but the reporting one: the dashboard as it was before it
/// (what the reporting section costs, in the same run).
const WITHOUT_REPORTING: &[&str] = &[
    "display_name",
    "period",
    "attainment",
    "children",
    "burn_up",
    "gap_attribution",
    "open_alerts",
    "alert_summary",
    "top_loss_reasons",
    "open_action_items",
    "latest_review",
];

/// What a page showing alerts in brief asks for: every section but the
/// open alerts in full.
const SUMMARY_MASK: &[&str] = &[
    "display_name",
    "period",
    "attainment",
    "children",
    "burn_up",
    "gap_attribution",
    "alert_summary",
    "top_loss_reasons",
    "open_action_items",
    "latest_review",
    "compliance",
];

fn dashboard_request(unit: &str, as_of: String) -> GetDashboardRequest {
    GetDashboardRequest {
        unit: format!("units/{unit}"),
        period: "2024-Q2".into(),
        as_of_date: as_of,
        ..Default::default()
    }
}

/// The cached company dashboard with the reply's bytes received but not
/// decoded: the gateway's own capacity, without the load generator (on the
/// same cores) spending more on decoding each reply than the gateway spends
/// on sending it.
fn dashboard_bytes(
    ch: Channel,
    bearer: String,
) -> impl Fn(usize, usize) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static {
    move |_, _| {
        let mut grpc = tonic::client::Grpc::new(ch.clone());
        let r = authed(&bearer, dashboard_request("acme", String::new()));
        Box::pin(async move {
            grpc.ready().await.unwrap();
            let path =
                tonic::codegen::http::uri::PathAndQuery::from_static("/attain.gateway.v1.GatewayService/GetDashboard");
            let reply = grpc.unary(r, path, RawReply).await.unwrap().into_inner();
            assert!(reply.len() > 1_000, "a whole dashboard, not an error: {} bytes", reply.len());
        })
    }
}

/// Encodes the request; hands back the reply's bytes undecoded.
#[derive(Clone, Copy, Default)]
struct RawReply;

impl tonic::codec::Codec for RawReply {
    type Encode = GetDashboardRequest;
    type Decode = bytes::Bytes;
    type Encoder = RawReply;
    type Decoder = RawReply;
    fn encoder(&mut self) -> Self::Encoder {
        RawReply
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawReply
    }
}

impl tonic::codec::Encoder for RawReply {
    type Item = GetDashboardRequest;
    type Error = tonic::Status;
    fn encode(&mut self, item: Self::Item, dst: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), Self::Error> {
        prost::Message::encode(&item, dst).map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

impl tonic::codec::Decoder for RawReply {
    type Item = bytes::Bytes;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        use bytes::Buf;
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// p50 of a hand-written aggregate over the raw deals: the company's
/// regions' Q2 sums, as the dashboard shows them.
async fn sql_baseline(db: &DatabaseConnection, runs: usize) -> Duration {
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        db.execute_unprepared(
            "SELECT split_part(booked_path, '/', 3) AS region, SUM(amount_minor), COUNT(*) FROM deals \
             WHERE kind = 'SALE' AND close_date BETWEEN '2024-04-01' AND '2024-06-30' GROUP BY 1",
        )
        .await
        .unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let sizes = Sizes::from_env();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(run(sizes));
}

#[allow(clippy::too_many_lines)]
async fn run(sizes: Sizes) {
    let dir = std::env::temp_dir().join(format!("attain-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (target_db, tracking_db, review_db, sqlite_db) = (
        fresh_database_url(Backend::Postgres).await,
        fresh_database_url(Backend::Postgres).await,
        fresh_database_url(Backend::Postgres).await,
        fresh_database_url(Backend::Sqlite).await,
    );
    let today = ("APP__CLOCK__TODAY", "2024-06-30".to_owned());
    let url = |p: u16| format!("http://127.0.0.1:{p}");
    let big = ("APP__SERVER__MAX_MESSAGE_BYTES", (64 << 20).to_string());

    // Cold starts, one after another (each on an empty database).
    let target_admin = free_port();
    let target = start(
        "target",
        &dir,
        &[("APP__DATABASE__URL", target_db.clone()), ("APP__SERVER__ADMIN_PORT", target_admin.to_string())],
    )
    .await;
    let tracking_env = |db: &str| {
        vec![
            ("APP__DATABASE__URL", db.to_owned()),
            ("APP__UPSTREAM__TARGET_URL", url(target.port)),
            // Its alert evaluator runs, as in production.
            ("APP__JOBS__SERVICE_TOKEN", token("svc-tracking", Role::Admin, "")),
            ("APP__SERVER__ADMIN_PORT", free_port().to_string()),
            today.clone(),
            big.clone(),
        ]
    };
    let tracking_vars = tracking_env(&tracking_db);
    let tracking_admin = tracking_vars
        .iter()
        .find(|(k, _)| *k == "APP__SERVER__ADMIN_PORT")
        .map(|(_, v)| v.parse::<u16>().unwrap())
        .unwrap();
    let tracking = start("tracking", &dir, &tracking_vars).await;
    let review = start(
        "review",
        &dir,
        &[
            ("APP__DATABASE__URL", review_db.clone()),
            ("APP__UPSTREAM__TARGET_URL", url(target.port)),
            ("APP__UPSTREAM__TRACKING_URL", url(tracking.port)),
            today.clone(),
        ],
    )
    .await;
    let gateway_env = |ttl_ms: u64| {
        vec![
            ("APP__UPSTREAM__TARGET_URL", url(target.port)),
            ("APP__UPSTREAM__TRACKING_URL", url(tracking.port)),
            ("APP__UPSTREAM__REVIEW_URL", url(review.port)),
            ("APP__CACHE__DASHBOARD_TTL_MS", ttl_ms.to_string()),
            ("APP__SERVER__CONCURRENCY_LIMIT", "1024".to_owned()),
            // One load generator calls as one person, far past a person's
            // rate limit: the suite measures capacity, not the limit.
            ("APP__SERVER__RATE_LIMIT_PER_CALLER", "0".to_owned()),
            ("APP__JOBS__SERVICE_TOKEN", token("svc-gateway", Role::Admin, "")),
        ]
    };
    let gateway = start("gateway", &dir, &gateway_env(600_000)).await;
    let uncached = start("gateway", &dir, &gateway_env(0)).await;
    let sqlite = start("tracking", &dir, &tracking_env(&sqlite_db)).await;
    let services = [&target, &tracking, &review, &gateway];

    let seeding = Instant::now();
    seed_org(&sizes, connect(target.port).await).await;
    eprintln!(
        "seeded {} units and their targets in {:.1} s",
        1 + sizes.regions + sizes.teams() + sizes.reps(),
        seeding.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle: Vec<f64> = services.iter().map(|s| rss_mib(s.proc.0.id())).collect();

    // Ingestion: the API (batch, then stream) vs COPY; SQLite's stream.
    let db = Database::connect(tracking_db.as_str()).await.unwrap();
    let half = sizes.api_deals / 2;
    phase("ingestion: batch");
    let batch = ingest_batch(&sizes, connect(tracking.port).await, 0, half).await;
    phase("ingestion: stream, with the alert-latency probe");
    let busy = Arc::new(AtomicBool::new(true));
    let probe = tokio::spawn(alert_latency(connect(tracking.port).await, busy.clone(), "stream"));
    let calls_before = rpc_counts(target_admin).await;
    let evaluator_before = scrape(tracking_admin).await;
    let stream = ingest_stream(&sizes, connect(tracking.port).await, half, sizes.api_deals).await;
    busy.store(false, Ordering::Relaxed);
    // The target service's calls per thousand deals streamed (the alert
    // evaluator following the stream included).
    let stream_calls = {
        let after = rpc_counts(target_admin).await;
        let per_k = |m: &str| {
            let n = |c: &std::collections::HashMap<String, u64>| {
                c.iter().filter(|(k, _)| k.ends_with(m)).map(|(_, v)| *v).sum::<u64>()
            };
            (n(&after) - n(&calls_before)) as f64 * 1000.0 / (sizes.api_deals - half).max(1) as f64
        };
        (per_k(""), per_k("/BatchGetUnits"), per_k("/GetDataVersion"))
    };
    let latencies = probe.await.unwrap();
    let stream_evaluator = evaluator_between(&evaluator_before, &scrape(tracking_admin).await);
    // Storage per deal, then with feeds and request ids pruned (as after
    // their retention) and the tables rewritten.
    let bytes_before = bytes_per_deal(&db).await;
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let mut pruned = 0;
    for feed in attain_tracking::storage::feeds::Feed::ALL {
        while let n @ 1.. = attain_tracking::storage::feeds::prune(&db, feed, (later, i64::MAX), 10_000).await.unwrap()
        {
            pruned += n;
        }
    }
    while let n @ 1.. = attain_kit::idempotency::prune(&db, later, 10_000).await.unwrap() {
        pruned += n;
    }
    db.execute_unprepared("VACUUM FULL").await.unwrap();
    let bytes_after = bytes_per_deal(&db).await;
    let copy = copy_baseline(&sizes, &db, sizes.api_deals).await;
    let floor = storage_floor(&sizes, &db, sizes.api_deals).await;
    let sqlite_rows = sizes.api_deals / 4;
    let on_sqlite = ingest_stream(&sizes, connect(sqlite.port).await, 0, sqlite_rows).await;

    // Throughput by calls in flight at the first scale point.
    let mut have = sizes.api_deals;
    let first = sizes.scale.first().copied().unwrap_or(have).max(have);
    load_deals(&sizes, &db, have, first).await;
    load_logs(&sizes, &db).await;
    have = first;
    // Planner statistics as autovacuum keeps them in a running system (it
    // analyses a table within a minute of a bulk change; the suite does not
    // wait for it). Without them PostgreSQL takes a 2,000-row table for one
    // row and scans where an index would do: 1.5 ms instead of 0.05 ms
    // for the ten regions' unit rows.
    for url in [&target_db, &tracking_db, &review_db] {
        Database::connect(url.as_str()).await.unwrap().execute_unprepared("ANALYZE").await.unwrap();
    }
    if std::env::var("ATTAIN_BENCH_HOLD").is_ok_and(|v| v == "1") {
        // For profiling by hand: the seeded suite stays up until killed.
        eprintln!(
            "holding: gateway {} (uncached {}), target {}, tracking {}, review {}; admin token:\n{}",
            gateway.port,
            uncached.port,
            target.port,
            tracking.port,
            review.port,
            token("bench", Role::Admin, "")
        );
        std::future::pending::<()>().await;
    }
    let (_, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hello_port = listener.local_addr().unwrap().port();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(health)
            // TCP_NODELAY, as Attain's own servers set it: without it the
            // baseline's replies wait on delayed ACKs (p99 ≈ 44 ms).
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))),
    );
    let admin = token("bench", Role::Admin, "");
    let manager = token("region-0-manager", Role::Manager, "region-0");
    let (hello_ch, cached_ch, uncached_ch) =
        (connect(hello_port).await, connect(gateway.port).await, connect(uncached.port).await);
    let mut by_flight = Vec::new();
    // Calls the target service served per uncached dashboard at 16 in
    // flight: all, and those asking its data version.
    let mut target_calls = None;
    let peak: Arc<Vec<AtomicU64>> = Arc::new(services.iter().map(|_| AtomicU64::new(0)).collect());
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        let pids: Vec<u32> = services.iter().map(|s| s.proc.0.id()).collect();
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                for (i, pid) in pids.iter().enumerate() {
                    let kib = (rss_mib(*pid) * 1024.0) as u64;
                    peak[i].fetch_max(kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    for in_flight in [1, 16, 64] {
        let ch = hello_ch.clone();
        phase(&format!("hello-world, {in_flight} in flight"));
        let hello = measure(in_flight, sizes.seconds, move |_, _| {
            let mut c = HealthClient::new(ch.clone());
            async move {
                c.check(HealthCheckRequest { service: String::new() }).await.unwrap();
            }
        })
        .await;
        phase(&format!("cached dashboard, {in_flight} in flight"));
        let cached =
            measure(in_flight, sizes.seconds, dashboards(cached_ch.clone(), admin.clone(), "acme", None, None)).await;
        phase(&format!("cached dashboard, summary mask, {in_flight} in flight"));
        let summary = measure(
            in_flight,
            sizes.seconds,
            dashboards(cached_ch.clone(), admin.clone(), "acme", None, Some(SUMMARY_MASK)),
        )
        .await;
        phase(&format!("cached dashboard, bytes only, {in_flight} in flight"));
        let raw = measure(in_flight, sizes.seconds, dashboard_bytes(cached_ch.clone(), admin.clone())).await;
        phase(&format!("uncached dashboard, {in_flight} in flight"));
        let before = rpc_counts(target_admin).await;
        let fanned = measure(
            in_flight,
            sizes.seconds,
            dashboards(uncached_ch.clone(), admin.clone(), "acme", Some(in_flight), None),
        )
        .await;
        if in_flight == 16 {
            let after = rpc_counts(target_admin).await;
            let delta = |m: Option<&str>| {
                let sum = |c: &std::collections::HashMap<String, u64>| {
                    c.iter().filter(|(k, _)| m.is_none_or(|m| k.ends_with(m))).map(|(_, v)| *v).sum::<u64>()
                };
                (sum(&after) - sum(&before)) as f64 / fanned.calls.max(1) as f64
            };
            target_calls = Some((delta(None), delta(Some("/GetDataVersion"))));
        }
        phase(&format!("uncached dashboard without the reporting section, {in_flight} in flight"));
        let unreported = measure(
            in_flight,
            sizes.seconds,
            dashboards(uncached_ch.clone(), admin.clone(), "acme", Some(in_flight), Some(WITHOUT_REPORTING)),
        )
        .await;
        by_flight.push((in_flight, hello, cached, summary, raw, fanned, unreported));
    }
    sampling.store(false, Ordering::Relaxed);
    sampler.await.unwrap();
    // What one cached answer weighs on the wire (the hello-world reply is a
    // few bytes): most of the per-call cost is moving and decoding it.
    let reply_size = |mask: Option<&'static [&'static str]>| {
        let mut c = GatewayServiceClient::new(cached_ch.clone());
        let mut r = dashboard_request("acme", String::new());
        r.read_mask = mask.map(|m| prost_types::FieldMask { paths: m.iter().map(|p| (*p).to_owned()).collect() });
        let r = authed(&admin, r);
        async move { prost::Message::encoded_len(&c.get_dashboard(r).await.unwrap().into_inner()) }
    };
    let reply_bytes = reply_size(None).await;
    let summary_bytes = reply_size(Some(SUMMARY_MASK)).await;
    let loaded: Vec<f64> = peak.iter().map(|p| p.load(Ordering::Relaxed) as f64 / 1024.0).collect();
    // The live product: readers and a writer at once.
    phase("mixed workload");
    let evaluator_before = scrape(tracking_admin).await;
    let mixed = mixed::run(
        &Arc::new(sizes.clone()),
        (connect(tracking.port).await, cached_ch.clone()),
        &admin,
        (16, sizes.mixed_seconds),
    )
    .await;
    have += mixed.ingested;
    let mixed_evaluator = evaluator_between(&evaluator_before, &scrape(tracking_admin).await);

    // The figures audit on the synthetic org: every figure of March's
    // company dashboard, its children and attainment reads recomputed from
    // the raw deals and targets (the suite's clock stands on 2024-06-30).
    phase("figures audit");
    let audited = {
        let t = Instant::now();
        let a = attain::audit::Audit {
            plan: "plans/fy2024".into(),
            unit: "units/acme".into(),
            period: "2024-03".into(),
            as_of: chrono::NaiveDate::from_ymd_opt(2024, 6, 30).unwrap(),
        };
        let o = attain::audit::run(&format!("http://127.0.0.1:{}", gateway.port), &admin, &a).await.unwrap();
        for d in &o.differences {
            eprintln!("audit: {} {}: shown {} recomputed {}", d.unit, d.figure, d.shown, d.recomputed);
        }
        assert!(o.differences.is_empty(), "the figures audit found {} differences", o.differences.len());
        (o.checked, t.elapsed())
    };
    println!(
        "figures audit (company, 2024-03, {have} deals): {} figures checked, 0 differences, {:.1} s",
        audited.0,
        audited.1.as_secs_f64()
    );

    phase("import");
    let imported = import_file(&sizes, &dir, gateway.port, tracking.proc.0.id()).await;
    have += sizes.import_rows;

    // The scale curve (uncached: every call reads the roll-ups), scoped vs
    // admin at each size.
    let mut curve = Vec::new();
    for &n in &sizes.scale {
        if n > have {
            let t = Instant::now();
            load_deals(&sizes, &db, have, n).await;
            eprintln!("loaded {n} deals and rebuilt roll-ups in {:.1} s", t.elapsed().as_secs_f64());
            have = n;
        }
        let company =
            measure(16, sizes.seconds, dashboards(uncached_ch.clone(), admin.clone(), "acme", Some(16), None)).await;
        let as_admin_fig =
            measure(16, sizes.seconds, dashboards(uncached_ch.clone(), admin.clone(), "region-0", Some(16), None))
                .await;
        let scoped =
            measure(16, sizes.seconds, dashboards(uncached_ch.clone(), manager.clone(), "region-0", Some(16), None))
                .await;
        let sql = sql_baseline(&db, 5).await;
        curve.push((n, company, as_admin_fig, scoped, sql));
    }

    // The table.
    println!();
    println!(
        "Attain benchmark suite — {} regions, {} teams, {} reps; PostgreSQL; {} s per figure (absolute numbers are this machine's; ratios are the point)",
        sizes.regions,
        sizes.teams(),
        sizes.reps(),
        sizes.seconds
    );
    println!();
    println!("{:<44} {:>12} {:>12} {:>12}", "service", "cold start", "RSS idle", "RSS load");
    for (i, s) in services.iter().enumerate() {
        println!(
            "{:<44} {:>9.0} ms {:>8.1} MiB {:>8.1} MiB",
            s.name,
            ms(s.cold_start),
            idle[i],
            loaded[i].max(idle[i])
        );
    }
    println!("goal: idle RSS ≤ 30 MB each");
    println!();
    println!("{:<60} {:>12} {:>10}", "ingestion", "rows/s", "vs COPY");
    for (label, v) in [
        (format!("BatchCreateDeals, 500 a call, {half} deals"), batch),
        (format!("StreamDeals, {} deals", sizes.api_deals - half), stream),
        (format!("StreamDeals into tracking on SQLite, {sqlite_rows} deals"), on_sqlite),
        (format!("floor: COPY into deals + request-id tables (keys, indexes), {} rows", sizes.api_deals), floor),
        (format!("baseline: raw COPY of {} rows", sizes.api_deals), copy),
    ] {
        println!("{label:<60} {v:>12.0} {:>9.2}x", v / copy);
    }
    println!("goal: StreamDeals ≥ 0.5× the floor, BatchCreateDeals ≥ 0.3×");
    let (all, units, version) = stream_calls;
    println!(
        "the target service per 1,000 deals streamed (alert evaluation included): {all:.1} calls, {units:.1} BatchGetUnits, {version:.1} GetDataVersion"
    );
    let pct =
        |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q).round() as usize).map_or(f64::NAN, |d| ms(*d));
    println!(
        "deal commit → its alert change, during the stream: {} probes, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (goal p99 ≤ 1,000 ms)",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    let evaluator_line = |(passes, pass_ms, lag_ms): (f64, f64, f64)| {
        format!(
            "the alert evaluator: {passes:.0} passes, {pass_ms:.0} ms each on average; a commit evaluated {lag_ms:.0} ms after it, on average"
        )
    };
    println!("  {}", evaluator_line(stream_evaluator));
    println!(
        "tracking's tables and indexes per deal ({} deals): {bytes_before:.0} bytes; {bytes_after:.0} bytes once {pruned} feed rows and request ids past retention are pruned (VACUUM FULL)",
        sizes.api_deals
    );
    println!(
        "attain import of a {}-row CSV (check, then store): {:.1} s, {:.0} rows/s; peak RSS: attain import {:.1} MiB, tracking {:.1} MiB",
        sizes.import_rows,
        imported.0,
        sizes.import_rows as f64 / imported.0,
        imported.1,
        imported.2
    );
    println!("goal: import RSS ≤ 100 MB (client and tracking)");
    println!();
    println!(
        "{:<52} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        format!("company dashboard at {first} deals"),
        "calls/s",
        "p50 ms",
        "p99 ms",
        "p999 ms",
        "vs hello",
        "degraded"
    );
    for (in_flight, hello, cached, summary, raw, fanned, unreported) in &by_flight {
        for (label, f) in [
            (format!("baseline: tonic hello-world, {in_flight} in flight"), hello),
            (format!("gateway dashboard, cached, {in_flight} in flight"), cached),
            (format!("  the same, summary mask (alerts in brief), {in_flight} in flight"), summary),
            (format!("  the same, reply bytes not decoded, {in_flight} in flight"), raw),
            (format!("gateway dashboard, uncached, {in_flight} in flight"), fanned),
            (format!("  the same, without the reporting section, {in_flight} in flight"), unreported),
        ] {
            println!(
                "{label:<52} {:>9.0} {:>9.2} {:>9.2} {:>9.2} {:>8.1}% {:>9}",
                f.calls_per_second,
                ms(f.p50),
                ms(f.p99),
                ms(f.p999),
                100.0 * f.calls_per_second / hello.calls_per_second,
                f.degraded
            );
        }
    }
    println!("goal: cached dashboard ≥ 25% of hello-world calls/s, p99 ≤ 10 ms, at 16 in flight");
    println!(
        "reply size: dashboard {reply_bytes} bytes encoded, {summary_bytes} with the summary mask; hello-world 2 bytes"
    );
    if let Some((all, version)) = target_calls {
        println!(
            "the target service per uncached dashboard, 16 in flight: {all:.2} calls, {version:.2} of them GetDataVersion"
        );
    }
    println!();
    let at = |v: &[Duration], q: f64| v.get(((v.len() as f64 - 1.0) * q).round() as usize).map_or(f64::NAN, |d| ms(*d));
    println!(
        "mixed workload, {} s: StreamDeals running while 16 readers open dashboards of random units (company, regions, teams, reps) through the caching gateway",
        sizes.mixed_seconds
    );
    println!(
        "  readers: {:.0} calls/s, p50 {:.2} ms, p99 {:.2} ms, p999 {:.2} ms, {} degraded; {:.1}% from the cache (goal p99 ≤ 50 ms)",
        mixed.readers.calls_per_second,
        ms(mixed.readers.p50),
        ms(mixed.readers.p99),
        ms(mixed.readers.p999),
        mixed.readers.degraded,
        100.0 * mixed.cache_hits
    );
    println!(
        "  ingestion: {} deals, {:.0} rows/s = {:.2}x its solo rate of {stream:.0} (goal ≥ 0.5x)",
        mixed.ingested,
        mixed.ingest_rows_per_second,
        mixed.ingest_rows_per_second / stream
    );
    for (what, v) in [("a dashboard showing it", &mixed.visible), ("the alert change it causes", &mixed.alerted)] {
        println!(
            "  deal commit → {what}: {} probes, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (goal p99 ≤ 1,000 ms)",
            v.len(),
            at(v, 0.5),
            at(v, 0.99),
            at(v, 1.0)
        );
    }
    println!("  {}", evaluator_line(mixed_evaluator));
    println!();
    // At 16 in flight, like the uncached row above at 16: its p50 is the
    // queue of 16 calls sharing two cores, not one dashboard's own time
    // (the uncached row at 1 in flight is that).
    println!("the scale curve: uncached dashboards, 16 in flight, p50");
    println!(
        "{:<14} {:>16} {:>16} {:>16} {:>16} {:>14} {:>9}",
        "deals", "company p50 ms", "region admin ms", "region mgr ms", "mgr / admin", "SQL p50 ms", "degraded"
    );
    for (n, company, admin_f, scoped, sql) in &curve {
        println!(
            "{n:<14} {:>16.2} {:>16.2} {:>16.2} {:>15.2}x {:>14.2} {:>9}",
            ms(company.p50),
            ms(admin_f.p50),
            ms(scoped.p50),
            ms(scoped.p50) / ms(admin_f.p50).max(1e-9),
            ms(*sql),
            company.degraded + admin_f.degraded + scoped.degraded
        );
    }
    if let (Some(a), Some(b)) = (curve.first(), curve.last()) {
        println!(
            "dashboard p50 at {} / at {} deals: {:.2}x (goal ≤ 1.2); raw SQL aggregate: {:.2}x",
            b.0,
            a.0,
            ms(b.1.p50) / ms(a.1.p50).max(1e-9),
            ms(b.4) / ms(a.4).max(1e-9)
        );
    }
    println!("goal: scoped ≤ 1.5× admin");
    drop((target, tracking, review, gateway, uncached, sqlite));
    let _ = std::fs::remove_dir_all(&dir);
}
