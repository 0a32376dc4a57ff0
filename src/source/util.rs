//! What every source does the same way, in one place: where a run starts (`--since`, the
//! saved cursor, or `lookback_days` back), the cursor as JSON, telling an HTML page from the
//! JSON that was asked for (and reading that JSON, [`json_body`]), reading an amount as portals
//! write it, and reading a portal's times.
//!
//! Never: panic on a portal's text, read a number out of text that holds none, or guess a
//! time zone (a time without an offset, and no zone to read it in, keeps `utc: None`).
//!
//! # Amounts
//! [`parse_amount`] reads the first number in a text, and ignores the text around it (the
//! currency, "тг.", "(с НДС 12%)"). A minus sign right before it makes it negative. Inside
//! the number:
//! - spaces of any width (also no-break and narrow no-break) and apostrophes group digits:
//!   `1 300 000`, `1'300'000`;
//! - with both `.` and `,`, the last one is the decimal mark (it may occur once) and the
//!   other groups digits: `1,300,000.50`, `1.300.000,50`;
//! - one mark occurring several times groups digits: `1.300.000`, `1,300,000`;
//! - one mark occurring once is the decimal mark (`1300000.00`, `1 300 000,50`, `0.300`,
//!   `1300.000`), except in the ambiguous `1.300` / `12,500` / `999.999`: three digits after
//!   it, one to three before it (not starting with 0), no space grouping. That is read as
//!   digit grouping (1300), because amounts on the portals carry two decimals or none, and a
//!   figure like 1.300 tenge with three decimals is not seen while 1.300 for a thousand and
//!   three hundred is;
//! - where digits are grouped, every group after the first has three digits; a number that
//!   breaks this (`1.30.00`, `1,30,000`) or mixes marks otherwise (`1.300,000.50`) is no
//!   number (`None`), never a guess.
//!
//! [`parse_quantity`] reads a count the same way, except that one mark occurring once is
//! always the decimal mark (`1.500` kg is one and a half).
//!
//! # Times
//! [`portal_time`] reads RFC 3339 and ISO 8601 times with an offset (`2026-11-20T10:00:00+05:00`,
//! `…Z`, `…+0500`, a space for the `T`), naive local times (`2026-11-20 10:00:00`, with or
//! without seconds and fractions, `T` or space) and dates (`2026-11-20`, midnight) in the
//! portal's zone. [`time_in_text`] reads a configured strftime format anywhere in a text.
//! Both keep the portal's string as it came.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{SourceError, SourceSpec};
use crate::model::PortalTime;

// ---------------------------------------------------------------------------------------------
// Where a run starts, and its cursor.

/// The first day of a first crawl: `lookback_days` before `today`, at most
/// [`MAX_LOOKBACK_DAYS`](crate::config::MAX_LOOKBACK_DAYS) (the config refuses more), and never
/// out of chrono's calendar.
/// The `Crawl-delay` (seconds) a robots.txt asks of `agent` (its group, else `*`'s), if any: a
/// positive number, at most a day. Unknown lines are ignored; the file is the site's, so any
/// text is accepted.
pub fn crawl_delay(robots: &str, agent: &str) -> Option<f64> {
    let agent = agent.to_ascii_lowercase();
    let (mut ours, mut any): (Option<f64>, Option<f64>) = (None, None);
    // the agents of the group being read; a `User-agent` line after a rule starts a new group
    let mut group: Vec<String> = Vec::new();
    let mut in_rules = false;
    for line in robots.lines().take(10_000) {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
        match key.as_str() {
            "user-agent" => {
                if in_rules {
                    group.clear();
                    in_rules = false;
                }
                group.push(value.to_ascii_lowercase());
            }
            "crawl-delay" => {
                in_rules = true;
                let Some(d) = value
                    .parse::<f64>()
                    .ok()
                    .filter(|d| d.is_finite() && *d > 0.0)
                else {
                    continue;
                };
                let d = d.min(86_400.0);
                if group
                    .iter()
                    .any(|g| !g.is_empty() && g != "*" && agent.contains(g.as_str()))
                {
                    ours = Some(d);
                } else if group.iter().any(|g| g == "*") {
                    any = Some(d);
                }
            }
            _ => in_rules = true,
        }
    }
    ours.or(any)
}

