//! The commands that run the cycle: `run` and `crawl` (the pipeline once), `scan` (the
//! rules over stored notices, `--ocr` first reading stored scans), `daemon` (the cycle on
//! the schedule), `backfill` (a period of the past); and what they share: the run lock, the runtime, SIGINT/SIGTERM.
//!
//! What this module must never do: work on the database without the run lock (another run
//! holding it is exit 3, nothing done; `backfill` holds its own lock instead, and yields to
//! runs), or end a run on the first signal (it stops after
//! the current page or document and saves its cursor; only a second signal ends the
//! process at once).

use crate::cli::exit;
use crate::cli::output::say;
use crate::cli::readers;
use crate::config::Config;
use crate::pipeline::{self, LockError, RunLock, RunOptions, StopFlag};
use crate::rules::RuleSet;
use crate::safe_text::line;
use crate::store::{RunCounts, Store};
use anyhow::Result;

pub(in crate::cli) fn run_pipeline(
    cfg: &Config,
    rules: &RuleSet,
    opts: &RunOptions,
    command: &str,
) -> Result<i32> {
    let report = with_lock(cfg, |store, stop, rt| {
        Ok(rt.block_on(pipeline::run(cfg, store, rules, opts, stop, command))?)
    });
    let report = match report {
        Ok(Locked::Held) => return Ok(exit::LOCKED),
        Ok(Locked::Done(r)) => r,
        Err(e) => return Err(e),
    };
    let c = &report.counts;
    say(format_args!(
        "run #{}: {} notices fetched ({} new, {} changed), {} documents, {} new matches, {} alerts sent, {} errors{}",
        report.run_id,
        c.notices_fetched,
        c.notices_new,
        c.notices_changed,
        c.documents,
        c.matches,
        c.alerts_sent,
        c.errors,
        if report.interrupted {
            " (interrupted)"
        } else {
            ""
        }
    ));
    Ok(if report.failed() || report.interrupted {
        exit::PARTIAL
    } else {
        exit::OK
    })
}

/// `backfill`: under the backfill's own lock (a second backfill is exit 3; runs go on, the
/// backfill waits for them), with a progress bar on a terminal and plain progress lines
/// otherwise.
pub(in crate::cli) fn backfill(
    cfg: &Config,
    rules: &RuleSet,
    opts: &pipeline::backfill::BackfillOptions,
) -> Result<i32> {
    exit_code(with_lock_of(
        RunLock::acquire_backfill,
        cfg,
        |store, stop, rt| backfill_locked(cfg, rules, opts, store, stop, rt),
    ))
}

fn backfill_locked(
    cfg: &Config,
    rules: &RuleSet,
    opts: &pipeline::backfill::BackfillOptions,
    store: &mut Store,
    stop: &StopFlag,
    rt: &tokio::runtime::Runtime,
) -> Result<i32> {
    let bar = crate::cli::output::BAR.get().cloned();
    let last_line =
        std::sync::Mutex::new(std::time::Instant::now() - std::time::Duration::from_secs(60));
    let progress = |p: &pipeline::backfill::Progress| {
        let text = crate::cli::output::backfill_progress(p);
        match &bar {
            Some(b) => {
                if let Some(left) = p.left {
                    b.set_length(p.done + left);
                    b.set_position(p.done);
                }
                b.set_message(text);
            }
            None => {
                // Plain lines, at most one each 5 seconds (and every stage's first).
                let mut at = last_line.lock().unwrap_or_else(|e| e.into_inner());
                if at.elapsed() >= std::time::Duration::from_secs(5) || p.done <= 1 {
                    *at = std::time::Instant::now();
                    eprintln!("tenderscan: backfill {text}");
                }
            }
        }
    };
    let report = rt.block_on(pipeline::backfill::backfill(
        cfg, store, rules, opts, stop, &progress,
    ))?;
    for s in &report.sources {
        say(format_args!(
            "backfill {}: {} notices ({} new, {} changed), {} documents, {} new matches, {} errors{}",
            line(&s.name),
            s.counts.notices_fetched,
            s.counts.notices_new,
            s.counts.notices_changed,
            s.counts.documents,
            s.counts.matches,
            s.counts.errors,
            s.error
                .as_deref()
                .map(|e| format!(": {}", line(e)))
                .unwrap_or_default()
        ));
    }
    for b in store.backfills()? {
        say(format_args!(
            "backfill {} {}..{}: {}",
            line(&b.source),
            b.since,
            b.until,
            b.stage
        ));
    }
    Ok(if report.failed() || report.interrupted {
        exit::PARTIAL
    } else {
        exit::OK
    })
}

