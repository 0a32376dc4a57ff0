//! Writing what sources yield: sources and cursors, agencies, notices with their
//! versions, lots, and documents (first as references, then with their text).

use super::history;
use super::{Store, StoreError, now};
use crate::model::{Agency, AwardRecord, DocumentRef, NoticeRecord, PortalTime};
use crate::states::ChangeEvent;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// What storing one page did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PageOutcome {
    pub new: usize,
    pub changed: usize,
    pub unchanged: usize,
    /// Notices that are new or changed: they need their documents fetched and a scan.
    pub touched: Vec<i64>,
    /// Every notice of the page, in its order (new, changed and unchanged).
    pub all: Vec<i64>,
}

/// A document row still to be fetched and read.
#[derive(Debug, Clone)]
pub struct PendingDocument {
    pub id: i64,
    pub notice_id: i64,
    pub url: String,
    pub file_name: Option<String>,
    pub media_type: Option<String>,
    pub is_spec: bool,
    /// A run died while reading it: how many times, and whether in tenderscan's own process.
    pub stale_read: Option<StaleRead>,
}

/// The read mark a dead run left on a document (see [`ReadMarks`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaleRead {
    pub attempts: i64,
    pub in_process: bool,
}

/// Marks on documents being read, written on a connection of their own so that each is
/// committed before its reading starts, while the store's connection carries on.
pub struct ReadMarks {
    conn: std::sync::Mutex<Connection>,
}

impl ReadMarks {
    pub(super) fn new(conn: Connection) -> ReadMarks {
        ReadMarks {
            conn: std::sync::Mutex::new(conn),
        }
    }

    /// The document is about to be read (`in_process`: in tenderscan's own process).
    pub fn begin(&self, document_id: i64, in_process: bool) -> Result<(), StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.execute(
            "UPDATE documents SET read_started_at = ?2, read_in_process = ?3,
                read_attempts = read_attempts + 1
             WHERE id = ?1",
            params![document_id, now(), in_process],
        )?;
        Ok(())
    }

    /// The reading ended, well or not, and tenderscan is still alive: no mark (a crash after
    /// this point is not the document's fault).
    pub fn end(&self, document_id: i64) -> Result<(), StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.execute(
            "UPDATE documents SET read_started_at = NULL, read_in_process = 0, read_attempts = 0
             WHERE id = ?1",
            [document_id],
        )?;
        Ok(())
    }

    /// The reading was stopped before it ended (the run was asked to stop): the attempt does
    /// not count.
    pub fn abandon(&self, document_id: i64) -> Result<(), StoreError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.execute(
            "UPDATE documents SET read_started_at = NULL, read_in_process = 0,
                read_attempts = MAX(read_attempts - 1, 0)
             WHERE id = ?1",
            [document_id],
        )?;
        Ok(())
    }
}

/// A fetched document's content, as extraction read it.
#[derive(Debug, Clone, Default)]
pub struct DocumentContent {
    pub kind: Option<String>,
    pub media_type: Option<String>,
    pub sha256: Option<String>,
    pub size: Option<i64>,
    pub text: Option<String>,
    pub scanned: bool,
    pub notes: Option<String>,
    pub error: Option<String>,
    /// Where the text came from (`text`, `pdftotext`, `ocr`, ... `+`-joined).
    pub text_source: Option<String>,
    /// `read` or `unavailable` when page images needed OCR.
    pub ocr: Option<String>,
    /// JSON `[[start, end], ...]`: the bytes of `text` read by OCR.
    pub ocr_spans: Option<String>,
}

pub use crate::stamp::sha256_hex;

impl Store {
    /// The id of the source with this name, creating its row on first use.
    pub fn ensure_source(&self, name: &str, kind: &str, url: &str) -> Result<i64, StoreError> {
        self.conn.execute(
            "INSERT INTO sources (name, kind, url, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, url = excluded.url",
            params![name, kind, url, now()],
        )?;
        Ok(self
            .conn
            .query_row("SELECT id FROM sources WHERE name = ?1", [name], |r| {
                r.get(0)
            })?)
    }

