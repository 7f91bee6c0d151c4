//! Ingestion and attainment-read benchmark against PostgreSQL, each figure
//! beside a baseline measured in the same run:
//! - deals through the gRPC StreamDeals API (idempotency keys, roll-ups,
//!   booked paths, alert evaluation) vs a raw COPY of the same rows into a
//!   scratch table;
//! - the attainment of a 200-rep region at two data sizes, p50/p99 of
//!   ListChildAttainments, beside a hand-written SUM over the raw deals.
//!
//! `cargo bench -p attain-tracking --bench ingest` (ATTAIN_BENCH_DEALS sets
//! the larger size, default 200000; the smaller is a tenth of it). Uses the
//! PostgreSQL the tests use (ATTAIN_TEST_POSTGRES_URL or a throwaway one).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cast_precision_loss)]

use std::time::{Duration, Instant};

use attain_kit::{
    auth::Role,
    testing::{Backend, test_settings, token},
};
use attain_proto::attain::{
    common::v1::Money,
    tracking::v1::{self as pb, tracking_service_client::TrackingServiceClient},
};
use sea_orm::{ConnectionTrait, Database};
use tonic::{Request, transport::Channel};

const REPS: usize = 200;

fn authed<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token("bench", Role::Admin, "")).parse().unwrap());
    r
}

fn cny(a: &str) -> Option<Money> {
    Some(Money { currency_code: "CNY".into(), amount: a.into() })
}

