//! The audit's own arithmetic, written apart from the services on purpose:
//! working calendars, day curves, cumulative rounding, the roll-up of period
//! targets, actuals from deal lines, and the derived figures. Were it to
//! share the services' code, a bug there would be a bug here and the audit
//! would agree with it.

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, Duration, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

/// Which days are worked.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    pub weekend: BTreeSet<u32>,
    pub holidays: BTreeSet<NaiveDate>,
    pub working_weekends: BTreeSet<NaiveDate>,
}

impl Calendar {
    pub fn works(&self, d: NaiveDate) -> bool {
        !self.holidays.contains(&d)
            && (self.working_weekends.contains(&d) || !self.weekend.contains(&d.weekday().number_from_monday()))
    }

    fn count(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        let mut n = 0;
        let mut d = from;
        while d <= to {
            n += i64::from(self.works(d));
            d += Duration::days(1);
        }
        n
    }
}

/// How a yearly amount spreads over its days.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Shape {
    Even,
    WorkingDays,
    /// 12 monthly or 4 quarterly percentages.
    Profile(Vec<Decimal>),
    /// 12 monthly actuals of last year.
    LastYear(Vec<Decimal>),
    /// A ramp on another shape: the k-th month from `from`'s weighs
    /// `percents[k]`% (100% after the last).
    Ramp(Box<Shape>, NaiveDate, Vec<Decimal>),
}

/// A milestone: by this day of the month, this percent.
pub type Checkpoint = (u32, Decimal);

/// What the audit needs of a plan.
#[derive(Debug, Clone)]
pub struct PlanRules {
    pub year_start: NaiveDate,
    pub year_end: NaiveDate,
    pub rounding: Decimal,
    pub calendar: Calendar,
    pub default_shape: Shape,
    pub template: Vec<Checkpoint>,
    pub red_below: Decimal,
    pub yellow_below: Decimal,
}

/// One target as read from ListTargets.
#[derive(Debug, Clone)]
pub struct TargetRecord {
    pub id: String,
    pub unit: String,
    pub sliced: bool,
    pub amount: Decimal,
    pub original: Decimal,
    pub parent: Option<String>,
    pub shape: Option<Shape>,
    pub milestones: Vec<Checkpoint>,
    /// The first day it carries weight, when after the year's first.
    pub start: Option<NaiveDate>,
    /// Its dated changes: (effective date, change of the yearly amount).
    pub steps: Vec<(NaiveDate, Decimal)>,
    /// Its moves: (first day under the next parent, the parent before,
    /// what it carried across); `parent` is the one after the last.
    pub moves: Vec<(NaiveDate, String, Decimal)>,
}

/// The days a child counts under a parent (inclusive; `None`: open).
type Window = (Option<NaiveDate>, Option<NaiveDate>);

fn and(a: Window, b: Window) -> Window {
    let from = match (a.0, b.0) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    let until = match (a.1, b.1) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    (from, until)
}

/// `[from, to]` cut to the window.
fn clip((from, to): (NaiveDate, NaiveDate), w: Window) -> (NaiveDate, NaiveDate) {
    (w.0.map_or(from, |a| from.max(a)), w.1.map_or(to, |b| to.min(b)))
}

/// One parent of a target over a span: the child, the span's index among
/// its memberships (`None`: as published, the whole year).
#[derive(Clone, Copy)]
struct Link {
    child: usize,
    span: Option<usize>,
}

/// An amount spread from a day to the year's end.
type Spread = (NaiveDate, Decimal);

/// One deal record as read from ListDeals: each credited line's path and
/// amount (a reversal's amounts are negative), and +1 or −1 deals won.
#[derive(Debug, Clone)]
pub struct DealRecord {
    pub close: NaiveDate,
    pub won: i64,
    pub lines: Vec<(Vec<String>, Decimal)>,
}

/// A period as dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The month whose milestones it reads (first and last day): its own
    /// for a month, the one holding it for a custom range inside one month
    /// (a stay read over its days), none otherwise.
    pub month: Option<(NaiveDate, NaiveDate)>,
}

