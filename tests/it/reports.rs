//! For watchdog NGOs: canned reports on a small seeded database, full-text search,
//! exports, and Datasette.

use crate::util::tenderscan;
use predicates::prelude::*;
use serde_json::Value;
use std::path::Path;
use tenderscan::model::{
    Agency, AwardRecord, DocumentRef, LotRecord, NoticeRecord, PortalTime, Severity, Supplier,
};
use tenderscan::store::{NewMatch, Store};

struct Flag<'a> {
    rule: &'a str,
    severity: Severity,
    evidence: &'a str,
    quota: Option<(&'a str, i64, Option<&'a str>)>,
}

fn agency(bin: &str, name: &str, region: &str) -> Agency {
    Agency {
        id: bin.into(),
        name_ru: Some(name.into()),
        region: Some(region.into()),
        ..Default::default()
    }
}

fn notice(id: &str, title: &str, a: &Agency, published: &str, amount: f64) -> NoticeRecord {
    let utc = chrono::DateTime::parse_from_rfc3339(published)
        .unwrap()
        .with_timezone(&chrono::Utc);
    NoticeRecord {
        external_id: id.into(),
        number: Some(format!("{id}-1")),
        title: title.into(),
        agency: Some(a.clone()),
        amount: Some(amount),
        currency: Some("KZT".into()),
        published: Some(PortalTime {
            utc: Some(utc),
            original: published.into(),
        }),
        url: Some(format!("https://goszakup.gov.kz/ru/announce/index/{id}")),
        lots: vec![LotRecord {
            external_id: format!("{id}0"),
            number: Some(format!("{id}0-ЗЦП1")),
            title: Some(title.into()),
            amount: Some(amount),
            documents: vec![DocumentRef {
                url: format!("https://v3bl.goszakup.gov.kz/files/download_file/{id}/"),
                file_name: Some(format!("techspec_{id}.docx")),
                is_spec: true,
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn supplier(bin: &str, name: &str) -> Supplier {
    Supplier {
        id: bin.into(),
        scheme: "KZ-BIN".into(),
        name: Some(name.into()),
    }
}

fn award(id: &str, suppliers: &[&Supplier], amount: f64, lots: &[&str]) -> AwardRecord {
    AwardRecord {
        external_id: id.into(),
        status: Some("active".into()),
        amount: Some(amount),
        currency: Some("KZT".into()),
        suppliers: suppliers.iter().map(|s| (*s).clone()).collect(),
        lots: lots.iter().map(|l| l.to_string()).collect(),
        ..Default::default()
    }
}

fn with_awards(mut rec: NoticeRecord, awards: Vec<AwardRecord>) -> NoticeRecord {
    rec.awards = awards;
    rec
}

/// Store a notice with its specification's text and record the given flags on it.
fn seed(store: &mut Store, rec: NoticeRecord, spec_text: &str, flags: &[Flag<'_>]) -> i64 {
    let src = store
        .ensure_source("goszakup", "goszakup", "https://ows.goszakup.gov.kz")
        .unwrap();
    let out = store.store_page(src, &[rec], None).unwrap();
    let id = out.touched[0];
    let doc = store.pending_documents(id).unwrap().remove(0);
    store
        .save_document(
            doc.id,
            &tenderscan::store::DocumentContent {
                kind: Some("docx".into()),
                sha256: Some(tenderscan::store::sha256_hex(spec_text.as_bytes())),
                text: Some(spec_text.into()),
                ..Default::default()
            },
        )
        .unwrap();
    let input = store.scan_input(id).unwrap().unwrap();
    let doc_target = input
        .targets
        .iter()
        .find(|t| t.document_id.is_some())
        .unwrap()
        .clone();
    let found: Vec<NewMatch> = flags
        .iter()
        .map(|f| NewMatch {
            target: doc_target.target,
            lot_id: doc_target.lot_id,
            document_id: doc_target.document_id,
            rule_id: f.rule.into(),
            severity: f.severity,
            score: 1.0,
            evidence: f.evidence.into(),
            evidence_start: 0,
            start: 0,
            end: f.evidence.len(),
            quotas_json: "[]".into(),
            quota_kind: f.quota.map(|q| q.0.parse().unwrap()),
            quota_count: f.quota.map(|q| q.1),
            quota_period: f.quota.and_then(|q| q.2.map(|p| p.parse().unwrap())),
            quota_source: None,
            quota_label: None,
            quota_sure: None,
            reasons_json: None,
        })
        .collect();
    store
        .record_scan(&input, "test", &found, &|_| vec![], false)
        .unwrap();
    id
}

/// Five notices from two agencies over two years, with awards; one later edited.
fn seeded(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("t.db");
    std::fs::write(
        dir.join("config.toml"),
        "[database]\npath = \"t.db\"\n[mail]\ndry_run_dir = \"outbox\"\n",
    )
    .unwrap();
    let mut s = Store::open(&db).unwrap();
    let rudny = agency(
        "990240001234",
        "Аппарат акима города Рудного",
        "Костанайская область",
    );
    let almaty = agency(
        "060240012345",
        "Управление внутренней политики города Алматы",
        "Алматы",
    );
    let media = supplier("051140001234", "ТОО «Медиа Бот»");
    let kim = supplier("850101300123", "ИП Ким");
    let paper = supplier("120540009876", "ТОО «Бумага»");
    let shoes = supplier("990940000111", "ТОО «Обувь»");
    // 1001: the flagged lot's award went to Медиа Бот, with a signed contract.
    let awards_1001 = || {
        let mut a = award("aw-1001", &[&media], 1_250_000.0, &["10010"]);
        a.contract_id = Some("c-1001".into());
        a.contract_amount = Some(1_200_000.0);
        a.contract_signed = Some(PortalTime {
            utc: Some("2025-04-10T04:00:00Z".parse().unwrap()),
            original: "2025-04-10T09:00:00+05:00".into(),
        });
        vec![a]
    };
    let hi = Severity::High;
    seed(
        &mut s,
        with_awards(
            notice(
                "1001",
                "Информационные услуги",
                &rudny,
                "2025-03-01T05:00:00Z",
                1_300_000.0,
            ),
            awards_1001(),
        ),
        "Создание четырех фейковых аккаунтов для комментирования.",
        &[Flag {
            rule: "fake-accounts",
            severity: hi,
            evidence: "четырех фейковых аккаунтов",
            quota: Some(("accounts", 4, None)),
        }],
    );
    // 1002: awarded for the whole notice to Медиа Бот; a cancelled award does not count.
    let mut cancelled = award("aw-1002-x", &[&shoes], 610_000.0, &[]);
    cancelled.status = Some("cancelled".into());
    seed(
        &mut s,
        with_awards(
            notice(
                "1002",
                "Услуги по ведению аккаунтов",
                &rudny,
                "2026-02-01T05:00:00Z",
                600_000.0,
            ),
            vec![award("aw-1002", &[&media], 590_000.0, &[]), cancelled],
        ),
        "Не менее 1000 положительных комментариев в месяц.",
        &[Flag {
            rule: "comment-quota-positive",
            severity: hi,
            evidence: "1000 положительных комментариев",
            quota: Some(("comments", 1000, Some("month"))),
        }],
    );
    // 1003: the flagged lot to a consortium; another lot (not flagged) to Бумага.
    seed(
        &mut s,
        with_awards(
            notice(
                "1003",
                "SMM-сопровождение",
                &almaty,
                "2026-05-01T05:00:00Z",
                2_000_000.0,
            ),
            vec![
                award("aw-1003", &[&kim, &media], 1_900_000.0, &["10030"]),
                award("aw-1003-b", &[&paper], 50_000.0, &["other-lot"]),
            ],
        ),
        "Әлеуметтік желілерде күніне 500 пікір жазу. Ведение страниц в социальных сетях.",
        &[
            Flag {
                rule: "comment-quota",
                severity: Severity::Medium,
                evidence: "500 пікір",
                quota: Some(("comments", 500, Some("day"))),
            },
            Flag {
                rule: "smm-services",
                severity: Severity::Low,
                evidence: "Ведение страниц в социальных сетях",
                quota: None,
            },
        ],
    );
    seed(
        &mut s,
        with_awards(
            notice(
                "1004",
                "Имиджевые услуги",
                &almaty,
                "2026-06-01T05:00:00Z",
                100_000.0,
            ),
            vec![award("aw-1004", &[&paper], 95_000.0, &[])],
        ),
        "Разработка имиджевых материалов для социальных сетей.",
        &[Flag {
            rule: "smm-services",
            severity: Severity::Low,
            evidence: "имиджевых материалов",
            quota: None,
        }],
    );
    seed(
        &mut s,
        with_awards(
            notice(
                "1005",
                "Поставка ботинок",
                &almaty,
                "2026-07-01T05:00:00Z",
                90_000.0,
            ),
            vec![award("aw-1005", &[&shoes], 88_000.0, &[])],
        ),
        "Ботинки кожаные, 40 пар.",
        &[],
    );
    // Notice 1001 edited after it was flagged.
    let src = s
        .ensure_source("goszakup", "goszakup", "https://ows.goszakup.gov.kz")
        .unwrap();
    let mut edited = with_awards(
        notice(
            "1001",
            "Информационные услуги (изменено)",
            &rudny,
            "2025-03-01T05:00:00Z",
            1_300_000.0,
        ),
        awards_1001(),
    );
    edited.status = Some("Изменена документация".into());
    s.store_page(src, &[edited], None).unwrap();
    db
}

fn report_json(dir: &Path, name: &str, params: &[&str]) -> Vec<Value> {
    let mut args = vec!["report", name, "--format", "json"];
    for p in params {
        args.push("--param");
        args.push(p);
    }
    let out = tenderscan(dir)
        .args(&args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn each_report_returns_the_expected_rows() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    let d = dir.path();

    let rows = report_json(d, "flagged_tenders", &["since=2026-01-01"]);
    let numbers: Vec<&str> = rows
        .iter()
        .map(|r| r["notice_number"].as_str().unwrap())
        .collect();
    assert_eq!(
        numbers,
        ["1003-1", "1002-1"],
        "medium and up, newest first: {rows:?}"
    );
    assert_eq!(rows[1]["price_per_unit"], 600.0);
    assert_eq!(rows[1]["quota_period"], "month");
    let low = report_json(
        d,
        "flagged_tenders",
        &["since=2026-01-01", "min_severity=low"],
    );
    assert_eq!(low.len(), 4, "1003 twice (two rules), 1002, 1004: {low:?}");

    let rows = report_json(d, "agencies_by_flagged_spending", &[]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["agency_bin"], "060240012345");
    assert_eq!(rows[0]["flagged_notices"], 1);
    assert_eq!(rows[0]["flagged_amount"], 2_000_000.0);
    assert_eq!(rows[1]["agency_bin"], "990240001234");
    assert_eq!(rows[1]["flagged_notices"], 2);
    assert_eq!(rows[1]["high"], 2);
    assert_eq!(rows[1]["flagged_amount"], 1_900_000.0);

    let rows = report_json(d, "price_per_unit", &["kind=comments"]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["year"], "2026");
    assert_eq!(rows[0]["tenders"], 2);
    assert_eq!(rows[0]["min_price"], 600.0);
    assert_eq!(rows[0]["median_price"], 2300.0);
    assert_eq!(rows[0]["max_price"], 4000.0);
    let rows = report_json(d, "price_per_unit", &[]);
    let accounts: Vec<&Value> = rows.iter().filter(|r| r["kind"] == "accounts").collect();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["year"], "2025");
    assert_eq!(accounts[0]["median_price"], 325_000.0);

    let rows = report_json(d, "repeat_buyers", &[]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["agency_bin"], "990240001234");
    assert_eq!(rows[0]["years"], 2);
    assert_eq!(rows[0]["which_years"], "2025,2026");

    let rows = report_json(d, "changed_after_flag", &[]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["notice_number"], "1001-1");
    assert_eq!(rows[0]["versions_after_flag"], 1);
    assert!(rows[0]["what_changed"].as_str().unwrap().contains("title"));

    let rows = report_json(d, "smm_spending_by_region", &[]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["region"], "Алматы");
    assert_eq!(rows[0]["year"], "2026");
    assert_eq!(rows[0]["notices"], 2);
    assert_eq!(rows[0]["amount"], 2_100_000.0);

    let rows = report_json(d, "suppliers_of_flagged", &[]);
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["supplier_name"].as_str().unwrap())
        .collect();
    // Not Бумага (its award is for a lot nobody flagged, or low only), not the cancelled
    // award, not the unflagged 1005.
    assert_eq!(names, ["ТОО «Медиа Бот»", "ИП Ким"], "{rows:?}");
    let m = &rows[0];
    assert_eq!(m["supplier_id"], "051140001234");
    assert_eq!(m["supplier_scheme"], "KZ-BIN");
    assert_eq!(m["flagged_notices_won"], 3);
    assert_eq!(m["high_awards"], 2);
    // The contract's value where there is one (1 200 000), else the award's.
    assert_eq!(m["awarded_amount"], 1_200_000.0 + 590_000.0 + 1_900_000.0);
    assert_eq!(m["currency"], "KZT");
    assert_eq!(m["agencies"], 2);
    assert_eq!(
        (m["first_year"].as_str(), m["last_year"].as_str()),
        (Some("2025"), Some("2026"))
    );
    let agencies = m["agency_names"].as_str().unwrap();
    assert!(
        agencies.contains("Рудного") && agencies.contains("Алматы"),
        "{agencies}"
    );
    assert_eq!(rows[1]["flagged_notices_won"], 1);
    assert_eq!(rows[1]["awarded_amount"], 1_900_000.0);
    let low = report_json(d, "suppliers_of_flagged", &["min_severity=low"]);
    let paper = low
        .iter()
        .find(|r| r["supplier_name"] == "ТОО «Бумага»")
        .expect("low flags count at min_severity=low");
    assert_eq!(paper["flagged_notices_won"], 1);
    assert_eq!(
        paper["awarded_amount"], 95_000.0,
        "not the unflagged lot's 50 000"
    );
    assert!(!low.iter().any(|r| r["supplier_name"] == "ТОО «Обувь»"));
    let one = report_json(d, "suppliers_of_flagged", &["supplier=Ким"]);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["supplier_id"], "850101300123");
    let one = report_json(d, "suppliers_of_flagged", &["supplier=051140001234"]);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["supplier_name"], "ТОО «Медиа Бот»");
    let since = report_json(d, "suppliers_of_flagged", &["since=2026-03-01"]);
    assert_eq!(
        since[0]["flagged_notices_won"], 1,
        "only 1003 since March 2026"
    );
}

#[test]
fn report_parameters_are_checked_and_stay_values() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    tenderscan(dir.path())
        .args(["report", "flagged_tenders", "--param", "since=yesterday"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("since"))
        .stderr(predicate::str::contains("YYYY-MM-DD"));
    tenderscan(dir.path())
        .args(["report", "flagged_tenders", "--param", "agency=1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no parameter \"agency\""));
    tenderscan(dir.path())
        .args(["report", "no_such_report"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no report is named"));
    // SQL in a free-text parameter is a value: it matches nothing and drops nothing.
    let rows = report_json(dir.path(), "price_per_unit", &["kind=comments' OR '1'='1"]);
    assert!(rows.is_empty(), "{rows:?}");
    let rows = report_json(
        dir.path(),
        "smm_spending_by_region",
        &["rule=x'; DROP TABLE notices; --"],
    );
    assert!(rows.is_empty());
    let rows = report_json(
        dir.path(),
        "suppliers_of_flagged",
        &["supplier=' OR 1=1; DELETE FROM suppliers; --"],
    );
    assert!(rows.is_empty(), "{rows:?}");
    assert_eq!(
        crate::util::count(&dir.path().join("t.db"), "SELECT count(*) FROM notices"),
        5
    );
    assert_eq!(
        crate::util::count(&dir.path().join("t.db"), "SELECT count(*) FROM suppliers"),
        4
    );
}

#[test]
fn report_list_and_formats() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    tenderscan(dir.path())
        .args(["report", "--list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("flagged_tenders"))
        .stdout(predicate::str::contains("Price per comment"));
    tenderscan(dir.path())
        .env("COLUMNS", "60")
        .args(["report", "flagged_tenders"])
        .assert()
        .success()
        .stdout(predicate::function(|s: &str| {
            s.lines().all(|l| l.chars().count() <= 60)
        }))
        .stdout(predicate::str::contains("(3 rows)"))
        .stdout(predicate::str::contains("agency_name"))
        .stdout(predicate::str::contains("-[ 1 ]"));
    // Wide enough for a table: a header line and the rows.
    tenderscan(dir.path())
        .env("COLUMNS", "100")
        .args(["report", "repeat_buyers"])
        .assert()
        .success()
        .stdout(predicate::function(|s: &str| {
            s.lines().all(|l| l.chars().count() <= 100)
        }))
        .stdout(predicate::str::starts_with("agency_bin"))
        .stdout(predicate::str::contains("(1 rows)"));
    tenderscan(dir.path())
        .args(["report", "repeat_buyers", "--format", "md"])
        .assert()
        .success()
        .stdout(predicate::str::contains("| agency_bin | agency_name |"))
        .stdout(predicate::str::contains("Аппарат акима города Рудного"));
}

#[test]
fn search_finds_inflected_russian_and_kazakh_words() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    // "аккаунты" finds "аккаунтов" (notice title and specification).
    let out = tenderscan(dir.path())
        .args(["search", "аккаунты", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let hits: Vec<Value> = serde_json::from_slice::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    let numbers: Vec<&str> = hits
        .iter()
        .map(|h| h["notice_number"].as_str().unwrap())
        .collect();
    assert!(
        numbers.contains(&"1001-1") && numbers.contains(&"1002-1"),
        "{hits:?}"
    );
    assert!(
        hits.iter()
            .any(|h| h["snippet"].as_str().unwrap().contains("«аккаунтов»")),
        "{hits:?}"
    );
    // Kazakh: "пікірлерді" finds "пікір".
    let out = tenderscan(dir.path())
        .args(["search", "пікірлерді", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let hits: Vec<Value> = serde_json::from_slice::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["notice_number"], "1003-1");
    // Boots are not found by "комментарии"; FTS syntax in the query is only text.
    let out = tenderscan(dir.path())
        .args(["search", "ботинки OR NEAR(\"x\" *", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let hits: Vec<Value> = serde_json::from_slice::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    assert!(hits.is_empty(), "all words must occur: {hits:?}");
}

#[test]
fn the_csv_export_round_trips_with_cyrillic_intact() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    tenderscan(dir.path())
        .args([
            "export",
            "--table",
            "flags",
            "--format",
            "csv",
            "--excel",
            "-o",
            "flags.csv",
        ])
        .assert()
        .success();
    let bytes = std::fs::read(dir.path().join("flags.csv")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "Excel wants a BOM");
    // The csv crate as the independent reader.
    let rows = crate::util::csv_rows(&dir.path().join("flags.csv"));
    assert_eq!(rows.len(), 5);
    let rudny = rows
        .iter()
        .find(|r| r["rule_id"] == "fake-accounts")
        .unwrap();
    assert_eq!(rudny["agency_name"], "Аппарат акима города Рудного");
    assert_eq!(rudny["evidence"], "четырех фейковых аккаунтов");
    assert_eq!(rudny["price_per_unit"], "325000");
    assert_eq!(rudny["lot_number"], "10010-ЗЦП1");

    // JSON Lines, filtered by date.
    let jsonl = |args: &[&str]| -> Vec<Value> {
        let out = tenderscan(dir.path())
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let lines = jsonl(&[
        "export",
        "--table",
        "notices",
        "--format",
        "jsonl",
        "--since",
        "2000-01-01",
    ]);
    assert_eq!(lines.len(), 5);
    assert!(lines.iter().any(|l| l["title"] == "Поставка ботинок"));

    // Awards flat, one row per award and supplier (the consortium's award twice).
    let lines = jsonl(&["export", "--table", "supplier_awards", "--format", "jsonl"]);
    assert_eq!(
        lines.len(),
        8,
        "seven awards, one of them with two suppliers: {lines:?}"
    );
    let c = lines
        .iter()
        .find(|l| l["award_external_id"] == "aw-1001")
        .unwrap();
    assert_eq!(c["supplier_name"], "ТОО «Медиа Бот»");
    assert_eq!(c["notice_number"], "1001-1");
    assert_eq!(c["agency_bin"], "990240001234");
    assert_eq!(c["contract_amount"], 1_200_000.0);
    assert_eq!(c["contract_signed_at"], "2025-04-10T04:00:00Z");
    assert_eq!(c["lots"], r#"["10010"]"#);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["award_external_id"] == "aw-1003")
            .count(),
        2
    );
    // `show` lists the awards with their suppliers and the contract.
    let out = tenderscan(dir.path())
        .args(["show", "1001-1"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("awards (1)"), "{text}");
    assert!(
        text.contains("ТОО «Медиа Бот» (KZ-BIN 051140001234)") && text.contains("contract c-1001"),
        "{text}"
    );
    tenderscan(dir.path())
        .args(["export", "--table", "sqlite_master"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no table"));
}

#[test]
fn datasette_shows_the_canned_queries_and_searches() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    let meta = tenderscan(dir.path())
        .arg("datasette-metadata")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&meta).unwrap();
    assert_eq!(
        v["databases"]["t"]["queries"]["flagged_tenders"]["title"],
        "Flagged tenders in a period"
    );
    assert_eq!(
        v["databases"]["t"]["tables"]["notices"]["fts_table"],
        "notices_fts"
    );
    std::fs::write(dir.path().join("metadata.json"), &meta).unwrap();

    let have = std::process::Command::new("datasette")
        .arg("--version")
        .output();
    if have.is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "datasette must be installed in CI (.ci/run installs it)"
        );
        eprintln!("datasette not installed: skipping the live check");
        return;
    }
    let get = |path: &str| -> Value {
        let out = std::process::Command::new("datasette")
            .current_dir(dir.path())
            .args(["t.db", "--metadata", "metadata.json", "--get", path])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{path}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
    };
    let q = get(
        "/t/flagged_tenders.json?since=2026-01-01&until=9999-12-31&min_severity=medium&_shape=objects",
    );
    let rows = q["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{q}");
    assert_eq!(rows[0]["notice_number"], "1003-1");
    let s =
        get("/t/notices.json?_search=%D0%B1%D0%BE%D1%82%D0%B8%D0%BD%D0%BE%D0%BA&_shape=objects");
    let rows = s["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{s}");
    assert_eq!(rows[0]["title"], "Поставка ботинок");
}

/// The rows of a report's SQL run in `sqlite3` (the shell binds no parameter: NULL), or
/// None where the shell is not installed.
fn sqlite3_shell_rows(db: &Path, sql: &str) -> Option<usize> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("sqlite3")
        .arg("-json")
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sql.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    if text.trim().is_empty() {
        return Some(0);
    }
    Some(
        serde_json::from_str::<Value>(&text)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
    )
}

#[test]
fn canned_queries_opened_without_parameters_show_their_default_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let d = dir.path();
    let meta: Value = serde_json::from_slice(
        &tenderscan(d)
            .arg("datasette-metadata")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone(),
    )
    .unwrap();
    std::fs::write(d.join("metadata.json"), meta.to_string()).unwrap();
    let queries = meta["databases"]["t"]["queries"].as_object().unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let have_datasette = std::process::Command::new("datasette")
        .arg("--version")
        .output()
        .is_ok();
    if !have_datasette {
        assert!(
            std::env::var_os("CI").is_none(),
            "datasette must be installed in CI (.ci/run installs it)"
        );
        eprintln!("datasette not installed: checking the SQL without it");
    }
    let mut with_rows = 0;
    for (name, q) in queries {
        let sql = q["sql"].as_str().unwrap();
        // What the CLI gives with the documented defaults...
        let defaults = report_json(d, name, &[]).len();
        // ...is what every parameter left empty gives (Datasette's first page)...
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.parameter_count();
        let empty: Vec<&dyn rusqlite::ToSql> =
            (0..n).map(|_| &"" as &dyn rusqlite::ToSql).collect();
        let got_empty = stmt
            .query(empty.as_slice())
            .unwrap()
            .mapped(|_| Ok(()))
            .count();
        assert_eq!(got_empty, defaults, "{name} with empty parameters");
        // ...and what the sqlite3 shell gives with none bound (NULL).
        let nulls: Vec<rusqlite::types::Null> = (0..n).map(|_| rusqlite::types::Null).collect();
        let got_null = stmt
            .query(rusqlite::params_from_iter(nulls))
            .unwrap()
            .mapped(|_| Ok(()))
            .count();
        assert_eq!(got_null, defaults, "{name} with unbound parameters");
        if let Some(shell) = sqlite3_shell_rows(&db, sql) {
            assert_eq!(shell, defaults, "{name} in the sqlite3 shell");
        }
        if have_datasette && n > 0 {
            let out = std::process::Command::new("datasette")
                .current_dir(d)
                .args(["t.db", "--metadata", "metadata.json", "--get"])
                .arg(format!("/t/{name}.json?_shape=objects"))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(
                v["rows"].as_array().map(Vec::len),
                Some(defaults),
                "{name} opened in Datasette without parameters: {v}"
            );
        }
        if defaults > 0 && n > 0 {
            with_rows += 1;
        }
    }
    // The seeded database has rows for most reports at their defaults: the check is real.
    assert!(
        with_rows >= 5,
        "only {with_rows} reports with parameters show rows"
    );
}

#[test]
fn datasette_metadata_puts_flags_first_describes_it_and_hides_the_tools_own_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let d = dir.path();
    let raw = tenderscan(d)
        .arg("datasette-metadata")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(raw).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let t = &v["databases"]["t"];
    // In the order written: the description first, flags first among the tables, the
    // reports in the order of `report --list` (flagged_tenders first).
    let pos = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("{s} missing: {text}"))
    };
    assert!(pos("\"description_html\"") < pos("\"queries\""));
    assert!(pos("\"flagged_tenders\": {") < pos("\"agencies_by_flagged_spending\": {"));
    assert!(pos("\"flags\": {") < pos("\"notices\": {"));
    let html = t["description_html"].as_str().unwrap();
    assert!(html.contains("href=\"/t/flags\""), "{html}");
    assert!(html.contains("href=\"/t/price_per_unit\""), "{html}");
    // Every column of the flags view in this database is described.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info('flags')")
        .unwrap();
    let cols: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(cols.len() >= 19, "{cols:?}");
    let described = t["tables"]["flags"]["columns"].as_object().unwrap();
    for c in &cols {
        assert!(
            described
                .get(c)
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty()),
            "flags.{c} has no description"
        );
    }
    assert_eq!(
        described.len(),
        cols.len(),
        "described columns that flags lacks"
    );
    for hidden in [
        "digests",
        "alerts",
        "evidence",
        "flag_rows",
        "sources",
        "runs",
    ] {
        assert_eq!(t["tables"][hidden]["hidden"], true, "{hidden}");
    }
    assert_eq!(t["tables"]["digests"]["allow"], false);
    std::fs::write(d.join("metadata.json"), &text).unwrap();
    if std::process::Command::new("datasette")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "datasette must be installed in CI (.ci/run installs it)"
        );
        eprintln!("datasette not installed: skipping the live check");
        return;
    }
    let get = |path: &str| {
        std::process::Command::new("datasette")
            .current_dir(d)
            .args([
                "t.db",
                "-i",
                "t.db",
                "--metadata",
                "metadata.json",
                "--get",
                path,
            ])
            .output()
            .unwrap()
    };
    let out = get("/t.json");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tables = page["tables"].as_array().unwrap();
    let hidden = |name: &str| {
        tables
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["hidden"] == true)
    };
    // Recipients' addresses and messages are not even listed; the tool's own tables hidden.
    assert_eq!(hidden("digests"), None, "{page}");
    assert_eq!(hidden("alerts"), None, "{page}");
    assert_eq!(hidden("evidence"), Some(true), "{page}");
    assert_eq!(hidden("sources"), Some(true), "{page}");
    assert_eq!(hidden("notices"), Some(false), "{page}");
    // ...nor browsable.
    let out = get("/t/digests.json");
    assert!(
        !out.status.success(),
        "digests is open: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The description with its links is on the database page, HTML as written.
    let out = get("/t");
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains("<a href=\"/t/flags\">flags</a>"), "{page}");
}

#[test]
fn reports_from_the_users_own_folder_are_listed_run_and_named_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    let d = dir.path();
    std::fs::write(
        d.join("config.toml"),
        "[database]\npath = \"t.db\"\n[mail]\ndry_run_dir = \"outbox\"\n[reports]\ndirs = [\"mine\"]\n",
    )
    .unwrap();
    std::fs::create_dir(d.join("mine")).unwrap();
    std::fs::write(
        d.join("mine/agency_flags.sql"),
        "-- title: Flags of one agency\n-- description: Every flag of the agency with this BIN.\n\
         -- param: bin = 990240001234 -- the agency's BIN\n\
         SELECT notice_number, rule_id FROM flags WHERE agency_bin = COALESCE(NULLIF(:bin, ''), '990240001234') ORDER BY notice_number;\n",
    )
    .unwrap();
    std::fs::write(d.join("mine/notes.txt"), "not a report").unwrap();
    let list = tenderscan(d).args(["report", "--list"]).assert().success();
    let text = String::from_utf8(list.get_output().stdout.clone()).unwrap();
    assert!(
        text.contains("agency_flags") && text.contains("Flags of one agency"),
        "{text}"
    );
    assert!(
        text.contains("flagged_tenders"),
        "built-in ones stay: {text}"
    );
    assert!(text.contains("agency_flags.sql"), "{text}");
    let rudny = report_json(d, "agency_flags", &[]);
    let almaty = report_json(d, "agency_flags", &["bin=060240012345"]);
    assert!(!rudny.is_empty() && !almaty.is_empty());
    assert!(
        rudny
            .iter()
            .all(|r| r["notice_number"] != almaty[0]["notice_number"])
    );
    let meta = tenderscan(d).arg("datasette-metadata").assert().success();
    let v: Value = serde_json::from_slice(&meta.get_output().stdout).unwrap();
    assert_eq!(
        v["databases"]["t"]["queries"]["agency_flags"]["title"],
        "Flags of one agency"
    );

    // A malformed header, and a name a built-in report has: errors naming the file.
    std::fs::write(d.join("mine/broken.sql"), "SELECT 1;\n").unwrap();
    tenderscan(d)
        .args(["report", "--list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.sql").and(predicate::str::contains("no title")));
    std::fs::remove_file(d.join("mine/broken.sql")).unwrap();
    std::fs::write(
        d.join("mine/flagged_tenders.sql"),
        "-- title: Mine\n-- description: Mine.\nSELECT 1;\n",
    )
    .unwrap();
    tenderscan(d)
        .args(["report", "agency_flags"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("flagged_tenders.sql")
                .and(predicate::str::contains("built-in")),
        );
}

#[test]
fn export_since_is_the_publication_date_help_lists_every_table_and_head_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    let d = dir.path();
    let jsonl = |args: &[&str]| -> Vec<Value> {
        let mut all = vec!["export", "--format", "jsonl"];
        all.extend_from_slice(args);
        let out = tenderscan(d).args(&all).assert().success();
        String::from_utf8(out.get_output().stdout.clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    // All five notices were first seen today; two were published in 2026.
    let conn = rusqlite::Connection::open(d.join("t.db")).unwrap();
    let published_2026: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM notices WHERE published_at >= '2026-01-01'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(published_2026 > 0 && published_2026 < 5, "{published_2026}");
    let notices = jsonl(&["--table", "notices", "--since", "2026-01-01"]);
    assert_eq!(notices.len() as i64, published_2026, "{notices:?}");
    assert!(
        notices
            .iter()
            .all(|n| n["published_at"].as_str().unwrap() >= "2026-01-01")
    );
    // Lots and flags by their notice's publication too.
    let lots = jsonl(&["--table", "lots", "--since", "2026-01-01"]);
    assert_eq!(lots.len() as i64, published_2026);
    let flags = jsonl(&["--table", "flags", "--since", "2026-01-01"]);
    assert!(
        flags
            .iter()
            .all(|f| f["published_at"].as_str().unwrap() >= "2026-01-01")
    );
    assert!(flags.len() < jsonl(&["--table", "flags"]).len());
    // --seen-since: when tenderscan recorded them.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(
        jsonl(&["--table", "notices", "--seen-since", &today]).len(),
        5
    );
    assert_eq!(
        jsonl(&["--table", "notices", "--seen-since", "2100-01-01"]).len(),
        0
    );

    let help = tenderscan(d).args(["export", "--help"]).assert().success();
    let help = String::from_utf8(help.get_output().stdout.clone()).unwrap();
    for (t, ..) in tenderscan::store::EXPORT_TABLES {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{t} "))),
            "{t} not in {help}"
        );
    }
    assert!(help.contains("published on or after"), "{help}");

    // `export | head`: the reader is gone before the first line; a quiet exit 0.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(crate::util::binary())
        .current_dir(d)
        .env_remove("TENDERSCAN_LOG")
        .args(["export", "--table", "notices"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn tables_in_an_80_column_terminal_become_records_with_nothing_cut() {
    let dir = tempfile::tempdir().unwrap();
    seeded(dir.path());
    let d = dir.path();
    let full = report_json(d, "flagged_tenders", &[]);
    for args in [&["report", "flagged_tenders"][..], &["search", "аккаунтов"]] {
        let out = tenderscan(d)
            .env("COLUMNS", "80")
            .args(args)
            .assert()
            .success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
        assert!(text.starts_with("-[ 1 ]"), "{args:?}: {text}");
        assert!(!text.contains('…'), "a value was cut: {text}");
        if args[0] == "report" {
            for row in &full {
                let n = row["notice_number"].as_str().unwrap();
                assert!(text.contains(&format!("notice_number:    {n}")), "{text}");
                // The whole title, wrapped if need be.
                let words: String = text.split_whitespace().collect();
                let title: String = row["title"].as_str().unwrap().split_whitespace().collect();
                assert!(words.contains(&title), "{title} in {text}");
            }
        }
    }
}

#[test]
fn search_finds_words_typed_with_latin_look_alikes_by_their_cyrillic_query() {
    let dir = tempfile::tempdir().unwrap();
    let db = seeded(dir.path());
    let d = dir.path();
    {
        let mut s = Store::open(&db).unwrap();
        let a = agency(
            "990240001234",
            "Аппарат акима города Рудного",
            "Костанайская область",
        );
        // "aккaунтов" and "сoциальных" with Latin a and o, as portals get them.
        seed(
            &mut s,
            notice(
                "1009",
                "Ведение aккaунтов в сoциальных сетях",
                &a,
                "2026-02-01T05:00:00Z",
                900_000.0,
            ),
            "Техническая спецификация: модерация кoмментариев.",
            &[],
        );
    }
    let hits = |q: &str| -> Vec<Value> {
        let out = tenderscan(d)
            .args(["search", q, "--format", "json"])
            .assert()
            .success();
        serde_json::from_slice::<Value>(&out.get_output().stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    };
    let found = hits("аккаунтов социальных");
    assert!(
        found.iter().any(|h| h["notice_number"] == "1009-1"),
        "{found:?}"
    );
    let found = hits("комментарии");
    assert!(
        found.iter().any(|h| h["notice_number"] == "1009-1"),
        "in the document: {found:?}"
    );
    // A Latin word is still found by its Latin spelling, and a Cyrillic one as before.
    let found = hits("techspec");
    assert!(!found.is_empty(), "file names: {found:?}");
    let found = hits("ботинок");
    assert!(!found.is_empty());
    assert!(
        found.iter().all(|h| h["title"] == "Поставка ботинок"),
        "{found:?}"
    );
}
