//! Alerts: a rule fires for a unit and period; one open alert per unit,
//! period and rule; OPEN → ACKNOWLEDGED → RESOLVED, resolved automatically
//! when the unit recovers.

use attain_core::{calendar::WorkingCalendar, id::Id, metric::Metric, money::Amount};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::attainment::{Status, Thresholds};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Rule {
    /// Actual below the RED/YELLOW threshold of expected-to-date.
    BehindPace,
    /// Actual below the milestone in force.
    MissedMilestone,
    /// A rep with no deal and no daily log for too many working days.
    StaleData,
    /// Reports past their deadline and not submitted (the cadence).
    ReportOverdue,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BehindPace => "BEHIND_PACE",
            Self::MissedMilestone => "MISSED_MILESTONE",
            Self::StaleData => "STALE_DATA",
            Self::ReportOverdue => "REPORT_OVERDUE",
        }
    }

    /// Every rule, in the order summaries list them.
    pub const ALL: [Self; 4] = [Self::BehindPace, Self::MissedMilestone, Self::StaleData, Self::ReportOverdue];

    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A subtree's alerts in brief: what a dashboard shows.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertSummary {
    pub total: i64,
    /// Worst first; severities without alerts left out.
    pub by_severity: Vec<(Status, i64)>,
    /// In rule order; rules without alerts left out.
    pub by_rule: Vec<(Rule, i64)>,
    /// The most severe few, oldest first among equals.
    pub first: Vec<Alert>,
}

impl AlertSummary {
    /// From counts per (severity, rule) pair.
    pub fn from_counts(counts: &[(Status, Rule, i64)], first: Vec<Alert>) -> Self {
        let sum = |keep: &dyn Fn(Status, Rule) -> bool| -> i64 {
            counts.iter().filter(|(s, r, _)| keep(*s, *r)).map(|(_, _, n)| n).sum()
        };
        let by_severity = [Status::Red, Status::Yellow, Status::Green]
            .into_iter()
            .map(|s| (s, sum(&|x, _| x == s)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let by_rule = Rule::ALL.into_iter().map(|r| (r, sum(&|_, x| x == r))).filter(|(_, n)| *n > 0).collect();
        Self { total: sum(&|_, _| true), by_severity, by_rule, first }
    }
}

/// How alerts behave over time (configuration `alerts.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Percentage points of expected-to-date a unit must clear above a
    /// threshold before its alert eases or resolves (no flapping).
    pub hysteresis: Decimal,
    /// Working days an alert may stay OPEN (unacknowledged) before it
    /// escalates one manager up; again after as many more days.
    pub escalate_after: u32,
    /// Working days without a deal or a daily log before a rep is stale.
    pub stale_after: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self { hysteresis: Decimal::from(5), escalate_after: 3, stale_after: 5 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Open,
    Acknowledged,
    Resolved,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::Acknowledged => "ACKNOWLEDGED",
            Self::Resolved => "RESOLVED",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Open, Self::Acknowledged, Self::Resolved].into_iter().find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub id: Id,
    pub unit: Id,
    /// Unit ids from the root to the unit, for subtree watches.
    pub unit_path: Vec<Id>,
    pub period: String,
    pub rule: Rule,
    pub state: State,
    pub severity: Status,
    pub message: String,
    pub actual: Amount,
    pub expected: Amount,
    pub acknowledged_by: String,
    pub open_time: DateTime<Utc>,
    pub acknowledge_time: Option<DateTime<Utc>>,
    pub resolve_time: Option<DateTime<Utc>>,
    /// The (clock) day it opened: escalation counts working days from it.
    #[serde(default)]
    pub opened_on: Option<NaiveDate>,
    /// 0: with the unit's own owner; k: escalated k managers up.
    #[serde(default)]
    pub escalation_level: u32,
    /// The unit whose manager it was escalated to.
    #[serde(default)]
    pub escalated_to: Option<Id>,
    #[serde(default)]
    pub escalate_time: Option<DateTime<Utc>>,
    /// The metric of the plan measured (amount alerts before counts existed).
    #[serde(default)]
    pub metric: Metric,
    pub version: i64,
}

impl Alert {
    pub fn resource_name(&self) -> String {
        format!("alerts/{}", self.id.as_str())
    }

    pub fn is_live(&self) -> bool {
        self.state != State::Resolved
    }
}

/// What a rule says about a unit now: fire (with severity, figures and a
/// message) or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    pub firing: Option<(Status, String)>,
    pub actual: Amount,
    pub expected: Amount,
    /// What a resolution says, when not the figures' recovery.
    pub settled: Option<String>,
}

/// What to do with a unit's alert for a rule, given the finding and the
/// live alert (if any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Nothing,
    Open { severity: Status, message: String },
    Update { severity: Status, message: String },
    Resolve,
}

