//! Sales activity beside won deals: opportunities (for conversion and
//! loss reasons) and reps' daily logs.

use attain_core::{
    DomainError,
    id::Id,
    money::{Amount, CurrencyCode},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::deal::Dimensions;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LossReason {
    Price,
    Competitor,
    NoBudget,
    NoDecision,
    ProductFit,
    Timing,
    Relationship,
    Other,
}

impl LossReason {
    pub const ALL: [LossReason; 8] = [
        Self::Price,
        Self::Competitor,
        Self::NoBudget,
        Self::NoDecision,
        Self::ProductFit,
        Self::Timing,
        Self::Relationship,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Price => "PRICE",
            Self::Competitor => "COMPETITOR",
            Self::NoBudget => "NO_BUDGET",
            Self::NoDecision => "NO_DECISION",
            Self::ProductFit => "PRODUCT_FIT",
            Self::Timing => "TIMING",
            Self::Relationship => "RELATIONSHIP",
            Self::Other => "OTHER",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Open,
    Won,
    Lost(LossReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opportunity {
    pub id: Id,
    pub rep: Id,
    pub booked_path: Vec<Id>,
    pub customer: String,
    pub dimensions: Dimensions,
    pub stage: String,
    pub outcome: Outcome,
    pub expected_amount: Amount,
    pub currency: CurrencyCode,
    pub close_date: Option<NaiveDate>,
    pub loss_detail: String,
    pub version: i64,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

impl Opportunity {
    pub fn resource_name(&self) -> String {
        format!("opportunities/{}", self.id.as_str())
    }

    /// A closed opportunity needs its date; a lost one its reason.
    pub fn check(&self, field: &str) -> Result<(), DomainError> {
        if self.outcome != Outcome::Open && self.close_date.is_none() {
            return Err(DomainError::invalid(
                format!("{field}.close_date"),
                "a won or lost opportunity needs its close date",
            ));
        }
        if self.expected_amount.is_negative() {
            return Err(DomainError::invalid(format!("{field}.expected_amount.amount"), "must not be negative"));
        }
        Ok(())
    }

    /// What this opportunity adds to the loss roll-ups.
    pub fn loss(&self) -> Option<Loss> {
        match (self.outcome, self.close_date) {
            (Outcome::Lost(reason), Some(day)) => Some(Loss { day, reason, count: 1, amount: self.expected_amount }),
            _ => None,
        }
    }
}

/// One lost deal's contribution to the loss roll-ups (negative to undo).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loss {
    pub day: NaiveDate,
    pub reason: LossReason,
    pub count: i64,
    pub amount: Amount,
}

impl Loss {
    pub fn undo(self) -> Result<Self, DomainError> {
        Ok(Self { count: -self.count, amount: Amount::ZERO.checked_sub(self.amount)?, ..self })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub customer: String,
    pub stage: String,
    pub next_step: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LostDeal {
    pub customer: String,
    pub reason: LossReason,
    pub detail: String,
    pub amount: Amount,
}

/// What a rep reports about a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyLogBody {
    /// ISO code of the amounts ("" when the log carries none).
    pub currency: String,
    pub follow_ups: Vec<FollowUp>,
    pub amount_closed: Amount,
    pub lost_deals: Vec<LostDeal>,
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyLog {
    pub id: Id,
    pub rep: Id,
    pub booked_path: Vec<Id>,
    pub date: NaiveDate,
    pub body: DailyLogBody,
    pub create_time: DateTime<Utc>,
}

impl DailyLog {
    pub fn resource_name(&self) -> String {
        format!("dailyLogs/{}", self.id.as_str())
    }

    pub fn losses(&self) -> Vec<Loss> {
        self.body
            .lost_deals
            .iter()
            .map(|l| Loss { day: self.date, reason: l.reason, count: 1, amount: l.amount })
            .collect()
    }
}
