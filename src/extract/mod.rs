//! Text out of tender attachments: DOCX, PDF, HTML, XLSX/XLS/ODS, ODT, DOC, RTF, ZIP, CMS
//! signatures and plain text in legacy encodings; scans (PDF pages without text, images on
//! their own or inside documents) through OCR ([`ocr`]) where Tesseract is installed.
//!
//! One entry point, [`extract`]: bytes (plus an optional file name and media type) in, UTF-8
//! text with paragraph breaks out, together with what was read ([`Part`]) and what was skipped
//! (`notes`). The kind is detected by content ([`sniff`]), the name only breaks ties.
//!
//! Every input is treated as hostile. This module must never: panic across its boundary (third
//! party parsers run under `catch_unwind`), unpack more than [`Limits`] allow (declared and
//! actual sizes are both checked, readers stop at the cap), run past the time budget (a PDF
//! parser that loops is abandoned on its worker thread), build a tree of markup nested deeper
//! than `html::MAX_DEPTH`, or use a name taken from the input as a path on disk (the only
//! temporary data goes to `pdftotext`, `pdftoppm` and `tesseract` on their standard input),
//! or let OCR run past its own budget ([`OcrLimits`]).
//!
//! What no in-process guard can stop (an allocation failure aborts the process) is stopped by
//! [`Readers`] ([`isolate`]): the binary reads every document in a worker process of its own
//! with a memory limit, a CPU budget and a wall-clock kill.

mod cfb;
mod cms;
mod doc;
mod docx;
mod html;
pub mod isolate;
pub mod ocr;
mod odf;
mod pdf;
mod rtf;
mod sheet;
mod sniff;
mod text;
mod tool;
mod xml;
mod zipread;

pub use isolate::{ProcessLimits, Readers};
pub use ocr::{OcrLimits, OcrStatus};
pub use sniff::sniff;

use std::fmt;
use std::time::{Duration, Instant};

/// Caps applied to one call of [`extract`], shared by everything nested inside the input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// Largest input accepted at all.
    pub max_input_bytes: usize,
    /// Total bytes that may be decompressed from all archives and parts, nesting included.
    pub max_unpacked_bytes: u64,
    /// Largest single decompressed entry (an XML part, a file inside a ZIP).
    pub max_entry_bytes: u64,
    /// How many containers (ZIP, CMS, DOCX...) may be nested inside each other.
    pub max_depth: u32,
    /// Total archive entries looked at, nesting included.
    pub max_entries: usize,
    /// Largest text returned; the rest is cut with a note.
    pub max_text_bytes: usize,
    /// Wall-clock budget for the whole call, OCR aside.
    pub time_budget: Duration,
    /// OCR of page images: languages, page cap, its own time budget, output cap.
    pub ocr: OcrLimits,
}

impl Limits {
    /// The wall-clock time reading an input of `kind` may take: the budget, and OCR's where
    /// the kind can hold page images.
    pub fn budget_for(&self, kind: Kind) -> Duration {
        if kind.may_hold_scans() {
            self.time_budget.saturating_add(self.ocr.budget())
        } else {
            self.time_budget
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 50 << 20,
            max_unpacked_bytes: 200 << 20,
            max_entry_bytes: 64 << 20,
            max_depth: 8,
            max_entries: 10_000,
            max_text_bytes: 20 << 20,
            time_budget: Duration::from_secs(30),
            ocr: OcrLimits::default(),
        }
    }
}

/// What an input (or a part inside it) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Docx,
    Doc,
    Pdf,
    Html,
    Xlsx,
    Xls,
    Ods,
    Odt,
    Rtf,
    Zip,
    Cms,
    Text,
    /// A picture (PNG, JPEG, TIFF, GIF, BMP, WebP): read by OCR when it is page-sized.
    Image,
    Unknown,
}

