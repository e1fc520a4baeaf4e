//! JSON numbers kept exactly as written, compared by value.
//!
//! A document read from disk and written back must keep `1.10`, `1e400` and
//! `12345678901234567890123` as they were, so a [`Number`] stores its text unless the text is the
//! canonical spelling of an `i64` (the common case, stored inline). Equality and hashing work on
//! the decimal value, so `1`, `1.0` and `10e-1` are equal, as RFC 6902's `test` requires.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// A JSON number, lossless: it writes back exactly as it was read.
#[derive(Clone)]
pub struct Number(Repr);

#[derive(Clone)]
enum Repr {
    /// The text is exactly `i.to_string()`.
    Int(i64),
    /// Any other valid JSON number text (floats, big integers, exponents, trailing zeros).
    Text(Box<str>),
}

impl Number {
    /// Parses JSON number text (RFC 8259 grammar), keeping the text exactly.
    ///
    /// Returns `None` if `text` is not a JSON number (`+1`, `01`, `.5`, `1.`, `NaN`, ...).
    pub fn parse(text: &str) -> Option<Number> {
        if scan(text.as_bytes()) != Some(text.len()) {
            return None;
        }
        Some(Self::from_valid_text(text))
    }

    /// Builds a number from text already known to match the JSON number grammar.
    pub(crate) fn from_valid_text(text: &str) -> Number {
        // Canonical i64 text: optional '-', no leading zeros, no fraction or exponent, and
        // not "-0" (which must stay "-0" when written back).
        let canonical_int = text.len() <= 20
            && text != "-0"
            && text.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        if canonical_int && let Ok(i) = text.parse::<i64>() {
            return Number(Repr::Int(i));
        }
        Number(Repr::Text(text.into()))
    }

    /// A finite float, written in its shortest round-trip form; `None` for NaN and infinities,
    /// which JSON cannot represent.
    pub fn from_f64(f: f64) -> Option<Number> {
        if !f.is_finite() {
            return None;
        }
        if f.fract() == 0.0 && f.abs() < 9.0e15 && !(f == 0.0 && f.is_sign_negative()) {
            #[allow(clippy::cast_possible_truncation)]
            return Some(Number(Repr::Int(f as i64)));
        }
        let plain = format!("{f}");
        let exp = format!("{f:e}");
        let text = if exp.len() < plain.len() { exp } else { plain };
        Some(Number::from_valid_text(&text))
    }

    /// The number as an `i64`, if it is an integer in range (`2.0` and `2e0` count).
    pub fn as_i64(&self) -> Option<i64> {
        match &self.0 {
            Repr::Int(i) => Some(*i),
            Repr::Text(t) => {
                let d = Decimal::from_text(t);
                d.to_i64()
            }
        }
    }

    /// The number as a `u64`, if it is a non-negative integer in range.
    pub fn as_u64(&self) -> Option<u64> {
        match &self.0 {
            Repr::Int(i) => u64::try_from(*i).ok(),
            Repr::Text(t) => Decimal::from_text(t).to_u64(),
        }
    }

    /// The number as the nearest `f64` (lossy for very long or very large numbers).
    pub fn as_f64(&self) -> f64 {
        match &self.0 {
            #[allow(clippy::cast_precision_loss)]
            Repr::Int(i) => *i as f64,
            Repr::Text(t) => t.parse::<f64>().unwrap_or(f64::NAN),
        }
    }

    /// Whether the value is a whole number (`3`, `3.0`, `3e2`).
    pub fn is_integer(&self) -> bool {
        match &self.0 {
            Repr::Int(_) => true,
            Repr::Text(t) => Decimal::from_text(t).exp >= 0,
        }
    }

    /// Adds `other`, as `incr` does. Integers that fit in `i64` add exactly; anything else adds
    /// as `f64`. Returns the sum and whether it is exact (so that subtracting `other` again
    /// restores `self` to the letter), or `None` if the sum is not a finite number.
    pub fn add(&self, other: &Number) -> Option<(Number, bool)> {
        if let (Repr::Int(a), Repr::Int(b)) = (&self.0, &other.0)
            && let Some(sum) = a.checked_add(*b)
        {
            return Some((Number(Repr::Int(sum)), true));
        }
        let sum = Number::from_f64(self.as_f64() + other.as_f64())?;
        Some((sum, false))
    }

