//! Canned reports (`queries/*.sql`) and their output formats, for watchdog NGOs.
//!
//! Each report is one SQL file that starts with a comment block:
//! ```sql
//! -- title: Flagged tenders in a period
//! -- description: One line saying what it answers.
//! -- param: since = 2000-01-01 -- what the parameter means
//! ```
//! Parameters are SQLite named parameters (`:since`), so the same files run unchanged in
//! the sqlite3 shell and as Datasette canned queries. Each is read in the SQL as
//! `COALESCE(NULLIF(:since, ''), '2000-01-01')` (its documented default), so a parameter
//! left empty (Datasette's first page) or unbound (NULL, the sqlite3 shell) gives the
//! default rows. Values are always bound, never pasted into SQL. The built-in files are
//! compiled into the binary; `[reports] dirs` adds the `*.sql` files of the user's own
//! folders ([`load`]), in the same format, named by their file name.
//!
//! Must never: write a value's control characters raw into a table, Markdown or CSV (they
//! go through [`crate::safe_text`]: table and Markdown cells as [`safe_text::cell()`], CSV
//! fields as [`safe_text::block()`], `--excel` CSV text as [`safe_text::excel_cell()`]); JSON
//! keeps the exact text.

use crate::safe_text;
use crate::store::{Store, StoreError};
use std::fmt::Write as _;

