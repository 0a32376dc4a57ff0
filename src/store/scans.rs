//! Scans in the store: the documents whose page images were left unread for want of OCR
//! (`documents.ocr = 'unavailable'`), what `scan --ocr` writes back when it reads them, and the
//! counts `status` shows.

use super::notices::{DocumentContent, StaleRead};
use super::{Store, StoreError};
use rusqlite::params;

/// Documents (one per distinct content) whose page images are not read yet.
#[derive(Debug, Clone)]
pub struct UnreadScan {
    /// The first row with this content: the one its read mark is kept on.
    pub id: i64,
    pub sha256: String,
    pub file_name: Option<String>,
    pub media_type: Option<String>,
    pub url: String,
    /// How many document rows share it.
    pub rows: i64,
    /// A run died while reading it again.
    pub stale_read: Option<StaleRead>,
}

/// Documents by OCR state, for `status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OcrCounts {
    /// Read by OCR (some text or none).
    pub read: i64,
    /// Page images not read: no OCR when they were read.
    pub unread: i64,
    /// Reading them again failed.
    pub failed: i64,
}

impl Store {
    /// Up to `limit` unread scans after `after` (an id from the previous batch), oldest first;
    /// the same content stored for several notices comes once.
    pub fn unread_scans(&self, after: i64, limit: usize) -> Result<Vec<UnreadScan>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT MIN(id), sha256, file_name, media_type, url, COUNT(*),
                    read_started_at IS NOT NULL, read_attempts, read_in_process
             FROM documents
             WHERE ocr = 'unavailable' AND sha256 IS NOT NULL AND removed_at IS NULL
             GROUP BY sha256
             HAVING MIN(id) > ?1
             ORDER BY MIN(id)
             LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit as i64], |r| {
            let stale: bool = r.get(6)?;
            Ok(UnreadScan {
                id: r.get(0)?,
                sha256: r.get(1)?,
                file_name: r.get(2)?,
                media_type: r.get(3)?,
                url: r.get(4)?,
                rows: r.get(5)?,
                stale_read: if stale {
                    Some(StaleRead {
                        attempts: r.get(7)?,
                        in_process: r.get(8)?,
                    })
                } else {
                    None
                },
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// What reading the scan with content `sha256` again gave, written to every unread row
    /// with that content; their notices are scanned again. Returns the rows written.
    pub fn save_reread(&mut self, sha256: &str, c: &DocumentContent) -> Result<usize, StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "UPDATE notices SET scanned_version = NULL
             WHERE id IN (SELECT notice_id FROM documents
                          WHERE sha256 = ?1 AND ocr = 'unavailable' AND removed_at IS NULL)",
            [sha256],
        )?;
        let n = tx.execute(
            "UPDATE documents SET kind = COALESCE(?2, kind), text = ?3, scanned = ?4, notes = ?5,
                text_source = ?6, ocr = ?7, ocr_spans = ?8,
                read_started_at = NULL, read_in_process = 0, read_attempts = 0
             WHERE sha256 = ?1 AND ocr = 'unavailable' AND removed_at IS NULL",
            params![
                sha256,
                c.kind,
                c.text,
                c.scanned,
                c.notes,
                c.text_source,
                c.ocr,
                c.ocr_spans
            ],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Reading the scan with content `sha256` again failed: its rows say so (`ocr = 'failed'`,
    /// the reason added to the notes) and are not tried again.
    pub fn reread_failed(&self, sha256: &str, why: &str) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "UPDATE documents SET ocr = 'failed',
                notes = CASE WHEN notes IS NULL OR notes = '' THEN ?2 ELSE notes || char(10) || ?2 END,
                read_started_at = NULL, read_in_process = 0, read_attempts = 0
             WHERE sha256 = ?1 AND ocr = 'unavailable' AND removed_at IS NULL",
            params![sha256, why],
        )?)
    }

    /// How many documents OCR read, left unread, or failed on (removed ones aside).
    pub fn ocr_counts(&self) -> Result<OcrCounts, StoreError> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(SUM(ocr = 'read'), 0), COALESCE(SUM(ocr = 'unavailable'), 0),
                    COALESCE(SUM(ocr = 'failed'), 0)
             FROM documents WHERE ocr IS NOT NULL AND removed_at IS NULL",
            [],
            |r| {
                Ok(OcrCounts {
                    read: r.get(0)?,
                    unread: r.get(1)?,
                    failed: r.get(2)?,
                })
            },
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    /// A database of the version before OCR, with a scan, a typed document and a scan that
    /// failed to download; then opened by this build.
    fn migrated() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let mut conn = Connection::open(&path).unwrap();
            super::super::configure(&conn).unwrap();
            let before = super::super::MIGRATIONS
                .iter()
                .position(|(n, _)| n.ends_with("_ocr"))
                .unwrap() as i64;
            super::super::migrate_to(&mut conn, &path, before).unwrap();
            conn.execute_batch(
                "INSERT INTO sources (name, kind, url, created_at) VALUES ('g', 'goszakup', 'https://x', 't');
                 INSERT INTO notices (source_id, external_id, number, title, first_seen_at, last_seen_at, scanned_version)
                     VALUES (1, '42', '42-1', 'Услуги SMM', 't', 't', 'v1');
                 INSERT INTO documents (notice_id, url, kind, sha256, text, scanned, fetched_at, first_seen_at)
                     VALUES (1, 'https://x/scan.pdf', 'pdf', 'aa', '', 1, 't', 't'),
                            (1, 'https://x/spec.docx', 'docx', 'bb', 'Техническая спецификация', 0, 't', 't'),
                            (1, 'https://x/gone.pdf', NULL, NULL, NULL, 1, 't', 't');
                 UPDATE documents SET error = 'HTTP 404' WHERE id = 3;",
            )
            .unwrap();
        }
        let store = Store::open(&path).unwrap();
        (dir, store)
    }

    #[test]
    fn scans_stored_before_ocr_wait_for_it_and_typed_text_says_text() {
        let (_dir, store) = migrated();
        let rows: Vec<(Option<String>, Option<String>)> = store
            .conn()
            .prepare("SELECT text_source, ocr FROM documents ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (None, Some("unavailable".into())),
                (Some("text".into()), None),
                (None, None),
            ]
        );
        assert_eq!(
            store.ocr_counts().unwrap(),
            OcrCounts {
                read: 0,
                unread: 1,
                failed: 0
            }
        );
        let scans = store.unread_scans(0, 10).unwrap();
        assert_eq!(scans.len(), 1);
        assert_eq!((scans[0].id, scans[0].sha256.as_str()), (1, "aa"));
        assert!(store.unread_scans(1, 10).unwrap().is_empty());
    }

    #[test]
    fn a_scan_read_again_is_stored_and_its_notice_scanned_again() {
        let (_dir, mut store) = migrated();
        let text = "Создание четырех фейковых аккаунтов";
        let c = DocumentContent {
            kind: Some("pdf".into()),
            text: Some(text.into()),
            scanned: true,
            text_source: Some("ocr".into()),
            ocr: Some("read".into()),
            ocr_spans: Some(format!("[[0,{}]]", text.len())),
            notes: Some("scan.pdf: no text layer".into()),
            ..Default::default()
        };
        assert_eq!(store.save_reread("aa", &c).unwrap(), 1);
        let (t, src, spans, version): (String, String, String, Option<String>) = store
            .conn()
            .query_row(
                "SELECT d.text, d.text_source, d.ocr_spans, n.scanned_version
                 FROM documents d JOIN notices n ON n.id = d.notice_id WHERE d.id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!((t.as_str(), src.as_str()), (text, "ocr"));
        assert_eq!(spans, format!("[[0,{}]]", text.len()));
        assert_eq!(version, None, "the notice is scanned again");
        assert_eq!(store.ocr_counts().unwrap().read, 1);
        assert!(store.unread_scans(0, 10).unwrap().is_empty());
        // not twice
        assert_eq!(store.save_reread("aa", &c).unwrap(), 0);
    }

    #[test]
    fn a_failed_reread_is_noted_and_not_tried_again() {
        let (_dir, store) = migrated();
        assert_eq!(
            store
                .reread_failed("aa", "OCR: the PDF reader crashed")
                .unwrap(),
            1
        );
        assert_eq!(store.ocr_counts().unwrap().failed, 1);
        assert!(store.unread_scans(0, 10).unwrap().is_empty());
        let notes: String = store
            .conn()
            .query_row("SELECT notes FROM documents WHERE id = 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(notes, "OCR: the PDF reader crashed");
    }

    #[test]
    fn flags_say_whether_the_matched_words_were_read_by_ocr() {
        let (_dir, store) = migrated();
        store
            .conn()
            .execute_batch(
                "UPDATE documents SET text = 'typed. scanned words here', ocr = 'read',
                     text_source = 'text+ocr', ocr_spans = '[[8,25]]' WHERE id = 1;
                 INSERT INTO matches (notice_id, document_id, target, rule_id, severity, severity_rank,
                     score, evidence, evidence_start, match_start, match_end, ruleset_version,
                     first_flagged_at, last_seen_at)
                 VALUES (1, 1, 'document:1', 'in-scan', 'high', 3, 1.0, 'scanned words', 8, 8, 15, 'v', 't', 't'),
                        (1, 1, 'document:1', 'typed', 'high', 3, 1.0, 'typed', 0, 0, 5, 'v', 't', 't'),
                        (1, 2, 'document:2', 'other-doc', 'high', 3, 1.0, 'x', 0, 0, 5, 'v', 't', 't');",
            )
            .unwrap();
        let flags: Vec<(String, i64)> = store
            .conn()
            .prepare("SELECT rule_id, read_by_ocr FROM flags ORDER BY rule_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            flags,
            vec![
                ("in-scan".to_string(), 1),
                ("other-doc".to_string(), 0),
                ("typed".to_string(), 0)
            ]
        );
        // the columns scripts rely on are all there, in their order, and the new one last
        let cols: Vec<String> = store
            .conn()
            .prepare("SELECT * FROM flags")
            .unwrap()
            .column_names()
            .map(str::to_string)
            .collect();
        assert_eq!(cols.first().map(String::as_str), Some("source"));
        assert_eq!(cols[cols.len() - 2], "first_flagged_at");
        assert_eq!(cols.last().map(String::as_str), Some("read_by_ocr"));
    }
}