    /// The negated number, exactly (`1.50` becomes `-1.50`).
    pub fn negate(&self) -> Number {
        match &self.0 {
            Repr::Int(i) => match i.checked_neg() {
                Some(n) => Number(Repr::Int(n)),
                None => Number(Repr::Text(format!("{}", -i128::from(*i)).into())),
            },
            Repr::Text(t) => match t.strip_prefix('-') {
                Some(rest) => Number::from_valid_text(rest),
                None => Number(Repr::Text(format!("-{t}").into())),
            },
        }
    }

    /// The value in one canonical spelling, equal for equal numbers (`1`, `1.0` and `10e-1` all
    /// give `1e0`; zero gives `0`).
    pub fn normal_form(&self) -> String {
        let d = self.decimal();
        if d.digits.is_empty() {
            return "0".to_owned();
        }
        let digits = String::from_utf8_lossy(&d.digits);
        format!("{}{digits}e{}", if d.neg { "-" } else { "" }, d.exp)
    }

    /// Calls `f` with [`Number::normal_form`], without allocating for integers that fit 64 bits
    /// (the common case: state hashes spell every number this way).
    pub(crate) fn with_normal_form<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        let int = match &self.0 {
            Repr::Int(i) => Some(*i),
            // JSON integers have no `+` and no leading zeros, so this reads exactly them.
            Repr::Text(t) => t.parse::<i64>().ok(),
        };
        let Some(int) = int else {
            return f(self.normal_form().as_bytes());
        };
        if int == 0 {
            return f(b"0");
        }
        let (mut digits, mut exp) = (int.unsigned_abs(), 0u32);
        while digits % 10 == 0 {
            digits /= 10;
            exp += 1;
        }
        // Written backwards: the exponent (at most 2 digits), "e", the digits (at most 20), "-".
        let mut buf = [0u8; 24];
        let mut at = buf.len();
        let mut put = |byte: u8| {
            at -= 1;
            if let Some(slot) = buf.get_mut(at) {
                *slot = byte;
            }
        };
        loop {
            put(b'0' + (exp % 10) as u8);
            exp /= 10;
            if exp == 0 {
                break;
            }
        }
        put(b'e');
        loop {
            put(b'0' + (digits % 10) as u8);
            digits /= 10;
            if digits == 0 {
                break;
            }
        }
        if int < 0 {
            put(b'-');
        }
        f(buf.get(at..).unwrap_or_default())
    }

    /// Appends the number's text to `out`.
    pub(crate) fn write_to(&self, out: &mut String) {
        match &self.0 {
            Repr::Int(i) => {
                use fmt::Write as _;
                let _ = write!(out, "{i}");
            }
            Repr::Text(t) => out.push_str(t),
        }
    }

    fn decimal(&self) -> Decimal {
        match &self.0 {
            Repr::Int(i) => Decimal::from_i64(*i),
            Repr::Text(t) => Decimal::from_text(t),
        }
    }
}

