//! Verdicts through the real binary (`tenderscan review`): a goszakup-shaped API on 127.0.0.1
//! (wiremock, the GraphQL v3 shape of the pipeline tests), the real SMTP test server, a real
//! SQLite file. A `false-positive` holds back a pending alert and quiets the notice's
//! `changed` alerts to the changes that matter (an amount, new matches); a `published`
//! flag's documents are fetched again on every change, even after its words are gone;
//! the history, the list, the errors, and the `false_positive_rate` report.

use crate::pipeline::{NURBOT_SPEC, PLAIN_SPEC, TOKEN, graphql_page, mount_empty_journal, trd_buy};
use crate::smtp::{SmtpServer, parse_mime};
use crate::util::{count, docx, tenderscan};
use std::path::Path;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const DESK: &str = "desk@newsroom.example";
/// `[serve] public_url` (written with a trailing slash).
const PUBLIC: &str = "https://tenders.newsroom.example";

/// One announcement of the portal: (id, title, amount, its specification's paragraphs).
/// Its specification is file `id - 900000 + 5000`.
type Tender<'a> = (i64, &'a str, f64, &'a [&'a str]);

fn file_of(id: i64) -> i64 {
    id - 900_000 + 5000
}

/// The portal as it now is (replacing what it said before).
async fn mount(server: &MockServer, tenders: &[Tender<'_>]) {
    server.reset().await;
    let uri = server.uri();
    let items = tenders
        .iter()
        .map(|(id, title, amount, _)| trd_buy(&uri, *id, title, *amount, file_of(*id)))
        .collect();
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(graphql_page(items))
        .mount(server)
        .await;
    mount_empty_journal(server).await;
    for (id, _, _, spec) in tenders {
        Mock::given(method("GET"))
            .and(path(format!("/files/download_file/{}/", file_of(*id))))
            .respond_with(ResponseTemplate::new(200).set_body_raw(docx(spec), DOCX))
            .mount(server)
            .await;
    }
}

/// How many times the portal was asked for notice `id`'s specification.
async fn spec_fetches(server: &MockServer, id: i64) -> usize {
    let p = format!("/files/download_file/{}/", file_of(id));
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == p)
        .count()
}

fn write_config(dir: &Path, url: &str, smtp_port: u16) {
    let cfg = format!(
        "[database]\npath = \"t.db\"\n\n[crawl]\ncontact = \"mailto:test@example.org\"\ntimeout_secs = 5\nmax_retries = 1\nbackoff_secs = 0.05\nrefused_backoff_secs = 0.05\n\n\
         [[sources]]\nname = \"goszakup\"\nkind = \"goszakup\"\ncontracts = false\nurl = \"{url}\"\ntoken_env = \"TEST_GOSZAKUP_TOKEN\"\nlookback_days = 3\nrequests_per_second = 1000.0\n\n\
         [mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {smtp_port}\nsecurity = \"none\"\nfrom = \"tenderscan <alerts@newsroom.example>\"\ntimeout_secs = 10\n\n\
         [serve]\npublic_url = \"{PUBLIC}/\"\n\n\
         [[recipients]]\nemail = \"{DESK}\"\nmin_severity = \"low\"\nlanguage = \"en\"\n"
    );
    std::fs::write(dir.join("config.toml"), cfg).unwrap();
}

/// `tenderscan ARGS`: (exit code, stdout, stderr).
fn ts(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = tenderscan(dir)
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .env("USER", "night-desk")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, out, err) = ts(dir, args);
    assert_eq!(code, Some(0), "{args:?}: {err}");
    out
}

/// The rules that flagged notice `external` (at least one).
fn rules_of(db: &Path, external: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT DISTINCT m.rule_id FROM matches m JOIN notices n ON n.id = m.notice_id
             WHERE n.external_id = ?1 ORDER BY 1",
        )
        .unwrap();
    let rules: Vec<String> = stmt
        .query_map([external], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!rules.is_empty(), "{external} is flagged");
    rules
}

