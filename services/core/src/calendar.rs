//! Which days are worked: the plan's calendar, shared by the target
//! service (phasing) and tracking (staleness, escalation, cadence) so
//! "a working day" has one meaning.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::period::Period;

/// Which days are worked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingCalendar {
    /// ISO weekday numbers (1 = Monday … 7 = Sunday) not worked.
    pub weekend_days: BTreeSet<u32>,
    pub holidays: BTreeSet<NaiveDate>,
    /// Weekend dates that are worked (make-up days).
    pub working_weekends: BTreeSet<NaiveDate>,
}

impl Default for WorkingCalendar {
    fn default() -> Self {
        Self { weekend_days: [6, 7].into(), holidays: BTreeSet::new(), working_weekends: BTreeSet::new() }
    }
}

impl WorkingCalendar {
    pub fn is_working(&self, d: NaiveDate) -> bool {
        if self.holidays.contains(&d) {
            return false;
        }
        self.working_weekends.contains(&d) || !self.weekend_days.contains(&d.weekday().number_from_monday())
    }

    /// Working days from `start` through `end` (inclusive).
    pub fn working_days(&self, start: NaiveDate, end: NaiveDate) -> i64 {
        start.iter_days().take_while(|d| *d <= end).filter(|d| self.is_working(*d)).count() as i64
    }

    /// Share of a period's working days elapsed by the end of `day` (by
    /// calendar days when the period has no working day).
    pub fn time_progress(&self, period: &Period, day: NaiveDate) -> Decimal {
        if day < period.start {
            return Decimal::ZERO;
        }
        let through = day.min(period.end);
        let total = self.working_days(period.start, period.end);
        let (done, total) = if total == 0 {
            ((through - period.start).num_days() + 1, period.days())
        } else {
            (self.working_days(period.start, through), total)
        };
        Decimal::from(done) / Decimal::from(total)
    }

    /// Working days after `from` up to and including `to`.
    pub fn working_days_after(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| self.is_working(*d))
            .count()
            .try_into()
            .unwrap_or(u32::MAX)
    }
}
