//! The run cycle: crawl -> extract -> store -> match -> store -> alert.
//!
//! Short on purpose: it calls the other modules in order, keeps the run record, and
//! stops between pages or documents when asked to. It never holds the whole crawl in
//! memory: a page is stored (with its evidence and its cursor; the cursor only once all the
//! page's evidence is kept) before the next one is fetched, and work
//! left undone by a killed run (documents not fetched, notices not scanned) is picked up
//! by the next one from what the database says, not from memory.

use crate::config::{Config, SourceConfig, SourceKind, Watch, WatchOn};
use crate::evidence::{Evidence, EvidenceError, Kept};
use crate::extract;
use crate::fetch::{FetchError, FetchSettings, Fetcher};
use crate::model::NoticeRecord;
use crate::rules::{self, Context, RuleSet};
use crate::source::{self, SourceSpec};
use crate::stamp::sha256_hex;
use crate::store::{
    DocumentContent, NewEvidence, NewMatch, PendingDocument, ReadMarks, RunCounts, ScanInput,
    Store, StoreError, WatchTarget, Watched,
};
use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub mod backfill;

/// Errors that stop a run: the database is unusable. Everything else is recorded and
/// the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("alerts: {0}")]
    Alert(#[from] crate::alert::AlertError),
}

/// Set by SIGINT/SIGTERM: stop after the current page or document.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The run lock: an advisory lock on `<database>.lock`, freed by the OS when the
/// process dies, so a killed run never blocks the next one.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another tenderscan run holds the lock {0} (started by pid {1})")]
    Held(PathBuf, String),
    #[error("cannot open the lock file {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

impl RunLock {
    /// Take the lock beside the database, or fail at once if another process holds it.
    pub fn acquire(db: &Path) -> Result<RunLock, LockError> {
        Self::acquire_named(db, ".lock")
    }

    /// The backfill's own lock, `<database>.backfill.lock`: one backfill at a time, while
    /// runs take theirs (the backfill yields to them, see [`backfill`]).
    pub fn acquire_backfill(db: &Path) -> Result<RunLock, LockError> {
        Self::acquire_named(db, ".backfill.lock")
    }

    fn acquire_named(db: &Path, suffix: &str) -> Result<RunLock, LockError> {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let path = PathBuf::from(name);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| LockError::Io(path.clone(), e))?;
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| LockError::Io(path.clone(), e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                return Err(LockError::Held(path, holder.trim().to_string()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(LockError::Io(path, e)),
        }
        // Record who holds it (for the message a second run prints).
        let _ = file.set_len(0);
        let _ = std::io::Write::write_all(&mut &file, std::process::id().to_string().as_bytes());
        Ok(RunLock { _file: file, path })
    }
}

/// What a run is asked to do.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Only this source.
    pub source: Option<String>,
    /// Crawl from this date instead of the saved cursor.
    pub since: Option<chrono::NaiveDate>,
    /// Stop a source after this many notices.
    pub limit: Option<usize>,
    /// Record matches without mailing them (`run --baseline`).
    pub baseline: bool,
    /// Send alerts at the end (`run`), or leave them queued (`crawl`).
    pub send: bool,
    /// Where documents are read: worker processes (what the binary sets up from
    /// `[crawl] reader_processes`, see [`readers`]) or, by default, this process.
    pub readers: extract::Readers,
    /// The time recipients' digest `schedule`s are checked against (`None`: the system
    /// clock; the daemon and `run` pass their [`crate::clock::Clock`]'s time).
    pub now: Option<chrono::DateTime<chrono::Utc>>,
    /// Threads the rules run on in a scan (`scan --threads`); `None`: `[scan] threads`.
    pub threads: Option<usize>,
}

/// One source's part of a run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SourceReport {
    pub name: String,
    pub counts: RunCounts,
    pub error: Option<String>,
    /// Why the source was skipped without failing the run ("no token").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// What a run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunReport {
    pub run_id: i64,
    pub counts: RunCounts,
    pub sources: Vec<SourceReport>,
    pub mail_error: Option<String>,
    /// Mail that needs a look but did not fail: `unconfirmed` digests waiting for their
    /// automatic resend (logged at warn level; the run stays `ok`).
    pub mail_warning: Option<String>,
    /// The watch file could not be read or checked (file:line: why): the run went on with
    /// the config's watches only.
    pub watch_error: Option<String>,
    pub interrupted: bool,
}

impl RunReport {
    /// Did any source or the mail fail?
    pub fn failed(&self) -> bool {
        self.mail_error.is_some()
            || self.watch_error.is_some()
            || self.sources.iter().any(|s| s.error.is_some())
    }

    fn status(&self) -> crate::states::RunStatus {
        use crate::states::RunStatus;
        if self.interrupted {
            RunStatus::Interrupted
        } else if self.failed() {
            RunStatus::Partial
        } else {
            RunStatus::Ok
        }
    }
}

/// The rule texts alert digests show.
pub fn rule_texts(rules: &RuleSet) -> std::collections::HashMap<String, crate::alert::RuleText> {
    rules
        .rules()
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                crate::alert::RuleText {
                    title: r.title.clone(),
                    why: r.why.clone(),
                    translations: r.translations.clone(),
                },
            )
        })
        .collect()
}

