//! Loading and validating `config.toml`.
//!
//! The file is parsed once, here, into typed settings; nothing else reads TOML. Each source's
//! `kind` is an enum carrying the settings only that kind reads ([`SourceKind`], in
//! `config/sources.rs`); CSS selectors, time zones, the cron line and OCDS formats are
//! compiled at load and carried compiled, so nothing downstream parses them again.
//! Unknown keys are errors, and every error names the file, the line and the key.
//! Every number has a range ([`BOUNDS`], documented in README's configuration table): a
//! value outside it is an error, so nothing downstream does arithmetic on an absurd value.
//! Secrets never live in the file: keys ending in `_env` name environment variables,
//! read only when the secret is needed. Relative paths resolve against the folder of
//! the config file.

use crate::model::Severity;
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};

mod sources;
pub mod watch;
pub use sources::{
    Css, GoszakupHtmlSettings, GoszakupSettings, HtmlSettings, HtmlTable, OcdsFormat, OcdsSettings,
    ProzorroSettings, SOURCE_KEYS, SamrukSettings, SourceConfig, SourceKind,
};
pub use watch::{Watch, WatchEntry, WatchOn};

/// The documented default configuration, also written by `tenderscan init`.
pub const DEFAULT_CONFIG: &str = include_str!("../config.toml");

/// Source kinds this build can crawl.
pub const SOURCE_KINDS: &[&str] = &[
    "goszakup",
    "goszakup-html",
    "ocds",
    "html",
    "samruk",
    "prozorro",
];

/// How far back a first crawl may reach, in days (`[[sources]] lookback_days`).
pub const MAX_LOOKBACK_DAYS: u32 = 3650;

/// The values a number in the config may take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    /// A whole number from `min` to `max`, both included.
    Int { min: u64, max: u64 },
    /// A finite number from `min` (above it when `min_excluded`) to `max` included. NaN and
    /// the infinities are never in range.
    Float {
        min: f64,
        min_excluded: bool,
        max: f64,
    },
}

impl Range {
    const fn int(min: u64, max: u64) -> Range {
        Range::Int { min, max }
    }
    const fn float(min: f64, max: f64) -> Range {
        Range::Float {
            min,
            min_excluded: false,
            max,
        }
    }
    const fn above(min: f64, max: f64) -> Range {
        Range::Float {
            min,
            min_excluded: true,
            max,
        }
    }

    /// True when `n` is in the range.
    pub fn contains(&self, n: Number) -> bool {
        match (*self, n) {
            (Range::Int { min, max }, Number::Int(v)) => (min..=max).contains(&v),
            (Range::Int { .. }, Number::Float(_)) => false,
            (
                Range::Float {
                    min,
                    min_excluded,
                    max,
                },
                n,
            ) => {
                let v = match n {
                    Number::Int(v) => v as f64,
                    Number::Float(v) => v,
                };
                v.is_finite() && (if min_excluded { v > min } else { v >= min }) && v <= max
            }
        }
    }
}

/// As README's configuration table writes it: `1 to 3650`, `above 0, at most 1000000000`.
impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Range::Int { min, max } => write!(f, "{min} to {max}"),
            Range::Float {
                min,
                min_excluded: false,
                max,
            } => write!(f, "{} to {}", Number::Float(min), Number::Float(max)),
            Range::Float { min, max, .. } => {
                write!(
                    f,
                    "above {}, at most {}",
                    Number::Float(min),
                    Number::Float(max)
                )
            }
        }
    }
}

/// A number as the config holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(u64),
    Float(f64),
}

/// Short for people: `4294967295`, `0.5`, `1e300`, `1e-12`, `NaN`, `inf`.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Number::Int(v) => write!(f, "{v}"),
            Number::Float(v) if v.is_finite() && v != 0.0 && !(1e-6..1e15).contains(&v.abs()) => {
                write!(f, "{v:e}")
            }
            Number::Float(v) => write!(f, "{v}"),
        }
    }
}

impl From<u64> for Number {
    fn from(v: u64) -> Number {
        Number::Int(v)
    }
}
impl From<u32> for Number {
    fn from(v: u32) -> Number {
        Number::Int(v.into())
    }
}
impl From<u16> for Number {
    fn from(v: u16) -> Number {
        Number::Int(v.into())
    }
}
impl From<usize> for Number {
    fn from(v: usize) -> Number {
        Number::Int(u64::try_from(v).unwrap_or(u64::MAX))
    }
}
impl From<f64> for Number {
    fn from(v: f64) -> Number {
        Number::Float(v)
    }
}

/// One number of the config and its range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// The table as README's configuration table names it: `crawl`, `sources` (each
    /// `[[sources]]`), `sources.html`, `currency`, `mail`, `evidence`, `scan`.
    pub table: &'static str,
    pub key: &'static str,
    pub range: Range,
}

const fn bound(table: &'static str, key: &'static str, range: Range) -> Bound {
    Bound { table, key, range }
}

/// Every number the config holds, with its range. To add a number: a line here, a line in
/// [`Config::numbers`], and the range in README's configuration table; unit tests check that
/// the three agree and that every number in config.toml has a line here.
pub const BOUNDS: &[Bound] = &[
    bound("crawl", "max_document_bytes", Range::int(1024, 4 << 30)),
    bound("crawl", "timeout_secs", Range::int(1, 3600)),
    bound("crawl", "extract_timeout_secs", Range::int(1, 3600)),
    bound("crawl", "max_documents_per_notice", Range::int(0, 1000)),
    bound("crawl", "max_retries", Range::int(0, 20)),
    bound("crawl", "backoff_secs", Range::float(0.0, 86400.0)),
    bound("crawl", "refused_backoff_secs", Range::float(0.0, 86400.0)),
    bound("crawl", "reader_processes", Range::int(0, 16)),
    bound("crawl", "reader_memory_mib", Range::int(128, 65_536)),
    bound("crawl", "ocr_max_pages", Range::int(0, 10_000)),
    bound("crawl", "ocr_timeout_secs", Range::int(1, 86_400)),
    bound("crawl", "ocr_max_text_bytes", Range::int(1024, 1 << 30)),
    bound(
        "sources",
        "lookback_days",
        Range::int(0, MAX_LOOKBACK_DAYS as u64),
    ),
    bound(
        "sources",
        "requests_per_second",
        Range::float(0.001, 1000.0),
    ),
    bound("sources", "max_download_bytes", Range::int(1, 1 << 40)),
    bound("sources", "page_size", Range::int(1, 1000)),
    bound("sources", "min_interval_secs", Range::int(0, 86_400)),
    bound("sources.html", "max_pages", Range::int(1, 10_000)),
    bound("currency", "rates", Range::above(0.0, 1e9)),
    bound("mail", "smtp_port", Range::int(1, 65535)),
    bound("mail", "timeout_secs", Range::int(1, 3600)),
    bound(
        "mail",
        "resend_unconfirmed_after_hours",
        Range::int(0, MAX_RESEND_UNCONFIRMED_AFTER_HOURS),
    ),
    bound("evidence", "keep_days", Range::int(0, 36500)),
    bound("evidence", "recheck_days", Range::int(0, 3650)),
    bound("scan", "threads", Range::int(0, 256)),
];

/// The range of `table`.`key`, from [`BOUNDS`].
pub fn bound_of(table: &str, key: &str) -> Option<&'static Bound> {
    BOUNDS.iter().find(|b| b.table == table && b.key == key)
}

/// One number read from the config, where it sits.
#[derive(Debug, Clone, PartialEq)]
struct Setting {
    /// As in [`Bound::table`].
    table: &'static str,
    /// As in [`Bound::key`].
    key: &'static str,
    /// The `[[sources]]` element.
    index: Option<usize>,
    /// Below the key, for a table of numbers (`rates.UAH`: `UAH`).
    entry: Option<String>,
    value: Number,
}

/// A configuration error: the file, the line (where known), the key, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub database: DatabaseConfig,
    #[serde(default)]
    pub crawl: CrawlConfig,
    /// `[[sources]]`, read on their own (`config/sources.rs`): each kind has its own keys.
    #[serde(skip)]
    pub sources: Vec<SourceConfig>,
    #[serde(default)]
    pub mail: MailConfig,
    #[serde(default)]
    pub recipients: Vec<Recipient>,
    /// `[telegram]`: the bot that `channel = "telegram"` recipients are sent through.
    #[serde(default)]
    pub telegram: TelegramConfig,
    /// `[webhook]`: the secret that signs `channel = "webhook"` deliveries.
    #[serde(default)]
    pub webhook: WebhookConfig,
    /// `[alerts]`: settings every channel shares.
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// `[serve]`: the newsroom's web page of tenderscan (issue #19).
    #[serde(default)]
    pub serve: ServeConfig,
    /// `[[watch]]` as written; checked into [`Config::watches`].
    #[serde(default)]
    watch: Vec<WatchEntry>,
    /// The config's own watches (the watch file's are read by [`watch::load_all`]).
    #[serde(skip)]
    pub watches: Vec<Watch>,
    #[serde(default)]
    pub rules: RulesConfig,
    /// `[reports]`: folders of the user's own reports.
    #[serde(default)]
    pub reports: ReportsConfig,
    #[serde(default)]
    pub schedule: ScheduleConfig,
    /// Exchange rates for comparing amounts in one currency (`notices_in_base`).
    #[serde(default)]
    pub currency: CurrencyConfig,
    #[serde(default)]
    pub evidence: EvidenceConfig,
    /// `[scan]`: how the rules run over stored notices and files.
    #[serde(default)]
    pub scan: ScanConfig,
    /// `[backfill]`: which documents a backfill fetches first.
    #[serde(default)]
    pub backfill: BackfillConfig,
    /// The file this was loaded from (`<embedded default>` when none).
    #[serde(skip)]
    pub file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub path: PathBuf,
}

