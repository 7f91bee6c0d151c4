//! Deals: a won sale credited to a rep, or the reversal of one. Records are
//! never deleted; a correction is a reversal plus, optionally, a new sale.

use attain_core::{
    DomainError,
    id::Id,
    money::{Amount, CurrencyCode},
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::credit::{Credit, Share};

/// A sales slice; empty strings mean "unspecified".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Dimensions {
    pub product_line: String,
    pub customer_type: String,
}

impl Dimensions {
    /// At most 200 printable characters each: the rule of every place a
    /// slice is named (a deal, an opportunity, a read's filter); `field`
    /// prefixes the errors ("deal.dimensions").
    pub fn check(&self, field: &str) -> Result<(), DomainError> {
        for (name, v) in [("product_line", &self.product_line), ("customer_type", &self.customer_type)] {
            printable(&format!("{field}.{name}"), v)?;
        }
        Ok(())
    }
}

/// At most 200 printable characters.
fn printable(field: &str, v: &str) -> Result<(), DomainError> {
    if v.chars().count() > 200 || v.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "at most 200 printable characters"));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DealKind {
    Sale,
    Reversal,
}

impl DealKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sale => "SALE",
            Self::Reversal => "REVERSAL",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Sale, Self::Reversal].into_iter().find(|k| k.as_str() == s)
    }
}

/// What a client asks to record (before the rep's path is known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDeal {
    pub rep: Id,
    pub amount: Amount,
    /// None: the currency of the plan that covers the deal.
    pub currency: Option<CurrencyCode>,
    pub close_date: NaiveDate,
    pub customer: String,
    pub dimensions: Dimensions,
    pub opportunity: String,
    /// Split credit; empty: the rep gets all of it.
    pub shares: Vec<Share>,
}

impl NewDeal {
    /// Checks what can be checked without other services.
    pub fn check(&self, field: &str, today: NaiveDate) -> Result<(), DomainError> {
        if self.amount.is_negative() || self.amount.is_zero() {
            return Err(DomainError::invalid(
                format!("{field}.amount.amount"),
                "a sale must be positive (corrections are reversals)",
            ));
        }
        if self.close_date > today {
            return Err(DomainError::invalid(
                format!("{field}.close_date"),
                format!("{} is in the future (today is {today})", self.close_date),
            ));
        }
        printable(&format!("{field}.customer"), &self.customer)?;
        self.dimensions.check(&format!("{field}.dimensions"))
    }
}

/// A stored deal record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deal {
    pub id: Id,
    pub rep: Id,
    pub amount: Amount,
    pub currency: CurrencyCode,
    pub close_date: NaiveDate,
    pub customer: String,
    pub dimensions: Dimensions,
    pub opportunity: String,
    pub kind: DealKind,
    pub reverses: Option<Id>,
    pub reversed_by: Option<Id>,
    /// Unit ids from the root to the rep when booked: actuals stay where
    /// they were earned even if the rep moves later.
    pub booked_path: Vec<Id>,
    /// Split credit (empty: `rep` has all of it); amounts sum to `amount`.
    pub credits: Vec<Credit>,
    pub request_id: String,
    pub created_by: String,
    pub create_time: DateTime<Utc>,
}

impl Deal {
    pub fn resource_name(&self) -> String {
        format!("deals/{}", self.id.as_str())
    }

    /// The reversal of this sale: the same slice with the opposite amount.
    pub fn reversal(&self, actor: &str, request_id: &str, now: DateTime<Utc>) -> Result<Deal, DomainError> {
        if self.kind == DealKind::Reversal {
            return Err(DomainError::precondition(
                "REVERSAL_OF_REVERSAL",
                format!("{} is itself a reversal; record a new sale instead", self.resource_name()),
            ));
        }
        if let Some(by) = &self.reversed_by {
            return Err(DomainError::precondition(
                "ALREADY_REVERSED",
                format!("{} was already reversed by deals/{}", self.resource_name(), by.as_str()),
            ));
        }
        Ok(Deal {
            id: Id::generate(),
            amount: Amount::ZERO.checked_sub(self.amount)?,
            kind: DealKind::Reversal,
            reverses: Some(self.id.clone()),
            reversed_by: None,
            credits: self
                .credits
                .iter()
                .map(|c| Ok(Credit { amount: Amount::ZERO.checked_sub(c.amount)?, ..c.clone() }))
                .collect::<Result<_, DomainError>>()?,
            request_id: request_id.to_owned(),
            created_by: actor.to_owned(),
            create_time: now,
            ..self.clone()
        })
    }

    /// What takes this record's figures back out of the roll-ups (amounts
    /// and the won count negated), to re-add them elsewhere.
    pub fn undone(&self) -> Result<Deal, DomainError> {
        Ok(Deal {
            amount: Amount::ZERO.checked_sub(self.amount)?,
            kind: match self.kind {
                DealKind::Sale => DealKind::Reversal,
                DealKind::Reversal => DealKind::Sale,
            },
            credits: self
                .credits
                .iter()
                .map(|c| Ok(Credit { amount: Amount::ZERO.checked_sub(c.amount)?, ..c.clone() }))
                .collect::<Result<_, DomainError>>()?,
            ..self.clone()
        })
    }

    /// The record with every line booked under `old` (a unit's path
    /// before a move) booked under `new` instead.
    pub fn rebased(&self, old: &[Id], new: &[Id]) -> Deal {
        let rebase = |p: &[Id]| match p.strip_prefix(old) {
            Some(rest) => new.iter().chain(rest).cloned().collect(),
            None => p.to_vec(),
        };
        Deal {
            booked_path: rebase(&self.booked_path),
            credits: self.credits.iter().map(|c| Credit { booked_path: rebase(&c.booked_path), ..c.clone() }).collect(),
            ..self.clone()
        }
    }

    /// Who is credited how much, and where each sat when booked: the
    /// shares, or the whole amount on the rep's own path.
    pub fn lines(&self) -> Vec<(&[Id], Amount)> {
        if self.credits.is_empty() {
            vec![(&self.booked_path, self.amount)]
        } else {
            self.credits.iter().map(|c| (c.booked_path.as_slice(), c.amount)).collect()
        }
    }

    /// The booked paths whose figures this record moves.
    pub fn credited_paths(&self) -> Vec<Vec<Id>> {
        self.lines().into_iter().map(|(p, _)| p.to_vec()).collect()
    }

    /// +1 for a sale, −1 for a reversal (the won-deal count roll-up).
    pub fn count_delta(&self) -> i64 {
        match self.kind {
            DealKind::Sale => 1,
            DealKind::Reversal => -1,
        }
    }
}

/// Which deals of a subtree a listing reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Window {
    /// Close dates, inclusive.
    pub dates: Option<(NaiveDate, NaiveDate)>,
    /// As they stood at this instant (later records and reversals unseen).
    pub as_of: Option<DateTime<Utc>>,
    /// Only records made after this instant (post-close corrections).
    pub recorded_after: Option<DateTime<Utc>>,
}
