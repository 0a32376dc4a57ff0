//! The evidence side of the store: rows naming each payload kept (see `crate::evidence`
//! for the files), the re-check of flagged notices that may have disappeared, and the
//! read-only view `tenderscan show` prints.

use super::{Store, StoreError, now};
use crate::model::Severity;
use crate::states::{Period, QuotaKind, Target, VersionChanges};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// The rule of [`Store::evidence_gaps`] (`?1`: the retention cut-off or NULL), one row per
/// notice or document without the evidence it should have. A row's `last_fetched_at` lies
/// between the notice's first and last sighting (a document's fetch), so retention may have
/// removed the rows of a never-flagged notice first seen (a document fetched) before the
/// cut-off: those are left out unless a run marked them.
const GAPS: &str = "SELECT 'notice' AS kind, n.id, NULL, COALESCE(n.number, n.external_id), n.url,
        n.evidence_missing_at, COALESCE(n.evidence_missing_at, n.first_seen_at) AS since
     FROM notices n
     WHERE n.evidence_missing_at IS NOT NULL
        OR (NOT EXISTS (SELECT 1 FROM evidence e WHERE e.notice_id = n.id AND e.kind = 'notice')
            AND NOT (?1 IS NOT NULL AND n.first_seen_at < ?1
                     AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.notice_id = n.id)))
     UNION ALL
     SELECT 'document', d.notice_id, d.id, COALESCE(n.number, n.external_id), d.url,
        d.evidence_missing_at, COALESCE(d.evidence_missing_at, d.fetched_at, d.first_seen_at)
     FROM documents d JOIN notices n ON n.id = d.notice_id
     WHERE d.evidence_missing_at IS NOT NULL
        OR (d.sha256 IS NOT NULL
            AND NOT EXISTS (SELECT 1 FROM evidence e
                WHERE e.document_id = d.id AND e.kind = 'document' AND e.sha256 = d.sha256)
            AND NOT (?1 IS NOT NULL AND COALESCE(d.fetched_at, d.first_seen_at) < ?1
                     AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.notice_id = d.notice_id)))";

/// A payload just written to the evidence folder, to record.
#[derive(Debug, Clone)]
pub struct NewEvidence {
    pub notice_id: i64,
    pub document_id: Option<i64>,
    /// `notice` or `document`.
    pub kind: &'static str,
    pub url: String,
    pub http_status: Option<u16>,
    pub media_type: Option<String>,
    pub sha256: String,
    pub size: i64,
    pub stored_size: i64,
    /// UTC, stored form.
    pub fetched_at: String,
    /// Where the bytes came from (after redirects), when that is not `url`.
    pub fetched_url: Option<String>,
}

/// The evidence of one record of a page, recorded in the page's transaction by
/// [`Store::store_page_kept`].
#[derive(Debug, Clone, Default)]
pub struct RecordEvidence {
    /// A row per payload kept (`notice_id` is the store's to set).
    pub rows: Vec<NewEvidence>,
    /// Every payload of the record was kept (else the notice is marked `evidence_missing_at`).
    pub complete: bool,
}

/// What should have been kept and was not: notices without a payload, documents read
/// without their bytes kept (see [`Store::evidence_gaps`]).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct EvidenceGap {
    /// `notice` or `document`.
    pub kind: String,
    pub notice_id: i64,
    pub document_id: Option<i64>,
    /// The notice's number (or external id).
    pub notice: String,
    pub url: Option<String>,
    /// UTC: when keeping it failed, where a run recorded that (else null: no payload row at
    /// all, as a run before this check could leave).
    pub missing_since: Option<String>,
}

