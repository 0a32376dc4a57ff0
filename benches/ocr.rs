//! OCR: seconds per page, pages per minute, and what OCR gets wrong.
//!
//! `cargo bench --bench ocr` (release profile; needs tesseract-ocr with rus, kaz, eng and
//! poppler-utils; prints a note and does nothing without them). Options after `--`:
//! `--pages N` (the long scan, 20 by default), `--workers N` (reader processes for the
//! throughput run, 2 by default).
//!
//! 1. Accuracy: the Russian and the Kazakh specification page (tests/fixtures/ocr) as a clean
//!    render, an office scan at 200 and 150 dpi, a phone photo in a DOCX and a poor copy
//!    (tests/support/scans.rs makes them), each read by `extract`: time, character error rate
//!    against the printed text, words OCR got wrong, and whether the rules still flag the page
//!    with its quota of four accounts. The same images through `tesseract` alone with Otsu's
//!    global threshold and with Sauvola's local one (what tenderscan uses).
//! 2. Throughput: an N-page office scan read by `extract` in this process, then N-page scans
//!    read by `--workers` reader processes of the release binary at once.

#[path = "../tests/support/scans.rs"]
mod scans;

use scans::{Gray, Img, Scanner, fixture, image_pdf, render, scan};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use tenderscan::extract::{Limits, ProcessLimits, Readers, extract};
use tenderscan::rules::{Context, RuleSet};

struct Case {
    name: &'static str,
    /// None: the page rendered at 300 dpi as it is.
    scanner: Option<Scanner>,
    dpi: u32,
    /// Put in a DOCX as a PNG (a photo pasted in) instead of an image-only PDF.
    docx: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "clean render, 300 dpi",
        scanner: None,
        dpi: 300,
        docx: false,
    },
    Case {
        name: "office scan, 200 dpi",
        scanner: Some(Scanner::OFFICE),
        dpi: 200,
        docx: false,
    },
    Case {
        name: "office scan, 150 dpi",
        scanner: Some(Scanner::OFFICE),
        dpi: 150,
        docx: false,
    },
    Case {
        name: "phone photo in a DOCX, 150 dpi",
        scanner: Some(Scanner::PHONE),
        dpi: 150,
        docx: true,
    },
    Case {
        name: "poor copy, 200 dpi",
        scanner: Some(Scanner::POOR),
        dpi: 200,
        docx: false,
    },
    Case {
        name: "fax, black and white, 120 dpi",
        scanner: Some(Scanner::FAX),
        dpi: 120,
        docx: false,
    },
    Case {
        name: "phone photo in a DOCX, 120 dpi",
        scanner: Some(Scanner::PHONE),
        dpi: 120,
        docx: true,
    },
    Case {
        name: "poor copy, 120 dpi",
        scanner: Some(Scanner::POOR),
        dpi: 120,
        docx: false,
    },
    Case {
        name: "fax, black and white, 100 dpi",
        scanner: Some(Scanner::FAX),
        dpi: 100,
        docx: false,
    },
];

/// What kind of mistake reading `want` as `got` is.
fn kind_of_error(want: &str, got: &str, read: &[String]) -> &'static str {
    let lw = want.to_lowercase();
    let lg = got.to_lowercase();
    if got == "(lost)" {
        return "word lost";
    }
    // a space inside the word: its two halves are next to each other in what was read
    let chars: Vec<char> = want.chars().collect();
    for k in 1..chars.len() {
        let a: String = chars[..k].iter().collect();
        let b: String = chars[k..].iter().collect();
        if read.windows(2).any(|w| w[0] == a && w[1] == b) {
            return "broken word (a space inside)";
        }
    }
    if lw == lg {
        return "case only";
    }
    let kk = |s: &str| -> String {
        s.chars()
            .map(|c| match c {
                'қ' => 'к',
                'ң' => 'н',
                'ғ' => 'г',
                'ү' | 'ұ' => 'у',
                'ө' => 'о',
                'ә' => 'а',
                'і' => 'и',
                'һ' => 'х',
                c => c,
            })
            .collect()
    };
    if kk(&lw) == kk(&lg) {
        return "Kazakh letter read as its Russian twin or back (қ/к, ә/а, ө/о, ү ұ/у, ң/н, ғ/г, і/и)";
    }
    if lw.contains('ы')
        && ["ьі", "ьi", "ьl", "ьı", "ъі", "bl", "bi"]
            .iter()
            .any(|p| lg.contains(p))
    {
        return "ы read as two letters";
    }
    if lw.replace('н', "м") == lg.replace('н', "м") {
        return "н read as м or back";
    }
    if lw.replace('й', "и") == lg.replace('й', "и") {
        return "й read as и or back";
    }
    if levenshtein(
        &lw.chars().collect::<Vec<_>>(),
        &lg.chars().collect::<Vec<_>>(),
    ) == 1
    {
        return "one other letter wrong";
    }
    "more than one letter wrong"
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn have_tools() -> bool {
    let ok = |cmd: &str, arg: &str| std::process::Command::new(cmd).arg(arg).output().is_ok();
    ok("tesseract", "--version") && ok("pdftoppm", "-v")
}

