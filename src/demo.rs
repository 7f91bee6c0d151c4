//! `attain demo`: the guide's example loaded into a running suite — plan
//! FY2024 (8,000,000 × 1.25), regions A–D (30/25/20/15 with a 10% reserve),
//! region A's reps by history with a new-hire factor, rep 1 phased by
//! quarter with milestones, a January of deals that trips rep 1's alert,
//! lost deals in a daily log, and region A's open January review.

use std::net::SocketAddr;

use anyhow::Context;
use attain_kit::seed::{PlanSpec, Sale, Seed, Split, Unit, cny};
use attain_proto::attain::{
    common::v1::Period,
    review::v1::{self as rpb, review_service_client::ReviewServiceClient},
    target::v1::{self as tpb, target_service_client::TargetServiceClient},
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use tonic::{Request, transport::Channel};

/// The day the demo's clock stands on: mid-January, the alert's day.
pub const TODAY: (i32, u32, u32) = (2024, 1, 16);

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
    let s = Seed::new(target.clone(), admin_token.clone()).with_tracking(tracking.clone()).request_ids("demo");
    let c = Calls { token: admin_token };
    if TargetServiceClient::new(target).get_plan(c.r(tpb::GetPlanRequest { name: "plans/fy2024".into() })).await.is_ok()
    {
        println!("Demo data already loaded.");
        return Ok(());
    }
    use tpb::{RegionMaturity as M, Seniority as S, UnitKind::*};
    s.units(&[
        Unit::new("acme", "", Company, "Acme 集团").manager("ceo"),
        Unit::new("region-a", "acme", Region, "Region A 华东").manager("wang").maturity(M::Established),
        Unit::new("region-b", "acme", Region, "Region B 华南").manager("li").maturity(M::Established),
        Unit::new("region-c", "acme", Region, "Region C 华北").manager("zhao").maturity(M::Established),
        Unit::new("region-d", "acme", Region, "Region D 西部").manager("qian").maturity(M::New),
        Unit::new("rep-1", "region-a", Rep, "Rep 1 张伟").manager("rep-1").seniority(S::Senior),
        Unit::new("rep-2", "region-a", Rep, "Rep 2 王芳").manager("rep-2").seniority(S::Regular),
        Unit::new("rep-3", "region-a", Rep, "Rep 3 刘洋 (new hire)").manager("rep-3").seniority(S::NewHire),
    ])
    .await?;
    s.plan(
        PlanSpec::new("fy2024", "FY2024 年度业绩目标", "acme", 2024)
            .base("8000000.00")
            .growth("0.25")
            .reserve("10")
            .milestones(&[(5, "20"), (15, "50")]),
    )
    .await?;
    let regions = [("region-a", "30"), ("region-b", "25"), ("region-c", "20"), ("region-d", "15")];
    s.split("fy2024", "acme", Split::weights(&regions).allocate("90")).await?;
    let reps = [("rep-1", "1200000"), ("rep-2", "1000000"), ("rep-3", "1000000")];
    s.split("fy2024", "region-a", Split::history(&reps).new_hire_factor("0.8")).await?;
    s.phase_by_quarter("fy2024", "rep-1", &["25", "29.1666666667", "20.8333333333", "25"]).await?;
    s.publish("fy2024").await?;
    s.deals(&[
        Sale::new("rep-1", "8000.00", "2024-01-03").customer("华为").id("1"),
        Sale::new("rep-1", "12000.00", "2024-01-08").customer("联想").id("2"),
        Sale::new("rep-1", "10000.00", "2024-01-10").customer("小米").id("3"),
        Sale::new("rep-1", "10000.00", "2024-01-15").customer("京东").id("4"),
        Sale::new("rep-2", "46000.00", "2024-01-09").customer("美团").id("5"),
        Sale::new("rep-2", "12000.00", "2024-01-12").customer("滴滴").id("6"),
        Sale::new("rep-3", "21000.00", "2024-01-11").customer("网易").id("7"),
    ])
    .await?;
    let lost = |r: kpb::LossReason, customer: &str, a: &str| kpb::LostDeal {
        customer: customer.into(),
        reason: r as i32,
        detail: String::new(),
        amount: cny(a),
    };
    let log = kpb::DailyLog {
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
    };
    s.daily_log(log, "1").await?;
    let mut k = TrackingServiceClient::new(tracking);
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