/// The canned reports, compiled in (a test keeps this list in step with `queries/`).
pub const QUERIES: &[(&str, &str)] = &[
    (
        "flagged_tenders",
        include_str!("../queries/flagged_tenders.sql"),
    ),
    (
        "agencies_by_flagged_spending",
        include_str!("../queries/agencies_by_flagged_spending.sql"),
    ),
    (
        "price_per_unit",
        include_str!("../queries/price_per_unit.sql"),
    ),
    (
        "repeat_buyers",
        include_str!("../queries/repeat_buyers.sql"),
    ),
    (
        "changed_after_flag",
        include_str!("../queries/changed_after_flag.sql"),
    ),
    (
        "smm_spending_by_region",
        include_str!("../queries/smm_spending_by_region.sql"),
    ),
    (
        "suppliers_of_flagged",
        include_str!("../queries/suppliers_of_flagged.sql"),
    ),
    (
        "false_positive_rate",
        include_str!("../queries/false_positive_rate.sql"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no report is named {0:?} (see `tenderscan report --list`)")]
    Unknown(String),
    #[error("report {report}: no parameter {name:?} (it takes: {known})")]
    UnknownParam {
        report: String,
        name: String,
        known: String,
    },
    #[error("report {report}: parameter {name}={value:?}: {why}")]
    BadParam {
        report: String,
        name: String,
        value: String,
        why: String,
    },
    #[error("report {0}: its header is malformed: {1}")]
    Header(String, String),
    #[error("{}: {message}", path.display())]
    File {
        path: std::path::PathBuf,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("report query failed: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// A parameter a report takes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Param {
    pub name: String,
    pub default: String,
    pub doc: String,
}

/// A canned report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub name: String,
    pub title: String,
    pub description: String,
    pub params: Vec<Param>,
    #[serde(skip)]
    pub sql: String,
    /// The file of a report from `[reports] dirs`; None for a built-in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<std::path::PathBuf>,
}

impl Report {
    /// Parse a report file's header.
    pub fn parse(name: &str, sql: &str) -> Result<Report, ReportError> {
        let mut title = None;
        let mut description = None;
        let mut params = Vec::new();
        for line in sql.lines() {
            let Some(c) = line.trim().strip_prefix("--") else {
                if line.trim().is_empty() {
                    continue;
                }
                break;
            };
            let c = c.trim();
            if let Some(t) = c.strip_prefix("title:") {
                title = Some(t.trim().to_string());
            } else if let Some(d) = c.strip_prefix("description:") {
                description = Some(d.trim().to_string());
            } else if let Some(p) = c.strip_prefix("param:") {
                let (decl, doc) = p.split_once("--").unwrap_or((p, ""));
                let (n, d) = decl.split_once('=').ok_or_else(|| {
                    ReportError::Header(name.into(), format!("param line without '=': {line}"))
                })?;
                params.push(Param {
                    name: n.trim().to_string(),
                    default: d.trim().to_string(),
                    doc: doc.trim().to_string(),
                });
            }
        }
        let title = title.ok_or_else(|| ReportError::Header(name.into(), "no title".into()))?;
        let description =
            description.ok_or_else(|| ReportError::Header(name.into(), "no description".into()))?;
        for p in &params {
            if !sql.contains(&format!(":{}", p.name)) {
                return Err(ReportError::Header(
                    name.into(),
                    format!("parameter {} is declared but not used", p.name),
                ));
            }
        }
        Ok(Report {
            name: name.into(),
            title,
            description,
            params,
            sql: sql.to_string(),
            file: None,
        })
    }

    /// Check a value given for a parameter, by the parameter's name and default.
    fn check(&self, p: &Param, value: &str) -> Result<(), ReportError> {
        let bad = |why: &str| ReportError::BadParam {
            report: self.name.clone(),
            name: p.name.clone(),
            value: value.into(),
            why: why.into(),
        };
        if p.name == "min_severity" {
            value
                .parse::<crate::model::Severity>()
                .map_err(|e| bad(&e))?;
        } else if is_date(&p.default) {
            chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map_err(|_| bad("expected a date, YYYY-MM-DD"))?;
        } else if p.default.parse::<i64>().is_ok() {
            value
                .parse::<i64>()
                .map_err(|_| bad("expected a whole number"))?;
        }
        Ok(())
    }

    /// The parameters to bind: defaults overridden by `given` (name, value) pairs.
    pub fn bind(&self, given: &[(String, String)]) -> Result<Vec<(String, String)>, ReportError> {
        let mut values: Vec<(String, String)> = self
            .params
            .iter()
            .map(|p| (p.name.clone(), p.default.clone()))
            .collect();
        for (name, value) in given {
            let Some(p) = self.params.iter().find(|p| &p.name == name) else {
                return Err(ReportError::UnknownParam {
                    report: self.name.clone(),
                    name: name.clone(),
                    known: self
                        .params
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            };
            self.check(p, value)?;
            if let Some(slot) = values.iter_mut().find(|(n, _)| n == name) {
                slot.1 = value.clone();
            }
        }
        Ok(values)
    }
}

fn is_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// Every canned report, parsed.
pub fn all() -> Result<Vec<Report>, ReportError> {
    QUERIES
        .iter()
        .map(|(n, sql)| Report::parse(n, sql))
        .collect()
}

/// One canned report by name.
pub fn get(name: &str) -> Result<Report, ReportError> {
    let name = name.trim_end_matches(".sql");
    QUERIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, sql)| Report::parse(n, sql))
        .unwrap_or_else(|| Err(ReportError::Unknown(name.into())))
}

/// The built-in reports and then those of the user's folders (`[reports] dirs`): every
/// `*.sql` file in each folder (not its subfolders), in name order, parsed like the
/// built-in ones. A file that cannot be read or parsed, a name that is not letters, digits,
/// `_` and `-`, or a name already taken (by a built-in report or an earlier folder) is an
/// error naming the file.
pub fn load(dirs: &[std::path::PathBuf]) -> Result<Vec<Report>, ReportError> {
    let mut reports = all()?;
    for dir in dirs {
        let err = |path: &std::path::Path, message: String| ReportError::File {
            path: path.to_path_buf(),
            message,
        };
        let entries = std::fs::read_dir(dir)
            .map_err(|e| err(dir, format!("cannot read the reports folder: {e}")))?;
        let mut files: Vec<std::path::PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "sql") && p.is_file())
            .collect();
        files.sort();
        for path in files {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .filter(|n| {
                    !n.is_empty()
                        && n.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                })
                .ok_or_else(|| {
                    err(
                        &path,
                        "a report's file name is its name: use letters, digits, _ and - only"
                            .into(),
                    )
                })?
                .to_string();
            if let Some(other) = reports.iter().find(|r| r.name == name) {
                let by = match &other.file {
                    Some(f) => format!("{}", f.display()),
                    None => "a built-in report".into(),
                };
                return Err(err(&path, format!("report {name:?} is already {by}")));
            }
            let sql = std::fs::read_to_string(&path)
                .map_err(|e| err(&path, format!("cannot read it: {e}")))?;
            let mut r = Report::parse(&name, &sql).map_err(|e| match e {
                ReportError::Header(_, why) => {
                    err(&path, format!("its header is malformed: {why}"))
                }
                other => err(&path, other.to_string()),
            })?;
            r.file = Some(path);
            reports.push(r);
        }
    }
    Ok(reports)
}

/// One of `reports` by name (`.sql` at the end is ignored).
pub fn find(reports: &[Report], name: &str) -> Result<Report, ReportError> {
    let name = name.trim_end_matches(".sql");
    reports
        .iter()
        .find(|r| r.name == name)
        .cloned()
        .ok_or_else(|| ReportError::Unknown(name.into()))
}

/// A result: column names and rows of SQLite values.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<rusqlite::types::Value>>,
}

