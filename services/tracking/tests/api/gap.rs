//! Gap attribution over gRPC: against last year and against target, the
//! volume, conversion and AOV effects sum exactly to the difference.

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::{
    common::v1::Money,
    target::v1::{self as tpb, target_service_client::TargetServiceClient},
    tracking::v1 as pb,
};
use rust_decimal::Decimal;

use crate::helpers::{bearer, cny, spawn_suite};

fn sale(amount: &str, date: &str, request_id: &str) -> pb::CreateDealRequest {
    pb::CreateDealRequest {
        deal: Some(pb::Deal {
            rep: "units/rep-1".into(),
            amount: cny(amount),
            close_date: date.into(),
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

fn losses(date: &str, n: usize, request_id: &str) -> pb::CreateDailyLogRequest {
    pb::CreateDailyLogRequest {
        daily_log: Some(pb::DailyLog {
            rep: "units/rep-1".into(),
            log_date: date.into(),
            lost_deals: (0..n)
                .map(|i| pb::LostDeal {
                    customer: format!("lost {i}"),
                    reason: pb::LossReason::Price as i32,
                    detail: String::new(),
                    amount: cny("1000"),
                })
                .collect(),
            notes: "丢单".into(),
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

fn dec(m: &Option<Money>) -> Decimal {
    m.as_ref().map(|m| m.amount.parse().unwrap()).unwrap_or_default()
}

fn parts(b: &pb::GapBreakdown) -> (Decimal, Decimal, Decimal, Decimal) {
    (dec(&b.difference), dec(&b.volume_effect), dec(&b.conversion_effect), dec(&b.average_order_value_effect))
}

async fn gap_attribution(backend: Backend) {
    let s = spawn_suite(backend).await;
    // Last year's deals need last year's plan (a draft is enough to book).
    let mut targets = TargetServiceClient::with_interceptor(s.target_channel(), bearer("ops", Role::Admin, ""));
    targets
        .create_plan(tpb::CreatePlanRequest {
            plan: Some(tpb::Plan {
                display_name: "FY2023".into(),
                top_unit: "units/acme".into(),
                fiscal_year: 2023,
                currency_code: "CNY".into(),
                base_amount: cny("6000000"),
                growth_rate: "0".into(),
                ..Default::default()
            }),
            plan_id: "fy2023".into(),
            request_id: String::new(),
        })
        .await
        .unwrap();
    let mut admin = s.admin();
    // January 2023 to the 16th: 8 closed, 4 won at 10,000.
    for i in 0..4 {
        admin.create_deal(sale("10000", "2023-01-10", &format!("ly-{i}"))).await.unwrap();
    }
    admin.create_daily_log(losses("2023-01-11", 4, "ly-lost")).await.unwrap();
    // A deal after the 16th last year is not like for like.
    admin.create_deal(sale("99999", "2023-01-20", "ly-late")).await.unwrap();
    // January 2024: 12 closed, 3 won at 12,000.
    for i in 0..3 {
        admin.create_deal(sale("12000", "2024-01-09", &format!("ty-{i}"))).await.unwrap();
    }
    admin.create_daily_log(losses("2024-01-10", 9, "ty-lost")).await.unwrap();

    let mut rep = s.tracking("rep-1", Role::Rep, "rep-1");
    let g = rep
        .get_gap_attribution(pb::GetGapAttributionRequest {
            unit: "units/rep-1".into(),
            period: "2024-01".into(),
            as_of_date: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let ly = g.against_last_year.unwrap();
    let (diff, volume, conversion, aov) = parts(&ly);
    assert_eq!(diff, Decimal::from(36_000 - 40_000));
    assert_eq!(volume + conversion + aov, diff, "{ly:?}");
    // More opportunities helped, converting half as many hurt, bigger orders helped.
    assert!(volume > Decimal::ZERO && conversion < Decimal::ZERO && aov > Decimal::ZERO, "{ly:?}");
    let (now, before) = (ly.current.unwrap(), ly.reference.unwrap());
    assert_eq!(
        (now.opportunities.as_str(), now.conversion_rate.as_str(), dec(&now.average_order_value)),
        ("12", "0.25", Decimal::from(12_000))
    );
    assert_eq!(
        (before.opportunities.as_str(), before.conversion_rate.as_str(), dec(&before.average_order_value)),
        ("8", "0.5", Decimal::from(10_000))
    );

    // Against target: actual − expected-to-date, at last year's rates.
    let t = g.against_target.unwrap();
    let attainment = rep
        .get_attainment(pb::GetAttainmentRequest {
            unit: "units/rep-1".into(),
            period: "2024-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let (diff, volume, conversion, aov) = parts(&t);
    assert_eq!(diff, dec(&attainment.actual) - dec(&attainment.expected_to_date));
    assert_eq!(volume + conversion + aov, diff, "{t:?}");
    assert_eq!(dec(&t.reference.as_ref().unwrap().amount), dec(&attainment.expected_to_date));

    // Another rep's attribution is not the rep's to read.
    let denied = rep
        .get_gap_attribution(pb::GetGapAttributionRequest {
            unit: "units/rep-2".into(),
            period: "2024-01".into(),
            as_of_date: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
}

both_backends!(gap_attribution);
