//! Reviewers' verdicts on flags (`verdicts`, migration 020): recording one, listing the
//! current ones, and the SQL the alert queries use to hold back what a `false-positive`
//! verdict dismissed.
//!
//! What this module must never do: edit or delete a verdict (the history is kept; the
//! database refuses it too), record a verdict on a flag that never was (a rule that never
//! matched the notice or lot), or take a reviewer's note into SQL other than as a parameter.

use super::{Store, StoreError, now};
use crate::model::Severity;
use crate::states::Verdict;
use rusqlite::{OptionalExtension, params};

/// SQL: whether the flag (notice `n`, lot key `l`, rule `r`, as SQL expressions) has a
/// current verdict of `false-positive`.
fn dismissed(n: &str, l: &str, r: &str) -> String {
    format!(
        "(SELECT v.verdict FROM verdicts v WHERE v.notice_id = {n} AND v.lot_key = {l}
           AND v.rule_id = {r} ORDER BY v.id DESC LIMIT 1) IS 'false-positive'"
    )
}

/// SQL over an alert aliased `a`: a match alert held back because its flag was dismissed
/// (`false-positive`) and no live flag of the same notice and rule is left undismissed.
/// It stays `pending`: a later verdict other than `false-positive` lets it go out.
pub(crate) fn withheld_alert_sql() -> String {
    format!(
        "(a.kind = 'match' AND EXISTS (SELECT 1 FROM matches wm WHERE wm.id = a.match_id
            AND {}
            AND NOT EXISTS (SELECT 1 FROM flag_rows wf
                            WHERE wf.notice_id = wm.notice_id AND wf.rule_id = wm.rule_id
                              AND NOT {})))",
        dismissed("wm.notice_id", "COALESCE(wm.lot_id, 0)", "wm.rule_id"),
        dismissed("wf.notice_id", "wf.lot_key", "wf.rule_id"),
    )
}

/// SQL, parameters `?1` (notice id) and `?2` (a rule id or NULL): every flag of the notice
/// (of that rule, where given) that ever had a match has a `false-positive` verdict, and
/// there is at least one. Such a notice is quiet: only changes that matter reach its
/// recipients (see `history::queue_changed_event`).
pub(crate) fn quiet_notice_sql() -> String {
    format!(
        "SELECT EXISTS (SELECT 1 FROM matches q WHERE q.notice_id = ?1 AND (?2 IS NULL OR q.rule_id = ?2))
            AND NOT EXISTS (SELECT 1 FROM matches q WHERE q.notice_id = ?1
                              AND (?2 IS NULL OR q.rule_id = ?2)
                              AND NOT {})",
        dismissed("q.notice_id", "COALESCE(q.lot_id, 0)", "q.rule_id")
    )
}

/// A flag with its current verdict (a row of the `flag_reviews` view). Text fields come
/// from portals (title, evidence) or from reviewers (note, reviewed_by): untrusted.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FlagReview {
    pub notice_id: i64,
    pub notice_number: Option<String>,
    pub lot_id: Option<i64>,
    pub lot_number: Option<String>,
    pub title: String,
    pub rule_id: String,
    pub severity: Option<Severity>,
    pub evidence: Option<String>,
    /// The flag still has a live match (0 once the words were edited out).
    pub live: bool,
    /// `None`: not reviewed yet.
    pub verdict: Option<Verdict>,
    pub note: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<String>,
    /// How many verdicts the flag has had (its history).
    pub reviews: i64,
    pub url: Option<String>,
}

/// A verdict to record ([`Store::record_verdict`]).
#[derive(Debug, Clone, Copy)]
pub struct VerdictInput<'a> {
    pub notice_id: i64,
    /// The lot's number, external id or id; `None`: the notice's own flag, else the rule's
    /// one lot flag in it.
    pub lot: Option<&'a str>,
    pub rule: &'a str,
    pub verdict: Verdict,
    pub note: Option<&'a str>,
    pub reviewer: &'a str,
}

