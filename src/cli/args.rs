//! The command line's arguments: clap definitions of the commands, their options and
//! output formats, and the rule files `match` and `rules eval` add.
//!
//! What this module must never do: open the database, print, or change a command's name,
//! an option or a default without the README saying so: they are a contract with
//! crontabs and scripts.

use crate::config::Config;
use crate::rules::RuleSet;
use anyhow::Result;
use clap::{ArgGroup, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
    #[command(after_help = INIT_HELP)]
    Init,
    /// Show the database, its schema version, rows per table, sources' health and the last runs
    #[command(after_help = STATUS_HELP)]
    Status {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// How many recent runs to show
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
    /// Run the rules over files (txt, html, docx, pdf, ...; `-` for stdin), without a database
    #[command(after_help = MATCH_HELP)]
    Match {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        #[command(flatten)]
        rules: RuleFiles,
        /// Files or folders (walked recursively) to read; stdin when none or `-`
        paths: Vec<PathBuf>,
        /// Files read at once (the output keeps the files' order); default `[scan] threads`
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
        threads: Option<u16>,
    },
    /// Work with rules
    #[command(after_help = RULES_HELP)]
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Run the rules over stored notices the current rule set has not read
    #[command(after_help = SCAN_HELP)]
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
        /// Threads the rules run on (the results and their order stay the same); default
        /// `[scan] threads`
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
        threads: Option<u16>,
    },
    /// Crawl sources, fetch and read their documents, scan; alerts stay queued
    #[command(after_help = CRAWL_HELP)]
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
    #[command(after_help = RUN_HELP)]
    Run {
        /// Record matches without mailing them (for a first backfill)
        #[arg(long)]
        baseline: bool,
        /// Only this source (even if disabled)
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
    },
    /// Fetch a period of the past: metadata first, then documents by priority; resumable
    #[command(after_help = BACKFILL_HELP)]
    Backfill {
        /// First day of the period (YYYY-MM-DD)
        #[arg(long, value_name = "DATE")]
        since: chrono::NaiveDate,
        /// Last day of the period (YYYY-MM-DD; default today)
        #[arg(long, value_name = "DATE")]
        until: Option<chrono::NaiveDate>,
        /// Only this source (even if disabled)
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
        /// Record matches without mailing them
        #[arg(long)]
        baseline: bool,
    },
    /// Run the cycle of `run` on the config's [schedule] cron, for hosts without cron
    #[command(after_help = DAEMON_HELP)]
    Daemon,
    /// Run a canned report from queries/ (`--list` lists them)
    #[command(after_help = REPORT_HELP)]
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
    #[command(after_help = SEARCH_HELP)]
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
    /// Export a table as CSV or JSON Lines, oldest first
    #[command(after_help = EXPORT_HELP)]
    Export {
        #[arg(long, value_enum, default_value_t = ExportFormat::Csv)]
        format: ExportFormat,
        /// Only rows of notices published on or after this date (YYYY-MM-DD, UTC; the
        /// first-seen date where the portal gave none); agencies, suppliers and runs by
        /// their first-seen or start date
        #[arg(long, value_name = "DATE")]
        since: Option<chrono::NaiveDate>,
        /// Only rows tenderscan first recorded on or after this date (YYYY-MM-DD, UTC)
        #[arg(long, value_name = "DATE")]
        seen_since: Option<chrono::NaiveDate>,
        /// The table (see the list below)
        #[arg(long, default_value = "flags")]
        table: String,
        /// CSV for Excel: UTF-8 with a byte-order mark
        #[arg(long)]
        excel: bool,
        /// Write here instead of stdout
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Print Datasette metadata: the reports as canned queries, full-text search, tables described
    #[command(after_help = DATASETTE_HELP)]
    DatasetteMetadata,
    /// Everything about one notice: agency, amounts, lots, documents, matches, versions, evidence
    #[command(after_help = SHOW_HELP)]
    Show {
        /// The notice: its number, external id, id, or its URL on the portal
        notice: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Write this document of the notice (its [N] in `show`) as fetched, decompressed
        /// out of the evidence folder, to the file `-o` names
        #[arg(long, value_name = "N", requires = "output")]
        document: Option<i64>,
        /// The file `--document` writes (`-` for stdout)
        #[arg(long, short, value_name = "FILE", requires = "document")]
        output: Option<PathBuf>,
    },
    /// Re-hash the evidence folder; exit 1 when a file is missing or no longer matches
    #[command(after_help = VERIFY_HELP)]
    Verify {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Send the pending alert digests
    #[command(after_help = ALERT_HELP)]
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
    /// Record a reviewer's verdict on a flag (a notice or lot, and a rule), or list them
    #[command(after_help = REVIEW_HELP)]
    Review {
        /// The notice: its number, external id, id, or its URL on the portal
        #[arg(required_unless_present = "list", conflicts_with = "list")]
        notice: Option<String>,
        /// The verdict
        #[arg(value_enum, required_unless_present = "list", conflicts_with = "list")]
        verdict: Option<VerdictArg>,
        /// The rule whose flag it is (as `rules list` names it)
        #[arg(
            long,
            value_name = "ID",
            required_unless_present = "list",
            conflicts_with = "list"
        )]
        rule: Option<String>,
        /// Why (kept with the verdict)
        #[arg(long, value_name = "TEXT", conflicts_with = "list")]
        note: Option<String>,
        /// The flag is in this lot of the notice (its number, external id or id)
        #[arg(long, value_name = "LOT", conflicts_with = "list")]
        lot: Option<String>,
        /// Who gives the verdict [default: $USER]
        #[arg(long, value_name = "NAME", conflicts_with = "list")]
        by: Option<String>,
        /// List the reviewed flags with their current verdict, latest first
        #[arg(long)]
        list: bool,
        /// With --list: only flags whose current verdict is this
        #[arg(
            long = "verdict",
            id = "only",
            value_enum,
            value_name = "VERDICT",
            requires = "list"
        )]
        only: Option<VerdictArg>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// The newsroom's web page: the flags, notices with their evidence, agencies, suppliers, search
    #[command(after_help = SERVE_HELP)]
    Serve {
        /// Listen on this address instead of `[serve] listen` (e.g. 0.0.0.0:8080 to share it on the newsroom's network)
        #[arg(long, value_name = "ADDR", conflicts_with = "hash_password")]
        listen: Option<String>,
        /// Read a password from stdin and print its argon2 hash (a PHC string for `[serve] password_file` or `password_env`), then exit
        #[arg(long)]
        hash_password: bool,
    },
    /// Manage the evidence folder: `repack` moves loose payload files into pack files
    #[command(after_help = EVIDENCE_HELP)]
    Evidence {
        #[command(subcommand)]
        command: EvidenceCommand,
    },
    /// Edit the watchlist: the watch file beside the database (watches.toml)
    #[command(after_help = WATCH_HELP)]
    Watch {
        #[command(subcommand)]
        command: WatchCommand,
    },
}

