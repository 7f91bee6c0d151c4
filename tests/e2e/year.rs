//! A team's year as sales operations lives it (DESIGN §3 Org tree,
//! Adjustments): a rep hired in May, a rep moved to the other team in June
//! (recorded two days late, after some of its June sales), a rep leaving at
//! the end of August, a −10% cut in Q3. The clock walks through the year;
//! after each event every month is read back: what was shown before the
//! event's day stays to the cent (and as-of reads reproduce it), each
//! team's rows add up to it every month, sales count where their rep sat
//! on their day, and `attain audit` is clean for every month.

use std::collections::BTreeMap;

use attain::audit::{Audit, run};
use attain_kit::{
    auth::Role,
    both_backends,
    configuration::set_process_today,
    testing::{Backend, token},
};
use attain_proto::attain::{
    common::v1::Money,
    target::v1::{self as tpb, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use tonic::{Request, transport::Channel};

use crate::support::Suite;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn as_<T>(person: &str, role: Role, unit: &str, msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token(person, role, unit)).parse().unwrap());
    r
}

fn ops<T>(msg: T) -> Request<T> {
    as_("ops", Role::Admin, "", msg)
}

fn cny(a: &str) -> Option<Money> {
    Some(Money { currency_code: "CNY".into(), amount: a.into() })
}

fn dec(m: &Option<Money>) -> Decimal {
    m.as_ref().map_or(Decimal::ZERO, |m| m.amount.parse().unwrap())
}

struct Clients {
    org: OrgServiceClient<Channel>,
    targets: TargetServiceClient<Channel>,
    tracking: TrackingServiceClient<Channel>,
    gateway: String,
}

/// Every unit's target per month of 2024 (as of `at` when given).
type Months = BTreeMap<(String, u32), Decimal>;

impl Clients {
    async fn months(&mut self, at: Option<prost_types::Timestamp>) -> Months {
        let mut out = Months::new();
        for m in 1..=12u32 {
            let r = tpb::QueryPeriodTargetsRequest {
                plan: "plans/fy2024".into(),
                unit: "units/acme".into(),
                period: format!("2024-{m:02}"),
                as_of: at,
                ..Default::default()
            };
            for row in self.targets.query_period_targets(ops(r)).await.unwrap().into_inner().targets {
                out.insert((row.unit.trim_start_matches("units/").to_owned(), m), dec(&row.amount));
            }
        }
        out
    }

    /// A unit's drill-down of a month: (parent's target and actual, rows
    /// of (unit, first day, last day, target, actual)).
    async fn rows(
        &mut self,
        unit: &str,
        month: u32,
    ) -> ((Decimal, Decimal), Vec<(String, String, String, Decimal, Decimal)>) {
        let r = kpb::ListChildAttainmentsRequest {
            unit: format!("units/{unit}"),
            period: format!("2024-{month:02}"),
            ..Default::default()
        };
        let d = self.tracking.list_child_attainments(ops(r)).await.unwrap().into_inner();
        let p = d.parent.unwrap();
        let rows = d
            .children
            .iter()
            .map(|c| {
                let period = c.period.clone().unwrap();
                (
                    c.unit.trim_start_matches("units/").to_owned(),
                    period.start_date,
                    period.end_date,
                    dec(&c.target),
                    dec(&c.actual),
                )
            })
            .collect();
        ((dec(&p.target), dec(&p.actual)), rows)
    }

    async fn sell(&mut self, rep: &str, amount: &str, date: &str) {
        let deal = kpb::Deal {
            rep: format!("units/{rep}"),
            amount: cny(amount),
            close_date: date.into(),
            ..Default::default()
        };
        let r = kpb::CreateDealRequest { deal: Some(deal), request_id: format!("{rep}-{date}-{amount}") };
        self.tracking.create_deal(ops(r)).await.unwrap();
    }

    async fn unit(&mut self, id: &str) -> tpb::Unit {
        self.org.get_unit(ops(tpb::GetUnitRequest { name: format!("units/{id}") })).await.unwrap().into_inner()
    }

    /// Asks as `who` and approves as the manager of `approver`.
    async fn adjust(&mut self, who: (&str, &str), adjustment: tpb::Adjustment, approver: &str) {
        let ask = tpb::CreateAdjustmentRequest {
            parent: "plans/fy2024".into(),
            adjustment: Some(adjustment),
            request_id: String::new(),
        };
        let a = self.targets.create_adjustment(as_(who.0, Role::Manager, who.1, ask)).await.unwrap().into_inner();
        let approve = tpb::ApproveAdjustmentRequest { name: a.name, ..Default::default() };
        self.targets
            .approve_adjustment(as_(&format!("mgr-{approver}"), Role::Manager, approver, approve))
            .await
            .unwrap();
    }

    /// Every month so far audits clean, and the year.
    async fn audit_clean(&mut self, today: NaiveDate) {
        use chrono::Datelike;
        let periods = (1..=today.month()).map(|m| format!("2024-{m:02}")).chain(["2024".to_owned()]);
        for period in periods {
            audits_clean(&self.gateway, "", &period, today).await;
        }
    }

    /// Every team's rows add up to it in every month: targets (the teams
    /// keep no reserve) and actuals.
    async fn teams_add_up(&mut self) {
        for team in ["team-x", "team-y"] {
            for m in 1..=12u32 {
                let ((target, actual), rows) = self.rows(team, m).await;
                let t: Decimal = rows.iter().map(|r| r.3).sum();
                let a: Decimal = rows.iter().map(|r| r.4).sum();
                assert_eq!((t, a), (target, actual), "{team} in month {m}: {rows:?}");
            }
        }
    }
}

/// `attain audit` of a unit and period finds no difference (dashboards
/// follow changes within a moment).
async fn audits_clean(gateway: &str, unit: &str, period: &str, today: NaiveDate) {
    let audit = Audit { plan: "plans/fy2024".into(), unit: unit.into(), period: period.into(), as_of: today };
    let admin = token("ops", Role::Admin, "");
    let mut o = run(gateway, &admin, &audit).await.unwrap();
    for _ in 0..30 {
        if o.differences.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        o = run(gateway, &admin, &audit).await.unwrap();
    }
    let listed: Vec<String> =
        o.differences.iter().map(|d| format!("{} {}: {} vs {}", d.unit, d.figure, d.shown, d.recomputed)).collect();
    assert!(listed.is_empty(), "{unit} {period} as of {today}:\n{}", listed.join("\n"));
}

