//! The alert outbox's side of the store: what is pending for whom, digests and their
//! delivery states, and the facts the operator check looks at.
//!
//! State changes that must agree (a digest and its alerts) happen in one transaction.
//! See `src/alert/README.md` for the state machine these queries implement.

use super::{Store, StoreError, now};
use crate::model::Severity;
use crate::states::{
    AlertKind, AlertStatus, ChangeEvent, DigestKind, DigestStatus, Period, QuotaKind,
};
use rusqlite::{OptionalExtension, params};

/// One pending match alert with everything a digest shows about it. Every text field
/// comes from a portal and is untrusted.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertItem {
    pub alert_id: i64,
    pub notice_id: i64,
    pub notice_number: Option<String>,
    pub title: String,
    pub lot_number: Option<String>,
    pub lot_title: Option<String>,
    pub agency_name: Option<String>,
    pub agency_bin: Option<String>,
    /// The notice's amount.
    pub notice_amount: Option<f64>,
    /// The lot's amount when the match is in a lot or a lot's document, else the notice's.
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub deadline_at: Option<String>,
    pub deadline_local: Option<String>,
    pub url: Option<String>,
    pub source: String,
    /// The document the match was found in (its file name or title), if any.
    pub document: Option<String>,
    pub rule_id: String,
    pub severity: Severity,
    pub evidence: String,
    pub evidence_start: i64,
    pub match_start: i64,
    pub match_end: i64,
    pub quota_kind: Option<QuotaKind>,
    pub quota_count: Option<i64>,
    pub quota_period: Option<Period>,
    /// The notice no longer says this (edited since the match was recorded).
    pub retracted: bool,
    /// The matched words were read by OCR from a scan (which can err).
    pub by_ocr: bool,
    /// The notice's procurement method ("Из одного источника ...").
    pub method: Option<String>,
    /// Who was paid: the suppliers of the notice's awards and contracts still listed,
    /// as (name where known, identifier: the BIN/IIN for goszakup).
    pub suppliers: Vec<(Option<String>, String)>,
    /// A plan point (notice kind `plan`): reported in the digest's own section, as planned.
    pub planned: bool,
    /// For a plan point, the announcements and contracts that follow it; for an
    /// announcement or contract, the plan points it follows: (number, public URL) each.
    pub plan_links: Vec<(Option<String>, Option<String>)>,
    /// What the second opinion said about the match: its score and the words that moved it.
    pub reasons: Vec<String>,
    /// The SHA-256 of the document the match was found in (as fetched), if any.
    pub document_sha256: Option<String>,
    /// Where the quota's count came from: `table` or `text` (`None`: recorded before this
    /// was kept), the table row's name or the words read, and whether it is sure enough
    /// for a price per unit.
    pub quota_source: Option<String>,
    pub quota_label: Option<String>,
    pub quota_sure: bool,
}

/// One pending `changed` alert: a flagged notice changed, lost the matched words, was
/// cancelled or disappeared. `events` are the payload's events, oldest first (see
/// `store::history`). Text fields are untrusted.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeItem {
    pub alert_id: i64,
    pub notice_id: i64,
    pub notice_number: Option<String>,
    pub title: String,
    pub agency_name: Option<String>,
    pub url: Option<String>,
    /// The notice's currency, for the amounts its changes name.
    pub currency: Option<String>,
    pub events: Vec<ChangeEvent>,
}

/// The payload of a `changed` alert as read (its `keys` are for the store's queries).
#[derive(serde::Deserialize)]
struct ChangePayload {
    events: Vec<ChangeEvent>,
}

/// A composed message, ready to be queued.
#[derive(Debug, Clone)]
pub struct DigestContent {
    pub message_id: String,
    pub subject: String,
    /// The whole message as it is handed to the server.
    pub raw: Vec<u8>,
}

/// A digest as stored, for `--resend`.
#[derive(Debug, Clone)]
pub struct StoredDigest {
    pub id: i64,
    pub recipient: String,
    pub message_id: String,
    pub subject: String,
    pub status: DigestStatus,
    pub attempts: i64,
    pub raw: Option<Vec<u8>>,
}

