//! The commands that read the database and change nothing: `status`, `show`, `verify`,
//! `search`, `export` and `report --list`.
//!
//! What this module must never do: write to the database or take the run lock (they run
//! beside a run), or print text from the database, the config or a portal other than as
//! safe text (a line, a cell, CSV or JSON made safe).

use crate::cli::args::{ExportFormat, OutputFormat, ReportFormat};
use crate::cli::exit;
use crate::cli::output::{json_line, json_pretty, print_table, shown};
use crate::config::Config;
use crate::pipeline;
use crate::safe_text::line;
use crate::store::Store;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// `status`: every text from the database or the config (source names, their last error as
/// the portal or the network gave it, run commands and statuses) is one safe line.
pub(in crate::cli) fn status(cfg: &Config, format: OutputFormat, runs: usize) -> Result<i32> {
    let store = Store::open(&cfg.database.path)?;
    let version = store.schema_version()?;
    let counts = store.table_counts()?;
    let recent = store.recent_runs(runs)?;
    let health = store.source_health()?;
    let unconfirmed = store.unconfirmed_digests()?;
    let ocr_counts = store.ocr_counts()?;
    let ocr_here = crate::extract::ocr::availability(&pipeline::extract_limits(cfg).ocr);
    let backfills = store.backfills()?;
    let undelivered = store.undelivered_alerts()?;
    let unread = store.unread_documents()?;
    // Without an SMTP server, digests are written as files here.
    let outbox = cfg
        .mail
        .smtp_host
        .is_none()
        .then(|| cfg.mail.dry_run_dir.clone());
    let outbox_files = outbox
        .as_ref()
        .and_then(|d| std::fs::read_dir(d).ok())
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .count()
        })
        .unwrap_or(0);
    let mut skipped = Vec::new();
    for s in &cfg.sources {
        if let Some(k) = store.source_skipped(&s.name)? {
            skipped.push((s.name.clone(), k));
        }
    }
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        let v = serde_json::json!({
            "config": cfg.file,
            "database": store.path(),
            "schema_version": version,
            "tables": counts.iter().map(|(t, n)| (t.to_string(), serde_json::Value::from(*n))).collect::<serde_json::Map<_, _>>(),
            "sources": health,
            "skipped_sources": skipped.iter().map(|(name, (run, at, why))| serde_json::json!({
                "name": name, "run": run, "at": at, "why": why,
            })).collect::<Vec<_>>(),
            "runs": recent,
            "backfills": backfills,
            "undelivered_alerts": undelivered,
            "digest_schedules": cfg.recipients.iter()
                .filter(|r| r.schedule != crate::config::DigestSchedule::EachRun)
                .map(|r| serde_json::json!({"recipient": r.key(), "schedule": r.schedule.to_string()}))
                .collect::<Vec<_>>(),
            "outbox": outbox.as_ref().map(|d| serde_json::json!({"dir": d, "files": outbox_files})),
            "documents_not_read": unread,
            "unconfirmed_digests": unconfirmed.iter().map(|d| serde_json::json!({
                "id": d.id,
                "kind": d.kind,
                "recipient": d.recipient,
                "subject": d.subject,
                "message_id": d.message_id,
                "since": d.since,
                "alerts": d.alerts,
                "outlook": crate::alert::unconfirmed_outlook(cfg, d),
            })).collect::<Vec<_>>(),
            "ocr": {
                "available": ocr_here.is_ok(),
                "engine": ocr_here.as_ref().ok(),
                "why_not": ocr_here.as_ref().err(),
                "documents_read": ocr_counts.read,
                "scans_unread": ocr_counts.unread,
                "failed": ocr_counts.failed,
            },
        });
        writeln!(out, "{}", json_pretty(&v)?)?;
        return Ok(exit::OK);
    }
    writeln!(out, "config          {}", shown(&cfg.file))?;
    writeln!(out, "database        {}", shown(store.path()))?;
    writeln!(out, "schema version  {version}")?;
    writeln!(out, "\nrows")?;
    for (t, n) in &counts {
        writeln!(out, "  {:<16} {n:>10}", line(t))?;
    }
    writeln!(out, "\nsources")?;
    let configured: Vec<_> = cfg.sources.iter().collect();
    if configured.is_empty() && health.is_empty() {
        writeln!(out, "  (none configured)")?;
    }
    for s in &configured {
        let h = health.iter().find(|h| h.name == s.name);
        let state = if s.enabled { "enabled" } else { "disabled" };
        if let Some((run, at, why)) = skipped.iter().find(|(n, ..)| n == &s.name).map(|(_, k)| k) {
            writeln!(
                out,
                "  {:<20} {:<14} {:<8} skipped ({}) by run #{run} at {}{}",
                line(&s.name),
                line(s.kind.name()),
                state,
                line(why),
                line(at),
                s.token_env
                    .as_deref()
                    .map(|v| format!(": set {} or disable it", line(v)))
                    .unwrap_or_default()
            )?;
            continue;
        }
        match h {
            Some(h) => writeln!(
                out,
                "  {:<20} {:<14} {:<8} last success {}  failures in a row {}{}{}",
                line(&s.name),
                line(s.kind.name()),
                state,
                line(h.last_success_at.as_deref().unwrap_or("never")),
                h.consecutive_failures,
                if h.refused {
                    "  REFUSED by the portal (HTTP 403/500 after the refused_backoff_secs retries, or a gateway wanting its browser-minted signature: see the last error)"
                } else {
                    ""
                },
                h.last_error
                    .as_deref()
                    .filter(|_| h.consecutive_failures > 0)
                    .map(|e| format!("  last error: {}", line(e)))
                    .unwrap_or_default()
            )?,
            None => writeln!(
                out,
                "  {:<20} {:<14} {:<8} never crawled",
                line(&s.name),
                line(s.kind.name()),
                state
            )?,
        }
    }
    if !backfills.is_empty() {
        writeln!(out, "\nbackfills")?;
    }
    for b in &backfills {
        writeln!(
            out,
            "  {:<20} {}..{}  stage {:<9} metadata: {} pages, {} notices ({} candidates)  documents: {} read, {} left ({} of candidates){}",
            line(&b.source),
            line(&b.since),
            line(&b.until),
            line(&b.stage),
            b.pages,
            b.notices,
            b.candidates,
            b.documents_done,
            b.documents_left,
            b.candidate_documents_left,
            b.finished_at
                .as_deref()
                .map(|f| format!("  finished {}", line(f)))
                .unwrap_or_default()
        )?;
    }
    writeln!(out, "\nscans (OCR)")?;
    match &ocr_here {
        Ok(e) => writeln!(out, "  OCR here         {}", line(e))?,
        Err(why) => writeln!(out, "  OCR here         none: {}", line(why))?,
    }
    writeln!(out, "  read by OCR      {:>10}", ocr_counts.read)?;
    writeln!(
        out,
        "  not read         {:>10}{}",
        ocr_counts.unread,
        if ocr_counts.unread > 0 {
            "  (stored with no OCR installed: `tenderscan scan --ocr` reads them once it is)"
        } else {
            ""
        }
    )?;
    if ocr_counts.failed > 0 {
        writeln!(out, "  OCR failed       {:>10}", ocr_counts.failed)?;
    }
    writeln!(out, "\ndocuments not read")?;
    writeln!(out, "  scanned, no OCR  {:>10}", unread.scanned)?;
    writeln!(out, "  too large        {:>10}", unread.too_large)?;
    writeln!(out, "  failed           {:>10}", unread.failed)?;
    writeln!(out, "\nalerts not delivered")?;
    if undelivered.is_empty() {
        writeln!(out, "  (none)")?;
    }
    for a in &undelivered {
        // a scheduled recipient's pending alerts wait for its slot: say so
        let schedule = cfg
            .recipients
            .iter()
            .find(|r| r.is(&a.recipient))
            .map(|r| r.schedule)
            .filter(|s| *s != crate::config::DigestSchedule::EachRun)
            .map(|s| format!("  (schedule {s}, Almaty time)"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {:<30} pending {}  failed {}  unconfirmed {}{schedule}{}",
            line(&a.recipient),
            a.pending,
            a.failed,
            a.unconfirmed,
            if a.withheld > 0 {
                format!("  held back by a false-positive verdict {}", a.withheld)
            } else {
                String::new()
            }
        )?;
    }
    match &outbox {
        Some(d) => writeln!(
            out,
            "  outbox           {} ({outbox_files} files; no [mail] smtp_host: digests are written there)",
            shown(d)
        )?,
        None => writeln!(
            out,
            "  mail server      {}",
            line(cfg.mail.smtp_host.as_deref().unwrap_or_default())
        )?,
    }
    if !unconfirmed.is_empty() {
        writeln!(
            out,
            "\nunconfirmed digests (a run stopped while handing them to the mail server)"
        )?;
        for d in &unconfirmed {
            writeln!(
                out,
                "  #{:<5} to {}  since {}  {} alerts  subject {:?}\n         {}",
                d.id,
                d.recipient,
                d.since,
                d.alerts,
                d.subject,
                crate::alert::unconfirmed_outlook(cfg, d)
            )?;
        }
    }
    writeln!(out, "\nlast runs")?;
    if recent.is_empty() {
        writeln!(out, "  (none yet)")?;
    }
    for r in &recent {
        writeln!(
            out,
            "  #{:<5} {:<6} {} .. {}  {:<11} new {} changed {} documents {} matches {} alerts sent {} errors {}",
            r.id,
            line(&r.command),
            line(&r.started_at),
            line(r.finished_at.as_deref().unwrap_or("(running or killed)")),
            line(r.status.as_str()),
            r.notices_new,
            r.notices_changed,
            r.documents,
            r.matches,
            r.alerts_sent,
            r.errors
        )?;
    }
    Ok(exit::OK)
}

