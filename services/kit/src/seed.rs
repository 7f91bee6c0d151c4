//! Loading an organisation through the public API: units, a plan, its
//! splits and phasing, deals and daily logs. `attain demo` and every
//! service's tests build their data with it, so a fixture is written the
//! way a sales-ops lead would enter it, once.
//!
//! ```ignore
//! let s = Seed::new(target, admin_token).with_tracking(tracking);
//! s.units(&[Unit::new("acme", "", Company, "Acme"), Unit::new("rep-1", "acme", Rep, "Rep 1")]).await?;
//! s.plan(PlanSpec::new("fy2024", "FY2024", "acme", 2024).base("8000000").growth("0.25")).await?;
//! s.split("fy2024", "acme", Split::manual(&[("rep-1", "1000000")])).await?;
//! s.publish("fy2024").await?;
//! s.deals(&[Sale::new("rep-1", "70000", "2024-01-10")]).await?;
//! ```

use anyhow::Context;
use attain_proto::attain::{
    common::v1::Money,
    target::v1::{
        self as tpb, UnitKind, org_service_client::OrgServiceClient, target_service_client::TargetServiceClient,
    },
    tracking::v1::{self as kpb, tracking_service_client::TrackingServiceClient},
};
use tonic::{Request, transport::Channel};

/// Calls made as an ADMIN (the token given), with request ids under a
/// prefix when one is set, so loading twice stores nothing twice.
#[derive(Debug, Clone)]
pub struct Seed {
    target: Channel,
    tracking: Option<Channel>,
    token: String,
    ids: Option<String>,
}

/// A unit to create; `parent` is a bare id ("" for a root).
#[derive(Debug, Clone)]
pub struct Unit {
    pub id: String,
    pub parent: String,
    pub kind: UnitKind,
    pub name: String,
    pub manager: String,
    pub seniority: tpb::Seniority,
    pub maturity: tpb::RegionMaturity,
}

impl Unit {
    pub fn new(id: &str, parent: &str, kind: UnitKind, name: &str) -> Self {
        Self {
            id: id.into(),
            parent: parent.into(),
            kind,
            name: name.into(),
            manager: String::new(),
            seniority: tpb::Seniority::Unspecified,
            maturity: tpb::RegionMaturity::Unspecified,
        }
    }

    pub fn manager(mut self, person: &str) -> Self {
        self.manager = person.into();
        self
    }

    pub fn seniority(mut self, s: tpb::Seniority) -> Self {
        self.seniority = s;
        self
    }

    pub fn maturity(mut self, m: tpb::RegionMaturity) -> Self {
        self.maturity = m;
        self
    }
}

/// A DRAFT plan to create, in CNY unless told otherwise.
#[derive(Debug, Clone)]
pub struct PlanSpec {
    pub id: String,
    pub plan: tpb::Plan,
}

impl PlanSpec {
    pub fn new(id: &str, name: &str, top_unit: &str, fiscal_year: i32) -> Self {
        let plan = tpb::Plan {
            display_name: name.into(),
            top_unit: format!("units/{top_unit}"),
            fiscal_year,
            currency_code: "CNY".into(),
            base_amount: cny("0"),
            ..Default::default()
        };
        Self { id: id.into(), plan }
    }

    /// Last year's actual the top target grows from.
    pub fn base(mut self, amount: &str) -> Self {
        self.plan.base_amount = Some(Money { currency_code: self.plan.currency_code.clone(), amount: amount.into() });
        self
    }

    /// Growth as a fraction (0.25 is +25%).
    pub fn growth(mut self, fraction: &str) -> Self {
        self.plan.growth_rate = fraction.into();
        self
    }

    /// Splits may keep up to `percent` of a target in reserve.
    pub fn reserve(mut self, percent: &str) -> Self {
        self.plan.coverage_policy = Some(tpb::CoveragePolicy {
            mode: tpb::CoverageMode::Reserve as i32,
            max_reserve_percent: percent.into(),
            ..Default::default()
        });
        self
    }

    /// The plan's milestone template: (day of period, cumulative percent).
    pub fn milestones(mut self, items: &[(i32, &str)]) -> Self {
        self.plan.milestone_template =
            items.iter().map(|(d, p)| tpb::Milestone { day_of_period: *d, percent: (*p).into() }).collect();
        self
    }