    /// The saved crawl cursor of a source.
    pub fn cursor(&self, source_id: i64) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT cursor FROM sources WHERE id = ?1",
                [source_id],
                |r| r.get(0),
            )
            .optional()?
            .flatten())
    }

    /// Store one page of records and, in the same transaction, the cursor after it:
    /// a crash loses nothing, and the next run resumes after the last stored page.
    /// No evidence is recorded (see [`Store::store_page_kept`]).
    pub fn store_page(
        &mut self,
        source_id: i64,
        records: &[NoticeRecord],
        cursor: Option<&str>,
    ) -> Result<PageOutcome, StoreError> {
        self.store_page_kept(source_id, records, &[], cursor)
    }

    /// [`Store::store_page`] with each record's evidence (`evidence[i]` for `records[i]`,
    /// the payload files already durable) recorded in the page's transaction: a notice is
    /// never committed without the rows of what was kept of it. A record whose evidence is
    /// not `complete` marks its notice `evidence_missing_at`; a complete one clears the mark.
    /// Records beyond `evidence` are stored without touching either.
    pub fn store_page_kept(
        &mut self,
        source_id: i64,
        records: &[NoticeRecord],
        evidence: &[super::RecordEvidence],
        cursor: Option<&str>,
    ) -> Result<PageOutcome, StoreError> {
        let tx = self.conn.transaction()?;
        let mut out = PageOutcome::default();
        let at = now();
        for (i, rec) in records.iter().enumerate() {
            let (id, change) = upsert_notice(&tx, source_id, rec, &at)?;
            out.all.push(id);
            if let Some(kept) = evidence.get(i) {
                for row in &kept.rows {
                    let mut row = row.clone();
                    row.notice_id = id;
                    super::evidence::insert_evidence(&tx, &row)?;
                }
                if kept.complete {
                    tx.prepare_cached(
                        "UPDATE notices SET evidence_missing_at = NULL
                         WHERE id = ?1 AND evidence_missing_at IS NOT NULL",
                    )?
                    .execute([id])?;
                } else {
                    tx.prepare_cached(
                        "UPDATE notices SET evidence_missing_at = COALESCE(evidence_missing_at, ?2)
                         WHERE id = ?1",
                    )?
                    .execute(params![id, at])?;
                }
            }
            match (id, change) {
                (id, Change::New) => {
                    out.new += 1;
                    out.touched.push(id);
                }
                (id, Change::Changed) => {
                    out.changed += 1;
                    out.touched.push(id);
                }
                (_, Change::Same) => out.unchanged += 1,
            }
        }
        if let Some(c) = cursor {
            tx.execute(
                "UPDATE sources SET cursor = ?2, cursor_updated_at = ?3 WHERE id = ?1",
                params![source_id, c, at],
            )?;
        }
        tx.commit()?;
        Ok(out)
    }

    /// How many of a notice's documents are read (or settled without a read: over the
    /// limit, a read that crashed), not counting removed ones.
    pub fn documents_read(&self, notice_id: i64) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM documents
                 WHERE notice_id = ?1 AND fetched_at IS NOT NULL AND removed_at IS NULL",
            )?
            .query_row([notice_id], |r| r.get(0))?;
        Ok(n as usize)
    }

    /// Documents of a notice not yet fetched (specifications first).
    pub fn pending_documents(&self, notice_id: i64) -> Result<Vec<PendingDocument>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, notice_id, url, file_name, media_type, is_spec,
                    read_started_at IS NOT NULL, read_attempts, read_in_process
             FROM documents
             WHERE notice_id = ?1 AND fetched_at IS NULL AND removed_at IS NULL
             ORDER BY is_spec DESC, id",
        )?;
        let rows = stmt.query_map([notice_id], |r| {
            let stale: bool = r.get(6)?;
            Ok(PendingDocument {
                id: r.get(0)?,
                notice_id: r.get(1)?,
                url: r.get(2)?,
                file_name: r.get(3)?,
                media_type: r.get(4)?,
                is_spec: r.get(5)?,
                stale_read: stale
                    .then(|| -> rusqlite::Result<StaleRead> {
                        Ok(StaleRead {
                            attempts: r.get(7)?,
                            in_process: r.get(8)?,
                        })
                    })
                    .transpose()?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Notices of a source with documents not yet fetched (left by a killed or failed run),
    /// but for those left to a backfill's documents stage (`deferred`).
    pub fn notices_with_pending_documents(&self, source_id: i64) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT d.notice_id FROM documents d JOIN notices n ON n.id = d.notice_id
             WHERE n.source_id = ?1 AND d.fetched_at IS NULL AND d.removed_at IS NULL
               AND d.deferred = 0
             ORDER BY d.notice_id",
        )?;
        let rows = stmt.query_map([source_id], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Copy the content of an already fetched document with the same URL, if any:
    /// the same attachment is not fetched twice. Returns whether it was copied.
    pub fn reuse_document(&self, doc: &PendingDocument) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "UPDATE documents SET (kind, media_type, sha256, size, text, scanned, notes, error, fetched_at,
                    text_source, ocr, ocr_spans) =
                (SELECT kind, media_type, sha256, size, text, scanned, notes, error, fetched_at,
                    text_source, ocr, ocr_spans
                 FROM documents d WHERE d.url = documents.url AND d.id <> documents.id
                   AND d.fetched_at IS NOT NULL AND d.sha256 IS NOT NULL
                 ORDER BY d.fetched_at DESC LIMIT 1)
             WHERE id = ?1 AND EXISTS (SELECT 1 FROM documents d WHERE d.url = documents.url
                   AND d.id <> documents.id AND d.fetched_at IS NOT NULL AND d.sha256 IS NOT NULL)",
            [doc.id],
        )?;
        if n > 0 {
            self.rescan_notice_of(doc.id)?;
        }
        Ok(n > 0)
    }

    /// Record a document's content (or why it could not be read).
    pub fn save_document(&self, id: i64, c: &DocumentContent) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE documents SET kind = ?2, media_type = COALESCE(?3, media_type), sha256 = ?4,
                size = ?5, text = ?6, scanned = ?7, notes = ?8, error = ?9, fetched_at = ?10,
                read_started_at = NULL, read_in_process = 0, read_attempts = 0,
                text_source = ?11, ocr = ?12, ocr_spans = ?13
             WHERE id = ?1",
            params![
                id,
                c.kind,
                c.media_type,
                c.sha256,
                c.size,
                c.text,
                c.scanned,
                c.notes,
                c.error,
                now(),
                c.text_source,
                c.ocr,
                c.ocr_spans
            ],
        )?;
        self.rescan_notice_of(id)
    }

    /// A document's text arrived (perhaps after its notice was scanned): the notice is read
    /// again by the next scan.
    pub(super) fn rescan_notice_of(&self, document_id: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE notices SET scanned_version = NULL
             WHERE id = (SELECT notice_id FROM documents WHERE id = ?1)",
            [document_id],
        )?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    New,
    Changed,
    Same,
}

