//! Scans through OCR. A Russian and a Kazakh specification page are printed to a PDF
//! (tests/fixtures/ocr, made by make_pages.py), rendered to pixels by pdftoppm, put through a
//! scanner or a phone camera in code (skew, grey paper, noise, dust, blur, uneven light:
//! tests/support/scans.rs) and wrapped in an image-only PDF or a DOCX written here. The real
//! binary reads them with Tesseract in its reader workers.
//!
//! Tesseract (rus, kaz, eng) and poppler-utils are optional at run time: these tests skip with
//! a note on a machine without them, and fail under CI, where `.ci/run` installs them. The
//! tests of what happens without OCR need neither.

#[path = "../support/scans.rs"]
mod scans;

use crate::pipeline::{TOKEN, graphql_page, trd_buy};
use crate::util::{count, tenderscan};
use scans::{Gray, Img, Scanner, fixture, have_ocr, image_pdf, render, render_jpeg, scan};
use serde_json::Value;
use std::path::Path;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// `tenderscan match --format json` over `files` in `dir` (with `config` when given): one
/// JSON line per file, and the log.
fn match_json(
    dir: &Path,
    config: Option<&str>,
    files: &[&str],
    env: &[(&str, &str)],
) -> (Vec<Value>, String) {
    let mut cmd = tenderscan(dir);
    if let Some(c) = config {
        std::fs::write(dir.join("ocr.toml"), c).unwrap();
        cmd.args(["--config", "ocr.toml"]);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .args(["match", "--format", "json"])
        .args(files)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, stderr)
}

