//! The whole cycle through the real binary: a goszakup-shaped API on 127.0.0.1 with a
//! technical specification in DOCX, the SQLite file, and digests as .eml files.
//! Also the cron contract: exit codes, the lock, kill -9, and silence on success.

use crate::util::{binary, count, docx, tenderscan, try_count};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// One announcement in GraphQL v3 shape, with one lot whose technical specification
/// is served by `server` at /files/download_file/{file_id}/.
pub(crate) fn trd_buy(server: &str, id: i64, title: &str, amount: f64, file_id: i64) -> Value {
    json!({
        "id": id,
        "numberAnno": format!("{id}-1"),
        "nameRu": title,
        "nameKz": null,
        "totalSum": amount,
        "countLots": 1,
        "refTradeMethodsId": 3,
        "refSubjectTypeId": 3,
        "customerBin": null,
        "customerNameRu": null,
        "orgBin": "990240001234",
        "orgNameRu": "ГУ «Аппарат акима города Рудного»",
        "orgNameKz": "«Рудный қаласы әкімінің аппараты» ММ",
        "refBuyStatusId": 220,
        "startDate": "2026-11-20 10:00:00",
        "endDate": "2026-11-30 18:00:00",
        "publishDate": "2026-11-20 10:00:00",
        "itogiDatePublic": null,
        "RefBuyStatus": {"id": 220, "nameRu": "Опубликовано (прием заявок)", "nameKz": null, "code": "220"},
        "Files": [],
        "Lots": [{
            "id": id * 10,
            "lotNumber": format!("{}-ЗЦП1", id * 10),
            "nameRu": "Информационные услуги",
            "nameKz": null,
            "descriptionRu": "Информационные услуги",
            "descriptionKz": null,
            "amount": amount,
            "count": 1,
            "refLotStatusId": 240,
            "customerBin": null,
            "customerNameRu": null,
            "lastUpdateDate": "2026-11-20 10:00:00",
            "RefLotsStatus": {"id": 240, "nameRu": "Опубликован (прием заявок)", "code": "240"},
            "Files": [{
                "id": file_id,
                "nameRu": "Техническая спецификация",
                "nameKz": "Техникалық ерекшелік",
                "originalName": format!("techspec_{file_id}.docx"),
                "filePath": format!("{server}/files/download_file/{file_id}/"),
                "objectId": id * 10
            }]
        }]
    })
}

pub(crate) fn graphql_page(items: Vec<Value>) -> ResponseTemplate {
    let last = items.last().and_then(|i| i["id"].as_i64());
    let body = json!({
        "data": {"TrdBuy": items},
        "extensions": {"pageInfo": {"limitPage": 50, "totalCount": 2, "hasNextPage": false, "lastId": last}}
    });
    ResponseTemplate::new(200).set_body_raw(body.to_string().into_bytes(), "application/json")
}

pub(crate) const NURBOT_SPEC: &[&str] = &[
    "Техническая спецификация",
    "Оказание информационных услуг по продвижению деятельности акимата в социальных сетях.",
    "Создание четырех фейковых аккаунтов для комментирования публикаций акимата.",
    "Срок оказания услуг: до 31 декабря 2026 года.",
];

pub(crate) const PLAIN_SPEC: &[&str] = &[
    "Техническая спецификация",
    "Поставка канцелярских товаров: бумага офисная А4, 500 листов в пачке, 40 пачек.",
];

/// A goszakup API with two announcements (one ordering fake accounts), their
/// specifications, and an empty change journal. `delay` slows the documents down.
async fn portal(delay: Duration) -> MockServer {
    let spec = |paras: &[&str]| {
        ResponseTemplate::new(200)
            .set_body_raw(
                docx(paras),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            )
            .set_delay(delay)
    };
    portal_with_files(spec(NURBOT_SPEC), spec(PLAIN_SPEC)).await
}

/// An empty change journal, as goszakup answers it.
pub(crate) async fn mount_empty_journal(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v3/journal"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"total": 0, "limit": 50, "next_page": "", "items": []}"#,
            "application/json",
        ))
        .mount(server)
        .await;
}

