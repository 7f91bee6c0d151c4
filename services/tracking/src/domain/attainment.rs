//! Attainment figures derived from a target, an actual and the calendar.

use attain_core::money::Amount;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Green,
    Yellow,
    Red,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Green => "GREEN",
            Self::Yellow => "YELLOW",
            Self::Red => "RED",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Green, Self::Yellow, Self::Red].into_iter().find(|x| x.as_str() == s)
    }
}

/// Thresholds in percent of expected-to-date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub red_below: Decimal,
    pub yellow_below: Decimal,
}

impl Thresholds {
    /// The plan's thresholds where it sets them, the defaults elsewhere.
    pub fn with_overrides(red_below: Option<Decimal>, yellow_below: Option<Decimal>) -> Self {
        let d = Self::default();
        Self { red_below: red_below.unwrap_or(d.red_below), yellow_below: yellow_below.unwrap_or(d.yellow_below) }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { red_below: Decimal::from(80), yellow_below: Decimal::ONE_HUNDRED }
    }
}

/// The inputs of one unit's attainment.
#[derive(Debug, Clone, Copy)]
pub struct Inputs {
    pub target: Amount,
    pub actual: Amount,
    /// Expected by the end of the measuring day (day curve).
    pub expected: Amount,
    /// Elapsed working days / working days of the period.
    pub time_progress: Decimal,
    pub deals_won: i64,
    pub last_year: Option<Amount>,
    pub thresholds: Thresholds,
}

/// Derived figures; ratios keep 4 decimals (0.4000 = 40%).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub attainment_rate: Option<Decimal>,
    pub gap: Decimal,
    pub pace: Option<Decimal>,
    pub forecast: Decimal,
    pub yoy_growth: Option<Decimal>,
    pub average_order_value: Option<Decimal>,
    pub status: Status,
}

/// A ratio as figures and alerts show it: "0.4" for 40%, empty for none.
pub fn ratio_text(d: Option<Decimal>) -> String {
    d.map(|d| d.normalize().to_string()).unwrap_or_default()
}

fn ratio(a: Decimal, b: Decimal) -> Option<Decimal> {
    (!b.is_zero()).then(|| (a / b).round_dp_with_strategy(4, RoundingStrategy::MidpointNearestEven))
}

/// Status against expected-to-date: RED below `red_below`% of it, YELLOW
/// below `yellow_below`%, else GREEN. Nothing expected yet is GREEN.
pub fn status(actual: Decimal, expected: Decimal, t: Thresholds) -> Status {
    if expected <= Decimal::ZERO {
        return Status::Green;
    }
    let pct = actual * Decimal::ONE_HUNDRED / expected;
    if pct < t.red_below {
        Status::Red
    } else if pct < t.yellow_below {
        Status::Yellow
    } else {
        Status::Green
    }
}

pub fn figures(i: &Inputs) -> Figures {
    let (target, actual) = (i.target.decimal(), i.actual.decimal());
    let rate = ratio(actual, target);
    Figures {
        attainment_rate: rate,
        gap: target - actual,
        pace: rate.and_then(|r| ratio(r, i.time_progress)),
        // Run rate: what the pace so far reaches by the period's end.
        forecast: if i.time_progress.is_zero() { actual } else { (actual / i.time_progress).round_dp(2) },
        yoy_growth: i.last_year.and_then(|ly| ratio(actual - ly.decimal(), ly.decimal())),
        average_order_value: (i.deals_won > 0).then(|| (actual / Decimal::from(i.deals_won)).round_dp(2)),
        status: status(actual, i.expected.decimal(), i.thresholds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn a(s: &str) -> Amount {
        Amount::parse(s).unwrap()
    }

    #[test]
    fn the_guides_january_16th() {
        // 40,000 of 100,000 with 12 of 23 working days gone: expected 52,173.91.
        let f = figures(&Inputs {
            target: a("100000"),
            actual: a("40000"),
            expected: a("52173.91"),
            time_progress: Decimal::from(12) / Decimal::from(23),
            deals_won: 4,
            last_year: Some(a("32000")),
            thresholds: Thresholds::default(),
        });
        assert_eq!(f.attainment_rate, Some(d("0.4")));
        assert_eq!(f.gap, d("60000"));
        assert_eq!(f.pace, Some(d("0.7667")));
        assert_eq!(f.forecast, d("76666.67"));
        assert_eq!(f.yoy_growth, Some(d("0.25")));
        assert_eq!(f.average_order_value, Some(d("10000")));
        assert_eq!(f.status, Status::Red);
    }

    #[test]
    fn statuses() {
        let t = Thresholds::default();
        assert_eq!(status(d("79.99"), d("100"), t), Status::Red);
        assert_eq!(status(d("80"), d("100"), t), Status::Yellow);
        assert_eq!(status(d("100"), d("100"), t), Status::Green);
        assert_eq!(status(d("0"), d("0"), t), Status::Green);
    }

    #[test]
    fn no_target_no_rate() {
        let f = figures(&Inputs {
            target: Amount::ZERO,
            actual: a("5"),
            expected: Amount::ZERO,
            time_progress: Decimal::ZERO,
            deals_won: 0,
            last_year: None,
            thresholds: Thresholds::default(),
        });
        assert_eq!((f.attainment_rate, f.pace, f.average_order_value, f.yoy_growth), (None, None, None, None));
    }
}
