//! Periods: what "2024", "2024-Q1", "2024-01", "2024-W03", "2024-01-16" or
//! "2024-01-01..2024-01-20" mean as inclusive date ranges. Years and
//! quarters are fiscal (the plan's start month); months, ISO weeks, days
//! and ranges are calendar dates.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Custom,
}

/// An inclusive range of days with the expression it came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Period {
    pub expression: String,
    pub granularity: Granularity,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    /// Parses an expression; `fiscal_start_month` (1–12) anchors years and
    /// quarters. `field` names the request field in errors.
    pub fn parse(field: &str, expr: &str, fiscal_start_month: u32) -> Result<Self, DomainError> {
        let bad = |why: &str| DomainError::invalid(field, format!("{expr:?} is not a period: {why}"));
        let expr = expr.trim();
        if expr.is_empty() {
            return Err(DomainError::invalid(field, "is required (e.g. 2024, 2024-Q1, 2024-01, 2024-W03, 2024-01-16)"));
        }
        if let Some((a, b)) = expr.split_once("..") {
            let start = date(a).ok_or_else(|| bad("the range start is not YYYY-MM-DD"))?;
            let end = date(b).ok_or_else(|| bad("the range end is not YYYY-MM-DD"))?;
            if end < start {
                return Err(bad("the range ends before it starts"));
            }
            if (end - start).num_days() > 366 * 5 {
                return Err(bad("a range may span at most five years"));
            }
            return Ok(Self::new(expr, Granularity::Custom, start, end));
        }
        let year = |s: &str| -> Result<i32, DomainError> {
            if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("the year must have four digits"));
            }
            s.parse::<i32>().ok().filter(|y| (1900..=9999).contains(y)).ok_or_else(|| bad("the year is out of range"))
        };
        let parts: Vec<&str> = expr.split('-').collect();
        match parts.as_slice() {
            [y] => {
                let start =
                    fiscal_year_start(year(y)?, fiscal_start_month).ok_or_else(|| bad("bad fiscal start month"))?;
                let end = add_months(start, 12).ok_or_else(|| bad("out of range"))? - Duration::days(1);
                Ok(Self::new(expr, Granularity::Year, start, end))
            }
            [y, q] if q.starts_with('Q') => {
                let n: u32 = q[1..]
                    .parse()
                    .ok()
                    .filter(|n| (1..=4).contains(n))
                    .ok_or_else(|| bad("the quarter must be Q1–Q4"))?;
                let fy =
                    fiscal_year_start(year(y)?, fiscal_start_month).ok_or_else(|| bad("bad fiscal start month"))?;
                let start = add_months(fy, (n - 1) * 3).ok_or_else(|| bad("out of range"))?;
                let end = add_months(start, 3).ok_or_else(|| bad("out of range"))? - Duration::days(1);
                Ok(Self::new(expr, Granularity::Quarter, start, end))
            }
            [_, w] if w.starts_with('w') => Err(bad("write the week with a capital W (2024-W03)")),
            [y, w] if w.starts_with('W') => {
                // Two digits: "2024-W3" would be stored beside "2024-W03"
                // as another period.
                let n: u32 = w[1..]
                    .parse()
                    .ok()
                    .filter(|_| w.len() == 3)
                    .ok_or_else(|| bad("the week must be W01–W53, two digits"))?;
                let start = NaiveDate::from_isoywd_opt(year(y)?, n, Weekday::Mon)
                    .ok_or_else(|| bad("that ISO week does not exist"))?;
                Ok(Self::new(expr, Granularity::Week, start, start + Duration::days(6)))
            }
            [y, m] => {
                let month: u32 =
                    m.parse().ok().filter(|_| m.len() == 2).ok_or_else(|| bad("the month must be 01–12"))?;
                let start =
                    NaiveDate::from_ymd_opt(year(y)?, month, 1).ok_or_else(|| bad("the month must be 01–12"))?;
                let end = add_months(start, 1).ok_or_else(|| bad("out of range"))? - Duration::days(1);
                Ok(Self::new(expr, Granularity::Month, start, end))
            }
            [_, _, _] => {
                let d = date(expr).ok_or_else(|| bad("the date does not exist (YYYY-MM-DD)"))?;
                Ok(Self::new(expr, Granularity::Day, d, d))
            }
            _ => Err(bad("use 2024, 2024-Q1, 2024-01, 2024-W03, 2024-01-16 or 2024-01-01..2024-01-20")),
        }
    }

    fn new(expr: &str, granularity: Granularity, start: NaiveDate, end: NaiveDate) -> Self {
        Self { expression: expr.to_owned(), granularity, start, end }
    }

    /// The calendar month starting on `start`'s first day.
    pub fn month_of(day: NaiveDate) -> Self {
        let start = day.with_day(1).unwrap_or(day);
        let end = add_months(start, 1).map_or(start, |n| n - Duration::days(1));
        Self::new(&start.format("%Y-%m").to_string(), Granularity::Month, start, end)
    }

    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    pub fn overlaps(&self, other: &Period) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// A period is read against one plan's fiscal year (`year`); one that
    /// straddles its edge (ISO week 2025-W01 begins on 2024-12-30) is
    /// refused the same way by every service, naming the days the plan
    /// does cover so the caller can ask for exactly those.
    pub fn require_within(&self, field: &str, year: &Period) -> Result<(), DomainError> {
        if self.start >= year.start && self.end <= year.end {
            return Ok(());
        }
        let range = format!("{} ({}..{})", self.expression, self.start, self.end);
        let fiscal = format!("the plan's fiscal year {}..{}", year.start, year.end);
        Err(DomainError::invalid(
            field,
            if self.overlaps(year) {
                format!(
                    "{range} lies partly outside {fiscal}; the plan covers {}..{} of it (ask for that range)",
                    self.start.max(year.start),
                    self.end.min(year.end)
                )
            } else {
                format!("{range} lies outside {fiscal}")
            },
        ))
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.start <= day && day <= self.end
    }

    /// The same period one year earlier (for year-over-year figures).
    pub fn a_year_earlier(&self) -> Option<Self> {
        let shift =
            |d: NaiveDate| d.with_year(d.year() - 1).or_else(|| (d - Duration::days(1)).with_year(d.year() - 1));
        Some(Self::new(
            &format!("{} (a year earlier)", self.expression),
            self.granularity,
            shift(self.start)?,
            shift(self.end)?,
        ))
    }
}

