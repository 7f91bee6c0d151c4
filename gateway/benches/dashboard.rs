//! Gateway dashboard throughput and latency with 16 calls in flight, for a
//! 200-rep region at 1M deals (PostgreSQL), beside a tonic hello-world
//! server (grpc.health.v1 Check, nothing else) measured in the same run:
//! - cached: the same region dashboard asked for again and again (what a
//!   wall of browsers does; the cache answers until new figures arrive);
//! - uncached: every call a different as-of day with the cache off, so each
//!   one fans out to all three services.
//!
//! `cargo bench -p attain-gateway --bench dashboard` (ATTAIN_BENCH_DEALS,
//! default 1000000; ATTAIN_BENCH_SECONDS per scenario, default 5). The 1M
//! deals and their roll-ups are loaded with SQL, not through the API (the
//! ingestion benchmark is tracking's).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_precision_loss)]

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use attain_kit::{
    auth::Role,
    configuration::Settings,
    testing::{Backend, test_settings, token},
};
use attain_proto::attain::gateway::v1::{GetDashboardRequest, gateway_service_client::GatewayServiceClient};
use sea_orm::{ConnectionTrait, Database};
use tonic::{Request, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const REPS: usize = 200;
const IN_FLIGHT: usize = 16;

fn authed<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token("bench", Role::Admin, "")).parse().unwrap());
    r
}

async fn connect(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .tcp_nodelay(true)
        .initial_stream_window_size(attain_kit::server::STREAM_WINDOW)
        .initial_connection_window_size(attain_kit::server::CONNECTION_WINDOW)
        .connect()
        .await
        .unwrap()
}

/// `n` January deals across the region's reps, and their roll-ups, in SQL.
async fn load_deals(url: &str, n: usize) {
    let db = Database::connect(url).await.unwrap();
    let last = n - 1;
    db.execute_unprepared(&format!(
        "INSERT INTO deals (id, rep_id, amount_minor, currency_code, close_date, customer, product_line, \
         customer_type, opportunity, kind, reverses, reversed_by, booked_path, request_id, created_by, created_at) \
         SELECT 'bench-' || g, 'rep-' || (g % {REPS}), (10000 + (g::bigint * 7919) % 5000000) * 100, 'CNY', \
         DATE '2024-01-01' + (g % 16), 'c' || (g % 997), '', '', '', 'SALE', NULL, NULL, \
         '/acme/region-a/rep-' || (g % {REPS}) || '/', 'bench-' || g, 'bench', now() \
         FROM generate_series(0, {last}) AS g"
    ))
    .await
    .unwrap();
    db.execute_unprepared(
        "INSERT INTO rollups (unit_id, day, product_line, customer_type, amount_minor, deals_won) \
         SELECT u, close_date, '', '', SUM(amount_minor), COUNT(*) FROM deals \
         CROSS JOIN LATERAL unnest(ARRAY['acme', 'region-a', rep_id]) AS u GROUP BY u, close_date",
    )
    .await
    .unwrap();
    db.execute_unprepared("ANALYZE deals; ANALYZE rollups").await.unwrap();
}

struct Figures {
    calls_per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// `IN_FLIGHT` workers calling `call(worker, i)` for `secs` seconds.
async fn measure<F, Fut>(secs: u64, call: F) -> Figures
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let until = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let workers: Vec<_> = (0..IN_FLIGHT)
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
    Figures { calls_per_second: all.len() as f64 / elapsed.as_secs_f64(), p50: at(0.5), p99: at(0.99) }
}

async fn start_gateway(settings: Settings) -> std::net::SocketAddr {
    let gateway = attain_gateway::startup::Application::build(settings).await.unwrap();
    let addr = gateway.local_addr();
    tokio::spawn(gateway.run_until_stopped(std::future::pending()));
    addr
}

