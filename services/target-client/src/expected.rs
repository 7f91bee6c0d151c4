//! What a unit is expected to have sold.

use attain_core::money::Amount;
use attain_kit::ServiceResult;
use attain_proto::attain::common::v1 as common;
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::bad;

/// A sales slice; empty strings mean "the whole target".
#[derive(Debug, Clone, Copy, Default)]
pub struct Slice<'a> {
    pub product_line: &'a str,
    pub customer_type: &'a str,
}

/// A unit's expectation for a period at a date.
#[derive(Debug, Clone, Copy, Default)]
pub struct Expected {
    pub period_target: Amount,
    /// Before adjustments, so a lowered target never hides a miss.
    pub original_target: Amount,
    pub by_curve: Amount,
    pub by_milestone: Amount,
    pub milestone_in_force: bool,
    pub time_progress: Decimal,
}

/// The plan's alert thresholds (percent of expected-to-date), where set.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlertThresholds {
    pub red_below: Option<Decimal>,
    pub yellow_below: Option<Decimal>,
}

/// A unit's expected-to-date for each day of a period (burn-up charts).
#[derive(Debug, Clone, Default)]
pub struct DailyExpected {
    pub period_target: Amount,
    /// (day, by the curve, by the milestones)
    pub days: Vec<(NaiveDate, Amount, Amount)>,
    /// (day of period, cumulative percent)
    pub milestones: Vec<(i32, String)>,
}

pub(crate) fn amount_of(m: Option<&common::Money>) -> ServiceResult<Amount> {
    match m {
        Some(m) => Amount::parse(&m.amount).map_err(|_| bad("amount", &m.amount)),
        None => Ok(Amount::ZERO),
    }
}

pub(crate) fn day_of(s: &str) -> ServiceResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad("day", s))
}
