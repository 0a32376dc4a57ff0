//! Watchlists' side of the store: whether a notice matches a watch, queuing `watch`
//! alerts (once per recipient, watch and notice version), and reading them for digests.
//!
//! A notice is looked at once per version (`notices.watched_version`, the `watch_alerts`
//! migration): re-scans and watches added later do not alert notices already held. The
//! query of a full-text watch arrives as an FTS5 query built by `report::fts_query`, and,
//! like every value watched, only ever as a bound parameter.

use super::{Store, StoreError, now};
use crate::states::{AlertKind, AlertStatus, FieldChange};
use rusqlite::{OptionalExtension, params};

/// What a watch looks for, as the store compares it.
#[derive(Debug, Clone, Copy)]
pub enum Watched<'a> {
    AgencyBin(&'a str),
    SupplierBin(&'a str),
    /// Compared without case with the notice's region and its agency's.
    Region(&'a str),
    /// A prefix of a lot's number (where sources put the ENSTRU/KTRU code).
    CodePrefix(&'a str),
    /// An FTS5 query over the notice's, its lots' and its documents' text.
    Fts(&'a str),
}

/// One watch to look for, with its recipients (outbox names).
#[derive(Debug, Clone)]
pub struct WatchTarget<'a> {
    pub name: &'a str,
    pub on: Watched<'a>,
    pub recipients: Vec<String>,
}

/// Whether a watch alert is about a notice first seen on the watchlist, or one seen before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WatchEvent {
    New,
    Changed,
}

/// One pending `watch` alert with what a digest shows. Text fields are untrusted.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchItem {
    pub alert_id: i64,
    pub notice_id: i64,
    pub notice_number: Option<String>,
    pub title: String,
    pub agency_name: Option<String>,
    pub agency_bin: Option<String>,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub deadline_at: Option<String>,
    pub deadline_local: Option<String>,
    pub url: Option<String>,
    pub source: String,
    /// The watch's name.
    pub watch: String,
    pub event: WatchEvent,
    /// For `changed`: what changed, one line each (oldest version first).
    pub changes: Vec<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    watch: String,
    event: WatchEvent,
    version: i64,
    #[serde(default)]
    changes: Vec<String>,
}

/// A notice's version, the version the watches last looked at, its agency's BIN, its
/// region and its agency's.
type Head = (
    i64,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

impl Store {
    /// Look at notice `notice_id` with the watches, once per version: queue a `watch`
    /// alert for each recipient of each watch it matches (`baseline`: recorded, never
    /// sent). Returns the alerts queued.
    pub fn record_watches(
        &mut self,
        notice_id: i64,
        watches: &[WatchTarget<'_>],
        baseline: bool,
    ) -> Result<usize, StoreError> {
        let tx = self.conn.savepoint()?;
        let head: Option<Head> = tx
            .prepare_cached(
                "SELECT n.version, n.watched_version, ag.identifier, n.region, ag.region
                 FROM notices n LEFT JOIN agencies ag ON ag.id = n.agency_id WHERE n.id = ?1",
            )?
            .query_row([notice_id], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        let Some((version, watched, agency_bin, region, agency_region)) = head else {
            return Ok(0);
        };
        if watched == Some(version) {
            return Ok(0);
        }
        let mut queued = 0;
        let at = now();
        let mut changes: Option<Vec<String>> = None;
        for w in watches {
            if w.recipients.is_empty()
                || !matches(&tx, notice_id, w.on, &agency_bin, [&region, &agency_region])?
            {
                continue;
            }
            let changes = match &changes {
                Some(c) => c.clone(),
                None => {
                    let c = version_changes(&tx, notice_id, version)?;
                    changes = Some(c.clone());
                    c
                }
            };
            for r in &w.recipients {
                queued += queue(&tx, r, w.name, notice_id, version, &changes, baseline, &at)?;
            }
        }
        tx.prepare_cached("UPDATE notices SET watched_version = ?2 WHERE id = ?1")?
            .execute(params![notice_id, version])?;
        tx.commit()?;
        Ok(if baseline { 0 } else { queued })
    }

    /// A recipient's pending `watch` alerts, by notice.
    pub fn pending_watches(&self, recipient: &str) -> Result<Vec<WatchItem>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.id, a.notice_id, n.number, n.title, COALESCE(ag.name_ru, ag.name_kk, ag.name_en),
                    ag.identifier, n.amount, n.currency, n.deadline_at, n.deadline_local, n.url,
                    s.name, a.payload
             FROM alerts a JOIN notices n ON n.id = a.notice_id
             JOIN sources s ON s.id = n.source_id
             LEFT JOIN agencies ag ON ag.id = n.agency_id
             WHERE a.recipient = ?1 AND a.status = ?2 AND a.kind = ?3
             ORDER BY a.notice_id, a.id",
        )?;
        let rows = stmt.query_map(
            params![recipient, AlertStatus::Pending, AlertKind::Watch],
            |r| {
                let alert_id: i64 = r.get(0)?;
                let payload: String = r.get(12)?;
                let p = serde_json::from_str::<Payload>(&payload).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(
                        12,
                        rusqlite::types::Type::Text,
                        format!("alert {alert_id}: payload: {e}").into(),
                    )
                })?;
                Ok(WatchItem {
                    alert_id,
                    notice_id: r.get(1)?,
                    notice_number: r.get(2)?,
                    title: r.get(3)?,
                    agency_name: r.get(4)?,
                    agency_bin: r.get(5)?,
                    amount: r.get(6)?,
                    currency: r.get(7)?,
                    deadline_at: r.get(8)?,
                    deadline_local: r.get(9)?,
                    url: r.get(10)?,
                    source: r.get(11)?,
                    watch: p.watch,
                    event: p.event,
                    changes: p.changes,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Whether notice `id` matches what a watch looks for.
fn matches(
    tx: &rusqlite::Connection,
    id: i64,
    on: Watched<'_>,
    agency_bin: &Option<String>,
    regions: [&Option<String>; 2],
) -> Result<bool, StoreError> {
    Ok(match on {
        Watched::AgencyBin(b) => agency_bin.as_deref().map(str::trim) == Some(b),
        Watched::Region(want) => {
            let want = want.trim().to_lowercase();
            regions
                .iter()
                .filter_map(|r| r.as_deref())
                .any(|r| r.trim().to_lowercase() == want)
        }
        Watched::SupplierBin(b) => tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM awards aw JOIN award_suppliers x ON x.award_id = aw.id
                                JOIN suppliers sp ON sp.id = x.supplier_id
                                WHERE aw.notice_id = ?1 AND aw.removed_at IS NULL
                                  AND trim(sp.identifier) = ?2)",
            )?
            .query_row(params![id, b], |r| r.get(0))?,
        Watched::CodePrefix(p) => tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM lots WHERE notice_id = ?1 AND removed_at IS NULL
                                AND substr(trim(number), 1, length(?2)) = ?2)",
            )?
            .query_row(params![id, p], |r| r.get(0))?,
        Watched::Fts(q) => tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM notices_fts WHERE notices_fts MATCH ?2 AND rowid = ?1)
                     OR EXISTS (SELECT 1 FROM lots_fts WHERE lots_fts MATCH ?2 AND rowid IN
                                (SELECT id FROM lots WHERE notice_id = ?1 AND removed_at IS NULL))
                     OR EXISTS (SELECT 1 FROM documents_fts WHERE documents_fts MATCH ?2 AND rowid IN
                                (SELECT id FROM documents WHERE notice_id = ?1 AND removed_at IS NULL))",
            )?
            .query_row(params![id, q], |r| r.get(0))?,
    })
}

