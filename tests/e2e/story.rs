//! DESIGN §6 end to end, through the gateway only, with every service a
//! separate process (`attain serve …`) on its own PostgreSQL database — and
//! tracking as two replicas (two processes, two ports, one database) that
//! the gateway balances over. Then the role × call × owner matrix: ADMIN,
//! a region MANAGER, a REP and a VIEWER against their own unit, a unit in
//! their subtree and a sibling, every cell asserted.

use std::time::{Duration, Instant};

use crate::support::process::{channel, free_port, serve, wait_healthy};
use attain_kit::{
    auth::Role,
    testing::{Backend, fresh_database_url, token},
};
use attain_proto::attain::{
    common::v1::Money,
    gateway::v1::{GetDashboardRequest, gateway_service_client::GatewayServiceClient},
    review::v1::{self as rpb, review_service_client::ReviewServiceClient},
    target::v1::{self as tpb, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use tonic::{Code, Request, transport::Channel};

fn as_<T>(person: &str, role: Role, unit: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token(person, role, unit)).parse().unwrap());
    r
}

fn admin<T>(msg: T) -> Request<T> {
    as_("ops", Role::Admin, "", msg)
}

fn manager<T>(msg: T) -> Request<T> {
    as_("wang", Role::Manager, "region-a", msg)
}

fn cny(a: &str) -> Option<Money> {
    Some(Money { currency_code: "CNY".into(), amount: a.into() })
}

fn amount(m: &Option<Money>) -> &str {
    m.as_ref().map_or("", |m| m.amount.as_str())
}