/// What [`Store::recover_interrupted_digests`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Digests composed but never handed over: failed, their alerts back to pending.
    pub released: Vec<i64>,
    /// Digests caught mid-send: now `unconfirmed`, alerts kept attached.
    pub unconfirmed: Vec<i64>,
}

/// A digest a run died while sending.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UnconfirmedDigest {
    pub id: i64,
    /// `digest` (a recipient's) or `operator` (the admin's).
    pub kind: DigestKind,
    pub recipient: String,
    pub message_id: String,
    /// Composed from rule titles and counts, cleaned for a header (no notice text).
    pub subject: String,
    /// When it was handed to the server (UTC); failed resends leave it as it was.
    pub attempted_at: Option<String>,
    /// `attempted_at`, else when it was composed: what its age counts from (UTC).
    pub since: String,
    pub alerts: i64,
}

/// A source that keeps failing.
#[derive(Debug, Clone)]
pub struct FailingSource {
    pub name: String,
    pub consecutive_failures: i64,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub last_success_at: Option<String>,
}

/// Pending alerts whose first failed delivery is older than some time.
#[derive(Debug, Clone)]
pub struct StaleFailures {
    pub alerts: i64,
    pub recipients: i64,
    pub oldest_failure: String,
    pub last_error: Option<String>,
}

const ITEM_SELECT: &str = "
    SELECT a.id, a.notice_id, n.number, n.title, l.number, l.title,
           COALESCE(ag.name_ru, ag.name_kk, ag.name_en), ag.identifier,
           n.amount, COALESCE(l.amount, n.amount), n.currency, n.deadline_at, n.deadline_local,
           n.url, s.name, COALESCE(d.file_name, d.title),
           m.rule_id, m.severity, m.evidence, m.evidence_start, m.match_start, m.match_end,
           m.quota_kind, m.quota_count, m.quota_period, m.retracted_at IS NOT NULL,
           CASE WHEN json_valid(d.ocr_spans) THEN EXISTS (
               SELECT 1 FROM json_each(d.ocr_spans) j
               WHERE json_extract(j.value, '$[0]') < MAX(m.match_end, m.match_start + 1)
                 AND json_extract(j.value, '$[1]') > m.match_start)
           ELSE 0 END,
           n.method,
           (SELECT json_group_array(json_array(w.name, w.identifier)) FROM (
               SELECT DISTINCT sp.name AS name, sp.identifier AS identifier
               FROM awards aw JOIN award_suppliers x ON x.award_id = aw.id
               JOIN suppliers sp ON sp.id = x.supplier_id
               WHERE aw.notice_id = n.id AND aw.removed_at IS NULL
               ORDER BY sp.identifier) w),
           n.kind = 'plan',
           (SELECT json_group_array(json_array(o.number, o.url)) FROM (
               SELECT DISTINCT o.id, o.number AS number, o.url AS url
               FROM plan_links me
               JOIN plan_links pl ON pl.plan_point = me.plan_point AND pl.notice_id <> me.notice_id
               JOIN notices o ON o.id = pl.notice_id
               WHERE me.notice_id = n.id AND o.source_id = n.source_id
                 AND (o.kind = 'plan') <> (n.kind = 'plan')
               ORDER BY o.id LIMIT 5) o),
           m.reasons, d.sha256, m.quota_source, m.quota_label, COALESCE(m.quota_sure, 0)
    FROM alerts a
    JOIN matches m ON m.id = a.match_id
    JOIN notices n ON n.id = m.notice_id
    JOIN sources s ON s.id = n.source_id
    LEFT JOIN lots l ON l.id = m.lot_id
    LEFT JOIN agencies ag ON ag.id = n.agency_id
    LEFT JOIN documents d ON d.id = m.document_id";

