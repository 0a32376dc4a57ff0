//! The channels beside mail against stand-ins on 127.0.0.1: a Telegram Bot API stand-in
//! (records messages, answers 429 once, a blocked bot, a run killed mid-send), a webhook
//! receiver that checks the signature with its own HMAC, an Atom feed parsed back with
//! quick-xml. The database is a real SQLite file seeded through the store's API.

use crate::alert::{Tender, block, count, rules, seed, tender};
use crate::smtp::free_port;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tenderscan::alert::{SendOptions, SendReport, resend, send_pending};
use tenderscan::config::Config;
use tenderscan::store::Store;

pub(crate) const TOKEN_ENV: &str = "TENDERSCAN_TEST_TG_TOKEN";
pub(crate) const TOKEN: &str = "123456:test-token";
const SECRET_ENV: &str = "TENDERSCAN_TEST_WEBHOOK_SECRET";
const SECRET: &str = "s3cret-for-hooks";
const WRONG_SECRET_ENV: &str = "TENDERSCAN_TEST_WEBHOOK_WRONG";

pub(crate) fn set_env() {
    // SAFETY: these variables are only read by these tests, always with these values.
    unsafe {
        std::env::set_var(TOKEN_ENV, TOKEN);
        std::env::set_var(SECRET_ENV, SECRET);
        std::env::set_var(WRONG_SECRET_ENV, "not-the-secret");
    }
}

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// What to answer: (status, JSON body, hold the answer until stopped).
type Handler = dyn Fn(&Req, usize) -> (u16, String, bool) + Send + Sync;