fn upsert_agency(tx: &Transaction, a: &Agency, at: &str) -> Result<Option<i64>, StoreError> {
    if a.id.trim().is_empty() {
        return Ok(None);
    }
    let scheme = a.scheme.as_deref().unwrap_or("KZ-BIN");
    tx.execute(
        "INSERT INTO agencies (scheme, identifier, name_ru, name_kk, name_en, region, first_seen_at, last_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
         ON CONFLICT(scheme, identifier) DO UPDATE SET
            name_ru = COALESCE(excluded.name_ru, name_ru),
            name_kk = COALESCE(excluded.name_kk, name_kk),
            name_en = COALESCE(excluded.name_en, name_en),
            region = COALESCE(excluded.region, region),
            last_seen_at = excluded.last_seen_at",
        params![scheme, a.id.trim(), a.name_ru, a.name_kk, a.name_en, a.region, at],
    )?;
    Ok(Some(tx.query_row(
        "SELECT id FROM agencies WHERE scheme = ?1 AND identifier = ?2",
        params![scheme, a.id.trim()],
        |r| r.get(0),
    )?))
}

fn utc(t: &Option<PortalTime>) -> Option<String> {
    t.as_ref().and_then(|t| t.utc).map(super::format_time)
}

fn local(t: &Option<PortalTime>) -> Option<String> {
    t.as_ref().map(|t| t.original.clone())
}

/// What a version row compares: the record as mapped, minus the raw payload.
fn snapshot(rec: &NoticeRecord) -> serde_json::Value {
    serde_json::to_value(rec).unwrap_or(serde_json::Value::Null)
}

/// The record to store for `rec`, where the notice it names is held and its awards matter:
/// an [`attach`](NoticeRecord::attach) record becomes the held notice with these awards
/// added or updated (by `external_id`) and the contract's documents added (by URL); a record
/// listing no awards keeps the held ones and the held documents of contracts (a source may
/// carry awards on another root, as goszakup does with contracts), so the two roots do not
/// take turns changing the notice. `None`: store `rec` as it is.
fn with_held_awards(
    tx: &Transaction,
    source_id: i64,
    rec: &NoticeRecord,
) -> Result<Option<NoticeRecord>, StoreError> {
    if !rec.attach && !rec.awards.is_empty() {
        return Ok(None);
    }
    // Only the awards of the held version, unless the whole of it is needed.
    let sql = if rec.attach {
        "SELECT v.snapshot FROM notices n JOIN notice_versions v ON v.notice_id = n.id
         WHERE n.source_id = ?1 AND n.external_id = ?2 ORDER BY v.version DESC LIMIT 1"
    } else {
        "SELECT json_object(
                'awards', json(COALESCE(json_extract(v.snapshot, '$.awards'), '[]')),
                -- json(): a subquery's result is text, not JSON, to json_object.
                'documents', json((SELECT json_group_array(json(d.value))
                                   FROM json_each(v.snapshot, '$.documents') d
                                   WHERE json_extract(d.value, '$.contract') IS NOT NULL)))
         FROM notices n JOIN notice_versions v ON v.notice_id = n.id
         WHERE n.source_id = ?1 AND n.external_id = ?2 AND json_valid(v.snapshot)
         ORDER BY v.version DESC LIMIT 1"
    };
    let old: Option<String> = tx
        .prepare_cached(sql)?
        .query_row(params![source_id, rec.external_id], |r| r.get(0))
        .optional()?
        .flatten();
    let Some(old) = old.and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok()) else {
        return Ok(None);
    };
    if rec.attach {
        let mut held: NoticeRecord = match serde_json::from_value(old) {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(notice = %rec.external_id, error = %e, "the held version is unreadable; the contract's record is stored as it is");
                return Ok(None);
            }
        };
        for a in &rec.awards {
            match held
                .awards
                .iter_mut()
                .find(|h| h.external_id == a.external_id)
            {
                Some(h) => *h = a.clone(),
                None => held.awards.push(a.clone()),
            }
        }
        for d in &rec.documents {
            if !held.documents.iter().any(|h| h.url == d.url) {
                held.documents.push(d.clone());
            }
        }
        held.payloads = rec.payloads.clone();
        return Ok(Some(held));
    }
    let take = |key: &str| old.get(key).cloned().unwrap_or(serde_json::Value::Null);
    let awards: Vec<AwardRecord> = serde_json::from_value(take("awards")).unwrap_or_default();
    let contract_docs: Vec<DocumentRef> =
        serde_json::from_value(take("documents")).unwrap_or_default();
    if awards.is_empty() && contract_docs.is_empty() {
        return Ok(None);
    }
    let mut kept = rec.clone();
    kept.awards = awards;
    for d in contract_docs {
        if !kept.documents.iter().any(|h| h.url == d.url) {
            kept.documents.push(d);
        }
    }
    Ok(Some(kept))
}

