//! More sources: OCDS (paged API, record packages, gzipped bulk JSON Lines streamed from a
//! temporary file), configurable HTML listings, and Samruk-Kazyna, against real HTTP servers on
//! 127.0.0.1 serving tests/fixtures/{ocds,html,samruk} or data generated here. One test runs the
//! whole cycle through the binary with an OCDS release whose technical specification is a DOCX.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tenderscan::config::{
    HtmlSettings, HtmlTable, OcdsFormat, OcdsSettings, SamrukSettings, SourceConfig, SourceKind,
};
use tenderscan::fetch::{FetchSettings, Fetcher};
use tenderscan::model::NoticeRecord;
use tenderscan::source::{self, Page, Source, SourceError, SourceSpec};
use url::Url;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::util::{count, docx, tenderscan};

pub(crate) fn fixture(dir: &str, name: &str, server: &str) -> String {
    let p = format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{p}: {e}"))
        .replace("http://SERVER", server)
}

pub(crate) fn body(bytes: impl Into<Vec<u8>>, media: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(bytes.into(), media)
}

/// A fetcher allowed to reach `server` (its host and port) only.
pub(crate) fn fetcher(server: &MockServer) -> Fetcher {
    fetcher_for(&server.uri())
}

/// As [`fetcher`], sending `agent` as its User-Agent.
pub(crate) fn fetcher_with_agent(server: &MockServer, agent: &str) -> Fetcher {
    let mut settings = fetcher_for(&server.uri()).settings().clone();
    settings.user_agent = agent.into();
    Fetcher::new(settings).unwrap()
}

/// A fetcher allowed to reach the host and port of `url` only (a bare host would allow its
/// default port only).
fn fetcher_for(url: &str) -> Fetcher {
    Fetcher::new(FetchSettings {
        user_agent: "tenderscan-test/0.1 (+mailto:ops@example.org)".into(),
        requests_per_second: 0.0,
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        max_body_bytes: 1024 * 1024,
        max_retries: 2,
        backoff_base: Duration::from_millis(10),
        max_backoff: Duration::from_millis(200),
        allowed_hosts: vec![host_port(url)],
        ca_file: None,
        max_in_flight: 4,
        forbidden_retries: 0,
        refused_backoff: Duration::from_millis(10),
    })
    .unwrap()
}

pub(crate) fn spec(url: &str, kind: SourceKind) -> SourceSpec {
    let mut config = SourceConfig::new(
        format!("test-{}", kind.name()),
        Url::parse(url).unwrap(),
        kind,
    );
    config.lookback_days = 3;
    SourceSpec {
        config,
        token: None,
        since: None,
        until: None,
        allowed_hosts: vec![host_port(url)],
    }
}

fn ocds(settings: OcdsSettings) -> SourceKind {
    SourceKind::Ocds(settings)
}

/// `127.0.0.1:PORT` of a test URL.
fn host_port(url: &str) -> String {
    let u = Url::parse(url).unwrap();
    format!(
        "{}:{}",
        u.host_str().unwrap(),
        u.port_or_known_default().unwrap()
    )
}

pub(crate) async fn drain(src: &mut dyn Source, f: &Fetcher) -> Result<Vec<Page>, SourceError> {
    let mut pages = Vec::new();
    for _ in 0..100 {
        match src.next_page(f).await? {
            Some(p) => pages.push(p),
            None => return Ok(pages),
        }
    }
    panic!("the source did not end within 100 pages");
}

pub(crate) fn records(pages: &[Page]) -> Vec<&NoticeRecord> {
    pages.iter().flat_map(|p| &p.records).collect()
}

fn by_id<'a>(recs: &[&'a NoticeRecord], id: &str) -> &'a NoticeRecord {
    recs.iter()
        .find(|r| r.external_id == id)
        .unwrap_or_else(|| panic!("no record {id}"))
}

// ---------------------------------------------------------------------------------------------
// OCDS

