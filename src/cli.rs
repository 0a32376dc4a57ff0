//! The command line: clap definitions, logging set-up and output formatting.
//!
//! It turns arguments into settings and calls the library; it holds no business logic.
//! Everything it prints for a person goes through [`crate::safe_text`] (one-line fields as
//! `line`, table cells as `cell`, CSV, mail previews and multi-line errors as `block`), text
//! logs through `SafeFields`; JSON output and JSON logs keep the exact text, with the
//! control characters serde_json leaves raw written as `\uNNNN` ([`crate::safe_text::json`]).
//! Exit codes are a contract with crontabs (see README): 0 all well, 1 part of the work
//! failed (the rest was done), 2 bad config, bad input or unusable database, 3 another
//! run holds the lock.

use crate::config::{Config, DEFAULT_CONFIG};
use crate::pipeline::{self, LockError, RunLock, RunOptions, StopFlag};
use crate::rules::RuleSet;
use crate::safe_text::{self, block, line};
use crate::store::{RunCounts, Store};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Exit codes.
pub mod exit {
    pub const OK: i32 = 0;
    pub const PARTIAL: i32 = 1;
    pub const BAD_CONFIG: i32 = 2;
    pub const LOCKED: i32 = 3;
}

#[derive(Debug, Parser)]
#[command(
    name = "tenderscan",
    version,
    about = "Finds public-procurement tenders that order fake online opinion (\"nurbots\")"
)]
pub struct Cli {
    /// Config file [default: ./config.toml; the embedded default when that is missing]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// More log output (-v debug, -vv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log lines for people (text) or for log collectors (json)
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented config.toml (where there is none) and create the database
    Init,
    /// Show the database, its schema version, rows per table, sources' health and the last runs
    Status {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// How many recent runs to show
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
    /// Run the rules over files (txt, html, docx, pdf, ...; `-` for stdin), without a database
    Match {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        #[command(flatten)]
        rules: RuleFiles,
        /// Files to read; stdin when none or `-`
        paths: Vec<PathBuf>,
    },
    /// Work with rules
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Run the rules over stored notices the current rule set has not read
    Scan {
        /// Every stored notice, not only the unread ones
        #[arg(long)]
        all: bool,
        /// Record new matches without mailing them
        #[arg(long)]
        baseline: bool,
        /// First read by OCR the scans stored while no OCR was installed (from their evidence)
        #[arg(long)]
        ocr: bool,
    },
    /// Crawl sources, fetch and read their documents, scan; alerts stay queued
    Crawl {
        /// Only this source (even if disabled)
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
        /// Crawl from this date (YYYY-MM-DD) instead of the saved cursor
        #[arg(long, value_name = "DATE")]
        since: Option<chrono::NaiveDate>,
        /// Stop each source after N notices
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
    },
    /// The main job, for cron: crawl, read, scan, and mail the alerts
    Run {
        /// Record matches without mailing them (for a first backfill)
        #[arg(long)]
        baseline: bool,
        /// Only this source (even if disabled)
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
    },
    /// Run the cycle of `run` on the config's [schedule] cron, for hosts without cron
    Daemon,
    /// Run a canned report from queries/ (`--list` lists them)
    Report {
        /// The report's name (its file name in queries/ without .sql)
        #[arg(required_unless_present = "list")]
        name: Option<String>,
        /// List the reports with their titles and parameters
        #[arg(long)]
        list: bool,
        /// A parameter, NAME=VALUE (repeatable)
        #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
        params: Vec<(String, String)>,
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// CSV for Excel: UTF-8 with a byte-order mark
        #[arg(long)]
        excel: bool,
    },
    /// Full-text search over notices, lots and documents (inflected forms found)
    Search {
        query: String,
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// CSV for Excel: UTF-8 with a byte-order mark
        #[arg(long)]
        excel: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Export a table (flags, notices, lots, agencies, documents, matches, notice_versions, evidence, runs)
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Only rows from this date (YYYY-MM-DD) on
        #[arg(long, value_name = "DATE")]
        since: Option<chrono::NaiveDate>,
        #[arg(long, default_value = "flags")]
        table: String,
        /// CSV for Excel: UTF-8 with a byte-order mark
        #[arg(long)]
        excel: bool,
        /// Write here instead of stdout
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print Datasette metadata: the canned queries with titles, and full-text search
    DatasetteMetadata,
    /// Everything about one notice (by number like 17163708-1, external id, or id):
    /// agency, amounts, lots, documents with hashes, matches, versions, evidence files
    Show {
        notice: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Re-hash the evidence folder; exit 1 when a file is missing or no longer matches
    Verify {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Send the pending alert digests
    Alert {
        /// Print the digests without sending or marking anything
        #[arg(long)]
        dry_run: bool,
        /// Send digest ID again (same Message-ID)
        #[arg(long, value_name = "ID", conflicts_with = "dry_run")]
        resend: Option<i64>,
        /// Unconfirmed digest ID did arrive: mark it and its alerts sent, send nothing
        #[arg(long, value_name = "ID", conflicts_with_all = ["dry_run", "resend"])]
        confirm: Option<i64>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    Table,
    Csv,
    Json,
    Md,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Jsonl,
}

/// `--rules FILE` and `--no-builtin`: the rule set of `match` and `rules eval`.
#[derive(Debug, clap::Args)]
pub struct RuleFiles {
    /// Also use this rule file (repeatable)
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Leave out the built-in rules
    #[arg(long)]
    pub no_builtin: bool,
}

impl RuleFiles {
    /// The configured rules plus these files, the built-in ones unless left out.
    fn load(&self, cfg: &Config) -> Result<RuleSet> {
        let mut files = cfg.rules.files.clone();
        files.extend(self.rules.iter().cloned());
        Ok(RuleSet::load(
            cfg.rules.builtin && !self.no_builtin,
            &files,
        )?)
    }
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate rules and run every rule's examples and counterexamples
    Check {
        /// A rule file to check (default: the configured rule set)
        file: Option<PathBuf>,
    },
    /// List the rules in use
    List,
    /// Score the rules in use on labelled fragments: recall, false flags, quotas
    Eval {
        /// Labelled fragments: TOML (`[[fragment]]`) or JSON Lines (`text`, `label` =
        /// flag|clean, optional `quota`, `kind`, `lang`)
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        #[command(flatten)]
        rules: RuleFiles,
        /// A fragment counts as flagged at this severity or above
        #[arg(long, value_enum, default_value_t = SeverityArg::Medium)]
        min_severity: SeverityArg,
        /// Print every miss, false flag and wrong quota (also with the global `-v`)
        #[arg(long)]
        misses: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SeverityArg {
    Low,
    Medium,
    High,
}

impl From<SeverityArg> for crate::rules::Severity {
    fn from(s: SeverityArg) -> Self {
        match s {
            SeverityArg::Low => crate::rules::Severity::Low,
            SeverityArg::Medium => crate::rules::Severity::Medium,
            SeverityArg::High => crate::rules::Severity::High,
        }
    }
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

fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::filter::{Targets, filter_fn};
    use tracing_subscriber::prelude::*;
    let default = if cli.quiet {
        "error"
    } else {
        match cli.verbose {
            0 if std::io::stderr().is_terminal() => "info",
            0 => "warn",
            1 => "debug",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_env("TENDERSCAN_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{default},html5ever=error,selectors=error,hyper=warn,reqwest=warn,rustls=warn"
        ))
    });
    let not_progress = filter_fn(|m| m.target() != crate::pipeline::PROGRESS_TARGET);
    // A progress bar only for a person watching: stderr is a terminal and logs are text.
    let bar = (std::io::stderr().is_terminal()
        && !cli.quiet
        && matches!(cli.log_format, LogFormat::Text)
        && matches!(
            cli.command,
            Command::Run { .. } | Command::Crawl { .. } | Command::Scan { .. }
        ))
    .then(progress_bar);
    if let Some(b) = &bar {
        let _ = BAR.set(b.clone());
    }
    let json = matches!(cli.log_format, LogFormat::Json);
    let writer = BarWriter {
        bar: bar.clone(),
        json,
    };
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer);
    let fmt = match cli.log_format {
        LogFormat::Json => fmt.json().boxed(),
        LogFormat::Text => fmt
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .fmt_fields(SafeFields)
            .boxed(),
    };
    let progress = bar.map(|b| {
        ProgressLayer(b).with_filter(
            Targets::new().with_target(crate::pipeline::PROGRESS_TARGET, tracing::Level::INFO),
        )
    });
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter).with_filter(not_progress))
        .with(progress)
        .try_init();
}

/// The progress bar, when one is shown; cleared before the process exits.
static BAR: std::sync::OnceLock<indicatif::ProgressBar> = std::sync::OnceLock::new();

fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Log lines go to stderr; with a progress bar showing, around it. JSON log lines have the
/// control characters serde_json leaves raw (DEL, C1, bidi) written as `\uNNNN`
/// ([`safe_text::json`]): the same text for a log collector, no control for a terminal.
#[derive(Clone)]
struct BarWriter {
    bar: Option<indicatif::ProgressBar>,
    json: bool,
}

impl Write for BarWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter hands over one whole log line per call; JSON is always UTF-8.
        let safe = self
            .json
            .then(|| std::str::from_utf8(buf).ok().map(safe_text::json))
            .flatten();
        let bytes = safe.as_deref().map_or(buf, str::as_bytes);
        let write_all = || std::io::stderr().write_all(bytes).map(|()| buf.len());
        match &self.bar {
            Some(bar) => bar.suspend(write_all),
            None => write_all(),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BarWriter {
    type Writer = BarWriter;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The fields of a text log line (the message and `key=value` pairs), each made safe as a
/// [`safe_text::line()`]: a CR or LF in a portal's message is shown as `\r`/`\n`, so it
/// cannot start a forged log line, and no ESC, BEL, NUL, C1 or bidi character reaches the
/// terminal. String values are quoted as before (`table="flags"`), `%` values written as
/// they display.
struct SafeFields;

impl<'w> tracing_subscriber::fmt::FormatFields<'w> for SafeFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: tracing_subscriber::fmt::format::Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        let mut v = SafeVisitor(String::new());
        fields.record(&mut v);
        writer.write_str(&v.0)
    }
}

struct SafeVisitor(String);

impl SafeVisitor {
    fn push(&mut self, field: &tracing::field::Field, value: &str) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        let name = field.name();
        if name != "message" {
            self.0
                .push_str(line(name.strip_prefix("r#").unwrap_or(name)).as_ref());
            self.0.push('=');
        }
        self.0.push_str(&line(value));
    }
}

impl tracing::field::Visit for SafeVisitor {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.push(field, value);
        } else {
            self.push(field, &format!("{value:?}"));
        }
    }
    fn record_error(
        &mut self,
        field: &tracing::field::Field,
        value: &(dyn std::error::Error + 'static),
    ) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        self.push(field, &text);
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name().starts_with("log.") {
            return;
        }
        self.push(field, &format!("{value:?}"));
    }
}