/// Sets a unit's last day.
fn last_day(unit: &tpb::Unit, day: &str) -> tpb::UpdateUnitRequest {
    tpb::UpdateUnitRequest {
        unit: Some(tpb::Unit {
            name: unit.name.clone(),
            end_date: day.into(),
            etag: unit.etag.clone(),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask { paths: vec!["end_date".into()] }),
        request_id: String::new(),
    }
}

fn now() -> prost_types::Timestamp {
    prost_types::Timestamp::from(std::time::SystemTime::now())
}

/// Months before `month` equal in both.
fn kept(before: &Months, after: &Months, month: u32, what: &str) {
    for ((unit, m), v) in before.iter().filter(|((_, m), _)| *m < month) {
        assert_eq!(after.get(&(unit.clone(), *m)), Some(v), "{what}: {unit} in month {m} was shown as {v}");
    }
}

async fn a_teams_year(backend: Backend) {
    set_process_today(Some(day("2024-01-20")));
    let s = Suite::start_with(backend, |s| s.clock.today = None, |_| {}).await;
    let gateway = format!("http://{}", s.gateway.addr);
    let ch = Channel::from_shared(gateway.clone()).unwrap().connect().await.unwrap();
    let mut c = Clients {
        org: OrgServiceClient::new(ch.clone()),
        targets: TargetServiceClient::new(ch.clone()),
        tracking: TrackingServiceClient::new(ch),
        gateway,
    };
    // The org and its plan: the region splits 60/40 to two teams, each team
    // all of its target to its reps.
    for (id, parent, kind) in [
        ("acme", "", tpb::UnitKind::Company),
        ("region-a", "units/acme", tpb::UnitKind::Region),
        ("team-x", "units/region-a", tpb::UnitKind::Team),
        ("team-y", "units/region-a", tpb::UnitKind::Team),
        ("x1", "units/team-x", tpb::UnitKind::Rep),
        ("x2", "units/team-x", tpb::UnitKind::Rep),
        ("y1", "units/team-y", tpb::UnitKind::Rep),
    ] {
        let unit = tpb::Unit {
            parent: parent.into(),
            kind: kind as i32,
            display_name: id.into(),
            manager: id.into(),
            ..Default::default()
        };
        c.org
            .create_unit(ops(tpb::CreateUnitRequest {
                unit: Some(unit),
                unit_id: id.into(),
                request_id: String::new(),
            }))
            .await
            .unwrap();
    }
    let plan = tpb::Plan {
        display_name: "FY2024".into(),
        top_unit: "units/acme".into(),
        fiscal_year: 2024,
        currency_code: "CNY".into(),
        base_amount: cny("1200000.00"),
        growth_rate: "0".into(),
        coverage_policy: Some(tpb::CoveragePolicy {
            mode: tpb::CoverageMode::Reserve as i32,
            max_reserve_percent: "10".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    c.targets
        .create_plan(ops(tpb::CreatePlanRequest {
            plan: Some(plan),
            plan_id: "fy2024".into(),
            request_id: String::new(),
        }))
        .await
        .unwrap();
    for (parent, kids, pct) in [
        ("acme", vec![("region-a", "1")], "100"),
        ("region-a", vec![("team-x", "60"), ("team-y", "40")], "100"),
        ("team-x", vec![("x1", "1"), ("x2", "1")], "100"),
        ("team-y", vec![("y1", "1")], "100"),
    ] {
        let inputs = kids
            .iter()
            .map(|(u, w)| tpb::SplitInput { unit: format!("units/{u}"), weight: (*w).into(), ..Default::default() })
            .collect();
        let r = tpb::DecomposeTargetRequest {
            parent_target: format!("plans/fy2024/targets/{parent}"),
            strategy: tpb::SplitStrategy::Weights as i32,
            inputs,
            allocate_percent: pct.into(),
            ..Default::default()
        };
        c.targets.decompose_target(ops(r)).await.unwrap();
    }
    c.targets
        .publish_plan(ops(tpb::PublishPlanRequest { name: "plans/fy2024".into(), ..Default::default() }))
        .await
        .unwrap();
    c.sell("x1", "10000.00", "2024-01-10").await;
    c.sell("x2", "8000.00", "2024-01-15").await;
    c.sell("y1", "9000.00", "2024-01-12").await;
    let january = c.months(None).await;
    let at_january = now();
    c.audit_clean(day("2024-01-20")).await;

    // May: x3 joins team X on the 6th; its colleagues give it 100,000.00.
    set_process_today(Some(day("2024-05-06")));
    let x3 = tpb::Unit {
        parent: "units/team-x".into(),
        kind: tpb::UnitKind::Rep as i32,
        display_name: "x3".into(),
        manager: "x3".into(),
        start_date: "2024-05-06".into(),
        ..Default::default()
    };
    c.org
        .create_unit(ops(tpb::CreateUnitRequest { unit: Some(x3), unit_id: "x3".into(), request_id: String::new() }))
        .await
        .unwrap();
    // It ramps up: a quarter of the run rate in May, half in June, three
    // quarters in July, all of it from August (a ramp must end at 100).
    let ramp = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let hire = tpb::Adjustment {
        target: "plans/fy2024/targets/x3".into(),
        change: Some(tpb::adjustment::Change::NewAmount(cny("100000.00").unwrap())),
        reason: tpb::AdjustmentReason::Staffing as i32,
        justification: "x3 joins".into(),
        redistribution: tpb::Redistribution::SiblingsAbsorb as i32,
        ramp_percents: ramp(&["25", "50", "75", "100"]),
        ..Default::default()
    };
    let short = tpb::CreateAdjustmentRequest {
        parent: "plans/fy2024".into(),
        adjustment: Some(tpb::Adjustment { ramp_percents: ramp(&["25", "50", "75"]), ..hire.clone() }),
        request_id: String::new(),
    };
    let refused = c.targets.create_adjustment(as_("mgr-team-x", Role::Manager, "team-x", short)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("adjustment.ramp_percents"), "{}", refused.message());
    c.adjust(("mgr-team-x", "team-x"), hire, "region-a").await;
    c.sell("x3", "5000.00", "2024-05-06").await;
    let may = c.months(None).await;
    kept(&january, &may, 5, "the hire in May");
    for m in 1..=4 {
        assert_eq!(
            may.get(&("x3".into(), m)).copied().unwrap_or_default(),
            Decimal::ZERO,
            "x3 before it joined, month {m}"
        );
    }
    // Per working day, the ramp's months weigh 25, 50, 75 and then 100%
    // of the run rate.
    let per_day = |m: u32| {
        let first = NaiveDate::from_ymd_opt(2024, m, 1).unwrap();
        let first = if m == 5 { day("2024-05-06") } else { first };
        let next = NaiveDate::from_ymd_opt(2024, m + 1, 1).unwrap_or(day("2025-01-01"));
        let working = first.iter_days().take_while(|d| *d < next).filter(|d| {
            use chrono::Datelike;
            d.weekday().number_from_monday() < 6
        });
        may[&("x3".to_owned(), m)] / Decimal::from(working.count())
    };
    let run_rate = per_day(8);
    for (m, pct) in [(5, 25), (6, 50), (7, 75), (9, 100)] {
        let share = per_day(m) / run_rate * Decimal::ONE_HUNDRED;
        assert!((share - Decimal::from(pct)).abs() < Decimal::ONE, "x3's month {m} at {share}% of its run rate");
    }
    let at_may = now();

    // June: x1 sells on the 3rd and the 11th, then its move to team Y from
    // the 10th is recorded on the 12th.
    set_process_today(Some(day("2024-06-12")));
    c.sell("x1", "4000.00", "2024-06-03").await;
    c.sell("x1", "6000.00", "2024-06-11").await;
    let x1 = c.unit("x1").await;
    let moved = tpb::MoveUnitRequest {
        name: x1.name,
        new_parent: "units/team-y".into(),
        etag: x1.etag,
        effective_date: "2024-06-10".into(),
        request_id: String::new(),
    };
    c.org.move_unit(ops(moved)).await.unwrap();
    let june = c.months(None).await;
    kept(&may, &june, 6, "the move in June");
    for m in 1..=12 {
        let k = |u: &str| (u.to_owned(), m);
        assert_eq!(june[&k("x1")], may[&k("x1")], "x1's own target does not move, month {m}");
        assert_eq!(june[&k("region-a")], may[&k("region-a")], "the region's does not, month {m}");
        if m > 6 {
            assert_eq!(june[&k("team-x")], may[&k("team-x")] - may[&k("x1")], "team X without x1, month {m}");
            assert_eq!(june[&k("team-y")], may[&k("team-y")] + may[&k("x1")], "team Y with x1, month {m}");
        }
    }
    // The sale of the 11th, entered under team X, counts for team Y once
    // re-booked; the one of the 3rd stays with team X.
    let mut rebooked = false;
    for _ in 0..50 {
        let (_, y_rows) = c.rows("team-y", 6).await;
        if y_rows.iter().any(|r| r.0 == "x1" && r.4 == Decimal::from(6000)) {
            rebooked = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(rebooked, "x1's sale of the 11th re-booked under team Y");
    let (_, x_rows) = c.rows("team-x", 6).await;
    let x1_in_x: Vec<_> = x_rows.iter().filter(|r| r.0 == "x1").collect();
    assert_eq!(x1_in_x.len(), 1);
    assert_eq!(
        (x1_in_x[0].1.as_str(), x1_in_x[0].2.as_str(), x1_in_x[0].4),
        ("2024-06-01", "2024-06-09", Decimal::from(4000))
    );
    let (_, y_rows) = c.rows("team-y", 6).await;
    let x1_in_y: Vec<_> = y_rows.iter().filter(|r| r.0 == "x1").collect();
    assert_eq!((x1_in_y[0].1.as_str(), x1_in_y[0].2.as_str()), ("2024-06-10", "2024-06-30"));
    assert_eq!(x1_in_x[0].3 + x1_in_y[0].3, june[&("x1".to_owned(), 6)], "x1's June split between its teams");
    let at_june = now();
    c.audit_clean(day("2024-06-12")).await;

    // August: x2 leaves on the 31st; what it has left goes to x3.
    set_process_today(Some(day("2024-08-20")));
    c.sell("x2", "3000.00", "2024-08-20").await;
    let x2 = c.unit("x2").await;
    let leave = |last: &str| last_day(&x2, last);
    // A last day before a sale it made is refused, naming the sale.
    let early = c.org.update_unit(ops(leave("2024-08-15"))).await.unwrap_err();
    assert_eq!(early.code(), tonic::Code::FailedPrecondition, "{early:?}");
    assert!(early.message().contains("2024-08-20") && early.message().contains("deals/"), "{}", early.message());
    c.org.update_unit(ops(leave("2024-08-31"))).await.unwrap();
    let release = tpb::Adjustment {
        target: "plans/fy2024/targets/x2".into(),
        change: Some(tpb::adjustment::Change::ReleaseRemaining(true)),
        reason: tpb::AdjustmentReason::Staffing as i32,
        justification: "x2 leaves".into(),
        redistribution: tpb::Redistribution::Successor as i32,
        successor: "plans/fy2024/targets/x3".into(),
        ..Default::default()
    };
    c.adjust(("mgr-team-x", "team-x"), release, "region-a").await;
    let august = c.months(None).await;
    kept(&june, &august, 9, "the leave at the end of August");
    for m in 9..=12 {
        assert_eq!(august[&("x2".to_owned(), m)], Decimal::ZERO, "x2 after it left, month {m}");
        let k = |u: &str| (u.to_owned(), m);
        assert_eq!(august[&k("team-x")], june[&k("team-x")], "team X keeps its target, month {m}");
    }
    let at_august = now();
    c.audit_clean(day("2024-08-20")).await;

    // September: y1's target is cut by 10% from the 1st, team Y absorbing.
    set_process_today(Some(day("2024-09-05")));
    let cut = tpb::Adjustment {
        target: "plans/fy2024/targets/y1".into(),
        change: Some(tpb::adjustment::Change::ChangePercent("-10".into())),
        reason: tpb::AdjustmentReason::Market as i32,
        justification: "the Q3 market".into(),
        redistribution: tpb::Redistribution::ParentAbsorbs as i32,
        effective_date: "2024-09-01".into(),
        ..Default::default()
    };
    c.adjust(("mgr-team-y", "team-y"), cut, "region-a").await;
    c.sell("y1", "7000.00", "2024-09-03").await;
    let september = c.months(None).await;
    kept(&august, &september, 9, "the cut from September");
    assert!(september[&("y1".to_owned(), 10)] < august[&("y1".to_owned(), 10)]);

    // Read back as of each step: what was shown then.
    for (at, shown, what) in [
        (at_january, &january, "January"),
        (at_may, &may, "May"),
        (at_june, &june, "June"),
        (at_august, &august, "August"),
    ] {
        assert_eq!(&c.months(Some(at)).await, shown, "as of {what}");
    }
    c.teams_add_up().await;
    c.audit_clean(day("2024-09-05")).await;
    set_process_today(None);
}

both_backends!(a_teams_year);

/// What an outside tester found after moves, on the guide's demo (clock
/// 2024-01-16): a moved rep's own records, the old region's summary, a
/// rep that leaves and comes back, a move into a team that moved later, a
/// rep created after its team moved, alerts after a move.
async fn moves_as_tried_from_outside(backend: Backend) {
    let s = Suite::with_demo(backend).await;
    let gateway = format!("http://{}", s.gateway.addr);
    let ch = Channel::from_shared(gateway.clone()).unwrap().connect().await.unwrap();
    let mut c = Clients {
        org: OrgServiceClient::new(ch.clone()),
        targets: TargetServiceClient::new(ch.clone()),
        tracking: TrackingServiceClient::new(ch),
        gateway,
    };
    let move_to = |unit: &tpb::Unit, to: &str, from: &str| tpb::MoveUnitRequest {
        name: unit.name.clone(),
        new_parent: to.into(),
        etag: unit.etag.clone(),
        effective_date: from.into(),
        request_id: String::new(),
    };
    // A review of rep-1's January, before it moves.
    let ch = Channel::from_shared(c.gateway.clone()).unwrap().connect().await.unwrap();
    let mut reviews = attain_proto::attain::review::v1::review_service_client::ReviewServiceClient::new(ch);
    let review = attain_proto::attain::review::v1::Review {
        unit: "units/rep-1".into(),
        period: Some(attain_proto::attain::common::v1::Period { expression: "2024-01".into(), ..Default::default() }),
        cadence: attain_proto::attain::review::v1::Cadence::Monthly as i32,
        ..Default::default()
    };
    let ask = attain_proto::attain::review::v1::CreateReviewRequest { review: Some(review), request_id: String::new() };
    let review = reviews.create_review(ops(ask)).await.unwrap().into_inner();
    // rep-1 (sales on the 3rd, 8th, 10th and 15th) joins region B from the 9th.
    let rep1 = c.unit("rep-1").await;
    let moved = c.org.move_unit(ops(move_to(&rep1, "units/region-b", "2024-01-09"))).await.unwrap().into_inner();
    // Its own parent again with a date before the move: refused, not ignored.
    let again = c.org.move_unit(ops(move_to(&moved, "units/region-b", "2024-01-05"))).await.unwrap_err();
    assert_eq!(again.code(), tonic::Code::InvalidArgument, "{again:?}");
    let deals_of = |who: Request<kpb::ListDealsRequest>| {
        let mut k = c.tracking.clone();
        async move {
            let mut days: Vec<String> =
                k.list_deals(who).await.unwrap().into_inner().deals.into_iter().map(|d| d.close_date).collect();
            days.sort();
            days
        }
    };
    let list = |unit: &str| kpb::ListDealsRequest {
        unit: unit.into(),
        period: "2024-01".into(),
        page_size: 100,
        ..Default::default()
    };
    let mut region_b: Vec<String> = Vec::new();
    for _ in 0..50 {
        region_b = deals_of(ops(list("units/region-b"))).await;
        if region_b.contains(&"2024-01-10".to_owned()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        region_b.contains(&"2024-01-10".to_owned()) && !region_b.contains(&"2024-01-08".to_owned()),
        "{region_b:?}"
    );
    // Its own records, read by sales ops and by itself: every one of them;
    // by its new manager: only those from its days in region B.
    let all = ["2024-01-03", "2024-01-08", "2024-01-10", "2024-01-15"].map(String::from).to_vec();
    assert_eq!(deals_of(ops(list("units/rep-1"))).await, all);
    assert_eq!(deals_of(as_("rep-1", Role::Rep, "rep-1", list("units/rep-1"))).await, all);
    assert_eq!(deals_of(as_("li", Role::Manager, "region-b", list("units/rep-1"))).await, all[2..].to_vec());
    // Its new manager records nothing on its days in region A, and its old
    // manager keeps its reviews list; its review is its new manager's too.
    let early = kpb::Deal {
        rep: "units/rep-1".into(),
        amount: cny("100.00"),
        close_date: "2024-01-05".into(),
        ..Default::default()
    };
    let refused = c
        .tracking
        .create_deal(as_(
            "li",
            Role::Manager,
            "region-b",
            kpb::CreateDealRequest { deal: Some(early), request_id: "li-early".into() },
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    let list = |unit: &str| attain_proto::attain::review::v1::ListReviewsRequest {
        unit: unit.into(),
        page_size: 50,
        ..Default::default()
    };
    reviews.list_reviews(as_("wang", Role::Manager, "region-a", list("units/region-a"))).await.unwrap();
    let listed =
        reviews.list_reviews(as_("li", Role::Manager, "region-b", list("units/region-b"))).await.unwrap().into_inner();
    assert!(listed.reviews.iter().any(|r| r.name == review.name), "rep-1's review under region B");
    let get = attain_proto::attain::review::v1::GetReviewRequest { name: review.name.clone() };
    reviews.get_review(as_("li", Role::Manager, "region-b", get)).await.unwrap();
    // A sale reversed after the last day does not stand in the way.
    let late = kpb::Deal {
        rep: "units/rep-2".into(),
        amount: cny("500.00"),
        close_date: "2024-01-16".into(),
        ..Default::default()
    };
    let late = c
        .tracking
        .create_deal(ops(kpb::CreateDealRequest { deal: Some(late), request_id: "late-sale".into() }))
        .await
        .unwrap()
        .into_inner();
    let undo = kpb::ReverseDealRequest {
        name: late.name,
        reason: "entered by mistake".into(),
        replacement: None,
        request_id: "undo".into(),
    };
    c.tracking.reverse_deal(ops(undo)).await.unwrap();
    let rep2 = c.unit("rep-2").await;
    c.org.update_unit(ops(last_day(&rep2, "2024-01-15"))).await.unwrap();
    // Its old manager sees its target as it stood when it left: no new
    // parent, nothing dated after.
    let seen = c
        .targets
        .list_targets(as_(
            "wang",
            Role::Manager,
            "region-a",
            tpb::ListTargetsRequest { parent: "plans/fy2024".into(), page_size: 1000, ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner()
        .targets;
    let left = seen.iter().find(|t| t.unit == "units/rep-1").expect("rep-1's target, for region A's figures");
    assert_eq!((left.parent_target.as_str(), left.moves.len()), ("", 1), "{left:?}");
    // ... and of its unit, when it left, not where it went.
    let sub = tpb::GetSubtreeRequest { name: "units/region-a".into(), include_former: true };
    let units = c.org.get_subtree(as_("wang", Role::Manager, "region-a", sub)).await.unwrap().into_inner().units;
    let gone = units.iter().find(|u| u.name == "units/rep-1").expect("rep-1 as a former member");
    assert!(gone.parent.is_empty() && gone.ancestors.is_empty() && gone.manager.is_empty(), "{gone:?}");
    assert_eq!(gone.former_places.last().map(|p| p.until.as_str()), Some("2024-01-08"));
    // Its new manager reads its January from the day it joined.
    let read = kpb::GetAttainmentRequest { unit: "units/rep-1".into(), period: "2024-01".into(), ..Default::default() };
    let seen = c.tracking.get_attainment(as_("li", Role::Manager, "region-b", read)).await.unwrap().into_inner();
    let days = seen.period.as_ref().unwrap();
    assert_eq!((days.start_date.as_str(), days.end_date.as_str()), ("2024-01-09", "2024-01-31"));
    assert_eq!(dec(&seen.actual), Decimal::from(20000), "its sales of the 10th and 15th");
    // Region A's January summary: rep-1 for its days there, and the lines
    // add up to the region.
    let summary = c
        .tracking
        .get_period_summary(ops(kpb::GetPeriodSummaryRequest {
            unit: "units/region-a".into(),
            period: "2024-01".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let line = summary.members.iter().find(|m| m.unit == "units/rep-1").expect("rep-1 in region A's summary");
    let days = line.period.as_ref().unwrap();
    assert_eq!(
        (days.start_date.as_str(), days.end_date.as_str(), dec(&line.actual)),
        ("2024-01-01", "2024-01-08", Decimal::from(20000))
    );
    let lines: Decimal = summary.members.iter().map(|m| dec(&m.actual)).sum();
    assert_eq!(lines, dec(&summary.actual), "region A's lines add up");

    // rep-3 leaves for region C on the 10th and comes back on the 14th: a
    // drill-down row for each stay, the rows adding up.
    let rep3 = c.unit("rep-3").await;
    let rep3 = c.org.move_unit(ops(move_to(&rep3, "units/region-c", "2024-01-10"))).await.unwrap().into_inner();
    c.org.move_unit(ops(move_to(&rep3, "units/region-a", "2024-01-14"))).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let ((target, actual), rows) = c.rows("region-a", 1).await;
    let stays: Vec<(&str, &str)> =
        rows.iter().filter(|r| r.0 == "rep-3").map(|r| (r.1.as_str(), r.2.as_str())).collect();
    assert_eq!(stays, [("2024-01-01", "2024-01-09"), ("2024-01-14", "2024-01-31")]);
    assert_eq!(rows.iter().map(|r| r.4).sum::<Decimal>(), actual, "region A's rows add up: {rows:?}");
    assert!(rows.iter().map(|r| r.3).sum::<Decimal>() <= target);

    // rep-3's last day cannot come before its move back.
    let rep3_now = c.unit("rep-3").await;
    let refused = c.org.update_unit(ops(last_day(&rep3_now, "2024-01-13"))).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    // A team that moved on the 12th: nothing moves into it from before,
    // and a rep created in it afterwards sat where the team sat.
    let team = tpb::Unit {
        parent: "units/region-c".into(),
        kind: tpb::UnitKind::Team as i32,
        display_name: "T1".into(),
        ..Default::default()
    };
    c.org
        .create_unit(ops(tpb::CreateUnitRequest { unit: Some(team), unit_id: "t1".into(), request_id: String::new() }))
        .await
        .unwrap();
    let t1 = c.unit("t1").await;
    c.org.move_unit(ops(move_to(&t1, "units/region-d", "2024-01-12"))).await.unwrap();
    let rep2 = c.unit("rep-2").await;
    let early = c.org.move_unit(ops(move_to(&rep2, "units/t1", "2024-01-10"))).await.unwrap_err();
    assert_eq!(early.code(), tonic::Code::InvalidArgument, "{early:?}");
    let rep = tpb::Unit {
        parent: "units/t1".into(),
        kind: tpb::UnitKind::Rep as i32,
        display_name: "New".into(),
        manager: "new".into(),
        ..Default::default()
    };
    let created = c
        .org
        .create_unit(ops(tpb::CreateUnitRequest { unit: Some(rep), unit_id: "new".into(), request_id: String::new() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.former_places.len(), 1);
    assert_eq!(created.former_places[0].ancestors, ["units/acme", "units/region-c", "units/t1"]);
    assert_eq!(created.former_places[0].until, "2024-01-11");

    // Live alerts follow the rep: none of rep-1's stay filed under region A.
    let alerts = c
        .tracking
        .list_alerts(as_(
            "wang",
            Role::Manager,
            "region-a",
            kpb::ListAlertsRequest { unit: "units/region-a".into(), page_size: 100, ..Default::default() },
        ))
        .await
        .unwrap()
        .into_inner()
        .alerts;
    assert!(
        alerts.iter().all(|a| a.unit != "units/rep-1" || a.state == kpb::AlertState::Resolved as i32),
        "{alerts:?}"
    );
    // And every figure reconciles: the company, both regions, rep-1 itself.
    for unit in ["", "units/region-a", "units/region-b", "units/region-c", "units/rep-1"] {
        audits_clean(&c.gateway, unit, "2024-01", day("2024-01-16")).await;
    }
}

both_backends!(moves_as_tried_from_outside);

/// One row of a period-targets read: (unit, first day, last day, amount).
type Row = (String, String, String, Decimal);

async fn period_rows(
    targets: &mut TargetServiceClient<Channel>,
    who: (&str, Role, &str),
    unit: &str,
    as_of: Option<prost_types::Timestamp>,
) -> Result<Vec<Row>, tonic::Status> {
    let ask = tpb::QueryPeriodTargetsRequest {
        plan: "plans/fy2024".into(),
        unit: format!("units/{unit}"),
        period: "2024-01".into(),
        children_only: true,
        as_of,
        ..Default::default()
    };
    let r = targets.query_period_targets(as_(who.0, who.1, who.2, ask)).await?.into_inner();
    Ok(r.targets
        .into_iter()
        .map(|t| {
            let p = t.period.unwrap_or_default();
            (t.unit.trim_start_matches("units/").to_owned(), p.start_date, p.end_date, dec(&t.amount))
        })
        .collect())
}

/// The asked unit's figure less its children's rows: its own remainder.
fn remainder(rows: &[Row]) -> Decimal {
    rows[0].3 - rows[1..].iter().map(|r| r.3).sum::<Decimal>()
}

/// A rep moved in the middle of a month (DESIGN §3 Org tree), read from
/// each side as it was tried from outside: each region's rows are what its
/// figure is made of (the rep for its days there, so each region's own
/// remainder stays what it was), each manager reads the rep for its days
/// with them — targets, attainment and dashboard alike — and a read as of
/// before the move is the plan as it stood.
async fn a_mid_month_move_read_from_each_side(backend: Backend) {
    use attain_proto::attain::gateway::v1::{GetDashboardRequest, gateway_service_client::GatewayServiceClient};
    let s = Suite::with_demo(backend).await;
    let gateway = format!("http://{}", s.gateway.addr);
    let ch = Channel::from_shared(gateway.clone()).unwrap().connect().await.unwrap();
    let mut targets = TargetServiceClient::new(ch.clone());
    let mut org = OrgServiceClient::new(ch.clone());
    let mut tracking = TrackingServiceClient::new(ch.clone());
    let mut dashboards = GatewayServiceClient::new(ch);
    let admin = ("ops", Role::Admin, "");
    let (wang, li) = (("wang", Role::Manager, "region-a"), ("li", Role::Manager, "region-b"));

    // Day by day (target and milestones to date) of a unit, as sales ops
    // reads it.
    let reader = tracking.clone();
    let lines = |unit: &'static str| {
        let mut k = reader.clone();
        async move {
            let ask =
                kpb::GetBurnUpRequest { unit: format!("units/{unit}"), period: "2024-01".into(), ..Default::default() };
            let b = k.get_burn_up(ops(ask)).await.unwrap().into_inner();
            b.days.into_iter().map(|d| (d.date, dec(&d.target_to_date), dec(&d.milestone_to_date))).collect::<Vec<_>>()
        }
    };
    let lines_before = (lines("acme").await, lines("rep-3").await);
    let a_before = period_rows(&mut targets, admin, "region-a", None).await.unwrap();
    let b_before = period_rows(&mut targets, admin, "region-b", None).await.unwrap();
    let whole = period_rows(&mut targets, admin, "rep-3", None).await.unwrap();
    assert!(a_before.iter().any(|r| r.0 == "rep-3"), "{a_before:?}");
    let moment = now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let rep3 = org.get_unit(ops(tpb::GetUnitRequest { name: "units/rep-3".into() })).await.unwrap().into_inner();
    let ask = tpb::MoveUnitRequest {
        name: rep3.name,
        new_parent: "units/region-b".into(),
        etag: rep3.etag,
        effective_date: "2024-01-10".into(),
        request_id: String::new(),
    };
    org.move_unit(ops(ask)).await.unwrap();

    let a = period_rows(&mut targets, admin, "region-a", None).await.unwrap();
    let b = period_rows(&mut targets, admin, "region-b", None).await.unwrap();
    let stay = |rows: &[Row]| rows.iter().find(|r| r.0 == "rep-3").cloned().unwrap_or_else(|| panic!("{rows:?}"));
    let (in_a, in_b) = (stay(&a), stay(&b));
    assert_eq!((in_a.1.as_str(), in_a.2.as_str()), ("2024-01-01", "2024-01-09"), "{a:?}");
    assert_eq!((in_b.1.as_str(), in_b.2.as_str()), ("2024-01-10", "2024-01-31"), "{b:?}");
    assert!(in_a.3 > Decimal::ZERO && in_b.3 > Decimal::ZERO);
    assert_eq!(in_a.3 + in_b.3, whole[0].3, "its two stays are its month");
    assert_eq!(remainder(&a), remainder(&a_before), "region A's own part: {a:?} / {a_before:?}");
    assert_eq!(remainder(&b), remainder(&b_before), "region B's own part: {b:?} / {b_before:?}");
    // As it stood before the move: rep-3 in region A for the whole month,
    // read from the region or from rep-3, and not region B's then.
    assert_eq!(period_rows(&mut targets, admin, "region-a", Some(moment)).await.unwrap(), a_before);
    let then = period_rows(&mut targets, wang, "rep-3", Some(moment)).await.unwrap();
    assert_eq!(then, vec![stay(&a_before)], "rep-3 as of before the move, by region A's manager");
    let not_yet = period_rows(&mut targets, li, "rep-3", Some(moment)).await.unwrap_err();
    assert_eq!(not_yet.code(), tonic::Code::PermissionDenied, "{not_yet:?}");
    // The whole company: rep-3 once, for the whole month.
    let acme = period_rows(&mut targets, admin, "acme", None).await.unwrap();
    assert!(acme.iter().all(|r| r.1 == "2024-01-01" && r.2 == "2024-01-31"), "{acme:?}");

    // Each manager reads rep-3 for its days with them, as their region's
    // rows show it: its target, its attainment, its dashboard.
    for (who, row, region) in [(wang, &in_a, "region-a"), (li, &in_b, "region-b")] {
        let mine = period_rows(&mut targets, who, region, None).await.unwrap();
        assert_eq!(stay(&mine), *row, "{region}'s manager reads its rows");
        let direct = period_rows(&mut targets, who, "rep-3", None).await.unwrap();
        assert_eq!(direct, vec![row.clone()], "{region}'s manager reads rep-3 directly");
        let read =
            kpb::GetAttainmentRequest { unit: "units/rep-3".into(), period: "2024-01".into(), ..Default::default() };
        let seen = tracking.get_attainment(as_(who.0, who.1, who.2, read)).await.unwrap().into_inner();
        let days = seen.period.unwrap();
        assert_eq!((days.start_date.as_str(), days.end_date.as_str()), (row.1.as_str(), row.2.as_str()), "{region}");
        assert_eq!(dec(&seen.target), row.3, "{region}'s manager: rep-3's attainment reads the same target");
        let ask = GetDashboardRequest { unit: "units/rep-3".into(), period: "2024-01".into(), ..Default::default() };
        let d = dashboards.get_dashboard(as_(who.0, who.1, who.2, ask)).await.unwrap().into_inner();
        let days = d.period.unwrap();
        assert_eq!((days.start_date.as_str(), days.end_date.as_str()), (row.1.as_str(), row.2.as_str()), "{region}");
        assert_eq!(dec(&d.attainment.unwrap().target), row.3, "{region}'s manager: rep-3's dashboard");
    }
    // Its month by milestones, as sales ops sees it, is what each manager
    // sees of its days (it moved: its curve, on every day), so the company
    // counts it once whole, on every day.
    let mut burn_ups = Vec::new();
    for who in [admin, wang, li] {
        let ask = kpb::GetBurnUpRequest { unit: "units/rep-3".into(), period: "2024-01".into(), ..Default::default() };
        let b = tracking.get_burn_up(as_(who.0, who.1, who.2, ask)).await.unwrap().into_inner();
        let days: BTreeMap<String, Decimal> = b.days.into_iter().map(|d| (d.date, dec(&d.milestone_to_date))).collect();
        burn_ups.push(days);
    }
    let [whole, in_a, in_b] = <[_; 3]>::try_from(burn_ups).unwrap();
    let left_a = in_a["2024-01-09"];
    for (day, m) in &whole {
        let stays = match in_b.get(day) {
            Some(b) => left_a + b,
            None => in_a[day],
        };
        assert_eq!(stays, *m, "rep-3's milestone-to-date on {day}: {in_a:?} {in_b:?}");
    }
    // A move changes nothing above both regions, nor the rep's own month.
    assert_eq!((lines("acme").await, lines("rep-3").await), lines_before, "the company's and rep-3's lines");
    // Nobody else reads it at all.
    let other = period_rows(&mut targets, ("zhao", Role::Manager, "region-c"), "rep-3", None).await.unwrap_err();
    assert_eq!(other.code(), tonic::Code::PermissionDenied, "{other:?}");

    // Back to region A from the 16th: region A's rows hold both stays and
    // its own part still stands; its manager is not told where rep-3 was
    // in between, and reads its month by stay.
    let rep3 = org.get_unit(ops(tpb::GetUnitRequest { name: "units/rep-3".into() })).await.unwrap().into_inner();
    let back = tpb::MoveUnitRequest {
        name: rep3.name,
        new_parent: "units/region-a".into(),
        etag: rep3.etag,
        effective_date: "2024-01-16".into(),
        request_id: String::new(),
    };
    org.move_unit(ops(back)).await.unwrap();
    let a = period_rows(&mut targets, admin, "region-a", None).await.unwrap();
    let stays: Vec<(&str, &str)> = a.iter().filter(|r| r.0 == "rep-3").map(|r| (r.1.as_str(), r.2.as_str())).collect();
    assert_eq!(stays, [("2024-01-01", "2024-01-09"), ("2024-01-16", "2024-01-31")]);
    assert_eq!(remainder(&a), remainder(&a_before), "region A's own part: {a:?}");
    let seen = org.get_unit(as_(wang.0, wang.1, wang.2, tpb::GetUnitRequest { name: "units/rep-3".into() }));
    let seen = seen.await.unwrap().into_inner();
    let places: Vec<(&[String], &str)> =
        seen.former_places.iter().map(|p| (p.ancestors.as_slice(), p.until.as_str())).collect();
    let region_a = ["units/acme".to_owned(), "units/region-a".to_owned()];
    assert_eq!(places, [(&region_a[..], "2024-01-09"), (&[][..], "2024-01-15")], "{seen:?}");
    // Nor from its history.
    let ask = tpb::ListUnitRevisionsRequest { parent: "units/rep-3".into(), page_size: 100, ..Default::default() };
    let history = org.list_unit_revisions(as_(wang.0, wang.1, wang.2, ask)).await.unwrap().into_inner();
    let said = format!("{history:?}");
    assert!(!said.contains("region-b") && history.revisions.len() >= 2, "{said}");
    let read = kpb::GetAttainmentRequest { unit: "units/rep-3".into(), period: "2024-01".into(), ..Default::default() };
    let split = tracking.get_attainment(as_(wang.0, wang.1, wang.2, read)).await.unwrap_err();
    assert_eq!(split.code(), tonic::Code::FailedPrecondition, "{split:?}");
    assert!(split.message().contains("2024-01-01..2024-01-09 or 2024-01-16..2024-01-31"), "{split:?}");
    let split = period_rows(&mut targets, wang, "rep-3", None).await.unwrap_err();
    assert_eq!(split.code(), tonic::Code::FailedPrecondition, "{split:?}");
}
both_backends!(a_mid_month_move_read_from_each_side);

/// Moves `unit` under `to` from `from` (as sales ops), with its current etag.
async fn move_unit(org: &mut OrgServiceClient<Channel>, unit: &str, to: &str, from: &str) {
    let u = org.get_unit(ops(tpb::GetUnitRequest { name: format!("units/{unit}") })).await.unwrap().into_inner();
    let ask = tpb::MoveUnitRequest {
        name: u.name,
        new_parent: format!("units/{to}"),
        etag: u.etag,
        effective_date: from.into(),
        request_id: String::new(),
    };
    org.move_unit(ops(ask)).await.unwrap();
}

/// A rep that moved during the month has alerts of its days where it sits
/// (as tried from outside: region B's manager read rep 1's whole-month
/// alert, sales of region A's days included): the alert measures what its
/// new manager's own reading of it shows.
async fn a_moved_reps_alerts_are_of_its_stay(backend: Backend) {
    let s = Suite::with_demo(backend).await;
    let ch = Channel::from_shared(format!("http://{}", s.gateway.addr)).unwrap().connect().await.unwrap();
    let (mut org, mut tracking) = (OrgServiceClient::new(ch.clone()), TrackingServiceClient::new(ch));
    let li = ("li", Role::Manager, "region-b");
    move_unit(&mut org, "rep-1", "region-b", "2024-01-11").await;
    let read = kpb::GetAttainmentRequest { unit: "units/rep-1".into(), period: "2024-01".into(), ..Default::default() };
    let seen = tracking.get_attainment(as_(li.0, li.1, li.2, read)).await.unwrap().into_inner();
    assert_eq!(seen.period.as_ref().unwrap().start_date, "2024-01-11");
    let list = kpb::ListAlertsRequest { unit: "units/rep-1".into(), page_size: 50, ..Default::default() };
    let mut behind = None;
    for _ in 0..50 {
        let alerts = tracking.list_alerts(ops(list.clone())).await.unwrap().into_inner().alerts;
        behind = alerts.into_iter().find(|a| {
            a.rule == kpb::AlertRule::BehindPace as i32
                && a.state != kpb::AlertState::Resolved as i32
                && a.period.as_ref().is_some_and(|p| p.expression == "2024-01")
        });
        if behind.as_ref().is_some_and(|a| dec(&a.actual) == dec(&seen.actual)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let behind = behind.expect("rep 1 is behind pace in January");
    assert_eq!(dec(&behind.actual), dec(&seen.actual), "its sales of its days in region B: {behind:?}");
    assert_eq!(dec(&behind.expected), dec(&seen.expected_to_date), "{behind:?}");
    assert!(dec(&seen.actual) < Decimal::from(40_000), "not its whole month's: {seen:?}");
    // Each manager lists the records of its days with them, from the rep
    // itself too: what their figures of it are made of.
    let sum_of = |who: (&'static str, Role, &'static str)| {
        let mut k = tracking.clone();
        async move {
            let list = kpb::ListDealsRequest {
                unit: "units/rep-1".into(),
                period: "2024-01".into(),
                page_size: 100,
                ..Default::default()
            };
            let deals = k.list_deals(as_(who.0, who.1, who.2, list)).await.unwrap().into_inner().deals;
            let mut days: Vec<String> = deals.iter().map(|d| d.close_date.clone()).collect();
            days.sort();
            (days, deals.iter().map(|d| dec(&d.amount)).sum::<Decimal>())
        }
    };
    let (days_b, sum_b) = sum_of(li).await;
    assert!(days_b.iter().all(|d| d.as_str() >= "2024-01-11"), "{days_b:?}");
    assert_eq!(sum_b, dec(&seen.actual));
    let (days_a, sum_a) = sum_of(("wang", Role::Manager, "region-a")).await;
    assert!(!days_a.is_empty() && days_a.iter().all(|d| d.as_str() < "2024-01-11"), "{days_a:?}");
    assert_eq!(sum_a + sum_b, Decimal::from(40_000), "{days_a:?} {days_b:?}");
    // Each manager audits rep 1 over its days with them, clean.
    for (person, unit) in [("li", "region-b"), ("wang", "region-a")] {
        let audit = Audit {
            plan: "plans/fy2024".into(),
            unit: "units/rep-1".into(),
            period: "2024-01".into(),
            as_of: day("2024-01-16"),
        };
        let o = run(&format!("http://{}", s.gateway.addr), &token(person, Role::Manager, unit), &audit).await.unwrap();
        let listed: Vec<String> =
            o.differences.iter().map(|d| format!("{} {}: {} vs {}", d.unit, d.figure, d.shown, d.recomputed)).collect();
        assert!(listed.is_empty() && o.checked > 20, "{person}: {} checked\n{}", o.checked, listed.join("\n"));
    }
    let list = kpb::ListDealsRequest { unit: "units/rep-1".into(), page_size: 100, ..Default::default() };
    let other = tracking.list_deals(as_("zhao", Role::Manager, "region-c", list)).await.unwrap_err();
    assert_eq!(other.code(), tonic::Code::PermissionDenied, "{other:?}");

    // A big sale on the 12th settles its alert in region B; back in region
    // A from the 16th, the settled alert (region B's figures in its text)
    // stays region B's.
    let deal = kpb::Deal {
        rep: "units/rep-1".into(),
        amount: cny("60000.00"),
        close_date: "2024-01-12".into(),
        ..Default::default()
    };
    let ask = kpb::CreateDealRequest { deal: Some(deal), request_id: "big-12th".into() };
    tracking.create_deal(ops(ask)).await.unwrap();
    let alerts_of = |who: (&'static str, Role, &'static str), unit: &'static str| {
        let mut k = tracking.clone();
        async move {
            let ask = kpb::ListAlertsRequest { unit: format!("units/{unit}"), page_size: 100, ..Default::default() };
            let alerts = k.list_alerts(as_(who.0, who.1, who.2, ask)).await.unwrap().into_inner().alerts;
            alerts.into_iter().filter(|a| a.unit == "units/rep-1").collect::<Vec<_>>()
        }
    };
    let mut settled = None;
    for _ in 0..50 {
        settled = alerts_of(li, "region-b")
            .await
            .into_iter()
            .find(|a| a.rule == kpb::AlertRule::BehindPace as i32 && a.state == kpb::AlertState::Resolved as i32);
        if settled.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let settled = settled.expect("rep 1's alert settles in region B after its big sale");
    let rep1 = org.get_unit(ops(tpb::GetUnitRequest { name: "units/rep-1".into() })).await.unwrap().into_inner();
    let back = tpb::MoveUnitRequest {
        name: rep1.name,
        new_parent: "units/region-a".into(),
        etag: rep1.etag,
        effective_date: "2024-01-16".into(),
        request_id: String::new(),
    };
    org.move_unit(ops(back)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let wangs = alerts_of(("wang", Role::Manager, "region-a"), "region-a").await;
    assert!(wangs.iter().all(|a| a.name != settled.name), "region B's settled alert: {wangs:?}");
    let lis = alerts_of(li, "region-b").await;
    assert!(lis.iter().any(|a| a.name == settled.name), "stays region B's: {lis:?}");
}
both_backends!(a_moved_reps_alerts_are_of_its_stay);

/// Actuals of a rep that moved mid-month, asked in a batch (as tried from
/// outside: region B's manager read the whole month, region A's days'
/// sales included): each manager reads them over its own days, as its
/// attainment shows them, in the plan's currency; the whole month is
/// refused with the days to ask for.
async fn a_moved_reps_actuals_are_of_each_managers_days(backend: Backend) {
    let s = Suite::with_demo(backend).await;
    let ch = Channel::from_shared(format!("http://{}", s.gateway.addr)).unwrap().connect().await.unwrap();
    let (mut org, mut tracking) = (OrgServiceClient::new(ch.clone()), TrackingServiceClient::new(ch));
    let (wang, li) = (("wang", Role::Manager, "region-a"), ("li", Role::Manager, "region-b"));
    move_unit(&mut org, "rep-1", "region-b", "2024-01-11").await;
    let actuals = |period: &str| kpb::BatchGetActualsRequest {
        units: vec!["units/rep-1".into()],
        period: period.into(),
        ..Default::default()
    };
    let whole = tracking.batch_get_actuals(ops(actuals("2024-01"))).await.unwrap().into_inner().actuals;
    let whole = whole[0].actual.clone();
    assert_eq!(whole.as_ref().unwrap().currency_code, "CNY");
    let mut parts = Decimal::ZERO;
    for (who, days) in [(wang, "2024-01-01..2024-01-10"), (li, "2024-01-11..2024-01-31")] {
        let refused = tracking.batch_get_actuals(as_(who.0, who.1, who.2, actuals("2024-01"))).await.unwrap_err();
        assert_eq!(refused.code(), tonic::Code::FailedPrecondition, "{who:?}: {refused:?}");
        assert!(refused.message().contains(days) && refused.message().contains("units[0]"), "{refused:?}");
        let mine = tracking.batch_get_actuals(as_(who.0, who.1, who.2, actuals(days))).await.unwrap().into_inner();
        let mine = mine.actuals[0].actual.clone();
        let read =
            kpb::GetAttainmentRequest { unit: "units/rep-1".into(), period: "2024-01".into(), ..Default::default() };
        let seen = tracking.get_attainment(as_(who.0, who.1, who.2, read)).await.unwrap().into_inner();
        assert_eq!(dec(&mine), dec(&seen.actual), "{who:?}: the batch reads what the attainment shows");
        assert_eq!(mine.as_ref().unwrap().currency_code, "CNY");
        parts += dec(&mine);
    }
    assert!(parts > Decimal::ZERO);
    assert_eq!(parts, dec(&whole), "the two managers' days make the month");

    // Its expected amounts, likewise (as tried from outside: the new
    // manager was told PERMISSION_DENIED for the whole month, as if the
    // rep were not theirs at all); a manager it never sat under is still
    // told nothing.
    let mut targets = TargetServiceClient::new(
        Channel::from_shared(format!("http://{}", s.gateway.addr)).unwrap().connect().await.unwrap(),
    );
    let expected = |period: &str| tpb::BatchGetExpectedAmountsRequest {
        plan: "plans/fy2024".into(),
        units: vec!["units/rep-2".into(), "units/rep-1".into()],
        period: period.into(),
        date: "2024-01-16".into(),
        ..Default::default()
    };
    let whole = targets.batch_get_expected_amounts(ops(expected("2024-01"))).await.unwrap().into_inner();
    assert_eq!(whole.amounts.len(), 2);
    for (who, days) in [(wang, "2024-01-01..2024-01-10"), (li, "2024-01-11..2024-01-31")] {
        let refused = targets.batch_get_expected_amounts(as_(who.0, who.1, who.2, expected("2024-01"))).await;
        let refused = refused.unwrap_err();
        // rep 2 stayed in region A: region B's manager is refused it outright.
        if who.2 == "region-b" {
            assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{who:?}: {refused:?}");
            let only = tpb::BatchGetExpectedAmountsRequest { units: vec!["units/rep-1".into()], ..expected("2024-01") };
            let refused = targets.batch_get_expected_amounts(as_(who.0, who.1, who.2, only)).await.unwrap_err();
            assert_eq!(refused.code(), tonic::Code::FailedPrecondition, "{who:?}: {refused:?}");
            assert!(refused.message().contains(days) && refused.message().contains("units[0]"), "{refused:?}");
        } else {
            assert_eq!(refused.code(), tonic::Code::FailedPrecondition, "{who:?}: {refused:?}");
            assert!(refused.message().contains(days) && refused.message().contains("units[1]"), "{refused:?}");
        }
        let only = tpb::BatchGetExpectedAmountsRequest { units: vec!["units/rep-1".into()], ..expected(days) };
        let mine = targets.batch_get_expected_amounts(as_(who.0, who.1, who.2, only)).await.unwrap().into_inner();
        assert_eq!(mine.amounts.len(), 1, "{who:?}");
    }
    let never = targets.batch_get_expected_amounts(as_("zhao", Role::Manager, "region-c", expected("2024-01"))).await;
    assert_eq!(never.unwrap_err().code(), tonic::Code::PermissionDenied);

    // Two reps moved: both are named at once, with their days (as tried
    // from outside, a batch named the first, then the next on the retry).
    move_unit(&mut org, "rep-3", "region-b", "2024-01-15").await;
    let both = kpb::BatchGetActualsRequest {
        units: vec!["units/rep-1".into(), "units/rep-3".into()],
        period: "2024-01".into(),
        ..Default::default()
    };
    let refused = tracking.batch_get_actuals(as_(wang.0, wang.1, wang.2, both)).await.unwrap_err();
    let named = ["units[0]: units/rep-1", "2024-01-01..2024-01-10", "units[1]: units/rep-3", "2024-01-01..2024-01-14"];
    assert!(named.iter().all(|n| refused.message().contains(n)), "{refused:?}");
    let three = tpb::BatchGetExpectedAmountsRequest {
        units: vec!["units/rep-2".into(), "units/rep-1".into(), "units/rep-3".into()],
        ..expected("2024-01")
    };
    let refused = targets.batch_get_expected_amounts(as_(wang.0, wang.1, wang.2, three)).await.unwrap_err();
    let named = ["units[1]: units/rep-1", "2024-01-01..2024-01-10", "units[2]: units/rep-3", "2024-01-01..2024-01-14"];
    assert!(named.iter().all(|n| refused.message().contains(n)), "{refused:?}");

    // Where no plan covers the period nothing could be booked: no actual
    // (as tried from outside: "0" came back with an empty currency).
    let before = tracking.batch_get_actuals(ops(actuals("2019-01"))).await.unwrap().into_inner().actuals;
    assert_eq!((before[0].actual.as_ref(), before[0].deals_won), (None, 0), "{before:?}");
    // Across two plans of two currencies: which one is for the caller to say.
    let usd = tpb::Plan {
        display_name: "FY2025".into(),
        top_unit: "units/acme".into(),
        fiscal_year: 2025,
        currency_code: "USD".into(),
        base_amount: Some(Money { currency_code: "USD".into(), amount: "100000.00".into() }),
        growth_rate: "0".into(),
        ..Default::default()
    };
    let create = tpb::CreatePlanRequest { plan: Some(usd), plan_id: "fy2025".into(), request_id: String::new() };
    targets.create_plan(ops(create)).await.unwrap();
    let across = tracking.batch_get_actuals(ops(actuals("2024-12-15..2025-01-15"))).await.unwrap_err();
    assert_eq!(across.code(), tonic::Code::InvalidArgument, "{across:?}");
    assert!(across.message().contains("CNY and USD"), "{across:?}");
    let january = tracking.batch_get_actuals(ops(actuals("2025-01"))).await.unwrap().into_inner().actuals;
    assert_eq!(january[0].actual.as_ref().map(|m| m.currency_code.as_str()), Some("USD"), "{january:?}");
}

both_backends!(a_moved_reps_actuals_are_of_each_managers_days);

/// A move settles no alert by itself (as tried from outside): an idle
/// rep's STALE_DATA stays open when it moves — a move is no activity —
/// and the alerts a move does settle (its old region's, whose figures
/// moved) state the figures they hold, read after the re-booking: the
/// region's actual as its attainment reads it, not the figures booked the
/// old way against the targets moved the new way.
async fn a_move_settles_no_alert_by_itself(backend: Backend) {
    let s = Suite::with_demo(backend).await;
    let ch = Channel::from_shared(format!("http://{}", s.gateway.addr)).unwrap().connect().await.unwrap();
    let (mut org, tracking) = (OrgServiceClient::new(ch.clone()), TrackingServiceClient::new(ch));
    let idle = tpb::Unit {
        parent: "units/region-a".into(),
        kind: tpb::UnitKind::Rep as i32,
        display_name: "Idle Rep".into(),
        start_date: "2024-01-02".into(),
        ..Default::default()
    };
    let ask = tpb::CreateUnitRequest { unit: Some(idle), unit_id: "rep-idle".into(), request_id: "idle".into() };
    org.create_unit(ops(ask)).await.unwrap();
    let evaluate =
        kpb::EvaluateAlertsRequest { unit: "units/region-a".into(), period: "2024-01".into(), ..Default::default() };
    tracking.clone().evaluate_alerts(ops(evaluate)).await.unwrap();
    let alerts_of = |unit: &'static str| {
        let mut k = tracking.clone();
        async move {
            let ask = kpb::ListAlertsRequest { unit: format!("units/{unit}"), page_size: 200, ..Default::default() };
            k.list_alerts(ops(ask)).await.unwrap().into_inner().alerts
        }
    };
    let stale = |alerts: &[kpb::Alert]| {
        alerts.iter().find(|a| a.unit == "units/rep-idle" && a.rule == kpb::AlertRule::StaleData as i32).cloned()
    };
    let before = stale(&alerts_of("rep-idle").await).expect("an idle rep of eleven working days is stale");
    assert_eq!(before.state, kpb::AlertState::Open as i32, "{before:?}");

    move_unit(&mut org, "rep-idle", "region-b", "2024-01-10").await;
    move_unit(&mut org, "rep-2", "region-b", "2024-01-10").await;
    // The follower re-books within a second or two, then evaluates.
    tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
    let after = stale(&alerts_of("rep-idle").await).expect("still there");
    assert_ne!(after.state, kpb::AlertState::Resolved as i32, "a move resolved it: {after:?}");
    assert!(after.message.contains("2024-01-02"), "idle since it started: {after:?}");

    let read =
        kpb::GetAttainmentRequest { unit: "units/region-a".into(), period: "2024-01".into(), ..Default::default() };
    let region = tracking.clone().get_attainment(ops(read)).await.unwrap().into_inner();
    for a in alerts_of("region-a").await.iter().filter(|a| a.unit == "units/region-a") {
        if a.state == kpb::AlertState::Resolved as i32 && a.message.starts_with("recovered: ") {
            let said = format!("recovered: {} against {} expected", dec(&a.actual), dec(&a.expected));
            assert_eq!(a.message, said, "its fields are what its message says: {a:?}");
            assert_eq!(dec(&a.actual), dec(&region.actual), "the region's actual after the move: {a:?}");
        }
    }
}

both_backends!(a_move_settles_no_alert_by_itself);
