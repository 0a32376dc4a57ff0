//! Sources: one file per portal kind behind the [`Source`] trait. A source pages through a
//! portal with the shared [`Fetcher`] and maps the portal's shapes into [`NoticeRecord`]s,
//! each page with an opaque cursor the pipeline saves once the page's records are stored.
//!
//! A source must never: build its own HTTP client, download attachments (it only points to
//! them with [`DocumentRef`](crate::model::DocumentRef)s), touch the store, rules or mail, or
//! log a token.

use std::future::Future;
use std::pin::Pin;

use url::Url;

use crate::fetch::{FetchError, Fetcher};
use crate::model::NoticeRecord;

pub mod goszakup;
pub mod goszakup_html;

/// One page of records. Store `records`, then save `cursor`; when `done`, this run of the source
/// is over (the next call to [`Source::next_page`] returns `None`).
#[derive(Debug, Clone)]
pub struct Page {
    pub records: Vec<NoticeRecord>,
    /// Opaque; pass it back to [`open`] on the next run. `None`: keep the previous one.
    pub cursor: Option<String>,
    pub done: bool,
}

/// What the config says about one source, already validated (the token read from the env).
#[derive(Clone)]
pub struct SourceSpec {
    pub name: String,
    /// "goszakup" | "goszakup-html"
    pub kind: String,
    /// Base URL: `https://ows.goszakup.gov.kz` (goszakup) or `https://goszakup.gov.kz` (goszakup-html).
    pub url: Url,
    pub token: Option<String>,
    pub lookback_days: u32,
    /// `--since`: overrides the saved cursor's start.
    pub since: Option<chrono::NaiveDate>,
    /// goszakup-html: the words to search for.
    pub search_terms: Vec<String>,
    /// Hosts the pipeline's fetcher for this source allows (see [`default_allowed_hosts`]).
    pub allowed_hosts: Vec<String>,
}

impl std::fmt::Debug for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSpec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &self.url.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("lookback_days", &self.lookback_days)
            .field("since", &self.since)
            .field("search_terms", &self.search_terms)
            .field("allowed_hosts", &self.allowed_hosts)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source {name}: no token (set the environment variable its token_env names); skipped")]
    MissingToken { name: String },
    #[error("source {name}: unknown kind {kind:?} (expected goszakup or goszakup-html)")]
    UnknownKind { name: String, kind: String },
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

pub trait Source: Send {
    /// The next page, or `None` once the previous page said `done`. Cancel-safe between awaits:
    /// a source only advances its state after a page was fetched and parsed whole.
    fn next_page<'a>(&'a mut self, fetcher: &'a Fetcher) -> PageFuture<'a>;
    fn name(&self) -> &str;
}

/// Opens the source `spec.kind` names, resuming from `saved_cursor` (unless `spec.since` is set).
pub fn open(spec: &SourceSpec, saved_cursor: Option<&str>) -> Result<Box<dyn Source>, SourceError> {
    match spec.kind.as_str() {
        "goszakup" => Ok(Box::new(goszakup::Goszakup::open(spec, saved_cursor)?)),
        "goszakup-html" => Ok(Box::new(goszakup_html::GoszakupHtml::open(
            spec,
            saved_cursor,
        )?)),
        other => Err(SourceError::UnknownKind {
            name: spec.name.clone(),
            kind: other.to_string(),
        }),
    }
}

/// The hosts a kind needs: the configured URL's host, the portal's hosts and where its
/// attachments live (`v3bl.goszakup.gov.kz`).
/// The lead's config adds `attachment_hosts` to these.
pub fn default_allowed_hosts(kind: &str, url: &Url) -> Vec<String> {
    let mut hosts: Vec<String> = url.host_str().map(str::to_string).into_iter().collect();
    let extra: &[&str] = match kind {
        "goszakup" => goszakup::DEFAULT_HOSTS,
        "goszakup-html" => goszakup_html::DEFAULT_HOSTS,
        _ => &[],
    };
    for h in extra {
        if !hosts.iter().any(|x| x == h) {
            hosts.push((*h).to_string());
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

/// Whether a body looks like an HTML page rather than JSON.
pub(crate) fn looks_like_html(content_type: Option<&str>, body: &[u8]) -> bool {
    if content_type.is_some_and(|c| c.to_ascii_lowercase().contains("html")) {
        return true;
    }
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    body[start..].first() == Some(&b'<')
}
