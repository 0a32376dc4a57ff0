//! The full pipeline from a local HTTP server: a goszakup-shaped GraphQL API on 127.0.0.1
//! paging N announcements (one lot and one technical specification each: 80 % DOCX,
//! 10 % PDF, 10 % plain text), crawled,
//! downloaded, extracted, stored and scanned by `pipeline::run` with rate limits off.
//! Reports notices/s, documents/s and peak memory.
//!
//! Run: `cargo bench --bench crawl -- --notices 2000` (evidence in packs, the default;
//! `--evidence-store files` for a file per payload)
//!
//! With `--backfill`: `pipeline::backfill` over the same portal instead (metadata, then the
//! documents by tier), counting the requests of each stage and the candidates' share, at
//! `--rps` requests per second (default 1000, the most the config allows); there every
//! lot's specification is served (1 to 3 a notice), and `--no-first-pass` turns off
//! `[backfill] first_pass` to compare.

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/mem.rs"]
mod mem;

use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;
use tenderscan::config::Config;
use tenderscan::pipeline::{self, RunOptions, StopFlag};
use tenderscan::rules::RuleSet;
use tenderscan::store::Store;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PAGE: usize = 50;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// A DOCX holding `text`, one paragraph per line.
fn docx(text: &str) -> Vec<u8> {
    let body: String = text
        .lines()
        .map(|p| {
            let p = p
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            format!("<w:p><w:r><w:t xml:space=\"preserve\">{p}</w:t></w:r></w:p>")
        })
        .collect();
    let doc = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}</w:body></w:document>"
    );
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in [
        ("[Content_Types].xml", "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>".as_bytes()),
        ("word/document.xml", doc.as_bytes()),
    ] {
        w.start_file(name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The GraphQL pages: `after` in the request's variables picks the page.
struct Pages {
    items: Vec<Value>,
}

impl Respond for Pages {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let after = body["variables"]["after"].as_i64();
        let start = match after {
            Some(a) => self
                .items
                .iter()
                .position(|i| i["id"].as_i64() == Some(a))
                .map(|p| p + 1)
                .unwrap_or(self.items.len()),
            None => 0,
        };
        let page: Vec<Value> = self.items.iter().skip(start).take(PAGE).cloned().collect();
        let more = start + page.len() < self.items.len();
        let last = page.last().and_then(|i| i["id"].as_i64());
        let out = json!({
            "data": {"TrdBuy": page},
            "extensions": {"pageInfo": {"limitPage": PAGE, "totalCount": self.items.len(),
                                         "hasNextPage": more, "lastId": last}}
        });
        ResponseTemplate::new(200).set_body_raw(out.to_string().into_bytes(), "application/json")
    }
}

/// Counts the requests a responder answers.
struct Counted<R>(R, Arc<std::sync::atomic::AtomicUsize>);

impl<R: Respond> Respond for Counted<R> {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.0.respond(req)
    }
}

/// The files by path, and the paths asked for, in order.
struct Files(
    Arc<HashMap<String, Vec<u8>>>,
    Arc<std::sync::Mutex<Vec<String>>>,
);

impl Respond for Files {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if let Ok(mut asked) = self.1.lock() {
            asked.push(req.url.path().to_string());
        }
        match self.0.get(req.url.path()) {
            // As the portal's file host does: no type of its own, the bytes and the
            // file name tell.
            Some(b) => {
                ResponseTemplate::new(200).set_body_raw(b.clone(), "application/octet-stream")
            }
            None => ResponseTemplate::new(404),
        }
    }
}

