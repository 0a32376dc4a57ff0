//! Scanning's side of the store: what to read, and recording what the rules found,
//! together with the alert outbox rows, in one transaction per notice.

use super::{Store, StoreError, now};
use crate::model::Severity;
use crate::states::{AlertKind, AlertStatus, ChangeEvent, Period, Place, QuotaKind, Target};
use rusqlite::{OptionalExtension, params};

/// What a notice offers the rules to read.
#[derive(Debug, Clone)]
pub struct ScanInput {
    pub notice_id: i64,
    pub source: String,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub targets: Vec<ScanTarget>,
}

/// One text to read: the notice's own text, a lot's, or a document's.
#[derive(Debug, Clone)]
pub struct ScanTarget {
    /// The notice, the lot or the document.
    pub target: Target,
    pub lot_id: Option<i64>,
    pub document_id: Option<i64>,
    pub text: String,
}

/// One finding to record.
#[derive(Debug, Clone)]
pub struct NewMatch {
    pub target: Target,
    pub lot_id: Option<i64>,
    pub document_id: Option<i64>,
    pub rule_id: String,
    pub severity: Severity,
    pub score: f64,
    pub evidence: String,
    pub evidence_start: usize,
    pub start: usize,
    pub end: usize,
    /// JSON array of {kind, count, per}.
    pub quotas_json: String,
    pub quota_kind: Option<QuotaKind>,
    pub quota_count: Option<i64>,
    pub quota_period: Option<Period>,
    /// Where the main quota's count came from: `table` or `text` (see
    /// `rules::provenance`), the row's name or the words, and whether it is sure.
    pub quota_source: Option<&'static str>,
    pub quota_label: Option<String>,
    pub quota_sure: Option<bool>,
    /// What the second opinion said (JSON array of strings), if anything.
    pub reasons_json: Option<String>,
}

/// What a new match is, for routing it to recipients.
#[derive(Debug, Clone, Copy)]
pub struct Routable<'a> {
    pub rule_id: &'a str,
    pub severity: Severity,
    pub source: &'a str,
}

/// What recording a scan did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScanOutcome {
    pub new_matches: usize,
    pub retracted: usize,
    pub alerts_queued: usize,
}

