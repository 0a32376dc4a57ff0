//! The SQLite store: connection setup, numbered migrations, and typed queries.
//!
//! SQL lives here (and in `queries/`), nowhere else. Untrusted text only ever reaches
//! SQL as a bound parameter. States, kinds and targets are bound and read as the enums of
//! `crate::states` (a value the enum does not know is an error, never a guess); the
//! database checks the same sets (triggers of the `states` migration). The database runs in
//! WAL mode with a busy timeout and
//! foreign keys on; migrations are numbered SQL files applied in their numbers' order, each
//! in its own transaction, when the database is opened. Each applied migration is recorded
//! by number in `schema_migrations`, and `PRAGMA user_version` holds the highest number
//! applied: a number may be missing (a branch's migration not merged yet) and, once it
//! arrives, it is applied to the databases that lack it even though a later one already
//! ran, so migrations must not depend on ones numbered between them and their base.

mod alerts;
mod backfill;
mod currency;
mod evidence;
mod health;
pub mod history;
mod matches;
mod notices;
mod runs;
mod scans;
mod search;
mod verdicts;
mod watches;

pub use alerts::{
    AlertItem, ChangeItem, DigestContent, FailingSource, Recovered, StaleFailures, StoredDigest,
    UnconfirmedDigest,
};
pub use backfill::{Backfill, BackfillStatus};
pub use evidence::{
    EvidenceGap, EvidenceRow, NewEvidence, NoticeView, RecordEvidence, ShowAward, ShowDocument,
    ShowLot, ShowMatch, ShowPlanLink, ShowSupplier, ShowVersion,
};
pub use health::{RecipientAlerts, UnreadDocuments};
pub use matches::{NewMatch, Routable, ScanInput, ScanOutcome, ScanTarget};
pub use notices::{
    DocumentContent, PageOutcome, PendingDocument, ReadMarks, StaleRead, sha256_hex,
};
pub use runs::RunCounts;
pub use scans::{OcrCounts, UnreadScan};
pub use search::{EXPORT_TABLES, Hit};
pub use verdicts::{FlagReview, ReviewError, VerdictInput};
pub use watches::{WatchEvent, WatchItem, WatchTarget, Watched};

use rusqlite::{Connection, OpenFlags, params};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The migrations, in order; migration `i` (0-based) brings the schema to version `i + 1`.
const MIGRATIONS: &[(&str, &str)] = &[
    ("001_core", include_str!("migrations/001_core.sql")),
    (
        "002_matches_runs_alerts",
        include_str!("migrations/002_matches_runs_alerts.sql"),
    ),
    ("003_fulltext", include_str!("migrations/003_fulltext.sql")),
    ("004_alerts", include_str!("migrations/004_alerts.sql")),
    ("005_evidence", include_str!("migrations/005_evidence.sql")),
    ("006_currency", include_str!("migrations/006_currency.sql")),
    (
        "007_flag_rows",
        include_str!("migrations/007_flag_rows.sql"),
    ),
    ("008_indexes", include_str!("migrations/008_indexes.sql")),
    ("009_awards", include_str!("migrations/009_awards.sql")),
    (
        "010_flag_rows_when",
        include_str!("migrations/010_flag_rows_when.sql"),
    ),
    (
        "011_document_reading",
        include_str!("migrations/011_document_reading.sql"),
    ),
    (
        "012_evidence_kept",
        include_str!("migrations/012_evidence_kept.sql"),
    ),
    ("013_states", include_str!("migrations/013_states.sql")),
    ("014_ocr", include_str!("migrations/014_ocr.sql")),
    (
        "015_watch_alerts",
        include_str!("migrations/015_watch_alerts.sql"),
    ),
    (
        "016_plans_backfill",
        include_str!("migrations/016_plans_backfill.sql"),
    ),
    (
        "017_search_lookalikes",
        include_str!("migrations/017_search_lookalikes.sql"),
    ),
    (
        "018_match_reasons",
        include_str!("migrations/018_match_reasons.sql"),
    ),
    (
        "019_digest_provenance_and_slots",
        include_str!("migrations/019_digest_provenance_and_slots.sql"),
    ),
    ("020_verdicts", include_str!("migrations/020_verdicts.sql")),
    (
        "021_list_indexes",
        include_str!("migrations/021_list_indexes.sql"),
    ),
];

