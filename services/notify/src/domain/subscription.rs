//! A subscription: who hears of which alerts, through which channel, when,
//! and in which words.

use attain_core::{DomainError, DomainResult, id::Id};
use chrono::{DateTime, Utc};

use super::{
    alert::{AlertEvent, Rule, Severity},
    channel::Kind,
    schedule::Schedule,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Zh,
    En,
}

impl Language {
    pub fn parse(field: &str, s: &str) -> DomainResult<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "zh" | "zh-cn" | "zh-hans" => Ok(Self::Zh),
            "en" | "en-us" | "en-gb" => Ok(Self::En),
            _ => Err(DomainError::invalid(field, format!("{s:?} is not a language messages are written in (zh, en)"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }
}

/// How money is written: as the page's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoneyUnit {
    Yuan,
    Wan,
}

impl MoneyUnit {
    pub fn parse(field: &str, s: &str) -> DomainResult<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "yuan" => Ok(Self::Yuan),
            "wan" => Ok(Self::Wan),
            _ => Err(DomainError::invalid(field, format!("{s:?} is not a money unit (yuan, wan)"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Yuan => "yuan",
            Self::Wan => "wan",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Active,
    Deleted,
}

/// Who subscribed, as their token said when they did: the scope every
/// delivery is checked against again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub person: String,
    /// "ADMIN", "MANAGER", "REP" or "VIEWER".
    pub role: String,
    pub unit: String,
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: Id,
    pub owner: Owner,
    pub unit: Id,
    pub channel: Kind,
    /// The address as reads show it (no secret).
    pub endpoint: String,
    pub secret_set: bool,
    pub rules: Vec<Rule>,
    pub least_severity: Severity,
    pub time_zone: String,
    pub schedule: Schedule,
    pub language: Language,
    pub money_unit: MoneyUnit,
    /// Minutes before a report's deadline to remind (0: no reminders).
    pub remind_minutes: u32,
    pub state: State,
    pub create_time: DateTime<Utc>,
    pub delete_time: Option<DateTime<Utc>>,
    pub version: i64,
}

impl Subscription {
    /// Whether this subscription asked for this alert (scope is checked
    /// apart, against the owner).
    pub fn wants(&self, e: &AlertEvent) -> bool {
        self.state == State::Active
            && e.unit_path.iter().any(|u| u == self.unit.as_str())
            && (self.rules.is_empty() || self.rules.contains(&e.rule))
            && e.severity >= self.least_severity
            && e.change().is_some()
    }

    /// Whether this subscription wants a reminder, as of `now`, of a report
    /// of its subtree due at `due`.
    pub fn reminds(&self, due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self.state == State::Active
            && self.remind_minutes > 0
            && now < due
            && due <= now + chrono::Duration::minutes(i64::from(self.remind_minutes))
    }

    pub fn resource_name(&self) -> String {
        format!("subscriptions/{}", self.id.as_str())
    }
}

/// Minutes before a deadline, 0–1440 (0: no reminders).
pub fn remind_minutes(field: &str, m: i32) -> DomainResult<u32> {
    u32::try_from(m)
        .ok()
        .filter(|m| *m <= 1440)
        .ok_or_else(|| DomainError::invalid(field, format!("{m} is not a number of minutes from 0 to 1440 (a day)")))
}
