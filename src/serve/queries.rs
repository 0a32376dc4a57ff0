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
/// The tables a part of the list reads beside `f` and `n` (the filters name `f`, `n` and
/// `a`; SQLite leaves out a LEFT JOIN nothing reads).
const KEY_TABLES: &str = "LEFT JOIN lots l ON l.id = NULLIF(f.lot_key, 0)
         LEFT JOIN agencies a ON a.id = n.agency_id";
/// The flag's best match: read where a part sorts by price (an inner join is a look-up
/// per row walked, so only those parts have it).
const MATCH: &str = "JOIN matches m ON m.id = f.match_id";
/// The walks' starts: the notices by date, and the lots by amount with their flags.
const NOTICES_BY_DATE: &str =
    "notices n INDEXED BY notices_published CROSS JOIN flag_rows f ON f.notice_id = n.id";
const LOTS_BY_AMOUNT: &str = "lots l2 INDEXED BY lots_amount
     CROSS JOIN flag_rows f ON f.notice_id = l2.notice_id AND f.lot_key = l2.id
     CROSS JOIN notices n ON n.id = f.notice_id";
/// A filter names "few" flags when its candidates are fewer than this: the list then reads
/// them all and sorts them, instead of walking the flags in the order shown.
const FEW: i64 = 20_000;
/// How long a walk in order may take, where a filter of [`starts`] could start the list
/// instead, before the list reads and sorts what that filter names (see [`flags`]).
const WALK_BUDGET: std::time::Duration = std::time::Duration::from_millis(100);

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

/// The filter as SQL conditions on `f`, `n` and `a`, with their parameters.
fn conditions(f: &FlagFilter) -> (Vec<&'static str>, Vec<Value>) {
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
    (wh, p)
}

/// Every flag with its notice: what the list sorts when nothing narrows it first.
const ALL_FLAGS: &str = "flag_rows f CROSS JOIN notices n ON n.id = f.notice_id";

/// The filters with an index to start from, each with its candidates counted through that
/// index (no further than `cap`) and the `FROM` of the flags it reads: a severity, a rule,
/// an agency, a period. The order of the joins is written out (`INDEXED BY`, `CROSS JOIN`):
/// the statements are planned without their values, so SQLite cannot tell a rare rule from
/// a common one.
fn starts(store: &Store, f: &FlagFilter, cap: i64) -> Result<Vec<(i64, &'static str)>, StoreError> {
    let count = |sql: &str, p: Vec<Value>| -> Result<i64, StoreError> {
        Ok(store.conn().prepare_cached(sql)?.query_row(
            params_from_iter(p.into_iter().chain([Value::Integer(cap)])),
            |r| r.get(0),
        )?)
    };
    let mut out = Vec::new();
    if let Some(r) = f.min_rank {
        out.push((
            count(
                "SELECT count(*) FROM (SELECT 1 FROM flag_rows WHERE severity_rank >= ? LIMIT ?)",
                vec![Value::Integer(r)],
            )?,
            "flag_rows f INDEXED BY flag_rows_severity CROSS JOIN notices n ON n.id = f.notice_id",
        ));
    }
    if let Some(r) = &f.rule {
        out.push((
            count(
                "SELECT count(*) FROM (SELECT 1 FROM flag_rows WHERE rule_id = ? LIMIT ?)",
                vec![Value::Text(r.clone())],
            )?,
            "flag_rows f INDEXED BY flag_rows_rule CROSS JOIN notices n ON n.id = f.notice_id",
        ));
    }
    if let Some(b) = &f.agency_bin {
        out.push((
            count(
                "SELECT count(*) FROM (SELECT 1 FROM notices WHERE agency_id IN
                 (SELECT id FROM agencies WHERE identifier = ?) LIMIT ?)",
                vec![Value::Text(b.clone())],
            )?,
            "notices n INDEXED BY notices_agency CROSS JOIN flag_rows f ON f.notice_id = n.id",
        ));
    }
    if f.since.is_some() || f.until.is_some() {
        out.push((
            count(
                "SELECT count(*) FROM (SELECT 1 FROM notices WHERE published_at >= ?
                 AND published_at < date(?, '+1 day') LIMIT ?)",
                vec![
                    Value::Text(f.since.clone().unwrap_or_default()),
                    Value::Text(f.until.clone().unwrap_or_else(|| "9999-12-30".into())),
                ],
            )?,
            NOTICES_BY_DATE,
        ));
    }
    Ok(out)
}

