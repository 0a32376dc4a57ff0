//! Watchlists through the real binary: a goszakup-shaped API on 127.0.0.1 (wiremock, the
//! GraphQL v3 shape of the pipeline tests) whose notices no rule flags, the real SMTP test
//! server and the Telegram Bot API stand-in, a real SQLite file; `watch add|list|remove`
//! and a broken watch file.

use crate::channels::{OK, StandIn, TOKEN, TOKEN_ENV, bot};
use crate::pipeline::{
    PLAIN_SPEC, TOKEN as GOSZAKUP_TOKEN, graphql_page, mount_empty_journal, trd_buy,
};
use crate::smtp::{SmtpServer, free_port, parse_mime};
use crate::util::{count, docx, tenderscan};
use std::path::Path;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const DESK: &str = "desk@newsroom.example";
const WATCHED_BIN: &str = "990240001234";
const PAGE: &str = "https://news.example/tenders";

/// Two stationery tenders no rule flags: 900002 of the watched agency (its amount as
/// given), 900003 of another agency.
async fn mount_portal(server: &MockServer, amount: f64) {
    let uri = server.uri();
    let watched = trd_buy(&uri, 900002, "Канцелярские товары", amount, 5002);
    let mut other = trd_buy(&uri, 900003, "Бумага офисная", 90_000.0, 5003);
    other["orgBin"] = "990240009999".into();
    other["orgNameRu"] = "ГУ «Отдел образования»".into();
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(graphql_page(vec![watched, other]))
        .mount(server)
        .await;
    mount_empty_journal(server).await;
    for id in [5002, 5003] {
        Mock::given(method("GET"))
            .and(path(format!("/files/download_file/{id}/")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(docx(PLAIN_SPEC), DOCX))
            .mount(server)
            .await;
    }
}

/// A config with mail to the SMTP server, a Telegram chat through the stand-in, the
/// newsroom's page, and `extra` (watches).
fn write_config(dir: &Path, url: &str, smtp_port: u16, tg_port: u16, extra: &str) {
    let cfg = format!(
        "[database]\npath = \"t.db\"\n\n[crawl]\ncontact = \"mailto:test@example.org\"\ntimeout_secs = 5\nmax_retries = 1\nbackoff_secs = 0.05\nrefused_backoff_secs = 0.05\n\n\
         [[sources]]\nname = \"goszakup\"\nkind = \"goszakup\"\ncontracts = false\nurl = \"{url}\"\ntoken_env = \"TEST_GOSZAKUP_TOKEN\"\nlookback_days = 3\nrequests_per_second = 1000.0\n\n\
         [mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {smtp_port}\nsecurity = \"none\"\nfrom = \"tenderscan <alerts@newsroom.example>\"\ntimeout_secs = 10\n\n\
         [telegram]\ntoken_env = \"{TOKEN_ENV}\"\napi_url = \"http://127.0.0.1:{tg_port}\"\n\n\
         [alerts]\npage_url = \"{PAGE}/\"\n\n\
         [[recipients]]\nemail = \"{DESK}\"\nmin_severity = \"medium\"\nlanguage = \"en\"\n\n\
         [[recipients]]\nchannel = \"telegram\"\nchat_id = -1001234567890\nlanguage = \"ru\"\n\n{extra}"
    );
    std::fs::write(dir.join("config.toml"), cfg).unwrap();
}

/// `tenderscan run`: (exit code, stderr).
fn run(dir: &Path) -> (Option<i32>, String) {
    let out = tenderscan(dir)
        .env("TEST_GOSZAKUP_TOKEN", GOSZAKUP_TOKEN)
        .env(TOKEN_ENV, TOKEN)
        .arg("run")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn notice_id(db: &Path, external: &str) -> i64 {
    count(
        db,
        &format!("SELECT id FROM notices WHERE external_id = '{external}'"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_watch_on_an_agency_bin_alerts_an_unflagged_notice_once_and_again_when_it_changes() {
    let server = MockServer::start().await;
    mount_portal(&server, 250_000.0).await;
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(&dir.path().join("maildir"));
    let tg_port = free_port();
    let api = StandIn::start(tg_port, bot(|_, _| (200, OK.into(), false)));
    write_config(
        dir.path(),
        &server.uri(),
        smtp.port,
        tg_port,
        &format!("[[watch]]\nname = \"Rudny akimat\"\nagency_bin = \"{WATCHED_BIN}\"\n"),
    );
    let db = dir.path().join("t.db");

    let (code, stderr) = run(dir.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(count(&db, "SELECT count(*) FROM notices"), 2);
    assert_eq!(
        count(&db, "SELECT count(*) FROM flags"),
        0,
        "no rule flags stationery"
    );
    // One watch alert a recipient, for the watched agency's notice only; sent.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM alerts a JOIN notices n ON n.id = a.notice_id
             WHERE a.kind = 'watch' AND a.status = 'sent' AND n.external_id = '900002'"
        ),
        2
    );
    assert_eq!(count(&db, "SELECT count(*) FROM alerts"), 2);
    let mails = smtp.wait_for(1, Duration::from_secs(10));
    assert_eq!(mails.len(), 1);
    let m = parse_mime(&mails[0]);
    assert!(m.defects.is_empty(), "{:?}", m.defects);
    assert_eq!(
        m.header("Subject"),
        Some("tenderscan: 1 tender on your watchlist")
    );
    let text = m.part("text/plain");
    assert!(text.contains("== ON YOUR WATCHLIST (1) =="), "{text}");
    assert!(text.contains("1. Канцелярские товары"), "{text}");
    assert!(
        text.contains("Watch: Rudny akimat (new on the portal)"),
        "{text}"
    );
    assert!(text.contains(&format!("(BIN {WATCHED_BIN})")), "{text}");
    assert!(!text.contains("Бумага офисная"), "{text}");
    let html = m.part("text/html");
    assert!(html.contains("On your watchlist (1)</h2>"), "{html}");
    let sent = api.requests("/sendMessage");
    assert_eq!(sent.len(), 1, "one Telegram message");
    let msg = sent[0].json();
    let tg = msg["text"].as_str().unwrap();
    assert!(tg.starts_with("<b>В вашем списке наблюдения</b>"), "{tg}");
    assert!(
        tg.contains("Наблюдение: Rudny akimat (новая на портале)"),
        "{tg}"
    );
    let id = notice_id(&db, "900002");
    assert!(
        tg.contains(&format!(
            "<a href=\"{PAGE}/notice/{id}\">На странице редакции</a>"
        )),
        "the newsroom's page, without a double slash: {tg}"
    );
    assert!(
        tg.contains("<a href=\"https://goszakup.gov.kz/ru/announce/index/900002\">"),
        "{tg}"
    );

    // The same notices again: nothing is sent twice.
    let (code, stderr) = run(dir.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(smtp.messages().len(), 1, "no second mail");
    assert_eq!(api.requests("/sendMessage").len(), 1, "no second message");
    assert_eq!(count(&db, "SELECT count(*) FROM alerts"), 2);

    // The watched notice changes on the portal: a `changed` watch alert with the change.
    server.reset().await;
    mount_portal(&server, 300_000.0).await;
    let (code, stderr) = run(dir.path());
    assert_eq!(code, Some(0), "{stderr}");
    let mails = smtp.wait_for(2, Duration::from_secs(10));
    assert_eq!(mails.len(), 2);
    let text = parse_mime(&mails[1]).part("text/plain").to_string();
    assert!(
        text.contains("Watch: Rudny akimat (changed on the portal)"),
        "{text}"
    );
    assert!(text.contains("* amount: 250000 -> 300000"), "{text}");
    let sent = api.requests("/sendMessage");
    assert_eq!(sent.len(), 2);
    let tg = sent[1].json()["text"].as_str().unwrap().to_string();
    assert!(tg.contains("(изменилась на портале)"), "{tg}");
    assert!(tg.contains("• amount: 250000 -&gt; 300000"), "{tg}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM alerts WHERE kind = 'watch' AND status = 'sent'
               AND json_extract(payload, '$.event') = 'changed'"
        ),
        2
    );

    // And once more: nothing new.
    let (code, stderr) = run(dir.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(smtp.messages().len(), 2);
    assert_eq!(api.requests("/sendMessage").len(), 2);
}

fn watch(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = tenderscan(dir).arg("watch").args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn watch_add_list_remove_edit_the_watch_file_beside_the_database() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "https://ows.goszakup.gov.kz",
        2525,
        2526,
        "[[watch]]\nname = \"almaty\"\nregion = \"г.Алматы\"\n",
    );
    let file = dir.path().join("watches.toml");
    // The line of the config's watch, as written.
    let line = std::fs::read_to_string(dir.path().join("config.toml"))
        .unwrap()
        .lines()
        .position(|l| l == "name = \"almaty\"")
        .unwrap()
        + 1;
    let at = format!("config.toml:{line}");
    let (code, out, err) = watch(
        dir.path(),
        &[
            "add",
            "rudny",
            "--agency-bin",
            WATCHED_BIN,
            "--recipient",
            "telegram:-1001234567890",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("watch rudny added to"), "{out}");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(
        written.contains(&format!(
            "[[watch]]\nname = \"rudny\"\nagency_bin = \"{WATCHED_BIN}\"\nrecipients = [\"telegram:-1001234567890\"]"
        )),
        "{written}"
    );
    let (code, _, err) = watch(
        dir.path(),
        &["add", "smm", "--query", "продвижение в соцсетях"],
    );
    assert_eq!(code, Some(0), "{err}");

    // Both files' watches, each with where it is written.
    let (code, out, err) = watch(dir.path(), &["list"]);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("almaty\tregion = г.Алматы -> all recipients\t"));
    assert!(lines[0].ends_with(&at), "{out}");
    assert!(
        lines[1].starts_with("rudny\tagency_bin = 990240001234 -> telegram:-1001234567890\t"),
        "{out}"
    );
    assert!(lines[1].ends_with("watches.toml:6"), "{out}");
    assert!(lines[2].ends_with("watches.toml:11"), "{out}");
    let (_, json, _) = watch(dir.path(), &["list", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[2]["query"], "продвижение в соцсетях");
    assert_eq!(
        v[2]["recipients"],
        serde_json::json!([DESK, "telegram:-1001234567890"])
    );
    assert_eq!(v[0]["in_watch_file"], false);

    // Refusals leave the file as it was and say why.
    let before = std::fs::read(&file).unwrap();
    let taken = format!("is already written in {at}");
    let there = format!("is written in {at}, not in the watch file: remove it there");
    for (args, says) in [
        (
            vec!["add", "rudny", "--region", "x"],
            "watch \"rudny\" is already written in",
        ),
        (vec!["add", "almaty", "--region", "x"], taken.as_str()),
        (
            vec!["add", "short", "--supplier-bin", "1234"],
            "\"1234\" is not a BIN (12 digits)",
        ),
        (
            vec!["add", "who", "--code", "73", "--recipient", "nobody@x.kz"],
            "\"nobody@x.kz\" is none of the config's [[recipients]]",
        ),
        (vec!["remove", "almaty"], there.as_str()),
        (vec!["remove", "nothing"], "there is no watch \"nothing\""),
    ] {
        let (code, _, err) = watch(dir.path(), &args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let (code, _, err) = watch(dir.path(), &["add", "nothing-to-watch"]);
    assert_eq!(code, Some(2), "clap wants one thing to watch: {err}");
    assert_eq!(std::fs::read(&file).unwrap(), before);

    let (code, out, err) = watch(dir.path(), &["remove", "rudny"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("watch rudny removed"), "{out}");
    let (_, out, _) = watch(dir.path(), &["list"]);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(!out.contains("rudny"));
    let (code, out, _) = watch(dir.path(), &["--help"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("tenderscan watch add rudny-akimat --agency-bin"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_watch_file_is_an_error_naming_its_line_and_the_run_goes_on() {
    let server = MockServer::start().await;
    mount_portal(&server, 250_000.0).await;
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(&dir.path().join("maildir"));
    let tg_port = free_port();
    let _api = StandIn::start(tg_port, bot(|_, _| (200, OK.into(), false)));
    write_config(
        dir.path(),
        &server.uri(),
        smtp.port,
        tg_port,
        &format!(
            "[[watch]]\nname = \"Rudny akimat\"\nagency_bin = \"{WATCHED_BIN}\"\nrecipients = [\"{DESK}\"]\n"
        ),
    );
    std::fs::write(
        dir.path().join("watches.toml"),
        "[[watch]]\nname = \"other\"\nagency_bin = \"990240009999\"\n\n[[watch]]\nname = \"typo\"\nagency_bn = \"1\"\n",
    )
    .unwrap();
    let db = dir.path().join("t.db");
    let (code, stderr) = run(dir.path());
    assert_eq!(code, Some(1), "a partial run: {stderr}");
    assert!(stderr.contains("watches.toml:7"), "{stderr}");
    assert!(stderr.contains("agency_bn"), "{stderr}");
    // The config's watch still alerted; the broken file's did not.
    let mails = smtp.wait_for(1, Duration::from_secs(10));
    assert_eq!(mails.len(), 1);
    let text = parse_mime(&mails[0]).part("text/plain").to_string();
    assert!(text.contains("Канцелярские товары"), "{text}");
    assert!(!text.contains("Бумага офисная"), "{text}");
    let summary: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT status || ' ' || json_extract(summary, '$.watch_error') FROM runs ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(summary.starts_with("partial "), "{summary}");
    assert!(summary.contains("watches.toml:7"), "{summary}");
    // `watch list` refuses the broken file with the same place.
    let (code, _, err) = watch(dir.path(), &["list"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("watches.toml:7"), "{err}");
}