pub(in crate::cli) fn show(cfg: &Config, key: &str, format: OutputFormat) -> Result<i32> {
    let store = Store::open(&cfg.database.path)?;
    let evidence = crate::evidence::Evidence::beside(store.path());
    let Some(view) = store
        .find_notice(key)?
        .map(|id| store.notice_view(id))
        .transpose()?
        .flatten()
    else {
        eprintln!("tenderscan: no notice {key:?} (give its number, external id, id or URL)");
        return Ok(exit::BAD_CONFIG);
    };
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => writeln!(
            out,
            "{}",
            json_pretty(&crate::show::notice_json(&view, &evidence))?
        )?,
        OutputFormat::Text => write!(out, "{}", crate::show::notice_text(&view, &evidence))?,
    }
    Ok(exit::OK)
}

/// `show NOTICE --document N -o FILE`: the document's bytes as fetched, out of the evidence
/// folder (decompressed), to FILE (`-`: stdout).
pub(in crate::cli) fn show_document(
    cfg: &Config,
    key: &str,
    document: i64,
    output: &Path,
) -> Result<i32> {
    let store = Store::open(&cfg.database.path)?;
    let evidence = crate::evidence::Evidence::beside(store.path());
    let Some(view) = store
        .find_notice(key)?
        .map(|id| store.notice_view(id))
        .transpose()?
        .flatten()
    else {
        eprintln!(
            "tenderscan: no notice {} (give its number, external id, id or URL)",
            line(key)
        );
        return Ok(exit::BAD_CONFIG);
    };
    let Some(doc) = view.documents.iter().find(|d| d.id == document) else {
        eprintln!(
            "tenderscan: notice {} has no document [{document}] (its documents: {})",
            line(key),
            view.documents
                .iter()
                .map(|d| format!("[{}]", d.id))
                .collect::<Vec<_>>()
                .join(" ")
        );
        return Ok(exit::BAD_CONFIG);
    };
    let Some(sha) = doc.sha256.as_deref() else {
        eprintln!("tenderscan: document [{document}] was never fetched: nothing is kept of it");
        return Ok(exit::PARTIAL);
    };
    let bytes = match evidence.read(sha) {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "tenderscan: document [{document}]: {}",
                line(&e.to_string())
            );
            return Ok(exit::PARTIAL);
        }
    };
    if output == Path::new("-") {
        let mut out = std::io::stdout().lock();
        out.write_all(&bytes)?;
        out.flush()?;
    } else {
        std::fs::write(output, &bytes)
            .with_context(|| format!("cannot write {}", output.display()))?;
        tracing::info!(
            document,
            bytes = bytes.len(),
            file = %output.display(),
            "document written"
        );
    }
    Ok(exit::OK)
}