/// A goszakup API with two announcements, 900001 (its specification, file 5001, answered
/// by `first`) and 900002 (file 5002, `second`), and an empty change journal.
pub(crate) async fn portal_with_files(
    first: ResponseTemplate,
    second: ResponseTemplate,
) -> MockServer {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(graphql_page(vec![
            trd_buy(&uri, 900001, "Информационные услуги", 1_300_000.0, 5001),
            trd_buy(&uri, 900002, "Канцелярские товары", 250_000.0, 5002),
        ]))
        .mount(&server)
        .await;
    mount_empty_journal(&server).await;
    for (id, resp) in [(5001, first), (5002, second)] {
        Mock::given(method("GET"))
            .and(path(format!("/files/download_file/{id}/")))
            .respond_with(resp)
            .mount(&server)
            .await;
    }
    server
}

/// A config with the given sources (name, url) and a recipient, mail as .eml files.
pub(crate) fn write_config(dir: &Path, sources: &[(&str, &str)]) {
    let mut cfg = String::from(
        "[database]\npath = \"t.db\"\n\n[crawl]\ncontact = \"mailto:test@example.org\"\ntimeout_secs = 5\nmax_retries = 1\nbackoff_secs = 0.05\nrefused_backoff_secs = 0.05\n\n",
    );
    for (name, url) in sources {
        cfg.push_str(&format!(
            "[[sources]]\nname = \"{name}\"\nkind = \"goszakup\"\ncontracts = false\nurl = \"{url}\"\ntoken_env = \"TEST_GOSZAKUP_TOKEN\"\nlookback_days = 3\nrequests_per_second = 1000.0\n\n"
        ));
    }
    cfg.push_str(
        "[mail]\nfrom = \"tenderscan <alerts@example.org>\"\ndry_run_dir = \"outbox\"\n\n[[recipients]]\nemail = \"desk@example.org\"\nmin_severity = \"medium\"\nlanguage = \"en\"\n",
    );
    std::fs::write(dir.join("config.toml"), cfg).unwrap();
}

