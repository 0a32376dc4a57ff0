//! Source kind `samruk`: Samruk-Kazyna's procurement portal (zakup.sk.kz), through its public
//! search JSON (no token). The configured URL is the search endpoint
//! (`https://zakup.sk.kz/eprocsearch/api/external/4dv3rts/filter`, as public clients call it);
//! pages are POSTed with [`FILTER`] as the JSON body and `page` (from 0), `size` and
//! `sort=lastModifiedDate,desc` in the query.
//!
//! The list names neither the customer nor the documents: it is a bare array of `{id, number,
//! nameRu, nameKk, tenderType, sumTruNoNds, acceptance*DateTime, advertStatus}`. For each new
//! or changed advert the source asks the advert itself, `{base}/{id}` (customer `{bin,
//! nameRu}`, `documents[]`, `lastModifiedDate`), and its lots, `{base}/lots/{id}`, where
//! `{base}` is the configured URL without its last segment (`…/4dv3rts`); the three answers
//! are merged (the advert's fields over the list's, its lots as `lots`) and each is kept as the
//! record's evidence. An advert the portal no longer has (404) keeps what the list said.
//!
//! Answers are read tolerantly: the list is `content` (a Spring page), `items`, `data`,
//! `results` or a bare array; the end is `last: true`, `totalPages`, or a short page. An advert
//! is `{id, number, nameRu, nameKk, sumTruNoNds, advertStatus, tenderType, customer {bin,
//! nameRu}, acceptanceBeginDateTime, acceptanceEndDateTime, lastModifiedDate, lots[],
//! documents[]}`; dates are ISO 8601 with offsets (a time without one is read as
//! Asia/Almaty); `kato.ru` is the region. A document is `{fileUid, fileName, contentType,
//! documentCategory}`, downloaded from [`FILES_PATH`]`{fileUid}` on the source's host (or from
//! its `url`/`fileUrl`, if it has one). The public link is [`NOTICE_URL`]
//! (`https://zakup.sk.kz/#/ext(popup:item/{id}/advert)`, the portal's own route).
//!
//! # Refusal
//! Public clients report that the portal's gateway wants a per-URL `tor` header, minted by
//! the site's JavaScript, and answers 403, 418 or 429 without it; the public client code read
//! (2026-12) does not compute it either: it replays the request inside a headless browser.
//! This source does not forge it: such an answer is [`SourceError::Refused`] ("the portal
//! refused: it may require its browser-minted request signature"), the source's failure for
//! this run, and the run goes on with the other sources.
//!
//! # Cursor
//! `{"since": "2026-11-20T00:00:00Z", "page": 2, "started": "…"}`: results are newest first by
//! `lastModifiedDate`; paging stops at the first advert not modified since `since` (its time
//! from the list where the list has it, else from the advert's own answer). The finished
//! crawl leaves `{"since": <start of this crawl - 1 h>}`, so the next run reads what changed
//! since. The first run starts `lookback_days` back; `--since` overrides the cursor.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::util::{Start, amount_of, encode_cursor, json_body, portal_time};
use super::{
    Page, PageFuture, Source, SourceError, SourceSpec, document_rank, fetch_err, fill_template,
    is_spec, media_type, value_to_string,
};
use crate::config::SamrukSettings;
use crate::fetch::{FetchError, Fetcher};
use crate::model::{Agency, DocumentRef, LotRecord, NoticeRecord, Payload};

/// The portal's host.
pub const DEFAULT_HOSTS: &[&str] = &["zakup.sk.kz"];
/// Records per page: the portal's gateway has refused larger pages.
pub const DEFAULT_PAGE_SIZE: u32 = 10;
/// Public page of an advert, unless `notice_url` says otherwise (the portal's own route).
pub const NOTICE_URL: &str = "https://zakup.sk.kz/#/ext(popup:item/{id}/advert)";
/// Why a refusal is what it is, in the source's error.
const REFUSED_WHY: &str = "zakup.sk.kz's gateway is reported to want a per-URL `tor` header minted by the site's JavaScript; tenderscan does not forge it; the other sources go on";
/// The filter the portal's own search page sends for published adverts.
pub const FILTER: &str = r#"{"advertStatus": "PUBLISHED", "lotStatus": "PUBLISHED"}"#;
/// Where a document's `fileUid` is downloaded, on the source's host.
pub const FILES_PATH: &str = "/eprocfilestorage/open-api/files/download/";
/// Pages read per run at most.
pub const MAX_PAGES: u32 = 500;
/// The zone of a time the portal writes without an offset.
const ZONE: chrono_tz::Tz = chrono_tz::Asia::Almaty;
const OVERLAP: chrono::Duration = chrono::Duration::hours(1);

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Cursor {
    since: DateTime<Utc>,
    #[serde(default)]
    page: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started: Option<DateTime<Utc>>,
}

