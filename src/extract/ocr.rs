//! OCR: the text of page images, through Tesseract. Pages of a PDF without a text layer are
//! rendered by poppler's `pdftoppm` (one run per page: the PDF on its standard input, a grey PGM
//! at 300 dpi on its standard output, cropped to a 5100-pixel square so a hostile page size
//! cannot ask for gigabytes); images inside a DOCX, XLSX, ODT/ODS or ZIP, or an image on its
//! own, go to Tesseract as they are (PNG, JPEG, TIFF, GIF, BMP, WebP, by content). `tesseract
//! stdin stdout -l rus+kaz+eng` (the languages are [`OcrLimits::languages`]) reads each, with
//! one thread (the reader processes are the parallelism) and Sauvola's local thresholding
//! (grey paper, noise and uneven light defeat one global threshold).
//!
//! OCR has its own limits ([`OcrLimits`]): page images per document, a wall-clock budget per
//! document (the time OCR takes is added to the document's own deadline, so the text parts
//! after a scan are still read), and an output cap. Each page's text is a part of its own
//! (`scan.pdf: page 3 (OCR)`), and the byte ranges of OCR text in the result are kept
//! ([`super::Extracted::ocr_spans`]) so evidence can say it was read by OCR.
//!
//! OCR is optional: without `tesseract` (or `pdftoppm` for PDFs), or with `ocr_max_pages = 0`,
//! the images stay unread, the document is [`OcrStatus::Unavailable`] and a note says
//! "not read: no OCR installed".
//!
//! This module must never: pass a name or anything else from the input to a tool (the tools
//! get fixed arguments and the bytes on stdin; nothing is written to disk), let a tool run past
//! the OCR deadline (it is killed, see [`super::tool`]), keep more OCR text than the caps, hand
//! Tesseract an image whose header says it is over [`MAX_PIXELS`], or say a scan was read when
//! it was not.

use super::tool::{self, RunError};
use super::zipread::ZipView;
use super::{Ctx, ExtractError, Input, Kind, clean_name, deadline_after};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The OCR part of [`super::Limits`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OcrLimits {
    /// Tesseract languages joined by `+`, e.g. `rus+kaz+eng`.
    pub languages: String,
    /// Page images read by OCR per document, at most; 0 turns OCR off.
    pub max_pages: usize,
    /// Wall-clock budget for the OCR of one document (on top of the document's own budget).
    pub time_budget: Duration,
    /// Largest OCR text kept per document, in bytes.
    pub max_text_bytes: usize,
}

impl Default for OcrLimits {
    fn default() -> Self {
        OcrLimits {
            languages: DEFAULT_LANGUAGES.into(),
            max_pages: 50,
            time_budget: Duration::from_secs(300),
            max_text_bytes: 4 << 20,
        }
    }
}

impl OcrLimits {
    /// OCR off: images are left unread (with a note).
    pub fn off() -> Self {
        OcrLimits {
            max_pages: 0,
            ..OcrLimits::default()
        }
    }

    /// The time OCR may add to a document's budget.
    pub fn budget(&self) -> Duration {
        if self.max_pages == 0 {
            Duration::ZERO
        } else {
            self.time_budget
        }
    }
}

pub const DEFAULT_LANGUAGES: &str = "rus+kaz+eng";

/// Whether a document needed OCR and got it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OcrStatus {
    /// No page image needed reading.
    #[default]
    NotNeeded,
    /// OCR ran on its page images (notes say what was cut or blank).
    Read,
    /// Some page images were not read: no OCR installed here, or OCR turned off.
    Unavailable,
}

impl OcrStatus {
    /// As stored in `documents.ocr`: `read`, `unavailable`, or none.
    pub fn as_db(self) -> Option<&'static str> {
        match self {
            OcrStatus::NotNeeded => None,
            OcrStatus::Read => Some("read"),
            OcrStatus::Unavailable => Some("unavailable"),
        }
    }
}

/// Largest image handed to Tesseract, in pixels (by its header): about 40 megapixels, a
/// page at 600 dpi. Tesseract holds several copies of the image.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Smaller images (logos, stamps, signatures) are not taken for pages of text.
pub const MIN_PIXELS: u64 = 250_000;
const MIN_SIDE: u32 = 200;

/// Resolution PDF pages are rendered at, and the largest side rendered (A3 at 300 dpi is
/// 3508 x 4961).
const DPI: u32 = 300;
const MAX_RENDER_SIDE: u32 = 5100;

/// What Debian calls the packages, for the note that says they are missing.
const INSTALL_HINT: &str =
    "apt-get install tesseract-ocr tesseract-ocr-rus tesseract-ocr-kaz tesseract-ocr-eng";

