//! The pages of `tenderscan serve`: the flag list, a notice, an agency, a supplier, search,
//! a document's bytes, the style sheet; the templates they are drawn with.
//!
//! Must never: render a template without auto-escaping (every template is `.html`, which
//! minijinja escapes); mark text up by hand other than by splitting it at the stored match
//! offsets and letting the template escape each part; read a file other than through
//! [`Evidence::read`] of a hash a document row names.

use super::charts::{ChartKind, Filter};
use super::queries::{self, FlagFilter, PAGE_ROWS, Sort};
use super::{App, Lang, Shared, Viewer, text};
use crate::evidence::Evidence;
use crate::store::StoreError;
use axum::Router;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use minijinja::{Environment, context};
use serde::Serialize;
use std::collections::HashMap;

/// What a page answers when it cannot be shown.
#[derive(Debug)]
pub(crate) enum PageError {
    NotFound,
    BadRequest(String),
    /// Writes are refused: the page is read-only or the request lacks a login or a token.
    Forbidden(&'static str),
    Internal(String),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> PageError {
        PageError::Internal(format!("{e:#}"))
    }
}

impl From<minijinja::Error> for PageError {
    fn from(e: minijinja::Error) -> PageError {
        PageError::Internal(format!("template: {e:#}"))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, msg) = match self {
            PageError::NotFound => (StatusCode::NOT_FOUND, "not found".to_string()),
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            PageError::Forbidden(m) => (StatusCode::FORBIDDEN, m.to_string()),
            PageError::Internal(m) => {
                tracing::error!("serve: {}", crate::safe_text::line(&m));
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error (see the server's log)".to_string(),
                )
            }
        };
        // Plain text: nothing of the request is echoed as markup.
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            msg,
        )
            .into_response()
    }
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("flags.html", include_str!("templates/flags.html")),
    ("notice.html", include_str!("templates/notice.html")),
    ("agency.html", include_str!("templates/agency.html")),
    ("supplier.html", include_str!("templates/supplier.html")),
    ("search.html", include_str!("templates/search.html")),
    ("tenders.html", include_str!("templates/tenders.html")),
    ("login.html", include_str!("templates/login.html")),
    ("charts.html", include_str!("templates/charts.html")),
];

const STYLE: &str = include_str!("static/style.css");

/// The templates, embedded in the binary; `.html` names turn auto-escaping on.
pub(crate) fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.add_filter("urlencode", urlencode);
    for (name, src) in TEMPLATES {
        // The templates are part of the binary: a test renders each of them.
        if let Err(e) = env.add_template(name, src) {
            panic!("serve template {name} does not parse: {e:#}");
        }
    }
    env
}

/// A value as one percent-encoded URL path segment or query value (every byte but
/// unreserved ones encoded, `/` and `?` included).
fn urlencode(v: String) -> String {
    let mut o = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

pub(crate) fn router(app: Shared) -> Router {
    let writable = app.writable;
    Router::new()
        .route("/", get(flags_page))
        .route("/notice/{id}", get(notice_page))
        .route("/agency/{bin}", get(agency_page))
        .route("/supplier/{id}", get(supplier_page))
        .route("/search", get(search_page))
        .route("/charts", get(charts_page))
        .route("/charts/{file}", get(chart_file))
        .route("/document/{sha256}", get(document))
        .route("/static/style.css", get(style))
        .merge(super::forms::router(writable))
        .fallback(not_found)
        .with_state(app)
}

async fn not_found() -> PageError {
    PageError::NotFound
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLE,
    )
        .into_response()
}

/// What every page's template is given: the words, the language, the nav, the login.
pub(crate) fn base(app: &App, lang: Lang, viewer: &Viewer) -> minijinja::Value {
    context! {
        t => text::words(lang.0),
        lang => text::code(lang.0),
        reviewing => app.writable,
        user => viewer.0.as_ref().map(|s| s.user.clone()),
        csrf => viewer.0.as_ref().map(|s| s.csrf.clone()),
        charts => true,
        public_url => app.serve.public_url.clone(),
    }
}

