//! `[[sources]]`: one source each, its kind an enum with the settings only that kind reads.
//!
//! Each table is read in steps, from the parser's spanned values (so a wrong type still
//! names its line): the keys every kind reads ([`SOURCE_KEYS`]) into [`SourceConfig`]'s
//! fields, `kind` among them; then the kind's own keys into its settings struct
//! (`deny_unknown_fields`). A key another kind reads is refused naming that kind; a key no
//! kind reads is an unknown field. A serde-tagged enum would do this in one step, but it
//! buffers the table and its errors lose the line and the key.
//!
//! What can be compiled is compiled here, once: the URL, CSS selectors, the time zone and the
//! OCDS format. Sources get them typed and never parse them again.

use std::fmt;
use std::path::PathBuf;

use scraper::Selector;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use url::Url;

use super::{ConfigError, Locate, read_secret};

/// The keys of `[[sources]]` every kind reads.
pub const SOURCE_KEYS: &[&str] = &[
    "name",
    "kind",
    "url",
    "enabled",
    "token_env",
    "lookback_days",
    "requests_per_second",
    "ca_file",
    "attachment_hosts",
    "search_terms",
    "user_agent",
    "required",
];

/// One `[[sources]]` table.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    /// The kind, with the settings only it reads.
    pub kind: SourceKind,
    /// The portal's URL (http or https, with a host).
    pub url: Url,
    /// `url` as written in the file (the `sources` table keeps it so).
    pub url_written: String,
    pub enabled: bool,
    /// Name of the environment variable holding the API token.
    pub token_env: Option<String>,
    pub lookback_days: u32,
    pub requests_per_second: f64,
    /// Extra root certificate (PEM), e.g. Kazakhstan's national CA.
    pub ca_file: Option<PathBuf>,
    /// Hosts besides the source's own from which attachments may be fetched.
    pub attachment_hosts: Vec<String>,
    /// The `User-Agent` sent to this source instead of the tool's own (for portals that refuse
    /// non-browser clients); `None`: "tenderscan/VERSION (+contact)".
    pub user_agent: Option<String>,
    /// A source that must run: without its token it fails the run (exit 1) instead of
    /// being skipped.
    pub required: bool,
}

impl SourceConfig {
    /// A source with the documented defaults for everything but its name, URL and kind.
    pub fn new(name: impl Into<String>, url: Url, kind: SourceKind) -> SourceConfig {
        SourceConfig {
            name: name.into(),
            kind,
            url_written: url.to_string(),
            url,
            enabled: true,
            token_env: None,
            lookback_days: super::default_lookback(),
            requests_per_second: super::default_rps(),
            ca_file: None,
            attachment_hosts: Vec::new(),
            user_agent: None,
            required: false,
        }
    }

    /// The token, read from the environment variable that `token_env` names.
    pub fn token(&self) -> Option<String> {
        read_secret(self.token_env.as_deref())
    }

    /// The source's own host.
    pub fn host(&self) -> Option<String> {
        self.url.host_str().map(str::to_owned)
    }
}

/// A source's kind and the settings only it reads.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceKind {
    /// goszakup.gov.kz's open API (token).
    Goszakup(GoszakupSettings),
    /// goszakup.gov.kz's public search pages.
    GoszakupHtml(GoszakupHtmlSettings),
    /// Any OCDS publisher: a paged API or a bulk JSON Lines file.
    Ocds(OcdsSettings),
    /// A portal without an API, read with CSS selectors.
    Html(Box<HtmlSettings>),
    /// Samruk-Kazyna's zakup.sk.kz.
    Samruk(SamrukSettings),
    /// ProZorro (Ukraine): its tender feed and each tender in its own schema.
    Prozorro(ProzorroSettings),
}