/// A small HTTP/1.1 server on 127.0.0.1: one thread a connection, `Connection: close`.
pub(crate) struct StandIn {
    port: u16,
    reqs: Arc<Mutex<Vec<Req>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StandIn {
    pub(crate) fn start(
        port: u16,
        handler: impl Fn(&Req, usize) -> (u16, String, bool) + Send + Sync + 'static,
    ) -> StandIn {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let reqs: Arc<Mutex<Vec<Req>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (r, s) = (reqs.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (r, s, h) = (r.clone(), s.clone(), handler.clone());
                std::thread::spawn(move || serve(conn, &r, &s, &*h));
            }
        });
        StandIn {
            port,
            reqs,
            stop,
            thread: Some(thread),
        }
    }

    pub(crate) fn requests(&self, path_end: &str) -> Vec<Req> {
        self.reqs
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.ends_with(path_end))
            .cloned()
            .collect()
    }

    /// Wait (bounded) until `n` requests ending in `path_end` arrived.
    fn wait_for(&self, path_end: &str, n: usize, limit: Duration) -> Vec<Req> {
        let start = Instant::now();
        loop {
            let got = self.requests(path_end);
            if got.len() >= n || start.elapsed() > limit {
                return got;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(conn: TcpStream, reqs: &Mutex<Vec<Req>>, stop: &AtomicBool, handler: &Handler) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let req = Req {
        path,
        headers,
        body,
    };
    let index = {
        let mut r = reqs.lock().unwrap();
        r.push(req.clone());
        r.len() - 1
    };
    let (status, answer, hold) = handler(&req, index);
    if hold {
        // Never answer: the client waits until it is killed or the stand-in stops.
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
        return;
    }
    let mut conn = conn;
    let _ = write!(
        conn,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    let _ = conn.flush();
}

pub(crate) const OK: &str = r#"{"ok":true,"result":{"message_id":1}}"#;

/// The Bot API stand-in's usual answers; `send` answers sendMessage.
pub(crate) fn bot(
    send: impl Fn(&Req, usize) -> (u16, String, bool) + Send + Sync + 'static,
) -> impl Fn(&Req, usize) -> (u16, String, bool) + Send + Sync + 'static {
    move |r: &Req, i| {
        if !r.path.starts_with(&format!("/bot{TOKEN}/")) {
            return (
                401,
                r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#.into(),
                false,
            );
        }
        if r.path.ends_with("/getMe") {
            return (
                200,
                r#"{"ok":true,"result":{"id":1,"is_bot":true}}"#.into(),
                false,
            );
        }
        send(r, i)
    }
}

/// A config with the given `[[recipients]]` tables and extra top-level text.
fn config(dir: &Path, recipients: &str, extra: &str) -> (Config, PathBuf) {
    let src = format!(
        "[database]\npath = \"t.db\"\n\n[mail]\nfrom = \"tenderscan <alerts@newsroom.example>\"\n\
         dry_run_dir = \"outbox\"\ntimeout_secs = 120\n\n{extra}\n\
         [[sources]]\nname = \"goszakup\"\nkind = \"goszakup\"\nurl = \"https://ows.goszakup.gov.kz\"\n\n{recipients}"
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, src).unwrap();
    (Config::load(&path).unwrap(), path)
}

fn telegram_section(port: u16) -> String {
    format!("[telegram]\ntoken_env = \"{TOKEN_ENV}\"\napi_url = \"http://127.0.0.1:{port}\"\n")
}

fn send(store: &mut Store, cfg: &Config) -> SendReport {
    block(send_pending(store, cfg, &rules(), &SendOptions::default())).unwrap()
}

fn hostile(id: &'static str) -> Tender {
    Tender {
        title: "<script>alert(1)</script> & «Медиа» <b>".into(),
        ..tender(id)
    }
}

#[test]
fn telegram_messages_arrive_once_through_a_429_and_escape_the_notice() {
    set_env();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (cfg, _) = config(
        dir.path(),
        "[[recipients]]\nchannel = \"telegram\"\nchat_id = -1001234567890\nmin_severity = \"low\"\nlanguage = \"en\"\n\n\
         [[recipients]]\nchannel = \"telegram\"\nchat_id = \"@newsdesk_kz\"\ndigest = true\nmin_severity = \"low\"\n",
        &telegram_section(port),
    );
    let per_notice = "telegram:-1001234567890";
    let digest = "telegram:@newsdesk_kz";
    let mut store = Store::open(&cfg.database.path).unwrap();
    seed(&mut store, &hostile("4001"), &[per_notice, digest], false);
    seed(&mut store, &tender("4002"), &[per_notice, digest], false);

    let refused = AtomicBool::new(false);
    let api = StandIn::start(
        port,
        bot(move |_, _| {
            if !refused.swap(true, Ordering::SeqCst) {
                // The first sendMessage: wait a second.
                (429, r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#.into(), false)
            } else {
                (200, OK.into(), false)
            }
        }),
    );
    let r = send(&mut store, &cfg);
    assert!(r.failed.is_empty(), "{r:?}");
    assert_eq!((r.digests_sent, r.alerts_sent), (3, 4), "{r:?}");
    let sent = api.requests("/sendMessage");
    assert_eq!(sent.len(), 4, "three messages and one refused with 429");
    // The refused one was sent again as it was, and arrived once.
    let bodies: Vec<&[u8]> = sent.iter().map(|r| r.body.as_slice()).collect();
    assert_eq!(
        bodies[0], bodies[1],
        "after the 429, the same message again"
    );
    let mut distinct = bodies[1..].to_vec();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "each message once");
    let mut hostile_seen = 0;
    for m in &sent[1..] {
        let v = m.json();
        assert_eq!(v["parse_mode"], "HTML");
        let text = v["text"].as_str().unwrap();
        assert!(text.chars().count() <= 4096);
        assert!(
            !text.contains("<script>") && !text.contains("<b>Медиа"),
            "{text}"
        );
        if text.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; «Медиа» &lt;b&gt;") {
            hostile_seen += 1;
            assert!(
                text.contains("<a href=\"https://goszakup.gov.kz/ru/announce/index/4001\">"),
                "{text}"
            );
        }
        assert!(text.contains("<blockquote>"), "{text}");
    }
    assert_eq!(hostile_seen, 2, "the hostile notice went to both chats");
    let chats: Vec<serde_json::Value> = sent[1..]
        .iter()
        .map(|m| m.json()["chat_id"].clone())
        .collect();
    assert_eq!(
        chats
            .iter()
            .filter(|c| **c == serde_json::json!(-1001234567890i64))
            .count(),
        2
    );
    assert_eq!(
        chats
            .iter()
            .filter(|c| **c == serde_json::json!("@newsdesk_kz"))
            .count(),
        1,
        "the digest is one message"
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM alerts WHERE status = 'sent'"),
        4
    );
    // Nothing twice.
    assert_eq!(send(&mut store, &cfg), SendReport::default());
    assert_eq!(api.requests("/sendMessage").len(), 4);
}

#[test]
fn a_blocked_bot_is_a_clear_error_and_the_alerts_wait_for_the_next_run() {
    set_env();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (cfg, _) = config(
        dir.path(),
        "[[recipients]]\nchannel = \"telegram\"\nchat_id = 42\nmin_severity = \"low\"\n",
        &telegram_section(port),
    );
    let mut store = Store::open(&cfg.database.path).unwrap();
    seed(&mut store, &tender("4201"), &["telegram:42"], false);
    // A dry run shows what would be handed over, and sends and marks nothing.
    let dry = block(send_pending(
        &mut store,
        &cfg,
        &rules(),
        &SendOptions {
            dry_run: true,
            ..SendOptions::default()
        },
    ))
    .unwrap();
    assert_eq!(dry.previews.len(), 1, "{dry:?}");
    assert!(dry.previews[0].starts_with("To: telegram:42\n"), "{dry:?}");
    assert!(
        dry.previews[0].contains("\"parse_mode\":\"HTML\""),
        "{dry:?}"
    );
    assert_eq!(count(&store, "SELECT count(*) FROM digests"), 0);
    let blocked = StandIn::start(
        port,
        bot(|_, _| {
            (403, r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#.into(), false)
        }),
    );
    let r = send(&mut store, &cfg);
    assert_eq!(r.digests_sent, 0);
    assert_eq!(r.failed.len(), 1, "{r:?}");
    let e = &r.failed[0];
    assert!(
        e.contains("telegram:42") && e.contains("blocked") && e.contains("remove this recipient"),
        "{e}"
    );
    assert!(!e.contains(TOKEN), "the token never shows: {e}");
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM alerts WHERE status = 'pending'"
        ),
        1
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM digests WHERE status = 'failed'"
        ),
        1
    );
    drop(blocked);
    // A wrong chat says so.
    let wrong = StandIn::start(
        port,
        bot(|_, _| {
            (
                400,
                r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#
                    .into(),
                false,
            )
        }),
    );
    let r = send(&mut store, &cfg);
    assert!(r.failed[0].contains("check chat_id"), "{r:?}");
    drop(wrong);
    let api = StandIn::start(port, bot(|_, _| (200, OK.into(), false)));
    let r = send(&mut store, &cfg);
    assert_eq!(
        (r.digests_sent, r.alerts_sent, r.failed.len()),
        (1, 1, 0),
        "{r:?}"
    );
    assert_eq!(api.requests("/sendMessage").len(), 1);
}

