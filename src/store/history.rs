//! Notice history: what changed between two versions of a notice (the `changes` of a
//! `notice_versions` row), and the `changed` alerts a flagged notice's recipients get when
//! it changes, loses the matched words, is cancelled or disappears.
//!
//! The diff names title, amount, status, lots and attachments, with old and new values
//! where they are short. Nothing here reaches the network; the alert events are rows in
//! the outbox, written in the caller's transaction. The types ([`FieldChange`] and the
//! events, [`ChangeEvent`]) live in `crate::states`, shared with `show` and the digests.

use super::StoreError;
use crate::states::{AlertKind, AlertStatus, Change, ChangeEvent};
use rusqlite::{Connection, params};
use serde_json::Value;

pub use crate::states::FieldChange;

/// Values longer than this (in characters) are named as changed but not quoted.
const SHORT: usize = 200;

fn short(v: Option<&Value>) -> Option<Value> {
    match v {
        None => None,
        Some(Value::String(s)) if s.chars().count() > SHORT => None,
        Some(Value::Array(_) | Value::Object(_)) => None,
        Some(x) => Some(x.clone()),
    }
}

/// A time field of a snapshot (`{"utc": ..., "original": ...}`) as its portal string.
fn flatten(v: Option<&Value>) -> Option<Value> {
    match v {
        Some(Value::Object(o)) if o.contains_key("original") => o.get("original").cloned(),
        Some(Value::Object(o)) if o.contains_key("id") => {
            // An agency: its identifier and Russian name.
            let id = o.get("id").and_then(Value::as_str).unwrap_or("");
            let name = o.get("name_ru").and_then(Value::as_str).unwrap_or("");
            Some(Value::String(format!("{name} ({id})").trim().to_string()))
        }
        other => other.cloned(),
    }
}

const SCALARS: &[&str] = &[
    "number",
    "title",
    "title_kk",
    "description",
    "agency",
    "amount",
    "currency",
    "status",
    "status_code",
    "method",
    "published",
    "deadline",
    "url",
    "region",
];

const LOT_FIELDS: &[&str] = &[
    "number",
    "title",
    "description",
    "amount",
    "quantity",
    "status",
];

/// The documents a snapshot lists, by URL: (url, file name or title).
fn documents(snap: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut take = |docs: Option<&Value>| {
        for d in docs.and_then(Value::as_array).into_iter().flatten() {
            let Some(url) = d.get("url").and_then(Value::as_str) else {
                continue;
            };
            let name = ["file_name", "title"]
                .iter()
                .find_map(|k| d.get(*k).and_then(Value::as_str))
                .unwrap_or(url);
            if !out.iter().any(|(u, _)| u == url) {
                out.push((url.to_string(), name.to_string()));
            }
        }
    };
    take(snap.get("documents"));
    for lot in snap
        .get("lots")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        take(lot.get("documents"));
    }
    out
}

/// The entries of a snapshot's list (`lots`, `awards`) by their `external_id`.
fn keyed<'a>(snap: &'a Value, list: &str) -> Vec<(String, &'a Value)> {
    snap.get(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| Some((x.get("external_id")?.as_str()?.to_string(), x)))
        .collect()
}

const AWARD_FIELDS: &[&str] = &[
    "status",
    "amount",
    "currency",
    "suppliers",
    "contract_status",
    "contract_amount",
    "contract_signed",
];

