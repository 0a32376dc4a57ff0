//! `match`: the rules over files (or stdin), read by the same readers as a run, without a
//! database; in text (the matched words highlighted) or as JSON lines.
//!
//! What this module must never do: open the database, or print a file's name or text
//! other than as safe text (only the highlight it adds itself is an escape code); the JSON
//! line's fields keep their order, new ones are only ever added at the end.

use crate::cli::args::OutputFormat;
use crate::cli::exit;
use crate::cli::output::json_line;
use crate::cli::readers;
use crate::config::Config;
use crate::pipeline;
use crate::rules::RuleSet;
use crate::safe_text::{self, line};
use anyhow::Result;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// One line of `match --format json`; the field order is part of the contract (fields are
/// only ever added at the end).
#[derive(serde::Serialize)]
struct MatchLine<'a> {
    source: &'a str,
    matches: Vec<MatchJson<'a>>,
    quotas: Vec<QuotaJson>,
    /// Where the text came from (`text`, `pdftotext`, `ocr`, `text+ocr`, ...); null: none.
    text_source: Option<&'a str>,
    /// `read` (page images read by OCR), `unavailable` (not read: no OCR), or null.
    ocr: Option<&'static str>,
    /// What the text output says about OCR ("read by OCR", "not read (scanned, no OCR)").
    ocr_note: Option<&'static str>,
}

#[derive(serde::Serialize)]
struct MatchJson<'a> {
    rule: &'a str,
    severity: &'static str,
    score: f64,
    evidence: &'a str,
    start: usize,
    end: usize,
    /// The matched words were read by OCR.
    ocr: bool,
    /// What the second opinion said, when it made the match or lowered it.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    reasons: &'a [String],
}

#[derive(serde::Serialize)]
struct QuotaJson {
    kind: &'static str,
    count: u64,
    per: Option<&'static str>,
}

const READ_BY_OCR: &str = "read by OCR";
const PARTLY_BY_OCR: &str = "partly read by OCR";
const NOT_READ: &str = "not read (scanned, no OCR)";
const IMAGES_NOT_READ: &str = "page images not read: no OCR";

/// What `match` says of an input's OCR, in text and JSON.
fn ocr_note(x: &crate::extract::Extracted) -> Option<&'static str> {
    use crate::extract::OcrStatus;
    let by_ocr = x.text_source.as_deref().is_some_and(|s| s.contains("ocr"));
    match x.ocr {
        OcrStatus::NotNeeded => None,
        OcrStatus::Unavailable if x.text.trim().is_empty() => Some(NOT_READ),
        OcrStatus::Unavailable => Some(IMAGES_NOT_READ),
        OcrStatus::Read if by_ocr && x.text_source.as_deref() != Some("ocr") => Some(PARTLY_BY_OCR),
        OcrStatus::Read => Some(READ_BY_OCR),
    }
}