/// HMAC-SHA256 written here from RFC 2104, apart from the crate's.
fn hmac(key: &[u8], msg: &[u8]) -> String {
    let mut k = key.to_vec();
    if k.len() > 64 {
        k = Sha256::digest(&k).to_vec();
    }
    k.resize(64, 0);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::digest([ipad.as_slice(), msg].concat());
    hex::encode(Sha256::digest([opad.as_slice(), inner.as_slice()].concat()))
}

#[test]
fn a_webhook_receiver_checks_the_signature_of_each_delivery() {
    set_env();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hooks/tenderscan");
    let recipient = format!(
        "[[recipients]]\nchannel = \"webhook\"\nurl = \"{url}\"\nmin_severity = \"low\"\nlanguage = \"en\"\n"
    );
    let (cfg, _) = config(
        dir.path(),
        &recipient,
        &format!("[webhook]\nsecret_env = \"{SECRET_ENV}\"\n"),
    );
    let key = format!("webhook:{url}");
    let mut store = Store::open(&cfg.database.path).unwrap();
    seed(&mut store, &hostile("4301"), &[&key], false);
    let receiver = StandIn::start(port, |r, _| {
        let expected = format!("sha256={}", hmac(SECRET.as_bytes(), &r.body));
        if r.header("X-Tenderscan-Signature") == Some(expected.as_str()) {
            (200, "{}".into(), false)
        } else {
            (401, r#"{"error":"bad signature"}"#.into(), false)
        }
    });
    let r = send(&mut store, &cfg);
    assert_eq!(
        (r.digests_sent, r.alerts_sent, r.failed.len()),
        (1, 1, 0),
        "{r:?}"
    );
    let got = receiver.requests("/hooks/tenderscan");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("Content-Type"), Some("application/json"));
    let v = got[0].json();
    let message_id: String = store
        .conn()
        .query_row("SELECT message_id FROM digests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v["id"], message_id.as_str());
    assert_eq!(v["language"], "en");
    let n = &v["notices"][0];
    assert_eq!(
        n["title"], "<script>alert(1)</script> & «Медиа» <b>",
        "JSON carries the text as text"
    );
    assert_eq!(n["url"], "https://goszakup.gov.kz/ru/announce/index/4301");
    assert_eq!(n["agency"]["bin"], "000140000123");
    assert_eq!(n["findings"][0]["rule_id"], "fake-accounts");
    assert_eq!(n["findings"][0]["matched"], "фейковых аккаунтов");
    assert_eq!(send(&mut store, &cfg), SendReport::default());

    // Signed with another secret, the receiver refuses it: failed, the alert waits.
    let (wrong, _) = config(
        dir.path(),
        &recipient,
        &format!("[webhook]\nsecret_env = \"{WRONG_SECRET_ENV}\"\n"),
    );
    seed(&mut store, &tender("4302"), &[&key], false);
    let r = send(&mut store, &wrong);
    assert_eq!(r.digests_sent, 0);
    assert!(r.failed[0].contains("401"), "{r:?}");
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM alerts WHERE status = 'pending'"
        ),
        1
    );
    let r = send(&mut store, &cfg);
    assert_eq!((r.digests_sent, r.alerts_sent), (1, 1), "{r:?}");
    assert_eq!(receiver.requests("/hooks/tenderscan").len(), 3);
}

