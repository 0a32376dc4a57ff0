//! The foundation: `init`, `status`, config errors from the command line, the store.

use assert_cmd::Command;
use predicates::prelude::*;
use tenderscan::store::{SCHEMA_VERSION, Store};

fn tenderscan(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("tenderscan").unwrap();
    cmd.current_dir(dir).env_remove("TENDERSCAN_LOG");
    cmd
}

#[test]
fn init_in_an_empty_folder_gives_a_config_and_a_migrated_database() {
    let dir = tempfile::tempdir().unwrap();
    tenderscan(dir.path())
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains("wrote config.toml"))
        .stdout(predicate::str::contains(format!(
            "schema version {SCHEMA_VERSION}"
        )));
    assert!(dir.path().join("config.toml").is_file());
    assert!(dir.path().join("tenderscan.db").is_file());
    // The written config is the documented default, and it loads.
    let written = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    assert_eq!(written, tenderscan::config::DEFAULT_CONFIG);

    // A second init leaves the config alone.
    std::fs::write(
        dir.path().join("config.toml"),
        written.replace("tenderscan.db", "other.db"),
    )
    .unwrap();
    tenderscan(dir.path())
        .arg("init")
        .assert()
        .success()
        .stdout(predicate::str::contains("exists: left as it is"));
    assert!(dir.path().join("other.db").is_file());

    tenderscan(dir.path())
        .args(["status"])
        .assert()
        .success()
        .stdout(predicate::str::contains("other.db"))
        .stdout(predicate::str::contains(format!(
            "schema version  {SCHEMA_VERSION}"
        )))
        .stdout(predicate::str::contains("notices"))
        .stdout(predicate::str::contains("(none yet)"));

    let out = tenderscan(dir.path())
        .args(["status", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["schema_version"], SCHEMA_VERSION);
    assert_eq!(v["tables"]["notices"], 0);
}

#[test]
fn config_errors_name_the_file_and_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown.toml",
            "[database]\npath = 'x.db'\n\n[[sources]]\nname = 'g'\nkind = 'goszakup'\nurl = 'https://ows.goszakup.gov.kz'\ntoken = 'abc'\n",
            "unknown.toml:8: key `sources.token`",
        ),
        (
            "type.toml",
            "[database]\npath = 'x.db'\n[mail]\nsmtp_port = 'twenty-five'\n",
            "type.toml:4: key `mail.smtp_port`",
        ),
    ];
    for (name, src, want) in cases {
        std::fs::write(dir.path().join(name), src).unwrap();
        tenderscan(dir.path())
            .args(["--config", name, "status"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(want));
    }
    tenderscan(dir.path())
        .args(["--config", "missing.toml", "status"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "missing.toml: config file not found",
        ));
}

#[test]
fn opening_a_database_twice_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    // Two processes' worth of opens at the same moment, then again.
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let p = path.clone();
            std::thread::spawn(move || Store::open(&p).map(|s| s.schema_version().unwrap()))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().unwrap(), SCHEMA_VERSION);
    }
    let store = Store::open(&path).unwrap();
    store
        .conn()
        .execute(
            "INSERT INTO sources (name, kind, created_at) VALUES ('g', 'goszakup', 't')",
            [],
        )
        .unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let n: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM sources", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1, "a second open must not re-run migrations");
}

const FLAGS_COLUMNS: &[&str] = &[
    "source",
    "notice_number",
    "lot_number",
    "title",
    "agency_bin",
    "agency_name",
    "amount",
    "currency",
    "rule_id",
    "severity",
    "evidence",
    "quota_kind",
    "quota_count",
    "quota_period",
    "price_per_unit",
    "url",
    "published_at",
    "first_flagged_at",
    // Added by #17 (scans read by OCR): only ever added at the end.
    "read_by_ocr",
];

