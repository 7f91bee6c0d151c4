//! An alert as notify sees it: one change of one alert in tracking's feed,
//! with the fields messages are rendered from.

use attain_core::money::Money;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::reminder::Reminder;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Severity {
    Yellow,
    Red,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yellow => "YELLOW",
            Self::Red => "RED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "YELLOW" => Some(Self::Yellow),
            "RED" => Some(Self::Red),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rule {
    BehindPace,
    MissedMilestone,
    StaleData,
    ReportOverdue,
}

impl Rule {
    pub const ALL: [Rule; 4] = [Rule::BehindPace, Rule::MissedMilestone, Rule::StaleData, Rule::ReportOverdue];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BehindPace => "BEHIND_PACE",
            Self::MissedMilestone => "MISSED_MILESTONE",
            Self::StaleData => "STALE_DATA",
            Self::ReportOverdue => "REPORT_OVERDUE",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Open,
    Acknowledged,
    Resolved,
}

/// What changed, as a person is told it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// Opened, or grew more severe.
    Raised,
    /// Nobody acknowledged it: it went one manager up.
    Escalated,
    /// Still open, less severe than the subscriber was last told (RED to
    /// YELLOW).
    Eased,
    Resolved,
}

/// One change of an alert, as tracking's feed carried it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// "alerts/{id}"
    pub alert: String,
    /// The unit's id, and the ids from the root down to it.
    pub unit: String,
    pub unit_path: Vec<String>,
    pub period: String,
    pub rule: Rule,
    pub state: State,
    pub severity: Severity,
    #[serde(with = "money_text")]
    pub actual: Option<Money>,
    #[serde(with = "money_text")]
    pub expected: Option<Money>,
    pub escalation_level: u32,
    /// Tracking's own sentence (the language of its deployment).
    pub message: String,
    pub time: DateTime<Utc>,
    /// How the subscriber of the delivery carrying it is told of it, when
    /// that depends on what it was told before (an alert eased).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub told_as: Option<Change>,
    /// The unit's display name, as target had it when the change arrived
    /// (empty: not known).
    #[serde(default)]
    pub unit_name: String,
    /// REPORT_OVERDUE: the reports missed, as tracking and review list the
    /// unit's obligations (their `due` is the deadline that passed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missed: Vec<Reminder>,
}

impl AlertEvent {
    /// The change a person hears of, or None (an acknowledgement is the
    /// acknowledger's own doing).
    pub fn change(&self) -> Option<Change> {
        if self.told_as.is_some() {
            return self.told_as;
        }
        match self.state {
            State::Resolved => Some(Change::Resolved),
            State::Acknowledged => None,
            State::Open if self.escalation_level > 0 => Some(Change::Escalated),
            State::Open => Some(Change::Raised),
        }
    }

    /// The event's identity: the same change carried twice (a replayed
    /// feed, a watch reopened with the open alerts) is one delivery.
    pub fn dedupe_key(&self) -> String {
        let state = match self.state {
            State::Open => "OPEN",
            State::Acknowledged => "ACKNOWLEDGED",
            State::Resolved => "RESOLVED",
        };
        format!("{}:{state}:{}:{}", self.alert, self.severity.as_str(), self.escalation_level)
    }
}

/// Rep 1's RED BEHIND_PACE alert of January (no figures): what unit
/// tests vary.
#[cfg(test)]
pub(crate) fn example() -> AlertEvent {
    AlertEvent {
        alert: "alerts/a1".into(),
        unit: "rep-1".into(),
        unit_path: vec!["acme".into(), "region-a".into(), "rep-1".into()],
        period: "2024-01".into(),
        rule: Rule::BehindPace,
        state: State::Open,
        severity: Severity::Red,
        actual: None,
        expected: None,
        escalation_level: 0,
        message: String::new(),
        time: Utc::now(),
        told_as: None,
        unit_name: String::new(),
        missed: Vec::new(),
    }
}

/// Money kept in a delivery's payload as exact text: {"currency":"CNY","amount":"40000.00"}.
mod money_text {
    use attain_core::money::{Amount, CurrencyCode, Money};
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    #[derive(Serialize, Deserialize)]
    struct Text {
        currency: String,
        amount: String,
    }

    pub fn serialize<S: Serializer>(m: &Option<Money>, s: S) -> Result<S::Ok, S::Error> {
        m.as_ref().map(|m| Text { currency: m.currency.as_str().to_owned(), amount: m.amount.to_string() }).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Money>, D::Error> {
        Option::<Text>::deserialize(d)?
            .map(|t| {
                Ok(Money {
                    currency: CurrencyCode::parse(&t.currency).map_err(D::Error::custom)?,
                    amount: Amount::parse(&t.amount).map_err(D::Error::custom)?,
                })
            })
            .transpose()
    }
}
