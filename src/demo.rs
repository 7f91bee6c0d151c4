//! `attain demo`: the guide's example loaded into a running suite — plan
//! FY2024 (8,000,000 × 1.25), regions A–D (30/25/20/15 with a 10% reserve),
//! region A's reps by history with a new-hire factor, rep 1 phased by
//! quarter with milestones, a January of deals that trips rep 1's alert,
//! lost deals in a daily log, and region A's open January review.

use std::net::SocketAddr;

use anyhow::Context;
use attain_proto::attain::{
    common::v1::{Money, Period},
    review::v1::{self as rpb, review_service_client::ReviewServiceClient},
    target::v1::{self as tpb, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use tonic::{Request, transport::Channel};

/// The day the demo's clock stands on: mid-January, the alert's day.
pub const TODAY: (i32, u32, u32) = (2024, 1, 16);

fn cny(a: &str) -> Option<Money> {
    Some(Money { currency_code: "CNY".into(), amount: a.into() })
}

struct Calls {
    token: String,
}

impl Calls {
    fn r<T>(&self, msg: T) -> Request<T> {
        let mut r = Request::new(msg);
        if let Ok(v) = format!("Bearer {}", self.token).parse() {
            r.metadata_mut().insert("authorization", v);
        }
        r
    }
}

async fn channel(addr: SocketAddr) -> anyhow::Result<Channel> {
    Ok(Channel::from_shared(format!("http://{addr}"))?.connect().await?)
}

/// Loads the example unless the data directory already holds it.
pub async fn seed(
    target: SocketAddr,
    tracking: SocketAddr,
    review: SocketAddr,
    admin_token: String,
) -> anyhow::Result<()> {
    seed_with(channel(target).await?, channel(tracking).await?, channel(review).await?, admin_token).await
}

/// [`seed`] over given channels (the gateway's, which forwards every
/// service's API, will do for all three).
pub async fn seed_with(target: Channel, tracking: Channel, review: Channel, admin_token: String) -> anyhow::Result<()> {
    let c = Calls { token: admin_token };
    let mut t = TargetServiceClient::new(target.clone());
    if t.get_plan(c.r(tpb::GetPlanRequest { name: "plans/fy2024".into() })).await.is_ok() {
        println!("Demo data already loaded.");
        return Ok(());
    }
    let mut org = OrgServiceClient::new(target);
    let units = [
        ("acme", "", tpb::UnitKind::Company, "Acme 集团", "ceo", 0, 0),
        ("region-a", "units/acme", tpb::UnitKind::Region, "Region A 华东", "wang", 0, 1),
        ("region-b", "units/acme", tpb::UnitKind::Region, "Region B 华南", "li", 0, 1),
        ("region-c", "units/acme", tpb::UnitKind::Region, "Region C 华北", "zhao", 0, 1),
        ("region-d", "units/acme", tpb::UnitKind::Region, "Region D 西部", "qian", 0, 2),
        ("rep-1", "units/region-a", tpb::UnitKind::Rep, "Rep 1 张伟", "rep-1", 1, 0),
        ("rep-2", "units/region-a", tpb::UnitKind::Rep, "Rep 2 王芳", "rep-2", 2, 0),
        ("rep-3", "units/region-a", tpb::UnitKind::Rep, "Rep 3 刘洋 (new hire)", "rep-3", 3, 0),
    ];
    for (id, parent, kind, name, manager, seniority, maturity) in units {
        let unit = tpb::Unit {
            parent: parent.into(),
            kind: kind as i32,
            display_name: name.into(),
            manager: manager.into(),
            seniority,
            region_maturity: maturity,
            ..Default::default()
        };
        org.create_unit(c.r(tpb::CreateUnitRequest {
            unit: Some(unit),
            unit_id: id.into(),
            request_id: format!("demo-unit-{id}"),
        }))
        .await
        .with_context(|| format!("creating {id}"))?;
    }
    t.create_plan(c.r(tpb::CreatePlanRequest {
        plan: Some(tpb::Plan {
            display_name: "FY2024 年度业绩目标".into(),
            top_unit: "units/acme".into(),
            fiscal_year: 2024,
            currency_code: "CNY".into(),
            base_amount: cny("8000000.00"),
            growth_rate: "0.25".into(),
            coverage_policy: Some(tpb::CoveragePolicy {
                mode: tpb::CoverageMode::Reserve as i32,
                max_reserve_percent: "10".into(),
                ..Default::default()
            }),
            milestone_template: vec![
                tpb::Milestone { day_of_period: 5, percent: "20".into() },
                tpb::Milestone { day_of_period: 15, percent: "50".into() },
            ],
            ..Default::default()
        }),
        plan_id: "fy2024".into(),
        request_id: "demo-plan".into(),
    }))
    .await
    .context("creating the plan")?;
    let weight =
        |u: &str, w: &str| tpb::SplitInput { unit: format!("units/{u}"), weight: w.into(), ..Default::default() };
    t.decompose_target(c.r(tpb::DecomposeTargetRequest {
        parent_target: "plans/fy2024/targets/acme".into(),
        strategy: tpb::SplitStrategy::Weights as i32,
        inputs: vec![
            weight("region-a", "30"),
            weight("region-b", "25"),
            weight("region-c", "20"),
            weight("region-d", "15"),
        ],
        allocate_percent: "90".into(),
        request_id: "demo-split-regions".into(),
        ..Default::default()
    }))
    .await
    .context("splitting to regions")?;
    let history = |u: &str, a: &str| tpb::SplitInput {
        unit: format!("units/{u}"),
        historical_actual: a.into(),
        ..Default::default()
    };
    t.decompose_target(c.r(tpb::DecomposeTargetRequest {
        parent_target: "plans/fy2024/targets/region-a".into(),
        strategy: tpb::SplitStrategy::HistoricalShare as i32,
        inputs: vec![history("rep-1", "1200000"), history("rep-2", "1000000"), history("rep-3", "1000000")],
        modifiers: Some(tpb::SplitModifiers { new_hire_factor: "0.8".into(), ..Default::default() }),
        request_id: "demo-split-reps".into(),
        ..Default::default()
    }))
    .await
    .context("splitting region A")?;
    t.phase_target(c.r(tpb::PhaseTargetRequest {
        target: "plans/fy2024/targets/rep-1".into(),
        phasing: Some(tpb::PhasingCurve {
            method: tpb::PhasingMethod::Profile as i32,
            profile_percents: vec!["25".into(), "29.1666666667".into(), "20.8333333333".into(), "25".into()],
            ..Default::default()
        }),
        request_id: "demo-phase".into(),
        ..Default::default()
    }))
    .await
    .context("phasing rep 1")?;
    t.publish_plan(c.r(tpb::PublishPlanRequest {
        name: "plans/fy2024".into(),
        request_id: "demo-publish".into(),
        ..Default::default()
    }))
    .await
    .context("publishing")?;

    let mut k = TrackingServiceClient::new(tracking);
    let sale = |rep: &str, amount: &str, date: &str, customer: &str, id: &str| kpb::CreateDealRequest {
        deal: Some(kpb::Deal {
            rep: format!("units/{rep}"),
            amount: cny(amount),
            close_date: date.into(),
            customer: customer.into(),
            ..Default::default()
        }),
        request_id: format!("demo-deal-{id}"),
    };
    let requests = vec![
        sale("rep-1", "8000.00", "2024-01-03", "华为", "1"),
        sale("rep-1", "12000.00", "2024-01-08", "联想", "2"),
        sale("rep-1", "10000.00", "2024-01-10", "小米", "3"),
        sale("rep-1", "10000.00", "2024-01-15", "京东", "4"),
        sale("rep-2", "46000.00", "2024-01-09", "美团", "5"),
        sale("rep-2", "12000.00", "2024-01-12", "滴滴", "6"),
        sale("rep-3", "21000.00", "2024-01-11", "网易", "7"),
    ];
    k.batch_create_deals(c.r(kpb::BatchCreateDealsRequest { requests })).await.context("recording January's deals")?;
    let lost = |r: kpb::LossReason, customer: &str, a: &str| kpb::LostDeal {
        customer: customer.into(),
        reason: r as i32,
        detail: String::new(),
        amount: cny(a),
    };
    k.create_daily_log(c.r(kpb::CreateDailyLogRequest {
        daily_log: Some(kpb::DailyLog {
            rep: "units/rep-1".into(),
            log_date: "2024-01-12".into(),
            follow_ups: vec![kpb::FollowUp {
                customer: "百度".into(),
                stage: "报价".into(),
                next_step: "周一电话跟进".into(),
            }],
            lost_deals: vec![
                lost(kpb::LossReason::Price, "阿里", "15000"),
                lost(kpb::LossReason::Competitor, "腾讯", "9000"),
            ],
            notes: "两单因价格流失".into(),
            ..Default::default()
        }),
        request_id: "demo-log-1".into(),
    }))
    .await
    .context("recording a daily log")?;
    k.evaluate_alerts(c.r(kpb::EvaluateAlertsRequest { unit: "units/acme".into(), ..Default::default() }))
        .await
        .context("evaluating alerts")?;

    let mut r = ReviewServiceClient::new(review);
    r.create_review(c.r(rpb::CreateReviewRequest {
        review: Some(rpb::Review {
            unit: "units/region-a".into(),
            period: Some(Period { expression: "2024-01".into(), ..Default::default() }),
            cadence: rpb::Cadence::Monthly as i32,
            ..Default::default()
        }),
        request_id: "demo-review".into(),
    }))
    .await
    .context("opening region A's January review")?;
    println!(
        "Demo data loaded: plan FY2024, regions A–D, region A's reps, January's deals (rep 1 is RED), region A's January review."
    );
    Ok(())
}
