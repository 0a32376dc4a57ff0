//! The SQL of the web page's own lists: the flags (filtered, sorted, a page at a time), an
//! agency's and a supplier's tenders, the notice page's extras (the matches' offsets, the
//! verdict history, the flags a verdict may be given on) and the document a hash names.
//!
//! Must never: put a request's value into SQL other than as a parameter (the SQL here is
//! built from constant fragments only); count every row of a large table for a page (a page
//! reads one row more than it shows, to know whether there is a next one).

use crate::model::Severity;
use crate::store::{Store, StoreError};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params_from_iter};
use serde::Serialize;

/// Rows a list page shows.
pub const PAGE_ROWS: usize = 50;

/// How the flag list is sorted (newest, largest, dearest first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Date,
    Amount,
    Price,
}

impl Sort {
    pub fn parse(s: &str) -> Option<Sort> {
        match s {
            "date" => Some(Sort::Date),
            "amount" => Some(Sort::Amount),
            "price" => Some(Sort::Price),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Date => "date",
            Sort::Amount => "amount",
            Sort::Price => "price",
        }
    }
}

/// What the flag list shows: each field a filter when set.
#[derive(Debug, Clone, Default)]
pub struct FlagFilter {
    /// The least severity rank (1 low, 2 medium, 3 high).
    pub min_rank: Option<i64>,
    pub rule: Option<String>,
    pub agency_bin: Option<String>,
    pub region: Option<String>,
    /// Published on or after this day (YYYY-MM-DD).
    pub since: Option<String>,
    /// Published on or before this day.
    pub until: Option<String>,
    /// A verdict's name, or `none` for flags not reviewed yet.
    pub verdict: Option<String>,
    pub source: Option<String>,
    pub sort: Sort,
    /// Rows skipped (page × [`PAGE_ROWS`]).
    pub offset: usize,
}

/// One row of the flag list.
#[derive(Debug, Clone, Serialize)]
pub struct FlagRow {
    pub notice_id: i64,
    pub notice_number: Option<String>,
    pub lot_number: Option<String>,
    /// The notice's title.
    pub title: String,
    pub lot_title: Option<String>,
    pub rule_id: String,
    pub severity: String,
    pub evidence: String,
    pub published_at: Option<String>,
    pub first_flagged_at: String,
    pub amount: Option<String>,
    pub price_per_unit: Option<String>,
    pub agency_bin: Option<String>,
    pub agency_name: Option<String>,
    pub source: String,
    pub verdict: Option<String>,
}

/// The date a flag is listed by: the notice's publication, else when it was flagged.
const DATE: &str = "COALESCE(n.published_at, f.first_flagged_at)";
/// A flag's amount: its lot's, else its notice's.
const AMOUNT: &str = "COALESCE(l.amount, n.amount)";
/// Its price per unit: only from a count that is sure (see migration 019).
const PRICE: &str = "CASE WHEN m.quota_count > 0 AND m.quota_sure = 1
                          THEN COALESCE(l.amount, n.amount) / m.quota_count END";

/// At most `n` characters of `s`, with an ellipsis where it was cut.
fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn money(x: Option<f64>, cur: Option<&str>) -> Option<String> {
    x.and_then(|a| crate::money::with_currency(a, cur))
}