/// Where the list starts when a walk ran past [`WALK_BUDGET`] (filters that together name
/// few flags though each names many): the filter of [`starts`] with the fewest candidates.
fn fallback_from(store: &Store, f: &FlagFilter) -> Result<&'static str, StoreError> {
    Ok(starts(store, f, i64::MAX)?
        .into_iter()
        .min_by_key(|(n, _)| *n)
        .map_or(ALL_FLAGS, |(_, from)| from))
}

/// Whether a filter names a source, an agency or a region the database does not have: then no flag
/// matches, and the list is empty without walking every flag to find so.
fn names_nothing(store: &Store, f: &FlagFilter) -> Result<bool, StoreError> {
    let missing = |sql: &str, v: &str| -> Result<bool, StoreError> {
        Ok(store
            .conn()
            .prepare_cached(sql)?
            .query_row([v], |_| Ok(()))
            .optional()?
            .is_none())
    };
    if let Some(s) = &f.source
        && missing("SELECT 1 FROM sources WHERE name = ?1 LIMIT 1", s)?
    {
        return Ok(true);
    }
    if let Some(b) = &f.agency_bin
        && missing("SELECT 1 FROM agencies WHERE identifier = ?1 LIMIT 1", b)?
    {
        return Ok(true);
    }
    if let Some(r) = &f.region
        && missing(
            "SELECT 1 FROM notices WHERE region = ?1
             UNION ALL SELECT 1 FROM agencies WHERE region = ?1 LIMIT 1",
            r,
        )?
    {
        return Ok(true);
    }
    Ok(false)
}

/// The flags the filter names, one page of them (and whether there is a next page).
///
/// A page is found one of two ways, with the same rows in the same order. A filter that
/// names few flags (a verdict, or one of [`starts`] with fewer than [`FEW`]) reads them all
/// and sorts them. Any other walks the flags
/// in the order shown, through an index, and stops after the page: by date, the notices
/// newest first (`notices_published`), and apart those with no date, by when they were
/// flagged; by amount, the lots' own amounts (`lots_amount`) beside the notices'
/// (`notices_amount`) for the notices' own flags and their lots with none, and those with
/// no amount at all last; by price, the flags whose count is sure
/// (`matches_priced`, sorted: they are a small part), then the rest newest first. Each
/// part reads no more than the page's end, and the page is cut from their union.
pub fn flags(store: &Store, f: &FlagFilter) -> Result<(Vec<FlagRow>, bool), StoreError> {
    if names_nothing(store, f)? {
        return Ok((Vec::new(), false));
    }
    // A filter that names few flags: read them all and sort them.
    if f.verdict.as_deref().is_some_and(|v| v != "none") {
        return Ok(one_page(flags_by(store, f, Some(ALL_FLAGS), PAGE_ROWS)?));
    }
    let starts = starts(store, f, FEW)?;
    if let Some((_, from)) = starts
        .iter()
        .filter(|(n, _)| *n < FEW)
        .min_by_key(|(n, _)| *n)
    {
        return Ok(one_page(flags_by(store, f, Some(from), PAGE_ROWS)?));
    }
    if starts.is_empty() {
        return Ok(one_page(flags_by(store, f, None, PAGE_ROWS)?));
    }
    // A walk stops after the page; filters that together name few flags, though each names
    // many, can make it read every flag to fill one. It gets a budget, then the list reads
    // and sorts what its narrowest filter names instead.
    let walked = {
        let handle = store.conn().get_interrupt_handle();
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let timer = std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(WALK_BUDGET)
            {
                handle.interrupt();
            }
        });
        let walked = flags_by(store, f, None, PAGE_ROWS);
        drop(done);
        let _ = timer.join();
        walked
    };
    match walked {
        Ok(rows) => Ok(one_page(rows)),
        Err(StoreError::Sql(rusqlite::Error::SqliteFailure(e, _)))
            if e.code == rusqlite::ErrorCode::OperationInterrupted =>
        {
            let from = fallback_from(store, f)?;
            Ok(one_page(flags_by(store, f, Some(from), PAGE_ROWS)?))
        }
        Err(e) => Err(e),
    }
}