/// Scans a JSON number at the start of `b` and returns its length, or `None` if `b` does not
/// start with a valid number.
pub(crate) fn scan(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            while matches!(b.get(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let start = i;
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    Some(i)
}

/// A number's value in normal form: `(-1)^neg * digits * 10^exp`, with `digits` free of leading
/// and trailing zeros. Zero has no digits (and no sign).
#[derive(PartialEq, Eq)]
struct Decimal {
    neg: bool,
    digits: Vec<u8>,
    exp: i64,
}

impl Decimal {
    fn from_i64(i: i64) -> Decimal {
        Decimal::from_text(&i.to_string())
    }

    /// `t` must match the JSON number grammar.
    fn from_text(t: &str) -> Decimal {
        let (neg, rest) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (mantissa, exp_text) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, ""),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let mut exp = parse_exponent(exp_text).saturating_sub(frac_part.len() as i64);
        let mut digits: Vec<u8> = int_part
            .bytes()
            .chain(frac_part.bytes())
            .skip_while(|d| *d == b'0')
            .collect();
        while digits.last() == Some(&b'0') {
            digits.pop();
            exp = exp.saturating_add(1);
        }
        if digits.is_empty() {
            return Decimal {
                neg: false,
                digits,
                exp: 0,
            };
        }
        Decimal { neg, digits, exp }
    }

    fn hash_into<H: Hasher>(&self, state: &mut H) {
        // 38 digits always fit in a u128.
        if self.digits.len() <= 38 {
            let mantissa = self
                .digits
                .iter()
                .fold(0u128, |m, d| m * 10 + u128::from(d - b'0'));
            hash_small(self.neg, mantissa, self.exp, state);
        } else {
            state.write_u8(1);
            state.write_u8(u8::from(self.neg));
            state.write(&self.digits);
            state.write_i64(self.exp);
        }
    }

    fn to_i128(&self) -> Option<i128> {
        if self.exp < 0 || self.digits.len() as i64 + self.exp > 20 {
            return None;
        }
        let mut v: i128 = 0;
        for d in &self.digits {
            v = v * 10 + i128::from(d - b'0');
        }
        for _ in 0..self.exp {
            v *= 10;
        }
        Some(if self.neg { -v } else { v })
    }

    fn to_i64(&self) -> Option<i64> {
        self.to_i128().and_then(|v| i64::try_from(v).ok())
    }

    fn to_u64(&self) -> Option<u64> {
        self.to_i128().and_then(|v| u64::try_from(v).ok())
    }
}

/// Exponents past ±10^18 saturate: such numbers are far outside any float and only ever compared
/// with each other.
fn parse_exponent(text: &str) -> i64 {
    let (neg, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut v: i64 = 0;
    for d in digits.bytes() {
        v = v.saturating_mul(10).saturating_add(i64::from(d - b'0'));
    }
    v = v.min(1_000_000_000_000_000_000);
    if neg { -v } else { v }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        match (&self.0, &other.0) {
            (Repr::Int(a), Repr::Int(b)) => a == b,
            (Repr::Text(a), Repr::Text(b)) if a == b => true,
            _ => self.decimal() == other.decimal(),
        }
    }
}

impl Eq for Number {}

impl Hash for Number {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match &self.0 {
            // The same normal form as `Decimal::hash_into`, computed without allocating.
            Repr::Int(i) => {
                let (mut mantissa, mut exp) = (u128::from(i.unsigned_abs()), 0i64);
                while mantissa != 0 && mantissa % 10 == 0 {
                    mantissa /= 10;
                    exp += 1;
                }
                hash_small(*i < 0, mantissa, exp, state);
            }
            Repr::Text(t) => Decimal::from_text(t).hash_into(state),
        }
    }
}

/// Hashes a normal-form decimal whose digits fit in a `u128`.
fn hash_small<H: Hasher>(neg: bool, mantissa: u128, exp: i64, state: &mut H) {
    state.write_u8(0);
    state.write_u8(u8::from(neg && mantissa != 0));
    state.write_u128(mantissa);
    state.write_i64(exp);
}

impl PartialOrd for Number {
    /// Orders numbers by value; only the `f64` approximations are compared.
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        if self == other {
            return Some(Ordering::Equal);
        }
        self.as_f64().partial_cmp(&other.as_f64())
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Int(i) => write!(f, "{i}"),
            Repr::Text(t) => f.write_str(t),
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Number {
        Number(Repr::Int(i))
    }
}

impl From<i32> for Number {
    fn from(i: i32) -> Number {
        Number(Repr::Int(i64::from(i)))
    }
}

impl From<u64> for Number {
    fn from(u: u64) -> Number {
        match i64::try_from(u) {
            Ok(i) => Number(Repr::Int(i)),
            Err(_) => Number(Repr::Text(u.to_string().into())),
        }
    }
}