impl Span {
    /// `[start, end]`, a month or not; a custom range inside one month
    /// reads that month's milestones.
    pub fn new(start: NaiveDate, end: NaiveDate, monthly: bool, custom: bool) -> Self {
        use chrono::Datelike;
        let first = start.with_day(1);
        let last = first.and_then(|f| f.checked_add_months(chrono::Months::new(1))).and_then(|n| n.pred_opt());
        let month = match (first, last) {
            _ if monthly => Some((start, end)),
            (Some(f), Some(l)) if custom && end <= l => Some((f, l)),
            _ => None,
        };
        Self { start, end, month }
    }
}

fn round_to(unit: Decimal, d: Decimal) -> Decimal {
    (d / unit).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero) * unit
}

/// Ratios as the services state them: 4 places, half to even.
pub fn ratio(a: Decimal, b: Decimal) -> Option<Decimal> {
    (!b.is_zero()).then(|| (a / b).round_dp_with_strategy(4, RoundingStrategy::MidpointNearestEven))
}

/// Day curves of a plan's year, each built once.
pub struct Curves<'a> {
    plan: &'a PlanRules,
    built: HashMap<Shape, Vec<Decimal>>,
}

impl<'a> Curves<'a> {
    pub fn new(plan: &'a PlanRules) -> Self {
        Self { plan, built: HashMap::new() }
    }

    /// Share of the year through each day, the last day exactly 1.
    fn shares(&mut self, shape: &Shape) -> &[Decimal] {
        if !self.built.contains_key(shape) {
            let p = self.plan;
            let mut days = Vec::new();
            let mut d = p.year_start;
            while d <= p.year_end {
                days.push(d);
                d += Duration::days(1);
            }
            let weights = weights(p, &days, shape);
            let total: Decimal = weights.iter().sum();
            let mut running = Decimal::ZERO;
            let mut shares: Vec<Decimal> = weights
                .iter()
                .map(|w| {
                    running += w;
                    if total.is_zero() { Decimal::ZERO } else { running / total }
                })
                .collect();
            if let Some(last) = shares.last_mut() {
                *last = Decimal::ONE;
            }
            self.built.insert(shape.clone(), shares);
        }
        self.built.get(shape).map(Vec::as_slice).unwrap_or_default()
    }

    /// The share of the year through the end of `day` (0 before it starts).
    fn share(&mut self, shape: &Shape, day: NaiveDate) -> Decimal {
        let start = self.plan.year_start;
        if day < start {
            return Decimal::ZERO;
        }
        let i = usize::try_from((day - start).num_days()).unwrap_or(usize::MAX);
        self.shares(shape).get(i).copied().unwrap_or(Decimal::ONE)
    }

    /// The rounded cumulative part of `spreads` through the end of `day`:
    /// each amount goes over its first day to the year's end in proportion
    /// to the curve's weight there.
    fn through(&mut self, shape: &Shape, spreads: &[Spread], day: NaiveDate) -> Decimal {
        let now = self.share(shape, day);
        // Summed per first day in date order: products round at 28 digits,
        // and the services sum in this order too, so a tie at half a cent
        // rounds the same way on both sides.
        let mut by_day: std::collections::BTreeMap<NaiveDate, Decimal> = std::collections::BTreeMap::new();
        for (from, amount) in spreads.iter().filter(|(from, _)| day >= *from) {
            *by_day.entry(*from).or_default() += *amount;
        }
        let mut exact = Decimal::ZERO;
        for (from, amount) in &by_day {
            let gone = self.share(shape, *from - Duration::days(1));
            exact += if gone >= Decimal::ONE { *amount } else { *amount * ((now - gone) / (Decimal::ONE - gone)) };
        }
        round_to(self.plan.rounding, exact)
    }

    /// `spreads`' part over `[from, to]`.
    fn between(&mut self, shape: &Shape, spreads: &[Spread], from: NaiveDate, to: NaiveDate) -> Decimal {
        if to < from {
            return Decimal::ZERO;
        }
        self.through(shape, spreads, to) - self.through(shape, spreads, from - Duration::days(1))
    }
}

