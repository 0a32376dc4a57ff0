//! Evidence and notice history through the real binary: a goszakup-shaped API on
//! 127.0.0.1 whose answers change between runs (an edited technical specification, a
//! notice that vanishes), the evidence folder beside the database, `show`, `verify`, and
//! retention.

use crate::smtp::parse_mime;
use crate::util::{count, docx, tenderscan};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

const NURBOT_SPEC: &[&str] = &[
    "Техническая спецификация",
    "Оказание информационных услуг по продвижению деятельности акимата в социальных сетях.",
    "Создание четырех фейковых аккаунтов для комментирования публикаций акимата.",
];

/// The same assignment after the agency's quiet edit: the fake accounts are gone.
const EDITED_SPEC: &[&str] = &[
    "Техническая спецификация",
    "Оказание информационных услуг: публикация новостей акимата на официальном сайте.",
];

/// Another fake-opinion order (file 5004).
const NURBOT_SPEC_2: &[&str] = &[
    "Техническая спецификация",
    "Ведение аккаунтов в социальных сетях и написание положительных отзывов от имени жителей.",
    "Создание десяти фейковых аккаунтов для комментирования публикаций.",
];

const PLAIN_SPEC: &[&str] = &[
    "Техническая спецификация",
    "Поставка канцелярских товаров: бумага офисная А4, 40 пачек.",
];

/// One announcement with one lot whose technical specification is file `file_id`.
fn trd_buy(server: &str, id: i64, title: &str, amount: f64, file_id: i64) -> Value {
    json!({
        "id": id,
        "numberAnno": format!("{id}-1"),
        "nameRu": title,
        "totalSum": amount,
        "refTradeMethodsId": 3,
        "orgBin": "990240001234",
        "orgNameRu": "ГУ «Аппарат акима города Рудного»",
        "refBuyStatusId": 220,
        "publishDate": "2026-11-20 10:00:00",
        "endDate": "2026-11-30 18:00:00",
        "RefBuyStatus": {"id": 220, "nameRu": "Опубликовано (прием заявок)", "code": "220"},
        "Files": [],
        "Lots": [{
            "id": id * 10,
            "lotNumber": format!("{}-ЗЦП1", id * 10),
            "nameRu": "Информационные услуги",
            "amount": amount,
            "count": 1,
            "refLotStatusId": 240,
            "RefLotsStatus": {"id": 240, "nameRu": "Опубликован (прием заявок)", "code": "240"},
            "Files": [{
                "id": file_id,
                "nameRu": "Техническая спецификация",
                "originalName": format!("techspec_{file_id}.docx"),
                "filePath": format!("{server}/files/download_file/{file_id}/"),
                "objectId": id * 10
            }]
        }]
    })
}

fn graphql(items: Vec<Value>) -> ResponseTemplate {
    let body = json!({
        "data": {"TrdBuy": items},
        "extensions": {"pageInfo": {"limitPage": 50, "totalCount": 2, "hasNextPage": false, "lastId": null}}
    });
    ResponseTemplate::new(200).set_body_raw(body.to_string().into_bytes(), "application/json")
}

/// (Re)mount the portal: the listing answers `listing`, a query by id for 900001 answers
/// `by_id`, files 5001-5003 are served (5001 with the nurbot specification).
async fn mount(server: &MockServer, listing: Vec<Value>, by_id: Vec<Value>) {
    mount_with(server, listing, by_id, NURBOT_SPEC).await
}

/// [`mount`], with `spec_5001` served as file 5001.
async fn mount_with(
    server: &MockServer,
    listing: Vec<Value>,
    by_id: Vec<Value>,
    spec_5001: &[&str],
) {
    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .and(body_partial_json(
            json!({"variables": {"filter": {"id": 900001}}}),
        ))
        .respond_with(graphql(by_id))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(graphql(listing))
        .mount(server)
        .await;
    crate::pipeline::mount_empty_journal(server).await;
    for (id, paras) in [
        (5001, spec_5001),
        (5002, PLAIN_SPEC),
        (5003, EDITED_SPEC),
        (5004, NURBOT_SPEC_2),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/files/download_file/{id}/")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(
                docx(paras),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ))
            .mount(server)
            .await;
    }
}

/// The first state of the portal: a nurbot tender (900001, spec 5001) and stationery
/// (900002, spec 5002).
fn first_listing(uri: &str) -> Vec<Value> {
    vec![
        trd_buy(uri, 900001, "Информационные услуги", 1_300_000.0, 5001),
        trd_buy(uri, 900002, "Канцелярские товары", 250_000.0, 5002),
    ]
}

/// A config whose evidence is kept a file per payload (`[evidence] store = "files"`): the
/// tests that open, flip and delete single files are about that layout, which databases
/// kept before packs still read; [`write_config_store`] picks the store.
fn write_config(dir: &Path, url: &str, keep_days: u32) {
    write_config_with(dir, url, keep_days, "")
}

/// [`write_config`] with more `[mail]` lines (`admin = ...`).
fn write_config_with(dir: &Path, url: &str, keep_days: u32, mail: &str) {
    write_config_full(dir, url, keep_days, mail, "files")
}

/// [`write_config`] with `[evidence] store = "<store>"`.
fn write_config_store(dir: &Path, url: &str, keep_days: u32, store: &str) {
    write_config_full(dir, url, keep_days, "", store)
}

