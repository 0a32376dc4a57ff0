//! Making untrusted text fit to show: control and bidi-override characters removed,
//! one-line fields capped with an ellipsis, HTML escaped, links only ever absolute
//! http(s) URLs, and evidence split around the matched words from its stored offsets.
//!
//! What this module must never do: panic on a portal's text or on stored offsets (out of
//! range is no highlight, inside a character widens to whole characters), or let a CR,
//! LF or other control character through [`header_text`].

use super::{MAX_LINK_CHARS, MAX_URL_TEXT_CHARS};
use crate::store::AlertItem;

/// Remove control and bidi-override characters (replaced by a space) and collapse runs
/// of whitespace into one space. Untrusted text goes through this before display.
pub(super) fn clean_inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        let bad = c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}');
        if bad || c.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// Text for a header: cleaned (no CR, LF or other control characters) and shortened.
pub(crate) fn header_text(s: &str, max_chars: usize) -> String {
    let t = clean_inline(s);
    let t = t.trim();
    if t.chars().count() <= max_chars {
        t.to_string()
    } else {
        let mut cut: String = t.chars().take(max_chars.saturating_sub(1)).collect();
        cut.truncate(cut.trim_end().len());
        cut.push('…');
        cut
    }
}

/// Escape text for HTML element content and attribute values.
pub(super) fn html_escape(s: &str) -> String {
    crate::safe_text::html(s)
}

pub(super) fn h(s: &str) -> String {
    html_escape(&clean_inline(s))
}

/// A link target, only when it is an absolute http(s) URL.
/// (A URL longer than [`MAX_LINK_CHARS`] is no link either.)
pub(super) fn safe_url(u: &str) -> Option<String> {
    if u.len() > 4 * MAX_LINK_CHARS {
        return None;
    }
    let parsed = url::Url::parse(u.trim()).ok()?;
    (matches!(parsed.scheme(), "http" | "https")
        && parsed.host_str().is_some()
        && parsed.as_str().len() <= MAX_LINK_CHARS)
        .then(|| parsed.to_string())
}

/// A link that is not usable, as text.
pub(super) fn url_text(u: &str) -> String {
    header_text(u, MAX_URL_TEXT_CHARS)
}

/// Split untrusted evidence into (before, matched, after) from the stored byte offsets.
/// Offsets out of range give `None`; offsets inside a character widen to whole characters.
pub(crate) fn split_evidence(
    evidence: &str,
    evidence_start: i64,
    match_start: i64,
    match_end: i64,
) -> Option<(&str, &str, &str)> {
    let lo = usize::try_from(match_start.checked_sub(evidence_start)?).ok()?;
    let hi = usize::try_from(match_end.checked_sub(evidence_start)?).ok()?;
    if lo >= hi || hi > evidence.len() {
        return None;
    }
    let (mut lo, mut hi) = (lo, hi);
    while !evidence.is_char_boundary(lo) {
        lo -= 1;
    }
    while !evidence.is_char_boundary(hi) {
        hi += 1;
    }
    Some((&evidence[..lo], &evidence[lo..hi], &evidence[hi..]))
}