fn upsert_notice(
    tx: &Transaction,
    source_id: i64,
    rec: &NoticeRecord,
    at: &str,
) -> Result<(i64, Change), StoreError> {
    let merged = with_held_awards(tx, source_id, rec)?;
    // The record as the source sent it: its facets (kind, codes, plan points) are its own.
    let own = rec;
    let rec = merged.as_ref().unwrap_or(rec);
    let snap = snapshot(rec);
    let snap_text = snap.to_string();
    let hash = sha256_hex(snap_text.as_bytes());
    let agency_id = match &rec.agency {
        Some(a) => upsert_agency(tx, a, at)?,
        None => None,
    };
    let existing: Option<(i64, Option<String>, i64)> = tx
        .query_row(
            "SELECT id, content_hash, version FROM notices WHERE source_id = ?1 AND external_id = ?2",
            params![source_id, rec.external_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let (id, change, version) = match existing {
        Some((id, Some(h), _)) if h == hash => {
            tx.execute(
                "UPDATE notices SET last_seen_at = ?2, gone_at = NULL WHERE id = ?1",
                params![id, at],
            )?;
            upsert_facets(tx, id, own)?;
            return Ok((id, Change::Same));
        }
        Some((id, _, v)) => (id, Change::Changed, v + 1),
        None => (0, Change::New, 1),
    };
    let fields = params![
        source_id,
        rec.external_id,
        rec.number,
        rec.title,
        rec.title_kk,
        rec.description,
        agency_id,
        rec.amount,
        rec.currency,
        rec.status,
        rec.status_code,
        rec.method,
        utc(&rec.published),
        local(&rec.published),
        utc(&rec.deadline),
        local(&rec.deadline),
        rec.url,
        rec.region,
        hash,
        version,
        at,
    ];
    let id = if change == Change::New {
        tx.execute(
            "INSERT INTO notices (source_id, external_id, number, title, title_kk, description, agency_id,
                amount, currency, status, status_code, method, published_at, published_local,
                deadline_at, deadline_local, url, region, content_hash, version, first_seen_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?21)",
            fields,
        )?;
        tx.last_insert_rowid()
    } else {
        tx.execute(
            "UPDATE notices SET number = ?3, title = ?4, title_kk = ?5, description = ?6, agency_id = ?7,
                amount = ?8, currency = ?9, status = ?10, status_code = ?11, method = ?12,
                published_at = ?13, published_local = ?14, deadline_at = ?15, deadline_local = ?16,
                url = ?17, region = ?18, content_hash = ?19, version = ?20, last_seen_at = ?21,
                gone_at = NULL, scanned_version = NULL
             WHERE source_id = ?1 AND external_id = ?2",
            fields,
        )?;
        id
    };
    let changes = if change == Change::Changed {
        let old: Option<String> = tx
            .query_row(
                "SELECT snapshot FROM notice_versions WHERE notice_id = ?1 ORDER BY version DESC LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        let old = old
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(serde_json::Value::Null);
        let diff = history::diff(&old, &snap);
        let v = NewVersion {
            notice_id: id,
            version,
            old: &old,
            diff: &diff,
            at,
        };
        changed_events(tx, &v, rec)?;
        Some(serde_json::to_string(&diff).unwrap_or_default())
    } else {
        None
    };
    tx.execute(
        "INSERT INTO notice_versions (notice_id, version, seen_at, changes, snapshot) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, version, at, changes, snap_text],
    )?;
    // Lots: upsert the ones present; their documents with them.
    for lot in &rec.lots {
        tx.execute(
            "INSERT INTO lots (notice_id, external_id, number, title, description, amount, quantity, status,
                               first_seen_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
             ON CONFLICT(notice_id, external_id) DO UPDATE SET number = excluded.number,
                title = excluded.title, description = excluded.description, amount = excluded.amount,
                quantity = excluded.quantity, status = excluded.status, last_seen_at = excluded.last_seen_at,
                removed_at = NULL",
            params![
                id,
                lot.external_id,
                lot.number,
                lot.title,
                lot.description,
                lot.amount,
                lot.quantity,
                lot.status,
                at
            ],
        )?;
        let lot_id: i64 = tx.query_row(
            "SELECT id FROM lots WHERE notice_id = ?1 AND external_id = ?2",
            params![id, lot.external_id],
            |r| r.get(0),
        )?;
        for d in &lot.documents {
            upsert_document(tx, id, Some(lot_id), d, at)?;
        }
    }
    for d in &rec.documents {
        upsert_document(tx, id, None, d, at)?;
    }
    for a in &rec.awards {
        upsert_award(tx, id, a, at)?;
    }
    upsert_facets(tx, id, own)?;
    mark_removed(tx, id, rec, at)?;
    if change == Change::Changed {
        refetch_flagged_documents(tx, id)?;
    }
    Ok((id, change))
}

/// What a record says of its notice outside the snapshot: its kind, subject type, catalogue
/// codes and plan points (added, never removed: an attached contract names its own). An
/// attach record leaves the kind and subject type of the held notice alone.
fn upsert_facets(tx: &Transaction, id: i64, rec: &NoticeRecord) -> Result<(), StoreError> {
    if !rec.attach {
        tx.prepare_cached(
            "UPDATE notices SET kind = ?2, subject_type = COALESCE(?3, subject_type) WHERE id = ?1",
        )?
        .execute(params![id, rec.kind.as_str(), rec.subject_type])?;
    } else if rec.subject_type.is_some() {
        tx.prepare_cached(
            "UPDATE notices SET subject_type = COALESCE(subject_type, ?2) WHERE id = ?1",
        )?
        .execute(params![id, rec.subject_type])?;
    }
    for code in &rec.codes {
        tx.prepare_cached("INSERT OR IGNORE INTO notice_codes (notice_id, code) VALUES (?1, ?2)")?
            .execute(params![id, code])?;
    }
    for point in &rec.plan_points {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO plan_links (notice_id, plan_point) VALUES (?1, ?2)",
        )?
        .execute(params![id, point])?;
    }
    Ok(())
}

/// One award with its suppliers: the award row is updated in place, its supplier list
/// replaced by the one the source lists now.
fn upsert_award(
    tx: &Transaction,
    notice_id: i64,
    a: &AwardRecord,
    at: &str,
) -> Result<(), StoreError> {
    let lots = (!a.lots.is_empty()).then(|| serde_json::to_string(&a.lots).unwrap_or_default());
    let award_id: i64 = tx.query_row(
        "INSERT INTO awards (notice_id, external_id, status, awarded_at, amount, currency, lots,
                             contract_id, contract_status, contract_amount, contract_signed_at,
                             first_seen_at, last_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)
         ON CONFLICT(notice_id, external_id) DO UPDATE SET status = excluded.status,
            awarded_at = excluded.awarded_at, amount = excluded.amount, currency = excluded.currency,
            lots = excluded.lots, contract_id = excluded.contract_id,
            contract_status = excluded.contract_status, contract_amount = excluded.contract_amount,
            contract_signed_at = excluded.contract_signed_at, last_seen_at = excluded.last_seen_at,
            removed_at = NULL
         RETURNING id",
        params![
            notice_id,
            a.external_id,
            a.status,
            utc(&a.date),
            a.amount,
            a.currency,
            lots,
            a.contract_id,
            a.contract_status,
            a.contract_amount,
            utc(&a.contract_signed),
            at
        ],
        |r| r.get(0),
    )?;
    tx.execute(
        "DELETE FROM award_suppliers WHERE award_id = ?1",
        [award_id],
    )?;
    for s in &a.suppliers {
        let supplier_id: i64 = tx.query_row(
            "INSERT INTO suppliers (scheme, identifier, name, first_seen_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT(scheme, identifier) DO UPDATE SET
                name = COALESCE(excluded.name, name), last_seen_at = excluded.last_seen_at
             RETURNING id",
            params![s.scheme, s.id, s.name, at],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT OR IGNORE INTO award_suppliers (award_id, supplier_id) VALUES (?1, ?2)",
            params![award_id, supplier_id],
        )?;
    }
    Ok(())
}