/// The quotas of a `match` line as (kind, count).
fn quotas(line: &Value) -> Vec<(String, i64)> {
    line["quotas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["kind"].as_str().unwrap().to_string(),
                q["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// The page of `name` as an office scanner gives it at 200 dpi.
fn scanned_page(name: &str, s: &Scanner) -> Gray {
    scan(&render(&fixture(name), 200), s)
}

#[test]
fn russian_and_kazakh_scans_are_flagged_through_ocr_with_their_quota() {
    if !have_ocr("russian_and_kazakh_scans_are_flagged_through_ocr_with_their_quota") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Scanner PDFs: grey pixels (Flate), and a colour JPEG (DCT) as many scanners write.
    let ru = scanned_page("spec_ru.pdf", &Scanner::OFFICE);
    std::fs::write(
        d.join("scan_ru.pdf"),
        image_pdf(&[Img::Gray(ru)], &[0], 200),
    )
    .unwrap();
    let kk = render_jpeg(&fixture("spec_kk.pdf"), 200, 45);
    std::fs::write(d.join("scan_kk.pdf"), image_pdf(&[kk], &[0], 200)).unwrap();
    // Phone photos of the signed pages pasted into a DOCX under a typed line.
    for (name, page) in [
        ("spec_ru.pdf", "photo_ru.docx"),
        ("spec_kk.pdf", "photo_kk.docx"),
    ] {
        let photo = scan(&render(&fixture(name), 150), &Scanner::PHONE);
        let png = scans::png(&photo);
        std::fs::write(
            d.join(page),
            scans::docx_with_picture(
                &["Приложение 1 к договору"],
                &png,
                photo.width,
                photo.height,
            ),
        )
        .unwrap();
    }
    let files = [
        "scan_ru.pdf",
        "scan_kk.pdf",
        "photo_ru.docx",
        "photo_kk.docx",
    ];
    let (lines, log) = match_json(d, None, &files, &[]);
    assert_eq!(lines.len(), 4, "{log}");
    for (line, file) in lines.iter().zip(files) {
        assert_eq!(line["source"], file);
        let accounts = line["matches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["rule"] == "fake-accounts")
            .unwrap_or_else(|| panic!("{file}: not flagged: {line}\n{log}"));
        assert_eq!(accounts["severity"], "high", "{file}");
        assert_eq!(accounts["ocr"], true, "{file}: the words came from OCR");
        assert!(
            quotas(line).contains(&("accounts".to_string(), 4)),
            "{file}: the quota of four accounts: {line}"
        );
        assert_eq!(line["ocr"], "read", "{file}");
        if file.ends_with(".pdf") {
            assert_eq!(line["text_source"], "ocr", "{file}");
            assert_eq!(line["ocr_note"], "read by OCR", "{file}");
        } else {
            assert_eq!(
                line["text_source"], "text+ocr",
                "{file}: typed line and photo"
            );
            assert_eq!(line["ocr_note"], "partly read by OCR", "{file}");
        }
    }
    let ev = |i: usize| {
        lines[i]["matches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["rule"] == "fake-accounts")
            .unwrap()["evidence"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(ev(0).contains("фейковых аккаунтов"), "{}", ev(0));
    assert!(ev(1).contains("жалған аккаунт"), "{}", ev(1));

    // The text output says it too, next to each match.
    let out = tenderscan(d)
        .args(["match", "scan_kk.pdf"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("scan_kk.pdf: read by OCR: "), "{text}");
    assert!(text.contains("fake-accounts (score 1.00, bytes "), "{text}");
    assert!(text.contains(", read by OCR)"), "{text}");
    assert!(text.contains("quota  4 accounts"), "{text}");
}

#[test]
fn a_blank_scan_is_read_and_says_it_holds_no_text() {
    if !have_ocr("a_blank_scan_is_read_and_says_it_holds_no_text") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let blank = scans::blank_page(1654, 2339);
    std::fs::write(
        dir.path().join("blank.pdf"),
        image_pdf(&[Img::Gray(blank)], &[0], 200),
    )
    .unwrap();
    let (lines, log) = match_json(dir.path(), None, &["blank.pdf"], &[]);
    let l = &lines[0];
    assert_eq!(l["matches"], serde_json::json!([]));
    assert_eq!(l["text_source"], Value::Null);
    assert_eq!(l["ocr"], "read");
    assert!(
        log.contains("blank.pdf: read by OCR: no text on its 1 page (a blank scan?)"),
        "{log}"
    );
    let out = tenderscan(dir.path())
        .args(["match", "blank.pdf"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "blank.pdf: read by OCR: no match\n"
    );
}

#[test]
fn a_200_page_scan_ends_within_its_budget_with_a_note() {
    if !have_ocr("a_200_page_scan_ends_within_its_budget_with_a_note") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = scanned_page("spec_ru.pdf", &Scanner::OFFICE);
    // One image, two hundred pages: a small file that is a long scan.
    let pages: Vec<usize> = vec![0; 200];
    std::fs::write(
        dir.path().join("long.pdf"),
        image_pdf(&[Img::Gray(page)], &pages, 200),
    )
    .unwrap();
    let config = |pages: usize, secs: u64| {
        format!(
            "[database]\npath = \"t.db\"\n[crawl]\nocr_max_pages = {pages}\nocr_timeout_secs = {secs}\n"
        )
    };
    // The time budget: the tool at work is killed, and the note says how far OCR got.
    let (lines, log) = match_json(dir.path(), Some(&config(200, 4)), &["long.pdf"], &[]);
    assert!(
        log.contains(
            "long.pdf: OCR stopped at its time budget ([crawl] ocr_timeout_secs = 4) after "
        ) && log.contains(" of 200 pages"),
        "{log}"
    );
    assert_eq!(lines[0]["ocr"], "read");
    // The page cap: two pages read, and the document flagged from them.
    let (lines, log) = match_json(dir.path(), Some(&config(2, 600)), &["long.pdf"], &[]);
    assert!(
        log.contains(
            "long.pdf: OCR read 2 of 200 pages: the rest is over [crawl] ocr_max_pages = 2"
        ),
        "{log}"
    );
    assert!(
        quotas(&lines[0]).contains(&("accounts".to_string(), 4)),
        "{}",
        lines[0]
    );
    assert_eq!(lines[0]["text_source"], "ocr");
}

/// A page-sized image with dark bars where text would be: no pdftoppm needed to make it.
fn bars() -> Gray {
    let (w, h) = (1240u32, 1754u32);
    let mut px = vec![235u8; (w * h) as usize];
    for line in 0..30 {
        let y0 = 150 + line * 45;
        for y in y0..y0 + 14 {
            for x in 120..1100 {
                px[(y * w + x) as usize] = 40;
            }
        }
    }
    Gray {
        width: w,
        height: h,
        px,
    }
}

#[test]
fn without_ocr_a_scan_is_not_read_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("scan.pdf"),
        image_pdf(&[Img::Gray(bars())], &[0, 0], 150),
    )
    .unwrap();
    let photo = scans::png(&bars());
    std::fs::write(d.join("photo.png"), &photo).unwrap();
    // a typed DOCX with a small logo: nothing for OCR, and so nothing unread
    let logo = scans::png(&Gray {
        width: 120,
        height: 80,
        px: vec![30; 120 * 80],
    });
    std::fs::write(
        d.join("typed.docx"),
        scans::docx_with_picture(
            &["Создание четырех фейковых аккаунтов для комментирования."],
            &logo,
            120,
            80,
        ),
    )
    .unwrap();
    let off = [("TENDERSCAN_TESSERACT", "off")];
    let files = ["scan.pdf", "photo.png", "typed.docx"];
    let (lines, log) = match_json(d, None, &files, &off);
    for l in &lines[..2] {
        assert_eq!(l["ocr"], "unavailable", "{l}");
        assert_eq!(l["ocr_note"], "not read (scanned, no OCR)", "{l}");
        assert_eq!(l["text_source"], Value::Null, "{l}");
        assert_eq!(l["matches"], serde_json::json!([]));
    }
    assert!(
        log.contains("scan.pdf: not read: no OCR installed (tesseract not found"),
        "{log}"
    );
    assert!(log.contains("2 pages unread"), "{log}");
    assert!(
        log.contains("photo.png: not read: no OCR installed"),
        "{log}"
    );
    let typed = &lines[2];
    assert_eq!(typed["ocr"], Value::Null, "{typed}");
    assert_eq!(typed["ocr_note"], Value::Null);
    assert_eq!(typed["text_source"], "text");
    assert_eq!(typed["matches"][0]["rule"], "fake-accounts");
    assert_eq!(typed["matches"][0]["ocr"], false);
    assert!(log.contains("too small to be a page of text"), "{log}");
    // the text output: unread, not "no match"
    let out = tenderscan(d)
        .env("TENDERSCAN_TESSERACT", "off")
        .args(["match", "scan.pdf", "photo.png"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "scan.pdf: not read (scanned, no OCR)\nphoto.png: not read (scanned, no OCR)\n"
    );
    assert_eq!(out.status.code(), Some(0));
}

/// A goszakup API with one announcement whose technical specification is a scan.
async fn portal_with_a_scan(pdf: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(graphql_page(vec![trd_buy(
            &uri,
            910001,
            "Информационные услуги",
            1_300_000.0,
            6001,
        )]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/journal"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"total": 0, "limit": 50, "next_page": "", "items": []}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/download_file/6001/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(pdf, "application/pdf"))
        .mount(&server)
        .await;
    server
}

fn status_json(dir: &Path, env: &[(&str, &str)]) -> Value {
    let mut cmd = tenderscan(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.args(["status", "--format", "json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scan_crawled_without_ocr_is_counted_then_read_by_scan_ocr_and_mailed_as_ocr() {
    if !have_ocr("a_scan_crawled_without_ocr_is_counted_then_read_by_scan_ocr_and_mailed_as_ocr") {
        return;
    }
    let page = scanned_page("spec_ru.pdf", &Scanner::OFFICE);
    let server = portal_with_a_scan(image_pdf(&[Img::Gray(page)], &[0], 200)).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::pipeline::write_config(d, &[("goszakup", &server.uri())]);
    let db = d.join("t.db");
    let off = [("TENDERSCAN_TESSERACT", "off")];

    // 1. Crawled on a machine without OCR: stored as a scan not read, nothing flagged.
    let out = tenderscan(d)
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .env("TENDERSCAN_TESSERACT", "off")
        .arg("crawl")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE scanned = 1 AND ocr = 'unavailable' AND text_source IS NULL
             AND notes LIKE '%not read: no OCR installed%'"
        ),
        1
    );
    assert_eq!(count(&db, "SELECT count(*) FROM flags"), 0);
    let st = status_json(d, &off);
    assert_eq!(st["ocr"]["available"], false, "{st}");
    assert_eq!(st["ocr"]["scans_unread"], 1);
    assert_eq!(st["ocr"]["documents_read"], 0);
    let text = tenderscan(d)
        .env("TENDERSCAN_TESSERACT", "off")
        .arg("status")
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("OCR here         none: tesseract not found"),
        "{text}"
    );
    assert!(
        text.contains("`tenderscan scan --ocr` reads them once it is"),
        "{text}"
    );

    // scan --ocr where there is still no OCR: says so, exit 1, nothing changes
    let out = tenderscan(d)
        .env("TENDERSCAN_TESSERACT", "off")
        .args(["scan", "--ocr"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no OCR here (tesseract not found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(status_json(d, &off)["ocr"]["scans_unread"], 1);

    // 2. OCR installed: `scan --ocr` reads it from its evidence and the rules flag it.
    let out = tenderscan(d).args(["scan", "--ocr"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (source, ocr, text, spans): (String, String, String, String) = conn
        .query_row(
            "SELECT text_source, ocr, text, ocr_spans FROM documents",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!((source.as_str(), ocr.as_str()), ("ocr", "read"));
    assert_eq!(spans, format!("[[0,{}]]", text.len()));
    let (kind, n, by_ocr, start, end): (String, i64, i64, i64, i64) = conn
        .query_row(
            "SELECT f.quota_kind, f.quota_count, f.read_by_ocr, m.match_start, m.match_end
             FROM flag_details f JOIN matches m ON m.id = f.match_id
             WHERE f.rule_id = 'fake-accounts'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!((kind.as_str(), n, by_ocr), ("accounts", 4, 1));
    // the evidence offsets point into the OCR text
    assert_eq!(&text[start as usize..end as usize], "фейковых аккаунтов");
    // `show` says so for the document
    let out = tenderscan(d).args(["show", "910001-1"]).output().unwrap();
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(
        shown.contains("read by OCR (ocr): quotes from it may differ from the scan"),
        "{shown}"
    );
    let st = status_json(d, &[]);
    assert_eq!(st["ocr"]["available"], true, "{st}");
    assert_eq!(st["ocr"]["scans_unread"], 0);
    assert_eq!(st["ocr"]["documents_read"], 1);

    // 3. The alert says the words were read by OCR.
    let out = tenderscan(d).arg("alert").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let emls = crate::pipeline::eml_files(d);
    assert_eq!(emls.len(), 1);
    let mail = crate::smtp::parse_mime(&emls[0]);
    let plain = mail.part("text/plain");
    assert!(
        plain.contains(
            "Evidence (read by OCR from a scan: check the words against the document): \""
        ) && plain.contains("**фейковых аккаунтов**"),
        "{plain}"
    );
    assert!(
        mail.part("text/html").contains("read by OCR from a scan"),
        "{}",
        mail.part("text/html")
    );
    // A second `scan --ocr` has nothing left to read.
    let out = tenderscan(d).args(["scan", "--ocr"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM matches WHERE rule_id = 'fake-accounts'"
        ),
        1
    );
}