fn date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// First day of fiscal year `year` (it starts in that calendar year).
pub fn fiscal_year_start(year: i32, fiscal_start_month: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, fiscal_start_month, 1)
}

pub fn add_months(d: NaiveDate, months: u32) -> Option<NaiveDate> {
    d.checked_add_months(chrono::Months::new(months))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Period {
        Period::parse("period", s, 1).unwrap()
    }

    proptest::proptest! {
        // Fuzzing by property: whatever the text and fiscal start, a parse
        // answers (an error names the field), never panics.
        #[test]
        fn parse_never_panics(s in "\\PC{0,30}", month in 0u32..15) {
            if let Err(e) = Period::parse("period", &s, month) {
                proptest::prop_assert!(e.to_string().contains("period"), "{}", e);
            }
        }

        #[test]
        fn period_shaped_noise_never_panics(s in "[0-9]{0,5}(-([0-9QWH]{0,3}|[0-9]{1,2}-[0-9]{1,2}))?(\\.\\.[0-9-]{0,10})?") {
            let _ = Period::parse("period", &s, 1);
        }

        // Every real month parses to itself and has the right bounds.
        #[test]
        fn months_parse(year in 1900i32..2200, month in 1u32..=12) {
            let expr = format!("{year}-{month:02}");
            let period = Period::parse("period", &expr, 1).unwrap();
            proptest::prop_assert_eq!(period.start, NaiveDate::from_ymd_opt(year, month, 1).unwrap());
            proptest::prop_assert!(period.end >= period.start && period.days() >= 28 && period.days() <= 31);
        }
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn calendar_fiscal_year() {
        assert_eq!((p("2024").start, p("2024").end), (d("2024-01-01"), d("2024-12-31")));
        assert_eq!((p("2024-Q2").start, p("2024-Q2").end), (d("2024-04-01"), d("2024-06-30")));
        assert_eq!((p("2024-02").start, p("2024-02").end), (d("2024-02-01"), d("2024-02-29")));
        assert_eq!(p("2024-01-16").days(), 1);
        assert_eq!(p("2024-01-01..2024-01-20").days(), 20);
    }

    #[test]
    fn iso_week_straddles_months() {
        let w = p("2024-W05");
        assert_eq!((w.start, w.end), (d("2024-01-29"), d("2024-02-04")));
        let w1 = p("2025-W01");
        assert_eq!(w1.start, d("2024-12-30"));
        // One spelling per week: "2024-W3" would be another key than
        // "2024-W03" wherever periods are stored.
        for bad in ["2024-W3", "2024-W003", "2024-w03"] {
            let e = Period::parse("period", bad, 1).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains("W03") || e.contains("two digits"), "{bad}: {e}");
        }
    }

    #[test]
    fn fiscal_year_starting_in_april() {
        let fy = Period::parse("period", "2024", 4).unwrap();
        assert_eq!((fy.start, fy.end), (d("2024-04-01"), d("2025-03-31")));
        let q4 = Period::parse("period", "2024-Q4", 4).unwrap();
        assert_eq!((q4.start, q4.end), (d("2025-01-01"), d("2025-03-31")));
    }

    #[test]
    fn bad_periods_name_the_field() {
        for bad in [
            "2024-Q5",
            "2024-13",
            "2024-Q0",
            "24",
            "2024-W54",
            "2024-02-30",
            "2024-1",
            "x",
            "",
            "2024-01-20..2024-01-01",
            "2024/01",
        ] {
            match Period::parse("period", bad, 1) {
                Err(DomainError::InvalidArgument(v)) => assert_eq!(v[0].field, "period"),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn a_year_earlier_handles_leap_days() {
        let prev = p("2024-02").a_year_earlier().unwrap();
        assert_eq!((prev.start, prev.end), (d("2023-02-01"), d("2023-02-28")));
    }
}
