//! TargetService end to end over gRPC: the guide's numbers (DESIGN §6 steps
//! 1–4 and 7), bad input, concurrency and scope.

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::{
    common::v1::{Dimensions, Money},
    target::v1::{self as pb, UnitKind::*},
};
use tonic::Code;

use crate::helpers::{Targets, TestApp, assert_status, create, spawn_app};

pub(crate) fn cny(amount: &str) -> Option<Money> {
    Some(Money { currency_code: "CNY".into(), amount: amount.into() })
}

pub(crate) fn amount(m: &Option<Money>) -> &str {
    m.as_ref().map(|m| m.amount.as_str()).unwrap_or("<none>")
}

/// Acme with regions A–D; region A holds three reps directly (a senior, a
/// regular and a new hire), region B one rep.
pub(crate) async fn seed_guide_org(app: &TestApp) {
    let mut a = app.admin();
    create(&mut a, "acme", "", Company, "Acme").await;
    for (id, name) in
        [("region-a", "Region A"), ("region-b", "Region B"), ("region-c", "Region C"), ("region-d", "Region D")]
    {
        create(&mut a, id, "units/acme", Region, name).await;
    }
    for (id, seniority) in
        [("rep-1", pb::Seniority::Senior), ("rep-2", pb::Seniority::Regular), ("rep-3", pb::Seniority::NewHire)]
    {
        let mut u = crate::helpers::unit("units/region-a", Rep, id);
        u.seniority = seniority as i32;
        u.manager = id.into();
        a.create_unit(pb::CreateUnitRequest { unit: Some(u), unit_id: id.into(), request_id: String::new() })
            .await
            .unwrap();
    }
    create(&mut a, "rep-9", "units/region-b", Rep, "rep-9").await;
}

pub(crate) fn plan_request() -> pb::CreatePlanRequest {
    pb::CreatePlanRequest {
        plan: Some(pb::Plan {
            display_name: "FY2024".into(),
            top_unit: "units/acme".into(),
            fiscal_year: 2024,
            currency_code: "CNY".into(),
            base_amount: cny("8000000.00"),
            growth_rate: "0.25".into(),
            rounding_unit: "0.01".into(),
            coverage_policy: Some(pb::CoveragePolicy {
                mode: pb::CoverageMode::Reserve as i32,
                max_reserve_percent: "10".into(),
                ..Default::default()
            }),
            milestone_template: vec![
                pb::Milestone { day_of_period: 5, percent: "20".into() },
                pb::Milestone { day_of_period: 15, percent: "50".into() },
            ],
            ..Default::default()
        }),
        plan_id: "fy2024".into(),
        request_id: String::new(),
    }
}

fn weights(pairs: &[(&str, &str)]) -> Vec<pb::SplitInput> {
    pairs
        .iter()
        .map(|(u, w)| pb::SplitInput { unit: format!("units/{u}"), weight: (*w).into(), ..Default::default() })
        .collect()
}

/// Steps 1–3: plan, regions, region A's reps.
pub(crate) async fn plan_and_split(t: &mut Targets) -> pb::Plan {
    let plan = t.create_plan(plan_request()).await.unwrap().into_inner();
    let regions = pb::DecomposeTargetRequest {
        parent_target: "plans/fy2024/targets/acme".into(),
        strategy: pb::SplitStrategy::Weights as i32,
        inputs: weights(&[("region-a", "30"), ("region-b", "25"), ("region-c", "20"), ("region-d", "15")]),
        allocate_percent: "90".into(),
        ..Default::default()
    };
    t.decompose_target(regions).await.unwrap();
    let history = |u: &str, a: &str| pb::SplitInput {
        unit: format!("units/{u}"),
        historical_actual: a.into(),
        ..Default::default()
    };
    let reps = pb::DecomposeTargetRequest {
        parent_target: "plans/fy2024/targets/region-a".into(),
        strategy: pb::SplitStrategy::HistoricalShare as i32,
        inputs: vec![history("rep-1", "1200000"), history("rep-2", "1000000"), history("rep-3", "1000000")],
        modifiers: Some(pb::SplitModifiers { new_hire_factor: "0.8".into(), ..Default::default() }),
        ..Default::default()
    };
    t.decompose_target(reps).await.unwrap();
    plan
}

