//! Split credit: a deal credited to several reps by percentage. Shares sum
//! to exactly 100%, their amounts to exactly the deal's amount (largest
//! remainder to the cent), so roll-ups above the reps count the deal once.

use attain_core::{DomainError, id::Id, money::Amount};
use rust_decimal::Decimal;

/// More shares than this is a data-entry mistake, not a sales team.
pub const MAX_SHARES: usize = 20;
/// Percent precision: "33.3333" is fine, "33.33333" is not.
const MAX_PERCENT_SCALE: u32 = 4;

/// A requested share: which rep, what percent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub rep: Id,
    pub percent: Decimal,
}

/// A stored share: the requested one plus its amount and where the rep sat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    pub rep: Id,
    pub percent: Decimal,
    pub amount: Amount,
    pub booked_path: Vec<Id>,
}

/// Checks a deal's shares (`field` is the repeated field, e.g.
/// "deal.credits"): 1 to `MAX_SHARES`, each above 0 and at most 100 with at
/// most 4 decimals, each rep once, the owner among them, exactly 100 in all.
pub fn check_shares(field: &str, owner: &Id, shares: &[Share]) -> Result<(), DomainError> {
    if shares.len() > MAX_SHARES {
        return Err(DomainError::invalid(field, format!("{} shares is over the limit of {MAX_SHARES}", shares.len())));
    }
    for (i, s) in shares.iter().enumerate() {
        if s.percent <= Decimal::ZERO || s.percent > Decimal::ONE_HUNDRED {
            return Err(DomainError::invalid(
                format!("{field}[{i}].percent"),
                format!("{} is not above 0 and at most 100", s.percent),
            ));
        }
        if s.percent.normalize().scale() > MAX_PERCENT_SCALE {
            return Err(DomainError::invalid(
                format!("{field}[{i}].percent"),
                format!("{} has more than {MAX_PERCENT_SCALE} decimal places", s.percent),
            ));
        }
        if shares[..i].iter().any(|o| o.rep == s.rep) {
            return Err(DomainError::invalid(
                format!("{field}[{i}].rep"),
                format!("{} has a share already", s.rep.resource_name()),
            ));
        }
    }
    if !shares.iter().any(|s| &s.rep == owner) {
        return Err(DomainError::invalid(
            field,
            format!("must include the deal's rep {} (the owner)", owner.resource_name()),
        ));
    }
    let total: Decimal = shares.iter().map(|s| s.percent).sum();
    if total != Decimal::ONE_HUNDRED {
        return Err(DomainError::invalid(field, format!("shares sum to {}%, not 100%", total.normalize())));
    }
    Ok(())
}