fn write_config_full(dir: &Path, url: &str, keep_days: u32, mail: &str, store: &str) {
    let cfg = format!(
        "[database]\npath = \"t.db\"\n\n[crawl]\ncontact = \"mailto:test@example.org\"\ntimeout_secs = 5\nmax_retries = 1\nbackoff_secs = 0.05\nrefused_backoff_secs = 0.05\n\n\
         [[sources]]\nname = \"goszakup\"\nkind = \"goszakup\"\ncontracts = false\nurl = \"{url}\"\ntoken_env = \"TEST_GOSZAKUP_TOKEN\"\nlookback_days = 3\nrequests_per_second = 1000.0\n\n\
         [evidence]\nkeep_days = {keep_days}\nrecheck_days = 7\nstore = \"{store}\"\n\n\
         [mail]\nfrom = \"tenderscan <alerts@example.org>\"\ndry_run_dir = \"outbox\"\n{mail}\n\
         [[recipients]]\nemail = \"desk@example.org\"\nmin_severity = \"medium\"\nlanguage = \"en\"\n"
    );
    std::fs::write(dir.join("config.toml"), cfg).unwrap();
}

fn run_output(dir: &Path) -> std::process::Output {
    tenderscan(dir)
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .output()
        .unwrap()
}

fn run(dir: &Path) {
    let out = run_output(dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn emls(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir.join("outbox")) {
        Ok(rd) => rd
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Every file under the evidence folder, sorted.
fn evidence_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        if let Ok(rd) = std::fs::read_dir(p) {
            for e in rd {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(&dir.join("t.evidence"), &mut out);
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edited_specification_is_a_new_version_and_one_changed_alert() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount(&server, first_listing(&uri), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    write_config(dir.path(), &uri, 365);
    run(dir.path());
    assert_eq!(emls(dir.path()).len(), 1, "the match digest");
    let flagged = "SELECT id FROM notices WHERE number = '900001-1'";
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM matches WHERE retracted_at IS NULL AND severity = 'high' AND notice_id = ({flagged})"
            )
        ),
        1
    );

    // The agency swaps the specification for one without the fake accounts.
    let mut edited = first_listing(&uri);
    edited[0] = trd_buy(&uri, 900001, "Информационные услуги", 1_300_000.0, 5003);
    mount(&server, edited, vec![]).await;
    run(dir.path());

    // Two versions; the second names the documents swapped.
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM notice_versions WHERE notice_id = ({flagged})")
        ),
        2
    );
    let changes: Value = serde_json::from_str(
        &crate::util::query_strings(
            &db,
            &format!(
                "SELECT changes FROM notice_versions WHERE version = 2 AND notice_id = ({flagged})"
            ),
        )[0],
    )
    .unwrap();
    assert!(
        changes.as_array().unwrap().contains(
            &json!({"field": "document", "change": "removed", "name": "techspec_5001.docx"})
        ),
        "{changes}"
    );
    assert!(
        changes.as_array().unwrap().contains(
            &json!({"field": "document", "change": "added", "name": "techspec_5003.docx"})
        ),
        "{changes}"
    );
    // The old specification is no longer read: its match is retracted, nothing else flagged.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE file_name = 'techspec_5001.docx' AND removed_at IS NOT NULL"
        ),
        1
    );
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM matches WHERE retracted_at IS NULL AND severity <> 'low' AND notice_id = ({flagged})"
            )
        ),
        0
    );
    // Exactly one changed alert, sent, naming the removed phrase.
    assert_eq!(
        count(&db, "SELECT count(*) FROM alerts WHERE kind = 'changed'"),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM alerts WHERE kind = 'changed' AND status = 'sent' AND recipient = 'desk@example.org'"
        ),
        1
    );
    let payload: Value = serde_json::from_str(
        &crate::util::query_strings(&db, "SELECT payload FROM alerts WHERE kind = 'changed'")[0],
    )
    .unwrap();
    let types: Vec<&str> = payload["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["changed", "phrase_removed"], "{payload}");
    let removed = &payload["events"][1];
    assert_eq!(removed["place"], "technical_specification");
    assert!(
        removed["phrase"]
            .as_str()
            .unwrap()
            .contains("фейковых аккаунтов"),
        "{removed}"
    );
    // The second digest carries it, in its own section, in both parts.
    let files = emls(dir.path());
    assert_eq!(files.len(), 2, "{files:?}");
    let m = parse_mime(&files[1]);
    let text = m.part("text/plain");
    assert!(
        text.contains("== CHANGED SINCE YOU WERE TOLD (1) =="),
        "{text}"
    );
    // the day in words, in Almaty (where the digest's reader is)
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Almaty)
        .format("%-d %B %Y")
        .to_string();
    assert!(
        text.contains(&format!(
            "the phrase 'фейковых аккаунтов' was removed from the technical specification (techspec_5001.docx) on {today}"
        )),
        "{text}"
    );
    assert!(
        text.contains("the document «techspec_5001.docx» removed"),
        "{text}"
    );
    let html = m.part("text/html");
    assert!(
        html.contains("the phrase &#39;фейковых аккаунтов&#39; was removed"),
        "{html}"
    );
    assert!(
        !text.contains("== HIGH"),
        "no new match in this digest: {text}"
    );

    // A third run with nothing new mails nothing.
    run(dir.path());
    assert_eq!(emls(dir.path()).len(), 2);

    // `show` tells the story, with the evidence files.
    let out = tenderscan(dir.path())
        .args(["show", "900001-1", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["number"], "900001-1");
    assert_eq!(v["agency_bin"], "990240001234");
    assert_eq!(v["versions"].as_array().unwrap().len(), 2);
    assert_eq!(v["documents"].as_array().unwrap().len(), 2);
    let m0 = &v["matches"].as_array().unwrap()[0];
    assert!(m0["retracted_at"].is_string(), "{m0}");
    assert!(m0["phrase"].as_str().unwrap().contains("фейковых"), "{m0}");
    let ev = v["evidence"].as_array().unwrap();
    // Two versions of the API payload and two specifications.
    assert_eq!(
        ev.iter().filter(|e| e["kind"] == "notice").count(),
        2,
        "{ev:?}"
    );
    assert_eq!(ev.iter().filter(|e| e["kind"] == "document").count(), 2);
    for e in ev {
        assert_eq!(e["present"], true, "{e}");
        let p = PathBuf::from(e["path"].as_str().unwrap());
        assert!(p.starts_with(dir.path().join("t.evidence")), "{p:?}");
        let bytes = zstd::stream::decode_all(std::fs::File::open(&p).unwrap()).unwrap();
        assert_eq!(
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
            e["sha256"].as_str().unwrap()
        );
    }
    let spec = ev
        .iter()
        .find(|e| e["url"].as_str().unwrap().ends_with("/5001/"))
        .unwrap();
    assert_eq!(spec["http_status"], 200);
    // The old specification as the portal served it, byte for byte.
    let old =
        zstd::stream::decode_all(std::fs::File::open(spec["path"].as_str().unwrap()).unwrap())
            .unwrap();
    assert_eq!(old, docx(NURBOT_SPEC));
    let text = tenderscan(dir.path())
        .args(["show", "900001-1"])
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("REMOVED"), "{text}");
    assert!(text.contains("RETRACTED"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_specification_replaced_under_the_same_url_is_fetched_again_and_told() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount(&server, first_listing(&uri), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    write_config(dir.path(), &uri, 365);
    run(dir.path());
    // Same file id and URL, new content; the deadline moves (the announcement changes).
    let mut edited = first_listing(&uri);
    edited[0]["endDate"] = json!("2026-12-07 18:00:00");
    edited[1]["endDate"] = json!("2026-12-07 18:00:00");
    mount_with(&server, edited, vec![], EDITED_SPEC).await;
    run(dir.path());
    let fetched: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_string())
        .filter(|p| p.starts_with("/files/"))
        .collect();
    // Only the flagged notice's attachment is fetched again, not the stationery's.
    assert_eq!(fetched, ["/files/download_file/5001/"]);
    let changes = crate::util::query_strings(
        &db,
        "SELECT v.changes FROM notice_versions v JOIN notices n ON n.id = v.notice_id
         WHERE n.number = '900001-1' AND v.version = 2",
    );
    assert!(
        changes[0].contains(r#""field":"deadline""#) && changes[0].contains("2026-12-07 18:00:00"),
        "{changes:?}"
    );
    // Both contents of the one URL are kept.
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT sha256) FROM evidence WHERE url LIKE '%/5001/'"
        ),
        2
    );
    let payload: Value = serde_json::from_str(
        &crate::util::query_strings(&db, "SELECT payload FROM alerts WHERE kind = 'changed'")[0],
    )
    .unwrap();
    assert_eq!(
        count(&db, "SELECT count(*) FROM alerts WHERE kind = 'changed'"),
        1
    );
    let removed: Vec<&Value> = payload["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "phrase_removed")
        .collect();
    assert_eq!(removed.len(), 1, "{payload}");
    assert_eq!(removed[0]["phrase"], "фейковых аккаунтов");
    let files = emls(dir.path());
    assert_eq!(files.len(), 2);
    let text = parse_mime(&files[1]).part("text/plain").to_string();
    assert!(
        text.contains("the deadline changed from 30 November 2026 18:00 to 7 December 2026 18:00"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flagged_notice_that_vanishes_is_marked_gone_and_told_once() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount(&server, first_listing(&uri), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    write_config(dir.path(), &uri, 365);
    run(dir.path());
    // Eight days later the crawl has not met it again, and the portal no longer has it.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE notices SET last_seen_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-8 days')",
            [],
        )
        .unwrap();
    mount(&server, vec![], vec![]).await;
    run(dir.path());
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM notices WHERE gone_at IS NOT NULL AND number = '900001-1'"
        ),
        1
    );
    // Only flagged notices are asked for: the stationery is left alone.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM notices WHERE gone_at IS NOT NULL"
        ),
        1
    );
    let asked = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("\"id\":900001"))
        .count();
    assert_eq!(asked, 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM alerts WHERE kind = 'changed' AND status = 'sent'"
        ),
        1
    );
    let files = emls(dir.path());
    assert_eq!(files.len(), 2);
    let text = parse_mime(&files[1]).part("text/plain").to_string();
    assert!(text.contains("disappeared from the portal on"), "{text}");
    // Told once: the next run neither asks again nor mails.
    run(dir.path());
    assert_eq!(emls(dir.path()).len(), 2);
    // Seen again, it is no longer gone.
    mount(&server, first_listing(&uri), vec![]).await;
    run(dir.path());
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM notices WHERE gone_at IS NOT NULL"
        ),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_finds_a_flipped_byte_and_a_missing_file() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount(&server, first_listing(&uri), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &uri, 365);
    run(dir.path());
    let files = evidence_files(dir.path());
    assert_eq!(
        files.len(),
        3,
        "the listing page (one answer for both notices) and two attachments: {files:?}"
    );
    let ok = tenderscan(dir.path()).arg("verify").output().unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let text = String::from_utf8_lossy(&ok.stdout);
    assert!(text.contains("3 ok, 0 corrupt, 0 missing"), "{text}");
    assert!(
        text.contains("0 notices and 0 documents without the evidence they should have"),
        "{text}"
    );

    // Flip one byte in the middle of one file; delete another.
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&files[0], bytes).unwrap();
    std::fs::remove_file(&files[1]).unwrap();
    // And a well-formed file with other content under a payload's name.
    std::fs::write(&files[2], zstd::bulk::compress(b"forged", 3).unwrap()).unwrap();
    let bad = tenderscan(dir.path())
        .args(["verify", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let r: Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(r["ok"], 0);
    assert_eq!(r["corrupt"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(r["corrupt"][0]["path"], json!(files[0]));
    assert_eq!(r["corrupt"][1]["path"], json!(files[2]));
    let forged = r["corrupt"][1]["detail"].as_str().unwrap();
    assert!(forged.starts_with("content hashes to "), "{forged}");
    assert_eq!(r["missing"][0]["path"], json!(files[1]));
    let text = tenderscan(dir.path()).arg("verify").output().unwrap();
    assert_eq!(text.status.code(), Some(1));
    tenderscan(dir.path())
        .args(["show", "no-such-notice"])
        .assert()
        .code(2);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("CORRUPT"), "{text}");
    assert!(text.contains("MISSING"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_payload_fetched_again_is_stored_once() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount(&server, first_listing(&uri), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    write_config(dir.path(), &uri, 365);
    run(dir.path());
    let files = evidence_files(dir.path());
    let sizes: Vec<u64> = files.iter().map(|f| f.metadata().unwrap().len()).collect();
    let rows = count(&db, "SELECT count(*) FROM evidence");
    assert_eq!(rows, 4);
    run(dir.path());
    // The unchanged notices cost no new file and no new row, only a fetch counted.
    assert_eq!(evidence_files(dir.path()), files);
    let again: Vec<u64> = files.iter().map(|f| f.metadata().unwrap().len()).collect();
    assert_eq!(again, sizes);
    assert_eq!(count(&db, "SELECT count(*) FROM evidence"), rows);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM evidence WHERE kind = 'notice' AND fetch_count = 2"
        ),
        2
    );
    // Attachments of unchanged notices are not fetched again at all.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM evidence WHERE kind = 'document' AND fetch_count = 1"
        ),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_removes_old_unflagged_payloads_and_keeps_flagged_ones() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount(&server, first_listing(&uri), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    write_config(dir.path(), &uri, 30);
    run(dir.path());
    assert_eq!(evidence_files(dir.path()).len(), 3);
    let plain = crate::util::query_strings(
        &db,
        "SELECT e.sha256 FROM evidence e JOIN notices n ON n.id = e.notice_id WHERE n.number = '900002-1' ORDER BY e.sha256",
    );
    let flagged = crate::util::query_strings(
        &db,
        "SELECT e.sha256 FROM evidence e JOIN notices n ON n.id = e.notice_id WHERE n.number = '900001-1' ORDER BY e.sha256",
    );
    assert_eq!((plain.len(), flagged.len()), (2, 2));
    // Everything was fetched 40 days ago; the portal has nothing new since.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "UPDATE evidence SET first_fetched_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-40 days'),
                                 last_fetched_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-40 days')",
            [],
        )
        .unwrap();
    // (First seen and read then; last seen now, so that no re-check asks for the flagged one.)
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(
            "UPDATE notices SET last_seen_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),
                                first_seen_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-40 days');
             UPDATE documents SET fetched_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-40 days');",
        )
        .unwrap();
    mount(&server, vec![], vec![]).await;
    run(dir.path());
    let left = crate::util::query_strings(&db, "SELECT sha256 FROM evidence ORDER BY sha256");
    assert_eq!(left, flagged, "the flagged notice's evidence stays");
    let files = evidence_files(dir.path());
    assert_eq!(files.len(), 2);
    // The plain notice's attachment goes; the listing page both came in stays, for the
    // flagged one.
    for sha in plain.iter().filter(|s| !flagged.contains(s)) {
        assert!(
            !files
                .iter()
                .any(|f| f.to_string_lossy().contains(sha.as_str())),
            "{sha} removed"
        );
    }
    for sha in &flagged {
        assert!(
            files
                .iter()
                .any(|f| f.to_string_lossy().contains(sha.as_str()))
        );
    }
    tenderscan(dir.path()).arg("verify").assert().code(0);
}

/// The `.eml` files for one recipient.
fn emls_to(dir: &Path, who: &str) -> Vec<PathBuf> {
    emls(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(&format!("-{who}.eml")))
        .collect()
}

fn verify_json(dir: &Path) -> (Option<i32>, Value) {
    let out = tenderscan(dir)
        .args(["verify", "--format", "json"])
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), v)
}