/// Each day's weight on `shape`.
fn weights(p: &PlanRules, days: &[NaiveDate], shape: &Shape) -> Vec<Decimal> {
    match shape {
        Shape::Even => days.iter().map(|_| Decimal::ONE).collect(),
        Shape::WorkingDays => {
            days.iter().map(|d| if p.calendar.works(*d) { Decimal::ONE } else { Decimal::ZERO }).collect()
        }
        Shape::Profile(pcts) => {
            let months: Vec<Decimal> = if pcts.len() == 4 {
                pcts.iter().flat_map(|q| [q / Decimal::ONE_HUNDRED / Decimal::from(3); 3]).collect()
            } else {
                pcts.iter().map(|m| m / Decimal::ONE_HUNDRED).collect()
            };
            by_month(p, days, &months)
        }
        Shape::LastYear(monthly) => {
            let sum: Decimal = monthly.iter().sum();
            let months: Vec<Decimal> = monthly.iter().map(|m| m / sum).collect();
            by_month(p, days, &months)
        }
        Shape::Ramp(base, from, percents) => {
            let month = |d: &NaiveDate| d.year() * 12 + i32::try_from(d.month()).unwrap_or(0);
            weights(p, days, base)
                .into_iter()
                .zip(days)
                .map(|(w, d)| {
                    let k = usize::try_from(month(d) - month(from)).ok();
                    w * k.and_then(|k| percents.get(k)).copied().unwrap_or(Decimal::ONE_HUNDRED) / Decimal::ONE_HUNDRED
                })
                .collect()
        }
    }
}

/// Each fiscal month's share over its working days (all its days if none).
fn by_month(p: &PlanRules, days: &[NaiveDate], months: &[Decimal]) -> Vec<Decimal> {
    let mut out = Vec::with_capacity(days.len());
    let mut month_start = p.year_start;
    for share in months {
        let next = month_start.checked_add_months(chrono::Months::new(1)).unwrap_or(p.year_end);
        let in_month: Vec<NaiveDate> = days.iter().copied().filter(|d| *d >= month_start && *d < next).collect();
        let working = in_month.iter().filter(|d| p.calendar.works(**d)).count();
        for d in &in_month {
            out.push(if working == 0 {
                share / Decimal::from(in_month.len())
            } else if p.calendar.works(*d) {
                share / Decimal::from(working)
            } else {
                Decimal::ZERO
            });
        }
        month_start = next;
    }
    out
}

/// The plan's targets, for roll-ups.
pub struct Targets {
    list: Vec<TargetRecord>,
    /// Children now: one link per span under the parent.
    children: HashMap<String, Vec<Link>>,
    /// Children as published: under their first parent.
    published: HashMap<String, Vec<Link>>,
}

#[derive(Clone, Copy)]
enum Basis {
    Now,
    Published,
}

impl Targets {
    pub fn new(list: Vec<TargetRecord>) -> Self {
        let mut children: HashMap<String, Vec<Link>> = HashMap::new();
        let mut published: HashMap<String, Vec<Link>> = HashMap::new();
        for (i, t) in list.iter().enumerate() {
            let parents: Vec<Option<&String>> =
                t.moves.iter().map(|(_, p, _)| Some(p)).chain(std::iter::once(t.parent.as_ref())).collect();
            for (span, p) in parents.iter().enumerate() {
                if let Some(p) = p {
                    children.entry((*p).clone()).or_default().push(Link { child: i, span: Some(span) });
                }
            }
            if let Some(Some(first)) = parents.first() {
                published.entry((*first).clone()).or_default().push(Link { child: i, span: None });
            }
        }
        Self { list, children, published }
    }

    /// The days of a target's `span`-th membership.
    fn window(&self, link: Link) -> Window {
        let Some(span) = link.span else { return (None, None) };
        let moves = &self.list[link.child].moves;
        let from = span.checked_sub(1).and_then(|k| moves.get(k)).map(|(d, _, _)| *d);
        let until = moves.get(span).and_then(|(d, _, _)| d.pred_opt());
        (from, until)
    }

    /// What a child brings to its parent's remainder over a span: as
    /// published all its amounts; now, what it carried in, its changes
    /// dated inside the span, less what it carried out.
    fn brings(&self, link: Link, basis: Basis, year_start: NaiveDate) -> Vec<Spread> {
        let all = self.spreads(link.child, basis, year_start);
        let Some(span) = link.span else { return all };
        let moves = &self.list[link.child].moves;
        let (from, until) = self.window(link);
        let mut out: Vec<Spread> =
            all.into_iter().filter(|(d, _)| from.is_none_or(|a| *d >= a) && until.is_none_or(|b| *d <= b)).collect();
        if let Some((d, _, carried)) = span.checked_sub(1).and_then(|k| moves.get(k)) {
            out.push((*d, *carried));
        }
        if let Some((d, _, carried)) = moves.get(span) {
            out.push((*d, -*carried));
        }
        out
    }