/// Turns the pipeline's progress events into the bar's message.
struct ProgressLayer(indicatif::ProgressBar);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ProgressLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct Fields(Vec<(String, String)>);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.push((f.name().to_string(), format!("{v:?}")));
            }
            fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
                self.0.push((f.name().to_string(), v.to_string()));
            }
        }
        let mut f = Fields(Vec::new());
        event.record(&mut f);
        let get = |k: &str| {
            f.0.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or("0")
        };
        self.0.set_message(format!(
            "{}: {} notices, {} documents, {} matches",
            line(get("what")),
            get("notices"),
            get("documents"),
            get("matches")
        ));
    }
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
        } => {
            let cfg = load_config(config)?;
            let set = rules.load(&cfg)?;
            match_files(&cfg, &set, *format, paths)
        }
        Command::Rules { command } => {
            let cfg = load_config(config)?;
            match command {
                RulesCommand::Check { file } => rules_check(&cfg, file.as_deref()),
                RulesCommand::List => rules_list(&load_rules(&cfg)?),
                RulesCommand::Eval {
                    files,
                    format,
                    rules,
                    min_severity,
                    misses,
                } => {
                    let set = rules.load(&cfg)?;
                    rules_eval(
                        &set,
                        files,
                        *format,
                        (*min_severity).into(),
                        *misses || cli.verbose > 0,
                    )
                }
            }
        }
        Command::Scan { all, baseline, ocr } => {
            let cfg = load_config(config)?;
            let rules = load_rules(&cfg)?;
            exit_code(with_lock(&cfg, |store, stop, _rt| {
                let mut code = exit::OK;
                if *ocr {
                    code = reread_scans(&cfg, store, stop)?;
                }
                let mut counts = RunCounts::default();
                let opts = RunOptions {
                    baseline: *baseline,
                    ..Default::default()
                };
                let ctx = pipeline::Run {
                    cfg: &cfg,
                    rules: &rules,
                    opts: &opts,
                    stop,
                };
                let n = pipeline::scan(ctx, store, *all, &mut counts)?;
                say(format_args!(
                    "scanned {n} notices with rule set {}: {} new matches",
                    rules.version(),
                    counts.matches
                ));
                Ok(code)
            }))
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
                ..Default::default()
            };
            run_pipeline(&cfg, &rules, &opts, "run")
        }
        Command::Report {
            name,
            list,
            params,
            format,
            excel,
        } => {
            if *list {
                return report_list();
            }
            let cfg = load_config(config)?;
            let store = Store::open(&cfg.database.path)?;
            let r = crate::report::get(name.as_deref().unwrap_or_default())?;
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
            table,
            excel,
            output,
        } => {
            let cfg = load_config(config)?;
            let store = Store::open(&cfg.database.path)?;
            export(&store, table, *since, *format, *excel, output.as_deref())
        }
        Command::DatasetteMetadata => {
            let v = crate::report::datasette_metadata(&database_name(config)?)?;
            println!("{}", json_pretty(&v)?);
            Ok(exit::OK)
        }
        Command::Daemon => {
            let cfg = load_config(config)?;
            let rules = load_rules(&cfg)?;
            daemon(&cfg, &rules)
        }
        Command::Show { notice, format } => show(&load_config(config)?, notice, *format),
        Command::Verify { format } => verify(&load_config(config)?, *format),
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