/// The flags the filter names, one page of them (and whether there is a next page).
pub fn flags(store: &Store, f: &FlagFilter) -> Result<(Vec<FlagRow>, bool), StoreError> {
    let mut wh: Vec<&str> = Vec::new();
    let mut p: Vec<Value> = Vec::new();
    if let Some(r) = f.min_rank {
        wh.push("f.severity_rank >= ?");
        p.push(Value::Integer(r));
    }
    if let Some(r) = &f.rule {
        wh.push("f.rule_id = ?");
        p.push(Value::Text(r.clone()));
    }
    if let Some(b) = &f.agency_bin {
        wh.push("n.agency_id IN (SELECT id FROM agencies WHERE identifier = ?)");
        p.push(Value::Text(b.clone()));
    }
    if let Some(r) = &f.region {
        wh.push("COALESCE(n.region, a.region) = ?");
        p.push(Value::Text(r.clone()));
    }
    if let Some(s) = &f.since {
        wh.push("n.published_at >= ?");
        p.push(Value::Text(s.clone()));
    }
    if let Some(u) = &f.until {
        // the whole day: every time stamp of it sorts before the next day
        wh.push("n.published_at < date(?, '+1 day')");
        p.push(Value::Text(u.clone()));
    }
    match f.verdict.as_deref() {
        None => {}
        Some("none") => wh.push(
            "NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.notice_id = f.notice_id
                         AND v.lot_key = f.lot_key AND v.rule_id = f.rule_id)",
        ),
        Some(v) => {
            // driven by the (small) verdicts table, not a look-up per flag row
            wh.push(
                "(f.notice_id, f.lot_key, f.rule_id) IN
                 (SELECT notice_id, lot_key, rule_id FROM current_verdicts WHERE verdict = ?)",
            );
            p.push(Value::Text(v.to_string()));
        }
    }
    if let Some(s) = &f.source {
        wh.push("n.source_id IN (SELECT id FROM sources WHERE name = ?)");
        p.push(Value::Text(s.clone()));
    }
    let order = match f.sort {
        Sort::Date => format!("{DATE} DESC, f.notice_id DESC, f.lot_key, f.rule_id"),
        Sort::Amount => format!("{AMOUNT} IS NULL, {AMOUNT} DESC, f.notice_id DESC, f.rule_id"),
        Sort::Price => "price IS NULL, price DESC, f.notice_id DESC, f.rule_id".to_string(),
    };
    let sql = format!(
        "SELECT f.notice_id, n.number, l.number, n.title, f.rule_id,
                m.severity, m.evidence, n.published_at, f.first_flagged_at, {AMOUNT}, n.currency,
                {PRICE} AS price, a.identifier, COALESCE(a.name_ru, a.name_kk, a.name_en), s.name,
                (SELECT v.verdict FROM verdicts v WHERE v.notice_id = f.notice_id
                 AND v.lot_key = f.lot_key AND v.rule_id = f.rule_id ORDER BY v.id DESC LIMIT 1),
                l.title
         FROM flag_rows f
         JOIN matches m ON m.id = f.match_id
         JOIN notices n ON n.id = f.notice_id
         JOIN sources s ON s.id = n.source_id
         LEFT JOIN lots l ON l.id = NULLIF(f.lot_key, 0)
         LEFT JOIN agencies a ON a.id = n.agency_id
         {}{}
         ORDER BY {order}
         LIMIT ? OFFSET ?",
        if wh.is_empty() { "" } else { "WHERE " },
        wh.join(" AND ")
    );
    p.push(Value::Integer(PAGE_ROWS as i64 + 1));
    p.push(Value::Integer(f.offset as i64));
    let mut stmt = store.conn().prepare_cached(&sql)?;
    let rows: Vec<FlagRow> = stmt
        .query_map(params_from_iter(p), |r| {
            let cur: Option<String> = r.get(10)?;
            Ok(FlagRow {
                notice_id: r.get(0)?,
                notice_number: r.get(1)?,
                lot_number: r.get(2)?,
                title: r.get(3)?,
                rule_id: r.get(4)?,
                severity: r.get(5)?,
                evidence: clip(&r.get::<_, String>(6)?, 200),
                published_at: r.get(7)?,
                first_flagged_at: r.get(8)?,
                amount: money(r.get(9)?, cur.as_deref()),
                price_per_unit: money(r.get(11)?, cur.as_deref()),
                agency_bin: r.get(12)?,
                agency_name: r.get(13)?,
                source: r.get(14)?,
                verdict: r.get(15)?,
                lot_title: r.get(16)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(one_page(rows))
}

/// The choices of the filter form: the rules and sources that have flags, and the regions.
pub fn choices(store: &Store) -> Result<(Vec<String>, Vec<String>), StoreError> {
    // A skip-scan of the rule index: one step per distinct rule, not per flag.
    let mut rules = Vec::new();
    let mut last: Option<String> = None;
    loop {
        let next: Option<String> = store
            .conn()
            .query_row(
                "SELECT rule_id FROM flag_rows WHERE rule_id > ?1 ORDER BY rule_id LIMIT 1",
                [last.as_deref().unwrap_or("")],
                |r| r.get(0),
            )
            .optional()?;
        match next {
            Some(r) => {
                rules.push(r.clone());
                last = Some(r);
            }
            None => break,
        }
    }
    let mut stmt = store
        .conn()
        .prepare_cached("SELECT name FROM sources ORDER BY name")?;
    let sources = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok((rules, sources))
}

/// An agency: (id, name, region).
pub type AgencyRow = (i64, Option<String>, Option<String>);

/// A supplier: (ids of its rows, scheme, name).
pub type SupplierRow = (Vec<i64>, String, Option<String>);

/// An agency by its BIN.
pub fn agency(store: &Store, bin: &str) -> Result<Option<AgencyRow>, StoreError> {
    Ok(store
        .conn()
        .query_row(
            "SELECT id, COALESCE(name_ru, name_kk, name_en), region FROM agencies
             WHERE identifier = ?1 ORDER BY id LIMIT 1",
            [bin],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

/// A notice in an agency's or a supplier's list.
#[derive(Debug, Clone, Serialize)]
pub struct TenderRow {
    pub notice_id: i64,
    pub notice_number: Option<String>,
    pub title: String,
    pub published_at: Option<String>,
    pub amount: Option<String>,
    /// The rules that flagged it (live flags), comma-separated; empty when none.
    pub rules: String,
    pub top_severity: Option<String>,
    pub agency_bin: Option<String>,
    pub agency_name: Option<String>,
    /// The award's amount (a supplier's list).
    pub awarded: Option<String>,
}

/// The severity of a rank as the database stores it (`Severity::rank`).
fn severity_name(rank: Option<i64>) -> Option<String> {
    rank.map(|r| {
        Severity::ALL
            .into_iter()
            .find(|s| s.rank() == r)
            .unwrap_or(Severity::Low)
            .as_str()
            .to_string()
    })
}

/// A list page read one row past [`PAGE_ROWS`]: the page, and whether there is a next one.
fn one_page<T>(mut rows: Vec<T>) -> (Vec<T>, bool) {
    let more = rows.len() > PAGE_ROWS;
    rows.truncate(PAGE_ROWS);
    (rows, more)
}

/// The columns every tender list starts with: id, number, title, published, amount and
/// currency, its flags' rules and top severity rank; the agency and award left empty.
fn tender_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TenderRow> {
    let cur: Option<String> = r.get(5)?;
    Ok(TenderRow {
        notice_id: r.get(0)?,
        notice_number: r.get(1)?,
        title: r.get(2)?,
        published_at: r.get(3)?,
        amount: money(r.get(4)?, cur.as_deref()),
        rules: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
        top_severity: severity_name(r.get(7)?),
        agency_bin: None,
        agency_name: None,
        awarded: None,
    })
}

/// An agency's flagged notices, newest first, one page (and whether there is a next one).
pub fn agency_flagged(
    store: &Store,
    agency_id: i64,
    offset: usize,
) -> Result<(Vec<TenderRow>, bool), StoreError> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT n.id, n.number, n.title, n.published_at, n.amount, n.currency,
                (SELECT group_concat(DISTINCT f.rule_id) FROM flag_rows f WHERE f.notice_id = n.id),
                (SELECT max(f.severity_rank) FROM flag_rows f WHERE f.notice_id = n.id)
         FROM notices n
         WHERE n.agency_id = ?1 AND EXISTS (SELECT 1 FROM flag_rows f WHERE f.notice_id = n.id)
         ORDER BY COALESCE(n.published_at, n.first_seen_at) DESC, n.id DESC
         LIMIT ?2 OFFSET ?3",
    )?;
    let rows: Vec<TenderRow> = stmt
        .query_map(
            rusqlite::params![agency_id, PAGE_ROWS as i64 + 1, offset as i64],
            tender_row,
        )?
        .collect::<Result<_, _>>()?;
    Ok(one_page(rows))
}

/// A supplier by its identifier: (ids of its rows, scheme, name); a BIN may be listed
/// under more than one scheme.
pub fn supplier(store: &Store, identifier: &str) -> Result<Option<SupplierRow>, StoreError> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT id, scheme, name FROM suppliers WHERE identifier = ?1 ORDER BY id LIMIT 10",
    )?;
    let rows: Vec<(i64, String, Option<String>)> = stmt
        .query_map([identifier], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let Some(first) = rows.first().cloned() else {
        return Ok(None);
    };
    let name = rows.iter().find_map(|r| r.2.clone()).or(first.2);
    Ok(Some((
        rows.into_iter().map(|r| r.0).collect(),
        first.1,
        name,
    )))
}

/// The notices a supplier was awarded, newest first, one page (flagged or not: the rules
/// column says).
pub fn supplier_awards(
    store: &Store,
    supplier_ids: &[i64],
    offset: usize,
) -> Result<(Vec<TenderRow>, bool), StoreError> {
    let ids = serde_json::to_string(supplier_ids).unwrap_or_else(|_| "[]".into());
    let mut stmt = store.conn().prepare_cached(
        "SELECT n.id, n.number, n.title, n.published_at, n.amount, n.currency,
                (SELECT group_concat(DISTINCT f.rule_id) FROM flag_rows f WHERE f.notice_id = n.id),
                (SELECT max(f.severity_rank) FROM flag_rows f WHERE f.notice_id = n.id),
                ag.identifier, COALESCE(ag.name_ru, ag.name_kk, ag.name_en),
                COALESCE(aw.contract_amount, aw.amount), COALESCE(aw.currency, n.currency)
         FROM award_suppliers s
         JOIN awards aw ON aw.id = s.award_id
         JOIN notices n ON n.id = aw.notice_id
         LEFT JOIN agencies ag ON ag.id = n.agency_id
         WHERE s.supplier_id IN (SELECT value FROM json_each(?1))
         ORDER BY COALESCE(aw.contract_signed_at, aw.awarded_at, n.published_at) DESC, aw.id DESC
         LIMIT ?2 OFFSET ?3",
    )?;
    let rows: Vec<TenderRow> = stmt
        .query_map(
            rusqlite::params![ids, PAGE_ROWS as i64 + 1, offset as i64],
            |r| {
                let aw_cur: Option<String> = r.get(11)?;
                Ok(TenderRow {
                    agency_bin: r.get(8)?,
                    agency_name: r.get(9)?,
                    awarded: money(r.get(10)?, aw_cur.as_deref()),
                    ..tender_row(r)?
                })
            },
        )?
        .collect::<Result<_, _>>()?;
    Ok(one_page(rows))
}

/// The byte offsets of a notice's matches: match id → (evidence_start, match_start,
/// match_end), for highlighting the matched words in the evidence.
pub fn match_offsets(
    store: &Store,
    notice_id: i64,
) -> Result<std::collections::HashMap<i64, (i64, i64, i64)>, StoreError> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT id, evidence_start, match_start, match_end FROM matches WHERE notice_id = ?1",
    )?;
    let rows = stmt.query_map([notice_id], |r| {
        Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One verdict of a notice's history.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictRow {
    pub lot_key: i64,
    pub lot_number: Option<String>,
    pub rule_id: String,
    pub verdict: String,
    pub note: Option<String>,
    pub reviewer: String,
    pub reviewed_at: String,
}

/// Every verdict on a notice's flags, latest first (the history is kept).
pub fn verdict_history(store: &Store, notice_id: i64) -> Result<Vec<VerdictRow>, StoreError> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT v.lot_key, l.number, v.rule_id, v.verdict, v.note, v.reviewer, v.reviewed_at
         FROM verdicts v LEFT JOIN lots l ON l.id = NULLIF(v.lot_key, 0)
         WHERE v.notice_id = ?1 ORDER BY v.id DESC",
    )?;
    let rows = stmt.query_map([notice_id], |r| {
        Ok(VerdictRow {
            lot_key: r.get(0)?,
            lot_number: r.get(1)?,
            rule_id: r.get(2)?,
            verdict: r.get(3)?,
            note: r.get(4)?,
            reviewer: r.get(5)?,
            reviewed_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A flag of a notice a verdict may be given on (its rule matched there at some time).
#[derive(Debug, Clone, Serialize)]
pub struct NoticeFlag {
    pub lot_key: i64,
    pub lot_number: Option<String>,
    pub rule_id: String,
    /// Its current verdict, if any.
    pub verdict: Option<String>,
    /// It still has a live match.
    pub live: bool,
}

pub fn notice_flags(store: &Store, notice_id: i64) -> Result<Vec<NoticeFlag>, StoreError> {
    let mut stmt = store.conn().prepare_cached(
        "SELECT g.lot_key, l.number, g.rule_id,
                (SELECT v.verdict FROM verdicts v WHERE v.notice_id = ?1 AND v.lot_key = g.lot_key
                 AND v.rule_id = g.rule_id ORDER BY v.id DESC LIMIT 1),
                EXISTS (SELECT 1 FROM flag_rows f WHERE f.notice_id = ?1 AND f.lot_key = g.lot_key
                        AND f.rule_id = g.rule_id)
         FROM (SELECT DISTINCT COALESCE(lot_id, 0) AS lot_key, rule_id FROM matches
               WHERE notice_id = ?1) g
         LEFT JOIN lots l ON l.id = NULLIF(g.lot_key, 0)
         ORDER BY g.lot_key, g.rule_id",
    )?;
    let rows = stmt.query_map([notice_id], |r| {
        Ok(NoticeFlag {
            lot_key: r.get(0)?,
            lot_number: r.get(1)?,
            rule_id: r.get(2)?,
            verdict: r.get(3)?,
            live: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The name of the document the database names by this hash (its file name, else its title,
/// else the last part of its URL); `None` when no document has that hash.
pub fn document_name(store: &Store, sha256: &str) -> Result<Option<String>, StoreError> {
    Ok(store
        .conn()
        .query_row(
            "SELECT file_name, title, url FROM documents WHERE sha256 = ?1 ORDER BY id LIMIT 1",
            [sha256],
            |r| {
                let file: Option<String> = r.get(0)?;
                let title: Option<String> = r.get(1)?;
                let url: String = r.get(2)?;
                Ok(file.or(title).unwrap_or_else(|| {
                    url.trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .unwrap_or("")
                        .to_string()
                }))
            },
        )
        .optional()?)
}