/// Run a report with its parameters bound.
pub fn run(
    store: &Store,
    report: &Report,
    given: &[(String, String)],
) -> Result<Table, ReportError> {
    let values = report.bind(given)?;
    let mut stmt = store.conn().prepare(&report.sql)?;
    let columns: Vec<String> = stmt.column_names().map(str::to_string).collect();
    let mut bound: Vec<(String, &dyn rusqlite::ToSql)> = Vec::new();
    for (name, value) in &values {
        bound.push((format!(":{name}"), value as &dyn rusqlite::ToSql));
    }
    let refs: Vec<(&str, &dyn rusqlite::ToSql)> =
        bound.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let n = columns.len();
    let rows = stmt
        .query_map(refs.as_slice(), |r| {
            (0..n)
                .map(|i| r.get::<_, rusqlite::types::Value>(i))
                .collect()
        })?
        .collect::<Result<Vec<Vec<_>>, _>>()?;
    Ok(Table { columns, rows })
}

/// A value as text (NULL as empty), exactly as stored: made safe by the caller.
pub fn cell(v: &rusqlite::types::Value) -> String {
    use rusqlite::types::Value;
    match v {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{f:.0}")
            } else {
                let s = format!("{f:.2}");
                s
            }
        }
        Value::Text(t) => t.clone(),
        Value::Blob(b) => format!("<{} bytes>", b.len()),
    }
}

/// A value as JSON.
pub fn json_value(v: &rusqlite::types::Value) -> serde_json::Value {
    use rusqlite::types::Value;
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Integer(i) => (*i).into(),
        Value::Real(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Value::Text(t) => t.clone().into(),
        Value::Blob(b) => hex::encode(b).into(),
    }
}

/// One CSV field, quoted when it needs to be (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One value as a CSV field's text: text made safe as a [`safe_text::block()`] (control
/// characters shown as escapes; line breaks and tabs kept, inside quotes), and for `excel`
/// also guarded against formulas ([`safe_text::excel_cell()`]). Numbers are written as they
/// are (a number is never a formula, and `-5` stays a number).
pub fn csv_value(v: &rusqlite::types::Value, excel: bool) -> String {
    use rusqlite::types::Value;
    match v {
        Value::Text(t) if excel => safe_text::excel_cell(t).into_owned(),
        Value::Text(t) => safe_text::block(t).into_owned(),
        other => cell(other),
    }
}

/// A row of values as a CSV line (see [`csv_value`]).
pub fn csv_row(r: &[rusqlite::types::Value], excel: bool) -> String {
    csv_line(r.iter().map(|v| csv_value(v, excel)))
}

