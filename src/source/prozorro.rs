//! Source kind `prozorro`: Ukraine's ProZorro public API, `https://public-api.prozorro.gov.ua/api/2.5/tenders`
//! (the configured URL), which is no OCDS release-package API.
//!
//! The list pages `{"data": [{"id", "dateModified"}], "next_page": {"offset", "path", "uri"}}`:
//! ids of the tenders changed since `offset`, oldest change first. Each listed tender is then
//! asked for at `{url}/{id}` (`{"data": {…}}`, ProZorro's own schema) and mapped like an OCDS
//! release ([`as_release`], then [`map_release`]): `title`, `description`,
//! `items[]` (with their `classification`), `lots[]`, `value`, `procuringEntity` with its
//! `identifier` (scheme `UA-EDR`) and `address.region`, `documents[]` (`documentType`
//! `technicalSpecifications` fetched first; of the versions of one document id the last
//! listed), `tenderPeriod`, `awards[]` with `suppliers` (their `identifier`) and
//! `contracts[]` (joined to their award by `awardID`). The notice's external id is the API's
//! id, its number the `tenderID` (`UA-2026-11-20-000123-a`), its link
//! [`NOTICE_URL`] unless `notice_url` says otherwise.
//!
//! ProZorro answers HTTP 412 to a client that does not look like a browser: set the source's
//! `user_agent`. Its documents live on its document service ([`DEFAULT_HOSTS`]); no other host
//! is fetched unless listed in `attachment_hosts`.
//!
//! # Cursor
//! `{"offset": "1732101234.567", "synced": "<time>"}`: the feed's offset to read from next (a
//! page's records are stored before its `next_page.offset` is saved), and when a sync last
//! reached the end of the feed. The first run starts at `lookback_days` back (`offset` = that
//! day as a Unix time, as the API takes it); `--since` does the same from its day. A run that
//! starts less than `min_interval_secs` (default [`MIN_INTERVAL_SECS`], the five minutes
//! ProZorro's documentation calls a safe synchronisation frequency) after the last sync
//! reached the end asks nothing and ends at once.
//!
//! Never: ask the API for more than one page and its tenders at a time, or re-read the feed
//! from its start once an offset is saved.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use url::Url;

use super::ocds::map::map_release;
use super::util::{Start, encode_cursor, json_body};
use super::{
    Page, PageFuture, Recheck, RecheckFuture, Source, SourceError, SourceSpec, fetch_err,
    fill_template, join, value_to_string,
};
use crate::config::ProzorroSettings;
use crate::fetch::{FetchError, Fetcher};
use crate::model::NoticeRecord;

/// ProZorro's document service, where `documents[].url` point.
pub const DEFAULT_HOSTS: &[&str] = &["public-docs.prozorro.gov.ua"];
/// The public page of a tender, unless `notice_url` says otherwise.
pub const NOTICE_URL: &str = "https://prozorro.gov.ua/tender/{number}";
/// The least time between two syncs, unless `min_interval_secs` says otherwise: ProZorro's
/// documentation calls synchronising once per five minutes safe.
pub const MIN_INTERVAL_SECS: u64 = 300;
/// List pages read per run at most (the rest waits for the next run).
pub const MAX_PAGES: u32 = 200;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct Cursor {
    /// `next_page.offset` of the last page stored (a number or a string, kept as text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    offset: Option<String>,
    /// When a sync last reached the end of the feed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    synced: Option<DateTime<Utc>>,
}

pub struct Prozorro {
    name: String,
    /// The list endpoint, without a query.
    url: Url,
    notice_url: String,
    /// Where this run reads from: the saved offset, or the start day's Unix time.
    offset: String,
    cursor: Cursor,
    /// The last sync is too recent: this run asks nothing.
    wait: bool,
    pages: u32,
    seen: HashSet<String>,
    finished: bool,
}

impl Prozorro {
    pub fn open(
        spec: &SourceSpec,
        settings: &ProzorroSettings,
        saved_cursor: Option<&str>,
    ) -> Result<Prozorro, SourceError> {
        Self::open_at(spec, settings, saved_cursor, Utc::now())
    }