/// The status of the last run.
fn last_status(db: &Path) -> String {
    crate::util::query_strings(db, "SELECT status FROM runs ORDER BY id DESC LIMIT 1").remove(0)
}

/// An evidence disk that cannot take anything (its folder is not there; a file stands where
/// it must be, as when the disk is not mounted): the run stores and mails what it read, but
/// exits 1 as `partial`, does not move the cursor past the page, marks what lacks evidence,
/// and tells the admin; `verify` lists it; once the disk is back the next run keeps it all.
#[tokio::test(flavor = "multi_thread")]
async fn an_evidence_disk_that_takes_nothing_fails_the_run_and_the_next_run_keeps_it() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let by_id = vec![first_listing(&uri).remove(0)];
    mount(&server, first_listing(&uri), by_id.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    write_config_with(dir.path(), &uri, 365, "admin = \"ops@example.org\"\n");
    run(dir.path());
    let cursor = crate::util::query_strings(&db, "SELECT cursor FROM sources");
    assert_eq!(emls_to(dir.path(), "desk@example.org").len(), 1);

    // A new fake-opinion tender is published while the evidence disk is gone.
    let mut listing = first_listing(&uri);
    listing.push(trd_buy(&uri, 900003, "Услуги SMM", 900_000.0, 5004));
    mount(&server, listing, by_id).await;
    let folder = dir.path().join("t.evidence");
    let offline = dir.path().join("t.evidence.offline");
    std::fs::rename(&folder, &offline).unwrap();
    std::fs::write(&folder, b"").unwrap();
    let out = run_output(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("evidence not kept"), "{stderr}");
    assert!(
        stderr.contains("the cursor stays before the page"),
        "{stderr}"
    );
    assert_eq!(last_status(&db), "partial");
    assert_eq!(
        crate::util::query_strings(&db, "SELECT cursor FROM sources"),
        cursor,
        "the cursor did not pass the page"
    );
    // What was read is stored, read and mailed all the same: no fault holds the alerts back.
    assert_eq!(count(&db, "SELECT count(*) FROM notices"), 3);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM notices WHERE evidence_missing_at IS NOT NULL"
        ),
        3,
        "the page carried all three"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE url LIKE '%/5004/' AND text LIKE '%фейковых%'
               AND fetched_at IS NULL AND evidence_missing_at IS NOT NULL"
        ),
        1,
        "read, but pending until its bytes are kept"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM evidence WHERE url LIKE '%/5004/'"
        ),
        0
    );
    assert_eq!(emls_to(dir.path(), "desk@example.org").len(), 2);
    let told = emls_to(dir.path(), "ops@example.org");
    assert_eq!(told.len(), 1, "the admin is told");
    let m = parse_mime(&told[0]);
    assert_eq!(
        m.header("Subject"),
        Some("tenderscan operator: evidence not kept for 3 notices and 1 documents")
    );
    // While the disk is gone, verify says what lacks evidence (and that the files are gone).
    let (code, v) = verify_json(dir.path());
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["missing"].as_array().unwrap().len(), 3, "{v}");
    assert_eq!(
        (
            v["notices_without_evidence"].as_i64(),
            v["documents_without_evidence"].as_i64()
        ),
        (Some(3), Some(1)),
        "{v}"
    );

    // The disk is back: verify still lists what the failed run could not keep.
    std::fs::remove_file(&folder).unwrap();
    std::fs::rename(&offline, &folder).unwrap();
    let (code, v) = verify_json(dir.path());
    assert_eq!(code, Some(1), "{v}");
    assert!(v["missing"].as_array().unwrap().is_empty(), "{v}");
    let gaps = v["without_evidence"].as_array().unwrap();
    assert_eq!(gaps.len(), 4, "{v}");
    assert!(
        gaps.iter()
            .any(|g| g["kind"] == "document" && g["notice"] == "900003-1"),
        "{v}"
    );
    assert!(gaps.iter().all(|g| g["missing_since"].is_string()), "{v}");
    let text = tenderscan(dir.path()).arg("verify").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("NO EVIDENCE notice 900003-1"), "{text}");

    // The next run fetches the page again and keeps everything.
    run(dir.path());
    assert_eq!(last_status(&db), "ok");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM notices n WHERE evidence_missing_at IS NOT NULL
               OR NOT EXISTS (SELECT 1 FROM evidence e WHERE e.notice_id = n.id AND e.kind = 'notice')"
        ),
        0
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents d WHERE d.fetched_at IS NULL OR d.evidence_missing_at IS NOT NULL
               OR NOT EXISTS (SELECT 1 FROM evidence e WHERE e.document_id = d.id AND e.sha256 = d.sha256)"
        ),
        0
    );
    // Every flagged notice has its payload and its specification.
    assert_eq!(
        count(
            &db,
            "SELECT count(DISTINCT m.notice_id) FROM matches m WHERE severity = 'high'
               AND EXISTS (SELECT 1 FROM evidence e WHERE e.notice_id = m.notice_id AND e.kind = 'notice')
               AND EXISTS (SELECT 1 FROM evidence e WHERE e.notice_id = m.notice_id AND e.kind = 'document')"
        ),
        2
    );
    let spec = crate::util::query_strings(
        &db,
        "SELECT e.sha256 FROM evidence e WHERE e.url LIKE '%/5004/'",
    );
    let kept = zstd::stream::decode_all(
        std::fs::File::open(folder.join(&spec[0][..2]).join(format!("{}.zst", spec[0]))).unwrap(),
    )
    .unwrap();
    assert_eq!(kept, docx(NURBOT_SPEC_2));
    let (code, v) = verify_json(dir.path());
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["notices_without_evidence"], 0);
    // Nobody is mailed twice; the admin is not told again.
    assert_eq!(emls_to(dir.path(), "desk@example.org").len(), 2);
    assert_eq!(emls_to(dir.path(), "ops@example.org").len(), 1);
}