/// Behind-pace severity with hysteresis: a new alert opens below the
/// thresholds; a live one eases from RED only once `band` points above the
/// RED line and resolves only once `band` points above the YELLOW line, so
/// a unit hovering at a threshold does not flap.
pub fn pace_severity(
    actual: Decimal,
    expected: Decimal,
    t: Thresholds,
    band: Decimal,
    live: Option<Status>,
) -> Option<Status> {
    if expected <= Decimal::ZERO {
        return None;
    }
    let pct = actual * Decimal::ONE_HUNDRED / expected;
    match live {
        None if pct < t.red_below => Some(Status::Red),
        None if pct < t.yellow_below => Some(Status::Yellow),
        None => None,
        Some(_) if pct < t.red_below => Some(Status::Red),
        Some(Status::Red) if pct < t.red_below + band => Some(Status::Red),
        Some(_) if pct < t.yellow_below + band => Some(Status::Yellow),
        Some(_) => None,
    }
}

/// How many managers up an alert opened on `opened_on` should have gone by
/// `day`: one level per `after` working days still OPEN, at most `max`.
pub fn escalation_level(cal: &WorkingCalendar, opened_on: NaiveDate, day: NaiveDate, after: u32, max: u32) -> u32 {
    if after == 0 {
        return 0;
    }
    (cal.working_days_after(opened_on, day) / after).min(max)
}

/// Whether a rep whose last deal or log was on `last` (None: nothing this
/// period, counted from `period_start`) is stale on `day`; the severity
/// and the working days since.
pub fn staleness(
    cal: &WorkingCalendar,
    last: Option<NaiveDate>,
    period_start: NaiveDate,
    day: NaiveDate,
    after: u32,
) -> Option<(Status, u32)> {
    let since = last.unwrap_or_else(|| period_start.pred_opt().unwrap_or(period_start));
    let idle = cal.working_days_after(since, day);
    match idle {
        n if after == 0 || n <= after => None,
        n if n > after * 2 => Some((Status::Red, n)),
        n => Some((Status::Yellow, n)),
    }
}

