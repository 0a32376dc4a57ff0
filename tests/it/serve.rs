//! The web page through the real binary (`tenderscan serve`): a goszakup-shaped API on
//! 127.0.0.1 (wiremock) fills a real SQLite file through the real pipeline, then the server
//! runs as a child process on 127.0.0.1:0 and reqwest reads every page: the statuses, a
//! hostile title escaped everywhere, a document's headers and exact bytes, path traversal
//! refused, writes refused while read-only.

use crate::pipeline::{NURBOT_SPEC, TOKEN, graphql_page, mount_empty_journal, trd_buy};
use crate::util::{binary, count, docx, tenderscan};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const HOSTILE: &str = "<script>alert(1)</script> Информационные услуги \"q\" & 'a'";
const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;";
const ID: i64 = 900_101;
const FILE: i64 = 5101;
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The portal: one flagged announcement with a hostile title and its specification.
async fn portal() -> MockServer {
    let server = MockServer::start().await;
    let uri = server.uri();
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(graphql_page(vec![trd_buy(
            &uri,
            ID,
            HOSTILE,
            1_300_000.0,
            FILE,
        )]))
        .mount(&server)
        .await;
    mount_empty_journal(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("/files/download_file/{FILE}/")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(docx(NURBOT_SPEC), DOCX))
        .mount(&server)
        .await;
    server
}

fn write_config(dir: &Path, url: &str, serve: &str) {
    let cfg = format!(
        "[database]\npath = \"t.db\"\n\n[crawl]\ncontact = \"mailto:test@example.org\"\ntimeout_secs = 5\nmax_retries = 1\nbackoff_secs = 0.05\nrefused_backoff_secs = 0.05\n\n\
         [[sources]]\nname = \"goszakup\"\nkind = \"goszakup\"\ncontracts = false\nurl = \"{url}\"\ntoken_env = \"TEST_GOSZAKUP_TOKEN\"\nlookback_days = 3\nrequests_per_second = 1000.0\n\n\
         [serve]\nlanguage = \"en\"\n{serve}\n"
    );
    std::fs::write(dir.join("config.toml"), cfg).unwrap();
}

/// Crawl the portal into `dir/t.db`, and give the notice a supplier with a hostile name
/// (this source has no contracts) so the supplier page has something to show.
async fn filled(dir: &Path, serve: &str) -> MockServer {
    let server = portal().await;
    write_config(dir, &server.uri(), serve);
    let out = tenderscan(dir)
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("crawl")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = dir.join("t.db");
    assert!(count(&db, "SELECT count(*) FROM flag_rows") > 0, "flagged");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "INSERT INTO suppliers (id, scheme, identifier, name, first_seen_at, last_seen_at)
             VALUES (77, 'KZ-BIN', '123456789012', '<script>alert(2)</script> ТОО', 't', 't');
         INSERT INTO awards (id, notice_id, external_id, status, amount, currency, first_seen_at, last_seen_at)
             SELECT 88, id, 'A1', 'active', 1200000, 'KZT', 't', 't' FROM notices;
         INSERT INTO award_suppliers (award_id, supplier_id) VALUES (88, 77);",
    )
    .unwrap();
    server
}

/// `tenderscan serve` as a child process; killed when dropped.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path, envs: &[(&str, &str)]) -> Served {
    let mut cmd = Command::new(binary());
    cmd.current_dir(dir)
        .env_remove("TENDERSCAN_LOG")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the first line: {line:?}"))
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    Served { child, base }
}

