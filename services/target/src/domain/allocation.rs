//! Splitting an amount among children: exact decimals, largest-remainder
//! rounding to the plan's rounding unit, and the coverage (allocated,
//! reserve, over-assignment) checked against the plan's policy.

use attain_core::{
    DomainError,
    money::{Amount, SCALE},
};
use rust_decimal::Decimal;

/// The step every allocated amount is a multiple of, e.g. 0.01 or 10000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RoundingUnit(Decimal);

impl RoundingUnit {
    pub fn parse(field: &str, s: &str) -> Result<Self, DomainError> {
        let a = Amount::parse(s).map_err(|e| DomainError::invalid(field, e.to_string()))?;
        if a.decimal() <= Decimal::ZERO {
            return Err(DomainError::invalid(field, "must be positive, e.g. 0.01 or 10000"));
        }
        Ok(Self(a.decimal()))
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    /// How many units `amount` is, if it is a whole number of them.
    pub fn exact_units(self, amount: Amount) -> Option<i128> {
        let q = amount.decimal() / self.0;
        (q.fract().is_zero()).then(|| i128::try_from(q).ok()).flatten()
    }

    /// Whole units in `d`, rounded down.
    pub fn floor_units(self, d: Decimal) -> i128 {
        i128::try_from((d / self.0).floor()).unwrap_or(0)
    }

    /// `d` rounded to the nearest unit (half away from zero).
    pub fn round(self, d: Decimal) -> Result<Amount, DomainError> {
        let minor =
            i64::try_from(self.round_minor(d)?).map_err(|_| DomainError::Internal("rounding overflow".into()))?;
        Ok(Amount::from_minor_units(minor))
    }

    /// [`Self::round`] in minor units (×10⁴), the form roll-ups sum in.
    pub fn round_minor(self, d: Decimal) -> Result<i128, DomainError> {
        let half_up = rust_decimal::RoundingStrategy::MidpointAwayFromZero;
        let unit = self.0.normalize();
        // 1, 0.1, 0.01…: rounding to that many places is the same value,
        // without a division per figure (roll-ups round millions).
        let r = if unit.mantissa() == 1 && unit.scale() <= SCALE {
            d.round_dp_with_strategy(unit.scale(), half_up)
        } else {
            (d / self.0).round_dp_with_strategy(0, half_up) * self.0
        };
        // Within the amount's limits, as `round` checks.
        Ok(i128::from(Amount::from_decimal(r)?.to_minor_units()))
    }

    pub fn amount(self, units: i128) -> Result<Amount, DomainError> {
        let d = Decimal::from_i128_with_scale(units, 0).checked_mul(self.0);
        d.ok_or_else(|| DomainError::Internal("allocation overflow".to_owned()))
            .and_then(|d| Ok(Amount::from_decimal(d)?))
    }
}

/// Splits `total_units` in proportion to `weights` (each ≥ 0, not all 0)
/// so the parts sum exactly to the total: each part gets the floor of its
/// quota, and the leftover units go to the largest remainders (ties: lower
/// index first). Integer arithmetic throughout, so no rounding drift.
pub fn largest_remainder(total_units: i128, weights: &[Decimal]) -> Result<Vec<i128>, SplitError> {
    if let Some(i) = weights.iter().position(|w| w.is_sign_negative() && !w.is_zero()) {
        return Err(SplitError::Negative(i));
    }
    let scale = weights.iter().map(|w| w.scale()).max().unwrap_or(0);
    let ints: Vec<i128> = weights
        .iter()
        .map(|w| {
            let mut w = *w;
            w.rescale(scale);
            w.mantissa()
        })
        .collect();
    let sum: i128 = ints.iter().try_fold(0i128, |acc, w| acc.checked_add(*w)).ok_or(SplitError::TooLarge)?;
    if sum == 0 {
        return Err(SplitError::AllZero);
    }
    let mut parts = Vec::with_capacity(ints.len());
    let mut remainders = Vec::with_capacity(ints.len());
    for (i, w) in ints.iter().enumerate() {
        let product = total_units.checked_mul(*w).ok_or(SplitError::TooLarge)?;
        parts.push(product.div_euclid(sum));
        remainders.push((product.rem_euclid(sum), i));
    }
    let leftover = total_units - parts.iter().sum::<i128>();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders.into_iter().take(usize::try_from(leftover).unwrap_or(0)) {
        parts[i] += 1;
    }
    Ok(parts)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitError {
    Negative(usize),
    AllZero,
    TooLarge,
}

/// How far children may differ from their parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CoveragePolicy {
    Strict,
    /// Up to this percentage may stay unassigned.
    Reserve(Decimal),
    /// Children may exceed the parent by up to this percentage.
    OverAssign(Decimal),
}

/// What a split assigned, compared with the parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Coverage {
    pub parent: Amount,
    pub allocated: Amount,
    pub reserve: Amount,
    pub over_assignment: Amount,
}