async fn the_guides_plan_split_phase_and_adjustment(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_guide_org(&app).await;
    let mut admin = app.targets_admin();

    // Step 1: 8,000,000.00 × 1.25.
    let plan = admin.create_plan(plan_request()).await.unwrap().into_inner();
    assert_eq!(amount(&plan.top_target), "10000000.00");
    assert_eq!(plan.state, pb::PlanState::Draft as i32);
    let top = admin
        .get_target(pb::GetTargetRequest { name: "plans/fy2024/targets/acme".into(), as_of: None })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(amount(&top.amount), "10000000.00");

    // Step 2: regions 30/25/20/15 of the parent, 10% reserve — previewed, then saved.
    let mut regions = pb::DecomposeTargetRequest {
        parent_target: "plans/fy2024/targets/acme".into(),
        strategy: pb::SplitStrategy::Weights as i32,
        inputs: weights(&[("region-a", "30"), ("region-b", "25"), ("region-c", "20"), ("region-d", "15")]),
        allocate_percent: "90".into(),
        validate_only: true,
        ..Default::default()
    };
    let preview = admin.decompose_target(regions.clone()).await.unwrap().into_inner();
    assert!(preview.validate_only);
    assert_status(
        admin.get_target(pb::GetTargetRequest { name: "plans/fy2024/targets/region-a".into(), as_of: None }).await,
        Code::FailedPrecondition,
        None,
    );
    regions.validate_only = false;
    let split = admin.decompose_target(regions).await.unwrap().into_inner();
    let got: Vec<(&str, &str)> = split.targets.iter().map(|t| (t.unit.as_str(), amount(&t.amount))).collect();
    assert_eq!(
        got,
        [
            ("units/region-a", "3000000.00"),
            ("units/region-b", "2500000.00"),
            ("units/region-c", "2000000.00"),
            ("units/region-d", "1500000.00")
        ]
    );
    assert_eq!(got, preview.targets.iter().map(|t| (t.unit.as_str(), amount(&t.amount))).collect::<Vec<_>>());
    let cov = split.coverage.unwrap();
    assert_eq!(
        (amount(&cov.allocated), amount(&cov.reserve), amount(&cov.over_assignment)),
        ("9000000.00", "1000000.00", "0.00")
    );

    // Step 3: region A to its reps by history; the new hire gets less than a
    // regular rep with the same history.
    let history = |u: &str, a: &str| pb::SplitInput {
        unit: format!("units/{u}"),
        historical_actual: a.into(),
        ..Default::default()
    };
    let reps = pb::DecomposeTargetRequest {
        parent_target: "plans/fy2024/targets/region-a".into(),
        strategy: pb::SplitStrategy::HistoricalShare as i32,
        inputs: vec![history("rep-1", "1200000"), history("rep-2", "1000000"), history("rep-3", "1000000")],
        modifiers: Some(pb::SplitModifiers { new_hire_factor: "0.8".into(), ..Default::default() }),
        ..Default::default()
    };
    let reps = admin.decompose_target(reps).await.unwrap().into_inner();
    let got: Vec<(&str, &str)> = reps.targets.iter().map(|t| (t.unit.as_str(), amount(&t.amount))).collect();
    assert_eq!(got, [("units/rep-1", "1200000.00"), ("units/rep-2", "1000000.00"), ("units/rep-3", "800000.00")]);

    // Step 4: rep 1's year by a quarterly profile; Q1's months 100,000 each.
    let phased = admin
        .phase_target(pb::PhaseTargetRequest {
            target: "plans/fy2024/targets/rep-1".into(),
            phasing: Some(pb::PhasingCurve {
                method: pb::PhasingMethod::Profile as i32,
                profile_percents: vec!["25".into(), "29.1666666667".into(), "20.8333333333".into(), "25".into()],
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let by_period: Vec<(String, String)> = phased
        .periods
        .iter()
        .map(|p| (p.period.as_ref().unwrap().expression.clone(), amount(&p.amount).to_owned()))
        .collect();
    let expect = [
        ("2024-Q1", "300000.00"),
        ("2024-Q2", "350000.00"),
        ("2024-Q3", "250000.00"),
        ("2024-Q4", "300000.00"),
        ("2024-01", "100000.00"),
        ("2024-02", "100000.00"),
        ("2024-03", "100000.00"),
    ];
    for (p, a) in expect {
        assert!(by_period.iter().any(|(bp, ba)| bp == p && ba == a), "{p} should be {a}: {by_period:?}");
    }

    // Milestones: on Jan 16 the 50%-by-the-15th milestone is in force.
    let expected = admin
        .batch_get_expected_amounts(pb::BatchGetExpectedAmountsRequest {
            plan: "plans/fy2024".into(),
            units: vec!["units/rep-1".into()],
            period: "2024-01".into(),
            date: "2024-01-16".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let e = &expected.amounts[0];
    assert_eq!((amount(&e.period_target), amount(&e.expected_by_milestone)), ("100000.00", "50000.00"));
    assert_eq!(e.milestone.as_ref().unwrap().day_of_period, 15);
    assert_eq!(expected.alert_thresholds.unwrap().red_below_percent, "80");

    // Bulk read of region A's quarter: every rep in one call; months tile it.
    let q1 = admin
        .query_period_targets(pb::QueryPeriodTargetsRequest {
            plan: "plans/fy2024".into(),
            unit: "units/region-a".into(),
            period: "2024-Q1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(q1.targets.len(), 4);
    let dec = |m: &Option<Money>| amount(m).parse::<rust_decimal::Decimal>().unwrap();
    let mut month_sums = std::collections::HashMap::<String, rust_decimal::Decimal>::new();
    for m in ["2024-01", "2024-02", "2024-03"] {
        let req = pb::QueryPeriodTargetsRequest {
            plan: "plans/fy2024".into(),
            unit: "units/region-a".into(),
            period: m.into(),
            ..Default::default()
        };
        for t in admin.query_period_targets(req).await.unwrap().into_inner().targets {
            *month_sums.entry(t.unit.clone()).or_default() += dec(&t.amount);
        }
    }
    for t in &q1.targets {
        assert_eq!(month_sums[&t.unit], dec(&t.amount), "months of {} sum to its quarter", t.unit);
    }
    // Roll-up (DESIGN §3): rep 1 has a quarterly profile, the region its
    // own curve, yet the region's quarter and each month is exactly its
    // reps' (they hold its whole target: no remainder).
    for p in ["2024-Q1", "2024-01", "2024-W05", "2024-02-20..2024-03-10"] {
        let req = pb::QueryPeriodTargetsRequest {
            plan: "plans/fy2024".into(),
            unit: "units/region-a".into(),
            period: p.into(),
            ..Default::default()
        };
        let rows = admin.query_period_targets(req).await.unwrap().into_inner().targets;
        let region = rows.iter().find(|t| t.unit == "units/region-a").map(|t| dec(&t.amount)).unwrap();
        let reps: rust_decimal::Decimal =
            rows.iter().filter(|t| t.unit != "units/region-a").map(|t| dec(&t.amount)).sum();
        assert_eq!(region, reps, "region A's {p} is its reps' {p}");
        let originals: rust_decimal::Decimal =
            rows.iter().filter(|t| t.unit != "units/region-a").map(|t| dec(&t.original_amount)).sum();
        let region_original = rows.iter().find(|t| t.unit == "units/region-a").map(|t| dec(&t.original_amount));
        assert_eq!(region_original, Some(originals));
    }

    // A dimension split of rep 2 by product line.
    let slices = admin
        .decompose_target(pb::DecomposeTargetRequest {
            parent_target: "plans/fy2024/targets/rep-2".into(),
            strategy: pb::SplitStrategy::Equal as i32,
            dimension: pb::SplitDimension::ProductLine as i32,
            inputs: ["hardware", "software", "services"]
                .iter()
                .map(|v| pb::SplitInput { dimension_value: (*v).into(), ..Default::default() })
                .collect(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let parts: Vec<&str> = slices.targets.iter().map(|t| amount(&t.amount)).collect();
    assert_eq!(parts, ["333333.34", "333333.33", "333333.33"]);
    assert_eq!(
        slices.targets[0].dimensions,
        Some(Dimensions { product_line: "hardware".into(), customer_type: String::new() })
    );
    // Slices are children too: rep 2's March slices add up to its March,
    // and region A's software target is the sum of its members' software
    // targets (only rep 2 has one); a unit with no software target gets no
    // row for it.
    let query = |unit: &str, period: &str, product: &str| pb::QueryPeriodTargetsRequest {
        plan: "plans/fy2024".into(),
        unit: unit.into(),
        period: period.into(),
        dimensions: Some(Dimensions { product_line: product.into(), customer_type: String::new() }),
        ..Default::default()
    };
    let march = |rows: &[pb::UnitPeriodTarget], unit: &str| {
        rows.iter().find(|t| t.unit == unit).map(|t| dec(&t.amount)).unwrap_or_default()
    };
    let whole = admin.query_period_targets(query("units/rep-2", "2024-03", "")).await.unwrap().into_inner().targets;
    let mut by_slice = rust_decimal::Decimal::ZERO;
    for product in ["hardware", "software", "services"] {
        let rows = admin.query_period_targets(query("units/rep-2", "2024-03", product)).await.unwrap().into_inner();
        by_slice += march(&rows.targets, "units/rep-2");
    }
    assert_eq!(by_slice, march(&whole, "units/rep-2"), "rep 2's March slices sum to its March");
    let software =
        admin.query_period_targets(query("units/region-a", "2024-03", "software")).await.unwrap().into_inner();
    assert_eq!(march(&software.targets, "units/region-a"), march(&software.targets, "units/rep-2"));
    assert!(march(&software.targets, "units/region-a") > rust_decimal::Decimal::ZERO);
    assert!(!software.targets.iter().any(|t| t.unit == "units/rep-1"), "rep 1 has no software target: no row");

    // Step 7: publish; rep 1 asks for −10% (policy); region A's manager approves.
    let published = admin
        .publish_plan(pb::PublishPlanRequest { name: plan.name.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(published.state, pb::PlanState::Published as i32);
    assert_status(
        admin
            .decompose_target(pb::DecomposeTargetRequest {
                parent_target: "plans/fy2024/targets/acme".into(),
                strategy: pb::SplitStrategy::Equal as i32,
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        None,
    );
    let before_adjustment = prost_types::Timestamp::from(std::time::SystemTime::now());
    let mut rep1 = app.targets("rep-1", Role::Rep, "rep-1");
    let request = pb::CreateAdjustmentRequest {
        parent: "plans/fy2024".into(),
        adjustment: Some(pb::Adjustment {
            target: "plans/fy2024/targets/rep-1".into(),
            change: Some(pb::adjustment::Change::ChangePercent("-10".into())),
            reason: pb::AdjustmentReason::Policy as i32,
            justification: "New pricing policy removes the volume discount in rep 1's territory".into(),
            redistribution: pb::Redistribution::ParentAbsorbs as i32,
            // From the start of January (still open on the 16th): the
            // guide's quarter then reads 90% of 300,000.
            effective_date: "2024-01-01".into(),
            ..Default::default()
        }),
        request_id: "adj-rep1-policy".into(),
    };
    let adj = rep1.create_adjustment(request.clone()).await.unwrap().into_inner();
    assert_eq!((amount(&adj.before_amount), amount(&adj.after_amount)), ("1200000.00", "1080000.00"));
    assert_eq!(adj.state, pb::AdjustmentState::Pending as i32);
    assert_eq!(
        rep1.create_adjustment(request).await.unwrap().into_inner(),
        adj,
        "a retried request returns the first result"
    );
    assert_status(
        rep1.approve_adjustment(pb::ApproveAdjustmentRequest { name: adj.name.clone(), ..Default::default() }).await,
        Code::PermissionDenied,
        None,
    );
    let mut manager = app.targets("mgr-a", Role::Manager, "region-a");
    let approved = manager
        .approve_adjustment(pb::ApproveAdjustmentRequest {
            name: adj.name.clone(),
            note: "agreed".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((approved.state, approved.decided_by.as_str()), (pb::AdjustmentState::Approved as i32, "mgr-a"));
    assert_status(
        manager.approve_adjustment(pb::ApproveAdjustmentRequest { name: adj.name.clone(), ..Default::default() }).await,
        Code::FailedPrecondition,
        None,
    );

    // The target, its history and the region roll-up changed together.
    let get = |name: &str| pb::GetTargetRequest { name: name.into(), as_of: None };
    let rep = admin.get_target(get("plans/fy2024/targets/rep-1")).await.unwrap().into_inner();
    assert_eq!((amount(&rep.amount), amount(&rep.original_amount)), ("1080000.00", "1200000.00"));
    let region = admin.get_target(get("plans/fy2024/targets/region-a")).await.unwrap().into_inner();
    assert_eq!(amount(&region.amount), "2880000.00");
    assert_eq!(amount(&region.coverage.as_ref().unwrap().allocated), "2880000.00", "region A's reps sum to its target");
    let company = admin.get_target(get("plans/fy2024/targets/acme")).await.unwrap().into_inner();
    assert_eq!((amount(&company.amount), amount(&company.coverage.unwrap().reserve)), ("10000000.00", "1120000.00"));
    let history = admin
        .list_target_revisions(pb::ListTargetRevisionsRequest {
            parent: "plans/fy2024/targets/rep-1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let last = history.revisions.last().unwrap();
    assert_eq!(last.change, pb::TargetChange::Adjusted as i32);
    assert_eq!((amount(&last.before), amount(&last.after), last.actor.as_str()), ("1200000.00", "1080000.00", "mgr-a"));
    assert_eq!(last.adjustment, adj.name);
    assert!(last.reason.contains("POLICY"));
    let then = admin
        .get_target(pb::GetTargetRequest { name: "plans/fy2024/targets/rep-1".into(), as_of: Some(before_adjustment) })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(amount(&then.amount), "1200000.00", "as_of reads the target as it stood");
    // Period reads show both the revised and the original target.
    let q1 = admin
        .batch_get_expected_amounts(pb::BatchGetExpectedAmountsRequest {
            plan: "plans/fy2024".into(),
            units: vec!["units/rep-1".into()],
            period: "2024-Q1".into(),
            date: "2024-03-31".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (amount(&q1.amounts[0].period_target), amount(&q1.amounts[0].original_period_target)),
        ("270000.00", "300000.00")
    );
}

async fn bad_input_gets_clear_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_guide_org(&app).await;
    let mut admin = app.targets_admin();

    for bad in ["1e5", "12.345.6", "NaN", "123456789012345678", "1.00001", ""] {
        let mut req = plan_request();
        req.plan.as_mut().unwrap().base_amount = cny(bad);
        assert_status(admin.create_plan(req).await, Code::InvalidArgument, Some("plan.base_amount.amount"));
    }
    let mut req = plan_request();
    req.plan.as_mut().unwrap().milestone_template = vec![pb::Milestone { day_of_period: 5, percent: "120".into() }];
    assert_status(admin.create_plan(req).await, Code::InvalidArgument, Some("plan.milestone_template[0].percent"));
    let mut req = plan_request();
    req.plan.as_mut().unwrap().milestone_template = vec![
        pb::Milestone { day_of_period: 15, percent: "50".into() },
        pb::Milestone { day_of_period: 5, percent: "60".into() },
    ];
    assert_status(
        admin.create_plan(req).await,
        Code::InvalidArgument,
        Some("plan.milestone_template[1].day_of_period"),
    );

    admin.create_plan(plan_request()).await.unwrap();
    // The region has no target before the company is split.
    assert_status(
        admin
            .decompose_target(pb::DecomposeTargetRequest {
                parent_target: "plans/fy2024/targets/region-a".into(),
                strategy: pb::SplitStrategy::Equal as i32,
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        None,
    );
    let split = |inputs: Vec<pb::SplitInput>, strategy: pb::SplitStrategy| pb::DecomposeTargetRequest {
        parent_target: "plans/fy2024/targets/acme".into(),
        strategy: strategy as i32,
        inputs,
        ..Default::default()
    };
    assert_status(
        admin
            .decompose_target(split(weights(&[("region-a", "1"), ("region-b", "-1")]), pb::SplitStrategy::Weights))
            .await,
        Code::InvalidArgument,
        Some("inputs[1].weight"),
    );
    assert_status(
        admin
            .decompose_target(split(weights(&[("region-a", "0"), ("region-b", "0")]), pb::SplitStrategy::Weights))
            .await,
        Code::InvalidArgument,
        Some("inputs"),
    );
    assert_status(
        admin.decompose_target(split(weights(&[("rep-1", "1")]), pb::SplitStrategy::Weights)).await,
        Code::InvalidArgument,
        Some("inputs[0].unit"),
    );
    let manual =
        |u: &str, a: &str| pb::SplitInput { unit: format!("units/{u}"), manual_amount: a.into(), ..Default::default() };
    let outside = admin
        .decompose_target(split(
            vec![manual("region-a", "4000000"), manual("region-b", "4000000")],
            pb::SplitStrategy::Manual,
        ))
        .await;
    let status = assert_status(outside, Code::InvalidArgument, Some("inputs"));
    assert!(status.message().contains("reserve 2000000.00 (20%)"), "{}", status.message());
    assert_status(
        admin.decompose_target(split(vec![], pb::SplitStrategy::Unspecified)).await,
        Code::InvalidArgument,
        Some("strategy"),
    );

    plan_and_split_after_plan(&mut admin).await;
    let profile = |p: &[&str]| pb::PhaseTargetRequest {
        target: "plans/fy2024/targets/rep-1".into(),
        phasing: Some(pb::PhasingCurve {
            method: pb::PhasingMethod::Profile as i32,
            profile_percents: p.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_status(
        admin.phase_target(profile(&["30", "30", "30", "11"])).await,
        Code::InvalidArgument,
        Some("phasing.profile_percents"),
    );
    let mut outside_year = profile(&["25", "25", "25", "25"]);
    outside_year.periods = vec!["2023-12".into()];
    assert_status(admin.phase_target(outside_year).await, Code::InvalidArgument, Some("periods[0]"));
    let expected = |period: &str, date: &str| pb::BatchGetExpectedAmountsRequest {
        plan: "plans/fy2024".into(),
        units: vec!["units/rep-1".into()],
        period: period.into(),
        date: date.into(),
        ..Default::default()
    };
    assert_status(
        admin.batch_get_expected_amounts(expected("2025-01", "2025-01-10")).await,
        Code::InvalidArgument,
        Some("period"),
    );
    assert_status(
        admin.batch_get_expected_amounts(expected("2024-13", "2024-01-10")).await,
        Code::InvalidArgument,
        Some("period"),
    );
    assert_status(admin.batch_get_expected_amounts(expected("2024-01", "")).await, Code::InvalidArgument, Some("date"));
    assert_status(
        admin
            .set_milestones(pb::SetMilestonesRequest {
                parent: "plans/fy2024/targets/rep-1".into(),
                milestones: vec![pb::Milestone { day_of_period: 40, percent: "10".into() }],
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        Some("milestones[0].day_of_period"),
    );

    // Adjusting a DRAFT plan's target, then a CLOSED one's.
    let adjust = || pb::CreateAdjustmentRequest {
        parent: "plans/fy2024".into(),
        adjustment: Some(pb::Adjustment {
            target: "plans/fy2024/targets/rep-1".into(),
            change: Some(pb::adjustment::Change::NewAmount(cny("1000000.00").unwrap())),
            reason: pb::AdjustmentReason::Market as i32,
            justification: "market".into(),
            redistribution: pb::Redistribution::SiblingsAbsorb as i32,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    assert_status(admin.create_adjustment(adjust()).await, Code::FailedPrecondition, None);
    admin.publish_plan(pb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() }).await.unwrap();
    assert_status(
        admin.publish_plan(pb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() }).await,
        Code::FailedPrecondition,
        None,
    );
    let mut no_reason = adjust();
    no_reason.adjustment.as_mut().unwrap().reason = 0;
    assert_status(admin.create_adjustment(no_reason).await, Code::InvalidArgument, Some("adjustment.reason"));
    let mut top_parent = adjust();
    top_parent.adjustment.as_mut().unwrap().target = "plans/fy2024/targets/acme".into();
    top_parent.adjustment.as_mut().unwrap().redistribution = pb::Redistribution::ParentAbsorbs as i32;
    assert_status(admin.create_adjustment(top_parent).await, Code::InvalidArgument, Some("adjustment.redistribution"));

    // Self-approval, request-id reuse with another payload, approving twice.
    let mut reused = adjust();
    reused.request_id = "same-id".into();
    let a = admin.create_adjustment(reused.clone()).await.unwrap().into_inner();
    reused.adjustment.as_mut().unwrap().justification = "something else".into();
    assert_status(admin.create_adjustment(reused).await, Code::AlreadyExists, None);
    assert_status(
        admin.approve_adjustment(pb::ApproveAdjustmentRequest { name: a.name.clone(), ..Default::default() }).await,
        Code::PermissionDenied,
        None,
    );
    let mut other_admin = app.targets("ops-2", Role::Admin, "");
    assert_status(
        other_admin
            .approve_adjustment(pb::ApproveAdjustmentRequest {
                name: a.name.clone(),
                etag: "99".into(),
                ..Default::default()
            })
            .await,
        Code::Aborted,
        None,
    );
    let approved = other_admin
        .approve_adjustment(pb::ApproveAdjustmentRequest { name: a.name.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(approved.state, pb::AdjustmentState::Approved as i32);
    assert_status(
        other_admin
            .approve_adjustment(pb::ApproveAdjustmentRequest { name: a.name.clone(), ..Default::default() })
            .await,
        Code::FailedPrecondition,
        None,
    );
    // A change its redistribution cannot carry is refused when asked: the
    // siblings (or the parent) would fall below zero.
    let mut too_big = adjust();
    too_big.adjustment.as_mut().unwrap().change = Some(pb::adjustment::Change::NewAmount(cny("3100000.00").unwrap()));
    assert_status(admin.create_adjustment(too_big.clone()).await, Code::InvalidArgument, Some("adjustment.change"));
    too_big.adjustment.as_mut().unwrap().target = "plans/fy2024/targets/region-a".into();
    too_big.adjustment.as_mut().unwrap().redistribution = pb::Redistribution::ParentAbsorbs as i32;
    too_big.adjustment.as_mut().unwrap().change = Some(pb::adjustment::Change::ChangePercent("-100".into()));
    // Cutting region A to zero would leave the company positive, but region
    // A has split all of its 3,000,000 to its reps: a target never falls
    // below what it has split (found from outside: an approved cut left a
    // region 100,000 below its reps, its January no longer theirs plus a
    // reserve).
    let to_zero =
        assert_status(admin.create_adjustment(too_big).await, Code::InvalidArgument, Some("adjustment.change"));
    assert!(to_zero.message().contains("below what it has split to its children"), "{to_zero:?}");
    // Siblings absorbed the 200,000 cut: region A still sums to 3,000,000.
    let reps = admin
        .query_period_targets(pb::QueryPeriodTargetsRequest {
            plan: "plans/fy2024".into(),
            unit: "units/region-a".into(),
            period: "2024".into(),
            children_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut sums: Vec<(String, String)> =
        reps.targets.iter().map(|t| (t.unit.clone(), amount(&t.amount).to_owned())).collect();
    sums.sort();
    assert_eq!(
        sums,
        [
            ("units/region-a".into(), "3000000.00".into()),
            ("units/rep-1".into(), "1000000.00".into()),
            ("units/rep-2".into(), "1111111.11".into()),
            ("units/rep-3".into(), "888888.89".into())
        ]
    );

    admin.close_plan(pb::ClosePlanRequest { name: "plans/fy2024".into(), ..Default::default() }).await.unwrap();
    assert_status(admin.create_adjustment(adjust()).await, Code::FailedPrecondition, None);
}

/// Steps 2–3 on an existing draft plan.
async fn plan_and_split_after_plan(t: &mut Targets) {
    let regions = pb::DecomposeTargetRequest {
        parent_target: "plans/fy2024/targets/acme".into(),
        strategy: pb::SplitStrategy::Weights as i32,
        inputs: weights(&[("region-a", "30"), ("region-b", "25"), ("region-c", "20"), ("region-d", "15")]),
        allocate_percent: "90".into(),
        ..Default::default()
    };
    t.decompose_target(regions).await.unwrap();
    let manual =
        |u: &str, a: &str| pb::SplitInput { unit: format!("units/{u}"), manual_amount: a.into(), ..Default::default() };
    let reps = pb::DecomposeTargetRequest {
        parent_target: "plans/fy2024/targets/region-a".into(),
        strategy: pb::SplitStrategy::Manual as i32,
        inputs: vec![manual("rep-1", "1200000"), manual("rep-2", "1000000"), manual("rep-3", "800000")],
        ..Default::default()
    };
    t.decompose_target(reps).await.unwrap();
}

/// DESIGN §3 Adjustments: approval comes from above the requester. Two
/// managers of region A are peers: neither approves the other's request;
/// the requester, a rep and a manager of another region cannot either;
/// the company's manager and an admin can.
async fn approval_comes_from_above_the_requester(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_guide_org(&app).await;
    let mut admin = app.targets_admin();
    plan_and_split(&mut admin).await;
    admin.publish_plan(pb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() }).await.unwrap();
    let mut first = app.targets("mgr-a", Role::Manager, "region-a");
    let ask = |id: &str| pb::CreateAdjustmentRequest {
        parent: "plans/fy2024".into(),
        adjustment: Some(pb::Adjustment {
            target: "plans/fy2024/targets/rep-2".into(),
            change: Some(pb::adjustment::Change::ChangePercent("-5".into())),
            reason: pb::AdjustmentReason::CustomerLoss as i32,
            justification: "lost a key account".into(),
            redistribution: pb::Redistribution::ParentAbsorbs as i32,
            ..Default::default()
        }),
        request_id: id.into(),
    };
    let a = first.create_adjustment(ask("peer-1")).await.unwrap().into_inner();
    let approve = |name: &str| pb::ApproveAdjustmentRequest { name: name.into(), ..Default::default() };
    let refused = [
        ("the requester", app.targets("mgr-a", Role::Manager, "region-a")),
        ("a second manager of region A", app.targets("mgr-a2", Role::Manager, "region-a")),
        ("rep 2 itself", app.targets("rep-2", Role::Rep, "rep-2")),
        ("a manager of region B", app.targets("mgr-b", Role::Manager, "region-b")),
        ("a viewer of the company", app.targets("exec", Role::Viewer, "acme")),
    ];
    for (who, mut client) in refused {
        let got = client.approve_adjustment(approve(&a.name)).await;
        assert!(
            matches!(&got, Err(s) if s.code() == Code::PermissionDenied),
            "{who} must not approve a region A manager's request: {got:?}"
        );
        let got = client.reject_adjustment(pb::RejectAdjustmentRequest { name: a.name.clone(), ..Default::default() });
        assert!(got.await.is_err(), "{who} must not reject it either");
    }
    let still = admin.get_adjustment(pb::GetAdjustmentRequest { name: a.name.clone() }).await.unwrap().into_inner();
    assert_eq!(still.state, pb::AdjustmentState::Pending as i32, "nothing was decided by a peer");
    let mut ceo = app.targets("ceo", Role::Manager, "acme");
    let approved = ceo.approve_adjustment(approve(&a.name)).await.unwrap().into_inner();
    assert_eq!((approved.state, approved.decided_by.as_str()), (pb::AdjustmentState::Approved as i32, "ceo"));

    // A rep's request: its region's manager is above it. An admin's
    // request needs another admin.
    let mut rep3 = app.targets("rep-3", Role::Rep, "rep-3");
    let mut r = ask("rep-3");
    r.adjustment.as_mut().unwrap().target = "plans/fy2024/targets/rep-3".into();
    let b = rep3.create_adjustment(r).await.unwrap().into_inner();
    let second = app.targets("mgr-a2", Role::Manager, "region-a").approve_adjustment(approve(&b.name)).await;
    assert_eq!(second.unwrap().into_inner().decided_by, "mgr-a2");
    let mut r = ask("by-admin");
    r.adjustment.as_mut().unwrap().target = "plans/fy2024/targets/rep-1".into();
    let c = admin.create_adjustment(r).await.unwrap().into_inner();
    assert_status(ceo.approve_adjustment(approve(&c.name)).await, Code::PermissionDenied, None);
    let other_admin = app.targets("ops-2", Role::Admin, "").approve_adjustment(approve(&c.name)).await;
    assert_eq!(other_admin.unwrap().into_inner().state, pb::AdjustmentState::Approved as i32);

    // A parent absorbs an increase only within its own parent's room: the
    // regions may not come to exceed the company (found from outside: an
    // approved +2.5M left the regions 1.6M above the company's target).
    let mut too_much = ask("too-much");
    too_much.adjustment.as_mut().unwrap().change = Some(pb::adjustment::Change::ChangePercent("250".into()));
    assert_status(first.create_adjustment(too_much).await, Code::InvalidArgument, Some("adjustment.change"));

    // Region A's reps hold all of its target: a cut of region A with its
    // sibling regions absorbing is refused when asked, naming region A.
    let mut below = ask("below-its-split");
    let a = below.adjustment.as_mut().unwrap();
    a.target = "plans/fy2024/targets/region-a".into();
    a.change = Some(pb::adjustment::Change::ChangePercent("-10".into()));
    a.redistribution = pb::Redistribution::SiblingsAbsorb as i32;
    let refused = assert_status(ceo.create_adjustment(below).await, Code::InvalidArgument, Some("adjustment.change"));
    assert!(refused.message().contains("plans/fy2024/targets/region-a"), "{refused:?}");
}

async fn concurrent_adjustments_one_wins(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_guide_org(&app).await;
    let mut admin = app.targets_admin();
    plan_and_split(&mut admin).await;
    admin.publish_plan(pb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() }).await.unwrap();
    let mut rep = app.targets("rep-2", Role::Rep, "rep-2");
    let ask = |pct: &str| pb::CreateAdjustmentRequest {
        parent: "plans/fy2024".into(),
        adjustment: Some(pb::Adjustment {
            target: "plans/fy2024/targets/rep-2".into(),
            change: Some(pb::adjustment::Change::ChangePercent(pct.into())),
            reason: pb::AdjustmentReason::CustomerLoss as i32,
            justification: "lost a key account".into(),
            redistribution: pb::Redistribution::ParentAbsorbs as i32,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let a = rep.create_adjustment(ask("-5")).await.unwrap().into_inner();
    let b = rep.create_adjustment(ask("-20")).await.unwrap().into_inner();
    let (mut m1, mut m2) = (app.targets("mgr-a", Role::Manager, "region-a"), app.targets("ceo", Role::Manager, "acme"));
    let (ra, rb) = tokio::join!(
        m1.approve_adjustment(pb::ApproveAdjustmentRequest { name: a.name.clone(), ..Default::default() }),
        m2.approve_adjustment(pb::ApproveAdjustmentRequest { name: b.name.clone(), ..Default::default() })
    );
    assert_eq!([ra.is_ok(), rb.is_ok()].iter().filter(|x| **x).count(), 1, "{ra:?} {rb:?}");
    let (winner, loser) = match (ra, rb) {
        (Ok(w), loser) | (loser, Ok(w)) => (w.into_inner(), loser),
        (Err(a), Err(b)) => panic!("both failed: {a:?} {b:?}"),
    };
    assert_status(loser, Code::Aborted, None);
    let target = admin
        .get_target(pb::GetTargetRequest { name: "plans/fy2024/targets/rep-2".into(), as_of: None })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(amount(&target.amount), amount(&winner.after_amount));
}

async fn targets_are_scoped(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_guide_org(&app).await;
    let mut admin = app.targets_admin();
    plan_and_split(&mut admin).await;
    let get = |n: &str| pb::GetTargetRequest { name: format!("plans/fy2024/targets/{n}"), as_of: None };

    let mut rep = app.targets("rep-1", Role::Rep, "rep-1");
    assert!(rep.get_target(get("rep-1")).await.is_ok());
    assert!(rep.get_plan(pb::GetPlanRequest { name: "plans/fy2024".into() }).await.is_ok());
    for other in ["rep-2", "region-a", "acme", "ghost"] {
        assert_status(rep.get_target(get(other)).await, Code::PermissionDenied, None);
    }
    let listed = rep
        .list_targets(pb::ListTargetsRequest { parent: "plans/fy2024".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.targets.iter().map(|t| t.unit.as_str()).collect::<Vec<_>>(), ["units/rep-1"]);
    assert_status(
        rep.query_period_targets(pb::QueryPeriodTargetsRequest {
            plan: "plans/fy2024".into(),
            unit: "units/region-a".into(),
            period: "2024-01".into(),
            ..Default::default()
        })
        .await,
        Code::PermissionDenied,
        None,
    );

    let mut manager = app.targets("mgr-a", Role::Manager, "region-a");
    let region = manager
        .query_period_targets(pb::QueryPeriodTargetsRequest {
            plan: "plans/fy2024".into(),
            unit: "units/region-a".into(),
            period: "2024-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(region.targets.len(), 4);
    assert_status(manager.get_target(get("region-b")).await, Code::PermissionDenied, None);
    // A manager phases its reps' targets but not its own.
    let phase = |t: &str| pb::PhaseTargetRequest {
        target: format!("plans/fy2024/targets/{t}"),
        phasing: Some(pb::PhasingCurve { method: pb::PhasingMethod::Even as i32, ..Default::default() }),
        ..Default::default()
    };
    assert!(manager.phase_target(phase("rep-2")).await.is_ok());
    assert_status(manager.phase_target(phase("region-a")).await, Code::PermissionDenied, None);
    assert_status(manager.create_plan(plan_request()).await, Code::PermissionDenied, None);

    let mut other = app.targets("mgr-b", Role::Manager, "region-b");
    assert_status(other.get_target(get("rep-1")).await, Code::PermissionDenied, None);
    let mut viewer = app.targets("ceo", Role::Viewer, "acme");
    assert!(viewer.get_target(get("rep-1")).await.is_ok());
    assert_status(viewer.phase_target(phase("rep-2")).await, Code::PermissionDenied, None);
}

/// Rolled-up expectations are kept per process until the plan's targets
/// change: after each kind of target write, made through another replica,
/// a replica with a warm cache answers what a cold one computes, and the
/// change shows.
async fn kept_expectations_follow_every_target_write(backend: Backend) {
    let app = spawn_app(backend).await;
    seed_guide_org(&app).await;
    let writer = app.replica().await;
    let mut admin = writer.targets_admin();
    plan_and_split(&mut admin).await;
    let read = |app: &TestApp, period: &'static str| {
        let mut t = app.targets_admin();
        async move {
            let r = t
                .batch_get_expected_amounts(pb::BatchGetExpectedAmountsRequest {
                    plan: "plans/fy2024".into(),
                    units: ["acme", "region-a", "rep-1", "rep-2"].iter().map(|u| format!("units/{u}")).collect(),
                    period: period.into(),
                    date: "2024-02-10".into(),
                    include_daily: true,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            format!("{:?}", r.amounts)
        }
    };
    let mut before = (read(&app, "2024-02").await, read(&app, "2024-Q1").await);
    let phase = pb::PhaseTargetRequest {
        target: "plans/fy2024/targets/rep-2".into(),
        phasing: Some(pb::PhasingCurve { method: pb::PhasingMethod::Even as i32, ..Default::default() }),
        ..Default::default()
    };
    let milestones = pb::SetMilestonesRequest {
        parent: "plans/fy2024/targets/region-a".into(),
        milestones: vec![pb::Milestone { day_of_period: 10, percent: "40".into() }],
        ..Default::default()
    };
    let adjust = pb::CreateAdjustmentRequest {
        parent: "plans/fy2024".into(),
        adjustment: Some(pb::Adjustment {
            target: "plans/fy2024/targets/rep-1".into(),
            change: Some(pb::adjustment::Change::ChangePercent("-10".into())),
            reason: pb::AdjustmentReason::CustomerLoss as i32,
            justification: "lost a key account".into(),
            redistribution: pb::Redistribution::ParentAbsorbs as i32,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    // Drafts are phased and given milestones; published plans adjusted.
    for write in ["phase", "milestones", "publication", "adjustment"] {
        match write {
            "phase" => drop(admin.phase_target(phase.clone()).await.unwrap()),
            "milestones" => drop(admin.set_milestones(milestones.clone()).await.unwrap()),
            "publication" => drop(
                admin
                    .publish_plan(pb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() })
                    .await
                    .unwrap(),
            ),
            _ => {
                let mut rep = writer.targets("rep-1", Role::Rep, "rep-1");
                let a = rep.create_adjustment(adjust.clone()).await.unwrap().into_inner();
                admin
                    .approve_adjustment(pb::ApproveAdjustmentRequest { name: a.name, ..Default::default() })
                    .await
                    .unwrap();
            }
        }
        let warm = (read(&app, "2024-02").await, read(&app, "2024-Q1").await);
        let cold = writer.replica().await;
        assert_eq!(warm, (read(&cold, "2024-02").await, read(&cold, "2024-Q1").await), "after the {write}");
        // Publication fixes the originals, which equal the amounts by then.
        assert!(write == "publication" || warm != before, "the {write} changed nothing shown");
        before = warm;
    }
    // A day after the period: everything due, as on its last day; a day
    // before it: nothing yet. Both from the kept figures.
    let mut t = app.targets_admin();
    let at = |period: &str, date: &str| pb::BatchGetExpectedAmountsRequest {
        plan: "plans/fy2024".into(),
        units: vec!["units/region-a".into(), "units/rep-2".into()],
        period: period.into(),
        date: date.into(),
        ..Default::default()
    };
    let after = t.batch_get_expected_amounts(at("2024-01", "2024-02-10")).await.unwrap().into_inner().amounts;
    let last = t.batch_get_expected_amounts(at("2024-01", "2024-01-31")).await.unwrap().into_inner().amounts;
    assert_eq!(after.len(), 2);
    for (a, l) in after.iter().zip(&last) {
        assert_eq!(amount(&a.expected_by_curve), amount(&a.period_target), "{a:?}");
        assert_eq!(amount(&a.expected_by_milestone), amount(&a.period_target), "{a:?}");
        assert_eq!(
            (&a.expected_by_curve, &a.expected_by_milestone, &a.milestone),
            (&l.expected_by_curve, &l.expected_by_milestone, &l.milestone)
        );
    }
    let ahead = t.batch_get_expected_amounts(at("2024-Q2", "2024-02-10")).await.unwrap().into_inner().amounts;
    assert_eq!(ahead.len(), 2);
    for a in &ahead {
        assert_ne!(amount(&a.period_target), "0.00");
        assert_eq!((amount(&a.expected_by_curve), amount(&a.expected_by_milestone)), ("0.00", "0.00"), "{a:?}");
        assert!(a.milestone.is_none());
    }
}

both_backends!(
    kept_expectations_follow_every_target_write,
    the_guides_plan_split_phase_and_adjustment,
    bad_input_gets_clear_errors,
    concurrent_adjustments_one_wins,
    approval_comes_from_above_the_requester,
    targets_are_scoped
);