fn main() {
    let deals: usize = std::env::var("ATTAIN_BENCH_DEALS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let secs: u64 = std::env::var("ATTAIN_BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async move {
        let today = chrono::NaiveDate::from_ymd_opt(2024, 1, 16);
        let target = attain_target::startup::Application::build(test_settings(Backend::Postgres).await).await.unwrap();
        let target_addr = target.local_addr();
        tokio::spawn(target.run_until_stopped(std::future::pending()));
        let mut s = test_settings(Backend::Postgres).await;
        let tracking_db = secrecy::ExposeSecret::expose_secret(&s.database.url).to_owned();
        s.upstream.target_url = Some(format!("http://{target_addr}"));
        s.clock.today = today;
        let tracking = attain_tracking::startup::Application::build(s).await.unwrap();
        let tracking_addr = tracking.local_addr();
        tokio::spawn(tracking.run_until_stopped(std::future::pending()));
        let mut s = test_settings(Backend::Postgres).await;
        s.upstream.target_url = Some(format!("http://{target_addr}"));
        s.upstream.tracking_url = Some(format!("http://{tracking_addr}"));
        s.clock.today = today;
        let review = attain_review::startup::Application::build(s).await.unwrap();
        let review_addr = review.local_addr();
        tokio::spawn(review.run_until_stopped(std::future::pending()));

        attain_kit::testing::seed_flat_region(connect(target_addr).await, REPS, "1000000000").await;
        let loading = Instant::now();
        load_deals(&tracking_db, deals).await;
        eprintln!("loaded {deals} deals and their roll-ups in {:.1} s", loading.elapsed().as_secs_f64());

        let gateway_settings = |ttl_ms: u64| {
            let (t, k, r) = (target_addr, tracking_addr, review_addr);
            async move {
                let mut s = test_settings(Backend::Sqlite).await;
                s.upstream.target_url = Some(format!("http://{t}"));
                s.upstream.tracking_url = Some(format!("http://{k}"));
                s.upstream.review_url = Some(format!("http://{r}"));
                s.cache.dashboard_ttl_ms = ttl_ms;
                s.server.concurrency_limit = 1024;
                s
            }
        };
        let cached = start_gateway(gateway_settings(60_000).await).await;
        let uncached = start_gateway(gateway_settings(0).await).await;

        // Hello-world: tonic with the health service alone, no layers.
        let (_, health) = tonic_health::server::health_reporter();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let hello = listener.local_addr().unwrap();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(health)
                // TCP_NODELAY, as Attain's own servers set it: without it the
                // baseline's replies wait on delayed ACKs (p99 ≈ 43 ms).
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))),
        );

        let ch = connect(hello).await;
        let hello_figures = measure(secs, move |_, _| {
            let mut c = HealthClient::new(ch.clone());
            async move {
                c.check(HealthCheckRequest { service: String::new() }).await.unwrap();
            }
        })
        .await;
        let dashboard = |addr: std::net::SocketAddr, vary: bool| {
            let ch = Arc::new(tokio::sync::OnceCell::new());
            move |w: usize, i: usize| {
                let ch = ch.clone();
                async move {
                    let ch = ch.get_or_init(|| connect(addr)).await.clone();
                    // Uncached: each worker walks its own as-of days, up to
                    // the fixed today (the 16th: later days are refused).
                    let as_of = if vary { format!("2024-01-{:02}", 1 + (w + i * IN_FLIGHT) % 16) } else { String::new() };
                    let d = GatewayServiceClient::new(ch)
                        .get_dashboard(authed(GetDashboardRequest {
                            unit: "units/region-a".into(),
                            period: "2024-01".into(),
                            as_of_date: as_of,
                            ..Default::default()
                        }))
                        .await
                        .unwrap()
                        .into_inner();
                    assert_eq!(d.children.len(), REPS);
                }
            }
        };
        {
            use prost::Message;
            let d = GatewayServiceClient::new(connect(cached).await)
                .get_dashboard(authed(GetDashboardRequest {
                    unit: "units/region-a".into(),
                    period: "2024-01".into(),
                    ..Default::default()
                }))
                .await
                .unwrap()
                .into_inner();
            let started = Instant::now();
            for _ in 0..100 {
                let copy = d.clone();
                std::hint::black_box(copy.encode_to_vec());
            }
            eprintln!(
                "a region dashboard is {} bytes; clone + encode {:.3} ms",
                d.encoded_len(),
                started.elapsed().as_secs_f64() * 10.0
            );
        }
        let cached_figures = measure(secs, dashboard(cached, false)).await;
        let uncached_figures = measure(secs, dashboard(uncached, true)).await;

        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!("Attain gateway, {REPS}-rep region at {deals} deals, {IN_FLIGHT} calls in flight, {secs} s each (2-core figures are noisy; ratios are the point)");
        println!("{:<54} {:>12} {:>9} {:>9} {:>11}", "scenario", "calls/s", "p50 ms", "p99 ms", "vs hello");
        for (label, f) in [
            ("baseline: tonic hello-world (health Check)", &hello_figures),
            ("gateway dashboard, cached", &cached_figures),
            ("gateway dashboard, uncached (fans out every call)", &uncached_figures),
        ] {
            println!(
                "{:<54} {:>12.0} {:>9.2} {:>9.2} {:>10.1}%",
                label,
                f.calls_per_second,
                ms(f.p50),
                ms(f.p99),
                100.0 * f.calls_per_second / hello_figures.calls_per_second
            );
        }
        println!("goal: ≥ 25% of hello-world's calls/s and p99 < 10 ms");
    });
}
