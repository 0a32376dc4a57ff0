//! Hostile documents against the real binary and a goszakup-shaped portal on 127.0.0.1: a
//! FlateDecode bomb, markup nested a million levels deep, a run killed while a document is
//! being read (poison quarantine), a download that fails (fetched once per run), a redirect
//! to another port of the portal's host. Also the reader pool's side of a worker that hangs,
//! is stopped or runs out of memory, with small shell scripts standing in for the worker.

use crate::pipeline::{
    NURBOT_SPEC, TOKEN, eml_files, portal_with_files, signal, wait_for, write_config,
};
use crate::util::{binary, count, docx, flate_bomb_pdf, tenderscan, try_count};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tenderscan::extract::{Limits, ProcessLimits, Readers};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const DOCX_TYPE: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// A goszakup API with two announcements: 900001, whose specification (file 5001) orders
/// fake accounts, and 900002, whose specification (file 5002) is `second`.
async fn portal_with(second: ResponseTemplate) -> MockServer {
    let first = ResponseTemplate::new(200).set_body_raw(docx(NURBOT_SPEC), DOCX_TYPE);
    portal_with_files(first, second).await
}

/// The config of [`write_config`] with more `[crawl]` keys.
fn write_config_with(dir: &Path, server: &MockServer, crawl: &str) {
    write_config(dir, &[("goszakup", &server.uri())]);
    let p = dir.join("config.toml");
    let cfg = std::fs::read_to_string(&p).unwrap();
    std::fs::write(
        &p,
        cfg.replacen("[crawl]\n", &format!("[crawl]\n{crawl}\n"), 1),
    )
    .unwrap();
}

fn doc_error(db: &Path, file_id: i64) -> Option<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT error FROM documents WHERE url LIKE ?1",
        [format!("%/download_file/{file_id}/")],
        |r| r.get(0),
    )
    .unwrap()
}

fn requests_to(server_requests: &[wiremock::Request], file_id: i64) -> usize {
    let p = format!("/files/download_file/{file_id}/");
    server_requests.iter().filter(|r| r.url.path() == p).count()
}

/// The run mailed the fake-accounts notice: one digest, one high flag.
fn assert_flag_mailed(dir: &Path) {
    let db = dir.join("t.db");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM flags WHERE severity = 'high' AND notice_number = '900001-1'"
        ),
        1
    );
    let emls = eml_files(dir);
    assert_eq!(emls.len(), 1, "one digest");
    let mail = std::fs::read_to_string(&emls[0]).unwrap();
    assert!(mail.contains("desk@example.org"));
    assert_eq!(
        count(&db, "SELECT count(*) FROM alerts WHERE status <> 'sent'"),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flate_bomb_pdf_fails_alone_and_the_flagged_notice_is_mailed_in_the_same_run() {
    // 2 MB that inflate to 2 GiB: over the reader's 1 GiB address space.
    let bomb = flate_bomb_pdf(2 << 30);
    assert!(bomb.len() < 3 << 20, "{} bytes", bomb.len());
    let server =
        portal_with(ResponseTemplate::new(200).set_body_raw(bomb, "application/pdf")).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[("goszakup", &server.uri())]);
    let out = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        // The in-process PDF parser (pdf-extract), which decodes a stream whole.
        .env("TENDERSCAN_PDFTOTEXT", "off")
        .arg("run")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let db = dir.path().join("t.db");
    let err = doc_error(&db, 5002).expect("the bomb is a failed document");
    assert!(
        err.contains("the PDF reader ran out of its 1 GiB memory limit"),
        "{err}"
    );
    assert_eq!(doc_error(&db, 5001), None);
    assert_flag_mailed(dir.path());
    assert_eq!(
        count(&db, "SELECT count(*) FROM runs WHERE status = 'ok'"),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE read_started_at IS NOT NULL"
        ),
        0,
        "no read mark left"
    );
}