impl From<usize> for Number {
    fn from(u: usize) -> Number {
        Number::from(u as u64)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_allocation_free_normal_form_is_the_normal_form() {
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "1",
            "-1",
            "10",
            "100",
            "-1200",
            "1.0",
            "1.50",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "1e3",
            "120e-1",
            "0.0",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        texts.extend((0..2000).map(|i: i64| (i * 7919 - 5000).to_string()));
        for text in &texts {
            let n = super::Number::from_valid_text(text);
            let fast = n.with_normal_form(|b| String::from_utf8(b.to_vec()).unwrap());
            assert_eq!(fast, n.normal_form(), "{text}");
        }
        for i in [0i64, 1, -1, 10, -100, i64::MAX, i64::MIN, 123_000] {
            let n = super::Number::from(i);
            let fast = n.with_normal_form(|b| String::from_utf8(b.to_vec()).unwrap());
            assert_eq!(fast, n.normal_form(), "{i}");
        }
    }

    use super::*;

    fn n(t: &str) -> Number {
        Number::parse(t).unwrap_or_else(|| panic!("{t} should parse"))
    }

    #[test]
    fn text_is_kept_exactly() {
        for t in [
            "1.10",
            "1e400",
            "12345678901234567890123",
            "-0",
            "0.0",
            "1E5",
            "-1.5e-7",
            "42",
        ] {
            assert_eq!(n(t).to_string(), t);
        }
    }

    #[test]
    fn rejects_what_json_rejects() {
        for t in [
            "", "-", "+1", "01", ".5", "1.", "1e", "1e+", "NaN", "Infinity", "0x10", "1 ",
        ] {
            assert!(Number::parse(t).is_none(), "{t:?} should not parse");
        }
    }

    #[test]
    fn equality_is_by_value() {
        assert_eq!(n("1"), n("1.0"));
        assert_eq!(n("1"), n("10e-1"));
        assert_eq!(n("100"), n("1e2"));
        assert_eq!(n("0"), n("-0.0"));
        assert_eq!(n("1e400"), n("10e399"));
        assert_ne!(n("1"), n("1.0000000000000000000001"));
        assert_ne!(n("1e400"), n("1e401"));
        assert_ne!(n("-1"), n("1"));
    }

    #[test]
    fn equal_numbers_hash_equal() {
        use std::collections::hash_map::DefaultHasher;
        let h = |x: &Number| {
            let mut s = DefaultHasher::new();
            x.hash(&mut s);
            s.finish()
        };
        for (a, b) in [
            ("1", "1.0"),
            ("120", "1.2e2"),
            ("0", "-0"),
            ("-7", "-7.000"),
            ("10", "1e1"),
        ] {
            assert_eq!(h(&n(a)), h(&n(b)), "{a} vs {b}");
        }
    }

    #[test]
    fn normal_forms_agree_for_equal_values() {
        assert_eq!(n("1").normal_form(), "1e0");
        assert_eq!(n("1.0").normal_form(), n("10e-1").normal_form());
        assert_eq!(n("-0.0").normal_form(), "0");
        assert_eq!(n("-1.50").normal_form(), "-15e-1");
    }

    #[test]
    fn integers_convert() {
        assert_eq!(n("2e0").as_i64(), Some(2));
        assert_eq!(n("2.5").as_i64(), None);
        assert_eq!(n("-3").as_u64(), None);
        assert_eq!(n("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(n("1e400").as_i64(), None);
    }

    #[test]
    fn add_is_exact_for_integers_and_reports_when_not() {
        let (sum, exact) = n("40").add(&n("2")).unwrap();
        assert_eq!((sum.to_string().as_str(), exact), ("42", true));
        let (sum, exact) = n("0.1").add(&n("0.2")).unwrap();
        assert_eq!(
            (sum.to_string().as_str(), exact),
            ("0.30000000000000004", false)
        );
        let (sum, exact) = n("9223372036854775807").add(&n("1")).unwrap();
        assert!(!exact);
        assert_eq!(sum.as_f64(), 9.223372036854776e18);
        assert!(n("1e308").add(&n("1e308")).is_none());
    }

    #[test]
    fn negate_keeps_digits() {
        assert_eq!(n("1.50").negate().to_string(), "-1.50");
        assert_eq!(n("-1.50").negate().to_string(), "1.50");
        assert_eq!(
            Number::from(i64::MIN).negate().to_string(),
            "9223372036854775808"
        );
    }

    #[test]
    fn floats_use_the_shortest_form() {
        assert_eq!(Number::from_f64(0.1).unwrap().to_string(), "0.1");
        assert_eq!(Number::from_f64(1e300).unwrap().to_string(), "1e300");
        assert_eq!(Number::from_f64(3.0).unwrap().to_string(), "3");
        assert!(Number::from_f64(f64::NAN).is_none());
    }
}
