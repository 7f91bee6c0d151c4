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

both_backends!(a_cut_in_august_keeps_the_months_before_it, a_rep_who_starts_in_may);