/// The number of a migration: the digits its name starts with ("016_plans" is 16).
const fn migration_number(name: &str) -> i64 {
    let b = name.as_bytes();
    let mut i = 0;
    let mut n = 0i64;
    while i < b.len() && b[i].is_ascii_digit() {
        n = n * 10 + (b[i] - b'0') as i64;
        i += 1;
    }
    n
}

/// The schema version this build writes: the number of its last migration.
pub const SCHEMA_VERSION: i64 = migration_number(MIGRATIONS[MIGRATIONS.len() - 1].0);

/// The tables `status` counts, in the order it shows them.
pub const TABLES: &[&str] = &[
    "sources",
    "agencies",
    "notices",
    "notice_versions",
    "lots",
    "documents",
    "evidence",
    "matches",
    "awards",
    "suppliers",
    "alerts",
    "digests",
    "runs",
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("database {path}: cannot create its folder: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database {path}: migration {name} failed: {source}")]
    Migration {
        path: PathBuf,
        name: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "database {path}: schema version {found} is newer than this build understands ({SCHEMA_VERSION}); upgrade tenderscan"
    )]
    TooNew { path: PathBuf, found: i64 },
    #[error("database query failed: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{0}")]
    UnknownTable(String),
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
}

/// An open, migrated database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

pub use crate::stamp::{format_time, now};

/// One row of `runs`, as `status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunSummary {
    pub id: i64,
    pub command: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: crate::states::RunStatus,
    pub notices_new: i64,
    pub notices_changed: i64,
    pub documents: i64,
    pub matches: i64,
    pub alerts_sent: i64,
    pub errors: i64,
}

/// A source's health, as `status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceHealth {
    pub name: String,
    pub kind: String,
    pub last_success_at: Option<String>,
    pub consecutive_failures: i64,
    pub last_error: Option<String>,
    pub cursor_updated_at: Option<String>,
    /// The portal is refusing it: its last run failed on HTTP 403 or 500 (after the long
    /// back-off's retries), as goszakup does for a while, or on a refusal no retry passes
    /// (Samruk's gateway without its browser-minted signature).
    pub refused: bool,
}

/// Whether a source's last error is the portal refusing it (HTTP 403 or 500, or "the portal
/// refused:", the words of a source refused in a way no retry passes).
fn is_refused(last_error: Option<&str>) -> bool {
    last_error.is_some_and(|e| {
        e.contains(": HTTP 403") || e.contains(": HTTP 500") || e.contains("the portal refused:")
    })
}