/// The notice payload kept is the portal's answer byte for byte: keys in the portal's
/// order, its whitespace and number forms, an escaped letter left escaped (serde would
/// re-sort, re-space and unescape all of them).
#[tokio::test(flavor = "multi_thread")]
async fn the_payload_kept_is_the_answer_byte_for_byte() {
    let server = MockServer::start().await;
    let body = concat!(
        "{\n  \"extensions\" : { \"pageInfo\": {\"hasNextPage\": false, \"lastId\": null} },\n",
        "  \"data\": {\"TrdBuy\": [\n",
        "    {\"numberAnno\": \"900001-1\",   \"id\": 900001, \"nameRu\": \"\\u0423слуги SMM\",\n",
        "     \"totalSum\": 1300000.00, \"refBuyStatusId\": 220, \"orgBin\": \"990240001234\",\n",
        "     \"orgNameRu\": \"ГУ «Аппарат акима»\", \"publishDate\": \"2026-11-20 10:00:00\",\n",
        "     \"RefBuyStatus\": {\"nameRu\": \"Опубликовано\", \"id\": 220, \"code\": \"220\"},\n",
        "     \"Files\": [], \"Lots\": []}\n",
        "  ]}\n}\n"
    );
    let reserialised = serde_json::to_vec(&serde_json::from_str::<Value>(body).unwrap()).unwrap();
    assert_ne!(reserialised, body.as_bytes());
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body.as_bytes().to_vec(), "application/json; charset=utf-8"),
        )
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
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &server.uri(), 365);
    run(dir.path());
    let out = tenderscan(dir.path())
        .args(["show", "900001-1", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["title"], "Услуги SMM");
    let ev = v["evidence"].as_array().unwrap();
    assert_eq!(ev.len(), 1, "{ev:?}");
    let e = &ev[0];
    assert_eq!(e["kind"], "notice");
    assert_eq!(
        e["url"], "https://goszakup.gov.kz/ru/announce/index/900001",
        "the notice's page"
    );
    assert_eq!(e["fetched_url"], format!("{}/v3/graphql", server.uri()));
    assert_eq!(e["http_status"], 200);
    assert_eq!(e["media_type"], "application/json; charset=utf-8");
    assert_eq!(e["size"], body.len());
    let kept = zstd::stream::decode_all(std::fs::File::open(e["path"].as_str().unwrap()).unwrap())
        .unwrap();
    assert_eq!(String::from_utf8(kept).unwrap(), body);
    assert_eq!(
        e["sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()))
    );
}

/// A deleted evidence folder is created again, with a warning on stderr (cron mails it);
/// what the run fetches again is kept again, and `verify` names the files that were lost.
#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_evidence_folder_is_created_again_with_a_warning() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount(&server, first_listing(&uri), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    write_config(dir.path(), &uri, 365);
    run(dir.path());
    let folder = dir.path().join("t.evidence");
    std::fs::remove_dir_all(&folder).unwrap();
    let out = run_output(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("WARN"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the evidence folder {} was missing",
            folder.display()
        )) && stderr.contains("created again"),
        "{stderr}"
    );
    assert!(folder.is_dir());
    // The listing was fetched again and kept again; the attachments (not fetched again)
    // are gone, and verify says so.
    let (code, v) = verify_json(dir.path());
    assert_eq!(code, Some(1), "{v}");
    let missing: Vec<String> = v["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["sha256"].as_str().unwrap().to_string())
        .collect();
    let mut docs = crate::util::query_strings(
        &db,
        "SELECT sha256 FROM evidence WHERE kind = 'document' ORDER BY sha256",
    );
    docs.sort();
    assert_eq!(missing, docs, "{v}");
    assert_eq!(v["ok"], 1, "{v}");
}

