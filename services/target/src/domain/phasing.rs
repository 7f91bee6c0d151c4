//! Time phasing: a per-day weight curve over the fiscal year on a working
//! calendar. Any period's target is the difference of two cumulative
//! amounts, each rounded to the plan's unit, so periods that tile a longer
//! one (months → quarter → year, ISO weeks across a month end) always sum to
//! it exactly.

use attain_core::{DomainError, money::Amount, period::Period};
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::allocation::RoundingUnit;

pub use attain_core::calendar::WorkingCalendar;

/// How a yearly target spreads over its days.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Curve {
    /// Every calendar day the same.
    Even,
    /// Every working day the same.
    WorkingDays,
    /// 12 monthly or 4 quarterly percentages summing to 100; a quarter's
    /// share splits evenly over its months; within a month, over its
    /// working days.
    Profile(Vec<Decimal>),
    /// Last year's 12 monthly actuals as the shape.
    LastYear(Vec<Decimal>),
    /// A new hire's ramp on another curve: its days weigh `percents[k]`% of
    /// the run rate in the k-th month from `from`'s month (100% after the
    /// last), so its target falls due as it gets up to speed.
    Ramp { base: Box<Curve>, from: NaiveDate, percents: Vec<Decimal> },
}

impl Curve {
    /// Checks a profile's percentages (field names for errors).
    pub fn profile(field: &str, percents: Vec<Decimal>) -> Result<Self, DomainError> {
        if percents.len() != 12 && percents.len() != 4 {
            return Err(DomainError::invalid(
                field,
                format!("give 12 monthly or 4 quarterly percentages, not {}", percents.len()),
            ));
        }
        if let Some(i) = percents.iter().position(|p| p.is_sign_negative() && !p.is_zero()) {
            return Err(DomainError::invalid(format!("{field}[{i}]"), "must not be negative"));
        }
        let sum: Decimal = percents.iter().sum();
        if sum != Decimal::ONE_HUNDRED {
            return Err(DomainError::invalid(field, format!("the percentages sum to {sum}, not 100")));
        }
        Ok(Self::Profile(percents))
    }

    /// A ramp on `base` from `from`'s month: 1 to 12 monthly percentages of
    /// the run rate, each above 0 and at most 100, never falling, the last
    /// exactly 100 (the run rate reached).
    pub fn ramp(field: &str, base: Curve, from: NaiveDate, percents: Vec<Decimal>) -> Result<Self, DomainError> {
        if percents.is_empty() || percents.len() > 12 {
            return Err(DomainError::invalid(
                field,
                format!("give 1 to 12 monthly percentages, not {}", percents.len()),
            ));
        }
        for (i, p) in percents.iter().enumerate() {
            if *p <= Decimal::ZERO || *p > Decimal::ONE_HUNDRED {
                return Err(DomainError::invalid(
                    format!("{field}[{i}]"),
                    format!("{p} is not above 0 and at most 100"),
                ));
            }
            if i > 0 && *p < percents[i - 1] {
                return Err(DomainError::invalid(format!("{field}[{i}]"), "a ramp never falls"));
            }
        }
        if percents.last() != Some(&Decimal::ONE_HUNDRED) {
            return Err(DomainError::invalid(field, "a ramp ends at 100 (the run rate)"));
        }
        if matches!(base, Curve::Ramp { .. }) {
            return Err(DomainError::invalid(field, "the curve already ramps"));
        }
        Ok(Self::Ramp { base: Box::new(base), from, percents })
    }

    pub fn last_year(field: &str, monthly: Vec<Decimal>) -> Result<Self, DomainError> {
        if monthly.len() != 12 {
            return Err(DomainError::invalid(field, format!("give 12 monthly actuals, not {}", monthly.len())));
        }
        if monthly.iter().any(|m| m.is_sign_negative() && !m.is_zero()) || monthly.iter().all(Decimal::is_zero) {
            return Err(DomainError::invalid(field, "the monthly actuals must be non-negative and not all zero"));
        }
        Ok(Self::LastYear(monthly))
    }
}

/// An amount spread from a day to the year's end on a curve: a target's
/// amount from its start, or a dated change of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub from: NaiveDate,
    pub amount: Decimal,
}