/// Tesseract as found on this machine.
#[derive(Debug, Clone)]
pub struct Engine {
    pub tesseract: PathBuf,
    /// "tesseract 5.3.0"
    pub version: String,
    /// Installed language data ("eng", "kaz", "osd", "rus").
    pub languages: Vec<String>,
}

/// A tool named by `var` (a path, or `off`), else found on PATH.
fn find_tool(var: &str, name: &str) -> Option<PathBuf> {
    if let Some(v) = std::env::var_os(var) {
        return match v.to_str() {
            Some("off" | "0" | "") => None,
            _ => Some(PathBuf::from(v)).filter(|p| p.is_file()),
        };
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Tesseract, looked up once per process (`TENDERSCAN_TESSERACT` names it or is `off`), with
/// its version and languages; or why there is none.
pub fn engine() -> Result<&'static Engine, &'static str> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let Some(bin) = find_tool("TENDERSCAN_TESSERACT", "tesseract") else {
                return Err(format!("tesseract not found; Debian: {INSTALL_HINT}"));
            };
            let ask = |arg: &str| {
                tool::run(
                    Command::new(&bin).arg(arg),
                    b"",
                    Instant::now() + Duration::from_secs(20),
                    1 << 16,
                )
            };
            let version = match ask("--version") {
                Ok(o) if o.status.success() => {
                    let all = format!("{}\n{}", String::from_utf8_lossy(&o.stdout), o.stderr);
                    all.lines()
                        .find(|l| l.starts_with("tesseract"))
                        .unwrap_or("tesseract")
                        .trim()
                        .to_string()
                }
                Ok(o) => return Err(format!("{} --version: {}", bin.display(), o.failure())),
                Err(e) => return Err(format!("{}: {e}", bin.display())),
            };
            let languages = match ask("--list-langs") {
                Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .skip_while(|l| !l.starts_with("List of available languages"))
                    .skip(1)
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty())
                    .collect(),
                Ok(o) => {
                    return Err(format!("{} --list-langs: {}", bin.display(), o.failure()));
                }
                Err(e) => return Err(format!("{}: {e}", bin.display())),
            };
            Ok(Engine {
                tesseract: bin,
                version,
                languages,
            })
        })
        .as_ref()
        .map_err(String::as_str)
}

/// `pdftoppm` (poppler-utils), looked up once (`TENDERSCAN_PDFTOPPM` names it or is `off`).
fn pdftoppm() -> Option<&'static PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| find_tool("TENDERSCAN_PDFTOPPM", "pdftoppm"))
        .as_ref()
}

/// The languages of `wanted` (`rus+kaz+eng`) that `engine` has, joined by `+`, and the ones
/// it lacks; an error when it has none of them.
pub fn languages(engine: &Engine, wanted: &str) -> Result<(String, Vec<String>), String> {
    let mut have = Vec::new();
    let mut missing = Vec::new();
    for l in wanted.split('+').map(str::trim).filter(|l| !l.is_empty()) {
        if engine.languages.iter().any(|x| x == l) {
            have.push(l.to_string());
        } else {
            missing.push(l.to_string());
        }
    }
    if have.is_empty() {
        return Err(format!(
            "tesseract has none of the languages {wanted} (Debian: {INSTALL_HINT})"
        ));
    }
    Ok((have.join("+"), missing))
}

/// What OCR can do here with these limits: `Ok("tesseract 5.3.0, rus+kaz+eng")`, or why not.
pub fn availability(limits: &OcrLimits) -> Result<String, String> {
    if limits.max_pages == 0 {
        return Err("OCR is off ([crawl] ocr_max_pages = 0)".into());
    }
    let e = engine().map_err(str::to_string)?;
    let (langs, missing) = languages(e, &limits.languages)?;
    let mut s = format!("{}, {langs}", e.version);
    if !missing.is_empty() {
        s.push_str(&format!(" (not installed: {})", missing.join(", ")));
    }
    if pdftoppm().is_none() {
        s.push_str("; pdftoppm not found: scanned PDFs are not read (poppler-utils)");
    }
    Ok(s)
}

/// OCR's state through one [`super::extract`] call.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// Set when OCR first runs: the end of its budget.
    deadline: Option<Instant>,
    /// Page images that needed OCR.
    pub wanted: usize,
    /// Page images handed to OCR (against the page cap).
    attempted: usize,
    /// Page images left unread for want of OCR (not installed or off).
    pub unavailable: usize,
    /// OCR text kept so far, in bytes.
    text_bytes: usize,
    /// Byte ranges of the output text that OCR read.
    pub spans: Vec<(usize, usize)>,
    /// The languages used, once known; the missing ones were noted.
    langs: Option<String>,
    /// Images not tried after the first that was not read for a reason that holds for the
    /// rest (page cap, budget, text cap, no OCR): one note at the end says how many.
    quiet: Option<(Skip, usize)>,
}

