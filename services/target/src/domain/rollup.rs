//! Roll-up of period targets (DESIGN §3): a target's figure for any period,
//! expected-to-date or milestone is the sum of its children's figures (each
//! phased by its own curve) plus its own unassigned remainder (reserve, or
//! minus over-assignment) phased by its own curve. So a region's January is
//! exactly its reps' Januaries plus the part no rep holds, and a unit's
//! slices (product line, customer type: children of its whole target) add up
//! to it. Rounding happens per target and period, never on a sum.

use std::collections::HashMap;

use attain_core::{
    DomainError,
    money::{Amount, SCALE},
    period::{Granularity, Period},
};
use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::{
    milestones::{Milestone, Milestones},
    org::{Id, UnitId},
    phasing::{Curve, DayCurve, Piece},
    plan::Plan,
    target::{Dimensions, Membership, Target, Window},
};

/// Period amounts of many targets, building each distinct day curve once.
pub struct Phaser<'a> {
    plan: &'a Plan,
    year: Period,
    curves: HashMap<Option<Curve>, DayCurve>,
}

impl<'a> Phaser<'a> {
    pub fn new(plan: &'a Plan) -> Result<Self, DomainError> {
        Ok(Self { plan, year: plan.fiscal_year_period()?, curves: HashMap::new() })
    }

    pub fn plan(&self) -> &Plan {
        self.plan
    }

    fn curve(&mut self, t: &Target) -> Result<&DayCurve, DomainError> {
        // Looked up by reference: a profile is cloned only when first built.
        if !self.curves.contains_key(&t.phasing) {
            let c = t.phasing.as_ref().unwrap_or(&self.plan.config.default_phasing);
            let built = DayCurve::build(&self.year, &self.plan.config.calendar, c)?;
            self.curves.insert(t.phasing.clone(), built);
        }
        self.curves.get(&t.phasing).ok_or_else(|| DomainError::Internal("day curve cache".to_owned()))
    }

    /// The first day of the fiscal year.
    pub fn year_start(&self) -> NaiveDate {
        self.year.start
    }

    /// The cumulative figure through `day` of `pieces` on `t`'s curve,
    /// counting only the days of `w` (a member of a parent for part of the
    /// year counts there only for those days).
    fn through_in(&mut self, t: &Target, pieces: &[Piece], w: Window, day: NaiveDate) -> Result<Amount, DomainError> {
        let unit = self.plan.config.rounding_unit;
        let hi = w.until.map_or(day, |b| day.min(b));
        if w.from.is_some_and(|a| hi < a) {
            return Ok(Amount::ZERO);
        }
        let curve = self.curve(t)?;
        let through = curve.rounded_through(pieces, unit, hi)?;
        let before = match w.from {
            Some(a) => curve.rounded_through(pieces, unit, a - Duration::days(1))?,
            None => Amount::ZERO,
        };
        Ok(through.checked_sub(before)?)
    }

    /// `pieces` (a target's amounts from their first days) phased on `t`'s
    /// curve over `period`, counting the days of `w`.
    pub fn period_amount(
        &mut self,
        t: &Target,
        pieces: &[Piece],
        (period, w): (&Period, Window),
        field: &str,
    ) -> Result<Amount, DomainError> {
        period.require_within(field, &self.year)?;
        let through = self.through_in(t, pieces, w, period.end)?;
        let before = self.through_in(t, pieces, w, period.start - Duration::days(1))?;
        Ok(through.checked_sub(before)?)
    }

    /// The part of `period`'s figure for `pieces` expected by the end of
    /// each of `days` (counting the days of `w`), in minor units, each
    /// cumulative figure computed once (the window's base and the day before
    /// the period are shared by every day): a roll-up asks every day of a
    /// period of every target.
    pub fn expected_by_curve_on(
        &mut self,
        t: &Target,
        pieces: &[Piece],
        (period, w): (&Period, Window),
        days: &[NaiveDate],
    ) -> Result<Vec<i128>, DomainError> {
        if pieces.iter().all(|p| p.amount.is_zero()) {
            // A target split whole to its children keeps nothing of its own.
            return Ok(vec![0; days.len()]);
        }
        let unit = self.plan.config.rounding_unit;
        let curve = self.curve(t)?;
        // `through_in` at x is R(min(x, until)) − R(from − 1), or 0 before
        // the window: the days R is needed at, then R at each, in order.
        let clamp = |x: NaiveDate| {
            let hi = w.until.map_or(x, |b| x.min(b));
            w.from.is_none_or(|a| hi >= a).then_some(hi)
        };
        let base = match w.from {
            Some(a) => {
                curve.rounded_through_minor(pieces, unit, &[a - Duration::days(1)])?.first().copied().unwrap_or(0)
            }
            None => 0,
        };
        let before_at = clamp(period.start - Duration::days(1));
        let day_at: Vec<Option<NaiveDate>> =
            days.iter().map(|d| if *d < period.start { None } else { clamp((*d).min(period.end)) }).collect();
        let asked: Vec<NaiveDate> = before_at.iter().chain(day_at.iter().flatten()).copied().collect();
        let mut r = curve.rounded_through_minor(pieces, unit, &asked)?.into_iter();
        let mut through = |at: Option<NaiveDate>| match at {
            Some(_) => r.next().map(|v| v - base).ok_or_else(|| DomainError::Internal("day curve lookup".to_owned())),
            None => Ok(0),
        };
        let before = through(before_at)?;
        days.iter()
            .zip(day_at)
            .map(|(d, at)| if *d < period.start { Ok(0) } else { Ok(through(at)? - before) })
            .collect()
    }

    /// The share of `t`'s curve left from `from` to the year's end.
    pub fn weight_left(&mut self, t: &Target, from: NaiveDate) -> Result<rust_decimal::Decimal, DomainError> {
        Ok(self.curve(t)?.weight_left(from))
    }

    /// The milestone template in force for `t` over `period`: monthly
    /// periods only, the target's own or the plan's.
    pub fn template<'t>(&'t self, t: &'t Target, period: &Period) -> Option<&'t Milestones> {
        let template = t.milestones.as_ref().unwrap_or(&self.plan.config.milestone_template);
        (period.granularity == Granularity::Month && !template.is_empty()).then_some(template)
    }
}

/// Which of a target's amounts a figure is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basis {
    /// As it stands (after adjustments).
    Current,
    /// As published.
    Original,
}

