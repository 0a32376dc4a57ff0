//! `tenderscan backfill --since --until [--source]`: a period of a source's past, in two
//! stages, resumable from the database.
//!
//! 1. **metadata**: the source crawled over the period (goszakup: announcements with their
//!    lots, the change journal, contracts and, with `plans = true`, plan points) with a
//!    cursor of the backfill's own (`backfills.cursor`; the source's cron cursor is not
//!    touched). Pages are kept and stored like a run's, the rules read each new notice's
//!    metadata, and each notice joins the backfill with its tier (0 flagged by the rules,
//!    1 a `[backfill]` candidate by codes or words, 2 another service, 3 the rest); its
//!    documents are deferred, not fetched.
//! 2. **documents**: the deferred documents, by tier, newest first within a tier, read and
//!    scanned like a run's; with `[backfill] first_pass`, one document of each candidate
//!    (tiers 0 and 1) before any candidate's others.
//!
//! Killed, it carries on where the database says: the metadata stage from its cursor (at
//! most one page again), the documents stage from the documents still pending.
//!
//! It goes no faster than the source's `requests_per_second` (the same fetcher a run uses),
//! and yields to `run`: while a `run`, `crawl` or `scan` of another live process is under
//! way, it waits before its next page or batch of documents, so cron runs go on during a
//! backfill (they take the run lock; a backfill takes `<database>.backfill.lock`) and the
//! portal sees one client's pace at a time.
//!
//! Must never: fetch a document in the metadata stage, move a source's cron cursor, or
//! save its own cursor ahead of a page whose evidence was not kept.

use super::{
    CrawlFailure, DocPass, DocReader, PipelineError, Run, RunOptions, SourceReport, SourceRun,
    fetch_documents_of, scan_notice, source_fetcher,
};
use crate::config::{BackfillConfig, Config, SourceConfig};
use crate::evidence::Evidence;
use crate::model::NoticeRecord;
use crate::rules::RuleSet;
use crate::source::{self, SourceSpec};
use crate::store::{RunCounts, Store, StoreError};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use super::StopFlag;

/// What a backfill is asked to do.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    pub since: chrono::NaiveDate,
    pub until: chrono::NaiveDate,
    /// Only this source (else every enabled one).
    pub source: Option<String>,
    /// Record matches without mailing them.
    pub baseline: bool,
    pub readers: crate::extract::Readers,
}

/// Where a backfill stands, for the progress bar or the plain progress lines.
#[derive(Debug, Clone)]
pub struct Progress {
    pub source: String,
    /// `metadata` or `documents`.
    pub stage: &'static str,
    /// Pages (metadata) or documents (documents) done in this invocation.
    pub done: u64,
    /// Documents left (documents stage).
    pub left: Option<u64>,
    /// Of them, those of flagged and candidate notices.
    pub candidates_left: Option<u64>,
    /// The time the documents left take at the source's pace.
    pub eta: Option<Duration>,
}

/// What a backfill did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BackfillReport {
    pub sources: Vec<SourceReport>,
    pub interrupted: bool,
}

impl BackfillReport {
    pub fn failed(&self) -> bool {
        self.sources.iter().any(|s| s.error.is_some())
    }
}

/// Notices whose documents are fetched together (stored in one transaction, then scanned,
/// and progress told): a kill loses at most the batch in flight.
const BATCH: usize = 4;

/// Tiers up to this one are the candidates (0 flagged, 1 by code or word).
const CANDIDATE_TIER: i64 = 1;

