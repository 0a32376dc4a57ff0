//! The output of `tenderscan show NOTICE` and `tenderscan verify`: one notice with its
//! lots, documents (and their hashes), matches, versions and evidence files, as text for
//! people or JSON for machines. Reads only; the field names of the JSON are documented in
//! the README and are a contract.
//!
//! Must never: write a portal's text raw. Every field of the text output goes through
//! [`crate::safe_text`]: one-line fields as [`line()`] (line breaks shown as `\n`), the match
//! excerpts as [`cell()`] (line breaks as spaces, the excerpt stays one line); the JSON keeps
//! the exact text (the caller passes it through [`crate::safe_text::json`]).

use crate::evidence::{Evidence, VerifyReport};
use crate::safe_text::{cell, line};
use crate::store::{NoticeView, Store, StoreError};
use serde_json::{Value, json};
use std::fmt::Write as _;

/// `show --format json`: the notice view, each evidence row with the `path` of its file
/// and whether it is `present`, and the `evidence_folder`.
pub fn notice_json(view: &NoticeView, evidence: &Evidence) -> Value {
    let mut v = serde_json::to_value(view).unwrap_or(Value::Null);
    if let Some(rows) = v.get_mut("evidence").and_then(Value::as_array_mut) {
        for row in rows {
            let sha = row
                .get("sha256")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            // A loose file: its path, present when it is a file. A pack record: the
            // pack's path, present when the record reads back whole (crc checked).
            let (path, present) = match evidence.locate(&sha) {
                Ok(crate::evidence::Located::Loose(p)) => (p, true),
                Ok(crate::evidence::Located::Packed(p, loc)) => {
                    row["pack_offset"] = json!(loc.offset);
                    let ok = evidence.packs().read_frame(&sha, loc).is_ok();
                    (p, ok)
                }
                Ok(crate::evidence::Located::Missing(p)) => (p, false),
                Err(_) => (evidence.path_of(&sha), false),
            };
            row["path"] = json!(path);
            row["present"] = json!(present);
        }
    }
    v["evidence_folder"] = json!(evidence.dir());
    v
}

/// An optional field as one safe line, `-` when there is none.
fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| line(&x.to_string()).into_owned())
        .unwrap_or_else(|| "-".into())
}

/// A path as one safe line.
pub fn path_line(p: &std::path::Path) -> String {
    line(&p.display().to_string()).into_owned()
}

fn money(x: Option<f64>, cur: &Option<String>) -> String {
    x.and_then(|a| crate::money::with_currency(a, cur.as_deref()))
        .unwrap_or_else(|| "-".into())
}