impl Piece {
    /// One piece per first day (amounts summed), in date order.
    pub fn merged(pieces: Vec<Piece>) -> Vec<Piece> {
        if pieces.windows(2).all(|w| w[0].from < w[1].from) {
            return pieces;
        }
        let mut by_day: std::collections::BTreeMap<NaiveDate, Decimal> = std::collections::BTreeMap::new();
        for p in pieces {
            *by_day.entry(p.from).or_default() += p.amount;
        }
        by_day.into_iter().map(|(from, amount)| Piece { from, amount }).collect()
    }
}

/// The part of `amount`, spread from the day after share `before` of the
/// year to its end, due by share `now`. A piece with no weight left lands
/// whole on its first day.
fn spread_through(amount: Decimal, before: Decimal, now: Decimal) -> Decimal {
    if amount.is_zero() {
        Decimal::ZERO
    } else if before.is_zero() {
        // From the year's first weighted day: the share itself (the same
        // value the division by one gives, without it).
        amount * now
    } else {
        let left = Decimal::ONE - before;
        if left <= Decimal::ZERO { amount } else { amount * ((now - before) / left) }
    }
}

/// A fiscal year's cumulative day weights, normalised to 1 at year end.
#[derive(Debug, Clone)]
pub struct DayCurve {
    year: Period,
    /// `cumulative[i]` is the share of the year through day i (0-based).
    cumulative: Vec<Decimal>,
}

impl DayCurve {
    pub fn build(year: &Period, calendar: &WorkingCalendar, curve: &Curve) -> Result<Self, DomainError> {
        let weights = day_weights(year, calendar, curve)?;
        let total: Decimal = weights.iter().sum();
        if total.is_zero() {
            return Err(DomainError::invalid("phasing", "the curve gives no day any weight (no working days?)"));
        }
        let mut running = Decimal::ZERO;
        let cumulative = weights
            .iter()
            .map(|w| {
                running += w;
                running / total
            })
            .collect::<Vec<_>>();
        let mut cumulative = cumulative;
        if let Some(last) = cumulative.last_mut() {
            *last = Decimal::ONE; // exact at year end whatever the division left
        }
        Ok(Self { year: year.clone(), cumulative })
    }
}

/// Each day's weight on `curve`, first day first.
fn day_weights(year: &Period, calendar: &WorkingCalendar, curve: &Curve) -> Result<Vec<Decimal>, DomainError> {
    let days: Vec<NaiveDate> = year.start.iter_days().take_while(|d| *d <= year.end).collect();
    Ok(match curve {
        Curve::Even => vec![Decimal::ONE; days.len()],
        Curve::WorkingDays => {
            days.iter().map(|d| if calendar.is_working(*d) { Decimal::ONE } else { Decimal::ZERO }).collect()
        }
        Curve::Profile(p) => monthly_spread(year, calendar, &month_shares(p))?,
        Curve::LastYear(m) => {
            let sum: Decimal = m.iter().sum();
            monthly_spread(year, calendar, &m.iter().map(|x| x / sum).collect::<Vec<_>>())?
        }
        Curve::Ramp { base, from, percents } => {
            let first = from.year() * 12 + i32::try_from(from.month()).unwrap_or(0);
            day_weights(year, calendar, base)?
                .into_iter()
                .zip(&days)
                .map(|(w, d)| {
                    let k = d.year() * 12 + i32::try_from(d.month()).unwrap_or(0) - first;
                    let pct = usize::try_from(k).ok().and_then(|k| percents.get(k)).copied();
                    w * pct.unwrap_or(Decimal::ONE_HUNDRED) / Decimal::ONE_HUNDRED
                })
                .collect()
        }
    })
}

impl DayCurve {
    pub fn year(&self) -> &Period {
        &self.year
    }

    /// Share of the year through the end of `day` (0 before, 1 after).
    pub fn share_through(&self, day: NaiveDate) -> Decimal {
        if day < self.year.start {
            return Decimal::ZERO;
        }
        let i = usize::try_from((day - self.year.start).num_days()).unwrap_or(usize::MAX);
        self.cumulative.get(i).copied().unwrap_or(Decimal::ONE)
    }

