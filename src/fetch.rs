//! The one HTTP client of tenderscan. Every source and every attachment download goes through
//! [`Fetcher`]: it enforces the allowed hosts (checked before any request and on every
//! redirect hop), a per-host rate limit, a cap on requests in flight, timeouts, a body size cap
//! read as a stream, and retries with exponential back-off, jitter and `Retry-After`.
//!
//! It must never: build a second client, turn TLS verification off, follow a redirect to a host
//! that is not allowed, or print request headers (the `Authorization` token lives there).

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use tokio::sync::Semaphore;
use url::Url;

/// How many redirect hops one request may follow.
const MAX_REDIRECTS: usize = 10;
/// Whole-request limit of a [`Fetcher::download`]; the usual timeout applies to each chunk.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(12 * 3600);
/// The longest wait between two requests to a host that a rate limit may ask for.
const MAX_RATE_PERIOD: Duration = Duration::from_secs(86_400);
/// How much of an error body is kept in [`FetchError::Status`].
const EXCERPT_CHARS: usize = 300;

/// Installs ring as rustls' process-wide crypto provider. Idempotent; [`Fetcher::new`] calls it.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Validated settings for the client (the config module fills them).
#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// Names the tool and a contact, e.g. "tenderscan/0.1 (+mailto:ops@example.org)".
    pub user_agent: String,
    /// Per host. `0` or less means no limit.
    pub requests_per_second: f64,
    /// Whole request, body included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_body_bytes: u64,
    /// Retries after the first attempt on 429, 5xx, 408, timeouts, network errors, truncated bodies.
    pub max_retries: u32,
    pub backoff_base: Duration,
    /// Caps both the exponential back-off and a server's `Retry-After`.
    pub max_backoff: Duration,
    /// Host names (`ows.goszakup.gov.kz`: its default port only), `host:port` (that port), or
    /// `*.suffix` for any subdomain (default port).
    pub allowed_hosts: Vec<String>,
    /// An extra PEM root certificate (bundle), added to the built-in roots. Verification stays on.
    pub ca_file: Option<PathBuf>,
    pub max_in_flight: usize,
    /// Retries on HTTP 403 (goszakup answers 403 transiently, but also for a bad token), at most
    /// `max_retries`. 401 is never retried.
    pub forbidden_retries: u32,
    /// The least wait before retrying an HTTP 403 or 500: goszakup refuses for a while and
    /// then lets the same request through (working clients sleep 15 to 40 s). It raises the
    /// back-off's cap to itself; a longer `Retry-After` is still honoured.
    pub refused_backoff: Duration,
}

/// Default of [`FetchSettings::refused_backoff`] (`[crawl] refused_backoff_secs`).
pub const REFUSED_BACKOFF: Duration = Duration::from_secs(30);

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            user_agent: concat!("tenderscan/", env!("CARGO_PKG_VERSION")).to_string(),
            requests_per_second: 1.0,
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(20),
            max_body_bytes: 50 * 1024 * 1024,
            max_retries: 4,
            backoff_base: Duration::from_secs(2),
            max_backoff: Duration::from_secs(120),
            allowed_hosts: Vec::new(),
            ca_file: None,
            max_in_flight: 4,
            forbidden_retries: 2,
            refused_backoff: REFUSED_BACKOFF,
        }
    }
}

