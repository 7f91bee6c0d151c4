//! End to end through the gateway: the four services on port 0 with their
//! own databases (SQLite, then PostgreSQL), the guide's example loaded, and
//! the dashboard read with a manager's and a rep's token — including with
//! the review service down.

use std::time::Duration;

use crate::support::Suite;
use attain_kit::{
    auth::Role,
    both_backends,
    testing::{Backend, token},
};
use attain_proto::attain::gateway::v1::{self as pb, SectionState, gateway_service_client::GatewayServiceClient};
use tonic::{Code, Request, transport::Channel};

fn authed<T>(person: &str, role: Role, unit: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token(person, role, unit)).parse().unwrap());
    r
}

fn dashboard(person: &str, role: Role, unit: &str, of: &str, period: &str) -> Request<pb::GetDashboardRequest> {
    let mut r = authed(
        person,
        role,
        unit,
        pb::GetDashboardRequest { unit: of.into(), period: period.into(), ..Default::default() },
    );
    r.set_timeout(Duration::from_secs(2));
    r
}

async fn the_dashboard_through_the_gateway(backend: Backend) {
    let mut suite = Suite::with_demo(backend).await;
    let gateway = suite.gateway.addr;
    let channel = Channel::from_shared(format!("http://{gateway}")).unwrap().connect().await.unwrap();
    let mut client = GatewayServiceClient::new(channel);

    // Region A's manager: the region's month, its reps, the open alert,
    // the loss reasons and the January review.
    let d = client
        .get_dashboard(dashboard("wang", Role::Manager, "region-a", "units/region-a", "2024-01"))
        .await
        .unwrap()
        .into_inner();
    assert!(d.sections.iter().all(|s| s.state == SectionState::Ok as i32), "{:?}", d.sections);
    assert_eq!(d.display_name, "Region A 华东");
    assert_eq!(d.attainment.as_ref().unwrap().actual.as_ref().unwrap().amount, "119000.00");
    assert_eq!(d.children.len(), 3);
    assert!(d.open_alerts.iter().any(|a| a.unit == "units/rep-1"), "{:?}", d.open_alerts);
    assert_eq!(d.top_loss_reasons.len(), 2);
    assert_eq!(d.latest_review.as_ref().unwrap().period.as_ref().unwrap().expression, "2024-01");

    // A rep sees its own dashboard, not the region's.
    let mine = client
        .get_dashboard(dashboard("rep-1", Role::Rep, "rep-1", "units/rep-1", "2024-01"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(mine.attainment.unwrap().actual.unwrap().amount, "40000.00");
    // The burn-up: every day of January, actuals through the 16th only,
    // the month's target by the 31st, the milestones 20% by the 5th and
    // 50% by the 15th.
    let burn = mine.burn_up.unwrap();
    assert_eq!(burn.days.len(), 31);
    let day = |n: usize| &burn.days[n - 1];
    let amount = |m: &Option<attain_proto::attain::common::v1::Money>| m.as_ref().unwrap().amount.clone();
    assert_eq!(amount(&day(16).actual_to_date), "40000.00");
    assert_eq!(amount(&day(3).actual_to_date), "8000.00");
    assert!(day(17).actual_to_date.is_none());
    assert_eq!(amount(&day(31).target_to_date), "100000.00");
    assert_eq!(amount(&day(15).milestone_to_date), "50000.00");
    assert_eq!(amount(&day(5).milestone_to_date), "20000.00");
    let ms: Vec<(i32, &str)> = burn.milestones.iter().map(|m| (m.day_of_period, m.percent.as_str())).collect();
    assert_eq!(ms, vec![(5, "20"), (15, "50")]);
    // The gap to target by sales driver sums exactly to the difference.
    let gap = mine.gap_attribution.unwrap().against_target.unwrap();
    let dec = |m: &Option<attain_proto::attain::common::v1::Money>| -> rust_decimal::Decimal {
        m.as_ref().unwrap().amount.parse().unwrap()
    };
    assert_eq!(
        dec(&gap.volume_effect) + dec(&gap.conversion_effect) + dec(&gap.average_order_value_effect),
        dec(&gap.difference)
    );
    assert_eq!(dec(&gap.current.as_ref().unwrap().amount), rust_decimal::Decimal::from(40_000));
    let targets: Vec<String> = burn.days.iter().map(|d| amount(&d.target_to_date)).collect();
    assert!(
        targets
            .windows(2)
            .all(|w| w[0].replace('.', "").parse::<i64>().unwrap() <= w[1].replace('.', "").parse::<i64>().unwrap()),
        "cumulative target never falls: {targets:?}"
    );
    let theirs =
        client.get_dashboard(dashboard("rep-1", Role::Rep, "rep-1", "units/region-a", "2024-01")).await.unwrap_err();
    assert_eq!(theirs.code(), Code::PermissionDenied);

    // Periods that do not parse are the caller's error.
    for bad in ["2024-Q5", "2024-13"] {
        let e = client
            .get_dashboard(dashboard("wang", Role::Manager, "region-a", "units/region-a", bad))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{bad}: {e:?}");
    }

    // The services' own APIs work through the gateway, scoped as at the
    // services themselves.
    {
        use attain_proto::attain::{target::v1 as tpb, tracking::v1 as kpb};
        let gw = Channel::from_shared(format!("http://{gateway}")).unwrap().connect().await.unwrap();
        let mut targets = tpb::target_service_client::TargetServiceClient::new(gw.clone());
        let t = targets
            .get_target(authed(
                "wang",
                Role::Manager,
                "region-a",
                tpb::GetTargetRequest { name: "plans/fy2024/targets/rep-1".into(), as_of: None },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(t.amount.unwrap().amount, "1200000.00");
        let denied = targets
            .get_target(authed(
                "rep-1",
                Role::Rep,
                "rep-1",
                tpb::GetTargetRequest { name: "plans/fy2024/targets/region-a".into(), as_of: None },
            ))
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        let anonymous = targets
            .get_target(Request::new(tpb::GetTargetRequest { name: "plans/fy2024/targets/rep-1".into(), as_of: None }))
            .await
            .unwrap_err();
        assert_eq!(anonymous.code(), Code::Unauthenticated, "the gateway authenticates before forwarding");
        let mut tracking = kpb::tracking_service_client::TrackingServiceClient::new(gw);
        let a = tracking
            .get_attainment(authed(
                "rep-1",
                Role::Rep,
                "rep-1",
                kpb::GetAttainmentRequest {
                    unit: "units/rep-1".into(),
                    period: "2024-01".into(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(a.actual.unwrap().amount, "40000.00");
    }

    // With the review service down the dashboard still answers, marking
    // that section unavailable.
    suite.review.stop().await;
    let started = std::time::Instant::now();
    // (As of the 16th, said explicitly: not the dashboard cached above.)
    let mut req = dashboard("wang", Role::Manager, "region-a", "units/region-a", "2024-01");
    req.get_mut().as_of_date = "2024-01-16".into();
    let d = client.get_dashboard(req).await.unwrap().into_inner();
    assert!(started.elapsed() < Duration::from_secs(2), "within the caller's deadline");
    let review_section = d.sections.iter().find(|s| s.section == "review").unwrap();
    assert_eq!(review_section.state, SectionState::Unavailable as i32, "{:?}", d.sections);
    assert!(d.latest_review.is_none());
    assert_eq!(d.attainment.unwrap().actual.unwrap().amount, "119000.00", "the other sections are whole");

    // Prometheus metrics on each service's admin port (the public one has
    // none): the gateway counted its dashboard calls and the review outage;
    // tracking timed its reads.
    let public = attain_kit::http_client::request(gateway, "GET", "/metrics", &[], b"").await.unwrap();
    assert!(!public.text().contains("attain_rpc"), "no metrics on the public port");
    assert_eq!(public.status, 404, "an HTTP client asking the public port for a page that is not there");
    // The admin port also answers health for probes that speak no TLS.
    let healthz = attain_kit::http_client::request(suite.target.admin, "GET", "/healthz", &[], b"").await.unwrap();
    assert_eq!((healthz.status, healthz.text().as_str()), (200, "SERVING"));
    let readyz = attain_kit::http_client::request(suite.target.admin, "GET", "/readyz", &[], b"").await.unwrap();
    assert_eq!((readyz.status, readyz.text().as_str()), (200, "SERVING"));
    let livez = attain_kit::http_client::request(suite.target.admin, "GET", "/livez", &[], b"").await.unwrap();
    assert_eq!((livez.status, livez.text().as_str()), (200, "ALIVE"));
    let metrics = attain_kit::http_client::request(suite.gateway.admin, "GET", "/metrics", &[], b"").await.unwrap();
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    assert!(
        text.contains(
            r#"attain_rpc_requests_total{method="/attain.gateway.v1.GatewayService/GetDashboard",code="OK"}"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"code="PERMISSION_DENIED"}"#), "{text}");
    assert!(
        text.contains(r#"attain_gateway_backend_errors_total{backend="review",section="review",code="UNAVAILABLE"}"#)
            || text.contains(r#"backend="review",section="review",code="DEADLINE_EXCEEDED""#),
        "{text}"
    );
    let tracking =
        attain_kit::http_client::request(suite.tracking.admin, "GET", "/metrics", &[], b"").await.unwrap().text();
    assert!(
        tracking.contains(
            r#"attain_rpc_duration_seconds_count{method="/attain.tracking.v1.TrackingService/GetDashboardFigures"}"#
        ),
        "{tracking}"
    );
}

both_backends!(the_dashboard_through_the_gateway);

/// A dashboard names the plan it reads: a draft re-plan beside the
/// published one shows its own targets against the same actuals, and the
/// published one stays the default. A plan that does not exist, does not
/// cover the unit, measures another metric, or is no plan name, says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_reads_the_plan_it_names() {
    use attain_kit::seed::{PlanSpec, Seed};
    use attain_proto::attain::target::v1::{GetTargetRequest, target_service_client::TargetServiceClient};

    let suite = Suite::with_demo(Backend::Sqlite).await;
    let url = |a: std::net::SocketAddr| format!("http://{a}");
    let target = Channel::from_shared(url(suite.target.addr)).unwrap().connect().await.unwrap();
    let admin = token("ops", Role::Admin, "");
    let seed = Seed::new(target.clone(), admin.clone());
    seed.plan(PlanSpec::new("fy2024-stretch", "FY2024 stretch", "acme", 2024).base("8000000.00").growth("0.5"))
        .await
        .unwrap();
    seed.plan(PlanSpec::new("fy2024-region-b", "Region B's own", "region-b", 2024).base("100.00")).await.unwrap();
    seed.plan(PlanSpec::new("fy2025", "FY2025", "acme", 2025).base("100.00")).await.unwrap();
    let mut counts = PlanSpec::new("fy2024-deals", "FY2024 deals won", "acme", 2024).base("100");
    counts.plan.metric = attain_proto::attain::common::v1::Metric::DealsWon as i32;
    counts.plan.currency_code = "XXX".into();
    counts.plan.base_amount =
        Some(attain_proto::attain::common::v1::Money { currency_code: "XXX".into(), amount: "100".into() });
    seed.plan(counts).await.unwrap();
    let stretch_top = TargetServiceClient::new(target)
        .get_target(authed(
            "ops",
            Role::Admin,
            "",
            GetTargetRequest { name: "plans/fy2024-stretch/targets/acme".into(), ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner()
        .amount
        .unwrap()
        .amount;

    let gateway = Channel::from_shared(url(suite.gateway.addr)).unwrap().connect().await.unwrap();
    let mut client = GatewayServiceClient::new(gateway);
    let read = |plan: &str| {
        let mut r = dashboard("ops", Role::Admin, "", "units/acme", "2024");
        r.get_mut().plan = plan.into();
        r
    };
    let published = client.get_dashboard(read("")).await.unwrap().into_inner().attainment.unwrap();
    let named = client.get_dashboard(read("plans/fy2024")).await.unwrap().into_inner().attainment.unwrap();
    let stretch = client.get_dashboard(read("plans/fy2024-stretch")).await.unwrap().into_inner().attainment.unwrap();
    assert_eq!(published.target, named.target, "the published plan is the default");
    assert_eq!(stretch.target.as_ref().unwrap().amount, stretch_top, "the draft's own target");
    assert_ne!(stretch.target, published.target);
    assert_eq!(stretch.actual, published.actual, "the same sales");

    for (plan, code, words) in [
        ("plans/nope", Code::NotFound, "plans/nope"),
        ("plans/", Code::InvalidArgument, "not a plan name"),
        ("fy2024", Code::InvalidArgument, "not a plan name"),
        ("plans/fy2024-region-b", Code::InvalidArgument, "does not cover units/acme"),
        // Another year's plan: 2024 is fy2024's (as tried from outside, it
        // answered with fy2024's figures).
        ("plans/fy2025", Code::InvalidArgument, "plans/fy2025 does not cover 2024"),
        ("plans/fy2024-deals", Code::InvalidArgument, "measures DEALS_WON"),
    ] {
        let status = client.get_dashboard(read(plan)).await.unwrap_err();
        assert_eq!(status.code(), code, "{plan}: {status:?}");
        assert!(status.message().contains(words), "{plan}: {}", status.message());
    }
    // Asked with its metric, the count plan is read.
    let mut r = read("plans/fy2024-deals");
    r.get_mut().metric = attain_proto::attain::common::v1::Metric::DealsWon as i32;
    let deals = client.get_dashboard(r).await.unwrap().into_inner().attainment.unwrap();
    assert_eq!(deals.target.unwrap().currency_code, "XXX", "a count");
}