/// Settings shared by every source's fetching.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrawlConfig {
    /// Who to contact about this crawler; goes into the User-Agent.
    pub contact: String,
    /// Largest attachment downloaded, in bytes.
    pub max_document_bytes: u64,
    /// Time limit for one HTTP request, in seconds.
    pub timeout_secs: u64,
    /// Time budget for extracting the text of one document, in seconds.
    pub extract_timeout_secs: u64,
    /// Attachments fetched per notice at most (technical specifications first).
    pub max_documents_per_notice: usize,
    /// Retries of a failed request (429, 5xx, timeouts, network errors), after the first try.
    pub max_retries: u32,
    /// First back-off between retries, in seconds; it doubles each time (with jitter).
    pub backoff_secs: f64,
    /// The least wait before retrying an HTTP 403 or 500 (a portal refusing for a while).
    pub refused_backoff_secs: f64,
    /// Worker processes that read documents (each limited, killed at its deadline); 0 reads
    /// in tenderscan's own process, without that protection.
    pub reader_processes: usize,
    /// Address space of one reader process, in MiB.
    pub reader_memory_mib: u64,
    /// Tesseract languages for OCR of scans, `+`-joined.
    pub ocr_languages: String,
    /// Page images read by OCR per document at most; 0 turns OCR off.
    pub ocr_max_pages: usize,
    /// Time budget for the OCR of one document, in seconds (on top of `extract_timeout_secs`).
    pub ocr_timeout_secs: u64,
    /// Largest OCR text kept per document, in bytes.
    pub ocr_max_text_bytes: u64,
}

impl Default for CrawlConfig {
    fn default() -> Self {
        CrawlConfig {
            contact: "set [crawl] contact in config.toml".into(),
            max_document_bytes: 50 * 1024 * 1024,
            timeout_secs: 120,
            extract_timeout_secs: 30,
            max_documents_per_notice: 10,
            max_retries: 4,
            backoff_secs: 2.0,
            refused_backoff_secs: 30.0,
            reader_processes: 2,
            reader_memory_mib: 1024,
            ocr_languages: crate::extract::ocr::DEFAULT_LANGUAGES.into(),
            ocr_max_pages: 50,
            ocr_timeout_secs: 300,
            ocr_max_text_bytes: 4 << 20,
        }
    }
}

/// `[currency]`: rates to one base currency, so reports can compare amounts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrencyConfig {
    /// ISO 4217 code the rates convert to ("KZT").
    pub base: Option<String>,
    /// Units of `base` per one unit of each currency: `{ UAH = 12.1, USD = 480.0 }`.
    #[serde(default)]
    pub rates: std::collections::BTreeMap<String, f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// SMTP server; without it, digests are written as .eml files under `dry_run_dir`.
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub security: Security,
    pub username_env: Option<String>,
    pub password_env: Option<String>,
    pub from: String,
    pub reply_to: Option<String>,
    /// Extra root certificate (PEM) for an SMTP server with a private CA.
    pub ca_file: Option<PathBuf>,
    pub dry_run_dir: PathBuf,
    /// Operator address told when a source keeps failing or mail cannot be sent.
    pub admin: Option<String>,
    pub timeout_secs: u64,
    /// A digest left `unconfirmed` by a run killed mid-send is resent (same Message-ID,
    /// same bytes) by the first run at least this many hours after it was handed over;
    /// 0: never automatically. 0..=`MAX_RESEND_UNCONFIRMED_AFTER_HOURS`.
    pub resend_unconfirmed_after_hours: u64,
}

/// Upper bound of `[mail] resend_unconfirmed_after_hours`: a year.
pub const MAX_RESEND_UNCONFIRMED_AFTER_HOURS: u64 = 8760;

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            smtp_host: None,
            smtp_port: 587,
            security: Security::Starttls,
            username_env: None,
            password_env: None,
            from: "tenderscan <tenderscan@localhost>".into(),
            reply_to: None,
            ca_file: None,
            dry_run_dir: PathBuf::from("outbox"),
            admin: None,
            timeout_secs: 60,
            resend_unconfirmed_after_hours: 24,
        }
    }
}

impl MailConfig {
    pub fn username(&self) -> Option<String> {
        read_secret(self.username_env.as_deref())
    }
    pub fn password(&self) -> Option<String> {
        read_secret(self.password_env.as_deref())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Ru,
    En,
    /// Kazakh.
    Kk,
}

/// Where a recipient's alerts go. The names are a contract (users' configs use them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// A digest by mail (key `email`).
    #[default]
    Email,
    /// Telegram Bot API messages (key `chat_id`: a person, a group or a channel).
    Telegram,
    /// A signed JSON POST (key `url`).
    Webhook,
    /// An Atom 1.0 feed file written each run (key `path`).
    Atom,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Telegram => "telegram",
            Channel::Webhook => "webhook",
            Channel::Atom => "atom",
        }
    }
}

/// A Telegram chat: a number (a person, a group, `-100…` a channel) or `@channelname`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ChatId {
    Number(i64),
    Name(String),
}

impl std::fmt::Display for ChatId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChatId::Number(n) => write!(f, "{n}"),
            ChatId::Name(s) => f.write_str(s),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    /// `email` (the default), `telegram`, `webhook` or `atom`.
    #[serde(default)]
    pub channel: Channel,
    /// The address of an `email` recipient (empty for the other channels).
    #[serde(default)]
    pub email: String,
    /// The chat of a `telegram` recipient.
    pub chat_id: Option<ChatId>,
    /// The endpoint of a `webhook` recipient.
    pub url: Option<String>,
    /// The feed file of an `atom` recipient.
    pub path: Option<PathBuf>,
    /// Telegram: one digest split into messages under 4096 characters, instead of one
    /// message per notice.
    #[serde(default)]
    pub digest: bool,
    #[serde(default = "default_min_severity")]
    pub min_severity: Severity,
    /// Only these rule ids (all when absent).
    pub rules: Option<Vec<String>>,
    /// Only these source names (all when absent).
    pub sources: Option<Vec<String>>,
    #[serde(default)]
    pub language: Language,
    /// When this recipient's digests go: every run (`each-run`, the default), or at most
    /// once a day or a week at a set time, Almaty time (`daily 08:00`, `weekly mon 09:30`).
    #[serde(default)]
    pub schedule: DigestSchedule,
}

/// `[[recipients]] schedule`: when a recipient's digests are sent. What is found between
/// two slots waits in the outbox (pending) and goes in the slot's digest: the first run at
/// or after the slot's time that has something to send composes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DigestSchedule {
    /// Every run that has something to send (as before schedules existed).
    #[default]
    EachRun,
    /// Once a day, at this hour and minute, Almaty time.
    Daily { hour: u32, minute: u32 },
    /// Once a week, on this day at this hour and minute, Almaty time.
    Weekly {
        day: chrono::Weekday,
        hour: u32,
        minute: u32,
    },
}

impl DigestSchedule {
    /// `each-run`, `daily`, `daily HH:MM`, `weekly`, `weekly DAY`, `weekly DAY HH:MM`
    /// (DAY: `mon` ... `sun` or the whole English name; the time defaults to 08:00, the
    /// day to Monday).
    pub fn parse(s: &str) -> Result<DigestSchedule, String> {
        let words: Vec<&str> = s.split_whitespace().collect();
        let bad = || {
            format!(
                "{s:?} is not a schedule: `each-run`, `daily HH:MM` or `weekly DAY HH:MM` (like \"daily 08:00\" or \"weekly mon 09:30\", Almaty time)"
            )
        };
        let time = |t: Option<&&str>| -> Result<(u32, u32), String> {
            let Some(t) = t else {
                return Ok((8, 0));
            };
            let (h, m) = t.split_once(':').ok_or_else(bad)?;
            let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if h > 23 || m > 59 || t.len() > 5 {
                return Err(bad());
            }
            Ok((h, m))
        };
        match words.as_slice() {
            ["each-run"] => Ok(DigestSchedule::EachRun),
            ["daily", rest @ ..] if rest.len() <= 1 => {
                let (hour, minute) = time(rest.first())?;
                Ok(DigestSchedule::Daily { hour, minute })
            }
            ["weekly", rest @ ..] if rest.len() <= 2 => {
                let day = match rest.first() {
                    None => chrono::Weekday::Mon,
                    Some(d) => d.parse::<chrono::Weekday>().map_err(|_| bad())?,
                };
                let (hour, minute) = time(rest.get(1))?;
                Ok(DigestSchedule::Weekly { day, hour, minute })
            }
            _ => Err(bad()),
        }
    }

    /// The latest slot at or before `now` (`None` for `each-run`, whose every run is one).
    pub fn last_slot(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        use chrono::{Datelike, TimeZone};
        let (day, hour, minute) = match *self {
            DigestSchedule::EachRun => return None,
            DigestSchedule::Daily { hour, minute } => (None, hour, minute),
            DigestSchedule::Weekly { day, hour, minute } => (Some(day), hour, minute),
        };
        let tz = chrono_tz::Asia::Almaty;
        let local = now.with_timezone(&tz).date_naive();
        (0..=7)
            .filter_map(|back| local.checked_sub_days(chrono::Days::new(back)))
            .filter(|d| day.is_none_or(|w| d.weekday() == w))
            .filter_map(|d| {
                let t = d.and_hms_opt(hour, minute, 0)?;
                tz.from_local_datetime(&t).earliest()
            })
            .map(|t| t.with_timezone(&chrono::Utc))
            .find(|t| *t <= now)
    }
}

