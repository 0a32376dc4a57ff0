//! `tenderscan serve`: the newsroom's own web page over the database (issue #19).
//!
//! Must never: write to the database except through a reviewer's CSRF-checked verdict form;
//! put notice text into a page unescaped; open a file whose path came from a request (documents
//! are read only through an evidence hash that the database names).
//!
//! Parts: `pages` (the handlers), `queries` (the SQL of the lists), `text` (the words in
//! each language), `templates/` and `static/` (embedded in the binary); `auth` (logins,
//! sessions, CSRF) and `charts` (the SVG charts); here, the server: its state, the
//! connections, the headers every response carries and the reader's language.

pub mod auth;
pub mod charts;
mod forms;
mod pages;
mod queries;
#[cfg(test)]
mod testdata;
mod text;

use crate::config::{Config, Language, ServeConfig};
use crate::evidence::Evidence;
use crate::store::{Store, StoreError};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The Content-Security-Policy of every response: no script at all, styles and images only
/// from this server, forms only to it, never framed.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The cookie that keeps the reader's language.
const LANG_COOKIE: &str = "tenderscan_lang";

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("[serve] listen: cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("[serve]: {0}")]
    Auth(String),
    #[error("the web server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// Connections to the database, each `query_only` (SQLite refuses any write on them).
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Store>>,
}

impl Readers {
    fn take(&self) -> Result<Store, StoreError> {
        if let Some(s) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(s);
        }
        let s = Store::open(&self.path)?;
        s.conn().execute_batch("PRAGMA query_only = ON")?;
        Ok(s)
    }
    fn give_back(&self, s: Store) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < 4 {
            idle.push(s);
        }
    }
}

/// What every request shares.
pub(crate) struct App {
    serve: ServeConfig,
    readers: Readers,
    evidence: Evidence,
    templates: minijinja::Environment<'static>,
    /// Reviewers may log in and record verdicts; without them every write is refused.
    writable: bool,
    reviewers: auth::Reviewers,
    sessions: auth::Sessions,
    limiter: auth::LoginLimiter,
    /// The one connection that writes (verdicts only), opened at the first verdict.
    writer: Mutex<Option<Store>>,
}

type Shared = Arc<App>;

impl App {
    /// Run `f` on a read-only connection, off the async threads.
    async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&App, &Store) -> Result<T, pages::PageError> + Send + 'static,
    ) -> Result<T, pages::PageError> {
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let store = app.readers.take()?;
            let out = f(&app, &store);
            app.readers.give_back(store);
            out
        })
        .await
        .map_err(|e| pages::PageError::Internal(format!("a page's worker failed: {e}")))?
    }
}

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    router: axum::Router,
}

impl Server {
    /// The address it listens on (the port chosen when `:0` was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serve until the process ends (or the future is dropped).
    pub async fn run(self) -> Result<(), ServeError> {
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await?;
        Ok(())
    }
}

/// Open the database (migrating it), read the reviewers, and bind `listen` (the config's
/// `[serve] listen` unless given).
pub async fn bind(cfg: &Config, listen: Option<&str>) -> Result<Server, ServeError> {
    let path = cfg.database.path.clone();
    // Opened once here to migrate; the readers are query-only.
    let store = Store::open(&path)?;
    let evidence = Evidence::beside(store.path());
    drop(store);
    let reviewers =
        auth::Reviewers::load(&cfg.serve).map_err(|e| ServeError::Auth(e.to_string()))?;
    let hours = u64::from(cfg.serve.session_hours.max(1));
    let app = Arc::new(App {
        serve: cfg.serve.clone(),
        readers: Readers {
            path,
            idle: Mutex::new(Vec::new()),
        },
        evidence,
        templates: pages::templates(),
        writable: reviewers.enabled(),
        reviewers,
        sessions: auth::Sessions::new(std::time::Duration::from_secs(hours * 3600)),
        limiter: auth::LoginLimiter::new(),
        writer: Mutex::new(None),
    });
    let addr = listen.unwrap_or(&cfg.serve.listen).to_string();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    Ok(Server {
        listener,
        router: pages::router(app.clone())
            .layer(axum::middleware::from_fn_with_state(app, every_response)),
    })
}

/// The reader's language: `?lang=` (kept in a cookie), else the cookie, else `[serve] language`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lang(pub Language);

/// The reader's login, when the request carries a live session's cookie.
#[derive(Debug, Clone)]
pub(crate) struct Viewer(pub Option<auth::Session>);

/// The value of cookie `name` in a request's Cookie headers (several joined, as HTTP/2
/// sends them).
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let joined = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("; ");
    auth::cookie(&joined, name).map(String::from)
}

/// The language asked for in a query string (`lang=xx`).
fn lang_in_query(query: Option<&str>) -> Option<Language> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| text::language(&v))
}

/// Every response: the reader's language for the handler, the security headers after it.
async fn every_response(State(app): State<Shared>, mut req: Request, next: Next) -> Response {
    let asked = lang_in_query(req.uri().query());
    let lang = asked
        .or_else(|| cookie(req.headers(), LANG_COOKIE).and_then(|c| text::language(&c)))
        .unwrap_or(app.serve.language);
    req.extensions_mut().insert(Lang(lang));
    let session = if app.writable {
        cookie(req.headers(), auth::SESSION_COOKIE).and_then(|t| app.sessions.get(&t))
    } else {
        None
    };
    req.extensions_mut().insert(Viewer(session));
    let read_only = !app.writable && !matches!(*req.method(), Method::GET | Method::HEAD);
    let mut res = if read_only {
        pages::PageError::Forbidden(
            "read-only: this page records nothing (no [serve] reviewers are configured)",
        )
        .into_response()
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Some(l) = asked {
        let c = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax{}",
            text::code(l),
            if app.serve.secure_cookies {
                "; Secure"
            } else {
                ""
            }
        );
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
    res.into_response()
}
