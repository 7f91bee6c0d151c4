//! Overload: a tracking process limited to 4 calls at once (50 ms queue)
//! is first measured at its sustainable load, then offered many times
//! that. The excess is shed with RESOURCE_EXHAUSTED (nothing else fails),
//! accepted calls keep a bounded p99, memory stays flat over two overload
//! rounds, and the process is healthy afterwards.

use std::time::{Duration, Instant};

use crate::support::process::{channel, free_port, serve, url, wait_healthy};
use attain_kit::{
    auth::Role,
    testing::{Backend, fresh_database_url, seed_flat_region, token},
};
use attain_proto::attain::tracking::v1 as kpb;
use kpb::tracking_service_client::TrackingServiceClient;
use tonic::{Code, Request, transport::Channel};

const LIMIT: usize = 4;

fn attainment() -> Request<kpb::GetAttainmentRequest> {
    let mut r = Request::new(kpb::GetAttainmentRequest {
        unit: "units/region-a".into(),
        period: "2024-06".into(),
        ..Default::default()
    });
    r.metadata_mut().insert("authorization", format!("Bearer {}", token("ops", Role::Admin, "")).parse().unwrap());
    r
}

/// `clients` callers back to back for `length`: accepted latencies, the
/// number shed, and any other failure.
async fn run(port: u16, clients: usize, length: Duration) -> (Vec<Duration>, usize, Vec<String>) {
    let channel = Channel::from_shared(url(port)).unwrap().connect().await.unwrap();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let mut c = TrackingServiceClient::new(channel.clone());
            tokio::spawn(async move {
                let (mut ok, mut shed, mut other) = (Vec::new(), 0, Vec::new());
                let end = Instant::now() + length;
                while Instant::now() < end {
                    let started = Instant::now();
                    match c.get_attainment(attainment()).await {
                        Ok(_) => ok.push(started.elapsed()),
                        Err(s) if s.code() == Code::ResourceExhausted => {
                            shed += 1;
                            // A polite client backs off as told (RetryInfo).
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(s) => other.push(format!("{s:?}")),
                    }
                }
                (ok, shed, other)
            })
        })
        .collect();
    let (mut ok, mut shed, mut other) = (Vec::new(), 0, Vec::new());
    for t in tasks {
        let (o, s, e) = t.await.unwrap();
        ok.extend(o);
        shed += s;
        other.extend(e);
    }
    ok.sort();
    (ok, shed, other)
}

fn p99(sorted: &[Duration]) -> Duration {
    sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)]
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_is_shed_and_accepted_calls_stay_fast() {
    let dir = std::env::temp_dir().join(format!("attain-overload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (pt, pk) = (free_port(), free_port());
    let _target = serve("target", pt, &dir, &[("APP__DATABASE__URL", fresh_database_url(Backend::Postgres).await)]);
    wait_healthy(pt).await;
    seed_flat_region(channel(pt).await, 20, "2400000").await;
    let tracking = serve(
        "tracking",
        pk,
        &dir,
        &[
            ("APP__DATABASE__URL", fresh_database_url(Backend::Postgres).await),
            ("APP__UPSTREAM__TARGET_URL", url(pt)),
            ("APP__CLOCK__TODAY", "2024-06-28".to_owned()),
            ("APP__SERVER__CONCURRENCY_LIMIT", LIMIT.to_string()),
            ("APP__SERVER__QUEUE_TIMEOUT_MS", "50".to_owned()),
        ],
    );
    wait_healthy(pk).await;
    let pid = tracking.0.id();

    // Sustainable: as many callers as slots.
    let (base, base_shed, base_other) = run(pk, LIMIT, Duration::from_secs(2)).await;
    assert!(base_other.is_empty(), "{base_other:?}");
    let base_calls_per_sec = base.len() as f64 / 2.0;
    let rss_before = rss_kib(pid);

    // Twelve times the callers, twice.
    let mut rounds = Vec::new();
    for _ in 0..2 {
        let (ok, shed, other) = run(pk, LIMIT * 12, Duration::from_secs(3)).await;
        assert!(other.is_empty(), "only RESOURCE_EXHAUSTED may fail: {:?}", &other[..other.len().min(3)]);
        assert!(shed > 0, "the excess was shed");
        rounds.push((ok, shed, rss_kib(pid)));
    }
    let (ok, shed, rss_first) = &rounds[0];
    let rss_second = rounds[1].2;
    // Accepted calls wait at most the queue for a slot: their p99 stays
    // within a small multiple of the unloaded one, plus the queue.
    let bound = p99(&base) * 4 + Duration::from_millis(250);
    assert!(p99(ok) <= bound, "accepted p99 {:?} vs unloaded {:?}", p99(ok), p99(&base));
    // Memory flat: no growing queue.
    let growth = rss_second.saturating_sub(*rss_first);
    assert!(growth < 16 * 1024, "RSS grew {growth} KiB between overload rounds");
    crate::support::process::wait_status(
        pk,
        tonic_health::pb::health_check_response::ServingStatus::Serving,
        Duration::from_secs(5),
    )
    .await;
    println!(
        "overload: sustainable {base_calls_per_sec:.0} calls/s (p99 {:?}, {base_shed} shed); at 12× the callers {} accepted \
         (p99 {:?}), {shed} shed; RSS {rss_before} → {rss_first} → {rss_second} KiB",
        p99(&base),
        ok.len(),
        p99(ok)
    );
    crate::support::reliability_claim(&format!(
        "| `overload_is_shed_and_accepted_calls_stay_fast` | limit {LIMIT} in flight, 50 ms queue | 12× the \
         sustainable callers, twice | excess shed with RESOURCE_EXHAUSTED; 0 other failures; p99 bounded; RSS flat |"
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