pub(crate) fn render(
    app: &App,
    name: &str,
    ctx: minijinja::Value,
) -> Result<Html<String>, PageError> {
    Ok(Html(app.templates.get_template(name)?.render(ctx)?))
}

/// A query parameter, trimmed, `None` when empty.
fn param(q: &HashMap<String, String>, k: &str) -> Option<String> {
    q.get(k)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(String::from)
}

fn date(q: &HashMap<String, String>, k: &str) -> Result<Option<chrono::NaiveDate>, PageError> {
    match param(q, k) {
        None => Ok(None),
        Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| PageError::BadRequest(format!("{k}: a day as YYYY-MM-DD"))),
    }
}

fn day(q: &HashMap<String, String>, k: &str) -> Result<Option<String>, PageError> {
    Ok(date(q, k)?.map(|d| d.to_string()))
}

/// The page number asked for (1 when none).
fn page_no(q: &HashMap<String, String>) -> Result<usize, PageError> {
    match param(q, "page") {
        None => Ok(1),
        Some(p) => p
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100_000).contains(n))
            .ok_or_else(|| PageError::BadRequest("page: a number from 1".into())),
    }
}

/// The query string of `pairs` (empty values left out).
fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            s.append_pair(k, v);
        }
    }
    s.finish()
}

/// The links to the previous and next pages of a list.
fn pager(base: &str, page: usize, more: bool) -> (Option<String>, Option<String>) {
    let link = |n: usize| {
        if base.is_empty() {
            format!("?page={n}")
        } else {
            format!("?{base}&page={n}")
        }
    };
    (
        (page > 1).then(|| link(page - 1)),
        more.then(|| link(page + 1)),
    )
}

async fn flags_page(
    State(app): State<Shared>,
    Extension(lang): Extension<Lang>,
    Extension(viewer): Extension<Viewer>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let min_rank = match param(&q, "severity").as_deref() {
        None | Some("any") => None,
        Some("low") => Some(1),
        Some("medium") => Some(2),
        Some("high") => Some(3),
        Some(_) => {
            return Err(PageError::BadRequest(
                "severity: low, medium or high".into(),
            ));
        }
    };
    let verdict = match param(&q, "verdict") {
        None => None,
        Some(v) if v == "none" || v.parse::<crate::states::Verdict>().is_ok() => Some(v),
        Some(_) => {
            return Err(PageError::BadRequest(
                "verdict: none, confirmed, false-positive, published or watching".into(),
            ));
        }
    };
    let sort = match param(&q, "sort") {
        None => Sort::Date,
        Some(s) => Sort::parse(&s)
            .ok_or_else(|| PageError::BadRequest("sort: date, amount or price".into()))?,
    };
    let page = page_no(&q)?;
    let filter = FlagFilter {
        min_rank,
        rule: param(&q, "rule"),
        agency_bin: param(&q, "agency"),
        region: param(&q, "region"),
        since: day(&q, "since")?,
        until: day(&q, "until")?,
        verdict,
        source: param(&q, "source"),
        sort,
        offset: (page - 1) * PAGE_ROWS,
    };
    let qs = query_string(&[
        ("severity", param(&q, "severity")),
        ("rule", filter.rule.clone()),
        ("agency", filter.agency_bin.clone()),
        ("region", filter.region.clone()),
        ("since", filter.since.clone()),
        ("until", filter.until.clone()),
        ("verdict", filter.verdict.clone()),
        ("source", filter.source.clone()),
        ("sort", param(&q, "sort")),
    ]);
    let html = app
        .read(move |app, store| {
            let (rows, more) = queries::flags(store, &filter)?;
            let (rules, sources) = queries::choices(store)?;
            let (prev, next) = pager(&qs, page, more);
            render(
                app,
                "flags.html",
                context! {
                    ..base(app, lang, &viewer),
                    ..context! {
                        rows => rows,
                        rules => rules,
                        sources => sources,
                        f => context! {
                            severity => param(&q, "severity").unwrap_or_default(),
                            rule => filter.rule.clone().unwrap_or_default(),
                            agency => filter.agency_bin.clone().unwrap_or_default(),
                            region => filter.region.clone().unwrap_or_default(),
                            since => filter.since.clone().unwrap_or_default(),
                            until => filter.until.clone().unwrap_or_default(),
                            verdict => filter.verdict.clone().unwrap_or_default(),
                            source => filter.source.clone().unwrap_or_default(),
                            sort => sort.as_str(),
                        },
                        verdicts => crate::states::Verdict::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
                        page => page,
                        prev => prev,
                        next => next,
                    }
                },
            )
        })
        .await?;
    Ok(html.into_response())
}

