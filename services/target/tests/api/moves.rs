//! Dated moves (DESIGN §3 Org tree): rep 2 leaves region A for region B
//! from 10 June. Its own target is unchanged; what it has left from that
//! day leaves region A and joins region B, so their totals change, the
//! company's does not, and the months before the move keep every figure.

use std::collections::BTreeMap;

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::target::v1 as pb;
use rust_decimal::Decimal;
use tonic::Code;

use crate::{
    helpers::{Targets, assert_status, spawn_app_with},
    targets::{amount, plan_and_split, seed_guide_org},
};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Every unit's target for a period, as of `as_of` when given.
async fn period(t: &mut Targets, period: &str, as_of: Option<prost_types::Timestamp>) -> BTreeMap<String, Decimal> {
    let r = t
        .query_period_targets(pb::QueryPeriodTargetsRequest {
            plan: "plans/fy2024".into(),
            unit: "units/acme".into(),
            period: period.into(),
            as_of,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    r.targets
        .into_iter()
        .map(|row| (row.unit.trim_start_matches("units/").to_owned(), dec(amount(&row.amount))))
        .collect()
}

async fn months(t: &mut Targets, as_of: Option<prost_types::Timestamp>) -> Vec<BTreeMap<String, Decimal>> {
    let mut out = Vec::new();
    for m in 1..=12u32 {
        out.push(period(t, &format!("2024-{m:02}"), as_of).await);
    }
    out
}

fn move_request(name: &str, to: &str, etag: &str, effective: &str) -> pb::MoveUnitRequest {
    pb::MoveUnitRequest {
        name: name.into(),
        new_parent: to.into(),
        etag: etag.into(),
        effective_date: effective.into(),
        request_id: String::new(),
    }
}

async fn a_rep_who_moves_in_june(backend: Backend) {
    let app =
        spawn_app_with(backend, |s| s.clock.today = Some(chrono::NaiveDate::from_ymd_opt(2024, 6, 12).unwrap())).await;
    seed_guide_org(&app).await;
    let mut admin = app.targets_admin();
    plan_and_split(&mut admin).await;
    admin.publish_plan(pb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() }).await.unwrap();
    let before = months(&mut admin, None).await;
    let moment = prost_types::Timestamp::from(std::time::SystemTime::now());
    let mut org = app.admin();
    let rep2 = org.get_unit(pb::GetUnitRequest { name: "units/rep-2".into() }).await.unwrap().into_inner();

    // Refused: a month that has ended, a day after today, a place of the
    // wrong kind, the unit's own subtree.
    for (to, effective, field) in [
        ("units/region-b", "2024-05-31", "effective_date"),
        ("units/region-b", "2024-06-13", "effective_date"),
        ("units/region-b", "2024-6-10", "effective_date"),
        ("units/rep-9", "2024-06-10", "new_parent"),
    ] {
        assert_status(
            org.move_unit(move_request("units/rep-2", to, &rep2.etag, effective)).await,
            Code::InvalidArgument,
            Some(field),
        );
    }
    assert_status(
        org.move_unit(move_request("units/region-a", "units/rep-1", "", "2024-06-10")).await,
        Code::InvalidArgument,
        Some("new_parent"),
    );

    let moved = org
        .move_unit(move_request("units/rep-2", "units/region-b", &rep2.etag, "2024-06-10"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.ancestors, ["units/acme", "units/region-b"]);
    assert_eq!(moved.former_places.len(), 1);
    assert_eq!(moved.former_places[0].ancestors, ["units/acme", "units/region-a"]);
    assert_eq!(moved.former_places[0].until, "2024-06-09");
    // A move before the one it made is refused.
    assert_status(
        org.move_unit(move_request("units/rep-2", "units/region-a", &moved.etag, "2024-06-05")).await,
        Code::InvalidArgument,
        Some("effective_date"),
    );

    let after = months(&mut admin, None).await;
    let left = period(&mut admin, "2024-06-10..2024-12-31", None).await["rep-2"];
    let june_before_move = period(&mut admin, "2024-06-01..2024-06-09", None).await["rep-2"];
    assert!(left > Decimal::ZERO);
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let month = i + 1;
        for unit in ["acme", "rep-1", "rep-2", "rep-3", "region-c", "region-d"] {
            assert_eq!(a[unit], b[unit], "{unit} in month {month} does not change");
        }
        // Every level adds up: the company is its regions plus its reserve,
        // whatever moved between them.
        let regions: Decimal = ["region-a", "region-b", "region-c", "region-d"].iter().map(|r| a[*r]).sum();
        let reserve_before =
            b["acme"] - ["region-a", "region-b", "region-c", "region-d"].iter().map(|r| b[*r]).sum::<Decimal>();
        assert_eq!(a["acme"] - regions, reserve_before, "the company's reserve in month {month}");
        let rep2_in_a = match month {
            1..=5 => a["rep-2"],
            6 => june_before_move,
            _ => Decimal::ZERO,
        };
        let a_rest = a["region-a"] - a["rep-1"] - a["rep-3"] - rep2_in_a;
        let b_rest = b["region-a"] - b["rep-1"] - b["rep-2"] - b["rep-3"];
        assert_eq!(a_rest, b_rest, "region A's own remainder in month {month}");
        if month < 6 {
            assert_eq!(a["region-a"], b["region-a"], "region A in month {month}");
            assert_eq!(a["region-b"], b["region-b"], "region B in month {month}");
        }
        if month > 6 {
            assert_eq!(a["region-a"], b["region-a"] - a["rep-2"], "region A in month {month}");
            assert_eq!(a["region-b"], b["region-b"] + a["rep-2"], "region B in month {month}");
        }
    }
    let year = |m: &[BTreeMap<String, Decimal>], u: &str| -> Decimal { m.iter().map(|p| p[u]).sum() };
    assert_eq!(year(&after, "region-a"), year(&before, "region-a") - left);
    assert_eq!(year(&after, "region-b"), year(&before, "region-b") + left);
    assert_eq!(year(&after, "acme"), year(&before, "acme"));

    // The targets say what happened; a read as of before the move is the
    // plan as it stood.
    let t = admin
        .get_target(pb::GetTargetRequest { name: "plans/fy2024/targets/rep-2".into(), as_of: None })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.parent_target, "plans/fy2024/targets/region-b");
    assert_eq!(t.moves.len(), 1);
    assert_eq!(t.moves[0].parent_before, "plans/fy2024/targets/region-a");
    assert_eq!(t.moves[0].effective_date, "2024-06-10");
    assert_eq!(months(&mut admin, Some(moment)).await, before, "as of before the move");

    // A change of rep 2 effective before its move would straddle it.
    let mut manager = app.targets("mgr-b", Role::Manager, "region-b");
    assert_status(
        manager
            .create_adjustment(pb::CreateAdjustmentRequest {
                parent: "plans/fy2024".into(),
                adjustment: Some(pb::Adjustment {
                    target: "plans/fy2024/targets/rep-2".into(),
                    change: Some(pb::adjustment::Change::ChangePercent("-10".into())),
                    reason: pb::AdjustmentReason::Staffing as i32,
                    justification: "moved".into(),
                    redistribution: pb::Redistribution::ParentAbsorbs as i32,
                    effective_date: "2024-06-03".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await,
        Code::InvalidArgument,
        Some("adjustment.effective_date"),
    );
}

both_backends!(a_rep_who_moves_in_june);