/// The entries of an Atom feed read with quick-xml: (id, title, link, updated), and the
/// namespace of the root element.
fn parse_feed(path: &Path) -> (String, Vec<(String, String, String, String)>) {
    use quick_xml::events::Event;
    let xml = std::fs::read_to_string(path).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut ns = String::new();
    let mut entries = Vec::new();
    let mut cur: Option<(String, String, String, String)> = None;
    let mut stack: Vec<String> = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                let name = e.name().as_ref().to_string();
                if name == "feed" {
                    ns = attr(&e, "xmlns").unwrap_or_default();
                }
                if name == "entry" {
                    cur = Some(Default::default());
                }
                stack.push(name);
            }
            Event::Empty(e) if e.name().as_ref() == "link" => {
                if let Some(c) = cur.as_mut() {
                    c.2 = attr(&e, "href").unwrap();
                }
            }
            Event::Text(t) => {
                let text = t.xml10_content().to_string();
                if let (Some(c), Some(top)) = (cur.as_mut(), stack.last()) {
                    match top.as_str() {
                        "id" => c.0.push_str(&text),
                        "title" => c.1.push_str(&text),
                        "updated" => c.3.push_str(&text),
                        _ => {}
                    }
                }
            }
            Event::GeneralRef(r) => {
                let s = match r.as_ref() {
                    "lt" => "<",
                    "gt" => ">",
                    "amp" => "&",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unexpected entity {other:?}"),
                };
                if let (Some(c), Some("title")) = (cur.as_mut(), stack.last().map(String::as_str)) {
                    c.1.push_str(s);
                }
            }
            Event::End(e) => {
                stack.pop();
                if e.name().as_ref() == "entry" {
                    entries.push(cur.take().unwrap());
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(stack.is_empty(), "every element closed");
    (ns, entries)
}

fn attr(e: &quick_xml::events::BytesStart, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .map(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .unwrap()
                .into_owned()
        })
}

#[test]
fn an_atom_feed_is_written_each_run_newest_first_with_stable_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, _) = config(
        dir.path(),
        "[[recipients]]\nchannel = \"atom\"\npath = \"feeds/alerts.xml\"\nmin_severity = \"low\"\nlanguage = \"en\"\n",
        "",
    );
    let feed = dir.path().join("feeds/alerts.xml");
    let key = format!("atom:{}", feed.display());
    let mut store = Store::open(&cfg.database.path).unwrap();
    seed(&mut store, &hostile("4401"), &[&key], false);
    let r = send(&mut store, &cfg);
    assert_eq!(
        (r.digests_sent, r.alerts_sent, r.failed.len()),
        (1, 1, 0),
        "{r:?}"
    );
    let (ns, first) = parse_feed(&feed);
    assert_eq!(ns, "http://www.w3.org/2005/Atom");
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].1, "<script>alert(1)</script> & «Медиа» <b>",
        "the title survives escaping"
    );
    assert_eq!(first[0].2, "https://goszakup.gov.kz/ru/announce/index/4401");
    assert!(first[0].0.starts_with("urn:tenderscan:alert:"));

    seed(&mut store, &tender("4402"), &[&key], false);
    let r = send(&mut store, &cfg);
    assert_eq!(r.digests_sent, 1, "{r:?}");
    let (_, second) = parse_feed(&feed);
    assert_eq!(second.len(), 2);
    assert_eq!(
        second[0].2, "https://goszakup.gov.kz/ru/announce/index/4402",
        "newest first"
    );
    assert_eq!(
        second[1], first[0],
        "the older entry kept its id, title, link and time"
    );
    assert!(second[0].3 >= second[1].3);
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path().join("feeds"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["alerts.xml".to_string()]);
    assert_eq!(send(&mut store, &cfg), SendReport::default());
}