impl<'de> Deserialize<'de> for DigestSchedule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DigestSchedule::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for DigestSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DigestSchedule::EachRun => f.write_str("each-run"),
            DigestSchedule::Daily { hour, minute } => write!(f, "daily {hour:02}:{minute:02}"),
            DigestSchedule::Weekly { day, hour, minute } => {
                write!(f, "weekly {day} {hour:02}:{minute:02}")
            }
        }
    }
}

impl Recipient {
    /// The recipient as the outbox names it: the address for `email` (as before channels
    /// existed), `telegram:CHAT`, `webhook:URL`, `atom:PATH` for the others.
    pub fn key(&self) -> String {
        match self.channel {
            Channel::Email => self.email.clone(),
            Channel::Telegram => format!(
                "telegram:{}",
                self.chat_id
                    .as_ref()
                    .map(ChatId::to_string)
                    .unwrap_or_default()
            ),
            Channel::Webhook => format!("webhook:{}", self.url.as_deref().unwrap_or_default()),
            Channel::Atom => format!(
                "atom:{}",
                self.path.as_deref().unwrap_or(Path::new("")).display()
            ),
        }
    }

    /// Whether the outbox name `key` is this recipient (addresses compare without case).
    pub fn is(&self, key: &str) -> bool {
        match self.channel {
            Channel::Email => self.email.trim().eq_ignore_ascii_case(key.trim()),
            _ => self.key() == key,
        }
    }
}

/// The channel an outbox recipient name belongs to (see [`Recipient::key`]).
pub fn channel_of(key: &str) -> Channel {
    match key.split_once(':').map(|(c, _)| c) {
        Some("telegram") => Channel::Telegram,
        Some("webhook") => Channel::Webhook,
        Some("atom") => Channel::Atom,
        _ => Channel::Email,
    }
}

/// `[telegram]`: the bot's token comes from the environment, never from this file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelegramConfig {
    /// The variable holding the bot token.
    pub token_env: String,
    /// The Bot API's base URL (the only host Telegram messages are sent to).
    pub api_url: String,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            token_env: "TELEGRAM_BOT_TOKEN".into(),
            api_url: "https://api.telegram.org".into(),
        }
    }
}

impl TelegramConfig {
    pub fn token(&self) -> Option<String> {
        read_secret(Some(&self.token_env))
    }
}

/// `[webhook]`: the secret for the `X-Tenderscan-Signature` HMAC comes from the
/// environment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    pub secret_env: Option<String>,
}

impl WebhookConfig {
    pub fn secret(&self) -> Option<String> {
        read_secret(self.secret_env.as_deref())
    }
}

/// `[alerts]`: what every channel shares.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// The public base URL of the newsroom's tenderscan pages (issue #19's web page):
    /// Telegram messages link each notice to `{page_url}/notice/{id}`.
    pub page_url: Option<String>,
}

impl AlertsConfig {
    /// The newsroom's page of notice `id`, when there is a page.
    pub fn notice_page(&self, id: i64) -> Option<String> {
        self.page_url
            .as_deref()
            .map(|base| format!("{}/notice/{id}", base.trim_end_matches('/')))
    }
}

/// `[serve]`: the newsroom's tenderscan web page (`tenderscan serve`), and the address its
/// readers reach it at, to which the email digests link each notice card
/// (`{public_url}/notice/{id}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    pub public_url: Option<String>,
    /// The address `tenderscan serve` listens on: loopback unless a newsroom shares it.
    pub listen: String,
    /// The pages' language when the reader has not chosen one (`?lang=` or the cookie).
    pub language: Language,
    /// Users who may log in and record verdicts. Empty: the pages are read-only.
    pub reviewers: Vec<String>,
    /// A file of `name:$argon2id$...` lines (PHC strings, `tenderscan serve --hash-password`).
    pub password_file: Option<PathBuf>,
    /// An environment variable holding the same lines (newline- or `;`-separated).
    pub password_env: Option<String>,
    /// How long a login lasts, in hours.
    pub session_hours: u32,
    /// Mark the session cookie `Secure` (the page is reached over HTTPS, e.g. behind a proxy).
    pub secure_cookies: bool,
}

pub const DEFAULT_SERVE_LISTEN: &str = "127.0.0.1:8080";

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        ServeConfig {
            public_url: None,
            listen: DEFAULT_SERVE_LISTEN.into(),
            language: Language::Ru,
            reviewers: Vec::new(),
            password_file: None,
            password_env: None,
            session_hours: 12,
            secure_cookies: false,
        }
    }
}

impl ServeConfig {
    /// The web page of notice `id`, when `public_url` is set.
    pub fn notice_page(&self, id: i64) -> Option<String> {
        self.public_url
            .as_deref()
            .map(|base| format!("{}/notice/{id}", base.trim_end_matches('/')))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// Use the built-in nurbot rules.
    pub builtin: bool,
    /// Extra rule files (TOML), a newsroom's own.
    pub files: Vec<PathBuf>,
    /// The statistical second opinion (`second-opinion` matches at medium; rule hits it rates
    /// as clearly something else lowered to low). See the README, "Second opinion".
    pub second_opinion: bool,
    /// A model of one's own (`tenderscan rules train`) instead of the built-in one.
    pub model: Option<PathBuf>,
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            builtin: true,
            files: Vec::new(),
            second_opinion: true,
            model: None,
        }
    }
}

impl RulesConfig {
    /// The configured rules: the built-in ones if asked, then `files`, then `extra`; with the
    /// second opinion unless it is off here or `no_opinion` (the model of `model_override`, else
    /// of `model`, else the built-in one).
    pub fn load(
        &self,
        include_builtin: bool,
        extra: &[PathBuf],
        model_override: Option<&std::path::Path>,
        no_opinion: bool,
    ) -> Result<crate::rules::RuleSet, crate::rules::RuleError> {
        let mut files = self.files.clone();
        files.extend(extra.iter().cloned());
        let set = crate::rules::RuleSet::load(self.builtin && include_builtin, &files)?;
        if !self.second_opinion || no_opinion {
            return Ok(set);
        }
        let model = match model_override.or(self.model.as_deref()) {
            Some(p) => {
                let text =
                    std::fs::read_to_string(p).map_err(|source| crate::rules::RuleError::Io {
                        path: p.to_path_buf(),
                        source,
                    })?;
                crate::rules::Model::parse(&text, &p.display().to_string())?
            }
            None => crate::rules::Model::builtin()?,
        };
        set.with_second_opinion(model)
    }
}

/// `[backfill]`: the order in which `tenderscan backfill` fetches documents (newest first
/// within each): first what the rules flag from the metadata alone (`flagged`), then the
/// candidates: a catalogue code (ENSTRU/KTRU) starting with one of `codes` (КПВЭД classes,
/// dots ignored: "70.21" matches "702110.000.000001") or a title, description or lot title
/// holding one of `words` (case and ё folded; matched at the start of a word); then the
/// other services (subject type in `subject_types`); then the rest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackfillConfig {
    pub flagged: bool,
    /// The documents stage reads each candidate's first specification before any
    /// candidate's other documents.
    pub first_pass: bool,
    pub subject_types: Vec<String>,
    pub codes: Vec<String>,
    pub words: Vec<String>,
}

impl Default for BackfillConfig {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        BackfillConfig {
            flagged: true,
            first_pass: true,
            // goszakup refSubjectTypeId 3: services.
            subject_types: strings(&["3"]),
            // Public relations, advertising, media representation, market research and
            // polling, news agencies, other information services, publishing, film and
            // video, IT services, event organisation.
            codes: strings(&[
                "70.21", "73.11", "73.12", "73.20", "63.91", "63.99", "58.1", "59.1", "62.0",
                "63.11", "63.12", "82.30",
            ]),
            words: strings(&[
                "информацион",
                "реклам",
                "пиар",
                "pr-",
                "сми",
                "медиа",
                "smm",
                "социальн",
                "соцсет",
                "интернет",
                "сайт",
                "блог",
                "контент",
                "публикац",
                "освещен",
                "видеоролик",
                "видеосюжет",
                "телеканал",
                "мероприят",
                "ивент",
                "программн",
                "ақпарат",
                "жарнама",
                "бұқаралық",
                "әлеуметтік",
                "іс-шара",
            ]),
        }
    }
}

/// `[reports]`: the user's own report folders, beside the built-in `queries/`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// Folders whose `*.sql` files are reports (same comment-block format as `queries/`).
    pub dirs: Vec<PathBuf>,
}

/// `[scan]`: the threads the rules run on in `scan`, `run`'s scan and `match`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanConfig {
    /// Threads for the rules (the database is read and written on one); 0: the machine's
    /// cores.
    pub threads: usize,
}

/// How new payloads are kept (`[evidence] store`); what is kept either way is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// Appended to `packs/NNNNNN.pack`, one `fdatasync` a page (see `crate::evidence::pack`).
    #[default]
    Packs,
    /// A file per payload, `ab/<sha256>.zst` (the layout before packs).
    Files,
}

/// The evidence folder beside the database (raw payloads) and disappearance checks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceConfig {
    /// Days the raw payloads of never-flagged notices are kept (0: for ever). Evidence of
    /// flagged notices is kept for good.
    pub keep_days: u32,
    /// A flagged notice the crawl has not seen for this many days is asked for by id; a
    /// portal that no longer has it marks it gone (0: never ask).
    pub recheck_days: u32,
    /// How new payloads are kept: `packs` (appended to pack files, one durable write a
    /// page) or `files` (a file per payload, as before packs). Both are always read.
    pub store: StoreKind,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            keep_days: 365,
            recheck_days: 7,
            store: StoreKind::Packs,
        }
    }
}

/// When `tenderscan daemon` runs the cycle.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    /// Standard five-field cron line (minute hour day-of-month month day-of-week), local time.
    pub cron: CronLine,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            cron: CronLine::parse(DEFAULT_CRON).expect("the default cron line parses (a test)"),
        }
    }
}

