//! Exactly-once ingestion under faults, with real processes and a real
//! PostgreSQL on loopback: a client sends deals in batches with request
//! ids while the tracking process is killed with SIGKILL and restarted,
//! its PostgreSQL is stopped (like a crash) and started again, and every
//! connection between them is cut mid-stream by a TCP proxy. The client
//! retries whatever failed. Afterwards the stored deals are exactly the
//! ones sent — none lost, none doubled — and the roll-ups equal the raw
//! sums. Health reports NOT_SERVING while the database is down and SERVING
//! again, without a restart, once it is back.

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use crate::support::process::{channel, free_port, serve, url, wait_healthy, wait_status};
use attain_kit::{
    auth::Role,
    testing::{Backend, PgCluster, fresh_database_url, seed_flat_region, token},
};
use attain_proto::attain::{common::v1::Money, tracking::v1 as kpb};
use kpb::tracking_service_client::TrackingServiceClient;
use tokio::{net::TcpListener, sync::broadcast};
use tonic::{Request, transport::Channel};
use tonic_health::pb::health_check_response::ServingStatus;

const REPS: usize = 20;
const BATCHES: usize = 40;
const PER_BATCH: usize = 50;

/// A TCP proxy in front of PostgreSQL whose `cut` drops every open
/// connection at once (mid-transaction for whoever is in one).
struct Proxy {
    port: u16,
    cut: broadcast::Sender<()>,
}

impl Proxy {
    async fn start(to: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, _) = broadcast::channel::<()>(4);
        let cuts = cut.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut stop = cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", to)).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = stop.recv() => {}
                    }
                });
            }
        });
        Self { port, cut }
    }

    fn cut(&self) {
        let _ = self.cut.send(());
    }
}

fn admin<T>(msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token("ops", Role::Admin, "")).parse().unwrap());
    r.set_timeout(Duration::from_secs(10));
    r
}

/// Deal `i` of batch `b`: a rep, an amount in cents, a request id.
fn deal(b: usize, i: usize) -> (String, i64, String) {
    let n = b * PER_BATCH + i;
    (format!("rep-{}", n % REPS), 1000 + (n as i64 * 37) % 90_000, format!("fault-{n}"))
}

fn request(b: usize) -> kpb::BatchCreateDealsRequest {
    kpb::BatchCreateDealsRequest {
        requests: (0..PER_BATCH)
            .map(|i| {
                let (rep, cents, id) = deal(b, i);
                kpb::CreateDealRequest {
                    deal: Some(kpb::Deal {
                        rep: format!("units/{rep}"),
                        amount: Some(Money {
                            currency_code: "CNY".into(),
                            amount: format!("{}.{:02}", cents / 100, cents % 100),
                        }),
                        close_date: format!("2024-06-{:02}", 1 + (b * PER_BATCH + i) % 28),
                        customer: format!("customer {}", (b * PER_BATCH + i) % 300),
                        ..Default::default()
                    }),
                    request_id: id,
                }
            })
            .collect(),
    }
}