    /// The yearly amount's cumulative part through `day`, rounded to the unit.
    pub fn amount_through(&self, yearly: Amount, unit: RoundingUnit, day: NaiveDate) -> Result<Amount, DomainError> {
        unit.round(yearly.decimal() * self.share_through(day))
    }

    /// The share of the year's weight from `from` on: what a change
    /// effective that day is spread over (zero: nothing left to carry it).
    pub fn weight_left(&self, from: NaiveDate) -> Decimal {
        Decimal::ONE - self.share_through(from - Duration::days(1))
    }

    /// The exact cumulative amount through `day` of `pieces`, each an
    /// amount spread over its first day to the year's end on this curve
    /// (so days before a piece's first day keep their figures). A piece
    /// with no weight left lands whole on its first day.
    pub fn pieces_through(&self, pieces: &[Piece], day: NaiveDate) -> Decimal {
        let now = self.share_through(day);
        // One term per first day, in date order: decimal products round at
        // 28 digits, so the same pieces gathered in another order (a
        // parent's remainder, the audit) must still give the same cent.
        // Pieces already merged (a roll-up merges each remainder once) are
        // taken as they are.
        let term = |p: &Piece| {
            let before = self.share_through(p.from - Duration::days(1));
            spread_through(p.amount, before, now)
        };
        if pieces.windows(2).all(|w| w[0].from < w[1].from) {
            pieces.iter().filter(|p| day >= p.from).map(term).sum()
        } else {
            Piece::merged(pieces.iter().filter(|p| day >= p.from).copied().collect()).iter().map(term).sum()
        }
    }

    /// [`Self::rounded_through`] on each of `days`, in minor units (×10⁴):
    /// the same figures, with each piece's share before its first day
    /// looked up once instead of once per day (a roll-up asks every day of
    /// a period of every target).
    pub fn rounded_through_minor(
        &self,
        pieces: &[Piece],
        unit: RoundingUnit,
        days: &[NaiveDate],
    ) -> Result<Vec<i128>, DomainError> {
        let sorted: Vec<Piece> = if pieces.windows(2).all(|w| w[0].from < w[1].from) {
            pieces.to_vec()
        } else {
            Piece::merged(pieces.to_vec())
        };
        // (first day, amount, share of the year before it)
        let terms: Vec<(NaiveDate, Decimal, Decimal)> =
            sorted.iter().map(|p| (p.from, p.amount, self.share_through(p.from - Duration::days(1)))).collect();
        days.iter()
            .map(|day| {
                let now = self.share_through(*day);
                // The same terms, in the same order, as `pieces_through`.
                let sum: Decimal = terms
                    .iter()
                    .filter(|(from, ..)| *day >= *from)
                    .map(|(_, amount, before)| spread_through(*amount, *before, now))
                    .sum();
                unit.round_minor(sum)
            })
            .collect()
    }

    /// [`Self::pieces_through`] rounded to the unit: every figure is a
    /// difference of two of these, so periods that tile sum exactly.
    pub fn rounded_through(&self, pieces: &[Piece], unit: RoundingUnit, day: NaiveDate) -> Result<Amount, DomainError> {
        unit.round(self.pieces_through(pieces, day))
    }

    /// The target of `period` (which must lie inside the fiscal year).
    pub fn period_amount(
        &self,
        yearly: Amount,
        unit: RoundingUnit,
        period: &Period,
        field: &str,
    ) -> Result<Amount, DomainError> {
        period.require_within(field, &self.year)?;
        let through_end = self.amount_through(yearly, unit, period.end)?;
        let before = self.amount_through(yearly, unit, period.start - Duration::days(1))?;
        Ok(through_end.checked_sub(before)?)
    }
}

/// 12 monthly fractions summing to 1 from 12 monthly or 4 quarterly percents.
fn month_shares(percents: &[Decimal]) -> Vec<Decimal> {
    if percents.len() == 4 {
        percents.iter().flat_map(|q| std::iter::repeat_n(q / Decimal::ONE_HUNDRED / Decimal::from(3), 3)).collect()
    } else {
        percents.iter().map(|m| m / Decimal::ONE_HUNDRED).collect()
    }
}