/// `tenderscan match`: the rules over files, no database.
pub(in crate::cli) fn match_files(
    cfg: &Config,
    rules: &RuleSet,
    format: OutputFormat,
    paths: &[PathBuf],
    threads: usize,
) -> Result<i32> {
    let stdin = [PathBuf::from("-")];
    let paths = if paths.is_empty() { &stdin[..] } else { paths };
    // A folder stands for every file under it (recursively, in name order); then the text
    // output ends with a count.
    let walked = paths.iter().any(|p| p.is_dir());
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            if let Err(e) = walk(p, &mut files) {
                eprintln!(
                    "tenderscan: {}: cannot read the folder: {}",
                    line(&p.display().to_string()),
                    line(&e.to_string())
                );
                return Ok(exit::BAD_CONFIG);
            }
        } else {
            files.push(p.clone());
        }
    }
    let paths = &files[..];
    let (mut with_matches, mut unread) = (0usize, 0usize);
    let limits = pipeline::extract_limits(cfg);
    let readers = readers(cfg);
    let color = format == OutputFormat::Text && std::io::stdout().is_terminal();
    let mut code = exit::OK;
    let mut out = std::io::stdout().lock();
    // Files are read and matched on a work queue; what they give is written here, in the
    // files' order, so the output is the same with any number of threads.
    let read_one = |path: &PathBuf| -> Read {
        let shown = path.display().to_string();
        let bytes = if shown == "-" {
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut b).map(|_| b)
        } else {
            std::fs::read(path)
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => return Read::Failed(format!("cannot read: {}", line(&e.to_string()))),
        };
        let name = path.file_name().and_then(|n| n.to_str());
        match readers.read(&bytes, name, None, &limits, &|| false) {
            Ok(x) => {
                let found = rules.find(&x.text, &crate::rules::Context::default());
                Read::Done(Box::new((x, found)))
            }
            Err(e) => Read::Failed(line(&e.to_string()).into_owned()),
        }
    };
    let style = Style {
        format,
        color,
        ocr: &limits.ocr,
    };
    let mut failed: Option<anyhow::Error> = None;
    crate::par::for_each_ordered(threads, paths, read_one, |i, r| {
        match write_one(&mut out, &paths[i], r, &style, &mut code) {
            Ok((matched, not_read)) => {
                with_matches += matched as usize;
                unread += not_read as usize;
                true
            }
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if walked {
        let summary = format!(
            "{} files: {with_matches} with matches, {unread} not read",
            paths.len()
        );
        if format == OutputFormat::Json {
            tracing::info!("{summary}");
        } else {
            writeln!(out, "{summary}")?;
        }
    }
    Ok(code)
}

/// What reading one input gave.
enum Read {
    /// Why it could not be read (safe text).
    Failed(String),
    Done(Box<(crate::extract::Extracted, crate::rules::Findings)>),
}

/// How the output is written.
struct Style<'a> {
    format: OutputFormat,
    color: bool,
    ocr: &'a crate::extract::ocr::OcrLimits,
}

/// Write what one input gave; (it has matches, it was not read).
fn write_one(
    out: &mut impl Write,
    path: &std::path::Path,
    r: Read,
    style: &Style<'_>,
    code: &mut i32,
) -> Result<(bool, bool)> {
    let Style { format, color, ocr } = *style;
    let shown = path.display().to_string();
    // The name as a person sees it; the JSON `source` keeps it exact.
    let name_line = line(&shown).into_owned();
    let (x, found) = match r {
        Read::Failed(why) => {
            eprintln!("tenderscan: {name_line}: {why}");
            *code = exit::BAD_CONFIG;
            return Ok((false, true));
        }
        Read::Done(b) => *b,
    };
    for n in &x.notes {
        tracing::warn!("{shown}: {n}");
    }
    if x.ocr == crate::extract::OcrStatus::Unavailable {
        eprintln!(
            "tenderscan: {name_line}: page images not read: no OCR here ({}); see README, Scans and OCR",
            line(
                &crate::extract::ocr::availability(ocr)
                    .err()
                    .unwrap_or_else(|| "a tool it needs is missing".into())
            )
        );
    }
    let note = ocr_note(&x);
    let counted = (!found.matches.is_empty(), note == Some(NOT_READ));
    if format == OutputFormat::Json {
        let line = MatchLine {
            source: &shown,
            matches: found
                .matches
                .iter()
                .map(|m| MatchJson {
                    rule: &m.rule_id,
                    severity: m.severity.as_str(),
                    score: m.score,
                    evidence: &m.evidence,
                    start: m.start,
                    end: m.end,
                    ocr: x.by_ocr(m.start, m.end),
                    reasons: &m.reasons,
                })
                .collect(),
            quotas: found
                .quotas
                .iter()
                .map(|q| QuotaJson {
                    kind: q.kind.as_str(),
                    count: q.count,
                    per: q.per.map(|p| p.as_str()),
                })
                .collect(),
            text_source: x.text_source.as_deref(),
            ocr: x.ocr.as_db(),
            ocr_note: note,
        };
        writeln!(out, "{}", json_line(&line)?)?;
        return Ok(counted);
    }
    let lead = match note {
        Some(n @ NOT_READ) => {
            writeln!(out, "{name_line}: {n}")?;
            return Ok(counted);
        }
        Some(n @ (READ_BY_OCR | PARTLY_BY_OCR)) => format!("{name_line}: {n}:"),
        _ => format!("{name_line}:"),
    };
    let tail = match note {
        Some(n @ IMAGES_NOT_READ) => format!(" ({n})"),
        _ => String::new(),
    };
    if found.matches.is_empty() {
        writeln!(out, "{lead} no match{tail}")?;
        return Ok(counted);
    }
    writeln!(out, "{lead} {} matches{tail}", found.matches.len())?;
    for m in &found.matches {
        let (a, b) = (
            m.start.saturating_sub(m.evidence_start),
            m.end.saturating_sub(m.evidence_start),
        );
        let ev = &m.evidence;
        // Each piece made safe on its own, so only our own highlight is an escape code.
        let c = safe_text::cell;
        let lit = match (ev.get(..a), ev.get(a..b), ev.get(b..)) {
            (Some(pre), Some(hit), Some(post)) if color => {
                format!("{}\x1b[1;31m{}\x1b[0m{}", c(pre), c(hit), c(post))
            }
            (Some(pre), Some(hit), Some(post)) => {
                format!("{}[[{}]]{}", c(pre), c(hit), c(post))
            }
            _ => c(ev).into_owned(),
        };
        writeln!(
            out,
            "  {:<6} {} (score {:.2}, bytes {}..{}{})\n    {}",
            m.severity,
            m.rule_id,
            m.score,
            m.start,
            m.end,
            if x.by_ocr(m.start, m.end) {
                ", read by OCR"
            } else {
                ""
            },
            lit
        )?;
        for r in &m.reasons {
            writeln!(out, "    {}", c(r))?;
        }
    }
    for q in &found.quotas {
        writeln!(
            out,
            "  quota  {} {}{}",
            q.count,
            q.kind.as_str(),
            q.per
                .map(|p| format!(" per {}", p.as_str()))
                .unwrap_or_default()
        )?;
    }
    Ok(counted)
}

/// Every file under `dir`, recursively, in name order (symbolic links to folders are not
/// followed, so a loop cannot make the walk endless).
fn walk(dir: &std::path::Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .collect::<std::io::Result<Vec<_>>>()?
        .into_iter()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        let meta = std::fs::symlink_metadata(&p)?;
        if meta.is_dir() {
            walk(&p, files)?;
        } else if meta.is_file() || (meta.file_type().is_symlink() && p.is_file()) {
            files.push(p);
        }
    }
    Ok(())
}
