//! Untrusted text made safe for people: the one sanitiser that every text tenderscan writes
//! for a person goes through (terminal output, text logs, CSV and Markdown files, `alert
//! --dry-run` previews), and the guard that keeps JSON output free of raw control characters
//! while it stays the exact text.
//!
//! What portals, documents and mail servers send is text, never instructions to a terminal
//! or a spreadsheet. These characters are never written as they came; each is shown as a
//! visible escape instead:
//! - C0 controls (U+0000..U+001F: NUL, BEL, BS, CR, LF, TAB, ESC...), DEL (U+007F) and C1
//!   controls (U+0080..U+009F, whose U+009B is a one-character CSI);
//! - the bidirectional overrides, embeddings and isolates (U+202A..U+202E, U+2066..U+2069),
//!   the direction marks (U+200E, U+200F, U+061C), which make a terminal show text in another
//!   order than it is, and the line and paragraph separators (U+2028, U+2029).
//!
//! Escapes: `\n`, `\r`, `\t` for the three common ones, `\xNN` for other C0 controls and DEL
//! (`\x1b`, `\x07`, `\x00`), `\uNNNN` for the rest (`\u009b`, `\u202e`). A backslash already
//! in the text is left as it is (so `C:\new` stays readable); an escape is always a sign of
//! a character that was there, never a character that reaches the screen.
//!
//! Three flavours, chosen by each output (the README lists which output uses which):
//! - [`line()`]: a one-line field (a title, an error message, a log line): nothing kept,
//!   line breaks and tabs shown as `\n`, `\r`, `\t`.
//! - [`cell()`]: a table cell or an excerpt shown on one line: a line break (LF or CR LF) and
//!   a tab become one space, as layout whitespace; a lone CR and everything else is escaped.
//! - [`block()`]: multi-line text (a CSV field, a mail preview, a multi-line diagnostic): LF,
//!   CR LF and TAB kept; a lone CR and everything else is escaped.
//!
//! [`html`] escapes text for HTML content and attribute values (`& < > " '`).
//! [`excel_cell`] adds the spreadsheet guard for `--excel` CSV; [`json`] escapes the same
//! characters inside already serialised JSON as `\uNNNN`, which JSON readers decode back to
//! the exact text.
//!
//! Must never: import anything from the crate (every module may use it); drop, reorder or
//! change a printable character (only the characters above are rewritten, so text without
//! them comes back borrowed, unchanged); emit one of the characters above except the ones a
//! flavour says it keeps; panic.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is never written raw (see the module's list).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// The visible escape of an unsafe character.
fn push_escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Nothing: every unsafe character escaped.
    Nothing,
    /// Line breaks and tabs as one space each.
    Spaces,
    /// LF, CR LF and TAB as they are.
    Lines,
}

fn clean(s: &str, keep: Keep) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if !is_unsafe(c) {
            out.push(c);
            continue;
        }
        let crlf = c == '\r' && chars.peek() == Some(&'\n');
        match (keep, c) {
            (Keep::Lines, '\n' | '\t') => out.push(c),
            (Keep::Lines, '\r') if crlf => out.push(c),
            (Keep::Spaces, '\n' | '\t') => out.push(' '),
            // CR LF is one line break: the LF that follows makes its one space.
            (Keep::Spaces, '\r') if crlf => {}
            _ => push_escape(&mut out, c),
        }
    }
    Cow::Owned(out)
}

/// A one-line field: every unsafe character, line breaks and tabs included, shown escaped.
pub fn line(s: &str) -> Cow<'_, str> {
    clean(s, Keep::Nothing)
}

/// A table cell or a one-line excerpt: line breaks (LF, CR LF) and tabs become one space
/// each; a lone CR and every other unsafe character shown escaped.
pub fn cell(s: &str) -> Cow<'_, str> {
    clean(s, Keep::Spaces)
}

/// Multi-line text: LF, CR LF and TAB kept; a lone CR and every other unsafe character
/// shown escaped.
pub fn block(s: &str) -> Cow<'_, str> {
    clean(s, Keep::Lines)
}

/// The characters a spreadsheet reads as the start of a formula (or, for TAB and CR, that
/// it drops before looking for one).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A text cell of a CSV meant for Excel or LibreOffice: a value that begins with `=`, `+`,
/// `-`, `@`, TAB or CR gets a `'` in front, so the spreadsheet shows it as text instead of
/// running it as a formula (`=HYPERLINK(...)`, `@SUM(...)`); then made safe as a [`block()`].
pub fn excel_cell(s: &str) -> Cow<'_, str> {
    if s.starts_with(FORMULA_START) {
        let mut out = String::with_capacity(s.len() + 1);
        out.push('\'');
        out.push_str(&block(s));
        Cow::Owned(out)
    } else {
        block(s)
    }
}

