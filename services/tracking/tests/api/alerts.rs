//! Smarter alerts: zero sales is RED, hysteresis keeps a hovering unit
//! from flapping, unacknowledged alerts escalate one manager up per N
//! working days, reps without deals or logs go stale.

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::{common::v1::Status as Colour, tracking::v1 as pb};
use rust_decimal::Decimal;

use crate::helpers::{Tracking, cny, spawn_suite};

fn sale(rep: &str, amount: Decimal, date: &str, request_id: &str) -> pb::CreateDealRequest {
    pb::CreateDealRequest {
        deal: Some(pb::Deal {
            rep: format!("units/{rep}"),
            amount: cny(&amount.round_dp(2).to_string()),
            close_date: date.into(),
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

async fn evaluate(t: &mut Tracking, as_of: &str) -> Vec<pb::Alert> {
    t.evaluate_alerts(pb::EvaluateAlertsRequest {
        unit: "units/acme".into(),
        period: "2024-01".into(),
        as_of_date: as_of.into(),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_inner()
    .changed
}

/// Live alerts of a unit by rule: (rule, severity, state, escalation level, escalated to).
async fn live(t: &mut Tracking, unit: &str) -> Vec<(i32, i32, i32, i32, String)> {
    let mut out: Vec<_> = t
        .list_alerts(pb::ListAlertsRequest { unit: format!("units/{unit}"), ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .alerts
        .into_iter()
        .filter(|a| a.unit == format!("units/{unit}") && a.state != pb::AlertState::Resolved as i32)
        .filter(|a| a.rule != pb::AlertRule::ReportOverdue as i32 || a.actual.is_none())
        .inspect(|a| {
            // Its period's days, as its plan reads them (as tried from
            // outside: the expression alone came back).
            let p = a.period.as_ref().unwrap();
            assert!(!p.start_date.is_empty() && p.end_date >= p.start_date, "{a:?}");
            assert_ne!(p.granularity, 0, "{a:?}");
            if a.rule == pb::AlertRule::ReportOverdue as i32 {
                return;
            }
            // The figures carry their plan's currency.
            assert_eq!(a.actual.as_ref().unwrap().currency_code, "CNY", "{a:?}");
            assert_eq!(a.expected.as_ref().unwrap().currency_code, "CNY", "{a:?}");
        })
        .map(|a| (a.rule, a.severity, a.state, a.escalation_level, a.escalated_to))
        .collect();
    out.sort();
    out
}

fn pace(severity: Colour) -> (i32, i32) {
    (pb::AlertRule::BehindPace as i32, severity as i32)
}

async fn smarter_alerts(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut admin = s.admin();
    // Rep 2 logs on Monday the 15th (but sells nothing); rep 1's last deal
    // is on the 5th; rep 3 has nothing at all this month.
    let mut rep2 = s.tracking("rep-2", Role::Rep, "rep-2");
    rep2.create_daily_log(pb::CreateDailyLogRequest {
        daily_log: Some(pb::DailyLog {
            rep: "units/rep-2".into(),
            log_date: "2024-01-15".into(),
            notes: "拜访客户".into(),
            ..Default::default()
        }),
        request_id: "log-1".into(),
    })
    .await
    .unwrap();
    let expected: Decimal = admin
        .get_attainment(pb::GetAttainmentRequest {
            unit: "units/rep-1".into(),
            period: "2024-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .expected_to_date
        .unwrap()
        .amount
        .parse()
        .unwrap();
    let share = |p: i64| expected * Decimal::from(p) / Decimal::ONE_HUNDRED;
    admin.create_deal(sale("rep-1", share(79), "2024-01-05", "d-79")).await.unwrap();
    evaluate(&mut admin, "2024-01-16").await;

    // Zero sales is RED (and stale), not missing.
    let rep3 = live(&mut admin, "rep-3").await;
    assert!(rep3.contains(&(pace(Colour::Red).0, pace(Colour::Red).1, 1, 0, String::new())), "{rep3:?}");
    assert!(
        rep3.iter().any(|a| a.0 == pb::AlertRule::StaleData as i32 && a.1 == Colour::Red as i32),
        "twelve working days without anything: {rep3:?}"
    );
    // Rep 1: RED at 79%, stale (7 working days since the 5th: YELLOW).
    let rep1 = live(&mut admin, "rep-1").await;
    assert!(rep1.iter().any(|a| (a.0, a.1) == pace(Colour::Red)), "{rep1:?}");
    assert!(rep1.iter().any(|a| (a.0, a.1) == (pb::AlertRule::StaleData as i32, Colour::Yellow as i32)), "{rep1:?}");
    // Rep 2 logged yesterday: not stale.
    assert!(live(&mut admin, "rep-2").await.iter().all(|a| a.0 != pb::AlertRule::StaleData as i32));

    // Hovering just above the RED line stays RED; just above 100% stays
    // YELLOW; only clearing the band resolves.
    let steps: [(i64, &str, Option<Colour>); 4] = [
        (2, "d-81", Some(Colour::Red)),
        (18, "d-99", Some(Colour::Yellow)),
        (2, "d-101", Some(Colour::Yellow)),
        (5, "d-106", None),
    ];
    for (add, id, want) in steps {
        admin.create_deal(sale("rep-1", share(add), "2024-01-16", id)).await.unwrap();
        evaluate(&mut admin, "2024-01-16").await;
        let got = live(&mut admin, "rep-1").await.into_iter().find(|a| a.0 == pb::AlertRule::BehindPace as i32);
        assert_eq!(got.map(|a| a.1), want.map(|c| c as i32), "after {id}");
    }
    // Today's deal ended rep 1's staleness.
    assert!(live(&mut admin, "rep-1").await.iter().all(|a| a.0 != pb::AlertRule::StaleData as i32));

    // Rep 3's alerts, still OPEN three working days later, go to region
    // A's manager; three more, to the company's.
    let changed = evaluate(&mut admin, "2024-01-19").await;
    assert!(changed.iter().any(|a| a.unit == "units/rep-3" && a.escalated_to == "units/region-a"), "{changed:?}");
    let mut lead = s.tracking("lead-a", Role::Manager, "region-a");
    let inbox = lead
        .list_alerts(pb::ListAlertsRequest {
            unit: "units/region-a".into(),
            escalated_to: "units/region-a".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .alerts;
    // Reps 2 and 3 (no sales) are behind pace and below the milestone;
    // rep 3 is stale too; every rep owes daily logs (rep 2's one log of
    // the 15th was entered on the 16th: late, but submitted).
    let mut escalated: Vec<(&str, i32, i32)> =
        inbox.iter().map(|a| (a.unit.as_str(), a.rule, a.escalation_level)).collect();
    escalated.sort();
    assert_eq!(
        escalated,
        [
            ("units/rep-1", pb::AlertRule::ReportOverdue as i32, 1),
            ("units/rep-2", pb::AlertRule::BehindPace as i32, 1),
            ("units/rep-2", pb::AlertRule::MissedMilestone as i32, 1),
            ("units/rep-2", pb::AlertRule::ReportOverdue as i32, 1),
            ("units/rep-3", pb::AlertRule::BehindPace as i32, 1),
            ("units/rep-3", pb::AlertRule::MissedMilestone as i32, 1),
            ("units/rep-3", pb::AlertRule::StaleData as i32, 1),
            ("units/rep-3", pb::AlertRule::ReportOverdue as i32, 1)
        ]
    );
    // Acknowledging stops the climb.
    let stale = inbox.iter().find(|a| a.rule == pb::AlertRule::StaleData as i32).unwrap();
    lead.acknowledge_alert(pb::AcknowledgeAlertRequest { name: stale.name.clone(), etag: stale.etag.clone() })
        .await
        .unwrap();
    evaluate(&mut admin, "2024-01-24").await;
    let rep3 = live(&mut admin, "rep-3").await;
    let by_rule = |r: pb::AlertRule| rep3.iter().find(|a| a.0 == r as i32).cloned().unwrap();
    assert_eq!(by_rule(pb::AlertRule::BehindPace).3, 2);
    assert_eq!(by_rule(pb::AlertRule::BehindPace).4, "units/acme");
    assert_eq!(by_rule(pb::AlertRule::StaleData).3, 1);
    // Region A's manager may not read the company's inbox.
    let denied = lead
        .list_alerts(pb::ListAlertsRequest {
            unit: "units/region-a".into(),
            escalated_to: "units/acme".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
}

both_backends!(smarter_alerts);