impl Store {
    /// Notices the rule set `version` has not read yet (every notice with `all`), by id,
    /// after `after_id`, at most `limit`.
    pub fn notices_to_scan(
        &self,
        version: &str,
        all: bool,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<i64>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM notices WHERE id > ?1 AND (?2 OR scanned_version IS NOT ?3)
             ORDER BY id LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![after_id, all, version, limit as i64], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The texts of one notice: its title and description, its lots, its documents.
    pub fn scan_input(&self, notice_id: i64) -> Result<Option<ScanInput>, StoreError> {
        type Head = (
            String,
            Option<String>,
            Option<String>,
            Option<f64>,
            Option<String>,
            String,
        );
        let head: Option<Head> = self
            .conn
            .prepare_cached(
                "SELECT n.title, n.title_kk, n.description, n.amount, n.currency, s.name
                 FROM notices n JOIN sources s ON s.id = n.source_id WHERE n.id = ?1",
            )?
            .query_row([notice_id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .optional()?;
        let Some((title, title_kk, description, amount, currency, source)) = head else {
            return Ok(None);
        };
        let mut targets = vec![ScanTarget {
            target: Target::Notice(notice_id),
            lot_id: None,
            document_id: None,
            text: join_parts([Some(title), title_kk, description]),
        }];
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, number, title, description FROM lots
             WHERE notice_id = ?1 AND removed_at IS NULL ORDER BY id",
        )?;
        let lots = stmt.query_map([notice_id], |r| {
            let id: i64 = r.get(0)?;
            Ok(ScanTarget {
                target: Target::Lot(id),
                lot_id: Some(id),
                document_id: None,
                text: join_parts([r.get(2)?, r.get(3)?]),
            })
        })?;
        for lot in lots {
            targets.push(lot?);
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, lot_id, text FROM documents
             WHERE notice_id = ?1 AND text IS NOT NULL AND removed_at IS NULL ORDER BY id",
        )?;
        let docs = stmt.query_map([notice_id], |r| {
            let id: i64 = r.get(0)?;
            Ok(ScanTarget {
                target: Target::Document(id),
                lot_id: r.get(1)?,
                document_id: Some(id),
                text: r.get(2)?,
            })
        })?;
        for d in docs {
            targets.push(d?);
        }
        targets.retain(|t| !t.text.trim().is_empty());
        Ok(Some(ScanInput {
            notice_id,
            source,
            amount,
            currency,
            targets,
        }))
    }

    /// Record what the rules found in one notice, in one transaction:
    /// new matches are inserted and routed to recipients as pending alerts (or as
    /// `baseline` alerts that are never mailed); matches seen before are refreshed and
    /// keep their first-flag time; earlier matches of the targets read that were not found
    /// again are retracted.
    pub fn record_scan(
        &mut self,
        input: &ScanInput,
        version: &str,
        found: &[NewMatch],
        route: &dyn Fn(Routable<'_>) -> Vec<String>,
        baseline: bool,
    ) -> Result<ScanOutcome, StoreError> {
        // A savepoint: its own transaction, or part of a caller's batch (`Store::batch`).
        let tx = self.conn.savepoint()?;
        let at = now();
        let mut out = ScanOutcome::default();
        for m in found {
            let existing: Option<i64> = tx
                .prepare_cached("SELECT id FROM matches WHERE target = ?1 AND rule_id = ?2")?
                .query_row(params![m.target, m.rule_id], |r| r.get(0))
                .optional()?;
            let fields = params![
                input.notice_id,
                m.lot_id,
                m.document_id,
                m.target,
                m.rule_id,
                m.severity,
                m.severity.rank(),
                m.score,
                m.evidence,
                m.evidence_start as i64,
                m.start as i64,
                m.end as i64,
                m.quotas_json,
                m.quota_kind,
                m.quota_count,
                m.quota_period,
                version,
                at,
                m.reasons_json,
                m.quota_source,
                m.quota_label,
                m.quota_sure,
            ];
            match existing {
                Some(_) => {
                    tx.prepare_cached(
                        "UPDATE matches SET notice_id = ?1, lot_id = ?2, document_id = ?3, severity = ?6,
                            severity_rank = ?7, score = ?8, evidence = ?9, evidence_start = ?10,
                            match_start = ?11, match_end = ?12, quotas = ?13, quota_kind = ?14,
                            quota_count = ?15, quota_period = ?16, ruleset_version = ?17,
                            last_seen_at = ?18, retracted_at = NULL, reasons = ?19,
                            quota_source = ?20, quota_label = ?21, quota_sure = ?22
                         WHERE target = ?4 AND rule_id = ?5",
                    )?
                    .execute(fields)?;
                }
                None => {
                    tx.prepare_cached(
                        "INSERT INTO matches (notice_id, lot_id, document_id, target, rule_id, severity,
                            severity_rank, score, evidence, evidence_start, match_start, match_end, quotas,
                            quota_kind, quota_count, quota_period, ruleset_version, first_flagged_at, last_seen_at,
                            reasons, quota_source, quota_label, quota_sure)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18, ?19,
                            ?20, ?21, ?22)",
                    )?
                    .execute(fields)?;
                    let match_id = tx.last_insert_rowid();
                    out.new_matches += 1;
                    let recipients = route(Routable {
                        rule_id: &m.rule_id,
                        severity: m.severity,
                        source: &input.source,
                    });
                    for r in recipients {
                        // One alert per recipient, notice and rule: the same rule found again
                        // in another document of the notice does not mail twice.
                        let key = format!("match:{}:{}", input.notice_id, m.rule_id);
                        let n = tx
                            .prepare_cached(
                                "INSERT INTO alerts (recipient, kind, match_id, notice_id, dedupe_key, status, created_at)
                                 VALUES (?1, ?7, ?2, ?3, ?4, ?5, ?6)
                                 ON CONFLICT(recipient, dedupe_key) DO NOTHING",
                            )?
                            .execute(params![
                                r,
                                match_id,
                                input.notice_id,
                                key,
                                if baseline {
                                    AlertStatus::Baseline
                                } else {
                                    AlertStatus::Pending
                                },
                                at,
                                AlertKind::Match
                            ])?;
                        if !baseline {
                            out.alerts_queued += n;
                        }
                    }
                    if !baseline {
                        new_match_on_dismissed(&tx, input.notice_id, match_id, m, &at)?;
                    }
                }
            }
        }
        // Retract what the targets read no longer say, and what was found in documents the
        // notice no longer lists.
        // (Plain SELECTs, then UPDATEs by id only where something is retracted: an
        // UPDATE ... RETURNING builds a temporary table on every call, which made scans
        // of unchanged notices spend a third of their time allocating page caches.)
        let mut retracted: Vec<i64> = Vec::new();
        {
            let mut live = tx.prepare_cached(
                "SELECT id, rule_id FROM matches WHERE target = ?1 AND retracted_at IS NULL",
            )?;
            for t in &input.targets {
                let rows = live.query_map([t.target], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })?;
                for row in rows {
                    let (id, rule) = row?;
                    if !found
                        .iter()
                        .any(|m| m.target == t.target && m.rule_id == rule)
                    {
                        retracted.push(id);
                    }
                }
            }
            let mut gone = tx.prepare_cached(
                "SELECT m.id FROM matches m
                 LEFT JOIN documents d ON d.id = m.document_id
                 LEFT JOIN lots l ON l.id = m.lot_id
                 WHERE m.notice_id = ?1 AND m.retracted_at IS NULL
                   AND (d.removed_at IS NOT NULL OR (m.document_id IS NULL AND l.removed_at IS NOT NULL))",
            )?;
            for id in gone.query_map([input.notice_id], |r| r.get::<_, i64>(0))? {
                let id = id?;
                if !retracted.contains(&id) {
                    retracted.push(id);
                }
            }
            let mut retract =
                tx.prepare_cached("UPDATE matches SET retracted_at = ?2 WHERE id = ?1")?;
            for id in &retracted {
                retract.execute(params![id, at])?;
            }
        }
        out.retracted += retracted.len();
        for id in retracted {
            phrase_removed(&tx, input.notice_id, id, version, &at)?;
        }
        tx.prepare_cached("UPDATE notices SET scanned_version = ?2 WHERE id = ?1")?
            .execute(params![input.notice_id, version])?;
        tx.commit()?;
        Ok(out)
    }
}

