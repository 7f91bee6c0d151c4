//! Count targets (deals won, new customers, visits): whole numbers through
//! split and phasing, no currency, clear errors for fractions.

use attain_kit::{both_backends, testing::Backend};
use attain_proto::attain::{
    common::v1::{Metric, Money},
    target::v1::{self as pb, UnitKind::*},
};
use rust_decimal::Decimal;
use tonic::Code;

use crate::helpers::{assert_status, create, spawn_app};

fn count(n: &str) -> Option<Money> {
    Some(Money { currency_code: String::new(), amount: n.into() })
}

fn deals_plan(base: &str) -> pb::CreatePlanRequest {
    pb::CreatePlanRequest {
        plan: Some(pb::Plan {
            display_name: "FY2024 deals won".into(),
            top_unit: "units/acme".into(),
            fiscal_year: 2024,
            metric: Metric::DealsWon as i32,
            base_amount: count(base),
            growth_rate: "0.1".into(),
            ..Default::default()
        }),
        plan_id: "fy2024-deals".into(),
        request_id: String::new(),
    }
}

async fn count_targets_are_whole_numbers(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut org = app.admin();
    create(&mut org, "acme", "", Company, "Acme").await;
    for r in ["region-a", "region-b", "region-c"] {
        create(&mut org, r, "units/acme", Region, r).await;
    }
    let mut t = app.targets_admin();

    // Bad input: fractional base, a currency, a fractional rounding unit.
    assert_status(t.create_plan(deals_plan("1000.5")).await, Code::InvalidArgument, Some("plan.base_amount"));
    let mut with_currency = deals_plan("1000");
    with_currency.plan.as_mut().unwrap().currency_code = "CNY".into();
    assert_status(t.create_plan(with_currency).await, Code::InvalidArgument, Some("plan.currency_code"));
    let mut half_unit = deals_plan("1000");
    half_unit.plan.as_mut().unwrap().rounding_unit = "0.5".into();
    assert_status(t.create_plan(half_unit).await, Code::InvalidArgument, Some("plan.rounding_unit"));

    // 1,000 deals last year, +10%: 1,100, in no currency.
    let plan = t.create_plan(deals_plan("1000")).await.unwrap().into_inner();
    assert_eq!(plan.metric, Metric::DealsWon as i32);
    assert_eq!(plan.currency_code, "XXX");
    assert_eq!(plan.rounding_unit, "1");
    assert_eq!(plan.top_target.as_ref().unwrap().amount, "1100");

    // An even three-way split of 1,100 deals: whole numbers summing exactly.
    let split = t
        .decompose_target(pb::DecomposeTargetRequest {
            parent_target: "plans/fy2024-deals/targets/acme".into(),
            strategy: pb::SplitStrategy::Equal as i32,
            inputs: ["region-a", "region-b", "region-c"]
                .iter()
                .map(|u| pb::SplitInput { unit: format!("units/{u}"), ..Default::default() })
                .collect(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let amounts: Vec<String> = split.targets.iter().map(|c| c.amount.as_ref().unwrap().amount.clone()).collect();
    assert_eq!(amounts, ["367", "367", "366"]);

    // A fractional manual amount is refused by name.
    let manual = t
        .decompose_target(pb::DecomposeTargetRequest {
            parent_target: "plans/fy2024-deals/targets/acme".into(),
            strategy: pb::SplitStrategy::Manual as i32,
            inputs: [("region-a", "10.5"), ("region-b", "300"), ("region-c", "300")]
                .iter()
                .map(|(u, a)| pb::SplitInput {
                    unit: format!("units/{u}"),
                    manual_amount: (*a).into(),
                    ..Default::default()
                })
                .collect(),
            validate_only: true,
            ..Default::default()
        })
        .await;
    assert_status(manual, Code::InvalidArgument, Some("inputs[0].manual_amount"));

    // Months are whole and sum exactly to the year.
    let mut sum = Decimal::ZERO;
    for m in 1..=12 {
        let got = t
            .query_period_targets(pb::QueryPeriodTargetsRequest {
                plan: plan.name.clone(),
                unit: "units/region-a".into(),
                period: format!("2024-{m:02}"),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let a: Decimal = got.targets[0].amount.as_ref().unwrap().amount.parse().unwrap();
        assert!(a.fract().is_zero(), "2024-{m:02}: {a}");
        sum += a;
    }
    assert_eq!(sum, Decimal::from(367));
}

both_backends!(count_targets_are_whole_numbers);
