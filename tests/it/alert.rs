//! Alerts against a real SMTP server on 127.0.0.1 (`tests/support/smtp_server.rs`): digests,
//! escaping, delivery exactly once through outages and kills, the dry-run folder, the
//! operator check. The database is a real SQLite file seeded through the store's API.

use crate::smtp::{Faults, SmtpServer, free_port, maildir_messages, parse_mime};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tenderscan::alert::{
    AlertError, RuleText, SendOptions, SendReport, operator_check, resend, send_pending,
};
use tenderscan::config::Config;
use tenderscan::model::{Agency, LotRecord, NoticeRecord, PortalTime, Severity};
use tenderscan::store::{NewMatch, Store};

const EN: &str = "reporter@newsroom.example";
const RU: &str = "ru.desk@newsroom.example";
const ADMIN: &str = "ops@newsroom.example";

pub(crate) fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

pub(crate) fn rules() -> HashMap<String, RuleText> {
    HashMap::from([
        (
            "fake-accounts".to_string(),
            RuleText {
                title: "Fake accounts for commenting".into(),
                why: "The buyer pays for accounts that pretend to be citizens: opinion bought with public money.".into(),
                ..RuleText::default()
            },
        ),
        (
            "paid-comments".to_string(),
            RuleText {
                title: "Paid comments".into(),
                why: "A quota of comments to be posted is a comment farm.".into(),
                ..RuleText::default()
            },
        ),
    ])
}

/// Write a config into `dir` and load it. `port` None: no smtp_host (the .eml folder).
fn config(dir: &Path, port: Option<u16>, admin: bool, timeout_secs: u64) -> (Config, PathBuf) {
    let smtp = match port {
        Some(p) => format!("smtp_host = \"127.0.0.1\"\nsmtp_port = {p}\nsecurity = \"none\"\n"),
        None => String::new(),
    };
    let admin = if admin {
        format!("admin = \"{ADMIN}\"\n")
    } else {
        String::new()
    };
    let src = format!(
        "[database]\npath = \"t.db\"\n\n[mail]\n{smtp}from = \"tenderscan <alerts@newsroom.example>\"\n\
         reply_to = \"desk@newsroom.example\"\ndry_run_dir = \"outbox\"\n{admin}timeout_secs = {timeout_secs}\n\n\
         [[sources]]\nname = \"goszakup\"\nkind = \"goszakup\"\nurl = \"https://ows.goszakup.gov.kz\"\n\n\
         [[recipients]]\nemail = \"{EN}\"\nmin_severity = \"low\"\nlanguage = \"en\"\n\n\
         [[recipients]]\nemail = \"{RU}\"\nmin_severity = \"low\"\nlanguage = \"ru\"\n"
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, src).unwrap();
    (Config::load(&path).unwrap(), path)
}

