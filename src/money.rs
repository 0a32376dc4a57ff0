//! How amounts are written for people, in one place: the alert digests and `show` print
//! the same "1 300 000 KZT". A leaf: imports nothing from the crate.
//!
//! This module must never: print an amount it cannot write exactly to the tiyn (NaN and
//! infinities are `None`), or let a currency taken from a portal carry anything but letters
//! and digits.

use std::fmt::Write;

/// "1 300 000", "1 234.50", "-1 000": groups of three digits split by a space, cents only
/// when there are any. `None` for NaN and infinities.
pub fn format_amount(x: f64) -> Option<String> {
    if !x.is_finite() {
        return None;
    }
    let cents = (x * 100.0).round() as i128;
    let (neg, c) = (cents < 0, cents.unsigned_abs());
    let (int, frac) = (c / 100, c % 100);
    let digits = int.to_string();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(ch);
    }
    if frac > 0 {
        let _ = write!(out, ".{frac:02}");
    }
    Some(out)
}

/// The amount and its currency code ("1 300 000 KZT"). The code keeps only its letters and
/// digits, at most 8 of them (a portal's "KZT\u{202e}" or "<b>" never reaches a reader).
pub fn with_currency(x: f64, currency: Option<&str>) -> Option<String> {
    let n = format_amount(x)?;
    let cur: String = currency
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_alphanumeric())
        .take(8)
        .collect();
    Some(if cur.is_empty() {
        n
    } else {
        format!("{n} {cur}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped_and_currencies_cleaned() {
        assert_eq!(format_amount(1_300_000.0).unwrap(), "1 300 000");
        assert_eq!(format_amount(1234.5).unwrap(), "1 234.50");
        assert_eq!(format_amount(-1000.0).unwrap(), "-1 000");
        assert_eq!(format_amount(f64::INFINITY), None);
        assert_eq!(
            with_currency(325_000.0, Some(" KZT ")).unwrap(),
            "325 000 KZT"
        );
        assert_eq!(
            with_currency(1.0, Some("<b>KZT\u{202e}</b>x")).unwrap(),
            "1 bKZTbx"
        );
        assert_eq!(with_currency(5.0, None).unwrap(), "5");
    }
}
