//! The gateway's dashboard cache end to end: a repeated dashboard comes
//! from the cache (and says so), a new deal invalidates it through
//! tracking's roll-up change feed long before its TTL, a write in the
//! target service (a rename, a move) drops it through the target's data
//! version, and identical concurrent calls cost one fan-out.

use std::{net::SocketAddr, time::Duration};

use crate::support::Suite;
use attain_kit::{
    auth::Role,
    both_backends,
    http_client::request,
    testing::{Backend, token},
};
use attain_proto::attain::{
    common::v1::Money,
    gateway::v1::{self as pb, gateway_service_client::GatewayServiceClient},
    target::v1::{self as tpb, org_service_client::OrgServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use tonic::{Request, transport::Channel};

fn authed<T>(person: &str, role: Role, unit: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token(person, role, unit)).parse().unwrap());
    r
}

fn region(unit: &str) -> Request<pb::GetDashboardRequest> {
    authed(
        "wang",
        Role::Manager,
        "region-a",
        pb::GetDashboardRequest { unit: unit.into(), period: "2024-01".into(), ..Default::default() },
    )
}

/// How many dashboards tracking has served (one GetDashboardFigures each).
async fn fan_outs(tracking: SocketAddr) -> u64 {
    let text = request(tracking, "GET", "/metrics", &[], b"").await.unwrap().text();
    let prefix =
        r#"attain_rpc_duration_seconds_count{method="/attain.tracking.v1.TrackingService/GetDashboardFigures"} "#;
    text.lines().find_map(|l| l.strip_prefix(prefix)).map_or(0, |n| n.parse().unwrap())
}