const REVIEW_HELP: &str = "Verdicts: confirmed, false-positive (no further alerts about the flag unless the notice's amount changes or the rule finds new words), published (watched for quiet edits) and watching. Each verdict is kept; the flag's current verdict is its latest (`review --list`, the flag_reviews view).

Example:
  tenderscan review 17163708-1 --rule fake-accounts false-positive --note \"a monitoring service, no accounts made\"
  tenderscan review 17163708-1 --rule paid-comments --lot 17163708-ZTP1 published --by aigul
  tenderscan review --list --verdict false-positive --format json

Exit codes: 0 recorded (or listed); 2 no such notice, lot or flag of that rule, no reviewer name, bad config or unusable database.";

/// A reviewer's verdict (`tenderscan review`).
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum VerdictArg {
    Confirmed,
    FalsePositive,
    Published,
    Watching,
}

impl From<VerdictArg> for crate::states::Verdict {
    fn from(v: VerdictArg) -> Self {
        match v {
            VerdictArg::Confirmed => crate::states::Verdict::Confirmed,
            VerdictArg::FalsePositive => crate::states::Verdict::FalsePositive,
            VerdictArg::Published => crate::states::Verdict::Published,
            VerdictArg::Watching => crate::states::Verdict::Watching,
        }
    }
}