impl Kind {
    /// Whether an input of this kind can hold page images for OCR (a scanned PDF, a photo in
    /// a DOCX, XLSX, ODF, ZIP or signed file, an image).
    pub fn may_hold_scans(self) -> bool {
        matches!(
            self,
            Kind::Pdf
                | Kind::Docx
                | Kind::Xlsx
                | Kind::Odt
                | Kind::Ods
                | Kind::Zip
                | Kind::Cms
                | Kind::Image
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Docx => "docx",
            Kind::Doc => "doc",
            Kind::Pdf => "pdf",
            Kind::Html => "html",
            Kind::Xlsx => "xlsx",
            Kind::Xls => "xls",
            Kind::Ods => "ods",
            Kind::Odt => "odt",
            Kind::Rtf => "rtf",
            Kind::Zip => "zip",
            Kind::Cms => "cms",
            Kind::Text => "text",
            Kind::Image => "image",
            Kind::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of text that was read: a document, or an XML part of one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Part {
    /// Where it came from, e.g. `spec.zip/techspec.docx/word/document.xml`.
    pub path: String,
    pub kind: Kind,
    /// Characters of text it gave.
    pub chars: usize,
    /// Read by OCR from a page image.
    #[serde(default)]
    pub ocr: bool,
}

/// The result of [`extract`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Extracted {
    /// UTF-8 text: `\n` between paragraphs and table rows, `\t` between cells, `\n\n` between parts.
    pub text: String,
    /// What the outer input is, by content.
    pub kind: Kind,
    /// What was read, in order.
    pub parts: Vec<Part>,
    /// What was skipped or read only partly, for people.
    pub notes: Vec<String>,
    /// A PDF (or every PDF inside) has no text layer, or the only text is in page images: a
    /// scan (read by OCR where `ocr` says so).
    pub scanned: bool,
    /// Where the text came from, `+`-joined in this order: `text` (the format's own text),
    /// `pdftotext` or `pdf-extract` (a PDF's text layer), `ocr`; `None` when there is no text.
    pub text_source: Option<String>,
    /// Whether page images needed OCR and got it.
    pub ocr: OcrStatus,
    /// Byte ranges of `text` read by OCR, in order.
    pub ocr_spans: Vec<(usize, usize)>,
}

impl Extracted {
    /// Whether the bytes `start..end` of `text` were read (at least partly) by OCR.
    pub fn by_ocr(&self, start: usize, end: usize) -> bool {
        overlaps_ocr(&self.ocr_spans, start, end)
    }
}

/// Whether `start..end` touches one of the OCR `spans`.
pub fn overlaps_ocr(spans: &[(usize, usize)], start: usize, end: usize) -> bool {
    spans
        .iter()
        .any(|&(a, b)| a < end.max(start + 1) && start < b)
}

/// Why nothing could be read.
#[derive(Debug, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum ExtractError {
    #[error("input of {size} bytes is over the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    #[error("corrupt {kind} file: {reason}")]
    Corrupt { kind: Kind, reason: String },
    #[error("{kind} file is encrypted or password-protected")]
    Encrypted { kind: Kind },
    #[error("unsupported input: {0}")]
    Unsupported(String),
    #[error("time budget of {0:?} exhausted before any text was read")]
    TimedOut(Duration),
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    #[error("{kind} input holds no text: {reason}")]
    Empty { kind: Kind, reason: String },
    /// The reader's process failed: it ran out of memory, past its budget, or crashed.
    #[error("{0}")]
    Reader(String),
    /// The stop flag was raised while the document was being read: nothing is known of it.
    #[error("reading stopped: tenderscan was asked to stop")]
    Interrupted,
}

impl ExtractError {
    pub(crate) fn corrupt(kind: Kind, reason: impl fmt::Display) -> Self {
        ExtractError::Corrupt {
            kind,
            reason: reason.to_string(),
        }
    }
}

/// Reads the text out of `bytes`. `name` and `media_type` are hints only: the kind is detected
/// from the content. Partial results are returned with notes; an error means nothing was read.
pub fn extract(
    bytes: &[u8],
    name: Option<&str>,
    media_type: Option<&str>,
    limits: &Limits,
) -> Result<Extracted, ExtractError> {
    if bytes.len() > limits.max_input_bytes {
        return Err(ExtractError::TooLarge {
            size: bytes.len() as u64,
            limit: limits.max_input_bytes as u64,
        });
    }
    let mut ctx = Ctx::new(limits);
    let kind = sniff(bytes, name);
    if let Some(n) = name
        && let Some(claimed) = sniff::kind_from_name(n)
        && claimed != kind
        && !sniff::compatible(claimed, kind)
    {
        ctx.note(format!(
            "{} content is {}, not {} as the name says",
            clean_name(n),
            kind,
            claimed
        ));
    }
    let top = Input {
        bytes,
        name,
        media_type,
        path: String::new(),
        depth: 0,
    };
    let result = ctx.run(&top, kind);
    ocr::finish(&mut ctx);
    let pdfs = ctx.pdfs;
    let native_chars: usize = ctx.parts.iter().filter(|p| !p.ocr).map(|p| p.chars).sum();
    let scanned =
        (pdfs > 0 && ctx.pdfs_scanned == pdfs) || (native_chars == 0 && ctx.ocr.wanted > 0);
    match result {
        Ok(()) => {}
        Err(e) => {
            if ctx.parts.iter().all(|p| p.chars == 0) && !scanned {
                return Err(e);
            }
            ctx.note(format!("stopped early: {e}"));
        }
    }
    if ctx.parts.is_empty() && !scanned {
        return Err(ExtractError::Empty {
            kind,
            reason: if ctx.notes.is_empty() {
                "no readable part".into()
            } else {
                ctx.notes.join("; ")
            },
        });
    }
    let mut sources: Vec<&str> = Vec::new();
    if ctx
        .parts
        .iter()
        .any(|p| !p.ocr && p.chars > 0 && p.kind != Kind::Pdf)
    {
        sources.push("text");
    }
    for s in ["pdftotext", "pdf-extract"] {
        if ctx.pdf_sources.contains(&s) {
            sources.push(s);
        }
    }
    if ctx.parts.iter().any(|p| p.ocr && p.chars > 0) {
        sources.push("ocr");
    }
    let ocr = if ctx.ocr.wanted == 0 {
        OcrStatus::NotNeeded
    } else if ctx.ocr.unavailable > 0 {
        OcrStatus::Unavailable
    } else {
        OcrStatus::Read
    };
    Ok(Extracted {
        text_source: (!sources.is_empty() && !ctx.text.is_empty()).then(|| sources.join("+")),
        text: ctx.text,
        kind,
        parts: ctx.parts,
        notes: ctx.notes,
        scanned,
        ocr,
        ocr_spans: ctx.ocr.spans,
    })
}

/// One input being read, maybe nested inside another.
pub(crate) struct Input<'a> {
    pub bytes: &'a [u8],
    pub name: Option<&'a str>,
    pub media_type: Option<&'a str>,
    /// Path of this input inside the outer one ("" at the top).
    pub path: String,
    pub depth: u32,
}

