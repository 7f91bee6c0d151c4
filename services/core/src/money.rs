//! Exact money: a decimal amount with at most four fractional digits, parsed
//! strictly from the wire and stored as integer minor units (×10⁴) so that
//! SQLite and PostgreSQL both sum it exactly (sea-orm would store a Decimal
//! as REAL on SQLite).

use std::{fmt, str::FromStr};

use rust_decimal::Decimal;

/// Fractional digits an amount may carry (covers every ISO 4217 currency).
pub const SCALE: u32 = 4;
/// Integer digits an amount may carry: just under 100 trillion, so minor
/// units fit an i64 with ninefold headroom for roll-up sums.
pub const MAX_INTEGER_DIGITS: usize = 14;

/// Why a money string or value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("is empty")]
    Empty,
    #[error("{0:?} is not a plain decimal number (digits, an optional '-' and one '.'; no exponent)")]
    Syntax(String),
    #[error("{0:?} has more fractional digits than allowed")]
    TooPrecise(String),
    #[error("{0:?} has more integer digits than allowed")]
    TooLarge(String),
    #[error("{0:?} is finer than a cent: money that changes hands is to the cent")]
    FinerThanACent(String),
    #[error("arithmetic overflow")]
    Overflow,
    #[error("{0:?} is not a three-letter ISO 4217 currency code")]
    Currency(String),
}

/// An exact amount of money. Invariant: scale ≤ [`SCALE`], at most
/// [`MAX_INTEGER_DIGITS`] integer digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Amount(Decimal);

impl TryFrom<String> for Amount {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Amount::parse(&s)
    }
}

impl From<Amount> for String {
    fn from(a: Amount) -> Self {
        a.to_string()
    }
}

impl Amount {
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    /// Parses a wire decimal string: `-?[0-9]+(\.[0-9]{1,4})?`.
    pub fn parse(s: &str) -> Result<Self, MoneyError> {
        parse_plain_decimal(s, SCALE, MAX_INTEGER_DIGITS).map(Amount)
    }

    /// Parses an amount people pay or are paid (a deal, a lost deal, a
    /// day's takings): to the cent, as money changes hands. Targets and
    /// computed figures keep four places; a sale of 0.001 is a typo.
    pub fn parse_cents(s: &str) -> Result<Self, MoneyError> {
        let a = Self::parse(s)?;
        if a.0.normalize().scale() > 2 {
            return Err(MoneyError::FinerThanACent(s.trim().to_owned()));
        }
        Ok(a)
    }

    /// Accepts a decimal computed elsewhere, refusing (never rounding) one
    /// that does not fit.
    pub fn from_decimal(d: Decimal) -> Result<Self, MoneyError> {
        // Sums and differences of amounts keep a scale within SCALE: only a
        // product or quotient needs its trailing zeros dropped. (Roll-ups
        // add millions of amounts; this is on their hot path.)
        let n = if d.scale() > SCALE { d.normalize() } else { d };
        if n.scale() > SCALE {
            return Err(MoneyError::TooPrecise(n.to_string()));
        }
        // |value| < 10^14 (no more than MAX_INTEGER_DIGITS integer digits),
        // checked on the mantissa: |mantissa| < 10^(14 + scale).
        const LIMITS: [u128; SCALE as usize + 1] = [
            100_000_000_000_000,
            1_000_000_000_000_000,
            10_000_000_000_000_000,
            100_000_000_000_000_000,
            1_000_000_000_000_000_000,
        ];
        let limit = LIMITS.get(n.scale() as usize).copied().unwrap_or(0);
        if n.mantissa().unsigned_abs() >= limit {
            return Err(MoneyError::TooLarge(n.to_string()));
        }
        Ok(Amount(n))
    }

    pub fn decimal(self) -> Decimal {
        self.0
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Integer minor units (×10⁴), the storage encoding.
    pub fn to_minor_units(self) -> i64 {
        let mut d = self.0;
        d.rescale(SCALE);
        // Fits by the type's invariant: 14 integer + 4 fractional digits < i64::MAX.
        i64::try_from(d.mantissa()).unwrap_or(if d.is_sign_negative() { i64::MIN } else { i64::MAX })
    }

    /// Decodes storage minor units; sums of many amounts may exceed the
    /// per-amount digit limit, so this only checks the i64 range.
    pub fn from_minor_units(minor: i64) -> Self {
        Amount(Decimal::new(minor, SCALE).normalize())
    }

    pub fn checked_add(self, other: Amount) -> Result<Amount, MoneyError> {
        self.0.checked_add(other.0).ok_or(MoneyError::Overflow).and_then(Amount::from_decimal)
    }

    pub fn checked_sub(self, other: Amount) -> Result<Amount, MoneyError> {
        self.0.checked_sub(other.0).ok_or(MoneyError::Overflow).and_then(Amount::from_decimal)
    }
}

impl fmt::Display for Amount {
    /// Canonical wire form: at least two fractional digits ("10000000.00").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = self.0.normalize();
        if d.scale() < 2 {
            d.rescale(2);
        }
        write!(f, "{d}")
    }
}

