//! Smaller replies when asked: a dashboard's read mask names the fields a
//! client shows (and only their backends are called), and open alerts come
//! in brief — counted by severity and rule, the most severe few in full —
//! with the whole list paged by ListAlerts. Checked against that list, on
//! the guide's example, through the gateway (gRPC and REST).

use std::time::Duration;

use crate::support::Suite;
use attain_kit::{
    auth::Role,
    both_backends,
    http_client::request,
    testing::{Backend, token},
};
use attain_proto::attain::{
    common::v1 as common,
    gateway::v1::{self as pb, gateway_service_client::GatewayServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use tonic::{Code, Request, transport::Channel};

fn authed<T>(person: &str, role: Role, unit: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token(person, role, unit)).parse().unwrap());
    r
}

fn wang<T>(msg: T) -> Request<T> {
    authed("wang", Role::Manager, "region-a", msg)
}

fn ops<T>(msg: T) -> Request<T> {
    authed("ops", Role::Admin, "", msg)
}

fn masked(paths: &[&str]) -> pb::GetDashboardRequest {
    pb::GetDashboardRequest {
        unit: "units/region-a".into(),
        period: "2024-01".into(),
        read_mask: (!paths.is_empty())
            .then(|| prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
        ..Default::default()
    }
}

/// Every open alert of `unit` as `who` sees them, two a page.
async fn open_alerts(c: &mut TrackingServiceClient<Channel>, who: (&str, Role, &str), unit: &str) -> Vec<kpb::Alert> {
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let r = kpb::ListAlertsRequest {
            unit: unit.into(),
            state: kpb::AlertState::Open as i32,
            page_size: 2,
            page_token: page_token.clone(),
            ..Default::default()
        };
        let page = c.list_alerts(authed(who.0, who.1, who.2, r)).await.unwrap().into_inner();
        out.extend(page.alerts);
        if page.next_page_token.is_empty() {
            return out;
        }
        page_token = page.next_page_token;
    }
}

fn rank(severity: i32) -> i32 {
    match common::Status::try_from(severity) {
        Ok(common::Status::Red) => 0,
        Ok(common::Status::Yellow) => 1,
        _ => 2,
    }
}

/// What a summary of `alerts` must say, worked out from the full list.
fn expected_summary(alerts: &[kpb::Alert], first: usize) -> kpb::AlertSummary {
    let mut by_severity = Vec::new();
    for s in [common::Status::Red, common::Status::Yellow, common::Status::Green] {
        let n = alerts.iter().filter(|a| a.severity == s as i32).count() as i64;
        if n > 0 {
            by_severity.push(kpb::SeverityCount { severity: s as i32, count: n });
        }
    }
    let mut by_rule = Vec::new();
    for r in [
        kpb::AlertRule::BehindPace,
        kpb::AlertRule::MissedMilestone,
        kpb::AlertRule::StaleData,
        kpb::AlertRule::ReportOverdue,
    ] {
        let n = alerts.iter().filter(|a| a.rule == r as i32).count() as i64;
        if n > 0 {
            by_rule.push(kpb::RuleCount { rule: r as i32, count: n });
        }
    }
    let mut worst = alerts.to_vec();
    worst.sort_by_key(|a| {
        let t = a.open_time.as_ref().map(|t| (t.seconds, t.nanos)).unwrap_or_default();
        (rank(a.severity), t, a.name.clone())
    });
    worst.truncate(first);
    kpb::AlertSummary { total: alerts.len() as i64, by_severity, by_rule, first: worst }
}

