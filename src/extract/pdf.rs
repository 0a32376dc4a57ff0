//! PDF text layer. Poppler's `pdftotext` is used first when it is on PATH (a subprocess: the
//! bytes go to its standard input, it is killed at the deadline, its output is capped); else,
//! or when it fails, pdf-extract runs on a worker thread under `catch_unwind`. A worker that
//! overruns the time budget is abandoned: the thread keeps running until its parse ends (Rust
//! cannot kill a thread), the call returns at once. A PDF that parses but has no text at all is
//! a scan: recorded with `scanned`, not as an error, and its pages (like the pages without
//! text of a PDF that has some) go to OCR ([`super::ocr`]) after the text layer.
//! `TENDERSCAN_PDFTOTEXT` overrides the lookup (a path, or `off`).

use super::{Ctx, ExtractError, Input, Kind, human};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Text of a PDF, one string per page.
pub(crate) struct Pages {
    pub pages: Vec<String>,
    /// Non-fatal trouble the backend reported.
    pub warning: Option<String>,
}

pub(crate) fn extract(ctx: &mut Ctx, input: &Input) -> Result<(), ExtractError> {
    let path = input.own_path();
    let deadline = ctx.deadline;
    let cap = ctx.limits.max_text_bytes.saturating_sub(ctx.text.len()) + 4096;
    let mut backend = "pdf-extract";
    let pages = match pdftotext_path() {
        Some(bin) => match run_pdftotext(bin, input.bytes, deadline, cap) {
            Ok(p) => {
                backend = "pdftotext";
                Ok(p)
            }
            Err(e @ ExtractError::TimedOut(_)) => Err(e),
            Err(first) => match run_pdf_extract(input.bytes, deadline) {
                Ok(p) => {
                    ctx.note(format!(
                        "{path}: pdftotext failed ({first}); read with pdf-extract"
                    ));
                    Ok(p)
                }
                Err(_) => Err(first),
            },
        },
        None => run_pdf_extract(input.bytes, deadline),
    };
    let pages = match pages {
        Ok(p) => p,
        Err(ExtractError::TimedOut(_)) => {
            return Err(ExtractError::TimedOut(ctx.limits.time_budget));
        }
        Err(e) => return Err(e),
    };
    ctx.pdfs += 1;
    if let Some(w) = &pages.warning {
        ctx.note(format!("{path}: {w}"));
    }
    let mut pt = ctx.begin();
    let mut empty_pages = Vec::new();
    for (i, page) in pages.pages.iter().enumerate() {
        let page = page.trim();
        if page.is_empty() {
            empty_pages.push(i + 1);
            continue;
        }
        pt.push_str(page);
        pt.push('\n');
    }
    if pt.is_empty() {
        ctx.pdfs_scanned += 1;
        ctx.note(format!(
            "{path}: no text layer on any of {} pages: a scan, its pages go to OCR",
            pages.pages.len()
        ));
    } else {
        if !ctx.pdf_sources.contains(&backend) {
            ctx.pdf_sources.push(backend);
        }
        if !empty_pages.is_empty() {
            let list: Vec<String> = empty_pages.iter().take(20).map(|p| p.to_string()).collect();
            let more = if empty_pages.len() > 20 { ", ..." } else { "" };
            ctx.note(format!(
                "{path}: no text on page(s) {}{more} (images only?): they go to OCR",
                list.join(", ")
            ));
        }
    }
    ctx.finish(path.clone(), Kind::Pdf, pt);
    // Pages without text, after the text layer: a scan, or the signed page of a typed spec.
    super::ocr::pdf_pages(ctx, &path, input.bytes, &empty_pages);
    Ok(())
}

/// pdf-extract threads still running: one is left behind when it overruns the deadline.
static PDF_THREADS: AtomicUsize = AtomicUsize::new(0);

/// How many pdf-extract threads are still running (abandoned at a deadline): a worker
/// process with one retires after answering.
pub(crate) fn threads_running() -> usize {
    PDF_THREADS.load(Ordering::SeqCst)
}

/// Counts a pdf-extract thread while it lives.
struct Running;

impl Running {
    fn start() -> Running {
        PDF_THREADS.fetch_add(1, Ordering::SeqCst);
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        PDF_THREADS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// `pdftotext`, looked up once: `TENDERSCAN_PDFTOTEXT` names the binary, or `off` turns it
/// off (the fuzz targets do, to fuzz the in-process parser); else it is searched on PATH.
fn pdftotext_path() -> Option<&'static PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(v) = std::env::var_os("TENDERSCAN_PDFTOTEXT") {
            return match v.to_str() {
                Some("off" | "0" | "") => None,
                _ => Some(PathBuf::from(v)).filter(|p| p.is_file()),
            };
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join("pdftotext"))
            .find(|p| p.is_file())
    })
    .as_ref()
}

