//! A unit's dashboard figures in one use case: the unit and the plans are
//! read once, the sections run side by side, and the gap to target reuses
//! the unit's expected-to-date from its drill-down. Read one RPC a section,
//! the same dashboard asked the target service for the unit six times, the
//! plans three and the expectations three.

use attain_kit::{ServiceError, ServiceResult, auth::Identity, metric::Metric, money::Amount, upstream::Forwarded};

use super::{
    App,
    gap::GapReport,
    measure::{Ask, BurnUp, Measured, Reading},
};
use crate::domain::{
    activity::LossReason,
    alert::{Alert, AlertSummary, State},
    cadence::Compliance,
    deal::Dimensions,
};
use attain_kit::period::Period;

/// Open alerts a dashboard lists in full (a page of ListAlerts), and in
/// its summary.
pub const OPEN_ALERTS: u64 = 100;
const SUMMARY_FIRST: u64 = 5;
/// Loss reasons a dashboard shows.
const TOP_LOSSES: usize = 3;

/// The sections asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sections {
    pub attainment: bool,
    pub burn_up: bool,
    pub gap_attribution: bool,
    pub open_alerts: bool,
    pub alert_summary: bool,
    pub loss_reasons: bool,
    pub compliance: bool,
}

impl Sections {
    pub const ALL: Self = Self {
        attainment: true,
        burn_up: true,
        gap_attribution: true,
        open_alerts: true,
        alert_summary: true,
        loss_reasons: true,
        compliance: true,
    };
}

/// What the sections brought back (None: not asked for).
#[derive(Debug, Clone)]
pub struct DashboardFigures {
    pub reading: Reading,
    pub drill_down: Option<(Measured, Vec<(Period, Measured)>)>,
    pub burn_up: Option<BurnUp>,
    pub gap: Option<GapReport>,
    pub open_alerts: Option<Vec<Alert>>,
    pub alert_summary: Option<AlertSummary>,
    pub loss_reasons: Option<Vec<(LossReason, i64, Amount)>>,
    /// The subtree's reporting obligations in the period so far.
    pub compliance: Option<Compliance>,
    /// What the alerts shown are measured in (from the plans read here).
    pub currencies: super::alerts::Currencies,
}

/// A section's read when asked for.
async fn when<T>(asked: bool, read: impl Future<Output = ServiceResult<T>>) -> ServiceResult<Option<T>> {
    if asked { read.await.map(Some) } else { Ok(None) }
}

impl App {
    pub async fn dashboard(
        &self,
        (who, fwd): (&Identity, &Forwarded),
        ask: Ask,
        plan: Option<&str>,
        want: Sections,
    ) -> ServiceResult<DashboardFigures> {
        // Readable for some days of the period (`reading_in` keeps those).
        let (unit, plans) = tokio::try_join!(self.target.unit(fwd, &ask.unit), self.target.plans(fwd))?;
        let plans = match plan {
            Some(name) => super::measure::with_named_plan(plans, name, &unit, ask.metric)?,
            None => plans,
        };
        let as_of = ask.as_of;
        // The metric's plan for what measures it; the sections that do not
        // (alerts, losses, the gap) read the period through the amount plan
        // and need no plan of the metric asked.
        let metric = if want.attainment || want.burn_up { ask.metric } else { Metric::Amount };
        let asked = (ask.metric, ask.period.clone());
        let reading = self.reading_in(who, unit, &plans, Ask { dims: Dimensions::default(), metric, ..ask })?;
        // A plan named for another year would have the period answered by
        // the plan that covers it, as if named.
        if let Some(name) = plan
            && metric == asked.0
            && reading.plan.name != name
        {
            return Err(ServiceError::invalid("plan", format!("{name} does not cover {}", asked.1)));
        }
        let unit = &reading.unit;
        let (drill_down, burn_up, open_alerts, alert_summary, loss_reasons, compliance) = tokio::try_join!(
            when(want.attainment, self.drill_down(fwd, &reading)),
            when(want.burn_up, self.burn_up(fwd, reading.clone())),
            // One more than shown: the caller learns whether there are more.
            when(want.open_alerts, self.list_alerts(unit, Some(State::Open), None, None, OPEN_ALERTS + 1)),
            when(want.alert_summary, self.summarize_alerts(unit, Some(State::Open), SUMMARY_FIRST)),
            when(want.loss_reasons, self.loss_reasons_of(&unit.id, &reading.period, TOP_LOSSES)),
            when(want.compliance, self.compliance(who, fwd, unit, &plans, &reading.period)),
        )?;
        // The gap is of the amount plan over the days read: the
        // drill-down's expectation serves when it read that plan.
        let by_curve = drill_down
            .as_ref()
            .filter(|_| reading.plan.metric == Metric::Amount)
            .map(|(unit, _)| unit.expected.by_curve);
        let days = &reading.period.expression;
        let gap = match when(want.gap_attribution, self.gap_in(fwd, (unit, &plans), days, as_of, by_curve)).await {
            // Nothing to attribute yet: the other sections still show.
            Err(ServiceError::FailedPrecondition { reason: "PERIOD_NOT_STARTED", .. }) => None,
            other => other?,
        };
        let currencies = super::alerts::Currencies::new(plans);
        Ok(DashboardFigures {
            reading,
            drill_down,
            burn_up,
            gap,
            open_alerts,
            alert_summary,
            loss_reasons,
            compliance,
            currencies,
        })
    }

    async fn compliance(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        unit: &attain_target_client::UnitInfo,
        plans: &[attain_target_client::PlanInfo],
        period: &Period,
    ) -> ServiceResult<Compliance> {
        // Kept per subtree, period, plans and what the caller may read.
        let names: Vec<&str> = plans.iter().map(|p| p.name.as_str()).collect();
        let key = format!("{}|{}|{}|{:?}|{}", unit.id.as_str(), period.expression, names.join(","), who.role, who.unit);
        if let Some(c) = self.compliance.get(&key) {
            return Ok(c);
        }
        let _turn = self.compliance.turn(&key).await;
        if let Some(c) = self.compliance.get(&key) {
            return Ok(c);
        }
        let writes = self.compliance.writes();
        let units = self.target.subtree_with_former(fwd, &unit.id).await?;
        let keep = super::cadence::in_subtree(who, &unit.id);
        let (c, good_for) = self.compliance_of(plans, &units, period, keep).await?;
        self.compliance.put(key, writes, good_for, c);
        Ok(c)
    }
}