fn parse_param(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected NAME=VALUE"))?;
    Ok((k.trim().trim_start_matches(':').to_string(), v.to_string()))
}

/// The database's name as Datasette shows it: its file name without extension.
fn database_name(config: Option<&Path>) -> Result<String> {
    let cfg = load_config(config)?;
    Ok(cfg
        .database
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "tenderscan".into()))
}

/// The terminal's width: $COLUMNS, else what the terminal says, else 120.
fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or_else(|| {
            console::Term::stdout()
                .size_checked()
                .map(|(_, w)| w as usize)
        })
        .filter(|w: &usize| *w >= 20)
        .unwrap_or(120)
}

/// A value as pretty JSON with nothing raw a terminal would act on ([`safe_text::json`]).
fn json_pretty<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
    Ok(safe_text::json(&serde_json::to_string_pretty(v)?).into_owned())
}

/// A value as one line of JSON, made safe the same way.
fn json_line<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
    Ok(safe_text::json(&serde_json::to_string(v)?).into_owned())
}

fn print_table(t: &crate::report::Table, format: ReportFormat, excel: bool) -> Result<i32> {
    use crate::report;
    let mut out = std::io::stdout().lock();
    match format {
        ReportFormat::Table => write!(out, "{}", report::to_text(t, terminal_width()))?,
        ReportFormat::Csv => write!(out, "{}", report::to_csv(t, excel))?,
        ReportFormat::Json => writeln!(out, "{}", json_pretty(&report::to_json(t))?)?,
        ReportFormat::Md => write!(out, "{}", report::to_markdown(t))?,
    }
    Ok(exit::OK)
}

fn report_list() -> Result<i32> {
    let mut out = std::io::stdout().lock();
    for r in crate::report::all()? {
        writeln!(out, "{:<30} {}", r.name, r.title)?;
        writeln!(out, "{:<30} {}", "", r.description)?;
        for p in &r.params {
            writeln!(
                out,
                "{:<30}   --param {}={}  ({})",
                "", p.name, p.default, p.doc
            )?;
        }
    }
    Ok(exit::OK)
}

fn search(
    store: &Store,
    query: &str,
    format: ReportFormat,
    excel: bool,
    limit: usize,
) -> Result<i32> {
    let fts = crate::report::fts_query(query);
    if fts.is_empty() {
        anyhow::bail!("search: no words to search for in {query:?}");
    }
    let hits = store.search(&fts, limit)?;
    let table = crate::report::Table {
        columns: [
            "kind",
            "notice_number",
            "title",
            "agency_name",
            "snippet",
            "url",
        ]
        .map(String::from)
        .to_vec(),
        rows: hits
            .iter()
            .map(|h| {
                use rusqlite::types::Value::{Null, Text};
                let opt = |s: &Option<String>| s.clone().map(Text).unwrap_or(Null);
                vec![
                    Text(h.kind.into()),
                    opt(&h.notice_number),
                    Text(h.title.clone()),
                    opt(&h.agency_name),
                    Text(h.snippet.clone()),
                    opt(&h.url),
                ]
            })
            .collect(),
    };
    print_table(&table, format, excel)
}