    fn open_at(
        spec: &SourceSpec,
        settings: &ProzorroSettings,
        saved_cursor: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Prozorro, SourceError> {
        let day_offset = |d: NaiveDate| {
            let t = d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
            t.timestamp().to_string()
        };
        let (offset, cursor) =
            match super::util::start::<Cursor>(spec, saved_cursor, now.date_naive())? {
                Start::Fresh(day) => (day_offset(day), Cursor::default()),
                Start::Resume(c) => {
                    let day =
                        super::util::lookback_start(now.date_naive(), spec.config.lookback_days);
                    (c.offset.clone().unwrap_or_else(|| day_offset(day)), c)
                }
            };
        let min = settings.min_interval_secs.unwrap_or(MIN_INTERVAL_SECS);
        let min = chrono::Duration::seconds(i64::try_from(min).unwrap_or(i64::MAX).min(86_400));
        let wait = cursor.synced.is_some_and(|s| now - s < min && now >= s);
        let mut url = spec.config.url.clone();
        url.set_query(None);
        Ok(Prozorro {
            name: spec.config.name.clone(),
            url,
            notice_url: settings
                .notice_url
                .clone()
                .unwrap_or_else(|| NOTICE_URL.to_string()),
            offset,
            cursor,
            wait,
            pages: 0,
            seen: HashSet::new(),
            finished: false,
        })
    }

    fn tender_url(&self, id: &str) -> Result<Url, SourceError> {
        let enc: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
        join(&self.url, &enc).map_err(|m| SourceError::Config {
            name: self.name.clone(),
            message: m,
        })
    }

    /// One tender by its id: `None` when the API no longer has it (404, 410).
    async fn tender(
        &self,
        fetcher: &Fetcher,
        id: &str,
    ) -> Result<Option<NoticeRecord>, SourceError> {
        let url = self.tender_url(id)?;
        let resp = match fetcher
            .get(&url, &[("Accept", "application/json".to_string())])
            .await
        {
            Ok(r) => r,
            Err(FetchError::Status {
                status: 404 | 410, ..
            }) => return Ok(None),
            Err(e) => return Err(fetch_err(&self.name)(e)),
        };
        let body = json_body(&self.name, &resp)?;
        let tender = body.get("data").unwrap_or(&body);
        let mut rec =
            map_tender(tender, &self.notice_url).ok_or_else(|| SourceError::ChangedFormat {
                name: self.name.clone(),
                url: resp.url.to_string(),
                what: "a tender without an id (expected {\"data\": {\"id\", …}})".into(),
            })?;
        rec.payloads.push(resp.payload());
        Ok(Some(rec))
    }

    async fn fetch_page(&mut self, fetcher: &Fetcher) -> Result<Option<Page>, SourceError> {
        if self.finished {
            return Ok(None);
        }
        if self.wait {
            self.finished = true;
            tracing::info!(source = %self.name, synced = ?self.cursor.synced,
                "synced less than min_interval_secs ago (ProZorro asks for at most one sync per 5 minutes); nothing asked this run");
            return Ok(Some(Page {
                records: Vec::new(),
                cursor: None,
                done: true,
            }));
        }
        let mut url = self.url.clone();
        url.query_pairs_mut().append_pair("offset", &self.offset);
        let resp = fetcher
            .get(&url, &[("Accept", "application/json".to_string())])
            .await
            .map_err(fetch_err(&self.name))?;
        let body = json_body(&self.name, &resp)?;
        let changed = |what: &str| SourceError::ChangedFormat {
            name: self.name.clone(),
            url: resp.url.to_string(),
            what: what.to_string(),
        };
        let items = body
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| changed("no data[] list of tenders (expected {\"data\": [{\"id\", \"dateModified\"}], \"next_page\": {\"offset\"}})"))?;
        let next = body
            .pointer("/next_page/offset")
            .cloned()
            .and_then(value_to_string);
        let list = resp.payload();
        let mut records = Vec::new();
        for item in items {
            let Some(id) = item.get("id").cloned().and_then(value_to_string) else {
                tracing::warn!(source = %self.name, "a listed tender without an id skipped");
                continue;
            };
            if !self.seen.insert(id.clone()) {
                continue;
            }
            match self.tender(fetcher, &id).await? {
                Some(mut rec) => {
                    rec.payloads.insert(0, list.clone());
                    records.push(rec);
                }
                None => {
                    tracing::info!(source = %self.name, id = %id, "listed tender no longer in the API; skipped")
                }
            }
        }
        self.pages += 1;
        // The end of the feed: no tenders, or a next page that is this one.
        let at_end = items.is_empty() || next.is_none() || next.as_deref() == Some(&self.offset);
        let at_limit = self.pages >= MAX_PAGES;
        if at_limit && !at_end {
            tracing::warn!(source = %self.name, "stopped after {MAX_PAGES} pages; the rest waits for the next run");
        }
        if let Some(n) = next.filter(|_| !items.is_empty()) {
            self.offset = n;
        }
        let done = at_end || at_limit;
        self.cursor.offset = Some(self.offset.clone());
        if at_end {
            self.cursor.synced = Some(Utc::now());
        }
        self.finished = done;
        Ok(Some(Page {
            records,
            cursor: Some(encode_cursor(&self.cursor)),
            done,
        }))
    }
}

