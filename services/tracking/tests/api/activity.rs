//! Daily logs, opportunities, loss reasons, conversion and period
//! summaries with the manager's gap analysis.

use attain_kit::{auth::Role, both_backends, testing::Backend};
use attain_proto::attain::{
    common::v1 as common,
    tracking::v1::{self as pb},
};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::helpers::{cny, sale, spawn_suite};

/// The fields an INVALID_ARGUMENT names (its BadRequest detail).
fn field_violations(s: &Status) -> Vec<String> {
    s.get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

fn lost(customer: &str, reason: pb::LossReason, amount: &str) -> pb::LostDeal {
    pb::LostDeal { customer: customer.into(), reason: reason as i32, detail: String::new(), amount: cny(amount) }
}

fn log(
    rep: &str,
    date: &str,
    follow_ups: usize,
    lost_deals: Vec<pb::LostDeal>,
    request_id: &str,
) -> pb::CreateDailyLogRequest {
    pb::CreateDailyLogRequest {
        daily_log: Some(pb::DailyLog {
            rep: format!("units/{rep}"),
            log_date: date.into(),
            follow_ups: (0..follow_ups)
                .map(|i| pb::FollowUp { customer: format!("c{i}"), stage: "proposal".into(), next_step: "call".into() })
                .collect(),
            lost_deals,
            notes: "拜访客户".into(),
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

async fn logs_losses_conversion_and_summaries(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut rep1 = s.tracking("rep-1", Role::Rep, "rep-1");
    let mut rep2 = s.tracking("rep-2", Role::Rep, "rep-2");
    let mut manager = s.tracking("mgr-a", Role::Manager, "region-a");

    rep1.create_daily_log(log(
        "rep-1",
        "2024-01-08",
        3,
        vec![lost("A", pb::LossReason::Price, "5000"), lost("B", pb::LossReason::Competitor, "3000")],
        "l1",
    ))
    .await
    .unwrap();
    rep1.create_daily_log(log("rep-1", "2024-01-09", 2, vec![lost("C", pb::LossReason::Price, "2000")], "l2"))
        .await
        .unwrap();
    for (i, a) in ["10000", "10000", "10000", "10000"].iter().enumerate() {
        rep1.create_deal(sale("rep-1", a, "2024-01-10", &format!("s{i}"))).await.unwrap();
    }
    let opp = rep2
        .create_opportunity(pb::CreateOpportunityRequest {
            opportunity: Some(pb::Opportunity {
                rep: "units/rep-2".into(),
                customer: "D".into(),
                stage: "negotiation".into(),
                outcome: pb::OpportunityOutcome::Lost as i32,
                loss_reason: pb::LossReason::Timing as i32,
                expected_amount: cny("9000"),
                close_date: "2024-01-10".into(),
                ..Default::default()
            }),
            request_id: "o1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let reasons = |m: &mut crate::helpers::Tracking| {
        let mut m = m.clone();
        async move {
            m.list_loss_reasons(pb::ListLossReasonsRequest {
                unit: "units/region-a".into(),
                period: "2024-01".into(),
                limit: 3,
            })
            .await
            .unwrap()
            .into_inner()
            .reasons
        }
    };
    let top = reasons(&mut manager).await;
    assert!(top.iter().all(|r| r.amount.as_ref().unwrap().currency_code == "CNY"), "{top:?}");
    let got: Vec<(i32, i64, String)> =
        top.iter().map(|r| (r.reason, r.count, r.amount.as_ref().unwrap().amount.clone())).collect();
    assert_eq!(
        got,
        [
            (pb::LossReason::Price as i32, 2, "7000.00".into()),
            (pb::LossReason::Timing as i32, 1, "9000.00".into()),
            (pb::LossReason::Competitor as i32, 1, "3000.00".into()),
        ]
    );
    // The lost opportunity is won after all: its loss leaves the counts.
    let mut won = opp.clone();
    won.outcome = pb::OpportunityOutcome::Won as i32;
    won.loss_reason = 0;
    rep2.update_opportunity(pb::UpdateOpportunityRequest { opportunity: Some(won), request_id: "o1-won".into() })
        .await
        .unwrap();
    let top = reasons(&mut manager).await;
    assert!(top.iter().all(|r| r.reason != pb::LossReason::Timing as i32), "{top:?}");
    let mut stale = opp.clone();
    stale.stage = "again".into();
    assert_eq!(
        rep2.update_opportunity(pb::UpdateOpportunityRequest { opportunity: Some(stale), request_id: String::new() })
            .await
            .unwrap_err()
            .code(),
        Code::Aborted
    );

    // 4 won, 3 lost: conversion 4/7.
    let a = rep1
        .get_attainment(pb::GetAttainmentRequest {
            unit: "units/rep-1".into(),
            period: "2024-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(a.conversion_rate, "0.5714");

    // A slice is named as a deal's would be, wherever it is (as tried from
    // outside: a 5,000-character filter and an opportunity's were taken).
    let long = common::Dimensions { product_line: "p".repeat(5000), customer_type: String::new() };
    let filter = rep1
        .get_attainment(pb::GetAttainmentRequest {
            unit: "units/rep-1".into(),
            period: "2024-01".into(),
            dimensions: Some(long.clone()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(filter.code(), Code::InvalidArgument, "{filter:?}");
    assert!(field_violations(&filter).contains(&"dimensions.product_line".to_owned()), "{filter:?}");
    let stored = rep2
        .create_opportunity(pb::CreateOpportunityRequest {
            opportunity: Some(pb::Opportunity {
                rep: "units/rep-2".into(),
                customer: "E".into(),
                stage: "negotiation".into(),
                dimensions: Some(common::Dimensions { product_line: String::new(), customer_type: "a\u{7}b".into() }),
                ..Default::default()
            }),
            request_id: "o-bad-slice".into(),
        })
        .await
        .unwrap_err();
    assert!(field_violations(&stored).contains(&"opportunity.dimensions.customer_type".to_owned()), "{stored:?}");

    // The region's month: members with their activity, and the manager's analysis.
    let summary = manager
        .get_period_summary(pb::GetPeriodSummaryRequest { unit: "units/region-a".into(), period: "2024-01".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (summary.actual.as_ref().unwrap().amount.as_str(), summary.deals_won, summary.follow_ups, summary.deals_lost),
        ("40000.00", 4, 5, 3)
    );
    assert_eq!(summary.actual.as_ref().unwrap().currency_code, "CNY");
    let r1 = summary.members.iter().find(|m| m.unit == "units/rep-1").unwrap();
    assert_eq!((r1.follow_ups, r1.deals_lost), (5, 3));
    let set = pb::SetGapAnalysisRequest {
        unit: "units/region-a".into(),
        period: "2024-01".into(),
        text: "Price pressure from a new competitor".into(),
        etag: "0".into(),
        request_id: String::new(),
    };
    let written = manager.set_gap_analysis(set.clone()).await.unwrap().into_inner();
    assert_eq!(
        (written.gap_analysis.as_str(), written.gap_analysis_author.as_str(), written.etag.as_str()),
        ("Price pressure from a new competitor", "mgr-a", "1")
    );
    assert_eq!(manager.set_gap_analysis(set.clone()).await.unwrap_err().code(), Code::Aborted, "stale etag");
    // A retried write (same request id, no etag) is written once.
    let retried = pb::SetGapAnalysisRequest {
        etag: String::new(),
        text: "Price pressure, and two deals slipped".into(),
        request_id: "gap-1".into(),
        ..set.clone()
    };
    let first = manager.set_gap_analysis(retried.clone()).await.unwrap().into_inner();
    let again = manager.set_gap_analysis(retried.clone()).await.unwrap().into_inner();
    assert_eq!((first.etag.as_str(), again.etag.as_str()), ("2", "2"), "the retry changed nothing");
    let reused = pb::SetGapAnalysisRequest { text: "something else".into(), ..retried };
    assert!(manager.set_gap_analysis(reused).await.is_err(), "a request id reused for another text");
    assert_eq!(
        rep1.set_gap_analysis(pb::SetGapAnalysisRequest { unit: "units/rep-1".into(), ..set })
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let week = manager
        .get_period_summary(pb::GetPeriodSummaryRequest { unit: "units/region-a".into(), period: "2024-W02".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((week.follow_ups, week.deals_won), (5, 4));

    let logs = manager
        .list_daily_logs(pb::ListDailyLogsRequest {
            unit: "units/region-a".into(),
            period: "2024-01".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(logs.daily_logs.len(), 2);
    assert_eq!(logs.daily_logs[0].notes, "拜访客户");
    assert_eq!(
        rep2.list_daily_logs(pb::ListDailyLogsRequest { unit: "units/rep-1".into(), ..Default::default() })
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
}

async fn bad_activity_gets_clear_errors(backend: Backend) {
    let s = spawn_suite(backend).await;
    let mut rep1 = s.tracking("rep-1", Role::Rep, "rep-1");
    let no_reason =
        log("rep-1", "2024-01-08", 0, vec![pb::LostDeal { customer: "x".into(), ..Default::default() }], "x1");
    let err = rep1.create_daily_log(no_reason).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("daily_log.lost_deals[0].reason"), "{err:?}");
    assert_eq!(
        rep1.create_daily_log(log("rep-1", "2024-02-01", 1, vec![], "x2")).await.unwrap_err().code(),
        Code::InvalidArgument,
        "future date"
    );
    assert_eq!(
        rep1.create_daily_log(log("rep-1", "2024-01-08", 1, vec![], "")).await.unwrap_err().code(),
        Code::InvalidArgument,
        "no request id"
    );
    assert_eq!(
        rep1.create_daily_log(log("rep-2", "2024-01-08", 1, vec![], "x3")).await.unwrap_err().code(),
        Code::PermissionDenied,
        "rep 2 is invisible to rep 1: the same answer as for deals"
    );
    let first = rep1.create_daily_log(log("rep-1", "2024-01-08", 1, vec![], "same")).await.unwrap().into_inner();
    assert_eq!(rep1.create_daily_log(log("rep-1", "2024-01-08", 1, vec![], "same")).await.unwrap().into_inner(), first);
    assert_eq!(
        rep1.create_daily_log(log("rep-1", "2024-01-09", 1, vec![], "same")).await.unwrap_err().code(),
        Code::AlreadyExists
    );
}

both_backends!(logs_losses_conversion_and_summaries, bad_activity_gets_clear_errors);
