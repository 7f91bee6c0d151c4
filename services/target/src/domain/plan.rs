//! A fiscal year's plan: where the top target comes from, how amounts
//! round and split, how days weigh, and the lifecycle DRAFT → PUBLISHED →
//! CLOSED.

use attain_core::{
    DomainError,
    metric::Metric,
    money::{Amount, CurrencyCode},
    period::Period,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{
    allocation::{CoveragePolicy, RoundingUnit},
    milestones::Milestones,
    org::{Id, UnitId},
    phasing::{Curve, WorkingCalendar},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlanState {
    Draft,
    Published,
    Closed,
}

impl PlanState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::Published => "PUBLISHED",
            Self::Closed => "CLOSED",
        }
    }

    pub fn from_db(s: &str) -> Option<Self> {
        [Self::Draft, Self::Published, Self::Closed].into_iter().find(|x| x.as_str() == s)
    }
}

/// Status thresholds, in percent of expected-to-date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    pub red_below: Decimal,
    pub yellow_below: Decimal,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self { red_below: Decimal::from(80), yellow_below: Decimal::ONE_HUNDRED }
    }
}

impl Thresholds {
    pub fn check(&self, field: &str) -> Result<(), DomainError> {
        if self.red_below.is_sign_negative()
            || self.red_below > self.yellow_below
            || self.yellow_below > Decimal::from(1000)
        {
            return Err(DomainError::invalid(field, "need 0 ≤ red_below_percent ≤ yellow_below_percent ≤ 1000"));
        }
        Ok(())
    }
}

/// The settings of a plan kept together (stored as one JSON document).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanConfig {
    /// Plans stored before count targets existed are amount plans.
    #[serde(default)]
    pub metric: Metric,
    pub rounding_unit: RoundingUnit,
    pub coverage: CoveragePolicy,
    pub thresholds: Thresholds,
    pub calendar: WorkingCalendar,
    pub default_phasing: Curve,
    pub milestone_template: Milestones,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub id: Id,
    pub display_name: String,
    pub top_unit: UnitId,
    pub fiscal_year: i32,
    pub fiscal_start_month: u32,
    pub currency: CurrencyCode,
    pub base_amount: Amount,
    pub growth_rate: Decimal,
    pub config: PlanConfig,
    pub state: PlanState,
    pub version: i64,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    pub publish_time: Option<DateTime<Utc>>,
}

impl Plan {
    /// base × (1 + growth), rounded to the plan's unit.
    pub fn top_target(&self) -> Result<Amount, DomainError> {
        top_target(self.base_amount, self.growth_rate, self.config.rounding_unit)
    }

    pub fn fiscal_year_period(&self) -> Result<Period, DomainError> {
        Period::parse("plan.fiscal_year", &format!("{:04}", self.fiscal_year), self.fiscal_start_month)
    }

    pub fn period(&self, field: &str, expr: &str) -> Result<Period, DomainError> {
        Period::parse(field, expr, self.fiscal_start_month)
    }

    pub fn resource_name(&self) -> String {
        format!("plans/{}", self.id.as_str())
    }

    pub fn etag(&self) -> String {
        self.version.to_string()
    }

    /// Targets may be set directly only while the plan is a draft.
    pub fn require_draft(&self, what: &str) -> Result<(), DomainError> {
        match self.state {
            PlanState::Draft => Ok(()),
            s => Err(DomainError::precondition(
                "PLAN_NOT_DRAFT",
                format!(
                    "{what}: {} is {}; after publishing, targets change only through adjustments",
                    self.resource_name(),
                    s.as_str()
                ),
            )),
        }
    }
}

pub fn top_target(base: Amount, growth: Decimal, unit: RoundingUnit) -> Result<Amount, DomainError> {
    let raw = base
        .decimal()
        .checked_mul(Decimal::ONE + growth)
        .ok_or_else(|| DomainError::invalid("plan.growth_rate", "too large"))?;
    unit.round(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_top_target() {
        let unit = RoundingUnit::parse("u", "0.01").unwrap();
        let t = top_target(Amount::parse("8000000.00").unwrap(), "0.25".parse().unwrap(), unit).unwrap();
        assert_eq!(t.to_string(), "10000000.00");
    }
}