/// The reader processes the config asks for, started from `exe` (this binary): `[crawl]
/// reader_processes` workers of `reader_memory_mib` each, or reading in this process when 0.
pub fn readers(cfg: &Config, exe: Option<std::path::PathBuf>) -> extract::Readers {
    match exe {
        Some(exe) if cfg.crawl.reader_processes > 0 => extract::Readers::isolated(
            exe,
            cfg.crawl.reader_processes,
            extract::ProcessLimits {
                memory_bytes: cfg.crawl.reader_memory_mib.saturating_mul(1 << 20),
            },
        ),
        _ => extract::Readers::in_process(),
    }
}

/// The extraction limits the config sets.
pub fn extract_limits(cfg: &Config) -> extract::Limits {
    extract::Limits {
        max_input_bytes: usize::try_from(cfg.crawl.max_document_bytes).unwrap_or(usize::MAX),
        time_budget: Duration::from_secs(cfg.crawl.extract_timeout_secs),
        ocr: extract::OcrLimits {
            languages: cfg.crawl.ocr_languages.clone(),
            max_pages: cfg.crawl.ocr_max_pages,
            time_budget: Duration::from_secs(cfg.crawl.ocr_timeout_secs),
            max_text_bytes: usize::try_from(cfg.crawl.ocr_max_text_bytes).unwrap_or(usize::MAX),
        },
        ..extract::Limits::default()
    }
}