/// A fetched body, read whole (within `max_body_bytes`).
#[derive(Debug, Clone)]
pub struct Response {
    /// The final URL, after redirects.
    pub url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
    pub fetched_at: DateTime<Utc>,
    /// The `ETag` and `Last-Modified` validators, for a conditional request next time.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Response {
    /// The answer as evidence: its bytes as they came, where from, when, with what status.
    pub fn payload(&self) -> crate::model::Payload {
        crate::model::Payload {
            url: self.url.to_string(),
            status: self.status,
            content_type: self.content_type.clone(),
            fetched_at: self.fetched_at,
            body: self.body.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: host is not in the allowed hosts; not requested")]
    HostNotAllowed { url: Url },
    #[error("{url}: body larger than the limit of {limit} bytes")]
    TooLarge { url: Url, limit: u64 },
    #[error("{url}: HTTP {status}: {body_excerpt}")]
    Status {
        url: Url,
        status: u16,
        body_excerpt: String,
    },
    #[error(
        "{url}: HTTP {status}: access denied; is the token missing, wrong or expired? (bad token?)"
    )]
    Unauthorized { url: Url, status: u16 },
    /// HTTP 412: ProZorro and others answer it to clients that do not look like a browser.
    #[error(
        "{url}: HTTP 412: the portal refused this client; it may want a browser-like User-Agent (set the source's `user_agent`)"
    )]
    RefusedClient { url: Url },
    #[error("{url}: timed out")]
    Timeout { url: Url },
    /// The cause is named once, in the message ([`network_cause`]): DNS, refused, reset,
    /// TLS, timeout, or the innermost error's own words.
    #[error("{url}: network error: {cause}")]
    Network { url: Url, cause: String },
    #[error("{url}: body truncated (connection closed early)")]
    Truncated { url: Url },
    #[error("{url}: too many redirects")]
    TooManyRedirects { url: Url },
    #[error("fetch configuration: {0}")]
    Config(String),
}

impl FetchError {
    /// HTTP 403 or 500: how goszakup refuses for a while (retried after
    /// [`FetchSettings::refused_backoff`]). A 401 is never one: it is not retried.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            FetchError::Unauthorized { status: 403, .. } | FetchError::Status { status: 500, .. }
        )
    }

    /// Whether the same request may well succeed later: timeouts, network errors, bodies cut
    /// short, and HTTP 408, 429 and 5xx. The one classification every retry site uses (the
    /// fetcher's retries within a request, the pipeline's "leave it pending for the next
    /// run"). A 403 is retried a few times within a request (a WAF's challenge) but is not
    /// transient: the next run would meet the same wall.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            FetchError::Timeout { .. }
                | FetchError::Network { .. }
                | FetchError::Truncated { .. }
                | FetchError::Status {
                    status: 408 | 429 | 500..=599,
                    ..
                }
        )
    }
}

impl FetchError {
    /// The URL the error is about (none for a configuration error).
    pub fn url(&self) -> Option<&Url> {
        match self {
            FetchError::HostNotAllowed { url }
            | FetchError::TooLarge { url, .. }
            | FetchError::Status { url, .. }
            | FetchError::RefusedClient { url }
            | FetchError::Unauthorized { url, .. }
            | FetchError::Timeout { url }
            | FetchError::Network { url, .. }
            | FetchError::Truncated { url }
            | FetchError::TooManyRedirects { url } => Some(url),
            FetchError::Config(_) => None,
        }
    }
}

struct Shared {
    client: reqwest::Client,
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    in_flight: Semaphore,
    settings: FetchSettings,
}

/// The HTTP client. Cheap to clone; clones share the rate limiter and the in-flight cap.
#[derive(Clone)]
pub struct Fetcher {
    shared: Arc<Shared>,
    allowed_hosts: Arc<Vec<String>>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("allowed_hosts", &self.allowed_hosts)
            .finish_non_exhaustive()
    }
}

/// One request as every attempt of it is made.
#[derive(Clone, Copy)]
struct Request<'a> {
    method: &'a Method,
    url: &'a Url,
    headers: &'a [(&'a str, String)],
    json_body: Option<&'a Bytes>,
    sink: Sink<'a>,
}

/// Where a body goes: into memory (capped by `max_body_bytes`), or streamed to a file (capped
/// by its own limit), for bulk files far larger than memory.
#[derive(Clone, Copy)]
enum Sink<'a> {
    Memory,
    File { path: &'a Path, limit: u64 },
}

