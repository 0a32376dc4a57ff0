//! The live portals as public client code finds them, played by stand-ins on 127.0.0.1:
//! ProZorro (412 to a client that is not a browser, an id-only tender list, each tender in its
//! own schema, documents on its document service), Samruk-Kazyna's gateway refusing requests
//! without its browser-minted `tor` header, and an OCDS API that pages by a token (MTender's
//! `offset`). Each source crawls or fails with its clear message, and the run goes on.

use serde_json::{Value, json};
use tenderscan::config::{OcdsSettings, ProzorroSettings, SourceKind};
use tenderscan::source::{self, Recheck};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::sources::{
    NURBOT_SPEC, NotABrowser, body, drain, fetcher, fixture, mount_samruk_adverts, records, spec,
};
use crate::util::{count, docx, tenderscan};

const SMM_ID: &str = "6e0ba7b3c0b94f8fa1d2c3b4a5968778";
const PAPER_ID: &str = "f3a9c1d2e4b5467890abcdef12345678";
/// `next_page.offset` of the first list page (and of the empty page after it).
const NEXT_OFFSET: &str = "1764584400.123456";
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// A ProZorro stand-in: 412 to any client whose User-Agent is not a browser's; the tender
/// list (two ids, then an empty page at the same offset), each tender, the specification on
/// its document service. `offhost` is where the fixture's other document points.
async fn prozorro(offhost: &MockServer) -> MockServer {
    let server = MockServer::start().await;
    let uri = server.uri();
    let fx = |name: &str| fixture("prozorro", name, &uri).replace("http://OFFHOST", &offhost.uri());
    Mock::given(NotABrowser)
        .respond_with(ResponseTemplate::new(412).set_body_string(""))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2.5/tenders"))
        .and(query_param("offset", NEXT_OFFSET))
        .respond_with(body(fx("tenders_page2.json"), "application/json"))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2.5/tenders"))
        .respond_with(body(fx("tenders_page1.json"), "application/json"))
        .with_priority(3)
        .mount(&server)
        .await;
    for (id, file) in [(SMM_ID, "tender_smm.json"), (PAPER_ID, "tender_paper.json")] {
        Mock::given(method("GET"))
            .and(path(format!("/api/2.5/tenders/{id}")))
            .respond_with(body(fx(file), "application/json"))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/get/1f2e3d4c5b6a4978a1b2c3d4e5f60718"))
        .and(query_param("KeyID", "a8968c46"))
        .respond_with(body(
            docx(NURBOT_SPEC),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ))
        .mount(&server)
        .await;
    server
}

/// Requests the stand-in received on `p` (any query).
async fn asked(server: &MockServer, p: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}

const HEAD: &str = "[database]\npath = \"t.db\"\n\n[crawl]\ncontact = \"mailto:test@example.org\"\ntimeout_secs = 5\nmax_retries = 1\nbackoff_secs = 0.05\nrefused_backoff_secs = 0.05\n\n";
const TAIL: &str = "[mail]\nfrom = \"tenderscan <alerts@example.org>\"\ndry_run_dir = \"outbox\"\n\n[[recipients]]\nemail = \"desk@example.org\"\nmin_severity = \"medium\"\nlanguage = \"en\"\n";

fn prozorro_block(uri: &str, extra: &str) -> String {
    format!(
        "[[sources]]\nname = \"prozorro\"\nkind = \"prozorro\"\nurl = \"{uri}/api/2.5/tenders\"\nrequests_per_second = 1000.0\nlookback_days = 3\n{extra}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn prozorro_needs_a_browser_user_agent_then_its_fake_accounts_tender_is_flagged_end_to_end() {
    let offhost = MockServer::start().await;
    let server = prozorro(&offhost).await;
    let uri = server.uri();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let write = |extra: &str| {
        std::fs::write(
            dir.path().join("config.toml"),
            format!("{HEAD}{}{TAIL}", prozorro_block(&uri, extra)),
        )
        .unwrap()
    };

    // Without a browser's User-Agent ProZorro answers 412: the source fails, saying what to set.
    write("");
    let out = tenderscan(dir.path()).arg("run").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("HTTP 412") && stderr.contains("user_agent"),
        "{stderr}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM notices"), 0);

    write(&format!("user_agent = \"{BROWSER}\"\n"));
    let out = tenderscan(dir.path()).arg("run").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The id-only list, then each tender by its id.
    assert_eq!(count(&db, "SELECT count(*) FROM notices"), 2);
    let lists = asked(&server, "/api/2.5/tenders").await;
    let offsets: Vec<String> = lists
        .iter()
        .filter(|r| {
            r.headers
                .get("user-agent")
                .is_some_and(|v| v.to_str().unwrap_or("") == BROWSER)
        })
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "offset")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(offsets.len(), 2, "{offsets:?}");
    // The first run starts lookback_days back, as a Unix time; then the page's next offset.
    let first: i64 = offsets[0].parse().unwrap();
    let days = (chrono::Utc::now().timestamp() - first) / 86_400;
    assert!((3..=4).contains(&days), "{offsets:?}");
    assert_eq!(offsets[1], NEXT_OFFSET);

    let conn = rusqlite::Connection::open(&db).unwrap();
    let (number, url, bin, severity, kind, n): (String, String, String, String, String, i64) = conn
        .query_row(
            "SELECT notice_number, url, agency_bin, severity, quota_kind, quota_count FROM flags
             WHERE quota_kind = 'accounts'",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .unwrap();
    assert_eq!(number, "UA-2026-12-01-004512-a");
    assert_eq!(url, "https://prozorro.gov.ua/tender/UA-2026-12-01-004512-a");
    assert_eq!(bin, "04055397");
    assert_eq!(
        (severity.as_str(), kind.as_str(), n),
        ("high", "accounts", 4)
    );
    // The specification came from the document service (the source's own host here); the
    // bidding documents on another host were not asked for.
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE is_spec = 1 AND text LIKE '%фейковых аккаунтов%'"
        ),
        1
    );
    assert!(offhost.received_requests().await.unwrap().is_empty());
    let refused: String = conn
        .query_row(
            "SELECT error FROM documents WHERE url LIKE ?1",
            [format!("{}%", offhost.uri())],
            |r| r.get(0),
        )
        .unwrap();
    assert!(refused.contains("not in the allowed hosts"), "{refused}");
    // Who won it: the award's supplier, with the contract signed on it.
    let out = tenderscan(dir.path())
        .args(["report", "suppliers_of_flagged", "--format", "json"])
        .output()
        .unwrap();
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["supplier_id"], "43210987");
    assert_eq!(rows[0]["supplier_name"], "ТОВ «Медіа Бот»");
    assert_eq!(rows[0]["currency"], "UAH");
    // The offset is the saved cursor, with the time the sync reached the feed's end.
    let cursor: String = conn
        .query_row(
            "SELECT cursor FROM sources WHERE name = 'prozorro'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let cursor: Value = serde_json::from_str(&cursor).unwrap();
    assert_eq!(cursor["offset"], NEXT_OFFSET, "{cursor}");
    assert!(cursor["synced"].is_string(), "{cursor}");

    // Within min_interval_secs (default five minutes) of that sync, a run asks nothing.
    let before = asked(&server, "/api/2.5/tenders").await.len();
    let out = tenderscan(dir.path()).arg("crawl").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(asked(&server, "/api/2.5/tenders").await.len(), before);
    // With min_interval_secs = 0 it reads on from the saved offset, not from the start.
    write(&format!(
        "user_agent = \"{BROWSER}\"\nmin_interval_secs = 0\n"
    ));
    let out = tenderscan(dir.path()).arg("crawl").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let lists = asked(&server, "/api/2.5/tenders").await;
    assert_eq!(lists.len(), before + 1);
    assert!(
        lists
            .last()
            .unwrap()
            .url
            .query()
            .unwrap()
            .contains(&format!("offset={NEXT_OFFSET}")),
        "{:?}",
        lists.last().unwrap().url
    );
}

