//! The guide's reporting rhythm through the gateway: reps' daily logs and a
//! team's weekly summaries as obligations, on the organisation's clock
//! (Shanghai, 17:00 on Tuesday 2024-01-16), with the guide's example loaded.

use std::collections::HashMap;

use crate::support::Suite;
use attain_kit::{
    auth::Role,
    both_backends,
    http_client::request,
    testing::{Backend, token},
};
use attain_proto::attain::{
    common::v1::{ObligationKind as K, ObligationStatus as S},
    gateway::v1::{self as gpb, gateway_service_client::GatewayServiceClient},
    review::v1::{self as rpb, review_service_client::ReviewServiceClient},
    target::v1::{self as tpb, UnitKind, org_service_client::OrgServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use prost_types::FieldMask;
use tonic::{Code, Request, transport::Channel};

fn authed<T>(person: &str, role: Role, unit: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token(person, role, unit)).parse().unwrap());
    r
}

fn ask(unit: &str, period: &str) -> kpb::ListObligationsRequest {
    kpb::ListObligationsRequest { unit: unit.into(), period: period.into(), page_size: 1000, ..Default::default() }
}

/// (unit, period) → status, of a whole listing.
fn statuses(r: &kpb::ListObligationsResponse) -> HashMap<(String, String), i32> {
    r.obligations.iter().map(|o| ((o.unit.clone(), o.period.clone()), o.status)).collect()
}

/// The suite on Shanghai's clock at 17:00 on 2024-01-16, the guide's
/// example loaded, and a channel to the gateway and one to target.
async fn shanghai(backend: Backend) -> (Suite, Channel, Channel) {
    let suite = Suite::start_with(
        backend,
        |s| {
            s.cadence.time_zone = "Asia/Shanghai".into();
            s.clock.time_of_day = chrono::NaiveTime::from_hms_opt(17, 0, 0);
        },
        |_| {},
    )
    .await;
    suite.seed().await;
    let url = |a: std::net::SocketAddr| format!("http://{a}");
    let gateway = Channel::from_shared(url(suite.gateway.addr)).unwrap().connect().await.unwrap();
    let target = Channel::from_shared(url(suite.target.addr)).unwrap().connect().await.unwrap();
    (suite, gateway, target)
}

/// Units created by an admin: (id, parent, kind, name, start date).
async fn units(target: &Channel, rows: &[(&str, &str, UnitKind, &str, &str)]) {
    let mut org = OrgServiceClient::new(target.clone());
    for (id, parent, kind, name, start) in rows {
        let unit = tpb::Unit {
            parent: format!("units/{parent}"),
            kind: *kind as i32,
            display_name: (*name).into(),
            manager: if *kind == UnitKind::Team { "li".into() } else { (*id).into() },
            start_date: (*start).into(),
            ..Default::default()
        };
        let r = tpb::CreateUnitRequest { unit: Some(unit), unit_id: (*id).into(), request_id: format!("cadence-{id}") };
        org.create_unit(authed("ops", Role::Admin, "", r)).await.unwrap();
    }
}