fn export(
    store: &Store,
    table: &str,
    since: Option<chrono::NaiveDate>,
    format: ExportFormat,
    excel: bool,
    output: Option<&Path>,
) -> Result<i32> {
    use crate::report::{csv_line, csv_row, json_value};
    let mut w: Box<dyn Write> = match output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let since = since.map(|d| d.format("%Y-%m-%d").to_string());
    let columns = store.export_columns(table)?;
    if format == ExportFormat::Csv {
        if excel {
            w.write_all("\u{feff}".as_bytes())?;
        }
        w.write_all(csv_line(columns.iter().cloned()).as_bytes())?;
    }
    let mut row = |r: &[rusqlite::types::Value]| -> std::io::Result<()> {
        match format {
            ExportFormat::Csv => w.write_all(csv_row(r, excel).as_bytes()),
            ExportFormat::Jsonl => {
                let obj: serde_json::Map<String, serde_json::Value> = columns
                    .iter()
                    .cloned()
                    .zip(r.iter().map(json_value))
                    .collect();
                let mut text = json_line(&obj).map_err(std::io::Error::other)?;
                text.push('\n');
                w.write_all(text.as_bytes())
            }
        }
    };
    let n = store.export(table, since.as_deref(), &mut row)?;
    w.flush()?;
    tracing::info!(table, rows = n, "exported");
    Ok(exit::OK)
}

/// A line for a person at a terminal; nothing under cron.
fn say(args: std::fmt::Arguments<'_>) {
    if let Some(b) = BAR.get() {
        b.finish_and_clear();
    }
    if std::io::stdout().is_terminal() {
        println!("{args}");
    } else {
        tracing::info!("{args}");
    }
}

