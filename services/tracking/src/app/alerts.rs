//! The alert engine: rules applied to measured units move each unit's live
//! alerts (one per unit, period, rule and metric); a pass writes in one
//! transaction; changes reach watchers through the database's change feed,
//! so every replica's watchers see every replica's writes.

use std::collections::{BTreeMap, HashMap};

use attain_kit::{
    ServiceError, ServiceResult,
    auth::{Identity, Role},
    calendar::WorkingCalendar,
    id::Id,
    metric::Metric,
    money::Amount,
    period::{Granularity, Period},
    scope::reveal,
    upstream::Forwarded,
};
use attain_target_client::{PlanInfo, UnitInfo, UnitKind};
use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::{
    App,
    measure::{Measured, plan_and_period_in},
};
use crate::{
    domain::{
        alert::{
            Action, Alert, AlertSummary, Finding, Policy, Rule, State, decide, escalation_level, overdue,
            pace_severity, staleness,
        },
        attainment::{Status as Colour, Thresholds, ratio_text},
        deal::Dimensions,
    },
    storage::{alerts, daily_logs, review_closes, rollups},
};

/// How often a change without an etag is re-read after losing a race.
const UNCONDITIONAL_ATTEMPTS: u32 = 5;

/// A pass's write for one alert: a new one, or the next version of a
/// stored one (its `version` one above the stored row's).
enum Write {
    Open(Alert),
    Update(Alert),
}

/// One rule's outcome for a unit: the write, and the alert live after it.
struct Step {
    write: Option<Write>,
    live: Option<Alert>,
}