impl FromStr for Amount {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

/// Parses a plain decimal (`-?[0-9]+(\.[0-9]+)?`, no exponent, no
/// grouping, no "NaN") with at most `max_scale` fractional and
/// `max_integer_digits` integer digits. Used for amounts, and for rates,
/// percentages and weights with their own limits.
pub fn parse_plain_decimal(s: &str, max_scale: u32, max_integer_digits: usize) -> Result<Decimal, MoneyError> {
    if s.is_empty() {
        return Err(MoneyError::Empty);
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
        return Err(MoneyError::Syntax(s.to_owned()));
    }
    if frac.is_some_and(|f| f.len() > max_scale as usize) {
        return Err(MoneyError::TooPrecise(s.to_owned()));
    }
    if int.trim_start_matches('0').len() > max_integer_digits {
        return Err(MoneyError::TooLarge(s.to_owned()));
    }
    Decimal::from_str(s).map_err(|_| MoneyError::Syntax(s.to_owned()))
}

/// An ISO 4217 currency code (format checked: three ASCII upper-case letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurrencyCode([u8; 3]);

impl CurrencyCode {
    /// ISO 4217's "no currency": the unit of count targets.
    pub const XXX: CurrencyCode = CurrencyCode(*b"XXX");

    pub fn parse(s: &str) -> Result<Self, MoneyError> {
        match s.as_bytes() {
            [a, b, c] if [a, b, c].iter().all(|x| x.is_ascii_uppercase()) => Ok(Self([*a, *b, *c])),
            _ => Err(MoneyError::Currency(s.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        // Always ASCII by construction.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount in a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub currency: CurrencyCode,
    pub amount: Amount,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_plain_decimals() {
        assert_eq!(Amount::parse("10000000.00").unwrap().to_string(), "10000000.00");
        assert_eq!(Amount::parse("-0.5").unwrap().to_string(), "-0.50");
        assert_eq!(Amount::parse("7").unwrap().to_string(), "7.00");
        assert_eq!(Amount::parse("0.0001").unwrap().to_string(), "0.0001");
        assert_eq!(Amount::parse("99999999999999.99").unwrap().to_string(), "99999999999999.99");
    }

    #[test]
    fn refuses_what_is_not_a_plain_decimal() {
        for bad in ["1e5", "12.345.6", "NaN", "inf", "", " 1", "1 ", "+1", "1.", ".5", "1,000", "0x10", "--1", "１"] {
            assert!(Amount::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(Amount::parse("0.00001"), Err(MoneyError::TooPrecise("0.00001".into())));
        assert_eq!(Amount::parse("123456789012345"), Err(MoneyError::TooLarge("123456789012345".into())));
        assert!(Amount::parse("000000000000000000001.5").is_ok(), "leading zeros are not digits of value");
    }

    #[test]
    fn money_that_changes_hands_is_to_the_cent() {
        assert!(Amount::parse_cents("1200.35").is_ok());
        assert!(Amount::parse_cents("1200.3500").is_ok(), "trailing zeros are still cents");
        assert!(matches!(Amount::parse_cents("0.001"), Err(MoneyError::FinerThanACent(_))));
        assert!(matches!(Amount::parse_cents("12.345"), Err(MoneyError::FinerThanACent(_))));
    }

    #[test]
    fn minor_units_round_trip_the_extremes() {
        let max = Amount::parse("99999999999999.9999").unwrap();
        assert_eq!(Amount::from_minor_units(max.to_minor_units()), max);
        let min = Amount::parse("-99999999999999.9999").unwrap();
        assert_eq!(Amount::from_minor_units(min.to_minor_units()), min);
    }

    #[test]
    fn from_decimal_refuses_rather_than_rounds() {
        assert!(Amount::from_decimal(Decimal::new(1, 5)).is_err());
        assert!(Amount::from_decimal(Decimal::from(100_000_000_000_000_i64)).is_err());
        assert!(Amount::from_decimal(Decimal::from(99_999_999_999_999_i64)).is_ok());
        assert_eq!(Amount::from_decimal(Decimal::new(10, 5)).unwrap().to_string(), "0.0001");
        // The limit holds at every scale and sign, and trailing zeros past
        // four places are not precision.
        for scale in 0..=4 {
            let limit = 100_000_000_000_000_i64 * 10_i64.pow(scale);
            for sign in [1, -1] {
                assert!(
                    Amount::from_decimal(Decimal::new(sign * limit, scale)).is_err(),
                    "{sign} 10^14 at scale {scale}"
                );
                assert!(Amount::from_decimal(Decimal::new(sign * (limit - 1), scale)).is_ok());
            }
        }
        assert!(Amount::from_decimal(Decimal::new(-100_000_000_000_000_000, 6)).is_ok(), "-100,000,000,000.000000");
        assert!(Amount::from_decimal(Decimal::new(100_000_000_000_000_000, 3)).is_err(), "10^14 at scale 3");
        assert!(Amount::from_decimal(Decimal::new(123_456, 5)).is_err(), "1.23456");
    }

    #[test]
    fn currency_codes() {
        assert_eq!(CurrencyCode::parse("CNY").unwrap().as_str(), "CNY");
        for bad in ["cny", "CN", "CNYY", "C1Y", ""] {
            assert!(CurrencyCode::parse(bad).is_err());
        }
    }

    proptest! {
        #[test]
        fn wire_form_round_trips(minor in -999_999_999_999_999_999i64..=999_999_999_999_999_999i64) {
            let a = Amount::from_minor_units(minor);
            let back = Amount::parse(&a.to_string()).unwrap();
            prop_assert_eq!(back, a);
            prop_assert_eq!(back.to_minor_units(), minor);
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = Amount::parse(&s);
        }
    }
}