pub(in crate::cli) fn verify(cfg: &Config, format: OutputFormat) -> Result<i32> {
    let store = Store::open(&cfg.database.path)?;
    let report =
        crate::evidence::Evidence::beside(store.path()).verify(&store, cfg.evidence.keep_days)?;
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => writeln!(out, "{}", json_pretty(&report)?)?,
        OutputFormat::Text => write!(out, "{}", crate::show::verify_text(&report, &store)?)?,
    }
    Ok(if report.failed() {
        exit::PARTIAL
    } else {
        exit::OK
    })
}

/// `evidence repack`: loose files into packs (see [`crate::evidence::Evidence::repack`]).
pub(in crate::cli) fn repack(cfg: &Config, format: OutputFormat) -> Result<i32> {
    let store = Store::open(&cfg.database.path)?;
    let report = crate::evidence::Evidence::beside(store.path()).repack()?;
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => writeln!(out, "{}", json_pretty(&report)?)?,
        OutputFormat::Text => {
            writeln!(
                out,
                "{} loose files moved into packs ({} bytes), {} already packed (removed), {} left alone",
                report.moved,
                report.bytes,
                report.already_packed,
                report.skipped.len()
            )?;
            for p in &report.skipped {
                writeln!(
                    out,
                    "  left alone: {} ({})",
                    crate::show::path_line(&p.path),
                    crate::safe_text::line(&p.detail)
                )?;
            }
        }
    }
    Ok(if report.skipped.is_empty() {
        exit::OK
    } else {
        exit::PARTIAL
    })
}