#[tokio::test]
async fn prozorro_rechecks_a_tender_by_its_id_and_sees_it_gone() {
    let offhost = MockServer::start().await;
    let server = prozorro(&offhost).await;
    Mock::given(method("GET"))
        .and(path("/api/2.5/tenders/0000dead"))
        .respond_with(ResponseTemplate::new(404).set_body_string("{\"status\": \"error\"}"))
        .mount(&server)
        .await;
    let kind = SourceKind::Prozorro(ProzorroSettings::default());
    let s = spec(&format!("{}/api/2.5/tenders", server.uri()), kind);
    let f = crate::sources::fetcher_with_agent(&server, BROWSER);
    let mut src = source::open(&s, None).unwrap();
    match src.recheck(&f, SMM_ID).await.unwrap() {
        Recheck::Found(r) => assert_eq!(r.number.as_deref(), Some("UA-2026-12-01-004512-a")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        src.recheck(&f, "0000dead").await.unwrap(),
        Recheck::Gone
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn samruk_refused_without_its_signature_fails_alone_and_prozorro_still_crawls() {
    let offhost = MockServer::start().await;
    let pz = prozorro(&offhost).await;
    // The gateway: the list only with a `tor` header (which only the site's JavaScript mints),
    // else 418, as public clients report.
    let sk = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/eprocsearch/api/external/4dv3rts/filter"))
        .and(wiremock::matchers::header_exists("tor"))
        .respond_with(body(
            fixture("samruk", "search_page0.json", &sk.uri()),
            "application/json",
        ))
        .mount(&sk)
        .await;
    Mock::given(method("POST"))
        .and(path("/eprocsearch/api/external/4dv3rts/filter"))
        .respond_with(ResponseTemplate::new(418).set_body_string("{\"message\": \"I'm a teapot\"}"))
        .mount(&sk)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let cfg = format!(
        "{HEAD}[[sources]]\nname = \"samruk\"\nkind = \"samruk\"\nurl = \"{}/eprocsearch/api/external/4dv3rts/filter\"\nrequests_per_second = 1000.0\n\n{}{TAIL}",
        sk.uri(),
        prozorro_block(&pz.uri(), &format!("user_agent = \"{BROWSER}\"\n")),
    );
    std::fs::write(dir.path().join("config.toml"), cfg).unwrap();
    let out = tenderscan(dir.path()).arg("run").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // README: exit 1 when some source failed; the rest was done.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("source samruk")
            && stderr.contains(
                "HTTP 418: the portal refused: it may require its browser-minted request signature"
            ),
        "{stderr}"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM notices n JOIN sources s ON s.id = n.source_id WHERE s.name = 'prozorro'"
        ),
        2
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM flags WHERE quota_kind = 'accounts'"
        ),
        1
    );
    // `status` names the refusal, as text and as JSON.
    let out = tenderscan(dir.path()).arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("samruk"))
        .unwrap_or_default();
    assert!(
        line.contains("REFUSED by the portal") && line.contains("browser-minted request signature"),
        "{text}"
    );
    let out = tenderscan(dir.path())
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sources = status["sources"].as_array().unwrap();
    let sk_health = sources.iter().find(|s| s["name"] == "samruk").unwrap();
    assert_eq!(sk_health["refused"], true, "{sk_health}");
    let pz_health = sources.iter().find(|s| s["name"] == "prozorro").unwrap();
    assert_eq!(pz_health["consecutive_failures"], 0, "{pz_health}");
}

