//! `tenderscan backfill`: through the real binary (a child process, killed with SIGKILL
//! halfway), against a goszakup-shaped API on 127.0.0.1 that pages `TrdBuy` by `after` as
//! the portal does (`extensions.pageInfo`), with a real SQLite file. Candidates (services,
//! PR and media words) have their documents fetched before the rest; a killed backfill
//! resumes from the database; a `run` works while a backfill is under way.

use crate::pipeline::{PLAIN_SPEC, TOKEN, trd_buy};
use crate::util::{binary, count, docx, tenderscan, try_count};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wiremock::matchers::{body_string_contains, method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
/// Announcements per page, and pages.
const PER_PAGE: usize = 3;
const PAGES: usize = 4;

/// Announcement `i` (0-based): ids 910000 + i, file 6000 + i, published one day apart
/// (the higher `i`, the newer). Even ones are candidates (services ordering media work),
/// odd ones goods (paper, subject type 1).
fn announcement(server: &str, i: usize, two_lots: bool) -> Value {
    let id = 910_000 + i as i64;
    let mut a = if i.is_multiple_of(2) {
        let mut a = trd_buy(
            server,
            id,
            "Услуги по освещению деятельности в СМИ",
            500_000.0,
            6000 + i as i64,
        );
        if two_lots {
            // A second lot with its own specification, file 7000 + i.
            let mut lot = a["Lots"][0].clone();
            let file = 7000 + i as i64;
            lot["id"] = json!(id * 10 + 1);
            lot["lotNumber"] = json!(format!("{}-ЗЦП2", id * 10 + 1));
            lot["Files"][0]["id"] = json!(file);
            lot["Files"][0]["originalName"] = json!(format!("techspec_{file}.docx"));
            lot["Files"][0]["filePath"] = json!(format!("{server}/files/download_file/{file}/"));
            a["Lots"].as_array_mut().unwrap().push(lot);
            a["countLots"] = json!(2);
        }
        a
    } else {
        let mut a = trd_buy(
            server,
            id,
            "Поставка канцелярских товаров",
            90_000.0,
            6000 + i as i64,
        );
        a["refSubjectTypeId"] = json!(1);
        a["Lots"][0]["nameRu"] = json!("Бумага офисная А4");
        a["Lots"][0]["descriptionRu"] = json!("Бумага офисная А4");
        a
    };
    let day = format!("2026-10-{:02} 10:00:00", 1 + i);
    a["publishDate"] = json!(day);
    a["startDate"] = json!(day);
    a
}

fn is_candidate_file(file: i64) -> bool {
    (file - 6000) % 2 == 0
}

/// `TrdBuy` pages, newest first like the portal: page k holds announcements
/// `PAGES*PER_PAGE-1-k*PER_PAGE ..`; `after` is the last id of the page before.
/// With `.1`, candidates have a second lot.
struct Pages(String, bool);

impl Respond for Pages {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let all: Vec<Value> = (0..PAGES * PER_PAGE)
            .rev()
            .map(|i| announcement(&self.0, i, self.1))
            .collect();
        let start = match body["variables"]["after"].as_i64() {
            None => 0,
            Some(after) => all
                .iter()
                .position(|a| a["id"] == after)
                .map_or(all.len(), |p| p + 1),
        };
        let items: Vec<Value> = all.iter().skip(start).take(PER_PAGE).cloned().collect();
        let more = start + PER_PAGE < all.len();
        let page = json!({
            "data": {"TrdBuy": items},
            "extensions": {"pageInfo": {"limitPage": 50, "totalCount": all.len(),
                "hasNextPage": more, "lastId": items.last().map(|i| i["id"].clone())}}
        });
        ResponseTemplate::new(200).set_body_raw(page.to_string().into_bytes(), "application/json")
    }
}

async fn portal() -> MockServer {
    portal_of(false).await
}

async fn portal_of(two_lots: bool) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .and(body_string_contains("TrdBuy("))
        .respond_with(Pages(server.uri(), two_lots))
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
        .and(path_regex(r"^/files/download_file/\d+/$"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(docx(PLAIN_SPEC), DOCX))
        .mount(&server)
        .await;
    server
}