/// What version `version` of a notice changed, one line each (none for the first).
fn version_changes(
    tx: &rusqlite::Connection,
    notice_id: i64,
    version: i64,
) -> Result<Vec<String>, StoreError> {
    let raw: Option<Option<String>> = tx
        .prepare_cached(
            "SELECT changes FROM notice_versions WHERE notice_id = ?1 AND version = ?2",
        )?
        .query_row(params![notice_id, version], |r| r.get(0))
        .optional()?;
    Ok(raw
        .flatten()
        .and_then(|j| serde_json::from_str::<Vec<FieldChange>>(&j).ok())
        .unwrap_or_default()
        .iter()
        .map(FieldChange::describe)
        .collect())
}

/// Queue one `watch` alert: merged into the recipient's pending one for the same watch and
/// notice (the newer version's changes added), else a new one, `changed` when the
/// recipient was told of this notice on this watch before. Returns the alerts touched.
#[allow(clippy::too_many_arguments)]
fn queue(
    tx: &rusqlite::Connection,
    recipient: &str,
    watch: &str,
    notice_id: i64,
    version: i64,
    changes: &[String],
    baseline: bool,
    at: &str,
) -> Result<usize, StoreError> {
    let key = format!("watch:{watch}:{notice_id}:v{version}");
    let pending: Option<(i64, String)> = tx
        .prepare_cached(
            "SELECT id, payload FROM alerts WHERE recipient = ?1 AND kind = ?2 AND notice_id = ?3
               AND status = ?4 AND json_extract(payload, '$.watch') = ?5 ORDER BY id LIMIT 1",
        )?
        .query_row(
            params![
                recipient,
                AlertKind::Watch,
                notice_id,
                AlertStatus::Pending,
                watch
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    if let Some((id, payload)) = pending {
        let Ok(mut p) = serde_json::from_str::<Payload>(&payload) else {
            return Ok(0);
        };
        if p.version >= version {
            return Ok(0);
        }
        p.version = version;
        if p.event == WatchEvent::Changed {
            p.changes.extend(changes.iter().cloned());
        }
        let payload = serde_json::to_string(&p).unwrap_or_default();
        return Ok(tx
            .prepare_cached("UPDATE alerts SET payload = ?2, dedupe_key = ?3 WHERE id = ?1")?
            .execute(params![id, payload, key])?);
    }
    let told: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM alerts WHERE recipient = ?1 AND kind = ?2
                              AND notice_id = ?3 AND json_extract(payload, '$.watch') = ?4)",
        )?
        .query_row(
            params![recipient, AlertKind::Watch, notice_id, watch],
            |r| r.get(0),
        )?;
    let p = Payload {
        watch: watch.to_string(),
        event: if told {
            WatchEvent::Changed
        } else {
            WatchEvent::New
        },
        version,
        changes: if told { changes.to_vec() } else { Vec::new() },
    };
    Ok(tx
        .prepare_cached(
            "INSERT INTO alerts (recipient, kind, notice_id, dedupe_key, payload, status, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(recipient, dedupe_key) DO NOTHING",
        )?
        .execute(params![
            recipient,
            AlertKind::Watch,
            notice_id,
            key,
            serde_json::to_string(&p).unwrap_or_default(),
            if baseline {
                AlertStatus::Baseline
            } else {
                AlertStatus::Pending
            },
            at
        ])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Agency, AwardRecord, LotRecord, NoticeRecord, Supplier};

    fn record(amount: f64) -> NoticeRecord {
        NoticeRecord {
            external_id: "900002".into(),
            title: "Канцелярские товары".into(),
            agency: Some(Agency {
                id: "990240001234".into(),
                name_ru: Some("Акимат".into()),
                ..Default::default()
            }),
            amount: Some(amount),
            region: Some("г.Алматы".into()),
            lots: vec![LotRecord {
                external_id: "7".into(),
                number: Some("731112.000.000000".into()),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn payloads(s: &Store) -> Vec<(String, String, String)> {
        let mut stmt = s
            .conn
            .prepare("SELECT status, dedupe_key, payload FROM alerts ORDER BY id")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn versions_are_alerted_once_merged_while_pending_and_changed_after_sent() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("t.db")).unwrap();
        let src = s.ensure_source("g", "goszakup", "https://x").unwrap();
        let id = s
            .store_page(src, &[record(250_000.0)], None)
            .unwrap()
            .touched[0];
        let to = vec!["desk@x.kz".to_string()];
        let w = |name, on| WatchTarget {
            name,
            on,
            recipients: to.clone(),
        };
        let watches = [
            w("code", Watched::CodePrefix("7311")),
            w("region", Watched::Region("Г.АЛМАТЫ")),
            w("other code", Watched::CodePrefix("7312")),
            w("other agency", Watched::AgencyBin("990240009999")),
        ];
        assert_eq!(s.record_watches(id, &watches, false).unwrap(), 2);
        // Changed before the alerts went out: still one alert a watch, of the new version.
        s.store_page(src, &[record(300_000.0)], None).unwrap();
        assert_eq!(s.record_watches(id, &watches, false).unwrap(), 2);
        let p = payloads(&s);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].1, format!("watch:code:{id}:v2"));
        assert!(p[0].2.contains("\"event\":\"new\""), "{}", p[0].2);
        assert_eq!(s.pending_watches("desk@x.kz").unwrap().len(), 2);
        // Sent; a third version is a `changed` alert saying what changed.
        s.conn
            .execute("UPDATE alerts SET status = 'sent'", [])
            .unwrap();
        s.store_page(src, &[record(350_000.0)], None).unwrap();
        assert_eq!(s.record_watches(id, &watches, false).unwrap(), 2);
        let items = s.pending_watches("desk@x.kz").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].event, WatchEvent::Changed);
        assert!(
            items[0]
                .changes
                .iter()
                .any(|c| c == "amount: 300000 -> 350000"),
            "{:?}",
            items[0].changes
        );
        // A version looked at without watches counts as looked at: a watch added later
        // does not alert it.
        s.store_page(src, &[record(400_000.0)], None).unwrap();
        assert_eq!(s.record_watches(id, &[], false).unwrap(), 0);
        assert_eq!(s.record_watches(id, &watches, false).unwrap(), 0);
        // A supplier's BIN: the notice of a contract won by it matches.
        let mut won = record(1.0);
        won.external_id = "contract-1".into();
        won.awards = vec![AwardRecord {
            external_id: "contract-1".into(),
            suppliers: vec![Supplier {
                id: "051140001234".into(),
                scheme: "KZ-BIN".into(),
                name: Some("ТОО «Медиа Бот»".into()),
            }],
            ..Default::default()
        }];
        let other = s.store_page(src, &[won], None).unwrap().touched[0];
        let supplier = [
            w("media bot", Watched::SupplierBin("051140001234")),
            w("someone else", Watched::SupplierBin("051140009999")),
        ];
        assert_eq!(s.record_watches(other, &supplier, false).unwrap(), 1);
        assert_eq!(
            s.pending_watches("desk@x.kz")
                .unwrap()
                .last()
                .unwrap()
                .watch,
            "media bot"
        );
        // The database refuses a watch alert without its watch's name.
        let e = s
            .conn
            .execute(
                "INSERT INTO alerts (recipient, kind, notice_id, dedupe_key, payload, status, created_at)
                 VALUES ('a@x.kz', 'watch', ?1, 'k', '{\"event\":\"new\"}', 'pending', 't')",
                [id],
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("alerts.payload of a watch alert"), "{e}");
    }
}
