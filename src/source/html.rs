//! Source kind `html`: a portal with no API, read from its listing and detail pages as the
//! config's `[sources.html]` table describes them with CSS selectors.
//!
//! The configured URL is the first listing page. On each listing page every `item` is a notice:
//! `title` and `link` are required in every item; `number`, `amount`, `agency` and `date` are
//! optional, but a configured one that matches in none of a page's items means the page
//! changed. Where any `detail_*` selector is set, each notice's detail page (its link) is read
//! for its description, deadline and document links. Pages are followed through `next`.
//!
//! A selector that stops matching is a [`SourceError::ChangedFormat`] naming the page's URL and
//! the selector, so the operator sees which part of the config to fix; nothing of that page is
//! stored and the cursor stays where it was. A listing with no items is a changed page too,
//! unless the `empty` selector (a "nothing found" message) matches.
//!
//! # Cursor
//! `{"from": "2026-11-20", "next": "<listing URL>", "pages": 3}`: `next`/`pages` say where an
//! interrupted crawl resumes; with a `date` selector, listing pages are read until a page
//! holds nothing published on or after `from` (listings are newest first), else `max_pages`
//! pages. When the crawl ends the cursor becomes `{"from": <the day before this crawl>}`. The
//! first run starts `lookback_days` back; `--since` overrides the cursor.
//!
//! Never: guess a selector, or store a page whose selectors did not all match.

use std::collections::HashSet;

use chrono::{NaiveDate, Utc};
use scraper::{ElementRef, Html, Selector};
use serde::{Deserialize, Serialize};
use url::Url;

use super::util::{Start, bad_cursor, encode_cursor, parse_amount, time_in_text};
use super::{
    Page, PageFuture, Source, SourceError, SourceSpec, document_rank, fetch_err, is_spec,
    media_type, url_file_name,
};
use crate::fetch::{FetchError, Fetcher};
use crate::model::{Agency, DocumentRef, NoticeRecord, Payload, PortalTime};

/// `[sources.html]`: how to read the portal's pages. Selectors are CSS (as browsers read them).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlSettings {
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

impl HtmlSettings {
    /// Every selector with its key, to check and to name in errors.
    fn selectors(&self) -> Vec<(&'static str, &str)> {
        let mut v = vec![("item", self.item.as_str()), ("title", self.title.as_str())];
        for (k, s) in [
            ("link", &self.link),
            ("number", &self.number),
            ("amount", &self.amount),
            ("agency", &self.agency),
            ("date", &self.date),
            ("next", &self.next),
            ("empty", &self.empty),
            ("detail_description", &self.detail_description),
            ("detail_deadline", &self.detail_deadline),
            ("detail_documents", &self.detail_documents),
            ("detail_spec", &self.detail_spec),
        ] {
            if let Some(s) = s {
                v.push((k, s.as_str()));
            }
        }
        v
    }

    /// Checks the selectors, the zone and the date format: `Err((key, message))`.
    pub fn check(&self) -> Result<(), (String, String)> {
        for (key, css) in self.selectors() {
            Selector::parse(css).map_err(|e| {
                (
                    key.to_string(),
                    format!("{css:?} is not a CSS selector: {e}"),
                )
            })?;
        }
        if let Some(z) = &self.timezone {
            z.parse::<chrono_tz::Tz>().map_err(|_| {
                (
                    "timezone".to_string(),
                    format!("{z:?} is not an IANA time zone (e.g. \"Asia/Almaty\")"),
                )
            })?;
        }
        if self.date_format.trim().is_empty() || !self.date_format.contains('%') {
            return Err((
                "date_format".into(),
                format!("{:?} is not a strftime format", self.date_format),
            ));
        }
        Ok(())
    }

    fn reads_details(&self) -> bool {
        self.detail_description.is_some()
            || self.detail_deadline.is_some()
            || self.detail_documents.is_some()
    }
}

/// The compiled selectors.
struct Compiled {
    item: Selector,
    title: Selector,
    link: Selector,
    number: Option<Selector>,
    amount: Option<Selector>,
    agency: Option<Selector>,
    date: Option<Selector>,
    next: Option<Selector>,
    empty: Option<Selector>,
    detail_description: Option<Selector>,
    detail_deadline: Option<Selector>,
    detail_documents: Option<Selector>,
    detail_spec: Option<Selector>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Cursor {
    from: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(default)]
    pages: u32,
}

