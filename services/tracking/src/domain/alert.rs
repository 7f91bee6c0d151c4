//! Alerts: a rule fires for a unit and period; one open alert per unit,
//! period and rule; OPEN → ACKNOWLEDGED → RESOLVED, resolved automatically
//! when the unit recovers.

use attain_kit::{id::Id, money::Amount};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::attainment::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Rule {
    /// Actual below the RED/YELLOW threshold of expected-to-date.
    BehindPace,
    /// Actual below the milestone in force.
    MissedMilestone,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BehindPace => "BEHIND_PACE",
            Self::MissedMilestone => "MISSED_MILESTONE",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::BehindPace, Self::MissedMilestone].into_iter().find(|x| x.as_str() == s)
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

pub fn decide(finding: &Finding, live: Option<&Alert>) -> Action {
    match (&finding.firing, live) {
        (Some((severity, message)), None) => Action::Open { severity: *severity, message: message.clone() },
        (Some((severity, message)), Some(a)) if a.severity != *severity || a.actual != finding.actual => {
            Action::Update { severity: *severity, message: message.clone() }
        }
        (Some(_), Some(_)) => Action::Nothing,
        (None, Some(_)) => Action::Resolve,
        (None, None) => Action::Nothing,
    }
}