    /// The unit's whole target, if it has one.
    pub fn of_unit(&self, unit: &str) -> Option<usize> {
        self.list.iter().position(|t| t.unit == unit && !t.sliced)
    }

    fn kids(&self, i: usize, basis: Basis) -> &[Link] {
        let map = match basis {
            Basis::Now => &self.children,
            Basis::Published => &self.published,
        };
        map.get(&self.list[i].id).map(Vec::as_slice).unwrap_or_default()
    }

    /// The target's amounts with their first days: now, the amount before
    /// any dated change from its start and each change from its date; as
    /// published, the original amount from its start.
    fn spreads(&self, i: usize, basis: Basis, year_start: NaiveDate) -> Vec<Spread> {
        let t = &self.list[i];
        let start = t.start.map_or(year_start, |s| s.max(year_start));
        match basis {
            Basis::Published => vec![(start, t.original)],
            Basis::Now => {
                let changed: Decimal = t.steps.iter().map(|(_, d)| *d).sum();
                let mut v = vec![(start, t.amount - changed)];
                v.extend(t.steps.iter().map(|(from, d)| ((*from).max(start), *d)));
                v
            }
        }
    }

    /// Σ children's figure + `own(target, remainder, window)`,
    /// recursively, counting the days of `window`; the remainder is the
    /// target's spreads less what its children bring.
    fn rolled(
        &self,
        (i, window): (usize, Window),
        (basis, year_start): (Basis, NaiveDate),
        own: &mut dyn FnMut(&TargetRecord, &[Spread], Window) -> Decimal,
    ) -> Decimal {
        let kids = self.kids(i, basis);
        let mut remainder = self.spreads(i, basis, year_start);
        for k in kids {
            remainder.extend(self.brings(*k, basis, year_start).into_iter().map(|(d, a)| (d, -a)));
        }
        let below: Decimal =
            kids.iter().map(|k| self.rolled((k.child, and(window, self.window(*k))), (basis, year_start), own)).sum();
        below + own(&self.list[i], &remainder, window)
    }

    fn shape<'s>(&'s self, t: &'s TargetRecord, plan: &'s PlanRules) -> &'s Shape {
        t.shape.as_ref().unwrap_or(&plan.default_shape)
    }

    /// (current, published) target of the period.
    pub fn period(&self, curves: &mut Curves<'_>, plan: &PlanRules, i: usize, span: Span) -> (Decimal, Decimal) {
        let mut f = |basis| {
            self.rolled((i, (None, None)), (basis, plan.year_start), &mut |t, rem, w| {
                let (from, to) = clip((span.start, span.end), w);
                curves.between(self.shape(t, plan), rem, from, to)
            })
        };
        (f(Basis::Now), f(Basis::Published))
    }

    /// Expected by the end of `day`, by the day curves.
    pub fn by_curve(&self, curves: &mut Curves<'_>, plan: &PlanRules, i: usize, span: Span, day: NaiveDate) -> Decimal {
        self.rolled((i, (None, None)), (Basis::Now, plan.year_start), &mut |t, rem, w| {
            let (from, to) = clip((span.start, day.min(span.end)), w);
            curves.between(self.shape(t, plan), rem, from, to)
        })
    }

    /// Expected by the end of `day`, by each target's milestones on its
    /// own part (its curve without milestones or outside months).
    pub fn by_milestone(
        &self,
        curves: &mut Curves<'_>,
        plan: &PlanRules,
        i: usize,
        span: Span,
        day: NaiveDate,
    ) -> Decimal {
        self.rolled((i, (None, None)), (Basis::Now, plan.year_start), &mut |t, rem, w| {
            let template = if t.milestones.is_empty() { &plan.template } else { &t.milestones };
            let shape = self.shape(t, plan);
            let Some((first, last)) = span.month.filter(|_| !template.is_empty()) else {
                let (from, to) = clip((span.start, day.min(span.end)), w);
                return curves.between(shape, rem, from, to);
            };
            // What its month's milestones made due by `x`: a share of the
            // month's target as it stood that day (changes effective later
            // do not rewrite the days before them).
            let mut due_by = |x: NaiveDate| -> Decimal {
                if x < first {
                    return Decimal::ZERO;
                }
                let known: Vec<Spread> = rem.iter().filter(|(from, _)| *from <= x).copied().collect();
                let own = curves.between(shape, &known, first, last);
                if x >= last {
                    return own;
                }
                let nth = u32::try_from((x - first).num_days() + 1).unwrap_or(u32::MAX);
                let pct = template.iter().filter(|(d, _)| *d <= nth).map(|(_, p)| *p).next_back().unwrap_or_default();
                round_to(plan.rounding, own * pct / Decimal::ONE_HUNDRED)
            };
            // Over the days counted here (the span's, a member's stay):
            // what fell due by the day less what had before the first.
            let (lo, hi) = clip((span.start, span.end), w);
            if day < lo || lo > hi {
                return Decimal::ZERO;
            }
            let before = lo.pred_opt().map_or(Decimal::ZERO, &mut due_by);
            due_by(day.min(hi)) - before
        })
    }
}