pub struct HtmlSource {
    name: String,
    start: Url,
    settings: HtmlSettings,
    sel: Compiled,
    zone: chrono_tz::Tz,
    cursor: Cursor,
    today: NaiveDate,
    seen: HashSet<String>,
    finished: bool,
}

/// What a listing item says.
#[derive(Debug, Clone)]
struct Row {
    link: Url,
    title: String,
    number: Option<String>,
    amount: Option<f64>,
    agency: Option<String>,
    published: Option<PortalTime>,
}

/// What a detail page says.
#[derive(Debug, Default)]
struct Detail {
    description: Option<String>,
    deadline: Option<PortalTime>,
    documents: Vec<DocumentRef>,
    /// The detail page as it came (evidence), when one was read.
    payloads: Vec<Payload>,
}

impl HtmlSource {
    pub fn open(spec: &SourceSpec, saved_cursor: Option<&str>) -> Result<HtmlSource, SourceError> {
        let config = |message: String| SourceError::Config {
            name: spec.name.clone(),
            message,
        };
        let settings =
            spec.options.html.clone().ok_or_else(|| {
                config("kind html needs a [sources.html] table of selectors".into())
            })?;
        settings
            .check()
            .map_err(|(k, m)| config(format!("html.{k}: {m}")))?;
        let s = |css: &str| Selector::parse(css).expect("checked above");
        let o = |css: &Option<String>| css.as_deref().map(s);
        let sel = Compiled {
            item: s(&settings.item),
            title: s(&settings.title),
            link: s(settings.link.as_deref().unwrap_or(&settings.title)),
            number: o(&settings.number),
            amount: o(&settings.amount),
            agency: o(&settings.agency),
            date: o(&settings.date),
            next: o(&settings.next),
            empty: o(&settings.empty),
            detail_description: o(&settings.detail_description),
            detail_deadline: o(&settings.detail_deadline),
            detail_documents: o(&settings.detail_documents),
            detail_spec: o(&settings.detail_spec),
        };
        let zone = settings
            .timezone
            .as_deref()
            .map(|z| z.parse::<chrono_tz::Tz>().expect("checked above"))
            .unwrap_or(chrono_tz::UTC);
        let today = Utc::now().with_timezone(&zone).date_naive();
        let fresh = |from| Cursor {
            from,
            next: None,
            pages: 0,
        };
        let cursor = match super::util::start(spec, saved_cursor, today)? {
            Start::Fresh(day) => fresh(day),
            Start::Resume(c) => c,
        };
        Ok(HtmlSource {
            name: spec.name.clone(),
            start: spec.url.clone(),
            settings,
            sel,
            zone,
            cursor,
            today,
            seen: HashSet::new(),
            finished: false,
        })
    }

    fn changed(&self, url: &Url, what: String) -> SourceError {
        SourceError::ChangedFormat {
            name: self.name.clone(),
            url: url.to_string(),
            what,
        }
    }

    async fn fetch_page(&mut self, fetcher: &Fetcher) -> Result<Option<Page>, SourceError> {
        if self.finished {
            return Ok(None);
        }
        let url = match &self.cursor.next {
            Some(n) => Url::parse(n).map_err(|e| bad_cursor(&self.name, n, e.to_string()))?,
            None => self.start.clone(),
        };
        let resp = fetcher
            .get(&url, &[("Accept", "text/html".to_string())])
            .await
            .map_err(fetch_err(&self.name))?;
        let (rows, next) = self.parse_listing(&String::from_utf8_lossy(&resp.body), &resp.url)?;
        let listing = resp.payload();
        let mut records = Vec::new();
        let mut any_recent = false;
        for row in &rows {
            let recent = row
                .published
                .as_ref()
                .and_then(|p| p.utc)
                .is_none_or(|t| t.with_timezone(&self.zone).date_naive() >= self.cursor.from);
            any_recent |= recent;
            let id = row.link.to_string();
            if !recent
                || self.seen.contains(&id)
                || records.iter().any(|r: &NoticeRecord| r.external_id == id)
            {
                continue;
            }
            let detail = if self.settings.reads_details() {
                self.detail(fetcher, &row.link).await?
            } else {
                Detail::default()
            };
            let mut rec = self.record(row, detail);
            // The listing page first, then the detail page, as they came.
            rec.payloads.insert(0, listing.clone());
            records.push(rec);
        }
        for r in &records {
            self.seen.insert(r.external_id.clone());
        }
        let pages = self.cursor.pages.saturating_add(1);
        let at_limit = pages >= self.settings.max_pages;
        // Some pagers keep "next" on the last page, pointing at itself: that is the end.
        let next = next.filter(|n| *n != resp.url && *n != url);
        if at_limit && next.is_some() && any_recent {
            tracing::warn!(source = %self.name, max_pages = self.settings.max_pages,
                "stopped at max_pages; the rest waits for the next run");
        }
        let done = next.is_none() || !any_recent || at_limit;
        self.cursor = if done {
            self.finished = true;
            Cursor {
                from: self.today - chrono::Days::new(1),
                next: None,
                pages: 0,
            }
        } else {
            Cursor {
                from: self.cursor.from,
                next: next.map(|n| n.to_string()),
                pages,
            }
        };
        Ok(Some(Page {
            records,
            cursor: Some(encode_cursor(&self.cursor)),
            done,
        }))
    }

