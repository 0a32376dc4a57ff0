//! The state of backfills (`tenderscan backfill`): one row per source and period with its
//! stage and its own crawl cursor, the notices its metadata stage stored with their
//! priority, and the documents left to its documents stage (`documents.deferred`).
//!
//! Must never: touch a source's cron cursor (`sources.cursor`), or leave a stored page's
//! documents to `run` (they are deferred in the page's transaction).

use super::{Store, StoreError, now};
use rusqlite::{OptionalExtension, params};

/// Where a backfill stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Backfill {
    pub id: i64,
    pub stage: String,
    pub cursor: Option<String>,
    pub pages: i64,
    pub documents_done: i64,
}

/// A backfill as `status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackfillStatus {
    pub source: String,
    pub since: String,
    pub until: String,
    pub stage: String,
    pub pages: i64,
    pub notices: i64,
    pub candidates: i64,
    pub documents_done: i64,
    pub documents_left: i64,
    /// Documents left of flagged and candidate notices (tiers 0 and 1, fetched first).
    pub candidate_documents_left: i64,
    pub started_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
}

/// Pending documents of a backfill's notices, by tier bound.
const LEFT: &str =
    "SELECT count(*) FROM backfill_notices b JOIN documents d ON d.notice_id = b.notice_id
     WHERE b.backfill_id = ?1 AND b.tier <= ?2 AND d.fetched_at IS NULL AND d.removed_at IS NULL";

impl Store {
    /// The backfill of `source_id` over `since..=until` (created at the metadata stage on
    /// first use).
    pub fn backfill_open(
        &self,
        source_id: i64,
        since: &str,
        until: &str,
    ) -> Result<Backfill, StoreError> {
        let at = now();
        self.conn.execute(
            "INSERT INTO backfills (source_id, since, until, started_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(source_id, since, until) DO NOTHING",
            params![source_id, since, until, at],
        )?;
        Ok(self.conn.query_row(
            "SELECT id, stage, cursor, pages, documents_done FROM backfills
             WHERE source_id = ?1 AND since = ?2 AND until = ?3",
            params![source_id, since, until],
            |r| {
                Ok(Backfill {
                    id: r.get(0)?,
                    stage: r.get(1)?,
                    cursor: r.get(2)?,
                    pages: r.get(3)?,
                    documents_done: r.get(4)?,
                })
            },
        )?)
    }

    /// A stored page of the metadata stage: its notices join the backfill with their tiers
    /// (the better tier kept), their pending documents are deferred to the documents stage,
    /// and the backfill's cursor moves (when given), in one transaction.
    pub fn backfill_page(
        &mut self,
        id: i64,
        notices: &[(i64, i64)],
        cursor: Option<&str>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        for &(notice_id, tier) in notices {
            tx.prepare_cached(
                "INSERT INTO backfill_notices (backfill_id, notice_id, tier) VALUES (?1, ?2, ?3)
                 ON CONFLICT(backfill_id, notice_id) DO UPDATE SET tier = MIN(tier, excluded.tier)",
            )?
            .execute(params![id, notice_id, tier])?;
            tx.prepare_cached(
                "UPDATE documents SET deferred = 1
                 WHERE notice_id = ?1 AND fetched_at IS NULL AND removed_at IS NULL AND deferred = 0",
            )?
            .execute([notice_id])?;
        }
        tx.execute(
            "UPDATE backfills SET pages = pages + 1, cursor = COALESCE(?2, cursor), updated_at = ?3
             WHERE id = ?1",
            params![id, cursor, now()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Move a backfill to `stage` (`documents`, `done`).
    pub fn backfill_stage(&self, id: i64, stage: &str) -> Result<(), StoreError> {
        let at = now();
        self.conn.execute(
            "UPDATE backfills SET stage = ?2, updated_at = ?3,
                 finished_at = CASE WHEN ?2 = 'done' THEN ?3 ELSE finished_at END
             WHERE id = ?1",
            params![id, stage, at],
        )?;
        Ok(())
    }

    /// Documents read by the documents stage, counted.
    pub fn backfill_documents_done(&self, id: i64, n: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE backfills SET documents_done = documents_done + ?2, updated_at = ?3 WHERE id = ?1",
            params![id, n, now()],
        )?;
        Ok(())
    }

    /// The backfill's notices with documents still to fetch, with their tiers, in the order
    /// the documents stage takes them: by tier, then newest first.
    pub fn backfill_queue(&self, id: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT b.notice_id, b.tier FROM backfill_notices b JOIN notices n ON n.id = b.notice_id
             WHERE b.backfill_id = ?1 AND EXISTS (
                 SELECT 1 FROM documents d WHERE d.notice_id = b.notice_id
                   AND d.fetched_at IS NULL AND d.removed_at IS NULL)
             ORDER BY b.tier, COALESCE(n.published_at, n.first_seen_at) DESC, n.id DESC",
        )?;
        let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Documents left to fetch: all of them, and those of flagged and candidate notices.
    pub fn backfill_left(&self, id: i64) -> Result<(i64, i64), StoreError> {
        let all = self.conn.query_row(LEFT, params![id, 3], |r| r.get(0))?;
        let candidates = self.conn.query_row(LEFT, params![id, 1], |r| r.get(0))?;
        Ok((all, candidates))
    }

    /// Every backfill, newest first, with its figures.
    pub fn backfills(&self) -> Result<Vec<BackfillStatus>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT s.name, b.since, b.until, b.stage, b.pages,
                    (SELECT count(*) FROM backfill_notices x WHERE x.backfill_id = b.id),
                    (SELECT count(*) FROM backfill_notices x WHERE x.backfill_id = b.id AND x.tier <= 1),
                    b.documents_done,
                    ({}), ({}),
                    b.started_at, b.updated_at, b.finished_at
             FROM backfills b JOIN sources s ON s.id = b.source_id ORDER BY b.id DESC",
            LEFT.replace("?1", "b.id").replace("?2", "3"),
            LEFT.replace("?1", "b.id").replace("?2", "1")
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok(BackfillStatus {
                source: r.get(0)?,
                since: r.get(1)?,
                until: r.get(2)?,
                stage: r.get(3)?,
                pages: r.get(4)?,
                notices: r.get(5)?,
                candidates: r.get(6)?,
                documents_done: r.get(7)?,
                documents_left: r.get(8)?,
                candidate_documents_left: r.get(9)?,
                started_at: r.get(10)?,
                updated_at: r.get(11)?,
                finished_at: r.get(12)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether a `run`, `crawl` or `scan` of another live process is under way (a backfill
    /// yields to it). A run row left `running` by a dead process does not count.
    pub fn run_under_way(&self) -> Result<bool, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT pid, started_at FROM runs WHERE status = ?1")?;
        let rows: Vec<(Option<i64>, String)> = stmt
            .query_map([crate::states::RunStatus::Running], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        let me = i64::from(std::process::id());
        Ok(rows.iter().any(|(pid, _)| match pid {
            Some(p) if *p == me => false,
            Some(p) => process_alive(*p),
            None => false,
        }))
    }

    /// The tier of a notice just stored: whether the rules flagged it (a live match).
    pub fn is_flagged(&self, notice_id: i64) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT 1 FROM matches WHERE notice_id = ?1 AND retracted_at IS NULL LIMIT 1",
            )?
            .query_row([notice_id], |_| Ok(()))
            .optional()?
            .is_some())
    }
}

/// Whether process `pid` is alive (Linux: its /proc entry; elsewhere it is assumed so).
fn process_alive(pid: i64) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}