/// A match of the notice page: the evidence split at the matched words.
#[derive(Serialize)]
struct ShownMatch {
    rule_id: String,
    severity: String,
    target: String,
    before: String,
    mark: String,
    after: String,
    first_flagged_at: String,
    retracted_at: Option<String>,
    reasons: Vec<String>,
    quota: Option<String>,
    document: Option<String>,
}

/// A document of the notice page, with the name it is shown (and downloaded) under.
#[derive(Serialize)]
struct ShownDocument {
    name: String,
    doc: crate::store::ShowDocument,
    /// Its bytes are in the evidence folder (a download link is offered).
    kept: bool,
}

pub(crate) async fn notice_page(
    State(app): State<Shared>,
    Extension(lang): Extension<Lang>,
    Extension(viewer): Extension<Viewer>,
    Path(key): Path<String>,
) -> Result<Response, PageError> {
    let html = app
        .read(move |app, store| {
            let Some(id) = queries::notice_id(store, &key)? else {
                return Err(PageError::NotFound);
            };
            let Some(view) = store.notice_view(id)? else {
                return Err(PageError::NotFound);
            };
            let offsets = queries::match_offsets(store, id)?;
            let doc_name = |d: &crate::store::ShowDocument| {
                d.file_name
                    .clone()
                    .or(d.title.clone())
                    .unwrap_or_else(|| d.url.clone())
            };
            let matches: Vec<ShownMatch> = view
                .matches
                .iter()
                .map(|m| {
                    let (before, mark, after) = offsets
                        .get(&m.id)
                        .and_then(|&(es, ms, me)| {
                            crate::alert::split_evidence(&m.evidence, es, ms, me)
                        })
                        .unwrap_or((&m.evidence, "", ""));
                    ShownMatch {
                        rule_id: m.rule_id.clone(),
                        severity: m.severity.as_str().to_string(),
                        target: m.target.to_string(),
                        before: before.to_string(),
                        mark: mark.to_string(),
                        after: after.to_string(),
                        first_flagged_at: m.first_flagged_at.clone(),
                        retracted_at: m.retracted_at.clone(),
                        reasons: m.reasons.clone(),
                        quota: m.quota_count.map(|c| {
                            format!(
                                "{c} {}{}",
                                m.quota_kind.map(|k| k.as_str()).unwrap_or(""),
                                m.quota_period
                                    .map(|p| format!(" / {}", p.as_str()))
                                    .unwrap_or_default()
                            )
                        }),
                        document: m.document_id.and_then(|d| {
                            view.documents.iter().find(|x| x.id == d).map(doc_name)
                        }),
                    }
                })
                .collect();
            let documents: Vec<ShownDocument> = view
                .documents
                .iter()
                .map(|d| ShownDocument {
                    name: doc_name(d),
                    kept: d
                        .sha256
                        .as_deref()
                        .is_some_and(|s| {
                            // where it is, not its bytes: a page lists many documents
                            !matches!(
                                app.evidence.locate(s),
                                Ok(crate::evidence::Located::Missing(_)) | Err(_)
                            )
                        }),
                    doc: d.clone(),
                })
                .collect();
            let versions: Vec<(i64, String, String)> = view
                .versions
                .iter()
                .map(|v| {
                    (
                        v.version,
                        v.seen_at.clone(),
                        v.changes.as_ref().map(|c| c.describe()).unwrap_or_default(),
                    )
                })
                .collect();
            let history = queries::verdict_history(store, id)?;
            let flags = queries::notice_flags(store, id)?;
            let money = |x: Option<f64>, c: &Option<String>| {
                x.and_then(|a| crate::money::with_currency(a, c.as_deref()))
            };
            let lots: Vec<_> = view
                .lots
                .iter()
                .map(|l| (l, money(l.amount, &view.currency)))
                .map(|(l, a)| context! { lot => l, amount => a })
                .collect();
            let awards: Vec<_> = view
                .awards
                .iter()
                .map(|a| {
                    context! {
                        a => a,
                        amount => money(a.amount, &a.currency.clone().or(view.currency.clone())),
                        contract_amount => money(a.contract_amount, &a.currency.clone().or(view.currency.clone())),
                    }
                })
                .collect();
            render(
                app,
                "notice.html",
                context! {
                    ..base(app, lang, &viewer),
                    ..context! {
                        n => &view,
                        amount => money(view.amount, &view.currency),
                        lots => lots,
                        awards => awards,
                        matches => matches,
                        documents => documents,
                        versions => versions,
                        history => history,
                        flags => flags,
                        verdicts => crate::states::Verdict::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>(),
                    }
                },
            )
        })
        .await?;
    Ok(html.into_response())
}