    fn record(&self, row: &Row, detail: Detail) -> NoticeRecord {
        NoticeRecord {
            external_id: row.link.to_string(),
            number: row.number.clone(),
            title: row.title.clone(),
            description: detail.description,
            agency: row.agency.as_ref().map(|name| Agency {
                // A listing names the buyer but gives no identifier.
                id: name.clone(),
                scheme: Some("name".into()),
                name_ru: Some(name.clone()),
                ..Agency::default()
            }),
            amount: row.amount,
            currency: self.settings.currency.clone(),
            published: row.published.clone(),
            deadline: detail.deadline,
            url: Some(row.link.to_string()),
            documents: detail.documents,
            payloads: detail.payloads,
            ..NoticeRecord::default()
        }
    }

    /// The items and the next page's URL. Every configured selector must match (see the module
    /// comment); what does not is a changed page.
    fn parse_listing(&self, html: &str, url: &Url) -> Result<(Vec<Row>, Option<Url>), SourceError> {
        let doc = Html::parse_document(html);
        let s = &self.settings;
        let items: Vec<ElementRef> = doc.select(&self.sel.item).collect();
        if items.is_empty() {
            if self
                .sel
                .empty
                .as_ref()
                .is_some_and(|e| doc.select(e).next().is_some())
            {
                return Ok((Vec::new(), None));
            }
            return Err(self.changed(
                url,
                format!("no element matches the item selector `{}`", s.item),
            ));
        }
        let mut rows = Vec::new();
        let mut hits = [0usize; 4];
        for (i, item) in items.iter().enumerate() {
            let Some(title) = item.select(&self.sel.title).next().map(text) else {
                return Err(self.changed(
                    url,
                    format!("item {} has no title selector `{}`", i + 1, s.title),
                ));
            };
            let link_css = s.link.as_deref().unwrap_or(&s.title);
            let href = item
                .select(&self.sel.link)
                .find_map(|a| a.attr("href"))
                .map(str::trim)
                .filter(|h| !h.is_empty() && !h.starts_with('#'));
            let Some(link) = href.and_then(|h| url.join(h).ok()) else {
                return Err(self.changed(
                    url,
                    format!("item {} has no link (href) at selector `{link_css}`", i + 1),
                ));
            };
            let pick = |sel: &Option<Selector>, n: usize, hits: &mut [usize; 4]| {
                let t = sel
                    .as_ref()
                    .and_then(|sel| item.select(sel).next())
                    .map(text)
                    .filter(|t| !t.is_empty());
                if t.is_some() {
                    hits[n] += 1;
                }
                t
            };
            let number = pick(&self.sel.number, 0, &mut hits);
            let amount_text = pick(&self.sel.amount, 1, &mut hits);
            let agency = pick(&self.sel.agency, 2, &mut hits);
            let date_text = pick(&self.sel.date, 3, &mut hits);
            let published = match date_text {
                Some(t) => Some(self.date(&t).ok_or_else(|| {
                    self.changed(
                        url,
                        format!(
                            "the date {t:?} at selector `{}` does not match date_format {:?}",
                            s.date.as_deref().unwrap_or_default(),
                            s.date_format
                        ),
                    )
                })?),
                None => None,
            };
            let amount = match amount_text {
                Some(t) => Some(parse_amount(&t).ok_or_else(|| {
                    self.changed(
                        url,
                        format!(
                            "the amount {t:?} at selector `{}` is not a number",
                            s.amount.as_deref().unwrap_or_default()
                        ),
                    )
                })?),
                None => None,
            };
            rows.push(Row {
                link,
                title,
                number,
                amount,
                agency,
                published,
            });
        }
        for (n, (key, css)) in [
            ("number", &s.number),
            ("amount", &s.amount),
            ("agency", &s.agency),
            ("date", &s.date),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(css) = css
                && hits[n] == 0
            {
                return Err(self.changed(
                    url,
                    format!(
                        "the {key} selector `{css}` matches in none of the {} items",
                        rows.len()
                    ),
                ));
            }
        }
        let next = self
            .sel
            .next
            .as_ref()
            .and_then(|n| doc.select(n).find_map(|a| a.attr("href")))
            .map(str::trim)
            .filter(|h| !h.is_empty() && !h.starts_with('#') && !h.starts_with("javascript:"))
            .and_then(|h| url.join(h).ok());
        Ok((rows, next))
    }