/// Requests per second for a site whose robots.txt asks for `delay` seconds between requests:
/// the slower of the two (`configured` of 0 or less means no limit of its own).
pub fn rate_with_crawl_delay(configured: f64, delay: Option<f64>) -> f64 {
    match delay {
        Some(d) if d > 0.0 => {
            let asked = 1.0 / d;
            if configured <= 0.0 {
                asked
            } else {
                configured.min(asked)
            }
        }
        _ => configured,
    }
}

pub fn lookback_start(today: NaiveDate, lookback_days: u32) -> NaiveDate {
    let days = lookback_days.min(crate::config::MAX_LOOKBACK_DAYS);
    today
        .checked_sub_days(chrono::Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MIN)
}

/// Where this run of a source starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Start<C> {
    /// A fresh crawl from this day: `--since`, or `lookback_days` before today.
    Fresh(NaiveDate),
    /// Where the previous run left off: its saved cursor.
    Resume(C),
}

/// `--since` (the spec's `since`) wins; else a saved cursor that is not blank is decoded
/// (unreadable: [`SourceError::BadCursor`]); else the first crawl reaches `lookback_days`
/// back from `today` (the portal's today).
pub fn start<C: DeserializeOwned>(
    spec: &SourceSpec,
    saved: Option<&str>,
    today: NaiveDate,
) -> Result<Start<C>, SourceError> {
    Ok(match (spec.since, saved) {
        (Some(day), _) => Start::Fresh(day),
        (None, Some(saved)) if !saved.trim().is_empty() => {
            Start::Resume(decode_cursor(&spec.config.name, saved)?)
        }
        _ => Start::Fresh(lookback_start(today, spec.config.lookback_days)),
    })
}

/// A saved cursor read back; one that is not this kind's JSON is [`SourceError::BadCursor`].
pub fn decode_cursor<C: DeserializeOwned>(name: &str, saved: &str) -> Result<C, SourceError> {
    serde_json::from_str(saved).map_err(|e| bad_cursor(name, saved, e.to_string()))
}

/// A cursor as the pipeline saves it (compact JSON).
pub fn encode_cursor<C: Serialize>(cursor: &C) -> String {
    serde_json::to_string(cursor).unwrap_or_default()
}

/// A saved cursor (or a part of it, such as a URL it holds) this source cannot use.
pub fn bad_cursor(name: &str, cursor: &str, reason: impl Into<String>) -> SourceError {
    SourceError::BadCursor {
        name: name.to_string(),
        cursor: cursor.to_string(),
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// What came back.

/// Whether a body looks like an HTML page (a bot challenge, an error or maintenance page)
/// rather than the JSON that was asked for: an HTML media type, or a body whose first
/// non-blank byte is `<`.
pub fn looks_like_html(content_type: Option<&str>, body: &[u8]) -> bool {
    if content_type.is_some_and(|c| c.to_ascii_lowercase().contains("html")) {
        return true;
    }
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    body[start..].first() == Some(&b'<')
}

/// A JSON answer of source `name`: an HTML page instead (a challenge, an error page) is
/// [`SourceError::Api`] (the next run tries again), a body that is no JSON
/// [`SourceError::ChangedFormat`]; both name the URL.
pub fn json_body(name: &str, resp: &crate::fetch::Response) -> Result<Value, SourceError> {
    if looks_like_html(resp.content_type.as_deref(), &resp.body) {
        return Err(SourceError::Api {
            name: name.to_string(),
            url: resp.url.to_string(),
            message: "an HTML page (a challenge or an error page?) where JSON was expected; the next run tries again".into(),
        });
    }
    serde_json::from_slice(&resp.body).map_err(|e| SourceError::ChangedFormat {
        name: name.to_string(),
        url: resp.url.to_string(),
        what: format!("not JSON: {e}"),
    })
}

// ---------------------------------------------------------------------------------------------
// Amounts.

/// An amount as a portal writes it, by the rules of the module comment: "1 300 000,50 ₸",
/// "1,300,000.50", "1.300.000", "710 338.80 тг." `None` where the text holds no number or
/// one that breaks the rules.
pub fn parse_amount(text: &str) -> Option<f64> {
    number(text, true)
}

/// A count ("1 500", "1,5", "1.500"): as [`parse_amount`], except that one `.` or `,` is
/// always the decimal mark.
pub fn parse_quantity(text: &str) -> Option<f64> {
    number(text, false)
}

/// An amount in JSON: a number as it is, a string read with [`parse_amount`].
pub fn amount_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        Value::String(s) => parse_amount(s),
        _ => None,
    }
}