/// Run as a child process by `a_kill_between_telegram_send_and_mark_is_unconfirmed_and_not_resent`.
#[test]
#[ignore = "a child process of a_kill_between_telegram_send_and_mark_is_unconfirmed_and_not_resent"]
fn child_sends_pending_channels() {
    let path = std::env::var("TENDERSCAN_CHANNEL_CHILD_CONFIG")
        .expect("run by a_kill_between_telegram_send_and_mark_is_unconfirmed_and_not_resent");
    let cfg = Config::load(Path::new(&path)).unwrap();
    let mut store = Store::open(&cfg.database.path).unwrap();
    let report = send(&mut store, &cfg);
    println!("child report: {report:?}");
}

#[test]
fn a_kill_between_telegram_send_and_mark_is_unconfirmed_and_not_resent() {
    set_env();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (cfg, cfg_path) = config(
        dir.path(),
        "[[recipients]]\nchannel = \"telegram\"\nchat_id = 77\nmin_severity = \"low\"\n",
        &telegram_section(port),
    );
    let mut store = Store::open(&cfg.database.path).unwrap();
    seed(&mut store, &tender("4501"), &["telegram:77"], false);
    drop(store);
    // The API takes the message and never answers: only the kill ends the send.
    let slow = StandIn::start(port, bot(|_, _| (200, OK.into(), true)));
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "channels::child_sends_pending_channels",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("TENDERSCAN_CHANNEL_CHILD_CONFIG", &cfg_path)
        .env(TOKEN_ENV, TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let taken = slow.wait_for("/sendMessage", 1, Duration::from_secs(60));
    assert_eq!(taken.len(), 1, "the API never got the message");
    let status: String = Store::open(&cfg.database.path)
        .unwrap()
        .conn()
        .query_row("SELECT status FROM digests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        status, "sending",
        "the child must be waiting for the answer"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    drop(slow);

    let api = StandIn::start(port, bot(|_, _| (200, OK.into(), false)));
    let mut store = Store::open(&cfg.database.path).unwrap();
    let r = send(&mut store, &cfg);
    let id: i64 = count(&store, "SELECT id FROM digests");
    assert_eq!(r.unconfirmed, vec![id]);
    assert_eq!(
        (r.digests_sent, r.alerts_sent, r.failed.len()),
        (0, 0, 0),
        "{r:?}"
    );
    assert_eq!(r.warnings.len(), 1, "{r:?}");
    assert!(
        r.warnings[0].contains(&format!("digest {id} to telegram:77")),
        "{r:?}"
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM digests WHERE status = 'unconfirmed'"
        ),
        1
    );
    assert_eq!(send(&mut store, &cfg), SendReport::default());
    assert!(
        api.requests("/sendMessage").is_empty(),
        "never sent again by itself"
    );

    // A person resends it: the stored message, byte for byte.
    let r = block(resend(&mut store, &cfg, &rules(), id)).unwrap();
    assert_eq!((r.digests_sent, r.alerts_sent), (1, 1), "{r:?}");
    let again = api.requests("/sendMessage");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].body, taken[0].body);
    assert_eq!(
        count(&store, "SELECT count(*) FROM alerts WHERE status = 'sent'"),
        1
    );
}