/// A CSV line (CRLF-terminated, as spreadsheets expect). The fields are written as given:
/// [`csv_row`] makes values safe first.
pub fn csv_line<I: IntoIterator<Item = String>>(fields: I) -> String {
    let mut line = fields
        .into_iter()
        .map(|f| csv_field(&f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// The whole table as CSV; `excel` puts a UTF-8 byte-order mark first so Excel reads
/// Cyrillic right.
pub fn to_csv(t: &Table, excel: bool) -> String {
    let mut out = String::new();
    if excel {
        out.push('\u{feff}');
    }
    out.push_str(&csv_line(
        t.columns.iter().map(|c| safe_text::block(c).into_owned()),
    ));
    for r in &t.rows {
        out.push_str(&csv_row(r, excel));
    }
    out
}

/// The whole table as a JSON array of objects.
pub fn to_json(t: &Table) -> serde_json::Value {
    serde_json::Value::Array(
        t.rows
            .iter()
            .map(|r| {
                serde_json::Value::Object(
                    t.columns
                        .iter()
                        .cloned()
                        .zip(r.iter().map(json_value))
                        .collect(),
                )
            })
            .collect(),
    )
}

/// The table as Markdown.
pub fn to_markdown(t: &Table) -> String {
    let esc = |s: &str| safe_text::cell(s).replace('|', "\\|");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| {} |",
        t.columns
            .iter()
            .map(|c| esc(c))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|{}", " --- |".repeat(t.columns.len()));
    for r in &t.rows {
        let _ = writeln!(
            out,
            "| {} |",
            r.iter()
                .map(|v| esc(&cell(v)))
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    out
}

/// The table for a terminal `width` characters wide: a table with a header line when all
/// of it fits; past the width, one record per block, a `column: value` line per field, a
/// long value wrapped (at spaces where it can) onto lines indented under the first, so
/// nothing is cut.
pub fn to_text(t: &Table, width: usize) -> String {
    const SEP: usize = 2;
    let cells: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| safe_text::cell(&cell(v)).into_owned())
                .collect()
        })
        .collect();
    let len = |s: &str| s.chars().count();
    let mut out = String::new();
    let total = |w: &[usize]| w.iter().sum::<usize>() + SEP * w.len().saturating_sub(1);
    let columns: Vec<String> = t
        .columns
        .iter()
        .map(|c| safe_text::cell(c).into_owned())
        .collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| len(c)).collect();
    for r in &cells {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(len(c));
        }
    }
    if !columns.is_empty() && total(&widths) > width {
        let label = columns.iter().map(|c| len(c)).max().unwrap_or(0);
        let indent = label + 2;
        let value_width = width.saturating_sub(indent).max(20);
        for (i, r) in cells.iter().enumerate() {
            let head = format!("-[ {} ]", i + 1);
            let _ = writeln!(
                out,
                "{head}{}",
                "-".repeat(width.saturating_sub(len(&head)))
            );
            for (c, v) in columns.iter().zip(r) {
                let mut lines = wrap(v, value_width).into_iter();
                let first = lines.next().unwrap_or_default();
                let key = format!("{c}:");
                let _ = writeln!(out, "{key:<indent$}{first}");
                for more in lines {
                    let _ = writeln!(out, "{:indent$}{more}", "");
                }
            }
        }
        let _ = writeln!(out, "({} rows)", t.rows.len());
        return out;
    }
    let line = |row: &[String]| -> String {
        row.iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(&" ".repeat(SEP))
            .trim_end()
            .to_string()
    };
    let _ = writeln!(out, "{}", line(&columns));
    let _ = writeln!(
        out,
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join(&" ".repeat(SEP))
    );
    for r in &cells {
        let _ = writeln!(out, "{}", line(r));
    }
    let _ = writeln!(out, "({} rows)", t.rows.len());
    out
}

/// `s` in lines of at most `w` characters: broken at the last space that fits, else
/// mid-word (a URL), trailing spaces dropped. An empty value is one empty line.
fn wrap(s: &str, w: usize) -> Vec<String> {
    let w = w.max(1);
    let mut lines = Vec::new();
    let mut rest: Vec<char> = s.chars().collect();
    while rest.len() > w {
        let cut = rest[..=w]
            .iter()
            .rposition(|c| *c == ' ')
            .filter(|&i| i > 0)
            .unwrap_or(w);
        let line: String = rest[..cut].iter().collect();
        lines.push(line.trim_end().to_string());
        let skip = rest[cut..].iter().take_while(|c| **c == ' ').count();
        rest.drain(..cut + skip);
    }
    lines.push(rest.into_iter().collect::<String>().trim_end().to_string());
    lines
}

/// The Cyrillic letter a Latin look-alike (lower case: the query is folded) is indexed as in
/// the `*_sfts` search indexes (migration 017); any other character as it is.
fn cyrillic_twin(c: char) -> char {
    match c {
        'a' => 'а',
        'c' => 'с',
        'e' => 'е',
        'o' => 'о',
        'p' => 'р',
        'x' => 'х',
        'y' => 'у',
        'k' => 'к',
        'i' => 'і',
        c => c,
    }
}

/// A search box query as an FTS5 query: each word folded and stemmed the way the rule
/// engine reads text (so "комментариев" finds "комментарии", "пікірлер" finds "пікір"),
/// searched as a prefix; all words must occur. Latin look-alike letters are written as
/// their Cyrillic twins, as the search indexes hold them, so a notice typed with Latin
/// letters in a Russian word is found by the Russian word. Punctuation and FTS5 syntax in the
/// input are dropped, so nothing the user types can change the query's structure.
pub fn fts_query(q: &str) -> String {
    let mut terms: Vec<String> = Vec::new();
    for word in q.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        for stem in crate::rules::fold(word).split_whitespace() {
            let stem: String = stem
                .chars()
                .filter(|c| c.is_alphanumeric())
                .map(cyrillic_twin)
                .collect();
            if stem.is_empty() {
                continue;
            }
            let t = format!("\"{stem}\"*");
            if !terms.contains(&t) {
                terms.push(t);
            }
        }
    }
    terms.join(" ")
}