/// A unit's actual and deals won over `[from, to]`: each line credited to
/// a rep on a path through the unit counts; a deal counts once as won.
pub fn actual(deals: &[DealRecord], unit: &str, from: NaiveDate, to: NaiveDate) -> (Decimal, i64) {
    let mut amount = Decimal::ZERO;
    let mut won = 0;
    for d in deals.iter().filter(|d| d.close >= from && d.close <= to) {
        let mine: Vec<&(Vec<String>, Decimal)> =
            d.lines.iter().filter(|(path, _)| path.iter().any(|u| u == unit)).collect();
        if !mine.is_empty() {
            amount += mine.iter().map(|(_, a)| *a).sum::<Decimal>();
            won += d.won;
        }
    }
    (amount, won)
}

/// Share of the period's working days gone by the end of `day` (calendar
/// days when it has none).
pub fn progress(cal: &Calendar, span: Span, day: NaiveDate) -> Decimal {
    if day < span.start {
        return Decimal::ZERO;
    }
    let through = day.min(span.end);
    let total = cal.count(span.start, span.end);
    let (done, total) = if total == 0 {
        ((through - span.start).num_days() + 1, (span.end - span.start).num_days() + 1)
    } else {
        (cal.count(span.start, through), total)
    };
    Decimal::from(done) / Decimal::from(total)
}

/// What a status light says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Light {
    Green,
    Yellow,
    Red,
    NoTarget,
}

/// The figures of one unit, recomputed.
#[derive(Debug, Clone)]
pub struct Recomputed {
    pub target: Decimal,
    pub original_target: Decimal,
    pub actual: Decimal,
    pub rate: Option<Decimal>,
    pub gap: Decimal,
    pub expected: Decimal,
    pub progress: Decimal,
    pub pace: Option<Decimal>,
    pub forecast: Decimal,
    pub yoy: Option<Decimal>,
    pub aov: Option<Decimal>,
    pub won: i64,
    pub light: Light,
}

/// Everything a unit's figures are made of.
pub struct Inputs<'a> {
    pub plan: &'a PlanRules,
    pub targets: &'a Targets,
    pub deals: &'a [DealRecord],
    pub last_year: &'a [DealRecord],
    pub span: Span,
    pub day: NaiveDate,
}

fn a_year_back(d: NaiveDate) -> NaiveDate {
    d.with_year(d.year() - 1).or_else(|| (d - Duration::days(1)).with_year(d.year() - 1)).unwrap_or(d)
}