/// Lots, documents and awards the notice no longer lists are marked removed: scans stop
/// reading the lots and documents (and so retract what was found in them), reports leave
/// the awards out. A record that lists none of a kind at all leaves that kind alone: some
/// pages omit a list rather than empty it.
fn mark_removed(
    tx: &Transaction,
    notice_id: i64,
    rec: &NoticeRecord,
    at: &str,
) -> Result<(), StoreError> {
    let lots: Vec<&str> = rec.lots.iter().map(|l| l.external_id.as_str()).collect();
    let urls: Vec<&str> = rec
        .documents
        .iter()
        .chain(rec.lots.iter().flat_map(|l| l.documents.iter()))
        .map(|d| d.url.as_str())
        .collect();
    let awards: Vec<&str> = rec.awards.iter().map(|a| a.external_id.as_str()).collect();
    let n = mark_unlisted(tx, "lots", "external_id", notice_id, &lots, at)?
        + mark_unlisted(tx, "documents", "url", notice_id, &urls, at)?;
    // Awards are not read by the rules: no re-scan for them.
    mark_unlisted(tx, "awards", "external_id", notice_id, &awards, at)?;
    if n > 0 {
        tx.execute(
            "UPDATE notices SET scanned_version = NULL WHERE id = ?1",
            [notice_id],
        )?;
    }
    Ok(())
}

/// Set `removed_at` on the rows of `table` (lots, documents, awards) of the notice whose
/// `key` the record no longer lists; an empty list leaves them alone. Returns how many.
fn mark_unlisted(
    tx: &Transaction,
    table: &str,
    key: &str,
    notice_id: i64,
    listed: &[&str],
    at: &str,
) -> Result<usize, StoreError> {
    if listed.is_empty() {
        return Ok(0);
    }
    // Table and column names are the constants of the callers above, never input.
    Ok(tx.execute(
        &format!(
            "UPDATE {table} SET removed_at = ?2
             WHERE notice_id = ?1 AND removed_at IS NULL
               AND {key} NOT IN (SELECT value FROM json_each(?3))"
        ),
        params![
            notice_id,
            at,
            serde_json::to_string(listed).unwrap_or_default()
        ],
    )?)
}

/// A flagged notice changed: its documents are fetched again, since an agency may replace
/// an attachment's content under the same URL. (Unflagged notices are not: a new URL is
/// fetched anyway, and re-downloading every attachment of every edited notice costs the
/// portal too much.) A notice with a `published` verdict counts as flagged even after its
/// matched words are gone: quiet edits after a story matter most.
fn refetch_flagged_documents(tx: &Transaction, notice_id: i64) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE documents SET fetched_at = NULL
         WHERE notice_id = ?1 AND removed_at IS NULL AND fetched_at IS NOT NULL
           AND (EXISTS (SELECT 1 FROM matches WHERE notice_id = ?1 AND retracted_at IS NULL)
                OR EXISTS (SELECT 1 FROM current_verdicts
                           WHERE notice_id = ?1 AND verdict = 'published'))",
        [notice_id],
    )?;
    Ok(())
}

/// A flagged notice changed: its recipients hear of the new version and, where the
/// status now says so, of the cancellation.
/// A notice's new version, as [`changed_events`] tells it.
struct NewVersion<'a> {
    notice_id: i64,
    version: i64,
    /// The previous version's snapshot.
    old: &'a serde_json::Value,
    diff: &'a [history::FieldChange],
    at: &'a str,
}