/// Serde: an amount that may come as a number or a string ([`amount_of`]).
pub(crate) fn lenient_amount<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(amount_of(&Value::deserialize(d)?))
}

/// Serde: a count that may come as a number or a string ([`parse_quantity`]).
pub(crate) fn lenient_quantity<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()),
        Value::String(s) => parse_quantity(&s),
        _ => None,
    })
}

/// Spaces of every width and apostrophes: they group digits, never mark decimals.
fn is_group_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\u{a0}' | '\u{2007}' | '\u{2009}' | '\u{202f}' | '\'' | '\u{2019}'
    )
}

/// The first number of `text`: whether a minus sign precedes it, and its digits with the
/// marks between them (`.`, `,`, and `' '` for any group space). A mark belongs to the
/// number only between two digits.
fn first_number(text: &str) -> Option<(bool, String)> {
    let chars: Vec<char> = text.chars().collect();
    let start = chars.iter().position(char::is_ascii_digit)?;
    let negative = start > 0 && matches!(chars[start - 1], '-' | '\u{2212}');
    let mut body = String::new();
    for (i, &c) in chars.iter().enumerate().skip(start) {
        if c.is_ascii_digit() {
            body.push(c);
            continue;
        }
        let mark = c == '.' || c == ',' || is_group_space(c);
        let between_digits = body.ends_with(|b: char| b.is_ascii_digit())
            && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if !(mark && between_digits) {
            break;
        }
        body.push(if is_group_space(c) { ' ' } else { c });
    }
    Some((negative, body))
}

/// Digit groups after the first have three digits; the first has one to three.
fn groups_ok(integer: &str, separators: &[char]) -> bool {
    let groups: Vec<&str> = integer.split(|c| separators.contains(&c)).collect();
    groups.len() == 1 || (groups[0].len() <= 3 && groups[1..].iter().all(|g| g.len() == 3))
}

fn number(text: &str, single_mark_may_group: bool) -> Option<f64> {
    let (negative, body) = first_number(text)?;
    let spaced = body.contains(' ');
    let marks: Vec<(usize, char)> = body
        .char_indices()
        .filter(|(_, c)| matches!(c, '.' | ','))
        .collect();
    // The decimal mark, if any, and the marks that group digits.
    let (decimal_at, grouping): (Option<usize>, Option<char>) = match marks.as_slice() {
        [] => (None, None),
        [(i, m)] => {
            let before: String = body[..*i].chars().filter(char::is_ascii_digit).collect();
            let after = &body[i + 1..];
            let groups = single_mark_may_group
                && !spaced
                && after.len() == 3
                && (1..=3).contains(&before.len())
                && !before.starts_with('0');
            if groups {
                (None, Some(*m))
            } else {
                (Some(*i), None)
            }
        }
        [(_, first), ..] if marks.iter().all(|(_, m)| m == first) => (None, Some(*first)),
        [.., (last_at, last)] => {
            if marks.iter().filter(|(_, m)| m == last).count() != 1 {
                return None;
            }
            let other = if *last == '.' { ',' } else { '.' };
            (Some(*last_at), Some(other))
        }
    };
    let (integer, fraction) = match decimal_at {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body.as_str(), None),
    };
    if fraction.is_some_and(|f| !f.chars().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let mut separators = vec![' '];
    separators.extend(grouping);
    if !groups_ok(integer, &separators) {
        return None;
    }
    let mut plain: String = integer.chars().filter(char::is_ascii_digit).collect();
    if let Some(f) = fraction {
        plain.push('.');
        plain.push_str(f);
    }
    let v: f64 = plain.parse().ok()?;
    v.is_finite().then_some(if negative { -v } else { v })
}