/// Why a page image was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Skip {
    /// `ocr_max_pages = 0`.
    Off,
    /// No OCR installed (the reason).
    Missing(String),
    PageCap,
    Budget,
    TextCap,
}

/// What OCR made of one page image.
#[derive(Debug)]
pub(crate) enum Page {
    Text(String),
    Blank,
    Failed(String),
    Skipped(Skip),
}

/// Whether OCR may read one more page image now; starts OCR's clock.
fn admit(ctx: &mut Ctx, needs_pdftoppm: bool) -> Result<(&'static Engine, String), Skip> {
    let lim = &ctx.limits.ocr;
    if lim.max_pages == 0 {
        return Err(Skip::Off);
    }
    let engine = engine().map_err(|e| Skip::Missing(e.to_string()))?;
    if needs_pdftoppm && pdftoppm().is_none() {
        return Err(Skip::Missing(
            "pdftoppm not found, it renders the pages; Debian: apt-get install poppler-utils"
                .into(),
        ));
    }
    let langs = match &ctx.ocr.langs {
        Some(l) => l.clone(),
        None => {
            let (l, missing) = languages(engine, &lim.languages).map_err(Skip::Missing)?;
            if !missing.is_empty() {
                ctx.note(format!(
                    "OCR without {}: not installed (Debian: tesseract-ocr-{})",
                    missing.join(", "),
                    missing.join(", tesseract-ocr-")
                ));
            }
            ctx.ocr.langs = Some(l.clone());
            l
        }
    };
    let lim = &ctx.limits.ocr;
    if ctx.ocr.attempted >= lim.max_pages {
        return Err(Skip::PageCap);
    }
    if ctx.ocr.text_bytes >= lim.max_text_bytes {
        return Err(Skip::TextCap);
    }
    let deadline = *ctx
        .ocr
        .deadline
        .get_or_insert_with(|| deadline_after(lim.time_budget));
    if Instant::now() >= deadline {
        return Err(Skip::Budget);
    }
    ctx.ocr.attempted += 1;
    Ok((engine, langs))
}

/// After a tool ran for `spent`: the document's own deadline moves by as much, so the parts
/// after a scan are read in the time they would have had.
fn account(ctx: &mut Ctx, spent: Duration) {
    if let Some(d) = ctx.deadline.checked_add(spent) {
        ctx.deadline = d;
    }
}

/// The OCR text room left: the OCR cap and the document's text cap.
fn text_room(ctx: &Ctx) -> usize {
    ctx.limits
        .ocr
        .max_text_bytes
        .saturating_sub(ctx.ocr.text_bytes)
        .min(ctx.limits.max_text_bytes.saturating_sub(ctx.text.len()))
}

/// Reads one page of `pdf` (1-based) by OCR.
fn pdf_page(ctx: &mut Ctx, pdf: &[u8], page: usize) -> Page {
    let (engine, langs) = match admit(ctx, true) {
        Ok(x) => x,
        Err(s) => return Page::Skipped(s),
    };
    let Some(bin) = pdftoppm() else {
        return Page::Skipped(Skip::Missing("pdftoppm not found".into()));
    };
    let deadline = ctx.ocr.deadline.unwrap_or_else(Instant::now);
    let started = Instant::now();
    let p = page.to_string();
    let side = MAX_RENDER_SIDE.to_string();
    let dpi = DPI.to_string();
    let rendered = tool::run(
        Command::new(bin).args([
            "-r", &dpi, "-gray", "-W", &side, "-H", &side, "-f", &p, "-l", &p, "-",
        ]),
        pdf,
        deadline,
        (MAX_RENDER_SIDE as usize).pow(2) + 64,
    );
    let pgm = match rendered {
        Ok(o) if o.status.success() && !o.over => o.stdout,
        Ok(o) if o.over => {
            account(ctx, started.elapsed());
            return Page::Failed("the rendered page is over its size cap".into());
        }
        Ok(o) => {
            account(ctx, started.elapsed());
            return Page::Failed(format!("pdftoppm {}", o.failure()));
        }
        Err(RunError::TimedOut) => {
            account(ctx, started.elapsed());
            return Page::Skipped(Skip::Budget);
        }
        Err(e) => {
            account(ctx, started.elapsed());
            return Page::Failed(format!("pdftoppm: {e}"));
        }
    };
    let page = match pgm_ink(&pgm) {
        None => Page::Failed("pdftoppm gave no grey image".into()),
        Some(ink) if ink < BLANK_INK => Page::Blank,
        Some(_) => recognise(ctx, engine, &langs, &pgm, Some(DPI), deadline),
    };
    account(ctx, started.elapsed());
    page
}

