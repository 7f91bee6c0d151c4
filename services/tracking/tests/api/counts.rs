//! Count targets tracked like amounts: deals won (net of reversals), new
//! customers (first standing sale), visits (follow-ups in daily logs) —
//! attainment, drill-down, burn-up and alerts per metric.

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::{
    common::v1::{Dimensions, Metric, Money},
    target::v1::{self as tpb, target_service_client::TargetServiceClient},
    tracking::v1 as pb,
};
use tonic::Code;

use crate::helpers::{Suite, Tracking, bearer, cny, spawn_suite};

fn n(v: &str) -> Option<Money> {
    Some(Money { currency_code: String::new(), amount: v.into() })
}

/// A published FY plan of `metric` for acme: region A gets `region_a`,
/// split among its reps by hand.
async fn count_plan(s: &Suite, id: &str, year: i32, metric: Metric, reps: [&str; 3]) {
    let mut t = TargetServiceClient::with_interceptor(s.target_channel(), bearer("ops", Role::Admin, ""));
    t.create_plan(tpb::CreatePlanRequest {
        plan: Some(tpb::Plan {
            display_name: id.into(),
            top_unit: "units/acme".into(),
            fiscal_year: year,
            metric: metric as i32,
            base_amount: n("2400"),
            coverage_policy: Some(tpb::CoveragePolicy {
                mode: tpb::CoverageMode::Reserve as i32,
                max_reserve_percent: "100".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        plan_id: id.into(),
        request_id: String::new(),
    })
    .await
    .unwrap();
    let manual = |u: &str, a: &str| tpb::SplitInput {
        unit: format!("units/{u}"),
        manual_amount: a.into(),
        ..Default::default()
    };
    let split = |parent: &str, inputs| tpb::DecomposeTargetRequest {
        parent_target: format!("plans/{id}/targets/{parent}"),
        strategy: tpb::SplitStrategy::Manual as i32,
        inputs,
        ..Default::default()
    };
    let total: i64 = reps.iter().map(|r| r.parse::<i64>().unwrap()).sum();
    t.decompose_target(split("acme", vec![manual("region-a", &total.to_string())])).await.unwrap();
    t.decompose_target(split(
        "region-a",
        vec![manual("rep-1", reps[0]), manual("rep-2", reps[1]), manual("rep-3", reps[2])],
    ))
    .await
    .unwrap();
    t.publish_plan(tpb::PublishPlanRequest { name: format!("plans/{id}"), ..Default::default() }).await.unwrap();
}

fn sale(customer: &str, date: &str, request_id: &str) -> pb::CreateDealRequest {
    pb::CreateDealRequest {
        deal: Some(pb::Deal {
            rep: "units/rep-1".into(),
            amount: cny("1000"),
            close_date: date.into(),
            customer: customer.into(),
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

fn visits(date: &str, follow_ups: usize, request_id: &str) -> pb::CreateDailyLogRequest {
    pb::CreateDailyLogRequest {
        daily_log: Some(pb::DailyLog {
            rep: "units/rep-1".into(),
            log_date: date.into(),
            follow_ups: (0..follow_ups)
                .map(|i| pb::FollowUp { customer: format!("c{i}"), stage: "visit".into(), next_step: "call".into() })
                .collect(),
            notes: "拜访".into(),
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

async fn attainment(t: &mut Tracking, unit: &str, metric: Metric) -> pb::Attainment {
    t.get_attainment(pb::GetAttainmentRequest {
        unit: format!("units/{unit}"),
        period: "2024-01".into(),
        metric: metric as i32,
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
}

fn amount(m: &Option<Money>) -> (&str, &str) {
    m.as_ref().map_or(("", ""), |m| (m.currency_code.as_str(), m.amount.as_str()))
}

async fn count_targets_track_like_amounts(backend: Backend) {
    let s = spawn_suite(backend).await;
    // Last year's amount plan, so December's deal can be booked.
    let mut t = TargetServiceClient::with_interceptor(s.target_channel(), bearer("ops", Role::Admin, ""));
    t.create_plan(tpb::CreatePlanRequest {
        plan: Some(tpb::Plan {
            display_name: "FY2023".into(),
            top_unit: "units/acme".into(),
            fiscal_year: 2023,
            currency_code: "CNY".into(),
            base_amount: cny("1000000"),
            ..Default::default()
        }),
        plan_id: "fy2023".into(),
        request_id: String::new(),
    })
    .await
    .unwrap();
    count_plan(&s, "deals-2024", 2024, Metric::DealsWon, ["120", "120", "60"]).await;
    count_plan(&s, "customers-2024", 2024, Metric::NewCustomers, ["24", "24", "12"]).await;
    count_plan(&s, "visits-2024", 2024, Metric::Visits, ["600", "600", "300"]).await;

    let mut admin = s.admin();
    // C bought in December: not new in January. A is new (twice bought,
    // counted once). B's only deal is reversed: not acquired.
    admin.create_deal(sale("C", "2023-12-15", "c-dec")).await.unwrap();
    admin.create_deal(sale("A", "2024-01-05", "a-1")).await.unwrap();
    let b = admin.create_deal(sale("B", "2024-01-08", "b-1")).await.unwrap().into_inner();
    admin.create_deal(sale("A", "2024-01-10", "a-2")).await.unwrap();
    admin.create_deal(sale("C", "2024-01-12", "c-jan")).await.unwrap();
    admin
        .reverse_deal(pb::ReverseDealRequest {
            name: b.name,
            reason: "cancelled".into(),
            request_id: "b-undo".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    admin.create_daily_log(visits("2024-01-09", 2, "v-1")).await.unwrap();
    admin.create_daily_log(visits("2024-01-15", 3, "v-2")).await.unwrap();

    let mut rep = s.tracking("rep-1", Role::Rep, "rep-1");
    let deals = attainment(&mut rep, "rep-1", Metric::DealsWon).await;
    assert_eq!(deals.metric, Metric::DealsWon as i32);
    assert_eq!(amount(&deals.actual), ("XXX", "3"));
    let (cur, target) = amount(&deals.target);
    assert_eq!((cur, target.parse::<i64>().is_ok()), ("XXX", true), "a whole-number target: {target}");
    assert_eq!(amount(&attainment(&mut rep, "rep-1", Metric::NewCustomers).await.actual), ("XXX", "1"));
    assert_eq!(amount(&attainment(&mut rep, "rep-1", Metric::Visits).await.actual), ("XXX", "5"));
    // The amount read is unchanged: 3 standing January deals of 1,000.
    assert_eq!(amount(&attainment(&mut rep, "rep-1", Metric::Amount).await.actual), ("CNY", "3000.00"));

    // Drill-down and burn-up per metric.
    let mut lead = s.tracking("lead-a", Role::Manager, "region-a");
    let drill = lead
        .list_child_attainments(pb::ListChildAttainmentsRequest {
            unit: "units/region-a".into(),
            period: "2024-01".into(),
            metric: Metric::Visits as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(amount(&drill.parent.unwrap().actual), ("XXX", "5"));
    let rep2 = drill.children.iter().find(|c| c.unit == "units/rep-2").unwrap();
    assert_eq!((amount(&rep2.actual).1, rep2.status), ("0", attain_proto::attain::common::v1::Status::Red as i32));
    let burn = lead
        .get_burn_up(pb::GetBurnUpRequest {
            unit: "units/rep-1".into(),
            period: "2024-01".into(),
            metric: Metric::DealsWon as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(amount(&burn.days[15].actual_to_date), ("XXX", "3"));
    assert_eq!(amount(&burn.days[6].actual_to_date), ("XXX", "1"), "the 7th: A only (B came on the 8th)");

    // Alerts per metric: rep 2 is behind on deals won and on amount, as
    // two live alerts.
    for metric in [Metric::Amount, Metric::DealsWon] {
        admin
            .evaluate_alerts(pb::EvaluateAlertsRequest {
                unit: "units/region-a".into(),
                period: "2024-01".into(),
                metric: metric as i32,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let alerts = lead
        .list_alerts(pb::ListAlertsRequest { unit: "units/rep-2".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .alerts;
    let behind: Vec<i32> = alerts
        .iter()
        .filter(|a| a.rule == pb::AlertRule::BehindPace as i32 && a.state == pb::AlertState::Open as i32)
        .map(|a| a.metric)
        .collect();
    assert!(behind.contains(&(Metric::Amount as i32)) && behind.contains(&(Metric::DealsWon as i32)), "{behind:?}");

    // Bad input: slices of visits, an unknown metric.
    let sliced = rep
        .get_attainment(pb::GetAttainmentRequest {
            unit: "units/rep-1".into(),
            period: "2024-01".into(),
            metric: Metric::Visits as i32,
            dimensions: Some(Dimensions { product_line: "硬件".into(), ..Default::default() }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(sliced.code(), Code::InvalidArgument);
    // A slice nobody set a target for has no colour (never GREEN).
    let untargeted = rep
        .get_attainment(pb::GetAttainmentRequest {
            unit: "units/rep-1".into(),
            period: "2024-01".into(),
            dimensions: Some(Dimensions { product_line: "硬件".into(), ..Default::default() }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(untargeted.status, attain_proto::attain::common::v1::Status::NoTarget as i32);
    assert!(untargeted.attainment_rate.is_empty(), "no target, no rate: {untargeted:?}");
    let unknown = rep
        .get_attainment(pb::GetAttainmentRequest {
            unit: "units/rep-1".into(),
            period: "2024-01".into(),
            metric: 99,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument);
}

both_backends!(count_targets_track_like_amounts);