/// `[schedule] cron` unless the config says otherwise.
pub const DEFAULT_CRON: &str = "0 */2 * * *";

/// A five-field cron line, checked and compiled when the config is read. Shown as written.
#[derive(Clone)]
pub struct CronLine {
    line: String,
    cron: croner::Cron,
}

impl CronLine {
    /// Compiles `line`: five fields, each in its range, naming a day that comes.
    pub fn parse(line: &str) -> Result<CronLine, String> {
        if line.split_whitespace().count() != 5 {
            return Err(format!(
                "{line:?} is not a five-field cron line (minute hour day month weekday)"
            ));
        }
        let cron = line
            .parse::<croner::Cron>()
            .map_err(|e| format!("{line:?} is not a cron line: {e}"))?;
        // Fields each in range can still name a day that never comes (31 February).
        cron.find_next_occurrence(&chrono::Local::now(), false)
            .map_err(|_| format!("{line:?} never comes (a day like 31 February?)"))?;
        Ok(CronLine {
            line: line.to_string(),
            cron,
        })
    }

    /// The compiled schedule.
    pub fn cron(&self) -> &croner::Cron {
        &self.cron
    }

    /// As written in the config.
    pub fn as_str(&self) -> &str {
        &self.line
    }
}

impl fmt::Display for CronLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.line)
    }
}

impl fmt::Debug for CronLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.line, f)
    }
}

impl<'de> Deserialize<'de> for CronLine {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<CronLine, D::Error> {
        let line = String::deserialize(d)?;
        CronLine::parse(&line).map_err(serde::de::Error::custom)
    }
}

fn yes() -> bool {
    true
}
fn default_lookback() -> u32 {
    7
}
fn default_rps() -> f64 {
    1.0
}
fn default_min_severity() -> Severity {
    Severity::Medium
}

fn read_secret(var: Option<&str>) -> Option<String> {
    let var = var?;
    std::env::var(var).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// Load and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let src = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: None,
            key: None,
            message: if e.kind() == std::io::ErrorKind::NotFound {
                "config file not found (run `tenderscan init` to write one)".into()
            } else {
                format!("cannot read config file: {e}")
            },
        })?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        Config::parse(&src, path, &dir)
    }

    /// The embedded default configuration, with paths relative to `dir`.
    pub fn embedded_default(dir: &Path) -> Config {
        Config::parse(
            DEFAULT_CONFIG,
            Path::new("<embedded default config.toml>"),
            dir,
        )
        .expect("the embedded default config is valid (checked by a test)")
    }

    /// Parse `src` (named `file` in errors) and resolve relative paths against `dir`.
    pub fn parse(src: &str, file: &Path, dir: &Path) -> Result<Config, ConfigError> {
        let at = Locate { src, file };
        let doc = toml::de::DeTable::parse(src).map_err(|e| at.toml(e))?;
        let span = doc.span();
        let mut root = doc.into_inner();
        // Each source's keys depend on its kind: read apart from the rest.
        let sources = root.remove("sources");
        let rest = toml::de::Deserializer::from(toml::Spanned::new(span, root));
        let mut cfg = Config::deserialize(rest).map_err(|e| at.toml(e))?;
        if let Some(sources) = sources {
            cfg.sources = sources::parse_sources(&at, sources)?;
        }
        cfg.file = file.to_path_buf();
        cfg.validate(src)?;
        cfg.resolve_paths(dir);
        cfg.watches = watch::from_config(&at, &cfg.watch, &cfg.recipients, dir)?;
        Ok(cfg)
    }

    fn resolve_paths(&mut self, dir: &Path) {
        let abs = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        abs(&mut self.database.path);
        abs(&mut self.mail.dry_run_dir);
        if let Some(ca) = &mut self.mail.ca_file {
            abs(ca);
        }
        for f in &mut self.rules.files {
            abs(f);
        }
        for d in &mut self.reports.dirs {
            abs(d);
        }
        for r in &mut self.recipients {
            if let Some(p) = &mut r.path {
                abs(p);
            }
        }
        for s in &mut self.sources {
            if let Some(ca) = &mut s.ca_file {
                abs(ca);
            }
        }
        if let Some(f) = &mut self.serve.password_file {
            abs(f);
        }
    }

    /// Every number of the config, defaults included, for [`BOUNDS`] to check.
    fn numbers(&self) -> Vec<Setting> {
        let at = |table, key, index, value: Number| Setting {
            table,
            key,
            index,
            entry: None,
            value,
        };
        let c = &self.crawl;
        let mut v = vec![
            at(
                "crawl",
                "max_document_bytes",
                None,
                c.max_document_bytes.into(),
            ),
            at("crawl", "timeout_secs", None, c.timeout_secs.into()),
            at(
                "crawl",
                "extract_timeout_secs",
                None,
                c.extract_timeout_secs.into(),
            ),
            at(
                "crawl",
                "max_documents_per_notice",
                None,
                c.max_documents_per_notice.into(),
            ),
            at("crawl", "max_retries", None, c.max_retries.into()),
            at("crawl", "backoff_secs", None, c.backoff_secs.into()),
            at(
                "crawl",
                "refused_backoff_secs",
                None,
                c.refused_backoff_secs.into(),
            ),
            at("crawl", "reader_processes", None, c.reader_processes.into()),
            at(
                "crawl",
                "reader_memory_mib",
                None,
                c.reader_memory_mib.into(),
            ),
            at("crawl", "ocr_max_pages", None, c.ocr_max_pages.into()),
            at("crawl", "ocr_timeout_secs", None, c.ocr_timeout_secs.into()),
            at(
                "crawl",
                "ocr_max_text_bytes",
                None,
                c.ocr_max_text_bytes.into(),
            ),
        ];
        for (i, s) in self.sources.iter().enumerate() {
            let i = Some(i);
            v.push(at("sources", "lookback_days", i, s.lookback_days.into()));
            v.push(at(
                "sources",
                "requests_per_second",
                i,
                s.requests_per_second.into(),
            ));
            match &s.kind {
                SourceKind::Ocds(o) => {
                    if let Some(n) = o.max_download_bytes {
                        v.push(at("sources", "max_download_bytes", i, n.into()));
                    }
                }
                SourceKind::Samruk(k) => {
                    if let Some(n) = k.page_size {
                        v.push(at("sources", "page_size", i, n.into()));
                    }
                }
                SourceKind::Html(h) => {
                    v.push(at("sources.html", "max_pages", i, h.max_pages.into()));
                }
                SourceKind::Prozorro(p) => {
                    if let Some(n) = p.min_interval_secs {
                        v.push(at("sources", "min_interval_secs", i, n.into()));
                    }
                }
                SourceKind::Goszakup(_) | SourceKind::GoszakupHtml(_) => {}
            }
        }
        for (code, rate) in &self.currency.rates {
            v.push(Setting {
                entry: Some(code.clone()),
                ..at("currency", "rates", None, (*rate).into())
            });
        }
        let m = &self.mail;
        v.push(at("mail", "smtp_port", None, m.smtp_port.into()));
        v.push(at("mail", "timeout_secs", None, m.timeout_secs.into()));
        v.push(at(
            "mail",
            "resend_unconfirmed_after_hours",
            None,
            m.resend_unconfirmed_after_hours.into(),
        ));
        let e = &self.evidence;
        v.push(at("evidence", "keep_days", None, e.keep_days.into()));
        v.push(at("evidence", "recheck_days", None, e.recheck_days.into()));
        v.push(at("scan", "threads", None, self.scan.threads.into()));
        v
    }

    fn validate(&self, src: &str) -> Result<(), ConfigError> {
        let at = Locate {
            src,
            file: &self.file,
        };
        let err = |table: &str, index: Option<usize>, key: &str, message: String| {
            at.key(table, index, key, message)
        };
        if self.database.path.as_os_str().is_empty() {
            return Err(err("database", None, "path", "must not be empty".into()));
        }
        let mut names = std::collections::HashSet::new();
        for (i, s) in self.sources.iter().enumerate() {
            let at = Some(i);
            if s.name.trim().is_empty() {
                return Err(err("sources", at, "name", "must not be empty".into()));
            }
            if !names.insert(s.name.as_str()) {
                return Err(err(
                    "sources",
                    at,
                    "name",
                    format!("source name {:?} is used twice", s.name),
                ));
            }
            if let Some(var) = &s.token_env {
                check_env_name(var).map_err(|m| err("sources", at, "token_env", m))?;
            }
            for h in &s.attachment_hosts {
                if h.is_empty() || h.contains('/') || h.contains(':') || h.contains(' ') {
                    return Err(err(
                        "sources",
                        at,
                        "attachment_hosts",
                        format!("{h:?} is not a host name (write it without scheme or path)"),
                    ));
                }
            }
        }
        check_languages(&self.crawl.ocr_languages)
            .map_err(|m| err("crawl", None, "ocr_languages", m))?;
        check_currency(&self.currency).map_err(|(k, m)| err("currency", None, &k, m))?;
        for (key, var) in [
            ("username_env", &self.mail.username_env),
            ("password_env", &self.mail.password_env),
        ] {
            if let Some(var) = var {
                check_env_name(var).map_err(|m| err("mail", None, key, m))?;
            }
        }
        check_address(&self.mail.from).map_err(|m| err("mail", None, "from", m))?;
        if let Some(a) = &self.mail.reply_to {
            check_address(a).map_err(|m| err("mail", None, "reply_to", m))?;
        }
        if let Some(a) = &self.mail.admin {
            check_address(a).map_err(|m| err("mail", None, "admin", m))?;
        }
        if self.mail.smtp_host.as_deref() == Some("") {
            return Err(err(
                "mail",
                None,
                "smtp_host",
                "empty: remove the key to write .eml files instead".into(),
            ));
        }
        check_env_name(&self.telegram.token_env)
            .map_err(|m| err("telegram", None, "token_env", m))?;
        check_http_url(&self.telegram.api_url).map_err(|m| err("telegram", None, "api_url", m))?;
        if let Some(var) = &self.webhook.secret_env {
            check_env_name(var).map_err(|m| err("webhook", None, "secret_env", m))?;
        }
        if let Some(u) = &self.alerts.page_url {
            check_http_url(u).map_err(|m| err("alerts", None, "page_url", m))?;
        }
        if let Some(u) = &self.serve.public_url {
            check_http_url(u).map_err(|m| err("serve", None, "public_url", m))?;
        }
        if self.serve.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(err(
                "serve",
                None,
                "listen",
                format!(
                    "{:?} is not an address and port (like \"{DEFAULT_SERVE_LISTEN}\", or \"0.0.0.0:8080\" to share the page on the newsroom's network)",
                    self.serve.listen
                ),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for name in &self.serve.reviewers {
            let ok = !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
            if !ok {
                return Err(err(
                    "serve",
                    None,
                    "reviewers",
                    format!("{name:?} is not a user name (letters, digits, . _ - @; at most 64)"),
                ));
            }
            if !seen.insert(name.as_str()) {
                return Err(err(
                    "serve",
                    None,
                    "reviewers",
                    format!("{name:?} is named twice"),
                ));
            }
        }
        if let Some(var) = &self.serve.password_env {
            check_env_name(var).map_err(|m| err("serve", None, "password_env", m))?;
        }
        if !self.serve.reviewers.is_empty()
            && self.serve.password_file.is_none()
            && self.serve.password_env.is_none()
        {
            return Err(err(
                "serve",
                None,
                "reviewers",
                "reviewers need their password hashes: set password_file or password_env".into(),
            ));
        }
        if !(1..=720).contains(&self.serve.session_hours) {
            return Err(err(
                "serve",
                None,
                "session_hours",
                format!("{} is out of range 1-720", self.serve.session_hours),
            ));
        }
        let mut keys = std::collections::HashSet::new();
        for (i, r) in self.recipients.iter().enumerate() {
            let at = Some(i);
            let (own, others): (&str, [(&str, bool); 3]) = match r.channel {
                Channel::Email => (
                    "email",
                    [
                        ("chat_id", r.chat_id.is_some()),
                        ("url", r.url.is_some()),
                        ("path", r.path.is_some()),
                    ],
                ),
                Channel::Telegram => (
                    "chat_id",
                    [
                        ("email", !r.email.is_empty()),
                        ("url", r.url.is_some()),
                        ("path", r.path.is_some()),
                    ],
                ),
                Channel::Webhook => (
                    "url",
                    [
                        ("email", !r.email.is_empty()),
                        ("chat_id", r.chat_id.is_some()),
                        ("path", r.path.is_some()),
                    ],
                ),
                Channel::Atom => (
                    "path",
                    [
                        ("email", !r.email.is_empty()),
                        ("chat_id", r.chat_id.is_some()),
                        ("url", r.url.is_some()),
                    ],
                ),
            };
            if let Some((k, _)) = others.iter().find(|(_, set)| *set) {
                return Err(err(
                    "recipients",
                    at,
                    k,
                    format!(
                        "a {} recipient has no key {k:?} (its key is {own:?})",
                        r.channel.as_str()
                    ),
                ));
            }
            if r.digest && r.channel != Channel::Telegram {
                return Err(err(
                    "recipients",
                    at,
                    "digest",
                    "is a telegram recipient's key (mail, webhooks and feeds are digests already)"
                        .into(),
                ));
            }
            match r.channel {
                Channel::Email => {
                    check_address(&r.email).map_err(|m| err("recipients", at, "email", m))?
                }
                Channel::Telegram => {
                    match &r.chat_id {
                        None => return Err(err(
                            "recipients",
                            at,
                            "channel",
                            "a telegram recipient needs chat_id (a number, or \"@channelname\")"
                                .into(),
                        )),
                        Some(ChatId::Name(n)) if !valid_chat_name(n) => {
                            return Err(err(
                                "recipients",
                                at,
                                "chat_id",
                                format!("{n:?} is neither a number nor an @channelname"),
                            ));
                        }
                        Some(_) => {}
                    }
                }
                Channel::Webhook => match &r.url {
                    None => {
                        return Err(err(
                            "recipients",
                            at,
                            "channel",
                            "a webhook recipient needs url".into(),
                        ));
                    }
                    Some(u) => {
                        check_http_url(u).map_err(|m| err("recipients", at, "url", m))?;
                        if self.webhook.secret_env.is_none() {
                            return Err(err("recipients", at, "channel", "a webhook recipient needs [webhook] secret_env, the variable holding the signing secret".into()));
                        }
                    }
                },
                Channel::Atom => match &r.path {
                    None => {
                        return Err(err(
                            "recipients",
                            at,
                            "channel",
                            "an atom recipient needs path (the feed file)".into(),
                        ));
                    }
                    Some(p) if p.as_os_str().is_empty() || p.file_name().is_none() => {
                        return Err(err("recipients", at, "path", "must name a file".into()));
                    }
                    Some(_) => {}
                },
            }
            if !keys.insert(r.key().to_lowercase()) {
                return Err(err(
                    "recipients",
                    at,
                    own,
                    format!("{} is a recipient twice", r.key()),
                ));
            }
            if let Some(sources) = &r.sources {
                for s in sources {
                    if !names.contains(s.as_str()) {
                        return Err(err(
                            "recipients",
                            Some(i),
                            "sources",
                            format!("no source is named {s:?}"),
                        ));
                    }
                }
            }
        }
        // Last, so that the currency codes are known to be plain ISO codes.
        for n in self.numbers() {
            let (top, mut key) = match n.table.split_once('.') {
                Some((top, sub)) => (top, format!("{sub}.{}", n.key)),
                None => (n.table, n.key.to_string()),
            };
            if let Some(e) = &n.entry {
                key = format!("{key}.{e}");
            }
            let Some(b) = bound_of(n.table, n.key) else {
                return Err(err(
                    top,
                    n.index,
                    &key,
                    "has no documented range (a bug in tenderscan)".into(),
                ));
            };
            if !b.range.contains(n.value) {
                return Err(err(
                    top,
                    n.index,
                    &key,
                    format!("must be {}, not {}", b.range, n.value),
                ));
            }
        }
        Ok(())
    }

    /// The sources that are enabled.
    pub fn enabled_sources(&self) -> impl Iterator<Item = &SourceConfig> {
        self.sources.iter().filter(|s| s.enabled)
    }
}

fn check_currency(c: &CurrencyConfig) -> Result<(), (String, String)> {
    let code = |s: &str| s.len() == 3 && s.chars().all(|c| c.is_ascii_uppercase());
    if let Some(b) = &c.base
        && !code(b)
    {
        return Err((
            "base".into(),
            format!("{b:?} is not an ISO 4217 code like \"KZT\""),
        ));
    }
    if !c.rates.is_empty() && c.base.is_none() {
        return Err((
            "rates".into(),
            "rates need a base currency (base = \"KZT\")".into(),
        ));
    }
    // The rates themselves are numbers with a range (BOUNDS).
    for cur in c.rates.keys() {
        if !code(cur) {
            return Err(("rates".into(), format!("{cur:?} is not an ISO 4217 code")));
        }
    }
    Ok(())
}

/// Tesseract language names joined by `+` (`rus+kaz+eng`, `script/Cyrillic`).
fn check_languages(langs: &str) -> Result<(), String> {
    let ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with(['/', '.', '-'])
            && !l.contains("..")
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '/' || c == '-')
    };
    if langs.len() <= 200 && langs.split('+').all(ok) {
        Ok(())
    } else {
        Err(format!(
            "{langs:?} is not a list of Tesseract languages joined by + (like \"rus+kaz+eng\")"
        ))
    }
}