/// An award's suppliers as a reader names them: "ТОО «Медиа», ИП Ким".
fn supplier_names(award: &Value) -> String {
    award
        .get("suppliers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            s.get("name")
                .and_then(Value::as_str)
                .or_else(|| s.get("id").and_then(Value::as_str))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn award_change(
    change: Change,
    award: &Value,
    detail: Option<&str>,
    old: Option<Value>,
    new: Option<Value>,
) -> FieldChange {
    FieldChange {
        field: "award".into(),
        change,
        name: Some(supplier_names(award)),
        detail: detail.map(str::to_string),
        old,
        new,
    }
}

fn lot_name(lot: &Value, id: &str) -> String {
    lot.get("number")
        .and_then(Value::as_str)
        .unwrap_or(id)
        .to_string()
}

/// What changed from `old` to `new` (two snapshots of a notice as mapped).
pub fn diff(old: &Value, new: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    if !old.is_object() {
        out.push(FieldChange {
            field: "record".into(),
            change: Change::Changed,
            name: None,
            detail: None,
            old: None,
            new: None,
        });
        return out;
    }
    for f in SCALARS {
        let (o, n) = (flatten(old.get(*f)), flatten(new.get(*f)));
        if o != n {
            out.push(FieldChange {
                field: (*f).to_string(),
                change: Change::Changed,
                name: None,
                detail: None,
                old: short(o.as_ref()),
                new: short(n.as_ref()),
            });
        }
    }
    let (ol, nl) = (keyed(old, "lots"), keyed(new, "lots"));
    for (id, lot) in &nl {
        match ol.iter().find(|(i, _)| i == id) {
            None => out.push(FieldChange {
                field: "lot".into(),
                change: Change::Added,
                name: Some(lot_name(lot, id)),
                detail: None,
                old: None,
                new: short(lot.get("title")),
            }),
            Some((_, before)) => {
                for f in LOT_FIELDS {
                    if before.get(*f) != lot.get(*f) {
                        out.push(FieldChange {
                            field: "lot".into(),
                            change: Change::Changed,
                            name: Some(lot_name(lot, id)),
                            detail: Some((*f).to_string()),
                            old: short(before.get(*f)),
                            new: short(lot.get(*f)),
                        });
                    }
                }
            }
        }
    }
    for (id, lot) in &ol {
        if !nl.iter().any(|(i, _)| i == id) {
            out.push(FieldChange {
                field: "lot".into(),
                change: Change::Removed,
                name: Some(lot_name(lot, id)),
                detail: None,
                old: short(lot.get("title")),
                new: None,
            });
        }
    }
    let (od, nd) = (documents(old), documents(new));
    for (url, name) in &nd {
        if !od.iter().any(|(u, _)| u == url) {
            out.push(doc_change(Change::Added, name));
        }
    }
    for (url, name) in &od {
        if !nd.iter().any(|(u, _)| u == url) {
            out.push(doc_change(Change::Removed, name));
        }
    }
    let (oa, na) = (keyed(old, "awards"), keyed(new, "awards"));
    for (id, a) in &na {
        match oa.iter().find(|(i, _)| i == id) {
            None => out.push(award_change(
                Change::Added,
                a,
                None,
                None,
                short(a.get("amount")),
            )),
            Some((_, before)) => {
                for f in AWARD_FIELDS {
                    if before.get(*f) != a.get(*f) {
                        let value = |v: &Value| {
                            if *f == "suppliers" {
                                Some(Value::String(supplier_names(v)))
                            } else {
                                short(flatten(v.get(*f)).as_ref())
                            }
                        };
                        out.push(award_change(
                            Change::Changed,
                            a,
                            Some(f),
                            value(before),
                            value(a),
                        ));
                    }
                }
            }
        }
    }
    for (id, a) in &oa {
        if !na.iter().any(|(i, _)| i == id) {
            out.push(award_change(
                Change::Removed,
                a,
                None,
                short(a.get("amount")),
                None,
            ));
        }
    }
    // Anything else of the record (a field this list does not know yet).
    if out.is_empty() && old != new {
        out.push(FieldChange {
            field: "record".into(),
            change: Change::Changed,
            name: None,
            detail: None,
            old: None,
            new: None,
        });
    }
    out
}

fn doc_change(change: Change, name: &str) -> FieldChange {
    FieldChange {
        field: "document".into(),
        change,
        name: Some(name.to_string()),
        detail: None,
        old: None,
        new: None,
    }
}

/// Whether a status means the procurement was called off: goszakup's codes 410 (refusal)
/// and 430 (cancelled), or a status name that says so.
pub fn is_cancelled(status_code: Option<&str>, status: Option<&str>) -> bool {
    if matches!(status_code.map(str::trim), Some("410" | "430")) {
        return true;
    }
    let s = status.unwrap_or("").to_lowercase();
    [
        "отмен",
        "отказ от закуп",
        "cancel",
        "withdrawn",
        "күші жойыл",
    ]
    .iter()
    .any(|w| s.contains(w))
}

/// The recipients a notice's match alerts (of rule `rule`, where given) went or are
/// going to: its `changed` alerts go to them. Baseline alerts were never mailed, so they
/// do not count, nor do pending ones a `false-positive` verdict holds back.
fn recipients(
    conn: &Connection,
    notice_id: i64,
    rule: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT DISTINCT a.recipient FROM alerts a LEFT JOIN matches m ON m.id = a.match_id
         WHERE a.notice_id = ?1 AND a.kind = ?3 AND a.status <> ?4
           AND (?2 IS NULL OR m.rule_id = ?2)
           AND NOT (a.status = 'pending' AND {})
         ORDER BY a.recipient",
        super::verdicts::withheld_alert_sql()
    ))?;
    let rows = stmt.query_map(
        params![notice_id, rule, AlertKind::Match, AlertStatus::Baseline],
        |r| r.get(0),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether every flag of the notice (of rule `rule`, where given) has a `false-positive`
/// verdict: then only the changes that matter reach its recipients.
fn quiet(conn: &Connection, notice_id: i64, rule: Option<&str>) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(&super::verdicts::quiet_notice_sql())?
        .query_row(params![notice_id, rule], |r| r.get(0))?)
}

/// What still reaches the recipients of a notice whose flags were all dismissed as false
/// positives: a new version that changes an amount (the notice's or a lot's), or one that
/// brings new matches (a `match` change, see `matches::record_scan`). Not other edits, not
/// the dismissed words going, not a cancellation or a disappearance.
pub(crate) fn matters_after_dismissal(event: &ChangeEvent) -> bool {
    match event {
        ChangeEvent::Changed { changes, .. } => changes.iter().any(|c| {
            c.field == "amount"
                || c.field == "match"
                || (c.field == "lot" && c.detail.as_deref().is_some_and(|d| d.contains("amount")))
        }),
        _ => false,
    }
}