/// An attachment whose bytes cannot be kept (here a folder stands where its file must go):
/// it is read and its alert goes out, the run exits 1, the document stays pending and
/// `verify` names it; the next run fetches it again and keeps it, without mailing twice.
#[tokio::test(flavor = "multi_thread")]
async fn an_attachment_that_cannot_be_kept_is_read_now_and_kept_by_the_next_run() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount(&server, first_listing(&uri), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    write_config(dir.path(), &uri, 365);
    let spec = docx(NURBOT_SPEC);
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&spec));
    let blocker = dir
        .path()
        .join("t.evidence")
        .join(&sha[..2])
        .join(format!("{sha}.zst"));
    std::fs::create_dir_all(&blocker).unwrap();
    let out = run_output(dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("attachment") && stderr.contains("/5001/ not kept"),
        "{stderr}"
    );
    assert_eq!(last_status(&db), "partial");
    assert_eq!(emls(dir.path()).len(), 1, "the alert is not held back");
    let pending =
        "SELECT count(*) FROM documents WHERE url LIKE '%/5001/' AND text LIKE '%фейковых%'
                     AND fetched_at IS NULL AND evidence_missing_at IS NOT NULL";
    assert_eq!(count(&db, pending), 1);
    // The page itself was kept: its notices are whole and the cursor moved.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM notices WHERE evidence_missing_at IS NOT NULL"
        ),
        0
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM sources WHERE cursor IS NOT NULL"),
        1
    );
    let (code, v) = verify_json(dir.path());
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(
        (
            v["notices_without_evidence"].as_i64(),
            v["documents_without_evidence"].as_i64()
        ),
        (Some(0), Some(1)),
        "{v}"
    );
    assert_eq!(v["without_evidence"][0]["notice"], "900001-1");

    std::fs::remove_dir(&blocker).unwrap();
    let fetched = |reqs: &[wiremock::Request]| {
        reqs.iter()
            .filter(|r| r.url.path() == "/files/download_file/5001/")
            .count()
    };
    let before = fetched(&server.received_requests().await.unwrap());
    run(dir.path());
    assert_eq!(
        fetched(&server.received_requests().await.unwrap()),
        before + 1,
        "fetched again once"
    );
    assert_eq!(count(&db, pending), 0);
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM evidence e JOIN documents d ON d.id = e.document_id
                 WHERE e.sha256 = '{sha}' AND d.sha256 = '{sha}' AND d.fetched_at IS NOT NULL"
            )
        ),
        1
    );
    assert_eq!(
        zstd::stream::decode_all(std::fs::File::open(&blocker).unwrap()).unwrap(),
        spec
    );
    assert_eq!(verify_json(dir.path()).0, Some(0));
    assert_eq!(emls(dir.path()).len(), 1, "nobody is mailed twice");
}