impl Coverage {
    pub fn of(parent: Amount, allocated: Amount) -> Result<Self, DomainError> {
        let diff = parent.checked_sub(allocated)?;
        let (reserve, over) =
            if diff.is_negative() { (Amount::ZERO, allocated.checked_sub(parent)?) } else { (diff, Amount::ZERO) };
        Ok(Self { parent, allocated, reserve, over_assignment: over })
    }

    /// Refuses a coverage outside the policy, with the numbers.
    pub fn check(&self, policy: CoveragePolicy, field: &str) -> Result<(), DomainError> {
        let pct = |a: Amount| {
            if self.parent.is_zero() {
                Decimal::ZERO
            } else {
                (a.decimal() * Decimal::ONE_HUNDRED / self.parent.decimal()).round_dp(2)
            }
        };
        let (reserve_pct, over_pct) = (pct(self.reserve), pct(self.over_assignment));
        let numbers = format!(
            "parent {}, allocated {}, reserve {} ({}%), over-assignment {} ({}%)",
            self.parent, self.allocated, self.reserve, reserve_pct, self.over_assignment, over_pct
        );
        let refuse = |rule: String| Err(DomainError::invalid(field, format!("{numbers}: {rule}")));
        match policy {
            CoveragePolicy::Strict if !self.reserve.is_zero() || !self.over_assignment.is_zero() => {
                refuse("the plan's STRICT policy needs children to sum exactly to the parent".to_owned())
            }
            CoveragePolicy::Reserve(max)
                if !self.over_assignment.is_zero()
                    || self.reserve.decimal() * Decimal::ONE_HUNDRED > max * self.parent.decimal() =>
            {
                refuse(format!("the plan's RESERVE policy allows up to {max}% unassigned and no over-assignment"))
            }
            CoveragePolicy::OverAssign(max)
                if !self.reserve.is_zero()
                    || self.over_assignment.decimal() * Decimal::ONE_HUNDRED > max * self.parent.decimal() =>
            {
                refuse(format!(
                    "the plan's OVER_ASSIGN policy allows children up to {max}% above the parent and no reserve"
                ))
            }
            _ => Ok(()),
        }
    }
}

/// How to weigh the children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitStrategy {
    Equal,
    Weights,
    HistoricalShare,
    Manual,
}

/// One child's inputs to a split (already parsed).
#[derive(Debug, Clone, Default)]
pub struct ChildInput {
    pub weight: Option<Decimal>,
    pub historical_actual: Option<Amount>,
    pub manual_amount: Option<Amount>,
    pub potential_weight: Option<Decimal>,
    /// A NEW_HIRE rep.
    pub new_hire: bool,
    /// A NEW region.
    pub new_region: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Modifiers {
    pub new_hire_factor: Option<Decimal>,
    pub new_hire_base: Option<Amount>,
    pub new_region_factor: Option<Decimal>,
    pub new_region_base: Option<Amount>,
    /// Share of history in a history/potential blend, in percent.
    pub blend_history_percent: Option<Decimal>,
}

/// A split to compute.
#[derive(Debug, Clone)]
pub struct Split {
    pub parent: Amount,
    pub unit: RoundingUnit,
    pub strategy: SplitStrategy,
    pub children: Vec<ChildInput>,
    pub modifiers: Modifiers,
    /// Percentage of the parent to allocate (ignored by MANUAL).
    pub allocate_percent: Decimal,
}

impl Split {
    /// The children's amounts, in input order, and the coverage.
    pub fn compute(&self) -> Result<(Vec<Amount>, Coverage), DomainError> {
        if self.children.is_empty() {
            return Err(DomainError::invalid("inputs", "name at least one child"));
        }
        let amounts = if self.strategy == SplitStrategy::Manual { self.manual()? } else { self.weighted()? };
        let allocated = amounts.iter().try_fold(Amount::ZERO, |acc, a| acc.checked_add(*a))?;
        Ok((amounts, Coverage::of(self.parent, allocated)?))
    }