impl Basis {
    /// `t`'s amounts as pieces from their first days: its amount before
    /// any dated change from its start, then each change from its date (as
    /// published: the original amount from the start).
    fn pieces(self, t: &Target, year_start: NaiveDate) -> Result<Vec<Piece>, DomainError> {
        let start = t.start.map_or(year_start, |s| s.max(year_start));
        Ok(match self {
            Self::Original => vec![Piece { from: start, amount: t.original_amount.decimal() }],
            Self::Current => std::iter::once(Ok(Piece { from: start, amount: t.base_amount()?.decimal() }))
                .chain(t.steps.iter().map(|s| Ok(Piece { from: s.from.max(start), amount: s.delta.decimal() })))
                .collect::<Result<_, DomainError>>()?,
        })
    }
}

/// What a child brings to one parent's remainder over one span of its
/// year: as published, all its pieces to its first parent; as it stands,
/// for each span, what it carried in, its changes dated inside the span,
/// less what it carried out on leaving.
fn contribution(t: &Target, link: &Link, year_start: NaiveDate) -> Result<Vec<Piece>, DomainError> {
    let Some(m) = &link.membership else { return Basis::Original.pieces(t, year_start) };
    let inside = |d: NaiveDate| m.window.from.is_none_or(|a| d >= a) && m.window.until.is_none_or(|b| d <= b);
    let mut out: Vec<Piece> = Basis::Current.pieces(t, year_start)?.into_iter().filter(|p| inside(p.from)).collect();
    if let (Some(a), Some(c)) = (m.window.from, m.carried_in) {
        out.push(Piece { from: a, amount: c.decimal() });
    }
    if let (Some(b), Some(c)) = (m.window.until, m.carried_out) {
        out.push(Piece { from: b + Duration::days(1), amount: -c.decimal() });
    }
    out.sort_by_key(|p| p.from);
    Ok(out)
}

/// A child of a target: as published (no membership: the whole year), or
/// over one span of its membership as it stands.
#[derive(Debug, Clone)]
struct Link {
    child: usize,
    membership: Option<Membership>,
}

impl Link {
    fn window(&self) -> Window {
        self.membership.as_ref().map_or(Window::ALL, |m| m.window)
    }
}

/// A slice filter: empty fields match anything.
fn matches(d: &Dimensions, filter: &Dimensions) -> bool {
    (filter.product_line.is_empty() || d.product_line == filter.product_line)
        && (filter.customer_type.is_empty() || d.customer_type == filter.customer_type)
}

/// One period's figures for a unit (or a slice of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodFigures {
    pub target: Amount,
    pub original_target: Amount,
}

/// Expected-to-date figures for a unit on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub by_curve: Amount,
    pub by_milestone: Amount,
    /// The milestone in force on the day, from the unit's own template.
    pub milestone: Option<Milestone>,
}

/// A target's own contribution to a figure, given its remainder's pieces
/// and the days it counts for.
/// In minor units, as the roll sums them.
type OwnPart<'a> = dyn FnMut(&Target, &[Piece], Window) -> Result<Vec<i128>, DomainError> + 'a;

/// Whole-year roll-ups already computed in one call (minor units), by target.
type Memo = HashMap<usize, Vec<i128>>;

/// Adds `part` to `total` element by element.
fn add_minor(total: &mut [i128], part: impl Iterator<Item = i128>) -> Result<(), DomainError> {
    for (sum, x) in total.iter_mut().zip(part) {
        *sum = sum.checked_add(x).ok_or_else(|| DomainError::Internal("roll-up overflow".to_owned()))?;
    }
    Ok(())
}

fn minor(a: Amount) -> i128 {
    i128::from(a.to_minor_units())
}

/// A sum of minor units as an amount (refused, never rounded, past the
/// amount's limits).
fn from_minor(minor: i128) -> Result<Amount, DomainError> {
    let d = rust_decimal::Decimal::try_from_i128_with_scale(minor, SCALE)
        .map_err(|_| DomainError::Internal("roll-up overflow".to_owned()))?;
    Ok(Amount::from_decimal(d)?)
}

/// Targets linked by their split parents, to roll figures up.
#[derive(Debug, Default)]
pub struct TargetTree {
    nodes: Vec<Target>,
    /// Children as they stand: one link per span under the parent.
    children: Vec<Vec<Link>>,
    /// Children as published: under their first parent, all year.
    published: Vec<Vec<Link>>,
    by_id: HashMap<Id, usize>,
    /// Each unit's whole (unsliced) target: asked once per unit of a call.
    whole: HashMap<UnitId, usize>,
    /// Each unit's targets whose parent is another unit's: its own tops.
    tops: HashMap<UnitId, Vec<usize>>,
}

impl TargetTree {
    /// From a set of targets closed under children (every child of a target
    /// in the set is in the set); a parent outside the set is ignored.
    pub fn new(mut nodes: Vec<Target>) -> Self {
        nodes.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        nodes.dedup_by(|a, b| a.id == b.id);
        let by_id: HashMap<Id, usize> = nodes.iter().enumerate().map(|(i, t)| (t.id.clone(), i)).collect();
        let mut children = vec![Vec::new(); nodes.len()];
        let mut published = vec![Vec::new(); nodes.len()];
        for (i, t) in nodes.iter().enumerate() {
            for m in t.memberships() {
                if let Some(p) = m.parent.as_ref().and_then(|p| by_id.get(p)) {
                    children[*p].push(Link { child: i, membership: Some(m) });
                }
            }
            if let Some(p) = t.first_parent().and_then(|p| by_id.get(p)) {
                published[*p].push(Link { child: i, membership: None });
            }
        }
        let whole =
            nodes.iter().enumerate().filter(|(_, t)| t.dimensions.is_all()).map(|(i, t)| (t.unit.clone(), i)).collect();
        let mut tops: HashMap<UnitId, Vec<usize>> = HashMap::new();
        for (i, t) in nodes.iter().enumerate() {
            let parent_same_unit =
                t.parent.as_ref().and_then(|p| by_id.get(p)).is_some_and(|p| nodes[*p].unit == t.unit);
            if !parent_same_unit {
                tops.entry(t.unit.clone()).or_default().push(i);
            }
        }
        Self { nodes, children, published, by_id, whole, tops }
    }