fn main() {
    let n: u64 = arg("--notices")
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(MockServer::builder().disable_request_recording().start());
    let uri = server.uri();
    // The data, generated before the clock starts.
    let mut rng = corpus::Rng(0xc4a7_1e55_0000_0001);
    let mut items = Vec::new();
    let mut files = HashMap::new();
    let mut doc_bytes = 0usize;
    let mut mix: HashMap<&str, usize> = HashMap::new();
    let pdf = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/extract/lo_ru_kk.pdf"),
    )
    .unwrap();
    // A backfill reads every lot's specification (1 to 3 a notice); the crawl bench one a
    // notice. The paths of the generator's nurbot orders, to see when the backfill reads them.
    let backfill = std::env::args().any(|a| a == "--backfill");
    let mut nurbot_paths = std::collections::HashSet::new();
    for i in 0..n {
        let (rec, texts) = corpus::notice(&mut rng, i, 0.03);
        let id: i64 = rec.external_id.parse().unwrap();
        let lots_n = if backfill { rec.lots.len() } else { 1 };
        let mut lots = Vec::new();
        for (l, (lot, (url, text))) in rec.lots.iter().zip(&texts).take(lots_n).enumerate() {
            let file_path = url.replace("https://v3bl.goszakup.gov.kz", "");
            if corpus::NURBOT.iter().any(|line| text.contains(line)) {
                nurbot_paths.insert(file_path.clone());
            }
            // Eight in ten assignments are DOCX, one a PDF (a LibreOffice export in
            // Russian and Kazakh), one plain text.
            let (bytes, ext) = match (i + l as u64) % 10 {
                3 => (pdf.clone(), "pdf"),
                7 => (text.as_bytes().to_vec(), "txt"),
                _ => (docx(text), "docx"),
            };
            *mix.entry(ext).or_insert(0usize) += 1;
            doc_bytes += bytes.len();
            files.insert(file_path.clone(), bytes);
            let file_id = id * 10 + l as i64;
            lots.push(json!({
                "id": lot.external_id.parse::<i64>().unwrap(), "lotNumber": lot.number,
                "nameRu": lot.title, "descriptionRu": lot.description, "amount": lot.amount,
                "count": 1, "refLotStatusId": 240, "lastUpdateDate": "2026-11-20 10:00:00",
                "Files": [{"id": file_id, "nameRu": "Техническая спецификация",
                           "originalName": format!("techspec_{file_id}.{ext}"),
                           "filePath": format!("{uri}{file_path}"), "objectId": file_id}]
            }));
        }
        let lot = &rec.lots[0];
        items.push(json!({
            "id": id, "numberAnno": rec.number, "nameRu": rec.title, "nameKz": null,
            "totalSum": lot.amount, "countLots": lots.len(), "refTradeMethodsId": 3,
            "refSubjectTypeId": rec.subject_type.as_deref().unwrap_or("3"),
            "customerBin": rec.agency.as_ref().map(|a| a.id.clone()),
            "customerNameRu": rec.agency.as_ref().and_then(|a| a.name_ru.clone()),
            "orgBin": null, "orgNameRu": null, "refBuyStatusId": 220,
            "startDate": "2026-11-20 10:00:00", "endDate": "2026-11-30 18:00:00",
            "publishDate": "2026-11-20 10:00:00", "itogiDatePublic": null,
            "Files": [],
            "Lots": lots
        }));
    }
    let (listing, journal, downloads) = (
        Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        Arc::new(std::sync::atomic::AtomicUsize::new(0)),
    );
    let asked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    rt.block_on(async {
        Mock::given(method("POST"))
            .and(path("/v3/graphql"))
            .respond_with(Counted(Pages { items }, listing.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/v3/journal"))
            .respond_with(Counted(
                ResponseTemplate::new(200).set_body_raw(
                    r#"{"total": 0, "limit": 50, "next_page": "", "items": []}"#,
                    "application/json",
                ),
                journal.clone(),
            ))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path_regex("^/files/download_file/"))
            .respond_with(Counted(
                Files(Arc::new(files), asked.clone()),
                downloads.clone(),
            ))
            .mount(&server)
            .await;
    });
    let first_pass = !std::env::args().any(|a| a == "--no-first-pass");
    let rps = arg("--rps").unwrap_or_else(|| "1000.0".into());
    // `--evidence-store files` to compare with the file-per-payload layout.
    let ev_store = arg("--evidence-store").unwrap_or_else(|| "packs".into());
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[database]\npath = \"bench.db\"\n[crawl]\ncontact = \"bench\"\nmax_retries = 0\n\
         [[sources]]\nname = \"bench\"\nkind = \"goszakup\"\nurl = \"{uri}\"\ntoken_env = \"BENCH_GOSZAKUP_TOKEN\"\n\
         requests_per_second = {rps}\nlookback_days = 3\ncontracts = false\n[evidence]\nkeep_days = 0\nrecheck_days = 0\nstore = \"{ev_store}\"\n\
         [backfill]\nfirst_pass = {first_pass}\n"
    );
    let cfg = Config::parse(&toml, std::path::Path::new("bench.toml"), dir.path()).unwrap();
    // SAFETY: set before any other thread reads the environment.
    unsafe { std::env::set_var("BENCH_GOSZAKUP_TOKEN", "0123456789abcdef0123456789abcdef") };
    let rules = RuleSet::builtin().unwrap();
    let mut store = Store::open(&cfg.database.path).unwrap();
    let opts = RunOptions {
        send: false,
        ..Default::default()
    };
    if backfill {
        let opts = pipeline::backfill::BackfillOptions {
            since: chrono::NaiveDate::from_ymd_opt(2019, 1, 1).unwrap(),
            until: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            source: None,
            baseline: true,
            readers: Default::default(),
        };
        let stages = std::sync::Mutex::new(Vec::<(String, f64, usize)>::new());
        let t = Instant::now();
        let progress = |p: &pipeline::backfill::Progress| {
            let mut s = stages.lock().unwrap();
            if s.last().map(|l| l.0.as_str()) != Some(p.stage) {
                s.push((p.stage.to_string(), t.elapsed().as_secs_f64(), 0));
            }
            let n = listing.load(std::sync::atomic::Ordering::Relaxed)
                + journal.load(std::sync::atomic::Ordering::Relaxed);
            if let Some(l) = s.last_mut() {
                l.2 = n;
            }
        };
        let report = rt
            .block_on(pipeline::backfill::backfill(
                &cfg,
                &mut store,
                &rules,
                &opts,
                &StopFlag::default(),
                &progress,
            ))
            .unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert!(!report.failed(), "{:?}", report.sources);
        let tiers: Vec<(i64, i64, i64)> = {
            let mut stmt = store
                .conn()
                .prepare(
                    "SELECT b.tier, count(DISTINCT b.notice_id), count(d.id) FROM backfill_notices b
                     LEFT JOIN documents d ON d.notice_id = b.notice_id GROUP BY b.tier ORDER BY b.tier",
                )
                .unwrap();
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let metadata_secs = stages
            .lock()
            .unwrap()
            .iter()
            .find(|s| s.0 == "documents")
            .map_or(secs, |s| s.1);
        let load =
            |a: &Arc<std::sync::atomic::AtomicUsize>| a.load(std::sync::atomic::Ordering::Relaxed);
        println!("| stage | requests | time |");
        println!("| --- | --- | --- |");
        println!(
            "| metadata ({n} notices) | {} GraphQL pages + {} journal pages | {metadata_secs:.1} s |",
            load(&listing),
            load(&journal)
        );
        println!(
            "| documents | {} downloads | {:.1} s |",
            load(&downloads),
            secs - metadata_secs
        );
        println!("\n| tier | notices | documents |\n| --- | --- | --- |");
        for (tier, notices, docs) in tiers {
            println!("| {tier} | {notices} | {docs} |");
        }
        // When the documents stage reached the generator's nurbot orders.
        let asked = asked.lock().unwrap();
        let at: Vec<usize> = asked
            .iter()
            .enumerate()
            .filter(|(_, p)| nurbot_paths.contains(*p))
            .map(|(k, _)| k + 1)
            .collect();
        let share = |k: usize| 100.0 * k as f64 / asked.len().max(1) as f64;
        println!(
            "\nnurbot orders: {} documents; the first read at download {} ({:.1} %), the last at {} ({:.1} %) of {}",
            at.len(),
            at.first().copied().unwrap_or(0),
            share(at.first().copied().unwrap_or(0)),
            at.last().copied().unwrap_or(0),
            share(at.last().copied().unwrap_or(0)),
            asked.len()
        );
        return;
    }
    let before = mem::peak_mb();
    mem::reset_peak();
    let t = Instant::now();
    let report = rt
        .block_on(pipeline::run(
            &cfg,
            &mut store,
            &rules,
            &opts,
            &StopFlag::default(),
            "bench",
        ))
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let c = &report.counts;
    assert!(!report.failed(), "{:?}", report.sources);
    println!("| phase | figure | time | peak RSS |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| crawl + extract + store + scan | {} notices, {} documents ({:.1} MB; {} DOCX, {} PDF, {} text), {} matches: {:.0} notices/s | {secs:.1} s | {:.0} MB (server and data: {before:.0} MB before the run) |",
        c.notices_fetched,
        c.documents,
        doc_bytes as f64 / 1e6,
        mix.get("docx").unwrap_or(&0),
        mix.get("pdf").unwrap_or(&0),
        mix.get("txt").unwrap_or(&0),
        c.matches,
        c.notices_fetched as f64 / secs,
        mem::peak_mb()
    );
}
