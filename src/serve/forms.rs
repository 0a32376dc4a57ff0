//! The forms of `tenderscan serve` with reviewers configured: the login (`/login`, with a
//! one-time nonce and the rate limit), the logout, and a verdict on a flag
//! (`/notice/{id}/review`), which [`crate::store::Store::record_verdict`] records as
//! `tenderscan review` does.
//!
//! Must never: record anything without a live login and its CSRF token (compared with
//! [`auth::same_secret`]); say whether a user name exists; echo a password; answer a POST
//! while no reviewers are configured (the server refuses those before they get here).

use super::pages::{PageError, base, render};
use super::{App, Lang, Shared, Viewer, auth};
use crate::store::{ReviewError, Store, VerdictInput};
use axum::Router;
use axum::extract::{ConnectInfo, Extension, Form, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::context;
use std::collections::HashMap;
use std::net::SocketAddr;

/// The longest verdict note kept (characters); longer ones are refused.
const MAX_NOTE_CHARS: usize = 2000;
/// The longest user name a login form may send.
const MAX_USER_CHARS: usize = 200;

/// The forms' routes; none without reviewers (the server then refuses every write).
pub(crate) fn router(writable: bool) -> Router<Shared> {
    if !writable {
        return Router::new();
    }
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/notice/{id}/review", post(review))
}

fn field<'a>(f: &'a HashMap<String, String>, k: &str) -> &'a str {
    f.get(k).map(String::as_str).unwrap_or("")
}

fn login_page(
    app: &App,
    lang: Lang,
    viewer: &Viewer,
    failed: bool,
    name: &str,
) -> Result<Response, PageError> {
    let html = render(
        app,
        "login.html",
        context! {
            ..base(app, lang, viewer),
            ..context! { nonce => app.sessions.login_nonce(), failed => failed, name => name }
        },
    )?;
    let status = if failed {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let mut res = (status, html).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn login_form(
    State(app): State<Shared>,
    Extension(lang): Extension<Lang>,
    Extension(viewer): Extension<Viewer>,
) -> Result<Response, PageError> {
    login_page(&app, lang, &viewer, false, "")
}

async fn login(
    State(app): State<Shared>,
    Extension(lang): Extension<Lang>,
    Extension(viewer): Extension<Viewer>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let user = field(&f, "user").trim().to_string();
    if user.is_empty() || user.chars().count() > MAX_USER_CHARS {
        return Err(PageError::BadRequest("user: a reviewer's name".into()));
    }
    let ip = peer.ip();
    if let Err(wait) = app.limiter.check(ip, &user) {
        let secs = wait.as_secs().max(1);
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::RETRY_AFTER, secs.to_string()),
                (header::CONTENT_TYPE, "text/plain; charset=utf-8".into()),
            ],
            format!("too many failed logins: try again in {secs} seconds"),
        )
            .into_response());
    }
    // The nonce makes the form single-use and ties it to this server (a login CSRF guard).
    if !app.sessions.take_login_nonce(field(&f, "nonce")) {
        return Err(PageError::Forbidden(
            "the login form has expired or was already used: load /login again",
        ));
    }
    let password = field(&f, "password").to_string();
    let checked = {
        let app = app.clone();
        let user = user.clone();
        // argon2 takes a while: off the async threads
        tokio::task::spawn_blocking(move || app.reviewers.verify(&user, &password))
            .await
            .map_err(|e| PageError::Internal(format!("login: {e}")))?
    };
    if !checked {
        app.limiter.failed(ip, &user);
        return login_page(&app, lang, &viewer, true, &user);
    }
    app.limiter.succeeded(ip, &user);
    let session = app.sessions.create(&user);
    let cookie = auth::set_cookie(&session.token, app.sessions.ttl(), app.serve.secure_cookies);
    let mut res = Redirect::to("/").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| PageError::Internal(e.to_string()))?,
    );
    Ok(res)
}

/// The viewer's session when the form's CSRF token is its own: no login is a redirect to
/// the login form, a wrong or missing token 403.
fn checked_session(
    viewer: &Viewer,
    f: &HashMap<String, String>,
) -> Result<auth::Session, Box<Response>> {
    let Some(s) = viewer.0.clone() else {
        return Err(Box::new(Redirect::to("/login").into_response()));
    };
    let token = field(f, "csrf");
    if token.is_empty() || !auth::same_secret(token, &s.csrf) {
        return Err(Box::new(
            PageError::Forbidden("the form's CSRF token is missing or wrong: reload the page")
                .into_response(),
        ));
    }
    Ok(s)
}

async fn logout(
    State(app): State<Shared>,
    Extension(viewer): Extension<Viewer>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let s = match checked_session(&viewer, &f) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    app.sessions.end(&s.token);
    let mut res = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::clear_cookie(app.serve.secure_cookies)) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

async fn review(
    State(app): State<Shared>,
    Extension(viewer): Extension<Viewer>,
    Path(key): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let session = match checked_session(&viewer, &f) {
        Ok(s) => s,
        Err(r) => return Ok(*r),
    };
    let verdict: crate::states::Verdict = field(&f, "verdict").parse().map_err(|_| {
        PageError::BadRequest("verdict: confirmed, false-positive, published or watching".into())
    })?;
    let rule = field(&f, "rule").trim().to_string();
    if rule.is_empty() {
        return Err(PageError::BadRequest("rule: the flag's rule".into()));
    }
    let lot = Some(field(&f, "lot").trim().to_string()).filter(|l| !l.is_empty());
    let note = Some(field(&f, "note").trim().to_string()).filter(|n| !n.is_empty());
    if note
        .as_deref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
    {
        return Err(PageError::BadRequest(format!(
            "note: at most {MAX_NOTE_CHARS} characters"
        )));
    }
    let reviewer = session.user.clone();
    let id = {
        let app = app.clone();
        tokio::task::spawn_blocking(move || -> Result<i64, PageError> {
            let mut guard = app.writer.lock().unwrap_or_else(|e| e.into_inner());
            if guard.is_none() {
                *guard = Some(Store::open(&app.readers.path)?);
            }
            let Some(store) = guard.as_mut() else {
                return Err(PageError::Internal("no database connection".into()));
            };
            let Some(id) = super::queries::notice_id(store, &key)? else {
                return Err(PageError::NotFound);
            };
            match store.record_verdict(&VerdictInput {
                notice_id: id,
                lot: lot.as_deref(),
                rule: &rule,
                verdict,
                note: note.as_deref(),
                reviewer: &reviewer,
            }) {
                Ok(_) => Ok(id),
                Err(ReviewError::Store(e)) => Err(e.into()),
                Err(e) => Err(PageError::BadRequest(e.to_string())),
            }
        })
        .await
        .map_err(|e| PageError::Internal(format!("review: {e}")))??
    };
    tracing::info!(
        "serve: verdict {} on notice {id} rule {} by {}",
        verdict.as_str(),
        crate::safe_text::line(field(&f, "rule")),
        crate::safe_text::line(&session.user)
    );
    Ok(Redirect::to(&format!("/notice/{id}")).into_response())
}