/// A response held until the test opens it (waiting at most a minute, so that a failed
/// test never blocks the shared server for good).
struct Gate {
    arrived: std::sync::Arc<std::sync::atomic::AtomicBool>,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    response: ResponseTemplate,
}

impl wiremock::Respond for Gate {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        use std::sync::atomic::Ordering::SeqCst;
        self.arrived.store(true, SeqCst);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !self.open.load(SeqCst) && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        self.response.clone()
    }
}

/// Poll `cond` for up to 30 s.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// kill -9 between keeping a page's payloads and committing the page: the run is held
/// there (the test holds the database's write lock once the page's answer is on its way,
/// and kills the run when the payload's file is on disk). Nothing of the page is stored
/// (no notice without its evidence, the cursor where it was), the file is only an
/// unreferenced one, and the next run stores the page with its evidence.
#[tokio::test(flavor = "multi_thread")]
async fn a_kill_between_keeping_the_payloads_and_committing_leaves_no_notice_without_evidence() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    let server = MockServer::start().await;
    let uri = server.uri();
    mount(&server, first_listing(&uri), vec![]).await;
    let listing = graphql(first_listing(&uri));
    let body = json!({
        "data": {"TrdBuy": first_listing(&uri)},
        "extensions": {"pageInfo": {"limitPage": 50, "totalCount": 2, "hasNextPage": false, "lastId": null}}
    })
    .to_string();
    let (arrived, open) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(Gate {
            arrived: arrived.clone(),
            open: open.clone(),
            response: listing,
        })
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    write_config(dir.path(), &uri, 365);
    let mut child = std::process::Command::new(crate::util::binary())
        .current_dir(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .env_remove("TENDERSCAN_LOG")
        .arg("run")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the listing is asked for", || arrived.load(SeqCst));
    // The run's writes before the page are done (it is waiting for the answer): take the
    // write lock, then let the answer go.
    let lock = rusqlite::Connection::open(&db).unwrap();
    lock.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    open.store(true, SeqCst);
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()));
    let file = dir
        .path()
        .join("t.evidence")
        .join(&sha[..2])
        .join(format!("{sha}.zst"));
    wait_until("the page's payload is kept", || file.is_file());
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    assert_eq!(count(&db, "SELECT count(*) FROM notices"), 0);
    assert_eq!(count(&db, "SELECT count(*) FROM evidence"), 0);
    assert_eq!(
        count(&db, "SELECT count(*) FROM sources WHERE cursor IS NOT NULL"),
        0
    );
    assert_eq!(
        zstd::stream::decode_all(std::fs::File::open(&file).unwrap()).unwrap(),
        body.as_bytes()
    );
    let (code, v) = verify_json(dir.path());
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["unreferenced"], json!([file]));

    run(dir.path());
    assert_eq!(count(&db, "SELECT count(*) FROM notices"), 2);
    assert_eq!(
        count(
            &db,
            &format!("SELECT count(*) FROM evidence WHERE kind = 'notice' AND sha256 = '{sha}'")
        ),
        2
    );
    let (code, v) = verify_json(dir.path());
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["unreferenced"], json!([]));
    assert_eq!(v["notices_without_evidence"], 0);
    assert_eq!(emls(dir.path()).len(), 1);
}