    fn manual(&self) -> Result<Vec<Amount>, DomainError> {
        self.children
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let field = format!("inputs[{i}].manual_amount");
                let a = c.manual_amount.ok_or_else(|| DomainError::invalid(&field, "is required for MANUAL"))?;
                if a.is_negative() {
                    return Err(DomainError::invalid(&field, "must not be negative"));
                }
                if self.unit.exact_units(a).is_none() {
                    return Err(DomainError::invalid(
                        &field,
                        format!("{a} is not a multiple of the plan's rounding unit {}", self.unit.decimal()),
                    ));
                }
                Ok(a)
            })
            .collect()
    }

    fn weighted(&self) -> Result<Vec<Amount>, DomainError> {
        let m = &self.modifiers;
        if !(self.allocate_percent > Decimal::ZERO && self.allocate_percent <= Decimal::from(1000)) {
            return Err(DomainError::invalid("allocate_percent", "must be above 0 and at most 1000"));
        }
        let total = self.parent.decimal() * self.allocate_percent / Decimal::ONE_HUNDRED;
        let mut units_left = self.unit.floor_units(total);

        // Fixed bases first (new hires, new regions), rounded down to the unit.
        let mut fixed: Vec<Option<i128>> = vec![None; self.children.len()];
        for (i, c) in self.children.iter().enumerate() {
            let base = if c.new_hire {
                m.new_hire_base
            } else if c.new_region {
                m.new_region_base
            } else {
                None
            };
            if let Some(b) = base {
                let u = self.unit.floor_units(b.decimal());
                units_left -= u;
                fixed[i] = Some(u);
            }
        }
        if units_left < 0 {
            return Err(DomainError::invalid("modifiers", "the fixed base amounts exceed what there is to allocate"));
        }

        let has_base: Vec<bool> = fixed.iter().map(Option::is_some).collect();
        let weights = self.weights(&has_base)?;
        let pool: Vec<usize> = (0..self.children.len()).filter(|i| fixed[*i].is_none()).collect();
        let mut units: Vec<i128> = fixed.iter().map(|f| f.unwrap_or(0)).collect();
        if !pool.is_empty() {
            let pool_weights: Vec<Decimal> = pool.iter().map(|i| weights[*i]).collect();
            let parts = largest_remainder(units_left, &pool_weights).map_err(|e| match e {
                SplitError::Negative(j) => {
                    DomainError::invalid(format!("inputs[{}]", pool[j]), "weights must not be negative")
                }
                SplitError::AllZero => DomainError::invalid("inputs", "the weights are all zero; nothing to split by"),
                SplitError::TooLarge => DomainError::invalid("inputs", "the weights have too many digits"),
            })?;
            for (j, i) in pool.iter().enumerate() {
                units[*i] = parts[j];
            }
        }
        units.into_iter().map(|u| self.unit.amount(u)).collect()
    }

    /// Effective weights after strategy, blend and factors. A child with a
    /// fixed base (`has_base`) takes no share, so it needs no inputs: a new
    /// hire or region has no history to give.
    fn weights(&self, has_base: &[bool]) -> Result<Vec<Decimal>, DomainError> {
        let m = &self.modifiers;
        let nonneg = |i: usize, name: &str, v: Option<Decimal>| -> Result<Decimal, DomainError> {
            if has_base.get(i).copied().unwrap_or(false) {
                return Ok(v.unwrap_or(Decimal::ZERO));
            }
            let field = format!("inputs[{i}].{name}");
            let v = v.ok_or_else(|| DomainError::invalid(&field, "is required for this strategy"))?;
            if v.is_sign_negative() && !v.is_zero() {
                return Err(DomainError::invalid(&field, "must not be negative"));
            }
            Ok(v)
        };
        let mut w: Vec<Decimal> = match self.strategy {
            SplitStrategy::Equal => vec![Decimal::ONE; self.children.len()],
            SplitStrategy::Weights => self
                .children
                .iter()
                .enumerate()
                .map(|(i, c)| nonneg(i, "weight", c.weight))
                .collect::<Result<_, _>>()?,
            SplitStrategy::HistoricalShare => {
                let hist: Vec<Decimal> = self
                    .children
                    .iter()
                    .enumerate()
                    .map(|(i, c)| nonneg(i, "historical_actual", c.historical_actual.map(Amount::decimal)))
                    .collect::<Result<_, _>>()?;
                match m.blend_history_percent {
                    None => hist,
                    Some(h) if h.is_sign_negative() || h > Decimal::ONE_HUNDRED => {
                        return Err(DomainError::invalid(
                            "modifiers.blend_history_percent",
                            "must be between 0 and 100",
                        ));
                    }
                    Some(h) => {
                        let pot: Vec<Decimal> = self
                            .children
                            .iter()
                            .enumerate()
                            .map(|(i, c)| nonneg(i, "potential_weight", c.potential_weight))
                            .collect::<Result<_, _>>()?;
                        blend(&hist, &pot, h / Decimal::ONE_HUNDRED)?
                    }
                }
            }
            SplitStrategy::Manual => vec![Decimal::ZERO; self.children.len()],
        };
        for (i, c) in self.children.iter().enumerate() {
            let factor = if c.new_hire {
                m.new_hire_factor
            } else if c.new_region {
                m.new_region_factor
            } else {
                None
            };
            if let Some(f) = factor {
                w[i] = (w[i] * f).round_dp(12);
            }
        }
        Ok(w)
    }
}