fn load_rules(cfg: &Config) -> Result<RuleSet> {
    Ok(RuleSet::load(cfg.rules.builtin, &cfg.rules.files)?)
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

fn runtime() -> Result<tokio::runtime::Runtime> {
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
enum Locked<T> {
    Done(T),
    Held,
}

/// Take the run lock (or say another run holds it), open the database, watch for
/// SIGINT/SIGTERM, and run `f`.
fn with_lock<T, F>(cfg: &Config, f: F) -> Result<Locked<T>>
where
    F: FnOnce(&mut Store, &StopFlag, &tokio::runtime::Runtime) -> Result<T>,
{
    let _lock = match RunLock::acquire(&cfg.database.path) {
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
fn exit_code(done: Result<Locked<i32>>) -> Result<i32> {
    Ok(match done? {
        Locked::Done(code) => code,
        Locked::Held => exit::LOCKED,
    })
}

fn run_pipeline(cfg: &Config, rules: &RuleSet, opts: &RunOptions, command: &str) -> Result<i32> {
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

/// The same cycle as `run`, on a schedule, under the same lock: a cycle that finds the
/// lock held (a cron run, say) is skipped. Stops cleanly on SIGINT/SIGTERM. The schedule
/// reads the time from [`crate::clock`]: the system clock, or the test clock named by
/// `TENDERSCAN_TEST_CLOCK`; everything else in the cycle keeps the system clock.
fn daemon(cfg: &Config, rules: &RuleSet) -> Result<i32> {
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

fn alert(cfg: &Config, rules: &RuleSet, dry_run: bool, resend: Option<i64>) -> Result<i32> {
    let texts = pipeline::rule_texts(rules);
    exit_code(with_lock(cfg, |store, _stop, rt| {
        let report = match resend {
            Some(id) => rt.block_on(crate::alert::resend(store, cfg, &texts, id))?,
            None => rt.block_on(crate::alert::send_pending(
                store,
                cfg,
                &texts,
                &crate::alert::SendOptions { dry_run },
            ))?,
        };
        let mut out = std::io::stdout().lock();
        for p in &report.previews {
            writeln!(out, "{}\n", block(p))?;
        }
        if !dry_run {
            say(format_args!(
                "{} digests sent ({} alerts)",
                report.digests_sent, report.alerts_sent
            ));
        }
        for f in &report.failed {
            eprintln!("tenderscan: mail failed: {}", line(f));
        }
        // `unconfirmed` digests waiting for their resend were logged as warnings: a
        // warning, not a failure (see README, Exit codes).
        Ok(if report.failed.is_empty() {
            exit::OK
        } else {
            exit::PARTIAL
        })
    }))
}

/// `alert --confirm ID`: a person checked that unconfirmed digest ID arrived.
fn confirm_digest(cfg: &Config, id: i64) -> Result<i32> {
    exit_code(with_lock(cfg, |store, _stop, _rt| {
        let n = crate::alert::confirm(store, id)?;
        say(format_args!(
            "digest {id} marked delivered ({n} alerts); it will not be resent"
        ));
        Ok(exit::OK)
    }))
}

fn show(cfg: &Config, key: &str, format: OutputFormat) -> Result<i32> {
    let store = Store::open(&cfg.database.path)?;
    let evidence = crate::evidence::Evidence::beside(store.path());
    let Some(view) = store
        .find_notice(key)?
        .map(|id| store.notice_view(id))
        .transpose()?
        .flatten()
    else {
        eprintln!("tenderscan: no notice {key:?} (give its number, external id or id)");
        return Ok(exit::BAD_CONFIG);
    };
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => writeln!(
            out,
            "{}",
            json_pretty(&crate::show::notice_json(&view, &evidence))?
        )?,
        OutputFormat::Text => write!(out, "{}", crate::show::notice_text(&view, &evidence))?,
    }
    Ok(exit::OK)
}

fn verify(cfg: &Config, format: OutputFormat) -> Result<i32> {
    let store = Store::open(&cfg.database.path)?;
    let report =
        crate::evidence::Evidence::beside(store.path()).verify(&store, cfg.evidence.keep_days)?;
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => writeln!(out, "{}", json_pretty(&report)?)?,
        OutputFormat::Text => write!(out, "{}", crate::show::verify_text(&report, &store)?)?,
    }
    Ok(if report.failed() {
        exit::PARTIAL
    } else {
        exit::OK
    })
}

fn rules_list(rules: &RuleSet) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "rule set {} ({} rules)",
        rules.version(),
        rules.rules().len()
    )?;
    for r in rules.rules() {
        writeln!(
            out,
            "  {:<8} {:<28} {}",
            r.severity,
            line(&r.id),
            line(&r.title)
        )?;
    }
    Ok(exit::OK)
}

fn rules_eval(
    set: &RuleSet,
    files: &[PathBuf],
    format: OutputFormat,
    min_severity: crate::rules::Severity,
    verbose: bool,
) -> Result<i32> {
    use crate::rules::eval::{self, Label, Tally};
    let mut cases = Vec::new();
    for f in files {
        match eval::load_cases(f) {
            Ok(c) => cases.extend(c),
            Err(e) => {
                eprintln!("tenderscan: {}", line(&e));
                return Ok(exit::BAD_CONFIG);
            }
        }
    }
    let ev = eval::evaluate(set, &cases, min_severity);
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        writeln!(out, "{}", json_line(&EvalJson::new(&ev))?)?;
        return Ok(exit::OK);
    }
    let pct = |v: Option<f64>| {
        v.map(|v| format!("{:.1}%", v * 100.0))
            .unwrap_or("-".into())
    };
    let line = |name: &str, t: &Tally| {
        format!(
            "{name:<18} {:>5}  recall {:>6} ({}/{})  false flags {:>6} ({}/{})  quotas right {:>6} ({}/{})",
            t.fragments,
            pct(t.recall()),
            t.recalled,
            t.positives,
            pct(t.false_flag_rate()),
            t.false_flags,
            t.clean,
            pct(t.quota_accuracy()),
            t.quota_right,
            t.quota_cases
        )
    };
    writeln!(
        out,
        "rule set {} ({} rules), {} fragments, flagged at {} or above",
        ev.rule_set,
        set.rules().len(),
        ev.total.fragments,
        ev.min_severity
    )?;
    writeln!(out, "{}", line("all", &ev.total))?;
    if !ev.by_language.is_empty() {
        writeln!(out, "by language:")?;
        for (k, t) in &ev.by_language {
            writeln!(out, "  {}", line(&safe_text::line(k), t))?;
        }
    }
    if !ev.by_kind.is_empty() {
        writeln!(out, "by kind:")?;
        for (k, t) in &ev.by_kind {
            writeln!(out, "  {}", line(&safe_text::line(k), t))?;
        }
    }
    writeln!(out, "by rule (fragments matched, any severity):")?;
    for (id, r) in &ev.by_rule {
        writeln!(
            out,
            "  {:<28} {:<7} on flag {:>4}  on clean {:>4}",
            id, r.severity, r.on_positives, r.on_clean
        )?;
    }
    if verbose {
        for o in ev.outcomes.iter().filter(|o| o.is_miss()) {
            let what = match (o.label, o.flagged) {
                (Label::Flag, false) => "MISSED",
                (Label::Clean, true) => "FALSE FLAG",
                _ if !o.missing_rules.is_empty() => "RULE MISSING",
                _ => "QUOTA",
            };
            let q = |v: Vec<String>| v.join(", ");
            writeln!(
                out,
                "{what} {} [{}/{}] rules [{}]{}{} quotas [{}] expected [{}]\n    {}",
                safe_text::line(&o.origin),
                safe_text::line(o.kind.as_deref().unwrap_or("-")),
                safe_text::line(o.lang.as_deref().unwrap_or("-")),
                safe_text::line(&o.rules.join(", ")),
                if o.missing_rules.is_empty() {
                    ""
                } else {
                    " missing "
                },
                safe_text::line(&o.missing_rules.join(", ")),
                q(o.quotas
                    .iter()
                    .map(|g| format!(
                        "{} {} {}",
                        g.count,
                        g.kind.as_str(),
                        g.per.map(|p| p.as_str()).unwrap_or("none")
                    ))
                    .collect()),
                q(o.expected_quotas
                    .iter()
                    .flatten()
                    .map(|e| format!(
                        "{} {} {}",
                        e.count,
                        e.kind.map(|k| k.as_str()).unwrap_or("any"),
                        match e.per {
                            None => "any",
                            Some(None) => "none",
                            Some(Some(p)) => p.as_str(),
                        }
                    ))
                    .collect()),
                safe_text::line(&o.text)
            )?;
        }
    }
    Ok(exit::OK)
}

/// `rules eval --format json`: the figures, then every miss.
#[derive(serde::Serialize)]
struct EvalJson<'a> {
    rule_set: &'a str,
    min_severity: &'static str,
    fragments: usize,
    positives: usize,
    recalled: usize,
    recall: Option<f64>,
    clean: usize,
    false_flags: usize,
    false_flag_rate: Option<f64>,
    quota_cases: usize,
    quota_right: usize,
    quota_accuracy: Option<f64>,
    by_language: &'a std::collections::BTreeMap<String, crate::rules::eval::Tally>,
    by_kind: &'a std::collections::BTreeMap<String, crate::rules::eval::Tally>,
    by_rule: &'a std::collections::BTreeMap<String, crate::rules::eval::RuleTally>,
    misses: Vec<&'a crate::rules::eval::Outcome>,
}

