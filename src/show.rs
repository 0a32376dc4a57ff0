//! The output of `tenderscan show NOTICE` and `tenderscan verify`: one notice with its
//! lots, documents (and their hashes), matches, versions and evidence files, as text for
//! people or JSON for machines. Reads only; the field names of the JSON are documented in
//! the README and are a contract.

use crate::evidence::{Evidence, VerifyReport};
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
            let path = evidence.path_of(&sha);
            row["path"] = json!(path);
            row["present"] = json!(path.is_file());
        }
    }
    v["evidence_folder"] = json!(evidence.dir());
    v
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| "-".into())
}

fn money(x: Option<f64>, cur: &Option<String>) -> String {
    match x.and_then(crate::alert::format_amount) {
        Some(a) => format!("{a} {}", cur.as_deref().unwrap_or(""))
            .trim()
            .to_string(),
        None => "-".into(),
    }
}

/// `show` as text.
pub fn notice_text(v: &NoticeView, evidence: &Evidence) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{}", v.title);
    let _ = writeln!(
        o,
        "  notice        {} (external id {}, id {}, source {})",
        opt(&v.number),
        v.external_id,
        v.id,
        v.source
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
        v.first_seen_at, v.last_seen_at
    );
    if let Some(g) = &v.gone_at {
        let _ = writeln!(o, "  GONE          no longer on the portal since {g}");
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
                        s.name.as_deref().unwrap_or("-"),
                        s.scheme,
                        s.id
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                o,
                "  {}  {}  {}  {}  {}{}",
                a.external_id,
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
                        "contract {c} {} {} signed {}",
                        opt(&a.contract_status),
                        money(a.contract_amount, &a.currency),
                        opt(&a.contract_signed_at)
                    ))
                    .unwrap_or_default(),
                a.removed_at
                    .as_deref()
                    .map(|r| format!(" (removed {r})"))
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
            name,
            if d.is_spec {
                " (technical specification)"
            } else {
                ""
            },
            d.lot_number
                .as_deref()
                .map(|n| format!(" lot {n}"))
                .unwrap_or_default(),
            d.removed_at
                .as_deref()
                .map(|t| format!(" REMOVED {t}"))
                .unwrap_or_default()
        );
        let _ = writeln!(o, "      {}", d.url);
        let _ = writeln!(
            o,
            "      sha256 {}  {} bytes  {}  fetched {}",
            opt(&d.sha256),
            opt(&d.size),
            opt(&d.kind),
            opt(&d.fetched_at)
        );
        if let Some(e) = &d.error {
            let _ = writeln!(o, "      error: {e}");
        }
    }
    let _ = writeln!(o, "\nmatches ({})", v.matches.len());
    for m in &v.matches {
        let _ = writeln!(
            o,
            "  {} {} \"{}\"  in {}  flagged {}{}",
            m.severity,
            m.rule_id,
            m.phrase,
            m.target,
            m.first_flagged_at,
            m.retracted_at
                .as_deref()
                .map(|t| format!("  RETRACTED {t}"))
                .unwrap_or_default()
        );
        let _ = writeln!(o, "      {}", m.evidence.replace('\n', " "));
    }
    let _ = writeln!(o, "\nversions ({})", v.versions.len());
    for ver in &v.versions {
        let what = match &ver.changes {
            None => "first seen".to_string(),
            Some(c) => serde_json::from_value::<Vec<crate::store::history::FieldChange>>(c.clone())
                .map(|cs| {
                    cs.iter()
                        .map(|c| c.describe())
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_else(|_| c.to_string()),
        };
        let _ = writeln!(o, "  v{} {}  {}", ver.version, ver.seen_at, what);
    }
    let _ = writeln!(
        o,
        "\nevidence ({} payloads, folder {})",
        v.evidence.len(),
        evidence.dir().display()
    );
    for e in &v.evidence {
        let path = evidence.path_of(&e.sha256);
        let _ = writeln!(
            o,
            "  {} {}  HTTP {}  {} bytes ({} stored)  fetched {} .. {} ({}x)",
            e.kind,
            e.url,
            opt(&e.http_status),
            e.size,
            e.stored_size,
            e.first_fetched_at,
            e.last_fetched_at,
            e.fetch_count
        );
        if let Some(from) = e.fetched_url.as_deref().filter(|f| *f != e.url) {
            let _ = writeln!(o, "      from {}", sanitize_line(from));
        }
        let _ = writeln!(
            o,
            "      {}{}",
            path.display(),
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
        r.folder.display(),
        r.checked,
        rows,
        size,
        stored,
        r.ok,
        r.corrupt.len(),
        r.missing.len()
    );
    for p in &r.corrupt {
        let _ = writeln!(o, "CORRUPT {}: {}", p.path.display(), p.detail);
    }
    for p in &r.missing {
        let _ = writeln!(o, "MISSING {}: {}", p.path.display(), p.detail);
    }
    for p in &r.unreferenced {
        let _ = writeln!(o, "unreferenced (harmless) {}", p.display());
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
            sanitize_line(&g.notice),
            g.document_id
                .map(|d| format!(" document {d}"))
                .unwrap_or_default(),
            sanitize_line(g.url.as_deref().unwrap_or("-")),
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

/// One line of untrusted text made safe for a terminal: line breaks shown as `\n`, tabs as a
/// space, every other control character (ESC, BEL, CR, NUL, C1) as U+FFFD, so text cannot move
/// the cursor, retitle the window or forge lines.
pub fn sanitize_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