    /// Replaces amounts with those in force at instant `at` (`amounts` by
    /// target id) and drops dated changes recorded after it; targets that
    /// did not exist then go, with their subtrees.
    pub fn as_of(self, amounts: &HashMap<String, Amount>, at: DateTime<Utc>) -> Self {
        let mut kept = Vec::with_capacity(self.nodes.len());
        let mut gone: std::collections::HashSet<Id> = std::collections::HashSet::new();
        let mut visited: std::collections::HashSet<usize> = std::collections::HashSet::new();
        // Parents before children: a child of a removed target goes too.
        let mut order: Vec<usize> = self.roots().collect();
        let mut i = 0;
        while i < order.len() {
            order.extend(self.children[order[i]].iter().map(|l| l.child));
            i += 1;
        }
        for n in order {
            let t = &self.nodes[n];
            // A child that moved is reached from each of its parents.
            if !visited.insert(n) {
                continue;
            }
            let parent_gone = t.first_parent().is_some_and(|p| gone.contains(p));
            match amounts.get(t.id.as_str()) {
                Some(a) if !parent_gone => {
                    let mut t = t.clone();
                    t.rewind(*a, at);
                    kept.push(t);
                }
                _ => {
                    gone.insert(t.id.clone());
                }
            }
        }
        Self::new(kept)
    }