impl<'a> EvalJson<'a> {
    fn new(ev: &'a crate::rules::eval::Evaluation) -> Self {
        let t = &ev.total;
        EvalJson {
            rule_set: &ev.rule_set,
            min_severity: ev.min_severity.as_str(),
            fragments: t.fragments,
            positives: t.positives,
            recalled: t.recalled,
            recall: t.recall(),
            clean: t.clean,
            false_flags: t.false_flags,
            false_flag_rate: t.false_flag_rate(),
            quota_cases: t.quota_cases,
            quota_right: t.quota_right,
            quota_accuracy: t.quota_accuracy(),
            by_language: &ev.by_language,
            by_kind: &ev.by_kind,
            by_rule: &ev.by_rule,
            misses: ev.outcomes.iter().filter(|o| o.is_miss()).collect(),
        }
    }
}

fn rules_check(cfg: &Config, file: Option<&Path>) -> Result<i32> {
    let set = match file {
        Some(f) => RuleSet::load(false, &[f.to_path_buf()]),
        None => RuleSet::load(cfg.rules.builtin, &cfg.rules.files),
    };
    let set = match set {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tenderscan: {}", block(&e.to_string()));
            return Ok(exit::BAD_CONFIG);
        }
    };
    let outcomes = set.check_examples();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "rule set {}: {} rules",
        set.version(),
        set.rules().len()
    )?;
    for r in set.rules() {
        let mine: Vec<_> = outcomes.iter().filter(|o| o.rule_id == r.id).collect();
        let passed = mine.iter().filter(|o| o.passed).count();
        writeln!(
            out,
            "  {:<8} {:<28} examples {}/{} passed  ({}:{})",
            r.severity,
            r.id,
            passed,
            mine.len(),
            r.origin,
            r.line
        )?;
    }
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed).collect();
    for o in &failed {
        writeln!(
            out,
            "FAIL {}: {} {}",
            line(&o.rule_id),
            if o.expected_match {
                "example did not match:"
            } else {
                "counterexample matched:"
            },
            line(&format!("{:?}", o.text))
        )?;
    }
    if failed.is_empty() {
        writeln!(
            out,
            "all {} examples and counterexamples pass",
            outcomes.len()
        )?;
        Ok(exit::OK)
    } else {
        writeln!(out, "{} of {} failed", failed.len(), outcomes.len())?;
        Ok(exit::BAD_CONFIG)
    }
}

/// One line of `match --format json`; the field order is part of the contract (fields are
/// only ever added at the end).
#[derive(serde::Serialize)]
struct MatchLine<'a> {
    source: &'a str,
    matches: Vec<MatchJson<'a>>,
    quotas: Vec<QuotaJson>,
    /// Where the text came from (`text`, `pdftotext`, `ocr`, `text+ocr`, ...); null: none.
    text_source: Option<&'a str>,
    /// `read` (page images read by OCR), `unavailable` (not read: no OCR), or null.
    ocr: Option<&'static str>,
    /// What the text output says about OCR ("read by OCR", "not read (scanned, no OCR)").
    ocr_note: Option<&'static str>,
}

#[derive(serde::Serialize)]
struct MatchJson<'a> {
    rule: &'a str,
    severity: &'static str,
    score: f64,
    evidence: &'a str,
    start: usize,
    end: usize,
    /// The matched words were read by OCR.
    ocr: bool,
}