async fn agency_page(
    State(app): State<Shared>,
    Extension(lang): Extension<Lang>,
    Extension(viewer): Extension<Viewer>,
    Path(bin): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let page = page_no(&q)?;
    let html = app
        .read(move |app, store| {
            let Some((agency_id, name, region)) = queries::agency(store, &bin)? else {
                return Err(PageError::NotFound);
            };
            let (rows, more) = queries::agency_flagged(store, agency_id, (page - 1) * PAGE_ROWS)?;
            let (prev, next) = pager("", page, more);
            render(
                app,
                "agency.html",
                context! {
                    ..base(app, lang, &viewer),
                    ..context! {
                        bin => bin,
                        name => name,
                        region => region,
                        rows => rows,
                        prev => prev,
                        next => next,
                        chart => money_per_year("agency", &bin),
                    }
                },
            )
        })
        .await?;
    Ok(html.into_response())
}

async fn supplier_page(
    State(app): State<Shared>,
    Extension(lang): Extension<Lang>,
    Extension(viewer): Extension<Viewer>,
    Path(ident): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let page = page_no(&q)?;
    let html = app
        .read(move |app, store| {
            let Some((ids, scheme, name)) = queries::supplier(store, &ident)? else {
                return Err(PageError::NotFound);
            };
            let (rows, more) = queries::supplier_awards(store, &ids, (page - 1) * PAGE_ROWS)?;
            let (prev, next) = pager("", page, more);
            render(
                app,
                "supplier.html",
                context! {
                    ..base(app, lang, &viewer),
                    ..context! {
                        ident => ident,
                        scheme => scheme,
                        name => name,
                        rows => rows,
                        prev => prev,
                        next => next,
                        chart => money_per_year("supplier", &ident),
                    }
                },
            )
        })
        .await?;
    Ok(html.into_response())
}

/// Hits a search page shows.
const SEARCH_HITS: usize = 50;