#[tokio::test]
async fn samruk_refusing_an_advert_is_the_same_clear_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/4dv3rts/filter"))
        .respond_with(body(
            fixture("samruk", "search_page0.json", &server.uri()),
            "application/json",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/4dv3rts/1198864"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let s = spec(
        &format!("{}/4dv3rts/filter", server.uri()),
        SourceKind::Samruk(Default::default()),
    );
    let mut src = source::open(&s, None).unwrap();
    let e = drain(src.as_mut(), &fetcher(&server)).await.unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("/4dv3rts/1198864: HTTP 403: the portal refused: it may require its browser-minted request signature"),
        "{msg}"
    );
    // And where the gateway lets requests through, the adverts and their lots are read.
    let open = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/4dv3rts/filter"))
        .respond_with(body(
            fixture("samruk", "search_page0.json", &open.uri()),
            "application/json",
        ))
        .mount(&open)
        .await;
    mount_samruk_adverts(&open, "/4dv3rts", &["1198864", "1198700"]).await;
    let mut s = spec(
        &format!("{}/4dv3rts/filter", open.uri()),
        SourceKind::Samruk(Default::default()),
    );
    s.since = chrono::NaiveDate::from_ymd_opt(2026, 11, 15);
    let mut src = source::open(&s, None).unwrap();
    let pages = drain(src.as_mut(), &fetcher(&open)).await.unwrap();
    let recs = records(&pages);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].agency.as_ref().unwrap().id, "000140000123");
}