impl Source for Prozorro {
    fn next_page<'a>(&'a mut self, fetcher: &'a Fetcher) -> PageFuture<'a> {
        Box::pin(self.fetch_page(fetcher))
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn recheck<'a>(&'a mut self, fetcher: &'a Fetcher, external_id: &'a str) -> RecheckFuture<'a> {
        Box::pin(async move {
            Ok(match self.tender(fetcher, external_id).await? {
                Some(rec) => Recheck::Found(Box::new(rec)),
                None => Recheck::Gone,
            })
        })
    }
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).cloned().and_then(value_to_string)
}

/// One ProZorro tender (the `data` of `/tenders/{id}`) as a notice. `None` without an id.
pub fn map_tender(tender: &Value, notice_url: &str) -> Option<NoticeRecord> {
    let id = text(tender, "/id")?;
    let number = text(tender, "/tenderID").unwrap_or_else(|| id.clone());
    let mut rec = map_release(&as_release(tender, &id), None)?;
    rec.url = Some(fill_template(
        notice_url,
        &[("id", &id), ("number", &number), ("ocid", &number)],
    ));
    rec.number = Some(number);
    rec.external_id = id;
    Some(rec)
}

/// ProZorro's tender in the OCDS release shape [`map_release`] reads: the procuring entity as
/// the buyer and its party, each supplier as a party with its identifier, an item's
/// classification after its description, the last version of each document.
pub fn as_release(t: &Value, id: &str) -> Value {
    let mut parties: Vec<Value> = Vec::new();
    let pe = t.get("procuringEntity").cloned().unwrap_or(Value::Null);
    let buyer = (!pe.is_null()).then(|| {
        parties.push(
            json!({"id": "buyer", "roles": ["buyer"], "name": pe.get("name"),
            "identifier": pe.get("identifier"), "address": pe.get("address")}),
        );
        json!({"id": "buyer", "name": pe.get("name")})
    });
    let items: Vec<Value> = array(t, "items")
        .map(|i| {
            let mut i = i.clone();
            let class = ["scheme", "id", "description"]
                .iter()
                .filter_map(|k| text(&i, &format!("/classification/{k}")))
                .collect::<Vec<_>>()
                .join(" ");
            if !class.is_empty() {
                let d = text(&i, "/description").unwrap_or_default();
                i["description"] = Value::String(format!("{d} [{class}]").trim().to_string());
            }
            i
        })
        .collect();
    // A document's versions share its id; the last one listed is the current one.
    let mut documents: Vec<Value> = Vec::new();
    for d in array(t, "documents") {
        match documents
            .iter_mut()
            .find(|x| d.get("id").is_some() && x.get("id") == d.get("id"))
        {
            Some(x) => *x = d.clone(),
            None => documents.push(d.clone()),
        }
    }
    let awards: Vec<Value> = array(t, "awards")
        .map(|a| {
            let suppliers: Vec<Value> = array(a, "suppliers")
                .map(|s| {
                    let key = format!(
                        "supplier-{}-{}",
                        text(s, "/identifier/scheme").unwrap_or_default(),
                        text(s, "/identifier/id")
                            .or_else(|| text(s, "/name"))
                            .unwrap_or_default()
                    );
                    if !parties.iter().any(|p| p["id"] == key.as_str()) {
                        parties.push(
                            json!({"id": key, "roles": ["supplier"], "name": s.get("name"),
                            "identifier": s.get("identifier")}),
                        );
                    }
                    json!({"id": key, "name": s.get("name")})
                })
                .collect();
            let mut out = Map::new();
            for k in ["id", "status", "date", "value"] {
                if let Some(v) = a.get(k) {
                    out.insert(k.into(), v.clone());
                }
            }
            out.insert("suppliers".into(), Value::Array(suppliers));
            if let Some(l) = a.get("lotID") {
                out.insert("relatedLots".into(), json!([l]));
            }
            Value::Object(out)
        })
        .collect();
    let mut tender = Map::new();
    for k in [
        "title",
        "description",
        "status",
        "value",
        "lots",
        "tenderPeriod",
        "procurementMethod",
    ] {
        if let Some(v) = t.get(k) {
            tender.insert(k.into(), v.clone());
        }
    }
    tender.insert(
        "id".into(),
        t.get("tenderID").cloned().unwrap_or(Value::Null),
    );
    if let Some(d) = t.get("procurementMethodType") {
        tender.insert("procurementMethodDetails".into(), d.clone());
    }
    if let Some(d) = t.get("dateCreated").or_else(|| t.get("date")) {
        tender.insert("datePublished".into(), d.clone());
    }
    tender.insert("items".into(), Value::Array(items));
    tender.insert("documents".into(), Value::Array(documents));
    let mut release = json!({
        "ocid": id, "id": id, "date": t.get("dateModified"), "language": "uk",
        "parties": parties, "tender": tender, "awards": awards,
        "contracts": t.get("contracts").cloned().unwrap_or(json!([])),
    });
    if let Some(b) = buyer {
        release["buyer"] = b;
    }
    release
}