pub struct Samruk {
    name: String,
    url: Url,
    size: u32,
    notice_url: String,
    cursor: Cursor,
    started: DateTime<Utc>,
    seen: HashSet<String>,
    finished: bool,
}

impl Samruk {
    pub fn open(
        spec: &SourceSpec,
        settings: &SamrukSettings,
        saved_cursor: Option<&str>,
    ) -> Result<Samruk, SourceError> {
        Self::open_at(spec, settings, saved_cursor, Utc::now())
    }

    fn open_at(
        spec: &SourceSpec,
        settings: &SamrukSettings,
        saved_cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Samruk, SourceError> {
        let day_start = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let fresh = |since| Cursor {
            since,
            page: 0,
            started: None,
        };
        let cursor = match super::util::start(spec, saved_cursor, now.date_naive())? {
            Start::Fresh(day) => fresh(day_start(day)),
            Start::Resume(c) => c,
        };
        let started = cursor.started.filter(|_| cursor.page > 0).unwrap_or(now);
        Ok(Samruk {
            name: spec.config.name.clone(),
            url: spec.config.url.clone(),
            // The config refuses 0; a 0 set past it means the default too.
            size: settings
                .page_size
                .filter(|&n| n > 0)
                .unwrap_or(DEFAULT_PAGE_SIZE),
            notice_url: settings
                .notice_url
                .clone()
                .unwrap_or_else(|| NOTICE_URL.to_string()),
            cursor,
            started,
            seen: HashSet::new(),
            finished: false,
        })
    }

    async fn fetch_page(&mut self, fetcher: &Fetcher) -> Result<Option<Page>, SourceError> {
        if self.finished {
            return Ok(None);
        }
        let mut url = self.url.clone();
        url.query_pairs_mut()
            .append_pair("page", &self.cursor.page.to_string())
            .append_pair("size", &self.size.to_string())
            .append_pair("sort", "lastModifiedDate,desc");
        let filter: Value = serde_json::from_str(FILTER).unwrap_or_default();
        let resp = fetcher
            .post_json(&url, &[("Accept", "application/json".to_string())], &filter)
            .await
            .map_err(|e| refused_or(&self.name, e))?;
        let changed = |what: String| SourceError::ChangedFormat {
            name: self.name.clone(),
            url: resp.url.to_string(),
            what,
        };
        let body = json_body(&self.name, &resp)?;
        let payload = resp.payload();
        let (items, last) = list_of(&body, self.size, self.cursor.page).ok_or_else(|| {
            changed("no list (content, items, data, results) in the answer".into())
        })?;
        let mut records = Vec::new();
        let mut any_recent = false;
        let mut any_old = false;
        for item in &items {
            let Some(id) = text(item, "id") else {
                tracing::warn!(source = %self.name, "advert without an id skipped");
                continue;
            };
            if self.seen.contains(&id) {
                continue;
            }
            if !self.recent(item) {
                any_old = true;
                continue;
            }
            let (advert, mut payloads) = self.advert(fetcher, item, &id).await?;
            if !self.recent(&advert) {
                any_old = true;
                continue;
            }
            any_recent = true;
            if let Some(mut rec) = map_advert(&advert, &self.notice_url, &self.url) {
                self.seen.insert(id);
                payloads.insert(0, payload.clone());
                rec.payloads = payloads;
                records.push(rec);
            }
        }
        let next_page = self.cursor.page.saturating_add(1);
        let at_limit = next_page >= MAX_PAGES;
        if at_limit && !last && any_recent {
            tracing::warn!(source = %self.name, "stopped after {MAX_PAGES} pages; the rest waits for the next run");
        }
        // Newest first: anything older than `since` means the rest is older too.
        let done = last || items.is_empty() || any_old || at_limit;
        self.cursor = if done {
            self.finished = true;
            Cursor {
                since: self.started - OVERLAP,
                page: 0,
                started: None,
            }
        } else {
            Cursor {
                since: self.cursor.since,
                page: next_page,
                started: Some(self.started),
            }
        };
        Ok(Some(Page {
            records,
            cursor: Some(encode_cursor(&self.cursor)),
            done,
        }))
    }
}

impl Samruk {
    /// Whether an advert was modified since the cursor's `since` (one without a time is).
    fn recent(&self, advert: &Value) -> bool {
        advert
            .get("lastModifiedDate")
            .and_then(Value::as_str)
            .and_then(|s| portal_time(s, Some(ZONE)))
            .and_then(|t| t.utc)
            .is_none_or(|m| m >= self.cursor.since)
    }