/// A body downloaded to a file by [`Fetcher::download`].
#[derive(Debug, Clone)]
pub struct Download {
    /// The final URL, after redirects.
    pub url: Url,
    pub content_type: Option<String>,
    /// Bytes written to the file (after any `Content-Encoding` was undone).
    pub bytes: u64,
    pub fetched_at: DateTime<Utc>,
    /// HTTP 304 to a conditional request (`If-None-Match`/`If-Modified-Since` in the headers):
    /// nothing was written.
    pub not_modified: bool,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What one attempt ended in.
enum Attempt {
    Done(Response),
    /// Retry after the back-off (or the server's `Retry-After`, if given).
    Retry(FetchError, Option<Duration>),
    Fail(FetchError),
}

impl Fetcher {
    pub fn new(settings: FetchSettings) -> Result<Fetcher, FetchError> {
        install_crypto_provider();
        if settings.max_in_flight == 0 {
            return Err(FetchError::Config(
                "max_in_flight must be at least 1".into(),
            ));
        }
        if settings.user_agent.trim().is_empty() {
            return Err(FetchError::Config(
                "user_agent must name the tool and a contact".into(),
            ));
        }
        if !settings.requests_per_second.is_finite() {
            return Err(FetchError::Config(
                "requests_per_second must be finite".into(),
            ));
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            // Redirects are followed by hand so that every hop is checked against the allowed
            // hosts of the `Fetcher` view making the request.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                FetchError::Config(format!("cannot read ca_file {}: {e}", path.display()))
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                FetchError::Config(format!("ca_file {} is not PEM: {e}", path.display()))
            })?;
            if certs.is_empty() {
                return Err(FetchError::Config(format!(
                    "ca_file {} holds no certificate",
                    path.display()
                )));
            }
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder
            .build()
            .map_err(|e| FetchError::Config(format!("cannot build the HTTP client: {e}")))?;
        let limiter = if settings.requests_per_second > 0.0 {
            // Checked: governor panics on a period past 584 years, and so does
            // `from_secs_f64` past u64::MAX seconds.
            let period = Duration::try_from_secs_f64(1.0 / settings.requests_per_second)
                .ok()
                .filter(|p| *p <= MAX_RATE_PERIOD)
                .ok_or_else(|| {
                    FetchError::Config(
                        "requests_per_second is too small (below one request a day)".into(),
                    )
                })?;
            let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
                .ok_or_else(|| FetchError::Config("requests_per_second is too large".into()))?
                .allow_burst(NonZeroU32::MIN);
            Some(RateLimiter::keyed(quota))
        } else {
            None
        };
        let allowed_hosts = Arc::new(normalise_hosts(&settings.allowed_hosts));
        Ok(Fetcher {
            shared: Arc::new(Shared {
                client,
                limiter,
                in_flight: Semaphore::new(settings.max_in_flight),
                settings,
            }),
            allowed_hosts,
        })
    }

    /// A view of this client with other allowed hosts (e.g. one source's API host plus its
    /// attachment hosts). It shares the connection pool, rate limiter and in-flight cap.
    pub fn with_allowed_hosts(&self, hosts: &[String]) -> Fetcher {
        Fetcher {
            shared: self.shared.clone(),
            allowed_hosts: Arc::new(normalise_hosts(hosts)),
        }
    }

    /// Whether `url` is on one of `hosts` (same matching as `allowed_hosts`).
    pub fn hosts_allow(hosts: &[String], url: &Url) -> bool {
        host_allowed(&normalise_hosts(hosts), url)
    }

    /// Whether `url` may be requested by this client.
    pub fn is_allowed(&self, url: &Url) -> bool {
        host_allowed(&self.allowed_hosts, url)
    }

    pub fn settings(&self) -> &FetchSettings {
        &self.shared.settings
    }

    pub async fn get(&self, url: &Url, headers: &[(&str, String)]) -> Result<Response, FetchError> {
        self.execute(Method::GET, url, headers, None, Sink::Memory)
            .await
    }