/// Reads one image (PNG, JPEG, ...) by OCR.
fn image_page(ctx: &mut Ctx, bytes: &[u8]) -> Page {
    let (engine, langs) = match admit(ctx, false) {
        Ok(x) => x,
        Err(s) => return Page::Skipped(s),
    };
    let deadline = ctx.ocr.deadline.unwrap_or_else(Instant::now);
    let started = Instant::now();
    let page = recognise(ctx, engine, &langs, bytes, None, deadline);
    account(ctx, started.elapsed());
    page
}

/// `tesseract stdin stdout` on one image.
fn recognise(
    ctx: &mut Ctx,
    engine: &Engine,
    langs: &str,
    image: &[u8],
    dpi: Option<u32>,
    deadline: Instant,
) -> Page {
    let room = text_room(ctx);
    if room == 0 {
        return Page::Skipped(Skip::TextCap);
    }
    let mut cmd = Command::new(&engine.tesseract);
    // Sauvola's local threshold instead of one Otsu threshold for the page: on grey, noisy,
    // unevenly lit scans it reads what Otsu loses, at the same speed (BENCHMARKS.md, OCR).
    cmd.args([
        "stdin",
        "stdout",
        "-l",
        langs,
        "-c",
        "thresholding_method=2",
    ])
    .env("OMP_THREAD_LIMIT", "1");
    if let Some(d) = dpi {
        cmd.args(["--dpi", &d.to_string()]);
    }
    // A little over the room, so a cut is seen as one.
    match tool::run(&mut cmd, image, deadline, room.saturating_add(1)) {
        Ok(o) if o.status.success() => {
            let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
            if text.len() > room {
                let mut cut = room;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
                ctx.ocr.text_bytes = ctx.limits.ocr.max_text_bytes;
            }
            if text.trim().is_empty() {
                Page::Blank
            } else {
                Page::Text(text)
            }
        }
        Ok(o) => Page::Failed(format!("tesseract {}", o.failure())),
        Err(RunError::TimedOut) => Page::Skipped(Skip::Budget),
        Err(e) => Page::Failed(format!("tesseract: {e}")),
    }
}

/// Adds one page's OCR text as a part of its own and records where it landed.
fn add_part(ctx: &mut Ctx, path: String, kind: Kind, text: &str) -> usize {
    let mut pt = ctx.begin();
    pt.push_str(text);
    let range = ctx.finish_ocr(path, kind, pt);
    let n = range.as_ref().map_or(0, |r| r.1 - r.0);
    if let Some(r) = range {
        ctx.ocr.text_bytes += r.1 - r.0;
        ctx.ocr.spans.push(r);
    }
    n
}

/// What happened to the page images of one input, for its notes.
#[derive(Debug, Default)]
struct Tally {
    total: usize,
    read: usize,
    blank: Vec<usize>,
    failed: Vec<String>,
    /// Why the rest was not read, and how many that is.
    skipped: Option<(Skip, usize)>,
}

impl Tally {
    fn new(total: usize) -> Tally {
        Tally {
            total,
            ..Tally::default()
        }
    }

    /// Notes for an input at `path`; `what` names its images ("page", "image").
    fn notes(&self, ctx: &Ctx, path: &str, what: &str) -> Vec<String> {
        let mut out = Vec::new();
        let lim = &ctx.limits.ocr;
        let unit = |n: usize| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
        for f in self.failed.iter().take(5) {
            out.push(format!("{path}: {f}"));
        }
        if self.failed.len() > 5 {
            out.push(format!(
                "{path}: OCR failed on {} more {what}s",
                self.failed.len() - 5
            ));
        }
        let done = self.read + self.blank.len() + self.failed.len();
        if let Some((why, n)) = &self.skipped {
            out.push(match why {
                Skip::Off => format!(
                    "{path}: not read: OCR is off ([crawl] ocr_max_pages = 0), {} unread",
                    unit(*n)
                ),
                Skip::Missing(m) => format!(
                    "{path}: not read: no OCR installed ({m}), {} unread",
                    unit(*n)
                ),
                Skip::PageCap => format!(
                    "{path}: OCR read {done} of {}: the rest is over [crawl] ocr_max_pages = {}",
                    unit(self.total),
                    lim.max_pages
                ),
                Skip::Budget => format!(
                    "{path}: OCR stopped at its time budget ([crawl] ocr_timeout_secs = {}) after {done} of {}",
                    lim.time_budget.as_secs(),
                    unit(self.total)
                ),
                Skip::TextCap => format!(
                    "{path}: OCR text reached its cap ([crawl] ocr_max_text_bytes = {}) after {done} of {}",
                    lim.max_text_bytes,
                    unit(self.total)
                ),
            });
        }
        if !self.blank.is_empty() && self.read == 0 && self.failed.is_empty() {
            out.push(format!(
                "{path}: read by OCR: no text on its {} (a blank scan?)",
                unit(self.blank.len())
            ));
        } else if !self.blank.is_empty() && what == "page" {
            let list: Vec<String> = self.blank.iter().take(20).map(|p| p.to_string()).collect();
            let more = if self.blank.len() > 20 { ", ..." } else { "" };
            out.push(format!(
                "{path}: OCR found no text on page(s) {}{more}",
                list.join(", ")
            ));
        }
        out
    }