pub(crate) struct Tender {
    pub(crate) id: &'static str,
    pub(crate) title: String,
    pub(crate) agency: (&'static str, String),
    pub(crate) amount: f64,
    pub(crate) url: String,
    /// The text the phrase is found in: the notice's description, or a lot's.
    pub(crate) text: String,
    pub(crate) phrase: &'static str,
    /// Put the text in a lot with this amount.
    pub(crate) lot_amount: Option<f64>,
    pub(crate) rule: &'static str,
    pub(crate) severity: Severity,
    pub(crate) quota: Option<(&'static str, i64)>,
}

pub(crate) fn tender(id: &'static str) -> Tender {
    Tender {
        id,
        title: format!("Услуги по информационному сопровождению №{id}"),
        agency: ("000140000123", "ГУ «Аппарат акима города Рудный»".into()),
        amount: 1_300_000.0,
        url: format!("https://goszakup.gov.kz/ru/announce/index/{id}"),
        text: "Техническое задание: создание четырёх фейковых аккаунтов для комментирования публикаций".into(),
        phrase: "фейковых аккаунтов",
        lot_amount: None,
        rule: "fake-accounts",
        severity: Severity::High,
        quota: None,
    }
}

/// Store one notice and record one match in it, queued for `recipients`.
pub(crate) fn seed(store: &mut Store, t: &Tender, recipients: &[&str], baseline: bool) -> i64 {
    let source = store
        .ensure_source("goszakup", "goszakup", "https://ows.goszakup.gov.kz")
        .unwrap();
    let mut rec = NoticeRecord {
        external_id: t.id.into(),
        number: Some(format!("{}-1", t.id)),
        title: t.title.clone(),
        agency: Some(Agency {
            id: t.agency.0.into(),
            name_ru: Some(t.agency.1.clone()),
            ..Agency::default()
        }),
        amount: Some(t.amount),
        currency: Some("KZT".into()),
        deadline: Some(PortalTime {
            utc: Some("2026-12-05T18:00:00Z".parse().unwrap()),
            original: "2026-12-05 23:00:00".into(),
        }),
        url: Some(t.url.clone()),
        ..NoticeRecord::default()
    };
    match t.lot_amount {
        Some(a) => rec.lots.push(LotRecord {
            external_id: format!("{}-lot", t.id),
            number: Some(format!("{}-ЗЦП1", t.id)),
            title: Some("SMM".into()),
            description: Some(t.text.clone()),
            amount: Some(a),
            ..LotRecord::default()
        }),
        None => rec.description = Some(t.text.clone()),
    }
    let page = store.store_page(source, &[rec], None).unwrap();
    let notice_id = page.touched[0];
    let input = store.scan_input(notice_id).unwrap().unwrap();
    let target = input
        .targets
        .iter()
        .find(|x| {
            x.target.kind()
                == if t.lot_amount.is_some() {
                    "lot"
                } else {
                    "notice"
                }
        })
        .unwrap()
        .clone();
    let start = target.text.find(t.phrase).expect("phrase in text");
    let found = NewMatch {
        target: target.target,
        lot_id: target.lot_id,
        document_id: None,
        rule_id: t.rule.into(),
        severity: t.severity,
        score: 1.0,
        evidence: target.text.clone(),
        evidence_start: 0,
        start,
        end: start + t.phrase.len(),
        quotas_json: "[]".into(),
        quota_kind: t.quota.map(|q| q.0.parse().unwrap()),
        quota_count: t.quota.map(|q| q.1),
        quota_period: None,
        quota_source: t.quota.map(|_| "text"),
        quota_label: t.quota.map(|_| t.phrase.to_string()),
        quota_sure: t.quota.map(|_| true),
        reasons_json: None,
    };
    let to: Vec<String> = recipients.iter().map(|r| r.to_string()).collect();
    store
        .record_scan(&input, "test-1", &[found], &|_| to.clone(), baseline)
        .unwrap();
    notice_id
}

pub(crate) fn count(store: &Store, sql: &str) -> i64 {
    store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

fn send(store: &mut Store, cfg: &Config) -> SendReport {
    block(send_pending(store, cfg, &rules(), &SendOptions::default())).unwrap()
}

fn maildir(dir: &Path) -> PathBuf {
    dir.join("maildir")
}

fn to_of(path: &Path) -> String {
    parse_mime(path)
        .header("To")
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_digest_arrives_with_both_parts_and_the_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(&maildir(dir.path()));
    let (cfg, _) = config(dir.path(), Some(server.port), false, 10);
    let mut store = Store::open(&cfg.database.path).unwrap();
    let a = Tender {
        lot_amount: Some(1_300_000.0),
        amount: 2_000_000.0,
        quota: Some(("accounts", 4)),
        ..tender("17163708")
    };
    let b = Tender {
        title: "Размещение материалов в социальных сетях".into(),
        text: "Исполнитель обеспечивает 30 комментариев в сутки под публикациями акимата".into(),
        phrase: "30 комментариев",
        rule: "paid-comments",
        severity: Severity::Medium,
        amount: 500_000.0,
        ..tender("17170001")
    };
    seed(&mut store, &a, &[EN], false);
    seed(&mut store, &b, &[EN], false);

    let report = send(&mut store, &cfg);
    assert_eq!(report.failed, Vec::<String>::new());
    assert_eq!((report.digests_sent, report.alerts_sent), (1, 2));
    let files = server.wait_for(1, Duration::from_secs(5));
    assert_eq!(files.len(), 1);
    let m = parse_mime(&files[0]);
    assert!(m.defects.is_empty(), "{:?}", m.defects);
    assert_eq!(m.content_type, "multipart/alternative");
    assert_eq!(
        m.header("Subject"),
        Some("tenderscan: 2 tenders, 1 high: Fake accounts for commenting")
    );
    assert_eq!(
        m.header("From"),
        Some("tenderscan <alerts@newsroom.example>")
    );
    assert_eq!(m.header("Reply-To"), Some("desk@newsroom.example"));
    assert_eq!(m.header("To"), Some(EN));
    assert_eq!(m.header("Auto-Submitted"), Some("auto-generated"));
    let (digest_id, stored_id): (i64, String) = store
        .conn()
        .query_row("SELECT id, message_id FROM digests", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let mid = m.header("Message-ID").unwrap();
    assert_eq!(mid, stored_id);
    let prefix = format!("<tenderscan.{digest_id}.");
    let random = mid
        .strip_prefix(&prefix)
        .and_then(|r| r.strip_suffix("@newsroom.example>"))
        .unwrap_or_else(|| panic!("Message-ID {mid}"));
    assert!(
        random.len() == 16 && random.chars().all(|c| c.is_ascii_hexdigit()),
        "{mid}"
    );

    let text = m.part("text/plain");
    let html = m.part("text/html");
    for needle in [
        "== HIGH (1) ==",
        "== MEDIUM (1) ==",
        "Agency: ГУ «Аппарат акима города Рудный» (BIN 000140000123)",
        "Amount: 2 000 000 KZT",
        "Price: 1 300 000 KZT for 4 accounts: 325 000 KZT per account",
        "Lot 17163708-ЗЦП1",
        "Deadline: 2026-12-05 23:00 Almaty time (2026-12-05 18:00 UTC)",
        "создание четырёх **фейковых аккаунтов** для комментирования",
        "обеспечивает **30 комментариев** в сутки",
        "Why this matters: The buyer pays for accounts that pretend to be citizens",
        "https://goszakup.gov.kz/ru/announce/index/17163708",
        "Размещение материалов в социальных сетях",
    ] {
        assert!(text.contains(needle), "text part lacks {needle:?}:\n{text}");
    }
    assert!(
        text.find("== HIGH").unwrap() < text.find("== MEDIUM").unwrap(),
        "{text}"
    );
    assert!(
        html.contains(">фейковых аккаунтов</mark>"),
        "html lacks the highlight:\n{html}"
    );
    assert!(html.contains("href=\"https://goszakup.gov.kz/ru/announce/index/17163708\""));
    assert!(html.contains("325&nbsp;000") || html.contains("325 000 KZT per account"));

    // Digest and alerts are marked, with the time; a second run sends nothing.
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM digests WHERE status = 'sent' AND sent_at IS NOT NULL AND attempts = 1"
        ),
        1
    );
    assert_eq!(
        count(
            &store,
            &format!(
                "SELECT count(*) FROM alerts WHERE status = 'sent' AND sent_at IS NOT NULL AND digest_id = {digest_id}"
            )
        ),
        2
    );
    let again = send(&mut store, &cfg);
    assert_eq!(again, SendReport::default());
    assert_eq!(server.wait_for(2, Duration::from_millis(300)).len(), 1);
}

#[test]
fn a_hostile_notice_arrives_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(&maildir(dir.path()));
    let (cfg, _) = config(dir.path(), Some(server.port), false, 10);
    let mut store = Store::open(&cfg.database.path).unwrap();
    let t = Tender {
        title: "<script>alert(1)</script> Услуги\r\nBcc: victim@example.com".into(),
        agency: ("000140000123", "<img src=x onerror=alert(2)>".into()),
        url: "javascript:alert(3)".into(),
        text: "Создать <b>фейковых аккаунтов</b> \u{202E}5 шт".into(),
        ..tender("666")
    };
    seed(&mut store, &t, &[EN], false);
    let mut hostile_rules = rules();
    hostile_rules.get_mut("fake-accounts").unwrap().title =
        "Fake\r\nBcc: evil@example.com\r\n\r\n<i>body</i>".into();
    let report = block(send_pending(
        &mut store,
        &cfg,
        &hostile_rules,
        &SendOptions::default(),
    ))
    .unwrap();
    assert_eq!(report.digests_sent, 1, "{report:?}");
    let files = server.wait_for(1, Duration::from_secs(5));
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    // The envelope went to the recipient only; no header was injected.
    assert!(raw.contains(&format!("X-Envelope-To: {EN}\r\n")), "{raw}");
    assert!(!raw.to_ascii_lowercase().contains("\nbcc:"), "{raw}");
    let m = parse_mime(&files[0]);
    assert!(m.defects.is_empty(), "{:?}", m.defects);
    assert!(m.header("Bcc").is_none());
    let subject = m.header("Subject").unwrap();
    assert!(
        !subject.contains('\n') && !subject.contains('\r'),
        "{subject:?}"
    );
    let html = m.part("text/html");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; Услуги Bcc: victim@example.com"),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(2)&gt;"),
        "{html}"
    );
    assert!(html.contains("&lt;b&gt;<mark"), "{html}");
    assert!(html.contains("&lt;i&gt;body&lt;/i&gt;"), "{html}");
    for bad in [
        "<script",
        "<img",
        "<b>",
        "<i>",
        "javascript:alert(3)\"",
        "\u{202E}",
    ] {
        assert!(!html.contains(bad), "html contains {bad:?}:\n{html}");
    }
    assert!(!html.contains("href=\"javascript"), "{html}");
    // The text part shows the title as text, without the override character.
    let text = m.part("text/plain");
    assert!(
        text.contains("1. <script>alert(1)</script> Услуги Bcc: victim@example.com\n"),
        "{text}"
    );
    assert!(!text.contains('\u{202E}'));
}

#[test]
fn the_server_down_for_one_run_and_up_for_the_next_delivers_everything_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (cfg, _) = config(dir.path(), Some(port), false, 5);
    let mut store = Store::open(&cfg.database.path).unwrap();
    seed(&mut store, &tender("1001"), &[EN, RU], false);
    seed(
        &mut store,
        &Tender {
            severity: Severity::Medium,
            ..tender("1002")
        },
        &[EN],
        false,
    );

    // Run 1: nothing listens.
    let down = send(&mut store, &cfg);
    assert_eq!((down.digests_sent, down.alerts_sent), (0, 0));
    assert_eq!(down.failed.len(), 2, "{down:?}");
    assert!(
        down.failed.iter().all(|f| f.contains("127.0.0.1")),
        "{down:?}"
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM alerts WHERE status = 'pending' AND attempts = 1 AND last_error IS NOT NULL AND first_failed_at IS NOT NULL"
        ),
        3
    );
    // A new match arrives between the runs.
    seed(&mut store, &tender("1003"), &[EN, RU], false);

    // Run 2: the server is up.
    let server = SmtpServer::start_on(port, &maildir(dir.path()), Faults::default());
    let up = send(&mut store, &cfg);
    assert_eq!(up.failed, Vec::<String>::new());
    assert_eq!((up.digests_sent, up.alerts_sent), (2, 5));
    let files = server.wait_for(2, Duration::from_secs(5));
    assert_eq!(files.len(), 2);
    let mut by_to: HashMap<String, String> = HashMap::new();
    for f in &files {
        let m = parse_mime(f);
        by_to.insert(
            m.header("To").unwrap().to_string(),
            m.part("text/plain").to_string(),
        );
    }
    let en = &by_to[EN];
    for id in ["1001", "1002", "1003"] {
        assert_eq!(en.matches(&format!("№{id}\n")).count(), 1, "{id} in:\n{en}");
    }
    let ru = &by_to[RU];
    assert!(ru.contains("№1001\n") && ru.contains("№1003\n") && !ru.contains("№1002"));
    assert_eq!(
        count(&store, "SELECT count(*) FROM alerts WHERE status <> 'sent'"),
        0
    );

    // Run 3: nothing more.
    assert_eq!(send(&mut store, &cfg), SendReport::default());
    assert_eq!(server.wait_for(3, Duration::from_millis(300)).len(), 2);
}