    /// GETs `url` and streams its body into the file `dest` (created or truncated at each
    /// attempt), never holding more than one chunk in memory. Same allowed hosts, redirects,
    /// rate limit and retries as [`Fetcher::get`]; the body may be up to `limit` bytes
    /// (not `max_body_bytes`). On an error the file may hold a partial body.
    pub async fn download(
        &self,
        url: &Url,
        headers: &[(&str, String)],
        dest: &Path,
        limit: u64,
    ) -> Result<Download, FetchError> {
        let resp = self
            .execute(
                Method::GET,
                url,
                headers,
                None,
                Sink::File { path: dest, limit },
            )
            .await?;
        let not_modified = resp.status == 304;
        let bytes = if not_modified {
            0
        } else {
            tokio::fs::metadata(dest)
                .await
                .map_err(|e| FetchError::Config(format!("cannot read {}: {e}", dest.display())))?
                .len()
        };
        Ok(Download {
            url: resp.url,
            content_type: resp.content_type,
            bytes,
            fetched_at: resp.fetched_at,
            not_modified,
            etag: resp.etag,
            last_modified: resp.last_modified,
        })
    }

    /// POSTs `body` as JSON (`Content-Type: application/json`). An empty 200 body is retried.
    pub async fn post_json(
        &self,
        url: &Url,
        headers: &[(&str, String)],
        body: &serde_json::Value,
    ) -> Result<Response, FetchError> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            FetchError::Config(format!("cannot encode the JSON body for {url}: {e}"))
        })?;
        self.execute(
            Method::POST,
            url,
            headers,
            Some(Bytes::from(bytes)),
            Sink::Memory,
        )
        .await
    }

    async fn execute(
        &self,
        method: Method,
        url: &Url,
        headers: &[(&str, String)],
        json_body: Option<Bytes>,
        sink: Sink<'_>,
    ) -> Result<Response, FetchError> {
        if !self.is_allowed(url) {
            return Err(FetchError::HostNotAllowed { url: url.clone() });
        }
        let s = &self.shared.settings;
        let mut delays = ExponentialBuilder::new()
            .with_min_delay(s.backoff_base)
            .with_max_delay(s.max_backoff)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(usize::MAX)
            .build();
        let mut forbidden_seen = 0u32;
        let mut attempt_no = 0u32;
        loop {
            let outcome = self
                .attempt(
                    &Request {
                        method: &method,
                        url,
                        headers,
                        json_body: json_body.as_ref(),
                        sink,
                    },
                    &mut forbidden_seen,
                )
                .await;
            match outcome {
                Attempt::Done(resp) => return Ok(resp),
                Attempt::Fail(err) => return Err(err),
                Attempt::Retry(err, retry_after) => {
                    if attempt_no >= s.max_retries {
                        return Err(err);
                    }
                    attempt_no += 1;
                    let backoff = delays.next().unwrap_or(s.max_backoff);
                    let wait = if err.is_refusal() {
                        // A refusal passes after a long wait, not after a short one.
                        let cap = s.max_backoff.max(s.refused_backoff);
                        retry_after
                            .unwrap_or(backoff)
                            .max(s.refused_backoff)
                            .min(cap)
                    } else {
                        retry_after.unwrap_or(backoff).min(s.max_backoff)
                    };
                    // A retry that then succeeds is no news for cron: info, not a warning;
                    // only the final failure (returned to the caller) is reported as one.
                    tracing::info!(
                        url = %redact(url),
                        error = %err,
                        attempt = attempt_no,
                        wait_ms = wait.as_millis() as u64,
                        "retrying"
                    );
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// One attempt, following redirects by hand.
    async fn attempt(&self, req: &Request<'_>, forbidden_seen: &mut u32) -> Attempt {
        let Request {
            method,
            url,
            headers,
            json_body,
            sink,
        } = *req;
        let json_body = json_body.cloned();
        let s = &self.shared.settings;
        let mut current = url.clone();
        let mut method = method.clone();
        let mut body = json_body;
        let mut send_auth = true;
        for _hop in 0..=MAX_REDIRECTS {
            if !self.is_allowed(&current) {
                return Attempt::Fail(FetchError::HostNotAllowed { url: current });
            }
            let host_key = host_key(&current);
            if let Some(limiter) = &self.shared.limiter {
                limiter.until_key_ready(&host_key).await;
            }
            let Ok(_permit) = self.shared.in_flight.acquire().await else {
                return Attempt::Fail(FetchError::Config("the fetcher was shut down".into()));
            };
            let mut req = self.shared.client.request(method.clone(), current.clone());
            if matches!(sink, Sink::File { .. }) {
                // A bulk file may take hours; stalls are caught per chunk instead.
                req = req.timeout(DOWNLOAD_TIMEOUT);
            }
            for (name, value) in headers {
                if !send_auth && name.eq_ignore_ascii_case("authorization") {
                    continue;
                }
                req = req.header(*name, value.as_str());
            }
            if let Some(b) = &body {
                req = req.header(CONTENT_TYPE, "application/json").body(b.clone());
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => return classify_send_error(&current, e),
            };
            let status = resp.status();
            let validator = |name: reqwest::header::HeaderName| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let etag = validator(reqwest::header::ETAG);
            let last_modified = validator(reqwest::header::LAST_MODIFIED);
            if status == StatusCode::NOT_MODIFIED {
                // Only ever the answer to a conditional request the caller made.
                return Attempt::Done(Response {
                    url: current,
                    status: status.as_u16(),
                    content_type: None,
                    body: Bytes::new(),
                    fetched_at: Utc::now(),
                    etag: etag.or_else(|| {
                        headers
                            .iter()
                            .find(|(n, _)| n.eq_ignore_ascii_case("if-none-match"))
                            .map(|(_, v)| v.clone())
                    }),
                    last_modified,
                });
            }
            if status.is_redirection() {
                let Some(location) = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| current.join(l).ok())
                else {
                    return Attempt::Fail(FetchError::Status {
                        url: current,
                        status: status.as_u16(),
                        body_excerpt: "redirect without a usable Location".into(),
                    });
                };
                if location.host_str() != current.host_str()
                    || location.port_or_known_default() != current.port_or_known_default()
                {
                    send_auth = false;
                }
                if status == StatusCode::SEE_OTHER
                    || ((status == StatusCode::MOVED_PERMANENTLY || status == StatusCode::FOUND)
                        && method == Method::POST)
                {
                    method = Method::GET;
                    body = None;
                }
                current = location;
                continue;
            }
            let retry_after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, Utc::now()));
            let content_type = resp
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let declared_len = resp
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let limit = match sink {
                Sink::File { limit, .. } if status.is_success() => limit,
                _ => s.max_body_bytes,
            };
            if let Some(len) = declared_len
                && len > limit
            {
                if status.is_success() {
                    return Attempt::Fail(FetchError::TooLarge {
                        url: current,
                        limit,
                    });
                }
                return self.status_outcome(
                    current,
                    status,
                    Bytes::new(),
                    retry_after,
                    forbidden_seen,
                );
            }
            let read = match sink {
                Sink::File { path, .. } if status.is_success() => {
                    write_capped(resp, &current, path, limit, declared_len, s.timeout)
                        .await
                        .map(|()| Bytes::new())
                }
                _ => read_capped(resp, &current, limit, declared_len).await,
            };
            let body_bytes = match read {
                Ok(b) => b,
                Err(ReadError::TooLarge) => {
                    return Attempt::Fail(FetchError::TooLarge {
                        url: current,
                        limit,
                    });
                }
                Err(ReadError::File(e)) => {
                    return Attempt::Fail(FetchError::Config(format!(
                        "cannot write the download of {}: {e}",
                        redact(&current)
                    )));
                }
                Err(ReadError::Truncated) => {
                    return Attempt::Retry(FetchError::Truncated { url: current }, None);
                }
                Err(ReadError::Timeout) => {
                    return Attempt::Retry(FetchError::Timeout { url: current }, None);
                }
                Err(ReadError::Other(e)) => {
                    return Attempt::Retry(
                        FetchError::Network {
                            url: current,
                            cause: network_cause(&e),
                        },
                        None,
                    );
                }
            };
            if !status.is_success() {
                return self.status_outcome(
                    current,
                    status,
                    body_bytes,
                    retry_after,
                    forbidden_seen,
                );
            }
            if method == Method::POST && body_bytes.is_empty() && matches!(sink, Sink::Memory) {
                return Attempt::Retry(FetchError::Truncated { url: current }, None);
            }
            return Attempt::Done(Response {
                url: current,
                status: status.as_u16(),
                content_type,
                body: body_bytes,
                fetched_at: Utc::now(),
                etag,
                last_modified,
            });
        }
        Attempt::Fail(FetchError::TooManyRedirects { url: current })
    }

    fn status_outcome(
        &self,
        url: Url,
        status: StatusCode,
        body: Bytes,
        retry_after: Option<Duration>,
        forbidden_seen: &mut u32,
    ) -> Attempt {
        let code = status.as_u16();
        match code {
            401 => Attempt::Fail(FetchError::Unauthorized { url, status: code }),
            403 => {
                *forbidden_seen += 1;
                let err = FetchError::Unauthorized { url, status: code };
                if *forbidden_seen > self.shared.settings.forbidden_retries {
                    Attempt::Fail(err)
                } else {
                    Attempt::Retry(err, retry_after)
                }
            }
            412 => Attempt::Fail(FetchError::RefusedClient { url }),
            _ => {
                let err = FetchError::Status {
                    url,
                    status: code,
                    body_excerpt: excerpt(&body),
                };
                if err.is_transient() {
                    Attempt::Retry(err, retry_after)
                } else {
                    Attempt::Fail(err)
                }
            }
        }
    }
}