fn client() -> reqwest::Client {
    tenderscan::fetch::install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// GET a page: (status, headers, body).
async fn get(c: &reqwest::Client, url: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let r = c.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}

fn security_headers(h: &reqwest::header::HeaderMap, what: &str) {
    assert_eq!(h["content-security-policy"], CSP, "{what}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
    assert_eq!(h["x-frame-options"], "DENY", "{what}");
}

/// A raw HTTP/1.1 request line, as a client that does not normalise `..` would send it.
fn raw_status(base: &str, target: &str) -> u16 {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{out}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_escapes_a_hostile_title_and_documents_come_only_by_a_named_hash() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let _portal = filled(d, "").await;
    let db = d.join("t.db");
    let id = count(
        &db,
        &format!("SELECT id FROM notices WHERE external_id = '{ID}'"),
    );
    let s = serve(d, &[]);
    let c = client();

    // Every page: 200, the security headers, the hostile title escaped, never raw.
    let notice = format!("{}/notice/{id}", s.base);
    for url in [
        format!("{}/", s.base),
        format!("{}/?severity=medium&sort=amount", s.base),
        format!("{}/?sort=price&verdict=none&source=goszakup", s.base),
        format!(
            "{}/?agency=990240001234&since=2026-11-01&until=2026-11-30",
            s.base
        ),
        notice.clone(),
        format!("{}/notice/{ID}-1", s.base),
        format!("{}/agency/990240001234", s.base),
        format!("{}/supplier/123456789012", s.base),
        format!(
            "{}/search?q=%D1%84%D0%B5%D0%B9%D0%BA%D0%BE%D0%B2%D1%8B%D1%85",
            s.base
        ),
        format!(
            "{}/search?q=%D0%B8%D0%BD%D1%84%D0%BE%D1%80%D0%BC%D0%B0%D1%86%D0%B8%D0%BE%D0%BD%D0%BD%D1%8B%D0%B5",
            s.base
        ),
    ] {
        let (status, h, body) = get(&c, &url).await;
        assert_eq!(status, 200, "{url}: {body}");
        security_headers(&h, &url);
        assert!(
            h["content-type"].to_str().unwrap().starts_with("text/html"),
            "{url}"
        );
        assert!(!body.contains("<script"), "{url}: raw markup: {body}");
        if !url.contains("/search?q=%D1%84") {
            assert!(body.contains(ESCAPED), "{url}: the title, escaped: {body}");
        }
    }
    // The filters narrow: an agency that has nothing, a period before the notice.
    for url in [
        format!("{}/?agency=000000000000", s.base),
        format!("{}/?until=2026-01-01", s.base),
        format!("{}/?verdict=confirmed", s.base),
        format!("{}/?severity=high&rule=no-such-rule", s.base),
    ] {
        let (status, _, body) = get(&c, &url).await;
        assert_eq!(status, 200, "{url}");
        assert!(!body.contains(ESCAPED), "{url}: filtered out");
        assert!(body.contains("Nothing found."), "{url}");
    }
    // Bad filter values are refused, not ignored.
    for url in [
        format!("{}/?severity=bogus", s.base),
        format!("{}/?since=yesterday", s.base),
        format!("{}/?sort=title", s.base),
        format!("{}/?page=0", s.base),
    ] {
        assert_eq!(get(&c, &url).await.0, 400, "{url}");
    }

    // The charts: a page of pictures, each drawn as SVG and given as CSV, with the filters
    // passed on; an agency's page links its money per year (links as the templates escape
    // them: "/" as "&#x2f;").
    let (status, h, body) = get(&c, &format!("{}/charts?rule=fake-accounts", s.base)).await;
    assert_eq!(status, 200, "{body}");
    security_headers(&h, "/charts");
    assert!(
        body.contains("&#x2f;charts&#x2f;money-per-month.svg?rule=fake-accounts"),
        "{body}"
    );
    assert!(
        body.contains("&#x2f;charts&#x2f;flags-per-rule.csv?rule=fake-accounts"),
        "{body}"
    );
    let (_, _, agency_page) = get(&c, &format!("{}/agency/990240001234", s.base)).await;
    assert!(
        agency_page.contains("&#x2f;charts&#x2f;money-per-year.svg?agency=990240001234"),
        "{agency_page}"
    );
    for slug in [
        "money-per-month",
        "money-per-agency",
        "money-per-year",
        "price-per-unit",
        "flags-per-rule",
    ] {
        let url = format!("{}/charts/{slug}.svg?agency=990240001234", s.base);
        let (status, h, svg) = get(&c, &url).await;
        assert_eq!(status, 200, "{url}: {svg}");
        security_headers(&h, &url);
        assert!(
            h["content-type"]
                .to_str()
                .unwrap()
                .starts_with("image/svg+xml")
        );
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{svg}"
        );
        assert!(!svg.contains("<script"), "{url}: raw markup: {svg}");
        let url = format!("{}/charts/{slug}.csv", s.base);
        let (status, h, csv) = get(&c, &url).await;
        assert_eq!(status, 200, "{url}");
        assert!(
            h["content-disposition"]
                .to_str()
                .unwrap()
                .starts_with("attachment")
        );
        assert!(csv.lines().next().is_some_and(|l| l.contains(',')), "{csv}");
    }
    let (_, _, csv) = get(&c, &format!("{}/charts/flags-per-rule.csv", s.base)).await;
    assert!(csv.starts_with("rule_id,flags"), "{csv}");
    assert!(csv.contains("fake-accounts,"), "{csv}");
    assert_eq!(
        get(&c, &format!("{}/charts/no-such.svg", s.base)).await.0,
        404
    );
    assert_eq!(
        get(&c, &format!("{}/charts/flags-per-rule.png", s.base))
            .await
            .0,
        404
    );
    assert_eq!(
        get(
            &c,
            &format!("{}/charts/flags-per-rule.svg?since=soon", s.base)
        )
        .await
        .0,
        400
    );

    // The notice page: the matched words marked, the supplier, the document with its hash.
    let (_, _, page) = get(&c, &notice).await;
    assert!(page.contains("<mark>"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(2)&lt;&#x2f;script&gt; ТОО"),
        "{page}"
    );
    let sha: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT sha256 FROM documents WHERE sha256 IS NOT NULL LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(page.contains(&sha), "the document's hash is shown");
    assert!(
        page.contains(&format!("href=\"/document/{sha}\"")),
        "{page}"
    );
    assert!(page.contains("Log in") || page.contains("read-only"));

    // The document: its exact bytes, as an attachment, never sniffed.
    let r = c
        .get(format!("{}/document/{sha}", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let h = r.headers().clone();
    security_headers(&h, "document");
    assert_eq!(h["content-type"], "application/octet-stream");
    assert_eq!(
        h["content-disposition"],
        format!("attachment; filename*=UTF-8''techspec_{FILE}.docx")
    );
    assert_eq!(
        r.bytes().await.unwrap().as_ref(),
        docx(NURBOT_SPEC).as_slice()
    );

    // Anything else under /document is 404: traversal (raw and encoded), a hash no document
    // has, a hash in capitals.
    assert_eq!(raw_status(&s.base, "/document/../../etc/passwd"), 404);
    assert_eq!(raw_status(&s.base, "/document/..%2F..%2Fetc%2Fpasswd"), 404);
    assert_eq!(
        raw_status(&s.base, "/document/%2e%2e%2f%2e%2e%2fetc%2fpasswd"),
        404
    );
    assert_eq!(raw_status(&s.base, "/static/../../../../etc/passwd"), 404);
    for target in [
        format!("/document/{}", "0".repeat(64)),
        format!("/document/{}", sha.to_uppercase()),
        format!("/document/{sha}/"),
        format!("/document/{sha}x"),
    ] {
        let (status, h, _) = get(&c, &format!("{}{target}", s.base)).await;
        assert_eq!(status, 404, "{target}");
        security_headers(&h, &target);
    }
    // Unknown pages and notices are 404 too.
    for p in [
        "/notice/999999999",
        "/agency/000",
        "/supplier/000",
        "/nothing",
    ] {
        assert_eq!(get(&c, &format!("{}{p}", s.base)).await.0, 404, "{p}");
    }

    // The style sheet is served by the app itself.
    let (status, h, css) = get(&c, &format!("{}/static/style.css", s.base)).await;
    assert_eq!(status, 200);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/css"));
    assert!(css.contains("mark"));

    // Languages: the config's (en) by default, ?lang= sets a cookie the next page keeps.
    let (_, _, en) = get(&c, &format!("{}/", s.base)).await;
    assert!(en.contains("<html lang=\"en\">") && en.contains("Flags"));
    let r = c.get(format!("{}/?lang=kk", s.base)).send().await.unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("tenderscan_lang=kk;"), "{cookie}");
    assert!(r.text().await.unwrap().contains("<html lang=\"kk\">"));
    let r = c
        .get(format!("{}/notice/{id}", s.base))
        .header("cookie", "tenderscan_lang=ru")
        .send()
        .await
        .unwrap();
    let ru = r.text().await.unwrap();
    assert!(
        ru.contains("<html lang=\"ru\">") && ru.contains("Заказчик"),
        "{ru}"
    );

    // Read-only: every write is refused, nothing is recorded.
    for p in [
        format!("/notice/{id}/review"),
        "/login".into(),
        "/logout".into(),
        "/".into(),
    ] {
        let r = c
            .post(format!("{}{p}", s.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("rule=fake-accounts&verdict=confirmed")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403, "POST {p}");
        security_headers(r.headers(), &p);
    }
    assert_eq!(count(&db, "SELECT count(*) FROM verdicts"), 0);
}

/// The login form's one-time nonce, from the page's hidden field.
async fn login_nonce(c: &reqwest::Client, base: &str) -> String {
    let (status, _, page) = get(c, &format!("{base}/login")).await;
    assert_eq!(status, 200, "{page}");
    hidden(&page, "nonce")
}

/// The value of the first hidden field `name` in a page.
fn hidden(page: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let at = page
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + key.len();
    page[at..].split('"').next().unwrap().to_string()
}

/// POST a form (already url-encoded), with the session cookie when given.
async fn post(
    c: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
    body: String,
) -> reqwest::Response {
    let mut r = c
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(k) = cookie {
        r = r.header("cookie", k);
    }
    r.send().await.unwrap()
}

/// POST the login form: (user, password) with a nonce from the login page.
async fn login(
    c: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
    nonce: &str,
) -> reqwest::Response {
    post(
        c,
        &format!("{base}/login"),
        None,
        form(&[("user", user), ("password", password), ("nonce", nonce)]),
    )
    .await
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reviewer_logs_in_and_records_a_verdict_only_with_the_sessions_csrf_token() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The password's hash, as a newsroom makes it.
    let out = tenderscan(d)
        .args(["serve", "--hash-password"])
        .write_stdin("correct horse battery\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let _portal = filled(
        d,
        "reviewers = [\"aigul\"]\npassword_env = \"TEST_SERVE_PASSWORDS\"",
    )
    .await;
    let db = d.join("t.db");
    let id = count(
        &db,
        &format!("SELECT id FROM notices WHERE external_id = '{ID}'"),
    );
    let rule: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT rule_id FROM flag_rows ORDER BY severity_rank DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let s = serve(d, &[("TEST_SERVE_PASSWORDS", &format!("aigul:{hash}"))]);
    let c = client();
    let notice = format!("{}/notice/{id}", s.base);
    let review = format!("{notice}/review");

    // Not logged in: a login link, no form; a verdict is sent to the login page.
    let (_, _, page) = get(&c, &notice).await;
    assert!(page.contains("href=\"/login\""), "{page}");
    assert!(!page.contains("name=\"csrf\""), "{page}");
    let r = post(
        &c,
        &review,
        None,
        form(&[("rule", &rule), ("verdict", "confirmed")]),
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/login");

    // A wrong password: 401, no cookie. A used nonce: refused.
    let nonce = login_nonce(&c, &s.base).await;
    let r = login(&c, &s.base, "aigul", "wrong", &nonce).await;
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().get("set-cookie").is_none());
    assert!(r.text().await.unwrap().contains("Wrong user or password."));
    let r = login(&c, &s.base, "aigul", "correct horse battery", &nonce).await;
    assert_eq!(r.status().as_u16(), 403, "a nonce is good once");

    // The right password: a session cookie (HttpOnly, SameSite=Strict).
    let nonce = login_nonce(&c, &s.base).await;
    let r = login(&c, &s.base, "aigul", "correct horse battery", &nonce).await;
    assert_eq!(r.status().as_u16(), 303);
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();

    // Logged in: a verdict form per flag, with the session's CSRF token.
    let (_, _, page) = get_with(&c, &notice, &cookie).await;
    assert!(page.contains("aigul"), "{page}");
    assert!(
        page.contains(&format!("action=\"/notice/{id}/review\"")),
        "{page}"
    );
    let csrf = hidden(&page, "csrf");
    assert_eq!(csrf.len(), 64);

    // Without the token, or with another, nothing is recorded.
    let hostile_note = "<img src=x onerror=alert(3)> a monitoring service";
    for token in [None, Some("0".repeat(64)), Some(String::new())] {
        let mut f = vec![
            ("rule", rule.as_str()),
            ("verdict", "confirmed"),
            ("note", hostile_note),
        ];
        if let Some(t) = &token {
            f.push(("csrf", t));
        }
        let r = post(&c, &review, Some(&cookie), form(&f)).await;
        assert_eq!(r.status().as_u16(), 403, "{token:?}");
    }
    // A session's token with no session cookie: sent to the login page.
    let r = post(
        &c,
        &review,
        None,
        form(&[("rule", &rule), ("verdict", "confirmed"), ("csrf", &csrf)]),
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(count(&db, "SELECT count(*) FROM verdicts"), 0);

    // The right token: recorded as `tenderscan review` records it, by the logged-in user.
    let r = post(
        &c,
        &review,
        Some(&cookie),
        form(&[
            ("rule", &rule),
            ("verdict", "false-positive"),
            ("note", hostile_note),
            ("csrf", &csrf),
        ]),
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], format!("/notice/{id}"));
    let (verdict, reviewer, note): (String, String, String) = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT verdict, reviewer, note FROM verdicts WHERE notice_id = ?1 AND rule_id = ?2",
            rusqlite::params![id, rule],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (verdict.as_str(), reviewer.as_str(), note.as_str()),
        ("false-positive", "aigul", hostile_note)
    );
    // The history shows it, escaped; the list filters on it.
    let (_, _, page) = get_with(&c, &notice, &cookie).await;
    assert!(
        page.contains("&lt;img src=x onerror=alert(3)&gt;"),
        "{page}"
    );
    assert!(!page.contains("<img"), "{page}");
    let (_, _, list) = get(&c, &format!("{}/?verdict=false-positive", s.base)).await;
    assert!(list.contains(ESCAPED), "{list}");
    let (_, _, list) = get(&c, &format!("{}/?verdict=none&rule={rule}", s.base)).await;
    assert!(list.contains("Nothing found."), "{list}");
    // A rule that never flagged the notice is refused.
    let r = post(
        &c,
        &review,
        Some(&cookie),
        form(&[
            ("rule", "no-such-rule"),
            ("verdict", "confirmed"),
            ("csrf", &csrf),
        ]),
    )
    .await;
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(count(&db, "SELECT count(*) FROM verdicts"), 1);

    // Log out (the token is needed there too); the old cookie no longer writes.
    let r = post(&c, &format!("{}/logout", s.base), Some(&cookie), form(&[])).await;
    assert_eq!(r.status().as_u16(), 403, "logout without the token");
    let r = post(
        &c,
        &format!("{}/logout", s.base),
        Some(&cookie),
        form(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let r = post(
        &c,
        &review,
        Some(&cookie),
        form(&[("rule", &rule), ("verdict", "confirmed"), ("csrf", &csrf)]),
    )
    .await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "/login");
    assert_eq!(count(&db, "SELECT count(*) FROM verdicts"), 1);

    // The login rate limit: failures until 429 with Retry-After, then even the right
    // password from this address waits.
    let mut tries = 0;
    let retry = loop {
        tries += 1;
        assert!(tries <= 10, "no rate limit after {tries} failures");
        let nonce = login_nonce(&c, &s.base).await;
        let r = login(&c, &s.base, "mallory", "guess", &nonce).await;
        match r.status().as_u16() {
            401 => continue,
            429 => break r.headers()["retry-after"].to_str().unwrap().to_string(),
            other => panic!("login answered {other}"),
        }
    };
    assert!(tries > 1, "the first failure is not yet limited");
    assert!(retry.parse::<u64>().unwrap() > 0, "{retry}");
    let nonce = login_nonce(&c, &s.base).await;
    let r = login(&c, &s.base, "aigul", "correct horse battery", &nonce).await;
    assert_eq!(r.status().as_u16(), 429);
}

async fn get_with(
    c: &reqwest::Client,
    url: &str,
    cookie: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let r = c.get(url).header("cookie", cookie).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().await.unwrap())
}
