//! Milestones: cumulative checkpoints inside a month ("20% by the 5th, 50%
//! by the 15th"); the period's end is always 100%.

use attain_core::{DomainError, money::Amount, period::Period};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::allocation::RoundingUnit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    /// 1-based day of the period.
    pub day: u32,
    /// Cumulative percentage of the period's target.
    pub percent: Decimal,
}

/// Checkpoints in strictly increasing day and percentage order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestones(Vec<Milestone>);

impl Milestones {
    pub fn parse(field: &str, items: Vec<Milestone>) -> Result<Self, DomainError> {
        let mut previous: Option<Milestone> = None;
        for (i, m) in items.iter().enumerate() {
            let f = |name: &str| format!("{field}[{i}].{name}");
            if !(1..=31).contains(&m.day) {
                return Err(DomainError::invalid(f("day_of_period"), "must be between 1 and 31"));
            }
            if m.percent <= Decimal::ZERO || m.percent > Decimal::ONE_HUNDRED {
                return Err(DomainError::invalid(
                    f("percent"),
                    format!("{} must be above 0 and at most 100", m.percent),
                ));
            }
            if let Some(p) = previous {
                if m.day <= p.day {
                    return Err(DomainError::invalid(f("day_of_period"), "milestones must be in increasing day order"));
                }
                if m.percent <= p.percent {
                    return Err(DomainError::invalid(f("percent"), "cumulative percentages must increase"));
                }
            }
            previous = Some(*m);
        }
        Ok(Self(items))
    }

    pub fn items(&self) -> &[Milestone] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The milestone in force at the end of `day` (None before the first),
    /// and the expected amount: its percentage of the period's target, or
    /// all of it once the period has ended.
    pub fn expected(
        &self,
        period: &Period,
        target: Amount,
        unit: RoundingUnit,
        day: NaiveDate,
    ) -> Result<(Amount, Option<Milestone>), DomainError> {
        if day >= period.end {
            return Ok((target, None));
        }
        if day < period.start {
            return Ok((Amount::ZERO, None));
        }
        let day_of_period = u32::try_from((day - period.start).num_days() + 1).unwrap_or(u32::MAX);
        let in_force = self.0.iter().rev().find(|m| m.day <= day_of_period).copied();
        let pct = in_force.map_or(Decimal::ZERO, |m| m.percent);
        Ok((unit.round(target.decimal() * pct / Decimal::ONE_HUNDRED)?, in_force))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(items: &[(u32, &str)]) -> Result<Milestones, DomainError> {
        Milestones::parse(
            "milestones",
            items.iter().map(|(d, p)| Milestone { day: *d, percent: p.parse().unwrap() }).collect(),
        )
    }

    #[test]
    fn the_guides_january() {
        let m = ms(&[(5, "20"), (15, "50")]).unwrap();
        let jan = Period::parse("p", "2024-01", 1).unwrap();
        let unit = RoundingUnit::parse("u", "0.01").unwrap();
        let target = Amount::parse("100000").unwrap();
        let at = |d: u32| m.expected(&jan, target, unit, NaiveDate::from_ymd_opt(2024, 1, d).unwrap()).unwrap();
        assert_eq!(at(4).0, Amount::ZERO);
        assert_eq!(at(10).0.to_string(), "20000.00");
        let (expected, milestone) = at(16);
        assert_eq!(expected.to_string(), "50000.00");
        assert_eq!(milestone.unwrap().day, 15);
        assert_eq!(at(31).0.to_string(), "100000.00");
    }

    #[test]
    fn bad_milestones() {
        assert!(ms(&[(5, "120")]).is_err());
        assert!(ms(&[(15, "50"), (5, "20")]).is_err());
        assert!(ms(&[(5, "50"), (15, "20")]).is_err());
        assert!(ms(&[(0, "20")]).is_err());
        assert!(ms(&[]).unwrap().is_empty());
    }
}