/// A flagged notice left without evidence that the crawl no longer meets (what migration
/// 011 marks in a database whose evidence disk was once full, silently) is asked for by id
/// until its payload is kept; its marked attachment is fetched again and kept.
#[tokio::test(flavor = "multi_thread")]
async fn a_marked_flagged_notice_the_crawl_no_longer_meets_is_asked_for_and_kept() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount(&server, first_listing(&uri), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    write_config(dir.path(), &uri, 365);
    run(dir.path());
    let flagged = "(SELECT id FROM notices WHERE number = '900001-1')";
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(&format!(
            "DELETE FROM evidence WHERE notice_id = {flagged};
             UPDATE notices SET evidence_missing_at = '2026-01-01T00:00:00Z',
                 last_seen_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 hour') WHERE id = {flagged};
             UPDATE documents SET evidence_missing_at = '2026-01-01T00:00:00Z', fetched_at = NULL
               WHERE notice_id = {flagged};"
        ))
        .unwrap();
    assert_eq!(verify_json(dir.path()).0, Some(1));
    // The listing has moved on; asked by id, the portal still has it.
    mount(&server, vec![], first_listing(&uri)[..1].to_vec()).await;
    run(dir.path());
    let asked = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("\"id\":900001"))
        .count();
    assert_eq!(asked, 1);
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM evidence WHERE notice_id = {flagged} AND kind = 'notice'"
            )
        ),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM notices WHERE evidence_missing_at IS NOT NULL"
        ),
        0
    );
    let (code, v) = verify_json(dir.path());
    assert_eq!(code, Some(0), "{v}");
    // Kept: not asked for again.
    run(dir.path());
    let asked_again = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("\"id\":900001"))
        .count();
    assert_eq!(asked_again, 1);
}