pub(crate) fn eml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(dir.join("outbox")) {
        Ok(rd) => rd
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_crawls_reads_flags_and_mails_once() {
    let server = portal(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[("goszakup", &server.uri())]);
    let out = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Cron conditions (no terminal): nothing printed when all is well.
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let db = dir.path().join("t.db");
    assert_eq!(count(&db, "SELECT count(*) FROM notices"), 2);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE text LIKE '%фейковых аккаунтов%'"
        ),
        1
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (rule, severity, kind, n, price, agency): (String, String, String, i64, f64, String) = conn
        .query_row(
            "SELECT rule_id, severity, quota_kind, quota_count, price_per_unit, agency_bin FROM flags
             WHERE severity = 'high' AND quota_kind = 'accounts'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .unwrap();
    assert!(!rule.is_empty());
    assert_eq!(
        (severity.as_str(), kind.as_str(), n),
        ("high", "accounts", 4)
    );
    assert_eq!(price, 325_000.0);
    assert_eq!(
        agency, "990240001234",
        "the organiser stands in for a null customer"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM flags WHERE notice_number = '900002-1' AND severity <> 'low'"
        ),
        0,
        "stationery is not flagged"
    );
    let (status, new): (String, i64) = conn
        .query_row(
            "SELECT status, notices_new FROM runs ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((status.as_str(), new), ("ok", 2));

    let emls = eml_files(dir.path());
    assert_eq!(emls.len(), 1, "one digest for the one recipient");
    let mail = std::fs::read_to_string(&emls[0]).unwrap();
    assert!(mail.contains("desk@example.org"));

    // A second run finds nothing new and mails nothing again.
    tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .assert()
        .code(0);
    assert_eq!(eml_files(dir.path()).len(), 1, "no duplicate email");
    assert_eq!(count(&db, "SELECT count(*) FROM notices"), 2);
    assert_eq!(
        count(&db, "SELECT count(*) FROM alerts"),
        count(&db, "SELECT count(*) FROM alerts WHERE status = 'sent'")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_source_down_the_other_delivers_and_the_run_exits_1() {
    let server = portal(Duration::ZERO).await;
    // A port where nothing listens.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        drop(l);
        format!("http://{a}")
    };
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &[("down", &closed), ("goszakup", &server.uri())],
    );
    let out = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("down"),
        "the failing source is named: {stderr}"
    );
    let db = dir.path().join("t.db");
    assert_eq!(count(&db, "SELECT count(*) FROM notices"), 2);
    assert_eq!(eml_files(dir.path()).len(), 1);
    assert_eq!(
        count(
            &db,
            "SELECT consecutive_failures FROM sources WHERE name = 'down'"
        ),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT consecutive_failures FROM sources WHERE name = 'goszakup'"
        ),
        0
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (status, summary): (String, String) = conn
        .query_row("SELECT status, summary FROM runs", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(status, "partial");
    assert!(summary.contains("down"), "{summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_token_skips_the_source_unless_it_is_required() {
    let server = portal(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[("goszakup", &server.uri())]);
    // Not required: skipped at info, exit 0, nothing printed for cron.
    let out = tenderscan(dir.path()).arg("run").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
    let out = tenderscan(dir.path()).args(["-v", "run"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.lines().any(|l| l.contains("INFO")
            && l.contains("skipped (no token)")
            && l.contains("TEST_GOSZAKUP_TOKEN")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("WARN") && !stderr.contains("ERROR"),
        "{stderr}"
    );
    let status = tenderscan(dir.path()).arg("status").assert().success();
    let text = String::from_utf8(status.get_output().stdout.clone()).unwrap();
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("goszakup "))
        .unwrap();
    assert!(line.contains("skipped (no token)"), "{text}");
    let json = tenderscan(dir.path())
        .args(["status", "--format", "json"])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(v["skipped_sources"][0]["name"], "goszakup", "{v}");
    assert_eq!(v["skipped_sources"][0]["why"], "no token", "{v}");
    assert!(server.received_requests().await.unwrap().is_empty());

    // required = true: the run fails (exit 1) and says which variable.
    let cfg = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        cfg.replace(
            "lookback_days = 3\n",
            "lookback_days = 3\nrequired = true\n",
        ),
    )
    .unwrap();
    let out = tenderscan(dir.path()).arg("run").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TEST_GOSZAKUP_TOKEN") && stderr.contains("required"),
        "{stderr}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[test]
fn the_default_config_on_a_fresh_machine_without_a_token_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    // No config.toml: the embedded default, its goszakup source without GOSZAKUP_TOKEN.
    let out = tenderscan(dir.path()).arg("run").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
    let status = tenderscan(dir.path()).arg("status").assert().success();
    let text = String::from_utf8(status.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("skipped (no token)") && text.contains("GOSZAKUP_TOKEN"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_runs_started_together_one_exits_3() {
    let server = portal(Duration::from_secs(3)).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[("goszakup", &server.uri())]);
    let first = spawn(dir.path(), "run", Stdio::null(), Stdio::null());
    // Wait until the first run holds the lock (its run record exists).
    let db = dir.path().join("t.db");
    wait_for(|| try_count(&db, "SELECT count(*) FROM runs").is_some_and(|n| n > 0));
    let second = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&second.stderr).contains("lock"));
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_mid_crawl_is_completed_by_the_next_without_duplicates() {
    let server = portal(Duration::from_secs(2)).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[("goszakup", &server.uri())]);
    let mut child = spawn(dir.path(), "run", Stdio::null(), Stdio::null());
    // Kill it while it waits for a document: the page is stored, the documents are not.
    let db = dir.path().join("t.db");
    wait_for(|| try_count(&db, "SELECT count(*) FROM notices") == Some(2));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(
        count(&db, "SELECT count(*) FROM documents WHERE text IS NOT NULL"),
        0
    );
    assert!(eml_files(dir.path()).is_empty());

    // The lock died with the process; the next run finishes the work.
    tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .assert()
        .code(0);
    assert_eq!(count(&db, "SELECT count(*) FROM notices"), 2);
    assert_eq!(
        count(&db, "SELECT count(*) FROM documents WHERE text IS NOT NULL"),
        2
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM flags WHERE severity = 'high'"),
        1
    );
    assert_eq!(eml_files(dir.path()).len(), 1);
    assert_eq!(
        count(&db, "SELECT count(*) FROM runs WHERE status = 'killed'"),
        1
    );
    // And once more: nothing twice.
    tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .assert()
        .code(0);
    assert_eq!(eml_files(dir.path()).len(), 1);
    assert_eq!(
        count(&db, "SELECT count(*) FROM matches WHERE severity = 'high'"),
        1
    );
}

/// The binary, started in `dir` with the test token, for tests that wait on it or signal it.
pub(crate) fn spawn(
    dir: &Path,
    command: &str,
    stdout: Stdio,
    stderr: Stdio,
) -> std::process::Child {
    std::process::Command::new(binary())
        .current_dir(dir)
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg(command)
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Poll `cond` for up to two minutes (a bound for a hung child, not a timing check: the
/// conditions waited for come in a second or two).
pub(crate) fn wait_for(cond: impl Fn() -> bool) {
    wait_for_secs(120, cond)
}

pub(crate) fn signal(child: &std::process::Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_after_the_current_document_and_the_next_run_finishes() {
    let server = portal(Duration::from_secs(2)).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[("goszakup", &server.uri())]);
    let child = spawn(dir.path(), "run", Stdio::piped(), Stdio::piped());
    let db = dir.path().join("t.db");
    wait_for(|| try_count(&db, "SELECT count(*) FROM notices") == Some(2));
    signal(&child, "-TERM");
    // Stopped after the current document: the second one (2 s away) is never read, the
    // run is interrupted (a run that went on to the end would be `ok`, exit 0).
    let out = exit_after_signal(child);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an interrupted run is not all well"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("signal"), "{stderr}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let status: String = conn
        .query_row("SELECT status FROM runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(status, "interrupted");
    let cursor: Option<String> = conn
        .query_row("SELECT cursor FROM sources", [], |r| r.get(0))
        .unwrap();
    assert!(cursor.is_some(), "the stored page's cursor was saved");
    drop(conn);

    tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .assert()
        .code(0);
    assert_eq!(
        count(&db, "SELECT count(*) FROM documents WHERE text IS NOT NULL"),
        2
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM flags WHERE severity = 'high'"),
        1
    );
    assert_eq!(eml_files(dir.path()).len(), 1);
}

/// `tenderscan daemon` in `dir` with info logs on stderr, its schedule on a test clock
/// (`TENDERSCAN_TEST_CLOCK`, `START[,SPEED]`) in UTC.
fn spawn_daemon(dir: &Path, clock: &str) -> std::process::Child {
    std::process::Command::new(binary())
        .current_dir(dir)
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .env("TENDERSCAN_LOG", "tenderscan=info")
        .env("TENDERSCAN_TEST_CLOCK", clock)
        .env("TZ", "UTC0")
        .arg("daemon")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A config whose `[schedule] cron` is `cron`, with the portal on `server`.
fn daemon_config(dir: &Path, server: &MockServer, cron: &str) {
    write_config(dir, &[("goszakup", &server.uri())]);
    let cfg = dir.join("config.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(&format!("\n[schedule]\ncron = \"{cron}\"\n"));
    std::fs::write(&cfg, text).unwrap();
}

/// The times the daemon logged as its next run, in order.
fn next_runs(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| {
            l.split_once("next run at ")
                .map(|(_, t)| t.trim().to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_runs_the_cycle_on_its_schedule_and_stops_on_sigterm() {
    let server = portal(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    // Once a day at 10:00; the daemon's clock starts two seconds before, at real speed.
    daemon_config(dir.path(), &server, "0 10 * * *");
    let child = spawn_daemon(dir.path(), "2026-03-01T09:59:58Z");
    let db = dir.path().join("t.db");
    wait_for_secs(120, || {
        try_count(
            &db,
            "SELECT count(*) FROM runs WHERE command = 'daemon' AND status = 'ok'",
        )
        .is_some_and(|n| n >= 1)
    });
    assert_eq!(eml_files(dir.path()).len(), 1);
    // While the daemon sleeps (a day on its clock), a cron run can take the lock: the
    // daemon holds it only during a cycle.
    tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .assert()
        .code(0);
    signal(&child, "-TERM");
    let out = exit_after_signal(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("TENDERSCAN_TEST_CLOCK is set"), "{stderr}");
    // The first run at 10:00 on the test clock, the next one a day later: the schedule
    // follows the clock, not the wall.
    assert_eq!(
        next_runs(&stderr),
        ["2026-03-01 10:00:00 +00:00", "2026-03-02 10:00:00 +00:00"],
        "{stderr}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM runs WHERE command = 'daemon'"),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_runs_again_at_each_scheduled_time() {
    let server = portal(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    // Hourly, on a clock that runs 600 times as fast: an hour passes in 6 s, the first
    // cycle comes 0.1 s after the start.
    daemon_config(dir.path(), &server, "0 * * * *");
    let child = spawn_daemon(dir.path(), "2026-03-01T09:59:00Z,600");
    let db = dir.path().join("t.db");
    wait_for_secs(180, || {
        try_count(
            &db,
            "SELECT count(*) FROM runs WHERE command = 'daemon' AND status = 'ok'",
        )
        .is_some_and(|n| n >= 3)
    });
    signal(&child, "-TERM");
    let out = exit_after_signal(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // Each cycle waited for a full hour of the clock (a slow cycle may skip one).
    let times = next_runs(&stderr);
    assert!(times.len() >= 4, "{stderr}");
    assert_eq!(times[0], "2026-03-01 10:00:00 +00:00");
    for t in &times {
        assert!(
            t.ends_with(":00:00 +00:00"),
            "{t} is not on the hour: {stderr}"
        );
    }
    let mut sorted = times.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, times, "the next runs increase");
    // The same notices every cycle: mailed once.
    assert_eq!(eml_files(dir.path()).len(), 1);
    assert_eq!(
        count(&db, "SELECT count(*) FROM flags WHERE severity = 'high'"),
        1
    );
}

/// Wait for a signalled child to exit; after a minute it is killed and the test fails (a
/// bound for a hung process, not a timing check: a stop takes under a second).
fn exit_after_signal(child: std::process::Child) -> std::process::Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("process {pid} did not stop within a minute of the signal");
        }
    }
}

/// Poll `cond` for up to `secs` seconds.
pub(crate) fn wait_for_secs(secs: u64, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("condition not reached in {secs} s");
}

/// A portal that keeps answering 403 (after the long back-off's retries) is shown as
/// refusing the source in `status`, in text and JSON; the working source is not.
#[tokio::test(flavor = "multi_thread")]
async fn status_says_when_a_source_is_being_refused() {
    let refusing = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            r#"{"name":"Forbidden","message":"","code":0,"status":403}"#,
            "application/json",
        ))
        .mount(&refusing)
        .await;
    let server = portal(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &[("refusing", &refusing.uri()), ("goszakup", &server.uri())],
    );
    let out = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // The first try and `max_retries = 1` retry (the config caps 403 retries there).
    assert_eq!(refusing.received_requests().await.unwrap().len(), 2);
    let out = tenderscan(dir.path()).arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let line = |name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .to_string()
    };
    assert!(line("refusing").contains("REFUSED by the portal"), "{text}");
    assert!(!line("goszakup").contains("REFUSED"), "{text}");
    let out = tenderscan(dir.path())
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let refused: Vec<(String, bool)> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["refused"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        [
            ("goszakup".to_string(), false),
            ("refusing".to_string(), true)
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_then_success_leaves_cron_silent() {
    let server = portal(Duration::ZERO).await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[("goszakup", &server.uri())]);
    let out = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "",
        "stderr at the default level"
    );
    assert!(out.stdout.is_empty());
    // The 503 was met and retried: the notices are in.
    let asked = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v3/graphql")
        .count();
    assert!(
        asked >= 2,
        "the GraphQL listing was asked again after the 503"
    );
    assert_eq!(
        count(&dir.path().join("t.db"), "SELECT count(*) FROM notices"),
        2
    );
    // With -v the retry is there to read, at info.
    let dir2 = tempfile::tempdir().unwrap();
    let server2 = portal(Duration::ZERO).await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server2)
        .await;
    write_config(dir2.path(), &[("goszakup", &server2.uri())]);
    let out = tenderscan(dir2.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .args(["-v", "run"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("INFO") && l.contains("retrying")),
        "{stderr}"
    );
    assert!(!stderr.contains("WARN"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn status_counts_undelivered_alerts_per_recipient_the_outbox_and_unread_documents() {
    let spec = ResponseTemplate::new(200).set_body_raw(
        docx(NURBOT_SPEC),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    );
    // The second specification is bigger than max_document_bytes below.
    let big =
        ResponseTemplate::new(200).set_body_raw(vec![b'x'; 300_000], "application/octet-stream");
    let server = portal_with_files(spec, big).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[("goszakup", &server.uri())]);
    let cfg = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        cfg.replace(
            "timeout_secs = 5\n",
            "timeout_secs = 5\nmax_document_bytes = 100000\n",
        ),
    )
    .unwrap();
    // crawl: alerts stay queued.
    let out = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("crawl")
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = dir.path().join("t.db");
    let pending = count(&db, "SELECT count(*) FROM alerts WHERE status = 'pending'");
    assert!(pending > 0);
    let status = |format: &str| {
        let out = tenderscan(dir.path())
            .args(["status", "--format", format])
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let text = status("text");
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("desk@example.org")
                && l.ends_with(&format!("pending {pending}  failed 0  unconfirmed 0"))),
        "{text}"
    );
    assert!(text.contains("too large                 1"), "{text}");
    assert!(
        text.contains("outbox") && text.contains("no [mail] smtp_host"),
        "{text}"
    );
    let v: Value = serde_json::from_str(&status("json")).unwrap();
    assert_eq!(v["documents_not_read"]["too_large"], 1, "{v}");
    assert_eq!(v["undelivered_alerts"][0]["pending"], pending, "{v}");
    assert!(
        v["outbox"]["dir"].as_str().unwrap().ends_with("outbox"),
        "{v}"
    );
    // A failed delivery attempt and a digest a killed run left unconfirmed, as the alert
    // module records them.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE alerts SET attempts = 1, last_error = 'SMTP 451' WHERE id = (SELECT MIN(id) FROM alerts);
         INSERT INTO alerts (recipient, kind, match_id, notice_id, dedupe_key, status, created_at)
                SELECT 'desk@example.org', 'match', id, notice_id, 'k-unconfirmed', 'queued',
                       '2026-01-01T00:00:00Z' FROM matches ORDER BY id DESC LIMIT 1;
         INSERT INTO digests (recipient, message_id, subject, status, created_at)
                VALUES ('desk@example.org', '<m@x>', 's', 'unconfirmed', '2026-01-01T00:00:00Z');
         UPDATE alerts SET digest_id = last_insert_rowid() WHERE dedupe_key = 'k-unconfirmed';",
    )
    .unwrap();
    let v: Value = serde_json::from_str(&status("json")).unwrap();
    let a = &v["undelivered_alerts"][0];
    assert_eq!(
        (
            a["pending"].as_i64(),
            a["failed"].as_i64(),
            a["unconfirmed"].as_i64()
        ),
        (Some(pending - 1), Some(1), Some(1)),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_network_error_names_its_cause_once() {
    // Refused: a port nothing listens on (bound, then let go).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // TLS: https to a server that speaks plain HTTP.
    let plain = portal(Duration::ZERO).await;
    let tls_url = plain.uri().replace("http://", "https://");
    for (url, cause) in [
        (format!("http://127.0.0.1:{port}"), "connection refused"),
        (tls_url, "TLS handshake failed"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_config(dir.path(), &[("goszakup", &url)]);
        let out = tenderscan(dir.path())
            .env("TEST_GOSZAKUP_TOKEN", TOKEN)
            .arg("run")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("ERROR")).collect();
        assert_eq!(errors.len(), 1, "{stderr}");
        let e = errors[0];
        assert_eq!(e.matches("source goszakup:").count(), 1, "{e}");
        assert_eq!(e.matches(cause).count(), 1, "{e}");
        assert!(e.contains("network error"), "{e}");
        // status keeps the same one message.
        let st = tenderscan(dir.path()).arg("status").assert().success();
        let text = String::from_utf8(st.get_output().stdout.clone()).unwrap();
        let line = text.lines().find(|l| l.contains("last error")).unwrap();
        assert_eq!(line.matches("source goszakup:").count(), 1, "{line}");
        assert_eq!(line.matches(cause).count(), 1, "{line}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn show_takes_the_portal_url_and_writes_a_document_out_of_the_evidence() {
    let server = portal(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[("goszakup", &server.uri())]);
    tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("crawl")
        .assert()
        .code(0);
    let db = dir.path().join("t.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (url, doc, sha): (String, i64, String) = conn
        .query_row(
            "SELECT n.url, d.id, d.sha256 FROM notices n JOIN documents d ON d.notice_id = n.id
             WHERE n.external_id = '900001' AND d.sha256 IS NOT NULL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert!(url.starts_with("http"), "{url}");
    let shown = |key: &str| {
        let out = tenderscan(dir.path())
            .args(["show", key, "--format", "json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{key}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    assert_eq!(shown(&url)["external_id"], "900001");
    assert_eq!(shown(&format!("{url}/"))["external_id"], "900001");
    // Another language's page of the same notice: found by the number in it.
    let kk = "https://goszakup.gov.kz/kk/announce/index/900001?tab=lots";
    assert_eq!(shown(kk)["external_id"], "900001");
    tenderscan(dir.path())
        .args(["show", "https://goszakup.gov.kz/ru/announce/index/424242"])
        .assert()
        .code(2);

    // The document as fetched, decompressed: its sha256 is the one recorded.
    tenderscan(dir.path())
        .args([
            "show",
            &url,
            "--document",
            &doc.to_string(),
            "-o",
            "spec.docx",
        ])
        .assert()
        .success();
    let bytes = std::fs::read(dir.path().join("spec.docx")).unwrap();
    assert!(bytes.starts_with(b"PK"), "a DOCX, not zstd");
    assert_eq!(tenderscan::store::sha256_hex(&bytes), sha);
    // A document of another notice, or none: exit 2, naming the documents it has.
    tenderscan(dir.path())
        .args(["show", "900001-1", "--document", "999", "-o", "x"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(format!("[{doc}]")));
    // -o without --document is a usage error.
    tenderscan(dir.path())
        .args(["show", "900001-1", "-o", "x"])
        .assert()
        .code(2);
}

#[tokio::test(flavor = "multi_thread")]
async fn in_outbox_mode_the_log_says_written_to_the_outbox_not_sent() {
    let server = portal(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[("goszakup", &server.uri())]);
    let out = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .args(["-v", "run"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let emls = eml_files(dir.path());
    assert_eq!(emls.len(), 1);
    let name = emls[0].file_name().unwrap().to_string_lossy().into_owned();
    let line = stderr
        .lines()
        .find(|l| l.contains("digest to desk@example.org"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        line.contains("written to ") && line.contains(&format!("outbox/{name}")),
        "{line}"
    );
    assert!(!stderr.contains("digest sent to"), "{stderr}");
}
