//! A review of a unit's period: the data brief (generated while open,
//! frozen when closed), root causes of under-performance, and action items
//! that carry over to the next review of the same unit until done.

use attain_core::{DomainError, id::Id, period::Period};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cadence {
    Weekly,
    Monthly,
    Quarterly,
    Annual,
}

impl Cadence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Weekly => "WEEKLY",
            Self::Monthly => "MONTHLY",
            Self::Quarterly => "QUARTERLY",
            Self::Annual => "ANNUAL",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Weekly, Self::Monthly, Self::Quarterly, Self::Annual].into_iter().find(|c| c.as_str() == s)
    }
}

/// One member's (or the unit's own) figures, as read from tracking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    pub unit: String,
    pub display_name: String,
    pub currency: String,
    pub target: String,
    /// As published, before adjustments (briefs stored before it: empty).
    #[serde(default)]
    pub original_target: String,
    pub actual: String,
    pub attainment_rate: String,
    pub gap: String,
    /// What the phasing expects by the day measured (briefs stored before
    /// it: empty).
    #[serde(default)]
    pub expected_to_date: String,
    /// Run-rate forecast to the period's end (briefs stored before it:
    /// empty).
    #[serde(default)]
    pub forecast: String,
    pub yoy_growth: String,
    pub average_order_value: String,
    pub conversion_rate: String,
    /// "GREEN", "YELLOW", "RED".
    pub status: String,
    /// The days counted when not the whole period (a member for part of
    /// it): first and last, "YYYY-MM-DD"; empty otherwise.
    #[serde(default)]
    pub days: Option<(String, String)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brief {
    pub unit: Figures,
    pub members: Vec<Figures>,
    pub generated: Option<DateTime<Utc>>,
    /// The unit's gap by sales driver (briefs stored before it have none).
    #[serde(default)]
    pub gaps: Vec<GapEffects>,
    /// The subtree's reporting in the period (briefs stored before it
    /// have none).
    #[serde(default)]
    pub compliance: Option<attain_core::cadence::Compliance>,
}

/// A difference split into volume, conversion and AOV effects, as decimal
/// strings from tracking (they sum exactly to `difference`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GapEffects {
    /// "LAST_YEAR" or "TARGET".
    pub basis: String,
    pub currency: String,
    pub difference: String,
    pub volume: String,
    pub conversion: String,
    pub aov: String,
}

/// One of the top reasons for misses: a cause kind or a loss reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// "SUBJECTIVE/SKILL_GAP", "LOSS/PRICE", …
    pub key: String,
    pub label: String,
    pub count: i64,
    /// Lost amount for loss reasons ("" for causes).
    pub amount: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    Open,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub id: Id,
    pub unit: Id,
    pub unit_path: Vec<Id>,
    pub plan: String,
    pub period: Period,
    pub cadence: Cadence,
    pub state: State,
    pub brief: Brief,
    pub top_reasons: Vec<Reason>,
    pub created_by: String,
    pub version: i64,
    pub create_time: DateTime<Utc>,
    pub close_time: Option<DateTime<Utc>>,
}

impl Review {
    pub fn resource_name(&self) -> String {
        format!("reviews/{}", self.id.as_str())
    }