fn join_parts<const N: usize>(parts: [Option<String>; N]) -> String {
    parts
        .into_iter()
        .flatten()
        .filter(|p| !p.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// A new match of a rule whose flags on the notice were dismissed as false positives: its
/// recipients (who were told of the rule there) hear of it as a `changed` event, since the
/// verdict was given on other words. (A flag nobody dismissed needs no such event: its
/// recipients had the new version's `changed` alert.)
fn new_match_on_dismissed(
    tx: &rusqlite::Connection,
    notice_id: i64,
    match_id: i64,
    m: &NewMatch,
    at: &str,
) -> Result<(), StoreError> {
    let dismissed: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM current_verdicts
                            WHERE notice_id = ?1 AND rule_id = ?2 AND verdict = 'false-positive')",
        )?
        .query_row(params![notice_id, m.rule_id], |r| r.get(0))?;
    if !dismissed {
        return Ok(());
    }
    let version: i64 = tx
        .prepare_cached("SELECT version FROM notices WHERE id = ?1")?
        .query_row([notice_id], |r| r.get(0))?;
    let phrase = phrase_of(
        &m.evidence,
        m.evidence_start as i64,
        m.start as i64,
        m.end as i64,
    );
    super::history::queue_changed_event(
        tx,
        notice_id,
        Some(&m.rule_id),
        &format!("match:{match_id}"),
        &ChangeEvent::Changed {
            at: at.to_string(),
            version,
            changes: vec![crate::states::FieldChange {
                field: "match".into(),
                change: crate::states::Change::Added,
                name: Some(m.rule_id.clone()),
                detail: None,
                old: None,
                new: Some(serde_json::Value::String(phrase)),
            }],
        },
    )?;
    Ok(())
}

/// A match was retracted: the notice's recipients hear which words went, from where, when.
/// Not when the rule set changed since the match was recorded: then the rules, not the
/// portal, may be what changed.
fn phrase_removed(
    tx: &rusqlite::Connection,
    notice_id: i64,
    match_id: i64,
    version: &str,
    at: &str,
) -> Result<(), StoreError> {
    type Row = (
        String,
        String,
        i64,
        i64,
        i64,
        Option<String>,
        Option<bool>,
        Option<String>,
        String,
    );
    let (rule_id, evidence, ev_start, start, end, doc, is_spec, lot, recorded_by): Row = tx
        .query_row(
            "SELECT m.rule_id, m.evidence, m.evidence_start, m.match_start, m.match_end,
                COALESCE(d.file_name, d.title), d.is_spec, l.number, m.ruleset_version
         FROM matches m LEFT JOIN documents d ON d.id = m.document_id
         LEFT JOIN lots l ON l.id = m.lot_id WHERE m.id = ?1",
            [match_id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            },
        )?;
    if recorded_by != version {
        return Ok(());
    }
    let phrase = phrase_of(&evidence, ev_start, start, end);
    let place = match (is_spec, doc.is_some(), lot) {
        (Some(true), _, _) => Place::TechnicalSpecification,
        (_, true, _) => Place::Document,
        (_, false, Some(_)) => Place::Lot,
        _ => Place::Notice,
    };
    super::history::queue_changed_event(
        tx,
        notice_id,
        Some(&rule_id),
        &format!("retracted:{match_id}:{at}"),
        &ChangeEvent::PhraseRemoved {
            at: at.to_string(),
            rule_id: rule_id.clone(),
            phrase,
            evidence,
            place,
            document: doc,
        },
    )?;
    Ok(())
}

/// The matched words inside the stored evidence (byte offsets), or the whole evidence
/// where the offsets do not fit.
pub(crate) fn phrase_of(evidence: &str, ev_start: i64, start: i64, end: i64) -> String {
    let lo = usize::try_from(start.saturating_sub(ev_start)).ok();
    let hi = usize::try_from(end.saturating_sub(ev_start)).ok();
    match (lo, hi) {
        (Some(lo), Some(hi)) if lo < hi => evidence
            .get(lo..hi)
            .map(str::to_string)
            .unwrap_or_else(|| evidence.to_string()),
        _ => evidence.to_string(),
    }
}