/// `show` as text.
pub fn notice_text(v: &NoticeView, evidence: &Evidence) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}", line(&v.title));
    let _ = writeln!(
        o,
        "  notice        {} (external id {}, id {}, source {})",
        opt(&v.number),
        line(&v.external_id),
        v.id,
        line(&v.source)
    );
    let _ = writeln!(
        o,
        "  agency        {} (BIN {})",
        opt(&v.agency_name),
        opt(&v.agency_bin)
    );
    let _ = writeln!(o, "  amount        {}", money(v.amount, &v.currency));
    let _ = writeln!(
        o,
        "  status        {} (code {})",
        opt(&v.status),
        opt(&v.status_code)
    );
    let _ = writeln!(o, "  method        {}", opt(&v.method));
    let _ = writeln!(o, "  published     {}", opt(&v.published_at));
    let _ = writeln!(
        o,
        "  deadline      {} ({})",
        opt(&v.deadline_at),
        opt(&v.deadline_local)
    );
    let _ = writeln!(o, "  on the portal {}", opt(&v.url));
    let _ = writeln!(
        o,
        "  seen          {} .. {}",
        line(&v.first_seen_at),
        line(&v.last_seen_at)
    );
    if let Some(g) = &v.gone_at {
        let _ = writeln!(
            o,
            "  GONE          no longer on the portal since {}",
            line(g)
        );
    }
    if v.kind == "plan" {
        let _ = writeln!(
            o,
            "  kind          plan point (what the agency plans to buy)"
        );
    }
    if !v.plan_links.is_empty() {
        let heading = if v.kind == "plan" {
            "followed by"
        } else {
            "plan points it follows"
        };
        let _ = writeln!(o, "\n{heading} ({})", v.plan_links.len());
        for p in &v.plan_links {
            let _ = writeln!(
                o,
                "  plan point {}  {}  {}  {}",
                line(&p.plan_point),
                opt(&p.number),
                line(&p.title),
                opt(&p.url)
            );
        }
    }
    let _ = writeln!(o, "\nlots ({})", v.lots.len());
    for l in &v.lots {
        let _ = writeln!(
            o,
            "  {}  {}  {}  {}",
            opt(&l.number),
            opt(&l.title),
            money(l.amount, &v.currency),
            opt(&l.status)
        );
    }
    if !v.awards.is_empty() {
        let _ = writeln!(o, "\nawards ({})", v.awards.len());
        for a in &v.awards {
            let suppliers = a
                .suppliers
                .iter()
                .map(|s| {
                    format!(
                        "{} ({} {})",
                        line(s.name.as_deref().unwrap_or("-")),
                        line(&s.scheme),
                        line(&s.id)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                o,
                "  {}  {}  {}  {}  {}{}",
                line(&a.external_id),
                opt(&a.status),
                money(a.amount, &a.currency),
                if suppliers.is_empty() {
                    "-".into()
                } else {
                    suppliers
                },
                a.contract_id
                    .as_deref()
                    .map(|c| format!(
                        "contract {} {} {} signed {}",
                        line(c),
                        opt(&a.contract_status),
                        money(a.contract_amount, &a.currency),
                        opt(&a.contract_signed_at)
                    ))
                    .unwrap_or_default(),
                a.removed_at
                    .as_deref()
                    .map(|r| format!(" (removed {})", line(r)))
                    .unwrap_or_default()
            );
        }
    }
    let _ = writeln!(o, "\ndocuments ({})", v.documents.len());
    for d in &v.documents {
        let name = d
            .file_name
            .clone()
            .or(d.title.clone())
            .unwrap_or_else(|| d.url.clone());
        let _ = writeln!(
            o,
            "  [{}] {}{}{}{}",
            d.id,
            line(&name),
            if d.is_spec {
                " (technical specification)"
            } else {
                ""
            },
            d.lot_number
                .as_deref()
                .map(|n| format!(" lot {}", line(n)))
                .unwrap_or_default(),
            d.removed_at
                .as_deref()
                .map(|t| format!(" REMOVED {}", line(t)))
                .unwrap_or_default()
        );
        let _ = writeln!(o, "      {}", line(&d.url));
        let _ = writeln!(
            o,
            "      sha256 {}  {} bytes  {}  fetched {}",
            opt(&d.sha256),
            opt(&d.size),
            opt(&d.kind),
            opt(&d.fetched_at)
        );
        if let Some(e) = &d.error {
            let _ = writeln!(o, "      error: {}", line(e));
        }
        match d.ocr.as_deref() {
            Some("read") => {
                let _ = writeln!(
                    o,
                    "      read by OCR ({}): quotes from it may differ from the scan",
                    line(d.text_source.as_deref().unwrap_or("no text found"))
                );
            }
            Some("unavailable") => {
                let _ = writeln!(
                    o,
                    "      not read: a scan, and no OCR was installed (`tenderscan scan --ocr`)"
                );
            }
            Some("failed") => {
                let _ = writeln!(o, "      OCR failed (see the notes)");
            }
            _ => {}
        }
    }
    let _ = writeln!(o, "\nmatches ({})", v.matches.len());
    for m in &v.matches {
        let _ = writeln!(
            o,
            "  {} {} \"{}\"  in {}  flagged {}{}",
            line(m.severity.as_str()),
            line(&m.rule_id),
            line(&m.phrase),
            line(&m.target.to_string()),
            line(&m.first_flagged_at),
            m.retracted_at
                .as_deref()
                .map(|t| format!("  RETRACTED {}", line(t)))
                .unwrap_or_default()
        );
        let _ = writeln!(o, "      {}", cell(&m.evidence));
        for r in &m.reasons {
            let _ = writeln!(o, "      {}", cell(r));
        }
    }
    let _ = writeln!(o, "\nversions ({})", v.versions.len());
    for ver in &v.versions {
        let what = match &ver.changes {
            None => "first seen".to_string(),
            Some(cs) => cs.describe(),
        };
        let _ = writeln!(
            o,
            "  v{} {}  {}",
            ver.version,
            line(&ver.seen_at),
            line(&what)
        );
    }
    let _ = writeln!(
        o,
        "\nevidence ({} payloads, folder {})",
        v.evidence.len(),
        path_line(evidence.dir())
    );
    for e in &v.evidence {
        let path = evidence
            .locate(&e.sha256)
            .map(|l| l.path().to_path_buf())
            .unwrap_or_else(|_| evidence.path_of(&e.sha256));
        let _ = writeln!(
            o,
            "  {} {}  HTTP {}  {} bytes ({} stored)  fetched {} .. {} ({}x)",
            line(&e.kind),
            line(&e.url),
            opt(&e.http_status),
            e.size,
            e.stored_size,
            line(&e.first_fetched_at),
            line(&e.last_fetched_at),
            e.fetch_count
        );
        if let Some(from) = e.fetched_url.as_deref().filter(|f| *f != e.url) {
            let _ = writeln!(o, "      from {}", crate::safe_text::line(from));
        }
        let _ = writeln!(
            o,
            "      {}{}",
            path_line(&path),
            if path.is_file() { "" } else { "  (MISSING)" }
        );
    }
    o
}

/// `verify` as text.
pub fn verify_text(r: &VerifyReport, store: &Store) -> Result<String, StoreError> {
    let (rows, _payloads, size, stored) = store.evidence_totals()?;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "evidence folder {}: {} payloads checked ({} rows, {} bytes, {} on disk): {} ok, {} corrupt, {} missing",
        path_line(&r.folder),
        r.checked,
        rows,
        size,
        stored,
        r.ok,
        r.corrupt.len(),
        r.missing.len()
    );
    for p in &r.corrupt {
        let _ = writeln!(o, "CORRUPT {}: {}", path_line(&p.path), line(&p.detail));
    }
    for p in &r.missing {
        let _ = writeln!(o, "MISSING {}: {}", path_line(&p.path), line(&p.detail));
    }
    for p in &r.unreferenced {
        let _ = writeln!(o, "unreferenced (harmless) {}", path_line(p));
    }
    if r.packed_unreferenced > 0 {
        let _ = writeln!(
            o,
            "{} pack records no row names (harmless: left by a crash or by retention, packs are kept whole)",
            r.packed_unreferenced
        );
    }
    let _ = writeln!(
        o,
        "{} notices and {} documents without the evidence they should have",
        r.notices_without_evidence, r.documents_without_evidence
    );
    for g in &r.without_evidence {
        let _ = writeln!(
            o,
            "NO EVIDENCE {} {}{} {}{}",
            g.kind,
            crate::safe_text::line(&g.notice),
            g.document_id
                .map(|d| format!(" document {d}"))
                .unwrap_or_default(),
            crate::safe_text::line(g.url.as_deref().unwrap_or("-")),
            match &g.missing_since {
                Some(t) => format!(" (could not be kept since {t})"),
                None => " (no payload kept)".into(),
            }
        );
    }
    let listed = r.without_evidence.len() as i64;
    let total = r.notices_without_evidence + r.documents_without_evidence;
    if total > listed {
        let _ = writeln!(o, "... and {} more (the oldest are listed)", total - listed);
    }
    if total > 0 {
        let _ = writeln!(
            o,
            "a run keeps them when it meets them again (the cursor did not pass their page; documents stay pending); `tenderscan run --since YYYY-MM-DD` fetches older ones again"
        );
    }
    Ok(o)
}