/// An absolute http(s) URL with a host.
fn check_http_url(u: &str) -> Result<(), String> {
    match url::Url::parse(u) {
        Ok(p) if matches!(p.scheme(), "http" | "https") && p.host_str().is_some() => Ok(()),
        Ok(_) => Err(format!("{u:?} is not an http(s) URL")),
        Err(e) => Err(format!("{u:?} is not a URL: {e}")),
    }
}

/// `@name`: 5 to 32 letters, digits and underscores (Telegram's public names).
fn valid_chat_name(n: &str) -> bool {
    n.strip_prefix('@').is_some_and(|rest| {
        (5..=32).contains(&rest.len())
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }) || n.parse::<i64>().is_ok()
}

fn check_env_name(var: &str) -> Result<(), String> {
    let ok = !var.is_empty()
        && !var.starts_with(|c: char| c.is_ascii_digit())
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{var:?} is not an environment variable name (keys ending in _env name a variable; the secret itself never goes in this file)"
        ))
    }
}

fn check_address(addr: &str) -> Result<(), String> {
    addr.parse::<lettre::message::Mailbox>()
        .map(|_| ())
        .map_err(|e| format!("{addr:?} is not an email address: {e}"))
}

/// Makes errors that name the file, the line and the key.
struct Locate<'a> {
    src: &'a str,
    file: &'a Path,
}