// ---------------------------------------------------------------------------------------------
// Times.

/// A portal's time (see the module comment for the forms read), as UTC with the portal's
/// string kept. A time without an offset is read in `zone`; without a zone it keeps
/// `utc: None`, as does a string that is no time. `None` for an empty string.
pub fn portal_time(text: &str, zone: Option<chrono_tz::Tz>) -> Option<PortalTime> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let utc = with_offset(t).or_else(|| {
        let local = naive(t)?;
        zone?
            .from_local_datetime(&local)
            .earliest()
            .map(|d| d.with_timezone(&Utc))
    });
    if utc.is_none() {
        tracing::debug!(value = t, "not a portal time (or no zone to read it in)");
    }
    Some(PortalTime {
        utc,
        original: text.to_string(),
    })
}

fn with_offset(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%z"))
        .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%:z"))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn naive(t: &str) -> Option<NaiveDateTime> {
    [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })
}

/// A time in the strftime `format` somewhere in `text` (text around it is ignored), in `zone`
/// unless the format has an offset (`%z`). `None` when no part of `text` is in that format.
pub fn time_in_text(text: &str, format: &str, zone: chrono_tz::Tz) -> Option<PortalTime> {
    let has_offset = format.contains("%z") || format.contains("%:z") || format.contains("%#z");
    let starts = text
        .char_indices()
        .filter(|(_, c)| c.is_ascii_alphanumeric())
        .map(|(i, _)| i);
    for i in starts {
        let rest = &text[i..];
        let utc = if has_offset {
            DateTime::parse_and_remainder(rest, format)
                .ok()
                .map(|(d, _)| d.with_timezone(&Utc))
        } else {
            NaiveDateTime::parse_and_remainder(rest, format)
                .map(|(n, _)| n)
                .or_else(|_| {
                    NaiveDate::parse_and_remainder(rest, format)
                        .map(|(d, _)| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                })
                .ok()
                .and_then(|n| zone.from_local_datetime(&n).earliest())
                .map(|d| d.with_timezone(&Utc))
        };
        if let Some(utc) = utc {
            return Some(PortalTime {
                utc: Some(utc),
                original: text.to_string(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Almaty;

    #[test]
    fn every_amount_form_the_sources_meet() {
        let cases: &[(&str, Option<f64>)] = &[
            // html listings and goszakup's search pages.
            ("1 300 000,00 ₸", Some(1_300_000.0)),
            ("1 300 000,50 ₸", Some(1_300_000.5)),
            ("4 100 000,00 ₸", Some(4_100_000.0)),
            ("710 338.80", Some(710_338.8)),
            ("710\u{a0}338.80 тг.", Some(710_338.8)),
            ("1\u{a0}200\u{a0}000,50", Some(1_200_000.5)),
            ("1\u{202f}200\u{202f}000", Some(1_200_000.0)),
            ("1 200 000", Some(1_200_000.0)),
            ("500 000.00", Some(500_000.0)),
            // goszakup's API, when it sends a string.
            ("2 400 000.00", Some(2_400_000.0)),
            ("1300000.00", Some(1_300_000.0)),
            ("710338.8", Some(710_338.8)),
            ("34191869.47", Some(34_191_869.47)),
            // Grouping with the marks.
            ("1.300.000", Some(1_300_000.0)),
            ("1,300,000", Some(1_300_000.0)),
            ("1,300,000.50", Some(1_300_000.5)),
            ("1.300.000,50", Some(1_300_000.5)),
            ("1'300'000", Some(1_300_000.0)),
            ("1,300.000", Some(1_300.0)),
            // One mark, once.
            ("1300,5", Some(1_300.5)),
            ("1234,56", Some(1_234.56)),
            ("12.5", Some(12.5)),
            ("0.300", Some(0.3)),
            ("1300.000", Some(1_300.0)),
            ("1 300.000", Some(1_300.0)),
            // The ambiguous form: grouping (see the module comment).
            ("1.300", Some(1_300.0)),
            ("12,500", Some(12_500.0)),
            ("999.999", Some(999_999.0)),
            // Text around the number.
            ("Сумма: 34 191 869,47 тенге", Some(34_191_869.47)),
            ("1 300 000 тг. (с НДС 12%)", Some(1_300_000.0)),
            ("USD 1,300,000.50", Some(1_300_000.5)),
            ("-1 500,00", Some(-1_500.0)),
            ("1 300.", Some(1_300.0)),
            // No number, or one that breaks the rules.
            ("—", None),
            ("", None),
            ("тг.", None),
            ("1.30.00", None),
            ("1,30,000", None),
            ("1.300,000.50", None),
            ("1,300.000,5", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_amount(text), *want, "{text:?}");
        }
    }

    #[test]
    fn a_count_reads_one_mark_as_decimals() {
        assert_eq!(parse_quantity("1.500"), Some(1.5));
        assert_eq!(parse_quantity("1,5"), Some(1.5));
        assert_eq!(parse_quantity("1 500"), Some(1_500.0));
        assert_eq!(parse_quantity("1.500.000"), Some(1_500_000.0));
        assert_eq!(parse_quantity("10"), Some(10.0));
        assert_eq!(parse_quantity("шт."), None);
    }

    #[test]
    fn amounts_in_json() {
        use serde_json::json;
        assert_eq!(amount_of(&json!(710338.8)), Some(710_338.8));
        assert_eq!(amount_of(&json!(1300000)), Some(1_300_000.0));
        assert_eq!(amount_of(&json!("1.300.000")), Some(1_300_000.0));
        assert_eq!(amount_of(&json!("2 400 000.00")), Some(2_400_000.0));
        assert_eq!(amount_of(&json!(null)), None);
        assert_eq!(amount_of(&json!({"amount": 1})), None);
    }

    #[test]
    fn times_with_and_without_offsets() {
        let t = portal_time("2026-11-20T10:00:00+05:00", None).unwrap();
        assert_eq!(t.utc.unwrap().to_rfc3339(), "2026-11-20T05:00:00+00:00");
        assert_eq!(t.original, "2026-11-20T10:00:00+05:00");
        let t = portal_time("2026-11-20T10:00:00.123+0200", None).unwrap();
        assert_eq!(t.utc.unwrap().to_rfc3339(), "2026-11-20T08:00:00.123+00:00");
        let t = portal_time("2026-11-21T09:00:00Z", Some(Almaty)).unwrap();
        assert_eq!(t.utc.unwrap().to_rfc3339(), "2026-11-21T09:00:00+00:00");
        let t = portal_time("2026-11-30 18:00:00+05:00", None).unwrap();
        assert_eq!(t.utc.unwrap().to_rfc3339(), "2026-11-30T13:00:00+00:00");
        // Naive: in the zone, or unknown without one.
        assert_eq!(portal_time("2026-11-20T10:00:00", None).unwrap().utc, None);
        for (local, utc) in [
            ("2026-11-20 10:00:00", "2026-11-20T05:00:00+00:00"),
            ("2026-11-20T10:00:00", "2026-11-20T05:00:00+00:00"),
            ("2026-11-20 10:00", "2026-11-20T05:00:00+00:00"),
            ("2026-11-20 10:00:00.500", "2026-11-20T05:00:00.500+00:00"),
            ("2026-11-20", "2026-11-19T19:00:00+00:00"),
        ] {
            let t = portal_time(local, Some(Almaty)).unwrap();
            assert_eq!(t.utc.unwrap().to_rfc3339(), utc, "{local}");
            assert_eq!(t.original, local);
        }
        assert_eq!(portal_time("  ", None), None);
        assert_eq!(portal_time("never", Some(Almaty)).unwrap().utc, None);
    }

    #[test]
    fn almaty_is_utc6_before_march_2024_and_utc5_after() {
        let before = portal_time("2024-02-29 12:00:00", Some(Almaty)).unwrap();
        assert_eq!(
            before.utc.unwrap().to_rfc3339(),
            "2024-02-29T06:00:00+00:00"
        );
        let after = portal_time("2024-03-01 12:00:00", Some(Almaty)).unwrap();
        assert_eq!(after.utc.unwrap().to_rfc3339(), "2024-03-01T07:00:00+00:00");
        assert_eq!(after.original, "2024-03-01 12:00:00");
    }

    #[test]
    fn a_configured_format_somewhere_in_a_text() {
        let t = time_in_text(
            "Опубликовано: 20.11.2026 10:30 (время Астаны)",
            "%d.%m.%Y %H:%M",
            Almaty,
        )
        .unwrap();
        assert_eq!(t.utc.unwrap().to_rfc3339(), "2026-11-20T05:30:00+00:00");
        assert_eq!(t.original, "Опубликовано: 20.11.2026 10:30 (время Астаны)");
        let d = time_in_text("от 20.11.2026", "%d.%m.%Y", chrono_tz::UTC).unwrap();
        assert_eq!(d.utc.unwrap().to_rfc3339(), "2026-11-20T00:00:00+00:00");
        let z = time_in_text("2026-11-20 10:00 +0300", "%Y-%m-%d %H:%M %z", Almaty).unwrap();
        assert_eq!(z.utc.unwrap().to_rfc3339(), "2026-11-20T07:00:00+00:00");
        assert!(time_in_text("вчера", "%d.%m.%Y %H:%M", Almaty).is_none());
    }

    #[test]
    fn html_where_json_was_expected() {
        assert!(looks_like_html(Some("text/html; charset=utf-8"), b"{}"));
        assert!(looks_like_html(
            Some("application/json"),
            b"  \n<!doctype html>"
        ));
        assert!(looks_like_html(None, b"<html>"));
        assert!(!looks_like_html(Some("application/json"), b" {\"a\": 1}"));
        assert!(!looks_like_html(None, b""));
    }

    /// Defence in depth: the numbers that used to panic, handed past the config's checks.
    #[test]
    fn lookback_is_clamped_and_never_leaves_the_calendar() {
        let today = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        let start = lookback_start(today, u32::MAX);
        assert_eq!(
            start,
            today - chrono::Days::new(u64::from(crate::config::MAX_LOOKBACK_DAYS))
        );
        assert_eq!(lookback_start(today, 7), today - chrono::Days::new(7));
        let first = NaiveDate::MIN;
        assert_eq!(lookback_start(first, 7), first);
    }

    #[test]
    fn cursors_round_trip_and_a_bad_one_is_named() {
        #[derive(Debug, PartialEq, Serialize, Deserialize)]
        struct C {
            from: NaiveDate,
            page: u32,
        }
        let c = C {
            from: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            page: 3,
        };
        let s = encode_cursor(&c);
        assert_eq!(s, r#"{"from":"2026-11-20","page":3}"#);
        assert_eq!(decode_cursor::<C>("x", &s).unwrap(), c);
        match decode_cursor::<C>("src", "{oops") {
            Err(SourceError::BadCursor { name, cursor, .. }) => {
                assert_eq!((name.as_str(), cursor.as_str()), ("src", "{oops"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn crawl_delay_of_robots_txt() {
        let robots = "User-agent: Googlebot\nCrawl-delay: 1\n\nUser-agent: *\nDisallow: /cabinet\nCrawl-delay: 5\n";
        assert_eq!(
            crawl_delay(robots, "tenderscan/0.1 (+mailto:x@y)"),
            Some(5.0)
        );
        assert_eq!(crawl_delay(robots, "Googlebot/2.1"), Some(1.0));
        let ours =
            "User-agent: *\nCrawl-delay: 2\nUser-agent: tenderscan\nCrawl-delay: 10 # slow\n";
        assert_eq!(crawl_delay(ours, "tenderscan/0.1"), Some(10.0));
        assert_eq!(crawl_delay("User-agent: *\nCrawl-delay: soon\n", "x"), None);
        assert_eq!(crawl_delay("User-agent: *\nCrawl-delay: -3\n", "x"), None);
        assert_eq!(crawl_delay("<html>not robots</html>", "x"), None);
        assert_eq!(rate_with_crawl_delay(1.0, Some(5.0)), 0.2);
        assert_eq!(rate_with_crawl_delay(0.1, Some(5.0)), 0.1);
        assert_eq!(rate_with_crawl_delay(0.0, Some(4.0)), 0.25);
        assert_eq!(rate_with_crawl_delay(0.5, None), 0.5);
    }
}
