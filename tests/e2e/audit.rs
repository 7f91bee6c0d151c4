//! `attain audit` against the running suite: the guide's demo and a
//! randomized organisation (split credit, reversals, adjustments, mixed
//! phasing, reserves, milestones, last year's sales) come out clean on
//! SQLite and PostgreSQL; a figure altered after it was read is reported;
//! a manager audits its subtree with its own token, a rep cannot, an unknown
//! plan or a period outside it is an error, never "clean".

use crate::support::Suite;
use attain::audit::{Audit, Outcome, check, gather, run};
use attain_kit::{
    auth::Role,
    both_backends,
    testing::{Backend, token},
};
use chrono::NaiveDate;
use tonic::Code;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn audit(unit: &str, period: &str) -> Audit {
    Audit { plan: "plans/fy2024".into(), unit: unit.into(), period: period.into(), as_of: day("2024-01-16") }
}

fn clean(what: &str, o: &Outcome) {
    let listed: Vec<String> = o
        .differences
        .iter()
        .map(|d| format!("{} {}: shown {} recomputed {}", d.unit, d.figure, d.shown, d.recomputed))
        .collect();
    assert!(
        o.differences.is_empty(),
        "{what}: {} of {} figures differ:\n{}",
        listed.len(),
        o.checked,
        listed.join("\n")
    );
}

async fn the_demo_audits_clean(backend: Backend) {
    let s = Suite::with_demo(backend).await;
    let gw = format!("http://{}", s.gateway.addr);
    let admin = token("ops", Role::Admin, "");
    for period in ["2024-01", "2024-Q1", "2024-W03", "2024", "2024-01-08..2024-01-19"] {
        let o = run(&gw, &admin, &audit("", period)).await.unwrap();
        clean(&format!("company {period}"), &o);
        assert!(o.checked > 100, "{period}: only {} figures checked", o.checked);
    }
    // A manager audits its own subtree with its own token.
    let wang = token("wang", Role::Manager, "region-a");
    let o = run(&gw, &wang, &audit("units/region-a", "2024-01")).await.unwrap();
    clean("region A by its manager", &o);
    assert!(o.checked > 50, "{}", o.checked);
    // A rep hired after the split has no target yet: its time still passes
    // (found from outside: it read time progress 0 and forecast = actual,
    // where the calendar says 12 of 23 working days).
    let channel = tonic::transport::Channel::from_shared(gw.clone()).unwrap().connect().await.unwrap();
    let seed = attain_kit::seed::Seed::new(channel.clone(), admin.clone()).with_tracking(channel);
    let rep =
        attain_kit::seed::Unit::new("rep-4", "region-a", attain_proto::attain::target::v1::UnitKind::Rep, "Rep 4");
    seed.units(&[rep]).await.unwrap();
    seed.deals(&[attain_kit::seed::Sale::new("rep-4", "5000.00", "2024-01-10")]).await.unwrap();
    // The cached dashboard follows the roll-up feed within a poll or two.
    let mut o = run(&gw, &wang, &audit("units/region-a", "2024-01")).await.unwrap();
    for _ in 0..25 {
        if o.differences.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        o = run(&gw, &wang, &audit("units/region-a", "2024-01")).await.unwrap();
    }
    clean("region A with a rep without a target", &o);
    // An altered figure is reported, with unit, figure, shown and recomputed.
    let mut evidence = gather(&gw, &admin, &audit("units/region-a", "2024-01")).await.unwrap();
    // The dashboard is also read as a page opens it (its own cache key),
    // so a stale cached figure there is reported too.
    let opened = evidence.shown.iter_mut().find(|(w, _)| w == "dashboard (as opened) attainment");
    let (_, opened) = opened.expect("the dashboard as a page opens it is audited");
    opened.target.as_mut().unwrap().amount = "2.00".into();
    let o = check(&audit("units/region-a", "2024-01"), &evidence).unwrap();
    assert!(
        o.differences.iter().any(|d| d.figure == "dashboard (as opened) attainment.target" && d.shown == "2"),
        "{:?}",
        o.differences
    );
    let (_, first) = evidence.shown.iter_mut().find(|(w, _)| w == "attainment").unwrap();
    first.actual.as_mut().unwrap().amount = "1.00".into();
    let o = check(&audit("units/region-a", "2024-01"), &evidence).unwrap();
    assert!(
        o.differences.iter().any(|d| d.unit == "units/region-a" && d.figure == "attainment.actual" && d.shown == "1"),
        "{:?}",
        o.differences
    );
    // Errors, never "clean".
    let rep = token("rep-1", Role::Rep, "rep-1");
    assert_eq!(run(&gw, &rep, &audit("units/region-a", "2024-01")).await.unwrap_err().code(), Code::PermissionDenied);
    let mut unknown = audit("", "2024-01");
    unknown.plan = "plans/nope".into();
    assert!(matches!(run(&gw, &admin, &unknown).await.unwrap_err().code(), Code::NotFound | Code::PermissionDenied));
    assert_eq!(run(&gw, &admin, &audit("", "2025-03")).await.unwrap_err().code(), Code::InvalidArgument);

    // The command line: 0 and a count when clean, 2 when it cannot audit.
    let cli = |token: &str, unit: &str| {
        let gw = gw.clone();
        let (token, unit) = (token.to_owned(), unit.to_owned());
        async move {
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(env!("CARGO_BIN_EXE_attain"))
                    .args(["audit", "--plan", "plans/fy2024", "--period", "2024-01", "--as-of", "2024-01-16"])
                    .args(["--unit", &unit, "--gateway", &gw, "--token", &token])
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let ok = cli(&admin, "units/acme").await;
    let text = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&ok.stderr));
    assert!(text.contains("figures checked") && text.contains(": 0 differences"), "{text}");
    let denied = cli(&rep, "units/region-a").await;
    assert_eq!(denied.status.code(), Some(2));
    let said = String::from_utf8_lossy(&denied.stderr);
    assert!(said.contains("not audited: not allowed: ") && said.contains("token whose unit covers it"), "{said}");
    assert!(!String::from_utf8_lossy(&denied.stdout).contains("0 differences"), "nothing is called clean");
}

