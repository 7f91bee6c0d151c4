//! What a delivery tells of: an alert change, or a report coming due.

use serde::{Deserialize, Serialize};

use super::{
    alert::{AlertEvent, Severity},
    reminder::Reminder,
};

/// As JSON (stored, and the generic webhook's `events`): the variant's
/// fields with `"kind": "alert"` or `"kind": "reminder"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Alert(AlertEvent),
    Reminder(Reminder),
}

impl Event {
    /// "alerts/{id}", or "obligations/{kind}/{unit}/{period}".
    pub fn name(&self) -> String {
        match self {
            Self::Alert(a) => a.alert.clone(),
            Self::Reminder(r) => r.name(),
        }
    }

    pub fn unit(&self) -> &str {
        match self {
            Self::Alert(a) => &a.unit,
            Self::Reminder(r) => &r.unit,
        }
    }

    /// The unit's display name, if known.
    pub fn unit_name(&self) -> &str {
        match self {
            Self::Alert(a) => &a.unit_name,
            Self::Reminder(r) => &r.unit_name,
        }
    }

    pub fn dedupe_key(&self) -> String {
        match self {
            Self::Alert(a) => a.dedupe_key(),
            Self::Reminder(r) => r.dedupe_key(),
        }
    }

    /// A reminder is a yellow matter: nothing is wrong yet.
    pub fn severity(&self) -> Severity {
        match self {
            Self::Alert(a) => a.severity,
            Self::Reminder(_) => Severity::Yellow,
        }
    }
}