/// Crawl the enabled sources (or one), fetch and read their documents, scan, and
/// (with `opts.send`) mail the alerts. The caller holds the [`RunLock`].
pub async fn run(
    cfg: &Config,
    store: &mut Store,
    rules: &RuleSet,
    opts: &RunOptions,
    stop: &StopFlag,
    command: &str,
) -> Result<RunReport, PipelineError> {
    let run_id = store.start_run(command, rules.version())?;
    prepare(cfg, store)?;
    let mut report = RunReport {
        run_id,
        ..Default::default()
    };
    let (watch_list, watch_error) = load_watches(cfg);
    if let Some(e) = &watch_error {
        report.counts.errors += 1;
        report.watch_error = Some(e.clone());
    }
    let fts = watch_queries(&watch_list);
    let watches = watch_targets(cfg, &watch_list, &fts);
    let sources = chosen_sources(cfg, opts.source.as_deref());
    for sc in sources {
        if stop.is_set() {
            report.interrupted = true;
            break;
        }
        let mut sr = SourceReport {
            name: sc.name.clone(),
            ..Default::default()
        };
        let source_id = store.ensure_source(&sc.name, sc.kind.name(), &sc.url_written)?;
        let ctx = Run {
            cfg,
            rules,
            opts,
            stop,
            watches: &watches,
        };
        match crawl_source(ctx, store, sc, source_id, &mut sr.counts).await {
            Ok(()) => {
                store.source_succeeded(source_id)?;
            }
            Err(CrawlFailure::Store(e)) => return Err(e.into()),
            Err(CrawlFailure::Source(msg)) => {
                tracing::error!(source = %sc.name, "{msg}");
                let n = store.source_failed(source_id, &msg)?;
                tracing::debug!(source = %sc.name, failures_in_a_row = n);
                sr.counts.errors += 1;
                sr.error = Some(msg);
            }
            Err(CrawlFailure::Skipped(msg)) => {
                tracing::info!(source = %sc.name, "{msg}");
                sr.skipped = Some("no token".into());
            }
        }
        report.counts.add(&sr.counts);
        report.sources.push(sr);
    }
    if stop.is_set() {
        report.interrupted = true;
    }
    // Anything a killed run left unscanned, or that a rule change made stale.
    if !report.interrupted {
        let mut counts = RunCounts::default();
        let ctx = Run {
            cfg,
            rules,
            opts,
            stop,
            watches: &watches,
        };
        scan(ctx, store, false, &mut counts)?;
        report.counts.add(&counts);
    }
    if opts.send && !report.interrupted {
        let texts = rule_texts(rules);
        let send = crate::alert::SendOptions {
            dry_run: false,
            now: opts.now,
        };
        match crate::alert::send_pending(store, cfg, &texts, &send).await {
            Ok(sent) => {
                report.counts.alerts_sent += sent.alerts_sent as i64;
                if !sent.failed.is_empty() {
                    report.mail_error = Some(sent.failed.join("; "));
                }
                // Already logged one by one; kept in the run's summary.
                if !sent.warnings.is_empty() {
                    report.mail_warning = Some(sent.warnings.join("; "));
                }
            }
            Err(e) => report.mail_error = Some(e.to_string()),
        }
        match crate::alert::operator_check(store, cfg).await {
            Ok(_) => {}
            Err(e @ crate::alert::AlertError::Undelivered { .. }) => {
                let e = e.to_string();
                report.mail_error = Some(match report.mail_error.take() {
                    Some(m) => format!("{m}; {e}"),
                    None => e,
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(e) = &report.mail_error {
        tracing::error!("mail: {e}");
        report.counts.errors += 1;
    }
    if !report.interrupted {
        match Evidence::beside(store.path()).prune(store, cfg.evidence.keep_days) {
            Ok(p) if p.rows > 0 => tracing::info!(
                rows = p.rows,
                files = p.files,
                bytes = p.bytes,
                packed_kept = p.packed_kept,
                "evidence of unflagged notices older than [evidence] keep_days removed"
            ),
            Ok(_) => {}
            Err(EvidenceError::Store(e)) => return Err(e.into()),
            Err(e) => {
                tracing::error!("evidence retention: {e}");
                report.counts.errors += 1;
            }
        }
    }
    let summary = serde_json::json!({
        "sources": report.sources,
        "mail_error": report.mail_error,
        "mail_warning": report.mail_warning,
        "watch_error": report.watch_error,
        "baseline": opts.baseline,
    });
    store.finish_run(run_id, report.status(), &report.counts, &summary)?;
    Ok(report)
}

/// Before a run or a backfill: the config's currency rates stored, and the evidence folder
/// ready (a deleted one is created again, with a warning; one that cannot be made fails
/// every page that has something to keep, loudly, further on).
fn prepare(cfg: &Config, store: &mut Store) -> Result<(), StoreError> {
    store.set_currency_rates(cfg.currency.base.as_deref(), &cfg.currency.rates)?;
    match Evidence::beside(store.path()).prepare(store) {
        Ok(Some(warning)) => tracing::warn!("{warning}"),
        Ok(None) => {}
        Err(EvidenceError::Store(e)) => return Err(e),
        Err(e) => tracing::error!("evidence folder unusable, nothing can be kept: {e}"),
    }
    Ok(())
}

/// The sources a run or backfill works on: the one named (even if disabled), else the
/// enabled ones.
fn chosen_sources<'a>(cfg: &'a Config, name: Option<&str>) -> Vec<&'a SourceConfig> {
    cfg.sources
        .iter()
        .filter(|s| match name {
            Some(name) => s.name == name,
            None => s.enabled,
        })
        .collect()
}

/// A progress event for a terminal's progress bar (the CLI draws it; logs skip it).
fn progress(what: &str, c: &RunCounts) {
    tracing::info!(
        target: PROGRESS_TARGET,
        what,
        notices = c.notices_fetched,
        documents = c.documents,
        matches = c.matches
    );
}

/// The tracing target of progress events.
pub const PROGRESS_TARGET: &str = "tenderscan::progress";

enum CrawlFailure {
    Store(StoreError),
    Source(String),
    /// Not crawled, and no failure: a source without its token that is not `required`.
    Skipped(String),
}

impl From<StoreError> for CrawlFailure {
    fn from(e: StoreError) -> Self {
        CrawlFailure::Store(e)
    }
}

fn fetch_settings(cfg: &Config, sc: &SourceConfig, hosts: Vec<String>) -> FetchSettings {
    let backoff_base = seconds(cfg.crawl.backoff_secs);
    let defaults = FetchSettings::default();
    FetchSettings {
        user_agent: sc.user_agent.clone().unwrap_or_else(|| {
            format!(
                "tenderscan/{} (+{})",
                env!("CARGO_PKG_VERSION"),
                cfg.crawl.contact
            )
        }),
        requests_per_second: sc.requests_per_second,
        timeout: Duration::from_secs(cfg.crawl.timeout_secs),
        max_body_bytes: cfg.crawl.max_document_bytes,
        allowed_hosts: hosts,
        ca_file: sc.ca_file.clone(),
        max_retries: cfg.crawl.max_retries,
        // A first back-off above the usual cap raises the cap, so the config means what it says.
        max_backoff: defaults
            .max_backoff
            .max(backoff_base)
            .min(Duration::from_secs(86_400)),
        backoff_base,
        refused_backoff: seconds(cfg.crawl.refused_backoff_secs),
        ..defaults
    }
}

/// Seconds from the config as a `Duration`, never panicking: NaN and negative values are
/// zero, values past `Duration::MAX` are `Duration::MAX` (the config's ranges keep both out).
pub fn seconds(secs: f64) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
    }
}

/// The HTTP client of one source: limited to its hosts, at its pace (public pages at their
/// robots.txt Crawl-delay when slower).
async fn source_fetcher(
    cfg: &Config,
    sc: &SourceConfig,
    spec: &SourceSpec,
) -> Result<Fetcher, CrawlFailure> {
    let mut settings = fetch_settings(cfg, sc, spec.allowed_hosts.clone());
    let mut fetcher = Fetcher::new(settings.clone())
        .map_err(|e| CrawlFailure::Source(format!("source {}: {e}", sc.name)))?;
    // public pages honour the site's robots.txt Crawl-delay when it is slower than the config
    if matches!(sc.kind, SourceKind::GoszakupHtml(_) | SourceKind::Html(_))
        && let Ok(robots_url) = sc.url.join("/robots.txt")
    {
        // asked once, without retries: a failing robots.txt must not hold the crawl up
        let once = Fetcher::new(FetchSettings {
            max_retries: 0,
            ..settings.clone()
        })
        .map_err(|e| CrawlFailure::Source(format!("source {}: {e}", sc.name)))?;
        match once.get(&robots_url, &[]).await {
            Ok(resp) if resp.status == 200 => {
                let text = String::from_utf8_lossy(&resp.body);
                let delay = source::util::crawl_delay(&text, &settings.user_agent);
                let rate = source::util::rate_with_crawl_delay(settings.requests_per_second, delay);
                if rate != settings.requests_per_second {
                    tracing::info!(source = %sc.name, crawl_delay = ?delay, requests_per_second = rate, "robots.txt asks for a slower pace; following it");
                    settings.requests_per_second = rate;
                    fetcher = Fetcher::new(settings)
                        .map_err(|e| CrawlFailure::Source(format!("source {}: {e}", sc.name)))?;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(source = %sc.name, error = %e, "no robots.txt"),
        }
    }
    Ok(fetcher)
}

/// One source's part of a run: crawl its pages, keep and store them, fetch and read their
/// documents, re-check flagged notices, scan.
async fn crawl_source(
    ctx: Run<'_>,
    store: &mut Store,
    sc: &SourceConfig,
    source_id: i64,
    counts: &mut RunCounts,
) -> Result<(), CrawlFailure> {
    let Run {
        cfg, opts, stop, ..
    } = ctx;
    let spec = SourceSpec::new(sc, opts.since);
    let fetcher = source_fetcher(cfg, sc, &spec).await?;
    let cursor = if opts.since.is_some() {
        None
    } else {
        store.cursor(source_id)?
    };
    let mut src = source::open(&spec, cursor.as_deref()).map_err(|e| match e {
        source::SourceError::MissingToken { .. } => {
            let var = sc.token_env.as_deref().unwrap_or("(token_env)");
            if sc.required {
                CrawlFailure::Source(format!(
                    "source {}: the token variable {var} is not set (the source is required)",
                    sc.name
                ))
            } else {
                CrawlFailure::Skipped(format!(
                    "source {}: skipped (no token): the variable {var} is not set",
                    sc.name
                ))
            }
        }
        // A SourceError names its source itself.
        e => CrawlFailure::Source(e.to_string()),
    })?;
    let mut sr = SourceRun {
        run: ctx,
        fetcher,
        source_id,
        docs: DocReader {
            readers: opts.readers.clone(),
            limits: extract_limits(cfg),
            marks: Arc::new(store.read_marks()?),
            tried: HashSet::new(),
        },
    };
    let crawl_started = crate::stamp::now();
    let mut seen = 0usize;
    let mut failure = None;
    // What could not be kept. Once a page's payloads are not, the cursor stays before that
    // page (the next run fetches it again and keeps it); later pages are still stored and read.
    let mut unkept = Unkept::default();
    loop {
        if stop.is_set() {
            break;
        }
        let page = match src.next_page(&sr.fetcher).await {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        };
        let mut records = page.records;
        if let Some(limit) = opts.limit {
            records.truncate(limit.saturating_sub(seen));
        }
        seen += records.len();
        counts.notices_fetched += records.len() as i64;
        progress(&sc.name, counts);
        // The cursor moves only when the whole page was taken, its evidence included, and
        // no earlier page's evidence is missing.
        let cursor = if opts.limit.is_some_and(|l| seen >= l) || unkept.page.is_some() {
            None
        } else {
            page.cursor.as_deref()
        };
        let problem = take_records(&mut sr, store, &records, cursor, counts).await?;
        unkept.add(problem);
        if page.done || opts.limit.is_some_and(|l| seen >= l) {
            break;
        }
    }
    if failure.is_none() {
        let problem = recheck(&mut sr, store, src.as_mut(), &crawl_started, counts).await?;
        unkept.add(problem);
    }
    // Documents a killed or failed run left unfetched (or whose bytes were not kept).
    let left = store.notices_with_pending_documents(source_id)?;
    if !stop.is_set() && !left.is_empty() {
        let problem = fetch_documents(&mut sr, store, &left, counts).await?;
        unkept.add(Unkept {
            page: None,
            documents: problem,
        });
    }
    let mut problems: Vec<String> = failure.into_iter().collect();
    if let Some(e) = unkept.page {
        problems.push(format!(
            "source {}: evidence not kept: {e}; the page's notices are stored and scanned, but the cursor stays before the page, so the next run fetches it again and keeps it",
            sc.name
        ));
    }
    if let Some(e) = unkept.documents {
        problems.push(format!(
            "source {}: evidence not kept: {e}; the document was read and scanned and stays pending, so the next run fetches it again and keeps it",
            sc.name
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CrawlFailure::Source(problems.join("; ")))
    }
}

/// What could not be kept as evidence while taking records (the first of each kind, for
/// the source's error): the page's own payloads (its cursor must not be passed), and
/// attachments (left pending).
#[derive(Debug, Default)]
struct Unkept {
    page: Option<String>,
    documents: Option<String>,
}

impl Unkept {
    fn add(&mut self, other: Unkept) {
        self.page = self.page.take().or(other.page);
        self.documents = self.documents.take().or(other.documents);
    }
}

/// The first of `errors`, and how many more there were.
fn first_of(errors: &[String]) -> Option<String> {
    let first = errors.first()?;
    Some(match errors.len() {
        1 => first.clone(),
        n => format!("{first} (and {} more)", n - 1),
    })
}

/// Keep the records' payloads as evidence (durably), store the records with the rows of
/// what was kept (and, when given and everything was kept, the cursor after them) in one
/// transaction, then fetch the documents of new and changed notices and scan them.
/// Returns what could not be kept, if anything: the caller fails the source with it.
async fn take_records(
    sr: &mut SourceRun<'_>,
    store: &mut Store,
    records: &[NoticeRecord],
    cursor: Option<&str>,
    counts: &mut RunCounts,
) -> Result<Unkept, StoreError> {
    let (ctx, source_id) = (sr.run, sr.source_id);
    let kept = Evidence::beside(store.path())
        .with_store(sr.run.cfg.evidence.store)
        .keep_page(records);
    let cursor = cursor.filter(|_| kept.errors.is_empty());
    let stored = store.store_page_kept(source_id, records, &kept.records, cursor)?;
    counts.notices_new += stored.new as i64;
    counts.notices_changed += stored.changed as i64;
    counts.errors += kept.errors.len() as i64;
    let problem = Unkept {
        page: first_of(&kept.errors),
        documents: fetch_documents(sr, store, &stored.touched, counts).await?,
    };
    if !ctx.stop.is_set() {
        store.batch(|store| {
            for &notice_id in &stored.touched {
                scan_notice(ctx, store, notice_id, counts)?;
            }
            Ok(())
        })?;
    }
    Ok(problem)
}

/// Flagged notices the crawl has not met for `[evidence] recheck_days` are asked for by
/// id: found, they are stored like any record (and so their changes are seen); not
/// found, they are marked gone and their recipients are told. Flagged notices whose payload
/// could not be kept and that this crawl did not meet are asked for too, until it is.
/// Returns what could not be kept as evidence, if anything (that notice is asked for again
/// next run).
async fn recheck(
    sr: &mut SourceRun<'_>,
    store: &mut Store,
    src: &mut dyn source::Source,
    crawl_started: &str,
    counts: &mut RunCounts,
) -> Result<Unkept, StoreError> {
    let Run { cfg, stop, .. } = sr.run;
    let source_id = sr.source_id;
    let mut unkept = Unkept::default();
    let days = cfg.evidence.recheck_days;
    if days == 0 {
        return Ok(unkept);
    }
    // Checked: a number of days past chrono's calendar means no notice is due.
    let Some(before) = chrono::Duration::try_days(i64::from(days))
        .and_then(|d| chrono::Utc::now().checked_sub_signed(d))
        .map(crate::store::format_time)
    else {
        return Ok(unkept);
    };
    for (notice_id, external_id) in
        store.notices_to_recheck(source_id, &before, crawl_started, RECHECKS_PER_RUN)?
    {
        if stop.is_set() {
            break;
        }
        match src.recheck(&sr.fetcher, &external_id).await {
            Ok(source::Recheck::Found(rec)) => {
                let recs = [*rec];
                let problem = take_records(sr, store, &recs, None, counts).await?;
                // Not kept: asked for again next run.
                if problem.page.is_none() {
                    store.mark_rechecked(notice_id)?;
                }
                unkept.add(problem);
            }
            Ok(source::Recheck::Gone) => {
                store.mark_rechecked(notice_id)?;
                let how = format!(
                    "asked the portal for announcement {external_id} by id on {}: not found",
                    crate::stamp::now()
                );
                if store.mark_gone(notice_id, &how)? {
                    tracing::warn!(notice = %external_id, "a flagged notice disappeared from the portal");
                }
            }
            // This notice cannot be asked for (a kind without re-checks, or one of its
            // records that has none, as goszakup's direct contracts): the others still are.
            Ok(source::Recheck::Unsupported) => continue,
            Err(e) => {
                // Likely the portal as a whole: try again next run.
                tracing::warn!(notice = %external_id, "re-check failed: {e}");
                counts.errors += 1;
                break;
            }
        }
    }
    Ok(unkept)
}

/// Flagged notices asked for by id per source and run, at most.
const RECHECKS_PER_RUN: usize = 50;

/// Fetch, keep and read the pending documents of `notice_ids` (each at most once per run).
/// Returns what could not be kept as evidence, if anything.
/// Which of a notice's pending documents `fetch_documents` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocPass {
    /// All of them (a run).
    All,
    /// Only its first (specifications first), and none of a notice that already has a
    /// document read: a backfill's first pass over its candidates.
    First,
    /// All of them, its documents already read counting towards
    /// `max_documents_per_notice`: a backfill's pass after its first.
    Rest,
}

async fn fetch_documents(
    sr: &mut SourceRun<'_>,
    store: &mut Store,
    notice_ids: &[i64],
    counts: &mut RunCounts,
) -> Result<Option<String>, StoreError> {
    fetch_documents_of(sr, store, notice_ids, DocPass::All, counts).await
}

async fn fetch_documents_of(
    sr: &mut SourceRun<'_>,
    store: &mut Store,
    notice_ids: &[i64],
    pass: DocPass,
    counts: &mut RunCounts,
) -> Result<Option<String>, StoreError> {
    let Run { cfg, stop, .. } = sr.run;
    let fetcher = &sr.fetcher;
    let docs = &mut sr.docs;
    use futures_util::StreamExt;
    let evidence = Evidence::beside(store.path()).with_store(cfg.evidence.store);
    // What to download: specifications first, at most max_documents_per_notice a notice,
    // none that another notice already brought (same URL).
    let mut todo = Vec::new();
    for &notice_id in notice_ids {
        let read = match pass {
            DocPass::All => 0,
            DocPass::First | DocPass::Rest => store.documents_read(notice_id)?,
        };
        if pass == DocPass::First && read > 0 {
            continue;
        }
        let pending = store.pending_documents(notice_id)?;
        let take = if pass == DocPass::First {
            1
        } else {
            pending.len()
        };
        for (i, doc) in pending.into_iter().take(take).enumerate() {
            let i = i + read;
            if docs.tried.contains(&doc.id) {
                // Tried earlier in this run (and left pending to retry): once per run.
                continue;
            }
            if let Some(stale) = doc.stale_read
                && (stale.in_process || stale.attempts >= MAX_READ_ATTEMPTS)
            {
                let error = if stale.in_process {
                    "reading it crashed tenderscan: a run died while reading this document \
                     in its own process; it is not read again"
                        .to_string()
                } else {
                    format!(
                        "reading it crashed tenderscan: {} runs died while reading this \
                         document; it is not read again",
                        stale.attempts
                    )
                };
                tracing::error!(url = %doc.url, "{error}");
                counts.errors += 1;
                store.save_document(
                    doc.id,
                    &DocumentContent {
                        error: Some(format!("{}: {error}", doc.url)),
                        ..Default::default()
                    },
                )?;
                continue;
            }
            if i >= cfg.crawl.max_documents_per_notice {
                store.save_document(
                    doc.id,
                    &DocumentContent {
                        notes: Some(format!(
                            "not fetched: over [crawl] max_documents_per_notice = {}",
                            cfg.crawl.max_documents_per_notice
                        )),
                        ..Default::default()
                    },
                )?;
            } else if store.reuse_document(&doc)? && store.copy_document_evidence(doc.id)? {
                // Copied, with the evidence row of the bytes it was read from. (Without
                // one, retention took it: the document is fetched itself.)
            } else {
                todo.push(doc);
            }
        }
    }
    docs.tried.extend(todo.iter().map(|d| d.id));
    // Downloads, evidence writes and extraction overlap (the fetcher still holds each
    // host to its rate); results are stored one by one, as they come.
    // Twice the requests in flight: while some wait on the network, others write their
    // evidence (an fsync) or are being read.
    let concurrency = fetcher.settings().max_in_flight.max(1) * 2;
    let mut results = futures_util::stream::iter(todo)
        .map(|doc| {
            let evidence = &evidence;
            let docs = &*docs;
            async move {
                let content = fetch_document(fetcher, docs, evidence, &doc, stop).await;
                (doc, content)
            }
        })
        .buffer_unordered(concurrency);
    let mut done = Vec::new();
    while let Some(r) = results.next().await {
        done.push(r);
        if stop.is_set() {
            break;
        }
    }
    drop(results);
    // The attachments' evidence files are on disk before any row names them; then the
    // page's documents are stored in one transaction.
    let synced = evidence.sync();
    let mut unkept = Vec::new();
    store.batch(|store| {
        for (doc, content) in done {
            match content {
                Ok(None) => {
                    // Stopped while being read: pending, the next run reads it.
                    tracing::info!(url = %doc.url, "reading stopped; the next run reads it");
                }
                Ok(Some((c, kept))) => {
                    if c.error.is_some() {
                        counts.errors += 1;
                    }
                    counts.documents += 1;
                    store.save_document(doc.id, &c)?;
                    let lost = match (kept, &synced) {
                        (Ok(row), Ok(())) => {
                            store.record_evidence(&row)?;
                            None
                        }
                        (Err(e), _) => Some(e.to_string()),
                        (Ok(_), Err(e)) => Some(format!("not made durable: {e}")),
                    };
                    // Its text is read and scanned (alerts are not held back), but it stays
                    // pending and marked until a later run keeps its bytes.
                    if let Some(e) = lost {
                        let msg = format!("attachment {} not kept: {e}", doc.url);
                        tracing::error!(document = doc.id, "{msg}");
                        counts.errors += 1;
                        store.document_evidence_missing(doc.id)?;
                        unkept.push(msg);
                    }
                }
                Err(e) if e.is_transient() => {
                    // Left pending: the next run tries again.
                    tracing::warn!(url = %doc.url, "document not fetched, will retry: {e}");
                    counts.errors += 1;
                }
                Err(e) => {
                    tracing::warn!(url = %doc.url, "document not fetched: {e}");
                    counts.errors += 1;
                    store.save_document(
                        doc.id,
                        &DocumentContent {
                            error: Some(e.to_string()),
                            ..Default::default()
                        },
                    )?;
                }
            }
        }
        Ok(())
    })?;
    progress("documents", counts);
    Ok(first_of(&unkept))
}

/// What every step of a run reads: the config, the rules, what was asked, the stop flag,
/// and the watches (see [`load_watches`]).
#[derive(Clone, Copy)]
pub struct Run<'a> {
    pub cfg: &'a Config,
    pub rules: &'a RuleSet,
    pub opts: &'a RunOptions,
    pub stop: &'a StopFlag,
    pub watches: &'a [WatchTarget<'a>],
}

/// The watches of a run: the config's and the watch file's. A watch file that cannot be
/// read or checked is logged as an error (naming its file and line) and the run goes on
/// with the config's watches: the error is returned for the run's record.
pub fn load_watches(cfg: &Config) -> (Vec<Watch>, Option<String>) {
    match crate::config::watch::load_all(cfg) {
        Ok(w) => (w, None),
        Err(e) => {
            let msg = format!("{e}; this run uses the watches of the config only");
            tracing::error!("watch file: {msg}");
            (cfg.watches.clone(), Some(msg))
        }
    }
}

/// The FTS5 query of each watch (empty for those that are not full-text).
pub fn watch_queries(watches: &[Watch]) -> Vec<String> {
    watches
        .iter()
        .map(|w| match &w.on {
            WatchOn::Query(q) => crate::report::fts_query(q),
            _ => String::new(),
        })
        .collect()
}

/// The watches as the store looks for them (`fts` from [`watch_queries`]), each with its
/// recipients' outbox names. A full-text watch without words to search is left out.
pub fn watch_targets<'a>(
    cfg: &Config,
    watches: &'a [Watch],
    fts: &'a [String],
) -> Vec<WatchTarget<'a>> {
    watches
        .iter()
        .zip(fts)
        .filter_map(|(w, q)| {
            let on = match &w.on {
                WatchOn::AgencyBin(b) => Watched::AgencyBin(b),
                WatchOn::SupplierBin(b) => Watched::SupplierBin(b),
                WatchOn::Region(r) => Watched::Region(r),
                WatchOn::Code(c) => Watched::CodePrefix(c),
                WatchOn::Query(_) if q.is_empty() => return None,
                WatchOn::Query(_) => Watched::Fts(q),
            };
            Some(WatchTarget {
                name: &w.name,
                on,
                recipients: w.recipient_keys(cfg),
            })
        })
        .collect()
}

