//! Reading the store for people: full-text search and table exports.

use super::{Store, StoreError};
use rusqlite::types::Value;

/// One search hit.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Hit {
    /// "notice", "lot" or "document".
    pub kind: &'static str,
    pub notice_id: i64,
    pub notice_number: Option<String>,
    pub title: String,
    pub agency_name: Option<String>,
    pub url: Option<String>,
    /// The matched words in context, marked with « ».
    pub snippet: String,
    /// bm25: lower is better.
    pub rank: f64,
}

/// Tables `export` can write: (name, the publication date `--since` filters on, the column
/// `--seen-since` filters on). A row tied to a notice is dated by its notice's publication
/// (the first-seen time where the portal gave none); agencies, suppliers and runs, which have
/// no publication, by their own time. SQL over the table aliased `t`; constants, never input.
pub const EXPORT_TABLES: &[(&str, &str, &str)] = &[
    (
        "flags",
        "COALESCE(t.published_at, t.first_flagged_at)",
        "first_flagged_at",
    ),
    (
        "notices",
        "COALESCE(t.published_at, t.first_seen_at)",
        "first_seen_at",
    ),
    ("lots", BY_NOTICE, "first_seen_at"),
    ("agencies", "t.first_seen_at", "first_seen_at"),
    ("awards", BY_NOTICE, "first_seen_at"),
    ("supplier_awards", BY_NOTICE, "first_seen_at"),
    ("suppliers", "t.first_seen_at", "first_seen_at"),
    ("documents", BY_NOTICE, "first_seen_at"),
    ("matches", BY_NOTICE, "first_flagged_at"),
    ("notice_versions", BY_NOTICE, "seen_at"),
    ("evidence", BY_NOTICE, "first_fetched_at"),
    ("runs", "t.started_at", "started_at"),
];

/// The publication date of a row's notice.
const BY_NOTICE: &str =
    "(SELECT COALESCE(n.published_at, n.first_seen_at) FROM notices n WHERE n.id = t.notice_id)";

impl Store {
    /// Search notices, lots and documents with an FTS5 query; best first. The query's
    /// words must read Latin look-alike letters as Cyrillic, as the `*_sfts` indexes do
    /// ([`crate::report::fts_query`] does).
    pub fn search(&self, fts_query: &str, limit: usize) -> Result<Vec<Hit>, StoreError> {
        // The best `limit` of each index by bm25 first; snippets (which re-read and
        // tokenize the text) only for those, never for every hit.
        let sql = "
            WITH
            tn AS (SELECT rowid AS id, rank FROM notices_sfts WHERE notices_sfts MATCH ?1
                   ORDER BY rank LIMIT ?2),
            tl AS (SELECT rowid AS id, rank FROM lots_sfts WHERE lots_sfts MATCH ?1
                   ORDER BY rank LIMIT ?2),
            td AS (SELECT rowid AS id, rank FROM documents_sfts WHERE documents_sfts MATCH ?1
                   ORDER BY rank LIMIT ?2),
            best AS (SELECT 'notice' AS kind, id, rank FROM tn
                     UNION ALL SELECT 'lot', id, rank FROM tl
                     UNION ALL SELECT 'document', id, rank FROM td
                     ORDER BY rank LIMIT ?2)
            SELECT b.kind, n.id, n.number,
                   CASE b.kind WHEN 'lot' THEN COALESCE(l.title, n.title) ELSE n.title END,
                   COALESCE(a.name_ru, a.name_kk), n.url,
                   CASE b.kind
                     WHEN 'notice' THEN (SELECT snippet(notices_sfts, -1, '«', '»', '…', 16)
                                         FROM notices_sfts WHERE notices_sfts MATCH ?1 AND rowid = b.id)
                     WHEN 'lot' THEN (SELECT snippet(lots_sfts, -1, '«', '»', '…', 16)
                                      FROM lots_sfts WHERE lots_sfts MATCH ?1 AND rowid = b.id)
                     ELSE (SELECT snippet(documents_sfts, 1, '«', '»', '…', 16)
                           FROM documents_sfts WHERE documents_sfts MATCH ?1 AND rowid = b.id)
                   END,
                   b.rank
            FROM best b
            LEFT JOIN lots l ON b.kind = 'lot' AND l.id = b.id
            LEFT JOIN documents d ON b.kind = 'document' AND d.id = b.id
            JOIN notices n ON n.id = CASE b.kind WHEN 'notice' THEN b.id
                                                 WHEN 'lot' THEN l.notice_id
                                                 ELSE d.notice_id END
            LEFT JOIN agencies a ON a.id = n.agency_id
            ORDER BY b.rank";
        let mut stmt = self.conn.prepare(sql)?;
        let rows = stmt.query_map(rusqlite::params![fts_query, limit as i64], |r| {
            let kind: String = r.get(0)?;
            Ok(Hit {
                kind: match kind.as_str() {
                    "notice" => "notice",
                    "lot" => "lot",
                    _ => "document",
                },
                notice_id: r.get(1)?,
                notice_number: r.get(2)?,
                title: r.get(3)?,
                agency_name: r.get(4)?,
                url: r.get(5)?,
                snippet: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                rank: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The SQL that exports one of [`EXPORT_TABLES`], oldest first: `?1` the publication
    /// date, `?2` the first-seen date (each NULL for no filter).
    fn export_sql(table: &str) -> Result<String, StoreError> {
        let Some((name, published, seen)) = EXPORT_TABLES.iter().find(|(t, ..)| *t == table) else {
            return Err(StoreError::UnknownTable(format!(
                "no table {table:?} to export (tables: {})",
                EXPORT_TABLES
                    .iter()
                    .map(|(t, ..)| *t)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        // Table and column names come from the constant list above, never from input.
        let order = match *name {
            "flags" => "first_flagged_at, notice_number, lot_number, rule_id",
            "supplier_awards" => "award_id, supplier_scheme, supplier_id",
            _ => "t.rowid",
        };
        Ok(format!(
            "SELECT t.* FROM {name} AS t WHERE (?1 IS NULL OR {published} >= ?1) \
             AND (?2 IS NULL OR t.{seen} >= ?2) ORDER BY {order}"
        ))
    }

    /// The columns `export` writes for a table.
    pub fn export_columns(&self, table: &str) -> Result<Vec<String>, StoreError> {
        let stmt = self.conn.prepare(&Self::export_sql(table)?)?;
        Ok(stmt.column_names().map(str::to_string).collect())
    }

    /// Stream the rows of one of [`EXPORT_TABLES`] to `row`, oldest first; `since`
    /// (YYYY-MM-DD) keeps rows published on or after it, `seen_since` rows tenderscan
    /// first recorded on or after it. Returns how many rows.
    pub fn export(
        &self,
        table: &str,
        since: Option<&str>,
        seen_since: Option<&str>,
        row: &mut dyn FnMut(&[Value]) -> std::io::Result<()>,
    ) -> Result<u64, StoreError> {
        let mut stmt = self.conn.prepare(&Self::export_sql(table)?)?;
        let n_cols = stmt.column_count();
        let mut rows = stmt.query([since, seen_since])?;
        let mut n = 0u64;
        let mut buf = Vec::with_capacity(n_cols);
        while let Some(r) = rows.next()? {
            buf.clear();
            for i in 0..n_cols {
                buf.push(r.get::<_, Value>(i)?);
            }
            row(&buf).map_err(StoreError::Output)?;
            n += 1;
        }
        Ok(n)
    }
}