fn deal(rep: &str, amount: &str, request_id: &str) -> kpb::CreateDealRequest {
    kpb::CreateDealRequest {
        deal: Some(kpb::Deal {
            rep: format!("units/{rep}"),
            amount: cny(amount),
            close_date: "2024-01-16".into(),
            customer: "客户".into(),
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

/// The next event of a watch, within a few seconds.
async fn next_alert(stream: &mut tonic::Streaming<kpb::WatchAlertsResponse>, unit: &str) -> kpb::Alert {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let got = tokio::time::timeout(left, stream.message()).await.expect("an alert event in time").unwrap();
        let alert = got.expect("the watch stays open").alert.unwrap();
        if alert.unit == unit {
            return alert;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_story_through_the_gateway_with_separate_processes() {
    let dir = std::env::temp_dir().join(format!("attain-story-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (target_db, tracking_db, review_db) = (
        fresh_database_url(Backend::Postgres).await,
        fresh_database_url(Backend::Postgres).await,
        fresh_database_url(Backend::Postgres).await,
    );
    let (pt, pk1, pk2, pr, pg) = (free_port(), free_port(), free_port(), free_port(), free_port());
    let url = |p: u16| format!("http://127.0.0.1:{p}");
    let trackings = format!("{},{}", url(pk1), url(pk2));
    let today = ("APP__CLOCK__TODAY", "2024-01-16".to_owned());
    let _target = serve("target", pt, &dir, &[("APP__DATABASE__URL", target_db), today.clone()]);
    wait_healthy(pt).await;
    // Both replicas may lead the alert evaluator: both have its account.
    let tracking_env = |db: &str| {
        vec![
            ("APP__DATABASE__URL", db.to_owned()),
            ("APP__UPSTREAM__TARGET_URL", url(pt)),
            ("APP__JOBS__SERVICE_TOKEN", token("svc-tracking", Role::Admin, "")),
            today.clone(),
        ]
    };
    let _k1 = serve("tracking", pk1, &dir, &tracking_env(&tracking_db));
    wait_healthy(pk1).await;
    let _k2 = serve("tracking", pk2, &dir, &tracking_env(&tracking_db));
    wait_healthy(pk2).await;
    let _review = serve(
        "review",
        pr,
        &dir,
        &[
            ("APP__DATABASE__URL", review_db),
            ("APP__UPSTREAM__TARGET_URL", url(pt)),
            ("APP__UPSTREAM__TRACKING_URL", trackings.clone()),
            today.clone(),
        ],
    );
    let _gateway = serve(
        "gateway",
        pg,
        &dir,
        &[
            ("APP__UPSTREAM__TARGET_URL", url(pt)),
            ("APP__UPSTREAM__TRACKING_URL", trackings),
            ("APP__UPSTREAM__REVIEW_URL", url(pr)),
            ("APP__JOBS__SERVICE_TOKEN", token("svc-gateway", Role::Admin, "")),
        ],
    );
    for p in [pr, pg] {
        wait_healthy(p).await;
    }

    // Steps 1–6 set up through the gateway alone: the gateway's address
    // stands for all three services.
    let gw_addr: std::net::SocketAddr = format!("127.0.0.1:{pg}").parse().unwrap();
    attain::demo::seed(gw_addr, gw_addr, gw_addr, token("ops", Role::Admin, "")).await.unwrap();
    let gw = channel(pg).await;
    let mut targets = TargetServiceClient::new(gw.clone());
    let mut tracking = TrackingServiceClient::new(gw.clone());
    let mut reviews = ReviewServiceClient::new(gw.clone());
    let mut org = OrgServiceClient::new(gw.clone());
    let target_of = |unit: &str| tpb::GetTargetRequest { name: format!("plans/fy2024/targets/{unit}"), as_of: None };

    // 1–2. 10,000,000 top target; regions 30/25/20/15%, 1,000,000 in reserve.
    let top = targets.get_target(admin(target_of("acme"))).await.unwrap().into_inner();
    assert_eq!(amount(&top.amount), "10000000.00");
    let mut regions = Vec::new();
    for r in ["region-a", "region-b", "region-c", "region-d"] {
        regions.push(amount(&targets.get_target(admin(target_of(r))).await.unwrap().into_inner().amount).to_owned());
    }
    assert_eq!(regions, ["3000000.00", "2500000.00", "2000000.00", "1500000.00"]);
    // 3. Region A's reps; the new hire gets less than the senior rep.
    let mut reps = Vec::new();
    for r in ["rep-1", "rep-2", "rep-3"] {
        reps.push(amount(&targets.get_target(admin(target_of(r))).await.unwrap().into_inner().amount).to_owned());
    }
    assert_eq!(reps, ["1200000.00", "1000000.00", "800000.00"]);
    // 4. Rep 1's quarters and January.
    let mut quarters = Vec::new();
    for p in ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2024-01"] {
        let q = targets
            .query_period_targets(admin(tpb::QueryPeriodTargetsRequest {
                plan: "plans/fy2024".into(),
                unit: "units/rep-1".into(),
                period: p.into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        quarters.push(amount(&q.targets.iter().find(|t| t.unit == "units/rep-1").unwrap().amount).to_owned());
    }
    assert_eq!(quarters, ["300000.00", "350000.00", "250000.00", "300000.00", "100000.00"]);

    // 5. Rep 1 is RED on the 16th. Watchers through the gateway and on each
    //    tracking replica directly all see the alert resolve when more
    //    deals come in (through the gateway, to either replica).
    let open = tracking
        .list_alerts(manager(kpb::ListAlertsRequest {
            unit: "units/rep-1".into(),
            state: kpb::AlertState::Open as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(open.alerts.iter().any(|a| a.severity == attain_proto::attain::common::v1::Status::Red as i32));
    let watch = |c: Channel| async move {
        TrackingServiceClient::new(c)
            .watch_alerts(manager(kpb::WatchAlertsRequest {
                unit: "units/region-a".into(),
                include_open: false,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
    };
    let mut via_gateway = watch(gw.clone()).await;
    let mut on_k1 = watch(channel(pk1).await).await;
    let mut on_k2 = watch(channel(pk2).await).await;
    tracking.create_deal(as_("rep-1", Role::Rep, "rep-1", deal("rep-1", "15000.00", "story-more-1"))).await.unwrap();
    for w in [&mut via_gateway, &mut on_k1, &mut on_k2] {
        let a = next_alert(w, "units/rep-1").await;
        assert_eq!(a.state, kpb::AlertState::Resolved as i32, "{a:?}");
    }
    // Both replicas serve the same figures.
    let mut figures = Vec::new();
    for p in [pk1, pk2] {
        let a = TrackingServiceClient::new(channel(p).await)
            .get_attainment(manager(kpb::GetAttainmentRequest {
                unit: "units/rep-1".into(),
                period: "2024-01".into(),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        figures.push((amount(&a.actual).to_owned(), amount(&a.target).to_owned(), a.status));
    }
    assert_eq!(figures[0], figures[1]);
    assert_eq!(figures[0].0, "55000.00");

    // 6. Region A's January review: figures, loss reasons, a report, a
    //    February suggestion.
    let list = reviews
        .list_reviews(manager(rpb::ListReviewsRequest { unit: "units/region-a".into(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner();
    let review = list.reviews.iter().find(|r| r.unit == "units/region-a").unwrap().name.clone();
    let brief = reviews
        .refresh_brief(manager(rpb::RefreshBriefRequest { name: review.clone(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .brief
        .unwrap();
    assert_eq!(brief.members.len(), 3);
    let report = reviews
        .generate_report(manager(rpb::GenerateReportRequest {
            name: review.clone(),
            format: rpb::ReportFormat::Markdown as i32,
            language: attain_proto::attain::common::v1::Language::En as i32,
            money_unit: 0,
        }))
        .await
        .unwrap()
        .into_inner();
    let text = String::from_utf8(report.content).unwrap();
    assert!(text.contains("Region A") && text.to_lowercase().contains("price"), "{text}");
    let suggestion = reviews
        .get_suggestion(manager(rpb::GetSuggestionRequest { name: review.clone(), growth_rate: String::new() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(suggestion.next_period.unwrap().expression, "2024-02");
    assert!(!amount(&suggestion.amount).is_empty());
    // On Jan 16 January is half over: its trend is the run-rate forecast
    // to the month's end, not half a month's sales.
    assert_eq!(suggestion.inputs["basis"], "forecast", "{:?}", suggestion.inputs);
    let region = TrackingServiceClient::new(channel(pk1).await)
        .get_attainment(manager(kpb::GetAttainmentRequest {
            unit: "units/region-a".into(),
            period: "2024-01".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(suggestion.inputs["trend"], amount(&region.forecast), "the forecast is the trend");
    assert_ne!(amount(&region.forecast), amount(&region.actual));

    // 7. A −10% policy adjustment for rep 1: the requester cannot approve
    //    it, the region manager does; target, history and region change.
    let adj = targets
        .create_adjustment(as_(
            "rep-1",
            Role::Rep,
            "rep-1",
            tpb::CreateAdjustmentRequest {
                parent: "plans/fy2024".into(),
                adjustment: Some(tpb::Adjustment {
                    target: "plans/fy2024/targets/rep-1".into(),
                    change: Some(tpb::adjustment::Change::ChangePercent("-10".into())),
                    reason: tpb::AdjustmentReason::Policy as i32,
                    justification: "渠道政策调整".into(),
                    redistribution: tpb::Redistribution::ParentAbsorbs as i32,
                    // January is still open on the 16th: the cut applies
                    // to the whole month.
                    effective_date: "2024-01-01".into(),
                    ..Default::default()
                }),
                request_id: "story-adjust-1".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let approve = |(person, role, unit): (&str, Role, &str), adj: &tpb::Adjustment| {
        as_(
            person,
            role,
            unit,
            tpb::ApproveAdjustmentRequest {
                name: adj.name.clone(),
                etag: adj.etag.clone(),
                note: "ok".into(),
                request_id: format!("approve-by-{person}"),
            },
        )
    };
    let own = targets.approve_adjustment(approve(("rep-1", Role::Rep, "rep-1"), &adj)).await.unwrap_err();
    assert_eq!(own.code(), Code::PermissionDenied);
    let done =
        targets.approve_adjustment(approve(("wang", Role::Manager, "region-a"), &adj)).await.unwrap().into_inner();
    assert_eq!(done.state, tpb::AdjustmentState::Approved as i32);
    assert_eq!(amount(&targets.get_target(admin(target_of("rep-1"))).await.unwrap().into_inner().amount), "1080000.00");
    assert_eq!(
        amount(&targets.get_target(admin(target_of("region-a"))).await.unwrap().into_inner().amount),
        "2880000.00"
    );
    let history = targets
        .list_target_revisions(admin(tpb::ListTargetRevisionsRequest {
            parent: "plans/fy2024/targets/rep-1".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(history.revisions.len() >= 2, "{:?}", history.revisions);
    // Attainment shows the revised target beside the original one, so a
    // lowered target never hides a miss.
    let a = tracking
        .get_attainment(manager(kpb::GetAttainmentRequest {
            unit: "units/rep-1".into(),
            period: "2024-01".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((amount(&a.target), amount(&a.original_target)), ("90000.00", "100000.00"));
    // So does the review's brief, and its report shows both.
    let brief = reviews
        .refresh_brief(manager(rpb::RefreshBriefRequest { name: review.clone(), ..Default::default() }))
        .await
        .unwrap()
        .into_inner()
        .brief
        .unwrap();
    let rep1 = brief.members.iter().find(|m| m.unit == "units/rep-1").unwrap();
    assert_eq!((amount(&rep1.target), amount(&rep1.original_target)), ("90000.00", "100000.00"));
    let report = reviews
        .generate_report(manager(rpb::GenerateReportRequest {
            name: review.clone(),
            format: rpb::ReportFormat::Markdown as i32,
            language: attain_proto::attain::common::v1::Language::En as i32,
            money_unit: 0,
        }))
        .await
        .unwrap()
        .into_inner();
    let text = String::from_utf8(report.content).unwrap();
    assert!(text.contains("90,000.00 (originally 100,000.00)"), "{text}");

    // 8. The role × call × owner matrix. A rep in region B makes the
    //    sibling cells for writes.
    org.create_unit(admin(tpb::CreateUnitRequest {
        unit: Some(tpb::Unit {
            parent: "units/region-b".into(),
            kind: tpb::UnitKind::Rep as i32,
            display_name: "Rep B1".into(),
            ..Default::default()
        }),
        unit_id: "rep-b1".into(),
        request_id: "story-rep-b1".into(),
    }))
    .await
    .unwrap();
    // A team inside region A with its own rep makes the team manager's cells.
    for (id, parent, kind) in
        [("team-a1", "units/region-a", tpb::UnitKind::Team), ("rep-t1", "units/team-a1", tpb::UnitKind::Rep)]
    {
        org.create_unit(admin(tpb::CreateUnitRequest {
            unit: Some(tpb::Unit {
                parent: parent.into(),
                kind: kind as i32,
                display_name: id.into(),
                ..Default::default()
            }),
            unit_id: id.into(),
            request_id: format!("story-{id}"),
        }))
        .await
        .unwrap();
    }
    matrix(gw).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Dashboard,
    Attainment,
    Target,
    Reviews,
    WriteDeal,
    // Reads of a unit's figures that follow the Attainment column.
    ChildAttainments,
    BurnUp,
    GapAttribution,
    PeriodSummary,
    Deals,
    Alerts,
    LossReasons,
    Unit,
    Subtree,
}

/// The reads whose cells are the Attainment column's: the same scope rule
/// must give the same answer on every one of them.
const LIKE_ATTAINMENT: [Call; 9] = [
    Call::ChildAttainments,
    Call::BurnUp,
    Call::GapAttribution,
    Call::PeriodSummary,
    Call::Deals,
    Call::Alerts,
    Call::LossReasons,
    Call::Unit,
    Call::Subtree,
];

/// A caller: person, role, scope unit.
type Who = (&'static str, Role, &'static str);
/// `Ok` or the refusal's code.
type Outcome = Result<(), Code>;

async fn attempt(gw: &Channel, who: Who, call: Call, unit: &str, n: usize) -> Outcome {
    let (person, role, scope) = who;
    let unit_name = format!("units/{unit}");
    let r = match call {
        Call::Dashboard => GatewayServiceClient::new(gw.clone())
            .get_dashboard(as_(
                person,
                role,
                scope,
                GetDashboardRequest { unit: unit_name, period: "2024-01".into(), ..Default::default() },
            ))
            .await
            .map(drop),
        Call::Attainment => TrackingServiceClient::new(gw.clone())
            .get_attainment(as_(
                person,
                role,
                scope,
                kpb::GetAttainmentRequest { unit: unit_name, period: "2024-01".into(), ..Default::default() },
            ))
            .await
            .map(drop),
        Call::Target => TargetServiceClient::new(gw.clone())
            .get_target(as_(
                person,
                role,
                scope,
                tpb::GetTargetRequest { name: format!("plans/fy2024/targets/{unit}"), as_of: None },
            ))
            .await
            .map(drop),
        Call::Reviews => ReviewServiceClient::new(gw.clone())
            .list_reviews(as_(person, role, scope, rpb::ListReviewsRequest { unit: unit_name, ..Default::default() }))
            .await
            .map(drop),
        Call::WriteDeal => TrackingServiceClient::new(gw.clone())
            .create_deal(as_(person, role, scope, deal(unit, "10.00", &format!("matrix-{person}-{unit}-{n}"))))
            .await
            .map(drop),
        Call::ChildAttainments => TrackingServiceClient::new(gw.clone())
            .list_child_attainments(as_(
                person,
                role,
                scope,
                kpb::ListChildAttainmentsRequest { unit: unit_name, period: "2024-01".into(), ..Default::default() },
            ))
            .await
            .map(drop),
        Call::BurnUp => TrackingServiceClient::new(gw.clone())
            .get_burn_up(as_(
                person,
                role,
                scope,
                kpb::GetBurnUpRequest { unit: unit_name, period: "2024-01".into(), ..Default::default() },
            ))
            .await
            .map(drop),
        Call::GapAttribution => TrackingServiceClient::new(gw.clone())
            .get_gap_attribution(as_(
                person,
                role,
                scope,
                kpb::GetGapAttributionRequest { unit: unit_name, period: "2024-01".into(), ..Default::default() },
            ))
            .await
            .map(drop),
        Call::PeriodSummary => TrackingServiceClient::new(gw.clone())
            .get_period_summary(as_(
                person,
                role,
                scope,
                kpb::GetPeriodSummaryRequest { unit: unit_name, period: "2024-01".into() },
            ))
            .await
            .map(drop),
        Call::Deals => TrackingServiceClient::new(gw.clone())
            .list_deals(as_(person, role, scope, kpb::ListDealsRequest { unit: unit_name, ..Default::default() }))
            .await
            .map(drop),
        Call::Alerts => TrackingServiceClient::new(gw.clone())
            .list_alerts(as_(person, role, scope, kpb::ListAlertsRequest { unit: unit_name, ..Default::default() }))
            .await
            .map(drop),
        Call::LossReasons => TrackingServiceClient::new(gw.clone())
            .list_loss_reasons(as_(
                person,
                role,
                scope,
                kpb::ListLossReasonsRequest { unit: unit_name, period: "2024-01".into(), limit: 3 },
            ))
            .await
            .map(drop),
        Call::Unit => OrgServiceClient::new(gw.clone())
            .get_unit(as_(person, role, scope, tpb::GetUnitRequest { name: unit_name }))
            .await
            .map(drop),
        Call::Subtree => OrgServiceClient::new(gw.clone())
            .get_subtree(as_(person, role, scope, tpb::GetSubtreeRequest { name: unit_name, include_former: false }))
            .await
            .map(drop),
    };
    r.map_err(|s| s.code())
}

async fn matrix(gw: Channel) {
    use Call::*;
    const OK: Outcome = Ok(());
    const NO: Outcome = Err(Code::PermissionDenied);
    let admin = ("ops", Role::Admin, "");
    let manager = ("wang", Role::Manager, "region-a");
    let rep = ("rep-1", Role::Rep, "rep-1");
    let viewer = ("audit", Role::Viewer, "region-a");
    let team = ("li", Role::Manager, "team-a1");
    const MISSING: Outcome = Err(Code::NotFound);
    // (who, owner cell, unit read, rep written for, [Dashboard, Attainment, Target, Reviews, WriteDeal])
    let cells: Vec<(Who, &str, &str, &str, [Outcome; 5])> = vec![
        // Unknown ids: an admin learns they are missing; everyone else gets
        // the same answer as for a unit out of scope.
        (admin, "unknown", "ghost", "ghost", [MISSING, MISSING, MISSING, MISSING, Err(Code::InvalidArgument)]),
        (manager, "unknown", "ghost", "ghost", [NO, NO, NO, NO, NO]),
        (team, "unknown", "ghost", "ghost", [NO, NO, NO, NO, NO]),
        (rep, "unknown", "ghost", "ghost", [NO, NO, NO, NO, NO]),
        (viewer, "unknown", "ghost", "ghost", [NO, NO, NO, NO, NO]),
        // A team manager: its team and rep, not the rest of its region.
        // (The team was created after the split: it has no target, and a
        // missing target reads like one out of scope to a non-admin.)
        (team, "own", "team-a1", "rep-t1", [OK, OK, NO, OK, OK]),
        (team, "subtree", "rep-t1", "rep-t1", [OK, OK, NO, OK, OK]),
        (team, "parent", "region-a", "rep-1", [NO, NO, NO, NO, NO]),
        (team, "sibling", "rep-1", "rep-2", [NO, NO, NO, NO, NO]),
        (team, "sibling region", "region-b", "rep-b1", [NO, NO, NO, NO, NO]),
        (admin, "own", "acme", "rep-1", [OK, OK, OK, OK, OK]),
        (admin, "subtree", "region-a", "rep-2", [OK, OK, OK, OK, OK]),
        (admin, "sibling", "region-b", "rep-b1", [OK, OK, OK, OK, OK]),
        (manager, "own", "region-a", "rep-1", [OK, OK, OK, OK, OK]),
        (manager, "subtree", "rep-1", "rep-2", [OK, OK, OK, OK, OK]),
        (manager, "sibling", "region-b", "rep-b1", [NO, NO, NO, NO, NO]),
        (rep, "own", "rep-1", "rep-1", [OK, OK, OK, OK, OK]),
        (rep, "parent", "region-a", "rep-2", [NO, NO, NO, NO, NO]),
        (rep, "sibling", "rep-2", "rep-b1", [NO, NO, NO, NO, NO]),
        (viewer, "own", "region-a", "rep-1", [OK, OK, OK, OK, NO]),
        (viewer, "subtree", "rep-1", "rep-2", [OK, OK, OK, OK, NO]),
        (viewer, "sibling", "region-b", "rep-b1", [NO, NO, NO, NO, NO]),
    ];
    let mut wrong = Vec::new();
    let mut asserted = 0;
    for (n, (who, cell, read, write, expected)) in cells.into_iter().enumerate() {
        let columns = [Dashboard, Attainment, Target, Reviews, WriteDeal].into_iter().zip(expected);
        let like_attainment = LIKE_ATTAINMENT.into_iter().map(|c| (c, expected[1]));
        for (call, want) in columns.chain(like_attainment) {
            let unit = if call == WriteDeal { write } else { read };
            let got = attempt(&gw, who, call, unit, n).await;
            asserted += 1;
            if got != want {
                wrong.push(format!("{:?} {cell} ({unit}) {call:?}: expected {want:?}, got {got:?}", who.1));
            }
        }
    }
    assert!(wrong.is_empty(), "matrix cells wrong:\n{}", wrong.join("\n"));
    assert_eq!(asserted, 22 * 14, "every role × owner × call");
    writes(&gw).await;
}

/// Writes a role may not make: set targets or plans it does not own, edit
/// its own target, act for someone else, or act at all when read-only.
async fn writes(gw: &Channel) {
    let t = || TargetServiceClient::new(gw.clone());
    let k = || TrackingServiceClient::new(gw.clone());
    let code = |r: Result<(), tonic::Status>| r.map_err(|s| s.code());
    let rep = ("rep-1", Role::Rep, "rep-1");
    let manager = ("wang", Role::Manager, "region-a");
    let viewer = ("audit", Role::Viewer, "region-a");
    let phase = |target: &str| tpb::PhaseTargetRequest {
        target: format!("plans/fy2024/targets/{target}"),
        phasing: Some(tpb::PhasingCurve { method: tpb::PhasingMethod::Even as i32, ..Default::default() }),
        ..Default::default()
    };
    let rename = || tpb::UpdatePlanRequest {
        plan: Some(tpb::Plan { name: "plans/fy2024".into(), display_name: "mine now".into(), ..Default::default() }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["display_name".into()] }),
        request_id: String::new(),
    };
    let adjust = |target: &str| tpb::CreateAdjustmentRequest {
        parent: "plans/fy2024".into(),
        adjustment: Some(tpb::Adjustment {
            target: format!("plans/fy2024/targets/{target}"),
            change: Some(tpb::adjustment::Change::ChangePercent("-50".into())),
            reason: tpb::AdjustmentReason::Other as i32,
            justification: "不想做".into(),
            redistribution: tpb::Redistribution::ParentAbsorbs as i32,
            ..Default::default()
        }),
        request_id: format!("matrix-adjust-{target}"),
    };
    let log = |rep: &str| kpb::CreateDailyLogRequest {
        daily_log: Some(kpb::DailyLog {
            rep: format!("units/{rep}"),
            log_date: "2024-01-16".into(),
            notes: "matrix".into(),
            ..Default::default()
        }),
        request_id: format!("matrix-log-{rep}"),
    };
    let (p, r, u) = rep;
    let (mp, mr, mu) = manager;
    let (vp, vr, vu) = viewer;
    let cells: Vec<(&str, Outcome)> = vec![
        ("a rep sets its own target", code(t().phase_target(as_(p, r, u, phase("rep-1"))).await.map(drop))),
        (
            "a manager edits its own unit's target",
            code(t().phase_target(as_(mp, mr, mu, phase("region-a"))).await.map(drop)),
        ),
        ("a rep edits the plan", code(t().update_plan(as_(p, r, u, rename())).await.map(drop))),
        ("a manager edits the plan", code(t().update_plan(as_(mp, mr, mu, rename())).await.map(drop))),
        (
            "a rep adjusts a colleague's target",
            code(t().create_adjustment(as_(p, r, u, adjust("rep-2"))).await.map(drop)),
        ),
        ("a viewer adjusts a target", code(t().create_adjustment(as_(vp, vr, vu, adjust("rep-1"))).await.map(drop))),
        ("a rep logs for a colleague", code(k().create_daily_log(as_(p, r, u, log("rep-2"))).await.map(drop))),
        ("a viewer logs", code(k().create_daily_log(as_(vp, vr, vu, log("rep-1"))).await.map(drop))),
    ];
    let wrong: Vec<String> = cells
        .iter()
        .filter(|(_, got)| *got != Err(Code::PermissionDenied))
        .map(|(what, got)| format!("{what}: {got:?}"))
        .collect();
    assert!(wrong.is_empty(), "writes that should be PERMISSION_DENIED:\n{}", wrong.join("\n"));
}
