//! Sources: one file per portal kind behind the [`Source`] trait. A source pages through a
//! portal with the shared [`Fetcher`] and maps the portal's shapes into [`NoticeRecord`]s,
//! each page with an opaque cursor the pipeline saves once the page's records are stored.
//! Each record carries the responses it was read from, byte for byte
//! ([`Payload`](crate::model::Payload), from [`Response::payload`](crate::fetch::Response::payload)):
//! the pipeline keeps them as evidence.
//!
//! [`open`] matches the config's typed [`SourceKind`] and hands each source its own
//! settings, compiled when the config was read ([`SourceSpec`]: the config plus the token,
//! `--since` and the allowed hosts). What sources do alike is [`util`]'s: the start of a run,
//! the cursor's JSON, the HTML-instead-of-JSON check, amounts and times.
//!
//! A source must never: build its own HTTP client, download attachments (it only points to
//! them with [`DocumentRef`](crate::model::DocumentRef)s), touch the store, rules, evidence
//! folder or mail, hand up a re-serialised payload instead of the bytes it received, log
//! a token, parse again what the config compiled, or read an amount or a time its own way.

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use url::Url;

use crate::config::{SourceConfig, SourceKind};
use crate::fetch::{FetchError, Fetcher};
use crate::model::{DocumentRef, NoticeRecord};

pub mod goszakup;
pub mod goszakup_html;
pub mod html;
pub mod ocds;
pub mod prozorro;
pub mod samruk;
pub mod util;

/// One page of records. Store `records`, then save `cursor`; when `done`, this run of the source
/// is over (the next call to [`Source::next_page`] returns `None`).
#[derive(Debug, Clone)]
pub struct Page {
    pub records: Vec<NoticeRecord>,
    /// Opaque; pass it back to [`open`] on the next run. `None`: keep the previous one.
    pub cursor: Option<String>,
    pub done: bool,
}

/// A source as a run opens it: what the config says of it, and the three things the run adds.
#[derive(Clone)]
pub struct SourceSpec {
    /// `[[sources]]`, validated and compiled: its name, URL, `lookback_days`, and its kind
    /// with the settings only that kind reads. The URL is the base URL
    /// (`https://ows.goszakup.gov.kz` for goszakup, `https://goszakup.gov.kz` for
    /// goszakup-html), the first page or the bulk file (ocds), the first listing page (html),
    /// the search endpoint (samruk), the tender feed (prozorro).
    pub config: SourceConfig,
    /// The token, read from the environment variable `token_env` names.
    pub token: Option<String>,
    /// `--since`: overrides the saved cursor's start.
    pub since: Option<chrono::NaiveDate>,
    /// `backfill --until`: the last day to crawl (sources that can bound a crawl's end,
    /// goszakup; others crawl up to today). None: up to now.
    pub until: Option<chrono::NaiveDate>,
    /// Hosts this source may reach: its own and its attachments' ([`allowed_hosts`]). See
    /// [`open`].
    pub allowed_hosts: Vec<String>,
}

impl SourceSpec {
    /// The one way from the config to a source: `config` as it is, its token read from the
    /// environment, `since`, and the hosts [`allowed_hosts`] gives it.
    pub fn new(config: &SourceConfig, since: Option<chrono::NaiveDate>) -> SourceSpec {
        SourceSpec {
            token: config.token(),
            since,
            until: None,
            allowed_hosts: allowed_hosts(config),
            config: config.clone(),
        }
    }
}

impl std::fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSpec")
            .field("config", &self.config)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("since", &self.since)
            .field("until", &self.until)
            .field("allowed_hosts", &self.allowed_hosts)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source {name}: no token (set the environment variable its token_env names); skipped")]
    MissingToken { name: String },
    #[error("source {name}: {message}")]
    Config { name: String, message: String },
    #[error("source {name}: saved cursor {cursor:?} is unusable: {reason}")]
    BadCursor {
        name: String,
        cursor: String,
        reason: String,
    },
    #[error("source {name}: {url}: the page format changed: {what}")]
    ChangedFormat {
        name: String,
        url: String,
        what: String,
    },
    #[error("source {name}: {url}: the API answered with errors: {message}")]
    Api {
        name: String,
        url: String,
        message: String,
    },
    /// The portal refused the request in a way no retry of ours can pass (Samruk's gateway
    /// without its browser-minted `tor` header: HTTP 403, 418 or 429).
    #[error(
        "source {name}: {url}: HTTP {status}: the portal refused: it may require its browser-minted request signature ({why})"
    )]
    Refused {
        name: String,
        url: String,
        status: u16,
        why: String,
    },
    #[error(
        "source {name}: the cursor does not move (still {cursor}); stopped to avoid an endless loop"
    )]
    StuckCursor { name: String, cursor: String },
    #[error("source {name}: {source}")]
    Fetch {
        name: String,
        #[source]
        source: Box<FetchError>,
    },
}