/// At most `n` characters of `s`, from its end (`tail`) or its start, with an ellipsis.
pub(super) fn clip(s: &str, n: usize, tail: bool) -> String {
    let count = s.chars().count();
    if count <= n {
        return s.to_string();
    }
    if tail {
        let skip = count - n;
        format!("…{}", s.chars().skip(skip).collect::<String>())
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// At most about `n` characters of `s`, from its end (`tail`) or its start, cut at a word
/// boundary (never inside a word) with an ellipsis where anything was cut.
pub(super) fn clip_words(s: &str, n: usize, tail: bool) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    if tail {
        let skip = s.chars().count() - n;
        let start = s.char_indices().nth(skip).map_or(s.len(), |(i, _)| i);
        // the cut is inside a word unless a space is at it or just before it
        let at_word = s[..start].ends_with(char::is_whitespace)
            || s[start..].starts_with(char::is_whitespace);
        let from = if at_word {
            start
        } else {
            s[start..]
                .find(char::is_whitespace)
                .map_or(s.len(), |k| start + k)
        };
        format!("…{}", s[from..].trim_start())
    } else {
        let end = s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
        let at_word =
            s[end..].starts_with(char::is_whitespace) || s[..end].ends_with(char::is_whitespace);
        let to = if at_word {
            end
        } else {
            s[..end].rfind(char::is_whitespace).unwrap_or(0)
        };
        format!("{}…", s[..to].trim_end())
    }
}

/// Evidence this long (characters) may have been cut from a longer sentence by the
/// engine (which keeps at most 300), so its edges may be inside a word.
const EVIDENCE_MAY_BE_CUT: usize = 290;

/// Drop a partial word at the start (`tail`: of the text before the match) or at the end
/// of evidence the engine may have cut, with an ellipsis. The words are kept when the
/// edge is at a word or sentence boundary.
fn trim_cut_edge(s: &str, at_start: bool) -> String {
    if at_start {
        match s.chars().next() {
            Some(c) if c.is_alphanumeric() && !c.is_uppercase() => {
                match s.find(char::is_whitespace) {
                    Some(k) => format!("…{}", s[k..].trim_start()),
                    None => "…".to_string(),
                }
            }
            _ => s.to_string(),
        }
    } else {
        match s.chars().next_back() {
            Some(c) if c.is_alphanumeric() => match s.rfind(char::is_whitespace) {
                Some(k) => format!("{}…", s[..k].trim_end()),
                None => "…".to_string(),
            },
            _ => s.to_string(),
        }
    }
}

/// The evidence as (before, matched, after), cleaned and clipped at word boundaries with
/// an ellipsis (never inside a word); without a usable span the whole evidence is
/// `before`.
pub(super) fn evidence_parts(item: &AlertItem) -> (String, String, String) {
    let may_be_cut = item.evidence.chars().count() >= EVIDENCE_MAY_BE_CUT;
    match split_evidence(
        &item.evidence,
        item.evidence_start,
        item.match_start,
        item.match_end,
    ) {
        Some((a, m, b)) => {
            let (mut a, mut b) = (clean_inline(a), clean_inline(b));
            if may_be_cut {
                if !a.trim().is_empty() {
                    a = trim_cut_edge(&a, true);
                }
                if !b.trim().is_empty() {
                    b = trim_cut_edge(&b, false);
                }
            }
            (
                clip_words(&a, 400, true),
                clip(&clean_inline(m), 300, false),
                clip_words(&b, 400, false),
            )
        }
        None => {
            let mut e = clean_inline(&item.evidence).trim().to_string();
            if may_be_cut {
                e = trim_cut_edge(&trim_cut_edge(&e, true), false);
            }
            (clip_words(&e, 800, false), String::new(), String::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_is_cut_between_words() {
        assert_eq!(clip_words("один два три четыре", 9, false), "один два…");
        assert_eq!(clip_words("один два три четыре", 10, false), "один два…");
        assert_eq!(clip_words("один два три четыре", 6, true), "…четыре");
        assert_eq!(clip_words("один два три четыре", 8, true), "…четыре");
        assert_eq!(clip_words("коротко", 100, true), "коротко");
        // a word longer than the budget: nothing of it, never half
        assert_eq!(clip_words("комментирование", 5, false), "…");
        // evidence at the engine's cap: partial words at its edges go, with an ellipsis
        let before = format!("ментарии {}", "и ".repeat(130));
        let ev = format!("{before}фейковых аккаунтов для комментир");
        let mut it = crate::alert::compose::tests::item();
        it.evidence = ev.clone();
        it.evidence_start = 0;
        it.match_start = before.len() as i64;
        it.match_end = (before.len() + "фейковых аккаунтов".len()) as i64;
        assert!(ev.chars().count() >= EVIDENCE_MAY_BE_CUT);
        let (a, m, b) = evidence_parts(&it);
        assert!(a.starts_with("…и и"), "{a}");
        assert_eq!(m, "фейковых аккаунтов");
        assert_eq!(b, " для…");
        // a short sentence is whole: it was not cut
        let short = crate::alert::compose::tests::item();
        let (a, _, b) = evidence_parts(&short);
        assert_eq!(
            (a.as_str(), b.as_str()),
            ("создание четырёх ", " для комментирования")
        );
    }

    #[test]
    fn evidence_offsets_are_guarded() {
        let ev = "ab фейк cd";
        let (a, m, b) = split_evidence(ev, 10, 13, 13 + "фейк".len() as i64).unwrap();
        assert_eq!((a, m, b), ("ab ", "фейк", " cd"));
        // Inside a character: widened to whole characters, never a panic.
        let (_, m, _) = split_evidence(ev, 10, 14, 16).unwrap();
        assert_eq!(m, "фе");
        // Out of range, reversed, negative, empty: no highlight.
        assert_eq!(split_evidence(ev, 10, 13, 1000), None);
        assert_eq!(split_evidence(ev, 10, 15, 13), None);
        assert_eq!(split_evidence(ev, 10, 5, 12), None);
        assert_eq!(split_evidence(ev, 10, 13, 13), None);
        assert_eq!(split_evidence(ev, i64::MIN, i64::MAX, i64::MAX), None);
        assert_eq!(split_evidence("", 0, 0, 1), None);
    }

    #[test]
    fn escaping_and_cleaning() {
        assert_eq!(
            html_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(header_text("a\r\nBcc: x@y\u{202E}z", 100), "a Bcc: x@y z");
        assert_eq!(header_text("абвгд", 3), "аб…");
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url("data:text/html,<b>"), None);
        assert_eq!(
            safe_url("https://x.kz/a?b=\"c\"").as_deref(),
            Some("https://x.kz/a?b=%22c%22")
        );
    }
}