impl SourceKind {
    /// The `kind` as the config writes it (one of [`super::SOURCE_KINDS`]).
    pub fn name(&self) -> &'static str {
        self.tag().name()
    }

    fn tag(&self) -> Tag {
        match self {
            SourceKind::Goszakup(_) => Tag::Goszakup,
            SourceKind::GoszakupHtml(_) => Tag::GoszakupHtml,
            SourceKind::Ocds(_) => Tag::Ocds,
            SourceKind::Html(_) => Tag::Html,
            SourceKind::Samruk(_) => Tag::Samruk,
            SourceKind::Prozorro(_) => Tag::Prozorro,
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `kind` before its settings are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Goszakup,
    GoszakupHtml,
    Ocds,
    Html,
    Samruk,
    Prozorro,
}

impl Tag {
    const ALL: [Tag; 6] = [
        Tag::Goszakup,
        Tag::GoszakupHtml,
        Tag::Ocds,
        Tag::Html,
        Tag::Samruk,
        Tag::Prozorro,
    ];

    fn name(self) -> &'static str {
        match self {
            Tag::Goszakup => "goszakup",
            Tag::GoszakupHtml => "goszakup-html",
            Tag::Ocds => "ocds",
            Tag::Html => "html",
            Tag::Samruk => "samruk",
            Tag::Prozorro => "prozorro",
        }
    }

    fn parse(name: &str) -> Option<Tag> {
        Tag::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The keys only this kind reads (besides [`SOURCE_KEYS`]).
    fn keys(self) -> &'static [&'static str] {
        match self {
            Tag::Goszakup => &["contracts", "plans"],
            Tag::GoszakupHtml => &[],
            Tag::Ocds => &["notice_url", "next_pointer", "format", "max_download_bytes"],
            Tag::Html => &["html"],
            Tag::Samruk => &["notice_url", "page_size"],
            Tag::Prozorro => &["notice_url", "min_interval_secs"],
        }
    }
}

/// `goszakup`: besides the keys every kind reads (the token comes from `token_env`),
/// `contracts`: whether the `Contract` root is crawled too (default true); `plans`: whether
/// the `Plans` root is (default false).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoszakupSettings {
    /// `contracts`: crawl the GraphQL `Contract` root after the announcements (its own
    /// cursor): contracts of announcements fill their awards, direct contracts become notices.
    #[serde(default = "yes")]
    pub contracts: bool,
    /// `plans`: crawl the GraphQL `Plans` root last (its own cursor): each plan point is a
    /// notice of kind `plan`, read by the rules and reported as planned.
    #[serde(default)]
    pub plans: bool,
}

fn yes() -> bool {
    true
}

impl Default for GoszakupSettings {
    fn default() -> Self {
        GoszakupSettings {
            contracts: true,
            plans: false,
        }
    }
}

/// `goszakup-html`: the words to search for.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoszakupHtmlSettings {
    /// `search_terms`: a key every kind accepts (as it always has); only this kind reads it.
    #[serde(skip)]
    pub search_terms: Vec<String>,
}

/// `ocds`: how to page and where a notice's public page is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OcdsSettings {
    /// The public URL of a notice, with `{id}`, `{ocid}` or `{number}` in it.
    pub notice_url: Option<String>,
    /// A JSON pointer to the next page's URL (the kind's default `/links/next` when none).
    pub next_pointer: Option<String>,
    pub format: OcdsFormat,
    /// The largest bulk file, in bytes (the kind's default when none).
    pub max_download_bytes: Option<u64>,
}

/// `format` of an `ocds` source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OcdsFormat {
    /// From the URL's ending: bulk-file endings mean jsonl, else api.
    #[default]
    Auto,
    /// Paged release or record packages.
    Api,
    /// A bulk JSON Lines file, gzipped or not.
    Jsonl,
}

impl OcdsFormat {
    fn parse(s: &str) -> Option<OcdsFormat> {
        Some(match s {
            "auto" => OcdsFormat::Auto,
            "api" => OcdsFormat::Api,
            "jsonl" => OcdsFormat::Jsonl,
            _ => return None,
        })
    }
}

/// `ocds` keys as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OcdsKeys {
    notice_url: Option<String>,
    next_pointer: Option<String>,
    format: Option<String>,
    max_download_bytes: Option<u64>,
}

/// `samruk`: records per page and the public page of a notice.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamrukSettings {
    /// The public URL of a notice, with `{id}` or `{number}` in it (the kind's default when none).
    pub notice_url: Option<String>,
    /// Records per page (the kind's default when none).
    pub page_size: Option<u32>,
}

/// `prozorro`: the public page of a tender and the least time between two syncs.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProzorroSettings {
    /// The public URL of a tender, with `{id}` (the API's id) or `{number}` (its `tenderID`,
    /// `UA-2026-…`) in it (the kind's default when none).
    pub notice_url: Option<String>,
    /// Seconds that must pass after a finished sync before the next one asks the API again
    /// (the kind's default, ProZorro's five minutes, when none; 0: every run).
    pub min_interval_secs: Option<u64>,
}

/// `html` keys as written: the `[sources.html]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HtmlKeys {
    html: Option<HtmlTable>,
}

