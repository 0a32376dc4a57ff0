//! Portal text never controls a terminal or a spreadsheet: a notice whose title, agency,
//! lot, evidence, document error and source error carry ESC sequences, OSC titles, BEL, CR,
//! NUL, a bidi override and a C1 CSI, shown by every command that prints it; and a portal
//! error message with CR LF in it, in text and JSON logs.

use crate::util::tenderscan;
use serde_json::Value;
use std::path::Path;
use tenderscan::model::{Agency, DocumentRef, LotRecord, NoticeRecord, PortalTime, Severity};
use tenderscan::states::{QuotaKind, RunStatus};
use tenderscan::store::{DocumentContent, NewMatch, RunCounts, Store, sha256_hex};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// What a hostile portal puts in every field: clear the screen, retitle the window, ring,
/// return to the start of the line, NUL, right-to-left override, C1 CSI.
const NASTY: &str = "\x1b[2J\x1b]0;pwned\x07 \rforged\0 \u{202e}txt.exe\u{9b}31m";

fn title() -> String {
    format!("=HYPERLINK(\"http://evil.example/\",\"click\") услуги{NASTY}")
}
fn agency_name() -> String {
    format!("@SUM(1+1) Аппарат акима{NASTY}")
}
fn lot_title() -> String {
    format!("-2+3 Информационные услуги{NASTY}")
}
fn evidence() -> String {
    format!("+фейковых аккаунтов{NASTY}")
}
fn doc_error() -> String {
    format!("HTTP 500: {NASTY}")
}
fn source_error() -> String {
    format!("the portal said:\r\n2026-01-01T00:00:00Z ERROR forged line{NASTY}")
}

/// The visible escapes each field must show instead.
const SHOWN: &[&str] = &[
    "\\x1b[2J",
    "\\x1b]0;pwned\\x07",
    "\\rforged\\x00",
    "\\u202etxt.exe\\u009b31m",
];

/// Independent of the code under test: C0, DEL, C1, bidi embeddings, overrides, isolates and
/// marks, line and paragraph separators.
fn is_control(c: char) -> bool {
    let n = c as u32;
    n < 0x20
        || (0x7f..=0x9f).contains(&n)
        || (0x202a..=0x202e).contains(&n)
        || (0x2066..=0x2069).contains(&n)
        || [0x200e, 0x200f, 0x061c, 0x2028, 0x2029].contains(&n)
}

/// The control characters in `out` other than `allowed`; `out` must be UTF-8.
fn raw_controls(out: &[u8], allowed: &[char]) -> Vec<char> {
    let text = std::str::from_utf8(out).expect("output is UTF-8");
    text.chars()
        .filter(|c| is_control(*c) && !allowed.contains(c))
        .collect()
}

fn assert_safe(what: &str, out: &[u8], allowed: &[char]) {
    let bad = raw_controls(out, allowed);
    assert!(
        bad.is_empty(),
        "{what}: raw control characters {bad:?} in:\n{}",
        String::from_utf8_lossy(out)
    );
}

fn assert_shown(what: &str, out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    for s in SHOWN {
        assert!(text.contains(s), "{what}: {s:?} is not shown in:\n{text}");
    }
}