pub(in crate::cli) fn search(
    store: &Store,
    query: &str,
    format: ReportFormat,
    excel: bool,
    limit: usize,
) -> Result<i32> {
    let fts = crate::report::fts_query(query);
    if fts.is_empty() {
        anyhow::bail!("search: no words to search for in {query:?}");
    }
    let hits = store.search(&fts, limit)?;
    let table = crate::report::Table {
        columns: [
            "kind",
            "notice_number",
            "title",
            "agency_name",
            "snippet",
            "url",
        ]
        .map(String::from)
        .to_vec(),
        rows: hits
            .iter()
            .map(|h| {
                use rusqlite::types::Value::{Null, Text};
                let opt = |s: &Option<String>| s.clone().map(Text).unwrap_or(Null);
                vec![
                    Text(h.kind.into()),
                    opt(&h.notice_number),
                    Text(h.title.clone()),
                    opt(&h.agency_name),
                    Text(h.snippet.clone()),
                    opt(&h.url),
                ]
            })
            .collect(),
    };
    print_table(&table, format, excel)
}

/// `export`'s date filters: publication (`--since`) and first seen (`--seen-since`).
pub(in crate::cli) struct ExportSince {
    pub published: Option<chrono::NaiveDate>,
    pub seen: Option<chrono::NaiveDate>,
}

pub(in crate::cli) fn export(
    store: &Store,
    table: &str,
    since: ExportSince,
    format: ExportFormat,
    excel: bool,
    output: Option<&Path>,
) -> Result<i32> {
    use crate::report::{csv_line, csv_row, json_value};
    let mut w: Box<dyn Write> = match output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let seen_since = since.seen.map(day);
    let since = since.published.map(day);
    let columns = store.export_columns(table)?;
    if format == ExportFormat::Csv {
        if excel {
            w.write_all("\u{feff}".as_bytes())?;
        }
        w.write_all(csv_line(columns.iter().cloned()).as_bytes())?;
    }
    let mut row = |r: &[rusqlite::types::Value]| -> std::io::Result<()> {
        match format {
            ExportFormat::Csv => w.write_all(csv_row(r, excel).as_bytes()),
            ExportFormat::Jsonl => {
                let obj: serde_json::Map<String, serde_json::Value> = columns
                    .iter()
                    .cloned()
                    .zip(r.iter().map(json_value))
                    .collect();
                let mut text = json_line(&obj).map_err(std::io::Error::other)?;
                text.push('\n');
                w.write_all(text.as_bytes())
            }
        }
    };
    let n = store.export(table, since.as_deref(), seen_since.as_deref(), &mut row)?;
    w.flush()?;
    tracing::info!(table, rows = n, "exported");
    Ok(exit::OK)
}

pub(in crate::cli) fn report_list(reports: &[crate::report::Report]) -> Result<i32> {
    use crate::safe_text::line;
    let mut out = std::io::stdout().lock();
    for r in reports {
        writeln!(out, "{:<30} {}", line(&r.name), line(&r.title))?;
        writeln!(out, "{:<30} {}", "", line(&r.description))?;
        if let Some(f) = &r.file {
            writeln!(out, "{:<30} (from {})", "", line(&f.display().to_string()))?;
        }
        for p in &r.params {
            writeln!(
                out,
                "{:<30}   --param {}={}  ({})",
                "",
                line(&p.name),
                line(&p.default),
                line(&p.doc)
            )?;
        }
    }
    Ok(exit::OK)
}