/// The default store: a run's payloads go to one pack (no loose file); `show` names the
/// pack (`present`: the record reads back whole) and writes a document byte for byte out
/// of it; `verify` re-hashes the records and names the pack of one with a flipped byte.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_keeps_its_payloads_in_a_pack_that_show_and_verify_read() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount(&server, first_listing(&uri), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    write_config_store(dir.path(), &uri, 365, "packs");
    run(dir.path());
    let pack = dir
        .path()
        .join("t.evidence")
        .join("packs")
        .join("000001.pack");
    assert_eq!(
        evidence_files(dir.path()),
        vec![pack.clone(), dir.path().join("t.evidence/packs/index.db")],
        "no loose file"
    );
    let (code, v) = verify_json(dir.path());
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        (v["checked"].clone(), v["ok"].clone()),
        (json!(3), json!(3)),
        "{v}"
    );
    let out = tenderscan(dir.path())
        .args(["show", "900001-1", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = shown["evidence"].as_array().unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        assert_eq!(row["path"], json!(pack), "{row}");
        assert_eq!(row["present"], json!(true), "{row}");
    }
    let doc = rows
        .iter()
        .find(|r| r["kind"] == "document")
        .expect("a document row");
    let out_file = dir.path().join("spec.docx");
    tenderscan(dir.path())
        .args(["show", "900001-1", "--document", "1", "-o"])
        .arg(&out_file)
        .assert()
        .code(0);
    let written = std::fs::read(&out_file).unwrap();
    assert_eq!(
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&written)),
        doc["sha256"].as_str().unwrap()
    );
    // A flipped byte in the pack's last record.
    let mut bytes = std::fs::read(&pack).unwrap();
    let at = bytes.len() - 10;
    bytes[at] ^= 0x01;
    std::fs::write(&pack, bytes).unwrap();
    let (code, v) = verify_json(dir.path());
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["corrupt"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["corrupt"][0]["path"], json!(pack));
}

/// `evidence repack` killed (SIGKILL) after it appended the loose files to a pack and
/// before it indexed them (the test holds the pack index's write lock): nothing is lost,
/// `verify` finds every payload; the next repack finishes, and the loose files are gone.
#[tokio::test(flavor = "multi_thread")]
async fn a_repack_killed_midway_loses_nothing_and_the_next_one_finishes() {
    let server = MockServer::start().await;
    let uri = server.uri();
    mount(&server, first_listing(&uri), vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    write_config(dir.path(), &uri, 365);
    run(dir.path());
    let loose = evidence_files(dir.path());
    assert_eq!(loose.len(), 3, "{loose:?}");
    // A pack and its index exist (one payload no row names).
    let pack = dir.path().join("t.evidence/packs/000001.pack");
    {
        let ev = tenderscan::evidence::Evidence::beside(&db);
        assert!(ev.put(b"kept before the repack").unwrap().written);
    }
    let before = std::fs::metadata(&pack).unwrap().len();
    let lock = rusqlite::Connection::open(dir.path().join("t.evidence/packs/index.db")).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut child = std::process::Command::new(crate::util::binary())
        .current_dir(dir.path())
        .env_remove("TENDERSCAN_LOG")
        .args(["evidence", "repack"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let grown: u64 = loose
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len() + 48)
        .sum();
    wait_until("the loose files are appended to the pack", || {
        std::fs::metadata(&pack).map(|m| m.len()).unwrap_or(0) >= before + grown
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    assert_eq!(
        evidence_files(dir.path())
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "zst"))
            .count(),
        3,
        "no loose file deleted before its record is indexed"
    );
    let (code, v) = verify_json(dir.path());
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        (v["checked"].clone(), v["ok"].clone()),
        (json!(3), json!(3)),
        "{v}"
    );
    assert_eq!(v["missing"], json!([]));

    let out = tenderscan(dir.path())
        .args(["evidence", "repack", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        r["moved"].as_u64().unwrap() + r["already_packed"].as_u64().unwrap(),
        3,
        "{r}"
    );
    assert!(
        evidence_files(dir.path())
            .iter()
            .all(|p| p.extension().is_none_or(|e| e != "zst")),
        "{:?}",
        evidence_files(dir.path())
    );
    let (code, v) = verify_json(dir.path());
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(
        (v["checked"].clone(), v["ok"].clone()),
        (json!(3), json!(3)),
        "{v}"
    );
    assert_eq!(v["unreferenced"], json!([]));
    assert_eq!(v["packed_unreferenced"], json!(1));
}