#[test]
fn markup_nested_a_million_levels_deep_is_read_as_flat_text() {
    let dir = tempfile::tempdir().unwrap();
    let html = format!(
        "<html><body>{}<p>Создание четырех фейковых аккаунтов для комментирования &amp; \
         продвижения</p>{}</body></html>",
        "<div>".repeat(1_100_000),
        "</div>".repeat(10)
    );
    assert!(html.len() > 5_000_000);
    std::fs::write(dir.path().join("nested.html"), html).unwrap();
    let out = tenderscan(dir.path())
        .args(["match", "--format", "json", "nested.html"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("fake-accounts"), "{stdout}");
    assert!(stderr.contains("read as flat text"), "{stderr}");
}

/// A stand-in for pdftotext that takes `secs` seconds, then prints one page of text.
fn slow_pdftotext(dir: &Path, secs: u32) -> PathBuf {
    let p = dir.join("slow-pdftotext");
    std::fs::write(
        &p,
        format!("#!/bin/sh\ncat >/dev/null\nsleep {secs}\nprintf 'Поставка офисной бумаги\\f'\n"),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

const SMALL_PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// Starts `run`, kills it with SIGKILL while file 5002 is being read, and runs again.
async fn kill_while_reading(crawl: &str) -> (tempfile::TempDir, MockServer) {
    let server =
        portal_with(ResponseTemplate::new(200).set_body_raw(SMALL_PDF, "application/pdf")).await;
    let dir = tempfile::tempdir().unwrap();
    write_config_with(dir.path(), &server, crawl);
    let tool = slow_pdftotext(dir.path(), 3);
    let mut child = {
        let mut cmd = std::process::Command::new(binary());
        cmd.current_dir(dir.path())
            .env("TEST_GOSZAKUP_TOKEN", TOKEN)
            .env("TENDERSCAN_PDFTOTEXT", &tool)
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd.spawn().unwrap()
    };
    let db = dir.path().join("t.db");
    wait_for(|| {
        try_count(
            &db,
            "SELECT count(*) FROM documents WHERE url LIKE '%/5002/' AND read_started_at IS NOT NULL",
        ) == Some(1)
    });
    signal(&child, "-KILL");
    child.wait().unwrap();
    assert!(eml_files(dir.path()).is_empty(), "killed before mailing");
    let out = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .env("TENDERSCAN_PDFTOTEXT", &tool)
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (dir, server)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_document_being_read_when_the_run_died_in_process_is_failed_and_the_alerts_go_out() {
    let (dir, _server) = kill_while_reading("reader_processes = 0").await;
    let db = dir.path().join("t.db");
    let err = doc_error(&db, 5002).expect("the document that was being read is failed");
    assert!(err.contains("reading it crashed tenderscan"), "{err}");
    assert_flag_mailed(dir.path());
    // A third run neither reads it again nor mails again.
    tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .assert()
        .code(0);
    assert_eq!(eml_files(dir.path()).len(), 1);
    assert!(
        doc_error(&db, 5002)
            .unwrap()
            .contains("reading it crashed tenderscan")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_while_a_worker_reads_leaves_the_document_to_be_read_again() {
    let (dir, _server) = kill_while_reading("").await;
    let db = dir.path().join("t.db");
    assert_eq!(doc_error(&db, 5002), None);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE url LIKE '%/5002/' AND text LIKE '%офисной бумаги%'
               AND read_started_at IS NULL AND read_attempts = 0"
        ),
        1,
        "read by the next run, mark gone"
    );
    assert_flag_mailed(dir.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_download_is_tried_once_per_run() {
    let server = portal_with(ResponseTemplate::new(503)).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[("goszakup", &server.uri())]);
    tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .assert()
        .code(0);
    let reqs = server.received_requests().await.unwrap();
    // One attempt with its one retry (max_retries = 1 in the test config), not a second
    // attempt by the pass over documents left pending.
    assert_eq!(requests_to(&reqs, 5002), 2);
    assert_eq!(requests_to(&reqs, 5001), 1);
    assert_flag_mailed(dir.path());
    // Still pending: the next run tries it again, once.
    tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .assert()
        .code(0);
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(requests_to(&reqs, 5002), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirect_to_another_port_of_the_portal_host_is_not_followed() {
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(docx(NURBOT_SPEC), DOCX_TYPE))
        .mount(&other)
        .await;
    let elsewhere = format!("{}/internal/admin", other.uri());
    let server = portal_with(ResponseTemplate::new(302).insert_header("Location", elsewhere)).await;
    assert_ne!(server.address().port(), other.address().port());
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[("goszakup", &server.uri())]);
    tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .assert()
        .code(0);
    assert!(
        other.received_requests().await.unwrap().is_empty(),
        "nothing was sent to the other port"
    );
    let err = doc_error(&dir.path().join("t.db"), 5002).expect("a failed document");
    assert!(err.contains("not in the allowed hosts"), "{err}");
}

/// A shell script standing in for the worker binary.
fn fake_worker(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("fake-worker");
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn short_limits(secs: u64) -> Limits {
    Limits {
        time_budget: Duration::from_secs(secs),
        ..Limits::default()
    }
}

#[test]
fn a_worker_that_never_answers_is_killed_at_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let exe = fake_worker(
        dir.path(),
        &format!("echo $$ > {}\nexec sleep 600", pidfile.display()),
    );
    let readers = Readers::isolated(exe, 1, ProcessLimits::default());
    let err = readers
        .read(b"plain text", None, None, &short_limits(1), &|| false)
        .unwrap_err();
    assert!(
        err.to_string().contains("ran past its time budget of 1 s"),
        "{err}"
    );
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let alive = std::process::Command::new("kill")
        .args(["-0", pid.trim()])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(!alive, "the worker was killed");
}

#[test]
fn a_stop_request_kills_a_busy_worker() {
    let dir = tempfile::tempdir().unwrap();
    let exe = fake_worker(dir.path(), "exec sleep 600");
    let readers = Readers::isolated(exe, 1, ProcessLimits::default());
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        s.store(true, Ordering::SeqCst);
    });
    let err = readers
        .read(b"plain text", None, None, &short_limits(600), &|| {
            stop.load(Ordering::SeqCst)
        })
        .unwrap_err();
    t.join().unwrap();
    assert!(
        matches!(err, tenderscan::extract::ExtractError::Interrupted),
        "{err}"
    );
}

#[test]
fn a_worker_that_dies_of_an_allocation_failure_is_named_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let exe = fake_worker(
        dir.path(),
        "cat >/dev/null &\necho 'memory allocation of 4294967296 bytes failed' >&2\nkill -ABRT $$",
    );
    let readers = Readers::isolated(
        exe,
        1,
        ProcessLimits {
            memory_bytes: 512 << 20,
        },
    );
    for _ in 0..2 {
        let err = readers
            .read(b"%PDF-1.4\n", None, None, &short_limits(30), &|| false)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the PDF reader ran out of its 512 MiB memory limit"
        );
    }
}

#[test]
fn the_real_worker_reads_like_the_library_and_is_reused() {
    let readers = Readers::isolated(binary(), 1, ProcessLimits::default());
    let spec = docx(NURBOT_SPEC);
    let limits = Limits::default();
    let here = tenderscan::extract::extract(&spec, Some("spec.docx"), None, &limits).unwrap();
    for _ in 0..3 {
        let there = readers
            .read(&spec, Some("spec.docx"), None, &limits, &|| false)
            .unwrap();
        assert_eq!(there, here);
    }
    let err = readers
        .read(b"\x00\x01\x02\x03binary", None, None, &limits, &|| false)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        tenderscan::extract::extract(b"\x00\x01\x02\x03binary", None, None, &limits)
            .unwrap_err()
            .to_string()
    );
}