fn write_config(dir: &Path, url: &str, rps: f64) {
    let cfg = format!(
        "[database]\npath = \"t.db\"\n\n[crawl]\ncontact = \"mailto:test@example.org\"\ntimeout_secs = 5\nmax_retries = 1\nbackoff_secs = 0.05\nrefused_backoff_secs = 0.05\nreader_processes = 0\n\n\
         [[sources]]\nname = \"goszakup\"\nkind = \"goszakup\"\nurl = \"{url}\"\ntoken_env = \"TEST_GOSZAKUP_TOKEN\"\nlookback_days = 3\nrequests_per_second = {rps}\ncontracts = false\n"
    );
    std::fs::write(dir.join("config.toml"), cfg).unwrap();
}

fn spawn_backfill(dir: &Path) -> Child {
    Command::new(binary())
        .current_dir(dir)
        .env_remove("GOSZAKUP_TOKEN")
        .env("TENDERSCAN_LOG", "info")
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .args(["backfill", "--since", "2026-01-01", "--until", "2026-11-30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The file ids the portal was asked for, in the order asked.
async fn file_requests(server: &MockServer) -> Vec<i64> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            r.url
                .path()
                .strip_prefix("/files/download_file/")
                .and_then(|p| p.trim_end_matches('/').parse().ok())
        })
        .collect()
}

