//! Gap attribution: how much of a difference in sales comes from volume
//! (opportunities closed), conversion rate and average order value.
//!
//! Sales = opportunities × conversion × AOV. The difference between two
//! periods (or between actual and target) is split with the Shapley value
//! of that product — the average of each factor's effect over every order
//! of changing them — so no factor is favoured by going first and the three
//! effects add up to the whole difference. They are rounded to the cent by
//! largest remainder, so they sum exactly.

use attain_core::{DomainError, money::Amount};
use rust_decimal::Decimal;

/// A period's sales drivers: opportunities closed (won + lost), deals won
/// and amount won.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Drivers {
    pub opportunities: i64,
    pub won: i64,
    pub amount: Amount,
}

impl Drivers {
    pub fn conversion(&self) -> Option<Decimal> {
        (self.opportunities > 0).then(|| Decimal::from(self.won) / Decimal::from(self.opportunities))
    }

    pub fn average_order_value(&self) -> Option<Decimal> {
        (self.won > 0).then(|| self.amount.decimal() / Decimal::from(self.won))
    }
}

/// The reference a unit is compared with: another period's drivers, or a
/// target reached at assumed conversion and AOV (volume scaled to fit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    Drivers(Drivers),
    Target { amount: Amount, conversion: Option<Decimal>, average_order_value: Option<Decimal> },
}

/// Effects of each driver; `volume + conversion + aov == difference`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribution {
    /// Current sales minus the reference's.
    pub difference: Amount,
    pub volume: Amount,
    pub conversion: Amount,
    pub aov: Amount,
    /// The reference's drivers as used (a target's volume is implied).
    pub reference_opportunities: Decimal,
    pub reference_conversion: Decimal,
    pub reference_aov: Decimal,
}

/// (opportunities, conversion, AOV) with an unobserved rate taken from the
/// other side: no deals won says nothing about AOV, no opportunities
/// nothing about conversion.
type Factors = (Decimal, Decimal, Decimal);

pub fn attribute(current: Drivers, reference: Reference) -> Result<Attribution, DomainError> {
    let overflow = || DomainError::invalid("period", "figures too large to attribute");
    let (c1, a1) = (current.conversion(), current.average_order_value());
    let (f1, f0, reference_amount) = match reference {
        Reference::Drivers(r) => {
            let (c0, a0) = (r.conversion(), r.average_order_value());
            let c = |x: Option<Decimal>, y: Option<Decimal>| x.or(y).unwrap_or(Decimal::ZERO);
            (
                (Decimal::from(current.opportunities), c(c1, c0), c(a1, a0)),
                (Decimal::from(r.opportunities), c(c0, c1), c(a0, a1)),
                r.amount,
            )
        }
        Reference::Target { amount, conversion, average_order_value } => {
            let c0 = conversion.or(c1).unwrap_or(Decimal::ZERO);
            let a0 = average_order_value.or(a1).unwrap_or(Decimal::ZERO);
            let per_opportunity = c0.checked_mul(a0).ok_or_else(overflow)?;
            let c = c1.unwrap_or(c0);
            let a = a1.unwrap_or(a0);
            let current_factors = (Decimal::from(current.opportunities), c, a);
            if per_opportunity.is_zero() {
                // Nothing to scale volume by: the whole gap is volume.
                let difference = current.amount.checked_sub(amount)?;
                return Ok(Attribution {
                    difference,
                    volume: difference,
                    conversion: Amount::ZERO,
                    aov: Amount::ZERO,
                    reference_opportunities: Decimal::ZERO,
                    reference_conversion: c0,
                    reference_aov: a0,
                });
            }
            let o0 = amount.decimal().checked_div(per_opportunity).ok_or_else(overflow)?;
            (current_factors, (o0, c0, a0), amount)
        }
    };
    let difference = current.amount.checked_sub(reference_amount)?;
    let exact = shapley(f1, f0).ok_or_else(overflow)?;
    let [volume, conversion, aov] = round_to_sum(exact, difference)?;
    Ok(Attribution {
        difference,
        volume,
        conversion,
        aov,
        reference_opportunities: f0.0,
        reference_conversion: f0.1,
        reference_aov: f0.2,
    })
}