/// Reports missed (their periods, oldest first) as an overdue finding's
/// severity and message: YELLOW for one or two, RED from three.
pub fn overdue(missed: &[(&'static str, String)]) -> Option<(Status, String)> {
    const SHOWN: usize = 5;
    if missed.is_empty() {
        return None;
    }
    let severity = if missed.len() >= 3 { Status::Red } else { Status::Yellow };
    let mut list: Vec<String> = missed.iter().take(SHOWN).map(|(what, period)| format!("{what} {period}")).collect();
    if missed.len() > SHOWN {
        list.push(format!("and {} more", missed.len() - SHOWN));
    }
    let n = missed.len();
    Some((severity, format!("{n} report{} missed: {}", if n == 1 { "" } else { "s" }, list.join(", "))))
}

pub fn decide(finding: &Finding, live: Option<&Alert>) -> Action {
    match (&finding.firing, live) {
        (Some((severity, message)), None) => Action::Open { severity: *severity, message: message.clone() },
        // An overdue alert's figure is its list of reports: it moves when
        // the list does.
        (Some((severity, message)), Some(a))
            if a.severity != *severity
                || a.actual != finding.actual
                || (finding.rule == Rule::ReportOverdue && a.message != *message) =>
        {
            Action::Update { severity: *severity, message: message.clone() }
        }
        (Some(_), Some(_)) => Action::Nothing,
        (None, Some(_)) => Action::Resolve,
        (None, None) => Action::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pct(p: i64) -> Decimal {
        Decimal::from(p)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    /// Severity after each reading, starting with no alert.
    fn run(readings: &[Decimal]) -> Vec<Option<Status>> {
        let mut live = None;
        readings
            .iter()
            .map(|r| {
                live = pace_severity(*r, Decimal::ONE_HUNDRED, Thresholds::default(), pct(5), live);
                live
            })
            .collect()
    }

    #[test]
    fn a_summary_counts_by_severity_worst_first_and_by_rule() {
        let counts = [
            (Status::Yellow, Rule::BehindPace, 3),
            (Status::Red, Rule::MissedMilestone, 2),
            (Status::Red, Rule::BehindPace, 4),
            (Status::Yellow, Rule::StaleData, 1),
        ];
        let s = AlertSummary::from_counts(&counts, Vec::new());
        assert_eq!(s.total, 10);
        assert_eq!(s.by_severity, vec![(Status::Red, 6), (Status::Yellow, 4)]);
        assert_eq!(s.by_rule, vec![(Rule::BehindPace, 7), (Rule::MissedMilestone, 2), (Rule::StaleData, 1)]);
        let none = AlertSummary::from_counts(&[], Vec::new());
        assert_eq!((none.total, none.by_severity.len(), none.by_rule.len()), (0, 0, 0));
    }

    #[test]
    fn hovering_at_a_threshold_does_not_flap() {
        let at_red = run(&[pct(79), pct(81), pct(79), pct(82), pct(84)]);
        assert!(at_red.iter().all(|s| *s == Some(Status::Red)), "{at_red:?}");
        let at_yellow = run(&[pct(99), pct(101), pct(99), pct(104)]);
        assert!(at_yellow.iter().all(|s| *s == Some(Status::Yellow)), "{at_yellow:?}");
        // Clearing the band eases and then resolves.
        assert_eq!(run(&[pct(70), pct(86), pct(105)]), [Some(Status::Red), Some(Status::Yellow), None]);
    }

    #[test]
    fn working_days_skip_weekends_and_the_plans_holidays() {
        let cal = WorkingCalendar::default();
        // Friday 2024-01-12 → Monday 15, Tuesday 16.
        assert_eq!(cal.working_days_after(day("2024-01-12"), day("2024-01-16")), 2);
        assert_eq!(cal.working_days_after(day("2024-01-16"), day("2024-01-16")), 0);
        assert_eq!(escalation_level(&cal, day("2024-01-16"), day("2024-01-19"), 3, 5), 1);
        assert_eq!(escalation_level(&cal, day("2024-01-16"), day("2024-01-24"), 3, 5), 2);
        assert_eq!(escalation_level(&cal, day("2024-01-16"), day("2024-03-24"), 3, 2), 2);
        // Spring Festival 2024 (Feb 10–17 off, Sunday Feb 4 and Saturday
        // Feb 18 worked): an alert opened Feb 8 has waited 3 working days
        // by Feb 18, not the 6 a Monday-to-Friday count gives.
        let mut cny = WorkingCalendar::default();
        cny.holidays.extend(day("2024-02-10").iter_days().take(8));
        cny.working_weekends.extend([day("2024-02-04"), day("2024-02-18")]);
        assert_eq!(cny.working_days_after(day("2024-02-08"), day("2024-02-18")), 2);
        assert_eq!(cal.working_days_after(day("2024-02-08"), day("2024-02-18")), 6);
        assert_eq!(escalation_level(&cny, day("2024-02-08"), day("2024-02-19"), 3, 5), 1);
        assert_eq!(escalation_level(&cny, day("2024-02-08"), day("2024-02-18"), 3, 5), 0);
    }

    #[test]
    fn overdue_reports_grow_red_from_three() {
        let log = |d: &str| ("daily log", d.to_owned());
        assert_eq!(overdue(&[]), None);
        assert_eq!(
            overdue(&[log("2024-01-15")]),
            Some((Status::Yellow, "1 report missed: daily log 2024-01-15".to_owned()))
        );
        let many: Vec<_> = (1..=7).map(|d| log(&format!("2024-01-0{d}"))).collect();
        let (s, m) = overdue(&many).unwrap_or((Status::Green, String::new()));
        assert_eq!(s, Status::Red);
        assert!(m.starts_with("7 reports missed: daily log 2024-01-01,") && m.ends_with("and 2 more"), "{m}");
        // A changed list moves a live alert even at the same severity.
        let f = |m: &str| Finding {
            rule: Rule::ReportOverdue,
            firing: Some((Status::Red, m.to_owned())),
            actual: Amount::ZERO,
            expected: Amount::ZERO,
            settled: None,
        };
        let live = Alert {
            id: Id::generate(),
            unit: Id::generate(),
            unit_path: Vec::new(),
            period: "2024-01".into(),
            rule: Rule::ReportOverdue,
            state: State::Open,
            severity: Status::Red,
            message: "3 reports missed".into(),
            actual: Amount::ZERO,
            expected: Amount::ZERO,
            acknowledged_by: String::new(),
            open_time: Utc::now(),
            acknowledge_time: None,
            resolve_time: None,
            opened_on: None,
            escalation_level: 0,
            escalated_to: None,
            escalate_time: None,
            metric: Metric::Amount,
            version: 1,
        };
        assert_eq!(decide(&f("3 reports missed"), Some(&live)), Action::Nothing);
        assert!(matches!(decide(&f("4 reports missed"), Some(&live)), Action::Update { .. }));
    }

    #[test]
    fn stale_after_n_working_days() {
        // Last log Friday the 5th; the 12th is 5 working days later.
        assert_eq!(
            staleness(&WorkingCalendar::default(), Some(day("2024-01-05")), day("2024-01-01"), day("2024-01-12"), 5),
            None
        );
        assert_eq!(
            staleness(&WorkingCalendar::default(), Some(day("2024-01-05")), day("2024-01-01"), day("2024-01-15"), 5),
            Some((Status::Yellow, 6))
        );
        // Nothing at all this period counts from its first day.
        assert_eq!(
            staleness(&WorkingCalendar::default(), None, day("2024-01-01"), day("2024-01-16"), 5),
            Some((Status::Red, 12))
        );
    }

    proptest! {
        /// Readings that stay within a window narrower than the band change
        /// the alert at most twice (open, then RED once it falls below the
        /// RED line) — never back and forth.
        #[test]
        fn no_flapping_inside_the_band(
            low in 0i64..12_000,
            readings in prop::collection::vec(0i64..499, 1..40),
        ) {
            let rs: Vec<Decimal> = readings.iter().map(|r| Decimal::new(low + r, 2)).collect();
            let states = run(&rs);
            let mut changes = 0;
            let mut prev = None;
            for s in &states {
                if *s != prev {
                    changes += 1;
                }
                prev = *s;
            }
            prop_assert!(changes <= 2, "{:?} -> {:?}", rs, states);
        }
    }
}