fn item_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlertItem> {
    Ok(AlertItem {
        alert_id: r.get(0)?,
        notice_id: r.get(1)?,
        notice_number: r.get(2)?,
        title: r.get(3)?,
        lot_number: r.get(4)?,
        lot_title: r.get(5)?,
        agency_name: r.get(6)?,
        agency_bin: r.get(7)?,
        notice_amount: r.get(8)?,
        amount: r.get(9)?,
        currency: r.get(10)?,
        deadline_at: r.get(11)?,
        deadline_local: r.get(12)?,
        url: r.get(13)?,
        source: r.get(14)?,
        document: r.get(15)?,
        rule_id: r.get(16)?,
        severity: r.get(17)?,
        evidence: r.get(18)?,
        evidence_start: r.get(19)?,
        match_start: r.get(20)?,
        match_end: r.get(21)?,
        quota_kind: r.get(22)?,
        quota_count: r.get(23)?,
        quota_period: r.get(24)?,
        retracted: r.get(25)?,
        by_ocr: r.get(26)?,
        method: r.get(27)?,
        suppliers: r
            .get::<_, Option<String>>(28)?
            .and_then(|j| serde_json::from_str::<Vec<(Option<String>, String)>>(&j).ok())
            .unwrap_or_default(),
        planned: r.get(29)?,
        plan_links: r
            .get::<_, Option<String>>(30)?
            .and_then(|j| serde_json::from_str::<Vec<(Option<String>, Option<String>)>>(&j).ok())
            .unwrap_or_default(),
        reasons: r
            .get::<_, Option<String>>(31)?
            .and_then(|j| serde_json::from_str::<Vec<String>>(&j).ok())
            .unwrap_or_default(),
        document_sha256: r.get(32)?,
        quota_source: r.get(33)?,
        quota_label: r.get(34)?,
        quota_sure: r.get(35)?,
    })
}