both_backends!(the_demo_audits_clean);

/// A small deterministic generator: the same organisation every run, many
/// shapes in it.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n.max(1)
    }
}

fn as_<T>(person: &str, role: Role, unit: &str, msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut().insert("authorization", format!("Bearer {}", token(person, role, unit)).parse().unwrap());
    r
}

fn admin<T>(msg: T) -> tonic::Request<T> {
    as_("ops", Role::Admin, "", msg)
}

fn cny(a: String) -> Option<attain_proto::attain::common::v1::Money> {
    Some(attain_proto::attain::common::v1::Money { currency_code: "CNY".into(), amount: a })
}

/// Regions of reps (one region with a team), a reserve, every phasing
/// method, milestones of its own on some reps, a product split, approved
/// adjustments with both redistributions, sales with split credit, reversals
/// and last year's sales, lost opportunities and daily logs.
/// Returns the regions and the rep that moved.
async fn build_random_org(s: &Suite, seed: u64) -> (Vec<String>, String) {
    use attain_proto::attain::{
        target::v1::{self as tpb, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient},
        tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
    };
    let gw =
        tonic::transport::Channel::from_shared(format!("http://{}", s.gateway.addr)).unwrap().connect().await.unwrap();
    let (mut org, mut t, mut k) =
        (OrgServiceClient::new(gw.clone()), TargetServiceClient::new(gw.clone()), TrackingServiceClient::new(gw));
    let mut rng = Lcg(seed);
    let unit = |id: &str, parent: &str, kind: tpb::UnitKind| tpb::CreateUnitRequest {
        unit: Some(tpb::Unit {
            parent: parent.into(),
            kind: kind as i32,
            display_name: id.into(),
            manager: id.into(),
            ..Default::default()
        }),
        unit_id: id.into(),
        request_id: format!("u-{id}"),
    };
    org.create_unit(admin(unit("acme", "", tpb::UnitKind::Company))).await.unwrap();
    let mut reps: Vec<(String, String)> = Vec::new(); // (rep, its parent)
    let regions = 2 + rng.next(2);
    for r in 0..regions {
        let region = format!("region-{r}");
        org.create_unit(admin(unit(&region, "units/acme", tpb::UnitKind::Region))).await.unwrap();
        let parent = if r == 0 {
            org.create_unit(admin(unit("team-0", &format!("units/{region}"), tpb::UnitKind::Team))).await.unwrap();
            "team-0".to_owned()
        } else {
            region.clone()
        };
        for i in 0..2 + rng.next(3) {
            let rep = format!("rep-{r}-{i}");
            org.create_unit(admin(unit(&rep, &format!("units/{parent}"), tpb::UnitKind::Rep))).await.unwrap();
            reps.push((rep, parent.clone()));
        }
    }
    let plan = |year: i32| tpb::CreatePlanRequest {
        plan: Some(tpb::Plan {
            display_name: format!("FY{year}"),
            top_unit: "units/acme".into(),
            fiscal_year: year,
            currency_code: "CNY".into(),
            base_amount: cny("9000000.00".into()),
            growth_rate: "0.1".into(),
            coverage_policy: Some(tpb::CoveragePolicy {
                mode: tpb::CoverageMode::Reserve as i32,
                max_reserve_percent: "15".into(),
                ..Default::default()
            }),
            calendar: Some(tpb::WorkingCalendar {
                weekend_days: vec![6, 7],
                holidays: vec![format!("{year}-01-01"), format!("{year}-02-12")],
                working_weekends: vec![format!("{year}-02-04")],
            }),
            milestone_template: vec![
                tpb::Milestone { day_of_period: 5, percent: "20".into() },
                tpb::Milestone { day_of_period: 15, percent: "50".into() },
            ],
            ..Default::default()
        }),
        plan_id: format!("fy{year}"),
        request_id: format!("plan-{year}"),
    };
    for year in [2023, 2024] {
        t.create_plan(admin(plan(year))).await.unwrap();
    }
    // Splits: the company keeps a reserve; every split by weights.
    let split = |parent: &str, children: Vec<String>, pct: &str, weights: Vec<u64>| tpb::DecomposeTargetRequest {
        parent_target: format!("plans/fy2024/targets/{parent}"),
        strategy: tpb::SplitStrategy::Weights as i32,
        inputs: children
            .iter()
            .zip(weights)
            .map(|(u, w)| tpb::SplitInput {
                unit: format!("units/{u}"),
                weight: (w + 1).to_string(),
                ..Default::default()
            })
            .collect(),
        allocate_percent: pct.into(),
        request_id: format!("split-{parent}"),
        ..Default::default()
    };
    let region_ids: Vec<String> = (0..regions).map(|r| format!("region-{r}")).collect();
    let weights: Vec<u64> = region_ids.iter().map(|_| rng.next(9)).collect();
    t.decompose_target(admin(split("acme", region_ids.clone(), "90", weights))).await.unwrap();
    t.decompose_target(admin(split("region-0", vec!["team-0".into()], "95", vec![1]))).await.unwrap();
    let mut parents: Vec<String> = reps.iter().map(|(_, p)| p.clone()).collect();
    parents.dedup();
    for p in parents {
        let kids: Vec<String> = reps.iter().filter(|(_, q)| *q == p).map(|(r, _)| r.clone()).collect();
        let weights = kids.iter().map(|_| rng.next(9)).collect();
        let pct = if rng.next(2) == 0 { "100" } else { "92" };
        t.decompose_target(admin(split(&p, kids, pct, weights))).await.unwrap();
    }
    // Every phasing method somewhere, milestones of their own on some.
    let mut phased: Vec<String> = reps.iter().map(|(r, _)| r.clone()).collect();
    phased.extend(region_ids.iter().cloned());
    for (i, u) in phased.iter().enumerate() {
        let curve = match (i + usize::try_from(rng.next(4)).unwrap()) % 5 {
            0 => tpb::PhasingCurve { method: tpb::PhasingMethod::Even as i32, ..Default::default() },
            1 => tpb::PhasingCurve {
                method: tpb::PhasingMethod::Profile as i32,
                profile_percents: ["20", "30", "25", "25"].map(String::from).to_vec(),
                ..Default::default()
            },
            2 => tpb::PhasingCurve {
                method: tpb::PhasingMethod::Profile as i32,
                profile_percents: ["5", "7", "8", "9", "8", "8", "9", "9", "9", "9", "9", "10"]
                    .map(String::from)
                    .to_vec(),
                ..Default::default()
            },
            3 => tpb::PhasingCurve {
                method: tpb::PhasingMethod::LastYear as i32,
                last_year_monthly: (1..=12).map(|m| format!("{}", 1000 + m * 37 + rng.next(500))).collect(),
                ..Default::default()
            },
            _ => continue, // the plan's default (working days)
        };
        t.phase_target(admin(tpb::PhaseTargetRequest {
            target: format!("plans/fy2024/targets/{u}"),
            phasing: Some(curve),
            request_id: format!("phase-{u}"),
            ..Default::default()
        }))
        .await
        .unwrap();
    }
    for (rep, _) in reps.iter().step_by(3) {
        t.set_milestones(admin(tpb::SetMilestonesRequest {
            parent: format!("plans/fy2024/targets/{rep}"),
            milestones: vec![
                tpb::Milestone { day_of_period: 10, percent: "30".into() },
                tpb::Milestone { day_of_period: 20, percent: "70".into() },
            ],
            request_id: format!("ms-{rep}"),
            ..Default::default()
        }))
        .await
        .unwrap();
    }
    // A product split of one rep that leaves part of it unassigned.
    let sliced = reps[0].0.clone();
    t.decompose_target(admin(tpb::DecomposeTargetRequest {
        parent_target: format!("plans/fy2024/targets/{sliced}"),
        strategy: tpb::SplitStrategy::Equal as i32,
        dimension: tpb::SplitDimension::ProductLine as i32,
        inputs: ["软件", "硬件"]
            .iter()
            .map(|v| tpb::SplitInput { dimension_value: (*v).into(), ..Default::default() })
            .collect(),
        allocate_percent: "90".into(),
        request_id: "slices".into(),
        ..Default::default()
    }))
    .await
    .unwrap();
    for year in [2023, 2024] {
        t.publish_plan(admin(tpb::PublishPlanRequest { name: format!("plans/fy{year}"), ..Default::default() }))
            .await
            .unwrap();
    }
    // Adjustments, approved from above: parent absorbs, siblings absorb.
    for (n, (rep, parent)) in reps.iter().skip(1).take(2).enumerate() {
        let policy = if n == 0 { tpb::Redistribution::ParentAbsorbs } else { tpb::Redistribution::SiblingsAbsorb };
        let a = t
            .create_adjustment(as_(
                rep,
                Role::Rep,
                rep,
                tpb::CreateAdjustmentRequest {
                    parent: "plans/fy2024".into(),
                    adjustment: Some(tpb::Adjustment {
                        target: format!("plans/fy2024/targets/{rep}"),
                        change: Some(tpb::adjustment::Change::ChangePercent(if n == 0 { "-12" } else { "8" }.into())),
                        reason: tpb::AdjustmentReason::Market as i32,
                        justification: "a key account moved".into(),
                        redistribution: policy as i32,
                        ..Default::default()
                    }),
                    request_id: format!("adj-{rep}"),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        let approve = tpb::ApproveAdjustmentRequest { name: a.name, ..Default::default() };
        let manager = if parent.starts_with("team") { "region-0".to_owned() } else { parent.clone() };
        t.approve_adjustment(as_(&format!("mgr-{manager}"), Role::Manager, &manager, approve)).await.unwrap();
    }
    // A move: the last rep leaves its region for team 0 from the 10th
    // (another branch); its sales count where it sat on their close dates.
    let (mover, _) = reps.last().unwrap().clone();
    let current =
        org.get_unit(admin(tpb::GetUnitRequest { name: format!("units/{mover}") })).await.unwrap().into_inner();
    org.move_unit(admin(tpb::MoveUnitRequest {
        name: current.name,
        new_parent: "units/team-0".into(),
        etag: current.etag,
        request_id: "move".into(),
        effective_date: "2024-01-10".into(),
    }))
    .await
    .unwrap();
    // Sales: this January to the 16th, and last January; split credit,
    // then reversals (one replaced by a corrected sale).
    let mut names = Vec::new();
    for (year, n) in [(2024, 40), (2023, 25)] {
        let mut requests = Vec::new();
        for i in 0..n {
            let (rep, _) = &reps[usize::try_from(rng.next(reps.len() as u64)).unwrap()];
            let dayn = 1 + rng.next(if year == 2024 { 16 } else { 31 });
            let amount = format!("{}.{:02}", 500 + rng.next(40_000), rng.next(100));
            let credits = if i % 5 == 0 {
                let (other, _) = &reps[usize::try_from(rng.next(reps.len() as u64)).unwrap()];
                if other == rep {
                    Vec::new()
                } else {
                    vec![
                        kpb::CreditShare { rep: format!("units/{rep}"), percent: "65".into(), ..Default::default() },
                        kpb::CreditShare { rep: format!("units/{other}"), percent: "35".into(), ..Default::default() },
                    ]
                }
            } else {
                Vec::new()
            };
            requests.push(kpb::CreateDealRequest {
                deal: Some(kpb::Deal {
                    rep: format!("units/{rep}"),
                    amount: cny(amount),
                    close_date: format!("{year}-01-{dayn:02}"),
                    customer: format!("c{}", rng.next(15)),
                    credits,
                    ..Default::default()
                }),
                request_id: format!("d-{year}-{i}"),
            });
        }
        let made = k.batch_create_deals(admin(kpb::BatchCreateDealsRequest { requests })).await.unwrap().into_inner();
        names.extend(made.deals.into_iter().map(|d| d.name));
    }
    for (i, name) in names.iter().step_by(7).enumerate() {
        let replacement = (i % 2 == 0).then(|| kpb::Deal {
            rep: format!("units/{}", reps[i % reps.len()].0),
            amount: cny("1234.56".into()),
            close_date: "2024-01-09".into(),
            ..Default::default()
        });
        k.reverse_deal(admin(kpb::ReverseDealRequest {
            name: name.clone(),
            reason: "entered twice".into(),
            replacement,
            request_id: format!("rev-{i}"),
        }))
        .await
        .unwrap();
    }
    // Lost business: opportunities and daily logs.
    for (i, (rep, _)) in reps.iter().enumerate() {
        k.create_opportunity(admin(kpb::CreateOpportunityRequest {
            opportunity: Some(kpb::Opportunity {
                rep: format!("units/{rep}"),
                customer: format!("lost-{i}"),
                stage: "报价".into(),
                outcome: kpb::OpportunityOutcome::Lost as i32,
                expected_amount: cny("5000.00".into()),
                close_date: format!("2024-01-{:02}", 2 + i % 14),
                loss_reason: kpb::LossReason::Price as i32,
                ..Default::default()
            }),
            request_id: format!("opp-{i}"),
        }))
        .await
        .unwrap();
        if i % 2 == 0 {
            k.create_daily_log(admin(kpb::CreateDailyLogRequest {
                daily_log: Some(kpb::DailyLog {
                    rep: format!("units/{rep}"),
                    log_date: format!("2024-01-{:02}", 3 + i % 12),
                    lost_deals: vec![kpb::LostDeal {
                        customer: "x".into(),
                        reason: kpb::LossReason::Competitor as i32,
                        detail: String::new(),
                        amount: cny("700.00".into()),
                    }],
                    ..Default::default()
                }),
                request_id: format!("log-{i}"),
            }))
            .await
            .unwrap();
        }
    }
    // A move recorded after the fact: rep 1 left team 0 for region 1 on the
    // 3rd; what was entered for it from that day is re-booked there.
    let (late, _) = reps[1].clone();
    let listed = |unit: &str| {
        let (mut k, unit, late) = (k.clone(), unit.to_owned(), format!("units/{late}"));
        let r_unit = unit.clone();
        async move {
            let r =
                kpb::ListDealsRequest { unit: r_unit, period: "2024-01".into(), page_size: 1000, ..Default::default() };
            let deals = k.list_deals(admin(r)).await.unwrap().into_inner().deals;
            // Owned by rep 1 and booked there (a split deal of its stays
            // listed where a colleague it credits sits).
            deals
                .into_iter()
                .filter(|d| d.rep == late && d.close_date.as_str() >= "2024-01-03" && d.booked_path.contains(&unit))
                .count()
        }
    };
    let entered = listed("units/team-0").await;
    assert!(entered > 0, "rep 1 sold after the 3rd");
    let current =
        org.get_unit(admin(tpb::GetUnitRequest { name: format!("units/{late}") })).await.unwrap().into_inner();
    org.move_unit(admin(tpb::MoveUnitRequest {
        name: current.name,
        new_parent: "units/region-1".into(),
        etag: current.etag,
        request_id: "late-move".into(),
        effective_date: "2024-01-03".into(),
    }))
    .await
    .unwrap();
    for _ in 0..100 {
        if listed("units/region-1").await == entered && listed("units/team-0").await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(listed("units/region-1").await, entered, "re-booked where rep 1 sat on their dates");
    assert_eq!(listed("units/team-0").await, 0);
    (region_ids, mover)
}

async fn a_random_organisation_audits_clean(backend: Backend) {
    let s = Suite::start(backend, |_| {}).await;
    let (regions, mover) = build_random_org(&s, 0x5eed_2024).await;
    let gw = format!("http://{}", s.gateway.addr);
    let ops = token("ops", Role::Admin, "");
    let mut checked = 0;
    for period in ["2024-01", "2024-Q1", "2024-W02", "2024", "2024-01-05..2024-02-20"] {
        let o = run(&gw, &ops, &audit("", period)).await.unwrap();
        clean(&format!("company {period}"), &o);
        checked += o.checked;
    }
    let last = regions.last().unwrap();
    for region in &regions {
        // Regions reps left are audited by their managers too: the reps'
        // days there are in the regions' figures.
        let manager = token(&format!("mgr-{region}"), Role::Manager, region);
        let o = run(&gw, &manager, &audit(&format!("units/{region}"), "2024-01")).await.unwrap();
        clean(&format!("{region} by its manager"), &o);
        checked += o.checked;
    }
    assert!(checked > 500, "{checked} figures checked");
    // Every region's January drill-down adds up: its rows (each member for
    // its days there, the reps that left and joined included) sum to its
    // actual, and a rep that moved shows under each parent for its days.
    let ch = tonic::transport::Channel::from_shared(gw.clone()).unwrap().connect().await.unwrap();
    let mut k = attain_proto::attain::tracking::v1::tracking_service_client::TrackingServiceClient::new(ch);
    let amount = |m: &Option<attain_proto::attain::common::v1::Money>| -> rust_decimal::Decimal {
        m.as_ref().map_or(rust_decimal::Decimal::ZERO, |m| m.amount.parse().unwrap())
    };
    let mut rows_of_mover = Vec::new();
    for unit in regions.iter().map(|r| format!("units/{r}")).chain(["units/team-0".to_owned()]) {
        let r = attain_proto::attain::tracking::v1::ListChildAttainmentsRequest {
            unit: unit.clone(),
            period: "2024-01".into(),
            ..Default::default()
        };
        let d = k.list_child_attainments(admin(r)).await.unwrap().into_inner();
        let rows: rust_decimal::Decimal = d.children.iter().map(|c| amount(&c.actual)).sum();
        assert_eq!(rows, amount(&d.parent.as_ref().unwrap().actual), "{unit}'s rows add up to it");
        for c in d.children.iter().filter(|c| c.unit == format!("units/{mover}")) {
            let p = c.period.as_ref().unwrap();
            rows_of_mover.push((unit.clone(), p.start_date.clone(), p.end_date.clone()));
        }
    }
    rows_of_mover.sort_by(|a, b| a.1.cmp(&b.1));
    let last_region = format!("units/{}", regions.last().unwrap());
    assert_eq!(
        rows_of_mover,
        [
            (last_region, "2024-01-01".to_owned(), "2024-01-09".to_owned()),
            ("units/team-0".to_owned(), "2024-01-10".to_owned(), "2024-01-31".to_owned())
        ],
        "the rep that moved on the 10th, under each parent for its days"
    );
    // The rep that moved to team 0 on the 10th: its January sales count
    // under team 0 from that day, under its old region before.
    let deals = |unit: String| {
        let gw = gw.clone();
        async move {
            let ch = tonic::transport::Channel::from_shared(gw).unwrap().connect().await.unwrap();
            let mut k = attain_proto::attain::tracking::v1::tracking_service_client::TrackingServiceClient::new(ch);
            let r = attain_proto::attain::tracking::v1::ListDealsRequest {
                unit,
                period: "2024-01".into(),
                page_size: 1000,
                ..Default::default()
            };
            k.list_deals(admin(r)).await.unwrap().into_inner().deals
        }
    };
    let mover = format!("units/{mover}");
    // Owned by the mover and booked there (split deals are also listed
    // where the colleagues they credit sit).
    let booked = |d: &attain_proto::attain::tracking::v1::Deal, unit: &str| {
        d.rep == mover && d.booked_path.iter().any(|u| u == unit)
    };
    let after: Vec<_> = deals("units/team-0".into()).await.into_iter().filter(|d| booked(d, "units/team-0")).collect();
    let old_place = format!("units/{last}");
    let before: Vec<_> = deals(old_place.clone()).await.into_iter().filter(|d| booked(d, &old_place)).collect();
    assert!(!after.is_empty() && !before.is_empty(), "the mover sold on both sides of the move");
    assert!(after.iter().all(|d| d.close_date.as_str() >= "2024-01-10"), "{after:?}");
    assert!(before.iter().all(|d| d.close_date.as_str() < "2024-01-10"), "{before:?}");
}

both_backends!(a_random_organisation_audits_clean);