/// [`flags`]: reading and sorting the flags `few` starts from, or (`None`) walking them in
/// order; `page` rows from `f.offset`, and one more when there is a next page.
fn flags_by(
    store: &Store,
    f: &FlagFilter,
    few: Option<&str>,
    page: usize,
) -> Result<Vec<FlagRow>, StoreError> {
    let walk = few.is_none();
    let (wh, cond) = conditions(f);
    let and_wh = |extra: &str| -> String {
        let mut all: Vec<&str> = vec![extra];
        all.extend(wh.iter().copied());
        all.join(" AND ")
    };
    let end = (f.offset + page + 1) as i64;
    // Each part: (the SQL of its keys: nid, lk, rid, grp, k), its parameters.
    let keys = |from: &str, extra: &str, grp: i64, k: &str, order: &str, limit: bool| {
        format!(
            "SELECT * FROM (SELECT f.notice_id AS nid, f.lot_key AS lk, f.rule_id AS rid,
                    {grp} AS grp, {k} AS k
             FROM {from}
             {KEY_TABLES}
             WHERE {}{})",
            and_wh(extra),
            if limit {
                format!(" ORDER BY {order} LIMIT ?")
            } else {
                String::new()
            }
        )
    };
    let parts: Vec<String> = match (walk, f.sort) {
        (false, sort) => {
            let k = match sort {
                Sort::Date => DATE,
                Sort::Amount => AMOUNT,
                Sort::Price => PRICE,
            };
            vec![keys(
                &format!("{} {MATCH}", few.unwrap_or(ALL_FLAGS)),
                "1",
                0,
                k,
                "",
                false,
            )]
        }
        (true, Sort::Date) => vec![
            keys(
                NOTICES_BY_DATE,
                "n.published_at IS NOT NULL",
                0,
                "n.published_at",
                "n.published_at DESC, n.id DESC, f.lot_key, f.rule_id",
                true,
            ),
            keys(
                NOTICES_BY_DATE,
                "n.published_at IS NULL",
                0,
                "f.first_flagged_at",
                "f.first_flagged_at DESC, n.id DESC, f.lot_key, f.rule_id",
                true,
            ),
        ],
        (true, Sort::Amount) => vec![
            // lots with an amount of their own
            keys(
                LOTS_BY_AMOUNT,
                "l2.amount IS NOT NULL",
                0,
                "l2.amount",
                "l2.amount DESC, f.notice_id DESC, f.lot_key, f.rule_id",
                true,
            ),
            // the notice's amount: its own flags (one seek a notice: lot key 0)...
            keys(
                "notices n INDEXED BY notices_amount
                 CROSS JOIN flag_rows f ON f.notice_id = n.id AND f.lot_key = 0",
                "n.amount IS NOT NULL",
                0,
                "n.amount",
                "n.amount DESC, n.id DESC, f.lot_key, f.rule_id",
                true,
            ),
            // ...and its lots' that have no amount of their own
            keys(
                LOTS_BY_AMOUNT,
                "l2.amount IS NULL AND n.amount IS NOT NULL",
                0,
                "n.amount",
                "n.amount DESC, f.notice_id DESC, f.lot_key, f.rule_id",
                true,
            ),
            keys(
                "notices n INDEXED BY notices_amount CROSS JOIN flag_rows f ON f.notice_id = n.id",
                "n.amount IS NULL AND l.amount IS NULL",
                1,
                "NULL",
                "n.id DESC, f.lot_key, f.rule_id",
                true,
            ),
        ],
        (true, Sort::Price) => vec![
            keys(
                "matches mp INDEXED BY matches_priced
                 CROSS JOIN flag_rows f ON f.notice_id = mp.notice_id
                      AND f.lot_key = COALESCE(mp.lot_id, 0) AND f.rule_id = mp.rule_id
                      AND f.match_id = mp.id
                 CROSS JOIN notices n ON n.id = f.notice_id
                 JOIN matches m ON m.id = f.match_id",
                "mp.quota_sure = 1 AND mp.quota_count > 0 AND mp.retracted_at IS NULL
                 AND COALESCE(l.amount, n.amount) IS NOT NULL",
                0,
                PRICE,
                "k DESC, f.notice_id DESC, f.lot_key, f.rule_id",
                true,
            ),
            keys(
                &format!("flag_rows f CROSS JOIN notices n ON n.id = f.notice_id {MATCH}"),
                &format!("({PRICE}) IS NULL"),
                1,
                "NULL",
                "f.notice_id DESC, f.lot_key, f.rule_id",
                true,
            ),
        ],
    };
    let mut p: Vec<Value> = Vec::new();
    for _ in &parts {
        p.extend(cond.iter().cloned());
        if walk {
            p.push(Value::Integer(end));
        }
    }
    let sql = format!(
        "SELECT f.notice_id, n.number, l.number, n.title, f.rule_id,
                m.severity, m.evidence, n.published_at, f.first_flagged_at, {AMOUNT}, n.currency,
                {PRICE}, a.identifier, COALESCE(a.name_ru, a.name_kk, a.name_en), s.name,
                (SELECT v.verdict FROM verdicts v WHERE v.notice_id = f.notice_id
                 AND v.lot_key = f.lot_key AND v.rule_id = f.rule_id ORDER BY v.id DESC LIMIT 1),
                l.title
         FROM ({}) key
         CROSS JOIN flag_rows f ON f.notice_id = key.nid AND f.lot_key = key.lk AND f.rule_id = key.rid
         JOIN notices n ON n.id = f.notice_id
         JOIN sources s ON s.id = n.source_id
         {MATCH}
         {KEY_TABLES}
         ORDER BY key.grp, key.k IS NULL, key.k DESC, key.nid DESC, key.lk, key.rid
         LIMIT ? OFFSET ?",
        parts.join(" UNION ALL "),
    );
    p.push(Value::Integer(page as i64 + 1));
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
    Ok(rows)
}

