//! Tables: quotas read row by row with their header, as a reporter reads a volume table.
//!
//! Technical specifications give volumes in tables ("№ | Наименование | Ед. изм. | Кол-во"), and
//! DOCX/PDF extraction leaves them as lines of cells separated by `|` or tabs. Read word by word
//! such a row is a trap: the row number "1" stands right before the unit ("1 | Комментарии | шт.
//! в месяц | 900"), the price columns hold numbers too, and the period sits in another cell or in
//! the header ("Кол-во в квартал", "Айына | Барлығы"). This module finds the tables of the
//! original text, works out from the header which columns hold the counts (and their periods),
//! the unit of measure and the prices, and reads one quota per count column of each row: its
//! unit is the first unit word of the row's name (or of its unit cell, or of the count cell
//! itself), never a number from a row-number, price or duration column.
//!
//! It knows nothing of rules: the engine hands it the original text and the places of the unit
//! words, and replaces what the word-by-word reader found inside table rows with what this
//! module reads. This module must never panic on any text and never slice off a char boundary.

use super::quota::{
    Period, QuotaKind, is_digits, is_handling_word, kept_period, parse_number, period_word,
};
use std::ops::Range;

/// A quota read from a table row. Offsets are into the original text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableQuota {
    pub kind: QuotaKind,
    pub count: u64,
    pub per: Option<Period>,
    /// The unit word the count belongs to: its index in the `units` given to [`read`].
    pub unit: usize,
    /// The count's cell.
    pub num: Range<usize>,
}

/// What the table pass read: the rows it owns (the word-by-word reader's quotas inside them are
/// dropped) and the quotas of those rows.
#[derive(Debug, Default)]
pub(crate) struct TableRead {
    pub rows: Vec<Range<usize>>,
    pub quotas: Vec<TableQuota>,
}

/// At most this many table lines are read per text (a very long table is still read; its rest
/// is left to the word-by-word reader).
const MAX_ROWS: usize = 2_000;
/// Cells per row considered.
const MAX_CELLS: usize = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    Pipe,
    Tab,
}

#[derive(Debug)]
struct Line {
    range: Range<usize>,
    cells: Vec<Range<usize>>,
}

fn line_sep(line: &str) -> Option<Sep> {
    let pipes = line.bytes().filter(|&b| b == b'|').count();
    let tabs = line.bytes().filter(|&b| b == b'\t').count();
    if pipes >= 2 && pipes >= tabs {
        Some(Sep::Pipe)
    } else if tabs >= 2 {
        Some(Sep::Tab)
    } else {
        None
    }
}

fn split_cells(text: &str, range: Range<usize>, sep: Sep) -> Vec<Range<usize>> {
    let ch = match sep {
        Sep::Pipe => '|',
        Sep::Tab => '\t',
    };
    let line = &text[range.clone()];
    let mut cells = Vec::new();
    let mut start = 0;
    for (i, c) in line.char_indices() {
        if c == ch {
            cells.push(trim(line, start..i, range.start));
            start = i + c.len_utf8();
            if cells.len() >= MAX_CELLS {
                break;
            }
        }
    }
    if cells.len() < MAX_CELLS {
        cells.push(trim(line, start..line.len(), range.start));
    }
    // a leading or trailing bar ("| a | b |") leaves empty edge cells
    while cells.first().is_some_and(|c| c.is_empty()) {
        cells.remove(0);
    }
    while cells.last().is_some_and(|c| c.is_empty()) {
        cells.pop();
    }
    cells
}

fn trim(line: &str, r: Range<usize>, base: usize) -> Range<usize> {
    let s = &line[r.clone()];
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    let (a, b) = (r.start + lead, r.end - trail);
    if a >= b {
        base + a..base + a
    } else {
        base + a..base + b
    }
}