/// Why a verdict could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("notice {notice} has no lot {lot:?} (its lots: {known})")]
    NoLot {
        notice: String,
        lot: String,
        known: String,
    },
    #[error("notice {notice}{lot} was never flagged by rule {rule:?} (its flags: {known})")]
    NoFlag {
        notice: String,
        lot: String,
        rule: String,
        known: String,
    },
}

const REVIEW_SELECT: &str = "SELECT notice_id, notice_number, lot_id, lot_number, title, rule_id,
        severity, evidence, live, verdict, note, reviewed_by, reviewed_at, reviews, url
 FROM flag_reviews";

fn review_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FlagReview> {
    Ok(FlagReview {
        notice_id: r.get(0)?,
        notice_number: r.get(1)?,
        lot_id: r.get(2)?,
        lot_number: r.get(3)?,
        title: r.get(4)?,
        rule_id: r.get(5)?,
        severity: r.get(6)?,
        evidence: r.get(7)?,
        live: r.get(8)?,
        verdict: r.get(9)?,
        note: r.get(10)?,
        reviewed_by: r.get(11)?,
        reviewed_at: r.get(12)?,
        reviews: r.get(13)?,
        url: r.get(14)?,
    })
}

impl Store {
    /// Record a verdict on the flag of rule `rule` in notice `notice_id` (or in its lot
    /// `lot`: the lot's number, external id or id). The flag must exist: the rule matched
    /// there at some time (a retracted match counts). Returns the flag as it now reads.
    pub fn record_verdict(&mut self, v: &VerdictInput<'_>) -> Result<FlagReview, ReviewError> {
        let VerdictInput {
            notice_id,
            lot,
            rule,
            verdict,
            note,
            reviewer,
        } = *v;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let notice: String = tx
            .query_row(
                "SELECT COALESCE(number, external_id) FROM notices WHERE id = ?1",
                [notice_id],
                |r| r.get(0),
            )
            .map_err(StoreError::from)?;
        let lot_key: i64 = match lot {
            // No lot named: the notice's own flag, else the rule's one lot flag there.
            None => tx
                .query_row(
                    "SELECT CASE WHEN EXISTS (SELECT 1 FROM matches WHERE notice_id = ?1
                                                AND lot_id IS NULL AND rule_id = ?2) THEN 0
                            WHEN (SELECT count(DISTINCT lot_id) FROM matches
                                  WHERE notice_id = ?1 AND rule_id = ?2) = 1
                            THEN (SELECT lot_id FROM matches WHERE notice_id = ?1 AND rule_id = ?2)
                            ELSE 0 END",
                    params![notice_id, rule],
                    |r| r.get(0),
                )
                .map_err(StoreError::from)?,
            Some(key) => {
                let key = key.trim();
                let found: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM lots WHERE notice_id = ?1
                           AND (number = ?2 OR external_id = ?2 OR CAST(id AS TEXT) = ?2)
                         ORDER BY number = ?2 DESC, external_id = ?2 DESC LIMIT 1",
                        params![notice_id, key],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(StoreError::from)?;
                match found {
                    Some(id) => id,
                    None => {
                        let known: Vec<String> = tx
                            .prepare("SELECT COALESCE(number, external_id) FROM lots WHERE notice_id = ?1 ORDER BY id")
                            .and_then(|mut s| {
                                s.query_map([notice_id], |r| r.get(0))?
                                    .collect::<rusqlite::Result<_>>()
                            })
                            .map_err(StoreError::from)?;
                        return Err(ReviewError::NoLot {
                            notice,
                            lot: key.to_string(),
                            known: if known.is_empty() {
                                "none".into()
                            } else {
                                known.join(", ")
                            },
                        });
                    }
                }
            }
        };
        let flagged: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM matches WHERE notice_id = ?1
                   AND COALESCE(lot_id, 0) = ?2 AND rule_id = ?3)",
                params![notice_id, lot_key, rule],
                |r| r.get(0),
            )
            .map_err(StoreError::from)?;
        if !flagged {
            let known: Vec<String> = tx
                .prepare(
                    "SELECT DISTINCT m.rule_id || CASE WHEN m.lot_id IS NULL THEN ''
                            ELSE ' (--lot ' || COALESCE(l.number, l.external_id) || ')' END
                     FROM matches m LEFT JOIN lots l ON l.id = m.lot_id
                     WHERE m.notice_id = ?1 ORDER BY 1",
                )
                .and_then(|mut s| {
                    s.query_map([notice_id], |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()
                })
                .map_err(StoreError::from)?;
            return Err(ReviewError::NoFlag {
                notice,
                lot: lot.map(|l| format!(" lot {l}")).unwrap_or_default(),
                rule: rule.to_string(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            });
        }
        tx.execute(
            "INSERT INTO verdicts (notice_id, lot_key, rule_id, verdict, note, reviewer, reviewed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![notice_id, lot_key, rule, verdict, note, reviewer, now()],
        )
        .map_err(StoreError::from)?;
        let row = tx
            .query_row(
                &format!("{REVIEW_SELECT} WHERE notice_id = ?1 AND lot_id IS ?2 AND rule_id = ?3"),
                params![notice_id, (lot_key != 0).then_some(lot_key), rule],
                review_row,
            )
            .map_err(StoreError::from)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(row)
    }

    /// The reviewed flags with their current verdict (only those whose current verdict is
    /// `verdict`, where given), most recently reviewed first.
    pub fn flag_reviews(&self, verdict: Option<Verdict>) -> Result<Vec<FlagReview>, StoreError> {
        // (The view's key union is built whole: this reads every flag row once.)
        let mut stmt = self.conn.prepare(&format!(
            "{REVIEW_SELECT} WHERE verdict IS NOT NULL AND (?1 IS NULL OR verdict = ?1)
             ORDER BY reviewed_at DESC, notice_id DESC, rule_id"
        ))?;
        let rows = stmt.query_map([verdict], review_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The evidence of every match of the flags whose current verdict is `false-positive`
    /// (retracted matches too): the words reviewers dismissed, as (notice number or
    /// external id, rule id, evidence), for `rules eval --from-reviews`.
    pub fn dismissed_evidence(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT DISTINCT COALESCE(n.number, n.external_id), m.rule_id, m.evidence
             FROM current_verdicts cv
             JOIN matches m ON m.notice_id = cv.notice_id AND COALESCE(m.lot_id, 0) = cv.lot_key
                           AND m.rule_id = cv.rule_id
             JOIN notices n ON n.id = m.notice_id
             WHERE cv.verdict = 'false-positive'
             ORDER BY 1, 2, 3",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROWS: &str = "
        INSERT INTO sources (id, name, kind, url, created_at) VALUES (1, 'goszakup', 'goszakup', 'u', 't');
        INSERT INTO notices (id, source_id, external_id, number, title, first_seen_at, last_seen_at)
            VALUES (1, 1, '700', '700-1', 'SMM', 't', 't');
        INSERT INTO lots (id, notice_id, external_id, number, first_seen_at, last_seen_at)
            VALUES (5, 1, 'L5', '700-ЗЦП1', 't', 't');
        INSERT INTO matches (id, notice_id, lot_id, target, rule_id, severity, severity_rank, score,
                             evidence, evidence_start, match_start, match_end, ruleset_version,
                             first_flagged_at, last_seen_at)
            VALUES (1, 1, NULL, 'notice:1', 'fake-accounts', 'high', 3, 1, 'e1', 0, 0, 1, 'v', 't', 't'),
                   (2, 1, 5, 'lot:5', 'paid-comments', 'medium', 2, 1, 'e2', 0, 0, 1, 'v', 't', 't');";

    fn v<'a>(
        lot: Option<&'a str>,
        rule: &'a str,
        verdict: Verdict,
        note: Option<&'a str>,
        reviewer: &'a str,
    ) -> VerdictInput<'a> {
        VerdictInput {
            notice_id: 1,
            lot,
            rule,
            verdict,
            note,
            reviewer,
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        store.conn().execute_batch(ROWS).unwrap();
        (dir, store)
    }

    #[test]
    fn verdicts_are_appended_and_the_latest_is_current() {
        let (_d, mut store) = store();
        let r = store
            .record_verdict(&v(None, "fake-accounts", Verdict::Watching, None, "aigul"))
            .unwrap();
        assert_eq!((r.verdict, r.reviews), (Some(Verdict::Watching), 1));
        let r = store
            .record_verdict(&v(
                None,
                "fake-accounts",
                Verdict::FalsePositive,
                Some("a tender for a monitoring service"),
                "erlan",
            ))
            .unwrap();
        assert_eq!(r.verdict, Some(Verdict::FalsePositive));
        assert_eq!(r.reviews, 2);
        assert_eq!(r.reviewed_by.as_deref(), Some("erlan"));
        let r = store
            .record_verdict(&v(
                Some("700-ЗЦП1"),
                "paid-comments",
                Verdict::Confirmed,
                None,
                "a",
            ))
            .unwrap();
        assert_eq!((r.lot_id, r.live), (Some(5), true));
        // The rule's one flag is in a lot: found without --lot.
        let r = store
            .record_verdict(&v(None, "paid-comments", Verdict::Published, None, "a"))
            .unwrap();
        assert_eq!((r.lot_id, r.reviews), (Some(5), 2));
        assert_eq!(store.flag_reviews(None).unwrap().len(), 2);
        let fp = store.flag_reviews(Some(Verdict::FalsePositive)).unwrap();
        assert_eq!(fp.len(), 1);
        assert_eq!(
            fp[0].note.as_deref(),
            Some("a tender for a monitoring service")
        );
        assert_eq!(
            store.dismissed_evidence().unwrap(),
            [(
                "700-1".to_string(),
                "fake-accounts".to_string(),
                "e1".to_string()
            )]
        );
        // The history cannot be rewritten.
        for sql in [
            "UPDATE verdicts SET verdict = 'confirmed'",
            "DELETE FROM verdicts",
        ] {
            let e = store.conn().execute(sql, []).unwrap_err().to_string();
            assert!(e.contains("append-only"), "{e}");
        }
        let e = store
            .conn()
            .execute(
                "INSERT INTO verdicts (notice_id, lot_key, rule_id, verdict, reviewer, reviewed_at)
                 VALUES (1, 0, 'fake-accounts', 'maybe', 'x', 't')",
                [],
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("verdicts.verdict must be"), "{e}");
    }

    #[test]
    fn a_flag_that_never_was_is_refused_with_the_flags_there_are() {
        let (_d, mut store) = store();
        let e = store
            .record_verdict(&v(None, "quota-comments", Verdict::Confirmed, None, "a"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("never flagged by rule \"quota-comments\"")
                && e.contains("fake-accounts, paid-comments (--lot 700-ЗЦП1)"),
            "{e}"
        );
        let e = store
            .record_verdict(&v(
                Some("9"),
                "paid-comments",
                Verdict::Confirmed,
                None,
                "a",
            ))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no lot \"9\"") && e.contains("700-ЗЦП1"), "{e}");
        let e = store
            .record_verdict(&v(
                Some("L5"),
                "fake-accounts",
                Verdict::Confirmed,
                None,
                "a",
            ))
            .unwrap_err()
            .to_string();
        assert!(e.contains("notice 700-1 lot L5 was never flagged"), "{e}");
        assert_eq!(store.flag_reviews(None).unwrap().len(), 0);
    }
}