/// Queue one event about a flagged notice for each of its recipients (those told about
/// rule `rule`, where given): appended to the recipient's pending `changed` alert for the
/// notice, else a new alert. `key` names the event (so the same event is never queued
/// twice). Returns the alerts touched.
pub(crate) fn queue_changed_event(
    conn: &Connection,
    notice_id: i64,
    rule: Option<&str>,
    key: &str,
    event: &ChangeEvent,
) -> Result<usize, StoreError> {
    if quiet(conn, notice_id, rule)? && !matters_after_dismissal(event) {
        return Ok(0);
    }
    let mut n = 0;
    let at = super::now();
    let event = event.to_json();
    let event_text = event.to_string();
    for r in recipients(conn, notice_id, rule)? {
        let dedupe = format!("changed:{notice_id}:{key}");
        let seen: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM alerts a, json_each(a.payload, '$.keys') k
              WHERE a.recipient = ?1 AND a.kind = ?4 AND a.notice_id = ?2 AND k.value = ?3)",
            params![r, notice_id, dedupe, AlertKind::Changed],
            |row| row.get(0),
        )?;
        if seen {
            continue;
        }
        let mut merged = conn.execute(
            "UPDATE alerts SET payload = json_insert(json_insert(payload, '$.events[#]', json(?3)), '$.keys[#]', ?4)
             WHERE id = (SELECT id FROM alerts WHERE recipient = ?1 AND kind = ?5
                         AND notice_id = ?2 AND status = ?6 ORDER BY id LIMIT 1)",
            params![
                r,
                notice_id,
                event_text,
                dedupe,
                AlertKind::Changed,
                AlertStatus::Pending
            ],
        )?;
        if merged == 0 {
            let payload = serde_json::json!({ "events": [event], "keys": [dedupe] });
            merged = conn.execute(
                "INSERT INTO alerts (recipient, kind, notice_id, dedupe_key, payload, status, created_at)
                 VALUES (?1, ?6, ?2, ?3, ?4, ?7, ?5)
                 ON CONFLICT(recipient, dedupe_key) DO NOTHING",
                params![
                    r,
                    notice_id,
                    dedupe,
                    payload.to_string(),
                    at,
                    AlertKind::Changed,
                    AlertStatus::Pending
                ],
            )?;
        }
        n += merged;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_diff_names_fields_lots_and_documents() {
        let old = json!({
            "title": "Услуги SMM", "amount": 1300000.0, "status": "Опубликовано",
            "deadline": {"utc": "2026-11-30T13:00:00Z", "original": "2026-11-30 18:00:00"},
            "lots": [{"external_id": "7", "number": "7-ЗЦП1", "amount": 1300000.0,
                      "documents": [{"url": "https://x/1", "file_name": "techspec_1.docx"}]}],
            "documents": []
        });
        let new = json!({
            "title": "Услуги SMM", "amount": 900000.0, "status": "Изменена документация",
            "deadline": {"utc": "2026-12-05T13:00:00Z", "original": "2026-12-05 18:00:00"},
            "lots": [{"external_id": "7", "number": "7-ЗЦП1", "amount": 900000.0,
                      "documents": [{"url": "https://x/2", "file_name": "techspec_2.docx"}]}],
            "documents": []
        });
        let d = diff(&old, &new);
        let lines: Vec<String> = d.iter().map(FieldChange::describe).collect();
        assert_eq!(
            lines,
            [
                "amount: 1300000 -> 900000",
                "status: \"Опубликовано\" -> \"Изменена документация\"",
                "deadline: \"2026-11-30 18:00:00\" -> \"2026-12-05 18:00:00\"",
                "lot 7-ЗЦП1 amount: 1300000 -> 900000",
                "document added techspec_2.docx",
                "document removed techspec_1.docx",
            ]
        );
        assert!(diff(&new, &new).is_empty());
        // Lots added and removed are named with their titles.
        let a = json!({"lots": [{"external_id": "7", "number": "7-ЗЦП1", "title": "SMM"}]});
        let b = json!({"lots": [{"external_id": "8", "number": "8-ЗЦП1", "title": "Видео"}]});
        let lines: Vec<String> = diff(&a, &b).iter().map(FieldChange::describe).collect();
        assert_eq!(
            lines,
            ["lot added 8-ЗЦП1 \"Видео\"", "lot removed 7-ЗЦП1 \"SMM\""]
        );
        // A long value is named, not quoted.
        let long = json!({"title": "а".repeat(300)});
        let d = diff(&json!({"title": "б"}), &long);
        assert_eq!(d[0].field, "title");
        assert_eq!(d[0].new, None);
        assert_eq!(d[0].old, Some(json!("б")));
    }

    #[test]
    fn cancellation_by_code_or_name() {
        assert!(is_cancelled(Some("430"), None));
        assert!(is_cancelled(Some("410"), Some("Отказ от закупки")));
        assert!(is_cancelled(None, Some("Закупка отменена")));
        assert!(is_cancelled(None, Some("Cancelled")));
        assert!(!is_cancelled(
            Some("220"),
            Some("Опубликовано (прием заявок)")
        ));
        assert!(!is_cancelled(None, None));
    }
}
