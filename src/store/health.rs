//! What `status` counts for the admin: alerts not delivered, per recipient, and documents
//! that could not be read, by why.
//!
//! Read-only: this module must never write.

use super::{Store, StoreError};

/// A recipient's alerts that are not delivered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecipientAlerts {
    pub recipient: String,
    /// Waiting for the next digest, never tried.
    pub pending: i64,
    /// Waiting again after a failed delivery attempt (retried by the next run).
    pub failed: i64,
    /// In a digest a killed run was handing to the server: it may have arrived.
    pub unconfirmed: i64,
    /// Pending match alerts a `false-positive` verdict holds back (not in `pending` or
    /// `failed`): they go out only if a later verdict takes the dismissal back.
    pub withheld: i64,
}

/// Documents not read, by why (each counted once, in this order of precedence).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UnreadDocuments {
    /// Page images with no text and no OCR to read them.
    pub scanned: i64,
    /// Over `max_document_bytes` (download) or a reader's size limit.
    pub too_large: i64,
    /// Download or reading failed for another reason (see `documents.error`).
    pub failed: i64,
}

/// `documents.error` texts of a size limit (fetch's and the readers' messages).
const TOO_LARGE: &str = "(error LIKE '%larger than the limit%' OR error LIKE '%-byte limit%')";

impl Store {
    /// Per recipient with anything undelivered: pending, failed and unconfirmed alerts.
    pub fn undelivered_alerts(&self) -> Result<Vec<RecipientAlerts>, StoreError> {
        let held = super::verdicts::withheld_alert_sql();
        let mut stmt = self.conn.prepare(&format!(
            "SELECT recipient,
                    SUM(status = 'pending' AND attempts = 0 AND NOT held),
                    SUM(status = 'pending' AND attempts > 0 AND NOT held),
                    SUM(status = 'queued' AND digest_status = 'unconfirmed'),
                    SUM(status = 'pending' AND held)
             FROM (SELECT a.recipient, a.status, a.attempts, d.status AS digest_status,
                          a.status = 'pending' AND {held} AS held
                   FROM alerts a LEFT JOIN digests d ON d.id = a.digest_id
                   WHERE a.status IN ('pending', 'queued'))
             GROUP BY recipient ORDER BY recipient"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok(RecipientAlerts {
                recipient: r.get(0)?,
                pending: r.get(1)?,
                failed: r.get(2)?,
                unconfirmed: r.get(3)?,
                withheld: r.get(4)?,
            })
        })?;
        Ok(rows
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|a| a.pending + a.failed + a.unconfirmed + a.withheld > 0)
            .collect())
    }

    /// Documents still listed whose text could not be read, by why.
    pub fn unread_documents(&self) -> Result<UnreadDocuments, StoreError> {
        let sql = format!(
            "SELECT COALESCE(SUM(error IS NULL AND (ocr = 'unavailable'
                        OR (scanned = 1 AND COALESCE(text, '') = ''))), 0),
                    COALESCE(SUM(error IS NOT NULL AND {TOO_LARGE}), 0),
                    COALESCE(SUM(error IS NOT NULL AND NOT {TOO_LARGE}), 0)
             FROM documents WHERE removed_at IS NULL"
        );
        Ok(self.conn.query_row(&sql, [], |r| {
            Ok(UnreadDocuments {
                scanned: r.get(0)?,
                too_large: r.get(1)?,
                failed: r.get(2)?,
            })
        })?)
    }
}