#[test]
fn a_refused_digest_fails_and_its_alerts_go_out_with_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (cfg, _) = config(dir.path(), Some(port), false, 5);
    let mut store = Store::open(&cfg.database.path).unwrap();
    seed(&mut store, &tender("2001"), &[EN, RU], false);
    let refusing = SmtpServer::start_on(
        port,
        &maildir(dir.path()),
        Faults {
            reject: vec![RU.into()],
            ..Faults::default()
        },
    );
    let r = send(&mut store, &cfg);
    assert_eq!((r.digests_sent, r.alerts_sent), (1, 1));
    assert_eq!(r.failed.len(), 1);
    assert!(
        r.failed[0].starts_with(RU) && r.failed[0].contains("550"),
        "{r:?}"
    );
    let (failed_id, err): (i64, String) = store
        .conn()
        .query_row(
            "SELECT id, last_error FROM digests WHERE status = 'failed' AND recipient = ?1",
            [RU],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(err.contains("550"), "{err}");
    assert_eq!(
        count(
            &store,
            &format!(
                "SELECT count(*) FROM alerts WHERE recipient = '{RU}' AND status = 'pending' AND digest_id IS NULL AND attempts = 1"
            )
        ),
        1
    );
    // A failed digest is not resent by hand: its alerts are queued again.
    let err = block(resend(&mut store, &cfg, &rules(), failed_id)).unwrap_err();
    assert!(matches!(err, AlertError::NotResendable { .. }), "{err}");
    assert!(matches!(
        block(resend(&mut store, &cfg, &rules(), 9999)).unwrap_err(),
        AlertError::NoDigest(9999)
    ));
    drop(refusing);

    let server = SmtpServer::start_on(port, &maildir(dir.path()), Faults::default());
    let r = send(&mut store, &cfg);
    assert_eq!((r.digests_sent, r.alerts_sent, r.failed.len()), (1, 1, 0));
    let files = server.wait_for(2, Duration::from_secs(5));
    let tos: Vec<String> = files.iter().map(|f| to_of(f)).collect();
    assert_eq!(tos.iter().filter(|t| *t == RU).count(), 1, "{tos:?}");
    assert_eq!(tos.iter().filter(|t| *t == EN).count(), 1, "{tos:?}");
    let m = parse_mime(files.iter().find(|f| to_of(f) == RU).unwrap());
    // Russian labels for the Russian desk.
    assert_eq!(
        m.header("Subject"),
        Some("tenderscan: 1 закупка, 1 высокой важности: Fake accounts for commenting")
    );
    let text = m.part("text/plain");
    for needle in [
        "== ВЫСОКАЯ ВАЖНОСТЬ (1) ==",
        "Заказчик: ГУ «Аппарат акима города Рудный» (БИН 000140000123)",
        "Сумма: 1 300 000 KZT",
        "Приём заявок до: 05.12.2026 23:00 по времени Алматы (2026-12-05 18:00 UTC)",
        "Почему это важно:",
        "На портале: https://goszakup.gov.kz/ru/announce/index/2001",
    ] {
        assert!(text.contains(needle), "lacks {needle:?}:\n{text}");
    }
    assert!(m.part("text/html").contains("<html lang=\"ru\">"));
}

/// Run as a child process by `a_kill_between_accept_and_marking_does_not_resend`: sends
/// what is pending for the config named in `TENDERSCAN_ALERT_CHILD_CONFIG`.
#[test]
#[ignore = "a child process of a_kill_between_accept_and_marking_does_not_resend"]
fn child_sends_pending() {
    let path = std::env::var("TENDERSCAN_ALERT_CHILD_CONFIG")
        .expect("run by a_kill_between_accept_and_marking_does_not_resend");
    let cfg = Config::load(Path::new(&path)).unwrap();
    let mut store = Store::open(&cfg.database.path).unwrap();
    let report = send(&mut store, &cfg);
    println!("child report: {report:?}");
}

#[test]
fn a_kill_between_accept_and_marking_does_not_resend() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // The client waits longer than the server's pause: only the kill ends the send.
    let (cfg, cfg_path) = config(dir.path(), Some(port), true, 120);
    let mut store = Store::open(&cfg.database.path).unwrap();
    seed(&mut store, &tender("3001"), &[EN], false);
    seed(&mut store, &tender("3002"), &[EN], false);
    drop(store);

    let slow = SmtpServer::start_on(
        port,
        &maildir(dir.path()),
        Faults {
            delay_secs: 60.0,
            ..Faults::default()
        },
    );
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "alert::child_sends_pending",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("TENDERSCAN_ALERT_CHILD_CONFIG", &cfg_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let taken = slow.wait_for(1, Duration::from_secs(60));
    assert_eq!(taken.len(), 1, "the server never got the message");
    let status: String = Store::open(&cfg.database.path)
        .unwrap()
        .conn()
        .query_row("SELECT status FROM digests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        status, "sending",
        "the child must be waiting for the server's answer"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    drop(slow);

    let server = SmtpServer::start_on(port, &maildir(dir.path()), Faults::default());
    let mut store = Store::open(&cfg.database.path).unwrap();
    // The next run sends nothing and names the digest it cannot vouch for.
    let r = send(&mut store, &cfg);
    let digest_id: i64 = count(&store, "SELECT id FROM digests");
    assert_eq!(r.unconfirmed, vec![digest_id]);
    assert_eq!((r.digests_sent, r.alerts_sent, r.failed.len()), (0, 0, 0));
    // A warning, not a failure; not resent within `resend_unconfirmed_after_hours`.
    assert_eq!(r.warnings.len(), 1, "{r:?}");
    assert!(
        r.warnings[0].contains(&format!("digest {digest_id} to {EN}")),
        "{r:?}"
    );
    assert!(r.resent.is_empty());
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM digests WHERE status = 'unconfirmed'"
        ),
        1
    );
    assert_eq!(
        count(
            &store,
            &format!(
                "SELECT count(*) FROM alerts WHERE status = 'queued' AND digest_id = {digest_id}"
            )
        ),
        2
    );
    assert_eq!(send(&mut store, &cfg), SendReport::default());
    assert_eq!(server.wait_for(2, Duration::from_millis(300)).len(), 1);

    // The operator is told once, with the command to resend.
    let told = block(operator_check(&mut store, &cfg)).unwrap();
    assert_eq!(told, 1);
    let files = server.wait_for(2, Duration::from_secs(5));
    assert_eq!(files.len(), 2);
    let op = parse_mime(&files[1]);
    assert_eq!(op.header("To"), Some(ADMIN));
    let body = op.part("text/plain");
    assert!(
        body.contains(&format!("tenderscan alert --resend {digest_id}")),
        "{body}"
    );
    assert_eq!(block(operator_check(&mut store, &cfg)).unwrap(), 0);

    // A person resends it: same Message-ID, then it and its alerts are sent.
    let first_id = parse_mime(&files[0])
        .header("Message-ID")
        .unwrap()
        .to_string();
    let r = block(resend(&mut store, &cfg, &rules(), digest_id)).unwrap();
    assert_eq!((r.digests_sent, r.alerts_sent), (1, 2));
    let files = server.wait_for(3, Duration::from_secs(5));
    assert_eq!(files.len(), 3);
    let again = parse_mime(&files[2]);
    assert_eq!(again.header("Message-ID"), Some(first_id.as_str()));
    assert_eq!(again.header("To"), Some(EN));
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM alerts WHERE kind = 'match' AND status = 'sent'"
        ),
        2
    );
    assert_eq!(send(&mut store, &cfg), SendReport::default());
}