impl Locate<'_> {
    /// An error of the TOML reader (syntax, a type, an unknown field), where its span starts.
    fn toml(&self, e: toml::de::Error) -> ConfigError {
        let (line, key) = match e.span() {
            Some(span) => locate_span(self.src, span.start),
            None => (None, None),
        };
        ConfigError {
            file: self.file.to_path_buf(),
            line,
            key,
            message: e.message().trim().to_string(),
        }
    }

    /// An error at a byte offset of the file, the key as the TOML reader would name it.
    fn offset(&self, offset: usize, message: String) -> ConfigError {
        let (line, key) = locate_span(self.src, offset);
        ConfigError {
            file: self.file.to_path_buf(),
            line,
            key,
            message,
        }
    }

    /// An error about `key` (dotted: `html.title`) of `[table]`, or of the `index`-th
    /// `[[table]]`: the line of its value, else of the key, else of the table's header.
    fn key(&self, table: &str, index: Option<usize>, key: &str, message: String) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            line: locate_value(self.src, table, index, key)
                .or_else(|| locate_key(self.src, table, index, key)),
            key: Some(match index {
                Some(i) => format!("{table}[{i}].{key}"),
                None if table.is_empty() => key.to_string(),
                None => format!("{table}.{key}"),
            }),
            message,
        }
    }
}

/// Line (1-based) and dotted key for a byte offset where toml reported an error.
fn locate_span(src: &str, offset: usize) -> (Option<usize>, Option<String>) {
    let line_no = line_of(src, offset);
    let mut table = String::new();
    let mut key = None;
    for (i, line) in src.lines().enumerate() {
        if i + 1 > line_no {
            break;
        }
        let t = line.trim();
        if let Some(h) = t.strip_prefix('[') {
            table = h.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            key = None;
        } else if let Some((k, _)) = t.split_once('=')
            && !t.starts_with('#')
        {
            key = Some(k.trim().trim_matches('"').to_string());
        }
        if i + 1 == line_no {
            if let Some(h) = t.strip_prefix('[') {
                // The error is on a table header itself.
                return (
                    Some(line_no),
                    Some(h.trim_matches(|c| c == '[' || c == ']').trim().to_string()),
                );
            }
            if !t.contains('=') {
                // An unknown key written without a value, or a continuation line.
                let bare = t.split_whitespace().next().map(str::to_string);
                if bare.is_some() && key.is_none() {
                    key = bare;
                }
            }
        }
    }
    let dotted = match (table.is_empty(), key) {
        (_, None) => (!table.is_empty()).then_some(table),
        (true, Some(k)) => Some(k),
        (false, Some(k)) => Some(format!("{table}.{k}")),
    };
    (Some(line_no), dotted)
}

/// The line of the value the user wrote for `key` (dotted: `html.max_pages`, `rates.UAH`) in
/// `[table]`, or in the `index`-th `[[table]]`, from the parser's own spans; `None` when the
/// key is not in the file.
fn locate_value(src: &str, table: &str, index: Option<usize>, key: &str) -> Option<usize> {
    let doc = toml::de::DeTable::parse(src).ok()?;
    let root = toml::de::DeValue::Table(doc.into_inner());
    let mut value = &root;
    for part in table.split('.') {
        value = value.get(part)?.get_ref();
    }
    if let Some(i) = index {
        value = value.get(i)?.get_ref();
    }
    let mut span = None;
    for part in key.split('.') {
        let v = value.get(part)?;
        span = Some(v.span());
        value = v.get_ref();
    }
    let start = span?.start.min(src.len());
    Some(line_of(src, start))
}