impl Store {
    /// Open (creating if needed) and migrate the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Folder {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(open_err)?;
        configure(&conn).map_err(open_err)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A second connection to this database, for marking documents as being read (see
    /// [`ReadMarks`]).
    pub fn read_marks(&self) -> Result<ReadMarks, StoreError> {
        let open_err = |source| StoreError::Open {
            path: self.path.clone(),
            source,
        };
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(open_err)?;
        configure(&conn).map_err(open_err)?;
        Ok(ReadMarks::new(conn))
    }

    /// The underlying connection, for the store's sibling modules and tests.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Run `f` in one write transaction: for many small writes in a row (a scan of
    /// thousands of notices), far cheaper than a transaction each. Writes that use
    /// savepoints (`record_scan`) join it; on an error everything in it is rolled back.
    pub fn batch<T>(
        &mut self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        migrate_to(&mut self.conn, &self.path, SCHEMA_VERSION)
    }

    /// Rows per table, in the order of [`TABLES`].
    pub fn table_counts(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        TABLES
            .iter()
            .map(|t| {
                // Table names come from the constant above, never from input.
                let n: i64 =
                    self.conn
                        .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))?;
                Ok((*t, n))
            })
            .collect()
    }

    /// The most recent runs, newest first.
    pub fn recent_runs(&self, limit: usize) -> Result<Vec<RunSummary>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, command, started_at, finished_at, status, notices_new, notices_changed,
                    documents, matches, alerts_sent, errors
             FROM runs ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            Ok(RunSummary {
                id: r.get(0)?,
                command: r.get(1)?,
                started_at: r.get(2)?,
                finished_at: r.get(3)?,
                status: r.get(4)?,
                notices_new: r.get(5)?,
                notices_changed: r.get(6)?,
                documents: r.get(7)?,
                matches: r.get(8)?,
                alerts_sent: r.get(9)?,
                errors: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every source the database knows, with its health.
    pub fn source_health(&self) -> Result<Vec<SourceHealth>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT name, kind, last_success_at, consecutive_failures, last_error, cursor_updated_at
             FROM sources ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| {
            let consecutive_failures: i64 = r.get(3)?;
            let last_error: Option<String> = r.get(4)?;
            Ok(SourceHealth {
                name: r.get(0)?,
                kind: r.get(1)?,
                last_success_at: r.get(2)?,
                refused: consecutive_failures > 0 && is_refused(last_error.as_deref()),
                consecutive_failures,
                last_error,
                cursor_updated_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Apply the migrations numbered up to `target` that the database lacks, in order.
fn migrate_to(conn: &mut Connection, path: &Path, target: i64) -> Result<(), StoreError> {
    migrate_list(conn, path, MIGRATIONS, target)
}

/// [`migrate_to`] over a given list (the tests' lists have gaps).
fn migrate_list(
    conn: &mut Connection,
    path: &Path,
    list: &[(&'static str, &'static str)],
    target: i64,
) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let newest = list.last().map_or(0, |(n, _)| migration_number(n));
    if found > newest {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
        });
    }
    let record_err = |source| StoreError::Migration {
        path: path.to_path_buf(),
        name: "schema_migrations",
        source,
    };
    {
        // The record of applied migrations. A database from before it was kept had every
        // migration up to its user_version applied (their numbers ran without gaps then).
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(record_err)?;
        let exists: bool = tx
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
                [],
                |r| r.get(0),
            )
            .map_err(record_err)?;
        if !exists {
            let version: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(record_err)?;
            tx.execute_batch(
                "CREATE TABLE schema_migrations (
                     number     INTEGER PRIMARY KEY,
                     name       TEXT NOT NULL,
                     applied_at TEXT NOT NULL
                 )",
            )
            .map_err(record_err)?;
            tx.execute(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?1)
                 INSERT INTO schema_migrations (number, name, applied_at)
                 SELECT x, 'before schema_migrations', ?2 FROM n WHERE ?1 > 0",
                params![version, now()],
            )
            .map_err(record_err)?;
        }
        tx.commit().map_err(record_err)?;
    }
    for (name, sql) in list {
        let number = migration_number(name);
        if number > target {
            continue;
        }
        let fail = |source| StoreError::Migration {
            path: path.to_path_buf(),
            name,
            source,
        };
        // IMMEDIATE: a second process opening at the same moment waits for this one,
        // then sees the migration recorded and skips it.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(fail)?;
        let applied: bool = tx
            .query_row(
                "SELECT count(*) > 0 FROM schema_migrations WHERE number = ?1",
                [number],
                |r| r.get(0),
            )
            .map_err(fail)?;
        if applied {
            continue;
        }
        tx.execute_batch(sql).map_err(fail)?;
        tx.execute(
            "INSERT INTO schema_migrations (number, name, applied_at) VALUES (?1, ?2, ?3)",
            params![number, name, now()],
        )
        .map_err(fail)?;
        let current: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(fail)?;
        tx.pragma_update(None, "user_version", current.max(number))
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        tracing::info!(migration = name, number, "database migrated");
    }
    Ok(())
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(Duration::from_secs(30))?;
    // journal_mode returns a row; WAL persists in the file once set. Switching a new file to
    // WAL while another process opens it at the same moment can answer SQLITE_BUSY without
    // calling the busy handler: try again for as long as the busy timeout would have waited.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
            Ok(_) => break,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
    conn.execute_batch(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = NORMAL;",
    )?;
    // (temp_store stays FILE: MEMORY saved the scan's savepoint journal a pwrite per page,
    // but made the large sorts of reports and search at a million notices 30-70 % slower.)
    // Plans that do not depend on the values bound. Without this, a term like `x = ?1`
    // or `LIMIT ?4` marks the statement for re-preparing when its parameter changes, and
    // rusqlite's statement cache clears the bindings of every statement it hands back, so
    // each cached statement was parsed and planned again on every use: a quarter of a
    // `scan --all` went to the SQL parser.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        let mut last = 0;
        for (name, _) in MIGRATIONS {
            let n = migration_number(name);
            assert!(
                name.starts_with(&format!("{n:03}_")),
                "{name} should start with three digits and _"
            );
            assert!(n > last, "{name} should come after {last:03}");
            last = n;
        }
    }

    /// A migration numbered below one a database already has (another branch's, merged
    /// later) is still applied to it, once; a database from before the record of applied
    /// migrations counts every migration up to its user_version as applied.
    #[test]
    fn a_migration_merged_later_is_applied_below_a_newer_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gap.db");
        let mut conn = Connection::open(&path).unwrap();
        configure(&conn).unwrap();
        let early: &[(&str, &str)] = &[
            ("001_a", "CREATE TABLE a (x);"),
            ("003_c", "CREATE TABLE c (x);"),
        ];
        migrate_list(&mut conn, &path, early, 3).unwrap();
        let later: &[(&str, &str)] = &[
            ("001_a", "CREATE TABLE a (x);"),
            ("002_b", "CREATE TABLE b (x); INSERT INTO b VALUES (1);"),
            ("003_c", "CREATE TABLE c (x);"),
        ];
        migrate_list(&mut conn, &path, later, 3).unwrap();
        migrate_list(&mut conn, &path, later, 3).unwrap();
        let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(one("SELECT count(*) FROM b"), 1);
        assert_eq!(one("PRAGMA user_version"), 3);
        assert_eq!(
            one("SELECT CAST(group_concat(number, '') AS INTEGER) FROM schema_migrations"),
            123
        );
        // A database of the numbered-by-position days: user_version 2, no record.
        let old = dir.path().join("old.db");
        let mut conn = Connection::open(&old).unwrap();
        conn.execute_batch("CREATE TABLE a (x); CREATE TABLE b (x); PRAGMA user_version = 2;")
            .unwrap();
        migrate_list(&mut conn, &old, later, 3).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('a', 'b', 'c')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 3);
    }

    /// A database left at each older version by an earlier build is brought forward
    /// without losing its rows.
    #[test]
    fn older_versions_migrate_forward_keeping_rows() {
        let numbers: Vec<i64> = MIGRATIONS
            .iter()
            .map(|(n, _)| migration_number(n))
            .collect();
        for &start in &numbers[..numbers.len() - 1] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("old.db");
            {
                let mut conn = Connection::open(&path).unwrap();
                configure(&conn).unwrap();
                migrate_to(&mut conn, &path, start).unwrap();
                let v: i64 = conn
                    .query_row("PRAGMA user_version", [], |r| r.get(0))
                    .unwrap();
                assert_eq!(v, start);
                conn.execute_batch(
                    "INSERT INTO sources (name, kind, url, created_at) VALUES ('g', 'goszakup', 'https://x', '2026-01-01T00:00:00Z');
                     INSERT INTO agencies (identifier, name_ru, first_seen_at, last_seen_at) VALUES ('000140000123', 'Акимат', 't', 't');
                     INSERT INTO notices (source_id, external_id, number, title, agency_id, amount, currency, first_seen_at, last_seen_at)
                         VALUES (1, '42', '42-1', 'Услуги SMM', 1, 1300000, 'KZT', 't', 't');
                     INSERT INTO lots (notice_id, external_id, number, title, first_seen_at, last_seen_at) VALUES (1, '7', '7-ЗЦП1', 'Лот', 't', 't');",
                )
                .unwrap();
            }
            let store = Store::open(&path).unwrap();
            assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
            let (title, bin): (String, String) = store
                .conn()
                .query_row(
                    "SELECT n.title, a.identifier FROM notices n JOIN agencies a ON a.id = n.agency_id",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            assert_eq!(title, "Услуги SMM");
            assert_eq!(bin, "000140000123");
            let lots: i64 = store
                .conn()
                .query_row("SELECT count(*) FROM lots", [], |r| r.get(0))
                .unwrap();
            assert_eq!(lots, 1, "from version {start}");
        }
    }

    /// Flagged notices and documents a run before 011 left without evidence (a full
    /// evidence disk was silent then) are marked by the migration, and such a document is
    /// pending again so that the next run keeps it; nothing else is touched.
    #[test]
    fn flagged_notices_left_without_evidence_are_marked_by_migration_12() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            configure(&conn).unwrap();
            migrate_to(&mut conn, &path, 10).unwrap();
            conn.execute_batch(
                "INSERT INTO sources (name, kind, url, created_at) VALUES ('g', 'goszakup', 'https://x', 't');
                 INSERT INTO notices (id, source_id, external_id, title, first_seen_at, last_seen_at) VALUES
                     (1, 1, 'lost', 'flagged, evidence lost', 't', 't'),
                     (2, 1, 'kept', 'flagged, evidence kept', 't', 't'),
                     (3, 1, 'plain', 'never flagged', 't', 't');
                 INSERT INTO documents (id, notice_id, url, sha256, text, fetched_at, first_seen_at) VALUES
                     (1, 1, 'https://f/1', 'aa', 'фейковых аккаунтов', 't', 't'),
                     (2, 2, 'https://f/2', 'bb', 'фейковых аккаунтов', 't', 't'),
                     (3, 3, 'https://f/3', 'cc', 'бумага', 't', 't');
                 INSERT INTO evidence (notice_id, document_id, kind, url, sha256, size, stored_size, first_fetched_at, last_fetched_at) VALUES
                     (2, NULL, 'notice', 'https://p/2', 'b0', 1, 1, 't', 't'),
                     (2, 2, 'document', 'https://f/2', 'bb', 1, 1, 't', 't');
                 INSERT INTO matches (notice_id, document_id, target, rule_id, severity, severity_rank, score, evidence,
                         evidence_start, match_start, match_end, ruleset_version, first_flagged_at, last_seen_at) VALUES
                     (1, 1, 'document:1', 'fake-accounts', 'high', 3, 1.0, 'e', 0, 0, 1, 'r', 't', 't'),
                     (2, 2, 'document:2', 'fake-accounts', 'high', 3, 1.0, 'e', 0, 0, 1, 'r', 't', 't');",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let ids = |sql: &str| -> Vec<i64> {
            let mut stmt = store.conn().prepare(sql).unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(
            ids("SELECT id FROM notices WHERE evidence_missing_at IS NOT NULL"),
            [1]
        );
        assert_eq!(
            ids(
                "SELECT id FROM documents WHERE evidence_missing_at IS NOT NULL AND fetched_at IS NULL"
            ),
            [1]
        );
        assert_eq!(
            ids("SELECT id FROM documents WHERE fetched_at = 't'"),
            [2, 3]
        );
        let (gaps, notices, documents) = store.evidence_gaps(None, 10).unwrap();
        assert_eq!((notices, documents), (2, 2), "{gaps:?}");
    }

    /// A notice with a lot, a document and a match, as every version's schema holds them.
    const BASE_ROWS: &str = "
        INSERT INTO sources (id, name, kind, url, created_at) VALUES (1, 'g', 'goszakup', 'https://x', 't');
        INSERT INTO notices (id, source_id, external_id, number, title, first_seen_at, last_seen_at)
            VALUES (1, 1, '42', '42-1', 'Услуги SMM', 't', 't');
        INSERT INTO lots (id, notice_id, external_id, first_seen_at, last_seen_at) VALUES (1, 1, '7', 't', 't');
        INSERT INTO documents (id, notice_id, url, first_seen_at) VALUES (1, 1, 'https://x/1', 't');
        INSERT INTO matches (id, notice_id, target, rule_id, severity, severity_rank, score, evidence,
                             evidence_start, match_start, match_end, quota_kind, quota_count,
                             quota_period, ruleset_version, first_flagged_at, last_seen_at)
            VALUES (1, 1, 'document:1', 'fake-accounts', 'high', 3, 1, 'фейковых аккаунтов',
                    0, 0, 10, 'accounts', 4, 'day', 'v', 't', 't');
        INSERT INTO alerts (id, recipient, kind, match_id, notice_id, dedupe_key, status, created_at)
            VALUES (1, 'a@x.kz', 'match', 1, 1, 'k1', 'sent', 't');";

    /// The text of an abort the database raised.
    fn refusal(r: rusqlite::Result<usize>) -> String {
        match r {
            Err(rusqlite::Error::SqliteFailure(e, Some(msg)))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                msg
            }
            other => panic!("expected the database to refuse: {other:?}"),
        }
    }

    /// Each closed set's column takes every value of its enum and refuses anything else,
    /// on INSERT and on UPDATE, whoever writes it.
    #[test]
    fn the_database_refuses_values_outside_each_closed_set() {
        use crate::model::Severity;
        use crate::states::*;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let conn = store.conn();
        conn.execute_batch(BASE_ROWS).unwrap();
        conn.execute_batch(
            "INSERT INTO digests (id, recipient, message_id, subject, created_at) VALUES (1, 'a@x.kz', '<1@x>', 's', 't');
             INSERT INTO runs (id, command, started_at) VALUES (1, 'run', 't');",
        )
        .unwrap();
        fn texts<T: std::fmt::Display>(all: &[T]) -> Vec<String> {
            all.iter().map(ToString::to_string).collect()
        }
        let targets = texts(&[Target::Notice(1), Target::Lot(1), Target::Document(1)]);
        // (table, column, every value of the enum, what the refusal says)
        let sets: Vec<(&str, &str, Vec<String>, &str)> = vec![
            (
                "alerts",
                "status",
                texts(&AlertStatus::ALL),
                "alerts.status must be pending, queued, sent or baseline",
            ),
            (
                "alerts",
                "kind",
                texts(&[AlertKind::Match, AlertKind::Operator, AlertKind::Watch]),
                "alerts.kind must be match, changed, operator or watch",
            ),
            (
                "digests",
                "status",
                texts(&DigestStatus::ALL),
                "digests.status must be queued, sending, sent, failed or unconfirmed",
            ),
            (
                "digests",
                "kind",
                texts(&DigestKind::ALL),
                "digests.kind must be digest or operator",
            ),
            (
                "runs",
                "status",
                texts(&RunStatus::ALL),
                "runs.status must be running, ok, partial, failed, interrupted or killed",
            ),
            (
                "matches",
                "target",
                targets,
                "matches.target must be notice:ID, lot:ID or document:ID",
            ),
            (
                "matches",
                "severity",
                texts(&Severity::ALL),
                "matches.severity must be low, medium or high",
            ),
            (
                "matches",
                "quota_kind",
                texts(&QuotaKind::ALL),
                "matches.quota_kind must be",
            ),
            (
                "matches",
                "quota_period",
                texts(&Period::ALL),
                "matches.quota_period must be",
            ),
        ];
        for (table, column, values, says) in &sets {
            // Names from the list above, never from input.
            let update = format!("UPDATE {table} SET {column} = ?1 WHERE id = 1");
            for v in values {
                assert_eq!(
                    conn.execute(&update, [v]).unwrap(),
                    1,
                    "{table}.{column} = {v}"
                );
            }
            for bad in [
                "bogus",
                "",
                "PENDING",
                "Sent",
                "notice:",
                "notice:1x",
                "lot:-1",
                "page:1",
                "sent ",
            ] {
                if values.iter().any(|v| v == bad) {
                    continue;
                }
                let msg = refusal(conn.execute(&update, [bad]));
                assert!(msg.contains(says), "{table}.{column} = {bad:?}: {msg}");
            }
            let msg = refusal(conn.execute(&update, [7]));
            assert!(msg.contains(says), "{table}.{column} = 7: {msg}");
        }
        // NULL stays allowed where the column allows it.
        conn.execute(
            "UPDATE matches SET quota_kind = NULL, quota_period = NULL WHERE id = 1",
            [],
        )
        .unwrap();

        // On INSERT too: an out-of-set status never gets in.
        let msg = refusal(conn.execute(
            "INSERT INTO alerts (recipient, kind, notice_id, dedupe_key, status, created_at)
             VALUES ('a@x.kz', 'match', 1, 'k2', 'delivered', 't')",
            [],
        ));
        assert!(msg.contains("alerts.status must be"), "{msg}");
        let msg = refusal(conn.execute(
            "INSERT INTO digests (recipient, message_id, subject, status, created_at)
             VALUES ('a@x.kz', '<2@x>', 's', 'lost', 't')",
            [],
        ));
        assert!(msg.contains("digests.status must be"), "{msg}");
        let msg = refusal(conn.execute(
            "INSERT INTO runs (command, started_at, status) VALUES ('run', 't', 'crashed')",
            [],
        ));
        assert!(msg.contains("runs.status must be"), "{msg}");
        let msg = refusal(conn.execute(
            "INSERT INTO matches (notice_id, target, rule_id, severity, severity_rank, score, evidence,
                                  evidence_start, match_start, match_end, ruleset_version,
                                  first_flagged_at, last_seen_at)
             VALUES (1, 'notice 1', 'r', 'low', 1, 1, 'e', 0, 0, 1, 'v', 't', 't')",
            [],
        ));
        assert!(msg.contains("matches.target must be"), "{msg}");
        let counts: (i64, i64, i64, i64) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM digests),
                        (SELECT count(*) FROM runs), (SELECT count(*) FROM matches)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(counts, (1, 1, 1, 1), "nothing refused was written");

        // A `changed` alert's events: each of a known type.
        let changed = |payload: &str| {
            conn.execute(
                "INSERT INTO alerts (recipient, kind, notice_id, dedupe_key, payload, status, created_at)
                 VALUES ('a@x.kz', 'changed', 1, ?1, ?2, 'pending', 't')",
                params![format!("c{}", rand::random::<u64>()), payload],
            )
        };
        for t in ChangeEvent::TYPES {
            changed(&format!(
                r#"{{"events": [{{"type": "{t}", "at": "t"}}], "keys": []}}"#
            ))
            .unwrap();
        }
        for bad in [
            r#"{"events": [{"type": "moved", "at": "t"}], "keys": []}"#,
            r#"{"events": [{"at": "t"}], "keys": []}"#,
            r#"{"events": ["changed"], "keys": []}"#,
            r#"{"events": {"type": "changed"}}"#,
            r#"{"keys": []}"#,
            "not json",
        ] {
            let msg = refusal(changed(bad));
            assert!(
                msg.contains("alerts.payload of a changed alert"),
                "{bad}: {msg}"
            );
        }
        let msg = refusal(conn.execute(
            "UPDATE alerts SET payload = json_insert(payload, '$.events[#]', json('{\"type\": \"moved\"}'))
             WHERE kind = 'changed'",
            [],
        ));
        assert!(msg.contains("alerts.payload of a changed alert"), "{msg}");
    }

    /// A database from before the `states` migration keeps its rows of every state; they read back typed, and
    /// from then on the checks hold. A value no build writes, left from before, is a clear
    /// error when read, not a panic or a guess.
    #[test]
    fn states_written_before_the_checks_read_back_typed() {
        use crate::states::*;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            configure(&conn).unwrap();
            // The version just before the `states` migration, whatever its number.
            let before = MIGRATIONS
                .iter()
                .position(|(name, _)| name.ends_with("_states"))
                .unwrap() as i64;
            migrate_to(&mut conn, &path, before).unwrap();
            conn.execute_batch(BASE_ROWS).unwrap();
            // Both forms of a version's changes: field names (the first builds), and the
            // differences themselves.
            conn.execute_batch(
                r#"INSERT INTO notice_versions (notice_id, version, seen_at, changes, snapshot)
                   VALUES (1, 1, 't', NULL, '{}'), (1, 2, 't', '["amount","title"]', '{}'),
                          (1, 3, 't', '[{"field":"amount","change":"changed"}]', '{}');"#,
            )
            .unwrap();
            let mut digest = conn
                .prepare(
                    "INSERT INTO digests (recipient, message_id, subject, status, kind, created_at)
                     VALUES ('a@x.kz', ?1, 's', ?2, ?3, 't')",
                )
                .unwrap();
            for (i, s) in DigestStatus::ALL.iter().enumerate() {
                for k in DigestKind::ALL {
                    digest
                        .execute(params![format!("<{i}.{k}@x>"), s.as_str(), k.as_str()])
                        .unwrap();
                }
            }
            drop(digest);
            for s in RunStatus::ALL {
                conn.execute(
                    "INSERT INTO runs (command, started_at, status) VALUES ('run', 't', ?1)",
                    [s.as_str()],
                )
                .unwrap();
            }
            let events = serde_json::json!({"events": [
                {"type": "changed", "at": "2026-11-28T10:00:00Z", "version": 2, "changes": [
                    {"field": "amount", "change": "changed", "old": 1300000.0, "new": 900000.0}]},
                {"type": "phrase_removed", "at": "t", "rule_id": "fake-accounts", "phrase": "p",
                 "evidence": "e", "place": "lot", "document": null},
                {"type": "cancelled", "at": "t", "status": "Отменено", "status_code": "430"},
                {"type": "gone", "at": "t", "how": "HTTP 404"}], "keys": ["k"]});
            conn.execute(
                "INSERT INTO alerts (recipient, kind, notice_id, dedupe_key, payload, status, created_at)
                 VALUES ('a@x.kz', 'changed', 1, 'changed:1:v2', ?1, 'pending', 't')",
                [events.to_string()],
            )
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let runs: Vec<RunStatus> = store
            .recent_runs(100)
            .unwrap()
            .into_iter()
            .rev()
            .map(|r| r.status)
            .collect();
        assert_eq!(runs, RunStatus::ALL);
        let unconfirmed = store.unconfirmed_digests().unwrap();
        assert_eq!(
            unconfirmed.iter().map(|d| d.kind).collect::<Vec<_>>(),
            DigestKind::ALL
        );
        let mut seen = Vec::new();
        for id in 1..=(DigestStatus::ALL.len() * DigestKind::ALL.len()) as i64 {
            seen.push(store.digest(id).unwrap().unwrap().status);
        }
        seen.dedup();
        assert_eq!(seen, DigestStatus::ALL);
        let changes = store.pending_changes("a@x.kz").unwrap();
        let types: Vec<&str> = changes[0]
            .events
            .iter()
            .map(ChangeEvent::type_str)
            .collect();
        assert_eq!(types, ChangeEvent::TYPES);
        assert!(matches!(
            &changes[0].events[1],
            ChangeEvent::PhraseRemoved {
                place: Place::Lot,
                document: None,
                ..
            }
        ));
        let view = store.notice_view(1).unwrap().unwrap();
        assert_eq!(view.matches[0].target, Target::Document(1));
        assert_eq!(view.matches[0].quota_kind, Some(QuotaKind::Accounts));
        assert_eq!(view.matches[0].quota_period, Some(Period::Day));
        let versions: Vec<Option<VersionChanges>> =
            view.versions.iter().map(|v| v.changes.clone()).collect();
        assert_eq!(
            versions,
            [
                None,
                Some(VersionChanges::Named(vec!["amount".into(), "title".into()])),
                Some(VersionChanges::Fields(vec![FieldChange {
                    field: "amount".into(),
                    change: Change::Changed,
                    name: None,
                    detail: None,
                    old: None,
                    new: None,
                }])),
            ]
        );

        // From then on, the database refuses what the enums do not know.
        let msg = refusal(
            store
                .conn()
                .execute("UPDATE runs SET status = 'crashed' WHERE id = 1", []),
        );
        assert!(msg.contains("runs.status must be"), "{msg}");

        // A value left from before the checks (no build wrote one; a hand edit could):
        // reading it names it.
        store
            .conn_mut()
            .execute_batch(
                "DROP TRIGGER runs_check_update;
                 UPDATE runs SET status = 'crashed' WHERE id = 1;
                 DROP TRIGGER alerts_check_payload;
                 UPDATE alerts SET payload = '{\"events\": [{\"type\": \"moved\", \"at\": \"t\"}]}' WHERE kind = 'changed';",
            )
            .unwrap();
        let e = store.recent_runs(100).unwrap_err().to_string();
        assert!(e.contains("unknown run status \"crashed\""), "{e}");
        let e = store.pending_changes("a@x.kz").unwrap_err().to_string();
        assert!(e.contains("alert 2: payload") && e.contains("moved"), "{e}");
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                .unwrap();
        }
        let err = Store::open(&path).err().expect("must refuse");
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    }

    #[test]
    fn wal_and_foreign_keys_are_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        let mode: String = store
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    }
}
