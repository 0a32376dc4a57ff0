//! Run records and sources' health.

use super::{Store, StoreError, now};
use crate::states::RunStatus;
use rusqlite::OptionalExtension;
use rusqlite::params;

/// The figures of one run (or of one source within it).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunCounts {
    pub notices_fetched: i64,
    pub notices_new: i64,
    pub notices_changed: i64,
    pub documents: i64,
    pub matches: i64,
    pub alerts_sent: i64,
    pub errors: i64,
}

impl RunCounts {
    pub fn add(&mut self, o: &RunCounts) {
        self.notices_fetched += o.notices_fetched;
        self.notices_new += o.notices_new;
        self.notices_changed += o.notices_changed;
        self.documents += o.documents;
        self.matches += o.matches;
        self.alerts_sent += o.alerts_sent;
        self.errors += o.errors;
    }
}

impl Store {
    /// Open a run record. Runs left `running` by a killed process are closed as `killed`.
    pub fn start_run(&self, command: &str, ruleset_version: &str) -> Result<i64, StoreError> {
        self.conn.execute(
            "UPDATE runs SET status = ?1 WHERE status = ?2",
            params![RunStatus::Killed, RunStatus::Running],
        )?;
        self.conn.execute(
            "INSERT INTO runs (command, started_at, status, pid, ruleset_version) VALUES (?1, ?2, ?5, ?3, ?4)",
            params![
                command,
                now(),
                std::process::id(),
                ruleset_version,
                RunStatus::Running
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Close a run record with its status (`ok`, `partial`, `interrupted`), figures and
    /// a JSON summary (per source figures and errors).
    pub fn finish_run(
        &self,
        id: i64,
        status: RunStatus,
        c: &RunCounts,
        summary: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE runs SET finished_at = ?2, status = ?3, notices_fetched = ?4, notices_new = ?5,
                notices_changed = ?6, documents = ?7, matches = ?8, alerts_sent = ?9, errors = ?10,
                summary = ?11
             WHERE id = ?1",
            params![
                id,
                now(),
                status,
                c.notices_fetched,
                c.notices_new,
                c.notices_changed,
                c.documents,
                c.matches,
                c.alerts_sent,
                c.errors,
                summary.to_string()
            ],
        )?;
        Ok(())
    }

    /// A source's crawl went through.
    pub fn source_succeeded(&self, source_id: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sources SET last_success_at = ?2, consecutive_failures = 0 WHERE id = ?1",
            params![source_id, now()],
        )?;
        Ok(())
    }

    /// A source's crawl failed; returns its failures in a row.
    pub fn source_failed(&self, source_id: i64, error: &str) -> Result<i64, StoreError> {
        self.conn.execute(
            "UPDATE sources SET last_error = ?2, last_error_at = ?3,
                consecutive_failures = consecutive_failures + 1 WHERE id = ?1",
            params![source_id, error, now()],
        )?;
        Ok(self.conn.query_row(
            "SELECT consecutive_failures FROM sources WHERE id = ?1",
            [source_id],
            |r| r.get(0),
        )?)
    }

    /// Why the last run that met the source skipped it (`skipped` in its summary), with
    /// that run's id and start; None when it was not skipped or never met.
    pub fn source_skipped(&self, name: &str) -> Result<Option<(i64, String, String)>, StoreError> {
        let row: Option<(i64, String, Option<String>)> = self
            .conn
            .query_row(
                "SELECT r.id, r.started_at, json_extract(j.value, '$.skipped')
                 FROM runs r, json_each(r.summary, '$.sources') j
                 WHERE json_valid(r.summary) AND json_extract(j.value, '$.name') = ?1
                 ORDER BY r.id DESC LIMIT 1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(row.and_then(|(id, at, why)| why.map(|w| (id, at, w))))
    }
}