/// h × normalised history + (1 − h) × normalised potential.
fn blend(hist: &[Decimal], pot: &[Decimal], h: Decimal) -> Result<Vec<Decimal>, DomainError> {
    let norm = |v: &[Decimal], what: &str| -> Result<Vec<Decimal>, DomainError> {
        let sum: Decimal = v.iter().sum();
        if sum.is_zero() {
            return Err(DomainError::invalid("inputs", format!("the {what} are all zero; nothing to blend")));
        }
        Ok(v.iter().map(|x| x / sum).collect())
    };
    let (hn, pn) = (norm(hist, "historical actuals")?, norm(pot, "potential weights")?);
    Ok(hn.iter().zip(pn).map(|(a, b)| (h * a + (Decimal::ONE - h) * b).round_dp(12)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn amt(s: &str) -> Amount {
        Amount::parse(s).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn split(parent: &str, unit: &str, strategy: SplitStrategy, children: Vec<ChildInput>, pct: &str) -> Split {
        Split {
            parent: amt(parent),
            unit: RoundingUnit::parse("u", unit).unwrap(),
            strategy,
            children,
            modifiers: Modifiers::default(),
            allocate_percent: dec(pct),
        }
    }

    fn weights(ws: &[&str]) -> Vec<ChildInput> {
        ws.iter().map(|w| ChildInput { weight: Some(dec(w)), ..Default::default() }).collect()
    }

    #[test]
    fn the_guides_regions() {
        // 1000万 → A 30, B 25, C 20, D 15 (of the parent): 90% allocated, 10% reserve.
        let s = split("10000000.00", "0.01", SplitStrategy::Weights, weights(&["30", "25", "20", "15"]), "90");
        let (amounts, cov) = s.compute().unwrap();
        let shown: Vec<String> = amounts.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["3000000.00", "2500000.00", "2000000.00", "1500000.00"]);
        assert_eq!((cov.allocated.to_string(), cov.reserve.to_string()), ("9000000.00".into(), "1000000.00".into()));
        cov.check(CoveragePolicy::Reserve(dec("10")), "inputs").unwrap();
        assert!(cov.check(CoveragePolicy::Reserve(dec("5")), "inputs").is_err());
        let err = cov.check(CoveragePolicy::Strict, "inputs").unwrap_err().to_string();
        assert!(err.contains("reserve 1000000.00 (10%)"), "{err}");
    }

    #[test]
    fn thirds_round_to_the_unit_and_sum_exactly() {
        let (a, cov) =
            split("100.00", "0.01", SplitStrategy::Equal, vec![ChildInput::default(); 3], "100").compute().unwrap();
        assert_eq!(a.iter().map(ToString::to_string).collect::<Vec<_>>(), ["33.34", "33.33", "33.33"]);
        assert!(cov.reserve.is_zero());
        let (a, _) =
            split("1000000", "10000", SplitStrategy::Equal, vec![ChildInput::default(); 3], "100").compute().unwrap();
        assert_eq!(a.iter().map(ToString::to_string).collect::<Vec<_>>(), ["340000.00", "330000.00", "330000.00"]);
    }

    #[test]
    fn new_hires_get_less_under_historical_share() {
        let mut kids = vec![
            ChildInput { historical_actual: Some(amt("1000000")), ..Default::default() },
            ChildInput { historical_actual: Some(amt("1000000")), new_hire: true, ..Default::default() },
        ];
        let mut s = split("2000000", "0.01", SplitStrategy::HistoricalShare, kids.clone(), "100");
        s.modifiers.new_hire_factor = Some(dec("0.6"));
        let (a, _) = s.compute().unwrap();
        assert_eq!((a[0].to_string(), a[1].to_string()), ("1250000.00".into(), "750000.00".into()));
        // A fixed base instead of a factor: the new hire has no history
        // to give, and needs none.
        kids[1].historical_actual = None;
        let mut s = split("2000000", "0.01", SplitStrategy::HistoricalShare, kids, "100");
        s.modifiers.new_hire_base = Some(amt("300000"));
        let (a, _) = s.compute().unwrap();
        assert_eq!((a[0].to_string(), a[1].to_string()), ("1700000.00".into(), "300000.00".into()));
    }

    #[test]
    fn blend_of_history_and_potential() {
        let kids = vec![
            ChildInput { historical_actual: Some(amt("300")), potential_weight: Some(dec("1")), ..Default::default() },
            ChildInput { historical_actual: Some(amt("100")), potential_weight: Some(dec("1")), ..Default::default() },
        ];
        let mut s = split("1000", "1", SplitStrategy::HistoricalShare, kids, "100");
        s.modifiers.blend_history_percent = Some(dec("50"));
        let (a, _) = s.compute().unwrap();
        // 0.5 × (0.75, 0.25) + 0.5 × (0.5, 0.5) = (0.625, 0.375)
        assert_eq!((a[0].to_string(), a[1].to_string()), ("625.00".into(), "375.00".into()));
    }

    #[test]
    fn bad_weights_and_manual_amounts() {
        let neg = split("100", "1", SplitStrategy::Weights, weights(&["1", "-1"]), "100").compute().unwrap_err();
        assert!(matches!(neg, DomainError::InvalidArgument(v) if v[0].field == "inputs[1].weight"));
        let zero = split("100", "1", SplitStrategy::Weights, weights(&["0", "0"]), "100").compute().unwrap_err();
        assert!(matches!(zero, DomainError::InvalidArgument(v) if v[0].field == "inputs"));
        let manual = |a: &str| ChildInput { manual_amount: Some(amt(a)), ..Default::default() };
        let odd = split("100", "10", SplitStrategy::Manual, vec![manual("55")], "100").compute().unwrap_err();
        assert!(matches!(odd, DomainError::InvalidArgument(v) if v[0].field == "inputs[0].manual_amount"));
        let (_, cov) =
            split("100", "10", SplitStrategy::Manual, vec![manual("60"), manual("60")], "100").compute().unwrap();
        assert_eq!(cov.over_assignment.to_string(), "20.00");
        assert!(cov.check(CoveragePolicy::OverAssign(dec("10")), "inputs").is_err());
        cov.check(CoveragePolicy::OverAssign(dec("20")), "inputs").unwrap();
    }

    proptest! {
        /// Rounding to a power-of-ten unit by places is rounding by division.
        #[test]
        fn rounding_to_places_is_rounding_by_division(
            mantissa in -10_000_000_000_000_000_000i128..10_000_000_000_000_000_000,
            scale in 0u32..=20,
            unit in prop::sample::select(vec!["1", "0.1", "0.01", "0.0001", "1.00", "10", "0.05", "500"]),
        ) {
            let d = Decimal::from_i128_with_scale(mantissa, scale);
            let u = RoundingUnit::parse("u", unit).unwrap();
            let q = (d / u.0).round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
            let by_division = Amount::from_decimal(q * u.0).ok();
            prop_assert_eq!(u.round(d).ok(), by_division, "{} to {}", d, unit);
        }

        #[test]
        fn largest_remainder_sums_exactly_and_is_fair(
            total in 0i128..10_000_000_000_000,
            ws in prop::collection::vec(0u64..1_000_000, 1..40),
            scale in 0u32..6,
        ) {
            let weights: Vec<Decimal> = ws.iter().map(|w| Decimal::new(i64::try_from(*w).unwrap(), scale)).collect();
            prop_assume!(ws.iter().any(|w| *w > 0));
            let parts = largest_remainder(total, &weights).unwrap();
            prop_assert_eq!(parts.iter().sum::<i128>(), total);
            let sum: i128 = ws.iter().map(|w| i128::from(*w)).sum();
            for (p, w) in parts.iter().zip(&ws) {
                let exact_floor = total * i128::from(*w) / sum;
                prop_assert!(*p == exact_floor || *p == exact_floor + 1, "part {} vs quota floor {}", p, exact_floor);
            }
        }

        #[test]
        fn every_split_covers_the_parent_exactly(
            parent_units in 1i64..1_000_000_000,
            unit_choice in 0usize..3,
            ws in prop::collection::vec(0u32..10_000, 1..30),
            pct in 1u32..=100,
        ) {
            prop_assume!(ws.iter().any(|w| *w > 0));
            let unit = ["0.01", "1", "10000"][unit_choice];
            let u = RoundingUnit::parse("u", unit).unwrap();
            let parent = u.amount(i128::from(parent_units)).unwrap();
            let s = Split {
                parent,
                unit: u,
                strategy: SplitStrategy::Weights,
                children: ws.iter().map(|w| ChildInput { weight: Some(Decimal::from(*w)), ..Default::default() }).collect(),
                modifiers: Modifiers::default(),
                allocate_percent: Decimal::from(pct),
            };
            let (amounts, cov) = s.compute().unwrap();
            let sum = amounts.iter().try_fold(Amount::ZERO, |a, b| a.checked_add(*b)).unwrap();
            prop_assert_eq!(sum, cov.allocated);
            prop_assert_eq!(cov.allocated.checked_add(cov.reserve).unwrap(), parent);
            prop_assert!(cov.over_assignment.is_zero());
            for a in &amounts {
                prop_assert!(u.exact_units(*a).is_some(), "{} is not a multiple of {}", a, unit);
            }
        }
    }
}

/// Siblings absorbing an adjusted target's change `delta` so their parent
/// stays fixed: each takes the opposite of its share of `delta`, in
/// proportion to its amount (evenly when all are zero), in whole rounding
/// units, so the shares sum exactly. `Err(i)`: sibling `i` would fall below
/// zero.
pub fn absorb(siblings: &[Amount], delta: Amount, unit: RoundingUnit) -> Result<Vec<Amount>, AbsorbError> {
    if siblings.is_empty() {
        return Err(AbsorbError::NoSiblings);
    }
    let delta_units = unit.exact_units(delta).ok_or(AbsorbError::OffTheUnit)?;
    let weights: Vec<Decimal> = if siblings.iter().all(|s| s.is_zero()) {
        vec![Decimal::ONE; siblings.len()]
    } else {
        siblings.iter().map(|s| s.decimal()).collect()
    };
    let parts = largest_remainder(delta_units.abs(), &weights).map_err(|_| AbsorbError::NoSiblings)?;
    siblings
        .iter()
        .zip(parts)
        .enumerate()
        .map(|(i, (s, part))| {
            let change =
                unit.amount(if delta_units > 0 { -part } else { part }).map_err(|_| AbsorbError::OffTheUnit)?;
            let next = s.checked_add(change).map_err(|_| AbsorbError::OffTheUnit)?;
            if next.is_negative() { Err(AbsorbError::Negative(i)) } else { Ok(next) }
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbsorbError {
    NoSiblings,
    /// This sibling would fall below zero.
    Negative(usize),
    OffTheUnit,
}

#[cfg(test)]
mod absorb_tests {
    use super::*;

    fn a(s: &str) -> Amount {
        Amount::parse(s).unwrap()
    }

    #[test]
    fn siblings_absorb_in_proportion_and_never_below_zero() {
        let unit = RoundingUnit::parse("u", "0.01").unwrap();
        let got = absorb(&[a("1000000"), a("800000")], a("-200000"), unit).unwrap();
        assert_eq!(got, [a("1111111.11"), a("888888.89")]);
        assert_eq!(absorb(&[a("100"), a("0")], a("300"), unit), Err(AbsorbError::Negative(0)));
        assert_eq!(absorb(&[], a("1"), unit), Err(AbsorbError::NoSiblings));
    }
}