const WATCH_HELP: &str = "A watch alerts every new or changed notice that matches it, in its own section of the \
digests (\"On your watchlist\"), whether or not a rule flagged it. Watches live in config.toml \
([[watch]]) and in the watch file beside the database, which these commands edit.

Example:
  tenderscan watch add rudny-akimat --agency-bin 990240001234
  tenderscan watch add smm-words --query \"продвижение в социальных сетях\" --recipient desk@newsroom.kz
  tenderscan watch add media-supplier --supplier-bin 120340005678 --recipient telegram:@newsdesk_kz
  tenderscan watch list
  tenderscan watch remove smm-words

Exit codes: 0 done; 2 a bad watch, a watch file that cannot be read or written, or no such watch.";

const EVIDENCE_HELP: &str = "Example:\n  tenderscan evidence repack\n\n\
Exit codes: 0 done; 1 some loose files do not hash to their name and were left alone (`verify` lists them); \
2 bad config, unusable database, or a file or pack that cannot be read or written.";

#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Move the loose evidence files (ab/<sha256>.zst) into pack files, crash-safe
    #[command(after_help = EVIDENCE_HELP)]
    Repack {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum WatchCommand {
    /// Add a watch to the watch file (one thing to watch; all recipients unless --recipient)
    #[command(after_help = WATCH_HELP, group(ArgGroup::new("what").required(true)))]
    Add {
        /// The watch's name (shown in the digests)
        name: String,
        /// The agency's (customer's or organiser's) BIN, 12 digits
        #[arg(long, value_name = "BIN", group = "what")]
        agency_bin: Option<String>,
        /// A supplier's BIN (of an award or a contract), 12 digits
        #[arg(long, value_name = "BIN", group = "what")]
        supplier_bin: Option<String>,
        /// A region, as the portal names it (compared without case)
        #[arg(long, value_name = "REGION", group = "what")]
        region: Option<String>,
        /// An ENSTRU/KTRU code prefix (compared with the lots' codes)
        #[arg(long, value_name = "PREFIX", group = "what")]
        code: Option<String>,
        /// Words to find, in the syntax of `tenderscan search` (all of them, inflected forms too)
        #[arg(long, value_name = "WORDS", group = "what")]
        query: Option<String>,
        /// A recipient as `status` names it: an address, telegram:CHAT, webhook:URL, atom:PATH
        /// (repeatable; all recipients when absent)
        #[arg(long = "recipient", value_name = "NAME")]
        recipients: Vec<String>,
    },
    /// List the watches of config.toml and of the watch file, with where each is written
    #[command(after_help = WATCH_HELP)]
    List {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Remove a watch from the watch file
    #[command(after_help = WATCH_HELP)]
    Remove { name: String },
}

/// `--help` of the commands: an example and the exit codes (README, Exit codes).
const INIT_HELP: &str = "Example:\n  tenderscan init\n\nExit codes: 0 written (or already there); 2 the database cannot be created.";
const STATUS_HELP: &str = "Example:\n  tenderscan status --format json --runs 3\n\nExit codes: 0 shown; 2 bad config or unusable database.";
const MATCH_HELP: &str = "Example:\n  tenderscan match specs/ techspec.pdf\n\nExit codes: 0 read (matches or not); 2 a file or folder could not be read (after the others), or bad rules.";
const RULES_HELP: &str = "Example:\n  tenderscan rules check my-rules.toml\n\nExit codes: 0 all well; 2 a rule is invalid, clashes with another, or an example fails.";
const SCAN_HELP: &str = "Example:\n  tenderscan scan --all\n\nExit codes: 0 scanned; 1 with --ocr: still no OCR, or OCR failed; 2 bad config or unusable database; 3 another run holds the lock.";
const CRAWL_HELP: &str = "Example:\n  tenderscan crawl --source goszakup --since 2026-01-01 --limit 50\n\nExit codes: 0 all well; 1 a source failed (the rest was done) or a signal stopped it; 2 bad config or unusable database; 3 another run holds the lock.";
const RUN_HELP: &str = "Example:\n  tenderscan run            # in crontab: */30 * * * * cd /srv/tenderscan && tenderscan run\n\nExit codes: 0 all well (a source without its token is skipped unless required); 1 a source or the mail failed (the rest was done), or a signal stopped it; 2 bad config or unusable database; 3 another run holds the lock.";
const DAEMON_HELP: &str = "Example:\n  tenderscan daemon\n\nExit codes: 0 stopped by SIGINT or SIGTERM (a cycle whose run failed is logged, and the next cycle comes); 2 bad config.";
const REPORT_HELP: &str = "Example:\n  tenderscan report flagged_tenders --param since=2026-01-01 --format csv --excel > flagged.csv\n\nExit codes: 0 done; 2 unknown report or parameter, bad value, bad config or unusable database.";
const SEARCH_HELP: &str = "Example:\n  tenderscan search \"фейковые аккаунты\" --format md\n\nExit codes: 0 done (with hits or none); 2 bad config or unusable database.";
const DATASETTE_HELP: &str = "Example:\n  tenderscan datasette-metadata > metadata.json && datasette serve -i tenderscan.db --metadata metadata.json\n\nExit codes: 0 written; 2 bad config or a report of [reports] dirs is malformed.";
const SERVE_HELP: &str = "Pages: / (the flags: filters severity, rule, agency, region, since, until, verdict, source; sort by date, amount or price), /notice/ID, /agency/BIN, /supplier/ID, /search?q=WORDS, /charts, /document/SHA256 (a document's original bytes). Read-only unless [serve] reviewers names users (then /login and a verdict form on each notice). Prints `listening on http://ADDR` once it listens; stops on Ctrl-C.

Example:
  tenderscan serve
  tenderscan serve --listen 0.0.0.0:8080
  echo 'a long passphrase' | tenderscan serve --hash-password

Exit codes: 0 stopped (or the hash printed); 2 bad config, unusable database, the address cannot be listened on, or no password on stdin.";
const SHOW_HELP: &str = "Example:\n  tenderscan show https://goszakup.gov.kz/ru/announce/index/17163708\n  tenderscan show 17163708-1 --document 3 -o spec.docx\n\nExit codes: 0 shown; 1 the document's bytes are not kept; 2 no such notice or document, bad config or unusable database.";
const VERIFY_HELP: &str = "Example:\n  tenderscan verify --format json\n\nExit codes: 0 every evidence file is there and matches its hash; 1 one is missing or no longer matches; 2 bad config or unusable database.";
const ALERT_HELP: &str = "Example:\n  tenderscan alert --dry-run\n\nExit codes: 0 sent (or nothing to send); 1 a digest could not be sent (it stays pending); 2 bad config or unusable database; 3 another run holds the lock.";
const RULES_CHECK_HELP: &str = "Example:\n  tenderscan rules check my-rules.toml\n\nExit codes: 0 valid and every example passes (an empty file: a warning); 2 invalid, an id clashes with a rule run would load, or an example fails.";
const RULES_LIST_HELP: &str =
    "Example:\n  tenderscan rules list\n\nExit codes: 0 listed; 2 a rule file is invalid.";
const RULES_EVAL_HELP: &str = "Example:\n  tenderscan rules eval tests/fixtures/rules/labelled.toml --misses\n  tenderscan rules eval --from-reviews --misses\n\nExit codes: 0 scored; 2 a fragment file or a rule file is invalid, or (--from-reviews) an unusable database.";

const BACKFILL_HELP: &str = "Two stages: the metadata of the whole period (its own cursor), then the documents by priority ([backfill]: flagged, candidates, other services, the rest; newest first within each). Killed, it carries on where it stopped; it waits while a run, crawl or scan is under way.\n\nExample:\n  tenderscan backfill --since 2025-12-01 --source goszakup\n\nExit codes: 0 done; 1 a source failed or the backfill was interrupted; 2 bad config or database; 3 another backfill holds its lock.";

const RULES_TRAIN_HELP: &str = "Fragments: JSON Lines or TOML as for `rules eval`; only those with `label` are used.\n\nExample:\n  tenderscan rules train tests/fixtures/rules/corpus/tune*.jsonl -o model.tsv\n\nExit codes: 0 written; 2 a fragment file or the output cannot be read or written.";

/// `export --help`: every table (a test keeps it in step with `store::EXPORT_TABLES`).
const EXPORT_HELP: &str = "\
Tables (--table):
  flags            one row per flagged notice (or lot) and rule (default)
  notices          procurement notices
  lots             lots of the notices
  agencies         buyers, by BIN
  awards           awards and contracts (sources with contract data)
  supplier_awards  one row per award and supplier, with the notice and its agency
  suppliers        companies awarded notices
  documents        attachments with their extracted text
  matches          every rule match with its evidence and quotas
  notice_versions  every version of each notice and what changed
  evidence         payloads kept in the evidence folder, by sha256
  runs             runs of tenderscan

Example:
  tenderscan export --table flags --since 2026-01-01 --excel -o flags.csv

Exit codes: 0 done (also when the reader closed the pipe early, as `| head` does);
2 bad arguments, unknown table or unusable database.";

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
    /// Leave out the statistical second opinion
    #[arg(long)]
    pub no_second_opinion: bool,
    /// The second opinion's model file (from `rules train`) instead of the configured one
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

impl RuleFiles {
    /// The configured rules plus these files, the built-in ones unless left out, with the
    /// second opinion unless left out.
    pub(super) fn load(&self, cfg: &Config) -> Result<RuleSet> {
        Ok(cfg.rules.load(
            !self.no_builtin,
            &self.rules,
            self.model.as_deref(),
            self.no_second_opinion,
        )?)
    }
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate rules and run every rule's examples and counterexamples
    #[command(after_help = RULES_CHECK_HELP)]
    Check {
        /// A rule file to check (default: the configured rule set)
        file: Option<PathBuf>,
    },
    /// List the rules in use
    #[command(after_help = RULES_LIST_HELP)]
    List,
    /// Score the rules in use on labelled fragments: recall, false flags, quotas
    #[command(after_help = RULES_EVAL_HELP)]
    Eval {
        /// Labelled fragments: TOML (`[[fragment]]`) or JSON Lines (`text`, `label` =
        /// flag|clean, optional `quota`, `kind`, `lang`)
        #[arg(required_unless_present = "from_reviews")]
        files: Vec<PathBuf>,
        /// Also score, as clean cases, the evidence of the flags reviewers dismissed
        /// (current verdict `false-positive`, `tenderscan review`) from the database
        #[arg(long)]
        from_reviews: bool,
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
    /// Train the second opinion's model on labelled fragments (never on those you score it on)
    #[command(after_help = RULES_TRAIN_HELP)]
    Train {
        /// Labelled fragments (only those with `label` = flag|clean are used)
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Where to write the model ([rules] model = "..." uses it)
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// A passage scoring above this is a `second-opinion` match
        #[arg(long, default_value_t = crate::rules::TrainOptions::default().threshold)]
        threshold: f32,
        /// A rule hit whose passages all score below this is lowered to low
        #[arg(long, default_value_t = crate::rules::TrainOptions::default().veto, allow_hyphen_values = true)]
        veto: f32,
        /// Words seen in fewer fragments are left out
        #[arg(long, default_value_t = crate::rules::TrainOptions::default().min_count)]
        min_count: usize,
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

fn parse_param(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected NAME=VALUE"))?;
    Ok((k.trim().trim_start_matches(':').to_string(), v.to_string()))
}