#[test]
fn the_dry_run_folder_gets_eml_files_a_mail_client_opens() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, _) = config(dir.path(), None, false, 5);
    let mut store = Store::open(&cfg.database.path).unwrap();
    seed(
        &mut store,
        &Tender {
            title: "../../etc/passwd <Отчёт>".into(),
            ..tender("4001")
        },
        &[EN, RU],
        false,
    );
    let r = send(&mut store, &cfg);
    assert_eq!((r.digests_sent, r.alerts_sent, r.failed.len()), (2, 2, 0));
    let outbox = dir.path().join("outbox");
    let mut names: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            format!("digest-000001-{EN}.eml"),
            format!("digest-000002-{RU}.eml"),
        ]
    );
    for (name, to, subject) in [
        (
            &names[0],
            EN,
            "tenderscan: 1 tender, 1 high: Fake accounts for commenting",
        ),
        (
            &names[1],
            RU,
            "tenderscan: 1 закупка, 1 высокой важности: Fake accounts for commenting",
        ),
    ] {
        let m = parse_mime(&outbox.join(name));
        assert!(m.defects.is_empty(), "{name}: {:?}", m.defects);
        assert_eq!(m.content_type, "multipart/alternative");
        assert_eq!(m.header("To"), Some(to));
        assert_eq!(m.header("Subject"), Some(subject));
        assert_eq!(m.header("MIME-Version"), Some("1.0"));
        assert!(m.header("Date").is_some() && m.header("Message-ID").is_some());
        let types: Vec<&str> = m.parts.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(types, ["text/plain", "text/html"]);
        assert!(m.part("text/plain").contains("**фейковых аккаунтов**"));
        assert!(
            m.part("text/html")
                .contains("../../etc/passwd &lt;Отчёт&gt;")
        );
    }
    assert!(
        parse_mime(&outbox.join(&names[1]))
            .part("text/plain")
            .contains("Почему это важно")
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM alerts WHERE status = 'sent'"),
        2
    );
    // Nothing is written twice.
    assert_eq!(send(&mut store, &cfg), SendReport::default());
    assert_eq!(std::fs::read_dir(&outbox).unwrap().count(), 2);
}

#[test]
fn baseline_alerts_are_never_mailed_and_a_dry_run_marks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(&maildir(dir.path()));
    let (cfg, _) = config(dir.path(), Some(server.port), false, 5);
    let mut store = Store::open(&cfg.database.path).unwrap();
    seed(
        &mut store,
        &Tender {
            title: "Старая закупка из архива".into(),
            ..tender("5001")
        },
        &[EN],
        true,
    );
    seed(
        &mut store,
        &Tender {
            title: "Новая закупка".into(),
            ..tender("5002")
        },
        &[EN],
        false,
    );

    let preview = block(send_pending(
        &mut store,
        &cfg,
        &rules(),
        &SendOptions {
            dry_run: true,
            ..SendOptions::default()
        },
    ))
    .unwrap();
    assert_eq!(preview.previews.len(), 1);
    assert!(preview.previews[0].contains("Новая закупка"));
    assert!(!preview.previews[0].contains("Старая закупка"));
    assert!(preview.previews[0].starts_with(&format!("To: {EN}\nSubject: tenderscan: 1 tender")));
    assert_eq!((preview.digests_sent, preview.alerts_sent), (0, 0));
    assert_eq!(count(&store, "SELECT count(*) FROM digests"), 0);
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM alerts WHERE status = 'pending' AND attempts = 0"
        ),
        1
    );
    assert!(server.wait_for(1, Duration::from_millis(300)).is_empty());
    assert!(!dir.path().join("outbox").exists());

    let r = send(&mut store, &cfg);
    assert_eq!((r.digests_sent, r.alerts_sent), (1, 1));
    let files = server.wait_for(1, Duration::from_secs(5));
    let text = parse_mime(&files[0]).part("text/plain").to_string();
    assert!(
        text.contains("Новая закупка") && !text.contains("Старая закупка"),
        "{text}"
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM alerts WHERE status = 'baseline' AND digest_id IS NULL"
        ),
        1
    );
    assert_eq!(send(&mut store, &cfg), SendReport::default());
    assert_eq!(server.wait_for(2, Duration::from_millis(300)).len(), 1);
}

#[test]
fn the_operator_is_told_once_per_problem() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(&maildir(dir.path()));
    let (cfg, _) = config(dir.path(), Some(server.port), true, 5);
    let mut store = Store::open(&cfg.database.path).unwrap();
    store
        .ensure_source("goszakup", "goszakup", "https://ows.goszakup.gov.kz")
        .unwrap();
    let fail = |store: &Store, n: i64| {
        store
            .conn()
            .execute(
                "UPDATE sources SET consecutive_failures = ?1, last_error = 'HTTP 503 from ows.goszakup.gov.kz',
                    last_error_at = '2026-11-28T10:00:00Z'",
                [n],
            )
            .unwrap();
    };
    fail(&store, 2);
    assert_eq!(block(operator_check(&mut store, &cfg)).unwrap(), 0);
    fail(&store, 3);
    assert_eq!(block(operator_check(&mut store, &cfg)).unwrap(), 1);
    fail(&store, 4);
    assert_eq!(
        block(operator_check(&mut store, &cfg)).unwrap(),
        0,
        "same ongoing problem"
    );
    let files = server.wait_for(1, Duration::from_secs(5));
    let m = parse_mime(&files[0]);
    assert_eq!(m.header("To"), Some(ADMIN));
    assert_eq!(
        m.header("Subject"),
        Some("tenderscan operator: source goszakup failed 3 runs in a row")
    );
    assert!(
        m.part("text/plain")
            .contains("HTTP 503 from ows.goszakup.gov.kz")
    );

    // It recovers, then fails three times again: a new problem.
    store
        .conn()
        .execute(
            "UPDATE sources SET consecutive_failures = 0, last_success_at = '2026-11-28T11:00:00Z'",
            [],
        )
        .unwrap();
    fail(&store, 3);
    assert_eq!(block(operator_check(&mut store, &cfg)).unwrap(), 1);

    // Alerts that could not be mailed for over a day.
    seed(&mut store, &tender("6001"), &[EN], false);
    store
        .conn()
        .execute(
            "UPDATE alerts SET attempts = 40, last_error = 'connection refused',
                first_failed_at = '2020-01-01T00:00:00Z' WHERE kind = 'match'",
            [],
        )
        .unwrap();
    assert_eq!(block(operator_check(&mut store, &cfg)).unwrap(), 1);
    let files = server.wait_for(3, Duration::from_secs(5));
    let m = parse_mime(&files[2]);
    assert_eq!(
        m.header("Subject"),
        Some("tenderscan operator: 1 alerts could not be mailed for over a day")
    );
    assert!(m.part("text/plain").contains("connection refused"));
    assert_eq!(block(operator_check(&mut store, &cfg)).unwrap(), 0);

    // Without an admin address nothing is queued or sent.
    let (no_admin, _) = config(dir.path(), Some(server.port), false, 5);
    let mut store = Store::open(&no_admin.database.path).unwrap();
    assert_eq!(block(operator_check(&mut store, &no_admin)).unwrap(), 0);
    assert_eq!(maildir_messages(&maildir(dir.path())).len(), 3);
}

// --- Unconfirmed digests through the binary: a kill mid-send, `status`, warnings, the
// automatic resend with the same Message-ID once `[mail] resend_unconfirmed_after_hours`
// have passed (the digest is made old by editing its time in the SQLite file).