async fn ocds_api_server() -> MockServer {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path("/api/releases"))
        .and(query_param("page", "2"))
        .respond_with(body(
            fixture("ocds", "releases_page2.json", &uri),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/releases"))
        .respond_with(body(
            fixture("ocds", "releases_page1.json", &uri),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn ocds_api_follows_links_next_and_merges_releases_of_one_ocid() {
    let server = ocds_api_server().await;
    let url = format!("{}/api/releases", server.uri());
    let options = OcdsSettings {
        notice_url: Some("https://prozorro.example/tender/{ocid}".into()),
        ..Default::default()
    };
    let mut src = source::open(&spec(&url, ocds(options)), None).unwrap();
    let f = fetcher(&server);
    let pages = drain(src.as_mut(), &f).await.unwrap();
    assert_eq!(pages.len(), 2);
    assert!(!pages[0].done && pages[1].done);
    let recs = records(&pages);
    assert_eq!(recs.len(), 3, "two releases of one ocid are one notice");
    let smm = by_id(&recs, "ocds-test-UA-2026-11-20-000001");
    // The amendment (later date) wins field by field; what it leaves out stays.
    assert_eq!(smm.title, "Послуги SMM (зміни)");
    assert_eq!(smm.amount, Some(120000.0));
    assert_eq!(smm.currency.as_deref(), Some("UAH"));
    assert_eq!(smm.status.as_deref(), Some("active"));
    assert_eq!(smm.method.as_deref(), Some("aboveThresholdUA"));
    let d = smm.description.as_deref().unwrap();
    assert!(
        d.contains("соціальних мережах") && d.contains("ведення акаунтів"),
        "{d}"
    );
    let a = smm.agency.as_ref().unwrap();
    assert_eq!(
        (a.id.as_str(), a.scheme.as_deref()),
        ("04055024", Some("UA-EDR"))
    );
    assert_eq!(smm.region.as_deref(), Some("Дніпропетровська область"));
    let deadline = smm.deadline.as_ref().unwrap();
    assert_eq!(deadline.original, "2026-12-05T18:00:00+02:00");
    assert_eq!(
        deadline.utc.unwrap().to_rfc3339(),
        "2026-12-05T16:00:00+00:00"
    );
    assert!(smm.documents[0].is_spec);
    assert_eq!(
        smm.url.as_deref(),
        Some("https://prozorro.example/tender/ocds-test-UA-2026-11-20-000001")
    );
    let cancelled = by_id(&recs, "ocds-test-UA-2026-11-23-000003");
    assert_eq!(cancelled.status.as_deref(), Some("cancelled"));
    // The cursor stays on the last page, so the next run follows any page published after it.
    let cursor: Value = serde_json::from_str(pages[1].cursor.as_deref().unwrap()).unwrap();
    assert_eq!(
        cursor["page"],
        format!("{}/api/releases?page=2", server.uri())
    );
    let first: Value = serde_json::from_str(pages[0].cursor.as_deref().unwrap()).unwrap();
    assert_eq!(first["page"], cursor["page"]);
}

#[tokio::test]
async fn ocds_next_pointer_and_an_empty_last_page_like_prozorro() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let release = |ocid: &str| {
        json!({"ocid": ocid, "id": "1", "date": "2026-11-20T10:00:00+02:00",
            "tender": {"title": format!("Tender {ocid}"), "value": {"amount": 1, "currency": "UAH"}}})
    };
    Mock::given(method("GET"))
        .and(path("/api/2.5/tenders"))
        .and(query_param("offset", "2"))
        .respond_with(body(
            json!({"releases": [], "next_page": {"uri": format!("{uri}/api/2.5/tenders?offset=2")}})
                .to_string(),
            "application/json",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2.5/tenders"))
        .and(query_param("offset", "1"))
        .respond_with(body(
            json!({"releases": [release("b")], "next_page": {"uri": format!("{uri}/api/2.5/tenders?offset=2")}})
                .to_string(),
            "application/json",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2.5/tenders"))
        .respond_with(body(
            json!({"releases": [release("a")], "next_page": {"uri": "/api/2.5/tenders?offset=1"}})
                .to_string(),
            "application/json",
        ))
        .mount(&server)
        .await;
    let options = OcdsSettings {
        next_pointer: Some("/next_page/uri".into()),
        format: OcdsFormat::Api,
        ..Default::default()
    };
    let s = spec(&format!("{uri}/api/2.5/tenders"), ocds(options));
    let mut src = source::open(&s, None).unwrap();
    let f = fetcher(&server);
    let pages = drain(src.as_mut(), &f).await.unwrap();
    let ids: Vec<_> = records(&pages)
        .iter()
        .map(|r| r.external_id.clone())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    let last = pages.last().unwrap();
    assert!(last.done);
    let cursor = last.cursor.clone().unwrap();
    assert!(cursor.contains("offset=2"), "{cursor}");
    // The next run starts from the saved page (the end of the feed), not from the beginning.
    let mut again = source::open(&s, Some(&cursor)).unwrap();
    let pages = drain(again.as_mut(), &f).await.unwrap();
    assert_eq!(records(&pages).len(), 0);
}

#[tokio::test]
async fn ocds_record_package_takes_compiled_releases() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/records"))
        .respond_with(body(
            fixture("ocds", "record_package.json", &server.uri()),
            "application/json",
        ))
        .mount(&server)
        .await;
    let mut src = source::open(
        &spec(
            &format!("{}/api/records", server.uri()),
            ocds(OcdsSettings::default()),
        ),
        None,
    )
    .unwrap();
    let pages = drain(src.as_mut(), &fetcher(&server)).await.unwrap();
    let recs = records(&pages);
    assert_eq!(recs.len(), 2);
    let md1 = by_id(&recs, "ocds-test-MD-1");
    assert_eq!(md1.title, "Servicii de promovare online");
    assert_eq!(md1.status.as_deref(), Some("complete"));
    assert_eq!(md1.currency.as_deref(), Some("MDL"));
    assert_eq!(md1.agency.as_ref().unwrap().id, "1003600000000");
    // Who won, through `parties[]`, and the contract signed on the award.
    assert_eq!(md1.awards.len(), 1);
    let aw = &md1.awards[0];
    assert_eq!(
        (aw.external_id.as_str(), aw.status.as_deref(), aw.amount),
        ("MD-1-aw1", Some("active"), Some(148000.0))
    );
    assert_eq!(aw.suppliers.len(), 1);
    assert_eq!(
        (aw.suppliers[0].scheme.as_str(), aw.suppliers[0].id.as_str()),
        ("MD-IDNO", "1012600000001")
    );
    assert_eq!(aw.suppliers[0].name.as_deref(), Some("SRL Media Promo"));
    assert_eq!(
        (aw.contract_id.as_deref(), aw.contract_amount),
        (Some("MD-1-c1"), Some(147500.0))
    );
    assert_eq!(
        aw.contract_signed.as_ref().unwrap().original,
        "2026-11-15T12:00:00+02:00"
    );
    // A record without compiledRelease: its embedded releases are merged.
    let md2 = by_id(&recs, "ocds-test-MD-2");
    assert_eq!(md2.title, "New title");
    assert_eq!(md2.status.as_deref(), Some("active"));
    assert!(md2.awards.is_empty());
}

#[tokio::test]
async fn ocds_html_challenge_is_retried_then_reported_without_moving_the_cursor() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/releases"))
        .respond_with(body(
            "<html><body>Checking your browser…</body></html>",
            "text/html",
        ))
        .expect(3)
        .mount(&server)
        .await;
    let url = format!("{}/api/releases", server.uri());
    let mut src = source::open(&spec(&url, ocds(OcdsSettings::default())), None).unwrap();
    let err = src.next_page(&fetcher(&server)).await.unwrap_err();
    assert!(matches!(err, SourceError::Api { .. }), "{err}");
    assert!(err.to_string().contains("HTML"), "{err}");
}

/// `n_ocids` processes with `per` releases each, as JSON Lines; the releases of one ocid are
/// adjacent but out of date order, and only the latest carries the final title and amount.
fn bulk_lines(n_ocids: usize, per: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for o in 0..n_ocids {
        for k in (0..per).rev() {
            let latest = k == per - 1;
            let release = json!({
                "ocid": format!("ocds-bulk-{o:05}"),
                "id": format!("{o}-{k}"),
                "date": format!("2026-11-{:02}T10:00:00+02:00", 1 + k),
                "tag": [if k == 0 { "tender" } else { "tenderUpdate" }],
                "buyer": {"id": format!("B{}", o % 7), "name": format!("Buyer {}", o % 7)},
                "tender": if latest {
                    json!({"title": format!("Final {o}"), "value": {"amount": o as f64 + 0.5, "currency": "UAH"}})
                } else {
                    json!({"title": format!("Draft {o} v{k}"), "status": "active",
                        "value": {"amount": 1.0, "currency": "UAH"}})
                }
            });
            writeln!(out, "{release}").unwrap();
        }
    }
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

#[tokio::test]
async fn ocds_bulk_gzipped_jsonl_is_streamed_merged_and_resumable() {
    const OCIDS: usize = 1500;
    const PER: usize = 3;
    let server = MockServer::start().await;
    let gz = gzip(&bulk_lines(OCIDS, PER));
    Mock::given(method("GET"))
        .and(path("/bulk/full.jsonl.gz"))
        .respond_with(body(gz, "application/gzip"))
        .mount(&server)
        .await;
    let url = format!("{}/bulk/full.jsonl.gz", server.uri());
    let mut s = spec(&url, ocds(OcdsSettings::default()));
    s.config.name = "test-ocds-bulk".into();
    let f = fetcher(&server);
    let mut src = source::open(&s, None).unwrap();
    let pages = drain(src.as_mut(), &f).await.unwrap();
    // 1500 ocids in pages of 500, releases of an ocid never split across pages.
    assert_eq!(pages.len(), 3);
    let recs = records(&pages);
    assert_eq!(recs.len(), OCIDS);
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r.external_id, format!("ocds-bulk-{i:05}"));
        assert_eq!(r.title, format!("Final {i}"), "later date wins");
        assert_eq!(r.amount, Some(i as f64 + 0.5));
        assert_eq!(
            r.status.as_deref(),
            Some("active"),
            "kept from earlier releases"
        );
    }
    let c1: Value = serde_json::from_str(pages[0].cursor.as_deref().unwrap()).unwrap();
    assert_eq!(c1["line"], 500 * PER);
    assert_eq!(c1["file"], url);
    let last: Value = serde_json::from_str(pages[2].cursor.as_deref().unwrap()).unwrap();
    assert_eq!(last["lines"], OCIDS * PER);
    assert_eq!(last["line"], 0);
    // A killed run resumes after the lines already stored.
    let mut resumed = source::open(&s, pages[0].cursor.as_deref()).unwrap();
    let rest = drain(resumed.as_mut(), &f).await.unwrap();
    let rest = records(&rest);
    assert_eq!(rest.len(), OCIDS - 500);
    assert_eq!(rest[0].external_id, "ocds-bulk-00500");
    // The temporary file is gone once the source is dropped.
    drop(resumed);
    drop(src);
    let leftovers = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            n.starts_with(&format!(
                "tenderscan-{}-test_ocds_bulk-",
                std::process::id()
            ))
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn ocds_bulk_releases_of_one_ocid_on_nearby_pages_still_merge() {
    let mut data = Vec::new();
    let line = |ocid: &str, date: &str, tender: Value, buyer: Option<Value>| {
        let mut r = json!({"ocid": ocid, "id": date, "date": date, "tender": tender});
        if let Some(b) = buyer {
            r["buyer"] = b;
        }
        format!("{r}\n")
    };
    data.extend(
        line(
            "A",
            "2026-11-01T00:00:00Z",
            json!({"title": "A first", "value": {"amount": 10, "currency": "UAH"}}),
            Some(json!({"id": "buyer-a", "name": "Buyer A"})),
        )
        .into_bytes(),
    );
    for i in 0..600 {
        data.extend(
            line(
                &format!("X{i}"),
                "2026-11-02T00:00:00Z",
                json!({"title": format!("X{i} current")}),
                None,
            )
            .into_bytes(),
        );
    }
    // Page 2: an amendment of A (later), and an older release of X3 (it must not win).
    data.extend(
        line(
            "A",
            "2026-11-05T00:00:00Z",
            json!({"title": "A amended"}),
            None,
        )
        .into_bytes(),
    );
    data.extend(
        line(
            "X3",
            "2026-10-01T00:00:00Z",
            json!({"title": "X3 stale", "status": "planned"}),
            None,
        )
        .into_bytes(),
    );
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/bulk/full.jsonl"))
        .respond_with(body(data, "application/x-ndjson"))
        .mount(&server)
        .await;
    let url = format!("{}/bulk/full.jsonl", server.uri());
    let mut src = source::open(&spec(&url, ocds(OcdsSettings::default())), None).unwrap();
    let pages = drain(src.as_mut(), &fetcher(&server)).await.unwrap();
    assert_eq!(pages.len(), 2);
    let second: Vec<&NoticeRecord> = pages[1].records.iter().collect();
    let a = by_id(&second, "A");
    assert_eq!(a.title, "A amended");
    assert_eq!(a.amount, Some(10.0), "kept from the release on page 1");
    assert_eq!(
        a.agency.as_ref().unwrap().name_ru.as_deref(),
        Some("Buyer A")
    );
    let x3 = by_id(&second, "X3");
    assert_eq!(x3.title, "X3 current", "an older release does not win");
    assert_eq!(
        x3.status.as_deref(),
        Some("planned"),
        "but adds what was missing"
    );
}

#[tokio::test]
async fn ocds_bulk_file_not_modified_since_its_last_complete_read_is_not_read_again() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/bulk/full.jsonl"))
        .and(wiremock::matchers::header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bulk/full.jsonl"))
        .respond_with(
            body(bulk_lines(20, 2), "application/x-ndjson")
                .insert_header("ETag", "\"v1\"")
                .insert_header("Last-Modified", "Fri, 27 Nov 2026 10:00:00 GMT"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let url = format!("{}/bulk/full.jsonl", server.uri());
    let s = spec(&url, ocds(OcdsSettings::default()));
    let f = fetcher(&server);
    let mut first = source::open(&s, None).unwrap();
    let pages = drain(first.as_mut(), &f).await.unwrap();
    assert_eq!(records(&pages).len(), 20);
    let saved = pages.last().unwrap().cursor.clone().unwrap();
    let c: Value = serde_json::from_str(&saved).unwrap();
    assert_eq!(c["etag"], "\"v1\"");
    assert_eq!(c["last_modified"], "Fri, 27 Nov 2026 10:00:00 GMT");
    let mut second = source::open(&s, Some(&saved)).unwrap();
    let pages = drain(second.as_mut(), &f).await.unwrap();
    assert_eq!(pages.len(), 1);
    assert!(pages[0].records.is_empty() && pages[0].done);
    assert_eq!(pages[0].cursor.as_deref(), Some(saved.as_str()));
}

#[tokio::test]
async fn ocds_bulk_file_over_its_cap_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/bulk/full.jsonl"))
        .respond_with(body(bulk_lines(50, 2), "application/x-ndjson"))
        .mount(&server)
        .await;
    let options = OcdsSettings {
        max_download_bytes: Some(1000),
        ..Default::default()
    };
    let url = format!("{}/bulk/full.jsonl", server.uri());
    let mut src = source::open(&spec(&url, ocds(options)), None).unwrap();
    let err = src.next_page(&fetcher(&server)).await.unwrap_err();
    assert!(
        err.to_string().contains("larger than the limit of 1000"),
        "{err}"
    );
}

#[tokio::test]
async fn ocds_bulk_download_keeps_to_the_allowed_hosts() {
    let server = MockServer::start().await;
    let port = server.address().port();
    // "localhost" is the same server, but only 127.0.0.1 is allowed.
    Mock::given(method("GET"))
        .and(path("/bulk/full.jsonl"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "Location",
            format!("http://localhost:{port}/elsewhere.jsonl"),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/elsewhere.jsonl"))
        .respond_with(body(bulk_lines(2, 1), "application/x-ndjson"))
        .expect(0)
        .mount(&server)
        .await;
    let url = format!("{}/bulk/full.jsonl", server.uri());
    let mut src = source::open(&spec(&url, ocds(OcdsSettings::default())), None).unwrap();
    let err = src
        .next_page(&fetcher(&server))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not in the allowed hosts"), "{err}");
}

#[tokio::test]
async fn ocds_bulk_that_is_html_or_no_ocds_at_all_is_reported_not_stored_as_empty() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/bulk/challenge.jsonl"))
        .respond_with(body(
            "<!doctype html><html><body>Just a moment…</body></html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bulk/other.jsonl"))
        .respond_with(body(
            "{\"id\": 1, \"name\": \"not ocds\"}\n[1, 2]\n",
            "application/x-ndjson",
        ))
        .mount(&server)
        .await;
    let f = fetcher(&server);
    let open = |p: &str| {
        source::open(
            &spec(
                &format!("{}{p}", server.uri()),
                ocds(OcdsSettings::default()),
            ),
            None,
        )
        .unwrap()
    };
    let err = open("/bulk/challenge.jsonl")
        .next_page(&f)
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Api { .. }), "{err}");
    let err = open("/bulk/other.jsonl").next_page(&f).await.unwrap_err();
    assert!(
        err.to_string().contains("none of its 2 lines is an OCDS"),
        "{err}"
    );
}

#[tokio::test]
async fn ocds_a_download_left_by_a_killed_run_is_removed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/bulk/full.jsonl"))
        .respond_with(body(bulk_lines(3, 1), "application/x-ndjson"))
        .mount(&server)
        .await;
    // No process has this id (above the kernel's pid_max).
    let stale = std::env::temp_dir().join("tenderscan-4294967-test_ocds-17.download");
    let live = std::env::temp_dir().join(format!(
        "tenderscan-{}-test_ocds-18.download",
        std::process::id()
    ));
    std::fs::write(&stale, b"partial").unwrap();
    std::fs::write(&live, b"in use").unwrap();
    let url = format!("{}/bulk/full.jsonl", server.uri());
    let mut src = source::open(&spec(&url, ocds(OcdsSettings::default())), None).unwrap();
    let page = src.next_page(&fetcher(&server)).await.unwrap().unwrap();
    assert_eq!(page.records.len(), 3);
    assert!(!stale.exists(), "the stale download is removed");
    assert!(live.exists(), "a live process's download stays");
    std::fs::remove_file(&live).unwrap();
}

// ---------------------------------------------------------------------------------------------
// The whole cycle through the binary with an OCDS publisher.

pub(crate) const NURBOT_SPEC: &[&str] = &[
    "Техническая спецификация",
    "Оказание информационных услуг по продвижению деятельности акимата в социальных сетях.",
    "Создание четырех фейковых аккаунтов для комментирования публикаций акимата.",
];

#[tokio::test(flavor = "multi_thread")]
async fn an_ocds_release_with_a_docx_specification_is_flagged_end_to_end() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let package = json!({
        "version": "1.1", "publisher": {"name": "Test"},
        "releases": [{
            "ocid": "ocds-e2e-1", "id": "1", "date": "2026-11-20T10:00:00+05:00", "tag": ["tender"],
            "language": "ru",
            "buyer": {"id": "KZ-BIN-990240001234", "name": "ГУ «Аппарат акима города Рудного»"},
            "parties": [{"id": "KZ-BIN-990240001234", "roles": ["buyer"],
                "identifier": {"scheme": "KZ-BIN", "id": "990240001234"},
                "address": {"region": "Костанайская область"}},
                {"id": "KZ-BIN-051140001234", "roles": ["supplier"], "name": "ТОО «Медиа Бот»",
                "identifier": {"scheme": "KZ-BIN", "id": "051140001234"}}],
            "awards": [{"id": "AW-1", "status": "active", "date": "2026-12-05T10:00:00+05:00",
                "value": {"amount": 1250000, "currency": "UAH"},
                "suppliers": [{"id": "KZ-BIN-051140001234", "name": "ТОО «Медиа Бот»"}]}],
            "tender": {
                "id": "T-1", "title": "Информационные услуги", "status": "active",
                "value": {"amount": 1300000, "currency": "UAH"},
                "tenderPeriod": {"startDate": "2026-11-20T10:00:00+05:00", "endDate": "2026-11-30T18:00:00+05:00"},
                "documents": [
                    {"id": "n", "documentType": "tenderNotice", "title": "Объявление",
                     "url": format!("{uri}/docs/notice.html")},
                    {"id": "ts", "documentType": "technicalSpecifications", "title": "ТЗ",
                     "url": format!("{uri}/docs/ts.docx"),
                     "format": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
                ]
            }
        }]
    });
    Mock::given(method("GET"))
        .and(path("/api/releases"))
        .respond_with(body(package.to_string(), "application/json"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/docs/ts.docx"))
        .respond_with(body(
            docx(NURBOT_SPEC),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/docs/notice.html"))
        .respond_with(body(
            "<html><body><p>Объявление о закупке</p></body></html>",
            "text/html; charset=utf-8",
        ))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "[database]\npath = \"t.db\"\n\n[crawl]\ncontact = \"mailto:test@example.org\"\ntimeout_secs = 5\nmax_retries = 1\nbackoff_secs = 0.05\nrefused_backoff_secs = 0.05\n\n\
         [[sources]]\nname = \"publisher\"\nkind = \"ocds\"\nurl = \"{uri}/api/releases\"\nrequests_per_second = 1000.0\n\
         notice_url = \"https://publisher.example/tender/{{ocid}}\"\n\n\
         [currency]\nbase = \"KZT\"\nrates = {{ UAH = 12.1, USD = 480.0 }}\n\n\
         [mail]\nfrom = \"tenderscan <alerts@example.org>\"\ndry_run_dir = \"outbox\"\n\n\
         [[recipients]]\nemail = \"desk@example.org\"\nmin_severity = \"medium\"\nlanguage = \"en\"\n"
    );
    std::fs::write(dir.path().join("config.toml"), cfg).unwrap();
    let out = tenderscan(dir.path()).arg("run").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = dir.path().join("t.db");
    assert_eq!(count(&db, "SELECT count(*) FROM notices"), 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE is_spec = 1 AND text LIKE '%фейковых аккаунтов%'"
        ),
        1
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (severity, kind, n, currency, bin, url): (String, String, i64, String, String, String) =
        conn.query_row(
            "SELECT severity, quota_kind, quota_count, currency, agency_bin, url FROM flags
             WHERE quota_kind = 'accounts' AND severity = 'high'",
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
    assert_eq!(
        (severity.as_str(), kind.as_str(), n),
        ("high", "accounts", 4)
    );
    assert_eq!(currency, "UAH");
    assert_eq!(bin, "990240001234");
    assert_eq!(url, "https://publisher.example/tender/ocds-e2e-1");
    // The [currency] rates let a report compare in tenge.
    let (amount_base, base): (f64, String) = conn
        .query_row(
            "SELECT amount_base, base FROM notices_in_base WHERE notice_number = 'ocds-e2e-1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((amount_base, base.as_str()), (15_730_000.0, "KZT"));
    // The deadline is stored in UTC with the publisher's string beside it.
    let (at, local): (String, String) = conn
        .query_row("SELECT deadline_at, deadline_local FROM notices", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(
        (at.as_str(), local.as_str()),
        ("2026-11-30T13:00:00Z", "2026-11-30T18:00:00+05:00")
    );
    // Who won the flagged tender, from the release's award, through the binary's report.
    let out = tenderscan(dir.path())
        .args(["report", "suppliers_of_flagged", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["supplier_id"], "051140001234");
    assert_eq!(rows[0]["supplier_name"], "ТОО «Медиа Бот»");
    assert_eq!(rows[0]["awarded_amount"], 1_250_000.0);
    assert_eq!(rows[0]["currency"], "UAH");
    assert_eq!(rows[0]["high_awards"], 1);
}

// ---------------------------------------------------------------------------------------------
// HTML listings

fn portal_settings() -> HtmlTable {
    HtmlTable {
        item: "table.results tr.lot".into(),
        title: "a.name".into(),
        link: None,
        number: Some("td.no".into()),
        amount: Some("td.price".into()),
        agency: Some("td.org".into()),
        date: Some("td.pub".into()),
        date_format: "%d.%m.%Y %H:%M".into(),
        timezone: Some("Asia/Almaty".into()),
        currency: Some("KZT".into()),
        next: Some("a.next".into()),
        empty: Some(".nothing-found".into()),
        detail_description: Some("div.description p".into()),
        detail_deadline: Some("p.deadline".into()),
        detail_documents: Some("ul.files a.file".into()),
        detail_spec: Some("a.spec".into()),
        max_pages: 10,
    }
}

async fn html_portal(list1: &str, detail101: &str) -> MockServer {
    let server = MockServer::start().await;
    let uri = server.uri();
    let html = |name: &str| body(fixture("html", name, &uri), "text/html; charset=utf-8");
    Mock::given(method("GET"))
        .and(path("/tenders"))
        .and(query_param("page", "2"))
        .respond_with(html("list_page2.html"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tenders"))
        .respond_with(html(list1))
        .mount(&server)
        .await;
    for (id, name) in [
        ("101", detail101),
        ("102", "detail_102.html"),
        ("90", "detail_90.html"),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/tender/{id}")))
            .respond_with(html(name))
            .mount(&server)
            .await;
    }
    server
}

fn html_spec(server: &MockServer, table: HtmlTable) -> SourceSpec {
    let settings = HtmlSettings::compile(&table).unwrap();
    let mut s = spec(
        &format!("{}/tenders", server.uri()),
        SourceKind::Html(Box::new(settings)),
    );
    s.since = chrono::NaiveDate::from_ymd_opt(2026, 11, 1);
    s
}

#[tokio::test]
async fn html_listing_detail_and_next_pages_from_configured_selectors() {
    let server = html_portal("list_page1.html", "detail_101.html").await;
    let mut src = source::open(&html_spec(&server, portal_settings()), None).unwrap();
    let pages = drain(src.as_mut(), &fetcher(&server)).await.unwrap();
    assert_eq!(pages.len(), 2);
    let recs = records(&pages);
    assert_eq!(recs.len(), 3);
    let smm = by_id(&recs, &format!("{}/tender/101", server.uri()));
    assert_eq!(smm.number.as_deref(), Some("T-101"));
    assert_eq!(smm.title, "Услуги по продвижению в социальных сетях");
    assert_eq!(smm.amount, Some(1_300_000.0));
    assert_eq!(smm.currency.as_deref(), Some("KZT"));
    assert_eq!(
        smm.agency.as_ref().unwrap().name_ru.as_deref(),
        Some("ГУ «Аппарат акима города Рудного»")
    );
    let published = smm.published.as_ref().unwrap();
    assert_eq!(published.original, "Опубликовано 20.11.2026 10:30");
    assert_eq!(
        published.utc.unwrap().to_rfc3339(),
        "2026-11-20T05:30:00+00:00"
    );
    assert_eq!(
        smm.deadline.as_ref().unwrap().utc.unwrap().to_rfc3339(),
        "2026-11-30T13:00:00+00:00"
    );
    assert!(
        smm.description
            .as_deref()
            .unwrap()
            .contains("четырех фейковых аккаунтов")
    );
    assert_eq!(smm.documents.len(), 2);
    assert!(smm.documents[0].is_spec);
    assert_eq!(
        smm.documents[0].url,
        format!("{}/files/101/techspec.docx", server.uri())
    );
    assert_eq!(
        smm.documents[0].file_name.as_deref(),
        Some("Техническое задание.docx")
    );
    assert!(!smm.documents[1].is_spec);
    let roof = by_id(&recs, &format!("{}/tender/90", server.uri()));
    assert_eq!(roof.documents.len(), 1);
    let c1: Value = serde_json::from_str(pages[0].cursor.as_deref().unwrap()).unwrap();
    assert_eq!(c1["next"], format!("{}/tenders?page=2", server.uri()));
    assert!(pages[1].done);
    let end: Value = serde_json::from_str(pages[1].cursor.as_deref().unwrap()).unwrap();
    assert!(end.get("next").is_none(), "{end}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_html_portal_configured_in_config_toml_is_crawled_and_flagged_by_the_binary() {
    let server = html_portal("list_page1.html", "detail_101.html").await;
    let uri = server.uri();
    Mock::given(method("GET"))
        .and(path("/files/101/techspec.docx"))
        .respond_with(body(
            docx(NURBOT_SPEC),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ))
        .expect(1)
        .mount(&server)
        .await;
    for f in ["/files/101/contract.pdf", "/files/90/smeta.xlsx"] {
        Mock::given(method("GET"))
            .and(path(f))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
    }
    // the site's robots.txt asks for a slower pace than the config's 1000 requests a second
    Mock::given(method("GET"))
        .and(path("/robots.txt"))
        .respond_with(body(
            "User-agent: *\nDisallow: /cabinet\nCrawl-delay: 0.002\n",
            "text/plain",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = format!(
        "[database]\npath = \"t.db\"\n\n[crawl]\ncontact = \"mailto:test@example.org\"\ntimeout_secs = 5\nmax_retries = 0\nbackoff_secs = 0.05\nrefused_backoff_secs = 0.05\n\n\
         [[sources]]\nname = \"city\"\nkind = \"html\"\nurl = \"{uri}/tenders\"\nrequests_per_second = 1000.0\nlookback_days = 3650\n\
         [sources.html]\nitem = \"table.results tr.lot\"\ntitle = \"a.name\"\nnumber = \"td.no\"\namount = \"td.price\"\n\
         agency = \"td.org\"\ndate = \"td.pub\"\ndate_format = \"%d.%m.%Y %H:%M\"\ntimezone = \"Asia/Almaty\"\ncurrency = \"KZT\"\n\
         next = \"a.next\"\ndetail_description = \"div.description p\"\ndetail_documents = \"ul.files a.file\"\ndetail_spec = \"a.spec\"\n\n\
         [mail]\nfrom = \"tenderscan <alerts@example.org>\"\ndry_run_dir = \"outbox\"\n"
    );
    std::fs::write(dir.path().join("config.toml"), cfg).unwrap();
    let out = tenderscan(dir.path())
        .args(["-v", "crawl"])
        .output()
        .unwrap();
    let db = dir.path().join("t.db");
    assert_eq!(
        count(&db, "SELECT count(*) FROM notices"),
        3,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM flags WHERE severity = 'high' AND quota_kind = 'accounts' AND quota_count = 4 AND notice_number = 'T-101'"
        ),
        1
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE is_spec = 1 AND text LIKE '%фейковых аккаунтов%'"
        ),
        1
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("robots.txt asks for a slower pace") && stderr.contains("500"),
        "{stderr}"
    );
    server.verify().await;
}

/// Matches a request whose User-Agent does not look like a browser's (ProZorro answers those 412).
pub(crate) struct NotABrowser;

impl wiremock::Match for NotABrowser {
    fn matches(&self, r: &wiremock::Request) -> bool {
        !r.headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ua| ua.starts_with("Mozilla/"))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_portal_refusing_non_browsers_is_reported_as_412_and_crawled_with_the_sources_user_agent()
{
    let server = html_portal("list_page1.html", "detail_101.html").await;
    // before every other mock: a client that is not a browser gets 412, as from ProZorro
    Mock::given(NotABrowser)
        .respond_with(ResponseTemplate::new(412).set_body_string(""))
        .with_priority(1)
        .mount(&server)
        .await;
    for f in [
        "/files/101/techspec.docx",
        "/files/101/contract.pdf",
        "/files/90/smeta.xlsx",
    ] {
        Mock::given(method("GET"))
            .and(path(f))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
    }
    let uri = server.uri();
    let dir = tempfile::tempdir().unwrap();
    let cfg = |ua: &str| {
        format!(
            "[database]\npath = \"t.db\"\n\n[crawl]\ncontact = \"mailto:test@example.org\"\ntimeout_secs = 5\nmax_retries = 0\nbackoff_secs = 0.05\nrefused_backoff_secs = 0.05\n\n\
             [[sources]]\nname = \"city\"\nkind = \"html\"\nurl = \"{uri}/tenders\"\nrequests_per_second = 1000.0\nlookback_days = 3650\n{ua}\
             [sources.html]\nitem = \"table.results tr.lot\"\ntitle = \"a.name\"\nnumber = \"td.no\"\namount = \"td.price\"\n\
             agency = \"td.org\"\ndate = \"td.pub\"\ndate_format = \"%d.%m.%Y %H:%M\"\ntimezone = \"Asia/Almaty\"\ncurrency = \"KZT\"\n\
             next = \"a.next\"\ndetail_description = \"div.description p\"\ndetail_documents = \"ul.files a.file\"\ndetail_spec = \"a.spec\"\n\n\
             [mail]\nfrom = \"tenderscan <alerts@example.org>\"\ndry_run_dir = \"outbox\"\n"
        )
    };
    std::fs::write(dir.path().join("config.toml"), cfg("")).unwrap();
    let out = tenderscan(dir.path()).arg("crawl").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("HTTP 412: the portal refused this client")
            && stderr.contains("user_agent"),
        "{stderr}"
    );
    let db = dir.path().join("t.db");
    assert_eq!(count(&db, "SELECT count(*) FROM notices"), 0);

    // a header value is checked where the config is read
    std::fs::write(
        dir.path().join("config.toml"),
        cfg("user_agent = \"Mozilla/5.0\\u0007\"\n"),
    )
    .unwrap();
    let out = tenderscan(dir.path()).arg("crawl").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("user_agent") && stderr.contains("printable ASCII"),
        "{stderr}"
    );

    std::fs::write(
        dir.path().join("config.toml"),
        cfg("user_agent = \"Mozilla/5.0 (X11; Linux x86_64) tenderscan\"\n"),
    )
    .unwrap();
    let out = tenderscan(dir.path()).arg("crawl").output().unwrap();
    assert_eq!(
        count(&db, "SELECT count(*) FROM notices"),
        3,
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn html_a_redesigned_listing_is_a_changed_page_naming_url_and_selector() {
    let server = html_portal("list_redesigned.html", "detail_101.html").await;
    let mut src = source::open(&html_spec(&server, portal_settings()), None).unwrap();
    let err = src.next_page(&fetcher(&server)).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, SourceError::ChangedFormat { .. }), "{msg}");
    assert!(msg.contains("`table.results tr.lot`"), "{msg}");
    assert!(msg.contains(&format!("{}/tenders", server.uri())), "{msg}");
}

#[tokio::test]
async fn html_a_detail_selector_that_stopped_matching_is_named() {
    let server = html_portal("list_page1.html", "detail_101_redesigned.html").await;
    let mut src = source::open(&html_spec(&server, portal_settings()), None).unwrap();
    let err = src.next_page(&fetcher(&server)).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("detail_description"), "{msg}");
    assert!(msg.contains("`div.description p`"), "{msg}");
    assert!(msg.contains("/tender/101"), "{msg}");
}

#[tokio::test]
async fn html_an_optional_selector_matching_no_item_is_a_change() {
    let server = html_portal("list_page1.html", "detail_101.html").await;
    let mut settings = portal_settings();
    settings.amount = Some("td.sum".into());
    let mut src = source::open(&html_spec(&server, settings), None).unwrap();
    let err = src
        .next_page(&fetcher(&server))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("amount selector `td.sum`"), "{err}");
}

#[tokio::test]
async fn html_a_next_link_back_to_the_same_page_ends_the_listing() {
    let server = MockServer::start().await;
    let uri = server.uri();
    // The last page keeps its "next" link, pointing at itself.
    let last = fixture("html", "list_page2.html", &uri).replace(
        r#"<span class="next disabled">Следующая »</span>"#,
        r#"<a class="next" href="/tenders?page=2">Следующая »</a>"#,
    );
    Mock::given(method("GET"))
        .and(path("/tenders"))
        .respond_with(body(last, "text/html; charset=utf-8"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/tender/90"))
        .respond_with(body(
            fixture("html", "detail_90.html", &uri),
            "text/html; charset=utf-8",
        ))
        .mount(&server)
        .await;
    let mut s = html_spec(&server, portal_settings());
    s.config.url = Url::parse(&format!("{uri}/tenders?page=2")).unwrap();
    let mut src = source::open(&s, None).unwrap();
    let pages = drain(src.as_mut(), &fetcher(&server)).await.unwrap();
    assert_eq!(pages.len(), 1);
    assert!(pages[0].done);
    assert_eq!(records(&pages).len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Samruk-Kazyna

/// Answers `{base}/{id}` and `{base}/lots/{id}` for each advert of tests/fixtures/samruk/adverts.json,
/// once each, as the portal's per-advert endpoints do.
pub(crate) async fn mount_samruk_adverts(server: &MockServer, base: &str, ids: &[&str]) {
    let all: Value =
        serde_json::from_str(&fixture("samruk", "adverts.json", &server.uri())).unwrap();
    for id in ids {
        for (rel, key) in [
            (format!("{base}/{id}"), "advert"),
            (format!("{base}/lots/{id}"), "lots"),
        ] {
            Mock::given(method("GET"))
                .and(path(rel))
                .respond_with(body(all[id][key].to_string(), "application/json"))
                .expect(1)
                .mount(server)
                .await;
        }
    }
}

#[tokio::test]
async fn samruk_pages_until_the_saved_lastmodified_date() {
    let server = MockServer::start().await;
    let uri = server.uri();
    for page in ["0", "1"] {
        Mock::given(method("POST"))
            .and(path("/api/adverts/search"))
            .and(wiremock::matchers::body_json(
                json!({"advertStatus": "PUBLISHED", "lotStatus": "PUBLISHED"}),
            ))
            .and(query_param("page", page))
            .and(query_param("size", "2"))
            .and(query_param("sort", "lastModifiedDate,desc"))
            .respond_with(body(
                fixture("samruk", &format!("search_page{page}.json"), &uri),
                "application/json",
            ))
            .expect(1)
            .mount(&server)
            .await;
    }
    mount_samruk_adverts(
        &server,
        "/api/adverts",
        &["1198864", "1198700", "1198650", "1100001"],
    )
    .await;
    let options = SamrukSettings {
        page_size: Some(2),
        ..Default::default()
    };
    let mut s = spec(
        &format!("{uri}/api/adverts/search"),
        SourceKind::Samruk(options),
    );
    s.since = chrono::NaiveDate::from_ymd_opt(2026, 11, 15);
    let mut src = source::open(&s, None).unwrap();
    let pages = drain(src.as_mut(), &fetcher(&server)).await.unwrap();
    assert_eq!(
        pages.len(),
        2,
        "page 1 holds an advert older than `since` (by its own answer)"
    );
    let recs = records(&pages);
    let ids: Vec<&str> = recs.iter().map(|r| r.external_id.as_str()).collect();
    assert_eq!(ids, ["1198864", "1198700", "1198650"]);
    let smm = recs[0];
    // The list names no customer: it comes from the advert's own answer, as do the
    // documents, and the lots from the lots' answer; all three are the record's evidence.
    assert_eq!(
        smm.agency.as_ref().unwrap().name_kk.as_deref(),
        Some("«Қазақстан темір жолы» АҚ")
    );
    let urls: Vec<&str> = smm.payloads.iter().map(|p| p.url.as_str()).collect();
    assert_eq!(urls.len(), 3, "{urls:?}");
    assert!(
        urls[1].ends_with("/api/adverts/1198864") && urls[2].ends_with("/api/adverts/lots/1198864"),
        "{urls:?}"
    );
    assert_eq!(
        smm.url.as_deref(),
        Some("https://zakup.sk.kz/#/ext(popup:item/1198864/advert)")
    );
    assert_eq!(smm.number.as_deref(), Some("1198864-ОТ1"));
    assert_eq!(smm.amount, Some(34191869.47));
    assert_eq!(smm.currency.as_deref(), Some("KZT"));
    assert_eq!(smm.agency.as_ref().unwrap().id, "060840000483");
    assert_eq!(smm.lots.len(), 1);
    assert!(
        smm.lots[0]
            .description
            .as_deref()
            .unwrap()
            .contains("50 положительных комментариев")
    );
    assert!(smm.documents[0].is_spec);
    assert_eq!(
        smm.documents[0].url,
        format!(
            "{uri}/eprocfilestorage/open-api/files/download/cef87f7e-1838-48e3-b331-324875fd773b-2026-minio"
        )
    );
    assert_eq!(
        smm.published.as_ref().unwrap().utc.unwrap().to_rfc3339(),
        "2026-11-20T05:00:00+00:00"
    );
    // A time without an offset is read as Almaty time; a status object gives its name.
    let media = recs[2];
    assert_eq!(
        media.published.as_ref().unwrap().utc.unwrap().to_rfc3339(),
        "2026-11-16T05:00:00+00:00"
    );
    assert_eq!(media.status.as_deref(), Some("Опубликовано"));
    assert_eq!(media.status_code.as_deref(), Some("PUBLISHED"));
    // The finished crawl saves the time it began (minus an hour) for the next run.
    let mid: Value = serde_json::from_str(pages[0].cursor.as_deref().unwrap()).unwrap();
    assert_eq!(mid["page"], 1);
    let end: Value = serde_json::from_str(pages[1].cursor.as_deref().unwrap()).unwrap();
    let since = chrono::DateTime::parse_from_rfc3339(end["since"].as_str().unwrap()).unwrap();
    let age = chrono::Utc::now() - since.with_timezone(&chrono::Utc);
    assert!(
        age > chrono::Duration::minutes(59) && age < chrono::Duration::minutes(61),
        "{end}"
    );
}

#[tokio::test]
async fn samruk_resumes_from_a_saved_page() {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("POST"))
        .and(path("/api/adverts/search"))
        .and(query_param("page", "1"))
        .respond_with(body(
            fixture("samruk", "search_page1.json", &uri),
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    mount_samruk_adverts(&server, "/api/adverts", &["1198650", "1100001"]).await;
    let options = SamrukSettings {
        page_size: Some(2),
        ..Default::default()
    };
    let s = spec(
        &format!("{uri}/api/adverts/search"),
        SourceKind::Samruk(options),
    );
    let saved = r#"{"since":"2026-11-15T00:00:00Z","page":1,"started":"2026-11-28T10:00:00Z"}"#;
    let mut src = source::open(&s, Some(saved)).unwrap();
    let pages = drain(src.as_mut(), &fetcher(&server)).await.unwrap();
    assert_eq!(records(&pages).len(), 1);
    let end: Value = serde_json::from_str(pages[0].cursor.as_deref().unwrap()).unwrap();
    assert_eq!(end["since"], "2026-11-28T09:00:00Z");
}

// ---------------------------------------------------------------------------------------------
// Streaming: a 200 MB JSON Lines file in bounded memory.

const STREAM_ENV: &str = "TENDERSCAN_TEST_STREAM_URL";

/// Serves one file from disk over HTTP/1.1 (streamed, never read whole).
async fn serve_file(file: std::path::PathBuf) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let file = file.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let len = std::fs::metadata(&file).unwrap().len();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
                );
                sock.write_all(head.as_bytes()).await.unwrap();
                let mut f = tokio::fs::File::open(&file).await.unwrap();
                let _ = tokio::io::copy(&mut f, &mut sock).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    addr
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Writes about `bytes` of JSON Lines, one release of ~4 KiB per line; returns the line count.
fn write_big_jsonl(path: &Path, bytes: u64) -> u64 {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let filler = "Оказание услуг по сопровождению страниц в социальных сетях. ".repeat(38);
    let mut written = 0u64;
    let mut n = 0u64;
    while written < bytes {
        let line = format!(
            "{}\n",
            json!({"ocid": format!("ocds-big-{n:08}"), "id": "1", "date": "2026-11-20T10:00:00Z",
                "tender": {"title": format!("T{n}"), "description": filler,
                    "value": {"amount": n, "currency": "UAH"}}})
        );
        w.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
        n += 1;
    }
    w.flush().unwrap();
    n
}

/// Run by [`a_200_mb_jsonl_file_is_read_in_bounded_memory`] in a child process: drains the
/// bulk file at `$TENDERSCAN_TEST_STREAM_URL` and prints its record count and peak RSS.
#[tokio::test]
#[ignore = "a helper the streaming test runs in a child process"]
async fn stream_child() {
    let Ok(url) = std::env::var(STREAM_ENV) else {
        return;
    };
    let before = vm_hwm_kib();
    let s = spec(&url, ocds(OcdsSettings::default()));
    let mut src = source::open(&s, None).unwrap();
    let f = fetcher_for(&url);
    let mut n = 0usize;
    let mut pages = 0usize;
    while let Some(p) = src.next_page(&f).await.unwrap() {
        n += p.records.len();
        pages += 1;
    }
    println!(
        "STREAM records={n} pages={pages} hwm_before_kib={before} hwm_kib={}",
        vm_hwm_kib()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_200_mb_jsonl_file_is_read_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("full.jsonl");
    let size = 200 * 1024 * 1024;
    let lines = write_big_jsonl(&file, size);
    let addr = serve_file(file).await;
    let started = std::time::Instant::now();
    let out = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sources::stream_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(STREAM_ENV, format!("http://{addr}/bulk/full.jsonl"))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("STREAM ").map(|(_, rest)| rest))
        .unwrap_or_else(|| panic!("no STREAM line in {stdout}"));
    let field = |k: &str| -> u64 {
        line.split_whitespace()
            .find_map(|p| p.strip_prefix(&format!("{k}=")))
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(field("records"), lines);
    let hwm_mib = field("hwm_kib") / 1024;
    eprintln!(
        "streaming: {lines} releases, {} MiB file, peak RSS of the reading process {hwm_mib} MiB, {:.1} s",
        size / 1024 / 1024,
        started.elapsed().as_secs_f64()
    );
    // A page of 500 releases of ~4 KiB, parsed and mapped, plus buffers: far below the file.
    assert!(hwm_mib < 100, "peak RSS {hwm_mib} MiB for a 200 MiB file");
}