/// One source's part of a run: the run, the source's client (limited to its hosts) and row,
/// and how its documents are read.
struct SourceRun<'a> {
    run: Run<'a>,
    fetcher: Fetcher,
    source_id: i64,
    docs: DocReader,
}

/// What reading one source's documents needs through a run.
struct DocReader {
    readers: extract::Readers,
    limits: extract::Limits,
    /// Marks on documents being read (poison quarantine).
    marks: Arc<ReadMarks>,
    /// Documents this run tried already: each is fetched at most once per run.
    tried: HashSet<i64>,
}

/// Runs that may die while a worker process reads a document before it is failed for good
/// (a worker cannot take tenderscan down, so a death then is more likely a kill from
/// outside; read in tenderscan's own process, one death is enough).
const MAX_READ_ATTEMPTS: i64 = 3;

/// What fetching and reading one document gave: its content and evidence, or `None` when the
/// run was asked to stop while it was being read (it stays pending).
type Fetched = Option<(DocumentContent, Result<NewEvidence, EvidenceError>)>;

/// Download one attachment, keep its bytes as evidence, and read it (in a worker process when
/// the readers are isolated), marked as being read while it is.
async fn fetch_document(
    fetcher: &Fetcher,
    docs: &DocReader,
    evidence: &Evidence,
    doc: &PendingDocument,
    stop: &StopFlag,
) -> Result<Fetched, FetchError> {
    let url =
        url::Url::parse(&doc.url).map_err(|e| FetchError::Config(format!("{}: {e}", doc.url)))?;
    let resp = fetcher.get(&url, &[]).await?;
    let bytes = resp.body;
    let (ev, b) = (evidence.clone(), bytes.clone());
    let kept = match tokio::task::spawn_blocking(move || ev.put_unsynced(&b)).await {
        Ok(k) => k,
        Err(e) => Err(EvidenceError::Io {
            path: evidence.dir().to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        }),
    };
    let kept = kept.map(|k: Kept| NewEvidence {
        notice_id: doc.notice_id,
        document_id: Some(doc.id),
        kind: "document",
        url: doc.url.clone(),
        http_status: Some(resp.status),
        media_type: resp.content_type.clone(),
        sha256: k.sha256,
        size: k.size,
        stored_size: k.stored_size,
        fetched_at: crate::stamp::format_time(resp.fetched_at),
        fetched_url: Some(resp.url.to_string()),
    });
    let name = doc.file_name.clone();
    let media = resp.content_type.clone().or_else(|| doc.media_type.clone());
    let limits = docs.limits.clone();
    let sha = sha256_hex(&bytes);
    let size = bytes.len() as i64;
    let media2 = media.clone();
    let (readers, marks, stop, id) = (
        docs.readers.clone(),
        docs.marks.clone(),
        stop.clone(),
        doc.id,
    );
    let result = tokio::task::spawn_blocking(move || {
        if let Err(e) = marks.begin(id, !readers.is_isolated()) {
            tracing::warn!("document {id}: cannot mark it as being read: {e}");
        }
        let r = readers.read(&bytes, name.as_deref(), media2.as_deref(), &limits, &|| {
            stop.is_set()
        });
        let cleared = if matches!(r, Err(extract::ExtractError::Interrupted)) {
            marks.abandon(id)
        } else {
            marks.end(id)
        };
        if let Err(e) = cleared {
            tracing::warn!("document {id}: cannot clear its read mark: {e}");
        }
        r
    })
    .await;
    let mut content = DocumentContent {
        media_type: media,
        sha256: Some(sha),
        size: Some(size),
        ..Default::default()
    };
    match result {
        Ok(Ok(x)) => crate::scans::fill(&mut content, x),
        Ok(Err(extract::ExtractError::Interrupted)) => return Ok(None),
        Ok(Err(e)) => content.error = Some(format!("{}: {e}", doc.url)),
        Err(e) => content.error = Some(format!("{}: extraction stopped: {e}", doc.url)),
    }
    Ok(Some((content, kept)))
}

