//! The SQLite store: connection setup, numbered migrations, and typed queries.
//!
//! SQL lives here (and in `queries/`), nowhere else. Untrusted text only ever reaches
//! SQL as a bound parameter. The database runs in WAL mode with a busy timeout and
//! foreign keys on; migrations are numbered SQL files recorded in `PRAGMA user_version`
//! and applied, each in its own transaction, when the database is opened.

mod alerts;
mod currency;
mod evidence;
pub mod history;
mod matches;
mod notices;
mod runs;
mod scans;
mod search;

pub use alerts::{
    AlertItem, ChangeItem, DigestContent, FailingSource, Recovered, StaleFailures, StoredDigest,
    UnconfirmedDigest,
};
pub use evidence::{
    EvidenceRow, NewEvidence, NoticeView, ShowAward, ShowDocument, ShowLot, ShowMatch,
    ShowSupplier, ShowVersion,
};
pub use matches::{NewMatch, Routable, ScanInput, ScanOutcome, ScanTarget};
pub use notices::{
    DocumentContent, PageOutcome, PendingDocument, ReadMarks, StaleRead, sha256_hex,
};
pub use runs::RunCounts;
pub use scans::{OcrCounts, UnreadScan};
pub use search::{EXPORT_TABLES, Hit};

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
    // The next number on this branch; main has 012_evidence_kept: renumber this 013 at merge.
    ("012_ocr", include_str!("migrations/012_ocr.sql")),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

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

/// The current UTC time as stored ("2026-11-28T13:11:00Z").
pub fn now() -> String {
    format_time(chrono::Utc::now())
}

/// A UTC time in the stored form.
pub fn format_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One row of `runs`, as `status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunSummary {
    pub id: i64,
    pub command: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: String,
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
            Ok(SourceHealth {
                name: r.get(0)?,
                kind: r.get(1)?,
                last_success_at: r.get(2)?,
                consecutive_failures: r.get(3)?,
                last_error: r.get(4)?,
                cursor_updated_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Apply the migrations after the database's version, up to `target`.
fn migrate_to(conn: &mut Connection, path: &Path, target: i64) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
        });
    }
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version <= found || version > target {
            continue;
        }
        let fail = |source| StoreError::Migration {
            path: path.to_path_buf(),
            name,
            source,
        };
        // IMMEDIATE: a second process opening at the same moment waits for this one,
        // then sees the new version and skips the migration.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(fail)?;
        let current: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(fail)?;
        if current >= version {
            continue;
        }
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
        tracing::info!(migration = name, version, "database migrated");
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
        for (i, (name, _)) in MIGRATIONS.iter().enumerate() {
            let want = format!("{:03}_", i + 1);
            assert!(name.starts_with(&want), "{name} should start with {want}");
        }
    }

    /// A database left at each older version by an earlier build is brought forward
    /// without losing its rows.
    #[test]
    fn older_versions_migrate_forward_keeping_rows() {
        for start in 1..SCHEMA_VERSION {
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