enum ReadError {
    TooLarge,
    File(std::io::Error),
    Truncated,
    Timeout,
    Other(reqwest::Error),
}

/// Reads the body as a stream, stopping as soon as it passes `limit`.
async fn read_capped(
    resp: reqwest::Response,
    url: &Url,
    limit: u64,
    declared_len: Option<u64>,
) -> Result<Bytes, ReadError> {
    let mut buf = BytesMut::with_capacity(declared_len.unwrap_or(8 * 1024).min(limit) as usize);
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                if buf.len() as u64 + chunk.len() as u64 > limit {
                    return Err(ReadError::TooLarge);
                }
                buf.extend_from_slice(&chunk);
            }
            Err(e) if e.is_timeout() => return Err(ReadError::Timeout),
            Err(e) if e.is_body() || e.is_decode() => {
                tracing::debug!(url = %redact(url), error = %e, "body read failed");
                return Err(ReadError::Truncated);
            }
            Err(e) => return Err(ReadError::Other(e)),
        }
    }
    // reqwest drops Content-Length when it decompresses, so a declared length is the body's.
    if let Some(len) = declared_len
        && (buf.len() as u64) < len
    {
        tracing::debug!(url = %redact(url), got = buf.len(), declared = len, "short body");
        return Err(ReadError::Truncated);
    }
    Ok(buf.freeze())
}

