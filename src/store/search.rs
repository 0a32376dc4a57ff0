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

/// Tables `export` can write, with the column `--since` filters on.
pub const EXPORT_TABLES: &[(&str, &str)] = &[
    ("flags", "first_flagged_at"),
    ("notices", "first_seen_at"),
    ("lots", "first_seen_at"),
    ("agencies", "first_seen_at"),
    ("documents", "first_seen_at"),
    ("matches", "first_flagged_at"),
    ("notice_versions", "seen_at"),
    ("evidence", "first_fetched_at"),
    ("runs", "started_at"),
];

impl Store {
    /// Search notices, lots and documents with an FTS5 query; best first.
    pub fn search(&self, fts_query: &str, limit: usize) -> Result<Vec<Hit>, StoreError> {
        let sql = "
            SELECT kind, notice_id, number, title, agency, url, snip, rank FROM (
                SELECT 'notice' AS kind, n.id AS notice_id, n.number, n.title,
                       COALESCE(a.name_ru, a.name_kk) AS agency, n.url,
                       snippet(notices_fts, -1, '«', '»', '…', 16) AS snip, bm25(notices_fts) AS rank
                FROM notices_fts JOIN notices n ON n.id = notices_fts.rowid
                LEFT JOIN agencies a ON a.id = n.agency_id
                WHERE notices_fts MATCH ?1
                UNION ALL
                SELECT 'lot', n.id, n.number, COALESCE(l.title, n.title),
                       COALESCE(a.name_ru, a.name_kk), n.url,
                       snippet(lots_fts, -1, '«', '»', '…', 16), bm25(lots_fts)
                FROM lots_fts JOIN lots l ON l.id = lots_fts.rowid
                JOIN notices n ON n.id = l.notice_id
                LEFT JOIN agencies a ON a.id = n.agency_id
                WHERE lots_fts MATCH ?1
                UNION ALL
                SELECT 'document', n.id, n.number, n.title,
                       COALESCE(a.name_ru, a.name_kk), n.url,
                       snippet(documents_fts, 1, '«', '»', '…', 16), bm25(documents_fts)
                FROM documents_fts JOIN documents d ON d.id = documents_fts.rowid
                JOIN notices n ON n.id = d.notice_id
                LEFT JOIN agencies a ON a.id = n.agency_id
                WHERE documents_fts MATCH ?1
            ) ORDER BY rank LIMIT ?2";
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

    /// The SQL that exports one of [`EXPORT_TABLES`], oldest first, `?1` the since date.
    fn export_sql(table: &str) -> Result<String, StoreError> {
        let Some((name, time_col)) = EXPORT_TABLES.iter().find(|(t, _)| *t == table) else {
            return Err(StoreError::UnknownTable(format!(
                "no table {table:?} to export (tables: {})",
                EXPORT_TABLES
                    .iter()
                    .map(|(t, _)| *t)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        // Table and column names come from the constant list above, never from input.
        let order = if *name == "flags" {
            "first_flagged_at, notice_number, lot_number, rule_id"
        } else {
            "rowid"
        };
        Ok(format!(
            "SELECT * FROM {name} WHERE (?1 IS NULL OR {time_col} >= ?1) ORDER BY {order}"
        ))
    }

    /// The columns `export` writes for a table.
    pub fn export_columns(&self, table: &str) -> Result<Vec<String>, StoreError> {
        let stmt = self.conn.prepare(&Self::export_sql(table)?)?;
        Ok(stmt.column_names().map(str::to_string).collect())
    }

    /// Stream the rows of one of [`EXPORT_TABLES`] to `row`, oldest first; `since`
    /// (YYYY-MM-DD) filters on the table's time column. Returns how many rows.
    pub fn export(
        &self,
        table: &str,
        since: Option<&str>,
        row: &mut dyn FnMut(&[Value]) -> std::io::Result<()>,
    ) -> Result<u64, StoreError> {
        let mut stmt = self.conn.prepare(&Self::export_sql(table)?)?;
        let n_cols = stmt.column_count();
        let mut rows = stmt.query([since])?;
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