impl Input<'_> {
    /// Path for a part of this input named `sub`.
    pub fn sub_path(&self, sub: &str) -> String {
        let sub = clean_name(sub);
        if self.path.is_empty() {
            sub
        } else {
            format!("{}/{}", self.path, sub)
        }
    }
    /// Path for the input itself when it is read as one part.
    pub fn own_path(&self) -> String {
        if !self.path.is_empty() {
            self.path.clone()
        } else {
            clean_name(self.name.unwrap_or("input"))
        }
    }
}

const MAX_NOTES: usize = 200;

/// `now + budget`, without the panic of `Instant + Duration` on overflow: a budget past
/// what the clock can hold is a century.
pub(crate) fn deadline_after(budget: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(budget)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        .unwrap_or(now)
}

/// State shared by everything read during one [`extract`] call.
pub(crate) struct Ctx<'l> {
    pub limits: &'l Limits,
    pub deadline: Instant,
    pub unpacked: u64,
    pub entries: usize,
    pub text: String,
    pub parts: Vec<Part>,
    pub notes: Vec<String>,
    pub pdfs: usize,
    pub pdfs_scanned: usize,
    /// The PDF backends that gave text ("pdftotext", "pdf-extract").
    pub pdf_sources: Vec<&'static str>,
    /// OCR's page count, clock and spans.
    pub ocr: ocr::State,
    full: bool,
    dropped_notes: usize,
}