    /// A detail page's description, deadline and documents. A page that is gone (404/410)
    /// gives nothing (logged); other failures fail the page so the next run tries again.
    async fn detail(&self, fetcher: &Fetcher, link: &Url) -> Result<Detail, SourceError> {
        let resp = match fetcher
            .get(link, &[("Accept", "text/html".to_string())])
            .await
        {
            Ok(r) => r,
            Err(
                e @ FetchError::Status {
                    status: 404 | 410, ..
                },
            ) => {
                tracing::warn!(source = %self.name, url = %link, error = %e, "detail page gone");
                return Ok(Detail::default());
            }
            Err(e) => return Err(fetch_err(&self.name)(e)),
        };
        let mut detail = self.parse_detail(&String::from_utf8_lossy(&resp.body), &resp.url)?;
        detail.payloads.push(resp.payload());
        Ok(detail)
    }

    fn parse_detail(&self, html: &str, url: &Url) -> Result<Detail, SourceError> {
        let doc = Html::parse_document(html);
        let s = &self.settings;
        let mut detail = Detail::default();
        if let (Some(sel), Some(css)) = (&self.sel.detail_description, &s.detail_description) {
            let parts: Vec<String> = doc
                .select(sel)
                .map(block_text)
                .filter(|t| !t.is_empty())
                .collect();
            if parts.is_empty() {
                return Err(self.changed(
                    url,
                    format!("no element matches the detail_description selector `{css}`"),
                ));
            }
            detail.description = Some(parts.join("\n"));
        }
        if let (Some(sel), Some(css)) = (&self.sel.detail_deadline, &s.detail_deadline) {
            let Some(t) = doc.select(sel).next().map(text).filter(|t| !t.is_empty()) else {
                return Err(self.changed(
                    url,
                    format!("no element matches the detail_deadline selector `{css}`"),
                ));
            };
            detail.deadline = Some(self.date(&t).ok_or_else(|| {
                self.changed(
                    url,
                    format!(
                        "the deadline {t:?} at selector `{css}` does not match date_format {:?}",
                        s.date_format
                    ),
                )
            })?);
        }
        if let Some(sel) = &self.sel.detail_documents {
            let spec_ids: HashSet<_> = self
                .sel
                .detail_spec
                .as_ref()
                .map(|sp| doc.select(sp).map(|e| e.id()).collect())
                .unwrap_or_default();
            for a in doc.select(sel) {
                let Some(href) = a.attr("href").map(str::trim).filter(|h| !h.is_empty()) else {
                    continue;
                };
                let Ok(doc_url) = url.join(href) else {
                    continue;
                };
                let doc_url = doc_url.to_string();
                if detail.documents.iter().any(|d| d.url == doc_url) {
                    continue;
                }
                let label = Some(text(a)).filter(|t| !t.is_empty());
                let file_name = label
                    .clone()
                    .filter(|t| media_type(t).is_some())
                    .or_else(|| url_file_name(&doc_url));
                detail.documents.push(DocumentRef {
                    is_spec: spec_ids.contains(&a.id())
                        || is_spec(label.as_deref(), file_name.as_deref()),
                    media_type: file_name
                        .as_deref()
                        .and_then(media_type)
                        .map(str::to_string),
                    url: doc_url,
                    file_name,
                    title: label,
                });
            }
            detail.documents.sort_by_key(document_rank);
        }
        Ok(detail)
    }