// ---------------------------------------------------------------------------------------------
// Token paging (MTender's `offset`)

async fn token_api() -> MockServer {
    let server = MockServer::start().await;
    let page = |ocid: &str, next: Option<&str>| {
        let mut p = json!({"version": "1.1", "publisher": {"name": "MTender"},
            "releases": [{"ocid": ocid, "id": format!("{ocid}-1"), "date": "2026-11-20T10:00:00Z",
                "tag": ["tender"], "tender": {"id": ocid, "title": format!("Tender {ocid}")}}]});
        if let Some(n) = next {
            p["offset"] = json!(n);
        }
        p.to_string()
    };
    Mock::given(method("GET"))
        .and(path("/api/releases"))
        .and(query_param("offset", "2026-11-21T08:00:00.123Z"))
        .respond_with(body(
            json!({"releases": [], "offset": "2026-11-21T08:00:00.123Z"}).to_string(),
            "application/json",
        ))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/releases"))
        .and(query_param("offset", "2026-11-20T10:00:00.000Z"))
        .respond_with(body(
            page("ocds-b3wdp1-MD-2", Some("2026-11-21T08:00:00.123Z")),
            "application/json",
        ))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/releases"))
        .respond_with(body(
            page("ocds-b3wdp1-MD-1", Some("2026-11-20T10:00:00.000Z")),
            "application/json",
        ))
        .with_priority(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tenders"))
        .respond_with(body(
            json!({"data": [{"ocid": "ocds-b3wdp1-MD-1", "date": "2026-11-20T10:00:00Z"}],
                "offset": "2026-11-20T10:00:00Z"})
            .to_string(),
            "application/json",
        ))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn an_ocds_api_paging_by_a_token_builds_the_next_url_from_it() {
    let server = token_api().await;
    let uri = server.uri();
    let kind = |p: &str| {
        SourceKind::Ocds(OcdsSettings {
            next_pointer: Some(p.into()),
            ..Default::default()
        })
    };
    let s = spec(
        &format!("{uri}/api/releases?lang=ro"),
        kind("?offset=/offset"),
    );
    let mut src = source::open(&s, None).unwrap();
    let pages = drain(src.as_mut(), &fetcher(&server)).await.unwrap();
    let ids: Vec<&str> = records(&pages)
        .iter()
        .map(|r| r.external_id.as_str())
        .collect();
    assert_eq!(ids, ["ocds-b3wdp1-MD-1", "ocds-b3wdp1-MD-2"]);
    // The token replaces the offset of the page just read; other parameters stay.
    let end: Value =
        serde_json::from_str(pages.last().unwrap().cursor.as_deref().unwrap()).unwrap();
    let last = url::Url::parse(end["page"].as_str().unwrap()).unwrap();
    let q: Vec<(String, String)> = last
        .query_pairs()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    assert_eq!(
        q,
        [
            ("lang".to_string(), "ro".to_string()),
            ("offset".to_string(), "2026-11-21T08:00:00.123Z".to_string())
        ]
    );

    // The same API with a URL pointer: the token is named, with the form to use.
    let s = spec(&format!("{uri}/api/releases"), kind("/offset"));
    let mut src = source::open(&s, None).unwrap();
    let e = drain(src.as_mut(), &fetcher(&server))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("is a token")
            && e.contains("next_pointer = \"?offset=/offset\"")
            && e.contains("bulk file"),
        "{e}"
    );
    // MTender's own list is ids, not releases: the error says to use its bulk file.
    let s = spec(&format!("{uri}/tenders"), kind("?offset=/offset"));
    let mut src = source::open(&s, None).unwrap();
    let e = drain(src.as_mut(), &fetcher(&server))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("a list of ids") && e.contains("bulk file") && e.contains("kind = \"prozorro\""),
        "{e}"
    );
}