/// `[sources.html]` as written: how to read the portal's pages. Selectors are CSS (as
/// browsers read them); [`HtmlSettings::compile`] makes the settings a source reads.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlTable {
    /// One notice on a listing page.
    pub item: String,
    /// Within an item: the notice's title (its text).
    pub title: String,
    /// Within an item: the link (`href`) to the notice's detail page; default: `title`.
    pub link: Option<String>,
    /// Within an item: the notice's number.
    pub number: Option<String>,
    /// Within an item: the amount ("1 300 000,00 ₸").
    pub amount: Option<String>,
    /// Within an item: the buyer's name.
    pub agency: Option<String>,
    /// Within an item: the publication date, read with `date_format`.
    pub date: Option<String>,
    /// chrono/strftime format of `date` and `detail_deadline` ("%d.%m.%Y %H:%M"); text around
    /// the date is ignored.
    #[serde(default = "default_date_format")]
    pub date_format: String,
    /// IANA zone the portal's times are in ("Asia/Almaty"); default UTC.
    pub timezone: Option<String>,
    /// ISO 4217 currency of the amounts.
    pub currency: Option<String>,
    /// On a listing page: the link (`href`) to the next page.
    pub next: Option<String>,
    /// On a listing page: a "nothing found" message; without it an empty listing is a change.
    pub empty: Option<String>,
    /// On a detail page: the description.
    pub detail_description: Option<String>,
    /// On a detail page: the deadline, read with `date_format`.
    pub detail_deadline: Option<String>,
    /// On a detail page: links (`href`) to documents.
    pub detail_documents: Option<String>,
    /// On a detail page: those document links that are the technical specification.
    pub detail_spec: Option<String>,
    /// Listing pages read per run at most.
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
}

fn default_date_format() -> String {
    "%Y-%m-%d".into()
}

fn default_max_pages() -> u32 {
    20
}

/// A CSS selector, compiled, with the text it was compiled from (to name it in messages).
#[derive(Debug, Clone, PartialEq)]
pub struct Css {
    text: String,
    selector: Selector,
}

impl Css {
    /// Compiles `css`; the error says what is wrong with it.
    pub fn parse(css: &str) -> Result<Css, String> {
        Selector::parse(css)
            .map(|selector| Css {
                text: css.to_string(),
                selector,
            })
            .map_err(|e| format!("{css:?} is not a CSS selector: {e}"))
    }

    /// As written in the config.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn selector(&self) -> &Selector {
        &self.selector
    }
}

impl fmt::Display for Css {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `html`: the compiled `[sources.html]` ([`HtmlTable`] says what each is).
#[derive(Debug, Clone, PartialEq)]
pub struct HtmlSettings {
    pub item: Css,
    pub title: Css,
    /// `title` where the config sets no `link`.
    pub link: Css,
    pub number: Option<Css>,
    pub amount: Option<Css>,
    pub agency: Option<Css>,
    pub date: Option<Css>,
    pub next: Option<Css>,
    pub empty: Option<Css>,
    pub detail_description: Option<Css>,
    pub detail_deadline: Option<Css>,
    pub detail_documents: Option<Css>,
    pub detail_spec: Option<Css>,
    /// A strftime format (it has a `%`).
    pub date_format: String,
    /// UTC where the config names no zone.
    pub timezone: chrono_tz::Tz,
    pub currency: Option<String>,
    pub max_pages: u32,
}

impl HtmlSettings {
    /// Compiles the selectors and the zone and checks the date format: `Err((key, message))`
    /// for the first that is wrong, the key as `[sources.html]` names it.
    pub fn compile(t: &HtmlTable) -> Result<HtmlSettings, (String, String)> {
        let css = |key: &str, css: &str| Css::parse(css).map_err(|m| (key.to_string(), m));
        let opt = |key: &str, v: &Option<String>| v.as_deref().map(|c| css(key, c)).transpose();
        let item = css("item", &t.item)?;
        let title = css("title", &t.title)?;
        let link = match &t.link {
            Some(l) => css("link", l)?,
            None => title.clone(),
        };
        let number = opt("number", &t.number)?;
        let amount = opt("amount", &t.amount)?;
        let agency = opt("agency", &t.agency)?;
        let date = opt("date", &t.date)?;
        let next = opt("next", &t.next)?;
        let empty = opt("empty", &t.empty)?;
        let detail_description = opt("detail_description", &t.detail_description)?;
        let detail_deadline = opt("detail_deadline", &t.detail_deadline)?;
        let detail_documents = opt("detail_documents", &t.detail_documents)?;
        let detail_spec = opt("detail_spec", &t.detail_spec)?;
        let timezone = match &t.timezone {
            Some(z) => z.parse::<chrono_tz::Tz>().map_err(|_| {
                (
                    "timezone".to_string(),
                    format!("{z:?} is not an IANA time zone (e.g. \"Asia/Almaty\")"),
                )
            })?,
            None => chrono_tz::UTC,
        };
        if t.date_format.trim().is_empty() || !t.date_format.contains('%') {
            return Err((
                "date_format".into(),
                format!("{:?} is not a strftime format", t.date_format),
            ));
        }
        Ok(HtmlSettings {
            item,
            title,
            link,
            number,
            amount,
            agency,
            date,
            next,
            empty,
            detail_description,
            detail_deadline,
            detail_documents,
            detail_spec,
            date_format: t.date_format.clone(),
            timezone,
            currency: t.currency.clone(),
            max_pages: t.max_pages,
        })
    }