#[derive(serde::Serialize)]
struct QuotaJson {
    kind: &'static str,
    count: u64,
    per: Option<&'static str>,
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

const READ_BY_OCR: &str = "read by OCR";
const PARTLY_BY_OCR: &str = "partly read by OCR";
const NOT_READ: &str = "not read (scanned, no OCR)";
const IMAGES_NOT_READ: &str = "page images not read: no OCR";

/// What `match` says of an input's OCR, in text and JSON.
fn ocr_note(x: &crate::extract::Extracted) -> Option<&'static str> {
    use crate::extract::OcrStatus;
    let by_ocr = x.text_source.as_deref().is_some_and(|s| s.contains("ocr"));
    match x.ocr {
        OcrStatus::NotNeeded => None,
        OcrStatus::Unavailable if x.text.trim().is_empty() => Some(NOT_READ),
        OcrStatus::Unavailable => Some(IMAGES_NOT_READ),
        OcrStatus::Read if by_ocr && x.text_source.as_deref() != Some("ocr") => Some(PARTLY_BY_OCR),
        OcrStatus::Read => Some(READ_BY_OCR),
    }
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

/// `tenderscan match`: the rules over files, no database.
fn match_files(
    cfg: &Config,
    rules: &RuleSet,
    format: OutputFormat,
    paths: &[PathBuf],
) -> Result<i32> {
    let stdin = [PathBuf::from("-")];
    let paths = if paths.is_empty() { &stdin[..] } else { paths };
    let limits = pipeline::extract_limits(cfg);
    let readers = readers(cfg);
    let color = format == OutputFormat::Text && std::io::stdout().is_terminal();
    let mut code = exit::OK;
    let mut out = std::io::stdout().lock();
    for path in paths {
        let shown = path.display().to_string();
        // The name as a person sees it; the JSON `source` keeps it exact.
        let name_line = line(&shown).into_owned();
        let bytes = if shown == "-" {
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut b).map(|_| b)
        } else {
            std::fs::read(path)
        };
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => {
                eprintln!(
                    "tenderscan: {name_line}: cannot read: {}",
                    line(&e.to_string())
                );
                code = exit::BAD_CONFIG;
                continue;
            }
        };
        let name = path.file_name().and_then(|n| n.to_str());
        let x = match readers.read(&bytes, name, None, &limits, &|| false) {
            Ok(x) => {
                for n in &x.notes {
                    tracing::warn!("{shown}: {n}");
                }
                if x.ocr == crate::extract::OcrStatus::Unavailable {
                    eprintln!(
                        "tenderscan: {name_line}: page images not read: no OCR here ({}); see README, Scans and OCR",
                        line(
                            &crate::extract::ocr::availability(&limits.ocr)
                                .err()
                                .unwrap_or_else(|| "a tool it needs is missing".into())
                        )
                    );
                }
                x
            }
            Err(e) => {
                eprintln!("tenderscan: {name_line}: {}", line(&e.to_string()));
                code = exit::BAD_CONFIG;
                continue;
            }
        };
        let text = &x.text;
        let found = rules.find(text, &crate::rules::Context::default());
        let note = ocr_note(&x);
        if format == OutputFormat::Json {
            let line = MatchLine {
                source: &shown,
                matches: found
                    .matches
                    .iter()
                    .map(|m| MatchJson {
                        rule: &m.rule_id,
                        severity: m.severity.as_str(),
                        score: m.score,
                        evidence: &m.evidence,
                        start: m.start,
                        end: m.end,
                        ocr: x.by_ocr(m.start, m.end),
                    })
                    .collect(),
                quotas: found
                    .quotas
                    .iter()
                    .map(|q| QuotaJson {
                        kind: q.kind.as_str(),
                        count: q.count,
                        per: q.per.map(|p| p.as_str()),
                    })
                    .collect(),
                text_source: x.text_source.as_deref(),
                ocr: x.ocr.as_db(),
                ocr_note: note,
            };
            writeln!(out, "{}", json_line(&line)?)?;
            continue;
        }
        let lead = match note {
            Some(n @ NOT_READ) => {
                writeln!(out, "{name_line}: {n}")?;
                continue;
            }
            Some(n @ (READ_BY_OCR | PARTLY_BY_OCR)) => format!("{name_line}: {n}:"),
            _ => format!("{name_line}:"),
        };
        let tail = match note {
            Some(n @ IMAGES_NOT_READ) => format!(" ({n})"),
            _ => String::new(),
        };
        if found.matches.is_empty() {
            writeln!(out, "{lead} no match{tail}")?;
            continue;
        }
        writeln!(out, "{lead} {} matches{tail}", found.matches.len())?;
        for m in &found.matches {
            let (a, b) = (
                m.start.saturating_sub(m.evidence_start),
                m.end.saturating_sub(m.evidence_start),
            );
            let ev = &m.evidence;
            // Each piece made safe on its own, so only our own highlight is an escape code.
            let c = safe_text::cell;
            let lit = match (ev.get(..a), ev.get(a..b), ev.get(b..)) {
                (Some(pre), Some(hit), Some(post)) if color => {
                    format!("{}\x1b[1;31m{}\x1b[0m{}", c(pre), c(hit), c(post))
                }
                (Some(pre), Some(hit), Some(post)) => {
                    format!("{}[[{}]]{}", c(pre), c(hit), c(post))
                }
                _ => c(ev).into_owned(),
            };
            writeln!(
                out,
                "  {:<6} {} (score {:.2}, bytes {}..{}{})\n    {}",
                m.severity,
                m.rule_id,
                m.score,
                m.start,
                m.end,
                if x.by_ocr(m.start, m.end) {
                    ", read by OCR"
                } else {
                    ""
                },
                lit
            )?;
        }
        for q in &found.quotas {
            writeln!(
                out,
                "  quota  {} {}{}",
                q.count,
                q.kind.as_str(),
                q.per
                    .map(|p| format!(" per {}", p.as_str()))
                    .unwrap_or_default()
            )?;
        }
    }
    Ok(code)
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

fn init(path: Option<&Path>) -> Result<i32> {
    let path = path.unwrap_or(Path::new("config.toml"));
    let mut out = std::io::stdout().lock();
    if path.exists() {
        writeln!(out, "{} exists: left as it is", shown(path))?;
    } else {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create folder {}", dir.display()))?;
        }
        std::fs::write(path, DEFAULT_CONFIG)
            .with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(out, "wrote {}", shown(path))?;
    }
    let cfg = Config::load(path)?;
    let store = Store::open(&cfg.database.path)?;
    writeln!(
        out,
        "database {} ready (schema version {})",
        shown(store.path()),
        store.schema_version()?
    )?;
    Ok(exit::OK)
}

/// A path as one safe line.
fn shown(p: &Path) -> String {
    line(&p.display().to_string()).into_owned()
}