    pub fn phasing(mut self, method: tpb::PhasingMethod) -> Self {
        self.plan.default_phasing = Some(tpb::PhasingCurve { method: method as i32, ..Default::default() });
        self
    }
}

/// How a target splits over child units.
#[derive(Debug, Clone)]
pub struct Split {
    strategy: tpb::SplitStrategy,
    inputs: Vec<tpb::SplitInput>,
    allocate_percent: String,
    modifiers: Option<tpb::SplitModifiers>,
}

impl Split {
    fn of(strategy: tpb::SplitStrategy, rows: &[(&str, &str)], input: fn(&str) -> tpb::SplitInput) -> Self {
        let inputs = rows.iter().map(|(u, v)| tpb::SplitInput { unit: format!("units/{u}"), ..input(v) }).collect();
        Self { strategy, inputs, allocate_percent: String::new(), modifiers: None }
    }

    /// Amounts named per child.
    pub fn manual(rows: &[(&str, &str)]) -> Self {
        Self::of(tpb::SplitStrategy::Manual, rows, |v| tpb::SplitInput {
            manual_amount: v.into(),
            ..Default::default()
        })
    }

    /// By weight per child.
    pub fn weights(rows: &[(&str, &str)]) -> Self {
        Self::of(tpb::SplitStrategy::Weights, rows, |v| tpb::SplitInput { weight: v.into(), ..Default::default() })
    }

    /// By each child's share of last year's actual.
    pub fn history(rows: &[(&str, &str)]) -> Self {
        Self::of(tpb::SplitStrategy::HistoricalShare, rows, |v| tpb::SplitInput {
            historical_actual: v.into(),
            ..Default::default()
        })
    }

    /// Allocate only this percent of the parent (the rest stays in reserve).
    pub fn allocate(mut self, percent: &str) -> Self {
        self.allocate_percent = percent.into();
        self
    }

    /// New hires get this factor of their share.
    pub fn new_hire_factor(mut self, factor: &str) -> Self {
        self.modifiers = Some(tpb::SplitModifiers { new_hire_factor: factor.into(), ..Default::default() });
        self
    }
}

/// A sale to record.
#[derive(Debug, Clone)]
pub struct Sale {
    pub deal: kpb::Deal,
    pub id: String,
}

impl Sale {
    pub fn new(rep: &str, amount: &str, date: &str) -> Self {
        let deal = kpb::Deal {
            rep: format!("units/{rep}"),
            amount: cny(amount),
            close_date: date.into(),
            ..Default::default()
        };
        Self { deal, id: format!("{rep}-{date}-{amount}") }
    }

    pub fn customer(mut self, name: &str) -> Self {
        self.deal.customer = name.into();
        self
    }

    /// The request id (default: rep, date and amount).
    pub fn id(mut self, id: &str) -> Self {
        self.id = id.into();
        self
    }
}

/// CNY money as the wire carries it.
pub fn cny(amount: &str) -> Option<Money> {
    Some(Money { currency_code: "CNY".into(), amount: amount.into() })
}

impl Seed {
    pub fn new(target: Channel, admin_token: impl Into<String>) -> Self {
        Self { target, tracking: None, token: admin_token.into(), ids: None }
    }

    pub fn with_tracking(mut self, tracking: Channel) -> Self {
        self.tracking = Some(tracking);
        self
    }

    /// Writes carry request ids under `prefix`, so loading again is a replay.
    pub fn request_ids(mut self, prefix: &str) -> Self {
        self.ids = Some(prefix.into());
        self
    }

    fn call<T>(&self, msg: T) -> Request<T> {
        let mut r = Request::new(msg);
        if let Ok(v) = format!("Bearer {}", self.token).parse() {
            r.metadata_mut().insert("authorization", v);
        }
        r
    }

    fn id(&self, what: &str) -> String {
        self.ids.as_ref().map(|p| format!("{p}-{what}")).unwrap_or_default()
    }

    fn org(&self) -> OrgServiceClient<Channel> {
        OrgServiceClient::new(self.target.clone())
    }

    fn targets(&self) -> TargetServiceClient<Channel> {
        TargetServiceClient::new(self.target.clone())
    }

