//! National scale: generate N notices (with lots and technical assignments) into a SQLite
//! file, then measure `scan --all` after a rule change, every canned report, `search`, and
//! the database size. Each phase reports its time and its peak memory (VmHWM, reset
//! between phases through /proc/self/clear_refs).
//!
//! Run: `cargo bench --bench scale -- --notices 100000 [--db PATH] [--keep] [--threads 1,2]`
//! An existing `--db` with at least N notices is reused (generation skipped); `--no-scan`
//! and `--no-reports` leave phases out (for profiling one of them).

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/mem.rs"]
mod mem;

use std::path::PathBuf;
use std::time::Instant;
use tenderscan::config::Config;
use tenderscan::pipeline::{self, StopFlag};
use tenderscan::rules::RuleSet;
use tenderscan::store::{DocumentContent, RunCounts, Store, sha256_hex};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

fn db_size_mb(path: &std::path::Path) -> f64 {
    let mut total = 0u64;
    for suffix in ["", "-wal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        total += std::fs::metadata(PathBuf::from(p))
            .map(|m| m.len())
            .unwrap_or(0);
    }
    total as f64 / (1024.0 * 1024.0)
}

fn main() {
    let n: u64 = arg("--notices")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let tmp = tempfile::tempdir().unwrap();
    let db = arg("--db")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().join("scale.db"));
    let mut cfg = Config::embedded_default(tmp.path());
    cfg.database.path = db.clone();
    let mut store = Store::open(&db).unwrap();
    let have: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM notices", [], |r| r.get(0))
        .unwrap();
    println!("| phase | figure | time | peak RSS |");
    println!("| --- | --- | --- | --- |");

    // 1. Generate and store.
    if (have as u64) < n {
        mem::reset_peak();
        let t = Instant::now();
        let src = store
            .ensure_source("goszakup", "goszakup", "https://ows.goszakup.gov.kz")
            .unwrap();
        let mut rng = corpus::Rng(0x5eed_1234_abcd_0001 ^ have as u64);
        let mut text_bytes = 0u64;
        let batch = 500;
        let mut i = have as u64;
        while i < n {
            let mut records = Vec::new();
            let mut texts = std::collections::HashMap::new();
            for j in i..(i + batch).min(n) {
                let (rec, t) = corpus::notice(&mut rng, j, 0.03);
                records.push(rec);
                texts.extend(t);
            }
            i += records.len() as u64;
            let out = store.store_page(src, &records, None).unwrap();
            store.conn().execute_batch("BEGIN").unwrap();
            for id in out.touched {
                for d in store.pending_documents(id).unwrap() {
                    let text = texts.remove(&d.url).unwrap_or_default();
                    text_bytes += text.len() as u64;
                    store
                        .save_document(
                            d.id,
                            &DocumentContent {
                                kind: Some("docx".into()),
                                sha256: Some(sha256_hex(text.as_bytes())),
                                size: Some(text.len() as i64),
                                text: Some(text),
                                ..Default::default()
                            },
                        )
                        .unwrap();
                }
            }
            store.conn().execute_batch("COMMIT").unwrap();
        }
        let secs = t.elapsed().as_secs_f64();
        let added = n - have as u64;
        println!(
            "| generate + store | {added} notices, {:.0} MB of assignment text, {:.0} notices/s | {secs:.1} s | {:.0} MB |",
            text_bytes as f64 / 1e6,
            added as f64 / secs,
            mem::peak_mb()
        );
        store
            .conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let size = db_size_mb(&db);
    println!(
        "| database size | {size:.0} MB for {n} notices: {:.0} MB per 100 k | | |",
        size * 100_000.0 / n as f64
    );

    // 2. scan --all after a rule change.
    // `--threads 1,2`: one scan per count, in that order (the first records the matches, the
    // next ones find them again); default: `[scan] threads` (the machine's cores).
    let thread_counts: Vec<Option<usize>> = match arg("--threads") {
        Some(list) => list
            .split(',')
            .map(|t| Some(t.trim().parse().expect("--threads takes numbers")))
            .collect(),
        None => vec![None],
    };
    if !flag("--no-scan") {
        let rules = RuleSet::builtin().unwrap();
        for threads in thread_counts {
            mem::reset_peak();
            let t = Instant::now();
            let mut counts = RunCounts::default();
            let opts = pipeline::RunOptions {
                baseline: true,
                threads,
                ..Default::default()
            };
            let ctx = pipeline::Run {
                cfg: &cfg,
                rules: &rules,
                opts: &opts,
                stop: &StopFlag::default(),
                watches: &[],
            };
            let scanned = pipeline::scan(ctx, &mut store, true, &mut counts).unwrap();
            let secs = t.elapsed().as_secs_f64();
            println!(
                "| scan --all, {} thread(s) | {scanned} notices, {} new matches, {:.0} notices/s | {secs:.1} s | {:.0} MB |",
                tenderscan::par::threads_or_cores(threads.unwrap_or(cfg.scan.threads)),
                counts.matches,
                scanned as f64 / secs,
                mem::peak_mb()
            );
        }
    }

    if flag("--no-reports") {
        return;
    }
    // 3. Every canned report, and search.
    for r in tenderscan::report::all().unwrap() {
        mem::reset_peak();
        let t = Instant::now();
        let table = tenderscan::report::run(&store, &r, &[]).unwrap();
        println!(
            "| report `{}` | {} rows | {:.0} ms | {:.0} MB |",
            r.name,
            table.rows.len(),
            t.elapsed().as_secs_f64() * 1000.0,
            mem::peak_mb()
        );
    }
    for q in [
        "комментарии",
        "фейковых аккаунтов",
        "пікір",
        "бумага офисная",
    ] {
        mem::reset_peak();
        let t = Instant::now();
        let hits = store.search(&tenderscan::report::fts_query(q), 50).unwrap();
        println!(
            "| search \"{q}\" | {} hits (top 50) | {:.0} ms | {:.0} MB |",
            hits.len(),
            t.elapsed().as_secs_f64() * 1000.0,
            mem::peak_mb()
        );
    }
    if flag("--keep") {
        let kept = tmp.keep();
        eprintln!("kept {}", kept.display());
    }
}