/// Streams the body into the file at `path` (truncating it first), stopping as soon as it
/// passes `limit`. Memory use is one chunk.
async fn write_capped(
    resp: reqwest::Response,
    url: &Url,
    path: &Path,
    limit: u64,
    declared_len: Option<u64>,
    idle: Duration,
) -> Result<(), ReadError> {
    use tokio::io::AsyncWriteExt;
    let file = tokio::fs::File::create(path)
        .await
        .map_err(ReadError::File)?;
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    let mut written = 0u64;
    let mut stream = resp.bytes_stream();
    loop {
        let Ok(next) = tokio::time::timeout(idle, stream.next()).await else {
            return Err(ReadError::Timeout);
        };
        let Some(chunk) = next else { break };
        match chunk {
            Ok(chunk) => {
                written += chunk.len() as u64;
                if written > limit {
                    return Err(ReadError::TooLarge);
                }
                out.write_all(&chunk).await.map_err(ReadError::File)?;
            }
            Err(e) if e.is_timeout() => return Err(ReadError::Timeout),
            Err(e) if e.is_body() || e.is_decode() => {
                tracing::debug!(url = %redact(url), error = %e, "download failed");
                return Err(ReadError::Truncated);
            }
            Err(e) => return Err(ReadError::Other(e)),
        }
    }
    out.flush().await.map_err(ReadError::File)?;
    if let Some(len) = declared_len
        && written < len
    {
        tracing::debug!(url = %redact(url), got = written, declared = len, "short download");
        return Err(ReadError::Truncated);
    }
    Ok(())
}