pub fn figures(inputs: &Inputs<'_>, curves: &mut Curves<'_>, unit: &str) -> Recomputed {
    let Inputs { plan, targets, deals, last_year, span, day } = inputs;
    let through = (*day).min(span.end);
    let (ly, _) = actual(last_year, unit, a_year_back(span.start), a_year_back(through));
    let (actual, won) = actual(deals, unit, span.start, through);
    let progress = progress(&plan.calendar, *span, *day).round_dp(12);
    let whole = targets.of_unit(unit);
    let (target, original_target, expected) = match whole {
        Some(i) => {
            let (t, o) = targets.period(curves, plan, i, *span);
            (t, o, if *day < span.start { Decimal::ZERO } else { targets.by_curve(curves, plan, i, *span, *day) })
        }
        None => (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO),
    };
    let rate = ratio(actual, target);
    let light = match whole {
        None => Light::NoTarget,
        Some(_) if expected <= Decimal::ZERO => Light::Green,
        Some(_) => {
            let pct = actual * Decimal::ONE_HUNDRED / expected;
            if pct < plan.red_below {
                Light::Red
            } else if pct < plan.yellow_below {
                Light::Yellow
            } else {
                Light::Green
            }
        }
    };
    Recomputed {
        target,
        original_target,
        actual,
        rate,
        gap: target - actual,
        expected,
        progress,
        pace: rate.and_then(|r| ratio(r, progress)),
        forecast: if progress.is_zero() { actual } else { (actual / progress).round_dp(2) },
        yoy: (!ly.is_zero()).then(|| ratio(actual - ly, ly)).flatten(),
        aov: (won > 0).then(|| (actual / Decimal::from(won)).round_dp(2)),
        won,
        light,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn plan() -> PlanRules {
        PlanRules {
            year_start: d("2024-01-01"),
            year_end: d("2024-12-31"),
            rounding: Decimal::new(1, 2),
            calendar: Calendar { weekend: [6, 7].into(), ..Calendar::default() },
            default_shape: Shape::WorkingDays,
            template: vec![(5, Decimal::from(20)), (15, Decimal::from(50))],
            red_below: Decimal::from(80),
            yellow_below: Decimal::ONE_HUNDRED,
        }
    }

    fn target(id: &str, parent: Option<&str>, amount: i64, shape: Option<Shape>) -> TargetRecord {
        TargetRecord {
            id: id.into(),
            unit: id.into(),
            sliced: false,
            amount: Decimal::from(amount),
            original: Decimal::from(amount),
            parent: parent.map(str::to_owned),
            shape,
            milestones: Vec::new(),
            start: None,
            steps: Vec::new(),
            moves: Vec::new(),
        }
    }

    /// 1.2M on a quarterly profile of 25/35/25/15 gives 300,000 for Q1 and
    /// 100,000 for January (a quarter's share splits evenly over its
    /// months); a region whose reps hold all of it is exactly their sum.
    #[test]
    fn the_guides_quarters_and_a_region_of_reps() {
        let p = plan();
        let q = Some(Shape::Profile([25, 35, 25, 15].map(Decimal::from).to_vec()));
        let t = Targets::new(vec![
            target("region", None, 3_100_000, None),
            target("rep-1", Some("region"), 1_200_000, q),
            target("rep-2", Some("region"), 1_900_000, None),
        ]);
        let mut c = Curves::new(&p);
        let jan = Span::new(d("2024-01-01"), d("2024-01-31"), true, false);
        let rep1 = t.of_unit("rep-1").unwrap();
        assert_eq!(t.period(&mut c, &p, rep1, jan).0, Decimal::from(100_000));
        let region = t.period(&mut c, &p, t.of_unit("region").unwrap(), jan).0;
        let reps = t.period(&mut c, &p, rep1, jan).0 + t.period(&mut c, &p, t.of_unit("rep-2").unwrap(), jan).0;
        // Nothing unassigned: the region is exactly its reps.
        assert_eq!(region, reps);
        // Milestones: 50% by the 15th, all of it at the end.
        assert_eq!(t.by_milestone(&mut c, &p, rep1, jan, d("2024-01-16")), Decimal::from(50_000));
        assert_eq!(t.by_milestone(&mut c, &p, rep1, jan, d("2024-01-31")), Decimal::from(100_000));
    }

    #[test]
    fn actuals_count_credit_lines_and_a_split_deal_once() {
        let path = |u: &[&str]| u.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let deals = vec![
            DealRecord {
                close: d("2024-01-10"),
                won: 1,
                lines: vec![
                    (path(&["acme", "region-a", "rep-1"]), Decimal::from(700)),
                    (path(&["acme", "region-a", "rep-2"]), Decimal::from(300)),
                ],
            },
            DealRecord {
                close: d("2024-01-12"),
                won: -1,
                lines: vec![(path(&["acme", "region-a", "rep-1"]), Decimal::from(-200))],
            },
        ];
        assert_eq!(actual(&deals, "region-a", d("2024-01-01"), d("2024-01-31")), (Decimal::from(800), 0));
        assert_eq!(actual(&deals, "rep-2", d("2024-01-01"), d("2024-01-31")), (Decimal::from(300), 1));
        assert_eq!(actual(&deals, "rep-1", d("2024-01-01"), d("2024-01-11")), (Decimal::from(700), 1));
    }
}