fn array<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tender() -> Value {
        json!({"id": "a1b2", "tenderID": "UA-2026-11-20-000123-a", "title": "Послуги SMM",
            "description": "Ведення сторінок", "status": "active.tendering",
            "procurementMethod": "open", "procurementMethodType": "aboveThreshold",
            "dateCreated": "2026-11-20T10:00:00+02:00", "dateModified": "2026-11-21T10:00:00+02:00",
            "value": {"amount": 500000, "currency": "UAH", "valueAddedTaxIncluded": true},
            "procuringEntity": {"name": "Міська рада", "kind": "general",
                "identifier": {"scheme": "UA-EDR", "id": "04055397", "legalName": "Міська рада"},
                "address": {"region": "Київська область", "locality": "Бровари"}},
            "items": [{"id": "i1", "description": "Послуги з просування",
                "classification": {"scheme": "ДК021", "id": "79340000-9", "description": "Рекламні послуги"}}],
            "tenderPeriod": {"startDate": "2026-11-20T10:00:00+02:00", "endDate": "2026-11-30T18:00:00+02:00"},
            "documents": [
                {"id": "d1", "documentType": "technicalSpecifications", "title": "ТЗ v1.docx",
                 "url": "https://public-docs.prozorro.gov.ua/get/old?Signature=x"},
                {"id": "d1", "documentType": "technicalSpecifications", "title": "ТЗ.docx",
                 "url": "https://public-docs.prozorro.gov.ua/get/new?Signature=y"}],
            "awards": [{"id": "aw1", "status": "active", "date": "2026-12-01T10:00:00+02:00",
                "value": {"amount": 490000, "currency": "UAH"},
                "suppliers": [{"name": "ТОВ «Бот»", "identifier": {"scheme": "UA-EDR", "id": "43210987"}}]}],
            "contracts": [{"id": "c1", "awardID": "aw1", "status": "active", "contractID": "UA-2026-11-20-000123-a-c1",
                "value": {"amount": 490000, "currency": "UAH"}, "dateSigned": "2026-12-05T10:00:00+02:00"}]})
    }

    #[test]
    fn a_tender_maps_with_its_entity_documents_awards_and_contract() {
        let rec = map_tender(&tender(), NOTICE_URL).unwrap();
        assert_eq!(rec.external_id, "a1b2");
        assert_eq!(rec.number.as_deref(), Some("UA-2026-11-20-000123-a"));
        assert_eq!(
            rec.url.as_deref(),
            Some("https://prozorro.gov.ua/tender/UA-2026-11-20-000123-a")
        );
        assert_eq!(rec.title, "Послуги SMM");
        let desc = rec.description.unwrap();
        assert!(
            desc.contains("Ведення сторінок") && desc.contains("ДК021 79340000-9 Рекламні послуги"),
            "{desc}"
        );
        assert_eq!(
            (rec.amount, rec.currency.as_deref()),
            (Some(500_000.0), Some("UAH"))
        );
        let a = rec.agency.unwrap();
        assert_eq!(
            (a.id.as_str(), a.scheme.as_deref()),
            ("04055397", Some("UA-EDR"))
        );
        assert_eq!(a.name_ru.as_deref(), Some("Міська рада"));
        assert_eq!(a.region.as_deref(), Some("Київська область"));
        assert_eq!(rec.method.as_deref(), Some("aboveThreshold"));
        assert_eq!(rec.documents.len(), 1, "{:?}", rec.documents);
        let d = &rec.documents[0];
        assert!(
            d.is_spec && d.url.ends_with("/get/new?Signature=y"),
            "{d:?}"
        );
        assert_eq!(d.file_name.as_deref(), Some("ТЗ.docx"));
        let aw = &rec.awards[0];
        assert_eq!(aw.suppliers[0].id, "43210987");
        assert_eq!(aw.suppliers[0].scheme, "UA-EDR");
        assert_eq!(aw.suppliers[0].name.as_deref(), Some("ТОВ «Бот»"));
        assert_eq!(aw.contract_id.as_deref(), Some("c1"));
        assert_eq!(aw.contract_amount, Some(490_000.0));
        assert_eq!(
            rec.deadline.unwrap().utc.unwrap().to_rfc3339(),
            "2026-11-30T16:00:00+00:00"
        );
    }

    #[test]
    fn a_tender_without_an_id_is_none() {
        assert!(map_tender(&json!({"title": "x"}), NOTICE_URL).is_none());
    }
}