fn classify_send_error(url: &Url, e: reqwest::Error) -> Attempt {
    if e.is_timeout() {
        Attempt::Retry(FetchError::Timeout { url: url.clone() }, None)
    } else if e.is_builder() {
        Attempt::Fail(FetchError::Config(format!(
            "cannot build a request for {url}: {e}"
        )))
    } else if e.is_body() || e.is_decode() {
        Attempt::Retry(FetchError::Truncated { url: url.clone() }, None)
    } else {
        Attempt::Retry(
            FetchError::Network {
                url: url.clone(),
                cause: network_cause(&e),
            },
            None,
        )
    }
}

/// What went wrong on the network, in a few words a person can act on: the DNS lookup, a
/// refused or reset connection, the TLS handshake (with rustls's reason), a timeout; else the
/// innermost error's message. Walks the error's whole chain, so nothing has to print it again.
pub fn network_cause(e: &reqwest::Error) -> String {
    use std::io::ErrorKind;
    let mut texts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::ConnectionRefused => {
                    return "connection refused (nothing listens there, or a firewall rejects it)"
                        .into();
                }
                ErrorKind::ConnectionReset => return "connection reset by the other side".into(),
                ErrorKind::ConnectionAborted => return "connection aborted".into(),
                ErrorKind::TimedOut => return "timed out".into(),
                _ => {}
            }
            if let Some(tls) = io
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            {
                return format!("TLS handshake failed: {tls}");
            }
        }
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return format!("TLS handshake failed: {tls}");
        }
        texts.push(err.to_string());
        cur = err.source();
    }
    let innermost = texts.last().cloned().unwrap_or_default();
    let any = |needle: &str| {
        texts
            .iter()
            .any(|t| t.to_ascii_lowercase().contains(needle))
    };
    if any("dns error") || any("failed to lookup address") {
        format!("DNS lookup failed: {innermost}")
    } else if ["tls", "certificate", "handshake", "corrupt message", "peer"]
        .iter()
        .any(|n| any(n))
    {
        // rustls's reasons, where they come as text (a plain-HTTP server spoken to in TLS
        // answers a "corrupt message"; an unknown CA an "invalid peer certificate").
        format!("TLS handshake failed: {innermost}")
    } else if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        format!("cannot connect: {innermost}")
    } else {
        innermost
    }
}

/// `Retry-After` as seconds or an HTTP date; a date in the past means "now".
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        // The portal's number: past Duration's range it is "very long" (capped by the caller).
        return Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX));
    }
    let when = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    out
}

/// The URL without its query (which might carry a key on some portals), for logs.
fn redact(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    let _ = u.set_password(None);
    u.to_string()
}

