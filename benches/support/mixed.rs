//! The mixed workload: the product as it is used live. A StreamDeals runs
//! without pause while readers open dashboards of random units (the
//! company, regions, teams, reps) through the caching gateway — every
//! committed deal invalidates its rep's, team's, region's and company's
//! cached dashboards — and two probes time what a user waits for: a deal
//! committed until a dashboard shows it, and until the alert it causes.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use attain_proto::attain::{
    gateway::v1::gateway_service_client::GatewayServiceClient,
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use rust_decimal::Decimal;
use tonic::transport::Channel;

use super::{Figures, SEEN_PROBE, Sizes, alert_latency, authed, cny, dashboard_request, ingest_stream, measure};

/// What one mixed run measured.
pub struct Mixed {
    pub readers: Figures,
    pub cache_hits: f64,
    pub ingested: usize,
    pub ingest_rows_per_second: f64,
    /// Deal commit → a dashboard showing it, sorted.
    pub visible: Vec<Duration>,
    /// Deal commit → the alert change it causes, sorted.
    pub alerted: Vec<Duration>,
}

/// Request ids of the mixed run's deals start here (the API phases' are
/// below 100M).
const FIRST: usize = 800_000_000;
/// Rows per StreamDeals call of the writer.
const CHUNK: usize = 2_000;

/// The unit a reader opens on its `i`-th call: company, region, team or
/// rep in turn, which one of its kind spread by a hash.
fn unit_of(sizes: &Sizes, w: usize, i: usize) -> String {
    let x = ((w * 7919 + i) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(23) as usize;
    match (w + i) % 4 {
        0 => "acme".into(),
        1 => format!("region-{}", x % sizes.regions),
        2 => format!("team-{}", x % sizes.teams()),
        _ => format!("rep-{}", x % sizes.reps()),
    }
}

/// Deal commit → the first dashboard of the probe rep (through the caching
/// gateway) whose actual covers it, every 100 ms while `busy`.
async fn visibility(tracking: Channel, gateway: Channel, bearer: String, busy: Arc<AtomicBool>) -> Vec<Duration> {
    let mut writer = TrackingServiceClient::new(tracking);
    let mut reader = GatewayServiceClient::new(gateway);
    let mut ask = dashboard_request(SEEN_PROBE, String::new());
    ask.read_mask = Some(prost_types::FieldMask { paths: vec!["attainment".into()] });
    let actual = |d: kpb::Attainment| -> Decimal { d.actual.map(|m| m.amount.parse().unwrap()).unwrap_or_default() };
    let mut read = async || {
        let d = reader.get_dashboard(authed(&bearer, ask.clone())).await.unwrap().into_inner();
        d.attainment.map(actual).unwrap_or_default()
    };
    let base = read().await;
    let mut out = Vec::new();
    let mut k = 0u64;
    while busy.load(Ordering::Relaxed) {
        k += 1;
        let r = kpb::CreateDealRequest {
            deal: Some(kpb::Deal {
                rep: format!("units/{SEEN_PROBE}"),
                amount: cny(100),
                close_date: "2024-06-28".into(),
                ..Default::default()
            }),
            request_id: format!("seen-{k}"),
        };
        writer.create_deal(authed(&bearer, r)).await.unwrap();
        let committed = Instant::now();
        let want = base + Decimal::from(k);
        // Polled every 5 ms, for up to 5 s (counted as 5 s if never).
        while read().await < want && committed.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        out.push(committed.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    out.sort();
    out
}

/// `secs` of StreamDeals at full speed with `readers` dashboard readers
/// and both probes.
pub async fn run(
    sizes: &Arc<Sizes>,
    (tracking, gateway): (Channel, Channel),
    bearer: &str,
    (readers, secs): (usize, u64),
) -> Mixed {
    let busy = Arc::new(AtomicBool::new(true));
    let writer = {
        let (busy, sizes, tracking) = (busy.clone(), sizes.clone(), tracking.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let mut next = FIRST;
            while busy.load(Ordering::Relaxed) {
                ingest_stream(&sizes, tracking.clone(), next, next + CHUNK).await;
                next += CHUNK;
            }
            (next - FIRST, started.elapsed())
        })
    };
    let seen = tokio::spawn(visibility(tracking.clone(), gateway.clone(), bearer.to_owned(), busy.clone()));
    let alerted = tokio::spawn(alert_latency(tracking, busy.clone(), "mixed"));
    let (hits, calls) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let figures = {
        let (sizes, hits, calls, bearer) = (sizes.clone(), hits.clone(), calls.clone(), bearer.to_owned());
        measure(readers, secs, move |w, i| {
            let mut c = GatewayServiceClient::new(gateway.clone());
            let r = authed(&bearer, dashboard_request(&unit_of(&sizes, w, i), String::new()));
            let (hits, calls) = (hits.clone(), calls.clone());
            async move {
                let d = c.get_dashboard(r).await.unwrap().into_inner();
                calls.fetch_add(1, Ordering::Relaxed);
                if d.from_cache {
                    hits.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
        .await
    };
    busy.store(false, Ordering::Relaxed);
    let (ingested, took) = writer.await.unwrap();
    Mixed {
        readers: figures,
        cache_hits: hits.load(Ordering::Relaxed) as f64 / calls.load(Ordering::Relaxed).max(1) as f64,
        ingested,
        ingest_rows_per_second: ingested as f64 / took.as_secs_f64(),
        visible: seen.await.unwrap(),
        alerted: alerted.await.unwrap(),
    }
}
