//! The guide's January (DESIGN §6 step 5) and ingestion rules over gRPC.

use std::time::Duration;

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::{
    common::v1::Status as Colour,
    tracking::v1::{self as pb},
};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::{Tracking, cny, spawn_suite};

fn deal(rep: &str, amount: &str, date: &str, request_id: &str) -> pb::CreateDealRequest {
    pb::CreateDealRequest {
        deal: Some(pb::Deal {
            rep: format!("units/{rep}"),
            amount: cny(amount),
            close_date: date.into(),
            customer: format!("customer of {request_id}"),
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

fn fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

async fn attainment(t: &mut Tracking, unit: &str) -> pb::Attainment {
    t.get_attainment(pb::GetAttainmentRequest {
        unit: format!("units/{unit}"),
        period: "2024-01".into(),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
}

fn amount(m: &Option<attain_proto::attain::common::v1::Money>) -> String {
    m.as_ref().map(|m| m.amount.clone()).unwrap_or_default()
}

/// Waits for the next alert change of `unit` on a watch stream; the
/// others met on the way are returned too.
async fn next_alert_of(
    stream: &mut tonic::Streaming<pb::WatchAlertsResponse>,
    unit: &str,
    others: &mut Vec<pb::Alert>,
) -> pb::Alert {
    loop {
        let alert = next_alert(stream).await;
        if alert.unit == unit {
            return alert;
        }
        others.push(alert);
    }
}

/// Waits for the next alert change on a watch stream.
async fn next_alert(stream: &mut tonic::Streaming<pb::WatchAlertsResponse>) -> pb::Alert {
    tokio::time::timeout(Duration::from_secs(2), stream.message())
        .await
        .expect("an alert within two seconds")
        .unwrap()
        .unwrap()
        .alert
        .unwrap()
}

async fn the_guides_january(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut rep = s.tracking("rep-1", Role::Rep, "rep-1");
    let mut watcher = s.tracking("mgr-a", Role::Manager, "region-a");
    let mut stream = watcher
        .watch_alerts(pb::WatchAlertsRequest {
            unit: "units/region-a".into(),
            include_open: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();

    // 40,000 booked by Jan 16 in four deals.
    let batch = pb::BatchCreateDealsRequest {
        requests: vec![
            deal("rep-1", "8000.00", "2024-01-03", "jan-1"),
            deal("rep-1", "12000.00", "2024-01-08", "jan-2"),
            deal("rep-1", "10000.00", "2024-01-10", "jan-3"),
            deal("rep-1", "10000.00", "2024-01-15", "jan-4"),
        ],
    };
    let stored = rep.batch_create_deals(batch).await.unwrap().into_inner();
    assert_eq!(stored.deals.len(), 4);
    assert_eq!(stored.deals[0].booked_path, ["units/acme", "units/region-a", "units/rep-1"]);

    let a = attainment(&mut rep, "rep-1").await;
    assert_eq!((amount(&a.target), amount(&a.actual)), ("100000.00".into(), "40000.00".into()));
    assert_eq!(amount(&a.original_target), "100000.00", "no adjustment: the original is the target");
    assert_eq!((a.attainment_rate.as_str(), a.deals_won), ("0.4", 4));
    assert_eq!(amount(&a.gap), "60000.00");
    assert_eq!(
        a.status,
        Colour::Red as i32,
        "40,000 is below 80% of the {} expected by Jan 16",
        amount(&a.expected_to_date)
    );
    assert_eq!(amount(&a.average_order_value), "10000.00");
    assert_eq!(amount(&a.forecast), "76666.67", "run rate: 40,000 over 12 of 23 working days");
    assert_eq!(
        a.time_progress,
        (rust_decimal::Decimal::from(12) / rust_decimal::Decimal::from(23)).round_dp(6).normalize().to_string()
    );

    // Both rules fire; the watcher hears of it. The evaluator looks at
    // every unit the deals moved: the region is behind too.
    let mut rules = vec![];
    let mut others = vec![];
    for _ in 0..2 {
        let alert = next_alert_of(&mut stream, "units/rep-1", &mut others).await;
        assert_eq!(
            (alert.unit.as_str(), alert.state, alert.severity),
            ("units/rep-1", pb::AlertState::Open as i32, Colour::Red as i32)
        );
        rules.push(alert.rule);
    }
    rules.sort();
    assert_eq!(rules, [pb::AlertRule::BehindPace as i32, pb::AlertRule::MissedMilestone as i32]);
    assert!(
        others.iter().any(|a| a.unit == "units/region-a" && a.rule == pb::AlertRule::BehindPace as i32),
        "{others:?}"
    );
    let open = watcher
        .list_alerts(pb::ListAlertsRequest {
            unit: "units/region-a".into(),
            state: pb::AlertState::Open as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(open.alerts.iter().filter(|a| a.unit == "units/rep-1").count(), 2);

    // A deal on the 16th lifts rep 1 to 60,000: both alerts resolve.
    rep.create_deal(deal("rep-1", "20000.00", "2024-01-16", "jan-5")).await.unwrap();
    for _ in 0..2 {
        let alert = next_alert_of(&mut stream, "units/rep-1", &mut others).await;
        assert_eq!(alert.state, pb::AlertState::Resolved as i32, "{alert:?}");
    }
    let a = attainment(&mut rep, "rep-1").await;
    assert_eq!((amount(&a.actual), a.status), ("60000.00".into(), Colour::Green as i32));

    // The region rolls up its reps.
    let region = watcher
        .list_child_attainments(pb::ListChildAttainmentsRequest {
            unit: "units/region-a".into(),
            period: "2024-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(amount(&region.parent.as_ref().unwrap().actual), "60000.00");
    let children: Vec<(String, String)> = region.children.iter().map(|c| (c.unit.clone(), amount(&c.actual))).collect();
    assert_eq!(children.len(), 3);
    assert!(children.contains(&("units/rep-1".into(), "60000.00".into())));
    assert!(children.contains(&("units/rep-2".into(), "0.00".into())));
}

async fn request_ids_make_ingestion_idempotent(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut rep = s.tracking("rep-1", Role::Rep, "rep-1");
    let first = rep.create_deal(deal("rep-1", "5000.00", "2024-01-05", "once")).await.unwrap().into_inner();
    for _ in 0..1000 {
        assert_eq!(rep.create_deal(deal("rep-1", "5000.00", "2024-01-05", "once")).await.unwrap().into_inner(), first);
    }
    let mut handles = Vec::new();
    for _ in 0..100 {
        let mut c = s.tracking("rep-1", Role::Rep, "rep-1");
        handles.push(tokio::spawn(async move { c.create_deal(deal("rep-1", "5000.00", "2024-01-05", "once")).await }));
    }
    for h in handles {
        match h.await.unwrap() {
            Ok(d) => assert_eq!(d.into_inner(), first),
            Err(e) => assert_eq!(
                e.code(),
                Code::Aborted,
                "a racing duplicate may be told to retry, never stored twice: {e:?}"
            ),
        }
    }
    let other = rep.create_deal(deal("rep-1", "6000.00", "2024-01-05", "once")).await.unwrap_err();
    assert_eq!(other.code(), Code::AlreadyExists);
    // Request ids are each caller's own (found from outside: one caller's
    // id blocked another's write and told it the id was taken): rep 2's
    // "once" is a new request, and answering it says nothing of rep 1's.
    let mut rep2 = s.tracking("rep-2", Role::Rep, "rep-2");
    let theirs = rep2.create_deal(deal("rep-2", "7000.00", "2024-01-05", "once")).await.unwrap().into_inner();
    assert_ne!(theirs.name, first.name);
    assert_eq!(theirs.amount.unwrap().amount, "7000.00");
    let deals = s
        .admin()
        .list_deals(pb::ListDealsRequest { unit: "units/rep-1".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deals.deals.len(), 1, "one record whatever the retries");
    assert_eq!(amount(&attainment(&mut rep, "rep-1").await.actual), "5000.00");
}

async fn batches_are_all_or_nothing(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut admin = s.admin();
    let mut requests: Vec<pb::CreateDealRequest> =
        (0..10).map(|i| deal("rep-2", "100.00", "2024-01-04", &format!("b-{i}"))).collect();
    requests[7].deal.as_mut().unwrap().amount = cny("12,5");
    requests[3].deal.as_mut().unwrap().amount = cny("-5.00");
    let err = admin.batch_create_deals(pb::BatchCreateDealsRequest { requests }).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let f = fields(&err);
    assert!(
        f.contains(&"requests[7].deal.amount.amount".to_owned())
            && f.contains(&"requests[3].deal.amount.amount".to_owned()),
        "{f:?}"
    );
    let deals = admin
        .list_deals(pb::ListDealsRequest { unit: "units/rep-2".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert!(deals.deals.is_empty(), "nothing of a bad batch is stored");
    let err = admin.batch_create_deals(pb::BatchCreateDealsRequest { requests: vec![] }).await.unwrap_err();
    assert_eq!(fields(&err), ["requests"]);
    let over: Vec<_> = (0..10_001).map(|i| deal("rep-2", "1.00", "2024-01-04", &format!("o-{i}"))).collect();
    let err = admin.batch_create_deals(pb::BatchCreateDealsRequest { requests: over }).await.unwrap_err();
    assert!(err.message().contains("over the limit"), "{err:?}");
}

async fn bad_deals_get_clear_errors(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut admin = s.admin();
    let cases: Vec<(pb::CreateDealRequest, &str)> = vec![
        (deal("rep-1", "0", "2024-01-05", "z"), "deal.amount.amount"),
        (deal("rep-1", "-10.00", "2024-01-05", "n"), "deal.amount.amount"),
        (deal("rep-1", "1e5", "2024-01-05", "e"), "deal.amount.amount"),
        (deal("ghost", "10.00", "2024-01-05", "g"), "deal.rep"),
        (deal("region-a", "10.00", "2024-01-05", "r"), "deal.rep"),
        (deal("rep-1", "10.00", "2024-01-17", "f"), "deal.close_date"),
        (deal("rep-1", "10.00", "2023-06-01", "o"), "deal.close_date"),
        (deal("rep-1", "10.00", "2024-02-30", "d"), "deal.close_date"),
        (deal("rep-1", "10.00", "2024-01-05", ""), "request_id"),
    ];
    for (req, field) in cases {
        let err = admin.create_deal(req.clone()).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{req:?}: {err:?}");
        assert_eq!(fields(&err), [field], "{req:?}");
    }
    let mut usd = deal("rep-1", "10.00", "2024-01-05", "usd");
    usd.deal.as_mut().unwrap().amount.as_mut().unwrap().currency_code = "USD".into();
    assert_eq!(fields(&admin.create_deal(usd).await.unwrap_err()), ["deal.amount.currency_code"]);

    // A rep who left on 10 January books nothing that closed after it.
    use attain_proto::attain::target::v1 as tpb;
    let mut org = tpb::org_service_client::OrgServiceClient::with_interceptor(
        s.target_channel(),
        crate::helpers::bearer("ops", Role::Admin, ""),
    );
    org.update_unit(tpb::UpdateUnitRequest {
        unit: Some(tpb::Unit { name: "units/rep-2".into(), end_date: "2024-01-10".into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["end_date".into()] }),
        ..Default::default()
    })
    .await
    .unwrap();
    let err = admin.create_deal(deal("rep-2", "10.00", "2024-01-11", "late")).await.unwrap_err();
    assert_eq!(fields(&err), ["deal.close_date"]);
    assert!(err.message().contains("units/rep-2 left on 2024-01-10"), "{}", err.message());
    admin.create_deal(deal("rep-2", "10.00", "2024-01-10", "last-day")).await.unwrap();
}

async fn corrections_are_reversals(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut rep = s.tracking("rep-1", Role::Rep, "rep-1");
    let d = rep.create_deal(deal("rep-1", "7000.00", "2024-01-09", "c-1")).await.unwrap().into_inner();
    let fixed = rep
        .reverse_deal(pb::ReverseDealRequest {
            name: d.name.clone(),
            reason: "typo".into(),
            replacement: deal("rep-1", "700.00", "2024-01-09", "unused").deal,
            request_id: "c-1-fix".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let reversal = fixed.reversal.unwrap();
    assert_eq!(
        (reversal.kind, amount(&reversal.amount), reversal.reverses.as_str()),
        (pb::DealKind::Reversal as i32, "-7000.00".into(), d.name.as_str())
    );
    let a = attainment(&mut rep, "rep-1").await;
    assert_eq!((amount(&a.actual), a.deals_won), ("700.00".into(), 1));
    let again = rep
        .reverse_deal(pb::ReverseDealRequest {
            name: d.name.clone(),
            request_id: "c-1-again".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    let of_reversal = rep
        .reverse_deal(pb::ReverseDealRequest {
            name: reversal.name.clone(),
            request_id: "c-1-rr".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(of_reversal.code(), Code::FailedPrecondition);
    let unknown = s
        .admin()
        .reverse_deal(pb::ReverseDealRequest {
            name: "deals/nothing".into(),
            request_id: "u".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    // Every record stays; the original shows who reversed it.
    let all = s
        .admin()
        .list_deals(pb::ListDealsRequest { unit: "units/rep-1".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .deals;
    assert_eq!(all.len(), 3);
    assert_eq!(all.iter().find(|x| x.name == d.name).unwrap().reversed_by, reversal.name);
}

async fn reps_see_only_their_own(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut rep1 = s.tracking("rep-1", Role::Rep, "rep-1");
    let d = rep1.create_deal(deal("rep-1", "900.00", "2024-01-09", "mine")).await.unwrap().into_inner();
    let mut rep2 = s.tracking("rep-2", Role::Rep, "rep-2");
    let err = rep2.get_deal(pb::GetDealRequest { name: d.name.clone() }).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let missing = rep2.get_deal(pb::GetDealRequest { name: "deals/nope".into() }).await.unwrap_err();
    assert_eq!(missing.code(), Code::PermissionDenied, "out of scope and missing look the same");
    let err = rep2.create_deal(deal("rep-1", "1.00", "2024-01-09", "theirs")).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "rep 2 cannot even see rep 1: {err:?}");
    assert_eq!(
        rep2.get_attainment(pb::GetAttainmentRequest {
            unit: "units/rep-1".into(),
            period: "2024-01".into(),
            ..Default::default()
        })
        .await
        .unwrap_err()
        .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        rep2.list_deals(pb::ListDealsRequest { unit: "units/region-a".into(), ..Default::default() })
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let mut manager_b = s.tracking("mgr-b", Role::Manager, "region-b");
    assert_eq!(
        manager_b.get_deal(pb::GetDealRequest { name: d.name.clone() }).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let mut manager_a = s.tracking("mgr-a", Role::Manager, "region-a");
    assert!(manager_a.get_deal(pb::GetDealRequest { name: d.name }).await.is_ok());
    let mut viewer = s.tracking("ceo", Role::Viewer, "acme");
    assert_eq!(
        viewer.create_deal(deal("rep-1", "1.00", "2024-01-09", "v")).await.unwrap_err().code(),
        Code::PermissionDenied
    );
}

async fn serves_health_and_reflection(backend: Backend) {
    let s = spawn_suite(backend).await;
    attain_kit::testing::assert_health_and_reflection(s.tracking_channel(), &["attain.tracking.v1.TrackingService"])
        .await;
}

/// Two replicas on one database: a watcher on either hears alerts raised
/// through the other, and both serve the same figures.
async fn replicas_share_alerts_and_figures(backend: Backend) {
    let mut s = spawn_suite(backend).await;
    let mut a = s.tracking("rep-1", Role::Rep, "rep-1");
    let mut b = s.replica("rep-1", Role::Rep, "rep-1").await;
    let mut watch_b = b
        .watch_alerts(pb::WatchAlertsRequest { unit: "units/rep-1".into(), include_open: false, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let mut watch_a = a
        .watch_alerts(pb::WatchAlertsRequest { unit: "units/rep-1".into(), include_open: false, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    a.create_deal(deal("rep-1", "1000.00", "2024-01-10", "via-a")).await.unwrap();
    for stream in [&mut watch_a, &mut watch_b] {
        let alert = next_alert(stream).await;
        assert_eq!((alert.unit.as_str(), alert.state), ("units/rep-1", pb::AlertState::Open as i32));
    }
    b.create_deal(deal("rep-1", "2000.00", "2024-01-11", "via-b")).await.unwrap();
    assert_eq!(amount(&attainment(&mut a, "rep-1").await.actual), "3000.00");
    assert_eq!(amount(&attainment(&mut b, "rep-1").await.actual), "3000.00");
}

/// The schedule, running as the service account, catches the region
/// falling behind (as the evaluator of moved units does too).
async fn the_schedule_evaluates_every_unit(backend: Backend) {
    let service = attain_kit::testing::token("svc-tracking", Role::Admin, "");
    let s = crate::helpers::spawn_suite_with(backend, |settings| {
        settings.jobs.alert_evaluation_seconds = 1;
        settings.jobs.service_token = Some(secrecy::SecretString::from(service));
    })
    .await;
    let mut manager = s.tracking("mgr-a", Role::Manager, "region-a");
    let mut stream = manager
        .watch_alerts(pb::WatchAlertsRequest {
            unit: "units/region-a".into(),
            include_open: false,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut rep = s.tracking("rep-1", Role::Rep, "rep-1");
    rep.create_deal(deal("rep-1", "1000.00", "2024-01-10", "small")).await.unwrap();
    let mut units = std::collections::HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
    while !units.contains("units/region-a") && tokio::time::Instant::now() < deadline {
        if let Ok(Ok(Some(m))) = tokio::time::timeout(Duration::from_secs(3), stream.message()).await {
            units.insert(m.alert.unwrap().unit);
        }
    }
    assert!(units.contains("units/region-a"), "the region's alert comes from the schedule: {units:?}");
}

both_backends!(
    the_schedule_evaluates_every_unit,
    replicas_share_alerts_and_figures,
    the_guides_january,
    request_ids_make_ingestion_idempotent,
    batches_are_all_or_nothing,
    bad_deals_get_clear_errors,
    corrections_are_reversals,
    reps_see_only_their_own,
    serves_health_and_reflection,
);
