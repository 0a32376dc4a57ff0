//! Source kind `html`: a portal with no API, read from its listing and detail pages as the
//! config's `[sources.html]` table describes them with CSS selectors (compiled when the
//! config is read: [`HtmlSettings`]).
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
use scraper::{ElementRef, Html};
use serde::{Deserialize, Serialize};
use url::Url;

use super::util::{Start, bad_cursor, encode_cursor, parse_amount, time_in_text};
use super::{
    Page, PageFuture, Source, SourceError, SourceSpec, document_rank, fetch_err, is_spec,
    media_type, url_file_name,
};
use crate::config::{Css, HtmlSettings};
use crate::fetch::{FetchError, Fetcher};
use crate::model::{Agency, DocumentRef, NoticeRecord, Payload, PortalTime};

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
    /// Compiled when the config was read.
    settings: HtmlSettings,
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
    pub fn open(
        spec: &SourceSpec,
        settings: &HtmlSettings,
        saved_cursor: Option<&str>,
    ) -> Result<HtmlSource, SourceError> {
        let today = Utc::now().with_timezone(&settings.timezone).date_naive();
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
            name: spec.config.name.clone(),
            start: spec.config.url.clone(),
            settings: settings.clone(),
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
            let recent = row.published.as_ref().and_then(|p| p.utc).is_none_or(|t| {
                t.with_timezone(&self.settings.timezone).date_naive() >= self.cursor.from
            });
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
        let items: Vec<ElementRef> = doc.select(s.item.selector()).collect();
        if items.is_empty() {
            if s.empty
                .as_ref()
                .is_some_and(|e| doc.select(e.selector()).next().is_some())
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
            let Some(title) = item.select(s.title.selector()).next().map(text) else {
                return Err(self.changed(
                    url,
                    format!("item {} has no title selector `{}`", i + 1, s.title),
                ));
            };
            let href = item
                .select(s.link.selector())
                .find_map(|a| a.attr("href"))
                .map(str::trim)
                .filter(|h| !h.is_empty() && !h.starts_with('#'));
            let Some(link) = href.and_then(|h| url.join(h).ok()) else {
                return Err(self.changed(
                    url,
                    format!("item {} has no link (href) at selector `{}`", i + 1, s.link),
                ));
            };
            let pick = |css: &Option<Css>, n: usize, hits: &mut [usize; 4]| {
                let t = css
                    .as_ref()
                    .and_then(|c| item.select(c.selector()).next())
                    .map(text)
                    .filter(|t| !t.is_empty());
                if t.is_some() {
                    hits[n] += 1;
                }
                t
            };
            let number = pick(&s.number, 0, &mut hits);
            let amount_text = pick(&s.amount, 1, &mut hits);
            let agency = pick(&s.agency, 2, &mut hits);
            let date_text = pick(&s.date, 3, &mut hits);
            let published = match date_text {
                Some(t) => Some(self.date(&t).ok_or_else(|| {
                    self.changed(
                        url,
                        format!(
                            "the date {t:?} at selector `{}` does not match date_format {:?}",
                            s.date.as_ref().map(Css::as_str).unwrap_or_default(),
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
                            s.amount.as_ref().map(Css::as_str).unwrap_or_default()
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
        let next = s
            .next
            .as_ref()
            .and_then(|n| doc.select(n.selector()).find_map(|a| a.attr("href")))
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
        if let Some(css) = &s.detail_description {
            let parts: Vec<String> = doc
                .select(css.selector())
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
        if let Some(css) = &s.detail_deadline {
            let Some(t) = doc
                .select(css.selector())
                .next()
                .map(text)
                .filter(|t| !t.is_empty())
            else {
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
        if let Some(css) = &s.detail_documents {
            let spec_ids: HashSet<_> = s
                .detail_spec
                .as_ref()
                .map(|sp| doc.select(sp.selector()).map(|e| e.id()).collect())
                .unwrap_or_default();
            for a in doc.select(css.selector()) {
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
                    contract: None,
                });
            }
            detail.documents.sort_by_key(document_rank);
        }
        Ok(detail)
    }

    /// A date in `date_format` somewhere in `t` (text around it is ignored), in the portal's zone.
    fn date(&self, t: &str) -> Option<PortalTime> {
        time_in_text(t, &self.settings.date_format, self.settings.timezone)
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
    use crate::config::HtmlTable;

    fn settings() -> HtmlTable {
        HtmlTable {
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

    fn source(t: HtmlTable) -> HtmlSource {
        let settings = HtmlSettings::compile(&t).unwrap();
        let mut config = crate::config::SourceConfig::new(
            "h",
            Url::parse("https://portal.example/list").unwrap(),
            crate::config::SourceKind::Html(Box::new(settings.clone())),
        );
        config.lookback_days = 3;
        let spec = SourceSpec {
            config,
            token: None,
            since: None,
            until: None,
            allowed_hosts: vec![],
        };
        HtmlSource::open(&spec, &settings, None).unwrap()
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
}
