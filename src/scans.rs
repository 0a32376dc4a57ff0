//! Scanned documents: what the readers made of a document goes into its row (text, where the
//! text came from, whether its page images were read by OCR and which bytes OCR read), and
//! `tenderscan scan --ocr` reads again, from their kept evidence, the scans stored while no
//! OCR was installed.
//!
//! This module must never: re-read a document from anything but its evidence file whose
//! bytes hash to the document's sha256, read in tenderscan's own process a scan whose last
//! re-read killed tenderscan, or mark a scan read when OCR was not there (it stays
//! `unavailable`, and counts as unread in `status`).

use crate::evidence::Evidence;
use crate::extract::{self, Extracted, OcrStatus};
use crate::store::{DocumentContent, Store, StoreError, sha256_hex};

/// The parts of a document's row that come from reading it.
pub fn fill(content: &mut DocumentContent, x: Extracted) {
    content.kind = Some(x.kind.as_str().to_string());
    content.scanned = x.scanned;
    content.text_source = x.text_source;
    content.ocr = x.ocr.as_db().map(str::to_string);
    content.ocr_spans = (!x.ocr_spans.is_empty()).then(|| spans_json(&x.ocr_spans));
    content.text = Some(x.text);
    if !x.notes.is_empty() {
        content.notes = Some(x.notes.join("\n"));
    }
}

/// `[[0,1139],[1141,2050]]`
pub fn spans_json(spans: &[(usize, usize)]) -> String {
    serde_json::to_string(&spans.iter().map(|&(a, b)| [a, b]).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

/// What `scan --ocr` did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Reread {
    /// Scans read by OCR (each distinct content once).
    pub read: usize,
    /// Of those, how many gave text.
    pub with_text: usize,
    /// Document rows they stand for (the same file on several notices).
    pub rows: usize,
    /// Document rows still not read at the end: OCR still unavailable for them, their
    /// evidence gone, or the run stopped first.
    pub unread: usize,
    /// Reading them failed (they are not tried again).
    pub failed: usize,
}

/// Why `scan --ocr` could not start.
#[derive(Debug, thiserror::Error)]
pub enum RereadError {
    #[error("no OCR here: {0}")]
    NoOcr(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs that may die while re-reading one scan in a worker before it is failed for good (the
/// same rule as for documents fetched by a run).
const MAX_READ_ATTEMPTS: i64 = 3;

/// Reads again every scan left unread for want of OCR, from its evidence file, and stores
/// the text; their notices are scanned again by the next `scan`. Stops between documents
/// when `stop` is raised.
pub fn reread(
    store: &mut Store,
    readers: &extract::Readers,
    limits: &extract::Limits,
    stop: &dyn Fn() -> bool,
) -> Result<Reread, RereadError> {
    let available = extract::ocr::availability(&limits.ocr).map_err(RereadError::NoOcr)?;
    tracing::info!("OCR: {available}");
    let evidence = Evidence::beside(store.path());
    let marks = store.read_marks()?;
    let mut out = Reread::default();
    let mut after = 0;
    'all: loop {
        let batch = store.unread_scans(after, 50)?;
        let Some(last) = batch.last().map(|s| s.id) else {
            break;
        };
        for scan in batch {
            if stop() {
                break 'all;
            }
            if let Some(stale) = scan.stale_read
                && (stale.in_process || stale.attempts >= MAX_READ_ATTEMPTS)
            {
                let why = "OCR: reading it again crashed tenderscan; it is not read again";
                tracing::error!(url = %scan.url, "{why}");
                store.reread_failed(&scan.sha256, why)?;
                out.failed += 1;
                continue;
            }
            let bytes = match evidence.read(&scan.sha256) {
                Ok(b) if sha256_hex(&b) == scan.sha256 => b,
                Ok(_) => {
                    tracing::warn!(url = %scan.url, "its evidence file no longer matches its hash: not read again (see `tenderscan verify`)");
                    continue;
                }
                Err(e) => {
                    tracing::warn!(url = %scan.url, "not read again: {e}");
                    continue;
                }
            };
            if let Err(e) = marks.begin(scan.id, !readers.is_isolated()) {
                tracing::warn!("document {}: cannot mark it as being read: {e}", scan.id);
            }
            let r = readers.read(
                &bytes,
                scan.file_name.as_deref(),
                scan.media_type.as_deref(),
                limits,
                stop,
            );
            let cleared = if matches!(r, Err(extract::ExtractError::Interrupted)) {
                marks.abandon(scan.id)
            } else {
                marks.end(scan.id)
            };
            if let Err(e) = cleared {
                tracing::warn!("document {}: cannot clear its read mark: {e}", scan.id);
            }
            match r {
                Ok(x) if x.ocr == OcrStatus::Unavailable => {
                    // The worker found no OCR after all (a tool missing for this kind).
                    tracing::warn!(url = %scan.url, "still not read: {}", x.notes.join("; "));
                }
                Ok(x) => {
                    let with_text = x.text_source.as_deref().is_some_and(|s| s.contains("ocr"));
                    let mut c = DocumentContent::default();
                    fill(&mut c, x);
                    let rows = store.save_reread(&scan.sha256, &c)?;
                    tracing::info!(url = %scan.url, rows, with_text, "read by OCR");
                    out.read += 1;
                    out.rows += rows;
                    out.with_text += usize::from(with_text);
                }
                Err(extract::ExtractError::Interrupted) => break 'all,
                Err(e) => {
                    tracing::warn!(url = %scan.url, "OCR failed: {e}");
                    store.reread_failed(&scan.sha256, &format!("OCR: {e}"))?;
                    out.failed += 1;
                }
            }
        }
        after = last;
    }
    out.unread = usize::try_from(store.ocr_counts()?.unread).unwrap_or(0);
    Ok(out)
}