/// Spreads each fiscal month's share over its working days (or all its days
/// when it has none).
fn monthly_spread(year: &Period, calendar: &WorkingCalendar, shares: &[Decimal]) -> Result<Vec<Decimal>, DomainError> {
    let mut out = Vec::with_capacity(366);
    let mut month_start = year.start;
    for share in shares {
        let next = month_start
            .checked_add_months(chrono::Months::new(1))
            .ok_or_else(|| DomainError::invalid("phasing", "date out of range"))?;
        let days: Vec<NaiveDate> = month_start.iter_days().take_while(|d| *d < next).collect();
        let working = days.iter().filter(|d| calendar.is_working(**d)).count();
        for d in &days {
            let w = if working == 0 {
                share / Decimal::from(days.len())
            } else if calendar.is_working(*d) {
                share / Decimal::from(working)
            } else {
                Decimal::ZERO
            };
            out.push(w);
        }
        month_start = next;
    }
    Ok(out)
}

/// Weekday of ISO number n (1 = Monday).
pub fn weekday(n: u32) -> Option<Weekday> {
    match n {
        1 => Some(Weekday::Mon),
        2 => Some(Weekday::Tue),
        3 => Some(Weekday::Wed),
        4 => Some(Weekday::Thu),
        5 => Some(Weekday::Fri),
        6 => Some(Weekday::Sat),
        7 => Some(Weekday::Sun),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn year(y: &str, start_month: u32) -> Period {
        Period::parse("p", y, start_month).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn amounts(curve: &DayCurve, yearly: &str, unit: &str, periods: &[&str]) -> Vec<String> {
        let u = RoundingUnit::parse("u", unit).unwrap();
        periods
            .iter()
            .map(|p| {
                curve
                    .period_amount(Amount::parse(yearly).unwrap(), u, &Period::parse("p", p, 1).unwrap(), "p")
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn the_guides_rep_year() {
        // 120万 → Q1 30, Q2 35, Q3 25, Q4 30; Q1's months 10 each.
        let q = |s: &str| dec(s);
        let profile = Curve::profile("p", vec![q("25"), q("29.1666666667"), q("20.8333333333"), q("25")]).unwrap();
        let curve = DayCurve::build(&year("2024", 1), &WorkingCalendar::default(), &profile).unwrap();
        assert_eq!(
            amounts(&curve, "1200000", "0.01", &["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]),
            ["300000.00", "350000.00", "250000.00", "300000.00"]
        );
        assert_eq!(
            amounts(&curve, "1200000", "0.01", &["2024-01", "2024-02", "2024-03"]),
            ["100000.00", "100000.00", "100000.00"]
        );
        assert_eq!(amounts(&curve, "1200000", "0.01", &["2024"]), ["1200000.00"]);
    }

    #[test]
    fn profiles_must_sum_to_100() {
        assert!(Curve::profile("p", vec![dec("25"); 3]).is_err());
        assert!(Curve::profile("p", vec![dec("30"), dec("30"), dec("30"), dec("11")]).is_err());
        assert!(Curve::profile("p", vec![dec("-10"), dec("50"), dec("30"), dec("30")]).is_err());
    }

    #[test]
    fn holidays_and_make_up_days_move_the_weight() {
        let mut cal = WorkingCalendar::default();
        // Spring Festival 2024: Feb 10–17 off, Feb 4 and Feb 18 (Sundays) worked.
        for d in 10..=17 {
            cal.holidays.insert(NaiveDate::from_ymd_opt(2024, 2, d).unwrap());
        }
        cal.working_weekends.insert(NaiveDate::from_ymd_opt(2024, 2, 4).unwrap());
        cal.working_weekends.insert(NaiveDate::from_ymd_opt(2024, 2, 18).unwrap());
        let curve = DayCurve::build(&year("2024", 1), &cal, &Curve::WorkingDays).unwrap();
        let total = cal
            .working_days(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(), NaiveDate::from_ymd_opt(2024, 12, 31).unwrap());
        let feb = cal
            .working_days(NaiveDate::from_ymd_opt(2024, 2, 1).unwrap(), NaiveDate::from_ymd_opt(2024, 2, 29).unwrap());
        // 21 weekdays, 5 of them holidays (the 10th, 11th and 17th are weekend days anyway), 2 make-up Sundays.
        assert_eq!(feb, 21 - 5 + 2);
        let got = amounts(&curve, &total.to_string(), "1", &["2024-02"]);
        assert_eq!(got, [format!("{feb}.00")]);
        assert_eq!(amounts(&curve, "1000", "1", &["2024-02-10"]), ["0.00"], "a holiday carries nothing");
    }

    #[test]
    fn fiscal_year_from_april_and_dates_outside_it() {
        let curve = DayCurve::build(&year("2024", 4), &WorkingCalendar::default(), &Curve::Even).unwrap();
        let u = RoundingUnit::parse("u", "0.01").unwrap();
        let jan = Period::parse("p", "2024-01", 4).unwrap();
        assert!(curve.period_amount(Amount::parse("100").unwrap(), u, &jan, "period").is_err());
        let q4 = Period::parse("p", "2024-Q4", 4).unwrap();
        assert_eq!((q4.start.month(), q4.start.year()), (1, 2025));
        assert!(curve.period_amount(Amount::parse("100").unwrap(), u, &q4, "period").is_ok());
    }

    #[test]
    fn time_progress_counts_working_days() {
        let cal = WorkingCalendar::default();
        let jan = Period::parse("p", "2024-01", 1).unwrap();
        // Jan 2024: 23 working days; through Tue Jan 16: 12.
        let p = cal.time_progress(&jan, NaiveDate::from_ymd_opt(2024, 1, 16).unwrap());
        assert_eq!(p, Decimal::from(12) / Decimal::from(23));
        assert_eq!(cal.time_progress(&jan, NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()), Decimal::ONE);
    }

    proptest! {
        #[test]
        fn months_quarters_and_weeks_tile_the_year_exactly(
            yearly_units in 1i64..10_000_000_000,
            unit_choice in 0usize..3,
            start_month in 1u32..=12,
            raw_profile in prop::collection::vec(0u32..1000, 12),
            holidays in prop::collection::vec(0i64..365, 0..30),
            method in 0usize..4,
        ) {
            let unit = RoundingUnit::parse("u", ["0.01", "1", "10000"][unit_choice]).unwrap();
            let yearly = unit.amount(i128::from(yearly_units)).unwrap();
            let fy = Period::parse("p", "2025", start_month).unwrap();
            let mut cal = WorkingCalendar::default();
            for h in holidays { cal.holidays.insert(fy.start + Duration::days(h)); }
            let sum: u32 = raw_profile.iter().sum();
            prop_assume!(sum > 0);
            let curve = match method {
                0 => Curve::Even,
                1 => Curve::WorkingDays,
                2 => Curve::LastYear(raw_profile.iter().map(|x| Decimal::from(*x)).collect()),
                _ => {
                    // Percentages with up to four decimals that sum to exactly 100.
                    let mut p: Vec<Decimal> = raw_profile.iter().map(|x| (Decimal::from(*x) * Decimal::ONE_HUNDRED / Decimal::from(sum)).round_dp(4)).collect();
                    let drift = Decimal::ONE_HUNDRED - p.iter().sum::<Decimal>();
                    p[0] += drift;
                    prop_assume!(!p[0].is_sign_negative());
                    Curve::profile("p", p).unwrap()
                }
            };
            let day_curve = DayCurve::build(&fy, &cal, &curve).unwrap();
            let amount = |p: &Period| day_curve.period_amount(yearly, unit, p, "p").unwrap();
            let add = |v: Vec<Amount>| v.into_iter().try_fold(Amount::ZERO, |a, b| a.checked_add(b)).unwrap();
            let quarters: Vec<Period> = (1..=4).map(|q| Period::parse("p", &format!("2025-Q{q}"), start_month).unwrap()).collect();
            prop_assert_eq!(add(quarters.iter().map(amount).collect()), yearly);
            let mut month = fy.start;
            let mut months = Vec::new();
            while month <= fy.end {
                months.push(Period::month_of(month));
                month = month.checked_add_months(chrono::Months::new(1)).unwrap();
            }
            prop_assert_eq!(add(months.iter().map(amount).collect()), yearly);
            for q in &quarters {
                let inside: Vec<Amount> = months.iter().filter(|m| q.contains(m.start)).map(amount).collect();
                prop_assert_eq!(add(inside), amount(q));
            }
            for a in months.iter().map(amount) {
                prop_assert!(unit.exact_units(a).is_some());
            }
        }
    }
}