    pub fn require_open(&self, what: &str) -> Result<(), DomainError> {
        match self.state {
            State::Open => Ok(()),
            State::Closed => Err(DomainError::precondition(
                "REVIEW_CLOSED",
                format!("{what}: {} is closed; its brief is frozen", self.resource_name()),
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CauseKind {
    InsufficientFollowUp,
    SkillGap,
    Effort,
    Market,
    CustomerChurn,
    CompetitorPricing,
    Policy,
    Other,
}

impl CauseKind {
    pub const ALL: [CauseKind; 8] = [
        Self::InsufficientFollowUp,
        Self::SkillGap,
        Self::Effort,
        Self::Market,
        Self::CustomerChurn,
        Self::CompetitorPricing,
        Self::Policy,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InsufficientFollowUp => "INSUFFICIENT_FOLLOW_UP",
            Self::SkillGap => "SKILL_GAP",
            Self::Effort => "EFFORT",
            Self::Market => "MARKET",
            Self::CustomerChurn => "CUSTOMER_CHURN",
            Self::CompetitorPricing => "COMPETITOR_PRICING",
            Self::Policy => "POLICY",
            Self::Other => "OTHER",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Subjective causes are the rep's own (follow-up, skills, effort);
    /// the rest are objective. OTHER may be either.
    pub fn fits(self, subjective: bool) -> bool {
        match self {
            Self::InsufficientFollowUp | Self::SkillGap | Self::Effort => subjective,
            Self::Market | Self::CustomerChurn | Self::CompetitorPricing | Self::Policy => !subjective,
            Self::Other => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    pub id: Id,
    pub review: Id,
    /// The member unit the cause is about.
    pub unit: Id,
    pub subjective: bool,
    pub kind: CauseKind,
    pub text: String,
    pub author: String,
    pub create_time: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionStatus {
    Open,
    InProgress,
    Done,
    Cancelled,
    /// Moved into the next review: its copy is the one to work on.
    CarriedOver,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::InProgress => "IN_PROGRESS",
            Self::Done => "DONE",
            Self::Cancelled => "CANCELLED",
            Self::CarriedOver => "CARRIED_OVER",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Open, Self::InProgress, Self::Done, Self::Cancelled, Self::CarriedOver]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    pub fn is_open(self) -> bool {
        matches!(self, Self::Open | Self::InProgress)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionItem {
    pub id: Id,
    pub review: Id,
    pub owner: String,
    pub text: String,
    pub due_date: NaiveDate,
    pub status: ActionStatus,
    pub cause: Option<Id>,
    /// The original's review and id.
    pub carried_from: Option<(Id, Id)>,
    pub version: i64,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

impl ActionItem {
    /// Open and past its due date (derived, never stored).
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.status.is_open() && self.due_date < today
    }

    /// The copy of an open item that moves into the next review.
    pub fn carried_into(&self, review: &Id, now: DateTime<Utc>) -> ActionItem {
        ActionItem {
            id: Id::generate(),
            review: review.clone(),
            carried_from: Some((self.review.clone(), self.id.clone())),
            version: 1,
            create_time: now,
            update_time: now,
            ..self.clone()
        }
    }
}

/// The top reasons of a review: its causes by kind and tracking's loss
/// reasons, most frequent first (ties: larger lost amount, then key).
pub fn top_reasons(causes: &[Cause], losses: Vec<Reason>, n: usize) -> Vec<Reason> {
    let mut by_kind: std::collections::BTreeMap<(bool, CauseKind), i64> = std::collections::BTreeMap::new();
    for c in causes {
        *by_kind.entry((c.subjective, c.kind)).or_default() += 1;
    }
    let mut all: Vec<Reason> = by_kind
        .into_iter()
        .map(|((subjective, kind), count)| {
            let side = if subjective { "SUBJECTIVE" } else { "OBJECTIVE" };
            Reason {
                key: format!("{side}/{}", kind.as_str()),
                label: kind.as_str().to_lowercase().replace('_', " "),
                count,
                amount: String::new(),
            }
        })
        .chain(losses)
        .collect();
    let amount = |r: &Reason| r.amount.parse::<rust_decimal::Decimal>().unwrap_or_default();
    all.sort_by(|a, b| b.count.cmp(&a.count).then(amount(b).cmp(&amount(a))).then(a.key.cmp(&b.key)));
    all.truncate(n);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cause(kind: CauseKind, subjective: bool) -> Cause {
        Cause {
            id: Id::generate(),
            review: Id::generate(),
            unit: Id::generate(),
            subjective,
            kind,
            text: String::new(),
            author: String::new(),
            create_time: Utc::now(),
        }
    }

    #[test]
    fn top_three_mixes_causes_and_losses() {
        let causes =
            vec![cause(CauseKind::SkillGap, true), cause(CauseKind::SkillGap, true), cause(CauseKind::Market, false)];
        let losses = vec![
            Reason { key: "LOSS/PRICE".into(), label: "price".into(), count: 3, amount: "7000".into() },
            Reason { key: "LOSS/TIMING".into(), label: "timing".into(), count: 1, amount: "9000".into() },
        ];
        let top = top_reasons(&causes, losses, 3);
        let keys: Vec<&str> = top.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["LOSS/PRICE", "SUBJECTIVE/SKILL_GAP", "LOSS/TIMING"]);
    }

    #[test]
    fn kinds_fit_categories() {
        assert!(CauseKind::SkillGap.fits(true) && !CauseKind::SkillGap.fits(false));
        assert!(CauseKind::Market.fits(false) && !CauseKind::Market.fits(true));
        assert!(CauseKind::Other.fits(true) && CauseKind::Other.fits(false));
    }
}
