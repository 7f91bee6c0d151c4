//! Changes that take effect from a date (DESIGN §3 Adjustments): a cut
//! approved in August leaves January to July exactly as they were shown,
//! lands on the rest of the year, and reads as of before it reproduce the
//! old figures; a rep who starts in May carries nothing before May.

use std::collections::BTreeMap;

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::target::v1 as pb;
use rust_decimal::Decimal;
use tonic::Code;

use crate::{
    helpers::{Targets, assert_status, spawn_app_with},
    targets::{amount, plan_and_split, seed_guide_org},
};

fn day(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Every unit's target for each month of 2024, as of `as_of` when given.
async fn months(t: &mut Targets, as_of: Option<prost_types::Timestamp>) -> BTreeMap<(String, u32), Decimal> {
    let mut out = BTreeMap::new();
    for m in 1..=12u32 {
        let r = t
            .query_period_targets(pb::QueryPeriodTargetsRequest {
                plan: "plans/fy2024".into(),
                unit: "units/acme".into(),
                period: format!("2024-{m:02}"),
                as_of,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        for row in r.targets {
            out.insert((row.unit, m), dec(amount(&row.amount)));
        }
    }
    out
}

fn year_of(months: &BTreeMap<(String, u32), Decimal>, unit: &str) -> Decimal {
    months.iter().filter(|((u, _), _)| u == unit).map(|(_, a)| *a).sum()
}

fn ask(
    target: &str,
    change: pb::adjustment::Change,
    redistribution: pb::Redistribution,
    effective: &str,
) -> pb::CreateAdjustmentRequest {
    pb::CreateAdjustmentRequest {
        parent: "plans/fy2024".into(),
        adjustment: Some(pb::Adjustment {
            target: format!("plans/fy2024/targets/{target}"),
            change: Some(change),
            reason: pb::AdjustmentReason::Policy as i32,
            justification: "the Q3 pricing policy".into(),
            redistribution: redistribution as i32,
            effective_date: effective.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

async fn approve(t: &mut Targets, adj: &pb::Adjustment) -> pb::Adjustment {
    t.approve_adjustment(pb::ApproveAdjustmentRequest { name: adj.name.clone(), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
}

/// A −10% cut of rep 1 approved on 12 August: January to July keep their
/// targets to the cent at every level, the year ends at the new amount,
/// and as_of reads from before the approval reproduce every month.
async fn a_cut_in_august_keeps_the_months_before_it(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.clock.today = Some(day("2024-08-12"))).await;
    seed_guide_org(&app).await;
    let mut admin = app.targets_admin();
    plan_and_split(&mut admin).await;
    admin.publish_plan(pb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() }).await.unwrap();
    let before = months(&mut admin, None).await;
    let shown_at = prost_types::Timestamp::from(std::time::SystemTime::now());
    let august = |t: &mut Targets, date: &'static str| {
        let mut t = t.clone();
        async move {
            let r = t
                .batch_get_expected_amounts(pb::BatchGetExpectedAmountsRequest {
                    plan: "plans/fy2024".into(),
                    units: ["rep-1", "region-a", "acme"].iter().map(|u| format!("units/{u}")).collect(),
                    period: "2024-08".into(),
                    date: date.into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            r.amounts
                .iter()
                .map(|a| {
                    (
                        a.unit.clone(),
                        amount(&a.expected_by_milestone).to_owned(),
                        amount(&a.expected_by_curve).to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let ninth = august(&mut admin, "2024-08-09").await;
    let twentieth = august(&mut admin, "2024-08-20").await;

    let cut = pb::adjustment::Change::ChangePercent("-10".into());
    // Bad dates are named: a month that has ended, outside the year, not a date.
    for (bad, why) in [("2024-07-31", "ended"), ("2025-01-02", "outside"), ("31/08/2024", "not a date")] {
        let s = assert_status(
            admin.create_adjustment(ask("rep-1", cut.clone(), pb::Redistribution::ParentAbsorbs, bad)).await,
            Code::InvalidArgument,
            Some("adjustment.effective_date"),
        );
        assert!(s.message().contains(why), "{bad}: {}", s.message());
    }
    let mut manager = app.targets("mgr-a", Role::Manager, "region-a");
    let adj = manager
        .create_adjustment(ask("rep-1", cut.clone(), pb::Redistribution::ParentAbsorbs, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(adj.effective_date, "", "no date asked: the approval day decides");
    let done = approve(&mut admin, &adj).await;
    assert_eq!(done.effective_date, "2024-08-12");

    let after = months(&mut admin, None).await;
    // 9 August, before the cut took effect: what was expected by then,
    // by milestone and by curve, stays; by the 20th it follows the cut.
    assert_eq!(august(&mut admin, "2024-08-09").await, ninth);
    assert_ne!(august(&mut admin, "2024-08-20").await, twentieth);
    for ((unit, m), was) in &before {
        if *m <= 7 {
            assert_eq!(after[&(unit.clone(), *m)], *was, "{unit} in month {m} was shown before the cut");
        }
    }
    assert_eq!(year_of(&after, "units/rep-1"), dec("1080000.00"), "the year ends at the new amount");
    assert_eq!(year_of(&after, "units/region-a"), dec("2880000.00"), "the region absorbed the cut");
    assert_eq!(year_of(&after, "units/acme"), dec("10000000.00"), "the company did not move");
    // The cut lands from 12 August on: August falls, but by less than the
    // later months' share of it.
    let rep1 = |m: &BTreeMap<(String, u32), Decimal>, month| m[&("units/rep-1".to_owned(), month)];
    assert!(rep1(&after, 8) < rep1(&before, 8) && rep1(&after, 9) < rep1(&before, 9));
    let rest_before: Decimal = (8..=12).map(|m| rep1(&before, m)).sum();
    let rest_after: Decimal = (8..=12).map(|m| rep1(&after, m)).sum();
    assert_eq!(rest_before - rest_after, dec("120000.00"), "the whole cut falls on August to December");
    // As of before the approval, every month reads as it was shown.
    assert_eq!(months(&mut admin, Some(shown_at)).await, before);
    let target = admin
        .get_target(pb::GetTargetRequest { name: "plans/fy2024/targets/rep-1".into(), as_of: None })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(target.steps.len(), 1);
    assert_eq!(
        (target.steps[0].effective_date.as_str(), amount(&target.steps[0].change)),
        ("2024-08-12", "-120000.00")
    );
    assert_eq!(target.steps[0].adjustment, adj.name);

    // Siblings absorb a cut from 1 September: rep 2's and rep 3's
    // January–August stay; region A's year does not move.
    let before = after;
    let adj = manager
        .create_adjustment(ask(
            "rep-1",
            pb::adjustment::Change::NewAmount(crate::targets::cny("1000000.00").unwrap()),
            pb::Redistribution::SiblingsAbsorb,
            "2024-09-01",
        ))
        .await
        .unwrap()
        .into_inner();
    let mut company = app.targets("boss", Role::Manager, "acme");
    assert_eq!(approve(&mut company, &adj).await.effective_date, "2024-09-01");
    let after = months(&mut admin, None).await;
    for ((unit, m), was) in &before {
        if *m <= 8 {
            assert_eq!(after[&(unit.clone(), *m)], *was, "{unit} in month {m}");
        }
    }
    assert_eq!(year_of(&after, "units/rep-1"), dec("1000000.00"));
    assert_eq!(year_of(&after, "units/region-a"), dec("2880000.00"));
    let reps: Decimal = ["units/rep-1", "units/rep-2", "units/rep-3"].iter().map(|u| year_of(&after, u)).sum();
    assert_eq!(reps, dec("2880000.00"), "the siblings took up what rep 1 gave");

    // October's target set outright (a review's accepted suggestion): the
    // yearly change is sized on rep 1's curve, already carrying two dated
    // changes, so October reads what was asked; September stays.
    let mut ask_october = ask(
        "rep-1",
        pb::adjustment::Change::PeriodAmount(pb::PeriodTargetChange {
            period: "2024-10".into(),
            amount: crate::targets::cny("100000.00"),
        }),
        pb::Redistribution::ParentAbsorbs,
        "",
    );
    let adj = manager.create_adjustment(ask_october.clone()).await.unwrap().into_inner();
    assert_eq!(adj.effective_date, "2024-10-01");
    approve(&mut company, &adj).await;
    let october = months(&mut admin, None).await;
    assert!((rep1(&october, 10) - dec("100000.00")).abs() <= dec("0.01"), "October reads {}", rep1(&october, 10));
    assert_eq!(rep1(&october, 9), rep1(&after, 9));
    ask_october.adjustment.as_mut().unwrap().effective_date = "2024-10-02".into();
    assert_status(
        manager.create_adjustment(ask_october).await,
        Code::InvalidArgument,
        Some("adjustment.effective_date"),
    );
}

/// A rep who starts on 1 May carries nothing before May, its year still
/// sums to its target, and a change cannot take effect before it starts.
async fn a_rep_who_starts_in_may(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.clock.today = Some(day("2024-01-16"))).await;
    seed_guide_org(&app).await;
    let mut admin = app.targets_admin();
    app.admin()
        .update_unit(pb::UpdateUnitRequest {
            unit: Some(pb::Unit { name: "units/rep-3".into(), start_date: "2024-05-01".into(), ..Default::default() }),
            update_mask: Some(prost_types::FieldMask { paths: vec!["start_date".into()] }),
            ..Default::default()
        })
        .await
        .unwrap();
    plan_and_split(&mut admin).await;
    let t = admin
        .get_target(pb::GetTargetRequest { name: "plans/fy2024/targets/rep-3".into(), as_of: None })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.start_date, "2024-05-01");
    admin.publish_plan(pb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() }).await.unwrap();
    let m = months(&mut admin, None).await;
    for month in 1..=4 {
        assert_eq!(m[&("units/rep-3".to_owned(), month)], Decimal::ZERO, "month {month}");
    }
    assert!(m[&("units/rep-3".to_owned(), 5)] > Decimal::ZERO);
    assert_eq!(year_of(&m, "units/rep-3"), dec(amount(&t.amount)));
    assert_eq!(year_of(&m, "units/region-a"), dec("3000000.00"), "the region still sums to its target");
    // Region A's January is its other reps' plus its reserve: rep 3's
    // share waits in the reserve until May.
    let s = assert_status(
        admin
            .create_adjustment(ask(
                "rep-3",
                pb::adjustment::Change::ChangePercent("5".into()),
                pb::Redistribution::ParentAbsorbs,
                "2024-02-01",
            ))
            .await,
        Code::InvalidArgument,
        Some("adjustment.effective_date"),
    );
    assert!(s.message().contains("before units/rep-3 starts"), "{}", s.message());
}

/// Expectations one replica has computed follow a change approved on
/// another (they are kept per state of the plan's targets, read from the
/// database at each call).
async fn a_replica_follows_changes_made_on_another(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.clock.today = Some(day("2024-08-12"))).await;
    seed_guide_org(&app).await;
    let mut a = app.targets_admin();
    plan_and_split(&mut a).await;
    a.publish_plan(pb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() }).await.unwrap();
    let other = app.replica().await;
    let mut b = other.targets_admin();
    let read = |t: &mut Targets| {
        let mut t = t.clone();
        async move {
            let r = t
                .batch_get_expected_amounts(pb::BatchGetExpectedAmountsRequest {
                    plan: "plans/fy2024".into(),
                    units: ["rep-1", "region-a", "acme", "rep-1"].iter().map(|u| format!("units/{u}")).collect(),
                    period: "2024-09".into(),
                    date: "2024-09-10".into(),
                    include_daily: true,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            r.amounts
                .iter()
                .map(|a| (a.unit.clone(), amount(&a.period_target).to_owned(), a.daily.len()))
                .collect::<Vec<_>>()
        }
    };
    let first = read(&mut a).await;
    assert_eq!(first.len(), 3, "a unit asked twice is answered once: {first:?}");
    assert_eq!(read(&mut a).await, first, "asked again: the same");
    let cut = pb::adjustment::Change::ChangePercent("-10".into());
    let mut manager = other.targets("mgr-a", Role::Manager, "region-a");
    let adj =
        manager.create_adjustment(ask("rep-1", cut, pb::Redistribution::ParentAbsorbs, "")).await.unwrap().into_inner();
    approve(&mut b, &adj).await;
    let after = read(&mut a).await;
    assert_eq!(after, read(&mut b).await, "both replicas answer alike");
    assert!(dec(&after[0].1) < dec(&first[0].1), "rep 1's September follows the cut: {first:?} → {after:?}");
    assert_eq!(after[2], first[2], "the region absorbed it: the company's September stands");
}

both_backends!(
    a_cut_in_august_keeps_the_months_before_it,
    a_rep_who_starts_in_may,
    a_replica_follows_changes_made_on_another
);

/// The year of region A as a sales-ops lead lives it, all filed on 6 May
/// (later dates are ahead): rep 4 joins that day and takes its target from
/// its colleagues, rep 2 leaves at the end of August and hands what it has
/// left to rep 4, rep 1 is cut 10% from July into the region's reserve.
/// Every month before each change stays as shown, every year still adds up.
async fn a_hire_a_leaver_and_a_cut(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.clock.today = Some(day("2024-05-06"))).await;
    seed_guide_org(&app).await;
    let mut admin = app.targets_admin();
    plan_and_split(&mut admin).await;
    admin.publish_plan(pb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() }).await.unwrap();
    let mut org = app.admin();
    let mut hire = crate::helpers::unit("units/region-a", pb::UnitKind::Rep, "rep-4");
    hire.start_date = "2024-05-06".into();
    hire.manager = "rep-4".into();
    org.create_unit(pb::CreateUnitRequest { unit: Some(hire), unit_id: "rep-4".into(), request_id: String::new() })
        .await
        .unwrap();
    let published = months(&mut admin, None).await;
    let mut manager = app.targets("mgr-a", Role::Manager, "region-a");
    let mut company = app.targets("boss", Role::Manager, "acme");
    let new_amount = |a: &str| pb::adjustment::Change::NewAmount(crate::targets::cny(a).unwrap());

    // The hire: region A keeps no reserve, so its colleagues give.
    let s = assert_status(
        manager.create_adjustment(ask("rep-4", new_amount("300000.00"), pb::Redistribution::ReserveAbsorbs, "")).await,
        Code::InvalidArgument,
        Some("adjustment.change"),
    );
    assert!(s.message().contains("reserve"), "{}", s.message());
    assert_status(
        manager
            .create_adjustment(ask(
                "rep-4",
                pb::adjustment::Change::ChangePercent("10".into()),
                pb::Redistribution::SiblingsAbsorb,
                "",
            ))
            .await,
        Code::InvalidArgument,
        Some("adjustment.change_percent"),
    );
    let adj = manager
        .create_adjustment(ask("rep-4", new_amount("300000.00"), pb::Redistribution::SiblingsAbsorb, ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((amount(&adj.before_amount), amount(&adj.after_amount)), ("0.00", "300000.00"));
    let pending = manager
        .list_adjustments(pb::ListAdjustmentsRequest {
            parent: "plans/fy2024".into(),
            state: pb::AdjustmentState::Pending as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(pending.adjustments.len(), 1, "the hire's request is listed before its target exists");
    approve(&mut company, &adj).await;
    let hired = months(&mut admin, None).await;
    let rep = |m: &BTreeMap<(String, u32), Decimal>, r: &str, month: u32| {
        m.get(&(format!("units/{r}"), month)).copied().unwrap_or_default()
    };
    for month in 1..=4 {
        assert_eq!(rep(&hired, "rep-4", month), Decimal::ZERO, "rep 4 before it joined, month {month}");
        for r in ["rep-1", "rep-2", "rep-3", "region-a", "acme"] {
            assert_eq!(rep(&hired, r, month), rep(&published, r, month), "{r} in month {month}");
        }
    }
    assert_eq!(year_of(&hired, "units/rep-4"), dec("300000.00"));
    assert_eq!(year_of(&hired, "units/region-a"), dec("3000000.00"));
    let reps = |m: &BTreeMap<(String, u32), Decimal>| -> Decimal {
        ["units/rep-1", "units/rep-2", "units/rep-3", "units/rep-4"].iter().map(|u| year_of(m, u)).sum()
    };
    assert_eq!(reps(&hired), dec("3000000.00"), "the colleagues gave what rep 4 took");

    // The leaver: an end date before the start is refused; after the end,
    // no ordinary change; what is left goes to a successor in scope.
    let end = |start: &str, end: &str| pb::UpdateUnitRequest {
        unit: Some(pb::Unit {
            name: "units/rep-2".into(),
            start_date: start.into(),
            end_date: end.into(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["start_date".into(), "end_date".into()] }),
        ..Default::default()
    };
    assert_status(org.update_unit(end("2022-03-01", "2021-12-31")).await, Code::InvalidArgument, Some("unit.end_date"));
    org.update_unit(end("2022-03-01", "2024-08-31")).await.unwrap();
    let s = assert_status(
        manager
            .create_adjustment(ask(
                "rep-2",
                pb::adjustment::Change::ChangePercent("5".into()),
                pb::Redistribution::SiblingsAbsorb,
                "2024-10-01",
            ))
            .await,
        Code::InvalidArgument,
        Some("adjustment.effective_date"),
    );
    assert!(s.message().contains("after units/rep-2 ends"), "{}", s.message());
    let release = |successor: &str| {
        let mut r = ask("rep-2", pb::adjustment::Change::ReleaseRemaining(true), pb::Redistribution::Successor, "");
        r.adjustment.as_mut().unwrap().successor = format!("plans/fy2024/targets/{successor}");
        r
    };
    assert_status(manager.create_adjustment(release("rep-9")).await, Code::PermissionDenied, None);
    assert_status(
        admin.create_adjustment(release("region-a")).await,
        Code::InvalidArgument,
        Some("adjustment.successor"),
    );
    let adj = manager.create_adjustment(release("rep-4")).await.unwrap().into_inner();
    assert_eq!(adj.effective_date, "2024-09-01", "the day after the last one worked");
    let due: Decimal = (1..=8).map(|m| rep(&hired, "rep-2", m)).sum();
    assert_eq!(dec(amount(&adj.after_amount)), due, "rep 2 keeps what fell due by its last day");
    approve(&mut company, &adj).await;
    // Rep 4 reads why its target grew; rep 1, beside it, does not.
    let (mut rep4, mut rep1) = (app.targets("rep-4", Role::Rep, "rep-4"), app.targets("rep-1", Role::Rep, "rep-1"));
    let list = || pb::ListAdjustmentsRequest { parent: "plans/fy2024".into(), page_size: 100, ..Default::default() };
    let seen = rep4.list_adjustments(list()).await.unwrap().into_inner().adjustments;
    assert!(seen.iter().any(|a| a.name == adj.name), "{seen:?}");
    rep4.get_adjustment(pb::GetAdjustmentRequest { name: adj.name.clone() }).await.unwrap();
    let seen = rep1.list_adjustments(list()).await.unwrap().into_inner().adjustments;
    assert!(seen.iter().all(|a| a.name != adj.name), "{seen:?}");
    assert_status(
        rep1.get_adjustment(pb::GetAdjustmentRequest { name: adj.name.clone() }).await,
        Code::PermissionDenied,
        None,
    );
    let left = months(&mut admin, None).await;
    for month in 1..=8 {
        for r in ["rep-1", "rep-2", "rep-3", "rep-4", "region-a"] {
            assert_eq!(rep(&left, r, month), rep(&hired, r, month), "{r} in month {month}");
        }
    }
    for month in 9..=12 {
        assert_eq!(rep(&left, "rep-2", month), Decimal::ZERO, "rep 2 after it left, month {month}");
    }
    let released = year_of(&hired, "units/rep-2") - due;
    assert_eq!(year_of(&left, "units/rep-4"), dec("300000.00") + released);
    assert_eq!(reps(&left), dec("3000000.00"));
    // Someone who has left takes nothing more: not as a successor, not as
    // a sibling absorbing a change after its last day.
    let mut to_leaver =
        ask("rep-1", pb::adjustment::Change::ChangePercent("-1".into()), pb::Redistribution::Successor, "2024-10-01");
    to_leaver.adjustment.as_mut().unwrap().successor = "plans/fy2024/targets/rep-2".into();
    let s =
        assert_status(manager.create_adjustment(to_leaver).await, Code::InvalidArgument, Some("adjustment.successor"));
    assert!(s.message().contains("left on 2024-08-31"), "{}", s.message());
    let adj = manager
        .create_adjustment(ask(
            "rep-1",
            pb::adjustment::Change::ChangePercent("-1".into()),
            pb::Redistribution::SiblingsAbsorb,
            "2024-10-01",
        ))
        .await
        .unwrap()
        .into_inner();
    approve(&mut company, &adj).await;
    let left_alone = months(&mut admin, None).await;
    assert_eq!(year_of(&left_alone, "units/rep-2"), year_of(&left, "units/rep-2"), "rep 2 took none of it");
    let left = left_alone;

    // The cut: from July into region A's reserve; the region stays.
    let adj = manager
        .create_adjustment(ask(
            "rep-1",
            pb::adjustment::Change::ChangePercent("-10".into()),
            pb::Redistribution::ReserveAbsorbs,
            "2024-07-01",
        ))
        .await
        .unwrap()
        .into_inner();
    approve(&mut company, &adj).await;
    let cut = months(&mut admin, None).await;
    for month in 1..=6 {
        assert_eq!(rep(&cut, "rep-1", month), rep(&left, "rep-1", month), "rep 1 in month {month}");
    }
    // Region A's months before July stay; later ones may move a cent as
    // the cut changes which target rounds it (each rounds on its own), and
    // its year does not move.
    for month in 1..=6 {
        assert_eq!(rep(&cut, "region-a", month), rep(&left, "region-a", month), "region A in month {month}");
    }
    assert_eq!(year_of(&cut, "units/region-a"), dec("3000000.00"));
    let region = admin
        .get_target(pb::GetTargetRequest { name: "plans/fy2024/targets/region-a".into(), as_of: None })
        .await
        .unwrap()
        .into_inner();
    let reserve = dec(amount(&region.coverage.unwrap().reserve));
    assert_eq!(reserve, dec("3000000.00") - reps(&cut), "the cut sits in the reserve");
    assert!(reserve > Decimal::ZERO);
}

both_backends!(a_hire_a_leaver_and_a_cut);

/// DESIGN §3 Allocation, the guide's path: region A by product line, one
/// line by customer type, that slice by rep; a new hire with a fixed base
/// gives no history. Every level adds up, and a rep holding only slices
/// has a figure: the sum of its slices.
async fn product_line_then_customer_type_then_rep(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    seed_guide_org(&app).await;
    let mut admin = app.targets_admin();
    admin.create_plan(crate::targets::plan_request()).await.unwrap();
    let split = |parent: &str, dimension: pb::SplitDimension, inputs: Vec<pb::SplitInput>| pb::DecomposeTargetRequest {
        parent_target: parent.into(),
        strategy: pb::SplitStrategy::Weights as i32,
        inputs,
        dimension: dimension as i32,
        allocate_percent: "100".into(),
        ..Default::default()
    };
    let slice = |v: &str, w: &str| pb::SplitInput { dimension_value: v.into(), weight: w.into(), ..Default::default() };
    admin
        .decompose_target(split(
            "plans/fy2024/targets/acme",
            pb::SplitDimension::Org,
            vec![pb::SplitInput { unit: "units/region-a".into(), weight: "1".into(), ..Default::default() }],
        ))
        .await
        .unwrap();
    let lines = admin
        .decompose_target(split(
            "plans/fy2024/targets/region-a",
            pb::SplitDimension::ProductLine,
            vec![slice("软件", "60"), slice("硬件", "40")],
        ))
        .await
        .unwrap()
        .into_inner();
    let software = lines.targets.iter().find(|t| t.dimensions.as_ref().unwrap().product_line == "软件").unwrap();
    let types = admin
        .decompose_target(split(
            &software.name,
            pb::SplitDimension::CustomerType,
            vec![slice("大客户", "70"), slice("中小客户", "30")],
        ))
        .await
        .unwrap()
        .into_inner();
    let key_accounts = types.targets.iter().find(|t| t.dimensions.as_ref().unwrap().customer_type == "大客户").unwrap();
    // By rep, history-weighted; rep 3 is a new hire on a fixed base and
    // gives no history.
    let hist = |u: &str, a: &str| pb::SplitInput {
        unit: format!("units/{u}"),
        historical_actual: a.into(),
        ..Default::default()
    };
    let reps = admin
        .decompose_target(pb::DecomposeTargetRequest {
            parent_target: key_accounts.name.clone(),
            strategy: pb::SplitStrategy::HistoricalShare as i32,
            inputs: vec![hist("rep-1", "600000"), hist("rep-2", "400000"), hist("rep-3", "")],
            modifiers: Some(pb::SplitModifiers { new_hire_base_amount: "100000.00".into(), ..Default::default() }),
            allocate_percent: "100".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let by_rep: BTreeMap<&str, Decimal> =
        reps.targets.iter().map(|t| (t.unit.as_str(), dec(amount(&t.amount)))).collect();
    assert_eq!(by_rep["units/rep-3"], dec("100000.00"), "the new hire's fixed base");
    assert_eq!(by_rep.values().copied().sum::<Decimal>(), dec(amount(&key_accounts.amount)));
    assert!(reps.targets.iter().all(|t| t.dimensions.as_ref().unwrap().customer_type == "大客户"
        && t.dimensions.as_ref().unwrap().product_line == "软件"));

    // Every level adds up in a month: reps' slices + the slice's remainder
    // = the key-account slice; a rep's figure is its slice.
    let q = |unit: &str, pl: &str, ct: &str| pb::QueryPeriodTargetsRequest {
        plan: "plans/fy2024".into(),
        unit: format!("units/{unit}"),
        period: "2024-03".into(),
        children_only: true,
        dimensions: Some(attain_proto::attain::common::v1::Dimensions {
            product_line: pl.into(),
            customer_type: ct.into(),
        }),
        ..Default::default()
    };
    let region = admin.query_period_targets(q("region-a", "软件", "大客户")).await.unwrap().into_inner();
    let figure = |rows: &[pb::UnitPeriodTarget], u: &str| {
        rows.iter().find(|r| r.unit == format!("units/{u}")).map(|r| dec(amount(&r.amount))).unwrap_or_default()
    };
    let reps_march: Decimal = ["rep-1", "rep-2", "rep-3"].iter().map(|r| figure(&region.targets, r)).sum();
    assert_eq!(figure(&region.targets, "region-a"), reps_march, "all allocated: no remainder");
    let whole = admin.query_period_targets(q("region-a", "", "")).await.unwrap().into_inner();
    assert_eq!(figure(&whole.targets, "rep-1"), figure(&region.targets, "rep-1"), "rep 1 holds one slice: its figure");
    assert!(figure(&whole.targets, "rep-1") > Decimal::ZERO);
}

both_backends!(product_line_then_customer_type_then_rep);