const DESK_A: &str = "a.desk@newsroom.example";
const DESK_B: &str = "b.desk@newsroom.example";
const DESK_C: &str = "c.desk@newsroom.example";

/// A config for the binary: no sources (nothing is crawled), `recipients`, the SMTP
/// server on `port`, and `extra` lines in `[mail]`.
fn binary_config(dir: &Path, port: u16, recipients: &[&str], extra: &str) -> (Config, PathBuf) {
    let mut src = format!(
        "[database]\npath = \"t.db\"\n\n[mail]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\nsecurity = \"none\"\n\
         from = \"tenderscan <alerts@newsroom.example>\"\ntimeout_secs = 120\n{extra}\n"
    );
    for r in recipients {
        src.push_str(&format!(
            "\n[[recipients]]\nemail = \"{r}\"\nmin_severity = \"low\"\nlanguage = \"en\"\n"
        ));
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, src).unwrap();
    (Config::load(&path).unwrap(), path)
}

fn db_count(db: &Path, sql: &str) -> i64 {
    crate::util::count(db, sql)
}

/// `tenderscan <args>` in `dir`: (exit code, stdout, stderr).
fn run_binary(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = crate::util::tenderscan(dir).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Start `tenderscan alert` with a server that holds the answer to messages for `slow`
/// for a minute, wait until the server has stored `stored` messages and `slow`'s digest
/// is `sending`, then kill the process (SIGKILL). Returns that digest's id.
fn kill_mid_send(dir: &Path, port: u16, slow: &str, stored: usize) -> i64 {
    let db = dir.join("t.db");
    let server = SmtpServer::start_on(
        port,
        &maildir(dir),
        Faults {
            delay_secs: 60.0,
            delay_only: vec![slow.to_string()],
            ..Faults::default()
        },
    );
    let mut child = std::process::Command::new(crate::util::binary())
        .current_dir(dir)
        .arg("alert")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let sending =
        format!("SELECT count(*) FROM digests WHERE status = 'sending' AND recipient = '{slow}'");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !(server.messages().len() >= stored && crate::util::try_count(&db, &sending) == Some(1)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the child never reached the DATA of {slow}'s digest"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the child exited early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL, while the server holds its 250
    child.wait().unwrap();
    drop(server);
    db_count(&db, &sending.replace("count(*)", "id"))
}

/// Make digest `id` look handed over `hours` ago.
fn age_digest(db: &Path, id: i64, hours: i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let n = conn
        .execute(
            "UPDATE digests SET attempted_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?2) WHERE id = ?1",
            rusqlite::params![id, format!("-{hours} hours")],
        )
        .unwrap();
    assert_eq!(n, 1);
}

/// The messages in `maildir` to `to`.
fn messages_to(dir: &Path, to: &str) -> Vec<PathBuf> {
    maildir_messages(&maildir(dir))
        .into_iter()
        .filter(|m| to_of(m) == to)
        .collect()
}

#[test]
fn a_kill_mid_send_leaves_one_unconfirmed_digest_resent_with_its_message_id_when_due() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("t.db");
    let port = free_port();
    let (cfg, _) = binary_config(d, port, &[DESK_A, DESK_B, DESK_C], "");
    assert_eq!(cfg.mail.resend_unconfirmed_after_hours, 24, "the default");
    let mut store = Store::open(&cfg.database.path).unwrap();
    seed(
        &mut store,
        &tender("7001"),
        &[DESK_A, DESK_B, DESK_C],
        false,
    );
    seed(&mut store, &tender("7002"), &[DESK_B, DESK_C], false);
    drop(store);

    // Killed while the server holds its answer to B's DATA: A was sent before it, C was
    // never composed.
    let id = kill_mid_send(d, port, DESK_B, 2);
    assert_eq!(
        db_count(&db, "SELECT count(*) FROM digests WHERE status = 'sending'"),
        1
    );
    assert_eq!(
        db_count(
            &db,
            &format!(
                "SELECT count(*) FROM digests WHERE status = 'sent' AND recipient = '{DESK_A}'"
            )
        ),
        1
    );
    assert_eq!(
        db_count(
            &db,
            &format!("SELECT count(*) FROM digests WHERE recipient = '{DESK_C}'")
        ),
        0,
        "no digest is composed while another is in flight"
    );
    assert_eq!(
        db_count(
            &db,
            &format!(
                "SELECT count(*) FROM alerts WHERE recipient = '{DESK_C}' AND status = 'pending' AND digest_id IS NULL"
            )
        ),
        2
    );
    let original = messages_to(d, DESK_B);
    assert_eq!(original.len(), 1, "the server took B's message");

    let server = SmtpServer::start_on(port, &maildir(d), Faults::default());
    // The next cron run: C is mailed, B's digest is the only unconfirmed one, and the run
    // warns about it without failing.
    let (code, _, stderr) = run_binary(d, &["run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!("digest {id} to {DESK_B}")) && stderr.contains("unconfirmed"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("tenderscan alert --resend {id}")),
        "{stderr}"
    );
    assert_eq!(server.wait_for(3, Duration::from_secs(10)).len(), 3);
    assert_eq!(messages_to(d, DESK_C).len(), 1);
    assert_eq!(
        db_count(
            &db,
            "SELECT count(*) FROM digests WHERE status = 'unconfirmed'"
        ),
        1
    );
    assert_eq!(
        db_count(&db, "SELECT id FROM digests WHERE status = 'unconfirmed'"),
        id
    );
    assert_eq!(
        db_count(
            &db,
            "SELECT count(*) FROM digests WHERE status IN ('queued', 'sending')"
        ),
        0
    );
    let (status, summary): (String, String) = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT status, summary FROM runs ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "ok");
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert!(
        summary["mail_warning"]
            .as_str()
            .is_some_and(|w| w.contains(&format!("digest {id} "))),
        "{summary}"
    );
    assert!(summary["mail_error"].is_null(), "{summary}");

    // `status` lists it: id, recipient, subject, since when, and what happens next.
    let subject: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT subject FROM digests WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(subject.starts_with("tenderscan: 2 tenders"), "{subject}");
    let (code, out, _) = run_binary(d, &["status"]);
    assert_eq!(code, 0);
    assert!(out.contains("unconfirmed digests"), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains(&format!("#{id} ")))
        .unwrap_or_else(|| panic!("no line for digest {id}:\n{out}"));
    assert!(
        line.contains(DESK_B) && line.contains("since 20") && line.contains(&subject),
        "{line}"
    );
    assert!(out.contains("the first run after"), "{out}");
    let (_, json, _) = run_binary(d, &["status", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let u = v["unconfirmed_digests"].as_array().unwrap();
    assert_eq!(u.len(), 1, "{json}");
    assert_eq!(u[0]["id"], id);
    assert_eq!(u[0]["recipient"], DESK_B);
    assert_eq!(u[0]["subject"], subject.as_str());
    assert_eq!(u[0]["alerts"], 2);
    assert!(u[0]["since"].as_str().is_some_and(|s| s.ends_with('Z')));

    // Within its first hour, a later run is quiet about it (it was reported when found).
    let (code, _, stderr) = run_binary(d, &["alert"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    // Two hours old: every run warns, nothing is resent yet.
    age_digest(&db, id, 2);
    let (code, _, stderr) = run_binary(d, &["run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!("digest {id} to {DESK_B}")),
        "{stderr}"
    );
    assert_eq!(
        maildir_messages(&maildir(d)).len(),
        3,
        "not resent before its time"
    );
    assert_eq!(
        db_count(
            &db,
            &format!("SELECT count(*) FROM digests WHERE id = {id} AND status = 'unconfirmed'")
        ),
        1
    );

    // Due, but the server is down: a mail failure (exit 1), the digest keeps its time.
    age_digest(&db, id, 25);
    let since: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT attempted_at FROM digests WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    drop(server);
    let (code, _, stderr) = run_binary(d, &["run"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("unconfirmed digest {id}")),
        "{stderr}"
    );
    let (status, attempted_at): (String, String) = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT d.status, d.attempted_at FROM digests d WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (status.as_str(), attempted_at.as_str()),
        ("unconfirmed", since.as_str())
    );

    // The server is back: the next run resends the stored message.
    let server = SmtpServer::start_on(port, &maildir(d), Faults::default());
    let (code, _, stderr) = run_binary(d, &["run"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!("unconfirmed digest {id} resent")),
        "{stderr}"
    );
    assert_eq!(server.wait_for(4, Duration::from_secs(10)).len(), 4);
    let copies = messages_to(d, DESK_B);
    assert_eq!(copies.len(), 2);
    let first = parse_mime(&copies[0]);
    let again = parse_mime(&copies[1]);
    assert!(first.header("Message-ID").is_some());
    assert_eq!(again.header("Message-ID"), first.header("Message-ID"));
    assert_eq!(
        std::fs::read(&copies[0]).unwrap(),
        std::fs::read(&copies[1]).unwrap(),
        "the same bytes"
    );
    assert_eq!(
        db_count(
            &db,
            &format!(
                "SELECT count(*) FROM alerts WHERE digest_id = {id} AND status = 'sent' AND sent_at IS NOT NULL"
            )
        ),
        2
    );
    assert_eq!(
        db_count(&db, "SELECT count(*) FROM alerts WHERE status <> 'sent'"),
        0
    );
    // Nothing more, and nothing left to list.
    let (code, _, stderr) = run_binary(d, &["run"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(server.wait_for(5, Duration::from_millis(500)).len(), 4);
    let (_, out, _) = run_binary(d, &["status"]);
    assert!(!out.contains("unconfirmed digests"), "{out}");
}

#[test]
fn with_resend_unconfirmed_after_hours_0_an_unconfirmed_digest_waits_for_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("t.db");
    let port = free_port();
    let (cfg, _) = binary_config(d, port, &[DESK_A], "resend_unconfirmed_after_hours = 0");
    let mut store = Store::open(&cfg.database.path).unwrap();
    seed(&mut store, &tender("7101"), &[DESK_A], false);
    drop(store);
    let id = kill_mid_send(d, port, DESK_A, 1);

    let server = SmtpServer::start_on(port, &maildir(d), Faults::default());
    // A year old: still not resent, and every run says so.
    age_digest(&db, id, 8760);
    for _ in 0..2 {
        let (code, _, stderr) = run_binary(d, &["alert"]);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stderr.contains(&format!("digest {id} to {DESK_A}"))
                && stderr.contains("resend_unconfirmed_after_hours = 0"),
            "{stderr}"
        );
    }
    assert_eq!(server.wait_for(2, Duration::from_millis(500)).len(), 1);
    let (_, out, _) = run_binary(d, &["status"]);
    assert!(
        out.contains(&format!("#{id} ")) && out.contains("not resent automatically"),
        "{out}"
    );
    // A person resends it.
    let (code, _, stderr) = run_binary(d, &["alert", "--resend", &id.to_string()]);
    assert_eq!(code, 0, "{stderr}");
    let copies = server.wait_for(2, Duration::from_secs(10));
    assert_eq!(copies.len(), 2);
    assert_eq!(
        parse_mime(&copies[1]).header("Message-ID"),
        parse_mime(&copies[0]).header("Message-ID")
    );
    assert_eq!(
        db_count(
            &db,
            "SELECT count(*) FROM digests WHERE status = 'unconfirmed'"
        ),
        0
    );
}

#[test]
fn a_470_kb_title_is_capped_in_the_digest() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(&maildir(dir.path()));
    let (cfg, _) = config(dir.path(), Some(server.port), false, 10);
    let mut store = Store::open(&cfg.database.path).unwrap();
    // 470 KB of two-byte characters and spaces.
    let title = "Услуги по информационному сопровождению ".repeat(6_300);
    assert!(title.len() > 470_000, "{}", title.len());
    let agency = format!("ГУ «{}»", "Аппарат акима ".repeat(3_000));
    seed(
        &mut store,
        &Tender {
            title: title.clone(),
            agency: ("000140000123", agency.clone()),
            ..tender("8001")
        },
        &[EN],
        false,
    );
    let r = send(&mut store, &cfg);
    assert_eq!((r.digests_sent, r.failed.len()), (1, 0), "{r:?}");
    let files = server.wait_for(1, Duration::from_secs(10));
    assert!(
        std::fs::metadata(&files[0]).unwrap().len() < 64 * 1024,
        "the message is small"
    );
    let m = parse_mime(&files[0]);
    assert!(m.defects.is_empty(), "{:?}", m.defects);
    let subject = m.header("Subject").unwrap();
    assert!(subject.chars().count() <= 160, "{subject}");
    let text = m.part("text/plain");
    let html = m.part("text/html");
    let heading = text
        .lines()
        .find(|l| l.starts_with("1. "))
        .unwrap_or_else(|| panic!("{text}"));
    let shown = heading.strip_prefix("1. ").unwrap();
    assert!(shown.ends_with('…'), "{shown}");
    assert!(shown.chars().count() <= 300, "{}", shown.chars().count());
    assert!(title.starts_with(shown.trim_end_matches('…')));
    assert!(
        html.contains(&format!("{shown}</h3>")) || html.contains(&format!("{shown}</a></h3>")),
        "{}",
        &html[..3000]
    );
    let agency_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("Agency: "))
        .unwrap();
    assert!(
        agency_line.contains("…") && agency_line.chars().count() < 260,
        "{agency_line}"
    );
    assert!(agency_line.ends_with("(BIN 000140000123)"), "{agency_line}");
    assert!(
        text.len() < 16_000 && html.len() < 24_000,
        "{} {}",
        text.len(),
        html.len()
    );
}

#[test]
fn a_digest_confirmed_by_hand_is_not_resent() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("t.db");
    let port = free_port();
    let (cfg, _) = binary_config(d, port, &[DESK_A], "");
    let mut store = Store::open(&cfg.database.path).unwrap();
    seed(&mut store, &tender("7201"), &[DESK_A], false);
    drop(store);
    let id = kill_mid_send(d, port, DESK_A, 1);
    let server = SmtpServer::start_on(port, &maildir(d), Faults::default());
    let (code, _, stderr) = run_binary(d, &["alert"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!("tenderscan alert --confirm {id}")),
        "{stderr}"
    );

    // The recipient has it: a person says so.
    let (code, _, stderr) = run_binary(d, &["alert", "--confirm", &id.to_string()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        db_count(
            &db,
            &format!("SELECT count(*) FROM alerts WHERE digest_id = {id} AND status = 'sent'")
        ),
        1
    );
    // Long past its resend time: nothing is sent and nothing is warned about.
    age_digest(&db, id, 48);
    let (code, _, stderr) = run_binary(d, &["alert"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(server.wait_for(2, Duration::from_millis(500)).len(), 1);
    let (_, out, _) = run_binary(d, &["status"]);
    assert!(!out.contains("unconfirmed digests"), "{out}");
    // Only an unconfirmed digest can be confirmed.
    let (code, _, stderr) = run_binary(d, &["alert", "--confirm", &id.to_string()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not unconfirmed"), "{stderr}");
    let (code, _, stderr) = run_binary(d, &["alert", "--confirm", "999"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no digest 999"), "{stderr}");
}

#[test]
fn a_second_opinion_flag_is_stored_with_its_words_and_mailed_with_them() {
    // A notice no rule flags but the second opinion does: `scan` through the binary records
    // the match with its reasons, `alert` writes them into both parts of the digest, and
    // `show` prints them.
    let dir = tempfile::tempdir().unwrap();
    let (cfg, path) = config(dir.path(), None, false, 5);
    {
        let mut store = Store::open(&cfg.database.path).unwrap();
        let source = store
            .ensure_source("goszakup", "goszakup", "https://ows.goszakup.gov.kz")
            .unwrap();
        let rec = NoticeRecord {
            external_id: "5001".into(),
            number: Some("5001-1".into()),
            title: "Информационное сопровождение деятельности акимата".into(),
            description: Some(
                "Комментаторы исполнителя пишут в поддержку акима под публикациями в городских пабликах."
                    .into(),
            ),
            url: Some("https://goszakup.gov.kz/ru/announce/index/5001".into()),
            ..NoticeRecord::default()
        };
        store.store_page(source, &[rec], None).unwrap();
    }
    let cfgs = path.to_str().unwrap();
    let (code, _, err) = run_binary(dir.path(), &["--config", cfgs, "scan"]);
    assert_eq!(code, 0, "{err}");
    let db = dir.path().join("t.db");
    // the words the model named (which words depends on the shipped model: read them back)
    let reasons = crate::util::query_strings(
        &db,
        "SELECT json_extract(reasons, '$[0]') FROM matches
         WHERE rule_id = 'second-opinion' AND severity = 'medium'",
    );
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    let reason = &reasons[0];
    // "second opinion 10.3: поддер +1.7, паблик +1.5, ...": the score, then words and weights
    let words = reason
        .strip_prefix("second opinion ")
        .and_then(|r| r.split_once(": "))
        .map(|(_, w)| w)
        .unwrap_or_else(|| panic!("{reason}"));
    let first = words.split(", ").next().unwrap();
    assert!(first.contains(" +") && !first.starts_with(' '), "{reason}");
    let (code, _, err) = run_binary(dir.path(), &["--config", cfgs, "alert"]);
    assert_eq!(code, 0, "{err}");
    let eml = dir
        .path()
        .join("outbox")
        .join(format!("digest-000001-{EN}.eml"));
    let m = parse_mime(&eml);
    let text = m.part("text/plain");
    assert!(text.contains("(second opinion)"), "{text}");
    assert!(text.contains(first), "{first} in {text}");
    let html = m.part("text/html");
    assert!(html.contains(first), "{first} in {html}");
    let (code, out, err) = run_binary(dir.path(), &["--config", cfgs, "show", "5001-1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("second-opinion") && out.contains(first),
        "{first} in {out}"
    );
}

fn send_at(store: &mut Store, cfg: &Config, now: chrono::DateTime<chrono::Utc>) -> SendReport {
    block(send_pending(
        store,
        cfg,
        &rules(),
        &SendOptions {
            dry_run: false,
            now: Some(now),
        },
    ))
    .unwrap()
}

/// The time on a test clock started at `at` (src/clock.rs), in UTC.
fn clock_at(at: &str) -> chrono::DateTime<chrono::Utc> {
    use tenderscan::clock::Clock;
    tenderscan::clock::TestClock::parse(at)
        .unwrap()
        .now()
        .with_timezone(&chrono::Utc)
}

/// A `daily 08:00` recipient gets one digest a slot, with everything found since: not one
/// a run; a slot whose digest the server did not take is tried again by the next run, and
/// each alert still goes exactly once. An `each-run` recipient beside it gets every run's.
#[test]
fn a_daily_recipient_gets_one_digest_a_day_at_its_hour_each_alert_once() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (_, path) = config(dir.path(), Some(port), false, 5);
    let src = std::fs::read_to_string(&path).unwrap().replace(
        "language = \"ru\"\n",
        "language = \"ru\"\nschedule = \"daily 08:00\"\n",
    );
    std::fs::write(&path, src).unwrap();
    let cfg = Config::load(&path).unwrap();
    let mut store = Store::open(&cfg.database.path).unwrap();
    let server = SmtpServer::start_on(port, &maildir(dir.path()), Faults::default());
    let to_ru = |files: &[PathBuf]| files.iter().filter(|f| to_of(f) == RU).count();

    // Monday 07:00 Almaty: nothing was ever sent to RU, so the last slot (Sunday 08:00) is due.
    seed(&mut store, &tender("2001"), &[EN, RU], false);
    let r = send_at(&mut store, &cfg, clock_at("2026-03-02T07:00:00+05:00"));
    assert_eq!((r.digests_sent, r.alerts_sent), (2, 2), "{r:?}");
    // 07:30 and 07:59: found and queued, but RU's slot was served; EN gets each run's.
    seed(&mut store, &tender("2002"), &[EN, RU], false);
    let r = send_at(&mut store, &cfg, clock_at("2026-03-02T07:30:00+05:00"));
    assert_eq!((r.digests_sent, r.alerts_sent), (1, 1), "{r:?}");
    seed(&mut store, &tender("2003"), &[EN, RU], false);
    let r = send_at(&mut store, &cfg, clock_at("2026-03-02T07:59:00+05:00"));
    assert_eq!((r.digests_sent, r.alerts_sent), (1, 1), "{r:?}");
    let files = server.wait_for(4, Duration::from_secs(5));
    assert_eq!((files.len(), to_ru(&files)), (4, 1));
    assert_eq!(
        count(
            &store,
            &format!("SELECT count(*) FROM alerts WHERE recipient = '{RU}' AND status = 'pending'")
        ),
        2
    );

    // 08:00: the server is down; the slot is not done, the alerts stay queued.
    drop(server);
    let r = send_at(&mut store, &cfg, clock_at("2026-03-02T08:00:05+05:00"));
    assert_eq!(r.digests_sent, 0, "{r:?}");
    assert_eq!(r.failed.len(), 1, "{r:?}");
    // 08:10: up again; one digest with both, once.
    let server = SmtpServer::start_on(port, &maildir(dir.path()), Faults::default());
    let r = send_at(&mut store, &cfg, clock_at("2026-03-02T08:10:00+05:00"));
    assert_eq!((r.digests_sent, r.alerts_sent), (1, 2), "{r:?}");
    let files = server.wait_for(5, Duration::from_secs(5));
    let ru: Vec<&PathBuf> = files.iter().filter(|f| to_of(f) == RU).collect();
    assert_eq!(ru.len(), 2, "{files:?}");
    let texts: Vec<String> = ru
        .iter()
        .map(|f| parse_mime(f).part("text/plain").to_string())
        .collect();
    let second = texts.iter().find(|t| t.contains("№2002")).unwrap();
    assert!(
        second.contains("№2003") && !second.contains("№2001\n"),
        "{second}"
    );
    // later that day: new alerts wait for Tuesday 08:00
    seed(&mut store, &tender("2004"), &[RU], false);
    let r = send_at(&mut store, &cfg, clock_at("2026-03-02T20:00:00+05:00"));
    assert_eq!(r, SendReport::default());
    let r = send_at(&mut store, &cfg, clock_at("2026-03-03T08:00:00+05:00"));
    assert_eq!((r.digests_sent, r.alerts_sent), (1, 1), "{r:?}");
    assert_eq!(
        count(&store, "SELECT count(*) FROM alerts WHERE status <> 'sent'"),
        0
    );
    // every alert went in exactly one digest
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM alerts WHERE digest_id IS NULL"
        ),
        0
    );
}

/// Through the real rules: a count read from a volume table is stored with its row and
/// mailed with where it came from; a count whose source is not known (a match recorded
/// before it was kept) gets no price per unit.
#[test]
fn the_digest_says_where_a_count_came_from_and_prices_only_sure_counts() {
    use tenderscan::pipeline::{self, RunOptions, StopFlag};
    let dir = tempfile::tempdir().unwrap();
    let (cfg, _) = config(dir.path(), None, false, 5);
    let mut store = Store::open(&cfg.database.path).unwrap();
    let source = store
        .ensure_source("goszakup", "goszakup", "https://ows.goszakup.gov.kz")
        .unwrap();
    let rec = |id: &str, text: &str| NoticeRecord {
        external_id: id.into(),
        number: Some(format!("{id}-1")),
        title: "Информационное сопровождение".into(),
        amount: Some(5_400_000.0),
        currency: Some("KZT".into()),
        url: Some(format!("https://goszakup.gov.kz/ru/announce/index/{id}")),
        lots: vec![LotRecord {
            external_id: format!("{id}-lot"),
            number: Some(format!("{id}-ЗЦП1")),
            title: Some("Услуги".into()),
            description: Some(text.into()),
            amount: Some(5_400_000.0),
            ..LotRecord::default()
        }],
        ..NoticeRecord::default()
    };
    let table = "Ведение страниц акимата в социальных сетях.\n\
                 № | Наименование | Ед. изм. | Кол-во в месяц\n\
                 1 | Комментарии | шт. | 900\n";
    let words = "Исполнитель обеспечивает создание четырёх фейковых аккаунтов для комментирования публикаций.";
    store
        .store_page(source, &[rec("3001", table), rec("3002", words)], None)
        .unwrap();
    let rules = tenderscan::rules::RuleSet::builtin().unwrap();
    let (opts, stop) = (RunOptions::default(), StopFlag::default());
    let ctx = pipeline::Run {
        cfg: &cfg,
        rules: &rules,
        opts: &opts,
        stop: &stop,
        watches: &[],
    };
    let mut counts = tenderscan::store::RunCounts::default();
    pipeline::scan(ctx, &mut store, true, &mut counts).unwrap();
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM matches WHERE quota_count = 900 AND quota_source = 'table' \
             AND quota_label = 'Комментарии' AND quota_sure = 1"
        ),
        1
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM matches WHERE quota_count = 4 AND quota_source = 'text' AND quota_sure = 1"
        ),
        1
    );
    let preview = |store: &mut Store| {
        let r = block(send_pending(
            store,
            &cfg,
            &pipeline::rule_texts(&rules),
            &SendOptions {
                dry_run: true,
                ..SendOptions::default()
            },
        ))
        .unwrap();
        r.previews
            .into_iter()
            .find(|p| p.starts_with(&format!("To: {RU}")))
            .unwrap()
    };
    let ru = preview(&mut store);
    assert!(
        ru.contains("Откуда число: из таблицы объёмов, строка «Комментарии», 900 в месяц"),
        "{ru}"
    );
    assert!(
        ru.contains("Цена: 5 400 000 KZT за 4 аккаунта: 1 350 000 KZT за аккаунт"),
        "{ru}"
    );
    assert!(
        ru.contains("Откуда число: из текста: «четырёх фейковых аккаунтов»"),
        "{ru}"
    );
    assert!(
        ru.contains("Фейковые, бот- или подставные аккаунты"),
        "{ru}"
    );
    // a match recorded before provenance was kept: the count is shown, not divided
    store
        .conn()
        .execute(
            "UPDATE matches SET quota_source = NULL, quota_label = NULL, quota_sure = NULL",
            [],
        )
        .unwrap();
    let old = preview(&mut store);
    assert!(!old.contains("1 350 000"), "{old}");
    assert!(
        old.contains("Объём: 4 аккаунта (число не наверняка: цену за единицу не считаем)"),
        "{old}"
    );
    assert!(!old.contains("Откуда число"), "{old}");
}

/// The binary reads the schedule's time from the clock (`TENDERSCAN_TEST_CLOCK`): `alert`
/// before the slot leaves the alerts queued, `status` says why, `alert` after it sends.
#[test]
fn the_binary_holds_a_daily_recipients_alerts_until_its_hour_and_status_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = SmtpServer::start_on(port, &maildir(dir.path()), Faults::default());
    let (_, path) = binary_config(dir.path(), port, &[EN], "");
    let src = std::fs::read_to_string(&path).unwrap().replace(
        "language = \"en\"\n",
        "language = \"en\"\nschedule = \"daily 08:00\"\n",
    );
    std::fs::write(&path, src).unwrap();
    let cfg = Config::load(&path).unwrap();
    let mut store = Store::open(&cfg.database.path).unwrap();
    let at = |clock: &str, args: &[&str]| {
        let out = crate::util::tenderscan(dir.path())
            .env("TENDERSCAN_TEST_CLOCK", clock)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    seed(&mut store, &tender("4001"), &[EN], false);
    let (code, _) = at("2026-03-02T07:00:00+05:00", &["alert"]);
    assert_eq!(code, 0);
    assert_eq!(server.wait_for(1, Duration::from_secs(5)).len(), 1);
    seed(&mut store, &tender("4002"), &[EN], false);
    let (code, _) = at("2026-03-02T07:30:00+05:00", &["alert"]);
    assert_eq!(code, 0);
    assert_eq!(server.wait_for(2, Duration::from_millis(500)).len(), 1);
    let (_, status) = at("2026-03-02T07:31:00+05:00", &["status"]);
    assert!(
        status.contains("pending 1  failed 0  unconfirmed 0  (schedule daily 08:00, Almaty time)"),
        "{status}"
    );
    let (code, _) = at("2026-03-02T08:00:30+05:00", &["alert"]);
    assert_eq!(code, 0);
    let files = server.wait_for(2, Duration::from_secs(5));
    assert_eq!(files.len(), 2);
    assert_eq!(
        db_count(
            &dir.path().join("t.db"),
            "SELECT count(*) FROM alerts WHERE status <> 'sent'"
        ),
        0
    );
}

/// A digest of 100 notices: the HTML part stays under Gmail's 102 KB clipping limit, the
/// notices past the budget are one line each, and every finding arrives as a CSV attachment
/// a strict reader finds no defect in, its formula-like cells made text.
#[test]
fn a_large_digest_arrives_under_the_clipping_limit_with_every_finding_as_csv() {
    let dir = tempfile::tempdir().unwrap();
    let server = SmtpServer::start(&maildir(dir.path()));
    let (cfg, _) = config(dir.path(), Some(server.port), false, 10);
    let mut store = Store::open(&cfg.database.path).unwrap();
    for n in 0..100 {
        // `Tender` holds `&'static str` ids: a hundred leaked in a test
        let id: &'static str = Box::leak(format!("{}", 6000 + n).into_boxed_str());
        let t = Tender {
            title: format!(
                "=HYPERLINK(\"http://x\") Услуги №{id} {}",
                "информационного сопровождения ".repeat(6)
            ),
            text: format!(
                "Техническое задание: {} создание четырёх фейковых аккаунтов для комментирования публикаций",
                "исполнитель обеспечивает подготовку материалов ".repeat(4)
            ),
            ..tender(id)
        };
        seed(&mut store, &t, &[EN], false);
    }
    let report = send(&mut store, &cfg);
    assert_eq!(
        (report.digests_sent, report.alerts_sent),
        (1, 100),
        "{report:?}"
    );
    let files = server.wait_for(1, Duration::from_secs(10));
    let m = parse_mime(&files[0]);
    assert!(m.defects.is_empty(), "{:?}", m.defects);
    assert_eq!(m.content_type, "multipart/mixed");
    let html = m.part("text/html");
    assert!(html.len() < 102 * 1024, "{} bytes of HTML", html.len());
    assert!(
        html.contains("More notices, one line each"),
        "the budget was not reached"
    );
    let csv = m.part("text/csv");
    assert_eq!(csv.lines().count(), 101);
    assert!(
        csv.contains("'=HYPERLINK(\"\"http://x\"\")"),
        "{}",
        &csv[..800]
    );
    for n in 0..100 {
        let id = format!("№{}", 6000 + n);
        assert!(csv.contains(&id), "{id} not in the CSV");
        assert!(
            m.part("text/plain").contains(&id),
            "{id} not in the text part"
        );
    }
}