/// A database holding one notice that is hostile everywhere, flagged and routed to a
/// recipient; its source failed with a hostile error; one run recorded.
fn seeded(dir: &Path) {
    std::fs::write(
        dir.join("config.toml"),
        "[database]\npath = \"t.db\"\n\n\
         [[sources]]\nname = \"goszakup\"\nkind = \"goszakup\"\nurl = \"https://ows.goszakup.gov.kz\"\n\n\
         [mail]\nfrom = \"tenderscan <alerts@example.org>\"\ndry_run_dir = \"outbox\"\n\n\
         [[recipients]]\nemail = \"desk@example.org\"\nmin_severity = \"low\"\nlanguage = \"en\"\n",
    )
    .unwrap();
    let mut store = Store::open(&dir.join("t.db")).unwrap();
    let src = store
        .ensure_source("goszakup", "goszakup", "https://ows.goszakup.gov.kz")
        .unwrap();
    let rec = NoticeRecord {
        external_id: "777".into(),
        number: Some("777-1".into()),
        title: title(),
        agency: Some(Agency {
            id: "990240001234".into(),
            name_ru: Some(agency_name()),
            region: Some(format!("Костанайская область{NASTY}")),
            ..Default::default()
        }),
        amount: Some(1_300_000.0),
        currency: Some("KZT".into()),
        status: Some(format!("Опубликовано{NASTY}")),
        published: Some(PortalTime {
            utc: Some("2026-03-01T05:00:00Z".parse().unwrap()),
            original: "2026-03-01T10:00:00+05:00".into(),
        }),
        url: Some("https://goszakup.gov.kz/ru/announce/index/777".into()),
        lots: vec![LotRecord {
            external_id: "7770".into(),
            number: Some("7770-ЗЦП1".into()),
            title: Some(lot_title()),
            amount: Some(1_300_000.0),
            documents: vec![
                DocumentRef {
                    url: "https://v3bl.goszakup.gov.kz/files/download_file/1/".into(),
                    file_name: Some(format!("techspec{NASTY}.docx")),
                    is_spec: true,
                    ..Default::default()
                },
                DocumentRef {
                    url: "https://v3bl.goszakup.gov.kz/files/download_file/2/".into(),
                    file_name: Some("annex.pdf".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }],
        ..Default::default()
    };
    let out = store.store_page(src, &[rec], None).unwrap();
    let id = out.touched[0];
    let spec_text = format!(
        "Техническая спецификация. {}. Срок до 31.12.2026.",
        evidence()
    );
    let docs = store.pending_documents(id).unwrap();
    for d in &docs {
        let content = if d.url.ends_with("/1/") {
            DocumentContent {
                kind: Some("docx".into()),
                sha256: Some(sha256_hex(spec_text.as_bytes())),
                text: Some(spec_text.clone()),
                ..Default::default()
            }
        } else {
            DocumentContent {
                error: Some(doc_error()),
                ..Default::default()
            }
        };
        store.save_document(d.id, &content).unwrap();
    }
    let input = store.scan_input(id).unwrap().unwrap();
    let doc = input
        .targets
        .iter()
        .find(|t| t.document_id.is_some())
        .unwrap()
        .clone();
    let ev = evidence();
    let found = [NewMatch {
        target: doc.target,
        lot_id: doc.lot_id,
        document_id: doc.document_id,
        rule_id: "fake-accounts".into(),
        severity: Severity::High,
        score: 1.0,
        evidence: ev.clone(),
        evidence_start: 0,
        start: 0,
        end: ev.len(),
        quotas_json: "[]".into(),
        quota_kind: Some(QuotaKind::Accounts),
        quota_count: Some(4),
        quota_period: None,
        quota_source: None,
        quota_label: None,
        quota_sure: None,
        reasons_json: None,
    }];
    store
        .record_scan(
            &input,
            "test",
            &found,
            &|_| vec!["desk@example.org".to_string()],
            false,
        )
        .unwrap();
    store.source_failed(src, &source_error()).unwrap();
    let run = store.start_run("run", "test").unwrap();
    let summary =
        serde_json::json!({ "sources": [{ "name": "goszakup", "error": source_error() }] });
    store
        .finish_run(run, RunStatus::Partial, &RunCounts::default(), &summary)
        .unwrap();
}

/// Run the binary; it must succeed and say nothing raw on stderr either.
fn run(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = tenderscan(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_safe(&format!("{args:?} stderr"), &out.stderr, &['\n']);
    out.stdout
}

#[test]
fn show_report_search_status_and_previews_print_no_control_character() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    let d = dir.path();

    // Text for people: only line breaks between lines, every field's escapes visible.
    let show = run(d, &["show", "777-1"]);
    assert_safe("show", &show, &['\n']);
    assert_shown("show", &show);
    let text = String::from_utf8_lossy(&show);
    assert!(
        text.starts_with("=HYPERLINK(\"http://evil.example/\",\"click\") услуги\\x1b[2J"),
        "{text}"
    );
    assert!(text.contains("@SUM(1+1) Аппарат акима\\x1b[2J"), "{text}");
    assert!(text.contains("-2+3 Информационные услуги\\x1b"), "{text}");
    assert!(text.contains("error: HTTP 500: \\x1b[2J"), "{text}");
    assert!(text.contains("+фейковых аккаунтов\\x1b[2J"), "{text}");
    // Each field stays on its line: the CR cannot move back over it.
    assert!(!text.lines().any(|l| l.starts_with("forged")), "{text}");

    for args in [
        &["report", "flagged_tenders"][..],
        &["report", "flagged_tenders", "--format", "md"],
        &["search", "аккаунтов"],
        &["search", "аккаунтов", "--format", "md"],
    ] {
        // Wide enough that no cell is cut.
        let out = tenderscan(d)
            .env("COLUMNS", "2000")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        assert_safe(&format!("{args:?}"), &out.stdout, &['\n']);
        assert_safe(&format!("{args:?} stderr"), &out.stderr, &['\n']);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("\\x1b]0;pwned\\x07") && text.contains("\\u202e"),
            "{args:?}: {text}"
        );
        if args[0] == "report" {
            assert_shown(&format!("{args:?}"), &out.stdout);
            assert!(text.contains("@SUM(1+1) Аппарат акима\\x1b[2J"), "{text}");
        }
    }

    let status = run(d, &["status"]);
    assert_safe("status", &status, &['\n']);
    assert_shown("status", &status);
    let text = String::from_utf8_lossy(&status);
    assert!(
        text.contains("last error: the portal said:\\r\\n2026-01-01T00:00:00Z ERROR forged line"),
        "{text}"
    );
    assert!(
        !text.lines().any(|l| l.starts_with("2026-01-01")),
        "no forged line: {text}"
    );

    // The mail preview of `alert --dry-run` keeps its lines, nothing else.
    let preview = run(d, &["alert", "--dry-run"]);
    assert!(
        String::from_utf8_lossy(&preview).contains("Аппарат акима"),
        "{}",
        String::from_utf8_lossy(&preview)
    );
    assert_safe("alert --dry-run", &preview, &['\n']);
}

#[test]
fn json_output_keeps_the_exact_text_and_no_raw_control_character() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    let d = dir.path();

    let show = run(d, &["show", "777-1", "--format", "json"]);
    assert_safe("show json", &show, &['\n']);
    let v: Value = serde_json::from_slice(&show).unwrap();
    assert_eq!(v["title"], title());
    assert_eq!(v["agency_name"], agency_name());
    assert_eq!(v["lots"][0]["title"], lot_title());
    assert_eq!(v["matches"][0]["evidence"], evidence());
    assert!(
        v["documents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|doc| doc["error"] == doc_error()),
        "{v}"
    );

    let report = run(d, &["report", "flagged_tenders", "--format", "json"]);
    assert_safe("report json", &report, &['\n']);
    let rows: Value = serde_json::from_slice(&report).unwrap();
    assert_eq!(rows[0]["title"], lot_title(), "the lot's title");
    assert_eq!(rows[0]["agency_name"], agency_name());
    assert_eq!(rows[0]["evidence"], evidence());

    let search = run(d, &["search", "аккаунтов", "--format", "json"]);
    assert_safe("search json", &search, &['\n']);
    let hits: Value = serde_json::from_slice(&search).unwrap();
    assert!(
        hits.as_array()
            .unwrap()
            .iter()
            .any(|h| (h["title"] == title() || h["title"] == lot_title())
                && h["agency_name"] == agency_name()),
        "{hits}"
    );

    let status = run(d, &["status", "--format", "json"]);
    assert_safe("status json", &status, &['\n']);
    let v: Value = serde_json::from_slice(&status).unwrap();
    assert_eq!(v["sources"][0]["last_error"], source_error());

    for table in ["notices", "flags", "documents", "runs"] {
        let out = run(d, &["export", "--table", table, "--format", "jsonl"]);
        assert_safe(&format!("export {table} jsonl"), &out, &['\n']);
        let rows: Vec<Value> = std::str::from_utf8(&out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(!rows.is_empty(), "{table}");
        match table {
            "notices" => assert_eq!(rows[0]["title"], title()),
            "flags" => {
                assert_eq!(rows[0]["agency_name"], agency_name());
                assert_eq!(rows[0]["evidence"], evidence());
            }
            "documents" => assert!(rows.iter().any(|r| r["error"] == doc_error()), "{rows:?}"),
            _ => {
                let summary: Value =
                    serde_json::from_str(rows[0]["summary"].as_str().unwrap()).unwrap();
                assert_eq!(summary["sources"][0]["error"], source_error());
            }
        }
    }
}

#[test]
fn csv_shows_control_characters_and_excel_csv_defuses_formulas() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    let d = dir.path();
    // The same rule for every CSV: the export to stdout and to a file, report and search.
    let runs: [&[&str]; 7] = [
        &["export", "--table", "flags"],
        &["export", "--table", "flags", "--excel"],
        &["export", "--table", "flags", "--excel", "-o", "flags.csv"],
        &[
            "export",
            "--table",
            "notices",
            "--excel",
            "-o",
            "notices.csv",
        ],
        &["report", "flagged_tenders", "--format", "csv", "--excel"],
        &["search", "аккаунтов", "--format", "csv", "--excel"],
        &["export", "--table", "notices", "--format", "csv"],
    ];
    for args in runs {
        let mut out = run(d, args);
        if let Some(i) = args.iter().position(|a| *a == "-o") {
            assert!(out.is_empty());
            out = std::fs::read(d.join(args[i + 1])).unwrap();
        }
        // CSV lines end in CR LF; inside fields, line breaks and tabs are the only raw ones.
        let text = String::from_utf8(out.clone()).unwrap();
        let without_line_ends = text.replace("\r\n", "\n");
        assert_safe(
            &format!("{args:?}"),
            without_line_ends.as_bytes(),
            &['\n', '\t'],
        );
        assert!(text.contains("\\x1b]0;pwned\\x07"), "{args:?}: {text}");
        assert!(
            text.contains("\\u202etxt.exe\\u009b31m"),
            "{args:?}: {text}"
        );
    }

    // Plain CSV: text as it is (no quote), only the control characters shown.
    let plain = String::from_utf8(run(d, &["export", "--table", "notices"])).unwrap();
    assert!(
        plain.contains(",\"=HYPERLINK(\"\"http://evil.example/\"\",\"\"click\"\") услуги\\x1b[2J"),
        "{plain}"
    );
    let plain = String::from_utf8(run(d, &["export", "--table", "flags"])).unwrap();
    assert!(
        plain.contains(",@SUM(1+1) Аппарат акима\\x1b[2J"),
        "{plain}"
    );

    // Excel: every text cell that starts with = + - @ gets a ', read back by a CSV reader.
    let escaped = |s: String| {
        format!("'{s}")
            .replace('\x1b', "\\x1b")
            .replace('\x07', "\\x07")
            .replace('\r', "\\r")
            .replace('\0', "\\x00")
            .replace('\u{202e}', "\\u202e")
            .replace('\u{9b}', "\\u009b")
    };
    let flags = crate::util::csv_rows(&d.join("flags.csv"));
    assert_eq!(flags.len(), 1, "{flags:?}");
    let r = &flags[0];
    assert_eq!(r["title"], escaped(lot_title()), "the lot's title: {r}");
    assert_eq!(r["agency_name"], escaped(agency_name()), "{r}");
    assert_eq!(r["evidence"], escaped(evidence()), "{r}");
    // Numbers stay numbers, plain text stays as it is.
    assert_eq!(r["amount"], "1300000", "{r}");
    assert_eq!(r["notice_number"], "777-1", "{r}");
    let notices = crate::util::csv_rows(&d.join("notices.csv"));
    assert_eq!(notices[0]["title"], escaped(title()), "{notices:?}");
    for r in flags.iter().chain(&notices) {
        for (k, v) in r.as_object().unwrap() {
            let v = v.as_str().unwrap();
            assert!(
                !v.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{k} = {v:?} would run as a formula"
            );
        }
    }
}

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// A goszakup API stand-in whose GraphQL answers with an error message that tries to end
/// the log line and forge the next one.
async fn hostile_api() -> MockServer {
    let server = MockServer::start().await;
    let body = serde_json::json!({ "errors": [{ "message": source_error() }], "data": null });
    Mock::given(method("POST"))
        .and(path("/v3/graphql"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body.to_string().into_bytes(), "application/json"),
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
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn a_portal_message_cannot_forge_a_log_line_or_reach_the_terminal_raw() {
    let server = hostile_api().await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("config.toml"),
        format!(
            "[database]\npath = \"t.db\"\n\n[crawl]\ncontact = \"mailto:test@example.org\"\ntimeout_secs = 5\nmax_retries = 1\nbackoff_secs = 0.05\nrefused_backoff_secs = 0.05\n\n\
             [[sources]]\nname = \"goszakup\"\nkind = \"goszakup\"\nurl = \"{}\"\ntoken_env = \"TEST_GOSZAKUP_TOKEN\"\nlookback_days = 3\nrequests_per_second = 1000.0\n",
            server.uri()
        ),
    )
    .unwrap();

    // Text logs: the message is on one line, its CR LF and controls shown as escapes.
    let out = tenderscan(d)
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .arg("crawl")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "the source failed");
    assert_safe("text log", &out.stderr, &['\n']);
    let log = String::from_utf8(out.stderr).unwrap();
    let hit: Vec<&str> = log.lines().filter(|l| l.contains("forged line")).collect();
    assert_eq!(hit.len(), 1, "{log}");
    assert!(
        hit[0].contains("ERROR")
            && hit[0]
                .contains("the portal said:\\r\\n2026-01-01T00:00:00Z ERROR forged line\\x1b[2J"),
        "{log}"
    );
    assert!(
        !log.lines().any(|l| l.starts_with("2026-01-01T00:00:00Z")),
        "no forged line: {log}"
    );
    assert_shown("text log", log.as_bytes());

    // JSON logs: one object per line, the message exact once decoded.
    let out = tenderscan(d)
        .env("TEST_GOSZAKUP_TOKEN", TOKEN)
        .args(["--log-format", "json", "crawl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_safe("json log", &out.stderr, &['\n']);
    let lines: Vec<Value> = std::str::from_utf8(&out.stderr)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(&source_error()))),
        "{lines:?}"
    );

    // `status` shows the stored error the same way.
    let status = run(d, &["status"]);
    assert_safe("status", &status, &['\n']);
    let text = String::from_utf8_lossy(&status);
    assert!(
        text.contains("last error: ")
            && text.contains("the portal said:\\r\\n2026-01-01T00:00:00Z ERROR forged line"),
        "{text}"
    );
}
