//! The command line: clap definitions (`args`), logging set-up and terminal output
//! (`output`), and the commands, one family a file (`commands`); here, `main`, the
//! dispatch, the config and the exit codes.
//!
//! It turns arguments into settings and calls the library; it holds no business logic.
//! Everything it prints for a person goes through [`crate::safe_text`] (one-line fields as
//! `line`, table cells as `cell`, CSV, mail previews and multi-line errors as `block`), text
//! logs through `SafeFields`; JSON output and JSON logs keep the exact text, with the
//! control characters serde_json leaves raw written as `\uNNNN` ([`crate::safe_text::json`]).
//! Exit codes are a contract with crontabs (see README): 0 all well, 1 part of the work
//! failed (the rest was done), 2 bad config, bad input or unusable database, 3 another
//! run holds the lock.

mod args;
mod commands;
mod output;

pub use args::{
    Cli, Command, EvidenceCommand, ExportFormat, LogFormat, OutputFormat, ReportFormat, RuleFiles,
    RulesCommand, SeverityArg, VerdictArg, WatchCommand,
};

use crate::config::Config;
use crate::pipeline::{self, RunOptions};
use crate::rules::RuleSet;
use crate::safe_text::block;
use crate::store::Store;
use anyhow::{Context, Result};
use clap::Parser;
use commands::alert::{alert, confirm_digest};
use commands::init::init;
use commands::inspect::{
    ExportSince, export, repack, report_list, search, show, show_document, status, verify,
};
use commands::match_files::match_files;
use commands::review::{NewVerdict, review, review_list};
use commands::rules::{rules_check, rules_eval, rules_list, rules_train};
use commands::run::{backfill, daemon, run_pipeline, scan};
use commands::serve::{hash_password, serve};
use commands::watch::watch_command;
use output::{BAR, init_logging, print_table};
use std::path::Path;

/// Exit codes.
pub mod exit {
    pub const OK: i32 = 0;
    pub const PARTIAL: i32 = 1;
    pub const BAD_CONFIG: i32 = 2;
    pub const LOCKED: i32 = 3;
}

/// Parse the arguments, run the command, return the process exit code.
pub fn main() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(crate::extract::isolate::WORKER_ARG) {
        // A reader worker started by this binary (see extract::isolate): no config, no logs.
        return crate::extract::isolate::worker_main(&args[1..]);
    }
    let cli = Cli::parse();
    init_logging(&cli);
    let code = match run(cli) {
        Ok(code) => code,
        // The reader of stdout went away (`tenderscan export | head`): not an error.
        Err(e) if closed_pipe(&e) => exit::OK,
        Err(e) => {
            if let Some(b) = BAR.get() {
                b.finish_and_clear();
            }
            eprintln!("tenderscan: error: {}", block(&format!("{e:#}")));
            exit::BAD_CONFIG
        }
    };
    if let Some(b) = BAR.get() {
        b.finish_and_clear();
    }
    code
}