impl<'l> Ctx<'l> {
    pub fn new(limits: &'l Limits) -> Self {
        Ctx {
            limits,
            deadline: deadline_after(limits.time_budget),
            unpacked: 0,
            entries: 0,
            text: String::new(),
            parts: Vec::new(),
            notes: Vec::new(),
            pdfs: 0,
            pdfs_scanned: 0,
            pdf_sources: Vec::new(),
            ocr: ocr::State::default(),
            full: false,
            dropped_notes: 0,
        }
    }

    pub fn note(&mut self, note: impl Into<String>) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(note.into());
        } else {
            self.dropped_notes += 1;
            let msg = format!("{} more notes dropped", self.dropped_notes);
            if let Some(last) = self.notes.last_mut() {
                *last = msg;
            }
        }
    }

    /// True once `max_text_bytes` is reached: extractors stop.
    pub fn is_full(&self) -> bool {
        self.full
    }

    pub fn out_of_time(&self) -> bool {
        Instant::now() >= self.deadline
    }

    pub fn check_time(&self) -> Result<(), ExtractError> {
        if self.out_of_time() {
            Err(ExtractError::TimedOut(self.limits.time_budget))
        } else {
            Ok(())
        }
    }

    /// Bytes still allowed for one decompressed entry.
    pub fn entry_budget(&self) -> u64 {
        self.limits
            .max_entry_bytes
            .min(self.limits.max_unpacked_bytes.saturating_sub(self.unpacked))
    }

    /// Starts a part: returns a builder that collects its text.
    pub fn begin(&self) -> PartText {
        PartText {
            buf: String::new(),
            room: self
                .limits
                .max_text_bytes
                .saturating_sub(self.text.len() + 2),
            full: self.full,
        }
    }

    /// Adds a finished part's text to the output (with a blank line before it).
    pub fn finish(&mut self, path: String, kind: Kind, part: PartText) {
        self.add_part(path, kind, part, false);
    }

    /// Adds a part read by OCR; returns the byte range its text took in the output.
    pub fn finish_ocr(
        &mut self,
        path: String,
        kind: Kind,
        part: PartText,
    ) -> Option<(usize, usize)> {
        self.add_part(path, kind, part, true)
    }

    fn add_part(
        &mut self,
        path: String,
        kind: Kind,
        part: PartText,
        ocr: bool,
    ) -> Option<(usize, usize)> {
        let body = tidy(&part.buf);
        let chars = body.chars().count();
        let mut range = None;
        if !body.is_empty() {
            if !self.text.is_empty() {
                self.text.push_str("\n\n");
            }
            let start = self.text.len();
            self.text.push_str(&body);
            range = Some((start, self.text.len()));
        }
        if part.full && !self.full {
            self.full = true;
            self.note(format!(
                "text truncated at the {}-byte limit in {}",
                self.limits.max_text_bytes, path
            ));
        }
        self.parts.push(Part {
            path,
            kind,
            chars,
            ocr,
        });
        range
    }

    /// Finishes a part whose reader returned `r`: an error after some text keeps the text and
    /// becomes a note; an error before any text is returned.
    pub fn settle(
        &mut self,
        path: String,
        kind: Kind,
        part: PartText,
        r: Result<(), ExtractError>,
    ) -> Result<(), ExtractError> {
        match r {
            Ok(()) => {
                self.finish(path, kind, part);
                Ok(())
            }
            Err(e) if !part.is_empty() => {
                self.note(format!("{path}: read partly, {e}"));
                self.finish(path, kind, part);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Reads `input` as `kind`, recursing into containers.
    pub fn run(&mut self, input: &Input, kind: Kind) -> Result<(), ExtractError> {
        self.check_time()?;
        if self.full {
            return Ok(());
        }
        match kind {
            Kind::Docx => docx::extract(self, input),
            Kind::Odt | Kind::Ods => odf::extract(self, input, kind),
            Kind::Xlsx | Kind::Xls => sheet::extract(self, input, kind),
            Kind::Pdf => pdf::extract(self, input),
            Kind::Html => html::extract(self, input),
            Kind::Rtf => rtf::extract(self, input),
            Kind::Doc => doc::extract(self, input),
            Kind::Zip => zipread::extract_archive(self, input),
            Kind::Cms => cms::extract(self, input),
            Kind::Text => text::extract(self, input),
            Kind::Image => ocr::image(self, input),
            Kind::Unknown => Err(ExtractError::Unsupported(format!(
                "{}: unknown binary format",
                input.own_path()
            ))),
        }
    }
}

/// Text of one part being built; stops growing at the text limit.
pub(crate) struct PartText {
    buf: String,
    room: usize,
    full: bool,
}

impl PartText {
    pub fn push_str(&mut self, s: &str) {
        if self.full {
            return;
        }
        if self.buf.len() + s.len() <= self.room {
            self.buf.push_str(s);
        } else {
            let mut cut = self.room.saturating_sub(self.buf.len());
            while cut > 0 && !s.is_char_boundary(cut) {
                cut -= 1;
            }
            self.buf.push_str(&s[..cut]);
            self.full = true;
        }
    }
    pub fn push(&mut self, c: char) {
        let mut b = [0u8; 4];
        self.push_str(c.encode_utf8(&mut b));
    }
    pub fn is_full(&self) -> bool {
        self.full
    }
    pub fn is_empty(&self) -> bool {
        self.buf.trim().is_empty()
    }
    /// Ends the current table cell: drops trailing spaces, adds a tab.
    pub fn end_cell(&mut self) {
        let t = self.buf.trim_end_matches(' ').len();
        self.buf.truncate(t);
        self.push('\t');
    }
    /// Ends a table row: the trailing tab becomes a line break.
    pub fn end_row(&mut self) {
        let t = self.buf.trim_end_matches([' ', '\t']).len();
        self.buf.truncate(t);
        self.push('\n');
    }
    #[cfg(test)]
    pub fn into_string(self) -> String {
        self.buf
    }
}

/// Normalises a part's text: no `\r`, no control characters but `\n` and `\t`, no trailing
/// blanks on lines, no runs of blank lines, no NULs.
pub(crate) fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.split('\n') {
        let line: String = line
            .chars()
            .filter_map(|c| match c {
                '\r' | '\u{feff}' | '\u{ad}' | '\u{200b}' => None,
                '\t' => Some('\t'),
                '\u{a0}' => Some(' '),
                c if c.is_control() => None,
                c => Some(c),
            })
            .collect();
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    out
}

/// A name from the input made safe for paths and notes: no control characters, no
/// absolute or parent-relative parts, bounded length. Never used as a path on disk.
pub(crate) fn clean_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    let parts: Vec<&str> = s
        .split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .collect();
    let mut out = parts.join("/");
    if out.len() > 240 {
        let mut cut = 240;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    if out.is_empty() { "_".into() } else { out }
}

/// Runs a third-party parser so that its panic becomes an error.
pub(crate) fn guarded<T>(
    kind: Kind,
    f: impl FnOnce() -> Result<T, ExtractError>,
) -> Result<T, ExtractError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            Err(ExtractError::corrupt(
                kind,
                format!("parser panicked: {msg}"),
            ))
        }
    }
}

/// Formats a byte count for notes.
pub(crate) fn human(n: u64) -> String {
    if n >= 1 << 30 {
        format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64)
    } else if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

#[cfg(test)]
mod deadline_tests {
    use super::*;

    /// `extract_timeout_secs = u64::MAX` once made every extraction panic.
    #[test]
    fn a_budget_past_the_clock_reads_the_document() {
        let limits = Limits {
            time_budget: Duration::MAX,
            ..Limits::default()
        };
        assert!(deadline_after(Duration::MAX) > Instant::now());
        let out = extract(
            "Создание фейковых аккаунтов.".as_bytes(),
            Some("a.txt"),
            None,
            &limits,
        )
        .unwrap();
        assert!(out.text.contains("фейковых"), "{}", out.text);
    }
}