fn changed_events(
    tx: &Transaction,
    v: &NewVersion<'_>,
    rec: &NoticeRecord,
) -> Result<(), StoreError> {
    let NewVersion {
        notice_id,
        version,
        old,
        diff,
        at,
    } = *v;
    history::queue_changed_event(
        tx,
        notice_id,
        None,
        &format!("v{version}"),
        &ChangeEvent::Changed {
            at: at.to_string(),
            version,
            changes: diff.to_vec(),
        },
    )?;
    let s = |k: &str| old.get(k).and_then(|v| v.as_str());
    let was = history::is_cancelled(s("status_code"), s("status"));
    if !was && history::is_cancelled(rec.status_code.as_deref(), rec.status.as_deref()) {
        history::queue_changed_event(
            tx,
            notice_id,
            None,
            "cancelled",
            &ChangeEvent::Cancelled {
                at: at.to_string(),
                status: rec.status.clone(),
                status_code: rec.status_code.clone(),
            },
        )?;
    }
    Ok(())
}

fn upsert_document(
    tx: &Transaction,
    notice_id: i64,
    lot_id: Option<i64>,
    d: &DocumentRef,
    at: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO documents (notice_id, lot_id, url, file_name, title, is_spec, media_type, first_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(notice_id, url) DO UPDATE SET lot_id = COALESCE(excluded.lot_id, lot_id),
            file_name = COALESCE(excluded.file_name, file_name), title = COALESCE(excluded.title, title),
            is_spec = MAX(is_spec, excluded.is_spec), removed_at = NULL",
        params![notice_id, lot_id, d.url, d.file_name, d.title, d.is_spec, d.media_type, at],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LotRecord;

    fn record(title: &str) -> NoticeRecord {
        NoticeRecord {
            external_id: "900".into(),
            number: Some("900-1".into()),
            title: title.into(),
            agency: Some(Agency {
                id: "000140001234".into(),
                name_ru: Some("Акимат".into()),
                ..Default::default()
            }),
            amount: Some(1_300_000.0),
            currency: Some("KZT".into()),
            lots: vec![LotRecord {
                external_id: "7".into(),
                number: Some("7-ЗЦП1".into()),
                documents: vec![DocumentRef {
                    url: "https://v3bl.goszakup.gov.kz/files/download_file/1/".into(),
                    file_name: Some("techspec_1.pdf".into()),
                    is_spec: true,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn pages_store_new_changed_and_unchanged_notices_with_versions() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("t.db")).unwrap();
        let src = s.ensure_source("g", "goszakup", "https://x").unwrap();
        assert_eq!(s.ensure_source("g", "goszakup", "https://x").unwrap(), src);
        let out = s
            .store_page(src, &[record("Услуги SMM")], Some("c1"))
            .unwrap();
        assert_eq!((out.new, out.changed, out.unchanged), (1, 0, 0));
        assert_eq!(s.cursor(src).unwrap().as_deref(), Some("c1"));
        let out = s
            .store_page(src, &[record("Услуги SMM")], Some("c2"))
            .unwrap();
        assert_eq!((out.new, out.changed, out.unchanged), (0, 0, 1));
        let out = s
            .store_page(src, &[record("Услуги SMM и ведение аккаунтов")], None)
            .unwrap();
        assert_eq!((out.new, out.changed, out.unchanged), (0, 1, 0));
        assert_eq!(s.cursor(src).unwrap().as_deref(), Some("c2"));
        let (version, changes): (i64, String) = s
            .conn()
            .query_row(
                "SELECT version, changes FROM notice_versions ORDER BY version DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(version, 2);
        let changes: Vec<history::FieldChange> = serde_json::from_str(&changes).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, "title");
        assert_eq!(changes[0].old, Some(serde_json::json!("Услуги SMM")));
        let docs = s.pending_documents(out.touched[0]).unwrap();
        assert_eq!(docs.len(), 1);
        assert!(docs[0].is_spec);
        // The full-text index follows the update: the new words are found, once.
        let fts = |q: &str| -> i64 {
            s.conn()
                .query_row(
                    "SELECT count(*) FROM notices_fts WHERE notices_fts MATCH ?1",
                    [q],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(fts("аккаунт*"), 1);
        assert_eq!(fts("УСЛУГИ"), 1);
    }

    /// A contract brought to a notice (`attach`) adds its award and leaves the notice's own
    /// fields alone; a notice not held is stored from the contract; the notice's own record,
    /// which lists no awards, keeps them (no version).
    #[test]
    fn attached_awards_merge_into_the_held_notice_and_are_kept() {
        use crate::model::Supplier;
        fn one(s: &Store, q: &str) -> String {
            s.conn()
                .query_row(q, [], |r| r.get::<_, String>(0))
                .unwrap()
        }
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("t.db")).unwrap();
        let src = s.ensure_source("g", "goszakup", "https://x").unwrap();
        let contract = |notice: &str, id: &str, amount: f64| NoticeRecord {
            external_id: notice.into(),
            title: "from the contract".into(),
            awards: vec![AwardRecord {
                external_id: id.into(),
                contract_amount: Some(amount),
                suppliers: vec![Supplier {
                    id: "051140001234".into(),
                    scheme: "KZ-BIN".into(),
                    name: None,
                }],
                ..Default::default()
            }],
            attach: true,
            ..Default::default()
        };
        s.store_page(src, &[record("Услуги SMM")], None).unwrap();
        let out = s
            .store_page(
                src,
                &[
                    contract("900", "contract-1", 100.0),
                    contract("900", "contract-2", 200.0),
                    contract("999", "contract-3", 300.0),
                ],
                None,
            )
            .unwrap();
        assert_eq!((out.new, out.changed), (1, 2));
        let title = "SELECT title || ' v' || version FROM notices WHERE external_id = '900'";
        assert_eq!(one(&s, title), "Услуги SMM v3");
        let awards = "SELECT count(*) || ' ' || count(DISTINCT notice_id) FROM awards
                      WHERE removed_at IS NULL";
        assert_eq!(one(&s, awards), "3 2");
        let other = "SELECT title FROM notices WHERE external_id = '999'";
        assert_eq!(one(&s, other), "from the contract");
        // The announcement again, unchanged and without awards: nothing changes.
        let out = s.store_page(src, &[record("Услуги SMM")], None).unwrap();
        assert_eq!(out.unchanged, 1);
        assert_eq!(one(&s, title), "Услуги SMM v3");
        // The same contract again: unchanged; its amount changed: a version.
        let out = s
            .store_page(src, &[contract("900", "contract-1", 100.0)], None)
            .unwrap();
        assert_eq!(out.unchanged, 1);
        let out = s
            .store_page(src, &[contract("900", "contract-1", 150.0)], None)
            .unwrap();
        assert_eq!(out.changed, 1);
        let amounts = "SELECT group_concat(contract_amount, ',') FROM (
                SELECT contract_amount FROM awards a JOIN notices n ON n.id = a.notice_id
                WHERE n.external_id = '900' ORDER BY a.external_id)";
        assert_eq!(one(&s, amounts), "150.0,200.0");
        assert_eq!(one(&s, title), "Услуги SMM v4");
    }

    #[test]
    fn awards_are_stored_updated_and_their_changes_recorded() {
        use crate::model::Supplier;
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("t.db")).unwrap();
        let src = s.ensure_source("o", "ocds", "https://x").unwrap();
        let sup = |id: &str, name: &str| Supplier {
            id: id.into(),
            scheme: "KZ-BIN".into(),
            name: Some(name.into()),
        };
        let mut rec = record("Услуги SMM");
        rec.awards = vec![AwardRecord {
            external_id: "a1".into(),
            status: Some("pending".into()),
            amount: Some(1_000_000.0),
            suppliers: vec![sup("051140001234", "ТОО «Медиа»")],
            ..Default::default()
        }];
        s.store_page(src, &[rec.clone()], None).unwrap();
        // The award turns active, changes hands, and a second one appears.
        rec.awards[0].status = Some("active".into());
        rec.awards[0].suppliers = vec![sup("850101300123", "ИП Ким")];
        rec.awards.push(AwardRecord {
            external_id: "a2".into(),
            amount: Some(5.0),
            suppliers: vec![sup("051140001234", "ТОО «Медиа»")],
            ..Default::default()
        });
        let out = s.store_page(src, &[rec.clone()], None).unwrap();
        assert_eq!(out.changed, 1);
        let rows = |s: &Store| -> Vec<(String, String, String, Option<String>)> {
            let mut st = s
                .conn()
                .prepare(
                    "SELECT aw.external_id, COALESCE(aw.status, '-'), sp.identifier, aw.removed_at
                     FROM awards aw JOIN award_suppliers x ON x.award_id = aw.id
                     JOIN suppliers sp ON sp.id = x.supplier_id ORDER BY aw.external_id",
                )
                .unwrap();
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(
            rows(&s),
            vec![
                ("a1".into(), "active".into(), "850101300123".into(), None),
                ("a2".into(), "-".into(), "051140001234".into(), None),
            ]
        );
        let changes: String = s
            .conn()
            .query_row(
                "SELECT changes FROM notice_versions ORDER BY version DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let changes: Vec<history::FieldChange> = serde_json::from_str(&changes).unwrap();
        let what: Vec<(&str, &str, Option<&str>)> = changes
            .iter()
            .map(|c| (c.field.as_str(), c.change.as_str(), c.detail.as_deref()))
            .collect();
        assert_eq!(
            what,
            vec![
                ("award", "changed", Some("status")),
                ("award", "changed", Some("suppliers")),
                ("award", "added", None),
            ]
        );
        assert_eq!(changes[1].old, Some(serde_json::json!("ТОО «Медиа»")));
        assert_eq!(changes[1].new, Some(serde_json::json!("ИП Ким")));
        assert_eq!(
            changes[1].describe(),
            "award to ИП Ким suppliers: \"ТОО «Медиа»\" -> \"ИП Ким\""
        );
        assert_eq!(changes[2].describe(), "award to ТОО «Медиа» added (5)");
        // No longer listed: marked removed, kept.
        rec.awards.remove(0);
        s.store_page(src, &[rec], None).unwrap();
        let r = rows(&s);
        assert!(r[0].3.is_some() && r[1].3.is_none(), "{r:?}");
        let suppliers: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM suppliers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(suppliers, 2);
    }

    #[test]
    fn a_flagged_notice_cancelled_tells_its_recipients_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("t.db")).unwrap();
        let src = s.ensure_source("g", "goszakup", "https://x").unwrap();
        let out = s.store_page(src, &[record("Услуги SMM")], None).unwrap();
        let id = out.touched[0];
        // Unflagged, a change queues nothing.
        let mut changed = record("Услуги SMM");
        changed.amount = Some(1_000_000.0);
        s.store_page(src, &[changed.clone()], None).unwrap();
        let changed_alerts = |s: &Store| -> i64 {
            s.conn()
                .query_row(
                    "SELECT count(*) FROM alerts WHERE kind = 'changed'",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        assert_eq!(changed_alerts(&s), 0);
        s.conn()
            .execute_batch(&format!(
                "INSERT INTO matches (notice_id, target, rule_id, severity, severity_rank, score, evidence,
                    evidence_start, match_start, match_end, ruleset_version, first_flagged_at, last_seen_at)
                 VALUES ({id}, 'notice:{id}', 'smm', 'high', 3, 1, 'e', 0, 0, 1, 'v', 't', 't');
                 INSERT INTO alerts (recipient, kind, match_id, notice_id, dedupe_key, status, created_at)
                 VALUES ('desk@x.kz', 'match', 1, {id}, 'match:{id}:smm', 'sent', 't');
                 INSERT INTO alerts (recipient, kind, match_id, notice_id, dedupe_key, status, created_at)
                 VALUES ('quiet@x.kz', 'match', 1, {id}, 'match:{id}:smm', 'baseline', 't');"
            ))
            .unwrap();
        let mut cancelled = changed;
        cancelled.status = Some("Отменено".into());
        cancelled.status_code = Some("430".into());
        s.store_page(src, &[cancelled.clone()], None).unwrap();
        let (recipient, payload): (String, String) = s
            .conn()
            .query_row(
                "SELECT recipient, payload FROM alerts WHERE kind = 'changed'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            recipient, "desk@x.kz",
            "baseline recipients were never told"
        );
        let p: serde_json::Value = serde_json::from_str(&payload).unwrap();
        let types: Vec<&str> = p["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["changed", "cancelled"], "{p}");
        assert_eq!(p["events"][1]["status"], "Отменено");
        // The same record again is no change: nothing more.
        s.store_page(src, &[cancelled], None).unwrap();
        assert_eq!(changed_alerts(&s), 1);
        assert_eq!(
            s.conn()
                .query_row(
                    "SELECT json_array_length(payload, '$.events') FROM alerts WHERE kind = 'changed'",
                    [],
                    |r| r.get::<_, i64>(0)
                )
                .unwrap(),
            2
        );
    }

    #[test]
    fn a_lot_no_longer_listed_is_not_read_and_its_match_retracted() {
        use crate::store::{NewMatch, Routable};
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("t.db")).unwrap();
        let src = s.ensure_source("g", "goszakup", "https://x").unwrap();
        let mut two = record("Услуги");
        let mut lot8 = two.lots[0].clone();
        lot8.external_id = "8".into();
        lot8.title = Some("Ведение фейковых аккаунтов".into());
        lot8.documents.clear();
        two.lots.push(lot8);
        let id = s.store_page(src, &[two.clone()], None).unwrap().touched[0];
        let input = s.scan_input(id).unwrap().unwrap();
        let lot = input
            .targets
            .iter()
            .find(|t| t.text.contains("фейковых"))
            .unwrap()
            .clone();
        let found = NewMatch {
            target: lot.target,
            lot_id: lot.lot_id,
            document_id: None,
            rule_id: "fake-accounts".into(),
            severity: crate::model::Severity::High,
            score: 1.0,
            evidence: lot.text.clone(),
            evidence_start: 0,
            start: "Ведение ".len(),
            end: "Ведение фейковых аккаунтов".len(),
            quotas_json: "[]".into(),
            quota_kind: None,
            quota_count: None,
            quota_period: None,
            quota_source: None,
            quota_label: None,
            quota_sure: None,
            reasons_json: None,
        };
        let route = |_: Routable<'_>| vec!["desk@x.kz".to_string()];
        s.record_scan(&input, "v1", &[found], &route, false)
            .unwrap();
        // The lot goes.
        let mut one = two;
        one.lots.truncate(1);
        s.store_page(src, &[one], None).unwrap();
        let input = s.scan_input(id).unwrap().unwrap();
        assert!(!input.targets.iter().any(|t| t.target == lot.target));
        let out = s.record_scan(&input, "v1", &[], &route, false).unwrap();
        assert_eq!(out.retracted, 1);
        let payload: String = s
            .conn()
            .query_row(
                "SELECT payload FROM alerts WHERE kind = 'changed'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let p: serde_json::Value = serde_json::from_str(&payload).unwrap();
        assert_eq!(p["events"][0]["type"], "changed");
        assert_eq!(p["events"][0]["changes"][0]["field"], "lot");
        assert_eq!(p["events"][0]["changes"][0]["change"], "removed");
        assert_eq!(p["events"][1]["type"], "phrase_removed");
        assert_eq!(p["events"][1]["place"], "lot");
        assert_eq!(p["events"][1]["phrase"], "фейковых аккаунтов");
    }

    #[test]
    fn a_fetched_document_is_reused_by_url() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("t.db")).unwrap();
        let src = s.ensure_source("g", "goszakup", "https://x").unwrap();
        let mut a = record("A");
        let out = s.store_page(src, &[a.clone()], None).unwrap();
        let doc = &s.pending_documents(out.touched[0]).unwrap()[0];
        assert!(!s.reuse_document(doc).unwrap());
        s.save_document(
            doc.id,
            &DocumentContent {
                kind: Some("pdf".into()),
                sha256: Some(sha256_hex(b"x")),
                text: Some("текст".into()),
                ..Default::default()
            },
        )
        .unwrap();
        a.external_id = "901".into();
        let out = s.store_page(src, &[a], None).unwrap();
        let doc = &s.pending_documents(out.touched[0]).unwrap()[0];
        assert!(s.reuse_document(doc).unwrap());
        assert!(s.pending_documents(out.touched[0]).unwrap().is_empty());
    }
}