/// Deterministic deal i: rep, day of January, amount in cents.
fn deal(i: usize) -> (usize, u32, u64) {
    let x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
    (i % REPS, 1 + u32::try_from(x % 16).unwrap(), 10_000 + x % 5_000_000)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Streams deals [from, to) through the API; returns rows per second.
async fn ingest(tracking: Channel, from: usize, to: usize) -> f64 {
    let requests = (from..to).map(|i| {
        let (rep, day, cents) = deal(i);
        pb::StreamDealsRequest {
            request: Some(pb::CreateDealRequest {
                deal: Some(pb::Deal {
                    rep: format!("units/rep-{rep}"),
                    amount: cny(&format!("{}.{:02}", cents / 100, cents % 100)),
                    close_date: format!("2024-01-{day:02}"),
                    ..Default::default()
                }),
                request_id: format!("bench-{i}"),
            }),
        }
    });
    let started = Instant::now();
    let report = TrackingServiceClient::new(tracking)
        .max_encoding_message_size(64 << 20)
        .stream_deals(authed(tokio_stream::iter(requests)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(usize::try_from(report.accepted).unwrap(), to - from, "{:?}", report.errors.first());
    (to - from) as f64 / started.elapsed().as_secs_f64()
}

/// COPY of the same rows into a scratch table; rows per second.
async fn copy_baseline(url: &str, n: usize) -> f64 {
    use sea_orm::sqlx::postgres::PgPoolCopyExt;
    let db = Database::connect(url).await.unwrap();
    db.execute_unprepared("CREATE TABLE IF NOT EXISTS copy_baseline (id TEXT, rep TEXT, amount_minor BIGINT, close_date DATE, request_id TEXT)").await.unwrap();
    let mut data = String::with_capacity(n * 48);
    for i in 0..n {
        let (rep, day, cents) = deal(i);
        data.push_str(&format!("d{i}\trep-{rep}\t{}\t2024-01-{day:02}\tbench-{i}\n", cents * 100));
    }
    let started = Instant::now();
    let mut copy = db.get_postgres_connection_pool().copy_in_raw("COPY copy_baseline FROM STDIN").await.unwrap();
    copy.send(data.as_bytes()).await.unwrap();
    copy.finish().await.unwrap();
    n as f64 / started.elapsed().as_secs_f64()
}

/// p50 / p99 of the region's drill-down, and of a raw SUM over deals.
async fn reads(tracking: Channel, url: &str) -> ((Duration, Duration), (Duration, Duration)) {
    let mut client = TrackingServiceClient::new(tracking);
    let mut api = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let r = client
            .list_child_attainments(authed(pb::ListChildAttainmentsRequest {
                unit: "units/region-a".into(),
                period: "2024-01".into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        api.push(t.elapsed());
        assert_eq!(r.children.len(), REPS);
    }
    let db = Database::connect(url).await.unwrap();
    let mut raw = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        db.execute_unprepared("SELECT rep_id, SUM(amount_minor), COUNT(*) FROM deals WHERE booked_path LIKE '/acme/region-a/%' AND close_date BETWEEN '2024-01-01' AND '2024-01-16' GROUP BY rep_id")
            .await
            .unwrap();
        raw.push(t.elapsed());
    }
    api.sort();
    raw.sort();
    ((percentile(&api, 0.5), percentile(&api, 0.99)), (percentile(&raw, 0.5), percentile(&raw, 0.99)))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let big: usize = std::env::var("ATTAIN_BENCH_DEALS").ok().and_then(|v| v.parse().ok()).unwrap_or(200_000);
    let small = big / 10;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let target_settings = test_settings(Backend::Postgres).await;
        let target = attain_target::startup::Application::build(target_settings).await.unwrap();
        let target_addr = target.local_addr();
        tokio::spawn(target.run_until_stopped(std::future::pending()));
        let mut settings = test_settings(Backend::Postgres).await;
        let tracking_url = secrecy::ExposeSecret::expose_secret(&settings.database.url).to_owned();
        settings.upstream.target_url = Some(format!("http://{target_addr}"));
        settings.clock.today = chrono::NaiveDate::from_ymd_opt(2024, 1, 16);
        settings.server.max_message_bytes = 64 << 20;
        let tracking = attain_tracking::startup::Application::build(settings).await.unwrap();
        let tracking_addr = tracking.local_addr();
        tokio::spawn(tracking.run_until_stopped(std::future::pending()));
        let connect = |a| async move { Channel::from_shared(format!("http://{a}")).unwrap().connect().await.unwrap() };
        let (target_ch, tracking_ch) = (connect(target_addr).await, connect(tracking_addr).await);
        attain_kit::testing::seed_flat_region(target_ch, REPS, "100000000").await;

        let ingest_small = ingest(tracking_ch.clone(), 0, small).await;
        let reads_small = reads(tracking_ch.clone(), &tracking_url).await;
        let ingest_big = ingest(tracking_ch.clone(), small, big).await;
        let reads_big = reads(tracking_ch.clone(), &tracking_url).await;
        let copy = copy_baseline(&tracking_url, big - small).await;

        println!("Attain tracking on PostgreSQL, {REPS}-rep region, deals in January 2024 (machine-dependent; ratios are the point)");
        println!("{:<58} {:>14}", "figure", "value");
        println!("{:<58} {:>10.0} rows/s", format!("ingest via StreamDeals, first {small} deals"), ingest_small);
        println!("{:<58} {:>10.0} rows/s", format!("ingest via StreamDeals, next {} deals", big - small), ingest_big);
        println!("{:<58} {:>10.0} rows/s", format!("baseline: raw COPY of {} rows", big - small), copy);
        println!("{:<58} {:>13.2}x", "ingest / COPY (goal ≥ 0.5)", ingest_big / copy);
        for (label, n, ((p50, p99), (r50, r99))) in [("at", small, reads_small), ("at", big, reads_big)] {
            println!("{:<58} {:>7.2} / {:>5.2} ms", format!("region drill-down p50/p99 {label} {n} deals"), ms(p50), ms(p99));
            println!("{:<58} {:>7.2} / {:>5.2} ms", format!("baseline: SUM over raw deals p50/p99 {label} {n} deals"), ms(r50), ms(r99));
        }
        println!(
            "{:<58} {:>13.2}x",
            "drill-down p99 at the larger / smaller size (goal ≈ 1)",
            ms(reads_big.0.1) / ms(reads_small.0.1).max(1e-9)
        );
    });
}