    /// Whether the detail page of each notice is read.
    pub fn reads_details(&self) -> bool {
        self.detail_description.is_some()
            || self.detail_deadline.is_some()
            || self.detail_documents.is_some()
    }
}

/// The keys every kind reads, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "struct SourceConfig")]
struct CommonKeys {
    name: String,
    kind: String,
    url: String,
    #[serde(default = "super::yes")]
    enabled: bool,
    token_env: Option<String>,
    #[serde(default = "super::default_lookback")]
    lookback_days: u32,
    #[serde(default = "super::default_rps")]
    requests_per_second: f64,
    ca_file: Option<PathBuf>,
    #[serde(default)]
    attachment_hosts: Vec<String>,
    #[serde(default)]
    search_terms: Vec<String>,
    user_agent: Option<String>,
    #[serde(default)]
    required: bool,
}

/// Every `[[sources]]` table of the file (`value` is the file's `sources`).
pub(super) fn parse_sources(
    at: &Locate<'_>,
    value: Spanned<DeValue<'_>>,
) -> Result<Vec<SourceConfig>, ConfigError> {
    let items = match value.get_ref() {
        DeValue::Array(items) => items.to_vec(),
        // Not an array of tables: what the reader says of it.
        _ => {
            let span = value.span();
            return Err(
                match Vec::<serde::de::IgnoredAny>::deserialize(ValueDeserializer::from(value)) {
                    Err(e) => at.toml(e),
                    Ok(_) => at.offset(span.start, "sources must be [[sources]] tables".into()),
                },
            );
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| parse_source(at, i, v))
        .collect()
}

/// The `index`-th `[[sources]]` table.
fn parse_source<'i>(
    at: &Locate<'_>,
    index: usize,
    entry: Spanned<DeValue<'i>>,
) -> Result<SourceConfig, ConfigError> {
    let span = entry.span();
    let table = match entry.into_inner() {
        DeValue::Table(t) => t,
        other => {
            let de = ValueDeserializer::from(Spanned::new(span.clone(), other));
            return Err(match CommonKeys::deserialize(de) {
                Err(e) => at.toml(e),
                Ok(_) => at.offset(span.start, "a source must be a table".into()),
            });
        }
    };
    let err = |key: &str, message: String| at.key("sources", Some(index), key, message);
    let part = |t: DeTable<'i>| -> ValueDeserializer<'i> {
        ValueDeserializer::from(Spanned::new(span.clone(), DeValue::Table(t)))
    };
    let (common, rest): (DeTable<'i>, Vec<_>) = {
        let mut common = DeTable::new();
        let mut rest = Vec::new();
        for (k, v) in table {
            if SOURCE_KEYS.contains(&k.get_ref().as_ref()) {
                common.insert(k, v);
            } else {
                rest.push((k, v));
            }
        }
        (common, rest)
    };
    let keys = CommonKeys::deserialize(part(common)).map_err(|e| at.toml(e))?;
    let Some(tag) = Tag::parse(&keys.kind) else {
        return Err(err(
            "kind",
            format!(
                "unknown source kind {:?} (this build knows: {})",
                keys.kind,
                super::SOURCE_KINDS.join(", ")
            ),
        ));
    };
    let mut own = DeTable::new();
    for (k, v) in rest {
        let key: &str = k.get_ref();
        if tag.keys().contains(&key) {
            own.insert(k, v);
            continue;
        }
        let readers: Vec<&str> = Tag::ALL
            .into_iter()
            .filter(|t| t.keys().contains(&key))
            .map(Tag::name)
            .collect();
        if !readers.is_empty() {
            return Err(err(
                key,
                format!(
                    "is read only by kind {} (this source is {})",
                    readers.join(" or "),
                    tag.name()
                ),
            ));
        }
        // As the reader words an unknown field, with the keys this kind reads.
        let expected: Vec<String> = SOURCE_KEYS
            .iter()
            .chain(tag.keys())
            .map(|k| format!("`{k}`"))
            .collect();
        return Err(at.offset(
            k.span().start,
            format!(
                "unknown field `{key}`, expected one of {}",
                expected.join(", ")
            ),
        ));
    }
    let toml = |e| at.toml(e);
    let kind = match tag {
        Tag::Goszakup => {
            SourceKind::Goszakup(GoszakupSettings::deserialize(part(own)).map_err(toml)?)
        }
        Tag::GoszakupHtml => {
            let mut s = GoszakupHtmlSettings::deserialize(part(own)).map_err(toml)?;
            s.search_terms = keys.search_terms;
            SourceKind::GoszakupHtml(s)
        }
        Tag::Ocds => {
            let o = OcdsKeys::deserialize(part(own)).map_err(toml)?;
            if let Some(p) = &o.next_pointer {
                check_next_pointer(p).map_err(|m| err("next_pointer", m))?;
            }
            let format = match o.format.as_deref() {
                None => OcdsFormat::Auto,
                Some(f) => OcdsFormat::parse(f).ok_or_else(|| {
                    err(
                        "format",
                        format!("{f:?}: expected \"api\", \"jsonl\" or \"auto\""),
                    )
                })?,
            };
            check_template(o.notice_url.as_deref()).map_err(|m| err("notice_url", m))?;
            SourceKind::Ocds(OcdsSettings {
                notice_url: o.notice_url,
                next_pointer: o.next_pointer,
                format,
                max_download_bytes: o.max_download_bytes,
            })
        }
        Tag::Html => {
            let h = HtmlKeys::deserialize(part(own)).map_err(toml)?;
            let Some(table) = h.html else {
                return Err(err(
                    "html",
                    "kind html needs a [sources.html] table of selectors (see config.toml)".into(),
                ));
            };
            let settings =
                HtmlSettings::compile(&table).map_err(|(k, m)| err(&format!("html.{k}"), m))?;
            SourceKind::Html(Box::new(settings))
        }
        Tag::Samruk => {
            let s = SamrukSettings::deserialize(part(own)).map_err(toml)?;
            check_template(s.notice_url.as_deref()).map_err(|m| err("notice_url", m))?;
            SourceKind::Samruk(s)
        }
        Tag::Prozorro => {
            let s = ProzorroSettings::deserialize(part(own)).map_err(toml)?;
            check_template(s.notice_url.as_deref()).map_err(|m| err("notice_url", m))?;
            SourceKind::Prozorro(s)
        }
    };
    let url = match Url::parse(&keys.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => u,
        Ok(_) => {
            return Err(err(
                "url",
                format!("{:?} is not an http(s) URL with a host", keys.url),
            ));
        }
        Err(e) => {
            return Err(err("url", format!("{:?} is not a URL: {e}", keys.url)));
        }
    };
    Ok(SourceConfig {
        name: keys.name,
        kind,
        url,
        url_written: keys.url,
        enabled: keys.enabled,
        token_env: keys.token_env,
        lookback_days: keys.lookback_days,
        requests_per_second: keys.requests_per_second,
        ca_file: keys.ca_file,
        attachment_hosts: keys.attachment_hosts,
        user_agent: match keys.user_agent {
            None => None,
            Some(ua) => Some(check_user_agent(&ua).map_err(|m| err("user_agent", m))?),
        },
        required: keys.required,
    })
}

/// A `User-Agent` value: one line of printable ASCII, 1 to 300 characters (a header value: no
/// control characters, so nothing can be smuggled into the request).
fn check_user_agent(ua: &str) -> Result<String, String> {
    let ua = ua.trim();
    if ua.is_empty() || ua.len() > 300 {
        return Err("must be 1 to 300 characters".into());
    }
    if !ua.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err("must be printable ASCII on one line (a header value)".into());
    }
    Ok(ua.to_string())
}