/// The columns of the `flags` view and what each means (the README's table, for Datasette).
pub const FLAGS_COLUMNS: &[(&str, &str)] = &[
    ("source", "The source's name from the config."),
    (
        "notice_number",
        "The portal's notice number (\"17163708-1\").",
    ),
    (
        "lot_number",
        "The lot's number where the match is in a lot or its documents, else empty.",
    ),
    (
        "title",
        "The lot's title where there is one, else the notice's.",
    ),
    (
        "agency_bin",
        "The buyer's identifier (BIN), leading zeros kept.",
    ),
    (
        "agency_name",
        "The buyer's name (Russian, else Kazakh, else English).",
    ),
    (
        "amount",
        "The lot's amount where the match is in a lot, else the notice's.",
    ),
    ("currency", "ISO 4217, e.g. KZT."),
    ("rule_id", "The rule that matched (tenderscan rules list)."),
    ("severity", "low, medium or high."),
    (
        "evidence",
        "The sentence around the best match (at most 300 characters).",
    ),
    (
        "quota_kind",
        "comments, posts, accounts, followers or likes, where a quota was found.",
    ),
    ("quota_count", "How many of quota_kind the tender orders."),
    (
        "quota_period",
        "day, week, month, quarter, term (the whole contract), or empty.",
    ),
    (
        "price_per_unit",
        "amount / quota_count, rounded to 2 decimals: what the tender pays per comment or account; empty without a quota.",
    ),
    ("url", "The notice on the portal."),
    ("published_at", "Publication time, UTC (ISO 8601)."),
    ("first_flagged_at", "When tenderscan first flagged it, UTC."),
    (
        "read_by_ocr",
        "1 when the matched words were read by OCR from a scan (which can err: check them against the document), else 0.",
    ),
];

/// Tables that are tenderscan's own business or personal data, hidden from Datasette's
/// lists; those holding recipients' addresses and messages are also closed to browsing.
/// (Arbitrary SQL can still read them: see the README on serving the database.)
pub const DATASETTE_HIDDEN: &[(&str, bool)] = &[
    ("digests", true),
    ("alerts", true),
    ("evidence", false),
    ("flag_rows", false),
    ("sources", false),
    ("runs", false),
];

/// A JSON object whose keys keep the order given (serde_json's own map sorts them).
struct Ordered(Vec<(String, Json)>);

/// A value in an [`Ordered`] object: plain JSON or another ordered object.
enum Json {
    V(serde_json::Value),
    O(Ordered),
}

impl serde::Serialize for Ordered {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            match v {
                Json::V(v) => m.serialize_entry(k, v)?,
                Json::O(o) => m.serialize_entry(k, o)?,
            }
        }
        m.end()
    }
}