/// `scan`: the rules over the stored notices under the lock; with `--ocr`, the scans stored
/// without OCR read by OCR first.
pub(in crate::cli) fn scan(
    cfg: &Config,
    rules: &RuleSet,
    all: bool,
    baseline: bool,
    ocr: bool,
    threads: Option<usize>,
) -> Result<i32> {
    exit_code(with_lock(cfg, |store, stop, _rt| {
        let mut code = exit::OK;
        if ocr {
            code = reread_scans(cfg, store, stop)?;
        }
        let mut counts = RunCounts::default();
        let opts = RunOptions {
            baseline,
            threads,
            ..Default::default()
        };
        // A notice a killed run stored but did not scan is looked at by the watches too.
        let (watch_list, watch_error) = pipeline::load_watches(cfg);
        if watch_error.is_some() {
            code = exit::PARTIAL;
        }
        let fts = pipeline::watch_queries(&watch_list);
        let watches = pipeline::watch_targets(cfg, &watch_list, &fts);
        let ctx = pipeline::Run {
            cfg,
            rules,
            opts: &opts,
            stop,
            watches: &watches,
        };
        let n = pipeline::scan(ctx, store, all, &mut counts)?;
        say(format_args!(
            "scanned {n} notices with rule set {}: {} new matches",
            rules.version(),
            counts.matches
        ));
        Ok(code)
    }))
}

/// `scan --ocr`: the scans stored without OCR, read by OCR from their evidence.
fn reread_scans(cfg: &Config, store: &mut Store, stop: &StopFlag) -> Result<i32> {
    let limits = pipeline::extract_limits(cfg);
    match crate::scans::reread(store, &readers(cfg), &limits, &|| stop.is_set()) {
        Ok(r) => {
            say(format_args!(
                "read {} scans by OCR ({} with text, {} documents); {} failed; {} documents still not read",
                r.read, r.with_text, r.rows, r.failed, r.unread
            ));
            Ok(if r.failed > 0 {
                exit::PARTIAL
            } else {
                exit::OK
            })
        }
        Err(crate::scans::RereadError::NoOcr(why)) => {
            let unread = store.ocr_counts()?.unread;
            eprintln!(
                "tenderscan: scan --ocr: no OCR here ({}): {unread} documents stay unread",
                line(&why)
            );
            Ok(exit::PARTIAL)
        }
        Err(crate::scans::RereadError::Store(e)) => Err(e.into()),
    }
}

/// The same cycle as `run`, on a schedule, under the same lock: a cycle that finds the
/// lock held (a cron run, say) is skipped. Stops cleanly on SIGINT/SIGTERM. The schedule
/// reads the time from [`crate::clock`]: the system clock, or the test clock named by
/// `TENDERSCAN_TEST_CLOCK`; everything else in the cycle keeps the system clock.
pub(in crate::cli) fn daemon(cfg: &Config, rules: &RuleSet) -> Result<i32> {
    let clock = crate::clock::from_env().map_err(|m| anyhow::anyhow!("{m}"))?;
    let rt = runtime()?;
    let stop = StopFlag::default();
    let opts = RunOptions {
        send: true,
        readers: readers(cfg),
        ..Default::default()
    };
    rt.block_on(async {
        watch_signals(&stop);
        crate::daemon::serve(cfg, rules, &opts, &stop, clock.as_ref()).await
    })?;
    Ok(exit::OK)
}

pub(in crate::cli) fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// SIGINT and SIGTERM set the stop flag (the run stops after the current page or
/// document and saves its cursor); a second signal ends the process at once.
fn watch_signals(stop: &StopFlag) {
    let stop = stop.clone();
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        loop {
            #[cfg(unix)]
            let term_recv = async {
                match term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let term_recv = std::future::pending::<()>();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term_recv => {}
            }
            if stop.is_set() {
                eprintln!("tenderscan: second signal: stopping now");
                std::process::exit(130);
            }
            tracing::warn!("signal received: stopping after the current page or document");
            stop.stop();
        }
    });
}

/// What [`with_lock`] did: ran the work, or found another run holding the lock.
pub(super) enum Locked<T> {
    Done(T),
    Held,
}

/// Take the run lock (or say another run holds it), open the database, watch for
/// SIGINT/SIGTERM, and run `f`.
pub(super) fn with_lock<T, F>(cfg: &Config, f: F) -> Result<Locked<T>>
where
    F: FnOnce(&mut Store, &StopFlag, &tokio::runtime::Runtime) -> Result<T>,
{
    with_lock_of(RunLock::acquire, cfg, f)
}

/// [`with_lock`] with the lock `acquire` takes (the run lock, or the backfill's own).
fn with_lock_of<T, F>(
    acquire: fn(&std::path::Path) -> Result<RunLock, LockError>,
    cfg: &Config,
    f: F,
) -> Result<Locked<T>>
where
    F: FnOnce(&mut Store, &StopFlag, &tokio::runtime::Runtime) -> Result<T>,
{
    let _lock = match acquire(&cfg.database.path) {
        Ok(l) => l,
        Err(e @ LockError::Held(..)) => {
            eprintln!("tenderscan: {}", line(&e.to_string()));
            return Ok(Locked::Held);
        }
        Err(e) => return Err(e.into()),
    };
    let mut store = Store::open(&cfg.database.path)?;
    let rt = runtime()?;
    let stop = StopFlag::default();
    {
        let _guard = rt.enter();
        watch_signals(&stop);
    }
    f(&mut store, &stop, &rt).map(Locked::Done)
}

/// An exit code from work done under the lock (3 when another run holds it).
pub(super) fn exit_code(done: Result<Locked<i32>>) -> Result<i32> {
    Ok(match done? {
        Locked::Done(code) => code,
        Locked::Held => exit::LOCKED,
    })
}