/// `next_pointer`: a JSON pointer to the next page's URL (`/links/next`), or the token form
/// `?PARAM=/POINTER`: the value at the pointer goes into the query parameter PARAM of the page
/// just read (`?offset=/offset`, for APIs that page by a token).
fn check_next_pointer(p: &str) -> Result<(), String> {
    if p.starts_with('/') {
        return Ok(());
    }
    if let Some((param, pointer)) = p.strip_prefix('?').and_then(|t| t.split_once('='))
        && !param.is_empty()
        && param
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.[]".contains(&b))
        && pointer.starts_with('/')
    {
        return Ok(());
    }
    Err(format!(
        "{p:?} is neither a JSON pointer to the next page's URL (e.g. \"/links/next\") nor \
         the token form \"?PARAM=/POINTER\" (e.g. \"?offset=/offset\")"
    ))
}

/// A notice URL template is an http(s) URL.
fn check_template(t: Option<&str>) -> Result<(), String> {
    match t {
        Some(t) if !(t.starts_with("http://") || t.starts_with("https://")) => {
            Err(format!("{t:?} is not an http(s) URL template"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_are_those_the_config_names() {
        let names: Vec<&str> = Tag::ALL.into_iter().map(Tag::name).collect();
        assert_eq!(names, super::super::SOURCE_KINDS);
        for t in Tag::ALL {
            assert_eq!(Tag::parse(t.name()), Some(t));
            assert!(t.keys().iter().all(|k| !SOURCE_KEYS.contains(k)), "{t:?}");
        }
        assert_eq!(Tag::parse("prozorro"), Some(Tag::Prozorro));
        assert_eq!(Tag::parse("mtender"), None);
    }

    fn table() -> HtmlTable {
        HtmlTable {
            item: "tr.notice".into(),
            title: "a.title".into(),
            link: None,
            number: None,
            amount: Some(".sum".into()),
            agency: None,
            date: None,
            date_format: default_date_format(),
            timezone: Some("Asia/Almaty".into()),
            currency: None,
            next: None,
            empty: None,
            detail_description: None,
            detail_deadline: None,
            detail_documents: None,
            detail_spec: None,
            max_pages: default_max_pages(),
        }
    }

    #[test]
    fn html_settings_compile_once_and_bad_ones_are_named() {
        let h = HtmlSettings::compile(&table()).unwrap();
        assert_eq!(h.item.as_str(), "tr.notice");
        assert_eq!(h.link, h.title, "link defaults to title");
        assert_eq!(h.timezone, chrono_tz::Asia::Almaty);
        assert!(!h.reads_details());
        let doc = scraper::Html::parse_fragment(
            "<table><tr class='notice'><td class='sum'>1</td></tr></table>",
        );
        assert_eq!(doc.select(h.item.selector()).count(), 1);
        let mut t = table();
        t.amount = Some("td[".into());
        let (key, message) = HtmlSettings::compile(&t).unwrap_err();
        assert_eq!(key, "amount");
        assert!(
            message.contains("\"td[\" is not a CSS selector"),
            "{message}"
        );
        let mut t = table();
        t.timezone = Some("Mars/Olympus".into());
        assert_eq!(HtmlSettings::compile(&t).unwrap_err().0, "timezone");
        let mut t = table();
        t.timezone = None;
        assert_eq!(HtmlSettings::compile(&t).unwrap().timezone, chrono_tz::UTC);
        let mut t = table();
        t.date_format = "dd.mm.yyyy".into();
        assert_eq!(HtmlSettings::compile(&t).unwrap_err().0, "date_format");
    }

    fn parse(src: &str) -> Result<super::super::Config, ConfigError> {
        super::super::Config::parse(
            src,
            std::path::Path::new("t.toml"),
            std::path::Path::new("/b"),
        )
    }

    const HEAD: &str = "[database]\npath = 'a.db'\n";

    /// Each kind's keys land typed in its own settings, compiled once.
    #[test]
    fn each_kind_gets_its_settings_typed() {
        let src = format!(
            "{HEAD}\
             [[sources]]\nname = 'g'\nkind = 'goszakup'\nurl = 'https://ows.goszakup.gov.kz'\ntoken_env = 'T'\n\
             [[sources]]\nname = 'p'\nkind = 'goszakup-html'\nurl = 'https://goszakup.gov.kz'\nsearch_terms = ['SMM', 'имидж']\n\
             [[sources]]\nname = 'o'\nkind = 'ocds'\nurl = 'https://p.ua/api'\nformat = 'jsonl'\nnext_pointer = '/next_page/uri'\nmax_download_bytes = 1000\nnotice_url = 'https://p.ua/t/{{ocid}}'\n\
             [[sources]]\nname = 'o2'\nkind = 'ocds'\nurl = 'https://p.ua/full.jsonl.gz'\n\
             [[sources]]\nname = 's'\nkind = 'samruk'\nurl = 'https://zakup.sk.kz/x'\npage_size = 5\n\
             [[sources]]\nname = 'h'\nkind = 'html'\nurl = 'https://t.kz/list'\n[sources.html]\nitem = 'tr.lot'\ntitle = 'a'\nlink = 'a.more'\ntimezone = 'Asia/Almaty'\nmax_pages = 3\n"
        );
        let c = parse(&src).unwrap();
        let kinds: Vec<&SourceKind> = c.sources.iter().map(|s| &s.kind).collect();
        assert_eq!(
            kinds[0],
            &SourceKind::Goszakup(GoszakupSettings {
                contracts: true,
                plans: false
            })
        );
        assert_eq!(c.sources[0].token_env.as_deref(), Some("T"));
        assert_eq!(
            kinds[1],
            &SourceKind::GoszakupHtml(GoszakupHtmlSettings {
                search_terms: vec!["SMM".into(), "имидж".into()]
            })
        );
        assert_eq!(
            kinds[2],
            &SourceKind::Ocds(OcdsSettings {
                notice_url: Some("https://p.ua/t/{ocid}".into()),
                next_pointer: Some("/next_page/uri".into()),
                format: OcdsFormat::Jsonl,
                max_download_bytes: Some(1000),
            })
        );
        assert_eq!(kinds[3], &SourceKind::Ocds(OcdsSettings::default()));
        assert_eq!(
            kinds[4],
            &SourceKind::Samruk(SamrukSettings {
                notice_url: None,
                page_size: Some(5)
            })
        );
        let SourceKind::Html(h) = kinds[5] else {
            panic!("{:?}", kinds[5]);
        };
        assert_eq!((h.item.as_str(), h.link.as_str()), ("tr.lot", "a.more"));
        assert_eq!(h.timezone, chrono_tz::Asia::Almaty);
        assert_eq!((h.max_pages, h.date_format.as_str()), (3, "%Y-%m-%d"));
        let names: Vec<&str> = c.sources.iter().map(|s| s.kind.name()).collect();
        assert_eq!(
            names,
            [
                "goszakup",
                "goszakup-html",
                "ocds",
                "ocds",
                "samruk",
                "html"
            ]
        );
        // The URL parsed, and kept as written for the sources table.
        assert_eq!(c.sources[0].url.as_str(), "https://ows.goszakup.gov.kz/");
        assert_eq!(c.sources[0].url_written, "https://ows.goszakup.gov.kz");
        assert_eq!(c.sources[0].host().as_deref(), Some("ows.goszakup.gov.kz"));
    }

    /// The keys every kind reads are read by every kind (search_terms too, as always).
    #[test]
    fn every_common_key_is_read_by_every_kind() {
        for tag in Tag::ALL {
            let html = if tag == Tag::Html {
                "[sources.html]\nitem = 'tr'\ntitle = 'a'\n"
            } else {
                ""
            };
            let src = format!(
                "{HEAD}[[sources]]\nname = 'x'\nkind = '{}'\nurl = 'https://x.kz/'\nenabled = false\n\
                 token_env = 'X_TOKEN'\nlookback_days = 3\nrequests_per_second = 0.5\nca_file = 'ca.pem'\n\
                 attachment_hosts = ['files.x.kz']\nsearch_terms = ['SMM']\nuser_agent = 'Mozilla/5.0 (x)'\nrequired = true\n{html}",
                tag.name()
            );
            let c = parse(&src).unwrap_or_else(|e| panic!("{}: {e}", tag.name()));
            let s = &c.sources[0];
            assert_eq!(s.kind.name(), tag.name());
            assert!(!s.enabled);
            assert_eq!((s.lookback_days, s.requests_per_second), (3, 0.5));
            assert_eq!(
                s.ca_file.as_deref(),
                Some(std::path::Path::new("/b/ca.pem"))
            );
            assert_eq!(s.attachment_hosts, ["files.x.kz"]);
            assert_eq!(s.user_agent.as_deref(), Some("Mozilla/5.0 (x)"));
            assert!(s.required);
        }
        assert_eq!(
            SOURCE_KEYS.len(),
            12,
            "a key added: add it to the test above"
        );
    }

    /// A key of another kind names that kind; a key no kind reads lists what this kind reads.
    #[test]
    fn keys_of_other_kinds_and_unknown_keys_are_named() {
        let base = format!("{HEAD}[[sources]]\nname = 'a'\nurl = 'https://a.kz'\n");
        let e = parse(&format!("{base}kind = 'samruk'\nformat = 'api'\n")).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("sources[0].format"), "{e}");
        assert_eq!(e.line, Some(7), "{e}");
        assert_eq!(
            e.message,
            "is read only by kind ocds (this source is samruk)"
        );
        let e = parse(&format!(
            "{base}kind = 'goszakup'\n[sources.html]\nitem = 'tr'\n"
        ))
        .unwrap_err();
        assert_eq!(e.key.as_deref(), Some("sources[0].html"), "{e}");
        assert!(e.message.contains("read only by kind html"), "{e}");
        let e = parse(&format!("{base}kind = 'samruk'\npagesize = 5\n")).unwrap_err();
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(7), Some("sources.pagesize")),
            "{e}"
        );
        assert!(
            e.message
                .starts_with("unknown field `pagesize`, expected one of `name`, `kind`")
                && e.message.ends_with(
                    "`search_terms`, `user_agent`, `required`, `notice_url`, `page_size`"
                ),
            "{e}"
        );
        // Kind-specific types keep their line and key.
        let e = parse(&format!("{base}kind = 'samruk'\npage_size = 'ten'\n")).unwrap_err();
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(7), Some("sources.page_size")),
            "{e}"
        );
        assert!(e.message.contains("invalid type"), "{e}");
    }

    /// `next_pointer`: a pointer to the next page's URL, or the token form `?PARAM=/POINTER`.
    #[test]
    fn next_pointer_forms() {
        for (pointer, ok) in [
            ("/links/next", true),
            ("?offset=/offset", true),
            ("?page[after]=/meta/after", true),
            ("offset", false),
            ("?=/offset", false),
            ("?offset=offset", false),
            ("?off set=/offset", false),
        ] {
            let src = format!(
                "{HEAD}[[sources]]\nname = 'md'\nkind = 'ocds'\nurl = 'https://md.example/api'\nnext_pointer = '{pointer}'\n"
            );
            match parse(&src) {
                Ok(c) => {
                    assert!(ok, "{pointer}");
                    let SourceKind::Ocds(o) = &c.sources[0].kind else {
                        panic!()
                    };
                    assert_eq!(o.next_pointer.as_deref(), Some(pointer));
                }
                Err(e) => {
                    assert!(!ok, "{pointer}: {e}");
                    assert_eq!(e.key.as_deref(), Some("sources[0].next_pointer"), "{e}");
                    assert!(e.message.contains("?PARAM=/POINTER"), "{e}");
                }
            }
        }
    }

    /// `prozorro` reads its own keys.
    #[test]
    fn prozorro_settings() {
        let src = format!(
            "{HEAD}[[sources]]\nname = 'pz'\nkind = 'prozorro'\nurl = 'https://public-api.prozorro.gov.ua/api/2.5/tenders'\nmin_interval_secs = 600\nnotice_url = 'https://prozorro.gov.ua/tender/{{number}}'\n"
        );
        let c = parse(&src).unwrap();
        assert_eq!(
            c.sources[0].kind,
            SourceKind::Prozorro(ProzorroSettings {
                notice_url: Some("https://prozorro.gov.ua/tender/{number}".into()),
                min_interval_secs: Some(600)
            })
        );
        let e = parse(&format!(
            "{HEAD}[[sources]]\nname = 'pz'\nkind = 'prozorro'\nurl = 'https://x.ua/'\npage_size = 5\n"
        ))
        .unwrap_err();
        assert!(e.message.contains("read only by kind samruk"), "{e}");
    }

    /// What is not a table of sources is named as the reader names it.
    #[test]
    fn sources_that_are_no_tables() {
        let e = parse("sources = 3\n[database]\npath = 'a.db'\n").unwrap_err();
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(1), Some("sources")),
            "{e}"
        );
        assert_eq!(e.message, "invalid type: integer `3`, expected a sequence");
        let e = parse("sources = [1]\n[database]\npath = 'a.db'\n").unwrap_err();
        assert_eq!(
            e.message,
            "invalid type: integer `1`, expected struct SourceConfig"
        );
        let c = parse(
            "sources = [{name = 's', kind = 'ocds', url = 'https://p.ua/api'}]\n[database]\npath = 'a.db'\n",
        )
        .unwrap();
        assert_eq!(c.sources[0].kind, SourceKind::Ocds(OcdsSettings::default()));
    }

    #[test]
    fn a_cron_line_is_compiled_at_load_and_shown_as_written() {
        let c = parse(HEAD).unwrap();
        assert_eq!(c.schedule.cron.as_str(), super::super::DEFAULT_CRON);
        let c = parse(&format!("{HEAD}[schedule]\ncron = '*/10 * * * 1-5'\n")).unwrap();
        let line = &c.schedule.cron;
        assert_eq!(line.to_string(), "*/10 * * * 1-5");
        assert_eq!(format!("{line:?}"), "\"*/10 * * * 1-5\"");
        let monday = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(9, 1, 0)
            .unwrap()
            .and_utc();
        let next = line.cron().find_next_occurrence(&monday, false).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-11-23T09:10:00+00:00");
    }
}