/// Datasette metadata for a database named `db`, as JSON text: the reports as
/// canned queries with their titles and descriptions (in the order of [`QUERIES`],
/// `flagged_tenders` first), full-text search on notices, lots and documents, descriptions of
/// the main tables with `flags` first and each of its columns described, and the tool's own
/// tables hidden ([`DATASETTE_HIDDEN`]). The database's description links `flags` and the
/// reports, so they are what the database page shows first.
pub fn datasette_metadata(db: &str, reports: &[Report]) -> Result<String, ReportError> {
    use serde_json::json;
    let mut queries = Vec::new();
    let mut links = String::new();
    for r in reports {
        let _ = write!(
            links,
            "<li><a href=\"/{db}/{}\">{}</a>: {}</li>",
            safe_text::html(&r.name),
            safe_text::html(&r.title),
            safe_text::html(&r.description)
        );
        queries.push((
            r.name.clone(),
            Json::V(json!({
                "sql": r.sql.trim(),
                "title": r.title,
                "description": r.description,
            })),
        ));
    }
    let columns: serde_json::Map<String, serde_json::Value> = FLAGS_COLUMNS
        .iter()
        .map(|(c, d)| (c.to_string(), json!(d)))
        .collect();
    let mut tables = vec![
        (
            "flags".to_string(),
            Json::V(json!({
                "description": "One row per flagged notice (or lot) and rule: the table to start from.",
                "sort_desc": "first_flagged_at",
                "columns": columns,
            })),
        ),
        (
            "notices".into(),
            Json::V(json!({
                "description": "Procurement notices as the portals published them.",
                "fts_table": "notices_fts",
                "fts_pk": "id",
                "sort_desc": "published_at"
            })),
        ),
        (
            "lots".into(),
            Json::V(json!({
                "description": "Lots of the notices.",
                "fts_table": "lots_fts",
                "fts_pk": "id"
            })),
        ),
        (
            "documents".into(),
            Json::V(json!({
                "description": "Attachments (technical specifications first) with their extracted text.",
                "fts_table": "documents_fts",
                "fts_pk": "id"
            })),
        ),
        (
            "matches".into(),
            Json::V(json!({"description": "Every rule match with its evidence and quotas."})),
        ),
        (
            "agencies".into(),
            Json::V(json!({"description": "Buyers, by BIN."})),
        ),
        (
            "supplier_awards".into(),
            Json::V(
                json!({"description": "Who won: one row per award and supplier, with the contract, the notice and its agency (sources with contract data)."}),
            ),
        ),
        (
            "suppliers".into(),
            Json::V(json!({"description": "Companies awarded notices, by identifier."})),
        ),
        (
            "flag_reviews".into(),
            Json::V(json!({
                "description": "One row per flag (flagged now or ever reviewed) with its current verdict from `tenderscan review`; verdict empty: not reviewed yet.",
                "sort_desc": "reviewed_at"
            })),
        ),
        (
            "verdicts".into(),
            Json::V(
                json!({"description": "Every verdict reviewers gave, never edited: a flag's current verdict is its latest."}),
            ),
        ),
    ];
    for (t, closed) in DATASETTE_HIDDEN {
        let mut v = json!({"hidden": true});
        if *closed {
            v["allow"] = json!(false);
        }
        tables.push((t.to_string(), Json::V(v)));
    }
    let description_html = format!(
        "<p>Start with <a href=\"/{db}/flags\">flags</a>: one row per flagged notice (or lot) and rule. \
         Reports:</p><ul>{links}</ul>"
    );
    let database = Ordered(vec![
        ("description_html".into(), Json::V(json!(description_html))),
        ("queries".into(), Json::O(Ordered(queries))),
        ("tables".into(), Json::O(Ordered(tables))),
    ]);
    let meta = Ordered(vec![
        ("title".into(), Json::V(json!("tenderscan"))),
        (
            "description".into(),
            Json::V(json!(
                "Public-procurement tenders that order fake online opinion (nurbots), found by tenderscan."
            )),
        ),
        (
            "databases".into(),
            Json::O(Ordered(vec![(db.to_string(), Json::O(database))])),
        ),
    ]);
    Ok(serde_json::to_string_pretty(&meta).expect("metadata serialises"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_queries_is_compiled_in_and_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| {
                let p = e.unwrap().path();
                (p.extension()? == "sql").then(|| p.file_stem().unwrap().to_string_lossy().into())
            })
            .collect();
        files.sort();
        let mut listed: Vec<String> = QUERIES.iter().map(|(n, _)| n.to_string()).collect();
        listed.sort();
        assert_eq!(files, listed, "report::QUERIES and queries/ differ");
        for r in all().unwrap() {
            assert!(
                !r.title.is_empty() && !r.description.is_empty(),
                "{}",
                r.name
            );
        }
    }

    #[test]
    fn every_parameter_reads_its_default_when_empty_or_unbound() {
        for r in all().unwrap() {
            for p in &r.params {
                let wrapped = if p.default.is_empty() {
                    format!("COALESCE(:{}, '')", p.name)
                } else if p.default.parse::<i64>().is_ok() {
                    format!("COALESCE(NULLIF(:{}, ''), {})", p.name, p.default)
                } else {
                    format!("COALESCE(NULLIF(:{}, ''), '{}')", p.name, p.default)
                };
                let body: String = r
                    .sql
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("--"))
                    .collect::<Vec<_>>()
                    .join("\n");
                let uses = body.matches(&format!(":{}", p.name)).count();
                assert!(uses > 0, "{}: {} unused", r.name, p.name);
                assert_eq!(
                    body.matches(&wrapped).count(),
                    uses,
                    "{}: every use of :{} is {wrapped}",
                    r.name,
                    p.name
                );
            }
        }
    }

    #[test]
    fn parameters_are_checked() {
        let r = get("flagged_tenders").unwrap();
        let p = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        assert!(r.bind(&p("since", "2026-01-01")).is_ok());
        assert!(matches!(
            r.bind(&p("since", "last year")),
            Err(ReportError::BadParam { .. })
        ));
        assert!(matches!(
            r.bind(&p("min_severity", "urgent")),
            Err(ReportError::BadParam { .. })
        ));
        assert!(matches!(
            r.bind(&p("sincee", "2026-01-01")),
            Err(ReportError::UnknownParam { .. })
        ));
    }

    #[test]
    fn csv_quotes_what_it_must() {
        assert_eq!(
            csv_line(["a,b".into(), "say \"hi\"".into(), "Акимат".into()]),
            "\"a,b\",\"say \"\"hi\"\"\",Акимат\r\n"
        );
    }

    #[test]
    fn control_characters_never_reach_a_table_markdown_or_csv() {
        use rusqlite::types::Value;
        let hostile = "=HYPERLINK(\"http://x\")\x1b[2J\x1b]0;pwned\x07\r\0\u{202e}\u{9b}\nnext";
        let t = Table {
            columns: vec!["title".into(), "amount".into()],
            rows: vec![
                vec![Value::Text(hostile.into()), Value::Real(-5.0)],
                vec![Value::Text("@SUM(A1)".into()), Value::Integer(-7)],
            ],
        };
        let raw = |s: &str, allowed: &[char]| {
            s.chars()
                .filter(|c| crate::safe_text::is_unsafe(*c) && !allowed.contains(c))
                .count()
        };
        for narrow in [to_text(&t, 20), to_text(&t, 12)] {
            assert_eq!(raw(&narrow, &['\n']), 0, "{narrow}");
        }
        for out in [to_text(&t, 200), to_markdown(&t)] {
            assert_eq!(raw(&out, &['\n']), 0, "{out}");
            assert!(out.contains("\\x1b[2J") && out.contains("\\u202e"), "{out}");
            // The cell's line break is a space: every row stays one line.
            assert!(out.contains("\\u009b next"), "{out}");
        }
        let csv = to_csv(&t, false);
        assert_eq!(raw(&csv.replace("\r\n", ""), &['\n']), 0, "{csv}");
        assert!(
            csv.contains("\"=HYPERLINK(\"\"http://x\"\")\\x1b[2J"),
            "{csv}"
        );
        assert!(
            !csv.contains('\u{9b}') && csv.contains("\\u009b\nnext"),
            "{csv}"
        );
        let excel = to_csv(&t, true);
        assert!(excel.contains("\"'=HYPERLINK("), "{excel}");
        assert!(excel.contains("\r\n'@SUM(A1),-7\r\n"), "{excel}");
        assert!(excel.contains(",-5\r\n"), "numbers are not text: {excel}");
    }

    #[test]
    fn text_tables_fit_the_width() {
        let t = Table {
            columns: vec!["title".into(), "n".into()],
            rows: vec![vec![
                rusqlite::types::Value::Text(
                    "Оказание услуг по ведению аккаунтов в социальных сетях".repeat(3),
                ),
                rusqlite::types::Value::Integer(4),
            ]],
        };
        let text = to_text(&t, 40);
        for line in text.lines() {
            assert!(line.chars().count() <= 40, "{line}");
        }
        // Past the width: a record, every word of the value kept, nothing cut.
        assert!(text.starts_with("-[ 1 ]"), "{text}");
        assert!(text.contains("\nn:     4\n"), "{text}");
        let words: Vec<&str> = text
            .lines()
            .skip(1)
            .take_while(|l| !l.starts_with("n:"))
            .flat_map(|l| l.trim_start_matches("title:").split_whitespace())
            .collect();
        assert_eq!(
            words.join(" "),
            "Оказание услуг по ведению аккаунтов в социальных сетях".repeat(3)
        );
        assert!(!text.contains('…'), "{text}");
        // Within the width: a table.
        let narrow = Table {
            columns: vec!["a".into(), "bb".into()],
            rows: vec![vec![
                rusqlite::types::Value::Integer(1),
                rusqlite::types::Value::Text("x y".into()),
            ]],
        };
        assert_eq!(to_text(&narrow, 80), "a  bb\n-  ---\n1  x y\n(1 rows)\n");
    }
}
