//! Numbers in the config: each out-of-range value is a config error (exit 2) naming the file,
//! the line and the key, never a panic (exit 101); and a run handed absurd numbers past the
//! config's checks still reads its documents without panicking (defence in depth).

use crate::util::{count, docx, tenderscan};
use serde_json::json;
use tenderscan::config::{Config, SourceKind};
use tenderscan::pipeline::{self, RunOptions, StopFlag};
use tenderscan::rules::RuleSet;
use tenderscan::store::Store;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const HEAD: &str = "[database]\npath = \"t.db\"\n";
/// A source on the discard port of loopback: nothing is ever reached.
const SOURCE: &str = "[[sources]]\nname = \"s\"\nurl = \"http://127.0.0.1:9/\"\n";

/// `run` with `HEAD` + `body` as bounds.toml: exit 2 and exactly `bounds.toml:LINE: key
/// `KEY`: MESSAGE` on stderr, no panic.
fn refused(body: &str, line: usize, key: &str, message: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bounds.toml"), format!("{HEAD}{body}")).unwrap();
    let out = tenderscan(dir.path())
        .args(["--config", "bounds.toml", "run"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let want = format!("bounds.toml:{line}: key `{key}`: {message}");
    assert!(stderr.contains(&want), "want {want:?} in: {stderr}");
    assert!(
        !dir.path().join("t.db").exists(),
        "a bad config stops before the database"
    );
}

macro_rules! refused {
    ($($name:ident: $body:expr, $line:expr, $key:expr, $message:expr;)*) => {
        $(
            #[test]
            fn $name() {
                refused(&$body, $line, $key, $message);
            }
        )*
    };
}

refused! {
    // The values of issue #22 that used to panic (exit 101).
    lookback_days_near_u32_max:
        format!("{SOURCE}kind = \"goszakup-html\"\nlookback_days = 4294967295\n"),
        7, "sources[0].lookback_days", "must be 0 to 3650, not 4294967295";
    keep_days_near_u32_max:
        "[evidence]\nkeep_days = 4294967295\n",
        4, "evidence.keep_days", "must be 0 to 36500, not 4294967295";
    recheck_days_near_u32_max:
        "[evidence]\nkeep_days = 30\nrecheck_days = 4294967294\n",
        5, "evidence.recheck_days", "must be 0 to 3650, not 4294967294";
    backoff_secs_1e300:
        "[crawl]\nbackoff_secs = 1e300\n",
        4, "crawl.backoff_secs", "must be 0 to 86400, not 1e300";
    requests_per_second_1e_12:
        format!("{SOURCE}kind = \"goszakup-html\"\nrequests_per_second = 1e-12\n"),
        7, "sources[0].requests_per_second", "must be 0.001 to 1000, not 1e-12";
    extract_timeout_secs_u64_max:
        "[crawl]\nextract_timeout_secs = 18446744073709551615\n",
        4, "crawl.extract_timeout_secs", "must be 1 to 3600, not 18446744073709551615";

    // NaN and the infinities, which TOML can write.
    backoff_secs_nan:
        "[crawl]\nbackoff_secs = nan\n",
        4, "crawl.backoff_secs", "must be 0 to 86400, not NaN";
    requests_per_second_inf:
        format!("{SOURCE}kind = \"goszakup-html\"\nrequests_per_second = inf\n"),
        7, "sources[0].requests_per_second", "must be 0.001 to 1000, not inf";

    // Every other number.
    max_document_bytes_u64_max:
        "[crawl]\nmax_document_bytes = 18446744073709551615\n",
        4, "crawl.max_document_bytes", "must be 1024 to 4294967296, not 18446744073709551615";
    timeout_secs_zero:
        "[crawl]\ntimeout_secs = 0\n",
        4, "crawl.timeout_secs", "must be 1 to 3600, not 0";
    max_documents_per_notice_huge:
        "[crawl]\nmax_documents_per_notice = 18446744073709551615\n",
        4, "crawl.max_documents_per_notice", "must be 0 to 1000, not 18446744073709551615";
    max_retries_u32_max:
        "[crawl]\nmax_retries = 4294967295\n",
        4, "crawl.max_retries", "must be 0 to 20, not 4294967295";
    max_download_bytes_u64_max:
        format!("{SOURCE}kind = \"ocds\"\nmax_download_bytes = 18446744073709551615\n"),
        7, "sources[0].max_download_bytes", "must be 1 to 1099511627776, not 18446744073709551615";
    page_size_zero:
        format!("{SOURCE}kind = \"samruk\"\npage_size = 0\n"),
        7, "sources[0].page_size", "must be 1 to 1000, not 0";
    html_max_pages_u32_max:
        format!("{SOURCE}kind = \"html\"\n[sources.html]\nitem = \"tr\"\ntitle = \"a\"\nmax_pages = 4294967295\n"),
        10, "sources[0].html.max_pages", "must be 1 to 10000, not 4294967295";
    currency_rate_1e300:
        "[currency]\nbase = \"KZT\"\nrates = { UAH = 12.1, USD = 1e300 }\n",
        5, "currency.rates.USD", "must be above 0, at most 1000000000, not 1e300";
    currency_rate_in_its_own_table_zero:
        "[currency]\nbase = \"KZT\"\n\n[currency.rates]\nUAH = 12.1\nUSD = 0.0\n",
        8, "currency.rates.USD", "must be above 0, at most 1000000000, not 0";
    smtp_port_zero:
        "[mail]\nsmtp_port = 0\n",
        4, "mail.smtp_port", "must be 1 to 65535, not 0";
    mail_timeout_secs_u64_max:
        "[mail]\ntimeout_secs = 18446744073709551615\n",
        4, "mail.timeout_secs", "must be 1 to 3600, not 18446744073709551615";

    // The second source is named by its index.
    second_source_is_named_by_index:
        format!("{SOURCE}kind = \"goszakup-html\"\n\n[[sources]]\nname = \"t\"\nkind = \"ocds\"\nurl = \"http://127.0.0.1:9/x\"\nrequests_per_second = 0.0\n"),
        12, "sources[1].requests_per_second", "must be 0.001 to 1000, not 0";
}

/// The ends of a range are accepted by the binary too (`status` loads the config).
#[test]
fn the_ends_of_the_ranges_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "[crawl]\nmax_document_bytes = 4294967296\ntimeout_secs = 3600\nextract_timeout_secs = 1\nmax_documents_per_notice = 0\nmax_retries = 20\nbackoff_secs = 86400\n\
         {SOURCE}kind = \"goszakup-html\"\nlookback_days = 3650\nrequests_per_second = 0.001\n\
         [evidence]\nkeep_days = 36500\nrecheck_days = 0\n[mail]\nsmtp_port = 65535\ntimeout_secs = 1\n"
    );
    std::fs::write(dir.path().join("ok.toml"), format!("{HEAD}{body}")).unwrap();
    let out = tenderscan(dir.path())
        .args(["--config", "ok.toml", "status"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const NURBOT_SPEC: &[&str] = &[
    "Техническая спецификация",
    "Оказание информационных услуг по продвижению деятельности акимата в социальных сетях.",
    "Создание четырех фейковых аккаунтов для комментирования публикаций акимата.",
];

fn body(b: impl Into<Vec<u8>>, mime: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(b.into(), mime)
}

/// The numbers of issue #22 (and the other limits at their type's maximum) set on a loaded
/// config, past its checks: the run crawls, reads the specification (no extraction panics
/// on its deadline), flags it, re-checks and prunes (no date arithmetic panics), and is ok.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_with_absurd_numbers_past_the_checks_does_not_panic() {
    let server = MockServer::start().await;
    let uri = server.uri();
    let package = json!({
        "version": "1.1", "publisher": {"name": "Test"},
        "releases": [{
            "ocid": "ocds-bounds-1", "id": "1", "date": "2026-11-20T10:00:00+05:00",
            "tag": ["tender"], "language": "ru",
            "buyer": {"id": "KZ-BIN-990240001234", "name": "ГУ «Аппарат акима»"},
            "tender": {
                "id": "T-1", "title": "Информационные услуги", "status": "active",
                "value": {"amount": 1300000, "currency": "KZT"},
                "documents": [
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
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(
        &file,
        format!(
            "{HEAD}[crawl]\ncontact = \"mailto:test@example.org\"\n\
             [[sources]]\nname = \"publisher\"\nkind = \"ocds\"\nurl = \"{uri}/api/releases\"\n\
             [mail]\ndry_run_dir = \"outbox\"\n"
        ),
    )
    .unwrap();
    let mut cfg = Config::load(&file).unwrap();
    cfg.crawl.extract_timeout_secs = u64::MAX;
    cfg.crawl.timeout_secs = u64::MAX;
    cfg.crawl.max_document_bytes = u64::MAX;
    cfg.crawl.max_documents_per_notice = usize::MAX;
    cfg.crawl.max_retries = u32::MAX;
    cfg.crawl.backoff_secs = 1e300;
    cfg.evidence.keep_days = u32::MAX;
    cfg.evidence.recheck_days = u32::MAX;
    cfg.sources[0].lookback_days = u32::MAX;
    match &mut cfg.sources[0].kind {
        SourceKind::Ocds(o) => o.max_download_bytes = Some(u64::MAX),
        other => panic!("the source is ocds, not {other}"),
    }
    cfg.sources[0].requests_per_second = 1000.0;
    cfg.mail.timeout_secs = u64::MAX;

    let mut store = Store::open(&cfg.database.path).unwrap();
    let rules = RuleSet::builtin().unwrap();
    let opts = RunOptions {
        send: true,
        ..Default::default()
    };
    let report = pipeline::run(&cfg, &mut store, &rules, &opts, &StopFlag::default(), "run")
        .await
        .unwrap();
    assert!(!report.failed(), "{report:?}");
    drop(store);
    let db = dir.path().join("t.db");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM documents WHERE text LIKE '%фейковых аккаунтов%'"
        ),
        1,
        "the specification was read under a u64::MAX-second budget"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM flags WHERE severity = 'high'"),
        1
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM runs WHERE status = 'ok'"),
        1
    );
}

/// A rate limit below one request a day is refused by the client itself (governor would
/// panic on a period past 584 years), whatever the config let through.
#[test]
fn a_rate_below_one_a_day_is_refused_by_the_fetcher() {
    use tenderscan::fetch::{FetchSettings, Fetcher};
    for rps in [1e-12, 1e-300, f64::MIN_POSITIVE, 1.0 / 86_401.0] {
        let r = Fetcher::new(FetchSettings {
            requests_per_second: rps,
            ..FetchSettings::default()
        });
        match r {
            Err(e) => assert!(e.to_string().contains("requests_per_second"), "{e}"),
            Ok(_) => panic!("{rps} requests a second was accepted"),
        }
    }
    assert!(
        Fetcher::new(FetchSettings {
            requests_per_second: 0.001,
            ..FetchSettings::default()
        })
        .is_ok()
    );
}