/// Run the rules over one stored notice and record what they found.
fn scan_notice(
    ctx: Run<'_>,
    store: &mut Store,
    notice_id: i64,
    counts: &mut RunCounts,
) -> Result<(), StoreError> {
    let Some(input) = store.scan_input(notice_id)? else {
        return Ok(());
    };
    let found = read_notice(ctx.rules, &input);
    record_notice(ctx, store, &input, &found, counts)
}

/// Record what the rules found in one notice (and what its watches say).
fn record_notice(
    ctx: Run<'_>,
    store: &mut Store,
    input: &ScanInput,
    found: &[NewMatch],
    counts: &mut RunCounts,
) -> Result<(), StoreError> {
    let Run {
        cfg, rules, opts, ..
    } = ctx;
    let baseline = opts.baseline;
    let route =
        |r: crate::store::Routable<'_>| crate::alert::route(cfg, r.rule_id, r.severity, r.source);
    let out = store.record_scan(input, rules.version(), found, &route, baseline)?;
    counts.matches += out.new_matches as i64;
    // Even without watches: the version counts as looked at, so a watch added later does
    // not alert it when a re-scan comes.
    store.record_watches(input.notice_id, ctx.watches, baseline)?;
    Ok(())
}

/// The rules over a notice's texts: the best match per text and rule.
fn read_notice(rules: &RuleSet, input: &ScanInput) -> Vec<NewMatch> {
    let ctx = Context {
        amount: input.amount,
        currency: input.currency.clone(),
    };
    let mut found = Vec::new();
    for t in &input.targets {
        let findings = rules.find(&t.text, &ctx);
        let mut best: Vec<&rules::Match> = Vec::new();
        for m in &findings.matches {
            // per rule the most severe match (the second opinion may have lowered some), then
            // the tightest
            match best.iter_mut().find(|b| b.rule_id == m.rule_id) {
                Some(b) if (m.severity, m.score) > (b.severity, b.score) => *b = m,
                Some(_) => {}
                None => best.push(m),
            }
        }
        for m in best {
            let main = m.main_quota();
            let prov = main.map(|q| rules::provenance::of(&t.text, q, &m.quotas));
            found.push(NewMatch {
                target: t.target,
                lot_id: t.lot_id,
                document_id: t.document_id,
                rule_id: m.rule_id.clone(),
                severity: m.severity,
                score: m.score,
                evidence: m.evidence.clone(),
                evidence_start: m.evidence_start,
                start: m.start,
                end: m.end,
                quotas_json: serde_json::to_string(&m.quotas).unwrap_or_else(|_| "[]".into()),
                quota_kind: main.map(|q| q.kind),
                quota_count: main.map(|q| q.count.min(i64::MAX as u64) as i64),
                quota_period: main.and_then(|q| q.per),
                quota_source: prov.as_ref().map(|p| p.source),
                quota_label: prov.as_ref().map(|p| p.label.clone()),
                quota_sure: prov.as_ref().map(|p| p.sure),
                reasons_json: (!m.reasons.is_empty())
                    .then(|| serde_json::to_string(&m.reasons).unwrap_or_else(|_| "[]".into())),
            });
        }
    }
    found
}