    /// A date in `date_format` somewhere in `t` (text around it is ignored), in the portal's zone.
    fn date(&self, t: &str) -> Option<PortalTime> {
        time_in_text(t, &self.settings.date_format, self.zone)
    }
}

impl Source for HtmlSource {
    fn next_page<'a>(&'a mut self, fetcher: &'a Fetcher) -> PageFuture<'a> {
        Box::pin(self.fetch_page(fetcher))
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// An element's text on one line.
fn text(el: ElementRef<'_>) -> String {
    el.text()
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// An element's text with its lines kept (paragraphs of a description).
fn block_text(el: ElementRef<'_>) -> String {
    let joined = el.text().collect::<Vec<_>>().join("\n");
    joined
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> HtmlSettings {
        HtmlSettings {
            item: "tr.notice".into(),
            title: "a.title".into(),
            link: None,
            number: Some(".num".into()),
            amount: Some(".sum".into()),
            agency: None,
            date: Some(".date".into()),
            date_format: "%d.%m.%Y %H:%M".into(),
            timezone: Some("Asia/Almaty".into()),
            currency: Some("KZT".into()),
            next: Some("a.next".into()),
            empty: Some(".nothing".into()),
            detail_description: None,
            detail_deadline: None,
            detail_documents: None,
            detail_spec: None,
            max_pages: 5,
        }
    }

    fn source(s: HtmlSettings) -> HtmlSource {
        let spec = SourceSpec {
            name: "h".into(),
            kind: "html".into(),
            url: Url::parse("https://portal.example/list").unwrap(),
            token: None,
            lookback_days: 3,
            since: None,
            search_terms: vec![],
            allowed_hosts: vec![],
            options: super::super::SourceOptions {
                html: Some(s),
                ..Default::default()
            },
        };
        HtmlSource::open(&spec, None).unwrap()
    }

    #[test]
    fn dates_in_text_and_zone() {
        let src = source(settings());
        let t = src
            .date("Опубликовано: 20.11.2026 10:30 (время Астаны)")
            .unwrap();
        assert_eq!(t.utc.unwrap().to_rfc3339(), "2026-11-20T05:30:00+00:00");
        assert!(src.date("вчера").is_none());
    }

    #[test]
    fn listing_rows_and_a_selector_that_stopped_matching() {
        let src = source(settings());
        let url = Url::parse("https://portal.example/list?page=1").unwrap();
        let html = r#"<table><tr class="notice"><td class="num">N-1</td><td><a class="title" href="/n/1">SMM</a></td>
            <td class="sum">1 300 000,00 ₸</td><td class="date">20.11.2026 10:30</td></tr></table>
            <a class="next" href="?page=2">»</a>"#;
        let (rows, next) = src.parse_listing(html, &url).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].link.as_str(), "https://portal.example/n/1");
        assert_eq!(rows[0].amount, Some(1_300_000.0));
        assert_eq!(next.unwrap().as_str(), "https://portal.example/list?page=2");
        // Text after the amount is not part of it (it was read as 130000012 before).
        let noted = html.replace("1 300 000,00 ₸", "1 300 000 тг. (с НДС 12%)");
        let (rows, _) = src.parse_listing(&noted, &url).unwrap();
        assert_eq!(rows[0].amount, Some(1_300_000.0));
        let renamed = html.replace("class=\"sum\"", "class=\"price\"");
        let err = src.parse_listing(&renamed, &url).unwrap_err().to_string();
        assert!(err.contains("`.sum`") && err.contains("page=1"), "{err}");
        let none = src
            .parse_listing("<p class='nothing'>Ничего не найдено</p>", &url)
            .unwrap();
        assert!(none.0.is_empty());
        let err = src
            .parse_listing("<div>redesigned</div>", &url)
            .unwrap_err();
        assert!(err.to_string().contains("`tr.notice`"), "{err}");
    }

    #[test]
    fn bad_settings_are_named() {
        let mut s = settings();
        s.amount = Some("td[".into());
        assert_eq!(s.check().unwrap_err().0, "amount");
        let mut s = settings();
        s.timezone = Some("Mars/Olympus".into());
        assert_eq!(s.check().unwrap_err().0, "timezone");
    }
}