/// A boxed future, so that `Source` stays dyn-compatible.
pub type PageFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Page>, SourceError>> + Send + 'a>>;

/// What asking the portal for one notice by id found.
#[derive(Debug, Clone)]
pub enum Recheck {
    /// The portal still has it.
    Found(Box<NoticeRecord>),
    /// The portal answered, without it.
    Gone,
    /// This kind cannot ask for a single notice.
    Unsupported,
}

pub type RecheckFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Recheck, SourceError>> + Send + 'a>>;

pub trait Source: Send {
    /// The next page, or `None` once the previous page said `done`. Cancel-safe between awaits:
    /// a source only advances its state after a page was fetched and parsed whole.
    fn next_page<'a>(&'a mut self, fetcher: &'a Fetcher) -> PageFuture<'a>;
    fn name(&self) -> &str;
    /// Ask the portal for one notice by its external id (to see whether a flagged notice
    /// the crawl no longer meets has disappeared). Kinds that cannot keep the default.
    fn recheck<'a>(
        &'a mut self,
        _fetcher: &'a Fetcher,
        _external_id: &'a str,
    ) -> RecheckFuture<'a> {
        Box::pin(async { Ok(Recheck::Unsupported) })
    }
}

/// Opens the source of `spec`'s kind, resuming from `saved_cursor` (unless `spec.since` is set).
///
/// Give each source a view of the shared client limited to its hosts,
/// `fetcher.with_allowed_hosts(&spec.allowed_hosts)`, for its pages and its documents alike.
pub fn open(spec: &SourceSpec, saved_cursor: Option<&str>) -> Result<Box<dyn Source>, SourceError> {
    let url = &spec.config.url;
    if !spec.allowed_hosts.is_empty() && !Fetcher::hosts_allow(&spec.allowed_hosts, url) {
        return Err(SourceError::Config {
            name: spec.config.name.clone(),
            message: format!(
                "the source's own URL {url} is not in its allowed hosts {:?}",
                spec.allowed_hosts
            ),
        });
    }
    Ok(match &spec.config.kind {
        SourceKind::Goszakup(_) => Box::new(goszakup::Goszakup::open(spec, saved_cursor)?),
        SourceKind::GoszakupHtml(s) => {
            Box::new(goszakup_html::GoszakupHtml::open(spec, s, saved_cursor)?)
        }
        SourceKind::Ocds(s) => Box::new(ocds::Ocds::open(spec, s, saved_cursor)?),
        SourceKind::Html(s) => Box::new(html::HtmlSource::open(spec, s, saved_cursor)?),
        SourceKind::Samruk(s) => Box::new(samruk::Samruk::open(spec, s, saved_cursor)?),
        SourceKind::Prozorro(s) => Box::new(prozorro::Prozorro::open(spec, s, saved_cursor)?),
    })
}

/// The hosts a kind needs: the configured URL's host, the portal's hosts and where its
/// attachments live (`v3bl.goszakup.gov.kz`, ProZorro's `public-docs.prozorro.gov.ua`).
/// The lead's config adds `attachment_hosts` to these ([`allowed_hosts`]).
pub fn default_allowed_hosts(kind: &SourceKind, url: &Url) -> Vec<String> {
    // The source's own host at its own port (a bare host means the default port only).
    let mut hosts: Vec<String> = url
        .host_str()
        .map(|h| match url.port() {
            Some(p) => format!("{h}:{p}"),
            None => h.to_string(),
        })
        .into_iter()
        .collect();
    let extra: &[&str] = match kind {
        SourceKind::Goszakup(_) => goszakup::DEFAULT_HOSTS,
        SourceKind::GoszakupHtml(_) => goszakup_html::DEFAULT_HOSTS,
        SourceKind::Samruk(_) => samruk::DEFAULT_HOSTS,
        SourceKind::Prozorro(_) => prozorro::DEFAULT_HOSTS,
        // Any publisher: its own host, plus the config's attachment_hosts.
        SourceKind::Ocds(_) | SourceKind::Html(_) => &[],
    };
    for h in extra {
        if !hosts.iter().any(|x| x == h) {
            hosts.push((*h).to_string());
        }
    }
    hosts
}

/// The hosts a source may fetch from: its own, its kind's attachment hosts, and the
/// config's `attachment_hosts`.
pub fn allowed_hosts(config: &SourceConfig) -> Vec<String> {
    let mut hosts = default_allowed_hosts(&config.kind, &config.url);
    for h in &config.attachment_hosts {
        if !hosts.contains(h) {
            hosts.push(h.clone());
        }
    }
    hosts
}

