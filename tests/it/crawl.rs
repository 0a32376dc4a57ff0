//! Crawling: the fetch layer's politeness and faults, and the goszakup sources, against real
//! HTTP servers on 127.0.0.1 (wiremock, and a raw TCP server for broken bodies) serving the
//! fixtures in tests/fixtures/goszakup (written from shared/formats/goszakup.md).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tenderscan::config::{GoszakupHtmlSettings, GoszakupSettings, SourceConfig, SourceKind};
use tenderscan::fetch::{FetchError, FetchSettings, Fetcher};
use tenderscan::model::NoticeRecord;
use tenderscan::source::{self, Page, Source, SourceError, SourceSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn fixture(name: &str) -> String {
    let p = format!(
        "{}/tests/fixtures/goszakup/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// A fixture whose attachment links point at the test server instead of v3bl.goszakup.gov.kz.
fn fixture_on(server: &MockServer, name: &str) -> String {
    fixture(name).replace("https://v3bl.goszakup.gov.kz", &server.uri())
}

fn json_body(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "application/json; charset=UTF-8")
}

fn html_body(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.into_bytes(), "text/html; charset=UTF-8")
}

/// Fast settings: no rate limit, tiny back-off, 127.0.0.1 allowed.
fn settings() -> FetchSettings {
    FetchSettings {
        user_agent: "tenderscan-test/0.1 (+mailto:ops@example.org)".into(),
        requests_per_second: 0.0,
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        max_body_bytes: 64 * 1024,
        max_retries: 3,
        backoff_base: Duration::from_millis(10),
        max_backoff: Duration::from_secs(3),
        allowed_hosts: Vec::new(),
        ca_file: None,
        max_in_flight: 4,
        forbidden_retries: 2,
        refused_backoff: Duration::from_millis(10),
    }
}

/// A fetcher allowed to reach `server` (its host and port) only.
fn fetcher(server: &MockServer) -> Fetcher {
    Fetcher::new(FetchSettings {
        allowed_hosts: vec![host_port(server)],
        ..settings()
    })
    .unwrap()
}

/// `127.0.0.1:PORT` of a test server: a bare host allows its default port only.
fn host_port(server: &MockServer) -> String {
    server.address().to_string()
}

/// Announcements only (the contracts' phase has tests of its own, in sources.rs).
fn goszakup() -> SourceKind {
    SourceKind::Goszakup(GoszakupSettings {
        contracts: false,
        plans: false,
    })
}

fn goszakup_html(terms: &[&str]) -> SourceKind {
    SourceKind::GoszakupHtml(GoszakupHtmlSettings {
        search_terms: terms.iter().map(|t| t.to_string()).collect(),
    })
}

fn spec(server: &MockServer, kind: SourceKind) -> SourceSpec {
    let mut config = SourceConfig::new(
        format!("test-{}", kind.name()),
        Url::parse(&server.uri()).unwrap(),
        kind,
    );
    config.lookback_days = 3;
    SourceSpec {
        config,
        token: Some(TOKEN.into()),
        since: None,
        until: None,
        allowed_hosts: vec![host_port(server)],
    }
}

async fn drain(src: &mut dyn Source, f: &Fetcher) -> Result<Vec<Page>, SourceError> {
    let mut pages = Vec::new();
    for _ in 0..20 {
        match src.next_page(f).await? {
            Some(p) => pages.push(p),
            None => return Ok(pages),
        }
    }
    panic!("the source did not end within 20 pages");
}

fn records(pages: &[Page]) -> Vec<&NoticeRecord> {
    pages.iter().flat_map(|p| &p.records).collect()
}

fn vars(r: &Request) -> Value {
    r.body_json::<Value>()
        .map(|b| b["variables"].clone())
        .unwrap_or(Value::Null)
}

fn after_is(v: Value) -> impl Fn(&Request) -> bool + Send + Sync {
    move |r| vars(r).get("after") == Some(&v)
}

fn listing_without_after(r: &Request) -> bool {
    let v = vars(r);
    v.get("after").is_none() && v["filter"].get("lastUpdateDate").is_some()
}

fn by_id(r: &Request) -> bool {
    vars(r)["filter"].get("id").is_some()
}

async fn mount_journal_empty(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/v3/journal"))
        .respond_with(json_body(fixture("journal_empty.json")))
        .mount(server)
        .await;
}

/// Serves graphql_page1 then graphql_page2 (after lastId 17163700), and an empty journal.
async fn two_page_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(listing_without_after)
        .respond_with(json_body(fixture_on(&server, "graphql_page1.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .and(after_is(json!(17163700)))
        .respond_with(json_body(fixture_on(&server, "graphql_page2.json")))
        .expect(1)
        .mount(&server)
        .await;
    mount_journal_empty(&server).await;
    server
}

#[tokio::test]
async fn graphql_pages_follow_last_id_until_has_next_page_is_false() {
    let server = two_page_server().await;
    let f = fetcher(&server);
    let mut src = source::open(&spec(&server, goszakup()), None).unwrap();
    assert_eq!(src.name(), "test-goszakup");
    let pages = drain(src.as_mut(), &f).await.unwrap();

    // Two GraphQL pages, then one journal page that ends the run.
    assert_eq!(pages.len(), 3);
    assert!(!pages[0].done && !pages[1].done && pages[2].done);
    let c0: Value = serde_json::from_str(pages[0].cursor.as_deref().unwrap()).unwrap();
    assert_eq!(c0["after"], json!(17163700));
    assert_eq!(c0["phase"], "graphql");
    let c1: Value = serde_json::from_str(pages[1].cursor.as_deref().unwrap()).unwrap();
    assert_eq!(c1["phase"], "journal");
    let last: Value = serde_json::from_str(pages[2].cursor.as_deref().unwrap()).unwrap();
    assert_eq!(last["after"], Value::Null);
    assert_eq!(last["phase"], "graphql");

    let ids: Vec<&str> = records(&pages)
        .iter()
        .map(|r| r.external_id.as_str())
        .collect();
    assert_eq!(ids, ["17163708", "17163700", "17163650"]);

    // The first request asked for lookback_days back, with the documented filter.
    let reqs = server.received_requests().await.unwrap();
    let first = vars(&reqs[0]);
    let from = first["filter"]["lastUpdateDate"][0]
        .as_str()
        .unwrap()
        .to_string();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Almaty)
        .date_naive();
    assert_eq!(
        from,
        format!("{} 00:00:00", today - chrono::Days::new(3)),
        "first run looks lookback_days back"
    );
    assert_eq!(first["limit"], json!(50));
    let query = reqs[0].body_json::<Value>().unwrap()["query"]
        .as_str()
        .unwrap()
        .to_string();
    for field in ["TrdBuy(", "Lots {", "Files {", "filePath", "RefBuyStatus"] {
        assert!(query.contains(field), "query lacks {field}: {query}");
    }
    // The journal covers the same window.
    let journal = reqs.iter().find(|r| r.url.path() == "/v3/journal").unwrap();
    let date_from = journal
        .url
        .query_pairs()
        .find(|(k, _)| k == "date_from")
        .unwrap()
        .1
        .to_string();
    assert_eq!(date_from, from[..10]);
    assert!(
        reqs.iter().all(|r| r.headers.get("user-agent").unwrap()
            == "tenderscan-test/0.1 (+mailto:ops@example.org)")
    );
}

#[tokio::test]
async fn notices_map_lots_documents_status_method_and_amounts() {
    let server = two_page_server().await;
    let f = fetcher(&server);
    let mut src = source::open(&spec(&server, goszakup()), None).unwrap();
    let pages = drain(src.as_mut(), &f).await.unwrap();
    let recs = records(&pages);

    let smm = recs[0];
    assert_eq!(smm.number.as_deref(), Some("17163708-1"));
    assert_eq!(smm.title, "Услуги по продвижению в социальных сетях (SMM)");
    assert_eq!(
        smm.title_kk.as_deref(),
        Some("Әлеуметтік желілерде жылжыту қызметтері (SMM)")
    );
    assert_eq!(
        smm.url.as_deref(),
        Some("https://goszakup.gov.kz/ru/announce/index/17163708")
    );
    assert_eq!(smm.amount, Some(710338.8));
    assert_eq!(smm.currency.as_deref(), Some("KZT"));
    assert_eq!(smm.status.as_deref(), Some("Опубликовано (прием заявок)"));
    assert_eq!(smm.status_code.as_deref(), Some("220"));
    assert_eq!(smm.method.as_deref(), Some("Запрос ценовых предложений"));
    let agency = smm.agency.as_ref().unwrap();
    assert_eq!(agency.id, "060240012345");
    assert_eq!(agency.scheme.as_deref(), Some("KZ-BIN"));
    assert!(agency.name_kk.as_deref().unwrap().contains("Ішкі саясат"));
    // Its evidence is the GraphQL answer it came in, byte for byte, with where and when.
    assert_eq!(smm.payloads.len(), 1);
    let p = &smm.payloads[0];
    assert_eq!(
        &p.body[..],
        fixture_on(&server, "graphql_page1.json").as_bytes()
    );
    assert_eq!(p.url, format!("{}/v3/graphql", server.uri()));
    assert_eq!(p.status, 200);
    assert_eq!(
        p.content_type.as_deref(),
        Some("application/json; charset=UTF-8")
    );
    // The records of one page share the bytes.
    assert_eq!(recs[1].payloads[0].body.as_ptr(), p.body.as_ptr());

    assert_eq!(smm.lots.len(), 1);
    let lot = &smm.lots[0];
    assert_eq!(lot.external_id, "81638850");
    assert_eq!(lot.number.as_deref(), Some("81638850-ЗЦП1"));
    assert_eq!(
        lot.description.as_deref(),
        Some("Услуги по ведению социальных сетей")
    );
    assert_eq!(lot.amount, Some(710338.8));
    assert_eq!(lot.quantity, Some(1.0));
    assert_eq!(lot.status.as_deref(), Some("Опубликован (прием заявок)"));
    // The technical specification comes first although the portal lists it second.
    assert_eq!(lot.documents.len(), 2);
    assert!(lot.documents[0].is_spec);
    assert_eq!(
        lot.documents[0].file_name.as_deref(),
        Some("techspec_84965784.pdf")
    );
    assert_eq!(
        lot.documents[0].url,
        format!("{}/files/download_file/292795313/", server.uri())
    );
    assert_eq!(
        lot.documents[0].media_type.as_deref(),
        Some("application/pdf")
    );
    assert!(!lot.documents[1].is_spec);
    assert_eq!(smm.documents.len(), 1);
    assert_eq!(
        smm.documents[0].title.as_deref(),
        Some("Протокол обсуждения")
    );

    // A string amount with grouped digits, a rating tender, a documentation change; a file
    // without a path is dropped, a spec found by its file name alone is marked.
    let info = recs[2];
    assert_eq!(info.amount, Some(2_400_000.0));
    assert_eq!(
        info.method.as_deref(),
        Some("Конкурс с использованием рейтингово-балльной системы")
    );
    assert_eq!(info.status.as_deref(), Some("Изменена документация"));
    let docs = &info.lots[0].documents;
    assert_eq!(docs.len(), 2);
    assert!(docs.iter().all(|d| d.is_spec));
    assert_eq!(info.lots[0].quantity, Some(12.0));
    assert_eq!(info.lots[0].status.as_deref(), Some("240"));
}

#[tokio::test]
async fn customer_null_falls_back_to_the_organiser() {
    let server = two_page_server().await;
    let f = fetcher(&server);
    let mut src = source::open(&spec(&server, goszakup()), None).unwrap();
    let pages = drain(src.as_mut(), &f).await.unwrap();
    let media = records(&pages)[1];
    let agency = media.agency.as_ref().unwrap();
    assert_eq!(agency.id, "000140001234", "leading zeros kept");
    assert_eq!(
        agency.name_ru.as_deref(),
        Some("ТОО \"Единый организатор\"")
    );
    assert_eq!(
        agency.name_kk.as_deref(),
        Some("\"Бірыңғай ұйымдастырушы\" ЖШС")
    );
    // No RefBuyStatus: the name comes from the code table.
    assert_eq!(media.status.as_deref(), Some("Завершено"));
    assert_eq!(media.status_code.as_deref(), Some("350"));
    assert_eq!(media.method.as_deref(), Some("Открытый конкурс"));
    assert_eq!(media.amount, Some(1_500_000.0));
    assert_eq!(media.deadline, None, "an empty endDate is no date");
}

#[tokio::test]
async fn almaty_times_become_utc_before_and_after_2024_03_01() {
    let server = two_page_server().await;
    let f = fetcher(&server);
    let mut src = source::open(&spec(&server, goszakup()), None).unwrap();
    let pages = drain(src.as_mut(), &f).await.unwrap();
    let recs = records(&pages);
    let utc = |r: &NoticeRecord| {
        let p = r.published.as_ref().unwrap();
        (p.original.clone(), p.utc.unwrap().to_rfc3339())
    };
    // Before 2024-03-01 Almaty was UTC+6.
    assert_eq!(
        utc(recs[1]),
        (
            "2024-02-20 10:00:00".into(),
            "2024-02-20T04:00:00+00:00".into()
        )
    );
    // From 2024-03-01 the whole country is UTC+5.
    assert_eq!(
        utc(recs[2]),
        (
            "2024-03-01 09:30:00".into(),
            "2024-03-01T04:30:00+00:00".into()
        )
    );
    assert_eq!(
        utc(recs[0]),
        (
            "2026-04-15 22:46:05".into(),
            "2026-04-15T17:46:05+00:00".into()
        )
    );
    let deadline = recs[0].deadline.as_ref().unwrap();
    assert_eq!(
        deadline.utc.unwrap().to_rfc3339(),
        "2026-04-22T17:46:05+00:00"
    );
}

#[tokio::test]
async fn a_notice_changed_between_two_crawls_comes_back_updated() {
    let server = MockServer::start().await;
    mount_journal_empty(&server).await;
    // First crawl: the notice as first published, on a single page.
    let mut v1: Value = serde_json::from_str(&fixture_on(&server, "graphql_page1.json")).unwrap();
    v1["data"]["TrdBuy"].as_array_mut().unwrap().truncate(1);
    v1["extensions"]["pageInfo"]["hasNextPage"] = json!(false);
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(json_body(v1.to_string()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let f = fetcher(&server);
    let spec = spec(&server, goszakup());
    let mut first = source::open(&spec, None).unwrap();
    let pages = drain(first.as_mut(), &f).await.unwrap();
    let before = records(&pages)[0].clone();
    assert_eq!(before.status_code.as_deref(), Some("220"));
    let saved = pages.last().unwrap().cursor.clone().unwrap();
    let saved_json: Value = serde_json::from_str(&saved).unwrap();

    // Second crawl, resumed from the saved cursor: the portal now has the changed notice.
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(json_body(fixture_on(&server, "graphql_changed.json")))
        .mount(&server)
        .await;
    let mut second = source::open(&spec, Some(&saved)).unwrap();
    let pages = drain(second.as_mut(), &f).await.unwrap();
    let after = records(&pages)[0];
    assert_eq!(after.external_id, before.external_id);
    assert_eq!(
        after.title,
        "Услуги по продвижению в социальных сетях (SMM), изменено"
    );
    assert_eq!(after.status.as_deref(), Some("Отменено"));
    assert_eq!(after.status_code.as_deref(), Some("430"));
    assert_eq!(after.amount, Some(650000.0));

    // The second crawl asked for what changed since the first one began (minus an overlap),
    // not for the whole lookback window again.
    let reqs = server.received_requests().await.unwrap();
    let gql: Vec<&Request> = reqs
        .iter()
        .filter(|r| r.url.path() == "/v3/graphql")
        .collect();
    assert_eq!(gql.len(), 2);
    let from1 = vars(gql[0])["filter"]["lastUpdateDate"][0]
        .as_str()
        .unwrap()
        .to_string();
    let from2 = vars(gql[1])["filter"]["lastUpdateDate"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(from2, saved_json["from"].as_str().unwrap());
    assert!(from2 > from1, "{from2} should be later than {from1}");
    let now_almaty = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Almaty)
        .naive_local();
    let from2 = chrono::NaiveDateTime::parse_from_str(&from2, "%Y-%m-%d %H:%M:%S").unwrap();
    let lag = now_almaty - from2;
    assert!(
        lag >= chrono::Duration::minutes(59) && lag <= chrono::Duration::minutes(62),
        "from is the start of the previous crawl minus an hour, got {from2}"
    );
}

#[tokio::test]
async fn the_rest_journal_adds_changed_announcements_and_ends_softly_on_html() {
    let server = MockServer::start().await;
    let mut listing: Value =
        serde_json::from_str(&fixture_on(&server, "graphql_page1.json")).unwrap();
    listing["extensions"]["pageInfo"]["hasNextPage"] = json!(false);
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .and(listing_without_after)
        .respond_with(json_body(listing.to_string()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .and(by_id)
        .respond_with(json_body(fixture_on(&server, "graphql_by_id.json")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/journal"))
        .and(query_param("page", "next"))
        .and(query_param("search_after", "9000"))
        .respond_with(html_body(fixture("past_the_end.html")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/journal"))
        .and(query_param("date_to", {
            let today = chrono::Utc::now()
                .with_timezone(&chrono_tz::Asia::Almaty)
                .date_naive();
            (today + chrono::Days::new(1)).to_string()
        }))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(json_body(fixture("journal_page1.json")))
        .expect(1)
        .mount(&server)
        .await;

    let f = fetcher(&server);
    let mut src = source::open(&spec(&server, goszakup()), None).unwrap();
    let pages = drain(src.as_mut(), &f).await.unwrap();
    // Listing, journal page 1 (one announcement fetched by id), journal page 2 (HTML: soft end).
    assert_eq!(pages.len(), 3);
    assert!(pages[2].done && pages[2].records.is_empty());
    let mid: Value = serde_json::from_str(pages[1].cursor.as_deref().unwrap()).unwrap();
    assert_eq!(mid["next"], "/v3/journal?page=next&search_after=9000");
    // 17163708 came with the listing, 17150000 was deleted, 81638850 is a lot: only one fetch.
    let added: Vec<&str> = pages[1]
        .records
        .iter()
        .map(|r| r.external_id.as_str())
        .collect();
    assert_eq!(added, ["17160001"]);
    assert!(pages[1].records[0].documents[0].is_spec);
    let reqs = server.received_requests().await.unwrap();
    let id_req = reqs.iter().find(|r| by_id(r)).unwrap();
    assert_eq!(vars(id_req)["filter"]["id"], json!(17160001));
}

#[tokio::test]
async fn a_resumed_crawl_continues_from_the_saved_last_id() {
    let server = two_page_server().await;
    let f = fetcher(&server);
    let spec = spec(&server, goszakup());
    let mut src = source::open(&spec, None).unwrap();
    let first = src.next_page(&f).await.unwrap().unwrap();
    drop(src); // killed after storing the first page
    let mut resumed = source::open(&spec, first.cursor.as_deref()).unwrap();
    let pages = drain(resumed.as_mut(), &f).await.unwrap();
    let ids: Vec<&str> = records(&pages)
        .iter()
        .map(|r| r.external_id.as_str())
        .collect();
    assert_eq!(ids, ["17163650"]);
    // Both requests used the same window.
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(
        vars(&reqs[0])["filter"]["lastUpdateDate"][0],
        vars(&reqs[1])["filter"]["lastUpdateDate"][0]
    );
}

#[tokio::test]
async fn an_html_body_where_graphql_json_was_expected_is_a_changed_format() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(html_body(fixture("past_the_end.html")))
        .expect(1)
        .mount(&server)
        .await;
    let f = fetcher(&server);
    let mut src = source::open(&spec(&server, goszakup()), None).unwrap();
    let err = src.next_page(&f).await.unwrap_err();
    assert!(matches!(err, SourceError::ChangedFormat { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("/v3/graphql") && msg.contains("HTML"), "{msg}");
    assert!(msg.contains("test-goszakup"), "{msg}");
}

#[tokio::test]
async fn a_graphql_errors_body_is_an_api_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(json_body(fixture("graphql_errors.json")))
        .expect(1)
        .mount(&server)
        .await;
    let f = fetcher(&server);
    let mut src = source::open(&spec(&server, goszakup()), None).unwrap();
    let err = src.next_page(&f).await.unwrap_err();
    let SourceError::Api { message, url, .. } = &err else {
        panic!("expected an API error, got {err:?}");
    };
    assert!(message.contains("Cannot query field"), "{message}");
    assert!(url.ends_with("/v3/graphql"));
}

#[tokio::test]
async fn a_cursor_that_does_not_move_stops_the_source() {
    let server = MockServer::start().await;
    // Every page says there is more, and always the same lastId.
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(json_body(fixture_on(&server, "graphql_page1.json")))
        .expect(2)
        .mount(&server)
        .await;
    let f = fetcher(&server);
    let mut src = source::open(&spec(&server, goszakup()), None).unwrap();
    let first = src.next_page(&f).await.unwrap().unwrap();
    assert_eq!(first.records.len(), 2);
    let err = src.next_page(&f).await.unwrap_err();
    let SourceError::StuckCursor { cursor, .. } = &err else {
        panic!("expected a stuck cursor, got {err:?}");
    };
    assert!(cursor.contains("17163700"), "{cursor}");
}

#[tokio::test]
async fn missing_token_and_bad_cursor_are_errors() {
    // (An unknown kind never gets this far: the kind is an enum, and the config refuses a
    // name it does not know, naming the line.)
    let server = MockServer::start().await;
    let mut s = spec(&server, goszakup());
    s.token = None;
    let err = source::open(&s, None).err().unwrap();
    assert!(matches!(err, SourceError::MissingToken { .. }), "{err:?}");
    assert!(err.to_string().contains("test-goszakup"));
    let s = spec(&server, goszakup());
    assert!(matches!(
        source::open(&s, Some("not json")).err().unwrap(),
        SourceError::BadCursor { .. }
    ));
    // The token never shows in a Debug print of the spec.
    assert!(!format!("{s:?}").contains(TOKEN));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[test]
fn default_allowed_hosts_cover_the_api_and_the_attachments() {
    let ows = Url::parse("https://ows.goszakup.gov.kz").unwrap();
    assert_eq!(
        source::default_allowed_hosts(&goszakup(), &ows),
        ["ows.goszakup.gov.kz", "v3bl.goszakup.gov.kz"]
    );
    let site = Url::parse("https://goszakup.gov.kz").unwrap();
    assert_eq!(
        source::default_allowed_hosts(&goszakup_html(&[]), &site),
        [
            "goszakup.gov.kz",
            "www.goszakup.gov.kz",
            "v3bl.goszakup.gov.kz"
        ]
    );
    // many of the site's own links use www.: the same site
    let www = Url::parse("https://www.goszakup.gov.kz").unwrap();
    assert_eq!(
        source::default_allowed_hosts(&goszakup_html(&[]), &www),
        [
            "www.goszakup.gov.kz",
            "goszakup.gov.kz",
            "v3bl.goszakup.gov.kz"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// The fetch layer.

#[tokio::test]
async fn a_503_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/trd-buy/17163708"))
        .respond_with(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/trd-buy/17163708"))
        .respond_with(json_body(r#"{"id":17163708}"#.into()))
        .expect(1)
        .mount(&server)
        .await;
    let url = Url::parse(&format!("{}/v3/trd-buy/17163708", server.uri())).unwrap();
    let resp = fetcher(&server).get(&url, &[]).await.unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(&resp.body[..], br#"{"id":17163708}"#);
    assert_eq!(
        resp.content_type.as_deref(),
        Some("application/json; charset=UTF-8")
    );
    assert_eq!(resp.url, url);
}

#[tokio::test]
async fn a_503_that_never_ends_gives_up_after_max_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<h1>Service   Unavailable</h1>"))
        .expect(4)
        .mount(&server)
        .await;
    let url = Url::parse(&format!("{}/v3/lots", server.uri())).unwrap();
    let err = fetcher(&server).get(&url, &[]).await.unwrap_err();
    let FetchError::Status {
        status,
        body_excerpt,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!(*status, 503);
    assert_eq!(body_excerpt, "<h1>Service Unavailable</h1>");
    assert!(err.to_string().contains("/v3/lots"));
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(json_body(r#"{"data":{"TrdBuy":[]}}"#.into()))
        .expect(1)
        .mount(&server)
        .await;
    let url = Url::parse(&format!("{}/v3/graphql", server.uri())).unwrap();
    let started = Instant::now();
    let resp = fetcher(&server)
        .post_json(&url, &[], &json!({"query": "{}"}))
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(resp.status, 200);
    // The back-off alone would be ~10 ms: the server's second was honoured.
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
}

#[tokio::test]
async fn retry_after_is_capped_by_max_backoff() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "3600"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let mut s = settings();
    s.allowed_hosts = vec![host_port(&server)];
    s.max_backoff = Duration::from_millis(300);
    let url = Url::parse(&format!("{}/x", server.uri())).unwrap();
    let started = Instant::now();
    // Uncapped, the server's hour would be waited: a minute (200 times the cap) is far from
    // both, so a loaded machine cannot make this flake.
    tokio::time::timeout(
        Duration::from_secs(60),
        Fetcher::new(s).unwrap().get(&url, &[]),
    )
    .await
    .expect("Retry-After: 3600 was not capped by max_backoff")
    .unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(290), "{waited:?}");
}

#[tokio::test]
async fn a_bad_token_fails_clearly_after_a_few_tries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_raw(fixture("rest_403.json").into_bytes(), "application/json"),
        )
        .expect(3) // the first try and forbidden_retries = 2
        .mount(&server)
        .await;
    let f = fetcher(&server);
    let mut src = source::open(&spec(&server, goszakup()), None).unwrap();
    let err = src.next_page(&f).await.unwrap_err();
    let msg = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(msg.contains("bad token?"), "{msg}");
    assert!(msg.contains("403") && msg.contains("/v3/graphql"), "{msg}");
    assert!(!msg.contains(TOKEN) && !format!("{err:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_401_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_raw(fixture("rest_401.json").into_bytes(), "application/json"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let url = Url::parse(&format!("{}/v3/trd-buy", server.uri())).unwrap();
    let err = fetcher(&server)
        .get(&url, &[("Authorization", format!("Bearer {TOKEN}"))])
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("bad token?"));
}

#[tokio::test]
async fn a_hanging_response_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            json_body(r#"{"data":{"TrdBuy":[]}}"#.into()).set_delay(Duration::from_secs(10)),
        )
        .expect(2) // one retry
        .mount(&server)
        .await;
    let mut s = settings();
    s.allowed_hosts = vec![host_port(&server)];
    s.timeout = Duration::from_millis(300);
    s.max_retries = 1;
    let url = Url::parse(&format!("{}/v3/graphql", server.uri())).unwrap();
    let started = Instant::now();
    let err = Fetcher::new(s)
        .unwrap()
        .post_json(&url, &[], &json!({}))
        .await
        .unwrap_err();
    // The response would come after 10 s: a timeout error proves the client gave up.
    assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out"));
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "two tries of 300 ms"
    );
}

#[tokio::test]
async fn an_attachment_over_the_size_limit_is_too_large() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/files/download_file/292795313/"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![b'%'; 5000], "application/pdf"))
        .expect(1) // never retried
        .mount(&server)
        .await;
    let mut s = settings();
    s.allowed_hosts = vec![host_port(&server)];
    s.max_body_bytes = 4096;
    let url = Url::parse(&format!("{}/files/download_file/292795313/", server.uri())).unwrap();
    let err = Fetcher::new(s).unwrap().get(&url, &[]).await.unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { limit: 4096, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("292795313"));
}

/// A server that answers every connection with `response` verbatim and closes it.
async fn raw_server(response: Vec<u8>) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let response = response.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = sock.write_all(&response).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (addr, hits)
}

#[tokio::test]
async fn a_chunked_body_is_cut_off_at_the_size_limit() {
    let mut resp = b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..8 {
        resp.extend_from_slice(b"400\r\n");
        resp.extend_from_slice(&[b'z'; 0x400]);
        resp.extend_from_slice(b"\r\n");
    }
    resp.extend_from_slice(b"0\r\n\r\n");
    let (addr, hits) = raw_server(resp).await;
    let mut s = settings();
    s.allowed_hosts = vec![addr.to_string()];
    s.max_body_bytes = 3000; // no Content-Length to check first: the stream is counted
    let url = Url::parse(&format!("http://{addr}/files/download_file/1/")).unwrap();
    let err = Fetcher::new(s).unwrap().get(&url, &[]).await.unwrap_err();
    assert!(
        matches!(err, FetchError::TooLarge { limit: 3000, .. }),
        "{err:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_truncated_body_is_retried_then_reported() {
    let resp = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n{\"items\": [".to_vec();
    let (addr, hits) = raw_server(resp).await;
    let mut s = settings();
    s.allowed_hosts = vec![addr.to_string()];
    s.max_retries = 2;
    let url = Url::parse(&format!("http://{addr}/v3/trd-buy")).unwrap();
    let err = Fetcher::new(s).unwrap().get(&url, &[]).await.unwrap_err();
    assert!(matches!(err, FetchError::Truncated { .. }), "{err:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_attachment_on_a_host_not_allowed_is_never_requested() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("should not be fetched"))
        .mount(&server)
        .await;
    // The same server under another name: reachable, but not an allowed host.
    let port = Url::parse(&server.uri()).unwrap().port().unwrap();
    let url = Url::parse(&format!("http://localhost:{port}/files/download_file/1/")).unwrap();
    let f = fetcher(&server);
    assert!(!f.is_allowed(&url));
    let err = f.get(&url, &[]).await.unwrap_err();
    assert!(matches!(err, FetchError::HostNotAllowed { .. }), "{err:?}");
    assert!(err.to_string().contains("localhost"));
    assert!(server.received_requests().await.unwrap().is_empty());
    // A narrower view of the same client refuses 127.0.0.1 too.
    let narrow = f.with_allowed_hosts(&["v3bl.goszakup.gov.kz".to_string()]);
    let ok_url = Url::parse(&format!("{}/files/download_file/1/", server.uri())).unwrap();
    assert!(matches!(
        narrow.get(&ok_url, &[]).await.unwrap_err(),
        FetchError::HostNotAllowed { .. }
    ));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_redirect_to_a_host_not_allowed_is_not_followed() {
    let server = MockServer::start().await;
    let port = Url::parse(&server.uri()).unwrap().port().unwrap();
    Mock::given(method("GET"))
        .and(path("/files/download_file/7/"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "Location",
            format!("http://localhost:{port}/elsewhere").as_str(),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/download_file/8/"))
        .respond_with(
            ResponseTemplate::new(301).insert_header("Location", "/files/download_file/9/"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/files/download_file/9/"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(b"PK\x03\x04".to_vec(), "application/zip"),
        )
        .mount(&server)
        .await;
    let f = fetcher(&server);
    let bad = Url::parse(&format!("{}/files/download_file/7/", server.uri())).unwrap();
    let err = f.get(&bad, &[]).await.unwrap_err();
    let FetchError::HostNotAllowed { url } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(url.host_str(), Some("localhost"));
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs.iter().all(|r| r.url.path() != "/elsewhere"));
    // A redirect on an allowed host is followed.
    let good = Url::parse(&format!("{}/files/download_file/8/", server.uri())).unwrap();
    let resp = f.get(&good, &[]).await.unwrap();
    assert_eq!(resp.url.path(), "/files/download_file/9/");
    assert_eq!(&resp.body[..], b"PK\x03\x04");
}

#[tokio::test]
async fn the_rate_limit_spaces_requests_to_one_host() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(4)
        .mount(&server)
        .await;
    let mut s = settings();
    s.allowed_hosts = vec![host_port(&server)];
    s.requests_per_second = 10.0;
    let f = Fetcher::new(s).unwrap();
    let url = Url::parse(&format!("{}/ru/search/announce", server.uri())).unwrap();
    let started = Instant::now();
    let (a, b) = tokio::join!(f.get(&url, &[]), f.get(&url, &[]));
    a.unwrap();
    b.unwrap();
    f.clone().get(&url, &[]).await.unwrap();
    f.get(&url, &[]).await.unwrap();
    // Four requests at 10 per second: the last leaves at least 300 ms after the first.
    assert!(
        started.elapsed() >= Duration::from_millis(290),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_ca_file_that_is_not_a_certificate_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("nca.pem");
    std::fs::write(&bad, "not a certificate").unwrap();
    let mut s = settings();
    s.ca_file = Some(bad.clone());
    let err = Fetcher::new(s).unwrap_err();
    assert!(matches!(err, FetchError::Config(_)), "{err:?}");
    assert!(err.to_string().contains("nca.pem"), "{err}");
    let mut s = settings();
    s.ca_file = Some(dir.path().join("missing.pem"));
    assert!(
        Fetcher::new(s)
            .unwrap_err()
            .to_string()
            .contains("missing.pem")
    );
}

// ---------------------------------------------------------------------------------------------
// goszakup-html

async fn html_server() -> MockServer {
    let server = MockServer::start().await;
    let search = |term: &'static str, file: &'static str| {
        Mock::given(method("GET"))
            .and(path("/ru/search/announce"))
            .and(query_param("filter[name]", term))
            .and(query_param("count_record", "50"))
            .and(query_param("page", "1"))
            .respond_with(html_body(fixture(file)))
            .expect(1)
    };
    search("SMM", "search_smm.html").mount(&server).await;
    search("социальных сетях", "search_social.html")
        .mount(&server)
        .await;
    for (id, file) in [
        ("16776705", "announce_16776705_documents.html"),
        ("16776800", "announce_16776800_documents.html"),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/ru/announce/index/{id}").as_str()))
            .and(query_param("tab", "documents"))
            .respond_with(html_body(fixture(file)))
            .expect(1) // once per run, although 16776705 matches both terms
            .mount(&server)
            .await;
    }
    for (ids, file) in [
        ("16776705/125", "files_16776705_125.html"),
        ("16776705/3", "files_16776705_3.html"),
        ("16776800/125", "files_16776800_125.html"),
    ] {
        Mock::given(method("GET"))
            .and(path(
                format!("/ru/announce/actionAjaxModalShowFiles/{ids}").as_str(),
            ))
            .respond_with(html_body(fixture_on(&server, file)))
            .expect(1)
            .mount(&server)
            .await;
    }
    server
}

#[tokio::test]
async fn goszakup_html_reads_search_pages_and_documents() {
    let server = html_server().await;
    let mut s = spec(&server, goszakup_html(&["SMM", "социальных сетях"]));
    s.token = None; // the public pages need none
    s.since = chrono::NaiveDate::from_ymd_opt(2024, 1, 1);
    let f = fetcher(&server);
    let mut src = source::open(&s, None).unwrap();
    let pages = drain(src.as_mut(), &f).await.unwrap();
    assert_eq!(pages.len(), 2, "one search page per term");
    assert!(!pages[0].done && pages[1].done);
    let c0: Value = serde_json::from_str(pages[0].cursor.as_deref().unwrap()).unwrap();
    assert_eq!(
        (c0["term"].clone(), c0["page"].clone()),
        (json!(1), json!(1))
    );

    let recs = records(&pages);
    let ids: Vec<&str> = recs.iter().map(|r| r.external_id.as_str()).collect();
    // 16776705 again under the second term is not repeated; 15000001 is older than `since`.
    assert_eq!(ids, ["16776705", "16776800"]);

    let smm = recs[0];
    assert_eq!(smm.number.as_deref(), Some("16776705-1"));
    assert_eq!(
        smm.title,
        "Услуги SMM для продвижения акимата в социальных сетях"
    );
    assert_eq!(smm.amount, Some(710338.8));
    assert_eq!(smm.currency.as_deref(), Some("KZT"));
    assert_eq!(smm.method.as_deref(), Some("Запрос ценовых предложений"));
    assert_eq!(
        smm.status.as_deref(),
        Some("Опубликовано (прием ценовых предложений)")
    );
    assert_eq!(
        smm.url.as_deref(),
        Some("https://goszakup.gov.kz/ru/announce/index/16776705")
    );
    let agency = smm.agency.as_ref().unwrap();
    assert_eq!(
        agency.name_ru.as_deref(),
        Some("ГУ \"Отдел внутренней политики Бостандыкского района\"")
    );
    let published = smm.published.as_ref().unwrap();
    assert_eq!(published.original, "2026-04-15 22:46:05");
    assert_eq!(
        published.utc.unwrap().to_rfc3339(),
        "2026-04-15T17:46:05+00:00"
    );
    // Its evidence: the search page, the documents tab and its two file lists, as served.
    let bodies: Vec<&[u8]> = smm.payloads.iter().map(|p| &p.body[..]).collect();
    assert_eq!(
        bodies,
        [
            fixture("search_smm.html").as_bytes(),
            fixture("announce_16776705_documents.html").as_bytes(),
            fixture_on(&server, "files_16776705_125.html").as_bytes(),
            fixture_on(&server, "files_16776705_3.html").as_bytes(),
        ]
    );

    assert_eq!(smm.documents.len(), 2);
    let spec_doc = &smm.documents[0];
    assert!(spec_doc.is_spec);
    assert_eq!(
        spec_doc.url,
        format!("{}/files/download_file/300000001/", server.uri())
    );
    assert_eq!(spec_doc.file_name.as_deref(), Some("techspec_16776705.pdf"));
    assert_eq!(spec_doc.media_type.as_deref(), Some("application/pdf"));
    assert_eq!(
        spec_doc.title.as_deref(),
        Some("Техническая спецификация (лот 81638850-ЗЦП1)")
    );
    assert!(!smm.documents[1].is_spec);
    assert_eq!(
        smm.documents[1].file_name.as_deref(),
        Some("dogovor_81638850.docx")
    );

    let old = recs[1];
    assert_eq!(old.amount, Some(1_200_000.0));
    // Bid intake began 2024-02-26 09:00 in Almaty, then UTC+6.
    assert_eq!(
        old.published.as_ref().unwrap().utc.unwrap().to_rfc3339(),
        "2024-02-26T03:00:00+00:00"
    );
    // A relative file link resolves against the page it is on.
    assert_eq!(
        old.documents[0].url,
        format!("{}/files/download_file/300000010/", server.uri())
    );
    assert!(old.documents[0].is_spec);

    // The final cursor starts the next run from yesterday, at the first term.
    let last: Value = serde_json::from_str(pages[1].cursor.as_deref().unwrap()).unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Almaty)
        .date_naive();
    assert_eq!(
        last["from"],
        json!((today - chrono::Days::new(1)).to_string())
    );
    assert_eq!(last["term"], json!(0));
}

#[tokio::test]
async fn goszakup_html_reports_a_changed_page_with_its_url_and_selector() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ru/search/announce"))
        .respond_with(html_body(fixture("search_redesigned.html")))
        .expect(1)
        .mount(&server)
        .await;
    let f = fetcher(&server);
    let mut src = source::open(
        &spec(&server, goszakup_html(&["SMM", "социальных сетях"])),
        None,
    )
    .unwrap();
    let err = src.next_page(&f).await.unwrap_err();
    let SourceError::ChangedFormat { url, what, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        url.contains("/ru/search/announce") && url.contains("page=1"),
        "{url}"
    );
    assert!(what.contains("table#search-result"), "{what}");
}

#[tokio::test]
async fn goszakup_html_keeps_notices_whose_documents_are_gone_but_fails_on_server_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/ru/search/announce"))
        .and(query_param("filter[name]", "SMM"))
        .respond_with(html_body(fixture("search_smm.html")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ru/announce/index/16776705"))
        .respond_with(ResponseTemplate::new(404).set_body_string("Not Found"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ru/announce/index/16776800"))
        .respond_with(ResponseTemplate::new(500).set_body_string("Internal Server Error"))
        .expect(4) // the first try and max_retries = 3
        .mount(&server)
        .await;
    let mut s = spec(&server, goszakup_html(&["SMM"]));
    s.since = chrono::NaiveDate::from_ymd_opt(2024, 1, 1);
    let f = fetcher(&server);
    let mut src = source::open(&s, None).unwrap();
    let err = src.next_page(&f).await.unwrap_err();
    assert!(
        err.to_string().contains("/ru/announce/index/16776800"),
        "{err}"
    );

    server.verify().await;

    // Once the server error is over, the same page is read again and both notices come. The
    // real site answers a missing announcement with 302 to /system_error/not_found: gone too.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/ru/search/announce"))
        .respond_with(html_body(fixture("search_smm.html")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ru/announce/index/16776705"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", "/system_error/not_found"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/system_error/not_found"))
        .respond_with(html_body(
            "<html><body><h1>Страница не найдена</h1></body></html>".to_string(),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ru/announce/index/16776800"))
        .respond_with(html_body(fixture("announce_16776800_documents.html")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ru/announce/actionAjaxModalShowFiles/16776800/125"))
        .respond_with(html_body(fixture_on(&server, "files_16776800_125.html")))
        .mount(&server)
        .await;
    let page = src.next_page(&f).await.unwrap().unwrap();
    assert!(page.done);
    assert_eq!(page.records.len(), 2);
    assert!(
        page.records[0].documents.is_empty(),
        "a gone documents tab leaves no documents"
    );
    assert_eq!(page.records[1].documents.len(), 1);
    server.verify().await;
}

/// An HTTPS server on 127.0.0.1 with the test certificates (`tests/support/tls`: a CA and
/// a leaf it signed for 127.0.0.1, as a portal whose certificate comes from a national CA
/// looks; rustls refuses a self-signed server certificate). Every request gets 200 and
/// `BODY`; the task ends with the test's runtime.
async fn https_server() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const BODY: &str = "tenderscan test https server";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = crate::smtp::tls_acceptor();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to do.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
                    BODY.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

#[tokio::test]
async fn ca_file_adds_a_root_and_verification_stays_on() {
    let port = https_server().await;
    let url = Url::parse(&format!("https://127.0.0.1:{port}/")).unwrap();
    let mut s = settings();
    s.allowed_hosts = vec![format!("127.0.0.1:{port}")];
    s.max_retries = 0;

    // Without the CA the certificate is refused.
    let err = Fetcher::new(s.clone())
        .unwrap()
        .get(&url, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Network { .. }), "{err:?}");
    let mut chain = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(c) = cause {
        chain.push_str(&format!(": {c}"));
        cause = c.source();
    }
    assert!(chain.to_lowercase().contains("certificate"), "{chain}");

    // With it, the same server is trusted.
    s.ca_file = Some(crate::smtp::tls_file("ca.pem"));
    let resp = Fetcher::new(s).unwrap().get(&url, &[]).await.unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(
        String::from_utf8_lossy(&resp.body),
        "tenderscan test https server"
    );
}

#[tokio::test]
async fn at_most_max_in_flight_requests_run_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(300)))
        .expect(3)
        .mount(&server)
        .await;
    let mut s = settings();
    s.allowed_hosts = vec![host_port(&server)];
    s.max_in_flight = 1;
    let f = Fetcher::new(s).unwrap();
    let url = Url::parse(&format!("{}/files/download_file/1/", server.uri())).unwrap();
    let started = Instant::now();
    let (a, b, c) = tokio::join!(f.get(&url, &[]), f.get(&url, &[]), f.get(&url, &[]));
    a.unwrap();
    b.unwrap();
    c.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(880),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_source_whose_url_is_not_among_its_allowed_hosts_is_refused() {
    let server = MockServer::start().await;
    let mut s = spec(&server, goszakup());
    s.allowed_hosts = vec!["ows.goszakup.gov.kz".into(), "v3bl.goszakup.gov.kz".into()];
    let err = source::open(&s, None).err().unwrap();
    assert!(matches!(err, SourceError::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("127.0.0.1"), "{err}");
}

#[tokio::test]
async fn an_empty_graphql_body_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    let mut listing: Value =
        serde_json::from_str(&fixture_on(&server, "graphql_page1.json")).unwrap();
    listing["extensions"]["pageInfo"]["hasNextPage"] = json!(false);
    Mock::given(method("POST"))
        .respond_with(json_body(listing.to_string()))
        .expect(1)
        .mount(&server)
        .await;
    let f = fetcher(&server);
    let mut src = source::open(&spec(&server, goszakup()), None).unwrap();
    let page = src.next_page(&f).await.unwrap().unwrap();
    assert_eq!(page.records.len(), 2);
}

#[tokio::test]
async fn a_journal_next_page_that_does_not_move_stops_the_source() {
    let server = MockServer::start().await;
    let mut listing: Value =
        serde_json::from_str(&fixture_on(&server, "graphql_page1.json")).unwrap();
    listing["extensions"]["pageInfo"]["hasNextPage"] = json!(false);
    Mock::given(method("POST"))
        .and(listing_without_after)
        .respond_with(json_body(listing.to_string()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(by_id)
        .respond_with(json_body(fixture_on(&server, "graphql_by_id.json")))
        .mount(&server)
        .await;
    // Every journal page points to the same next page.
    Mock::given(method("GET"))
        .and(path("/v3/journal"))
        .respond_with(json_body(fixture("journal_page1.json")))
        .expect(2)
        .mount(&server)
        .await;
    let f = fetcher(&server);
    let mut src = source::open(&spec(&server, goszakup()), None).unwrap();
    src.next_page(&f).await.unwrap().unwrap();
    src.next_page(&f).await.unwrap().unwrap();
    let err = src.next_page(&f).await.unwrap_err();
    assert!(matches!(err, SourceError::StuckCursor { .. }), "{err:?}");
    assert!(err.to_string().contains("search_after=9000"), "{err}");
}

fn query_has(what: &'static str) -> impl Fn(&Request) -> bool + Send + Sync {
    move |r| {
        r.body_json::<Value>()
            .ok()
            .and_then(|b| b["query"].as_str().map(|q| q.contains(what)))
            .unwrap_or(false)
    }
}

fn contract_answer(items: Value, has_next: bool, last: Value) -> String {
    json!({"data": {"Contract": items},
        "extensions": {"pageInfo": {"limitPage": 50, "totalCount": 2, "hasNextPage": has_next, "lastId": last}}})
    .to_string()
}

/// After the announcements and the journal, the `Contract` root is paged with its own
/// `after`, and a cursor saved mid-way resumes there without reading announcements again.
#[tokio::test]
async fn contracts_are_paged_after_the_journal_with_their_own_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .and(query_has("TrdBuy("))
        .respond_with(json_body(
            r#"{"data":{"TrdBuy":[]},"extensions":{"pageInfo":{"hasNextPage":false,"lastId":null}}}"#
                .into(),
        ))
        .mount(&server)
        .await;
    mount_journal_empty(&server).await;
    let attached = json!([{"id": 880001, "trdBuyId": 17163708, "trdBuyNumberAnno": "17163708-1",
        "trdBuyNameRu": "Услуги SMM", "supplierBiin": "051140001234", "contractSum": 700000,
        "customerBin": "060240012345", "RefContractStatus": {"nameRu": "Действует"}, "File": []}]);
    let direct = json!([{"id": 880002, "trdBuyId": null, "supplierBiin": "850101300123",
        "contractSum": 1300000, "contractNumber": "060240012345/260002/00",
        "descriptionRu": "Ведение аккаунтов", "FaktTradeMethods": {"nameRu": "Из одного источника"},
        "File": [{"nameRu": "Техническая спецификация", "originalName": "techspec_1.docx",
            "filePath": format!("{}/files/download_file/1/", server.uri())}]}]);
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .and(query_has("Contract("))
        .and(|r: &Request| vars(r).get("after").is_none())
        .respond_with(json_body(contract_answer(attached, true, json!(880001))))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .and(query_has("Contract("))
        .and(after_is(json!(880001)))
        .respond_with(json_body(contract_answer(direct, false, json!(880002))))
        .expect(2)
        .mount(&server)
        .await;
    let f = fetcher(&server);
    let kind = SourceKind::Goszakup(GoszakupSettings {
        contracts: true,
        plans: false,
    });
    let mut src = source::open(&spec(&server, kind.clone()), None).unwrap();
    let pages = drain(src.as_mut(), &f).await.unwrap();
    assert_eq!(pages.len(), 4, "announcements, journal, two contract pages");
    assert!(pages[..3].iter().all(|p| !p.done) && pages[3].done);
    let cursor =
        |p: &Page| -> Value { serde_json::from_str(p.cursor.as_deref().unwrap()).unwrap() };
    let (c1, c2, c3) = (cursor(&pages[1]), cursor(&pages[2]), cursor(&pages[3]));
    assert_eq!(c1["phase"], "contracts");
    assert_eq!(c1["contracts"]["after"], Value::Null);
    assert_eq!(c2["phase"], "contracts");
    assert_eq!(c2["contracts"]["after"], json!(880001));
    assert_eq!(
        c2["contracts"]["from"], c1["from"],
        "the first crawl starts both together"
    );
    assert_eq!(c3["phase"], "graphql");
    assert_eq!(c3["contracts"]["after"], Value::Null);
    assert_eq!(c3["contracts"]["from"], c3["from"]);

    let recs = records(&pages);
    assert_eq!(recs.len(), 2);
    assert!(recs[0].attach && recs[0].external_id == "17163708");
    assert_eq!(recs[0].awards[0].external_id, "contract-880001");
    assert!(!recs[1].attach);
    assert_eq!(recs[1].external_id, "contract-880002");
    assert_eq!(recs[1].method.as_deref(), Some("Из одного источника"));
    assert!(recs[1].documents[0].is_spec);
    // No subject answer (404 here): the supplier keeps its BIN, without a name.
    assert_eq!(recs[1].awards[0].suppliers[0].id, "850101300123");
    assert_eq!(recs[1].awards[0].suppliers[0].name, None);
    // The evidence of a contract is the Contract answer it came in.
    assert!(
        std::str::from_utf8(&recs[1].payloads[0].body)
            .unwrap()
            .contains("\"Contract\"")
    );
    // The window is the contracts' own, the same filter as announcements.
    let reqs = server.received_requests().await.unwrap();
    let first_contract = reqs.iter().find(|r| query_has("Contract(")(r)).unwrap();
    assert_eq!(
        vars(first_contract)["filter"]["lastUpdateDate"][0],
        c1["contracts"]["from"]
    );
    let query = first_contract.body_json::<Value>().unwrap()["query"]
        .as_str()
        .unwrap()
        .to_string();
    for field in [
        "File { nameRu filePath originalName }",
        "ContractUnits {",
        "FaktTradeMethods",
        "RefContractStatus",
        "supplierBiin",
        "supplierLegalAddress",
        "trdBuyId",
    ] {
        assert!(query.contains(field), "query lacks {field}: {query}");
    }

    // Resumed from the cursor saved after the first contract page: contracts only.
    let before = reqs.len();
    let mut src = source::open(&spec(&server, kind), pages[2].cursor.as_deref()).unwrap();
    let resumed = drain(src.as_mut(), &f).await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].records[0].external_id, "contract-880002");
    let reqs = server.received_requests().await.unwrap();
    assert!(
        reqs[before..]
            .iter()
            .filter(|r| r.url.path() == "/v3/graphql")
            .all(|r| query_has("Contract(")(r) && vars(r)["after"] == json!(880001)),
        "a resumed contracts phase reads no announcements"
    );
}

/// goszakup's 403 and 500 pass after a long wait: both are retried after
/// `refused_backoff` (not the short back-off), and the same request then goes through.
#[tokio::test]
async fn a_refusal_403_or_500_is_retried_after_the_long_back_off() {
    for status in [403u16, 500] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v3/trd-buy"))
            .respond_with(ResponseTemplate::new(status).set_body_string("refused"))
            .up_to_n_times(2)
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v3/trd-buy"))
            .respond_with(json_body(r#"{"items": []}"#.into()))
            .expect(1)
            .mount(&server)
            .await;
        let mut s = settings();
        s.allowed_hosts = vec![host_port(&server)];
        s.backoff_base = Duration::from_millis(1);
        s.max_backoff = Duration::from_millis(5);
        s.refused_backoff = Duration::from_millis(300);
        s.max_retries = 3;
        let url = Url::parse(&format!("{}/v3/trd-buy", server.uri())).unwrap();
        let started = Instant::now();
        let resp = Fetcher::new(s).unwrap().get(&url, &[]).await.unwrap();
        assert_eq!(resp.status, 200, "after two {status}s");
        // Two waits of at least the refusal back-off, though max_backoff is 5 ms.
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(600), "{status}: {waited:?}");
    }
}

/// A body that trickles in (a byte every 50 ms, never ending) is cut off by the
/// request's deadline, which covers the whole body, not each read.
#[tokio::test]
async fn a_body_that_trickles_forever_hits_the_whole_request_deadline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{\"items\": [";
                if sock.write_all(head).await.is_err() {
                    return;
                }
                loop {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    if sock.write_all(b" ").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let mut s = settings();
    s.allowed_hosts = vec![addr.to_string()];
    s.timeout = Duration::from_millis(500);
    s.max_retries = 1;
    let url = Url::parse(&format!("http://{addr}/v3/trd-buy")).unwrap();
    let err = tokio::time::timeout(
        Duration::from_secs(30),
        Fetcher::new(s).unwrap().get(&url, &[]),
    )
    .await
    .expect("the deadline did not cover the body")
    .unwrap_err();
    assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 2, "a timeout is retried");
}

/// A direct contract's notice is not asked for by id (no by-id filter of `Contract` is
/// known): no request is made, and an announcement still is.
#[tokio::test]
async fn a_direct_contract_is_not_rechecked_by_id_but_an_announcement_is() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .and(by_id)
        .respond_with(json_body(fixture_on(&server, "graphql_by_id.json")))
        .expect(1)
        .mount(&server)
        .await;
    let f = fetcher(&server);
    let mut src = source::open(&spec(&server, goszakup()), None).unwrap();
    assert!(matches!(
        src.recheck(&f, "contract-880002").await.unwrap(),
        source::Recheck::Unsupported
    ));
    let id =
        serde_json::from_str::<Value>(&fixture("graphql_by_id.json")).unwrap()["data"]["TrdBuy"][0]
            ["id"]
            .to_string()
            .trim_matches('"')
            .to_string();
    assert!(matches!(
        src.recheck(&f, &id).await.unwrap(),
        source::Recheck::Found(_)
    ));
}