/// Lower-case words of a cell: letters and digits, with `ё` as `е`; punctuation splits words
/// except inside numbers ("1,000", "1.000").
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let keep = c.is_alphanumeric()
            || ((c == ',' || c == '.')
                && cur.chars().last().is_some_and(|p| p.is_ascii_digit())
                && chars.peek().is_some_and(|n| n.is_ascii_digit()));
        if keep {
            for l in c.to_lowercase() {
                cur.push(if l == 'ё' { 'е' } else { l });
            }
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A Kazakh word in the dative, the genitive or the locative adjective ("жарияланымдарға",
/// "парақшаның", "парақшасындағы"; also typed without Kazakh letters): in a name it says what
/// the next noun is for or of, never the head.
fn is_kazakh_modifier(w: &str) -> bool {
    const ENDS: &[&str] = &[
        "ға",
        "қа",
        "ларға",
        "лерге",
        "дарға",
        "дерге",
        "тарға",
        "терге",
        "ларга",
        "дарга",
        "тарга",
        "дағы",
        "дегі",
        "тағы",
        "тегі",
        "дагы",
        "тагы",
        "ның",
        "нің",
        "дың",
        "дің",
        "тың",
        "тің",
    ];
    ENDS.iter().any(|e| w.ends_with(e)) && w.chars().count() > 4
}

/// Words a count cell may open with before its number ("не менее 300", "кемінде 50", "at least
/// 20", "до 100").
fn is_lead_filler(w: &str) -> bool {
    matches!(
        w,
        "не" | "менее"
            | "более"
            | "от"
            | "до"
            | "кемінде"
            | "кем"
            | "дейін"
            | "at"
            | "least"
            | "min"
            | "minimum"
            | "мин"
            | "up"
            | "to"
            | "около"
            | "шамамен"
            | "approx"
    )
}

/// The number a cell holds, read from its start: digits (grouped "1 200", "3 000"), with a
/// Kazakh case ending ("3000-ға") allowed after them. A cell with words before its number
/// (other than "не менее" and the like) holds no count.
fn cell_number(ws: &[String]) -> Option<(u64, usize)> {
    let mut i = 0;
    while i < ws.len() && is_lead_filler(&ws[i]) {
        i += 1;
    }
    let start = i;
    while i < ws.len() && is_digits(&ws[i]) {
        i += 1;
    }
    if i == start {
        return None;
    }
    let toks: Vec<&str> = ws[start..i].iter().map(String::as_str).collect();
    // "3000" followed by "ға" (a case ending split off by the tokenizer) is still 3000
    parse_number(&toks).map(|v| (v, i))
}

/// A row number: a small integer alone in the first cell ("1", "2.", "3)").
fn is_row_number(ws: &[String]) -> bool {
    ws.len() == 1 && ws[0].len() <= 3 && ws[0].bytes().all(|b| b.is_ascii_digit())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    RowNo,
    Count(Option<Period>),
    Unit,
    /// "Периодичность", "Frequency": the row's period.
    Period,
    Price,
    Other,
}

fn header_role(ws: &[String]) -> Role {
    let has = |p: &str| ws.iter().any(|w| w.starts_with(p));
    let is = |p: &str| ws.iter().any(|w| w == p);
    if ws.is_empty() {
        return Role::Other;
    }
    if has("цен")
        || has("сумм")
        || has("стоимост")
        || is("тг")
        || has("тенге")
        || has("баға")
        || has("сомас")
        || has("құн")
        || has("price")
        || has("cost")
        || is("kzt")
    {
        return Role::Price;
    }
    if (ws.len() <= 2 && (is("№") || is("no") || is("n"))) || is("п") || (is("р") && is("с")) {
        return Role::RowNo;
    }
    let count = has("кол")
        || has("количеств")
        || has("саны")
        || is("qty")
        || has("quantit")
        || has("объ")
        || has("көлем")
        || has("значени")
        || has("мәні")
        || is("план")
        || has("volume")
        || is("count")
        || is("number")
        || is("айына")
        || has("барлығы")
        || is("всего")
        || is("итого")
        || is("total")
        || is("target")
        // "Норма", "Норматив": a norm set per row ("KPI" heads the names as often as the values)
        || has("норм");
    if count {
        return Role::Count(header_period(ws));
    }
    if has("периодичн")
        || has("мерзімділі")
        || has("кезеңділі")
        || has("frequen")
        || is("кезең")
        || is("период")
        || is("period")
    {
        return Role::Period;
    }
    if is("ед")
        || has("единиц")
        || has("өлш")
        || has("өлшем")
        || is("unit")
        || is("units")
        || has("бірлі")
        || has("measure")
    {
        return Role::Unit;
    }
    // a header cell that is only a period ("Айына", "В месяц") is a count column of that period
    if let Some(p) = header_period(ws)
        && ws.len() <= 3
    {
        return Role::Count(Some(p));
    }
    Role::Other
}

fn header_period(ws: &[String]) -> Option<Period> {
    if ws
        .iter()
        .any(|w| matches!(w.as_str(), "барлығы" | "всего" | "итого" | "total"))
    {
        return Some(Period::Term);
    }
    cell_period(ws)
}

/// The period named in a cell: "шт/мес", "в месяц", "ай сайын", "айына", "per day", "жазба/ай",
/// "дана/апта", "в квартал", "за период действия договора".
fn cell_period(ws: &[String]) -> Option<Period> {
    for (i, w) in ws.iter().enumerate() {
        if let Some(p) = period_word(w) {
            return Some(p);
        }
        // a row of a month ("October | 500 | 2 000", "Қаңтар | 400"): that month's figures
        if ws.len() <= 2 && super::quota::is_month_name(w) {
            return Some(Period::Month);
        }
        let next = ws.get(i + 1).map(String::as_str);
        let prev = i.checked_sub(1).map(|j| ws[j].as_str());
        let p = match w.as_str() {
            "ай" => Some(Period::Month),
            "апта" => Some(Period::Week),
            "күн" => Some(Period::Day),
            "тоқсан" if next == Some("сайын") => Some(Period::Quarter),
            "тоқсан" if prev.is_none() || ws.len() == 1 => Some(Period::Quarter),
            "неделю" | "недели" => Some(Period::Week),
            "сутки" => Some(Period::Day),
            "договора" | "договору" | "контракта" | "шарт" | "contract" => {
                Some(Period::Term)
            }
            "период" | "срок" | "мерзімі" | "term"
                if matches!(prev, Some("весь" | "за" | "на" | "the" | "шарт" | "всего")) =>
            {
                Some(Period::Term)
            }
            _ => None,
        };
        if p.is_some() {
            return p;
        }
    }
    None
}

/// A word right after a number that makes it a time, not a count ("24 сағаттан", "2 ч", "48
/// hours", "30 мин").
fn is_time_word(w: &str) -> bool {
    w.starts_with("сағат")
        || w.starts_with("сагат")
        || w.starts_with("час")
        || w.starts_with("минут")
        || w.starts_with("hour")
        || w.starts_with("minute")
        || matches!(w, "ч" | "мин" | "h" | "min" | "сек" | "секунд")
}

/// A unit-of-measure cell that makes the number a duration or a non-count ("мес.", "час",
/// "отчет", "%"): the row's number is not a count of its name's unit.
fn unit_cell_is_not_count(raw: &str, ws: &[String]) -> bool {
    if raw.contains('%') {
        return true;
    }
    let rate = raw.contains('/')
        || ws.iter().any(|w| {
            matches!(
                w.as_str(),
                "в" | "per"
                    | "сайын"
                    | "айына"
                    | "аптасына"
                    | "күніне"
                    | "шт"
                    | "ед"
                    | "дана"
                    | "pcs"
            )
        });
    if rate {
        return false;
    }
    ws.iter().any(|w| {
        matches!(
            w.as_str(),
            "мес"
                | "месяц"
                | "месяца"
                | "месяцев"
                | "ай"
                | "час"
                | "часа"
                | "часов"
                | "сағат"
                | "hour"
                | "hours"
                | "month"
                | "months"
                | "дней"
                | "days"
                | "отчет"
                | "report"
                | "doc"
                | "экз"
                | "кампания"
                | "тг"
                | "тенге"
                | "kzt"
        )
    })
}

fn table_lines(text: &str) -> Vec<(Sep, Line)> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let end = start + line.len();
        let body = line.trim_end_matches(['\n', '\r']);
        if let Some(sep) = line_sep(body) {
            let range = start..start + body.len();
            let cells = split_cells(text, range.clone(), sep);
            if cells.len() >= 3 {
                out.push((sep, Line { range, cells }));
                if out.len() >= MAX_ROWS {
                    break;
                }
            }
        }
        start = end;
    }
    out
}

