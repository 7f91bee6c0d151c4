//! What a target counts: money won, or a number of things (deals won, new
//! customers, visits). Count targets split, phase, track and alert exactly
//! like amounts; their "currency" is ISO 4217's XXX (no currency) and their
//! amounts are whole numbers.

use serde::{Deserialize, Serialize};

use crate::money::{Amount, CurrencyCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Metric {
    /// Money won (the plan's currency).
    #[default]
    Amount,
    /// Deals won (net of reversals).
    DealsWon,
    /// Customers whose first won deal falls in the period.
    NewCustomers,
    /// Customer visits (follow-ups in daily logs).
    Visits,
}

impl Metric {
    pub const ALL: [Metric; 4] = [Self::Amount, Self::DealsWon, Self::NewCustomers, Self::Visits];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Amount => "AMOUNT",
            Self::DealsWon => "DEALS_WON",
            Self::NewCustomers => "NEW_CUSTOMERS",
            Self::Visits => "VISITS",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn is_count(self) -> bool {
        self != Self::Amount
    }

    /// ISO 4217 "XXX": the code for "no currency", carried by count amounts.
    pub fn count_currency() -> CurrencyCode {
        CurrencyCode::XXX
    }

    /// Whether `a` is a valid figure of this metric (counts are whole).
    pub fn admits(self, a: Amount) -> bool {
        !self.is_count() || a.decimal().fract().is_zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_counts_are_whole() {
        for m in Metric::ALL {
            assert_eq!(Metric::from_db(m.as_str()), Some(m));
        }
        let a = |s: &str| Amount::parse(s).unwrap_or(Amount::ZERO);
        assert!(Metric::DealsWon.admits(a("12")) && Metric::DealsWon.admits(a("12.00")));
        assert!(!Metric::Visits.admits(a("12.5")));
        assert!(Metric::Amount.admits(a("12.5")));
    }
}