/// Shapley effects of changing (O, C, A) from `f0` to `f1` in O·C·A: for
/// the first factor Δx·[(y0z0 + y1z1)/3 + (y0z1 + y1z0)/6], and so on.
fn shapley(f1: Factors, f0: Factors) -> Option<[Decimal; 3]> {
    fn effect(dx: Decimal, y0: Decimal, y1: Decimal, z0: Decimal, z1: Decimal) -> Option<Decimal> {
        let same = y0.checked_mul(z0)?.checked_add(y1.checked_mul(z1)?)?.checked_div(Decimal::from(3))?;
        let cross = y0.checked_mul(z1)?.checked_add(y1.checked_mul(z0)?)?.checked_div(Decimal::from(6))?;
        dx.checked_mul(same.checked_add(cross)?)
    }
    let (o1, c1, a1) = f1;
    let (o0, c0, a0) = f0;
    Some([effect(o1 - o0, c0, c1, a0, a1)?, effect(c1 - c0, o0, o1, a0, a1)?, effect(a1 - a0, o0, o1, c0, c1)?])
}

/// Rounds the exact effects to the cent (to 0.0001 when the difference is
/// finer) so that they sum exactly to `difference`: floors first, the units
/// left over to the largest remainders.
fn round_to_sum(exact: [Decimal; 3], difference: Amount) -> Result<[Amount; 3], DomainError> {
    let total = difference.to_minor_units();
    let step: i64 = if total % 100 == 0 { 100 } else { 1 };
    let unit = Decimal::new(step, 4);
    let overflow = || DomainError::invalid("period", "figures too large to attribute");
    let mut floors = [0i64; 3];
    let mut remainders = [Decimal::ZERO; 3];
    for (i, e) in exact.iter().enumerate() {
        let units = e.checked_div(unit).ok_or_else(overflow)?;
        let floor = units.floor();
        floors[i] = i64::try_from(floor).map_err(|_| overflow())?;
        remainders[i] = units - floor;
    }
    let mut left = total / step - floors.iter().sum::<i64>();
    // Exact effects sum to the difference, so at most two units are left;
    // anything else would be a rounding bug, folded into volume rather
    // than lost.
    let mut order = [0usize, 1, 2];
    order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]).then(a.cmp(&b)));
    for i in order {
        if left <= 0 {
            break;
        }
        floors[i] += 1;
        left -= 1;
    }
    floors[0] += left;
    Ok(floors.map(|f| Amount::from_minor_units(f * step)))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn cents(c: i64) -> Amount {
        Amount::from_minor_units(c * 100)
    }

    fn d(o: i64, w: i64, amount_cents: i64) -> Drivers {
        Drivers { opportunities: o, won: w, amount: cents(amount_cents) }
    }

    #[test]
    fn only_the_driver_that_moved_gets_the_effect() {
        // Same opportunities and wins, bigger orders: all AOV.
        let a = attribute(d(10, 4, 500_000), Reference::Drivers(d(10, 4, 400_000))).unwrap_or_else(|_| unreachable!());
        assert_eq!((a.volume, a.conversion, a.aov), (Amount::ZERO, Amount::ZERO, cents(100_000)));
        // Twice the opportunities at the same rate and size: all volume.
        let v = attribute(d(20, 8, 800_000), Reference::Drivers(d(10, 4, 400_000))).unwrap_or_else(|_| unreachable!());
        assert_eq!((v.volume, v.conversion, v.aov), (cents(400_000), Amount::ZERO, Amount::ZERO));
    }

    #[test]
    fn a_month_without_a_win_is_conversion_and_volume() {
        let a = attribute(d(6, 0, 0), Reference::Drivers(d(10, 5, 500_000))).unwrap_or_else(|_| unreachable!());
        assert_eq!(a.difference, cents(-500_000));
        assert_eq!(a.aov, Amount::ZERO);
        assert_eq!(a.volume.checked_add(a.conversion).ok(), Some(cents(-500_000)));
    }

    #[test]
    fn against_a_target_volume_is_implied() {
        // Last year: 25% conversion, 10,000 per deal → a 1,000,000 target
        // needs 400 opportunities. This year: 300 opportunities, 20%, 12,000.
        let t = Reference::Target {
            amount: cents(100_000_000),
            conversion: Some(Decimal::new(25, 2)),
            average_order_value: Some(Decimal::from(10_000)),
        };
        let a = attribute(d(300, 60, 72_000_000), t).unwrap_or_else(|_| unreachable!());
        assert_eq!(a.reference_opportunities, Decimal::from(400));
        assert_eq!(a.difference, cents(-28_000_000));
        let sum = a.volume.checked_add(a.conversion).and_then(|x| x.checked_add(a.aov)).ok();
        assert_eq!(sum, Some(a.difference));
        assert!(a.volume < Amount::ZERO && a.conversion < Amount::ZERO && a.aov > Amount::ZERO, "{a:?}");
    }

    /// Consistent drivers: no wins means no amount.
    fn drivers() -> impl Strategy<Value = Drivers> {
        (0i64..5_000, 0i64..5_000, 1i64..1_000_000_000).prop_map(|(lost, won, cents)| Drivers {
            opportunities: won + lost,
            won,
            amount: if won == 0 { Amount::ZERO } else { Amount::from_minor_units(cents * 100) },
        })
    }

    proptest! {
        #[test]
        fn the_three_parts_sum_exactly_to_the_difference(now in drivers(), before in drivers()) {
            let a = attribute(now, Reference::Drivers(before)).unwrap_or_else(|_| unreachable!());
            let sum = a.volume.to_minor_units() + a.conversion.to_minor_units() + a.aov.to_minor_units();
            prop_assert_eq!(sum, a.difference.to_minor_units());
            prop_assert_eq!(a.difference.to_minor_units(), now.amount.to_minor_units() - before.amount.to_minor_units());
            // Each part is within a cent of the exact Shapley effect.
            let exact = shapley(
                (Decimal::from(now.opportunities), now.conversion().or(before.conversion()).unwrap_or_default(),
                 now.average_order_value().or(before.average_order_value()).unwrap_or_default()),
                (Decimal::from(before.opportunities), before.conversion().or(now.conversion()).unwrap_or_default(),
                 before.average_order_value().or(now.average_order_value()).unwrap_or_default()),
            ).unwrap_or_default();
            let exact_sum: Decimal = exact.iter().sum();
            prop_assert!((exact_sum - a.difference.decimal()).abs() < Decimal::new(1, 6), "{exact_sum} vs {}", a.difference);
            for (part, e) in [a.volume, a.conversion, a.aov].iter().zip(exact) {
                prop_assert!((part.decimal() - e).abs() < Decimal::new(2, 2), "{part} vs {e}");
            }
        }

        #[test]
        fn against_any_target_the_parts_sum_exactly(now in drivers(), before in drivers(), target in 0i64..10_000_000_000) {
            let t = Reference::Target {
                amount: Amount::from_minor_units(target * 100),
                conversion: before.conversion(),
                average_order_value: before.average_order_value(),
            };
            let a = attribute(now, t).unwrap_or_else(|_| unreachable!());
            let sum = a.volume.to_minor_units() + a.conversion.to_minor_units() + a.aov.to_minor_units();
            prop_assert_eq!(sum, a.difference.to_minor_units());
            prop_assert_eq!(a.difference.to_minor_units(), now.amount.to_minor_units() - target * 100);
        }
    }
}