/// The printed text of a fixture page, as pdftotext reads its text layer.
fn truth(name: &str) -> String {
    let out = std::process::Command::new("pdftotext")
        .arg(fixture(name))
        .arg("-")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// Words, without the signature line's underscores and punctuation at their ends.
fn words(s: &str) -> Vec<String> {
    s.split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

fn levenshtein<T: PartialEq>(a: &[T], b: &[T]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, x) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(x != y))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Character error rate of `got` against `want`, over words joined by single spaces.
fn cer(want: &str, got: &str) -> f64 {
    let w: Vec<char> = words(want).join(" ").chars().collect();
    let g: Vec<char> = words(got).join(" ").chars().collect();
    levenshtein(&w, &g) as f64 / w.len().max(1) as f64
}

/// Word substitutions (printed -> read), from an alignment of the two word lists.
fn substitutions(want: &str, got: &str) -> Vec<(String, String)> {
    let (a, b) = (words(want), words(got));
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            d[i][j] = (d[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]))
                .min(d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1);
        }
    }
    let (mut i, mut j) = (a.len(), b.len());
    let mut out = Vec::new();
    while i > 0 && j > 0 {
        if d[i][j] == d[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]) {
            if a[i - 1] != b[j - 1] {
                out.push((a[i - 1].clone(), b[j - 1].clone()));
            }
            i -= 1;
            j -= 1;
        } else if d[i][j] == d[i - 1][j] + 1 {
            out.push((a[i - 1].clone(), "(lost)".into()));
            i -= 1;
        } else {
            j -= 1;
        }
    }
    out.reverse();
    out
}

fn document(case: &Case, page: &str) -> (Vec<u8>, &'static str, Gray) {
    let printed = render(&fixture(page), case.dpi);
    let g = match &case.scanner {
        Some(s) => scan(&printed, s),
        None => printed,
    };
    if case.docx {
        let png = scans::png(&g);
        (
            scans::docx_with_picture(&["Приложение 1"], &png, g.width, g.height),
            "photo.docx",
            g,
        )
    } else {
        (
            image_pdf(&[Img::Gray(g.clone())], &[0], case.dpi),
            "scan.pdf",
            g,
        )
    }
}

/// `tesseract` alone on a PNG with one thresholding method: (seconds, CER).
fn tesseract_alone(png: &[u8], method: u32, want: &str) -> (f64, f64) {
    use std::io::Write;
    let t = Instant::now();
    let mut child = std::process::Command::new("tesseract")
        .args(["stdin", "stdout", "-l", "rus+kaz+eng", "-c"])
        .arg(format!("thresholding_method={method}"))
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(png).unwrap();
    let out = child.wait_with_output().unwrap();
    let got = String::from_utf8_lossy(&out.stdout);
    (t.elapsed().as_secs_f64(), cer(want, &got))
}

/// Largest resident size of any child that ended so far (tesseract, pdftoppm), in MB.
fn children_peak_mb() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    u.ru_maxrss as f64 / 1024.0
}

