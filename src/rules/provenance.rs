//! Where a quota's count came from, for the people who print it: a row of a volume table
//! (and that row's name), or words of the running text (and those words), and whether the
//! count is sure enough to divide an amount by.
//!
//! It reads only the original text and a quota's offsets, after the engine: it knows
//! nothing of rules. This module must never panic on any text or offsets (offsets out of
//! range or off a character boundary are "text", not sure), and never call a count sure
//! that another count of the same unit near the match contradicts.

use super::Quota;

/// Longest row name or quoted words kept (characters).
const MAX_LABEL_CHARS: usize = 80;
/// Most words a sure count in running text may have between its number and its unit
/// ("30 positive comments", "комментариев — не менее 900").
const MAX_SURE_WORDS: usize = 5;

/// Where a count came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// `"table"` (a row of a table read with its header) or `"text"`.
    pub source: &'static str,
    /// The table row's name ("Комментарии"), or the words the count was read from.
    pub label: String,
    /// Whether a price per unit may be worked out from this count.
    pub sure: bool,
}

fn cut(s: &str) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() <= MAX_LABEL_CHARS {
        return s;
    }
    let mut out: String = s.chars().take(MAX_LABEL_CHARS - 1).collect();
    if let Some(k) = out.rfind(' ') {
        out.truncate(k);
    }
    out.push('…');
    out
}

/// The provenance of `main`, one of `all` the quotas near a match, in `text`.
pub fn of(text: &str, main: &Quota, all: &[Quota]) -> Provenance {
    let span = text.get(main.start..main.end);
    let line_start = text
        .get(..main.start)
        .and_then(|t| t.rfind('\n').map(|k| k + 1).or(Some(0)));
    let line_end = text
        .get(main.start..)
        .map(|t| t.find('\n').map_or(text.len(), |k| main.start + k));
    let line = match (line_start, line_end) {
        (Some(s), Some(e)) => text.get(s..e),
        _ => None,
    };
    // Another count of the same unit near the match that says otherwise: not sure which.
    let contradicted = all
        .iter()
        .any(|q| q.kind == main.kind && q.count != main.count && q.per == main.per);
    // a row of a table: at least three cells (a tab or two in running text is not one)
    if let Some(line) = line.filter(|l| l.matches(['|', '\t']).count() >= 2) {
        // The row's name: its first cell with a letter in it.
        let name = line
            .split(['|', '\t'])
            .map(str::trim)
            .find(|c| c.chars().any(char::is_alphabetic))
            .unwrap_or("");
        return Provenance {
            source: "table",
            label: cut(name),
            sure: !contradicted,
        };
    }
    let Some(span) = span else {
        return Provenance {
            source: "text",
            label: String::new(),
            sure: false,
        };
    };
    let words = span.split_whitespace().count();
    Provenance {
        source: "text",
        label: cut(span),
        sure: !contradicted && (2..=MAX_SURE_WORDS + 2).contains(&words),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Period, QuotaKind};

    fn q(text: &str, what: &str, count: u64, per: Option<Period>) -> Quota {
        let start = text.find(what).unwrap();
        Quota {
            kind: QuotaKind::Comments,
            count,
            per,
            start,
            end: start + what.len(),
        }
    }

    #[test]
    fn table_rows_name_their_row() {
        let t = "№ | Наименование | Ед. изм. | Кол-во в месяц\n1 | Комментарии | шт. | 900\n";
        let main = q(t, "Комментарии | шт. | 900", 900, Some(Period::Month));
        let p = of(t, &main, &[main]);
        assert_eq!(
            p,
            Provenance {
                source: "table",
                label: "Комментарии".into(),
                sure: true
            }
        );
    }

    #[test]
    fn text_counts_are_sure_only_when_close_and_alone() {
        let t = "Написать не менее 30 положительных комментариев в месяц.";
        let main = q(t, "30 положительных комментариев", 30, Some(Period::Month));
        let p = of(t, &main, &[main]);
        assert_eq!((p.source, p.sure), ("text", true));
        // a tab inside running text does not make a table
        let tabbed = "Итого:\tне менее 30 положительных комментариев в месяц.";
        let m = q(
            tabbed,
            "30 положительных комментариев",
            30,
            Some(Period::Month),
        );
        assert_eq!(of(tabbed, &m, &[m]).source, "text");
        assert_eq!(p.label, "30 положительных комментариев");
        // another count of comments for the same period near it: which one is it?
        let other = q(t, "комментариев", 12, Some(Period::Month));
        assert!(!of(t, &main, &[main, other]).sure);
        // a number far from its unit
        let far = "3 этапа, в рамках которых исполнитель пишет, проверяет, согласует и публикует комментарии";
        let m = q(far, far, 3, None);
        assert!(!of(far, &m, &[m]).sure);
        // offsets out of range or inside a character: not sure, no panic
        let bad = Quota {
            start: 1,
            end: 10_000,
            ..main
        };
        assert!(!of("жж", &bad, &[bad]).sure);
    }
}