fn host_key(url: &Url) -> String {
    match (url.host_str(), url.port_or_known_default()) {
        (Some(h), Some(p)) => format!("{}:{p}", h.to_ascii_lowercase()),
        (Some(h), None) => h.to_ascii_lowercase(),
        _ => String::new(),
    }
}

fn normalise_hosts(hosts: &[String]) -> Vec<String> {
    hosts
        .iter()
        .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect()
}

fn host_allowed(allowed: &[String], url: &Url) -> bool {
    if !matches!(url.scheme(), "http" | "https") {
        return false;
    }
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let with_port = url.port().map(|p| format!("{host}:{p}"));
    // A host named without a port allows its scheme's default port only (80, 443): a
    // redirect to another port of an allowed host is another service, not the portal.
    let default_port = url.port().is_none();
    allowed.iter().any(|a| {
        if let Some(suffix) = a.strip_prefix("*.") {
            default_port && host.ends_with(&format!(".{suffix}"))
        } else if a.contains(':') && !a.starts_with('[') {
            with_port.as_deref() == Some(a.as_str())
        } else {
            default_port && *a == host
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-28T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sat, 28 Nov 2026 12:00:10 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Sat, 28 Nov 2026 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        // A portal's absurd number is "very long", not a panic (the caller caps the wait).
        assert_eq!(parse_retry_after("1e300", now), Some(Duration::MAX));
        assert_eq!(
            parse_retry_after("0.5", now),
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn allowed_hosts_match_exactly_by_port_or_by_suffix() {
        let allowed = normalise_hosts(&[
            "OWS.goszakup.gov.kz".into(),
            "127.0.0.1:8080".into(),
            "*.example.org".into(),
        ]);
        let ok = |u: &str| host_allowed(&allowed, &Url::parse(u).unwrap());
        assert!(ok("https://ows.goszakup.gov.kz/v3/graphql"));
        assert!(!ok("https://v3bl.goszakup.gov.kz/files/1"));
        assert!(ok("http://127.0.0.1:8080/x"));
        assert!(!ok("http://127.0.0.1:8081/x"));
        assert!(!ok("http://127.0.0.1/x"), "host:port allows that port only");
        assert!(
            !ok("https://ows.goszakup.gov.kz:8443/v3/graphql"),
            "a bare host allows its default port only"
        );
        assert!(ok("https://ows.goszakup.gov.kz:443/v3/graphql"));
        assert!(!ok("https://a.example.org:8080/"));
        assert!(ok("https://a.b.example.org/"));
        assert!(!ok("https://example.org.evil.com/"));
        assert!(!ok("ftp://ows.goszakup.gov.kz/"));
    }

    #[test]
    fn transient_errors_are_the_ones_worth_a_retry() {
        let url = Url::parse("https://ows.goszakup.gov.kz/v3/graphql").unwrap();
        let status = |status| FetchError::Status {
            url: url.clone(),
            status,
            body_excerpt: String::new(),
        };
        for code in [408, 429, 500, 502, 503, 504, 599] {
            assert!(status(code).is_transient(), "{code}");
        }
        for code in [400, 404, 410, 451] {
            assert!(!status(code).is_transient(), "{code}");
        }
        assert!(FetchError::Timeout { url: url.clone() }.is_transient());
        assert!(FetchError::Truncated { url: url.clone() }.is_transient());
        assert!(
            !FetchError::Unauthorized {
                url: url.clone(),
                status: 403
            }
            .is_transient()
        );
        assert!(!FetchError::HostNotAllowed { url: url.clone() }.is_transient());
        assert!(!FetchError::TooLarge { url, limit: 1 }.is_transient());
    }

    #[test]
    fn redact_drops_query_and_password() {
        let u = Url::parse("https://u:secret@h.kz/p?token=abc").unwrap();
        assert_eq!(redact(&u), "https://u@h.kz/p");
    }
}