    /// Counts the outcome of page image `n` (`label` names it in notes: "page 3", "image");
    /// returns its text. `left` counts it and the ones after it, for a skip.
    fn add(
        &mut self,
        ctx: &mut Ctx,
        label: &str,
        n: usize,
        page: Page,
        left: usize,
    ) -> Option<String> {
        match page {
            Page::Text(t) => {
                self.read += 1;
                Some(t)
            }
            Page::Blank => {
                self.blank.push(n);
                None
            }
            Page::Failed(why) => {
                self.failed.push(format!("{label}: OCR failed: {why}"));
                None
            }
            Page::Skipped(s) => {
                if matches!(s, Skip::Off | Skip::Missing(_)) {
                    ctx.ocr.unavailable += left;
                }
                self.skipped = Some((s, left));
                None
            }
        }
    }
}

/// OCR of the pages of a PDF that have no text (1-based numbers).
pub(crate) fn pdf_pages(ctx: &mut Ctx, path: &str, pdf: &[u8], pages: &[usize]) {
    if pages.is_empty() {
        return;
    }
    ctx.ocr.wanted += pages.len();
    let mut tally = Tally::new(pages.len());
    for (i, &p) in pages.iter().enumerate() {
        if ctx.is_full() {
            tally.skipped = Some((Skip::TextCap, pages.len() - i));
            break;
        }
        let page = pdf_page(ctx, pdf, p);
        let stop = matches!(page, Page::Skipped(_));
        if let Some(text) = tally.add(ctx, &format!("page {p}"), p, page, pages.len() - i) {
            add_part(ctx, format!("{path}: page {p} (OCR)"), Kind::Pdf, &text);
        }
        if stop {
            break;
        }
    }
    for n in tally.notes(ctx, path, "page") {
        ctx.note(n);
    }
}

/// Size and format of an image, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ImageInfo {
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
}

/// An image on its own or inside a container: OCR when it is page-sized.
pub(crate) fn image(ctx: &mut Ctx, input: &Input) -> Result<(), ExtractError> {
    let path = input.own_path();
    let Some(info) = image_info(input.bytes) else {
        return Err(ExtractError::Unsupported(format!(
            "{path}: an image of a kind OCR does not read, or damaged"
        )));
    };
    let pixels = u64::from(info.width) * u64::from(info.height);
    if pixels > MAX_PIXELS {
        ctx.note(format!(
            "{path}: {} image {}x{} is over the {} MP OCR limit: not read",
            info.format,
            info.width,
            info.height,
            MAX_PIXELS / 1_000_000
        ));
        return Ok(());
    }
    if pixels < MIN_PIXELS || info.width.min(info.height) < MIN_SIDE {
        ctx.note(format!(
            "{path}: {} image {}x{} is too small to be a page of text: not read",
            info.format, info.width, info.height
        ));
        return Ok(());
    }
    ctx.ocr.wanted += 1;
    if let Some((why, n)) = &mut ctx.ocr.quiet {
        // The reason the last image was not read holds for this one too.
        *n += 1;
        if matches!(why, Skip::Off | Skip::Missing(_)) {
            ctx.ocr.unavailable += 1;
        }
        return Ok(());
    }
    let mut tally = Tally::new(1);
    let page = if ctx.is_full() {
        Page::Skipped(Skip::TextCap)
    } else {
        image_page(ctx, input.bytes)
    };
    if let Page::Skipped(why) = &page {
        ctx.ocr.quiet = Some((why.clone(), 0));
    }
    if let Some(text) = tally.add(ctx, "image", 1, page, 1) {
        add_part(ctx, format!("{path} (OCR)"), Kind::Image, &text);
    }
    for n in tally.notes(ctx, &path, "image") {
        ctx.note(n);
    }
    Ok(())
}