/// Sends every batch, retrying each until it is stored; returns the
/// number of failed attempts (each one retried).
async fn client(port: u16, progress: Arc<AtomicUsize>) -> usize {
    let channel = Channel::from_shared(url(port)).unwrap().connect_lazy();
    let mut tracking = TrackingServiceClient::new(channel);
    let started = Instant::now();
    let mut failures = 0;
    for b in 0..BATCHES {
        loop {
            match tracking.batch_create_deals(admin(request(b))).await {
                Ok(r) => {
                    assert_eq!(r.into_inner().deals.len(), PER_BATCH);
                    break;
                }
                Err(status) => {
                    // Faults cost availability, never correctness: the
                    // server says UNAVAILABLE, or the connection broke on
                    // the client's side (tonic reports that as UNKNOWN
                    // "transport error" or INTERNAL "h2 protocol error").
                    let transport = (status.code() == tonic::Code::Unknown && status.message() == "transport error")
                        || (status.code() == tonic::Code::Internal
                            && status.message().starts_with("h2 protocol error"));
                    assert!(
                        transport
                            || matches!(
                                status.code(),
                                tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled
                            ),
                        "batch {b}: {status:?}"
                    );
                    failures += 1;
                    assert!(started.elapsed() < Duration::from_secs(180), "batch {b} never got through: {status:?}");
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
            }
        }
        progress.store(b + 1, Ordering::SeqCst);
    }
    failures
}

async fn wait_progress(progress: &AtomicUsize, at_least: usize) {
    let started = Instant::now();
    while progress.load(Ordering::SeqCst) < at_least {
        assert!(started.elapsed() < Duration::from_secs(120), "the client stalled before batch {at_least}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingestion_is_exactly_once_under_kill_restart_and_cut() {
    let dir = std::env::temp_dir().join(format!("attain-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Tracking's own cluster (we crash it), reached through the proxy; the
    // target service lives on the shared test server, untouched.
    let pg = PgCluster::start_new();
    pg.create_database("tracking").await;
    let proxy = Proxy::start(pg.port()).await;
    let (pt, pk) = (free_port(), free_port());
    let _target = serve("target", pt, &dir, &[("APP__DATABASE__URL", fresh_database_url(Backend::Postgres).await)]);
    wait_healthy(pt).await;
    seed_flat_region(channel(pt).await, REPS, "24000000").await;
    let env = vec![
        ("APP__DATABASE__URL", format!("postgres://postgres@127.0.0.1:{}/tracking", proxy.port)),
        ("APP__DATABASE__CONNECT_TIMEOUT_MS", "1000".to_owned()),
        ("APP__UPSTREAM__TARGET_URL", url(pt)),
        ("APP__CLOCK__TODAY", "2024-06-28".to_owned()),
    ];
    let mut tracking = serve("tracking", pk, &dir, &env);
    wait_healthy(pk).await;

    let progress = Arc::new(AtomicUsize::new(0));
    let sender = tokio::spawn(client(pk, progress.clone()));

    // (a) SIGKILL mid-stream, then a new process on the same port.
    wait_progress(&progress, 8).await;
    tracking.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    tracking = serve("tracking", pk, &dir, &env);
    wait_healthy(pk).await;

    // (b) PostgreSQL crashes: health goes NOT_SERVING; it comes back and
    // the same process serves again.
    wait_progress(&progress, 16).await;
    pg.stop();
    let noticed = wait_status(pk, ServingStatus::NotServing, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    pg.start();
    let recovered = wait_status(pk, ServingStatus::Serving, Duration::from_secs(30)).await;

    // (c) Every connection to PostgreSQL cut at once, mid-stream, twice.
    let mut cuts = 0;
    for at in [24, 30] {
        wait_progress(&progress, at).await;
        proxy.cut();
        cuts += 1;
    }

    let failures = tokio::time::timeout(Duration::from_secs(240), sender).await.unwrap().unwrap();

    // The stored deals are exactly the ones sent.
    let mut reader = TrackingServiceClient::new(channel(pk).await);
    let mut stored: Vec<String> = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = reader
            .list_deals(admin(kpb::ListDealsRequest {
                unit: "units/region-a".into(),
                page_size: 1000,
                page_token: page_token.clone(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        stored.extend(page.deals.into_iter().map(|d| d.request_id));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    stored.sort();
    let mut sent: Vec<String> = (0..BATCHES).flat_map(|b| (0..PER_BATCH).map(move |i| deal(b, i).2)).collect();
    sent.sort();
    let lost = sent.iter().filter(|s| stored.binary_search(s).is_err()).count();
    let doubled = stored.len() - {
        let mut d = stored.clone();
        d.dedup();
        d.len()
    };
    assert_eq!((lost, doubled, stored.len()), (0, 0, sent.len()));

    // Roll-ups equal the raw sums, per rep and for the region.
    let mut per_rep: BTreeMap<String, i64> = BTreeMap::new();
    for b in 0..BATCHES {
        for i in 0..PER_BATCH {
            let (rep, cents, _) = deal(b, i);
            *per_rep.entry(rep).or_default() += cents;
        }
    }
    let cents = |m: Option<Money>| -> i64 {
        let d: rust_decimal::Decimal = m.unwrap().amount.parse().unwrap();
        i64::try_from((d * rust_decimal::Decimal::from(100)).trunc()).unwrap()
    };
    let attainment = |unit: String| kpb::GetAttainmentRequest {
        unit: format!("units/{unit}"),
        period: "2024-06".into(),
        ..Default::default()
    };
    let region = reader.get_attainment(admin(attainment("region-a".into()))).await.unwrap().into_inner();
    assert_eq!(cents(region.actual), per_rep.values().sum::<i64>());
    assert_eq!(region.deals_won, (BATCHES * PER_BATCH) as i64);
    for (rep, sum) in &per_rep {
        let a = reader.get_attainment(admin(attainment(rep.clone()))).await.unwrap().into_inner();
        assert_eq!(cents(a.actual), *sum, "{rep}");
    }

    crate::support::reliability_claim(&format!(
        "| `ingestion_is_exactly_once_under_kill_restart_and_cut` | {} deals, {BATCHES} batches | 1 SIGKILL + restart, \
         1 PostgreSQL crash, {cuts} connection cuts | lost {lost}, doubled {doubled} |",
        sent.len()
    ));
    println!(
        "faults: {} deals in {BATCHES} batches; 1 SIGKILL + restart, 1 PostgreSQL crash (NOT_SERVING after {noticed:?}, \
         SERVING again after {recovered:?} without a restart), {cuts} connection cuts; {failures} failed attempts \
         retried; lost 0, doubled 0",
        sent.len()
    );
    drop(tracking);
    let _ = std::fs::remove_dir_all(&dir);
}
