//! Period close: frozen figures, post-close adjustments, clear errors.

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::tracking::v1::{self as pb};
use tonic::Code;

use crate::helpers::{sale, spawn_suite_with};

fn close(unit: &str, period: &str, request_id: &str) -> pb::ClosePeriodRequest {
    pb::ClosePeriodRequest { unit: format!("units/{unit}"), period: period.into(), request_id: request_id.into() }
}

fn amount(m: &Option<attain_proto::attain::common::v1::Money>) -> &str {
    m.as_ref().map_or("", |m| m.amount.as_str())
}

async fn closing_freezes_figures_and_shows_later_corrections(backend: Backend) {
    // Early February: January has ended, February has not.
    let s = spawn_suite_with(backend, |c| c.clock.today = chrono::NaiveDate::from_ymd_opt(2024, 2, 5)).await;
    let mut admin = s.admin();
    admin.create_deal(sale("rep-1", "30000", "2024-01-10", "d-1")).await.unwrap();
    let d2 = admin.create_deal(sale("rep-2", "20000", "2024-01-20", "d-2")).await.unwrap().into_inner();
    admin.create_deal(sale("rep-9", "5000", "2024-01-22", "d-9")).await.unwrap();

    // Only admins and managers close; only ended periods close.
    let mut rep1 = s.tracking("rep-1", Role::Rep, "rep-1");
    assert_eq!(rep1.close_period(close("rep-1", "2024-01", "c-r")).await.unwrap_err().code(), Code::PermissionDenied);
    let mut viewer = s.tracking("ceo", Role::Viewer, "acme");
    assert_eq!(viewer.close_period(close("acme", "2024-01", "c-v")).await.unwrap_err().code(), Code::PermissionDenied);
    let early = admin.close_period(close("acme", "2024-02", "c-feb")).await.unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition, "{early:?}");
    assert!(early.message().contains("2024-02-29"), "{}", early.message());
    let missing = admin.close_period(close("acme", "2024-01", "")).await.unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument);

    // The region's lead closes the region; the company closes the rest later.
    let mut lead = s.tracking("lead-a", Role::Manager, "region-a");
    let closed = lead.close_period(close("region-a", "2024-01", "c-a")).await.unwrap().into_inner();
    assert_eq!(closed.name, "units/region-a/closes/2024-01");
    let lines: Vec<(&str, &str, i64)> =
        closed.units.iter().map(|u| (u.unit.as_str(), amount(&u.actual), u.deals_won)).collect();
    assert_eq!(
        lines,
        [
            ("units/region-a", "50000.00", 2),
            ("units/rep-1", "30000.00", 1),
            ("units/rep-2", "20000.00", 1),
            ("units/rep-3", "0.00", 0)
        ]
    );
    // Zero sales is a closed RED figure, not a missing one.
    let rep3 = closed.units.iter().find(|u| u.unit == "units/rep-3").unwrap();
    assert_eq!(rep3.status, attain_proto::attain::common::v1::Status::Red as i32);
    // The same request again replays; closing again is refused.
    let replay = lead.close_period(close("region-a", "2024-01", "c-a")).await.unwrap().into_inner();
    assert_eq!(replay, closed);
    let twice = lead.close_period(close("region-a", "2024-01", "c-a2")).await.unwrap_err();
    assert_eq!(twice.code(), Code::AlreadyExists, "{twice:?}");

    // A correction after the close: a reversal of rep 2's deal and a late sale.
    admin
        .reverse_deal(pb::ReverseDealRequest {
            name: d2.name.clone(),
            reason: "cancelled".into(),
            request_id: "fix-2".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    admin.create_deal(sale("rep-1", "1000", "2024-01-31", "late-1")).await.unwrap();

    let now = lead
        .get_period_close(pb::GetPeriodCloseRequest { unit: "units/region-a".into(), period: "2024-01".into() })
        .await
        .unwrap()
        .into_inner();
    let region = &now.units[0];
    // The closed figures stay; today's and the difference sit beside them.
    assert_eq!(
        (amount(&region.actual), amount(&region.current_actual), amount(&region.post_close_adjustment)),
        ("50000.00", "31000.00", "-19000.00")
    );
    let adjustments: Vec<(&str, &str)> = now.adjustments.iter().map(|a| (a.rep.as_str(), amount(&a.amount))).collect();
    assert_eq!(adjustments, [("units/rep-2", "-20000.00"), ("units/rep-1", "1000.00")]);
    // Attainment reads show the frozen actual beside the current one.
    let a = lead
        .get_attainment(pb::GetAttainmentRequest {
            unit: "units/region-a".into(),
            period: "2024-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (amount(&a.actual), amount(&a.closed_actual), amount(&a.post_close_adjustment)),
        ("31000.00", "50000.00", "-19000.00")
    );

    // The company close freezes the rest and keeps region A's earlier lines.
    let company = admin.close_period(close("acme", "2024-01", "c-acme")).await.unwrap().into_inner();
    let acme = &company.units[0];
    assert_eq!((acme.unit.as_str(), amount(&acme.actual)), ("units/acme", "36000.00"));
    let region_a = company.units.iter().find(|u| u.unit == "units/region-a").unwrap();
    assert_eq!(amount(&region_a.actual), "50000.00");
    let rep9 = company.units.iter().find(|u| u.unit == "units/rep-9").unwrap();
    assert_eq!(amount(&rep9.actual), "5000.00");
    let inside = admin.close_period(close("region-b", "2024-01", "c-b")).await.unwrap_err();
    assert_eq!(inside.code(), Code::AlreadyExists);
    assert!(inside.message().contains("as part of units/acme"), "{}", inside.message());

    // A rep sees its own frozen line and nothing else.
    let mine = rep1
        .get_period_close(pb::GetPeriodCloseRequest { unit: "units/rep-1".into(), period: "2024-01".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.units.iter().map(|u| u.unit.as_str()).collect::<Vec<_>>(), ["units/rep-1"]);
    let other = rep1
        .get_period_close(pb::GetPeriodCloseRequest { unit: "units/region-a".into(), period: "2024-01".into() })
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::PermissionDenied);
    // An open period has no close.
    let open = admin
        .get_period_close(pb::GetPeriodCloseRequest { unit: "units/acme".into(), period: "2024-02".into() })
        .await
        .unwrap_err();
    assert_eq!(open.code(), Code::NotFound);
}

both_backends!(closing_freezes_figures_and_shows_later_corrections);