#[test]
fn watch_alerts_reach_the_webhook_and_the_feed_in_their_own_section() {
    use tenderscan::store::{WatchTarget, Watched};
    set_env();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hooks/tenderscan");
    let (cfg, _) = config(
        dir.path(),
        &format!(
            "[[recipients]]\nchannel = \"webhook\"\nurl = \"{url}\"\nlanguage = \"en\"\n\n\
             [[recipients]]\nchannel = \"atom\"\npath = \"feeds/w.xml\"\n"
        ),
        &format!("[webhook]\nsecret_env = \"{SECRET_ENV}\"\n"),
    );
    let feed = dir.path().join("feeds/w.xml");
    let hook = format!("webhook:{url}");
    let atom = format!("atom:{}", feed.display());
    let mut store = Store::open(&cfg.database.path).unwrap();
    // A notice whose match went to nobody (no recipient's filters let it through).
    let id = seed(&mut store, &hostile("4501"), &[], false);
    let words = tenderscan::report::fts_query("фейковый аккаунт");
    let to = vec![hook.clone(), atom.clone()];
    let watches = [
        WatchTarget {
            name: "Rudny akimat",
            on: Watched::AgencyBin("000140000123"),
            recipients: to.clone(),
        },
        WatchTarget {
            name: "words",
            on: Watched::Fts(&words),
            recipients: to.clone(),
        },
        WatchTarget {
            name: "not this one",
            on: Watched::SupplierBin("000140000123"),
            recipients: to.clone(),
        },
    ];
    assert_eq!(store.record_watches(id, &watches, false).unwrap(), 4);
    assert_eq!(
        store.record_watches(id, &watches, false).unwrap(),
        0,
        "a version is looked at once"
    );
    let receiver = StandIn::start(port, |r, _| {
        let expected = format!("sha256={}", hmac(SECRET.as_bytes(), &r.body));
        if r.header("X-Tenderscan-Signature") == Some(expected.as_str()) {
            (200, "{}".into(), false)
        } else {
            (401, "{}".into(), false)
        }
    });
    let r = send(&mut store, &cfg);
    assert_eq!(
        (r.digests_sent, r.alerts_sent, r.failed.len()),
        (2, 4, 0),
        "{r:?}"
    );
    let got = receiver.requests("/hooks/tenderscan");
    assert_eq!(got.len(), 1);
    let v = got[0].json();
    assert_eq!(v["notices"], serde_json::json!([]));
    let w = &v["watchlist"][0];
    assert_eq!(w["kind"], "watch");
    assert_eq!(w["notice_id"], id);
    assert_eq!(w["watches"], serde_json::json!(["Rudny akimat", "words"]));
    assert_eq!(w["event"], "new");
    assert_eq!(w["title"], "<script>alert(1)</script> & «Медиа» <b>");
    let (_, entries) = parse_feed(&feed);
    assert_eq!(entries.len(), 1, "one entry for the notice on two watches");
    assert_eq!(entries[0].1, "<script>alert(1)</script> & «Медиа» <b>");
    assert_eq!(
        entries[0].2,
        "https://goszakup.gov.kz/ru/announce/index/4501"
    );
    let xml = std::fs::read_to_string(&feed).unwrap();
    assert!(xml.contains("В вашем списке наблюдения"), "{xml}");
    assert_eq!(send(&mut store, &cfg), SendReport::default());
}

#[test]
fn a_kill_between_sending_a_watch_alert_and_its_mark_is_unconfirmed_and_not_resent() {
    use tenderscan::store::{WatchTarget, Watched};
    set_env();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (cfg, cfg_path) = config(
        dir.path(),
        "[[recipients]]\nchannel = \"telegram\"\nchat_id = 78\n",
        &telegram_section(port),
    );
    let mut store = Store::open(&cfg.database.path).unwrap();
    let id = seed(&mut store, &tender("4601"), &[], false);
    let watch = WatchTarget {
        name: "Rudny akimat",
        on: Watched::AgencyBin("000140000123"),
        recipients: vec!["telegram:78".into()],
    };
    assert_eq!(store.record_watches(id, &[watch], false).unwrap(), 1);
    drop(store);
    let slow = StandIn::start(port, bot(|_, _| (200, OK.into(), true)));
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "channels::child_sends_pending_channels",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("TENDERSCAN_CHANNEL_CHILD_CONFIG", &cfg_path)
        .env(TOKEN_ENV, TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let taken = slow.wait_for("/sendMessage", 1, Duration::from_secs(60));
    assert_eq!(taken.len(), 1, "the API never got the message");
    assert!(
        taken[0].json()["text"]
            .as_str()
            .unwrap()
            .starts_with("<b>В вашем списке наблюдения</b>")
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    drop(slow);

    let api = StandIn::start(port, bot(|_, _| (200, OK.into(), false)));
    let mut store = Store::open(&cfg.database.path).unwrap();
    let r = send(&mut store, &cfg);
    let digest: i64 = count(&store, "SELECT id FROM digests");
    assert_eq!(r.unconfirmed, vec![digest], "{r:?}");
    assert_eq!((r.digests_sent, r.failed.len()), (0, 0), "{r:?}");
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM alerts WHERE kind = 'watch' AND status = 'queued'"
        ),
        1,
        "the watch alert stays with its unconfirmed digest"
    );
    assert_eq!(send(&mut store, &cfg), SendReport::default());
    assert!(
        api.requests("/sendMessage").is_empty(),
        "never sent again by itself"
    );
}