async fn search_page(
    State(app): State<Shared>,
    Extension(lang): Extension<Lang>,
    Extension(viewer): Extension<Viewer>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let words = param(&q, "q").unwrap_or_default();
    let html = app
        .read(move |app, store| {
            // The CLI's search: the same stemmed FTS query, the same store search.
            let fts = crate::report::fts_query(&words);
            let hits = if fts.is_empty() {
                Vec::new()
            } else {
                store.search(&fts, SEARCH_HITS)?
            };
            let hits: Vec<_> = hits
                .iter()
                .map(|h| {
                    let (before, mark, after) = snippet_parts(&h.snippet);
                    context! { h => h, parts => context! { before, mark, after } }
                })
                .collect();
            render(
                app,
                "search.html",
                context! {
                    ..base(app, lang, &viewer),
                    ..context! { q => words, searched => !fts.is_empty(), hits => hits }
                },
            )
        })
        .await?;
    Ok(html.into_response())
}

/// A search snippet as runs of (text, marked): the store marks the matched words with « ».
/// Returned as three lists so the template escapes each part.
fn snippet_parts(s: &str) -> (Vec<String>, Vec<String>, String) {
    // runs: before[i] then mark[i], ..., then the tail
    let mut before = Vec::new();
    let mut mark = Vec::new();
    let mut rest = s;
    while let Some(a) = rest.find('«') {
        let Some(b) = rest[a..].find('»') else { break };
        before.push(rest[..a].to_string());
        mark.push(rest[a + '«'.len_utf8()..a + b].to_string());
        rest = &rest[a + b + '»'.len_utf8()..];
    }
    (before, mark, rest.to_string())
}

/// Whether `s` is a sha256 as the database writes it: 64 lowercase hex digits.
fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A file name safe to offer for download: the last part of a path, without control
/// characters, quotes or separators, at most 150 characters; `document` when nothing is left.
pub(crate) fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !crate::safe_text::is_unsafe(*c))
        .map(|c| match c {
            '"' | '\'' | ';' | ':' | '*' | '?' | '<' | '>' | '|' | '%' => '_',
            c => c,
        })
        .take(150)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_string();
    if cleaned.is_empty() {
        "document".into()
    } else {
        cleaned
    }
}

/// RFC 5987 `ext-value` percent-encoding (UTF-8, every byte outside `attr-char` encoded).
fn rfc5987(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// `/document/{sha256}`: the bytes of a document the database names by that hash, as an
/// attachment; anything else is 404.
async fn document(
    State(app): State<Shared>,
    Path(sha): Path<String>,
) -> Result<Response, PageError> {
    if !is_sha256(&sha) {
        return Err(PageError::NotFound);
    }
    let (name, bytes) = app
        .read(move |app, store| {
            let Some(name) = queries::document_name(store, &sha)? else {
                return Err(PageError::NotFound);
            };
            let bytes = read_kept(&app.evidence, &sha)?;
            Ok((name, bytes))
        })
        .await?;
    let disposition = format!(
        "attachment; filename*=UTF-8''{}",
        rfc5987(&safe_file_name(&name))
    );
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition)
            .map_err(|e| PageError::Internal(format!("Content-Disposition: {e}")))?,
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(res)
}

/// A payload's bytes by its hash; a missing one is 404 (its row is there, its bytes are not).
fn read_kept(evidence: &Evidence, sha: &str) -> Result<Vec<u8>, PageError> {
    match evidence.read(sha) {
        Ok(b) => Ok(b),
        Err(e) => {
            tracing::warn!(
                "serve: document {sha}: {}",
                crate::safe_text::line(&e.to_string())
            );
            Err(PageError::NotFound)
        }
    }
}

/// The charts' filters from a query string (the same names as the flag list's).
fn chart_filter(q: &HashMap<String, String>) -> Result<(Filter, String), PageError> {
    let filter = Filter {
        since: date(q, "since")?,
        until: date(q, "until")?,
        agency_bin: param(q, "agency"),
        supplier_bin: param(q, "supplier"),
        rule: param(q, "rule"),
        source: param(q, "source"),
    };
    let qs = query_string(&[
        ("since", param(q, "since")),
        ("until", param(q, "until")),
        ("agency", param(q, "agency")),
        ("supplier", param(q, "supplier")),
        ("rule", param(q, "rule")),
        ("source", param(q, "source")),
    ]);
    Ok((filter, qs))
}