/// Texts a scan holds in memory at once (at least one notice's, whatever its size).
const SCAN_TEXT_BYTES: usize = 32 << 20;

/// Scan stored notices the current rule set has not read (all of them with `all`).
pub fn scan(
    ctx: Run<'_>,
    store: &mut Store,
    all: bool,
    counts: &mut RunCounts,
) -> Result<usize, StoreError> {
    let Run {
        cfg,
        rules,
        stop,
        opts,
        ..
    } = ctx;
    let threads = crate::par::threads_or_cores(opts.threads.unwrap_or(cfg.scan.threads));
    let mut after = 0;
    let mut scanned = 0;
    loop {
        let ids = store.notices_to_scan(rules.version(), all, after, 200)?;
        let Some(&last) = ids.last() else { break };
        // One transaction per 200 notices: a crash loses at most that batch's scan, which
        // the next scan does again (the notices' scanned_version was not committed).
        store.batch(|store| {
            // Read from the database and written to it on this thread, in id order; only
            // the rules run on the work queue's threads. The texts are read in pieces of at
            // most SCAN_TEXT_BYTES (and one notice), so a batch of large documents does not
            // sit in memory at once.
            let mut result = Ok(());
            let mut k = 0;
            while k < ids.len() && result.is_ok() && !stop.is_set() {
                let (mut inputs, mut bytes) = (Vec::new(), 0usize);
                while k < ids.len() && (inputs.is_empty() || bytes < SCAN_TEXT_BYTES) {
                    let input = store.scan_input(ids[k])?;
                    bytes += input
                        .as_ref()
                        .map_or(0, |i| i.targets.iter().map(|t| t.text.len()).sum());
                    inputs.push(input);
                    k += 1;
                }
                crate::par::for_each_ordered(
                    threads,
                    &inputs,
                    |input| input.as_ref().map(|input| read_notice(rules, input)),
                    |i, found| {
                        if stop.is_set() {
                            return false;
                        }
                        let (Some(input), Some(found)) = (&inputs[i], found) else {
                            // gone since it was listed
                            scanned += 1;
                            return true;
                        };
                        match record_notice(ctx, store, input, &found, counts) {
                            Ok(()) => {
                                scanned += 1;
                                true
                            }
                            Err(e) => {
                                result = Err(e);
                                false
                            }
                        }
                    },
                );
            }
            result
        })?;
        if stop.is_set() {
            break;
        }
        after = last;
    }
    Ok(scanned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_from_the_config_never_panic() {
        assert_eq!(seconds(2.0), Duration::from_secs(2));
        assert_eq!(seconds(0.05), Duration::from_millis(50));
        assert_eq!(seconds(1e300), Duration::MAX);
        assert_eq!(seconds(f64::INFINITY), Duration::MAX);
        assert_eq!(seconds(f64::NAN), Duration::ZERO);
        assert_eq!(seconds(-1.0), Duration::ZERO);
    }

    #[test]
    fn a_long_first_back_off_raises_the_cap_up_to_a_day() {
        let mut cfg = Config::embedded_default(Path::new("/x"));
        let sc = cfg.sources[0].clone();
        let caps = |cfg: &Config| {
            let s = fetch_settings(cfg, &sc, Vec::new());
            (s.backoff_base, s.max_backoff)
        };
        assert_eq!(
            caps(&cfg),
            (Duration::from_secs(2), FetchSettings::default().max_backoff)
        );
        cfg.crawl.backoff_secs = 600.0;
        assert_eq!(
            caps(&cfg),
            (Duration::from_secs(600), Duration::from_secs(600))
        );
        cfg.crawl.backoff_secs = 1e300;
        assert_eq!(caps(&cfg).1, Duration::from_secs(86_400));
    }
}