async fn the_guides_rhythm(backend: Backend) {
    let (suite, gateway, target) = shanghai(backend).await;
    let mut k = TrackingServiceClient::new(gateway.clone());

    // A team under region A since Wednesday Jan 3, led by "li", and its
    // rep, hired on Wednesday Jan 10.
    units(
        &target,
        &[
            ("team-a1", "region-a", UnitKind::Team, "Team A1 一组", "2024-01-03"),
            ("rep-t1", "team-a1", UnitKind::Rep, "Rep T1 陈静", "2024-01-10"),
        ],
    )
    .await;

    // Rep 2 logs today (before 18:00: on time) and fills in last Friday.
    for (day, id) in [("2024-01-16", "today"), ("2024-01-12", "friday")] {
        k.create_daily_log(authed(
            "rep-2",
            Role::Rep,
            "rep-2",
            kpb::CreateDailyLogRequest {
                daily_log: Some(kpb::DailyLog {
                    rep: "units/rep-2".into(),
                    log_date: day.into(),
                    notes: "拜访客户".into(),
                    ..Default::default()
                }),
                request_id: format!("cadence-log-{id}"),
            },
        ))
        .await
        .unwrap();
    }
    // The team's lead submits week 1's summary a week late and nothing for
    // week 2.
    k.set_gap_analysis(authed(
        "li",
        Role::Manager,
        "team-a1",
        kpb::SetGapAnalysisRequest {
            unit: "units/team-a1".into(),
            period: "2024-W01".into(),
            text: "新团队，客户储备不足".into(),
            request_id: "cadence-summary".into(),
            ..Default::default()
        },
    ))
    .await
    .unwrap();

    let all = k
        .list_obligations(authed("wang", Role::Manager, "region-a", ask("units/region-a", "2024-01")))
        .await
        .unwrap()
        .into_inner();
    let st = statuses(&all);
    let of = |u: &str, p: &str| st.get(&(format!("units/{u}"), p.to_owned())).copied();
    // Today's log is due at 18:00 in Shanghai, and it is 17:00.
    assert_eq!(of("rep-2", "2024-01-16"), Some(S::Submitted as i32));
    assert_eq!(of("rep-3", "2024-01-16"), Some(S::Due as i32));
    assert_eq!(of("rep-3", "2024-01-15"), Some(S::Missed as i32));
    assert_eq!(of("rep-2", "2024-01-12"), Some(S::Late as i32), "filled in four days later");
    // The demo's log of Jan 12 was entered today.
    assert_eq!(of("rep-1", "2024-01-12"), Some(S::Late as i32));
    // No weekend, nothing after today, nothing before the team began.
    assert_eq!(of("rep-1", "2024-01-13"), None);
    assert_eq!(of("rep-1", "2024-01-17"), None);
    assert_eq!(of("rep-t1", "2024-01-09"), None, "not yet hired");
    assert_eq!(of("rep-t1", "2024-01-10"), Some(S::Missed as i32));
    // The team's weeks: W01 late, W02 missed, W03 due next Monday.
    assert_eq!(of("team-a1", "2024-W01"), Some(S::Late as i32));
    assert_eq!(of("team-a1", "2024-W02"), Some(S::Missed as i32));
    assert_eq!(of("team-a1", "2024-W03"), Some(S::Due as i32));
    let late = all.obligations.iter().find(|o| o.unit == "units/rep-2" && o.period == "2024-01-12").unwrap();
    assert!(late.submit_time.is_some() && late.due_time.is_some());
    assert_eq!(late.unit_display_name, "Rep 2 王芳");
    assert_eq!(late.kind, K::DailyLog as i32);
    // 2024-01-12 18:00 in Shanghai.
    assert_eq!(late.due_time.as_ref().unwrap().seconds, 1_705_053_600);

    // The counts add up to the list, and the rate is on-time of settled.
    let c = all.compliance.clone().unwrap();
    assert_eq!((c.due + c.submitted + c.late + c.missed) as usize, all.obligations.len());
    let settled = c.submitted + c.late + c.missed;
    let rate: rust_decimal::Decimal = c.on_time_rate.parse().unwrap();
    assert_eq!(rate, (rust_decimal::Decimal::from(c.submitted) / rust_decimal::Decimal::from(settled)).round_dp(4));

    // Only the missed ones; then page through them five at a time.
    let mut missed = ask("units/region-a", "2024-01");
    missed.statuses = vec![S::Missed as i32];
    missed.page_size = 5;
    let mut paged = Vec::new();
    loop {
        let page =
            k.list_obligations(authed("wang", Role::Manager, "region-a", missed.clone())).await.unwrap().into_inner();
        assert_eq!(page.compliance, all.compliance, "the compliance is the subtree's whatever the filter");
        paged.extend(page.obligations);
        if page.next_page_token.is_empty() {
            break;
        }
        missed.page_token = page.next_page_token;
    }
    let expected: Vec<_> = all.obligations.iter().filter(|o| o.status == S::Missed as i32).cloned().collect();
    assert_eq!(paged, expected);
    assert_eq!(paged.len() as i32, c.missed);
    // A token does not continue another listing.
    let mut other = ask("units/region-a", "2024-01");
    other.page_token = missed.page_token.clone();
    if !other.page_token.is_empty() {
        let e = k.list_obligations(authed("wang", Role::Manager, "region-a", other)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
    }

    // Weekly summaries only, for the team's lead.
    let mut weekly = ask("units/team-a1", "2024-01");
    weekly.kinds = vec![K::WeeklySummary as i32];
    let weeks = k.list_obligations(authed("li", Role::Manager, "team-a1", weekly)).await.unwrap().into_inner();
    let periods: Vec<&str> = weeks.obligations.iter().map(|o| o.period.as_str()).collect();
    assert_eq!(periods, ["2024-W01", "2024-W02", "2024-W03"]);

    // A rep sees its own and nobody else's.
    let mine = k
        .list_obligations(authed("rep-3", Role::Rep, "rep-3", ask("units/rep-3", "2024-01")))
        .await
        .unwrap()
        .into_inner();
    assert!(!mine.obligations.is_empty() && mine.obligations.iter().all(|o| o.unit == "units/rep-3"));
    let e =
        k.list_obligations(authed("rep-3", Role::Rep, "rep-3", ask("units/region-a", "2024-01"))).await.unwrap_err();
    assert!(matches!(e.code(), Code::NotFound | Code::PermissionDenied), "{e:?}");

    // Bad input names its field.
    for (r, field) in [
        (ask("units/region-a", ""), "period"),
        (ask("units/region-a", "2024-13"), "period"),
        (kpb::ListObligationsRequest { statuses: vec![9], ..ask("units/region-a", "2024-01") }, "statuses[0]"),
        (kpb::ListObligationsRequest { kinds: vec![0], ..ask("units/region-a", "2024-01") }, "kinds[0]"),
        (kpb::ListObligationsRequest { page_size: -1, ..ask("units/region-a", "2024-01") }, "page_size"),
    ] {
        let e = k.list_obligations(authed("wang", Role::Manager, "region-a", r)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{field}: {e:?}");
        assert!(e.message().contains(field), "{field}: {}", e.message());
    }

    // The dashboard's section is the same count; asked alone, it is all
    // that comes back.
    let mut g = GatewayServiceClient::new(gateway.clone());
    let dash = |mask: Option<FieldMask>| {
        authed(
            "wang",
            Role::Manager,
            "region-a",
            gpb::GetDashboardRequest {
                unit: "units/region-a".into(),
                period: "2024-01".into(),
                read_mask: mask,
                ..Default::default()
            },
        )
    };
    // Region A's January review is the review service's: due by Feb 5,
    // open today. The dashboard counts it with the logs and summaries.
    let mut rv = ReviewServiceClient::new(gateway.clone());
    let monthly = |who: (&str, Role, &str), unit: &str, period: &str| {
        authed(
            who.0,
            who.1,
            who.2,
            rpb::ListObligationsRequest { unit: unit.into(), period: period.into(), ..Default::default() },
        )
    };
    let wang = ("wang", Role::Manager, "region-a");
    let jan = rv.list_obligations(monthly(wang, "units/region-a", "2024-01")).await.unwrap().into_inner();
    let rows: Vec<(&str, &str, i32, i32)> =
        jan.obligations.iter().map(|o| (o.unit.as_str(), o.period.as_str(), o.kind, o.status)).collect();
    assert_eq!(rows, [("units/region-a", "2024-01", K::MonthlyReview as i32, S::Due as i32)]);
    // 2024-02-05 24:00 in Shanghai.
    assert_eq!(jan.obligations[0].due_time.as_ref().unwrap().seconds, 1_707_148_800);
    let company =
        rv.list_obligations(monthly(("ops", Role::Admin, ""), "units/acme", "2024-Q1")).await.unwrap().into_inner();
    assert_eq!(company.obligations.len(), 4, "every region's January, nothing not yet begun: {company:?}");
    let counts = |c: &Option<attain_proto::attain::common::v1::Compliance>| c.clone().unwrap();
    let together = {
        let (a, b) = (counts(&all.compliance), counts(&jan.compliance));
        (a.due + b.due, a.submitted + b.submitted, a.late + b.late, a.missed + b.missed)
    };
    let d = g.get_dashboard(dash(None)).await.unwrap().into_inner();
    let shown = counts(&d.compliance);
    assert_eq!((shown.due, shown.submitted, shown.late, shown.missed), together);
    assert_eq!(shown.on_time_rate, counts(&all.compliance).on_time_rate, "a review still due settles nothing");
    let only = g.get_dashboard(dash(Some(FieldMask { paths: vec!["compliance".into()] }))).await.unwrap().into_inner();
    assert_eq!(only.compliance, d.compliance);
    assert!(only.attainment.is_none() && only.open_alerts.is_empty() && only.burn_up.is_none());
    let sections: Vec<&str> = only.sections.iter().map(|s| s.section.as_str()).collect();
    assert_eq!(sections, ["compliance", "review_obligations"]);

    // The review's brief counts the same; closed today, the review is
    // submitted on time.
    let review = rv
        .list_reviews(authed(
            "wang",
            Role::Manager,
            "region-a",
            rpb::ListReviewsRequest { unit: "units/region-a".into(), unit_only: true, ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner()
        .reviews
        .remove(0);
    let brief = counts(&review.brief.as_ref().unwrap().compliance);
    assert_eq!((brief.due, brief.submitted, brief.late, brief.missed), together);
    rv.close_review(authed(
        "wang",
        Role::Manager,
        "region-a",
        rpb::CloseReviewRequest {
            name: review.name.clone(),
            etag: review.etag.clone(),
            request_id: "cadence-close".into(),
        },
    ))
    .await
    .unwrap();
    let jan = rv.list_obligations(monthly(wang, "units/region-a", "2024-01")).await.unwrap().into_inner();
    assert_eq!(jan.obligations[0].status, S::Submitted as i32);
    assert!(jan.obligations[0].submit_time.is_some());
    // A rep owes no review and sees no region's.
    let rep = rv.list_obligations(monthly(("rep-1", Role::Rep, "rep-1"), "units/rep-1", "2024-01")).await.unwrap();
    assert!(rep.into_inner().obligations.is_empty());
    let e = rv.list_obligations(monthly(("rep-1", Role::Rep, "rep-1"), "units/region-a", "2024-01")).await.unwrap_err();
    assert!(matches!(e.code(), Code::NotFound | Code::PermissionDenied), "{e:?}");
    let e = rv.list_obligations(monthly(wang, "units/region-a", "")).await.unwrap_err();
    assert!(e.code() == Code::InvalidArgument && e.message().contains("period"), "{e:?}");

    // REST, as a page reads it.
    let auth = [("authorization", format!("Bearer {}", token("wang", Role::Manager, "region-a")))];
    let reply = request(
        suite.gateway.addr,
        "GET",
        "/v1/units/region-a/obligations?period=2024-01&statuses=OBLIGATION_STATUS_LATE",
        &auth,
        b"",
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    let rows = body["obligations"].as_array().unwrap();
    assert_eq!(rows.len() as i32, c.late);
    assert!(rows.iter().all(|o| o["status"] == "OBLIGATION_STATUS_LATE"), "{body}");
    assert_eq!(body["compliance"]["onTimeRate"], c.on_time_rate.as_str());

    // A missed report raises REPORT_OVERDUE: the team's one missed week is
    // YELLOW, the new rep's four missed days RED.
    let evaluate = |who: (&str, Role, &str)| {
        authed(
            who.0,
            who.1,
            who.2,
            kpb::EvaluateAlertsRequest {
                unit: "units/region-a".into(),
                period: "2024-01".into(),
                ..Default::default()
            },
        )
    };
    let wang = ("wang", Role::Manager, "region-a");
    k.evaluate_alerts(evaluate(wang)).await.unwrap();
    let overdue = |alerts: Vec<kpb::Alert>, unit: &str| {
        alerts.into_iter().find(|a| {
            a.unit == format!("units/{unit}")
                && a.rule == kpb::AlertRule::ReportOverdue as i32
                && a.state != kpb::AlertState::Resolved as i32
        })
    };
    let open = |k: &mut TrackingServiceClient<Channel>| {
        let mut k = k.clone();
        async move {
            k.list_alerts(authed(
                "wang",
                Role::Manager,
                "region-a",
                kpb::ListAlertsRequest { unit: "units/region-a".into(), page_size: 1000, ..Default::default() },
            ))
            .await
            .unwrap()
            .into_inner()
            .alerts
        }
    };
    let team = overdue(open(&mut k).await, "team-a1").expect("the team's overdue summary");
    assert_eq!(team.severity, attain_proto::attain::common::v1::Status::Yellow as i32);
    assert_eq!(team.message, "1 report missed: weekly summary 2024-W02");
    let rep = overdue(open(&mut k).await, "rep-t1").expect("the new rep's overdue logs");
    assert_eq!(rep.severity, attain_proto::attain::common::v1::Status::Red as i32);
    assert_eq!(
        rep.message,
        "4 reports missed: daily log 2024-01-10, daily log 2024-01-11, daily log 2024-01-12, daily log 2024-01-15"
    );
    // Three of the four filled in late: one left, YELLOW; then the last,
    // and the week's summary: both resolve.
    for (day, n) in [("2024-01-10", 1), ("2024-01-11", 2), ("2024-01-12", 3)] {
        let log = kpb::DailyLog { rep: "units/rep-t1".into(), log_date: day.into(), ..Default::default() };
        let r = kpb::CreateDailyLogRequest { daily_log: Some(log), request_id: format!("cadence-t1-{n}") };
        k.create_daily_log(authed("rep-t1", Role::Rep, "rep-t1", r)).await.unwrap();
    }
    k.evaluate_alerts(evaluate(wang)).await.unwrap();
    let rep = overdue(open(&mut k).await, "rep-t1").expect("one log still owed");
    assert_eq!(
        (rep.severity, rep.message.as_str()),
        (attain_proto::attain::common::v1::Status::Yellow as i32, "1 report missed: daily log 2024-01-15")
    );
    let log = kpb::DailyLog { rep: "units/rep-t1".into(), log_date: "2024-01-15".into(), ..Default::default() };
    let r = kpb::CreateDailyLogRequest { daily_log: Some(log), request_id: "cadence-t1-4".into() };
    k.create_daily_log(authed("rep-t1", Role::Rep, "rep-t1", r)).await.unwrap();
    k.set_gap_analysis(authed(
        "li",
        Role::Manager,
        "team-a1",
        kpb::SetGapAnalysisRequest {
            unit: "units/team-a1".into(),
            period: "2024-W02".into(),
            text: "补交".into(),
            request_id: "cadence-summary-2".into(),
            ..Default::default()
        },
    ))
    .await
    .unwrap();
    k.evaluate_alerts(evaluate(wang)).await.unwrap();
    let now = open(&mut k).await;
    assert!(overdue(now.clone(), "rep-t1").is_none() && overdue(now, "team-a1").is_none(), "resolved once submitted");
    let late = k
        .list_obligations(authed("li", Role::Manager, "team-a1", ask("units/team-a1", "2024-01")))
        .await
        .unwrap()
        .into_inner()
        .compliance
        .unwrap();
    assert_eq!((late.missed, late.late), (0, 6), "four logs and two summaries, all late: {late:?}");
}

both_backends!(the_guides_rhythm);

/// What an outside tester tried: a back-dated move, periods no plan
/// covers, blank or advance summaries, a week spelt two ways, logs outside
/// a rep's life, an overdue alert raised for a week.
async fn reports_stay_where_they_were_owed(backend: Backend) {
    let (_suite, gateway, target) = shanghai(backend).await;
    let mut k = TrackingServiceClient::new(gateway.clone());
    units(
        &target,
        &[
            ("team-a1", "region-a", UnitKind::Team, "Team A1 一组", "2024-01-03"),
            ("rep-t1", "team-a1", UnitKind::Rep, "Rep T1 陈静", "2024-01-10"),
            ("team-b1", "region-b", UnitKind::Team, "Team B1 二组", "2024-01-01"),
        ],
    )
    .await;
    // Rep T1 moved to team B1 from Monday the 15th (entered today).
    OrgServiceClient::new(target.clone())
        .move_unit(authed(
            "ops",
            Role::Admin,
            "",
            tpb::MoveUnitRequest {
                name: "units/rep-t1".into(),
                new_parent: "units/team-b1".into(),
                effective_date: "2024-01-15".into(),
                request_id: "cadence-move".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let days = |who: (&str, Role, &str), unit: &str| {
        let (mut k, req) = (k.clone(), authed(who.0, who.1, who.2, ask(unit, "2024-01")));
        async move {
            let r = k.list_obligations(req).await.unwrap().into_inner();
            r.obligations.into_iter().filter(|o| o.unit == "units/rep-t1").map(|o| o.period).collect::<Vec<_>>()
        }
    };
    let wang = ("wang", Role::Manager, "region-a");
    let zhao = ("zhao", Role::Manager, "region-b");
    assert_eq!(days(wang, "units/region-a").await, ["2024-01-10", "2024-01-11", "2024-01-12"], "its days in A");
    assert_eq!(days(zhao, "units/region-b").await, ["2024-01-15", "2024-01-16"], "only its days in B");
    assert_eq!(days(("li", Role::Manager, "team-a1"), "units/team-a1").await.len(), 3);

    // No plan covers 2023: no obligations are invented for it.
    for period in ["2023-12", "2023-12-25..2024-01-05", "1999"] {
        let e = k.list_obligations(authed(wang.0, wang.1, wang.2, ask("units/region-a", period))).await.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "{period}: {e:?}");
    }
    let e = ReviewServiceClient::new(gateway.clone())
        .list_obligations(authed(
            wang.0,
            wang.1,
            wang.2,
            rpb::ListObligationsRequest { unit: "units/region-a".into(), period: "2023".into(), ..Default::default() },
        ))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");

    // A summary is written, once its week has begun, for one spelling of
    // the week.
    let summary = |period: &str, text: &str| {
        authed(
            "li",
            Role::Manager,
            "team-a1",
            kpb::SetGapAnalysisRequest {
                unit: "units/team-a1".into(),
                period: period.into(),
                text: text.into(),
                request_id: format!("cadence-{period}-{}", text.len()),
                ..Default::default()
            },
        )
    };
    for (period, text, code, words) in [
        ("2024-W02", "   ", Code::InvalidArgument, "text"),
        ("2024-W02", "\u{200b}\u{200d}", Code::InvalidArgument, "invisible"),
        ("2024-W02", "正常\u{202e}文本", Code::InvalidArgument, "invisible"),
        ("2024-W04", "提前写好", Code::FailedPrecondition, "has begun"),
        ("2024-W3", "周报", Code::InvalidArgument, "two digits"),
    ] {
        let e = k.set_gap_analysis(summary(period, text)).await.unwrap_err();
        assert_eq!(e.code(), code, "{period}: {e:?}");
        assert!(e.message().contains(words), "{period}: {}", e.message());
    }
    let weeks = k
        .list_obligations(authed("li", Role::Manager, "team-a1", ask("units/team-a1", "2024-01")))
        .await
        .unwrap()
        .into_inner();
    assert!(
        weeks.obligations.iter().filter(|o| o.kind == K::WeeklySummary as i32).all(|o| o.submit_time.is_none()),
        "nothing refused counts: {weeks:?}"
    );

    // A rep logs the days of its working life only.
    let log = |day: &str| {
        let l = kpb::DailyLog { rep: "units/rep-t1".into(), log_date: day.into(), ..Default::default() };
        authed(
            "rep-t1",
            Role::Rep,
            "rep-t1",
            kpb::CreateDailyLogRequest { daily_log: Some(l), request_id: format!("t1-{day}") },
        )
    };
    let e = k.create_daily_log(log("2024-01-09")).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(
        e.message().contains("daily_log.log_date") && e.message().contains("started on 2024-01-10"),
        "{}",
        e.message()
    );

    // Alerts for reports are a month's: a week's pass opens none.
    let evaluate = |period: &str| {
        authed(
            "ops",
            Role::Admin,
            "",
            kpb::EvaluateAlertsRequest { unit: "units/region-a".into(), period: period.into(), ..Default::default() },
        )
    };
    let week = k.evaluate_alerts(evaluate("2024-W03")).await.unwrap().into_inner().changed;
    assert!(week.iter().all(|a| a.rule != kpb::AlertRule::ReportOverdue as i32), "{week:?}");
    let month = k.evaluate_alerts(evaluate("2024-01")).await.unwrap().into_inner().changed;
    let overdue: Vec<&kpb::Alert> = month.iter().filter(|a| a.rule == kpb::AlertRule::ReportOverdue as i32).collect();
    assert!(!overdue.is_empty());
    assert!(overdue.iter().all(|a| a.actual.is_none() && a.expected.is_none()), "no sales figures: {overdue:?}");
}

both_backends!(reports_stay_where_they_were_owed);

/// A region that has not closed January's review by February 5 gets a
/// REPORT_OVERDUE alert in February; closing it (late) resolves the alert —
/// review tells tracking of the close, tracking never calls review.
async fn a_regions_missed_review_is_an_alert(backend: Backend) {
    let suite = Suite::start_with(
        backend,
        |s| {
            s.cadence.time_zone = "Asia/Shanghai".into();
            s.clock.today = chrono::NaiveDate::from_ymd_opt(2024, 2, 7);
            s.clock.time_of_day = chrono::NaiveTime::from_hms_opt(10, 0, 0);
        },
        |_| {},
    )
    .await;
    suite.seed().await;
    let gateway = Channel::from_shared(format!("http://{}", suite.gateway.addr)).unwrap().connect().await.unwrap();
    let mut k = TrackingServiceClient::new(gateway.clone());
    let evaluate =
        || kpb::EvaluateAlertsRequest { unit: "units/acme".into(), period: "2024-02".into(), ..Default::default() };
    let report_alert = |alerts: &[kpb::Alert], unit: &str| {
        alerts
            .iter()
            .find(|a| {
                a.unit == unit
                    && a.rule == kpb::AlertRule::ReportOverdue as i32
                    && a.period.as_ref().unwrap().expression == "2024-02"
            })
            .cloned()
    };
    // (Loading the example evaluated February already: the alerts stand.)
    k.evaluate_alerts(authed("ops", Role::Admin, "", evaluate())).await.unwrap();
    let list = || kpb::ListAlertsRequest { unit: "units/acme".into(), page_size: 1000, ..Default::default() };
    let changed = k.list_alerts(authed("ops", Role::Admin, "", list())).await.unwrap().into_inner().alerts;
    let a = report_alert(&changed, "units/region-a").unwrap_or_else(|| panic!("no overdue review alert: {changed:?}"));
    assert_eq!(a.state, kpb::AlertState::Open as i32);
    assert_eq!(a.severity, attain_proto::attain::common::v1::Status::Yellow as i32);
    assert!(a.message.contains("monthly review 2024-01"), "{}", a.message);
    assert!(a.actual.is_none(), "a report alert carries no figures");
    // Region B also owes January's review (the demo opened none there).
    assert!(report_alert(&changed, "units/region-b").is_some());

    // Only the review service may report a close: a manager may not fake one.
    let fake = kpb::RecordReviewCloseRequest {
        unit: "units/region-a".into(),
        month: "2024-01".into(),
        close_time: Some(prost_types::Timestamp { seconds: 1_707_000_000, nanos: 0 }),
    };
    let e = k.record_review_close(authed("wang", Role::Manager, "region-a", fake.clone())).await.unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    for bad in ["2024-13", "2024-1", "202401", ""] {
        let r = kpb::RecordReviewCloseRequest { month: bad.into(), ..fake.clone() };
        let e = k.record_review_close(authed("ops", Role::Admin, "", r)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{bad}");
        assert!(e.message().contains("month"), "{}", e.message());
    }

    // Region A's manager closes January's review, late.
    let mut rv = ReviewServiceClient::new(gateway.clone());
    fn wang<T>(m: T) -> Request<T> {
        authed("wang", Role::Manager, "region-a", m)
    }
    let reviews = rv
        .list_reviews(wang(rpb::ListReviewsRequest { unit: "units/region-a".into(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .reviews;
    let jan = reviews.iter().find(|r| r.period.as_ref().unwrap().expression == "2024-01").unwrap();
    rv.close_review(wang(rpb::CloseReviewRequest {
        name: jan.name.clone(),
        etag: String::new(),
        request_id: "close-jan".into(),
    }))
    .await
    .unwrap();
    // Review tells tracking in the background; the next pass resolves it.
    let start = std::time::Instant::now();
    loop {
        let changed = k.evaluate_alerts(authed("ops", Role::Admin, "", evaluate())).await.unwrap().into_inner().changed;
        if let Some(a) = report_alert(&changed, "units/region-a") {
            assert_eq!(a.state, kpb::AlertState::Resolved as i32, "{a:?}");
            assert_eq!(a.message, "every report is in");
            break;
        }
        let open = k.list_alerts(authed("ops", Role::Admin, "", list())).await.unwrap().into_inner().alerts;
        if report_alert(&open, "units/region-a").is_none_or(|a| a.state == kpb::AlertState::Resolved as i32) {
            // Resolved by a pass of tracking's own (it woke on the close).
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "the close never reached tracking");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Review's own listing says LATE.
    let obligations = rv
        .list_obligations(wang(rpb::ListObligationsRequest {
            unit: "units/region-a".into(),
            period: "2024-01".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(obligations.obligations[0].status, S::Late as i32);
}

both_backends!(a_regions_missed_review_is_an_alert);