#[test]
fn the_flags_view_has_exactly_its_columns_and_prices_per_unit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    let conn = store.conn();
    let stmt = conn.prepare("SELECT * FROM flags").unwrap();
    let cols: Vec<&str> = stmt.column_names().collect();
    assert_eq!(cols, FLAGS_COLUMNS);
    drop(stmt);

    conn.execute_batch(
        "INSERT INTO sources (id, name, kind, created_at) VALUES (1, 'goszakup', 'goszakup', 't');
         INSERT INTO agencies (id, identifier, name_ru, first_seen_at, last_seen_at)
             VALUES (1, '000140001234', 'ГУ «Аппарат акима города Рудного»', 't', 't');
         INSERT INTO notices (id, source_id, external_id, number, title, agency_id, amount, currency,
                              url, published_at, first_seen_at, last_seen_at)
             VALUES (1, 1, '900', '900-1', 'Информационные услуги', 1, 1300000, 'KZT',
                     'https://goszakup.gov.kz/ru/announce/index/900', '2026-03-02T04:00:00Z', 't', 't');
         INSERT INTO matches (notice_id, target, rule_id, severity, severity_rank, score, evidence,
                              evidence_start, match_start, match_end, quota_kind, quota_count, quota_period,
                              ruleset_version, first_flagged_at, last_seen_at)
             VALUES (1, 'document:1', 'fake-accounts', 'high', 3, 0.9, 'создание четырех фейковых аккаунтов',
                     0, 9, 60, 'accounts', 4, NULL, 'v1', '2026-03-02T05:00:00Z', 't'),
                    (1, 'notice:1', 'fake-accounts', 'high', 3, 0.5, 'фейковых аккаунтов',
                     0, 0, 30, NULL, NULL, NULL, 'v1', '2026-03-01T05:00:00Z', 't'),
                    (1, 'notice:1', 'smm-services', 'low', 1, 0.3, 'услуги SMM',
                     0, 0, 10, NULL, NULL, NULL, 'v1', '2026-03-02T05:00:00Z', '2026-03-03T00:00:00Z');",
    )
    .unwrap();
    type FlagRow = (String, String, Option<i64>, Option<f64>, String);
    let rows: Vec<FlagRow> = conn
        .prepare("SELECT rule_id, severity, quota_count, price_per_unit, first_flagged_at FROM flags ORDER BY rule_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 2, "one row per notice and rule: {rows:?}");
    assert_eq!(rows[0].0, "fake-accounts");
    assert_eq!(rows[0].2, Some(4));
    assert_eq!(rows[0].3, Some(325_000.0));
    assert_eq!(
        rows[0].4, "2026-03-01T05:00:00Z",
        "first flag over all matches"
    );
    assert_eq!(rows[1].0, "smm-services");
    assert_eq!(rows[1].3, None);

    // The view follows retractions, new matches and deletions.
    let fake = |conn: &rusqlite::Connection| -> Option<(Option<i64>, String)> {
        conn.query_row(
            "SELECT quota_count, first_flagged_at FROM flags WHERE rule_id = 'fake-accounts'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok()
    };
    conn.execute(
        "UPDATE matches SET retracted_at = 't' WHERE target = 'notice:1' AND rule_id = 'fake-accounts'",
        [],
    )
    .unwrap();
    assert_eq!(
        fake(conn),
        Some((Some(4), "2026-03-02T05:00:00Z".into())),
        "the retracted match no longer counts for the first flag"
    );
    conn.execute(
        "UPDATE matches SET retracted_at = 't' WHERE target = 'document:1'",
        [],
    )
    .unwrap();
    assert_eq!(fake(conn), None, "no live match, no row");
    conn.execute(
        "UPDATE matches SET retracted_at = NULL WHERE target = 'notice:1' AND rule_id = 'fake-accounts'",
        [],
    )
    .unwrap();
    assert_eq!(fake(conn), Some((None, "2026-03-01T05:00:00Z".into())));
    conn.execute("DELETE FROM matches WHERE rule_id = 'fake-accounts'", [])
        .unwrap();
    assert_eq!(fake(conn), None);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM flags", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

/// The modules import each other in one direction only: the graph of `crate::<module>`
/// references between the top-level modules of src/ has no cycle (issue 21's "no back-edges").
#[test]
fn the_module_graph_has_no_cycle() {
    use std::collections::{BTreeMap, BTreeSet};
    let src = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeSet::new();
    for e in std::fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if (p.is_dir() || p.extension().is_some_and(|x| x == "rs"))
            && !matches!(name.as_str(), "lib" | "main")
        {
            modules.insert(name);
        }
    }
    fn files(p: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        if p.is_dir() {
            for e in std::fs::read_dir(p).unwrap() {
                files(&e.unwrap().path(), out);
            }
        } else if p.is_file() && p.extension().is_some_and(|x| x == "rs") {
            out.push(p.to_path_buf());
        }
    }
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in &modules {
        let mut fs = Vec::new();
        files(&src.join(format!("{m}.rs")), &mut fs);
        files(&src.join(m), &mut fs);
        let set = deps.entry(m.clone()).or_default();
        for f in fs {
            for line in std::fs::read_to_string(f).unwrap().lines() {
                let line = line.trim_start();
                if line.starts_with("//") {
                    continue;
                }
                for (i, _) in line.match_indices("crate::") {
                    let rest = &line[i + 7..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if name != *m && modules.contains(&name) {
                        set.insert(name);
                    }
                }
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        deps: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_string(), 1);
        path.push(m.to_string());
        for d in deps.get(m).into_iter().flatten() {
            match state.get(d.as_str()) {
                Some(1) => {
                    let at = path.iter().position(|p| p == d).unwrap();
                    let mut cycle = path[at..].to_vec();
                    cycle.push(d.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(d, deps, state, path) {
                        return Some(c);
                    }
                }
            }
        }
        path.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in &modules {
        if !state.contains_key(m.as_str())
            && let Some(cycle) = visit(m, &deps, &mut state, &mut Vec::new())
        {
            panic!("module cycle: {}", cycle.join(" -> "));
        }
    }
    assert!(deps["source"].iter().all(|d| d != "store" && d != "rules"));
    assert!(deps["rules"].iter().all(|d| d != "store" && d != "source"));
    assert!(deps["extract"].is_empty(), "{:?}", deps["extract"]);
}

/// What a run leaves beside its database (the database, its lock file, the evidence folder,
/// the outbox) is ignored by the repository's .gitignore: `git status` in a folder with that
/// .gitignore shows nothing else after a run.
#[test]
fn gitignore_covers_the_database_its_lock_file_and_the_evidence_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .current_dir(d)
            .args(args)
            .output()
    };
    if git(&["--version"]).is_err() {
        assert!(std::env::var_os("CI").is_none(), "git must be there in CI");
        eprintln!("git not installed: skipping");
        return;
    }
    assert!(git(&["init", "-q"]).unwrap().status.success());
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".gitignore"),
        d.join(".gitignore"),
    )
    .unwrap();
    // The embedded default config: tenderscan.db here, no token, exit 0.
    crate::util::tenderscan(d).arg("run").assert().code(0);
    assert!(d.join("tenderscan.db.lock").exists() && d.join("tenderscan.evidence").is_dir());
    let out = git(&["status", "--porcelain", "--untracked-files=all"]).unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    assert_eq!(listed.trim(), "?? .gitignore", "{listed}");
    // Cargo.lock is not caught by the lock pattern.
    std::fs::write(d.join("Cargo.lock"), "").unwrap();
    let out = git(&["status", "--porcelain", "--untracked-files=all"]).unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("Cargo.lock")
    );
}