/// The notice a page's path names: its internal id first (what every link of the web page
/// carries, so another notice's number or external id cannot shadow a link, and the
/// verdict form reaches the notice its page showed), else what `tenderscan show` takes.
pub fn notice_id(store: &Store, key: &str) -> Result<Option<i64>, StoreError> {
    if let Ok(id) = key.parse::<i64>()
        && id.to_string() == key
        && let Some(id) = store
            .conn()
            .query_row("SELECT id FROM notices WHERE id = ?1", [id], |r| r.get(0))
            .optional()?
    {
        return Ok(Some(id));
    }
    store.find_notice(key)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Severity;
    use crate::serve::testdata::{M, N, add};
    use crate::states::QuotaKind;

    /// A database with the cases the walk must get right: ties of date and amount, notices
    /// with no date or no amount, lots with and without their own amount, flags on a lot
    /// and on the notice, sure and unsure counts, several rules on one notice.
    fn varied() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("list.db")).unwrap();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |k: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % k
        };
        let agencies = [
            ("111111111111", "Акимат города"),
            ("222222222222", "Управление внутренней политики"),
        ];
        let rules = [
            "fake-accounts",
            "comment-quota",
            "smm-services",
            "paid-commenting",
        ];
        let severities = [Severity::Low, Severity::Medium, Severity::High];
        for i in 0..160 {
            let amount = match next(10) {
                0 => None,
                k => Some([100_000.0, 250_000.0, 1_000_000.0, 3_500_000.0][k as usize % 4]),
            };
            let published = match next(8) {
                0 => String::new(),
                k => format!("2025-0{}-1{}T04:00:00Z", 1 + k % 5, next(3)),
            };
            let lots: Vec<Option<f64>> = (0..next(3))
                .map(|_| {
                    (next(3) > 0).then(|| [50_000.0, 250_000.0, 5_000_000.0][next(3) as usize])
                })
                .collect();
            let has_lot = !lots.is_empty();
            let n = N {
                ext: format!("n{i}"),
                agency: Some(agencies[next(2) as usize]),
                amount,
                currency: "KZT",
                published,
                lots,
                supplier: None,
            };
            let found: Vec<M> = (0..next(3))
                .map(|_| M {
                    rule: rules[next(4) as usize],
                    severity: severities[next(3) as usize],
                    quota: match next(3) {
                        0 => None,
                        _ => Some((
                            QuotaKind::Comments,
                            [10, 100, 400][next(3) as usize],
                            next(2) == 0,
                        )),
                    },
                    on_lot: has_lot && next(2) == 0,
                })
                .collect();
            add(
                &mut s,
                if i % 5 == 0 { "prozorro" } else { "goszakup" },
                n,
                &found,
            );
        }
        (dir, s)
    }

    /// The flags of every page `read` gives, `page` rows a page, in order.
    fn pages(
        f: &FlagFilter,
        page: usize,
        mut read: impl FnMut(&FlagFilter) -> (Vec<FlagRow>, bool),
    ) -> Vec<(i64, Option<String>, String)> {
        let mut f = f.clone();
        let mut out = Vec::new();
        loop {
            let (rows, more) = read(&f);
            out.extend(
                rows.into_iter()
                    .map(|r| (r.notice_id, r.lot_number, r.rule_id)),
            );
            if !more {
                return out;
            }
            f.offset += page;
        }
    }

    /// Every page of the list walked in order (`walk`) or read whole and sorted.
    fn all_pages(
        s: &Store,
        f: &FlagFilter,
        walk: bool,
        page: usize,
    ) -> Vec<(i64, Option<String>, String)> {
        let few = if walk { None } else { Some(ALL_FLAGS) };
        pages(f, page, |g| {
            let mut rows = flags_by(s, g, few, page).unwrap();
            let more = rows.len() > page;
            rows.truncate(page);
            (rows, more)
        })
    }

    #[test]
    fn a_link_reaches_the_notice_it_names_though_another_has_that_number() {
        let (_d, s) = varied();
        // notice 7's number and notice 9's external id are "3": `show 3` finds notice 7 by
        // number, but the page's link /notice/3 means notice 3
        s.conn()
            .execute_batch(
                "UPDATE notices SET number = '3' WHERE id = 7;
                 UPDATE notices SET external_id = '4' WHERE id = 9;",
            )
            .unwrap();
        assert_eq!(s.find_notice("3").unwrap(), Some(7));
        assert_eq!(notice_id(&s, "3").unwrap(), Some(3));
        assert_eq!(s.find_notice("4").unwrap(), Some(9));
        assert_eq!(notice_id(&s, "4").unwrap(), Some(4));
        // what is no internal id is looked up as `show` does (the external id "n9" is the
        // tenth notice's); "03" is no id's spelling
        assert_eq!(notice_id(&s, "n9").unwrap(), Some(10));
        assert_eq!(notice_id(&s, "03").unwrap(), None);
        assert_eq!(notice_id(&s, "100000").unwrap(), None);
        assert_eq!(s.find_notice("12").unwrap(), Some(12));
    }

    #[test]
    fn walking_in_order_lists_what_sorting_lists_page_by_page() {
        let (_d, s) = varied();
        let total: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM flag_rows", [], |r| r.get(0))
            .unwrap();
        assert!(
            total > 2 * PAGE_ROWS as i64,
            "{total} flags: too few for pages"
        );
        let filters = [
            FlagFilter::default(),
            FlagFilter {
                min_rank: Some(3),
                ..Default::default()
            },
            FlagFilter {
                rule: Some("comment-quota".into()),
                ..Default::default()
            },
            FlagFilter {
                agency_bin: Some("222222222222".into()),
                source: Some("goszakup".into()),
                ..Default::default()
            },
            FlagFilter {
                since: Some("2025-02-01".into()),
                until: Some("2025-04-30".into()),
                ..Default::default()
            },
            FlagFilter {
                verdict: Some("none".into()),
                min_rank: Some(2),
                ..Default::default()
            },
        ];
        for base in filters {
            for sort in [Sort::Date, Sort::Amount, Sort::Price] {
                let f = FlagFilter {
                    sort,
                    ..base.clone()
                };
                let sorted = all_pages(&s, &f, false, PAGE_ROWS);
                assert!(!sorted.is_empty(), "{f:?} lists nothing");
                // what the list does: here every filter names few, through its own index
                let listed = pages(&f, PAGE_ROWS, |g| flags(&s, g).unwrap());
                assert_eq!(listed, sorted, "{f:?}, as listed");
                // pages of every size, so that a page ends inside each run of equal dates
                // and amounts
                for page in [1, 2, 3, 5, 7, PAGE_ROWS] {
                    let walked = all_pages(&s, &f, true, page);
                    assert_eq!(walked, sorted, "{f:?}, {page} a page");
                }
            }
        }
        // A source, an agency or a region the database does not have lists nothing.
        for f in [
            FlagFilter {
                region: Some("Nowhere".into()),
                ..Default::default()
            },
            FlagFilter {
                source: Some("nosuch".into()),
                ..Default::default()
            },
            FlagFilter {
                agency_bin: Some("000000000000".into()),
                ..Default::default()
            },
        ] {
            assert_eq!(flags(&s, &f).unwrap().0.len(), 0, "{f:?}");
            assert!(all_pages(&s, &f, true, PAGE_ROWS).is_empty(), "{f:?}");
        }
        // Every flag once in the unfiltered list, whichever the order.
        let all = all_pages(&s, &FlagFilter::default(), true, PAGE_ROWS);
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!((all.len() as i64, unique.len() as i64), (total, total));
    }
}