/// Run the backfill of the enabled sources (or one). The caller holds the backfill lock.
pub async fn backfill(
    cfg: &Config,
    store: &mut Store,
    rules: &RuleSet,
    opts: &BackfillOptions,
    stop: &StopFlag,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<BackfillReport, PipelineError> {
    let mut report = BackfillReport::default();
    super::prepare(cfg, store)?;
    let sources = super::chosen_sources(cfg, opts.source.as_deref());
    for sc in sources {
        if stop.is_set() {
            break;
        }
        let mut sr = SourceReport {
            name: sc.name.clone(),
            ..Default::default()
        };
        match backfill_source(cfg, store, rules, opts, stop, sc, &mut sr.counts, progress).await {
            Ok(()) => {}
            Err(CrawlFailure::Store(e)) => return Err(e.into()),
            // A backfill is asked for by a person: a source it cannot read (no token) is an
            // error here, not the quiet skip of a cron run.
            Err(CrawlFailure::Source(msg) | CrawlFailure::Skipped(msg)) => {
                tracing::error!(source = %sc.name, "backfill: {msg}");
                sr.counts.errors += 1;
                sr.error = Some(msg);
            }
        }
        report.sources.push(sr);
    }
    report.interrupted = stop.is_set();
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn backfill_source(
    cfg: &Config,
    store: &mut Store,
    rules: &RuleSet,
    opts: &BackfillOptions,
    stop: &StopFlag,
    sc: &SourceConfig,
    counts: &mut RunCounts,
    progress: &(dyn Fn(&Progress) + Sync),
) -> Result<(), CrawlFailure> {
    let source_id = store.ensure_source(&sc.name, sc.kind.name(), &sc.url_written)?;
    let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
    let mut row = store.backfill_open(source_id, &day(opts.since), &day(opts.until))?;
    if row.stage == "done" {
        tracing::info!(source = %sc.name, "backfill of this period is done already");
        return Ok(());
    }
    let run_opts = RunOptions {
        source: Some(sc.name.clone()),
        since: Some(opts.since),
        baseline: opts.baseline,
        send: false,
        readers: opts.readers.clone(),
        limit: None,
        now: None,
        threads: None,
    };
    // A backfill looks back: its notices are history, not news on a watchlist (no watch
    // alerts them, now or later; rules still flag them).
    let ctx = Run {
        cfg,
        rules,
        opts: &run_opts,
        stop,
        watches: &[],
    };
    // A resumed metadata stage starts from its cursor; a fresh one from `since`.
    let mut spec = SourceSpec::new(sc, row.cursor.is_none().then_some(opts.since));
    spec.until = Some(opts.until);
    let fetcher = source_fetcher(cfg, sc, &spec).await?;
    let rps = fetcher.settings().requests_per_second;
    let mut sr = SourceRun {
        run: ctx,
        fetcher,
        source_id,
        docs: DocReader {
            readers: opts.readers.clone(),
            limits: super::extract_limits(cfg),
            marks: Arc::new(store.read_marks()?),
            tried: HashSet::new(),
        },
    };
    if row.stage == "metadata" {
        let mut src = source::open(&spec, row.cursor.as_deref())
            .map_err(|e| CrawlFailure::Source(format!("source {}: {e}", sc.name)))?;
        let mut unkept: Option<String> = None;
        let mut pages = 0u64;
        let finished = loop {
            if stop.is_set() || !yield_to_run(store, stop).await? {
                break false;
            }
            let page = match src.next_page(&sr.fetcher).await {
                Ok(Some(p)) => p,
                Ok(None) => break true,
                Err(e) => return Err(CrawlFailure::Source(format!("source {}: {e}", sc.name))),
            };
            let records = page.records;
            let kept = Evidence::beside(store.path())
                .with_store(cfg.evidence.store)
                .keep_page(&records);
            if unkept.is_none() {
                unkept = kept.errors.first().cloned();
            }
            let stored = store.store_page_kept(source_id, &records, &kept.records, None)?;
            counts.notices_fetched += records.len() as i64;
            counts.notices_new += stored.new as i64;
            counts.notices_changed += stored.changed as i64;
            counts.errors += kept.errors.len() as i64;
            // The rules read the new and changed notices' metadata (their documents wait).
            store.batch(|store| {
                for &id in &stored.touched {
                    scan_notice(ctx, store, id, counts)?;
                }
                Ok(())
            })?;
            let mut tiers = Vec::with_capacity(records.len());
            for (rec, &id) in records.iter().zip(&stored.all) {
                tiers.push((id, tier(&cfg.backfill, rec, store.is_flagged(id)?)));
            }
            let cursor = page.cursor.as_deref().filter(|_| unkept.is_none());
            store.backfill_page(row.id, &tiers, cursor)?;
            pages += 1;
            progress(&Progress {
                source: sc.name.clone(),
                stage: "metadata",
                done: pages,
                left: None,
                candidates_left: None,
                eta: None,
            });
            if page.done {
                break true;
            }
        };
        if let Some(e) = unkept {
            return Err(CrawlFailure::Source(format!(
                "source {}: evidence not kept: {e}; the backfill's cursor stays before that page: run the backfill again",
                sc.name
            )));
        }
        if !finished {
            return Ok(());
        }
        store.backfill_stage(row.id, "documents")?;
        row.stage = "documents".into();
    }
    // Documents: by tier, newest first within one. A batch's downloads overlap, so no
    // batch holds two tiers: every document of a better tier is asked for first. With
    // `first_pass`, the candidates' first specifications come before all that: one
    // document of each candidate notice, then the rest.
    let queue = store.backfill_queue(row.id)?;
    let mut batches: Vec<(DocPass, Vec<i64>)> = Vec::new();
    if cfg.backfill.first_pass {
        let candidates = queue
            .iter()
            .take_while(|(_, tier)| *tier <= CANDIDATE_TIER)
            .count();
        for tier in queue[..candidates].chunk_by(|a, b| a.1 == b.1) {
            let ids: Vec<i64> = tier.iter().map(|(id, _)| *id).collect();
            batches.extend(ids.chunks(BATCH).map(|c| (DocPass::First, c.to_vec())));
        }
    }
    for tier in queue.chunk_by(|a, b| a.1 == b.1) {
        let ids: Vec<i64> = tier.iter().map(|(id, _)| *id).collect();
        batches.extend(ids.chunks(BATCH).map(|c| (DocPass::Rest, c.to_vec())));
    }
    let mut done = 0u64;
    for (pass, chunk) in &batches {
        let chunk = chunk.as_slice();
        if stop.is_set() || !yield_to_run(store, stop).await? {
            return Ok(());
        }
        let before = counts.documents;
        let problem = fetch_documents_of(&mut sr, store, chunk, *pass, counts).await?;
        if let Some(e) = problem {
            tracing::error!(source = %sc.name, "backfill: {e}");
        }
        if !stop.is_set() {
            store.batch(|store| {
                for &id in chunk {
                    scan_notice(ctx, store, id, counts)?;
                }
                Ok(())
            })?;
        }
        let read = counts.documents - before;
        done += read as u64;
        store.backfill_documents_done(row.id, read)?;
        let (left, candidates) = store.backfill_left(row.id)?;
        progress(&Progress {
            source: sc.name.clone(),
            stage: "documents",
            done,
            left: Some(left as u64),
            candidates_left: Some(candidates as u64),
            eta: (rps > 0.0).then(|| Duration::from_secs_f64(left as f64 / rps)),
        });
    }
    if stop.is_set() {
        return Ok(());
    }
    let (left, _) = store.backfill_left(row.id)?;
    if left > 0 {
        return Err(CrawlFailure::Source(format!(
            "source {}: {left} documents could not be fetched now; run the backfill again to retry them",
            sc.name
        )));
    }
    store.backfill_stage(row.id, "done")?;
    Ok(())
}

/// Wait while another process's `run` is under way (`false`: asked to stop meanwhile).
async fn yield_to_run(store: &Store, stop: &StopFlag) -> Result<bool, StoreError> {
    let mut told = false;
    while store.run_under_way()? {
        if stop.is_set() {
            return Ok(false);
        }
        if !told {
            tracing::info!("a run is under way: the backfill waits for it to end");
            told = true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(!stop.is_set())
}

/// A notice's priority for the documents stage: 0 flagged by the rules (when
/// `[backfill] flagged`), 1 a candidate by its catalogue codes or title words (information,
/// advertising, PR, media, SMM, IT and event services), 2 another service (its subject type
/// in `subject_types`), 3 the rest. Tiers 0 and 1 are the candidates.
pub fn tier(cfg: &BackfillConfig, rec: &NoticeRecord, flagged: bool) -> i64 {
    if flagged && cfg.flagged {
        0
    } else if is_candidate(cfg, rec) {
        1
    } else if is_service(cfg, rec) {
        2
    } else {
        3
    }
}

/// Its subject type is one of `[backfill] subject_types` (services).
fn is_service(cfg: &BackfillConfig, rec: &NoticeRecord) -> bool {
    rec.subject_type
        .as_deref()
        .is_some_and(|t| cfg.subject_types.iter().any(|s| s.trim() == t.trim()))
}

/// A `[backfill]` candidate: one of its catalogue codes, or a word of its titles when it
/// is a service or its subject type is not known.
pub fn is_candidate(cfg: &BackfillConfig, rec: &NoticeRecord) -> bool {
    let digits = |s: &str| -> String { s.chars().filter(char::is_ascii_digit).collect() };
    let by_code = rec.codes.iter().any(|c| {
        let c = digits(c);
        cfg.codes.iter().any(|p| {
            let p = digits(p);
            !p.is_empty() && c.starts_with(&p)
        })
    });
    if by_code {
        return true;
    }
    // Words are looser than codes ("видео" of video surveillance works, "информацион" of
    // an information stand): they count for services, and where the source gives no
    // subject type.
    if rec.subject_type.is_some() && !is_service(cfg, rec) {
        return false;
    }
    let words: Vec<String> = cfg
        .words
        .iter()
        .map(|w| fold_case(w.trim()))
        .filter(|w| !w.is_empty())
        .collect();
    let texts = std::iter::once(&rec.title)
        .chain(rec.title_kk.iter())
        .chain(rec.description.iter())
        .chain(
            rec.lots
                .iter()
                .flat_map(|l| l.title.iter().chain(&l.description)),
        );
    texts.into_iter().any(|t| {
        let t = fold_case(t);
        words.iter().any(|w| starts_a_word(&t, w))
    })
}

/// Lowercase, `ё` as `е`.
fn fold_case(s: &str) -> String {
    s.to_lowercase().replace('ё', "е")
}

/// Whether `word` occurs in `text` at the start of a word.
fn starts_a_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        text[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LotRecord;

    #[test]
    fn candidates_by_subject_type_code_and_words() {
        let cfg = BackfillConfig::default();
        let plain = NoticeRecord {
            title: "Поставка бумаги".into(),
            subject_type: Some("1".into()),
            codes: vec!["171219.100.000001".into()],
            ..Default::default()
        };
        assert!(!is_candidate(&cfg, &plain));
        assert_eq!(tier(&cfg, &plain, false), 3);
        assert_eq!(tier(&cfg, &plain, true), 0);
        let service = NoticeRecord {
            subject_type: Some("3".into()),
            ..plain.clone()
        };
        assert!(!is_candidate(&cfg, &service));
        assert_eq!(tier(&cfg, &service, false), 2);
        let pr = NoticeRecord {
            codes: vec!["702110.000.000002".into()],
            ..plain.clone()
        };
        assert!(is_candidate(&cfg, &pr));
        let lot = NoticeRecord {
            lots: vec![LotRecord {
                external_id: "1".into(),
                title: Some("Услуги по ведению СОЦИАЛЬНЫХ сетей".into()),
                ..Default::default()
            }],
            ..service.clone()
        };
        assert!(is_candidate(&cfg, &lot));
        // Where the source gives no subject type, the words count as well.
        let untyped = NoticeRecord {
            subject_type: None,
            ..lot.clone()
        };
        assert!(is_candidate(&cfg, &untyped));
        // A word inside another word is not one.
        let inside = NoticeRecord {
            title: "Услуги по уборке (несмиренный)".into(),
            ..service.clone()
        };
        assert!(!is_candidate(&cfg, &inside));
        // Words of goods and works are not: video surveillance, an information stand.
        for (subject, title) in [
            (
                "2",
                "Монтаж системы видеонаблюдения и охранно-пожарной сигнализации",
            ),
            ("1", "Стенд информационный настенный, 1200х900 мм"),
        ] {
            let rec = NoticeRecord {
                title: title.into(),
                subject_type: Some(subject.into()),
                ..plain.clone()
            };
            assert!(!is_candidate(&cfg, &rec), "{title}");
            assert_eq!(tier(&cfg, &rec, false), 3, "{title}");
        }
        let video = NoticeRecord {
            title: "Производство имиджевых видеороликов о работе акимата".into(),
            ..service.clone()
        };
        assert!(is_candidate(&cfg, &video));
        let cctv = NoticeRecord {
            title: "Услуги по обслуживанию системы видеонаблюдения".into(),
            ..service
        };
        assert!(!is_candidate(&cfg, &cctv), "not a word of the list");
    }
}