/// Splits `amount` by `percents` (which sum to 100) into parts that sum
/// exactly to `amount`, rounded to the cent (or to the amount's own finer
/// precision): each share gets its floor, the units left over go to the
/// largest remainders (earlier shares first on ties).
pub fn split_amount(amount: Amount, percents: &[Decimal]) -> Result<Vec<Amount>, DomainError> {
    // Minor units are 10⁻⁴; round to 10⁻² unless the amount itself is finer.
    let step: i64 = match amount.decimal().normalize().scale() {
        0..=2 => 100,
        3 => 10,
        _ => 1,
    };
    let total = amount.to_minor_units() / step;
    let overflow = || DomainError::invalid("deal.amount.amount", "is too large to split");
    let mut floors = Vec::with_capacity(percents.len());
    let mut remainders = Vec::with_capacity(percents.len());
    for p in percents {
        let exact = Decimal::from(total)
            .checked_mul(*p)
            .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
            .ok_or_else(overflow)?;
        let floor = exact.floor();
        floors.push(i64::try_from(floor).map_err(|_| overflow())?);
        remainders.push(exact - floor);
    }
    let mut left = total - floors.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..percents.len()).collect();
    order.sort_by(|&a, &b| remainders[b].cmp(&remainders[a]).then(a.cmp(&b)));
    for i in order {
        if left <= 0 {
            break;
        }
        floors[i] += 1;
        left -= 1;
    }
    Ok(floors.into_iter().map(|f| Amount::from_minor_units(f * step)).collect())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn id(s: &str) -> Id {
        Id::parse("id", s).unwrap_or_else(|_| unreachable!())
    }

    fn share(rep: &str, p: &str) -> Share {
        Share { rep: id(rep), percent: p.parse().unwrap_or_default() }
    }

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::InvalidArgument(v) => v[0].field.clone(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn seventy_thirty() {
        let amount = |s: &str| Amount::parse(s).unwrap_or(Amount::ZERO);
        let parts = split_amount(amount("10000.01"), &[Decimal::from(70), Decimal::from(30)]);
        assert_eq!(parts.ok(), Some(vec![amount("7000.01"), amount("3000")]));
        let finer = split_amount(amount("0.0001"), &[Decimal::from(70), Decimal::from(30)]);
        assert_eq!(finer.ok(), Some(vec![amount("0.0001"), amount("0")]));
    }

    #[test]
    fn thirds_sum_to_the_cent() {
        let third: Decimal = "33.3333".parse().unwrap_or_default();
        let last: Decimal = "33.3334".parse().unwrap_or_default();
        let parts = split_amount(Amount::from_minor_units(10_000), &[third, third, last]).unwrap_or_default();
        assert_eq!(parts.iter().map(|a| a.to_minor_units()).collect::<Vec<_>>(), [3300, 3300, 3400]);
    }

    #[test]
    fn bad_shares_name_the_field() {
        let owner = id("rep-1");
        let check = |s: &[Share]| check_shares("deal.credits", &owner, s).map_err(field_of);
        assert_eq!(check(&[share("rep-1", "70"), share("rep-2", "20")]), Err("deal.credits".into()));
        assert_eq!(check(&[share("rep-1", "70"), share("rep-2", "40")]), Err("deal.credits".into()));
        assert_eq!(check(&[share("rep-1", "100"), share("rep-2", "0")]), Err("deal.credits[1].percent".into()));
        assert_eq!(check(&[share("rep-1", "110"), share("rep-2", "-10")]), Err("deal.credits[0].percent".into()));
        assert_eq!(
            check(&[share("rep-1", "50.00001"), share("rep-2", "49.99999")]),
            Err("deal.credits[0].percent".into())
        );
        assert_eq!(check(&[share("rep-1", "50"), share("rep-1", "50")]), Err("deal.credits[1].rep".into()));
        assert_eq!(check(&[share("rep-2", "50"), share("rep-3", "50")]), Err("deal.credits".into()));
        assert_eq!(check(&[share("rep-1", "70"), share("rep-2", "30")]), Ok(()));
        assert_eq!(check(&[share("rep-1", "100")]), Ok(()));
    }

    /// Percent lists in basis points of 0.0001% that sum to exactly 100%.
    fn percents() -> impl Strategy<Value = Vec<Decimal>> {
        prop::collection::vec(1u32..1_000_000, 1..=MAX_SHARES).prop_map(|weights| {
            let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
            let scale = 1_000_000u64; // 100% in units of 0.0001%
            let mut units: Vec<u64> = weights.iter().map(|w| (u64::from(*w) * scale / total).max(1)).collect();
            let sum: u64 = units.iter().sum();
            // Put the difference on the largest so every share stays above 0.
            let (imax, _) = units.iter().enumerate().max_by_key(|(_, u)| **u).unwrap_or((0, &0));
            units[imax] = units[imax] + scale - sum;
            units.into_iter().map(|u| Decimal::new(i64::try_from(u).unwrap_or(0), 4)).collect()
        })
    }

    proptest! {
        #[test]
        fn shares_sum_exactly_and_stay_within_a_cent(
            cents in -1_000_000_000_000i64..1_000_000_000_000,
            ps in percents(),
        ) {
            prop_assume!(ps.iter().sum::<Decimal>() == Decimal::ONE_HUNDRED && ps.iter().all(|p| *p > Decimal::ZERO));
            let amount = Amount::from_minor_units(cents * 100);
            let parts = split_amount(amount, &ps).unwrap_or_default();
            prop_assert_eq!(parts.len(), ps.len());
            prop_assert_eq!(parts.iter().map(|a| a.to_minor_units()).sum::<i64>(), amount.to_minor_units());
            for (part, p) in parts.iter().zip(&ps) {
                // Whole cents, within a cent of the exact share.
                prop_assert_eq!(part.to_minor_units() % 100, 0);
                let exact = amount.decimal() * p / Decimal::ONE_HUNDRED;
                prop_assert!((part.decimal() - exact).abs() < Decimal::new(1, 2));
            }
        }

    }
}