/// Whether an error is a write to a pipe whose reader has gone.
fn closed_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> Result<i32> {
    let config = cli.config.as_deref();
    match &cli.command {
        Command::Init => init(config),
        Command::Status { format, runs } => status(&load_config(config)?, *format, *runs),
        Command::Match {
            format,
            rules,
            paths,
            threads,
        } => {
            let cfg = load_config(config)?;
            let set = rules.load(&cfg)?;
            let threads =
                crate::par::threads_or_cores(threads.map_or(cfg.scan.threads, usize::from));
            match_files(&cfg, &set, *format, paths, threads)
        }
        Command::Rules { command } => {
            let cfg = load_config(config)?;
            match command {
                RulesCommand::Check { file } => rules_check(&cfg, file.as_deref()),
                RulesCommand::List => rules_list(&load_rules(&cfg)?),
                RulesCommand::Train {
                    files,
                    output,
                    threshold,
                    veto,
                    min_count,
                } => rules_train(
                    files,
                    output,
                    crate::rules::TrainOptions {
                        threshold: *threshold,
                        veto: *veto,
                        min_count: *min_count,
                        ..Default::default()
                    },
                ),
                RulesCommand::Eval {
                    files,
                    from_reviews,
                    format,
                    rules,
                    min_severity,
                    misses,
                } => {
                    let set = rules.load(&cfg)?;
                    let reviewed = if *from_reviews {
                        let store = Store::open(&cfg.database.path)?;
                        crate::rules::eval::dismissed_cases(&store.dismissed_evidence()?)
                    } else {
                        Vec::new()
                    };
                    rules_eval(
                        &set,
                        files,
                        reviewed,
                        *format,
                        (*min_severity).into(),
                        *misses || cli.verbose > 0,
                    )
                }
            }
        }
        Command::Scan {
            all,
            baseline,
            ocr,
            threads,
        } => {
            let cfg = load_config(config)?;
            let rules = load_rules(&cfg)?;
            scan(
                &cfg,
                &rules,
                *all,
                *baseline,
                *ocr,
                threads.map(usize::from),
            )
        }
        Command::Crawl {
            source,
            since,
            limit,
        } => {
            let cfg = load_config(config)?;
            check_source_name(&cfg, source.as_deref())?;
            let rules = load_rules(&cfg)?;
            let opts = RunOptions {
                source: source.clone(),
                since: *since,
                limit: *limit,
                baseline: false,
                send: false,
                readers: readers(&cfg),
                now: None,
                threads: None,
            };
            run_pipeline(&cfg, &rules, &opts, "crawl")
        }
        Command::Run { baseline, source } => {
            let cfg = load_config(config)?;
            check_source_name(&cfg, source.as_deref())?;
            let rules = load_rules(&cfg)?;
            let opts = RunOptions {
                source: source.clone(),
                baseline: *baseline,
                send: true,
                readers: readers(&cfg),
                // digest schedules read the clock (the test clock under TENDERSCAN_TEST_CLOCK)
                now: Some(
                    crate::clock::from_env()
                        .map_err(|m| anyhow::anyhow!("{m}"))?
                        .now()
                        .with_timezone(&chrono::Utc),
                ),
                ..Default::default()
            };
            run_pipeline(&cfg, &rules, &opts, "run")
        }
        Command::Backfill {
            since,
            until,
            source,
            baseline,
        } => {
            let cfg = load_config(config)?;
            check_source_name(&cfg, source.as_deref())?;
            let rules = load_rules(&cfg)?;
            let until = until.unwrap_or_else(|| chrono::Local::now().date_naive());
            if until < *since {
                anyhow::bail!("backfill: --until {until} is before --since {since}");
            }
            let opts = pipeline::backfill::BackfillOptions {
                since: *since,
                until,
                source: source.clone(),
                baseline: *baseline,
                readers: readers(&cfg),
            };
            backfill(&cfg, &rules, &opts)
        }
        Command::Report {
            name,
            list,
            params,
            format,
            excel,
        } => {
            let cfg = load_config(config)?;
            let reports = crate::report::load(&cfg.reports.dirs)?;
            if *list {
                return report_list(&reports);
            }
            let store = Store::open(&cfg.database.path)?;
            let r = crate::report::find(&reports, name.as_deref().unwrap_or_default())?;
            let table = crate::report::run(&store, &r, params)?;
            print_table(&table, *format, *excel)
        }
        Command::Search {
            query,
            format,
            excel,
            limit,
        } => {
            let cfg = load_config(config)?;
            let store = Store::open(&cfg.database.path)?;
            search(&store, query, *format, *excel, *limit)
        }
        Command::Export {
            format,
            since,
            seen_since,
            table,
            excel,
            output,
        } => {
            let cfg = load_config(config)?;
            let store = Store::open(&cfg.database.path)?;
            export(
                &store,
                table,
                ExportSince {
                    published: *since,
                    seen: *seen_since,
                },
                *format,
                *excel,
                output.as_deref(),
            )
        }
        Command::DatasetteMetadata => {
            let cfg = load_config(config)?;
            let reports = crate::report::load(&cfg.reports.dirs)?;
            let text = crate::report::datasette_metadata(&database_name(&cfg), &reports)?;
            println!("{}", crate::safe_text::json(&text));
            Ok(exit::OK)
        }
        Command::Daemon => {
            let cfg = load_config(config)?;
            let rules = load_rules(&cfg)?;
            daemon(&cfg, &rules)
        }
        Command::Show {
            notice,
            format,
            document,
            output,
        } => {
            let cfg = load_config(config)?;
            match (document, output) {
                (Some(n), Some(o)) => show_document(&cfg, notice, *n, o),
                _ => show(&cfg, notice, *format),
            }
        }
        Command::Review {
            notice,
            verdict,
            rule,
            note,
            lot,
            by,
            list,
            only,
            format,
        } => {
            let cfg = load_config(config)?;
            match (notice, verdict, rule) {
                (Some(notice), Some(verdict), Some(rule)) if !*list => review(
                    &cfg,
                    &NewVerdict {
                        notice,
                        rule,
                        verdict: *verdict,
                        note: note.as_deref(),
                        lot: lot.as_deref(),
                        by: by.as_deref(),
                    },
                    *format,
                ),
                _ => review_list(&cfg, *only, *format),
            }
        }
        Command::Serve {
            hash_password: true,
            ..
        } => hash_password(),
        Command::Serve { listen, .. } => serve(&load_config(config)?, listen.as_deref()),
        Command::Watch { command } => watch_command(&load_config(config)?, command),
        Command::Verify { format } => verify(&load_config(config)?, *format),
        Command::Evidence {
            command: EvidenceCommand::Repack { format },
        } => repack(&load_config(config)?, *format),
        Command::Alert {
            dry_run,
            resend,
            confirm,
        } => {
            let cfg = load_config(config)?;
            match confirm {
                Some(id) => confirm_digest(&cfg, *id),
                None => {
                    let rules = load_rules(&cfg)?;
                    alert(&cfg, &rules, *dry_run, *resend)
                }
            }
        }
    }
}

/// Load the config: the named file, else ./config.toml, else the embedded default.
pub fn load_config(path: Option<&Path>) -> Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => {
            let p = Path::new("config.toml");
            if p.exists() {
                Ok(Config::load(p)?)
            } else {
                tracing::info!(
                    "no ./config.toml: using the embedded default (write it with `tenderscan init`)"
                );
                let cwd = std::env::current_dir().context("cannot read the current folder")?;
                Ok(Config::embedded_default(&cwd))
            }
        }
    }
}

fn load_rules(cfg: &Config) -> Result<RuleSet> {
    Ok(cfg.rules.load(true, &[], None, false)?)
}

fn check_source_name(cfg: &Config, name: Option<&str>) -> Result<()> {
    if let Some(n) = name
        && !cfg.sources.iter().any(|s| s.name == n)
    {
        anyhow::bail!(
            "{}: no source is named {n:?} (configured: {})",
            cfg.file.display(),
            cfg.sources
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// The document readers of this binary: worker processes of itself, as the config says.
fn readers(cfg: &Config) -> crate::extract::Readers {
    let exe = std::env::current_exe()
        .map_err(|e| {
            tracing::warn!(
                "cannot find tenderscan's own binary ({e}): documents are read in this process"
            )
        })
        .ok();
    pipeline::readers(cfg, exe)
}

/// The database's name as Datasette shows it: its file name without extension.
fn database_name(cfg: &Config) -> String {
    cfg.database
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "tenderscan".into())
}