async fn wait_until<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f().await {
        assert!(Instant::now() < deadline, "waited a minute for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many files of `before_kill` were surely stored: at least the two waited for.
fn count_fetched_before(before_kill: &[i64]) -> usize {
    2.min(before_kill.len())
}

/// Each first request of a file, in order.
fn firsts(requests: &[i64]) -> Vec<i64> {
    let mut seen = Vec::new();
    for &f in requests {
        if !seen.contains(&f) {
            seen.push(f);
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_backfill_resumes_and_fetches_candidates_before_the_rest() {
    let server = portal().await;
    let dir = tempfile::tempdir().unwrap();
    // Slow enough to be killed halfway through the documents.
    write_config(dir.path(), &server.uri(), 5.0);
    let db = dir.path().join("t.db");

    let mut child = spawn_backfill(dir.path());
    wait_until("the first documents stored", || async {
        try_count(
            &db,
            "SELECT count(*) FROM documents WHERE fetched_at IS NOT NULL",
        )
        .is_some_and(|n| n >= 2)
    })
    .await;
    // A second backfill while this one holds its lock is refused (exit 3), doing nothing.
    let second = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .args(["backfill", "--since", "2026-01-01"])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(3));
    child.kill().unwrap();
    let _ = child.wait();
    let before_kill = file_requests(&server).await;
    let total = PAGES * PER_PAGE;
    assert!(before_kill.len() < total, "killed halfway: {before_kill:?}");
    let candidates_first = |files: &[i64]| {
        let order = firsts(files);
        match order.iter().position(|&f| !is_candidate_file(f)) {
            Some(other) => order[other..].iter().all(|&f| !is_candidate_file(f)),
            None => true,
        }
    };
    assert!(
        candidates_first(&before_kill),
        "candidates first: {before_kill:?}"
    );
    // The metadata stage was over: every announcement is stored, its documents deferred.
    assert_eq!(count(&db, "SELECT count(*) FROM notices"), total as i64);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM backfills WHERE stage = 'documents'"
        ),
        1
    );
    let stored = count(
        &db,
        "SELECT count(*) FROM documents WHERE fetched_at IS NOT NULL",
    );
    assert!(stored >= 2 && stored < total as i64, "{stored}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM backfill_notices WHERE tier = 1"),
        (total / 2) as i64
    );
    let listings = |reqs: &[Request]| {
        reqs.iter()
            .filter(|r| r.url.path() == "/v3/graphql")
            .count()
    };
    let requests = server.received_requests().await.unwrap();
    assert_eq!(listings(&requests), PAGES, "one request per page");
    assert!(
        requests.iter().all(|r| r.url.path() != "/v3/journal"),
        "a bounded crawl skips the journal"
    );
    let first_listing: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(
        first_listing["variables"]["filter"]["lastUpdateDate"],
        json!(["2026-01-01 00:00:00", "2026-11-30 23:59:59"])
    );
    // `status` says how far each stage has come.
    let out = tenderscan(dir.path())
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = &v["backfills"][0];
    assert_eq!(b["stage"], "documents", "{v}");
    assert_eq!(
        b["pages"], PAGES,
        "the listing's pages (no journal in a backfill): {v}"
    );
    assert_eq!(b["notices"], total, "{v}");
    let left = b["documents_left"].as_i64().unwrap();
    assert!(left > 0 && left < total as i64, "{b}");

    // Resumed: no listing again, the documents left, candidates before the rest.
    let out = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .args(["backfill", "--since", "2026-01-01", "--until", "2026-11-30"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        listings(&requests),
        PAGES,
        "the metadata stage is not done again"
    );
    let all = file_requests(&server).await;
    let order = firsts(&all);
    assert_eq!(order.len(), total, "every document once: {all:?}");
    assert!(candidates_first(&all), "candidates first: {order:?}");
    assert!(
        all.starts_with(&before_kill),
        "the resumed backfill carries on: {all:?}"
    );
    // The rest newest first, batch by batch (higher file ids are newer announcements;
    // a batch's downloads overlap): the newest in the first batch, the oldest in the last.
    let rest: Vec<i64> = order
        .iter()
        .copied()
        .filter(|&f| !is_candidate_file(f))
        .collect();
    let newest = 6000 + total as i64 - 1;
    assert!(rest[..4].contains(&newest), "{rest:?}");
    assert!(rest[rest.len() - 2..].contains(&6001), "{rest:?}");
    // What the killed backfill had stored is not fetched again: only what was in flight.
    let stored_before = count_fetched_before(&before_kill);
    assert!(
        all.len() <= total + before_kill.len() - stored_before,
        "{all:?}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE fetched_at IS NULL"
        ),
        0
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM backfills WHERE stage = 'done'"),
        1
    );
    // The cron cursor was not touched.
    assert_eq!(
        count(&db, "SELECT count(*) FROM sources WHERE cursor IS NOT NULL"),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_candidates_first_specification_comes_before_their_other_documents() {
    let server = portal_of(true).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &server.uri(), 1000.0);
    let db = dir.path().join("t.db");
    let out = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .args(["backfill", "--since", "2026-01-01", "--until", "2026-11-30"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let total = PAGES * PER_PAGE;
    let order = firsts(&file_requests(&server).await);
    assert_eq!(
        order.len(),
        total + total / 2,
        "every document once: {order:?}"
    );
    // Three passes: the candidates' first lots (6000 + even), their second lots (7000 +
    // even), then the goods (6000 + odd).
    let pass = |f: i64| match f {
        7000.. => 1,
        _ if is_candidate_file(f) => 0,
        _ => 2,
    };
    let passes: Vec<i32> = order.iter().map(|&f| pass(f)).collect();
    assert!(
        passes.is_sorted(),
        "first specifications, then the rest of the candidates', then the others: {order:?}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE fetched_at IS NULL"
        ),
        0
    );

    // `max_documents_per_notice` still holds over the two passes: with 1, the second
    // lot's specification is noted, not fetched.
    let server = portal_of(true).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &server.uri(), 1000.0);
    let cfg = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        cfg.replace("[crawl]\n", "[crawl]\nmax_documents_per_notice = 1\n"),
    )
    .unwrap();
    let out = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .args(["backfill", "--since", "2026-01-01", "--until", "2026-11-30"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let order = firsts(&file_requests(&server).await);
    assert_eq!(order.len(), total, "{order:?}");
    assert!(order.iter().all(|&f| f < 7000), "{order:?}");
    let db = dir.path().join("t.db");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE notes LIKE 'not fetched: over%'"
        ),
        (total / 2) as i64
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_works_while_a_backfill_is_under_way() {
    let server = portal().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &server.uri(), 4.0);
    let db = dir.path().join("t.db");

    let mut child = spawn_backfill(dir.path());
    wait_until("the backfill's documents stage", || async {
        try_count(
            &db,
            "SELECT count(*) FROM backfills WHERE stage = 'documents'",
        ) == Some(1)
    })
    .await;
    let out = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("run")
        .output()
        .unwrap();
    let backfill_alive = child.try_wait().unwrap().is_none();
    assert_eq!(
        out.status.code(),
        Some(0),
        "run during a backfill; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM runs WHERE status = 'ok'"),
        1
    );
    let status = child.wait_with_output().unwrap();
    assert_eq!(
        status.status.code(),
        Some(0),
        "backfill stderr: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        backfill_alive,
        "the run ran while the backfill was under way"
    );
    // The run left the backfill's deferred documents to it: each fetched once.
    let all = file_requests(&server).await;
    assert_eq!(all.len(), PAGES * PER_PAGE, "{all:?}");
    assert_eq!(firsts(&all).len(), PAGES * PER_PAGE);
    assert_eq!(
        count(&db, "SELECT count(*) FROM backfills WHERE stage = 'done'"),
        1
    );
    // The run kept its own cursor.
    assert_eq!(
        count(&db, "SELECT count(*) FROM sources WHERE cursor IS NOT NULL"),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_killed_in_its_metadata_stage_resumes_from_its_own_cursor() {
    let server = portal().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &server.uri(), 3.0);
    let db = dir.path().join("t.db");
    let listed = || async {
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/v3/graphql")
            .count()
    };

    let mut child = spawn_backfill(dir.path());
    wait_until("two pages stored", || async {
        try_count(&db, "SELECT pages FROM backfills").is_some_and(|n| n >= 2)
    })
    .await;
    child.kill().unwrap();
    let _ = child.wait();
    let before = listed().await;
    assert!(
        before < PAGES,
        "killed in the metadata stage: {before} pages asked for"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM backfills WHERE stage = 'metadata' AND cursor IS NOT NULL"
        ),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE fetched_at IS NOT NULL"
        ),
        0,
        "no document before the metadata is done"
    );

    let out = tenderscan(dir.path())
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .args(["backfill", "--since", "2026-01-01", "--until", "2026-11-30"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Resumed after the pages stored: at most the page in flight asked for again.
    let requests = server.received_requests().await.unwrap();
    let listings: Vec<Value> = requests
        .iter()
        .filter(|r| r.url.path() == "/v3/graphql")
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert!(listings.len() <= PAGES + 1, "{}", listings.len());
    let resumed = &listings[before];
    assert!(
        resumed["variables"]["after"].is_i64(),
        "the resumed backfill starts after a stored page: {resumed}"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM notices"),
        (PAGES * PER_PAGE) as i64
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM backfills WHERE stage = 'done'"),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE fetched_at IS NULL"
        ),
        0
    );
}

/// On a terminal (a pseudo-terminal made by util-linux `script`; skipped without it) the
/// backfill draws a progress bar with the documents left and the ETA.
#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_the_backfill_draws_a_bar_with_what_is_left_and_the_eta() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux `script` (to make a terminal) is not installed");
        return;
    }
    let server = portal().await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &server.uri(), 10.0);
    let cmd = format!(
        "{} backfill --since 2026-01-01 --until 2026-11-30",
        binary().display()
    );
    let out = Command::new("script")
        .current_dir(dir.path())
        .env_remove("GOSZAKUP_TOKEN")
        .env_remove("TENDERSCAN_LOG")
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(screen.contains("goszakup: documents:"), "{screen}");
    assert!(
        screen.contains(" left (") && screen.contains("ETA 0h00m"),
        "{screen}"
    );
    assert!(
        screen.contains("] goszakup: documents:"),
        "the bar: {screen}"
    );
}