    fn tracking(&self) -> anyhow::Result<TrackingServiceClient<Channel>> {
        let c = self.tracking.clone().context("this seed has no tracking channel (with_tracking)")?;
        Ok(TrackingServiceClient::new(c))
    }

    /// Creates the units in order (parents first).
    pub async fn units(&self, units: &[Unit]) -> anyhow::Result<()> {
        let mut org = self.org();
        for u in units {
            let unit = tpb::Unit {
                parent: if u.parent.is_empty() { String::new() } else { format!("units/{}", u.parent) },
                kind: u.kind as i32,
                display_name: u.name.clone(),
                manager: u.manager.clone(),
                seniority: u.seniority as i32,
                region_maturity: u.maturity as i32,
                ..Default::default()
            };
            let request_id = self.id(&format!("unit-{}", u.id));
            org.create_unit(self.call(tpb::CreateUnitRequest { unit: Some(unit), unit_id: u.id.clone(), request_id }))
                .await
                .with_context(|| format!("creating units/{}", u.id))?;
        }
        Ok(())
    }

    pub async fn plan(&self, p: PlanSpec) -> anyhow::Result<()> {
        let request = tpb::CreatePlanRequest { plan: Some(p.plan), plan_id: p.id.clone(), request_id: self.id("plan") };
        self.targets().create_plan(self.call(request)).await.with_context(|| format!("creating plans/{}", p.id))?;
        Ok(())
    }

    /// Splits `parent`'s whole target (a bare unit id) in plan `plan`.
    pub async fn split(&self, plan: &str, parent: &str, s: Split) -> anyhow::Result<()> {
        let request = tpb::DecomposeTargetRequest {
            parent_target: format!("plans/{plan}/targets/{parent}"),
            strategy: s.strategy as i32,
            inputs: s.inputs,
            allocate_percent: s.allocate_percent,
            modifiers: s.modifiers,
            request_id: self.id(&format!("split-{parent}")),
            ..Default::default()
        };
        self.targets().decompose_target(self.call(request)).await.with_context(|| format!("splitting {parent}"))?;
        Ok(())
    }

    /// Phases a unit's whole target by quarter percentages.
    pub async fn phase_by_quarter(&self, plan: &str, unit: &str, percents: &[&str]) -> anyhow::Result<()> {
        let request = tpb::PhaseTargetRequest {
            target: format!("plans/{plan}/targets/{unit}"),
            phasing: Some(tpb::PhasingCurve {
                method: tpb::PhasingMethod::Profile as i32,
                profile_percents: percents.iter().map(|p| (*p).to_owned()).collect(),
                ..Default::default()
            }),
            request_id: self.id(&format!("phase-{unit}")),
            ..Default::default()
        };
        self.targets().phase_target(self.call(request)).await.with_context(|| format!("phasing {unit}"))?;
        Ok(())
    }

    pub async fn publish(&self, plan: &str) -> anyhow::Result<()> {
        let request = tpb::PublishPlanRequest {
            name: format!("plans/{plan}"),
            request_id: self.id("publish"),
            ..Default::default()
        };
        self.targets().publish_plan(self.call(request)).await.with_context(|| format!("publishing plans/{plan}"))?;
        Ok(())
    }

    /// Records sales in one atomic batch.
    pub async fn deals(&self, sales: &[Sale]) -> anyhow::Result<()> {
        let requests = sales
            .iter()
            .map(|s| kpb::CreateDealRequest {
                deal: Some(s.deal.clone()),
                request_id: self.ids.as_ref().map_or_else(|| s.id.clone(), |p| format!("{p}-deal-{}", s.id)),
            })
            .collect();
        self.tracking()?
            .batch_create_deals(self.call(kpb::BatchCreateDealsRequest { requests }))
            .await
            .context("recording deals")?;
        Ok(())
    }

    /// Records a rep's daily log.
    pub async fn daily_log(&self, log: kpb::DailyLog, id: &str) -> anyhow::Result<()> {
        let request_id = self.ids.as_ref().map_or_else(|| id.to_owned(), |p| format!("{p}-log-{id}"));
        let request = kpb::CreateDailyLogRequest { daily_log: Some(log), request_id };
        self.tracking()?.create_daily_log(self.call(request)).await.context("recording a daily log")?;
        Ok(())
    }
}