/// Serialised JSON with the unsafe characters that serde_json writes raw (DEL, C1 controls,
/// the bidi and separator characters) written as `\uNNNN` instead. JSON keeps them only
/// inside strings (everything outside a string is ASCII), where `\uNNNN` decodes to the same
/// character: a reader gets the exact text, a terminal gets no control character. C0
/// controls inside strings are escaped by serde_json already; LF, CR and TAB outside strings
/// are JSON whitespace and stay.
pub fn json(s: &str) -> Cow<'_, str> {
    let escape = |c: char| is_unsafe(c) && !matches!(c, '\n' | '\r' | '\t');
    if !s.chars().any(escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if escape(c) {
            // Every unsafe character is in the Basic Multilingual Plane: one \u escape.
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text for HTML element content or a quoted attribute value: `& < > " '` as entities.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "a\x1b[2Jb\x1b]0;pwned\x07c\rd\0e\u{202e}f\u{9b}g\x7fh";

    fn no_unsafe_but(s: &str, allowed: &[char]) -> bool {
        s.chars().all(|c| !is_unsafe(c) || allowed.contains(&c))
    }

    #[test]
    fn the_unsafe_set_is_c0_del_c1_bidi_and_separators() {
        for c in [
            '\0', '\x07', '\x08', '\t', '\n', '\r', '\x1b', '\x1f', '\x7f',
        ] {
            assert!(is_unsafe(c), "{c:?}");
        }
        for n in 0x80..=0x9f {
            assert!(is_unsafe(char::from_u32(n).unwrap()), "{n:x}");
        }
        for n in (0x202a..=0x202e).chain(0x2066..=0x2069) {
            assert!(is_unsafe(char::from_u32(n).unwrap()), "{n:x}");
        }
        for c in ['\u{200e}', '\u{200f}', '\u{061c}', '\u{2028}', '\u{2029}'] {
            assert!(is_unsafe(c), "{c:?}");
        }
        // Printable text of every script we read, and the marks words need, stay.
        for c in "Aa1 ,.«»—№ Ә Қ і ё ЗЦП \u{a0}\u{ad}€\u{200d}\u{fe0f}\\".chars() {
            assert!(!is_unsafe(c), "{c:?}");
        }
    }

    #[test]
    fn escapes_are_visible_and_named() {
        assert_eq!(
            line(HOSTILE),
            "a\\x1b[2Jb\\x1b]0;pwned\\x07c\\rd\\x00e\\u202ef\\u009bg\\x7fh"
        );
        assert_eq!(
            line("\u{2066}x\u{2069}\u{200f}\u{2028}"),
            "\\u2066x\\u2069\\u200f\\u2028"
        );
    }

    #[test]
    fn clean_text_comes_back_borrowed_and_unchanged() {
        let s = "Аппарат акима города Рудного: C:\\new \\x1b «ЗЦП»";
        for f in [line, cell, block, excel_cell, json] {
            assert!(matches!(f(s), Cow::Borrowed(b) if b == s));
        }
    }

    #[test]
    fn line_keeps_no_line_break_and_no_tab() {
        assert_eq!(line("a\nb\r\nc\td"), "a\\nb\\r\\nc\\td");
        assert!(no_unsafe_but(&line(HOSTILE), &[]));
    }

    #[test]
    fn cell_turns_line_breaks_and_tabs_into_spaces_and_escapes_a_lone_cr() {
        assert_eq!(cell("a\nb\r\nc\td"), "a b c d");
        assert_eq!(cell("forged\rline"), "forged\\rline");
        assert_eq!(cell("end\r"), "end\\r");
        assert!(no_unsafe_but(&cell(HOSTILE), &[]));
    }

    #[test]
    fn block_keeps_lf_crlf_and_tab_only() {
        assert_eq!(block("a\nb\r\nc\td"), "a\nb\r\nc\td");
        assert_eq!(block("a\rb\r\r\n"), "a\\rb\\r\r\n");
        let b = block(HOSTILE);
        assert!(no_unsafe_but(&b, &[]), "{b}");
        assert!(no_unsafe_but(
            &block("x\ny\tz\r\n\x1b"),
            &['\n', '\t', '\r']
        ));
    }

    #[test]
    fn excel_cells_that_a_spreadsheet_would_run_get_a_quote() {
        assert_eq!(
            excel_cell("=HYPERLINK(\"http://x\",\"y\")"),
            "'=HYPERLINK(\"http://x\",\"y\")"
        );
        assert_eq!(excel_cell("@SUM(A1:A9)"), "'@SUM(A1:A9)");
        assert_eq!(excel_cell("+7 777"), "'+7 777");
        assert_eq!(excel_cell("-2+3"), "'-2+3");
        assert_eq!(excel_cell("\t=1"), "'\t=1");
        assert_eq!(excel_cell("\r=1"), "'\\r=1");
        // Inside the text, or after a space, it is only text.
        assert_eq!(excel_cell("a=b"), "a=b");
        assert_eq!(excel_cell(" =1"), " =1");
        assert_eq!(excel_cell("x\x1by"), "x\\x1by");
        assert_eq!(excel_cell(""), "");
    }

    #[test]
    fn json_escapes_what_serde_leaves_raw_and_decodes_to_the_exact_text() {
        let v = serde_json::json!({ "t": HOSTILE, "k\u{202e}": [HOSTILE] });
        for s in [
            serde_json::to_string(&v).unwrap(),
            serde_json::to_string_pretty(&v).unwrap(),
        ] {
            assert!(
                s.chars()
                    .any(|c| c == '\u{9b}' || c == '\u{202e}' || c == '\x7f'),
                "serde_json writes these raw (the reason for json())"
            );
            let safe = json(&s);
            assert!(no_unsafe_but(&safe, &['\n']), "{safe}");
            assert!(
                safe.contains("\\u009b") && safe.contains("\\u202e"),
                "{safe}"
            );
            let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
            assert_eq!(back, v, "the exact text comes back");
        }
    }
}