pub(crate) fn fetch_err(name: &str) -> impl FnOnce(FetchError) -> SourceError + '_ {
    move |source| SourceError::Fetch {
        name: name.to_string(),
        source: Box::new(source),
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers every source may use (more in [`util`]: start, cursor, HTML check, amounts, times).

/// Technical specifications first, then documents that can carry text, then the rest.
pub(crate) fn document_rank(d: &DocumentRef) -> u8 {
    if d.is_spec {
        0
    } else if d.media_type.is_some() || d.file_name.is_none() {
        1
    } else {
        2
    }
}

/// Whether a file is the technical specification (техническая спецификация / техникалық ерекшелік).
pub(crate) fn is_spec(title: Option<&str>, file_name: Option<&str>) -> bool {
    let title = title.unwrap_or("").to_lowercase();
    let file = file_name.unwrap_or("").to_lowercase();
    (title.contains("технич") && title.contains("специфик"))
        || title.contains("техспецифик")
        || title.contains("техникалық ерекшел")
        || file.starts_with("techspec")
        || file.starts_with("техспец")
}

/// Media type from a file name's extension (the documents extraction can read).
pub(crate) fn media_type(file_name: &str) -> Option<&'static str> {
    let ext = file_name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "pdf" => "application/pdf",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "doc" => "application/msword",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xls" => "application/vnd.ms-excel",
        "zip" => "application/zip",
        "rtf" => "application/rtf",
        "odt" => "application/vnd.oasis.opendocument.text",
        "txt" => "text/plain",
        "cms" | "p7s" | "p7m" | "sig" => "application/pkcs7-mime",
        _ => return None,
    })
}

/// A configured notice URL template with `{id}`, `{ocid}` and `{number}` filled in
/// (percent-encoded as a path segment).
pub(crate) fn fill_template(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        let enc: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
        out = out.replace(&format!("{{{k}}}"), &enc.replace('+', "%20"));
    }
    out
}

/// The file name at the end of a URL's path, if it looks like one.
pub(crate) fn url_file_name(url: &str) -> Option<String> {
    let u = Url::parse(url).ok()?;
    let last = u.path_segments()?.rev().find(|s| !s.is_empty())?;
    let decoded = url::form_urlencoded::parse(last.as_bytes())
        .next()
        .map(|(k, _)| k.into_owned())
        .unwrap_or_else(|| last.to_string());
    decoded.contains('.').then_some(decoded)
}

/// `base` joined with a relative path, keeping any path prefix of `base`.
pub(crate) fn join(base: &Url, path: &str) -> Result<Url, String> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        let p = format!("{}/", base.path());
        base.set_path(&p);
    }
    base.join(path.trim_start_matches('/'))
        .map_err(|e| format!("cannot join {path:?} to {base}: {e}"))
}

pub(crate) fn value_to_string(v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_string())
        }
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

pub(crate) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(value_to_string(Value::deserialize(d)?))
}

pub(crate) fn lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one conversion: the config as it is, plus what the run adds.
    #[test]
    fn a_spec_is_the_config_and_the_run() {
        let mut config = SourceConfig::new(
            "gz",
            Url::parse("https://ows.goszakup.gov.kz").unwrap(),
            SourceKind::Goszakup(Default::default()),
        );
        config.token_env = Some("TENDERSCAN_TEST_TOKEN_NEVER_SET".into());
        config.attachment_hosts = vec!["v3bl.goszakup.gov.kz".into(), "cdn.example".into()];
        let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 2);
        let spec = SourceSpec::new(&config, day);
        assert_eq!(spec.config.name, "gz");
        assert_eq!(spec.config.kind, config.kind);
        assert_eq!(spec.since, day);
        assert_eq!(spec.token, None, "the variable is not set");
        assert_eq!(
            spec.allowed_hosts,
            ["ows.goszakup.gov.kz", "v3bl.goszakup.gov.kz", "cdn.example"]
        );
        let with_token = SourceSpec {
            token: Some("s3cret-token".into()),
            ..spec
        };
        let shown = format!("{with_token:?}");
        assert!(
            !shown.contains("s3cret-token") && shown.contains("<redacted>"),
            "{shown}"
        );
    }

    #[test]
    fn templates_and_file_names() {
        assert_eq!(
            fill_template("https://p.ua/tender/{ocid}", &[("ocid", "ocds-1/a b")]),
            "https://p.ua/tender/ocds-1%2Fa%20b"
        );
        assert_eq!(
            url_file_name("https://h/files/ТЗ%20smm.docx?x=1").as_deref(),
            Some("ТЗ smm.docx")
        );
        assert_eq!(url_file_name("https://h/files/123/"), None);
    }
}
