//! `scan --threads` and `match --threads`: the rules on a work queue give the same bytes, in the
//! same order, as on one thread.

use crate::util::tenderscan;
use std::path::Path;
use tenderscan::model::NoticeRecord;
use tenderscan::store::Store;

const FLAGGED: &[&str] = &[
    "Создание четырех фейковых аккаунтов для комментирования публикаций акимата.",
    "Исполнитель обеспечивает не менее 50 (пятидесяти) положительных комментариев в день в социальных сетях.",
    "Төрт жалған аккаунт ашу және әкімдіктің жарияламаларына пікір қалдыру, айына 120 пікір.",
    "Отработка негатива: удаление и вытеснение негативных отзывов, не менее 30 в неделю.",
];
const PLAIN: &[&str] = &[
    "Поставка бумаги офисной формата А4 плотностью 80 г/м², 400 пачек.",
    "Текущий ремонт кровли административного здания акимата.",
    "Ведение официальных аккаунтов в социальных сетях Instagram и Facebook.",
    "Вывоз твердых бытовых отходов с территории учреждения.",
    "Кеңсе қағазын жеткізу, 200 бума.",
];

/// A database with `n` notices (a quarter of them flagged, in varied places), more than one
/// scan batch of 200.
fn database(dir: &Path, n: usize) {
    std::fs::write(
        dir.join("config.toml"),
        "[database]\npath = \"t.db\"\n\n[[sources]]\nname = \"goszakup\"\nkind = \"goszakup\"\nurl = \"https://ows.goszakup.gov.kz\"\n",
    )
    .unwrap();
    let mut store = Store::open(&dir.join("t.db")).unwrap();
    let source = store
        .ensure_source("goszakup", "goszakup", "https://ows.goszakup.gov.kz")
        .unwrap();
    let recs: Vec<NoticeRecord> = (0..n)
        .map(|i| {
            let mut text = String::new();
            // uneven lengths, so the threads finish out of order
            for k in 0..(1 + (i * 7) % 13) {
                text.push_str(PLAIN[(i + k) % PLAIN.len()]);
                text.push(' ');
                if i % 4 == 1 && k == (i % 3) {
                    text.push_str(FLAGGED[i % FLAGGED.len()]);
                    text.push(' ');
                }
            }
            NoticeRecord {
                external_id: format!("{}", 7000 + i),
                number: Some(format!("{}-1", 7000 + i)),
                title: format!("Закупка услуг № {i}"),
                description: Some(text),
                url: Some(format!(
                    "https://goszakup.gov.kz/ru/announce/index/{}",
                    7000 + i
                )),
                ..NoticeRecord::default()
            }
        })
        .collect();
    for page in recs.chunks(50) {
        store.store_page(source, page, None).unwrap();
    }
}

/// Log lines without their time stamps (the first word of a line that starts with a digit).
fn untimed(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(|l| match l.split_once(' ') {
            Some((t, rest)) if t.starts_with(|c: char| c.is_ascii_digit()) => rest.to_string(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every table's rows in rowid order, without the columns that hold the time of writing.
fn dump(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = String::new();
    for t in tables {
        let Ok(mut stmt) = conn.prepare(&format!("SELECT * FROM \"{t}\" ORDER BY rowid")) else {
            continue;
        };
        let names: Vec<String> = stmt.column_names().map(str::to_string).collect();
        let keep: Vec<usize> = (0..names.len())
            .filter(|&i| !names[i].ends_with("_at") && names[i] != "at")
            .collect();
        out.push_str(&format!("== {t}\n"));
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for &i in &keep {
                let v: rusqlite::types::Value = row.get(i).unwrap();
                out.push_str(&format!("{}={v:?}\t", names[i]));
            }
            out.push('\n');
        }
    }
    out
}

#[test]
fn scan_all_with_one_and_two_threads_writes_the_same_rows_in_the_same_order() {
    let one = tempfile::tempdir().unwrap();
    database(one.path(), 450);
    let two = tempfile::tempdir().unwrap();
    for f in ["config.toml", "t.db"] {
        std::fs::copy(one.path().join(f), two.path().join(f)).unwrap();
    }
    let run = |dir: &Path, threads: &str| {
        let out = tenderscan(dir)
            .args(["-v", "scan", "--all", "--baseline", "--threads", threads])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        (out.stdout, untimed(&out.stderr))
    };
    let (a, b) = (run(one.path(), "1"), run(two.path(), "2"));
    assert_eq!(a, b);
    assert!(a.1.contains("scanned 450 notices"), "{}", a.1);
    let (da, db) = (
        dump(&one.path().join("t.db")),
        dump(&two.path().join("t.db")),
    );
    // the notices flagged (a quarter) are there, so the comparison compares something
    let matches = crate::util::count(&one.path().join("t.db"), "SELECT count(*) FROM matches");
    assert!(matches >= 100, "{matches} matches");
    if da != db {
        let first = da
            .lines()
            .zip(db.lines())
            .find(|(x, y)| x != y)
            .map(|(x, y)| format!("one thread: {x}\ntwo threads: {y}"));
        panic!("the databases differ: {first:?}");
    }
}

#[test]
fn match_with_one_and_two_threads_prints_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir(&specs).unwrap();
    for i in 0..40 {
        let mut text = String::new();
        for k in 0..(1 + (i * 5) % 11) {
            text.push_str(PLAIN[(i + k) % PLAIN.len()]);
            text.push('\n');
            if i % 3 == 0 && k == 0 {
                text.push_str(FLAGGED[i % FLAGGED.len()]);
                text.push('\n');
            }
        }
        std::fs::write(specs.join(format!("spec-{i:02}.txt")), text).unwrap();
    }
    // one file that cannot be read: its error keeps its place too
    std::fs::write(specs.join("spec-20.txt.gz"), [0x1f, 0x8b, 0x08, 0x00]).unwrap();
    for format in ["text", "json"] {
        let run = |threads: &str| {
            tenderscan(dir.path())
                .args(["match", "--format", format, "--threads", threads, "specs"])
                .output()
                .unwrap()
        };
        let (a, b) = (run("1"), run("2"));
        assert_eq!(a.status.code(), b.status.code());
        if a.stdout != b.stdout {
            let (x, y) = (
                String::from_utf8_lossy(&a.stdout),
                String::from_utf8_lossy(&b.stdout),
            );
            let first = x.lines().zip(y.lines()).find(|(p, q)| p != q);
            panic!("{format}: the outputs differ: {first:?}");
        }
        assert_eq!(untimed(&a.stderr), untimed(&b.stderr));
        let text = String::from_utf8_lossy(&a.stdout);
        assert!(text.contains("fake-accounts"), "{text}");
    }
}