fn main() {
    if !have_tools() {
        eprintln!("ocr bench: tesseract or pdftoppm not installed: nothing measured");
        return;
    }
    // criterion's harness flags (`--bench`) are accepted and ignored.
    let rules = RuleSet::builtin().unwrap();
    let limits = Limits::default();
    println!(
        "## Accuracy and time per page ({}, rus+kaz+eng)\n",
        version()
    );
    println!(
        "| page | case | extract s/page | CER | flagged, 4 accounts | tesseract alone: Otsu CER | Sauvola CER |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut errors: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut kinds: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut printed_words = 0usize;
    for page in ["spec_ru.pdf", "spec_kk.pdf"] {
        let want = truth(page);
        for case in CASES {
            let (doc, name, img) = document(case, page);
            let t = Instant::now();
            let x = extract(&doc, Some(name), None, &limits).unwrap();
            let secs = t.elapsed().as_secs_f64();
            let ocr_text: String = x
                .ocr_spans
                .iter()
                .map(|&(a, b)| &x.text[a..b])
                .collect::<Vec<_>>()
                .join("\n");
            let found = rules.find(&x.text, &Context::default());
            let flagged = found.matches.iter().any(|m| m.rule_id == "fake-accounts");
            let quota = found
                .quotas
                .iter()
                .any(|q| q.kind.as_str() == "accounts" && q.count == 4);
            let read = words(&ocr_text);
            printed_words += words(&want).len();
            for s in substitutions(&want, &ocr_text) {
                *kinds.entry(kind_of_error(&s.0, &s.1, &read)).or_default() += 1;
                *errors.entry(s).or_default() += 1;
            }
            let png = scans::png(&img);
            let (_, otsu) = tesseract_alone(&png, 0, &want);
            let (_, sauvola) = tesseract_alone(&png, 2, &want);
            println!(
                "| {} | {} | {secs:.2} | {:.1} % | {} | {:.1} % | {:.1} % |",
                if page.contains("ru") { "ru" } else { "kk" },
                case.name,
                cer(&want, &ocr_text) * 100.0,
                match (flagged, quota) {
                    (true, true) => "yes",
                    (true, false) => "flagged, quota lost",
                    _ => "no",
                },
                otsu * 100.0,
                sauvola * 100.0
            );
        }
    }
    println!("\nWords OCR got wrong, by kind, over all cases ({printed_words} printed words):\n");
    let mut ks: Vec<_> = kinds.into_iter().collect();
    ks.sort_by_key(|k| std::cmp::Reverse(k.1));
    for (k, n) in &ks {
        println!("- {k}: {n}");
    }
    println!("\nThe most frequent (printed -> read, times):\n");
    let mut errs: Vec<_> = errors.into_iter().collect();
    errs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for ((w, g), n) in errs.iter().take(40) {
        println!("- {w} -> {g} ({n})");
    }

    // Throughput
    let pages = arg("--pages", 20).max(1);
    let workers = arg("--workers", 2).max(1);
    let ru = scan(&render(&fixture("spec_ru.pdf"), 200), &Scanner::OFFICE);
    let kk = scan(&render(&fixture("spec_kk.pdf"), 200), &Scanner::OFFICE);
    let order: Vec<usize> = (0..pages).map(|i| i % 2).collect();
    let long = image_pdf(&[Img::Gray(ru), Img::Gray(kk)], &order, 200);
    let limits = Limits {
        ocr: tenderscan::extract::OcrLimits {
            max_pages: pages,
            time_budget: Duration::from_secs(3600),
            ..Default::default()
        },
        ..Limits::default()
    };
    println!("\n## Throughput ({pages}-page office scan, 200 dpi, Russian and Kazakh pages)\n");
    let t = Instant::now();
    let x = extract(&long, Some("long.pdf"), None, &limits).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let read = x.parts.iter().filter(|p| p.ocr).count();
    println!(
        "- in this process, one page at a time: {read} pages in {secs:.1} s: {:.2} s/page, {:.1} pages/min; tesseract and pdftoppm peak {:.0} MB resident",
        secs / read as f64,
        60.0 * read as f64 / secs,
        children_peak_mb()
    );
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("tenderscan")))
        .filter(|p| p.is_file());
    let Some(exe) = exe else {
        println!(
            "- (no release binary next to the bench: `cargo build --release` for the workers' figure)"
        );
        return;
    };
    let readers = Readers::isolated(exe, workers, ProcessLimits::default());
    let t = Instant::now();
    let done: usize = std::thread::scope(|s| {
        let hs: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let x = readers
                        .read(&long, Some("long.pdf"), None, &limits, &|| false)
                        .unwrap();
                    x.parts.iter().filter(|p| p.ocr).count()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let secs = t.elapsed().as_secs_f64();
    println!(
        "- {workers} reader processes (1 GiB limit each), {workers} such scans at once: {done} pages in {secs:.1} s: {:.2} s/page, {:.1} pages/min",
        secs / done as f64,
        60.0 * done as f64 / secs
    );
}

fn version() -> String {
    std::process::Command::new("tesseract")
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("tesseract")
                .to_string()
        })
        .unwrap_or_default()
}