/// The note for the images left unread without a note of their own, if any.
pub(crate) fn finish(ctx: &mut Ctx) {
    if let Some((why, n)) = ctx.ocr.quiet.take()
        && n > 0
    {
        let lim = &ctx.limits.ocr;
        let reason = match why {
            Skip::Off => "OCR is off ([crawl] ocr_max_pages = 0)".to_string(),
            Skip::Missing(_) => "no OCR installed".to_string(),
            Skip::PageCap => format!("over [crawl] ocr_max_pages = {}", lim.max_pages),
            Skip::Budget => format!(
                "OCR's time budget was used up ([crawl] ocr_timeout_secs = {})",
                lim.time_budget.as_secs()
            ),
            Skip::TextCap => format!(
                "OCR's text cap was reached ([crawl] ocr_max_text_bytes = {})",
                lim.max_text_bytes
            ),
        };
        ctx.note(format!(
            "{n} more page image{} not read: {reason}",
            if n == 1 { "" } else { "s" }
        ));
    }
}

/// The images of a ZIP-based document (`word/media/`, `xl/media/`, `Pictures/`): each that
/// is page-sized is read by OCR after the document's text.
pub(crate) fn media(ctx: &mut Ctx, view: &mut ZipView, input: &Input, prefix: &str) {
    let names: Vec<String> = view
        .names()
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect();
    for name in names {
        if ctx.is_full() || ctx.out_of_time() {
            break;
        }
        let path = input.sub_path(&name);
        let entry = match view.read(ctx, &name, false) {
            Ok(e) => e,
            Err(e) => {
                ctx.note(format!("{path} skipped: {e}"));
                continue;
            }
        };
        images_in(ctx, input, &name, &entry.data);
    }
}

/// One entry of a ZIP-based document, read by OCR when it is an image.
pub(crate) fn images_in(ctx: &mut Ctx, input: &Input, name: &str, data: &[u8]) {
    // Vector pictures (EMF, WMF, SVG) are not images Tesseract reads.
    if image_info(data).is_none() {
        return;
    }
    let child = Input {
        bytes: data,
        name: Some(name.rsplit('/').next().unwrap_or(name)),
        media_type: None,
        path: input.sub_path(name),
        depth: input.depth + 1,
    };
    if let Err(e) = image(ctx, &child) {
        ctx.note(format!("{} skipped: {e}", clean_name(&child.path)));
    }
}

/// Ink on a grey PGM (`P5`): the share of dark pixels, in millionths; `None` when it is not
/// one. A page with almost none is blank (no need to ask Tesseract).
fn pgm_ink(pgm: &[u8]) -> Option<u64> {
    let (w, h, max, start) = pnm_header(pgm)?;
    if max != 255 {
        return Some(BLANK_INK);
    }
    let n = (w as usize).checked_mul(h as usize)?;
    let px = pgm.get(start..start.checked_add(n)?)?;
    if n == 0 {
        return Some(0);
    }
    let dark = px.iter().filter(|&&p| p < 128).count() as u64;
    Some(dark * 1_000_000 / n as u64)
}

/// Pages with fewer dark pixels than this (millionths) are blank: 0.02 % is a few specks.
const BLANK_INK: u64 = 200;