/// What the rules say about one measured unit. `live` holds the unit's
/// live alerts by rule (for hysteresis); `last_activity` its last deal or
/// log day when it is a rep.
fn findings(
    m: &Measured,
    thresholds: Thresholds,
    policy: Policy,
    live: &HashMap<Rule, Alert>,
    (stale, last): (Option<(Colour, u32, String)>, Option<NaiveDate>),
    missed: Option<&[(&'static str, String)]>,
) -> Vec<Finding> {
    let actual = m.actual.amount;
    let live_pace = live.get(&Rule::BehindPace).map(|a| a.severity);
    let pace = pace_severity(actual.decimal(), m.expected.by_curve.decimal(), thresholds, policy.hysteresis, live_pace)
        .map(|s| {
            (
                s,
                format!(
                    "{} of {} expected by now ({} of target {})",
                    actual,
                    m.expected.by_curve,
                    ratio_text(m.figures.attainment_rate),
                    m.expected.period_target
                ),
            )
        });
    let milestone = (m.expected.milestone_in_force && actual < m.expected.by_milestone)
        .then(|| (Colour::Red, format!("{} is below the milestone in force ({})", actual, m.expected.by_milestone)));
    let mut out = vec![
        Finding { rule: Rule::BehindPace, firing: pace, actual, expected: m.expected.by_curve, settled: None },
        Finding {
            rule: Rule::MissedMilestone,
            firing: milestone,
            actual,
            expected: m.expected.by_milestone,
            settled: None,
        },
    ];
    if m.unit.is_rep && policy.stale_after > 0 {
        let firing =
            stale.map(|(s, days, since)| (s, format!("no deal or daily log since {since} ({days} working days)")));
        // What settled it: activity on a day; without any, the rep's
        // working days ending or a changed rule (a move does not).
        let settled = match last {
            Some(d) => format!("activity again: a deal or a daily log on {d}"),
            None => {
                "no longer counted (its working days ended, or the rule changed); no deal or daily log yet".to_owned()
            }
        };
        out.push(Finding {
            rule: Rule::StaleData,
            firing,
            actual,
            expected: m.expected.by_curve,
            settled: Some(settled),
        });
    }
    if let Some(missed) = missed {
        // Reports are not about the figures: none are carried.
        out.push(Finding {
            rule: Rule::ReportOverdue,
            firing: overdue(missed),
            actual: Amount::ZERO,
            expected: Amount::ZERO,
            settled: None,
        });
    }
    out
}

/// Moves one rule's alert for a unit as the finding says, in memory:
/// the write it needs (if any) and the alert live afterwards.
fn apply(
    m: &Measured,
    (metric, period): (Metric, &str),
    (day, now): (NaiveDate, DateTime<Utc>),
    f: &Finding,
    live: Option<&Alert>,
) -> Step {
    match decide(f, live) {
        Action::Nothing => Step { write: None, live: live.cloned() },
        Action::Open { severity, message } => {
            let a = Alert {
                id: Id::generate(),
                unit: m.unit.id.clone(),
                unit_path: m.unit.path.clone(),
                period: period.to_owned(),
                rule: f.rule,
                state: State::Open,
                severity,
                message,
                actual: f.actual,
                expected: f.expected,
                acknowledged_by: String::new(),
                open_time: now,
                acknowledge_time: None,
                resolve_time: None,
                opened_on: Some(day),
                escalation_level: 0,
                escalated_to: None,
                escalate_time: None,
                metric,
                version: 1,
            };
            Step { write: Some(Write::Open(a.clone())), live: Some(a) }
        }
        Action::Update { severity, message } => {
            let Some(old) = live else { return Step { write: None, live: None } };
            let mut a = old.clone();
            a.severity = severity;
            a.message = message;
            a.actual = f.actual;
            a.expected = f.expected;
            a.version = old.version + 1;
            Step { write: Some(Write::Update(a.clone())), live: Some(a) }
        }
        Action::Resolve => {
            let Some(old) = live else { return Step { write: None, live: None } };
            let mut a = old.clone();
            a.state = State::Resolved;
            // The figures its message states (the expected one too: it was
            // left at the last update's, as tried from outside).
            a.actual = f.actual;
            a.expected = f.expected;
            a.message = match (&f.settled, f.rule) {
                (Some(why), _) => why.clone(),
                (None, Rule::ReportOverdue) => "every report is in".to_owned(),
                (None, _) => format!("recovered: {} against {} expected", f.actual, f.expected),
            };
            a.resolve_time = Some(now);
            a.version = old.version + 1;
            Step { write: Some(Write::Update(a)), live: None }
        }
    }
}

/// The currency figures are in: the plan's that measured them (a count
/// plan's is XXX). Built from one read of the plans.
#[derive(Debug, Clone, Default)]
pub struct Currencies(Vec<PlanInfo>);

impl Currencies {
    pub fn new(plans: Vec<PlanInfo>) -> Self {
        Self(plans)
    }

    /// What an alert's actual and expected are in, and its period's days
    /// (the plan's fiscal calendar reads its expression).
    pub fn of(&self, a: &Alert) -> Option<(attain_kit::money::CurrencyCode, Period)> {
        self.in_plan(&a.unit_path, a.metric, &a.period)
    }

    /// Money of a unit's period (sales, losses): the amount plan's.
    pub fn of_amounts(&self, path: &[Id], period: &str) -> Option<attain_kit::money::CurrencyCode> {
        self.in_plan(path, Metric::Amount, period).map(|(c, _)| c)
    }

    fn in_plan(&self, path: &[Id], metric: Metric, period: &str) -> Option<(attain_kit::money::CurrencyCode, Period)> {
        attain_target_client::plan_for_period(&self.0, path, metric, "period", period)
            .ok()
            .map(|(p, d)| (p.currency, d))
    }
}

impl App {
    /// What the alerts about to be shown are measured in.
    pub async fn alert_currencies(&self, fwd: &Forwarded) -> ServiceResult<Currencies> {
        Ok(Currencies::new(self.target.plans(fwd).await?))
    }
    /// Tells the evaluator and watchers a write committed (the evaluator
    /// reads what moved from the roll-up feed): the write itself does no
    /// alert work.
    pub fn after_ingestion(&self) {
        self.feeds.bump();
    }

    /// Evaluates the units on the booked paths (root first, ending at
    /// reps) for the current month, per organisation. Deals move amounts,
    /// deals won and new customers; visits come from logs and wait for the
    /// schedule.
    pub(crate) async fn evaluate_moved(&self, fwd: &Forwarded, paths: Vec<Vec<Id>>) -> ServiceResult<()> {
        let reps: std::collections::HashSet<Id> = paths.iter().filter_map(|p| p.last().cloned()).collect();
        // Per root, each unit once with its path.
        let mut orgs: BTreeMap<Id, BTreeMap<Id, Vec<Id>>> = BTreeMap::new();
        for path in paths {
            let Some(root) = path.first().cloned() else { continue };
            let units = orgs.entry(root).or_default();
            for i in 0..path.len() {
                units.entry(path[i].clone()).or_insert_with(|| path[..=i].to_vec());
            }
        }
        if orgs.is_empty() {
            return Ok(());
        }
        // Where each rep sat before (one call): a rep that came to its
        // place this month is measured over its stay.
        let rep_ids: Vec<Id> = reps.iter().cloned().collect();
        let former: HashMap<Id, Vec<(NaiveDate, Vec<Id>)>> = match self.target.units(fwd, &rep_ids).await {
            Ok(units) => units.into_iter().map(|u| (u.id, u.former)).collect(),
            // A rep gone meanwhile: the pass goes on, its stay unknown.
            Err(e) if about_the_data(&e) => HashMap::new(),
            Err(e) => return Err(e),
        };
        for units in orgs.into_values() {
            let units: Vec<UnitInfo> = units
                .into_iter()
                .map(|(id, path)| UnitInfo {
                    is_rep: reps.contains(&id),
                    // Not read whole (no start date): reports wait for
                    // the scheduled pass.
                    kind: UnitKind::Unknown,
                    former: former.get(&id).cloned().unwrap_or_default(),
                    id,
                    parent: None,
                    display_name: String::new(),
                    path,
                    start_date: None,
                    end_date: None,
                    employee_code: None,
                })
                .collect();
            self.evaluate_this_month(fwd, units).await?;
        }
        Ok(())
    }

    /// The alerts of a unit that moved, over its days where it sits now
    /// (the move's re-booking moved them with it, measured whole).
    pub(crate) async fn evaluate_moved_unit(&self, fwd: &Forwarded, id: &Id) -> ServiceResult<()> {
        let unit = match self.target.unit(fwd, id).await {
            Ok(u) => u,
            Err(e) if about_the_data(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        self.evaluate_this_month(fwd, vec![unit]).await
    }

    /// Every metric's alerts of `units` (one organisation) for the current
    /// month.
    async fn evaluate_this_month(&self, fwd: &Forwarded, units: Vec<UnitInfo>) -> ServiceResult<()> {
        let today = self.today();
        let month = Period::month_of(today);
        let plans = self.target.plans(fwd).await?;
        for metric in [Metric::Amount, Metric::DealsWon, Metric::NewCustomers] {
            match self.evaluate(fwd, &plans, units.clone(), metric, &month.expression, today).await {
                Ok(_) => {}
                // No plan of that metric: nothing to alert on.
                Err(ServiceError::FailedPrecondition { reason: "NO_PLAN", .. }) if metric.is_count() => {}
                // The data's fault (no plan covers the month, a unit
                // gone): retrying would not help; the rest goes on.
                Err(e) if about_the_data(&e) => {
                    tracing::warn!(error = %e, metric = metric.as_str(), "alert evaluation of moved units skipped")
                }
                // Passing, or the caller refused: the whole pass again.
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Applies the rules to each unit and moves its alerts accordingly;
    /// returns the alerts that changed.
    pub async fn evaluate(
        &self,
        fwd: &Forwarded,
        plans: &[PlanInfo],
        units: Vec<UnitInfo>,
        metric: Metric,
        period_expr: &str,
        day: NaiveDate,
    ) -> ServiceResult<Vec<Alert>> {
        let Some(first) = units.first() else { return Ok(Vec::new()) };
        let (plan, period) = plan_and_period_in(plans, &first.path, period_expr, metric)?;
        // A unit that came to its place during the period is measured over
        // its days there (its stay): its alerts are its managers' now, and
        // tell them nothing of its days elsewhere (DESIGN §3 Org tree).
        let mut stays: Vec<(Period, Vec<UnitInfo>)> = Vec::new();
        for u in units {
            let stay = current_stay(&u, &period)?;
            match stays.iter_mut().find(|(p, _)| *p == stay) {
                Some((_, group)) => group.push(u),
                None => stays.push((stay, vec![u])),
            }
        }
        let policy = self.alerts;
        let reps: Vec<Id> = stays.iter().flat_map(|(_, g)| g).filter(|u| u.is_rep).map(|u| u.id.clone()).collect();
        // Staleness is about people, not a metric: the amount plan owns it.
        // Read beside the figures (a pass waited for one, then the other).
        let last_activity = async {
            if reps.is_empty() || policy.stale_after == 0 || metric.is_count() {
                Ok(HashMap::new())
            } else {
                self.last_activity(&reps, day).await
            }
        };
        let measuring = async {
            let mut measured: Vec<Measured> = Vec::new();
            let mut missed: HashMap<Id, Vec<(&'static str, String)>> = HashMap::new();
            let mut thresholds = None;
            for (stay, group) in stays {
                let (m, t) = self.measure(fwd, group, &plan, &stay, day, &Dimensions::default()).await?;
                // Reports owed are a month's (the scheduled pass's period): a
                // week's, a quarter's or a year's pass would open alerts for
                // the same reports that no scheduled pass ever resolves.
                if !metric.is_count() && period.granularity == Granularity::Month {
                    missed.extend(self.missed_reports(plans, &m, &stay, day).await?);
                }
                thresholds = Some(t);
                measured.extend(m);
            }
            Ok::<_, ServiceError>((measured, missed, thresholds))
        };
        let ((measured, missed, thresholds), last_activity) = tokio::try_join!(measuring, last_activity)?;
        let Some(thresholds) = thresholds else { return Ok(Vec::new()) };
        const RULES: [Rule; 4] = Rule::ALL;
        // Stamped on the organisation's clock (a demo's fixed one too).
        let now = self.now();
        let ids: Vec<Id> = measured.iter().map(|m| m.unit.id.clone()).collect();
        // One transaction for the pass's writes: one commit (and WAL flush)
        // instead of two per alert. Written in unit id order, so concurrent
        // passes (ingestion, the schedule) lock alerts in the same order.
        let txn = attain_kit::db::begin_write(&self.db).await?;
        let mut all_live = alerts::live_many(&txn, &ids, &period.expression, &RULES, metric).await?;
        let mut in_order: Vec<&Measured> = measured.iter().collect();
        in_order.sort_by(|a, b| a.unit.id.cmp(&b.unit.id));
        let mut opens = Vec::new();
        let mut updates = Vec::new();
        for m in in_order {
            let live: HashMap<Rule, Alert> =
                RULES.iter().filter_map(|r| all_live.remove(&(m.unit.id.clone(), *r)).map(|a| (*r, a))).collect();
            let last = last_activity.get(&m.unit.id).copied();
            // Counted over the rep's working life only: from its start (a
            // new hire is not idle before joining), to its last day. Not
            // over its stay: staleness is about the person, and a move is
            // no activity (as tried from outside: an idle rep's alert was
            // resolved as "activity again" by its move).
            let from = m.unit.start_date.map_or(period.start, |s| s.max(period.start));
            let to = m.unit.end_date.map_or(day, |e| e.min(day));
            let stale = (from <= to)
                .then(|| staleness(&plan.calendar, last, from, to, policy.stale_after))
                .flatten()
                .map(|(s, n)| {
                    let since = match last {
                        Some(d) => d.to_string(),
                        None if from > period.start => format!("starting on {from}"),
                        None => "the period began".to_owned(),
                    };
                    (s, n, since)
                });
            let stale = (stale, last);
            let policy = if metric.is_count() { Policy { stale_after: 0, ..policy } } else { policy };
            let missed = missed.get(&m.unit.id).map(Vec::as_slice);
            for f in findings(m, thresholds, policy, &live, stale, missed) {
                let step = apply(m, (metric, &period.expression), (day, now), &f, live.get(&f.rule));
                match self.escalate(step, &plan.calendar, day) {
                    Some(Write::Open(a)) => opens.push(a),
                    Some(Write::Update(a)) => updates.push(a),
                    None => {}
                }
            }
        }
        // Set-based: a statement per few hundred alerts, not two per alert.
        // An open another replica beat us to, or an update whose version
        // moved meanwhile, is skipped (and is not reported as changed).
        let mut changed = alerts::insert_many(&txn, &opens).await?;
        changed.extend(alerts::update_many(&txn, &updates).await?);
        let rank = |r: Rule| RULES.iter().position(|x| *x == r);
        changed.sort_by(|a, b| a.unit.cmp(&b.unit).then(rank(a.rule).cmp(&rank(b.rule))));
        txn.commit().await?;
        if !changed.is_empty() {
            self.feeds.bump();
        }
        Ok(changed)
    }

    /// Sends an alert left OPEN too long one manager up per
    /// `escalate_after` working days (up to the root), as a change every
    /// watcher of the manager's subtree sees. Folded into the step's own
    /// write: one version and one event per alert and pass.
    fn escalate(&self, step: Step, cal: &WorkingCalendar, day: NaiveDate) -> Option<Write> {
        let Some(a) = step.live else { return step.write };
        if a.state != State::Open || self.alerts.escalate_after == 0 {
            return step.write;
        }
        let opened_on = a.opened_on.unwrap_or_else(|| a.open_time.date_naive());
        let above = u32::try_from(a.unit_path.len().saturating_sub(1)).unwrap_or(0);
        let level = escalation_level(cal, opened_on, day, self.alerts.escalate_after, above);
        if level <= a.escalation_level {
            return step.write;
        }
        let to = usize::try_from(level).ok().and_then(|l| a.unit_path.len().checked_sub(1 + l));
        let Some(to) = to.and_then(|i| a.unit_path.get(i)).cloned() else { return step.write };
        let mut next = a;
        next.escalation_level = level;
        next.escalated_to = Some(to);
        next.escalate_time = Some(self.now());
        Some(match step.write {
            // Opened this pass: escalates with its first write.
            Some(Write::Open(_)) => Write::Open(next),
            // Already one version on from the stored alert.
            Some(Write::Update(_)) => Write::Update(next),
            None => {
                next.version += 1;
                Write::Update(next)
            }
        })
    }

    /// The reports each rep and team has missed in the period so far
    /// (kind and period, oldest first; none: an empty list). Only units
    /// read whole from the target service (kind and start date known) are
    /// judged: the others' overdue alerts are left as they stand. Reports
    /// are about people, so the amount plan's pass owns them.
    async fn missed_reports(
        &self,
        plans: &[PlanInfo],
        measured: &[Measured],
        period: &Period,
        day: NaiveDate,
    ) -> ServiceResult<HashMap<Id, Vec<(&'static str, String)>>> {
        let known: Vec<UnitInfo> = measured
            .iter()
            .filter(|m| matches!(m.unit.kind, UnitKind::Rep | UnitKind::Team | UnitKind::Region))
            .map(|m| m.unit.clone())
            .collect();
        if known.is_empty() {
            return Ok(HashMap::new());
        }
        let mut out: HashMap<Id, Vec<(&'static str, String)>> =
            known.iter().map(|u| (u.id.clone(), Vec::new())).collect();
        let (regions, people): (Vec<UnitInfo>, Vec<UnitInfo>) =
            known.into_iter().partition(|u| u.kind == UnitKind::Region);
        let as_of = self.as_of(day);
        let mut rows = self.obligations_of(plans, people, period.clone(), as_of, |_, _| true).await?.rows;
        rows.extend(self.last_months_reviews(plans, &regions, period, as_of).await?);
        rows.sort_by_key(|o| o.due);
        for o in rows.into_iter().filter(|o| o.status == crate::domain::cadence::Status::Missed) {
            out.entry(o.unit.clone()).or_default().push((o.kind.label(), o.period()));
        }
        Ok(out)
    }

    /// Each region's review of the month before `period` (due in it, by
    /// `cadence.monthly_review_day`), as the review service reported its
    /// closes; a month no plan covers owes none.
    async fn last_months_reviews(
        &self,
        plans: &[PlanInfo],
        regions: &[UnitInfo],
        period: &Period,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<crate::domain::cadence::Obligation>> {
        use crate::domain::cadence::{Life, monthly_reviews};
        let Some(first) = period.start.pred_opt().and_then(|d| d.with_day(1)) else { return Ok(Vec::new()) };
        let month = first.format("%Y-%m").to_string();
        let ids: Vec<Id> = regions.iter().map(|u| u.id.clone()).collect();
        let closed = review_closes::closed(&self.db, &ids, std::slice::from_ref(&month)).await?;
        let mut out = Vec::new();
        for u in regions.iter().filter(|u| attain_target_client::plan_for(plans, &u.path, first).is_some()) {
            let met: HashMap<NaiveDate, DateTime<Utc>> =
                closed.get(&(u.id.clone(), month.clone())).map(|t| (first, *t)).into_iter().collect();
            let cal = attain_target_client::calendar_for(plans, &u.path, first);
            let life = Life { start: u.start_date, end: u.end_date };
            out.extend(monthly_reviews(&self.cadence, &cal, &u.id, life, (first, first), &met, now));
        }
        Ok(out)
    }

    /// Records that a region's review of a month was closed (the review
    /// service's report); whether it was new. Service accounts only.
    pub async fn record_review_close(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        unit: &Id,
        month: &str,
        at: DateTime<Utc>,
    ) -> ServiceResult<bool> {
        if !who.is_admin() {
            return Err(ServiceError::PermissionDenied(
                "RecordReviewClose: only the review service (an admin service account) reports closes".into(),
            ));
        }
        // The unit must exist (an admin learns when it does not).
        self.target.unit(fwd, unit).await?;
        let new = review_closes::record(&self.db, unit, month, at).await?;
        if new {
            // A region's overdue review may now be in.
            self.after_ingestion();
        }
        Ok(new)
    }

    /// Each rep's latest day with a deal or a daily log up to `up_to`;
    /// reps with neither are absent.
    async fn last_activity(&self, reps: &[Id], up_to: NaiveDate) -> ServiceResult<HashMap<Id, NaiveDate>> {
        let mut out = rollups::last_deal_days(&self.db, reps, up_to).await?;
        for (rep, day) in daily_logs::last_log_days(&self.db, reps, up_to).await? {
            let e = out.entry(rep).or_insert(day);
            *e = Ord::max(*e, day);
        }
        Ok(out)
    }

    /// Evaluates a unit's whole subtree for one metric and period on
    /// demand. Live alerts are about today: a viewer may not move them, and
    /// only an admin may evaluate as of another day or a period not in
    /// force (replaying a day), so nobody silences or fakes alerts by
    /// picking a date.
    pub async fn evaluate_subtree(
        &self,
        who: &Identity,
        fwd: &Forwarded,
        root: &UnitInfo,
        metric: Metric,
        period: &str,
        day: NaiveDate,
    ) -> ServiceResult<Vec<Alert>> {
        if who.role == Role::Viewer {
            return Err(ServiceError::PermissionDenied("viewers are read-only".to_owned()));
        }
        let today = self.today();
        if !who.is_admin() {
            if day != today {
                return Err(ServiceError::invalid(
                    "as_of_date",
                    format!("live alerts are evaluated as of today ({today}); only an admin evaluates another day"),
                ));
            }
            let in_force = Period::parse("period", period, 1)?;
            if !in_force.contains(today) {
                return Err(ServiceError::invalid(
                    "period",
                    format!("must be a period in force today ({today}); only an admin evaluates another"),
                ));
            }
        }
        let units = self.target.subtree(fwd, &root.id).await?;
        let plans = self.target.plans(fwd).await?;
        self.evaluate(fwd, &plans, units, metric, period, day).await
    }

    /// Acknowledges or resolves an alert. With an etag the caller's read
    /// must still be current; without one the change applies to whatever is
    /// current, so a concurrent evaluator update (new figures on the same
    /// alert) is read again rather than refused.
    pub async fn transition(&self, who: &Identity, id: &Id, etag: &str, to: State) -> ServiceResult<Alert> {
        let name = &format!("alerts/{}", id.as_str());
        if who.role == Role::Viewer {
            return Err(ServiceError::PermissionDenied("viewers are read-only".to_owned()));
        }
        let mut attempts = 0;
        loop {
            attempts += 1;
            let current = reveal(who, "alert", name, alerts::get(&self.db, id).await?, |a| who.can_read(&a.unit_path))?;
            attain_kit::scope::check_etag(etag, &current.version.to_string(), name)?;
            let allowed = match to {
                State::Acknowledged => current.state == State::Open,
                State::Resolved => current.is_live(),
                State::Open => false,
            };
            if !allowed {
                return Err(ServiceError::precondition(
                    "ALERT_STATE",
                    format!("{name} is {}, it cannot become {}", current.state.as_str(), to.as_str()),
                ));
            }
            let mut next = current.clone();
            next.state = to;
            next.version = current.version + 1;
            match to {
                State::Acknowledged => {
                    next.acknowledged_by = who.person.clone();
                    next.acknowledge_time = Some(self.now());
                }
                _ => next.resolve_time = Some(self.now()),
            }
            // The row and its feed event commit together: the event's id is
            // claimed in this transaction, so it is in commit order.
            let txn = attain_kit::db::begin_write(&self.db).await?;
            if !alerts::update(&txn, &next, current.version).await? {
                drop(txn);
                if etag.is_empty() && attempts < UNCONDITIONAL_ATTEMPTS {
                    continue;
                }
                return Err(ServiceError::stale_etag(name));
            }
            txn.commit().await?;
            self.feeds.bump();
            return Ok(next);
        }
    }

    /// Alerts of a subtree, oldest first, a page at a time.
    pub async fn list_alerts(
        &self,
        unit: &UnitInfo,
        state: Option<State>,
        escalated_to: Option<&Id>,
        after: Option<&str>,
        limit: u64,
    ) -> ServiceResult<Vec<Alert>> {
        alerts::list(&self.db, &unit.path, state, escalated_to, after, limit).await
    }

    /// A subtree's alerts in brief: counts by severity (worst first) and by
    /// rule, and the `first` most severe, oldest first among equals.
    pub async fn summarize_alerts(
        &self,
        unit: &UnitInfo,
        state: Option<State>,
        first: u64,
    ) -> ServiceResult<AlertSummary> {
        let counts = alerts::counts(&self.db, &unit.path, state).await?;
        let first = alerts::most_severe(&self.db, &unit.path, state, first).await?;
        Ok(AlertSummary::from_counts(&counts, first))
    }

    /// One scheduled pass: every published plan covering today, its whole
    /// organisation, the current month. Called with a service account's
    /// token, so it sees every unit.
    pub async fn evaluate_all(&self, fwd: &Forwarded) -> ServiceResult<usize> {
        let today = self.today();
        let month = Period::month_of(today);
        let mut changed = 0;
        let plans = self.target.plans(fwd).await?;
        for plan in plans.iter().filter(|p| p.published && p.year.contains(today)) {
            let units = self.target.subtree(fwd, &plan.top_unit).await?;
            changed += self.evaluate(fwd, &plans, units, plan.metric, &month.expression, today).await?.len();
        }
        Ok(changed)
    }
}

/// The days of `period` a unit has sat where it sits now: the period, or
/// from the day after its last move (its own or an ancestor's) when that
/// falls inside it.
fn current_stay(u: &UnitInfo, period: &Period) -> ServiceResult<Period> {
    match u.former.last().and_then(|(until, _)| until.succ_opt()) {
        Some(since) if since > period.start && since <= period.end => {
            Ok(Period::parse("period", &format!("{since}..{}", period.end), 1)?)
        }
        _ => Ok(period.clone()),
    }
}

/// Whether a failed evaluation is about the data (so evaluating it again
/// would fail again) rather than passing or about the caller.
fn about_the_data(e: &ServiceError) -> bool {
    use tonic::Code;
    match e {
        ServiceError::InvalidArgument(_) | ServiceError::NotFound { .. } | ServiceError::FailedPrecondition { .. } => {
            true
        }
        ServiceError::Upstream(s) => {
            matches!(s.code(), Code::InvalidArgument | Code::NotFound | Code::FailedPrecondition)
        }
        _ => false,
    }
}