/// One row of `evidence`, as `show` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceRow {
    pub kind: String,
    pub document_id: Option<i64>,
    pub url: String,
    pub http_status: Option<i64>,
    pub media_type: Option<String>,
    pub sha256: String,
    pub size: i64,
    pub stored_size: i64,
    pub first_fetched_at: String,
    pub last_fetched_at: String,
    pub fetch_count: i64,
    /// Where the bytes came from, after redirects (null for rows kept before it was recorded).
    pub fetched_url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShowLot {
    pub id: i64,
    pub number: Option<String>,
    pub title: Option<String>,
    pub amount: Option<f64>,
    pub quantity: Option<f64>,
    pub status: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShowSupplier {
    pub scheme: String,
    pub id: String,
    pub name: Option<String>,
}

/// An award of the notice and the contract signed on it (sources with contract data).
#[derive(Debug, Clone, Serialize)]
pub struct ShowAward {
    pub id: i64,
    pub external_id: String,
    pub status: Option<String>,
    pub awarded_at: Option<String>,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub suppliers: Vec<ShowSupplier>,
    pub contract_id: Option<String>,
    pub contract_status: Option<String>,
    pub contract_amount: Option<f64>,
    pub contract_signed_at: Option<String>,
    pub removed_at: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShowDocument {
    pub id: i64,
    pub lot_number: Option<String>,
    pub file_name: Option<String>,
    pub title: Option<String>,
    pub url: String,
    pub is_spec: bool,
    pub kind: Option<String>,
    pub media_type: Option<String>,
    pub sha256: Option<String>,
    pub size: Option<i64>,
    pub fetched_at: Option<String>,
    pub removed_at: Option<String>,
    pub error: Option<String>,
    /// Where its text came from (`text`, `pdftotext`, `ocr`, `text+ocr`, ...).
    pub text_source: Option<String>,
    /// `read` (its page images were read by OCR), `unavailable` (not read: no OCR), `failed`.
    pub ocr: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShowMatch {
    pub id: i64,
    pub rule_id: String,
    pub severity: Severity,
    /// The matched words.
    pub phrase: String,
    /// The sentence around them.
    pub evidence: String,
    /// `notice:ID`, `lot:ID` or `document:ID`.
    pub target: Target,
    pub document_id: Option<i64>,
    pub quota_kind: Option<QuotaKind>,
    pub quota_count: Option<i64>,
    pub quota_period: Option<Period>,
    pub first_flagged_at: String,
    pub last_seen_at: String,
    pub retracted_at: Option<String>,
    /// What the second opinion said (made or lowered the match); left out when nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShowVersion {
    pub version: i64,
    pub seen_at: String,
    /// What changed from the version before (null for the first).
    pub changes: Option<VersionChanges>,
}

/// A plan point and a notice that share a plan point id, seen from either.
#[derive(Debug, Clone, Serialize)]
pub struct ShowPlanLink {
    pub plan_point: String,
    pub external_id: String,
    pub number: Option<String>,
    pub title: String,
    pub url: Option<String>,
}

/// Everything the store knows about one notice.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeView {
    pub id: i64,
    pub source: String,
    pub external_id: String,
    pub number: Option<String>,
    pub title: String,
    pub title_kk: Option<String>,
    pub url: Option<String>,
    pub agency_bin: Option<String>,
    pub agency_name: Option<String>,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub status: Option<String>,
    pub status_code: Option<String>,
    pub method: Option<String>,
    pub published_at: Option<String>,
    pub deadline_at: Option<String>,
    pub deadline_local: Option<String>,
    pub first_seen_at: String,
    pub last_seen_at: String,
    pub gone_at: Option<String>,
    pub version: i64,
    /// `notice` or `plan` (a plan point).
    pub kind: String,
    /// For a plan point, the notices that follow it; for a notice, the plan points it
    /// follows (by plan point id).
    pub plan_links: Vec<ShowPlanLink>,
    pub lots: Vec<ShowLot>,
    pub awards: Vec<ShowAward>,
    pub documents: Vec<ShowDocument>,
    pub matches: Vec<ShowMatch>,
    pub versions: Vec<ShowVersion>,
    pub evidence: Vec<EvidenceRow>,
}

fn collect<T>(
    stmt: &mut rusqlite::Statement<'_>,
    p: impl rusqlite::Params,
    f: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, StoreError> {
    Ok(stmt.query_map(p, f)?.collect::<Result<_, _>>()?)
}

/// Insert (or count again) one evidence row, on the store's connection or in a transaction.
pub(super) fn insert_evidence(
    conn: &rusqlite::Connection,
    e: &NewEvidence,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO evidence (notice_id, document_id, kind, url, http_status, media_type, sha256,
            size, stored_size, first_fetched_at, last_fetched_at, fetched_url)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)
         ON CONFLICT(notice_id, kind, url, sha256) DO UPDATE SET
            last_fetched_at = max(last_fetched_at, excluded.last_fetched_at), fetch_count = fetch_count + 1,
            document_id = COALESCE(excluded.document_id, document_id),
            http_status = COALESCE(excluded.http_status, http_status),
            fetched_url = COALESCE(excluded.fetched_url, fetched_url)",
    )?
    .execute(params![
        e.notice_id,
        e.document_id,
        e.kind,
        e.url,
        e.http_status,
        e.media_type,
        e.sha256,
        e.size,
        e.stored_size,
        e.fetched_at,
        e.fetched_url
    ])?;
    if let Some(d) = e.document_id {
        conn.prepare_cached(
            "UPDATE documents SET evidence_missing_at = NULL
             WHERE id = ?1 AND evidence_missing_at IS NOT NULL",
        )?
        .execute([d])?;
    }
    Ok(())
}

impl Store {
    /// Record a kept payload; the same bytes from the same place again only move
    /// `last_fetched_at` and count the fetch. A document's bytes recorded clear its
    /// `evidence_missing_at`.
    pub fn record_evidence(&self, e: &NewEvidence) -> Result<(), StoreError> {
        insert_evidence(&self.conn, e)
    }

    /// A document was read but its bytes could not be kept: it is marked, and left pending
    /// (`fetched_at` cleared, its text kept and read by scans) so that a later run fetches
    /// it again and keeps it.
    pub fn document_evidence_missing(&self, document_id: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE documents SET fetched_at = NULL, evidence_missing_at = COALESCE(evidence_missing_at, ?2)
             WHERE id = ?1",
            params![document_id, now()],
        )?;
        Ok(())
    }

    /// Notices and documents that should have evidence and have none: a notice marked
    /// because a sighting's payload could not be kept, or with no payload row at all; a
    /// document marked, or whose content (`sha256`) has no row. What retention may have
    /// removed is left out: unmarked items of never-flagged notices first seen (documents:
    /// fetched) before `prunable_before` (UTC; `None` when nothing is pruned). At most
    /// `limit`, oldest first, and how many there are of each kind (notices, documents).
    pub fn evidence_gaps(
        &self,
        prunable_before: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<EvidenceGap>, i64, i64), StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("{GAPS} ORDER BY since, 1, 2, 3 LIMIT ?2"))?;
        let gaps = collect(
            &mut stmt,
            params![prunable_before, limit.min(i64::MAX as usize) as i64],
            |r| {
                Ok(EvidenceGap {
                    kind: r.get(0)?,
                    notice_id: r.get(1)?,
                    document_id: r.get(2)?,
                    notice: r.get(3)?,
                    url: r.get(4)?,
                    missing_since: r.get(5)?,
                })
            },
        )?;
        let (notices, documents) = self.conn.query_row(
            &format!(
                "SELECT COALESCE(sum(kind = 'notice'), 0), COALESCE(sum(kind = 'document'), 0)
                 FROM ({GAPS})"
            ),
            params![prunable_before],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((gaps, notices, documents))
    }

    /// How many notices and documents are marked as having lost their evidence, and the
    /// oldest mark (the operator check's "ongoing problem").
    pub fn evidence_missing_marks(&self) -> Result<(i64, i64, Option<String>), StoreError> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM notices WHERE evidence_missing_at IS NOT NULL),
                    (SELECT count(*) FROM documents WHERE evidence_missing_at IS NOT NULL),
                    (SELECT min(t) FROM (SELECT evidence_missing_at AS t FROM notices
                                         UNION ALL SELECT evidence_missing_at FROM documents))",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }

    /// A document whose content was copied from another with the same URL
    /// ([`Store::reuse_document`]) gets that payload's evidence row too, so that the
    /// retention of one notice never removes what another relies on. Returns whether the
    /// document now has a row for its content (false: retention took the other's, and the
    /// document must be fetched itself).
    pub fn copy_document_evidence(&self, document_id: i64) -> Result<bool, StoreError> {
        self.conn.execute(
            "INSERT INTO evidence (notice_id, document_id, kind, url, http_status, media_type, sha256,
                size, stored_size, first_fetched_at, last_fetched_at)
             SELECT d.notice_id, d.id, 'document', e.url, e.http_status, e.media_type, e.sha256,
                    e.size, e.stored_size, e.first_fetched_at, e.last_fetched_at
             FROM documents d JOIN evidence e ON e.kind = 'document' AND e.url = d.url AND e.sha256 = d.sha256
             WHERE d.id = ?1
             ORDER BY e.last_fetched_at DESC LIMIT 1
             ON CONFLICT(notice_id, kind, url, sha256) DO NOTHING",
            [document_id],
        )?;
        let kept: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM documents d JOIN evidence e
                 ON e.notice_id = d.notice_id AND e.kind = 'document' AND e.url = d.url AND e.sha256 = d.sha256
                 WHERE d.id = ?1)",
            [document_id],
            |r| r.get(0),
        )?;
        if kept {
            self.conn.execute(
                "UPDATE documents SET evidence_missing_at = NULL WHERE id = ?1",
                [document_id],
            )?;
        }
        Ok(kept)
    }

    /// The id of a source's notice by its external id.
    pub fn notice_id(&self, source_id: i64, external_id: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM notices WHERE source_id = ?1 AND external_id = ?2")?
            .query_row(params![source_id, external_id], |r| r.get(0))
            .optional()?)
    }

    /// Every sha256 the evidence table names, sorted.
    pub fn evidence_hashes(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT sha256 FROM evidence ORDER BY sha256")?;
        collect(&mut stmt, [], |r| r.get(0))
    }

    /// Bytes kept: (rows, distinct payloads, uncompressed bytes of those, bytes on disk).
    pub fn evidence_totals(&self) -> Result<(i64, i64, i64, i64), StoreError> {
        Ok(self.conn.query_row(
            "SELECT (SELECT count(*) FROM evidence), count(*), COALESCE(sum(size), 0), COALESCE(sum(stored_size), 0)
             FROM (SELECT sha256, max(size) AS size, max(stored_size) AS stored_size FROM evidence GROUP BY sha256)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?)
    }

    /// Retention: forget the evidence rows of notices never flagged (no match, not even a
    /// retracted one) last fetched before `before` (UTC). Returns the hashes no row names
    /// any more: their files can go.
    pub fn prune_evidence(&mut self, before: &str) -> Result<(usize, Vec<String>), StoreError> {
        let tx = self.conn.transaction()?;
        let mut hashes: Vec<String> = Vec::new();
        {
            let mut stmt = tx.prepare(
                "DELETE FROM evidence WHERE last_fetched_at < ?1
                   AND notice_id NOT IN (SELECT notice_id FROM matches)
                 RETURNING sha256",
            )?;
            for h in stmt.query_map([before], |r| r.get::<_, String>(0))? {
                hashes.push(h?);
            }
        }
        let deleted = hashes.len();
        // A mark of lost evidence that retention would have removed anyway goes too.
        tx.execute(
            "UPDATE notices SET evidence_missing_at = NULL WHERE evidence_missing_at < ?1
               AND id NOT IN (SELECT notice_id FROM matches)",
            [before],
        )?;
        tx.execute(
            "UPDATE documents SET evidence_missing_at = NULL WHERE evidence_missing_at < ?1
               AND notice_id NOT IN (SELECT notice_id FROM matches)",
            [before],
        )?;
        hashes.sort();
        hashes.dedup();
        let mut unused = Vec::new();
        for h in hashes {
            let still: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM evidence WHERE sha256 = ?1)",
                [&h],
                |r| r.get(0),
            )?;
            if !still {
                unused.push(h);
            }
        }
        tx.commit()?;
        Ok((deleted, unused))
    }

    /// Flagged notices of a source, not gone, neither seen nor re-checked since `before`
    /// (UTC): they may have disappeared from the portal; and flagged notices whose payload
    /// could not be kept (`evidence_missing_at`) and that the crawl has not met since
    /// `crawl_started` (UTC), asked for until it is. At most `limit`, oldest first.
    pub fn notices_to_recheck(
        &self,
        source_id: i64,
        before: &str,
        crawl_started: &str,
        limit: usize,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT n.id, n.external_id FROM notices n
             WHERE n.source_id = ?1 AND n.gone_at IS NULL
               AND ((n.last_seen_at < ?2 AND (n.rechecked_at IS NULL OR n.rechecked_at < ?2))
                    OR (n.evidence_missing_at IS NOT NULL AND n.last_seen_at < ?4))
               AND EXISTS (SELECT 1 FROM matches m WHERE m.notice_id = n.id)
             ORDER BY n.last_seen_at, n.id LIMIT ?3",
        )?;
        let limit = limit.min(i64::MAX as usize) as i64;
        collect(
            &mut stmt,
            params![source_id, before, limit, crawl_started],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// A re-check happened (whatever it found).
    pub fn mark_rechecked(&self, notice_id: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE notices SET rechecked_at = ?2 WHERE id = ?1",
            params![notice_id, now()],
        )?;
        Ok(())
    }

    /// The portal no longer has this notice: `gone_at` is set (once) and its recipients
    /// get a `changed` alert. Returns whether it was newly marked. Seeing the notice
    /// again clears `gone_at`.
    pub fn mark_gone(&mut self, notice_id: i64, how: &str) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let at = now();
        let n = tx.execute(
            "UPDATE notices SET gone_at = ?2 WHERE id = ?1 AND gone_at IS NULL",
            params![notice_id, at],
        )?;
        if n > 0 {
            super::history::queue_changed_event(
                &tx,
                notice_id,
                None,
                &format!("gone:{at}"),
                &crate::states::ChangeEvent::Gone {
                    at: at.clone(),
                    how: how.to_string(),
                },
            )?;
        }
        tx.commit()?;
        Ok(n > 0)
    }

    /// Find a notice by its number ("17163708-1"), its external id, or its internal id,
    /// in that order; or by its portal URL (as stored, a trailing `/` aside, else the URL's
    /// last number as the external id: `.../announce/index/17163708`). Several sources may
    /// share a number: the most recently seen wins.
    pub fn find_notice(&self, key: &str) -> Result<Option<i64>, StoreError> {
        let key = key.trim();
        if key.starts_with("http://") || key.starts_with("https://") {
            let by_url = self
                .conn
                .query_row(
                    "SELECT id FROM notices WHERE rtrim(url, '/') = rtrim(?1, '/')
                     ORDER BY last_seen_at DESC, id DESC LIMIT 1",
                    [key],
                    |r| r.get(0),
                )
                .optional()?;
            if by_url.is_some() {
                return Ok(by_url);
            }
            let path = key.split(['?', '#']).next().unwrap_or(key);
            let Some(number) = path
                .split(|c: char| !c.is_ascii_digit())
                .rfind(|s| !s.is_empty())
            else {
                return Ok(None);
            };
            return Ok(self
                .conn
                .query_row(
                    "SELECT id FROM notices WHERE external_id = ?1 ORDER BY last_seen_at DESC, id DESC LIMIT 1",
                    [number],
                    |r| r.get(0),
                )
                .optional()?);
        }
        for sql in [
            "SELECT id FROM notices WHERE number = ?1 ORDER BY last_seen_at DESC, id DESC LIMIT 1",
            // indexed (notices_external, migration 021)
            "SELECT id FROM notices WHERE external_id = ?1 ORDER BY last_seen_at DESC, id DESC LIMIT 1",
        ] {
            if let Some(id) = self.conn.query_row(sql, [key], |r| r.get(0)).optional()? {
                return Ok(Some(id));
            }
        }
        // The internal id, written as SQLite writes it (so "070" is not id 70): a look-up by
        // the primary key, not a scan comparing every id as text.
        match key.parse::<i64>() {
            Ok(id) if id.to_string() == key => Ok(self
                .conn
                .query_row("SELECT id FROM notices WHERE id = ?1", [id], |r| r.get(0))
                .optional()?),
            _ => Ok(None),
        }
    }

    /// Everything about one notice, for `tenderscan show`.
    pub fn notice_view(&self, id: i64) -> Result<Option<NoticeView>, StoreError> {
        let head = self
            .conn
            .query_row(
                "SELECT n.id, s.name, n.external_id, n.number, n.title, n.title_kk, n.url, a.identifier,
                        COALESCE(a.name_ru, a.name_kk, a.name_en), n.amount, n.currency, n.status,
                        n.status_code, n.method, n.published_at, n.deadline_at, n.deadline_local,
                        n.first_seen_at, n.last_seen_at, n.gone_at, n.version, n.kind
                 FROM notices n JOIN sources s ON s.id = n.source_id
                 LEFT JOIN agencies a ON a.id = n.agency_id WHERE n.id = ?1",
                [id],
                |r| {
                    Ok(NoticeView {
                        id: r.get(0)?,
                        source: r.get(1)?,
                        external_id: r.get(2)?,
                        number: r.get(3)?,
                        title: r.get(4)?,
                        title_kk: r.get(5)?,
                        url: r.get(6)?,
                        agency_bin: r.get(7)?,
                        agency_name: r.get(8)?,
                        amount: r.get(9)?,
                        currency: r.get(10)?,
                        status: r.get(11)?,
                        status_code: r.get(12)?,
                        method: r.get(13)?,
                        published_at: r.get(14)?,
                        deadline_at: r.get(15)?,
                        deadline_local: r.get(16)?,
                        first_seen_at: r.get(17)?,
                        last_seen_at: r.get(18)?,
                        gone_at: r.get(19)?,
                        version: r.get(20)?,
                        kind: r.get(21)?,
                        plan_links: Vec::new(),
                        lots: Vec::new(),
                        awards: Vec::new(),
                        documents: Vec::new(),
                        matches: Vec::new(),
                        versions: Vec::new(),
                        evidence: Vec::new(),
                    })
                },
            )
            .optional()?;
        let Some(mut v) = head else {
            return Ok(None);
        };
        // CROSS JOIN keeps the order written: from the notice to its plan points to theirs
        // (left to the planner, it scanned every notice of the source: 0.2 s at 250 k)
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT me.plan_point, o.external_id, o.number, o.title, o.url
             FROM notices n CROSS JOIN plan_links me ON me.notice_id = n.id
             CROSS JOIN plan_links pl ON pl.plan_point = me.plan_point AND pl.notice_id <> n.id
             CROSS JOIN notices o ON o.id = pl.notice_id
             WHERE n.id = ?1 AND o.source_id = n.source_id AND (o.kind = 'plan') <> (n.kind = 'plan')
             ORDER BY o.id",
        )?;
        v.plan_links = collect(&mut stmt, [id], |r| {
            Ok(ShowPlanLink {
                plan_point: r.get(0)?,
                external_id: r.get(1)?,
                number: r.get(2)?,
                title: r.get(3)?,
                url: r.get(4)?,
            })
        })?;
        let mut stmt = self.conn.prepare(
            "SELECT id, number, title, amount, quantity, status FROM lots WHERE notice_id = ?1 ORDER BY id",
        )?;
        v.lots = collect(&mut stmt, [id], |r| {
            Ok(ShowLot {
                id: r.get(0)?,
                number: r.get(1)?,
                title: r.get(2)?,
                amount: r.get(3)?,
                quantity: r.get(4)?,
                status: r.get(5)?,
            })
        })?;
        let mut stmt = self.conn.prepare(
            "SELECT id, external_id, status, awarded_at, amount, currency, contract_id, contract_status,
                    contract_amount, contract_signed_at, removed_at
             FROM awards WHERE notice_id = ?1 ORDER BY id",
        )?;
        v.awards = collect(&mut stmt, [id], |r| {
            Ok(ShowAward {
                id: r.get(0)?,
                external_id: r.get(1)?,
                status: r.get(2)?,
                awarded_at: r.get(3)?,
                amount: r.get(4)?,
                currency: r.get(5)?,
                suppliers: Vec::new(),
                contract_id: r.get(6)?,
                contract_status: r.get(7)?,
                contract_amount: r.get(8)?,
                contract_signed_at: r.get(9)?,
                removed_at: r.get(10)?,
            })
        })?;
        let mut stmt = self.conn.prepare(
            "SELECT s.scheme, s.identifier, s.name FROM award_suppliers x
             JOIN suppliers s ON s.id = x.supplier_id WHERE x.award_id = ?1 ORDER BY s.id",
        )?;
        for a in &mut v.awards {
            a.suppliers = collect(&mut stmt, [a.id], |r| {
                Ok(ShowSupplier {
                    scheme: r.get(0)?,
                    id: r.get(1)?,
                    name: r.get(2)?,
                })
            })?;
        }
        let mut stmt = self.conn.prepare(
            "SELECT d.id, l.number, d.file_name, d.title, d.url, d.is_spec, d.kind, d.media_type,
                    d.sha256, d.size, d.fetched_at, d.removed_at, d.error, d.text_source, d.ocr
             FROM documents d LEFT JOIN lots l ON l.id = d.lot_id WHERE d.notice_id = ?1 ORDER BY d.id",
        )?;
        v.documents = collect(&mut stmt, [id], |r| {
            Ok(ShowDocument {
                id: r.get(0)?,
                lot_number: r.get(1)?,
                file_name: r.get(2)?,
                title: r.get(3)?,
                url: r.get(4)?,
                is_spec: r.get(5)?,
                kind: r.get(6)?,
                media_type: r.get(7)?,
                sha256: r.get(8)?,
                size: r.get(9)?,
                fetched_at: r.get(10)?,
                removed_at: r.get(11)?,
                error: r.get(12)?,
                text_source: r.get(13)?,
                ocr: r.get(14)?,
            })
        })?;
        let mut stmt = self.conn.prepare(
            "SELECT id, rule_id, severity, evidence, evidence_start, match_start, match_end, target,
                    document_id, quota_kind, quota_count, quota_period, first_flagged_at,
                    last_seen_at, retracted_at, reasons
             FROM matches WHERE notice_id = ?1 ORDER BY severity_rank DESC, id",
        )?;
        v.matches = collect(&mut stmt, [id], |r| {
            let evidence: String = r.get(3)?;
            Ok(ShowMatch {
                id: r.get(0)?,
                rule_id: r.get(1)?,
                severity: r.get(2)?,
                phrase: super::matches::phrase_of(&evidence, r.get(4)?, r.get(5)?, r.get(6)?),
                evidence,
                target: r.get(7)?,
                document_id: r.get(8)?,
                quota_kind: r.get(9)?,
                quota_count: r.get(10)?,
                quota_period: r.get(11)?,
                first_flagged_at: r.get(12)?,
                last_seen_at: r.get(13)?,
                retracted_at: r.get(14)?,
                reasons: r
                    .get::<_, Option<String>>(15)?
                    .and_then(|j| serde_json::from_str(&j).ok())
                    .unwrap_or_default(),
            })
        })?;
        let mut stmt = self.conn.prepare(
            "SELECT version, seen_at, changes FROM notice_versions WHERE notice_id = ?1 ORDER BY version",
        )?;
        v.versions = collect(&mut stmt, [id], |r| {
            let version: i64 = r.get(0)?;
            let c: Option<String> = r.get(2)?;
            let changes = c
                .map(|c| serde_json::from_str(&c))
                .transpose()
                .map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        2,
                        rusqlite::types::Type::Text,
                        format!("notice {id} version {version}: changes: {e}").into(),
                    )
                })?;
            Ok(ShowVersion {
                version,
                seen_at: r.get(1)?,
                changes,
            })
        })?;
        let mut stmt = self.conn.prepare(
            "SELECT kind, document_id, url, http_status, media_type, sha256, size, stored_size,
                    first_fetched_at, last_fetched_at, fetch_count, fetched_url
             FROM evidence WHERE notice_id = ?1 ORDER BY first_fetched_at, id",
        )?;
        v.evidence = collect(&mut stmt, [id], |r| {
            Ok(EvidenceRow {
                kind: r.get(0)?,
                document_id: r.get(1)?,
                url: r.get(2)?,
                http_status: r.get(3)?,
                media_type: r.get(4)?,
                sha256: r.get(5)?,
                size: r.get(6)?,
                stored_size: r.get(7)?,
                first_fetched_at: r.get(8)?,
                last_fetched_at: r.get(9)?,
                fetch_count: r.get(10)?,
                fetched_url: r.get(11)?,
            })
        })?;
        Ok(Some(v))
    }
}