    fn roots(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|i| self.nodes[*i].parent.as_ref().is_none_or(|p| !self.by_id.contains_key(p)))
    }

    pub fn target(&self, i: usize) -> &Target {
        &self.nodes[i]
    }

    /// The target with this id, as a set to roll.
    pub fn for_target(&self, id: &Id) -> Vec<usize> {
        self.by_id.get(id).copied().into_iter().collect()
    }

    /// The unit's whole (unsliced) target.
    pub fn whole_of(&self, unit: &UnitId) -> Option<usize> {
        self.whole.get(unit).copied()
    }

    /// The units whose whole targets are split from `unit`'s as it stands
    /// (each once): a roll-up of the unit rolls theirs on the way.
    pub fn child_units(&self, unit: &UnitId) -> Vec<UnitId> {
        let Some(whole) = self.whole_of(unit) else { return Vec::new() };
        let mut seen = std::collections::HashSet::new();
        self.children[whole]
            .iter()
            .map(|link| &self.nodes[link.child])
            .filter(|t| t.dimensions.is_all() && t.unit != *unit && seen.insert(&t.unit))
            .map(|t| t.unit.clone())
            .collect()
    }

    /// The targets a figure for `unit` and `filter` sums: the topmost ones
    /// in the unit's whole target's tree whose slice matches the filter (the
    /// whole target itself when no filter is set). Empty: no target for it.
    /// A unit given only slices (a rep under a product line → customer type
    /// split) sums its own topmost slices.
    pub fn for_unit(&self, unit: &UnitId, filter: &Dimensions) -> Vec<usize> {
        let mut stack = match self.whole_of(unit) {
            Some(root) => vec![root],
            None => self.tops.get(unit).cloned().unwrap_or_default(),
        };
        let mut out = Vec::new();
        while let Some(i) = stack.pop() {
            if matches(&self.nodes[i].dimensions, filter) {
                out.push(i);
            } else {
                stack.extend(self.children[i].iter().map(|l| l.child));
            }
        }
        out.sort_unstable();
        out
    }

    /// Σ over `set` of each target's children rolled up plus `own(target,
    /// remainder, window)`, element by element (`n` values: one per day,
    /// say), counting the days of `window` only. The remainder is the
    /// target's pieces less what its children bring (`contribution`), each
    /// from its own first day: a child's dated change moves the parent's
    /// reserve only from that day, and a child that moved counts under each
    /// parent for its days there.
    /// A target already rolled whole-year for the same figures (`memo`,
    /// by target) is added as it is. Sums are kept in integer minor units
    /// (each own part is rounded to the plan's unit, so exact): a company's
    /// roll adds every rep's figure for every day.
    fn roll(
        &self,
        set: &[(usize, Window)],
        (basis, year_start): (Basis, NaiveDate),
        memo: &Memo,
        own: &mut OwnPart<'_>,
        total: &mut [i128],
    ) -> Result<(), DomainError> {
        let n = total.len();
        for &(i, window) in set {
            if let Some(done) = memo.get(&i).filter(|_| window.is_all()) {
                add_minor(total, done.iter().copied())?;
                continue;
            }
            let t = &self.nodes[i];
            let links = match basis {
                Basis::Current => &self.children[i],
                Basis::Original => &self.published[i],
            };
            let mut remainder = basis.pieces(t, year_start)?;
            let mut kids = Vec::with_capacity(links.len());
            for link in links {
                let brings = contribution(&self.nodes[link.child], link, year_start)?;
                remainder.extend(brings.into_iter().map(|p| Piece { from: p.from, amount: -p.amount }));
                kids.push((link.child, window.and(link.window())));
            }
            // Merged once per target, not once per day asked.
            let remainder = Piece::merged(remainder);
            self.roll(&kids, (basis, year_start), memo, own, total)?;
            let mine = own(t, &remainder, window)?;
            if mine.len() != n {
                return Err(DomainError::Internal("roll-up of uneven figures".to_owned()));
            }
            add_minor(total, mine.into_iter())?;
        }
        Ok(())
    }

    /// [`Self::roll`] of each of `sets` (whole year), deepest first, each
    /// single target's result kept for the sets above it: a company and its
    /// regions asked together phase each rep's target once, not twice.
    fn roll_sets(
        &self,
        sets: &[(Vec<usize>, Window)],
        (basis, year_start): (Basis, NaiveDate),
        n: usize,
        own: &mut OwnPart<'_>,
    ) -> Result<Vec<Vec<Amount>>, DomainError> {
        let mut order: Vec<usize> = (0..sets.len()).collect();
        order.sort_by_key(|k| std::cmp::Reverse(sets[*k].0.iter().map(|i| self.depth(*i)).min().unwrap_or(0)));
        let mut memo = Memo::new();
        let mut out = vec![Vec::new(); sets.len()];
        for k in order {
            let (set, window) = &sets[k];
            let mut rolled = vec![0_i128; n];
            let set: Vec<(usize, Window)> = set.iter().map(|i| (*i, *window)).collect();
            self.roll(&set, (basis, year_start), &memo, own, &mut rolled)?;
            out[k] = rolled.iter().map(|m| from_minor(*m)).collect::<Result<_, _>>()?;
            if let [(one, w)] = set.as_slice()
                && w.is_all()
            {
                memo.insert(*one, rolled);
            }
        }
        Ok(out)
    }

    /// The units whose targets count in `unit`'s figure as it stands, each
    /// with the days they count there (stretches one after another merged,
    /// oldest first), in the tree's order: a member that joined or left the
    /// unit's subtree counts for its days there only (DESIGN §3 Org tree).
    /// `children_only`: the units directly under it only (for the days they
    /// were directly under it).
    pub fn members(&self, unit: &UnitId, children_only: bool) -> Vec<(UnitId, Vec<Window>)> {
        let mut order: Vec<UnitId> = Vec::new();
        let mut days: HashMap<UnitId, Vec<Window>> = HashMap::new();
        let start = match self.whole_of(unit) {
            Some(root) => vec![root],
            None => self.tops.get(unit).cloned().unwrap_or_default(),
        };
        // Depth first, each target's children by unit: the tree's order.
        let mut stack: Vec<(usize, Window, usize)> = start.into_iter().rev().map(|i| (i, Window::ALL, 0)).collect();
        while let Some((i, window, depth)) = stack.pop() {
            let mut links: Vec<&Link> = self.children[i].iter().collect();
            links.sort_by(|a, b| self.nodes[a.child].id.as_str().cmp(self.nodes[b.child].id.as_str()));
            for link in links.into_iter().rev() {
                let w = window.and(link.window());
                let child = &self.nodes[link.child];
                let depth = depth + usize::from(child.unit != self.nodes[i].unit);
                if w.is_empty() || (children_only && depth > 1) {
                    continue;
                }
                stack.push((link.child, w, depth));
            }
            let t = &self.nodes[i];
            if t.unit != *unit {
                if !days.contains_key(&t.unit) {
                    order.push(t.unit.clone());
                }
                days.entry(t.unit.clone()).or_default().push(window);
            }
        }
        order
            .into_iter()
            .map(|u| {
                let windows = Window::merged(days.remove(&u).unwrap_or_default());
                (u, windows)
            })
            .collect()
    }

    /// How many split parents above target `i` (in this tree).
    fn depth(&self, i: usize) -> usize {
        let mut d = 0;
        let mut at = i;
        while let Some(p) = self.nodes[at].first_parent().and_then(|p| self.by_id.get(p)) {
            d += 1;
            at = *p;
            if d > self.nodes.len() {
                break; // a cycle would be corrupt data; the roll-up reports it
            }
        }
        d
    }

    fn one(v: Vec<Amount>) -> Amount {
        v.into_iter().next().unwrap_or(Amount::ZERO)
    }

    /// The period's target for the targets in `set`, current and original.
    pub fn period(
        &self,
        phaser: &mut Phaser<'_>,
        set: &[usize],
        period: &Period,
        field: &str,
    ) -> Result<PeriodFigures, DomainError> {
        Self::only(self.periods(phaser, &[set.to_vec()], period, field)?)
    }

    /// [`Self::period`] of each of `sets`, asked together.
    pub fn periods(
        &self,
        phaser: &mut Phaser<'_>,
        sets: &[Vec<usize>],
        period: &Period,
        field: &str,
    ) -> Result<Vec<PeriodFigures>, DomainError> {
        let sets: Vec<(Vec<usize>, Window)> = sets.iter().map(|s| (s.clone(), Window::ALL)).collect();
        self.periods_within(phaser, &sets, period, field)
    }

    /// [`Self::periods`] counting only the days of each set's window: what
    /// a member that moved in or out brings to a figure over a period.
    pub fn periods_within(
        &self,
        phaser: &mut Phaser<'_>,
        sets: &[(Vec<usize>, Window)],
        period: &Period,
        field: &str,
    ) -> Result<Vec<PeriodFigures>, DomainError> {
        let start = phaser.year_start();
        let mut figure = |basis| {
            self.roll_sets(sets, (basis, start), 1, &mut |t, rem, w| {
                Ok(vec![minor(phaser.period_amount(t, rem, (period, w), field)?)])
            })
        };
        let (current, original) = (figure(Basis::Current)?, figure(Basis::Original)?);
        Ok(current
            .into_iter()
            .zip(original)
            .map(|(c, o)| PeriodFigures { target: Self::one(c), original_target: Self::one(o) })
            .collect())
    }

    fn only<T>(v: Vec<T>) -> Result<T, DomainError> {
        v.into_iter().next().ok_or_else(|| DomainError::Internal("roll-up of no set".to_owned()))
    }

    /// What target `i` takes along when it leaves its parent from `day`
    /// (its unit moved): the part of its amounts dated before `day` still to
    /// fall due from then — those amounts less its rolled-up figure through
    /// the day before — and its changes dated from `day` on, as pieces.
    /// Given to the new parent and taken from the old, they leave both
    /// parents' remainders as they were.
    pub fn leaving(
        &self,
        phaser: &mut Phaser<'_>,
        i: usize,
        day: NaiveDate,
    ) -> Result<Vec<(NaiveDate, Amount)>, DomainError> {
        let start = phaser.year_start();
        let t = &self.nodes[i];
        let pieces = Basis::Current.pieces(t, start)?;
        let mut dated_before = Amount::ZERO;
        let mut out = Vec::new();
        for p in pieces {
            let a = Amount::from_decimal(p.amount)?;
            if p.from < day {
                dated_before = dated_before.checked_add(a)?;
            } else {
                out.push((p.from, a));
            }
        }
        let through = match day.pred_opt().filter(|d| *d >= start) {
            Some(last) => {
                let before = Period::parse("period", &format!("{start}..{last}"), 1)?;
                self.period(phaser, &[i], &before, "effective_date")?.target
            }
            None => Amount::ZERO,
        };
        out.insert(0, (day, dated_before.checked_sub(through)?));
        Ok(out)
    }

    /// Expected-to-date on each of `days`: by the day curve, and by the
    /// milestones of each target's own part (its curve where it has none).
    pub fn expected(
        &self,
        phaser: &mut Phaser<'_>,
        set: &[usize],
        period: &Period,
        days: &[NaiveDate],
    ) -> Result<Vec<Expected>, DomainError> {
        Self::only(self.expected_many(phaser, &[set.to_vec()], period, days)?)
    }

    /// [`Self::expected`] of each of `sets`, asked together: both figures
    /// come from one roll of the tree, each target phased once per day.
    pub fn expected_many(
        &self,
        phaser: &mut Phaser<'_>,
        sets: &[Vec<usize>],
        period: &Period,
        days: &[NaiveDate],
    ) -> Result<Vec<Vec<Expected>>, DomainError> {
        let sets: Vec<(Vec<usize>, Window)> = sets.iter().map(|s| (s.clone(), Window::ALL)).collect();
        self.expected_many_within(phaser, &sets, period, days)
    }

    /// [`Self::expected_many`] counting only the days of each set's window
    /// (a custom range inside a month reads as that month over its days).
    pub fn expected_many_within(
        &self,
        phaser: &mut Phaser<'_>,
        sets: &[(Vec<usize>, Window)],
        period: &Period,
        days: &[NaiveDate],
    ) -> Result<Vec<Vec<Expected>>, DomainError> {
        let unit = phaser.plan().config.rounding_unit;
        let start = phaser.year_start();
        let n = days.len();
        // Each own part gives its by-curve figures, then its by-milestone.
        let rolled = self.roll_sets(sets, (Basis::Current, start), 2 * n, &mut |t, rem, w| {
            let by_curve = phaser.expected_by_curve_on(t, rem, (period, w), days)?;
            let Some(m) = phaser.template(t, period).cloned() else {
                return Ok([by_curve.as_slice(), &by_curve].concat());
            };
            // By its month's milestones, over the days it counts here: what
            // fell due by the day (at most its last day here) less what had
            // by its first — so a member that moved counts under each parent
            // for what fell due while there, and its stays add up to its
            // own milestones on every day (a move changes nothing above).
            // A day's milestone is a share of the period's target as it
            // stood that day: a change effective later in the period does
            // not rewrite the days before it. The target is recomputed only
            // where a piece takes effect.
            let mut in_force: Option<(usize, Amount)> = None;
            let mut due_by = |x: NaiveDate| -> Result<i128, DomainError> {
                if x < period.start {
                    return Ok(0);
                }
                let known: Vec<Piece> = rem.iter().filter(|p| p.from <= x).copied().collect();
                let own_period = match in_force {
                    Some((k, a)) if k == known.len() => a,
                    _ => {
                        let a = phaser.period_amount(t, &known, (period, Window::ALL), "period")?;
                        in_force = Some((known.len(), a));
                        a
                    }
                };
                Ok(minor(m.expected(period, own_period, unit, x)?.0))
            };
            let before = match w.from.and_then(|a| a.pred_opt()) {
                Some(b) => due_by(b)?,
                None => 0,
            };
            let mut out = by_curve;
            out.reserve(n);
            for d in days {
                let x = w.until.map_or(*d, |b| (*d).min(b));
                out.push(if w.from.is_some_and(|a| x < a) { 0 } else { due_by(x)? - before });
            }
            Ok(out)
        })?;
        sets.iter()
            .zip(rolled)
            .map(|((set, _), r)| {
                let shown = self.shown_template(phaser, set, period);
                let (by_curve, by_milestone) = r.split_at(n);
                days.iter()
                    .zip(by_curve.iter().zip(by_milestone))
                    .map(|(d, (c, m))| {
                        let milestone = match &shown {
                            Some(t) => t.expected(period, Amount::ZERO, unit, *d)?.1,
                            None => None,
                        };
                        Ok(Expected { by_curve: *c, by_milestone: *m, milestone })
                    })
                    .collect()
            })
            .collect()
    }

    /// The milestone template a figure names: the single target's own, or
    /// the plan's for a sum of slices.
    pub fn shown_template(&self, phaser: &Phaser<'_>, set: &[usize], period: &Period) -> Option<Milestones> {
        match set {
            [one] => phaser.template(&self.nodes[*one], period).cloned(),
            _ => (period.granularity == Granularity::Month && !phaser.plan().config.milestone_template.is_empty())
                .then(|| phaser.plan().config.milestone_template.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        allocation::{CoveragePolicy, RoundingUnit},
        phasing::WorkingCalendar,
        plan::{PlanConfig, PlanState, Thresholds},
    };
    use attain_core::money::CurrencyCode;
    use chrono::Utc;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn plan() -> Plan {
        Plan {
            id: Id::parse("p", "fy2024").unwrap(),
            display_name: "FY2024".into(),
            top_unit: Id::parse("u", "n0").unwrap(),
            fiscal_year: 2024,
            fiscal_start_month: 1,
            currency: CurrencyCode::parse("CNY").unwrap(),
            base_amount: Amount::ZERO,
            growth_rate: Decimal::ZERO,
            config: PlanConfig {
                metric: Default::default(),
                rounding_unit: RoundingUnit::parse("u", "0.01").unwrap(),
                coverage: CoveragePolicy::Strict,
                thresholds: Thresholds::default(),
                calendar: WorkingCalendar::default(),
                default_phasing: Curve::WorkingDays,
                milestone_template: Milestones::parse(
                    "m",
                    vec![
                        Milestone { day: 5, percent: Decimal::from(20) },
                        Milestone { day: 15, percent: Decimal::from(50) },
                    ],
                )
                .unwrap(),
            },
            state: PlanState::Published,
            version: 1,
            create_time: Utc::now(),
            update_time: Utc::now(),
            publish_time: None,
        }
    }

    fn curve(k: u8) -> Option<Curve> {
        match k % 5 {
            0 => None,
            1 => Some(Curve::Even),
            2 => Some(Curve::WorkingDays),
            3 => Some(Curve::Profile([30, 35, 25, 10].map(Decimal::from).to_vec())),
            _ => Some(Curve::LastYear((1..=12).map(Decimal::from).collect())),
        }
    }

    /// One generated target: its parent's index (None for the root), its
    /// amount in cents, its curve, own milestones or not, and a slice
    /// (product line) or not.
    type Spec = (usize, i64, u8, bool, bool);

    fn build(specs: &[Spec], cents: i64) -> Vec<Target> {
        let now = Utc::now();
        let mut out: Vec<Target> = Vec::new();
        let mk = |id: String, unit: String, parent: Option<Id>, cents: i64, k: u8, ms: bool, slice: Option<&str>| {
            let amount = Amount::from_minor_units(cents * 100); // minor units are 10⁻⁴
            Target {
                plan: Id::parse("p", "fy2024").unwrap(),
                id: Id::parse("t", &id).unwrap(),
                unit: Id::parse("u", &unit).unwrap(),
                dimensions: Dimensions { product_line: slice.unwrap_or("").into(), customer_type: String::new() },
                amount,
                // Adjustments moved some targets: originals differ.
                original_amount: Amount::from_minor_units(cents * 100 + (cents % 7) * 100),
                parent,
                phasing: curve(k),
                milestones: ms
                    .then(|| Milestones::parse("m", vec![Milestone { day: 10, percent: Decimal::from(40) }]).unwrap()),
                coverage: None,
                start: None,
                steps: Vec::new(),
                moves: Vec::new(),
                version: 1,
                create_time: now,
                update_time: now,
            }
        };
        out.push(mk("n0".into(), "n0".into(), None, cents, 2, false, None));
        for (i, (parent, cents, k, ms, slice)) in specs.iter().enumerate() {
            // Slices hang under a unit's whole target; org children under
            // any earlier whole target. Parents come first, so the tree is
            // closed under children.
            let wholes: Vec<usize> = (0..out.len()).filter(|j| out[*j].dimensions.is_all()).collect();
            let p = &out[wholes[parent % wholes.len()]];
            let (parent_id, parent_unit) = (p.id.clone(), p.unit.as_str().to_owned());
            let taken = out.iter().any(|t| t.unit.as_str() == parent_unit && !t.dimensions.is_all());
            let n = i + 1;
            if *slice && !taken && out.iter().filter(|t| t.parent.as_ref() == Some(&parent_id)).count() == 0 {
                for pl in ["p1", "p2"] {
                    out.push(mk(
                        format!("s{n}{pl}"),
                        parent_unit.clone(),
                        Some(parent_id.clone()),
                        cents / 2,
                        *k,
                        *ms,
                        Some(pl),
                    ));
                }
            } else if !out.iter().any(|t| t.parent.as_ref() == Some(&parent_id) && !t.dimensions.is_all()) {
                out.push(mk(format!("n{n}"), format!("n{n}"), Some(parent_id), *cents, *k, *ms, None));
            }
        }
        out
    }

    /// Dates a target starts (a hire) and its dated changes (adjustments
    /// after publication), chosen from the generated curve byte.
    fn date_some(targets: &mut [Target], at: chrono::DateTime<Utc>) {
        for (i, t) in targets.iter_mut().enumerate().skip(1) {
            let k = i as u32;
            if k % 4 == 1 && t.dimensions.is_all() {
                t.start = NaiveDate::from_ymd_opt(2024, 5, 1);
            }
            if k % 3 != 2 {
                let cut = Amount::from_minor_units(-(t.amount.to_minor_units() / 1_000_000 * 10_000));
                let from = NaiveDate::from_ymd_opt(2024, 6 + k % 6, 10 + k % 9).unwrap();
                let new = t.amount.checked_add(cut).unwrap();
                t.change_from(new, from, None, at).unwrap();
                let up = Amount::from_minor_units(250_000 * i64::from(k));
                let later = NaiveDate::from_ymd_opt(2024, 11, 3).unwrap();
                t.change_from(t.amount.checked_add(up).unwrap(), later, None, at + chrono::Duration::seconds(1))
                    .unwrap();
            }
        }
    }

    /// `t`'s pieces as the roll-up sees them, straight from its fields.
    fn pieces_of(t: &Target) -> Vec<Piece> {
        let start = t.start.unwrap_or(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap());
        let mut v = vec![Piece { from: start, amount: t.base_amount().unwrap().decimal() }];
        v.extend(t.steps.iter().map(|s| Piece { from: s.from.max(start), amount: s.delta.decimal() }));
        v
    }

    fn periods() -> Vec<Period> {
        [
            "2024",
            "2024-Q1",
            "2024-Q3",
            "2024-02",
            "2024-07",
            "2024-12",
            "2024-W09",
            "2024-W27",
            "2024-03-29..2024-05-02",
        ]
        .iter()
        .map(|p| Period::parse("p", p, 1).unwrap())
        .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// At every target, period and day: parent = Σ children + its own
        /// remainder phased on its own curve (computed here straight from
        /// a DayCurve), exactly; the months sum to the year; expected-to-date
        /// reaches the period's target at its end; a slice figure over a
        /// subtree is the sum of the slices in it.
        #[test]
        fn parent_is_children_plus_remainder(
            root in 0i64..50_000_000,
            specs in prop::collection::vec((0usize..12, 0i64..20_000_000, any::<u8>(), any::<bool>(), any::<bool>()), 1..14),
        ) {
            let plan = plan();
            let mut targets = build(&specs, root);
            let recorded = Utc::now();
            date_some(&mut targets, recorded);
            let tree = TargetTree::new(targets.clone());
            let mut phaser = Phaser::new(&plan).unwrap();
            let year = plan.fiscal_year_period().unwrap();
            let cal = &plan.config.calendar;
            let unit = plan.config.rounding_unit;
            for p in periods() {
                for (i, t) in targets.iter().enumerate() {
                    let me = tree.for_target(&t.id);
                    let shown = tree.period(&mut phaser, &me, &p, "p").unwrap().target;
                    let kids: Vec<&Target> = targets.iter().filter(|c| c.parent.as_ref() == Some(&t.id)).collect();
                    let mut sum = Amount::ZERO;
                    let mut rem = pieces_of(t);
                    for c in &kids {
                        sum = sum.checked_add(tree.period(&mut phaser, &tree.for_target(&c.id), &p, "p").unwrap().target).unwrap();
                        rem.extend(pieces_of(c).into_iter().map(|x| Piece { from: x.from, amount: -x.amount }));
                    }
                    let own_curve = t.phasing.clone().unwrap_or(plan.config.default_phasing.clone());
                    let day_curve = DayCurve::build(&year, cal, &own_curve).unwrap();
                    let through = |d: NaiveDate| day_curve.rounded_through(&rem, unit, d).unwrap();
                    let before = through(p.start.pred_opt().unwrap());
                    let own = through(p.end).checked_sub(before).unwrap();
                    prop_assert_eq!(shown, sum.checked_add(own).unwrap(), "target {} ({}) in {}", i, t.id.as_str(), p.expression);
                    // And on every day inside it: expected-to-date by the
                    // curves is the children's plus the remainder's own.
                    let days: Vec<chrono::NaiveDate> = p.start.iter_days().take_while(|d| *d <= p.end).collect();
                    let mine = tree.expected(&mut phaser, &me, &p, &days).unwrap();
                    let mut kids_sum = vec![Amount::ZERO; days.len()];
                    for c in &kids {
                        let e = tree.expected(&mut phaser, &tree.for_target(&c.id), &p, &days).unwrap();
                        for (k, x) in kids_sum.iter_mut().zip(e) {
                            *k = k.checked_add(x.by_curve).unwrap();
                        }
                    }
                    for ((d, m), k) in days.iter().zip(&mine).zip(&kids_sum) {
                        let own_to_date = through(*d).checked_sub(before).unwrap();
                        prop_assert_eq!(m.by_curve, k.checked_add(own_to_date).unwrap(), "target {} on {}", i, d);
                    }
                    // Expected-to-date reaches the target at the period's end.
                    let end = tree.expected(&mut phaser, &me, &p, &[p.end]).unwrap();
                    prop_assert_eq!(end[0].by_curve, shown);
                    prop_assert_eq!(end[0].by_milestone, shown);
                    let before = tree.expected(&mut phaser, &me, &p, &[p.start.pred_opt().unwrap()]).unwrap();
                    prop_assert_eq!(before[0].by_curve, Amount::ZERO);
                }
            }
            // Dated changes leave every day before them as it was: as of an
            // instant before they were recorded, each month that ends before
            // the first of them reads the same.
            let first = targets.iter().flat_map(|t| t.steps.iter().map(|s| s.from)).min();
            let bases: HashMap<String, Amount> =
                targets.iter().map(|t| (t.id.as_str().to_owned(), t.base_amount().unwrap())).collect();
            let undated = TargetTree::new(targets.clone()).as_of(&bases, recorded - chrono::Duration::seconds(1));
            for m in (1..=12).map(|m| Period::parse("p", &format!("2024-{m:02}"), 1).unwrap()) {
                if first.is_some_and(|f| m.end >= f) {
                    break;
                }
                for t in &targets {
                    prop_assert_eq!(
                        tree.period(&mut phaser, &tree.for_target(&t.id), &m, "p").unwrap().target,
                        undated.period(&mut phaser, &undated.for_target(&t.id), &m, "p").unwrap().target,
                        "{} in {}", t.id.as_str(), m.expression
                    );
                }
            }
            // A leaf that starts inside the year carries nothing before.
            let jan_apr = Period::parse("p", "2024-01-01..2024-04-30", 1).unwrap();
            for t in targets.iter().filter(|t| t.start.is_some() && targets.iter().all(|c| c.parent.as_ref() != Some(&t.id))) {
                prop_assert_eq!(tree.period(&mut phaser, &tree.for_target(&t.id), &jan_apr, "p").unwrap().target, Amount::ZERO);
            }
            // Months sum to the year at every target, current and original.
            let months: Vec<Period> = (1..=12).map(|m| Period::parse("p", &format!("2024-{m:02}"), 1).unwrap()).collect();
            for t in &targets {
                let me = tree.for_target(&t.id);
                let (mut cur, mut orig) = (Amount::ZERO, Amount::ZERO);
                for m in &months {
                    let f = tree.period(&mut phaser, &me, m, "p").unwrap();
                    cur = cur.checked_add(f.target).unwrap();
                    orig = orig.checked_add(f.original_target).unwrap();
                }
                prop_assert_eq!(cur, t.amount);
                prop_assert_eq!(orig, t.original_amount);
            }
            // A slice over the whole tree is the sum of the slices in it.
            let q = Period::parse("p", "2024-Q2", 1).unwrap();
            let p1 = Dimensions { product_line: "p1".into(), customer_type: String::new() };
            let all = tree.for_unit(&Id::parse("u", "n0").unwrap(), &p1);
            let mut sum = Amount::ZERO;
            for t in targets.iter().filter(|t| t.dimensions.product_line == "p1") {
                sum = sum.checked_add(tree.period(&mut phaser, &tree.for_target(&t.id), &q, "p").unwrap().target).unwrap();
            }
            prop_assert_eq!(all.len(), targets.iter().filter(|t| t.dimensions.product_line == "p1").count());
            prop_assert_eq!(tree.period(&mut phaser, &all, &q, "p").unwrap().target, sum);
            // The unit's whole target is its slices plus its remainder.
            let whole = tree.for_unit(&Id::parse("u", "n0").unwrap(), &Dimensions::default());
            prop_assert_eq!(whole.len(), 1);
            // As of an instant with the same amounts, nothing changes; without
            // a target, its subtree's figures go too.
            let same: HashMap<String, Amount> = targets.iter().map(|t| (t.id.as_str().to_owned(), t.amount)).collect();
            let again = TargetTree::new(targets.clone()).as_of(&same, recorded + chrono::Duration::seconds(2));
            prop_assert_eq!(
                again.period(&mut phaser, &again.for_target(&targets[0].id), &q, "p").unwrap(),
                tree.period(&mut phaser, &whole, &q, "p").unwrap()
            );
            // Asked together (one roll, each target's result reused by the
            // sets above it), every set reads as asked alone, in any order.
            let mut sets: Vec<Vec<usize>> = targets.iter().map(|t| tree.for_target(&t.id)).collect();
            sets.push(all.clone());
            sets.reverse();
            for p in [q.clone(), Period::parse("p", "2024-07", 1).unwrap()] {
                let days: Vec<NaiveDate> = p.start.iter_days().take_while(|d| *d <= p.end).collect();
                let figures = tree.periods(&mut phaser, &sets, &p, "p").unwrap();
                let expected = tree.expected_many(&mut phaser, &sets, &p, &days).unwrap();
                prop_assert_eq!(figures.len(), sets.len());
                for ((set, f), e) in sets.iter().zip(figures).zip(expected) {
                    prop_assert_eq!(f, tree.period(&mut phaser, set, &p, "p").unwrap());
                    prop_assert_eq!(e, tree.expected(&mut phaser, set, &p, &days).unwrap());
                }
            }
            if let Some(child) = targets.iter().find(|t| t.parent.is_some()) {
                let mut without = same.clone();
                without.remove(child.id.as_str());
                let gone = TargetTree::new(targets.clone()).as_of(&without, recorded + chrono::Duration::seconds(2));
                prop_assert!(gone.for_target(&child.id).is_empty());
                prop_assert!(targets.iter().filter(|t| t.parent.as_ref() == Some(&child.id)).all(|g| gone.for_target(&g.id).is_empty()));
            }
        }
    }

    /// A unit's figure and its direct members' rows over `p`, each member
    /// for its days under it (as `QueryPeriodTargets` lists them).
    fn figure_and_rows(
        tree: &TargetTree,
        phaser: &mut Phaser<'_>,
        unit: &UnitId,
        p: &Period,
    ) -> (Amount, Vec<(UnitId, Amount)>) {
        let all = Dimensions::default();
        let members = tree.members(unit, true);
        let mut sets = vec![(tree.for_unit(unit, &all), Window::ALL)];
        let mut who = Vec::new();
        for (u, windows) in members {
            for w in windows {
                sets.push((tree.for_unit(&u, &all), w));
                who.push(u.clone());
            }
        }
        let f = tree.periods_within(phaser, &sets, p, "p").unwrap();
        (f[0].target, who.into_iter().zip(f[1..].iter().map(|x| x.target)).collect())
    }

    fn remainder((figure, rows): &(Amount, Vec<(UnitId, Amount)>)) -> Amount {
        rows.iter().fold(*figure, |a, (_, r)| a.checked_sub(*r).unwrap())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// A member moved from one parent to another on any day (as
        /// `relocation` records it: what it has left leaves the old parent
        /// and joins the new): each parent's rows are what its figure is
        /// made of — the member for its days there — so each parent's own
        /// remainder stays as it was in every month, and the member's two
        /// stays add up to its month.
        #[test]
        fn a_member_that_moves_counts_under_each_parent_for_its_days(
            root in 0i64..50_000_000,
            specs in prop::collection::vec((0usize..4, 0i64..20_000_000, any::<u8>(), any::<bool>(), Just(false)), 3..10),
            (month, day) in (1u32..=12, 1u32..=28),
        ) {
            let plan = plan();
            let mut targets = build(&specs, root);
            let n0 = targets[0].id.clone();
            let whole_under = |t: &Target, p: &Id| t.dimensions.is_all() && t.parent.as_ref() == Some(p);
            let tops: Vec<usize> = (0..targets.len()).filter(|i| whole_under(&targets[*i], &n0)).collect();
            let found = tops.iter().find_map(|p1| {
                let leaf = (0..targets.len()).find(|l| whole_under(&targets[*l], &targets[*p1].id))?;
                let p2 = tops.iter().find(|p2| *p2 != p1)?;
                Some((*p1, leaf, *p2))
            });
            let Some((p1, leaf, p2)) = found else { return Ok(()) };
            let units = [&targets[p1].unit, &targets[p2].unit, &targets[leaf].unit].map(|u| (*u).clone());
            let before = TargetTree::new(targets.clone());
            let mut phaser = Phaser::new(&plan).unwrap();
            let d = NaiveDate::from_ymd_opt(2024, month, day).unwrap();
            let i = before.for_target(&targets[leaf].id)[0];
            let pieces = before.leaving(&mut phaser, i, d).unwrap();
            let now = Utc::now();
            for (k, sign) in [(p1, -1i64), (p2, 1)] {
                for (from, a) in &pieces {
                    let change = if sign < 0 { Amount::ZERO.checked_sub(*a).unwrap() } else { *a };
                    let new = targets[k].amount.checked_add(change).unwrap();
                    targets[k].change_from(new, *from, None, now).unwrap();
                }
            }
            let carried = pieces[0].1;
            let old_parent = targets[p1].id.clone();
            targets[leaf].moves.push(super::super::target::Move { from: d, parent_before: Some(old_parent), carried, recorded: now });
            targets[leaf].parent = Some(targets[p2].id.clone());
            let after = TargetTree::new(targets.clone());
            for m in (1..=12).map(|m| Period::parse("p", &format!("2024-{m:02}"), 1).unwrap()) {
                let mut stays = Amount::ZERO;
                for parent in &units[..2] {
                    let (was, is) = (figure_and_rows(&before, &mut phaser, parent, &m), figure_and_rows(&after, &mut phaser, parent, &m));
                    prop_assert_eq!(remainder(&was), remainder(&is), "{}'s own part in {}: {:?} / {:?}", parent.as_str(), m.expression, was, is);
                    stays = is.1.iter().filter(|(u, _)| *u == units[2]).fold(stays, |a, (_, r)| a.checked_add(*r).unwrap());
                }
                let whole = after.period(&mut phaser, &after.for_unit(&units[2], &Dimensions::default()), &m, "p").unwrap().target;
                prop_assert_eq!(stays, whole, "the member's stays in {}", m.expression);
                // Day by day, by curve and by milestones: nothing above both
                // parents moves, nor the member's own month; its stays under
                // each parent add up to it.
                let days: Vec<NaiveDate> = m.start.iter_days().take_while(|x| *x <= m.end).collect();
                let all = Dimensions::default();
                for u in [UnitId::clone(&targets[0].unit), units[2].clone()] {
                    prop_assert_eq!(
                        before.expected(&mut phaser, &before.for_unit(&u, &all), &m, &days).unwrap(),
                        after.expected(&mut phaser, &after.for_unit(&u, &all), &m, &days).unwrap(),
                        "{} in {}", u.as_str(), m.expression
                    );
                }
                let leaf_set = after.for_unit(&units[2], &all);
                let windows: Vec<(Vec<usize>, Window)> = after
                    .members(&units[0], true)
                    .into_iter()
                    .chain(after.members(&units[1], true))
                    .filter(|(u, _)| *u == units[2])
                    .flat_map(|(_, ws)| ws.into_iter().map(|w| (leaf_set.clone(), w)).collect::<Vec<_>>())
                    .collect();
                let parts = after.expected_many_within(&mut phaser, &windows, &m, &days).unwrap();
                let own = after.expected(&mut phaser, &leaf_set, &m, &days).unwrap();
                for (k, e) in own.iter().enumerate() {
                    let (c, ms) = parts.iter().fold((Amount::ZERO, Amount::ZERO), |(c, ms), p| {
                        (c.checked_add(p[k].by_curve).unwrap(), ms.checked_add(p[k].by_milestone).unwrap())
                    });
                    prop_assert_eq!((c, ms), (e.by_curve, e.by_milestone), "the member's stays on {}", days[k]);
                }
            }
        }
    }

    /// The guide's region A: reps with their own curves make the region's
    /// January, and an unassigned reserve is phased on the region's curve.
    #[test]
    fn region_january_is_its_reps_plus_reserve() {
        let plan = plan();
        // Amounts in cents: reps of 1.2M, 1.0M and 0.8M under a 3.1M region.
        let reps =
            [(0, 120_000_000, 3, false, false), (0, 100_000_000, 2, false, false), (0, 80_000_000, 1, false, false)];
        let mut ts = build(&reps, 310_000_000);
        ts[0].original_amount = ts[0].amount;
        let tree = TargetTree::new(ts.clone());
        let mut phaser = Phaser::new(&plan).unwrap();
        let jan = Period::parse("p", "2024-01", 1).unwrap();
        let region = tree.period(&mut phaser, &tree.for_target(&ts[0].id), &jan, "p").unwrap().target;
        let mut reps = Amount::ZERO;
        for t in &ts[1..] {
            reps =
                reps.checked_add(tree.period(&mut phaser, &tree.for_target(&t.id), &jan, "p").unwrap().target).unwrap();
        }
        // 100,000 of reserve on the plan's working days: January 2024 has
        // 23 of the year's 262 (100,000 × 23 / 262 = 8,778.6259…).
        let reserve = region.checked_sub(reps).unwrap();
        assert_eq!(reserve.to_string(), "8778.63");
    }
}