/// `P5 <w> <h> <max>` and where the pixels start.
fn pnm_header(b: &[u8]) -> Option<(u32, u32, u32, usize)> {
    if !b.starts_with(b"P5") {
        return None;
    }
    let mut fields = Vec::new();
    let mut i = 2;
    while fields.len() < 3 {
        while b.get(i)?.is_ascii_whitespace() {
            i += 1;
        }
        if *b.get(i)? == b'#' {
            while *b.get(i)? != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        while b.get(i)?.is_ascii_digit() {
            i += 1;
        }
        fields.push(
            std::str::from_utf8(&b[start..i])
                .ok()?
                .parse::<u32>()
                .ok()?,
        );
    }
    // one whitespace byte ends the header
    b.get(i)?.is_ascii_whitespace().then_some(())?;
    Some((fields[0], fields[1], fields[2], i + 1))
}

/// Format and size of an image, from its header; `None` for anything else.
pub(crate) fn image_info(b: &[u8]) -> Option<ImageInfo> {
    let be16 = |i: usize| Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]));
    let le16 = |i: usize| Some(u16::from_le_bytes([*b.get(i)?, *b.get(i + 1)?]));
    let be32 = |i: usize| Some(u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?));
    let le32 = |i: usize| Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?));
    let info = |format, width: u32, height: u32| {
        (width > 0 && height > 0).then_some(ImageInfo {
            format,
            width,
            height,
        })
    };
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        if b.get(12..16)? != b"IHDR" {
            return None;
        }
        return info("PNG", be32(16)?, be32(20)?);
    }
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        // Markers until a start-of-frame: FF Cn (not C4 DHT, C8 JPG, CC DAC).
        let mut i = 2;
        loop {
            while *b.get(i)? != 0xFF {
                i += 1;
            }
            while *b.get(i)? == 0xFF {
                i += 1;
            }
            let m = *b.get(i)?;
            i += 1;
            match m {
                0xD8 | 0x01 | 0xD0..=0xD7 => continue,
                0xD9 | 0xDA => return None,
                0xC0..=0xCF if !matches!(m, 0xC4 | 0xC8 | 0xCC) => {
                    return info("JPEG", u32::from(be16(i + 5)?), u32::from(be16(i + 3)?));
                }
                _ => i = i.checked_add(usize::from(be16(i)?))?,
            }
        }
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return info("GIF", u32::from(le16(6)?), u32::from(le16(8)?));
    }
    if b.starts_with(b"BM") && b.len() >= 26 {
        let header = le32(14)?;
        let offset = le32(10)? as usize;
        if !matches!(header, 12 | 40 | 52 | 56 | 64 | 108 | 124) || offset >= b.len() {
            return None;
        }
        return if header == 12 {
            info("BMP", u32::from(le16(18)?), u32::from(le16(20)?))
        } else {
            let w = le32(18)? as i32;
            let h = le32(22)? as i32;
            info("BMP", w.unsigned_abs(), h.unsigned_abs())
        };
    }
    if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
        let le = b[0] == b'I';
        let r16 = |i| if le { le16(i) } else { be16(i) };
        let r32 = |i| if le { le32(i) } else { be32(i) };
        let ifd = r32(4)? as usize;
        let n = usize::from(r16(ifd)?);
        let (mut w, mut h) = (None, None);
        for k in 0..n.min(512) {
            let e = ifd + 2 + k * 12;
            let tag = r16(e)?;
            let value = match r16(e + 2)? {
                3 => u32::from(r16(e + 8)?),
                4 => r32(e + 8)?,
                _ => continue,
            };
            match tag {
                256 => w = Some(value),
                257 => h = Some(value),
                _ => {}
            }
        }
        return info("TIFF", w?, h?);
    }
    if b.starts_with(b"RIFF") && b.get(8..12)? == b"WEBP" {
        return match b.get(12..16)? {
            b"VP8 " => info(
                "WebP",
                u32::from(le16(26)? & 0x3FFF),
                u32::from(le16(28)? & 0x3FFF),
            ),
            b"VP8L" => {
                let v = le32(21)?;
                info("WebP", (v & 0x3FFF) + 1, ((v >> 14) & 0x3FFF) + 1)
            }
            b"VP8X" => {
                let w = u32::from_le_bytes([*b.get(24)?, *b.get(25)?, *b.get(26)?, 0]) + 1;
                let h = u32::from_le_bytes([*b.get(27)?, *b.get(28)?, *b.get(29)?, 0]) + 1;
                info("WebP", w, h)
            }
            _ => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&[8, 0, 0, 0, 0]);
        b
    }

    #[test]
    fn image_sizes_come_from_their_headers() {
        assert_eq!(
            image_info(&png(2480, 3508)),
            Some(ImageInfo {
                format: "PNG",
                width: 2480,
                height: 3508
            })
        );
        // JPEG: APP0 then SOF0 (height 1170, width 827)
        let jpeg = [
            &[0xFF, 0xD8, 0xFF, 0xE0, 0, 4, b'J', b'F'][..],
            &[0xFF, 0xC0, 0, 11, 8, 0x04, 0x92, 0x03, 0x3B, 1, 0, 0],
        ]
        .concat();
        let i = image_info(&jpeg).unwrap();
        assert_eq!((i.format, i.width, i.height), ("JPEG", 827, 1170));
        let gif = b"GIF89a\x20\x03\x58\x02rest";
        let i = image_info(gif).unwrap();
        assert_eq!((i.width, i.height), (800, 600));
        let mut bmp = b"BM".to_vec();
        bmp.extend_from_slice(&100u32.to_le_bytes());
        bmp.extend_from_slice(&[0; 4]);
        bmp.extend_from_slice(&54u32.to_le_bytes());
        bmp.extend_from_slice(&40u32.to_le_bytes());
        bmp.extend_from_slice(&640i32.to_le_bytes());
        bmp.extend_from_slice(&(-480i32).to_le_bytes());
        bmp.resize(100, 0);
        let i = image_info(&bmp).unwrap();
        assert_eq!((i.format, i.width, i.height), ("BMP", 640, 480));
        // TIFF, little-endian: IFD at 8 with width (SHORT) and height (LONG)
        let mut tif = b"II*\0\x08\0\0\0\x02\0".to_vec();
        tif.extend_from_slice(&[0, 1, 3, 0, 1, 0, 0, 0, 0x10, 0x0E, 0, 0]);
        tif.extend_from_slice(&[1, 1, 4, 0, 1, 0, 0, 0, 0x20, 0x1C, 0, 0]);
        let i = image_info(&tif).unwrap();
        assert_eq!((i.format, i.width, i.height), ("TIFF", 3600, 7200));
    }

    #[test]
    fn hostile_headers_are_none_not_a_panic() {
        for b in [
            &b"\x89PNG\r\n\x1a\n"[..],
            &png(0, 10),
            &[0xFF, 0xD8, 0xFF],
            &[0xFF, 0xD8, 0xFF, 0xE0, 0xFF, 0xFF],
            &[0xFF, 0xD8, 0xFF, 0xDA, 0, 0],
            b"GIF89a\x01",
            b"BM this is just text that starts with BM",
            b"II*\0\xff\xff\xff\xff",
            b"MM\0*\0\0\0\x08\xff\xff",
            b"RIFF\0\0\0\0WEBPVP8 ",
            b"%PDF-1.4",
        ] {
            assert_eq!(image_info(b), None, "{b:?}");
        }
        // every prefix of a good header short of its size fields
        let p = png(3000, 4000);
        for n in 0..24 {
            assert!(image_info(&p[..n]).is_none());
        }
        assert!(image_info(&p[..24]).is_some());
    }

    #[test]
    fn page_images_left_unread_are_noted_once_and_counted() {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        for name in ["p1.png", "p2.png", "p3.png", "logo.png"] {
            w.start_file(name, opts).unwrap();
            let (x, y) = if name == "logo.png" {
                (90, 60)
            } else {
                (1240, 1754)
            };
            w.write_all(&png(x, y)).unwrap();
        }
        let z = w.finish().unwrap().into_inner();
        let limits = super::super::Limits {
            ocr: OcrLimits::off(),
            ..Default::default()
        };
        let x = super::super::extract(&z, Some("scans.zip"), None, &limits).unwrap();
        assert_eq!(x.ocr, OcrStatus::Unavailable);
        assert!(x.scanned, "only page images: a scan");
        assert_eq!(x.text_source, None);
        let ocr_notes: Vec<&String> = x.notes.iter().filter(|n| n.contains("OCR")).collect();
        assert_eq!(
            ocr_notes,
            [
                "p1.png: not read: OCR is off ([crawl] ocr_max_pages = 0), 1 image unread",
                "2 more page images not read: OCR is off ([crawl] ocr_max_pages = 0)"
            ],
            "{:?}",
            x.notes
        );
        assert!(
            x.notes
                .iter()
                .any(|n| n.contains("logo.png: PNG image 90x60 is too small")),
            "{:?}",
            x.notes
        );
    }

    #[test]
    fn grey_pages_are_measured_for_ink() {
        let mut white = b"P5\n# a comment\n4 2\n255\n".to_vec();
        white.extend_from_slice(&[255; 8]);
        assert_eq!(pgm_ink(&white), Some(0));
        let mut inked = b"P5 4 2 255\n".to_vec();
        inked.extend_from_slice(&[0, 255, 255, 255, 255, 255, 255, 0]);
        assert_eq!(pgm_ink(&inked), Some(250_000));
        assert_eq!(pgm_ink(b"P5 4 2 255\n\0"), None);
        assert_eq!(pgm_ink(b"P6 4 2 255\n"), None);
        assert_eq!(pgm_ink(b"P5 99999999999 2 255\n"), None);
    }

    #[test]
    fn languages_are_taken_from_what_is_installed() {
        let e = Engine {
            tesseract: PathBuf::from("/usr/bin/tesseract"),
            version: "tesseract 5.3.0".into(),
            languages: vec!["eng".into(), "osd".into(), "rus".into()],
        };
        assert_eq!(
            languages(&e, "rus+kaz+eng").unwrap(),
            ("rus+eng".to_string(), vec!["kaz".to_string()])
        );
        assert!(
            languages(&e, "kaz")
                .unwrap_err()
                .contains("none of the languages kaz")
        );
    }
}
