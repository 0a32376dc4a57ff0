//! The newsroom's web page at national scale: starts `tenderscan serve` on a database the
//! scale bench made (`cargo bench --bench scale -- --notices 1000000 --db /tmp/s1m.db`) and
//! times its pages over loopback HTTP: the flag list with each filter and sort, deep pages,
//! notice pages of flagged notices, an agency's and a supplier's page, search and the charts.
//! Each page: the first request (what a reader meets first), then the median and the slowest
//! of `--repeat` more; the server's peak memory at the end.
//!
//! Run: `cargo bench --bench serve -- --db /tmp/s1m.db [--repeat 10] [--notices 20]`

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn peak_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() {
    if std::env::args().any(|a| a == "--bench") && arg("--db").is_none() {
        // `cargo bench` with no arguments runs every bench: this one needs a database.
        println!("serve bench: skipped (give --db PATH, a database the scale bench made)");
        return;
    }
    let db = PathBuf::from(arg("--db").expect("--db PATH (a database the scale bench made)"));
    let repeat: usize = arg("--repeat").and_then(|v| v.parse().ok()).unwrap_or(10);
    let sample: i64 = arg("--notices").and_then(|v| v.parse().ok()).unwrap_or(20);
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the database");
    let notices: i64 = conn
        .query_row("SELECT count(*) FROM notices", [], |r| r.get(0))
        .unwrap();
    // Flagged notices spread over the id range, an agency and a supplier of flagged ones.
    let flagged: Vec<i64> = {
        let mut st = conn
            .prepare(
                "SELECT DISTINCT notice_id FROM matches WHERE severity IN ('medium', 'high')
                 AND notice_id % ?1 = 0 LIMIT ?2",
            )
            .unwrap();
        st.query_map([notices / (sample * 50).max(1) + 1, sample], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let agency: String = conn
        .query_row(
            "SELECT a.identifier FROM agencies a JOIN notices n ON n.agency_id = a.id
             WHERE n.id = ?1",
            [flagged[0]],
            |r| r.get(0),
        )
        .unwrap_or_default();
    let supplier: String = conn
        .query_row("SELECT identifier FROM suppliers LIMIT 1", [], |r| r.get(0))
        .unwrap_or_default();
    let region: String = conn
        .query_row(
            "SELECT COALESCE(n.region, a.region) FROM notices n
             LEFT JOIN agencies a ON a.id = n.agency_id WHERE n.id = ?1",
            [flagged[0]],
            |r| r.get::<_, Option<String>>(0),
        )
        .ok()
        .flatten()
        .unwrap_or_default();
    // The rule with the most flags, and one with few (the two ends of a rule filter).
    let rules: Vec<(String, i64)> = {
        let mut st = conn
            .prepare("SELECT rule_id, count(*) FROM flag_rows GROUP BY rule_id ORDER BY 2 DESC")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let big_rule = rules.first().map(|r| r.0.clone()).unwrap_or_default();
    let small_rule = rules.last().map(|r| r.0.clone()).unwrap_or_default();
    for (rule, n) in [rules.first(), rules.last()].into_iter().flatten() {
        println!("rule {rule}: {n} flags");
    }
    drop(conn);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\npath = {:?}\n",
            std::path::absolute(&db).unwrap().display().to_string()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenderscan"))
        .args(["serve", "--config"])
        .arg(&config)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start tenderscan serve");
    let pid = child.id();
    let out = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();

    let mut pages: Vec<(String, String)> = vec![
        ("flag list".into(), "/".into()),
        ("flag list, high only".into(), "/?severity=high".into()),
        ("flag list, by amount".into(), "/?sort=amount".into()),
        ("flag list, by price per unit".into(), "/?sort=price".into()),
        ("flag list, one rule".into(), "/?rule=fake-accounts".into()),
        ("flag list, one agency".into(), format!("/?agency={agency}")),
        (
            "flag list, a period".into(),
            "/?since=2026-01-01&until=2026-03-31".into(),
        ),
        ("flag list, page 50".into(), "/?page=50".into()),
        (
            "flag list, by amount, page 50".into(),
            "/?sort=amount&page=50".into(),
        ),
        (
            format!("flag list, the biggest rule ({big_rule})"),
            format!("/?rule={big_rule}"),
        ),
        (
            "flag list, the biggest rule by amount".into(),
            format!("/?rule={big_rule}&sort=amount"),
        ),
        (
            format!("flag list, the smallest rule ({small_rule})"),
            format!("/?rule={small_rule}"),
        ),
        (
            "flag list, high only by amount".into(),
            "/?severity=high&sort=amount".into(),
        ),
        ("flag list, one region".into(), format!("/?region={region}")),
        ("flag list, one source".into(), "/?source=goszakup".into()),
        ("flag list, not reviewed".into(), "/?verdict=none".into()),
        ("flag list, confirmed".into(), "/?verdict=confirmed".into()),
        (
            "flag list, one agency by amount".into(),
            format!("/?agency={agency}&sort=amount"),
        ),
        ("agency page".into(), format!("/agency/{agency}")),
        ("supplier page".into(), format!("/supplier/{supplier}")),
        ("search".into(), "/search?q=комментарии".into()),
        ("charts".into(), "/charts".into()),
    ];
    for slug in [
        "money-per-month",
        "money-per-agency",
        "price-per-unit",
        "flags-per-rule",
    ] {
        pages.push((format!("chart {slug}.svg"), format!("/charts/{slug}.svg")));
    }
    pages.push((
        "chart money-per-year.svg, one agency".into(),
        format!("/charts/money-per-year.svg?agency={agency}"),
    ));
    pages.push((
        "chart money-per-year.svg, one supplier".into(),
        format!("/charts/money-per-year.svg?supplier={supplier}"),
    ));
    for id in &flagged {
        pages.push((format!("notice {id}"), format!("/notice/{id}")));
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tenderscan::fetch::install_crypto_provider();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    println!("{notices} notices in {}; {repeat} repeats", db.display());
    println!("| page | status | bytes | first | median | slowest |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut notice_medians = Vec::new();
    for (name, path) in &pages {
        let mut times = Vec::new();
        let mut status = 0;
        let mut bytes = 0;
        for _ in 0..=repeat {
            let t = Instant::now();
            let resp = rt
                .block_on(client.get(format!("{base}{path}")).send())
                .expect("request");
            status = resp.status().as_u16();
            bytes = rt.block_on(resp.bytes()).map(|b| b.len()).unwrap_or(0);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let first = times[0];
        let mut rest = times[1..].to_vec();
        rest.sort_by(|a, b| a.total_cmp(b));
        let median = rest.get(rest.len() / 2).copied().unwrap_or(first);
        let slowest = rest.last().copied().unwrap_or(first);
        if name.starts_with("notice ") {
            if status != 200 {
                println!(
                    "| {name} | {status} | {bytes} | {first:.0} ms | {median:.0} ms | {slowest:.0} ms |"
                );
            }
            notice_medians.push((first, median, slowest));
            continue;
        }
        println!(
            "| {name} | {status} | {bytes} | {first:.0} ms | {median:.0} ms | {slowest:.0} ms |"
        );
    }
    if !notice_medians.is_empty() {
        let worst =
            |f: fn(&(f64, f64, f64)) -> f64| notice_medians.iter().map(f).fold(0.0f64, f64::max);
        let mut medians: Vec<f64> = notice_medians.iter().map(|t| t.1).collect();
        medians.sort_by(|a, b| a.total_cmp(b));
        println!(
            "| {} notice pages (worst first, median of medians, worst slowest) | | | {:.0} ms | {:.0} ms | {:.0} ms |",
            notice_medians.len(),
            worst(|t| t.0),
            medians[medians.len() / 2],
            worst(|t| t.2)
        );
    }
    println!("server peak RSS: {:.0} MB", peak_mb(pid));
    drop(server);
}