fn text_of(mail: &Path) -> String {
    parse_mime(mail).part("text/plain").to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_false_positive_holds_its_alert_back_and_lets_only_amount_changes_and_new_matches_through()
 {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("t.db");
    let smtp = SmtpServer::start(&d.join("maildir"));
    write_config(d, &server.uri(), smtp.port);

    // 900001 is flagged and mailed.
    let first: Tender = (900001, "Информационные услуги", 1_300_000.0, NURBOT_SPEC);
    let plain: Tender = (900002, "Канцелярские товары", 250_000.0, PLAIN_SPEC);
    mount(&server, &[first, plain]).await;
    ok(d, &["run"]);
    let mails = smtp.wait_for(1, Duration::from_secs(10));
    assert_eq!(mails.len(), 1);
    // The card links to the newsroom's page of the notice (`[serve] public_url`).
    let id = count(&db, "SELECT id FROM notices WHERE external_id = '900001'");
    let text = text_of(&mails[0]);
    assert!(
        text.contains(&format!(
            "   On the newsroom's page: {PUBLIC}/notice/{id}\n"
        )),
        "{text}"
    );
    let html = parse_mime(&mails[0]).part("text/html").to_string();
    assert!(
        html.contains(&format!(
            "<a href=\"{PUBLIC}/notice/{id}\">On the newsroom&#39;s page</a></p>\n</div>"
        )),
        "{html}"
    );
    let rules = rules_of(&db, "900001");
    let rule = rules[0].clone();

    // A reviewer dismisses it (each rule's flag of it).
    for rule in &rules {
        let out = ok(
            d,
            &[
                "review",
                "900001-1",
                "--rule",
                rule,
                "false-positive",
                "--note",
                "a monitoring service, no accounts are made",
            ],
        );
        assert!(
            out.contains("false-positive by night-desk (1 verdict so far)"),
            "{out}"
        );
    }

    // A title edit: no mail, no alert queued.
    let retitled: Tender = (
        900001,
        "Информационные услуги (изм.)",
        1_300_000.0,
        NURBOT_SPEC,
    );
    mount(&server, &[retitled, plain]).await;
    ok(d, &["run"]);
    assert_eq!(
        count(
            &db,
            "SELECT version FROM notices WHERE external_id = '900001'"
        ),
        2,
        "the portal's edit was seen"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM alerts WHERE kind = 'changed'"),
        0
    );
    assert_eq!(smtp.messages().len(), 1, "no mail about a dismissed flag");

    // The amount changes: that matters, a `changed` alert comes.
    let cheaper: Tender = (
        900001,
        "Информационные услуги (изм.)",
        900_000.0,
        NURBOT_SPEC,
    );
    mount(&server, &[cheaper, plain]).await;
    ok(d, &["run"]);
    let mails = smtp.wait_for(2, Duration::from_secs(10));
    assert_eq!(mails.len(), 2);
    let text = text_of(&mails[1]);
    assert!(text.contains("CHANGED SINCE YOU WERE TOLD (1)"), "{text}");
    assert!(
        text.contains("the amount changed from 1 300 000 KZT to 900 000 KZT"),
        "{text}"
    );

    // New words of the dismissed rule in a new document: a `changed` alert too.
    let mut more = trd_buy(
        &server.uri(),
        900001,
        "Информационные услуги (изм.)",
        900_000.0,
        5001,
    );
    more["Lots"][0]["Files"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "id": 5101, "nameRu": "Приложение", "nameKz": null,
            "originalName": "annex_5101.docx",
            "filePath": format!("{}/files/download_file/5101/", server.uri()),
            "objectId": 9000010
        }));
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(graphql_page(vec![
            more,
            trd_buy(
                &server.uri(),
                900002,
                "Канцелярские товары",
                250_000.0,
                5002,
            ),
        ]))
        .mount(&server)
        .await;
    mount_empty_journal(&server).await;
    for (file, spec) in [
        (5001, NURBOT_SPEC),
        (5002, PLAIN_SPEC),
        (
            5101,
            &[
                "Приложение к технической спецификации",
                "Дополнительно: создание десяти фейковых аккаунтов для комментирования публикаций.",
            ][..],
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/files/download_file/{file}/")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(docx(spec), DOCX))
            .mount(&server)
            .await;
    }
    ok(d, &["run"]);
    assert!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM matches m JOIN documents d ON d.id = m.document_id
                 WHERE d.file_name = 'annex_5101.docx' AND m.rule_id = '{rule}'"
            )
        ) >= 1,
        "the rule found the new words"
    );
    let mails = smtp.wait_for(3, Duration::from_secs(10));
    assert_eq!(mails.len(), 3);
    let text = text_of(&mails[2]);
    assert!(text.contains("CHANGED SINCE YOU WERE TOLD (1)"), "{text}");
    assert!(
        text.contains("match added ") && text.contains("фейков"),
        "{text}"
    );

    // A flag dismissed before its digest went out is held back, and goes out once a later
    // verdict takes the dismissal back.
    let second: Tender = (900003, "Информационные услуги №3", 2_000_000.0, NURBOT_SPEC);
    mount(&server, &[cheaper, plain, second]).await;
    ok(d, &["crawl"]);
    let rules3 = rules_of(&db, "900003");
    assert_eq!(rules3, rules, "the same specification, the same rules");
    for rule in &rules3 {
        ok(
            d,
            &[
                "review",
                "900003-1",
                "--rule",
                rule,
                "false-positive",
                "--by",
                "aigul",
            ],
        );
    }
    ok(d, &["alert"]);
    let mails = smtp.messages();
    assert_eq!(
        mails.len(),
        3,
        "held back: {}",
        mails.get(3).map(|m| text_of(m)).unwrap_or_default()
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM alerts a JOIN notices n ON n.id = a.notice_id
             WHERE n.external_id = '900003' AND a.kind = 'match' AND a.status = 'pending'"
        ),
        rules.len() as i64,
        "they stay pending (an alert a rule)"
    );
    // `status` counts them apart: not waiting for the mail.
    let v: serde_json::Value =
        serde_json::from_str(&ok(d, &["status", "--format", "json"])).unwrap();
    let a = &v["undelivered_alerts"][0];
    assert_eq!(a["recipient"], DESK, "{v}");
    assert_eq!(
        (a["pending"].as_i64(), a["withheld"].as_i64()),
        (Some(0), Some(rules.len() as i64)),
        "{v}"
    );
    let text = ok(d, &["status"]);
    assert!(
        text.contains(&format!(
            "held back by a false-positive verdict {}",
            rules.len()
        )),
        "{text}"
    );
    ok(
        d,
        &[
            "review",
            "900003-1",
            "--rule",
            &rule,
            "confirmed",
            "--by",
            "erlan",
        ],
    );
    ok(d, &["alert"]);
    let mails = smtp.wait_for(4, Duration::from_secs(10));
    assert_eq!(mails.len(), 4);
    assert!(text_of(&mails[3]).contains("Информационные услуги №3"));
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM alerts a JOIN notices n ON n.id = a.notice_id
             WHERE n.external_id = '900003' AND a.kind = 'match' AND a.status = 'pending'"
        ),
        rules.len() as i64 - 1,
        "the other rules' flags are still dismissed"
    );

    // The history is kept; the list shows the current verdicts.
    let n = rules.len() as i64;
    assert_eq!(count(&db, "SELECT count(*) FROM verdicts"), 2 * n + 1);
    let list: serde_json::Value =
        serde_json::from_str(&ok(d, &["review", "--list", "--format", "json"])).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len() as i64, 2 * n, "{list:?}");
    let third = list
        .iter()
        .find(|r| r["notice_number"] == "900003-1" && r["rule_id"] == rule.as_str())
        .unwrap();
    assert_eq!(third["verdict"], "confirmed");
    assert_eq!(third["reviewed_by"], "erlan");
    assert_eq!(third["reviews"], 2);
    let fp: serde_json::Value = serde_json::from_str(&ok(
        d,
        &[
            "review",
            "--list",
            "--verdict",
            "false-positive",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(fp.as_array().unwrap().len() as i64, 2 * n - 1);
    let fp = fp
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["notice_number"] == "900001-1")
        .unwrap();
    assert_eq!(fp["note"], "a monitoring service, no accounts are made");
    assert_eq!(fp["reviewed_by"], "night-desk");
    let text = ok(d, &["review", "--list"]);
    assert!(
        text.contains("false-positive\tnight-desk\ta monitoring service"),
        "{text}"
    );

    // The report: of `rule`'s two reviewed flags one is dismissed now (900003's was taken
    // back); every other rule's are all dismissed.
    let rep: serde_json::Value = serde_json::from_str(&ok(
        d,
        &["report", "false_positive_rate", "--format", "json"],
    ))
    .unwrap();
    let rows = rep.as_array().unwrap();
    assert_eq!(rows.len(), rules.len(), "{rep}");
    for r in &rules {
        let row = rows.iter().find(|x| x["rule_id"] == r.as_str()).unwrap();
        assert_eq!(row["reviewed"].as_i64(), Some(2), "{row}");
        if *r == rule {
            assert_eq!(row["dismissed"].as_i64(), Some(1), "{row}");
            assert_eq!(row["false_positive_rate"].as_f64(), Some(0.5), "{row}");
        } else {
            assert_eq!(row["false_positive_rate"].as_f64(), Some(1.0), "{row}");
        }
    }
    let rep: serde_json::Value = serde_json::from_str(&ok(
        d,
        &[
            "report",
            "false_positive_rate",
            "--param",
            "min_reviewed=3",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(rep.as_array().map(Vec::len), Some(0), "{rep}");

    // `rules eval --from-reviews`: the dismissed words are clean cases the rules still flag.
    let (code, out, err) = ts(d, &["rules", "eval", "--from-reviews", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["clean"].as_i64().unwrap_or(0) >= 1, "{v}");
    assert!(v["false_flags"].as_i64().unwrap_or(0) >= 1, "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_published_flag_keeps_its_documents_watched_after_the_words_are_gone() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("t.db");
    let smtp = SmtpServer::start(&d.join("maildir"));
    write_config(d, &server.uri(), smtp.port);

    // Two flagged notices, mailed; a story runs on 900001. 900004, not reviewed, is the
    // control.
    let story: Tender = (900001, "Информационные услуги", 1_300_000.0, NURBOT_SPEC);
    let other: Tender = (900004, "Информационные услуги №2", 1_000_000.0, NURBOT_SPEC);
    mount(&server, &[story, other]).await;
    ok(d, &["run"]);
    assert_eq!(smtp.wait_for(1, Duration::from_secs(10)).len(), 1);
    for rule in rules_of(&db, "900001") {
        let out = ok(
            d,
            &[
                "review",
                "900001-1",
                "--rule",
                &rule,
                "published",
                "--note",
                "story of 2026-12-01",
            ],
        );
        assert!(out.contains(": published by night-desk"), "{out}");
    }

    // Both agencies quietly take the words out of their specifications (and edit the
    // title): both recipients hear that the phrase was removed.
    let quiet = |id, title: &'static str, amount| -> Tender { (id, title, amount, PLAIN_SPEC) };
    mount(
        &server,
        &[
            quiet(900001, "Информационные услуги (ред.)", 1_300_000.0),
            quiet(900004, "Информационные услуги №2 (ред.)", 1_000_000.0),
        ],
    )
    .await;
    ok(d, &["run"]);
    let mails = smtp.wait_for(2, Duration::from_secs(10));
    assert_eq!(mails.len(), 2);
    let text = text_of(&mails[1]);
    assert!(text.contains("CHANGED SINCE YOU WERE TOLD (2)"), "{text}");
    assert!(text.contains("was removed"), "{text}");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM matches WHERE retracted_at IS NULL"
        ),
        0,
        "no live match is left"
    );

    // Another edit of each: the published notice's specification is fetched again (it
    // could be quietly replaced once more); the control's, with no live match, is not.
    // (`mount` resets the portal's record of requests.)
    mount(
        &server,
        &[
            quiet(900001, "Информационные услуги (ред. 2)", 1_300_000.0),
            quiet(900004, "Информационные услуги №2 (ред. 2)", 1_000_000.0),
        ],
    )
    .await;
    ok(d, &["run"]);
    assert_eq!(
        spec_fetches(&server, 900001).await,
        1,
        "published: fetched again"
    );
    assert_eq!(
        spec_fetches(&server, 900004).await,
        0,
        "not published: not fetched"
    );
    // And the edit reaches the recipients of both, as any change of a flagged notice does.
    let mails = smtp.wait_for(3, Duration::from_secs(10));
    assert_eq!(mails.len(), 3);
    let text = text_of(&mails[2]);
    assert!(text.contains("(ред. 2)"), "{text}");
}

#[test]
fn review_names_what_it_cannot_find_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("config.toml"), "[database]\npath = \"t.db\"\n").unwrap();
    {
        let mut store = tenderscan::store::Store::open(&d.join("t.db")).unwrap();
        crate::alert::seed(&mut store, &crate::alert::tender("7001"), &[], false);
    }
    let (code, _, err) = ts(
        d,
        &["review", "424242", "--rule", "fake-accounts", "confirmed"],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no notice \"424242\""), "{err}");
    let (code, _, err) = ts(
        d,
        &["review", "7001-1", "--rule", "paid-comments", "confirmed"],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(
            "notice 7001-1 was never flagged by rule \"paid-comments\" (its flags: fake-accounts)"
        ),
        "{err}"
    );
    let (code, _, err) = ts(d, &["review", "7001-1", "--rule", "fake-accounts", "maybe"]);
    assert_eq!(code, Some(2), "{err}");
    // A hostile note is kept exactly and shown without its control characters.
    ok(
        d,
        &[
            "review",
            "7001-1",
            "--rule",
            "fake-accounts",
            "watching",
            "--note",
            "ask\x1b[31m the akimat",
        ],
    );
    let text = ok(d, &["review", "--list"]);
    assert!(
        !text.contains('\x1b') && text.contains("watching"),
        "{text:?}"
    );
    assert_eq!(
        count(
            &d.join("t.db"),
            "SELECT count(*) FROM verdicts WHERE note = 'ask' || char(27) || '[31m the akimat'"
        ),
        1
    );
    // No name: neither --by nor $USER.
    let out = tenderscan(d)
        .env_remove("USER")
        .args(["review", "7001-1", "--rule", "fake-accounts", "confirmed"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--by NAME"));
}
