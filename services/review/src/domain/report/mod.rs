//! What a review report says: the next-period suggestion (trend × growth,
//! formula shown), rendered as Markdown or as the guide's workbook, in one
//! language at a time.

pub mod markdown;
pub mod words;
pub mod workbook;

use attain_core::{
    money::Amount,
    period::{Granularity, Period, add_months},
};
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

use super::review::{ActionItem, Cause, Figures, Review};

/// Titles in the report's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub fn t(self, en: &'static str, zh: &'static str) -> &'static str {
        match self {
            Self::En => en,
            Self::Zh => zh,
        }
    }
}

/// The period after `p`, of the same kind.
pub fn next_period(p: &Period) -> Option<Period> {
    let start = p.end + Duration::days(1);
    let months = match p.granularity {
        Granularity::Month => Some(1),
        Granularity::Quarter => Some(3),
        Granularity::Year => Some(12),
        _ => None,
    };
    let end = match months {
        Some(m) => add_months(start, m)? - Duration::days(1),
        None => start + Duration::days(p.days() - 1),
    };
    let expression = match p.granularity {
        Granularity::Month => start.format("%Y-%m").to_string(),
        _ => format!("{}..{}", start.format("%Y-%m-%d"), end.format("%Y-%m-%d")),
    };
    Period::parse("period", &expression, 1).ok()
}

/// How many such periods make a year (to annualise a suggestion).
pub fn per_year(p: &Period) -> Decimal {
    match p.granularity {
        Granularity::Month => Decimal::from(12),
        Granularity::Quarter => Decimal::from(4),
        Granularity::Year => Decimal::ONE,
        Granularity::Week => Decimal::from(52),
        _ => (Decimal::from(365) / Decimal::from(p.days().max(1))).round_dp(4),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub next: Period,
    /// What the trend is: the period's actual, or (still running) its
    /// run-rate forecast to the end.
    pub basis: TrendBasis,
    pub trend: Amount,
    pub growth: Decimal,
    pub amount: Amount,
    pub formula: String,
    pub members: Vec<(String, Amount)>,
}

fn grown(a: Amount, g: Decimal) -> Amount {
    Amount::from_decimal((a.decimal() * (Decimal::ONE + g)).round_dp(2)).unwrap_or(a)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendBasis {
    Actual,
    Forecast,
}

impl TrendBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Actual => "actual",
            Self::Forecast => "forecast",
        }
    }
}

/// The figure a suggestion grows: a period that is over, its actual; one
/// still running on `today`, its run-rate forecast to the end — half a
/// month's sales are not a month's trend. (Briefs stored before forecasts
/// were kept fall back to the actual.)
fn trend_of(f: &Figures, basis: TrendBasis) -> Amount {
    let figure = match basis {
        TrendBasis::Forecast if !f.forecast.is_empty() => &f.forecast,
        _ => &f.actual,
    };
    Amount::parse(figure).unwrap_or(Amount::ZERO)
}

/// The trend grown by `g`, for the unit and each member.
pub fn suggest(review: &Review, growth: Decimal, today: NaiveDate) -> Option<Suggestion> {
    let next = next_period(&review.period)?;
    let running = today <= review.period.end && !review.brief.unit.forecast.is_empty();
    let basis = if running { TrendBasis::Forecast } else { TrendBasis::Actual };
    let trend = trend_of(&review.brief.unit, basis);
    let amount = grown(trend, growth);
    let members = review.brief.members.iter().map(|m| (m.unit.clone(), grown(trend_of(m, basis), growth))).collect();
    Some(Suggestion {
        formula: format!("{} {trend} × (1 + {growth}) = {amount}", basis.as_str()),
        next,
        basis,
        trend,
        growth,
        amount,
        members,
    })
}

/// The members' totals of target, actual, gap and expected-to-date, and
/// what the unit holds beyond them (its own remainder, its own deals): the
/// unit is always members + own. `None` without members.
pub fn members_and_own(brief: &super::review::Brief) -> Option<([Decimal; 4], [Decimal; 4])> {
    if brief.members.is_empty() {
        return None;
    }
    let four = |f: &Figures| {
        [&f.target, &f.actual, &f.gap, &f.expected_to_date].map(|s| s.trim().parse::<Decimal>().unwrap_or_default())
    };
    let mut members = [Decimal::ZERO; 4];
    for m in &brief.members {
        for (total, v) in members.iter_mut().zip(four(m)) {
            *total += v;
        }
    }
    let unit = four(&brief.unit);
    let own = [0, 1, 2, 3].map(|i| unit[i] - members[i]);
    Some((members, own))
}

/// What the report needs of the plan.
#[derive(Debug, Clone, Default)]
pub struct PlanFacts {
    pub display_name: String,
    pub fiscal_year: i32,
    pub currency: String,
    pub base: String,
    pub growth: String,
    pub top_target: String,
    /// (day of the period, cumulative percent "20").
    pub milestones: Vec<(i32, String)>,
}

/// A deal as the weekly progress sheet lists it.
#[derive(Debug, Clone)]
pub struct DealLine {
    pub close_date: String,
    /// Resource name.
    pub rep: String,
    pub customer: String,
    pub amount: String,
    pub reversal: bool,
}

/// The period's deals the weekly sheet lists, and whether there were more.
#[derive(Debug, Clone, Default)]
pub struct Deals {
    pub lines: Vec<DealLine>,
    pub more: bool,
}

impl Deals {
    /// A sheet of this many rows still opens quickly; past it the sheet
    /// says so and its total is the listed rows' only.
    pub const LIMIT: usize = 20_000;
}

/// Everything a report shows: the review as it reads now and what it
/// draws on.
#[derive(Debug, Clone)]
pub struct Report {
    pub review: Review,
    pub plan: PlanFacts,
    pub causes: Vec<Cause>,
    pub actions: Vec<ActionItem>,
    /// (title, text)
    pub practices: Vec<(String, String)>,
    pub reallocations: Vec<super::practice::Reallocation>,
    pub suggestion: Suggestion,
    pub names: words::Names,
    /// The day the report reads as of (overdue actions).
    pub today: NaiveDate,
}