impl Store {
    /// Recipients with pending match alerts, in a stable order.
    pub fn pending_alert_recipients(&self) -> Result<Vec<String>, StoreError> {
        // Match alerts a `false-positive` verdict holds back do not count.
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT DISTINCT recipient FROM alerts a
             WHERE status = ?1 AND kind IN (?2, ?3, ?4) AND NOT {}
             ORDER BY recipient",
            super::verdicts::withheld_alert_sql()
        ))?;
        let rows = stmt.query_map(
            params![
                AlertStatus::Pending,
                AlertKind::Match,
                AlertKind::Changed,
                AlertKind::Watch
            ],
            |r| r.get(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A recipient's pending match alerts, most severe first, grouped by notice; not those
    /// a `false-positive` verdict holds back (they stay pending, see `store::verdicts`).
    pub fn pending_alerts(&self, recipient: &str) -> Result<Vec<AlertItem>, StoreError> {
        let sql = format!(
            "{ITEM_SELECT}
             WHERE a.recipient = ?1 AND a.status = ?2 AND a.kind = ?3 AND NOT {}
             ORDER BY a.notice_id, a.id",
            super::verdicts::withheld_alert_sql()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            params![recipient, AlertStatus::Pending, AlertKind::Match],
            item_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The last slot of `recipient`'s digest schedule whose digests were handed over (UTC,
    /// RFC 3339), if any.
    pub fn digest_slot(&self, recipient: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT slot FROM digest_slots WHERE recipient = ?1")?
            .query_row(params![recipient], |r| r.get(0))
            .optional()?)
    }

    /// Record that `recipient`'s digests of the slot at `slot` were handed over.
    pub fn record_digest_slot(&self, recipient: &str, slot: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO digest_slots (recipient, slot, sent_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(recipient) DO UPDATE SET slot = excluded.slot, sent_at = excluded.sent_at",
            )?
            .execute(params![recipient, slot, now()])?;
        Ok(())
    }

    /// A recipient's pending `changed` alerts, by notice. A payload that is not a list of
    /// known events (the database's checks keep such rows out) is an error naming the alert.
    pub fn pending_changes(&self, recipient: &str) -> Result<Vec<ChangeItem>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.id, a.notice_id, n.number, n.title, COALESCE(ag.name_ru, ag.name_kk, ag.name_en),
                    n.url, a.payload, n.currency
             FROM alerts a JOIN notices n ON n.id = a.notice_id
             LEFT JOIN agencies ag ON ag.id = n.agency_id
             WHERE a.recipient = ?1 AND a.status = ?2 AND a.kind = ?3
             ORDER BY a.notice_id, a.id",
        )?;
        let rows = stmt.query_map(
            params![recipient, AlertStatus::Pending, AlertKind::Changed],
            |r| {
                let alert_id: i64 = r.get(0)?;
                let payload: String = r.get(6)?;
                let events = serde_json::from_str::<ChangePayload>(&payload)
                    .map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(
                            6,
                            rusqlite::types::Type::Text,
                            format!("alert {alert_id}: payload: {e}").into(),
                        )
                    })?
                    .events;
                Ok(ChangeItem {
                    alert_id,
                    notice_id: r.get(1)?,
                    notice_number: r.get(2)?,
                    title: r.get(3)?,
                    agency_name: r.get(4)?,
                    url: r.get(5)?,
                    currency: r.get(7)?,
                    events,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Write a digest row and attach its alerts, in one transaction, before anything is
    /// sent. `build` gets the new digest's id (for the Message-ID) and composes the
    /// message. The alerts must all still be pending (else nothing is written).
    pub fn queue_digest<E: From<StoreError>>(
        &mut self,
        recipient: &str,
        kind: DigestKind,
        alert_ids: &[i64],
        build: impl FnOnce(i64) -> Result<DigestContent, E>,
    ) -> Result<i64, E> {
        let tx = self.conn.transaction().map_err(StoreError::from)?;
        let at = now();
        // The placeholder is unique and replaced before the transaction commits.
        let placeholder = format!("<placeholder.{}>", rand::random::<u64>());
        tx.execute(
            "INSERT INTO digests (recipient, message_id, subject, status, kind, alert_count, created_at)
             VALUES (?1, ?2, '', ?6, ?3, ?4, ?5)",
            params![
                recipient,
                placeholder,
                kind,
                alert_ids.len() as i64,
                at,
                DigestStatus::Queued
            ],
        )
        .map_err(StoreError::from)?;
        let id = tx.last_insert_rowid();
        let content = build(id)?;
        tx.execute(
            "UPDATE digests SET message_id = ?2, subject = ?3, raw = ?4 WHERE id = ?1",
            params![id, content.message_id, content.subject, content.raw],
        )
        .map_err(StoreError::from)?;
        let mut attached = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "UPDATE alerts SET status = ?4, digest_id = ?1
                     WHERE id = ?2 AND recipient = ?3 AND status = ?5",
                )
                .map_err(StoreError::from)?;
            for a in alert_ids {
                attached += stmt
                    .execute(params![
                        id,
                        a,
                        recipient,
                        AlertStatus::Queued,
                        AlertStatus::Pending
                    ])
                    .map_err(StoreError::from)?;
            }
        }
        if attached != alert_ids.len() {
            // Someone else took some of these alerts: write nothing.
            return Err(StoreError::Sql(rusqlite::Error::StatementChangedRows(attached)).into());
        }
        tx.commit().map_err(StoreError::from)?;
        Ok(id)
    }

    /// The stored content of `recipient`'s delivered (`sent`) and maybe-delivered
    /// (`unconfirmed`) digests other than `except`, newest first, at most `limit`: what a
    /// feed is rebuilt from.
    pub fn delivered_contents(
        &self,
        recipient: &str,
        except: i64,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT raw FROM digests WHERE recipient = ?1 AND id != ?2 AND status IN (?3, ?4)
               AND raw IS NOT NULL ORDER BY id DESC LIMIT ?5",
        )?;
        let rows = stmt.query_map(
            params![
                recipient,
                except,
                DigestStatus::Sent,
                DigestStatus::Unconfirmed,
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| r.get::<_, Vec<u8>>(0),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The hand-over to the server starts now: from here on a crash leaves the digest
    /// `sending`, which the next run turns into `unconfirmed`.
    pub fn mark_digest_sending(&self, id: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE digests SET status = ?3, attempts = attempts + 1, attempted_at = ?2
             WHERE id = ?1 AND status = ?4",
            params![id, now(), DigestStatus::Sending, DigestStatus::Queued],
        )?;
        Ok(())
    }

    /// The server took the digest: it and its alerts are sent. Returns the alerts marked.
    pub fn mark_digest_sent(&mut self, id: i64) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let at = now();
        tx.execute(
            "UPDATE digests SET status = ?3, sent_at = ?2, last_error = NULL WHERE id = ?1",
            params![id, at, DigestStatus::Sent],
        )?;
        let n = alerts_sent(&tx, id, &at)?;
        tx.commit()?;
        Ok(n)
    }

    /// The server did not take the digest: it is `failed`, and its alerts go back to
    /// pending with the error, an attempt more, and the time of their first failure.
    pub fn mark_digest_failed(&mut self, id: i64, error: &str) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let at = now();
        tx.execute(
            "UPDATE digests SET status = ?4, last_error = ?2,
                attempts = CASE WHEN status = ?5 THEN attempts + 1 ELSE attempts END,
                attempted_at = COALESCE(attempted_at, ?3)
             WHERE id = ?1",
            params![id, error, at, DigestStatus::Failed, DigestStatus::Queued],
        )?;
        let n = tx.execute(
            "UPDATE alerts SET status = ?4, digest_id = NULL, attempts = attempts + 1,
                last_error = ?2, first_failed_at = COALESCE(first_failed_at, ?3)
             WHERE digest_id = ?1 AND status = ?5",
            params![id, error, at, AlertStatus::Pending, AlertStatus::Queued],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// A delivery failure before any digest was composed (the server could not be
    /// reached): every pending alert of `recipient` of `kind` records it.
    pub fn record_alert_failure(
        &self,
        recipient: &str,
        kind: AlertKind,
        error: &str,
    ) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "UPDATE alerts SET attempts = attempts + 1, last_error = ?3,
                first_failed_at = COALESCE(first_failed_at, ?4)
             WHERE recipient = ?1 AND kind = ?2 AND status = ?5",
            params![recipient, kind, error, now(), AlertStatus::Pending],
        )?)
    }

    /// Deal with digests a dead run left behind. Call only while holding the run lock.
    /// `queued` digests were never handed over: failed, alerts released. `sending`
    /// digests may have reached the server: `unconfirmed`, alerts stay attached.
    pub fn recover_interrupted_digests(&mut self) -> Result<Recovered, StoreError> {
        let tx = self.conn.transaction()?;
        let mut out = Recovered::default();
        {
            let mut stmt =
                tx.prepare("SELECT id, status FROM digests WHERE status IN (?1, ?2) ORDER BY id")?;
            let rows = stmt
                .query_map(params![DigestStatus::Queued, DigestStatus::Sending], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, DigestStatus>(1)?))
                })?;
            for row in rows {
                match row? {
                    (id, DigestStatus::Queued) => out.released.push(id),
                    (id, _) => out.unconfirmed.push(id),
                }
            }
        }
        let error = "the run stopped before this digest was handed to the server";
        for id in &out.released {
            tx.execute(
                "UPDATE digests SET status = ?3, last_error = ?2 WHERE id = ?1",
                params![id, error, DigestStatus::Failed],
            )?;
            tx.execute(
                "UPDATE alerts SET status = ?2, digest_id = NULL
                 WHERE digest_id = ?1 AND status = ?3",
                params![id, AlertStatus::Pending, AlertStatus::Queued],
            )?;
        }
        for id in &out.unconfirmed {
            tx.execute(
                "UPDATE digests SET status = ?2,
                    last_error = 'the run stopped while handing this digest to the server: it may have been delivered'
                 WHERE id = ?1",
                params![id, DigestStatus::Unconfirmed],
            )?;
        }
        tx.commit()?;
        Ok(out)
    }

    /// One digest, for `--resend`.
    pub fn digest(&self, id: i64) -> Result<Option<StoredDigest>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, recipient, message_id, subject, status, attempts, raw FROM digests WHERE id = ?1",
                [id],
                |r| {
                    Ok(StoredDigest {
                        id: r.get(0)?,
                        recipient: r.get(1)?,
                        message_id: r.get(2)?,
                        subject: r.get(3)?,
                        status: r.get(4)?,
                        attempts: r.get(5)?,
                        raw: r.get(6)?,
                    })
                },
            )
            .optional()?)
    }

    /// A resend went through: the digest and the alerts still attached to it are sent.
    pub fn mark_digest_resent(&mut self, id: i64) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let at = now();
        tx.execute(
            "UPDATE digests SET status = ?3, sent_at = ?2, attempts = attempts + 1,
                attempted_at = ?2, last_error = NULL
             WHERE id = ?1",
            params![id, at, DigestStatus::Sent],
        )?;
        let n = alerts_sent(&tx, id, &at)?;
        tx.commit()?;
        Ok(n)
    }

    /// A person checked that `unconfirmed` digest `id` arrived: it and its alerts are
    /// sent, as of the time it was handed over. Returns the alerts marked.
    pub fn mark_digest_confirmed(&mut self, id: i64) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        let at: Option<String> = tx
            .query_row(
                "SELECT COALESCE(attempted_at, created_at) FROM digests WHERE id = ?1 AND status = ?2",
                params![id, DigestStatus::Unconfirmed],
                |r| r.get(0),
            )
            .optional()?;
        let Some(at) = at else {
            return Ok(0);
        };
        tx.execute(
            "UPDATE digests SET status = ?3, sent_at = ?2, last_error = NULL WHERE id = ?1",
            params![id, at, DigestStatus::Sent],
        )?;
        let n = alerts_sent(&tx, id, &at)?;
        tx.commit()?;
        Ok(n)
    }

    /// A resend failed: the digest keeps its state, with the error and an attempt more.
    /// An `unconfirmed` digest keeps its `attempted_at` (the time it was caught mid-send,
    /// which its automatic resend counts from), so the next run tries again.
    pub fn record_resend_failure(&self, id: i64, error: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE digests SET attempts = attempts + 1, last_error = ?2,
                attempted_at = CASE WHEN status = ?4 THEN COALESCE(attempted_at, ?3) ELSE ?3 END
             WHERE id = ?1",
            params![id, error, now(), DigestStatus::Unconfirmed],
        )?;
        Ok(())
    }

    /// Digests whose delivery is unknown, oldest first.
    pub fn unconfirmed_digests(&self) -> Result<Vec<UnconfirmedDigest>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT d.id, d.kind, d.recipient, d.message_id, d.subject, d.attempted_at,
                    COALESCE(d.attempted_at, d.created_at),
                    (SELECT count(*) FROM alerts a WHERE a.digest_id = d.id)
             FROM digests d WHERE d.status = ?1 ORDER BY d.id",
        )?;
        let rows = stmt.query_map([DigestStatus::Unconfirmed], |r| {
            Ok(UnconfirmedDigest {
                id: r.get(0)?,
                kind: r.get(1)?,
                recipient: r.get(2)?,
                message_id: r.get(3)?,
                subject: r.get(4)?,
                attempted_at: r.get(5)?,
                since: r.get(6)?,
                alerts: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sources with at least `min` failures in a row.
    pub fn failing_sources(&self, min: i64) -> Result<Vec<FailingSource>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT name, consecutive_failures, last_error, last_error_at, last_success_at
             FROM sources WHERE consecutive_failures >= ?1 ORDER BY name",
        )?;
        let rows = stmt.query_map([min], |r| {
            Ok(FailingSource {
                name: r.get(0)?,
                consecutive_failures: r.get(1)?,
                last_error: r.get(2)?,
                last_error_at: r.get(3)?,
                last_success_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Pending (non-operator) alerts whose first failed delivery is before `before` (UTC).
    pub fn stale_failed_alerts(&self, before: &str) -> Result<Option<StaleFailures>, StoreError> {
        // Alerts a `false-positive` verdict holds back are not waiting for the mail.
        let row: (i64, i64, Option<String>) = self.conn.query_row(
            &format!(
                "SELECT count(*), count(DISTINCT recipient), min(first_failed_at) FROM alerts a
                 WHERE status = ?2 AND kind <> ?3 AND first_failed_at IS NOT NULL
                   AND first_failed_at < ?1 AND NOT {}",
                super::verdicts::withheld_alert_sql()
            ),
            params![before, AlertStatus::Pending, AlertKind::Operator],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let (alerts, recipients, Some(oldest_failure)) = row else {
            return Ok(None);
        };
        if alerts == 0 {
            return Ok(None);
        }
        let last_error: Option<String> = self
            .conn
            .query_row(
                "SELECT last_error FROM alerts WHERE status = ?1 AND kind <> ?2
                   AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1",
                params![AlertStatus::Pending, AlertKind::Operator],
                |r| r.get(0),
            )
            .optional()?;
        Ok(Some(StaleFailures {
            alerts,
            recipients,
            oldest_failure,
            last_error,
        }))
    }

    /// Queue one operator alert; `dedupe_key` names the problem, so the same ongoing
    /// problem is queued once. Returns whether it is new.
    pub fn queue_operator_alert(
        &self,
        admin: &str,
        dedupe_key: &str,
        payload: &serde_json::Value,
    ) -> Result<bool, StoreError> {
        let n = self.conn.execute(
            "INSERT INTO alerts (recipient, kind, dedupe_key, payload, status, created_at)
             VALUES (?1, ?5, ?2, ?3, ?6, ?4)
             ON CONFLICT(recipient, dedupe_key) DO NOTHING",
            params![
                admin,
                dedupe_key,
                payload.to_string(),
                now(),
                AlertKind::Operator,
                AlertStatus::Pending
            ],
        )?;
        Ok(n > 0)
    }

    /// Pending operator alerts for `admin`: (alert id, payload JSON).
    pub fn pending_operator_alerts(
        &self,
        admin: &str,
    ) -> Result<Vec<(i64, serde_json::Value)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, payload FROM alerts WHERE recipient = ?1 AND kind = ?2
               AND status = ?3 ORDER BY id",
        )?;
        let rows = stmt.query_map(
            params![admin, AlertKind::Operator, AlertStatus::Pending],
            |r| {
                let p: Option<String> = r.get(1)?;
                Ok((
                    r.get(0)?,
                    p.and_then(|p| serde_json::from_str(&p).ok())
                        .unwrap_or(serde_json::Value::Null),
                ))
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// The alerts still attached to digest `id` are sent, as of `at`. Returns how many.
fn alerts_sent(conn: &rusqlite::Connection, id: i64, at: &str) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "UPDATE alerts SET status = ?3, sent_at = ?2 WHERE digest_id = ?1 AND status = ?4",
        params![id, at, AlertStatus::Sent, AlertStatus::Queued],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with_alerts(n: i64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        store
            .conn
            .execute_batch(
                "INSERT INTO sources (name, kind, url, created_at) VALUES ('g', 'goszakup', 'https://x', 't');
                 INSERT INTO notices (source_id, external_id, title, first_seen_at, last_seen_at)
                     VALUES (1, '1', 'Услуги', 't', 't');",
            )
            .unwrap();
        for i in 0..n {
            store
                .conn
                .execute(
                    "INSERT INTO matches (notice_id, target, rule_id, severity, severity_rank, score,
                        evidence, evidence_start, match_start, match_end, ruleset_version,
                        first_flagged_at, last_seen_at)
                     VALUES (1, 'notice:1', ?1, 'high', 3, 1, 'e', 0, 0, 1, 'v', 't', 't')",
                    [format!("r{i}")],
                )
                .unwrap();
            store
                .conn
                .execute(
                    "INSERT INTO alerts (recipient, kind, match_id, notice_id, dedupe_key, created_at)
                     VALUES ('a@x.kz', 'match', ?1, 1, ?2, 't')",
                    params![store.conn.last_insert_rowid(), format!("k{i}")],
                )
                .unwrap();
        }
        (dir, store)
    }

    fn content(id: i64) -> Result<DigestContent, StoreError> {
        Ok(DigestContent {
            message_id: format!("<tenderscan.{id}.0@x.kz>"),
            subject: "s".into(),
            raw: b"raw".to_vec(),
        })
    }

    fn statuses(store: &Store) -> Vec<(String, Option<i64>)> {
        let mut stmt = store
            .conn
            .prepare("SELECT status, digest_id FROM alerts ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_dead_run_leaves_queued_digests_released_and_sending_ones_unconfirmed() {
        let (_dir, mut store) = store_with_alerts(3);
        let items = store.pending_alerts("a@x.kz").unwrap();
        assert_eq!(items.len(), 3);
        let queued = store
            .queue_digest("a@x.kz", DigestKind::Digest, &[1], content)
            .unwrap();
        let sending = store
            .queue_digest("a@x.kz", DigestKind::Digest, &[2], content)
            .unwrap();
        store.mark_digest_sending(sending).unwrap();
        let sent = store
            .queue_digest("a@x.kz", DigestKind::Digest, &[3], content)
            .unwrap();
        store.mark_digest_sending(sent).unwrap();
        assert_eq!(store.mark_digest_sent(sent).unwrap(), 1);

        let r = store.recover_interrupted_digests().unwrap();
        assert_eq!(r.released, vec![queued]);
        assert_eq!(r.unconfirmed, vec![sending]);
        assert_eq!(
            statuses(&store),
            vec![
                ("pending".into(), None),
                ("queued".into(), Some(sending)),
                ("sent".into(), Some(sent)),
            ]
        );
        assert_eq!(
            store.digest(queued).unwrap().unwrap().status,
            DigestStatus::Failed
        );
        let u = store.unconfirmed_digests().unwrap();
        assert_eq!((u.len(), u[0].id, u[0].alerts), (1, sending, 1));
        // Recovery is idempotent.
        assert_eq!(
            store.recover_interrupted_digests().unwrap(),
            Recovered::default()
        );
        // The released alert is pending again; the unconfirmed one is not.
        let pending: Vec<i64> = store
            .pending_alerts("a@x.kz")
            .unwrap()
            .iter()
            .map(|i| i.alert_id)
            .collect();
        assert_eq!(pending, vec![1]);
        assert_eq!(store.mark_digest_resent(sending).unwrap(), 1);
        assert_eq!(statuses(&store)[1], ("sent".into(), Some(sending)));
    }

    #[test]
    fn an_unconfirmed_digest_keeps_its_time_through_failed_resends() {
        let (_dir, mut store) = store_with_alerts(1);
        let id = store
            .queue_digest("a@x.kz", DigestKind::Digest, &[1], content)
            .unwrap();
        store.mark_digest_sending(id).unwrap();
        store.recover_interrupted_digests().unwrap();
        store
            .conn
            .execute(
                "UPDATE digests SET attempted_at = '2026-01-01T00:00:00Z' WHERE id = ?1",
                [id],
            )
            .unwrap();
        store
            .record_resend_failure(id, "connection refused")
            .unwrap();
        let u = store.unconfirmed_digests().unwrap();
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].since, "2026-01-01T00:00:00Z");
        assert_eq!(
            (u[0].kind, u[0].subject.as_str()),
            (DigestKind::Digest, "s")
        );
        let d = store.digest(id).unwrap().unwrap();
        assert_eq!((d.status, d.attempts), (DigestStatus::Unconfirmed, 2));
        // A `sent` digest resent by hand records the new attempt's time.
        assert_eq!(store.mark_digest_resent(id).unwrap(), 1);
        store
            .conn
            .execute(
                "UPDATE digests SET attempted_at = '2026-01-01T00:00:00Z' WHERE id = ?1",
                [id],
            )
            .unwrap();
        store.record_resend_failure(id, "timeout").unwrap();
        let at: String = store
            .conn
            .query_row(
                "SELECT attempted_at FROM digests WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        assert_ne!(at, "2026-01-01T00:00:00Z");
    }

    #[test]
    fn a_digest_is_written_whole_or_not_at_all() {
        let (_dir, mut store) = store_with_alerts(2);
        store
            .queue_digest("a@x.kz", DigestKind::Digest, &[1], content)
            .unwrap();
        // Alert 1 is taken: a digest claiming it again writes nothing.
        assert!(
            store
                .queue_digest("a@x.kz", DigestKind::Digest, &[2, 1], content)
                .is_err()
        );
        // Another recipient's alert cannot be attached either.
        assert!(
            store
                .queue_digest("b@x.kz", DigestKind::Digest, &[2], content)
                .is_err()
        );
        let digests: i64 = store
            .conn
            .query_row("SELECT count(*) FROM digests", [], |r| r.get(0))
            .unwrap();
        assert_eq!(digests, 1);
        assert_eq!(statuses(&store)[1], ("pending".into(), None));
        // A failure releases with the error, an attempt and the first failure time.
        let id = store
            .queue_digest("a@x.kz", DigestKind::Digest, &[2], content)
            .unwrap();
        store.mark_digest_sending(id).unwrap();
        assert_eq!(store.mark_digest_failed(id, "550 refused").unwrap(), 1);
        let (attempts, err, first): (i64, String, Option<String>) = store
            .conn
            .query_row(
                "SELECT attempts, last_error, first_failed_at FROM alerts WHERE id = 2",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((attempts, err.as_str()), (1, "550 refused"));
        assert!(first.is_some());
        let d = store.digest(id).unwrap().unwrap();
        assert_eq!((d.status, d.attempts), (DigestStatus::Failed, 1));
    }
}