async fn the_dashboard_cache(backend: Backend) {
    // A TTL far longer than the test: only invalidation can explain fresh figures.
    let suite = Suite::start(backend, |s| s.cache.dashboard_ttl_ms = 600_000).await;
    suite.seed().await;
    let channel = Channel::from_shared(format!("http://{}", suite.gateway.addr)).unwrap().connect().await.unwrap();
    let mut gw = GatewayServiceClient::new(channel.clone());

    // The seed's own roll-up changes, and the alert passes its writes hand
    // to tracking's queue, reach the gateway's feed a little later and
    // rightly drop what was cached before them: wait until a fetch stays
    // cached across a quiet second and a half (bounded).
    let started = std::time::Instant::now();
    let (first, second) = loop {
        let first = gw.get_dashboard(region("units/region-a")).await.unwrap().into_inner();
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let second = gw.get_dashboard(region("units/region-a")).await.unwrap().into_inner();
        if second.from_cache && second.data_time == first.data_time {
            break (first, second);
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the same dashboard again comes from the cache"
        );
    };
    assert_eq!(second.data_time, first.data_time, "and says how old its figures are");
    // A hit goes out as the bytes stored: the whole dashboard, field for field.
    // (`first` may itself be a hit, stored by an earlier round of the loop.)
    let whole = |d: &pb::Dashboard| pb::Dashboard { from_cache: false, ..d.clone() };
    assert!(whole(&second) == whole(&first), "a cached dashboard differs from the one fetched");
    assert!(!first.children.is_empty() && first.attainment.is_some());
    // REST reads the same cached answer (through the gateway's own gRPC).
    let bearer = [("authorization", format!("Bearer {}", token("wang", Role::Manager, "region-a")))];
    let rest =
        request(suite.gateway.addr, "GET", "/v1/units/region-a/dashboard?period=2024-01", &bearer, b"").await.unwrap();
    let json: serde_json::Value = serde_json::from_str(&rest.text()).unwrap();
    assert_eq!(json["fromCache"], true, "{json}");
    assert_eq!(json["children"].as_array().map(Vec::len), Some(first.children.len()), "{json}");

    // Another scope never gets the manager's cached answer: a rep is refused.
    let rep = gw
        .get_dashboard(authed(
            "rep-1",
            Role::Rep,
            "rep-1",
            pb::GetDashboardRequest { unit: "units/region-a".into(), period: "2024-01".into(), ..Default::default() },
        ))
        .await
        .unwrap_err();
    assert_eq!(rep.code(), tonic::Code::PermissionDenied);

    // A new deal for rep 1 (through the gateway) invalidates region A.
    let mut tracking = TrackingServiceClient::new(channel);
    tracking
        .create_deal(authed(
            "rep-1",
            Role::Rep,
            "rep-1",
            kpb::CreateDealRequest {
                deal: Some(kpb::Deal {
                    rep: "units/rep-1".into(),
                    amount: Some(Money { currency_code: "CNY".into(), amount: "1500.00".into() }),
                    close_date: "2024-01-16".into(),
                    customer: "缓存测试".into(),
                    ..Default::default()
                }),
                request_id: "cache-deal-1".into(),
            },
        ))
        .await
        .unwrap();
    let mut fresh = None;
    for _ in 0..100 {
        let d = gw.get_dashboard(region("units/region-a")).await.unwrap().into_inner();
        if d.attainment.as_ref().unwrap().actual.as_ref().unwrap().amount == "120500.00" {
            fresh = Some(d);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fresh = fresh.expect("the new deal reached the cached dashboard through the change feed");
    assert_ne!(fresh.data_time, first.data_time);

    // An alert change alone (no deal) reaches the cached dashboard too: the
    // feed announces alert events as they commit, no settling guessed.
    let cached = loop {
        let d = gw.get_dashboard(region("units/region-a")).await.unwrap().into_inner();
        if d.from_cache {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let open = cached.open_alerts.iter().find(|a| a.state == kpb::AlertState::Open as i32).cloned();
    let open = open.expect("region A's January dashboard shows an open alert");
    tracking
        .acknowledge_alert(authed(
            "wang",
            Role::Manager,
            "region-a",
            kpb::AcknowledgeAlertRequest { name: open.name.clone(), etag: String::new() },
        ))
        .await
        .unwrap();
    let mut seen = false;
    for _ in 0..100 {
        let d = gw.get_dashboard(region("units/region-a")).await.unwrap().into_inner();
        // Acknowledged: shown so, or no longer among the open ones.
        if !d.open_alerts.iter().any(|a| a.name == open.name && a.state == kpb::AlertState::Open as i32) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "the acknowledgement reached the cached dashboard through the feed");

    // A daily log alone (no deal) reaches the cached reporting section.
    let submitted = |d: &pb::Dashboard| d.compliance.as_ref().map_or(0, |c| c.submitted);
    let before = submitted(&gw.get_dashboard(region("units/region-a")).await.unwrap().into_inner());
    let log = kpb::CreateDailyLogRequest {
        daily_log: Some(kpb::DailyLog {
            rep: "units/rep-2".into(),
            log_date: "2024-01-16".into(),
            notes: "缓存测试".into(),
            ..Default::default()
        }),
        request_id: "cache-log-1".into(),
    };
    tracking.create_daily_log(authed("rep-2", Role::Rep, "rep-2", log)).await.unwrap();
    let mut logged = false;
    for _ in 0..100 {
        let d = gw.get_dashboard(region("units/region-a")).await.unwrap().into_inner();
        if submitted(&d) == before + 1 {
            logged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(logged, "the log reached the cached dashboard's reporting section through the feed");

    // Sixteen identical calls at once for an uncached unit: one fan-out.
    let before = fan_outs(suite.tracking.admin).await;
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let mut gw = gw.clone();
            tokio::spawn(async move { gw.get_dashboard(region("units/rep-2")).await.unwrap().into_inner() })
        })
        .collect();
    let mut answers = Vec::new();
    for c in calls {
        let d = c.await.unwrap();
        assert!(d.sections.iter().all(|s| s.state == pb::SectionState::Ok as i32), "{:?}", d.sections);
        answers.push(d.attainment.unwrap().actual.unwrap().amount);
    }
    assert!(answers.iter().all(|a| a == &answers[0] && a == "58000.00"), "{answers:?}");
    assert_eq!(fan_outs(suite.tracking.admin).await - before, 1, "coalesced into one fan-out");
}

/// Reads `unit`'s dashboard as `who` until it comes from the cache.
async fn cached(
    gw: &mut GatewayServiceClient<Channel>,
    who: (&str, Role, &str),
    unit: &str,
    period: &str,
) -> pb::Dashboard {
    let started = std::time::Instant::now();
    loop {
        let ask = pb::GetDashboardRequest { unit: unit.into(), period: period.into(), ..Default::default() };
        let d = gw.get_dashboard(authed(who.0, who.1, who.2, ask)).await.unwrap().into_inner();
        if d.from_cache {
            return d;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{unit}'s dashboard is cached in the end");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_target_write_reaches_cached_dashboards(backend: Backend) {
    // A TTL far longer than the test: only the data version explains it.
    let suite = Suite::start(backend, |s| s.cache.dashboard_ttl_ms = 600_000).await;
    suite.seed().await;
    let channel = Channel::from_shared(format!("http://{}", suite.gateway.addr)).unwrap().connect().await.unwrap();
    let mut gw = GatewayServiceClient::new(channel.clone());
    let mut org = OrgServiceClient::new(channel);
    let wang = ("wang", Role::Manager, "region-a");

    // A rename is on the cached dashboard within moments.
    let before = cached(&mut gw, wang, "units/region-a", "2024-01").await;
    assert_eq!(before.display_name, "Region A 华东");
    let rename = tpb::UpdateUnitRequest {
        unit: Some(tpb::Unit {
            name: "units/region-a".into(),
            display_name: "Region A 华东一区".into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into()] }),
        ..Default::default()
    };
    org.update_unit(authed("ops", Role::Admin, "", rename)).await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let ask =
            pb::GetDashboardRequest { unit: "units/region-a".into(), period: "2024-01".into(), ..Default::default() };
        let d = gw.get_dashboard(authed(wang.0, wang.1, wang.2, ask)).await.unwrap().into_inner();
        if d.display_name == "Region A 华东一区" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the rename reached the cached dashboard: {}",
            d.display_name
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Rep 3 moves to region B: region A's manager, who had its February
    // dashboard cached, is refused within moments — not for the TTL.
    cached(&mut gw, wang, "units/rep-3", "2024-02").await;
    let rep3 = org.get_unit(authed("ops", Role::Admin, "", tpb::GetUnitRequest { name: "units/rep-3".into() })).await;
    let move_ = tpb::MoveUnitRequest {
        name: "units/rep-3".into(),
        new_parent: "units/region-b".into(),
        etag: rep3.unwrap().into_inner().etag,
        effective_date: "2024-01-16".into(),
        request_id: String::new(),
    };
    org.move_unit(authed("ops", Role::Admin, "", move_)).await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let ask =
            pb::GetDashboardRequest { unit: "units/rep-3".into(), period: "2024-02".into(), ..Default::default() };
        match gw.get_dashboard(authed(wang.0, wang.1, wang.2, ask)).await {
            Err(s) if s.code() == tonic::Code::PermissionDenied => break,
            other => assert!(
                started.elapsed() < Duration::from_secs(2),
                "region A's manager still reads rep 3 after the move: {:?}",
                other.map(|r| r.into_inner().from_cache)
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

both_backends!(the_dashboard_cache);
both_backends!(a_target_write_reaches_cached_dashboards);
