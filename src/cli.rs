//! The command line: clap definitions, logging set-up and output formatting.
//!
//! It turns arguments into settings and calls the library; it holds no business logic.
//! Exit codes are a contract with crontabs (see README): 0 all well, 1 part of the work
//! failed (the rest was done), 2 bad config, bad input or unusable database, 3 another
//! run holds the lock.

use crate::config::{Config, DEFAULT_CONFIG};
use crate::store::Store;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

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
}

/// Parse the arguments, run the command, return the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    init_logging(&cli);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tenderscan: error: {e:#}");
            exit::BAD_CONFIG
        }
    }
}

fn init_logging(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match cli.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .try_init(),
    };
}

fn run(cli: Cli) -> Result<i32> {
    match &cli.command {
        Command::Init => init(cli.config.as_deref()),
        Command::Status { format, runs } => {
            let cfg = load_config(cli.config.as_deref())?;
            status(&cfg, *format, *runs)
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

fn init(path: Option<&Path>) -> Result<i32> {
    let path = path.unwrap_or(Path::new("config.toml"));
    let mut out = std::io::stdout().lock();
    if path.exists() {
        writeln!(out, "{} exists: left as it is", path.display())?;
    } else {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create folder {}", dir.display()))?;
        }
        std::fs::write(path, DEFAULT_CONFIG)
            .with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(out, "wrote {}", path.display())?;
    }
    let cfg = Config::load(path)?;
    let store = Store::open(&cfg.database.path)?;
    writeln!(
        out,
        "database {} ready (schema version {})",
        store.path().display(),
        store.schema_version()?
    )?;
    Ok(exit::OK)
}

fn status(cfg: &Config, format: OutputFormat, runs: usize) -> Result<i32> {
    let store = Store::open(&cfg.database.path)?;
    let version = store.schema_version()?;
    let counts = store.table_counts()?;
    let recent = store.recent_runs(runs)?;
    let health = store.source_health()?;
    let mut out = std::io::stdout().lock();
    if format == OutputFormat::Json {
        let v = serde_json::json!({
            "config": cfg.file,
            "database": store.path(),
            "schema_version": version,
            "tables": counts.iter().map(|(t, n)| (t.to_string(), serde_json::Value::from(*n))).collect::<serde_json::Map<_, _>>(),
            "sources": health,
            "runs": recent,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(exit::OK);
    }
    writeln!(out, "config          {}", cfg.file.display())?;
    writeln!(out, "database        {}", store.path().display())?;
    writeln!(out, "schema version  {version}")?;
    writeln!(out, "\nrows")?;
    for (t, n) in &counts {
        writeln!(out, "  {t:<16} {n:>10}")?;
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
                s.name,
                s.kind,
                state,
                h.last_success_at.as_deref().unwrap_or("never"),
                h.consecutive_failures,
                h.last_error
                    .as_deref()
                    .filter(|_| h.consecutive_failures > 0)
                    .map(|e| format!("  last error: {e}"))
                    .unwrap_or_default()
            )?,
            None => writeln!(
                out,
                "  {:<20} {:<14} {:<8} never crawled",
                s.name, s.kind, state
            )?,
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
            r.command,
            r.started_at,
            r.finished_at.as_deref().unwrap_or("(running or killed)"),
            r.status,
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