    /// The advert of a list item, with its own answer and its lots merged in, and those two
    /// answers as evidence. An advert or lots the portal no longer has (404, 410) leave the
    /// list's fields as they are.
    async fn advert(
        &self,
        fetcher: &Fetcher,
        item: &Value,
        id: &str,
    ) -> Result<(Value, Vec<Payload>), SourceError> {
        let mut advert = item.clone();
        let mut payloads = Vec::new();
        let enc: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        for (i, rel) in [enc.clone(), format!("lots/{enc}")].iter().enumerate() {
            let url = self.url.join(rel).map_err(|e| SourceError::Config {
                name: self.name.clone(),
                message: format!("cannot build the advert URL {rel:?}: {e}"),
            })?;
            let resp = match fetcher
                .get(&url, &[("Accept", "application/json".to_string())])
                .await
            {
                Ok(r) => r,
                Err(FetchError::Status {
                    status: 404 | 410, ..
                }) => {
                    tracing::warn!(source = %self.name, url = %url, "not found; the list's fields are kept");
                    continue;
                }
                Err(e) => return Err(refused_or(&self.name, e)),
            };
            let changed = |what: String| SourceError::ChangedFormat {
                name: self.name.clone(),
                url: resp.url.to_string(),
                what,
            };
            let body = json_body(&self.name, &resp)?;
            if i == 0 {
                let own = ["data", "content", "advert"]
                    .iter()
                    .find_map(|k| body.get(*k).filter(|v| v.is_object()))
                    .unwrap_or(&body);
                let Value::Object(own) = own else {
                    return Err(changed("the advert is not a JSON object".into()));
                };
                for (k, v) in own {
                    if !v.is_null() {
                        advert[k.as_str()] = v.clone();
                    }
                }
            } else {
                let lots = items_in(&body)
                    .ok_or_else(|| changed("no list of lots in the answer".into()))?;
                advert["lots"] = Value::Array(lots);
            }
            payloads.push(resp.payload());
        }
        Ok((advert, payloads))
    }
}

/// A refusal of the gateway (403, 418, 429) as [`SourceError::Refused`]; any other error as
/// it is.
fn refused_or(name: &str, e: FetchError) -> SourceError {
    let status = match &e {
        FetchError::Unauthorized { status: 403, .. } => 403,
        FetchError::Status {
            status: s @ (418 | 429),
            ..
        } => *s,
        _ => return fetch_err(name)(e),
    };
    SourceError::Refused {
        name: name.to_string(),
        url: e.url().map(Url::to_string).unwrap_or_default(),
        status,
        why: REFUSED_WHY.into(),
    }
}

impl Source for Samruk {
    fn next_page<'a>(&'a mut self, fetcher: &'a Fetcher) -> PageFuture<'a> {
        Box::pin(self.fetch_page(fetcher))
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// The items of an answer and whether it is the last page.
fn list_of(body: &Value, size: u32, page: u32) -> Option<(Vec<Value>, bool)> {
    let items = items_in(body)?;
    let short = items.len() < size as usize;
    let last = body.get("last").and_then(Value::as_bool).unwrap_or(false)
        || body
            .get("totalPages")
            .and_then(Value::as_u64)
            .is_some_and(|t| u64::from(page) + 1 >= t)
        || short;
    Some((items, last))
}

/// The items of a list answer: a bare array, or the array under `content` (a Spring page),
/// `items`, `data` or `results`.
fn items_in(body: &Value) -> Option<Vec<Value>> {
    match body {
        Value::Array(a) => Some(a.clone()),
        Value::Object(o) => ["content", "items", "data", "results"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_array))
            .cloned(),
        _ => None,
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).cloned().and_then(value_to_string)
}

/// A status given as a code ("PUBLISHED") or as an object ({code, nameRu}).
fn status(v: Option<&Value>) -> (Option<String>, Option<String>) {
    match v {
        Some(Value::Object(o)) => {
            let code = o.get("code").cloned().and_then(value_to_string);
            let name = o
                .get("nameRu")
                .cloned()
                .and_then(value_to_string)
                .or_else(|| code.clone());
            (name, code)
        }
        Some(other) => {
            let s = value_to_string(other.clone());
            (s.clone(), s)
        }
        None => (None, None),
    }
}

fn time(v: &Value, keys: &[&str]) -> Option<crate::model::PortalTime> {
    keys.iter()
        .find_map(|k| text(v, k))
        .and_then(|s| portal_time(&s, Some(ZONE)))
}

fn documents_of(v: &Value, host: &Url) -> Vec<DocumentRef> {
    let mut docs: Vec<DocumentRef> = v
        .get("documents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let url = ["url", "fileUrl", "downloadUrl"]
                .iter()
                .find_map(|k| text(d, k))
                .or_else(|| {
                    let uid = text(d, "fileUid")?;
                    let enc: String =
                        url::form_urlencoded::byte_serialize(uid.as_bytes()).collect();
                    host.join(&format!("{FILES_PATH}{enc}"))
                        .ok()
                        .map(|u| u.to_string())
                })?;
            let file_name = text(d, "fileName").or_else(|| text(d, "originalName"));
            let title = text(d, "nameRu").or_else(|| text(d, "documentCategory"));
            Some(DocumentRef {
                // The file name often is the title ("Техническая спецификация.pdf").
                is_spec: is_spec(title.as_deref(), file_name.as_deref())
                    || is_spec(file_name.as_deref(), None)
                    || text(d, "documentCategory")
                        .is_some_and(|c| c.to_ascii_uppercase().contains("TECH")),
                media_type: text(d, "contentType").or_else(|| {
                    file_name
                        .as_deref()
                        .and_then(media_type)
                        .map(str::to_string)
                }),
                url,
                file_name,
                title,
                contract: None,
            })
        })
        .collect();
    docs.sort_by_key(document_rank);
    docs
}

/// One advert as a notice (documents by `fileUid` on `host`). `None` without an id.
pub fn map_advert(item: &Value, notice_url: &str, host: &Url) -> Option<NoticeRecord> {
    let id = text(item, "id")?;
    let number = text(item, "number");
    let (status_name, status_code) = status(item.get("advertStatus"));
    let customer = item.get("customer");
    let agency = customer.and_then(|c| {
        Some(Agency {
            id: text(c, "bin").or_else(|| text(c, "iinBin"))?,
            scheme: Some("KZ-BIN".into()),
            name_ru: text(c, "nameRu"),
            name_kk: text(c, "nameKk"),
            name_en: text(c, "nameEn"),
            region: None,
        })
    });
    let lots = item
        .get("lots")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| {
            let (lot_status, _) = status(l.get("lotStatus").or_else(|| l.get("status")));
            Some(LotRecord {
                external_id: text(l, "id")?,
                number: text(l, "number").or_else(|| text(l, "lotNumber")),
                title: text(l, "nameRu").or_else(|| text(l, "nameKk")),
                description: text(l, "descriptionRu")
                    .or_else(|| text(l, "additionalCharacteristicsRu"))
                    .or_else(|| text(l, "descriptionKk")),
                amount: l.get("sumTruNoNds").and_then(amount_of),
                quantity: l.get("count").and_then(Value::as_f64),
                status: lot_status,
                documents: documents_of(l, host),
            })
        })
        .collect();
    Some(NoticeRecord {
        url: Some(fill_template(
            notice_url,
            &[
                ("id", &id),
                ("number", number.as_deref().unwrap_or(&id)),
                ("ocid", &id),
            ],
        )),
        number,
        title: text(item, "nameRu")
            .or_else(|| text(item, "nameKk"))
            .unwrap_or_else(|| id.clone()),
        title_kk: text(item, "nameKk"),
        description: text(item, "descriptionRu"),
        agency,
        amount: item.get("sumTruNoNds").and_then(amount_of),
        currency: Some("KZT".into()),
        status: status_name,
        status_code,
        method: text(item, "tenderType"),
        published: time(
            item,
            &["acceptanceBeginDateTime", "publishDate", "createdDate"],
        ),
        deadline: time(item, &["acceptanceEndDateTime"]),
        lots,
        documents: documents_of(item, host),
        region: item
            .pointer("/kato/ru")
            .or_else(|| item.pointer("/kato/nameRu"))
            .cloned()
            .and_then(value_to_string),
        awards: Vec::new(),
        // The page it came in is the source's to add.
        payloads: Vec::new(),
        attach: false,
        external_id: id,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_advert_maps_with_its_customer_lots_and_times() {
        let item = json!({"id": 1198864, "number": "1198864-ОТ1", "nameRu": "Услуги SMM",
            "nameKk": "SMM қызметтері", "sumTruNoNds": 34191869.47, "advertStatus": "PUBLISHED",
            "tenderType": "OTOU", "customer": {"bin": "060840000483", "nameRu": "АО «Самрук»"},
            "acceptanceBeginDateTime": "2026-11-20T10:00:00+05:00",
            "acceptanceEndDateTime": "2026-11-30T18:00:00.000+0500",
            "lastModifiedDate": "2026-11-21T09:00:00Z",
            "kato": {"code": "750000000", "ru": "г.Алматы"},
            "documents": [{"documentCategory": "TENDER_DOCUMENTATION_ATTACHMENT", "fileUid": "cef87f7e-2026-minio",
                "fileName": "Техническая спецификация.pdf", "contentType": "application/pdf"}],
            "lots": [{"id": 77, "number": "1", "nameRu": "Ведение аккаунтов", "sumTruNoNds": 1000.5, "count": 1}]});
        let host =
            Url::parse("https://zakup.sk.kz/eprocsearch/api/external/4dv3rts/filter").unwrap();
        let rec = map_advert(&item, NOTICE_URL, &host).unwrap();
        assert_eq!(rec.external_id, "1198864");
        assert_eq!(rec.agency.as_ref().unwrap().id, "060840000483");
        assert_eq!(rec.amount, Some(34191869.47));
        assert_eq!(rec.status.as_deref(), Some("PUBLISHED"));
        assert_eq!(
            rec.deadline.unwrap().utc.unwrap().to_rfc3339(),
            "2026-11-30T13:00:00+00:00"
        );
        assert_eq!(rec.lots[0].title.as_deref(), Some("Ведение аккаунтов"));
        assert_eq!(rec.region.as_deref(), Some("г.Алматы"));
        assert_eq!(
            rec.documents[0].url,
            "https://zakup.sk.kz/eprocfilestorage/open-api/files/download/cef87f7e-2026-minio"
        );
        assert!(rec.documents[0].is_spec);
        assert_eq!(
            rec.url.as_deref(),
            Some("https://zakup.sk.kz/#/ext(popup:item/1198864/advert)")
        );
    }

    #[test]
    fn lists_in_several_shapes() {
        let (items, last) = list_of(&json!({"content": [{}, {}], "last": false}), 2, 0).unwrap();
        assert_eq!((items.len(), last), (2, false));
        let (_, last) = list_of(&json!({"items": [{}, {}], "totalPages": 3}), 2, 2).unwrap();
        assert!(last);
        let (_, last) = list_of(&json!([{}]), 2, 0).unwrap();
        assert!(last);
        assert!(list_of(&json!({"oops": 1}), 2, 0).is_none());
    }
}