/// Reads the tables of `text`. `units` are the unit words found by the engine: (original
/// start, kind), sorted by start.
pub(crate) fn read(text: &str, units: &[(usize, QuotaKind)]) -> TableRead {
    let mut out = TableRead::default();
    let lines = table_lines(text);
    // group consecutive table lines (no non-table line between them) of one separator
    let mut i = 0;
    while i < lines.len() {
        let mut j = i + 1;
        while j < lines.len()
            && lines[j].0 == lines[i].0
            && text[lines[j - 1].1.range.end..lines[j].1.range.start]
                .chars()
                .all(|c| c == '\n' || c == '\r')
        {
            j += 1;
        }
        if j - i >= 2 {
            read_table(text, &lines[i..j], units, &mut out);
        }
        i = j;
    }
    out
}

/// The count of a count cell and the words it used: none for zero, a share or a time ("100%",
/// "24 сағаттан аспайды", "2 ч": a service level, not a volume).
fn count_cell(raw: &str, ws: &[String]) -> Option<(u64, usize)> {
    let (count, used) = cell_number(ws)?;
    let time = ws[used..].first().is_some_and(|w| is_time_word(w));
    (count != 0 && !raw.contains('%') && !time).then_some((count, used))
}

fn read_table(
    text: &str,
    lines: &[(Sep, Line)],
    units: &[(usize, QuotaKind)],
    out: &mut TableRead,
) {
    let cell_words = |r: &Range<usize>| words(&text[r.clone()]);
    // the header: the first line none of whose cells (past the first) opens with a number
    let first = &lines[0].1;
    let first_words: Vec<Vec<String>> = first.cells.iter().map(cell_words).collect();
    // a column of negative comments or of tone ("Из них негативных", "Negative", "Оның
    // ішінде жағымсыз") makes the table a count of what others wrote: a report, no order
    let tone = |w: &String| {
        [
            "негатив",
            "negativ",
            "жағымсыз",
            "жагымсыз",
            "тональ",
            "sentiment",
        ]
        .iter()
        .any(|p| w.starts_with(p))
    };
    if first_words.iter().flatten().any(tone) {
        return;
    }
    let is_header = first_words
        .iter()
        .all(|ws| cell_number(ws).is_none() || ws.len() > 4)
        && first_words
            .iter()
            .any(|ws| matches!(header_role(ws), Role::Count(_) | Role::Unit));
    let roles: Option<Vec<Role>> =
        is_header.then(|| first_words.iter().map(|ws| header_role(ws)).collect());
    let body = if is_header { &lines[1..] } else { lines };
    // a period said for the whole table, on the line after it ("Срок: весь период оказания
    // услуг.")
    let after = lines.last().map(|l| l.1.range.end).unwrap_or(0);
    let tail: String = text[after..].chars().take(120).collect();
    let tail_line = tail.trim_start().split('\n').next().unwrap_or("");
    let table_period = cell_period(&words(tail_line)).filter(|p| *p == Period::Term);
    // units named by the header's columns ("Платформа | Подписчики | Лайки/нед |
    // Комментарии/нед"): a row that names no unit of its own reads its counts under them
    let column_units: Vec<(usize, QuotaKind, usize, Option<Period>)> =
        if first_words.iter().all(|ws| cell_number(ws).is_none()) {
            first
                .cells
                .iter()
                .enumerate()
                .skip(1)
                .filter_map(|(k, c)| {
                    let (i, &(_, kind)) = units
                        .iter()
                        .enumerate()
                        .find(|&(_, &(s, _))| s >= c.start && s < c.end)?;
                    Some((k, kind, i, cell_period(&first_words[k])))
                })
                .collect()
        } else {
            Vec::new()
        };
    let column_body = if column_units.is_empty() {
        body
    } else {
        &lines[1..]
    };
    for (_, line) in column_body {
        let row = &line.range;
        let row_units: Vec<(usize, QuotaKind, usize)> = units
            .iter()
            .enumerate()
            .filter(|&(_, &(s, _))| s >= row.start && s < row.end)
            .map(|(i, &(s, k))| (s, k, i))
            .collect();
        if row_units.is_empty() {
            let ws: Vec<Vec<String>> = line.cells.iter().map(cell_words).collect();
            let mut read_any = false;
            // a row named by a month ("October | 500 | 2 000") holds that month's figures
            let row_period = ws
                .iter()
                .enumerate()
                .filter(|(k, _)| !column_units.iter().any(|c| c.0 == *k))
                .find_map(|(_, w)| cell_period(w));
            for &(k, kind, unit, per) in &column_units {
                let Some((count, _)) = ws
                    .get(k)
                    .and_then(|w| count_cell(&text[line.cells[k].clone()], w))
                else {
                    continue;
                };
                let per = kept_period(kind, per.or(row_period).or(table_period));
                out.quotas.push(TableQuota {
                    kind,
                    count,
                    per,
                    unit,
                    num: line.cells[k].clone(),
                });
                read_any = true;
            }
            if read_any {
                out.rows.push(row.clone());
            }
            continue;
        }
        out.rows.push(row.clone());
        let ws: Vec<Vec<String>> = line.cells.iter().map(cell_words).collect();
        let unit_in = |c: &Range<usize>| {
            row_units
                .iter()
                .find(|&&(s, _, _)| s >= c.start && s < c.end)
                .copied()
        };
        // which cells hold counts, and of what period
        let mut counts: Vec<(usize, Option<Period>)> = Vec::new();
        let mut unit_col: Option<usize> = None;
        let mut period_col: Option<usize> = None;
        match &roles {
            Some(roles) => {
                for (k, role) in roles.iter().enumerate() {
                    match role {
                        Role::Count(p) if k < ws.len() => counts.push((k, *p)),
                        Role::Period if k < ws.len() => period_col = Some(k),
                        Role::Unit if k < ws.len() => unit_col = Some(k),
                        _ => {}
                    }
                }
            }
            None => {
                // no header: the last cell that opens with a number, not the row number
                let skip = usize::from(ws.first().is_some_and(|w| is_row_number(w)));
                if let Some(k) = (skip..ws.len())
                    .rev()
                    .find(|&k| cell_number(&ws[k]).is_some())
                {
                    counts.push((k, None));
                }
                // a short cell before it of pieces or a period is the unit of measure
                unit_col = (skip..counts.first().map_or(0, |c| c.0)).rev().find(|&k| {
                    ws[k].len() <= 4 && cell_period(&ws[k]).is_some()
                        || ws[k]
                            .iter()
                            .any(|w| matches!(w.as_str(), "шт" | "ед" | "дана" | "pcs"))
                });
            }
        }
        let unit_period = unit_col
            .and_then(|k| cell_period(&ws[k]))
            .or_else(|| period_col.and_then(|k| cell_period(&ws[k])));
        let unit_not_count = unit_col.is_some_and(|k| {
            unit_in(&line.cells[k]).is_none()
                && unit_cell_is_not_count(&text[line.cells[k].clone()], &ws[k])
        });
        // the name: the first unit word of the other text cells, in order, passing over one
        // that only says what another is for ("Комментарий жазуға арналған аккаунт": accounts)
        let purpose_of = |s: usize| {
            let after: Vec<String> = words(&text[s..row.end]).into_iter().take(4).collect();
            after
                .iter()
                .skip(1)
                .take(2)
                .any(|w| matches!(w.as_str(), "арналған" | "берілген" | "үшін"))
        };
        let name_cells: Vec<&Range<usize>> = line
            .cells
            .iter()
            .enumerate()
            .filter(|(k, _)| {
                Some(*k) != unit_col && Some(*k) != period_col && !counts.iter().any(|c| c.0 == *k)
            })
            .map(|(_, c)| c)
            .collect();
        let in_names = |&&(s, _, _): &&(usize, QuotaKind, usize)| {
            name_cells.iter().any(|c| s >= c.start && s < c.end)
        };
        // a row of comments analysed, moderated or answered counts no order ("Тональдық талдау |
        // жарияланым | 3 000", "Пікірлерді модерациялау")
        if name_cells.iter().any(|c| {
            words(&text[(*c).clone()])
                .iter()
                .any(|w| is_handling_word(w))
        }) {
            continue;
        }
        // ... and over a Kazakh unit in a case that makes it a modifier of the next noun, the
        // head of a Kazakh name coming last ("жарияланымдарға қолдау пікірлері": comments to
        // publications; "парақшасындағы жазбалар": the page's posts)
        let kk_modifier = |s: usize| {
            words(&text[s..row.end])
                .first()
                .is_some_and(|w| is_kazakh_modifier(w))
        };
        let name_unit = row_units
            .iter()
            .filter(in_names)
            .find(|&&(s, _, _)| !purpose_of(s) && !kk_modifier(s))
            .or_else(|| {
                row_units
                    .iter()
                    .filter(in_names)
                    .find(|&&(s, _, _)| !purpose_of(s))
            })
            .or_else(|| row_units.iter().find(in_names))
            .copied();
        for &(k, col_period) in &counts {
            let Some((count, used)) = count_cell(&text[line.cells[k].clone()], &ws[k]) else {
                continue;
            };
            let rest = &ws[k][used..];
            // the unit: in the count cell ("1 200 комментариев"), the unit cell ("replies/week"),
            // else the row's name
            // a unit after a slash in the unit cell is what is counted against ("дана/жарияланым":
            // pieces per publication), not the unit
            let unit_cell_unit = |u: usize| {
                let c = &line.cells[u];
                unit_in(c).filter(|&(s, _, _)| !text[c.start..s].contains('/'))
            };
            let unit = unit_in(&line.cells[k])
                .or_else(|| unit_col.and_then(unit_cell_unit))
                .or(if unit_not_count { None } else { name_unit });
            let Some((_, kind, unit)) = unit else {
                continue;
            };
            // a rate in the name after a slash: "Пікірлер/ай | 180"
            let name_period = || {
                let (s, _, _) = name_unit?;
                let k = line.cells.iter().position(|c| s >= c.start && s < c.end)?;
                text[line.cells[k].clone()]
                    .contains('/')
                    .then(|| cell_period(&ws[k]))
                    .flatten()
            };
            let per = col_period
                .or_else(|| cell_period(rest))
                .or(unit_period)
                .or_else(name_period)
                .or(table_period);
            let per = kept_period(kind, per);
            out.quotas.push(TableQuota {
                kind,
                count,
                per,
                unit,
                num: line.cells[k].clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use QuotaKind::*;

    /// Unit words found by a crude stand-in for the engine's stemmed lookup.
    fn units(text: &str) -> Vec<(usize, QuotaKind)> {
        let mut out = Vec::new();
        let lower = text.to_lowercase();
        for (stem, kind) in [
            ("коммент", Comments),
            ("пікір", Comments),
            ("repl", Comments),
            ("comment", Comments),
            ("отзыв", Comments),
            ("аккаунт", Accounts),
            ("account", Accounts),
            ("profile", Accounts),
            ("подписчик", Followers),
            ("жазылушы", Followers),
            ("лайк", Likes),
            ("пост", Posts),
            ("публикац", Posts),
            ("жарияланым", Posts),
            ("парақша", Accounts),
        ] {
            for (i, _) in lower.match_indices(stem) {
                // lower-casing keeps byte offsets for these scripts
                out.push((i, kind));
            }
        }
        out.sort_by_key(|u| u.0);
        out
    }

    fn q(text: &str) -> Vec<(QuotaKind, u64, Option<Period>)> {
        let r = read(text, &units(text));
        r.quotas.iter().map(|q| (q.kind, q.count, q.per)).collect()
    }

    #[test]
    fn row_numbers_and_prices_are_not_counts() {
        assert_eq!(
            q(
                "№ п/п | Наименование | Ед. изм. | Кол-во | Цена за ед., тг | Сумма, тг\n1 | Создание дополнительных аккаунтов для комментирования | шт. | 4 | 325 000 | 1 300 000\n2 | Ведение созданных аккаунтов | мес. | 9 | - | включено"
            ),
            [(Accounts, 4, None)]
        );
        assert_eq!(
            q("№ | Наименование | Ед. изм. | Количество\n1 | Комментарии | шт. в месяц | 900"),
            [(Comments, 900, Some(Period::Month))]
        );
    }

    #[test]
    fn periods_from_the_header_unit_cell_and_row() {
        assert_eq!(
            q(
                "№ | Наименование услуг | Ед. изм. | Кол-во в квартал\n1 | Комментарии | шт. | 600\n2 | Публикации на форумах от имени жителей | шт. | 45"
            ),
            [
                (Comments, 600, Some(Period::Quarter)),
                (Posts, 45, Some(Period::Quarter))
            ]
        );
        assert_eq!(
            q(
                "Р/с | Атауы | Бірлік | Айына | Барлығы\n1 | Қолдау пікірлері | дана | 500 | 6 000\n2 | Лайктар | дана | 2 000 | 24 000"
            ),
            [
                (Comments, 500, Some(Period::Month)),
                (Comments, 6000, Some(Period::Term)),
                (Likes, 2000, Some(Period::Month)),
                (Likes, 24000, Some(Period::Term)),
            ]
        );
        assert_eq!(
            q(
                "No | Item | Unit | Qty\n1 | Supportive replies under the Minister's posts | replies/week | 120\n2 | Accounts for posting replies | pcs | 8"
            ),
            [(Comments, 120, Some(Period::Week)), (Accounts, 8, None)]
        );
        // a Kazakh name's head comes last: the unit in the dative or locative is a modifier
        assert_eq!(
            q("Р/с | Атауы | Өлшем бірлігі | Саны
1 | Парақшадағы жарияланымдарға қолдау пікірлері | дана/ай | 300
2 | Пікірлерге арналған парақшалар | дана | 12"),
            [(Comments, 300, Some(Period::Month)), (Accounts, 12, None)]
        );
    }

    #[test]
    fn units_named_by_the_header_columns() {
        assert_eq!(
            q(
                "|Платформа|Подписчики (прирост)|Лайки/нед|Комментарии/нед|\n|Instagram|1500|700|140|\n|TikTok|3000|1500|210|"
            ),
            [
                (Followers, 1500, None),
                (Likes, 700, Some(Period::Week)),
                (Comments, 140, Some(Period::Week)),
                (Followers, 3000, None),
                (Likes, 1500, Some(Period::Week)),
                (Comments, 210, Some(Period::Week)),
            ]
        );
        // a row with its own unit is read by its name as before
        assert_eq!(
            q("Сеть | Лайки | Комментарии\nInstagram | 300 | 40\nИтого | 25% | 2 ч"),
            [(Likes, 300, None), (Comments, 40, None)]
        );
    }

    #[test]
    fn a_table_without_header_and_odd_cells() {
        assert_eq!(
            q(
                "1 | Создание фейк-аккаунтов | шт. | 15\n2 | Комменты под публикациями | шт. в день | 40"
            ),
            [(Accounts, 15, None), (Comments, 40, Some(Period::Day))]
        );
        // a percentage column, a one-line "table" and hostile input read nothing
        assert_eq!(
            q("Р/с | Көрсеткіш | Өлшем бірлігі | Мәні\n1 | Оң пікір үлесі | % | 38\n2 | x | y | z"),
            []
        );
        assert_eq!(q("a | комментарии | 5"), []);
        assert_eq!(q(&"| ".repeat(10_000)), []);
        assert_eq!(q("|\t|\n|\t|\u{feff}|ё"), []);
    }
}