/// The links of one chart's picture and data.
fn chart_links(kind: ChartKind, qs: &str) -> minijinja::Value {
    let q = if qs.is_empty() {
        String::new()
    } else {
        format!("?{qs}")
    };
    context! {
        slug => kind.slug(),
        svg => format!("/charts/{}.svg{q}", kind.slug()),
        csv => format!("/charts/{}.csv{q}", kind.slug()),
    }
}

/// An agency's or a supplier's money per year (`key` = `agency` or `supplier`).
fn money_per_year(key: &str, id: &str) -> minijinja::Value {
    chart_links(
        ChartKind::MoneyPerYear,
        &query_string(&[(key, Some(id.to_string()))]),
    )
}

async fn charts_page(
    State(app): State<Shared>,
    Extension(lang): Extension<Lang>,
    Extension(viewer): Extension<Viewer>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let (_, qs) = chart_filter(&q)?;
    let figures: Vec<minijinja::Value> = ChartKind::all()
        .iter()
        .filter(|k| {
            **k != ChartKind::MoneyPerYear || q.contains_key("agency") || q.contains_key("supplier")
        })
        .map(|k| chart_links(*k, &qs))
        .collect();
    let html = render(
        &app,
        "charts.html",
        context! {
            ..base(&app, lang, &viewer),
            ..context! {
                figures => figures,
                since => param(&q, "since"),
                until => param(&q, "until"),
                agency => param(&q, "agency"),
                supplier => param(&q, "supplier"),
                rule => param(&q, "rule"),
                source => param(&q, "source"),
            }
        },
    )?;
    Ok(html.into_response())
}

/// `/charts/{slug}.svg` and `/charts/{slug}.csv`: one chart, drawn or as data.
async fn chart_file(
    State(app): State<Shared>,
    Extension(lang): Extension<Lang>,
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let (slug, svg) = match (file.strip_suffix(".svg"), file.strip_suffix(".csv")) {
        (Some(s), _) => (s, true),
        (_, Some(s)) => (s, false),
        _ => return Err(PageError::NotFound),
    };
    let kind = ChartKind::from_slug(slug).ok_or(PageError::NotFound)?;
    let (filter, _) = chart_filter(&q)?;
    let chart = app
        .read(move |_, store| Ok(super::charts::chart(store.conn(), kind, &filter, lang.0)?))
        .await?;
    Ok(if svg {
        (
            [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
            chart.svg,
        )
            .into_response()
    } else {
        (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}.csv\"", kind.slug()),
                ),
            ],
            chart.csv,
        )
            .into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_escapes() {
        let env = templates();
        for (name, _) in TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
        let t = env
            .template_from_named_str("x.html", "{{ v }}")
            .unwrap()
            .render(context! { v => "<script>" })
            .unwrap();
        assert_eq!(t, "&lt;script&gt;");
    }

    #[test]
    fn download_names_are_cleaned_and_encoded() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("a\r\nb\".docx"), "ab_.docx");
        assert_eq!(safe_file_name(".."), "document");
        assert_eq!(safe_file_name(""), "document");
        assert_eq!(rfc5987("ТЗ 1.docx"), "%D0%A2%D0%97%201.docx");
        assert!(is_sha256(&"a".repeat(64)));
        assert!(!is_sha256(&"A".repeat(64)));
        assert!(!is_sha256("../../etc/passwd"));
    }

    #[test]
    fn snippets_split_at_their_marks() {
        let (b, m, t) = snippet_parts("a «b» c «d» e");
        assert_eq!(b, ["a ", " c "]);
        assert_eq!(m, ["b", "d"]);
        assert_eq!(t, " e");
        let (b, m, t) = snippet_parts("no marks «open");
        assert!(b.is_empty() && m.is_empty());
        assert_eq!(t, "no marks «open");
    }
}