/// `status`: every text from the database or the config (source names, their last error as
/// the portal or the network gave it, run commands and statuses) is one safe line.
fn status(cfg: &Config, format: OutputFormat, runs: usize) -> Result<i32> {
    let store = Store::open(&cfg.database.path)?;
    let version = store.schema_version()?;
    let counts = store.table_counts()?;
    let recent = store.recent_runs(runs)?;
    let health = store.source_health()?;
    let unconfirmed = store.unconfirmed_digests()?;
    let ocr_counts = store.ocr_counts()?;
    let ocr_here = crate::extract::ocr::availability(&pipeline::extract_limits(cfg).ocr);
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        let v = serde_json::json!({
            "config": cfg.file,
            "database": store.path(),
            "schema_version": version,
            "tables": counts.iter().map(|(t, n)| (t.to_string(), serde_json::Value::from(*n))).collect::<serde_json::Map<_, _>>(),
            "sources": health,
            "runs": recent,
            "unconfirmed_digests": unconfirmed.iter().map(|d| serde_json::json!({
                "id": d.id,
                "kind": d.kind,
                "recipient": d.recipient,
                "subject": d.subject,
                "message_id": d.message_id,
                "since": d.since,
                "alerts": d.alerts,
                "outlook": crate::alert::unconfirmed_outlook(cfg, d),
            })).collect::<Vec<_>>(),
            "ocr": {
                "available": ocr_here.is_ok(),
                "engine": ocr_here.as_ref().ok(),
                "why_not": ocr_here.as_ref().err(),
                "documents_read": ocr_counts.read,
                "scans_unread": ocr_counts.unread,
                "failed": ocr_counts.failed,
            },
        });
        writeln!(out, "{}", json_pretty(&v)?)?;
        return Ok(exit::OK);
    }
    writeln!(out, "config          {}", shown(&cfg.file))?;
    writeln!(out, "database        {}", shown(store.path()))?;
    writeln!(out, "schema version  {version}")?;
    writeln!(out, "\nrows")?;
    for (t, n) in &counts {
        writeln!(out, "  {:<16} {n:>10}", line(t))?;
    }
    writeln!(out, "\nsources")?;
    let configured: Vec<_> = cfg.sources.iter().collect();
    if configured.is_empty() && health.is_empty() {
        writeln!(out, "  (none configured)")?;
    }
    for s in &configured {
        let h = health.iter().find(|h| h.name == s.name);
        let state = if s.enabled { "enabled" } else { "disabled" };
        match h {
            Some(h) => writeln!(
                out,
                "  {:<20} {:<14} {:<8} last success {}  failures in a row {}{}",
                line(&s.name),
                line(s.kind.name()),
                state,
                line(h.last_success_at.as_deref().unwrap_or("never")),
                h.consecutive_failures,
                h.last_error
                    .as_deref()
                    .filter(|_| h.consecutive_failures > 0)
                    .map(|e| format!("  last error: {}", line(e)))
                    .unwrap_or_default()
            )?,
            None => writeln!(
                out,
                "  {:<20} {:<14} {:<8} never crawled",
                line(&s.name),
                line(s.kind.name()),
                state
            )?,
        }
    }
    writeln!(out, "\nscans (OCR)")?;
    match &ocr_here {
        Ok(e) => writeln!(out, "  OCR here         {}", line(e))?,
        Err(why) => writeln!(out, "  OCR here         none: {}", line(why))?,
    }
    writeln!(out, "  read by OCR      {:>10}", ocr_counts.read)?;
    writeln!(
        out,
        "  not read         {:>10}{}",
        ocr_counts.unread,
        if ocr_counts.unread > 0 {
            "  (stored with no OCR installed: `tenderscan scan --ocr` reads them once it is)"
        } else {
            ""
        }
    )?;
    if ocr_counts.failed > 0 {
        writeln!(out, "  OCR failed       {:>10}", ocr_counts.failed)?;
    }
    if !unconfirmed.is_empty() {
        writeln!(
            out,
            "\nunconfirmed digests (a run stopped while handing them to the mail server)"
        )?;
        for d in &unconfirmed {
            writeln!(
                out,
                "  #{:<5} to {}  since {}  {} alerts  subject {:?}\n         {}",
                d.id,
                d.recipient,
                d.since,
                d.alerts,
                d.subject,
                crate::alert::unconfirmed_outlook(cfg, d)
            )?;
        }
    }
    writeln!(out, "\nlast runs")?;
    if recent.is_empty() {
        writeln!(out, "  (none yet)")?;
    }
    for r in &recent {
        writeln!(
            out,
            "  #{:<5} {:<6} {} .. {}  {:<11} new {} changed {} documents {} matches {} alerts sent {} errors {}",
            r.id,
            line(&r.command),
            line(&r.started_at),
            line(r.finished_at.as_deref().unwrap_or("(running or killed)")),
            line(r.status.as_str()),
            r.notices_new,
            r.notices_changed,
            r.documents,
            r.matches,
            r.alerts_sent,
            r.errors
        )?;
    }
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A log sink in memory.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the API answered: {0}")]
    struct PortalError(String);

    #[test]
    fn text_log_fields_cannot_end_the_line_or_reach_the_terminal_raw() {
        use tracing_subscriber::prelude::*;
        let sink = Sink::default();
        let writer = sink.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .without_time()
            .fmt_fields(SafeFields);
        let subscriber = tracing_subscriber::registry().with(layer);
        let hostile = "x\r\n2026-01-01 ERROR forged\x1b[2J\x07\0\u{202e}\u{9b}";
        let e = PortalError(hostile.into());
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("crawl", source = %hostile);
            let _g = span.enter();
            tracing::error!(
                url = %hostile,
                name = hostile,
                error = &e as &(dyn std::error::Error + 'static),
                "message {hostile}"
            );
        });
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(
            out.chars()
                .all(|c| c == '\n' || !crate::safe_text::is_unsafe(c)),
            "{out:?}"
        );
        let shown = "x\\r\\n2026-01-01 ERROR forged\\x1b[2J\\x07\\x00\\u202e\\u009b";
        for part in [
            format!("crawl{{source={shown}}}"),
            format!("message {shown}"),
            format!("url={shown}"),
            format!("error=the API answered: {shown}"),
        ] {
            assert!(out.contains(&part), "{part:?} not in {out:?}");
        }
        // A string field is quoted as before; its Debug escapes stay readable.
        assert!(
            out.contains("name=\"x\\r\\n2026-01-01 ERROR forged"),
            "{out}"
        );
    }
}