/// Runs `pdftotext - -` with the PDF on stdin; pages are split at form feeds.
pub(crate) fn run_pdftotext(
    bin: &PathBuf,
    bytes: &[u8],
    deadline: Instant,
    cap: usize,
) -> Result<Pages, ExtractError> {
    let mut child = Command::new(bin)
        .args(["-enc", "UTF-8", "-eol", "unix", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ExtractError::Unsupported(format!("cannot start pdftotext: {e}")))?;
    let mut stdin = child.stdin.take();
    let data = bytes.to_vec();
    let writer = std::thread::spawn(move || {
        if let Some(s) = stdin.as_mut() {
            let _ = s.write_all(&data);
        }
        drop(stdin);
    });
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut over = false;
        if let Some(s) = stdout.as_mut() {
            let mut buf = [0u8; 64 * 1024];
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if out.len() + n > cap {
                            over = true;
                            // keep draining so the child is not blocked; drop the rest
                            continue;
                        }
                        out.extend_from_slice(&buf[..n]);
                    }
                }
            }
        }
        (out, over)
    });
    let mut stderr = child.stderr.take();
    let err_reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.take(8192).read_to_end(&mut out);
        }
        out
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) => {
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    let _ = writer.join();
                    return Err(ExtractError::TimedOut(Duration::ZERO));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ExtractError::corrupt(Kind::Pdf, format!("pdftotext: {e}")));
            }
        }
    };
    let _ = writer.join();
    let (out, over) = reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    let text = String::from_utf8_lossy(&out);
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) && pages.len() > 1 {
        pages.pop();
    }
    let has_text = pages.iter().any(|p| !p.trim().is_empty());
    let err_msg = String::from_utf8_lossy(&err)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    if !status.success() {
        let why = format!(
            "pdftotext exit {}{}",
            status
                .code()
                .map(|c| c.to_string())
                .unwrap_or("by signal".into()),
            if err_msg.is_empty() {
                String::new()
            } else {
                format!(": {err_msg}")
            }
        );
        if !has_text {
            return Err(ExtractError::corrupt(Kind::Pdf, why));
        }
        return Ok(Pages {
            pages,
            warning: Some(format!("read partly, {why}")),
        });
    }
    Ok(Pages {
        pages,
        warning: over.then(|| format!("text over {} cut", human(cap as u64))),
    })
}

/// pdf-extract on a worker thread, under `catch_unwind`, waited for until `deadline`.
pub(crate) fn run_pdf_extract(bytes: &[u8], deadline: Instant) -> Result<Pages, ExtractError> {
    let (tx, rx) = mpsc::channel();
    let data = bytes.to_vec();
    let running = Running::start();
    let spawned = std::thread::Builder::new()
        .name("pdf-extract".into())
        .stack_size(16 << 20)
        .spawn(move || {
            let r = super::guarded(Kind::Pdf, || {
                pdf_extract::extract_text_from_mem_by_pages(&data)
                    .map_err(|e| ExtractError::corrupt(Kind::Pdf, e))
            });
            drop(data);
            // Before the answer: a caller that got it in time sees no thread left.
            drop(running);
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        return Err(ExtractError::Unsupported(format!(
            "cannot start PDF worker: {e}"
        )));
    }
    let wait = deadline.saturating_duration_since(Instant::now());
    match rx.recv_timeout(wait) {
        Ok(Ok(pages)) => Ok(Pages {
            pages,
            warning: None,
        }),
        Ok(Err(e)) => Err(e),
        // the worker is abandoned: it ends on its own when its parse ends
        Err(mpsc::RecvTimeoutError::Timeout) => Err(ExtractError::TimedOut(Duration::ZERO)),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(ExtractError::corrupt(Kind::Pdf, "PDF worker died"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/extract/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    const KK: &str = "қалыптастыру үшін ұйымның өнімдері туралы ғаламтор шолуы, мың жазба, һижра";

    #[test]
    fn pdf_extract_backend_reads_both_producers() {
        for name in ["lo_ru_kk.pdf", "reportlab_ru_kk.pdf"] {
            let pages = run_pdf_extract(&fixture(name), far()).unwrap();
            let text = pages.pages.join("\n");
            let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
            for w in KK.split([' ', ',']).filter(|w| !w.is_empty()) {
                assert!(flat.contains(w), "{name}: {w:?} missing in {flat}");
            }
            assert!(flat.contains("Техническая спецификация"), "{name}: {flat}");
        }
        let pages = run_pdf_extract(&fixture("scan_no_text.pdf"), far()).unwrap();
        assert_eq!(pages.pages.len(), 2);
        assert!(pages.pages.iter().all(|p| p.trim().is_empty()));
    }

    #[test]
    fn pdftotext_backend_when_installed() {
        let Some(bin) = pdftotext_path() else {
            // An optional tool: skipped on a developer's machine without it, a failure in
            // CI, where `.ci/run` installs it (poppler-utils) and exports CI.
            assert!(
                std::env::var_os("CI").is_none(),
                "pdftotext must be installed in CI (.ci/run installs poppler-utils)"
            );
            eprintln!("pdftotext not on PATH: skipping the pdftotext backend test");
            return;
        };
        let pages = run_pdftotext(bin, &fixture("reportlab_ru_kk.pdf"), far(), 1 << 20).unwrap();
        assert_eq!(pages.pages.len(), 2);
        assert!(pages.pages[0].contains("һижра"));
        assert!(pages.pages[1].contains("Вторая страница"));
        // output cap
        let pages = run_pdftotext(bin, &fixture("reportlab_12pages.pdf"), far(), 1000).unwrap();
        assert!(pages.pages.concat().len() <= 1000);
        assert!(pages.warning.is_some());
        // deadline already passed: killed, TimedOut
        let r = run_pdftotext(
            bin,
            &fixture("reportlab_12pages.pdf"),
            Instant::now(),
            1 << 20,
        );
        assert!(matches!(r, Err(ExtractError::TimedOut(_))));
    }

    #[test]
    fn worker_deadline_returns_at_once() {
        // A deadline already passed: had the call waited for the parse, it would hold the
        // 12 pages; it returns TimedOut without them (no clock is read to tell).
        let r = run_pdf_extract(&fixture("reportlab_12pages.pdf"), Instant::now());
        assert!(matches!(r, Err(ExtractError::TimedOut(_))));
    }
}