async fn alerts_in_brief_and_read_masks(backend: Backend) {
    let suite = Suite::with_demo(backend).await;
    let gw = suite.gateway.addr;
    let channel = Channel::from_shared(format!("http://{gw}")).unwrap().connect().await.unwrap();
    let mut gateway = GatewayServiceClient::new(channel.clone());
    let mut tracking = TrackingServiceClient::new(channel);
    let manager = ("wang", Role::Manager, "region-a");

    // The demo's January trips alerts in region A (evaluated as it loads;
    // wait for the evaluator if it trails).
    let mut full = Vec::new();
    for _ in 0..50 {
        full = open_alerts(&mut tracking, manager, "units/region-a").await;
        if full.iter().any(|a| a.unit == "units/rep-1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(full.len() >= 2, "region A has alerts to summarise: {full:?}");

    // The summary says what the full list says.
    let summarize = |first: i32, unit: &str| kpb::SummarizeAlertsRequest {
        unit: unit.into(),
        state: kpb::AlertState::Open as i32,
        first,
    };
    let s = tracking.summarize_alerts(wang(summarize(1, "units/region-a"))).await.unwrap().into_inner();
    assert_eq!(s, expected_summary(&full, 1));
    let five = tracking.summarize_alerts(wang(summarize(0, "units/region-a"))).await.unwrap().into_inner();
    assert_eq!(five, expected_summary(&full, 5), "0 means the first five");
    for bad in [-1, 101] {
        let e = tracking.summarize_alerts(wang(summarize(bad, "units/region-a"))).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{bad}");
        assert!(e.message().contains("first"), "{e:?}");
    }

    // Scope is per row: rep 2's own summary holds none of rep 1's alerts,
    // and the region's is not rep 2's to read.
    let rep2 = ("rep-2", Role::Rep, "rep-2");
    let theirs = open_alerts(&mut tracking, rep2, "units/rep-2").await;
    let s2 = tracking
        .summarize_alerts(authed(rep2.0, rep2.1, rep2.2, summarize(100, "units/rep-2")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(s2, expected_summary(&theirs, 100));
    assert!(s2.first.iter().all(|a| a.unit == "units/rep-2"), "{s2:?}");
    let denied =
        tracking.summarize_alerts(authed(rep2.0, rep2.1, rep2.2, summarize(5, "units/region-a"))).await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);

    // A masked dashboard: only the fields asked for, only their sections.
    let d = gateway.get_dashboard(wang(masked(&["children", "alertSummary"]))).await.unwrap().into_inner();
    let sections: Vec<&str> = d.sections.iter().map(|s| s.section.as_str()).collect();
    assert_eq!(sections, ["attainment", "alert_summary"], "{:?}", d.sections);
    assert!(d.sections.iter().all(|s| s.state == pb::SectionState::Ok as i32));
    assert_eq!(d.unit, "units/region-a");
    assert_eq!(d.children.len(), 3);
    assert_eq!(d.alert_summary.as_ref(), Some(&expected_summary(&full, 5)));
    assert!(d.attainment.is_none() && d.period.is_none() && d.display_name.is_empty());
    assert!(d.open_alerts.is_empty() && d.burn_up.is_none() && d.gap_attribution.is_none());
    assert!(d.latest_review.is_none() && d.open_action_items.is_empty() && d.top_loss_reasons.is_empty());
    assert!(d.compliance.is_none());

    // Without a mask, every field — not the masked answer from the cache.
    let whole = gateway.get_dashboard(wang(masked(&[]))).await.unwrap().into_inner();
    assert_eq!(whole.sections.len(), 10, "{:?}", whole.sections);
    assert!(whole.compliance.is_some(), "the reporting section");
    assert_eq!(whole.open_alerts.len(), full.len());
    assert_eq!(whole.alert_summary.as_ref(), Some(&expected_summary(&full, 5)));
    assert!(whole.attainment.is_some() && whole.latest_review.is_some() && whole.burn_up.is_some());
    assert_eq!(whole.display_name, "Region A 华东");
    let star = gateway.get_dashboard(wang(masked(&["*"]))).await.unwrap().into_inner();
    assert_eq!(star.sections.len(), 10);
    // And the masked one again is still masked (cached or not).
    let again = gateway.get_dashboard(wang(masked(&["children", "alert_summary"]))).await.unwrap().into_inner();
    assert!(again.open_alerts.is_empty() && again.attainment.is_none() && again.children.len() == 3);

    // A mask naming what is not a dashboard field is the caller's error.
    for bad in ["alerts", "attainment.actual", "children,open_alerts"] {
        let e = gateway.get_dashboard(wang(masked(&[bad]))).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{bad}");
        assert!(e.message().contains("read_mask"), "{bad}: {e:?}");
    }

    // REST: the mask as a query parameter, JSON names accepted.
    let auth = vec![("authorization", format!("Bearer {}", token("wang", Role::Manager, "region-a")))];
    let r =
        request(gw, "GET", "/v1/units/region-a/dashboard?period=2024-01&read_mask=alertSummary,children", &auth, b"")
            .await
            .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    let total = &j["alertSummary"]["total"];
    let total = total.as_i64().or_else(|| total.as_str().and_then(|t| t.parse().ok()));
    assert_eq!(total, Some(full.len() as i64), "{j}");
    assert_eq!(j["children"].as_array().map(Vec::len), Some(3));
    assert!(j.get("openAlerts").is_none_or(|a| a.as_array().is_some_and(Vec::is_empty)), "{j}");
    assert!(j.get("attainment").is_none_or(serde_json::Value::is_null), "{j}");
    // The proto's own field names work too.
    let snake = "/v1/units/region-a/dashboard?period=2024-01&read_mask=alert_summary,children";
    let r = request(gw, "GET", snake, &auth, b"").await.unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["alertSummary"], j["alertSummary"]);
    let bad =
        request(gw, "GET", "/v1/units/region-a/dashboard?period=2024-01&read_mask=nope", &auth, b"").await.unwrap();
    assert_eq!(bad.status, 400, "{}", bad.text());
}

both_backends!(alerts_in_brief_and_read_masks);

/// The dashboard's tracking sections in one call say what the six reads
/// one section each say, for a region and a rep, a month and a quarter.
async fn one_call_for_the_tracking_sections_says_what_six_do(backend: Backend) {
    let suite = Suite::with_demo(backend).await;
    let channel = Channel::from_shared(format!("http://{}", suite.gateway.addr)).unwrap().connect().await.unwrap();
    let mut k = TrackingServiceClient::new(channel);
    let who = ("wang", Role::Manager, "region-a");
    for (unit, period) in [("units/region-a", "2024-01"), ("units/rep-1", "2024-01"), ("units/region-a", "2024-Q1")] {
        let (unit, period) = (unit.to_owned(), period.to_owned());
        let all = k
            .get_dashboard_figures(wang(kpb::GetDashboardFiguresRequest {
                unit: unit.clone(),
                period: period.clone(),
                as_of_date: "2024-01-16".into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        let attain = k
            .list_child_attainments(wang(kpb::ListChildAttainmentsRequest {
                unit: unit.clone(),
                period: period.clone(),
                as_of_date: "2024-01-16".into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        // Read a moment apart: all but when.
        let timeless = |mut a: kpb::ListChildAttainmentsResponse| {
            for x in a.parent.iter_mut().chain(a.children.iter_mut()) {
                x.data_time = None;
            }
            a
        };
        assert_eq!(all.attainment.clone().map(timeless), Some(timeless(attain)), "{unit} {period}");
        let burn = k
            .get_burn_up(wang(kpb::GetBurnUpRequest {
                unit: unit.clone(),
                period: period.clone(),
                as_of_date: "2024-01-16".into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(all.burn_up.as_ref(), Some(&burn), "{unit} {period}");
        let gap = k
            .get_gap_attribution(wang(kpb::GetGapAttributionRequest {
                unit: unit.clone(),
                period: period.clone(),
                as_of_date: "2024-01-16".into(),
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(all.gap_attribution.as_ref(), Some(&gap), "{unit} {period}");
        let open = open_alerts(&mut k, who, &unit).await;
        assert_eq!(all.open_alerts.as_ref().map(|a| &a.alerts), Some(&open), "{unit} {period}");
        assert_eq!(all.alert_summary.as_ref(), Some(&expected_summary(&open, 5)), "{unit} {period}");
        let losses = k
            .list_loss_reasons(wang(kpb::ListLossReasonsRequest {
                unit: unit.clone(),
                period: period.clone(),
                limit: 3,
            }))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(all.loss_reasons.as_ref(), Some(&losses), "{unit} {period}");
    }
    // A gap asked as of a day before the period names that day (as tried
    // from outside: only the period's start was said).
    let early = k
        .get_gap_attribution(wang(kpb::GetGapAttributionRequest {
            unit: "units/region-a".into(),
            period: "2024-02".into(),
            as_of_date: "2024-01-16".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(early.code(), tonic::Code::FailedPrecondition, "{early:?}");
    assert!(early.message().contains("as_of_date 2024-01-16 is before 2024-02"), "{early:?}");
    // Only the sections asked for; a section that is not one is named.
    let some = k
        .get_dashboard_figures(wang(kpb::GetDashboardFiguresRequest {
            unit: "units/region-a".into(),
            period: "2024-01".into(),
            sections: vec!["burn_up".into(), "alert_summary".into()],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(some.burn_up.is_some() && some.alert_summary.is_some());
    assert!(some.attainment.is_none() && some.gap_attribution.is_none() && some.open_alerts.is_none());
    assert!(some.loss_reasons.is_none());
    let bad = k
        .get_dashboard_figures(wang(kpb::GetDashboardFiguresRequest {
            unit: "units/region-a".into(),
            period: "2024-01".into(),
            sections: vec!["burn_up".into(), "alerts".into()],
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("sections[1]"), "{bad:?}");
    // Scope as for each read: a rep reads its own, not the region.
    let denied = k
        .get_dashboard_figures(authed(
            "rep-2",
            Role::Rep,
            "rep-2",
            kpb::GetDashboardFiguresRequest {
                unit: "units/region-a".into(),
                period: "2024-01".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

both_backends!(one_call_for_the_tracking_sections_says_what_six_do);

/// Found from outside: a mask of the always-returned fields alone still
/// checks scope and input; a period not begun yet shows without its gap;
/// sections that do not measure the metric need no plan of it; the open
/// alerts in full go on with ListAlerts' page token.
async fn masks_and_figures_as_tried_from_outside(backend: Backend) {
    let suite = Suite::with_demo(backend).await;
    let channel = Channel::from_shared(format!("http://{}", suite.gateway.addr)).unwrap().connect().await.unwrap();
    let mut gateway = GatewayServiceClient::new(channel.clone());
    let mut k = TrackingServiceClient::new(channel);

    let bare = |unit: &str, period: &str| pb::GetDashboardRequest {
        unit: unit.into(),
        period: period.into(),
        read_mask: Some(prost_types::FieldMask { paths: vec!["unit".into(), "data_time".into()] }),
        ..Default::default()
    };
    let rep = |msg| authed("rep-1", Role::Rep, "rep-1", msg);
    for unit in ["units/acme", "units/region-a", "units/rep-2", "units/ghost"] {
        let e = gateway.get_dashboard(rep(bare(unit, "2024-01"))).await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{unit}: {e:?}");
    }
    assert_eq!(
        gateway.get_dashboard(rep(bare("units/rep-1", "2024-01"))).await.unwrap().into_inner().unit,
        "units/rep-1"
    );
    for (field, mut q) in [
        ("period", bare("units/rep-1", "garbage")),
        ("as_of_date", pb::GetDashboardRequest { as_of_date: "not-a-date".into(), ..bare("units/rep-1", "2024-01") }),
        ("metric", pb::GetDashboardRequest { metric: 99, ..bare("units/rep-1", "2024-01") }),
    ] {
        let e = gateway.get_dashboard(rep(std::mem::take(&mut q))).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{field}: {e:?}");
        assert!(e.message().contains(field), "{field}: {e:?}");
    }

    // February has not begun on the demo's day: its dashboard shows, with
    // no gap to attribute yet.
    let feb = gateway
        .get_dashboard(wang(pb::GetDashboardRequest {
            unit: "units/region-a".into(),
            period: "2024-02".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(feb.attainment.is_some() && feb.burn_up.is_some() && feb.gap_attribution.is_none(), "{feb:?}");

    // No VISITS plan: the sections that do not measure the metric answer.
    let visits = k
        .get_dashboard_figures(wang(kpb::GetDashboardFiguresRequest {
            unit: "units/region-a".into(),
            period: "2024-01".into(),
            metric: common::Metric::Visits as i32,
            sections: ["gap_attribution", "open_alerts", "alert_summary", "loss_reasons"].map(String::from).to_vec(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(visits.gap_attribution.is_some() && visits.alert_summary.is_some() && visits.loss_reasons.is_some());
    let measured = k
        .get_dashboard_figures(wang(kpb::GetDashboardFiguresRequest {
            unit: "units/region-a".into(),
            period: "2024-01".into(),
            metric: common::Metric::Visits as i32,
            sections: vec!["attainment".into()],
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(measured.code(), Code::FailedPrecondition, "the attainment needs a VISITS plan: {measured:?}");

    // More than a page of open alerts: the figures' first page goes on
    // with ListAlerts.
    let days = (2..=16).map(|d| format!("2024-01-{d:02}"));
    for period in days.chain(["2024-W01", "2024-W02", "2024-W03", "2024-Q1"].map(String::from)) {
        let r = kpb::EvaluateAlertsRequest {
            unit: "units/acme".into(),
            period,
            as_of_date: "2024-01-16".into(),
            ..Default::default()
        };
        k.evaluate_alerts(ops(r)).await.unwrap();
    }
    let all = open_alerts(&mut k, ("ops", Role::Admin, ""), "units/acme").await;
    assert!(all.len() > 100, "more than a page of open alerts: {}", all.len());
    let first = k
        .get_dashboard_figures(ops(kpb::GetDashboardFiguresRequest {
            unit: "units/acme".into(),
            period: "2024-01".into(),
            sections: vec!["open_alerts".into()],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .open_alerts
        .unwrap();
    assert_eq!(first.alerts.len(), 100);
    assert!(!first.next_page_token.is_empty(), "the list says there is more");
    let rest = k
        .list_alerts(ops(kpb::ListAlertsRequest {
            unit: "units/acme".into(),
            state: kpb::AlertState::Open as i32,
            page_size: 100,
            page_token: first.next_page_token,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<String> = first.alerts.iter().chain(&rest.alerts).map(|a| a.name.clone()).collect();
    assert_eq!(names, all.iter().map(|a| a.name.clone()).collect::<Vec<_>>());
}

both_backends!(masks_and_figures_as_tried_from_outside);