/// The line (1-based) of a byte offset.
fn line_of(src: &str, offset: usize) -> usize {
    let offset = offset.min(src.len());
    src.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The line of `key` in `[table]` (or in the `index`-th `[[table]]`), else of the table header.
fn locate_key(src: &str, table: &str, index: Option<usize>, key: &str) -> Option<usize> {
    let mut current: Option<String> = None;
    let mut seen = 0usize;
    let mut in_target = false;
    let mut header_line = None;
    for (i, line) in src.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            let is_array = t.starts_with("[[");
            let name = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            in_target = false;
            if name == table {
                match index {
                    Some(want) if is_array => {
                        if seen == want {
                            in_target = true;
                            header_line = Some(i + 1);
                        }
                        seen += 1;
                    }
                    None if !is_array => {
                        in_target = true;
                        header_line = Some(i + 1);
                    }
                    _ => {}
                }
            }
            current = Some(name);
            continue;
        }
        let _ = &current;
        if in_target
            && let Some((k, _)) = t.split_once('=')
            && k.trim().trim_matches('"') == key
        {
            return Some(i + 1);
        }
    }
    header_line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Config, ConfigError> {
        Config::parse(src, Path::new("t.toml"), Path::new("/base"))
    }

    #[test]
    fn recipients_have_a_channel_and_its_one_key() {
        let base = "[database]\npath = 'a.db'\n[webhook]\nsecret_env = 'HOOK_SECRET'\n";
        let c = parse(&format!(
            "{base}[[recipients]]\nemail = 'a@b.kz'\n\
             [[recipients]]\nchannel = 'telegram'\nchat_id = -1001234\ndigest = true\n\
             [[recipients]]\nchannel = 'telegram'\nchat_id = '@newsdesk'\n\
             [[recipients]]\nchannel = 'webhook'\nurl = 'https://hooks.example/t'\n\
             [[recipients]]\nchannel = 'atom'\npath = 'feeds/alerts.xml'\n"
        ))
        .unwrap();
        let keys: Vec<String> = c.recipients.iter().map(Recipient::key).collect();
        assert_eq!(
            keys,
            [
                "a@b.kz",
                "telegram:-1001234",
                "telegram:@newsdesk",
                "webhook:https://hooks.example/t",
                "atom:/base/feeds/alerts.xml"
            ]
        );
        assert!(keys.iter().all(|k| c.recipients.iter().any(|r| r.is(k))));
        assert_eq!(channel_of(&keys[1]), Channel::Telegram);
        assert_eq!(channel_of("a@b.kz"), Channel::Email);
        assert_eq!(c.telegram.token_env, "TELEGRAM_BOT_TOKEN");
        assert_eq!(c.telegram.api_url, "https://api.telegram.org");
        let bad = |rest: &str, key: &str, line: usize, says: &str| {
            let e = parse(&format!("{base}{rest}")).unwrap_err();
            assert_eq!(e.key.as_deref(), Some(key), "{rest}: {e}");
            assert_eq!(e.line, Some(line), "{rest}: {e}");
            assert!(e.message.contains(says), "{rest}: {e}");
        };
        bad(
            "[[recipients]]\nchannel = 'telegram'\n",
            "recipients[0].channel",
            6,
            "chat_id",
        );
        bad(
            "[[recipients]]\nchannel = 'telegram'\nchat_id = 'newsdesk'\n",
            "recipients[0].chat_id",
            7,
            "@channelname",
        );
        bad(
            "[[recipients]]\nchannel = 'telegram'\nchat_id = 5\nemail = 'a@b.kz'\n",
            "recipients[0].email",
            8,
            "its key is \"chat_id\"",
        );
        bad(
            "[[recipients]]\nchannel = 'webhook'\nurl = 'ftp://x.example'\n",
            "recipients[0].url",
            7,
            "http(s)",
        );
        bad(
            "[[recipients]]\nchannel = 'pigeon'\n",
            "recipients.channel",
            6,
            "expected one of `email`, `telegram`, `webhook`, `atom`",
        );
        bad(
            "[[recipients]]\nemail = 'a@b.kz'\ndigest = true\n",
            "recipients[0].digest",
            7,
            "telegram",
        );
        bad(
            "[[recipients]]\nchannel = 'atom'\npath = 'a.xml'\n[[recipients]]\nchannel = 'atom'\npath = 'a.xml'\n",
            "recipients[1].path",
            10,
            "twice",
        );
        let e = parse("[database]\npath = 'a.db'\n[[recipients]]\nchannel = 'webhook'\nurl = 'https://h.example/'\n").unwrap_err();
        assert!(e.message.contains("secret_env"), "{e}");
        let e = parse("[database]\npath = 'a.db'\n[telegram]\napi_url = 'api.telegram.org'\n")
            .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("telegram.api_url"), "{e}");
    }

    #[test]
    fn embedded_default_parses() {
        let c = Config::embedded_default(Path::new("/x"));
        assert_eq!(c.database.path, PathBuf::from("/x/tenderscan.db"));
        assert!(c.rules.builtin);
        assert!(!c.sources.is_empty());
    }

    /// The commented examples of more sources in config.toml parse once uncommented.
    #[test]
    fn the_example_sources_in_config_toml_parse() {
        let block: String = DEFAULT_CONFIG
            .split("# --- examples ---\n")
            .nth(1)
            .and_then(|b| b.split("# --- end of examples ---").next())
            .expect("config.toml has the examples block")
            .lines()
            .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
            .collect::<Vec<_>>()
            .join("\n");
        let c = parse(&format!("[database]\npath = 'a.db'\n{block}\n")).unwrap();
        let kinds: Vec<&str> = c.sources.iter().map(|s| s.kind.name()).collect();
        assert_eq!(kinds, ["ocds", "ocds", "samruk", "prozorro", "html"]);
        assert_eq!(c.currency.rates.get("UAH"), Some(&12.1));
        assert!(matches!(c.sources[4].kind, SourceKind::Html(_)));
        assert!(
            c.sources[3].user_agent.is_some(),
            "ProZorro wants a browser's"
        );
    }

    #[test]
    fn kind_keys_and_currency_are_checked() {
        let base = "[database]\npath = 'a.db'\n[[sources]]\nname = 'a'\nurl = 'https://a.kz'\n";
        let e = parse(&format!("{base}kind = 'goszakup'\nnext_pointer = '/x'\n")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("sources[0].next_pointer"), "{e}");
        assert_eq!(e.line, Some(7), "{e}");
        let e = parse(&format!("{base}kind = 'html'\n")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("sources[0].html"), "{e}");
        let e = parse(&format!(
            "{base}kind = 'html'\n[sources.html]\nitem = 'tr'\ntitle = 'a['\n"
        ))
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("sources[0].html.title"), "{e}");
        assert_eq!(
            e.line,
            Some(9),
            "the line of the key in [sources.html]: {e}"
        );
        let e = parse(&format!(
            "{base}kind = 'html'\n[sources.html]\nitem = 'tr'\ntitle = 'a'\ncolour = 'red'\n"
        ))
        .unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");
        let e =
            parse("[database]\npath = 'a.db'\n[currency]\nrates = { UAH = 12.1 }\n").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("currency.rates"), "{e}");
        let e =
            parse("[database]\npath = 'a.db'\n[currency]\nbase = 'KZT'\nrates = { UAH = -1.0 }\n")
                .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("currency.rates.UAH"), "{e}");
        assert_eq!(e.line, Some(5), "{e}");
    }

    /// README's "Publishers known to work" config block is a config that parses, with the
    /// kinds the table names.
    #[test]
    fn the_publishers_blocks_in_the_readme_parse() {
        let readme = include_str!("../README.md");
        let block = readme
            .split("### Publishers known to work")
            .nth(1)
            .and_then(|r| r.split("```toml\n").nth(1))
            .and_then(|b| b.split("```").next())
            .expect("README has the publishers' block");
        let c = parse(&format!("[database]\npath = 'a.db'\n{block}")).unwrap();
        let kinds: Vec<&str> = c.sources.iter().map(|s| s.kind.name()).collect();
        assert_eq!(
            kinds,
            ["goszakup", "goszakup-html", "prozorro", "samruk", "ocds"]
        );
        assert!(c.sources[2].user_agent.is_some());
    }

    /// config.toml with its examples uncommented: every key of every kind set.
    fn full_example() -> String {
        let block: String = DEFAULT_CONFIG
            .split("# --- examples ---\n")
            .nth(1)
            .and_then(|b| b.split("# --- end of examples ---").next())
            .unwrap()
            .lines()
            .map(|l| l.strip_prefix("# ").unwrap_or(l.trim_start_matches('#')))
            .collect::<Vec<_>>()
            .join("\n");
        let head = DEFAULT_CONFIG.split("# --- examples ---\n").next().unwrap();
        let tail = DEFAULT_CONFIG
            .split("# --- end of examples ---")
            .nth(1)
            .unwrap();
        format!("{head}{block}\n{tail}")
    }

    /// The numbers [`Config::numbers`] checks are exactly those of [`BOUNDS`], and every
    /// number written in config.toml (examples included) has a bound.
    #[test]
    fn every_number_has_a_bound_and_every_bound_is_checked() {
        let src = full_example();
        let c = parse(&src).unwrap();
        let checked: std::collections::BTreeSet<(&str, &str)> =
            c.numbers().iter().map(|n| (n.table, n.key)).collect();
        let bounds: std::collections::BTreeSet<(&str, &str)> =
            BOUNDS.iter().map(|b| (b.table, b.key)).collect();
        assert_eq!(checked, bounds);
        assert_eq!(bounds.len(), BOUNDS.len(), "a key is in BOUNDS twice");

        fn walk(v: &toml::de::DeValue<'_>, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            use toml::de::DeValue;
            match v {
                DeValue::Integer(_) | DeValue::Float(_) => out.push(path.clone()),
                DeValue::Table(t) => {
                    for (k, v) in t.iter() {
                        path.push(k.get_ref().to_string());
                        walk(v.get_ref(), path, out);
                        path.pop();
                    }
                }
                // Array elements share their array's path ([[sources]]).
                DeValue::Array(a) => a.iter().for_each(|v| walk(v.get_ref(), path, out)),
                _ => {}
            }
        }
        let doc = toml::de::DeTable::parse(&src).unwrap();
        let mut paths = Vec::new();
        walk(
            &toml::de::DeValue::Table(doc.into_inner()),
            &mut Vec::new(),
            &mut paths,
        );
        assert!(paths.len() >= BOUNDS.len(), "{paths:?}");
        for p in paths {
            let n = p.len();
            let direct = bound_of(&p[..n - 1].join("."), &p[n - 1]);
            // A table of numbers, like [currency] rates: the bound is the table's.
            let of_map = (n >= 2).then(|| bound_of(&p[..n - 2].join("."), &p[n - 2]));
            assert!(
                direct.is_some() || of_map.flatten().is_some(),
                "{} has no range in BOUNDS",
                p.join(".")
            );
        }
    }

    /// A config with only `b`'s key set (to the TOML literal `value`), the line it is on,
    /// and the key an error names.
    fn with_value(b: &Bound, value: &str) -> (String, usize, String) {
        let head = "[database]\npath = 'a.db'\n";
        let k = b.key;
        match b.table {
            "sources" => {
                let kind = match k {
                    "max_download_bytes" => "ocds",
                    "page_size" => "samruk",
                    "min_interval_secs" => "prozorro",
                    _ => "goszakup",
                };
                (
                    format!(
                        "{head}[[sources]]\nname = 's'\nkind = '{kind}'\nurl = 'http://127.0.0.1:9/'\n{k} = {value}\n"
                    ),
                    7,
                    format!("sources[0].{k}"),
                )
            }
            "sources.html" => (
                format!(
                    "{head}[[sources]]\nname = 's'\nkind = 'html'\nurl = 'http://127.0.0.1:9/'\n[sources.html]\nitem = 'tr'\ntitle = 'a'\n{k} = {value}\n"
                ),
                10,
                format!("sources[0].html.{k}"),
            ),
            "currency" => (
                format!("{head}[currency]\nbase = 'KZT'\n{k} = {{ USD = {value} }}\n"),
                5,
                format!("currency.{k}.USD"),
            ),
            t => (
                format!("{head}[{t}]\n{k} = {value}\n"),
                4,
                format!("{t}.{k}"),
            ),
        }
    }

    /// Each bound's ends are accepted, and values just past them, absurd ones, NaN and the
    /// infinities are errors naming the line and the key.
    #[test]
    fn every_bound_accepts_its_ends_and_refuses_what_is_past_them() {
        for b in BOUNDS {
            let (ok, bad): (Vec<String>, Vec<String>) = match b.range {
                Range::Int { min, max } => {
                    let mut bad = vec![(max + 1).to_string()];
                    if u64::from(u32::MAX) > max {
                        bad.push(u32::MAX.to_string());
                    }
                    if min > 0 {
                        bad.push((min - 1).to_string());
                    }
                    bad.push(u64::MAX.to_string());
                    (vec![min.to_string(), max.to_string()], bad)
                }
                Range::Float {
                    min,
                    min_excluded,
                    max,
                } => {
                    let mut ok = vec![format!("{max:?}"), format!("{:?}", (min + max) / 2.0)];
                    let mut bad = vec![
                        format!("{:?}", max * 2.0),
                        format!("{:?}", min - 1.0),
                        "1e300".into(),
                        "1e-300".into(),
                        "nan".into(),
                        "inf".into(),
                        "-inf".into(),
                    ];
                    if min_excluded {
                        bad.push(format!("{min:?}"));
                    } else {
                        ok.push(format!("{min:?}"));
                    }
                    if min < 1e-300 {
                        // 1e-300 is in a range that starts at 0.
                        bad.retain(|v| v != "1e-300");
                    }
                    (ok, bad)
                }
            };
            for v in ok {
                let (src, _, _) = with_value(b, &v);
                if let Err(e) = parse(&src) {
                    panic!("{}.{} = {v} should be accepted: {e}", b.table, b.key);
                }
            }
            for v in bad {
                let (src, line, key) = with_value(b, &v);
                let e = match parse(&src) {
                    Ok(_) => panic!("{}.{} = {v} should be refused", b.table, b.key),
                    Err(e) => e,
                };
                assert_eq!(e.line, Some(line), "{key} = {v}: {e}");
                let named = e.key.clone().unwrap_or_default();
                assert!(named.ends_with(b.key) || named == key, "{key} = {v}: {e}");
                if e.message.starts_with("must be") {
                    // Ours (not the TOML reader's "invalid value" for a number its type cannot
                    // hold): the full key, and the range as README writes it.
                    assert_eq!(named, key, "{e}");
                    assert_eq!(
                        e.message,
                        format!("must be {}, not {}", b.range, v_display(&v)),
                        "{e}"
                    );
                }
            }
        }
    }

    fn v_display(literal: &str) -> String {
        match literal {
            "nan" => "NaN".into(),
            "inf" => "inf".into(),
            "-inf" => "-inf".into(),
            l => match l.parse::<u64>() {
                Ok(n) => Number::Int(n).to_string(),
                Err(_) => Number::Float(l.parse().unwrap()).to_string(),
            },
        }
    }

    #[test]
    fn a_cron_line_that_never_comes_is_named() {
        let src = "[database]\npath = 'a.db'\n[schedule]\ncron = '0 0 31 2 *'\n";
        let e = parse(src).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("schedule.cron"), "{e}");
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("never comes"), "{e}");
        let src = "[database]\npath = 'a.db'\n[schedule]\ncron = '0 0 29 2 *'\n";
        assert!(parse(src).is_ok(), "29 February comes every four years");
    }

    #[test]
    fn ocr_languages_are_tesseract_names_joined_by_plus() {
        for ok in ["rus+kaz+eng", "kaz", "script/Cyrillic+eng", "chi_sim"] {
            let src = format!("[database]\npath = 'a.db'\n[crawl]\nocr_languages = '{ok}'\n");
            assert!(parse(&src).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "rus++eng",
            "rus eng",
            "-l",
            "../../etc/x",
            "/abs",
            "rus;kaz",
        ] {
            let src = format!("[database]\npath = 'a.db'\n[crawl]\nocr_languages = '{bad}'\n");
            let e = parse(&src).unwrap_err();
            assert_eq!(e.key.as_deref(), Some("crawl.ocr_languages"), "{bad}: {e}");
            assert_eq!(e.line, Some(4), "{e}");
        }
        let cfg = parse("[database]\npath = 'a.db'\n").unwrap();
        assert_eq!(
            (cfg.crawl.ocr_languages.as_str(), cfg.crawl.ocr_max_pages),
            ("rus+kaz+eng", 50)
        );
    }

    #[test]
    fn numbers_are_shown_short() {
        assert_eq!(Number::Float(1e300).to_string(), "1e300");
        assert_eq!(Number::Float(1e-12).to_string(), "1e-12");
        assert_eq!(Number::Float(0.5).to_string(), "0.5");
        assert_eq!(Number::Float(86400.0).to_string(), "86400");
        assert_eq!(Number::Int(u64::MAX).to_string(), "18446744073709551615");
        assert_eq!(
            Range::above(0.0, 1e9).to_string(),
            "above 0, at most 1000000000"
        );
        assert_eq!(Range::float(0.001, 1000.0).to_string(), "0.001 to 1000");
    }

    /// README's configuration table writes each key's range as `range <min> to <max>`, and
    /// every key it gives a numeric default has a bound.
    #[test]
    fn readme_documents_every_range() {
        let readme = include_str!("../README.md");
        let table = readme
            .split("\n## Configuration\n")
            .nth(1)
            .and_then(|t| t.split("\n## ").next())
            .expect("README has a Configuration section");
        let mut current = String::new();
        let mut rows: Vec<(String, Vec<String>, String, String)> = Vec::new();
        for line in table.lines().filter(|l| l.starts_with("| ")) {
            let cells: Vec<&str> = line
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            if cells.len() < 4 || cells[0] == "table" || cells[0].starts_with("---") {
                continue;
            }
            if !cells[0].is_empty() {
                current = cells[0].trim_matches(['`', '[', ']']).to_string();
            }
            let keys = cells[1]
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect();
            rows.push((
                current.clone(),
                keys,
                cells[2].to_string(),
                cells[3..].join(" | "),
            ));
        }
        for b in BOUNDS {
            let row = rows
                .iter()
                .find(|(t, keys, _, _)| t == b.table && keys.iter().any(|k| k == b.key))
                .unwrap_or_else(|| panic!("README has no row for {}.{}", b.table, b.key));
            let want = format!("range {}", b.range);
            assert!(
                row.3.contains(&want),
                "README's row for {}.{} should say {want:?}: {:?}",
                b.table,
                b.key,
                row.3
            );
        }
        for (t, keys, default, _) in &rows {
            if default.parse::<f64>().is_ok() {
                for k in keys {
                    assert!(
                        bound_of(t, k).is_some(),
                        "README gives {t}.{k} a numeric default but BOUNDS has no range for it"
                    );
                }
            }
        }
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let e = parse("[database]\npath = 'a.db'\n\n[mail]\nsmtp_hots = 'x'\n").unwrap_err();
        assert_eq!(e.line, Some(5));
        assert_eq!(e.key.as_deref(), Some("mail.smtp_hots"));
        assert!(e.message.contains("unknown field"), "{e}");
        assert!(
            e.to_string().starts_with("t.toml:5: key `mail.smtp_hots`"),
            "{e}"
        );
    }

    #[test]
    fn wrong_type_names_line_and_key() {
        let src = "[database]\npath = 'a.db'\n[[sources]]\nname = 'g'\nkind = 'goszakup'\nurl = 'https://ows.goszakup.gov.kz'\nlookback_days = 'ten'\n";
        let e = parse(src).unwrap_err();
        assert_eq!(e.line, Some(7), "{e}");
        assert_eq!(e.key.as_deref(), Some("sources.lookback_days"));
        assert!(e.message.contains("invalid type"), "{e}");
    }

    #[test]
    fn validation_errors_name_line_and_key() {
        let src = "[database]\npath = 'a.db'\n[[sources]]\nname = 'a'\nkind = 'goszakup'\nurl = 'https://a.kz'\n[[sources]]\nname = 'b'\nkind = 'nope'\nurl = 'https://b.kz'\n";
        let e = parse(src).unwrap_err();
        assert_eq!(e.line, Some(9), "{e}");
        assert_eq!(e.key.as_deref(), Some("sources[1].kind"));
        let src = "[database]\npath = 'a.db'\n[[recipients]]\nemail = 'not an address'\n";
        let e = parse(src).unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        let src = "[database]\npath = 'a.db'\n[[recipients]]\nemail = 'a@b.kz'\nmin_severity = 'urgent'\n";
        let e = parse(src).unwrap_err();
        assert_eq!(e.line, Some(5), "{e}");
        assert_eq!(e.key.as_deref(), Some("recipients.min_severity"));
    }

    #[test]
    fn a_bad_cron_line_is_named() {
        let src = "[database]\npath = 'a.db'\n[schedule]\ncron = '0 */2 * *'\n";
        let e = parse(src).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("schedule.cron"));
        assert_eq!(e.line, Some(4));
        let src = "[database]\npath = 'a.db'\n[schedule]\ncron = '61 * * * *'\n";
        assert!(parse(src).is_err());
        let src = "[database]\npath = 'a.db'\n[schedule]\ncron = '*/10 * * * 1-5'\n";
        assert!(parse(src).is_ok());
    }

    #[test]
    fn resend_unconfirmed_after_hours_is_bounded() {
        let c = parse("[database]\npath = 'a.db'\n").unwrap();
        assert_eq!(c.mail.resend_unconfirmed_after_hours, 24);
        for ok in [0, 1, 8760] {
            let src = format!(
                "[database]\npath = 'a.db'\n[mail]\nresend_unconfirmed_after_hours = {ok}\n"
            );
            assert_eq!(parse(&src).unwrap().mail.resend_unconfirmed_after_hours, ok);
        }
        let src = "[database]\npath = 'a.db'\n[mail]\nfrom = 'a@b.kz'\nresend_unconfirmed_after_hours = 8761\n";
        let e = parse(src).unwrap_err();
        assert_eq!(
            e.key.as_deref(),
            Some("mail.resend_unconfirmed_after_hours"),
            "{e}"
        );
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.message.contains("8760"), "{e}");
        assert!(e.to_string().starts_with("t.toml:5:"), "{e}");
        for bad in ["-1", "1.5", "'24'", "18446744073709551616"] {
            let src = format!(
                "[database]\npath = 'a.db'\n[mail]\nresend_unconfirmed_after_hours = {bad}\n"
            );
            let e = parse(&src).unwrap_err();
            assert_eq!(e.line, Some(4), "{bad}: {e}");
            assert_eq!(
                e.key.as_deref(),
                Some("mail.resend_unconfirmed_after_hours"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn secrets_are_env_names_not_values() {
        let src = "[database]\npath = 'a.db'\n[mail]\npassword_env = 'hunter2 is my password'\n";
        let e = parse(src).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("mail.password_env"));
        assert_eq!(e.line, Some(4));
    }

    #[test]
    fn relative_paths_resolve_against_config_dir() {
        let src = "[database]\npath = 'data/t.db'\n[mail]\ndry_run_dir = '/abs/out'\n[rules]\nfiles = ['mine.toml']\n";
        let c = parse(src).unwrap();
        assert_eq!(c.database.path, PathBuf::from("/base/data/t.db"));
        assert_eq!(c.mail.dry_run_dir, PathBuf::from("/abs/out"));
        assert_eq!(c.rules.files, vec![PathBuf::from("/base/mine.toml")]);
    }

    #[test]
    fn missing_file_is_named() {
        let e = Config::load(Path::new("/nonexistent/dir/config.toml")).unwrap_err();
        assert_eq!(e.file, PathBuf::from("/nonexistent/dir/config.toml"));
        assert!(e.message.contains("not found"), "{e}");
    }

    #[test]
    fn digest_schedules_parse_and_find_their_last_slot() {
        use chrono::TimeZone;
        assert_eq!(
            DigestSchedule::parse("each-run"),
            Ok(DigestSchedule::EachRun)
        );
        assert_eq!(
            DigestSchedule::parse("daily"),
            Ok(DigestSchedule::Daily { hour: 8, minute: 0 })
        );
        assert_eq!(
            DigestSchedule::parse(" weekly  fri 17:30 "),
            Ok(DigestSchedule::Weekly {
                day: chrono::Weekday::Fri,
                hour: 17,
                minute: 30
            })
        );
        for bad in [
            "hourly",
            "daily 24:00",
            "daily 8",
            "weekly someday",
            "daily 08:00 x",
            "",
        ] {
            let e = DigestSchedule::parse(bad).unwrap_err();
            assert!(e.contains("is not a schedule"), "{bad}: {e}");
        }
        let utc = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        let daily = DigestSchedule::parse("daily 08:00").unwrap();
        // 08:00 in Almaty (UTC+5) is 03:00 UTC
        assert_eq!(
            daily.last_slot(utc("2026-03-02T03:00:00Z")),
            Some(utc("2026-03-02T03:00:00Z"))
        );
        assert_eq!(
            daily.last_slot(utc("2026-03-02T02:59:59Z")),
            Some(utc("2026-03-01T03:00:00Z"))
        );
        // Monday 2 March 2026, 09:00 Almaty; a weekly Monday slot at 10:00 is last week's
        let weekly = DigestSchedule::parse("weekly monday 10:00").unwrap();
        let now = chrono_tz::Asia::Almaty
            .with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(weekly.last_slot(now), Some(utc("2026-02-23T05:00:00Z")));
        assert_eq!(
            weekly.last_slot(now + chrono::Duration::hours(1)),
            Some(utc("2026-03-02T05:00:00Z"))
        );
        assert_eq!(DigestSchedule::EachRun.last_slot(now), None);
        assert_eq!(weekly.to_string(), "weekly Mon 10:00");
    }
}
